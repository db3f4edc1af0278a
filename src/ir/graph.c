/*
 * graph.c — the name index over a GraphProto (see onnxq/graph.h).
 *
 * Building a view takes three passes over a graph:
 *   1. definitions: graph inputs, initializers, node outputs;
 *   2. subgraphs of node attributes, built with this graph as outer scope
 *      (every name here is known by then), each reporting the names it
 *      takes from outside ("outer refs");
 *   3. uses: node inputs in order, plus an implicit use by the node that
 *      holds a subgraph for each outer ref defined in this graph, so that
 *      sorting and dead-code removal see those dependencies.
 * Names used but defined in no scope become UNDEFINED values (the checker
 * reports them).  A name defined twice is an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "onnxq/graph.h"
#include "oq_util.h"
#include "strmap.h"

typedef struct node_subgraphs {
    onnxq_graph **graphs;
    const char **attr_names;
    size_t n;
} node_subgraphs;

typedef struct synth_const {
    const char *name; /* borrowed from the proto */
    Onnx__TensorProto *tensor;
} synth_const;

struct onnxq_graph {
    onnxq_model *model;
    Onnx__GraphProto *proto;
    const onnxq_graph *outer;
    char *path;
    onnxq_value *values;
    size_t n_values, cap_values;
    oq_strmap index;           /* name -> index in values */
    node_subgraphs *subs;      /* [n_subs] */
    size_t n_subs;             /* node count when built: the proto may have
                                  been edited since (destroy must not read
                                  its new count) */
    const char **outer_refs;   /* names this graph takes from outer scopes */
    size_t n_outer_refs, cap_outer_refs;
    oq_strmap outer_ref_set;
    synth_const *synth;        /* tensors made from Constant value_* attrs */
    size_t n_synth;
    oq_strmap all_names;       /* main graph only: every name, for unique_name */
    char **issued;             /* names handed out by unique_name */
    size_t n_issued, cap_issued;
    int all_names_ready;
    char label[32];
};

static const char *dup_error_name(const Onnx__NodeProto *n, size_t i,
                                  char *buf, size_t size)
{
    if (n->name && n->name[0])
        return n->name;
    snprintf(buf, size, "#%zu", i);
    return buf;
}

/* Adds a value for name (not present yet).  Returns its index or SIZE_MAX. */
static size_t add_value(onnxq_graph *g, const char *name, onnxq_value_kind k)
{
    if (oq_grow(&g->values, &g->cap_values, g->n_values + 1,
                sizeof *g->values))
        return SIZE_MAX;
    size_t i = g->n_values;
    memset(&g->values[i], 0, sizeof g->values[i]);
    g->values[i].name = name;
    g->values[i].kind = k;
    if (oq_strmap_put(&g->index, name, i))
        return SIZE_MAX;
    g->n_values++;
    return i;
}

static int add_use(onnxq_value *v, size_t node, size_t input)
{
    /* capacity is implicit: reallocate to twice the size whenever the count
     * reaches zero or a power of two */
    size_t want = v->n_uses + 1;
    if ((want & (want - 1)) == 0 || v->n_uses == 0) {
        onnxq_use *p = realloc(v->uses, (want * 2) * sizeof *p);
        if (!p)
            return -1;
        v->uses = p;
    }
    v->uses[v->n_uses++] = (onnxq_use){node, input};
    return 0;
}

static int add_outer_ref(onnxq_graph *g, const char *name)
{
    if (oq_strmap_get(&g->outer_ref_set, name, NULL))
        return 0;
    if (oq_grow(&g->outer_refs, &g->cap_outer_refs, g->n_outer_refs + 1,
                sizeof *g->outer_refs) ||
        oq_strmap_put(&g->outer_ref_set, name, g->n_outer_refs))
        return -1;
    g->outer_refs[g->n_outer_refs++] = name;
    return 0;
}

