/*
 * conv_pool.c — reference convolutions and pooling: ai.onnx Conv,
 * ConvTranspose, MaxPool, AveragePool, LpPool, GlobalAveragePool,
 * GlobalMaxPool, GlobalLpPool, MaxRoiPool, and com.microsoft FusedConv.
 *
 * Tensors are N x C x D1 x ... x Dn, row-major, with any number n >= 1 of
 * spatial dimensions.  Every kernel widens its inputs to double once, works
 * in double, and rounds once into the output type: the reference must be at
 * least as exact as any fast kernel it is compared with, and one code path
 * serves float16, bfloat16, float32, float64 (and int8/uint8 for MaxPool,
 * which double holds exactly).
 *
 * Where the spec leaves room, geometry follows ONNX Runtime:
 *   - auto_pad SAME_*: output = ceil(in / stride); the total padding
 *     (out - 1) * stride + dilated_kernel - in is split with C division,
 *     the odd unit going to the end for SAME_UPPER, to the start for
 *     SAME_LOWER;
 *   - pools in ceil_mode drop a last window that would start in the end
 *     padding (as PyTorch and ONNX Runtime do);
 *   - MaxPool ignores NaN unless the whole window is NaN, and its Indices
 *     are flat indices into X (batch and channel included), column-major
 *     within the spatial block when storage_order is 1;
 *   - ConvTranspose pads given by output_shape or auto_pad follow the spec's
 *     formula (floor division; negative pads just add zero rows at the end).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
};

/* ---- small helpers ---------------------------------------------------------- */

/* Division rounding toward -inf / +inf (b > 0): window bounds may be
 * negative, where C's truncation would be off by one. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
}

static double *alloc_f64(oq_kctx *ctx, size_t n)
{
    double *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory (%zu elements)",
                 n);
    return v;
}

/* ---- window geometry ---------------------------------------------------------- */

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

/* A sliding window over the spatial dims of one N x C x ... tensor. */
typedef struct window {
    int n;                        /* spatial rank */
    int64_t in[OQ_MAX_RANK];      /* input spatial dims */
    int64_t out[OQ_MAX_RANK];     /* output spatial dims */
    int64_t k[OQ_MAX_RANK];       /* kernel dims (undilated) */
    int64_t stride[OQ_MAX_RANK];
    int64_t dil[OQ_MAX_RANK];
    int64_t pad0[OQ_MAX_RANK];    /* padding before each dim */
    int64_t pad1[OQ_MAX_RANK];    /* padding after each dim */
} window;

static onnxq_status read_auto_pad(oq_kctx *ctx, auto_pad *ap)
{
    char buf[32];
    const char *s = oq_attr_string(ctx, "auto_pad", "NOTSET", buf, sizeof buf);
    if (strcmp(s, "NOTSET") == 0 || s[0] == '\0')
        *ap = PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0)
        *ap = PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        *ap = PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0)
        *ap = PAD_VALID;
    else
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER "
                        "or VALID", s);
    return ONNXQ_OK;
}

/* Reads an INTS attribute of exactly `want` values, each >= min, into dst;
 * leaves dst alone if the attribute is absent or empty (exporters write
 * empty lists for "default", and ONNX Runtime reads them so). */
static onnxq_status read_ints(oq_kctx *ctx, const char *name, int want,
                              int64_t min, int64_t *dst)
{
    const int64_t *v;
    long n = oq_attr_ints(ctx, name, &v);
    if (n <= 0)
        return ONNXQ_OK;
    if (n != want)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s has %ld values, the input has %d spatial dims "
                        "(%d values needed)", name, n,
                        strcmp(name, "pads") == 0 ? want / 2 : want, want);
    for (long i = 0; i < n; i++) {
        if (v[i] < min)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "%s[%ld] is %lld, must be >= %lld", name, i,
                            (long long)v[i], (long long)min);
        dst[i] = v[i];
    }
    return ONNXQ_OK;
}

/* Fills stride, dil, pads and out of w (n, in and k already set) from the
 * node's strides, dilations, pads and auto_pad.  ceil_mode (pools) rounds
 * the output size up. */
