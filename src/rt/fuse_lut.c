/*
 * fuse_lut.c — 8-bit elementwise islands become lookup tables, a step of
 * QDQ fusion (fuse_qdq.c calls it on its private copy of the model).
 *
 * Quantized models keep the ops the quantizer was not asked to quantize as
 * float between DequantizeLinear and QuantizeLinear: in the int8 PaddleOCR
 * models every hard-swish is DQ(x) -> Add 3 -> Q -> DQ -> Mul by DQ(x) ->
 * Div 6 -> Mul -> Q, and the QOperator twins have a broadcasting
 * QLinearAdd with a constant in the same place.  Such an island reads one
 * 8-bit tensor and writes one, element by element, through scalar
 * constants only — so its output is a function of the input byte: 256
 * values.  Those are computed once, at preparation, by running the island
 * itself (its nodes copied into a small model fed the 256 byte values, in a
 * session with the caller's kernel choice), and the island is replaced by
 * one com.onnxq Lookup8 node (kernels/int8/int8_misc.c: y = table[x]).  The
 * outputs are therefore those of the unfused island in onnxq, byte for
 * byte; in the int8 detector these islands took about half of a run.
 *
 * An island: a sink whose output is 8-bit (QuantizeLinear, com.microsoft
 * QLinearAdd/QLinearMul/QLinearSigmoid/QLinearLeakyRelu), and the
 * elementwise nodes behind it (those, DequantizeLinear, Add, Sub, Mul,
 * Div, Relu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Neg,
 * Abs) whose outputs only the island reads; every other input one-element
 * constant (rank <= 1, so no broadcast changes the shape), quantization
 * parameters per tensor; exactly one outside tensor, read as 8-bit data
 * (DequantizeLinear's x, a QLinear op's A or B), of the output's type.
 * Walking from the last
 * node back, each island is taken whole, largest first.  Nothing is done
 * with ONNXQ_NO_LUT_FUSION=1 (or ONNXQ_NO_QDQ_FUSION=1, which skips all of
 * fuse_qdq.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_lut.h"
#include "onnxq/builder.h"
#include "onnxq/graph.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

enum {
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
};

/* ---- which ops, which inputs --------------------------------------------- */

/* kinds of input slots */
enum { S_DATA = 1,   /* float island data, or a scalar constant */
       S_Q8 = 2,     /* 8-bit data: the source, an inner 8-bit tensor, or a
                        scalar constant */
       S_PARAM = 3 }; /* a scalar constant (or omitted) */

typedef struct lut_op {
    const char *domain, *op;
    int sink;           /* output is 8-bit: may end an island */
    int out_zp;         /* the input slot whose type is the output's (sinks) */
    unsigned char slots[8];
} lut_op;

static const lut_op ops[] = {
    {"", "QuantizeLinear", 1, 2, {S_DATA, S_PARAM, S_PARAM}},
    {"", "DequantizeLinear", 0, 0, {S_Q8, S_PARAM, S_PARAM}},
    {"", "Add", 0, 0, {S_DATA, S_DATA}},
    {"", "Sub", 0, 0, {S_DATA, S_DATA}},
    {"", "Mul", 0, 0, {S_DATA, S_DATA}},
    {"", "Div", 0, 0, {S_DATA, S_DATA}},
    {"", "Relu", 0, 0, {S_DATA}},
    {"", "Clip", 0, 0, {S_DATA, S_PARAM, S_PARAM}},
    {"", "Sigmoid", 0, 0, {S_DATA}},
    {"", "Tanh", 0, 0, {S_DATA}},
    {"", "HardSigmoid", 0, 0, {S_DATA}},
    {"", "HardSwish", 0, 0, {S_DATA}},
    {"", "LeakyRelu", 0, 0, {S_DATA}},
    {"", "Neg", 0, 0, {S_DATA}},
    {"", "Abs", 0, 0, {S_DATA}},
    {"com.microsoft", "QLinearAdd", 1, 7,
     {S_Q8, S_PARAM, S_PARAM, S_Q8, S_PARAM, S_PARAM, S_PARAM, S_PARAM}},
    {"com.microsoft", "QLinearMul", 1, 7,
     {S_Q8, S_PARAM, S_PARAM, S_Q8, S_PARAM, S_PARAM, S_PARAM, S_PARAM}},
    {"com.microsoft", "QLinearSigmoid", 1, 4,
     {S_Q8, S_PARAM, S_PARAM, S_PARAM, S_PARAM}},
    {"com.microsoft", "QLinearLeakyRelu", 1, 4,
     {S_Q8, S_PARAM, S_PARAM, S_PARAM, S_PARAM}},
    {NULL, NULL, 0, 0, {0}},
};

