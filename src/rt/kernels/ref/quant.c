/*
 * quant.c — reference kernels of the quantization ops:
 *   ai.onnx        QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 *                  QLinearConv, QLinearMatMul, MatMulInteger, ConvInteger
 *   com.microsoft  QuantizeLinear, DequantizeLinear, QLinearConv,
 *                  MatMulIntegerToFloat, DynamicQuantizeMatMul, QGemm,
 *                  QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu,
 *                  QLinearConcat, QLinearGlobalAveragePool,
 *                  QLinearAveragePool, QLinearSoftmax
 *
 * The contract (kernel.h) is that integer results equal ONNX Runtime's bit
 * for bit, so every formula below is ORT 1.30's CPU arithmetic on x86-64
 * (its MLAS kernels), not just the operator documentation: which float
 * operations run in which order, whether a multiply-add is fused, whether
 * the zero point is added before or after rounding.  The facts, learnt from
 * ORT's sources and checked against ORT itself by tests/quant:
 *   - quantizing divides (x / scale, never x * (1/scale)), clamps to
 *     [lo - zp, hi - zp] in float (NaN becomes lo), rounds half to even and
 *     then adds the zero point;
 *   - integer ops accumulate exactly in int32; requantizing is
 *     float(acc + bias) * scale in float with the same clamp and rounding,
 *     scale = (x_scale * w_scale[c]) / y_scale computed in float;
 *   - QLinearMul and QLinearAveragePool add the output zero point in float
 *     *before* rounding, so their ties round on value + zp (2.5 + 3 gives
 *     6, where requantizing gives RNE(2.5) + 3 = 5);
 *   - QLinearAdd (8 bit) is ORT's AVX2 kernel: fused multiply-adds around a
 *     precomputed "fixed part", and which input counts as A depends on how
 *     ORT splits the broadcast into spans (see qadd_mode);
 *   - QLinearSigmoid/LeakyRelu/Concat map every input byte through a
 *     256-entry table built in float; the sigmoid is MLAS's rational
 *     approximation (FMA form), not expf;
 *   - QLinearSoftmax is ORT's own integer-table algorithm (x_zero_point
 *     unused, y_scale enters as floor(1 / y_scale)).
 * Where ORT's arithmetic is plainly a bug (QLinearAdd/Mul values past 2^31
 * become INT32_MIN in cvtps2dq and saturate to the wrong end), onnxq follows
 * the specification.  Integer sums are exact here; ORT's AVX2 kernels on
 * CPUs without VNNI add u8 x s8 products in pairs with int16 saturation, a
 * property of the CPU that onnxq does not imitate (the tests keep such data
 * within 7 bits, as ORT's reduce_range does).
 *
 * Scales are float (float16 and bfloat16 are read as float); zero points
 * have the quantized type and default to 0 when omitted.  Per-axis and
 * per-column parameters follow the ONNX documents and ORT's extensions
 * (batched per-column B parameters of the MatMul family).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_UINT16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    T_INT16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    T_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    T_BFLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16,
};

/* ======================================================================== */
/* element access                                                            */
/* ======================================================================== */

/* Range of a quantized integer type; -1 if dt is not one. */
static int q_limits(int32_t dt, int32_t *lo, int32_t *hi)
{
    *lo = *hi = 0;
    switch (dt) {
    case T_UINT8: *lo = 0; *hi = 255; return 0;
    case T_INT8: *lo = -128; *hi = 127; return 0;
    case T_UINT16: *lo = 0; *hi = 65535; return 0;
    case T_INT16: *lo = -32768; *hi = 32767; return 0;
    case T_INT32: *lo = INT32_MIN; *hi = INT32_MAX; return 0;
    default: return -1;
    }
}

static int is_q8(int32_t dt) { return dt == T_UINT8 || dt == T_INT8; }

static int is_float_dt(int32_t dt)
{
    return dt == T_FLOAT || dt == T_FLOAT16 || dt == T_BFLOAT16;
}

/* Element i of an integer tensor of a type q_limits knows. */
static inline int32_t q_get(const oq_tensor *t, size_t i)
{
    switch (t->dtype) {
    case T_UINT8: return ((const uint8_t *)t->data)[i];
    case T_INT8: return ((const int8_t *)t->data)[i];
    case T_UINT16: return ((const uint16_t *)t->data)[i];
    case T_INT16: return ((const int16_t *)t->data)[i];
    default: return ((const int32_t *)t->data)[i];
    }
}

/* Stores v, already inside the type's range. */
static inline void q_put(oq_tensor *t, size_t i, int32_t v)
{
    switch (t->dtype) {
    case T_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
    case T_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
    case T_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case T_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    default: ((int32_t *)t->data)[i] = v; break;
    }
}

/* Element i of a float, float16 or bfloat16 tensor, as float. */
static inline float f_get(const oq_tensor *t, size_t i)
{
    if (t->dtype == T_FLOAT)
        return ((const float *)t->data)[i];
    if (t->dtype == T_FLOAT16)
        return oq_half_to_float(((const uint16_t *)t->data)[i]);
    return oq_bfloat16_to_float(((const uint16_t *)t->data)[i]);
}

/* ======================================================================== */
/* the arithmetic every kernel shares                                        */
/* ======================================================================== */

/* Clamps v to [mn, mx] the way MAXPS/MINPS do: NaN becomes mn. */
static inline float clampf_ps(float v, float mn, float mx)
{
    v = v > mn ? v : mn;
    return v < mx ? v : mx;
}

/* QuantizeLinear's formula as MLAS computes it:
 *   q = RNE(clamp(x / scale, lo - zp, hi - zp)) + zp
 * nearbyintf rounds half to even under the default rounding mode. */
static inline int32_t quantize1(float x, float scale, int32_t zp, int32_t lo,
                                int32_t hi)
{
    float v = clampf_ps(x / scale, (float)(lo - zp), (float)(hi - zp));
    return (int32_t)nearbyintf(v) + zp;
}

/* MlasRequantizeOutput: an int32 accumulator (bias already added) to the
 * output type:  y = RNE(clamp(float(acc) * scale, lo - zp, hi - zp)) + zp */
static inline int32_t requant1(int32_t acc, float scale, int32_t zp,
                               int32_t lo, int32_t hi)
{
    float v = clampf_ps((float)acc * scale, (float)(lo - zp), (float)(hi - zp));
    return (int32_t)nearbyintf(v) + zp;
}

/* Rounds v + zp (zp added in float before rounding, as QLinearMul and the
 * pooling kernels do) and saturates; the range check happens in float so
 * huge values saturate to the right end. */
static inline int32_t round_sat(float v, int32_t lo, int32_t hi)
{
    float r = nearbyintf(v);
    if (!(r > (float)lo))
        return lo;  /* NaN too */
    if (r > (float)hi)
        return hi;
    return (int32_t)r;
}

/* Dynamic quantization parameters (DynamicQuantizeLinear, and the A input
 * of DynamicQuantizeMatMul), ORT's GetQuantizationParameter for uint8:
 *   min = min(0, min x), max = max(0, max x)
 *   scale = max == min ? 1 : (max - min) / 255          (float)
 *   zp = RNE(clamp(0 - min / scale, 0, 255))            (float)          */
static void dynamic_qparams(const float *x, size_t n, float *scale, int32_t *zp)
{
    float mn = FLT_MAX, mx = -FLT_MAX;
    for (size_t i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    mn = mn < 0.0f ? mn : 0.0f;
    mx = mx > 0.0f ? mx : 0.0f;
    float s = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float z = 0.0f - mn / s;
    z = z < 255.0f ? z : 255.0f;   /* std::min(255, z), std::max(0, ...) */
    z = 0.0f > z ? 0.0f : z;
    *scale = s;
    *zp = (int32_t)nearbyintf(z);
}

/* DynamicQuantizeLinear's uint8 quantization of x[0..n) into q, shared with
 * rnn.c (DynamicQuantizeLSTM quantizes its input and hidden state so). */
void oq_dynamic_qparams_u8(const float *x, size_t n, float *scale,
                           int32_t *zp)
{
    dynamic_qparams(x, n, scale, zp);
}

void oq_dynamic_quantize_u8(const float *x, size_t n, uint8_t *q, float *scale,
                            int32_t *zp)
{
    dynamic_qparams(x, n, scale, zp);
    for (size_t i = 0; i < n; i++)
        q[i] = (uint8_t)quantize1(x[i], *scale, *zp, 0, 255);
}

/* ======================================================================== */
/* inputs and parameters                                                     */
/* ======================================================================== */

/* Fails unless every input whose name is non-NULL is present. */
static onnxq_status need_inputs(oq_kctx *ctx, const char *const *names,
                                size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && !oq_in(ctx, i))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "input %zu (%s) is required", i, names[i]);
    return ONNXQ_OK;
}

/* A scale input that must hold one value. */
static onnxq_status get_scale(oq_kctx *ctx, size_t i, const char *what,
                              float *out)
{
    const oq_tensor *t = oq_in(ctx, i);
    *out = 0.0f;
    if (!t || !is_float_dt(t->dtype) || oq_numel(t) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s must be a single float value (per-tensor)%s", what,
                        t ? "" : ", and it is missing");
    *out = f_get(t, 0);
    return ONNXQ_OK;
}

/* An optional zero point that must hold one value of type dtype (0 if
 * omitted). */
static onnxq_status get_zp(oq_kctx *ctx, size_t i, int32_t dtype,
                           const char *what, int32_t *out)
{
    const oq_tensor *t = oq_in(ctx, i);
    *out = 0;
    if (!t)
        return ONNXQ_OK;
    if (t->dtype != dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s has type %s, the data has %s", what,
                        onnxq_dtype_name(t->dtype), onnxq_dtype_name(dtype));
    if (oq_numel(t) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "%s must be a single value (per-tensor), it has %zu",
                        what, oq_numel(t));
    *out = q_get(t, 0);
    return ONNXQ_OK;
}

