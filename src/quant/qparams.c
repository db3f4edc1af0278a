/*
 * qparams.c — integer ranges, scale/zero point and weight/bias quantization
 * shared by the dynamic and static quantizers (the rules are listed in
 * include/onnxq/quant.h).
 */
#include "onnxq/quant.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx-ml.pb-c.h"

enum {
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8
};

onnxq_status onnxq_qrange(int32_t dtype, int symmetric, int reduce_range,
                          int32_t *qmin, int32_t *qmax, onnxq_error *err)
{
    if (dtype == T_UINT8) {
        /* the tool's ONNX_INT_TYPE_SYMMETRIC_RANGE gives uint8 [0, 254] so
         * that the zero point (127) is the exact middle */
        *qmin = 0;
        *qmax = reduce_range ? 127 : symmetric ? 254 : 255;
        return ONNXQ_OK;
    }
    if (dtype == T_INT8) {
        if (reduce_range) {
            *qmin = -64;
            *qmax = 64;
        } else {
            *qmin = symmetric ? -127 : -128;
            *qmax = 127;
        }
        return ONNXQ_OK;
    }
    return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                           "quantized type %d is not uint8 or int8", dtype);
}

onnxq_status onnxq_qparams(float rmin, float rmax, int32_t qmin, int32_t qmax,
                           int symmetric, float *scale, int32_t *zero_point,
                           onnxq_error *err)
{
    if (!isfinite(rmin) || !isfinite(rmax))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "range [%g, %g] is not finite", rmin, rmax);
    if (qmin > 0 || qmax < 0 || qmin >= qmax)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "integer range [%d, %d] must contain 0",
                               qmin, qmax);
    rmin = rmin < 0.0f ? rmin : 0.0f;
    rmax = rmax > 0.0f ? rmax : 0.0f;
    if (symmetric) {
        float absmax = fabsf(rmin) > fabsf(rmax) ? fabsf(rmin) : fabsf(rmax);
        rmin = -absmax;
        rmax = absmax;
    }
    /* The width is taken in float (as the tool subtracts two float32
     * values) and divided in double. */
    float width = rmax - rmin;
    double s = (double)width / ((double)qmax - (double)qmin);
    if (s < (double)FLT_MIN) {
        *scale = 1.0f;
        *zero_point = 0;
        return ONNXQ_OK;
    }
    double zp = symmetric ? ((double)qmin + (double)qmax) / 2.0
                          : (double)qmin - (double)rmin / s;
    /* nearbyint: half to even under the default rounding mode */
    zp = nearbyint(zp);
    zp = zp < qmin ? qmin : zp > qmax ? qmax : zp;
    *zero_point = (int32_t)zp;
    *scale = (float)s;
    return ONNXQ_OK;
}

int32_t onnxq_quantize_value(float x, float scale, int32_t zero_point,
                             int32_t qmin, int32_t qmax)
{
    float r = nearbyintf(x / scale) + (float)zero_point;
    if (isnan(r))
        r = (float)zero_point;
    if (r < (float)qmin)
        return qmin;
    if (r > (float)qmax)
        return qmax;
    return (int32_t)r;
}

void onnxq_quantize_values(const float *x, size_t n, float scale,
                           int32_t zero_point, int32_t qmin, int32_t qmax,
                           int32_t dtype, void *out)
{
    if (dtype == T_UINT8) {
        uint8_t *o = out;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint8_t)onnxq_quantize_value(x[i], scale, zero_point,
                                                 qmin, qmax);
    } else {
        int8_t *o = out;
        for (size_t i = 0; i < n; i++)
            o[i] = (int8_t)onnxq_quantize_value(x[i], scale, zero_point,
                                                qmin, qmax);
    }
}

void onnxq_qweight_free(onnxq_qweight *q)
{
    if (!q)
        return;
    free(q->data);
    free(q->scales);
    free(q->zero_points);
    free(q->rmins);
    free(q->rmaxs);
    memset(q, 0, sizeof *q);
}

/* Slices along axis: outer x channels x inner (elements of one channel c
 * are at (o * channels + c) * inner + i). */
