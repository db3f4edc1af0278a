/*
 * opset_upgrade.c — ai.onnx opset 1..9 -> 13, op by op, where the change
 * log of every op the model uses allows an exact rewrite.
 *
 * The differences between an op's version at the model's opset and at 13,
 * and what is done about them (ONNX Changelog.md):
 *   - attributes that became inputs: Reshape-1 shape, Slice-1 starts/ends/
 *     axes, Squeeze/Unsqueeze-1 axes, Split-2 split, ReduceSum-1 axes,
 *     TopK-1 k, Pad-2 pads/value, Clip-6 min/max -> initializers;
 *   - Upsample-7/9 -> Resize-13 (asymmetric coordinates; nearest rounds
 *     down, as Upsample does for its scales >= 1);
 *   - BatchNormalization-1..7: spatial must be 1 (else blocked), is_test
 *     and the training outputs go (blocked if something reads them);
 *   - Dropout-1..10: is_test/ratio go, the mask (its type changed to bool)
 *     goes if nothing reads it (else blocked);
 *   - Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less-1/6 with
 *     broadcast=1 and an axis: B is unsqueezed to numpy alignment;
 *   - PRelu-1/6 took a [C] slope per channel: it is unsqueezed to
 *     [C, 1, ...] for PRelu-7's numpy broadcasting;
 *   - Softmax/LogSoftmax/Hardmax-1..12 coerce the input to 2-D at axis;
 *     -13 works on one axis: the same unless axis is the last one, so
 *     otherwise Flatten -> op(axis=1) -> Reshape(Shape(x)) is written;
 *   - Concat-1 default axis 1 made explicit; Cast-1's type name -> number;
 *     Gemm-1/6 broadcast dropped; LSTM/GRU/RNN-1 output_sequence dropped;
 *     Scatter-9 -> ScatterElements; consumed_inputs (opset 1) dropped;
 *   - every other op in `same` below is unchanged in meaning (only new
 *     types or new optional parts).
 * Anything else (Tile-1, LpPool-1, Upsample-1, Scan-8, experimental ops
 * ...) blocks the upgrade: the error names the node and op, and nothing is
 * changed (every node is checked before any is rewritten).  Ranks and
 * element types some rewrites need come from inference's value_info.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "opt_internal.h"
#include "oq_util.h"

enum { TARGET = 13, T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
       T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };

typedef struct scope {
    Onnx__GraphProto *g;
    const struct scope *outer;
} scope;

typedef struct up_ctx {
    onnxq_model *m;
    onnxq_preprocess_report *r;
    int64_t from;
    int dry;             /* 1: only check that every node can be upgraded */
    int trust_info;
    oq_opt_names names;
    char why[256];       /* reason a node blocks the upgrade */
} up_ctx;

/* Ops whose meaning did not change from any opset 1..9 to 13. */
static const char *const same[] = {
    "Abs", "Acos", "Acosh", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan",
    "Atanh", "AveragePool", "Ceil", "Compress", "Constant", "ConstantOfShape",
    "Conv", "ConvTranspose", "Cos", "Cosh", "DepthToSpace", "Div", "Elu",
    "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "GRU",
    "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Greater",
    "HardSigmoid", "Identity", "If", "InstanceNormalization", "IsNaN", "LRN",
    "LSTM", "LeakyRelu", "Less", "Log", "Loop", "MatMul", "Max", "MaxPool",
    "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "Min",
    "Mul", "Multinomial", "Neg", "NonZero", "Not", "OneHot", "Or", "PRelu",
    "Pow", "RNN", "RandomNormal", "RandomNormalLike", "RandomUniform",
    "RandomUniformLike", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd",
    "ReduceSumSquare", "Relu", "Selu", "Shape", "Shrink", "Sigmoid", "Sign",
    "Sin", "Sinh", "Size", "Softplus", "Softsign", "SpaceToDepth", "Sqrt",
    "Sub", "Sum", "Tan", "Tanh", "Transpose", "Where", "Xor", "Add", "Cast",
    "Concat", "Scan", "Tile", "LpPool", "GlobalLpPool", "Reshape",
    "TfIdfVectorizer", NULL,
};

