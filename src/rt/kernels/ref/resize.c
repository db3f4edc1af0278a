/*
 * resize.c — reference Resize (opsets 10 to 19+) and Upsample (7 to 9).
 *
 * Resizing is separable: along each axis, output coordinate o maps to a
 * position x in the input (coordinate_transformation_mode), and the value
 * there is a weighted sum of a few input samples ("taps") near x — one for
 * nearest, 2 for linear, 4 for cubic, more when antialiasing stretches the
 * filter over a downscale.  An output element is the sum over every
 * combination of its axes' taps of the product of their weights times the
 * input sample, computed in double and rounded once into the output type.
 * nearest copies the chosen element's bytes, so any element type is exact.
 * Integer outputs of linear and cubic are truncated toward zero and
 * saturated, as ONNX Runtime (a static_cast of its float result) and the
 * ONNX reference (astype) both do.
 *
 * Per axis, before the main loop, a table holds each output coordinate's
 * taps (input index, weight) and whether it falls outside the crop of
 * tf_crop_and_resize (then the output is extrapolation_value).  Taps whose
 * weight is exactly 0 are dropped, so an axis that is not resized costs
 * nothing (a NaN next to a sample does not leak through a zero weight).
 *
 * Follows the ONNX reference implementation (onnx/reference/ops/op_resize):
 *   - taps beyond the input repeat the edge sample; exclude_outside gives
 *     them weight 0 and renormalizes the rest;
 *   - antialias (opset 18) on a downscale by s evaluates the linear or cubic
 *     kernel at s * distance over a footprint widened by 1/s, weights
 *     normalized to sum 1;
 *   - output size = floor(in * scale) with scales, sizes as given (with
 *     keep_aspect_ratio_policy: one scale for all listed axes, sizes
 *     rounded half up); the coordinate transform uses the given scales, or
 *     output / input when sizes are given, and takes the "resized length"
 *     as the unrounded in * scale.
 * Resize-10 and Upsample map coordinates as x = o / scale, and nearest
 * takes floor(x), or ceil(x) along an axis that shrinks (as ONNX Runtime
 * does for these versions, which had no nearest_mode).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum { T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

/* ---- parameters ------------------------------------------------------------- */

typedef enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC } resize_mode;

typedef enum {
    CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE
} coord_mode;

typedef enum {
    NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL,
    NM_LEGACY /* Resize-10, Upsample: floor, ceil when shrinking */
} nearest_mode;

typedef struct resize_args {
    resize_mode mode;
    coord_mode coord;
    nearest_mode nearest;
    double cubic_a;
    int exclude_outside;
    int antialias;
    double extrapolation;
    int rank;
    int64_t in[OQ_MAX_RANK], out[OQ_MAX_RANK];
    double scale[OQ_MAX_RANK];      /* for the coordinate transform */
    double length[OQ_MAX_RANK];     /* in * scale, unrounded: the "resized
                                       length" of the transforms */
    double roi_start[OQ_MAX_RANK];  /* tf_crop_and_resize crop, normalized */
    double roi_end[OQ_MAX_RANK];
} resize_args;

/* Looks s up in names (NULL-terminated); -1 if absent. */
static int lookup(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static onnxq_status read_mode(oq_kctx *ctx, resize_args *r, int legacy)
{
    static const char *const modes[] = {"nearest", "linear", "cubic",
                                        "bilinear", NULL};
    char buf[64];
    const char *s = oq_attr_string(ctx, "mode", "nearest", buf, sizeof buf);
    int m = lookup(s, modes);
    /* "bilinear" is Upsample-7's old spelling of linear; cubic came with
     * Resize-11 */
    if (m == 3 && legacy)
        m = 1;
    if (m < 0 || m == 3 || (legacy && m == 2))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "mode '%s' is not one of nearest, linear%s", s,
                        legacy ? "" : ", cubic");
    r->mode = (resize_mode)m;
    return ONNXQ_OK;
}

/* Resize-11+ attributes (legacy versions keep the defaults set by the
 * caller). */
