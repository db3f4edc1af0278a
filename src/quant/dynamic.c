/*
 * dynamic.c — dynamic quantization (onnxq/dynamic.h): constant weights of
 * MatMul, Gemm, Conv, Gather, LSTM and com.microsoft Attention become 8-bit
 * initializers; the activations they meet are quantized at run time by the
 * ops written.
 *
 * Per graph (main first, then each subgraph from inside the node holding
 * it), two passes:
 *   1. plan: for every node of a selected op type decide whether it can be
 *      quantized for the target (constant float weight, supported ranks and
 *      attributes, the ops it would need run on the target and on onnxq) or
 *      why not, and count the quantized MatMul/Gemm/Conv nodes reading each
 *      activation;
 *   2. rewrite: build the new node list (replacement nodes take the
 *      original's place, so the order stays topological; an activation read
 *      by several quantized nodes gets one DynamicQuantizeLinear, placed
 *      before its first reader).
 * Replaced nodes are freed only at the very end: graph views borrow their
 * strings.  Numbers follow onnxruntime's quantize_dynamic (quant.h):
 *   - weights: weight_type, symmetric = WeightSymmetric (default: int8);
 *     per channel, int8 is always symmetric (quantize_weight_per_channel);
 *   - MatMul/Gemm/Conv/Attention weights use reduce_range; per channel,
 *     Attention's [D, 3H] weight has one scale per column (axis -1, as
 *     onnxruntime's AttentionQuant asks); LSTM weights are int8 and
 *     per direction ([dirs] scales) or, per channel, per gate column;
 *   - activations: DynamicQuantizeLinear (uint8, range including 0).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/dynamic.h"
#include "onnxq/ops.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "quant_internal.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8
};

static const char *const known_ops[] = {"MatMul", "Gemm",      "Conv",
                                        "Gather", "LSTM",      "GRU",
                                        "Attention", NULL};
static const char default_ops[] = "MatMul,Gemm,LSTM,Attention";
static const char *const extra_keys =
    "WeightSymmetric, EnableSubgraph, MatMulConstBOnly";

int onnxq_quant_target_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "ort-1.30") == 0 || strcmp(s, "ort") == 0)
        return ONNXQ_TARGET_ORT_1_30;
    if (strcmp(s, "ort-1.23") == 0)
        return ONNXQ_TARGET_ORT_1_23;
    if (strcmp(s, "onnxq") == 0)
        return ONNXQ_TARGET_ONNXQ;
    return -1;
}

const char *onnxq_quant_target_name(onnxq_quant_target t)
{
    return t == ONNXQ_TARGET_ORT_1_23 ? "ort-1.23"
         : t == ONNXQ_TARGET_ONNXQ    ? "onnxq"
                                      : "ort-1.30";
}

void onnxq_dynamic_options_init(onnxq_dynamic_options *o)
{
    memset(o, 0, sizeof *o);
    o->weight_type = T_INT8;
    o->matmul_const_b_only = 1;
    o->target = ONNXQ_TARGET_ORT_1_30;
}

void onnxq_dynamic_report_clear(onnxq_dynamic_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_nodes; i++) {
        free(r->nodes[i].graph);
        free(r->nodes[i].name);
        free(r->nodes[i].op_type);
        free(r->nodes[i].reason);
    }
    free(r->nodes);
    memset(r, 0, sizeof *r);
}

/* ==== state ============================================================== */

typedef enum plan_kind {
    P_SKIP = 0,
    P_MATMUL,      /* constant B */
    P_MATMUL_DYN,  /* B quantized at run time too */
    P_GEMM,
    P_CONV,
    P_GATHER,
    P_LSTM,
    P_ATTENTION    /* com.microsoft Attention -> QAttention */
} plan_kind;

typedef struct plan {
    plan_kind kind;
    const char *act;  /* activation input quantized by DynamicQuantizeLinear
                         or DynamicQuantizeMatMul (MatMul/Gemm/Conv) */
    int per_channel;  /* after the op's own limits */
} plan;

/* One DynamicQuantizeLinear per activation and graph. */
typedef struct act_q {
    const char *name;  /* borrowed from the proto */
    size_t readers;    /* planned MatMul/Gemm/Conv readers */
    int emitted;
    char *q, *scale, *zp; /* outputs, once emitted */
} act_q;

typedef struct dq {
    onnxq_model *model;
    const onnxq_dynamic_options *o;
    onnxq_dynamic_report *rep;
    oq_qctx *q;
    oq_select *sel;
    int weight_sym, enable_subgraph, const_b_only;
    int64_t opset;          /* ai.onnx opset now */
    int dql_ok, dq_ok;      /* DynamicQuantizeLinear (11) / DequantizeLinear
                               (10) may be written (opset is or can be) */
    char dql_why[1200], dq_why[1200];
    int64_t need_opset;     /* highest ai.onnx opset the new nodes need */
    int used_ms;            /* com.microsoft ops written */
    Onnx__GraphProto *scratch; /* nodes are built here, then moved */
    Onnx__NodeProto **dead;    /* replaced nodes, freed at the end */
    size_t n_dead, cap_dead;
    struct swap {              /* new node lists, set once views are gone */
        Onnx__GraphProto *gp;
        Onnx__NodeProto **v;
        size_t n;
    } *swaps;
    size_t n_swaps, cap_swaps;
    onnxq_status st;
    onnxq_error *err;
} dq;

static onnxq_status oom(dq *d)
{
    if (d->st == ONNXQ_OK)
        d->st = onnxq_error_set(d->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                "dynamic quantization: out of memory");
    return d->st;
}