static int in_list(const char *const *list, const char *op)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], op) == 0)
            return 1;
    return 0;
}

/* Rank and element type of a value seen from s (-1 / 0 if unknown). */
static void info_of(const up_ctx *c, const scope *s, const char *name,
                    int *rank, int32_t *elem)
{
    *rank = -1;
    *elem = 0;
    for (; s; s = s->outer) {
        const Onnx__GraphProto *g = s->g;
        for (size_t i = 0; i < g->n_initializer; i++)
            if (g->initializer[i]->name &&
                strcmp(g->initializer[i]->name, name) == 0) {
                *rank = (int)g->initializer[i]->n_dims;
                *elem = g->initializer[i]->data_type;
                return;
            }
        const Onnx__ValueInfoProto *vi = NULL;
        for (size_t i = 0; i < g->n_input && !vi; i++)
            if (g->input[i]->name && strcmp(g->input[i]->name, name) == 0)
                vi = g->input[i];
        for (size_t i = 0; i < g->n_output && !vi && c->trust_info; i++)
            if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0)
                vi = g->output[i];
        for (size_t i = 0; i < g->n_value_info && !vi && c->trust_info; i++)
            if (g->value_info[i]->name &&
                strcmp(g->value_info[i]->name, name) == 0)
                vi = g->value_info[i];
        if (vi) {
            if (vi->type &&
                vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
                const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
                if (tt->has_elem_type)
                    *elem = tt->elem_type;
                if (tt->shape)
                    *rank = (int)tt->shape->n_dim;
            }
            return;
        }
    }
}


/* ---- building blocks --------------------------------------------------------- */

/* A new initializer in g (fresh name from prefix) and its name (malloc'd). */
static char *new_init(up_ctx *c, Onnx__GraphProto *g, const char *prefix,
                      int32_t dtype, size_t ndims, const int64_t *dims,
                      const void *data)
{
    char *name = oq_opt_names_make(&c->names, prefix);
    if (name && !onnxq_build_initializer(g, name, dtype, ndims, dims, data)) {
        free(name);
        return NULL;
    }
    return name;
}

/* Moves an ints attribute into input slot `slot` as an int64 initializer
 * (omitted inputs before it become ""); absent attribute: nothing.  0 ok,
 * -1 out of memory. */
static int ints_attr_to_input(up_ctx *c, Onnx__GraphProto *g,
                              Onnx__NodeProto *n, const char *attr,
                              size_t slot)
{
    Onnx__AttributeProto *a = oq_opt_attr(n, attr);
    if (!a)
        return 0;
    int64_t len = (int64_t)a->n_ints;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s_%s", n->name && n->name[0] ? n->name
                                             : n->op_type, attr);
    char *name = new_init(c, g, prefix, T_INT64, 1, &len, a->ints);
    if (!name)
        return -1;
    int rc = 0;
    while (!rc && n->n_input < slot)
        rc = oq_opt_add_input(n, "");
    if (!rc)
        rc = n->n_input > slot ? oq_opt_set_input(n, slot, name)
                               : oq_opt_add_input(n, name);
    free(name);
    oq_opt_drop_attr(n, attr);
    return rc;
}

static int scalar_input(up_ctx *c, Onnx__GraphProto *g, Onnx__NodeProto *n,
                        const char *what, int32_t dtype, double v, size_t slot)
{
    onnxq_tensor t = {dtype, 0, {0}, NULL};
    unsigned char buf[16] = {0};
    t.data = buf;
    onnxq_tensor_set_f64(&t, 0, v);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s_%s", n->name && n->name[0] ? n->name
                                             : n->op_type, what);
    char *name = new_init(c, g, prefix, dtype, 0, NULL, buf);
    if (!name)
        return -1;
    int rc = 0;
    while (!rc && n->n_input < slot)
        rc = oq_opt_add_input(n, "");
    if (!rc)
        rc = n->n_input > slot ? oq_opt_set_input(n, slot, name)
                               : oq_opt_add_input(n, name);
    free(name);
    return rc;
}

static int rename_op(Onnx__NodeProto *n, const char *op)
{
    char *s = oq_strdup(op);
    if (!s)
        return -1;
    free(n->op_type);
    n->op_type = s;
    return 0;
}

