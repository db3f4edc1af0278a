/*
 * fuse_conv.c — finds the Conv fusions a session runs (see fuse_conv.h).
 *
 * Patterns, each intermediate read only by the next node and not a graph
 * output: Conv -> act; Conv -> Add(., Z); Conv -> Add(., Z) -> act, where
 * act is Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid or Clip (constant
 * bounds, min <= max) — the activations com.microsoft FusedConv has, so the
 * fused node means exactly act(conv + B + Z) and its reference kernel is
 * the ground truth when oneDNN hands the node back.  The Conv's W must be a
 * float32 constant (so X and Y are float32 too).  Z must exist before the
 * Conv runs (its producer comes earlier in the run order), and, as
 * FusedConv does not broadcast Z, the executor checks per run that Z has
 * the Conv's output shape (oq_fuse_conv_z_fits), running the original
 * nodes when it has not.
 *
 * Also Conv -> Mul(s) and/or Add(b) with scalar float32 constants, then
 * optionally the hard-swish chain (hswish_chain below) with k = 3, clip to
 * [0, 6] and / 6 (or * 1/6): oneDNN's hardswish.  These become the onnxq_*
 * attributes of the FusedConv (fuse_conv.h); no Z nor activation then.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_conv.h"

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *n,
                                             const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static float attr_f(const Onnx__NodeProto *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    return a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT ? a->f
                                                                       : dflt;
}

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    return (!n->domain || !n->domain[0] || strcmp(n->domain, "ai.onnx") == 0) &&
           n->op_type && strcmp(n->op_type, op) == 0;
}

static const oq_tensor *const_of(const onnxq_graph *g,
                                 oq_tensor *const *consts, const char *name)
{
    const onnxq_value *v = name && name[0] ? onnxq_graph_value(g, name) : NULL;
    return v ? consts[v - onnxq_graph_value_at(g, 0)] : NULL;
}

/* The only reader of value name, or SIZE_MAX when it has several, none, or
 * is a graph output. */
static size_t only_reader(const onnxq_graph *g, const char *name)
{
    const onnxq_value *v = onnxq_graph_value(g, name);
    if (!v || v->is_graph_output || v->n_uses != 1)
        return SIZE_MAX;
    return v->uses[0].node;
}

/* Reads node n as a FusedConv activation into f; 0, or -1 if it is not one
 * (or its bounds are not constant). */
static int activation_of(const onnxq_graph *g, oq_tensor *const *consts,
                         const Onnx__NodeProto *n, int64_t opset,
                         oq_conv_fusion *f, const char **kind, int *n_params)
{
    *n_params = 0;
    if (n->n_output != 1 || n->n_input < 1)
        return -1;
    if (is_op(n, "Relu") || is_op(n, "Sigmoid") || is_op(n, "Tanh")) {
        if (n->n_input != 1)
            return -1;
        *kind = n->op_type;
        return 0;
    }
    if (is_op(n, "LeakyRelu") && n->n_input == 1) {
        *kind = "LeakyRelu";
        f->param_v[0] = attr_f(n, "alpha", 0.01f);
        *n_params = 1;
        return 0;
    }
    if (is_op(n, "HardSigmoid") && n->n_input == 1) {
        *kind = "HardSigmoid";
        f->param_v[0] = attr_f(n, "alpha", 0.2f);
        f->param_v[1] = attr_f(n, "beta", 0.5f);
        *n_params = 2;
        return 0;
    }
    if (is_op(n, "Clip")) {
        float lo = -FLT_MAX, hi = FLT_MAX;
        if (opset < 11) {
            if (n->n_input != 1)
                return -1;
            lo = attr_f(n, "min", -FLT_MAX);
            hi = attr_f(n, "max", FLT_MAX);
        } else {
            for (size_t j = 1; j < n->n_input && j < 3; j++) {
                if (!n->input[j] || !n->input[j][0])
                    continue;
                const oq_tensor *b = const_of(g, consts, n->input[j]);
                if (!b || b->dtype != T_FLOAT || oq_numel(b) != 1)
                    return -1;
                *(j == 1 ? &lo : &hi) = *(const float *)b->data;
            }
            if (n->n_input > 3)
                return -1;
        }
        if (!(lo <= hi)) /* Clip gives max then, FusedConv min */
            return -1;
        *kind = "Clip";
        f->param_v[0] = lo;
        f->param_v[1] = hi;
        *n_params = 2;
        return 0;
    }
    return -1;
}

