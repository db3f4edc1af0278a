/*
 * attention.c — reference kernels for com.microsoft Attention (float) and
 * QAttention (uint8 input, uint8 or int8 weights), the fused self-attention
 * of BERT/GPT-style exports and of ONNX Runtime's dynamic quantizer.
 *
 * Both ops are one projection followed by one attention step, and only the
 * projection differs, so each kernel is: check (attn_check), project into
 * QKV rows, then attend (shared).
 *
 *   x [B, S, D_i]  --  W [D_i, D + D + D_v], bias [D + D + D_v]  -->
 *   qkv [B * S][D + D + D_v]   (row b * S + s: q | k | v, heads side by side)
 *   for each batch b, head n, query s (N heads, H = D / N, H_v = D_v / N):
 *     score[t] = scale * (q[b,s,n] . k[b,t,n]) + mask[b,s,t]      t < S
 *     p = softmax(score)
 *     y[b, s, n * H_v + j] = sum_t p[t] * v[b, t, n * H_v + j]
 *
 * Numerics follow ONNX Runtime 1.30's CPU kernels (contrib_ops/cpu/bert,
 * contrib_ops/cpu/quantization/attention_quant.cc) where their order of
 * float operations shows in the result, and are exact otherwise:
 *   - Attention's projection is a dot product in double plus the bias,
 *     rounded once to float (ORT: MLAS SGEMM onto the broadcast bias);
 *   - QAttention's projection is the exact int32 sum of
 *     (x - x_zero_point) * (w - w_zero_point[c]), wrapping like an int32
 *     accumulator, then float(acc) * (input_scale * weight_scale[c]) +
 *     bias[c] in two float roundings (MLAS's scale-bias output processor),
 *     so QAttention's Q, K and V equal ORT's bit for bit;
 *   - scores: the q.k dot product in double rounded to float, times scale
 *     (float; default 1 / sqrtf(H), also when the attribute is 0), plus the
 *     mask value (float);
 *   - softmax in float as ORT does it: subtract the row's maximum, expf,
 *     normalise by the sum (here summed in double); p . V in double, rounded
 *     once.  Results agree with ORT's to ~1e-6 of the output's magnitude
 *     (tests/quant: attn_* cases, tolerance 1e-5 of the largest |y|).
 *
 * Masks (mask_index, int32), as ORT applies them; masked scores get
 * mask_filter_value (attribute, default -10000):
 *   [B]        key positions t >= end[b] (right padding);
 *   [2B]       also t < min(start[b], S) (left padding, start = mask[B + b]);
 *   [B, S]     a raw 0/1 mask: t with mask[b, t] <= 0;
 *   [B, S, S]  per query: (s, t) with mask[b, s, t] <= 0;
 *   [B, 1], [1, 1]  a "dummy" mask: ignored whatever its values (ORT's
 *              broadcast-mask convention).
 * unidirectional=1 (with S > 1) then sets every future position t > s to
 * -FLT_MAX — ORT 1.30 neither uses mask_filter_value nor adds the padding
 * mask there (measured: with mask_filter_value = -inf, a query whose only
 * visible key is padded attends uniformly to the future keys).  A row whose
 * every score is -inf gives NaN, like ORT.
 *
 * Not supported (a clean UNSUPPORTED error naming the input): past state
 * (past input, present output), attention_bias / relative_position_bias,
 * past_sequence_length, 4-D (Megatron) masks, do_rotary, and for QAttention
 * qkv_hidden_sizes other than three equal thirds.  The checks run when the
 * node runs: reference kernels have no prepare step.
 *
 * Memory: the QKV rows (B * S * (2D + D_v) floats, as ORT) and per thread
 * one row of scores (S floats) and one of projection accumulators (2D + D_v
 * doubles, or uint32 for QAttention), all from oq_scratch; the
 * B x N x S x S score tensor is never built.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};

typedef enum {
    MASK_NONE = 0,
    MASK_END,       /* [B] */
    MASK_END_START, /* [2B] */
    MASK_KEY,       /* [B, S] */
    MASK_QUERY_KEY  /* [B, S, S] */
} mask_kind;

/* What attend() needs, filled by attn_check. */
typedef struct attn_cfg {
    int64_t B, S;    /* batch, sequence (queries = keys: no past) */
    int64_t Din;     /* input hidden size D_i */
    int64_t D, Dv;   /* hidden size of Q and K, of V */
    int64_t N;       /* heads */
    int64_t H, Hv;   /* head sizes D / N, Dv / N */
    int64_t W;       /* QKV row width 2D + Dv (weights' dim 1) */
    float scale, mask_filter;
    int causal;
    mask_kind mask;
    const int32_t *mask_data; /* NULL for MASK_NONE */
} attn_cfg;