static onnxq_status read_window(oq_kctx *ctx, window *w, int ceil_mode)
{
    int64_t pads[2 * OQ_MAX_RANK] = {0};
    for (int d = 0; d < w->n; d++) {
        w->stride[d] = 1;
        w->dil[d] = 1;
    }
    auto_pad ap;
    onnxq_status st;
    if ((st = read_ints(ctx, "strides", w->n, 1, w->stride)) != ONNXQ_OK ||
        (st = read_ints(ctx, "dilations", w->n, 1, w->dil)) != ONNXQ_OK ||
        (st = read_ints(ctx, "pads", 2 * w->n, 0, pads)) != ONNXQ_OK ||
        (st = read_auto_pad(ctx, &ap)) != ONNXQ_OK)
        return st;
    for (int d = 0; d < w->n; d++) {
        int64_t s = w->stride[d], ek = (w->k[d] - 1) * w->dil[d] + 1;
        if (w->k[d] < 1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "kernel dim %d is %lld, must be >= 1", d,
                            (long long)w->k[d]);
        if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
            int64_t out = ceil_div(w->in[d], s);
            int64_t need = (out - 1) * s + ek - w->in[d];
            w->pad0[d] = ap == PAD_SAME_UPPER ? need / 2 : (need + 1) / 2;
            w->pad1[d] = need - w->pad0[d];
            w->out[d] = out;
            continue;
        }
        w->pad0[d] = ap == PAD_VALID ? 0 : pads[d];
        w->pad1[d] = ap == PAD_VALID ? 0 : pads[w->n + d];
        int64_t span = w->in[d] + w->pad0[d] + w->pad1[d] - ek;
        if (span < 0)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "spatial dim %d: the dilated kernel (%lld) is "
                            "larger than the padded input (%lld + %lld + %lld)",
                            d, (long long)ek, (long long)w->in[d],
                            (long long)w->pad0[d], (long long)w->pad1[d]);
        w->out[d] = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
        if (ceil_mode && (w->out[d] - 1) * s >= w->in[d] + w->pad0[d])
            w->out[d]--;
    }
    return ONNXQ_OK;
}

/* Checks kernel_shape, if given, against the kernel dims in w->k. */
static onnxq_status check_kernel_shape(oq_kctx *ctx, const window *w)
{
    const int64_t *v;
    long n = oq_attr_ints(ctx, "kernel_shape", &v);
    if (n <= 0)
        return ONNXQ_OK;
    char a[96], b[96];
    int same = n == w->n;
    for (long i = 0; same && i < n; i++)
        same = v[i] == w->k[i];
    if (!same)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "kernel_shape %s does not match the weights' spatial "
                        "dims %s", oq_dims_str(v, (int)n, a, sizeof a),
                        oq_dims_str(w->k, w->n, b, sizeof b));
    return ONNXQ_OK;
}

/*
 * One kernel tap over a whole plane.  Position a of plane A (dims a_dims)
 * pairs with b = a * stride - pad + koff of plane B (dims b_dims) whenever b
 * lies inside B.  Conv gathers, dst[a] += wv * src[b] (A is the output);
 * ConvTranspose scatters, dst[b] += wv * src[a] (A is the input).  The last
 * dim runs as a contiguous loop over the range of a that stays inside B, so
 * the hot loop has no bounds checks.
 */
static void tap_plane(int n, const int64_t *a_dims, const int64_t *b_dims,
                      const int64_t *stride, const int64_t *pad,
                      const int64_t *koff, double wv, const double *src,
                      double *dst, int scatter)
{
    int last = n - 1;
    int64_t s = stride[last], off = koff[last] - pad[last];
    int64_t lo = ceil_div(-off, s);
    int64_t hi = floor_div(b_dims[last] - 1 - off, s) + 1;
    if (lo < 0)
        lo = 0;
    if (hi > a_dims[last])
        hi = a_dims[last];
    if (lo >= hi)
        return;
    int64_t rows = 1, idx[OQ_MAX_RANK] = {0};
    for (int d = 0; d < last; d++)
        rows *= a_dims[d];
    for (int64_t r = 0; r < rows; r++, oq_next_index(idx, a_dims, last)) {
        int64_t b_row = 0;
        int inside = 1;
        for (int d = 0; d < last && inside; d++) {
            int64_t b = idx[d] * stride[d] - pad[d] + koff[d];
            inside = b >= 0 && b < b_dims[d];
            b_row = b_row * b_dims[d] + b;
        }
        if (!inside)
            continue;
        int64_t a_off = r * a_dims[last], b_off = b_row * b_dims[last] + off;
        if (scatter) {
            const double *x = src + a_off;
            double *y = dst + b_off;
            for (int64_t a = lo; a < hi; a++)
                y[a * s] += wv * x[a];
        } else {
            const double *x = src + b_off;
            double *y = dst + a_off;
            for (int64_t a = lo; a < hi; a++)
                y[a] += wv * x[a * s];
        }
    }
}

/* ---- FusedConv activations ------------------------------------------------ */

typedef enum {
    ACT_NONE, ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_CLIP,
    ACT_HARD_SIGMOID
} act_kind;

typedef struct activation {
    act_kind kind;
    double a, b; /* LeakyRelu alpha; Clip min, max; HardSigmoid alpha, beta */
} activation;

