/*
 * misc.c — reference kernels for ops that belong to no larger family
 * (ai.onnx opsets 7..21):
 *
 *   Dropout            inference only: identity, mask all true
 *   NonMaxSuppression  greedy per (batch, class), ONNX Runtime's order
 *   RoiAlign           avg / max pooling of bilinear samples (10, 16)
 *   GridSample         linear / nearest / cubic, zeros / border / reflection
 *                      padding (16; 20 adds N-D and the new mode names)
 *   MaxUnpool          scatter by MaxPool's flat indices
 *   Col2Im             sum of sliding blocks back into an image (18)
 *   CenterCropPad      centred crop and zero pad per axis (18)
 *
 * Float work is done in double and rounded once when written, except where
 * a discrete decision must match ONNX Runtime: NonMaxSuppression's IoU test
 * and RoiAlign's sample-grid geometry are computed with float rounding, as
 * ORT does for float tensors.  Where the spec leaves details open (RoiAlign
 * sampling and max mode, GridSample padding of cubic taps, NMS ordering)
 * the code follows ORT's CPU kernels, the project's oracle; deviations of
 * ORT from the spec that onnxq does not copy are noted where they occur.
 *
 * Not here, on purpose: Scan (needs subgraph execution: the executor's
 * job), Bernoulli and the Random* ops (nondeterministic).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    DT_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    DT_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    DT_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    DT_STRING = ONNX__TENSOR_PROTO__DATA_TYPE__STRING,
};

/* ---- helpers ------------------------------------------------------------- */

/* Reads a one-element tensor (rank 0 or [1]) as double; 0 if it is not. */
static int scalar_f64(const oq_tensor *t, double *v)
{
    if (!t || oq_numel(t) != 1 || t->dtype == DT_STRING)
        return -1;
    *v = oq_get_f64(t, 0);
    return 0;
}

/* ---- Dropout ------------------------------------------------------------- */

/* Inference Dropout passes data through; the mask says every element was
 * kept.  (ONNX Runtime writes an all-false mask for opsets 7..11 — an
 * artefact of reusing its Identity kernel; the spec's mask is 1 = kept, and
 * opset 12+ ORT agrees, so onnxq writes true for every opset.)  Training
 * mode with a non-zero ratio needs random numbers: unsupported. */
static onnxq_status run_dropout(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "input data is required");
    if (x->dtype == DT_STRING || !onnxq_dtype_size(x->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "data type %s",
                        onnxq_dtype_name(x->dtype));
    double ratio = oq_attr_float(ctx, "ratio", 0.5f);
    int training = 0;
    if (ctx->opset >= 12) {
        const oq_tensor *r = oq_in(ctx, 1), *tm = oq_in(ctx, 2);
        ratio = 0.5;
        if (r && scalar_f64(r, &ratio) != 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "ratio must be a scalar");
        if (tm) {
            double v;
            if (scalar_f64(tm, &v) != 0)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "training_mode must be a scalar bool");
            training = v != 0;
        }
    }
    if (!(ratio >= 0 && ratio < 1))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "ratio %g is outside [0, 1)", ratio);
    if (training && ratio != 0)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "training mode with ratio %g drops random elements; "
                        "onnxq runs inference only", ratio);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t n = oq_numel(x);
    if (n)
        memcpy(y->data, x->data, n * onnxq_dtype_size(x->dtype));
    if (ctx->n_out > 1) {
        /* opsets 7..9 type the mask like the data, later ones as bool */
        int32_t mt = ctx->opset >= 10 ? DT_BOOL : x->dtype;
        oq_tensor *m = oq_output(ctx, 1, mt, x->rank, x->dims);
        if (!m)
            return oq_failed(ctx);
        for (size_t i = 0; i < n; i++)
            oq_set_f64(m, i, 1.0);
    }
    return ONNXQ_OK;
}

/* ---- NonMaxSuppression --------------------------------------------------- */

typedef struct nms_cand {
    float score;
    int64_t box;
} nms_cand;

/* Highest score first; equal scores by lower box index (ORT's heap order). */
static int nms_cmp(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->box > b->box) - (a->box < b->box);
}

/* Corners (lo/hi per axis) of a box in either encoding. */
static void nms_corners(const float *b, int center, float *x0, float *x1,
                        float *y0, float *y1)
{
    if (center) { /* [x_center, y_center, width, height] */
        float hw = b[2] / 2, hh = b[3] / 2;
        *x0 = b[0] - hw;
        *x1 = b[0] + hw;
        *y0 = b[1] - hh;
        *y1 = b[1] + hh;
    } else {      /* [y1, x1, y2, x2], either diagonal */
        *y0 = fminf(b[0], b[2]);
        *y1 = fmaxf(b[0], b[2]);
        *x0 = fminf(b[1], b[3]);
        *x1 = fmaxf(b[1], b[3]);
    }
}

/* 1 if box a suppresses box b: IoU strictly above the threshold.  float
 * arithmetic in ORT's order so borderline decisions agree. */
