/*
 * quant_graph.c — graph-side helpers shared by the quantizers (see
 * quant_internal.h): node selection, constant float weights, quantized
 * weight initializers with their cache and clean-up, opset raising.
 *
 * Opset raising follows opset_changes.inc (generated from onnx's own
 * operator schemas by scripts/gen_opset_changes.py): a node keeps its
 * meaning from version a to b when every definition change of its op in
 * (a, b] is additive and the node sets no attribute a change dropped.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "quant_internal.h"

enum { WT_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8 };

/* ==== 1. node selection ================================================== */

typedef enum { ITEM_NAME, ITEM_PATTERN, ITEM_OP } item_kind;

typedef struct sel_item {
    char *text;       /* as given */
    const char *key;  /* name / pattern / op type (points into text) */
    item_kind kind;
    size_t hits;
} sel_item;

typedef struct sel_list {
    sel_item *items;
    size_t n;
} sel_list;

struct oq_select {
    sel_list ops, include, exclude;
};

static void list_clear(sel_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Splits a comma-separated list (spaces around items ignored; empty items
 * dropped). */
static onnxq_status list_parse(const char *csv, sel_list *l, const char *what,
                               onnxq_error *err)
{
    memset(l, 0, sizeof *l);
    if (!csv)
        return ONNXQ_OK;
    size_t cap = 0;
    const char *p = csv;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if (oq_grow(&l->items, &cap, l->n + 1, sizeof *l->items))
                goto oom;
            sel_item *it = &l->items[l->n];
            memset(it, 0, sizeof *it);
            it->text = malloc((size_t)(b - a) + 1);
            if (!it->text)
                goto oom;
            memcpy(it->text, a, (size_t)(b - a));
            it->text[b - a] = 0;
            l->n++;
            it->key = it->text;
            it->kind = ITEM_NAME;
            if (strncmp(it->text, "op:", 3) == 0) {
                it->kind = ITEM_OP;
                it->key = it->text + 3;
                if (!*it->key) {
                    onnxq_status st = onnxq_error_set(
                        err, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s: 'op:' needs an op type", what);
                    list_clear(l);
                    return st;
                }
            } else if (strpbrk(it->text, "*?[")) {
                it->kind = ITEM_PATTERN;
            }
        }
        p = *e ? e + 1 : e;
    }
    return ONNXQ_OK;
oom:
    list_clear(l);
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "%s: out of memory",
                           what);
}

static int item_matches(const sel_item *it, const Onnx__NodeProto *n)
{
    const char *name = n->name ? n->name : "";
    switch (it->kind) {
    case ITEM_OP:
        return n->op_type && strcmp(n->op_type, it->key) == 0;
    case ITEM_PATTERN:
        return fnmatch(it->key, name, 0) == 0;
    default:
        return strcmp(it->key, name) == 0;
    }
}

static int list_matches(const sel_list *l, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < l->n; i++)
        if (item_matches(&l->items[i], n))
            return 1;
    return 0;
}

static void count_hits(sel_list *l, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < l->n; i++)
        if (item_matches(&l->items[i], n))
            l->items[i].hits++;
}

static void walk_hits(oq_select *s, const Onnx__GraphProto *g, int depth)
{
    if (!g || depth > ONNXQ_MAX_MESSAGE_DEPTH)
        return;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        count_hits(&s->include, n);
        count_hits(&s->exclude, n);
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *at = n->attribute[a];
            walk_hits(s, at->g, depth + 1);
            for (size_t k = 0; k < at->n_graphs; k++)
                walk_hits(s, at->graphs[k], depth + 1);
        }
    }
}

static onnxq_status unmatched(const sel_list *l, const char *what,
                              onnxq_error *err)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->items[i].hits)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "%s: '%s' matches no node of the model",
                                   what, l->items[i].text);
    return ONNXQ_OK;
}

