/*
 * loss_signal.c — reference kernels for ONNX's losses, signal processing,
 * determinant and training optimizers:
 *   - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12-13);
 *   - DFT (17), STFT (17), HannWindow, HammingWindow, BlackmanWindow and
 *     MelWeightMatrix (17);
 *   - Det (11);
 *   - Adagrad, Adam and Momentum of ai.onnx.preview.training (1).
 *
 * Numerics.  Every floating-point input (float32, float64, float16,
 * bfloat16) is read as double, all arithmetic is in double and each result
 * is rounded once to the output type.  These are reference kernels: the DFT
 * is the O(n^2) definition, not an FFT, with twiddle factors taken from one
 * table of cos/sin(2*pi*m/n) indexed by j*k mod n (so no angle grows beyond
 * 2*pi and loses bits); Det is LU with partial pivoting.
 *
 * Losses.  NegativeLogLikelihoodLoss reads input [N, C, d1..dk] and target
 * [N, d1..dk]: loss[n, d] = -input[n, target[n, d], d] * weight[target[n, d]]
 * (weight 1 without the weight input), and 0 with weight 0 where target
 * equals ignore_index.  reduction "none" returns the [N, d1..dk] losses,
 * "sum" their sum and "mean" (the default) their sum divided by the sum of
 * the weights applied, so ignored elements count in neither (all ignored:
 * 0/0, NaN, as numpy and PyTorch give).  A target outside [0, C) that is not
 * ignore_index is an error.  SoftmaxCrossEntropyLoss is that loss over
 * log_softmax(scores) along axis 1, which is also its optional second output.
 *
 * Signal.  DFT-17 transforms along `axis` of the whole input tensor (1, the
 * first dimension after the batch, by default); the last dimension holds 1
 * (real) or 2 (real, imaginary) values.  dft_length zero-pads or truncates
 * the signal.  onesided keeps the first floor(n/2)+1 frequencies of the full
 * transform; like the ONNX reference implementation this is done for
 * complex and inverse transforms too (the spec calls it meaningful only for
 * real forward ones).  The inverse transform divides by n.  STFT cuts
 * [batch, length, 1|2] signals into frames of frame_length (or the window's
 * length) every frame_step samples, multiplies each by the window and takes
 * its DFT.  The windows are w[i] = a0 - a1 cos(2 pi i / N) + a2 cos(4 pi i / N)
 * with N = size (periodic) or size - 1 (symmetric); a symmetric window of
 * size 1 is [1], as numpy and PyTorch give, where the formula has 0/0.
 * MelWeightMatrix follows the spec's algorithm: num_mel_bins + 2 points
 * evenly spaced on the mel scale (2595 log10(1 + hz/700)) between the edges,
 * each mapped to the spectrogram bin floor((dft_length + 1) hz / sample_rate),
 * and a triangle per mel bin; bins beyond the spectrogram are left out.
 *
 * Optimizers.  Per the ai.onnx.preview.training pseudo code, for each
 * optimized tensor X with gradient G (G_reg = norm_coefficient * X + G):
 *   Adagrad: r = R / (1 + T decay_factor); H' = H + G_reg^2;
 *            X' = X - r G_reg / (sqrt(H') + epsilon)
 *   Momentum: b = T > 0 ? beta : 1; V' = alpha V + b G_reg;
 *            X' = X - R V' (standard) or X - R (G_reg + alpha V') (nesterov)
 *   Adam:    V' = alpha V + (1 - alpha) G_reg;
 *            H' = beta H + (1 - beta) G_reg^2;
 *            r = T > 0 ? R sqrt(1 - beta^T) / (1 - alpha^T) : R;
 *            X' = (1 - norm_coefficient_post) (X - r V' / (sqrt(H') + epsilon))
 * Inputs are R, T, then all X, all G, all V, all H; outputs all X', then all
 * V', then all H'.  Each X, G, V, H of one group must have the same shape,
 * since the outputs take the shapes of X, V and H.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    DT_F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    DT_F64 = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    DT_F16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    DT_BF16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16,
    DT_I8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    DT_I16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    DT_I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    DT_I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    DT_U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    DT_U16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    DT_U32 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32,
    DT_U64 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
};

static const double TWO_PI = 6.283185307179586476925286766559;

/* ---- scratch ------------------------------------------------------------------ */

/* per_thread doubles for each of nt threads; NULL (ctx->err set) on failure.
 * Never a zero-byte request, so NULL always means failure. */
static double *scratch_alloc(oq_kctx *ctx, int nt, size_t per_thread)
{
    if (per_thread > SIZE_MAX / sizeof(double) / (size_t)nt) {
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                 "scratch of %zu values per thread is too large", per_thread);
        return NULL;
    }
    size_t n = (size_t)nt * per_thread;
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                 "out of memory for %zu scratch values", n);
    return p;
}

/* ---- small helpers -------------------------------------------------------------- */

static onnxq_status missing(oq_kctx *ctx, size_t i, const char *name)
{
    return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                    "required input %zu (%s) is missing", i, name);
}