static onnxq_status read_activation(oq_kctx *ctx, activation *act)
{
    char buf[64];
    const char *s = oq_attr_string(ctx, "activation", "", buf, sizeof buf);
    const float *p;
    long np = oq_attr_floats(ctx, "activation_params", &p);
    act->a = act->b = 0;
    if (s[0] == '\0') {
        act->kind = ACT_NONE;
    } else if (strcmp(s, "Relu") == 0) {
        act->kind = ACT_RELU;
    } else if (strcmp(s, "LeakyRelu") == 0) {
        act->kind = ACT_LEAKY_RELU;
        act->a = np >= 1 ? p[0] : 0.01;
    } else if (strcmp(s, "Sigmoid") == 0) {
        act->kind = ACT_SIGMOID;
    } else if (strcmp(s, "Tanh") == 0) {
        act->kind = ACT_TANH;
    } else if (strcmp(s, "Clip") == 0) {
        if (np < 2)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "activation Clip needs activation_params "
                            "[min, max], got %ld values", np < 0 ? 0 : np);
        act->kind = ACT_CLIP;
        act->a = p[0];
        act->b = p[1];
    } else if (strcmp(s, "HardSigmoid") == 0) {
        act->kind = ACT_HARD_SIGMOID;
        act->a = np >= 1 ? p[0] : 0.2;
        act->b = np >= 2 ? p[1] : 0.5;
    } else {
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "activation '%s' is not one of Relu, LeakyRelu, "
                        "Sigmoid, Tanh, Clip, HardSigmoid", s);
    }
    return ONNXQ_OK;
}

static double activate(const activation *act, double v)
{
    switch (act->kind) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_LEAKY_RELU: return v >= 0 ? v : act->a * v;
    case ACT_SIGMOID: return 1 / (1 + exp(-v));
    case ACT_TANH: return tanh(v);
    case ACT_CLIP: return v < act->a ? act->a : v > act->b ? act->b : v;
    case ACT_HARD_SIGMOID: {
        double h = act->a * v + act->b;
        return h < 0 ? 0 : h > 1 ? 1 : h;
    }
    case ACT_NONE: break;
    }
    return v;
}

/* ---- Conv, FusedConv, ConvTranspose ------------------------------------------------ */

/* Checks X, W (and B) of a convolution: same float type, X rank >= 3, W
 * of the same rank; fills w->n, w->in, w->k. */
static onnxq_status conv_inputs(oq_kctx *ctx, const oq_tensor *x,
                                const oq_tensor *wt, window *w)
{
    char a[96], b[96];
    if (!x || !wt)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "inputs X and W are required");
    if (!oq_is_float(x->dtype) || wt->dtype != x->dtype)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X is %s and W is %s: both must be the same of float16,"
                        " bfloat16, float32, float64",
                        onnxq_dtype_name(x->dtype), onnxq_dtype_name(wt->dtype));
    if (x->rank < 3 || wt->rank != x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X %s and W %s must have the same rank, at least 3 "
                        "(N, C and one spatial dim)",
                        oq_shape_str(x, a, sizeof a),
                        oq_shape_str(wt, b, sizeof b));
    w->n = x->rank - 2;
    for (int d = 0; d < w->n; d++) {
        w->in[d] = x->dims[d + 2];
        w->k[d] = wt->dims[d + 2];
    }
    return check_kernel_shape(ctx, w);
}

static onnxq_status check_bias(oq_kctx *ctx, const oq_tensor *x,
                               const oq_tensor *bias, int64_t m)
{
    if (!bias)
        return ONNXQ_OK;
    char a[96];
    if (bias->dtype != x->dtype || bias->rank != 1 || bias->dims[0] != m)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "B is %s %s, expected %s [%lld] (one per output "
                        "channel)", onnxq_dtype_name(bias->dtype),
                        oq_shape_str(bias, a, sizeof a),
                        onnxq_dtype_name(x->dtype), (long long)m);
    return ONNXQ_OK;
}

static int64_t read_group(oq_kctx *ctx)
{
    return oq_attr_int(ctx, "group", 1);
}

/* Conv and com.microsoft FusedConv (which adds the optional input Z to the
 * result and then applies an activation). */