static int defined_outside(const onnxq_graph *g, const char *name)
{
    for (const onnxq_graph *o = g->outer; o; o = o->outer) {
        size_t i;
        if (oq_strmap_get(&o->index, name, &i) &&
            o->values[i].kind != ONNXQ_VALUE_UNDEFINED)
            return 1;
    }
    return 0;
}

/* Records that node (input slot) of g reads name. */
static onnxq_status use_name(onnxq_graph *g, const char *name, size_t node,
                             size_t slot, onnxq_error *err)
{
    size_t i;
    if (!oq_strmap_get(&g->index, name, &i)) {
        if (defined_outside(g, name)) {
            if (add_outer_ref(g, name))
                goto oom;
            return ONNXQ_OK;
        }
        i = add_value(g, name, ONNXQ_VALUE_UNDEFINED);
        if (i == SIZE_MAX)
            goto oom;
    }
    if (node != SIZE_MAX && add_use(&g->values[i], node, slot))
        goto oom;
    return ONNXQ_OK;
oom:
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

static onnxq_status build(onnxq_model *model, Onnx__GraphProto *proto,
                          const onnxq_graph *outer, const char *path,
                          onnxq_graph **out, onnxq_error *err);

static onnxq_status define(onnxq_graph *g, const char *name,
                           onnxq_value_kind kind, size_t node, size_t slot,
                           onnxq_error *err)
{
    size_t i;
    if (oq_strmap_get(&g->index, name, &i)) {
        char b1[32], b2[32];
        const onnxq_value *v = &g->values[i];
        const char *first =
            v->kind == ONNXQ_VALUE_NODE_OUTPUT
                ? dup_error_name(g->proto->node[v->producer], v->producer, b1,
                                 sizeof b1)
            : v->kind == ONNXQ_VALUE_INITIALIZER ? "an initializer"
                                                 : "a graph input";
        const char *second =
            kind == ONNXQ_VALUE_NODE_OUTPUT
                ? dup_error_name(g->proto->node[node], node, b2, sizeof b2)
            : kind == ONNXQ_VALUE_INITIALIZER ? "an initializer"
                                              : "a graph input";
        /* An initializer that is also a graph input is legal (IR < 4 style:
         * a default value for an input). */
        if (v->kind == ONNXQ_VALUE_GRAPH_INPUT &&
            kind == ONNXQ_VALUE_INITIALIZER)
            return ONNXQ_OK;
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "graph %s: tensor '%s' is defined twice (by %s "
                               "and by %s)", g->path, name, first, second);
    }
    i = add_value(g, name, kind);
    if (i == SIZE_MAX)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    g->values[i].producer = node;
    g->values[i].producer_output = slot;
    return ONNXQ_OK;
}

static onnxq_value *find(onnxq_graph *g, const char *name)
{
    size_t i;
    return oq_strmap_get(&g->index, name, &i) ? &g->values[i] : NULL;
}

