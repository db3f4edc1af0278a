/*
 * int8_ops.c — fast kernels (kernel.h's oq_fast_kernel) for the integer
 * ops: QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger and
 * com.microsoft QLinearConv (NCHW), QGemm, MatMulIntegerToFloat,
 * DynamicQuantizeMatMul, QLinearAdd (same shapes and the common broadcasts).  Results equal
 * the reference kernels of kernels/ref/quant.c bit for bit (integer outputs) and to the last float
 * rounding (float outputs): the products are exact int32 (qgemm.c) and
 * every float step is the reference's, in its order.
 *
 * Prepare takes the node only when its weights (W or B) and their zero
 * point are initializers of an 8-bit type: it widens w - w_zero_point to
 * int16 once, in the layout qgemm.c multiplies (conv: rows [M][K], K =
 * C/group x kernel; matmul: a panel of B [K][N]).  u8 and s8 weights are
 * both taken as they are (w - zw of either fits int16), so nothing has to
 * be converted to s8 as oneDNN's convolution would need.  Run hands the
 * node to the reference kernel for anything outside that (other types,
 * per-row A zero points, channels_last, 3-D convolutions, fp16 scales, new
 * weights, shapes the spec forbids — the reference reports those).
 *
 * Convolutions: group 1 with pair-safe weights (see pack_pair_safe) runs
 * the u8 row kernel at any stride (conv_rows_u8), other group-1 ones the
 * int16 row kernel at stride 1 with fewer than 64 output channels
 * (conv_rows), else an implicit GEMM (conv_implicit: 6 output
 * positions x 16 channels per tile, read straight from a padded
 * channels-last int16 copy of x); grouped ones gather 64 output positions
 * at a time (im2col) into each thread's scratch and multiply the group's
 * channels against them; depthwise ones (one input channel per group) run a
 * direct loop.  com.microsoft QLinearAdd is vectorised for same shapes,
 * scalars and row/channel broadcasts (see run_qadd).  ONNXQ_VERBOSE=1 says on stderr which node each kernel took or
 * declined and why.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8_kernels.h"
#include "oq_util.h"
#include "qgemm.h"
#include "registry.h"
#include "kernels/ref/ref_kernels.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};

typedef enum {
    OP_QLINEAR_CONV, OP_CONV_INTEGER, OP_QLINEAR_MATMUL, OP_MATMUL_INTEGER,
    OP_MM_TO_FLOAT, OP_DQ_MATMUL, OP_QGEMM,
} q8_op;

/* ---- counters and verbose ------------------------------------------------ */

static atomic_size_t n_fast, n_fallback, n_conv_rows, n_conv_rows_u8;

oq_int8_stats oq_int8_stats_get(void)
{
    oq_int8_stats s;
    memset(&s, 0, sizeof s);
    s.fast_runs = atomic_load(&n_fast);
    s.fallback_runs = atomic_load(&n_fallback);
    s.conv_rows_runs = atomic_load(&n_conv_rows);
    s.conv_rows_u8_runs = atomic_load(&n_conv_rows_u8);
    oq_qdq_stats(&s.qdq_runs, &s.qdq_folded_runs);
    return s;
}

/* ONNXQ_VERBOSE=1: one line per decision on stderr.  A debugging switch in
 * the spirit of DNNL_VERBOSE; the library prints nothing without it. */
static int verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = oq_env_on("ONNXQ_VERBOSE");
    return v;
}

static void say(const Onnx__NodeProto *node, const char *fmt, const char *why)
{
    if (verbose())
        fprintf(stderr, "onnxq: int8 %s '%s': %s%s\n", node->op_type,
                node->name && node->name[0] ? node->name : "(unnamed)", fmt,
                why ? why : "");
}

/* ---- state --------------------------------------------------------------- */

typedef struct q8_state {
    q8_op op;
    const oq_kernel *ref;
    const void *w_data, *wzp_data;  /* the initializers packed */
    int32_t w_dtype;
    size_t K, K2;                   /* K: reduction length */
    /* conv: rows (qgemm.h), one block of gstride elements per group;
     * matmul: panel of [K][N] */
    int16_t *packed;
    size_t gstride;
    int64_t group;
    int16_t *plain;                 /* conv with one input channel per group:
                                       [M][K] for the depthwise loop */
    int16_t *ipanel;                /* group 1 conv: W as a panel of k =
                                       (tap, channel pair), for the
                                       implicit GEMM (no im2col) */
    size_t C2, ntaps;
    int16_t *rpanel;                /* group 1 conv: W for the stride-1 row
                                       kernel (qgemm.h oq_qg_conv_rows):
                                       blocks of OQ_QG_RM channels, k =
                                       (channel pair, tap) */
    size_t rC2;                     /* channel pairs of rpanel */
    int8_t *upanel;                 /* pair-safe weights: W - zero point as
                                       bytes for the u8 row kernel (blocks
                                       of OQ_QG_RM channels, k = (channel
                                       quad, tap)); NULL if not pair safe */
    int32_t *colsum;                /* [M] sum of each channel's W - zp */
    size_t C4;                      /* channel quads of upanel */
    int64_t M, N;                   /* conv: M channels; matmul: N columns */
    int64_t wdims[OQ_MAX_RANK];     /* conv W dims */
    int wrank;
    int said_fallback;              /* ONNXQ_VERBOSE: told once */
} q8_state;

static int is_q8(int32_t dt) { return dt == T_UINT8 || dt == T_INT8; }

/* Every dim > 0 (empty tensors go to the reference). */
static int nonempty(const oq_tensor *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] <= 0)
            return 0;
    return 1;
}