static int nms_suppresses(const float *a, const float *b, int center,
                          float iou_threshold)
{
    float ax0, ax1, ay0, ay1, bx0, bx1, by0, by1;
    nms_corners(a, center, &ax0, &ax1, &ay0, &ay1);
    nms_corners(b, center, &bx0, &bx1, &by0, &by1);
    float ix0 = fmaxf(ax0, bx0), ix1 = fminf(ax1, bx1);
    if (ix1 <= ix0)
        return 0;
    float iy0 = fmaxf(ay0, by0), iy1 = fminf(ay1, by1);
    if (iy1 <= iy0)
        return 0;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    if (inter <= 0)
        return 0;
    float area_a = (ax1 - ax0) * (ay1 - ay0);
    float area_b = (bx1 - bx0) * (by1 - by0);
    float uni = area_a + area_b - inter;
    if (area_a <= 0 || area_b <= 0 || uni <= 0)
        return 0;
    return inter / uni > iou_threshold;
}

static onnxq_status run_nms(oq_kctx *ctx)
{
    const oq_tensor *boxes = oq_in(ctx, 0), *scores = oq_in(ctx, 1);
    if (!boxes || !scores)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "boxes and scores are required");
    if (!oq_is_float(boxes->dtype) || !oq_is_float(scores->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "boxes and scores must be float tensors");
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 ||
        scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "boxes must be [batches, boxes, 4] and scores "
                        "[batches, classes, boxes]");
    int64_t center = oq_attr_int(ctx, "center_point_box", 0);
    if (center != 0 && center != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "center_point_box %lld is not 0 or 1",
                        (long long)center);
    int64_t max_per_class = 0;
    const oq_tensor *mt = oq_in(ctx, 2);
    if (mt) {
        if (oq_numel(mt) != 1 || !oq_is_index(mt->dtype))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "max_output_boxes_per_class must be one int64");
        max_per_class = oq_get_i64(mt, 0);
        if (max_per_class < 0)
            max_per_class = 0;
    }
    double iou = 0, score_thr = 0;
    int has_score_thr = 0;
    if (oq_in(ctx, 3) && scalar_f64(oq_in(ctx, 3), &iou) != 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "iou_threshold must be one float");
    if (!(iou >= 0 && iou <= 1))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "iou_threshold %g is outside [0, 1]", iou);
    if (oq_in(ctx, 4)) {
        if (scalar_f64(oq_in(ctx, 4), &score_thr) != 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "score_threshold must be one float");
        has_score_thr = 1;
    }
    int64_t nb = boxes->dims[0], nbox = boxes->dims[1], ncls = scores->dims[1];
    if (max_per_class > nbox)
        max_per_class = nbox;
    float fiou = (float)iou, fthr = (float)score_thr;

    onnxq_status st = ONNXQ_OK;
    float *bx = malloc((size_t)(nb * nbox * 4 + 1) * sizeof *bx);
    nms_cand *cand = malloc((size_t)(nbox + 1) * sizeof *cand);
    int64_t *kept = malloc((size_t)(nbox + 1) * sizeof *kept);
    size_t cap = (size_t)(nb * ncls) * (size_t)max_per_class;
    int64_t *sel = malloc((cap + 1) * 3 * sizeof *sel);
    size_t n_sel = 0;
    if (!bx || !cand || !kept || !sel) {
        st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for %lld "
                      "boxes", (long long)(nb * nbox));
        goto done;
    }
    for (size_t i = 0; i < (size_t)(nb * nbox * 4); i++)
        bx[i] = (float)oq_get_f64(boxes, i);
    for (int64_t b = 0; b < nb && max_per_class > 0; b++) {
        const float *bb = bx + b * nbox * 4;
        for (int64_t c = 0; c < ncls; c++) {
            size_t base = (size_t)((b * ncls + c) * nbox), n_cand = 0;
            for (int64_t i = 0; i < nbox; i++) {
                float s = (float)oq_get_f64(scores, base + (size_t)i);
                if (!has_score_thr || s > fthr) {
                    cand[n_cand].score = s;
                    cand[n_cand].box = i;
                    n_cand++;
                }
            }
            qsort(cand, n_cand, sizeof *cand, nms_cmp);
            int64_t n_kept = 0;
            for (size_t k = 0; k < n_cand && n_kept < max_per_class; k++) {
                int64_t i = cand[k].box;
                int keep = 1;
                for (int64_t j = 0; j < n_kept && keep; j++)
                    if (nms_suppresses(bb + i * 4, bb + kept[j] * 4,
                                       (int)center, fiou))
                        keep = 0;
                if (!keep)
                    continue;
                kept[n_kept++] = i;
                sel[n_sel * 3] = b;
                sel[n_sel * 3 + 1] = c;
                sel[n_sel * 3 + 2] = i;
                n_sel++;
            }
        }
    }
    int64_t od[2] = {(int64_t)n_sel, 3};
    oq_tensor *y = oq_output(ctx, 0, DT_INT64, 2, od);
    if (!y) {
        st = oq_failed(ctx);
        goto done;
    }
    if (n_sel)
        memcpy(y->data, sel, n_sel * 3 * sizeof *sel);
done:
    free(bx);
    free(cand);
    free(kept);
    free(sel);
    return st;
}

/* ---- RoiAlign ------------------------------------------------------------ */

/* One bilinear sample: four flat positions in the feature map and their
 * weights (all zero for a sample outside the map). */
