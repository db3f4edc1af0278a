/*
 * exec.c — the executor: runs a model's graph node by node (onnxq/runtime.h).
 *
 * Preparing a session resolves a kernel for every node of every (sub)graph,
 * so an unsupported op fails before anything runs; computes a topological
 * order; turns initializers and Constant values into tensors once (Constant
 * nodes then never run, and fast kernels see their values as constants);
 * fuses Conv with a following Add and/or activation (fuse_conv.c; not with
 * an observer, which must see every tensor); marks the values only oneDNN
 * convolutions read, which may stay in oneDNN's blocked layout between them
 * (plan_blocked; not with an observer either); and records, for every value,
 * the position of its last use so its buffer is freed as soon as nothing
 * needs it (peak memory is reported).
 *
 * Memory: the main graph runs from one arena.  The first run with a set of
 * input shapes records each planned allocation (intermediate tensors, and
 * kernels' oq_scratch) with its lifetime in steps; offsets are then placed
 * by lifetime, and later runs with the same shapes take every buffer from
 * the arena in the same order (mem_plan below), so they call no allocator
 * for tensor data or per-node bookkeeping (run buffers are made once per
 * graph).  Graph outputs are malloc'd, as they are handed to the caller.
 * oq_output zero-fills; kernels that write every element use
 * oq_output_raw.
 *
 * Running keeps one slot per value of the graph ("env"); subgraphs of If,
 * Loop and Scan run with their own env whose outer link resolves outer-scope names.
 * Shapes come from the kernels themselves as they allocate outputs; a new
 * input shape only makes the memory plan record again.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__ /* defined by the headers above */
#include <malloc.h>
#endif

#include "onnxq/graph.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "fuse_conv.h"
#include "kernels/dnnl/dnnl_kernels.h"
#include "oq_util.h"
#include "registry.h"
#include "fuse_qdq.h"

enum { ALIGN = 64 };

/* ---- prepared graphs ------------------------------------------------------ */

typedef struct exec_graph {
    const onnxq_graph *g;
    size_t n_nodes, n_values;
    const oq_kernel **kernels;   /* [n_nodes] reference kernel (or control
                                    flow entry) */
    const oq_fast_kernel **fast; /* [n_nodes] chosen fast kernel or NULL */
    void **state;                /* [n_nodes] its prepared state */
    int64_t *opsets;             /* [n_nodes] */
    size_t *order;               /* [n_nodes] topological */
    size_t *last_use;            /* [n_values] position in order; SIZE_MAX =
                                    keep (graph output or constant) */
    oq_tensor **consts;          /* [n_values] initializers and folded
                                    Constant values, else NULL */
    struct exec_graph ***subs;   /* [n_nodes][k] */
    char *skip;                  /* [n_nodes] computed at preparation (a
                                    Constant) or absorbed by a fusion */
    size_t *out_vi;              /* [n_nodes * max_out] value of each output
                                    kept in the env, SIZE_MAX: dropped */
    size_t max_in, max_out;      /* most inputs/outputs of a node */
    /* run buffers, made once: a graph never runs twice at the same time */
    oq_tensor **slots;           /* [n_values] */
    oq_tensor *store;            /* [n_values] node outputs' tensors */
    char *owned;                 /* [n_values] 0 borrowed, 1 malloc'd data,
                                    2 data in the session's arena */
    size_t *req;                 /* [n_values] plan request of the data */
    const oq_tensor **ins;       /* [max_in] */
    oq_tensor *outs;             /* [max_out] */
    char *allocated;             /* [max_out] */
    char *planned;               /* [max_out] */
    /* Conv fusions (fuse_conv.h): at a head node the fused FusedConv runs
     * instead of the Conv, and the nodes it absorbed are skipped, unless
     * its Z does not fit this run's shapes (fused_now = 0) */
    oq_conv_fusion *fusions;
    size_t n_fusions;
    oq_conv_fusion **fusion_at;  /* [n_nodes] at its head, else NULL */
    size_t *absorbed_by;         /* [n_nodes] head + 1, or 0 */
    char *fused_now;             /* [n_nodes] the head ran fused this run */
    const oq_fast_kernel **f_fast; /* [n_nodes] the fused node's kernel */
    void **f_state;
    size_t *f_out_vi;            /* [n_nodes] value the fused node makes */
    const oq_kernel *fused_ref;  /* FusedConv's reference kernel */
    /* blocked hand-off between oneDNN convolutions (dnnl_kernels.h), or
     * NULL when off: may_block[v] every reader of v is one; blocked[v] v's
     * data is in the blocked layout now (this run) */
    char *may_block;             /* [n_values] */
    char *blocked;               /* [n_values] */
} exec_graph;

/* The memory plan of the main graph for one set of input shapes.  The
 * first run with those shapes records every planned allocation (node
 * outputs that are not graph outputs, and kernels' scratch) with the step
 * it is made at and the step it is freed at; offsets in one arena are then
 * given by lifetime (largest first, lowest free offset), and later runs
 * take their buffers from the arena in the same order.  A request that
 * does not match the plan (a shape that depends on values) gets its own
 * malloc'd buffer and the next run records again. */
typedef struct mem_req {
    size_t step, end;            /* allocated at, last needed at (steps) */
    size_t bytes, off;
} mem_req;

typedef struct mem_plan {
    int64_t *key;                /* dtype, rank, dims[8] per input */
    size_t key_len;
    mem_req *reqs;
    size_t n_reqs, cap_reqs;
    char *arena;
    size_t arena_bytes, arena_cap;
    size_t cursor;               /* next request when replaying */
    int recording, stale, failed;
} mem_plan;

struct onnxq_session {
    onnxq_model *model;
    onnxq_model *fused;          /* QDQ fusion's private copy (fuse_qdq.c) */
    onnxq_graph *view;
    exec_graph *main;
    onnxq_session_options opts;
    const Onnx__ValueInfoProto **inputs; /* to feed */
    size_t n_inputs;
    size_t live_bytes, peak_bytes;
    onnxq_op_time *times;        /* profile: per op type */
    size_t n_times;
    mem_plan plan;               /* main graph's buffers */
};

typedef struct env {
    exec_graph *eg;
    oq_tensor **slots;   /* [n_values] */
    char *owned;         /* [n_values] as exec_graph.owned */
    const struct env *outer;
} env;

size_t onnxq_tensor_nbytes(const onnxq_tensor *t)
{
    return oq_numel_dims(t->dims, t->rank) * onnxq_dtype_size(t->dtype);
}

double onnxq_tensor_get_f64(const onnxq_tensor *t, size_t i)
{
    return oq_get_f64(t, i);
}

void onnxq_tensor_set_f64(onnxq_tensor *t, size_t i, double v)
{
    oq_set_f64(t, i, v);
}

float onnxq_half_to_float(uint16_t h) { return oq_half_to_float(h); }
uint16_t onnxq_float_to_half(float f) { return oq_float_to_half(f); }
float onnxq_bfloat16_to_float(uint16_t b) { return oq_bfloat16_to_float(b); }
uint16_t onnxq_float_to_bfloat16(float f) { return oq_float_to_bfloat16(f); }

static size_t round_align(size_t bytes)
{
    size_t n = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    return n ? n : ALIGN;
}

static void *alloc_raw(size_t bytes)
{
    return aligned_alloc(ALIGN, round_align(bytes));
}

static void *alloc_data(size_t bytes)
{
    void *p = alloc_raw(bytes);
    if (p)
        memset(p, 0, round_align(bytes));
    return p;
}

static void free_tensor(onnxq_session *s, oq_tensor *t)
{
    if (!t)
        return;
    if (s)
        s->live_bytes -= onnxq_tensor_nbytes(t);
    free(t->data);
    free(t);
}

void onnxq_tensors_free(onnxq_tensor *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        free(t[i].data);
    free(t);
}

static size_t value_index(const onnxq_graph *g, const onnxq_value *v)
{
    return (size_t)(v - onnxq_graph_value_at(g, 0));
}

static void destroy_exec(exec_graph *eg)
{
    if (!eg)
        return;
    if (eg->subs)
        for (size_t n = 0; n < eg->n_nodes; n++) {
            if (!eg->subs[n])
                continue;
            for (size_t k = 0; k < onnxq_graph_subgraph_count(eg->g, n); k++)
                destroy_exec(eg->subs[n][k]);
            free(eg->subs[n]);
        }
    if (eg->consts)
        for (size_t i = 0; i < eg->n_values; i++)
            free_tensor(NULL, eg->consts[i]);
    if (eg->fast)
        for (size_t n = 0; n < eg->n_nodes; n++)
            if (eg->fast[n] && eg->fast[n]->release)
                eg->fast[n]->release(eg->state[n]);
    if (eg->f_fast)
        for (size_t n = 0; n < eg->n_nodes; n++)
            if (eg->f_fast[n] && eg->f_fast[n]->release)
                eg->f_fast[n]->release(eg->f_state[n]);
    oq_fuse_conv_free(eg->fusions, eg->n_fusions);
    free(eg->fusion_at);
    free(eg->absorbed_by);
    free(eg->fused_now);
    free(eg->f_fast);
    free(eg->f_state);
    free(eg->f_out_vi);
    free(eg->may_block);
    free(eg->blocked);
    free(eg->fast);
    free(eg->state);
    free(eg->skip);
    free(eg->out_vi);
    free(eg->slots);
    free(eg->store);
    free(eg->owned);
    free(eg->req);
    free(eg->ins);
    free(eg->outs);
    free(eg->allocated);
    free(eg->planned);
    free(eg->subs);
    free(eg->consts);
    free(eg->kernels);
    free(eg->opsets);
    free(eg->order);
    free(eg->last_use);
    free(eg);
}

