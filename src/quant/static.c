/*
 * static.c — static quantization of the main graph (include/onnxq/
 * static_quant.h).  One planning step decides, node by node, what is
 * quantized, what is folded (Relu/Clip after a quantized node) and which
 * tensors need calibrated ranges; the two writers below turn the same plan
 * into QOperator or QDQ form.
 *
 * Plan (read-only; calibration then runs on the unchanged model), node by
 * node in topological order, as ONNX Runtime's quantizer walks the nodes:
 *   act[i]   QUANT, FOLD (a Relu/Clip whose input is the only use of a
 *            quantized node's output), SHARE (data movement after a
 *            quantized tensor, or forced: its outputs reuse the input's
 *            scale/zero point initializers) or FLOAT, with the reason;
 *   ranges   every float activation a QUANT node reads or writes; a folded
 *            activation's input is quantized with its output's range
 *            (ONNX Runtime's adjust_tensor_ranges), so the Relu clamp comes
 *            from the integer range itself and the node can go.
 * Both writers first apply the folds (the producer writes the Relu's
 * output name; the Relu node goes) and then rebuild the node list in order,
 * inserting QuantizeLinear/DequantizeLinear where needed.  Conv/Gemm
 * weights are quantized knowing their bias and input scale, so int8 scales
 * grow where the int32 bias would overflow (main_weight).
 * Subgraphs (If/Loop/Scan bodies, nested too), QDQ only: Conv, MatMul and
 * Gemm there are quantized like the main graph's (Q -> DQ pairs on their
 * activations, weights stored 8-bit with a DequantizeLinear inside the
 * body, int32 bias); no folds or shared parameters there, and QOperator
 * leaves them float.  The runtime observer reports subgraph tensors under
 * their bare names (a Loop body's once per iteration, merged into one
 * range), so a tensor name made in more than one graph (sibling branches,
 * shadowing) cannot be calibrated apart: nodes touching one stay float, as
 * do nodes reading a subgraph's own inputs (not node outputs, so not
 * observed).  The CLI calibrates with allow_unreached: nodes of a branch
 * no sample took (a tensor of theirs never computed) stay float too
 * (drop_unreached); an unreached tensor of the main graph is an error.
 * The report lists each selected subgraph node with the subgraph it is
 * in.
 */
#include "onnxq/static_quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/graph.h"
#include "onnxq/quant.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "quant_internal.h"
#include "strmap.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32
};

const char *const onnxq_static_known_ops[] = {
    "Conv", "MatMul", "Gemm", "Add", "Mul", "Relu", "Clip", "Concat",
    "GlobalAveragePool", "AveragePool", "Sigmoid", "LeakyRelu", "Softmax",
    "ConvTranspose", /* QDQ only */
    /* data movement: shares its input's parameters (see is_share_op) */
    "MaxPool", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Resize",
    "Split", "Gather", "Slice",
    /* accepted so the user's lists work; stay float with the reason */
    "BatchNormalization", "ReduceMean",
    "Pad", "Sub", "Div", "Sqrt", "Flatten", "InstanceNormalization",
    "LayerNormalization", "Where", "ArgMax", "HardSigmoid", "Tanh",
    "Attention", "EmbedLayerNormalization", NULL};

void onnxq_static_options_init(onnxq_static_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = ONNXQ_FORMAT_QDQ;
    o->activation_type = T_UINT8;
    o->weight_type = T_INT8;
    o->weight_symmetric = -1;
    o->quantize_bias = 1;
}

void onnxq_static_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

void onnxq_static_report_clear(onnxq_static_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_nodes; i++) {
        free(r->nodes[i].name);
        free(r->nodes[i].op_type);
        free(r->nodes[i].reason);
    }
    free(r->nodes);
    memset(r, 0, sizeof *r);
}

/* ---- the plan --------------------------------------------------------------- */

/* A_SHARE: an op that only moves data (Reshape, Transpose, MaxPool, ...)
 * runs on the 8-bit tensor; its outputs take its input's scale and zero
 * point (ONNX Runtime's Direct8BitOp / QDQDirect8BitOp). */
typedef enum { A_FLOAT = 0, A_QUANT, A_FOLD, A_SHARE } action;

/* A selected node of a subgraph: quantized (QDQ), or float with why. */
typedef struct sub_node {
    const onnxq_graph *g;
    size_t node;
    int quant;
    int unreached; /* float since a tensor of it was never computed */
    char *reason; /* "inside If 'b' then_branch[: why]" */
} sub_node;

typedef struct plan {
    onnxq_graph *g;
    oq_select *sel;
    size_t nn;
    size_t *order;   /* topological order of node indices */
    action *act;
    char **reason;   /* malloc'd, for FLOAT nodes that were selected */
    size_t *fold_of; /* FOLD: the producer node; QUANT: SIZE_MAX */
    oq_strmap key;   /* tensor -> index into names: where its range is */
    oq_strmap qt;    /* tensors given 8-bit parameters so far (planning
                        follows the topological order, as ONNX Runtime's
                        quantizer follows the node order) */
    oq_strmap flt;   /* node outputs -> 1 float32, 0 other or unknown */
    char **names;    /* tensors to calibrate (malloc'd) */
    size_t n_names, cap_names;
    oq_strmap defs;  /* tensor -> number of graphs that make it */
    sub_node *subs;  /* subgraph nodes, in report order */
    size_t n_subs, cap_subs;
} plan;

static void plan_clear(plan *p)
{
    for (size_t i = 0; p->reason && i < p->nn; i++)
        free(p->reason[i]);
    free(p->reason);
    free(p->act);
    free(p->fold_of);
    free(p->order);
    oq_strmap_clear(&p->key);
    oq_strmap_clear(&p->qt);
    oq_strmap_clear(&p->flt);
    oq_strmap_clear(&p->defs);
    for (size_t i = 0; i < p->n_subs; i++)
        free(p->subs[i].reason);
    free(p->subs);
    onnxq_static_names_free(p->names, p->n_names);
    oq_select_destroy(p->sel);
    onnxq_graph_destroy(p->g);
    memset(p, 0, sizeof *p);
}

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    return strcmp(n->op_type, op) == 0 &&
           (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0);
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n,
                                        const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a ? a->f : def;
}

static int present(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] && n->input[i][0];
}

/* Conv, or ConvTranspose (QDQ only): weight input 1, bias input 2. */
static int is_conv(const Onnx__NodeProto *n)
{
    return is_op(n, "Conv") || is_op(n, "ConvTranspose");
}

/* A float activation: not a constant and not empty. */
static int is_activation(const plan *p, const char *name)
{
    return name && name[0] && !onnxq_graph_constant(p->g, name);
}

static int add_name(plan *p, const char *t)
{
    size_t k;
    if (oq_strmap_get(&p->key, t, &k))
        return 0;
    if (oq_grow(&p->names, &p->cap_names, p->n_names + 1, sizeof *p->names))
        return -1;
    char *c = oq_strdup(t);
    if (!c)
        return -1;
    p->names[p->n_names] = c;
    if (oq_strmap_put(&p->key, c, p->n_names))
        return -1;
    p->n_names++;
    return 0;
}

/* The range key of tensor t (itself, or a folded Relu's output). */
static int alias_key(plan *p, const char *t, const char *key)
{
    size_t k;
    if (add_name(p, key) || !oq_strmap_get(&p->key, key, &k))
        return -1;
    return oq_strmap_put(&p->key, t, k);
}

static char *dupf(const char *fmt, const char *a)
{
    size_t n = strlen(fmt) + (a ? strlen(a) : 0) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a ? a : "");
    return s;
}

/* Ops that only move data: quantized, they keep their input's parameters
 * (ONNX Runtime's registries; Slice in QDQ only).  ONNX Runtime's QDQ
 * registry treats AveragePool so too (QOperator gives it its own output
 * range, QLinearAveragePool). */
static int is_share_op(const Onnx__NodeProto *n,
                       const onnxq_static_options *o)
{
    if (is_op(n, "AveragePool") && o->format == ONNXQ_FORMAT_QDQ)
        return 1;
    static const char *const ops[] = {"Reshape", "Transpose", "Squeeze",
                                      "Unsqueeze", "MaxPool", "Resize",
                                      "Slice", "Split", "Gather", NULL};
    for (size_t i = 0; ops[i]; i++)
        if (is_op(n, ops[i]))
            return 1;
    return 0;
}

/* 1 if tensor t is known to be float32: a float constant, a value declared
 * float, or a node output the type pass (note_types) found float. */
static int is_float_tensor(const plan *p, const char *t)
{
    if (!t || !t[0])
        return 0;
    const Onnx__TensorProto *c = onnxq_graph_constant(p->g, t);
    if (c)
        return c->data_type == T_FLOAT;
    size_t f;
    if (oq_strmap_get(&p->flt, t, &f))
        return (int)f;
    const onnxq_value *v = onnxq_graph_resolve(p->g, t, NULL);
    const Onnx__TypeProto *ty = v && v->info ? v->info->type : NULL;
    return ty && ty->tensor_type && ty->tensor_type->has_elem_type &&
           ty->tensor_type->elem_type == T_FLOAT;
}

/* Element type (float or not) of n's outputs, from its inputs: just enough
 * for ForceQuantizeNoInputCheck and Split, which ONNX Runtime quantizes
 * when their input is float, without shape inference.  Declared types win;
 * a multi-output op other than Split types its first output only. */