/* The node declares output i under a non-empty name. */
static int declares_output(const oq_kctx *ctx, size_t i)
{
    return i < ctx->node->n_output && ctx->node->output[i] &&
           ctx->node->output[i][0];
}

/* ======================================================================== */
/* checks                                                                    */
/* ======================================================================== */

/* Classifies mask_index (NULL: none) against B and S. */
static onnxq_status check_mask(oq_kctx *ctx, const oq_tensor *m, attn_cfg *c)
{
    char buf[64];
    c->mask = MASK_NONE;
    c->mask_data = NULL;
    if (!m)
        return ONNXQ_OK;
    if (m->dtype != T_INT32)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "mask_index must be "
                        "int32, got %s", onnxq_dtype_name(m->dtype));
    const int64_t *d = m->dims, B = c->B, S = c->S;
    if (m->rank == 1 && (d[0] == B || d[0] == 2 * B))
        c->mask = d[0] == B ? MASK_END : MASK_END_START;
    else if (m->rank == 2 && d[0] == B && d[1] == S)
        c->mask = MASK_KEY;
    else if (m->rank == 2 && (d[0] == B || d[0] == 1) && d[1] == 1)
        return ONNXQ_OK; /* dummy: the same value for every key */
    else if (m->rank == 3 && d[0] == B && d[1] == S && d[2] == S)
        c->mask = MASK_QUERY_KEY;
    else if (m->rank == 4)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "4-D mask_index %s "
                        "(Megatron) is not supported",
                        oq_shape_str(m, buf, sizeof buf));
    else
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH, "mask_index %s must be "
                        "[%lld], [%lld], [%lld, %lld] or [%lld, %lld, %lld] "
                        "(batch %lld, sequence %lld)",
                        oq_shape_str(m, buf, sizeof buf), (long long)B,
                        (long long)(2 * B), (long long)B, (long long)S,
                        (long long)B, (long long)S, (long long)S,
                        (long long)B, (long long)S);
    c->mask_data = m->data;
    return ONNXQ_OK;
}

/* Shapes and attributes both ops share: x [B, S, D_i], w [D_i, W],
 * bias [W] float, num_heads, qkv_hidden_sizes (v_may_differ: Attention
 * allows D_v != D), unidirectional, scale, mask_filter_value, do_rotary. */
static onnxq_status attn_check(oq_kctx *ctx, const oq_tensor *x,
                               const oq_tensor *w, const oq_tensor *bias,
                               int v_may_differ, attn_cfg *c)
{
    char b1[64], b2[64], b3[64];
    memset(c, 0, sizeof *c);
    if (!x || !w || !bias)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "inputs input, weights "
                        "and bias are required");
    if (x->rank != 3 || w->rank != 2 || bias->rank != 1 ||
        w->dims[0] != x->dims[2] || bias->dims[0] != w->dims[1])
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH, "input %s, weights %s "
                        "and bias %s must be [B, S, D_i], [D_i, 3 * hidden] "
                        "and [3 * hidden]", oq_shape_str(x, b1, sizeof b1),
                        oq_shape_str(w, b2, sizeof b2),
                        oq_shape_str(bias, b3, sizeof b3));
    if (bias->dtype != T_FLOAT)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "bias must be float, "
                        "got %s", onnxq_dtype_name(bias->dtype));
    if (!oq_attr(ctx, "num_heads"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "attribute num_heads is required");
    c->N = oq_attr_int(ctx, "num_heads", 0);
    if (c->N <= 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "num_heads must be "
                        "positive, got %lld", (long long)c->N);
    if (oq_attr_int(ctx, "do_rotary", 0))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "do_rotary is not supported");
    c->B = x->dims[0];
    c->S = x->dims[1];
    c->Din = x->dims[2];
    c->W = w->dims[1];
    const int64_t *qkv;
    long nq = oq_attr_ints(ctx, "qkv_hidden_sizes", &qkv);
    if (nq >= 0) {
        if (nq != 3 || qkv[0] <= 0 || qkv[1] != qkv[0] || qkv[2] <= 0 ||
            qkv[0] + qkv[1] + qkv[2] != c->W)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "qkv_hidden_sizes "
                            "must be three positive sizes, Q's equal to K's, "
                            "adding up to the weights' %lld columns",
                            (long long)c->W);
        if (!v_may_differ && qkv[2] != qkv[0])
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "qkv_hidden_sizes with "
                            "V's size (%lld) different from Q's (%lld) is not "
                            "supported", (long long)qkv[2], (long long)qkv[0]);
        c->D = qkv[0];
        c->Dv = qkv[2];
    } else {
        if (c->W % 3)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH, "weights %s: dim 1 "
                            "must be 3 * hidden size",
                            oq_shape_str(w, b1, sizeof b1));
        c->D = c->Dv = c->W / 3;
    }
    if (c->D % c->N || c->Dv % c->N)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "num_heads %lld does "
                        "not divide the hidden size %lld", (long long)c->N,
                        (long long)(c->D % c->N ? c->D : c->Dv));
    c->H = c->D / c->N;
    c->Hv = c->Dv / c->N;
    if (c->H == 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "the hidden size is 0");
    c->causal = oq_attr_int(ctx, "unidirectional", 0) != 0 && c->S > 1;
    c->scale = oq_attr_float(ctx, "scale", 0.0f);
    if (c->scale == 0.0f)
        c->scale = 1.0f / sqrtf((float)c->H);
    c->mask_filter = oq_attr_float(ctx, "mask_filter_value", -10000.0f);
    if (declares_output(ctx, 1))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "output present (past "
                        "state) is not supported");
    return ONNXQ_OK;
}