/* A tensor from a TensorProto (copied out of the model). */
static onnxq_status const_tensor(onnxq_model *m, const Onnx__TensorProto *tp,
                                 oq_tensor **out, onnxq_error *err)
{
    if (tp->n_dims > OQ_MAX_RANK)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "tensor '%s': rank %zu is above onnxq's limit "
                               "of %d", tp->name ? tp->name : "", tp->n_dims,
                               OQ_MAX_RANK);
    if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
        return onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                               "tensor '%s': string tensors are not supported "
                               "by the runtime", tp->name ? tp->name : "");
    uint64_t bytes;
    onnxq_status st = onnxq_tensor_expected_bytes(tp, &bytes, err);
    if (st != ONNXQ_OK)
        return st;
    oq_tensor *t = calloc(1, sizeof *t);
    if (!t || !(t->data = alloc_data((size_t)bytes))) {
        free(t);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    t->dtype = tp->data_type;
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++)
        t->dims[i] = tp->dims[i];
    st = onnxq_tensor_copy_data(m, tp, t->data, (size_t)bytes, err);
    if (st != ONNXQ_OK) {
        free_tensor(NULL, t);
        return st;
    }
    *out = t;
    return ONNXQ_OK;
}

/* Offers node to the fast kernels for its op, best first; the first whose
 * prepare accepts it runs it (*fast and *state, left alone if none). */
static onnxq_status offer_fast(exec_graph *eg, const Onnx__NodeProto *node,
                               const char *domain, int64_t opset,
                               const oq_fast_kernel **fast, void **state_out,
                               onnxq_error *err)
{
    size_t n_fast;
    const oq_fast_kernel *const *cands =
        oq_find_fast_kernels(domain, node->op_type, opset, &n_fast);
    if (!n_fast)
        return ONNXQ_OK;
    const oq_tensor **consts = calloc(node->n_input + 1, sizeof *consts);
    if (!consts)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < node->n_input; i++) {
        const onnxq_value *v = node->input[i] && node->input[i][0]
                                   ? onnxq_graph_value(eg->g, node->input[i])
                                   : NULL;
        if (v)
            consts[i] = eg->consts[value_index(eg->g, v)];
    }
    oq_prepare_ctx p = {node, opset, consts, node->n_input, err};
    onnxq_status st = ONNXQ_OK;
    for (size_t k = 0; k < n_fast; k++) {
        void *state = NULL;
        st = cands[k]->prepare(&p, &state);
        if (st == ONNXQ_OK) {
            *fast = cands[k];
            *state_out = state;
            break;
        }
        if (st != ONNXQ_ERR_UNSUPPORTED)
            break;
        st = ONNXQ_OK; /* declined: the next candidate, or the reference */
    }
    free(consts);
    return st;
}

static onnxq_status choose_fast(exec_graph *eg, size_t n,
                                const Onnx__NodeProto *node,
                                const char *domain, int64_t opset,
                                onnxq_error *err)
{
    return offer_fast(eg, node, domain, opset, &eg->fast[n], &eg->state[n],
                      err);
}

/* Finds the Conv fusions of eg and prepares their FusedConv nodes; a fusion
 * whose FusedConv no fast kernel takes is dropped (the reference FusedConv
 * would be slower than the nodes it replaces). */
static onnxq_status prepare_fusions(onnxq_session *s, exec_graph *eg,
                                    const size_t *pos, onnxq_error *err)
{
    int cf;
    eg->fused_ref = oq_find_kernel("com.microsoft", "FusedConv", 1, &cf);
    if (!eg->fused_ref || !eg->n_nodes)
        return ONNXQ_OK;
    onnxq_status st = oq_fuse_conv_find(eg->g, pos, eg->consts, eg->skip,
                                        onnxq_model_opset(s->model, ""),
                                        &eg->fusions, &eg->n_fusions, err);
    if (st != ONNXQ_OK || !eg->n_fusions)
        return st;
    size_t nn = eg->n_nodes;
    eg->fusion_at = calloc(nn, sizeof *eg->fusion_at);
    eg->absorbed_by = calloc(nn, sizeof *eg->absorbed_by);
    eg->fused_now = calloc(nn, 1);
    eg->f_fast = calloc(nn, sizeof *eg->f_fast);
    eg->f_state = calloc(nn, sizeof *eg->f_state);
    eg->f_out_vi = calloc(nn, sizeof *eg->f_out_vi);
    if (!eg->fusion_at || !eg->absorbed_by || !eg->fused_now || !eg->f_fast ||
        !eg->f_state || !eg->f_out_vi)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < eg->n_fusions; i++) {
        oq_conv_fusion *f = &eg->fusions[i];
        size_t h = f->head;
        st = offer_fast(eg, &f->node, f->node.domain, 1, &eg->f_fast[h],
                        &eg->f_state[h], err);
        if (st != ONNXQ_OK)
            return st;
        const onnxq_value *v = onnxq_graph_value(eg->g, f->outputs[0]);
        if (!eg->f_fast[h] || !v)
            continue;
        eg->fusion_at[h] = f;
        eg->f_out_vi[h] = value_index(eg->g, v);
        for (size_t k = 0; k < f->n_absorbed; k++)
            eg->absorbed_by[f->absorbed[k]] = h + 1;
    }
    return ONNXQ_OK;
}

static onnxq_status fold_constant(onnxq_session *s, exec_graph *eg, size_t n,
                                  onnxq_error *err);

/* The kernel that runs node c when its fusion (if any) runs. */
static const oq_fast_kernel *fast_of(const exec_graph *eg, size_t c)
{
    return eg->fusion_at && eg->fusion_at[c] ? eg->f_fast[c] : eg->fast[c];
}

/* Marks the values that may stay in oneDNN's blocked layout: node outputs,
 * not graph outputs, every reader of which is a oneDNN convolution taking
 * them as X or, in a fused Conv + Add, as Z.  Whether a value really is
 * blocked is known per run (the producing convolution says so); any other
 * reader at run time — a fusion that did not fit, a kernel handing over to
 * the reference — gets it converted back first (handoff below), so this
 * is only about where the conversion is skipped, never about results. */
static onnxq_status plan_blocked(exec_graph *eg)
{
    size_t nv = eg->n_values ? eg->n_values : 1;
    eg->may_block = calloc(nv, 1);
    eg->blocked = calloc(nv, 1);
    if (!eg->may_block || !eg->blocked)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    for (size_t vi = 0; vi < eg->n_values; vi++) {
        const onnxq_value *v = onnxq_graph_value_at(eg->g, vi);
        int ok = v->kind == ONNXQ_VALUE_NODE_OUTPUT && !v->is_graph_output &&
                 v->n_uses > 0;
        for (size_t u = 0; ok && u < v->n_uses; u++) {
            size_t c = v->uses[u].node;
            if (eg->absorbed_by && eg->absorbed_by[c]) {
                size_t h = eg->absorbed_by[c] - 1;
                const oq_conv_fusion *f = eg->fusion_at[h];
                ok = f->kind == OQ_FUSE_CONV && f->has_z && f->inputs[3] &&
                     strcmp(f->inputs[3], v->name) == 0 &&
                     oq_dnnl_is_conv(eg->f_fast[h]);
            } else {
                ok = v->uses[u].input == 0 && eg->fast[c] &&
                     oq_dnnl_is_conv(eg->fast[c]) &&
                     oq_dnnl_is_conv(fast_of(eg, c));
            }
        }
        eg->may_block[vi] = (char)ok;
    }
    return ONNXQ_OK;
}

