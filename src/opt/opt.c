/*
 * opt.c — the preprocess driver (onnxq/opt.h) and the proto-editing helpers
 * every pass uses (opt_internal.h).
 *
 * The driver checks the input, runs the passes in a fixed order, refreshes
 * value_info, records itself in the metadata and checks the result.  Passes
 * that decide from types or shapes (opset upgrade, Shape folding, MatMul ->
 * Gemm) read the value_info an inference run wrote just before them; with
 * the infer pass skipped no inference runs at all and those decisions are
 * made only where constants alone settle them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/check.h"
#include "onnxq/tensor.h"
#include "onnxq/runtime.h"
#include "opt_internal.h"
#include "oq_util.h"

/* ---- graphs, nodes, attributes -------------------------------------------- */

onnxq_status oq_opt_each_graph(Onnx__GraphProto *g, oq_opt_graph_fn fn,
                               void *user, onnxq_error *err)
{
    onnxq_status st = fn(g, user, err);
    for (size_t n = 0; st == ONNXQ_OK && n < g->n_node; n++) {
        Onnx__NodeProto *node = g->node[n];
        for (size_t a = 0; st == ONNXQ_OK && a < node->n_attribute; a++) {
            Onnx__AttributeProto *at = node->attribute[a];
            if (at->g)
                st = oq_opt_each_graph(at->g, fn, user, err);
            for (size_t k = 0; st == ONNXQ_OK && k < at->n_graphs; k++)
                st = oq_opt_each_graph(at->graphs[k], fn, user, err);
        }
    }
    return st;
}

int oq_opt_onnx_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

int oq_opt_is_op(const Onnx__NodeProto *n, const char *op_type)
{
    return n->op_type && strcmp(n->op_type, op_type) == 0 &&
           oq_opt_onnx_domain(n->domain);
}

Onnx__AttributeProto *oq_opt_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

int64_t oq_opt_attr_int(const Onnx__NodeProto *n, const char *name,
                        int64_t dflt)
{
    const Onnx__AttributeProto *a = oq_opt_attr(n, name);
    return a ? a->i : dflt;
}

float oq_opt_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = oq_opt_attr(n, name);
    return a ? a->f : dflt;
}

void oq_opt_drop_attr(Onnx__NodeProto *n, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n_attribute; i++) {
        Onnx__AttributeProto *a = n->attribute[i];
        if (a->name && strcmp(a->name, name) == 0)
            onnx__attribute_proto__free_unpacked(a, NULL);
        else
            n->attribute[k++] = a;
    }
    n->n_attribute = k;
}

int oq_opt_set_attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    oq_opt_drop_attr(n, name);
    return onnxq_build_attr_int(n, name, v) ? 0 : -1;
}

int oq_opt_set_attr_float(Onnx__NodeProto *n, const char *name, float v)
{
    oq_opt_drop_attr(n, name);
    return onnxq_build_attr_float(n, name, v) ? 0 : -1;
}

int oq_opt_is_graph_input(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i]->name && strcmp(g->input[i]->name, name) == 0)
            return 1;
    return 0;
}

int oq_opt_is_graph_output(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0)
            return 1;
    return 0;
}

int oq_opt_is_read(const Onnx__GraphProto *g, const char *name)
{
    if (oq_opt_is_graph_output(g, name))
        return 1;
    for (size_t n = 0; n < g->n_node; n++) {
        const Onnx__NodeProto *node = g->node[n];
        for (size_t i = 0; i < node->n_input; i++)
            if (node->input[i] && strcmp(node->input[i], name) == 0)
                return 1;
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *at = node->attribute[a];
            if (at->g && oq_opt_is_read(at->g, name))
                return 1;
            for (size_t k = 0; k < at->n_graphs; k++)
                if (oq_opt_is_read(at->graphs[k], name))
                    return 1;
        }
    }
    return 0;
}

int oq_opt_set_input(Onnx__NodeProto *n, size_t i, const char *name)
{
    char *s = oq_strdup(name);
    if (!s)
        return -1;
    free(n->input[i]);
    n->input[i] = s;
    return 0;
}