/* Builds f->node: the FusedConv for conv with the given inputs/output
 * (affine, hswish: add the onnxq_* attributes from f->affine_v and
 * f->hswish_v). */
static int build_node(oq_conv_fusion *f, const Onnx__NodeProto *conv,
                      const char *z, const char *out, const char *kind,
                      int n_params, int affine, int hswish, int scale2,
                      const Onnx__NodeProto *bn)
{
    Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
    Onnx__AttributeProto ainit = ONNX__ATTRIBUTE_PROTO__INIT;
    f->node = init;
    f->act = ainit;
    f->params = ainit;
    f->affine = ainit;
    f->hswish = ainit;
    f->scale2 = ainit;
    f->bn = ainit;
    f->attrs = malloc((conv->n_attribute + 6) * sizeof *f->attrs);
    if (!f->attrs)
        return -1;
    size_t na = 0;
    for (size_t i = 0; i < conv->n_attribute; i++)
        f->attrs[na++] = conv->attribute[i];
    if (kind) {
        f->act.name = (char *)"activation";
        f->act.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        f->act.has_s = 1;
        f->act.s.data = (uint8_t *)kind;
        f->act.s.len = strlen(kind);
        f->attrs[na++] = &f->act;
        if (n_params) {
            f->params.name = (char *)"activation_params";
            f->params.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
            f->params.n_floats = (size_t)n_params;
            f->params.floats = f->param_v;
            f->attrs[na++] = &f->params;
        }
    }
    if (affine) {
        f->affine.name = (char *)"onnxq_affine";
        f->affine.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        f->affine.n_floats = 3;
        f->affine.floats = f->affine_v;
        f->attrs[na++] = &f->affine;
    }
    if (hswish) {
        f->hswish.name = (char *)"onnxq_hswish";
        f->hswish.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        f->hswish.n_floats = 5;
        f->hswish.floats = f->hswish_v;
        f->attrs[na++] = &f->hswish;
    }
    if (scale2) {
        f->scale2.name = (char *)"onnxq_scale2";
        f->scale2.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        f->scale2.n_floats = 1;
        f->scale2.floats = &f->scale2_v;
        f->attrs[na++] = &f->scale2;
    }
    if (bn) {
        f->bn.name = (char *)"onnxq_bn";
        f->bn.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        f->bn.n_floats = 1;
        f->bn.floats = &f->bn_eps;
        f->attrs[na++] = &f->bn;
    }
    size_t ni = 0;
    f->inputs[ni++] = conv->input[0];
    f->inputs[ni++] = conv->input[1];
    if (conv->n_input > 2 || z || bn)
        f->inputs[ni++] = conv->n_input > 2 ? conv->input[2] : (char *)"";
    if (z || bn)
        f->inputs[ni++] = z ? (char *)z : (char *)"";
    for (size_t i = 1; bn && i < 5; i++)
        f->inputs[ni++] = bn->input[i];
    f->outputs[0] = (char *)out;
    f->node.n_input = ni;
    f->node.input = f->inputs;
    f->node.n_output = 1;
    f->node.output = f->outputs;
    f->node.name = conv->name;
    f->node.op_type = (char *)"FusedConv";
    f->node.domain = (char *)"com.microsoft";
    f->node.n_attribute = na;
    f->node.attribute = f->attrs;
    return 0;
}

/* A float32 scalar constant (one element, rank <= 1) in *v; its rank in
 * *rank.  0, or -1 if name is not one. */
static int scalar_const(const onnxq_graph *g, oq_tensor *const *consts,
                        const char *name, float *v, int *rank)
{
    const oq_tensor *t = const_of(g, consts, name);
    if (!t || t->dtype != T_FLOAT || oq_numel(t) != 1 || t->rank > 1)
        return -1;
    *v = *(const float *)t->data;
    if (t->rank > *rank)
        *rank = t->rank;
    return 0;
}

/* The hard-swish chain headed by Add node a: Add(x, k) -> Clip -> Mul(x, .)
 * -> Div(., d) or Mul(., d), every intermediate read once.  0 and f filled
 * (node included), -1 if not, -2 on out of memory. */
