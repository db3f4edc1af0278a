/*
 * compare.c — a float model against its quantized twin (onnxq/compare.h).
 *
 * How a sample is compared:
 *   1. the float model runs; its observer copies every matched tensor (up to
 *      the capture budget; graph inputs are borrowed from the sample);
 *   2. the quantized model runs; its observer finds each counterpart as it
 *      is produced, dequantizes it if it is an integer tensor, compares it
 *      with the copy, and frees the copy;
 *   3. if the budget cut step 1 short, both run again for the tensors left.
 * Outputs are compared from the first pass.  Weights are compared once,
 * when the comparer is created: they do not depend on the samples.
 *
 * Matching rules are listed in compare.h; they follow the names
 * onnxruntime's quantize_static gives (X_QuantizeLinear_Output,
 * X_DequantizeLinear_Output, X_quantized, W_scale, W_zero_point, node
 * N_quant) and the structure (Q -> DQ pairs) where names say nothing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxq/compare.h"
#include "onnxq/graph.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "strmap.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    T_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    T_BFLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16
};

static int is_float_type(int32_t t)
{
    return t == T_FLOAT || t == T_DOUBLE || t == T_FLOAT16 || t == T_BFLOAT16;
}

static int is_int_type(int32_t t)
{
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__INT16 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
}

static size_t numel_of(const onnxq_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

static inline double elem(const onnxq_tensor *t, size_t i)
{
    if (t->dtype == T_FLOAT)
        return ((const float *)t->data)[i];
    return onnxq_tensor_get_f64(t, i);
}

/* ---- dequantization parameters -------------------------------------------- */

/* (q - zp[c]) * scale[c], c the index along axis (one value when n == 1). */
typedef struct dq_params {
    double *scale;
    double *zp;
    size_t n;
    int axis; /* as written; resolved against the tensor's rank when used */
    double qmin; /* lowest integer of the zero point's type */
} dq_params;

static void dq_clear(dq_params *p)
{
    free(p->scale);
    free(p->zp);
    memset(p, 0, sizeof *p);
}

/* Values of constant tp as doubles (malloc'd). */
static onnxq_status const_values(onnxq_model *m, const Onnx__TensorProto *tp,
                                  double **out, size_t *n, onnxq_error *err)
{
    uint64_t bytes;
    onnxq_status st = onnxq_tensor_expected_bytes(tp, &bytes, err);
    if (st != ONNXQ_OK)
        return st;
    if (tp->n_dims > ONNXQ_MAX_RANK)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "constant '%s': rank above %d", tp->name,
                               ONNXQ_MAX_RANK);
    onnxq_tensor t = {tp->data_type, (int)tp->n_dims, {0}, NULL};
    for (size_t d = 0; d < tp->n_dims; d++)
        t.dims[d] = tp->dims[d];
    size_t cnt = numel_of(&t);
    t.data = malloc((size_t)bytes + 1);
    double *v = malloc((cnt + 1) * sizeof *v);
    if (!t.data || !v) {
        free(t.data);
        free(v);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    st = onnxq_tensor_copy_data(m, tp, t.data, (size_t)bytes, err);
    if (st == ONNXQ_OK)
        for (size_t i = 0; i < cnt; i++)
            v[i] = onnxq_tensor_get_f64(&t, i);
    free(t.data);
    if (st != ONNXQ_OK) {
        free(v);
        return st;
    }
    *out = v;
    *n = cnt;
    return ONNXQ_OK;
}

/* Scale (and optional zero point) named by a node's inputs, if both are
 * constants of matching size.  Returns 1 on success. */
static int dq_from_consts(onnxq_model *m, const onnxq_graph *g,
                          const char *scale, const char *zp, int axis,
                          dq_params *out)
{
    memset(out, 0, sizeof *out);
    const Onnx__TensorProto *st = scale && scale[0]
                                      ? onnxq_graph_constant(g, scale) : NULL;
    if (!st || !is_float_type(st->data_type))
        return 0;
    size_t n;
    if (const_values(m, st, &out->scale, &n, NULL) != ONNXQ_OK || n == 0)
        goto no;
    out->n = n;
    out->axis = n > 1 ? axis : -1;
    out->zp = calloc(n, sizeof *out->zp);
    if (!out->zp)
        goto no;
    out->qmin = 0; /* no zero point: uint8 */
    if (zp && zp[0]) {
        const Onnx__TensorProto *zt = onnxq_graph_constant(g, zp);
        if (zt && zt->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8)
            out->qmin = -128;
        else if (zt && zt->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT16)
            out->qmin = -32768;
        else if (zt && zt->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32)
            out->qmin = -2147483648.0;
        double *zv;
        size_t zn;
        if (!zt || const_values(m, zt, &zv, &zn, NULL) != ONNXQ_OK)
            goto no;
        if (zn != n) {
            free(zv);
            goto no;
        }
        memcpy(out->zp, zv, n * sizeof *zv);
        free(zv);
    }
    return 1;
no:
    dq_clear(out);
    return 0;
}