static onnxq_status need_q8(oq_kctx *ctx, const oq_tensor *t, const char *what)
{
    if (!is_q8(t->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "%s must be int8 or uint8, got %s", what,
                        onnxq_dtype_name(t->dtype));
    return ONNXQ_OK;
}

static int64_t norm_axis(int64_t axis, int rank)
{
    return axis < 0 ? axis + rank : axis;
}

/* ======================================================================== */
/* QuantizeLinear / DequantizeLinear                                         */
/* ======================================================================== */

/* How the scale and zero point map onto x: for element i of x seen as
 * [outer, D, inner] around the axis, the parameter index is
 *   per-tensor: 0;  per-axis: d;  blocked: (o * ceil(D / bs) + d / bs) * inner + j */
typedef struct qdq_layout {
    int kind;            /* 0 per-tensor, 1 per-axis, 2 blocked */
    size_t D, inner, nblk;
    int64_t block;
} qdq_layout;

static onnxq_status qdq_layout_of(oq_kctx *ctx, const oq_tensor *x,
                                  const oq_tensor *scale,
                                  const oq_tensor *zp, qdq_layout *L)
{
    memset(L, 0, sizeof *L);
    int64_t block = oq_attr_int(ctx, "block_size", 0);
    if (block < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "block_size %lld is negative", (long long)block);
    if (oq_numel(scale) == 1 && block == 0) {
        if (zp && oq_numel(zp) != 1)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "the scale is per-tensor but the zero point has "
                            "%zu values", oq_numel(zp));
        return ONNXQ_OK;
    }
    int64_t axis = norm_axis(oq_attr_int(ctx, "axis", 1), x->rank);
    if (axis < 0 || axis >= x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "axis %lld is outside the rank %d of x",
                        (long long)oq_attr_int(ctx, "axis", 1), x->rank);
    L->D = (size_t)x->dims[axis];
    L->inner = oq_numel_dims(x->dims + axis + 1, x->rank - (int)axis - 1);
    if (block == 0) {
        L->kind = 1;
        if (scale->rank != 1 || (size_t)scale->dims[0] != L->D)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "per-axis scale must be 1-D of size %zu (axis "
                            "%lld), it has %zu values", L->D, (long long)axis,
                            oq_numel(scale));
        if (zp && (zp->rank != 1 || zp->dims[0] != scale->dims[0]))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "per-axis zero point must have the scale's shape");
        return ONNXQ_OK;
    }
    L->kind = 2;
    L->block = block;
    L->nblk = (L->D + (size_t)block - 1) / (size_t)block;
    if (scale->rank != x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "blocked scale must have x's rank %d, it has %d",
                        x->rank, scale->rank);
    for (int d = 0; d < x->rank; d++) {
        int64_t want = d == axis ? (int64_t)L->nblk : x->dims[d];
        if (scale->dims[d] != want)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "blocked scale dimension %d is %lld, expected "
                            "%lld (block_size %lld)", d,
                            (long long)scale->dims[d], (long long)want,
                            (long long)block);
        if (zp && (zp->rank != x->rank || zp->dims[d] != scale->dims[d]))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "blocked zero point must have the scale's shape");
    }
    return ONNXQ_OK;
}

static inline size_t qdq_param_index(const qdq_layout *L, size_t i)
{
    if (L->kind == 0)
        return 0;
    size_t j = i % L->inner, d = (i / L->inner) % L->D;
    if (L->kind == 1)
        return d;
    size_t o = i / (L->inner * L->D);
    return (o * L->nblk + d / (size_t)L->block) * L->inner + j;
}

/* Output type of QuantizeLinear: the zero point's, else output_dtype
 * (opset 21), else uint8. */
static onnxq_status quantize_out_type(oq_kctx *ctx, const oq_tensor *zp,
                                      int32_t *dt)
{
    int64_t want = oq_attr_int(ctx, "output_dtype", 0);
    *dt = zp ? zp->dtype : want ? (int32_t)want : T_UINT8;
    if (zp && want && want != zp->dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "output_dtype %lld differs from the zero point's "
                        "type %s", (long long)want, onnxq_dtype_name(zp->dtype));
    int32_t lo, hi;
    if (q_limits(*dt, &lo, &hi) != 0 || *dt == T_INT32)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "quantizing to %s is not supported (int8, uint8, "
                        "int16, uint16 are)", onnxq_dtype_name(*dt));
    return ONNXQ_OK;
}

/* y = saturate(RNE(x / y_scale) + y_zero_point) */
static onnxq_status k_quantize_linear(oq_kctx *ctx)
{
    static const char *const names[] = {"x", "y_scale", NULL};
    onnxq_status st = need_inputs(ctx, names, 2);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0), *s = oq_in(ctx, 1), *zp = oq_in(ctx, 2);
    if (!is_float_dt(x->dtype) || !is_float_dt(s->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "x (%s) and y_scale (%s) must be float or float16",
                        onnxq_dtype_name(x->dtype), onnxq_dtype_name(s->dtype));
    int32_t dt, lo, hi;
    if ((st = quantize_out_type(ctx, zp, &dt)) != ONNXQ_OK)
        return st;
    q_limits(dt, &lo, &hi);
    qdq_layout L;
    if ((st = qdq_layout_of(ctx, x, s, zp, &L)) != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, dt, x->rank, x->dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t n = oq_numel(x);
    for (size_t i = 0; i < n; i++) {
        size_t p = qdq_param_index(&L, i);
        int32_t z = zp ? q_get(zp, p) : 0;
        q_put(y, i, quantize1(f_get(x, i), f_get(s, p), z, lo, hi));
    }
    return ONNXQ_OK;
}

/* y = (x - x_zero_point) * x_scale, as float((int32)x - zp) * scale in float;
 * the output has the scale's type (float16 since opset 19). */
static onnxq_status k_dequantize_linear(oq_kctx *ctx)
{
    static const char *const names[] = {"x", "x_scale", NULL};
    onnxq_status st = need_inputs(ctx, names, 2);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0), *s = oq_in(ctx, 1), *zp = oq_in(ctx, 2);
    int32_t lo, hi;
    if (q_limits(x->dtype, &lo, &hi) != 0)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "dequantizing %s is not supported (int8, uint8, "
                        "int16, uint16, int32 are)", onnxq_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "x_zero_point is %s but x is %s",
                        onnxq_dtype_name(zp->dtype), onnxq_dtype_name(x->dtype));
    if (s->dtype != T_FLOAT && s->dtype != T_FLOAT16)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "x_scale must be float or float16, got %s",
                        onnxq_dtype_name(s->dtype));
    qdq_layout L;
    if ((st = qdq_layout_of(ctx, x, s, zp, &L)) != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, s->dtype, x->rank, x->dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t n = oq_numel(x);
    for (size_t i = 0; i < n; i++) {
        size_t p = qdq_param_index(&L, i);
        int32_t z = zp ? q_get(zp, p) : 0;
        float v = (float)(int32_t)((uint32_t)q_get(x, i) - (uint32_t)z) * f_get(s, p);
        if (s->dtype == T_FLOAT)
            ((float *)y->data)[i] = v;
        else
            ((uint16_t *)y->data)[i] = oq_float_to_half(v);
    }
    return ONNXQ_OK;
}

/* y, y_scale, y_zero_point = uint8 quantization of x with parameters from
 * its range (dynamic_qparams). */
static onnxq_status k_dynamic_quantize_linear(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "input x is required");
    if (x->dtype != T_FLOAT)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "x must be float, got %s",
                        onnxq_dtype_name(x->dtype));
    size_t n = oq_numel(x);
    float scale;
    int32_t zp;
    dynamic_qparams(x->data, n, &scale, &zp);
    oq_tensor *y = oq_output(ctx, 0, T_UINT8, x->rank, x->dims);
    oq_tensor *ys = oq_output(ctx, 1, T_FLOAT, 0, NULL);
    oq_tensor *yz = oq_output(ctx, 2, T_UINT8, 0, NULL);
    if (!y || !ys || !yz)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    const float *xd = x->data;
    uint8_t *yd = y->data;
    for (size_t i = 0; i < n; i++)
        yd[i] = (uint8_t)quantize1(xd[i], scale, zp, 0, 255);
    *(float *)ys->data = scale;
    *(uint8_t *)yz->data = (uint8_t)zp;
    return ONNXQ_OK;
}

/* ======================================================================== */
/* integer matrix products                                                   */
/* ======================================================================== */

/* numpy matmul shapes: a [..., M, K] (or [K]), b [..., K, N] (or [K]); the
 * batch dimensions broadcast.  Batch i multiplies matrix a_mat[i] of a by
 * matrix b_mat[i] of b. */
typedef struct mm_shape {
    size_t M, K, N, batch;
    int rank;                      /* of the output */
    int64_t dims[OQ_MAX_RANK];
    size_t *a_mat, *b_mat;         /* [batch] */
} mm_shape;

static void mm_free(mm_shape *s)
{
    free(s->a_mat);
    free(s->b_mat);
}

static onnxq_status mm_shape_of(oq_kctx *ctx, const oq_tensor *a,
                                const oq_tensor *b, mm_shape *s)
{
    memset(s, 0, sizeof *s);
    if (a->rank < 1 || b->rank < 1)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "MatMul inputs must have rank >= 1 (got %d and %d)",
                        a->rank, b->rank);
    int64_t ad[OQ_MAX_RANK + 1], bd[OQ_MAX_RANK + 1];
    int ar = a->rank, br = b->rank;
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
    if (ar == 1) {               /* [K] -> [1, K] */
        ad[1] = ad[0];
        ad[0] = 1;
        ar = 2;
    }
    if (br == 1) {               /* [K] -> [K, 1] */
        bd[1] = 1;
        br = 2;
    }
    s->M = (size_t)ad[ar - 2];
    s->K = (size_t)ad[ar - 1];
    s->N = (size_t)bd[br - 1];
    if ((size_t)bd[br - 2] != s->K)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "MatMul inner dimensions differ: A has K=%zu, B has "
                        "%lld", s->K, (long long)bd[br - 2]);
    int abr = ar - 2, bbr = br - 2, r = abr > bbr ? abr : bbr;
    if (r + 2 > OQ_MAX_RANK)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "rank above %d", OQ_MAX_RANK);
    int64_t batch[OQ_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        int64_t x = d - (r - abr) >= 0 ? ad[d - (r - abr)] : 1;
        int64_t y = d - (r - bbr) >= 0 ? bd[d - (r - bbr)] : 1;
        if (x != y && x != 1 && y != 1)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "MatMul batch dimensions %lld and %lld do not "
                            "broadcast", (long long)x, (long long)y);
        batch[d] = x == 1 ? y : x;
    }
    s->batch = oq_numel_dims(batch, r);
    s->rank = 0;
    for (int d = 0; d < r; d++)
        s->dims[s->rank++] = batch[d];
    if (a->rank > 1)
        s->dims[s->rank++] = (int64_t)s->M;
    if (b->rank > 1)
        s->dims[s->rank++] = (int64_t)s->N;
    size_t nb = s->batch ? s->batch : 1;
    s->a_mat = calloc(nb, sizeof *s->a_mat);
    s->b_mat = calloc(nb, sizeof *s->b_mat);
    if (!s->a_mat || !s->b_mat) {
        mm_free(s);
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < s->batch; i++) {
        size_t rem = i, ai = 0, bi = 0, astr = 1, bstr = 1;
        for (int d = r - 1; d >= 0; d--) {
            size_t c = rem % (size_t)batch[d];
            rem /= (size_t)batch[d];
            int da = d - (r - abr), db = d - (r - bbr);
            if (da >= 0) {
                ai += (ad[da] == 1 ? 0 : c) * astr;
                astr *= (size_t)ad[da];
            }
            if (db >= 0) {
                bi += (bd[db] == 1 ? 0 : c) * bstr;
                bstr *= (size_t)bd[db];
            }
        }
        s->a_mat[i] = ai;
        s->b_mat[i] = bi;
    }
    return ONNXQ_OK;
}

