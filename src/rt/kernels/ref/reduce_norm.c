/*
 * reduce_norm.c — reference kernels for ONNX's reductions and
 * normalizations: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/
 * SumSquare, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax,
 * BatchNormalization, InstanceNormalization, LayerNormalization,
 * GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN, and
 * com.microsoft's LayerNormalization, SimplifiedLayerNormalization,
 * SkipLayerNormalization and SkipSimplifiedLayerNormalization.
 *
 * Numerics.  Floating-point inputs (float32, float64, float16, bfloat16) are
 * read as double, every sum, mean and variance is accumulated in double and
 * each result is rounded once to the output type.  ONNX Runtime accumulates
 * float32 in float; double is at least as close to the exact answer and
 * costs little here.  Variances are two-pass (mean first, then the squared
 * deviations), never E[x^2] - E[x]^2, which cancels badly.  Integer
 * reductions that have an integer answer (Sum, Mean, Max, Min, Prod, L1,
 * SumSquare) are computed in 64-bit integers: sums and products wrap to the
 * type's width as ONNX Runtime's do (through uint64, where overflow is
 * defined), Mean truncates toward zero.  L2, LogSum and LogSumExp of integers
 * go through double and saturate to the type.
 *
 * Reductions over an empty set give the identity of the reduction (ONNX
 * opset 18): 0 for Sum/SumSquare/L1/L2, 1 for Prod, -inf (the type's lowest
 * for integers) for Max and LogSum/LogSumExp, +inf (the type's highest) for
 * Min; Mean of nothing is NaN (0 for integers).  noop_with_empty_axes with
 * no axes reduces over no axis, so each element is reduced alone: Sum, Max,
 * Mean... give the input, SumSquare its square, L1/L2 its magnitude.
 *
 * Opset differences handled here:
 *   - reduction axes are an attribute up to opset 12 for ReduceSum and up to
 *     17 for the others, an optional input afterwards;
 *   - Softmax, LogSoftmax and Hardmax before opset 13 flatten the input to
 *     2-D at `axis` (default 1) and work on whole rows; from 13 they work
 *     along the one axis (default -1);
 *   - BatchNormalization: `spatial` (opsets 7-8) may give per-element
 *     statistics; training_mode (14+) computes batch statistics and the
 *     running mean/variance; before 14 training (outputs beyond Y) is
 *     refused as unsupported;
 *   - GroupNormalization-18 has one scale/bias per group, -21 one per
 *     channel.
 *
 * Shapes.  A reduction splits the input's dimensions into kept and reduced
 * ones (geom): dimensions of 1 are dropped and neighbours that are
 * contiguous are merged, so a reduction is a loop over kept offsets and, for
 * each, a walk over runs of the innermost reduced dimension.  Element types
 * are data (elem_ops: typed get/set hooks), so each kernel is written once.
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
    DT_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
};

/* ---- element types as data -------------------------------------------------- */

/* How to read and write one element of a type.  get/set go through double
 * (set rounds to nearest even for floats and saturates for integers);
 * geti/seti, for integers and bool only, keep 64-bit integers exact
 * (uint64 values travel as their bits; seti keeps the low bits). */
typedef struct elem_ops {
    int32_t dtype;
    int is_float;
    int is_unsigned; /* unsigned integers and bool */
    int bits;        /* integer width; 1 for bool */
    double (*get)(const void *p, size_t i);
    void (*set)(void *p, size_t i, double v);
    int64_t (*geti)(const void *p, size_t i);
    void (*seti)(void *p, size_t i, int64_t v);
} elem_ops;

static double get_f32(const void *p, size_t i) { return ((const float *)p)[i]; }
static void set_f32(void *p, size_t i, double v) { ((float *)p)[i] = (float)v; }
static double get_f64(const void *p, size_t i) { return ((const double *)p)[i]; }
static void set_f64(void *p, size_t i, double v) { ((double *)p)[i] = v; }
static double get_f16(const void *p, size_t i)
{
    return oq_half_to_float(((const uint16_t *)p)[i]);
}
/* through float, like ONNX Runtime, which computes half types in float */
static void set_f16(void *p, size_t i, double v)
{
    ((uint16_t *)p)[i] = oq_float_to_half((float)v);
}
static double get_bf16(const void *p, size_t i)
{
    return oq_bfloat16_to_float(((const uint16_t *)p)[i]);
}
static void set_bf16(void *p, size_t i, double v)
{
    ((uint16_t *)p)[i] = oq_float_to_bfloat16((float)v);
}

/* C leaves float-to-integer conversion undefined out of range, so set
 * saturates (NaN gives 0).  LO and HI_EXCL are powers of two (or 0), exact
 * in a double, so the comparisons are exact. */
#define INT_ELEM(name, T, LO, HI_EXCL, MAXV)                                  \
    static int64_t geti_##name(const void *p, size_t i)                       \
    {                                                                         \
        return (int64_t)((const T *)p)[i];                                    \
    }                                                                         \
    static void seti_##name(void *p, size_t i, int64_t v)                     \
    {                                                                         \
        ((T *)p)[i] = (T)v;                                                   \
    }                                                                         \
    static double get_##name(const void *p, size_t i)                         \
    {                                                                         \
        return (double)((const T *)p)[i];                                     \
    }                                                                         \
    static void set_##name(void *p, size_t i, double v)                       \
    {                                                                         \
        ((T *)p)[i] = v != v ? (T)0 : v < (LO) ? (T)(LO)                      \
                      : v >= (HI_EXCL) ? (T)(MAXV) : (T)v;                    \
    }

INT_ELEM(i8, int8_t, -0x1p7, 0x1p7, INT8_MAX)
INT_ELEM(i16, int16_t, -0x1p15, 0x1p15, INT16_MAX)
INT_ELEM(i32, int32_t, -0x1p31, 0x1p31, INT32_MAX)
INT_ELEM(i64, int64_t, -0x1p63, 0x1p63, INT64_MAX)
INT_ELEM(u8, uint8_t, 0.0, 0x1p8, UINT8_MAX)
INT_ELEM(u16, uint16_t, 0.0, 0x1p16, UINT16_MAX)
INT_ELEM(u32, uint32_t, 0.0, 0x1p32, UINT32_MAX)
INT_ELEM(u64, uint64_t, 0.0, 0x1p64, UINT64_MAX)

static int64_t geti_bool(const void *p, size_t i)
{
    return ((const uint8_t *)p)[i] != 0;
}
static void seti_bool(void *p, size_t i, int64_t v) { ((uint8_t *)p)[i] = v != 0; }
static double get_bool(const void *p, size_t i) { return (double)geti_bool(p, i); }
static void set_bool(void *p, size_t i, double v) { ((uint8_t *)p)[i] = v != 0; }