/* Refuses optional input i when given. */
static onnxq_status refuse_input(oq_kctx *ctx, size_t i, const char *name)
{
    if (oq_in(ctx, i))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input %s is not "
                        "supported", name);
    return ONNXQ_OK;
}

/* ======================================================================== */
/* attention, shared                                                         */
/* ======================================================================== */

/* The mask added to score (b, s, t). */
static inline float mask_at(const attn_cfg *c, int64_t b, int64_t s, int64_t t)
{
    if (c->causal && t > s)
        return -FLT_MAX;
    const int32_t *m = c->mask_data;
    switch (c->mask) {
    case MASK_END:
        return t >= m[b] ? c->mask_filter : 0.0f;
    case MASK_END_START:
        return t >= m[b] || t < m[c->B + b] ? c->mask_filter : 0.0f;
    case MASK_KEY:
        return m[b * c->S + t] > 0 ? 0.0f : c->mask_filter;
    case MASK_QUERY_KEY:
        return m[(b * c->S + s) * c->S + t] > 0 ? 0.0f : c->mask_filter;
    default:
        return 0.0f;
    }
}

/* y [B, S, Dv] from the QKV rows (see the top of the file). */
static onnxq_status attend(oq_kctx *ctx, const attn_cfg *c, const float *qkv,
                           float *y)
{
    int nt = oq_threads(ctx);
    const int64_t S = c->S, N = c->N, H = c->H, Hv = c->Hv, W = c->W;
    if (c->B * S == 0)
        return ONNXQ_OK;
    float *scores = oq_scratch(ctx, (size_t)nt * (size_t)S * sizeof *scores);
    if (!scores)
        return oq_failed(ctx);
    long rows = (long)(c->B * N * S);
    OQ_PAR_FOR(nt, (double)rows * (double)S * (double)(H + Hv))
    for (long r = 0; r < rows; r++) {
        int64_t b = r / (N * S), n = r / S % N, s = r % S;
        float *p = scores + (size_t)oq_thread_id() * (size_t)S;
        const float *q = qkv + (b * S + s) * W + n * H;
        float mx = -INFINITY;
        for (int64_t t = 0; t < S; t++) {
            const float *k = qkv + (b * S + t) * W + c->D + n * H;
            double dot = 0.0;
            for (int64_t j = 0; j < H; j++)
                dot += (double)q[j] * k[j];
            p[t] = c->scale * (float)dot + mask_at(c, b, s, t);
            if (p[t] > mx)
                mx = p[t];
        }
        double sum = 0.0;
        for (int64_t t = 0; t < S; t++) {
            p[t] = expf(p[t] - mx);
            sum += p[t];
        }
        for (int64_t t = 0; t < S; t++)
            p[t] = (float)(p[t] / sum);
        float *out = y + (b * S + s) * c->Dv + n * Hv;
        for (int64_t j = 0; j < Hv; j++) {
            double acc = 0.0;
            for (int64_t t = 0; t < S; t++)
                acc += (double)p[t] * qkv[(b * S + t) * W + 2 * c->D + n * Hv + j];
            out[j] = (float)acc;
        }
    }
    return ONNXQ_OK;
}

