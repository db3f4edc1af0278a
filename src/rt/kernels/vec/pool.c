/*
 * pool.c — float32 MaxPool and AveragePool for the compiler's
 * auto-vectoriser (target clones, like vec_kernels.c; this folder is built
 * with -ffp-contract=off): any number of spatial dims (1-D, 2-D, 3-D...),
 * kernel_shape, strides, dilations, pads, auto_pad, ceil_mode and
 * count_include_pad, with the reference kernel's geometry
 * (kernels/ref/conv_pool.c read_window): SAME_* splits the padding with C
 * division, ceil_mode drops a last window starting in the end padding.
 *
 * Results are bit-identical to the reference kernel's, not just close:
 *   - MaxPool visits each window's taps in the reference's order (row-major
 *     over the kernel, taps outside the input skipped) with its rule — the
 *     first maximum wins, NaN only when every tap is NaN, -inf for a window
 *     with no tap inside — and max is exact;
 *   - AveragePool adds the taps as doubles in that same order, starting
 *     from 0, divides in double by the same count (taps inside the input,
 *     or inside the padded input with count_include_pad; NaN for 0) and
 *     rounds once to float, which is exactly the reference's arithmetic.
 *
 * Layout of the work: one task per output row (an N, C plane and every
 * spatial index but the last), split over the session's threads.  Per row
 * the taps of the outer dims that lie inside the input are listed once;
 * along the last dim the outputs whose whole window is inside (the
 * interior) run tap by tap over a chunk of outputs, a loop the compiler
 * vectorises; the few edge outputs run one by one.
 *
 * Handed to the reference kernel: other types, MaxPool's Indices output,
 * malformed attributes (the reference reports them), negative SAME padding,
 * empty tensors, and kernels with more than MAX_ROWS outer taps.
 *
 * Also ReduceMean (a mean over axes, the pooling of speaker models) when
 * the reduced axes are one contiguous block: x seen as [outer, red, inner],
 * each output the double sum of its red elements in the reference's order
 * (ascending) divided by red and rounded once, so bit-identical too.  Other
 * axes sets, noop_with_empty_axes and axes given at run time go to the
 * reference kernel.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool_kernels.h"
#include "registry.h"

#define CLONES __attribute__((target_clones("avx2", "avx512f", "default")))

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       MAXS = OQ_MAX_RANK - 2, /* spatial dims */
       CHUNK = 256,            /* interior outputs per vector pass */
       MAX_ROWS = 1024 };      /* outer taps listed per output row */

typedef struct pool_state {
    const oq_kernel *ref;
    int avg;                   /* AveragePool, else MaxPool */
} pool_state;

static _Atomic size_t n_fast, n_fallback;

oq_pool_stats oq_pool_stats_get(void)
{
    return (oq_pool_stats){n_fast, n_fallback};
}

static onnxq_status fallback(oq_kctx *ctx)
{
    n_fallback++;
    return ((const pool_state *)ctx->state)->ref->run(ctx);
}

/* ---- geometry ------------------------------------------------------------- */

typedef struct pool_geom {
    int n;                                   /* spatial dims */
    int64_t in[MAXS], out[MAXS], k[MAXS];
    int64_t stride[MAXS], dil[MAXS], pad0[MAXS], pad1[MAXS];
} pool_geom;

