/*
 * fuse_conv.h — Conv fusion found when a session is prepared (fuse_conv.c):
 * a float32 Conv whose only reader is an Add of a same-shaped tensor Z
 * and/or an activation runs as one com.microsoft FusedConv,
 * act(conv(X, W) + B + Z), which the oneDNN kernel computes with post-ops
 * (sum, eltwise) in one pass over the output.
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
    size_t absorbed[3];          /* the nodes it replaces */
    size_t n_absorbed;
    int has_z;                   /* input 3 of the FusedConv is Add's other
                                    operand: its shape is checked per run */
    Onnx__NodeProto node;        /* the FusedConv (names borrowed from the
                                    model; attributes: the Conv's, then
                                    activation and activation_params) */
    char *inputs[4];
    char *outputs[1];
    Onnx__AttributeProto **attrs;
    Onnx__AttributeProto act, params;
    float param_v[5];            /* activation_params; chain: k, lo, hi, d,
                                    1 if d divides (else multiplies) */
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