static int note_types(plan *p, const Onnx__NodeProto *n)
{
    static const char *const not_float[] = {
        "Shape", "Size", "NonZero", "ArgMax", "ArgMin", "Equal", "Less",
        "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or",
        "Xor", "IsNaN", "IsInf", "QuantizeLinear", "DynamicQuantizeLinear",
        NULL};
    int f = present(n, 0) && is_float_tensor(p, n->input[0]);
    for (size_t i = 0; not_float[i]; i++)
        if (is_op(n, not_float[i]))
            f = 0;
    if (is_op(n, "Cast"))
        f = attr_i(n, "to", 0) == T_FLOAT;
    else if (is_op(n, "DequantizeLinear"))
        f = 1;
    else if (is_op(n, "Where"))
        f = present(n, 1) && is_float_tensor(p, n->input[1]);
    else if (is_op(n, "ConstantOfShape")) {
        const Onnx__AttributeProto *a = attr(n, "value");
        f = !a || !a->t || a->t->data_type == T_FLOAT;
    }
    size_t n_out = is_op(n, "Split") ? n->n_output : 1;
    for (size_t k = 0; k < n_out && k < n->n_output; k++) {
        const char *y = n->output[k];
        if (!y || !y[0])
            continue;
        const onnxq_value *v = onnxq_graph_value(p->g, y);
        const Onnx__TypeProto *ty = v && v->info ? v->info->type : NULL;
        int fy = f;
        if (ty && ty->tensor_type && ty->tensor_type->has_elem_type)
            fy = ty->tensor_type->elem_type == T_FLOAT;
        if (oq_strmap_put(&p->flt, y, (size_t)fy))
            return -1;
    }
    return 0;
}

/* 1 if t is an output of a SHARE node (it has its input's parameters). */
static int made_by_share(const plan *p, const char *t)
{
    const onnxq_value *v = onnxq_graph_value(p->g, t);
    return v && v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
           p->act[v->producer] == A_SHARE;
}

static int in_list(const char *list, const char *op);

static int mark_q(plan *p, const char *t)
{
    return t && t[0] ? oq_strmap_put(&p->qt, t, 1) : 0;
}

static int is_q(const plan *p, const char *t)
{
    size_t v;
    return t && t[0] && oq_strmap_get(&p->qt, t, &v);
}

/* Why a selected node cannot be quantized, or NULL if it can. */
static char *check_node(const plan *p, const onnxq_static_options *o,
                        const Onnx__NodeProto *n)
{
    const onnxq_graph *g = p->g;
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
        return dupf("domain %s", n->domain);
    if (is_op(n, "ConvTranspose")) {
        /* ONNX Runtime quantizes it in QDQ form only (QDQConv), per
         * channel along weight axis 1 ([C_in, C_out / group, k...]) */
        if (o->format == ONNXQ_FORMAT_QOPERATOR)
            return dupf("ONNX Runtime has no QOperator ConvTranspose (its "
                        "QDQ quantizer handles it)", NULL);
        if (o->per_channel && attr_i(n, "group", 1) != 1)
            return dupf("grouped ConvTranspose per channel (weight axis 1 "
                        "holds C_out / group channels, the bias C_out)",
                        NULL);
    }
    if (is_conv(n)) {
        if (!present(n, 1) || !oq_float_weight(g, n->input[1], NULL))
            return dupf("weight is not a float constant", NULL);
        if (!is_activation(p, n->input[0]))
            return dupf("input is a constant", NULL);
        if (present(n, 2) && !oq_float_weight(g, n->input[2], NULL))
            return dupf("bias is not a float constant", NULL);
        return NULL;
    }
    if (is_op(n, "Gemm")) {
        if (!present(n, 1) || !oq_float_weight(g, n->input[1], NULL))
            return dupf("B is not a float constant", NULL);
        if (!is_activation(p, n->input[0]))
            return dupf("A is a constant", NULL);
        if (present(n, 2)) {
            const Onnx__TensorProto *c = oq_float_weight(g, n->input[2], NULL);
            if (!c)
                return dupf("C is not a float constant", NULL);
            if (attr_f(n, "beta", 1.0f) != 1.0f)
                return dupf("beta is not 1", NULL);
            if (c->n_dims != 1)
                return dupf("C is not 1-D", NULL);
        }
        return NULL;
    }
    if (is_op(n, "MatMul")) {
        if (!is_activation(p, n->input[0]))
            return dupf("A is a constant", NULL);
        if (is_activation(p, n->input[1])) {
            if (o->matmul_const_b_only)
                return dupf("B is not constant (MatMulConstBOnly)", NULL);
        } else if (!oq_float_weight(g, n->input[1], NULL)) {
            return dupf("B is not a float constant", NULL);
        }
        return NULL;
    }
    if (is_op(n, "Add") || is_op(n, "Mul")) {
        if (n->n_input != 2)
            return dupf("not two inputs", NULL);
        int na = is_activation(p, n->input[0]) + is_activation(p, n->input[1]);
        if (!na)
            return dupf("both inputs are constants", NULL);
        for (int i = 0; i < 2; i++)
            if (!is_activation(p, n->input[i]) &&
                !oq_float_weight(g, n->input[i], NULL))
                return dupf("an input is a non-float constant", NULL);
        return NULL;
    }
    if (is_op(n, "Concat")) {
        for (size_t i = 0; i < n->n_input; i++)
            if (!is_activation(p, n->input[i]))
                return dupf("an input is a constant", NULL);
        return n->n_input ? NULL : dupf("no inputs", NULL);
    }
    if (is_op(n, "GlobalAveragePool") || is_op(n, "Sigmoid") ||
        is_op(n, "LeakyRelu") || is_op(n, "Softmax") ||
        is_op(n, "AveragePool")) {
        if (!is_activation(p, n->input[0]))
            return dupf("input is a constant", NULL);
        if (is_op(n, "AveragePool") && attr(n, "dilations"))
            return dupf("dilations (QLinearAveragePool has none)", NULL);
        return NULL;
    }
    if (is_op(n, "Relu") || is_op(n, "Clip"))
        return NULL; /* decided by the fold pass */
    if (is_share_op(n, o)) {
        int64_t opset = onnxq_model_opset(onnxq_graph_model(g), "");
        if (!present(n, 0) || !is_activation(p, n->input[0]))
            return dupf("its data input is a constant", NULL);
        if (is_op(n, "Slice") && o->format == ONNXQ_FORMAT_QOPERATOR)
            return dupf("ONNX Runtime's QOperator quantizer leaves Slice "
                        "float (its QDQ one shares the input's parameters)",
                        NULL);
        if (is_op(n, "MaxPool") && (opset < 12 || n->n_output > 1))
            return dupf(n->n_output > 1 ? "MaxPool with Indices output"
                                        : "MaxPool takes 8-bit tensors "
                                          "from opset 12",
                        NULL);
        if (is_op(n, "Resize") && opset < 11)
            return dupf("Resize takes 8-bit tensors from opset 11", NULL);
        return NULL; /* the input check comes in make_plan */
    }
    if (is_op(n, "Flatten"))
        return dupf("ONNX Runtime's quantizer leaves Flatten float", NULL);
    return dupf("ONNX Runtime has no int8 kernel for %s: quantizing it "
                "would only add QuantizeLinear/DequantizeLinear around it "
                "(slower)", n->op_type);
}

static int decide(plan *p, const onnxq_static_options *o, size_t i)
{
    const Onnx__NodeProto *n = onnxq_graph_node(p->g, i);
    p->fold_of[i] = SIZE_MAX;
    oq_select_verdict v = oq_select_node(p->sel, n);
    if (v != OQ_SELECT_YES) {
        if (v != OQ_SELECT_OP_TYPE)
            p->reason[i] = dupf(v == OQ_SELECT_EXCLUDED
                                    ? "in --nodes-to-exclude"
                                    : "not in --nodes-to-quantize",
                                NULL);
        return 0;
    }
    char *why = check_node(p, o, n);
    if (why) {
        p->reason[i] = why;
        return 0;
    }
    if (is_op(n, "Relu") || is_op(n, "Clip")) {
        /* fold into the producer when this is its output's only use */
        int fold = !(o->format == ONNXQ_FORMAT_QDQ &&
                     o->keep_removable_activations) &&
                   !o->activation_symmetric;
        const onnxq_value *v = onnxq_graph_value(p->g, n->input[0]);
        const onnxq_value *out = onnxq_graph_value(p->g, n->output[0]);
        if (fold && v && v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
            v->n_uses == 1 && !v->is_graph_output &&
            p->act[v->producer] == A_QUANT &&
            v->producer_output == 0 && out && !out->is_graph_output &&
            n->n_output == 1) {
            p->act[i] = A_FOLD;
            p->fold_of[i] = v->producer;
        } else {
            p->reason[i] = dupf(
                fold ? "its input is not the only use of a quantized "
                       "node's output (nothing to fold into)"
                     : "kept: QDQKeepRemovableActivations or "
                       "ActivationSymmetric",
                NULL);
        }
        return 0;
    }
    if (is_share_op(n, o)) {
        /* Split: ONNX Runtime quantizes its float input in any case; the
         * others when the input is already quantized, or with
         * ForceQuantizeNoInputCheck (in QOperator ONNX Runtime quantizes
         * Gather only on a constant table or when forced) */
        int split = is_op(n, "Split");
        int forced = o->force_no_input_check || split;
        int ok = is_q(p, n->input[0]) &&
                 !(is_op(n, "Gather") && o->format == ONNXQ_FORMAT_QOPERATOR);
        if (!ok && forced && !is_float_tensor(p, n->input[0])) {
            p->reason[i] = dupf("its input %s is not known to be float32 "
                                "(no declared type; onnxq preprocess "
                                "writes value_info)",
                                n->input[0]);
            return p->reason[i] ? 0 : -1;
        }
        if (!ok && !forced) {
            p->reason[i] = dupf(
                is_op(n, "Gather") && o->format == ONNXQ_FORMAT_QOPERATOR
                    ? "ONNX Runtime's QOperator quantizer quantizes Gather "
                      "only on a constant table (not implemented) or with "
                      "ForceQuantizeNoInputCheck"
                : is_float_tensor(p, n->input[0])
                    ? "its input %s is not quantized (ForceQuantizeNoInput"
                      "Check=1 quantizes it anyway)"
                    : "its input %s is not quantized (nor known to be "
                      "float32)",
                n->input[0]);
            return p->reason[i] ? 0 : -1;
        }
        if (o->format == ONNXQ_FORMAT_QDQ &&
            in_list(o->exclude_output_op_types, n->op_type)) {
            p->reason[i] = dupf("in OpTypesToExcludeOutputQuantization",
                                NULL);
            return p->reason[i] ? 0 : -1;
        }
        p->act[i] = A_SHARE;
        return 0;
    }
    p->act[i] = A_QUANT;
    return 0;
}