/* The window of the node over x into g: 0, or -1 for the reference. */
static int pool_geometry(const oq_kctx *ctx, const oq_tensor *x, pool_geom *g)
{
    if (!x || x->dtype != T_FLOAT || x->rank < 3 || x->rank - 2 > MAXS)
        return -1;
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] < 1)
            return -1;
    memset(g, 0, sizeof *g);
    int n = g->n = x->rank - 2;
    const int64_t *ks;
    if (oq_attr_ints(ctx, "kernel_shape", &ks) != n)
        return -1;
    int64_t pads[2 * MAXS] = {0};
    for (int d = 0; d < n; d++) {
        g->in[d] = x->dims[d + 2];
        g->k[d] = ks[d];
        g->stride[d] = g->dil[d] = 1;
        if (ks[d] < 1)
            return -1;
    }
    if (oq_attr_ints_into(ctx, "strides", n, 1, g->stride) ||
        oq_attr_ints_into(ctx, "dilations", n, 1, g->dil) ||
        oq_attr_ints_into(ctx, "pads", 2 * n, 0, pads))
        return -1;
    char buf[32];
    const char *ap = oq_attr_string(ctx, "auto_pad", "NOTSET", buf, sizeof buf);
    int same_upper = strcmp(ap, "SAME_UPPER") == 0,
        same_lower = strcmp(ap, "SAME_LOWER") == 0,
        valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && ap[0] &&
        strcmp(ap, "NOTSET") != 0)
        return -1;
    int ceil_mode = oq_attr_int(ctx, "ceil_mode", 0) != 0;
    int64_t outer = 1;
    for (int d = 0; d < n; d++) {
        int64_t s = g->stride[d], ek = (g->k[d] - 1) * g->dil[d] + 1;
        if (same_upper || same_lower) {
            int64_t out = (g->in[d] + s - 1) / s;
            int64_t need = (out - 1) * s + ek - g->in[d];
            g->pad0[d] = same_upper ? need / 2 : (need + 1) / 2;
            g->pad1[d] = need - g->pad0[d];
            g->out[d] = out;
        } else {
            g->pad0[d] = valid ? 0 : pads[d];
            g->pad1[d] = valid ? 0 : pads[n + d];
            int64_t span = g->in[d] + g->pad0[d] + g->pad1[d] - ek;
            if (span < 0)
                return -1;
            g->out[d] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
            if (ceil_mode && (g->out[d] - 1) * s >= g->in[d] + g->pad0[d])
                g->out[d]--;
        }
        if (g->pad0[d] < 0 || g->pad1[d] < 0 || g->out[d] < 1)
            return -1;
        if (d < n - 1)
            outer *= g->k[d];
    }
    return outer <= MAX_ROWS ? 0 : -1;
}

/* Per spatial dim d and output index o: the taps [lo, hi) inside the input
 * and the number inside the padded input (tabs: 3 * out[d] per dim). */
typedef struct dim_tab {
    int64_t *lo, *hi, *padded;
    int64_t int_a, int_b;      /* outputs whose every tap is inside */
} dim_tab;

static void make_tab(const pool_geom *g, int d, int64_t *mem, dim_tab *t)
{
    int64_t out = g->out[d];
    t->lo = mem;
    t->hi = mem + out;
    t->padded = mem + 2 * out;
    t->int_a = out;
    t->int_b = out;
    for (int64_t o = 0; o < out; o++) {
        int64_t p = o * g->stride[d] - g->pad0[d], lo = -1, hi = 0, pc = 0;
        for (int64_t j = 0; j < g->k[d]; j++) {
            int64_t pos = p + j * g->dil[d];
            if (pos >= 0 && pos < g->in[d]) {
                if (lo < 0)
                    lo = j;
                hi = j + 1;
            }
            pc += pos >= -g->pad0[d] && pos < g->in[d] + g->pad1[d];
        }
        t->lo[o] = lo < 0 ? 0 : lo;
        t->hi[o] = lo < 0 ? 0 : hi;
        t->padded[o] = pc;
        if (t->lo[o] == 0 && t->hi[o] == g->k[d]) {
            if (t->int_a == out)
                t->int_a = o;
            t->int_b = o + 1;
        }
    }
}

/* ---- the loops ------------------------------------------------------------ */

/* Max of the window taps for m interior outputs: tap j of outer row r of
 * output i is x[offs[r] + base + j * dil + i * s]. */