static onnxq_status build(onnxq_model *model, Onnx__GraphProto *proto,
                          const onnxq_graph *outer, const char *path,
                          onnxq_graph **out, onnxq_error *err)
{
    onnxq_status st = ONNXQ_OK;
    onnxq_graph *g = calloc(1, sizeof *g);
    if (!g)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    g->model = model;
    g->proto = proto;
    g->outer = outer;
    g->path = oq_strdup(path);
    g->subs = calloc(proto->n_node ? proto->n_node : 1, sizeof *g->subs);
    g->n_subs = proto->n_node;
    if (!g->path || !g->subs)
        goto oom;

    /* 1. definitions */
    for (size_t i = 0; i < proto->n_input; i++) {
        const char *name = proto->input[i]->name;
        if (!name || !name[0])
            continue;
        st = define(g, name, ONNXQ_VALUE_GRAPH_INPUT, SIZE_MAX, 0, err);
        if (st != ONNXQ_OK)
            goto fail;
        find(g, name)->info = proto->input[i];
    }
    for (size_t i = 0; i < proto->n_initializer; i++) {
        Onnx__TensorProto *t = proto->initializer[i];
        if (!t->name || !t->name[0])
            continue;
        onnxq_value *v = find(g, t->name);
        if (v && v->kind == ONNXQ_VALUE_GRAPH_INPUT) {
            v->kind = ONNXQ_VALUE_INITIALIZER;
            v->initializer = t;
            continue;
        }
        st = define(g, t->name, ONNXQ_VALUE_INITIALIZER, SIZE_MAX, 0, err);
        if (st != ONNXQ_OK)
            goto fail;
        find(g, t->name)->initializer = t;
    }
    for (size_t n = 0; n < proto->n_node; n++) {
        Onnx__NodeProto *node = proto->node[n];
        for (size_t o = 0; o < node->n_output; o++) {
            if (!node->output[o] || !node->output[o][0])
                continue; /* an omitted optional output */
            st = define(g, node->output[o], ONNXQ_VALUE_NODE_OUTPUT, n, o, err);
            if (st != ONNXQ_OK)
                goto fail;
        }
    }
    for (size_t i = 0; i < proto->n_value_info; i++) {
        onnxq_value *v = proto->value_info[i]->name
                             ? find(g, proto->value_info[i]->name)
                             : NULL;
        if (v && !v->info)
            v->info = proto->value_info[i];
    }

    /* 2. subgraphs */
    for (size_t n = 0; n < proto->n_node; n++) {
        Onnx__NodeProto *node = proto->node[n];
        size_t count = 0;
        for (size_t a = 0; a < node->n_attribute; a++)
            count += (node->attribute[a]->g ? 1 : 0) +
                     node->attribute[a]->n_graphs;
        if (!count)
            continue;
        node_subgraphs *s = &g->subs[n];
        s->graphs = calloc(count, sizeof *s->graphs);
        s->attr_names = calloc(count, sizeof *s->attr_names);
        if (!s->graphs || !s->attr_names)
            goto oom;
        char label[32];
        const char *nname = dup_error_name(node, n, label, sizeof label);
        for (size_t a = 0; a < node->n_attribute; a++) {
            Onnx__AttributeProto *attr = node->attribute[a];
            size_t k_count = (attr->g ? 1 : 0) + attr->n_graphs;
            for (size_t k = 0; k < k_count; k++) {
                Onnx__GraphProto *sub = attr->g && k == 0
                                            ? attr->g
                                            : attr->graphs[k - (attr->g ? 1 : 0)];
                const char *aname = attr->name ? attr->name : "?";
                size_t len = strlen(path) + strlen(nname) + strlen(aname) + 32;
                char *sub_path = malloc(len);
                if (!sub_path)
                    goto oom;
                if (k_count > 1)
                    snprintf(sub_path, len, "%s/%s:%s[%zu]", path, nname,
                             aname, k);
                else
                    snprintf(sub_path, len, "%s/%s:%s", path, nname, aname);
                st = build(model, sub, g, sub_path, &s->graphs[s->n], err);
                free(sub_path);
                if (st != ONNXQ_OK)
                    goto fail;
                s->attr_names[s->n++] = aname;
            }
        }
    }

    /* 3. uses */
    for (size_t n = 0; n < proto->n_node; n++) {
        Onnx__NodeProto *node = proto->node[n];
        for (size_t i = 0; i < node->n_input; i++) {
            if (!node->input[i] || !node->input[i][0])
                continue; /* an omitted optional input */
            st = use_name(g, node->input[i], n, i, err);
            if (st != ONNXQ_OK)
                goto fail;
        }
        node_subgraphs *s = &g->subs[n];
        for (size_t k = 0; k < s->n; k++) {
            const onnxq_graph *sub = s->graphs[k];
            for (size_t r = 0; r < sub->n_outer_refs; r++) {
                st = use_name(g, sub->outer_refs[r], n, SIZE_MAX, err);
                if (st != ONNXQ_OK)
                    goto fail;
            }
        }
    }
    for (size_t i = 0; i < proto->n_output; i++) {
        const char *name = proto->output[i]->name;
        if (!name || !name[0])
            continue;
        st = use_name(g, name, SIZE_MAX, 0, err);
        if (st != ONNXQ_OK)
            goto fail;
        onnxq_value *v = find(g, name);
        if (v) {
            v->is_graph_output = 1;
            if (!v->info)
                v->info = proto->output[i];
        }
    }
    *out = g;
    return ONNXQ_OK;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    onnxq_graph_destroy(g);
    return st;
}