static onnxq_status weight_layout(const char *name, const int64_t *dims,
                                  size_t rank, int axis, size_t *numel,
                                  size_t *channels, size_t *outer,
                                  size_t *inner, onnxq_error *err)
{
    if (axis >= (int)rank)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "weight '%s': channel axis %d but rank %zu",
                               name, axis, rank);
    *numel = 1;
    for (size_t d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "weight '%s' has a negative dimension",
                                   name);
        *numel *= (size_t)dims[d];
    }
    *channels = axis >= 0 ? (size_t)dims[axis] : 1;
    *outer = *inner = 1;
    if (axis >= 0) {
        for (int d = 0; d < axis; d++)
            *outer *= (size_t)dims[d];
        for (size_t d = (size_t)axis + 1; d < rank; d++)
            *inner *= (size_t)dims[d];
    } else {
        *inner = *numel;
    }
    return ONNXQ_OK;
}

static onnxq_status qweight_alloc(const char *name, int32_t dtype, int axis,
                                  size_t numel, size_t channels,
                                  onnxq_qweight *out, onnxq_error *err)
{
    out->dtype = dtype;
    out->axis = axis;
    out->numel = numel;
    out->n_params = channels;
    out->data = malloc(numel ? numel : 1);
    out->scales = malloc((channels ? channels : 1) * sizeof(float));
    out->zero_points = malloc((channels ? channels : 1) * sizeof(int32_t));
    out->rmins = malloc((channels ? channels : 1) * sizeof(float));
    out->rmaxs = malloc((channels ? channels : 1) * sizeof(float));
    if (!out->data || !out->scales || !out->zero_points || !out->rmins ||
        !out->rmaxs) {
        onnxq_qweight_free(out);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "weight '%s': out of memory", name);
    }
    return ONNXQ_OK;
}

/* Quantizes channel c of w into out->data with out's scale/zero point c;
 * quantize_nparray clips to the type's full range, not to [qmin, qmax]
 * (values land inside it anyway up to rounding). */
static void quantize_channel(const float *w, size_t c, size_t channels,
                             size_t outer, size_t inner, onnxq_qweight *out)
{
    int32_t tmin = out->dtype == T_UINT8 ? 0 : -128;
    int32_t tmax = out->dtype == T_UINT8 ? 255 : 127;
    for (size_t o = 0; o < outer; o++) {
        size_t at = (o * channels + c) * inner;
        onnxq_quantize_values(w + at, inner, out->scales[c],
                              out->zero_points[c], tmin, tmax, out->dtype,
                              (char *)out->data + at);
    }
}

onnxq_status onnxq_quantize_weight(const char *name, const float *w,
                                   const int64_t *dims, size_t rank, int axis,
                                   int32_t dtype, int symmetric,
                                   int reduce_range, onnxq_qweight *out,
                                   onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    int32_t qmin = 0, qmax = 0;
    onnxq_status st = onnxq_qrange(dtype, symmetric, reduce_range, &qmin,
                                   &qmax, err);
    if (st != ONNXQ_OK)
        return onnxq_error_prefix(err, "weight '%s'", name);
    size_t numel, channels, outer, inner;
    st = weight_layout(name, dims, rank, axis, &numel, &channels, &outer,
                       &inner, err);
    if (st == ONNXQ_OK)
        st = qweight_alloc(name, dtype, axis, numel, channels, out, err);
    if (st != ONNXQ_OK)
        return st;
    for (size_t c = 0; c < channels; c++) {
        float mn = 0.0f, mx = 0.0f;
        int first = 1;
        for (size_t o = 0; o < outer; o++) {
            const float *p = w + (o * channels + c) * inner;
            for (size_t i = 0; i < inner; i++) {
                if (!isfinite(p[i])) {
                    onnxq_qweight_free(out);
                    return onnxq_error_set(
                        err, ONNXQ_ERR_INVALID_MODEL,
                        "weight '%s' holds a non-finite value at index %zu",
                        name, (size_t)(p + i - w));
                }
                if (first || p[i] < mn)
                    mn = p[i];
                if (first || p[i] > mx)
                    mx = p[i];
                first = 0;
            }
        }
        st = onnxq_qparams(mn, mx, qmin, qmax, symmetric, &out->scales[c],
                           &out->zero_points[c], err);
        if (st != ONNXQ_OK) {
            onnxq_qweight_free(out);
            return onnxq_error_prefix(err, "weight '%s'", name);
        }
        out->rmins[c] = mn < 0.0f ? mn : 0.0f;
        out->rmaxs[c] = mx > 0.0f ? mx : 0.0f;
        quantize_channel(w, c, channels, outer, inner, out);
    }
    return ONNXQ_OK;
}