typedef struct roi_sample {
    int64_t pos[4];
    double w[4];
} roi_sample;

/* v rounded to float when the tensor is single precision: ORT computes the
 * RoiAlign geometry in the tensor's type, and the sample count
 * ceil(roi_h / out_h) can differ between float and double, so every step
 * of the geometry is rounded like a float operation would be (one double
 * operation then one rounding gives the float result exactly). */
static double fl(double v, int single)
{
    return single ? (double)(float)v : v;
}

/* The bilinear sample at (y, x) of an H x W map, with ORT's rules: points
 * beyond one pixel outside are empty, others are clamped into the map. */
static roi_sample roi_bilinear(double y, double x, int64_t H, int64_t W,
                               int single)
{
    roi_sample s;
    memset(&s, 0, sizeof s);
    if (!(y >= -1.0 && y <= (double)H && x >= -1.0 && x <= (double)W))
        return s; /* outside, or NaN */
    if (y <= 0)
        y = 0;
    if (x <= 0)
        x = 0;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= H - 1) {
        y0 = y1 = H - 1;
        y = (double)y0;
    } else {
        y1 = y0 + 1;
    }
    if (x0 >= W - 1) {
        x0 = x1 = W - 1;
        x = (double)x0;
    } else {
        x1 = x0 + 1;
    }
    double ly = fl(y - (double)y0, single), lx = fl(x - (double)x0, single);
    double hy = fl(1 - ly, single), hx = fl(1 - lx, single);
    s.pos[0] = y0 * W + x0;
    s.pos[1] = y0 * W + x1;
    s.pos[2] = y1 * W + x0;
    s.pos[3] = y1 * W + x1;
    s.w[0] = fl(hy * hx, single);
    s.w[1] = fl(hy * lx, single);
    s.w[2] = fl(ly * hx, single);
    s.w[3] = fl(ly * lx, single);
    return s;
}

/* Where roi r starts, its bin size and its sample grid per bin (gh x gw,
 * as doubles so absurd sizes can be rejected before any int conversion). */
typedef struct roi_geom {
    double x0, y0, bin_h, bin_w, gh, gw;
} roi_geom;

static roi_geom roi_geometry(const oq_tensor *rois, int64_t r, double scale,
                             int half_pixel, int64_t oh, int64_t ow,
                             int64_t ratio, int single)
{
    roi_geom g;
    double offset = half_pixel ? 0.5 : 0.0, c[4];
    for (int j = 0; j < 4; j++)
        c[j] = fl(fl(oq_get_f64(rois, (size_t)(r * 4 + j)) * scale, single) -
                  offset, single);
    double rw = fl(c[2] - c[0], single), rh = fl(c[3] - c[1], single);
    if (!half_pixel) {
        /* the old behaviour forces malformed rois to 1x1 */
        rw = fmax(rw, 1.0);
        rh = fmax(rh, 1.0);
    }
    g.x0 = c[0];
    g.y0 = c[1];
    g.bin_h = fl(rh / (double)oh, single);
    g.bin_w = fl(rw / (double)ow, single);
    g.gh = ratio > 0 ? (double)ratio : ceil(g.bin_h);
    g.gw = ratio > 0 ? (double)ratio : ceil(g.bin_w);
    /* an inverted roi samples nothing (NaN compares false and stays) */
    if (g.gh < 0)
        g.gh = 0;
    if (g.gw < 0)
        g.gw = 0;
    return g;
}

static onnxq_status run_roialign(oq_kctx *ctx)
{
    const oq_tensor *X = oq_in(ctx, 0), *rois = oq_in(ctx, 1),
                    *bi = oq_in(ctx, 2);
    if (!X || !rois || !bi)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "X, rois and batch_indices are required");
    if (!oq_is_float(X->dtype) || !oq_is_float(rois->dtype) ||
        !oq_is_index(bi->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X and rois must be float, batch_indices int64 (got "
                        "%s, %s, %s)", onnxq_dtype_name(X->dtype),
                        onnxq_dtype_name(rois->dtype),
                        onnxq_dtype_name(bi->dtype));
    if (X->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 ||
        bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be [N, C, H, W], rois [num_rois, 4] and "
                        "batch_indices [num_rois]");
    char buf[32];
    const char *mode = oq_attr_string(ctx, "mode", "avg", buf, sizeof buf);
    int is_max = strcmp(mode, "max") == 0;
    if (!is_max && strcmp(mode, "avg") != 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "mode '%s' is not avg or max", mode);
    /* opset 10 had no attribute and behaved as output_half_pixel */
    int half_pixel = 0;
    if (ctx->opset >= 16) {
        char cbuf[32];
        const char *ctm = oq_attr_string(ctx, "coordinate_transformation_mode",
                                         "half_pixel", cbuf, sizeof cbuf);
        if (strcmp(ctm, "half_pixel") == 0)
            half_pixel = 1;
        else if (strcmp(ctm, "output_half_pixel") != 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "coordinate_transformation_mode '%s' is not "
                            "half_pixel or output_half_pixel", ctm);
    }
    int64_t oh = oq_attr_int(ctx, "output_height", 1);
    int64_t ow = oq_attr_int(ctx, "output_width", 1);
    int64_t ratio = oq_attr_int(ctx, "sampling_ratio", 0);
    double scale = oq_attr_float(ctx, "spatial_scale", 1.0f);
    if (oh <= 0 || ow <= 0 || ratio < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "output_height %lld, output_width %lld must be "
                        "positive and sampling_ratio %lld not negative",
                        (long long)oh, (long long)ow, (long long)ratio);
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    int64_t R = rois->dims[0];
    for (int64_t r = 0; r < R; r++) {
        int64_t b = oq_get_i64(bi, (size_t)r);
        if (b < 0 || b >= N)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "batch_indices[%lld] = %lld is outside [0, %lld)",
                            (long long)r, (long long)b, (long long)N);
    }
    int64_t od[4] = {R, C, oh, ow};
    oq_tensor *y = oq_output(ctx, 0, X->dtype, 4, od);
    if (!y)
        return oq_failed(ctx);
    if (!R || !C || (N * C * H * W) == 0)
        return ONNXQ_OK;
    double *x = oq_load_f64(NULL, X);
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int single = X->dtype != DT_DOUBLE;
    /* the sample grid is data-dependent: check every roi's size first, so
     * the parallel loop below cannot fail except for memory */
    for (int64_t r = 0; r < R; r++) {
        roi_geom gm = roi_geometry(rois, r, scale, half_pixel, oh, ow, ratio,
                                   single);
        if (!(gm.gh <= 65536 && gm.gw <= 65536 &&
              (double)oh * (double)ow * gm.gh * gm.gw <= 0x1p31)) {
            free(x);
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "roi %lld needs a %g x %g sample grid per bin, "
                            "above onnxq's limit", (long long)r, gm.gh, gm.gw);
        }
    }
    int failed = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(dynamic) \
    if (R > 1)