CLONES static void max_interior(const float *x, const int64_t *offs,
                                int64_t base, int64_t n_rows, int64_t k,
                                int64_t s, int64_t dil, int64_t m, float *y)
{
    for (int64_t i = 0; i < m; i++)
        y[i] = x[offs[0] + base + i * s];
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t j = r == 0; j < k; j++) {
            const float *xr = x + offs[r] + base + j * dil;
            if (s == 1) {
                for (int64_t i = 0; i < m; i++) {
                    float a = y[i], v = xr[i];
                    y[i] = (v > a || (a != a && v == v)) ? v : a;
                }
            } else {
                for (int64_t i = 0; i < m; i++) {
                    float a = y[i], v = xr[i * s];
                    y[i] = (v > a || (a != a && v == v)) ? v : a;
                }
            }
        }
}

/* The double sums of the window taps for m interior outputs, divided by
 * div and rounded to float. */
CLONES static void avg_interior(const float *x, const int64_t *offs,
                                int64_t base, int64_t n_rows, int64_t k,
                                int64_t s, int64_t dil, int64_t m, double div,
                                float *y)
{
    double acc[CHUNK];
    for (int64_t i = 0; i < m; i++)
        acc[i] = 0;
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t j = 0; j < k; j++) {
            const float *xr = x + offs[r] + base + j * dil;
            if (s == 1)
                for (int64_t i = 0; i < m; i++)
                    acc[i] += (double)xr[i];
            else
                for (int64_t i = 0; i < m; i++)
                    acc[i] += (double)xr[i * s];
        }
    for (int64_t i = 0; i < m; i++)
        y[i] = (float)(acc[i] / div);
}

/* One output (an edge one) the reference's way: taps [lo, hi) of each
 * outer row, x[offs[r] + base + j * dil]. */
static float one_output(const float *x, const int64_t *offs, int64_t base,
                        int64_t n_rows, int64_t lo, int64_t hi, int64_t dil,
                        int avg, int64_t div)
{
    if (avg) {
        double acc = 0;
        for (int64_t r = 0; r < n_rows; r++)
            for (int64_t j = lo; j < hi; j++)
                acc += (double)x[offs[r] + base + j * dil];
        return div ? (float)(acc / (double)div) : NAN;
    }
    if (n_rows == 0 || lo >= hi)
        return -INFINITY;
    float acc = x[offs[0] + base + lo * dil];
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t j = r == 0 ? lo + 1 : lo; j < hi; j++) {
            float v = x[offs[r] + base + j * dil];
            if (v > acc || (acc != acc && v == v))
                acc = v;
        }
    return acc;
}

typedef struct pool_job {
    const pool_geom *g;
    const dim_tab *tab;
    int avg, include_pad;
    const float *x;
    float *y;
    int64_t rows;              /* output rows per N, C plane */
    int64_t in_sz, out_sz;     /* elements per plane */
} pool_job;