onnxq_status oq_select_create(onnxq_model *model, const char *op_types,
                              const char *default_ops,
                              const char *const *known_ops,
                              const char *include, const char *exclude,
                              oq_select **out, onnxq_error *err)
{
    *out = NULL;
    oq_select *s = calloc(1, sizeof *s);
    if (!s)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    const char *ops = op_types && *op_types ? op_types : default_ops;
    onnxq_status st = list_parse(ops, &s->ops, "--op-types", err);
    if (st == ONNXQ_OK)
        st = list_parse(include, &s->include, "--nodes-to-quantize", err);
    if (st == ONNXQ_OK)
        st = list_parse(exclude, &s->exclude, "--nodes-to-exclude", err);
    for (size_t i = 0; st == ONNXQ_OK && i < s->ops.n; i++) {
        const char *op = s->ops.items[i].text;
        int ok = 0;
        for (size_t k = 0; known_ops[k]; k++)
            ok |= strcmp(known_ops[k], op) == 0;
        if (!ok) {
            char list[512] = "";
            size_t len = 0;
            for (size_t k = 0; known_ops[k] && len < sizeof list - 1; k++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                        k ? ", " : "", known_ops[k]);
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "--op-types: unknown op type '%s' (known: %s)",
                                 op, list);
        }
    }
    if (st == ONNXQ_OK) {
        walk_hits(s, onnxq_model_proto(model)->graph, 0);
        st = unmatched(&s->include, "--nodes-to-quantize", err);
    }
    if (st == ONNXQ_OK)
        st = unmatched(&s->exclude, "--nodes-to-exclude", err);
    if (st != ONNXQ_OK) {
        oq_select_destroy(s);
        return st;
    }
    *out = s;
    return ONNXQ_OK;
}

void oq_select_destroy(oq_select *s)
{
    if (!s)
        return;
    list_clear(&s->ops);
    list_clear(&s->include);
    list_clear(&s->exclude);
    free(s);
}

int oq_select_has_op(const oq_select *s, const char *op_type)
{
    for (size_t i = 0; i < s->ops.n; i++)
        if (strcmp(s->ops.items[i].text, op_type) == 0)
            return 1;
    return 0;
}

oq_select_verdict oq_select_node(const oq_select *s, const Onnx__NodeProto *n)
{
    const char *dom = n->domain ? n->domain : "";
    if (strcmp(dom, "") && strcmp(dom, "ai.onnx") &&
        strcmp(dom, "com.microsoft"))
        return OQ_SELECT_OP_TYPE;
    if (!n->op_type || !oq_select_has_op(s, n->op_type))
        return OQ_SELECT_OP_TYPE;
    if (s->include.n && !list_matches(&s->include, n))
        return OQ_SELECT_NOT_INCLUDED;
    if (list_matches(&s->exclude, n))
        return OQ_SELECT_EXCLUDED;
    return OQ_SELECT_YES;
}

/* ==== 2. constant float weights ========================================== */

const Onnx__TensorProto *oq_float_weight(const onnxq_graph *g,
                                         const char *name,
                                         const onnxq_graph **owner)
{
    if (owner)
        *owner = NULL;
    if (!name || !*name)
        return NULL;
    const Onnx__TensorProto *t = onnxq_graph_constant(g, name);
    if (!t || !t->has_data_type ||
        t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return NULL;
    if (owner)
        onnxq_graph_resolve(g, name, owner);
    return t;
}

onnxq_status oq_read_floats(onnxq_model *model, const Onnx__TensorProto *t,
                            float **out, size_t *n, onnxq_error *err)
{
    *out = NULL;
    *n = 0;
    uint64_t bytes;
    onnxq_status st = onnxq_tensor_expected_bytes(t, &bytes, err);
    if (st != ONNXQ_OK)
        return st;
    if (bytes > SIZE_MAX / 2)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "tensor '%s' is too large", t->name);
    float *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "tensor '%s': out of memory", t->name);
    st = onnxq_tensor_copy_data(model, t, buf, (size_t)bytes, err);
    if (st != ONNXQ_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *n = (size_t)bytes / sizeof(float);
    return ONNXQ_OK;
}

/* ==== 3. quantized weights =============================================== */

typedef struct cache_entry {
    const Onnx__GraphProto *owner; /* graph holding the float weight */
    oq_wopts opts;                 /* opts.bias points at bias_copy */
    float *bias_copy;
    oq_qweight_ref ref;            /* names malloc'd */
} cache_entry;

typedef struct pending_removal {
    Onnx__GraphProto *owner;
    char *name;
} pending_removal;

struct oq_qctx {
    onnxq_model *model;
    onnxq_graph *main;
    cache_entry *cache;
    size_t n_cache, cap_cache;
    pending_removal *drop;
    size_t n_drop, cap_drop;
    char **names; /* strings handed out by oq_qctx_add_floats */
    size_t n_names, cap_names;
};

