/*
 * infer.c — the inference driver (see onnxq/infer.h).
 *
 * One pass per graph in dependency order (onnxq_graph_topo_order; file order
 * if the graph has a cycle, which the checker reports):
 *   1. every value starts unknown; initializers get their tensor's type and,
 *      when small, contents; graph inputs their declared type (for a
 *      subgraph, merged with what the holding node passes in);
 *   2. each node's rule (the family tables, found by domain, op and opset)
 *      reads its inputs' types — outer-scope names resolve through the
 *      chain of graph states — and fills its outputs; a node with no rule
 *      leaves its outputs unknown and is reported once per op;
 *   3. a graph output produced here is checked against its declaration.
 * If/Loop/Scan rules infer their bodies through oq_infer_subgraph, maybe
 * more than once (loop-carried shapes are iterated to a fixpoint); the last
 * inference of each graph is its final state.  Only when everything is done
 * are the final states written into the protos' value_info, so the graph
 * view, whose pointers reach into value_info, stays valid while it is used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

enum { MAX_DEPTH = 32, MAX_CONFLICTS = 64 };

/* ---- options and report -------------------------------------------------- */

void onnxq_infer_options_init(onnxq_infer_options *o)
{
    memset(o, 0, sizeof *o);
    o->write_value_info = 1;
    o->fill_missing_io = 1;
    o->symbolic = 1;
}

void onnxq_infer_report_init(onnxq_infer_report *r) { memset(r, 0, sizeof *r); }

void onnxq_infer_report_clear(onnxq_infer_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_unknown_ops; i++) {
        free(r->unknown_ops[i].domain);
        free(r->unknown_ops[i].op_type);
        free(r->unknown_ops[i].first_node);
    }
    free(r->unknown_ops);
    for (size_t i = 0; i < r->n_conflicts; i++)
        free(r->conflicts[i]);
    free(r->conflicts);
    onnxq_infer_report_init(r);
}

/* ---- graph states -------------------------------------------------------- */

struct oq_gstate {
    const onnxq_graph *g;
    oq_gstate *outer;
    oq_ty *types;  /* [value count of g] */
    size_t n;
};

static oq_gstate *gstate_new(const onnxq_graph *g, oq_gstate *outer)
{
    oq_gstate *gs = calloc(1, sizeof *gs);
    if (!gs)
        return NULL;
    gs->g = g;
    gs->outer = outer;
    gs->n = onnxq_graph_value_count(g);
    gs->types = malloc((gs->n ? gs->n : 1) * sizeof *gs->types);
    if (!gs->types) {
        free(gs);
        return NULL;
    }
    for (size_t i = 0; i < gs->n; i++)
        oq_ty_init(&gs->types[i]);
    return gs;
}

static void gstate_free(oq_gstate *gs)
{
    if (!gs)
        return;
    for (size_t i = 0; i < gs->n; i++)
        oq_ty_clear(&gs->types[i]);
    free(gs->types);
    free(gs);
}

static size_t value_index(const onnxq_graph *g, const onnxq_value *v)
{
    return (size_t)(v - onnxq_graph_value_at(g, 0));
}

static const oq_ty unknown_ty = {0, -1, {{0}}, -1, NULL, NULL};

/* The type of name as seen from gs (outer scopes included). */
static const oq_ty *lookup(const oq_gstate *gs, const char *name)
{
    const onnxq_graph *owner;
    const onnxq_value *v = onnxq_graph_resolve(gs->g, name, &owner);
    if (!v)
        return &unknown_ty;
    for (const oq_gstate *s = gs; s; s = s->outer)
        if (s->g == owner)
            return &s->types[value_index(owner, v)];
    return &unknown_ty;
}

/* Keeps gs as the final state of its graph (replacing an earlier one). */
static int set_final(oq_inf *inf, oq_gstate *gs)
{
    for (size_t i = 0; i < inf->n_finals; i++)
        if (inf->finals[i].g == gs->g) {
            gstate_free(inf->finals[i].gs);
            inf->finals[i].gs = gs;
            return 0;
        }
    if (oq_grow(&inf->finals, &inf->cap_finals, inf->n_finals + 1,
                sizeof *inf->finals))
        return -1;
    inf->finals[inf->n_finals++] = (oq_final){gs->g, gs};
    return 0;
}

