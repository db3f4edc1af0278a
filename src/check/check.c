/*
 * check.c — the structural checks behind `onnxq check` (see onnxq/check.h).
 *
 * The checks run over the graph view (onnxq/graph.h), so outer-scope names
 * of If/Loop/Scan bodies resolve the way the runtime will resolve them.  A
 * name defined twice stops the structural checks of the model (the view
 * cannot be built); data and opset checks still run.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/check.h"
#include "onnxq/graph.h"
#include "onnxq/ops.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "strmap.h"

void onnxq_check_options_init(onnxq_check_options *opts)
{
    opts->check_runtime = 1;
}

void onnxq_check_report_clear(onnxq_check_report *r)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        free(r->findings[i].graph);
        free(r->findings[i].node);
        free(r->findings[i].message);
    }
    free(r->findings);
    memset(r, 0, sizeof *r);
}

typedef struct checker {
    onnxq_model *model;
    onnxq_check_report *report;
    const onnxq_check_options *opts;
    int oom;
    /* unsupported ops, grouped: key "domain\0op" -> index in ops */
    struct unsupported {
        char *domain, *op_type;
        int64_t opset;
        char *nodes;   /* first few node labels, comma-separated */
        size_t count;
    } *unsupported;
    size_t n_unsupported, cap_unsupported;
} checker;

static void add(checker *c, const char *kind, const char *graph,
                const char *node, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(checker *c, const char *kind, const char *graph,
                const char *node, const char *fmt, ...)
{
    onnxq_check_report *r = c->report;
    if (oq_grow(&r->findings, &r->cap, r->n_findings + 1,
                sizeof *r->findings)) {
        c->oom = 1;
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    onnxq_finding *f = &r->findings[r->n_findings];
    f->kind = kind;
    f->graph = oq_strdup(graph ? graph : "");
    f->node = node ? oq_strdup(node) : NULL;
    f->message = oq_strdup(msg);
    if (!f->graph || (node && !f->node) || !f->message) {
        free(f->graph);
        free(f->node);
        free(f->message);
        c->oom = 1;
        return;
    }
    r->n_findings++;
}

static const char *op_name(const Onnx__NodeProto *n)
{
    return n->op_type && n->op_type[0] ? n->op_type : "<no op_type>";
}

/* ---- opsets and data (on the proto, graph view not needed) --------------- */

static void check_tensor(checker *c, const char *graph, const char *node,
                         const Onnx__TensorProto *t)
{
    onnxq_error err;
    if (onnxq_tensor_check_data(c->model, t, &err) != ONNXQ_OK)
        add(c, "tensor-data", graph, node, "%s", err.message);
}

static void record_unsupported(checker *c, const Onnx__NodeProto *n,
                               const char *label, int64_t opset)
{
    const char *domain = n->domain ? n->domain : "";
    struct unsupported *u = NULL;
    for (size_t i = 0; i < c->n_unsupported; i++)
        if (strcmp(c->unsupported[i].domain, domain) == 0 &&
            strcmp(c->unsupported[i].op_type, op_name(n)) == 0)
            u = &c->unsupported[i];
    if (!u) {
        if (oq_grow(&c->unsupported, &c->cap_unsupported,
                    c->n_unsupported + 1, sizeof *c->unsupported)) {
            c->oom = 1;
            return;
        }
        u = &c->unsupported[c->n_unsupported++];
        memset(u, 0, sizeof *u);
        u->domain = oq_strdup(domain);
        u->op_type = oq_strdup(op_name(n));
        u->opset = opset;
        u->nodes = oq_strdup("");
        if (!u->domain || !u->op_type || !u->nodes) {
            c->oom = 1;
            return;
        }
    }
    u->count++;
    enum { SHOWN = 5 };
    if (u->count <= SHOWN) {
        size_t len = strlen(u->nodes) + strlen(label) + 3;
        char *s = realloc(u->nodes, len);
        if (!s) {
            c->oom = 1;
            return;
        }
        if (s[0])
            strcat(s, ", ");
        strcat(s, label);
        u->nodes = s;
    }
}

static void check_graph_proto(checker *c, const Onnx__GraphProto *g,
                              const char *path)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        check_tensor(c, path, NULL, g->initializer[i]);
    for (size_t n = 0; n < g->n_node; n++) {
        const Onnx__NodeProto *node = g->node[n];
        char label[64];
        if (node->name && node->name[0])
            snprintf(label, sizeof label, "%s", node->name);
        else
            snprintf(label, sizeof label, "#%zu", n);
        const char *domain = node->domain ? node->domain : "";
        int64_t opset = onnxq_model_opset(c->model, domain);
        if (!node->op_type || !node->op_type[0])
            add(c, "opset", path, label, "node %s has no op_type", label);
        else if (opset == 0)
            add(c, "opset", path, label,
                "node %s (%s) is in domain '%s', which the model does not "
                "import (no opset_import entry)", label, op_name(node),
                domain[0] ? domain : "ai.onnx");
        else if (c->opts->check_runtime &&
                 !onnxq_op_supported(domain, node->op_type, opset))
            record_unsupported(c, node, label, opset);
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *attr = node->attribute[a];
            if (attr->t)
                check_tensor(c, path, label, attr->t);
            for (size_t k = 0; k < attr->n_tensors; k++)
                check_tensor(c, path, label, attr->tensors[k]);
            size_t n_sub = (attr->g ? 1 : 0) + attr->n_graphs;
            for (size_t k = 0; k < n_sub; k++) {
                const Onnx__GraphProto *sub =
                    attr->g && k == 0 ? attr->g
                                      : attr->graphs[k - (attr->g ? 1 : 0)];
                size_t len = strlen(path) + strlen(label) +
                             strlen(attr->name ? attr->name : "?") + 32;
                char *sub_path = malloc(len);
                if (!sub_path) {
                    c->oom = 1;
                    return;
                }
                if (n_sub > 1)
                    snprintf(sub_path, len, "%s/%s:%s[%zu]", path, label,
                             attr->name ? attr->name : "?", k);
                else
                    snprintf(sub_path, len, "%s/%s:%s", path, label,
                             attr->name ? attr->name : "?");
                check_graph_proto(c, sub, sub_path);
                free(sub_path);
            }
        }
    }
}