static onnxq_status read_attrs(oq_kctx *ctx, resize_args *r)
{
    static const char *const coords[] = {
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
        "align_corners", "asymmetric", "tf_half_pixel_for_nn",
        "tf_crop_and_resize", NULL};
    static const char *const nearests[] = {
        "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
    char buf[64];
    const char *s = oq_attr_string(ctx, "coordinate_transformation_mode",
                                   "half_pixel", buf, sizeof buf);
    int c = lookup(s, coords);
    if (c < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "coordinate_transformation_mode '%s' is unknown", s);
    r->coord = (coord_mode)c;
    s = oq_attr_string(ctx, "nearest_mode", "round_prefer_floor", buf,
                       sizeof buf);
    c = lookup(s, nearests);
    if (c < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "nearest_mode '%s' is unknown", s);
    r->nearest = (nearest_mode)c;
    r->cubic_a = oq_attr_float(ctx, "cubic_coeff_a", -0.75f);
    r->exclude_outside = oq_attr_int(ctx, "exclude_outside", 0) != 0;
    r->extrapolation = oq_attr_float(ctx, "extrapolation_value", 0.0f);
    r->antialias = oq_attr_int(ctx, "antialias", 0) != 0;
    return ONNXQ_OK;
}

/* Sets out and scale of every axis from per-axis scales (legacy: Upsample
 * and Resize-10, which need scale >= 1 for Upsample only by convention and
 * are not checked for it). */
static onnxq_status apply_scales(oq_kctx *ctx, resize_args *r,
                                 const double *scales, const int *axes,
                                 int n_axes)
{
    for (int i = 0; i < n_axes; i++) {
        int d = axes[i];
        if (!(scales[i] > 0) || isinf(scales[i]))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "scale %g for axis %d must be positive",
                            scales[i], d);
        r->scale[d] = scales[i];
        r->length[d] = (double)r->in[d] * scales[i];
        double o = floor((double)r->in[d] * scales[i]);
        if (o > (double)((int64_t)1 << 40))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "scale %g makes axis %d too large", scales[i], d);
        r->out[d] = (int64_t)o;
    }
    return ONNXQ_OK;
}

/* Reads the axes attribute (opset 18+) into axes; default all dims. */
static onnxq_status read_axes(oq_kctx *ctx, int rank, int *axes, int *n_axes)
{
    const int64_t *v;
    long n = ctx->opset >= 18 ? oq_attr_ints(ctx, "axes", &v) : -1;
    if (n < 0) {
        for (int d = 0; d < rank; d++)
            axes[d] = d;
        *n_axes = rank;
        return ONNXQ_OK;
    }
    if (n > rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axes has %ld values, X has rank %d", n, rank);
    int seen[OQ_MAX_RANK] = {0};
    for (long i = 0; i < n; i++) {
        int64_t a = v[i] < 0 ? v[i] + rank : v[i];
        if (a < 0 || a >= rank || seen[a])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "axes[%ld] = %lld is %s for rank %d", i,
                            (long long)v[i],
                            a >= 0 && a < rank ? "repeated" : "out of range",
                            rank);
        seen[a] = 1;
        axes[i] = (int)a;
    }
    *n_axes = (int)n;
    return ONNXQ_OK;
}

/* Resize-11+: output size and scales from the scales or sizes input (and
 * keep_aspect_ratio_policy), crop from roi. */
