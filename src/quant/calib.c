/*
 * calib.c — tensor ranges for static quantization (the methods and their
 * calibrate.py semantics are described in include/onnxq/calib.h).
 *
 * One session of the float model runs every sample; its observer looks up
 * each produced tensor's name in a hash map of the tensors asked for and
 * folds the values into that tensor's statistics on the spot, so no tensor
 * outlives the node that made it.  Graph inputs are not produced by a node:
 * they are folded in before the run.
 *
 * Pass 1 (every method): per sample min/max (and min |x| for the symmetric
 * Percentile histogram), folded into overall min/max and the sums of the
 * per-sample extremes (moving average).  Pass 2 (histogram methods): a
 * histogram per tensor over the overall range found in pass 1, binned as
 * numpy.histogram does (edges linspace'd in double, stored as float32, the
 * last bin closed).
 */
#include "onnxq/calib.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "onnx/onnx-ml.pb-c.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "strmap.h"

void onnxq_calib_options_init(onnxq_calib_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = ONNXQ_CALIB_MINMAX;
    o->averaging_constant = 0.01;
    o->num_bins = 2048;
    o->num_quantized_bins = 128;
    o->percentile = 99.999;
}

static const char *const METHOD_NAMES[] = {"minmax", "entropy", "percentile",
                                           "distribution"};

int onnxq_calib_method_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, METHOD_NAMES[i]) == 0)
            return i;
    return -1;
}

const char *onnxq_calib_method_name(onnxq_calib_method m)
{
    return (unsigned)m < 4 ? METHOD_NAMES[m] : "unknown";
}

void onnxq_tensor_ranges_free(onnxq_tensor_range *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].name);
    free(r);
}

/* ---- statistics of one tensor ------------------------------------------- */

typedef struct tstat {
    const char *name;
    /* this run */
    int seen;
    float run_min, run_max;
    /* over all runs */
    int any;
    float min, max, minabs, maxabs;
    double sum_min, sum_max;
    size_t n_runs;
    uint64_t count;
    int bad_dtype;
    int32_t dtype;
    /* pass 2 */
    uint64_t *hist;
    float *edges; /* nb + 1 */
    int nb;
    int abs_values;
} tstat;

typedef struct calib_run {
    const onnxq_calib_options *o;
    oq_strmap map;
    tstat *st;
    size_t n;
    int pass;
    int nan_seen;
    const char *nan_tensor;
} calib_run;

/* Bin index of x as numpy.histogram(range=(edges[0], edges[nb])) gives it,
 * or -1 if x is outside. */
static int bin_of(const tstat *t, float x)
{
    float lo = t->edges[0], hi = t->edges[t->nb];
    if (!(x >= lo && x <= hi))
        return -1;
    double f = ((double)x - (double)lo) / ((double)hi - (double)lo) * t->nb;
    int i = (int)f;
    if (i >= t->nb)
        i = t->nb - 1;
    if (i < 0)
        i = 0;
    if (x < t->edges[i] && i > 0)
        i--;
    else if (i < t->nb - 1 && x >= t->edges[i + 1])
        i++;
    return i;
}

static void observe(calib_run *r, tstat *t, const onnxq_tensor *x)
{
    if (x->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        t->bad_dtype = 1;
        t->dtype = x->dtype;
        return;
    }
    size_t n = onnxq_tensor_nbytes(x) / sizeof(float);
    const float *v = x->data;
    if (r->pass == 1) {
        float mn = t->seen ? t->run_min : INFINITY;
        float mx = t->seen ? t->run_max : -INFINITY;
        float mnabs = t->minabs;
        for (size_t i = 0; i < n; i++) {
            float a = v[i];
            if (a != a) {
                r->nan_seen = 1;
                r->nan_tensor = t->name;
                return;
            }
            mn = a < mn ? a : mn;
            mx = a > mx ? a : mx;
            float aa = fabsf(a);
            mnabs = aa < mnabs ? aa : mnabs;
        }
        if (n) {
            t->run_min = mn;
            t->run_max = mx;
            t->seen = 1;
            t->minabs = mnabs;
        }
        t->count += n;
        return;
    }
    if (!t->hist)
        return;
    for (size_t i = 0; i < n; i++) {
        int b = bin_of(t, t->abs_values ? fabsf(v[i]) : v[i]);
        if (b >= 0)
            t->hist[b]++;
    }
}

