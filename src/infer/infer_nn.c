/*
 * infer_nn.c — inference for convolutions, pooling, matrix products and
 * recurrent layers: Conv, ConvTranspose, MaxPool, AveragePool, LpPool,
 * Global*Pool, MaxRoiPool, com.microsoft FusedConv; MatMul, Gemm, Einsum,
 * com.microsoft FusedMatMul; RNN, GRU, LSTM, com.microsoft
 * DynamicQuantizeLSTM; com.microsoft Attention, QAttention.  The window
 * arithmetic (oq_window_out, oq_conv_shape, oq_pool_shape) and the MatMul shape are
 * shared with the quantized ops (infer_quant.c).
 *
 * Window sizes follow the runtime's geometry (kernels/ref/conv_pool.c, the
 * ONNX spec and ONNX Runtime): out = floor((in + pads - dilated_k) / s) + 1,
 * ceil(in / s) for SAME_*, and in ceil_mode a last window that would start
 * in the end padding is dropped.  On a symbolic size these are exact floor
 * forms (floor((frames-1)/2)+1 prints as ceil(frames/2)); the ceil_mode
 * correction is applied only where it does not depend on the size.
 */
#include <string.h>

#include "infer_internal.h"

/* ---- windows ------------------------------------------------------------- */

int oq_auto_pad(const oq_ictx *c)
{
    char buf[32];
    const char *s = oq_attr_s(c, "auto_pad", "NOTSET", buf, sizeof buf);
    if (strcmp(s, "SAME_UPPER") == 0)
        return 1;
    if (strcmp(s, "SAME_LOWER") == 0)
        return 2;
    if (strcmp(s, "VALID") == 0)
        return 3;
    return 0;
}

oq_dim oq_window_out(oq_dim in, int64_t k, int64_t stride, int64_t dil,
                     int64_t pad0, int64_t pad1, int auto_pad, int ceil_mode)
{
    if (stride < 1 || k < 1 || dil < 1)
        return oq_dunk();
    if (auto_pad == 1 || auto_pad == 2)
        return oq_dim_ceildiv(in, stride);
    if (auto_pad == 3)
        pad0 = pad1 = 0;
    int64_t ek = (k - 1) * dil + 1;
    if (in.kind == OQ_DIM_VALUE) {
        int64_t span = in.v + pad0 + pad1 - ek;
        if (span < 0)
            return oq_dunk();
        int64_t out =
            (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil_mode && (out - 1) * stride >= in.v + pad0)
            out--;
        return oq_dval(out);
    }
    oq_dim span = oq_dim_addk(in, pad0 + pad1 - ek);
    if (!ceil_mode)
        return oq_dim_addk(oq_dim_floordiv(span, stride), 1);
    /* (out - 1) * s - (in + pad0) lies in [pad1 - ek, pad1 - ek + s - 1]:
     * the drop is certain or impossible unless that range straddles 0 */
    oq_dim out = oq_dim_addk(oq_dim_ceildiv(span, stride), 1);
    if (pad1 - ek >= 0)
        return oq_dim_addk(out, -1);
    if (pad1 - ek + stride - 1 < 0)
        return out;
    return oq_dunk();
}

/* Reads a per-spatial-dim INTS attribute (n values; 2n for pads). */
static int spatial_attr(const oq_ictx *c, const char *name, int n,
                        int64_t dflt, int64_t *out)
{
    for (int i = 0; i < n; i++)
        out[i] = dflt;
    const int64_t *v;
    long k = oq_attr_is(c, name, &v);
    if (k < 0)
        return 0;
    if (k != n)
        return -1;
    memcpy(out, v, (size_t)n * sizeof *v);
    return 0;
}

/* Spatial output dims of x's spatial dims in[0..n) for kernel k. */
static void window_dims(const oq_ictx *c, const oq_dim *in, int n,
                        const int64_t *k, int ceil_mode, oq_dim *out)
{
    int64_t s[OQ_INF_MAX_RANK], d[OQ_INF_MAX_RANK], p[2 * OQ_INF_MAX_RANK];
    int ap = oq_auto_pad(c);
    int bad = spatial_attr(c, "strides", n, 1, s) ||
              spatial_attr(c, "dilations", n, 1, d) ||
              spatial_attr(c, "pads", 2 * n, 0, p);
    for (int i = 0; i < n; i++)
        out[i] = bad || k[i] < 1 ? oq_dunk()
                 : oq_window_out(in[i], k[i], s[i], d[i], p[i], p[n + i], ap,
                                 ceil_mode);
}