static onnxq_status read_sizes(oq_kctx *ctx, resize_args *r)
{
    const oq_tensor *roi = oq_in(ctx, 1), *scales = oq_in(ctx, 2),
                    *sizes = oq_in(ctx, 3);
    int axes[OQ_MAX_RANK], n_axes = 0;
    onnxq_status st = read_axes(ctx, r->rank, axes, &n_axes);
    if (st != ONNXQ_OK)
        return st;
    int have_scales = scales && oq_numel(scales) > 0;
    int have_sizes = sizes && oq_numel(sizes) > 0;
    if (have_scales == have_sizes)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "exactly one of scales and sizes must be given "
                        "(non-empty); got %s",
                        have_scales ? "both" : "neither");
    const oq_tensor *given = have_scales ? scales : sizes;
    if (oq_numel(given) != (size_t)n_axes)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "%s has %zu values, expected %d (%s)",
                        have_scales ? "scales" : "sizes", oq_numel(given),
                        n_axes, n_axes == r->rank ? "X's rank" : "len(axes)");
    if (have_scales) {
        double s[OQ_MAX_RANK];
        for (int i = 0; i < n_axes; i++)
            s[i] = oq_get_f64(scales, (size_t)i);
        st = apply_scales(ctx, r, s, axes, n_axes);
        if (st != ONNXQ_OK)
            return st;
    } else {
        if (sizes->dtype != T_INT64)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "sizes is %s, must be int64",
                            onnxq_dtype_name(sizes->dtype));
        const int64_t *sz = sizes->data;
        for (int i = 0; i < n_axes; i++)
            if (sz[i] < 0 || (sz[i] > 0 && r->in[axes[i]] == 0))
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "sizes[%d] = %lld for an input dim of %lld", i,
                                (long long)sz[i],
                                (long long)r->in[axes[i]]);
        char buf[32];
        const char *policy = ctx->opset >= 18
            ? oq_attr_string(ctx, "keep_aspect_ratio_policy", "stretch", buf,
                             sizeof buf)
            : "stretch";
        if (strcmp(policy, "stretch") == 0) {
            for (int i = 0; i < n_axes; i++) {
                int d = axes[i];
                r->out[d] = sz[i];
                r->scale[d] = r->in[d] ? (double)sz[i] / (double)r->in[d] : 1;
                r->length[d] = (double)sz[i];
            }
        } else if (strcmp(policy, "not_larger") == 0 ||
                   strcmp(policy, "not_smaller") == 0) {
            /* one scale keeps the aspect ratio: the largest that fits in
             * sizes, or the smallest that covers it */
            int larger = policy[4] == 's';
            double s = 0;
            for (int i = 0; i < n_axes; i++) {
                double si = (double)sz[i] / (double)r->in[axes[i]];
                if (i == 0 || (larger ? si > s : si < s))
                    s = si;
            }
            for (int i = 0; i < n_axes; i++) {
                int d = axes[i];
                r->scale[d] = s;
                r->length[d] = s * (double)r->in[d];
                r->out[d] = (int64_t)floor(r->length[d] + 0.5);
            }
        } else {
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "keep_aspect_ratio_policy '%s' is not stretch, "
                            "not_larger or not_smaller", policy);
        }
    }
    if (r->coord == CT_TF_CROP_AND_RESIZE) {
        if (!roi || oq_numel(roi) != (size_t)(2 * n_axes))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "tf_crop_and_resize needs roi with %d values "
                            "(starts, then ends), got %zu", 2 * n_axes,
                            roi ? oq_numel(roi) : (size_t)0);
        for (int i = 0; i < n_axes; i++) {
            r->roi_start[axes[i]] = oq_get_f64(roi, (size_t)i);
            r->roi_end[axes[i]] = oq_get_f64(roi, (size_t)(n_axes + i));
        }
    }
    return ONNXQ_OK;
}

/* ---- per-axis tap tables ---------------------------------------------------- */

typedef struct axis_taps {
    int64_t max;        /* tap slots per output coordinate */
    int64_t *idx;       /* [out * max] input index of each tap */
    double *w;          /* [out * max] weight of each tap */
    int64_t *count;     /* [out] taps in use */
    unsigned char *outside; /* [out] 1: output is extrapolation_value */
} axis_taps;