static const elem_ops ELEM_OPS[] = {
    {DT_F32, 1, 0, 32, get_f32, set_f32, NULL, NULL},
    {DT_F64, 1, 0, 64, get_f64, set_f64, NULL, NULL},
    {DT_F16, 1, 0, 16, get_f16, set_f16, NULL, NULL},
    {DT_BF16, 1, 0, 16, get_bf16, set_bf16, NULL, NULL},
    {DT_I8, 0, 0, 8, get_i8, set_i8, geti_i8, seti_i8},
    {DT_I16, 0, 0, 16, get_i16, set_i16, geti_i16, seti_i16},
    {DT_I32, 0, 0, 32, get_i32, set_i32, geti_i32, seti_i32},
    {DT_I64, 0, 0, 64, get_i64, set_i64, geti_i64, seti_i64},
    {DT_U8, 0, 1, 8, get_u8, set_u8, geti_u8, seti_u8},
    {DT_U16, 0, 1, 16, get_u16, set_u16, geti_u16, seti_u16},
    {DT_U32, 0, 1, 32, get_u32, set_u32, geti_u32, seti_u32},
    {DT_U64, 0, 1, 64, get_u64, set_u64, geti_u64, seti_u64},
    {DT_BOOL, 0, 1, 1, get_bool, set_bool, geti_bool, seti_bool},
};

static const elem_ops *elem_ops_of(int32_t dtype)
{
    for (size_t i = 0; i < sizeof ELEM_OPS / sizeof *ELEM_OPS; i++)
        if (ELEM_OPS[i].dtype == dtype)
            return &ELEM_OPS[i];
    return NULL;
}

/* The lowest and highest value of an integer type, as the bits seti keeps. */
static uint64_t int_lowest(const elem_ops *e)
{
    return e->is_unsigned ? 0 : (uint64_t)-1 << (e->bits - 1);
}

static uint64_t int_highest(const elem_ops *e)
{
    if (e->is_unsigned)
        return e->bits == 64 ? UINT64_MAX : ((uint64_t)1 << e->bits) - 1;
    return ((uint64_t)1 << (e->bits - 1)) - 1;
}

/* ---- small helpers ------------------------------------------------------------ */

static onnxq_status missing(oq_kctx *ctx, size_t i, const char *name)
{
    return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                    "required input %zu (%s) is missing", i, name);
}

/* The node names output i (a declared but empty name is omitted). */
static int wants_output(const oq_kctx *ctx, size_t i)
{
    return i < ctx->n_out && ctx->node->output[i] && ctx->node->output[i][0];
}

static onnxq_status too_many_outputs(oq_kctx *ctx, size_t max)
{
    return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                    "the node declares %zu outputs, this op has at most %zu",
                    ctx->n_out, max);
}

/* Input i must be float32, float64, float16 or bfloat16. */
static onnxq_status want_float(oq_kctx *ctx, const oq_tensor *t, size_t i,
                               const char *name, const elem_ops **ops)
{
    const elem_ops *e = elem_ops_of(t->dtype);
    if (!e || !e->is_float)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input %zu (%s) has type %s; this op takes float32, "
                        "float64, float16 or bfloat16", i, name,
                        onnxq_dtype_name(t->dtype));
    *ops = e;
    return ONNXQ_OK;
}

/* A required float input. */
static onnxq_status float_in(oq_kctx *ctx, size_t i, const char *name,
                             const oq_tensor **t, const elem_ops **ops)
{
    *t = oq_in(ctx, i);
    if (!*t)
        return missing(ctx, i, name);
    return want_float(ctx, *t, i, name, ops);
}

/* An optional float input: *t NULL if omitted. */
static onnxq_status float_in_opt(oq_kctx *ctx, size_t i, const char *name,
                                 const oq_tensor **t, const elem_ops **ops)
{
    *t = oq_in(ctx, i);
    *ops = NULL;
    return *t ? want_float(ctx, *t, i, name, ops) : ONNXQ_OK;
}

/* axis in [-rank, hi] (hi is rank - 1, or rank where flattening allows it),
 * made non-negative. */
static onnxq_status norm_axis(oq_kctx *ctx, int64_t axis, int rank, int hi,
                              int *out)
{
    *out = 0; /* defined even on failure, which the compiler cannot see */
    if (axis < -(int64_t)rank || axis > hi)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axis %lld is out of range for a rank-%d input "
                        "(valid: %d..%d)", (long long)axis, rank, -rank, hi);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return ONNXQ_OK;
}

static size_t prod_dims(const int64_t *dims, int from, int to)
{
    size_t n = 1;
    for (int d = from; d < to; d++)
        n *= (size_t)dims[d];
    return n;
}

/* Scratch of per_thread doubles for each of nt threads (never NULL on
 * success, even for 0). */
static double *scratch_alloc(oq_kctx *ctx, int nt, size_t per_thread)
{
    size_t n = (size_t)nt * per_thread;
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                 "out of memory for %zu scratch values", n);
    return p;
}

/* Mean and population variance of v[0..n), two-pass. */
static void row_stats(const double *v, size_t n, double *mean, double *var)
{
    double s = 0, q = 0;
    for (size_t j = 0; j < n; j++)
        s += v[j];
    double m = s / (double)n;
    for (size_t j = 0; j < n; j++)
        q += (v[j] - m) * (v[j] - m);
    *mean = m;
    *var = q / (double)n;
}

/* For every element of a tensor of shape dims[0..rank), the flat index into
 * p broadcast to that shape (numpy: right-aligned, 1 stretches).  -1 if p
 * does not broadcast. */
static int bcast_map(const oq_tensor *p, int rank, const int64_t *dims,
                     size_t *map)
{
    if (p->rank > rank)
        return -1;
    size_t str[OQ_MAX_RANK], s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int pd = d - (rank - p->rank);
        int64_t n = pd >= 0 ? p->dims[pd] : 1;
        if (n != 1 && n != dims[d])
            return -1;
        str[d] = n == 1 ? 0 : s;
        s *= (size_t)n;
    }
    size_t total = prod_dims(dims, 0, rank);
    for (size_t i = 0; i < total; i++) {
        size_t rest = i, idx = 0;
        for (int d = rank - 1; d >= 0; d--) {
            idx += rest % (size_t)dims[d] * str[d];
            rest /= (size_t)dims[d];
        }
        map[i] = idx;
    }
    return 0;
}

/* ---- kept / reduced geometry ---------------------------------------------------- */

/* The input's dimensions split into kept (k*) and reduced (r*) ones, each
 * list in the input's order with its strides in elements.  Dimensions of 1
 * are dropped and contiguous neighbours merged; an empty list holds one
 * dimension of 1.  The reduced set is walked as n_runs runs of the innermost
 * reduced dimension. */
typedef struct geom {
    int nk, nr;
    int64_t kdim[OQ_MAX_RANK], rdim[OQ_MAX_RANK];
    size_t kstr[OQ_MAX_RANK], rstr[OQ_MAX_RANK];
    size_t n_kept, n_red, n_runs;
} geom;

static void geom_init(geom *g, const oq_tensor *x, const char *mask)
{
    size_t str[OQ_MAX_RANK], s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        str[d] = s;
        s *= (size_t)x->dims[d];
    }
    memset(g, 0, sizeof *g);
    g->n_kept = g->n_red = 1;
    for (int d = 0; d < x->rank; d++) {
        int red = mask[d];
        int64_t n = x->dims[d];
        if (red)
            g->n_red *= (size_t)n;
        else
            g->n_kept *= (size_t)n;
        if (n == 1)
            continue;
        int64_t *dim = red ? g->rdim : g->kdim;
        size_t *st = red ? g->rstr : g->kstr;
        int *cnt = red ? &g->nr : &g->nk;
        if (*cnt && st[*cnt - 1] == str[d] * (size_t)n) {
            dim[*cnt - 1] *= n;
            st[*cnt - 1] = str[d];
        } else {
            dim[*cnt] = n;
            st[*cnt] = str[d];
            ++*cnt;
        }
    }
    if (!g->nr) {
        g->rdim[0] = 1;
        g->nr = 1;
    }
    if (!g->nk) {
        g->kdim[0] = 1;
        g->nk = 1;
    }
    g->n_runs = g->n_red ? g->n_red / (size_t)g->rdim[g->nr - 1] : 0;
}

