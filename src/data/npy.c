/*
 * npy.c — NumPy .npy files and .npz archives, and TensorProto .pb files.
 *
 * .npy layout (numpy's format spec): magic "\x93NUMPY", major and minor
 * version bytes, header length (2 bytes little-endian in 1.0, 4 bytes in 2.0
 * and 3.0), then an ASCII (3.0: UTF-8) Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a newline so the data starts at a multiple of 64 bytes.
 * .npz is a zip archive of NAME.npy members, stored (np.savez) or deflated
 * (np.savez_compressed); zip64 archives are refused.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "onnxq/data.h"
#include "onnxq/model.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

/* numpy descr (without byte order) <-> ONNX element type */
static const struct {
    const char *descr;
    int32_t dtype;
} npy_types[] = {
    {"f4", 1}, {"u1", 2}, {"i1", 3}, {"u2", 4}, {"i2", 5},  {"i4", 6},
    {"i8", 7}, {"b1", 9}, {"f2", 10}, {"f8", 11}, {"u4", 12}, {"u8", 13},
};
enum { N_NPY_TYPES = sizeof npy_types / sizeof npy_types[0] };

/* Finds 'key': in the header dict and returns a pointer just after the
 * colon (spaces skipped), or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

onnxq_status onnxq_npy_parse(const void *data, size_t size, const char *name,
                             onnxq_tensor *out, onnxq_error *err)
{
    const unsigned char *b = data;
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: not a .npy file (bad magic)", name);
    unsigned major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "%s: truncated .npy header", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
               (size_t)b[11] << 24;
        hstart = 12;
    } else {
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "%s: .npy format version %u is not supported",
                               name, major);
    }
    if (hlen > size - hstart)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: truncated .npy header (%zu bytes "
                               "announced, %zu present)", name, hlen,
                               size - hstart);
    char *hdr = malloc(hlen + 1);
    if (!hdr)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    memcpy(hdr, b + hstart, hlen);
    hdr[hlen] = '\0';
    onnxq_status st = ONNXQ_OK;

    const char *descr = dict_value(hdr, "descr");
    const char *fortran = dict_value(hdr, "fortran_order");
    const char *shape = dict_value(hdr, "shape");
    if (!descr || !fortran || !shape || (*descr != '\'' && *descr != '"') ||
        *shape != '(') {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: malformed .npy header", name);
        goto done;
    }
    if (strncmp(fortran, "False", 5) != 0) {
        st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                             "%s: Fortran-order arrays are not supported "
                             "(save with np.ascontiguousarray)", name);
        goto done;
    }
    char order = descr[1];
    char code[8] = {0};
    size_t k = 0;
    for (const char *p = descr + 2; *p && *p != '\'' && *p != '"' && k < 7; p++)
        code[k++] = *p;
    int32_t dtype = 0;
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (strcmp(code, npy_types[i].descr) == 0)
            dtype = npy_types[i].dtype;
    if (!dtype || (order == '>' && onnxq_dtype_size(dtype) > 1) ||
        (order != '<' && order != '|' && order != '=' && order != '>')) {
        st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                             "%s: dtype '%c%s' is not supported (use "
                             "little-endian float16/32/64, int, uint or bool)",
                             name, order, code);
        goto done;
    }
    out->dtype = dtype;
    const char *p = shape + 1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        if (!isdigit((unsigned char)*p) || out->rank >= ONNXQ_MAX_RANK) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "%s: bad or too long shape in .npy header "
                                 "(rank limit %d)", name, ONNXQ_MAX_RANK);
            goto done;
        }
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "%s: bad dimension in .npy header", name);
            goto done;
        }
        out->dims[out->rank++] = v;
        p = end;
    }
    uint64_t numel;
    size_t es = onnxq_dtype_size(dtype);
    if (onnxq_shape_numel(out->dims, (size_t)out->rank, &numel) ||
        numel > (SIZE_MAX / es)) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: shape too large", name);
        goto done;
    }
    size_t bytes = (size_t)numel * es;
    size_t avail = size - hstart - hlen;
    if (avail < bytes) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: truncated: shape needs %zu bytes of data, "
                             "file has %zu", name, bytes, avail);
        goto done;
    }
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "%s: out of memory",
                             name);
        goto done;
    }
    memcpy(out->data, b + hstart + hlen, bytes);
done:
    free(hdr);
    return st;
}

/* Maps a whole file read-only; *data is NULL for an empty file. */
static onnxq_status map_file(const char *path, void **data, size_t *size,
                             onnxq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open: %s", path,
                               strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: not a regular file",
                               path);
    }
    *size = (size_t)st.st_size;
    *data = NULL;
    if (*size) {
        *data = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*data == MAP_FAILED) {
            int e = errno;
            close(fd);
            return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot map: %s",
                                   path, strerror(e));
        }
    }
    close(fd);
    return ONNXQ_OK;
}

