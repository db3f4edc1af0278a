/*
 * tune.c — `onnxq tune`'s search for the fastest statically quantized model
 * that keeps an accuracy bound (see onnxq/tune.h for the algorithm).
 *
 * Everything here is built from the other quantization modules: candidates
 * are onnxq_static_quantize runs on copies of the float model (serialised
 * once, loaded from memory per candidate), with ranges looked up in one
 * calibration per collector method over the union of the tensors any
 * planned candidate needs; accuracy and latency come from onnxq/compare.h.
 * Held-out samples are decoded once and kept in memory (they are few).
 *
 * Determinism: candidate order, names, builds and accuracy do not depend on
 * time; measured latency does, and it enters only through the choice (and
 * the centre of the second stage), where a margin keeps noise from
 * preferring a less accurate model.
 */
#include "onnxq/tune.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "oq_util.h"
#include "strmap.h"

enum { N_METHODS = 4 };

void onnxq_tune_options_init(onnxq_tune_options *o)
{
    memset(o, 0, sizeof *o);
    o->metric = ONNXQ_TUNE_COSINE;
    o->bound = 0.995;
    o->budget_seconds = 300;
    o->n_threads = 1;
    o->runs = 5;
    o->warmup = 1;
    o->margin = 0.03;
    o->max_exclude = 8;
    o->refine_candidates = 2;
    onnxq_calib_options_init(&o->calib);
}

const char *onnxq_tune_metric_name(onnxq_tune_metric m)
{
    return m == ONNXQ_TUNE_SQNR ? "sqnr" : "cosine";
}

/* ---- candidate names ---------------------------------------------------------- */

static const char *tname(int32_t t)
{
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? "s8" : "u8";
}

static int32_t ttype(char c)
{
    return c == 's' ? ONNX__TENSOR_PROTO__DATA_TYPE__INT8
                    : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
}

static void config_default(onnxq_tune_config *c)
{
    memset(c, 0, sizeof *c);
    c->format = ONNXQ_FORMAT_QDQ;
    c->activation_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    c->weight_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    c->per_channel = 1;
    c->method = ONNXQ_CALIB_MINMAX;
}

int onnxq_tune_config_parse(const char *name, onnxq_tune_config *c, char *bad,
                            size_t bad_size)
{
    config_default(c);
    char buf[512];
    if (!name || strlen(name) >= sizeof buf || !*name) {
        snprintf(bad, bad_size, "%s", name ? name : "");
        return -1;
    }
    strcpy(buf, name);
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t;
         t = strtok_r(NULL, "/", &save)) {
        int m;
        if (!strcasecmp(t, "qdq"))
            c->format = ONNXQ_FORMAT_QDQ;
        else if (!strcasecmp(t, "qoperator") || !strcasecmp(t, "qop"))
            c->format = ONNXQ_FORMAT_QOPERATOR;
        else if (strlen(t) == 4 && (t[0] == 'u' || t[0] == 's') &&
                 t[1] == '8' && (t[2] == 'u' || t[2] == 's') && t[3] == '8') {
            c->activation_type = ttype(t[0]);
            c->weight_type = ttype(t[2]);
        } else if (!strcasecmp(t, "pc"))
            c->per_channel = 1;
        else if (!strcasecmp(t, "pt"))
            c->per_channel = 0;
        else if ((m = onnxq_calib_method_parse(t)) >= 0)
            c->method = (onnxq_calib_method)m;
        else if (!strcasecmp(t, "default"))
            c->op_types[0] = '\0';
        else if (isupper((unsigned char)t[0]) &&
                 strlen(t) < sizeof c->op_types) {
            /* op types joined by '+': each must look like an op name; the
             * static planner checks that it knows them */
            for (char *p = t; *p; p++) {
                if (*p == '+')
                    *p = ',';
                else if (!isalnum((unsigned char)*p) && *p != '_') {
                    snprintf(bad, bad_size, "%s", t);
                    return -1;
                }
            }
            strcpy(c->op_types, t);
        } else {
            snprintf(bad, bad_size, "%s", t);
            return -1;
        }
    }
    return 0;
}

void onnxq_tune_config_name(const onnxq_tune_config *c, char *buf, size_t size)
{
    char ops[256];
    snprintf(ops, sizeof ops, "%s", c->op_types[0] ? c->op_types : "default");
    for (char *p = ops; *p; p++)
        if (*p == ',')
            *p = '+';
    snprintf(buf, size, "%s/%s%s/%s/%s/%s",
             c->format == ONNXQ_FORMAT_QDQ ? "qdq" : "qoperator",
             tname(c->activation_type), tname(c->weight_type),
             c->per_channel ? "pc" : "pt", onnxq_calib_method_name(c->method),
             ops);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* op names keep their case */
    char *slash = strrchr(buf, '/');
    if (slash && c->op_types[0])
        snprintf(slash + 1, size - (size_t)(slash + 1 - buf), "%s", ops);
}