/* Where a quantization parameter of A or B varies:
 *   QP_TENSOR one value; QP_VEC one per row of A / column of B (1-D);
 *   QP_MAT one per row/column of each matrix (A: [..., M, 1], B: [..., 1, N],
 *   batch dimensions equal to the input's, as ORT accepts for B). */
enum { QP_TENSOR, QP_VEC, QP_MAT };

static onnxq_status mm_param_kind(oq_kctx *ctx, const oq_tensor *p,
                                  const oq_tensor *m, const mm_shape *s,
                                  int is_b, const char *what, int *kind)
{
    *kind = QP_TENSOR;
    if (!p || oq_numel(p) == 1)
        return ONNXQ_OK;
    size_t len = is_b ? s->N : s->M;
    if (p->rank == 1 && (size_t)p->dims[0] == len) {
        *kind = QP_VEC;
        return ONNXQ_OK;
    }
    if (p->rank == m->rank && m->rank >= 2) {
        int ok = 1;
        for (int d = 0; d < m->rank; d++) {
            int64_t want = m->dims[d];
            if (d == m->rank - (is_b ? 2 : 1))
                want = 1;
            ok &= p->dims[d] == want;
        }
        if (ok) {
            *kind = QP_MAT;
            return ONNXQ_OK;
        }
    }
    return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                    "%s must be per-tensor, 1-D of size %zu (per %s) or the "
                    "shape of %s with a 1 for its %s (K) dimension; it has %zu "
                    "values", what, len, is_b ? "column" : "row",
                    is_b ? "B" : "A", is_b ? "second-to-last" : "last",
                    oq_numel(p));
}

static inline size_t mm_param_index(int kind, size_t mat, size_t len, size_t j)
{
    return kind == QP_TENSOR ? 0 : kind == QP_VEC ? j : mat * len + j;
}

/* a32 = a - a_zero_point over all of A (zero point per a_kind), and the same
 * for B; the caller frees both. */
static onnxq_status mm_offsets(oq_kctx *ctx, const oq_tensor *a,
                               const oq_tensor *azp, int akind,
                               const oq_tensor *b, const oq_tensor *bzp,
                               int bkind, const mm_shape *s, int32_t **a32,
                               int32_t **b32)
{
    size_t na = oq_numel(a), nb = oq_numel(b);
    *a32 = malloc((na ? na : 1) * sizeof **a32);
    *b32 = malloc((nb ? nb : 1) * sizeof **b32);
    if (!*a32 || !*b32) {
        free(*a32);
        free(*b32);
        *a32 = *b32 = NULL;
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < na; i++) {
        size_t row = s->K ? (i / s->K) % s->M : 0, mat = s->K ? i / (s->K * s->M) : 0;
        int32_t z = azp ? q_get(azp, mm_param_index(akind, mat, s->M, row)) : 0;
        (*a32)[i] = q_get(a, i) - z;
    }
    for (size_t i = 0; i < nb; i++) {
        size_t col = i % s->N, mat = i / (s->K * s->N);
        int32_t z = bzp ? q_get(bzp, mm_param_index(bkind, mat, s->N, col)) : 0;
        (*b32)[i] = q_get(b, i) - z;
    }
    return ONNXQ_OK;
}

/* Row m of c[M][N] = a[M][K] x b[K][N] in integers.  The sum is exact in
 * int64 (row: N scratch values) and then wraps to int32 like ORT's int32
 * accumulators. */
static void imatmul_row(const int32_t *a, const int32_t *b, int32_t *c,
                        size_t m, size_t K, size_t N, int64_t *row)
{
    memset(row, 0, N * sizeof *row);
    for (size_t k = 0; k < K; k++) {
        int64_t av = a[m * K + k];
        if (!av)
            continue;
        const int32_t *br = b + k * N;
        for (size_t n = 0; n < N; n++)
            row[n] += av * br[n];
    }
    for (size_t n = 0; n < N; n++)
        c[m * N + n] = (int32_t)(uint32_t)(uint64_t)row[n];
}

/* The int32 products of every batch into acc [batch][M][N] (caller frees). */
static onnxq_status mm_accumulate(oq_kctx *ctx, const int32_t *a32,
                                  const int32_t *b32, const mm_shape *s,
                                  int32_t **acc)
{
    size_t total = s->batch * s->M * s->N;
    *acc = malloc((total ? total : 1) * sizeof **acc);
    int nt = oq_threads(ctx);
    size_t rows = s->batch * s->M, N1 = s->N ? s->N : 1;
    int64_t *scratch = malloc((size_t)nt * N1 * sizeof *scratch);
    if (!*acc || !scratch) {
        free(*acc);
        free(scratch);
        *acc = NULL;
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    int32_t *c = *acc;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        size_t i = r / s->M, m = r % s->M;
        imatmul_row(a32 + s->a_mat[i] * s->M * s->K, b32 + s->b_mat[i] * s->K * s->N,
                    c + i * s->M * s->N, m, s->K, s->N,
                    scratch + (size_t)oq_thread_id() * N1);
    }
    free(scratch);
    return ONNXQ_OK;
}

/* Shapes, parameter layouts and integer products shared by the MatMul family:
 * acc = (a - a_zp) x (b - b_zp) per batch. */
typedef struct mm_job {
    mm_shape s;
    int akind, bkind;
    int32_t *acc;
} mm_job;

static onnxq_status mm_run(oq_kctx *ctx, const oq_tensor *a,
                           const oq_tensor *azp, const oq_tensor *b,
                           const oq_tensor *bzp, mm_job *j)
{
    memset(j, 0, sizeof *j);
    onnxq_status st = mm_shape_of(ctx, a, b, &j->s);
    if (st != ONNXQ_OK)
        return st;
    int32_t *a32 = NULL, *b32 = NULL;
    if ((st = mm_param_kind(ctx, azp, a, &j->s, 0, "a_zero_point", &j->akind)) != ONNXQ_OK ||
        (st = mm_param_kind(ctx, bzp, b, &j->s, 1, "b_zero_point", &j->bkind)) != ONNXQ_OK ||
        (st = mm_offsets(ctx, a, azp, j->akind, b, bzp, j->bkind, &j->s, &a32, &b32)) != ONNXQ_OK ||
        (st = mm_accumulate(ctx, a32, b32, &j->s, &j->acc)) != ONNXQ_OK) {
        free(a32);
        free(b32);
        mm_free(&j->s);
        return st;
    }
    free(a32);
    free(b32);
    return ONNXQ_OK;
}

static void mm_done(mm_job *j)
{
    mm_free(&j->s);
    free(j->acc);
}

static onnxq_status check_zp_type(oq_kctx *ctx, const oq_tensor *zp,
                                  const oq_tensor *x, const char *what)
{
    if (zp && zp->dtype != x->dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s is %s but its data is %s", what,
                        onnxq_dtype_name(zp->dtype), onnxq_dtype_name(x->dtype));
    return ONNXQ_OK;
}

/* Y (int32) = (A - a_zero_point) x (B - b_zero_point) */
static onnxq_status k_matmul_integer(oq_kctx *ctx)
{
    static const char *const names[] = {"A", "B"};
    onnxq_status st = need_inputs(ctx, names, 2);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    const oq_tensor *azp = oq_in(ctx, 2), *bzp = oq_in(ctx, 3);
    if ((st = need_q8(ctx, a, "A")) != ONNXQ_OK || (st = need_q8(ctx, b, "B")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, azp, a, "a_zero_point")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, bzp, b, "b_zero_point")) != ONNXQ_OK)
        return st;
    mm_job j;
    if ((st = mm_run(ctx, a, azp, b, bzp, &j)) != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, T_INT32, j.s.rank, j.s.dims);
    if (y)
        memcpy(y->data, j.acc, oq_numel(y) * sizeof(int32_t));
    mm_done(&j);
    return y ? ONNXQ_OK : ONNXQ_ERR_OUT_OF_MEMORY;
}

/* Per-column float parameter of B (scale): value for batch i, column n. */
static inline float mm_scale_at(const oq_tensor *p, int kind, const mm_shape *s,
                                size_t i, size_t n)
{
    return f_get(p, mm_param_index(kind, s->b_mat[i], s->N, n));
}

/* y = saturate(RNE(acc * (a_scale * b_scale[n] / y_scale)) + y_zero_point) */
static onnxq_status k_qlinear_matmul(oq_kctx *ctx)
{
    static const char *const names[] = {"a", "a_scale", NULL, "b", "b_scale",
                                        NULL, "y_scale", NULL};
    onnxq_status st = need_inputs(ctx, names, 8);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 3);
    const oq_tensor *azp = oq_in(ctx, 2), *bs = oq_in(ctx, 4), *bzp = oq_in(ctx, 5);
    const oq_tensor *yzp = oq_in(ctx, 7);
    if ((st = need_q8(ctx, a, "a")) != ONNXQ_OK || (st = need_q8(ctx, b, "b")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, bzp, b, "b_zero_point")) != ONNXQ_OK)
        return st;
    if (yzp && !is_q8(yzp->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "y_zero_point must be "
                        "int8 or uint8, got %s", onnxq_dtype_name(yzp->dtype));
    int32_t ydt = yzp ? yzp->dtype : a->dtype, lo, hi, yz;
    float as, ys;
    q_limits(ydt, &lo, &hi);
    if ((st = get_scale(ctx, 1, "a_scale", &as)) != ONNXQ_OK ||
        (st = get_scale(ctx, 6, "y_scale", &ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 7, ydt, "y_zero_point", &yz)) != ONNXQ_OK)
        return st;
    if (!is_float_dt(bs->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "b_scale must be float");
    if (azp && oq_numel(azp) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "a_zero_point must be per-tensor");
    if ((st = check_zp_type(ctx, azp, a, "a_zero_point")) != ONNXQ_OK)
        return st;
    mm_job j;
    if ((st = mm_run(ctx, a, azp, b, bzp, &j)) != ONNXQ_OK)
        return st;
    int skind;
    if ((st = mm_param_kind(ctx, bs, b, &j.s, 1, "b_scale", &skind)) != ONNXQ_OK) {
        mm_done(&j);
        return st;
    }
    oq_tensor *y = oq_output(ctx, 0, ydt, j.s.rank, j.s.dims);
    if (!y) {
        mm_done(&j);
        return ONNXQ_ERR_OUT_OF_MEMORY;
    }
    size_t MN = j.s.M * j.s.N;
    for (size_t i = 0; i < j.s.batch; i++)
        for (size_t e = 0; e < MN; e++) {
            size_t n = e % j.s.N;
            float scale = as * mm_scale_at(bs, skind, &j.s, i, n) / ys;
            q_put(y, i * MN + e, requant1(j.acc[i * MN + e], scale, yz, lo, hi));
        }
    mm_done(&j);
    return ONNXQ_OK;
}

/* Float output of the MatMul family (MLAS's scale-bias output processor):
 *   y = float(acc) * (a_scale * b_scale[n]) + bias[n]    (two roundings) */
static onnxq_status mm_float_output(oq_kctx *ctx, mm_job *j, float a_scale,
                                    const oq_tensor *bs, const oq_tensor *bias)
{
    onnxq_status st;
    int skind;
    if (!is_float_dt(bs->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "b_scale must be float");
    if ((st = mm_param_kind(ctx, bs, oq_in(ctx, 1), &j->s, 1, "b_scale", &skind)) != ONNXQ_OK)
        return st;
    if (bias && (bias->dtype != T_FLOAT || oq_numel(bias) != j->s.N))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "bias must be float of %zu values (N), got %s of %zu",
                        j->s.N, onnxq_dtype_name(bias->dtype), oq_numel(bias));
    oq_tensor *y = oq_output(ctx, 0, T_FLOAT, j->s.rank, j->s.dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    float *yd = y->data;
    const float *bd = bias ? bias->data : NULL;
    size_t MN = j->s.M * j->s.N;
    for (size_t i = 0; i < j->s.batch; i++)
        for (size_t e = 0; e < MN; e++) {
            size_t n = e % j->s.N;
            float mult = a_scale * mm_scale_at(bs, skind, &j->s, i, n);
            float v = (float)j->acc[i * MN + e] * mult;
            yd[i * MN + e] = bd ? v + bd[n] : v;
        }
    return ONNXQ_OK;
}

/* com.microsoft MatMulIntegerToFloat: A, B, a_scale, b_scale, a_zero_point?,
 * b_zero_point?, bias? -> float */
static onnxq_status k_matmul_integer_to_float(oq_kctx *ctx)
{
    static const char *const names[] = {"A", "B", "a_scale", "b_scale"};
    onnxq_status st = need_inputs(ctx, names, 4);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    const oq_tensor *azp = oq_in(ctx, 4), *bzp = oq_in(ctx, 5);
    float as;
    if ((st = need_q8(ctx, a, "A")) != ONNXQ_OK || (st = need_q8(ctx, b, "B")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, azp, a, "a_zero_point")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, bzp, b, "b_zero_point")) != ONNXQ_OK ||
        (st = get_scale(ctx, 2, "a_scale", &as)) != ONNXQ_OK)
        return st;
    if (azp && oq_numel(azp) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "a_zero_point must be per-tensor");
    mm_job j;
    if ((st = mm_run(ctx, a, azp, b, bzp, &j)) != ONNXQ_OK)
        return st;
    st = mm_float_output(ctx, &j, as, oq_in(ctx, 3), oq_in(ctx, 6));
    mm_done(&j);
    return st;
}