static onnxq_status conv_impl(oq_kctx *ctx, int fused)
{
    const oq_tensor *x = oq_in(ctx, 0), *wt = oq_in(ctx, 1),
                    *bias = oq_in(ctx, 2), *z = fused ? oq_in(ctx, 3) : NULL;
    window w;
    onnxq_status st = conv_inputs(ctx, x, wt, &w);
    if (st != ONNXQ_OK)
        return st;
    char a[96], b[96];
    int64_t n = x->dims[0], c = x->dims[1], m = wt->dims[0];
    int64_t group = read_group(ctx);
    if (group < 1 || c % group != 0 || m % group != 0 ||
        wt->dims[1] != c / group)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X %s, W %s and group %lld disagree: X's %lld channels "
                        "and W's %lld filters must divide by group, and W's "
                        "dim 1 must be channels / group",
                        oq_shape_str(x, a, sizeof a),
                        oq_shape_str(wt, b, sizeof b),
                        (long long)group, (long long)c, (long long)m);
    activation act = {ACT_NONE, 0, 0};
    if ((st = check_bias(ctx, x, bias, m)) != ONNXQ_OK ||
        (st = read_window(ctx, &w, 0)) != ONNXQ_OK ||
        (fused && (st = read_activation(ctx, &act)) != ONNXQ_OK))
        return st;

    int64_t dims[OQ_MAX_RANK] = {n, m};
    for (int d = 0; d < w.n; d++)
        dims[d + 2] = w.out[d];
    if (z && (z->dtype != x->dtype || z->rank != x->rank ||
              memcmp(z->dims, dims, (size_t)z->rank * sizeof *dims) != 0))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "Z is %s %s, must match the output %s",
                        onnxq_dtype_name(z->dtype),
                        oq_shape_str(z, a, sizeof a),
                        oq_dims_str(dims, x->rank, b, sizeof b));
    oq_tensor *out = oq_output(ctx, 0, x->dtype, x->rank, dims);
    if (!out)
        return oq_failed(ctx);

    int64_t in_sz = (int64_t)oq_numel_dims(w.in, w.n);
    int64_t out_sz = (int64_t)oq_numel_dims(w.out, w.n);
    int64_t k_sz = (int64_t)oq_numel_dims(w.k, w.n);
    int64_t cg = c / group, mg = m / group;
    double *xv = oq_load_f64(ctx, x), *wv = xv ? oq_load_f64(ctx, wt) : NULL;
    double *bv = wv && bias ? oq_load_f64(ctx, bias) : NULL;
    double *zv = wv && z ? oq_load_f64(ctx, z) : NULL;
    double *yv = wv ? alloc_f64(ctx, oq_numel(out)) : NULL;
    if (!yv || (bias && !bv) || (z && !zv)) {
        st = oq_failed(ctx);
        goto done;
    }
    /* one output plane per iteration: no two iterations write the same
     * element */
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
    for (int64_t nm = 0; nm < n * m; nm++) {
        int64_t img = nm / m, oc = nm % m, g = oc / mg;
        double *yp = yv + nm * out_sz;
        for (int64_t ic = 0; ic < cg; ic++) {
            const double *xp = xv + (img * c + g * cg + ic) * in_sz;
            const double *wp = wv + (oc * cg + ic) * k_sz;
            int64_t kk[OQ_MAX_RANK] = {0}, koff[OQ_MAX_RANK];
            for (int64_t t = 0; t < k_sz; t++, oq_next_index(kk, w.k, w.n)) {
                for (int d = 0; d < w.n; d++)
                    koff[d] = kk[d] * w.dil[d];
                tap_plane(w.n, w.out, w.in, w.stride, w.pad0, koff, wp[t], xp,
                          yp, 0);
            }
        }
        for (int64_t i = 0; i < out_sz; i++) {
            double v = yp[i] + (bv ? bv[oc] : 0) + (zv ? zv[nm * out_sz + i] : 0);
            yp[i] = activate(&act, v);
        }
    }
    oq_store_f64(out, yv);
done:
    free(xv);
    free(wv);
    free(bv);
    free(zv);
    free(yv);
    return st;
}

static onnxq_status run_conv(oq_kctx *ctx) { return conv_impl(ctx, 0); }
static onnxq_status run_fused_conv(oq_kctx *ctx) { return conv_impl(ctx, 1); }

/* ConvTranspose: the adjoint of Conv.  Input position i, kernel tap k
 * feed output position i * stride - pad0 + k * dilation. */
