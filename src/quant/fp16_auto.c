/*
 * fp16_auto.c — float16 conversion checked on sample inputs
 * (onnxq_convert_fp16_auto, onnxq/fp16.h).
 *
 * The float32 model runs once with an observer that notes every float32
 * value leaving float16's range; the nodes making or reading such a value
 * stay float32.  Then candidate conversions are built from a serialised copy
 * of the model, run on the same inputs and compared with the float32
 * outputs.  While one fails the tolerance, the convertible main-graph nodes
 * are bisected in graph order: the shortest prefix whose conversion fails
 * (everything after it kept float32) ends with the node to keep.  The
 * search assumes that converting more nodes never makes the outputs better,
 * which holds for rounding error and overflow, the two things it looks for.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/fp16.h"
#include "onnxq/graph.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "fp16_internal.h"
#include "oq_util.h"

#define DT_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define DT_FLOAT16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define DT_BFLOAT16 ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16

/* A float32 value seen beyond the range in the reference run. */
typedef struct big_value {
    char *name;
    double max_abs;
} big_value;

typedef struct ref_out {
    int rank;
    int64_t dims[ONNXQ_MAX_RANK];
    size_t n;
    double *v;
} ref_out;

typedef struct search {
    onnxq_model *model;
    const onnxq_fp16_options *o;
    const onnxq_fp16_auto_options *ao;
    onnxq_fp16_auto_report *ar;
    onnxq_error *err;
    const onnxq_tensor *inputs;
    size_t n_inputs;
    double max_fin;
    void *bytes;          /* the float32 model, serialised */
    size_t n_bytes;
    size_t n_nodes;       /* main graph */
    unsigned char *cand;  /* [n_nodes] converted by the plain plan */
    unsigned char *keep;  /* [n_nodes] reason, 0 for none */
    ref_out *ref;
    size_t n_ref;
    big_value *big;
    size_t n_big, cap_big;
    size_t cap_kept;
    double *cos;          /* [n_ref] of the last run */
    int observer_oom;
} search;

static onnxq_status oom(onnxq_error *err)
{
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

static void progress(const search *s, const char *fmt, ...)
{
    if (!s->ao->progress)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->ao->progress(s->ao->progress_user, line);
}

void onnxq_fp16_auto_options_init(onnxq_fp16_auto_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->tolerance = 0.999;
    opts->max_runs = 200;
}

void onnxq_fp16_auto_report_clear(onnxq_fp16_auto_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_kept; i++) {
        free(r->kept[i].what);
        free(r->kept[i].value);
    }
    free(r->kept);
    for (size_t i = 0; i < r->n_outputs; i++)
        free(r->output_names[i]);
    free(r->output_names);
    free(r->output_cosine);
    memset(r, 0, sizeof *r);
}

static size_t numel(const onnxq_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

/* Largest finite |x| of a float32 tensor. */
static double max_abs_f32(const onnxq_tensor *t)
{
    const float *f = t->data;
    size_t n = numel(t);
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)f[i]);
        if (isfinite(a) && a > m)
            m = a;
    }
    return m;
}

static int note_big(search *s, const char *name, double max_abs)
{
    for (size_t i = 0; i < s->n_big; i++)
        if (strcmp(s->big[i].name, name) == 0) {
            if (max_abs > s->big[i].max_abs)
                s->big[i].max_abs = max_abs;
            return 0;
        }
    char *copy = oq_strdup(name);
    if (!copy || oq_grow(&s->big, &s->cap_big, s->n_big + 1, sizeof *s->big)) {
        free(copy);
        return -1;
    }
    s->big[s->n_big].name = copy;
    s->big[s->n_big++].max_abs = max_abs;
    return 0;
}

static int observe(void *user, const char *name, const onnxq_tensor *t)
{
    search *s = user;
    if (t->dtype != DT_FLOAT || !t->data)
        return 0;
    double m = max_abs_f32(t);
    if (m > s->max_fin && note_big(s, name, m)) {
        s->observer_oom = 1;
        return 1;
    }
    return 0;
}

