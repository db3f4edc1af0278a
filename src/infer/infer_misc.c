/*
 * infer_misc.c — inference for Resize and Upsample, the detection and
 * sampling ops (NonMaxSuppression, RoiAlign, GridSample, MaxUnpool,
 * Col2Im), losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss),
 * signal ops (DFT, STFT, the windows, MelWeightMatrix), Det and the
 * ai.onnx.preview.training optimizers.
 *
 * Resize sizes are floor(in * scale) computed in double from the float
 * scales, as the runtime does; on a symbolic size only scales that make
 * that exact are used (whole numbers, and 1/2^n, where in * scale has no
 * rounding), others leave the dim unknown.
 */
#include <math.h>
#include <string.h>

#include "infer_internal.h"

/* floor(in * scale) for a known or symbolic in. */
static oq_dim scaled(oq_dim in, double s)
{
    if (!(s > 0) || isinf(s))
        return oq_dunk();
    if (in.kind == OQ_DIM_VALUE)
        return oq_dval((int64_t)floor((double)in.v * s));
    if (in.kind != OQ_DIM_SYM)
        return oq_dunk();
    if (s == floor(s) && s < 1e6)
        return oq_dim_mulk(in, (int64_t)s);
    int e;
    double m = frexp(s, &e); /* s = m * 2^e, m in [0.5, 1) */
    if (m == 0.5 && e <= 0 && e > -40)
        return oq_dim_floordiv(in, (int64_t)1 << (1 - e));
    return oq_dunk();
}

/* Input i is given and non-empty (-1: cannot tell). */
static int nonempty(const oq_ictx *c, size_t i)
{
    const oq_ty *t = oq_input(c, i);
    if (!t)
        return 0;
    if (t->n_val >= 0)
        return t->n_val > 0;
    int64_t len = oq_in_len(c, i);
    return len < 0 ? -1 : len > 0;
}

static onnxq_status r_resize(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    int r = x->rank;
    oq_ty_copy_shape(out, x);
    int axes[OQ_INF_MAX_RANK], n_axes = r;
    for (int i = 0; i < r; i++)
        axes[i] = i;
    const int64_t *av;
    long na = c->opset >= 18 ? oq_attr_is(c, "axes", &av) : -1;
    if (na > r)
        goto unknown;
    if (na >= 0) {
        n_axes = (int)na;
        for (int i = 0; i < n_axes; i++)
            if ((axes[i] = oq_norm_axis(av[i], r)) < 0)
                goto unknown;
    }
    size_t scales_in = c->opset >= 11 ? 2 : 1;
    int has_scales = nonempty(c, scales_in);
    int has_sizes = c->opset >= 11 ? nonempty(c, 3) : 0;
    if (has_scales < 0 || has_sizes < 0 || has_scales == has_sizes)
        goto unknown;
    if (has_scales) {
        double s[OQ_INF_MAX_RANK];
        if (oq_in_floats(c, scales_in, s, OQ_INF_MAX_RANK) != n_axes)
            goto unknown;
        for (int i = 0; i < n_axes; i++)
            out->dims[axes[i]] = scaled(x->dims[axes[i]], s[i]);
        return ONNXQ_OK;
    }
    oq_dim sz[OQ_INF_MAX_RANK];
    if (oq_in_dims(c, 3, sz, OQ_INF_MAX_RANK) != n_axes)
        goto unknown;
    char buf[32];
    const char *policy = c->opset >= 18
        ? oq_attr_s(c, "keep_aspect_ratio_policy", "stretch", buf, sizeof buf)
        : "stretch";
    if (strcmp(policy, "stretch") == 0) {
        for (int i = 0; i < n_axes; i++)
            out->dims[axes[i]] = sz[i];
        return ONNXQ_OK;
    }
    /* one scale for all axes: the largest that fits, or the smallest that
     * covers; sizes rounded half up (known sizes only) */
    int larger = strcmp(policy, "not_smaller") == 0;
    double s = 0;
    for (int i = 0; i < n_axes; i++) {
        const oq_dim *in = &x->dims[axes[i]];
        if (sz[i].kind != OQ_DIM_VALUE || in->kind != OQ_DIM_VALUE || !in->v)
            goto unknown;
        double si = (double)sz[i].v / (double)in->v;
        if (i == 0 || (larger ? si > s : si < s))
            s = si;
    }
    for (int i = 0; i < n_axes; i++)
        out->dims[axes[i]] =
            oq_dval((int64_t)floor(s * (double)x->dims[axes[i]].v + 0.5));
    return ONNXQ_OK;
unknown:
    for (int i = 0; i < n_axes; i++)
        out->dims[axes[i]] = oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_upsample(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, x);
    double s[OQ_INF_MAX_RANK];
    int n = -1;
    if (c->opset < 9) {
        const float *v;
        long k = oq_attr_fs(c, "scales", &v);
        if (k == x->rank) {
            n = (int)k;
            for (int i = 0; i < n; i++)
                s[i] = v[i];
        }
    } else {
        n = oq_in_floats(c, 1, s, OQ_INF_MAX_RANK);
    }
    for (int i = 0; i < x->rank; i++)
        out->dims[i] = n == x->rank ? scaled(x->dims[i], s[i]) : oq_dunk();
    return ONNXQ_OK;
}