static onnxq_status max_outputs(oq_kctx *ctx, size_t max)
{
    if (ctx->n_out <= max)
        return ONNXQ_OK;
    return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                    "the node declares %zu outputs, this op has at most %zu",
                    ctx->n_out, max);
}

/* The numeric types oq_set_f64 writes: output_datatype of the windows and
 * MelWeightMatrix. */
static int is_numeric_type(int64_t dt)
{
    switch (dt) {
    case DT_F32: case DT_F64: case DT_F16: case DT_BF16:
    case DT_I8: case DT_I16: case DT_I32: case DT_I64:
    case DT_U8: case DT_U16: case DT_U32: case DT_U64:
        return 1;
    default:
        return 0;
    }
}

static int same_shape(const oq_tensor *a, const oq_tensor *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d])
            return 0;
    return 1;
}

/* Whether the node sets an INT / FLOAT attribute: the lookup gives the
 * default back only when it is absent, so two different defaults tell. */
static int has_int_attr(const oq_kctx *ctx, const char *name)
{
    return oq_attr_int(ctx, name, 0) == oq_attr_int(ctx, name, 1);
}

static int has_float_attr(const oq_kctx *ctx, const char *name)
{
    float a = oq_attr_float(ctx, name, 0.0f), b = oq_attr_float(ctx, name, 1.0f);
    return a == b || (a != a && b != b); /* a NaN value is still set */
}

/* A required float input. */
static onnxq_status float_in(oq_kctx *ctx, size_t i, const char *name,
                             const oq_tensor **t)
{
    *t = oq_in(ctx, i);
    if (!*t)
        return missing(ctx, i, name);
    if (!oq_is_float((*t)->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input %zu (%s) has type %s; this op takes float32, "
                        "float64, float16 or bfloat16", i, name,
                        onnxq_dtype_name((*t)->dtype));
    return ONNXQ_OK;
}

/* Input i as one integer: int32 or int64, one element (a scalar, or [1]). */
static onnxq_status int_scalar(oq_kctx *ctx, size_t i, const char *name,
                               int64_t *v)
{
    char sb[96];
    const oq_tensor *t = oq_in(ctx, i);
    if (!t)
        return missing(ctx, i, name);
    if (t->dtype != DT_I32 && t->dtype != DT_I64)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input %zu (%s) has type %s; it must be int32 or int64",
                        i, name, onnxq_dtype_name(t->dtype));
    if (oq_numel(t) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input %zu (%s) must be a scalar, its shape is %s", i,
                        name, oq_shape_str(t, sb, sizeof sb));
    *v = oq_get_i64(t, 0);
    return ONNXQ_OK;
}

/* Input i as one floating-point value (a scalar, or [1]). */
static onnxq_status float_scalar(oq_kctx *ctx, size_t i, const char *name,
                                 double *v)
{
    char sb[96];
    const oq_tensor *t;
    onnxq_status st = float_in(ctx, i, name, &t);
    if (st)
        return st;
    if (oq_numel(t) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input %zu (%s) must be a scalar, its shape is %s", i,
                        name, oq_shape_str(t, sb, sizeof sb));
    *v = oq_get_f64(t, 0);
    return ONNXQ_OK;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss -------------------------- */

enum { RED_NONE, RED_SUM, RED_MEAN };

static onnxq_status reduction_attr(oq_kctx *ctx, int *red)
{
    char buf[32];
    const char *r = oq_attr_string(ctx, "reduction", "mean", buf, sizeof buf);
    if (strcmp(r, "none") == 0)
        *red = RED_NONE;
    else if (strcmp(r, "sum") == 0)
        *red = RED_SUM;
    else if (strcmp(r, "mean") == 0)
        *red = RED_MEAN;
    else
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "reduction \"%s\" is not one of none, sum, mean", r);
    return ONNXQ_OK;
}

/* The negative log-likelihood of x ([N, C, d1..dk], log-probabilities) at
 * target, into output 0 with x's type.  x's values come from xv when it is
 * not NULL (SoftmaxCrossEntropyLoss passes its log_softmax), else from x. */