static onnxq_status run_conv_transpose(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *wt = oq_in(ctx, 1),
                    *bias = oq_in(ctx, 2);
    window w;
    onnxq_status st = conv_inputs(ctx, x, wt, &w);
    if (st != ONNXQ_OK)
        return st;
    char a[96], b[96];
    int64_t n = x->dims[0], c = x->dims[1];
    int64_t group = read_group(ctx);
    if (group < 1 || c % group != 0 || wt->dims[0] != c)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X %s, W %s and group %lld disagree: W's dim 0 must "
                        "be X's %lld channels, which must divide by group",
                        oq_shape_str(x, a, sizeof a),
                        oq_shape_str(wt, b, sizeof b),
                        (long long)group, (long long)c);
    int64_t cg = c / group, mg = wt->dims[1], m = mg * group;
    if ((st = check_bias(ctx, x, bias, m)) != ONNXQ_OK)
        return st;

    /* geometry: strides, dilations, pads as for Conv; then output_padding
     * and output_shape, which make the pads */
    int64_t pads[2 * OQ_MAX_RANK] = {0}, opad[OQ_MAX_RANK] = {0};
    auto_pad ap;
    for (int d = 0; d < w.n; d++) {
        w.stride[d] = 1;
        w.dil[d] = 1;
    }
    if ((st = read_ints(ctx, "strides", w.n, 1, w.stride)) != ONNXQ_OK ||
        (st = read_ints(ctx, "dilations", w.n, 1, w.dil)) != ONNXQ_OK ||
        (st = read_ints(ctx, "pads", 2 * w.n, 0, pads)) != ONNXQ_OK ||
        (st = read_ints(ctx, "output_padding", w.n, 0, opad)) != ONNXQ_OK ||
        (st = read_auto_pad(ctx, &ap)) != ONNXQ_OK)
        return st;
    const int64_t *oshape;
    long n_oshape = oq_attr_ints(ctx, "output_shape", &oshape);
    if (n_oshape == 0)
        n_oshape = -1; /* an empty list means "not given" */
    if (n_oshape >= 0 && n_oshape != w.n && n_oshape != w.n + 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "output_shape has %ld values, expected %d (spatial) "
                        "or %d", n_oshape, w.n, w.n + 2);
    for (int d = 0; d < w.n; d++) {
        int64_t s = w.stride[d];
        int64_t full = s * (w.in[d] - 1) + opad[d] + (w.k[d] - 1) * w.dil[d] + 1;
        if (n_oshape >= 0 || ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
            /* the output size is given; the pads make up the difference,
             * the odd unit at the end only for SAME_UPPER */
            int64_t out = n_oshape >= 0 ? oshape[n_oshape - w.n + d]
                                        : w.in[d] * s;
            int64_t total = full - out;
            if (ap == PAD_SAME_UPPER) {
                w.pad0[d] = floor_div(total, 2);
                w.pad1[d] = total - w.pad0[d];
            } else {
                w.pad1[d] = floor_div(total, 2);
                w.pad0[d] = total - w.pad1[d];
            }
            w.out[d] = out;
        } else {
            w.pad0[d] = ap == PAD_VALID ? 0 : pads[d];
            w.pad1[d] = ap == PAD_VALID ? 0 : pads[w.n + d];
            w.out[d] = full - w.pad0[d] - w.pad1[d];
        }
        if (w.out[d] < 1)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "spatial dim %d: output size %lld (input %lld, "
                            "stride %lld, kernel %lld, pads %lld+%lld)", d,
                            (long long)w.out[d], (long long)w.in[d],
                            (long long)s, (long long)w.k[d],
                            (long long)w.pad0[d], (long long)w.pad1[d]);
    }

    int64_t dims[OQ_MAX_RANK] = {n, m};
    for (int d = 0; d < w.n; d++)
        dims[d + 2] = w.out[d];
    oq_tensor *out = oq_output(ctx, 0, x->dtype, x->rank, dims);
    if (!out)
        return oq_failed(ctx);
    int64_t in_sz = (int64_t)oq_numel_dims(w.in, w.n);
    int64_t out_sz = (int64_t)oq_numel_dims(w.out, w.n);
    int64_t k_sz = (int64_t)oq_numel_dims(w.k, w.n);
    double *xv = oq_load_f64(ctx, x), *wv = xv ? oq_load_f64(ctx, wt) : NULL;
    double *bv = wv && bias ? oq_load_f64(ctx, bias) : NULL;
    double *yv = wv ? alloc_f64(ctx, oq_numel(out)) : NULL;
    if (!yv || (bias && !bv)) {
        st = oq_failed(ctx);
        goto done;
    }
    /* one output plane per iteration, scattering every input channel of its
     * group into it */
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
    for (int64_t nm = 0; nm < n * m; nm++) {
        int64_t img = nm / m, oc = nm % m, g = oc / mg, ocg = oc % mg;
        double *yp = yv + nm * out_sz;
        for (int64_t ic = 0; ic < cg; ic++) {
            const double *xp = xv + (img * c + g * cg + ic) * in_sz;
            const double *wp = wv + ((g * cg + ic) * mg + ocg) * k_sz;
            int64_t kk[OQ_MAX_RANK] = {0}, koff[OQ_MAX_RANK];
            for (int64_t t = 0; t < k_sz; t++, oq_next_index(kk, w.k, w.n)) {
                for (int d = 0; d < w.n; d++)
                    koff[d] = kk[d] * w.dil[d];
                tap_plane(w.n, w.in, w.out, w.stride, w.pad0, koff, wp[t], xp,
                          yp, 1);
            }
        }
        if (bv)
            for (int64_t i = 0; i < out_sz; i++)
                yp[i] += bv[oc];
    }
    oq_store_f64(out, yv);
done:
    free(xv);
    free(wv);
    free(bv);
    free(yv);
    return st;
}

/* ---- pooling ---------------------------------------------------------------- */