static inline int32_t get8(const void *p, int is_signed, size_t i)
{
    return is_signed ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

static const oq_tensor *pin(const oq_prepare_ctx *p, size_t i)
{
    return i < p->n_in ? p->consts[i] : NULL;
}

static int input_named(const Onnx__NodeProto *node, size_t i)
{
    return i < node->n_input && node->input[i] && node->input[i][0];
}

static void release(void *state)
{
    q8_state *st = state;
    if (!st)
        return;
    free(st->packed);
    free(st->plain);
    free(st->ipanel);
    free(st->rpanel);
    free(st->upanel);
    free(st->colsum);
    free(st);
}

/* Where each op keeps its weights and their zero point. */
static void weight_slots(q8_op op, size_t *w, size_t *wzp)
{
    switch (op) {
    case OP_QLINEAR_CONV: *w = 3; *wzp = 5; break;
    case OP_CONV_INTEGER: *w = 1; *wzp = 3; break;
    case OP_QLINEAR_MATMUL: *w = 3; *wzp = 5; break;
    case OP_MATMUL_INTEGER: *w = 1; *wzp = 3; break;
    case OP_MM_TO_FLOAT: *w = 1; *wzp = 5; break;
    case OP_DQ_MATMUL: *w = 1; *wzp = 3; break;
    default: *w = 3; *wzp = 5; break; /* QGemm */
    }
}

static int is_conv(q8_op op) { return op == OP_QLINEAR_CONV || op == OP_CONV_INTEGER; }

/* The weight zero point for output channel / column j. */
static inline int32_t wzp_at(const oq_tensor *z, size_t j)
{
    if (!z)
        return 0;
    return get8(z->data, z->dtype == T_INT8, oq_numel(z) == 1 ? 0 : j);
}

/* A per-channel parameter of count values: one value, 1-D [count], or (for
 * matmul's B) [1, count]. */
static int per_channel_ok(const oq_tensor *t, int64_t count)
{
    size_t n = oq_numel(t);
    if (n == 1)
        return 1;
    if ((int64_t)n != count)
        return 0;
    return t->rank == 1 || (t->rank == 2 && t->dims[0] == 1);
}

/* 255 * (|a| + |b|) fits int16: vpmaddubsw cannot saturate on this pair. */
static int pair_safe(int32_t a, int32_t b)
{
    return 255 * (abs(a) + abs(b)) <= 32767;
}

/* The u8 row kernel's weights (st->upanel, st->colsum) when every W - zp
 * fits int8 and every pair vpmaddubsw adds is pair safe; nothing (upanel
 * NULL) otherwise.  -1 only when out of memory. */
static int pack_pair_safe(q8_state *st, const oq_tensor *w, const oq_tensor *wz,
                          size_t C, size_t taps)
{
    int sgn = w->dtype == T_INT8;
    size_t M = (size_t)st->M, C4 = (C + 3) / 4;
    for (size_t m = 0; m < M; m++) {
        int32_t z = wzp_at(wz, m);
        for (size_t c = 0; c < C; c += 2)
            for (size_t t = 0; t < taps; t++) {
                int32_t a = get8(w->data, sgn, (m * C + c) * taps + t) - z;
                int32_t b = c + 1 < C ? get8(w->data, sgn, (m * C + c + 1) * taps + t) - z : 0;
                if (a < -128 || a > 127 || b < -128 || b > 127 || !pair_safe(a, b))
                    return 0;
            }
    }
    size_t blocks = (M + OQ_QG_RM - 1) / OQ_QG_RM;
    st->upanel = calloc(blocks * C4 * taps * OQ_QG_RM * 4 + 1, 1);
    st->colsum = calloc(M + 1, sizeof *st->colsum);
    if (!st->upanel || !st->colsum)
        return -1;
    st->C4 = C4;
    for (size_t m = 0; m < M; m++) {
        int32_t z = wzp_at(wz, m);
        int8_t *blk = st->upanel + m / OQ_QG_RM * C4 * taps * OQ_QG_RM * 4;
        for (size_t c = 0; c < C; c++)
            for (size_t t = 0; t < taps; t++) {
                int32_t v = get8(w->data, sgn, (m * C + c) * taps + t) - z;
                blk[((c / 4 * taps + t) * OQ_QG_RM + m % OQ_QG_RM) * 4 + c % 4] = (int8_t)v;
                st->colsum[m] += v;
            }
    }
    return 0;
}

static onnxq_status prepare_op(const oq_prepare_ctx *p, void **state, q8_op op)
{
    const Onnx__NodeProto *node = p->node;
    size_t wi, zi;
    weight_slots(op, &wi, &zi);
    const oq_tensor *w = pin(p, wi), *wz = pin(p, zi);
    if (!w || !is_q8(w->dtype)) {
        say(node, "declined: ", "the weights are not an 8-bit initializer");
        return ONNXQ_ERR_UNSUPPORTED;
    }
    if (input_named(node, zi) && (!wz || wz->dtype != w->dtype)) {
        say(node, "declined: ", "the weight zero point is not a constant of "
            "the weights' type");
        return ONNXQ_ERR_UNSUPPORTED;
    }
    if (op == OP_QLINEAR_CONV && node->domain &&
        strcmp(node->domain, "com.microsoft") == 0) {
        for (size_t i = 0; i < node->n_attribute; i++)
            if (strcmp(node->attribute[i]->name, "channels_last") == 0 &&
                node->attribute[i]->i != 0) {
                say(node, "declined: ", "channels_last");
                return ONNXQ_ERR_UNSUPPORTED;
            }
    }
    q8_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int cf;
    st->op = op;
    st->ref = oq_find_kernel(node->domain ? node->domain : "", node->op_type,
                             p->opset, &cf);
    st->w_data = w->data;
    st->wzp_data = wz ? wz->data : NULL;
    st->w_dtype = w->dtype;
    int sgn = w->dtype == T_INT8;
    const char *why = NULL;
    if (!st->ref || !st->ref->run)
        why = "no reference kernel to fall back on";
    if (!why && is_conv(op)) {
        if (w->rank != 3 && w->rank != 4)
            why = "only 1-D and 2-D convolutions";
        else if (!nonempty(w))
            why = "empty weights";
        else if (wz && !per_channel_ok(wz, w->dims[0]))
            why = "the weight zero point is neither per-tensor nor per channel";
        if (!why) {
            st->M = w->dims[0];
            st->K = oq_numel(w) / (size_t)st->M;
            st->K2 = oq_qg_k2(st->K);
            st->wrank = w->rank;
            memcpy(st->wdims, w->dims, sizeof st->wdims);
            st->group = 1;
            for (size_t i = 0; i < node->n_attribute; i++)
                if (strcmp(node->attribute[i]->name, "group") == 0)
                    st->group = node->attribute[i]->i;
        }
        if (!why && (st->group < 1 || st->M % st->group))
            why = "group does not divide the output channels";
        if (!why) {
            size_t Mg = (size_t)(st->M / st->group);
            st->gstride = oq_qg_rows_size(Mg, st->K);
            st->packed = calloc((size_t)st->group * st->gstride, sizeof *st->packed);
            if (w->dims[1] == 1)
                st->plain = malloc((size_t)st->M * st->K * sizeof *st->plain);
            if (!st->packed || (w->dims[1] == 1 && !st->plain)) {
                release(st);
                return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                       "out of memory");
            }
            if (st->group == 1 && w->dims[1] > 1) {
                st->C2 = (size_t)(w->dims[1] + 1) / 2;
                st->ntaps = st->K / (size_t)w->dims[1];
                st->ipanel = calloc(oq_qg_panel_size(st->ntaps * st->C2 * 2,
                                                     (size_t)st->M),
                                    sizeof *st->ipanel);
                if (!st->ipanel) {
                    release(st);
                    return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                           "out of memory");
                }
            }
            if (st->group == 1 && w->dims[1] > 1) {
                /* the row kernels, for the stride-1 runs (one input
                 * channel: im2col wastes nothing there, the row kernels
                 * would multiply zero channels) */
                size_t C = (size_t)w->dims[1], taps = st->K / C;
                size_t blocks = ((size_t)st->M + OQ_QG_RM - 1) / OQ_QG_RM;
                st->rC2 = (C + 1) / 2;
                st->rpanel = calloc(blocks * st->rC2 * taps * OQ_QG_RM * 2 + 1,
                                    sizeof *st->rpanel);
                if (!st->rpanel) {
                    release(st);
                    return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                           "out of memory");
                }
                for (size_t m = 0; m < (size_t)st->M; m++) {
                    int32_t z = wzp_at(wz, m);
                    int16_t *blk = st->rpanel + m / OQ_QG_RM * st->rC2 * taps * OQ_QG_RM * 2;
                    for (size_t k = 0; k < st->K; k++) {
                        size_t c = k / taps, t = k % taps;
                        blk[((c / 2 * taps + t) * OQ_QG_RM + m % OQ_QG_RM) * 2 + (c & 1)] =
                            (int16_t)(get8(w->data, sgn, m * st->K + k) - z);
                    }
                }
                /* below 3 channels most of each quad would be zeros */
                if (C >= 3 && pack_pair_safe(st, w, wz, C, taps) != 0) {
                    release(st);
                    return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                           "out of memory");
                }
            }
            size_t K2i = st->ntaps * st->C2;
            for (size_t m = 0; m < (size_t)st->M; m++) {
                int32_t z = wzp_at(wz, m);
                for (size_t k = 0; st->ipanel && k < st->K; k++) {
                    size_t c = k / st->ntaps, t = k % st->ntaps;
                    size_t pair = t * st->C2 + c / 2, j = m / OQ_QG_NR;
                    st->ipanel[((j * K2i + pair) * OQ_QG_NR + m % OQ_QG_NR) * 2 + (c & 1)] =
                        (int16_t)(get8(w->data, sgn, m * st->K + k) - z);
                }
                int16_t *grp = st->packed + m / Mg * st->gstride;
                for (size_t k = 0; k < st->K; k++) {
                    int16_t v = (int16_t)(get8(w->data, sgn, m * st->K + k) - z);
                    grp[oq_qg_rows_at(st->K2, m % Mg, k)] = v;
                    if (st->plain)
                        st->plain[m * st->K + k] = v;
                }
            }
        }
    } else if (!why) {
        int tb = 0;
        if (op == OP_QGEMM) {
            for (size_t i = 0; i < node->n_attribute; i++)
                if (strcmp(node->attribute[i]->name, "transB") == 0)
                    tb = node->attribute[i]->i != 0;
        }
        if (w->rank != 2 || !nonempty(w))
            why = "B is not a non-empty 2-D matrix";
        else {
            st->K = (size_t)w->dims[tb ? 1 : 0];
            st->N = w->dims[tb ? 0 : 1];
            if (wz && !per_channel_ok(wz, st->N))
                why = "the B zero point is neither per-tensor nor per column";
            else if (wz && op == OP_QGEMM && oq_numel(wz) != 1 && wz->rank != 1)
                why = "QGemm's B zero point must be 1-D";
        }
        if (!why) {
            size_t N = (size_t)st->N, K = st->K;
            st->K2 = oq_qg_k2(K);
            st->packed = calloc(oq_qg_panel_size(K, N), sizeof *st->packed);
            if (!st->packed) {
                release(st);
                return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                       "out of memory");
            }
            for (size_t n = 0; n < N; n++) {
                int32_t z = wzp_at(wz, n);
                size_t j = n / OQ_QG_NR, c = n % OQ_QG_NR;
                for (size_t k = 0; k < K; k++) {
                    size_t src = tb ? n * K + k : k * N + n;
                    st->packed[((j * st->K2 + k / 2) * OQ_QG_NR + c) * 2 + (k & 1)] =
                        (int16_t)(get8(w->data, sgn, src) - z);
                }
            }
        }
    }
    if (why) {
        say(node, "declined: ", why);
        release(st);
        return ONNXQ_ERR_UNSUPPORTED;
    }
    if (st->upanel)
        say(node, "exact u8 x s8 vpmaddubsw row kernel (the weights - zero "
            "point are pair safe: no int16 saturation)", NULL);
    else if (st->rpanel)
        say(node, "exact int16 kernels (the weights are not pair safe for "
            "vpmaddubsw; ", sgn ? "s8 weights - zero point widened once)"
                                : "u8 weights - zero point widened once)");
    else
        say(node, sgn ? "exact int16 kernel, s8 weights - zero point widened once"
                      : "exact int16 kernel, u8 weights - zero point widened once "
                        "(no s8 conversion needed)", NULL);
    *state = st;
    return ONNXQ_OK;
}

/* ---- run-time checks ----------------------------------------------------- */

static onnxq_status fallback(oq_kctx *ctx)
{
    q8_state *st = ctx->state;
    atomic_fetch_add(&n_fallback, 1);
    if (!st->said_fallback) {
        st->said_fallback = 1;
        say(ctx->node, "inputs outside the fast path at run time: the "
            "reference kernel runs it", NULL);
    }
    return st->ref->run(ctx);
}

/* A single float32 value (scales). */
static int scalar_f32(const oq_tensor *t, float *v)
{
    if (!t || t->dtype != T_FLOAT || oq_numel(t) != 1)
        return 0;
    *v = *(const float *)t->data;
    return 1;
}

/* An optional zero point of type dt holding one value (0 when omitted). */
static int scalar_zp(const oq_tensor *t, int32_t dt, int32_t *v)
{
    *v = 0;
    if (!t)
        return 1;
    if (t->dtype != dt || oq_numel(t) != 1)
        return 0;
    *v = get8(t->data, dt == T_INT8, 0);
    return 1;
}