int oq_opt_add_input(Onnx__NodeProto *n, const char *name)
{
    char *s = oq_strdup(name);
    char **p = s ? realloc(n->input, (n->n_input + 1) * sizeof *p) : NULL;
    if (!p) {
        free(s);
        return -1;
    }
    p[n->n_input++] = s;
    n->input = p;
    return 0;
}

int oq_opt_set_output(Onnx__NodeProto *n, size_t i, const char *name)
{
    char *s = oq_strdup(name);
    if (!s)
        return -1;
    free(n->output[i]);
    n->output[i] = s;
    return 0;
}

void oq_opt_truncate_outputs(Onnx__NodeProto *n, size_t n_keep)
{
    for (size_t i = n_keep; i < n->n_output; i++)
        free(n->output[i]);
    if (n_keep < n->n_output)
        n->n_output = n_keep;
}

/* 1 if g itself defines name (input, initializer or node output). */
static int defines(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i]->name && strcmp(g->input[i]->name, name) == 0)
            return 1;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name &&
            strcmp(g->initializer[i]->name, name) == 0)
            return 1;
    for (size_t n = 0; n < g->n_node; n++)
        for (size_t o = 0; o < g->node[n]->n_output; o++)
            if (g->node[n]->output[o] &&
                strcmp(g->node[n]->output[o], name) == 0)
                return 1;
    return 0;
}

static long rename_in(Onnx__GraphProto *g, const char *from, const char *to,
                      int outputs_too)
{
    long count = 0;
    for (size_t n = 0; n < g->n_node; n++) {
        Onnx__NodeProto *node = g->node[n];
        for (size_t i = 0; i < node->n_input; i++)
            if (node->input[i] && strcmp(node->input[i], from) == 0) {
                if (oq_opt_set_input(node, i, to))
                    return -1;
                count++;
            }
        for (size_t a = 0; a < node->n_attribute; a++) {
            Onnx__AttributeProto *at = node->attribute[a];
            size_t k_count = (at->g ? 1 : 0) + at->n_graphs;
            for (size_t k = 0; k < k_count; k++) {
                Onnx__GraphProto *sub = at->g && k == 0
                                            ? at->g
                                            : at->graphs[k - (at->g ? 1 : 0)];
                if (defines(sub, from))
                    continue; /* the subgraph's own value hides ours */
                /* a subgraph may list an outer value as its output */
                long c = rename_in(sub, from, to, 1);
                if (c < 0)
                    return -1;
                count += c;
            }
        }
    }
    if (outputs_too)
        for (size_t i = 0; i < g->n_output; i++)
            if (g->output[i]->name && strcmp(g->output[i]->name, from) == 0) {
                char *s = oq_strdup(to);
                if (!s)
                    return -1;
                free(g->output[i]->name);
                g->output[i]->name = s;
                count++;
            }
    return count;
}

long oq_opt_rename_uses(Onnx__GraphProto *g, const char *from, const char *to,
                        int outputs_too)
{
    return rename_in(g, from, to, outputs_too);
}

void oq_opt_remove_nodes(Onnx__GraphProto *g, const char *dead)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        if (dead[i])
            onnx__node_proto__free_unpacked(g->node[i], NULL);
        else
            g->node[k++] = g->node[i];
    }
    g->n_node = k;
}

int oq_opt_insert_node(Onnx__GraphProto *g, size_t at, Onnx__NodeProto *n)
{
    Onnx__NodeProto **p = realloc(g->node, (g->n_node + 1) * sizeof *p);
    if (!p)
        return -1;
    g->node = p;
    if (at > g->n_node)
        at = g->n_node;
    memmove(&p[at + 1], &p[at], (g->n_node - at) * sizeof *p);
    p[at] = n;
    g->n_node++;
    return 0;
}

/* ---- tensors as numbers ------------------------------------------------------ */

int64_t oq_opt_numel(const Onnx__TensorProto *t)
{
    uint64_t n;
    if (onnxq_shape_numel(t->dims, t->n_dims, &n))
        return -1;
    return (int64_t)n;
}