size_t onnxq_fit_bias_scales(const float *b, size_t n, float input_scale,
                             float *weight_scales, size_t n_weight_scales)
{
    /* int32's symmetric range, as the tool takes it: max - (min + 1) */
    const double qrange = 2147483647.0 + 2147483647.0;
    const double eps = 1.0001;
    size_t grown = 0;
    if (n_weight_scales != 1 && n_weight_scales != n)
        return 0;
    for (size_t c = 0; c < n_weight_scales; c++) {
        /* per tensor: the largest |b| (the range includes 0); per channel:
         * that channel's |b| */
        double absmax = 0.0;
        for (size_t i = n_weight_scales == 1 ? 0 : c;
             i < (n_weight_scales == 1 ? n : c + 1); i++) {
            double a = fabs((double)b[i]);
            absmax = a > absmax ? a : absmax;
        }
        double smallest = eps * (2.0 * absmax) / qrange;
        double ws = (double)weight_scales[c];
        double candidate = (double)input_scale * ws;
        if (candidate < smallest && candidate > 0.0) {
            double ratio = smallest / candidate;
            weight_scales[c] = (float)(ws * ratio);
            grown++;
        }
    }
    return grown;
}

onnxq_status onnxq_quantize_weight_scaled(const char *name, const float *w,
                                          const int64_t *dims, size_t rank,
                                          int axis, int32_t dtype,
                                          const float *scales,
                                          onnxq_qweight *out, onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    if (dtype != T_INT8)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "weight '%s': given scales need int8 (zero "
                               "point 0), not type %d", name, dtype);
    size_t numel, channels, outer, inner;
    onnxq_status st = weight_layout(name, dims, rank, axis, &numel, &channels,
                                    &outer, &inner, err);
    if (st == ONNXQ_OK)
        st = qweight_alloc(name, dtype, axis, numel, channels, out, err);
    if (st != ONNXQ_OK)
        return st;
    for (size_t c = 0; c < channels; c++) {
        if (!(scales[c] > 0.0f) || !isfinite(scales[c])) {
            onnxq_qweight_free(out);
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "weight '%s': scale %g of channel %zu is "
                                   "not a positive number", name,
                                   (double)scales[c], c);
        }
        out->scales[c] = scales[c];
        out->zero_points[c] = 0;
        out->rmaxs[c] = scales[c] * 127.0f;
        out->rmins[c] = -out->rmaxs[c];
        for (size_t o = 0; o < outer; o++) {
            const float *p = w + (o * channels + c) * inner;
            for (size_t i = 0; i < inner; i++)
                if (!isfinite(p[i])) {
                    onnxq_qweight_free(out);
                    return onnxq_error_set(
                        err, ONNXQ_ERR_INVALID_MODEL,
                        "weight '%s' holds a non-finite value at index %zu",
                        name, (size_t)(p + i - w));
                }
        }
        quantize_channel(w, c, channels, outer, inner, out);
    }
    return ONNXQ_OK;
}

void onnxq_quantize_bias(const float *b, size_t n, float input_scale,
                         const float *weight_scales, size_t n_weight_scales,
                         int32_t *out, float *bias_scales,
                         size_t *n_zero_scale)
{
    size_t zeros = 0;
    for (size_t c = 0; c < n; c++) {
        /* the product in float (the tool multiplies float32 arrays), the
         * division in double (it divides float64 copies) */
        float s = input_scale * weight_scales[n_weight_scales == 1 ? 0 : c];
        if (bias_scales && (n_weight_scales != 1 || c == 0))
            bias_scales[n_weight_scales == 1 ? 0 : c] = s;
        if (s == 0.0f || !isfinite(s)) {
            out[c] = 0;
            zeros++;
            continue;
        }
        double r = nearbyint((double)b[c] / (double)s);
        if (isnan(r))
            r = 0;
        out[c] = r <= -2147483648.0 ? INT32_MIN
               : r >= 2147483647.0 ? INT32_MAX
                                   : (int32_t)r;
    }
    if (n_zero_scale)
        *n_zero_scale = zeros;
}