/* com.microsoft DynamicQuantizeMatMul: A (float) is quantized to uint8 with
 * DynamicQuantizeLinear's parameters, then as MatMulIntegerToFloat. */
static onnxq_status k_dynamic_quantize_matmul(oq_kctx *ctx)
{
    static const char *const names[] = {"A", "B", "b_scale"};
    onnxq_status st = need_inputs(ctx, names, 3);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1), *bzp = oq_in(ctx, 3);
    if (a->dtype != T_FLOAT)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "A must be float, got %s",
                        onnxq_dtype_name(a->dtype));
    if ((st = need_q8(ctx, b, "B")) != ONNXQ_OK ||
        (st = check_zp_type(ctx, bzp, b, "b_zero_point")) != ONNXQ_OK)
        return st;
    size_t n = oq_numel(a);
    oq_tensor aq = *a, azp = {T_UINT8, 0, {0}, NULL};
    uint8_t zp8;
    aq.dtype = T_UINT8;
    aq.data = malloc(n ? n : 1);
    if (!aq.data)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    float as;
    int32_t zp;
    dynamic_qparams(a->data, n, &as, &zp);
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)aq.data)[i] = (uint8_t)quantize1(((const float *)a->data)[i],
                                                     as, zp, 0, 255);
    zp8 = (uint8_t)zp;
    azp.data = &zp8;
    mm_job j;
    st = mm_run(ctx, &aq, &azp, b, bzp, &j);
    free(aq.data);
    if (st != ONNXQ_OK)
        return st;
    st = mm_float_output(ctx, &j, as, oq_in(ctx, 2), oq_in(ctx, 4));
    mm_done(&j);
    return st;
}

/* com.microsoft QGemm: A (transA), a_scale, a_zero_point, B (transB),
 * b_scale, b_zero_point, C?, y_scale?, y_zero_point?
 *   acc = C + (A' - a_zp)(B' - b_zp)          (int32, C broadcast to [M, N])
 *   scale[n] = alpha * a_scale * b_scale[n] (/ y_scale if given)
 *   y = requant(acc, scale, y_zp) with y_zero_point, else float(acc) * scale */
static onnxq_status k_qgemm(oq_kctx *ctx)
{
    static const char *const names[] = {"A", "a_scale", NULL, "B", "b_scale"};
    onnxq_status st = need_inputs(ctx, names, 5);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 3), *c = oq_in(ctx, 6);
    const oq_tensor *bs = oq_in(ctx, 4), *bzp = oq_in(ctx, 5), *ysc = oq_in(ctx, 7);
    const oq_tensor *yzp = oq_in(ctx, 8);
    int64_t ta = oq_attr_int(ctx, "transA", 0), tb = oq_attr_int(ctx, "transB", 0);
    float alpha = oq_attr_float(ctx, "alpha", 1.0f), as, ys = 1.0f;
    int32_t azp;
    if ((st = need_q8(ctx, a, "A")) != ONNXQ_OK || (st = need_q8(ctx, b, "B")) != ONNXQ_OK ||
        (st = get_scale(ctx, 1, "a_scale", &as)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, a->dtype, "a_zero_point", &azp)) != ONNXQ_OK ||
        (st = check_zp_type(ctx, bzp, b, "b_zero_point")) != ONNXQ_OK)
        return st;
    if (ysc && (st = get_scale(ctx, 7, "y_scale", &ys)) != ONNXQ_OK)
        return st;
    if (a->rank != 2 || b->rank != 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A and B must be 2-D (got rank %d and %d)", a->rank, b->rank);
    size_t M = (size_t)a->dims[ta ? 1 : 0], K = (size_t)a->dims[ta ? 0 : 1];
    size_t N = (size_t)b->dims[tb ? 0 : 1];
    if ((size_t)b->dims[tb ? 1 : 0] != K)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A has K=%zu but B has %lld", K,
                        (long long)b->dims[tb ? 1 : 0]);
    size_t nbs = oq_numel(bs);
    if (!is_float_dt(bs->dtype) || (nbs != 1 && (bs->rank != 1 || nbs != N)) ||
        (bzp && oq_numel(bzp) != 1 && (bzp->rank != 1 || oq_numel(bzp) != N)))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "b_scale and b_zero_point must be per-tensor or 1-D of "
                        "size N=%zu", N);
    if (c && (c->dtype != T_INT32 || c->rank > 2 ||
              (c->rank >= 1 && c->dims[c->rank - 1] != 1 && (size_t)c->dims[c->rank - 1] != N) ||
              (c->rank == 2 && c->dims[0] != 1 && (size_t)c->dims[0] != M)))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "C must be int32 and broadcast to [%zu, %zu]", M, N);
    int32_t ydt = T_FLOAT, yz = 0, lo = 0, hi = 0;
    if (yzp) {
        ydt = yzp->dtype;
        if (!is_q8(ydt))
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "y_zero_point must be int8 or uint8, got %s",
                            onnxq_dtype_name(ydt));
        q_limits(ydt, &lo, &hi);
        if ((st = get_zp(ctx, 8, ydt, "y_zero_point", &yz)) != ONNXQ_OK)
            return st;
    }
    int32_t *a32 = malloc((M * K + 1) * sizeof *a32);
    int32_t *b32 = malloc((K * N + 1) * sizeof *b32);
    int32_t *acc = malloc((M * N + 1) * sizeof *acc);
    int64_t *row = malloc((N ? N : 1) * sizeof *row);
    oq_tensor *y = NULL;
    if (!a32 || !b32 || !acc || !row) {
        st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t m = 0; m < M; m++)
        for (size_t k = 0; k < K; k++)
            a32[m * K + k] = q_get(a, ta ? k * M + m : m * K + k) - azp;
    for (size_t k = 0; k < K; k++)
        for (size_t n = 0; n < N; n++)
            b32[k * N + n] = q_get(b, tb ? n * K + k : k * N + n) -
                             (bzp ? q_get(bzp, oq_numel(bzp) == 1 ? 0 : n) : 0);
    for (size_t m = 0; m < M; m++)
        imatmul_row(a32, b32, acc, m, K, N, row);
    if (c) {
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) {
                size_t ci = 0;
                if (c->rank >= 1 && c->dims[c->rank - 1] != 1)
                    ci += n;
                if (c->rank == 2 && c->dims[0] != 1)
                    ci += m * (size_t)c->dims[1];
                acc[m * N + n] = (int32_t)((uint32_t)acc[m * N + n] +
                                           (uint32_t)((const int32_t *)c->data)[ci]);
            }
    }
    int64_t yd[2] = {(int64_t)M, (int64_t)N};
    if (!(y = oq_output(ctx, 0, ydt, 2, yd))) {
        st = ONNXQ_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            float scale = alpha * as * f_get(bs, nbs == 1 ? 0 : n);
            if (ysc)
                scale /= ys;
            if (yzp)
                q_put(y, m * N + n, requant1(acc[m * N + n], scale, yz, lo, hi));
            else
                ((float *)y->data)[m * N + n] = (float)acc[m * N + n] * scale;
        }
done:
    free(a32);
    free(b32);
    free(acc);
    free(row);
    return st;
}

/* ======================================================================== */
/* integer convolutions                                                      */
/* ======================================================================== */

/* Geometry of an N-D convolution (NCHW, or channels-last NHWC). */
typedef struct conv_geom {
    int ns;                               /* spatial rank */
    int64_t N, C, M, G;                   /* batch, channels in/out, groups */
    int64_t in[OQ_MAX_RANK], out[OQ_MAX_RANK], k[OQ_MAX_RANK];
    int64_t stride[OQ_MAX_RANK], dil[OQ_MAX_RANK], pad[OQ_MAX_RANK];
    size_t in_size, out_size, k_size;
} conv_geom;