double *oq_opt_tensor_f64(onnxq_model *m, const Onnx__TensorProto *t,
                          size_t *n, onnxq_error *err)
{
    int64_t numel = oq_opt_numel(t);
    size_t es = onnxq_dtype_size(t->data_type);
    if (numel < 0 || !es || t->n_dims > ONNXQ_MAX_RANK) {
        onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                        "tensor '%s': not a numeric tensor", t->name);
        return NULL;
    }
    void *raw = malloc((size_t)numel * es + 1);
    double *v = malloc(((size_t)numel + 1) * sizeof *v);
    if (!raw || !v) {
        free(raw);
        free(v);
        onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    if (onnxq_tensor_copy_data(m, t, raw, (size_t)numel * es, err) !=
        ONNXQ_OK) {
        free(raw);
        free(v);
        return NULL;
    }
    onnxq_tensor view = {t->data_type, (int)t->n_dims, {0}, raw};
    for (size_t i = 0; i < t->n_dims; i++)
        view.dims[i] = t->dims[i];
    for (int64_t i = 0; i < numel; i++)
        v[i] = onnxq_tensor_get_f64(&view, (size_t)i);
    free(raw);
    *n = (size_t)numel;
    return v;
}

int oq_opt_set_f32_data(Onnx__TensorProto *t, const double *v, size_t n)
{
    float *f = malloc(n * sizeof *f + 1);
    if (!f)
        return -1;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)v[i];
    /* whatever storage it had (typed fields, external) becomes raw_data */
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    for (size_t i = 0; i < t->n_external_data; i++)
        onnx__string_string_entry_proto__free_unpacked(t->external_data[i],
                                                       NULL);
    free(t->external_data);
    t->external_data = NULL;
    t->n_external_data = 0;
    t->has_data_location = 0;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
    free(t->raw_data.data);
    t->raw_data.data = (uint8_t *)f;
    t->raw_data.len = n * sizeof *f;
    t->has_raw_data = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_data_type = 1;
    return 0;
}

void oq_opt_count(const Onnx__GraphProto *g, size_t *nodes, size_t *inits)
{
    *nodes += g->n_node;
    *inits += g->n_initializer;
    for (size_t n = 0; n < g->n_node; n++) {
        const Onnx__NodeProto *node = g->node[n];
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *at = node->attribute[a];
            if (at->g)
                oq_opt_count(at->g, nodes, inits);
            for (size_t k = 0; k < at->n_graphs; k++)
                oq_opt_count(at->graphs[k], nodes, inits);
        }
    }
}

/* ---- names of passes --------------------------------------------------------- */

static const struct {
    unsigned bit;
    const char *name;
} pass_names[ONNXQ_PASS_COUNT] = {
    {ONNXQ_PASS_UPGRADE_OPSET, "upgrade-opset"},
    {ONNXQ_PASS_CONSTANT_TO_INITIALIZER, "constant-to-initializer"},
    {ONNXQ_PASS_FOLD_CONSTANTS, "fold-constants"},
    {ONNXQ_PASS_FOLD_BN, "fold-bn"},
    {ONNXQ_PASS_MATMUL_ADD, "matmul-add"},
    {ONNXQ_PASS_CLEANUP, "cleanup"},
    {ONNXQ_PASS_SORT, "sort"},
    {ONNXQ_PASS_INFER, "infer"},
};

const char *onnxq_pass_name(unsigned pass)
{
    for (int i = 0; i < ONNXQ_PASS_COUNT; i++)
        if (pass_names[i].bit == pass)
            return pass_names[i].name;
    return NULL;
}

unsigned onnxq_pass_from_name(const char *name)
{
    for (int i = 0; i < ONNXQ_PASS_COUNT; i++)
        if (strcmp(pass_names[i].name, name) == 0)
            return pass_names[i].bit;
    return 0;
}

/* ---- options, report ------------------------------------------------------- */

void onnxq_preprocess_options_init(onnxq_preprocess_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_fold_growth = 1024 * 1024;
}

void onnxq_preprocess_report_init(onnxq_preprocess_report *r)
{
    memset(r, 0, sizeof *r);
    onnxq_infer_report_init(&r->infer);
}