onnxq_status onnxq_graph_create(onnxq_model *model, onnxq_graph **out,
                                onnxq_error *err)
{
    if (!model || !out || !model->proto->graph)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_graph_create: no model or graph");
    onnxq_status st = build(model, model->proto->graph, NULL, "main", out, err);
    if (st != ONNXQ_OK)
        onnxq_error_prefix(err, "%s", model->source);
    return st;
}

void onnxq_graph_destroy(onnxq_graph *g)
{
    if (!g)
        return;
    if (g->subs)
        for (size_t n = 0; n < g->n_subs; n++) {
            for (size_t k = 0; k < g->subs[n].n; k++)
                onnxq_graph_destroy(g->subs[n].graphs[k]);
            free(g->subs[n].graphs);
            free(g->subs[n].attr_names);
        }
    free(g->subs);
    for (size_t i = 0; i < g->n_values; i++)
        free(g->values[i].uses);
    free(g->values);
    oq_strmap_clear(&g->index);
    free(g->outer_refs);
    oq_strmap_clear(&g->outer_ref_set);
    for (size_t i = 0; i < g->n_synth; i++)
        onnx__tensor_proto__free_unpacked(g->synth[i].tensor, NULL);
    free(g->synth);
    oq_strmap_clear(&g->all_names);
    for (size_t i = 0; i < g->n_issued; i++)
        free(g->issued[i]);
    free(g->issued);
    free(g->path);
    free(g);
}

Onnx__GraphProto *onnxq_graph_proto(const onnxq_graph *g) { return g->proto; }
onnxq_model *onnxq_graph_model(const onnxq_graph *g) { return g->model; }
const onnxq_graph *onnxq_graph_outer(const onnxq_graph *g) { return g->outer; }
const char *onnxq_graph_path(const onnxq_graph *g) { return g->path; }
size_t onnxq_graph_node_count(const onnxq_graph *g) { return g->proto->n_node; }

Onnx__NodeProto *onnxq_graph_node(const onnxq_graph *g, size_t i)
{
    return i < g->proto->n_node ? g->proto->node[i] : NULL;
}

const char *onnxq_graph_node_label(const onnxq_graph *g, size_t i)
{
    onnxq_graph *mg = (onnxq_graph *)g; /* the label buffer is scratch */
    return dup_error_name(g->proto->node[i], i, mg->label, sizeof mg->label);
}

size_t onnxq_graph_subgraph_count(const onnxq_graph *g, size_t node)
{
    return node < g->n_subs ? g->subs[node].n : 0;
}

const onnxq_graph *onnxq_graph_subgraph(const onnxq_graph *g, size_t node,
                                        size_t k, const char **attr_name)
{
    if (node >= g->n_subs || k >= g->subs[node].n)
        return NULL;
    if (attr_name)
        *attr_name = g->subs[node].attr_names[k];
    return g->subs[node].graphs[k];
}

size_t onnxq_graph_value_count(const onnxq_graph *g) { return g->n_values; }

const onnxq_value *onnxq_graph_value_at(const onnxq_graph *g, size_t i)
{
    return i < g->n_values ? &g->values[i] : NULL;
}

