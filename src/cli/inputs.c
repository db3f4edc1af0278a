/*
 * inputs.c — gathering a model's input tensors from the command line, for
 * `onnxq run`, `onnxq bench` and later commands:
 *   --input NAME=FILE    .npy or TensorProto .pb
 *   --inputs DIR         DIR/<name>.npy (or the name with characters outside
 *                        [A-Za-z0-9._-] made '_'), else DIR/input_<i>.pb as
 *                        in ONNX test data
 *   --inputs FILE.npz    arrays named after the inputs
 *   --shape NAME=D0,D1   shape for a generated input
 * An input given nowhere is generated deterministically from its declared
 * type and shape (symbolic dims from --shape, else 1): floats uniform in
 * [-1, 1), integers in [0, 10), bools alternating — the same every run.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_inputs.h"
#include "onnxq/data.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

void cli_inputs_init(cli_inputs *in)
{
    memset(in, 0, sizeof *in);
}

void cli_inputs_clear(cli_inputs *in)
{
    free(in->pairs);
    free(in->shapes);
    memset(in, 0, sizeof *in);
}

static int add_pair(cli_pair **arr, size_t *n, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    cli_pair *p = realloc(*arr, (*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *arr = p;
    p[*n].name_len = (size_t)(eq - arg);
    p[*n].name = arg;
    p[*n].value = eq + 1;
    (*n)++;
    return 0;
}

int cli_inputs_add_input(cli_inputs *in, const char *arg)
{
    return add_pair(&in->pairs, &in->n_pairs, arg);
}

int cli_inputs_add_shape(cli_inputs *in, const char *arg)
{
    return add_pair(&in->shapes, &in->n_shapes, arg);
}

static const cli_pair *find_pair(const cli_pair *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(name) == p[i].name_len &&
            strncmp(p[i].name, name, p[i].name_len) == 0)
            return &p[i];
    return NULL;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Parses "D0,D1,..." into dims. */
static int parse_dims(const char *s, int64_t *dims, int *rank)
{
    *rank = 0;
    while (*s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || *rank >= ONNXQ_MAX_RANK)
            return -1;
        dims[(*rank)++] = v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

static onnxq_status generate(const Onnx__ValueInfoProto *vi,
                             const cli_inputs *in, onnxq_tensor *t,
                             char *note, size_t note_size, onnxq_error *err)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !tp->tensor_type->has_elem_type)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "input '%s' is not a tensor: give it with "
                               "--input", vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    t->dtype = tt->elem_type;
    if (!onnxq_dtype_size(t->dtype))
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "input '%s' has type %s, which cannot be "
                               "generated", vi->name,
                               onnxq_dtype_name(t->dtype));
    const cli_pair *shape = find_pair(in->shapes, in->n_shapes, vi->name);
    if (shape) {
        if (parse_dims(shape->value, t->dims, &t->rank))
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "--shape %s: expected NAME=D0,D1,...",
                                   vi->name);
    } else if (!tt->shape) {
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "input '%s' has no declared shape: give one "
                               "with --shape %s=D0,D1,...", vi->name,
                               vi->name);
    } else {
        if (tt->shape->n_dim > ONNXQ_MAX_RANK)
            return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                   "input '%s': rank above %d", vi->name,
                                   ONNXQ_MAX_RANK);
        t->rank = (int)tt->shape->n_dim;
        for (int d = 0; d < t->rank; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            if (dim->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                t->dims[d] = dim->dim_value;
            } else {
                t->dims[d] = 1;
                size_t used = strlen(note);
                snprintf(note + used, note_size - used,
                         "%s%s[%d]%s%s=1", used ? ", " : "", vi->name, d,
                         dim->dim_param ? " " : "",
                         dim->dim_param ? dim->dim_param : "");
            }
        }
    }
    size_t n = onnxq_tensor_nbytes(t) / onnxq_dtype_size(t->dtype);
    t->data = malloc(onnxq_tensor_nbytes(t) + 1);
    if (!t->data)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    /* a fixed LCG: the same inputs on every run and machine */
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(state >> 11) / 9007199254740992.0; /* [0,1) */
        switch (t->dtype) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            ((float *)t->data)[i] = (float)(2 * u - 1);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            ((double *)t->data)[i] = 2 * u - 1;
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
            ((uint8_t *)t->data)[i] = (uint8_t)(i & 1);
            break;
        default:
            onnxq_tensor_set_f64(t, i, t->dtype == 10 || t->dtype == 16
                                           ? 2 * u - 1 : (double)(int)(u * 10));
        }
    }
    return ONNXQ_OK;
}