void onnxq_preprocess_report_clear(onnxq_preprocess_report *r)
{
    onnxq_infer_report_clear(&r->infer);
    onnxq_preprocess_report_init(r);
}

size_t onnxq_preprocess_report_changes(const onnxq_preprocess_report *r)
{
    return r->upgraded_nodes + r->upsample_to_resize + r->inserted_nodes +
           r->initializer_inputs_dropped + r->constants_converted +
           r->folded_nodes + r->folded_shapes + r->bn_folded +
           r->mul_add_folded + r->identities_removed + r->dropouts_removed +
           r->duplicates_merged + r->dead_nodes_removed +
           r->unused_initializers_removed + r->matmul_add_to_gemm;
}

/* ---- driver ------------------------------------------------------------------ */

static int64_t onnx_opset(const Onnx__ModelProto *p)
{
    for (size_t i = 0; i < p->n_opset_import; i++)
        if (oq_opt_onnx_domain(p->opset_import[i]->domain))
            return p->opset_import[i]->version;
    return 0;
}

/* IR < 4 wanted every initializer listed as a graph input too, where a
 * user could feed another value; runtimes treat them as weights anyway.
 * They are unlisted so the initializers the passes add are valid and
 * weights count as constants. */
static onnxq_status unlist_initializer_inputs(onnxq_model *m,
                                              onnxq_preprocess_report *r)
{
    Onnx__ModelProto *p = onnxq_model_proto(m);
    if (!p->has_ir_version || p->ir_version >= 4)
        return ONNXQ_OK;
    Onnx__GraphProto *g = p->graph;
    size_t k = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        int is_init = 0;
        for (size_t j = 0; j < g->n_initializer && !is_init; j++)
            is_init = g->input[i]->name && g->initializer[j]->name &&
                      strcmp(g->input[i]->name, g->initializer[j]->name) == 0;
        if (is_init) {
            onnx__value_info_proto__free_unpacked(g->input[i], NULL);
            r->initializer_inputs_dropped++;
        } else {
            g->input[k++] = g->input[i];
        }
    }
    g->n_input = k;
    p->ir_version = 4;
    return ONNXQ_OK;
}

static onnxq_status set_metadata(onnxq_model *m, const char *version)
{
    Onnx__ModelProto *p = onnxq_model_proto(m);
    char value[128];
    snprintf(value, sizeof value, "onnxq %s", version ? version : "unknown");
    for (size_t i = 0; i < p->n_metadata_props; i++) {
        Onnx__StringStringEntryProto *e = p->metadata_props[i];
        if (e->key && strcmp(e->key, ONNXQ_PREPROCESS_METADATA_KEY) == 0) {
            char *v = oq_strdup(value);
            if (!v)
                return ONNXQ_ERR_OUT_OF_MEMORY;
            free(e->value);
            e->value = v;
            return ONNXQ_OK;
        }
    }
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    Onnx__StringStringEntryProto **arr =
        realloc(p->metadata_props, (p->n_metadata_props + 1) * sizeof *arr);
    if (arr)
        p->metadata_props = arr;
    if (!e || !arr) {
        free(e);
        return ONNXQ_ERR_OUT_OF_MEMORY;
    }
    onnx__string_string_entry_proto__init(e);
    e->key = oq_strdup(ONNXQ_PREPROCESS_METADATA_KEY);
    e->value = oq_strdup(value);
    arr[p->n_metadata_props++] = e;
    return e->key && e->value ? ONNXQ_OK : ONNXQ_ERR_OUT_OF_MEMORY;
}

int onnxq_model_is_preprocessed(const onnxq_model *m)
{
    const Onnx__ModelProto *p = onnxq_model_proto_const(m);
    for (size_t i = 0; i < p->n_metadata_props; i++)
        if (p->metadata_props[i]->key &&
            strcmp(p->metadata_props[i]->key,
                   ONNXQ_PREPROCESS_METADATA_KEY) == 0)
            return 1;
    return 0;
}