static onnxq_status conv_geometry(oq_kctx *ctx, const oq_tensor *x,
                                  const oq_tensor *w, int channels_last,
                                  conv_geom *g)
{
    memset(g, 0, sizeof *g);
    if (x->rank < 3 || w->rank != x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "x (rank %d) and w (rank %d) must have the same rank "
                        ">= 3", x->rank, w->rank);
    g->ns = x->rank - 2;
    g->N = x->dims[0];
    g->C = channels_last ? x->dims[x->rank - 1] : x->dims[1];
    g->M = w->dims[0];
    g->G = oq_attr_int(ctx, "group", 1);
    if (g->G < 1 || g->M % g->G != 0 || g->C != w->dims[1] * g->G)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "x has %lld channels, w is [%lld, %lld, ...] with "
                        "group %lld: channels do not match",
                        (long long)g->C, (long long)w->dims[0],
                        (long long)w->dims[1], (long long)g->G);
    const int64_t *ks = NULL, *st = NULL, *dl = NULL, *pd = NULL;
    long nks = oq_attr_ints(ctx, "kernel_shape", &ks);
    long nst = oq_attr_ints(ctx, "strides", &st);
    long ndl = oq_attr_ints(ctx, "dilations", &dl);
    long npd = oq_attr_ints(ctx, "pads", &pd);
    if ((nks >= 0 && nks != g->ns) || (nst >= 0 && nst != g->ns) ||
        (ndl >= 0 && ndl != g->ns) || (npd >= 0 && npd != 2 * g->ns))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "kernel_shape/strides/dilations/pads do not match "
                        "%d spatial dimensions", g->ns);
    char ap[32];
    oq_attr_string(ctx, "auto_pad", "NOTSET", ap, sizeof ap);
    g->in_size = g->out_size = g->k_size = 1;
    for (int d = 0; d < g->ns; d++) {
        g->in[d] = x->dims[(channels_last ? 1 : 2) + d];
        g->k[d] = w->dims[2 + d];
        if (nks >= 0 && ks[d] != g->k[d])
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "kernel_shape[%d] = %lld but w has %lld", d,
                            (long long)ks[d], (long long)g->k[d]);
        g->stride[d] = nst >= 0 ? st[d] : 1;
        g->dil[d] = ndl >= 0 ? dl[d] : 1;
        if (g->stride[d] < 1 || g->dil[d] < 1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "strides and dilations must be >= 1");
        int64_t ext = (g->k[d] - 1) * g->dil[d] + 1, pb, pe;
        if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            g->out[d] = (g->in[d] + g->stride[d] - 1) / g->stride[d];
            int64_t total = (g->out[d] - 1) * g->stride[d] + ext - g->in[d];
            total = total > 0 ? total : 0;
            pb = ap[5] == 'U' ? total / 2 : total - total / 2;
            pe = total - pb;
        } else if (strcmp(ap, "VALID") == 0) {
            pb = pe = 0;
        } else {
            pb = npd >= 0 ? pd[d] : 0;
            pe = npd >= 0 ? pd[g->ns + d] : 0;
        }
        if (pb < 0 || pe < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "negative pads");
        g->pad[d] = pb;
        int64_t span = g->in[d] + pb + pe - ext;
        g->out[d] = span < 0 ? 0 : span / g->stride[d] + 1;
        g->in_size *= (size_t)g->in[d];
        g->out_size *= (size_t)g->out[d];
        g->k_size *= (size_t)g->k[d];
    }
    return ONNXQ_OK;
}

/* For every output position and kernel position, the input position it
 * reads (flat spatial index), or -1 where it falls in the padding. */
static int64_t *conv_index(const conv_geom *g)
{
    size_t n = g->out_size * g->k_size;
    int64_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t o = 0; o < g->out_size; o++) {
        int64_t oc[OQ_MAX_RANK];
        size_t r = o;
        for (int d = g->ns - 1; d >= 0; d--) {
            oc[d] = (int64_t)(r % (size_t)g->out[d]);
            r /= (size_t)g->out[d];
        }
        for (size_t kp = 0; kp < g->k_size; kp++) {
            int64_t kc[OQ_MAX_RANK], flat = 0;
            size_t rk = kp;
            for (int d = g->ns - 1; d >= 0; d--) {
                kc[d] = (int64_t)(rk % (size_t)g->k[d]);
                rk /= (size_t)g->k[d];
            }
            for (int d = 0; d < g->ns && flat >= 0; d++) {
                int64_t p = oc[d] * g->stride[d] - g->pad[d] + kc[d] * g->dil[d];
                flat = p < 0 || p >= g->in[d] ? -1 : flat * g->in[d] + p;
            }
            idx[o * g->k_size + kp] = flat;
        }
    }
    return idx;
}

/* acc[n][m][o] (NCHW order, int32) = sum over the group's channels and the
 * kernel of (x - x_zp) * (w - w_zp[m]); padding reads x_zp and adds 0. */
static onnxq_status conv_accumulate(oq_kctx *ctx, const conv_geom *g,
                                    const oq_tensor *x, int32_t xzp,
                                    int channels_last, const oq_tensor *w,
                                    const oq_tensor *wzp, int32_t **acc_out)
{
    size_t nx = (size_t)g->N * (size_t)g->C * g->in_size;
    size_t nw = oq_numel(w), nacc = (size_t)g->N * (size_t)g->M * g->out_size;
    int32_t *x32 = malloc((nx ? nx : 1) * sizeof *x32);
    int32_t *w32 = malloc((nw ? nw : 1) * sizeof *w32);
    int32_t *acc = malloc((nacc ? nacc : 1) * sizeof *acc);
    int64_t *idx = conv_index(g);
    if (!x32 || !w32 || !acc || !idx) {
        free(x32);
        free(w32);
        free(acc);
        free(idx);
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    /* x32 in NCHW order whatever the input layout */
    for (size_t n = 0; n < (size_t)g->N; n++)
        for (size_t c = 0; c < (size_t)g->C; c++)
            for (size_t p = 0; p < g->in_size; p++) {
                size_t src = channels_last ? (n * g->in_size + p) * (size_t)g->C + c
                                           : (n * (size_t)g->C + c) * g->in_size + p;
                x32[(n * (size_t)g->C + c) * g->in_size + p] = q_get(x, src) - xzp;
            }
    size_t wper = nw / (size_t)(g->M ? g->M : 1);
    for (size_t i = 0; i < nw; i++) {
        size_t m = i / (wper ? wper : 1);
        int32_t z = wzp ? q_get(wzp, oq_numel(wzp) == 1 ? 0 : m) : 0;
        w32[i] = q_get(w, i) - z;
    }
    size_t Cg = (size_t)(g->C / g->G), Mg = (size_t)(g->M / g->G);
    size_t NM = (size_t)g->N * (size_t)g->M;
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
    for (size_t nm = 0; nm < NM; nm++) {
        size_t n = nm / (size_t)g->M, m = nm % (size_t)g->M, grp = m / Mg;
        const int32_t *wm = w32 + m * Cg * g->k_size;
        int32_t *am = acc + nm * g->out_size;
        for (size_t o = 0; o < g->out_size; o++) {
            const int64_t *io = idx + o * g->k_size;
            int64_t sum = 0;
            for (size_t c = 0; c < Cg; c++) {
                const int32_t *xc = x32 + (n * (size_t)g->C + grp * Cg + c) * g->in_size;
                const int32_t *wc = wm + c * g->k_size;
                for (size_t kp = 0; kp < g->k_size; kp++)
                    if (io[kp] >= 0)
                        sum += (int64_t)wc[kp] * xc[io[kp]];
            }
            am[o] = (int32_t)(uint32_t)(uint64_t)sum;  /* int32 wraps like ORT */
        }
    }
    free(x32);
    free(w32);
    free(idx);
    *acc_out = acc;
    return ONNXQ_OK;
}

/* Output dims of a conv: [N, M, out...] or channels-last [N, out..., M]. */
static void conv_out_dims(const conv_geom *g, int channels_last, int64_t *dims)
{
    dims[0] = g->N;
    for (int d = 0; d < g->ns; d++)
        dims[(channels_last ? 1 : 2) + d] = g->out[d];
    dims[channels_last ? 1 + g->ns : 1] = g->M;
}

/* Flat output index of (n, m, o) in the output layout. */
static inline size_t conv_out_at(const conv_geom *g, int channels_last,
                                 size_t n, size_t m, size_t o)
{
    return channels_last ? (n * g->out_size + o) * (size_t)g->M + m
                         : (n * (size_t)g->M + m) * g->out_size + o;
}

static onnxq_status check_w_param(oq_kctx *ctx, const oq_tensor *p,
                                  int64_t M, const char *what)
{
    size_t n = oq_numel(p);
    if (n != 1 && !(p->rank == 1 && (int64_t)n == M))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "%s must be per-tensor or 1-D of %lld values (one "
                        "per output channel), it has %zu", what, (long long)M, n);
    return ONNXQ_OK;
}

/* ConvInteger: y (int32) = conv(x - x_zero_point, w - w_zero_point) */
static onnxq_status k_conv_integer(oq_kctx *ctx)
{
    static const char *const names[] = {"x", "w"};
    onnxq_status st = need_inputs(ctx, names, 2);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1), *wzp = oq_in(ctx, 3);
    int32_t xzp;
    conv_geom g;
    if ((st = need_q8(ctx, x, "x")) != ONNXQ_OK || (st = need_q8(ctx, w, "w")) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, x->dtype, "x_zero_point", &xzp)) != ONNXQ_OK ||
        (st = check_zp_type(ctx, wzp, w, "w_zero_point")) != ONNXQ_OK ||
        (st = conv_geometry(ctx, x, w, 0, &g)) != ONNXQ_OK)
        return st;
    if (wzp && (st = check_w_param(ctx, wzp, g.M, "w_zero_point")) != ONNXQ_OK)
        return st;
    int64_t dims[OQ_MAX_RANK];
    conv_out_dims(&g, 0, dims);
    int32_t *acc;
    if ((st = conv_accumulate(ctx, &g, x, xzp, 0, w, wzp, &acc)) != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, T_INT32, x->rank, dims);
    if (y)
        memcpy(y->data, acc, oq_numel(y) * sizeof(int32_t));
    free(acc);
    return y ? ONNXQ_OK : ONNXQ_ERR_OUT_OF_MEMORY;
}

/* QLinearConv: y = requant(conv(x - x_zp, w - w_zp[m]) + B[m],
 *                          (x_scale * w_scale[m]) / y_scale, y_zp)
 * com.microsoft's version adds channels_last (NHWC x and y). */