/* Offset in the input of kept position o (row-major over kept dims, which
 * is also the output's order). */
static size_t geom_base(const geom *g, size_t o)
{
    size_t base = 0;
    for (int d = g->nk - 1; d >= 0; d--) {
        base += o % (size_t)g->kdim[d] * g->kstr[d];
        o /= (size_t)g->kdim[d];
    }
    return base;
}

typedef struct run_iter {
    size_t idx[OQ_MAX_RANK];
    size_t off, left;
} run_iter;

static void runs_begin(run_iter *it, const geom *g, size_t base)
{
    memset(it->idx, 0, sizeof it->idx);
    it->off = base;
    it->left = g->n_runs;
}

/* The start of the next run (length rdim[nr-1], stride rstr[nr-1]). */
static int runs_next(run_iter *it, const geom *g, size_t *start)
{
    if (!it->left)
        return 0;
    *start = it->off;
    it->left--;
    for (int d = g->nr - 2; d >= 0; d--) {
        it->off += g->rstr[d];
        if (++it->idx[d] < (size_t)g->rdim[d])
            break;
        it->off -= g->rstr[d] * (size_t)g->rdim[d];
        it->idx[d] = 0;
    }
    return 1;
}

/* ---- ReduceXxx ---------------------------------------------------------------------- */

typedef enum red_kind {
    RED_SUM,
    RED_MEAN,
    RED_MAX,
    RED_MIN,
    RED_PROD,
    RED_L1,
    RED_L2,
    RED_LOG_SUM,
    RED_LOG_SUM_EXP,
    RED_SUM_SQUARE,
} red_kind;

static double reduce_float(const geom *g, const elem_ops *e, const void *x,
                           size_t base, red_kind k)
{
    double acc = k == RED_PROD ? 1 : k == RED_MAX ? -INFINITY
                 : k == RED_MIN ? INFINITY : 0;
    /* LogSumExp in one pass: m is the largest value so far and acc the sum
     * of exp(v - m), rescaled whenever m grows, so nothing overflows. */
    double m = -INFINITY;
    size_t n = (size_t)g->rdim[g->nr - 1], s = g->rstr[g->nr - 1], off;
    run_iter it;
    runs_begin(&it, g, base);
    while (runs_next(&it, g, &off))
        for (size_t j = 0; j < n; j++) {
            double v = e->get(x, off + j * s);
            switch (k) {
            case RED_SUM:
            case RED_MEAN:
            case RED_LOG_SUM: acc += v; break;
            case RED_SUM_SQUARE:
            case RED_L2: acc += v * v; break;
            case RED_L1: acc += fabs(v); break;
            case RED_PROD: acc *= v; break;
            /* NaN wins and then sticks, as numpy's max/min do */
            case RED_MAX: if (v > acc || v != v) acc = v; break;
            case RED_MIN: if (v < acc || v != v) acc = v; break;
            case RED_LOG_SUM_EXP:
                if (v > m) {
                    acc = acc * exp(m - v) + 1;
                    m = v;
                } else if (v == m) { /* also +-inf twice, where v - m is NaN */
                    acc += 1;
                } else {
                    acc += exp(v - m);
                }
                break;
            }
        }
    switch (k) {
    case RED_MEAN: return acc / (double)g->n_red; /* 0/0: NaN for nothing */
    case RED_L2: return sqrt(acc);
    case RED_LOG_SUM: return log(acc);
    case RED_LOG_SUM_EXP: return m + log(acc); /* nothing: -inf + log 0 */
    default: return acc;
    }
}

/* Integer reductions with an integer answer, exact; the result's low bits
 * are the value in the type. */
static uint64_t reduce_int(const geom *g, const elem_ops *e, const void *x,
                           size_t base, red_kind k)
{
    uint64_t acc = k == RED_PROD ? 1 : k == RED_MAX ? int_lowest(e)
                   : k == RED_MIN ? int_highest(e) : 0;
    int uns = e->is_unsigned;
    size_t n = (size_t)g->rdim[g->nr - 1], s = g->rstr[g->nr - 1], off;
    run_iter it;
    runs_begin(&it, g, base);
    while (runs_next(&it, g, &off))
        for (size_t j = 0; j < n; j++) {
            uint64_t v = (uint64_t)e->geti(x, off + j * s);
            switch (k) {
            case RED_SUM:
            case RED_MEAN: acc += v; break;
            case RED_SUM_SQUARE: acc += v * v; break;
            case RED_L1: acc += !uns && (int64_t)v < 0 ? 0 - v : v; break;
            case RED_PROD: acc *= v; break;
            case RED_MAX:
                if (uns ? v > acc : (int64_t)v > (int64_t)acc)
                    acc = v;
                break;
            case RED_MIN:
                if (uns ? v < acc : (int64_t)v < (int64_t)acc)
                    acc = v;
                break;
            default: break;
            }
        }
    if (k == RED_MEAN) {
        if (!g->n_red)
            return 0;
        return uns ? acc / g->n_red
                   : (uint64_t)((int64_t)acc / (int64_t)g->n_red);
    }
    return acc;
}

/* Which axes of x to reduce, into mask[rank]. */
static onnxq_status reduce_mask(oq_kctx *ctx, const oq_tensor *x,
                                int64_t axes_input_since, char *mask)
{
    int r = x->rank;
    const int64_t *attr = NULL;
    const oq_tensor *in = NULL;
    long n = 0;
    if (ctx->opset >= axes_input_since) {
        if (oq_attr(ctx, "axes"))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "axes is an input from opset %lld on, not an "
                            "attribute (node has opset %lld)",
                            (long long)axes_input_since, (long long)ctx->opset);
        in = oq_in(ctx, 1);
        if (in) {
            const elem_ops *e = elem_ops_of(in->dtype);
            if (!e || e->is_float || in->dtype == DT_BOOL)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "axes (input 1) must be int64, got %s",
                                onnxq_dtype_name(in->dtype));
            if (in->rank > 1)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "axes (input 1) must be 1-D, got rank %d",
                                in->rank);
            n = (long)oq_numel(in);
        }
    } else {
        n = oq_attr_ints(ctx, "axes", &attr);
        if (n < 0)
            n = 0;
    }
    if (n == 0) {
        /* no axes: all of them, or none with noop_with_empty_axes */
        int noop = oq_attr_int(ctx, "noop_with_empty_axes", 0) != 0;
        memset(mask, !noop, OQ_MAX_RANK);
        return ONNXQ_OK;
    }
    memset(mask, 0, OQ_MAX_RANK);
    for (long i = 0; i < n; i++) {
        int64_t a = in ? oq_get_i64(in, (size_t)i) : attr[i];
        if (a < -(int64_t)r || a >= r)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "axis %lld is out of range for a rank-%d input "
                            "(valid: %d..%d)", (long long)a, r, -r, r - 1);
        int64_t given = a;
        if (a < 0)
            a += r;
        if (mask[a])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "axes name axis %lld twice (the second time as "
                            "%lld)", (long long)a, (long long)given);
        mask[a] = 1;
    }
    return ONNXQ_OK;
}