static void static_opts(const onnxq_tune_config *c, const char *exclude,
                        onnxq_static_options *so)
{
    onnxq_static_options_init(so);
    so->format = c->format;
    so->activation_type = c->activation_type;
    so->weight_type = c->weight_type;
    so->per_channel = c->per_channel;
    /* `onnxq static`'s rule: ONNX Runtime's x86 u8 x s8 kernels saturate
     * pair sums at int16 without VNNI; 7-bit weights avoid it */
    so->reduce_range =
        c->activation_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 &&
        c->weight_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    so->op_types = c->op_types[0] ? c->op_types : NULL;
    so->nodes_exclude = exclude;
}

/* ---- the search's state ----------------------------------------------------- */

typedef struct tctx {
    onnxq_model *fm;
    onnxq_model *cm;      /* what compare.h sees as the float model */
    onnxq_session *fs;    /* the float model, for timing (no observer) */
    const onnxq_tune_options *o;
    onnxq_tune_result *r;
    size_t cap;
    void *bytes;          /* the float model, serialised */
    size_t size;
    onnxq_tensor **hold;  /* n_hold samples of n_in tensors */
    size_t n_hold, n_in;
    onnxq_calib_data *calib;
    char **names;         /* union of the tensors to calibrate (malloc'd) */
    size_t n_names, names_cap;
    oq_strmap name_ix;    /* name -> index in names */
    onnxq_tensor_range *ranges[N_METHODS];
    double t0, last_cost;
} tctx;

typedef struct priv {
    onnxq_comparer *detail;
    onnxq_model *detail_model;
} priv;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int over_budget(const tctx *x)
{
    if (x->o->budget_seconds <= 0 || x->r->n_cands == 0)
        return 0;
    return now_s() - x->t0 + x->last_cost > x->o->budget_seconds;
}

static onnxq_status copy_model(tctx *x, onnxq_model **m, onnxq_error *err)
{
    return onnxq_model_load_memory(x->bytes, x->size,
                                   onnxq_model_base_dir(x->fm), "candidate", m,
                                   err);
}