/* ---- detection and sampling ---------------------------------------------- */

static onnxq_status r_nms(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT64;
    out->rank = 2;
    out->dims[0] = oq_dunk(); /* the selected count depends on the data */
    out->dims[1] = oq_dval(3);
    return ONNXQ_OK;
}

static onnxq_status r_roi_align(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *rois = oq_input(c, 1);
    if (!out)
        return ONNXQ_OK;
    out->elem = x ? x->elem : 0;
    out->rank = 4;
    out->dims[0] = rois && rois->rank == 2 ? rois->dims[0] : oq_dunk();
    out->dims[1] = x && x->rank == 4 ? x->dims[1] : oq_dunk();
    out->dims[2] = oq_dval(oq_attr_i(c, "output_height", 1));
    out->dims[3] = oq_dval(oq_attr_i(c, "output_width", 1));
    return ONNXQ_OK;
}

static onnxq_status r_grid_sample(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *grid = oq_input(c, 1);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    /* [N, C, grid's spatial dims] */
    int r = x->rank >= 0 ? x->rank : grid && grid->rank >= 0 ? grid->rank : -1;
    if (r < 3)
        return ONNXQ_OK;
    out->rank = r;
    out->dims[0] = x->rank == r ? x->dims[0] : oq_dunk();
    out->dims[1] = x->rank == r ? x->dims[1] : oq_dunk();
    for (int i = 2; i < r; i++)
        out->dims[i] = grid && grid->rank == r ? grid->dims[i - 1] : oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_max_unpool(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 3)
        return ONNXQ_OK;
    int r = x->rank, n = r - 2;
    if (oq_input(c, 2)) {
        oq_dim v[OQ_INF_MAX_RANK];
        int k = oq_in_dims(c, 2, v, OQ_INF_MAX_RANK);
        out->rank = r;
        for (int i = 0; i < r; i++)
            out->dims[i] = k == r ? v[i] : oq_dunk();
        return ONNXQ_OK;
    }
    const int64_t *ks, *pads, *strides;
    long nk = oq_attr_is(c, "kernel_shape", &ks);
    long np = oq_attr_is(c, "pads", &pads);
    long ns = oq_attr_is(c, "strides", &strides);
    oq_ty_copy_shape(out, x);
    for (int i = 0; i < n; i++) {
        if (nk != n || (np >= 0 && np != 2 * n) || (ns >= 0 && ns != n)) {
            out->dims[2 + i] = oq_dunk();
            continue;
        }
        int64_t s = ns > 0 ? strides[i] : 1;
        int64_t pb = np > 0 ? pads[i] : 0, pe = np > 0 ? pads[n + i] : 0;
        /* (in - 1) * s + kernel - pads */
        out->dims[2 + i] = oq_dim_addk(oq_dim_mulk(x->dims[2 + i], s),
                                       -s + ks[i] - pb - pe);
    }
    return ONNXQ_OK;
}

