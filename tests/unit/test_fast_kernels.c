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
 * input, with other weights (re-packed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rt/kernels/dnnl/dnnl_stats.h"
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
    printf("%zu cases x 2 thread counts\n", n);
    return TEST_RESULT();
}