#endif
    for (int64_t r = 0; r < R; r++) {
        roi_geom gm = roi_geometry(rois, r, scale, half_pixel, oh, ow, ratio,
                                   single);
        int64_t gh = (int64_t)gm.gh, gw = (int64_t)gm.gw;
        double count = (double)(gh * gw > 1 ? gh * gw : 1);
        /* samples are shared by every channel */
        roi_sample *smp = malloc((size_t)(oh * ow * gh * gw + 1) * sizeof *smp);
        if (!smp) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            failed = 1;
            continue;
        }
        size_t k = 0;
        for (int64_t ph = 0; ph < oh; ph++)
            for (int64_t pw = 0; pw < ow; pw++)
                for (int64_t iy = 0; iy < gh; iy++) {
                    /* start + p * bin + (i + 0.5) * bin / grid, in ORT's
                     * order of operations */
                    double yy = fl(fl(gm.y0 + fl((double)ph * gm.bin_h, single),
                                      single) +
                                   fl(fl(((double)iy + 0.5) * gm.bin_h,
                                         single) / (double)gh, single),
                                   single);
                    for (int64_t ix = 0; ix < gw; ix++) {
                        double xx = fl(fl(gm.x0 + fl((double)pw * gm.bin_w,
                                                     single), single) +
                                       fl(fl(((double)ix + 0.5) * gm.bin_w,
                                             single) / (double)gw, single),
                                       single);
                        smp[k++] = roi_bilinear(yy, xx, H, W, single);
                    }
                }
        int64_t b = oq_get_i64(bi, (size_t)r);
        for (int64_t c = 0; c < C; c++) {
            const double *plane = x + (b * C + c) * H * W;
            size_t out = (size_t)((r * C + c) * oh * ow);
            k = 0;
            for (int64_t p = 0; p < oh * ow; p++) {
                double acc = 0;
                for (int64_t s = 0; s < gh * gw; s++, k++) {
                    const roi_sample *q = &smp[k];
                    if (is_max) {
                        /* ORT's max mode: the largest weighted corner, not
                         * the largest interpolated value (ONNX's reference
                         * implementation does the same) */
                        double v = q->w[0] * plane[q->pos[0]];
                        for (int j = 1; j < 4; j++)
                            v = fmax(v, q->w[j] * plane[q->pos[j]]);
                        acc = s == 0 ? v : fmax(acc, v);
                    } else {
                        for (int j = 0; j < 4; j++)
                            acc += q->w[j] * plane[q->pos[j]];
                    }
                }
                oq_set_f64(y, out + (size_t)p, is_max ? acc : acc / count);
            }
        }
        free(smp);
    }
    free(x);
    if (failed)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    return ONNXQ_OK;
}

/* ---- GridSample ---------------------------------------------------------- */

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };
enum { GS_MAX_DIMS = 3 };

typedef struct gs_cfg {
    int mode, padding, align;
    int r;                        /* spatial dims */
    int64_t len[GS_MAX_DIMS];     /* input spatial sizes, outermost first */
    double lo[GS_MAX_DIMS], hi[GS_MAX_DIMS]; /* in-bounds coordinate range */
} gs_cfg;

/* Normalized [-1, 1] to pixel coordinates. */
static double gs_denormalize(double v, int64_t len, int align)
{
    return align ? (v + 1) / 2 * (double)(len - 1)
                 : ((v + 1) * (double)len - 1) / 2;
}

