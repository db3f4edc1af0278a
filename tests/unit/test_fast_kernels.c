/* test_fast_kernels.c — the oneDNN fast kernels (src/rt/kernels/dnnl) against
 * the reference kernels, on a table of named one-node cases: tile edges, odd
 * channels, strides, dilations, groups, depthwise, 1-D/3-D, auto_pad,
 * FusedConv activations, ConvTranspose geometry, batched and broadcast
 * MatMul, Gemm variants.
 *
 * Each case runs in a session as usual (the fast kernel is chosen) and in one
 * with reference_only set; float32 results must agree within
 * 1e-4 * (1 + max |reference|).  The counters of dnnl_stats.h show that the
 * fast path really ran (or, for cases it must hand over, that it did not).
 * Sessions run twice (the second run reuses plan and packed weights), then
 * with another input shape (a new plan), and, where the weights are a graph
 * input, with other weights (re-packed).
 *
 * Then the vectorised kernels (kernels/vec, table vcases, tolerances per op
 * below) and the executor: Constant-node weights reaching oneDNN, the
 * memory plan (same bytes run after run, re-planned for a new shape), Conv
 * fusion (residual Add + Relu fused; a broadcast Z left alone) and the
 * hard-swish chain (bit-identical). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rt/kernels/dnnl/dnnl_stats.h"
#include "../../src/rt/kernels/vec/vec_stats.h"
#include "../../src/rt/kernels/vec/pool_stats.h"
#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, MAXR = 5, MAXIN = 4 };
enum { CONV, FUSED, CONVT, MATMUL, GEMM };

/* One operand: present or not, its dims, whether it is an initializer. */
typedef struct operand {
    int used;
    int rank;
    int64_t d[MAXR];
    int is_const;
} operand;

typedef struct tcase {
    const char *name;
    int op;
    operand in[MAXIN];        /* Conv: X, W, B, (Z); MatMul: A, B; Gemm: A, B, C */
    int64_t group;            /* 0: attribute absent */
    int64_t strides[3], dil[3], pads[6]; /* all-zero: attribute absent */
    const char *auto_pad;
    const char *act;          /* FusedConv */
    int n_params;
    float params[2];
    int trans_a, trans_b;
    float alpha, beta;        /* Gemm: 0 means absent (default 1) */
    int fallback;             /* 1: the fast kernel must hand it over */
    int64_t reshape_dim;      /* >0: also run with another size of input 0's
                                 last dim (Conv) or rows (MatMul): a new plan */
    int64_t opad[3], oshape[3]; /* ConvTranspose; all-zero: absent */
} tcase;

/* X: a 4-D graph input; W: a 4-D initializer; T1: a 1-D initializer;
 * OP(rank, is_const, dims...): anything else */
#define X(...) {1, 4, {__VA_ARGS__}, 0}
#define W(...) {1, 4, {__VA_ARGS__}, 1}
#define T1(...) {1, 1, {__VA_ARGS__}, 1}
#define OP(r, c, ...) {1, r, {__VA_ARGS__}, c}

