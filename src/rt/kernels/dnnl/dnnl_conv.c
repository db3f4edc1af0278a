/*
 * dnnl_conv.c — float32 Conv (ai.onnx) and FusedConv (com.microsoft) through
 * oneDNN's convolution primitive, ConvTranspose through its deconvolution:
 * 1-D, 2-D and 3-D (NCW, NCHW, NCDHW), groups and depthwise, strides,
 * dilations, pads and auto_pad, bias; for FusedConv the input Z and the
 * activation become post-ops (sum, then eltwise), computing
 * act(conv + B + Z) as the reference does.
 *
 * Geometry follows the reference kernel (kernels/ref/conv_pool.c) exactly:
 * auto_pad SAME_* gives out = ceil(in / stride) and splits the total padding
 * (out - 1) * stride + dilated kernel - in with C division, the odd unit at
 * the end for SAME_UPPER and at the start for SAME_LOWER.  oneDNN counts
 * dilation from 0 (ONNX dilation - 1).  Pads are resolved from the actual
 * input shape when a plan is made.  ConvTranspose: output_shape or SAME give
 * the output size and the pads make up the difference (floor division, the
 * odd unit at the end for SAME_UPPER, else at the start); output_padding
 * extends the end, which for oneDNN is a smaller right padding.  Its W is
 * [C, M/group, k...]: oneDNN's [group, M/g, C/g, k...] with strides.
 *
 * Layouts: the primitive is created with "any" layouts, so oneDNN picks the
 * blocked ones its fastest implementation wants (nChw8c on AVX2); ONNX
 * tensors are plain NCHW, so the plan converts X into that layout and the
 * result back (a reorder each, made once per plan).  The blocked buffers
 * live only while the node runs: kept per node they would hold two
 * activations per Conv for the session's life (PaddleOCR det: 275 MB peak
 * instead of 113 MB).  They are the executor's scratch (oq_scratch), which
 * its memory plan places in the session's arena, so a repeated run neither
 * allocates them nor faults their pages in.
 *
 * Blocked hand-off (Conv and FusedConv; the executor decides, exec.c): an
 * activation that only other oneDNN convolutions read can stay in the
 * blocked layout between them.  The executor tells each run whether X (and
 * Z) arrive blocked and whether Y may be left blocked, and asks afterwards
 * whether it was.  "Blocked" is one agreed layout, channels in blocks of
 * BLOCK = 8 (AVX2) or 16 (AVX-512): nCw8c, nChw8c, nCdhw8c.  Y is left
 * blocked only when that takes exactly the plain tensor's bytes (C a
 * multiple of the block), so the executor's memory plan holds.  The
 * primitive is still created with "any" layouts — the same primitive, so
 * the same results bit for bit — and a reorder is made only where the
 * agreed layout differs from the one it chose (e.g. a first layer taking
 * plain X).  A run that hands the node to the reference kernel converts
 * blocked inputs back to plain first, and leaves Y plain.
 *
 * Epilogue (FusedConv made by the executor's fusion, fuse_conv.h): the
 * attributes onnxq_affine [s, b, add], onnxq_hswish and onnxq_scale2 [s2]
 * add post-ops eltwise linear (y * s + b) and hardswish (times s2; no
 * eltwise post-op after hardswish: oneDNN 2.6 computes those wrong); those
 * differ from the separate Mul,
 * Add and hard-swish chain by float rounding only (oneDNN may fuse the
 * multiply-add).  When the reference FusedConv runs such a node, it gets
 * the node without them and the same float operations as the nodes they
 * replaced follow in C (epilogue_ref).
 *
 * A folded BatchNormalization (onnxq_bn [epsilon], its parameters inputs
 * 4..7): with a = scale / sqrt(var + epsilon) and c = B - mean * a in double
 * (as kernels/vec's BatchNormalization), the weights of output channel m are
 * W * a[m] and the bias B[m] * a[m] + c[m], rounded to float once, made in
 * prepare (weights and parameters must be constants); the node then runs
 * as a FusedConv of those, the reference one included.
 *
 * Weights are reordered once into the primitive's layout and kept: constant
 * weights are recognised by their buffer (the session's initializer lives as
 * long as the session); weights computed at run time (PaddleOCR keeps them
 * in Constant nodes) are compared with a copy of what was packed and
 * re-packed only if they differ.
 *
 * Declined in prepare (the reference kernel runs the node): constant W or B
 * that is not float32, W of rank other than 3..5, an activation FusedConv's
 * reference does not know.  Handed to the reference kernel at run time:
 * other types, shapes or attributes the spec forbids (the reference reports
 * them), negative padding (Conv: SAME with stride > dilated kernel;
 * ConvTranspose: output_padding above the end pad, or an output_shape
 * beyond the full size), empty tensors, and problems oneDNN only has its
 * slow reference implementation for.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl_common.h"
#include "dnnl_kernels.h"
#include "onnxq/tensor.h"

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, MAX_SPATIAL = 3 };

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

/* FusedConv's activation as oneDNN eltwise post-ops (HardSigmoid is two:
 * linear then clip to [0, 1]). */
typedef struct activation {
    int n;                      /* post-ops: 0..2 */
    dnnl_alg_kind_t alg[2];
    float alpha[2], beta[2];
} activation;

/* What a plan is made for: the shapes of X and W, which optional inputs
 * are there, and the thread count (oneDNN splits work by it). */
typedef struct conv_key {
    int rank, threads, has_bias, has_z;
    int xb, zb, yb;             /* X, Z arrive blocked; Y leaves blocked */
    int64_t x[MAX_SPATIAL + 2], w[MAX_SPATIAL + 2];
} conv_key;