void oq_conv_shape(oq_ictx *c, const oq_ty *x, const oq_ty *w,
                   int channels_last, oq_ty *out)
{
    int rank = x && x->rank >= 0 ? x->rank : w && w->rank >= 0 ? w->rank : -1;
    if (rank < 3 || (x && x->rank >= 0 && w && w->rank >= 0 && x->rank != w->rank))
        return;
    int n = rank - 2;
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = oq_dunk();
    oq_dim M = w && w->rank == rank ? w->dims[0] : oq_dunk();
    out->dims[0] = x && x->rank == rank ? x->dims[0] : oq_dunk();
    out->dims[channels_last ? rank - 1 : 1] = M;
    if (!x || x->rank != rank)
        return;
    int64_t k[OQ_INF_MAX_RANK];
    if (spatial_attr(c, "kernel_shape", n, -1, k))
        return;
    for (int i = 0; i < n; i++)
        if (k[i] < 0) {
            const oq_dim *wd = w && w->rank == rank ? &w->dims[2 + i] : NULL;
            k[i] = wd && wd->kind == OQ_DIM_VALUE ? wd->v : 0;
        }
    window_dims(c, x->dims + (channels_last ? 1 : 2), n, k, 0,
                out->dims + (channels_last ? 1 : 2));
}

void oq_pool_shape(oq_ictx *c, const oq_ty *x, int channels_last, int ceil_ok,
                   oq_ty *out)
{
    if (!x || x->rank < 3)
        return;
    int n = x->rank - 2;
    oq_ty_copy_shape(out, x);
    int64_t k[OQ_INF_MAX_RANK];
    if (spatial_attr(c, "kernel_shape", n, -1, k) || k[0] < 0) {
        for (int i = 0; i < n; i++)
            out->dims[(channels_last ? 1 : 2) + i] = oq_dunk();
        return;
    }
    int ceil_mode = ceil_ok && oq_attr_i(c, "ceil_mode", 0) != 0;
    window_dims(c, x->dims + (channels_last ? 1 : 2), n, k, ceil_mode,
                out->dims + (channels_last ? 1 : 2));
}

/* ---- conv and pool rules ------------------------------------------------- */