static void note(dq *d, const onnxq_graph *g, size_t i, int quantized,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void note(dq *d, const onnxq_graph *g, size_t i, int quantized,
                 const char *fmt, ...)
{
    onnxq_dynamic_report *r = d->rep;
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    onnxq_dynamic_node *nodes = realloc(r->nodes,
                                        (r->n_nodes + 1) * sizeof *nodes);
    if (!nodes) {
        oom(d);
        return;
    }
    r->nodes = nodes;
    onnxq_dynamic_node *e = &r->nodes[r->n_nodes++];
    e->graph = oq_strdup(onnxq_graph_path(g));
    e->name = oq_strdup(onnxq_graph_node_label(g, i));
    e->op_type = oq_strdup(n->op_type);
    e->quantized = quantized;
    e->reason = oq_strdup(msg);
    if (!e->graph || !e->name || !e->op_type || !e->reason)
        oom(d);
    size_t k = 0;
    while (k < r->n_ops && strcmp(r->ops[k].op_type, n->op_type))
        k++;
    if (k == r->n_ops) {
        if (k == sizeof r->ops / sizeof r->ops[0])
            return;
        snprintf(r->ops[k].op_type, sizeof r->ops[k].op_type, "%s",
                 n->op_type);
        r->n_ops++;
    }
    if (quantized)
        r->ops[k].quantized++;
    else
        r->ops[k].skipped++;
}

static int attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (strcmp(n->attribute[a]->name, name) == 0)
            return (int)n->attribute[a]->i;
    return (int)def;
}

static float attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (strcmp(n->attribute[a]->name, name) == 0)
            return n->attribute[a]->f;
    return def;
}

static const char *input(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i][0] ? n->input[i] : NULL;
}

/* The ops the target and onnxq must both run. */
static int runs(const dq *d, const char *domain, const char *op,
                int64_t opset)
{
    /* every target here runs what onnxq runs among the ops this file
     * writes, except ConvInteger with int8 weights (checked in plan_node);
     * QAttention is asked for only with target onnxq (ONNX Runtime has run
     * it for years; onnxq's kernel may be missing) */
    (void)d;
    return onnxq_op_supported(domain, op, opset);
}

/* ==== planning =========================================================== */

static int weight_symmetric(dq *d, int per_channel, int32_t dtype)
{
    return per_channel ? (d->weight_sym || dtype == T_INT8) : d->weight_sym;
}

/* The attributes com.microsoft QAttention (opset 1) defines; an Attention
 * setting any other one stays float (onnxruntime refuses unknown
 * attributes when it loads the model). */
static const char *const qattention_attrs[] = {
    "num_heads", "unidirectional", "mask_filter_value", "scale",
    "do_rotary", "past_present_share_buffer", NULL};

/* com.microsoft Attention -> DynamicQuantizeLinear + QAttention, as
 * onnxruntime's AttentionQuant writes it: input 0 quantized at run time
 * (uint8), the merged Q/K/V weight [D, 3H] stored 8-bit (per tensor, or per
 * column with --per-channel: QAttention takes 3H scales and zero points),
 * bias, mask_index and past passed through, attributes kept.  onnxruntime
 * leaves nodes with qkv_hidden_sizes float; so does this. */
static plan plan_attention(dq *d, const onnxq_graph *g, size_t i)
{
    plan p = {P_SKIP, NULL, 0};
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    if (strcmp(n->domain ? n->domain : "", "com.microsoft") != 0) {
        note(d, g, i, 0, "ai.onnx Attention has no quantized form (only "
                         "com.microsoft Attention becomes QAttention)");
        return p;
    }
    const char *x = input(n, 0), *wn = input(n, 1);
    if (!x || !wn || n->n_output < 1) {
        note(d, g, i, 0, "missing inputs");
        return p;
    }
    for (size_t a = 0; a < n->n_attribute; a++) {
        const Onnx__AttributeProto *at = n->attribute[a];
        if (strcmp(at->name, "qkv_hidden_sizes") == 0) {
            note(d, g, i, 0, "qkv_hidden_sizes is set: QAttention needs "
                             "equal Q, K and V sizes (onnxruntime leaves it "
                             "float too)");
            return p;
        }
        size_t k = 0;
        while (qattention_attrs[k] && strcmp(qattention_attrs[k], at->name))
            k++;
        if (!qattention_attrs[k]) {
            note(d, g, i, 0, "attribute '%s' has no QAttention counterpart",
                 at->name);
            return p;
        }
    }
    if (attr_int(n, "do_rotary", 0) || attr_int(n, "past_present_share_buffer",
                                                 0)) {
        note(d, g, i, 0, "do_rotary / past_present_share_buffer are not "
                         "quantized (QAttention with them is untested)");
        return p;
    }
    for (size_t k = 5; k < n->n_input; k++)
        if (input(n, k)) {
            note(d, g, i, 0, "input %zu ('%s', %s) has no QAttention "
                             "counterpart", k, n->input[k],
                 k == 5 ? "attention_bias" : "past_sequence_length");
            return p;
        }
    const Onnx__TensorProto *w = oq_float_weight(g, wn, NULL);
    if (!w) {
        note(d, g, i, 0, "weight '%s' is not a float32 constant", wn);
        return p;
    }
    int heads = attr_int(n, "num_heads", 0);
    if (w->n_dims != 2 || heads <= 0 || w->dims[1] % 3 ||
        (w->dims[1] / 3) % heads) {
        note(d, g, i, 0, "weight '%s' (rank %zu) does not split into Q, K "
                         "and V of num_heads=%d heads", wn, w->n_dims, heads);
        return p;
    }
    if (!d->dql_ok) {
        note(d, g, i, 0, "%s", d->dql_why);
        return p;
    }
    if (d->o->target == ONNXQ_TARGET_ONNXQ &&
        !runs(d, "com.microsoft", "QAttention", 1)) {
        note(d, g, i, 0, "onnxq's runtime has no QAttention kernel yet "
                         "(target onnxq)");
        return p;
    }
    if (d->o->target == ONNXQ_TARGET_ONNXQ &&
        (input(n, 4) || (n->n_output > 1 && n->output[1][0]))) {
        note(d, g, i, 0, "past/present state: onnxq's QAttention kernel "
                         "runs without it only (target onnxq)");
        return p;
    }
    p.kind = P_ATTENTION;
    p.act = x;
    p.per_channel = d->o->per_channel;
    return p;
}

