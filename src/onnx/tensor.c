/*
 * tensor.c — element types and TensorProto data in all three storages:
 * raw_data (packed little-endian), the typed repeated fields (float_data,
 * int32_data, ...; which field holds which type is fixed by onnx-ml.proto),
 * and external files (data_location EXTERNAL with location/offset/length
 * entries relative to the model's folder).  onnxq assumes a little-endian
 * host, as raw_data is little-endian.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "onnxq/tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnxq reads raw tensor data in place and needs a little-endian host"
#endif

typedef struct dtype_info {
    const char *name;
    size_t size;
} dtype_info;

/* Indexed by TensorProto.DataType.  17..20 are the float8 types of ONNX 1.14
 * (opset 19), which may appear in newer files even though our proto predates
 * them. */
static const dtype_info dtypes[] = {
    [0] = {"undefined", 0},   [1] = {"float32", 4},   [2] = {"uint8", 1},
    [3] = {"int8", 1},        [4] = {"uint16", 2},    [5] = {"int16", 2},
    [6] = {"int32", 4},       [7] = {"int64", 8},     [8] = {"string", 0},
    [9] = {"bool", 1},        [10] = {"float16", 2},  [11] = {"float64", 8},
    [12] = {"uint32", 4},     [13] = {"uint64", 8},   [14] = {"complex64", 8},
    [15] = {"complex128", 16}, [16] = {"bfloat16", 2},
    [17] = {"float8e4m3fn", 1}, [18] = {"float8e4m3fnuz", 1},
    [19] = {"float8e5m2", 1}, [20] = {"float8e5m2fnuz", 1},
};
enum { N_DTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *onnxq_dtype_name(int32_t dtype)
{
    static __thread char buf[24];
    if (dtype >= 0 && dtype < N_DTYPES && dtypes[dtype].name)
        return dtypes[dtype].name;
    snprintf(buf, sizeof buf, "type%d", (int)dtype);
    return buf;
}

size_t onnxq_dtype_size(int32_t dtype)
{
    return dtype >= 0 && dtype < N_DTYPES ? dtypes[dtype].size : 0;
}

int onnxq_shape_numel(const int64_t *dims, size_t ndims, uint64_t *numel)
{
    uint64_t n = 1;
    const uint64_t cap = (uint64_t)1 << 62;
    for (size_t i = 0; i < ndims; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] != 0 && n > cap / (uint64_t)dims[i])
            return -1;
        n *= (uint64_t)dims[i];
    }
    *numel = n;
    return 0;
}

static const char *tname(const Onnx__TensorProto *t)
{
    return t->name && t->name[0] ? t->name : "<unnamed>";
}

int onnxq_tensor_is_external(const Onnx__TensorProto *t)
{
    return t->has_data_location &&
           t->data_location ==
               ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

/* Parses a decimal uint64 with nothing after it. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

onnxq_status onnxq_tensor_external_ref(const Onnx__TensorProto *t,
                                       onnxq_external_ref *ref,
                                       onnxq_error *err)
{
    ref->location = NULL;
    ref->offset = 0;
    ref->length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value)
            continue;
        uint64_t v;
        if (strcmp(e->key, "location") == 0) {
            ref->location = e->value;
        } else if (strcmp(e->key, "offset") == 0) {
            if (parse_u64(e->value, &v))
                goto bad_number;
            ref->offset = v;
        } else if (strcmp(e->key, "length") == 0) {
            if (parse_u64(e->value, &v) || v > (uint64_t)INT64_MAX)
                goto bad_number;
            ref->length = (int64_t)v;
        }
        continue;
    bad_number:
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s': external data %s '%s' is not a "
                               "number", tname(t), e->key, e->value);
    }
    if (!ref->location)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s': external data has no location",
                               tname(t));
    return ONNXQ_OK;
}

onnxq_status onnxq_tensor_expected_bytes(const Onnx__TensorProto *t,
                                         uint64_t *bytes, onnxq_error *err)
{
    int32_t dt = t->has_data_type ? t->data_type : 0;
    size_t es = onnxq_dtype_size(dt);
    if (es == 0)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "tensor '%s': element type %s has no fixed "
                               "size", tname(t), onnxq_dtype_name(dt));
    uint64_t n;
    if (onnxq_shape_numel(t->dims, t->n_dims, &n) || n > UINT64_MAX / es)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s': invalid shape (negative or "
                               "overflowing dims)", tname(t));
    *bytes = n * es;
    return ONNXQ_OK;
}

onnxq_status onnxq_tensor_raw_bytes(onnxq_model *model,
                                    const Onnx__TensorProto *t,
                                    const void **data, size_t *size,
                                    onnxq_error *err)
{
    if (!onnxq_tensor_is_external(t)) {
        if (!t->has_raw_data)
            return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                   "tensor '%s': data is not stored raw",
                                   tname(t));
        *data = t->raw_data.data;
        *size = t->raw_data.len;
        return ONNXQ_OK;
    }
    onnxq_external_ref ref;
    onnxq_status s = onnxq_tensor_external_ref(t, &ref, err);
    if (s != ONNXQ_OK)
        return s;
    const oq_mapping *map;
    s = oq_model_map_external(model, ref.location, &map, err);
    if (s != ONNXQ_OK)
        return onnxq_error_prefix(err, "tensor '%s'", tname(t));
    uint64_t len = ref.length >= 0 ? (uint64_t)ref.length
                   : map->size >= ref.offset ? map->size - ref.offset
                                             : 0;
    if (ref.offset > map->size || len > map->size - ref.offset)
        return onnxq_error_set(
            err, ONNXQ_ERR_INVALID_MODEL,
            "tensor '%s': external data range [%" PRIu64 ", %" PRIu64
            ") is past the end of %s (%zu bytes)",
            tname(t), ref.offset, ref.offset + len, ref.location, map->size);
    *data = map->addr ? (const char *)map->addr + ref.offset : "";
    *size = (size_t)len;
    return ONNXQ_OK;
}

/* Number of typed values stored, and which storage holds this type. */
static size_t typed_count(const Onnx__TensorProto *t)
{
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64:
        return t->n_float_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        return t->n_int64_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128:
        return t->n_double_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        return t->n_uint64_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING:
        return t->n_string_data;
    default:
        return t->n_int32_data;
    }
}