static onnxq_status oom(onnxq_error *err)
{
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

/* Adds the tensors config needs to the union. */
static onnxq_status plan_union(tctx *x, onnxq_model *scratch,
                               const onnxq_tune_config *c, onnxq_error *err)
{
    onnxq_static_options so;
    static_opts(c, NULL, &so);
    char **names = NULL;
    size_t n = 0;
    onnxq_status st = onnxq_static_plan(scratch, &so, &names, &n, err);
    if (st != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < n && st == ONNXQ_OK; i++) {
        if (oq_strmap_get(&x->name_ix, names[i], NULL))
            continue;
        if (oq_grow(&x->names, &x->names_cap, x->n_names + 1,
                    sizeof *x->names)) {
            st = oom(err);
            break;
        }
        x->names[x->n_names] = names[i];
        names[i] = NULL; /* moved */
        if (oq_strmap_put(&x->name_ix, x->names[x->n_names], x->n_names))
            st = oom(err);
        x->n_names++;
    }
    onnxq_static_names_free(names, n);
    return st;
}

static onnxq_status ensure_ranges(tctx *x, onnxq_calib_method m,
                                  onnxq_error *err)
{
    if (x->ranges[m])
        return ONNXQ_OK;
    if (x->o->progress) {
        char what[96];
        snprintf(what, sizeof what, "calibrating %zu tensors (%s) on %zu "
                 "samples", x->n_names, onnxq_calib_method_name(m),
                 x->r->n_calib);
        x->o->progress(x->o->progress_user, NULL, 0, what);
    }
    onnxq_calib_options co = x->o->calib;
    co.method = m;
    co.n_threads = x->o->n_threads;
    onnxq_status st = onnxq_calibrate(x->fm, (const char *const *)x->names,
                                      x->n_names, &co, x->calib, NULL, NULL,
                                      &x->ranges[m], err);
    if (st == ONNXQ_OK)
        x->r->n_calibrations++;
    else
        onnxq_error_prefix(err, "calibration (%s)",
                           onnxq_calib_method_name(m));
    return st;
}

/* A quantized copy of the float model.  Failures that belong to the
 * candidate (an op set the model lacks ...) come back as errors too; the
 * caller records them.  rep may be NULL. */
static onnxq_status build(tctx *x, const onnxq_tune_config *c,
                          const char *exclude, onnxq_model **out,
                          onnxq_static_report *rep, onnxq_error *err)
{
    *out = NULL;
    onnxq_model *m = NULL;
    char **names = NULL;
    size_t n = 0;
    onnxq_tensor_range *rs = NULL;
    onnxq_static_options so;
    static_opts(c, exclude, &so);
    onnxq_status st = copy_model(x, &m, err);
    if (st == ONNXQ_OK)
        st = onnxq_static_plan(m, &so, &names, &n, err);
    if (st == ONNXQ_OK && n)
        st = ensure_ranges(x, c->method, err);
    if (st == ONNXQ_OK && !(rs = calloc(n ? n : 1, sizeof *rs)))
        st = oom(err);
    for (size_t i = 0; st == ONNXQ_OK && i < n; i++) {
        size_t k;
        if (!oq_strmap_get(&x->name_ix, names[i], &k)) {
            /* cannot happen for planned configurations: excluding nodes
             * only removes tensors */
            st = onnxq_error_set(err, ONNXQ_ERR_INTERNAL,
                                 "tensor '%s' was not calibrated", names[i]);
            break;
        }
        rs[i] = x->ranges[c->method][k]; /* name borrowed */
    }
    if (st == ONNXQ_OK)
        st = onnxq_static_quantize(m, &so, rs, n, rep, err);
    free(rs);
    onnxq_static_names_free(names, n);
    if (st != ONNXQ_OK) {
        onnxq_model_destroy(m);
        return st;
    }
    *out = m;
    return ONNXQ_OK;
}

static double worse(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a < b ? a : b;
}

static int cmp_double(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return u < v ? -1 : u > v;
}

static double median(double *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static onnxq_status timed_run(onnxq_session *s, const onnxq_tensor *in,
                              size_t n_in, double *ms, onnxq_error *err)
{
    onnxq_tensor *o = NULL;
    size_t no = 0;
    double t0 = now_s();
    onnxq_status st = onnxq_session_run(s, in, n_in, &o, &no, err);
    *ms = (now_s() - t0) * 1e3;
    onnxq_tensors_free(o, no);
    return st;
}

/* Median latency of the float model and of qm on the first held-out
 * sample: blocks of warmup + runs runs in the order float, quant, quant,
 * float, so that a drift of load on the machine hits both alike, while
 * each block runs with the model's weights warm in the caches as a deployed
 * model does (interleaving single runs made each model evict the other's
 * and measured the int8 model ~1.5x slower than `onnxq bench` does). */
static onnxq_status time_pair(tctx *x, onnxq_model *qm, double *f_ms,
                              double *q_ms, onnxq_error *err)
{
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = x->o->n_threads;
    onnxq_session *qs = NULL;
    onnxq_tensor *qin = NULL;
    size_t runs = x->o->runs, n_q = 0;
    double *tf = malloc((2 * runs + 1) * sizeof *tf);
    double *tq = malloc((2 * runs + 1) * sizeof *tq);
    onnxq_status st = tf && tq ? ONNXQ_OK : oom(err);
    if (st == ONNXQ_OK && !x->fs)
        st = onnxq_session_create(x->fm, &so, &x->fs, err);
    if (st == ONNXQ_OK)
        st = onnxq_session_create(qm, &so, &qs, err);
    /* the quantized model's inputs by name (static quantization keeps
     * them, but not necessarily in the same order) */
    if (st == ONNXQ_OK) {
        n_q = onnxq_session_input_count(qs);
        if (!(qin = calloc(n_q + 1, sizeof *qin)))
            st = oom(err);
    }
    for (size_t i = 0; st == ONNXQ_OK && i < n_q; i++) {
        const char *nm = onnxq_session_input(qs, i)->name;
        size_t k = 0;
        while (k < x->n_in && strcmp(onnxq_session_input(x->fs, k)->name, nm))
            k++;
        if (k == x->n_in)
            st = onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                 "quantized model input '%s' is not an input "
                                 "of the float model", nm);
        else
            qin[i] = x->hold[0][k]; /* data borrowed */
    }
    double ms;
    size_t nf = 0, nq = 0;
    for (int b = 0; b < 4 && st == ONNXQ_OK; b++) {
        int is_f = b == 0 || b == 3;
        onnxq_session *s = is_f ? x->fs : qs;
        const onnxq_tensor *in = is_f ? x->hold[0] : qin;
        size_t n = is_f ? x->n_in : n_q;
        for (size_t r = 0; st == ONNXQ_OK && r < x->o->warmup; r++)
            st = timed_run(s, in, n, &ms, err);
        for (size_t r = 0; st == ONNXQ_OK && r < runs; r++)
            st = timed_run(s, in, n, is_f ? &tf[nf++] : &tq[nq++], err);
    }
    if (st == ONNXQ_OK) {
        *f_ms = median(tf, nf);
        *q_ms = median(tq, nq);
    }
    free(tf);
    free(tq);
    free(qin);
    onnxq_session_destroy(qs);
    return st;
}

/* Accuracy on every held-out sample and latency on the first. */
static onnxq_status measure(tctx *x, onnxq_model *qm, onnxq_tune_candidate *c,
                            onnxq_error *err)
{
    onnxq_compare_options co;
    onnxq_compare_options_init(&co);
    co.n_threads = x->o->n_threads;
    onnxq_comparer *cmp = NULL;
    onnxq_status st = onnxq_compare_create(x->cm, qm, &co, &cmp, err);
    for (size_t i = 0; st == ONNXQ_OK && i < x->n_hold; i++)
        st = onnxq_compare_add_sample(cmp, x->hold[i], x->n_in, err);
    if (st == ONNXQ_OK) {
        const onnxq_compare_result *res = onnxq_compare_result_get(cmp);
        c->cos_worst = c->cos_mean = c->sqnr_worst = c->sqnr_mean = INFINITY;
        for (size_t i = 0; i < res->n_outputs; i++) {
            const onnxq_metric_stats *m = &res->outputs[i].m;
            c->cos_worst = worse(c->cos_worst, m->cosine.worst);
            c->cos_mean = worse(c->cos_mean, m->cosine.mean);
            c->sqnr_worst = worse(c->sqnr_worst, m->sqnr_db.worst);
            c->sqnr_mean = worse(c->sqnr_mean, m->sqnr_db.mean);
        }
        c->metric = x->o->metric == ONNXQ_TUNE_SQNR ? c->sqnr_worst
                                                    : c->cos_worst;
    }
    if (st == ONNXQ_OK && x->o->runs) {
        onnxq_compare_destroy(cmp); /* its sessions' memory, before timing */
        cmp = NULL;
        st = time_pair(x, qm, &c->float_ms, &c->quant_ms, err);
        c->speedup = c->quant_ms > 0 ? c->float_ms / c->quant_ms : NAN;
    } else if (st == ONNXQ_OK) {
        c->float_ms = c->quant_ms = c->speedup = NAN;
    }
    onnxq_compare_destroy(cmp);
    return st;
}

static int meets(const tctx *x, const onnxq_tune_candidate *c)
{
    if (!c->ok || isnan(c->metric) || c->metric < x->o->bound)
        return 0;
    if (x->o->min_speedup > 0 && !(c->speedup >= x->o->min_speedup))
        return 0;
    return 1;
}

static int have_config(const tctx *x, const char *name)
{
    for (size_t i = 0; i < x->r->n_cands; i++)
        if (!strcmp(x->r->cands[i].name, name))
            return 1;
    return 0;
}

/* Builds and measures one candidate and appends it (also when it fails;
 * only out of memory is returned as an error).  *idx gets its index. */
static onnxq_status evaluate(tctx *x, const onnxq_tune_config *cfg,
                             const char *exclude, size_t n_excl, size_t parent,
                             size_t *idx, onnxq_error *err)
{
    onnxq_tune_result *r = x->r;
    if (oq_grow(&r->cands, &x->cap, r->n_cands + 1, sizeof *r->cands))
        return oom(err);
    onnxq_tune_candidate *c = &r->cands[r->n_cands];
    memset(c, 0, sizeof *c);
    c->config = *cfg;
    c->parent = parent;
    c->n_excluded = n_excl;
    c->float_ms = c->quant_ms = c->speedup = c->metric = NAN;
    c->cos_worst = c->cos_mean = c->sqnr_worst = c->sqnr_mean = NAN;
    char name[400];
    onnxq_tune_config_name(cfg, name, sizeof name);
    if (n_excl) {
        size_t l = strlen(name);
        snprintf(name + l, sizeof name - l, "+float:%zu", n_excl);
    }
    if (!(c->name = oq_strdup(name)) ||
        (exclude && !(c->nodes_exclude = oq_strdup(exclude)))) {
        free(c->name);
        return oom(err);
    }
    r->n_cands++;
    *idx = r->n_cands - 1;
    /* calibration time is not the candidate's cost */
    onnxq_calib_method m = cfg->method;
    if (!x->ranges[m]) {
        onnxq_status st = ensure_ranges(x, m, err);
        if (st == ONNXQ_ERR_OUT_OF_MEMORY)
            return st;
        if (st != ONNXQ_OK) {
            c = &r->cands[*idx];
            c->error = oq_strdup(err->message);
            if (x->o->progress)
                x->o->progress(x->o->progress_user, c, *idx, NULL);
            return ONNXQ_OK;
        }
    }
    double t = now_s();
    onnxq_model *qm = NULL;
    onnxq_static_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_error e;
    onnxq_status st = build(x, cfg, exclude, &qm, &rep, &e);
    c = &r->cands[*idx];
    if (st == ONNXQ_OK) {
        c->n_quantized = rep.n_quantized;
        st = measure(x, qm, c, &e);
    }
    onnxq_static_report_clear(&rep);
    onnxq_model_destroy(qm);
    c->seconds = now_s() - t;
    x->last_cost = c->seconds;
    if (st == ONNXQ_ERR_OUT_OF_MEMORY) {
        *err = e;
        return st;
    }
    if (st != ONNXQ_OK) {
        c->error = oq_strdup(e.message);
    } else {
        c->ok = 1;
        c->meets = meets(x, c);
    }
    if (x->o->progress)
        x->o->progress(x->o->progress_user, c, *idx, NULL);
    return ONNXQ_OK;
}

/* The rule of onnxq/tune.h: fastest passing, unless a more accurate one is
 * within the margin.  SIZE_MAX if none passes. */
static size_t choose(const tctx *x)
{
    const onnxq_tune_result *r = x->r;
    double fastest = -INFINITY;
    for (size_t i = 0; i < r->n_cands; i++)
        if (r->cands[i].meets) {
            double s = isnan(r->cands[i].speedup) ? 0 : r->cands[i].speedup;
            if (s > fastest)
                fastest = s;
        }
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < r->n_cands; i++) {
        const onnxq_tune_candidate *c = &r->cands[i];
        double s = isnan(c->speedup) ? 0 : c->speedup;
        if (!c->meets || s * (1 + x->o->margin) < fastest)
            continue;
        if (best == SIZE_MAX || c->metric > r->cands[best].metric)
            best = i;
    }
    return best;
}