static plan plan_node(dq *d, const onnxq_graph *g, size_t i)
{
    plan p = {P_SKIP, NULL, 0};
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    const char *op = n->op_type;
    int pc = d->o->per_channel;
    if (strcmp(n->domain ? n->domain : "", "com.microsoft") == 0 &&
        strcmp(op, "Attention") != 0) {
        note(d, g, i, 0, "not an ai.onnx %s", op);
        return p;
    }
    if (strcmp(op, "MatMul") == 0 || strcmp(op, "Gemm") == 0) {
        int gemm = op[0] == 'G';
        const char *a = input(n, 0), *b = input(n, 1);
        if (!a || !b || n->n_output < 1) {
            note(d, g, i, 0, "missing inputs");
            return p;
        }
        if (!runs(d, "com.microsoft", "DynamicQuantizeMatMul", 1) ||
            !runs(d, "com.microsoft", "MatMulIntegerToFloat", 1)) {
            note(d, g, i, 0, "onnxq's runtime has no DynamicQuantizeMatMul");
            return p;
        }
        const Onnx__TensorProto *w = oq_float_weight(g, b, NULL);
        if (gemm && attr_int(n, "transA", 0)) {
            note(d, g, i, 0, "transA=1 is not quantized (the activation "
                             "would need a transpose)");
            return p;
        }
        if (!w) {
            if (gemm || d->const_b_only) {
                note(d, g, i, 0, "B '%s' is not a float32 constant%s", b,
                     gemm ? "" : " (matmul_const_b_only)");
                return p;
            }
            if (!d->dql_ok) {
                note(d, g, i, 0, "%s", d->dql_why);
                return p;
            }
            p.kind = P_MATMUL_DYN;
            p.act = a;
            return p;
        }
        if (w->n_dims < 2 || (gemm && w->n_dims != 2)) {
            note(d, g, i, 0, "B '%s' has rank %zu", b, w->n_dims);
            return p;
        }
        if (pc && w->n_dims != 2)
            pc = 0; /* per-column scales need a 2-D B */
        p.kind = gemm ? P_GEMM : P_MATMUL;
        p.act = a;
        p.per_channel = pc;
        return p;
    }
    if (strcmp(op, "Conv") == 0) {
        const char *x = input(n, 0), *wn = input(n, 1);
        const Onnx__TensorProto *w = wn ? oq_float_weight(g, wn, NULL) : NULL;
        if (!x || !w) {
            note(d, g, i, 0, "weight '%s' is not a float32 constant",
                 wn ? wn : "");
            return p;
        }
        if (w->n_dims < 3) {
            note(d, g, i, 0, "weight has rank %zu", w->n_dims);
            return p;
        }
        if (d->o->weight_type == T_INT8 &&
            d->o->target == ONNXQ_TARGET_ORT_1_23) {
            note(d, g, i, 0, "ONNX Runtime 1.23 has no ConvInteger for int8 "
                             "weights (use --weight-type quint8 or "
                             "--target ort-1.30)");
            return p;
        }
        const char *b = input(n, 2);
        if (b && !oq_float_weight(g, b, NULL)) {
            note(d, g, i, 0, "bias '%s' is not a float32 constant", b);
            return p;
        }
        if (!d->dql_ok) {
            note(d, g, i, 0, "%s", d->dql_why);
            return p;
        }
        if (!runs(d, "", "ConvInteger", 11) ||
            !runs(d, "", "DynamicQuantizeLinear", 11)) {
            note(d, g, i, 0, "onnxq's runtime has no ConvInteger");
            return p;
        }
        p.kind = P_CONV;
        p.act = x;
        /* ConvInteger takes a single weight zero point (onnxruntime's
         * kernel): per channel only where every zero point is 0 (int8) */
        p.per_channel = pc && d->o->weight_type == T_INT8;
        return p;
    }
    if (strcmp(op, "Gather") == 0) {
        const char *t = input(n, 0);
        if (!t || !oq_float_weight(g, t, NULL)) {
            note(d, g, i, 0, "data '%s' is not a float32 constant table",
                 t ? t : "");
            return p;
        }
        if (!d->dq_ok) {
            note(d, g, i, 0, "%s", d->dq_why);
            return p;
        }
        p.kind = P_GATHER;
        return p;
    }
    if (strcmp(op, "LSTM") == 0) {
        const char *wn = input(n, 1), *rn = input(n, 2);
        const Onnx__TensorProto *w = wn ? oq_float_weight(g, wn, NULL) : NULL;
        const Onnx__TensorProto *r = rn ? oq_float_weight(g, rn, NULL) : NULL;
        if (!w || !r) {
            note(d, g, i, 0, "W and R must be float32 constants");
            return p;
        }
        if (w->n_dims != 3 || r->n_dims != 3) {
            note(d, g, i, 0, "W and R must be 3-D");
            return p;
        }
        if (attr_int(n, "layout", 0) != 0) {
            note(d, g, i, 0, "layout=1 (DynamicQuantizeLSTM is seq-major)");
            return p;
        }
        if (!runs(d, "com.microsoft", "DynamicQuantizeLSTM", 1)) {
            note(d, g, i, 0, "onnxq's runtime has no DynamicQuantizeLSTM");
            return p;
        }
        p.kind = P_LSTM;
        p.per_channel = pc;
        return p;
    }
    if (strcmp(op, "GRU") == 0) {
        note(d, g, i, 0, "neither ONNX Runtime nor onnxq has a dynamically "
                         "quantized GRU");
        return p;
    }
    if (strcmp(op, "Attention") == 0)
        return plan_attention(d, g, i);
    note(d, g, i, 0, "op type not quantized dynamically");
    return p;
}

/* ==== building =========================================================== */

static int keep(dq *d, Onnx__NodeProto ***list, size_t *n, size_t *cap,
                Onnx__NodeProto *node)
{
    if (oq_grow(list, cap, *n + 1, sizeof **list)) {
        oom(d);
        return -1;
    }
    (*list)[(*n)++] = node;
    return 0;
}

typedef struct out_list {
    Onnx__NodeProto **v;
    size_t n, cap;
} out_list;

/* A new node, appended to out. */
static Onnx__NodeProto *mk(dq *d, out_list *out, const char *domain,
                           const char *op, const char *name,
                           const char *const *ins, size_t nin,
                           const char *const *outs, size_t nout)
{
    if (d->st != ONNXQ_OK)
        return NULL;
    Onnx__NodeProto *n = onnxq_build_node(d->scratch, op, name, ins, nin,
                                          outs, nout);
    if (!n) {
        oom(d);
        return NULL;
    }
    d->scratch->n_node--; /* moved out of the scratch graph */
    if (domain && onnxq_build_node_domain(n, domain)) {
        onnx__node_proto__free_unpacked(n, NULL);
        oom(d);
        return NULL;
    }
    if (keep(d, &out->v, &out->n, &out->cap, n)) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    if (domain && strcmp(domain, "com.microsoft") == 0)
        d->used_ms = 1;
    return n;
}