/* ---- rules --------------------------------------------------------------- */

static const oq_infer_rule *const rule_tables[] = {
    oq_infer_elementwise_rules, oq_infer_shape_rules, oq_infer_nn_rules,
    oq_infer_norm_rules,        oq_infer_misc_rules,  oq_infer_quant_rules,
    oq_infer_control_rules,     NULL,
};

static const char *norm_domain(const char *d)
{
    return !d || strcmp(d, "ai.onnx") == 0 ? "" : d;
}

static const oq_infer_rule *find_rule(const char *domain, const char *op,
                                      int64_t opset)
{
    if (!op)
        return NULL;
    domain = norm_domain(domain);
    for (size_t t = 0; rule_tables[t]; t++)
        for (const oq_infer_rule *r = rule_tables[t]; r->op_type; r++)
            if (strcmp(r->op_type, op) == 0 &&
                strcmp(norm_domain(r->domain), domain) == 0 &&
                opset >= r->first_opset && opset <= r->last_opset)
                return r;
    return NULL;
}

int onnxq_infer_op_supported(const char *domain, const char *op_type,
                             int64_t opset_version)
{
    return find_rule(domain, op_type, opset_version) != NULL;
}

const onnxq_graph *oq_ictx_graph(const oq_ictx *c) { return c->gs->g; }

/* ---- report helpers ------------------------------------------------------ */

static void add_conflict(oq_inf *inf, const char *msg)
{
    onnxq_infer_report *r = inf->rep;
    for (size_t i = 0; i < r->n_conflicts; i++)
        if (strcmp(r->conflicts[i], msg) == 0)
            return; /* a loop body inferred twice says it twice */
    r->n_conflicts_total++;
    if (r->n_conflicts >= MAX_CONFLICTS)
        return;
    char **grown = realloc(r->conflicts, (r->n_conflicts + 1) * sizeof *grown);
    char *copy = oq_strdup(msg);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            r->conflicts = grown;
        oq_inf_oom(inf);
        return;
    }
    r->conflicts = grown;
    r->conflicts[r->n_conflicts++] = copy;
}

void oq_conflict(oq_ictx *c, const char *fmt, ...)
{
    char msg[768], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "graph %s: node %s (%s): %s",
             onnxq_graph_path(c->gs->g),
             onnxq_graph_node_label(c->gs->g, c->node_index),
             c->node->op_type ? c->node->op_type : "?", msg);
    add_conflict(c->inf, line);
}

static void note_unknown_op(oq_inf *inf, const oq_gstate *gs, size_t n,
                            const Onnx__NodeProto *node, int64_t opset)
{
    for (size_t i = 0; i < inf->n_unknown_nodes; i++)
        if (inf->unknown_nodes[i] == node)
            return;
    if (oq_grow(&inf->unknown_nodes, &inf->cap_unknown_nodes,
                inf->n_unknown_nodes + 1, sizeof *inf->unknown_nodes)) {
        oq_inf_oom(inf);
        return;
    }
    inf->unknown_nodes[inf->n_unknown_nodes++] = node;
    onnxq_infer_report *r = inf->rep;
    const char *domain = norm_domain(node->domain);
    const char *op = node->op_type ? node->op_type : "";
    for (size_t i = 0; i < r->n_unknown_ops; i++)
        if (strcmp(r->unknown_ops[i].op_type, op) == 0 &&
            strcmp(r->unknown_ops[i].domain, domain) == 0) {
            r->unknown_ops[i].n_nodes++;
            return;
        }
    onnxq_infer_unknown_op *grown =
        realloc(r->unknown_ops, (r->n_unknown_ops + 1) * sizeof *grown);
    if (!grown) {
        oq_inf_oom(inf);
        return;
    }
    r->unknown_ops = grown;
    char where[1024];
    snprintf(where, sizeof where, "%s: %s", onnxq_graph_path(gs->g),
             onnxq_graph_node_label(gs->g, n));
    onnxq_infer_unknown_op *u = &r->unknown_ops[r->n_unknown_ops];
    u->domain = oq_strdup(domain);
    u->op_type = oq_strdup(op);
    u->first_node = oq_strdup(where);
    u->opset = opset;
    u->n_nodes = 1;
    r->n_unknown_ops++;
    if (!u->domain || !u->op_type || !u->first_node)
        oq_inf_oom(inf);
}

