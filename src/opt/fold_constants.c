/*
 * fold_constants.c — Constant nodes to initializers, and constant folding.
 *
 * Folding walks every graph in dependency order.  A node whose inputs are
 * all constants (initializers, Constant values, results folded earlier in
 * this walk, outer-scope constants for subgraphs) is run once, alone, in a
 * session of the runtime's reference kernels (a one-node model borrowing
 * the node and its input tensors), and its outputs become initializers of
 * the graph that held it.  Running the real kernels keeps folding exactly
 * as the runtime computes, with no second implementation of any op.
 *
 * Not folded, on purpose:
 *   - random ops (RandomNormal, Bernoulli, ...): a new value each run;
 *   - QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear: on a
 *     quantized model they are the quantization (int8 weights + DQ);
 *     folding would silently turn it back into float;
 *   - If / Loop / Scan (bodies), ops of other domains, graph outputs;
 *   - results more than max_fold_growth (1 MiB) larger than their inputs:
 *     ConstantOfShape, Expand, Tile, Range, Pad ... are cheap to run and
 *     would make the file bigger than the work they save.  Sizes are taken
 *     from inference before running, so a huge result is never allocated;
 *     a generator whose result size inference does not know is not run.
 * Shape (and Size) of a tensor whose shape inference knows in full (every
 * dim a number) become constants too; that needs the infer pass.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/ops.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "opt_internal.h"
#include "oq_util.h"
#include "strmap.h"

/* ---- Constant nodes -> initializers ---------------------------------------- */

static int is_graph_output(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && strcmp(g->output[i]->name, name) == 0)
            return 1;
    return 0;
}

static int append_init(Onnx__GraphProto *g, Onnx__TensorProto *t)
{
    Onnx__TensorProto **p =
        realloc(g->initializer, (g->n_initializer + 1) * sizeof *p);
    if (!p)
        return -1;
    p[g->n_initializer++] = t;
    g->initializer = p;
    return 0;
}

/* The tensor a Constant node stands for, taken out of the node (the node is
 * freed afterwards); NULL if it is a form kept as a node (strings, sparse). */