/* name + suffix, unique in the model (malloc'd; NULL on out of memory). */
static char *uname(dq *d, const char *base, const char *suffix)
{
    size_t len = strlen(base) + strlen(suffix) + 1;
    char *tmp = malloc(len);
    if (!tmp) {
        oom(d);
        return NULL;
    }
    snprintf(tmp, len, "%s%s", base, suffix);
    char *u = oq_qctx_name(d->q, tmp);
    free(tmp);
    if (!u)
        oom(d);
    return u;
}

static void need(dq *d, int64_t opset)
{
    if (opset > d->need_opset)
        d->need_opset = opset;
}

/* Emits (once) DynamicQuantizeLinear of activation a. */
static act_q *quantize_act(dq *d, out_list *out, act_q *acts, size_t n_acts,
                           const char *a)
{
    act_q *e = NULL;
    for (size_t k = 0; k < n_acts; k++)
        if (strcmp(acts[k].name, a) == 0)
            e = &acts[k];
    if (!e)
        return NULL;
    if (e->emitted)
        return e;
    e->q = uname(d, a, "_quantized");
    e->scale = uname(d, a, "_scale");
    e->zp = uname(d, a, "_zero_point");
    char *nn = uname(d, a, "_QuantizeLinear");
    if (e->q && e->scale && e->zp && nn) {
        const char *ins[] = {a}, *outs[] = {e->q, e->scale, e->zp};
        mk(d, out, NULL, "DynamicQuantizeLinear", nn, ins, 1, outs, 3);
        need(d, 11);
    }
    free(nn);
    e->emitted = 1;
    return e;
}

static const char *node_name(const Onnx__NodeProto *n)
{
    return n->name && *n->name ? n->name : n->op_type;
}

static void wopts(oq_wopts *w, int32_t dtype, int sym, int rr, int axis)
{
    memset(w, 0, sizeof *w);
    w->dtype = dtype;
    w->symmetric = sym;
    w->reduce_range = rr;
    w->axis = axis;
}

/* MatMul / Gemm with a constant B. */
static int emit_matmul(dq *d, const onnxq_graph *g, size_t i, const plan *p,
                       out_list *out, act_q *acts, size_t n_acts)
{
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    int gemm = p->kind == P_GEMM;
    int trans_b = gemm && attr_int(n, "transB", 0);
    int32_t dt = d->o->weight_type;
    const Onnx__TensorProto *wt = oq_float_weight(g, n->input[1], NULL);
    oq_wopts w;
    int axis = p->per_channel ? (trans_b ? 0 : (int)wt->n_dims - 1) : -1;
    wopts(&w, dt, weight_symmetric(d, p->per_channel, dt),
          d->o->reduce_range, axis);
    w.transpose_last2 = trans_b;
    const oq_qweight_ref *qw;
    onnxq_status st = oq_qctx_weight_ex(d->q, g, n->input[1], &w, &qw, d->err);
    if (st != ONNXQ_OK)
        return d->st = st, -1;
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    const char *b_scale = qw->scale_name;
    const char *bias = NULL;
    char *post_add = NULL; /* a C that is not a [N] vector: Add after */
    if (gemm) {
        float alpha = attr_float(n, "alpha", 1.0f);
        float beta = attr_float(n, "beta", 1.0f);
        int64_t nn = qw->dims[1];
        if (alpha != 1.0f) {
            /* alpha folded into B's scales: float products, as the Mul
             * ORT would run computes them */
            size_t np = qw->q.n_params;
            float *s = malloc(np * sizeof *s);
            if (!s)
                return oom(d), -1;
            for (size_t k = 0; k < np; k++)
                s[k] = qw->q.scales[k] * alpha;
            int64_t sd[1] = {(int64_t)np};
            b_scale = oq_qctx_add_floats(d->q, gp, "alpha_scale", s,
                                         axis < 0 ? 0 : 1, sd);
            free(s);
            if (!b_scale)
                return oom(d), -1;
            oq_qctx_drop_if_unused(d->q, g, qw->scale_name);
        }
        const char *c = input(n, 2);
        if (c) {
            const Onnx__TensorProto *ct = oq_float_weight(g, c, NULL);
            uint64_t cn = 0;
            if (ct && !onnxq_shape_numel(ct->dims, ct->n_dims, &cn) &&
                (int64_t)cn == nn && ct->n_dims >= 1 &&
                ct->dims[ct->n_dims - 1] == nn) {
                float *cv;
                size_t cnt;
                st = oq_read_floats(d->model, ct, &cv, &cnt, d->err);
                if (st != ONNXQ_OK)
                    return d->st = st, -1;
                for (size_t k = 0; k < cnt; k++)
                    cv[k] *= beta;
                int64_t bd[1] = {nn};
                bias = oq_qctx_add_floats(d->q, gp, "gemm_bias", cv, 1, bd);
                free(cv);
                if (!bias)
                    return oom(d), -1;
                oq_qctx_drop_if_unused(d->q, g, c);
            } else if (beta == 1.0f) {
                post_add = oq_strdup(c);
            } else {
                char *bn = uname(d, node_name(n), "_beta");
                char *cb = uname(d, c, "_scaled");
                float bv = beta;
                const char *bi = oq_qctx_add_floats(d->q, gp, "gemm_beta",
                                                    &bv, 0, NULL);
                if (!bn || !cb || !bi) {
                    free(bn);
                    free(cb);
                    return oom(d), -1;
                }
                const char *ins[] = {c, bi}, *outs[] = {cb};
                mk(d, out, NULL, "Mul", bn, ins, 2, outs, 1);
                free(bn);
                post_add = cb;
            }
        }
    }
    const char *y = n->output[0];
    char *mm_out = post_add ? uname(d, y, "_matmul") : oq_strdup(y);
    char *qn = uname(d, node_name(n), "_quant");
    if (!mm_out || !qn) {
        free(mm_out);
        free(qn);
        free(post_add);
        return oom(d), -1;
    }
    act_q *aq = NULL;
    for (size_t k = 0; k < n_acts; k++)
        if (strcmp(acts[k].name, p->act) == 0 && acts[k].readers > 1 &&
            d->dql_ok)
            aq = quantize_act(d, out, acts, n_acts, p->act);
    if (aq) {
        const char *ins[] = {aq->q, qw->q_name, aq->scale, b_scale, aq->zp,
                             qw->zp_name, bias ? bias : ""};
        const char *outs[] = {mm_out};
        mk(d, out, "com.microsoft", "MatMulIntegerToFloat", qn, ins,
           bias ? 7 : 6, outs, 1);
    } else {
        const char *ins[] = {p->act, qw->q_name, b_scale, qw->zp_name,
                             bias ? bias : ""};
        const char *outs[] = {mm_out};
        mk(d, out, "com.microsoft", "DynamicQuantizeMatMul", qn, ins,
           bias ? 5 : 4, outs, 1);
    }
    if (post_add) {
        char *an = uname(d, node_name(n), "_bias_add");
        if (an) {
            const char *ins[] = {mm_out, post_add}, *outs[] = {y};
            mk(d, out, NULL, "Add", an, ins, 2, outs, 1);
        }
        free(an);
    }
    note(d, g, i, 1, "%s, %s weights%s%s",
         aq ? "MatMulIntegerToFloat (shared input quantization)"
            : "DynamicQuantizeMatMul",
         dt == T_INT8 ? "int8" : "uint8",
         p->per_channel ? " per channel" : "",
         trans_b ? ", B transposed" : "");
    free(mm_out);
    free(qn);
    free(post_add);
    return d->st == ONNXQ_OK ? 0 : -1;
}