static onnxq_status nll_core(oq_kctx *ctx, const oq_tensor *x, const double *xv,
                             const oq_tensor *target, const oq_tensor *weight)
{
    char sx[96], st_[96];
    int red = RED_MEAN; /* set by reduction_attr; gcc cannot see it */
    onnxq_status st = reduction_attr(ctx, &red);
    if (st)
        return st;
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input 0 has shape %s; it needs at least [N, C]",
                        oq_shape_str(x, sx, sizeof sx));
    if (target->dtype != DT_I32 && target->dtype != DT_I64)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input 1 (target) has type %s; it must be int32 or "
                        "int64", onnxq_dtype_name(target->dtype));
    /* target is x's shape without the class dimension */
    int ok = target->rank == x->rank - 1 && target->dims[0] == x->dims[0];
    for (int d = 1; ok && d < target->rank; d++)
        ok = target->dims[d] == x->dims[d + 1];
    if (!ok)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "target has shape %s; for input %s it must be [N, "
                        "d1..dk] = the input's shape without dimension 1",
                        oq_shape_str(target, st_, sizeof st_),
                        oq_shape_str(x, sx, sizeof sx));
    int64_t C = x->dims[1];
    if (weight && (weight->rank != 1 || weight->dims[0] != C))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "weight has shape %s; it must be [C] = [%lld]",
                        oq_shape_str(weight, sx, sizeof sx), (long long)C);

    int has_ii = has_int_attr(ctx, "ignore_index");
    int64_t ii = oq_attr_int(ctx, "ignore_index", 0);
    size_t nt = oq_numel(target);
    /* all targets are checked before anything is computed */
    for (size_t i = 0; i < nt; i++) {
        int64_t t = oq_get_i64(target, i);
        if ((!has_ii || t != ii) && (t < 0 || t >= C))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "target value %lld (element %zu) is outside the "
                            "%lld classes [0, %lld) and is not ignore_index",
                            (long long)t, i, (long long)C, (long long)C);
    }

    oq_tensor *y = red == RED_NONE
                       ? oq_output(ctx, 0, x->dtype, target->rank, target->dims)
                       : oq_output(ctx, 0, x->dtype, 0, NULL);
    if (!y)
        return oq_failed(ctx);

    /* element (n, d) of target is n * D + d; x's (n, c, d) is
     * (n * C + c) * D + d */
    size_t D = oq_numel_dims(x->dims + 2, x->rank - 2);
    double sum = 0, wsum = 0;
    for (size_t i = 0; i < nt; i++) {
        int64_t t = oq_get_i64(target, i);
        double loss = 0, w = 0;
        if (!has_ii || t != ii) {
            size_t n = i / D, d = i - n * D; /* D > 0: there are targets */
            size_t xi = (n * (size_t)C + (size_t)t) * D + d;
            w = weight ? oq_get_f64(weight, (size_t)t) : 1.0;
            loss = -(xv ? xv[xi] : oq_get_f64(x, xi)) * w;
        }
        if (red == RED_NONE)
            oq_set_f64(y, i, loss);
        sum += loss;
        wsum += w;
    }
    if (red == RED_SUM)
        oq_set_f64(y, 0, sum);
    else if (red == RED_MEAN)
        oq_set_f64(y, 0, sum / wsum);
    return ONNXQ_OK;
}

static onnxq_status run_nll(oq_kctx *ctx)
{
    const oq_tensor *x, *target, *weight = oq_in(ctx, 2);
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = float_in(ctx, 0, "input", &x)))
        return st;
    if (!(target = oq_in(ctx, 1)))
        return missing(ctx, 1, "target");
    if (weight && !oq_is_float(weight->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input 2 (weight) has type %s; it must be a float type",
                        onnxq_dtype_name(weight->dtype));
    return nll_core(ctx, x, NULL, target, weight);
}

static onnxq_status run_sce(oq_kctx *ctx)
{
    char sx[96];
    const oq_tensor *x, *labels, *weights = oq_in(ctx, 2);
    onnxq_status st = max_outputs(ctx, 2);
    if (st || (st = float_in(ctx, 0, "scores", &x)))
        return st;
    if (!(labels = oq_in(ctx, 1)))
        return missing(ctx, 1, "labels");
    if (weights && !oq_is_float(weights->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input 2 (weights) has type %s; it must be a float "
                        "type", onnxq_dtype_name(weights->dtype));
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "scores have shape %s; they need at least [N, C]",
                        oq_shape_str(x, sx, sizeof sx));

    /* log_softmax over the classes, axis 1: for each (n, d) the C values
     * (n * C + c) * D + d */
    size_t N = (size_t)x->dims[0], C = (size_t)x->dims[1];
    size_t D = oq_numel_dims(x->dims + 2, x->rank - 2);
    size_t total = oq_numel(x);
    double *lp = scratch_alloc(ctx, 1, total);
    if (!lp)
        return oq_failed(ctx);
    for (size_t n = 0; n < N; n++)
        for (size_t d = 0; d < D; d++) {
            size_t base = n * C * D + d;
            double mx = -INFINITY, s = 0;
            for (size_t c = 0; c < C; c++) {
                double v = oq_get_f64(x, base + c * D);
                if (v > mx || v != v)
                    mx = v;
            }
            for (size_t c = 0; c < C; c++)
                s += exp(oq_get_f64(x, base + c * D) - mx);
            double lse = mx + log(s);
            for (size_t c = 0; c < C; c++)
                lp[base + c * D] = oq_get_f64(x, base + c * D) - lse;
        }

    st = nll_core(ctx, x, lp, labels, weights);
    if (!st && ctx->n_out > 1) {
        oq_tensor *y = oq_output(ctx, 1, x->dtype, x->rank, x->dims);
        if (!y)
            st = oq_failed(ctx);
        else
            for (size_t i = 0; i < total; i++)
                oq_set_f64(y, i, lp[i]);
    }
    free(lp);
    return st;
}