/* ---- per-op rewrites ----------------------------------------------------------
 * Each returns 0 (done, or nothing to do), 1 (blocked: c->why says why) or
 * -1 (out of memory).  In a dry run they only decide. */

#define BLOCK(...) (snprintf(c->why, sizeof c->why, __VA_ARGS__), 1)

/* Feeds input `slot` of node n (at idx in s->g) through a new
 * Unsqueeze(axes = first .. first+k-1), inserted just before n. */
static int unsqueeze_input(up_ctx *c, const scope *s, size_t idx,
                           Onnx__NodeProto *n, size_t slot, int first, int k)
{
    int64_t axes[ONNXQ_MAX_RANK], len = k;
    if (k > ONNXQ_MAX_RANK)
        return -1;
    for (int i = 0; i < k; i++)
        axes[i] = first + i;
    char *an = new_init(c, s->g, "unsqueeze_axes", T_INT64, 1, &len, axes);
    char *out = oq_opt_names_make(&c->names, "unsqueezed");
    const char *ins[2] = {n->input[slot], an};
    const char *outs[1] = {out};
    Onnx__GraphProto tmp;
    onnx__graph_proto__init(&tmp);
    Onnx__NodeProto *u = an && out ? onnxq_build_node(&tmp, "Unsqueeze", out,
                                                      ins, 2, outs, 1)
                                   : NULL;
    free(tmp.node);
    int rc = !u || oq_opt_insert_node(s->g, idx, u) ||
             oq_opt_set_input(n, slot, out);
    if (u)
        c->r->inserted_nodes++;
    free(an);
    free(out);
    return rc ? -1 : 0;
}

/* PRelu-1/6 applied a slope of shape [C] per channel (axis 1); from PRelu-7
 * the slope broadcasts numpy-style from the right, so [C] becomes
 * [C, 1, ..., 1]. */
static int up_prelu(up_ctx *c, const scope *s, size_t idx, Onnx__NodeProto *n)
{
    if (c->from >= 7 || n->n_input != 2)
        return 0;
    int rx, rs;
    int32_t e;
    info_of(c, s, n->input[0], &rx, &e);
    info_of(c, s, n->input[1], &rs, &e);
    if (rs != 1)
        return rs < 0 ? BLOCK("the slope's rank is unknown") : 0;
    if (rx < 0)
        return BLOCK("the input's rank is unknown");
    if (rx <= 2 || c->dry)
        return 0;
    return unsqueeze_input(c, s, idx, n, 1, 1, rx - 2);
}

static int up_binary(up_ctx *c, const scope *s, size_t idx, Onnx__NodeProto *n)
{
    if (c->from >= 7)
        return 0;
    int64_t bc = oq_opt_attr_int(n, "broadcast", 0);
    const Onnx__AttributeProto *axis = oq_opt_attr(n, "axis");
    int k = 0; /* trailing 1s to give B */
    int rb = -1;
    if (bc && axis && n->n_input == 2) {
        int ra;
        int32_t e;
        info_of(c, s, n->input[0], &ra, &e);
        info_of(c, s, n->input[1], &rb, &e);
        if (ra < 0 || rb < 0)
            return BLOCK("broadcast with axis=%lld needs the ranks of both "
                         "inputs, which inference does not know",
                         (long long)axis->i);
        int64_t a = axis->i < 0 ? axis->i + ra : axis->i;
        k = (int)(ra - a - rb);
        if (a < 0 || k < 0)
            return BLOCK("axis %lld does not fit ranks %d and %d",
                         (long long)axis->i, ra, rb);
    }
    if (c->dry)
        return 0;
    oq_opt_drop_attr(n, "broadcast");
    oq_opt_drop_attr(n, "axis");
    return k > 0 ? unsqueeze_input(c, s, idx, n, 1, rb, k) : 0;
}