/* MatMul whose B is not constant: both inputs quantized at run time. */
static int emit_matmul_dyn(dq *d, const onnxq_graph *g, size_t i,
                           const plan *p, out_list *out, act_q *acts,
                           size_t n_acts)
{
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    act_q *aq = quantize_act(d, out, acts, n_acts, p->act);
    act_q *bq = quantize_act(d, out, acts, n_acts, n->input[1]);
    char *qn = uname(d, node_name(n), "_quant");
    if (!aq || !bq || !qn) {
        free(qn);
        return oom(d), -1;
    }
    const char *ins[] = {aq->q, bq->q, aq->scale, bq->scale, aq->zp, bq->zp};
    const char *outs[] = {n->output[0]};
    mk(d, out, "com.microsoft", "MatMulIntegerToFloat", qn, ins, 6, outs, 1);
    free(qn);
    note(d, g, i, 1, "MatMulIntegerToFloat, both inputs quantized at run "
                     "time (uint8)");
    return d->st == ONNXQ_OK ? 0 : -1;
}

static int emit_conv(dq *d, const onnxq_graph *g, size_t i, const plan *p,
                     out_list *out, act_q *acts, size_t n_acts,
                     Onnx__NodeProto *orig)
{
    const Onnx__NodeProto *n = orig;
    int32_t dt = d->o->weight_type;
    oq_wopts w;
    wopts(&w, dt, weight_symmetric(d, p->per_channel, dt),
          d->o->reduce_range, p->per_channel ? 0 : -1);
    const oq_qweight_ref *qw;
    onnxq_status st = oq_qctx_weight_ex(d->q, g, n->input[1], &w, &qw, d->err);
    if (st != ONNXQ_OK)
        return d->st = st, -1;
    /* zero points that are all 0 are left out (ConvInteger's default):
     * per channel they are a 1-D tensor onnxruntime's kernel refuses */
    int zp_zero = 1;
    for (size_t k = 0; k < qw->q.n_params; k++)
        zp_zero &= qw->q.zero_points[k] == 0;
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    size_t rank = qw->rank; /* M, C/group, k... */
    int64_t m = qw->dims[0];
    /* scales broadcast over [N, M, spatial...]: shape [M, 1, ...] */
    int64_t sd[8] = {p->per_channel ? m : 1};
    for (size_t k = 1; k < rank - 1; k++)
        sd[k] = 1;
    const char *wscale = qw->scale_name;
    if (p->per_channel) {
        wscale = oq_qctx_add_floats(d->q, gp, "conv_w_scale", qw->q.scales,
                                    rank - 1, sd);
        if (!wscale)
            return oom(d), -1;
        oq_qctx_drop_if_unused(d->q, g, qw->scale_name);
    }
    act_q *aq = quantize_act(d, out, acts, n_acts, p->act);
    const char *y = n->output[0];
    const char *b = input(n, 2);
    char *qn = uname(d, node_name(n), "_quant");
    char *yi = uname(d, y, "_output_quantized");
    char *yc = uname(d, y, "_output_quantized_cast");
    char *cn = uname(d, node_name(n), "_cast");
    char *sm = uname(d, node_name(n), "_scales_mul");
    char *smo = uname(d, node_name(n), "_scales_mul_output");
    char *om = uname(d, node_name(n), "_output_scale_mul");
    char *ym = b ? uname(d, y, "_nobias") : oq_strdup(y);
    int ok = aq && qn && yi && yc && cn && sm && smo && om && ym;
    if (ok) {
        const char *ins[] = {aq->q, qw->q_name, aq->zp, qw->zp_name};
        const char *outs[] = {yi};
        Onnx__NodeProto *ci = mk(d, out, NULL, "ConvInteger", qn, ins,
                                 zp_zero ? 3 : 4, outs, 1);
        if (zp_zero)
            oq_qctx_drop_if_unused(d->q, g, qw->zp_name);
        if (ci) { /* the Conv's attributes are ConvInteger's */
            ci->attribute = orig->attribute;
            ci->n_attribute = orig->n_attribute;
            orig->attribute = NULL;
            orig->n_attribute = 0;
        }
        const char *cin[] = {yi}, *cout[] = {yc};
        Onnx__NodeProto *cast = mk(d, out, NULL, "Cast", cn, cin, 1, cout, 1);
        if (cast && !onnxq_build_attr_int(cast, "to", T_FLOAT))
            oom(d);
        const char *sin[] = {aq->scale, wscale}, *sout[] = {smo};
        mk(d, out, NULL, "Mul", sm, sin, 2, sout, 1);
        const char *min[] = {yc, smo}, *mout[] = {ym};
        mk(d, out, NULL, "Mul", om, min, 2, mout, 1);
        need(d, 11);
    }
    if (ok && b) {
        const Onnx__TensorProto *bt = oq_float_weight(g, b, NULL);
        float *bv = NULL;
        size_t bn = 0;
        st = oq_read_floats(d->model, bt, &bv, &bn, d->err);
        if (st != ONNXQ_OK) {
            d->st = st;
        } else {
            int64_t bd[8] = {(int64_t)bn};
            for (size_t k = 1; k < rank - 1; k++)
                bd[k] = 1;
            const char *br = oq_qctx_add_floats(d->q, gp, "conv_bias", bv,
                                                rank - 1, bd);
            oq_qctx_drop_if_unused(d->q, g, b);
            char *an = uname(d, node_name(n), "_bias_add");
            if (br && an) {
                const char *ain[] = {ym, br}, *aout[] = {y};
                mk(d, out, NULL, "Add", an, ain, 2, aout, 1);
            } else {
                oom(d);
            }
            free(an);
        }
        free(bv);
    }
    if (!ok)
        oom(d);
    free(qn);
    free(yi);
    free(yc);
    free(cn);
    free(sm);
    free(smo);
    free(om);
    free(ym);
    if (d->st != ONNXQ_OK)
        return -1;
    d->rep->conv_integer++;
    note(d, g, i, 1, "ConvInteger, %s weights%s", dt == T_INT8 ? "int8"
                                                              : "uint8",
         p->per_channel ? " per channel"
         : d->o->per_channel ? " per tensor (ConvInteger takes one uint8 "
                               "weight zero point)" : "");
    return 0;
}