static Onnx__TensorProto *take_constant(Onnx__NodeProto *n, int *oom)
{
    *oom = 0;
    if (n->n_attribute != 1 || n->n_output != 1 || !n->output[0] ||
        !n->output[0][0])
        return NULL;
    Onnx__AttributeProto *a = n->attribute[0];
    const char *an = a->name ? a->name : "";
    Onnx__TensorProto *t = NULL;
    if (strcmp(an, "value") == 0 && a->t) {
        if (a->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
            return NULL; /* the runtime keeps strings out of its tensors */
        t = a->t;
        a->t = NULL;
        char *name = oq_strdup(n->output[0]);
        if (!name) {
            a->t = t;
            *oom = 1;
            return NULL;
        }
        free(t->name);
        t->name = name;
        return t;
    }
    int64_t one = 1;
    if (strcmp(an, "value_float") == 0)
        t = onnxq_build_tensor(n->output[0], ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                               0, NULL, &a->f);
    else if (strcmp(an, "value_int") == 0)
        t = onnxq_build_tensor(n->output[0], ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                               0, NULL, &a->i);
    else if (strcmp(an, "value_floats") == 0) {
        one = (int64_t)a->n_floats;
        t = onnxq_build_tensor(n->output[0], ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                               1, &one, a->floats);
    } else if (strcmp(an, "value_ints") == 0) {
        one = (int64_t)a->n_ints;
        t = onnxq_build_tensor(n->output[0], ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                               1, &one, a->ints);
    } else {
        return NULL;
    }
    if (!t)
        *oom = 1;
    return t;
}

static onnxq_status constants_in(Onnx__GraphProto *g, void *user,
                                 onnxq_error *err)
{
    onnxq_preprocess_report *r = user;
    char *dead = calloc(g->n_node + 1, 1);
    if (!dead)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    size_t removed = 0;
    for (size_t n = 0; n < g->n_node; n++) {
        Onnx__NodeProto *node = g->node[n];
        if (!oq_opt_is_op(node, "Constant"))
            continue;
        /* a graph output stays a node output: some runtimes do not accept
         * an initializer listed as a (subgraph) output */
        if (node->n_output != 1 || !node->output[0] ||
            is_graph_output(g, node->output[0])) {
            r->constants_kept++;
            continue;
        }
        int oom;
        Onnx__TensorProto *t = take_constant(node, &oom);
        if (!t && oom) {
            free(dead);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (!t) {
            r->constants_kept++;
            continue;
        }
        if (append_init(g, t)) {
            onnx__tensor_proto__free_unpacked(t, NULL);
            free(dead);
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        }
        dead[n] = 1;
        removed++;
        r->constants_converted++;
    }
    if (removed)
        oq_opt_remove_nodes(g, dead);
    free(dead);
    return ONNXQ_OK;
}

onnxq_status oq_opt_constants_to_initializers(onnxq_model *m,
                                              onnxq_preprocess_report *r,
                                              onnxq_error *err)
{
    return oq_opt_each_graph(onnxq_model_proto(m)->graph, constants_in, r, err);
}

/* ---- folding ------------------------------------------------------------------ */

typedef struct fold_ctx {
    onnxq_model *m;
    const onnxq_preprocess_options *o;
    onnxq_preprocess_report *r;
    int trust_info;       /* value_info comes from our own inference */
    int loop_depth;       /* > 0 inside a Loop or Scan body */
    oq_strmap folded;     /* name -> index in tensors (keys owned by them) */
    Onnx__TensorProto **tensors; /* folded results (owned by their graphs) */
    size_t n_tensors, cap_tensors;
} fold_ctx;

static const char *const never_fold[] = {
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
    "Multinomial", "Bernoulli", "Dropout", "QuantizeLinear",
    "DequantizeLinear", "DynamicQuantizeLinear", "If", "Loop", "Scan",
    "Constant", NULL,
};

/* Ops whose result can be far larger than their inputs. */
static const char *const generators[] = {
    "ConstantOfShape", "Expand", "Tile", "Range", "Pad", "Resize",
    "Upsample", "OneHot", "EyeLike", "Gather", "GatherElements", "GatherND",
    "MatMul", "Gemm", "Einsum", "ConvTranspose", "Col2Im", NULL,
};

static int in_list(const char *const *list, const char *op)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], op) == 0)
            return 1;
    return 0;
}

static const Onnx__TensorProto *constant_of(fold_ctx *c, const onnxq_graph *g,
                                            const char *name)
{
    size_t i;
    if (oq_strmap_get(&c->folded, name, &i))
        return c->tensors[i];
    const onnxq_graph *owner;
    const onnxq_value *v = onnxq_graph_resolve(g, name, &owner);
    if (!v || oq_opt_is_graph_input(onnxq_graph_proto(owner), name))
        return NULL; /* an input with a default may be fed another value */
    return onnxq_graph_constant(g, name);
}

/* Bytes of a value from its (inferred) type; -1 if not fully known. */
static int64_t info_bytes(const Onnx__ValueInfoProto *vi)
{
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return -1;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    size_t es = tt->has_elem_type ? onnxq_dtype_size(tt->elem_type) : 0;
    if (!es || !tt->shape)
        return -1;
    uint64_t numel = 1;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case !=
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            dim->dim_value < 0)
            return -1;
        if (dim->dim_value && numel > (UINT64_C(1) << 50) / (uint64_t)dim->dim_value)
            return INT64_MAX; /* absurdly large: never fold */
        numel *= (uint64_t)dim->dim_value;
    }
    return (int64_t)(numel * es);
}