/* The primitive and its buffers for one key. */
typedef struct conv_plan {
    conv_key key;
    int made;                           /* the primitive exists */
    int refused;                        /* oneDNN refused this key: the
                                           reference runs it, no retry */
    int64_t y[MAX_SPATIAL + 2];         /* output dims */
    dnnl_primitive_t conv;
    dnnl_memory_t src, wei, bias, dst;  /* the primitive's arguments */
    dnnl_memory_desc_t wei_md;          /* the weights layout it wants */
    int src_blocked, dst_blocked, wei_plain; /* X / Y need a reorder */
    int z_reorder;                      /* Z needs one (else: copied) */
    oq_dnnl_reorder src_in, dst_out, z_in;
    size_t src_bytes, dst_bytes;        /* blocked buffers, made per run */
} conv_plan;

typedef struct conv_state {
    oq_dnnl d;
    int fused;
    int transpose;              /* ConvTranspose */
    activation act;
    const void *w_const;        /* the constant W's buffer, or NULL */
    /* blocked hand-off, set by the executor before each run (all 0 when
     * it does not take part): X / Z arrive blocked, Y may be left blocked;
     * y_blocked: the last run left Y blocked */
    int x_blocked, z_blocked, y_may_block, y_blocked;
    /* epilogue: onnxq_affine, onnxq_hswish (0 when absent); base: the node
     * without them, for the reference FusedConv */
    int affine, hswish, epi;    /* epi: affine or hswish */
    float aff[3], hs[5], scale2;
    /* folded BatchNormalization: the node's W and B replaced */
    int bn;
    float bn_eps;
    oq_tensor bn_w, bn_b;       /* data malloc'd */
    Onnx__NodeProto base;
    Onnx__AttributeProto **base_attrs;
    conv_plan plan;
    /* weights packed into the plan's layout */
    dnnl_memory_t packed;
    dnnl_memory_desc_t packed_md;
    const void *packed_from;    /* constant buffer they came from, or NULL */
    void *packed_copy;          /* else: a copy of the weights packed */
    size_t packed_bytes;
} conv_state;

/* ---- attributes ---------------------------------------------------------- */

/* Reads FusedConv's activation; 0, or -1 if the reference would refuse it. */
static int read_activation(const oq_kctx *k, activation *act)
{
    char buf[64];
    const char *s = oq_attr_string(k, "activation", "", buf, sizeof buf);
    const float *p;
    long np = oq_attr_floats(k, "activation_params", &p);
    memset(act, 0, sizeof *act);
    act->n = 1;
    if (s[0] == '\0') {
        act->n = 0;
    } else if (strcmp(s, "Relu") == 0) {
        act->alg[0] = dnnl_eltwise_relu;
    } else if (strcmp(s, "LeakyRelu") == 0) {
        act->alg[0] = dnnl_eltwise_relu; /* alpha: the negative slope */
        act->alpha[0] = np >= 1 ? p[0] : 0.01f;
    } else if (strcmp(s, "Sigmoid") == 0) {
        act->alg[0] = dnnl_eltwise_logistic;
    } else if (strcmp(s, "Tanh") == 0) {
        act->alg[0] = dnnl_eltwise_tanh;
    } else if (strcmp(s, "Clip") == 0) {
        if (np < 2)
            return -1;
        act->alg[0] = dnnl_eltwise_clip;
        act->alpha[0] = p[0];
        act->beta[0] = p[1];
    } else if (strcmp(s, "HardSigmoid") == 0) {
        act->n = 2;
        act->alg[0] = dnnl_eltwise_linear;
        act->alpha[0] = np >= 1 ? p[0] : 0.2f;
        act->beta[0] = np >= 2 ? p[1] : 0.5f;
        act->alg[1] = dnnl_eltwise_clip;
        act->alpha[1] = 0;
        act->beta[1] = 1;
    } else {
        return -1;
    }
    return 0;
}

static int read_auto_pad(const oq_kctx *k, auto_pad *ap)
{
    char buf[32];
    const char *s = oq_attr_string(k, "auto_pad", "NOTSET", buf, sizeof buf);
    if (s[0] == '\0' || strcmp(s, "NOTSET") == 0)
        *ap = PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0)
        *ap = PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        *ap = PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0)
        *ap = PAD_VALID;
    else
        return -1;
    return 0;
}

/* ---- geometry ------------------------------------------------------------ */

/* One convolution, in oneDNN's terms. */
typedef struct conv_geom {
    int n;                                  /* spatial rank */
    int64_t group;
    int64_t y[MAX_SPATIAL + 2];             /* output dims */
    dnnl_dims_t stride, dil, pad_l, pad_r;  /* dil: ONNX dilation - 1 */
} conv_geom;

static int same_dims(const int64_t *a, const int64_t *b, int rank)
{
    return memcmp(a, b, (size_t)rank * sizeof *a) == 0;
}

/* Checks the node's inputs and attributes and fills g; 0 if oneDNN can run
 * it, -1 if the reference kernel should (it also reports what is wrong). */