/* ---- attributes ---------------------------------------------------------- */

const Onnx__AttributeProto *oq_attr_get(const oq_ictx *c, const char *name)
{
    for (size_t i = 0; i < c->node->n_attribute; i++) {
        const Onnx__AttributeProto *a = c->node->attribute[i];
        if (a->name && strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

int64_t oq_attr_i(const oq_ictx *c, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = oq_attr_get(c, name);
    return a ? a->i : dflt;
}

float oq_attr_f(const oq_ictx *c, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = oq_attr_get(c, name);
    return a ? a->f : dflt;
}

long oq_attr_is(const oq_ictx *c, const char *name, const int64_t **v)
{
    const Onnx__AttributeProto *a = oq_attr_get(c, name);
    if (!a)
        return -1;
    *v = a->ints;
    return (long)a->n_ints;
}

long oq_attr_fs(const oq_ictx *c, const char *name, const float **v)
{
    const Onnx__AttributeProto *a = oq_attr_get(c, name);
    if (!a)
        return -1;
    *v = a->floats;
    return (long)a->n_floats;
}

const char *oq_attr_s(const oq_ictx *c, const char *name, const char *dflt,
                      char *buf, size_t size)
{
    const Onnx__AttributeProto *a = oq_attr_get(c, name);
    if (!a || !a->s.data)
        return dflt;
    size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
    memcpy(buf, a->s.data, n);
    buf[n] = '\0';
    return buf;
}

/* ---- inputs' contents ---------------------------------------------------- */

int oq_in_dims(const oq_ictx *c, size_t i, oq_dim *v, int max)
{
    const oq_ty *t = oq_input(c, i);
    if (!t || t->n_val < 0 || !t->ival || t->n_val > max)
        return -1;
    memcpy(v, t->ival, (size_t)t->n_val * sizeof *v);
    return t->n_val;
}

int oq_in_ints(const oq_ictx *c, size_t i, int64_t *v, int max)
{
    const oq_ty *t = oq_input(c, i);
    if (!t || t->n_val < 0 || !t->ival || t->n_val > max)
        return -1;
    for (int k = 0; k < t->n_val; k++) {
        if (t->ival[k].kind != OQ_DIM_VALUE)
            return -1;
        v[k] = t->ival[k].v;
    }
    return t->n_val;
}

int oq_in_floats(const oq_ictx *c, size_t i, double *v, int max)
{
    const oq_ty *t = oq_input(c, i);
    if (!t || t->n_val < 0 || t->n_val > max)
        return -1;
    if (t->fval) {
        memcpy(v, t->fval, (size_t)t->n_val * sizeof *v);
        return t->n_val;
    }
    for (int k = 0; k < t->n_val; k++) {
        if (t->ival[k].kind != OQ_DIM_VALUE)
            return -1;
        v[k] = (double)t->ival[k].v;
    }
    return t->n_val;
}

int64_t oq_in_len(const oq_ictx *c, size_t i)
{
    const oq_ty *t = oq_input(c, i);
    if (!t)
        return -1;
    if (t->rank == 0)
        return 1;
    if (t->rank == 1 && t->dims[0].kind == OQ_DIM_VALUE)
        return t->dims[0].v;
    return -1;
}

/* ---- helpers for rules --------------------------------------------------- */

int oq_norm_axis(int64_t a, int rank)
{
    if (a < 0)
        a += rank;
    return a >= 0 && a < rank ? (int)a : -1;
}

void oq_same_shape(oq_ty *out, const oq_ty *in)
{
    if (!out || !in)
        return;
    out->elem = in->elem;
    oq_ty_copy_shape(out, in);
}

int32_t oq_first_elem(const oq_ictx *c, const size_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const oq_ty *t = oq_input(c, idx[i]);
        if (t && t->elem)
            return t->elem;
    }
    return 0;
}

void oq_broadcast(oq_ictx *c, const oq_ty *const *t, size_t n, int *rank,
                  oq_dim *dims)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i])
            continue;
        if (t[i]->rank < 0) {
            *rank = -1;
            return;
        }
        if (t[i]->rank > r)
            r = t[i]->rank;
    }
    *rank = r;
    for (int k = 0; k < r; k++) {
        /* dim k from the right of every input that has it */
        const oq_dim *known = NULL, *sym = NULL, *big = NULL, *only = NULL;
        int n_have = 0, n_unknown = 0, n_sym_diff = 0, n_ones = 0, bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (!t[i] || t[i]->rank <= k)
                continue;
            const oq_dim *d = &t[i]->dims[t[i]->rank - 1 - k];
            n_have++;
            only = d;
            if (d->kind == OQ_DIM_VALUE) {
                if (d->v == 1)
                    n_ones++;
                else if (known && known->v != d->v && !bad) {
                    oq_conflict(c, "dims %lld and %lld do not broadcast",
                                (long long)known->v, (long long)d->v);
                    bad = 1;
                } else
                    known = d;
            } else if (d->kind == OQ_DIM_SYM) {
                if (sym && !oq_dim_same(sym, d))
                    n_sym_diff++;
                sym = d;
                if (!big && oq_dim_never_one(d))
                    big = d;
            } else {
                n_unknown++;
            }
        }
        /* in a run that works every dim other than 1 is the same: a dim
         * that cannot be 1 is the result */
        oq_dim res = oq_dunk();
        if (bad)
            res = oq_dunk();
        else if (n_have == 1)
            res = *only;
        else if (known)
            res = *known;
        else if (big)
            res = *big;
        else if (sym && !n_sym_diff && !n_unknown)
            res = *sym; /* the others are the same name or 1 */
        else if (!sym && !n_unknown && n_ones)
            res = oq_dval(1);
        dims[r - 1 - k] = res;
    }
}