static int hswish_chain(const onnxq_graph *g, oq_tensor *const *consts,
                        const char *skip, const char *taken, int64_t opset,
                        size_t a, oq_conv_fusion *f)
{
    const Onnx__NodeProto *add = onnxq_graph_node(g, a);
    if (!is_op(add, "Add") || add->n_input != 2 || add->n_output != 1 ||
        opset < 7 || !add->output[0][0])
        return -1;
    int rank = 0, xi;
    float k, lo = -FLT_MAX, hi = FLT_MAX, d;
    if (scalar_const(g, consts, add->input[1], &k, &rank) == 0)
        xi = 0;
    else if (scalar_const(g, consts, add->input[0], &k, &rank) == 0)
        xi = 1;
    else
        return -1;
    const char *x = add->input[xi];
    if (!x[0] || const_of(g, consts, x))
        return -1;
    size_t c = only_reader(g, add->output[0]);
    if (c == SIZE_MAX || skip[c] || taken[c])
        return -1;
    const Onnx__NodeProto *clip = onnxq_graph_node(g, c);
    if (!is_op(clip, "Clip") || clip->n_output != 1 || !clip->output[0][0] ||
        strcmp(clip->input[0], add->output[0]) != 0)
        return -1;
    if (opset < 11) {
        if (clip->n_input != 1)
            return -1;
        lo = attr_f(clip, "min", -FLT_MAX);
        hi = attr_f(clip, "max", FLT_MAX);
    } else {
        if (clip->n_input > 3)
            return -1;
        for (size_t j = 1; j < clip->n_input; j++) {
            if (!clip->input[j] || !clip->input[j][0])
                continue;
            int r = 0;
            if (scalar_const(g, consts, clip->input[j], j == 1 ? &lo : &hi, &r))
                return -1;
        }
    }
    size_t m = only_reader(g, clip->output[0]);
    if (m == SIZE_MAX || skip[m] || taken[m])
        return -1;
    const Onnx__NodeProto *mul = onnxq_graph_node(g, m);
    if (!is_op(mul, "Mul") || mul->n_input != 2 || mul->n_output != 1 ||
        !mul->output[0][0])
        return -1;
    int ci = strcmp(mul->input[0], clip->output[0]) == 0 ? 0 : 1;
    if (strcmp(mul->input[ci], clip->output[0]) != 0 ||
        strcmp(mul->input[1 - ci], x) != 0)
        return -1;
    size_t v = only_reader(g, mul->output[0]);
    if (v == SIZE_MAX || skip[v] || taken[v])
        return -1;
    const Onnx__NodeProto *last = onnxq_graph_node(g, v);
    int divides = is_op(last, "Div");
    if ((!divides && !is_op(last, "Mul")) || last->n_input != 2 ||
        last->n_output != 1 || !last->output[0][0])
        return -1;
    if (strcmp(last->input[0], mul->output[0]) == 0) {
        if (scalar_const(g, consts, last->input[1], &d, &rank))
            return -1;
    } else if (!divides && strcmp(last->input[1], mul->output[0]) == 0) {
        if (scalar_const(g, consts, last->input[0], &d, &rank))
            return -1;
    } else {
        return -1;
    }
    memset(f, 0, sizeof *f);
    f->kind = OQ_FUSE_HSWISH_CHAIN;
    f->min_rank = rank;
    f->head = a;
    f->absorbed[0] = c;
    f->absorbed[1] = m;
    f->absorbed[2] = v;
    f->n_absorbed = 3;
    f->param_v[0] = k;
    f->param_v[1] = lo;
    f->param_v[2] = hi;
    f->param_v[3] = d;
    f->param_v[4] = (float)divides;
    Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
    Onnx__AttributeProto ainit = ONNX__ATTRIBUTE_PROTO__INIT;
    f->node = init;
    f->params = ainit;
    f->attrs = malloc(sizeof *f->attrs);
    if (!f->attrs)
        return -2;
    f->params.name = (char *)"chain";
    f->params.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    f->params.n_floats = 5;
    f->params.floats = f->param_v;
    f->attrs[0] = &f->params;
    f->inputs[0] = (char *)x;
    f->outputs[0] = last->output[0];
    f->node.n_input = 1;
    f->node.input = f->inputs;
    f->node.n_output = 1;
    f->node.output = f->outputs;
    f->node.name = add->name;
    f->node.op_type = (char *)"HardSwishChain";
    f->node.domain = (char *)"com.onnxq";
    f->node.n_attribute = 1;
    f->node.attribute = f->attrs;
    return 0;
}