static int remember(fold_ctx *c, Onnx__TensorProto *t)
{
    if (oq_grow(&c->tensors, &c->cap_tensors, c->n_tensors + 1,
                sizeof *c->tensors) ||
        oq_strmap_put(&c->folded, t->name, c->n_tensors))
        return -1;
    c->tensors[c->n_tensors++] = t;
    return 0;
}

/* Runs node alone on the constant tensors ins (names = the node's inputs).
 * Returns ONNXQ_OK with outputs, or a status when the runtime cannot. */
static onnxq_status run_node(fold_ctx *c, Onnx__NodeProto *node,
                             const Onnx__TensorProto *const *ins,
                             onnxq_tensor **outs, size_t *n_outs)
{
    const Onnx__ModelProto *src = onnxq_model_proto(c->m);
    Onnx__ModelProto *tm = onnxq_build_model(onnxq_model_opset(c->m, ""));
    if (!tm)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    tm->ir_version = src->ir_version;
    for (size_t i = 0; i < src->n_opset_import; i++)
        if (!oq_opt_onnx_domain(src->opset_import[i]->domain) &&
            !onnxq_build_opset(tm, src->opset_import[i]->domain,
                               src->opset_import[i]->version))
            goto oom;
    Onnx__GraphProto *g = tm->graph;
    /* shallow copies of the input tensors, named as the node reads them */
    g->initializer = calloc(node->n_input + 1, sizeof *g->initializer);
    if (!g->initializer)
        goto oom;
    for (size_t i = 0; i < node->n_input; i++) {
        if (!ins[i])
            continue;
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= ins[j] && strcmp(node->input[j], node->input[i]) == 0;
        if (seen)
            continue;
        Onnx__TensorProto *t = malloc(sizeof *t);
        char *nm = oq_strdup(node->input[i]);
        if (!t || !nm) {
            free(t);
            free(nm);
            goto oom_detach;
        }
        *t = *ins[i];
        t->name = nm;
        g->initializer[g->n_initializer++] = t;
    }
    for (size_t o = 0; o < node->n_output; o++)
        if (node->output[o] && node->output[o][0] &&
            !onnxq_build_output(g, node->output[o], 0, -1, NULL, NULL))
            goto oom_detach;
    g->node = malloc(sizeof *g->node);
    if (!g->node)
        goto oom_detach;
    g->node[0] = node; /* borrowed */
    g->n_node = 1;

    onnxq_model *tmodel = NULL;
    onnxq_status st = onnxq_model_wrap(tm, onnxq_model_base_dir(c->m), &tmodel,
                                       NULL);
    if (st != ONNXQ_OK)
        goto oom_detach;
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.reference_only = 1;
    so.n_threads = 1;
    onnxq_session *s = NULL;
    st = onnxq_session_create(tmodel, &so, &s, NULL);
    if (st == ONNXQ_OK)
        st = onnxq_session_run(s, NULL, 0, outs, n_outs, NULL);
    onnxq_session_destroy(s);
    tm = onnxq_model_proto(tmodel);
    g = tm->graph;
    g->n_node = 0;
    for (size_t i = 0; i < g->n_initializer; i++) {
        free(g->initializer[i]->name);
        free(g->initializer[i]);
    }
    g->n_initializer = 0;
    onnxq_model_destroy(tmodel);
    return st;
oom_detach:
    g->n_node = 0;
    for (size_t i = 0; i < g->n_initializer; i++) {
        free(g->initializer[i]->name);
        free(g->initializer[i]);
    }
    g->n_initializer = 0;
oom:
    onnx__model_proto__free_unpacked(tm, NULL);
    return ONNXQ_ERR_OUT_OF_MEMORY;
}

/* Shape/Size of a value whose inferred shape is all numbers: the constant
 * result, or NULL. */