/* ---- one graph ----------------------------------------------------------- */

static onnxq_status infer_graph(oq_inf *inf, const onnxq_graph *g,
                                oq_gstate *outer, const oq_ty *const *in_types,
                                size_t n_in_types, oq_ty **out_types,
                                size_t *n_out);

/* Refines t with the declaration d (d fills what t does not know); a
 * contradiction is reported with what. */
static void refine_declared(oq_inf *inf, oq_ty *t, const oq_ty *d,
                            const char *graph, const char *kind,
                            const char *name)
{
    char msg[1024];
    if (d->elem && t->elem && d->elem != t->elem) {
        snprintf(msg, sizeof msg,
                 "graph %s: %s '%s' is declared %s but inferred %s", graph,
                 kind, name, onnxq_dtype_name(d->elem),
                 onnxq_dtype_name(t->elem));
        add_conflict(inf, msg);
    } else if (d->elem && !t->elem) {
        t->elem = d->elem;
    }
    if (d->rank < 0)
        return;
    if (t->rank < 0) {
        oq_ty_copy_shape(t, d);
        return;
    }
    if (t->rank != d->rank) {
        snprintf(msg, sizeof msg,
                 "graph %s: %s '%s' is declared with rank %d but inferred "
                 "rank %d", graph, kind, name, d->rank, t->rank);
        add_conflict(inf, msg);
        return;
    }
    for (int i = 0; i < t->rank; i++) {
        if (oq_dim_differ(&t->dims[i], &d->dims[i])) {
            snprintf(msg, sizeof msg,
                     "graph %s: %s '%s' dim %d is declared %lld but inferred "
                     "%lld", graph, kind, name, i, (long long)d->dims[i].v,
                     (long long)t->dims[i].v);
            add_conflict(inf, msg);
        } else if (t->dims[i].kind == OQ_DIM_UNKNOWN) {
            t->dims[i] = d->dims[i];
        }
    }
}

static int is_declared_input(const Onnx__GraphProto *p, const char *name,
                             size_t *k)
{
    for (size_t i = 0; i < p->n_input; i++)
        if (p->input[i]->name && strcmp(p->input[i]->name, name) == 0) {
            if (k)
                *k = i;
            return 1;
        }
    return 0;
}