static onnxq_status r_col2im(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    oq_dim img[OQ_INF_MAX_RANK];
    int64_t blk[OQ_INF_MAX_RANK];
    int ni = oq_in_dims(c, 1, img, OQ_INF_MAX_RANK - 2);
    int nb = oq_in_ints(c, 2, blk, OQ_INF_MAX_RANK - 2);
    int64_t r = oq_in_len(c, 1);
    if (r < 0 || r + 2 > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    out->rank = (int)r + 2;
    out->dims[0] = x->rank == 3 ? x->dims[0] : oq_dunk();
    out->dims[1] = oq_dunk();
    if (x->rank == 3 && nb == r) {
        int64_t bs = 1;
        for (int i = 0; i < nb; i++)
            bs *= blk[i];
        out->dims[1] = oq_dim_floordiv(x->dims[1], bs); /* a multiple of it */
    }
    for (int i = 0; i < r; i++)
        out->dims[2 + i] = ni == r ? img[i] : oq_dunk();
    return ONNXQ_OK;
}

/* ---- losses -------------------------------------------------------------- */

static onnxq_status loss_shape(oq_ictx *c, oq_ty *out, const oq_ty *scores,
                               const oq_ty *target)
{
    out->elem = scores ? scores->elem : 0;
    char buf[16];
    const char *red = oq_attr_s(c, "reduction", "mean", buf, sizeof buf);
    if (strcmp(red, "none") != 0)
        out->rank = 0;
    else if (target)
        oq_ty_copy_shape(out, target);
    return ONNXQ_OK;
}

static onnxq_status r_nll(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    return loss_shape(c, out, oq_input(c, 0), oq_input(c, 1));
}

static onnxq_status r_sce(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (out)
        loss_shape(c, out, oq_input(c, 0), oq_input(c, 1));
    oq_same_shape(oq_output(c, 1), oq_input(c, 0)); /* log_prob */
    return ONNXQ_OK;
}

/* ---- signal -------------------------------------------------------------- */

static onnxq_status r_dft(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 3)
        return ONNXQ_OK;
    int r = x->rank;
    int64_t axis = oq_attr_i(c, "axis", 1);
    int a = axis < -(int64_t)r || axis > r - 2 ? -1 : oq_norm_axis(axis, r);
    oq_ty_copy_shape(out, x);
    out->dims[r - 1] = oq_dval(2);
    if (a < 0 || a == r - 1) {
        out->rank = -1;
        return ONNXQ_OK;
    }
    oq_dim n = x->dims[a];
    if (oq_input(c, 1)) {
        oq_dim v[1];
        n = oq_in_dims(c, 1, v, 1) == 1 ? v[0] : oq_dunk();
    }
    int onesided = oq_attr_i(c, "onesided", 0) != 0;
    out->dims[a] = onesided ? oq_dim_addk(oq_dim_floordiv(n, 2), 1) : n;
    return ONNXQ_OK;
}

static onnxq_status r_stft(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *win = oq_input(c, 2);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    out->rank = 4;
    for (int i = 0; i < 4; i++)
        out->dims[i] = oq_dunk();
    out->dims[3] = oq_dval(2);
    if (x->rank == 3)
        out->dims[0] = x->dims[0];
    int64_t step[1], fl[1];
    int have_fl = 0;
    if (oq_input(c, 3))
        have_fl = oq_in_ints(c, 3, fl, 1) == 1;
    else if (win && win->rank == 1 && win->dims[0].kind == OQ_DIM_VALUE) {
        fl[0] = win->dims[0].v;
        have_fl = 1;
    }
    if (!have_fl || fl[0] < 1)
        return ONNXQ_OK;
    int onesided = oq_attr_i(c, "onesided", 1) != 0;
    out->dims[2] = oq_dval(onesided ? fl[0] / 2 + 1 : fl[0]);
    if (x->rank == 3 && oq_in_ints(c, 1, step, 1) == 1 && step[0] >= 1)
        out->dims[1] = oq_dim_addk(
            oq_dim_floordiv(oq_dim_addk(x->dims[1], -fl[0]), step[0]), 1);
    return ONNXQ_OK;
}