onnxq_status oq_qctx_create(onnxq_model *model, oq_qctx **out,
                            onnxq_error *err)
{
    *out = NULL;
    oq_qctx *q = calloc(1, sizeof *q);
    if (!q)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    q->model = model;
    onnxq_status st = onnxq_graph_create(model, &q->main, err);
    if (st != ONNXQ_OK) {
        free(q);
        return st;
    }
    *out = q;
    return ONNXQ_OK;
}

void oq_qctx_destroy(oq_qctx *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n_cache; i++) {
        oq_qweight_ref *r = &q->cache[i].ref;
        free((char *)r->source);
        free((char *)r->q_name);
        free((char *)r->scale_name);
        free((char *)r->zp_name);
        onnxq_qweight_free(&r->q);
        free(q->cache[i].bias_copy);
    }
    free(q->cache);
    for (size_t i = 0; i < q->n_drop; i++)
        free(q->drop[i].name);
    free(q->drop);
    for (size_t i = 0; i < q->n_names; i++)
        free(q->names[i]);
    free(q->names);
    onnxq_graph_destroy(q->main);
    free(q);
}

onnxq_graph *oq_qctx_main(oq_qctx *q) { return q->main; }

/* Queues (gp, name) for oq_qctx_finish, once. */
static void add_drop(oq_qctx *q, Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < q->n_drop; i++)
        if (q->drop[i].owner == gp && strcmp(q->drop[i].name, name) == 0)
            return;
    char *copy = oq_strdup(name);
    if (!copy || oq_grow(&q->drop, &q->cap_drop, q->n_drop + 1,
                         sizeof *q->drop)) {
        free(copy); /* out of memory: the constant is merely kept */
        return;
    }
    q->drop[q->n_drop].owner = gp;
    q->drop[q->n_drop].name = copy;
    q->n_drop++;
}

void oq_qctx_drop_if_unused(oq_qctx *q, const onnxq_graph *g,
                            const char *name)
{
    if (!name || !*name)
        return;
    /* a scale or zero point this context added (the view predates it) */
    for (size_t i = 0; i < q->n_cache; i++) {
        const oq_qweight_ref *r = &q->cache[i].ref;
        if (strcmp(r->scale_name, name) == 0 || strcmp(r->zp_name, name) == 0 ||
            strcmp(r->q_name, name) == 0) {
            add_drop(q, (Onnx__GraphProto *)q->cache[i].owner, name);
            return;
        }
    }
    const onnxq_graph *owner = NULL;
    if (!onnxq_graph_constant(g, name) ||
        !onnxq_graph_resolve(g, name, &owner) || !owner)
        return;
    add_drop(q, onnxq_graph_proto(owner), name);
}

size_t oq_qctx_weight_count(const oq_qctx *q) { return q->n_cache; }

void oq_qctx_release_view(oq_qctx *q)
{
    onnxq_graph_destroy(q->main);
    q->main = NULL;
}

char *oq_qctx_name(oq_qctx *q, const char *prefix)
{
    return onnxq_graph_unique_name(q->main, prefix);
}

static char *suffixed(oq_qctx *q, const char *base, const char *suffix)
{
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *tmp = malloc(n);
    if (!tmp)
        return NULL;
    snprintf(tmp, n, "%s%s", base, suffix);
    char *u = oq_qctx_name(q, tmp);
    free(tmp);
    return u;
}

const char *oq_qctx_add_floats(oq_qctx *q, Onnx__GraphProto *gp,
                               const char *prefix, const float *v,
                               size_t rank, const int64_t *dims)
{
    char *name = oq_qctx_name(q, prefix);
    if (!name || oq_grow(&q->names, &q->cap_names, q->n_names + 1,
                         sizeof *q->names)) {
        free(name);
        return NULL;
    }
    if (!onnxq_build_initializer(gp, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                 rank, dims, v)) {
        free(name);
        return NULL;
    }
    q->names[q->n_names++] = name;
    return name;
}

onnxq_status oq_qctx_weight(oq_qctx *q, const onnxq_graph *g,
                            const char *name, int32_t dtype, int symmetric,
                            int reduce_range, int axis,
                            const oq_qweight_ref **out, onnxq_error *err)
{
    oq_wopts o;
    memset(&o, 0, sizeof o);
    o.dtype = dtype;
    o.symmetric = symmetric;
    o.reduce_range = reduce_range;
    o.axis = axis;
    return oq_qctx_weight_ex(q, g, name, &o, out, err);
}