onnxq_status onnxq_npy_read(const char *path, onnxq_tensor *out,
                            onnxq_error *err)
{
    void *data;
    size_t size;
    onnxq_status st = map_file(path, &data, &size, err);
    if (st != ONNXQ_OK)
        return st;
    st = onnxq_npy_parse(data ? data : "", size, path, out, err);
    if (data)
        munmap(data, size);
    return st;
}

onnxq_status onnxq_npy_write(const char *path, const onnxq_tensor *t,
                             onnxq_error *err)
{
    const char *code = NULL;
    for (int i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dtype == t->dtype)
            code = npy_types[i].descr;
    if (!code)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "%s: cannot write %s as .npy", path,
                               onnxq_dtype_name(t->dtype));
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     onnxq_dtype_size(t->dtype) == 1 ? '|' : '<', code);
    for (int d = 0; d < t->rank; d++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s",
                      (long long)t->dims[d], t->rank == 1 ? "," :
                      d + 1 < t->rank ? ", " : "");
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    /* pad with spaces so magic + 4 + header (ending in \n) is a multiple of
     * 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    while ((size_t)n < padded - 10 - 1)
        hdr[n++] = ' ';
    hdr[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(n & 0xff),
                             (unsigned char)(n >> 8)};
    oq_atomic_file af;
    onnxq_status st = oq_atomic_open(&af, path, err);
    if (st != ONNXQ_OK)
        return st;
    size_t bytes = onnxq_tensor_nbytes(t);
    if (fwrite(pre, 1, 10, af.fp) != 10 ||
        fwrite(hdr, 1, (size_t)n, af.fp) != (size_t)n ||
        (bytes && fwrite(t->data, 1, bytes, af.fp) != bytes)) {
        oq_atomic_abort(&af);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: write failed", path);
    }
    st = oq_atomic_finish(&af, err);
    if (st == ONNXQ_OK)
        st = oq_atomic_rename(&af, err);
    if (st != ONNXQ_OK)
        oq_atomic_abort(&af);
    return st;
}

/* ---- .npz --------------------------------------------------------------- */

static uint32_t rd16(const unsigned char *p) { return p[0] | p[1] << 8; }
static uint32_t rd32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void onnxq_named_tensors_free(onnxq_named_tensor *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].tensor.data);
    }
    free(t);
}