static onnxq_status init_values(oq_inf *inf, oq_gstate *gs,
                                const oq_ty *const *in_types, size_t n_in)
{
    const onnxq_graph *g = gs->g;
    Onnx__GraphProto *p = onnxq_graph_proto(g);
    onnxq_status st = ONNXQ_OK;
    for (size_t i = 0; i < gs->n && st == ONNXQ_OK; i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        oq_ty *t = &gs->types[i];
        size_t k;
        if (v->kind == ONNXQ_VALUE_INITIALIZER) {
            /* an initializer that is also an input is a default the user may
             * override: its declared type holds, its contents do not */
            if (is_declared_input(p, v->name, &k)) {
                st = oq_ty_from_value_info(inf, p->input[k], t);
                if (st == ONNXQ_OK && !t->elem && t->rank < 0)
                    st = oq_ty_from_tensor(inf, v->initializer, 0, t);
            } else {
                st = oq_ty_from_tensor(inf, v->initializer, 1, t);
            }
        } else if (v->kind == ONNXQ_VALUE_GRAPH_INPUT &&
                   is_declared_input(p, v->name, &k)) {
            st = oq_ty_from_value_info(inf, p->input[k], t);
            if (st == ONNXQ_OK && in_types && k < n_in && in_types[k]) {
                oq_ty given;
                oq_ty_init(&given);
                if (oq_ty_copy(&given, in_types[k]))
                    return oq_inf_oom(inf);
                refine_declared(inf, &given, t, onnxq_graph_path(g), "input",
                                v->name);
                oq_ty_clear(t);
                *t = given;
            }
        }
    }
    return st;
}

/* Drops contents that do not fit the shape and, without symbolic dims,
 * turns symbolic dims into unknown ones. */
static void sanitize(oq_inf *inf, oq_ty *t)
{
    if (t->rank > OQ_INF_MAX_RANK)
        t->rank = -1;
    if (!inf->opts.symbolic) {
        for (int i = 0; i < t->rank; i++)
            if (t->dims[i].kind == OQ_DIM_SYM)
                t->dims[i] = oq_dunk();
        for (int i = 0; t->ival && i < t->n_val; i++)
            if (t->ival[i].kind == OQ_DIM_SYM)
                t->ival[i] = oq_dunk();
    }
    if (t->n_val >= 0 &&
        (oq_ty_numel(t) != t->n_val || (!t->ival && !t->fval) ||
         (t->ival && !oq_elem_is_int(t->elem)) ||
         (t->fval && !oq_elem_is_float(t->elem))))
        oq_ty_drop_vals(t);
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i].kind == OQ_DIM_VALUE && t->dims[i].v < 0) {
            t->dims[i] = oq_dunk(); /* a rule's arithmetic on a bad model */
        }
}

static onnxq_status infer_node(oq_inf *inf, oq_gstate *gs, size_t n)
{
    const onnxq_graph *g = gs->g;
    const Onnx__NodeProto *node = onnxq_graph_node(g, n);
    const char *domain = norm_domain(node->domain);
    int64_t opset = onnxq_model_opset(inf->model, domain);
    const oq_ty **ins = calloc(node->n_input + 1, sizeof *ins);
    oq_ty *outs = malloc((node->n_output + 1) * sizeof *outs);
    if (!ins || !outs) {
        free(ins);
        free(outs);
        return oq_inf_oom(inf);
    }
    for (size_t i = 0; i < node->n_input; i++)
        ins[i] = node->input[i] && node->input[i][0]
                     ? lookup(gs, node->input[i]) : NULL;
    for (size_t o = 0; o < node->n_output; o++)
        oq_ty_init(&outs[o]);
    oq_ictx c = {inf, gs, node, n, opset, ins, node->n_input, outs,
                 node->n_output};
    const oq_infer_rule *r = find_rule(domain, node->op_type, opset);
    onnxq_status st = ONNXQ_OK;
    if (r) {
        st = r->fn(&c);
    } else {
        note_unknown_op(inf, gs, n, node, opset);
        for (size_t o = 0; inf->opts.trust_value_info && o < node->n_output;
             o++) {
            const onnxq_value *v = node->output[o] && node->output[o][0]
                                       ? onnxq_graph_value(g, node->output[o])
                                       : NULL;
            if (v && v->info && !v->is_graph_output &&
                (st = oq_ty_from_value_info(inf, v->info, &outs[o])) != ONNXQ_OK)
                break;
        }
    }
    if (st == ONNXQ_OK && inf->st != ONNXQ_OK)
        st = inf->st;
    for (size_t o = 0; o < node->n_output; o++) {
        const onnxq_value *v = node->output[o] && node->output[o][0]
                                   ? onnxq_graph_value(g, node->output[o])
                                   : NULL;
        if (st != ONNXQ_OK || !v || v->kind != ONNXQ_VALUE_NODE_OUTPUT ||
            v->producer != n) {
            oq_ty_clear(&outs[o]);
            continue;
        }
        sanitize(inf, &outs[o]);
        oq_ty *slot = &gs->types[value_index(g, v)];
        oq_ty_clear(slot);
        *slot = outs[o]; /* moves the contents */
        if (v->is_graph_output && v->info) {
            oq_ty decl;
            oq_ty_init(&decl);
            st = oq_ty_from_value_info(inf, v->info, &decl);
            if (st == ONNXQ_OK)
                refine_declared(inf, slot, &decl, onnxq_graph_path(g),
                                "output", v->name);
            oq_ty_clear(&decl);
        }
    }
    free(ins);
    free(outs);
    return st;
}