static int wopts_equal(const oq_wopts *a, const oq_wopts *b)
{
    if (a->dtype != b->dtype || a->symmetric != b->symmetric ||
        a->reduce_range != b->reduce_range || a->axis != b->axis ||
        a->view_rank != b->view_rank ||
        a->transpose_last2 != b->transpose_last2 ||
        a->param_rank != b->param_rank)
        return 0;
    for (size_t i = 0; i < a->view_rank && i < 8; i++)
        if (a->view_dims[i] != b->view_dims[i])
            return 0;
    for (size_t i = 0; i < a->param_rank && i < 8; i++)
        if (a->param_dims[i] != b->param_dims[i])
            return 0;
    if (!a->bias != !b->bias)
        return 0;
    if (a->bias && (a->n_bias != b->n_bias ||
                    a->bias_input_scale != b->bias_input_scale ||
                    memcmp(a->bias, b->bias, a->n_bias * sizeof *a->bias)))
        return 0;
    return 1;
}

/* In place: [outer, N, K] -> [outer, K, N] of 1-byte elements. */
static int transpose_last2(uint8_t *d, size_t outer, size_t n, size_t k)
{
    uint8_t *tmp = malloc(n * k > 0 ? n * k : 1);
    if (!tmp)
        return -1;
    for (size_t o = 0; o < outer; o++) {
        uint8_t *m = d + o * n * k;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++)
                tmp[j * n + i] = m[i * k + j];
        memcpy(m, tmp, n * k);
    }
    free(tmp);
    return 0;
}