static int observer(void *user, const char *name, const onnxq_tensor *x)
{
    calib_run *r = user;
    size_t k;
    if (!oq_strmap_get(&r->map, name, &k))
        return 0;
    observe(r, &r->st[k], x);
    return r->nan_seen;
}

/* Folds a run's extremes into the totals (pass 1). */
static void end_run(calib_run *r)
{
    for (size_t k = 0; k < r->n; k++) {
        tstat *t = &r->st[k];
        if (!t->seen)
            continue;
        if (!t->any) {
            t->min = t->run_min;
            t->max = t->run_max;
        } else {
            t->min = t->run_min < t->min ? t->run_min : t->min;
            t->max = t->run_max > t->max ? t->run_max : t->max;
        }
        t->any = 1;
        t->sum_min += t->run_min;
        t->sum_max += t->run_max;
        t->n_runs++;
        t->seen = 0;
    }
}

/* ---- results from histograms ----------------------------------------------- */

/* calibrate.py's smooth_distribution: zeros get eps, non-zeros lose
 * eps * n_zeros / n_nonzeros.  Returns 0 when every entry is zero. */
static int smooth(const double *p, size_t n, double *out)
{
    size_t nz = 0;
    for (size_t i = 0; i < n; i++)
        nz += p[i] == 0.0;
    size_t nnz = n - nz;
    if (!nnz)
        return 0;
    const double eps = 1e-4;
    double eps1 = eps * (double)nz / (double)nnz;
    for (size_t i = 0; i < n; i++)
        out[i] = (double)(float)(p[i] == 0.0 ? p[i] + eps : p[i] - eps1);
    return 1;
}

/* scipy.stats.entropy(p, q) after normalising both. */
static double kl(const double *p, const double *q, size_t n)
{
    double sp = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sp += p[i], sq += q[i];
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double a = p[i] / sp, b = q[i] / sq;
        if (a > 0) {
            if (b <= 0)
                return INFINITY;
            d += a * log(a / b);
        }
    }
    return d;
}

static onnxq_status entropy_range(const tstat *t, int nq, float *lo, float *hi,
                                  onnxq_error *err)
{
    int nb = t->nb, zero = nb / 2, half = nq / 2;
    if (half > zero)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "entropy calibration needs at least as many "
                               "histogram bins (%d) as quantized bins (%d)",
                               nb, nq);
    double *p = malloc((size_t)nb * sizeof *p);
    double *q = malloc((size_t)nb * sizeof *q);
    double *ps = malloc((size_t)nb * sizeof *ps);
    double *qs = malloc((size_t)nb * sizeof *qs);
    uint64_t *qb = malloc((size_t)nq * sizeof *qb);
    if (!p || !q || !ps || !qs || !qb) {
        free(p), free(q), free(ps), free(qs), free(qb);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    double best = INFINITY;
    int best_i = half;
    for (int i = half; i <= zero; i++) {
        int start = zero - i;
        int end = zero + i + 1 <= nb ? zero + i + 1 : nb;
        int len = end - start;
        uint64_t left = 0, right = 0;
        for (int k = 0; k < start; k++)
            left += t->hist[k];
        for (int k = end; k < nb; k++)
            right += t->hist[k];
        for (int k = 0; k < len; k++)
            p[k] = (double)t->hist[start + k];
        p[0] += (double)left;
        p[len - 1] += (double)right;
        int merged = len / nq;
        for (int b = 0; b < nq; b++) {
            uint64_t s = 0;
            for (int k = b * merged; k < (b + 1) * merged; k++)
                s += t->hist[start + k];
            qb[b] = s;
        }
        for (int k = nq * merged; k < len; k++)
            qb[nq - 1] += t->hist[start + k];
        for (int k = 0; k < len; k++)
            q[k] = 0;
        for (int b = 0; b < nq; b++) {
            int nnz = 0;
            for (int k = b * merged; k < (b + 1) * merged; k++)
                nnz += p[k] != 0.0;
            if (nnz)
                for (int k = b * merged; k < (b + 1) * merged; k++)
                    /* calibrate.py stores this in an int64 array */
                    q[k] = (double)(int64_t)((double)qb[b] / (double)nnz);
        }
        double d = INFINITY;
        if (smooth(p, (size_t)len, ps) && smooth(q, (size_t)len, qs))
            d = kl(ps, qs, (size_t)len);
        if (d < best) { /* argmin: the first minimum wins */
            best = d;
            best_i = i;
        }
    }
    int start = zero - best_i;
    int end = zero + best_i + 1 <= nb ? zero + best_i + 1 : nb;
    *lo = t->edges[start];
    *hi = t->edges[end];
    free(p), free(q), free(ps), free(qs), free(qb);
    return ONNXQ_OK;
}