const onnxq_value *onnxq_graph_value(const onnxq_graph *g, const char *name)
{
    return find((onnxq_graph *)g, name);
}

const onnxq_value *onnxq_graph_resolve(const onnxq_graph *g, const char *name,
                                       const onnxq_graph **owner)
{
    for (const onnxq_graph *s = g; s; s = s->outer) {
        const onnxq_value *v = find((onnxq_graph *)s, name);
        if (v && v->kind != ONNXQ_VALUE_UNDEFINED) {
            if (owner)
                *owner = s;
            return v;
        }
    }
    return NULL;
}

/* ---- constants ------------------------------------------------------------ */

static int is_onnx_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

/* A tensor made from a Constant's value_float(s) / value_int(s). */
static Onnx__TensorProto *synth_tensor(const Onnx__AttributeProto *a,
                                       const char *name)
{
    Onnx__TensorProto *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = oq_strdup(name);
    t->has_data_type = 1;
    int is_list = strcmp(a->name, "value_floats") == 0 ||
                  strcmp(a->name, "value_ints") == 0;
    int is_float = strncmp(a->name, "value_float", 11) == 0;
    size_t count = !is_list ? 1 : is_float ? a->n_floats : a->n_ints;
    if (is_list) {
        t->n_dims = 1;
        t->dims = malloc(sizeof *t->dims);
        if (t->dims)
            t->dims[0] = (int64_t)count;
    }
    t->data_type = is_float ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
                            : ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    size_t es = is_float ? 4 : 8;
    t->has_raw_data = 1;
    t->raw_data.len = count * es;
    t->raw_data.data = malloc(count * es + 1);
    if (!t->name || (is_list && !t->dims) || !t->raw_data.data) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        return NULL;
    }
    if (is_float)
        memcpy(t->raw_data.data, is_list ? a->floats : &a->f, count * es);
    else
        memcpy(t->raw_data.data, is_list ? a->ints : &a->i, count * es);
    return t;
}