/* The weights (and zero point) at run time are the ones packed. */
static int same_weights(const oq_kctx *ctx, const q8_state *st)
{
    size_t wi, zi;
    weight_slots(st->op, &wi, &zi);
    const oq_tensor *w = oq_in(ctx, wi), *z = oq_in(ctx, zi);
    return w && w->data == st->w_data && w->dtype == st->w_dtype &&
           (z ? z->data : NULL) == st->wzp_data;
}

/* ---- convolution --------------------------------------------------------- */

typedef struct cgeom {
    int64_t N, C, G, Cg, Mg;
    int64_t H, W, OH, OW, KH, KW;
    int64_t sh, sw, dh, dw, ph, pw;
} cgeom;

/* An INTS attribute of want values (absent: left alone); -1 if malformed. */
static int ints_attr(const oq_kctx *ctx, const char *name, long want,
                     int64_t *dst)
{
    const int64_t *v;
    long n = oq_attr_ints(ctx, name, &v);
    if (n < 0)
        return 0;
    if (n != want)
        return -1;
    memcpy(dst, v, (size_t)n * sizeof *v);
    return 0;
}

/* The reference's geometry (quant.c conv_geometry) for 1-D/2-D NCHW; -1
 * for anything the reference should see. */
static int conv_geom_of(const oq_kctx *ctx, const q8_state *st,
                        const oq_tensor *x, cgeom *g)
{
    memset(g, 0, sizeof *g);
    int ns = st->wrank - 2;
    if (x->rank != st->wrank || !nonempty(x))
        return -1;
    g->N = x->dims[0];
    g->C = x->dims[1];
    g->G = oq_attr_int(ctx, "group", 1);
    if (g->G != st->group || g->C != st->wdims[1] * g->G)
        return -1;
    g->Cg = st->wdims[1];
    g->Mg = st->M / g->G;
    int64_t ks[2], strides[2] = {1, 1}, dil[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
    ks[0] = st->wdims[2];
    ks[1] = ns == 2 ? st->wdims[3] : 1;
    int64_t kattr[2] = {ks[0], ks[1]};
    if (ints_attr(ctx, "kernel_shape", ns, kattr) ||
        ints_attr(ctx, "strides", ns, strides) ||
        ints_attr(ctx, "dilations", ns, dil) || ints_attr(ctx, "pads", 2 * ns, pads))
        return -1;
    if (kattr[0] != ks[0] || (ns == 2 && kattr[1] != ks[1]))
        return -1;
    int64_t in[2] = {x->dims[2], ns == 2 ? x->dims[3] : 1}, out[2], pb[2];
    if (ns == 1) {
        strides[1] = dil[1] = 1;
        pads[2] = pads[1]; /* [b0, e0] -> [b0, b1 = 0, e0, e1 = 0] */
        pads[1] = 0;
        pads[3] = 0;
    }
    char buf[32];
    const char *ap = oq_attr_string(ctx, "auto_pad", "NOTSET", buf, sizeof buf);
    int same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    if (!same && !valid && strcmp(ap, "NOTSET") != 0 && ap[0])
        return -1;
    for (int d = 0; d < 2; d++) {
        if (strides[d] < 1 || dil[d] < 1)
            return -1;
        int64_t ext = (ks[d] - 1) * dil[d] + 1, b, e;
        if (same && (ns == 2 || d == 0)) {
            int64_t o = (in[d] + strides[d] - 1) / strides[d];
            int64_t total = (o - 1) * strides[d] + ext - in[d];
            total = total > 0 ? total : 0;
            b = ap[5] == 'U' ? total / 2 : total - total / 2;
            e = total - b;
        } else if (valid) {
            b = e = 0;
        } else {
            b = pads[d];
            e = pads[2 + d];
        }
        if (b < 0 || e < 0)
            return -1;
        int64_t span = in[d] + b + e - ext;
        if (span < 0)
            return -1; /* empty output: the reference's business */
        out[d] = span / strides[d] + 1;
        pb[d] = b;
    }
    g->H = in[0]; g->W = in[1]; g->OH = out[0]; g->OW = out[1];
    g->KH = ks[0]; g->KW = ks[1];
    g->sh = strides[0]; g->sw = strides[1];
    g->dh = dil[0]; g->dw = dil[1];
    g->ph = pb[0]; g->pw = pb[1];
    return 0;
}

/* Positions per im2col chunk: 4 panel groups. */
enum { CHUNK = 4 * OQ_QG_NR };

/* im2col of output positions p0 .. p0 + len of one image and group into
 * rows[k][CHUNK] (values x - x_zp as int16, padding 0; k = (c, kh, kw) as in
 * W), then interleaved into the chunk's panel groups.  Row segments are
 * built one output row at a time, so the inner loops copy runs of input. */
/* gcc would turn the short copy loops into memcpy calls; clang (the fuzz
 * build) has no such option and needs none. */
#if defined(__clang__)
#define OQ_NO_LOOP_CALLS
#else
#define OQ_NO_LOOP_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
OQ_NO_LOOP_CALLS __attribute__((target_clones("avx2", "default")))
static void pack_conv_chunk(const cgeom *g, const int16_t *x16, int64_t c0,
                            size_t p0, size_t len, size_t K2, int16_t *rows,
                            int16_t *panel)
{
    size_t K = (size_t)(g->Cg * g->KH * g->KW), plane = (size_t)(g->H * g->W);
    size_t k = 0;
    for (int64_t c = 0; c < g->Cg; c++) {
        const int16_t *xc = x16 + (size_t)(c0 + c) * plane;
        for (int64_t kh = 0; kh < g->KH; kh++)
            for (int64_t kw = 0; kw < g->KW; kw++, k++) {
                int16_t *dst = rows + k * CHUNK;
                int64_t off = kw * g->dw - g->pw;
                /* ow whose iw = ow * sw + off lies in [0, W) */
                int64_t lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
                int64_t hi = g->W - 1 - off < 0 ? -1 : (g->W - 1 - off) / g->sw;
                size_t p = p0, end = p0 + len;
                while (p < end) {
                    int64_t oh = (int64_t)p / g->OW, ow0 = (int64_t)p % g->OW;
                    int64_t seg = g->OW - ow0;
                    if ((size_t)seg > end - p)
                        seg = (int64_t)(end - p);
                    int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                    int16_t *d = dst + (p - p0);
                    if (ih < 0 || ih >= g->H) {
                        memset(d, 0, (size_t)seg * sizeof *d);
                    } else {
                        const int16_t *xr = xc + ih * g->W + off;
                        int64_t a = lo - ow0, b = hi - ow0 + 1; /* copy [a, b) */
                        a = a < 0 ? 0 : a > seg ? seg : a;
                        b = b < a ? a : b > seg ? seg : b;
                        /* short runs: plain loops beat memcpy/memset calls */
                        for (int64_t i = 0; i < a; i++)
                            d[i] = 0;
                        if (g->sw == 1) {
                            const int16_t *src = xr + ow0;
                            for (int64_t i = a; i < b; i++)
                                d[i] = src[i];
                        } else {
                            for (int64_t i = a; i < b; i++)
                                d[i] = xr[(ow0 + i) * g->sw];
                        }
                        for (int64_t i = b; i < seg; i++)
                            d[i] = 0;
                    }
                    p += (size_t)seg;
                }
                if (len < CHUNK)
                    memset(dst + len, 0, (CHUNK - len) * sizeof *dst);
            }
    }
    size_t groups = (len + OQ_QG_NR - 1) / OQ_QG_NR;
    for (size_t j = 0; j < groups; j++)
        for (size_t pr = 0; pr < K2; pr++) {
            size_t k0 = 2 * pr;
            oq_qg_interleave16(rows + k0 * CHUNK + j * OQ_QG_NR,
                               k0 + 1 < K ? rows + (k0 + 1) * CHUNK + j * OQ_QG_NR : NULL,
                               panel + (j * K2 + pr) * OQ_QG_NR * 2);
        }
}

/* Depthwise (one input channel per group): acc plane of channel m of image
 * n, directly. */
static void depthwise_plane(const cgeom *g, const int16_t *xc,
                            const int16_t *wm, int32_t *acc)
{
    size_t OW = (size_t)g->OW;
    memset(acc, 0, (size_t)(g->OH * g->OW) * sizeof *acc);
    for (int64_t kw = 0; kw < g->KW; kw++) {
        /* ow range whose iw = ow * sw - pw + kw * dw lies in [0, W) */
        int64_t off = kw * g->dw - g->pw;
        int64_t lo = off >= 0 ? 0 : (-off + g->sw - 1) / g->sw;
        int64_t hi = g->W - 1 - off < 0 ? -1 : (g->W - 1 - off) / g->sw;
        if (hi > g->OW - 1)
            hi = g->OW - 1;
        if (lo > hi)
            continue;
        for (int64_t kh = 0; kh < g->KH; kh++) {
            int32_t wv = wm[kh * g->KW + kw];
            if (!wv)
                continue;
            for (int64_t oh = 0; oh < g->OH; oh++) {
                int64_t ih = oh * g->sh - g->ph + kh * g->dh;
                if (ih < 0 || ih >= g->H)
                    continue;
                const int16_t *xr = xc + ih * g->W + off;
                uint32_t *ar = (uint32_t *)acc + (size_t)oh * OW;
                if (g->sw == 1)
                    for (int64_t ow = lo; ow <= hi; ow++)
                        ar[ow] += (uint32_t)(wv * xr[ow]);
                else
                    for (int64_t ow = lo; ow <= hi; ow++)
                        ar[ow] += (uint32_t)(wv * xr[ow * g->sw]);
            }
        }
    }
}

/* Group-1 convolutions without im2col: x - x_zp goes once into a
 * zero-padded channels-last int16 image (channels rounded up to even), and
 * each tile of 6 output positions x 16 output channels reads its k pairs
 * (two channels of one tap) straight from there (qgemm.c conv tile).  The
 * tile's [position][channel] result is stored transposed into acc. */
static int conv_implicit(const q8_state *st, const cgeom *g, const oq_tensor *x,
                         int32_t xzp, int nt, int32_t *acc)
{
    size_t C = (size_t)g->C, Cp = 2 * st->C2, P = (size_t)(g->OH * g->OW);
    int64_t need_h = (g->OH - 1) * g->sh + (g->KH - 1) * g->dh + 1;
    int64_t need_w = (g->OW - 1) * g->sw + (g->KW - 1) * g->dw + 1;
    size_t Hp = (size_t)(g->ph + g->H > need_h ? g->ph + g->H : need_h);
    size_t Wp = (size_t)(g->pw + g->W > need_w ? g->pw + g->W : need_w);
    size_t img = Hp * Wp * Cp, M = (size_t)st->M;
    int16_t *xp = calloc((size_t)g->N * img + 1, sizeof *xp);
    int64_t *taps = malloc(st->ntaps * sizeof *taps);
    if (!xp || !taps) {
        free(xp);
        free(taps);
        return -1;
    }
    int sgn = x->dtype == T_INT8;
    size_t H = (size_t)g->H, W = (size_t)g->W;
    /* channels innermost: contiguous writes, and the C input streams
     * (one cache line each along w) stay in L1 */
    size_t HW = H * W;
    for (size_t n = 0; n < (size_t)g->N; n++)
        for (size_t h = 0; h < H; h++) {
            int16_t *dst = xp + n * img + ((h + (size_t)g->ph) * Wp + (size_t)g->pw) * Cp;
            size_t base = n * C * HW + h * W;
            for (size_t w = 0; w < W; w++, dst += Cp) {
                if (sgn) {
                    const int8_t *src = (const int8_t *)x->data + base + w;
                    for (size_t c = 0; c < C; c++)
                        dst[c] = (int16_t)(src[c * HW] - xzp);
                } else {
                    const uint8_t *src = (const uint8_t *)x->data + base + w;
                    for (size_t c = 0; c < C; c++)
                        dst[c] = (int16_t)(src[c * HW] - xzp);
                }
            }
        }
    for (size_t t = 0; t < st->ntaps; t++) {
        int64_t kh = (int64_t)t / g->KW, kw = (int64_t)t % g->KW;
        taps[t] = (kh * g->dh * (int64_t)Wp + kw * g->dw) * (int64_t)Cp;
    }
    size_t blocks = (P + OQ_QG_MR - 1) / OQ_QG_MR, tasks = (size_t)g->N * blocks;
    size_t groups = (M + OQ_QG_NR - 1) / OQ_QG_NR, K2 = st->ntaps * st->C2;
#pragma omp parallel for schedule(static) num_threads(nt) if (tasks > 1)
    for (size_t task = 0; task < tasks; task++) {
        size_t n = task / blocks, p0 = task % blocks * OQ_QG_MR;
        int mr = (int)(P - p0 < OQ_QG_MR ? P - p0 : OQ_QG_MR);
        const int16_t *rows[OQ_QG_MR];
        for (int r = 0; r < mr; r++) {
            size_t p = p0 + (size_t)r, oh = p / (size_t)g->OW, ow = p % (size_t)g->OW;
            rows[r] = xp + n * img + (oh * (size_t)g->sh * Wp + ow * (size_t)g->sw) * Cp;
        }
        int32_t tile[OQ_QG_MR * OQ_QG_NR];
        for (size_t j = 0; j < groups; j++) {
            size_t nc = M - j * OQ_QG_NR < OQ_QG_NR ? M - j * OQ_QG_NR : OQ_QG_NR;
            oq_qg_conv_tile(rows, mr, taps, st->ntaps, st->C2,
                            st->ipanel + j * K2 * OQ_QG_NR * 2, tile, OQ_QG_NR, nc);
            for (size_t cj = 0; cj < nc; cj++) {
                int32_t *dst = acc + (n * M + j * OQ_QG_NR + cj) * P + p0;
                for (int r = 0; r < mr; r++)
                    dst[r] = tile[(size_t)r * OQ_QG_NR + cj];
            }
        }
    }
    free(xp);
    free(taps);
    return 0;
}

/* Group-1 convolutions with pair-safe weights on the u8 row kernel
 * (qgemm.h oq_qg_conv_rows_u8), any stride: the padded image is split into
 * sh x sw phase planes of channel quads — padded pixel (i, j) goes to
 * phase (i % sh, j % sw) at (i / sh, j / sw) — so every tap (kh, kw) of
 * output (oh, ow) is the pixel (oh + kh*dh / sh, ow + kw*dw / sw) of phase
 * (kh*dh % sh, kw*dw % sw): one fixed offset from q = oh * Wq + ow, as in
 * the stride-1 case (one phase).  Padding and unused channels hold the
 * zero point (int8 activations are stored + 128, so is their zero point),
 * so x - x_zp is 0 there. */
static onnxq_status conv_rows_u8(oq_kctx *ctx, const q8_state *st,
                                 const cgeom *g, const oq_tensor *x,
                                 int32_t xzp, const oq_qg_requant *rq, void *y)
{
    size_t C = (size_t)g->C, M = (size_t)st->M, C4 = st->C4;
    size_t H = (size_t)g->H, W = (size_t)g->W, OH = (size_t)g->OH, OW = (size_t)g->OW;
    size_t sh = (size_t)g->sh, sw = (size_t)g->sw;
    size_t Hq = OH + (size_t)((g->KH - 1) * g->dh) / sh;
    size_t Wq = OW + (size_t)((g->KW - 1) * g->dw) / sw;
    size_t nplane = Hq * Wq, phases = sh * sw;
    size_t quad = (phases * nplane + OQ_QG_RQ) * 4;  /* bytes per channel quad */
    /* Stride 1: the right padding of one row and the left padding of the
     * next can be the same columns (a gap of max(pw, pe) between rows of
     * W), which halves the thrown-away positions of a "same" convolution:
     * pixel (ih, iw) at pre + ih * Wq + iw, pre = ph * Wq + pw, so output
     * q = oh * Wq + ow still reads tap (kh, kw) at q + kh*dh * Wq + kw*dw. */
    size_t pe = Wq - W - (size_t)g->pw; /* stride 1: the end padding used */
    size_t gap = (size_t)g->pw > pe ? (size_t)g->pw : pe;
    int shared = phases == 1 && OW <= W + gap && W + gap < Wq;
    if (shared) {
        Wq = W + gap;
        nplane = Hq * Wq + (size_t)g->pw + pe;
        quad = (nplane + OQ_QG_RQ) * 4;
    }
    size_t Qn = (OH - 1) * Wq + OW, nq = (Qn + OQ_QG_RQ - 1) / OQ_QG_RQ;
    size_t Qpad = nq * OQ_QG_RQ, ntaps = (size_t)(g->KH * g->KW), esz = rq ? 1 : 4;
    size_t blocks = (M + OQ_QG_RM - 1) / OQ_QG_RM, wblk = C4 * ntaps * OQ_QG_RM * 4;
    uint8_t *xq = oq_scratch(ctx, C4 * quad);
    int32_t *adj = oq_scratch(ctx, M * sizeof *adj);
    char *tmp = oq_scratch(ctx, M * Qpad * esz);
    int64_t *taps = oq_scratch(ctx, ntaps * sizeof *taps);
    if (!xq || !adj || !tmp || !taps)
        return oq_failed(ctx);
    for (size_t t = 0; t < ntaps; t++) {
        size_t ri = t / (size_t)g->KW * (size_t)g->dh, ci = t % (size_t)g->KW * (size_t)g->dw;
        size_t phase = ri % sh * sw + ci % sw;
        taps[t] = (int64_t)((phase * nplane + ri / sh * Wq + ci / sw) * 4);
    }
    int sgn = x->dtype == T_INT8, nt = oq_threads(ctx);
    uint8_t fill = (uint8_t)(xzp + (sgn ? 128 : 0));
    for (size_t m = 0; m < M; m++)
        adj[m] = (int32_t)((rq && rq->bias ? (uint32_t)rq->bias[m] : 0u) -
                           (uint32_t)fill * (uint32_t)st->colsum[m]);
    size_t HW = H * W;
    int64_t ph = g->ph, pw = g->pw;
    for (size_t n = 0; n < (size_t)g->N; n++) {
        const uint8_t *xn = (const uint8_t *)x->data + n * C * HW;
        OQ_PAR_FOR(nt, C4 * phases * nplane)
        for (size_t c4 = 0; c4 < C4; c4++) {
            const uint8_t *src[4];
            for (size_t j = 0; j < 4; j++)
                src[j] = 4 * c4 + j < C ? xn + (4 * c4 + j) * HW : NULL;
            uint8_t *qbase = xq + c4 * quad;
            if (shared) {
                size_t pre = (size_t)ph * Wq + (size_t)pw;
                memset(qbase, fill, pre * 4);
                for (size_t h = 0; h < H; h++) {
                    uint8_t *row = qbase + (pre + h * Wq) * 4;
                    const uint8_t *rs[4];
                    for (size_t j = 0; j < 4; j++)
                        rs[j] = src[j] ? src[j] + h * W : NULL;
                    oq_qg_pack_quads(rs, 1, sgn, W, fill, row);
                    memset(row + W * 4, fill, (Wq - W) * 4);
                }
                memset(qbase + (pre + H * Wq) * 4, fill, quad - (pre + H * Wq) * 4);
                continue;
            }
            for (size_t a = 0; a < sh; a++)
                for (size_t b = 0; b < sw; b++) {
                    uint8_t *pl = qbase + (a * sw + b) * nplane * 4;
                    /* plane columns c whose input column c*sw + b - pw is
                     * inside [0, W) */
                    int64_t lo = pw - (int64_t)b, hi = (int64_t)W - 1 + pw - (int64_t)b;
                    size_t c0 = lo <= 0 ? 0 : (size_t)((lo + (int64_t)sw - 1) / (int64_t)sw);
                    size_t c1 = hi < 0 ? 0 : (size_t)(hi / (int64_t)sw) + 1;
                    c1 = c1 < Wq ? c1 : Wq;
                    c0 = c0 < c1 ? c0 : c1;
                    for (size_t r = 0; r < Hq; r++) {
                        uint8_t *row = pl + r * Wq * 4;
                        int64_t ih = (int64_t)(r * sh + a) - ph;
                        if (ih < 0 || ih >= (int64_t)H || c0 == c1) {
                            memset(row, fill, Wq * 4);
                            continue;
                        }
                        memset(row, fill, c0 * 4);
                        size_t iw0 = c0 * sw + b - (size_t)pw;
                        const uint8_t *rs[4];
                        for (size_t j = 0; j < 4; j++)
                            rs[j] = src[j] ? src[j] + (size_t)ih * W + iw0 : NULL;
                        oq_qg_pack_quads(rs, sw, sgn, c1 - c0, fill, row + c0 * 4);
                        memset(row + c1 * 4, fill, (Wq - c1) * 4);
                    }
                }
            memset(qbase + phases * nplane * 4, fill, OQ_QG_RQ * 4);
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nq > 1)
        for (size_t qb = 0; qb < nq; qb++) {
            size_t q0 = qb * OQ_QG_RQ;
            for (size_t b = 0; b < blocks; b++) {
                size_t m0 = b * OQ_QG_RM;
                int nr = (int)(M - m0 < OQ_QG_RM ? M - m0 : OQ_QG_RM);
                oq_qg_requant r;
                if (rq) {
                    r = *rq;
                    r.scale += m0;
                }
                oq_qg_conv_rows_u8(xq + 4 * q0, quad, C4, taps, ntaps,
                                   st->upanel + b * wblk, nr, adj + m0,
                                   rq ? &r : NULL, tmp + (m0 * Qpad + q0) * esz,
                                   Qpad);
            }
        }
        char *yn = (char *)y + n * M * OH * OW * esz;
        OQ_PAR_FOR(nt, M * OH * OW)
        for (size_t m = 0; m < M; m++)
            for (size_t oh = 0; oh < OH; oh++)
                memcpy(yn + (m * OH + oh) * OW * esz,
                       tmp + (m * Qpad + oh * Wq) * esz, OW * esz);
    }
    atomic_fetch_add(&n_conv_rows_u8, 1);
    return ONNXQ_OK;
}

/* Stride-1 group-1 convolutions on the row kernel (qgemm.h
 * oq_qg_conv_rows): each image becomes zero-padded planes of int16 channel
 * pairs, [C2][Hp][Wp][2] plus a slack of OQ_QG_RQ pairs, so every tap of
 * output position q = oh * Wp + ow is one fixed offset from q and the
 * kernel reads 16 positions x 2 channels in two vector loads.  Results
 * come out per output channel, requantized in registers (rq; NULL: int32
 * sums), into rows of Qpad positions, whose first OW of every Wp are then
 * copied to y.  Compared with the channels-last tile (conv_implicit) this
 * drops the transposed stores, the int32 accumulator pass and the byte-wise
 * channels-last transpose of x, at the price of Wp - OW wasted columns per
 * row. */
static onnxq_status conv_rows(oq_kctx *ctx, const q8_state *st,
                              const cgeom *g, const oq_tensor *x, int32_t xzp,
                              const oq_qg_requant *rq, void *y)
{
    size_t C = (size_t)g->C, C2 = st->rC2, M = (size_t)st->M;
    size_t H = (size_t)g->H, W = (size_t)g->W, OH = (size_t)g->OH, OW = (size_t)g->OW;
    size_t ph = (size_t)g->ph, pw = (size_t)g->pw;
    size_t Hp = OH + (size_t)((g->KH - 1) * g->dh), Wp = OW + (size_t)((g->KW - 1) * g->dw);
    size_t Qn = (OH - 1) * Wp + OW, nq = (Qn + OQ_QG_RQ - 1) / OQ_QG_RQ;
    size_t Qpad = nq * OQ_QG_RQ, plane = (Hp * Wp + OQ_QG_RQ) * 2;
    size_t ntaps = (size_t)(g->KH * g->KW), esz = rq ? 1 : 4;
    size_t blocks = (M + OQ_QG_RM - 1) / OQ_QG_RM;
    size_t wblk = C2 * ntaps * OQ_QG_RM * 2;
    int16_t *xp = oq_scratch(ctx, C2 * plane * sizeof *xp);
    char *tmp = oq_scratch(ctx, M * Qpad * esz);
    int64_t *taps = oq_scratch(ctx, ntaps * sizeof *taps);
    if (!xp || !tmp || !taps)
        return oq_failed(ctx);
    for (size_t t = 0; t < ntaps; t++) {
        size_t kh = t / (size_t)g->KW, kw = t % (size_t)g->KW;
        taps[t] = (int64_t)((kh * (size_t)g->dh * Wp + kw * (size_t)g->dw) * 2);
    }
    int sgn = x->dtype == T_INT8, nt = oq_threads(ctx);
    size_t HW = H * W;
    for (size_t n = 0; n < (size_t)g->N; n++) {
        const char *xn = (const char *)x->data + n * C * HW;
        OQ_PAR_FOR(nt, C2 * Hp * Wp)
        for (size_t c2 = 0; c2 < C2; c2++) {
            int16_t *base = xp + c2 * plane;
            const char *x0 = xn + 2 * c2 * HW;
            const char *x1 = 2 * c2 + 1 < C ? x0 + HW : NULL;
            memset(base, 0, ph * Wp * 2 * sizeof *base);
            for (size_t h = 0; h < H; h++) {
                int16_t *row = base + (ph + h) * Wp * 2;
                memset(row, 0, pw * 2 * sizeof *row);
                oq_qg_pack_pairs(x0 + h * W, x1 ? x1 + h * W : NULL, sgn, W, xzp,
                                 row + pw * 2);
                memset(row + (pw + W) * 2, 0, (Wp - pw - W) * 2 * sizeof *row);
            }
            memset(base + (ph + H) * Wp * 2, 0,
                   ((Hp - ph - H) * Wp + OQ_QG_RQ) * 2 * sizeof *base);
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nq > 1)
        for (size_t qb = 0; qb < nq; qb++) {
            size_t q0 = qb * OQ_QG_RQ;
            for (size_t b = 0; b < blocks; b++) {
                size_t m0 = b * OQ_QG_RM;
                int nr = (int)(M - m0 < OQ_QG_RM ? M - m0 : OQ_QG_RM);
                oq_qg_requant r;
                if (rq) {
                    r = *rq;
                    r.scale += m0;
                    r.bias = r.bias ? r.bias + m0 : NULL;
                }
                oq_qg_conv_rows(xp + 2 * q0, plane, C2, taps, ntaps,
                                st->rpanel + b * wblk, nr, rq ? &r : NULL,
                                tmp + (m0 * Qpad + q0) * esz, Qpad);
            }
        }
        char *yn = (char *)y + n * M * OH * OW * esz;
        OQ_PAR_FOR(nt, M * OH * OW)
        for (size_t m = 0; m < M; m++)
            for (size_t oh = 0; oh < OH; oh++)
                memcpy(yn + (m * OH + oh) * OW * esz,
                       tmp + (m * Qpad + oh * Wp) * esz, OW * esz);
    }
    atomic_fetch_add(&n_conv_rows, 1);
    return ONNXQ_OK;
}

/* acc [N][M][OH*OW] int32 = conv(x - x_zp, w - w_zp). */
static int conv_accumulate(const q8_state *st, const cgeom *g,
                           const oq_tensor *x, int32_t xzp, int nt,
                           int32_t *acc)
{
    if (st->ipanel)
        return conv_implicit(st, g, x, xzp, nt, acc);
    size_t nx = oq_numel(x), plane = (size_t)(g->H * g->W);
    size_t P = (size_t)(g->OH * g->OW);
    int16_t *x16 = malloc((nx ? nx : 1) * sizeof *x16);
    if (!x16)
        return -1;
    int sgn = x->dtype == T_INT8;
    for (size_t i = 0; i < nx; i++)
        x16[i] = (int16_t)(get8(x->data, sgn, i) - xzp);
    size_t M = (size_t)st->M, Mg = (size_t)g->Mg;
    if (g->Cg == 1 && g->G > 1) {
        size_t NM = (size_t)g->N * M;
#pragma omp parallel for schedule(static) num_threads(nt) if (NM > 1)
        for (size_t nm = 0; nm < NM; nm++) {
            size_t n = nm / M, m = nm % M, grp = m / Mg;
            depthwise_plane(g, x16 + (n * (size_t)g->C + grp) * plane,
                            st->plain + m * st->K, acc + nm * P);
        }
        free(x16);
        return 0;
    }
    size_t chunks = (P + CHUNK - 1) / CHUNK;
    size_t NG = (size_t)g->N * (size_t)g->G, tasks = NG * chunks;
    size_t psize = st->K2 * OQ_QG_NR * 2 * (CHUNK / OQ_QG_NR);
    size_t rsize = st->K * CHUNK, per = psize + rsize;
    int16_t *panels = malloc((size_t)(nt > 0 ? nt : 1) * per * sizeof *panels);
    if (!panels) {
        free(x16);
        return -1;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (tasks > 1)
    for (size_t t = 0; t < tasks; t++) {
        size_t ng = t / chunks, ch = t % chunks;
        size_t n = ng / (size_t)g->G, grp = ng % (size_t)g->G;
        size_t p0 = ch * CHUNK, len = P - p0 < CHUNK ? P - p0 : CHUNK;
        int16_t *panel = panels + (size_t)oq_thread_id() * per;
        pack_conv_chunk(g, x16 + n * (size_t)g->C * plane, (int64_t)grp * g->Cg,
                        p0, len, st->K2, panel + psize, panel);
        for (size_t j = 0; j * OQ_QG_NR < len; j++) {
            size_t nc = len - j * OQ_QG_NR < OQ_QG_NR ? len - j * OQ_QG_NR : OQ_QG_NR;
            oq_qg_tile_cols(st->packed + grp * st->gstride, Mg,
                            panel + j * st->K2 * OQ_QG_NR * 2, st->K2,
                            acc + (n * M + grp * Mg) * P + p0 + j * OQ_QG_NR, P, nc);
        }
    }
    free(panels);
    free(x16);
    return 0;
}

static onnxq_status run_conv(oq_kctx *ctx)
{
    q8_state *st = ctx->state;
    int ql = st->op == OP_QLINEAR_CONV;
    const oq_tensor *x = oq_in(ctx, 0);
    const oq_tensor *xzt = oq_in(ctx, 2);
    float xs = 0, ys = 0;
    int32_t xzp, yz = 0, ydt = T_INT32;
    const oq_tensor *ws = NULL, *bias = NULL;
    cgeom g;
    if (!x || !is_q8(x->dtype) || !same_weights(ctx, st) ||
        !scalar_zp(xzt, x->dtype, &xzp) || conv_geom_of(ctx, st, x, &g))
        return fallback(ctx);
    if (ql) {
        const oq_tensor *yzt = oq_in(ctx, 7);
        ws = oq_in(ctx, 4);
        bias = oq_in(ctx, 8);
        ydt = yzt ? yzt->dtype : x->dtype;
        if (!scalar_f32(oq_in(ctx, 1), &xs) || !scalar_f32(oq_in(ctx, 6), &ys) ||
            !is_q8(ydt) || !scalar_zp(yzt, ydt, &yz) || !ws ||
            ws->dtype != T_FLOAT ||
            !(oq_numel(ws) == 1 || (ws->rank == 1 && ws->dims[0] == st->M)) ||
            (bias && (bias->dtype != T_INT32 || oq_numel(bias) != (size_t)st->M)))
            return fallback(ctx);
    }
    int64_t dims[4] = {g.N, st->M, g.OH, g.OW};
    /* 1-D: the first three, [N, M, OH] (OW is 1) */
    size_t P = (size_t)(g.OH * g.OW), rows = (size_t)g.N * (size_t)st->M;
    int nt = oq_threads(ctx);
    /* int16 weights: the row kernel beat the channels-last tile with 16
     * and 32 output channels and lost with 64 and 128 (demo model layer
     * shapes, 1 thread: 1.43 vs 1.62, 1.43 vs 1.55, 1.37 vs 1.27, 1.43 vs
     * 1.18 ms), where its 16-channel vectors are all full */
    if (st->upanel || (st->rpanel && g.sh == 1 && g.sw == 1 && st->M < 64)) {
        oq_qg_requant rq = {NULL, NULL, yz, ydt == T_INT8};
        if (ql) {
            float *sc = oq_scratch(ctx, (size_t)st->M * sizeof *sc);
            if (!sc)
                return oq_failed(ctx);
            const float *wsd = ws->data;
            for (size_t m = 0; m < (size_t)st->M; m++)
                sc[m] = xs * wsd[oq_numel(ws) == 1 ? 0 : m] / ys;
            rq.scale = sc;
            rq.bias = bias ? bias->data : NULL;
        }
        oq_tensor *y = oq_output_raw(ctx, 0, ydt, st->wrank, dims);
        if (!y)
            return oq_failed(ctx);
        onnxq_status rs = st->upanel
                              ? conv_rows_u8(ctx, st, &g, x, xzp, ql ? &rq : NULL, y->data)
                              : conv_rows(ctx, st, &g, x, xzp, ql ? &rq : NULL, y->data);
        if (rs == ONNXQ_OK)
            atomic_fetch_add(&n_fast, 1);
        return rs;
    }
    if (!ql) {
        oq_tensor *y = oq_output(ctx, 0, T_INT32, st->wrank, dims);
        if (!y)
            return oq_failed(ctx);
        if (conv_accumulate(st, &g, x, xzp, nt, y->data))
            return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        atomic_fetch_add(&n_fast, 1);
        return ONNXQ_OK;
    }
    int32_t *acc = malloc((rows * P + 1) * sizeof *acc);
    if (!acc || conv_accumulate(st, &g, x, xzp, nt, acc)) {
        free(acc);
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    oq_tensor *y = oq_output(ctx, 0, ydt, st->wrank, dims);
    if (!y) {
        free(acc);
        return oq_failed(ctx);
    }
    const float *wsd = ws->data;
    int nws1 = oq_numel(ws) == 1, sgn = ydt == T_INT8;
#pragma omp parallel for schedule(static) num_threads(nt) if (rows * P >= 65536)
    for (size_t r = 0; r < rows; r++) {
        size_t m = r % (size_t)st->M;
        float scale = xs * wsd[nws1 ? 0 : m] / ys;
        int32_t b = bias ? ((const int32_t *)bias->data)[m] : 0;
        oq_qg_requant_row(acc + r * P, P, b, scale, yz, sgn,
                          (char *)y->data + r * P);
    }
    free(acc);
    atomic_fetch_add(&n_fast, 1);
    return ONNXQ_OK;
}

/* ---- matrix products ----------------------------------------------------- */


/* QuantizeLinear to uint8 as the reference's quantize1 (minus the zero
 * point, which the product needs subtracted again). */
static inline int16_t quantize_centered(float x, float scale, int32_t zp)
{
    float v = x / scale, mn = (float)(0 - zp), mx = (float)(255 - zp);
    v = v > mn ? v : mn;
    v = v < mx ? v : mx;
    return (int16_t)(int32_t)nearbyintf(v);
}

static onnxq_status run_matmul(oq_kctx *ctx)
{
    q8_state *st = ctx->state;
    q8_op op = st->op;
    size_t N = (size_t)st->N, K = st->K;
    const oq_tensor *a = oq_in(ctx, 0);
    if (!a || !same_weights(ctx, st) || a->rank < 1)
        return fallback(ctx);
    int ta = op == OP_QGEMM && oq_attr_int(ctx, "transA", 0) != 0;
    if (op == OP_QGEMM && a->rank != 2)
        return fallback(ctx);
    if (op == OP_DQ_MATMUL ? a->dtype != T_FLOAT : !is_q8(a->dtype))
        return fallback(ctx);
    size_t aK = (size_t)a->dims[ta ? 0 : a->rank - 1];
    if (aK != K || !nonempty(a))
        return fallback(ctx);
    size_t M = oq_numel(a) / K;
    /* parameters, read as the reference reads them */
    float as = 1.0f, ys = 1.0f, alpha = 1.0f;
    int32_t azp = 0, yz = 0, ydt = T_FLOAT;
    const oq_tensor *bs = NULL, *fbias = NULL, *cmat = NULL, *yzt = NULL;
    int has_ys = 0;
    switch (op) {
    case OP_QLINEAR_MATMUL:
        yzt = oq_in(ctx, 7);
        ydt = yzt ? yzt->dtype : a->dtype;
        bs = oq_in(ctx, 4);
        has_ys = 1;
        if (!scalar_f32(oq_in(ctx, 1), &as) || !scalar_zp(oq_in(ctx, 2), a->dtype, &azp) ||
            !scalar_f32(oq_in(ctx, 6), &ys) || !is_q8(ydt) || !scalar_zp(yzt, ydt, &yz))
            return fallback(ctx);
        break;
    case OP_MATMUL_INTEGER:
        ydt = T_INT32;
        if (!scalar_zp(oq_in(ctx, 2), a->dtype, &azp))
            return fallback(ctx);
        break;
    case OP_MM_TO_FLOAT:
        bs = oq_in(ctx, 3);
        fbias = oq_in(ctx, 6);
        if (!scalar_f32(oq_in(ctx, 2), &as) || !scalar_zp(oq_in(ctx, 4), a->dtype, &azp))
            return fallback(ctx);
        break;
    case OP_DQ_MATMUL:
        bs = oq_in(ctx, 2);
        fbias = oq_in(ctx, 4);
        break;
    default: /* QGemm */
        bs = oq_in(ctx, 4);
        cmat = oq_in(ctx, 6);
        yzt = oq_in(ctx, 8);
        alpha = oq_attr_float(ctx, "alpha", 1.0f);
        if (!scalar_f32(oq_in(ctx, 1), &as) || !scalar_zp(oq_in(ctx, 2), a->dtype, &azp))
            return fallback(ctx);
        if (oq_in(ctx, 7)) {
            has_ys = 1;
            if (!scalar_f32(oq_in(ctx, 7), &ys))
                return fallback(ctx);
        }
        if (yzt) {
            ydt = yzt->dtype;
            if (!is_q8(ydt) || !scalar_zp(yzt, ydt, &yz))
                return fallback(ctx);
        }
        if (cmat && (cmat->dtype != T_INT32 || cmat->rank > 2 ||
                     (cmat->rank >= 1 && cmat->dims[cmat->rank - 1] != 1 &&
                      (size_t)cmat->dims[cmat->rank - 1] != N) ||
                     (cmat->rank == 2 && cmat->dims[0] != 1 && (size_t)cmat->dims[0] != M)))
            return fallback(ctx);
        break;
    }
    if (op != OP_MATMUL_INTEGER &&
        (!bs || bs->dtype != T_FLOAT || !per_channel_ok(bs, (int64_t)N) ||
         (op == OP_QGEMM && oq_numel(bs) != 1 && bs->rank != 1)))
        return fallback(ctx);
    if (fbias && (fbias->dtype != T_FLOAT || oq_numel(fbias) != N))
        return fallback(ctx);
    /* output shape: A's dims with K replaced by N ([N] for a 1-D A) */
    int64_t dims[OQ_MAX_RANK];
    int rank;
    if (op == OP_QGEMM) {
        rank = 2;
        dims[0] = (int64_t)M;
        dims[1] = (int64_t)N;
    } else {
        rank = a->rank;
        memcpy(dims, a->dims, (size_t)rank * sizeof *dims);
        dims[rank - 1] = (int64_t)N;
    }
    /* A - a_zp as int16 rows */
    int16_t *rows = calloc(oq_qg_rows_size(M, K) + 1, sizeof *rows);
    int32_t *acc = NULL;
    float *scale = malloc(N * sizeof *scale);
    if (!rows || !scale)
        goto oom;
    if (op == OP_DQ_MATMUL) {
        const float *ad = a->data;
        oq_dynamic_qparams_u8(ad, oq_numel(a), &as, &azp);
        for (size_t m = 0; m < M; m++)
            for (size_t k = 0; k < K; k++)
                rows[oq_qg_rows_at(st->K2, m, k)] = quantize_centered(ad[m * K + k], as, azp);
    } else {
        int sgn = a->dtype == T_INT8;
        for (size_t m = 0; m < M; m++)
            for (size_t k = 0; k < K; k++)
                rows[oq_qg_rows_at(st->K2, m, k)] = (int16_t)(get8(a->data, sgn, ta ? k * M + m : m * K + k) - azp);
    }
    oq_tensor *y = NULL;
    if (ydt == T_INT32) {
        if (!(y = oq_output(ctx, 0, T_INT32, rank, dims)))
            goto failed;
        acc = y->data;
    } else if (!(acc = malloc(M * N * sizeof *acc))) {
        goto oom;
    }
    int nt = oq_threads(ctx);
    oq_qg_gemm(rows, M, st->packed, st->K2, N, acc, N, nt);
    free(rows);
    rows = NULL;
    if (ydt == T_INT32) {
        free(scale);
        atomic_fetch_add(&n_fast, 1);
        return ONNXQ_OK;
    }
    const float *bsd = bs->data;
    int bs1 = oq_numel(bs) == 1;
    for (size_t n = 0; n < N; n++) {
        float b = bsd[bs1 ? 0 : n];
        if (op == OP_QGEMM) {
            float s = alpha * as * b;
            scale[n] = has_ys ? s / ys : s;
        } else {
            scale[n] = has_ys ? as * b / ys : as * b;
        }
    }
    if (cmat) {
        const int32_t *cd = cmat->data;
        int cn = cmat->rank >= 1 && cmat->dims[cmat->rank - 1] != 1;
        int cm = cmat->rank == 2 && cmat->dims[0] != 1;
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < N; n++) {
                size_t ci = (cn ? n : 0) + (cm ? m * (size_t)cmat->dims[1] : 0);
                acc[m * N + n] = (int32_t)((uint32_t)acc[m * N + n] + (uint32_t)cd[ci]);
            }
    }
    if (!(y = oq_output(ctx, 0, ydt, rank, dims)))
        goto failed;
    const float *fb = fbias ? fbias->data : NULL;
    int sgn = ydt == T_INT8;
#pragma omp parallel for schedule(static) num_threads(nt) if (M * N >= 65536)
    for (size_t m = 0; m < M; m++) {
        if (ydt == T_FLOAT)
            oq_qg_float_vec(acc + m * N, N, scale, fb, (float *)y->data + m * N);
        else
            oq_qg_requant_vec(acc + m * N, N, NULL, scale, yz, sgn,
                              (char *)y->data + m * N);
    }
    free(acc);
    free(scale);
    atomic_fetch_add(&n_fast, 1);
    return ONNXQ_OK;
oom:
    free(rows);
    if (ydt != T_INT32)
        free(acc);
    free(scale);
    return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
failed:
    free(rows);
    if (ydt != T_INT32)
        free(acc);
    free(scale);
    return oq_failed(ctx);
}

/* ---- QLinearAdd ------------------------------------------------------------ */

/* com.microsoft QLinearAdd: the reference's formula (ORT's AVX2 kernel,
 * kernels/ref/quant.c k_qlinear_add)
 *   rX = sX / sC,  rS = sS / sC,  fixed = zC - fma(rX, zX, rS * zS)
 *   c = saturate(RNE(fma(x, rX, fma(s, rS, fixed))))
 * where X is MLAS's vector input and S its other (or scalar) input: A and B
 * in that order, except that A is S when ORT's broadcast loop hands A over
 * as the scalar (quant.c's qadd_mode, repeated in qadd_plan).  It is
 * computed 8 lanes at a time with vfmadd where the CPU has FMA (5x faster
 * than a table lookup per byte pair); elsewhere, and for the last few
 * elements of each row, it is looked up in a table of the 65536 byte pairs
 * built once per set of parameters with exactly that formula.
 *
 * Broadcasting: the fast path takes the forms where one input L has the
 * output's shape and the other, S, is constant along whole rows or repeats
 * whole rows: reading the output's dimensions (those of size 1 left out)
 * outermost first, S's are broadcast (1), then equal to the output's, then
 * broadcast again — B* K* B* — so S is indexed by (i / inner) % mid.  That
 * covers same shapes, scalars, [C] against [..., C] and [C,1,1] against
 * [N,C,H,W]; anything else ([N,1,W] + [N,C,1]) goes to the reference. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

static int qadd_have_fma(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}

/* Widens 8 bytes to 8 floats. */
__attribute__((target("avx2,fma"))) static inline __m256
qadd_load8(const uint8_t *p, int sgn)
{
    __m128i v = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v));
}