/* Output 0 [B, S, Dv], then attend. */
static onnxq_status finish(oq_kctx *ctx, const attn_cfg *c, const float *qkv)
{
    int64_t dims[3] = {c->B, c->S, c->Dv};
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, 3, dims);
    if (!y)
        return oq_failed(ctx);
    return attend(ctx, c, qkv, y->data);
}

/* ======================================================================== */
/* Attention                                                                 */
/* ======================================================================== */

/* Inputs: input, weights, bias, mask_index?, past?, attention_bias?,
 * past_sequence_length?; outputs: output, present?. */
static onnxq_status k_attention(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1), *bias = oq_in(ctx, 2);
    attn_cfg c;
    onnxq_status st = attn_check(ctx, x, w, bias, 1, &c);
    if (st == ONNXQ_OK)
        st = refuse_input(ctx, 4, "past");
    if (st == ONNXQ_OK)
        st = refuse_input(ctx, 5, "attention_bias");
    if (st == ONNXQ_OK)
        st = refuse_input(ctx, 6, "past_sequence_length");
    if (st == ONNXQ_OK)
        st = check_mask(ctx, oq_in(ctx, 3), &c);
    if (st != ONNXQ_OK)
        return st;
    if (x->dtype != T_FLOAT || w->dtype != T_FLOAT)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input and weights must be "
                        "float, got %s and %s", onnxq_dtype_name(x->dtype),
                        onnxq_dtype_name(w->dtype));
    int nt = oq_threads(ctx);
    size_t rows = (size_t)(c.B * c.S), W = (size_t)c.W;
    float *qkv = oq_scratch(ctx, (rows ? rows : 1) * W * sizeof *qkv);
    double *acc = oq_scratch(ctx, (size_t)nt * (W ? W : 1) * sizeof *acc);
    if (!qkv || !acc)
        return oq_failed(ctx);
    const float *xd = x->data, *wd = w->data, *bd = bias->data;
    const size_t Din = (size_t)c.Din;
    OQ_PAR_FOR(nt, (double)rows * (double)W * (double)Din)
    for (long r = 0; r < (long)rows; r++) {
        double *a = acc + (size_t)oq_thread_id() * W;
        const float *xr = xd + (size_t)r * Din;
        for (size_t j = 0; j < W; j++)
            a[j] = 0.0;
        /* k outer so the weights are read row by row */
        for (size_t k = 0; k < Din; k++) {
            const float *wr = wd + k * W;
            double xv = xr[k];
            for (size_t j = 0; j < W; j++)
                a[j] += xv * wr[j];
        }
        for (size_t j = 0; j < W; j++)
            qkv[(size_t)r * W + j] = (float)(a[j] + bd[j]);
    }
    return finish(ctx, &c, qkv);
}

/* ======================================================================== */
/* QAttention                                                                */
/* ======================================================================== */

/* A float scalar (one element) input. */
static onnxq_status scalar_f32(oq_kctx *ctx, const oq_tensor *t,
                               const char *name, float *v)
{
    if (!t)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "input %s is required",
                        name);
    if (t->dtype != T_FLOAT || oq_numel(t) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "%s must be one "
                        "float, got %s of %zu elements", name,
                        onnxq_dtype_name(t->dtype), oq_numel(t));
    *v = *(const float *)t->data;
    return ONNXQ_OK;
}

/* weight_scale / weight_zero_point: one value or one per column (W). */
static onnxq_status per_column(oq_kctx *ctx, const oq_tensor *t,
                               const char *name, int32_t dtype, int64_t W,
                               int *per_col)
{
    char buf[64];
    if (t->dtype != dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "%s must be %s, got %s",
                        name, onnxq_dtype_name(dtype),
                        onnxq_dtype_name(t->dtype));
    size_t n = oq_numel(t);
    if (n == 1 && t->rank <= 1) {
        *per_col = 0;
        return ONNXQ_OK;
    }
    if (t->rank == 1 && (int64_t)n == W) {
        *per_col = 1;
        return ONNXQ_OK;
    }
    return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH, "%s %s must be a scalar or "
                    "[%lld] (one per weight column)", name,
                    oq_shape_str(t, buf, sizeof buf), (long long)W);
}

/* Inputs: input (uint8), weight (uint8/int8), bias, input_scale,
 * weight_scale, mask_index?, input_zero_point?, weight_zero_point?, past?;
 * outputs: output, present?. */