onnxq_status oq_qctx_weight_ex(oq_qctx *q, const onnxq_graph *g,
                               const char *name, const oq_wopts *opt,
                               const oq_qweight_ref **out, onnxq_error *err)
{
    *out = NULL;
    oq_wopts o = *opt;
    const onnxq_graph *owner = NULL;
    const Onnx__TensorProto *t = oq_float_weight(g, name, &owner);
    if (!t || !owner)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "'%s' is not a float32 constant", name);
    Onnx__GraphProto *gp = onnxq_graph_proto(owner);
    for (size_t i = 0; i < q->n_cache; i++) {
        cache_entry *c = &q->cache[i];
        if (c->owner == gp && strcmp(c->ref.source, name) == 0 &&
            wopts_equal(&c->opts, &o)) {
            *out = &c->ref;
            return ONNXQ_OK;
        }
    }
    if (t->n_dims > 8 || o.view_rank > 8 || o.param_rank > 8)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "weight '%s' has rank %zu (at most 8)", name,
                               t->n_dims);
    /* the shape quantized: the weight's own or the view asked for */
    const int64_t *qd = o.view_rank ? o.view_dims : t->dims;
    size_t qr = o.view_rank ? o.view_rank : t->n_dims;
    uint64_t n_t = 0, n_v = 0;
    if (onnxq_shape_numel(t->dims, t->n_dims, &n_t) ||
        onnxq_shape_numel(qd, qr, &n_v) || n_t != n_v)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "weight '%s': cannot view its shape as asked",
                               name);
    if (o.transpose_last2 && t->n_dims < 2)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "weight '%s': rank %zu cannot be transposed",
                               name, t->n_dims);
    /* raw little-endian float data (raw_data or mapped external data) is
     * read in place when aligned; anything else is copied */
    float *w = NULL;
    const float *wv = NULL;
    const void *raw = NULL;
    size_t raw_size = 0, n = 0;
    onnxq_error ignored;
    onnxq_status st;
    if (onnxq_tensor_raw_bytes(q->model, t, &raw, &raw_size, &ignored) ==
            ONNXQ_OK &&
        raw_size == (size_t)n_t * sizeof(float) &&
        ((uintptr_t)raw % _Alignof(float)) == 0) {
        wv = raw;
    } else {
        st = oq_read_floats(q->model, t, &w, &n, err);
        if (st != ONNXQ_OK)
            return st;
        wv = w;
    }
    if (oq_grow(&q->cache, &q->cap_cache, q->n_cache + 1, sizeof *q->cache)) {
        free(w);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    cache_entry *c = &q->cache[q->n_cache];
    memset(c, 0, sizeof *c);
    c->owner = gp;
    c->opts = o;
    if (o.bias) {
        c->bias_copy = malloc((o.n_bias ? o.n_bias : 1) * sizeof(float));
        if (!c->bias_copy) {
            free(w);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        }
        if (o.n_bias)
            memcpy(c->bias_copy, o.bias, o.n_bias * sizeof(float));
        c->opts.bias = c->bias_copy;
    }
    oq_qweight_ref *r = &c->ref;
    st = onnxq_quantize_weight(name, wv, qd, qr, o.axis, o.dtype, o.symmetric,
                               o.reduce_range, &r->q, err);
    if (st == ONNXQ_OK && o.bias && o.dtype == WT_INT8) {
        /* the tool's int32 bias guard: int8 weights with zero points 0 */
        int zp0 = 1;
        for (size_t i = 0; i < r->q.n_params; i++)
            zp0 = zp0 && r->q.zero_points[i] == 0;
        size_t np = r->q.n_params ? r->q.n_params : 1;
        float *sc = zp0 ? malloc(np * sizeof *sc) : NULL;
        if (zp0 && !sc)
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                 "out of memory");
        if (sc) {
            memcpy(sc, r->q.scales, r->q.n_params * sizeof *sc);
            if (onnxq_fit_bias_scales(o.bias, o.n_bias, o.bias_input_scale,
                                      sc, r->q.n_params)) {
                onnxq_qweight_free(&r->q);
                st = onnxq_quantize_weight_scaled(name, wv, qd, qr, o.axis,
                                                  o.dtype, sc, &r->q, err);
            }
            free(sc);
        }
    }
    free(w);
    if (st != ONNXQ_OK) {
        onnxq_qweight_free(&r->q);
        free(c->bias_copy);
        return st;
    }
    r->rank = t->n_dims;
    if (t->n_dims) /* a scalar's dims may be NULL (memcpy must not see it) */
        memcpy(r->dims, t->dims, t->n_dims * sizeof *t->dims);
    uint8_t *stored = r->q.data;
    uint8_t *copy = NULL;
    if (o.transpose_last2) {
        size_t nn = (size_t)t->dims[t->n_dims - 2];
        size_t kk = (size_t)t->dims[t->n_dims - 1];
        size_t outer = nn * kk > 0 ? (size_t)n_t / (nn * kk) : 0;
        copy = malloc(n_t ? (size_t)n_t : 1);
        if (!copy || (memcpy(copy, r->q.data, (size_t)n_t),
                      transpose_last2(copy, outer, nn, kk))) {
            free(copy);
            onnxq_qweight_free(&r->q);
            free(c->bias_copy);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "weight '%s': out of memory", name);
        }
        stored = copy;
        r->dims[t->n_dims - 2] = (int64_t)kk;
        r->dims[t->n_dims - 1] = (int64_t)nn;
    }
    r->source = oq_strdup(name);
    r->q_name = suffixed(q, name, "_quantized");
    r->scale_name = suffixed(q, name, "_scale");
    r->zp_name = suffixed(q, name, "_zero_point");
    int64_t pdims[8] = {(int64_t)r->q.n_params};
    size_t prank = o.axis < 0 ? 0 : 1;
    if (o.param_rank) {
        prank = o.param_rank;
        memcpy(pdims, o.param_dims, prank * sizeof *pdims);
    }
    /* zero points are stored in the weight's own 8-bit type */
    uint8_t *zp8 = malloc(r->q.n_params ? r->q.n_params : 1);
    for (size_t i = 0; zp8 && i < r->q.n_params; i++)
        zp8[i] = (uint8_t)r->q.zero_points[i];
    int ok = r->source && r->q_name && r->scale_name && r->zp_name && zp8 &&
             onnxq_build_initializer(gp, r->q_name, o.dtype, r->rank, r->dims,
                                     stored) &&
             onnxq_build_initializer(gp, r->scale_name,
                                     ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                     prank, pdims, r->q.scales) &&
             onnxq_build_initializer(gp, r->zp_name, o.dtype, prank, pdims,
                                     zp8);
    free(zp8);
    free(copy);
    if (!ok) {
        free((char *)r->source);
        free((char *)r->q_name);
        free((char *)r->scale_name);
        free((char *)r->zp_name);
        onnxq_qweight_free(&r->q);
        free(c->bias_copy);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "weight '%s': out of memory", name);
    }
    q->n_cache++;
    add_drop(q, gp, name);
    *out = r;
    return ONNXQ_OK;
}