onnxq_status onnxq_tensor_copy_data(onnxq_model *model,
                                    const Onnx__TensorProto *t, void *dst,
                                    size_t dst_size, onnxq_error *err)
{
    uint64_t want;
    onnxq_status s = onnxq_tensor_expected_bytes(t, &want, err);
    if (s != ONNXQ_OK)
        return s;
    if (want != dst_size)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "tensor '%s': destination holds %zu bytes, "
                               "tensor has %" PRIu64, tname(t), dst_size,
                               want);
    s = onnxq_tensor_check_data(model, t, err);
    if (s != ONNXQ_OK)
        return s;
    if (onnxq_tensor_is_external(t) || t->has_raw_data) {
        const void *src;
        size_t n;
        s = onnxq_tensor_raw_bytes(model, t, &src, &n, err);
        if (s == ONNXQ_OK && n)
            memcpy(dst, src, n);
        return s;
    }
    if (dst_size == 0)
        return ONNXQ_OK; /* empty tensor: its typed field may be NULL */
    size_t es = onnxq_dtype_size(t->data_type);
    size_t count = dst_size / (es ? es : 1);
    unsigned char *out = dst;
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64:
        memcpy(out, t->float_data, dst_size);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        memcpy(out, t->int64_data, dst_size);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128:
        memcpy(out, t->double_data, dst_size);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        memcpy(out, t->uint64_data, dst_size);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        for (size_t i = 0; i < count; i++) {
            uint32_t v = (uint32_t)t->uint64_data[i];
            memcpy(out + 4 * i, &v, 4);
        }
        break;
    default: /* int32_data holds one element per value, in its low bits */
        for (size_t i = 0; i < count; i++) {
            uint32_t v = (uint32_t)t->int32_data[i];
            memcpy(out + es * i, &v, es); /* little-endian: low bytes first */
        }
        break;
    }
    return ONNXQ_OK;
}

onnxq_status onnxq_tensor_check_data(onnxq_model *model,
                                     const Onnx__TensorProto *t,
                                     onnxq_error *err)
{
    int32_t dt = t->has_data_type ? t->data_type : 0;
    uint64_t numel;
    if (onnxq_shape_numel(t->dims, t->n_dims, &numel))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s': invalid shape (negative or "
                               "overflowing dims)", tname(t));
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING) {
        if (t->n_string_data != numel)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                                   "tensor '%s': shape holds %" PRIu64
                                   " strings but %zu are stored", tname(t),
                                   numel, t->n_string_data);
        return ONNXQ_OK;
    }
    uint64_t want;
    onnxq_status s = onnxq_tensor_expected_bytes(t, &want, err);
    if (s != ONNXQ_OK)
        return s;
    if (onnxq_tensor_is_external(t) || t->has_raw_data) {
        const void *data;
        size_t n;
        s = onnxq_tensor_raw_bytes(model, t, &data, &n, err);
        if (s != ONNXQ_OK)
            return s;
        if (n != want)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                                   "tensor '%s': %s %s of shape needs %" PRIu64
                                   " bytes but %zu are stored", tname(t),
                                   onnxq_dtype_name(dt),
                                   onnxq_tensor_is_external(t) ? "external"
                                                               : "raw",
                                   want, n);
        return ONNXQ_OK;
    }
    uint64_t want_values = numel;
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64 ||
        dt == ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128)
        want_values *= 2;
    size_t have = typed_count(t);
    if (have != want_values)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s': %s tensor of %" PRIu64
                               " elements stores %zu values", tname(t),
                               onnxq_dtype_name(dt), numel, have);
    return ONNXQ_OK;
}