/* Records the tensors node i gives 8-bit parameters to. */
static int mark_node(plan *p, const onnxq_static_options *o, size_t i)
{
    const Onnx__NodeProto *n = onnxq_graph_node(p->g, i);
    switch (p->act[i]) {
    case A_QUANT: {
        size_t n_act_in =
            is_conv(n) || is_op(n, "Gemm") ? 1 : n->n_input;
        for (size_t j = 0; j < n_act_in; j++)
            if (present(n, j) && is_activation(p, n->input[j]) &&
                mark_q(p, n->input[j]))
                return -1;
        if (o->format == ONNXQ_FORMAT_QDQ &&
            in_list(o->exclude_output_op_types, n->op_type))
            return 0;
        return mark_q(p, n->output[0]);
    }
    case A_FOLD:
        return mark_q(p, n->output[0]);
    case A_SHARE:
        if (mark_q(p, n->input[0]))
            return -1;
        for (size_t k = 0; k < n->n_output; k++)
            if (mark_q(p, n->output[k]))
                return -1;
        return 0;
    default:
        return 0;
    }
}

/* Counts, for every tensor name, the graphs (main and subgraphs) that make
 * it: as a node output or a graph input. */
static int count_defs(plan *p, const onnxq_graph *g)
{
    for (size_t v = 0; v < onnxq_graph_value_count(g); v++) {
        const onnxq_value *val = onnxq_graph_value_at(g, v);
        if (val->kind != ONNXQ_VALUE_NODE_OUTPUT &&
            val->kind != ONNXQ_VALUE_GRAPH_INPUT)
            continue;
        size_t c = 0;
        oq_strmap_get(&p->defs, val->name, &c);
        if (oq_strmap_put(&p->defs, val->name, c + 1))
            return -1;
    }
    for (size_t i = 0; i < onnxq_graph_node_count(g); i++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, i); k++)
            if (count_defs(p, onnxq_graph_subgraph(g, i, k, NULL)))
                return -1;
    return 0;
}

/* The float activations subgraph node n (Conv/MatMul/Gemm, p->g its graph)
 * reads (*n_in of them) and makes: inputs first, then output 0. */
static size_t sub_acts(const plan *p, const Onnx__NodeProto *n,
                       const char **t)
{
    size_t k = 0;
    t[k++] = n->input[0];
    if (is_op(n, "MatMul") && is_activation(p, n->input[1]))
        t[k++] = n->input[1];
    t[k++] = n->output[0];
    return k;
}

/* Why subgraph node n (already through check_node) cannot be calibrated,
 * or NULL. */
static char *sub_check(const plan *p, const Onnx__NodeProto *n)
{
    const char *t[3];
    size_t k = sub_acts(p, n, t);
    for (size_t j = 0; j < k; j++) {
        size_t c = 0;
        oq_strmap_get(&p->defs, t[j], &c);
        if (c > 1)
            return dupf("tensor '%s' is made in more than one graph "
                        "(calibration sees unscoped names: their ranges "
                        "would mix)", t[j]);
        const onnxq_graph *owner = NULL;
        const onnxq_value *v = onnxq_graph_resolve(p->g, t[j], &owner);
        if (j + 1 < k && v && v->kind == ONNXQ_VALUE_GRAPH_INPUT &&
            owner && onnxq_graph_outer(owner))
            return dupf("its input '%s' is an input of the subgraph "
                        "(calibration observes node outputs only)", t[j]);
    }
    return NULL;
}

static char *join2(const char *a, const char *b)
{
    size_t len = strlen(a) + (b ? strlen(b) + 2 : 0) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", a, b ? ": " : "", b ? b : "");
    return s;
}

/* Ranges calibration left unreached (allow_unreached): subgraph nodes
 * reading or making such a tensor of their own subgraph stay float, as
 * their branch never ran; one that is no such node's is the error
 * calibration gives without allow_unreached. */
static onnxq_status drop_unreached(plan *p, const onnxq_tensor_range *ranges,
                                   const oq_strmap *range_of,
                                   onnxq_error *err)
{
    onnxq_graph *main_g = p->g;
    for (size_t k = 0; k < p->n_names; k++) {
        size_t r;
        if (!oq_strmap_get(range_of, p->names[k], &r) || !ranges[r].unreached)
            continue;
        int dropped = 0;
        for (size_t s = 0; s < p->n_subs; s++) {
            sub_node *e = &p->subs[s];
            const onnxq_graph *owner = NULL;
            if (!e->quant && !e->unreached)
                continue;
            if (!onnxq_graph_resolve(e->g, p->names[k], &owner) || !owner ||
                !onnxq_graph_outer(owner))
                continue;
            const char *t[3];
            p->g = (onnxq_graph *)e->g; /* sub_acts resolves in its scope */
            size_t nt = sub_acts(p, onnxq_graph_node(e->g, e->node), t);
            p->g = main_g;
            int uses = 0;
            for (size_t j = 0; j < nt; j++)
                uses |= strcmp(t[j], p->names[k]) == 0;
            if (!uses)
                continue;
            dropped = 1;
            if (e->unreached)
                continue;
            char *why = join2(e->reason, "its branch never ran on the "
                                         "calibration samples");
            if (!why)
                return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                       "out of memory");
            free(e->reason);
            e->reason = why;
            e->quant = 0;
            e->unreached = 1;
        }
        if (!dropped)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "tensor '%s' was never computed (or always "
                                   "empty) on the calibration samples",
                                   p->names[k]);
    }
    return ONNXQ_OK;
}

/* Plans the selected nodes of g's subgraphs (g itself too when where is
 * set: "inside If 'b' then_branch", nested ones joined with ", "). */
static int plan_subgraphs(plan *p, const onnxq_static_options *o,
                          const onnxq_graph *g, const char *where)
{
    for (size_t i = 0; where && i < onnxq_graph_node_count(g); i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(g, i);
        oq_select_verdict v = oq_select_node(p->sel, n);
        if (v == OQ_SELECT_OP_TYPE)
            continue;
        char *why = NULL;
        int quant = 0;
        if (v != OQ_SELECT_YES)
            why = dupf(v == OQ_SELECT_EXCLUDED ? "in --nodes-to-exclude"
                                               : "not in --nodes-to-quantize",
                       NULL);
        else if (o->format != ONNXQ_FORMAT_QDQ)
            why = dupf("QOperator: static quantizes the main graph only "
                       "(--format qdq quantizes Conv, MatMul and Gemm in "
                       "subgraphs)", NULL);
        else if (!is_op(n, "Conv") && !is_op(n, "MatMul") &&
                 !is_op(n, "Gemm"))
            why = dupf("in subgraphs static quantizes Conv, MatMul and "
                       "Gemm only", NULL);
        else {
            onnxq_graph *main_g = p->g;
            p->g = (onnxq_graph *)g; /* the helpers resolve in its scope */
            why = check_node(p, o, n);
            if (!why)
                why = sub_check(p, n);
            if (!why) {
                quant = 1;
                const char *t[3];
                size_t k = sub_acts(p, n, t);
                for (size_t j = 0; j < k; j++)
                    if (add_name(p, t[j])) {
                        p->g = main_g;
                        return -1;
                    }
            }
            p->g = main_g;
        }
        if (oq_grow(&p->subs, &p->cap_subs, p->n_subs + 1, sizeof *p->subs)) {
            free(why);
            return -1;
        }
        sub_node *e = &p->subs[p->n_subs++];
        e->g = g;
        e->node = i;
        e->quant = quant;
        e->unreached = 0;
        e->reason = join2(where, why);
        free(why);
        if (!e->reason)
            return -1;
    }
    for (size_t i = 0; i < onnxq_graph_node_count(g); i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(g, i);
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, i); k++) {
            const char *attr_name = NULL;
            const onnxq_graph *sub = onnxq_graph_subgraph(g, i, k, &attr_name);
            const char *label = onnxq_graph_node_label(g, i);
            size_t len = (where ? strlen(where) + 2 : 0) + strlen(n->op_type) +
                         strlen(label) + (attr_name ? strlen(attr_name) : 0) +
                         16;
            char *inner = malloc(len);
            if (!inner)
                return -1;
            snprintf(inner, len, "%s%sinside %s '%s' %s", where ? where : "",
                     where ? ", " : "", n->op_type, label,
                     attr_name ? attr_name : "?");
            int rc = plan_subgraphs(p, o, sub, inner);
            free(inner);
            if (rc)
                return -1;
        }
    }
    return 0;
}