/* The most accurate measured candidate (SIZE_MAX if none was). */
static size_t most_accurate(const tctx *x)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < x->r->n_cands; i++) {
        const onnxq_tune_candidate *c = &x->r->cands[i];
        if (!c->ok || isnan(c->metric))
            continue;
        if (best == SIZE_MAX || c->metric > x->r->cands[best].metric)
            best = i;
    }
    return best;
}

/* ---- refinement: keeping the worst layers in float ----------------------------- */

static const Onnx__NodeProto *producer(const Onnx__GraphProto *g,
                                       const char *tensor)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_output; k++)
            if (!strcmp(g->node[i]->output[k], tensor))
                return g->node[i];
    return NULL;
}

static size_t node_index(const Onnx__GraphProto *g, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < g->n_node; i++)
        if (g->node[i] == n)
            return i;
    return SIZE_MAX;
}

static int node_quantized(const onnxq_static_report *rep, const char *name)
{
    for (size_t i = 0; i < rep->n_nodes; i++)
        if (rep->nodes[i].quantized && !strcmp(rep->nodes[i].name, name))
            return 1;
    return 0;
}

static int listed(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t l = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == l && !strncmp(p, name, l))
            return 1;
        p += n + (e ? 1 : 0);
    }
    return 0;
}

static int usable_name(const char *s)
{
    /* the exclude list is comma-separated and items may be fnmatch
     * patterns: a name with such characters cannot be named exactly */
    return s && *s && !strpbrk(s, ",*?[") && strncmp(s, "op:", 3);
}