/* The run buffers of eg and where each node's outputs go. */
static onnxq_status make_run_buffers(exec_graph *eg)
{
    const onnxq_graph *g = eg->g;
    for (size_t n = 0; n < eg->n_nodes; n++) {
        const Onnx__NodeProto *node = onnxq_graph_node(g, n);
        if (node->n_input > eg->max_in)
            eg->max_in = node->n_input;
        if (node->n_output > eg->max_out)
            eg->max_out = node->n_output;
    }
    size_t nv = eg->n_values ? eg->n_values : 1;
    /* a fused FusedConv reads up to 8 inputs (fuse_conv.h), more than the
     * Conv it replaces */
    size_t mi = (eg->max_in > 8 ? eg->max_in : 8) + 1, mo = eg->max_out + 1;
    eg->out_vi = malloc((eg->n_nodes ? eg->n_nodes : 1) * mo * sizeof *eg->out_vi);
    eg->slots = calloc(nv, sizeof *eg->slots);
    eg->store = calloc(nv, sizeof *eg->store);
    eg->owned = calloc(nv, 1);
    eg->req = malloc(nv * sizeof *eg->req);
    eg->ins = calloc(mi, sizeof *eg->ins);
    eg->outs = calloc(mo, sizeof *eg->outs);
    eg->allocated = calloc(mo, 1);
    eg->planned = calloc(mo, 1);
    if (!eg->out_vi || !eg->slots || !eg->store || !eg->owned || !eg->req ||
        !eg->ins || !eg->outs || !eg->allocated || !eg->planned)
        return ONNXQ_ERR_OUT_OF_MEMORY;
    for (size_t n = 0; n < eg->n_nodes; n++) {
        const Onnx__NodeProto *node = onnxq_graph_node(g, n);
        for (size_t o = 0; o < eg->max_out; o++) {
            const char *name = o < node->n_output ? node->output[o] : NULL;
            const onnxq_value *v = name && name[0] ? onnxq_graph_value(g, name)
                                                   : NULL;
            eg->out_vi[n * eg->max_out + o] =
                v && v->kind == ONNXQ_VALUE_NODE_OUTPUT && v->producer == n
                    ? value_index(g, v) : SIZE_MAX;
        }
    }
    return ONNXQ_OK;
}

static onnxq_status prepare(onnxq_session *s, const onnxq_graph *g,
                            exec_graph **out, onnxq_error *err)
{
    onnxq_status st = ONNXQ_OK;
    exec_graph *eg = calloc(1, sizeof *eg);
    if (!eg)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    eg->g = g;
    eg->n_nodes = onnxq_graph_node_count(g);
    eg->n_values = onnxq_graph_value_count(g);
    size_t nn = eg->n_nodes ? eg->n_nodes : 1, nv = eg->n_values ? eg->n_values : 1;
    eg->kernels = calloc(nn, sizeof *eg->kernels);
    eg->opsets = calloc(nn, sizeof *eg->opsets);
    eg->order = calloc(nn, sizeof *eg->order);
    eg->subs = calloc(nn, sizeof *eg->subs);
    eg->last_use = calloc(nv, sizeof *eg->last_use);
    eg->consts = calloc(nv, sizeof *eg->consts);
    eg->fast = calloc(nn, sizeof *eg->fast);
    eg->state = calloc(nn, sizeof *eg->state);
    eg->skip = calloc(nn, 1);
    if (!eg->kernels || !eg->opsets || !eg->order || !eg->subs ||
        !eg->last_use || !eg->consts || !eg->fast || !eg->state || !eg->skip)
        goto oom;
    if (make_run_buffers(eg) != ONNXQ_OK)
        goto oom;
    for (size_t i = 0; i < eg->n_values; i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        if (v->kind == ONNXQ_VALUE_INITIALIZER) {
            st = const_tensor(s->model, v->initializer, &eg->consts[i], err);
            if (st != ONNXQ_OK)
                goto fail;
        }
    }

    for (size_t n = 0; n < eg->n_nodes; n++) {
        const Onnx__NodeProto *node = onnxq_graph_node(g, n);
        const char *domain = node->domain ? node->domain : "";
        int64_t opset = onnxq_model_opset(s->model, domain);
        int cf;
        const oq_kernel *k = oq_find_kernel(domain, node->op_type, opset, &cf);
        if (!k) {
            st = onnxq_error_set(err, ONNXQ_ERR_UNSUPPORTED,
                                 "node %s (%s%s%s, opset %lld) in graph %s: "
                                 "onnxq has no kernel for this op",
                                 onnxq_graph_node_label(g, n),
                                 domain[0] ? domain : "", domain[0] ? "." : "",
                                 node->op_type ? node->op_type : "?",
                                 (long long)opset, onnxq_graph_path(g));
            goto fail;
        }
        eg->kernels[n] = k;
        eg->opsets[n] = opset;
        /* a Constant's value is made once, here, and is then a constant
         * input like an initializer (fast kernels pack it in prepare) */
        if (!domain[0] && k->run && strcmp(node->op_type, "Constant") == 0 &&
            node->n_input == 0 && node->n_output == 1) {
            st = fold_constant(s, eg, n, err);
            if (st != ONNXQ_OK)
                goto fail;
        }
    }
    for (size_t n = 0; n < eg->n_nodes; n++) {
        const Onnx__NodeProto *node = onnxq_graph_node(g, n);
        const char *domain = node->domain ? node->domain : "";
        if (!s->opts.reference_only && !eg->skip[n])
            st = choose_fast(eg, n, node, domain, eg->opsets[n], err);
        if (st != ONNXQ_OK)
            goto fail;
        size_t n_sub = onnxq_graph_subgraph_count(g, n);
        if (n_sub) {
            eg->subs[n] = calloc(n_sub, sizeof *eg->subs[n]);
            if (!eg->subs[n])
                goto oom;
            for (size_t k2 = 0; k2 < n_sub; k2++) {
                st = prepare(s, onnxq_graph_subgraph(g, n, k2, NULL),
                             &eg->subs[n][k2], err);
                if (st != ONNXQ_OK)
                    goto fail;
            }
        }
    }
    st = onnxq_graph_topo_order(g, eg->order, err);
    if (st != ONNXQ_OK)
        goto fail;
    size_t *pos = malloc(nn * sizeof *pos);
    if (!pos)
        goto oom;
    for (size_t i = 0; i < eg->n_nodes; i++)
        pos[eg->order[i]] = i;
    for (size_t i = 0; i < eg->n_values; i++) {
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        size_t last = 0;
        for (size_t u = 0; u < v->n_uses; u++)
            if (pos[v->uses[u].node] > last)
                last = pos[v->uses[u].node];
        eg->last_use[i] = v->is_graph_output || v->kind != ONNXQ_VALUE_NODE_OUTPUT
                              ? SIZE_MAX : last;
    }
    /* fusion hides intermediate tensors from an observer: not with one;
     * nor blocked layouts, which it could not read */
    if (!s->opts.reference_only && !s->opts.observer)
        st = prepare_fusions(s, eg, pos, err);
    if (st == ONNXQ_OK && !s->opts.reference_only && !s->opts.observer &&
        oq_dnnl_blocked_handoff() && plan_blocked(eg) != ONNXQ_OK)
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    free(pos);
    if (st != ONNXQ_OK)
        goto fail;
    *out = eg;
    return ONNXQ_OK;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    destroy_exec(eg);
    return st;
}