const Onnx__TensorProto *onnxq_graph_constant(const onnxq_graph *g,
                                              const char *name)
{
    const onnxq_graph *owner;
    const onnxq_value *v = onnxq_graph_resolve(g, name, &owner);
    if (!v)
        return NULL;
    if (v->kind == ONNXQ_VALUE_INITIALIZER)
        return v->initializer;
    if (v->kind != ONNXQ_VALUE_NODE_OUTPUT)
        return NULL;
    const Onnx__NodeProto *n = owner->proto->node[v->producer];
    if (strcmp(n->op_type ? n->op_type : "", "Constant") != 0 ||
        !is_onnx_domain(n->domain) || n->n_attribute != 1)
        return NULL;
    const Onnx__AttributeProto *a = n->attribute[0];
    if (!a->name)
        return NULL;
    if (strcmp(a->name, "value") == 0)
        return a->t;
    if (strcmp(a->name, "value_float") && strcmp(a->name, "value_floats") &&
        strcmp(a->name, "value_int") && strcmp(a->name, "value_ints"))
        return NULL; /* strings and sparse values are not dense numbers */
    onnxq_graph *mo = (onnxq_graph *)owner; /* the cache is logically const */
    for (size_t i = 0; i < mo->n_synth; i++)
        if (strcmp(mo->synth[i].name, name) == 0)
            return mo->synth[i].tensor;
    synth_const *grown = realloc(mo->synth, (mo->n_synth + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    mo->synth = grown;
    Onnx__TensorProto *t = synth_tensor(a, name);
    if (!t)
        return NULL;
    mo->synth[mo->n_synth++] = (synth_const){v->name, t};
    return t;
}

/* ---- order ---------------------------------------------------------------- */

int onnxq_graph_is_sorted(const onnxq_graph *g, size_t *first_bad_node)
{
    size_t bad = SIZE_MAX;
    for (size_t i = 0; i < g->n_values; i++) {
        const onnxq_value *v = &g->values[i];
        if (v->kind != ONNXQ_VALUE_NODE_OUTPUT)
            continue;
        for (size_t u = 0; u < v->n_uses; u++)
            if (v->uses[u].node <= v->producer && v->uses[u].node < bad)
                bad = v->uses[u].node;
    }
    if (first_bad_node)
        *first_bad_node = bad;
    return bad == SIZE_MAX;
}

/* A binary min-heap of node indices: the ready node that came first in the
 * file goes first, so a sorted graph keeps its order. */
static void heap_push(size_t *h, size_t *n, size_t x)
{
    size_t i = (*n)++;
    h[i] = x;
    while (i && h[(i - 1) / 2] > h[i]) {
        size_t p = (i - 1) / 2, t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
    }
}

static size_t heap_pop(size_t *h, size_t *n)
{
    size_t top = h[0];
    h[0] = h[--*n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && h[l] < h[m])
            m = l;
        if (r < *n && h[r] < h[m])
            m = r;
        if (m == i)
            break;
        size_t t = h[m];
        h[m] = h[i];
        h[i] = t;
        i = m;
    }
    return top;
}

onnxq_status onnxq_graph_topo_order(const onnxq_graph *g, size_t *order,
                                    onnxq_error *err)
{
    size_t n = g->proto->n_node;
    size_t *indeg = calloc(n ? n : 1, sizeof *indeg);
    size_t *heap = malloc((n ? n : 1) * sizeof *heap);
    if (!indeg || !heap) {
        free(indeg);
        free(heap);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < g->n_values; i++) {
        const onnxq_value *v = &g->values[i];
        if (v->kind == ONNXQ_VALUE_NODE_OUTPUT)
            for (size_t u = 0; u < v->n_uses; u++)
                indeg[v->uses[u].node]++;
    }
    size_t hn = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        if (!indeg[i])
            heap_push(heap, &hn, i);
    while (hn) {
        size_t x = heap_pop(heap, &hn);
        order[done++] = x;
        const Onnx__NodeProto *node = g->proto->node[x];
        for (size_t o = 0; o < node->n_output; o++) {
            if (!node->output[o] || !node->output[o][0])
                continue;
            const onnxq_value *v = find((onnxq_graph *)g, node->output[o]);
            if (!v || v->kind != ONNXQ_VALUE_NODE_OUTPUT || v->producer != x)
                continue;
            for (size_t u = 0; u < v->n_uses; u++)
                if (--indeg[v->uses[u].node] == 0)
                    heap_push(heap, &hn, v->uses[u].node);
        }
    }
    onnxq_status st = ONNXQ_OK;
    if (done != n) {
        size_t stuck = 0;
        while (stuck < n && !indeg[stuck])
            stuck++;
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                             "graph %s: cycle through node %s (%s)", g->path,
                             onnxq_graph_node_label(g, stuck),
                             g->proto->node[stuck]->op_type
                                 ? g->proto->node[stuck]->op_type : "?");
    }
    free(indeg);
    free(heap);
    return st;
}

static onnxq_status sort_graph(const onnxq_graph *g, onnxq_error *err)
{
    size_t n = g->proto->n_node;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < g->subs[i].n; k++) {
            onnxq_status st = sort_graph(g->subs[i].graphs[k], err);
            if (st != ONNXQ_OK)
                return st;
        }
    if (onnxq_graph_is_sorted(g, NULL))
        return ONNXQ_OK;
    size_t *order = malloc(n * sizeof *order);
    Onnx__NodeProto **nodes = malloc(n * sizeof *nodes);
    if (!order || !nodes) {
        free(order);
        free(nodes);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    onnxq_status st = onnxq_graph_topo_order(g, order, err);
    if (st == ONNXQ_OK) {
        for (size_t i = 0; i < n; i++)
            nodes[i] = g->proto->node[order[i]];
        memcpy(g->proto->node, nodes, n * sizeof *nodes);
    }
    free(order);
    free(nodes);
    return st;
}