static const Onnx__AttributeProto *node_attr(const Onnx__NodeProto *n,
                                             const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static int64_t attr_int(const Onnx__NodeProto *n, const char *name,
                        int64_t dflt)
{
    const Onnx__AttributeProto *a = node_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

static const char *in_name(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input ? n->input[i] : NULL;
}

/* Where an op keeps the scale and zero point of its (integer) output. */
typedef struct qout_rule {
    const char *op;
    int scale, zp;
} qout_rule;

static const qout_rule qout_rules[] = {
    {"QuantizeLinear", 1, 2},     {"QLinearConv", 6, 7},
    {"QLinearMatMul", 6, 7},      {"QLinearAdd", 6, 7},
    {"QLinearMul", 6, 7},         {"QLinearLeakyRelu", 3, 4},
    {"QLinearSigmoid", 3, 4},     {"QLinearGlobalAveragePool", 3, 4},
    {"QLinearAveragePool", 3, 4}, {"QLinearSoftmax", 3, 4},
    {"QLinearReduceMean", 3, 4},  {"QLinearConcat", 0, 1},
    {"QGemm", 7, 8},
};

/* Ops whose integer output carries its first input's parameters: they only
 * move or select values. */
static const char *const passthrough_ops[] = {
    "Reshape", "Transpose", "MaxPool", "Flatten", "Squeeze", "Unsqueeze",
    "Identity", "Slice", "Gather", "Resize", "Expand", "Tile", "Pad",
    "DepthToSpace", "SpaceToDepth", "Split", "Concat", "ReduceMax",
    "ReduceMin", NULL};

/* Dequantization parameters of integer tensor name in g; 1 if known. */
static int dq_of_tensor(onnxq_model *m, const onnxq_graph *g, const char *name,
                        int depth, dq_params *out)
{
    const onnxq_value *v = onnxq_graph_value(g, name);
    if (!v || v->kind != ONNXQ_VALUE_NODE_OUTPUT || depth > 64)
        return 0;
    const Onnx__NodeProto *n = onnxq_graph_node(g, v->producer);
    for (size_t r = 0; r < sizeof qout_rules / sizeof qout_rules[0]; r++)
        if (strcmp(n->op_type, qout_rules[r].op) == 0) {
            if (v->producer_output != 0)
                return 0;
            int axis = strcmp(n->op_type, "QuantizeLinear") == 0
                           ? (int)attr_int(n, "axis", 1) : -1;
            int ok = dq_from_consts(m, g, in_name(n, qout_rules[r].scale),
                                    in_name(n, qout_rules[r].zp), axis, out);
            /* a per-axis scale on an op whose output axis we do not know */
            if (ok && out->n > 1 && axis < 0) {
                dq_clear(out);
                return 0;
            }
            return ok;
        }
    for (int i = 0; passthrough_ops[i]; i++)
        if (strcmp(n->op_type, passthrough_ops[i]) == 0) {
            if (!in_name(n, 0) ||
                !dq_of_tensor(m, g, n->input[0], depth + 1, out))
                return 0;
            /* channels move under these ops: keep only per-tensor params */
            if (out->n > 1 && strcmp(n->op_type, "Identity") != 0) {
                dq_clear(out);
                return 0;
            }
            return 1;
        }
    return 0;
}

/* ---- metrics ----------------------------------------------------------------- */

/* x against y, or against (y - zp) * scale when dq is given. */
static onnxq_status metrics(const onnxq_tensor *x, const onnxq_tensor *y,
                            const dq_params *dq, int want_argmax,
                            const char *what, onnxq_metrics *out,
                            onnxq_error *err)
{
    size_t n = numel_of(x);
    if (numel_of(y) != n)
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "%s: %zu elements in the float model, %zu in "
                               "the quantized one", what, n, numel_of(y));
    size_t inner = 1, ch = 1;
    if (dq && dq->n > 1) {
        int axis = dq->axis < 0 ? dq->axis + y->rank : dq->axis;
        if (axis < 0 || axis >= y->rank || (size_t)y->dims[axis] != dq->n)
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "%s: %zu scales do not fit axis %d of its "
                                   "quantized tensor", what, dq->n, dq->axis);
        ch = dq->n;
        for (int d = axis + 1; d < y->rank; d++)
            inner *= (size_t)y->dims[d];
    }
    double sxx = 0, syy = 0, sxy = 0, see = 0, mx = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        double a = elem(x, i), b = elem(y, i);
        if (dq) {
            size_t c = ch > 1 ? (i / inner) % ch : 0;
            b = (b - dq->zp[c]) * dq->scale[c];
        }
        if (isnan(a) || isnan(b)) {
            nan = 1;
            continue;
        }
        double e = a - b;
        /* inf - inf is NaN: equal infinities are no error */
        if (a == b)
            e = 0;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
        see += e * e;
        if (fabs(e) > mx)
            mx = fabs(e);
    }
    if (nan) {
        out->cosine = out->sqnr_db = out->max_abs = NAN;
    } else {
        if (sxx == 0 && syy == 0)
            out->cosine = 1;
        else if (sxx == 0 || syy == 0)
            out->cosine = 0;
        else
            out->cosine = sxy / (sqrt(sxx) * sqrt(syy));
        if (see == 0)
            out->sqnr_db = INFINITY;
        else if (sxx == 0)
            out->sqnr_db = -INFINITY;
        else
            out->sqnr_db = 10 * log10(sxx / see);
        out->max_abs = mx;
    }
    out->argmax_agree = NAN;
    if (want_argmax && x->rank >= 1 && x->dims[x->rank - 1] > 1 &&
        y->rank >= 1 && y->dims[y->rank - 1] == x->dims[x->rank - 1] && n) {
        size_t last = (size_t)x->dims[x->rank - 1], rows = n / last, agree = 0;
        for (size_t r = 0; r < rows; r++) {
            size_t ax = 0, ay = 0;
            double bx = elem(x, r * last), by = elem(y, r * last);
            for (size_t j = 1; j < last; j++) {
                double vx = elem(x, r * last + j), vy = elem(y, r * last + j);
                /* NaN wins, as numpy.argmax */
                if ((vx > bx || (isnan(vx) && !isnan(bx)))) {
                    bx = vx;
                    ax = j;
                }
                if ((vy > by || (isnan(vy) && !isnan(by)))) {
                    by = vy;
                    ay = j;
                }
            }
            agree += ax == ay;
        }
        out->argmax_agree = rows ? (double)agree / (double)rows : NAN;
    }
    return ONNXQ_OK;
}

onnxq_status onnxq_metrics_compute(const onnxq_tensor *x, const onnxq_tensor *y,
                                   const char *what, onnxq_metrics *out,
                                   onnxq_error *err)
{
    return metrics(x, y, NULL, 1, what ? what : "tensor", out, err);
}

/* ---- aggregates ---------------------------------------------------------- */

static double worst_low(size_t samples, double cur, double v)
{
    if (!samples || isnan(v))
        return v;
    if (isnan(cur))
        return cur;
    return v < cur ? v : cur;
}

static double worst_high(size_t samples, double cur, double v)
{
    if (!samples || isnan(v))
        return v;
    if (isnan(cur))
        return cur;
    return v > cur ? v : cur;
}

static void stats_add(onnxq_metric_stats *s, const onnxq_metrics *m)
{
    s->cosine.worst = worst_low(s->samples, s->cosine.worst, m->cosine);
    s->sqnr_db.worst = worst_low(s->samples, s->sqnr_db.worst, m->sqnr_db);
    s->max_abs.worst = worst_high(s->samples, s->max_abs.worst, m->max_abs);
    if (!isnan(m->argmax_agree)) {
        s->argmax.worst = worst_low(s->n_arg, s->argmax.worst, m->argmax_agree);
        s->sum_arg += m->argmax_agree;
        s->n_arg++;
    }
    s->sum_cos += m->cosine;
    s->sum_sqnr += m->sqnr_db;
    s->sum_abs += m->max_abs;
    s->n_inf_sqnr += isinf(m->sqnr_db) && m->sqnr_db > 0;
    s->samples++;
    double k = (double)s->samples;
    s->cosine.mean = s->sum_cos / k;
    s->sqnr_db.mean = s->sum_sqnr / k;
    s->max_abs.mean = s->sum_abs / k;
    s->argmax.mean = s->n_arg ? s->sum_arg / (double)s->n_arg : NAN;
    if (!s->n_arg)
        s->argmax.worst = NAN;
}

static void stats_init(onnxq_metric_stats *s)
{
    memset(s, 0, sizeof *s);
    s->cosine.mean = s->cosine.worst = NAN;
    s->sqnr_db.mean = s->sqnr_db.worst = NAN;
    s->max_abs.mean = s->max_abs.worst = NAN;
    s->argmax.mean = s->argmax.worst = NAN;
}

const char *onnxq_match_kind_name(onnxq_match_kind k)
{
    switch (k) {
    case ONNXQ_MATCH_OUTPUT: return "output";
    case ONNXQ_MATCH_QDQ: return "qdq";
    case ONNXQ_MATCH_DQ_NAME: return "dq-name";
    case ONNXQ_MATCH_SAME_NAME: return "same-name";
    case ONNXQ_MATCH_QLINEAR: return "qlinear";
    }
    return "?";
}

/* ---- the comparer ----------------------------------------------------------- */

typedef struct match {
    onnxq_tensor_compare tc;
    dq_params dq;          /* used when the counterpart is an integer */
    int graph_input;       /* index into the float inputs + 1, or 0 */
    int dropped;           /* not float, or never comparable */
    int done;              /* compared (or passed) for the current sample */
    onnxq_tensor cap;      /* captured float tensor for this pass */
    int cap_owned;
} match;

