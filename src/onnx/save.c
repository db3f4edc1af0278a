/*
 * save.c — writing a model, with its weights inline or in external data.
 *
 * The proto is serialised straight into a temporary file (protobuf-c's
 * ProtobufCBuffer interface), then renamed into place.  To write some tensors
 * as external data, their fields are swapped for EXTERNAL references while
 * packing and restored afterwards, so the caller's model never changes.
 *
 * External layout written by onnxq: one data file (default
 * "<model file>.data") holding each tensor's raw bytes at a 64-byte aligned
 * offset, described by the tensor's external_data entries location / offset
 * / length; or, with file_per_tensor, one file per tensor named after it.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

enum { EXTERNAL_ALIGN = 64 };

void onnxq_save_options_init(onnxq_save_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->external = ONNXQ_EXTERNAL_AUTO;
    opts->threshold = 1024;
}

/* ---- every tensor of the model ------------------------------------------ */

typedef struct tensor_list {
    Onnx__TensorProto **items;
    size_t n, cap;
} tensor_list;

static int push(tensor_list *l, Onnx__TensorProto *t)
{
    if (oq_grow(&l->items, &l->cap, l->n + 1, sizeof *l->items))
        return -1;
    l->items[l->n++] = t;
    return 0;
}

static int collect_graph(tensor_list *l, Onnx__GraphProto *g);

static int collect_attr(tensor_list *l, Onnx__AttributeProto *a)
{
    if (a->t && push(l, a->t))
        return -1;
    for (size_t i = 0; i < a->n_tensors; i++)
        if (push(l, a->tensors[i]))
            return -1;
    if (a->g && collect_graph(l, a->g))
        return -1;
    for (size_t i = 0; i < a->n_graphs; i++)
        if (collect_graph(l, a->graphs[i]))
            return -1;
    return 0;
}

static int collect_graph(tensor_list *l, Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (push(l, g->initializer[i]))
            return -1;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_attribute; j++)
            if (collect_attr(l, g->node[i]->attribute[j]))
                return -1;
    return 0;
}

/* ---- swapping tensor storage while packing -------------------------------- */

/* The fields of a tensor that a save may replace, kept to restore them. */
typedef struct saved_storage {
    Onnx__TensorProto *t;
    protobuf_c_boolean has_raw_data;
    ProtobufCBinaryData raw_data;
    protobuf_c_boolean has_data_location;
    int data_location;
    size_t n_external_data;
    Onnx__StringStringEntryProto **external_data;
    /* what we allocated for the written form */
    Onnx__StringStringEntryProto *entries; /* [3] */
    Onnx__StringStringEntryProto **entry_ptrs; /* [3] */
    char *strings; /* location, offset, length values */
} saved_storage;

static void save_storage(saved_storage *s, Onnx__TensorProto *t)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->has_raw_data = t->has_raw_data;
    s->raw_data = t->raw_data;
    s->has_data_location = t->has_data_location;
    s->data_location = t->data_location;
    s->n_external_data = t->n_external_data;
    s->external_data = t->external_data;
}

static void restore_storage(saved_storage *s)
{
    Onnx__TensorProto *t = s->t;
    t->has_raw_data = s->has_raw_data;
    t->raw_data = s->raw_data;
    t->has_data_location = s->has_data_location;
    t->data_location = s->data_location;
    t->n_external_data = s->n_external_data;
    t->external_data = s->external_data;
    free(s->entries);
    free(s->entry_ptrs);
    free(s->strings);
}

/* Points t at bytes (borrowed) as if they were its raw_data. */
static void make_inline(Onnx__TensorProto *t, const void *bytes, size_t n)
{
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)bytes;
    t->raw_data.len = n;
    t->has_data_location = 0;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
    t->n_external_data = 0;
    t->external_data = NULL;
}