/* Reflects v at lo and hi until it lies between them. */
static double gs_reflect(double v, double lo, double hi)
{
    double range = hi - lo;
    if (range <= 0)
        return lo;
    if (v < lo) {
        double d = lo - v;
        double n = floor(d / range), rem = d - n * range;
        return fmod(n, 2) == 0 ? lo + rem : hi - rem;
    }
    if (v > hi) {
        double d = v - hi;
        double n = floor(d / range), rem = d - n * range;
        return fmod(n, 2) == 0 ? hi - rem : lo + rem;
    }
    return v;
}

/* floor/nearbyint result as an index; NaN and huge values (from a bad
 * grid) become a far-outside index instead of undefined behaviour. */
static int64_t gs_index(double v)
{
    const int64_t far = INT64_C(1) << 52;
    if (!(v > -0x1p52 && v < 0x1p52))
        return v < 0 ? -far : far;
    return (int64_t)v;
}

/* Pixel at integer position idx[] of one plane, padding applied per dim. */
static double gs_pixel(const gs_cfg *g, const double *plane,
                       const int64_t *idx)
{
    size_t flat = 0;
    for (int d = 0; d < g->r; d++) {
        int64_t i = idx[d], n = g->len[d];
        if (g->padding == GS_ZEROS) {
            if (i < 0 || i >= n)
                return 0;
        } else if (g->padding == GS_BORDER) {
            i = i < 0 ? 0 : i >= n ? n - 1 : i;
        } else {
            i = (int64_t)gs_reflect((double)i, g->lo[d], g->hi[d]);
            i = i < 0 ? 0 : i >= n ? n - 1 : i; /* guards rounding only */
        }
        flat = flat * (size_t)n + (size_t)i;
    }
    return plane[flat];
}