static onnxq_status make_plan(onnxq_model *model, const onnxq_static_options *o,
                              plan *p, onnxq_error *err)
{
    memset(p, 0, sizeof *p);
    onnxq_status st;
    if (o->format != ONNXQ_FORMAT_QDQ && o->format != ONNXQ_FORMAT_QOPERATOR)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "unknown quantization format %d", o->format);
    if ((o->activation_type != T_UINT8 && o->activation_type != T_INT8) ||
        (o->weight_type != T_UINT8 && o->weight_type != T_INT8))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "activation and weight types must be int8 or "
                               "uint8");
    if (o->format == ONNXQ_FORMAT_QOPERATOR &&
        o->activation_type == T_INT8 && o->weight_type == T_UINT8)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "QOperator with int8 activations and uint8 "
                               "weights: ONNX Runtime has no QLinearConv/"
                               "QLinearMatMul kernel for that pair (use "
                               "--weight-type qint8)");
    if (o->format == ONNXQ_FORMAT_QOPERATOR && o->exclude_output_op_types &&
        o->exclude_output_op_types[0])
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "OpTypesToExcludeOutputQuantization applies "
                               "to the QDQ format only");
    st = onnxq_graph_create(model, &p->g, err);
    if (st != ONNXQ_OK)
        return st;
    st = oq_select_create(model, o->op_types, ONNXQ_STATIC_DEFAULT_OPS,
                          onnxq_static_known_ops, o->nodes_include,
                          o->nodes_exclude, &p->sel, err);
    if (st != ONNXQ_OK)
        goto fail;
    p->nn = onnxq_graph_node_count(p->g);
    size_t nn = p->nn ? p->nn : 1;
    p->order = malloc(nn * sizeof *p->order);
    p->act = calloc(nn, sizeof *p->act);
    p->reason = calloc(nn, sizeof *p->reason);
    p->fold_of = malloc(nn * sizeof *p->fold_of);
    if (!p->order || !p->act || !p->reason || !p->fold_of)
        goto oom;
    st = onnxq_graph_topo_order(p->g, p->order, err);
    if (st != ONNXQ_OK)
        goto fail;
    for (size_t k = 0; k < p->nn; k++) {
        size_t i = p->order[k];
        const Onnx__NodeProto *n = onnxq_graph_node(p->g, i);
        if (note_types(p, n) || decide(p, o, i) || mark_node(p, o, i))
            goto oom;
    }
    /* ranges: inputs and outputs of QUANT nodes, inputs of SHARE nodes;
     * a SHARE node's outputs have its input's */
    for (size_t k = 0; k < p->nn; k++) {
        size_t i = p->order[k];
        if (p->act[i] != A_QUANT && p->act[i] != A_SHARE)
            continue;
        const Onnx__NodeProto *n = onnxq_graph_node(p->g, i);
        size_t n_act_in = n->n_input;
        if (is_conv(n) || is_op(n, "Gemm") || p->act[i] == A_SHARE)
            n_act_in = 1;
        for (size_t j = 0; j < n_act_in; j++)
            if (is_activation(p, n->input[j]) &&
                !made_by_share(p, n->input[j]) && add_name(p, n->input[j]))
                goto oom;
        if (p->act[i] == A_SHARE)
            continue;
        if (is_op(n, "Softmax"))
            continue; /* output range is [0, 1] */
        const char *y = n->output[0];
        const onnxq_value *v = onnxq_graph_value(p->g, y);
        const char *key = y;
        if (v && v->n_uses == 1) {
            size_t c = v->uses[0].node;
            if (p->act[c] == A_FOLD)
                key = onnxq_graph_node(p->g, c)->output[0];
        }
        if (key == y ? add_name(p, y) : alias_key(p, y, key))
            goto oom;
    }
    if (count_defs(p, p->g) || plan_subgraphs(p, o, p->g, NULL))
        goto oom;
    return ONNXQ_OK;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    plan_clear(p);
    return st;
}

onnxq_status onnxq_static_plan(onnxq_model *model,
                               const onnxq_static_options *o, char ***names,
                               size_t *n, onnxq_error *err)
{
    plan p;
    *names = NULL;
    *n = 0;
    onnxq_status st = make_plan(model, o, &p, err);
    if (st != ONNXQ_OK)
        return st;
    *names = p.names;
    *n = p.n_names;
    p.names = NULL;
    p.n_names = 0;
    plan_clear(&p);
    return ONNXQ_OK;
}

/* ---- writing ------------------------------------------------------------------ */

/* Quantization parameters of one activation tensor. */
typedef struct qact {
    char *name;      /* the float tensor */
    char *q_name;    /* its 8-bit tensor (QOperator) */
    char *scale_name, *zp_name;
    float scale;
    int32_t zp;
    int float_ok;    /* the float tensor exists in the new graph */
    int have_q;      /* the 8-bit tensor exists */
} qact;

typedef struct writer {
    onnxq_model *model;
    const onnxq_static_options *o;
    plan *p;
    oq_qctx *q;
    Onnx__GraphProto *gp;
    Onnx__NodeProto **nodes; /* the new node list */
    size_t n_nodes, cap_nodes;
    qact **acts;             /* each malloc'd: pointers to them are kept */
    size_t n_acts, cap_acts;
    oq_strmap act_of;        /* float tensor -> acts index */
    oq_strmap rename;        /* QDQ: tensor -> index in renamed[] */
    char **renamed;
    size_t n_renamed, cap_renamed;
    const onnxq_tensor_range *ranges;
    size_t n_ranges;
    oq_strmap range_of;      /* range name -> ranges index */
    Onnx__GraphProto scratch; /* emit() builds nodes here, then moves them */
    char **grave;            /* strings replaced in old nodes: the plan's
                                view borrows them until the end */
    size_t n_grave, cap_grave;
    Onnx__NodeProto **dead;  /* old nodes replaced, freed after the swap */
    size_t n_dead, cap_dead;
    char **strs;             /* names made by name2, freed at the end */
    size_t n_strs, cap_strs;
    int w_symmetric;
    int used_ms;
    onnxq_static_report *rep;
    onnxq_error *err;
} writer;

