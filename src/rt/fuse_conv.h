/*
 * fuse_conv.h — Conv fusion found when a session is prepared (fuse_conv.c):
 * a float32 Conv whose only reader is an Add of a same-shaped tensor Z
 * and/or an activation runs as one com.microsoft FusedConv,
 * act(conv(X, W) + B + Z), which the oneDNN kernel computes with post-ops
 * (sum, eltwise) in one pass over the output.
 *
 * The same FusedConv also takes, in place of Z and the activation, a scalar
 * affine y = conv * s + b (Mul and/or Add of scalar constants, PaddleOCR's
 * "learnable affine block") optionally followed by the exporters' hard-swish
 * chain with the standard constants (x * Clip(x + 3, 0, 6) / 6): onnxq-only
 * attributes onnxq_affine [s, b, 1 if b is added], onnxq_hswish [k, lo, hi, d,
 * divides] and, after the hard-swish, a scalar Mul onnxq_scale2 [s2]
 * that the oneDNN kernel applies as post-ops (eltwise linear, hardswish
 * with scale s2) and,
 * when it hands the node to the reference FusedConv, in C afterwards
 * (kernels/dnnl/dnnl_conv.c).
 *
 * A BatchNormalization (inference, constant parameters) right after the Conv
 * is folded into its weights and bias by the kernel (ONNX Runtime does the
 * same): its parameters become inputs 4..7 of the FusedConv and its epsilon
 * the attribute onnxq_bn; Z, the activation or the hard-swish chain may
 * follow as usual.
 *
 * Also the hard-swish chain exporters write out of elementwise ops,
 * y = (x * Clip(x + k, lo, hi)) / d (or * d), with scalar constants: one
 * com.onnxq HardSwishChain node (kernels/vec) computes the same float
 * operations in the same order per element, in one pass instead of four.
 */
#ifndef OQ_FUSE_CONV_H
#define OQ_FUSE_CONV_H

#include "kernel.h"
#include "onnxq/graph.h"

enum { OQ_FUSE_CONV, OQ_FUSE_HSWISH_CHAIN };

typedef struct oq_conv_fusion {
    int kind;                    /* OQ_FUSE_CONV, OQ_FUSE_HSWISH_CHAIN */
    int min_rank;                /* chain: x's rank must be at least this,
                                    or the constants would broadcast it */
    size_t head;                 /* the Conv (chain: the Add) node: the fused
                                    node runs there */
    size_t absorbed[8];          /* the nodes it replaces */
    size_t n_absorbed;
    int has_z;                   /* input 3 of the FusedConv is Add's other
                                    operand: its shape is checked per run */
    Onnx__NodeProto node;        /* the FusedConv (names borrowed from the
                                    model; attributes: the Conv's, then
                                    activation and activation_params) */
    char *inputs[8];             /* X, W, B, Z, then a folded
                                    BatchNormalization's scale, B, mean, var */
    char *outputs[1];
    Onnx__AttributeProto **attrs;
    Onnx__AttributeProto act, params;
    float param_v[5];            /* activation_params; chain: k, lo, hi, d,
                                    1 if d divides (else multiplies) */
    Onnx__AttributeProto affine, hswish, scale2; /* onnxq_affine,
                                    onnxq_hswish, onnxq_scale2 */
    float affine_v[3];           /* s, b, 1 if there is an Add of b */
    float scale2_v;              /* a Mul after the hard-swish */
    Onnx__AttributeProto bn;     /* onnxq_bn [epsilon] */
    float bn_eps;
    float hswish_v[5];           /* as the chain's param_v */
} oq_conv_fusion;

/* Finds the fusions of graph g.  pos[n] is node n's position in the run
 * order; consts[v] the constant tensor of value v (initializers, folded
 * Constants) or NULL; skip[n] nodes already gone.  *out is malloc'd (free
 * with oq_fuse_conv_free), *n its length. */
onnxq_status oq_fuse_conv_find(const onnxq_graph *g, const size_t *pos,
                               oq_tensor *const *consts, const char *skip,
                               int64_t opset, oq_conv_fusion **out, size_t *n,
                               onnxq_error *err);
void oq_fuse_conv_free(oq_conv_fusion *f, size_t n);

/* 1 if z has exactly the shape the Conv gives for x and w (the fusion can
 * run), 0 if not (the original nodes run). */
int oq_fuse_conv_z_fits(const oq_conv_fusion *f, const oq_tensor *x,
                        const oq_tensor *w, const oq_tensor *z);

#endif