static int pickable(const onnxq_static_report *rep, const char *list,
                    const Onnx__NodeProto *n)
{
    return n && usable_name(n->name) && node_quantized(rep, n->name) &&
           !listed(list, n->name);
}

/* The quantized node nearest above n (n itself first), breadth first
 * through node inputs in input order: a float node after quantized ones
 * (statistics pooling, say) can amplify their error, and it is theirs to
 * fix.  NULL if none. */
static const Onnx__NodeProto *nearest_quantized(const Onnx__GraphProto *g,
                                                const onnxq_static_report *rep,
                                                const char *list,
                                                const Onnx__NodeProto *n)
{
    size_t *queue = malloc((g->n_node + 1) * sizeof *queue);
    char *seen = calloc(g->n_node + 1, 1);
    const Onnx__NodeProto *found = NULL;
    size_t head = 0, tail = 0, i0 = node_index(g, n);
    if (queue && seen && i0 != SIZE_MAX) {
        queue[tail++] = i0;
        seen[i0] = 1;
    }
    while (head < tail && !found) {
        const Onnx__NodeProto *c = g->node[queue[head++]];
        if (pickable(rep, list, c)) {
            found = c;
            break;
        }
        for (size_t k = 0; k < c->n_input; k++) {
            const Onnx__NodeProto *p = c->input[k][0] ? producer(g, c->input[k])
                                                      : NULL;
            size_t j = p ? node_index(g, p) : SIZE_MAX;
            if (j != SIZE_MAX && !seen[j]) {
                seen[j] = 1;
                queue[tail++] = j;
            }
        }
    }
    free(queue);
    free(seen);
    return found;
}

/* The node(s) to keep in float next: for the worst tensor of a per-tensor
 * comparison (lowest mean SQNR first), the quantized node nearest above it
 * that is still quantized, and, when that is a Relu/Clip folded into the
 * op before it, that op too.  Appends them to *list (a
 * malloc'd comma list).  Returns how many were added (0: none left). */