static onnxq_status r_conv(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    const oq_ty *x = oq_input(c, 0), *w = oq_input(c, 1);
    out->elem = x ? x->elem : 0;
    oq_conv_shape(c, x, w, 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_conv_transpose(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *w = oq_input(c, 1);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 3)
        return ONNXQ_OK;
    int r = x->rank, n = r - 2;
    out->rank = r;
    for (int i = 0; i < r; i++)
        out->dims[i] = oq_dunk();
    out->dims[0] = x->dims[0];
    int64_t g = oq_attr_i(c, "group", 1);
    if (w && w->rank == r)
        out->dims[1] = oq_dim_mulk(w->dims[1], g);
    int64_t k[OQ_INF_MAX_RANK], s[OQ_INF_MAX_RANK], d[OQ_INF_MAX_RANK],
        p[2 * OQ_INF_MAX_RANK], op[OQ_INF_MAX_RANK];
    if (spatial_attr(c, "kernel_shape", n, -1, k) ||
        spatial_attr(c, "strides", n, 1, s) ||
        spatial_attr(c, "dilations", n, 1, d) ||
        spatial_attr(c, "pads", 2 * n, 0, p) ||
        spatial_attr(c, "output_padding", n, 0, op))
        return ONNXQ_OK;
    const int64_t *os;
    long n_os = oq_attr_is(c, "output_shape", &os);
    int ap = oq_auto_pad(c);
    for (int i = 0; i < n; i++) {
        if (n_os > 0) {
            if (n_os == n || n_os == n + 2)
                out->dims[2 + i] = oq_dval(os[n_os - n + i]);
            continue;
        }
        if (ap == 1 || ap == 2) {
            out->dims[2 + i] = oq_dim_mulk(x->dims[2 + i], s[i]);
            continue;
        }
        if (k[i] < 0) {
            const oq_dim *wd = w && w->rank == r ? &w->dims[2 + i] : NULL;
            if (!wd || wd->kind != OQ_DIM_VALUE)
                continue;
            k[i] = wd->v;
        }
        int64_t p0 = ap == 3 ? 0 : p[i], p1 = ap == 3 ? 0 : p[n + i];
        /* s (in - 1) + output_padding + (k - 1) d + 1 - pads */
        out->dims[2 + i] = oq_dim_addk(oq_dim_mulk(x->dims[2 + i], s[i]),
                                       -s[i] + op[i] + (k[i] - 1) * d[i] + 1 -
                                           p0 - p1);
    }
    return ONNXQ_OK;
}

static onnxq_status r_pool(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    if (!x)
        return ONNXQ_OK;
    for (size_t o = 0; o < c->n_out && o < 2; o++) {
        oq_ty *out = &c->out[o];
        out->elem = o == 0 ? x->elem : OQ_T_INT64; /* MaxPool's Indices */
        oq_pool_shape(c, x, 0, 1, out);
    }
    return ONNXQ_OK;
}

static onnxq_status r_global_pool(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    oq_same_shape(out, x);
    for (int i = 2; i < x->rank; i++)
        out->dims[i] = oq_dval(1);
    return ONNXQ_OK;
}

static onnxq_status r_max_roi_pool(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *rois = oq_input(c, 1);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    const int64_t *ps;
    if (oq_attr_is(c, "pooled_shape", &ps) != 2)
        return ONNXQ_OK;
    out->rank = 4;
    out->dims[0] = rois && rois->rank == 2 ? rois->dims[0] : oq_dunk();
    out->dims[1] = x->rank == 4 ? x->dims[1] : oq_dunk();
    out->dims[2] = oq_dval(ps[0]);
    out->dims[3] = oq_dval(ps[1]);
    return ONNXQ_OK;
}

/* ---- matrix products ----------------------------------------------------- */

static oq_dim pick(oq_ictx *c, oq_dim a, oq_dim b, const char *what)
{
    if (oq_dim_differ(&a, &b)) {
        oq_conflict(c, "%s: %lld and %lld differ", what, (long long)a.v,
                    (long long)b.v);
        return oq_dunk();
    }
    return a.kind != OQ_DIM_UNKNOWN ? a : b;
}

void oq_matmul_shape(oq_ictx *c, const oq_ty *a, const oq_ty *b, int trans_a,
                     int trans_b, oq_ty *out)
{
    if (!a || !b || a->rank < 1 || b->rank < 1)
        return;
    oq_ty A, B;
    oq_ty_init(&A);
    oq_ty_init(&B);
    oq_ty_copy_shape(&A, a);
    oq_ty_copy_shape(&B, b);
    if (trans_a && A.rank >= 2) {
        oq_dim t = A.dims[A.rank - 1];
        A.dims[A.rank - 1] = A.dims[A.rank - 2];
        A.dims[A.rank - 2] = t;
    }
    if (trans_b && B.rank >= 2) {
        oq_dim t = B.dims[B.rank - 1];
        B.dims[B.rank - 1] = B.dims[B.rank - 2];
        B.dims[B.rank - 2] = t;
    }
    int a_vec = A.rank == 1, b_vec = B.rank == 1;
    if (a_vec) { /* [K] -> [1, K] */
        A.dims[1] = A.dims[0];
        A.dims[0] = oq_dval(1);
        A.rank = 2;
    }
    if (b_vec) { /* [K] -> [K, 1] */
        B.dims[1] = oq_dval(1);
        B.rank = 2;
    }
    pick(c, A.dims[A.rank - 1], B.dims[B.rank - 2], "the inner dims");
    oq_ty batch_a, batch_b;
    oq_ty_init(&batch_a);
    oq_ty_init(&batch_b);
    oq_ty_set_shape(&batch_a, A.rank - 2, A.dims);
    oq_ty_set_shape(&batch_b, B.rank - 2, B.dims);
    const oq_ty *both[2] = {&batch_a, &batch_b};
    int r;
    oq_dim dims[OQ_INF_MAX_RANK];
    oq_broadcast(c, both, 2, &r, dims);
    if (r < 0 || r + 2 > OQ_INF_MAX_RANK)
        return;
    if (!a_vec)
        dims[r++] = A.dims[A.rank - 2];
    if (!b_vec)
        dims[r++] = B.dims[B.rank - 1];
    oq_ty_set_shape(out, r, dims);
}

static onnxq_status r_matmul(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *a = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = a ? a->elem : 0;
    oq_matmul_shape(c, a, oq_input(c, 1), 0, 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_fused_matmul(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *a = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = a ? a->elem : 0;
    /* transBatchA/B move batch dims around: only the plain case here */
    if (oq_attr_i(c, "transBatchA", 0) || oq_attr_i(c, "transBatchB", 0))
        return ONNXQ_OK;
    oq_matmul_shape(c, a, oq_input(c, 1), oq_attr_i(c, "transA", 0) != 0,
                    oq_attr_i(c, "transB", 0) != 0, out);
    return ONNXQ_OK;
}

static onnxq_status r_gemm(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *a = oq_input(c, 0), *b = oq_input(c, 1);
    if (!out)
        return ONNXQ_OK;
    out->elem = a ? a->elem : 0;
    out->rank = 2;
    out->dims[0] = out->dims[1] = oq_dunk();
    int ta = oq_attr_i(c, "transA", 0) != 0, tb = oq_attr_i(c, "transB", 0) != 0;
    if (a && a->rank == 2) {
        out->dims[0] = a->dims[ta ? 1 : 0];
        if (b && b->rank == 2)
            pick(c, a->dims[ta ? 0 : 1], b->dims[tb ? 1 : 0], "the inner dims");
    }
    if (b && b->rank == 2)
        out->dims[1] = b->dims[tb ? 0 : 1];
    return ONNXQ_OK;
}

/* Einsum: letters map to dims, "..." to broadcast dims. */
static onnxq_status r_einsum(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t zero = 0;
    out->elem = oq_first_elem(c, &zero, 1);
    char eq[256];
    const char *e = oq_attr_s(c, "equation", NULL, eq, sizeof eq);
    if (!e)
        return ONNXQ_OK;
    /* strip spaces */
    char s[256];
    size_t len = 0;
    for (const char *p = e; *p && len + 1 < sizeof s; p++)
        if (*p != ' ')
            s[len++] = *p;
    s[len] = '\0';
    char *arrow = strstr(s, "->");
    const char *rhs = NULL;
    if (arrow) {
        *arrow = '\0';
        rhs = arrow + 2;
    }
    oq_dim letter[128];
    int seen[128] = {0};
    for (int i = 0; i < 128; i++)
        letter[i] = oq_dunk();
    oq_ty ell[8];
    const oq_ty *ellp[8];
    size_t n_ell = 0, term = 0;
    int ell_rank_known = 1;
    char *save = s;
    for (char *t = save;; term++) {
        char *comma = strchr(t, ',');
        if (comma)
            *comma = '\0';
        const oq_ty *x = oq_input(c, term);
        int n_letters = 0, has_ell = strstr(t, "...") != NULL;
        for (char *p = t; *p; p++)
            if (*p != '.')
                n_letters++;
        int n_e = x && x->rank >= 0 ? x->rank - n_letters : -1;
        if (has_ell && n_e < 0)
            ell_rank_known = 0;
        int dim = 0;
        for (char *p = t; *p; p++) {
            if (*p == '.') {
                if (p[1] == '.' && p[2] == '.' && n_e >= 0) {
                    if (n_ell < 8 && n_e <= OQ_INF_MAX_RANK) {
                        oq_ty_init(&ell[n_ell]);
                        oq_ty_set_shape(&ell[n_ell], n_e, x->dims + dim);
                        ellp[n_ell] = &ell[n_ell];
                        n_ell++;
                    }
                    dim += n_e;
                    p += 2;
                }
                continue;
            }
            unsigned char ch = (unsigned char)*p;
            if (ch >= 128)
                return ONNXQ_OK;
            seen[ch]++;
            if (x && x->rank >= 0 && (has_ell ? n_e >= 0 : 1) && dim < x->rank) {
                oq_dim d = x->dims[dim];
                /* a dim of 1 may broadcast against the letter elsewhere */
                if (!oq_dim_is(&d, 1) || letter[ch].kind == OQ_DIM_UNKNOWN)
                    letter[ch] = letter[ch].kind == OQ_DIM_UNKNOWN ||
                                         oq_dim_is(&letter[ch], 1)
                                     ? d : pick(c, letter[ch], d, "an index");
            }
            dim++;
        }
        if (!comma)
            break;
        t = comma + 1;
    }
    int er = -1;
    oq_dim edims[OQ_INF_MAX_RANK];
    if (ell_rank_known)
        oq_broadcast(c, ellp, n_ell, &er, edims);
    int r = 0;
    oq_dim dims[OQ_INF_MAX_RANK];
    if (rhs) {
        for (const char *p = rhs; *p; p++) {
            if (*p == '.') {
                if (p[1] == '.' && p[2] == '.') {
                    if (er < 0 || r + er > OQ_INF_MAX_RANK)
                        return ONNXQ_OK;
                    for (int i = 0; i < er; i++)
                        dims[r++] = edims[i];
                    p += 2;
                }
                continue;
            }
            if ((unsigned char)*p >= 128 || r >= OQ_INF_MAX_RANK)
                return ONNXQ_OK;
            dims[r++] = letter[(unsigned char)*p];
        }
    } else {
        /* implicit output: the broadcast dims, then letters used once in
         * alphabetical order */
        if (n_ell) {
            if (er < 0)
                return ONNXQ_OK;
            for (int i = 0; i < er; i++)
                dims[r++] = edims[i];
        }
        for (int ch = 0; ch < 128; ch++)
            if (seen[ch] == 1 && r < OQ_INF_MAX_RANK)
                dims[r++] = letter[ch];
    }
    oq_ty_set_shape(out, r, dims);
    return ONNXQ_OK;
}

/* ---- recurrent layers ---------------------------------------------------- */

/* gate_axis: W's axis of gates*H: 1 in the ONNX ops, 2 in com.microsoft
 * DynamicQuantizeLSTM (W [nd, I, 4*H]). */
static onnxq_status rnn_common(oq_ictx *c, int gates, int gate_axis)
{
    const oq_ty *x = oq_input(c, 0), *w = oq_input(c, 1);
    int32_t elem = x ? x->elem : 0;
    for (size_t o = 0; o < c->n_out; o++)
        c->out[o].elem = elem;
    char buf[32];
    const char *dir = oq_attr_s(c, "direction", "forward", buf, sizeof buf);
    int64_t nd = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    int layout = c->opset >= 14 ? (int)oq_attr_i(c, "layout", 0) : 0;
    oq_dim hidden = oq_dunk();
    const Onnx__AttributeProto *hs = oq_attr_get(c, "hidden_size");
    if (hs)
        hidden = oq_dval(hs->i);
    else if (w && w->rank == 3)
        hidden = oq_dim_floordiv(w->dims[gate_axis], gates);
    oq_dim seq = oq_dunk(), batch = oq_dunk();
    if (x && x->rank == 3) {
        seq = x->dims[layout ? 1 : 0];
        batch = x->dims[layout ? 0 : 1];
    }
    oq_ty *y = oq_output(c, 0);
    if (y) {
        y->rank = 4;
        oq_dim d0[4] = {seq, oq_dval(nd), batch, hidden};
        oq_dim d1[4] = {batch, seq, oq_dval(nd), hidden};
        oq_ty_set_shape(y, 4, layout ? d1 : d0);
    }
    for (size_t o = 1; o < c->n_out && o < 3; o++) {
        oq_dim d0[3] = {oq_dval(nd), batch, hidden};
        oq_dim d1[3] = {batch, oq_dval(nd), hidden};
        oq_ty_set_shape(&c->out[o], 3, layout ? d1 : d0);
    }
    return ONNXQ_OK;
}

static onnxq_status r_rnn(oq_ictx *c) { return rnn_common(c, 1, 1); }
static onnxq_status r_gru(oq_ictx *c) { return rnn_common(c, 3, 1); }
static onnxq_status r_lstm(oq_ictx *c) { return rnn_common(c, 4, 1); }
static onnxq_status r_dq_lstm(oq_ictx *c) { return rnn_common(c, 4, 2); }

/* ---- attention ------------------------------------------------------------ */

/* com.microsoft Attention / QAttention: input [B, S, D_i], weights
 * [D_i, D + D + D_v] -> output float [B, S, D_v] (D_v = qkv_hidden_sizes[2],
 * else a third of the weights' columns); present [2, B, N, P + S, D / N]
 * with P the past's dim 3 (input past_index). */
static onnxq_status attention_common(oq_ictx *c, size_t past_index)
{
    const oq_ty *x = oq_input(c, 0), *w = oq_input(c, 1);
    const oq_ty *bias = oq_input(c, 2), *past = oq_input(c, past_index);
    oq_dim batch = oq_dunk(), seq = oq_dunk(), d = oq_dunk(), dv = oq_dunk();
    if (x && x->rank == 3) {
        batch = x->dims[0];
        seq = x->dims[1];
    }
    const int64_t *qkv;
    if (oq_attr_is(c, "qkv_hidden_sizes", &qkv) == 3) {
        d = oq_dval(qkv[0]);
        dv = oq_dval(qkv[2]);
    } else if (w && w->rank == 2) {
        d = dv = oq_dim_floordiv(w->dims[1], 3);
    } else if (bias && bias->rank == 1) {
        d = dv = oq_dim_floordiv(bias->dims[0], 3);
    }
    for (size_t o = 0; o < c->n_out && o < 2; o++)
        c->out[o].elem = OQ_T_FLOAT;
    oq_ty *y = oq_output(c, 0);
    if (y) {
        oq_dim dims[3] = {batch, seq, dv};
        oq_ty_set_shape(y, 3, dims);
    }
    oq_ty *present = oq_output(c, 1);
    int64_t heads = oq_attr_i(c, "num_heads", 0);
    if (present && heads > 0) {
        oq_dim total = seq;
        if (past)
            total = past->rank == 5
                        ? oq_dim_add(c->inf, past->dims[3], seq) : oq_dunk();
        oq_dim head = oq_dim_known(&d) && d.v % heads == 0
                          ? oq_dval(d.v / heads) : oq_dunk();
        oq_dim dims[5] = {oq_dval(2), batch, oq_dval(heads), total, head};
        oq_ty_set_shape(present, 5, dims);
    }
    return ONNXQ_OK;
}

static onnxq_status r_attention(oq_ictx *c) { return attention_common(c, 4); }
static onnxq_status r_qattention(oq_ictx *c) { return attention_common(c, 8); }

const oq_infer_rule oq_infer_nn_rules[] = {
    {"", "Conv", 1, 21, r_conv},
    {"", "ConvTranspose", 1, 21, r_conv_transpose},
    {"", "MaxPool", 1, 21, r_pool},
    {"", "AveragePool", 1, 21, r_pool},
    {"", "LpPool", 1, 21, r_pool},
    {"", "GlobalAveragePool", 1, 21, r_global_pool},
    {"", "GlobalMaxPool", 1, 21, r_global_pool},
    {"", "GlobalLpPool", 1, 21, r_global_pool},
    {"", "MaxRoiPool", 1, 21, r_max_roi_pool},
    {"com.microsoft", "FusedConv", 1, 1, r_conv},
    {"", "MatMul", 1, 21, r_matmul},
    {"", "Gemm", 1, 21, r_gemm},
    {"", "Einsum", 12, 21, r_einsum},
    {"com.microsoft", "FusedMatMul", 1, 1, r_fused_matmul},
    {"", "RNN", 7, 21, r_rnn},
    {"", "GRU", 7, 21, r_gru},
    {"", "LSTM", 7, 21, r_lstm},
    {"com.microsoft", "DynamicQuantizeLSTM", 1, 1, r_dq_lstm},
    {"com.microsoft", "Attention", 1, 1, r_attention},
    {"com.microsoft", "QAttention", 1, 1, r_qattention},
    {NULL, NULL, 0, 0, NULL},
};