/* Keys' cubic convolution weights (A = -0.75) for fraction t in [0, 1). */
static void gs_cubic_weights(double t, double w[4])
{
    const double A = -0.75;
    double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
    w[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
    w[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    w[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
    w[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

/* Value of one plane at pixel coordinates pos[] (outermost dim first). */
static double gs_sample(const gs_cfg *g, const double *plane,
                        const double *pos)
{
    int r = g->r;
    /* Padding applies to each integer tap, never to the coordinate itself
     * (ORT and PyTorch; clamping the coordinate first would change cubic
     * results near the border). */
    int64_t idx[GS_MAX_DIMS] = {0};
    if (g->mode == GS_NEAREST) {
        for (int d = 0; d < r; d++)
            idx[d] = gs_index(nearbyint(pos[d]));
        return gs_pixel(g, plane, idx);
    }
    int64_t base[GS_MAX_DIMS];
    double frac[GS_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        double f = floor(pos[d]);
        base[d] = gs_index(f);
        frac[d] = pos[d] - f;
    }
    double acc = 0;
    if (g->mode == GS_LINEAR) {
        for (int corner = 0; corner < (1 << r); corner++) {
            double w = 1;
            for (int d = 0; d < r; d++) {
                int up = (corner >> (r - 1 - d)) & 1;
                idx[d] = base[d] + up;
                w *= up ? frac[d] : 1 - frac[d];
            }
            if (w != 0)
                acc += w * gs_pixel(g, plane, idx);
        }
        return acc;
    }
    /* cubic, 2-D: rows of 4 taps, then the 4 row results */
    double wy[4], wx[4];
    gs_cubic_weights(frac[0], wy);
    gs_cubic_weights(frac[1], wx);
    for (int i = 0; i < 4; i++) {
        double row = 0;
        idx[0] = base[0] - 1 + i;
        for (int j = 0; j < 4; j++) {
            idx[1] = base[1] - 1 + j;
            row += wx[j] * gs_pixel(g, plane, idx);
        }
        acc += wy[i] * row;
    }
    return acc;
}

static onnxq_status run_gridsample(oq_kctx *ctx)
{
    const oq_tensor *X = oq_in(ctx, 0), *grid = oq_in(ctx, 1);
    if (!X || !grid)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "X and grid are required");
    if (X->dtype == DT_STRING || !onnxq_dtype_size(X->dtype) ||
        !oq_is_float(grid->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X must be numeric and grid float (got %s, %s)",
                        onnxq_dtype_name(X->dtype),
                        onnxq_dtype_name(grid->dtype));
    gs_cfg g;
    memset(&g, 0, sizeof g);
    g.r = X->rank - 2;
    int max_r = ctx->opset >= 20 ? GS_MAX_DIMS : 2;
    if (g.r < 1 || g.r > max_r || grid->rank != X->rank ||
        grid->dims[0] != X->dims[0] || grid->dims[X->rank - 1] != g.r)
        return oq_kfail(ctx, g.r > max_r ? ONNXQ_ERR_UNSUPPORTED
                                         : ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be [N, C, spatial...] with 1 to %d spatial "
                        "dims at opset %lld and grid [N, out spatial..., "
                        "%d] (X rank %d, grid rank %d)", max_r,
                        (long long)ctx->opset, g.r, X->rank, grid->rank);
    /* opset 16 spelled the modes bilinear / bicubic */
    int new_names = ctx->opset >= 20;
    char mbuf[32], pbuf[32];
    const char *mode = oq_attr_string(ctx, "mode",
                                      new_names ? "linear" : "bilinear",
                                      mbuf, sizeof mbuf);
    if (strcmp(mode, new_names ? "linear" : "bilinear") == 0)
        g.mode = GS_LINEAR;
    else if (strcmp(mode, "nearest") == 0)
        g.mode = GS_NEAREST;
    else if (strcmp(mode, new_names ? "cubic" : "bicubic") == 0)
        g.mode = GS_CUBIC;
    else
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "mode '%s' is not valid at opset %lld", mode,
                        (long long)ctx->opset);
    if (g.mode == GS_CUBIC && g.r != 2)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "cubic mode needs 2 spatial dims, X has %d", g.r);
    const char *pad = oq_attr_string(ctx, "padding_mode", "zeros", pbuf,
                                     sizeof pbuf);
    if (strcmp(pad, "zeros") == 0)
        g.padding = GS_ZEROS;
    else if (strcmp(pad, "border") == 0)
        g.padding = GS_BORDER;
    else if (strcmp(pad, "reflection") == 0)
        g.padding = GS_REFLECTION;
    else
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "padding_mode '%s' is not zeros, border or "
                        "reflection", pad);
    g.align = oq_attr_int(ctx, "align_corners", 0) != 0;
    for (int d = 0; d < g.r; d++) {
        g.len[d] = X->dims[2 + d];
        g.lo[d] = g.align ? 0 : -0.5;
        g.hi[d] = g.align ? (double)(g.len[d] - 1) : (double)g.len[d] - 0.5;
    }
    int64_t od[OQ_MAX_RANK];
    od[0] = X->dims[0];
    od[1] = X->dims[1];
    for (int d = 0; d < g.r; d++)
        od[2 + d] = grid->dims[1 + d];
    oq_tensor *y = oq_output(ctx, 0, X->dtype, X->rank, od);
    if (!y)
        return oq_failed(ctx);
    size_t in_plane = oq_numel_dims(X->dims + 2, g.r);
    size_t out_plane = oq_numel_dims(od + 2, g.r);
    int64_t N = X->dims[0], C = X->dims[1];
    if (!N || !C || !out_plane)
        return ONNXQ_OK;
    if (!in_plane) {
        /* nothing to sample from: every read would be padding */
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X has an empty spatial dimension");
    }
    double *x = oq_load_f64(NULL, X);
    if (!x)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
#ifdef _OPENMP
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static) \
    if (N * C > 1)
#endif
    for (int64_t nc = 0; nc < N * C; nc++) {
        int64_t n = nc / C;
        const double *plane = x + (size_t)nc * in_plane;
        for (size_t p = 0; p < out_plane; p++) {
            double pos[GS_MAX_DIMS];
            size_t gbase = ((size_t)n * out_plane + p) * (size_t)g.r;
            /* grid's last axis lists x (innermost dim) first */
            for (int d = 0; d < g.r; d++) {
                int dim = g.r - 1 - d;
                pos[dim] = gs_denormalize(oq_get_f64(grid, gbase + (size_t)d),
                                          g.len[dim], g.align);
            }
            oq_set_f64(y, (size_t)nc * out_plane + p,
                       gs_sample(&g, plane, pos));
        }
    }
    free(x);
    return ONNXQ_OK;
}

/* ---- MaxUnpool ----------------------------------------------------------- */

/* Y.flat[I[i]] = X[i] over the whole output tensor, as ONNX Runtime and
 * PyTorch do.  With output_shape larger than the inferred shape the flat
 * indices are taken in output_shape (the ONNX 1.12 backend test expects
 * coordinates kept instead; see onnx/onnx#2398). */
static onnxq_status run_maxunpool(oq_kctx *ctx)
{
    const oq_tensor *X = oq_in(ctx, 0), *I = oq_in(ctx, 1),
                    *shape = oq_in(ctx, 2);
    if (!X || !I)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "X and I are required");
    if (X->dtype == DT_STRING || !onnxq_dtype_size(X->dtype) ||
        I->dtype != DT_INT64)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X must be numeric and I int64 (got %s, %s)",
                        onnxq_dtype_name(X->dtype), onnxq_dtype_name(I->dtype));
    if (X->rank < 3 || I->rank != X->rank ||
        memcmp(I->dims, X->dims, (size_t)X->rank * sizeof *X->dims) != 0)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be [N, C, spatial...] and I the same shape");
    int r = X->rank - 2;
    const int64_t *kernel, *pads = NULL, *strides = NULL;
    if (oq_attr_ints(ctx, "kernel_shape", &kernel) != r)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "kernel_shape must list %d sizes", r);
    long np = oq_attr_ints(ctx, "pads", &pads);
    long ns = oq_attr_ints(ctx, "strides", &strides);
    if ((np >= 0 && np != 2 * r) || (ns >= 0 && ns != r))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "pads must list %d and strides %d values", 2 * r, r);
    int64_t od[OQ_MAX_RANK];
    od[0] = X->dims[0];
    od[1] = X->dims[1];
    for (int d = 0; d < r; d++) {
        int64_t s = ns > 0 ? strides[d] : 1;
        int64_t pb = np > 0 ? pads[d] : 0, pe = np > 0 ? pads[r + d] : 0;
        if (s <= 0 || kernel[d] <= 0 || pb < 0 || pe < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "kernel_shape and strides must be positive, pads "
                            "not negative");
        od[2 + d] = (X->dims[2 + d] - 1) * s + kernel[d] - pb - pe;
    }
    if (shape) {
        if (!oq_is_index(shape->dtype) || shape->rank != 1 ||
            shape->dims[0] != X->rank)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "output_shape must be int64 [%d]", X->rank);
        for (int d = 0; d < X->rank; d++)
            od[d] = oq_get_i64(shape, (size_t)d);
        if (od[0] != X->dims[0] || od[1] != X->dims[1])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "output_shape must keep N and C of X");
    }
    oq_tensor *y = oq_output(ctx, 0, X->dtype, X->rank, od);
    if (!y)
        return oq_failed(ctx);
    size_t n = oq_numel(X), total = oq_numel(y);
    size_t es = onnxq_dtype_size(X->dtype);
    const int64_t *idx = I->data;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] < 0 || (uint64_t)idx[i] >= total)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "index %lld at %zu is outside the output's %zu "
                            "elements", (long long)idx[i], i, total);
        memcpy((char *)y->data + (size_t)idx[i] * es,
               (const char *)X->data + i * es, es);
    }
    return ONNXQ_OK;
}