typedef enum { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_args {
    pool_kind kind;
    int include_pad;   /* AveragePool count_include_pad */
    double p;          /* LpPool exponent */
    int col_major;     /* MaxPool storage_order 1: Indices column-major */
} pool_args;

/* Accepts X for a pool: rank >= 3; MaxPool also takes int8 and uint8. */
static onnxq_status pool_input(oq_kctx *ctx, const oq_tensor *x, int ints_ok,
                               int min_rank)
{
    char a[96];
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "input X is required");
    if (!oq_is_float(x->dtype) &&
        !(ints_ok && (x->dtype == T_INT8 || x->dtype == T_UINT8)))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X is %s; supported: float16, bfloat16, float32, "
                        "float64%s", onnxq_dtype_name(x->dtype),
                        ints_ok ? ", int8, uint8" : "");
    if (x->rank < min_rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X %s must have rank >= %d (N, C and spatial dims)",
                        oq_shape_str(x, a, sizeof a), min_rank);
    return ONNXQ_OK;
}

/* The lowest value of a MaxPool type, for a window with no element. */
static double lowest(int32_t dtype)
{
    switch (dtype) {
    case T_INT8: return -128;
    case T_UINT8: return 0;
    default: return -INFINITY;
    }
}

/* Pools one N,C plane: xp (w->in) into yp (w->out).  ip, if not NULL,
 * receives for each output the flat index of its maximum in X (base is the
 * plane's offset in X). */
static void pool_plane(const window *w, const pool_args *pa, double low,
                       const double *xp, double *yp, int64_t *ip, int64_t base)
{
    int n = w->n;
    int64_t out_sz = (int64_t)oq_numel_dims(w->out, n);
    int64_t k_sz = (int64_t)oq_numel_dims(w->k, n);
    int64_t o[OQ_MAX_RANK] = {0};
    for (int64_t oi = 0; oi < out_sz; oi++, oq_next_index(o, w->out, n)) {
        int64_t j[OQ_MAX_RANK] = {0};
        double acc = pa->kind == POOL_MAX ? NAN : 0;
        int64_t best = -1, count = 0, padded_count = 0;
        for (int64_t t = 0; t < k_sz; t++, oq_next_index(j, w->k, n)) {
            int inside = 1, in_padded = 1;
            int64_t flat = 0, cm_flat = 0, cm_stride = 1;
            for (int d = 0; d < n; d++) {
                int64_t pos = o[d] * w->stride[d] - w->pad0[d] + j[d] * w->dil[d];
                inside = inside && pos >= 0 && pos < w->in[d];
                in_padded = in_padded && pos >= -w->pad0[d] &&
                            pos < w->in[d] + w->pad1[d];
                flat = flat * w->in[d] + pos;
                cm_flat += pos * cm_stride;
                cm_stride *= w->in[d];
            }
            padded_count += in_padded;
            if (!inside)
                continue;
            double v = xp[flat];
            count++;
            switch (pa->kind) {
            case POOL_MAX:
                /* the first maximum wins; NaN only if all are NaN */
                if (best < 0 || v > acc || (isnan(acc) && !isnan(v))) {
                    acc = v;
                    best = pa->col_major ? cm_flat : flat;
                }
                break;
            case POOL_AVG: acc += v; break;
            case POOL_LP: acc += pow(fabs(v), pa->p); break;
            }
        }
        switch (pa->kind) {
        case POOL_MAX:
            yp[oi] = best < 0 ? low : acc;
            if (ip)
                ip[oi] = best < 0 ? -1 : base + best;
            break;
        case POOL_AVG: {
            int64_t div = pa->include_pad ? padded_count : count;
            yp[oi] = div ? acc / (double)div : NAN;
            break;
        }
        case POOL_LP: yp[oi] = pow(acc, 1 / pa->p); break;
        }
    }
}

/* MaxPool, AveragePool, LpPool and their Global forms (global: the kernel
 * is the whole spatial extent, no padding, stride 1). */