static onnxq_status k_qlinear_conv(oq_kctx *ctx)
{
    static const char *const names[] = {"x", "x_scale", NULL, "w", "w_scale",
                                        NULL, "y_scale", NULL};
    onnxq_status st = need_inputs(ctx, names, 8);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 3), *ws = oq_in(ctx, 4);
    const oq_tensor *wzp = oq_in(ctx, 5), *yzp = oq_in(ctx, 7), *bias = oq_in(ctx, 8);
    int cl = ctx->node->domain && strcmp(ctx->node->domain, "com.microsoft") == 0 &&
             oq_attr_int(ctx, "channels_last", 0) != 0;
    float xs, ys;
    int32_t xzp, yz, lo, hi;
    conv_geom g;
    if ((st = need_q8(ctx, x, "x")) != ONNXQ_OK || (st = need_q8(ctx, w, "w")) != ONNXQ_OK ||
        (st = get_scale(ctx, 1, "x_scale", &xs)) != ONNXQ_OK ||
        (st = get_scale(ctx, 6, "y_scale", &ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, x->dtype, "x_zero_point", &xzp)) != ONNXQ_OK ||
        (st = check_zp_type(ctx, wzp, w, "w_zero_point")) != ONNXQ_OK)
        return st;
    int32_t ydt = yzp ? yzp->dtype : x->dtype;
    if (!is_q8(ydt))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "y_zero_point must be 8-bit");
    q_limits(ydt, &lo, &hi);
    if ((st = get_zp(ctx, 7, ydt, "y_zero_point", &yz)) != ONNXQ_OK ||
        (st = conv_geometry(ctx, x, w, cl, &g)) != ONNXQ_OK ||
        (st = check_w_param(ctx, ws, g.M, "w_scale")) != ONNXQ_OK ||
        (wzp && (st = check_w_param(ctx, wzp, g.M, "w_zero_point")) != ONNXQ_OK))
        return st;
    if (!is_float_dt(ws->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "w_scale must be float");
    if (bias && (bias->dtype != T_INT32 || oq_numel(bias) != (size_t)g.M))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "B must be int32 with one value per output channel "
                        "(%lld), got %s of %zu", (long long)g.M,
                        onnxq_dtype_name(bias->dtype), oq_numel(bias));
    int64_t dims[OQ_MAX_RANK];
    conv_out_dims(&g, cl, dims);
    int32_t *acc;
    if ((st = conv_accumulate(ctx, &g, x, xzp, cl, w, wzp, &acc)) != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, ydt, x->rank, dims);
    if (!y) {
        free(acc);
        return ONNXQ_ERR_OUT_OF_MEMORY;
    }
    size_t nws = oq_numel(ws);
    for (size_t m = 0; m < (size_t)g.M; m++) {
        float scale = xs * f_get(ws, nws == 1 ? 0 : m) / ys;
        int32_t b = bias ? ((const int32_t *)bias->data)[m] : 0;
        for (size_t n = 0; n < (size_t)g.N; n++) {
            const int32_t *am = acc + (n * (size_t)g.M + m) * g.out_size;
            for (size_t o = 0; o < g.out_size; o++)
                q_put(y, conv_out_at(&g, cl, n, m, o),
                      requant1((int32_t)((uint32_t)am[o] + (uint32_t)b), scale,
                               yz, lo, hi));
        }
    }
    free(acc);
    return ONNXQ_OK;
}

/* ======================================================================== */
/* QLinearAdd, QLinearMul                                                    */
/* ======================================================================== */

/* Shared input checks of the binary ops: A, A_scale, A_zp?, B, B_scale, B_zp?,
 * C_scale, C_zp?; all data of one type. */
typedef struct qbin {
    const oq_tensor *a, *b;
    float sa, sb, sc;
    int32_t za, zb, zc, lo, hi;
    oq_tensor *y;
    int rank;
    int64_t dims[OQ_MAX_RANK];
} qbin;

static onnxq_status qbin_prepare(oq_kctx *ctx, qbin *q)
{
    static const char *const names[] = {"A", "A_scale", NULL, "B", "B_scale",
                                        NULL, "C_scale"};
    onnxq_status st = need_inputs(ctx, names, 7);
    if (st != ONNXQ_OK)
        return st;
    q->a = oq_in(ctx, 0);
    q->b = oq_in(ctx, 3);
    int32_t dt = q->a->dtype;
    if (!is_q8(dt) || q->b->dtype != dt)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "A (%s) and B (%s) must share one type, int8 or uint8",
                        onnxq_dtype_name(dt), onnxq_dtype_name(q->b->dtype));
    q_limits(dt, &q->lo, &q->hi);
    if ((st = get_scale(ctx, 1, "A_scale", &q->sa)) != ONNXQ_OK ||
        (st = get_scale(ctx, 4, "B_scale", &q->sb)) != ONNXQ_OK ||
        (st = get_scale(ctx, 6, "C_scale", &q->sc)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, dt, "A_zero_point", &q->za)) != ONNXQ_OK ||
        (st = get_zp(ctx, 5, dt, "B_zero_point", &q->zb)) != ONNXQ_OK ||
        (st = get_zp(ctx, 7, dt, "C_zero_point", &q->zc)) != ONNXQ_OK)
        return st;
    if (oq_broadcast_shape(q->a, q->b, &q->rank, q->dims) != 0)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A and B shapes do not broadcast");
    q->y = oq_output(ctx, 0, dt, q->rank, q->dims);
    return q->y ? ONNXQ_OK : ONNXQ_ERR_OUT_OF_MEMORY;
}

/* How ORT's broadcast loop hands the inputs to MLAS, which decides the order
 * of QLinearAdd's float operations: a whole-tensor scalar, or a span along
 * the innermost dimension where one input stays constant, calls MLAS with
 * that input as its scalar "B" (input 0 then swaps places with input 1). */
enum { QADD_VEC, QADD_A_SCALAR, QADD_B_SCALAR };

static int qadd_mode(const qbin *q)
{
    if (oq_numel(q->a) == 1)
        return QADD_A_SCALAR;
    if (oq_numel(q->b) == 1)
        return QADD_B_SCALAR;
    for (int d = q->rank - 1; d >= 0; d--) {
        if (q->dims[d] == 1)
            continue;
        int da = d - (q->rank - q->a->rank), db = d - (q->rank - q->b->rank);
        if (da < 0 || q->a->dims[da] == 1)
            return QADD_A_SCALAR;
        if (db < 0 || q->b->dims[db] == 1)
            return QADD_B_SCALAR;
        return QADD_VEC;
    }
    return QADD_VEC;
}

/* MLAS's AVX2 QLinearAdd for 8-bit data, with A the vector input and B the
 * other vector or the scalar:
 *   rA = sA / sC,  rB = sB / sC,  fixed = zC - fma(rA, zA, rB * zB)
 *   c = saturate(RNE(fma(a, rA, fma(b, rB, fixed))))
 * The fixed part and, for a scalar B, the inner multiply-add are scalar C++
 * that the compiler ORT is built with contracts into FMAs (tests/quant has
 * inputs that tell every other grouping apart).  Swapping A and B changes
 * the rounding, hence qadd_mode. */
typedef struct qadd_k {
    float ra, rb, fixed;
} qadd_k;

static qadd_k qadd_consts(float sa, int32_t za, float sb, int32_t zb, float sc,
                          int32_t zc)
{
    qadd_k k;
    k.ra = sa / sc;
    k.rb = sb / sc;
    /* rA * zA + rB * zB: the compiler fuses the first product */
    k.fixed = (float)zc - fmaf(k.ra, (float)za, k.rb * (float)zb);
    return k;
}

static onnxq_status k_qlinear_add(oq_kctx *ctx)
{
    qbin q;
    onnxq_status st = qbin_prepare(ctx, &q);
    if (st != ONNXQ_OK)
        return st;
    size_t n = oq_numel(q.y);
    int mode = qadd_mode(&q);
    /* the swapped call when input 0 is the scalar one */
    qadd_k k = mode == QADD_A_SCALAR
                   ? qadd_consts(q.sb, q.zb, q.sa, q.za, q.sc, q.zc)
                   : qadd_consts(q.sa, q.za, q.sb, q.zb, q.sc, q.zc);
    for (size_t i = 0; i < n; i++) {
        int32_t a = q_get(q.a, oq_broadcast_index(q.a, q.rank, q.dims, i));
        int32_t b = q_get(q.b, oq_broadcast_index(q.b, q.rank, q.dims, i));
        float v, vec = (float)a, sca = (float)b;  /* MLAS's A and B */
        if (mode == QADD_A_SCALAR) {
            vec = (float)b;
            sca = (float)a;
        }
        v = fmaf(vec, k.ra, fmaf(sca, k.rb, k.fixed));
        q_put(q.y, i, round_sat(v, q.lo, q.hi));
    }
    return ONNXQ_OK;
}

/* MLAS's SSE2 QLinearMul:
 *   c = saturate(RNE(float((a - zA) * (b - zB)) * ((sA * sB) / sC) + zC))
 * with the product exact in int32 and zC added in float before rounding. */
static onnxq_status k_qlinear_mul(oq_kctx *ctx)
{
    qbin q;
    onnxq_status st = qbin_prepare(ctx, &q);
    if (st != ONNXQ_OK)
        return st;
    size_t n = oq_numel(q.y);
    float ratio = q.sa * q.sb / q.sc;
    for (size_t i = 0; i < n; i++) {
        int32_t a = q_get(q.a, oq_broadcast_index(q.a, q.rank, q.dims, i));
        int32_t b = q_get(q.b, oq_broadcast_index(q.b, q.rank, q.dims, i));
        float v = (float)((a - q.za) * (b - q.zb)) * ratio + (float)q.zc;
        q_put(q.y, i, round_sat(v, q.lo, q.hi));
    }
    return ONNXQ_OK;
}

/* ======================================================================== */
/* table ops: QLinearSigmoid, QLinearLeakyRelu, QLinearConcat                */
/* ======================================================================== */

/* MLAS's logistic function as its FMA3 kernel computes it: Eigen's rational
 * approximation on x clamped to [-18, 18], fused multiply-adds throughout,
 * result clamped below at 0. */