static onnxq_status r_window(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = (int32_t)oq_attr_i(c, "output_datatype", OQ_T_FLOAT);
    out->rank = 1;
    oq_dim v[1];
    out->dims[0] = oq_in_dims(c, 0, v, 1) == 1 ? v[0] : oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_mel(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = (int32_t)oq_attr_i(c, "output_datatype", OQ_T_FLOAT);
    out->rank = 2;
    oq_dim nmel[1], len[1];
    out->dims[0] = oq_in_dims(c, 1, len, 1) == 1
                       ? oq_dim_addk(oq_dim_floordiv(len[0], 2), 1) : oq_dunk();
    out->dims[1] = oq_in_dims(c, 0, nmel, 1) == 1 ? nmel[0] : oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_det(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank >= 2)
        oq_ty_set_shape(out, x->rank - 2, x->dims);
    return ONNXQ_OK;
}

/* ---- training optimizers ------------------------------------------------- */

/* Inputs R, T, then `groups` runs of n tensors (X, G, V/H ...); outputs are
 * the updated runs, each shaped like the input run it updates. */
static onnxq_status optimizer(oq_ictx *c, int groups, const int *updated,
                              int n_updated)
{
    if (c->n_in < 2 || (c->n_in - 2) % (size_t)groups)
        return ONNXQ_OK;
    size_t n = (c->n_in - 2) / (size_t)groups;
    for (size_t o = 0; o < c->n_out; o++) {
        size_t run = o / (n ? n : 1), k = o % (n ? n : 1);
        if ((int)run >= n_updated)
            break;
        oq_same_shape(&c->out[o], oq_input(c, 2 + (size_t)updated[run] * n + k));
    }
    return ONNXQ_OK;
}

static onnxq_status r_adagrad(oq_ictx *c)
{
    static const int upd[] = {0, 2}; /* X, H */
    return optimizer(c, 3, upd, 2);
}

static onnxq_status r_momentum(oq_ictx *c)
{
    static const int upd[] = {0, 2}; /* X, V */
    return optimizer(c, 3, upd, 2);
}

static onnxq_status r_adam(oq_ictx *c)
{
    static const int upd[] = {0, 2, 3}; /* X, V, H */
    return optimizer(c, 4, upd, 3);
}

const oq_infer_rule oq_infer_misc_rules[] = {
    {"", "Resize", 10, 21, r_resize},
    {"", "Upsample", 7, 9, r_upsample},
    {"", "NonMaxSuppression", 10, 21, r_nms},
    {"", "RoiAlign", 10, 21, r_roi_align},
    {"", "GridSample", 16, 21, r_grid_sample},
    {"", "MaxUnpool", 9, 21, r_max_unpool},
    {"", "Col2Im", 18, 21, r_col2im},
    {"", "NegativeLogLikelihoodLoss", 12, 21, r_nll},
    {"", "SoftmaxCrossEntropyLoss", 12, 21, r_sce},
    {"", "DFT", 17, 19, r_dft},
    {"", "STFT", 17, 21, r_stft},
    {"", "HannWindow", 17, 21, r_window},
    {"", "HammingWindow", 17, 21, r_window},
    {"", "BlackmanWindow", 17, 21, r_window},
    {"", "MelWeightMatrix", 17, 21, r_mel},
    {"", "Det", 11, 21, r_det},
    {"ai.onnx.preview.training", "Adagrad", 1, 1, r_adagrad},
    {"ai.onnx.preview.training", "Momentum", 1, 1, r_momentum},
    {"ai.onnx.preview.training", "Adam", 1, 1, r_adam},
    {NULL, NULL, 0, 0, NULL},
};