/* ---- Col2Im -------------------------------------------------------------- */

/* Input [N, C * prod(block), L]: column l of block offset k belongs at
 * image position  blockpos(l) * stride - pad_begin + k * dilation,  summed
 * where blocks overlap and dropped where they stick out. */
static onnxq_status run_col2im(oq_kctx *ctx)
{
    const oq_tensor *X = oq_in(ctx, 0), *img = oq_in(ctx, 1),
                    *blk = oq_in(ctx, 2);
    if (!X || !img || !blk)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "input, image_shape and block_shape are required");
    if (X->dtype == DT_STRING || !onnxq_dtype_size(X->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input type %s",
                        onnxq_dtype_name(X->dtype));
    if (!oq_is_index(img->dtype) || !oq_is_index(blk->dtype) ||
        img->rank != 1 || blk->rank != 1 || img->dims[0] != blk->dims[0] ||
        img->dims[0] < 1 || img->dims[0] > OQ_MAX_RANK - 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "image_shape and block_shape must be int64 vectors "
                        "of one length, 1..%d", OQ_MAX_RANK - 2);
    int r = (int)img->dims[0];
    if (X->rank != 3)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input must be [N, C * prod(block_shape), L], has "
                        "rank %d", X->rank);
    const int64_t *dil = NULL, *pads = NULL, *str = NULL;
    long nd = oq_attr_ints(ctx, "dilations", &dil);
    long np = oq_attr_ints(ctx, "pads", &pads);
    long ns = oq_attr_ints(ctx, "strides", &str);
    if ((nd >= 0 && nd != r) || (np >= 0 && np != 2 * r) ||
        (ns >= 0 && ns != r))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "dilations and strides must list %d values, pads %d",
                        r, 2 * r);
    int64_t image[OQ_MAX_RANK], block[OQ_MAX_RANK], nblk[OQ_MAX_RANK];
    int64_t s[OQ_MAX_RANK], dl[OQ_MAX_RANK], pb[OQ_MAX_RANK];
    int64_t block_size = 1, n_blocks = 1;
    for (int d = 0; d < r; d++) {
        image[d] = oq_get_i64(img, (size_t)d);
        block[d] = oq_get_i64(blk, (size_t)d);
        s[d] = ns > 0 ? str[d] : 1;
        dl[d] = nd > 0 ? dil[d] : 1;
        pb[d] = np > 0 ? pads[d] : 0;
        int64_t pe = np > 0 ? pads[r + d] : 0;
        if (image[d] <= 0 || block[d] <= 0 || s[d] <= 0 || dl[d] <= 0 ||
            pb[d] < 0 || pe < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "image and block sizes, strides and dilations "
                            "must be positive, pads not negative");
        int64_t span = dl[d] * (block[d] - 1) + 1;
        int64_t room = image[d] + pb[d] + pe - span;
        nblk[d] = room < 0 ? 0 : room / s[d] + 1;
        block_size *= block[d];
        n_blocks *= nblk[d];
    }
    if (X->dims[1] % block_size || X->dims[2] != n_blocks)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input is [%lld, %lld, %lld]; dim 1 must be a "
                        "multiple of %lld and dim 2 equal %lld blocks",
                        (long long)X->dims[0], (long long)X->dims[1],
                        (long long)X->dims[2], (long long)block_size,
                        (long long)n_blocks);
    int64_t N = X->dims[0], C = X->dims[1] / block_size;
    int64_t od[OQ_MAX_RANK] = {N, C};
    memcpy(od + 2, image, (size_t)r * sizeof *image);
    oq_tensor *y = oq_output(ctx, 0, X->dtype, r + 2, od);
    if (!y)
        return oq_failed(ctx);
    size_t plane = oq_numel_dims(image, r);
    double *acc = calloc(plane ? plane : 1, sizeof *acc);
    if (!acc)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t nc = 0; nc < N * C; nc++) {
        memset(acc, 0, plane * sizeof *acc);
        int64_t n = nc / C, c = nc % C;
        for (int64_t k = 0; k < block_size; k++) {
            /* unravel k in block shape (innermost last) */
            int64_t kk[OQ_MAX_RANK], t = k;
            for (int d = r - 1; d >= 0; d--) {
                kk[d] = t % block[d];
                t /= block[d];
            }
            size_t row = (size_t)(((n * C + c) * block_size + k) * n_blocks);
            for (int64_t l = 0; l < n_blocks; l++) {
                int64_t u = l;
                size_t flat = 0;
                int inside = 1;
                int64_t pos[OQ_MAX_RANK];
                for (int d = r - 1; d >= 0; d--) {
                    pos[d] = (u % nblk[d]) * s[d] - pb[d] + kk[d] * dl[d];
                    u /= nblk[d];
                    if (pos[d] < 0 || pos[d] >= image[d])
                        inside = 0;
                }
                if (!inside)
                    continue;
                for (int d = 0; d < r; d++)
                    flat = flat * (size_t)image[d] + (size_t)pos[d];
                acc[flat] += oq_get_f64(X, row + (size_t)l);
            }
        }
        for (size_t i = 0; i < plane; i++)
            oq_set_f64(y, (size_t)nc * plane + i, acc[i]);
    }
    free(acc);
    return ONNXQ_OK;
}