/* Output row r of the job: plane r / rows, outer index r % rows. */
static void pool_row(const pool_job *jb, int64_t r)
{
    const pool_geom *g = jb->g;
    int n = g->n, last = n - 1;
    int64_t plane = r / jb->rows, rr = r % jb->rows;
    int64_t o[MAXS] = {0}, lo[MAXS], hi[MAXS], j[MAXS];
    for (int d = last - 1; d >= 0; d--) {
        o[d] = rr % g->out[d];
        rr /= g->out[d];
    }
    /* the outer taps inside the input, in the kernel's row-major order,
     * as offsets of the last dim's position 0 */
    int64_t offs[MAX_ROWS], n_rows = 1, padded_outer = 1;
    for (int d = 0; d < last; d++) {
        lo[d] = jb->tab[d].lo[o[d]];
        hi[d] = jb->tab[d].hi[o[d]];
        n_rows *= hi[d] - lo[d];
        padded_outer *= jb->tab[d].padded[o[d]];
        j[d] = lo[d];
    }
    for (int64_t t = 0; t < n_rows; t++) {
        int64_t off = 0;
        for (int d = 0; d < last; d++)
            off = off * g->in[d] +
                  (o[d] * g->stride[d] - g->pad0[d] + j[d] * g->dil[d]);
        offs[t] = off * g->in[last];
        for (int d = last - 1; d >= 0; d--) {
            if (++j[d] < hi[d])
                break;
            j[d] = lo[d];
        }
    }
    const float *x = jb->x + plane * jb->in_sz;
    int64_t ow_n = g->out[last];
    float *y = jb->y + plane * jb->out_sz + (r % jb->rows) * ow_n;
    const dim_tab *t = &jb->tab[last];
    int64_t s = g->stride[last], dil = g->dil[last], k = g->k[last],
            p0 = g->pad0[last];
    for (int64_t ow = 0; ow < ow_n;) {
        if (ow == t->int_a && t->int_a < t->int_b) {
            /* the interior: every tap of the last dim is inside */
            int64_t div = (jb->include_pad ? padded_outer : n_rows) * k;
            for (; ow < t->int_b; ow += CHUNK) {
                int64_t m = t->int_b - ow < CHUNK ? t->int_b - ow : CHUNK;
                if (jb->avg && div)
                    avg_interior(x, offs, ow * s - p0, n_rows, k, s, dil, m,
                                 (double)div, y + ow);
                else if (!jb->avg && n_rows)
                    max_interior(x, offs, ow * s - p0, n_rows, k, s, dil, m,
                                 y + ow);
                else /* no tap: the reference's value for an empty window */
                    for (int64_t i = 0; i < m; i++)
                        y[ow + i] = jb->avg ? NAN : -INFINITY;
            }
            ow = t->int_b;
            continue;
        }
        int64_t l = t->lo[ow], h = t->hi[ow];
        int64_t div = jb->include_pad ? padded_outer * t->padded[ow]
                                      : n_rows * (h - l);
        y[ow] = one_output(x, offs, ow * s - p0, n_rows, l, h, dil, jb->avg,
                           div);
        ow++;
    }
}

/* ---- ReduceMean ------------------------------------------------------------ */

/* Sums x[o][j][i] over j for one o: inner outputs at once when inner > 1
 * (acc holds them), else one contiguous run. */
CLONES static void mean_block(const float *x, int64_t red, int64_t inner,
                              double *acc, float *y)
{
    if (inner == 1) {
        double a = 0;
        for (int64_t j = 0; j < red; j++)
            a += (double)x[j];
        y[0] = (float)(a / (double)red);
        return;
    }
    for (int64_t i = 0; i < inner; i++)
        acc[i] = 0;
    for (int64_t j = 0; j < red; j++) {
        const float *xr = x + j * inner;
        for (int64_t i = 0; i < inner; i++)
            acc[i] += (double)xr[i];
    }
    for (int64_t i = 0; i < inner; i++)
        y[i] = (float)(acc[i] / (double)red);
}

static onnxq_status run_reduce_mean(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x || x->dtype != T_FLOAT || x->rank < 1 || ctx->opset >= 18 ||
        oq_attr_int(ctx, "noop_with_empty_axes", 0) != 0)
        return fallback(ctx);
    char mask[OQ_MAX_RANK] = {0};
    const int64_t *axes;
    long na = oq_attr_ints(ctx, "axes", &axes);
    for (long i = 0; i < na; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
        if (a < 0 || a >= x->rank || mask[a])
            return fallback(ctx); /* the reference reports it */
        mask[a] = 1;
    }
    if (na <= 0)
        memset(mask, 1, sizeof mask);
    int first = -1, last = -1;
    for (int d = 0; d < x->rank; d++) {
        if (x->dims[d] < 1)
            return fallback(ctx);
        if (mask[d]) {
            if (first >= 0 && last != d - 1)
                return fallback(ctx); /* not one block */
            if (first < 0)
                first = d;
            last = d;
        }
    }
    int64_t outer = 1, red = 1, inner = 1, od[OQ_MAX_RANK];
    int orank = 0, keep = oq_attr_int(ctx, "keepdims", 1) != 0;
    for (int d = 0; d < x->rank; d++) {
        if (d < first)
            outer *= x->dims[d];
        else if (d <= last)
            red *= x->dims[d];
        else
            inner *= x->dims[d];
        if (!mask[d])
            od[orank++] = x->dims[d];
        else if (keep)
            od[orank++] = 1;
    }
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, orank, od);
    int nt = oq_threads(ctx);
    double *acc = y && inner > 1
                      ? oq_scratch(ctx, (size_t)(nt * inner) * sizeof *acc)
                      : NULL;
    if (!y || (inner > 1 && !acc))
        return oq_failed(ctx);
    const float *px = x->data;
    float *py = y->data;
    OQ_PAR_FOR(nt, outer * red * inner)
    for (int64_t o = 0; o < outer; o++)
        mean_block(px + o * red * inner, red, inner,
                   acc ? acc + oq_thread_id() * inner : NULL, py + o * inner);
    n_fast++;
    return ONNXQ_OK;
}