static onnxq_status infer_graph(oq_inf *inf, const onnxq_graph *g,
                                oq_gstate *outer, const oq_ty *const *in_types,
                                size_t n_in_types, oq_ty **out_types,
                                size_t *n_out)
{
    if (inf->depth >= MAX_DEPTH)
        return ONNXQ_OK; /* the loader caps nesting far below this anyway */
    oq_gstate *gs = gstate_new(g, outer);
    size_t nn = onnxq_graph_node_count(g);
    size_t *order = malloc((nn ? nn : 1) * sizeof *order);
    if (!gs || !order) {
        gstate_free(gs);
        free(order);
        return oq_inf_oom(inf);
    }
    onnxq_status st = init_values(inf, gs, in_types, n_in_types);
    if (st == ONNXQ_OK &&
        onnxq_graph_topo_order(g, order, NULL) != ONNXQ_OK) {
        for (size_t i = 0; i < nn; i++)
            order[i] = i;
    }
    inf->depth++;
    for (size_t i = 0; i < nn && st == ONNXQ_OK; i++)
        st = infer_node(inf, gs, order[i]);
    inf->depth--;
    free(order);
    Onnx__GraphProto *p = onnxq_graph_proto(g);
    if (st == ONNXQ_OK && out_types) {
        *n_out = p->n_output;
        *out_types = malloc((p->n_output + 1) * sizeof **out_types);
        if (!*out_types)
            st = oq_inf_oom(inf);
        for (size_t i = 0; st == ONNXQ_OK && i < p->n_output; i++) {
            oq_ty_init(&(*out_types)[i]);
            const char *name = p->output[i]->name;
            if (name && name[0] &&
                oq_ty_copy(&(*out_types)[i], lookup(gs, name)))
                st = oq_inf_oom(inf);
        }
        if (st != ONNXQ_OK && *out_types) {
            for (size_t i = 0; i < p->n_output; i++)
                oq_ty_clear(&(*out_types)[i]);
            free(*out_types);
            *out_types = NULL;
            *n_out = 0;
        }
    }
    if (st == ONNXQ_OK) {
        gs->outer = NULL; /* the outer state may be replaced later */
        if (set_final(inf, gs))
            st = oq_inf_oom(inf);
        else
            gs = NULL;
    }
    gstate_free(gs);
    return st;
}

onnxq_status oq_infer_subgraph(oq_ictx *c, const char *attr,
                               const oq_ty *const *in_types, size_t n_in,
                               oq_ty **out_types, size_t *n_out)
{
    *out_types = NULL;
    *n_out = 0;
    size_t ns = onnxq_graph_subgraph_count(c->gs->g, c->node_index);
    for (size_t k = 0; k < ns; k++) {
        const char *name;
        const onnxq_graph *sub =
            onnxq_graph_subgraph(c->gs->g, c->node_index, k, &name);
        if (sub && name && strcmp(name, attr) == 0) {
            return infer_graph(c->inf, sub, c->gs, in_types, n_in, out_types,
                               n_out);
        }
    }
    return ONNXQ_OK;
}

/* ---- writing ------------------------------------------------------------- */