void onnxq_session_options_init(onnxq_session_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

onnxq_status onnxq_session_create(onnxq_model *model,
                                  const onnxq_session_options *opts,
                                  onnxq_session **out, onnxq_error *err)
{
    onnxq_session *s = calloc(1, sizeof *s);
    if (!s)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    s->model = model;
    if (opts)
        s->opts = *opts;
    /* QDQ fusion (fuse_qdq.c): a QDQ model runs from a private fused copy,
     * which s->model then points at */
    onnxq_status st = oq_fuse_qdq(&s->model, &s->fused, &s->opts, err);
    if (st == ONNXQ_OK)
        st = onnxq_graph_create(s->model, &s->view, err);
    if (st == ONNXQ_OK)
        st = prepare(s, s->view, &s->main, err);
    if (st != ONNXQ_OK) {
        onnxq_error_prefix(err, "%s", onnxq_model_source(model));
        onnxq_session_destroy(s);
        return st;
    }
    const Onnx__GraphProto *gp = onnxq_graph_proto(s->view);
    s->inputs = calloc(gp->n_input ? gp->n_input : 1, sizeof *s->inputs);
    if (!s->inputs) {
        onnxq_session_destroy(s);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const onnxq_value *v = onnxq_graph_value(s->view, gp->input[i]->name);
        if (v && v->kind == ONNXQ_VALUE_GRAPH_INPUT)
            s->inputs[s->n_inputs++] = gp->input[i];
    }
    *out = s;
    return ONNXQ_OK;
}

void onnxq_session_destroy(onnxq_session *s)
{
    if (!s)
        return;
    destroy_exec(s->main);
    free(s->plan.reqs);
    free(s->plan.key);
    free(s->plan.arena);
    onnxq_graph_destroy(s->view);
    onnxq_model_destroy(s->fused);
    free(s->times);
    free(s->inputs);
    free(s);
}

size_t onnxq_session_input_count(const onnxq_session *s) { return s->n_inputs; }

const Onnx__ValueInfoProto *onnxq_session_input(const onnxq_session *s,
                                                size_t i)
{
    return i < s->n_inputs ? s->inputs[i] : NULL;
}

size_t onnxq_session_output_count(const onnxq_session *s)
{
    return onnxq_graph_proto(s->view)->n_output;
}

const Onnx__ValueInfoProto *onnxq_session_output(const onnxq_session *s,
                                                 size_t i)
{
    const Onnx__GraphProto *gp = onnxq_graph_proto(s->view);
    return i < gp->n_output ? gp->output[i] : NULL;
}

size_t onnxq_session_peak_bytes(const onnxq_session *s) { return s->peak_bytes; }

/* ---- kernel context --------------------------------------------------------- */

enum { MAX_SCRATCH = 16 };

typedef struct run_state {
    onnxq_session *s;
    char *allocated;      /* [n_out] 1: malloc'd data, 2: in the arena */
    const char *planned;  /* [n_out] output may come from the plan, or NULL */
    mem_plan *plan;       /* the main graph's plan, or NULL */
    size_t step;
    size_t *out_req;      /* [n_out] plan request of each output */
    void *scratch[MAX_SCRATCH]; /* malloc'd scratch, freed after the run */
    size_t n_scratch, scratch_bytes;
} run_state;

/* Records a planned request, or takes the next one from the arena. */
static void *plan_take(run_state *rs, size_t bytes, int zero, size_t *req,
                       int *in_arena)
{
    mem_plan *p = rs->plan;
    *in_arena = 0;
    *req = SIZE_MAX;
    if (p->recording) {
        if (p->n_reqs == p->cap_reqs) {
            size_t cap = p->cap_reqs ? p->cap_reqs * 2 : 256;
            mem_req *r = realloc(p->reqs, cap * sizeof *r);
            if (!r) {
                p->failed = 1;
                return zero ? alloc_data(bytes) : alloc_raw(bytes);
            }
            p->reqs = r;
            p->cap_reqs = cap;
        }
        *req = p->n_reqs;
        p->reqs[p->n_reqs++] = (mem_req){rs->step, rs->step, bytes, 0};
    } else {
        while (p->cursor < p->n_reqs && p->reqs[p->cursor].step < rs->step)
            p->cursor++;
        if (p->cursor < p->n_reqs && p->reqs[p->cursor].step == rs->step &&
            bytes <= p->reqs[p->cursor].bytes) {
            char *d = p->arena + p->reqs[p->cursor++].off;
            if (zero)
                memset(d, 0, bytes);
            *in_arena = 1;
            return d;
        }
        p->stale = 1; /* record again next run */
    }
    return zero ? alloc_data(bytes) : alloc_raw(bytes);
}

static oq_tensor *alloc_output(oq_kctx *ctx, size_t i, int32_t dtype, int rank,
                               const int64_t *dims, int zero)
{
    run_state *rs = ctx->exec;
    if (i >= ctx->n_out) {
        oq_kfail(ctx, ONNXQ_ERR_INTERNAL, "output %zu of %zu allocated", i,
                 ctx->n_out);
        return NULL;
    }
    if (rank < 0 || rank > OQ_MAX_RANK) {
        oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "output rank %d is above onnxq's "
                 "limit of %d", rank, OQ_MAX_RANK);
        return NULL;
    }
    oq_tensor *t = &ctx->out[i];
    if (rs->allocated[i]) {
        oq_kfail(ctx, ONNXQ_ERR_INTERNAL, "output %zu allocated twice", i);
        return NULL;
    }
    t->dtype = dtype;
    t->rank = rank;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0) {
            oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                     "output %zu would have negative dimension %lld", i,
                     (long long)dims[d]);
            return NULL;
        }
        t->dims[d] = dims[d];
    }
    uint64_t numel;
    if (onnxq_shape_numel(t->dims, (size_t)rank, &numel) ||
        numel > ((uint64_t)1 << 40)) {
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "output %zu is too large", i);
        return NULL;
    }
    size_t es = onnxq_dtype_size(dtype);
    if (!es) {
        oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "output type %s is not supported",
                 onnxq_dtype_name(dtype));
        return NULL;
    }
    int in_arena = 0;
    size_t bytes = (size_t)numel * es;
    if (rs->plan && rs->planned && rs->planned[i])
        t->data = plan_take(rs, bytes, zero, &rs->out_req[i], &in_arena);
    else
        t->data = zero ? alloc_data(bytes) : alloc_raw(bytes);
    if (!t->data) {
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY,
                 "out of memory for output %zu (%llu bytes)", i,
                 (unsigned long long)(numel * es));
        return NULL;
    }
    rs->allocated[i] = in_arena ? 2 : 1;
    rs->s->live_bytes += (size_t)numel * es;
    if (rs->s->live_bytes > rs->s->peak_bytes)
        rs->s->peak_bytes = rs->s->live_bytes;
    return t;
}

oq_tensor *oq_output(oq_kctx *ctx, size_t i, int32_t dtype, int rank,
                     const int64_t *dims)
{
    return alloc_output(ctx, i, dtype, rank, dims, 1);
}

oq_tensor *oq_output_raw(oq_kctx *ctx, size_t i, int32_t dtype, int rank,
                         const int64_t *dims)
{
    return alloc_output(ctx, i, dtype, rank, dims, 0);
}

void *oq_scratch(oq_kctx *ctx, size_t bytes)
{
    run_state *rs = ctx->exec;
    int in_arena = 0;
    size_t req;
    void *d = NULL;
    if (rs->plan) {
        d = plan_take(rs, bytes, 0, &req, &in_arena);
    } else {
        d = alloc_raw(bytes);
    }
    if (d && !in_arena) {
        if (rs->n_scratch == MAX_SCRATCH) {
            free(d);
            oq_kfail(ctx, ONNXQ_ERR_INTERNAL, "more than %d scratch buffers",
                     MAX_SCRATCH);
            return NULL;
        }
        rs->scratch[rs->n_scratch++] = d;
    }
    if (!d) {
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for scratch "
                 "(%zu bytes)", bytes);
        return NULL;
    }
    rs->scratch_bytes += bytes;
    rs->s->live_bytes += bytes;
    if (rs->s->live_bytes > rs->s->peak_bytes)
        rs->s->peak_bytes = rs->s->live_bytes;
    return d;
}

/* After a node's run: its scratch is given back. */
static void drop_scratch(run_state *rs)
{
    for (size_t i = 0; i < rs->n_scratch; i++)
        free(rs->scratch[i]);
    rs->n_scratch = 0;
    rs->s->live_bytes -= rs->scratch_bytes;
    rs->scratch_bytes = 0;
}

/* Runs Constant node n of eg once, at preparation: its value becomes a
 * constant of the graph and the node is skipped when the graph runs. */
static onnxq_status fold_constant(onnxq_session *s, exec_graph *eg, size_t n,
                                  onnxq_error *err)
{
    const Onnx__NodeProto *node = onnxq_graph_node(eg->g, n);
    size_t vi = eg->out_vi[n * eg->max_out];
    if (vi == SIZE_MAX)
        return ONNXQ_OK; /* nothing reads it */
    char allocated = 0;
    oq_tensor out;
    memset(&out, 0, sizeof out);
    size_t req = SIZE_MAX;
    run_state rs = {s, &allocated, NULL, NULL, 0, &req, {0}, 0, 0};
    oq_kctx ctx = {node, eg->opsets[n], NULL, 0, 1, s->opts.n_threads, NULL,
                   &rs, &out, err};
    onnxq_status st = eg->kernels[n]->run(&ctx);
    s->live_bytes = 0;
    s->peak_bytes = 0;
    if (st != ONNXQ_OK) {
        if (allocated)
            free(out.data);
        return st;
    }
    if (!allocated)
        return onnxq_error_set(err, ONNXQ_ERR_INTERNAL, "node %s (Constant): "
                               "no value", onnxq_graph_node_label(eg->g, n));
    oq_tensor *t = malloc(sizeof *t);
    if (!t) {
        free(out.data);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    *t = out;
    eg->consts[vi] = t;
    eg->skip[n] = 1;
    return ONNXQ_OK;
}

onnxq_status oq_kfail(oq_kctx *ctx, onnxq_status status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Onnx__NodeProto *n = ctx->node;
    return onnxq_error_set(ctx->err, status, "node %s (%s): %s",
                           n->name && n->name[0] ? n->name : "<unnamed>",
                           n->op_type ? n->op_type : "?", msg);
}

/* ---- running -------------------------------------------------------------- */

static void record_time(onnxq_session *s, const char *op, double ms)
{
    for (size_t i = 0; i < s->n_times; i++)
        if (strcmp(s->times[i].op_type, op) == 0) {
            s->times[i].total_ms += ms;
            s->times[i].calls++;
            return;
        }
    onnxq_op_time *t = realloc(s->times, (s->n_times + 1) * sizeof *t);
    if (!t)
        return; /* profiling is best effort */
    s->times = t;
    t[s->n_times++] = (onnxq_op_time){op, ms, 1};
}

static int by_time_desc(const void *a, const void *b)
{
    double x = ((const onnxq_op_time *)a)->total_ms,
           y = ((const onnxq_op_time *)b)->total_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

size_t onnxq_session_op_times(onnxq_session *s, const onnxq_op_time **out)
{
    if (s->n_times)
        qsort(s->times, s->n_times, sizeof *s->times, by_time_desc);
    *out = s->times;
    return s->n_times;
}

static const oq_tensor *lookup(const env *e, const char *name)
{
    for (; e; e = e->outer) {
        const onnxq_value *v = onnxq_graph_value(e->eg->g, name);
        if (v && v->kind != ONNXQ_VALUE_UNDEFINED)
            return e->slots[value_index(e->eg->g, v)];
    }
    return NULL;
}

static oq_tensor *copy_tensor(const oq_tensor *src)
{
    oq_tensor *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    *t = *src;
    size_t n = onnxq_tensor_nbytes(src);
    t->data = alloc_data(n);
    if (!t->data) {
        free(t);
        return NULL;
    }
    if (n)
        memcpy(t->data, src->data, n);
    return t;
}

static onnxq_status run_graph(onnxq_session *s, exec_graph *eg,
                              const env *outer, const oq_tensor *const *inputs,
                              size_t n_inputs, oq_tensor **outputs,
                              onnxq_error *err);

/* If: run the chosen branch; its outputs become the node's outputs. */
static onnxq_status run_if(onnxq_session *s, exec_graph *eg, size_t n,
                           const env *e, oq_kctx *ctx)
{
    const oq_tensor *cond = oq_in(ctx, 0);
    if (!cond || oq_numel(cond) != 1 ||
        cond->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "condition must be a single bool");
    int take_then = *(const uint8_t *)cond->data != 0;
    const Onnx__NodeProto *node = ctx->node;
    size_t which = SIZE_MAX;
    for (size_t k = 0; k < onnxq_graph_subgraph_count(eg->g, n); k++) {
        const char *attr;
        onnxq_graph_subgraph(eg->g, n, k, &attr);
        if (strcmp(attr, take_then ? "then_branch" : "else_branch") == 0)
            which = k;
    }
    if (which == SIZE_MAX)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "missing %s",
                        take_then ? "then_branch" : "else_branch");
    exec_graph *sub = eg->subs[n][which];
    size_t n_out = onnxq_graph_proto(sub->g)->n_output;
    if (n_out != node->n_output)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "branch has %zu outputs, node has %zu", n_out,
                        node->n_output);
    oq_tensor **outs = calloc(n_out ? n_out : 1, sizeof *outs);
    if (!outs)
        return onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    onnxq_status st = run_graph(s, sub, e, NULL, 0, outs, ctx->err);
    run_state *rs = ctx->exec;
    for (size_t i = 0; i < n_out; i++) {
        if (st == ONNXQ_OK) {
            ctx->out[i] = *outs[i];
            rs->allocated[i] = 1;
            s->live_bytes += onnxq_tensor_nbytes(outs[i]);
            free(outs[i]);
        } else if (outs[i]) {
            free(outs[i]->data);
            free(outs[i]);
        }
    }
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
    free(outs);
    return st;
}