/* Runs the float32 model: reference outputs and out-of-range values. */
static onnxq_status reference_run(search *s)
{
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = s->ao->n_threads;
    so.observer = observe;
    so.observer_user = s;
    onnxq_session *ss = NULL;
    onnxq_tensor *outs = NULL;
    size_t n_outs = 0;
    onnxq_status st = onnxq_session_create(s->model, &so, &ss, s->err);
    if (st != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < s->n_inputs; i++)
        if (s->inputs[i].dtype == DT_FLOAT &&
            max_abs_f32(&s->inputs[i]) > s->max_fin &&
            note_big(s, onnxq_session_input(ss, i)->name,
                     max_abs_f32(&s->inputs[i]))) {
            st = oom(s->err);
            goto done;
        }
    st = onnxq_session_run(ss, s->inputs, s->n_inputs, &outs, &n_outs, s->err);
    if (st != ONNXQ_OK) {
        if (s->observer_oom)
            st = oom(s->err);
        goto done;
    }
    s->ref = calloc(n_outs ? n_outs : 1, sizeof *s->ref);
    s->cos = calloc(n_outs ? n_outs : 1, sizeof *s->cos);
    s->ar->output_names = calloc(n_outs ? n_outs : 1, sizeof(char *));
    s->ar->output_cosine = calloc(n_outs ? n_outs : 1, sizeof(double));
    if (!s->ref || !s->cos || !s->ar->output_names || !s->ar->output_cosine) {
        st = oom(s->err);
        goto done;
    }
    s->n_ref = n_outs;
    s->ar->n_outputs = n_outs;
    for (size_t i = 0; i < n_outs; i++) {
        ref_out *r = &s->ref[i];
        r->rank = outs[i].rank;
        memcpy(r->dims, outs[i].dims, sizeof r->dims);
        r->n = numel(&outs[i]);
        r->v = malloc((r->n ? r->n : 1) * sizeof *r->v);
        s->ar->output_names[i] = oq_strdup(onnxq_session_output(ss, i)->name);
        if (!r->v || !s->ar->output_names[i]) {
            st = oom(s->err);
            goto done;
        }
        for (size_t k = 0; k < r->n; k++)
            r->v[k] = onnxq_tensor_get_f64(&outs[i], k);
    }
done:
    onnxq_tensors_free(outs, n_outs);
    onnxq_session_destroy(ss);
    return st;
}

/* Cosine of got against reference r; NaN if got is not finite where r is,
 * or differs from r where r is not finite, or has another shape. */
static double cosine(const ref_out *r, const onnxq_tensor *got)
{
    if (got->rank != r->rank ||
        memcmp(got->dims, r->dims, (size_t)r->rank * sizeof r->dims[0]))
        return NAN;
    double dot = 0, na = 0, nb = 0;
    for (size_t k = 0; k < r->n; k++) {
        double a = r->v[k], b = onnxq_tensor_get_f64(got, k);
        if (!isfinite(a)) {
            if (!(a == b || (isnan(a) && isnan(b))))
                return NAN;
            continue;
        }
        if (!isfinite(b))
            return NAN;
        dot += a * b;
        na += a * a;
        nb += b * b;
    }
    if (na == 0 && nb == 0)
        return 1.0;
    if (na == 0 || nb == 0)
        return 0.0;
    return dot / (sqrt(na) * sqrt(nb));
}

static int32_t vi_elem_type(const Onnx__ValueInfoProto *vi)
{
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type || !vi->type->tensor_type->has_elem_type)
        return 0;
    return vi->type->tensor_type->elem_type;
}

/* Converts a copy of the model keeping s->keep (plus, for the nodes of
 * order[from..n_order), ONNXQ_FP16_BLOCK_AUTO_TOLERANCE), runs it and sets
 * *worst to the lowest output cosine (NaN if an output is not finite where
 * the reference is) and s->cos per output. */