static onnxq_status k_qattention(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *w = oq_in(ctx, 1), *bias = oq_in(ctx, 2);
    const oq_tensor *ws = oq_in(ctx, 4), *xz = oq_in(ctx, 6), *wz = oq_in(ctx, 7);
    attn_cfg c;
    float xs = 0.0f;
    int ws_col = 0, wz_col = 0;
    onnxq_status st = attn_check(ctx, x, w, bias, 0, &c);
    if (st == ONNXQ_OK)
        st = refuse_input(ctx, 8, "past");
    if (st == ONNXQ_OK)
        st = check_mask(ctx, oq_in(ctx, 5), &c);
    if (st != ONNXQ_OK)
        return st;
    if (x->dtype != T_UINT8)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input must be uint8 (as "
                        "ONNX Runtime's CPU QAttention), got %s",
                        onnxq_dtype_name(x->dtype));
    if (w->dtype != T_UINT8 && w->dtype != T_INT8)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "weight must be uint8 or "
                        "int8, got %s", onnxq_dtype_name(w->dtype));
    if ((st = scalar_f32(ctx, oq_in(ctx, 3), "input_scale", &xs)) != ONNXQ_OK)
        return st;
    if (!ws)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "input weight_scale is required");
    st = per_column(ctx, ws, "weight_scale", T_FLOAT, c.W, &ws_col);
    if (st != ONNXQ_OK)
        return st;
    if (wz && (st = per_column(ctx, wz, "weight_zero_point", w->dtype, c.W,
                               &wz_col)) != ONNXQ_OK)
        return st;
    if (xz && (xz->dtype != T_UINT8 || oq_numel(xz) != 1))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "input_zero_point "
                        "must be one uint8, got %s of %zu elements",
                        onnxq_dtype_name(xz->dtype), oq_numel(xz));
    int nt = oq_threads(ctx);
    size_t rows = (size_t)(c.B * c.S), W = (size_t)c.W, Din = (size_t)c.Din;
    float *qkv = oq_scratch(ctx, (rows ? rows : 1) * W * sizeof *qkv);
    uint32_t *acc = oq_scratch(ctx, (size_t)nt * W * sizeof *acc);
    int32_t *zp = oq_scratch(ctx, W * sizeof *zp);     /* per column */
    float *mult = oq_scratch(ctx, W * sizeof *mult);   /* per column */
    if (!qkv || !acc || !zp || !mult)
        return oq_failed(ctx);
    int is_s8 = w->dtype == T_INT8;
    for (size_t j = 0; j < W; j++) {
        size_t jz = wz_col ? j : 0;
        zp[j] = !wz ? 0 : is_s8 ? ((const int8_t *)wz->data)[jz]
                                : ((const uint8_t *)wz->data)[jz];
        /* ORT: weight_scale * input_scale, one float rounding */
        mult[j] = ((const float *)ws->data)[ws_col ? j : 0] * xs;
    }
    const uint8_t *xd = x->data;
    const float *bd = bias->data;
    int32_t x_zp = xz ? *(const uint8_t *)xz->data : 0;
    OQ_PAR_FOR(nt, (double)rows * (double)W * (double)Din)
    for (long r = 0; r < (long)rows; r++) {
        uint32_t *a = acc + (size_t)oq_thread_id() * W;
        const uint8_t *xr = xd + (size_t)r * Din;
        for (size_t j = 0; j < W; j++)
            a[j] = 0;
        /* each product fits int32 (|x - zp|, |w - zp| <= 255); the sum
         * wraps modulo 2^32 like ORT's int32 accumulators, through
         * uint32 where wrapping is defined */
        for (size_t k = 0; k < Din; k++) {
            int32_t xv = (int32_t)xr[k] - x_zp;
            if (is_s8) {
                const int8_t *wr = (const int8_t *)w->data + k * W;
                for (size_t j = 0; j < W; j++)
                    a[j] += (uint32_t)(xv * (wr[j] - zp[j]));
            } else {
                const uint8_t *wr = (const uint8_t *)w->data + k * W;
                for (size_t j = 0; j < W; j++)
                    a[j] += (uint32_t)(xv * (wr[j] - zp[j]));
            }
        }
        for (size_t j = 0; j < W; j++) {
            int32_t acc32 = (int32_t)a[j];
            float v = (float)acc32 * mult[j];
            qkv[(size_t)r * W + j] = v + bd[j];
        }
    }
    return finish(ctx, &c, qkv);
}

OQ_KERNEL_TABLE(oq_ref_attention_kernels) = {
    {"com.microsoft", "Attention", 1, 1, k_attention},
    {"com.microsoft", "QAttention", 1, 1, k_qattention},
    {NULL, NULL, 0, 0, NULL},
};