static Onnx__TypeProto *make_type(const oq_inf *inf, const oq_ty *t)
{
    Onnx__TypeProto *tp = malloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = malloc(sizeof *tt);
    if (!tp || !tt) {
        free(tp);
        free(tt);
        return NULL;
    }
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = t->elem;
    if (t->rank < 0)
        return tp;
    Onnx__TensorShapeProto *sh = malloc(sizeof *sh);
    if (!sh)
        goto fail;
    onnx__tensor_shape_proto__init(sh);
    tt->shape = sh;
    sh->dim = calloc((size_t)t->rank + 1, sizeof *sh->dim);
    if (!sh->dim)
        goto fail;
    for (int i = 0; i < t->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = malloc(sizeof *d);
        if (!d)
            goto fail;
        onnx__tensor_shape_proto__dimension__init(d);
        sh->dim[sh->n_dim++] = d;
        if (t->dims[i].kind == OQ_DIM_VALUE) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = t->dims[i].v;
        } else if (t->dims[i].kind == OQ_DIM_SYM) {
            char buf[700];
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = oq_strdup(oq_dim_format(inf, &t->dims[i], buf,
                                                   sizeof buf));
            if (!d->dim_param)
                goto fail;
        }
    }
    return tp;
fail:
    onnx__type_proto__free_unpacked(tp, NULL);
    return NULL;
}

static Onnx__ValueInfoProto *make_value_info(const oq_inf *inf,
                                             const char *name, const oq_ty *t)
{
    Onnx__ValueInfoProto *vi = malloc(sizeof *vi);
    if (!vi)
        return NULL;
    onnx__value_info_proto__init(vi);
    vi->name = oq_strdup(name);
    vi->type = make_type(inf, t);
    if (!vi->name || !vi->type) {
        onnx__value_info_proto__free_unpacked(vi, NULL);
        return NULL;
    }
    return vi;
}

/* Fills what a graph input/output declaration leaves out: no type, no
 * element type, or no shape.  Declared parts stay as they are. */
static int fill_io(const oq_inf *inf, Onnx__ValueInfoProto *vi, const oq_ty *t)
{
    if (!t->elem && t->rank < 0)
        return 0;
    Onnx__TypeProto *tp = vi->type;
    if (tp && tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
        tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET)
        return 0; /* a sequence or map: not ours to change */
    if (!tp || !tp->tensor_type) {
        if (!t->elem)
            return 0;
        Onnx__TypeProto *made = make_type(inf, t);
        if (!made)
            return -1;
        if (tp)
            onnx__type_proto__free_unpacked(tp, NULL);
        vi->type = made;
        return 0;
    }
    Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if ((!tt->has_elem_type || !tt->elem_type) && t->elem) {
        tt->has_elem_type = 1;
        tt->elem_type = t->elem;
    }
    if (!tt->shape && t->rank >= 0) {
        Onnx__TypeProto *made = make_type(inf, t);
        if (!made)
            return -1;
        tt->shape = made->tensor_type->shape;
        made->tensor_type->shape = NULL;
        onnx__type_proto__free_unpacked(made, NULL);
    }
    return 0;
}

static void count_value(onnxq_infer_report *r, const oq_ty *t)
{
    r->values++;
    r->typed += t->elem != 0;
    if (t->rank < 0)
        return;
    r->ranked++;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i].kind == OQ_DIM_VALUE)
            r->dims_known++;
        else if (t->dims[i].kind == OQ_DIM_SYM)
            r->dims_symbolic++;
        else
            r->dims_unknown++;
    }
}