static onnxq_status try_keep(search *s, const size_t *order, size_t from,
                             size_t n_order, double *worst)
{
    if (s->ar->runs >= s->ao->max_runs)
        return onnxq_error_set(s->err, ONNXQ_ERR_UNSUPPORTED,
                               "fp16 auto: no answer within %zu runs",
                               s->ao->max_runs);
    s->ar->runs++;
    unsigned char *keep = malloc(s->n_nodes ? s->n_nodes : 1);
    if (!keep)
        return oom(s->err);
    memcpy(keep, s->keep, s->n_nodes);
    for (size_t i = from; i < n_order; i++)
        keep[order[i]] = ONNXQ_FP16_BLOCK_AUTO_TOLERANCE;
    onnxq_fp16_options o = *s->o;
    o.keep_nodes = keep;
    o.n_keep_nodes = s->n_nodes;
    onnxq_model *m = NULL;
    onnxq_session *ss = NULL;
    onnxq_tensor *ins = NULL, *outs = NULL;
    size_t n_outs = 0;
    onnxq_fp16_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_status st = onnxq_model_load_memory(
        s->bytes, s->n_bytes, onnxq_model_base_dir(s->model),
        onnxq_model_source(s->model), &m, s->err);
    if (st == ONNXQ_OK)
        st = oq_fp16_convert(m, &o, &rep, NULL, s->err);
    onnxq_fp16_report_clear(&rep);
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = s->ao->n_threads;
    if (st == ONNXQ_OK)
        st = onnxq_session_create(m, &so, &ss, s->err);
    if (st != ONNXQ_OK)
        goto done;
    /* inputs in the types the converted model wants */
    ins = calloc(s->n_inputs ? s->n_inputs : 1, sizeof *ins);
    if (!ins) {
        st = oom(s->err);
        goto done;
    }
    for (size_t i = 0; i < s->n_inputs; i++) {
        ins[i] = s->inputs[i];
        int32_t want = i < onnxq_session_input_count(ss)
                       ? vi_elem_type(onnxq_session_input(ss, i)) : 0;
        if (s->inputs[i].dtype == DT_FLOAT &&
            (want == DT_FLOAT16 || want == DT_BFLOAT16)) {
            size_t n = numel(&s->inputs[i]);
            ins[i].dtype = want;
            ins[i].data = malloc(n ? n * 2 : 1);
            if (!ins[i].data) {
                st = oom(s->err);
                goto done;
            }
            for (size_t k = 0; k < n; k++)
                onnxq_tensor_set_f64(&ins[i], k,
                                     ((const float *)s->inputs[i].data)[k]);
        }
    }
    st = onnxq_session_run(ss, ins, s->n_inputs, &outs, &n_outs, s->err);
    if (st != ONNXQ_OK)
        goto done;
    *worst = 1.0;
    for (size_t i = 0; i < s->n_ref && i < n_outs; i++) {
        s->cos[i] = cosine(&s->ref[i], &outs[i]);
        if (isnan(s->cos[i]) || s->cos[i] < *worst)
            *worst = isnan(*worst) ? *worst : s->cos[i];
    }
done:
    if (ins)
        for (size_t i = 0; i < s->n_inputs; i++)
            if (ins[i].data != s->inputs[i].data)
                free(ins[i].data);
    free(ins);
    onnxq_tensors_free(outs, n_outs);
    onnxq_session_destroy(ss);
    onnxq_model_destroy(m);
    free(keep);
    return st;
}

static int passes(const search *s, double worst)
{
    return !isnan(worst) && worst >= s->ao->tolerance;
}

static onnxq_status add_kept(search *s, const onnxq_graph *g, size_t node,
                             int reason, double max_abs, const char *value,
                             double cos)
{
    const Onnx__NodeProto *n = onnxq_graph_node(g, node);
    char buf[512];
    if (n->name && n->name[0])
        snprintf(buf, sizeof buf, "%s '%s'", n->op_type ? n->op_type : "?",
                 n->name);
    else
        snprintf(buf, sizeof buf, "%s #%zu", n->op_type ? n->op_type : "?",
                 node);
    if (oq_grow(&s->ar->kept, &s->cap_kept, s->ar->n_kept + 1,
                sizeof *s->ar->kept))
        return oom(s->err);
    onnxq_fp16_auto_kept *k = &s->ar->kept[s->ar->n_kept];
    memset(k, 0, sizeof *k);
    k->node = node;
    k->reason = reason;
    k->max_abs = max_abs;
    k->cosine = cos;
    k->what = oq_strdup(buf);
    k->value = value ? oq_strdup(value) : NULL;
    s->ar->n_kept++;
    if (!k->what || (value && !k->value))
        return oom(s->err);
    s->keep[node] = (unsigned char)reason;
    if (reason == ONNXQ_FP16_BLOCK_AUTO_RANGE)
        s->ar->n_range++;
    else
        s->ar->n_tolerance++;
    progress(s, "keeping %s float32: %s", buf,
             reason == ONNXQ_FP16_BLOCK_AUTO_RANGE ? "value beyond float16 range"
                                                   : "output tolerance");
    return ONNXQ_OK;
}