static int conv_geometry(const oq_kctx *ctx, int fused, conv_geom *g)
{
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1),
                    *b = oq_in(ctx, 2), *z = fused ? oq_in(ctx, 3) : NULL;
    if (!x || !w || x->dtype != T_FLOAT || w->dtype != T_FLOAT ||
        x->rank < 3 || x->rank > MAX_SPATIAL + 2 || w->rank != x->rank ||
        !oq_dnnl_nonempty(x) || !oq_dnnl_nonempty(w))
        return -1;
    int n = g->n = x->rank - 2;
    int64_t c = x->dims[1], m = w->dims[0];
    g->group = oq_attr_int(ctx, "group", 1);
    if (g->group < 1 || c % g->group || m % g->group ||
        w->dims[1] != c / g->group)
        return -1;
    if (b && (b->dtype != T_FLOAT || b->rank != 1 || b->dims[0] != m))
        return -1;
    const int64_t *ks;
    long nks = oq_attr_ints(ctx, "kernel_shape", &ks);
    if (nks > 0 && (nks != n || !same_dims(ks, w->dims + 2, n)))
        return -1;
    int64_t stride[MAX_SPATIAL], dil[MAX_SPATIAL], pads[2 * MAX_SPATIAL] = {0};
    for (int d = 0; d < n; d++)
        stride[d] = dil[d] = 1;
    auto_pad ap;
    if (oq_attr_ints_into(ctx, "strides", n, 1, stride) ||
        oq_attr_ints_into(ctx, "dilations", n, 1, dil) ||
        oq_attr_ints_into(ctx, "pads", 2 * n, 0, pads) || read_auto_pad(ctx, &ap))
        return -1;
    g->y[0] = x->dims[0];
    g->y[1] = m;
    for (int d = 0; d < n; d++) {
        int64_t in = x->dims[d + 2], s = stride[d];
        int64_t ek = (w->dims[d + 2] - 1) * dil[d] + 1;
        int64_t p0, p1, out;
        if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
            out = (in + s - 1) / s;
            int64_t need = (out - 1) * s + ek - in;
            p0 = ap == PAD_SAME_UPPER ? need / 2 : (need + 1) / 2;
            p1 = need - p0;
        } else {
            p0 = ap == PAD_VALID ? 0 : pads[d];
            p1 = ap == PAD_VALID ? 0 : pads[n + d];
            int64_t span = in + p0 + p1 - ek;
            if (span < 0)
                return -1;
            out = span / s + 1;
        }
        if (p0 < 0 || p1 < 0 || out < 1)
            return -1; /* negative SAME padding: the reference's business */
        g->y[d + 2] = out;
        g->stride[d] = s;
        g->dil[d] = dil[d] - 1;
        g->pad_l[d] = p0;
        g->pad_r[d] = p1;
    }
    if (z && (z->dtype != T_FLOAT || z->rank != x->rank ||
              !same_dims(z->dims, g->y, x->rank)))
        return -1;
    return 0;
}

/* ConvTranspose's inputs and attributes into g; 0, or -1 for the
 * reference kernel. */
static int conv_transpose_geometry(const oq_kctx *ctx, conv_geom *g)
{
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1), *b = oq_in(ctx, 2);
    if (!x || !w || x->dtype != T_FLOAT || w->dtype != T_FLOAT ||
        x->rank < 3 || x->rank > MAX_SPATIAL + 2 || w->rank != x->rank ||
        !oq_dnnl_nonempty(x) || !oq_dnnl_nonempty(w))
        return -1;
    int n = g->n = x->rank - 2;
    int64_t c = x->dims[1];
    g->group = oq_attr_int(ctx, "group", 1);
    if (g->group < 1 || c % g->group || w->dims[0] != c)
        return -1;
    int64_t m = w->dims[1] * g->group;
    if (b && (b->dtype != T_FLOAT || b->rank != 1 || b->dims[0] != m))
        return -1;
    const int64_t *ks, *oshape;
    long nks = oq_attr_ints(ctx, "kernel_shape", &ks);
    if (nks > 0 && (nks != n || !same_dims(ks, w->dims + 2, n)))
        return -1;
    int64_t stride[MAX_SPATIAL], dil[MAX_SPATIAL], pads[2 * MAX_SPATIAL] = {0};
    int64_t opad[MAX_SPATIAL] = {0};
    for (int d = 0; d < n; d++)
        stride[d] = dil[d] = 1;
    auto_pad ap;
    if (oq_attr_ints_into(ctx, "strides", n, 1, stride) ||
        oq_attr_ints_into(ctx, "dilations", n, 1, dil) ||
        oq_attr_ints_into(ctx, "pads", 2 * n, 0, pads) ||
        oq_attr_ints_into(ctx, "output_padding", n, 0, opad) || read_auto_pad(ctx, &ap))
        return -1;
    long n_oshape = oq_attr_ints(ctx, "output_shape", &oshape);
    if (n_oshape > 0 && n_oshape != n && n_oshape != n + 2)
        return -1;
    g->y[0] = x->dims[0];
    g->y[1] = m;
    for (int d = 0; d < n; d++) {
        int64_t in = x->dims[d + 2], s = stride[d];
        int64_t ek = (w->dims[d + 2] - 1) * dil[d] + 1;
        int64_t full = s * (in - 1) + opad[d] + ek;
        int64_t p0, p1, out;
        if (n_oshape > 0 || ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
            out = n_oshape > 0 ? oshape[n_oshape - n + d] : in * s;
            int64_t total = full - out;
            if (total < 0)
                return -1;
            int64_t half = total / 2; /* total >= 0: floor */
            p0 = ap == PAD_SAME_UPPER ? half : total - half;
            p1 = total - p0;
        } else {
            p0 = ap == PAD_VALID ? 0 : pads[d];
            p1 = ap == PAD_VALID ? 0 : pads[n + d];
            out = full - p0 - p1;
        }
        /* output_padding adds rows at the end: less padding there */
        if (out < 1 || p1 - opad[d] < 0)
            return -1;
        g->y[d + 2] = out;
        g->stride[d] = s;
        g->dil[d] = dil[d] - 1;
        g->pad_l[d] = p0;
        g->pad_r[d] = p1 - opad[d];
    }
    return 0;
}

/* ---- plans --------------------------------------------------------------- */

static void plan_clear(conv_plan *p)
{
    if (p->conv)
        dnnl_primitive_destroy(p->conv);
    dnnl_memory_t mems[] = {p->src, p->wei, p->bias, p->dst};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    oq_dnnl_reorder_clear(&p->src_in);
    oq_dnnl_reorder_clear(&p->dst_out);
    oq_dnnl_reorder_clear(&p->z_in);
    memset(p, 0, sizeof *p);
}

static int key_equal(const conv_key *a, const conv_key *b)
{
    return a->rank == b->rank && a->threads == b->threads &&
           a->has_bias == b->has_bias && a->has_z == b->has_z &&
           a->xb == b->xb && a->zb == b->zb && a->yb == b->yb &&
           same_dims(a->x, b->x, MAX_SPATIAL + 2) &&
           same_dims(a->w, b->w, MAX_SPATIAL + 2);
}