/* Loop: inputs (M, cond, v_initial...), body (iter, cond, v...) ->
 * (cond, v..., scan_outputs...); node outputs: final v..., then each scan
 * output stacked along a new first axis. */
static onnxq_status run_loop(onnxq_session *s, exec_graph *eg, size_t n,
                             const env *e, oq_kctx *ctx)
{
    exec_graph *body = eg->subs[n][0];
    const Onnx__GraphProto *bp = onnxq_graph_proto(body->g);
    size_t n_carried = ctx->n_in >= 2 ? ctx->n_in - 2 : 0;
    if (bp->n_input != n_carried + 2 || bp->n_output < n_carried + 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "body has %zu inputs and %zu outputs for %zu loop "
                        "carried values", bp->n_input, bp->n_output, n_carried);
    size_t n_scan = bp->n_output - 1 - n_carried;
    int64_t max_trip = INT64_MAX;
    if (oq_in(ctx, 0))
        max_trip = oq_get_i64(oq_in(ctx, 0), 0);
    int cond = 1;
    if (oq_in(ctx, 1))
        cond = oq_get_i64(oq_in(ctx, 1), 0) != 0;

    onnxq_status st = ONNXQ_OK;
    oq_tensor iter_t = {ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 0, {0}, NULL};
    oq_tensor cond_t = {ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 0, {0}, NULL};
    int64_t iter_v = 0;
    uint8_t cond_v = 1;
    iter_t.data = &iter_v;
    cond_t.data = &cond_v;
    oq_tensor **carried = calloc(n_carried + 1, sizeof *carried);
    oq_tensor **outs = calloc(bp->n_output + 1, sizeof *outs);
    const oq_tensor **ins = calloc(n_carried + 2, sizeof *ins);
    /* scan outputs, grown per iteration */
    oq_tensor *scan = calloc(n_scan + 1, sizeof *scan);
    size_t *scan_cap = calloc(n_scan + 1, sizeof *scan_cap);
    if (!carried || !outs || !ins || !scan || !scan_cap) {
        st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_carried; i++) {
        if (!oq_in(ctx, 2 + i)) {
            st = oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                          "loop-carried input %zu is missing", i);
            goto done;
        }
        carried[i] = copy_tensor(oq_in(ctx, 2 + i));
        if (!carried[i]) {
            st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    int64_t it = 0;
    for (; it < max_trip && cond; it++) {
        iter_v = it;
        cond_v = (uint8_t)cond;
        ins[0] = &iter_t;
        ins[1] = &cond_t;
        for (size_t i = 0; i < n_carried; i++)
            ins[2 + i] = carried[i];
        memset(outs, 0, (bp->n_output + 1) * sizeof *outs);
        st = run_graph(s, body, e, ins, n_carried + 2, outs, ctx->err);
        if (st != ONNXQ_OK)
            goto done;
        cond = oq_get_i64(outs[0], 0) != 0;
        free_tensor(NULL, outs[0]);
        for (size_t i = 0; i < n_carried; i++) {
            free_tensor(NULL, carried[i]);
            carried[i] = outs[1 + i];
        }
        for (size_t k = 0; k < n_scan; k++) {
            oq_tensor *piece = outs[1 + n_carried + k];
            size_t pb = onnxq_tensor_nbytes(piece);
            oq_tensor *acc = &scan[k];
            if (it == 0) {
                acc->dtype = piece->dtype;
                acc->rank = piece->rank + 1;
                if (acc->rank > OQ_MAX_RANK) {
                    free_tensor(NULL, piece);
                    st = oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "scan output "
                                  "rank above %d", OQ_MAX_RANK);
                    goto done;
                }
                memcpy(acc->dims + 1, piece->dims, piece->rank * sizeof *piece->dims);
                acc->dims[0] = 0;
            } else if (piece->rank + 1 != acc->rank ||
                       memcmp(acc->dims + 1, piece->dims,
                              piece->rank * sizeof *piece->dims) != 0) {
                free_tensor(NULL, piece);
                st = oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                              "scan output %zu changes shape between "
                              "iterations", k);
                goto done;
            }
            size_t used = (size_t)acc->dims[0] * pb;
            if (used + pb > scan_cap[k]) {
                size_t cap = scan_cap[k] ? scan_cap[k] * 2 : pb * 4 + ALIGN;
                while (cap < used + pb)
                    cap *= 2;
                void *p = realloc(acc->data, cap);
                if (!p) {
                    free_tensor(NULL, piece);
                    st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                         "out of memory");
                    goto done;
                }
                acc->data = p;
                scan_cap[k] = cap;
            }
            if (pb)
                memcpy((char *)acc->data + used, piece->data, pb);
            acc->dims[0]++;
            free_tensor(NULL, piece);
        }
    }
    run_state *rs = ctx->exec;
    for (size_t i = 0; i < n_carried && i < ctx->n_out; i++) {
        ctx->out[i] = *carried[i];
        free(carried[i]);
        carried[i] = NULL;
        rs->allocated[i] = 1;
        s->live_bytes += onnxq_tensor_nbytes(&ctx->out[i]);
    }
    for (size_t k = 0; k < n_scan && n_carried + k < ctx->n_out; k++) {
        oq_tensor *acc = &scan[k];
        if (it == 0) {
            /* zero iterations: shape [0, ...] from the body's declaration is
             * unknown here; emit an empty float tensor of rank 1 */
            acc->dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
            acc->rank = 1;
            acc->dims[0] = 0;
        }
        oq_tensor *dst = &ctx->out[n_carried + k];
        *dst = *acc;
        dst->data = alloc_data(onnxq_tensor_nbytes(acc));
        if (!dst->data) {
            st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        if (onnxq_tensor_nbytes(acc))
            memcpy(dst->data, acc->data, onnxq_tensor_nbytes(acc));
        rs->allocated[n_carried + k] = 1;
        s->live_bytes += onnxq_tensor_nbytes(dst);
    }
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
done:
    if (carried)
        for (size_t i = 0; i < n_carried; i++)
            free_tensor(NULL, carried[i]);
    if (scan)
        for (size_t k = 0; k < n_scan; k++)
            free(scan[k].data);
    free(carried);
    free(outs);
    free(ins);
    free(scan);
    free(scan_cap);
    return st;
}

/* Copies slice idx along axis of src (whose dims[axis] == len) into dst
 * (already shaped without that axis), or the reverse when stacking. */