onnxq_status onnxq_model_sort(onnxq_model *model, onnxq_error *err)
{
    onnxq_graph *g;
    onnxq_status st = onnxq_graph_create(model, &g, err);
    if (st != ONNXQ_OK)
        return st;
    st = sort_graph(g, err);
    onnxq_graph_destroy(g);
    return st;
}

/* ---- dead code ------------------------------------------------------------ */

/* Marks live nodes of g and removes the rest and unused initializers, then
 * does the same in the subgraphs of the nodes kept.  What a subgraph stops
 * reading from outer scope frees outer values on the next round. */
static onnxq_status prune_graph(onnxq_graph *g, size_t *nodes_out,
                                size_t *inits_out, onnxq_error *err)
{
    Onnx__GraphProto *p = g->proto;
    size_t n = p->n_node;
    char *live = calloc(n ? n : 1, 1);
    size_t *stack = malloc((n ? n : 1) * sizeof *stack);
    char *value_live = calloc(g->n_values ? g->n_values : 1, 1);
    if (!live || !stack || !value_live) {
        free(live);
        free(stack);
        free(value_live);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t sp = 0;
    for (size_t i = 0; i < g->n_values; i++) {
        const onnxq_value *v = &g->values[i];
        /* outer refs of enclosing scopes never point at this graph's own
         * values, so graph outputs are the only roots */
        if (v->is_graph_output && v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
            !live[v->producer]) {
            live[v->producer] = 1;
            stack[sp++] = v->producer;
        }
    }
    /* Walk back from live nodes through the values they read, explicitly
     * or from inside their subgraphs. */
    while (sp) {
        size_t x = stack[--sp];
        const Onnx__NodeProto *node = p->node[x];
        size_t n_explicit = node->n_input, n_refs = 0;
        for (size_t k = 0; k < g->subs[x].n; k++)
            n_refs += g->subs[x].graphs[k]->n_outer_refs;
        for (size_t r = 0, k = 0, kr = 0; r < n_explicit + n_refs; r++) {
            const char *name;
            if (r < n_explicit) {
                name = node->input[r];
            } else {
                while (kr >= g->subs[x].graphs[k]->n_outer_refs) {
                    k++;
                    kr = 0;
                }
                name = g->subs[x].graphs[k]->outer_refs[kr++];
            }
            size_t vi;
            if (!name || !name[0] || !oq_strmap_get(&g->index, name, &vi))
                continue;
            value_live[vi] = 1;
            const onnxq_value *v = &g->values[vi];
            if (v->kind == ONNXQ_VALUE_NODE_OUTPUT && !live[v->producer]) {
                live[v->producer] = 1;
                stack[sp++] = v->producer;
            }
        }
    }
    /* The index's keys are borrowed from the nodes and initializers being
     * removed: they are freed only after the last lookup below. */
    Onnx__NodeProto **gone_nodes = malloc((n ? n : 1) * sizeof *gone_nodes);
    Onnx__TensorProto **gone_inits =
        malloc((p->n_initializer ? p->n_initializer : 1) * sizeof *gone_inits);
    size_t n_gone_nodes = 0, n_gone_inits = 0;
    if (!gone_nodes || !gone_inits) {
        free(gone_nodes);
        free(gone_inits);
        free(live);
        free(stack);
        free(value_live);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (live[i])
            p->node[kept++] = p->node[i];
        else {
            gone_nodes[n_gone_nodes++] = p->node[i];
            ++*nodes_out;
        }
    }
    p->n_node = kept;
    kept = 0;
    for (size_t i = 0; i < p->n_initializer; i++) {
        Onnx__TensorProto *t = p->initializer[i];
        size_t vi;
        int used = 1;
        if (t->name && oq_strmap_get(&g->index, t->name, &vi)) {
            int is_input = 0; /* an input with a default: a user may feed it */
            for (size_t k = 0; k < p->n_input && !is_input; k++)
                is_input = p->input[k]->name &&
                           strcmp(p->input[k]->name, t->name) == 0;
            used = value_live[vi] || g->values[vi].is_graph_output || is_input;
        }
        if (used)
            p->initializer[kept++] = t;
        else {
            gone_inits[n_gone_inits++] = t;
            ++*inits_out;
        }
    }
    p->n_initializer = kept;
    /* Subgraphs of live nodes last: the marking above read their outer
     * refs, which point into their nodes, and a subgraph of a dead node is
     * freed with it. */
    onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < n && st == ONNXQ_OK; i++)
        for (size_t k = 0; live[i] && k < g->subs[i].n && st == ONNXQ_OK; k++)
            st = prune_graph(g->subs[i].graphs[k], nodes_out, inits_out, err);
    for (size_t i = 0; i < n_gone_nodes; i++)
        onnx__node_proto__free_unpacked(gone_nodes[i], NULL);
    for (size_t i = 0; i < n_gone_inits; i++)
        onnx__tensor_proto__free_unpacked(gone_inits[i], NULL);
    free(gone_nodes);
    free(gone_inits);
    free(live);
    free(stack);
    free(value_live);
    return st;
}