/* Input position of output coordinate o along axis d. */
static double source_coord(const resize_args *r, int d, int64_t o)
{
    /* len is the unrounded output length in * scale, as in the ONNX
     * reference: with scales that do not divide the input evenly it differs
     * from the integer output size (align_corners, say, then maps the last
     * output short of the last input) */
    double x = (double)o, s = r->scale[d];
    double in = (double)r->in[d], len = r->length[d];
    switch (r->coord) {
    case CT_HALF_PIXEL:
        return (x + 0.5) / s - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        /* centre the sampling grid when out was rounded down from len */
        double adjustment = (double)r->out[d] / len;
        double offset = in / 2 * (1 - adjustment);
        return offset + (x + 0.5) / s - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL:
        return len > 1 ? (x + 0.5) / s - 0.5 : 0;
    case CT_ALIGN_CORNERS:
        return len == 1 ? 0 : x * (in - 1) / (len - 1);
    case CT_ASYMMETRIC:
        return x / s;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / s;
    case CT_TF_CROP_AND_RESIZE: {
        double a = r->roi_start[d], b = r->roi_end[d];
        return len > 1 ? a * (in - 1) + x * (b - a) * (in - 1) / (len - 1)
                       : 0.5 * (a + b) * (in - 1);
    }
    }
    return x;
}

static int64_t nearest_index(nearest_mode m, double x, double scale)
{
    double f = floor(x);
    switch (m) {
    case NM_ROUND_PREFER_FLOOR: return (int64_t)(x - f == 0.5 ? f : round(x));
    case NM_ROUND_PREFER_CEIL: return (int64_t)(x - f == 0.5 ? f + 1 : round(x));
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)ceil(x);
    case NM_LEGACY: return (int64_t)(scale < 1 ? ceil(x) : f);
    }
    return (int64_t)f;
}

/* The interpolation kernel at distance t (in input samples). */
static double kernel_at(resize_mode mode, double a, double t)
{
    t = fabs(t);
    if (mode == MODE_LINEAR)
        return t < 1 ? 1 - t : 0;
    /* Keys' cubic convolution with parameter a */
    if (t <= 1)
        return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2)
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
}

static void free_taps(axis_taps *t)
{
    free(t->idx);
    free(t->w);
    free(t->count);
    free(t->outside);
}

static onnxq_status build_taps(oq_kctx *ctx, const resize_args *r, int d,
                               axis_taps *t)
{
    int64_t in = r->in[d], out = r->out[d];
    double s = r->scale[d];
    /* the kernel reaches 1 (linear) or 2 (cubic) samples each side; an
     * antialiased downscale stretches it by 1/s */
    int support = r->mode == MODE_LINEAR ? 1 : r->mode == MODE_CUBIC ? 2 : 0;
    double ks = r->antialias && s < 1 ? s : 1;
    int64_t first = support ? (int64_t)floor(-support / ks) + 1 : 0;
    t->max = support ? 2 - 2 * first : 1;
    size_t slots = (size_t)(out ? out : 1) * (size_t)t->max;
    t->idx = malloc(slots * sizeof *t->idx);
    t->w = malloc(slots * sizeof *t->w);
    t->count = malloc((size_t)(out ? out : 1) * sizeof *t->count);
    t->outside = malloc((size_t)(out ? out : 1));
    if (!t->idx || !t->w || !t->count || !t->outside)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                        "out of memory for %zu taps of axis %d", slots, d);
    int normalize = r->antialias || r->exclude_outside;
    for (int64_t o = 0; o < out; o++) {
        double x = source_coord(r, d, o);
        int64_t *idx = t->idx + o * t->max;
        double *w = t->w + o * t->max;
        t->outside[o] = r->coord == CT_TF_CROP_AND_RESIZE &&
                        (x < 0 || x > (double)(in - 1));
        t->count[o] = 0;
        if (t->outside[o])
            continue;
        if (r->mode == MODE_NEAREST) {
            int64_t i = nearest_index(r->nearest, x, s);
            idx[0] = i < 0 ? 0 : i >= in ? in - 1 : i;
            w[0] = 1;
            t->count[o] = 1;
            continue;
        }
        double f = floor(x), ratio = x - f, sum = 0;
        int64_t n = 0;
        for (int64_t j = first; j < first + t->max; j++) {
            int64_t pos = (int64_t)f + j;
            double wt = kernel_at(r->mode, r->cubic_a, ks * ((double)j - ratio));
            if (r->exclude_outside && (pos < 0 || pos >= in))
                wt = 0;
            sum += wt;
            if (wt == 0)
                continue;
            /* beyond the edges the edge sample repeats */
            idx[n] = pos < 0 ? 0 : pos >= in ? in - 1 : pos;
            w[n++] = wt;
        }
        if (normalize && sum != 0)
            for (int64_t i = 0; i < n; i++)
                w[i] /= sum;
        t->count[o] = n;
    }
    return ONNXQ_OK;
}