/* numpy.searchsorted(cdf, v) (side left): first index with cdf[i] >= v. */
static int searchsorted(const double *cdf, int n, double v)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static onnxq_status percentile_range(const tstat *t, double pct, int symmetric,
                                     float *lo, float *hi, onnxq_error *err)
{
    if (pct < 0 || pct > 100)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "percentile %g is outside [0, 100]", pct);
    double *cdf = malloc((size_t)t->nb * sizeof *cdf);
    if (!cdf)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    uint64_t total = 0;
    for (int k = 0; k < t->nb; k++)
        total += t->hist[k];
    double acc = 0;
    for (int k = 0; k < t->nb; k++) {
        acc += (double)t->hist[k] / (double)total;
        cdf[k] = acc;
    }
    if (symmetric) {
        int r = searchsorted(cdf, t->nb, pct / 100.0);
        *hi = t->edges[r];
        *lo = -*hi;
    } else {
        double cut = (100.0 - pct) / 200.0;
        int r = searchsorted(cdf, t->nb, 1.0 - cut);
        int l = searchsorted(cdf, t->nb, cut);
        *lo = t->edges[l];
        *hi = t->edges[r];
    }
    free(cdf);
    return ONNXQ_OK;
}

static void distribution(const tstat *t, float *avg, float *std)
{
    double sh = 0, s1 = 0, s2 = 0;
    for (int k = 0; k < t->nb; k++) {
        double c = ((double)t->edges[k] + (double)t->edges[k + 1]) * 0.5;
        double h = (double)t->hist[k];
        sh += h;
        s1 += h * c;
        s2 += h * c * c;
    }
    double a = sh > 0 ? s1 / sh : 0, var = sh > 0 ? s2 / sh - a * a : 0;
    *avg = (float)a;
    *std = (float)sqrt(var > 0 ? var : 0);
}

/* Histogram range and edges for pass 2. */
static int hist_setup(tstat *t, const onnxq_calib_options *o)
{
    t->nb = o->num_bins;
    t->abs_values = o->method == ONNXQ_CALIB_PERCENTILE && o->symmetric;
    double lo, hi;
    if (t->abs_values) {
        lo = t->minabs;
        hi = fabsf(t->min) > fabsf(t->max) ? fabsf(t->min) : fabsf(t->max);
    } else {
        float th = fabsf(t->min) > fabsf(t->max) ? fabsf(t->min)
                                                 : fabsf(t->max);
        lo = -(double)th;
        hi = th;
    }
    if (lo == hi) { /* numpy widens an empty range by 0.5 each way */
        lo -= 0.5;
        hi += 0.5;
    }
    t->hist = calloc((size_t)t->nb, sizeof *t->hist);
    t->edges = malloc(((size_t)t->nb + 1) * sizeof *t->edges);
    if (!t->hist || !t->edges)
        return -1;
    double step = (hi - lo) / t->nb;
    for (int k = 0; k < t->nb; k++)
        t->edges[k] = (float)(lo + k * step);
    t->edges[t->nb] = (float)hi;
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

/* 1 if a node of g or of its subgraphs (If/Loop/Scan bodies, nested)
 * makes name: the runtime observer reports subgraph tensors under their
 * bare names too. */
static int produced_by_node(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; g && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t o = 0; o < n->n_output; o++)
            if (strcmp(n->output[o], name) == 0)
                return 1;
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *at = n->attribute[a];
            if (produced_by_node(at->g, name))
                return 1;
            for (size_t k = 0; k < at->n_graphs; k++)
                if (produced_by_node(at->graphs[k], name))
                    return 1;
        }
    }
    return 0;
}