/* Step 1: keep the producers and consumers of the out-of-range values. */
static onnxq_status keep_range(search *s)
{
    onnxq_graph *g = NULL;
    onnxq_status st = onnxq_graph_create(s->model, &g, s->err);
    if (st != ONNXQ_OK)
        return st;
    for (size_t b = 0; b < s->n_big && st == ONNXQ_OK; b++) {
        const onnxq_value *v = onnxq_graph_value(g, s->big[b].name);
        if (!v)
            continue; /* a value inside a subgraph */
        if (v->kind == ONNXQ_VALUE_NODE_OUTPUT && v->producer < s->n_nodes &&
            s->cand[v->producer] && !s->keep[v->producer])
            st = add_kept(s, g, v->producer, ONNXQ_FP16_BLOCK_AUTO_RANGE,
                          s->big[b].max_abs, v->name, NAN);
        for (size_t u = 0; u < v->n_uses && st == ONNXQ_OK; u++) {
            size_t nd = v->uses[u].node;
            if (nd < s->n_nodes && s->cand[nd] && !s->keep[nd])
                st = add_kept(s, g, nd, ONNXQ_FP16_BLOCK_AUTO_RANGE,
                              s->big[b].max_abs, v->name, NAN);
        }
    }
    onnxq_graph_destroy(g);
    return st;
}

/* Step 2: bisection until the outputs pass. */
static onnxq_status bisect(search *s)
{
    double worst = 1.0;
    onnxq_status st = try_keep(s, NULL, 0, 0, &worst);
    if (st != ONNXQ_OK)
        return st;
    s->ar->cosine_before = worst;
    progress(s, "converted: worst output cosine %.7f (tolerance %.7g)", worst,
             s->ao->tolerance);
    size_t *order = malloc((s->n_nodes ? s->n_nodes : 1) * sizeof *order);
    if (!order)
        return oom(s->err);
    onnxq_graph *g = NULL;
    if ((st = onnxq_graph_create(s->model, &g, s->err)) != ONNXQ_OK) {
        free(order);
        return st;
    }
    /* prefixes of this length are known to pass (monotonicity) */
    size_t known_ok = 0;
    while (!passes(s, worst)) {
        size_t m = 0;
        for (size_t i = 0; i < s->n_nodes; i++)
            if (s->cand[i] && !s->keep[i])
                order[m++] = i;
        if (m == 0) {
            st = onnxq_error_set(s->err, ONNXQ_ERR_UNSUPPORTED,
                                 "fp16 auto: an output stays beyond the "
                                 "tolerance (cosine %.7f < %.7g) with every "
                                 "main-graph node float32",
                                 worst, s->ao->tolerance);
            break;
        }
        progress(s, "bisecting %zu convertible nodes", m);
        size_t lo = known_ok < m ? known_ok : m - 1, hi = m;
        double hi_worst = worst;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            double w = 1.0;
            if ((st = try_keep(s, order, mid, m, &w)) != ONNXQ_OK)
                break;
            progress(s, "run %zu: first %zu of %zu converted: cosine %.7f",
                     s->ar->runs, mid, m, w);
            if (passes(s, w)) {
                lo = mid;
            } else {
                hi = mid;
                hi_worst = w;
            }
        }
        if (st != ONNXQ_OK)
            break;
        if ((st = add_kept(s, g, order[hi - 1], ONNXQ_FP16_BLOCK_AUTO_TOLERANCE,
                           NAN, NULL, hi_worst)) != ONNXQ_OK)
            break;
        known_ok = hi - 1;
        if ((st = try_keep(s, NULL, 0, 0, &worst)) != ONNXQ_OK)
            break;
        progress(s, "run %zu: all others converted: cosine %.7f", s->ar->runs,
                 worst);
    }
    onnxq_graph_destroy(g);
    free(order);
    if (st == ONNXQ_OK) {
        s->ar->cosine_after = worst;
        memcpy(s->ar->output_cosine, s->cos, s->n_ref * sizeof *s->cos);
    }
    return st;
}

