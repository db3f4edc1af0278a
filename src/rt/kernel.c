/*
 * kernel.c — the helpers kernel.h promises every kernel: element counts,
 * attribute lookup, float16/bfloat16 conversion, reading and writing one
 * element of any numeric type, and numpy-style broadcasting.  oq_output and
 * oq_kfail belong to the executor (exec.c), which owns the tensors.
 *
 * float16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits);
 * bfloat16 is the top half of a binary32.  Conversions to either round to
 * nearest, ties to even, as ONNX Runtime and numpy do; NaN stays NaN (quiet,
 * sign kept), overflow becomes infinity.
 *
 * Broadcasting follows numpy: shapes are aligned on their last dimension,
 * and a dimension of 1 (or a missing leading one) stretches to the other.
 *
 * Last, the small helpers the reference kernel families share (threads, the
 * status after a failed helper, type predicates, whole tensors as double,
 * shapes as text), kept here so each exists once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernel.h"
#include "onnxq/tensor.h"

/* ---- element counts ------------------------------------------------------ */

size_t oq_numel_dims(const int64_t *dims, int rank)
{
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= (size_t)dims[d];
    return n;
}

size_t oq_numel(const oq_tensor *t)
{
    return oq_numel_dims(t->dims, t->rank);
}

/* ---- attributes ---------------------------------------------------------- */

const Onnx__AttributeProto *oq_attr(const oq_kctx *ctx, const char *name)
{
    const Onnx__NodeProto *node = ctx->node;
    if (!node)
        return NULL;
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        if (a && a->name && strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

/* Whether a holds a value of type want.  Files written before IR version 2
 * may leave `type` unset; then the presence of the field decides. */
static int attr_is(const Onnx__AttributeProto *a,
                   Onnx__AttributeProto__AttributeType want, int present)
{
    if (!a)
        return 0;
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return a->type == want;
    return present;
}

int64_t oq_attr_int(const oq_kctx *ctx, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, name);
    return attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, a && a->has_i)
               ? a->i : dflt;
}

float oq_attr_float(const oq_kctx *ctx, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, name);
    return attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, a && a->has_f)
               ? a->f : dflt;
}

const char *oq_attr_string(const oq_kctx *ctx, const char *name,
                           const char *dflt, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, name);
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
                 a && a->has_s)) {
        /* callers may read buf rather than the return value */
        if (size > 0)
            snprintf(buf, size, "%s", dflt ? dflt : "");
        return dflt;
    }
    if (size == 0)
        return buf;
    size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = '\0';
    return buf;
}

long oq_attr_ints(const oq_kctx *ctx, const char *name, const int64_t **v)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, name);
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
                 a && a->n_ints > 0))
        return -1;
    *v = a->ints;
    return (long)a->n_ints;
}

int oq_attr_ints_into(const oq_kctx *ctx, const char *name, int want,
                      int64_t min, int64_t *dst)
{
    const int64_t *v;
    long n = oq_attr_ints(ctx, name, &v);
    if (n <= 0)
        return 0;
    if (n != want)
        return -1;
    for (long i = 0; i < n; i++) {
        if (v[i] < min)
            return -1;
        dst[i] = v[i];
    }
    return 0;
}

long oq_attr_floats(const oq_kctx *ctx, const char *name, const float **v)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, name);
    if (!attr_is(a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
                 a && a->n_floats > 0))
        return -1;
    *v = a->floats;
    return (long)a->n_floats;
}