/* max/min with the type's ends before cvtps2dq (round half to even) gives
 * round_sat's result (a NaN becomes the low end, as !(r > lo) does). */
__attribute__((target("avx2,fma"))) static inline void
qadd_store8(__m256 v, __m256 lo, __m256 hi, int sgn, uint8_t *y)
{
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    __m256i r = _mm256_cvtps_epi32(v);
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r),
                                _mm256_extracti128_si256(r, 1));
    w = sgn ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    _mm_storel_epi64((__m128i *)y, w);
}

/* The formula on 8 lanes at a time, x and s both vectors (vfmadd rounds
 * once, as fmaf does).  Returns how many elements it did (a multiple of 8). */
__attribute__((target("avx2,fma"))) static size_t
qadd_fma(const uint8_t *x, const uint8_t *s, size_t n, float rx, float rs,
         float fixed, int sgn, uint8_t *y)
{
    const __m256 vx = _mm256_set1_ps(rx), vs = _mm256_set1_ps(rs),
                 vf = _mm256_set1_ps(fixed),
                 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f),
                 hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_fmadd_ps(qadd_load8(s + i, sgn), vs, vf);
        v = _mm256_fmadd_ps(qadd_load8(x + i, sgn), vx, v);
        qadd_store8(v, lo, hi, sgn, y + i);
    }
    return i;
}