onnxq_status onnxq_convert_fp16_auto(onnxq_model *model,
                                     const onnxq_fp16_options *opts,
                                     const onnxq_fp16_auto_options *aopts,
                                     const onnxq_tensor *inputs,
                                     size_t n_inputs,
                                     onnxq_fp16_report *report,
                                     onnxq_fp16_auto_report *auto_report,
                                     onnxq_error *err)
{
    onnxq_fp16_options dopts;
    onnxq_fp16_auto_options daopts;
    onnxq_fp16_auto_report local_ar;
    if (!opts) {
        onnxq_fp16_options_init(&dopts);
        opts = &dopts;
    }
    if (!aopts) {
        onnxq_fp16_auto_options_init(&daopts);
        aopts = &daopts;
    }
    if (!auto_report)
        auto_report = &local_ar;
    memset(auto_report, 0, sizeof *auto_report);
    if (!model)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fp16 auto: no model");
    if (!(aopts->tolerance > 0 && aopts->tolerance <= 1))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fp16 auto: tolerance %g is not a cosine in "
                               "(0, 1]", aopts->tolerance);
    search s;
    memset(&s, 0, sizeof s);
    s.model = model;
    s.o = opts;
    s.ao = aopts;
    s.ar = auto_report;
    s.err = err;
    s.inputs = inputs;
    s.n_inputs = n_inputs;
    s.max_fin = opts->max_finite_val > 0 ? opts->max_finite_val
                : opts->bf16 ? ldexp(255.0 / 128.0, 127) : 65504.0;
    s.ar->cosine_before = s.ar->cosine_after = 1.0;
    onnxq_fp16_auto_options ao_copy = *aopts;
    if (!ao_copy.max_runs)
        ao_copy.max_runs = 200;
    s.ao = &ao_copy;
    Onnx__ModelProto *mp = onnxq_model_proto(model);
    onnxq_status st;
    onnxq_model *probe = NULL;
    onnxq_fp16_report rep;
    memset(&rep, 0, sizeof rep);
    if (!mp->graph) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                             "fp16: the model has no graph");
        goto done;
    }
    s.n_nodes = mp->graph->n_node;
    s.cand = calloc(s.n_nodes ? s.n_nodes : 1, 1);
    s.keep = calloc(s.n_nodes ? s.n_nodes : 1, 1);
    if (!s.cand || !s.keep) {
        st = oom(err);
        goto done;
    }
    /* the plain plan (on a copy) tells the candidates and whether the model
     * is float16 already; the float32 model itself then runs */
    if ((st = onnxq_model_serialize(model, &s.bytes, &s.n_bytes, err)) !=
        ONNXQ_OK)
        goto done;
    st = onnxq_model_load_memory(s.bytes, s.n_bytes,
                                 onnxq_model_base_dir(model),
                                 onnxq_model_source(model), &probe, err);
    if (st == ONNXQ_OK)
        st = oq_fp16_convert(probe, opts, &rep, s.cand, err);
    if (st != ONNXQ_OK)
        goto done;
    if (rep.already_converted) {
        st = oq_fp16_convert(model, opts, report, NULL, err);
        goto done;
    }
    for (size_t i = 0; i < s.n_nodes; i++)
        s.ar->candidates += s.cand[i];
    progress(&s, "float32 run on the sample inputs");
    if ((st = reference_run(&s)) != ONNXQ_OK)
        goto done;
    progress(&s, "float32 run: %zu values beyond %g", s.n_big, s.max_fin);
    if ((st = keep_range(&s)) != ONNXQ_OK)
        goto done;
    if ((st = bisect(&s)) != ONNXQ_OK)
        goto done;
    /* the model itself, converted as the last passing run */
    onnxq_fp16_options fin = *opts;
    fin.keep_nodes = s.keep;
    fin.n_keep_nodes = s.n_nodes;
    st = oq_fp16_convert(model, &fin, report, NULL, err);
done:
    onnxq_fp16_report_clear(&rep);
    onnxq_model_destroy(probe);
    for (size_t i = 0; i < s.n_big; i++)
        free(s.big[i].name);
    free(s.big);
    for (size_t i = 0; i < s.n_ref; i++)
        free(s.ref[i].v);
    free(s.ref);
    free(s.cos);
    free(s.cand);
    free(s.keep);
    free(s.bytes);
    if (auto_report == &local_ar)
        onnxq_fp16_auto_report_clear(&local_ar);
    return st;
}