static onnxq_status oom(writer *w)
{
    return onnxq_error_set(w->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

/* Appends a node built by onnxq_build_node to the new list. */
static Onnx__NodeProto *emit(writer *w, const char *op, const char *name,
                             const char *const *in, size_t n_in,
                             const char *const *out, size_t n_out,
                             const char *domain)
{
    Onnx__NodeProto *n = onnxq_build_node(&w->scratch, op, name, in, n_in,
                                          out, n_out);
    if (!n)
        return NULL;
    w->scratch.n_node--; /* built at the tail of the scratch list: move it */
    if (domain && onnxq_build_node_domain(n, domain)) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    if (oq_grow(&w->nodes, &w->cap_nodes, w->n_nodes + 1, sizeof *w->nodes)) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    w->nodes[w->n_nodes++] = n;
    if (strcmp(op, "QuantizeLinear") == 0 && w->rep)
        w->rep->n_q++;
    if (strcmp(op, "DequantizeLinear") == 0 && w->rep)
        w->rep->n_dq++;
    if (domain && strcmp(domain, "com.microsoft") == 0)
        w->used_ms = 1;
    return n;
}

/* *slot = copy of s; the old string goes to the grave (the plan's graph
 * view may still point at it). */
static int replace_str(writer *w, char **slot, const char *s)
{
    char *c = oq_strdup(s);
    if (!c || oq_grow(&w->grave, &w->cap_grave, w->n_grave + 1,
                      sizeof *w->grave)) {
        free(c);
        return -1;
    }
    w->grave[w->n_grave++] = *slot;
    *slot = c;
    return 0;
}

static int bury_node(writer *w, Onnx__NodeProto *n)
{
    if (oq_grow(&w->dead, &w->cap_dead, w->n_dead + 1, sizeof *w->dead))
        return -1;
    w->dead[w->n_dead++] = n;
    return 0;
}

static int keep_node(writer *w, Onnx__NodeProto *n)
{
    if (oq_grow(&w->nodes, &w->cap_nodes, w->n_nodes + 1, sizeof *w->nodes))
        return -1;
    w->nodes[w->n_nodes++] = n;
    return 0;
}

static char *name2(writer *w, const char *a, const char *suffix)
{
    size_t n = strlen(a) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    snprintf(s, n, "%s%s", a, suffix);
    char *u = oq_qctx_name(w->q, s);
    free(s);
    if (u && oq_grow(&w->strs, &w->cap_strs, w->n_strs + 1, sizeof *w->strs)) {
        free(u);
        return NULL;
    }
    if (u)
        w->strs[w->n_strs++] = u;
    return u;
}

/* The range a tensor was planned to use. */
static const onnxq_tensor_range *range_for(writer *w, const char *t)
{
    size_t k, r;
    if (!oq_strmap_get(&w->p->key, t, &k))
        return NULL;
    if (!oq_strmap_get(&w->range_of, w->p->names[k], &r))
        return NULL;
    return &w->ranges[r];
}

/* Scale and zero point of activation t (added as initializers once). */
static onnxq_status get_act(writer *w, const char *t, float fixed_lo,
                            float fixed_hi, int fixed, qact **out)
{
    size_t k;
    if (oq_strmap_get(&w->act_of, t, &k)) {
        *out = w->acts[k];
        return ONNXQ_OK;
    }
    float lo, hi;
    if (fixed) {
        lo = fixed_lo;
        hi = fixed_hi;
    } else {
        const onnxq_tensor_range *r = range_for(w, t);
        if (!r)
            return onnxq_error_set(w->err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "no calibration range for tensor '%s'", t);
        lo = r->rmin;
        hi = r->rmax;
    }
    int32_t qmin, qmax;
    onnxq_status st = onnxq_qrange(w->o->activation_type,
                                   w->o->activation_symmetric, 0, &qmin,
                                   &qmax, w->err);
    if (st != ONNXQ_OK)
        return st;
    qact a;
    memset(&a, 0, sizeof a);
    st = onnxq_qparams(lo, hi, qmin, qmax, w->o->activation_symmetric,
                       &a.scale, &a.zp, w->err);
    if (st != ONNXQ_OK)
        return onnxq_error_prefix(w->err, "tensor '%s': ", t);
    a.name = oq_strdup(t);
    a.scale_name = name2(w, t, "_scale");
    a.zp_name = name2(w, t, "_zero_point");
    a.q_name = name2(w, t, w->o->format == ONNXQ_FORMAT_QOPERATOR
                               ? "_quantized" : "_QuantizeLinear_Output");
    if (!a.name || !a.scale_name || !a.zp_name || !a.q_name) {
        free(a.name);
        return oom(w);
    }
    int8_t zp8 = (int8_t)a.zp;
    uint8_t zpu = (uint8_t)a.zp;
    if (!onnxq_build_initializer(w->gp, a.scale_name, T_FLOAT, 0, NULL,
                                 &a.scale) ||
        !onnxq_build_initializer(w->gp, a.zp_name, w->o->activation_type, 0,
                                 NULL,
                                 w->o->activation_type == T_INT8
                                     ? (const void *)&zp8
                                     : (const void *)&zpu)) {
        free(a.name);
        return oom(w);
    }
    qact *heap = malloc(sizeof *heap);
    if (!heap || oq_grow(&w->acts, &w->cap_acts, w->n_acts + 1,
                         sizeof *w->acts)) {
        free(heap);
        free(a.name);
        return oom(w);
    }
    *heap = a;
    w->acts[w->n_acts] = heap;
    if (oq_strmap_put(&w->act_of, heap->name, w->n_acts++))
        return oom(w);
    *out = heap;
    return ONNXQ_OK;
}

/* Output t of a SHARE node: the parameters of src, under the same scale and
 * zero point initializers (as ONNX Runtime shares them); its own 8-bit
 * tensor name. */
static onnxq_status share_act(writer *w, const char *t, const qact *src,
                              qact **out)
{
    size_t k;
    if (oq_strmap_get(&w->act_of, t, &k))
        return onnxq_error_set(w->err, ONNXQ_ERR_INTERNAL,
                               "tensor '%s' quantized twice", t);
    qact a;
    memset(&a, 0, sizeof a);
    a.scale = src->scale;
    a.zp = src->zp;
    a.scale_name = src->scale_name;
    a.zp_name = src->zp_name;
    a.name = oq_strdup(t);
    a.q_name = name2(w, t, w->o->format == ONNXQ_FORMAT_QOPERATOR
                               ? "_quantized" : "_QuantizeLinear_Output");
    qact *heap = malloc(sizeof *heap);
    if (!a.name || !a.q_name || !heap ||
        oq_grow(&w->acts, &w->cap_acts, w->n_acts + 1, sizeof *w->acts)) {
        free(a.name);
        free(heap);
        return oom(w);
    }
    *heap = a;
    w->acts[w->n_acts] = heap;
    if (oq_strmap_put(&w->act_of, heap->name, w->n_acts++))
        return oom(w);
    *out = heap;
    return ONNXQ_OK;
}

/* QOperator: the 8-bit version of float activation t (QuantizeLinear if it
 * is not there yet). */
static onnxq_status q_input(writer *w, const char *t, qact **out)
{
    onnxq_status st = get_act(w, t, 0, 0, 0, out);
    if (st != ONNXQ_OK)
        return st;
    qact *a = *out;
    if (a->have_q)
        return ONNXQ_OK;
    a->float_ok = 1; /* a float tensor being quantized */
    const char *in[] = {t, a->scale_name, a->zp_name};
    const char *o[] = {a->q_name};
    char *nm = name2(w, t, "_QuantizeLinear");
    if (!nm || !emit(w, "QuantizeLinear", nm, in, 3, o, 1, NULL))
        return oom(w);
    a->have_q = 1;
    return ONNXQ_OK;
}

/* QOperator: make float tensor t available (DequantizeLinear of its 8-bit
 * version) if a quantized node made it. */
static onnxq_status need_float(writer *w, const char *t)
{
    size_t k;
    if (!t || !t[0] || !oq_strmap_get(&w->act_of, t, &k))
        return ONNXQ_OK;
    qact *a = w->acts[k];
    if (a->float_ok)
        return ONNXQ_OK;
    const char *in[] = {a->q_name, a->scale_name, a->zp_name};
    const char *o[] = {t};
    char *nm = name2(w, t, "_DequantizeLinear");
    if (!nm || !emit(w, "DequantizeLinear", nm, in, 3, o, 1, NULL))
        return oom(w);
    a->float_ok = 1;
    return ONNXQ_OK;
}

/* A constant input quantized as an activation (QOperator Add/Mul): its own
 * range, per tensor, activation type. */
static onnxq_status q_const_input(writer *w, const char *t, qact **out)
{
    size_t k;
    if (oq_strmap_get(&w->act_of, t, &k)) {
        *out = w->acts[k];
        return ONNXQ_OK;
    }
    const onnxq_graph *owner = NULL;
    const Onnx__TensorProto *tp = oq_float_weight(w->p->g, t, &owner);
    float *v = NULL;
    size_t n = 0;
    onnxq_status st = oq_read_floats(w->model, tp, &v, &n, w->err);
    if (st != ONNXQ_OK)
        return st;
    float lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    st = get_act(w, t, lo, hi, 1, out);
    if (st != ONNXQ_OK) {
        free(v);
        return st;
    }
    qact *a = *out;
    int32_t qmin, qmax;
    onnxq_qrange(w->o->activation_type, w->o->activation_symmetric, 0, &qmin,
                 &qmax, NULL);
    void *q = malloc(n ? n : 1);
    if (!q) {
        free(v);
        return oom(w);
    }
    onnxq_quantize_values(v, n, a->scale, a->zp, qmin, qmax,
                          w->o->activation_type, q);
    free(v);
    Onnx__TensorProto *it = onnxq_build_initializer(
        w->gp, a->q_name, w->o->activation_type, tp->n_dims, tp->dims, q);
    free(q);
    if (!it)
        return oom(w);
    a->have_q = 1;
    a->float_ok = 1;
    return ONNXQ_OK;
}

static int weight_axis(const writer *w, const Onnx__NodeProto *n)
{
    if (!w->o->per_channel)
        return -1;
    if (is_op(n, "Conv"))
        return 0;
    if (is_op(n, "ConvTranspose"))
        return 1;
    if (is_op(n, "Gemm"))
        return attr_i(n, "transB", 0) ? 0 : 1;
    if (is_op(n, "MatMul") && w->o->format == ONNXQ_FORMAT_QDQ) {
        const Onnx__TensorProto *b = oq_float_weight(w->p->g, n->input[1], NULL);
        return b && b->n_dims >= 2 ? (int)b->n_dims - 1 : -1;
    }
    return -1;
}

/* The int32 bias of a Conv/Gemm: B_quantized with scale input_scale *
 * weight scale(s); with want_params also its scale and zero point (QDQ). */
static onnxq_status q_bias(writer *w, const char *b, float in_scale,
                           const oq_qweight_ref *wr, int want_params,
                           char **q_name, char **scale_name, char **zp_name)
{
    const Onnx__TensorProto *tp = oq_float_weight(w->p->g, b, NULL);
    float *v = NULL;
    size_t n = 0;
    onnxq_status st = oq_read_floats(w->model, tp, &v, &n, w->err);
    if (st != ONNXQ_OK)
        return st;
    size_t ns = wr->q.n_params;
    if (ns != 1 && ns != n) {
        free(v);
        return onnxq_error_set(w->err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "bias '%s' has %zu values for %zu weight "
                               "scales", b, n, ns);
    }
    int32_t *q = malloc((n ? n : 1) * sizeof *q);
    float *bs = malloc((ns ? ns : 1) * sizeof *bs);
    if (!q || !bs) {
        free(v), free(q), free(bs);
        return oom(w);
    }
    onnxq_quantize_bias(v, n, in_scale, wr->q.scales, ns, q, bs, NULL);
    free(v);
    *q_name = name2(w, b, "_quantized");
    int64_t d = (int64_t)n;
    int ok = *q_name &&
             onnxq_build_initializer(w->gp, *q_name, T_INT32, 1, &d, q);
    if (ok && want_params) {
        *scale_name = name2(w, b, "_quantized_scale");
        *zp_name = name2(w, b, "_quantized_zero_point");
        int64_t ds = (int64_t)ns;
        int32_t *z = calloc(ns ? ns : 1, sizeof *z);
        ok = *scale_name && *zp_name && z &&
             onnxq_build_initializer(w->gp, *scale_name, T_FLOAT,
                                     ns == 1 ? 0 : 1, &ds, bs) &&
             onnxq_build_initializer(w->gp, *zp_name, T_INT32,
                                     ns == 1 ? 0 : 1, &ds, z);
        free(z);
    }
    free(q);
    free(bs);
    return ok ? ONNXQ_OK : oom(w);
}

static onnxq_status weight(writer *w, const Onnx__NodeProto *n, size_t idx,
                           int axis, int32_t dtype, int symmetric,
                           const oq_qweight_ref **out)
{
    onnxq_status st = oq_qctx_weight(w->q, w->p->g, n->input[idx], dtype,
                                     symmetric, w->o->reduce_range, axis, out,
                                     w->err);
    if (st == ONNXQ_OK && w->rep)
        w->rep->weights_quantized++;
    return st;
}

/* The weight of Conv/Gemm/MatMul n (input 1).  With a float bias (Conv,
 * Gemm), int8 weight scales grow where the int32 bias of scale in_scale x
 * weight scale would overflow: ONNX Runtime's
 * _adjust_weight_scale_for_int32_bias, which both of its formats apply
 * (whether or not QuantizeBias keeps the bias float). */
static onnxq_status main_weight(writer *w, const Onnx__NodeProto *n,
                                float in_scale, const oq_qweight_ref **out)
{
    oq_wopts o;
    memset(&o, 0, sizeof o);
    o.dtype = w->o->weight_type;
    o.symmetric = w->w_symmetric;
    o.reduce_range = w->o->reduce_range;
    o.axis = weight_axis(w, n);
    float *b = NULL;
    size_t nb = 0;
    const Onnx__TensorProto *bt =
        (is_conv(n) || is_op(n, "Gemm")) && present(n, 2)
            ? oq_float_weight(w->p->g, n->input[2], NULL)
            : NULL;
    if (bt && !w->o->keep_weight_scales) {
        onnxq_status st = oq_read_floats(w->model, bt, &b, &nb, w->err);
        if (st != ONNXQ_OK)
            return st;
        o.bias = b;
        o.n_bias = nb;
        o.bias_input_scale = in_scale;
    }
    onnxq_status st = oq_qctx_weight_ex(w->q, w->p->g, n->input[1], &o, out,
                                        w->err);
    free(b);
    if (st == ONNXQ_OK && w->rep)
        w->rep->weights_quantized++;
    return st;
}

/* Moves the attributes of old to n. */
static void take_attrs(Onnx__NodeProto *n, Onnx__NodeProto *old)
{
    n->attribute = old->attribute;
    n->n_attribute = old->n_attribute;
    old->attribute = NULL;
    old->n_attribute = 0;
}

static char *qop_name(writer *w, const Onnx__NodeProto *n)
{
    return name2(w, n->name && n->name[0] ? n->name : n->output[0], "_quant");
}

/* QOperator: one quantized node replaced by its QLinear form. */
static onnxq_status write_qop(writer *w, Onnx__NodeProto *n)
{
    onnxq_status st;
    const char *in[16];
    size_t n_in = 0;
    const char *op = NULL, *domain = NULL;
    int out_fixed = 0;
    float fix_lo = 0, fix_hi = 0;
    qact *x = NULL, *y = NULL;
    char *extra_name = NULL;
    if (is_op(n, "Conv") || is_op(n, "Gemm") ||
        (is_op(n, "MatMul") && !is_activation(w->p, n->input[1]))) {
        int is_gemm = is_op(n, "Gemm");
        st = q_input(w, n->input[0], &x);
        if (st != ONNXQ_OK)
            return st;
        const oq_qweight_ref *wr;
        st = main_weight(w, n, x->scale, &wr);
        if (st != ONNXQ_OK)
            return st;
        in[n_in++] = x->q_name;
        in[n_in++] = x->scale_name;
        in[n_in++] = x->zp_name;
        in[n_in++] = wr->q_name;
        in[n_in++] = wr->scale_name;
        in[n_in++] = wr->zp_name;
        st = get_act(w, n->output[0], 0, 0, 0, &y);
        if (st != ONNXQ_OK)
            return st;
        if (is_gemm) {
            char *bq = NULL;
            if (present(n, 2)) {
                st = q_bias(w, n->input[2], x->scale, wr, 0, &bq, NULL, NULL);
                if (st != ONNXQ_OK)
                    return st;
            }
            in[n_in++] = bq ? bq : "";
            in[n_in++] = y->scale_name;
            in[n_in++] = y->zp_name;
            op = "QGemm";
            domain = "com.microsoft";
        } else if (is_op(n, "Conv")) {
            in[n_in++] = y->scale_name;
            in[n_in++] = y->zp_name;
            if (present(n, 2)) {
                char *bq = NULL;
                st = q_bias(w, n->input[2], x->scale, wr, 0, &bq, NULL, NULL);
                if (st != ONNXQ_OK)
                    return st;
                in[n_in++] = bq;
            }
            op = "QLinearConv";
        } else {
            in[n_in++] = y->scale_name;
            in[n_in++] = y->zp_name;
            op = "QLinearMatMul";
        }
    } else {
        /* every input an activation (or a constant quantized like one) */
        int is_concat = is_op(n, "Concat");
        if (is_op(n, "Softmax")) {
            out_fixed = 1;
            fix_lo = 0;
            fix_hi = 1;
        }
        if (is_op(n, "MatMul"))
            op = "QLinearMatMul";
        else if (is_op(n, "Add"))
            op = "QLinearAdd", domain = "com.microsoft";
        else if (is_op(n, "Mul"))
            op = "QLinearMul", domain = "com.microsoft";
        else if (is_concat)
            op = "QLinearConcat", domain = "com.microsoft";
        else if (is_op(n, "GlobalAveragePool"))
            op = "QLinearGlobalAveragePool", domain = "com.microsoft";
        else if (is_op(n, "AveragePool"))
            op = "QLinearAveragePool", domain = "com.microsoft";
        else if (is_op(n, "Sigmoid"))
            op = "QLinearSigmoid", domain = "com.microsoft";
        else if (is_op(n, "LeakyRelu"))
            op = "QLinearLeakyRelu", domain = "com.microsoft";
        else if (is_op(n, "Softmax"))
            op = "QLinearSoftmax", domain = "com.microsoft";
        else
            return onnxq_error_set(w->err, ONNXQ_ERR_INTERNAL,
                                   "no QOperator form for %s", n->op_type);
        st = get_act(w, n->output[0], fix_lo, fix_hi, out_fixed, &y);
        if (st != ONNXQ_OK)
            return st;
        if (is_concat) {
            in[n_in++] = y->scale_name;
            in[n_in++] = y->zp_name;
        }
        if (n->n_input > 4 && is_concat)
            return onnxq_error_set(w->err, ONNXQ_ERR_UNSUPPORTED,
                                   "Concat '%s' with %zu inputs (onnxq "
                                   "quantizes up to 4)", n->name, n->n_input);
        for (size_t i = 0; i < n->n_input; i++) {
            qact *a;
            st = is_activation(w->p, n->input[i])
                     ? q_input(w, n->input[i], &a)
                     : q_const_input(w, n->input[i], &a);
            if (st != ONNXQ_OK)
                return st;
            in[n_in++] = a->q_name;
            in[n_in++] = a->scale_name;
            in[n_in++] = a->zp_name;
        }
        if (!is_concat) {
            in[n_in++] = y->scale_name;
            in[n_in++] = y->zp_name;
        }
    }
    const char *outs[] = {y->q_name};
    extra_name = qop_name(w, n);
    Onnx__NodeProto *q = extra_name ? emit(w, op, extra_name, in, n_in, outs,
                                           1, domain)
                                    : NULL;
    if (!q)
        return oom(w);
    take_attrs(q, n);
    if (is_op(n, "Gemm")) {
        /* QGemm keeps alpha, transA, transB; beta is folded (it is 1) */
        for (size_t i = 0; i < q->n_attribute; i++)
            if (strcmp(q->attribute[i]->name, "beta") == 0) {
                onnx__attribute_proto__free_unpacked(q->attribute[i], NULL);
                q->attribute[i] = q->attribute[--q->n_attribute];
                break;
            }
    }
    if (is_op(n, "Softmax"))
        onnxq_build_attr_int(q, "opset",
                             onnxq_model_opset(w->model, ""));
    if (is_op(n, "GlobalAveragePool") || is_op(n, "AveragePool"))
        onnxq_build_attr_int(q, "channels_last", 0);
    y->have_q = 1;
    return ONNXQ_OK;
}

/* QOperator: a SHARE node kept as it is, reading and writing 8-bit
 * tensors (ONNX Runtime has 8-bit kernels for each of them). */
static onnxq_status write_share_qop(writer *w, Onnx__NodeProto *n)
{
    qact *x;
    onnxq_status st = q_input(w, n->input[0], &x);
    for (size_t j = 1; j < n->n_input && st == ONNXQ_OK; j++)
        st = need_float(w, n->input[j]);
    if (st != ONNXQ_OK)
        return st;
    if (replace_str(w, &n->input[0], x->q_name))
        return oom(w);
    for (size_t k = 0; k < n->n_output; k++) {
        if (!n->output[k] || !n->output[k][0])
            continue;
        qact *y;
        st = share_act(w, n->output[k], x, &y);
        if (st != ONNXQ_OK)
            return st;
        if (replace_str(w, &n->output[k], y->q_name))
            return oom(w);
        y->have_q = 1;
    }
    return keep_node(w, n) ? oom(w) : ONNXQ_OK;
}

/* ---- QDQ ------------------------------------------------------------------------ */

/* The name consumers read instead of t (QDQ), or t. */
static const char *renamed_as(writer *w, const char *t)
{
    size_t k;
    if (t && t[0] && oq_strmap_get(&w->rename, t, &k))
        return w->renamed[k];
    return t;
}

static onnxq_status set_rename(writer *w, const char *t, char *to)
{
    if (oq_grow(&w->renamed, &w->cap_renamed, w->n_renamed + 1,
                sizeof *w->renamed))
        return oom(w);
    w->renamed[w->n_renamed] = to;
    const char *key = w->renamed[w->n_renamed];
    (void)key;
    /* the key must outlive the map: keep it in acts[] (get_act dup) */
    size_t k;
    if (!oq_strmap_get(&w->act_of, t, &k))
        return onnxq_error_set(w->err, ONNXQ_ERR_INTERNAL,
                               "rename of unknown tensor '%s'", t);
    if (oq_strmap_put(&w->rename, w->acts[k]->name, w->n_renamed))
        return oom(w);
    w->n_renamed++;
    return ONNXQ_OK;
}

static int in_list(const char *list, const char *op)
{
    if (!list)
        return 0;
    size_t n = strlen(op);
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && strncmp(s, op, n) == 0)
            return 1;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

/* QDQ: a Q -> DQ pair on activation t, placed now (right after t is made);
 * later readers of t read the DequantizeLinear output. */
static onnxq_status qdq_pair(writer *w, const char *t)
{
    qact *a;
    size_t k;
    if (oq_strmap_get(&w->rename, t, &k))
        return ONNXQ_OK;
    onnxq_status st = get_act(w, t, 0, 0, 0, &a);
    if (st != ONNXQ_OK)
        return st;
    char *dq_out = name2(w, t, "_DequantizeLinear_Output");
    char *qn = name2(w, t, "_QuantizeLinear");
    char *dqn = name2(w, t, "_DequantizeLinear");
    if (!dq_out || !qn || !dqn)
        return oom(w);
    const char *qin[] = {t, a->scale_name, a->zp_name};
    const char *qout[] = {a->q_name};
    const char *din[] = {a->q_name, a->scale_name, a->zp_name};
    const char *dout[] = {dq_out};
    if (!emit(w, "QuantizeLinear", qn, qin, 3, qout, 1, NULL) ||
        !emit(w, "DequantizeLinear", dqn, din, 3, dout, 1, NULL))
        return oom(w);
    return set_rename(w, t, dq_out);
}

/* QDQ: DequantizeLinear of a quantized weight; returns the float name. */
static onnxq_status dq_weight(writer *w, const char *wname,
                              const oq_qweight_ref *wr, const char **out)
{
    char *dq_out = name2(w, wname, "_DequantizeLinear_Output");
    char *dqn = name2(w, wname, "_DequantizeLinear");
    if (!dq_out || !dqn)
        return oom(w);
    Onnx__NodeProto *d;
    if (w->o->add_qdq_pair_to_weight) {
        /* the float weight stays, with a Q -> DQ pair on it */
        char *qn = name2(w, wname, "_QuantizeLinear");
        char *qo = name2(w, wname, "_QuantizeLinear_Output");
        if (!qn || !qo)
            return oom(w);
        const char *qin[] = {wname, wr->scale_name, wr->zp_name};
        const char *qout[] = {qo};
        Onnx__NodeProto *qnode =
            emit(w, "QuantizeLinear", qn, qin, 3, qout, 1, NULL);
        if (!qnode)
            return oom(w);
        if (wr->q.axis >= 0)
            onnxq_build_attr_int(qnode, "axis", wr->q.axis);
        const char *din[] = {qo, wr->scale_name, wr->zp_name};
        const char *dout[] = {dq_out};
        d = emit(w, "DequantizeLinear", dqn, din, 3, dout, 1, NULL);
    } else {
        const char *din[] = {wr->q_name, wr->scale_name, wr->zp_name};
        const char *dout[] = {dq_out};
        d = emit(w, "DequantizeLinear", dqn, din, 3, dout, 1, NULL);
    }
    if (!d)
        return oom(w);
    if (wr->q.axis >= 0)
        onnxq_build_attr_int(d, "axis", wr->q.axis);
    *out = dq_out;
    return ONNXQ_OK;
}

/* QDQ: the weight, bias and constant inputs of a quantized node become
 * DequantizeLinear outputs; activation inputs were given their pairs when
 * they were made. */
static onnxq_status write_qdq_node(writer *w, Onnx__NodeProto *n)
{
    onnxq_status st;
    int has_w = is_conv(n) || is_op(n, "Gemm") ||
                (is_op(n, "MatMul") && !is_activation(w->p, n->input[1]));
    /* decided on the original names: the loop renames inputs */
    unsigned act_mask = 0;
    for (size_t i = 0; i < n->n_input && i < 32; i++)
        if (present(n, i) && is_activation(w->p, n->input[i]))
            act_mask |= 1u << i;
    for (size_t i = 0; i < n->n_input && i < 32; i++) {
        if (!present(n, i))
            continue;
        if (has_w && i == 2)
            continue; /* bias, with the weight */
        if (act_mask & (1u << i)) {
            /* graph inputs and float-made tensors get their pair here */
            st = qdq_pair(w, n->input[i]);
            if (st != ONNXQ_OK)
                return st;
            continue;
        }
        const oq_qweight_ref *wr;
        if (has_w && i == 1) {
            qact *x;
            st = get_act(w, n->input[0], 0, 0, 0, &x);
            if (st == ONNXQ_OK)
                st = main_weight(w, n, x->scale, &wr);
        } else {
            st = weight(w, n, i, -1, w->o->weight_type, w->w_symmetric, &wr);
        }
        if (st != ONNXQ_OK)
            return st;
        const char *f = NULL;
        st = dq_weight(w, n->input[i], wr, &f);
        if (st != ONNXQ_OK)
            return st;
        if (replace_str(w, &n->input[i], f))
            return oom(w);
        if (has_w && i == 1 && present(n, 2) && w->o->quantize_bias) {
            qact *x;
            st = get_act(w, n->input[0], 0, 0, 0, &x);
            if (st != ONNXQ_OK)
                return st;
            char *bq, *bs, *bz;
            st = q_bias(w, n->input[2], x->scale, wr, 1, &bq, &bs, &bz);
            if (st != ONNXQ_OK)
                return st;
            char *dq_out = name2(w, n->input[2], "_DequantizeLinear_Output");
            char *dqn = name2(w, n->input[2], "_DequantizeLinear");
            if (!dq_out || !dqn)
                return oom(w);
            const char *din[] = {bq, bs, bz};
            const char *dout[] = {dq_out};
            Onnx__NodeProto *d =
                emit(w, "DequantizeLinear", dqn, din, 3, dout, 1, NULL);
            if (!d)
                return oom(w);
            if (wr->q.n_params > 1)
                onnxq_build_attr_int(d, "axis", 0);
            if (replace_str(w, &n->input[2], dq_out))
                return oom(w);
        }
    }
    return ONNXQ_OK;
}

/* ---- driver ------------------------------------------------------------------ */

/* The writer's pending subgraph node lists: swapped in once the views
 * over the old lists are gone. */
typedef struct sub_swap {
    Onnx__GraphProto *gp;
    Onnx__NodeProto **nodes;
    size_t n;
} sub_swap;

static const sub_node *sub_entry(const plan *p, const onnxq_graph *g,
                                 size_t i)
{
    for (size_t k = 0; k < p->n_subs; k++)
        if (p->subs[k].g == g && p->subs[k].node == i)
            return &p->subs[k];
    return NULL;
}

/* QDQ: rewrites subgraph g's node list into *sw (the main writer's steps
 * on its QUANT nodes, in g's scope: its own renames, p->g = g so weights
 * and constants resolve there).  Initializers (scales, zero points) go to
 * the main graph, which every subgraph sees. */
static onnxq_status write_sub(writer *w, const onnxq_graph *g, sub_swap *sw)
{
    plan *p = w->p;
    onnxq_graph *main_g = p->g;
    Onnx__NodeProto **nodes = w->nodes;
    size_t n_nodes = w->n_nodes, cap_nodes = w->cap_nodes;
    oq_strmap rename = w->rename;
    char **renamed = w->renamed;
    size_t n_renamed = w->n_renamed, cap_renamed = w->cap_renamed;
    w->nodes = NULL;
    w->n_nodes = w->cap_nodes = 0;
    memset(&w->rename, 0, sizeof w->rename);
    w->renamed = NULL;
    w->n_renamed = w->cap_renamed = 0;
    p->g = (onnxq_graph *)g;
    size_t nn = onnxq_graph_node_count(g);
    size_t *order = malloc((nn ? nn : 1) * sizeof *order);
    onnxq_status st = order ? onnxq_graph_topo_order(g, order, w->err)
                            : oom(w);
    for (size_t k = 0; k < nn && st == ONNXQ_OK; k++) {
        size_t i = order[k];
        Onnx__NodeProto *n = onnxq_graph_node(g, i);
        const sub_node *e = sub_entry(p, g, i);
        int quant = e && e->quant;
        if (quant)
            st = write_qdq_node(w, n);
        for (size_t j = 0; j < n->n_input && st == ONNXQ_OK; j++) {
            const char *r = renamed_as(w, n->input[j]);
            if (r != n->input[j] && replace_str(w, &n->input[j], r))
                st = oom(w);
        }
        if (st == ONNXQ_OK && keep_node(w, n))
            st = oom(w);
        if (st == ONNXQ_OK && quant)
            st = qdq_pair(w, n->output[0]);
    }
    free(order);
    sw->gp = onnxq_graph_proto(g);
    sw->nodes = w->nodes;
    sw->n = w->n_nodes;
    oq_strmap_clear(&w->rename);
    free(w->renamed);
    w->nodes = nodes;
    w->n_nodes = n_nodes;
    w->cap_nodes = cap_nodes;
    w->rename = rename;
    w->renamed = renamed;
    w->n_renamed = n_renamed;
    w->cap_renamed = cap_renamed;
    p->g = main_g;
    return st;
}

/* write_sub on every subgraph below g that holds a quantized node. */
static onnxq_status write_subs(writer *w, const onnxq_graph *g,
                               sub_swap **sw, size_t *n_sw, size_t *cap_sw)
{
    for (size_t i = 0; i < onnxq_graph_node_count(g); i++)
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, i); k++) {
            const onnxq_graph *sub = onnxq_graph_subgraph(g, i, k, NULL);
            int any = 0;
            for (size_t e = 0; e < w->p->n_subs && !any; e++)
                any = w->p->subs[e].g == sub && w->p->subs[e].quant;
            if (any) {
                if (oq_grow(sw, cap_sw, *n_sw + 1, sizeof **sw))
                    return oom(w);
                sub_swap *s = &(*sw)[(*n_sw)++];
                memset(s, 0, sizeof *s);
                onnxq_status st = write_sub(w, sub, s);
                if (st != ONNXQ_OK)
                    return st;
            }
            onnxq_status st = write_subs(w, sub, sw, n_sw, cap_sw);
            if (st != ONNXQ_OK)
                return st;
        }
    return ONNXQ_OK;
}