/* ---- DFT, STFT -------------------------------------------------------------------- */

/* cos(2 pi m / n) at [m] and sin(2 pi m / n) at [n + m], m in [0, n). */
static double *twiddle_table(oq_kctx *ctx, size_t n)
{
    double *tab = scratch_alloc(ctx, 2, n);
    if (!tab)
        return NULL;
    for (size_t m = 0; m < n; m++) {
        double a = TWO_PI * (double)m / (double)n;
        tab[m] = cos(a);
        tab[n + m] = sin(a);
    }
    return tab;
}

/* The first nout frequencies of the n-point DFT of re + i im (len <= n
 * values, zero beyond), into out[2k] (real) and out[2k + 1] (imaginary).
 * inverse: e^{+2 pi i jk/n} and a division by n. */
static void dft_line(const double *re, const double *im, size_t len, size_t n,
                     size_t nout, int inverse, const double *tab, double *out)
{
    double sgn = inverse ? 1.0 : -1.0;
    for (size_t k = 0; k < nout; k++) {
        double sr = 0, si = 0;
        size_t m = 0; /* j * k mod n, kept small so the table stays exact */
        for (size_t j = 0; j < len; j++) {
            double c = tab[m], s = sgn * tab[n + m];
            sr += re[j] * c - im[j] * s;
            si += re[j] * s + im[j] * c;
            m += k; /* k < n, so one subtraction reduces it */
            if (m >= n)
                m -= n;
        }
        if (inverse) {
            sr /= (double)n;
            si /= (double)n;
        }
        out[2 * k] = sr;
        out[2 * k + 1] = si;
    }
}