static onnxq_status pool_impl(oq_kctx *ctx, pool_args pa, int global)
{
    const oq_tensor *x = oq_in(ctx, 0);
    onnxq_status st = pool_input(ctx, x, pa.kind == POOL_MAX, global ? 2 : 3);
    if (st != ONNXQ_OK)
        return st;
    window w;
    memset(&w, 0, sizeof w);
    w.n = x->rank - 2;
    for (int d = 0; d < w.n; d++)
        w.in[d] = x->dims[d + 2];
    if (global) {
        for (int d = 0; d < w.n; d++) {
            w.k[d] = w.in[d];
            w.stride[d] = w.dil[d] = 1;
            w.out[d] = 1;
        }
    } else {
        const int64_t *ks;
        long nk = oq_attr_ints(ctx, "kernel_shape", &ks);
        if (nk < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "kernel_shape is required (%d values, one per "
                            "spatial dim)", w.n);
        if (nk != w.n)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "kernel_shape has %ld values, the input has %d "
                            "spatial dims", nk, w.n);
        for (int d = 0; d < w.n; d++)
            w.k[d] = ks[d];
        /* ceil_mode exists from MaxPool/AveragePool 10 and LpPool 18;
         * earlier models cannot set it */
        int ceil_mode = (int)oq_attr_int(ctx, "ceil_mode", 0) != 0;
        if ((st = read_window(ctx, &w, ceil_mode)) != ONNXQ_OK)
            return st;
    }
    int64_t n = x->dims[0], c = x->dims[1];
    int64_t dims[OQ_MAX_RANK] = {n, c};
    for (int d = 0; d < w.n; d++)
        dims[d + 2] = w.out[d];
    oq_tensor *out = oq_output(ctx, 0, x->dtype, x->rank, dims);
    oq_tensor *idx = NULL;
    if (!out)
        return oq_failed(ctx);
    if (pa.kind == POOL_MAX && ctx->n_out > 1 &&
        !(idx = oq_output(ctx, 1, T_INT64, x->rank, dims)))
        return oq_failed(ctx);
    int64_t in_sz = (int64_t)oq_numel_dims(w.in, w.n);
    int64_t out_sz = (int64_t)oq_numel_dims(w.out, w.n);
    double low = lowest(x->dtype);
    double *xv = oq_load_f64(ctx, x);
    double *yv = xv ? alloc_f64(ctx, oq_numel(out)) : NULL;
    if (!yv) {
        free(xv);
        return oq_failed(ctx);
    }
    int64_t *iv = idx ? idx->data : NULL;
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
    for (int64_t nc = 0; nc < n * c; nc++)
        pool_plane(&w, &pa, low, xv + nc * in_sz, yv + nc * out_sz,
                   iv ? iv + nc * out_sz : NULL, nc * in_sz);
    oq_store_f64(out, yv);
    free(xv);
    free(yv);
    return ONNXQ_OK;
}

static onnxq_status run_max_pool(oq_kctx *ctx)
{
    int64_t order = oq_attr_int(ctx, "storage_order", 0);
    if (order != 0 && order != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "storage_order is %lld, must be 0 or 1",
                        (long long)order);
    pool_args pa = {POOL_MAX, 0, 0, (int)order};
    return pool_impl(ctx, pa, 0);
}

static onnxq_status run_average_pool(oq_kctx *ctx)
{
    pool_args pa = {POOL_AVG, oq_attr_int(ctx, "count_include_pad", 0) != 0,
                    0, 0};
    return pool_impl(ctx, pa, 0);
}

/* LpPool/GlobalLpPool: p is an int from opset 2, a float in opset 1. */
static onnxq_status lp_args(oq_kctx *ctx, pool_args *pa)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, "p");
    pa->kind = POOL_LP;
    pa->p = 2;
    if (a && a->has_type && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        pa->p = oq_attr_float(ctx, "p", 2);
    else
        pa->p = (double)oq_attr_int(ctx, "p", 2);
    if (!(pa->p > 0))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "p is %g, must be > 0", pa->p);
    return ONNXQ_OK;
}

static onnxq_status run_lp_pool(oq_kctx *ctx)
{
    pool_args pa = {POOL_LP, 0, 2, 0};
    onnxq_status st = lp_args(ctx, &pa);
    return st != ONNXQ_OK ? st : pool_impl(ctx, pa, 0);
}

static onnxq_status run_global_lp_pool(oq_kctx *ctx)
{
    pool_args pa = {POOL_LP, 0, 2, 0};
    onnxq_status st = lp_args(ctx, &pa);
    return st != ONNXQ_OK ? st : pool_impl(ctx, pa, 1);
}

static onnxq_status run_global_average_pool(oq_kctx *ctx)
{
    pool_args pa = {POOL_AVG, 0, 0, 0};
    return pool_impl(ctx, pa, 1);
}

static onnxq_status run_global_max_pool(oq_kctx *ctx)
{
    pool_args pa = {POOL_MAX, 0, 0, 0};
    return pool_impl(ctx, pa, 1);
}

/* ---- MaxRoiPool ------------------------------------------------------------- */

/* MaxRoiPool (Fast R-CNN): each region [batch, x1, y1, x2, y2] of rois,
 * scaled by spatial_scale and rounded to pixels, is cut into pooled_shape
 * bins (of fractional size: bin i covers [floor(i * size), ceil((i + 1) *
 * size)) ); each output is the max of its bin, 0 for an empty bin. */