/* ---- the resampling loop ---------------------------------------------------- */

static onnxq_status resample(oq_kctx *ctx, const oq_tensor *x,
                             const resize_args *r)
{
    char a[96];
    for (int d = 0; d < r->rank; d++)
        if (r->in[d] == 0 && r->out[d] > 0)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "X %s: an empty axis %d cannot be resized to %lld",
                            oq_dims_str(r->in, r->rank, a, sizeof a), d,
                            (long long)r->out[d]);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, r->rank, r->out);
    if (!y)
        return oq_failed(ctx);
    axis_taps taps[OQ_MAX_RANK];
    memset(taps, 0, sizeof taps);
    onnxq_status st = ONNXQ_OK;
    for (int d = 0; d < r->rank && st == ONNXQ_OK; d++)
        st = build_taps(ctx, r, d, &taps[d]);
    int64_t in_stride[OQ_MAX_RANK];
    int64_t s = 1;
    for (int d = r->rank - 1; d >= 0; d--) {
        in_stride[d] = s;
        s *= r->in[d];
    }
    size_t es = onnxq_dtype_size(x->dtype);
    int64_t n_out = (int64_t)oq_numel(y);
    int nearest = r->mode == MODE_NEAREST;
    /* the fill value of an extrapolated element, in X's type */
    unsigned char fill[16] = {0};
    if (st == ONNXQ_OK && r->coord == CT_TF_CROP_AND_RESIZE) {
        oq_tensor one = {x->dtype, 0, {0}, fill};
        oq_set_f64(&one, 0, r->extrapolation);
    }
    double *xv = NULL;
    if (st == ONNXQ_OK && !nearest) {
        size_t n = oq_numel(x);
        xv = malloc((n ? n : 1) * sizeof *xv);
        if (!xv)
            st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t i = 0; xv && i < n; i++)
            xv[i] = oq_get_f64(x, i);
    }
    if (st == ONNXQ_OK) {
        int rank = r->rank;
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
        for (int64_t o = 0; o < n_out; o++) {
            /* this element's coordinate along each axis */
            int64_t c[OQ_MAX_RANK], rem = o;
            int outside = 0, empty = 0;
            for (int d = rank - 1; d >= 0; d--) {
                c[d] = rem % r->out[d];
                rem /= r->out[d];
                outside |= taps[d].outside[c[d]];
                empty |= taps[d].count[c[d]] == 0;
            }
            unsigned char *dst = (unsigned char *)y->data + (size_t)o * es;
            if (outside) {
                memcpy(dst, fill, es);
                continue;
            }
            if (empty) /* every tap excluded: nothing to sum (y is zeroed) */
                continue;
            if (nearest) {
                int64_t off = 0;
                for (int d = 0; d < rank; d++)
                    off += taps[d].idx[c[d] * taps[d].max] * in_stride[d];
                memcpy(dst, (const unsigned char *)x->data + (size_t)off * es,
                       es);
                continue;
            }
            /* sum over every combination of the axes' taps */
            int64_t t[OQ_MAX_RANK] = {0};
            double sum = 0;
            for (;;) {
                double wt = 1;
                int64_t off = 0;
                for (int d = 0; d < rank; d++) {
                    int64_t k = c[d] * taps[d].max + t[d];
                    wt *= taps[d].w[k];
                    off += taps[d].idx[k] * in_stride[d];
                }
                sum += wt * xv[off];
                int d = rank - 1;
                for (; d >= 0; d--) {
                    if (++t[d] < taps[d].count[c[d]])
                        break;
                    t[d] = 0;
                }
                if (d < 0)
                    break;
            }
            oq_set_f64(y, (size_t)o, sum);
        }
    }
    free(xv);
    for (int d = 0; d < r->rank; d++)
        free_taps(&taps[d]);
    return st;
}