static onnxq_status run_dft(oq_kctx *ctx)
{
    char sx[96];
    const oq_tensor *x;
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = float_in(ctx, 0, "input", &x)))
        return st;
    int r = x->rank;
    if (r < 3 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input has shape %s; it must be [batch, signal dims..., "
                        "1 or 2] (real, or real and imaginary)",
                        oq_shape_str(x, sx, sizeof sx));
    int64_t axis = oq_attr_int(ctx, "axis", 1);
    /* the last dimension holds the complex parts: not an axis to transform */
    if (axis < -(int64_t)r || axis > r - 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axis %lld is out of range for a rank-%d input (valid: "
                        "%d..%d, the last dimension holds the complex parts)",
                        (long long)axis, r, -r, r - 2);
    int ax = (int)(axis < 0 ? axis + r : axis);
    if (ax == r - 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axis %lld names the last dimension, which holds the "
                        "complex parts", (long long)axis);
    int inverse = oq_attr_int(ctx, "inverse", 0) != 0;
    int onesided = oq_attr_int(ctx, "onesided", 0) != 0;

    int64_t L = x->dims[ax], n = L;
    if (oq_in(ctx, 1) && (st = int_scalar(ctx, 1, "dft_length", &n)))
        return st;
    if (n < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "the DFT length is %lld; it must be at least 1",
                        (long long)n);
    int64_t nout = onesided ? n / 2 + 1 : n;
    int64_t odims[OQ_MAX_RANK];
    memcpy(odims, x->dims, sizeof(int64_t) * (size_t)r);
    odims[ax] = nout;
    odims[r - 1] = 2;
    oq_tensor *y = oq_output(ctx, 0, x->dtype, r, odims);
    if (!y)
        return oq_failed(ctx);

    /* lines: the input is [outer, L, inner, comp] around the axis */
    size_t outer = oq_numel_dims(x->dims, ax);
    size_t inner = oq_numel_dims(x->dims + ax + 1, r - 2 - ax);
    size_t comp = (size_t)x->dims[r - 1];
    size_t len = (size_t)(L < n ? L : n), un = (size_t)n, unout = (size_t)nout;
    size_t lines = outer * inner;
    if (!lines)
        return ONNXQ_OK;
    double *tab = twiddle_table(ctx, un);
    if (!tab)
        return oq_failed(ctx);
    int nt = oq_threads(ctx);
    size_t per = 2 * len + 2 * unout; /* re[len], im[len], out[2 * nout] */
    double *scr = scratch_alloc(ctx, nt, per);
    if (!scr) {
        free(tab);
        return oq_failed(ctx);
    }
    OQ_PAR_FOR(nt, (double)lines * (double)len * (double)unout)
    for (int64_t l = 0; l < (int64_t)lines; l++) {
        double *re = scr + (size_t)oq_thread_id() * per, *im = re + len;
        double *out = im + len;
        size_t o = (size_t)l / inner, i = (size_t)l % inner;
        for (size_t j = 0; j < len; j++) {
            size_t xi = ((o * (size_t)L + j) * inner + i) * comp;
            re[j] = oq_get_f64(x, xi);
            im[j] = comp == 2 ? oq_get_f64(x, xi + 1) : 0.0;
        }
        dft_line(re, im, len, un, unout, inverse, tab, out);
        for (size_t k = 0; k < unout; k++) {
            size_t yi = ((o * unout + k) * inner + i) * 2;
            oq_set_f64(y, yi, out[2 * k]);
            oq_set_f64(y, yi + 1, out[2 * k + 1]);
        }
    }
    free(scr);
    free(tab);
    return ONNXQ_OK;
}

static onnxq_status run_stft(oq_kctx *ctx)
{
    char sx[96];
    const oq_tensor *x, *win = oq_in(ctx, 2);
    int64_t step, fl = 0;
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = float_in(ctx, 0, "signal", &x)) ||
        (st = int_scalar(ctx, 1, "frame_step", &step)))
        return st;
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "signal has shape %s; it must be [batch, length, 1 or "
                        "2] (real, or real and imaginary)",
                        oq_shape_str(x, sx, sizeof sx));
    if (step < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "frame_step is %lld; it must be at least 1",
                        (long long)step);
    if (win) {
        if (!oq_is_float(win->dtype))
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "input 2 (window) has type %s; it must be a float "
                            "type", onnxq_dtype_name(win->dtype));
        if (win->rank != 1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "window has shape %s; it must have rank 1",
                            oq_shape_str(win, sx, sizeof sx));
    }
    if (oq_in(ctx, 3)) {
        if ((st = int_scalar(ctx, 3, "frame_length", &fl)))
            return st;
        if (win && win->dims[0] != fl)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "frame_length is %lld but the window has %lld "
                            "values", (long long)fl, (long long)win->dims[0]);
    } else if (win) {
        fl = win->dims[0];
    } else {
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "neither a window nor frame_length gives the frame "
                        "length");
    }
    int64_t S = x->dims[1];
    if (fl < 1 || fl > S)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "frame length %lld must be in [1, %lld], the signal's "
                        "length", (long long)fl, (long long)S);
    int onesided = oq_attr_int(ctx, "onesided", 1) != 0;
    int64_t frames = (S - fl) / step + 1, bins = onesided ? fl / 2 + 1 : fl;
    int64_t odims[4] = {x->dims[0], frames, bins, 2};
    oq_tensor *y = oq_output(ctx, 0, x->dtype, 4, odims);
    if (!y)
        return oq_failed(ctx);

    size_t B = (size_t)x->dims[0], comp = (size_t)x->dims[2];
    size_t n = (size_t)fl, nb = (size_t)bins, nf = (size_t)frames;
    size_t lines = B * nf;
    if (!lines)
        return ONNXQ_OK;
    double *tab = twiddle_table(ctx, n);
    if (!tab)
        return oq_failed(ctx);
    int nt = oq_threads(ctx);
    size_t per = 2 * n + 2 * nb;
    double *scr = scratch_alloc(ctx, nt, per);
    if (!scr) {
        free(tab);
        return oq_failed(ctx);
    }
    OQ_PAR_FOR(nt, (double)lines * (double)n * (double)nb)
    for (int64_t l = 0; l < (int64_t)lines; l++) {
        double *re = scr + (size_t)oq_thread_id() * per, *im = re + n;
        double *out = im + n;
        size_t b = (size_t)l / nf, f = (size_t)l % nf;
        for (size_t j = 0; j < n; j++) {
            size_t xi = (b * (size_t)S + f * (size_t)step + j) * comp;
            double w = win ? oq_get_f64(win, j) : 1.0;
            re[j] = oq_get_f64(x, xi) * w;
            im[j] = comp == 2 ? oq_get_f64(x, xi + 1) * w : 0.0;
        }
        dft_line(re, im, n, n, nb, 0, tab, out);
        for (size_t k = 0; k < 2 * nb; k++)
            oq_set_f64(y, (size_t)l * 2 * nb + k, out[k]);
    }
    free(scr);
    free(tab);
    return ONNXQ_OK;
}

/* ---- windows, MelWeightMatrix -------------------------------------------------- */

static onnxq_status output_datatype(oq_kctx *ctx, int32_t *dt)
{
    int64_t v = oq_attr_int(ctx, "output_datatype", DT_F32);
    if (!is_numeric_type(v))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "output_datatype %lld is not a numeric type this op "
                        "produces", (long long)v);
    *dt = (int32_t)v;
    return ONNXQ_OK;
}

/* w[i] = a0 - a1 cos(2 pi i / N) + a2 cos(4 pi i / N). */
static onnxq_status window_run(oq_kctx *ctx, double a0, double a1, double a2)
{
    int64_t size;
    int32_t dt = DT_F32; /* set by output_datatype; gcc cannot see it */
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = int_scalar(ctx, 0, "size", &size)) ||
        (st = output_datatype(ctx, &dt)))
        return st;
    if (size < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "window size %lld is negative", (long long)size);
    int periodic = oq_attr_int(ctx, "periodic", 1) != 0;
    oq_tensor *y = oq_output(ctx, 0, dt, 1, &size);
    if (!y)
        return oq_failed(ctx);
    /* periodic windows are one period of length size; symmetric ones reach
     * their end value again at size - 1 */
    int64_t N = periodic ? size : size - 1;
    for (int64_t i = 0; i < size; i++) {
        double w = 1.0; /* the symmetric window of size 1 */
        if (N > 0) {
            double a = TWO_PI * (double)i / (double)N;
            w = a0 - a1 * cos(a) + a2 * cos(2 * a);
        }
        oq_set_f64(y, (size_t)i, w);
    }
    return ONNXQ_OK;
}