enum { MODE_IDLE = 0, MODE_CAPTURE, MODE_COMPARE };

struct onnxq_comparer {
    onnxq_compare_options opts;
    onnxq_model *fm, *qm;
    onnxq_graph *fg, *qg;
    onnxq_session *fs, *qs;   /* as deployed: no observer, fusions on */
    onnxq_session *ofs, *oqs; /* per_tensor: with observers, unfused */
    size_t n_in;
    size_t *q_from_f;      /* [q input] -> float input index */
    size_t n_out;
    size_t *qout_of_f;     /* [float output] -> quant output index */
    onnxq_tensor_compare *outputs;
    match *matches;
    size_t n_matches;
    oq_strmap fmap, qmap;  /* name -> match index */
    oq_strmap nonconst;    /* float model's input-dependent node outputs */
    char *seen_float;      /* [nonconst.len] float-typed when produced */
    size_t n_seen_float;
    onnxq_weight_compare *weights;
    size_t n_weights;
    /* run state */
    int mode;
    size_t cap_bytes;
    size_t n_cap;
    int overflow;
    onnxq_status obs_status;
    onnxq_error obs_err;
    onnxq_compare_result result;
    onnxq_tensor_compare *sorted;
    size_t runs;
};

void onnxq_compare_options_init(onnxq_compare_options *o)
{
    memset(o, 0, sizeof *o);
}

onnxq_session *onnxq_compare_float_session(onnxq_comparer *c)
{
    return c->fs;
}

static const Onnx__TypeProto__Tensor *tensor_type(const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return NULL;
    return vi->type->tensor_type;
}

/* Ranks, fixed dims and element types of one input or output pair. */
static onnxq_status check_pair(const char *what, const Onnx__ValueInfoProto *a,
                               const Onnx__ValueInfoProto *b, const char *fa,
                               const char *fb, onnxq_error *err)
{
    const Onnx__TypeProto__Tensor *ta = tensor_type(a), *tb = tensor_type(b);
    if (!ta || !tb)
        return ONNXQ_OK;
    if (ta->has_elem_type && tb->has_elem_type &&
        ta->elem_type != tb->elem_type &&
        !(is_float_type(ta->elem_type) && is_float_type(tb->elem_type)))
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "%s '%s' is %s in %s but %s in %s", what,
                               a->name, onnxq_dtype_name(ta->elem_type), fa,
                               onnxq_dtype_name(tb->elem_type), fb);
    if (!ta->shape || !tb->shape)
        return ONNXQ_OK;
    if (ta->shape->n_dim != tb->shape->n_dim)
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "%s '%s' has rank %zu in %s but %zu in %s",
                               what, a->name, ta->shape->n_dim, fa,
                               tb->shape->n_dim, fb);
    for (size_t d = 0; d < ta->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *da = ta->shape->dim[d],
                                                *db = tb->shape->dim[d];
        if (da->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            db->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            da->dim_value != db->dim_value)
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "%s '%s': dimension %zu is %lld in %s but "
                                   "%lld in %s", what, a->name, d,
                                   (long long)da->dim_value, fa,
                                   (long long)db->dim_value, fb);
    }
    return ONNXQ_OK;
}

/* Comma-separated names for messages. */
static void list_names(char *buf, size_t size, size_t n,
                       const Onnx__ValueInfoProto *(*get)(const onnxq_session *,
                                                          size_t),
                       const onnxq_session *s)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                 get(s, i)->name);
    }
}

static onnxq_status check_io(onnxq_comparer *c, onnxq_error *err)
{
    const char *fa = onnxq_model_source(c->fm), *fb = onnxq_model_source(c->qm);
    fa = fa && fa[0] ? fa : "the float model";
    fb = fb && fb[0] ? fb : "the quantized model";
    char names[512];
    size_t nf = onnxq_session_input_count(c->fs),
           nq = onnxq_session_input_count(c->qs);
    for (size_t k = 0; k < nq; k++)
        c->q_from_f[k] = SIZE_MAX;
    for (size_t i = 0; i < nf; i++) {
        const Onnx__ValueInfoProto *f = onnxq_session_input(c->fs, i);
        size_t k = 0;
        while (k < nq && strcmp(onnxq_session_input(c->qs, k)->name, f->name))
            k++;
        if (k == nq) {
            list_names(names, sizeof names, nq, onnxq_session_input, c->qs);
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "input '%s' of %s is not an input of %s "
                                   "(its inputs: %s)", f->name, fa, fb, names);
        }
        c->q_from_f[k] = i;
        onnxq_status st = check_pair("input", f, onnxq_session_input(c->qs, k),
                                     fa, fb, err);
        if (st != ONNXQ_OK)
            return st;
    }
    for (size_t k = 0; k < nq; k++)
        if (c->q_from_f[k] == SIZE_MAX) {
            list_names(names, sizeof names, nf, onnxq_session_input, c->fs);
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "input '%s' of %s is not an input of %s "
                                   "(its inputs: %s)",
                                   onnxq_session_input(c->qs, k)->name, fb, fa,
                                   names);
        }
    size_t of = onnxq_session_output_count(c->fs),
           oqn = onnxq_session_output_count(c->qs);
    for (size_t i = 0; i < of; i++) {
        const Onnx__ValueInfoProto *f = onnxq_session_output(c->fs, i);
        size_t k = 0;
        while (k < oqn && strcmp(onnxq_session_output(c->qs, k)->name, f->name))
            k++;
        if (k == oqn) {
            list_names(names, sizeof names, oqn, onnxq_session_output, c->qs);
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "output '%s' of %s is not an output of %s "
                                   "(its outputs: %s)", f->name, fa, fb, names);
        }
        c->qout_of_f[i] = k;
        onnxq_status st = check_pair("output", f,
                                     onnxq_session_output(c->qs, k), fa, fb,
                                     err);
        if (st != ONNXQ_OK)
            return st;
    }
    if (oqn != of) {
        for (size_t k = 0; k < oqn; k++) {
            size_t i = 0;
            while (i < of && c->qout_of_f[i] != k)
                i++;
            if (i == of) {
                list_names(names, sizeof names, of, onnxq_session_output, c->fs);
                return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                       "output '%s' of %s is not an output of "
                                       "%s (its outputs: %s)",
                                       onnxq_session_output(c->qs, k)->name,
                                       fb, fa, names);
            }
        }
    }
    return ONNXQ_OK;
}

/* ---- tensor matching ------------------------------------------------------ */

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* Name of a node output of g, as stored in the proto (borrowed), or NULL. */
static const char *node_output_named(const onnxq_graph *g, const char *name)
{
    const onnxq_value *v = name ? onnxq_graph_value(g, name) : NULL;
    return v && v->kind == ONNXQ_VALUE_NODE_OUTPUT ? v->name : NULL;
}

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    return strcmp(n->op_type, op) == 0;
}

/* The output of a DequantizeLinear that reads the output of a
 * QuantizeLinear that reads name (in g), or NULL. */