static const lut_op *op_of(const Onnx__NodeProto *n)
{
    const char *d = n->domain ? n->domain : "";
    if (strcmp(d, "ai.onnx") == 0)
        d = "";
    for (const lut_op *o = ops; o->op; o++)
        if (n->op_type && strcmp(n->op_type, o->op) == 0 && strcmp(d, o->domain) == 0)
            return o;
    return NULL;
}

static int named(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] && n->input[i][0];
}

/* ---- the pass ------------------------------------------------------------ */

typedef struct lctx {
    onnxq_model *m;
    Onnx__GraphProto *gp;
    onnxq_graph *g;
    size_t n;             /* nodes of the view */
    char *taken;          /* [n] replaced by a table */
    char *cand;           /* [n] in the island being grown */
    size_t *stack;
    const onnxq_session_options *opts;
    onnxq_error *err;
} lctx;

/* A one-element constant of rank <= 1 (a scalar in every broadcast). */
static const Onnx__TensorProto *scalar_const(const lctx *c, const char *name)
{
    const Onnx__TensorProto *t = onnxq_graph_constant(c->g, name);
    if (!t || t->n_dims > 1 || (t->n_dims == 1 && t->dims[0] != 1))
        return NULL;
    return t;
}

/* Node i can be part of an island: a listed op, one output, no attribute
 * that makes it something else (QuantizeLinear/DequantizeLinear blocked or
 * with output_dtype), parameters one-element constants. */
static int usable(const lctx *c, size_t i, const lut_op **op)
{
    const Onnx__NodeProto *n = onnxq_graph_node(c->g, i);
    const lut_op *o = op_of(n);
    if (!o || n->n_output != 1 || !n->output[0] || !n->output[0][0] ||
        n->n_input > 8)
        return 0;
    for (size_t a = 0; a < n->n_attribute; a++) {
        const char *an = n->attribute[a]->name;
        if (strcmp(an, "block_size") == 0 || strcmp(an, "output_dtype") == 0)
            return 0;
    }
    for (size_t k = 0; k < n->n_input; k++) {
        if (!named(n, k))
            continue;
        if (!o->slots[k])
            return 0;
        int is_const = onnxq_graph_constant(c->g, n->input[k]) != NULL;
        if (is_const && !scalar_const(c, n->input[k]))
            return 0;
        if (o->slots[k] == S_PARAM && !is_const)
            return 0;
    }
    /* a node of constants only (a DQ of a constant) may join an island,
     * which must still have its one outside input */
    if (o->sink) {
        size_t z = (size_t)o->out_zp;
        const Onnx__TensorProto *zt = named(n, z) ? scalar_const(c, n->input[z]) : NULL;
        if (!zt || (zt->data_type != T_UINT8 && zt->data_type != T_INT8))
            return 0;
    }
    *op = o;
    return 1;
}

/* The producer of name in the main graph, if a node. */
static int producer(const lctx *c, const char *name, size_t *p)
{
    const onnxq_value *v = onnxq_graph_value(c->g, name);
    if (!v || v->kind != ONNXQ_VALUE_NODE_OUTPUT || v->producer >= c->n)
        return 0;
    *p = v->producer;
    return 1;
}

/* Every reader of node i's output is in the island, and it is no graph
 * output. */