static Onnx__TensorProto *static_shape(fold_ctx *c, const onnxq_graph *g,
                                       const Onnx__NodeProto *node, int *oom)
{
    *oom = 0;
    int is_shape = oq_opt_is_op(node, "Shape"), is_size = oq_opt_is_op(node, "Size");
    if ((!is_shape && !is_size) || !c->trust_info || node->n_input != 1 ||
        node->n_output != 1 || !node->input[0] || !node->input[0][0])
        return NULL;
    if (c->loop_depth)
        return NULL; /* a loop-carried value may change shape per iteration */
    const onnxq_value *v = onnxq_graph_resolve(g, node->input[0], NULL);
    const Onnx__ValueInfoProto *vi = v ? v->info : NULL;
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type->shape)
        return NULL;
    const Onnx__TensorShapeProto *sh = vi->type->tensor_type->shape;
    int64_t dims[ONNXQ_MAX_RANK], numel = 1;
    if (sh->n_dim > ONNXQ_MAX_RANK)
        return NULL;
    for (size_t d = 0; d < sh->n_dim; d++) {
        if (sh->dim[d]->value_case !=
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            return NULL;
        dims[d] = sh->dim[d]->dim_value;
        numel *= dims[d];
    }
    Onnx__TensorProto *t;
    if (is_size) {
        t = onnxq_build_tensor(node->output[0],
                               ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 0, NULL,
                               &numel);
    } else {
        /* Shape-15's start/end select a range of axes, clamped */
        int64_t r = (int64_t)sh->n_dim;
        int64_t start = oq_opt_attr_int(node, "start", 0);
        int64_t end = oq_opt_attr_int(node, "end", r);
        if (start < 0)
            start += r;
        if (end < 0)
            end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < 0 ? 0 : end > r ? r : end;
        int64_t len = end > start ? end - start : 0;
        t = onnxq_build_tensor(node->output[0],
                               ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &len,
                               dims + start);
    }
    if (!t)
        *oom = 1;
    return t;
}