static void move_slice(const oq_tensor *full, int axis, int64_t idx,
                       void *piece, int to_piece)
{
    size_t es = onnxq_dtype_size(full->dtype);
    size_t outer = oq_numel_dims(full->dims, axis);
    size_t inner = oq_numel_dims(full->dims + axis + 1, full->rank - axis - 1) * es;
    size_t len = (size_t)full->dims[axis];
    for (size_t o = 0; o < outer; o++) {
        char *f = (char *)full->data + (o * len + (size_t)idx) * inner;
        char *pc = (char *)piece + o * inner;
        if (to_piece)
            memcpy(pc, f, inner);
        else
            memcpy(f, pc, inner);
    }
}

static int64_t attr_list_at(const Onnx__NodeProto *node, const char *name,
                            size_t i, int64_t dflt)
{
    for (size_t a = 0; a < node->n_attribute; a++)
        if (node->attribute[a]->name &&
            strcmp(node->attribute[a]->name, name) == 0)
            return i < node->attribute[a]->n_ints ? node->attribute[a]->ints[i]
                                                  : dflt;
    return dflt;
}

/* Scan (opset 9+): inputs are N initial states then M scan inputs; the body
 * takes N states and one slice of each scan input and returns N states and K
 * slices, which are stacked into the K scan outputs. */
static onnxq_status run_scan(onnxq_session *s, exec_graph *eg, size_t n,
                             const env *e, oq_kctx *ctx)
{
    const Onnx__NodeProto *node = ctx->node;
    exec_graph *body = eg->subs[n][0];
    const Onnx__GraphProto *bp = onnxq_graph_proto(body->g);
    int64_t m = oq_attr_int(ctx, "num_scan_inputs", -1);
    if (m < 1 || (size_t)m > ctx->n_in)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "num_scan_inputs %lld does not fit %zu inputs",
                        (long long)m, ctx->n_in);
    size_t n_state = ctx->n_in - (size_t)m;
    if (bp->n_input != n_state + (size_t)m || bp->n_output < n_state ||
        node->n_output != bp->n_output)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "body signature does not match the node");
    size_t k_out = bp->n_output - n_state;
    int64_t len = -1;
    int axes[ONNXQ_MAX_RANK * 4];
    if ((size_t)m > sizeof axes / sizeof axes[0])
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "too many scan inputs");
    for (size_t j = 0; j < (size_t)m; j++) {
        const oq_tensor *x = oq_in(ctx, n_state + j);
        if (!x || x->rank < 1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "scan input %zu missing or scalar", j);
        int64_t ax = attr_list_at(node, "scan_input_axes", j, 0);
        if (ax < 0)
            ax += x->rank;
        if (ax < 0 || ax >= x->rank)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "scan_input_axes[%zu] out of range", j);
        axes[j] = (int)ax;
        if (len >= 0 && x->dims[ax] != len)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "scan inputs disagree on sequence length (%lld vs "
                            "%lld)", (long long)len, (long long)x->dims[ax]);
        len = x->dims[ax];
    }
    onnxq_status st = ONNXQ_OK;
    oq_tensor **state = calloc(n_state + 1, sizeof *state);
    oq_tensor *slices = calloc((size_t)m, sizeof *slices);
    const oq_tensor **ins = calloc(bp->n_input + 1, sizeof *ins);
    oq_tensor **outs = calloc(bp->n_output + 1, sizeof *outs);
    oq_tensor *stacked = calloc(k_out + 1, sizeof *stacked);
    if (!state || !slices || !ins || !outs || !stacked) {
        st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_state; i++) {
        state[i] = oq_in(ctx, i) ? copy_tensor(oq_in(ctx, i)) : NULL;
        if (!state[i]) {
            st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                          "state input %zu missing", i);
            goto done;
        }
    }
    for (size_t j = 0; j < (size_t)m; j++) {
        const oq_tensor *x = oq_in(ctx, n_state + j);
        oq_tensor *sl = &slices[j];
        sl->dtype = x->dtype;
        sl->rank = x->rank - 1;
        for (int d = 0, k = 0; d < x->rank; d++)
            if (d != axes[j])
                sl->dims[k++] = x->dims[d];
        sl->data = alloc_data(onnxq_tensor_nbytes(sl));
        if (!sl->data) {
            st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    for (int64_t t = 0; t < len; t++) {
        for (size_t j = 0; j < (size_t)m; j++) {
            int64_t idx = attr_list_at(node, "scan_input_directions", j, 0)
                              ? len - 1 - t : t;
            move_slice(oq_in(ctx, n_state + j), axes[j], idx, slices[j].data, 1);
        }
        for (size_t i = 0; i < n_state; i++)
            ins[i] = state[i];
        for (size_t j = 0; j < (size_t)m; j++)
            ins[n_state + j] = &slices[j];
        memset(outs, 0, (bp->n_output + 1) * sizeof *outs);
        st = run_graph(s, body, e, ins, bp->n_input, outs, ctx->err);
        if (st != ONNXQ_OK)
            goto done;
        for (size_t i = 0; i < n_state; i++) {
            free_tensor(NULL, state[i]);
            state[i] = outs[i];
        }
        for (size_t k = 0; k < k_out; k++) {
            oq_tensor *piece = outs[n_state + k];
            int64_t ax = attr_list_at(node, "scan_output_axes", k, 0);
            if (ax < 0)
                ax += piece->rank + 1;
            oq_tensor *acc = &stacked[k];
            if (t == 0) {
                if (ax < 0 || ax > piece->rank || piece->rank + 1 > OQ_MAX_RANK) {
                    free_tensor(NULL, piece);
                    st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                  "scan_output_axes[%zu] out of range", k);
                    goto done;
                }
                acc->dtype = piece->dtype;
                acc->rank = piece->rank + 1;
                for (int d = 0, q = 0; d < acc->rank; d++)
                    acc->dims[d] = d == ax ? len : piece->dims[q++];
                acc->data = alloc_data(onnxq_tensor_nbytes(acc));
                if (!acc->data) {
                    free_tensor(NULL, piece);
                    st = onnxq_error_set(ctx->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                         "out of memory");
                    goto done;
                }
            } else if (onnxq_tensor_nbytes(piece) * (size_t)len !=
                       onnxq_tensor_nbytes(acc)) {
                free_tensor(NULL, piece);
                st = oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                              "scan output %zu changes shape", k);
                goto done;
            }
            int64_t pos = attr_list_at(node, "scan_output_directions", k, 0)
                              ? len - 1 - t : t;
            move_slice(acc, (int)ax, pos, piece->data, 0);
            free_tensor(NULL, piece);
        }
    }
    run_state *rs = ctx->exec;
    for (size_t i = 0; i < n_state; i++) {
        ctx->out[i] = *state[i];
        free(state[i]);
        state[i] = NULL;
        rs->allocated[i] = 1;
        s->live_bytes += onnxq_tensor_nbytes(&ctx->out[i]);
    }
    for (size_t k = 0; k < k_out; k++) {
        if (len == 0) {
            st = oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                          "scan over an empty sequence");
            goto done;
        }
        ctx->out[n_state + k] = stacked[k];
        stacked[k].data = NULL;
        rs->allocated[n_state + k] = 1;
        s->live_bytes += onnxq_tensor_nbytes(&ctx->out[n_state + k]);
    }
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
done:
    if (state)
        for (size_t i = 0; i < n_state; i++)
            free_tensor(NULL, state[i]);
    if (slices)
        for (size_t j = 0; j < (size_t)m; j++)
            free(slices[j].data);
    if (stacked)
        for (size_t k = 0; k < k_out; k++)
            free(stacked[k].data);
    free(state);
    free(slices);
    free(ins);
    free(outs);
    free(stacked);
    return st;
}

/* Before node runs with kernel fast (state): blocked inputs are converted
 * back to plain for any reader but a oneDNN convolution's X or Z, and the
 * convolution is told how its inputs arrive and whether its output may
 * stay blocked (out_vi: the value it makes). */