/* Subgraph nodes in the report, with the subgraph they are in. */
static int report_subgraphs(const plan *p, onnxq_static_report *rep,
                            size_t *cap)
{
    for (size_t k = 0; k < p->n_subs; k++) {
        const sub_node *e = &p->subs[k];
        if (oq_grow(&rep->nodes, cap, rep->n_nodes + 1, sizeof *rep->nodes))
            return -1;
        onnxq_static_node *r = &rep->nodes[rep->n_nodes++];
        memset(r, 0, sizeof *r);
        r->name = oq_strdup(onnxq_graph_node_label(e->g, e->node));
        r->op_type = oq_strdup(onnxq_graph_node(e->g, e->node)->op_type);
        r->reason = oq_strdup(e->reason);
        r->quantized = e->quant;
        rep->n_quantized += e->quant;
        if (!r->name || !r->op_type || !r->reason)
            return -1;
    }
    return 0;
}

static onnxq_status fill_report(writer *w, onnxq_static_report *rep)
{
    plan *p = w->p;
    size_t cap = p->nn ? p->nn : 1;
    rep->nodes = calloc(cap, sizeof *rep->nodes);
    if (!rep->nodes)
        return oom(w);
    rep->n_nodes = p->nn;
    for (size_t i = 0; i < p->nn; i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(p->g, i);
        onnxq_static_node *r = &rep->nodes[i];
        r->name = oq_strdup(onnxq_graph_node_label(p->g, i));
        r->op_type = oq_strdup(n->op_type);
        r->quantized = p->act[i] != A_FLOAT;
        rep->n_quantized += r->quantized;
        if (p->act[i] == A_FOLD)
            r->reason = dupf("folded into %s",
                             onnxq_graph_node_label(p->g, p->fold_of[i]));
        else if (p->act[i] == A_SHARE)
            r->reason = dupf("runs on 8-bit data with its input's scale and "
                             "zero point", NULL);
        else if (p->reason[i])
            r->reason = oq_strdup(p->reason[i]);
        if (!r->name || !r->op_type)
            return oom(w);
    }
    if (report_subgraphs(p, rep, &cap))
        return oom(w);
    return ONNXQ_OK;
}