static int emit_gather(dq *d, const onnxq_graph *g, size_t i, out_list *out)
{
    const Onnx__NodeProto *n = onnxq_graph_node(g, i);
    int32_t dt = d->o->weight_type;
    oq_wopts w;
    wopts(&w, dt, d->weight_sym, 0, -1);
    const oq_qweight_ref *qw;
    onnxq_status st = oq_qctx_weight_ex(d->q, g, n->input[0], &w, &qw, d->err);
    if (st != ONNXQ_OK)
        return d->st = st, -1;
    const char *y = n->output[0];
    char *gn = uname(d, node_name(n), "_quant");
    char *yq = uname(d, y, "_quantized");
    char *dn = uname(d, y, "_DequantizeLinear");
    if (gn && yq && dn) {
        const char *ins[] = {qw->q_name, n->n_input > 1 ? n->input[1] : ""};
        const char *outs[] = {yq};
        Onnx__NodeProto *gq = mk(d, out, NULL, "Gather", gn, ins, 2, outs, 1);
        if (gq) {
            int64_t axis = attr_int(n, "axis", 0);
            if (axis && !onnxq_build_attr_int(gq, "axis", axis))
                oom(d);
        }
        const char *din[] = {yq, qw->scale_name, qw->zp_name};
        const char *dout[] = {y};
        mk(d, out, NULL, "DequantizeLinear", dn, din, 3, dout, 1);
        need(d, 10);
    } else {
        oom(d);
    }
    free(gn);
    free(yq);
    free(dn);
    if (d->st != ONNXQ_OK)
        return -1;
    note(d, g, i, 1, "Gather over a %s table + DequantizeLinear",
         dt == T_INT8 ? "int8" : "uint8");
    return 0;
}

static int emit_lstm(dq *d, const onnxq_graph *g, size_t i, const plan *p,
                     out_list *out, Onnx__NodeProto *orig)
{
    const onnxq_graph *og;
    const Onnx__TensorProto *wt = oq_float_weight(g, orig->input[1], &og);
    const Onnx__TensorProto *rt = oq_float_weight(g, orig->input[2], &og);
    const oq_qweight_ref *qw[2];
    const Onnx__TensorProto *ts[2] = {wt, rt};
    for (int k = 0; k < 2; k++) {
        const Onnx__TensorProto *t = ts[k];
        oq_wopts w;
        /* onnxruntime: int8, symmetric, per direction (axis 0 of
         * [dirs, 4H, K]) or, per channel, per row of [dirs*4H, K] */
        wopts(&w, T_INT8, 1, d->o->reduce_range, 0);
        w.transpose_last2 = 1;
        if (p->per_channel) {
            w.view_rank = 2;
            w.view_dims[0] = t->dims[0] * t->dims[1];
            w.view_dims[1] = t->dims[2];
            w.param_rank = 2;
            w.param_dims[0] = t->dims[0];
            w.param_dims[1] = t->dims[1];
        }
        onnxq_status st = oq_qctx_weight_ex(d->q, g, orig->input[1 + k], &w,
                                            &qw[k], d->err);
        if (st != ONNXQ_OK)
            return d->st = st, -1;
        }
    const char *ins[12];
    for (size_t k = 0; k < 8; k++)
        ins[k] = k < orig->n_input ? orig->input[k] : "";
    ins[1] = qw[0]->q_name;
    ins[2] = qw[1]->q_name;
    ins[8] = qw[0]->scale_name;
    ins[9] = qw[0]->zp_name;
    ins[10] = qw[1]->scale_name;
    ins[11] = qw[1]->zp_name;
    char *qn = uname(d, node_name(orig), "_quant");
    if (!qn)
        return -1;
    Onnx__NodeProto *nq = mk(d, out, "com.microsoft", "DynamicQuantizeLSTM",
                             qn, ins, 12, (const char *const *)orig->output,
                             orig->n_output);
    free(qn);
    if (!nq)
        return -1;
    nq->attribute = orig->attribute;
    nq->n_attribute = orig->n_attribute;
    orig->attribute = NULL;
    orig->n_attribute = 0;
    note(d, g, i, 1, "DynamicQuantizeLSTM, int8 weights %s",
         p->per_channel ? "per gate column" : "per direction");
    return 0;
}