static int up_batchnorm(up_ctx *c, const scope *s, Onnx__NodeProto *n)
{
    if (oq_opt_attr_int(n, "spatial", 1) != 1)
        return BLOCK("spatial=0 (per-activation statistics) has no "
                     "equivalent in BatchNormalization-9+");
    for (size_t o = 1; o < n->n_output; o++)
        if (n->output[o] && n->output[o][0] && oq_opt_is_read(s->g, n->output[o]))
            return BLOCK("training output '%s' is used", n->output[o]);
    if (c->dry)
        return 0;
    oq_opt_drop_attr(n, "spatial");
    oq_opt_drop_attr(n, "is_test");
    oq_opt_truncate_outputs(n, 1);
    return 0;
}

static int up_dropout(up_ctx *c, const scope *s, Onnx__NodeProto *n)
{
    if (n->n_output > 1 && n->output[1] && n->output[1][0] &&
        oq_opt_is_read(s->g, n->output[1]))
        return BLOCK("its mask output '%s' is used (its type changed to "
                     "bool in Dropout-10)", n->output[1]);
    if (c->dry)
        return 0;
    oq_opt_drop_attr(n, "is_test");
    oq_opt_drop_attr(n, "ratio"); /* only used in training mode */
    oq_opt_truncate_outputs(n, 1);
    return 0;
}

static int up_upsample(up_ctx *c, const scope *s, Onnx__NodeProto *n)
{
    if (c->from < 7)
        return BLOCK("Upsample-1 (experimental) has no exact Resize form");
    const char *mode = "nearest";
    const Onnx__AttributeProto *ma = oq_opt_attr(n, "mode");
    if (ma && ma->has_s) {
        if (ma->s.len == 7 && memcmp(ma->s.data, "nearest", 7) == 0)
            mode = "nearest";
        else if ((ma->s.len == 6 && memcmp(ma->s.data, "linear", 6) == 0) ||
                 (ma->s.len == 8 && memcmp(ma->s.data, "bilinear", 8) == 0))
            mode = "linear";
        else
            return BLOCK("mode '%.*s' is not nearest or linear",
                         (int)ma->s.len, (const char *)ma->s.data);
    }
    const Onnx__AttributeProto *sa = oq_opt_attr(n, "scales");
    if (c->from < 9 && (!sa || !sa->n_floats))
        return BLOCK("no scales attribute");
    if (c->from >= 9 && (n->n_input < 2 || !n->input[1][0]))
        return BLOCK("no scales input");
    if (sa)
        for (size_t i = 0; i < sa->n_floats; i++)
            if (sa->floats[i] < 1.0f)
                return BLOCK("scale %g < 1 (Upsample's nearest rounds up "
                             "there, per axis)", (double)sa->floats[i]);
    if (c->dry)
        return 0;
    int rc = 0;
    if (c->from < 9) {
        int64_t len = (int64_t)sa->n_floats;
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s_scales",
                 n->name && n->name[0] ? n->name : "upsample");
        char *name = new_init(c, s->g, prefix, T_FLOAT, 1, &len, sa->floats);
        rc = !name || oq_opt_add_input(n, "") || oq_opt_add_input(n, name);
        free(name);
        oq_opt_drop_attr(n, "scales");
    } else {
        /* X, scales -> X, roi (omitted), scales */
        char *sc = oq_strdup(n->input[1]);
        rc = !sc || oq_opt_set_input(n, 1, "") || oq_opt_add_input(n, sc);
        free(sc);
    }
    oq_opt_drop_attr(n, "mode");
    onnxq_build_attr_string(n, "mode", mode);
    onnxq_build_attr_string(n, "coordinate_transformation_mode", "asymmetric");
    if (strcmp(mode, "nearest") == 0)
        onnxq_build_attr_string(n, "nearest_mode", "floor");
    rc = rc || rename_op(n, "Resize");
    c->r->upsample_to_resize++;
    return rc ? -1 : 0;
}

static int up_clip(up_ctx *c, const scope *s, Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *mn = oq_opt_attr(n, "min"),
                               *mx = oq_opt_attr(n, "max");
    int rank;
    int32_t elem = 0;
    if (mn || mx) {
        info_of(c, s, n->input[0], &rank, &elem);
        if (!elem)
            return BLOCK("min/max become inputs of the input's element type, "
                         "which inference does not know");
    }
    if (c->dry)
        return 0;
    /* an absent bound stays absent (an omitted optional input) */
    int rc = 0;
    if (mn)
        rc = scalar_input(c, s->g, n, "min", elem, mn->f, 1);
    if (!rc && mx)
        rc = scalar_input(c, s->g, n, "max", elem, mx->f, 2);
    oq_opt_drop_attr(n, "min");
    oq_opt_drop_attr(n, "max");
    return rc ? -1 : 0;
}