static const char *qdq_of(const onnxq_graph *g, const char *name)
{
    const onnxq_value *v = onnxq_graph_value(g, name);
    if (!v)
        return NULL;
    for (size_t u = 0; u < v->n_uses; u++) {
        const Onnx__NodeProto *q = onnxq_graph_node(g, v->uses[u].node);
        if (!is_op(q, "QuantizeLinear") || v->uses[u].input != 0 ||
            q->n_output < 1)
            continue;
        const onnxq_value *qv = onnxq_graph_value(g, q->output[0]);
        for (size_t w = 0; qv && w < qv->n_uses; w++) {
            const Onnx__NodeProto *d = onnxq_graph_node(g, qv->uses[w].node);
            if (is_op(d, "DequantizeLinear") && qv->uses[w].input == 0 &&
                d->n_output >= 1 && d->output[0][0])
                return d->output[0];
        }
    }
    return NULL;
}

/* Node of g named name, or SIZE_MAX. */
static size_t node_named(const onnxq_graph *g, const oq_strmap *names,
                         const char *name)
{
    size_t i;
    (void)g;
    return name && name[0] && oq_strmap_get(names, name, &i) ? i : SIZE_MAX;
}

static onnxq_status add_match(onnxq_comparer *c, size_t *cap, const char *fname,
                              const char *qname, const char *op,
                              onnxq_match_kind how, int graph_input,
                              dq_params *dq, onnxq_error *err)
{
    if (oq_strmap_get(&c->qmap, qname, NULL) ||
        oq_strmap_get(&c->fmap, fname, NULL)) {
        dq_clear(dq);
        return ONNXQ_OK;
    }
    if (oq_grow(&c->matches, cap, c->n_matches + 1, sizeof *c->matches)) {
        dq_clear(dq);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    match *m = &c->matches[c->n_matches];
    memset(m, 0, sizeof *m);
    m->tc.name = fname;
    m->tc.quant_name = qname;
    m->tc.op_type = op;
    m->tc.how = how;
    stats_init(&m->tc.m);
    m->dq = *dq;
    memset(dq, 0, sizeof *dq);
    m->graph_input = graph_input;
    if (oq_strmap_put(&c->qmap, qname, c->n_matches) ||
        oq_strmap_put(&c->fmap, fname, c->n_matches))
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    c->n_matches++;
    return ONNXQ_OK;
}

/* QOperator models fold a Relu (or Clip) into the range of the op before
 * it: QLinearConv's output then holds Relu(X), not X, which its zero point
 * shows (it is the lowest integer, so nothing below 0 is representable).
 * Such a tensor is the counterpart of the Relu's output. */
static void fused_activation(onnxq_comparer *c, const char **x,
                             const char **op, const dq_params *dq)
{
    const onnxq_value *v = onnxq_graph_value(c->fg, *x);
    if (!v || v->n_uses != 1 || v->is_graph_output || v->uses[0].input != 0)
        return;
    const Onnx__NodeProto *n = onnxq_graph_node(c->fg, v->uses[0].node);
    if ((!is_op(n, "Relu") && !is_op(n, "Clip")) || n->n_output < 1 ||
        !n->output[0][0])
        return;
    for (size_t i = 0; i < dq->n; i++)
        if (dq->zp[i] > dq->qmin)
            return;
    *x = n->output[0];
    *op = n->op_type;
}

/* Finds the counterpart of float tensor X (rules in compare.h). */
static onnxq_status match_one(onnxq_comparer *c, size_t *cap,
                              const oq_strmap *qnodes, const char *x,
                              const char *op, int graph_input,
                              const Onnx__NodeProto *producer, size_t out_k,
                              onnxq_error *err)
{
    dq_params dq = {0};
    const char *q = qdq_of(c->qg, x);
    if (q)
        return add_match(c, cap, x, q, op, ONNXQ_MATCH_QDQ, graph_input, &dq,
                         err);
    char *nm = concat(x, "_DequantizeLinear_Output");
    if (!nm)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    q = node_output_named(c->qg, nm);
    free(nm);
    if (q)
        return add_match(c, cap, x, q, op, ONNXQ_MATCH_DQ_NAME, graph_input,
                         &dq, err);
    nm = concat(x, "_quantized");
    if (!nm)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    q = node_output_named(c->qg, nm);
    free(nm);
    if (q && dq_of_tensor(c->qm, c->qg, q, 0, &dq)) {
        if (!graph_input)
            fused_activation(c, &x, &op, &dq);
        return add_match(c, cap, x, q, op, ONNXQ_MATCH_QLINEAR, graph_input,
                         &dq, err);
    }
    if (!graph_input && (q = node_output_named(c->qg, x))) {
        dq_of_tensor(c->qm, c->qg, q, 0, &dq);
        return add_match(c, cap, x, q, op, ONNXQ_MATCH_SAME_NAME, 0, &dq, err);
    }
    if (graph_input || !producer || !producer->name || !producer->name[0])
        return ONNXQ_OK;
    size_t qn = node_named(c->qg, qnodes, producer->name);
    if (qn == SIZE_MAX) {
        nm = concat(producer->name, "_quant");
        if (!nm)
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        qn = node_named(c->qg, qnodes, nm);
        free(nm);
    }
    if (qn == SIZE_MAX)
        return ONNXQ_OK;
    const Onnx__NodeProto *qnode = onnxq_graph_node(c->qg, qn);
    if (out_k < qnode->n_output && qnode->output[out_k][0] &&
        dq_of_tensor(c->qm, c->qg, qnode->output[out_k], 0, &dq)) {
        fused_activation(c, &x, &op, &dq);
        return add_match(c, cap, x, qnode->output[out_k], op,
                         ONNXQ_MATCH_QLINEAR, 0, &dq, err);
    }
    return ONNXQ_OK;
}

static onnxq_status match_tensors(onnxq_comparer *c, onnxq_error *err)
{
    size_t nn = onnxq_graph_node_count(c->fg), cap = 0;
    size_t *order = malloc((nn + 1) * sizeof *order);
    oq_strmap constmap = {0}, qnodes = {0};
    onnxq_status st = ONNXQ_OK;
    if (!order) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < onnxq_graph_node_count(c->qg); i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(c->qg, i);
        if (n->name && n->name[0] && !oq_strmap_get(&qnodes, n->name, NULL) &&
            oq_strmap_put(&qnodes, n->name, i)) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    /* graph inputs first (in the session's order) */
    for (size_t i = 0; i < c->n_in; i++) {
        const char *x = onnxq_session_input(c->fs, i)->name;
        st = match_one(c, &cap, &qnodes, x, "input", (int)i + 1, NULL, 0, err);
        if (st != ONNXQ_OK)
            goto done;
    }
    st = onnxq_graph_topo_order(c->fg, order, err);
    if (st != ONNXQ_OK)
        goto done;
    /* constants: initializers, Constant nodes, and nodes reading only
     * constants; everything else depends on the inputs */
    for (size_t k = 0; k < nn; k++) {
        const Onnx__NodeProto *n = onnxq_graph_node(c->fg, order[k]);
        int cnst = onnxq_graph_subgraph_count(c->fg, order[k]) == 0 &&
                   !is_op(n, "RandomNormal") && !is_op(n, "RandomUniform") &&
                   !is_op(n, "RandomNormalLike") &&
                   !is_op(n, "RandomUniformLike") && !is_op(n, "Multinomial") &&
                   !is_op(n, "Bernoulli");
        for (size_t i = 0; cnst && i < n->n_input; i++) {
            if (!n->input[i][0])
                continue;
            cnst = onnxq_graph_constant(c->fg, n->input[i]) != NULL ||
                   oq_strmap_get(&constmap, n->input[i], NULL);
        }
        for (size_t o = 0; o < n->n_output; o++) {
            if (!n->output[o][0])
                continue;
            if (cnst) {
                if (oq_strmap_put(&constmap, n->output[o], 1))
                    goto oom;
                continue;
            }
            if (!oq_strmap_get(&c->nonconst, n->output[o], NULL) &&
                oq_strmap_put(&c->nonconst, n->output[o], c->nonconst.len))
                goto oom;
            st = match_one(c, &cap, &qnodes, n->output[o], n->op_type, 0, n, o,
                           err);
            if (st != ONNXQ_OK)
                goto done;
        }
    }
    c->seen_float = calloc(c->nonconst.len + 1, 1);
    if (!c->seen_float)
        goto oom;
    goto done;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
done:
    free(order);
    oq_strmap_clear(&constmap);
    oq_strmap_clear(&qnodes);
    return st;
}

/* ---- weights ---------------------------------------------------------------- */

/* A dequantization of an integer constant found in the quantized model. */
typedef struct wcand {
    const char *qname;
    const char *via;
    const char *names[4];  /* float names to try, malloc'd or NULL */
    int alloc[4];
    dq_params dq;
    const char *bias_scale; /* int32 bias of QLinearConv/QGemm: input scale */
} wcand;

static const char *strip_suffix(const char *s, const char *suffix, int *alloc)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    *alloc = 0;
    if (ls <= lx || strcmp(s + ls - lx, suffix) != 0)
        return NULL;
    char *r = malloc(ls - lx + 1);
    if (r) {
        memcpy(r, s, ls - lx);
        r[ls - lx] = '\0';
        *alloc = 1;
    }
    return r;
}