static float mlas_logistic(float x)
{
    x = x > -18.0f ? x : -18.0f;
    x = x < 18.0f ? x : 18.0f;
    float x2 = x * x;
    float p = fmaf(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
    p = fmaf(x2, p, 6.08574864600143e-05f);
    p = fmaf(x2, p, 8.51377133304701e-03f);
    p = fmaf(x2, p, 2.48287947061529e-01f);
    float q = fmaf(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
    q = fmaf(x2, q, 6.29106785017040e-06f);
    q = fmaf(x2, q, 1.70198817374094e-03f);
    q = fmaf(x2, q, 1.16817656904453e-01f);
    q = fmaf(x2, q, 9.93151921023180e-01f);
    p = x * p;
    float y = p / q + 0.5f;
    return y > 0.0f ? y : 0.0f;
}

float oq_mlas_logistic(float x)
{
    return mlas_logistic(x);
}

/* MLAS's tanh as its FMA3 kernel (MlasComputeTanhF32KernelFma3 in ORT 1.30,
 * read from the shipped binary) computes it: Eigen's rational approximation
 * on x clamped to [-9, 9], fused multiply-adds, no clamp of the result. */
float oq_mlas_tanh(float x)
{
    x = -9.0f > x ? -9.0f : x;   /* vmaxps/vminps keep a NaN x */
    x = 9.0f < x ? 9.0f : x;
    float x2 = x * x;
    float p = fmaf(x2, -2.76076847742355e-16f, 2.00018790482477e-13f);
    p = fmaf(x2, p, -8.60467152213735e-11f);
    p = fmaf(x2, p, 5.12229709037114e-08f);
    p = fmaf(x2, p, 1.48572235717979e-05f);
    p = fmaf(x2, p, 6.37261928875436e-04f);
    p = fmaf(x2, p, 4.89352455891786e-03f);
    float q = fmaf(x2, 1.19825839466702e-06f, 1.18534705686654e-04f);
    q = fmaf(x2, q, 2.26843463243900e-03f);
    q = fmaf(x2, q, 4.89352518554385e-03f);
    return x * p / q;
}

enum { TAB_IDENTITY, TAB_SIGMOID, TAB_LEAKY };

/* ORT's 256-entry table: entry i is the input byte i (as the 8-bit type)
 * dequantized as x_scale * (x - x_zp) in float, mapped by f, and quantized
 * by QuantizeLinear's formula. */
static void build_table(uint8_t *table, int32_t dt, float xs, int32_t xz,
                        float ys, int32_t yz, int fn, float alpha)
{
    int32_t lo, hi;
    q_limits(dt, &lo, &hi);
    for (int i = 0; i < 256; i++) {
        int32_t x = dt == T_INT8 ? (int32_t)(int8_t)(uint8_t)i : i;
        float v = xs * (float)(x - xz);
        if (fn == TAB_SIGMOID)
            v = mlas_logistic(v);
        else if (fn == TAB_LEAKY)
            v = v >= 0.0f ? v : alpha * v;
        table[i] = (uint8_t)quantize1(v, ys, yz, lo, hi);
    }
}

/* X, X_scale, X_zero_point?, Y_scale, Y_zero_point? -> table lookup */
static onnxq_status table_op(oq_kctx *ctx, int fn, float alpha)
{
    static const char *const names[] = {"X", "X_scale", NULL, "Y_scale"};
    onnxq_status st = need_inputs(ctx, names, 4);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0);
    float xs, ys;
    int32_t xz, yz;
    if ((st = need_q8(ctx, x, "X")) != ONNXQ_OK ||
        (st = get_scale(ctx, 1, "X_scale", &xs)) != ONNXQ_OK ||
        (st = get_scale(ctx, 3, "Y_scale", &ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, x->dtype, "X_zero_point", &xz)) != ONNXQ_OK ||
        (st = get_zp(ctx, 4, x->dtype, "Y_zero_point", &yz)) != ONNXQ_OK)
        return st;
    uint8_t table[256];
    build_table(table, x->dtype, xs, xz, ys, yz, fn, alpha);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t n = oq_numel(x);
    const uint8_t *xd = x->data;
    uint8_t *yd = y->data;
    for (size_t i = 0; i < n; i++)
        yd[i] = table[xd[i]];
    return ONNXQ_OK;
}

static onnxq_status k_qlinear_sigmoid(oq_kctx *ctx)
{
    return table_op(ctx, TAB_SIGMOID, 0.0f);
}

static onnxq_status k_qlinear_leaky_relu(oq_kctx *ctx)
{
    return table_op(ctx, TAB_LEAKY, oq_attr_float(ctx, "alpha", 0.01f));
}

/* QLinearConcat: Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per
 * input.  An input with the output's scale and zero point is copied; the
 * others go through the identity table (dequantize, quantize). */
static onnxq_status k_qlinear_concat(oq_kctx *ctx)
{
    if (ctx->n_in < 5 || (ctx->n_in - 2) % 3 != 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "inputs must be Y_scale, Y_zero_point and (X, "
                        "X_scale, X_zero_point) tuples; got %zu inputs",
                        ctx->n_in);
    const oq_tensor *yzp = oq_in(ctx, 1);
    if (!yzp || !oq_in(ctx, 0))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "Y_scale and Y_zero_point are required");
    int32_t dt = yzp->dtype, yz;
    float ys;
    onnxq_status st;
    if (!is_q8(dt))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "Y_zero_point must be 8-bit");
    if ((st = get_scale(ctx, 0, "Y_scale", &ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 1, dt, "Y_zero_point", &yz)) != ONNXQ_OK)
        return st;
    size_t k = (ctx->n_in - 2) / 3;
    const oq_tensor *x0 = oq_in(ctx, 2);
    if (!x0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "input 2 is required");
    int64_t axis = norm_axis(oq_attr_int(ctx, "axis", 0), x0->rank);
    if (axis < 0 || axis >= x0->rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "axis out of range");
    int64_t dims[OQ_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t t = 0; t < k; t++) {
        const oq_tensor *x = oq_in(ctx, 2 + 3 * t);
        if (!x || !oq_in(ctx, 3 + 3 * t) || !oq_in(ctx, 4 + 3 * t))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "tuple %zu is incomplete", t);
        if (x->dtype != dt || x->rank != x0->rank)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "input %zu must be %s of rank %d", t,
                            onnxq_dtype_name(dt), x0->rank);
        for (int d = 0; d < x->rank; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "input %zu differs in dimension %d", t, d);
        dims[axis] += x->dims[axis];
    }
    oq_tensor *y = oq_output(ctx, 0, dt, x0->rank, dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t outer = oq_numel_dims(dims, (int)axis);
    size_t inner = oq_numel_dims(dims + axis + 1, x0->rank - (int)axis - 1);
    size_t ypitch = (size_t)dims[axis] * inner, off = 0;
    for (size_t t = 0; t < k; t++) {
        const oq_tensor *x = oq_in(ctx, 2 + 3 * t);
        float xs;
        int32_t xz;
        if ((st = get_scale(ctx, 3 + 3 * t, "X_scale", &xs)) != ONNXQ_OK ||
            (st = get_zp(ctx, 4 + 3 * t, dt, "X_zero_point", &xz)) != ONNXQ_OK)
            return st;
        uint8_t table[256];
        int copy = xs == ys && xz == yz;
        if (!copy)
            build_table(table, dt, xs, xz, ys, yz, TAB_IDENTITY, 0.0f);
        size_t pitch = (size_t)x->dims[axis] * inner;
        const uint8_t *xd = x->data;
        uint8_t *yd = y->data;
        for (size_t o = 0; o < outer; o++) {
            const uint8_t *src = xd + o * pitch;
            uint8_t *dst = yd + o * ypitch + off;
            for (size_t e = 0; e < pitch; e++)
                dst[e] = copy ? src[e] : table[src[e]];
        }
        off += pitch;
    }
    return ONNXQ_OK;
}

/* ======================================================================== */
/* pooling                                                                   */
/* ======================================================================== */

/* Global average of one channel from its int32 sum (MLAS):
 *   y = requant(sum - x_zp * image_size, x_scale / (y_scale * image_size)) */
static void global_avg(const int32_t *sums, size_t count, size_t image,
                       float xs, int32_t xz, float ys, int32_t yz, int32_t lo,
                       int32_t hi, oq_tensor *y, size_t y0, size_t ystride)
{
    float scale = xs / (ys * (float)(int32_t)image);
    int32_t bias = -xz * (int32_t)image;
    for (size_t c = 0; c < count; c++)
        q_put(y, y0 + c * ystride,
              requant1((int32_t)((uint32_t)sums[c] + (uint32_t)bias), scale, yz,
                       lo, hi));
}

/* Averages over the spatial dimensions of x [N, C, spatial...] (or
 * channels-last [N, spatial..., C]) into y of the same layout. */
static onnxq_status global_pool(oq_kctx *ctx, const oq_tensor *x, int cl,
                                float xs, int32_t xz, float ys, int32_t yz,
                                oq_tensor *y)
{
    int32_t lo, hi;
    q_limits(x->dtype, &lo, &hi);
    size_t N = (size_t)x->dims[0];
    size_t C = (size_t)(cl ? x->dims[x->rank - 1] : x->dims[1]);
    size_t image = oq_numel_dims(x->dims + (cl ? 1 : 2), x->rank - 2);
    int32_t *sums = calloc(C ? C : 1, sizeof *sums);
    if (!sums)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t n = 0; n < N; n++) {
        memset(sums, 0, (C ? C : 1) * sizeof *sums);
        for (size_t c = 0; c < C; c++)
            for (size_t p = 0; p < image; p++)
                sums[c] += q_get(x, cl ? (n * image + p) * C + c : (n * C + c) * image + p);
        global_avg(sums, C, image, xs, xz, ys, yz, lo, hi, y, n * C, 1);
    }
    free(sums);
    return ONNXQ_OK;
}

/* X, x_scale, x_zero_point, y_scale, y_zero_point (zero points default 0) */
static onnxq_status pool_params(oq_kctx *ctx, const oq_tensor **x, float *xs,
                                int32_t *xz, float *ys, int32_t *yz)
{
    static const char *const names[] = {"X", "x_scale", NULL, "y_scale"};
    onnxq_status st = need_inputs(ctx, names, 4);
    if (st != ONNXQ_OK)
        return st;
    *x = oq_in(ctx, 0);
    if ((st = need_q8(ctx, *x, "X")) != ONNXQ_OK ||
        (st = get_scale(ctx, 1, "x_scale", xs)) != ONNXQ_OK ||
        (st = get_scale(ctx, 3, "y_scale", ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, (*x)->dtype, "x_zero_point", xz)) != ONNXQ_OK ||
        (st = get_zp(ctx, 4, (*x)->dtype, "y_zero_point", yz)) != ONNXQ_OK)
        return st;
    if ((*x)->rank < 3)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must have rank >= 3, it has %d", (*x)->rank);
    return ONNXQ_OK;
}

static onnxq_status k_qlinear_global_average_pool(oq_kctx *ctx)
{
    const oq_tensor *x;
    float xs, ys;
    int32_t xz, yz;
    onnxq_status st = pool_params(ctx, &x, &xs, &xz, &ys, &yz);
    if (st != ONNXQ_OK)
        return st;
    int cl = oq_attr_int(ctx, "channels_last", 0) != 0;
    int64_t dims[OQ_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int d = 0; d < x->rank - 2; d++)
        dims[(cl ? 1 : 2) + d] = 1;
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    return global_pool(ctx, x, cl, xs, xz, ys, yz, y);
}

/* QLinearAveragePool, as ORT computes it: x is dequantized to float
 * (x_scale * (x - x_zp)), each window summed in float in row-major order,
 * divided by the count (the kernel size with count_include_pad, else the
 * window clipped to the input), and quantized as RNE(v / y_scale + y_zp).
 * A kernel covering the whole unpadded input is a global average instead
 * (ORT switches to its integer kernel there). */