static onnxq_status write_graph(oq_inf *inf, const oq_final *f)
{
    const onnxq_graph *g = f->g;
    const oq_gstate *gs = f->gs;
    Onnx__GraphProto *p = onnxq_graph_proto(g);
    onnxq_infer_report *r = inf->rep;
    r->graphs++;
    for (size_t i = 0; i < gs->n; i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        if (v->kind == ONNXQ_VALUE_NODE_OUTPUT)
            count_value(r, &gs->types[i]);
    }
    if (inf->opts.fill_missing_io) {
        for (size_t i = 0; i < p->n_input; i++)
            if (p->input[i]->name && p->input[i]->name[0] &&
                fill_io(inf, p->input[i], lookup(gs, p->input[i]->name)))
                return oq_inf_oom(inf);
        for (size_t i = 0; i < p->n_output; i++)
            if (p->output[i]->name && p->output[i]->name[0] &&
                fill_io(inf, p->output[i], lookup(gs, p->output[i]->name)))
                return oq_inf_oom(inf);
    }
    if (!inf->opts.write_value_info)
        return ONNXQ_OK;
    /* keep entries that are not about this graph's intermediate values
     * (initializers, outer names, graph outputs); replace the others */
    size_t n_new = 0;
    for (size_t i = 0; i < gs->n; i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        n_new += v->kind == ONNXQ_VALUE_NODE_OUTPUT && !v->is_graph_output &&
                 gs->types[i].elem != 0;
    }
    Onnx__ValueInfoProto **vis =
        malloc((p->n_value_info + n_new + 1) * sizeof *vis);
    if (!vis)
        return oq_inf_oom(inf);
    size_t kept = 0;
    for (size_t i = 0; i < p->n_value_info; i++) {
        Onnx__ValueInfoProto *vi = p->value_info[i];
        const onnxq_value *v = vi->name ? onnxq_graph_value(g, vi->name) : NULL;
        if (v && v->kind == ONNXQ_VALUE_NODE_OUTPUT && !v->is_graph_output)
            onnx__value_info_proto__free_unpacked(vi, NULL);
        else
            vis[kept++] = vi;
    }
    /* new entries in node order, so the file reads like the graph */
    for (size_t n = 0; n < p->n_node; n++) {
        const Onnx__NodeProto *node = p->node[n];
        for (size_t o = 0; o < node->n_output; o++) {
            if (!node->output[o] || !node->output[o][0])
                continue;
            const onnxq_value *v = onnxq_graph_value(g, node->output[o]);
            if (!v || v->kind != ONNXQ_VALUE_NODE_OUTPUT || v->producer != n ||
                v->is_graph_output)
                continue;
            const oq_ty *t = &gs->types[value_index(g, v)];
            if (!t->elem)
                continue;
            Onnx__ValueInfoProto *vi = make_value_info(inf, v->name, t);
            if (!vi) {
                /* keep what was made; the proto stays consistent */
                p->value_info = vis;
                p->n_value_info = kept;
                return oq_inf_oom(inf);
            }
            vis[kept++] = vi;
        }
    }
    free(p->value_info);
    p->value_info = vis;
    p->n_value_info = kept;
    return ONNXQ_OK;
}

/* ---- entry point --------------------------------------------------------- */

onnxq_status onnxq_infer_model(onnxq_model *model,
                               const onnxq_infer_options *opts,
                               onnxq_infer_report *report, onnxq_error *err)
{
    if (!model)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "onnxq_infer_model: no model");
    onnxq_infer_report local;
    onnxq_infer_report_init(&local);
    oq_inf inf;
    memset(&inf, 0, sizeof inf);
    inf.model = model;
    if (opts)
        inf.opts = *opts;
    else
        onnxq_infer_options_init(&inf.opts);
    inf.rep = report ? report : &local;
    onnxq_infer_report_clear(inf.rep);

    onnxq_graph *g = NULL;
    onnxq_status st = onnxq_graph_create(model, &g, err);
    if (st != ONNXQ_OK)
        return st;
    size_t n_out = 0;
    oq_ty *outs = NULL;
    st = infer_graph(&inf, g, NULL, NULL, 0, &outs, &n_out);
    for (size_t i = 0; i < n_out; i++)
        oq_ty_clear(&outs[i]);
    free(outs);
    /* writing frees value_info entries the graph views point into
     * (onnxq_value.info): from here on only names are looked up */
    for (size_t i = 0; st == ONNXQ_OK && i < inf.n_finals; i++)
        st = write_graph(&inf, &inf.finals[i]);
    if (st == ONNXQ_OK && inf.st != ONNXQ_OK)
        st = inf.st;
    if (st != ONNXQ_OK)
        onnxq_error_set(err, st, "%s: type and shape inference: %s",
                        onnxq_model_source(model), onnxq_status_name(st));
    for (size_t i = 0; i < inf.n_finals; i++)
        gstate_free(inf.finals[i].gs);
    free(inf.finals);
    for (size_t i = 0; i < inf.n_atoms; i++)
        free(inf.atoms[i]);
    free(inf.atoms);
    free(inf.atom_paren);
    oq_strmap_clear(&inf.atom_index);
    free(inf.unknown_nodes);
    onnxq_graph_destroy(g);
    onnxq_infer_report_clear(&local);
    return st;
}