static onnxq_status fold_graph(fold_ctx *c, const onnxq_graph *g,
                               onnxq_error *err)
{
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    size_t nn = gp->n_node;
    size_t *order = malloc((nn + 1) * sizeof *order);
    char *dead = calloc(nn + 1, 1);
    const Onnx__TensorProto **ins = NULL;
    onnxq_status st = ONNXQ_OK;
    if (!order || !dead)
        goto oom;
    st = onnxq_graph_topo_order(g, order, err);
    if (st != ONNXQ_OK)
        goto done;
    for (size_t step = 0; step < nn; step++) {
        size_t n = order[step];
        Onnx__NodeProto *node = gp->node[n];
        if (!oq_opt_onnx_domain(node->domain) || !node->op_type ||
            in_list(never_fold, node->op_type) || node->n_output == 0 ||
            onnxq_graph_subgraph_count(g, n))
            continue;
        int out_is_graph_output = 0;
        for (size_t o = 0; o < node->n_output; o++)
            if (node->output[o] && node->output[o][0] &&
                is_graph_output(gp, node->output[o]))
                out_is_graph_output = 1;
        if (out_is_graph_output)
            continue;

        int oom;
        Onnx__TensorProto *shape = static_shape(c, g, node, &oom);
        if (oom)
            goto oom;
        if (shape) {
            if (append_init(gp, shape)) {
                onnx__tensor_proto__free_unpacked(shape, NULL);
                goto oom;
            }
            if (remember(c, shape))
                goto oom;
            dead[n] = 1;
            c->r->folded_shapes++;
            continue;
        }

        free(ins);
        ins = calloc(node->n_input + 1, sizeof *ins);
        if (!ins)
            goto oom;
        int all_const = node->n_input > 0;
        uint64_t in_bytes = 0;
        for (size_t i = 0; i < node->n_input && all_const; i++) {
            if (!node->input[i] || !node->input[i][0])
                continue;
            ins[i] = constant_of(c, g, node->input[i]);
            uint64_t b = 0;
            if (!ins[i] ||
                onnxq_tensor_expected_bytes(ins[i], &b, NULL) != ONNXQ_OK)
                all_const = 0;
            in_bytes += b;
        }
        if (!all_const ||
            !onnxq_op_supported("", node->op_type, onnxq_model_opset(c->m, "")))
            continue;
        /* size of the result, before running it */
        int unknown = 0, too_large = 0;
        for (size_t o = 0; o < node->n_output; o++) {
            if (!node->output[o] || !node->output[o][0])
                continue;
            const onnxq_value *v = onnxq_graph_value(g, node->output[o]);
            int64_t b = c->trust_info && v ? info_bytes(v->info) : -1;
            if (b < 0)
                unknown = 1;
            else if ((uint64_t)b > in_bytes + c->o->max_fold_growth)
                too_large = 1;
        }
        if (too_large || (unknown && (in_list(generators, node->op_type) ||
                                      in_bytes > 64 * 1024))) {
            c->r->fold_too_large++;
            continue;
        }
        onnxq_tensor *outs = NULL;
        size_t n_outs = 0;
        st = run_node(c, node, ins, &outs, &n_outs);
        if (st == ONNXQ_ERR_OUT_OF_MEMORY)
            goto oom;
        if (st != ONNXQ_OK) {
            st = ONNXQ_OK;
            c->r->fold_failed++;
            continue;
        }
        uint64_t out_bytes = 0;
        for (size_t o = 0; o < n_outs; o++)
            out_bytes += onnxq_tensor_nbytes(&outs[o]);
        if (out_bytes > in_bytes + c->o->max_fold_growth) {
            onnxq_tensors_free(outs, n_outs);
            c->r->fold_too_large++;
            continue;
        }
        /* outputs come in the order of the node's named outputs */
        size_t k = 0;
        int failed = 0;
        for (size_t o = 0; o < node->n_output && !failed; o++) {
            if (!node->output[o] || !node->output[o][0])
                continue;
            onnxq_tensor *t = &outs[k++];
            Onnx__TensorProto *tp = onnxq_build_tensor(
                node->output[o], t->dtype, (size_t)t->rank, t->dims, t->data);
            if (!tp || append_init(gp, tp)) {
                if (tp)
                    onnx__tensor_proto__free_unpacked(tp, NULL);
                failed = 1;
            } else if (remember(c, tp)) {
                failed = 1;
            }
        }
        onnxq_tensors_free(outs, n_outs);
        if (failed)
            goto oom;
        dead[n] = 1;
        c->r->folded_nodes++;
    }
    /* subgraphs see what this graph folded (outer-scope constants) */
    for (size_t n = 0; n < nn && st == ONNXQ_OK; n++) {
        int loop = !oq_opt_is_op(gp->node[n], "If");
        c->loop_depth += loop;
        for (size_t k = 0; k < onnxq_graph_subgraph_count(g, n) && st == ONNXQ_OK; k++)
            st = fold_graph(c, onnxq_graph_subgraph(g, n, k, NULL), err);
        c->loop_depth -= loop;
    }
    /* removing nodes shifts indices the view uses: only after the
     * subgraphs are done */
    if (st == ONNXQ_OK)
        oq_opt_remove_nodes(gp, dead);
    goto done;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
done:
    free(ins);
    free(order);
    free(dead);
    return st;
}

onnxq_status oq_opt_fold_constants(onnxq_model *m,
                                   const onnxq_preprocess_options *o,
                                   onnxq_preprocess_report *r,
                                   onnxq_error *err)
{
    fold_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.o = o;
    c.r = r;
    c.trust_info = !(o->skip & ONNXQ_PASS_INFER);
    onnxq_graph *g;
    onnxq_status st = onnxq_graph_create(m, &g, err);
    if (st != ONNXQ_OK)
        return st;
    st = fold_graph(&c, g, err);
    onnxq_graph_destroy(g);
    oq_strmap_clear(&c.folded);
    free(c.tensors);
    return st;
}