static conv_key make_key(const oq_kctx *ctx, int fused, int threads, int xb,
                         int zb, int yb)
{
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1);
    conv_key k;
    memset(&k, 0, sizeof k); /* unused dims are 0 for key_equal */
    k.rank = x->rank;
    k.threads = threads;
    k.has_bias = oq_in(ctx, 2) != NULL;
    k.has_z = fused && oq_in(ctx, 3) != NULL;
    k.xb = xb;
    k.zb = zb && k.has_z;
    k.yb = yb;
    memcpy(k.x, x->dims, (size_t)x->rank * sizeof *k.x);
    memcpy(k.w, w->dims, (size_t)w->rank * sizeof *k.w);
    return k;
}

static dnnl_status_t make_attr(const conv_state *st, int has_z,
                               dnnl_primitive_attr_t *attr)
{
    *attr = NULL;
    if (!has_z && st->act.n == 0 && !st->affine && !st->hswish)
        return dnnl_success;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s == dnnl_success)
        s = dnnl_post_ops_create(&po);
    if (s == dnnl_success && has_z)
        s = dnnl_post_ops_append_sum(po, 1.0f);
    if (s == dnnl_success && st->affine)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                         st->aff[0], st->aff[1]);
    for (int i = 0; s == dnnl_success && i < st->act.n; i++)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, st->act.alg[i],
                                         st->act.alpha[i], st->act.beta[i]);
    if (s == dnnl_success && st->hswish)
        s = dnnl_post_ops_append_eltwise(po, st->scale2, dnnl_eltwise_hardswish,
                                         0, 0);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_post_ops(*attr, po);
    if (po)
        dnnl_post_ops_destroy(po);
    if (s != dnnl_success && *attr) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
    }
    return s;
}

/* The plain (ONNX) layout of W as oneDNN sees weights: [O, I, k...], with
 * a leading group dim when group > 1.  Conv's W [M, C/g, k...] is exactly
 * [g, M/g, C/g, k...] row-major.  ConvTranspose's W [C, M/g, k...] is
 * [g, C/g, M/g, k...] row-major: O (= M/g) and I (= C/g) swap strides. */
static dnnl_status_t weights_md_plain(dnnl_memory_desc_t *md, const oq_tensor *w,
                                      int64_t group, int transpose)
{
    int gr = group > 1, nd = w->rank + gr, ks = w->rank - 2;
    dnnl_dims_t dims, strides;
    int64_t k = 1;
    for (int i = ks - 1; i >= 0; i--) {
        dims[nd - ks + i] = w->dims[2 + i];
        strides[nd - ks + i] = k;
        k *= w->dims[2 + i];
    }
    int64_t d0 = w->dims[0] / group, d1 = w->dims[1]; /* per group */
    int64_t o = transpose ? d1 : d0, i = transpose ? d0 : d1;
    dims[gr] = o;
    dims[gr + 1] = i;
    strides[gr] = transpose ? k : i * k;
    strides[gr + 1] = transpose ? o * k : k;
    if (gr) {
        dims[0] = group;
        strides[0] = o * i * k;
    }
    return dnnl_memory_desc_init_by_strides(md, nd, dims, dnnl_f32, strides);
}

static dnnl_status_t md_any(dnnl_memory_desc_t *md, const dnnl_memory_desc_t *like)
{
    return dnnl_memory_desc_init_by_tag(md, like->ndims, like->dims, dnnl_f32,
                                        dnnl_format_tag_any);
}

/* ---- the blocked layout --------------------------------------------------- */

/* Channels per block of the agreed layout: what oneDNN's direct
 * convolutions use on this CPU. */
static int64_t block_size(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((int)isa & (int)dnnl_cpu_isa_avx512_core) ==
                   (int)dnnl_cpu_isa_avx512_core
               ? 16 : 8;
}

/* The agreed blocked layout of an f32 tensor of rank 3..5. */
static dnnl_status_t md_blocked(dnnl_memory_desc_t *md, int rank,
                                const int64_t *dims)
{
    int b16 = block_size() == 16;
    dnnl_format_tag_t tag = rank == 3   ? (b16 ? dnnl_aBc16b : dnnl_aBc8b)
                            : rank == 4 ? (b16 ? dnnl_aBcd16b : dnnl_aBcd8b)
                                        : (b16 ? dnnl_aBcde16b : dnnl_aBcde8b);
    if (rank < 3 || rank > MAX_SPATIAL + 2)
        return dnnl_invalid_arguments;
    dnnl_dims_t d;
    for (int i = 0; i < rank; i++)
        d[i] = dims[i];
    return dnnl_memory_desc_init_by_tag(md, rank, d, dnnl_f32, tag);
}

/* Whether a tensor of these dims can be held blocked in its own bytes. */
static int blockable(int rank, const int64_t *dims)
{
    dnnl_memory_desc_t md;
    return rank >= 3 && rank <= MAX_SPATIAL + 2 &&
           dims[1] % block_size() == 0 &&
           md_blocked(&md, rank, dims) == dnnl_success &&
           dnnl_memory_desc_get_size(&md) ==
               oq_numel_dims(dims, rank) * sizeof(float);
}

/* Blocked [N][C/B][spatial][B] src into plain [N][C][spatial] dst. */
static void unblock_into(const oq_tensor *t, const float *src, float *dst)
{
    int64_t b = block_size(), n = t->dims[0], c = t->dims[1];
    int64_t sp = (int64_t)oq_numel_dims(t->dims + 2, t->rank - 2);
    for (int64_t i = 0; i < n; i++)
        for (int64_t cb = 0; cb < c / b; cb++)
            for (int64_t k = 0; k < sp; k++)
                for (int64_t j = 0; j < b; j++)
                    dst[(i * c + cb * b + j) * sp + k] =
                        src[((i * (c / b) + cb) * sp + k) * b + j];
}