/* Node n is op (Mul or Add) of cur and a scalar float32 constant, *v: 0,
 * or -1 if not. */
static int scalar_step(const onnxq_graph *g, oq_tensor *const *consts,
                       const Onnx__NodeProto *n, const char *op,
                       const char *cur, float *v)
{
    if (!n || !is_op(n, op) || n->n_input != 2 || n->n_output != 1 ||
        !n->output[0][0])
        return -1;
    int ci = strcmp(n->input[0], cur) == 0 ? 0 : 1;
    if (strcmp(n->input[ci], cur) != 0 || strcmp(n->input[1 - ci], cur) == 0)
        return -1;
    int rank = 0;
    return scalar_const(g, consts, n->input[1 - ci], v, &rank);
}

/* Node n is a BatchNormalization in inference mode reading cur, with
 * float32 constant parameters: 1, else 0 (the kernel checks their size). */
static int foldable_bn(const onnxq_graph *g, oq_tensor *const *consts,
                       const Onnx__NodeProto *n, const char *cur,
                       int64_t opset)
{
    if (!n || !is_op(n, "BatchNormalization") || n->n_input != 5 ||
        n->n_output < 1 || !n->output[0][0] || strcmp(n->input[0], cur) != 0)
        return 0;
    for (size_t o = 1; o < n->n_output; o++)
        if (n->output[o] && n->output[o][0])
            return 0; /* training outputs */
    const Onnx__AttributeProto *a = find_attr(n, "training_mode");
    if (opset >= 14 && a && a->i != 0)
        return 0;
    a = find_attr(n, "spatial");
    if (opset < 9 && a && a->i == 0)
        return 0;
    if (opset < 7)
        return 0; /* is_test and other old semantics */
    for (size_t i = 1; i < 5; i++) {
        const oq_tensor *t = const_of(g, consts, n->input[i]);
        if (!t || t->dtype != T_FLOAT || t->rank != 1)
            return 0;
    }
    return 1;
}

/* The hard-swish chain oneDNN's hardswish computes, reading cur (which
 * nothing else reads): 0 with its nodes in absorbed[0..4) and its output
 * in *out, -1 if there is none, -2 on out of memory. */
static int conv_hswish(const onnxq_graph *g, oq_tensor *const *consts,
                       const char *skip, const char *taken, int64_t opset,
                       const char *cur, oq_conv_fusion *f, size_t *absorbed,
                       const char **out)
{
    const onnxq_value *v = onnxq_graph_value(g, cur);
    if (!v || v->is_graph_output || v->n_uses != 2)
        return -1;
    for (size_t u = 0; u < 2; u++) {
        oq_conv_fusion ch;
        size_t a = v->uses[u].node, other = v->uses[1 - u].node;
        if (skip[a] || taken[a])
            continue;
        int r = hswish_chain(g, consts, skip, taken, opset, a, &ch);
        if (r == -2)
            return -2;
        if (r)
            continue;
        free(ch.attrs);
        const float *p = ch.param_v;
        int std = p[0] == 3 && p[1] == 0 && p[2] == 6 &&
                  ((p[4] != 0 && p[3] == 6) || (p[4] == 0 && p[3] == 1.0f / 6));
        if (!std || strcmp(ch.inputs[0], cur) != 0 || ch.absorbed[1] != other)
            return -1;
        absorbed[0] = a;
        for (int k = 0; k < 3; k++)
            absorbed[1 + k] = ch.absorbed[k];
        memcpy(f->hswish_v, p, sizeof f->hswish_v);
        *out = ch.outputs[0];
        return 0;
    }
    return -1;
}