static void wcand_clear(wcand *w)
{
    for (int i = 0; i < 4; i++)
        if (w->alloc[i])
            free((char *)w->names[i]);
    dq_clear(&w->dq);
}

static const Onnx__TensorProto *float_const(onnxq_comparer *c, const char *name)
{
    const Onnx__TensorProto *t = name ? onnxq_graph_constant(c->fg, name) : NULL;
    return t && is_float_type(t->data_type) ? t : NULL;
}

static onnxq_status compare_weight(onnxq_comparer *c, size_t *cap,
                                   oq_strmap *used_f, oq_strmap *used_q,
                                   wcand *w, const char *fname,
                                   onnxq_error *err)
{
    const Onnx__TensorProto *ft = float_const(c, fname);
    const Onnx__TensorProto *qt = onnxq_graph_constant(c->qg, w->qname);
    /* Name weights by their value names, which live as long as the models:
     * a Constant node's tensor has no name of its own. */
    const onnxq_value *fv = onnxq_graph_value(c->fg, fname);
    const onnxq_value *qv = onnxq_graph_value(c->qg, w->qname);
    if (!ft || !qt || !fv || !qv || oq_strmap_get(used_f, fv->name, NULL) ||
        oq_strmap_get(used_q, w->qname, NULL))
        return ONNXQ_OK;
    if (ft->n_dims > ONNXQ_MAX_RANK || qt->n_dims > ONNXQ_MAX_RANK)
        return ONNXQ_OK;
    onnxq_tensor x = {ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, (int)ft->n_dims,
                      {0}, NULL};
    onnxq_tensor y = {ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, (int)qt->n_dims,
                      {0}, NULL};
    for (size_t d = 0; d < ft->n_dims; d++)
        x.dims[d] = ft->dims[d];
    for (size_t d = 0; d < qt->n_dims; d++)
        y.dims[d] = qt->dims[d];
    size_t nx, ny;
    onnxq_status st = const_values(c->fm, ft, (double **)&x.data, &nx, err);
    if (st != ONNXQ_OK)
        return st;
    st = const_values(c->qm, qt, (double **)&y.data, &ny, err);
    if (st != ONNXQ_OK) {
        free(x.data);
        return st;
    }
    onnxq_metrics m;
    onnxq_error e2;
    if (nx == ny &&
        metrics(&x, &y, &w->dq, 0, w->qname, &m, &e2) == ONNXQ_OK) {
        if (oq_grow(&c->weights, cap, c->n_weights + 1, sizeof *c->weights) ||
            oq_strmap_put(used_f, fv->name, 1) ||
            oq_strmap_put(used_q, w->qname, 1)) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            onnxq_weight_compare *wc = &c->weights[c->n_weights++];
            wc->name = fv->name;
            wc->quant_name = qv->name;
            wc->via = w->via;
            wc->quant_dtype = qt->data_type;
            wc->axis = -1;
            if (w->dq.n > 1)
                wc->axis = w->dq.axis < 0 ? w->dq.axis + y.rank : w->dq.axis;
            wc->n_scales = w->dq.n;
            wc->numel = nx;
            wc->m = m;
        }
    }
    free(x.data);
    free(y.data);
    return st;
}

/* bias scale = input scale x weight scale (per channel), zero point 0 */
static int bias_dq(onnxq_comparer *c, const char *in_scale, const dq_params *w,
                   dq_params *out)
{
    memset(out, 0, sizeof *out);
    const Onnx__TensorProto *st = in_scale ? onnxq_graph_constant(c->qg, in_scale)
                                           : NULL;
    double *sv;
    size_t sn;
    if (!st || !w->n || const_values(c->qm, st, &sv, &sn, NULL) != ONNXQ_OK)
        return 0;
    if (sn != 1) {
        free(sv);
        return 0;
    }
    out->scale = malloc(w->n * sizeof *out->scale);
    out->zp = calloc(w->n, sizeof *out->zp);
    if (!out->scale || !out->zp) {
        free(sv);
        dq_clear(out);
        return 0;
    }
    for (size_t i = 0; i < w->n; i++)
        out->scale[i] = (double)(float)(sv[0] * w->scale[i]);
    out->n = w->n;
    out->axis = w->n > 1 ? 0 : -1;
    free(sv);
    return 1;
}

static int int_const(onnxq_comparer *c, const char *name)
{
    const Onnx__TensorProto *t = name && name[0]
                                     ? onnxq_graph_constant(c->qg, name) : NULL;
    return t && is_int_type(t->data_type);
}

/* The float node and input a quantized node's input stands for: the node
 * of the same name (or without onnxruntime's "_quant" suffix). */
static const char *float_input_of(onnxq_comparer *c, const oq_strmap *fnodes,
                                  const char *qnode_name, size_t input)
{
    size_t i;
    if (!qnode_name || !qnode_name[0])
        return NULL;
    if (!oq_strmap_get(fnodes, qnode_name, &i)) {
        int a;
        char *base = (char *)strip_suffix(qnode_name, "_quant", &a);
        int found = base && oq_strmap_get(fnodes, base, &i);
        if (a)
            free(base);
        if (!found)
            return NULL;
    }
    const Onnx__NodeProto *n = onnxq_graph_node(c->fg, i);
    return input < n->n_input ? n->input[input] : NULL;
}