static onnxq_status k_qlinear_average_pool(oq_kctx *ctx)
{
    const oq_tensor *x;
    float xs, ys;
    int32_t xz, yz, lo, hi;
    onnxq_status st = pool_params(ctx, &x, &xs, &xz, &ys, &yz);
    if (st != ONNXQ_OK)
        return st;
    q_limits(x->dtype, &lo, &hi);
    int cl = oq_attr_int(ctx, "channels_last", 0) != 0;
    int ns = x->rank - 2;
    const int64_t *ks, *sv = NULL, *pv = NULL;
    long nks = oq_attr_ints(ctx, "kernel_shape", &ks);
    long nsv = oq_attr_ints(ctx, "strides", &sv);
    long npv = oq_attr_ints(ctx, "pads", &pv);
    const int64_t *dl = NULL;
    long ndl = oq_attr_ints(ctx, "dilations", &dl);
    if (nks != ns || (nsv >= 0 && nsv != ns) || (npv >= 0 && npv != 2 * ns))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "kernel_shape (required), strides and pads must match "
                        "%d spatial dimensions", ns);
    for (long d = 0; d < ndl; d++)
        if (dl[d] != 1)
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "dilations other than 1 are not supported");
    if (ns > 3)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "pooling over %d dimensions (ORT supports 1 to 3)", ns);
    int64_t ceil_mode = oq_attr_int(ctx, "ceil_mode", 0);
    int64_t include_pad = oq_attr_int(ctx, "count_include_pad", 0);
    char ap[32];
    oq_attr_string(ctx, "auto_pad", "NOTSET", ap, sizeof ap);
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
    int64_t s[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
    int all_zero_pads = 1, kernel_is_input = 1;
    for (int d = 0; d < ns; d++) {
        in[d] = x->dims[(cl ? 1 : 2) + d];
        k[d] = ks[d];
        s[d] = nsv >= 0 ? sv[d] : 1;
        if (k[d] < 1 || s[d] < 1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "kernel_shape and strides must be >= 1");
        int64_t head = npv >= 0 ? pv[d] : 0, tail = npv >= 0 ? pv[ns + d] : 0;
        int64_t need = head + tail;
        if (strcmp(ap, "VALID") == 0) {
            head = tail = need = 0;
        } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t target = (in[d] + s[d] - 1) / s[d];
            need = (target - 1) * s[d] + k[d] - in[d];
            head = ap[5] == 'U' ? need / 2 : (need + 1) / 2;
            tail = need - head;
        }
        /* ORT: out = (int64)((float)(in + pads - k) / stride + 1), ceil
         * when ceil_mode */
        float q = (float)(in[d] + need - (k[d] - 1) - 1) / (float)s[d] + 1.0f;
        out[d] = (int64_t)(ceil_mode ? ceilf(q) : q);
        pb[d] = head;
        all_zero_pads &= head == 0 && tail == 0;
        kernel_is_input &= k[d] == in[d];
    }
    int64_t dims[OQ_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int d = 0; d < ns; d++)
        dims[(cl ? 1 : 2) + d] = out[d];
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    if (kernel_is_input && all_zero_pads)
        return global_pool(ctx, x, cl, xs, xz, ys, yz, y);
    size_t N = (size_t)x->dims[0];
    size_t C = (size_t)(cl ? x->dims[x->rank - 1] : x->dims[1]);
    size_t image = (size_t)(in[0] * in[1] * in[2]);
    size_t oimage = (size_t)(out[0] * out[1] * out[2]);
    float deq[256];
    for (int i = 0; i < 256; i++) {
        int32_t v = x->dtype == T_INT8 ? (int32_t)(int8_t)(uint8_t)i : i;
        deq[i] = xs * (float)(v - xz);
    }
    const uint8_t *xd = x->data;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++)
            for (size_t o = 0; o < oimage; o++) {
                int64_t oc[3] = {0, 0, 0}, st0[3], en[3];
                size_t r = o;
                for (int d = 2; d >= 0; d--) {
                    oc[d] = (int64_t)(r % (size_t)out[d]);
                    r /= (size_t)out[d];
                }
                int64_t count = 1;
                for (int d = 0; d < 3; d++) {
                    st0[d] = oc[d] * s[d] - pb[d];
                    en[d] = st0[d] + k[d] < in[d] ? st0[d] + k[d] : in[d];
                    st0[d] = st0[d] > 0 ? st0[d] : 0;
                }
                if (include_pad)
                    count = k[0] * k[1] * k[2];
                else
                    count = (en[0] - st0[0]) * (en[1] - st0[1]) * (en[2] - st0[2]);
                float acc = 0.0f;
                for (int64_t h = st0[0]; h < en[0]; h++)
                    for (int64_t w = st0[1]; w < en[1]; w++)
                        for (int64_t e = st0[2]; e < en[2]; e++) {
                            size_t p = (size_t)((h * in[1] + w) * in[2] + e);
                            size_t xi = cl ? (n * image + p) * C + c
                                           : (n * C + c) * image + p;
                            acc += deq[xd[xi]];
                        }
                acc /= (float)count;
                size_t yi = cl ? (n * oimage + o) * C + c : (n * C + c) * oimage + o;
                q_put(y, yi, round_sat(acc / ys + (float)yz, lo, hi));
            }
    return ONNXQ_OK;
}

/* ======================================================================== */
/* QLinearSoftmax                                                            */
/* ======================================================================== */

/* ORT's algorithm (contrib QLinearSoftmax), x_zero_point unused since
 * softmax ignores shifts:
 *   table[i] = (float)exp((i - 255 + shift) * x_scale),  i = 0..255, with
 *     shift = max(0, log(FLT_MAX / D) - 5) / x_scale  (keeps sums finite),
 *     indexed by the byte i (uint8) or i - 128 (int8);
 *   per row of D values: the row maximum is aligned with entry 255, the
 *   entries are summed in float in order, and
 *     y = RNE((t * floor(1 / y_scale)) / sum) + y_zp, saturated.
 * D is the axis dimension (opset attribute >= 13) or the product of the
 * dimensions from the axis on (opset < 13, rows are then contiguous). */
static onnxq_status k_qlinear_softmax(oq_kctx *ctx)
{
    static const char *const names[] = {"X", "X_scale", NULL, "y_scale"};
    onnxq_status st = need_inputs(ctx, names, 4);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *x = oq_in(ctx, 0);
    float xs, ys;
    int32_t xz, yz, lo, hi;
    if ((st = need_q8(ctx, x, "X")) != ONNXQ_OK ||
        (st = get_scale(ctx, 1, "X_scale", &xs)) != ONNXQ_OK ||
        (st = get_scale(ctx, 3, "y_scale", &ys)) != ONNXQ_OK ||
        (st = get_zp(ctx, 2, x->dtype, "x_zero_point", &xz)) != ONNXQ_OK ||
        (st = get_zp(ctx, 4, x->dtype, "y_zero_point", &yz)) != ONNXQ_OK)
        return st;
    q_limits(x->dtype, &lo, &hi);
    const Onnx__AttributeProto *opa = oq_attr(ctx, "opset");
    if (!opa)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "the opset attribute is required");
    int64_t opset = oq_attr_int(ctx, "opset", 13);
    int64_t axis = norm_axis(oq_attr_int(ctx, "axis", opset < 13 ? 1 : -1), x->rank);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t total = oq_numel(x);
    if (total == 0)
        return ONNXQ_OK;
    if (axis < 0 || axis >= x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "axis out of range");
    size_t D, inner;
    if (opset < 13) {
        D = oq_numel_dims(x->dims + axis, x->rank - (int)axis);
        inner = 1;
    } else {
        D = (size_t)x->dims[axis];
        inner = oq_numel_dims(x->dims + axis + 1, x->rank - (int)axis - 1);
    }
    int is_signed = x->dtype == T_INT8;
    float table[256];
    double shift = log((double)(FLT_MAX / (float)D));
    shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)xs;
    for (int i = 0; i < 256; i++) {
        double e = exp(((double)i - 255.0 + shift) * (double)xs);
        table[(uint8_t)(is_signed ? i - 128 : i)] = (float)e;
    }
    float yscale = floorf(1.0f / ys);
    const uint8_t *xd = x->data;
    size_t rows = total / D;
    for (size_t r = 0; r < rows; r++) {
        size_t base = (r / inner) * D * inner + r % inner;
        int32_t mx = is_signed ? -128 : 0;
        for (size_t d = 0; d < D; d++) {
            int32_t v = is_signed ? (int8_t)xd[base + d * inner] : xd[base + d * inner];
            mx = v > mx ? v : mx;
        }
        /* the index of each value in the shifted table */
        float sum = 0.0f;
        for (size_t d = 0; d < D; d++) {
            uint8_t b = xd[base + d * inner];
            uint8_t ix = is_signed ? (uint8_t)(127 - mx + (int8_t)b)
                                   : (uint8_t)(255 - mx + b);
            sum += table[ix];
        }
        for (size_t d = 0; d < D; d++) {
            uint8_t b = xd[base + d * inner];
            uint8_t ix = is_signed ? (uint8_t)(127 - mx + (int8_t)b)
                                   : (uint8_t)(255 - mx + b);
            float v = nearbyintf(table[ix] * yscale / sum);
            int32_t q = (int32_t)v + yz;
            q_put(y, base + d * inner, q < lo ? lo : q > hi ? hi : q);
        }
    }
    return ONNXQ_OK;
}

/* ======================================================================== */
/* the table                                                                 */
/* ======================================================================== */

OQ_KERNEL_TABLE(oq_ref_quant_kernels) = {
    {"", "QuantizeLinear", 10, 21, k_quantize_linear},
    {"", "DequantizeLinear", 10, 21, k_dequantize_linear},
    {"", "DynamicQuantizeLinear", 11, 21, k_dynamic_quantize_linear},
    {"", "QLinearMatMul", 10, 21, k_qlinear_matmul},
    {"", "MatMulInteger", 10, 21, k_matmul_integer},
    {"", "QLinearConv", 10, 21, k_qlinear_conv},
    {"", "ConvInteger", 10, 21, k_conv_integer},
    {"com.microsoft", "QuantizeLinear", 1, 1, k_quantize_linear},
    {"com.microsoft", "DequantizeLinear", 1, 1, k_dequantize_linear},
    {"com.microsoft", "QLinearConv", 1, 1, k_qlinear_conv},
    {"com.microsoft", "MatMulIntegerToFloat", 1, 1, k_matmul_integer_to_float},
    {"com.microsoft", "DynamicQuantizeMatMul", 1, 1, k_dynamic_quantize_matmul},
    {"com.microsoft", "QGemm", 1, 1, k_qgemm},
    {"com.microsoft", "QLinearAdd", 1, 1, k_qlinear_add},
    {"com.microsoft", "QLinearMul", 1, 1, k_qlinear_mul},
    {"com.microsoft", "QLinearSigmoid", 1, 1, k_qlinear_sigmoid},
    {"com.microsoft", "QLinearLeakyRelu", 1, 1, k_qlinear_leaky_relu},
    {"com.microsoft", "QLinearConcat", 1, 1, k_qlinear_concat},
    {"com.microsoft", "QLinearGlobalAveragePool", 1, 1, k_qlinear_global_average_pool},
    {"com.microsoft", "QLinearAveragePool", 1, 1, k_qlinear_average_pool},
    {"com.microsoft", "QLinearSoftmax", 1, 1, k_qlinear_softmax},
    {NULL, NULL, 0, 0, NULL},
};