static onnxq_status run_hann(oq_kctx *ctx)
{
    return window_run(ctx, 0.5, 0.5, 0.0);
}
static onnxq_status run_hamming(oq_kctx *ctx)
{
    return window_run(ctx, 25.0 / 46.0, 21.0 / 46.0, 0.0);
}
static onnxq_status run_blackman(oq_kctx *ctx)
{
    return window_run(ctx, 0.42, 0.5, 0.08);
}

static double hz_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double mel_to_hz(double mel)
{
    return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

static onnxq_status run_mel_weight_matrix(oq_kctx *ctx)
{
    int64_t nmel, L, sr;
    double lo, hi;
    int32_t dt = DT_F32; /* set by output_datatype; gcc cannot see it */
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = int_scalar(ctx, 0, "num_mel_bins", &nmel)) ||
        (st = int_scalar(ctx, 1, "dft_length", &L)) ||
        (st = int_scalar(ctx, 2, "sample_rate", &sr)) ||
        (st = float_scalar(ctx, 3, "lower_edge_hertz", &lo)) ||
        (st = float_scalar(ctx, 4, "upper_edge_hertz", &hi)) ||
        (st = output_datatype(ctx, &dt)))
        return st;
    if (nmel < 0 || L < 1 || sr < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "num_mel_bins %lld, dft_length %lld, sample_rate %lld: "
                        "need num_mel_bins >= 0, dft_length >= 1 and "
                        "sample_rate >= 1", (long long)nmel, (long long)L,
                        (long long)sr);
    int64_t nspec = L / 2 + 1;
    int64_t odims[2] = {nspec, nmel};
    oq_tensor *y = oq_output(ctx, 0, dt, 2, odims);
    if (!y)
        return oq_failed(ctx);

    /* nmel + 2 edges on the mel scale, each as a spectrogram bin */
    size_t nb = (size_t)nmel + 2;
    int64_t *bin = malloc(nb * sizeof *bin);
    if (!bin)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                        "out of memory for %zu mel edges", nb);
    double lo_mel = hz_to_mel(lo), hi_mel = hz_to_mel(hi);
    double step = (hi_mel - lo_mel) / (double)nb;
    for (size_t i = 0; i < nb; i++) {
        double hz = mel_to_hz(lo_mel + step * (double)i);
        double b = floor((double)(L + 1) * hz / (double)sr);
        /* NaN from edges below -700 Hz, or bins no int64 holds */
        if (!(b >= -0x1p62 && b <= 0x1p62)) {
            free(bin);
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "edges %g..%g Hz give mel edge %zu at bin %g; the "
                            "edges must be above -700 Hz and finite", lo, hi,
                            i, b);
        }
        bin[i] = (int64_t)b;
    }
    /* rising edge from bin[i] to the centre bin[i + 1], falling edge to
     * bin[i + 2]; rows outside the spectrogram are dropped, and the loops
     * are clipped to it so that far-out edges cost nothing */
    for (int64_t m = 0; m < nmel; m++) {
        int64_t left = bin[m], centre = bin[m + 1], right = bin[m + 2];
        if (centre == left) {
            if (centre >= 0 && centre < nspec)
                oq_set_f64(y, (size_t)(centre * nmel + m), 1.0);
        } else {
            int64_t j0 = left > 0 ? left : 0;
            int64_t j1 = centre < nspec - 1 ? centre : nspec - 1;
            for (int64_t j = j0; j <= j1; j++)
                oq_set_f64(y, (size_t)(j * nmel + m),
                           (double)(j - left) / (double)(centre - left));
        }
        if (right > centre) {
            int64_t j0 = centre > 0 ? centre : 0;
            int64_t j1 = right < nspec ? right : nspec;
            for (int64_t j = j0; j < j1; j++)
                oq_set_f64(y, (size_t)(j * nmel + m),
                           (double)(right - j) / (double)(right - centre));
        }
    }
    free(bin);
    return ONNXQ_OK;
}

/* ---- Det -------------------------------------------------------------------------- */

/* Determinant of the m x m matrix a (overwritten): LU with partial pivoting.
 * A NaN is taken as the largest pivot so that it reaches the result instead
 * of being skipped by the comparisons. */