static onnxq_status reduce(oq_kctx *ctx, red_kind k, int64_t axes_input_since)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return missing(ctx, 0, "data");
    const elem_ops *e = elem_ops_of(x->dtype);
    if (!e)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input type %s is not supported",
                        onnxq_dtype_name(x->dtype));
    if (x->dtype == DT_BOOL && k != RED_MAX && k != RED_MIN)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input type bool is not supported (of the "
                        "reductions only ReduceMax and ReduceMin take it)");
    char mask[OQ_MAX_RANK];
    onnxq_status st = reduce_mask(ctx, x, axes_input_since, mask);
    if (st != ONNXQ_OK)
        return st;
    int keep = oq_attr_int(ctx, "keepdims", 1) != 0;
    int64_t od[OQ_MAX_RANK];
    int orank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!mask[d])
            od[orank++] = x->dims[d];
        else if (keep)
            od[orank++] = 1;
    oq_tensor *y = oq_output(ctx, 0, x->dtype, orank, od);
    if (!y)
        return oq_failed(ctx);
    geom g;
    geom_init(&g, x, mask);
    int exact = !e->is_float && k != RED_L2 && k != RED_LOG_SUM &&
                k != RED_LOG_SUM_EXP;
    int nt = oq_threads(ctx);
    size_t n_out = g.n_kept, work = g.n_kept * (g.n_red ? g.n_red : 1);
    OQ_PAR_FOR(nt, work)
    for (size_t o = 0; o < n_out; o++) {
        size_t base = geom_base(&g, o);
        if (exact)
            e->seti(y->data, o, (int64_t)reduce_int(&g, e, x->data, base, k));
        else
            e->set(y->data, o, reduce_float(&g, e, x->data, base, k));
    }
    return ONNXQ_OK;
}

/* axes became an input in opset 13 for ReduceSum, 18 for the others */
static onnxq_status run_reduce_sum(oq_kctx *c) { return reduce(c, RED_SUM, 13); }
static onnxq_status run_reduce_mean(oq_kctx *c) { return reduce(c, RED_MEAN, 18); }
static onnxq_status run_reduce_max(oq_kctx *c) { return reduce(c, RED_MAX, 18); }
static onnxq_status run_reduce_min(oq_kctx *c) { return reduce(c, RED_MIN, 18); }
static onnxq_status run_reduce_prod(oq_kctx *c) { return reduce(c, RED_PROD, 18); }
static onnxq_status run_reduce_l1(oq_kctx *c) { return reduce(c, RED_L1, 18); }
static onnxq_status run_reduce_l2(oq_kctx *c) { return reduce(c, RED_L2, 18); }
static onnxq_status run_reduce_log_sum(oq_kctx *c)
{
    return reduce(c, RED_LOG_SUM, 18);
}
static onnxq_status run_reduce_log_sum_exp(oq_kctx *c)
{
    return reduce(c, RED_LOG_SUM_EXP, 18);
}
static onnxq_status run_reduce_sum_square(oq_kctx *c)
{
    return reduce(c, RED_SUM_SQUARE, 18);
}

/* ---- ArgMax / ArgMin ------------------------------------------------------------------ */

static onnxq_status arg_reduce(oq_kctx *ctx, int want_max)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return missing(ctx, 0, "data");
    const elem_ops *e = elem_ops_of(x->dtype);
    if (!e)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "input type %s is not supported",
                        onnxq_dtype_name(x->dtype));
    if (x->rank < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "the input is a scalar; it needs an axis");
    int axis;
    onnxq_status st = norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank,
                                x->rank - 1, &axis);
    if (st != ONNXQ_OK)
        return st;
    int keep = oq_attr_int(ctx, "keepdims", 1) != 0;
    int last = oq_attr_int(ctx, "select_last_index", 0) != 0;
    size_t outer = prod_dims(x->dims, 0, axis), n = (size_t)x->dims[axis],
           inner = prod_dims(x->dims, axis + 1, x->rank);
    if (n == 0 && outer * inner > 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axis %d has no elements to choose from "
                        "(dimension 0)", axis);
    int64_t od[OQ_MAX_RANK];
    int orank = 0;
    for (int d = 0; d < x->rank; d++)
        if (d != axis)
            od[orank++] = x->dims[d];
        else if (keep)
            od[orank++] = 1;
    oq_tensor *y = oq_output(ctx, 0, DT_I64, orank, od);
    if (!y)
        return oq_failed(ctx);
    int64_t *out = y->data;
    int nt = oq_threads(ctx);
    size_t rows = outer * inner, work = rows * n;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        size_t base = r / inner * n * inner + r % inner;
        size_t bi = 0;
        if (e->is_float) {
            /* NaN counts as the extreme, as numpy's argmax/argmin do */
            double b = e->get(x->data, base);
            for (size_t j = 1; j < n; j++) {
                double v = e->get(x->data, base + j * inner);
                int better = (want_max ? v > b : v < b) || (v != v && b == b);
                int same = v == b || (v != v && b != b);
                if (better || (last && same)) {
                    b = v;
                    bi = j;
                }
            }
        } else {
            int64_t b = e->geti(x->data, base);
            for (size_t j = 1; j < n; j++) {
                int64_t v = e->geti(x->data, base + j * inner);
                int better = e->is_unsigned
                    ? (want_max ? (uint64_t)v > (uint64_t)b
                                : (uint64_t)v < (uint64_t)b)
                    : (want_max ? v > b : v < b);
                if (better || (last && v == b)) {
                    b = v;
                    bi = j;
                }
            }
        }
        out[r] = (int64_t)bi;
    }
    return ONNXQ_OK;
}

static onnxq_status run_argmax(oq_kctx *c) { return arg_reduce(c, 1); }
static onnxq_status run_argmin(oq_kctx *c) { return arg_reduce(c, 0); }

/* ---- Softmax / LogSoftmax / Hardmax ---------------------------------------------------- */

typedef enum sm_kind { SM_SOFT, SM_LOG, SM_HARD } sm_kind;

static onnxq_status softmax_like(oq_kctx *ctx, sm_kind kind)
{
    const oq_tensor *x;
    const elem_ops *e;
    onnxq_status st = float_in(ctx, 0, "input", &x, &e);
    if (st != ONNXQ_OK)
        return st;
    /* Before opset 13 the input is seen as 2-D [prod(dims[:axis]),
     * prod(dims[axis:])] and each whole row is normalised; from 13 only the
     * one axis is.  The defaults differ too (1, then -1). */
    int legacy = ctx->opset < 13;
    size_t outer = 1, n = 1, inner = 1;
    if (x->rank > 0) {
        int axis;
        st = norm_axis(ctx, oq_attr_int(ctx, "axis", legacy ? 1 : -1),
                       x->rank, legacy ? x->rank : x->rank - 1, &axis);
        if (st != ONNXQ_OK)
            return st;
        outer = prod_dims(x->dims, 0, axis);
        if (legacy) {
            n = prod_dims(x->dims, axis, x->rank);
        } else {
            n = (size_t)x->dims[axis];
            inner = prod_dims(x->dims, axis + 1, x->rank);
        }
    }
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t rows = outer * inner;
    if (!rows || !n)
        return ONNXQ_OK;
    int nt = oq_threads(ctx);
    double *scratch = scratch_alloc(ctx, nt, n);
    if (!scratch)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t work = rows * n;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        double *v = scratch + (size_t)oq_thread_id() * n;
        size_t base = r / inner * n * inner + r % inner;
        double m = -INFINITY;
        size_t mi = 0;
        for (size_t j = 0; j < n; j++) {
            v[j] = e->get(x->data, base + j * inner);
            if (v[j] > m || j == 0) {
                m = v[j];
                mi = j;
            }
        }
        if (kind == SM_HARD) {
            for (size_t j = 0; j < n; j++)
                e->set(y->data, base + j * inner, j == mi ? 1.0 : 0.0);
            continue;
        }
        double s = 0;
        for (size_t j = 0; j < n; j++) {
            v[j] -= m;
            s += exp(v[j]);
        }
        if (kind == SM_LOG) {
            double ls = log(s);
            for (size_t j = 0; j < n; j++)
                e->set(y->data, base + j * inner, v[j] - ls);
        } else {
            for (size_t j = 0; j < n; j++)
                e->set(y->data, base + j * inner, exp(v[j]) / s);
        }
    }
    free(scratch);
    return ONNXQ_OK;
}