onnxq_status oq_fuse_conv_find(const onnxq_graph *g, const size_t *pos,
                               oq_tensor *const *consts, const char *skip,
                               int64_t opset, oq_conv_fusion **out, size_t *n,
                               onnxq_error *err)
{
    size_t nn = onnxq_graph_node_count(g), count = 0;
    oq_conv_fusion *fs = calloc(nn ? nn : 1, sizeof *fs);
    char *taken = calloc(nn ? nn : 1, 1);
    if (!fs || !taken) {
        free(fs);
        free(taken);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t c = 0; c < nn; c++) {
        const Onnx__NodeProto *conv = onnxq_graph_node(g, c);
        if (skip[c] || taken[c] || !is_op(conv, "Conv") || conv->n_output != 1 ||
            conv->n_input < 2 || conv->n_input > 3 || !conv->output[0][0])
            continue;
        const oq_tensor *w = const_of(g, consts, conv->input[1]);
        if (!w || w->dtype != T_FLOAT)
            continue;
        oq_conv_fusion *f = &fs[count];
        memset(f, 0, sizeof *f);
        const char *cur = conv->output[0], *z = NULL, *kind = NULL;
        int n_params = 0;
        size_t m = only_reader(g, cur);
        if (m == SIZE_MAX || skip[m] || taken[m])
            continue;
        const Onnx__NodeProto *next = onnxq_graph_node(g, m);
        /* a BatchNormalization folded into the weights */
        const Onnx__NodeProto *bn = NULL;
        if (foldable_bn(g, consts, next, cur, opset)) {
            bn = next;
            f->bn_eps = attr_f(bn, "epsilon", 1e-5f);
            f->absorbed[f->n_absorbed++] = m;
            cur = next->output[0];
            m = only_reader(g, cur);
            next = m == SIZE_MAX || skip[m] || taken[m] ? NULL
                                                        : onnxq_graph_node(g, m);
        }
        /* the scalar affine, then perhaps the hard-swish chain */
        int affine = 0, hswish = 0, scale2 = 0;
        f->affine_v[0] = 1;
        f->affine_v[1] = 0;
        f->affine_v[2] = 0;
        if (opset >= 7 &&
            scalar_step(g, consts, next, "Mul", cur, &f->affine_v[0]) == 0) {
            affine = 1;
            f->absorbed[f->n_absorbed++] = m;
            cur = next->output[0];
            m = only_reader(g, cur);
            next = m == SIZE_MAX || skip[m] || taken[m] ? NULL
                                                        : onnxq_graph_node(g, m);
        }
        if (opset >= 7 &&
            scalar_step(g, consts, next, "Add", cur, &f->affine_v[1]) == 0) {
            affine = 1;
            f->affine_v[2] = 1;
            f->absorbed[f->n_absorbed++] = m;
            cur = next->output[0];
        }
        if (affine || bn) {
            const char *hout = NULL;
            int r = conv_hswish(g, consts, skip, taken, opset, cur, f,
                                f->absorbed + f->n_absorbed, &hout);
            if (r == -2) {
                oq_fuse_conv_free(fs, count);
                free(taken);
                return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                       "out of memory");
            }
            if (r == 0) {
                hswish = 1;
                f->n_absorbed += 4;
                cur = hout;
                /* and a Mul by a scalar after it (PaddleOCR's blocks
                 * scale the activation too): the hardswish post-op's
                 * scale.  Not the Add that may follow: oneDNN 2.6 gives
                 * wrong results for an eltwise post-op after hardswish
                 * (tests/unit/test_fast_kernels.c affine_hswish_* cases) */
                m = only_reader(g, cur);
                next = m == SIZE_MAX || skip[m] || taken[m]
                           ? NULL : onnxq_graph_node(g, m);
                if (scalar_step(g, consts, next, "Mul", cur,
                                &f->scale2_v) == 0) {
                    scale2 = 1;
                    f->absorbed[f->n_absorbed++] = m;
                    cur = next->output[0];
                }
            }
            if (affine || hswish) {
                next = NULL;
            } else { /* the BatchNormalization alone: Z and act may follow */
                m = only_reader(g, cur);
                next = m == SIZE_MAX || skip[m] || taken[m]
                           ? NULL : onnxq_graph_node(g, m);
            }
        }
        if (affine || hswish) {
            /* nothing more */
        } else if (next && is_op(next, "Add") && next->n_input == 2 &&
                   next->n_output == 1 && opset >= 7 && next->output[0][0]) {
            int other = strcmp(next->input[0], cur) == 0 ? 1 : 0;
            const char *zn = next->input[other];
            const onnxq_value *zv = zn && zn[0] ? onnxq_graph_value(g, zn) : NULL;
            const oq_tensor *zc = zv ? const_of(g, consts, zn) : NULL;
            int zok = zv && strcmp(zn, cur) != 0 &&
                      strcmp(next->input[1 - other], cur) == 0 &&
                      /* Z must be made before the Conv runs */
                      !(zv->kind == ONNXQ_VALUE_NODE_OUTPUT &&
                        !consts[zv - onnxq_graph_value_at(g, 0)] &&
                        pos[zv->producer] >= pos[c]) &&
                      zv->kind != ONNXQ_VALUE_UNDEFINED && /* outer scope */
                      !(zc && oq_numel(zc) == 1); /* a scalar: no residual */
            if (!zok && !bn)
                continue;
            if (!zok)
                goto activation; /* the folded BatchNormalization stays */
            z = zn;
            f->absorbed[f->n_absorbed++] = m;
            cur = next->output[0];
            m = only_reader(g, cur);
            next = m == SIZE_MAX || skip[m] || taken[m] ? NULL
                                                        : onnxq_graph_node(g, m);
        }
    activation:
        if (next && activation_of(g, consts, next, opset, f, &kind,
                                  &n_params) == 0 && next->output[0][0]) {
            f->absorbed[f->n_absorbed++] = m;
            cur = next->output[0];
        }
        if (!f->n_absorbed)
            continue;
        if (build_node(f, conv, z, cur, kind, n_params, affine, hswish,
                       scale2, bn)) {
            oq_fuse_conv_free(fs, count);
            free(taken);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        }
        f->kind = OQ_FUSE_CONV;
        f->head = c;
        f->has_z = z != NULL;
        taken[c] = 1;
        for (size_t k = 0; k < f->n_absorbed; k++)
            taken[f->absorbed[k]] = 1;
        count++;
    }
    for (size_t a = 0; a < nn; a++) {
        if (skip[a] || taken[a])
            continue;
        oq_conv_fusion *f = &fs[count];
        int r = hswish_chain(g, consts, skip, taken, opset, a, f);
        if (r == -2) {
            oq_fuse_conv_free(fs, count);
            free(taken);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (r)
            continue;
        taken[a] = 1;
        for (size_t k = 0; k < f->n_absorbed; k++)
            taken[f->absorbed[k]] = 1;
        count++;
    }
    free(taken);
    *out = fs;
    *n = count;
    return ONNXQ_OK;
}