static double det_lu(double *a, size_t m)
{
    double det = 1.0;
    for (size_t k = 0; k < m; k++) {
        size_t p = k;
        double best = fabs(a[k * m + k]);
        for (size_t i = k + 1; i < m && best == best; i++) {
            double v = fabs(a[i * m + k]);
            if (v > best || v != v) {
                best = v;
                p = i;
            }
        }
        if (best == 0)
            return 0.0; /* a zero column below the diagonal: singular */
        if (p != k) {
            for (size_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[p * m + j];
                a[p * m + j] = t;
            }
            det = -det;
        }
        double piv = a[k * m + k];
        det *= piv;
        for (size_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] / piv;
            for (size_t j = k + 1; j < m; j++)
                a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

static onnxq_status run_det(oq_kctx *ctx)
{
    char sx[96];
    const oq_tensor *x;
    onnxq_status st = max_outputs(ctx, 1);
    if (st || (st = float_in(ctx, 0, "X", &x)))
        return st;
    int r = x->rank;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2])
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input has shape %s; it must be [*, M, M] (square "
                        "matrices)", oq_shape_str(x, sx, sizeof sx));
    oq_tensor *y = oq_output(ctx, 0, x->dtype, r - 2, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t m = (size_t)x->dims[r - 1], mm = m * m;
    size_t batch = oq_numel_dims(x->dims, r - 2);
    if (!batch)
        return ONNXQ_OK;
    int nt = oq_threads(ctx);
    double *scr = scratch_alloc(ctx, nt, mm);
    if (!scr)
        return oq_failed(ctx);
    OQ_PAR_FOR(nt, (double)batch * (double)mm * (double)m)
    for (int64_t b = 0; b < (int64_t)batch; b++) {
        double *a = scr + (size_t)oq_thread_id() * mm;
        for (size_t i = 0; i < mm; i++)
            a[i] = oq_get_f64(x, (size_t)b * mm + i);
        oq_set_f64(y, (size_t)b, det_lu(a, m));
    }
    free(scr);
    return ONNXQ_OK;
}

/* ---- Adagrad, Momentum, Adam (ai.onnx.preview.training) ---------------------------- */

enum { OPT_ADAGRAD, OPT_MOMENTUM, OPT_ADAM };

typedef struct opt_params {
    double r, norm, eps, alpha, beta, norm_post;
    int64_t t;
    int nesterov;
} opt_params;

/* The attributes Momentum requires. */
static onnxq_status momentum_attrs(oq_kctx *ctx, opt_params *p)
{
    static const char *const req[] = {"alpha", "beta", "norm_coefficient"};
    for (size_t i = 0; i < 3; i++)
        if (!has_float_attr(ctx, req[i]))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "required float attribute %s is missing", req[i]);
    char buf[32];
    const char *mode = oq_attr_string(ctx, "mode", NULL, buf, sizeof buf);
    if (!mode)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "required string attribute mode is missing");
    if (strcmp(mode, "standard") && strcmp(mode, "nesterov"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "mode \"%s\" is neither standard nor nesterov", mode);
    p->nesterov = strcmp(mode, "nesterov") == 0;
    p->alpha = oq_attr_float(ctx, "alpha", 0);
    p->beta = oq_attr_float(ctx, "beta", 0);
    p->norm = oq_attr_float(ctx, "norm_coefficient", 0);
    return ONNXQ_OK;
}

