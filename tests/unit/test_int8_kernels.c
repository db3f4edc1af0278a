/* test_int8_kernels.c — the int8 fast kernels (src/rt/kernels/int8) against
 * the reference kernels (kernels/ref/quant.c, themselves checked bit for bit
 * against ONNX Runtime by tests/quant), on a table of named one-node cases:
 * tile edges (M, N, K around 6 / 16 / odd), odd channels, strides,
 * dilations, pads and auto_pad, groups, depthwise, 1-D convolutions,
 * per-axis weight scales and zero points, u8/s8 on each side, zero points
 * at the ends of their range, and data at the extremes (255 x -128 and
 * -128 x -128 over long K: the sums oneDNN's AVX2 int8 paths saturate).
 *
 * Each case runs in a session with the fast kernels and in one with
 * reference_only; outputs must be byte-identical (integers and floats
 * alike: the float steps are the reference's, in its order).  The counters
 * of int8_stats.h show the fast path ran (or, for cases it must hand over,
 * that it did not).  Every case runs at 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rt/kernels/int8/int8_stats.h"
#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum {
    F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    S8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};
enum { QCONV, CONVI, QCONV_MS, QMM, MMI, MMTF, DQMM, QGEMM };
/* data fill: random, or extremes (x at one end, w at one end); W7: random
 * x, weights - zero point in [-64, 63] (reduce-range weights: pair safe for
 * vpmaddubsw); XMAX_W7MIN: x at its top, weights - zero point all -64;
 * XMAX_WEDGE / XMAX_WOVER: x at its top, weights - zero point 64 except
 * the first pair of channel 0, which is (127, 1) — exactly pair safe,
 * 255 * 128 — or (127, 2), one step over: the int16 kernel must take it */
enum { RANDOM, XMAX_WMIN, XMAX_WMAX, XMIN_WMIN, XMIN_WMAX, W7, XMAX_W7MIN,
       XMAX_WEDGE, XMAX_WOVER };
/* which convolution kernel a case must take (checked with int8_stats) */
enum { PATH_ANY, PATH_ROWS16, PATH_ROWS8, PATH_NO_ROWS };

typedef struct qcase {
    const char *name;
    int op;
    int xt, wt, yt;          /* U8/S8 (yt: output of QLinear*/
    int xr;                  /* rank of x (conv 3/4, matmul >= 1) */
    int64_t x[4];
    int64_t w[4];            /* conv: [M, C/g, k...]; matmul: B [K, N] (QGemm
                                transB: [N, K]) */
    int64_t group, strides[2], dil[2], pads[4];
    const char *auto_pad;
    int per_axis;            /* weight scale and zero point per channel */
    int fill;
    int zx, zw, zy;          /* zero points (zw: channel 0's when per-axis) */
    int bias;                /* QLinearConv B / MMTF bias / QGemm C */
    int trans_a, trans_b;
    int no_y_scale;          /* QGemm float output */
    int weights_input;       /* W is a graph input: the reference must run */
    int path;                /* PATH_*: the convolution kernel expected */
} qcase;

#define X4(...) 4, {__VA_ARGS__}
#define X3(...) 3, {__VA_ARGS__}
#define X2(...) 2, {__VA_ARGS__}