static int make_external(saved_storage *s, const char *location,
                         uint64_t offset, uint64_t length)
{
    Onnx__TensorProto *t = s->t;
    size_t loc_len = strlen(location);
    s->entries = calloc(3, sizeof *s->entries);
    s->entry_ptrs = calloc(3, sizeof *s->entry_ptrs);
    s->strings = malloc(loc_len + 1 + 2 * 24);
    if (!s->entries || !s->entry_ptrs || !s->strings)
        return -1;
    char *loc = s->strings, *off = loc + loc_len + 1, *len = off + 24;
    memcpy(loc, location, loc_len + 1);
    snprintf(off, 24, "%" PRIu64, offset);
    snprintf(len, 24, "%" PRIu64, length);
    static char k_location[] = "location", k_offset[] = "offset",
                k_length[] = "length";
    char *keys[3] = {k_location, k_offset, k_length};
    char *vals[3] = {loc, off, len};
    for (int i = 0; i < 3; i++) {
        onnx__string_string_entry_proto__init(&s->entries[i]);
        s->entries[i].key = keys[i];
        s->entries[i].value = vals[i];
        s->entry_ptrs[i] = &s->entries[i];
    }
    t->has_raw_data = 0;
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 3;
    t->external_data = s->entry_ptrs;
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

typedef struct file_buffer {
    ProtobufCBuffer base;
    FILE *fp;
    uint64_t written;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_buffer *fb = (file_buffer *)b;
    if (len && fwrite(data, 1, len, fb->fp) != len)
        return; /* ferror(fp) is checked when the file is finished */
    fb->written += len;
}

static onnxq_status write_padding(FILE *fp, uint64_t *pos, onnxq_error *err,
                                  const char *path)
{
    static const char zeros[EXTERNAL_ALIGN];
    uint64_t pad = (EXTERNAL_ALIGN - *pos % EXTERNAL_ALIGN) % EXTERNAL_ALIGN;
    if (pad && fwrite(zeros, 1, (size_t)pad, fp) != pad)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: write failed", path);
    *pos += pad;
    return ONNXQ_OK;
}

/* Chooses a file name for a tensor's own data file, unique in the save. */
static char *per_tensor_name(const Onnx__TensorProto *t, size_t index,
                             char **used, size_t n_used)
{
    const char *base = t->name && t->name[0] ? t->name : "tensor";
    size_t n = strlen(base) + 32;
    char *name = malloc(n);
    if (!name)
        return NULL;
    snprintf(name, n, "%s", base);
    oq_sanitize_filename(name);
    if (name[0] == '.')
        name[0] = '_'; /* no hidden files, no "." or ".." */
    for (size_t i = 0; i < n_used; i++)
        if (used[i] && strcmp(used[i], name) == 0) {
            snprintf(name + strlen(name), 32, "_%zu", index);
            break;
        }
    return name;
}

/* Refuses to write at `path` when that is a file the model reads from: its
 * own source or one of its external data files (all mapped by now).  Writing
 * there would change the input under the caller: another model still
 * pointing at that data file would silently read the new layout. */
static onnxq_status check_not_input(const onnxq_model *model, const char *path,
                                    int is_data, onnxq_error *err)
{
    if (is_data && onnxq_same_file(path, model->source))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: is the input model; choose another name "
                               "for the external data", path);
    for (size_t i = 0; i < model->n_maps; i++) {
        char *p = oq_path_join(model->base_dir, model->maps[i].location);
        if (!p)
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        int same = onnxq_same_file(p, path);
        free(p);
        if (same)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "%s: is the external data file '%s' the "
                                   "input model %s reads; choose another name",
                                   path, model->maps[i].location,
                                   model->source);
    }
    return ONNXQ_OK;
}