static onnxq_status run_softmax(oq_kctx *c) { return softmax_like(c, SM_SOFT); }
static onnxq_status run_log_softmax(oq_kctx *c) { return softmax_like(c, SM_LOG); }
static onnxq_status run_hardmax(oq_kctx *c) { return softmax_like(c, SM_HARD); }

/* ---- BatchNormalization ------------------------------------------------------------------ */

static onnxq_status run_batch_norm(oq_kctx *ctx)
{
    static const char *const names[5] = {"X", "scale", "B", "input_mean",
                                         "input_var"};
    const oq_tensor *t[5];
    const elem_ops *e[5];
    for (size_t i = 0; i < 5; i++) {
        onnxq_status st = float_in(ctx, i, names[i], &t[i], &e[i]);
        if (st != ONNXQ_OK)
            return st;
    }
    const oq_tensor *x = t[0];
    char sb[96], xb[96];
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be N x C x ... (rank 2 or more), got shape %s",
                        oq_shape_str(x, sb, sizeof sb));
    size_t N = (size_t)x->dims[0], C = (size_t)x->dims[1],
           S = prod_dims(x->dims, 2, x->rank);
    /* spatial = 0 (opsets 7-8): statistics per element of C x D1 x ... */
    int spatial = ctx->opset < 9 ? oq_attr_int(ctx, "spatial", 1) != 0 : 1;
    size_t P = spatial ? C : C * S;
    for (size_t i = 1; i < 5; i++)
        if (oq_numel(t[i]) != P)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "%s has shape %s (%zu elements); X of shape %s "
                            "needs %zu%s", names[i],
                            oq_shape_str(t[i], sb, sizeof sb),
                            oq_numel(t[i]),
                            oq_shape_str(x, xb, sizeof xb), P,
                            spatial ? " (one per channel)"
                                    : " (C x D1 x ..., spatial = 0)");
    int training;
    if (ctx->opset >= 14) {
        training = oq_attr_int(ctx, "training_mode", 0) != 0;
        if (ctx->n_out > 3)
            return too_many_outputs(ctx, 3);
    } else {
        /* before 14, asking for the running/saved statistics (outputs 1..4)
         * is what selected training */
        training = 0;
        for (size_t i = 1; i < ctx->n_out; i++)
            training |= wants_output(ctx, i);
        if (training)
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "training mode (outputs beyond Y) is only "
                            "implemented from opset 14 (training_mode); the "
                            "node has opset %lld", (long long)ctx->opset);
        if (ctx->n_out > 5)
            return too_many_outputs(ctx, 5);
    }
    if (!training && ctx->opset >= 14 && ctx->n_out > 1)
        for (size_t i = 1; i < ctx->n_out; i++)
            if (wants_output(ctx, i))
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                                "outputs running_mean/running_var need "
                                "training_mode = 1");
    double eps = oq_attr_float(ctx, "epsilon", 1e-5f);
    double momentum = oq_attr_float(ctx, "momentum", 0.9f);

    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    /* y = x * a[p] + b[p] with a = scale / sqrt(var + eps) and
     * b = B - mean * a, all in double */
    double *a = malloc(2 * (P ? P : 1) * sizeof *a);
    if (!a)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    double *b = a + P;
    onnxq_status st = ONNXQ_OK;
    if (training) {
        /* batch statistics over N and the spatial dims (population
         * variance), which also update the running ones */
        oq_tensor *rm = NULL, *rv = NULL;
        if (ctx->n_out > 1 &&
            !(rm = oq_output(ctx, 1, t[3]->dtype, t[3]->rank, t[3]->dims)))
            st = oq_failed(ctx);
        if (st == ONNXQ_OK && ctx->n_out > 2 &&
            !(rv = oq_output(ctx, 2, t[4]->dtype, t[4]->rank, t[4]->dims)))
            st = oq_failed(ctx);
        size_t cnt = N * S;
        for (size_t c = 0; c < C && st == ONNXQ_OK; c++) {
            double s = 0, q = 0;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < S; j++)
                    s += e[0]->get(x->data, (i * C + c) * S + j);
            double m = s / (double)cnt;
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < S; j++) {
                    double d = e[0]->get(x->data, (i * C + c) * S + j) - m;
                    q += d * d;
                }
            double v = q / (double)cnt;
            a[c] = e[1]->get(t[1]->data, c) / sqrt(v + eps);
            b[c] = e[2]->get(t[2]->data, c) - m * a[c];
            if (rm)
                e[3]->set(rm->data, c, e[3]->get(t[3]->data, c) * momentum +
                                           m * (1 - momentum));
            if (rv)
                e[4]->set(rv->data, c, e[4]->get(t[4]->data, c) * momentum +
                                           v * (1 - momentum));
        }
    } else {
        for (size_t p = 0; p < P; p++) {
            a[p] = e[1]->get(t[1]->data, p) /
                   sqrt(e[4]->get(t[4]->data, p) + eps);
            b[p] = e[2]->get(t[2]->data, p) - e[3]->get(t[3]->data, p) * a[p];
        }
        /* omitted statistics outputs (declared, empty names) */
        for (size_t i = 1; i < ctx->n_out && st == ONNXQ_OK; i++)
            if (!oq_output(ctx, i, t[3]->dtype, 1, (int64_t[]){0}))
                st = oq_failed(ctx);
    }
    if (st == ONNXQ_OK) {
        int nt = oq_threads(ctx);
        size_t rows = N * C, work = rows * S;
            OQ_PAR_FOR(nt, work)
        for (size_t r = 0; r < rows; r++) {
            size_t c = r % C;
            for (size_t j = 0; j < S; j++) {
                size_t p = spatial ? c : c * S + j, i = r * S + j;
                e[0]->set(y->data, i, e[0]->get(x->data, i) * a[p] + b[p]);
            }
        }
    }
    free(a);
    return st;
}

/* ---- InstanceNormalization / GroupNormalization --------------------------------------------- */

/* Normalises each group of C/G channels of each sample over the group's
 * channels and spatial positions, then applies scale and bias, indexed by
 * channel (per_channel) or by group.  InstanceNormalization is G = C. */