static onnxq_status try_weight(onnxq_comparer *c, size_t *cap, oq_strmap *uf,
                               oq_strmap *uq, wcand *w, onnxq_error *err)
{
    onnxq_status st = ONNXQ_OK;
    for (int i = 0; i < 4 && st == ONNXQ_OK; i++)
        if (w->names[i])
            st = compare_weight(c, cap, uf, uq, w, w->names[i], err);
    wcand_clear(w);
    return st;
}

static int cmp_weight(const void *a, const void *b)
{
    const onnxq_weight_compare *x = a, *y = b;
    double u = x->m.sqnr_db, v = y->m.sqnr_db;
    if (isnan(u) != isnan(v))
        return isnan(u) ? -1 : 1;
    if (!isnan(u) && u != v)
        return u < v ? -1 : 1;
    return strcmp(x->name, y->name);
}

static onnxq_status match_weights(onnxq_comparer *c, onnxq_error *err)
{
    oq_strmap uf = {0}, uq = {0}, fnodes = {0};
    size_t cap = 0;
    onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < onnxq_graph_node_count(c->fg); i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(c->fg, i);
        if (n->name && n->name[0] && !oq_strmap_get(&fnodes, n->name, NULL) &&
            oq_strmap_put(&fnodes, n->name, i)) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    for (size_t i = 0; i < onnxq_graph_node_count(c->qg) && st == ONNXQ_OK;
         i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(c->qg, i);
        wcand w;
        memset(&w, 0, sizeof w);
        if (is_op(n, "DequantizeLinear") && int_const(c, in_name(n, 0)) &&
            n->n_output >= 1) {
            w.qname = n->input[0];
            w.via = "DequantizeLinear";
            if (!dq_from_consts(c->qm, c->qg, in_name(n, 1), in_name(n, 2),
                                (int)attr_int(n, "axis", 1), &w.dq))
                continue;
            w.names[0] = strip_suffix(w.qname, "_quantized", &w.alloc[0]);
            w.names[1] = strip_suffix(n->output[0], "_DequantizeLinear_Output",
                                      &w.alloc[1]);
            w.names[2] = n->output[0];
            const onnxq_value *ov = onnxq_graph_value(c->qg, n->output[0]);
            if (ov && ov->n_uses) {
                const Onnx__NodeProto *u = onnxq_graph_node(c->qg,
                                                            ov->uses[0].node);
                if (ov->uses[0].input != SIZE_MAX)
                    w.names[3] = float_input_of(c, &fnodes, u->name,
                                                ov->uses[0].input);
            }
            st = try_weight(c, &cap, &uf, &uq, &w, err);
            continue;
        }
        int wi = -1, bi = -1, fw = 1, fb = 2;
        const char *in_scale = NULL;
        if ((is_op(n, "QLinearConv") || is_op(n, "QLinearMatMul") ||
             is_op(n, "QGemm")) && int_const(c, in_name(n, 3))) {
            wi = 3;
            in_scale = in_name(n, 1);
            if (is_op(n, "QLinearConv"))
                bi = 8;
            else if (is_op(n, "QGemm"))
                bi = 6;
        }
        if (wi < 0)
            continue;
        dq_params wdq;
        int axis = 0;
        if (is_op(n, "QLinearMatMul"))
            axis = -1;
        else if (is_op(n, "QGemm"))
            axis = attr_int(n, "transB", 0) ? 0 : 1;
        if (!dq_from_consts(c->qm, c->qg, in_name(n, wi + 1),
                            in_name(n, wi + 2), axis, &wdq))
            continue;
        if (bi >= 0 && int_const(c, in_name(n, bi))) {
            wcand b;
            memset(&b, 0, sizeof b);
            if (bias_dq(c, in_scale, &wdq, &b.dq)) {
                b.qname = n->input[bi];
                b.via = n->op_type;
                b.names[0] = strip_suffix(b.qname, "_quantized", &b.alloc[0]);
                b.names[1] = float_input_of(c, &fnodes, n->name, fb);
                st = try_weight(c, &cap, &uf, &uq, &b, err);
                if (st != ONNXQ_OK) {
                    dq_clear(&wdq);
                    break;
                }
            }
        }
        w.qname = n->input[wi];
        w.via = n->op_type;
        w.dq = wdq;
        w.names[0] = strip_suffix(w.qname, "_quantized", &w.alloc[0]);
        w.names[1] = float_input_of(c, &fnodes, n->name, fw);
        st = try_weight(c, &cap, &uf, &uq, &w, err);
    }
    /* dynamic quantization: NAME_quantized beside NAME_scale/NAME_zero_point */
    Onnx__GraphProto *qgp = onnxq_graph_proto(c->qg);
    for (size_t i = 0; i < qgp->n_initializer && st == ONNXQ_OK; i++) {
        const Onnx__TensorProto *t = qgp->initializer[i];
        if (!is_int_type(t->data_type) || oq_strmap_get(&uq, t->name, NULL))
            continue;
        wcand w;
        memset(&w, 0, sizeof w);
        w.names[0] = strip_suffix(t->name, "_quantized", &w.alloc[0]);
        if (!w.names[0])
            continue;
        char *sn = concat(w.names[0], "_scale");
        char *zn = concat(w.names[0], "_zero_point");
        int ok = sn && zn &&
                 dq_from_consts(c->qm, c->qg, sn, onnxq_graph_constant(c->qg, zn)
                                                      ? zn : NULL, 0, &w.dq);
        free(sn);
        free(zn);
        if (ok && w.dq.n > 1) {
            /* the axis whose length is the number of scales: 0, else last */
            if (t->n_dims && (size_t)t->dims[0] == w.dq.n)
                w.dq.axis = 0;
            else if (t->n_dims && (size_t)t->dims[t->n_dims - 1] == w.dq.n)
                w.dq.axis = (int)t->n_dims - 1;
            else
                ok = 0;
        }
        if (!ok) {
            wcand_clear(&w);
            continue;
        }
        w.qname = t->name;
        w.via = "name";
        st = try_weight(c, &cap, &uf, &uq, &w, err);
    }
    if (c->n_weights)
        qsort(c->weights, c->n_weights, sizeof *c->weights, cmp_weight);
done:
    oq_strmap_clear(&uf);
    oq_strmap_clear(&uq);
    oq_strmap_clear(&fnodes);
    return st;
}

/* ---- running ------------------------------------------------------------------ */