/* The view of gp inside the view tree rooted at g. */
static const onnxq_graph *find_view(const onnxq_graph *g,
                                    const Onnx__GraphProto *gp)
{
    if (onnxq_graph_proto(g) == gp)
        return g;
    for (size_t i = 0; i < onnxq_graph_node_count(g); i++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, i); k++) {
            const onnxq_graph *f =
                find_view(onnxq_graph_subgraph(g, i, k, NULL), gp);
            if (f)
                return f;
        }
    return NULL;
}

static void remove_named_input(Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_input; i++)
        if (gp->input[i]->name && strcmp(gp->input[i]->name, name) == 0) {
            onnx__value_info_proto__free_unpacked(gp->input[i], NULL);
            memmove(&gp->input[i], &gp->input[i + 1],
                    (gp->n_input - i - 1) * sizeof *gp->input);
            gp->n_input--;
            return;
        }
}

static void remove_initializer(Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name &&
            strcmp(gp->initializer[i]->name, name) == 0) {
            onnx__tensor_proto__free_unpacked(gp->initializer[i], NULL);
            memmove(&gp->initializer[i], &gp->initializer[i + 1],
                    (gp->n_initializer - i - 1) * sizeof *gp->initializer);
            gp->n_initializer--;
            return;
        }
}

static void remove_constant_node(Onnx__GraphProto *gp, const char *output)
{
    for (size_t i = 0; i < gp->n_node; i++) {
        Onnx__NodeProto *n = gp->node[i];
        if (n->n_output == 1 && strcmp(n->output[0], output) == 0 &&
            strcmp(n->op_type, "Constant") == 0) {
            onnx__node_proto__free_unpacked(n, NULL);
            memmove(&gp->node[i], &gp->node[i + 1],
                    (gp->n_node - i - 1) * sizeof *gp->node);
            gp->n_node--;
            return;
        }
    }
}

onnxq_status oq_qctx_finish(oq_qctx *q, size_t *removed, onnxq_error *err)
{
    if (removed)
        *removed = 0;
    if (!q->n_drop)
        return ONNXQ_OK;
    onnxq_graph *view = NULL;
    onnxq_status st = onnxq_graph_create(q->model, &view, err);
    if (st != ONNXQ_OK)
        return onnxq_error_prefix(err, "after quantizing");
    /* decide with the fresh view, then edit (edits invalidate it) */
    int *kind = calloc(q->n_drop, sizeof *kind); /* 0 keep, 1 init, 2 node */
    if (!kind) {
        onnxq_graph_destroy(view);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < q->n_drop; i++) {
        const onnxq_graph *g = find_view(view, q->drop[i].owner);
        const onnxq_value *v = g ? onnxq_graph_value(g, q->drop[i].name)
                                 : NULL;
        if (!v || v->n_uses || v->is_graph_output)
            continue;
        if (v->kind == ONNXQ_VALUE_INITIALIZER)
            kind[i] = 1;
        else if (v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
                 strcmp(onnxq_graph_node(g, v->producer)->op_type,
                        "Constant") == 0)
            kind[i] = 2;
    }
    onnxq_graph_destroy(view);
    size_t count = 0;
    for (size_t i = 0; i < q->n_drop; i++) {
        Onnx__GraphProto *gp = q->drop[i].owner;
        if (kind[i] == 1) {
            remove_initializer(gp, q->drop[i].name);
            remove_named_input(gp, q->drop[i].name);
            count++;
        } else if (kind[i] == 2) {
            remove_constant_node(gp, q->drop[i].name);
            count++;
        }
    }
    free(kind);
    if (removed)
        *removed = count;
    return ONNXQ_OK;
}

/* ==== 4. opsets ========================================================== */

typedef struct op_change {
    int since;
    int additive;
    const char *dropped; /* comma-separated attribute names */
} op_change;

typedef struct op_history {
    const char *op;
    int n;
    op_change v[16];
} op_history;

static const op_history histories[] = {
#include "opset_changes.inc"
    {NULL, 0, {{0, 0, NULL}}},
};

static const op_history *history(const char *op)
{
    for (size_t i = 0; histories[i].op; i++)
        if (strcmp(histories[i].op, op) == 0)
            return &histories[i];
    return NULL;
}

static int has_attr(const Onnx__NodeProto *n, const char *name, size_t len)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (strlen(n->attribute[a]->name) == len &&
            strncmp(n->attribute[a]->name, name, len) == 0)
            return 1;
    return 0;
}