static onnxq_status group_norm(oq_kctx *ctx, int64_t G, int per_channel,
                               const char *param_rule)
{
    const oq_tensor *x, *sc, *bi;
    const elem_ops *ex, *es, *eb;
    onnxq_status st;
    if ((st = float_in(ctx, 0, "X", &x, &ex)) != ONNXQ_OK ||
        (st = float_in(ctx, 1, "scale", &sc, &es)) != ONNXQ_OK ||
        (st = float_in(ctx, 2, "B", &bi, &eb)) != ONNXQ_OK)
        return st;
    char sb[64];
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be N x C x ... (rank 2 or more), got shape %s",
                        oq_shape_str(x, sb, sizeof sb));
    int64_t C = x->dims[1];
    if (G <= 0 || C % G != 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "num_groups %lld must be positive and divide the "
                        "%lld channels", (long long)G, (long long)C);
    size_t want = per_channel ? (size_t)C : (size_t)G;
    if (oq_numel(sc) != want || oq_numel(bi) != want)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "scale has %zu and B %zu elements; X of shape %s "
                        "needs %zu (%s)",
                        oq_numel(sc), oq_numel(bi),
                        oq_shape_str(x, sb, sizeof sb), want,
                        param_rule);
    if (ctx->n_out > 1)
        return too_many_outputs(ctx, 1);
    double eps = oq_attr_float(ctx, "epsilon", 1e-5f);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t S = prod_dims(x->dims, 2, x->rank), cpg = (size_t)(C / G),
           rows = (size_t)x->dims[0] * (size_t)G, cols = cpg * S;
    if (!rows || !cols)
        return ONNXQ_OK;
    int nt = oq_threads(ctx);
    double *scratch = scratch_alloc(ctx, nt, cols);
    if (!scratch)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t work = rows * cols;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        double *v = scratch + (size_t)oq_thread_id() * cols;
        size_t g = r % (size_t)G, base = r * cols;
        for (size_t j = 0; j < cols; j++)
            v[j] = ex->get(x->data, base + j);
        double mean, var;
        row_stats(v, cols, &mean, &var);
        double inv = 1 / sqrt(var + eps);
        for (size_t j = 0; j < cols; j++) {
            size_t p = per_channel ? g * cpg + j / S : g;
            ex->set(y->data, base + j,
                    (v[j] - mean) * inv * es->get(sc->data, p) +
                        eb->get(bi->data, p));
        }
    }
    free(scratch);
    return ONNXQ_OK;
}

static onnxq_status run_instance_norm(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return missing(ctx, 0, "input");
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input must be N x C x ... (rank 2 or more), got "
                        "rank %d", x->rank);
    return group_norm(ctx, x->dims[1], 1, "one per channel");
}

static onnxq_status run_group_norm(oq_kctx *ctx)
{
    const Onnx__AttributeProto *a = oq_attr(ctx, "num_groups");
    if (!a)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "the required attribute num_groups is missing");
    int64_t G = oq_attr_int(ctx, "num_groups", 0);
    if (ctx->opset >= 21)
        return group_norm(ctx, G, 1, "one per channel from opset 21");
    return group_norm(ctx, G, 0, "one per group in opsets 18-20");
}

/* ---- LpNormalization / MeanVarianceNormalization / LRN ----------------------------------------- */

static onnxq_status run_lp_norm(oq_kctx *ctx)
{
    const oq_tensor *x;
    const elem_ops *e;
    onnxq_status st = float_in(ctx, 0, "input", &x, &e);
    if (st != ONNXQ_OK)
        return st;
    int64_t p = oq_attr_int(ctx, "p", 2);
    if (p != 1 && p != 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "p must be 1 or 2, got %lld", (long long)p);
    size_t outer = 1, n = 1, inner = 1;
    if (x->rank > 0) {
        int axis;
        st = norm_axis(ctx, oq_attr_int(ctx, "axis", -1), x->rank,
                       x->rank - 1, &axis);
        if (st != ONNXQ_OK)
            return st;
        outer = prod_dims(x->dims, 0, axis);
        n = (size_t)x->dims[axis];
        inner = prod_dims(x->dims, axis + 1, x->rank);
    }
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    int nt = oq_threads(ctx);
    size_t rows = outer * inner, work = rows * n;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        size_t base = r / inner * n * inner + r % inner;
        double s = 0;
        for (size_t j = 0; j < n; j++) {
            double v = e->get(x->data, base + j * inner);
            s += p == 1 ? fabs(v) : v * v;
        }
        double norm = p == 1 ? s : sqrt(s);
        /* a zero vector stays zero, as in ONNX Runtime */
        for (size_t j = 0; j < n; j++) {
            size_t i = base + j * inner;
            e->set(y->data, i, norm == 0 ? 0.0 : e->get(x->data, i) / norm);
        }
    }
    return ONNXQ_OK;
}

static onnxq_status run_mvn(oq_kctx *ctx)
{
    const oq_tensor *x;
    const elem_ops *e;
    onnxq_status st = float_in(ctx, 0, "X", &x, &e);
    if (st != ONNXQ_OK)
        return st;
    static const int64_t dflt[3] = {0, 2, 3};
    const int64_t *axes = dflt;
    long n_axes = oq_attr_ints(ctx, "axes", &axes);
    if (n_axes < 0) {
        axes = dflt;
        n_axes = 3;
    }
    char mask[OQ_MAX_RANK] = {0};
    for (long i = 0; i < n_axes; i++) {
        int a;
        st = norm_axis(ctx, axes[i], x->rank, x->rank - 1, &a);
        if (st != ONNXQ_OK)
            return st;
        mask[a] = 1;
    }
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    geom g;
    geom_init(&g, x, mask);
    if (!g.n_red)
        return ONNXQ_OK;
    int nt = oq_threads(ctx);
    size_t n_kept = g.n_kept, work = g.n_kept * g.n_red;
    OQ_PAR_FOR(nt, work)
    for (size_t o = 0; o < n_kept; o++) {
        size_t base = geom_base(&g, o), n = (size_t)g.rdim[g.nr - 1],
               s = g.rstr[g.nr - 1], off;
        run_iter it;
        double sum = 0, q = 0;
        runs_begin(&it, &g, base);
        while (runs_next(&it, &g, &off))
            for (size_t j = 0; j < n; j++)
                sum += e->get(x->data, off + j * s);
        double mean = sum / (double)g.n_red;
        runs_begin(&it, &g, base);
        while (runs_next(&it, &g, &off))
            for (size_t j = 0; j < n; j++) {
                double d = e->get(x->data, off + j * s) - mean;
                q += d * d;
            }
        /* ONNX's definition: (x - mean) / (sqrt(var) + 1e-9) */
        double den = sqrt(q / (double)g.n_red) + 1e-9;
        runs_begin(&it, &g, base);
        while (runs_next(&it, &g, &off))
            for (size_t j = 0; j < n; j++) {
                size_t i = off + j * s;
                e->set(y->data, i, (e->get(x->data, i) - mean) / den);
            }
    }
    return ONNXQ_OK;
}