onnxq_status onnxq_model_save(onnxq_model *model, const char *path,
                              const onnxq_save_options *opts_in,
                              onnxq_save_report *report, onnxq_error *err)
{
    if (!model || !path)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_model_save: NULL argument");
    onnxq_save_options opts;
    if (opts_in)
        opts = *opts_in;
    else
        onnxq_save_options_init(&opts);
    onnxq_save_report rep;
    memset(&rep, 0, sizeof rep);

    onnxq_status st = ONNXQ_OK;
    tensor_list tensors = {0};
    saved_storage *saved = NULL;
    size_t n_saved = 0;
    oq_atomic_file *data_files = NULL;
    size_t n_data_files = 0;
    char **used_names = NULL;
    char *dir_copy = oq_strdup(path), *base_copy = oq_strdup(path);
    char *default_location = NULL;
    oq_atomic_file model_file = {0};

    if (!dir_copy || !base_copy || collect_graph(&tensors, model->proto->graph))
        goto oom;
    const char *out_dir = dirname(dir_copy);
    saved = calloc(tensors.n ? tensors.n : 1, sizeof *saved);
    if (!saved)
        goto oom;

    /* Decide which tensors go external. */
    int any_external = 0;
    for (size_t i = 0; i < tensors.n; i++)
        any_external |= onnxq_tensor_is_external(tensors.items[i]);
    int go_external = opts.external == ONNXQ_EXTERNAL_ALWAYS ||
                      (opts.external == ONNXQ_EXTERNAL_AUTO && any_external);

    /* Bring existing external tensors inline for now (pointing into their
     * mapping, no copy): they are either written inline or re-written into
     * this save's data file. */
    for (size_t i = 0; i < tensors.n; i++) {
        Onnx__TensorProto *t = tensors.items[i];
        if (!onnxq_tensor_is_external(t))
            continue;
        const void *bytes;
        size_t n;
        st = onnxq_tensor_raw_bytes(model, t, &bytes, &n, err);
        if (st != ONNXQ_OK)
            goto fail;
        save_storage(&saved[n_saved++], t);
        make_inline(t, bytes, n);
    }
    if (!go_external && opts.external == ONNXQ_EXTERNAL_AUTO &&
        protobuf_c_message_get_packed_size(&model->proto->base) >
            ONNXQ_PROTOBUF_LIMIT) {
        go_external = 1;
        rep.external_was_forced = 1;
    }

    if (go_external) {
        const char *location = opts.location;
        if (!location) {
            const char *b = basename(base_copy);
            size_t n = strlen(b) + 6;
            default_location = malloc(n);
            if (!default_location)
                goto oom;
            snprintf(default_location, n, "%s.data", b);
            location = default_location;
        }
        size_t n_files = opts.file_per_tensor ? tensors.n : 1;
        data_files = calloc(n_files ? n_files : 1, sizeof *data_files);
        used_names = calloc(n_files ? n_files : 1, sizeof *used_names);
        if (!data_files || !used_names)
            goto oom;
        uint64_t pos = 0;
        for (size_t i = 0; i < tensors.n; i++) {
            Onnx__TensorProto *t = tensors.items[i];
            if (!t->has_raw_data || t->raw_data.len < opts.threshold)
                continue;
            /* find this tensor's saved storage, or save it now */
            saved_storage *s = NULL;
            for (size_t k = 0; k < n_saved; k++)
                if (saved[k].t == t)
                    s = &saved[k];
            if (!s) {
                s = &saved[n_saved++];
                save_storage(s, t);
            }
            const char *loc = location;
            oq_atomic_file *af;
            if (opts.file_per_tensor) {
                char *name = per_tensor_name(t, i, used_names, n_data_files);
                if (!name)
                    goto oom;
                af = &data_files[n_data_files];
                char *full = oq_path_join(out_dir, name);
                st = !full ? ONNXQ_ERR_OUT_OF_MEMORY
                           : check_not_input(model, full, 1, err);
                if (st == ONNXQ_OK)
                    st = oq_atomic_open(af, full, err);
                free(full);
                if (st != ONNXQ_OK) {
                    free(name); /* not yet in used_names: freed here */
                    if (st == ONNXQ_ERR_OUT_OF_MEMORY)
                        goto oom;
                    goto fail;
                }
                used_names[n_data_files++] = name;
                loc = name;
                pos = 0;
            } else {
                af = &data_files[0];
                if (n_data_files == 0) {
                    char *full = oq_path_join(out_dir, location);
                    if (!full)
                        goto oom;
                    st = check_not_input(model, full, 1, err);
                    if (st == ONNXQ_OK)
                        st = oq_atomic_open(af, full, err);
                    free(full);
                    if (st != ONNXQ_OK)
                        goto fail;
                    n_data_files = 1;
                }
                st = write_padding(af->fp, &pos, err, af->final_path);
                if (st != ONNXQ_OK)
                    goto fail;
            }
            size_t n = t->raw_data.len;
            if (fwrite(t->raw_data.data, 1, n, af->fp) != n) {
                st = onnxq_error_set(err, ONNXQ_ERR_IO, "%s: write failed",
                                     af->final_path);
                goto fail;
            }
            if (make_external(s, loc, pos, n))
                goto oom;
            pos += n;
            rep.external_bytes += n;
            rep.external_tensors++;
        }
        if (rep.external_tensors) {
            rep.wrote_external = 1;
            snprintf(rep.location, sizeof rep.location, "%s",
                     opts.file_per_tensor ? "<one file per tensor>" : location);
        }
    }

    uint64_t packed = protobuf_c_message_get_packed_size(&model->proto->base);
    if (packed > ONNXQ_PROTOBUF_LIMIT) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: model would be %.2f GiB, past protobuf's "
                             "2 GiB limit; save it with external data", path,
                             (double)packed / (1024.0 * 1024 * 1024));
        goto fail;
    }
    st = check_not_input(model, path, 0, err);
    if (st != ONNXQ_OK)
        goto fail;
    st = oq_atomic_open(&model_file, path, err);
    if (st != ONNXQ_OK)
        goto fail;
    file_buffer fb = {{file_append}, model_file.fp, 0};
    protobuf_c_message_pack_to_buffer(&model->proto->base, &fb.base);
    rep.inline_bytes = fb.written;
    for (size_t i = 0; i < n_data_files; i++) {
        st = oq_atomic_finish(&data_files[i], err);
        if (st != ONNXQ_OK)
            goto fail;
    }
    st = oq_atomic_finish(&model_file, err);
    if (st != ONNXQ_OK)
        goto fail;
    /* Data first: a model file in place always finds its data. */
    for (size_t i = 0; i < n_data_files; i++) {
        st = oq_atomic_rename(&data_files[i], err);
        if (st != ONNXQ_OK)
            goto fail;
    }
    st = oq_atomic_rename(&model_file, err);
    if (st != ONNXQ_OK)
        goto fail;
    if (report)
        *report = rep;
    goto done;

oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                         "%s: out of memory while saving", path);
fail:
    oq_atomic_abort(&model_file);
    for (size_t i = 0; i < n_data_files; i++)
        oq_atomic_abort(&data_files[i]);
done:
    for (size_t i = 0; i < n_saved; i++)
        restore_storage(&saved[i]);
    if (used_names)
        for (size_t i = 0; i < n_data_files; i++)
            free(used_names[i]);
    free(used_names);
    free(data_files);
    free(saved);
    free(tensors.items);
    free(dir_copy);
    free(base_copy);
    free(default_location);
    return st;
}

onnxq_status onnxq_model_serialize(const onnxq_model *model, void **out_data,
                                   size_t *out_size, onnxq_error *err)
{
    size_t n = protobuf_c_message_get_packed_size(&model->proto->base);
    if (n > ONNXQ_PROTOBUF_LIMIT)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "model is past protobuf's 2 GiB limit");
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    protobuf_c_message_pack(&model->proto->base, buf);
    *out_data = buf;
    *out_size = n;
    return ONNXQ_OK;
}