static int up_pad(up_ctx *c, const scope *s, Onnx__NodeProto *n)
{
    if (c->from < 2)
        return BLOCK("Pad-1's paddings attribute is not handled");
    const Onnx__AttributeProto *v = oq_opt_attr(n, "value");
    int rank;
    int32_t elem = 0;
    if (v && v->f != 0.0f) {
        info_of(c, s, n->input[0], &rank, &elem);
        if (!elem)
            return BLOCK("value becomes an input of the input's element type, "
                         "which inference does not know");
    }
    if (c->dry)
        return 0;
    int rc = ints_attr_to_input(c, s->g, n, "pads", 1);
    if (!rc && v && v->f != 0.0f)
        rc = scalar_input(c, s->g, n, "value", elem, v->f, 2);
    oq_opt_drop_attr(n, "value");
    return rc;
}

static int cast_type_from_name(const Onnx__AttributeProto *a, int64_t *out)
{
    static const struct { const char *name; int64_t v; } types[] = {
        {"FLOAT", 1}, {"UINT8", 2}, {"INT8", 3}, {"UINT16", 4}, {"INT16", 5},
        {"INT32", 6}, {"INT64", 7}, {"STRING", 8}, {"BOOL", 9},
        {"FLOAT16", 10}, {"DOUBLE", 11}, {"UINT32", 12}, {"UINT64", 13},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (a->s.len == strlen(types[i].name) &&
            memcmp(a->s.data, types[i].name, a->s.len) == 0) {
            *out = types[i].v;
            return 0;
        }
    return -1;
}

static int up_softmax(up_ctx *c, const scope *s, size_t idx,
                      Onnx__NodeProto *n)
{
    int64_t axis = oq_opt_attr_int(n, "axis", 1);
    int rank;
    int32_t elem;
    info_of(c, s, n->input[0], &rank, &elem);
    if (rank >= 0 && (axis == rank - 1 || axis == -1)) {
        if (!c->dry && oq_opt_set_attr_int(n, "axis", -1))
            return -1;
        return 0;
    }
    if (c->dry)
        return 0;
    /* y = Reshape(op(Flatten(x, axis), axis=1), Shape(x)) */
    const char *x = n->input[0];
    char *shape = oq_opt_names_make(&c->names, "softmax_shape");
    char *flat = oq_opt_names_make(&c->names, "softmax_2d");
    char *res = oq_opt_names_make(&c->names, "softmax_2d_out");
    int rc = !shape || !flat || !res;
    if (!rc) {
        const char *i1[1] = {x}, *o1[1] = {shape}, *o2[1] = {flat};
        const char *i3[2] = {res, shape}, *o3[1] = {n->output[0]};
        Onnx__GraphProto tmp;
        onnx__graph_proto__init(&tmp);
        Onnx__NodeProto *ns = onnxq_build_node(&tmp, "Shape", shape, i1, 1, o1, 1);
        Onnx__NodeProto *nf = onnxq_build_node(&tmp, "Flatten", flat, i1, 1, o2, 1);
        Onnx__NodeProto *nr = onnxq_build_node(&tmp, "Reshape", res, i3, 2, o3, 1);
        rc = !ns || !nf || !nr || !onnxq_build_attr_int(nf, "axis", axis) ||
             oq_opt_set_input(n, 0, flat) || oq_opt_set_output(n, 0, res) ||
             oq_opt_set_attr_int(n, "axis", 1);
        /* order: Shape, Flatten, n, Reshape */
        if (!rc)
            rc = oq_opt_insert_node(s->g, idx + 1, nr) ||
                 oq_opt_insert_node(s->g, idx, nf) ||
                 oq_opt_insert_node(s->g, idx, ns);
        free(tmp.node);
        c->r->inserted_nodes += 3;
    }
    free(shape);
    free(flat);
    free(res);
    return rc ? -1 : 0;
}

/* One node: 0 / 1 blocked / -1 oom. idx is its position in s->g. */
static int upgrade_node(up_ctx *c, const scope *s, size_t idx)
{
    Onnx__NodeProto *n = s->g->node[idx];
    const char *op = n->op_type ? n->op_type : "";
    int64_t v = c->from;
    int rc = 0;
    if (n->n_input < 1 || !n->input[0] || !n->input[0][0]) {
        /* the rewrites below read input 0; ops that may lack it are few */
        static const char *const no_input[] = {
            "Constant", "RandomNormal", "RandomUniform",
            "Loop", "Scan", NULL}; /* omitted trip count, sequence_lens */
        if (!in_list(no_input, op) && oq_opt_onnx_domain(n->domain))
            return BLOCK("the node has no input 0");
    }
    /* a node counts as rewritten only if its bytes changed */
    size_t before_len = c->dry ? 0 : onnx__node_proto__get_packed_size(n);
    uint8_t *before = c->dry ? NULL : malloc(before_len + 1);
    if (!c->dry && !before)
        return -1;
    if (before)
        onnx__node_proto__pack(n, before);
    if (!c->dry)
        oq_opt_drop_attr(n, "consumed_inputs");
    if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") ||
        !strcmp(op, "Div") || !strcmp(op, "Pow") || !strcmp(op, "And") ||
        !strcmp(op, "Or") || !strcmp(op, "Xor") || !strcmp(op, "Equal") ||
        !strcmp(op, "Greater") || !strcmp(op, "Less"))
        rc = up_binary(c, s, idx, n);
    else if (!strcmp(op, "BatchNormalization"))
        rc = up_batchnorm(c, s, n);
    else if (!strcmp(op, "PRelu"))
        rc = up_prelu(c, s, idx, n);
    else if (!strcmp(op, "Dropout"))
        rc = up_dropout(c, s, n);
    else if (!strcmp(op, "Upsample"))
        rc = up_upsample(c, s, n);
    else if (!strcmp(op, "Clip"))
        rc = up_clip(c, s, n);
    else if (!strcmp(op, "Pad"))
        rc = up_pad(c, s, n);
    else if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax") ||
             !strcmp(op, "Hardmax"))
        rc = up_softmax(c, s, idx, n);
    else if (!strcmp(op, "Reshape") && v < 5)
        rc = c->dry ? 0 : ints_attr_to_input(c, s->g, n, "shape", 1);
    else if (!strcmp(op, "Slice"))
        rc = c->dry ? 0
             : ints_attr_to_input(c, s->g, n, "starts", 1) ||
                       ints_attr_to_input(c, s->g, n, "ends", 2) ||
                       ints_attr_to_input(c, s->g, n, "axes", 3)
                   ? -1 : 0;
    else if (!strcmp(op, "Split"))
        rc = c->dry ? 0 : ints_attr_to_input(c, s->g, n, "split", 1);
    else if (!strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze") ||
             !strcmp(op, "ReduceSum"))
        rc = c->dry ? 0 : ints_attr_to_input(c, s->g, n, "axes", 1);
    else if (!strcmp(op, "TopK"))
        rc = c->dry ? 0 : ints_attr_to_input(c, s->g, n, "k", 1);
    else if (!strcmp(op, "Scatter"))
        rc = c->dry ? 0 : rename_op(n, "ScatterElements");
    else if (!strcmp(op, "Concat") && v < 4) {
        if (!c->dry && !oq_opt_attr(n, "axis"))
            rc = oq_opt_set_attr_int(n, "axis", 1);
    } else if (!strcmp(op, "Cast") && v < 6) {
        Onnx__AttributeProto *a = oq_opt_attr(n, "to");
        int64_t t;
        if (a && a->has_s) {
            if (cast_type_from_name(a, &t))
                rc = BLOCK("unknown type name '%.*s'", (int)a->s.len,
                           (const char *)a->s.data);
            else if (!c->dry)
                rc = oq_opt_set_attr_int(n, "to", t);
        }
    } else if (!strcmp(op, "Gemm") && v < 7) {
        if (!c->dry)
            oq_opt_drop_attr(n, "broadcast");
    } else if ((!strcmp(op, "LSTM") || !strcmp(op, "GRU") ||
                !strcmp(op, "RNN")) && v < 7) {
        if (!c->dry)
            oq_opt_drop_attr(n, "output_sequence");
    } else if (!strcmp(op, "Tile") && v < 6) {
        rc = BLOCK("Tile-1's tiles/axis inputs are not handled");
    } else if ((!strcmp(op, "LpPool") || !strcmp(op, "GlobalLpPool")) && v < 2) {
        rc = BLOCK("%s-1's float p is not handled", op);
    } else if (!strcmp(op, "Scan") && v < 9) {
        rc = BLOCK("Scan-8's batch axis is not handled");
    } else if (in_list(same, op)) {
        /* unchanged in meaning */
    } else {
        rc = BLOCK("onnxq knows no exact upgrade of this op");
    }
    if (rc == 0 && !c->dry) {
        size_t len = onnx__node_proto__get_packed_size(n);
        uint8_t *after = malloc(len + 1);
        if (!after) {
            free(before);
            return -1;
        }
        onnx__node_proto__pack(n, after);
        if (len != before_len || memcmp(before, after, len) != 0)
            c->r->upgraded_nodes++;
        free(after);
    }
    free(before);
    return rc;
}