static onnxq_status run_lrn(oq_kctx *ctx)
{
    const oq_tensor *x;
    const elem_ops *e;
    onnxq_status st = float_in(ctx, 0, "X", &x, &e);
    if (st != ONNXQ_OK)
        return st;
    char sb[64];
    if (x->rank < 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must be N x C x ... (rank 2 or more), got shape %s",
                        oq_shape_str(x, sb, sizeof sb));
    if (!oq_attr(ctx, "size"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "the required attribute size is missing");
    int64_t size = oq_attr_int(ctx, "size", 0);
    if (size < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "size must be positive, got %lld", (long long)size);
    double alpha = oq_attr_float(ctx, "alpha", 1e-4f);
    double beta = oq_attr_float(ctx, "beta", 0.75f);
    double bias = oq_attr_float(ctx, "bias", 1.0f);
    oq_tensor *y = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    /* the window over channels is [c - floor((size-1)/2),
     * c + ceil((size-1)/2)], cut at the edges */
    int64_t C = x->dims[1], lo = (size - 1) / 2, hi = size / 2;
    size_t S = prod_dims(x->dims, 2, x->rank), rows = (size_t)x->dims[0] * (size_t)C;
    int nt = oq_threads(ctx);
    size_t work = rows * S * (size_t)size;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        int64_t c = (int64_t)(r % (size_t)C);
        size_t nbase = (r - (size_t)c) * S;
        int64_t c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
        for (size_t j = 0; j < S; j++) {
            double q = 0;
            for (int64_t k = c0; k <= c1; k++) {
                double v = e->get(x->data, nbase + (size_t)k * S + j);
                q += v * v;
            }
            size_t i = r * S + j;
            e->set(y->data, i, e->get(x->data, i) /
                                   pow(bias + alpha / (double)size * q, beta));
        }
    }
    return ONNXQ_OK;
}

/* ---- LayerNormalization family ------------------------------------------------------------------ */

/* One normalisation over rows x cols: each row is (x + skip + bias) for the
 * Skip ops, normalised to zero mean and unit variance (or, simplified, to
 * unit root mean square), times scale plus beta, both indexed by column. */
typedef struct ln_job {
    int simplified;
    double eps;
    size_t rows, cols;
    const oq_tensor *x, *skip, *bias, *scale, *beta;
    const elem_ops *ex, *eskip, *ebias, *escale, *ebeta;
    const size_t *scale_map, *beta_map; /* NULL: indexed by column */
    size_t skip_n;                      /* skip repeats every skip_n elements */
    oq_tensor *y, *mean, *inv, *sum;    /* NULL: not wanted */
    const elem_ops *estat;              /* type of mean and inv */
} ln_job;

static onnxq_status ln_run(oq_kctx *ctx, const ln_job *J)
{
    if (!J->rows)
        return ONNXQ_OK;
    int nt = oq_threads(ctx);
    double *scratch = scratch_alloc(ctx, nt, J->cols);
    if (!scratch)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    size_t rows = J->rows, cols = J->cols, work = rows * cols;
    OQ_PAR_FOR(nt, work)
    for (size_t r = 0; r < rows; r++) {
        double *v = scratch + (size_t)oq_thread_id() * cols;
        size_t base = r * cols;
        for (size_t j = 0; j < cols; j++) {
            double a = J->ex->get(J->x->data, base + j);
            if (J->skip)
                a += J->eskip->get(J->skip->data, (base + j) % J->skip_n);
            if (J->bias)
                a += J->ebias->get(J->bias->data, j);
            v[j] = a;
            if (J->sum)
                J->ex->set(J->sum->data, base + j, a);
        }
        double mean = 0, var;
        if (J->simplified) {
            double q = 0;
            for (size_t j = 0; j < cols; j++)
                q += v[j] * v[j];
            var = q / (double)cols;
        } else {
            row_stats(v, cols, &mean, &var);
        }
        double inv = 1 / sqrt(var + J->eps);
        for (size_t j = 0; j < cols; j++) {
            size_t si = J->scale_map ? J->scale_map[j] : j;
            double o = (v[j] - mean) * inv * J->escale->get(J->scale->data, si);
            if (J->beta)
                o += J->ebeta->get(J->beta->data,
                                   J->beta_map ? J->beta_map[j] : j);
            J->ex->set(J->y->data, base + j, o);
        }
        if (J->mean)
            J->estat->set(J->mean->data, r, mean);
        if (J->inv)
            J->estat->set(J->inv->data, r, inv);
    }
    free(scratch);
    return ONNXQ_OK;
}

/* A per-column parameter p for the normalised shape dims[0..rank) (cols
 * elements): indexed directly when it has cols elements, else through a
 * broadcast map (*map, to free). */
static onnxq_status ln_param(oq_kctx *ctx, const oq_tensor *p, const char *name,
                             const int64_t *dims, int rank, size_t cols,
                             size_t **map)
{
    *map = NULL;
    if (oq_numel(p) == cols)
        return ONNXQ_OK;
    char a[96], b[96];
    *map = malloc((cols ? cols : 1) * sizeof **map);
    if (!*map)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    if (bcast_map(p, rank, dims, *map) != 0) {
        free(*map);
        *map = NULL;
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "%s of shape %s does not broadcast to the normalized "
                        "shape %s", name, oq_shape_str(p, a, sizeof a),
                        oq_dims_str(dims, rank, b, sizeof b));
    }
    return ONNXQ_OK;
}

/* LayerNormalization (ai.onnx 17+, com.microsoft) and
 * SimplifiedLayerNormalization (RMS norm; ONNX Runtime defines it in both
 * domains): inputs X, Scale, B (not simplified); outputs Y, Mean, InvStdDev
 * (simplified: Y, InvStdDev), the statistics shaped X.shape[:axis] + 1s. */
static onnxq_status layer_norm(oq_kctx *ctx, int simplified)
{
    ln_job J = {0};
    J.simplified = simplified;
    onnxq_status st;
    if ((st = float_in(ctx, 0, "X", &J.x, &J.ex)) != ONNXQ_OK ||
        (st = float_in(ctx, 1, "Scale", &J.scale, &J.escale)) != ONNXQ_OK)
        return st;
    if (!simplified &&
        (st = float_in_opt(ctx, 2, "B", &J.beta, &J.ebeta)) != ONNXQ_OK)
        return st;
    const oq_tensor *x = J.x;
    if (x->rank < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "X is a scalar; it needs an axis to normalize over");
    int axis;
    st = norm_axis(ctx, oq_attr_int(ctx, "axis", -1), x->rank, x->rank - 1,
                   &axis);
    if (st != ONNXQ_OK)
        return st;
    size_t max_out = simplified ? 2 : 3;
    if (ctx->n_out > max_out)
        return too_many_outputs(ctx, max_out);
    /* the statistics' type: stash_type, float unless said otherwise */
    int64_t stash = oq_attr_int(ctx, "stash_type", DT_F32);
    J.estat = elem_ops_of((int32_t)stash);
    if (!J.estat || !J.estat->is_float)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "stash_type %lld is not a floating-point type",
                        (long long)stash);
    J.eps = oq_attr_float(ctx, "epsilon", 1e-5f);
    J.rows = prod_dims(x->dims, 0, axis);
    J.cols = prod_dims(x->dims, axis, x->rank);
    const int64_t *nd = x->dims + axis;
    int nr = x->rank - axis;
    size_t *smap = NULL, *bmap = NULL;
    if ((st = ln_param(ctx, J.scale, "Scale", nd, nr, J.cols, &smap)) != ONNXQ_OK)
        return st;
    if (J.beta &&
        (st = ln_param(ctx, J.beta, "B", nd, nr, J.cols, &bmap)) != ONNXQ_OK) {
        free(smap);
        return st;
    }
    J.scale_map = smap;
    J.beta_map = bmap;
    int64_t sd[OQ_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        sd[d] = d < axis ? x->dims[d] : 1;
    if (!(J.y = oq_output(ctx, 0, x->dtype, x->rank, x->dims)))
        st = oq_failed(ctx);
    for (size_t i = 1; i < ctx->n_out && st == ONNXQ_OK; i++) {
        oq_tensor *t = oq_output(ctx, i, J.estat->dtype, x->rank, sd);
        if (!t)
            st = oq_failed(ctx);
        else if (i == 1 && !simplified)
            J.mean = t;
        else
            J.inv = t;
    }
    if (st == ONNXQ_OK)
        st = ln_run(ctx, &J);
    free(smap);
    free(bmap);
    return st;
}

