/*
 * onnxq/quant.h — the numbers every onnxq quantizer shares: integer ranges,
 * scale and zero point from a real range, and quantizing weights and biases.
 *
 * These follow ONNX Runtime's quantization tool (quantize_dynamic /
 * quantize_static) so a model onnxq writes carries the same integers that
 * tool would write for the same ranges:
 *   - the real range always contains 0: rmin = min(rmin, 0), rmax = max(rmax, 0)
 *   - symmetric: rmax = max(|rmin|, |rmax|), rmin = -rmax, zero point = middle
 *     of the integer range (0 for int8 [-127, 127], 127 for uint8 [0, 254])
 *   - scale = (rmax - rmin) / (qmax - qmin), divided in double and stored as
 *     float; a scale below FLT_MIN becomes 1 with zero point 0
 *   - zero point = round_half_even(qmin - rmin / scale)
 *   - q = clamp(round_half_even(x / scale) + zero point, qmin, qmax), with
 *     x / scale divided in float
 *   - bias: int32, scale = input scale * weight scale (per channel if the
 *     weight is, product in float), zero point 0, q = round_half_even(
 *     (double)b / (double)scale) clamped to int32
 *   - where that bias would overflow int32, an int8 weight with zero
 *     point 0 gets a larger scale first (onnxq_fit_bias_scales: ONNX
 *     Runtime's _adjust_weight_scale_for_int32_bias, QDQ since 1.20,
 *     QOperator since 1.23)
 *   - weights are clipped to the type's full range ([-128, 127] / [0, 255])
 *     after rounding, as quantize_nparray does
 * Integer ranges:  uint8 [0, 255], symmetric [0, 254], reduce_range [0, 127];
 *                  int8 [-128, 127], symmetric [-127, 127], reduce_range
 *                  [-64, 64] (symmetric or not).
 */
#ifndef ONNXQ_QUANT_H
#define ONNXQ_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The integer range of an 8-bit type (ONNX dtype UINT8 = 2 or INT8 = 3).
 * Fails with ONNXQ_ERR_UNSUPPORTED for any other dtype. */
onnxq_status onnxq_qrange(int32_t dtype, int symmetric, int reduce_range,
                          int32_t *qmin, int32_t *qmax, onnxq_error *err);

/* Scale and zero point for values in [rmin, rmax] (see the top of this file).
 * Non-finite rmin/rmax are an error naming them. */
onnxq_status onnxq_qparams(float rmin, float rmax, int32_t qmin, int32_t qmax,
                           int symmetric, float *scale, int32_t *zero_point,
                           onnxq_error *err);

/* One value: clamp(round_half_even(x / scale) + zero_point, qmin, qmax).
 * NaN maps to zero_point clamped into range. */
int32_t onnxq_quantize_value(float x, float scale, int32_t zero_point,
                             int32_t qmin, int32_t qmax);

/* x[0..n) quantized into out, which holds n elements of dtype (uint8 or
 * int8), with one scale/zero point. */
void onnxq_quantize_values(const float *x, size_t n, float scale,
                           int32_t zero_point, int32_t qmin, int32_t qmax,
                           int32_t dtype, void *out);

/* A quantized weight: data holds numel elements of dtype; with axis >= 0
 * there is one scale and zero point per slice along that axis (n_params =
 * dims[axis]), otherwise one (n_params = 1).  rmin/rmax are the ranges the
 * parameters were computed from (after including 0). */
typedef struct onnxq_qweight {
    int32_t dtype;
    int axis;
    size_t numel;
    size_t n_params;
    void *data;
    float *scales;
    int32_t *zero_points;
    float *rmins;
    float *rmaxs;
} onnxq_qweight;

/* Quantizes a float weight of shape dims[0..rank) per tensor (axis < 0) or
 * per channel along axis, with the range of the data itself (an empty
 * tensor has range [0, 0]).  name appears in errors.  Free with
 * onnxq_qweight_free. */
onnxq_status onnxq_quantize_weight(const char *name, const float *w,
                                   const int64_t *dims, size_t rank, int axis,
                                   int32_t dtype, int symmetric,
                                   int reduce_range, onnxq_qweight *out,
                                   onnxq_error *err);
void onnxq_qweight_free(onnxq_qweight *q);

/* ONNX Runtime's guard against int32 bias overflow, in double:
 *   smallest = 1.0001 * 2 * absmax / (2^31 - 1 + 2^31 - 1)
 * with absmax = max |b| over the whole bias (n_weight_scales == 1) or |b[c]|
 * (one scale per channel, n_weight_scales == n); where 0 < input_scale *
 * weight_scales[c] < smallest, weight_scales[c] becomes
 * (float)(weight_scales[c] * (smallest / (input_scale * weight_scales[c]))).
 * Returns how many scales grew (0 also when the counts do not fit).  The
 * tool applies it only to int8 weights whose zero points are all 0. */
size_t onnxq_fit_bias_scales(const float *b, size_t n, float input_scale,
                             float *weight_scales, size_t n_weight_scales);

/* Quantizes an int8 weight (zero point 0) with the given scales (one per
 * slice along axis, or one if axis < 0) instead of its range: what the tool
 * does after onnxq_fit_bias_scales enlarged them.  rmin/rmax become
 * -/+ 127 * scale.  Free with onnxq_qweight_free. */
onnxq_status onnxq_quantize_weight_scaled(const char *name, const float *w,
                                          const int64_t *dims, size_t rank,
                                          int axis, int32_t dtype,
                                          const float *scales,
                                          onnxq_qweight *out,
                                          onnxq_error *err);

/* Quantizes a bias of n values to int32 with scale input_scale *
 * weight_scales[c] (n_weight_scales is 1 or n): out[c] =
 * clamp(round_half_even((double)b[c] / scale_c)) into int32.  A zero
 * product scale gives 0 (and is counted in *n_zero_scale if that is non-NULL).  When
 * bias_scales is non-NULL it receives the n (or 1) product scales. */
void onnxq_quantize_bias(const float *b, size_t n, float input_scale,
                         const float *weight_scales, size_t n_weight_scales,
                         int32_t *out, float *bias_scales,
                         size_t *n_zero_scale);

#ifdef __cplusplus
}
#endif
#endif