static const qcase cases[] = {
    /* ---- QLinearConv */
    {"qconv_3x3_u8s8", QCONV, U8, S8, U8, X4(1, 8, 9, 9), {16, 8, 3, 3}, 0,
     {0}, {0}, {1, 1, 1, 1}, NULL, 0, RANDOM, 128, 0, 128, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_odd_channels", QCONV, U8, S8, U8, X4(2, 3, 7, 5), {5, 3, 3, 3}, 0,
     {0}, {0}, {0}, NULL, 1, RANDOM, 7, 0, 200, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_tile_edges_m6_p16", QCONV, S8, S8, S8, X4(1, 4, 4, 4), {6, 4, 1, 1},
     0, {0}, {0}, {0}, NULL, 1, RANDOM, -5, 3, 1, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_tile_edges_m7_p17", QCONV, U8, U8, U8, X4(1, 5, 17, 1),
     {7, 5, 1, 1}, 0, {0}, {0}, {0}, NULL, 1, RANDOM, 0, 255, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"qconv_stride2_pad", QCONV, U8, S8, U8, X4(1, 6, 11, 10), {9, 6, 3, 3}, 0,
     {2, 2}, {0}, {1, 0, 1, 1}, NULL, 1, RANDOM, 99, 0, 17, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_dilation", QCONV, U8, S8, U8, X4(1, 4, 12, 12), {8, 4, 3, 3}, 0,
     {1, 1}, {2, 3}, {2, 3, 2, 3}, NULL, 0, RANDOM, 30, 0, 128, 0, 0, 0, 0, 0, PATH_ANY},
    {"qconv_same_upper_stride", QCONV, U8, S8, U8, X4(1, 3, 10, 9),
     {4, 3, 4, 3}, 0, {2, 3}, {0}, {0}, "SAME_UPPER", 1, RANDOM, 10, 0, 5, 1, 0,
     0, 0, 0, PATH_ANY},
    {"qconv_same_lower", QCONV, S8, S8, U8, X4(1, 3, 8, 8), {4, 3, 2, 2}, 0, {0},
     {0}, {0}, "SAME_LOWER", 0, RANDOM, -128, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"qconv_groups", QCONV, U8, S8, U8, X4(2, 8, 6, 6), {12, 2, 3, 3}, 4, {0},
     {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 128, 0, 100, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_depthwise", QCONV, U8, S8, U8, X4(1, 16, 13, 11), {16, 1, 3, 3}, 16,
     {1, 1}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 3, 0, 128, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_depthwise_stride2", QCONV, S8, S8, S8, X4(1, 5, 12, 9),
     {5, 1, 5, 5}, 5, {2, 2}, {0}, {2, 2, 1, 2}, NULL, 1, RANDOM, -1, 0, 0, 1, 0,
     0, 0, 0, PATH_ANY},
    {"qconv_depthwise_multiplier", QCONV, U8, U8, U8, X4(1, 3, 7, 7),
     {6, 1, 3, 3}, 3, {1, 2}, {2, 1}, {2, 1, 2, 1}, NULL, 1, RANDOM, 255, 0, 0,
     1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_1d", QCONV, U8, S8, U8, X3(2, 5, 21), {7, 5, 3}, 0, {2}, {1},
     {1, 2}, NULL, 1, RANDOM, 1, 0, 50, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_pointwise_big", QCONV, U8, S8, U8, X4(1, 64, 20, 20),
     {32, 64, 1, 1}, 0, {0}, {0}, {0}, NULL, 1, RANDOM, 128, 0, 128, 1, 0, 0, 0,
     0, PATH_ANY},
    {"qconv_extreme_255x-128", QCONV, U8, S8, U8, X4(1, 64, 5, 5),
     {16, 64, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_WMIN, 0, 0, 255,
     0, 0, 0, 0, 0, PATH_ANY},
    {"qconv_extreme_s8_-128x-128", QCONV, S8, S8, S8, X4(1, 64, 5, 5),
     {16, 64, 3, 3}, 0, {0}, {0}, {0}, NULL, 0, XMIN_WMIN, 127, -128, -128, 0, 0,
     0, 0, 0, PATH_ANY},
    {"qconv_u8_weights_zp255", QCONV, U8, U8, U8, X4(1, 32, 6, 6),
     {8, 32, 3, 3}, 0, {0}, {0}, {0}, NULL, 0, XMAX_WMIN, 0, 255, 0, 0, 0, 0, 0,
     0, PATH_ANY},
    {"qconv_ms_domain", QCONV_MS, U8, S8, U8, X4(1, 4, 6, 6), {4, 4, 3, 3}, 0,
     {0}, {0}, {0}, NULL, 1, RANDOM, 128, 0, 128, 1, 0, 0, 0, 0, PATH_ANY},
    {"qconv_weights_input_fallback", QCONV, U8, S8, U8, X4(1, 4, 6, 6),
     {4, 4, 3, 3}, 0, {0}, {0}, {0}, NULL, 0, RANDOM, 128, 0, 128, 1, 0, 0, 0,
     1, PATH_ANY},
    {"qconv_one_input_channel", QCONV, U8, S8, U8, X4(2, 1, 9, 7),
     {5, 1, 3, 3}, 0, {1, 2}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 17, 0, 128, 1,
     0, 0, 0, 0, PATH_ANY},
    {"qconv_odd_c_stride_dil_implicit", QCONV, S8, S8, U8, X4(1, 7, 13, 12),
     {19, 7, 3, 2}, 1, {2, 1}, {1, 2}, {0, 2, 1, 0}, NULL, 1, RANDOM, 5, 0, 9,
     1, 0, 0, 0, 0, PATH_ANY},
    /* ---- stride-1 row kernels: u8 x s8 (pair-safe weights) and int16 */
    {"qconv_rows8_3x3_perch", QCONV, U8, S8, U8, X4(1, 16, 19, 23),
     {16, 16, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 1, W7, 128, 0, 128, 1, 0,
     0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_odd_c5_m7_batch", QCONV, U8, S8, U8, X4(2, 5, 9, 11),
     {7, 5, 3, 3}, 0, {0}, {0}, {1, 0, 2, 1}, NULL, 1, W7, 7, 0, 200, 1, 0, 0,
     0, 0, PATH_ROWS8},
    {"qconv_rows8_s8_activations", QCONV, S8, S8, S8, X4(1, 6, 10, 7),
     {9, 6, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, W7, -3, 0, 5, 1, 0, 0, 0,
     0, PATH_ROWS8},
    {"qconv_rows8_u8_weights_perch_zp", QCONV, U8, U8, U8, X4(1, 8, 8, 8),
     {6, 8, 3, 3}, 0, {0}, {0}, {0}, NULL, 1, W7, 128, 128, 0, 1, 0, 0, 0, 0,
     PATH_ROWS8},
    {"qconv_rows8_dilation_same", QCONV, U8, S8, U8, X4(1, 4, 12, 12),
     {8, 4, 3, 3}, 0, {1, 1}, {2, 2}, {0}, "SAME_UPPER", 1, W7, 30, 0, 128, 0,
     0, 0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_1d", QCONV, U8, S8, U8, X3(2, 6, 33), {5, 6, 5}, 0, {1}, {2},
     {2, 3}, NULL, 1, W7, 1, 0, 50, 1, 0, 0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_pointwise_m13", QCONV, U8, S8, U8, X4(1, 24, 7, 9),
     {13, 24, 1, 1}, 0, {0}, {0}, {0}, NULL, 1, W7, 128, 0, 128, 1, 0, 0, 0, 0,
     PATH_ROWS8},
    {"qconv_rows8_extreme_255x-64", QCONV, U8, S8, U8, X4(1, 64, 5, 5),
     {16, 64, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_W7MIN, 0, 0, 255,
     0, 0, 0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_pair_edge_127_1", QCONV, U8, S8, U8, X4(1, 8, 6, 5),
     {4, 8, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_WEDGE, 0, 0, 0, 0,
     0, 0, 0, 0, PATH_ROWS8},
    {"qconv_rows16_pair_over_127_2", QCONV, U8, S8, U8, X4(1, 8, 6, 5),
     {4, 8, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_WOVER, 0, 0, 0, 0,
     0, 0, 0, 0, PATH_ROWS16},
    {"qconv_rows16_full_range_weights", QCONV, U8, S8, U8, X4(1, 8, 9, 17),
     {16, 8, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 128, 0, 128, 1,
     0, 0, 0, 0, PATH_ROWS16},
    {"qconv_full_range_m64_channels_last", QCONV, U8, S8, U8, X4(1, 8, 6, 7),
     {64, 8, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 128, 0, 128, 1,
     0, 0, 0, 0, PATH_NO_ROWS},
    {"qconv_rows16_two_channels", QCONV, S8, S8, U8, X4(1, 2, 9, 7),
     {5, 2, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 1, W7, 0, 0, 0, 1, 0, 0, 0,
     0, PATH_ROWS16},
    {"qconv_rows8_stride2", QCONV, U8, S8, U8, X4(1, 8, 11, 10),
     {9, 8, 3, 3}, 0, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, W7, 99, 0, 17, 1, 0,
     0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_stride2x1_dil2_s8", QCONV, S8, S8, U8, X4(2, 7, 13, 12),
     {6, 7, 3, 2}, 0, {2, 1}, {2, 2}, {2, 1, 1, 0}, NULL, 1, W7, 5, 0, 9, 1, 0,
     0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_stride3_pads", QCONV, U8, S8, S8, X4(1, 12, 17, 16),
     {10, 12, 5, 4}, 0, {3, 3}, {1, 1}, {2, 0, 1, 3}, NULL, 0, W7, 200, 0, -7,
     1, 0, 0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_pointwise_stride2", QCONV, U8, S8, U8, X4(1, 16, 9, 7),
     {32, 16, 1, 1}, 0, {2, 2}, {0}, {0}, NULL, 1, W7, 128, 0, 128, 1, 0, 0, 0,
     0, PATH_ROWS8},
    {"qconv_rows8_same_lower_stride2", QCONV, U8, U8, U8, X4(1, 5, 10, 9),
     {4, 5, 4, 3}, 0, {2, 3}, {0}, {0}, "SAME_LOWER", 1, W7, 10, 128, 5, 1, 0,
     0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_stride2_wide_s8_c6", QCONV, S8, S8, S8, X4(1, 6, 5, 75),
     {8, 6, 3, 3}, 0, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, W7, -20, 0, 3, 1, 0,
     0, 0, 0, PATH_ROWS8},
    {"qconv_rows8_stride2_wide_u8_pad0", QCONV, U8, S8, U8, X4(1, 4, 4, 70),
     {5, 4, 1, 3}, 0, {2, 2}, {0}, {0}, NULL, 0, W7, 77, 0, 100, 1, 0, 0, 0, 0,
     PATH_ROWS8},
    {"qconv_stride2_full_range_not_rows", QCONV, U8, S8, U8, X4(1, 8, 11, 10),
     {9, 8, 3, 3}, 0, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 99, 0, 17, 1,
     0, 0, 0, 0, PATH_NO_ROWS},
    {"convint_rows8_extreme", CONVI, U8, S8, 0, X4(1, 32, 5, 5),
     {4, 32, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_W7MIN, 0, 0, 0, 0,
     0, 0, 0, 0, PATH_ROWS8},
    {"convint_rows16_full_range", CONVI, U8, S8, 0, X4(2, 5, 7, 9),
     {6, 5, 3, 3}, 0, {0}, {0}, {1, 1, 1, 1}, NULL, 1, RANDOM, 3, 0, 0, 0, 0, 0,
     0, 0, PATH_ROWS16},
    {"convint_rows8_s8_c3", CONVI, S8, S8, 0, X4(1, 3, 7, 9), {5, 3, 2, 2}, 0,
     {0}, {0}, {0}, NULL, 1, W7, 100, 0, 0, 0, 0, 0, 0, 0, PATH_ROWS8},
    /* ---- ConvInteger */
    {"convint_u8u8", CONVI, U8, U8, 0, X4(1, 3, 9, 8), {5, 3, 3, 3}, 0, {2, 1},
     {0}, {1, 1, 0, 0}, NULL, 0, RANDOM, 100, 200, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"convint_s8s8_groups_perch_zp", CONVI, S8, S8, 0, X4(1, 6, 7, 7),
     {6, 3, 2, 2}, 2, {0}, {0}, {0}, NULL, 1, RANDOM, -128, 127, 0, 0, 0, 0, 0,
     0, PATH_ANY},
    {"convint_extreme", CONVI, U8, S8, 0, X4(1, 128, 3, 3), {3, 128, 3, 3}, 0,
     {0}, {0}, {1, 1, 1, 1}, NULL, 0, XMAX_WMIN, 0, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    /* ---- QLinearMatMul (A [.., M, K] x B [K, N]) */
    {"qmm_u8s8_6x16", QMM, U8, S8, U8, X2(6, 32), {32, 16}, 0, {0}, {0}, {0},
     NULL, 0, RANDOM, 128, 0, 128, 0, 0, 0, 0, 0, PATH_ANY},
    {"qmm_u8u8_odd_k_per_col", QMM, U8, U8, U8, X2(7, 33), {33, 17}, 0, {0},
     {0}, {0}, NULL, 1, RANDOM, 3, 128, 250, 0, 0, 0, 0, 0, PATH_ANY},
    {"qmm_s8s8_batched", QMM, S8, S8, S8, X3(3, 5, 19), {19, 40}, 0, {0}, {0},
     {0}, NULL, 1, RANDOM, -7, 0, 5, 0, 0, 0, 0, 0, PATH_ANY},
    {"qmm_1d_a", QMM, U8, S8, U8, 1, {31}, {31, 9}, 0, {0}, {0}, {0}, NULL, 0,
     RANDOM, 0, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"qmm_extreme_long_k", QMM, U8, S8, U8, X2(5, 1024), {1024, 18}, 0, {0},
     {0}, {0}, NULL, 0, XMAX_WMIN, 0, 0, 255, 0, 0, 0, 0, 0, PATH_ANY},
    {"qmm_big", QMM, U8, S8, U8, X2(100, 256), {256, 100}, 0, {0}, {0}, {0},
     NULL, 1, RANDOM, 128, 0, 128, 0, 0, 0, 0, 0, PATH_ANY},
    /* ---- MatMulInteger */
    {"mmi_u8u8_zp_extremes", MMI, U8, U8, 0, X2(9, 20), {20, 23}, 0, {0}, {0},
     {0}, NULL, 1, RANDOM, 255, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"mmi_s8u8", MMI, S8, U8, 0, X3(2, 4, 11), {11, 3}, 0, {0}, {0}, {0}, NULL,
     0, RANDOM, -128, 255, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"mmi_extreme_s8", MMI, S8, S8, 0, X2(3, 2000), {2000, 5}, 0, {0}, {0}, {0},
     NULL, 0, XMIN_WMIN, 0, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"mmi_extreme_u8_max", MMI, U8, S8, 0, X2(2, 700), {700, 16}, 0, {0}, {0},
     {0}, NULL, 0, XMAX_WMAX, 0, 0, 0, 0, 0, 0, 0, 0, PATH_ANY},
    /* ---- MatMulIntegerToFloat / DynamicQuantizeMatMul */
    {"mmtf_u8s8_bias", MMTF, U8, S8, 0, X3(2, 7, 24), {24, 10}, 0, {0}, {0}, {0},
     NULL, 1, RANDOM, 130, 0, 0, 1, 0, 0, 0, 0, PATH_ANY},
    {"mmtf_s8s8", MMTF, S8, S8, 0, X2(13, 9), {9, 33}, 0, {0}, {0}, {0}, NULL, 0,
     RANDOM, 4, -3, 0, 0, 0, 0, 0, 0, PATH_ANY},
    {"dqmm_s8_per_col_bias", DQMM, F32, S8, 0, X3(2, 9, 48), {48, 20}, 0, {0},
     {0}, {0}, NULL, 1, RANDOM, 0, 0, 0, 1, 0, 0, 0, 0, PATH_ANY},
    {"dqmm_u8", DQMM, F32, U8, 0, X2(5, 17), {17, 6}, 0, {0}, {0}, {0}, NULL, 0,
     RANDOM, 0, 128, 0, 0, 0, 0, 0, 0, PATH_ANY},
    /* ---- QGemm */
    {"qgemm_u8s8_quant_out_c", QGEMM, U8, S8, U8, X2(10, 18), {18, 21}, 0, {0},
     {0}, {0}, NULL, 1, RANDOM, 128, 0, 128, 1, 0, 0, 0, 0, PATH_ANY},
    {"qgemm_transA_transB_float", QGEMM, S8, S8, 0, X2(19, 8), {13, 19}, 0,
     {0}, {0}, {0}, NULL, 1, RANDOM, -2, 0, 0, 1, 1, 1, 1, 0, PATH_ANY},
    {"qgemm_u8u8_s8out", QGEMM, U8, U8, S8, X2(4, 40), {40, 16}, 0, {0}, {0},
     {0}, NULL, 0, RANDOM, 0, 255, -128, 0, 0, 0, 0, 0, PATH_ANY},
};

/* ---- deterministic data -------------------------------------------------- */

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static int lo_of(int t) { return t == S8 ? -128 : 0; }
static int hi_of(int t) { return t == S8 ? 127 : 255; }

static void fill8(void *buf, size_t n, int t, int mode)
{
    for (size_t i = 0; i < n; i++) {
        int v = lo_of(t) + (int)(rnd() % 256);
        if (mode > 0)
            v = mode > 1 ? hi_of(t) : lo_of(t);
        if (t == S8)
            ((int8_t *)buf)[i] = (int8_t)v;
        else
            ((uint8_t *)buf)[i] = (uint8_t)v;
    }
}

static size_t numel(const int64_t *d, int r)
{
    size_t n = 1;
    for (int i = 0; i < r; i++)
        n *= (size_t)d[i];
    return n;
}

static int is_conv(int op) { return op == QCONV || op == CONVI || op == QCONV_MS; }

/* ---- model --------------------------------------------------------------- */

typedef struct built {
    onnxq_model *m;
    onnxq_tensor in[2];
    size_t n_in;
    void *xbuf, *wbuf;
} built;

static void add_scalar(Onnx__GraphProto *g, const char *name, int t, double v)
{
    if (t == F32) {
        float f = (float)v;
        onnxq_build_initializer(g, name, F32, 0, NULL, &f);
    } else if (t == I32) {
        int32_t i = (int32_t)v;
        onnxq_build_initializer(g, name, I32, 0, NULL, &i);
    } else {
        int8_t b = (int8_t)(int)v;
        uint8_t u = (uint8_t)(int)v;
        onnxq_build_initializer(g, name, t, 0, NULL, t == S8 ? (void *)&b : (void *)&u);
    }
}

static int64_t out_channels(const qcase *c)
{
    if (is_conv(c->op))
        return c->w[0];
    return c->op == QGEMM && c->trans_b ? c->w[0] : c->w[1];
}

static size_t reduce_len(const qcase *c)
{
    if (is_conv(c->op))
        return numel(c->w, c->xr) / (size_t)c->w[0];
    return (size_t)(c->op == QGEMM && c->trans_b ? c->w[1] : c->w[0]);
}

static built build(const qcase *c)
{
    built b;
    memset(&b, 0, sizeof b);
    Onnx__ModelProto *p = onnxq_build_model(21);
    onnxq_build_opset(p, "com.microsoft", 1);
    Onnx__GraphProto *g = p->graph;
    int wr = is_conv(c->op) ? c->xr : 2;
    size_t nx = numel(c->x, c->xr), nw = numel(c->w, wr);
    int64_t M = out_channels(c);
    size_t K = reduce_len(c);
    /* x */
    b.xbuf = malloc(nx * 4 + 4);
    if (c->xt == F32)
        for (size_t i = 0; i < nx; i++)
            ((float *)b.xbuf)[i] = (float)((int)(rnd() % 2001) - 800) / 97.0f;
    else
        fill8(b.xbuf, nx, c->xt,
              c->fill == XMAX_WMIN || c->fill == XMAX_WMAX || c->fill >= XMAX_W7MIN ? 2
              : c->fill == RANDOM || c->fill == W7 ? 0 : 1);
    int64_t xd[4];
    memcpy(xd, c->x, sizeof xd);
    onnxq_build_input(g, "x", c->xt, c->xr, xd, NULL);
    b.in[b.n_in].dtype = c->xt;
    b.in[b.n_in].rank = c->xr;
    memcpy(b.in[b.n_in].dims, c->x, sizeof c->x);
    b.in[b.n_in++].data = b.xbuf;
    /* w */
    b.wbuf = malloc(nw + 1);
    fill8(b.wbuf, nw, c->wt, c->fill == XMAX_WMIN || c->fill == XMIN_WMIN ? 1
                             : c->fill == RANDOM ? 0 : 2);
    /* per-channel weight scales and zero points */
    float *ws = malloc((size_t)M * sizeof *ws);
    uint8_t *wz = malloc((size_t)M);
    for (int64_t m = 0; m < M; m++) {
        ws[m] = c->per_axis ? 0.002f * (1.0f + (float)(rnd() % 1000) / 250.0f) : 0.003f;
        int z = c->zw;
        if (c->per_axis && m > 0)
            z = lo_of(c->wt) + (int)(rnd() % 256);
        if (c->per_axis && m > 0 && c->fill >= W7) /* room for +-64 */
            z = (lo_of(c->wt) + hi_of(c->wt) + 1) / 2 + (int)(rnd() % 61) - 30;
        wz[m] = (uint8_t)z;
    }
    if (c->fill >= W7) {
        /* weights = zero point + an offset; conv W is [M][K] */
        size_t K = nw / (size_t)M;
        for (size_t i = 0; i < nw; i++) {
            int z = c->wt == S8 ? (int8_t)wz[i / K] : wz[i / K];
            int off = c->fill == W7 ? (int)(rnd() % 128) - 64
                      : c->fill == XMAX_W7MIN ? -64 : 64;
            if (c->fill >= XMAX_WEDGE && i == 0)
                off = 127;
            if (c->fill >= XMAX_WEDGE && i == (size_t)c->w[2] * (size_t)(c->xr == 4 ? c->w[3] : 1))
                off = c->fill == XMAX_WEDGE ? 1 : 2; /* channel 1, tap 0 */
            int v = z + off;
            if (v < lo_of(c->wt) || v > hi_of(c->wt))
                v = z;
            if (c->wt == S8)
                ((int8_t *)b.wbuf)[i] = (int8_t)v;
            else
                ((uint8_t *)b.wbuf)[i] = (uint8_t)v;
        }
    }
    if (c->weights_input) {
        onnxq_build_input(g, "w", c->wt, wr, c->w, NULL);
        b.in[b.n_in].dtype = c->wt;
        b.in[b.n_in].rank = wr;
        memcpy(b.in[b.n_in].dims, c->w, sizeof c->w);
        b.in[b.n_in++].data = b.wbuf;
    } else {
        onnxq_build_initializer(g, "w", c->wt, (size_t)wr, c->w, b.wbuf);
    }
    int64_t md = M;
    if (c->per_axis) {
        onnxq_build_initializer(g, "ws", F32, 1, &md, ws);
        onnxq_build_initializer(g, "wz", c->wt, 1, &md, wz);
    } else {
        add_scalar(g, "ws", F32, ws[0]);
        add_scalar(g, "wz", c->wt, c->zw);
    }
    float xs = 0.021f;
    /* y scale: about 40 steps per standard deviation of the sums */
    double ys = xs * 0.003 * sqrt((double)K) * 74 * 74 / 40;
    add_scalar(g, "xs", F32, xs);
    if (c->xt != F32)
        add_scalar(g, "xz", c->xt, c->zx);
    add_scalar(g, "ys", F32, ys);
    int yt = c->yt ? c->yt : c->xt;
    if (c->yt || c->op == QCONV || c->op == QCONV_MS || c->op == QMM)
        add_scalar(g, "yz", yt, c->zy);
    if (c->bias) {
        if (c->op == MMTF || c->op == DQMM) {
            float *bf = malloc((size_t)M * sizeof *bf);
            for (int64_t m = 0; m < M; m++)
                bf[m] = (float)((int)(rnd() % 2001) - 1000) / 333.0f;
            onnxq_build_initializer(g, "bias", F32, 1, &md, bf);
            free(bf);
        } else {
            int32_t *bi = malloc((size_t)M * sizeof *bi);
            for (int64_t m = 0; m < M; m++)
                bi[m] = (int32_t)(rnd() % 200001) - 100000;
            onnxq_build_initializer(g, "bias", I32, 1, &md, bi);
            free(bi);
        }
    }
    free(ws);
    free(wz);
    const char *outs[] = {"y"};
    const char *bias = c->bias ? "bias" : "";
    Onnx__NodeProto *n = NULL;
    int32_t out_t = yt;
    switch (c->op) {
    case QCONV:
    case QCONV_MS: {
        const char *in[] = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", bias};
        n = onnxq_build_node(g, "QLinearConv", c->name, in, c->bias ? 9 : 8, outs, 1);
        if (c->op == QCONV_MS)
            onnxq_build_node_domain(n, "com.microsoft");
        break;
    }
    case CONVI: {
        const char *in[] = {"x", "w", "xz", "wz"};
        n = onnxq_build_node(g, "ConvInteger", c->name, in, 4, outs, 1);
        out_t = I32;
        break;
    }
    case QMM: {
        const char *in[] = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
        n = onnxq_build_node(g, "QLinearMatMul", c->name, in, 8, outs, 1);
        break;
    }
    case MMI: {
        const char *in[] = {"x", "w", "xz", "wz"};
        n = onnxq_build_node(g, "MatMulInteger", c->name, in, 4, outs, 1);
        out_t = I32;
        break;
    }
    case MMTF: {
        const char *in[] = {"x", "w", "xs", "ws", "xz", "wz", bias};
        n = onnxq_build_node(g, "MatMulIntegerToFloat", c->name, in, 7, outs, 1);
        onnxq_build_node_domain(n, "com.microsoft");
        out_t = F32;
        break;
    }
    case DQMM: {
        const char *in[] = {"x", "w", "ws", "wz", bias};
        n = onnxq_build_node(g, "DynamicQuantizeMatMul", c->name, in, 5, outs, 1);
        onnxq_build_node_domain(n, "com.microsoft");
        out_t = F32;
        break;
    }
    default: {
        const char *in[] = {"x", "xs", "xz", "w", "ws", "wz", bias,
                            c->no_y_scale ? "" : "ys", c->no_y_scale ? "" : "yz"};
        n = onnxq_build_node(g, "QGemm", c->name, in, c->no_y_scale ? 7 : 9, outs, 1);
        onnxq_build_node_domain(n, "com.microsoft");
        if (c->trans_a)
            onnxq_build_attr_int(n, "transA", 1);
        if (c->trans_b)
            onnxq_build_attr_int(n, "transB", 1);
        onnxq_build_attr_float(n, "alpha", 0.75f);
        if (c->no_y_scale)
            out_t = F32;
        break;
    }
    }
    if (is_conv(c->op)) {
        int ns = c->xr - 2;
        if (c->group)
            onnxq_build_attr_int(n, "group", c->group);
        if (c->strides[0])
            onnxq_build_attr_ints(n, "strides", c->strides, (size_t)ns);
        if (c->dil[0])
            onnxq_build_attr_ints(n, "dilations", c->dil, (size_t)ns);
        int any = 0;
        for (int i = 0; i < 2 * ns; i++)
            any |= c->pads[i] != 0;
        if (any)
            onnxq_build_attr_ints(n, "pads", c->pads, (size_t)(2 * ns));
        if (c->auto_pad)
            onnxq_build_attr_string(n, "auto_pad", c->auto_pad);
    }
    onnxq_build_output(g, "y", out_t, -1, NULL, NULL);
    CHECK(onnxq_model_wrap(p, NULL, &b.m, NULL) == ONNXQ_OK);
    return b;
}

static onnxq_session *session(onnxq_model *m, int reference_only, int threads)
{
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.reference_only = reference_only;
    o.n_threads = threads;
    onnxq_session *s = NULL;
    onnxq_error err;
    if (onnxq_session_create(m, &o, &s, &err) != ONNXQ_OK) {
        fprintf(stderr, "session: %s\n", err.message);
        test_failures++;
    }
    return s;
}

static onnxq_tensor *run(onnxq_session *s, built *b, const char *name)
{
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (!s || onnxq_session_run(s, b->in, b->n_in, &out, &n_out, &err) != ONNXQ_OK) {
        fprintf(stderr, "%s: %s\n", name, s ? err.message : "no session");
        test_failures++;
        return NULL;
    }
    return out;
}

static void run_case(const qcase *c, int threads)
{
    built b = build(c);
    if (!b.m)
        return;
    onnxq_session *fast = session(b.m, 0, threads), *ref = session(b.m, 1, threads);
    for (int rep = 0; rep < 2; rep++) {
        oq_int8_stats s0 = oq_int8_stats_get();
        onnxq_tensor *yf = run(fast, &b, c->name);
        oq_int8_stats s1 = oq_int8_stats_get();
        onnxq_tensor *yr = run(ref, &b, c->name);
        size_t fr = s1.fast_runs - s0.fast_runs, fb = s1.fallback_runs - s0.fallback_runs;
        size_t r16 = s1.conv_rows_runs - s0.conv_rows_runs;
        size_t r8 = s1.conv_rows_u8_runs - s0.conv_rows_u8_runs;
        if ((c->path == PATH_ROWS16 && (r16 != 1 || r8)) ||
            (c->path == PATH_ROWS8 && (r8 != 1 || r16)) ||
            (c->path == PATH_NO_ROWS && (r8 || r16))) {
            fprintf(stderr, "%s: int16 row kernel ran %zu times, u8 row kernel "
                    "%zu times; expected path %d\n", c->name, r16, r8, c->path);
            test_failures++;
        }
        if (fr != (size_t)!c->weights_input || fb != 0) {
            fprintf(stderr, "%s: %zu int8 runs, %zu fallbacks; expected the %s\n",
                    c->name, fr, fb, c->weights_input ? "reference kernel"
                                                      : "int8 kernel");
            test_failures++;
        }
        if (yf && yr) {
            CHECK_EQ_INT(yf->dtype, yr->dtype);
            CHECK_EQ_INT(yf->rank, yr->rank);
            size_t bytes = onnxq_tensor_nbytes(yr);
            if (yf->rank != yr->rank ||
                memcmp(yf->dims, yr->dims, sizeof yr->dims[0] * (size_t)yr->rank) ||
                memcmp(yf->data, yr->data, bytes)) {
                size_t first = 0;
                while (first < bytes && ((char *)yf->data)[first] == ((char *)yr->data)[first])
                    first++;
                fprintf(stderr, "%s (%d threads): fast and reference differ "
                        "(first byte %zu of %zu)\n", c->name, threads, first, bytes);
                test_failures++;
            }
            /* the extreme cases must not all saturate: the sums are known */
            if (c->op == CONVI && (c->fill == XMAX_WMIN || c->fill == XMAX_W7MIN) &&
                rep == 0) {
                /* centre output: 255 * -128 (or -64) * C * 9 exactly */
                const int32_t *y = yf->data;
                size_t centre = (size_t)(yf->dims[2] * yf->dims[3] / 2);
                CHECK_EQ_INT(y[centre], (255LL - c->zx) *
                                            (c->fill == XMAX_WMIN ? -128 : -64) *
                                            c->x[1] * 9);
            }
            if (c->op == MMI && c->fill == XMIN_WMIN && rep == 0)
                CHECK_EQ_INT(((const int32_t *)yf->data)[0], 128LL * 128 * c->x[1]);
            if (c->op == MMI && c->fill == XMAX_WMAX && rep == 0)
                CHECK_EQ_INT(((const int32_t *)yf->data)[0], 255LL * 127 * c->x[1]);
        }
        onnxq_tensors_free(yf, 1);
        onnxq_tensors_free(yr, 1);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(b.m);
    free(b.xbuf);
    free(b.wbuf);
}

#include "int8_misc_cases.h" /* int8_misc.c: Resize on 8-bit tensors */

int main(void)
{
    size_t n = sizeof cases / sizeof *cases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < n; i++) {
            int before = test_failures;
            run_case(&cases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ case %s, %d thread(s)\n", cases[i].name,
                        threads);
        }
    n += run_misc_cases();
    printf("%zu int8 cases x 2 thread counts, %d failures\n", n, test_failures);
    return test_failures > 100 ? 100 : test_failures;
}