onnxq_status onnxq_preprocess_changes(const onnxq_model *m, size_t *changes,
                                      onnxq_error *err)
{
    void *data = NULL;
    size_t size = 0;
    onnxq_model *copy = NULL;
    onnxq_status st = onnxq_model_serialize(m, &data, &size, err);
    if (st == ONNXQ_OK)
        st = onnxq_model_load_memory(data, size, onnxq_model_base_dir(m),
                                     onnxq_model_source(m), &copy, err);
    free(data);
    onnxq_preprocess_report r;
    onnxq_preprocess_report_init(&r);
    if (st == ONNXQ_OK)
        st = onnxq_preprocess(copy, NULL, &r, err);
    if (st == ONNXQ_OK && changes)
        *changes = onnxq_preprocess_report_changes(&r);
    onnxq_preprocess_report_clear(&r);
    onnxq_model_destroy(copy);
    return st;
}

/* Structural findings (not runtime support, not order: sorting fixes
 * that) make the model unfit to preprocess or to write. */
static onnxq_status check(onnxq_model *m, const char *what, size_t *count,
                          onnxq_error *err)
{
    onnxq_check_options co;
    onnxq_check_options_init(&co);
    co.check_runtime = 0;
    onnxq_check_report rep = {0};
    onnxq_status st = onnxq_check_model(m, &co, &rep, err);
    if (st != ONNXQ_OK)
        return st;
    size_t n = 0;
    const onnxq_finding *first = NULL;
    for (size_t i = 0; i < rep.n_findings; i++) {
        if (strcmp(rep.findings[i].kind, "unsorted") == 0 ||
            strcmp(rep.findings[i].kind, "unsupported-op") == 0)
            continue;
        if (!first)
            first = &rep.findings[i];
        n++;
    }
    if (count)
        *count = n;
    if (first)
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                             "%s has %zu problem%s; first: graph %s%s%s: %s",
                             what, n, n == 1 ? "" : "s", first->graph,
                             first->node ? ", node " : "",
                             first->node ? first->node : "", first->message);
    onnxq_check_report_clear(&rep);
    return st;
}

static onnxq_status infer(onnxq_model *m, onnxq_infer_report *rep,
                          onnxq_error *err)
{
    onnxq_infer_options io;
    onnxq_infer_options_init(&io);
    return onnxq_infer_model(m, &io, rep, err);
}

static size_t count_unsorted(const onnxq_graph *g)
{
    size_t c = onnxq_graph_is_sorted(g, NULL) ? 0 : 1;
    for (size_t n = 0; n < onnxq_graph_node_count(g); n++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, n); k++)
            c += count_unsorted(onnxq_graph_subgraph(g, n, k, NULL));
    return c;
}