/* The same with s one value: inner = fma(s, rS, fixed), done once by the
 * caller with fmaf (the same single rounding). */
__attribute__((target("avx2,fma"))) static size_t
qadd_fma_const(const uint8_t *x, size_t n, float rx, float inner, int sgn,
               uint8_t *y)
{
    const __m256 vx = _mm256_set1_ps(rx), vi = _mm256_set1_ps(inner),
                 lo = _mm256_set1_ps(sgn ? -128.0f : 0.0f),
                 hi = _mm256_set1_ps(sgn ? 127.0f : 255.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        qadd_store8(_mm256_fmadd_ps(qadd_load8(x + i, sgn), vx, vi), lo, hi,
                    sgn, y + i);
    return i;
}
#else
static int qadd_have_fma(void) { return 0; }
static size_t qadd_fma(const uint8_t *x, const uint8_t *s, size_t n, float rx,
                       float rs, float fixed, int sgn, uint8_t *y)
{
    (void)x; (void)s; (void)n; (void)rx; (void)rs; (void)fixed; (void)sgn;
    (void)y;
    return 0;
}
static size_t qadd_fma_const(const uint8_t *x, size_t n, float rx,
                             float inner, int sgn, uint8_t *y)
{
    (void)x; (void)n; (void)rx; (void)inner; (void)sgn; (void)y;
    return 0;
}
#endif

/* Elements per parallel piece of the vector loop. */
enum { QADD_PIECE = 1 << 14 };

/* How one run walks its inputs: x_in / s_in (0 = A, 1 = B) are MLAS's
 * vector and other input; s_small says S is the broadcast one (else X is,
 * or neither); S's element for output i is S[(i / inner) % mid] when it is
 * the small one, with inner == 1 meaning rows of mid where both inputs are
 * vectors, inner > 1 rows of inner where S is one value. */
typedef struct qadd_plan {
    int x_in, s_in, s_small;
    size_t n, mid, inner;
    int rank;
    int64_t dims[OQ_MAX_RANK];
} qadd_plan;

/* 1 when the fast path takes the pair (see above), filling *pl. */
static int qadd_make_plan(const oq_tensor *a, const oq_tensor *b, qadd_plan *pl)
{
    if (oq_broadcast_shape(a, b, &pl->rank, pl->dims) != 0)
        return 0;
    size_t n = 1;
    for (int d = 0; d < pl->rank; d++)
        n *= (size_t)pl->dims[d];
    pl->n = n;
    size_t na = oq_numel(a), nb = oq_numel(b);
    if (n <= 1 || (na != n && nb != n))
        return 0;  /* empty or one value; neither input of the output's size */
    int small = na == n ? 1 : 0;  /* with both full, "small" repeats once */
    const oq_tensor *s = small ? b : a;
    /* S's dims against the output's, size-1 output dims skipped */
    size_t mid = 1, inner = 1;
    int phase = 0;  /* 0: leading B, 1: K, 2: trailing B */
    for (int d = 0; d < pl->rank; d++) {
        int64_t od = pl->dims[d];
        if (od == 1)
            continue;
        int ds = d - (pl->rank - s->rank);
        int kept = ds >= 0 && s->dims[ds] == od;
        if (kept) {
            if (phase == 2)
                return 0;
            phase = 1;
            mid *= (size_t)od;
        } else if (phase != 0) {
            phase = 2;
            inner *= (size_t)od;
        }
    }
    if (mid == 1)   /* S is one value: one row of n */
        inner = n;
    pl->mid = mid;
    pl->inner = inner;
    /* quant.c's qadd_mode: A becomes MLAS's scalar input when it is one
     * value or constant along the innermost non-1 dim, i.e. when A is the
     * small input and rows have inner > 1 */
    int a_scalar = small == 0 && inner > 1;
    pl->x_in = a_scalar ? 1 : 0;
    pl->s_in = a_scalar ? 0 : 1;
    pl->s_small = small == pl->s_in;
    return 1;
}

typedef struct qadd_state {
    const oq_kernel *ref;
    int have;
    float sx, ss, sc;   /* the table's parameters, in MLAS's order */
    int32_t zx, zs, zc, dt;
    uint8_t table[65536];  /* [x << 8 | s] */
    int said_fallback;
} qadd_state;

static onnxq_status prepare_qadd(const oq_prepare_ctx *p, void **state)
{
    qadd_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int cf;
    st->ref = oq_find_kernel("com.microsoft", "QLinearAdd", p->opset, &cf);
    if (!st->ref || !st->ref->run) {
        free(st);
        return ONNXQ_ERR_UNSUPPORTED;
    }
    *state = st;
    return ONNXQ_OK;
}

static void release_qadd(void *state) { free(state); }

/* Output elements [i0, i1) of a plan, in segments that end at row ends. */
static void qadd_range(const qadd_plan *pl, const uint8_t *xd, const uint8_t *sd,
                       size_t i0, size_t i1, float rx, float rs, float fixed,
                       int sgn, int fma, const uint8_t *t, uint8_t *yd)
{
    size_t row = pl->inner > 1 ? pl->inner : pl->mid;
    for (size_t i = i0; i < i1;) {
        size_t r = i / row, off = i - r * row;
        size_t end = (r + 1) * row < i1 ? (r + 1) * row : i1, len = end - i;
        const uint8_t *x = pl->s_small ? xd + i : xd + off;
        uint8_t *y = yd + i;
        size_t done = 0;
        if (pl->inner > 1) {
            /* S is one value along the row; X is the full-size input */
            uint8_t sv = sd[pl->s_small ? r % pl->mid : i];
            const uint8_t *tr = t + sv;
            if (fma) {
                float sf = (float)(sgn ? (int8_t)sv : sv);
                done = qadd_fma_const(xd + i, len, rx, fmaf(sf, rs, fixed), sgn, y);
            }
            for (size_t j = done; j < len; j++)
                y[j] = tr[(size_t)xd[i + j] << 8];
        } else {
            const uint8_t *s = pl->s_small ? sd + off : sd + i;
            if (fma)
                done = qadd_fma(x, s, len, rx, rs, fixed, sgn, y);
            for (size_t j = done; j < len; j++)
                y[j] = t[(size_t)x[j] << 8 | s[j]];
        }
        i = end;
    }
}

static onnxq_status run_qadd(oq_kctx *ctx)
{
    qadd_state *st = ctx->state;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 3);
    float sa, sb, sc;
    int32_t za, zb, zc;
    qadd_plan pl;
    if (!a || !b || !is_q8(a->dtype) || b->dtype != a->dtype ||
        !scalar_f32(oq_in(ctx, 1), &sa) || !scalar_f32(oq_in(ctx, 4), &sb) ||
        !scalar_f32(oq_in(ctx, 6), &sc) || !scalar_zp(oq_in(ctx, 2), a->dtype, &za) ||
        !scalar_zp(oq_in(ctx, 5), a->dtype, &zb) || !scalar_zp(oq_in(ctx, 7), a->dtype, &zc) ||
        !qadd_make_plan(a, b, &pl)) {
        atomic_fetch_add(&n_fallback, 1);
        if (!st->said_fallback) {
            st->said_fallback = 1;
            say(ctx->node, "broadcast form or inputs outside the fast path: "
                "the reference kernel runs it", NULL);
        }
        return st->ref->run(ctx);
    }
    int sgn = a->dtype == T_INT8;
    float sx = pl.x_in ? sb : sa, ss = pl.x_in ? sa : sb;
    int32_t zx = pl.x_in ? zb : za, zs = pl.x_in ? za : zb;
    float rx = sx / sc, rs = ss / sc;
    float fixed = (float)zc - fmaf(rx, (float)zx, rs * (float)zs);
    if (!st->have || st->sx != sx || st->ss != ss || st->sc != sc || st->zx != zx ||
        st->zs != zs || st->zc != zc || st->dt != a->dtype) {
        int32_t lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
        for (int32_t i = 0; i < 256; i++)
            for (int32_t j = 0; j < 256; j++) {
                float vx = (float)(sgn ? (int8_t)i : i), vs = (float)(sgn ? (int8_t)j : j);
                float r = nearbyintf(fmaf(vx, rx, fmaf(vs, rs, fixed)));
                int32_t q = !(r > (float)lo) ? lo : r > (float)hi ? hi : (int32_t)r;
                st->table[i << 8 | j] = (uint8_t)q;
            }
        st->sx = sx; st->ss = ss; st->sc = sc;
        st->zx = zx; st->zs = zs; st->zc = zc;
        st->dt = a->dtype;
        st->have = 1;
    }
    oq_tensor *y = oq_output_raw(ctx, 0, a->dtype, pl.rank, pl.dims);
    if (!y)
        return oq_failed(ctx);
    const uint8_t *xd = (pl.x_in ? b : a)->data, *sd = (pl.x_in ? a : b)->data;
    uint8_t *yd = y->data;
    size_t n = pl.n, pieces = (n + QADD_PIECE - 1) / QADD_PIECE;
    int fma = qadd_have_fma();
    OQ_PAR_FOR(oq_threads(ctx), n)
    for (size_t pc = 0; pc < pieces; pc++) {
        size_t i0 = pc * QADD_PIECE, i1 = n - i0 < QADD_PIECE ? n : i0 + QADD_PIECE;
        qadd_range(&pl, xd, sd, i0, i1, rx, rs, fixed, sgn, fma, st->table, yd);
    }
    atomic_fetch_add(&n_fast, 1);
    return ONNXQ_OK;
}