/* ---- float16 and bfloat16 ------------------------------------------------ */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float oq_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf, or NaN with its payload kept */
        return f32_from_bits(sign | 0x7f800000 | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in binary32 */
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    }
    return f32_from_bits(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

uint16_t oq_float_to_half(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffff;
    if (x >= 0x7f800000) /* inf, or NaN made quiet (a zero payload would be inf) */
        return sign | 0x7c00 | (x > 0x7f800000 ? 0x200 | ((x >> 13) & 0x3ff) : 0);
    /* 65520 is halfway between 65504 (the largest half) and 65536; the tie
     * goes to the even neighbour, which is infinity. */
    if (x >= 0x477ff000)
        return sign | 0x7c00;
    if (x < 0x38800000) {
        /* below 2^-14: a half subnormal, counted in units of 2^-24.  Up to
         * 2^-25 (a tie with 0, which is even) everything rounds to zero. */
        if (x <= 0x33000000)
            return sign;
        uint32_t e = x >> 23;                      /* 102..112 */
        uint32_t m = (x & 0x7fffff) | 0x800000;    /* value = m * 2^(e-150) */
        uint32_t shift = 126 - e;                  /* 14..24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++; /* may carry into the smallest normal, 0x400: still right */
        return sign | (uint16_t)q;
    }
    /* normal: rebias the exponent (127 -> 15) and drop 13 mantissa bits */
    uint32_t h = (x - 0x38000000) >> 13, rem = x & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

float oq_bfloat16_to_float(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

uint16_t oq_float_to_bfloat16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) /* NaN: keep sign and top payload, quiet */
        return (uint16_t)((x >> 16) | 0x40);
    /* adding 0x7fff plus the lowest kept bit rounds ties to even; a carry
     * out of the mantissa bumps the exponent, up to infinity */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* ---- one element of any numeric type -------------------------------------- */

double oq_get_f64(const oq_tensor *t, size_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return ((const float *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return ((const double *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        return oq_half_to_float(((const uint16_t *)p)[i]);
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        return oq_bfloat16_to_float(((const uint16_t *)p)[i]);
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return ((const int8_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return ((const int16_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return ((const int32_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return (double)((const int64_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return ((const uint8_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return ((const uint16_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return ((const uint32_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return (double)((const uint64_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
    }
}

/* C's float-to-integer conversion is undefined outside the target's range,
 * so out-of-range values saturate and NaN becomes 0.  lo is -2^k or 0 and
 * hi_excl is 2^k: both exact in a double, so the comparisons are exact. */
static int64_t f64_to_i64_sat(double v, double lo, double hi_excl, int64_t max)
{
    if (v != v)
        return 0;
    if (v < lo)
        return (int64_t)lo;
    if (v >= hi_excl)
        return max;
    return (int64_t)v;
}

static uint64_t f64_to_u64_sat(double v, double hi_excl, uint64_t max)
{
    if (v != v || v <= 0)
        return 0;
    if (v >= hi_excl)
        return max;
    return (uint64_t)v;
}

int64_t oq_get_i64(const oq_tensor *t, size_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return ((const int8_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return ((const int16_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return ((const int32_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return ((const int64_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return ((const uint8_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return ((const uint16_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return ((const uint32_t *)p)[i];
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        return (int64_t)((const uint64_t *)p)[i]; /* wraps above INT64_MAX */
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return ((const uint8_t *)p)[i] != 0;
    default: /* floating point: truncated toward zero, saturated */
        return f64_to_i64_sat(oq_get_f64(t, i), -0x1p63, 0x1p63, INT64_MAX);
    }
}

void oq_set_f64(oq_tensor *t, size_t i, double v)
{
    void *p = t->data;
    switch (t->dtype) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: ((float *)p)[i] = (float)v; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: ((double *)p)[i] = v; break;
    /* through binary32 like ONNX Runtime's Cast (double rounding is
     * possible, but only at exact ties of the first rounding) */
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        ((uint16_t *)p)[i] = oq_float_to_half((float)v);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        ((uint16_t *)p)[i] = oq_float_to_bfloat16((float)v);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
        ((int8_t *)p)[i] = (int8_t)f64_to_i64_sat(v, -0x1p7, 0x1p7, INT8_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
        ((int16_t *)p)[i] = (int16_t)f64_to_i64_sat(v, -0x1p15, 0x1p15, INT16_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        ((int32_t *)p)[i] = (int32_t)f64_to_i64_sat(v, -0x1p31, 0x1p31, INT32_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        ((int64_t *)p)[i] = f64_to_i64_sat(v, -0x1p63, 0x1p63, INT64_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
        ((uint8_t *)p)[i] = (uint8_t)f64_to_u64_sat(v, 0x1p8, UINT8_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
        ((uint16_t *)p)[i] = (uint16_t)f64_to_u64_sat(v, 0x1p16, UINT16_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        ((uint32_t *)p)[i] = (uint32_t)f64_to_u64_sat(v, 0x1p32, UINT32_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        ((uint64_t *)p)[i] = f64_to_u64_sat(v, 0x1p64, UINT64_MAX);
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: /* like C's (bool)v: NaN is true */
        ((uint8_t *)p)[i] = v != 0;
        break;
    default: break;
    }
}

/* ---- broadcasting -------------------------------------------------------- */

int oq_broadcast_shape(const oq_tensor *a, const oq_tensor *b, int *rank,
                       int64_t *out_dims)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int d = 0; d < r; d++) {
        /* right-aligned: a missing leading dimension counts as 1 */
        int da = d - (r - a->rank), db = d - (r - b->rank);
        int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
        if (x == y || y == 1)
            out_dims[d] = x;
        else if (x == 1)
            out_dims[d] = y;
        else
            return -1;
    }
    *rank = r;
    return 0;
}

void oq_broadcast_strides(const oq_tensor *t, int rank, const int64_t *out_dims,
                          int64_t *strides)
{
    (void)out_dims; /* a dim of 1 gets stride 0 whether or not it stretches */
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int td = d - (rank - t->rank);
        if (td < 0 || t->dims[td] == 1) {
            strides[d] = 0;
        } else {
            strides[d] = s;
            s *= t->dims[td];
        }
    }
}

size_t oq_broadcast_index(const oq_tensor *t, int rank, const int64_t *out_dims,
                          size_t i)
{
    int64_t strides[OQ_MAX_RANK];
    oq_broadcast_strides(t, rank, out_dims, strides);
    size_t idx = 0;
    for (int d = rank - 1; d >= 0; d--) {
        size_t n = (size_t)out_dims[d];
        if (n == 0)
            return 0;
        idx += (i % n) * (size_t)strides[d];
        i /= n;
    }
    return idx;
}

/* ---- helpers shared by the reference kernels ----------------------------- */

int oq_threads(const oq_kctx *ctx)
{
#ifdef _OPENMP
    return ctx->n_threads > 0 ? ctx->n_threads : omp_get_max_threads();
#else
    (void)ctx;
    return 1;
#endif
}

int oq_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

onnxq_status oq_failed(const oq_kctx *ctx)
{
    return ctx->err && ctx->err->status != ONNXQ_OK ? ctx->err->status
                                                   : ONNXQ_ERR_OUT_OF_MEMORY;
}

int oq_is_float(int32_t dtype)
{
    return dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
           dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
           dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
}

int oq_is_index(int32_t dtype)
{
    return dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
           dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
}

double *oq_load_f64(oq_kctx *ctx, const oq_tensor *t)
{
    size_t n = oq_numel(t);
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        if (ctx)
            oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                     "out of memory (%zu elements)", n);
        return NULL;
    }
    /* float32 and float64, the common cases, without a call per element */
    if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        const float *f = t->data;
        for (size_t i = 0; i < n; i++)
            v[i] = f[i];
    } else if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        memcpy(v, t->data, n * sizeof *v);
    } else {
        for (size_t i = 0; i < n; i++)
            v[i] = oq_get_f64(t, i);
    }
    return v;
}

void oq_store_f64(oq_tensor *t, const double *v)
{
    size_t n = oq_numel(t);
    if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        float *f = t->data;
        for (size_t i = 0; i < n; i++)
            f[i] = (float)v[i];
    } else if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        memcpy(t->data, v, n * sizeof *v);
    } else {
        for (size_t i = 0; i < n; i++)
            oq_set_f64(t, i, v[i]);
    }
}

const char *oq_dims_str(const int64_t *dims, int rank, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < rank && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", d ? ", " : "",
                              (long long)dims[d]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}

const char *oq_shape_str(const oq_tensor *t, char *buf, size_t size)
{
    return oq_dims_str(t->dims, t->rank, buf, size);
}