static int emit_attention(dq *d, const onnxq_graph *g, size_t i,
                          const plan *p, out_list *out, act_q *acts,
                          size_t n_acts, Onnx__NodeProto *orig)
{
    int32_t dt = d->o->weight_type;
    oq_wopts w;
    /* per column of [D, 3H], as MatMul's B */
    wopts(&w, dt, weight_symmetric(d, p->per_channel, dt), d->o->reduce_range,
          p->per_channel ? 1 : -1);
    const oq_qweight_ref *qw;
    onnxq_status st = oq_qctx_weight_ex(d->q, g, orig->input[1], &w, &qw,
                                        d->err);
    if (st != ONNXQ_OK)
        return d->st = st, -1;
    const char *bias = input(orig, 2);
    if (!bias) { /* optional in Attention, required in QAttention */
        int64_t nb = qw->dims[1];
        float *z = calloc((size_t)nb, sizeof *z);
        if (z)
            bias = oq_qctx_add_floats(d->q, onnxq_graph_proto(g),
                                      "qattention_bias", z, 1, &nb);
        free(z);
        if (!bias)
            return oom(d), -1;
    }
    act_q *aq = quantize_act(d, out, acts, n_acts, p->act);
    char *qn = uname(d, node_name(orig), "_quant");
    if (!aq || !qn) {
        free(qn);
        return oom(d), -1;
    }
    const char *mask = input(orig, 3), *past = input(orig, 4);
    const char *ins[] = {aq->q, qw->q_name, bias, aq->scale, qw->scale_name,
                         mask ? mask : "", aq->zp, qw->zp_name,
                         past ? past : ""};
    Onnx__NodeProto *nq = mk(d, out, "com.microsoft", "QAttention", qn, ins,
                             past ? 9 : 8,
                             (const char *const *)orig->output,
                             orig->n_output);
    free(qn);
    if (!nq)
        return -1;
    nq->attribute = orig->attribute;
    nq->n_attribute = orig->n_attribute;
    orig->attribute = NULL;
    orig->n_attribute = 0;
    note(d, g, i, 1, "QAttention, %s weights%s", dt == T_INT8 ? "int8"
                                                             : "uint8",
         p->per_channel ? " per column" : "");
    return 0;
}

/* ==== per graph ========================================================== */

static onnxq_status do_graph(dq *d, const onnxq_graph *g, int depth);

static onnxq_status do_graph(dq *d, const onnxq_graph *g, int depth)
{
    size_t nn = onnxq_graph_node_count(g);
    /* subgraphs first: their edits do not touch this graph's node list */
    for (size_t i = 0; i < nn; i++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, i); k++) {
            const onnxq_graph *sub = onnxq_graph_subgraph(g, i, k, NULL);
            if (!d->enable_subgraph) {
                for (size_t j = 0; j < onnxq_graph_node_count(sub); j++)
                    if (oq_select_node(d->sel, onnxq_graph_node(sub, j)) ==
                        OQ_SELECT_YES)
                        note(d, sub, j, 0, "in a subgraph (EnableSubgraph=0)");
                continue;
            }
            onnxq_status st = do_graph(d, sub, depth + 1);
            if (st != ONNXQ_OK)
                return st;
        }
    plan *plans = calloc(nn ? nn : 1, sizeof *plans);
    act_q *acts = calloc(nn ? 2 * nn : 1, sizeof *acts);
    size_t n_acts = 0;
    if (!plans || !acts) {
        free(plans);
        free(acts);
        return oom(d);
    }
    for (size_t i = 0; i < nn && d->st == ONNXQ_OK; i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(g, i);
        oq_select_verdict v = oq_select_node(d->sel, n);
        if (v == OQ_SELECT_OP_TYPE)
            continue;
        if (v == OQ_SELECT_NOT_INCLUDED) {
            note(d, g, i, 0, "not in --nodes-to-quantize");
            continue;
        }
        if (v == OQ_SELECT_EXCLUDED) {
            note(d, g, i, 0, "in --nodes-to-exclude");
            continue;
        }
        plans[i] = plan_node(d, g, i);
        const char *reads[2] = {plans[i].act,
                                plans[i].kind == P_MATMUL_DYN ? n->input[1]
                                                              : NULL};
        for (int r = 0; r < 2; r++) {
            if (!reads[r])
                continue;
            size_t k = 0;
            while (k < n_acts && strcmp(acts[k].name, reads[r]))
                k++;
            if (k == n_acts)
                acts[n_acts++].name = reads[r];
            acts[k].readers++;
        }
    }
    out_list out = {NULL, 0, 0};
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    int changed = 0;
    for (size_t i = 0; i < nn && d->st == ONNXQ_OK; i++) {
        Onnx__NodeProto *orig = gp->node[i];
        int r = 1; /* 1: keep the original */
        switch (plans[i].kind) {
        case P_MATMUL:
        case P_GEMM:
            r = emit_matmul(d, g, i, &plans[i], &out, acts, n_acts);
            break;
        case P_MATMUL_DYN:
            r = emit_matmul_dyn(d, g, i, &plans[i], &out, acts, n_acts);
            break;
        case P_CONV:
            r = emit_conv(d, g, i, &plans[i], &out, acts, n_acts, orig);
            break;
        case P_GATHER:
            r = emit_gather(d, g, i, &out);
            break;
        case P_LSTM:
            r = emit_lstm(d, g, i, &plans[i], &out, orig);
            break;
        case P_ATTENTION:
            r = emit_attention(d, g, i, &plans[i], &out, acts, n_acts, orig);
            break;
        default:
            break;
        }
        if (r == 1) {
            keep(d, &out.v, &out.n, &out.cap, orig);
        } else if (r == 0) {
            changed = 1;
            if (oq_grow(&d->dead, &d->cap_dead, d->n_dead + 1,
                        sizeof *d->dead))
                oom(d);
            else
                d->dead[d->n_dead++] = orig;
        }
    }
    for (size_t k = 0; k < n_acts; k++) {
        free(acts[k].q);
        free(acts[k].scale);
        free(acts[k].zp);
    }
    free(acts);
    free(plans);
    if (d->st != ONNXQ_OK || !changed) {
        /* nodes made so far are in out after the originals they replace:
         * free only the new ones */
        for (size_t k = 0; k < out.n; k++) {
            int is_orig = 0;
            for (size_t j = 0; j < nn && !is_orig; j++)
                is_orig = gp->node[j] == out.v[k];
            if (!is_orig)
                onnx__node_proto__free_unpacked(out.v[k], NULL);
        }
        free(out.v);
        if (d->st == ONNXQ_OK && d->n_dead) {
            /* unchanged graph: nothing of it was marked dead */
        }
        return d->st;
    }
    if (oq_grow(&d->swaps, &d->cap_swaps, d->n_swaps + 1, sizeof *d->swaps)) {
        free(out.v); /* the new nodes leak only on this out-of-memory path */
        return oom(d);
    }
    d->swaps[d->n_swaps].gp = gp;
    d->swaps[d->n_swaps].v = out.v;
    d->swaps[d->n_swaps].n = out.n;
    d->n_swaps++;
    return ONNXQ_OK;
}