onnxq_status onnxq_preprocess(onnxq_model *m,
                              const onnxq_preprocess_options *opts,
                              onnxq_preprocess_report *r, onnxq_error *err)
{
    onnxq_preprocess_options dflt;
    onnxq_preprocess_report local;
    if (!opts) {
        onnxq_preprocess_options_init(&dflt);
        opts = &dflt;
    }
    if (!r)
        r = &local;
    onnxq_preprocess_report_init(r);
    onnxq_status st = ONNXQ_OK;
    Onnx__ModelProto *p = onnxq_model_proto(m);
    if (!p->graph) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL, "model has no graph");
        goto done;
    }
    unsigned skip = opts->skip;
    int use_infer = !(skip & ONNXQ_PASS_INFER);
    oq_opt_count(p->graph, &r->nodes_before, &r->initializers_before);
    r->opset_before = onnx_opset(p);
    r->ir_before = p->has_ir_version ? p->ir_version : 0;

    st = check(m, "the input model", NULL, err);
    if (st != ONNXQ_OK)
        goto done;
    st = unlist_initializer_inputs(m, r);

    /* the passes that decide from types and shapes read this value_info */
    if (st == ONNXQ_OK && use_infer)
        st = infer(m, NULL, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_UPGRADE_OPSET) &&
        r->opset_before > 0 && r->opset_before < 10) {
        st = oq_opt_upgrade_opset(m, use_infer, r, err);
        if (st == ONNXQ_OK && use_infer)
            st = infer(m, NULL, err);
    }
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_CONSTANT_TO_INITIALIZER))
        st = oq_opt_constants_to_initializers(m, r, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_FOLD_CONSTANTS))
        st = oq_opt_fold_constants(m, opts, r, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_FOLD_BN))
        st = oq_opt_fold_bn(m, r, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_MATMUL_ADD))
        st = oq_opt_matmul_add(m, use_infer, r, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_CLEANUP))
        st = oq_opt_cleanup(m, r, err);
    if (st == ONNXQ_OK && !(skip & ONNXQ_PASS_SORT)) {
        onnxq_graph *g;
        st = onnxq_graph_create(m, &g, err);
        if (st == ONNXQ_OK) {
            r->graphs_reordered = count_unsorted(g);
            onnxq_graph_destroy(g);
            if (r->graphs_reordered)
                st = onnxq_model_sort(m, err);
        }
    }
    if (st == ONNXQ_OK && use_infer)
        st = infer(m, &r->infer, err);
    if (st == ONNXQ_OK && set_metadata(m, opts->version) != ONNXQ_OK)
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == ONNXQ_OK)
        st = check(m, "the preprocessed model", &r->check_findings, err);
    p = onnxq_model_proto(m);
    oq_opt_count(p->graph, &r->nodes_after, &r->initializers_after);
    r->opset_after = onnx_opset(p);
    r->ir_after = p->has_ir_version ? p->ir_version : 0;
done:
    if (r == &local)
        onnxq_preprocess_report_clear(&local);
    return st;
}

/* ---- fresh names ------------------------------------------------------------- */

static int names_add(oq_opt_names *nm, const char *name)
{
    if (!name || !name[0] || oq_strmap_get(&nm->set, name, NULL))
        return 0;
    char *copy = oq_strdup(name);
    if (!copy || oq_grow(&nm->owned, &nm->cap, nm->n + 1, sizeof *nm->owned)) {
        free(copy);
        return -1;
    }
    nm->owned[nm->n++] = copy;
    return oq_strmap_put(&nm->set, copy, 0);
}

static int names_collect(oq_opt_names *nm, const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_input; i++)
        if (names_add(nm, g->input[i]->name))
            return -1;
    for (size_t i = 0; i < g->n_output; i++)
        if (names_add(nm, g->output[i]->name))
            return -1;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (names_add(nm, g->initializer[i]->name))
            return -1;
    for (size_t n = 0; n < g->n_node; n++) {
        const Onnx__NodeProto *node = g->node[n];
        if (names_add(nm, node->name))
            return -1;
        for (size_t i = 0; i < node->n_input; i++)
            if (names_add(nm, node->input[i]))
                return -1;
        for (size_t i = 0; i < node->n_output; i++)
            if (names_add(nm, node->output[i]))
                return -1;
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *at = node->attribute[a];
            if (at->g && names_collect(nm, at->g))
                return -1;
            for (size_t k = 0; k < at->n_graphs; k++)
                if (names_collect(nm, at->graphs[k]))
                    return -1;
        }
    }
    return 0;
}

int oq_opt_names_init(oq_opt_names *nm, const Onnx__GraphProto *main_graph)
{
    memset(nm, 0, sizeof *nm);
    return names_collect(nm, main_graph);
}

char *oq_opt_names_make(oq_opt_names *nm, const char *prefix)
{
    size_t len = strlen(prefix) + 24;
    char *name = malloc(len);
    if (!name)
        return NULL;
    snprintf(name, len, "%s", prefix);
    for (size_t k = 1; oq_strmap_get(&nm->set, name, NULL); k++)
        snprintf(name, len, "%s_%zu", prefix, k);
    if (names_add(nm, name)) {
        free(name);
        return NULL;
    }
    return name;
}

void oq_opt_names_clear(oq_opt_names *nm)
{
    oq_strmap_clear(&nm->set);
    for (size_t i = 0; i < nm->n; i++)
        free(nm->owned[i]);
    free(nm->owned);
    memset(nm, 0, sizeof *nm);
}