onnxq_status onnxq_calibrate(onnxq_model *model, const char *const *names,
                             size_t n_names, const onnxq_calib_options *opt,
                             onnxq_calib_data *data,
                             onnxq_calib_progress_fn progress,
                             void *progress_user, onnxq_tensor_range **out,
                             onnxq_error *err)
{
    *out = NULL;
    onnxq_calib_options defaults;
    if (!opt) {
        onnxq_calib_options_init(&defaults);
        opt = &defaults;
    }
    if (opt->method != ONNXQ_CALIB_MINMAX &&
        (opt->num_bins < 2 || opt->num_bins > (1 << 24)))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%d histogram bins: want 2 .. 16M",
                               opt->num_bins);
    if (opt->method == ONNXQ_CALIB_ENTROPY &&
        (opt->num_quantized_bins < 2 ||
         opt->num_quantized_bins / 2 > opt->num_bins / 2))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "entropy: %d quantized bins for %d histogram "
                               "bins", opt->num_quantized_bins,
                               opt->num_bins);
    if (opt->method == ONNXQ_CALIB_PERCENTILE &&
        !(opt->percentile >= 0 && opt->percentile <= 100))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "percentile %g is outside [0, 100]",
                               opt->percentile);
    size_t nd = onnxq_calib_data_count(data);
    if (nd == 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "no calibration samples");

    calib_run r;
    memset(&r, 0, sizeof r);
    r.o = opt;
    r.n = n_names;
    onnxq_session *s = NULL;
    onnxq_tensor *ins = NULL;
    const Onnx__ValueInfoProto **vis = NULL;
    size_t *input_stat = NULL; /* graph input -> stat index or SIZE_MAX */
    onnxq_status st = ONNXQ_OK;
    r.st = calloc(n_names ? n_names : 1, sizeof *r.st);
    if (!r.st)
        goto oom;
    const Onnx__GraphProto *g = onnxq_model_proto(model)->graph;
    for (size_t k = 0; k < n_names; k++) {
        r.st[k].name = names[k];
        r.st[k].minabs = INFINITY;
        size_t dup;
        if (oq_strmap_get(&r.map, names[k], &dup))
            continue; /* asked twice: the first entry collects */
        if (oq_strmap_put(&r.map, names[k], k))
            goto oom;
    }

    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = opt->n_threads;
    so.observer = observer;
    so.observer_user = &r;
    st = onnxq_session_create(model, &so, &s, err);
    if (st != ONNXQ_OK)
        goto done;
    size_t ni = onnxq_session_input_count(s);
    ins = calloc(ni ? ni : 1, sizeof *ins);
    vis = calloc(ni ? ni : 1, sizeof *vis);
    input_stat = malloc((ni ? ni : 1) * sizeof *input_stat);
    if (!ins || !vis || !input_stat)
        goto oom;
    for (size_t i = 0; i < ni; i++) {
        vis[i] = onnxq_session_input(s, i);
        size_t k;
        input_stat[i] = oq_strmap_get(&r.map, vis[i]->name, &k) ? k : SIZE_MAX;
    }
    for (size_t k = 0; k < n_names; k++) {
        int ok = produced_by_node(g, names[k]);
        for (size_t i = 0; !ok && i < ni; i++)
            ok = strcmp(vis[i]->name, names[k]) == 0;
        if (!ok) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "tensor '%s' to calibrate is neither a "
                                 "model input nor made by a node", names[k]);
            goto done;
        }
    }

    int n_passes = opt->method == ONNXQ_CALIB_MINMAX ? 1 : 2;
    for (int pass = 1; pass <= n_passes; pass++) {
        r.pass = pass;
        if (pass == 2)
            for (size_t k = 0; k < n_names; k++)
                if (r.st[k].any && !r.st[k].bad_dtype &&
                    hist_setup(&r.st[k], opt))
                    goto oom;
        for (size_t i = 0; i < nd; i++) {
            st = onnxq_calib_data_get(data, i, vis, ni, ins, err);
            if (st != ONNXQ_OK)
                goto done;
            for (size_t j = 0; j < ni; j++)
                if (input_stat[j] != SIZE_MAX)
                    observe(&r, &r.st[input_stat[j]], &ins[j]);
            onnxq_tensor *outs = NULL;
            size_t n_outs = 0;
            st = onnxq_session_run(s, ins, ni, &outs, &n_outs, err);
            for (size_t j = 0; j < ni; j++) {
                free(ins[j].data);
                ins[j].data = NULL;
            }
            onnxq_tensors_free(outs, n_outs);
            if (r.nan_seen) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s: tensor '%s' holds NaN on this "
                                     "sample",
                                     onnxq_calib_data_path(data, i),
                                     r.nan_tensor);
                goto done;
            }
            if (st != ONNXQ_OK) {
                onnxq_error_prefix(err, "%s: ",
                                   onnxq_calib_data_path(data, i));
                goto done;
            }
            if (pass == 1)
                end_run(&r);
            if (progress)
                progress(progress_user, pass, n_passes, i + 1, nd);
        }
    }

    onnxq_tensor_range *res = calloc(n_names ? n_names : 1, sizeof *res);
    if (!res)
        goto oom;
    *out = res;
    for (size_t k = 0; k < n_names; k++) {
        size_t first;
        oq_strmap_get(&r.map, names[k], &first);
        tstat *t = &r.st[first];
        if (!(res[k].name = oq_strdup(names[k])))
            goto oom;
        if (t->bad_dtype) {
            st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                 "tensor '%s' is %s, not float32: onnxq "
                                 "calibrates float32 tensors only", t->name,
                                 onnxq_dtype_name(t->dtype));
            goto done;
        }
        if (!t->any && opt->allow_unreached) {
            res[k].unreached = 1;
            continue;
        }
        if (!t->any) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "tensor '%s' was never computed (or always "
                                 "empty) on the calibration samples",
                                 t->name);
            goto done;
        }
        onnxq_tensor_range *q = &res[k];
        q->data_min = t->min;
        q->data_max = t->max;
        q->count = t->count;
        switch (opt->method) {
        case ONNXQ_CALIB_MINMAX:
            if (opt->moving_average) {
                q->rmin = (float)(t->sum_min / (double)t->n_runs);
                q->rmax = (float)(t->sum_max / (double)t->n_runs);
            } else {
                q->rmin = t->min;
                q->rmax = t->max;
            }
            if (opt->symmetric) {
                float a = fabsf(q->rmin) > fabsf(q->rmax) ? fabsf(q->rmin)
                                                          : fabsf(q->rmax);
                q->rmin = -a;
                q->rmax = a;
            }
            break;
        case ONNXQ_CALIB_ENTROPY:
            st = entropy_range(t, opt->num_quantized_bins, &q->rmin,
                               &q->rmax, err);
            break;
        case ONNXQ_CALIB_PERCENTILE:
            st = percentile_range(t, opt->percentile, opt->symmetric,
                                  &q->rmin, &q->rmax, err);
            break;
        case ONNXQ_CALIB_DISTRIBUTION: {
            distribution(t, &q->avg, &q->std);
            double lo = (double)q->avg - 6.0 * q->std;
            double hi = (double)q->avg + 6.0 * q->std;
            q->rmin = (float)lo;
            q->rmax = (float)hi;
            break;
        }
        }
        if (st != ONNXQ_OK)
            goto done;
        if (opt->method != ONNXQ_CALIB_MINMAX) {
            if (q->rmin < t->min)
                q->rmin = t->min;
            if (q->rmax > t->max)
                q->rmax = t->max;
        }
    }
    goto done;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
done:
    if (st != ONNXQ_OK && *out) {
        onnxq_tensor_ranges_free(*out, n_names);
        *out = NULL;
    }
    if (ins)
        for (size_t j = 0; s && j < onnxq_session_input_count(s); j++)
            free(ins[j].data);
    free(ins);
    free(vis);
    free(input_stat);
    onnxq_session_destroy(s);
    for (size_t k = 0; r.st && k < n_names; k++) {
        free(r.st[k].hist);
        free(r.st[k].edges);
    }
    free(r.st);
    oq_strmap_clear(&r.map);
    return st;
}