static int observe(onnxq_comparer *c, int quant, const char *name,
                   const onnxq_tensor *t)
{
    size_t i;
    if (c->mode == MODE_CAPTURE && !quant) {
        if (oq_strmap_get(&c->nonconst, name, &i) && !c->seen_float[i] &&
            is_float_type(t->dtype)) {
            c->seen_float[i] = 1;
            c->n_seen_float++;
        }
        if (!oq_strmap_get(&c->fmap, name, &i))
            return 0;
        match *m = &c->matches[i];
        if (m->dropped || m->done || m->cap.data)
            return 0;
        if (!is_float_type(t->dtype)) {
            m->dropped = 1;
            return 0;
        }
        size_t bytes = onnxq_tensor_nbytes(t);
        if (c->n_cap && c->cap_bytes + bytes > c->opts.capture_budget) {
            c->overflow = 1;
            return 0;
        }
        m->cap = *t;
        m->cap.data = malloc(bytes + 1);
        if (!m->cap.data) {
            c->obs_status = onnxq_error_set(&c->obs_err, ONNXQ_ERR_OUT_OF_MEMORY,
                                            "out of memory copying '%s'", name);
            return 1;
        }
        memcpy(m->cap.data, t->data, bytes);
        m->cap_owned = 1;
        c->cap_bytes += bytes;
        c->n_cap++;
        return 0;
    }
    if (c->mode == MODE_COMPARE && quant) {
        if (!oq_strmap_get(&c->qmap, name, &i))
            return 0;
        match *m = &c->matches[i];
        if (!m->cap.data || m->done)
            return 0;
        const dq_params *dq = NULL;
        if (!is_float_type(t->dtype)) {
            if (!m->dq.n) /* an integer we cannot dequantize */
                return 0;
            dq = &m->dq;
        }
        onnxq_metrics mt;
        if (metrics(&m->cap, t, dq, 0, name, &mt, NULL) == ONNXQ_OK) {
            stats_add(&m->tc.m, &mt);
            m->tc.quant_dtype = t->dtype;
            m->tc.rank = m->cap.rank;
            memcpy(m->tc.dims, m->cap.dims, sizeof m->tc.dims);
        }
        m->done = 1;
    }
    return 0;
}

static int observe_float(void *user, const char *name, const onnxq_tensor *t)
{
    return observe(user, 0, name, t);
}

static int observe_quant(void *user, const char *name, const onnxq_tensor *t)
{
    return observe(user, 1, name, t);
}

onnxq_status onnxq_compare_create(onnxq_model *float_model,
                                  onnxq_model *quant_model,
                                  const onnxq_compare_options *opts,
                                  onnxq_comparer **out, onnxq_error *err)
{
    onnxq_comparer *c = calloc(1, sizeof *c);
    if (!c)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    if (opts)
        c->opts = *opts;
    if (!c->opts.capture_budget)
        c->opts.capture_budget = (size_t)512 << 20;
    c->fm = float_model;
    c->qm = quant_model;
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = c->opts.n_threads;
    onnxq_status st = onnxq_session_create(float_model, &so, &c->fs, err);
    if (st != ONNXQ_OK)
        goto fail;
    st = onnxq_session_create(quant_model, &so, &c->qs, err);
    if (st != ONNXQ_OK)
        goto fail;
    /* An observer turns off the runtime's fusions (QDQ -> QLinear ops,
     * Conv + Add + Relu): every tensor the model names must exist for it.
     * Outputs and latency come from the sessions without one — what the
     * model computes when deployed — and per-tensor values from these. */
    if (c->opts.per_tensor) {
        so.observer_user = c;
        so.observer = observe_float;
        st = onnxq_session_create(float_model, &so, &c->ofs, err);
        if (st != ONNXQ_OK)
            goto fail;
        so.observer = observe_quant;
        st = onnxq_session_create(quant_model, &so, &c->oqs, err);
        if (st != ONNXQ_OK)
            goto fail;
    }
    c->n_in = onnxq_session_input_count(c->fs);
    c->n_out = onnxq_session_output_count(c->fs);
    c->q_from_f = calloc(onnxq_session_input_count(c->qs) + 1,
                         sizeof *c->q_from_f);
    c->qout_of_f = calloc(c->n_out + 1, sizeof *c->qout_of_f);
    c->outputs = calloc(c->n_out + 1, sizeof *c->outputs);
    if (!c->q_from_f || !c->qout_of_f || !c->outputs) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    st = check_io(c, err);
    if (st != ONNXQ_OK)
        goto fail;
    for (size_t i = 0; i < c->n_out; i++) {
        c->outputs[i].name = onnxq_session_output(c->fs, i)->name;
        c->outputs[i].quant_name =
            onnxq_session_output(c->qs, c->qout_of_f[i])->name;
        c->outputs[i].op_type = "output";
        c->outputs[i].how = ONNXQ_MATCH_OUTPUT;
        stats_init(&c->outputs[i].m);
    }
    if (c->opts.per_tensor) {
        if ((st = onnxq_graph_create(float_model, &c->fg, err)) != ONNXQ_OK ||
            (st = onnxq_graph_create(quant_model, &c->qg, err)) != ONNXQ_OK ||
            (st = match_tensors(c, err)) != ONNXQ_OK ||
            (st = match_weights(c, err)) != ONNXQ_OK)
            goto fail;
    }
    *out = c;
    return ONNXQ_OK;
fail:
    onnxq_compare_destroy(c);
    return st;
}

void onnxq_compare_destroy(onnxq_comparer *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_matches; i++) {
        dq_clear(&c->matches[i].dq);
        if (c->matches[i].cap_owned)
            free(c->matches[i].cap.data);
    }
    free(c->matches);
    free(c->weights);
    free(c->sorted);
    free(c->seen_float);
    oq_strmap_clear(&c->fmap);
    oq_strmap_clear(&c->qmap);
    oq_strmap_clear(&c->nonconst);
    free(c->q_from_f);
    free(c->qout_of_f);
    free(c->outputs);
    onnxq_session_destroy(c->fs);
    onnxq_session_destroy(c->qs);
    onnxq_session_destroy(c->ofs);
    onnxq_session_destroy(c->oqs);
    onnxq_graph_destroy(c->fg);
    onnxq_graph_destroy(c->qg);
    free(c);
}

/* The sample reordered (and converted) for the quantized model; entries
 * with converted data are flagged in owned. */
static onnxq_status quant_inputs(onnxq_comparer *c, const onnxq_tensor *in,
                                 onnxq_tensor **out, char **owned,
                                 onnxq_error *err)
{
    size_t nq = onnxq_session_input_count(c->qs);
    onnxq_tensor *q = calloc(nq + 1, sizeof *q);
    char *own = calloc(nq + 1, 1);
    if (!q || !own) {
        free(q);
        free(own);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < nq; k++) {
        const onnxq_tensor *f = &in[c->q_from_f[k]];
        q[k] = *f;
        const Onnx__TypeProto__Tensor *tt =
            tensor_type(onnxq_session_input(c->qs, k));
        if (!tt || !tt->has_elem_type || tt->elem_type == f->dtype ||
            !is_float_type(f->dtype) || !is_float_type(tt->elem_type))
            continue;
        q[k].dtype = tt->elem_type;
        size_t n = numel_of(f);
        q[k].data = malloc(onnxq_tensor_nbytes(&q[k]) + 1);
        if (!q[k].data) {
            for (size_t j = 0; j < k; j++)
                if (own[j])
                    free(q[j].data);
            free(q);
            free(own);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        }
        own[k] = 1;
        for (size_t i = 0; i < n; i++)
            onnxq_tensor_set_f64(&q[k], i, onnxq_tensor_get_f64(f, i));
    }
    *out = q;
    *owned = own;
    return ONNXQ_OK;
}

static void free_quant_inputs(onnxq_tensor *q, char *own, size_t n)
{
    for (size_t k = 0; q && k < n; k++)
        if (own[k])
            free(q[k].data);
    free(q);
    free(own);
}

static void drop_captures(onnxq_comparer *c)
{
    for (size_t i = 0; i < c->n_matches; i++) {
        match *m = &c->matches[i];
        if (m->cap.data) {
            if (m->cap_owned)
                free(m->cap.data);
            m->cap.data = NULL;
            m->cap_owned = 0;
            m->done = 1; /* its counterpart never came: nothing to compare */
        }
    }
    c->cap_bytes = 0;
    c->n_cap = 0;
}