static const tcase cases[] = {
    /* ---- Conv 2-D */
    {.name = "conv2d_basic", .op = CONV,
     .in = {X(1, 3, 8, 8), W(4, 3, 3, 3), T1(4)}, .pads = {1, 1, 1, 1},
     .reshape_dim = 11},
    {.name = "conv2d_odd_channels_batch2", .op = CONV,
     .in = {X(2, 5, 7, 9), W(9, 5, 3, 3)}},
    {.name = "conv2d_tile8", .op = CONV,
     .in = {X(1, 8, 16, 16), W(8, 8, 3, 3), T1(8)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_ic13_oc17", .op = CONV,
     .in = {X(1, 13, 11, 10), W(17, 13, 3, 3), T1(17)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_oc33_wide", .op = CONV,
     .in = {X(1, 16, 5, 70), W(33, 16, 3, 3), T1(33)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_stride2", .op = CONV,
     .in = {X(1, 16, 15, 17), W(32, 16, 3, 3), T1(32)}, .strides = {2, 2},
     .pads = {1, 1, 1, 1}},
    {.name = "conv2d_stride_asym_pads", .op = CONV,
     .in = {X(1, 6, 13, 14), W(8, 6, 3, 3)}, .strides = {2, 3},
     .pads = {0, 1, 2, 0}},
    {.name = "conv2d_dilation2", .op = CONV,
     .in = {X(1, 8, 12, 12), W(8, 8, 3, 3), T1(8)}, .dil = {2, 2},
     .pads = {2, 2, 2, 2}},
    {.name = "conv2d_dilation_asym_k3x2", .op = CONV,
     .in = {X(1, 4, 10, 11), W(6, 4, 3, 2)}, .strides = {1, 2},
     .dil = {1, 3}, .pads = {1, 0, 0, 2}},
    {.name = "conv2d_kernel_past_input", .op = CONV,
     .in = {X(1, 2, 3, 3), W(4, 2, 5, 5)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_first_layer_ic1", .op = CONV,
     .in = {X(1, 1, 30, 40), W(16, 1, 3, 3), T1(16)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_1x1", .op = CONV,
     .in = {X(1, 32, 9, 10), W(64, 32, 1, 1), T1(64)}},
    {.name = "conv2d_1x1_stride2", .op = CONV,
     .in = {X(1, 16, 9, 11), W(24, 16, 1, 1)}, .strides = {2, 2}},
    {.name = "conv2d_batch3", .op = CONV,
     .in = {X(3, 4, 6, 7), W(5, 4, 3, 3), T1(5)}, .pads = {1, 1, 1, 1}},
    {.name = "conv2d_weights_at_runtime", .op = CONV,
     .in = {X(1, 6, 9, 9), OP(4, 0, 10, 6, 3, 3), OP(1, 0, 10)},
     .pads = {1, 1, 1, 1}, .reshape_dim = 12},
    /* ---- groups, depthwise */
    {.name = "conv2d_group2", .op = CONV,
     .in = {X(1, 8, 10, 10), W(12, 4, 3, 3), T1(12)}, .group = 2,
     .pads = {1, 1, 1, 1}},
    {.name = "conv2d_group3_odd", .op = CONV,
     .in = {X(1, 9, 7, 7), W(6, 3, 3, 3)}, .group = 3},
    {.name = "depthwise_3x3", .op = CONV,
     .in = {X(1, 16, 12, 12), W(16, 1, 3, 3), T1(16)}, .group = 16,
     .pads = {1, 1, 1, 1}, .reshape_dim = 9},
    {.name = "depthwise_5x5_stride2_mult2", .op = CONV,
     .in = {X(1, 8, 9, 9), W(16, 1, 5, 5), T1(16)}, .group = 8,
     .strides = {2, 2}, .pads = {2, 2, 2, 2}},
    {.name = "depthwise_odd_c13", .op = CONV,
     .in = {X(1, 13, 11, 11), W(13, 1, 3, 3)}, .group = 13,
     .pads = {1, 1, 1, 1}},
    {.name = "depthwise_dilated", .op = CONV,
     .in = {X(2, 24, 10, 10), W(24, 1, 3, 3), T1(24)}, .group = 24,
     .dil = {2, 2}, .pads = {2, 2, 2, 2}},
    /* ---- 1-D, 3-D */
    {.name = "conv1d", .op = CONV,
     .in = {OP(3, 0, 2, 6, 50), OP(3, 1, 10, 6, 5), T1(10)}, .pads = {2, 2},
     .reshape_dim = 37},
    {.name = "conv1d_stride_dilation", .op = CONV,
     .in = {OP(3, 0, 1, 4, 31), OP(3, 1, 8, 4, 3)}, .strides = {2},
     .dil = {2}},
    {.name = "conv1d_depthwise", .op = CONV,
     .in = {OP(3, 0, 1, 12, 40), OP(3, 1, 12, 1, 7), T1(12)}, .group = 12,
     .pads = {3, 3}},
    {.name = "conv3d", .op = CONV,
     .in = {OP(5, 0, 1, 3, 6, 7, 8), OP(5, 1, 5, 3, 3, 3, 3), T1(5)},
     .pads = {1, 1, 1, 1, 1, 1}},
    {.name = "conv3d_group_stride", .op = CONV,
     .in = {OP(5, 0, 1, 4, 5, 6, 7), OP(5, 1, 4, 2, 2, 3, 3)}, .group = 2,
     .strides = {1, 2, 2}},
    /* ---- auto_pad, resolved from the input shape */
    {.name = "auto_pad_same_upper", .op = CONV,
     .in = {X(1, 3, 10, 11), W(4, 3, 4, 4), T1(4)}, .strides = {2, 2},
     .auto_pad = "SAME_UPPER", .reshape_dim = 14},
    {.name = "auto_pad_same_lower", .op = CONV,
     .in = {X(1, 3, 10, 11), W(4, 3, 4, 4), T1(4)}, .strides = {2, 2},
     .auto_pad = "SAME_LOWER", .reshape_dim = 14},
    {.name = "auto_pad_same_upper_dilated", .op = CONV,
     .in = {X(1, 4, 9, 9), W(4, 4, 3, 3)}, .dil = {2, 2},
     .auto_pad = "SAME_UPPER"},
    {.name = "auto_pad_valid", .op = CONV,
     .in = {X(1, 3, 9, 9), W(4, 3, 3, 3)}, .strides = {2, 2},
     .auto_pad = "VALID"},
    /* SAME with stride 5 over a 1x1 kernel needs negative padding: the
     * reference kernel's business */
    {.name = "auto_pad_negative_falls_back", .op = CONV,
     .in = {X(1, 2, 10, 10), W(2, 2, 1, 1)}, .strides = {5, 5},
     .auto_pad = "SAME_UPPER", .fallback = 1},
    /* ---- FusedConv: Z and activations as post-ops */
    {.name = "fused_relu_z", .op = FUSED,
     .in = {X(1, 8, 9, 9), W(8, 8, 3, 3), T1(8), X(1, 8, 9, 9)},
     .pads = {1, 1, 1, 1}, .act = "Relu"},
    {.name = "fused_leaky_relu", .op = FUSED,
     .in = {X(1, 5, 8, 8), W(7, 5, 3, 3), T1(7)}, .pads = {1, 1, 1, 1},
     .act = "LeakyRelu", .n_params = 1, .params = {0.2f}},
    {.name = "fused_clip", .op = FUSED,
     .in = {X(1, 4, 8, 8), W(8, 4, 3, 3), T1(8)}, .act = "Clip",
     .n_params = 2, .params = {-0.5f, 0.7f}},
    {.name = "fused_sigmoid_group", .op = FUSED,
     .in = {X(1, 8, 8, 8), W(8, 2, 3, 3), T1(8)}, .group = 4,
     .pads = {1, 1, 1, 1}, .act = "Sigmoid"},
    {.name = "fused_tanh", .op = FUSED,
     .in = {X(1, 3, 7, 7), W(9, 3, 3, 3)}, .pads = {1, 1, 1, 1},
     .act = "Tanh"},
    {.name = "fused_hard_sigmoid_z", .op = FUSED,
     .in = {X(1, 6, 8, 8), W(6, 6, 3, 3), T1(6), X(1, 6, 8, 8)},
     .pads = {1, 1, 1, 1}, .act = "HardSigmoid", .n_params = 2,
     .params = {0.3f, 0.4f}},
    {.name = "fused_none_z_depthwise", .op = FUSED,
     .in = {X(1, 8, 6, 6), W(8, 1, 3, 3), T1(8), X(1, 8, 6, 6)}, .group = 8,
     .pads = {1, 1, 1, 1}},
    /* ---- ConvTranspose */
    {.name = "convT_2x2_stride2", .op = CONVT,
     .in = {X(1, 8, 10, 10), W(8, 4, 2, 2), T1(4)}, .strides = {2, 2},
     .reshape_dim = 13},
    {.name = "convT_3x3_stride2_pads_opad", .op = CONVT,
     .in = {X(1, 6, 7, 9), W(6, 5, 3, 3), T1(5)}, .strides = {2, 2},
     .pads = {1, 1, 1, 1}, .opad = {1, 1}},
    {.name = "convT_asym_pads_strides", .op = CONVT,
     .in = {X(1, 3, 5, 6), W(3, 4, 3, 4)}, .strides = {3, 2},
     .pads = {0, 1, 2, 1}},
    {.name = "convT_group2", .op = CONVT,
     .in = {X(1, 8, 6, 6), W(8, 3, 3, 3), T1(6)}, .group = 2,
     .pads = {1, 1, 1, 1}},
    {.name = "convT_depthwise_stride2", .op = CONVT,
     .in = {X(1, 8, 6, 6), W(8, 1, 4, 4), T1(8)}, .group = 8,
     .strides = {2, 2}, .pads = {1, 1, 1, 1}},
    {.name = "convT_dilated", .op = CONVT,
     .in = {X(1, 4, 5, 5), W(4, 3, 3, 3)}, .dil = {2, 2}},
    {.name = "convT_1d", .op = CONVT,
     .in = {OP(3, 0, 1, 4, 20), OP(3, 1, 4, 6, 5), T1(6)}, .strides = {3}},
    {.name = "convT_3d", .op = CONVT,
     .in = {OP(5, 0, 1, 3, 4, 5, 6), OP(5, 1, 3, 2, 3, 3, 3)},
     .strides = {2, 2, 2}, .pads = {1, 1, 1, 1, 1, 1}},
    {.name = "convT_output_shape", .op = CONVT,
     .in = {X(1, 4, 5, 5), W(4, 3, 3, 3)}, .strides = {2, 2},
     .oshape = {10, 11}},
    {.name = "convT_same_upper", .op = CONVT,
     .in = {X(1, 4, 5, 6), W(4, 3, 3, 3), T1(3)}, .strides = {2, 2},
     .auto_pad = "SAME_UPPER"},
    {.name = "convT_same_lower", .op = CONVT,
     .in = {X(1, 4, 5, 6), W(4, 3, 3, 3), T1(3)}, .strides = {2, 2},
     .auto_pad = "SAME_LOWER"},
    {.name = "convT_weights_at_runtime", .op = CONVT,
     .in = {X(1, 5, 6, 7), OP(4, 0, 5, 3, 3, 3)}, .strides = {2, 2},
     .pads = {1, 1, 1, 1}},
    /* output_padding past the end pad would need a negative one in oneDNN */
    {.name = "convT_opad_past_pad_falls_back", .op = CONVT,
     .in = {X(1, 4, 5, 5), W(4, 3, 3, 3)}, .strides = {2, 2}, .opad = {1, 1},
     .fallback = 1},
    /* ---- MatMul */
    {.name = "matmul_2d", .op = MATMUL,
     .in = {OP(2, 0, 7, 13), OP(2, 0, 13, 9)}},
    {.name = "matmul_tiles", .op = MATMUL,
     .in = {OP(2, 0, 16, 64), OP(2, 1, 64, 48)}},
    {.name = "matmul_1d_a", .op = MATMUL, .in = {OP(1, 0, 13), OP(2, 1, 13, 5)}},
    {.name = "matmul_1d_b", .op = MATMUL,
     .in = {OP(3, 0, 3, 4, 13), OP(1, 1, 13)}},
    {.name = "matmul_1d_both", .op = MATMUL, .in = {OP(1, 0, 13), OP(1, 0, 13)}},
    {.name = "matmul_batched_4d", .op = MATMUL,
     .in = {OP(4, 0, 2, 3, 5, 7), OP(4, 0, 2, 3, 7, 4)}},
    {.name = "matmul_broadcast_b_2d", .op = MATMUL,
     .in = {OP(3, 0, 4, 5, 6), OP(2, 1, 6, 3)}},
    {.name = "matmul_broadcast_a_2d", .op = MATMUL,
     .in = {OP(2, 0, 5, 6), OP(3, 0, 4, 6, 3)}},
    {.name = "matmul_broadcast_both", .op = MATMUL,
     .in = {OP(4, 0, 2, 1, 5, 6), OP(4, 0, 1, 3, 6, 4)}},
    {.name = "matmul_const_b_batched", .op = MATMUL,
     .in = {OP(3, 0, 3, 5, 6), OP(3, 1, 3, 6, 4)}},
    {.name = "matmul_transformer_like", .op = MATMUL,
     .in = {OP(3, 0, 1, 50, 96), OP(2, 1, 96, 130)}, .reshape_dim = 77},
    /* ---- Gemm */
    {.name = "gemm_bias_row", .op = GEMM,
     .in = {OP(2, 0, 6, 10), OP(2, 1, 10, 7), OP(1, 1, 7)}},
    {.name = "gemm_linear_transb", .op = GEMM,
     .in = {OP(2, 0, 3, 40), OP(2, 1, 17, 40), OP(1, 1, 17)}, .trans_b = 1},
    {.name = "gemm_transa", .op = GEMM,
     .in = {OP(2, 0, 10, 6), OP(2, 1, 10, 7), OP(2, 1, 1, 7)}, .trans_a = 1},
    {.name = "gemm_transa_transb_full_c", .op = GEMM,
     .in = {OP(2, 0, 10, 6), OP(2, 1, 7, 10), OP(2, 1, 6, 7)}, .trans_a = 1,
     .trans_b = 1},
    {.name = "gemm_alpha_beta_column_c", .op = GEMM,
     .in = {OP(2, 0, 6, 9), OP(2, 1, 9, 5), OP(2, 1, 6, 1)}, .alpha = 0.5f,
     .beta = 2.0f},
    {.name = "gemm_alpha_no_c", .op = GEMM,
     .in = {OP(2, 0, 5, 8), OP(2, 0, 8, 3)}, .alpha = 2.0f},
    {.name = "gemm_scalar_c", .op = GEMM,
     .in = {OP(2, 0, 4, 8), OP(2, 1, 8, 3), OP(0, 1, 0)}},
    {.name = "gemm_beta_half_1x1_c", .op = GEMM,
     .in = {OP(2, 0, 4, 8), OP(2, 1, 8, 3), OP(2, 1, 1, 1)}, .beta = 0.5f},
    {.name = "gemm_c_at_runtime", .op = GEMM,
     .in = {OP(2, 0, 9, 33), OP(2, 0, 33, 17), OP(2, 0, 9, 17)},
     .alpha = 1.5f, .beta = 0.25f},
};

/* ---- data ---------------------------------------------------------------- */

static unsigned rng_state = 12345u;

static float frand(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static size_t numel(const operand *o)
{
    size_t n = 1;
    for (int i = 0; i < o->rank; i++)
        n *= (size_t)o->d[i];
    return n;
}

static const char *const in_names[MAXIN] = {"i0", "i1", "i2", "i3"};

static const char *op_name(int op)
{
    return op == CONV ? "Conv" : op == FUSED ? "FusedConv"
           : op == CONVT ? "ConvTranspose" : op == MATMUL ? "MatMul" : "Gemm";
}

/* A one-node model for c; constant operands take their data from data[i]. */
static onnxq_model *build(const tcase *c, float *const *data)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    if (c->op == FUSED)
        onnxq_build_opset(p, "com.microsoft", 1);
    const char *ins[MAXIN];
    size_t n_in = 0;
    for (int i = 0; i < MAXIN; i++) {
        const operand *o = &c->in[i];
        if (!o->used)
            break;
        ins[n_in++] = in_names[i];
        if (o->is_const) {
            onnxq_build_initializer(p->graph, in_names[i], F32, (size_t)o->rank,
                                    o->d, data[i]);
            continue;
        }
        /* every dim symbolic (its own name), so other shapes may run */
        int64_t dims[MAXR];
        char names[MAXR][16];
        const char *dp[MAXR];
        for (int d = 0; d < o->rank; d++) {
            dims[d] = -1;
            snprintf(names[d], sizeof names[d], "%c%d", 'a' + i, d);
            dp[d] = names[d];
        }
        onnxq_build_input(p->graph, in_names[i], F32, o->rank, dims, dp);
    }
    const char *outs[] = {"y"};
    Onnx__NodeProto *n = onnxq_build_node(p->graph, op_name(c->op), c->name,
                                          ins, n_in, outs, 1);
    if (c->op == FUSED) {
        onnxq_build_node_domain(n, "com.microsoft");
        if (c->act)
            onnxq_build_attr_string(n, "activation", c->act);
        if (c->n_params)
            onnxq_build_attr_floats(n, "activation_params", c->params,
                                    (size_t)c->n_params);
    }
    if (c->op == CONV || c->op == FUSED || c->op == CONVT) {
        int ns = c->in[0].rank - 2;
        if (c->opad[0])
            onnxq_build_attr_ints(n, "output_padding", c->opad, (size_t)ns);
        if (c->oshape[0])
            onnxq_build_attr_ints(n, "output_shape", c->oshape, (size_t)ns);
        if (c->group)
            onnxq_build_attr_int(n, "group", c->group);
        if (c->strides[0])
            onnxq_build_attr_ints(n, "strides", c->strides, (size_t)ns);
        if (c->dil[0])
            onnxq_build_attr_ints(n, "dilations", c->dil, (size_t)ns);
        int any_pad = 0;
        for (int i = 0; i < 2 * ns; i++)
            any_pad |= c->pads[i] != 0;
        if (any_pad)
            onnxq_build_attr_ints(n, "pads", c->pads, (size_t)(2 * ns));
        if (c->auto_pad)
            onnxq_build_attr_string(n, "auto_pad", c->auto_pad);
        onnxq_build_attr_ints(n, "kernel_shape", c->in[1].d + 2, (size_t)ns);
    }
    if (c->op == GEMM) {
        if (c->trans_a)
            onnxq_build_attr_int(n, "transA", 1);
        if (c->trans_b)
            onnxq_build_attr_int(n, "transB", 1);
        if (c->alpha != 0)
            onnxq_build_attr_float(n, "alpha", c->alpha);
        if (c->beta != 0)
            onnxq_build_attr_float(n, "beta", c->beta);
    }
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

/* Runs s on the non-constant operands of c (data[i], dims from ops[i]). */
static onnxq_tensor *run(onnxq_session *s, const tcase *c, const operand *ops,
                         float *const *data, const char *what)
{
    onnxq_tensor in[MAXIN];
    size_t n = 0;
    for (int i = 0; i < MAXIN && ops[i].used; i++) {
        if (ops[i].is_const)
            continue;
        in[n].dtype = F32;
        in[n].rank = ops[i].rank;
        memcpy(in[n].dims, ops[i].d, sizeof ops[i].d);
        in[n].data = data[i];
        n++;
    }
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (onnxq_session_run(s, in, n, &out, &n_out, &err) != ONNXQ_OK) {
        fprintf(stderr, "%s (%s): %s\n", c->name, what, err.message);
        test_failures++;
        return NULL;
    }
    return out;
}

/* float32 tolerance against the double-precision reference. */
static void compare(const tcase *c, const char *what, const onnxq_tensor *fast,
                    const onnxq_tensor *ref)
{
    if (!fast || !ref)
        return;
    CHECK_EQ_INT(fast->rank, ref->rank);
    if (fast->rank != ref->rank ||
        memcmp(fast->dims, ref->dims, (size_t)ref->rank * sizeof *ref->dims)) {
        fprintf(stderr, "%s (%s): shapes differ\n", c->name, what);
        test_failures++;
        return;
    }
    size_t n = onnxq_tensor_nbytes(ref) / sizeof(float);
    const float *a = fast->data, *b = ref->data;
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        double r = fabs(b[i]), dlt = fabs((double)a[i] - b[i]);
        if (r > max_ref)
            max_ref = r;
        if (dlt > max_diff || isnan(dlt))
            max_diff = isnan(dlt) ? INFINITY : dlt;
    }
    if (!(max_diff <= 1e-4 * (1 + max_ref))) {
        fprintf(stderr, "%s (%s): max |fast - ref| = %g, max |ref| = %g\n",
                c->name, what, max_diff, max_ref);
        test_failures++;
    }
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

static void fill(float **data, const operand *ops)
{
    for (int i = 0; i < MAXIN && ops[i].used; i++) {
        size_t n = numel(&ops[i]);
        free(data[i]);
        data[i] = malloc((n ? n : 1) * sizeof(float));
        for (size_t k = 0; k < n; k++)
            data[i][k] = frand();
    }
}

/* One run in both sessions on ops/data; checks the fast path was (or was
 * not) taken and returns the packs it made. */
static size_t both(const tcase *c, onnxq_session *fast, onnxq_session *ref,
                   const operand *ops, float *const *data, const char *what)
{
    oq_dnnl_stats s0 = oq_dnnl_stats_get();
    onnxq_tensor *yf = run(fast, c, ops, data, what);
    oq_dnnl_stats s1 = oq_dnnl_stats_get();
    onnxq_tensor *yr = run(ref, c, ops, data, what);
    oq_dnnl_stats s2 = oq_dnnl_stats_get();
    compare(c, what, yf, yr);
    size_t fast_runs = s1.fast_runs - s0.fast_runs;
    size_t fallbacks = s1.fallback_runs - s0.fallback_runs;
    if (fast_runs != (size_t)!c->fallback || fallbacks != (size_t)c->fallback) {
        fprintf(stderr, "%s (%s): %zu oneDNN runs, %zu fallbacks; expected "
                "the %s\n", c->name, what, fast_runs, fallbacks,
                c->fallback ? "reference kernel" : "oneDNN kernel");
        test_failures++;
    }
    /* reference_only really skips the fast kernels */
    CHECK(s2.fast_runs == s1.fast_runs && s2.fallback_runs == s1.fallback_runs);
    onnxq_tensors_free(yf, 1);
    onnxq_tensors_free(yr, 1);
    return s1.weight_packs - s0.weight_packs;
}

static void run_case(const tcase *c, int threads)
{
    onnxq_model *m;
    float *data[MAXIN] = {0};
    operand ops[MAXIN];
    memcpy(ops, c->in, sizeof ops);
    fill(data, ops);
    m = build(c, data);
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    if (!fast || !ref)
        goto done;

    oq_dnnl_stats s0 = oq_dnnl_stats_get();
    both(c, fast, ref, ops, data, "first run");
    oq_dnnl_stats s1 = oq_dnnl_stats_get();
    /* the same shapes again: plan and packed weights are reused */
    size_t packs = both(c, fast, ref, ops, data, "second run");
    oq_dnnl_stats s2 = oq_dnnl_stats_get();
    CHECK_EQ_INT(packs, 0);
    if (s2.plans != s1.plans) {
        fprintf(stderr, "%s: the second run made a new plan\n", c->name);
        test_failures++;
    }
    if (!c->fallback && s1.plans == s0.plans) {
        fprintf(stderr, "%s: the first run made no plan\n", c->name);
        test_failures++;
    }

    /* weights that are a graph input: new values are re-packed */
    if (!c->fallback && (c->op == CONV || c->op == FUSED || c->op == CONVT) &&
        !ops[1].is_const) {
        size_t n = numel(&ops[1]);
        for (size_t k = 0; k < n; k++)
            data[1][k] = frand();
        both(c, fast, ref, ops, data, "new runtime weights");
    }
    /* another input shape: a new plan */
    if (c->reshape_dim) {
        int conv = c->op == CONV || c->op == FUSED || c->op == CONVT;
        ops[0].d[ops[0].rank - (conv ? 1 : 2)] = c->reshape_dim;
        fill(data, ops);
        /* constants keep their values (the model's) */
        oq_dnnl_stats r0 = oq_dnnl_stats_get();
        both(c, fast, ref, ops, data, "new input shape");
        oq_dnnl_stats r1 = oq_dnnl_stats_get();
        if (r1.plans == r0.plans) {
            fprintf(stderr, "%s: a new shape made no plan\n", c->name);
            test_failures++;
        }
    }
done:
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    for (int i = 0; i < MAXIN; i++)
        free(data[i]);
}

/* ---- vectorised fast kernels (src/rt/kernels/vec) and the executor -------
 * One-node models again, fast vs reference_only on the same inputs (NaN,
 * infinities and signed zeros mixed in).  Tolerance per op: Add, Sub, Mul,
 * Div, Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, BatchNormalization
 * and Resize compute each element with the reference's expression and
 * precision, so results must be bit-identical; GlobalAveragePool adds its
 * double sum in another order: within 1e-6 * (1 + |reference|); Sigmoid
 * and Softmax use a float exp (2 ulp) where the reference uses double:
 * within 1e-6 * |reference| + 1e-30. */

typedef struct vcase {
    const char *name;
    const char *op;
    int opset;
    int n_in;
    operand in[5];            /* rank-0 operands: OP(0, c, 0) */
    const char *sattr[3][2];  /* string attributes: name, value */
    const char *fattr[2];     /* float attributes: names */
    float fval[2];
    float cval[3][4];         /* values of small constant inputs (Clip, Resize);
                                 NaN in [0]: random */
    int sizes;                /* Resize: input 3 is int64 sizes (cval[2]) */
    int fallback;             /* 1: the vec kernel must hand it over */
    int tolerant;             /* 1: GlobalAveragePool's tolerance, 2: exp's */
    const char *iattr;        /* an int attribute: name, value */
    int64_t ival;
} vcase;

#define RND {NAN}
static const vcase vcases[] = {
    {.name = "add_same_shape", .op = "Add", .opset = 13, .n_in = 2,
     .in = {X(2, 3, 5, 7), X(2, 3, 5, 7)}},
    {.name = "add_large_parallel", .op = "Add", .opset = 13, .n_in = 2,
     .in = {X(1, 16, 48, 64), X(1, 16, 48, 64)}},
    {.name = "add_scalar_b", .op = "Add", .opset = 13, .n_in = 2,
     .in = {X(2, 3, 5, 7), OP(0, 1, 0)}},
    {.name = "sub_scalar_a", .op = "Sub", .opset = 13, .n_in = 2,
     .in = {OP(1, 1, 1), X(2, 3, 4, 5)}},
    {.name = "mul_per_channel_c11", .op = "Mul", .opset = 13, .n_in = 2,
     .in = {X(1, 8, 6, 6), OP(3, 1, 8, 1, 1)}},
    {.name = "div_per_channel_nchw", .op = "Div", .opset = 13, .n_in = 2,
     .in = {X(2, 5, 4, 3), X(1, 5, 1, 1)}},
    {.name = "mul_per_channel_large", .op = "Mul", .opset = 13, .n_in = 2,
     .in = {X(1, 32, 40, 40), X(1, 32, 1, 1)}},
    {.name = "add_last_axis_vector", .op = "Add", .opset = 13, .n_in = 2,
     .in = {OP(3, 0, 4, 6, 10), T1(10)}},
    {.name = "mul_outer_product", .op = "Mul", .opset = 13, .n_in = 2,
     .in = {OP(2, 0, 5, 1), OP(2, 0, 1, 7)}},
    {.name = "add_middle_broadcast", .op = "Add", .opset = 13, .n_in = 2,
     .in = {OP(3, 0, 3, 1, 4), OP(3, 0, 3, 5, 4)}},
    {.name = "sub_both_broadcast_4d", .op = "Sub", .opset = 13, .n_in = 2,
     .in = {X(2, 1, 3, 1), X(1, 4, 1, 5)}},
    {.name = "div_by_zero_and_inf", .op = "Div", .opset = 13, .n_in = 2,
     .in = {X(1, 2, 3, 3), X(1, 2, 3, 3)}},
    {.name = "add_opset7", .op = "Add", .opset = 7, .n_in = 2,
     .in = {X(1, 3, 2, 2), T1(2)}},
    {.name = "relu", .op = "Relu", .opset = 14, .n_in = 1,
     .in = {X(2, 3, 17, 9)}},
    {.name = "leaky_relu_alpha", .op = "LeakyRelu", .opset = 16, .n_in = 1,
     .in = {X(1, 4, 9, 9)},
     .fattr = {"alpha"}, .fval = {0.3f}},
    {.name = "clip_inputs_min_max", .op = "Clip", .opset = 13, .n_in = 3,
     .in = {X(1, 4, 9, 9), OP(0, 1, 0), OP(0, 1, 0)},
     .cval = {RND, {-0.25f}, {0.5f}}},
    {.name = "clip_max_only", .op = "Clip", .opset = 13, .n_in = 3,
     .in = {X(1, 4, 9, 9), {0}, OP(0, 1, 0)},
     .cval = {RND, RND, {0.1f}}},
    {.name = "clip_no_bounds", .op = "Clip", .opset = 13, .n_in = 1,
     .in = {X(1, 4, 9, 9)}},
    {.name = "clip_opset6_attrs", .op = "Clip", .opset = 6, .n_in = 1,
     .in = {X(1, 4, 9, 9)},
     .fattr = {"min", "max"}, .fval = {0.0f, 6.0f}},
    {.name = "hard_sigmoid_params", .op = "HardSigmoid", .opset = 6, .n_in = 1,
     .in = {X(1, 5, 7, 7)},
     .fattr = {"alpha", "beta"}, .fval = {0.3f, 0.4f}},
    {.name = "hard_sigmoid_large", .op = "HardSigmoid", .opset = 6, .n_in = 1,
     .in = {X(1, 32, 40, 40)}},
    {.name = "hard_swish", .op = "HardSwish", .opset = 14, .n_in = 1,
     .in = {X(1, 5, 7, 7)}},
    {.name = "batch_norm", .op = "BatchNormalization", .opset = 15, .n_in = 5,
     .in = {X(2, 6, 5, 7), T1(6), T1(6), T1(6), T1(6)}},
    {.name = "batch_norm_rank2_opset9", .op = "BatchNormalization", .opset = 9, .n_in = 5,
     .in = {OP(2, 0, 4, 6), T1(6), T1(6), T1(6), T1(6)}},
    {.name = "global_average_pool", .op = "GlobalAveragePool", .opset = 13, .n_in = 1,
     .in = {X(2, 6, 5, 7)},
     .tolerant = 1},
    {.name = "global_average_pool_1d_big", .op = "GlobalAveragePool", .opset = 13, .n_in = 1,
     .in = {OP(3, 0, 1, 40, 1999)}, .tolerant = 1},
    {.name = "sigmoid", .op = "Sigmoid", .opset = 13, .n_in = 1,
     .in = {X(1, 4, 9, 9)}, .tolerant = 2},
    {.name = "sigmoid_large", .op = "Sigmoid", .opset = 13, .n_in = 1,
     .in = {X(1, 32, 40, 40)}, .tolerant = 2},
    {.name = "softmax_last_axis", .op = "Softmax", .opset = 13, .n_in = 1,
     .in = {X(2, 3, 5, 40)}, .tolerant = 2},
    {.name = "softmax_rec_like", .op = "Softmax", .opset = 13, .n_in = 1,
     .in = {OP(3, 0, 1, 40, 6625)}, .tolerant = 2},
    {.name = "softmax_opset11_coerced_axis1", .op = "Softmax", .opset = 11,
     .n_in = 1, .in = {X(2, 3, 4, 5)}, .tolerant = 2},
    {.name = "softmax_axis1_opset13_falls_back", .op = "Softmax", .opset = 13,
     .n_in = 1, .in = {X(2, 3, 4, 5)}, .iattr = "axis", .ival = 1,
     .fallback = 1},
    {.name = "resize_nearest_x2_scales", .op = "Resize", .opset = 13, .n_in = 3,
     .in = {X(1, 3, 5, 6), {0}, OP(1, 1, 4)},
     .sattr = {{"mode", "nearest"}, {"coordinate_transformation_mode", "asymmetric"},
               {"nearest_mode", "floor"}},
     .cval = {RND, RND, {1, 1, 2, 2}}},
    {.name = "resize_nearest_sizes_x2_x3", .op = "Resize", .opset = 13, .n_in = 4,
     .in = {X(1, 3, 5, 6), {0}, {0}, OP(1, 1, 4)},
     .sattr = {{"mode", "nearest"}, {"coordinate_transformation_mode", "asymmetric"},
               {"nearest_mode", "floor"}},
     .sizes = 1, .cval = {RND, RND, {1, 3, 10, 18}}},
    {.name = "resize_linear_falls_back", .op = "Resize", .opset = 13, .n_in = 3,
     .in = {X(1, 3, 5, 6), {0}, OP(1, 1, 4)},
     .sattr = {{"mode", "linear"}}, .cval = {RND, RND, {1, 1, 2, 2}},
     .fallback = 1},
    {.name = "resize_half_pixel_falls_back", .op = "Resize", .opset = 13, .n_in = 3,
     .in = {X(1, 3, 5, 6), {0}, OP(1, 1, 4)},
     .sattr = {{"mode", "nearest"}}, .cval = {RND, RND, {1, 1, 2, 2}},
     .fallback = 1},
};

/* Random data with a few special values: NaN, +-inf, -0. */
static void vfill(float *d, size_t n)
{
    for (size_t k = 0; k < n; k++)
        d[k] = 4 * frand();
    if (n > 8) {
        d[1] = NAN;
        d[3] = INFINITY;
        d[5] = -INFINITY;
        d[7] = -0.0f;
        d[2] = 0.0f;
    }
}

static onnxq_model *vbuild(const vcase *c, float *const *data)
{
    Onnx__ModelProto *p = onnxq_build_model(c->opset);
    static const char *const names[5] = {"i0", "i1", "i2", "i3", "i4"};
    const char *ins[5];
    for (int i = 0; i < c->n_in; i++) {
        const operand *o = &c->in[i];
        if (!o->used) {
            ins[i] = "";
            continue;
        }
        ins[i] = names[i];
        if (o->is_const) {
            if (c->sizes && i == 3) {
                int64_t v[4];
                for (int k = 0; k < 4; k++)
                    v[k] = (int64_t)c->cval[2][k];
                onnxq_build_initializer(p->graph, ins[i],
                                        ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                                        (size_t)o->rank, o->d, v);
            } else {
                onnxq_build_initializer(p->graph, ins[i], F32, (size_t)o->rank,
                                        o->d, data[i]);
            }
            continue;
        }
        onnxq_build_input(p->graph, ins[i], F32, o->rank, o->d, NULL);
    }
    const char *outs[] = {"y"};
    Onnx__NodeProto *n = onnxq_build_node(p->graph, c->op, c->name, ins,
                                          (size_t)c->n_in, outs, 1);
    for (int a = 0; a < 3 && c->sattr[a][0]; a++)
        onnxq_build_attr_string(n, c->sattr[a][0], c->sattr[a][1]);
    for (int a = 0; a < 2 && c->fattr[a]; a++)
        onnxq_build_attr_float(n, c->fattr[a], c->fval[a]);
    if (c->iattr)
        onnxq_build_attr_int(n, c->iattr, c->ival);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void run_vcase(const vcase *c, int threads)
{
    float *data[5] = {0};
    for (int i = 0; i < c->n_in; i++) {
        const operand *o = &c->in[i];
        size_t n = o->used ? numel(o) : 1;
        data[i] = malloc((n ? n : 1) * sizeof(float));
        vfill(data[i], n);
        if (i < 3 && !isnan(c->cval[i][0]))
            for (size_t k = 0; k < n && k < 4; k++)
                data[i][k] = c->cval[i][k];
        if (c->op[0] == 'B' && i == 4) /* variances: positive */
            for (size_t k = 0; k < n; k++)
                data[i][k] = fabsf(data[i][k]) + 0.1f;
    }
    onnxq_model *m = vbuild(c, data);
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    onnxq_tensor in[5];
    size_t n_in = 0;
    for (int i = 0; i < c->n_in; i++) {
        const operand *o = &c->in[i];
        if (!o->used || o->is_const)
            continue;
        in[n_in].dtype = F32;
        in[n_in].rank = o->rank;
        memcpy(in[n_in].dims, o->d, sizeof o->d);
        in[n_in].data = data[i];
        n_in++;
    }
    for (int rep = 0; fast && ref && rep < 2; rep++) {
        onnxq_tensor *yf = NULL, *yr = NULL;
        size_t nf = 0, nr = 0;
        onnxq_error err;
        oq_vec_stats s0 = oq_vec_stats_get();
        if (onnxq_session_run(fast, in, n_in, &yf, &nf, &err) != ONNXQ_OK) {
            fprintf(stderr, "%s: %s\n", c->name, err.message);
            test_failures++;
        }
        oq_vec_stats s1 = oq_vec_stats_get();
        if (onnxq_session_run(ref, in, n_in, &yr, &nr, &err) != ONNXQ_OK) {
            fprintf(stderr, "%s (reference): %s\n", c->name, err.message);
            test_failures++;
        }
        oq_vec_stats s2 = oq_vec_stats_get();
        CHECK(s2.fast_runs == s1.fast_runs && s2.fallback_runs == s1.fallback_runs);
        if (s1.fast_runs - s0.fast_runs != (size_t)!c->fallback ||
            s1.fallback_runs - s0.fallback_runs != (size_t)c->fallback) {
            fprintf(stderr, "%s: expected the %s\n", c->name,
                    c->fallback ? "reference kernel" : "vec kernel");
            test_failures++;
        }
        if (yf && yr) {
            CHECK(yf->rank == yr->rank &&
                  memcmp(yf->dims, yr->dims, sizeof yf->dims[0] * (size_t)yr->rank) == 0);
            size_t n = onnxq_tensor_nbytes(yr) / sizeof(float), bad = 0;
            const float *a = yf->data, *b = yr->data;
            for (size_t k = 0; k < n && onnxq_tensor_nbytes(yf) == n * 4; k++) {
                float tol = c->tolerant == 1   ? 1e-6f * (1 + fabsf(b[k]))
                            : c->tolerant == 2 ? 1e-6f * fabsf(b[k]) + 1e-30f
                                               : 0;
                int ok = same_float(a[k], b[k]) || fabsf(a[k] - b[k]) <= tol;
                if (!ok && bad++ < 3)
                    fprintf(stderr, "%s: element %zu: fast %.9g, reference "
                            "%.9g\n", c->name, k, a[k], b[k]);
            }
            if (bad)
                test_failures++;
        }
        onnxq_tensors_free(yf, nf);
        onnxq_tensors_free(yr, nr);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    for (int i = 0; i < 5; i++)
        free(data[i]);
}

/* ---- the executor: Constant weights, the memory plan ----------------------- */

/* x [1,4,H,W] -> Conv (W from a Constant node, pads 1) -> Relu -> Mul x ->
 * Sigmoid (a reference kernel) -> Add the Relu's output -> y. */
static onnxq_model *chain_model(const float *w, const float *b)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    int64_t wd[4] = {4, 4, 3, 3}, bd[1] = {4}, xd[4] = {1, 4, -1, -1};
    const char *dp[4] = {NULL, NULL, "h", "w"};
    onnxq_build_input(p->graph, "x", F32, 4, xd, dp);
    onnxq_build_initializer(p->graph, "b", F32, 1, bd, b);
    const char *c_out[] = {"w"};
    Onnx__NodeProto *cn = onnxq_build_node(p->graph, "Constant", "wconst", NULL,
                                           0, c_out, 1);
    onnxq_build_attr_tensor(cn, "value", onnxq_build_tensor("w", F32, 4, wd, w));
    const char *conv_in[] = {"x", "w", "b"}, *conv_out[] = {"a"};
    Onnx__NodeProto *conv = onnxq_build_node(p->graph, "Conv", "conv", conv_in,
                                             3, conv_out, 1);
    int64_t pads[4] = {1, 1, 1, 1};
    onnxq_build_attr_ints(conv, "pads", pads, 4);
    const char *r_in[] = {"a"}, *r_out[] = {"r"};
    onnxq_build_node(p->graph, "Relu", "relu", r_in, 1, r_out, 1);
    const char *m_in[] = {"r", "x"}, *m_out[] = {"m"};
    onnxq_build_node(p->graph, "Mul", "mul", m_in, 2, m_out, 1);
    const char *s_in[] = {"m"}, *s_out[] = {"s"};
    onnxq_build_node(p->graph, "Sigmoid", "sig", s_in, 1, s_out, 1);
    const char *a_in[] = {"s", "r"}, *a_out[] = {"y"};
    onnxq_build_node(p->graph, "Add", "add", a_in, 2, a_out, 1);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static onnxq_tensor *run_x(onnxq_session *s, const float *x, int64_t h,
                           int64_t w)
{
    onnxq_tensor in = {F32, 4, {1, 4, h, w}, (void *)x};
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (onnxq_session_run(s, &in, 1, &out, &n_out, &err) != ONNXQ_OK) {
        fprintf(stderr, "chain: %s\n", err.message);
        test_failures++;
        return NULL;
    }
    return out;
}

/* Fast and reference results within the Conv's tolerance. */
static void chain_compare(const char *what, const onnxq_tensor *f,
                          const onnxq_tensor *r)
{
    if (!f || !r)
        return;
    size_t n = onnxq_tensor_nbytes(r) / sizeof(float), bad = 0;
    CHECK(onnxq_tensor_nbytes(f) == n * sizeof(float));
    for (size_t k = 0; k < n; k++) {
        float a = ((const float *)f->data)[k], b = ((const float *)r->data)[k];
        if (!(fabsf(a - b) <= 1e-4f * (1 + fabsf(b))) && bad++ < 3)
            fprintf(stderr, "chain (%s): element %zu: fast %.9g, reference "
                    "%.9g\n", what, k, a, b);
    }
    if (bad)
        test_failures++;
}

static void run_executor_cases(void)
{
    float w[144], b[4], x1[4 * 9 * 11], x2[4 * 13 * 7];
    for (size_t i = 0; i < 144; i++)
        w[i] = frand();
    for (size_t i = 0; i < 4; i++)
        b[i] = frand();
    for (size_t i = 0; i < sizeof x1 / sizeof *x1; i++)
        x1[i] = frand();
    for (size_t i = 0; i < sizeof x2 / sizeof *x2; i++)
        x2[i] = frand();
    onnxq_model *m = chain_model(w, b);
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.n_threads = 1;
    o.profile = 1;
    onnxq_session *fast = NULL, *ref = NULL;
    CHECK(onnxq_session_create(m, &o, &fast, NULL) == ONNXQ_OK);
    o.reference_only = 1;
    CHECK(onnxq_session_create(m, &o, &ref, NULL) == ONNXQ_OK);
    if (!fast || !ref)
        goto done;
    CHECK_EQ_INT(onnxq_session_planned_bytes(fast), 0);
    onnxq_tensor *r1 = run_x(ref, x1, 9, 11), *r2 = run_x(ref, x2, 13, 7);
    oq_dnnl_stats d0 = oq_dnnl_stats_get();
    onnxq_tensor *f1 = run_x(fast, x1, 9, 11);
    oq_dnnl_stats d1 = oq_dnnl_stats_get();
    /* the Constant's W reached the Conv's prepare: oneDNN ran it */
    CHECK_EQ_INT(d1.fast_runs - d0.fast_runs, 1);
    chain_compare("first run", f1, r1);
    /* the plan: every intermediate tensor (a, r, m, s: 4 x 396 floats, of
     * which at most three live at once) and the Conv's scratch in one arena */
    size_t planned = onnxq_session_planned_bytes(fast);
    CHECK(planned >= 3 * 396 * sizeof(float));
    /* replaying it gives the same bytes, run after run */
    for (int rep = 0; rep < 3; rep++) {
        onnxq_tensor *again = run_x(fast, x1, 9, 11);
        if (again && f1)
            CHECK(memcmp(again->data, f1->data, onnxq_tensor_nbytes(f1)) == 0);
        onnxq_tensors_free(again, 1);
        CHECK_EQ_INT(onnxq_session_planned_bytes(fast), planned);
    }
    /* a new shape: a new plan, right results; then back to the first */
    onnxq_tensor *f2 = run_x(fast, x2, 13, 7);
    chain_compare("second shape", f2, r2);
    onnxq_tensor *f2b = run_x(fast, x2, 13, 7);
    chain_compare("second shape, replayed", f2b, r2);
    CHECK(onnxq_session_planned_bytes(fast) != planned);
    onnxq_tensor *f1b = run_x(fast, x1, 9, 11);
    if (f1b && f1)
        CHECK(memcmp(f1b->data, f1->data, onnxq_tensor_nbytes(f1)) == 0);
    /* the Constant was computed once, at preparation: it never ran */
    const onnxq_op_time *times;
    size_t nt = onnxq_session_op_times(fast, &times);
    CHECK(nt > 0);
    for (size_t i = 0; i < nt; i++)
        CHECK(strcmp(times[i].op_type, "Constant") != 0);
    onnxq_tensors_free(r1, 1);
    onnxq_tensors_free(r2, 1);
    onnxq_tensors_free(f1, 1);
    onnxq_tensors_free(f2, 1);
    onnxq_tensors_free(f2b, 1);
    onnxq_tensors_free(f1b, 1);
done:
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
}

/* x [1,4,H,W] -> Conv (pads 1) -> Relu -> Conv (pads 1) -> Add Z -> Relu
 * -> y, Z being x itself (fused: FusedConv with the sum post-op) or a
 * constant [4,1,1] (broadcast: FusedConv cannot take it, the nodes run as
 * they are). */
static onnxq_model *residual_model(const float *w1, const float *w2,
                                   const float *zc, int broadcast_z)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    int64_t wd[4] = {4, 4, 3, 3}, xd[4] = {1, 4, -1, -1}, zd[3] = {4, 1, 1};
    const char *dp[4] = {NULL, NULL, "h", "w"};
    int64_t pads[4] = {1, 1, 1, 1};
    onnxq_build_input(p->graph, "x", F32, 4, xd, dp);
    onnxq_build_initializer(p->graph, "w1", F32, 4, wd, w1);
    onnxq_build_initializer(p->graph, "w2", F32, 4, wd, w2);
    onnxq_build_initializer(p->graph, "zc", F32, 3, zd, zc);
    const char *c1_in[] = {"x", "w1"}, *c1_out[] = {"c1"};
    onnxq_build_attr_ints(onnxq_build_node(p->graph, "Conv", "conv1", c1_in, 2,
                                           c1_out, 1), "pads", pads, 4);
    const char *r1_in[] = {"c1"}, *r1_out[] = {"r1"};
    onnxq_build_node(p->graph, "Relu", "relu1", r1_in, 1, r1_out, 1);
    const char *c2_in[] = {"r1", "w2"}, *c2_out[] = {"c2"};
    onnxq_build_attr_ints(onnxq_build_node(p->graph, "Conv", "conv2", c2_in, 2,
                                           c2_out, 1), "pads", pads, 4);
    const char *a_in[] = {broadcast_z ? "zc" : "x", "c2"}, *a_out[] = {"s"};
    onnxq_build_node(p->graph, "Add", "add", a_in, 2, a_out, 1);
    const char *r2_in[] = {"s"}, *r2_out[] = {"y"};
    onnxq_build_node(p->graph, "Relu", "relu2", r2_in, 1, r2_out, 1);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static int ran_op(onnxq_session *s, const char *op)
{
    const onnxq_op_time *times;
    size_t nt = onnxq_session_op_times(s, &times);
    for (size_t i = 0; i < nt; i++)
        if (strcmp(times[i].op_type, op) == 0)
            return 1;
    return 0;
}

static void run_fusion_cases(void)
{
    float w1[144], w2[144], zc[4], x[4 * 9 * 11];
    for (size_t i = 0; i < 144; i++) {
        w1[i] = frand();
        w2[i] = frand();
    }
    for (size_t i = 0; i < 4; i++)
        zc[i] = frand();
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = frand();
    for (int bz = 0; bz <= 1; bz++) {
        onnxq_model *m = residual_model(w1, w2, zc, bz);
        onnxq_session_options o;
        onnxq_session_options_init(&o);
        o.profile = 1;
        onnxq_session *fast = NULL, *ref = NULL;
        CHECK(onnxq_session_create(m, &o, &fast, NULL) == ONNXQ_OK);
        o.reference_only = 1;
        CHECK(onnxq_session_create(m, &o, &ref, NULL) == ONNXQ_OK);
        if (fast && ref) {
            onnxq_tensor *r = run_x(ref, x, 9, 11);
            for (int rep = 0; rep < 2; rep++) {
                onnxq_tensor *f = run_x(fast, x, 9, 11);
                chain_compare(bz ? "broadcast Z, unfused" : "residual fused", f, r);
                onnxq_tensors_free(f, 1);
            }
            onnxq_tensors_free(r, 1);
            /* both Convs became FusedConv (Relu; Add + Relu) — or, with a
             * Z that broadcasts, the second Conv, Add and Relu ran as
             * themselves */
            CHECK(ran_op(fast, "FusedConv"));
            CHECK_EQ_INT(ran_op(fast, "Add"), bz);
            CHECK_EQ_INT(ran_op(fast, "Conv"), bz);
            CHECK(ran_op(ref, "Add") && !ran_op(ref, "FusedConv"));
        }
        onnxq_session_destroy(fast);
        onnxq_session_destroy(ref);
        onnxq_model_destroy(m);
    }
}

/* x -> Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(., 6) (or Mul(., 1/6)):
 * the hard-swish chain of exporters, fused into one pass that must give
 * the reference's bits.  opset 13 (Clip bounds as inputs) and 10 (as
 * attributes). */
static onnxq_model *chain_hswish_model(int64_t opset, int divides)
{
    Onnx__ModelProto *p = onnxq_build_model(opset);
    int64_t xd[4] = {1, 3, -1, -1}, one[1] = {1};
    const char *dp[4] = {NULL, NULL, "h", "w"};
    float three = 3, zero = 0, six = 6, sixth = 1.0f / 6;
    onnxq_build_input(p->graph, "x", F32, 4, xd, dp);
    onnxq_build_initializer(p->graph, "k", F32, 1, one, &three);
    onnxq_build_initializer(p->graph, "lo", F32, 0, NULL, &zero);
    onnxq_build_initializer(p->graph, "hi", F32, 0, NULL, &six);
    onnxq_build_initializer(p->graph, "d", F32, 0, NULL, divides ? &six : &sixth);
    const char *a_in[] = {"x", "k"}, *a_out[] = {"a"};
    onnxq_build_node(p->graph, "Add", "add", a_in, 2, a_out, 1);
    const char *c_in[] = {"a", "lo", "hi"}, *c_out[] = {"c"};
    Onnx__NodeProto *clip = onnxq_build_node(p->graph, "Clip", "clip", c_in,
                                             opset >= 11 ? 3 : 1, c_out, 1);
    if (opset < 11) {
        onnxq_build_attr_float(clip, "min", 0);
        onnxq_build_attr_float(clip, "max", 6);
    }
    const char *m_in[] = {"c", "x"}, *m_out[] = {"m"};
    onnxq_build_node(p->graph, "Mul", "mul", m_in, 2, m_out, 1);
    const char *d_in[] = {"m", "d"}, *d_out[] = {"y"};
    onnxq_build_node(p->graph, divides ? "Div" : "Mul", "scale", d_in, 2,
                     d_out, 1);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static void run_chain_cases(void)
{
    float x[3 * 40 * 50];
    vfill(x, sizeof x / sizeof *x);
    for (size_t i = 20; i < sizeof x / sizeof *x; i += 97)
        x[i] = (float)((int)(i % 13) - 6); /* on the Clip's edges too */
    static const struct { int64_t opset; int divides; } v[] = {
        {13, 1}, {10, 1}, {13, 0}};
    for (size_t c = 0; c < sizeof v / sizeof *v; c++) {
        onnxq_model *m = chain_hswish_model(v[c].opset, v[c].divides);
        onnxq_session_options o;
        onnxq_session_options_init(&o);
        o.profile = 1;
        o.n_threads = (int)c % 2 + 1;
        onnxq_session *fast = NULL, *ref = NULL;
        CHECK(onnxq_session_create(m, &o, &fast, NULL) == ONNXQ_OK);
        o.reference_only = 1;
        CHECK(onnxq_session_create(m, &o, &ref, NULL) == ONNXQ_OK);
        onnxq_tensor in = {F32, 4, {1, 3, 40, 50}, x};
        onnxq_tensor *yf = NULL, *yr = NULL;
        size_t nf = 0, nr = 0;
        if (fast && ref &&
            onnxq_session_run(fast, &in, 1, &yf, &nf, NULL) == ONNXQ_OK &&
            onnxq_session_run(ref, &in, 1, &yr, &nr, NULL) == ONNXQ_OK) {
            size_t n = sizeof x / sizeof *x, bad = 0;
            for (size_t i = 0; i < n; i++)
                if (!same_float(((float *)yf->data)[i], ((float *)yr->data)[i]))
                    bad++;
            if (bad) {
                fprintf(stderr, "hswish chain (opset %lld): %zu elements "
                        "differ\n", (long long)v[c].opset, bad);
                test_failures++;
            }
            CHECK(ran_op(fast, "HardSwishChain") && !ran_op(fast, "Clip"));
            CHECK(ran_op(ref, "Clip") && !ran_op(ref, "HardSwishChain"));
        } else {
            fprintf(stderr, "hswish chain (opset %lld): a run failed\n",
                    (long long)v[c].opset);
            test_failures++;
        }
        onnxq_tensors_free(yf, nf);
        onnxq_tensors_free(yr, nr);
        onnxq_session_destroy(fast);
        onnxq_session_destroy(ref);
        onnxq_model_destroy(m);
    }
}

/* ---- pooling (kernels/vec/pool.c) ------------------------------------------
 * MaxPool and AveragePool against the reference kernel, bit for bit (pool.c
 * adds AveragePool's taps in double in the reference's order and rounds
 * once, and max is exact); NaN, +-inf and -0 in the data (vfill). */

typedef struct pcase {
    const char *name;
    int avg;                  /* AveragePool, else MaxPool */
    int opset;
    int rank;
    int64_t x[5];
    int64_t k[3], strides[3], dil[3], pads[6]; /* zeros: attribute absent */
    const char *auto_pad;
    int ceil_mode, include_pad;
    int indices;              /* MaxPool with the Indices output */
    int fallback;             /* 1: the reference kernel must run it */
} pcase;

static const pcase pcases[] = {
    {.name = "max_2d_k3s2p1_cls", .opset = 12, .rank = 4, .x = {1, 8, 24, 96},
     .k = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1}},
    {.name = "max_2d_k2s2_odd", .opset = 12, .rank = 4, .x = {2, 3, 7, 9},
     .k = {2, 2}, .strides = {2, 2}},
    {.name = "max_2d_ceil_mode", .opset = 12, .rank = 4, .x = {1, 5, 8, 11},
     .k = {3, 3}, .strides = {2, 2}, .ceil_mode = 1},
    {.name = "max_2d_ceil_pads_drop_last", .opset = 12, .rank = 4,
     .x = {1, 2, 6, 6}, .k = {2, 2}, .strides = {2, 2}, .pads = {1, 1, 1, 1},
     .ceil_mode = 1},
    {.name = "max_2d_dilation2_pads", .opset = 12, .rank = 4,
     .x = {1, 4, 13, 17}, .k = {3, 2}, .dil = {2, 3}, .pads = {2, 1, 1, 2}},
    {.name = "max_2d_asym_strides_pads", .opset = 12, .rank = 4,
     .x = {1, 3, 15, 300}, .k = {3, 5}, .strides = {1, 3},
     .pads = {0, 2, 1, 1}},
    {.name = "max_2d_same_upper", .opset = 12, .rank = 4, .x = {1, 3, 9, 10},
     .k = {3, 4}, .strides = {2, 3}, .auto_pad = "SAME_UPPER"},
    {.name = "max_2d_same_lower", .opset = 12, .rank = 4, .x = {1, 3, 9, 10},
     .k = {2, 4}, .strides = {2, 2}, .auto_pad = "SAME_LOWER"},
    {.name = "max_2d_valid", .opset = 12, .rank = 4, .x = {1, 3, 9, 10},
     .k = {3, 3}, .pads = {1, 1, 1, 1}, .auto_pad = "VALID"},
    {.name = "max_2d_pad_bigger_than_input", .opset = 12, .rank = 4,
     .x = {1, 2, 2, 2}, .k = {3, 3}, .pads = {2, 2, 2, 2}},
    {.name = "max_1d_stride1_long", .opset = 12, .rank = 3, .x = {2, 3, 1000},
     .k = {5}, .pads = {2, 2}},
    {.name = "max_3d_k2_s1", .opset = 12, .rank = 5, .x = {1, 2, 5, 6, 7},
     .k = {2, 3, 2}, .pads = {1, 0, 1, 0, 1, 1}},
    {.name = "max_opset1_no_ceil", .opset = 1, .rank = 4, .x = {1, 3, 8, 8},
     .k = {2, 2}, .strides = {2, 2}},
    {.name = "max_with_indices_falls_back", .opset = 12, .rank = 4,
     .x = {1, 3, 8, 8}, .k = {2, 2}, .strides = {2, 2}, .indices = 1,
     .fallback = 1},
    {.name = "avg_2d_k3s2p1_exclude_pad", .avg = 1, .opset = 19, .rank = 4,
     .x = {1, 8, 24, 96}, .k = {3, 3}, .strides = {2, 2},
     .pads = {1, 1, 1, 1}},
    {.name = "avg_2d_include_pad", .avg = 1, .opset = 19, .rank = 4,
     .x = {2, 3, 9, 11}, .k = {3, 3}, .strides = {2, 2}, .pads = {1, 1, 1, 1},
     .include_pad = 1},
    {.name = "avg_2d_ceil_include_pad", .avg = 1, .opset = 19, .rank = 4,
     .x = {1, 4, 7, 10}, .k = {3, 3}, .strides = {2, 2}, .pads = {1, 0, 0, 1},
     .ceil_mode = 1, .include_pad = 1},
    {.name = "avg_2d_dilation_pads", .avg = 1, .opset = 19, .rank = 4,
     .x = {1, 3, 12, 13}, .k = {2, 3}, .dil = {3, 2}, .pads = {1, 2, 2, 1}},
    {.name = "avg_2d_k2s2_rec_like", .avg = 1, .opset = 11, .rank = 4,
     .x = {1, 16, 2, 80}, .k = {2, 2}, .strides = {2, 2}},
    {.name = "avg_2d_same_lower_include", .avg = 1, .opset = 11, .rank = 4,
     .x = {1, 3, 7, 7}, .k = {4, 4}, .strides = {3, 3},
     .auto_pad = "SAME_LOWER", .include_pad = 1},
    {.name = "avg_1d_long_odd", .avg = 1, .opset = 11, .rank = 3,
     .x = {1, 5, 777}, .k = {4}, .strides = {3}, .pads = {1, 2}},
    {.name = "avg_3d", .avg = 1, .opset = 11, .rank = 5, .x = {1, 2, 6, 5, 7},
     .k = {3, 2, 3}, .strides = {2, 1, 2}, .pads = {1, 0, 1, 1, 1, 0},
     .include_pad = 1},
    {.name = "avg_pad_bigger_than_input", .avg = 1, .opset = 11, .rank = 4,
     .x = {1, 2, 2, 3}, .k = {3, 3}, .pads = {2, 2, 2, 2}},
};

static onnxq_model *pbuild(const pcase *c)
{
    Onnx__ModelProto *p = onnxq_build_model(c->opset);
    onnxq_build_input(p->graph, "x", F32, c->rank, c->x, NULL);
    const char *ins[] = {"x"}, *outs[] = {"y", "i"};
    Onnx__NodeProto *n = onnxq_build_node(p->graph, c->avg ? "AveragePool"
                                                            : "MaxPool",
                                          c->name, ins, 1, outs,
                                          c->indices ? 2 : 1);
    size_t ns = (size_t)c->rank - 2;
    int64_t zero[6] = {0};
    onnxq_build_attr_ints(n, "kernel_shape", c->k, ns);
    if (memcmp(c->strides, zero, sizeof c->strides))
        onnxq_build_attr_ints(n, "strides", c->strides, ns);
    if (memcmp(c->dil, zero, sizeof c->dil))
        onnxq_build_attr_ints(n, "dilations", c->dil, ns);
    if (memcmp(c->pads, zero, sizeof c->pads))
        onnxq_build_attr_ints(n, "pads", c->pads, 2 * ns);
    if (c->auto_pad)
        onnxq_build_attr_string(n, "auto_pad", c->auto_pad);
    if (c->ceil_mode)
        onnxq_build_attr_int(n, "ceil_mode", 1);
    if (c->include_pad)
        onnxq_build_attr_int(n, "count_include_pad", 1);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    if (c->indices)
        onnxq_build_output(p->graph, "i", ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                           -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static void run_pcase(const pcase *c, int threads)
{
    onnxq_tensor in = {F32, c->rank, {0}, NULL};
    memcpy(in.dims, c->x, sizeof c->x);
    size_t n = 1;
    for (int d = 0; d < c->rank; d++)
        n *= (size_t)c->x[d];
    float *data = malloc(n * sizeof *data);
    vfill(data, n);
    if (n > 40) { /* a whole window of NaN somewhere, and ties of +-0 */
        for (size_t k = 20; k < 26; k++)
            data[k] = NAN;
        data[30] = -0.0f;
        data[31] = 0.0f;
        data[32] = -0.0f;
    }
    in.data = data;
    onnxq_model *m = pbuild(c);
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    for (int rep = 0; fast && ref && rep < 2; rep++) {
        onnxq_tensor *yf = NULL, *yr = NULL;
        size_t nf = 0, nr = 0;
        onnxq_error err;
        oq_pool_stats s0 = oq_pool_stats_get();
        if (onnxq_session_run(fast, &in, 1, &yf, &nf, &err) != ONNXQ_OK) {
            fprintf(stderr, "%s: %s\n", c->name, err.message);
            test_failures++;
        }
        oq_pool_stats s1 = oq_pool_stats_get();
        if (onnxq_session_run(ref, &in, 1, &yr, &nr, &err) != ONNXQ_OK) {
            fprintf(stderr, "%s (reference): %s\n", c->name, err.message);
            test_failures++;
        }
        if (s1.fast_runs - s0.fast_runs != (size_t)!c->fallback ||
            s1.fallback_runs - s0.fallback_runs != (size_t)c->fallback) {
            fprintf(stderr, "%s: expected the %s\n", c->name,
                    c->fallback ? "reference kernel" : "pool kernel");
            test_failures++;
        }
        if (yf && yr) {
            CHECK(yf->rank == yr->rank &&
                  memcmp(yf->dims, yr->dims, sizeof yf->dims[0] * (size_t)yr->rank) == 0);
            size_t ne = onnxq_tensor_nbytes(yr) / sizeof(float), bad = 0;
            CHECK(onnxq_tensor_nbytes(yf) == ne * sizeof(float) && ne > 0);
            const float *a = yf->data, *b = yr->data;
            for (size_t k = 0; k < ne && onnxq_tensor_nbytes(yf) == ne * 4; k++)
                if (!same_float(a[k], b[k]) && bad++ < 3)
                    fprintf(stderr, "%s: element %zu: fast %.9g, reference "
                            "%.9g\n", c->name, k, a[k], b[k]);
            if (bad)
                test_failures++;
        }
        onnxq_tensors_free(yf, nf);
        onnxq_tensors_free(yr, nr);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    free(data);
}

/* ReduceMean (pool.c): one contiguous block of axes, bit for bit. */
typedef struct rcase {
    const char *name;
    int opset, rank;
    int64_t x[4];
    int n_axes;               /* -1: attribute absent (all axes) */
    int64_t axes[3];
    int keepdims;
    int fallback;
} rcase;

static const rcase rcases[] = {
    {"mean_middle_axis_keep", 13, 3, {1, 300, 80}, 1, {1}, 1, 0},
    {"mean_last_axis_drop", 13, 3, {2, 96, 38}, 1, {-1}, 0, 0},
    {"mean_two_axes_4d", 13, 4, {2, 3, 5, 7}, 2, {2, 1}, 1, 0},
    {"mean_all_axes", 11, 3, {3, 4, 5}, -1, {0}, 0, 0},
    {"mean_first_axis", 13, 2, {9, 33}, 1, {0}, 1, 0},
    {"mean_split_axes_falls_back", 13, 3, {3, 4, 5}, 2, {0, 2}, 1, 1},
};

static void run_rcase(const rcase *c, int threads)
{
    Onnx__ModelProto *p = onnxq_build_model(c->opset);
    onnxq_build_input(p->graph, "x", F32, c->rank, c->x, NULL);
    const char *ins[] = {"x"}, *outs[] = {"y"};
    Onnx__NodeProto *n = onnxq_build_node(p->graph, "ReduceMean", c->name, ins,
                                          1, outs, 1);
    if (c->n_axes >= 0)
        onnxq_build_attr_ints(n, "axes", c->axes, (size_t)c->n_axes);
    onnxq_build_attr_int(n, "keepdims", c->keepdims);
    onnxq_build_output(p->graph, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    size_t ne = 1;
    for (int d = 0; d < c->rank; d++)
        ne *= (size_t)c->x[d];
    float *data = malloc(ne * sizeof *data);
    vfill(data, ne);
    onnxq_tensor in = {F32, c->rank, {0}, data};
    memcpy(in.dims, c->x, sizeof c->x);
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    for (int rep = 0; fast && ref && rep < 2; rep++) {
        onnxq_tensor *yf = NULL, *yr = NULL;
        size_t nf = 0, nr = 0;
        oq_pool_stats s0 = oq_pool_stats_get();
        CHECK(onnxq_session_run(fast, &in, 1, &yf, &nf, NULL) == ONNXQ_OK);
        oq_pool_stats s1 = oq_pool_stats_get();
        CHECK(onnxq_session_run(ref, &in, 1, &yr, &nr, NULL) == ONNXQ_OK);
        if (s1.fast_runs - s0.fast_runs != (size_t)!c->fallback ||
            s1.fallback_runs - s0.fallback_runs != (size_t)c->fallback) {
            fprintf(stderr, "%s: expected the %s\n", c->name,
                    c->fallback ? "reference kernel" : "fast kernel");
            test_failures++;
        }
        if (yf && yr) {
            size_t bytes = onnxq_tensor_nbytes(yr);
            CHECK(yf->rank == yr->rank &&
                  memcmp(yf->dims, yr->dims, sizeof yf->dims[0] * (size_t)yr->rank) == 0);
            CHECK(onnxq_tensor_nbytes(yf) == bytes);
            const float *a = yf->data, *b = yr->data;
            size_t bad = 0;
            for (size_t k = 0; k < bytes / 4 && onnxq_tensor_nbytes(yf) == bytes; k++)
                if (!same_float(a[k], b[k]) && bad++ < 3)
                    fprintf(stderr, "%s: element %zu: fast %.9g, reference "
                            "%.9g\n", c->name, k, a[k], b[k]);
            if (bad)
                test_failures++;
        }
        onnxq_tensors_free(yf, nf);
        onnxq_tensors_free(yr, nr);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    free(data);
}

/* ---- blocked hand-off between oneDNN convolutions (exec.c, dnnl_conv.c) ----
 * Small graphs of Convs and other ops.  Each runs three ways: fast with the
 * blocked hand-off, fast without it (the plain hand-off: the same
 * primitives, so the same bits), and reference only (within the Conv
 * tolerance).  blocked_in counts, per run, the Convs whose X came blocked
 * from another Conv: it shows where the hand-off happened, and where it
 * must not (a graph output, a reader that is not a Conv, channels that are
 * not a multiple of the block). */

typedef struct bnode {
    const char *op;           /* Conv, or any op on same-shaped inputs */
    const char *in[3];        /* "#V": a scalar float constant of value V;
                                 BatchNormalization: X only, random
                                 parameters made here */
    const char *out;
    int64_t cout, k[2], pad, stride; /* Conv: W [cout, C of in[0], k], B */
    const char *auto_pad;
} bnode;

typedef struct bcase {
    const char *name;
    int64_t x[4];
    bnode nodes[10];
    const char *outputs[2];
    size_t blocked_in;        /* expected per run on AVX2 (block of 8) */
    const char *fused_away;   /* an op the fast session must not run */
} bcase;

#define BCONV(i, o, co, kh, kw, pd) {"Conv", {i}, o, co, {kh, kw}, pd, 1, NULL}
static const bcase bcases[] = {
    {.name = "conv_conv_conv", .x = {1, 3, 11, 13},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Relu", .in = {"a"}, .out = "ar"},
               BCONV("ar", "b", 16, 3, 3, 1), BCONV("b", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 2},
    {.name = "residual_add_relu", .x = {1, 3, 10, 9},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Relu", .in = {"a"}, .out = "ar"},
               BCONV("ar", "b", 16, 3, 3, 1), {.op = "Add", .in = {"b", "ar"}, .out = "c"},
               {.op = "Relu", .in = {"c"}, .out = "cr"}, BCONV("cr", "y", 8, 3, 3, 1)},
     .outputs = {"y"}, .blocked_in = 2},
    {.name = "conv_read_by_sigmoid", .x = {1, 3, 9, 9},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), BCONV("a", "b", 16, 3, 3, 1),
               {.op = "Sigmoid", .in = {"a"}, .out = "s"}, {.op = "Mul", .in = {"b", "s"}, .out = "y"}},
     .outputs = {"y"}, .blocked_in = 0},
    {.name = "graph_output_mid_chain", .x = {1, 3, 9, 12},
     .nodes = {BCONV("x", "a", 8, 3, 3, 1), BCONV("a", "b", 16, 3, 3, 1),
               BCONV("b", "y", 16, 1, 1, 0)},
     .outputs = {"y", "a"}, .blocked_in = 1},
    {.name = "channels_12_not_blocked", .x = {1, 3, 9, 9},
     .nodes = {BCONV("x", "a", 12, 3, 3, 1), BCONV("a", "y", 16, 3, 3, 1)},
     .outputs = {"y"}, .blocked_in = 0},
    /* z [1,16,1,W] from a Conv: fusion planned, Z broadcasts at run time,
     * so Conv and Add run as themselves and Add reads z made plain again */
    {.name = "blocked_z_fusion_not_fitting", .x = {1, 3, 5, 8},
     .nodes = {BCONV("x", "z", 16, 5, 1, 0), BCONV("x", "b", 16, 3, 3, 1),
               {.op = "Add", .in = {"b", "z"}, .out = "c"}, BCONV("c", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 0},
    /* SAME_UPPER with stride 3 over a 1x1 kernel pads by -1: oneDNN hands
     * the second Conv to the reference, which must get a plain X */
    /* Conv -> Mul(s) -> Add(b) -> hard-swish chain: one FusedConv with the
     * epilogue post-ops, its output handed blocked to the next Conv */
    {.name = "affine_hswish_epilogue", .x = {1, 3, 9, 10},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Mul", .in = {"a", "#0.75"}, .out = "m"},
               {.op = "Add", .in = {"m", "#-0.125"}, .out = "p"}, {.op = "Add", .in = {"p", "#3"}, .out = "q"},
               {.op = "Clip", .in = {"q", "#0", "#6"}, .out = "c"}, {.op = "Mul", .in = {"p", "c"}, .out = "r"},
               {.op = "Div", .in = {"r", "#6"}, .out = "h"}, BCONV("h", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 1, .fused_away = "Div"},
    /* ... and a second affine after the hard-swish: its Mul becomes the
     * hardswish post-op's scale, its Add stays a node (oneDNN 2.6 computes
     * an eltwise post-op after hardswish wrong), so y is not handed blocked */
    {.name = "affine_hswish_affine_epilogue", .x = {1, 3, 9, 10},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Mul", .in = {"a", "#0.75"}, .out = "m"},
               {.op = "Add", .in = {"m", "#-0.125"}, .out = "p"}, {.op = "Add", .in = {"p", "#3"}, .out = "q"},
               {.op = "Clip", .in = {"q", "#0", "#6"}, .out = "c"}, {.op = "Mul", .in = {"p", "c"}, .out = "r"},
               {.op = "Div", .in = {"r", "#6"}, .out = "h"}, {.op = "Mul", .in = {"h", "#1.25"}, .out = "h2"},
               {.op = "Add", .in = {"h2", "#0.5"}, .out = "h3"}, BCONV("h3", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 0, .fused_away = "Div"},
    {.name = "affine_hswish_scale_only", .x = {1, 3, 9, 10},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Mul", .in = {"a", "#0.75"}, .out = "m"},
               {.op = "Add", .in = {"m", "#-0.125"}, .out = "p"}, {.op = "Add", .in = {"p", "#3"}, .out = "q"},
               {.op = "Clip", .in = {"q", "#0", "#6"}, .out = "c"}, {.op = "Mul", .in = {"p", "c"}, .out = "r"},
               {.op = "Div", .in = {"r", "#6"}, .out = "h"}, {.op = "Mul", .in = {"h", "#1.25"}, .out = "h2"}},
     .outputs = {"h2"}, .blocked_in = 0, .fused_away = "Div"},
    /* the same epilogue on a Conv oneDNN hands back (negative SAME pads):
     * the reference FusedConv, then the epilogue in C */
    {.name = "affine_epilogue_fallback", .x = {1, 3, 8, 8},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1),
               {"Conv", {"a"}, "b", 8, {1, 1}, 0, 3, "SAME_UPPER"},
               {.op = "Mul", .in = {"b", "#1.5"}, .out = "m"}, {.op = "Add", .in = {"m", "#0.25"}, .out = "y"}},
     .outputs = {"y"}, .blocked_in = 0, .fused_away = "Mul"},
    /* Conv + BatchNormalization, folded into the weights (+ Relu) */
    {.name = "conv_bn_relu_conv", .x = {1, 3, 9, 11},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "BatchNormalization", .in = {"a"}, .out = "b"},
               {.op = "Relu", .in = {"b"}, .out = "r"}, BCONV("r", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 1, .fused_away = "BatchNormalization"},
    {.name = "conv_bn_hswish_conv", .x = {1, 3, 9, 11},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "BatchNormalization", .in = {"a"}, .out = "b"},
               {.op = "Add", .in = {"b", "#3"}, .out = "q"}, {.op = "Clip", .in = {"q", "#0", "#6"}, .out = "c"},
               {.op = "Mul", .in = {"b", "c"}, .out = "r"}, {.op = "Div", .in = {"r", "#6"}, .out = "h"},
               BCONV("h", "y", 8, 3, 3, 1)},
     .outputs = {"y"}, .blocked_in = 1, .fused_away = "BatchNormalization"},
    {.name = "conv_bn_residual_relu", .x = {1, 3, 8, 9},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1), {.op = "Relu", .in = {"a"}, .out = "ar"},
               BCONV("ar", "b", 16, 3, 3, 1), {.op = "BatchNormalization", .in = {"b"}, .out = "n"},
               {.op = "Add", .in = {"n", "ar"}, .out = "c"}, {.op = "Relu", .in = {"c"}, .out = "cr"},
               BCONV("cr", "y", 8, 1, 1, 0)},
     .outputs = {"y"}, .blocked_in = 2, .fused_away = "BatchNormalization"},
    /* the folded node handed to the reference FusedConv (negative pads) */
    {.name = "conv_bn_fallback", .x = {1, 3, 8, 8},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1),
               {"Conv", {"a"}, "b", 8, {1, 1}, 0, 3, "SAME_UPPER"},
               {.op = "BatchNormalization", .in = {"b"}, .out = "y"}},
     .outputs = {"y"}, .blocked_in = 0, .fused_away = "BatchNormalization"},
    {.name = "blocked_x_into_fallback", .x = {1, 3, 8, 8},
     .nodes = {BCONV("x", "a", 16, 3, 3, 1),
               {"Conv", {"a"}, "y", 8, {1, 1}, 0, 3, "SAME_UPPER"}},
     .outputs = {"y"}, .blocked_in = 0},
};

static onnxq_model *bbuild(const bcase *c)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    onnxq_build_input(p->graph, "x", F32, 4, c->x, NULL);
    const char *names[16];
    int64_t chans[16];
    size_t nv = 0;
    names[nv] = "x";
    chans[nv++] = c->x[1];
    for (size_t i = 0; i < 10 && c->nodes[i].op; i++) {
        const bnode *b = &c->nodes[i];
        int64_t cin = 0;
        for (size_t v = 0; v < nv; v++)
            if (strcmp(names[v], b->in[0]) == 0)
                cin = chans[v];
        const char *outs[] = {b->out};
        if (strcmp(b->op, "Conv") == 0) {
            static char wn[10][8], bn[10][8];
            snprintf(wn[i], sizeof wn[i], "w%zu", i);
            snprintf(bn[i], sizeof bn[i], "b%zu", i);
            int64_t wd[4] = {b->cout, cin, b->k[0], b->k[1]}, bd[1] = {b->cout};
            size_t nw = (size_t)(wd[0] * wd[1] * wd[2] * wd[3]);
            float *w = malloc(nw * sizeof *w), *bias = malloc(sizeof(float) * (size_t)b->cout);
            for (size_t k = 0; k < nw; k++)
                w[k] = frand() / (float)(cin * b->k[0] * b->k[1]);
            for (int64_t k = 0; k < b->cout; k++)
                bias[k] = frand();
            onnxq_build_initializer(p->graph, wn[i], F32, 4, wd, w);
            onnxq_build_initializer(p->graph, bn[i], F32, 1, bd, bias);
            free(w);
            free(bias);
            const char *ins[] = {b->in[0], wn[i], bn[i]};
            Onnx__NodeProto *n = onnxq_build_node(p->graph, "Conv", b->out, ins, 3,
                                                  outs, 1);
            onnxq_build_attr_ints(n, "kernel_shape", b->k, 2);
            if (b->auto_pad) {
                onnxq_build_attr_string(n, "auto_pad", b->auto_pad);
            } else {
                int64_t pads[4] = {b->pad, b->pad, b->pad, b->pad};
                onnxq_build_attr_ints(n, "pads", pads, 4);
            }
            int64_t st[2] = {b->stride, b->stride};
            onnxq_build_attr_ints(n, "strides", st, 2);
            cin = b->cout;
        } else if (strcmp(b->op, "BatchNormalization") == 0) {
            static char pn[10][4][8];
            const char *ins[5] = {b->in[0]};
            int64_t pd[1] = {cin};
            float *v = malloc(sizeof(float) * (size_t)cin);
            for (int k = 0; k < 4; k++) {
                for (int64_t c2 = 0; c2 < cin; c2++)
                    v[c2] = k == 3 ? fabsf(frand()) + 0.1f : frand();
                snprintf(pn[i][k], sizeof pn[i][k], "bn%zu_%d", i, k);
                onnxq_build_initializer(p->graph, pn[i][k], F32, 1, pd, v);
                ins[k + 1] = pn[i][k];
            }
            free(v);
            onnxq_build_node(p->graph, b->op, b->out, ins, 5, outs, 1);
        } else {
            static char cn[10][3][8];
            const char *ins[3];
            size_t ni = 0;
            for (; ni < 3 && b->in[ni]; ni++) {
                ins[ni] = b->in[ni];
                if (b->in[ni][0] != '#')
                    continue;
                float v = strtof(b->in[ni] + 1, NULL);
                snprintf(cn[i][ni], sizeof cn[i][ni], "c%zu_%zu", i, ni);
                onnxq_build_initializer(p->graph, cn[i][ni], F32, 0, NULL, &v);
                ins[ni] = cn[i][ni];
            }
            onnxq_build_node(p->graph, b->op, b->out, ins, ni, outs, 1);
        }
        names[nv] = b->out;
        chans[nv++] = cin;
    }
    for (size_t i = 0; i < 2 && c->outputs[i]; i++)
        onnxq_build_output(p->graph, c->outputs[i], F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static void run_bcase(const bcase *c, int threads)
{
    onnxq_model *m = bbuild(c);
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.n_threads = threads;
    o.profile = 1;
    onnxq_session *fast = NULL, *ref = session(m, 1, threads);
    CHECK(onnxq_session_create(m, &o, &fast, NULL) == ONNXQ_OK);
    oq_dnnl_set_blocked_handoff(0);
    onnxq_session *plain = session(m, 0, threads);
    oq_dnnl_set_blocked_handoff(1);
    size_t n = (size_t)(c->x[0] * c->x[1] * c->x[2] * c->x[3]);
    float *data = malloc(n * sizeof *data);
    for (size_t k = 0; k < n; k++)
        data[k] = frand();
    onnxq_tensor in = {F32, 4, {0}, data};
    memcpy(in.dims, c->x, sizeof c->x);
    for (int rep = 0; fast && ref && plain && rep < 2; rep++) {
        onnxq_tensor *yf = NULL, *yp = NULL, *yr = NULL;
        size_t nf = 0, np = 0, nr = 0;
        onnxq_error err;
        oq_dnnl_stats s0 = oq_dnnl_stats_get();
        CHECK(onnxq_session_run(fast, &in, 1, &yf, &nf, &err) == ONNXQ_OK);
        oq_dnnl_stats s1 = oq_dnnl_stats_get();
        CHECK(onnxq_session_run(plain, &in, 1, &yp, &np, &err) == ONNXQ_OK);
        oq_dnnl_stats s2 = oq_dnnl_stats_get();
        CHECK(onnxq_session_run(ref, &in, 1, &yr, &nr, &err) == ONNXQ_OK);
        if (s1.blocked_in - s0.blocked_in != c->blocked_in) {
            fprintf(stderr, "%s: %zu blocked hand-offs, expected %zu\n",
                    c->name, s1.blocked_in - s0.blocked_in, c->blocked_in);
            test_failures++;
        }
        CHECK(s2.blocked_in == s1.blocked_in);
        /* fewer activation reorders with the hand-off, never more */
        CHECK(s1.layout_reorders - s0.layout_reorders <=
              s2.layout_reorders - s1.layout_reorders);
        for (size_t o = 0; yf && yp && yr && o < nf && o < np && o < nr; o++) {
            size_t bytes = onnxq_tensor_nbytes(&yr[o]);
            CHECK(onnxq_tensor_nbytes(&yf[o]) == bytes &&
                  onnxq_tensor_nbytes(&yp[o]) == bytes && bytes > 0);
            if (onnxq_tensor_nbytes(&yf[o]) != bytes ||
                onnxq_tensor_nbytes(&yp[o]) != bytes)
                continue;
            if (memcmp(yf[o].data, yp[o].data, bytes) != 0) {
                fprintf(stderr, "%s: output %zu differs from the plain "
                        "hand-off's\n", c->name, o);
                test_failures++;
            }
            const float *a = yf[o].data, *r = yr[o].data;
            float mx = 0, worst = 0;
            for (size_t k = 0; k < bytes / 4; k++) {
                if (fabsf(r[k]) > mx)
                    mx = fabsf(r[k]);
                if (fabsf(a[k] - r[k]) > worst)
                    worst = fabsf(a[k] - r[k]);
            }
            if (!(worst <= 1e-4f * (1 + mx))) {
                fprintf(stderr, "%s: output %zu off the reference by %g "
                        "(max %g)\n", c->name, o, worst, mx);
                test_failures++;
            }
        }
        onnxq_tensors_free(yf, nf);
        onnxq_tensors_free(yp, np);
        onnxq_tensors_free(yr, nr);
    }
    if (fast && c->fused_away && ran_op(fast, c->fused_away)) {
        fprintf(stderr, "%s: %s ran, not fused\n", c->name, c->fused_away);
        test_failures++;
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(plain);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    free(data);
}

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
    size_t nv = sizeof vcases / sizeof *vcases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < nv; i++) {
            int before = test_failures;
            run_vcase(&vcases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ vec case %s, %d thread(s)\n",
                        vcases[i].name, threads);
        }
    size_t np = sizeof pcases / sizeof *pcases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < np; i++) {
            int before = test_failures;
            run_pcase(&pcases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ pool case %s, %d thread(s)\n",
                        pcases[i].name, threads);
        }
    size_t nr = sizeof rcases / sizeof *rcases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < nr; i++) {
            int before = test_failures;
            run_rcase(&rcases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ ReduceMean case %s, %d thread(s)\n",
                        rcases[i].name, threads);
        }
    size_t nb = sizeof bcases / sizeof *bcases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < nb; i++) {
            int before = test_failures;
            run_bcase(&bcases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ blocked case %s, %d thread(s)\n",
                        bcases[i].name, threads);
        }
    run_executor_cases();
    run_fusion_cases();
    run_chain_cases();
    printf("%zu oneDNN cases, %zu vec cases, %zu pool cases, %zu ReduceMean "
           "cases, %zu blocked hand-off cases x 2 thread counts\n", n, nv, np,
           nr, nb);
    return TEST_RESULT();
}