void oq_fuse_conv_free(oq_conv_fusion *f, size_t n)
{
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        free(f[i].attrs);
    free(f);
}

static long ints_attr(const Onnx__NodeProto *n, const char *name,
                      const int64_t **v)
{
    const Onnx__AttributeProto *a = find_attr(n, name);
    if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return -1;
    *v = a->ints;
    return (long)a->n_ints;
}

int oq_fuse_conv_z_fits(const oq_conv_fusion *f, const oq_tensor *x,
                        const oq_tensor *w, const oq_tensor *z)
{
    if (!x || !w || !z || x->dtype != T_FLOAT || z->dtype != T_FLOAT ||
        x->rank < 3 || x->rank != w->rank || z->rank != x->rank)
        return 0;
    const Onnx__NodeProto *n = &f->node;
    int ns = x->rank - 2;
    const int64_t *st = NULL, *dl = NULL, *pd = NULL;
    long n_st = ints_attr(n, "strides", &st), n_dl = ints_attr(n, "dilations", &dl),
         n_pd = ints_attr(n, "pads", &pd);
    if ((n_st > 0 && n_st != ns) || (n_dl > 0 && n_dl != ns) ||
        (n_pd > 0 && n_pd != 2 * ns))
        return 0;
    const Onnx__AttributeProto *ap = find_attr(n, "auto_pad");
    char apv[16] = "NOTSET";
    if (ap && ap->has_s && ap->s.len && ap->s.len < sizeof apv) {
        memcpy(apv, ap->s.data, ap->s.len);
        apv[ap->s.len] = '\0';
    }
    int same = strncmp(apv, "SAME_", 5) == 0, valid = strcmp(apv, "VALID") == 0;
    if (z->dims[0] != x->dims[0] || z->dims[1] != w->dims[0])
        return 0;
    for (int d = 0; d < ns; d++) {
        int64_t s = n_st > 0 ? st[d] : 1, dil = n_dl > 0 ? dl[d] : 1;
        int64_t in = x->dims[2 + d], ek = (w->dims[2 + d] - 1) * dil + 1, out;
        if (s < 1)
            return 0;
        if (same) {
            out = (in + s - 1) / s;
        } else {
            int64_t p = valid || n_pd <= 0 ? 0 : pd[d] + pd[ns + d];
            int64_t span = in + p - ek;
            if (span < 0)
                return 0;
            out = span / s + 1;
        }
        if (z->dims[2 + d] != out)
            return 0;
    }
    return 1;
}