int oq_dnnl_unblock(oq_tensor *t)
{
    size_t n = oq_numel(t);
    float *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    unblock_into(t, t->data, tmp);
    memcpy(t->data, tmp, n * sizeof *tmp);
    free(tmp);
    return 0;
}

/* Makes the primitive for the node's current inputs.  dnnl_unimplemented
 * when oneDNN would only run its slow reference implementation. */
static dnnl_status_t plan_make(conv_state *st, const oq_kctx *ctx,
                               const conv_geom *g, const conv_key *key)
{
    conv_plan *p = &st->plan;
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1),
                    *b = oq_in(ctx, 2), *z = st->fused ? oq_in(ctx, 3) : NULL;
    plan_clear(p);
    p->key = *key;
    memcpy(p->y, g->y, (size_t)x->rank * sizeof *p->y);

    dnnl_memory_desc_t src_u, wei_u, bias_u, dst_u, src_a, wei_a, dst_a;
    dnnl_convolution_desc_t cd;
    dnnl_deconvolution_desc_t dd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int64_t m = g->y[1];
    dnnl_status_t s = oq_dnnl_md_plain(&src_u, x->rank, x->dims);
    if (s == dnnl_success)
        s = oq_dnnl_md_plain(&dst_u, x->rank, g->y);
    if (s == dnnl_success)
        s = weights_md_plain(&wei_u, w, g->group, st->transpose);
    if (s == dnnl_success)
        s = oq_dnnl_md_plain(&bias_u, 1, &m);
    if (s == dnnl_success)
        s = md_any(&src_a, &src_u);
    if (s == dnnl_success)
        s = md_any(&wei_a, &wei_u);
    if (s == dnnl_success)
        s = md_any(&dst_a, &dst_u);
    if (s == dnnl_success && st->transpose)
        s = dnnl_dilated_deconvolution_forward_desc_init(
            &dd, dnnl_forward_inference, dnnl_deconvolution_direct, &src_a,
            &wei_a, b ? &bias_u : NULL, &dst_a, g->stride, g->dil, g->pad_l,
            g->pad_r);
    else if (s == dnnl_success)
        s = dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_a,
            &wei_a, b ? &bias_u : NULL, &dst_a, g->stride, g->dil, g->pad_l,
            g->pad_r);
    if (s == dnnl_success)
        s = make_attr(st, z != NULL, &attr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, st->transpose ? (const void *)&dd
                                                          : (const void *)&cd,
                                       attr, st->d.engine, NULL);
    if (s == dnnl_success) {
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (impl && strncmp(impl, "ref", 3) == 0)
            s = dnnl_unimplemented; /* not faster than ours, and in float */
    }
    if (s == dnnl_success)
        s = dnnl_primitive_create(&p->conv, pd);
    if (s != dnnl_success)
        goto done;
    /* the layouts oneDNN chose */
    dnnl_memory_desc_t src_p = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                       dst_p = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    p->wei_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    /* the layouts X and Z arrive in and Y leaves in */
    dnnl_memory_desc_t x_md = src_u, y_md = dst_u, z_md = dst_u;
    if (key->xb)
        s = md_blocked(&x_md, x->rank, x->dims);
    if (s == dnnl_success && key->yb)
        s = md_blocked(&y_md, x->rank, g->y);
    if (s == dnnl_success && key->zb)
        s = md_blocked(&z_md, x->rank, g->y);
    if (s != dnnl_success)
        goto done;
    p->src_blocked = !dnnl_memory_desc_equal(&src_p, &x_md);
    p->dst_blocked = !dnnl_memory_desc_equal(&dst_p, &y_md);
    p->z_reorder = z && !dnnl_memory_desc_equal(&dst_p, &z_md);
    p->wei_plain = dnnl_memory_desc_equal(&p->wei_md, &wei_u);

    /* the primitive's arguments, all bound at run time: to the tensors,
     * or to blocked buffers made for the run */
    p->src_bytes = p->src_blocked ? dnnl_memory_desc_get_size(&src_p) : 0;
    p->dst_bytes = p->dst_blocked ? dnnl_memory_desc_get_size(&dst_p) : 0;
    s = oq_dnnl_memory(&p->src, &st->d, &src_p, 0);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&p->dst, &st->d, &dst_p, 0);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&p->wei, &st->d, &p->wei_md, 0);
    if (s == dnnl_success && b)
        s = oq_dnnl_memory(&p->bias, &st->d, &bias_u, 0);
    if (s == dnnl_success && p->src_blocked)
        s = oq_dnnl_reorder_make(&p->src_in, &st->d, &x_md, &src_p);
    if (s == dnnl_success && p->dst_blocked)
        s = oq_dnnl_reorder_make(&p->dst_out, &st->d, &dst_p, &y_md);
    if (s == dnnl_success && p->z_reorder)
        s = oq_dnnl_reorder_make(&p->z_in, &st->d, &z_md, &dst_p);
done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (s == dnnl_success) {
        p->made = 1;
        oq_dnnl_count_plan();
    } else {
        /* keep the key so the same shape does not ask oneDNN again */
        plan_clear(p);
        p->key = *key;
        p->refused = s != dnnl_out_of_memory;
    }
    return s;
}

/* ---- packed weights ------------------------------------------------------ */

static void packed_clear(conv_state *st)
{
    if (st->packed)
        dnnl_memory_destroy(st->packed);
    free(st->packed_copy);
    st->packed = NULL;
    st->packed_copy = NULL;
    st->packed_from = NULL;
    st->packed_bytes = 0;
}

/* Whether the packed weights are w's, in the plan's layout. */
static int packed_fresh(const conv_state *st, const oq_tensor *w, size_t bytes)
{
    if (!st->packed || !dnnl_memory_desc_equal(&st->packed_md, &st->plan.wei_md))
        return 0;
    if (st->packed_from)
        return st->packed_from == w->data;
    return st->packed_copy && st->packed_bytes == bytes &&
           memcmp(st->packed_copy, w->data, bytes) == 0;
}

/* Binds the weights argument: W itself when the primitive takes the plain
 * layout, else the packed copy (re-packed only if W changed). */