/* Common checks on X; fills rank, in, and out = in, scale = 1 (for axes
 * left alone). */
static onnxq_status init_args(oq_kctx *ctx, const oq_tensor *x,
                              resize_args *r)
{
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "input X is required");
    if (x->rank < 1 || !onnxq_dtype_size(x->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X is a %s tensor of rank %d; Resize needs a numeric "
                        "tensor of rank >= 1", onnxq_dtype_name(x->dtype),
                        x->rank);
    memset(r, 0, sizeof *r);
    r->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        r->in[d] = r->out[d] = x->dims[d];
        r->scale[d] = 1;
        r->length[d] = (double)x->dims[d];
        r->roi_start[d] = 0;
        r->roi_end[d] = 1;
    }
    r->coord = CT_ASYMMETRIC;
    r->nearest = NM_LEGACY;
    r->cubic_a = -0.75;
    return ONNXQ_OK;
}

/* Resize-10, Upsample-9 (scales input) and Upsample-7 (scales attribute):
 * asymmetric coordinates, legacy nearest rounding. */
static onnxq_status legacy_resize(oq_kctx *ctx, int scales_from_attr)
{
    const oq_tensor *x = oq_in(ctx, 0);
    resize_args r;
    onnxq_status st = init_args(ctx, x, &r);
    if (st == ONNXQ_OK)
        st = read_mode(ctx, &r, 1);
    if (st != ONNXQ_OK)
        return st;
    double s[OQ_MAX_RANK];
    int axes[OQ_MAX_RANK];
    size_t n;
    if (scales_from_attr) {
        const float *v;
        long k = oq_attr_floats(ctx, "scales", &v);
        n = k < 0 ? 0 : (size_t)k;
        for (size_t i = 0; i < n && i < OQ_MAX_RANK; i++)
            s[i] = v[i];
    } else {
        const oq_tensor *sc = oq_in(ctx, 1);
        n = sc ? oq_numel(sc) : 0;
        for (size_t i = 0; i < n && i < OQ_MAX_RANK; i++)
            s[i] = oq_get_f64(sc, i);
    }
    if (n != (size_t)r.rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "scales has %zu values, X has rank %d", n, r.rank);
    for (int d = 0; d < r.rank; d++)
        axes[d] = d;
    st = apply_scales(ctx, &r, s, axes, r.rank);
    return st != ONNXQ_OK ? st : resample(ctx, x, &r);
}

static onnxq_status run_resize(oq_kctx *ctx)
{
    if (ctx->opset < 11)
        return legacy_resize(ctx, 0);
    const oq_tensor *x = oq_in(ctx, 0);
    resize_args r;
    onnxq_status st = init_args(ctx, x, &r);
    if (st == ONNXQ_OK)
        st = read_mode(ctx, &r, 0);
    if (st == ONNXQ_OK)
        st = read_attrs(ctx, &r);
    if (st == ONNXQ_OK)
        st = read_sizes(ctx, &r);
    return st != ONNXQ_OK ? st : resample(ctx, x, &r);
}

static onnxq_status run_upsample(oq_kctx *ctx)
{
    return legacy_resize(ctx, ctx->opset < 9);
}

/* ---- table ------------------------------------------------------------------ */

OQ_KERNEL_TABLE(oq_ref_resize_kernels) = {
    {"", "Resize", 10, 21, run_resize},
    /* Upsample is deprecated from opset 10 on */
    {"", "Upsample", 7, 9, run_upsample},
    {NULL, NULL, 0, 0, NULL},
};