static size_t next_layers(tctx *x, const onnxq_tune_candidate *c,
                          char **list, onnxq_error *err)
{
    onnxq_model *qm = NULL;
    onnxq_static_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_comparer *cmp = NULL;
    size_t added = 0;
    if (build(x, &c->config, c->nodes_exclude, &qm, &rep, err) != ONNXQ_OK)
        goto done;
    onnxq_compare_options co;
    onnxq_compare_options_init(&co);
    co.n_threads = x->o->n_threads;
    co.per_tensor = 1;
    if (onnxq_compare_create(x->cm, qm, &co, &cmp, err) != ONNXQ_OK)
        goto done;
    for (size_t i = 0; i < x->n_hold; i++)
        if (onnxq_compare_add_sample(cmp, x->hold[i], x->n_in, err) !=
            ONNXQ_OK)
            goto done;
    const onnxq_compare_result *res = onnxq_compare_result_get(cmp);
    const Onnx__GraphProto *g = onnxq_model_proto(x->fm)->graph;
    for (size_t t = 0; t < res->n_tensors && !added; t++) {
        const Onnx__NodeProto *p = producer(g, res->tensors[t].name);
        if (p)
            p = nearest_quantized(g, &rep, *list, p);
        if (!p)
            continue;
        const char *pick[2] = {p->name, NULL};
        if ((!strcmp(p->op_type, "Relu") || !strcmp(p->op_type, "Clip")) &&
            p->n_input) {
            const Onnx__NodeProto *q = producer(g, p->input[0]);
            if (pickable(&rep, *list, q))
                pick[1] = q->name;
        }
        for (int k = 0; k < 2 && pick[k]; k++) {
            size_t old = *list ? strlen(*list) : 0;
            char *nl = realloc(*list, old + strlen(pick[k]) + 2);
            if (!nl) {
                oom(err);
                added = 0;
                goto done;
            }
            if (old)
                nl[old++] = ',';
            strcpy(nl + old, pick[k]);
            *list = nl;
            added++;
        }
    }
    if (!added)
        onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                        "no quantized layer left to keep in float");
done:
    onnxq_compare_destroy(cmp);
    onnxq_static_report_clear(&rep);
    onnxq_model_destroy(qm);
    return added;
}

static onnxq_status refine(tctx *x, size_t start, onnxq_error *err)
{
    size_t cur = start;
    while (!x->r->cands[cur].meets && !over_budget(x) &&
           x->r->cands[cur].n_excluded < x->o->max_exclude) {
        const onnxq_tune_candidate *c = &x->r->cands[cur];
        char *list = c->nodes_exclude ? oq_strdup(c->nodes_exclude) : NULL;
        if (c->nodes_exclude && !list)
            return oom(err);
        onnxq_error e;
        double t = now_s();
        size_t add = next_layers(x, c, &list, &e);
        x->last_cost = now_s() - t + c->seconds;
        if (!add) {
            free(list);
            if (e.status == ONNXQ_ERR_OUT_OF_MEMORY) {
                *err = e;
                return e.status;
            }
            return ONNXQ_OK; /* nothing more to try on this one */
        }
        onnxq_tune_config cfg = c->config;
        size_t n_excl = c->n_excluded + 1, idx; /* a folded Relu + its op is one layer */
        onnxq_status st = evaluate(x, &cfg, list, n_excl, cur, &idx, err);
        free(list);
        if (st != ONNXQ_OK)
            return st;
        if (!x->r->cands[idx].ok)
            return ONNXQ_OK;
        cur = idx;
    }
    return ONNXQ_OK;
}

/* ---- the search ------------------------------------------------------------------ */

static onnxq_status load_holdout(tctx *x, onnxq_calib_data *holdout,
                                 onnxq_error *err)
{
    onnxq_session *s = NULL;
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = x->o->n_threads;
    onnxq_status st = onnxq_session_create(x->fm, &so, &s, err);
    if (st != ONNXQ_OK)
        return st;
    x->n_in = onnxq_session_input_count(s);
    size_t n = onnxq_calib_data_count(holdout);
    const Onnx__ValueInfoProto **vis = calloc(x->n_in + 1, sizeof *vis);
    x->hold = calloc(n ? n : 1, sizeof *x->hold);
    if (!vis || !x->hold) {
        st = oom(err);
        goto done;
    }
    for (size_t k = 0; k < x->n_in; k++)
        vis[k] = onnxq_session_input(s, k);
    for (size_t i = 0; i < n; i++) {
        if (!(x->hold[i] = calloc(x->n_in + 1, sizeof **x->hold))) {
            st = oom(err);
            goto done;
        }
        x->n_hold = i + 1;
        st = onnxq_calib_data_get(holdout, i, vis, x->n_in, x->hold[i], err);
        if (st != ONNXQ_OK)
            goto done;
    }
done:
    free(vis);
    onnxq_session_destroy(s);
    return st;
}

static void cand_clear(onnxq_tune_candidate *c)
{
    free(c->name);
    free(c->nodes_exclude);
    free(c->error);
}

void onnxq_tune_result_clear(onnxq_tune_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_cands; i++)
        cand_clear(&r->cands[i]);
    free(r->cands);
    priv *p = r->priv;
    if (p) {
        onnxq_compare_destroy(p->detail);
        onnxq_model_destroy(p->detail_model);
        free(p);
    }
    onnxq_model_destroy(r->model);
    free(r->detail_error);
    memset(r, 0, sizeof *r);
    r->chosen = r->best = SIZE_MAX;
}

