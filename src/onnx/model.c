/*
 * model.c — load a model from a file or memory, save it atomically.
 *
 * Loading: the file is mmap'd, its wire format checked (wire.c), unpacked by
 * protobuf-c into a malloc'd tree, and unmapped; unpack copies every byte it
 * keeps.  Files of 2 GiB or more are refused before reading: protobuf cannot
 * represent them, and such models must keep their weights in external data.
 *
 * Saving: serialised straight into a temporary file beside the destination
 * (no second copy of the model in memory), fsync'd and renamed over it, so a
 * reader never sees half a file and a failed save leaves nothing behind.
 * External data is written the same way (see save_external below).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

/* ---- loading ------------------------------------------------------------ */

static onnxq_status unpack(const void *data, size_t size, const char *name,
                           Onnx__ModelProto **out, onnxq_error *err)
{
    if (size == 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "%s: empty file, not an ONNX model", name);
    onnxq_status s = oq_wire_validate(data, size,
                                      &onnx__model_proto__descriptor, name,
                                      err);
    if (s != ONNXQ_OK)
        return s;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "%s: not a valid ONNX model (protobuf-c could "
                               "not unpack it: bad UTF-8 or out of memory)",
                               name);
    if (!m->has_ir_version || !m->graph) {
        const char *missing = m->has_ir_version ? "graph" : "ir_version";
        onnx__model_proto__free_unpacked(m, NULL);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "%s: not an ONNX model (no %s)", name, missing);
    }
    *out = m;
    return ONNXQ_OK;
}

static onnxq_status wrap(Onnx__ModelProto *proto, const char *source,
                         const char *base_dir, onnxq_model **out,
                         onnxq_error *err)
{
    onnxq_model *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->proto = proto;
    m->source = oq_strdup(source ? source : "<memory>");
    m->base_dir = oq_strdup(base_dir ? base_dir : ".");
    if (!m->source || !m->base_dir)
        goto oom;
    *out = m;
    return ONNXQ_OK;
oom:
    if (m) {
        m->proto = NULL; /* the caller still owns proto on failure */
        onnxq_model_destroy(m);
    }
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

onnxq_status onnxq_model_wrap(Onnx__ModelProto *proto, const char *base_dir,
                              onnxq_model **out, onnxq_error *err)
{
    if (!proto || !out)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_model_wrap: NULL argument");
    return wrap(proto, NULL, base_dir, out, err);
}

onnxq_status onnxq_model_load_memory(const void *data, size_t size,
                                     const char *base_dir, const char *name,
                                     onnxq_model **out, onnxq_error *err)
{
    if (!out || (!data && size))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_model_load_memory: NULL argument");
    if (!name)
        name = "<memory>";
    if (size > ONNXQ_PROTOBUF_LIMIT)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "%s: %zu bytes is past protobuf's 2 GiB limit",
                               name, size);
    Onnx__ModelProto *proto = NULL;
    onnxq_status s = unpack(data, size, name, &proto, err);
    if (s != ONNXQ_OK)
        return s;
    s = wrap(proto, name, base_dir, out, err);
    if (s != ONNXQ_OK)
        onnx__model_proto__free_unpacked(proto, NULL);
    return s;
}

onnxq_status onnxq_model_load_file(const char *path, onnxq_model **out,
                                   onnxq_error *err)
{
    if (!path || !out)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_model_load_file: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open: %s", path,
                               strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot stat: %s", path,
                               strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: is a directory, not an ONNX model file",
                               path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > ONNXQ_PROTOBUF_LIMIT) {
        close(fd);
        return onnxq_error_set(
            err, ONNXQ_ERR_INVALID_MODEL,
            "%s: file is %.2f GiB, past protobuf's 2 GiB limit; a model this "
            "large must keep its weights in external data", path,
            (double)st.st_size / (1024.0 * 1024 * 1024));
    }
    size_t size = (size_t)st.st_size;
    void *data = NULL;
    if (size > 0) {
        data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            int e = errno;
            close(fd);
            return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot map: %s",
                                   path, strerror(e));
        }
    }
    close(fd);
    char *dir_copy = oq_strdup(path);
    if (!dir_copy) {
        if (data)
            munmap(data, size);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    onnxq_status s = onnxq_model_load_memory(data, size, dirname(dir_copy),
                                             path, out, err);
    free(dir_copy);
    if (data)
        munmap(data, size);
    return s;
}

void onnxq_model_destroy(onnxq_model *model)
{
    if (!model)
        return;
    if (model->proto)
        onnx__model_proto__free_unpacked(model->proto, NULL);
    for (size_t i = 0; i < model->n_maps; i++) {
        if (model->maps[i].addr)
            munmap(model->maps[i].addr, model->maps[i].size);
        free(model->maps[i].location);
    }
    free(model->maps);
    free(model->source);
    free(model->base_dir);
    free(model);
}

Onnx__ModelProto *onnxq_model_proto(onnxq_model *model)
{
    return model ? model->proto : NULL;
}

const Onnx__ModelProto *onnxq_model_proto_const(const onnxq_model *model)
{
    return model ? model->proto : NULL;
}

const char *onnxq_model_source(const onnxq_model *model)
{
    return model->source;
}

const char *onnxq_model_base_dir(const onnxq_model *model)
{
    return model->base_dir;
}

int onnxq_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- external data: reading --------------------------------------------- */

/* A location must name a file inside the model's folder: relative, with no
 * ".." component (as the ONNX checker requires). */
static int location_is_safe(const char *loc)
{
    if (!loc[0] || loc[0] == '/')
        return 0;
    const char *p = loc;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 1;
}

onnxq_status oq_model_map_external(onnxq_model *model, const char *location,
                                   const oq_mapping **map, onnxq_error *err)
{
    for (size_t i = 0; i < model->n_maps; i++)
        if (strcmp(model->maps[i].location, location) == 0) {
            *map = &model->maps[i];
            return ONNXQ_OK;
        }
    if (!location_is_safe(location))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "%s: external data location '%s' must be a "
                               "relative path inside the model's folder",
                               model->source, location);
    char *path = oq_path_join(model->base_dir, location);
    if (!path)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        onnxq_error_set(err, ONNXQ_ERR_IO,
                        "%s: external data file %s: %s", model->source, path,
                        strerror(errno));
        free(path);
        return ONNXQ_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        onnxq_error_set(err, ONNXQ_ERR_IO,
                        "%s: external data %s is not a regular file",
                        model->source, path);
        free(path);
        return ONNXQ_ERR_IO;
    }
    void *addr = NULL;
    if (st.st_size > 0) {
        addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            int e = errno;
            close(fd);
            onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot map %s: %s",
                            model->source, path, strerror(e));
            free(path);
            return ONNXQ_ERR_IO;
        }
    }
    close(fd);
    free(path);
    oq_mapping *grown = realloc(model->maps,
                                (model->n_maps + 1) * sizeof *grown);
    char *loc = oq_strdup(location);
    if (!grown || !loc) {
        if (grown)
            model->maps = grown;
        free(loc);
        if (addr)
            munmap(addr, (size_t)st.st_size);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    model->maps = grown;
    grown[model->n_maps] = (oq_mapping){loc, addr, (size_t)st.st_size};
    *map = &grown[model->n_maps++];
    return ONNXQ_OK;
}