static onnxq_status run_optimizer(oq_kctx *ctx, int kind)
{
    char s1[96], s2[96];
    /* inputs R, T, then `groups` lists of n tensors: X, G, then the states
     * (H for Adagrad, V for Momentum, V and H for Adam) */
    size_t groups = kind == OPT_ADAM ? 4 : 3;
    static const char *const names[3][4] = {
        {"X", "G", "H", ""}, {"X", "G", "V", ""}, {"X", "G", "V", "H"}};
    opt_params p = {0};
    onnxq_status st = float_scalar(ctx, 0, "R", &p.r);
    if (st || (st = int_scalar(ctx, 1, "T", &p.t)))
        return st;
    if (ctx->n_in < 2 + groups || (ctx->n_in - 2) % groups)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "%zu inputs: this op takes R, T and %zu tensors per "
                        "optimized tensor", ctx->n_in, groups);
    size_t n = (ctx->n_in - 2) / groups;
    if ((st = max_outputs(ctx, (groups - 1) * n)))
        return st;
    if (kind == OPT_MOMENTUM) {
        if ((st = momentum_attrs(ctx, &p)))
            return st;
    } else if (kind == OPT_ADAGRAD) {
        p.eps = oq_attr_float(ctx, "epsilon", 1e-6f);
        p.norm = oq_attr_float(ctx, "norm_coefficient", 0.0f);
        /* the step shrinks as R / (1 + T decay_factor) */
        p.r /= 1.0 + (double)p.t * oq_attr_float(ctx, "decay_factor", 0.0f);
    } else {
        p.alpha = oq_attr_float(ctx, "alpha", 0.9f);
        p.beta = oq_attr_float(ctx, "beta", 0.999f);
        p.eps = oq_attr_float(ctx, "epsilon", 1e-6f);
        p.norm = oq_attr_float(ctx, "norm_coefficient", 0.0f);
        p.norm_post = oq_attr_float(ctx, "norm_coefficient_post", 0.0f);
        /* bias correction of both running averages, folded into the rate */
        if (p.t > 0)
            p.r = p.r * sqrt(1.0 - pow(p.beta, (double)p.t)) /
                  (1.0 - pow(p.alpha, (double)p.t));
    }

    /* every tensor is checked before any output is allocated */
    for (size_t i = 0; i < n; i++) {
        const oq_tensor *xt = NULL;
        for (size_t g = 0; g < groups; g++) {
            size_t in = 2 + g * n + i;
            const oq_tensor *t;
            if ((st = float_in(ctx, in, names[kind][g], &t)))
                return st;
            if (!g)
                xt = t;
            else if (!same_shape(t, xt))
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "input %zu (%s of tensor %zu) has shape %s, "
                                "X has %s; they must be equal", in,
                                names[kind][g], i, oq_shape_str(t, s1, sizeof s1),
                                oq_shape_str(xt, s2, sizeof s2));
        }
    }

    for (size_t i = 0; i < n; i++) {
        const oq_tensor *x = ctx->in[2 + i], *g = ctx->in[2 + n + i];
        const oq_tensor *s = ctx->in[2 + 2 * n + i];
        const oq_tensor *h2 = kind == OPT_ADAM ? ctx->in[2 + 3 * n + i] : NULL;
        /* outputs: X' at i, the first state at n + i, Adam's H' at 2n + i;
         * the ones the node does not declare are not computed */
        oq_tensor *xo = NULL, *so = NULL, *ho = NULL;
        if (i < ctx->n_out &&
            !(xo = oq_output(ctx, i, x->dtype, x->rank, x->dims)))
            return oq_failed(ctx);
        if (n + i < ctx->n_out &&
            !(so = oq_output(ctx, n + i, s->dtype, s->rank, s->dims)))
            return oq_failed(ctx);
        if (h2 && 2 * n + i < ctx->n_out &&
            !(ho = oq_output(ctx, 2 * n + i, h2->dtype, h2->rank, h2->dims)))
            return oq_failed(ctx);
        size_t cnt = oq_numel(x);
        for (size_t e = 0; e < cnt; e++) {
            double xv = oq_get_f64(x, e), sv = oq_get_f64(s, e);
            double gr = p.norm * xv + oq_get_f64(g, e);
            double xn, sn, hn = 0;
            if (kind == OPT_ADAGRAD) {
                sn = sv + gr * gr;
                xn = xv - p.r * gr / (sqrt(sn) + p.eps);
            } else if (kind == OPT_MOMENTUM) {
                /* the first step (T = 0) takes the whole gradient */
                sn = p.alpha * sv + (p.t > 0 ? p.beta : 1.0) * gr;
                xn = p.nesterov ? xv - p.r * (gr + p.alpha * sn)
                                : xv - p.r * sn;
            } else {
                sn = p.alpha * sv + (1.0 - p.alpha) * gr;
                hn = p.beta * oq_get_f64(h2, e) + (1.0 - p.beta) * gr * gr;
                xn = xv - p.r * sn / (sqrt(hn) + p.eps);
                xn *= 1.0 - p.norm_post;
            }
            if (xo)
                oq_set_f64(xo, e, xn);
            if (so)
                oq_set_f64(so, e, sn);
            if (ho)
                oq_set_f64(ho, e, hn);
        }
    }
    return ONNXQ_OK;
}

static onnxq_status run_adagrad(oq_kctx *ctx)
{
    return run_optimizer(ctx, OPT_ADAGRAD);
}
static onnxq_status run_momentum(oq_kctx *ctx)
{
    return run_optimizer(ctx, OPT_MOMENTUM);
}
static onnxq_status run_adam(oq_kctx *ctx)
{
    return run_optimizer(ctx, OPT_ADAM);
}

/* ---- the table ------------------------------------------------------------------------ */

OQ_KERNEL_TABLE(oq_ref_loss_signal_kernels) = {
    {"", "NegativeLogLikelihoodLoss", 12, 21, run_nll},
    {"", "SoftmaxCrossEntropyLoss", 12, 21, run_sce},
    /* DFT-20 moved axis to an input and changed onesided inverse: not here */
    {"", "DFT", 17, 19, run_dft},
    {"", "STFT", 17, 21, run_stft},
    {"", "HannWindow", 17, 21, run_hann},
    {"", "HammingWindow", 17, 21, run_hamming},
    {"", "BlackmanWindow", 17, 21, run_blackman},
    {"", "MelWeightMatrix", 17, 21, run_mel_weight_matrix},
    {"", "Det", 11, 21, run_det},
    {"ai.onnx.preview.training", "Adagrad", 1, 1, run_adagrad},
    {"ai.onnx.preview.training", "Momentum", 1, 1, run_momentum},
    {"ai.onnx.preview.training", "Adam", 1, 1, run_adam},
    {NULL, NULL, 0, 0, NULL},
};