static int closed(const lctx *c, size_t i)
{
    const onnxq_value *v = onnxq_graph_value(c->g, onnxq_graph_node(c->g, i)->output[0]);
    if (!v || v->is_graph_output)
        return 0;
    for (size_t u = 0; u < v->n_uses; u++)
        if (v->uses[u].input == SIZE_MAX || v->uses[u].node >= c->n ||
            !c->cand[v->uses[u].node])
            return 0;
    return 1;
}

/* The 8-bit type of the slot's data, from the zero point beside it (DQ:
 * input 2; QLinear ops: the input two after A or B). */
static int32_t slot_type(const lctx *c, const Onnx__NodeProto *n, size_t k)
{
    size_t z = k + 2;
    const Onnx__TensorProto *t = named(n, z) ? scalar_const(c, n->input[z]) : NULL;
    return t ? t->data_type : 0;
}

static int noop_observer(void *user, const char *name, const onnxq_tensor *t)
{
    (void)user; (void)name; (void)t;
    return 0;
}

/* Copies a proto message (pack, unpack). */
#define DEEP_COPY(type, fn, src, dst)                                         \
    do {                                                                      \
        size_t sz_ = fn##__get_packed_size(src);                              \
        uint8_t *buf_ = malloc(sz_ ? sz_ : 1);                                \
        (dst) = buf_ ? fn##__unpack(NULL, sz_, (fn##__pack(src, buf_), buf_)) \
                     : NULL;                                                  \
        free(buf_);                                                           \
    } while (0)

static int append_node(Onnx__GraphProto *g, const Onnx__NodeProto *src)
{
    Onnx__NodeProto *cp;
    DEEP_COPY(Onnx__NodeProto, onnx__node_proto, src, cp);
    Onnx__NodeProto **nn = cp ? realloc(g->node, (g->n_node + 1) * sizeof *nn) : NULL;
    if (!nn) {
        if (cp)
            onnx__node_proto__free_unpacked(cp, NULL);
        return -1;
    }
    g->node = nn;
    g->node[g->n_node++] = cp;
    return 0;
}

static int append_const(Onnx__GraphProto *g, const Onnx__TensorProto *src,
                        const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, name) == 0)
            return 0;
    Onnx__TensorProto *cp;
    DEEP_COPY(Onnx__TensorProto, onnx__tensor_proto, src, cp);
    Onnx__TensorProto **ni = cp ? realloc(g->initializer,
                                          (g->n_initializer + 1) * sizeof *ni)
                                : NULL;
    char *nm = cp ? strdup(name) : NULL;
    if (!ni || !nm) {
        if (cp)
            onnx__tensor_proto__free_unpacked(cp, NULL);
        free(nm);
        return -1;
    }
    g->initializer = ni;
    if (cp->name != protobuf_c_empty_string)
        free(cp->name);
    cp->name = nm;
    g->initializer[g->n_initializer++] = cp;
    return 0;
}

/* Runs the island (c->cand, in graph order) on the 256 byte values of the
 * source: table[b] is the output for the input byte b. */