static onnxq_status run_max_roi_pool(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *rois = oq_in(ctx, 1);
    char a[96];
    onnxq_status st = pool_input(ctx, x, 0, 4);
    if (st != ONNXQ_OK)
        return st;
    if (x->rank != 4)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X %s must be N x C x H x W",
                        oq_shape_str(x, a, sizeof a));
    if (!rois || rois->dtype != x->dtype || rois->rank != 2 ||
        rois->dims[1] != 5)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "rois must be %s [num_rois, 5]",
                        onnxq_dtype_name(x->dtype));
    const int64_t *ps;
    if (oq_attr_ints(ctx, "pooled_shape", &ps) != 2 || ps[0] < 1 || ps[1] < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "pooled_shape must be two positive ints [h, w]");
    double scale = oq_attr_float(ctx, "spatial_scale", 1.0f);
    int64_t nb = x->dims[0], c = x->dims[1], h = x->dims[2], wd = x->dims[3];
    int64_t nr = rois->dims[0], ph = ps[0], pw = ps[1];
    int64_t dims[4] = {nr, c, ph, pw};
    oq_tensor *out = oq_output(ctx, 0, x->dtype, 4, dims);
    if (!out)
        return oq_failed(ctx);
    double *xv = oq_load_f64(ctx, x), *rv = xv ? oq_load_f64(ctx, rois) : NULL;
    double *yv = rv ? alloc_f64(ctx, oq_numel(out)) : NULL;
    if (!yv) {
        st = oq_failed(ctx);
        goto done;
    }
    for (int64_t r = 0; r < nr; r++) {
        const double *roi = rv + r * 5;
        int64_t b = (int64_t)roi[0];
        if (!(roi[0] >= 0 && roi[0] < (double)nb)) {
            st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                          "roi %lld names batch %g, X has %lld", (long long)r,
                          roi[0], (long long)nb);
            goto done;
        }
        int64_t x1 = (int64_t)round(roi[1] * scale);
        int64_t y1 = (int64_t)round(roi[2] * scale);
        int64_t x2 = (int64_t)round(roi[3] * scale);
        int64_t y2 = (int64_t)round(roi[4] * scale);
        /* a region is at least one pixel, even if its corners cross */
        double bin_h = (double)(y2 - y1 + 1 > 1 ? y2 - y1 + 1 : 1) / (double)ph;
        double bin_w = (double)(x2 - x1 + 1 > 1 ? x2 - x1 + 1 : 1) / (double)pw;
        for (int64_t ch = 0; ch < c; ch++) {
            const double *xp = xv + (b * c + ch) * h * wd;
            double *yp = yv + (r * c + ch) * ph * pw;
            for (int64_t i = 0; i < ph; i++) {
                int64_t hs = (int64_t)floor((double)i * bin_h) + y1;
                int64_t he = (int64_t)ceil((double)(i + 1) * bin_h) + y1;
                hs = hs < 0 ? 0 : hs > h ? h : hs;
                he = he < 0 ? 0 : he > h ? h : he;
                for (int64_t j = 0; j < pw; j++) {
                    int64_t ws = (int64_t)floor((double)j * bin_w) + x1;
                    int64_t we = (int64_t)ceil((double)(j + 1) * bin_w) + x1;
                    ws = ws < 0 ? 0 : ws > wd ? wd : ws;
                    we = we < 0 ? 0 : we > wd ? wd : we;
                    double m = -INFINITY;
                    int empty = 1;
                    for (int64_t yy = hs; yy < he; yy++)
                        for (int64_t xx = ws; xx < we; xx++) {
                            if (empty || xp[yy * wd + xx] > m)
                                m = xp[yy * wd + xx];
                            empty = 0;
                        }
                    yp[i * pw + j] = empty ? 0 : m;
                }
            }
        }
    }
    oq_store_f64(out, yv);
done:
    free(xv);
    free(rv);
    free(yv);
    return st;
}

/* ---- table ------------------------------------------------------------------ */

/* Opset ranges start where the semantics above hold: opset-1 Conv and pools
 * are the same ops with fewer attributes (an attribute a model cannot set
 * keeps its default), so old models (e.g. the opset-6 PyTorch exports)
 * run too. */
OQ_KERNEL_TABLE(oq_ref_conv_pool_kernels) = {
    {"", "Conv", 1, 21, run_conv},
    {"", "ConvTranspose", 1, 21, run_conv_transpose},
    {"", "MaxPool", 1, 21, run_max_pool},
    {"", "AveragePool", 1, 21, run_average_pool},
    {"", "LpPool", 1, 21, run_lp_pool},
    {"", "GlobalAveragePool", 1, 21, run_global_average_pool},
    {"", "GlobalMaxPool", 1, 21, run_global_max_pool},
    {"", "GlobalLpPool", 1, 21, run_global_lp_pool},
    {"", "MaxRoiPool", 1, 21, run_max_roi_pool},
    {"com.microsoft", "FusedConv", 1, 1, run_fused_conv},
    {NULL, NULL, 0, 0, NULL},
};