static onnxq_status walk(up_ctx *c, const scope *s, onnxq_error *err)
{
    for (size_t i = 0; i < s->g->n_node; i++) {
        Onnx__NodeProto *n = s->g->node[i];
        if (oq_opt_onnx_domain(n->domain)) {
            size_t before = s->g->n_node;
            int rc = upgrade_node(c, s, i);
            if (rc < 0)
                return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                       "out of memory");
            if (rc > 0)
                return onnxq_error_set(
                    err, ONNXQ_ERR_UNSUPPORTED,
                    "cannot upgrade opset %lld to %d: node %s (%s-%lld): %s",
                    (long long)c->from, TARGET,
                    n->name && n->name[0] ? n->name : "(unnamed)",
                    n->op_type ? n->op_type : "?", (long long)c->from, c->why);
            /* rewrites insert their helper nodes before n */
            for (size_t k = 0; k < s->g->n_node; k++)
                if (s->g->node[k] == n) {
                    i = k;
                    break;
                }
            (void)before;
        }
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *at = n->attribute[a];
            size_t kc = (at->g ? 1 : 0) + at->n_graphs;
            for (size_t k = 0; k < kc; k++) {
                scope sub = {at->g && k == 0 ? at->g
                                             : at->graphs[k - (at->g ? 1 : 0)],
                             s};
                onnxq_status st = walk(c, &sub, err);
                if (st != ONNXQ_OK)
                    return st;
            }
        }
    }
    return ONNXQ_OK;
}

onnxq_status oq_opt_upgrade_opset(onnxq_model *m, int trust_info,
                                  onnxq_preprocess_report *r,
                                  onnxq_error *err)
{
    Onnx__ModelProto *p = onnxq_model_proto(m);
    up_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.r = r;
    c.from = onnxq_model_opset(m, "");
    c.trust_info = trust_info;
    if (c.from <= 0 || c.from >= 10)
        return ONNXQ_OK;
    scope top = {p->graph, NULL};
    c.dry = 1;
    onnxq_status st = walk(&c, &top, err);
    if (st != ONNXQ_OK)
        return st;
    if (oq_opt_names_init(&c.names, p->graph)) {
        oq_opt_names_clear(&c.names);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    c.dry = 0;
    st = walk(&c, &top, err);
    oq_opt_names_clear(&c.names);
    if (st != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < p->n_opset_import; i++)
        if (oq_opt_onnx_domain(p->opset_import[i]->domain))
            p->opset_import[i]->version = TARGET;
    /* ONNX Runtime wants IR 7 for opset 13 */
    if (!p->has_ir_version || p->ir_version < 7) {
        p->has_ir_version = 1;
        p->ir_version = 7;
    }
    return ONNXQ_OK;
}