onnxq_status onnxq_static_quantize(onnxq_model *model,
                                   const onnxq_static_options *o,
                                   const onnxq_tensor_range *ranges,
                                   size_t n_ranges, onnxq_static_report *rep,
                                   onnxq_error *err)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    plan p;
    onnxq_status st = make_plan(model, o, &p, err);
    if (st != ONNXQ_OK)
        return st;
    writer w;
    memset(&w, 0, sizeof w);
    sub_swap *sw = NULL;
    size_t n_sw = 0, cap_sw = 0;
    w.model = model;
    w.o = o;
    w.p = &p;
    w.ranges = ranges;
    w.n_ranges = n_ranges;
    w.rep = rep;
    w.err = err;
    w.gp = onnxq_model_proto(model)->graph;
    onnx__graph_proto__init(&w.scratch);
    w.w_symmetric = o->weight_symmetric >= 0 ? o->weight_symmetric
                                             : o->weight_type == T_INT8;
    for (size_t i = 0; i < n_ranges; i++)
        if (oq_strmap_put(&w.range_of, ranges[i].name, i)) {
            st = oom(&w);
            goto done;
        }
    for (size_t k = 0; k < p.n_names; k++) {
        size_t r;
        if (!oq_strmap_get(&w.range_of, p.names[k], &r)) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "no calibration range for tensor '%s'",
                                 p.names[k]);
            goto done;
        }
    }
    if ((st = drop_unreached(&p, ranges, &w.range_of, err)) != ONNXQ_OK)
        goto done;
    /* opsets: QLinear ops need 10, per-axis DequantizeLinear 13 */
    int64_t want = o->format == ONNXQ_FORMAT_QDQ && o->per_channel ? 13 : 11;
    int64_t from = onnxq_model_opset(model, "");
    if (rep)
        rep->opset_from = rep->opset_to = from;
    if (from < want) {
        st = oq_raise_opset(model, want, &from, err);
        if (st != ONNXQ_OK)
            goto done;
        if (rep)
            rep->opset_to = want;
    }
    st = oq_qctx_create(model, &w.q, err);
    if (st != ONNXQ_OK)
        goto done;
    if (rep && (st = fill_report(&w, rep)) != ONNXQ_OK)
        goto done;

    /* the new node list is built in w.nodes; the old list stays in the
     * proto (the plan's view reads it) until the swap at the end */
    Onnx__NodeProto **old = w.gp->node;
    if (w.gp->n_node != p.nn) {
        st = onnxq_error_set(err, ONNXQ_ERR_INTERNAL, "node count changed");
        goto done;
    }
    int qop = o->format == ONNXQ_FORMAT_QOPERATOR;
    /* folds: the producer writes the Relu's output directly */
    for (size_t i = 0; i < p.nn; i++)
        if (p.act[i] == A_FOLD &&
            replace_str(&w, &old[p.fold_of[i]]->output[0], old[i]->output[0])) {
            st = oom(&w);
            goto done;
        }
    for (size_t k = 0; k < p.nn && st == ONNXQ_OK; k++) {
        size_t i = p.order[k];
        Onnx__NodeProto *n = old[i];
        if (p.act[i] == A_FOLD) {
            if (bury_node(&w, n))
                st = oom(&w);
            continue;
        }
        if (p.act[i] == A_QUANT && qop) {
            st = write_qop(&w, n);
            if (st == ONNXQ_OK && bury_node(&w, n))
                st = oom(&w);
            continue;
        }
        if (p.act[i] == A_SHARE && qop) {
            st = write_share_qop(&w, n);
            continue;
        }
        /* QDQ: the input's pair (new only when forced); the old name
         * stays valid in the grave after the renaming below */
        const char *share_in = NULL;
        if (p.act[i] == A_SHARE) {
            share_in = n->input[0];
            st = qdq_pair(&w, share_in);
        }
        if (qop) {
            for (size_t j = 0; j < n->n_input && st == ONNXQ_OK; j++)
                st = need_float(&w, n->input[j]);
            /* an If/Loop/Scan body reads outer names as float too */
            if (onnxq_graph_subgraph_count(p.g, i))
                for (size_t v = 0;
                     v < onnxq_graph_value_count(p.g) && st == ONNXQ_OK; v++) {
                    const onnxq_value *val = onnxq_graph_value_at(p.g, v);
                    for (size_t u = 0; u < val->n_uses; u++)
                        if (val->uses[u].node == i &&
                            val->uses[u].input == SIZE_MAX) {
                            st = need_float(&w, val->name);
                            break;
                        }
                }
        } else {
            if (p.act[i] == A_QUANT)
                st = write_qdq_node(&w, n);
            for (size_t j = 0; j < n->n_input && st == ONNXQ_OK; j++) {
                const char *r = renamed_as(&w, n->input[j]);
                if (r != n->input[j] && replace_str(&w, &n->input[j], r))
                    st = oom(&w);
            }
        }
        if (st != ONNXQ_OK)
            break;
        if (keep_node(&w, n)) {
            st = oom(&w);
            break;
        }
        /* QDQ: a SHARE node's outputs get pairs with its input's
         * parameters, so DQ -> op -> Q is a no-op ONNX Runtime drops */
        if (!qop && p.act[i] == A_SHARE) {
            qact *x = NULL;
            st = get_act(&w, share_in, 0, 0, 0, &x);
            for (size_t kk = 0; kk < n->n_output && st == ONNXQ_OK; kk++) {
                qact *y;
                if (!n->output[kk] || !n->output[kk][0])
                    continue;
                st = share_act(&w, n->output[kk], x, &y);
                if (st == ONNXQ_OK)
                    st = qdq_pair(&w, n->output[kk]);
            }
        }
        /* QDQ: outputs of quantized nodes get their pair right away */
        if (!qop && p.act[i] == A_QUANT &&
            !in_list(o->exclude_output_op_types, n->op_type)) {
            const char *y = n->output[0];
            size_t kk;
            if (is_op(n, "Softmax")) {
                qact *a;
                st = get_act(&w, y, 0, 1, 1, &a);
                if (st == ONNXQ_OK)
                    st = qdq_pair(&w, y);
            } else if (oq_strmap_get(&p.key, y, &kk)) {
                st = qdq_pair(&w, y);
            }
        }
    }
    /* QDQ: the quantized nodes of subgraphs, each body in its scope */
    if (!qop && st == ONNXQ_OK)
        st = write_subs(&w, p.g, &sw, &n_sw, &cap_sw);
    /* QOperator: graph outputs made by quantized nodes are dequantized */
    for (size_t i = 0; qop && i < w.gp->n_output && st == ONNXQ_OK; i++)
        st = need_float(&w, w.gp->output[i]->name);
    if (st != ONNXQ_OK)
        goto done;
    /* the swap.  Views over the graph go first: onnxq_graph_destroy walks
     * the proto's current node list, which must be the one it indexed.
     * Float weights nobody reads any more go with remove_dead below. */
    onnxq_graph_destroy(p.g);
    p.g = NULL;
    oq_qctx_destroy(w.q);
    w.q = NULL;
    free(w.gp->node);
    w.gp->node = w.nodes;
    w.gp->n_node = w.n_nodes;
    w.nodes = NULL;
    w.n_nodes = 0;
    for (size_t i = 0; i < w.n_dead; i++)
        onnx__node_proto__free_unpacked(w.dead[i], NULL);
    w.n_dead = 0;
    for (size_t i = 0; i < n_sw; i++) {
        free(sw[i].gp->node);
        sw[i].gp->node = sw[i].nodes;
        sw[i].gp->n_node = sw[i].n;
        sw[i].nodes = NULL;
    }
    if (w.used_ms)
        st = oq_import_domain(model, "com.microsoft", 1, err);
    if (st == ONNXQ_OK)
        st = onnxq_model_remove_dead(model, NULL, NULL, err);