/* ---- names and order (on the graph view) --------------------------------- */

static void check_graph_view(checker *c, const onnxq_graph *g)
{
    const char *path = onnxq_graph_path(g);
    const Onnx__GraphProto *p = onnxq_graph_proto(g);
    for (size_t i = 0; i < onnxq_graph_value_count(g); i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        if (v->kind != ONNXQ_VALUE_UNDEFINED)
            continue;
        for (size_t u = 0; u < v->n_uses; u++) {
            size_t n = v->uses[u].node;
            const char *label = onnxq_graph_node_label(g, n);
            add(c, "dangling-input", path, label,
                "node %s (%s) reads '%s', which no node, graph input, "
                "initializer or outer scope defines", label,
                op_name(p->node[n]), v->name);
        }
        if (v->is_graph_output)
            add(c, "dangling-output", path, NULL,
                "graph output '%s' is not produced by anything", v->name);
    }
    size_t bad;
    if (!onnxq_graph_is_sorted(g, &bad)) {
        /* find what the first misplaced node reads too early */
        const Onnx__NodeProto *node = p->node[bad];
        const char *early = "?";
        const char *producer = "?";
        for (size_t i = 0; i < node->n_input; i++) {
            const onnxq_value *v = node->input[i] && node->input[i][0]
                                       ? onnxq_graph_value(g, node->input[i])
                                       : NULL;
            if (v && v->kind == ONNXQ_VALUE_NODE_OUTPUT && v->producer >= bad) {
                early = v->name;
                producer = p->node[v->producer]->name &&
                                   p->node[v->producer]->name[0]
                               ? p->node[v->producer]->name
                               : "a later node";
                break;
            }
        }
        char label[64];
        snprintf(label, sizeof label, "%s", onnxq_graph_node_label(g, bad));
        add(c, "unsorted", path, label,
            "graph is not topologically sorted: node %s (%s) reads '%s' "
            "before %s produces it", label, op_name(node), early, producer);
    }
    for (size_t n = 0; n < onnxq_graph_node_count(g); n++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, n); k++)
            check_graph_view(c, onnxq_graph_subgraph(g, n, k, NULL));
}

onnxq_status onnxq_check_model(onnxq_model *model,
                               const onnxq_check_options *opts_in,
                               onnxq_check_report *report, onnxq_error *err)
{
    onnxq_check_options opts;
    if (opts_in)
        opts = *opts_in;
    else
        onnxq_check_options_init(&opts);
    checker c = {model, report, &opts, 0, NULL, 0, 0};
    const Onnx__ModelProto *m = onnxq_model_proto(model);

    if (m->n_opset_import == 0)
        add(&c, "opset", "main", NULL, "model imports no opset "
            "(opset_import is empty)");
    check_graph_proto(&c, m->graph, "main");

    onnxq_graph *g = NULL;
    onnxq_error gerr;
    onnxq_status st = onnxq_graph_create(model, &g, &gerr);
    if (st == ONNXQ_OK)
        check_graph_view(&c, g);
    else if (st == ONNXQ_ERR_OUT_OF_MEMORY)
        c.oom = 1;
    else
        add(&c, "duplicate-name", "main", NULL, "%s", gerr.message);
    onnxq_graph_destroy(g);

    for (size_t i = 0; i < c.n_unsupported; i++) {
        struct unsupported *u = &c.unsupported[i];
        add(&c, "unsupported-op", "", NULL,
            "onnxq cannot run %s%s%s (opset %lld): %zu node%s: %s%s",
            u->domain[0] ? u->domain : "", u->domain[0] ? "." : "",
            u->op_type, (long long)u->opset, u->count,
            u->count == 1 ? "" : "s", u->nodes, u->count > 5 ? ", ..." : "");
        free(u->domain);
        free(u->op_type);
        free(u->nodes);
    }
    free(c.unsupported);
    if (c.oom)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "out of memory while checking");
    return ONNXQ_OK;
}