static onnxq_status run_layer_norm(oq_kctx *ctx) { return layer_norm(ctx, 0); }
static onnxq_status run_simplified_layer_norm(oq_kctx *ctx)
{
    return layer_norm(ctx, 1);
}

/* com.microsoft SkipLayerNormalization (input, skip, gamma, beta?, bias?)
 * and SkipSimplifiedLayerNormalization (input, skip, gamma, bias?) over the
 * last axis; outputs output, mean?, inv_std_var? (float, shaped
 * input.shape[:-1] + [1]), input_skip_bias_sum?.  skip is the input's shape
 * or its trailing part ((1, S, H) or (S, H)), repeated over the batch. */
static onnxq_status skip_layer_norm(oq_kctx *ctx, int simplified)
{
    ln_job J = {0};
    J.simplified = simplified;
    onnxq_status st;
    if ((st = float_in(ctx, 0, "input", &J.x, &J.ex)) != ONNXQ_OK ||
        (st = float_in(ctx, 1, "skip", &J.skip, &J.eskip)) != ONNXQ_OK ||
        (st = float_in(ctx, 2, "gamma", &J.scale, &J.escale)) != ONNXQ_OK)
        return st;
    if (!simplified &&
        (st = float_in_opt(ctx, 3, "beta", &J.beta, &J.ebeta)) != ONNXQ_OK)
        return st;
    if ((st = float_in_opt(ctx, simplified ? 3 : 4, "bias", &J.bias,
                           &J.ebias)) != ONNXQ_OK)
        return st;
    const oq_tensor *x = J.x, *sk = J.skip;
    char a[96], b[96];
    if (x->rank < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "input is a scalar; it needs a hidden dimension");
    size_t H = (size_t)x->dims[x->rank - 1];
    /* skip without its leading 1s must be the input's trailing dims */
    int s0 = 0;
    while (s0 < sk->rank && sk->dims[s0] == 1 && sk->rank - s0 > 1)
        s0++;
    int skr = sk->rank - s0, ok = skr <= x->rank && sk->rank >= 1;
    for (int d = 0; ok && d < skr; d++)
        ok = sk->dims[s0 + d] == x->dims[x->rank - skr + d];
    if (!ok)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "skip of shape %s does not match input of shape %s "
                        "(it must equal it or its trailing dimensions)",
                        oq_shape_str(sk, a, sizeof a),
                        oq_shape_str(x, b, sizeof b));
    const oq_tensor *params[3] = {J.scale, J.beta, J.bias};
    static const char *const pnames[3] = {"gamma", "beta", "bias"};
    for (int i = 0; i < 3; i++)
        if (params[i] && oq_numel(params[i]) != H)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "%s has shape %s; the hidden size (last dimension "
                            "of input %s) is %zu", pnames[i],
                            oq_shape_str(params[i], a,
                                      sizeof a),
                            oq_shape_str(x, b, sizeof b), H);
    if (ctx->n_out > 4)
        return too_many_outputs(ctx, 4);
    J.skip_n = oq_numel(sk) ? oq_numel(sk) : 1;
    J.eps = oq_attr_float(ctx, "epsilon", 1e-12f);
    J.rows = H ? oq_numel(x) / H : 0;
    J.cols = H;
    J.estat = elem_ops_of(DT_F32);
    int64_t sd[OQ_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        sd[d] = d < x->rank - 1 ? x->dims[d] : 1;
    if (!(J.y = oq_output(ctx, 0, x->dtype, x->rank, x->dims)))
        return oq_failed(ctx);
    if (ctx->n_out > 1 && !(J.mean = oq_output(ctx, 1, DT_F32, x->rank, sd)))
        return oq_failed(ctx);
    if (ctx->n_out > 2 && !(J.inv = oq_output(ctx, 2, DT_F32, x->rank, sd)))
        return oq_failed(ctx);
    if (ctx->n_out > 3 &&
        !(J.sum = oq_output(ctx, 3, x->dtype, x->rank, x->dims)))
        return oq_failed(ctx);
    return ln_run(ctx, &J);
}

static onnxq_status run_skip_layer_norm(oq_kctx *ctx)
{
    return skip_layer_norm(ctx, 0);
}
static onnxq_status run_skip_simplified_layer_norm(oq_kctx *ctx)
{
    return skip_layer_norm(ctx, 1);
}

/* ---- the table ---------------------------------------------------------------------------------- */

OQ_KERNEL_TABLE(oq_ref_reduce_norm_kernels) = {
    {"", "ReduceSum", 1, 21, run_reduce_sum},
    {"", "ReduceMean", 1, 21, run_reduce_mean},
    {"", "ReduceMax", 1, 21, run_reduce_max},
    {"", "ReduceMin", 1, 21, run_reduce_min},
    {"", "ReduceProd", 1, 21, run_reduce_prod},
    {"", "ReduceL1", 1, 21, run_reduce_l1},
    {"", "ReduceL2", 1, 21, run_reduce_l2},
    {"", "ReduceLogSum", 1, 21, run_reduce_log_sum},
    {"", "ReduceLogSumExp", 1, 21, run_reduce_log_sum_exp},
    {"", "ReduceSumSquare", 1, 21, run_reduce_sum_square},
    {"", "ArgMax", 1, 21, run_argmax},
    {"", "ArgMin", 1, 21, run_argmin},
    {"", "Softmax", 1, 21, run_softmax},
    {"", "LogSoftmax", 1, 21, run_log_softmax},
    {"", "Hardmax", 1, 21, run_hardmax},
    {"", "BatchNormalization", 1, 21, run_batch_norm},
    {"", "InstanceNormalization", 1, 21, run_instance_norm},
    {"", "LayerNormalization", 17, 21, run_layer_norm},
    {"", "GroupNormalization", 18, 21, run_group_norm},
    {"", "LpNormalization", 1, 21, run_lp_norm},
    {"", "MeanVarianceNormalization", 9, 21, run_mvn},
    {"", "LRN", 1, 21, run_lrn},
    /* ONNX Runtime registers SimplifiedLayerNormalization in the ONNX
     * domain (opset 1 on), and it is exported there */
    {"", "SimplifiedLayerNormalization", 1, 21, run_simplified_layer_norm},
    {"com.microsoft", "LayerNormalization", 1, 1, run_layer_norm},
    {"com.microsoft", "SimplifiedLayerNormalization", 1, 1,
     run_simplified_layer_norm},
    {"com.microsoft", "SkipLayerNormalization", 1, 1, run_skip_layer_norm},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", 1, 1,
     run_skip_simplified_layer_norm},
    {NULL, NULL, 0, 0, NULL},
};