static dnnl_status_t bind_weights(conv_state *st, const oq_tensor *w,
                                  int64_t group)
{
    conv_plan *p = &st->plan;
    if (p->wei_plain)
        return oq_dnnl_bind(p->wei, w->data);
    size_t bytes = oq_numel(w) * sizeof(float);
    if (!packed_fresh(st, w, bytes)) {
        packed_clear(st);
        dnnl_memory_desc_t wei_u;
        oq_dnnl_reorder r = {0};
        dnnl_status_t s = weights_md_plain(&wei_u, w, group, st->transpose);
        if (s == dnnl_success)
            s = oq_dnnl_memory(&st->packed, &st->d, &p->wei_md, 1);
        void *buf = NULL;
        if (s == dnnl_success)
            s = dnnl_memory_get_data_handle(st->packed, &buf);
        if (s == dnnl_success)
            s = oq_dnnl_reorder_make(&r, &st->d, &wei_u, &p->wei_md);
        if (s == dnnl_success)
            s = oq_dnnl_reorder_run(&r, &st->d, w->data, buf);
        if (s == dnnl_success)
            s = dnnl_stream_wait(st->d.stream);
        oq_dnnl_reorder_clear(&r);
        if (s == dnnl_success && w->data != st->w_const) {
            st->packed_copy = malloc(bytes ? bytes : 1);
            if (!st->packed_copy)
                s = dnnl_out_of_memory;
            else
                memcpy(st->packed_copy, w->data, bytes);
            st->packed_bytes = bytes;
        }
        if (s != dnnl_success) {
            packed_clear(st);
            return s;
        }
        st->packed_md = p->wei_md;
        st->packed_from = w->data == st->w_const ? w->data : NULL;
        oq_dnnl_count_pack();
    }
    void *buf = NULL;
    dnnl_status_t s = dnnl_memory_get_data_handle(st->packed, &buf);
    return s == dnnl_success ? oq_dnnl_bind(p->wei, buf) : s;
}

/* ---- the kernel ---------------------------------------------------------- */

/* The executor's onnxq_* attributes of a fused node into st, and st->base:
 * the node without them (and without the BatchNormalization's inputs).
 * UNSUPPORTED if malformed or combined in a way the fusion never makes. */
static onnxq_status read_epilogue(const Onnx__NodeProto *n, conv_state *st)
{
    const Onnx__AttributeProto *aff = NULL, *hs = NULL, *sc2 = NULL,
                               *bn = NULL;
    int other = 0;
    for (size_t i = 0; i < n->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->attribute[i];
        if (!a->name)
            continue;
        if (strcmp(a->name, "onnxq_affine") == 0)
            aff = a;
        else if (strcmp(a->name, "onnxq_hswish") == 0)
            hs = a;
        else if (strcmp(a->name, "onnxq_scale2") == 0)
            sc2 = a;
        else if (strcmp(a->name, "onnxq_bn") == 0)
            bn = a;
        else if (strncmp(a->name, "activation", 10) == 0)
            other = 1;
    }
    if (!aff && !hs && !sc2 && !bn)
        return ONNXQ_OK;
    if ((aff && aff->n_floats != 3) || (hs && hs->n_floats != 5) ||
        (sc2 && (!hs || sc2->n_floats != 1)) || (bn && bn->n_floats != 1) ||
        ((aff || hs) && (other || (n->n_input > 3 && n->input[3][0]))) ||
        (bn && n->n_input != 8) || (!bn && n->n_input > 4))
        return ONNXQ_ERR_UNSUPPORTED;
    st->affine = aff != NULL;
    if (aff)
        memcpy(st->aff, aff->floats, sizeof st->aff);
    st->hswish = hs != NULL;
    if (hs)
        memcpy(st->hs, hs->floats, sizeof st->hs);
    st->scale2 = sc2 ? sc2->floats[0] : 1.0f;
    st->epi = aff || hs;
    st->bn = bn != NULL;
    st->bn_eps = bn ? bn->floats[0] : 0;
    st->base_attrs = malloc((n->n_attribute ? n->n_attribute : 1) *
                            sizeof *st->base_attrs);
    if (!st->base_attrs)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    st->base = *n;
    st->base.attribute = st->base_attrs;
    st->base.n_attribute = 0;
    if (st->base.n_input > 4)
        st->base.n_input = 4;
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!n->attribute[i]->name ||
            strncmp(n->attribute[i]->name, "onnxq_", 6) != 0)
            st->base_attrs[st->base.n_attribute++] = n->attribute[i];
    return ONNXQ_OK;
}

/* The folded weights and bias of a BatchNormalization after the Conv (see
 * the top); UNSUPPORTED unless W and the parameters are float32 constants
 * of matching sizes. */
static onnxq_status fold_bn(conv_state *st, const oq_prepare_ctx *pc)
{
    const oq_tensor *w = pc->consts[1], *b = pc->consts[2], *par[4];
    if (!w || w->dtype != T_FLOAT || w->rank < 3 || w->dims[0] < 1 ||
        (pc->node->input[2][0] && (!b || b->dtype != T_FLOAT ||
                                   oq_numel(b) != (size_t)w->dims[0])))
        return ONNXQ_ERR_UNSUPPORTED;
    size_t m = (size_t)w->dims[0], per = oq_numel(w) / m;
    for (int i = 0; i < 4; i++) {
        par[i] = pc->consts[4 + i];
        if (!par[i] || par[i]->dtype != T_FLOAT || oq_numel(par[i]) != m)
            return ONNXQ_ERR_UNSUPPORTED;
    }
    st->bn_w = *w;
    st->bn_w.data = malloc(oq_numel(w) * sizeof(float));
    st->bn_b.dtype = T_FLOAT;
    st->bn_b.rank = 1;
    st->bn_b.dims[0] = (int64_t)m;
    st->bn_b.data = malloc(m * sizeof(float));
    if (!st->bn_w.data || !st->bn_b.data)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    const float *sc = par[0]->data, *be = par[1]->data, *mu = par[2]->data,
                *var = par[3]->data, *wv = w->data;
    float *wf = st->bn_w.data, *bf = st->bn_b.data;
    for (size_t c = 0; c < m; c++) {
        double a = (double)sc[c] / sqrt((double)var[c] + (double)st->bn_eps);
        double shift = (double)be[c] - (double)mu[c] * a;
        for (size_t k = 0; k < per; k++)
            wf[c * per + k] = (float)((double)wv[c * per + k] * a);
        bf[c] = (float)((b ? (double)((const float *)b->data)[c] : 0) * a +
                        shift);
    }
    return ONNXQ_OK;
}