done:
    /* on failure the old list is still the model's; new nodes are ours */
    for (size_t i = 0; i < w.n_nodes; i++) {
        int is_old = 0;
        for (size_t j = 0; j < w.gp->n_node && !is_old; j++)
            is_old = w.gp->node[j] == w.nodes[i];
        if (!is_old)
            onnx__node_proto__free_unpacked(w.nodes[i], NULL);
    }
    free(w.nodes);
    for (size_t k = 0; k < n_sw; k++) {
        for (size_t i = 0; sw[k].nodes && i < sw[k].n; i++) {
            int is_old = 0;
            for (size_t j = 0; j < sw[k].gp->n_node && !is_old; j++)
                is_old = sw[k].gp->node[j] == sw[k].nodes[i];
            if (!is_old)
                onnx__node_proto__free_unpacked(sw[k].nodes[i], NULL);
        }
        free(sw[k].nodes);
    }
    free(sw);
    free(w.dead);
    free(w.scratch.node);
    for (size_t i = 0; i < w.n_grave; i++)
        free(w.grave[i]);
    free(w.grave);
    for (size_t i = 0; i < w.n_acts; i++)
    {
        free(w.acts[i]->name); /* the other names are in w.strs */
        free(w.acts[i]);
    }
    for (size_t i = 0; i < w.n_strs; i++)
        free(w.strs[i]);
    free(w.strs);
    free(w.acts);
    free(w.renamed);
    oq_strmap_clear(&w.act_of);
    oq_strmap_clear(&w.rename);
    oq_strmap_clear(&w.range_of);
    oq_qctx_destroy(w.q);
    plan_clear(&p);
    if (st != ONNXQ_OK && rep)
        onnxq_static_report_clear(rep);
    return st;
}