static onnxq_status evaluate(lctx *c, const char *src, int32_t src_type,
                             size_t sink, int32_t out_type, uint8_t *table)
{
    const Onnx__ModelProto *mp = onnxq_model_proto_const(c->m);
    Onnx__ModelProto *p = onnxq_build_model(onnxq_model_opset(c->m, ""));
    if (!p)
        return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int bad = 0;
    for (size_t i = 0; i < mp->n_opset_import && !bad; i++)
        bad = !onnxq_build_opset(p, mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "",
                                 mp->opset_import[i]->version);
    int64_t d256 = 256;
    bad |= !onnxq_build_input(p->graph, src, src_type, 1, &d256, NULL);
    for (size_t i = 0; i < c->n && !bad; i++) {
        if (!c->cand[i])
            continue;
        const Onnx__NodeProto *n = onnxq_graph_node(c->g, i);
        bad |= append_node(p->graph, n) != 0;
        for (size_t k = 0; k < n->n_input && !bad; k++) {
            const Onnx__TensorProto *t = named(n, k) ? onnxq_graph_constant(c->g, n->input[k]) : NULL;
            if (t)
                bad |= append_const(p->graph, t, n->input[k]) != 0;
        }
    }
    bad |= !onnxq_build_output(p->graph, onnxq_graph_node(c->g, sink)->output[0],
                               out_type, 1, &d256, NULL);
    onnxq_model *sub = NULL;
    if (bad) {
        onnx__model_proto__free_unpacked(p, NULL);
        return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    onnxq_status st = onnxq_model_wrap(p, onnxq_model_base_dir(c->m), &sub, c->err);
    if (st != ONNXQ_OK)
        return st;
    /* an observer keeps the session from fusing (and so from coming back
     * here); the kernels are the caller's choice */
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.n_threads = 1;
    o.observer = noop_observer;
    o.reference_only = c->opts ? c->opts->reference_only : 0;
    onnxq_session *s = NULL;
    st = onnxq_session_create(sub, &o, &s, c->err);
    uint8_t bytes[256];
    for (int b = 0; b < 256; b++)
        bytes[b] = (uint8_t)b;  /* int8: the same bits, -128..127 */
    onnxq_tensor in;
    memset(&in, 0, sizeof in);
    in.dtype = src_type;
    in.rank = 1;
    in.dims[0] = 256;
    in.data = bytes;
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    if (st == ONNXQ_OK)
        st = onnxq_session_run(s, &in, 1, &out, &n_out, c->err);
    if (st == ONNXQ_OK && (n_out != 1 || out[0].dtype != out_type ||
                           onnxq_tensor_nbytes(&out[0]) != 256))
        st = onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                             "lookup-table fusion: the island did not give 256 bytes");
    if (st == ONNXQ_OK)
        memcpy(table, out[0].data, 256);
    if (out)
        onnxq_tensors_free(out, n_out);
    onnxq_session_destroy(s);
    onnxq_model_destroy(sub);
    return st;
}

/* Grows the island ending at sink into c->cand; returns its node count, 0
 * if it is not one to replace (then c->cand is cleared).  *src, *src_type:
 * its one outside input. */
static size_t grow(lctx *c, size_t sink, const char **src, int32_t *src_type)
{
    const lut_op *op;
    size_t top = 0, count = 0;
    c->cand[sink] = 1;
    c->stack[top++] = sink;
    while (top) {
        size_t i = c->stack[--top];
        const Onnx__NodeProto *n = onnxq_graph_node(c->g, i);
        for (size_t k = 0; k < n->n_input; k++) {
            size_t p;
            if (!named(n, k) || onnxq_graph_constant(c->g, n->input[k]) ||
                !producer(c, n->input[k], &p) || c->cand[p] || c->taken[p] ||
                !usable(c, p, &op))
                continue;
            c->cand[p] = 1;
            c->stack[top++] = p;
        }
    }
    /* drop nodes whose output is read outside, until none is left */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->cand[i] && i != sink && !closed(c, i)) {
                c->cand[i] = 0;
                changed = 1;
            }
    }
    /* the one outside input, read as 8-bit data only */
    *src = NULL;
    *src_type = 0;
    int ok = 1, has_op = 0;
    for (size_t i = 0; i < c->n && ok; i++) {
        if (!c->cand[i])
            continue;
        count++;
        const Onnx__NodeProto *n = onnxq_graph_node(c->g, i);
        usable(c, i, &op);
        has_op |= strcmp(n->op_type, "QuantizeLinear") != 0 &&
                  strcmp(n->op_type, "DequantizeLinear") != 0;
        for (size_t k = 0; k < n->n_input && ok; k++) {
            size_t p;
            if (!named(n, k) || op->slots[k] == S_PARAM ||
                onnxq_graph_constant(c->g, n->input[k]) ||
                (producer(c, n->input[k], &p) && c->cand[p]))
                continue;
            int32_t t = op->slots[k] == S_Q8 ? slot_type(c, n, k) : 0;
            if (!t || (*src && (strcmp(*src, n->input[k]) || t != *src_type)))
                ok = 0;
            *src = n->input[k];
            *src_type = t;
        }
    }
    /* worth a table: more than a requantization, or a QLinear op on its
     * own (the broadcast with a constant) */
    if (!ok || !*src || !has_op) {
        memset(c->cand, 0, c->n);
        return 0;
    }
    return count;
}