onnxq_status cli_inputs_load(const cli_inputs *in, onnxq_session *s,
                             onnxq_tensor **out, size_t *n_out, char *note,
                             size_t note_size, onnxq_error *err)
{
    size_t n = onnxq_session_input_count(s);
    onnxq_tensor *ts = calloc(n + 1, sizeof *ts);
    onnxq_named_tensor *npz = NULL;
    size_t n_npz = 0;
    onnxq_status st = ONNXQ_OK;
    note[0] = '\0';
    if (!ts)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    /* --input names must exist */
    for (size_t i = 0; i < in->n_pairs; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++) {
            const char *name = onnxq_session_input(s, k)->name;
            found |= strlen(name) == in->pairs[i].name_len &&
                     strncmp(name, in->pairs[i].name, in->pairs[i].name_len) == 0;
        }
        if (!found) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "--input %.*s: the model has no input of "
                                 "that name", (int)in->pairs[i].name_len,
                                 in->pairs[i].name);
            goto fail;
        }
    }
    if (in->dir) {
        size_t len = strlen(in->dir);
        struct stat sb;
        if (len > 4 && strcmp(in->dir + len - 4, ".npz") == 0) {
            st = onnxq_npz_read(in->dir, &npz, &n_npz, err);
            if (st != ONNXQ_OK)
                goto fail;
        } else if (stat(in->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            st = onnxq_error_set(err, ONNXQ_ERR_IO, "--inputs %s: not a "
                                 "folder or .npz file", in->dir);
            goto fail;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const Onnx__ValueInfoProto *vi = onnxq_session_input(s, k);
        const cli_pair *p = find_pair(in->pairs, in->n_pairs, vi->name);
        char *path = NULL;
        if (p) {
            path = oq_strdup(p->value);
        } else if (npz) {
            for (size_t j = 0; j < n_npz; j++)
                if (strcmp(npz[j].name, vi->name) == 0) {
                    ts[k] = npz[j].tensor;
                    npz[j].tensor.data = NULL;
                }
            if (!ts[k].data) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s: no array named '%s'", in->dir,
                                     vi->name);
                goto fail;
            }
            continue;
        } else if (in->dir) {
            char *safe = oq_strdup(vi->name);
            char file[64];
            if (!safe)
                goto oom;
            size_t sl = strlen(safe);
            char *named = malloc(sl + 5);
            if (!named) {
                free(safe);
                goto oom;
            }
            memcpy(named, vi->name, sl);
            memcpy(named + sl, ".npy", 5);
            char *cand = oq_path_join(in->dir, named);
            if (cand && !file_exists(cand)) {
                free(cand);
                oq_sanitize_filename(safe);
                memcpy(named, safe, sl);
                cand = oq_path_join(in->dir, named);
            }
            if (cand && !file_exists(cand)) {
                free(cand);
                snprintf(file, sizeof file, "input_%zu.pb", k);
                cand = oq_path_join(in->dir, file);
            }
            free(safe);
            free(named);
            if (!cand)
                goto oom;
            if (!file_exists(cand)) {
                st = onnxq_error_set(err, ONNXQ_ERR_IO,
                                     "--inputs %s: no file for input '%s' "
                                     "(looked for %s.npy and input_%zu.pb)",
                                     in->dir, vi->name, vi->name, k);
                free(cand);
                goto fail;
            }
            path = cand;
        }
        if (path) {
            st = onnxq_tensor_file_read(path, &ts[k], err);
            free(path);
            if (st != ONNXQ_OK) {
                onnxq_error_prefix(err, "input '%s'", vi->name);
                goto fail;
            }
        } else {
            st = generate(vi, in, &ts[k], note, note_size, err);
            if (st != ONNXQ_OK)
                goto fail;
        }
    }
    onnxq_named_tensors_free(npz, n_npz);
    *out = ts;
    *n_out = n;
    return ONNXQ_OK;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    onnxq_named_tensors_free(npz, n_npz);
    onnxq_tensors_free(ts, n);
    return st;
}