/* ---- the kernels ---------------------------------------------------------- */

static onnxq_status run_pool(oq_kctx *ctx)
{
    const pool_state *st = ctx->state;
    const oq_tensor *x = oq_in(ctx, 0);
    pool_geom g;
    if (ctx->n_out != 1 || pool_geometry(ctx, x, &g))
        return fallback(ctx);
    int64_t dims[OQ_MAX_RANK] = {x->dims[0], x->dims[1]};
    size_t n_tab = 0;
    for (int d = 0; d < g.n; d++) {
        dims[d + 2] = g.out[d];
        n_tab += 3 * (size_t)g.out[d];
    }
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, dims);
    int64_t *mem = y ? oq_scratch(ctx, n_tab * sizeof *mem) : NULL;
    if (!mem)
        return oq_failed(ctx);
    dim_tab tab[MAXS];
    for (int d = 0, at = 0; d < g.n; d++) {
        make_tab(&g, d, mem + at, &tab[d]);
        at += 3 * (int)g.out[d];
    }
    pool_job jb = {&g, tab, st->avg, 0, x->data, y->data, 1, 1, 1};
    jb.include_pad = st->avg && oq_attr_int(ctx, "count_include_pad", 0) != 0;
    for (int d = 0; d < g.n; d++) {
        jb.in_sz *= g.in[d];
        jb.out_sz *= g.out[d];
        if (d < g.n - 1)
            jb.rows *= g.out[d];
    }
    int64_t taps = 1;
    for (int d = 0; d < g.n; d++)
        taps *= g.k[d];
    int64_t total = x->dims[0] * x->dims[1] * jb.rows;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, total * g.out[g.n - 1] * taps)
    for (int64_t r = 0; r < total; r++)
        pool_row(&jb, r);
    n_fast++;
    return ONNXQ_OK;
}

static onnxq_status pool_prepare(const oq_prepare_ctx *p, void **state, int avg)
{
    int cf;
    const oq_kernel *ref = oq_find_kernel("", p->node->op_type, p->opset, &cf);
    if (!ref || !ref->run)
        return ONNXQ_ERR_UNSUPPORTED;
    pool_state *st = malloc(sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    st->ref = ref;
    st->avg = avg;
    *state = st;
    return ONNXQ_OK;
}

static onnxq_status prepare_max(const oq_prepare_ctx *p, void **state)
{
    return pool_prepare(p, state, 0);
}

static onnxq_status prepare_avg(const oq_prepare_ctx *p, void **state)
{
    return pool_prepare(p, state, 1);
}

static onnxq_status prepare_mean(const oq_prepare_ctx *p, void **state)
{
    return pool_prepare(p, state, 1);
}

static void pool_release(void *state) { free(state); }

const oq_fast_kernel oq_vec_max_pool = {
    "", "MaxPool", 1, 21, prepare_max, run_pool, pool_release,
};

const oq_fast_kernel oq_vec_average_pool = {
    "", "AveragePool", 1, 21, prepare_avg, run_pool, pool_release,
};

const oq_fast_kernel oq_vec_reduce_mean = {
    "", "ReduceMean", 1, 17, prepare_mean, run_reduce_mean, pool_release,
};