onnxq_status onnxq_npz_read(const char *path, onnxq_named_tensor **out,
                            size_t *n_out, onnxq_error *err)
{
    void *map;
    size_t size;
    onnxq_status st = map_file(path, &map, &size, err);
    if (st != ONNXQ_OK)
        return st;
    const unsigned char *z = map;
    onnxq_named_tensor *items = NULL;
    size_t n = 0;
    /* the end-of-central-directory record is in the last 64 KiB + 22 */
    size_t eocd = SIZE_MAX;
    for (size_t i = size >= 22 ? size - 22 : 0; size >= 22; i--) {
        if (rd32(z + i) == 0x06054b50) {
            eocd = i;
            break;
        }
        if (i == 0 || size - i > 65557)
            break;
    }
    if (eocd == SIZE_MAX) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: not an .npz (zip) file", path);
        goto done;
    }
    size_t count = rd16(z + eocd + 10);
    size_t cd = rd32(z + eocd + 16);
    items = calloc(count ? count : 1, sizeof *items);
    if (!items)
        goto oom;
    for (size_t e = 0; e < count; e++) {
        if (cd + 46 > size || rd32(z + cd) != 0x02014b50)
            goto corrupt;
        uint32_t method = rd16(z + cd + 10);
        uint32_t csize = rd32(z + cd + 20), usize = rd32(z + cd + 24);
        size_t name_len = rd16(z + cd + 28), extra = rd16(z + cd + 30),
               comment = rd16(z + cd + 32);
        size_t local = rd32(z + cd + 42);
        if (cd + 46 + name_len > size || local + 30 > size ||
            rd32(z + local) != 0x04034b50 || csize == 0xffffffffu)
            goto corrupt;
        size_t data_at = local + 30 + rd16(z + local + 26) + rd16(z + local + 28);
        if (data_at > size || csize > size - data_at)
            goto corrupt;
        char *name = malloc(name_len + 1);
        if (!name)
            goto oom;
        memcpy(name, z + cd + 46, name_len);
        name[name_len] = '\0';
        if (name_len > 4 && strcmp(name + name_len - 4, ".npy") == 0)
            name[name_len - 4] = '\0';
        items[n].name = name;
        unsigned char *raw = NULL;
        const unsigned char *member = z + data_at;
        if (method == 8) {
            raw = malloc(usize ? usize : 1);
            if (!raw)
                goto oom;
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            zs.next_in = (unsigned char *)member;
            zs.avail_in = csize;
            zs.next_out = raw;
            zs.avail_out = usize;
            int ok = inflateInit2(&zs, -MAX_WBITS) == Z_OK &&
                     inflate(&zs, Z_FINISH) == Z_STREAM_END &&
                     zs.total_out == usize;
            inflateEnd(&zs);
            if (!ok) {
                free(raw);
                goto corrupt;
            }
            member = raw;
        } else if (method != 0 || csize != usize) {
            st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                 "%s: member '%s' uses zip method %u",
                                 path, name, method);
            n++;
            goto done;
        }
        char label[1200];
        snprintf(label, sizeof label, "%s[%s]", path, name);
        st = onnxq_npy_parse(member, usize, label, &items[n].tensor, err);
        free(raw);
        n++;
        if (st != ONNXQ_OK)
            goto done;
        cd += 46 + name_len + extra + comment;
    }
    *out = items;
    *n_out = n;
    items = NULL;
    goto done;
corrupt:
    st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                         "%s: corrupt or unsupported zip structure", path);
    goto done;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
done:
    onnxq_named_tensors_free(items, n);
    if (map)
        munmap(map, size);
    return st;
}

/* ---- .pb ---------------------------------------------------------------- */

onnxq_status onnxq_pb_read(const char *path, onnxq_tensor *out, char **name,
                           onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    void *map;
    size_t size;
    onnxq_status st = map_file(path, &map, &size, err);
    if (st != ONNXQ_OK)
        return st;
    Onnx__TensorProto *tp =
        map ? onnx__tensor_proto__unpack(NULL, size, map) : NULL;
    if (map)
        munmap(map, size);
    if (!tp)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: not a TensorProto file", path);
    uint64_t bytes = 0;
    if (tp->n_dims > ONNXQ_MAX_RANK)
        st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED, "%s: rank %zu is "
                             "above %d", path, tp->n_dims, ONNXQ_MAX_RANK);
    else if ((st = onnxq_tensor_expected_bytes(tp, &bytes, err)) != ONNXQ_OK)
        onnxq_error_prefix(err, "%s", path);
    else if (!(out->data = malloc(bytes ? bytes : 1)))
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    else if ((st = onnxq_tensor_copy_data(NULL, tp, out->data, bytes, err)) !=
             ONNXQ_OK)
        onnxq_error_prefix(err, "%s", path);
    if (st == ONNXQ_OK) {
        out->dtype = tp->data_type;
        out->rank = (int)tp->n_dims;
        for (size_t i = 0; i < tp->n_dims; i++)
            out->dims[i] = tp->dims[i];
        if (name && !(*name = oq_strdup(tp->name ? tp->name : "")))
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (st != ONNXQ_OK) {
        free(out->data);
        out->data = NULL;
    }
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

onnxq_status onnxq_tensor_file_read(const char *path, onnxq_tensor *out,
                                    onnxq_error *err)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".pb") == 0)
        return onnxq_pb_read(path, out, NULL, err);
    return onnxq_npy_read(path, out, err);
}