/* The second stage's variations of c, in a fixed order. */
static size_t variations(const onnxq_tune_config *c, onnxq_tune_config *out)
{
    size_t n = 0;
    out[n] = *c;
    out[n++].weight_type =
        c->weight_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8
            ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
            : ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    out[n] = *c;
    out[n++].per_channel = !c->per_channel;
    out[n] = *c;
    strcpy(out[n++].op_types, "Conv");
    out[n] = *c;
    strcpy(out[n++].op_types, "Conv,MatMul,Gemm,Add");
    out[n] = *c;
    out[n++].method = ONNXQ_CALIB_ENTROPY;
    out[n] = *c;
    out[n++].method = ONNXQ_CALIB_PERCENTILE;
    return n;
}

static size_t base_configs(onnxq_tune_config *out)
{
    static const int fmt[4] = {ONNXQ_FORMAT_QDQ, ONNXQ_FORMAT_QOPERATOR,
                               ONNXQ_FORMAT_QDQ, ONNXQ_FORMAT_QOPERATOR};
    for (int i = 0; i < 4; i++) {
        config_default(&out[i]);
        out[i].format = (onnxq_qformat)fmt[i];
        out[i].activation_type = i < 2 ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
                                       : ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    }
    return 4;
}

/* Parses the user's list into configs (malloc'd). */
static onnxq_status user_configs(const char *list, onnxq_tune_config **out,
                                 size_t *n, onnxq_error *err)
{
    *out = NULL;
    *n = 0;
    char *buf = oq_strdup(list);
    size_t cap = 0;
    if (!buf)
        return oom(err);
    onnxq_status st = ONNXQ_OK;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char bad[256];
        if (oq_grow(out, &cap, *n + 1, sizeof **out)) {
            st = oom(err);
            break;
        }
        if (onnxq_tune_config_parse(t, &(*out)[*n], bad, sizeof bad)) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "candidate '%s': unknown part '%s' (want "
                                 "FORMAT/AW/pc|pt/METHOD/OPS, e.g. "
                                 "qdq/u8s8/pc/minmax/default)", t, bad);
            break;
        }
        (*n)++;
    }
    free(buf);
    if (st == ONNXQ_OK && !*n)
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "no candidates in '%s'", list);
    if (st != ONNXQ_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

onnxq_status onnxq_tune(onnxq_model *model, const onnxq_tune_options *o,
                        onnxq_calib_data *calib, onnxq_calib_data *holdout,
                        onnxq_tune_result *r, onnxq_error *err)
{
    memset(r, 0, sizeof *r);
    r->chosen = r->best = SIZE_MAX;
    if (!model || !o || !calib || !holdout)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "tune: missing model, options or samples");
    if (!onnxq_calib_data_count(holdout) || !onnxq_calib_data_count(calib))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "tune: needs calibration and held-out samples");
    if (!(o->margin >= 0) || isnan(o->bound))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "tune: bad margin or bound");
    tctx x;
    memset(&x, 0, sizeof x);
    x.fm = model;
    x.o = o;
    x.r = r;
    x.calib = calib;
    x.t0 = now_s();
    r->n_calib = onnxq_calib_data_count(calib);
    r->n_holdout = onnxq_calib_data_count(holdout);
    onnxq_tune_config *cfgs = NULL, base[4], var[8];
    size_t n_cfgs = 0;
    onnxq_model *scratch = NULL;
    onnxq_status st = ONNXQ_OK;
    if (o->candidates) {
        st = user_configs(o->candidates, &cfgs, &n_cfgs, err);
    } else {
        n_cfgs = base_configs(base);
    }
    if (st == ONNXQ_OK)
        st = onnxq_model_serialize(model, &x.bytes, &x.size, err);
    if (st == ONNXQ_OK)
        st = load_holdout(&x, holdout, err);
    if (st == ONNXQ_OK)
        st = copy_model(&x, &x.cm, err);
    /* the union of what every planned candidate needs: the default search's
     * second stage varies one setting of a base candidate, so the base
     * configurations and those variations of each cover it */
    if (st == ONNXQ_OK)
        st = copy_model(&x, &scratch, err);
    const onnxq_tune_config *list = cfgs ? cfgs : base;
    for (size_t i = 0; st == ONNXQ_OK && i < n_cfgs; i++) {
        st = plan_union(&x, scratch, &list[i], err);
        if (st != ONNXQ_OK) {
            char nm[400];
            onnxq_tune_config_name(&list[i], nm, sizeof nm);
            onnxq_error_prefix(err, "candidate %s", nm);
        }
        if (!cfgs) {
            size_t nv = variations(&list[i], var);
            for (size_t k = 0; st == ONNXQ_OK && k < nv; k++) {
                onnxq_error e;
                /* an op set the model does not have is the candidate's
                 * failure, found when it is built */
                if (plan_union(&x, scratch, &var[k], &e) ==
                    ONNXQ_ERR_OUT_OF_MEMORY) {
                    *err = e;
                    st = e.status;
                }
            }
        }
    }
    onnxq_model_destroy(scratch);
    /* stage 1: the given or base candidates */
    for (size_t i = 0; st == ONNXQ_OK && i < n_cfgs; i++) {
        if (over_budget(&x)) {
            r->budget_hit = 1;
            r->n_skipped += n_cfgs - i;
            break;
        }
        size_t idx;
        char nm[400];
        onnxq_tune_config_name(&list[i], nm, sizeof nm);
        if (have_config(&x, nm))
            continue;
        st = evaluate(&x, &list[i], NULL, 0, SIZE_MAX, &idx, err);
    }
    /* stage 2: one setting at a time around the best base candidate */
    if (st == ONNXQ_OK && !cfgs) {
        size_t centre = choose(&x);
        if (centre == SIZE_MAX)
            centre = most_accurate(&x);
        if (centre != SIZE_MAX) {
            onnxq_tune_config c = r->cands[centre].config;
            size_t nv = variations(&c, var);
            for (size_t k = 0; st == ONNXQ_OK && k < nv; k++) {
                char nm[400];
                onnxq_tune_config_name(&var[k], nm, sizeof nm);
                if (have_config(&x, nm))
                    continue;
                if (over_budget(&x)) {
                    r->budget_hit = 1;
                    r->n_skipped += nv - k;
                    break;
                }
                size_t idx;
                st = evaluate(&x, &var[k], NULL, 0, SIZE_MAX, &idx, err);
            }
        }
    }
    /* stage 3: layers back to float for the fastest failing candidates
     * that would beat the best passing one */
    if (st == ONNXQ_OK && o->max_exclude && o->refine_candidates) {
        size_t chosen = choose(&x);
        double bar = chosen == SIZE_MAX ? -INFINITY
                                        : r->cands[chosen].speedup *
                                              (1 + o->margin);
        size_t n0 = r->n_cands, done = 0;
        char *tried = calloc(n0 ? n0 : 1, 1);
        if (!tried)
            st = oom(err);
        while (st == ONNXQ_OK && done < o->refine_candidates) {
            size_t pick = SIZE_MAX;
            for (size_t i = 0; i < n0; i++) {
                const onnxq_tune_candidate *c = &r->cands[i];
                if (tried[i] || !c->ok || c->meets || isnan(c->metric))
                    continue;
                double s = isnan(c->speedup) ? 0 : c->speedup;
                if (s <= bar)
                    continue;
                if (pick == SIZE_MAX || s > r->cands[pick].speedup)
                    pick = i;
            }
            if (pick == SIZE_MAX)
                break;
            tried[pick] = 1;
            done++;
            if (over_budget(&x)) {
                r->budget_hit = 1;
                break;
            }
            st = refine(&x, pick, err);
        }
        free(tried);
    }
    if (st == ONNXQ_OK) {
        r->chosen = choose(&x);
        r->best = r->chosen != SIZE_MAX ? r->chosen : most_accurate(&x);
    }
    /* the model to write, and its per-layer comparison for the report */
    if (st == ONNXQ_OK && r->best != SIZE_MAX) {
        const onnxq_tune_candidate *c = &r->cands[r->best];
        st = build(&x, &c->config, c->nodes_exclude, &r->model, NULL, err);
        priv *p = NULL;
        if (st == ONNXQ_OK && !(p = r->priv = calloc(1, sizeof *p)))
            st = oom(err);
        if (st == ONNXQ_OK) { /* the comparer borrows it: keep it */
            p->detail_model = x.cm;
            x.cm = NULL;
        }
        if (st == ONNXQ_OK) {
            onnxq_compare_options co;
            onnxq_compare_options_init(&co);
            co.n_threads = o->n_threads;
            co.per_tensor = 1;
            onnxq_error e;
            onnxq_status s2 = onnxq_compare_create(p->detail_model, r->model, &co,
                                                   &p->detail, &e);
            for (size_t i = 0; s2 == ONNXQ_OK && i < x.n_hold; i++)
                s2 = onnxq_compare_add_sample(p->detail, x.hold[i], x.n_in,
                                              &e);
            if (s2 == ONNXQ_OK) {
                r->detail = onnxq_compare_result_get(p->detail);
            } else {
                onnxq_compare_destroy(p->detail);
                p->detail = NULL;
                r->detail_error = oq_strdup(e.message);
                if (s2 == ONNXQ_ERR_OUT_OF_MEMORY) {
                    *err = e;
                    st = s2;
                }
            }
        }
    }
    r->seconds = now_s() - x.t0;
    onnxq_session_destroy(x.fs);
    onnxq_model_destroy(x.cm);
    free(cfgs);
    free(x.bytes);
    for (size_t i = 0; i < x.n_hold; i++)
        onnxq_tensors_free(x.hold[i], x.n_in);
    free(x.hold);
    for (int m = 0; m < N_METHODS; m++)
        onnxq_tensor_ranges_free(x.ranges[m], x.n_names);
    onnxq_static_names_free(x.names, x.n_names);
    oq_strmap_clear(&x.name_ix);
    return st;
}