static void release_conv(void *state);

static onnxq_status conv_prepare(const oq_prepare_ctx *pc, void **state,
                                 int fused, int transpose)
{
    const oq_tensor *w = pc->n_in > 1 ? pc->consts[1] : NULL;
    const oq_tensor *b = pc->n_in > 2 ? pc->consts[2] : NULL;
    if (w && (w->dtype != T_FLOAT || w->rank < 3 || w->rank > MAX_SPATIAL + 2))
        return ONNXQ_ERR_UNSUPPORTED;
    if (b && b->dtype != T_FLOAT)
        return ONNXQ_ERR_UNSUPPORTED;
    oq_kctx k = {0};
    k.node = pc->node;
    activation act = {0};
    if (fused && read_activation(&k, &act))
        return ONNXQ_ERR_UNSUPPORTED;
    conv_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(pc->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    onnxq_status rc = oq_dnnl_init(&st->d, pc);
    if (rc != ONNXQ_OK) {
        free(st);
        return rc;
    }
    st->fused = fused;
    st->transpose = transpose;
    st->act = act;
    st->w_const = w ? w->data : NULL;
    if (fused && (read_epilogue(pc->node, st) != ONNXQ_OK ||
                  (st->bn && fold_bn(st, pc) != ONNXQ_OK))) {
        release_conv(st);
        return ONNXQ_ERR_UNSUPPORTED;
    }
    if (st->bn)
        st->w_const = st->bn_w.data;
    *state = st;
    return ONNXQ_OK;
}

static onnxq_status prepare_conv(const oq_prepare_ctx *pc, void **state)
{
    return conv_prepare(pc, state, 0, 0);
}

static onnxq_status prepare_fused_conv(const oq_prepare_ctx *pc, void **state)
{
    return conv_prepare(pc, state, 1, 0);
}

static onnxq_status prepare_conv_transpose(const oq_prepare_ctx *pc,
                                           void **state)
{
    return conv_prepare(pc, state, 0, 1);
}

static void release_conv(void *state)
{
    conv_state *st = state;
    if (!st)
        return;
    plan_clear(&st->plan);
    packed_clear(st);
    oq_dnnl_clear(&st->d);
    free(st->base_attrs);
    free(st->bn_w.data);
    free(st->bn_b.data);
    free(st);
}

/* After the reference FusedConv ran the base node: the float operations of
 * the nodes the epilogue replaced, in their order (the Mul, the Add, the
 * hard-swish chain as kernels/vec computes it, the Mul after it). */
static void epilogue_ref(const conv_state *st, oq_tensor *y)
{
    float *v = y->data, s = st->aff[0], b = st->aff[1];
    const float *h = st->hs;
    size_t n = oq_numel(y);
    for (size_t i = 0; i < n; i++) {
        float x = v[i];
        if (st->affine) {
            x = x * s;
            if (st->aff[2] != 0)
                x = x + b;
        }
        if (st->hswish) {
            float a = x + h[0];
            a = a < h[1] ? h[1] : a;
            a = h[2] < a ? h[2] : a;
            x = h[4] != 0 ? (x * a) / h[3] : (x * a) * h[3];
        }
        if (st->scale2 != 1.0f)
            x = x * st->scale2;
        v[i] = x;
    }
}

/* The reference kernel runs the node: blocked inputs are first converted
 * to plain copies in scratch, Y is left plain, and an epilogue follows. */
static onnxq_status conv_fallback(conv_state *st, oq_kctx *ctx)
{
    int xb = st->x_blocked, zb = st->z_blocked && st->fused;
    st->y_blocked = 0;
    if (st->epi) {
        oq_kctx k = *ctx;
        k.node = &st->base;
        st->epi = 0; /* the base node has no epilogue: plain fallback */
        onnxq_status rc = conv_fallback(st, &k);
        st->epi = 1;
        if (rc == ONNXQ_OK && ctx->out[0].dtype != T_FLOAT)
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "fused Conv epilogue "
                            "on a %s output", onnxq_dtype_name(ctx->out[0].dtype));
        if (rc == ONNXQ_OK)
            epilogue_ref(st, &ctx->out[0]);
        return rc;
    }
    if ((!xb && !zb) || ctx->n_in > 4)
        return oq_dnnl_fallback(&st->d, ctx);
    const oq_tensor *ins[4] = {0};
    oq_tensor plain[4];
    for (size_t i = 0; i < ctx->n_in; i++) {
        ins[i] = ctx->in[i];
        if (!ins[i] || !((i == 0 && xb) || (i == 3 && zb)))
            continue;
        plain[i] = *ins[i];
        plain[i].data = oq_scratch(ctx, oq_numel(ins[i]) * sizeof(float));
        if (!plain[i].data)
            return oq_failed(ctx);
        unblock_into(ins[i], ins[i]->data, plain[i].data);
        ins[i] = &plain[i];
    }
    oq_kctx k = *ctx;
    k.in = ins;
    return oq_dnnl_fallback(&st->d, &k);
}

static onnxq_status run_conv_core(conv_state *st, oq_kctx *ctx);

/* A folded BatchNormalization runs as the base FusedConv of the folded
 * weights and bias. */