/* ==== options ============================================================ */

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "True") || !strcmp(v, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "False") || !strcmp(v, "false")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static onnxq_status parse_extra(dq *d, onnxq_error *err)
{
    const onnxq_dynamic_options *o = d->o;
    for (size_t i = 0; i < o->n_extra; i++) {
        const char *kv = o->extra[i];
        const char *eq = strchr(kv, '=');
        if (!eq)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "--extra '%s': expected KEY=VALUE", kv);
        size_t kl = (size_t)(eq - kv);
        int *dst = NULL;
        if (kl == 15 && !strncmp(kv, "WeightSymmetric", kl))
            dst = &d->weight_sym;
        else if (kl == 14 && !strncmp(kv, "EnableSubgraph", kl))
            dst = &d->enable_subgraph;
        else if (kl == 16 && !strncmp(kv, "MatMulConstBOnly", kl))
            dst = &d->const_b_only;
        if (!dst)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "--extra: unknown key '%.*s' for dynamic "
                                   "quantization (valid: %s)", (int)kl, kv,
                                   extra_keys);
        if (parse_bool(eq + 1, dst))
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "--extra %.*s: '%s' is not True/False/1/0",
                                   (int)kl, kv, eq + 1);
    }
    return ONNXQ_OK;
}

onnxq_status onnxq_quantize_dynamic(onnxq_model *model,
                                    const onnxq_dynamic_options *opts,
                                    onnxq_dynamic_report *rep,
                                    onnxq_error *err)
{
    onnxq_dynamic_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    onnxq_dynamic_options defaults;
    if (!opts) {
        onnxq_dynamic_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->weight_type != T_INT8 && opts->weight_type != T_UINT8)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "weight type %d is not int8 or uint8",
                               opts->weight_type);
    if ((unsigned)opts->target > ONNXQ_TARGET_ONNXQ)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "unknown target %d", (int)opts->target);
    dq d;
    memset(&d, 0, sizeof d);
    d.model = model;
    d.o = opts;
    d.rep = rep;
    d.err = err;
    d.weight_sym = opts->weight_type == T_INT8;
    d.enable_subgraph = 1;
    d.const_b_only = opts->matmul_const_b_only;
    onnxq_status st = parse_extra(&d, err);
    if (st != ONNXQ_OK)
        return st;
    st = oq_select_create(model, opts->op_types, default_ops, known_ops,
                          opts->nodes_to_quantize, opts->nodes_to_exclude,
                          &d.sel, err);
    if (st != ONNXQ_OK)
        return st;
    if (opts->per_channel && opts->op_types && *opts->op_types &&
        oq_select_has_op(d.sel, "Gather")) {
        oq_select_destroy(d.sel);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "--per-channel: Gather has no channel axis "
                               "(its table is quantized per tensor); drop "
                               "Gather from --op-types or --per-channel");
    }
    d.opset = onnxq_model_opset(model, "");
    rep->opset_before = rep->opset_after = d.opset;
    onnxq_error e2;
    d.dql_ok = oq_check_opset_raise(model, 11, &e2) == ONNXQ_OK;
    if (!d.dql_ok)
        snprintf(d.dql_why, sizeof d.dql_why,
                 "needs DynamicQuantizeLinear (opset 11): %s", e2.message);
    d.dq_ok = oq_check_opset_raise(model, 10, &e2) == ONNXQ_OK;
    if (!d.dq_ok)
        snprintf(d.dq_why, sizeof d.dq_why,
                 "needs DequantizeLinear (opset 10): %s", e2.message);
    st = oq_qctx_create(model, &d.q, err);
    if (st != ONNXQ_OK) {
        oq_select_destroy(d.sel);
        return st;
    }
    d.scratch = onnxq_build_graph("scratch");
    if (!d.scratch)
        st = oom(&d);
    if (st == ONNXQ_OK)
        st = do_graph(&d, oq_qctx_main(d.q), 0);
    /* views borrow node strings and index nodes: drop them, then edit */
    oq_qctx_release_view(d.q);
    for (size_t i = 0; i < d.n_swaps; i++) {
        if (st == ONNXQ_OK) {
            free(d.swaps[i].gp->node);
            d.swaps[i].gp->node = d.swaps[i].v;
            d.swaps[i].gp->n_node = d.swaps[i].n;
        } else {
            /* on failure the originals stay: free the new nodes only */
            for (size_t k = 0; k < d.swaps[i].n; k++) {
                int orig = 0;
                for (size_t j = 0; j < d.swaps[i].gp->n_node && !orig; j++)
                    orig = d.swaps[i].gp->node[j] == d.swaps[i].v[k];
                if (!orig)
                    onnx__node_proto__free_unpacked(d.swaps[i].v[k], NULL);
            }
            free(d.swaps[i].v);
        }
    }
    free(d.swaps);
    if (st != ONNXQ_OK)
        d.n_dead = 0; /* still in their graphs */
    for (size_t i = 0; i < d.n_dead; i++)
        onnx__node_proto__free_unpacked(d.dead[i], NULL);
    d.n_dead = 0;
    if (st == ONNXQ_OK && d.need_opset > d.opset) {
        int64_t from;
        st = oq_raise_opset(model, d.need_opset, &from, err);
        rep->opset_after = onnxq_model_opset(model, "");
    }
    if (st == ONNXQ_OK && d.used_ms)
        st = oq_import_domain(model, "com.microsoft", 1, err);
    rep->weights_quantized = oq_qctx_weight_count(d.q);
    if (st == ONNXQ_OK)
        st = oq_qctx_finish(d.q, &rep->floats_removed, err);
    oq_qctx_destroy(d.q);
    for (size_t i = 0; i < d.n_dead; i++)
        onnx__node_proto__free_unpacked(d.dead[i], NULL);
    free(d.dead);
    if (d.scratch)
        onnx__graph_proto__free_unpacked(d.scratch, NULL);
    oq_select_destroy(d.sel);
    if (st != ONNXQ_OK || rep == &local)
        onnxq_dynamic_report_clear(rep);
    return st;
}