static onnxq_status handoff(exec_graph *eg, env *e, const Onnx__NodeProto *node,
                            const oq_fast_kernel *fast, void *state,
                            size_t out_vi, onnxq_error *err)
{
    int conv = fast && oq_dnnl_is_conv(fast);
    size_t vis[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    for (size_t i = 0; i < node->n_input; i++) {
        const onnxq_value *v = node->input[i] && node->input[i][0]
                                   ? onnxq_graph_value(eg->g, node->input[i])
                                   : NULL;
        if (!v || v->kind == ONNXQ_VALUE_UNDEFINED)
            continue;
        size_t vi = value_index(eg->g, v);
        if (!eg->blocked[vi] || !e->slots[vi])
            continue;
        if (conv && (i == 0 || i == 3)) {
            vis[i] = vi;
            continue;
        }
        if (oq_dnnl_unblock(e->slots[vi]))
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        eg->blocked[vi] = 0;
    }
    if (conv) /* a tag cleared above (the same value read twice) counts */
        oq_dnnl_conv_layout(state, vis[0] != SIZE_MAX && eg->blocked[vis[0]],
                            vis[3] != SIZE_MAX && eg->blocked[vis[3]],
                            out_vi != SIZE_MAX && eg->may_block[out_vi]);
    return ONNXQ_OK;
}

/* Frees the data of value vi of e once nothing reads it any more. */
static void release_value(onnxq_session *s, env *e, size_t vi, size_t step)
{
    exec_graph *eg = e->eg;
    oq_tensor *t = e->slots[vi];
    if (e->owned[vi] == 1)
        free(t->data);
    if (eg->req[vi] != SIZE_MAX && s->plan.recording && s->plan.reqs)
        s->plan.reqs[eg->req[vi]].end = step;
    s->live_bytes -= onnxq_tensor_nbytes(t);
    e->slots[vi] = NULL;
    e->owned[vi] = 0;
    eg->req[vi] = SIZE_MAX;
}

/* Frees the inputs of node (at step) that no later node reads. */
static void free_inputs(onnxq_session *s, env *e, const Onnx__NodeProto *node,
                        size_t step)
{
    const onnxq_graph *g = e->eg->g;
    for (size_t i = 0; i < node->n_input; i++) {
        if (!node->input[i] || !node->input[i][0])
            continue;
        const onnxq_value *v = onnxq_graph_value(g, node->input[i]);
        if (!v)
            continue;
        size_t vi = value_index(g, v);
        if (e->owned[vi] && e->eg->last_use[vi] == step)
            release_value(s, e, vi, step);
    }
}

static onnxq_status run_graph(onnxq_session *s, exec_graph *eg,
                              const env *outer, const oq_tensor *const *inputs,
                              size_t n_inputs, oq_tensor **outputs,
                              onnxq_error *err)
{
    const onnxq_graph *g = eg->g;
    const Onnx__GraphProto *gp = onnxq_graph_proto(g);
    onnxq_status st = ONNXQ_OK;
    /* the plan covers the main graph only: subgraph values are few and
     * their runs repeat with changing shapes */
    mem_plan *plan = eg == s->main && !outer ? &s->plan : NULL;
    env e = {eg, eg->slots, eg->owned, outer};
    memset(e.owned, 0, eg->n_values ? eg->n_values : 1);
    if (eg->blocked)
        memset(eg->blocked, 0, eg->n_values ? eg->n_values : 1);
    for (size_t i = 0; i < eg->n_values; i++) {
        e.slots[i] = eg->consts[i];
        eg->req[i] = SIZE_MAX;
    }
    /* graph inputs, in order, skipping those that have an initializer when
     * fewer inputs are given (the default stays) */
    for (size_t i = 0, k = 0; i < gp->n_input; i++) {
        const onnxq_value *v = onnxq_graph_value(g, gp->input[i]->name);
        if (!v)
            continue;
        if (v->kind == ONNXQ_VALUE_INITIALIZER && n_inputs < gp->n_input)
            continue;
        if (k < n_inputs)
            e.slots[value_index(g, v)] = (oq_tensor *)inputs[k++];
    }

    for (size_t step = 0; step < eg->n_nodes; step++) {
        size_t n = eg->order[step];
        if (eg->skip[n])
            continue;
        const Onnx__NodeProto *node = onnxq_graph_node(g, n);
        if (eg->absorbed_by && eg->absorbed_by[n] &&
            eg->fused_now[eg->absorbed_by[n] - 1]) {
            /* computed by its fusion's head: only free what it read */
            free_inputs(s, &e, node, step);
            continue;
        }
        const oq_tensor **ins = eg->ins;
        oq_tensor *outs = eg->outs;
        char *allocated = eg->allocated;
        const size_t *out_vi = eg->out_vi + n * eg->max_out;
        const oq_kernel *k = eg->kernels[n];
        const oq_fast_kernel *fast = eg->fast[n];
        void *state = eg->state[n];
        int64_t opset = eg->opsets[n];
        if (eg->fusion_at && eg->fusion_at[n]) {
            const oq_conv_fusion *f = eg->fusion_at[n];
            int fits;
            if (f->kind == OQ_FUSE_HSWISH_CHAIN) {
                const oq_tensor *x = lookup(&e, f->inputs[0]);
                fits = x && x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
                       x->rank >= f->min_rank;
            } else {
                fits = !f->has_z ||
                       oq_fuse_conv_z_fits(f, lookup(&e, node->input[0]),
                                           lookup(&e, node->input[1]),
                                           lookup(&e, f->inputs[3]));
            }
            eg->fused_now[n] = (char)fits;
            if (fits) {
                node = &f->node;
                k = eg->fused_ref;
                fast = eg->f_fast[n];
                state = eg->f_state[n];
                opset = 1;
                out_vi = &eg->f_out_vi[n];
            }
        }
        size_t out_req[eg->max_out + 1];
        memset(ins, 0, (node->n_input + 1) * sizeof *ins);
        memset(outs, 0, (node->n_output + 1) * sizeof *outs);
        memset(allocated, 0, node->n_output + 1);
        for (size_t o = 0; o < node->n_output; o++) {
            /* graph outputs are handed to the caller: never in the arena */
            eg->planned[o] = out_vi[o] == SIZE_MAX ||
                             eg->last_use[out_vi[o]] != SIZE_MAX;
            out_req[o] = SIZE_MAX;
        }
        for (size_t i = 0; i < node->n_input; i++) {
            if (!node->input[i] || !node->input[i][0])
                continue;
            ins[i] = lookup(&e, node->input[i]);
            if (!ins[i]) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "node %s (%s): input '%s' has no value",
                                     onnxq_graph_node_label(g, n),
                                     node->op_type, node->input[i]);
                goto fail;
            }
        }
        if (eg->blocked) {
            st = handoff(eg, &e, node, fast, state, out_vi[0], err);
            if (st != ONNXQ_OK)
                goto fail;
        }
        run_state rs = {s, allocated, eg->planned, plan, step, out_req, {0},
                        0, 0};
        oq_kctx ctx = {node, opset, ins, node->n_input, node->n_output,
                       s->opts.n_threads, state, &rs, outs, err};
        struct timespec t0, t1;
        if (s->opts.profile)
            clock_gettime(CLOCK_MONOTONIC, &t0);
        if (fast)
            st = fast->run(&ctx);
        else if (k->run)
            st = k->run(&ctx);
        else if (strcmp(k->op_type, "If") == 0)
            st = run_if(s, eg, n, &e, &ctx);
        else if (strcmp(k->op_type, "Loop") == 0)
            st = run_loop(s, eg, n, &e, &ctx);
        else
            st = run_scan(s, eg, n, &e, &ctx);
        drop_scratch(&rs);
        if (s->opts.profile) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            record_time(s, node->op_type, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        }
        for (size_t o = 0; o < node->n_output && st == ONNXQ_OK; o++)
            if (!allocated[o])
                st = oq_kfail(&ctx, ONNXQ_ERR_INTERNAL,
                              "kernel did not produce output %zu", o);
        /* keep named outputs, drop the rest */
        for (size_t o = 0; o < node->n_output; o++) {
            if (!allocated[o])
                continue;
            size_t vi = out_vi[o];
            if (st != ONNXQ_OK || vi == SIZE_MAX) {
                if (allocated[o] == 1)
                    free(outs[o].data);
                if (plan && plan->recording && out_req[o] != SIZE_MAX)
                    plan->reqs[out_req[o]].end = step;
                s->live_bytes -= onnxq_tensor_nbytes(&outs[o]);
                continue;
            }
            eg->store[vi] = outs[o];
            e.slots[vi] = &eg->store[vi];
            if (eg->blocked)
                eg->blocked[vi] = (char)(o == 0 && fast &&
                                         oq_dnnl_is_conv(fast) &&
                                         oq_dnnl_conv_y_blocked(state));
            e.owned[vi] = allocated[o];
            eg->req[vi] = out_req[o];
            if (s->opts.observer &&
                s->opts.observer(s->opts.observer_user, node->output[o],
                                 e.slots[vi])) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "run stopped by the observer at '%s'",
                                     node->output[o]);
            }
        }
        if (st != ONNXQ_OK)
            goto fail;
        /* free what no later node reads (outputs nothing reads at all
         * included) */
        free_inputs(s, &e, node, step);
        for (size_t o = 0; o < node->n_output; o++) {
            size_t vi = out_vi[o];
            if (vi != SIZE_MAX && e.owned[vi] &&
                eg->last_use[vi] != SIZE_MAX &&
                onnxq_graph_value_at(g, vi)->n_uses == 0)
                release_value(s, &e, vi, step);
        }
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const oq_tensor *t = lookup(&e, gp->output[i]->name);
        if (!t) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                                 "graph %s: output '%s' has no value",
                                 onnxq_graph_path(g), gp->output[i]->name);
            goto fail;
        }
        const onnxq_value *v = onnxq_graph_value(g, gp->output[i]->name);
        size_t vi = v ? value_index(g, v) : SIZE_MAX;
        int first = 1; /* the same tensor may be listed twice as an output */
        for (size_t j = 0; j < i; j++)
            if (strcmp(gp->output[j]->name, gp->output[i]->name) == 0)
                first = 0;
        if (vi != SIZE_MAX && e.owned[vi] == 1 && first) {
            outputs[i] = malloc(sizeof *outputs[i]);
            if (!outputs[i])
                goto oom;
            *outputs[i] = *e.slots[vi];
            e.owned[vi] = 0;
            s->live_bytes -= onnxq_tensor_nbytes(outputs[i]);
        } else {
            outputs[i] = copy_tensor(t);
            if (!outputs[i])
                goto oom;
        }
    }
    goto done;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    for (size_t i = 0; i < gp->n_output; i++)
        if (outputs[i]) {
            free(outputs[i]->data);
            free(outputs[i]);
            outputs[i] = NULL;
        }