const oq_fast_kernel oq_int8_qlinear_add = {
    "com.microsoft", "QLinearAdd", 1, 1, prepare_qadd, run_qadd, release_qadd};

/* ---- the table ----------------------------------------------------------- */

#define PREP(name, op)                                                        \
    static onnxq_status prepare_##name(const oq_prepare_ctx *p, void **s)     \
    {                                                                         \
        return prepare_op(p, s, op);                                          \
    }
PREP(qlinear_conv, OP_QLINEAR_CONV)
PREP(conv_integer, OP_CONV_INTEGER)
PREP(qlinear_matmul, OP_QLINEAR_MATMUL)
PREP(matmul_integer, OP_MATMUL_INTEGER)
PREP(mm_to_float, OP_MM_TO_FLOAT)
PREP(dq_matmul, OP_DQ_MATMUL)
PREP(qgemm, OP_QGEMM)

const oq_fast_kernel oq_int8_qlinear_conv = {
    "", "QLinearConv", 10, 21, prepare_qlinear_conv, run_conv, release};
const oq_fast_kernel oq_int8_qlinear_conv_ms = {
    "com.microsoft", "QLinearConv", 1, 1, prepare_qlinear_conv, run_conv, release};
const oq_fast_kernel oq_int8_conv_integer = {
    "", "ConvInteger", 10, 21, prepare_conv_integer, run_conv, release};
const oq_fast_kernel oq_int8_qlinear_matmul = {
    "", "QLinearMatMul", 10, 21, prepare_qlinear_matmul, run_matmul, release};
const oq_fast_kernel oq_int8_matmul_integer = {
    "", "MatMulInteger", 10, 21, prepare_matmul_integer, run_matmul, release};
const oq_fast_kernel oq_int8_matmul_integer_to_float = {
    "com.microsoft", "MatMulIntegerToFloat", 1, 1, prepare_mm_to_float,
    run_matmul, release};
const oq_fast_kernel oq_int8_dynamic_quantize_matmul = {
    "com.microsoft", "DynamicQuantizeMatMul", 1, 1, prepare_dq_matmul,
    run_matmul, release};
const oq_fast_kernel oq_int8_qgemm = {
    "com.microsoft", "QGemm", 1, 1, prepare_qgemm, run_matmul, release};