onnxq_status onnxq_compare_add_sample(onnxq_comparer *c,
                                      const onnxq_tensor *inputs,
                                      size_t n_inputs, onnxq_error *err)
{
    if (n_inputs != c->n_in)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%zu inputs given, the float model has %zu",
                               n_inputs, c->n_in);
    onnxq_tensor *qin = NULL;
    char *own = NULL;
    size_t nq = onnxq_session_input_count(c->qs);
    onnxq_status st = quant_inputs(c, inputs, &qin, &own, err);
    if (st != ONNXQ_OK)
        return st;
    /* outputs, as deployed */
    onnxq_tensor *fo = NULL, *qo = NULL;
    size_t nfo = 0, nqo = 0;
    st = onnxq_session_run(c->fs, inputs, n_inputs, &fo, &nfo, err);
    if (st != ONNXQ_OK) {
        onnxq_error_prefix(err, "float model");
    } else {
        st = onnxq_session_run(c->qs, qin, nq, &qo, &nqo, err);
        if (st != ONNXQ_OK)
            onnxq_error_prefix(err, "quantized model");
    }
    c->runs += 2;
    for (size_t i = 0; i < c->n_out && st == ONNXQ_OK; i++) {
        onnxq_metrics mt;
        const onnxq_tensor *x = &fo[i], *y = &qo[c->qout_of_f[i]];
        st = metrics(x, y, NULL, 1, c->outputs[i].name, &mt, err);
        if (st == ONNXQ_OK) {
            stats_add(&c->outputs[i].m, &mt);
            c->outputs[i].quant_dtype = y->dtype;
            c->outputs[i].rank = x->rank;
            memcpy(c->outputs[i].dims, x->dims, sizeof x->dims);
        }
    }
    onnxq_tensors_free(fo, nfo);
    onnxq_tensors_free(qo, nqo);
    for (size_t i = 0; i < c->n_matches; i++)
        c->matches[i].done = 0;
    /* per tensor: as many passes as the capture budget needs */
    while (st == ONNXQ_OK && c->opts.per_tensor) {
        c->overflow = 0;
        c->obs_status = ONNXQ_OK;
        for (size_t i = 0; i < c->n_matches; i++) {
            match *m = &c->matches[i];
            if (m->graph_input && !m->done && !m->dropped) {
                m->cap = inputs[m->graph_input - 1];
                m->cap_owned = 0;
                if (!is_float_type(m->cap.dtype)) {
                    m->cap.data = NULL;
                    m->dropped = 1;
                }
            }
        }
        c->mode = MODE_CAPTURE;
        st = onnxq_session_run(c->ofs, inputs, n_inputs, &fo, &nfo, err);
        c->mode = MODE_IDLE;
        onnxq_tensors_free(fo, nfo);
        c->runs++;
        if (st == ONNXQ_OK) {
            c->mode = MODE_COMPARE;
            st = onnxq_session_run(c->oqs, qin, nq, &qo, &nqo, err);
            c->mode = MODE_IDLE;
            onnxq_tensors_free(qo, nqo);
            c->runs++;
            if (st != ONNXQ_OK)
                onnxq_error_prefix(err, "quantized model");
        } else {
            onnxq_error_prefix(err, "float model");
        }
        if (c->obs_status != ONNXQ_OK) {
            st = c->obs_status;
            if (err)
                *err = c->obs_err;
        }
        size_t captured = c->n_cap;
        drop_captures(c);
        if (!captured || !c->overflow)
            break;
    }
    free_quant_inputs(qin, own, nq);
    if (st == ONNXQ_OK && c->result.samples++ == 0 && c->opts.per_tensor)
        for (size_t i = 0; i < n_inputs; i++)
            c->n_seen_float += is_float_type(inputs[i].dtype);
    return st;
}

static int cmp_tensor(const void *a, const void *b)
{
    const onnxq_tensor_compare *x = a, *y = b;
    double u = x->m.sqnr_db.mean, v = y->m.sqnr_db.mean;
    if (isnan(u) != isnan(v))
        return isnan(u) ? -1 : 1;
    if (!isnan(u) && u != v)
        return u < v ? -1 : 1;
    u = x->m.sqnr_db.worst;
    v = y->m.sqnr_db.worst;
    if (isnan(u) != isnan(v))
        return isnan(u) ? -1 : 1;
    if (!isnan(u) && u != v)
        return u < v ? -1 : 1;
    return strcmp(x->name, y->name);
}

const onnxq_compare_result *onnxq_compare_result_get(onnxq_comparer *c)
{
    onnxq_compare_result *r = &c->result;
    r->outputs = c->outputs;
    r->n_outputs = c->n_out;
    free(c->sorted);
    c->sorted = calloc(c->n_matches + 1, sizeof *c->sorted);
    size_t n = 0;
    for (size_t i = 0; c->sorted && i < c->n_matches; i++)
        if (!c->matches[i].dropped && c->matches[i].tc.m.samples)
            c->sorted[n++] = c->matches[i].tc;
    if (n)
        qsort(c->sorted, n, sizeof *c->sorted, cmp_tensor);
    r->tensors = c->sorted;
    r->n_tensors = n;
    r->n_float_tensors = c->n_seen_float;
    r->weights = c->weights;
    r->n_weights = c->n_weights;
    r->runs = c->runs;
    return r;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static onnxq_status time_runs(onnxq_session *s, const onnxq_tensor *in,
                              size_t n_in, size_t runs, size_t warmup,
                              double *median, onnxq_error *err)
{
    double *t = malloc((runs + 1) * sizeof *t);
    if (!t)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t r = 0; r < warmup + runs; r++) {
        onnxq_tensor *o = NULL;
        size_t no = 0;
        double t0 = now_ms();
        onnxq_status st = onnxq_session_run(s, in, n_in, &o, &no, err);
        double t1 = now_ms();
        onnxq_tensors_free(o, no);
        if (st != ONNXQ_OK) {
            free(t);
            return st;
        }
        if (r >= warmup)
            t[r - warmup] = t1 - t0;
    }
    qsort(t, runs, sizeof *t, cmp_double);
    *median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    free(t);
    return ONNXQ_OK;
}

onnxq_status onnxq_compare_latency(onnxq_comparer *c,
                                   const onnxq_tensor *inputs, size_t n_inputs,
                                   size_t runs, size_t warmup,
                                   double *float_ms, double *quant_ms,
                                   onnxq_error *err)
{
    if (n_inputs != c->n_in || runs == 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "latency: %zu inputs for %zu, %zu runs",
                               n_inputs, c->n_in, runs);
    onnxq_tensor *qin;
    char *own;
    size_t nq = onnxq_session_input_count(c->qs);
    onnxq_status st = quant_inputs(c, inputs, &qin, &own, err);
    if (st != ONNXQ_OK)
        return st;
    c->mode = MODE_IDLE;
    st = time_runs(c->fs, inputs, n_inputs, runs, warmup, float_ms, err);
    if (st == ONNXQ_OK)
        st = time_runs(c->qs, qin, nq, runs, warmup, quant_ms, err);
    free_quant_inputs(qin, own, nq);
    return st;
}