done:
    for (size_t i = 0; i < eg->n_values; i++)
        if (e.owned[i])
            release_value(s, &e, i, eg->n_nodes);
    return st;
}

/* ---- the memory plan ------------------------------------------------------ */

static int by_bytes_desc(const void *a, const void *b)
{
    const mem_req *x = *(const mem_req *const *)a, *y = *(const mem_req *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->step < y->step ? -1 : x->step > y->step;
}

static int by_off(const void *a, const void *b)
{
    const mem_req *x = *(const mem_req *const *)a, *y = *(const mem_req *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Gives each recorded request an offset: largest first, each at the lowest
 * offset where it overlaps no placed request alive at the same time.
 * Returns the arena size, or SIZE_MAX on out of memory. */
static size_t place_requests(mem_plan *p)
{
    size_t n = p->n_reqs, total = 0;
    mem_req **order = malloc((n ? n : 1) * sizeof *order);
    mem_req **live = malloc((n ? n : 1) * sizeof *live);
    if (!order || !live) {
        free(order);
        free(live);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &p->reqs[i];
    qsort(order, n, sizeof *order, by_bytes_desc);
    for (size_t i = 0; i < n; i++) {
        mem_req *r = order[i];
        size_t n_live = 0;
        for (size_t j = 0; j < i; j++)
            if (order[j]->step <= r->end && r->step <= order[j]->end)
                live[n_live++] = order[j];
        qsort(live, n_live, sizeof *live, by_off);
        size_t need = round_align(r->bytes), off = 0;
        for (size_t j = 0; j < n_live; j++) {
            if (live[j]->off >= off + need)
                break;
            size_t end = live[j]->off + round_align(live[j]->bytes);
            if (end > off)
                off = end;
        }
        r->off = off;
        if (off + need > total)
            total = off + need;
    }
    free(order);
    free(live);
    return total;
}

/* Before a run of the main graph: replay the plan made for these input
 * shapes, or record a new one. */
static void plan_begin(onnxq_session *s, const onnxq_tensor *inputs, size_t n)
{
    mem_plan *p = &s->plan;
    size_t len = n * (2 + ONNXQ_MAX_RANK);
    int same = !p->stale && !p->recording && p->key && p->key_len == len;
    for (size_t i = 0; same && i < n; i++) {
        const int64_t *k = p->key + i * (2 + ONNXQ_MAX_RANK);
        same = k[0] == inputs[i].dtype && k[1] == inputs[i].rank &&
               memcmp(k + 2, inputs[i].dims,
                      (size_t)inputs[i].rank * sizeof *k) == 0;
    }
    p->cursor = 0;
    if (same)
        return;
    int64_t *key = realloc(p->key, (len ? len : 1) * sizeof *key);
    if (!key) {
        p->recording = 0;
        p->n_reqs = 0;
        p->stale = 1;
        return;
    }
    p->key = key;
    p->key_len = len;
    for (size_t i = 0; i < n; i++) {
        int64_t *k = key + i * (2 + ONNXQ_MAX_RANK);
        k[0] = inputs[i].dtype;
        k[1] = inputs[i].rank;
        memcpy(k + 2, inputs[i].dims, sizeof inputs[i].dims);
    }
    p->recording = 1;
    p->failed = 0;
    p->stale = 0;
    p->n_reqs = 0;
}

/* After the run: a recorded plan gets its offsets and arena. */
static void plan_end(onnxq_session *s, onnxq_status st)
{
    mem_plan *p = &s->plan;
    if (!p->recording)
        return;
    p->recording = 0;
    size_t total = st == ONNXQ_OK && !p->failed ? place_requests(p) : SIZE_MAX;
    if (total != SIZE_MAX && total > p->arena_cap) {
        free(p->arena);
        p->arena = alloc_raw(total);
        p->arena_cap = p->arena ? total : 0;
    }
    if (total == SIZE_MAX || !p->arena) {
        p->n_reqs = 0;
        p->arena_bytes = 0;
        p->stale = 1; /* no plan: record again next time */
        return;
    }
    p->arena_bytes = total;
#ifdef __GLIBC__
    /* the recording run's buffers, freed, would otherwise stay in the
     * process next to the arena (glibc keeps large freed heap blocks once
     * its mmap threshold has grown): give them back once per plan */
    malloc_trim(0);
#endif
}

size_t onnxq_session_planned_bytes(const onnxq_session *s)
{
    return s->plan.arena_bytes;
}

/* Checks a fed input against its declaration; symbolic dims must agree
 * across inputs (syms holds name/value pairs seen so far). */
static onnxq_status check_input(const Onnx__ValueInfoProto *vi,
                                const onnxq_tensor *t, const char **sym_names,
                                int64_t *sym_vals, size_t *n_syms,
                                onnxq_error *err)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return ONNXQ_OK;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != t->dtype)
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "input '%s': model wants %s, got %s", vi->name,
                               onnxq_dtype_name(tt->elem_type),
                               onnxq_dtype_name(t->dtype));
    if (!tt->shape)
        return ONNXQ_OK;
    if ((size_t)t->rank != tt->shape->n_dim)
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "input '%s': model wants rank %zu, got rank %d",
                               vi->name, tt->shape->n_dim, t->rank);
    for (int d = 0; d < t->rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            dim->dim_value != t->dims[d])
            return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                   "input '%s': dimension %d must be %lld, "
                                   "got %lld", vi->name, d,
                                   (long long)dim->dim_value,
                                   (long long)t->dims[d]);
        if (dim->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
            dim->dim_param && dim->dim_param[0]) {
            size_t k = 0;
            while (k < *n_syms && strcmp(sym_names[k], dim->dim_param) != 0)
                k++;
            if (k < *n_syms && sym_vals[k] != t->dims[d])
                return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                                       "input '%s': dimension %d ('%s') is "
                                       "%lld, but another input set it to "
                                       "%lld", vi->name, d, dim->dim_param,
                                       (long long)t->dims[d],
                                       (long long)sym_vals[k]);
            if (k == *n_syms && *n_syms < 64) {
                sym_names[k] = dim->dim_param;
                sym_vals[k] = t->dims[d];
                ++*n_syms;
            }
        }
    }
    return ONNXQ_OK;
}

onnxq_status onnxq_session_run(onnxq_session *s, const onnxq_tensor *inputs,
                               size_t n_inputs, onnxq_tensor **outputs,
                               size_t *n_outputs, onnxq_error *err)
{
    onnxq_error local; /* kernels read failures back from the error */
    if (!err)
        err = &local;
    if (n_inputs != s->n_inputs)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "model takes %zu inputs, %zu given",
                               s->n_inputs, n_inputs);
    const char *sym_names[64];
    int64_t sym_vals[64];
    size_t n_syms = 0;
    const oq_tensor **ins = calloc(n_inputs + 1, sizeof *ins);
    size_t n_out = onnxq_session_output_count(s);
    oq_tensor **outs = calloc(n_out + 1, sizeof *outs);
    onnxq_tensor *result = calloc(n_out + 1, sizeof *result);
    onnxq_status st = ONNXQ_OK;
    if (!ins || !outs || !result) {
        st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        if (inputs[i].rank < 0 || inputs[i].rank > ONNXQ_MAX_RANK ||
            (!inputs[i].data && oq_numel(&inputs[i]))) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "input '%s': bad rank or no data",
                                 s->inputs[i]->name);
            goto done;
        }
        st = check_input(s->inputs[i], &inputs[i], sym_names, sym_vals,
                         &n_syms, err);
        if (st != ONNXQ_OK)
            goto done;
        ins[i] = &inputs[i];
    }
    s->live_bytes = 0;
    s->peak_bytes = 0;
    plan_begin(s, inputs, n_inputs);
    st = run_graph(s, s->main, NULL, ins, n_inputs, outs, err);
    plan_end(s, st);
    if (st != ONNXQ_OK)
        goto done;
    for (size_t i = 0; i < n_out; i++) {
        result[i] = *outs[i];
        free(outs[i]);
    }
    *outputs = result;
    *n_outputs = n_out;
    result = NULL;
done:
    free(ins);
    free(outs);
    free(result);
    return st;
}