onnxq_status oq_fuse_lut(onnxq_model *m, const onnxq_session_options *opts,
                         size_t *n_fused, onnxq_error *err)
{
    *n_fused = 0;
    if (oq_env_on("ONNXQ_NO_LUT_FUSION"))
        return ONNXQ_OK;
    onnxq_status st = onnxq_model_sort(m, err);
    if (st != ONNXQ_OK)
        return st;
    lctx c = {0};
    c.m = m;
    c.gp = onnxq_model_proto(m)->graph;
    c.opts = opts;
    c.err = err;
    st = onnxq_graph_create(m, &c.g, err);
    if (st != ONNXQ_OK)
        return st;
    c.n = onnxq_graph_node_count(c.g);
    c.taken = calloc(c.n ? c.n : 1, 1);
    c.cand = calloc(c.n ? c.n : 1, 1);
    c.stack = malloc((c.n ? c.n : 1) * sizeof *c.stack);
    size_t n_nodes = 0;
    if (!c.taken || !c.cand || !c.stack) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t s = c.n; s-- > 0 && st == ONNXQ_OK;) {
        const lut_op *op;
        if (c.taken[s] || !usable(&c, s, &op) || !op->sink)
            continue;
        const char *src;
        int32_t src_type;
        size_t count = grow(&c, s, &src, &src_type);
        if (!count)
            continue;
        const Onnx__NodeProto *sn = onnxq_graph_node(c.g, s);
        int32_t out_type = scalar_const(&c, sn->input[op->out_zp])->data_type;
        if (out_type != src_type) { /* Lookup8's y has x's type */
            memset(c.cand, 0, c.n);
            continue;
        }
        uint8_t table[256];
        onnxq_error e;
        memset(&e, 0, sizeof e);
        c.err = &e;
        st = evaluate(&c, src, src_type, s, out_type, table);
        c.err = err;
        if (st == ONNXQ_ERR_OUT_OF_MEMORY) {
            *err = e;
            break;
        }
        if (st != ONNXQ_OK) {
            /* the nodes stay as they are, and their own kernels say what
             * is wrong when they run */
            st = ONNXQ_OK;
            memset(c.cand, 0, c.n);
            continue;
        }
        char *tname = onnxq_graph_unique_name(c.g, "onnxq_lut");
        Onnx__NodeProto *ln = NULL;
        if (tname) {
            int64_t d256 = 256;
            const char *in[] = {src, tname};
            const char *out[] = {sn->output[0]};
            if (onnxq_build_initializer(c.gp, tname, out_type, 1, &d256, table))
                ln = onnxq_build_node(c.gp, "Lookup8", tname, in, 2, out, 1);
            if (ln && onnxq_build_node_domain(ln, "com.onnxq") != 0)
                ln = NULL;
        }
        free(tname);
        if (!ln) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (size_t i = 0; i < c.n; i++)
            if (c.cand[i]) {
                c.taken[i] = 1;
                c.cand[i] = 0;
            }
        n_nodes += count;
        (*n_fused)++;
    }
done:
    onnxq_graph_destroy(c.g);
    if (st == ONNXQ_OK && *n_fused) {
        /* drop the replaced nodes (their outputs now come from Lookup8) */
        size_t w = 0;
        for (size_t i = 0; i < c.gp->n_node; i++) {
            if (i < c.n && c.taken[i]) {
                onnx__node_proto__free_unpacked(c.gp->node[i], NULL);
                continue;
            }
            c.gp->node[w++] = c.gp->node[i];
        }
        c.gp->n_node = w;
        if (!onnxq_build_opset(onnxq_model_proto(m), "com.onnxq", 1))
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        if (oq_env_on("ONNXQ_VERBOSE"))
            fprintf(stderr, "onnxq: QDQ fusion: %zu 8-bit elementwise islands "
                    "(%zu nodes) became lookup tables\n", *n_fused, n_nodes);
    }
    free(c.taken);
    free(c.cand);
    free(c.stack);
    return st;
}