/* ---- CenterCropPad ------------------------------------------------------- */

/* Along each listed axis: crop the centre when the input is longer than
 * the target, pad zeros around it when shorter.  Odd differences put the
 * extra element at the end (crop start and left pad are floor(diff / 2)),
 * as in the op's function body. */
static onnxq_status run_centercroppad(oq_kctx *ctx)
{
    const oq_tensor *X = oq_in(ctx, 0), *shape = oq_in(ctx, 1);
    if (!X || !shape)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "input_data and shape are required");
    size_t es = onnxq_dtype_size(X->dtype);
    if (X->dtype == DT_STRING || !es)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input type %s",
                        onnxq_dtype_name(X->dtype));
    if (!oq_is_index(shape->dtype) || shape->rank != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "shape must be a 1-D int64 tensor");
    int rank = X->rank;
    const int64_t *axes_attr;
    long n_axes = oq_attr_ints(ctx, "axes", &axes_attr);
    int axes[OQ_MAX_RANK];
    if (n_axes < 0) {
        n_axes = rank;
        for (int d = 0; d < rank; d++)
            axes[d] = d;
    } else {
        if (n_axes > rank)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "%ld axes for rank %d", n_axes, rank);
        for (long i = 0; i < n_axes; i++) {
            int64_t a = axes_attr[i] < 0 ? axes_attr[i] + rank : axes_attr[i];
            if (a < 0 || a >= rank)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                                "axis %lld is outside rank %d",
                                (long long)axes_attr[i], rank);
            for (long j = 0; j < i; j++)
                if (axes[j] == a)
                    return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                                    "axis %lld is repeated",
                                    (long long)axes_attr[i]);
            axes[i] = (int)a;
        }
    }
    if (shape->dims[0] != n_axes)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "shape lists %lld sizes for %ld axes",
                        (long long)shape->dims[0], n_axes);
    int64_t od[OQ_MAX_RANK], shift[OQ_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        od[d] = X->dims[d];
        shift[d] = 0;
    }
    for (long i = 0; i < n_axes; i++) {
        int64_t want = oq_get_i64(shape, (size_t)i);
        if (want < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "target size %lld is negative", (long long)want);
        int a = axes[i];
        /* input index = output index + shift (crop > 0, pad < 0) */
        int64_t have = X->dims[a];
        shift[a] = have >= want ? (have - want) / 2 : -((want - have) / 2);
        od[a] = want;
    }
    oq_tensor *y = oq_output(ctx, 0, X->dtype, rank, od);
    if (!y)
        return oq_failed(ctx);
    size_t total = oq_numel(y);
    int64_t idx[OQ_MAX_RANK] = {0};
    for (size_t o = 0; o < total; o++) {
        size_t src = 0;
        int inside = 1;
        for (int d = 0; d < rank; d++) {
            int64_t i = idx[d] + shift[d];
            if (i < 0 || i >= X->dims[d])
                inside = 0;
            src = src * (size_t)X->dims[d] + (size_t)(inside ? i : 0);
        }
        if (inside)
            memcpy((char *)y->data + o * es, (const char *)X->data + src * es,
                   es);
        for (int d = rank - 1; d >= 0; d--) {
            if (++idx[d] < od[d])
                break;
            idx[d] = 0;
        }
    }
    return ONNXQ_OK;
}

OQ_KERNEL_TABLE(oq_ref_misc_kernels) = {
    {"", "Dropout", 7, 21, run_dropout},
    {"", "NonMaxSuppression", 10, 21, run_nms},
    {"", "RoiAlign", 10, 21, run_roialign},
    {"", "GridSample", 16, 21, run_gridsample},
    {"", "MaxUnpool", 9, 21, run_maxunpool},
    {"", "Col2Im", 18, 21, run_col2im},
    {"", "CenterCropPad", 18, 21, run_centercroppad},
    {NULL, NULL, 0, 0, NULL},
};