onnxq_status onnxq_model_remove_dead(onnxq_model *model, size_t *removed_nodes,
                                     size_t *removed_inits, onnxq_error *err)
{
    size_t total_nodes = 0, total_inits = 0;
    for (;;) {
        onnxq_graph *g = NULL;
        onnxq_status st = onnxq_graph_create(model, &g, err);
        if (st != ONNXQ_OK)
            return st;
        size_t nodes = 0, inits = 0;
        st = prune_graph(g, &nodes, &inits, err);
        onnxq_graph_destroy(g);
        if (st != ONNXQ_OK)
            return st;
        total_nodes += nodes;
        total_inits += inits;
        if (!nodes && !inits)
            break;
    }
    if (removed_nodes)
        *removed_nodes = total_nodes;
    if (removed_inits)
        *removed_inits = total_inits;
    return ONNXQ_OK;
}

/* ---- names ---------------------------------------------------------------- */

static int collect_names(oq_strmap *set, const onnxq_graph *g)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (oq_strmap_put(set, g->values[i].name, 0))
            return -1;
    for (size_t n = 0; n < g->proto->n_node; n++) {
        const char *name = g->proto->node[n]->name;
        if (name && name[0] && oq_strmap_put(set, name, 0))
            return -1;
        for (size_t k = 0; k < g->subs[n].n; k++)
            if (collect_names(set, g->subs[n].graphs[k]))
                return -1;
    }
    return 0;
}

char *onnxq_graph_unique_name(onnxq_graph *g, const char *prefix)
{
    if (!g->all_names_ready) {
        if (collect_names(&g->all_names, g))
            return NULL;
        g->all_names_ready = 1;
    }
    size_t len = strlen(prefix) + 24;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%s", prefix);
    for (size_t k = 1; oq_strmap_get(&g->all_names, name, NULL); k++)
        snprintf(name, len, "%s_%zu", prefix, k);
    char *kept = oq_strdup(name);
    if (!kept ||
        oq_grow(&g->issued, &g->cap_issued, g->n_issued + 1,
                sizeof *g->issued) ||
        oq_strmap_put(&g->all_names, kept, 0)) {
        free(kept);
        free(name);
        return NULL;
    }
    g->issued[g->n_issued++] = kept;
    return name;
}

int64_t onnxq_model_opset(const onnxq_model *model, const char *domain)
{
    const Onnx__ModelProto *m = model->proto;
    int want_onnx = is_onnx_domain(domain);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if (want_onnx ? is_onnx_domain(d) : (d && strcmp(d, domain) == 0))
            return m->opset_import[i]->version;
    }
    return 0;
}