static onnxq_status run_conv(oq_kctx *ctx)
{
    conv_state *st = ctx->state;
    if (!st->bn)
        return run_conv_core(st, ctx);
    const oq_tensor *ins[4] = {oq_in(ctx, 0), &st->bn_w, &st->bn_b,
                               oq_in(ctx, 3)};
    oq_kctx k = *ctx;
    k.node = &st->base;
    k.in = ins;
    k.n_in = ins[3] ? 4 : 3;
    return run_conv_core(st, &k);
}

static onnxq_status run_conv_core(conv_state *st, oq_kctx *ctx)
{
    conv_geom g;
    st->y_blocked = 0;
    if (st->transpose ? conv_transpose_geometry(ctx, &g)
                      : conv_geometry(ctx, st->fused, &g))
        return conv_fallback(st, ctx);
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1),
                    *b = oq_in(ctx, 2), *z = st->fused ? oq_in(ctx, 3) : NULL;
    int yb = st->y_may_block && blockable(x->rank, g.y);
    conv_key key = make_key(ctx, st->fused,
                            oq_dnnl_threads_effective(ctx->n_threads),
                            st->x_blocked, st->z_blocked, yb);
    int saved = oq_dnnl_threads_enter(ctx->n_threads);
    conv_plan *p = &st->plan;
    dnnl_status_t s = dnnl_success;
    const char *what = "convolution";
    if (!(p->made || p->refused) || !key_equal(&p->key, &key))
        s = plan_make(st, ctx, &g, &key);
    else if (p->refused)
        s = dnnl_unimplemented;
    if (s == dnnl_success) {
        what = "weights reorder";
        s = bind_weights(st, w, g.group);
    }
    oq_tensor *y = NULL;
    void *src_buf = NULL, *dst_buf = NULL;
    if (s == dnnl_success) {
        y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, p->y);
        if (!y) {
            oq_dnnl_threads_leave(saved);
            /* oq_output failed the node */
            return ctx->err ? ctx->err->status : ONNXQ_ERR_OUT_OF_MEMORY;
        }
        what = "convolution";
        /* the executor's scratch: planned with the tensors, so a repeated
         * run neither allocates nor faults pages in */
        if (p->src_blocked)
            src_buf = oq_scratch(ctx, p->src_bytes);
        if (p->dst_blocked)
            dst_buf = oq_scratch(ctx, p->dst_bytes);
        if ((p->src_blocked && !src_buf) || (p->dst_blocked && !dst_buf))
            s = dnnl_out_of_memory;
    }
    /* source: X itself (in the layout the primitive wants), or X
     * reordered into a buffer of that layout */
    if (s == dnnl_success && p->src_blocked) {
        s = oq_dnnl_reorder_run(&p->src_in, &st->d, x->data, src_buf);
        oq_dnnl_count_reorder();
    }
    if (s == dnnl_success)
        s = oq_dnnl_bind(p->src, p->src_blocked ? src_buf : x->data);
    /* destination: Y itself, or a buffer in the primitive's layout; Z is
     * put there first for the sum post-op */
    void *dst = p->dst_blocked ? dst_buf : (y ? y->data : NULL);
    if (s == dnnl_success)
        s = oq_dnnl_bind(p->dst, dst);
    if (s == dnnl_success && z) {
        if (p->z_reorder) {
            s = oq_dnnl_reorder_run(&p->z_in, &st->d, z->data, dst);
            oq_dnnl_count_reorder();
        } else {
            memcpy(dst, z->data, oq_numel(z) * sizeof(float));
        }
    }
    if (s == dnnl_success && b)
        s = oq_dnnl_bind(p->bias, b->data);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src},
                                   {DNNL_ARG_WEIGHTS, p->wei},
                                   {DNNL_ARG_DST, p->dst},
                                   {DNNL_ARG_BIAS, p->bias}};
        s = dnnl_primitive_execute(p->conv, st->d.stream, b ? 4 : 3, args);
    }
    if (s == dnnl_success && p->dst_blocked) {
        s = oq_dnnl_reorder_run(&p->dst_out, &st->d, dst_buf, y->data);
        oq_dnnl_count_reorder();
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(st->d.stream);
    oq_dnnl_threads_leave(saved);
    if (s != dnnl_success) {
        if (y)   /* oneDNN failed after the output was made: no fallback */
            return oq_kfail(ctx, s == dnnl_out_of_memory
                                     ? ONNXQ_ERR_OUT_OF_MEMORY
                                     : ONNXQ_ERR_INTERNAL,
                            "oneDNN %s failed (status %d)", what, (int)s);
        if (s == dnnl_out_of_memory)
            return oq_dnnl_failed(&st->d, ctx, s, what);
        return conv_fallback(st, ctx);
    }
    st->y_blocked = key.yb;
    if (key.xb)
        oq_dnnl_count_blocked_in();
    oq_dnnl_count_fast();
    return ONNXQ_OK;
}

/* ---- the executor's side of the blocked hand-off ------------------------- */

int oq_dnnl_is_conv(const oq_fast_kernel *k)
{
    return k == &oq_dnnl_conv || k == &oq_dnnl_fused_conv;
}

void oq_dnnl_conv_layout(void *state, int x_blocked, int z_blocked,
                         int y_may_block)
{
    conv_state *st = state;
    st->x_blocked = x_blocked;
    st->z_blocked = z_blocked;
    st->y_may_block = y_may_block;
}

int oq_dnnl_conv_y_blocked(const void *state)
{
    return ((const conv_state *)state)->y_blocked;
}

const oq_fast_kernel oq_dnnl_conv = {
    "", "Conv", 1, 21, prepare_conv, run_conv, release_conv,
};

const oq_fast_kernel oq_dnnl_conv_transpose = {
    "", "ConvTranspose", 1, 21, prepare_conv_transpose, run_conv, release_conv,
};

const oq_fast_kernel oq_dnnl_fused_conv = {
    "com.microsoft", "FusedConv", 1, 1, prepare_fused_conv, run_conv,
    release_conv,
};