/* Checks one node for from -> to; fills err when it cannot move. */
static onnxq_status node_can_raise(const Onnx__NodeProto *n, int64_t from,
                                   int64_t to, const char *gname,
                                   onnxq_error *err)
{
    const op_history *h = history(n->op_type);
    const char *label = n->name && *n->name ? n->name : "(unnamed)";
    if (!h)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "graph %s: node %s (%s): not an ai.onnx op "
                               "of opset %d or lower; cannot raise the "
                               "opset from %lld to %lld", gname, label,
                               n->op_type, OQ_OPSET_TABLE_MAX,
                               (long long)from, (long long)to);
    for (int i = 0; i < h->n; i++) {
        const op_change *c = &h->v[i];
        if (c->since <= from || c->since > to)
            continue;
        const char *why = NULL;
        char attr[64] = "";
        if (!c->additive) {
            why = "its definition changed";
        } else {
            for (const char *p = c->dropped; *p;) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (has_attr(n, p, len)) {
                    snprintf(attr, sizeof attr, "%.*s", (int)len, p);
                    why = "it drops attribute";
                    break;
                }
                p = e ? e + 1 : p + len;
            }
        }
        if (why)
            return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                   "graph %s: node %s (%s): %s %s at version "
                                   "%d; cannot raise the model's opset from "
                                   "%lld to %lld (upgrade the model first)",
                                   gname, label, n->op_type, why, attr,
                                   c->since, (long long)from, (long long)to);
    }
    return ONNXQ_OK;
}

static onnxq_status graph_can_raise(const Onnx__GraphProto *g, int64_t from,
                                    int64_t to, int depth, onnxq_error *err)
{
    if (!g || depth > ONNXQ_MAX_MESSAGE_DEPTH)
        return ONNXQ_OK;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *dom = n->domain ? n->domain : "";
        if (!*dom || strcmp(dom, "ai.onnx") == 0) {
            onnxq_status st = node_can_raise(n, from, to,
                                             g->name ? g->name : "?", err);
            if (st != ONNXQ_OK)
                return st;
        }
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *at = n->attribute[a];
            onnxq_status st = graph_can_raise(at->g, from, to, depth + 1, err);
            for (size_t k = 0; st == ONNXQ_OK && k < at->n_graphs; k++)
                st = graph_can_raise(at->graphs[k], from, to, depth + 1, err);
            if (st != ONNXQ_OK)
                return st;
        }
    }
    return ONNXQ_OK;
}

onnxq_status oq_raise_opset(onnxq_model *model, int64_t want, int64_t *from,
                            onnxq_error *err)
{
    int64_t cur = onnxq_model_opset(model, "");
    if (from)
        *from = cur;
    if (cur >= want)
        return ONNXQ_OK;
    if (want > OQ_OPSET_TABLE_MAX)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "cannot raise the opset to %lld: the change "
                               "table covers opsets up to %d",
                               (long long)want, OQ_OPSET_TABLE_MAX);
    Onnx__ModelProto *m = onnxq_model_proto(model);
    onnxq_status st = graph_can_raise(m->graph, cur, want, 0, err);
    if (st != ONNXQ_OK)
        return st;
    if (!onnxq_build_opset(m, "", want))
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    /* the IR version each opset came with (onnx/helper.py VERSION_TABLE) */
    int64_t ir = want <= 8 ? 3 : want == 9 ? 4 : want == 10 ? 5
               : want == 11 ? 6 : want <= 14 ? 7 : 8;
    if (!m->has_ir_version || m->ir_version < ir) {
        m->has_ir_version = 1;
        m->ir_version = ir;
    }
    return ONNXQ_OK;
}

onnxq_status oq_check_opset_raise(onnxq_model *model, int64_t want,
                                  onnxq_error *err)
{
    int64_t cur = onnxq_model_opset(model, "");
    if (cur >= want)
        return ONNXQ_OK;
    if (want > OQ_OPSET_TABLE_MAX)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "cannot raise the opset to %lld", (long long)want);
    return graph_can_raise(onnxq_model_proto(model)->graph, cur, want, 0, err);
}

onnxq_status oq_import_domain(onnxq_model *model, const char *domain,
                              int64_t version, onnxq_error *err)
{
    if (onnxq_model_opset(model, domain) >= version)
        return ONNXQ_OK;
    if (!onnxq_build_opset(onnxq_model_proto(model), domain, version))
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    return ONNXQ_OK;
}
