/*
 * fp16.c — float32 -> float16 / bfloat16 conversion (onnxq/fp16.h).
 *
 * The conversion is planned on a graph view of the model as loaded (after
 * type inference, so every value's element type is known), then applied to
 * the proto, in three passes over every graph, outer graphs first:
 *
 *  A. Nodes.  Each node is converted or blocked.  Each input port of a
 *     float32 value then *wants* a type: the target type (T16) for a
 *     converted node's 'F' port (fp16_ops.c), float32 (T32) for any other
 *     port, nothing for ports that take any type (Cast, Shape, Size).  The
 *     want is recorded on the value the port resolves to, which may live in
 *     an outer graph.  Graph outputs want T32 (subgraphs, keep_io_types) or
 *     T16 (main graph otherwise).
 *  B. Values.  Each float32 value gets the one type it is produced in:
 *     graph inputs T32 (subgraphs, keep_io_types) or T16; a converted
 *     node's 'F' outputs T16; blocked outputs T32; constants (initializers,
 *     Constant nodes) and Casts to float take what their consumers want
 *     (T16 if any consumer wants it).
 *  C. Edits.  Every port whose value has another type (or, for main graph
 *     outputs, another name) is pointed at the value's name in the wanted
 *     type, made on first request and shared: a copy of a constant, a Cast
 *     that reads through an existing Cast (the fold: never Cast16->Cast32),
 *     or an inserted Cast in the graph that owns the value (outside loop
 *     bodies).  Then constants are converted in place with clamping, Casts
 *     to float retargeted, value_info dropped, the graph sorted, types
 *     re-inferred and the model checked.
 *
 * Names of the view borrow the proto's strings, so strings replaced while
 * the view lives are kept in a graveyard and freed after it.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/check.h"
#include "onnxq/fp16.h"
#include "onnxq/graph.h"
#include "onnxq/infer.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "fp16_internal.h"
#include "oq_util.h"

#define DT_FLOAT ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define DT_FLOAT16 ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16
#define DT_BFLOAT16 ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16

enum { T_NONE = 0, T32 = 1, T16 = 2 };

/* One value of one graph (indexed like the view's values). */
typedef struct vstate {
    int32_t orig;     /* element type before conversion, 0 if unknown */
    int produced;     /* T32 / T16 for float32 values, T_NONE otherwise */
    int out_req;      /* a graph output: the type it must have */
    int constlike;    /* initializer (not an input) or Constant output */
    int free_cast;    /* output of a Cast to float */
    int range;        /* constants: 0 not yet looked at, 1 every finite
                         value within max_fin, 2 some beyond */
    size_t nwant[3];  /* consumer ports wanting T32 / T16 */
    char *name[3];    /* the value's name in each type, once it exists */
} vstate;

typedef struct gctx {
    const onnxq_graph *g;
    int is_main;
    size_t n_nodes;     /* nodes before any edit */
    size_t n_values;
    vstate *v;          /* [n_values] */
    unsigned char *conv;/* [n_nodes] node converted */
    unsigned char *cf;  /* [n_nodes] If/Loop/Scan */
    size_t *in_off;     /* [n_nodes + 1] offsets into the port arrays */
    size_t *in_ctx;     /* resolved owner graph of each input port */
    size_t *in_val;     /* ... and value index there (SIZE_MAX: none) */
    unsigned char *in_want; /* T_NONE / T32 / T16 */
    /* nodes and initializers added while the view lives (the view sizes its
     * arrays by the proto's node count), moved into the graph after it */
    Onnx__GraphProto *pending;
} gctx;

typedef struct conv {
    onnxq_model *model;
    const onnxq_fp16_options *o;
    onnxq_fp16_report *r;
    onnxq_error *err;
    onnxq_graph *main;
    gctx *ctx;
    size_t n_ctx, cap_ctx;
    int32_t target;     /* DT_FLOAT16 or DT_BFLOAT16 */
    double min_pos, max_fin;
    char **grave;
    size_t n_grave, cap_grave;
    unsigned char *node_list_hit; /* [n_node_block_list] */
    unsigned char *main_conv;     /* [main nodes] or NULL: converted nodes
                                     other than Cast/Constant, for
                                     fp16_auto.c */
    size_t blocked_cap;
} conv;

static onnxq_status oom(conv *c)
{
    return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

static int bury(conv *c, char *s)
{
    if (!s)
        return 0;
    if (oq_grow(&c->grave, &c->cap_grave, c->n_grave + 1, sizeof *c->grave))
        return -1;
    c->grave[c->n_grave++] = s;
    return 0;
}

static const char *suffix(const conv *c, int t)
{
    return t == T32 ? "_fp32" : c->target == DT_BFLOAT16 ? "_bf16" : "_fp16";
}

static int32_t dtype_of(const conv *c, int t)
{
    return t == T32 ? DT_FLOAT : c->target;
}

static int is_onnx_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static int in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; list && (n == SIZE_MAX ? list[i] != NULL : i < n); i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int32_t vi_elem_type(const Onnx__ValueInfoProto *vi)
{
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type || !vi->type->tensor_type->has_elem_type)
        return 0;
    return vi->type->tensor_type->elem_type;
}

static void vi_set_elem_type(Onnx__ValueInfoProto *vi, int32_t t)
{
    if (vi && vi->type &&
        vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
        vi->type->tensor_type) {
        vi->type->tensor_type->has_elem_type = 1;
        vi->type->tensor_type->elem_type = t;
    }
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n,
                                        const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static int op_is(const Onnx__NodeProto *n, const char *op)
{
    return is_onnx_domain(n->domain) && n->op_type &&
           strcmp(n->op_type, op) == 0;
}

/* ---- float -> float16 / bfloat16 with clamping ---------------------------- */

static uint16_t to_target(conv *c, float x)
{
    float y = x;
    if (isfinite(x) && x != 0.0f) {
        float a = fabsf(x);
        if (a < c->min_pos)
            y = copysignf((float)c->min_pos, x);
        else if (a > c->max_fin)
            y = copysignf((float)c->max_fin, x);
    }
    int bf = c->target == DT_BFLOAT16;
    uint16_t h = bf ? onnxq_float_to_bfloat16(y) : onnxq_float_to_half(y);
    if (y != x) {
        /* count a value only when clamping changed what plain rounding
         * would have given */
        uint16_t plain = bf ? onnxq_float_to_bfloat16(x)
                            : onnxq_float_to_half(x);
        if (plain != h) {
            if (fabsf(x) < fabsf(y))
                c->r->clamped_small++;
            else
                c->r->clamped_large++;
        }
    }
    return h;
}

/* Replaces the storage of t with raw_data (taken over) of dtype. */
static void set_raw(Onnx__TensorProto *t, int32_t dtype, void *data,
                    size_t size)
{
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    free(t->int32_data);
    t->int32_data = NULL;
    t->n_int32_data = 0;
    if (t->has_raw_data)
        free(t->raw_data.data);
    for (size_t i = 0; i < t->n_external_data; i++)
        onnx__string_string_entry_proto__free_unpacked(t->external_data[i],
                                                       NULL);
    free(t->external_data);
    t->external_data = NULL;
    t->n_external_data = 0;
    t->has_data_location = 0;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
    t->has_raw_data = 1;
    t->raw_data.data = data;
    t->raw_data.len = size;
    t->has_data_type = 1;
    t->data_type = dtype;
}

/* The float32 elements of t, malloc'd (*n elements). */
static onnxq_status read_f32(conv *c, const Onnx__TensorProto *t, float **out,
                             size_t *n)
{
    uint64_t bytes;
    onnxq_status st = onnxq_tensor_expected_bytes(t, &bytes, c->err);
    if (st != ONNXQ_OK)
        return st;
    float *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf)
        return oom(c);
    st = onnxq_tensor_copy_data(c->model, t, buf, (size_t)bytes, c->err);
    if (st != ONNXQ_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *n = (size_t)bytes / sizeof(float);
    return ONNXQ_OK;
}

/* Converts the float32 tensor t in place to the target type. */
static onnxq_status convert_tensor(conv *c, Onnx__TensorProto *t)
{
    float *f = NULL;
    size_t n = 0;
    onnxq_status st = read_f32(c, t, &f, &n);
    if (st != ONNXQ_OK)
        return st;
    uint16_t *h = malloc(n ? n * 2 : 1);
    if (!h) {
        free(f);
        return oom(c);
    }
    for (size_t i = 0; i < n; i++)
        h[i] = to_target(c, f[i]);
    free(f);
    set_raw(t, c->target, h, n * 2);
    c->r->constants_converted++;
    c->r->constant_bytes_before += (uint64_t)n * 4;
    c->r->constant_bytes_after += (uint64_t)n * 2;
    return ONNXQ_OK;
}

/* ---- building the plan ---------------------------------------------------- */

static size_t ctx_index(const conv *c, const onnxq_graph *g)
{
    for (size_t i = 0; i < c->n_ctx; i++)
        if (c->ctx[i].g == g)
            return i;
    return SIZE_MAX;
}

static size_t value_index(const onnxq_graph *g, const onnxq_value *v)
{
    return (size_t)(v - onnxq_graph_value_at(g, 0));
}

/* Adds g and (recursively) its subgraphs to c->ctx, outer graphs first. */
static onnxq_status add_ctx(conv *c, const onnxq_graph *g, int is_main)
{
    if (oq_grow(&c->ctx, &c->cap_ctx, c->n_ctx + 1, sizeof *c->ctx))
        return oom(c);
    gctx *x = &c->ctx[c->n_ctx++];
    memset(x, 0, sizeof *x);
    x->g = g;
    x->is_main = is_main;
    x->n_nodes = onnxq_graph_node_count(g);
    x->n_values = onnxq_graph_value_count(g);
    x->pending = onnxq_build_graph("pending");
    x->v = calloc(x->n_values ? x->n_values : 1, sizeof *x->v);
    x->conv = calloc(x->n_nodes ? x->n_nodes : 1, 1);
    x->cf = calloc(x->n_nodes ? x->n_nodes : 1, 1);
    x->in_off = calloc(x->n_nodes + 1, sizeof *x->in_off);
    if (!x->v || !x->conv || !x->cf || !x->in_off || !x->pending)
        return oom(c);
    size_t ports = 0;
    for (size_t i = 0; i < x->n_nodes; i++) {
        x->in_off[i] = ports;
        ports += onnxq_graph_node(g, i)->n_input;
    }
    x->in_off[x->n_nodes] = ports;
    x->in_ctx = malloc((ports ? ports : 1) * sizeof *x->in_ctx);
    x->in_val = malloc((ports ? ports : 1) * sizeof *x->in_val);
    x->in_want = calloc(ports ? ports : 1, 1);
    if (!x->in_ctx || !x->in_val || !x->in_want)
        return oom(c);
    /* element types before conversion */
    for (size_t i = 0; i < x->n_values; i++) {
        const onnxq_value *val = onnxq_graph_value_at(g, i);
        vstate *s = &x->v[i];
        if (val->kind == ONNXQ_VALUE_INITIALIZER && val->initializer)
            s->orig = val->initializer->data_type;
        else
            s->orig = vi_elem_type(val->info);
        s->name[T_NONE] = (char *)val->name;
    }
    size_t n_nodes = x->n_nodes;
    for (size_t i = 0; i < n_nodes; i++) {
        size_t ns = onnxq_graph_subgraph_count(g, i);
        for (size_t k = 0; k < ns; k++) {
            onnxq_status st =
                add_ctx(c, onnxq_graph_subgraph(g, i, k, NULL), 0);
            if (st != ONNXQ_OK)
                return st;
        }
    }
    return ONNXQ_OK;
}

/* Kind of port j of node n: 'F' follows the node, '-' keeps its type, 'A'
 * takes any type, 'C' (outputs) a constant or Cast whose type its
 * consumers choose. */
static char port_kind(const Onnx__NodeProto *n, int is_input, size_t j,
                      const char *in, const char *out)
{
    if (op_is(n, "Cast")) {
        if (is_input)
            return 'A';
        const Onnx__AttributeProto *a = attr(n, "to");
        return a && a->i == DT_FLOAT ? 'C' : '-';
    }
    if (op_is(n, "Constant"))
        return is_input ? '-' : 'C';
    if ((op_is(n, "Shape") || op_is(n, "Size")) && is_input)
        return 'A';
    if (op_is(n, "CastLike") && is_input && j == 0)
        return 'A';
    if (op_is(n, "Resize") && is_input && j == 1)
        return '-'; /* roi: its own constraint; coordinates stay exact */
    return oq_fp16_port_kind(is_input ? in : out, j);
}

static vstate *port_state(conv *c, gctx *x, size_t node, size_t j)
{
    size_t p = x->in_off[node] + j;
    if (x->in_val[p] == SIZE_MAX)
        return NULL;
    return &c->ctx[x->in_ctx[p]].v[x->in_val[p]];
}

/* Nodes whose float16 form the ONNX spec allows but ONNX Runtime 1.30's CPU
 * provider refuses at run time (found by tests/fp16/sweep.py): Scatter
 * with a reduction ("MLFloat16 data type is not supported"). */
static int no_runtime_kernel(const Onnx__NodeProto *n)
{
    if (op_is(n, "ScatterND") || op_is(n, "ScatterElements")) {
        const Onnx__AttributeProto *a = attr(n, "reduction");
        return a && a->has_s &&
               !(a->s.len == 4 && memcmp(a->s.data, "none", 4) == 0);
    }
    return 0;
}

const char *onnxq_fp16_block_reason_name(onnxq_fp16_block_reason r)
{
    switch (r) {
    case ONNXQ_FP16_BLOCK_OP_LIST: return "op block list";
    case ONNXQ_FP16_BLOCK_NODE_LIST: return "node block list";
    case ONNXQ_FP16_BLOCK_NORM: return "numerics: normalization/reduction";
    case ONNXQ_FP16_BLOCK_NO_FP16: return "no float16/bfloat16 form";
    case ONNXQ_FP16_BLOCK_UNKNOWN_TYPE: return "a value of unknown type";
    case ONNXQ_FP16_BLOCK_RUNTIME: return "no float16 kernel in ONNX Runtime";
    case ONNXQ_FP16_BLOCK_RANGE: return "weights beyond max-finite-val";
    case ONNXQ_FP16_BLOCK_AUTO_RANGE: return "auto: value beyond float16 range";
    case ONNXQ_FP16_BLOCK_AUTO_TOLERANCE: return "auto: output tolerance";
    default: return "?";
    }
}

void onnxq_fp16_report_clear(onnxq_fp16_report *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->n_blocked_nodes; i++)
        free(report->blocked_nodes[i]);
    free(report->blocked_nodes);
    memset(report, 0, sizeof *report);
}

static int note_blocked(conv *c, const gctx *x, size_t i, int reason)
{
    const Onnx__NodeProto *n = onnxq_graph_node(x->g, i);
    char buf[512];
    if (n->name && n->name[0])
        snprintf(buf, sizeof buf, "%s '%s' (%s)", n->op_type ? n->op_type : "?",
                 n->name, onnxq_fp16_block_reason_name(reason));
    else
        snprintf(buf, sizeof buf, "%s %s#%zu (%s)",
                 n->op_type ? n->op_type : "?", onnxq_graph_path(x->g), i,
                 onnxq_fp16_block_reason_name(reason));
    char *s = oq_strdup(buf);
    if (!s || oq_grow(&c->r->blocked_nodes, &c->blocked_cap,
                      c->r->n_blocked_nodes + 1, sizeof(char *))) {
        free(s);
        return -1;
    }
    c->r->blocked_nodes[c->r->n_blocked_nodes++] = s;
    return 0;
}

/* Sets *out to 1 if a constant float input on an 'F' port of node i has a
 * finite value beyond max_fin: converting the node would compute with
 * saturated weights (a BatchNormalization variance of 1e8 clamped to 65504
 * wrecks PaddleOCR's detector), so it stays float32 unless saturate. */
static onnxq_status weights_out_of_range(conv *c, gctx *x, size_t i,
                                         const Onnx__NodeProto *n,
                                         const char *in, const char *out,
                                         int *res)
{
    *res = 0;
    for (size_t j = 0; j < n->n_input; j++) {
        size_t p = x->in_off[i] + j;
        if (x->in_val[p] == SIZE_MAX || port_kind(n, 1, j, in, out) != 'F')
            continue;
        gctx *ox = &c->ctx[x->in_ctx[p]];
        vstate *s = &ox->v[x->in_val[p]];
        if (s->orig != DT_FLOAT)
            continue;
        if (!s->range) {
            const onnxq_value *v = onnxq_graph_value_at(ox->g, x->in_val[p]);
            const Onnx__TensorProto *t = onnxq_graph_constant(ox->g, v->name);
            s->range = 1;
            if (t) {
                float *f = NULL;
                size_t nf = 0;
                onnxq_status st = read_f32(c, t, &f, &nf);
                if (st != ONNXQ_OK)
                    return st;
                for (size_t k = 0; k < nf; k++)
                    if (isfinite(f[k]) && fabsf(f[k]) > c->max_fin) {
                        s->range = 2;
                        break;
                    }
                free(f);
            }
        }
        if (s->range == 2)
            *res = 1;
    }
    return ONNXQ_OK;
}

/* Pass A for one graph: node decisions and wants. */
static onnxq_status plan_nodes(conv *c, size_t ci)
{
    gctx *x = &c->ctx[ci];
    const onnxq_graph *g = x->g;
    for (size_t i = 0; i < x->n_nodes; i++) {
        const Onnx__NodeProto *n = onnxq_graph_node(g, i);
        /* resolve inputs */
        for (size_t j = 0; j < n->n_input; j++) {
            size_t p = x->in_off[i] + j;
            x->in_val[p] = SIZE_MAX;
            x->in_ctx[p] = SIZE_MAX;
            if (!n->input[j] || !n->input[j][0])
                continue;
            const onnxq_graph *owner;
            const onnxq_value *v = onnxq_graph_resolve(g, n->input[j], &owner);
            if (!v)
                continue;
            size_t oc = ctx_index(c, owner);
            if (oc == SIZE_MAX)
                return onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                                       "fp16: graph of '%s' not found",
                                       n->input[j]);
            x->in_ctx[p] = oc;
            x->in_val[p] = value_index(owner, v);
        }
        const char *domain = n->domain ? n->domain : "";
        int64_t opset = onnxq_model_opset(c->model, domain);
        const char *in = "", *out = "";
        int bf16 = 0;
        int known = oq_fp16_op_ports(domain, n->op_type, opset, &in, &out,
                                     &bf16);
        if (is_onnx_domain(n->domain) && n->op_type &&
            (strcmp(n->op_type, "If") == 0 || strcmp(n->op_type, "Loop") == 0 ||
             strcmp(n->op_type, "Scan") == 0)) {
            x->cf[i] = 1;
            known = 0;
        }
        /* float ports, and whether any 'F' port's type is unknown */
        int has_float = 0, f_float = 0, f_unknown = 0, free_out = 0;
        for (size_t j = 0; j < n->n_input; j++) {
            vstate *s = port_state(c, x, i, j);
            char k = port_kind(n, 1, j, in, out);
            if (!s) {
                if (n->input[j] && n->input[j][0] && k == 'F')
                    f_unknown = 1;
                continue;
            }
            if (s->orig == DT_FLOAT) {
                has_float |= k != 'A'; /* any-type ports decide nothing */
                f_float |= k == 'F';
            } else if (s->orig == 0 && k == 'F') {
                f_unknown = 1;
            }
        }
        for (size_t j = 0; j < n->n_output; j++) {
            if (!n->output[j] || !n->output[j][0])
                continue;
            const onnxq_value *v = onnxq_graph_value(g, n->output[j]);
            vstate *s = v ? &x->v[value_index(g, v)] : NULL;
            char k = port_kind(n, 0, j, in, out);
            if (!s)
                continue;
            if (s->orig == DT_FLOAT) {
                has_float = 1;
                f_float |= k == 'F';
                free_out |= k == 'C';
            } else if (s->orig == 0 && k == 'F') {
                f_unknown = 1;
            }
        }
        int blocked = -1;
        int named = n->name && n->name[0];
        if (named && c->o->node_block_list) {
            for (size_t b = 0; b < c->o->n_node_block_list; b++)
                if (strcmp(c->o->node_block_list[b], n->name) == 0) {
                    c->node_list_hit[b] = 1;
                    blocked = ONNXQ_FP16_BLOCK_NODE_LIST;
                }
        }
        if (!has_float || x->cf[i])
            blocked = blocked < 0 ? -2 : blocked; /* nothing to decide */
        if (blocked == -1) {
            const char *op = n->op_type ? n->op_type : "";
            if (in_list(c->o->op_block_list, c->o->n_op_block_list, op) ||
                (!c->o->no_default_block_list &&
                 in_list(onnxq_fp16_default_block_list, SIZE_MAX, op)))
                blocked = ONNXQ_FP16_BLOCK_OP_LIST;
            else if (!c->o->aggressive &&
                     in_list(onnxq_fp16_norm_block_list, SIZE_MAX, op))
                blocked = ONNXQ_FP16_BLOCK_NORM;
            else if (!free_out && (!known || (c->target == DT_BFLOAT16 &&
                                              !bf16) || !f_float))
                blocked = ONNXQ_FP16_BLOCK_NO_FP16;
            else if (no_runtime_kernel(n))
                blocked = ONNXQ_FP16_BLOCK_RUNTIME;
            else if (f_unknown)
                blocked = ONNXQ_FP16_BLOCK_UNKNOWN_TYPE;
            if (blocked == -1 && !c->o->saturate) {
                int out_of_range = 0;
                onnxq_status st = weights_out_of_range(c, x, i, n, in, out,
                                                       &out_of_range);
                if (st != ONNXQ_OK)
                    return st;
                if (out_of_range)
                    blocked = ONNXQ_FP16_BLOCK_RANGE;
            }
            if (blocked == -1 && x->is_main && i < c->o->n_keep_nodes &&
                c->o->keep_nodes && c->o->keep_nodes[i])
                blocked = c->o->keep_nodes[i];
        }
        if (blocked == -1) {
            x->conv[i] = 1;
        } else if (blocked >= 0 && has_float && !x->cf[i]) {
            c->r->nodes_blocked++;
            c->r->blocked[blocked]++;
            if (note_blocked(c, x, i, blocked))
                return oom(c);
        }
        /* wants of the input ports */
        for (size_t j = 0; j < n->n_input; j++) {
            vstate *s = port_state(c, x, i, j);
            if (!s || s->orig != DT_FLOAT)
                continue;
            char k = port_kind(n, 1, j, in, out);
            if (k == 'A')
                continue;
            int w = x->conv[i] && k == 'F' ? T16 : T32;
            x->in_want[x->in_off[i] + j] = (unsigned char)w;
            s->nwant[w]++;
        }
    }
    /* graph outputs */
    Onnx__GraphProto *gp = onnxq_graph_proto(g);
    for (size_t j = 0; j < gp->n_output; j++) {
        const onnxq_graph *owner;
        const onnxq_value *v = onnxq_graph_resolve(g, gp->output[j]->name,
                                                   &owner);
        if (!v)
            continue;
        vstate *s = &c->ctx[ctx_index(c, owner)].v[value_index(owner, v)];
        if (s->orig != DT_FLOAT)
            continue;
        int w = x->is_main && !c->o->keep_io_types ? T16 : T32;
        s->nwant[w]++;
        if (owner == g)
            s->out_req = w;
    }
    return ONNXQ_OK;
}

/* 1 if name is one of gp's inputs. */
static int is_graph_input(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_input; i++)
        if (gp->input[i]->name && strcmp(gp->input[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Pass B for one graph: the type each float32 value is produced in. */
static void plan_values(conv *c, size_t ci)
{
    gctx *x = &c->ctx[ci];
    const onnxq_graph *g = x->g;
    const Onnx__GraphProto *gp = onnxq_graph_proto(g);
    int io_type = x->is_main && !c->o->keep_io_types ? T16 : T32;
    for (size_t i = 0; i < x->n_values; i++) {
        vstate *s = &x->v[i];
        const onnxq_value *v = onnxq_graph_value_at(g, i);
        if (s->orig != DT_FLOAT)
            continue;
        int chosen = s->out_req ? s->out_req : s->nwant[T16] ? T16 : T32;
        switch (v->kind) {
        case ONNXQ_VALUE_GRAPH_INPUT:
            s->produced = io_type;
            break;
        case ONNXQ_VALUE_INITIALIZER:
            if (is_graph_input(gp, v->name)) {
                s->produced = io_type;
            } else {
                s->constlike = 1;
                s->produced = chosen;
            }
            break;
        case ONNXQ_VALUE_NODE_OUTPUT: {
            const Onnx__NodeProto *n = onnxq_graph_node(g, v->producer);
            if (op_is(n, "Constant")) {
                s->constlike = 1;
                s->produced = chosen;
            } else if (op_is(n, "Cast")) {
                /* a Cast to float that is not blocked: retargetable */
                const Onnx__AttributeProto *a = attr(n, "to");
                if (a && a->i == DT_FLOAT && x->conv[v->producer]) {
                    s->free_cast = 1;
                    s->produced = chosen;
                } else {
                    s->produced = T32;
                }
            } else {
                const char *in = "", *out = "";
                int bf16;
                const char *domain = n->domain ? n->domain : "";
                oq_fp16_op_ports(domain, n->op_type,
                                 onnxq_model_opset(c->model, domain), &in,
                                 &out, &bf16);
                s->produced = x->conv[v->producer] &&
                                      port_kind(n, 0, v->producer_output, in,
                                                out) == 'F'
                                  ? T16 : T32;
            }
            break;
        }
        default:
            break;
        }
        if (s->produced)
            s->name[s->produced] = (char *)v->name;
    }
}

/* ---- edits ---------------------------------------------------------------- */

static char *unique(conv *c, const char *base, const char *sfx)
{
    size_t len = strlen(base) + strlen(sfx) + 1;
    char *p = malloc(len);
    if (!p)
        return NULL;
    snprintf(p, len, "%s%s", base, sfx);
    char *u = onnxq_graph_unique_name(c->main, p);
    free(p);
    return u;
}

static int set_cast_to(Onnx__NodeProto *n, int32_t to)
{
    return onnxq_build_attr_int(n, "to", to) ? 0 : -1;
}

/* Cast before opset 6 takes `to` as a string, and ONNX Runtime cannot infer
 * its output type: such models are refused when a Cast is needed. */
static onnxq_status need_cast(conv *c)
{
    int64_t v = onnxq_model_opset(c->model, "");
    if (v < 6)
        return onnxq_error_set(c->err, ONNXQ_ERR_UNSUPPORTED,
                               "fp16: the model imports ai.onnx opset %lld; "
                               "the conversion needs Casts, which ONNX "
                               "Runtime types only from opset 6: upgrade the "
                               "model's opset first", (long long)v);
    return ONNXQ_OK;
}

/* Appends Cast(in -> out, to) to x's pending nodes; out is buried. */
static onnxq_status add_cast(conv *c, gctx *x, const char *in, char *out,
                             int32_t to)
{
    Onnx__GraphProto *gp = x->pending;
    const char *ins[1] = {in}, *outs[1] = {out};
    onnxq_status st = need_cast(c);
    if (st != ONNXQ_OK) {
        free(out);
        return st;
    }
    Onnx__NodeProto *n = onnxq_build_node(gp, "Cast", out, ins, 1, outs, 1);
    if (!n || set_cast_to(n, to) || bury(c, out))
        return oom(c);
    c->r->casts_inserted++;
    return ONNXQ_OK;
}

static onnxq_status get_name(conv *c, size_t ci, size_t vi, int w,
                             const char **out);

/* A copy of constant (ci, vi) in type w, as a new initializer of its graph;
 * *name is its (buried) name. */
static onnxq_status duplicate_constant(conv *c, size_t ci, size_t vi, int w,
                                       char **name)
{
    gctx *x = &c->ctx[ci];
    vstate *s = &x->v[vi];
    const onnxq_value *v = onnxq_graph_value_at(x->g, vi);
    const Onnx__TensorProto *t = onnxq_graph_constant(x->g, v->name);
    if (!t)
        return onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                               "fp16: constant '%s' not found", v->name);
    float *f = NULL;
    size_t n = 0;
    onnxq_status st = read_f32(c, t, &f, &n);
    if (st != ONNXQ_OK)
        return st;
    char *nm = unique(c, s->name[T_NONE], suffix(c, w));
    Onnx__TensorProto *copy = NULL;
    if (nm && w == T32) {
        copy = onnxq_build_initializer(x->pending, nm, DT_FLOAT, t->n_dims,
                                       t->dims, f);
    } else if (nm) {
        uint16_t *h = malloc(n ? n * 2 : 1);
        if (h) {
            for (size_t i = 0; i < n; i++)
                h[i] = to_target(c, f[i]);
            copy = onnxq_build_initializer(x->pending, nm, c->target,
                                           t->n_dims, t->dims, h);
            c->r->constant_bytes_after += (uint64_t)n * 2;
        }
        free(h);
    }
    free(f);
    if (!copy || bury(c, nm)) {
        free(nm);
        return oom(c);
    }
    if (w == T32)
        c->r->constant_bytes_after += (uint64_t)n * 4;
    c->r->constants_duplicated++;
    *name = nm;
    return ONNXQ_OK;
}

static onnxq_status get_name(conv *c, size_t ci, size_t vi, int w,
                             const char **out)
{
    gctx *x = &c->ctx[ci];
    vstate *s = &x->v[vi];
    if (s->name[w]) {
        *out = s->name[w];
        return ONNXQ_OK;
    }
    const onnxq_value *v = onnxq_graph_value_at(x->g, vi);
    char *nm = NULL;
    onnxq_status st;
    if (s->constlike) {
        st = duplicate_constant(c, ci, vi, w, &nm);
        if (st != ONNXQ_OK)
            return st;
    } else if (v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
               op_is(onnxq_graph_node(x->g, v->producer), "Cast")) {
        /* read through the Cast: Cast(src) then Cast to w is Cast(src) to
         * w, or src itself when src already has type w */
        size_t p = x->in_off[v->producer];
        if (x->in_off[v->producer + 1] == p || x->in_val[p] == SIZE_MAX)
            goto plain;
        size_t sc = x->in_ctx[p], sv = x->in_val[p];
        vstate *src = &c->ctx[sc].v[sv];
        const char *src_name;
        c->r->casts_folded++;
        if (src->orig == DT_FLOAT) {
            if (src->produced == w || src->name[w]) {
                st = get_name(c, sc, sv, w, out);
                if (st == ONNXQ_OK)
                    s->name[w] = (char *)*out;
                return st;
            }
            src_name = src->name[src->produced];
        } else {
            src_name = src->name[T_NONE];
        }
        nm = unique(c, s->name[T_NONE], suffix(c, w));
        if (!nm)
            return oom(c);
        st = add_cast(c, x, src_name, nm, dtype_of(c, w));
        if (st != ONNXQ_OK)
            return st;
    } else {
    plain:
        if (!s->produced || !s->name[s->produced])
            return onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                                   "fp16: value '%s' has no type", v->name);
        nm = unique(c, s->name[T_NONE], suffix(c, w));
        if (!nm)
            return oom(c);
        st = add_cast(c, x, s->name[s->produced], nm, dtype_of(c, w));
        if (st != ONNXQ_OK)
            return st;
    }
    s->name[w] = nm;
    *out = nm;
    return ONNXQ_OK;
}

/* Main graph outputs produced in another type than they must have: the
 * producer writes a renamed value and a Cast makes the output. */
static onnxq_status fix_main_outputs(conv *c)
{
    gctx *x = &c->ctx[0];
    Onnx__GraphProto *gp = onnxq_graph_proto(x->g);
    for (size_t j = 0; j < gp->n_output; j++) {
        const onnxq_value *v = onnxq_graph_value(x->g, gp->output[j]->name);
        if (!v)
            continue;
        vstate *s = &x->v[value_index(x->g, v)];
        if (s->orig != DT_FLOAT || !s->out_req)
            continue;
        if (s->produced != s->out_req &&
            v->kind == ONNXQ_VALUE_NODE_OUTPUT) {
            onnxq_status st = need_cast(c);
            if (st != ONNXQ_OK)
                return st;
            Onnx__NodeProto *n = onnxq_graph_node(x->g, v->producer);
            char *orig = n->output[v->producer_output];
            char *nm = unique(c, orig, suffix(c, s->produced));
            if (!nm)
                return oom(c);
            n->output[v->producer_output] = nm; /* owned by the node now */
            s->name[s->produced] = nm;
            s->name[s->out_req] = orig;
            /* the Cast takes over orig as its output name */
            const char *ins[1] = {nm}, *outs[1] = {orig};
            char *node_name = unique(c, orig, "_Cast");
            Onnx__NodeProto *cn = onnxq_build_node(x->pending, "Cast",
                                                   node_name, ins, 1, outs, 1);
            free(node_name);
            if (!cn || set_cast_to(cn, dtype_of(c, s->out_req)))
                return oom(c);
            /* onnxq_build_node copied orig: the view still borrows it */
            if (bury(c, orig))
                return oom(c);
            c->r->casts_inserted++;
        }
        vi_set_elem_type(gp->output[j], dtype_of(c, s->out_req));
        if (s->out_req == T16)
            c->r->io_converted++;
    }
    for (size_t j = 0; j < gp->n_input; j++) {
        const onnxq_value *v = onnxq_graph_value(x->g, gp->input[j]->name);
        if (v && x->v[value_index(x->g, v)].orig == DT_FLOAT &&
            x->v[value_index(x->g, v)].produced == T16) {
            vi_set_elem_type(gp->input[j], c->target);
            c->r->io_converted++;
        }
    }
    return ONNXQ_OK;
}

/* Points every port at its value's name in the wanted type. */
static onnxq_status rewrite_ports(conv *c, size_t ci)
{
    gctx *x = &c->ctx[ci];
    for (size_t i = 0; i < x->n_nodes; i++) {
        Onnx__NodeProto *n = onnxq_graph_node(x->g, i);
        for (size_t j = 0; j < n->n_input; j++) {
            size_t p = x->in_off[i] + j;
            int w = x->in_want[p];
            if (!w)
                continue;
            const char *nm;
            onnxq_status st = get_name(c, x->in_ctx[p], x->in_val[p], w, &nm);
            if (st != ONNXQ_OK)
                return st;
            if (strcmp(nm, n->input[j]) != 0) {
                char *copy = oq_strdup(nm);
                if (!copy || bury(c, n->input[j])) {
                    free(copy);
                    return oom(c);
                }
                n->input[j] = copy;
            }
        }
    }
    if (x->is_main)
        return ONNXQ_OK;
    /* subgraph outputs are positional: point them at a float32 name */
    Onnx__GraphProto *gp = onnxq_graph_proto(x->g);
    for (size_t j = 0; j < gp->n_output; j++) {
        const onnxq_graph *owner;
        const onnxq_value *v = onnxq_graph_resolve(x->g, gp->output[j]->name,
                                                   &owner);
        if (!v)
            continue;
        size_t oc = ctx_index(c, owner), ov = value_index(owner, v);
        if (c->ctx[oc].v[ov].orig != DT_FLOAT)
            continue;
        const char *nm;
        onnxq_status st;
        if (oc == ci) {
            st = get_name(c, oc, ov, T32, &nm);
        } else {
            /* an outer value as output: cast (or copy) inside the body */
            const char *outer;
            st = get_name(c, oc, ov, c->ctx[oc].v[ov].produced, &outer);
            if (st == ONNXQ_OK && c->ctx[oc].v[ov].produced != T32) {
                char *u = unique(c, gp->output[j]->name, "_fp32");
                if (!u)
                    return oom(c);
                st = add_cast(c, x, outer, u, DT_FLOAT);
                nm = u;
            } else {
                nm = gp->output[j]->name;
            }
        }
        if (st != ONNXQ_OK)
            return st;
        if (strcmp(nm, gp->output[j]->name) != 0) {
            char *copy = oq_strdup(nm);
            if (!copy || bury(c, gp->output[j]->name)) {
                free(copy);
                return oom(c);
            }
            gp->output[j]->name = copy;
        }
    }
    return ONNXQ_OK;
}

/* Constants, ConstantOfShape values and Casts to float, in their chosen
 * types. */
static onnxq_status convert_constants(conv *c, size_t ci)
{
    gctx *x = &c->ctx[ci];
    onnxq_status st;
    for (size_t i = 0; i < x->n_values; i++) {
        vstate *s = &x->v[i];
        const onnxq_value *v = onnxq_graph_value_at(x->g, i);
        if (s->orig != DT_FLOAT || s->produced != T16)
            continue;
        if (s->constlike && v->kind == ONNXQ_VALUE_INITIALIZER) {
            if ((st = convert_tensor(c, v->initializer)) != ONNXQ_OK)
                return st;
        } else if (s->constlike) {
            Onnx__NodeProto *n = onnxq_graph_node(x->g, v->producer);
            Onnx__AttributeProto *a = NULL;
            for (size_t k = 0; k < n->n_attribute; k++)
                a = a ? a : n->attribute[k];
            if (!a)
                continue;
            if (strcmp(a->name, "value") != 0) {
                /* value_float(s): make it a tensor attribute */
                const Onnx__TensorProto *t =
                    onnxq_graph_constant(x->g, v->name);
                if (!t)
                    continue;
                Onnx__TensorProto *nt = onnxq_build_tensor(
                    NULL, DT_FLOAT, t->n_dims, t->dims,
                    a->n_floats ? (const void *)a->floats : (const void *)&a->f);
                char *newname = oq_strdup("value");
                if (!nt || !newname) {
                    free(newname);
                    if (nt)
                        onnx__tensor_proto__free_unpacked(nt, NULL);
                    return oom(c);
                }
                free(a->name);
                a->name = newname;
                free(a->floats);
                a->floats = NULL;
                a->n_floats = 0;
                a->has_f = 0;
                a->has_type = 1;
                a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
                a->t = nt;
            }
            if (a->t && (st = convert_tensor(c, a->t)) != ONNXQ_OK)
                return st;
        } else if (s->free_cast) {
            Onnx__NodeProto *n = onnxq_graph_node(x->g, v->producer);
            for (size_t k = 0; k < n->n_attribute; k++)
                if (strcmp(n->attribute[k]->name, "to") == 0)
                    n->attribute[k]->i = c->target;
            c->r->casts_retyped++;
        } else if (v->kind == ONNXQ_VALUE_NODE_OUTPUT &&
                   op_is(onnxq_graph_node(x->g, v->producer),
                         "ConstantOfShape")) {
            Onnx__NodeProto *n = onnxq_graph_node(x->g, v->producer);
            Onnx__AttributeProto *a = (Onnx__AttributeProto *)attr(n, "value");
            if (a && a->t) {
                if ((st = convert_tensor(c, a->t)) != ONNXQ_OK)
                    return st;
            } else if (!a) {
                /* no value means float32 zero */
                int64_t one = 1;
                uint16_t zero = 0;
                Onnx__TensorProto *t =
                    onnxq_build_tensor(NULL, c->target, 1, &one, &zero);
                if (!t || !onnxq_build_attr_tensor(n, "value", t))
                    return oom(c);
            }
        }
    }
    /* Constant nodes left without consumers in their own type (all use a
     * copy) and ConstantOfShape inputs are fine as they are. */
    return ONNXQ_OK;
}

/* Appends the nodes and initializers of pending to gp (emptying pending). */
static onnxq_status move_pending(conv *c, Onnx__GraphProto *gp,
                                 Onnx__GraphProto *pending)
{
    if (pending->n_node) {
        Onnx__NodeProto **a = realloc(gp->node, (gp->n_node + pending->n_node)
                                                    * sizeof *a);
        if (!a)
            return oom(c);
        memcpy(a + gp->n_node, pending->node, pending->n_node * sizeof *a);
        gp->node = a;
        gp->n_node += pending->n_node;
        pending->n_node = 0;
    }
    if (pending->n_initializer) {
        Onnx__TensorProto **a =
            realloc(gp->initializer, (gp->n_initializer +
                                      pending->n_initializer) * sizeof *a);
        if (!a)
            return oom(c);
        memcpy(a + gp->n_initializer, pending->initializer,
               pending->n_initializer * sizeof *a);
        gp->initializer = a;
        gp->n_initializer += pending->n_initializer;
        pending->n_initializer = 0;
    }
    return ONNXQ_OK;
}

static void drop_value_info(Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_value_info; i++)
        onnx__value_info_proto__free_unpacked(gp->value_info[i], NULL);
    free(gp->value_info);
    gp->value_info = NULL;
    gp->n_value_info = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        Onnx__NodeProto *n = gp->node[i];
        for (size_t k = 0; k < n->n_attribute; k++) {
            Onnx__AttributeProto *a = n->attribute[k];
            if (a->g)
                drop_value_info(a->g);
            for (size_t m = 0; m < a->n_graphs; m++)
                drop_value_info(a->graphs[m]);
        }
    }
}

/* ---- already converted? ---------------------------------------------------- */

static int is_half(int32_t t)
{
    return t == DT_FLOAT16 || t == DT_BFLOAT16;
}

static size_t count_half_tensors(const Onnx__GraphProto *gp)
{
    size_t n = 0;
    for (size_t i = 0; i < gp->n_initializer; i++)
        n += is_half(gp->initializer[i]->data_type);
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *nd = gp->node[i];
        for (size_t k = 0; k < nd->n_attribute; k++) {
            const Onnx__AttributeProto *a = nd->attribute[k];
            if (a->t)
                n += is_half(a->t->data_type);
            if (a->g)
                n += count_half_tensors(a->g);
            for (size_t m = 0; m < a->n_graphs; m++)
                n += count_half_tensors(a->graphs[m]);
        }
    }
    return n;
}

/* ---- entry point ----------------------------------------------------------- */

void onnxq_fp16_options_init(onnxq_fp16_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->min_positive_val = -1;
    opts->max_finite_val = -1;
}

static void free_ctx(conv *c)
{
    for (size_t i = 0; i < c->n_ctx; i++) {
        gctx *x = &c->ctx[i];
        free(x->v);
        free(x->conv);
        free(x->cf);
        free(x->in_off);
        free(x->in_ctx);
        free(x->in_val);
        free(x->in_want);
        if (x->pending)
            onnx__graph_proto__free_unpacked(x->pending, NULL);
    }
    free(c->ctx);
    c->ctx = NULL;
    c->n_ctx = 0;
}

static size_t count_nodes(const Onnx__GraphProto *gp)
{
    size_t n = gp->n_node;
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_attribute; k++) {
            const Onnx__AttributeProto *a = gp->node[i]->attribute[k];
            if (a->g)
                n += count_nodes(a->g);
            for (size_t m = 0; m < a->n_graphs; m++)
                n += count_nodes(a->graphs[m]);
        }
    return n;
}

static onnxq_status convert(conv *c)
{
    onnxq_status st;
    Onnx__ModelProto *mp = onnxq_model_proto(c->model);
    if (!mp->graph)
        return onnxq_error_set(c->err, ONNXQ_ERR_INVALID_MODEL,
                               "fp16: the model has no graph");
    size_t halves = count_half_tensors(mp->graph);
    for (size_t i = 0; i < mp->graph->n_input; i++)
        halves += is_half(vi_elem_type(mp->graph->input[i]));
    for (size_t i = 0; i < mp->graph->n_output; i++)
        halves += is_half(vi_elem_type(mp->graph->output[i]));
    c->r->nodes = count_nodes(mp->graph);
    if (halves) {
        c->r->already_converted = 1;
        return ONNXQ_OK;
    }
    /* types of every value, from a fresh inference */
    onnxq_infer_report before;
    onnxq_infer_report_init(&before);
    st = onnxq_infer_model(c->model, NULL, &before, c->err);
    size_t conflicts_before = before.n_conflicts_total;
    onnxq_infer_report_clear(&before);
    if (st != ONNXQ_OK)
        return st;
    if ((st = onnxq_graph_create(c->model, &c->main, c->err)) != ONNXQ_OK)
        return st;
    /* make unique_name index the names before any edit */
    char *probe = onnxq_graph_unique_name(c->main, "fp16_probe");
    if (!probe)
        return oom(c);
    free(probe);
    if ((st = add_ctx(c, c->main, 1)) != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < c->n_ctx; i++)
        if ((st = plan_nodes(c, i)) != ONNXQ_OK)
            return st;
    for (size_t b = 0; b < c->o->n_node_block_list; b++)
        if (!c->node_list_hit[b])
            return onnxq_error_set(c->err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "fp16: node block list: no node is named "
                                   "'%s'", c->o->node_block_list[b]);
    for (size_t i = 0; i < c->n_ctx; i++)
        plan_values(c, i);
    /* Casts and Constants are counted as retyped / converted constants */
    for (size_t i = 0; i < c->n_ctx; i++)
        for (size_t n = 0; n < c->ctx[i].n_nodes; n++) {
            const Onnx__NodeProto *nd = onnxq_graph_node(c->ctx[i].g, n);
            int real = c->ctx[i].conv[n] && !op_is(nd, "Cast") &&
                       !op_is(nd, "Constant");
            c->r->nodes_converted += real;
            if (i == 0 && c->main_conv)
                c->main_conv[n] = (unsigned char)real;
        }
    if ((st = fix_main_outputs(c)) != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < c->n_ctx; i++)
        if ((st = rewrite_ports(c, i)) != ONNXQ_OK)
            return st;
    for (size_t i = 0; i < c->n_ctx; i++)
        if ((st = convert_constants(c, i)) != ONNXQ_OK)
            return st;
    /* the view goes first: it sizes its arrays by the node counts */
    Onnx__GraphProto **protos = malloc((c->n_ctx ? c->n_ctx : 1) *
                                       sizeof *protos);
    if (!protos)
        return oom(c);
    for (size_t i = 0; i < c->n_ctx; i++)
        protos[i] = onnxq_graph_proto(c->ctx[i].g);
    onnxq_graph_destroy(c->main);
    c->main = NULL;
    for (size_t i = 0; i < c->n_ctx && st == ONNXQ_OK; i++)
        st = move_pending(c, protos[i], c->ctx[i].pending);
    free(protos);
    free_ctx(c);
    if (st != ONNXQ_OK)
        return st;
    for (size_t i = 0; i < c->n_grave; i++)
        free(c->grave[i]);
    c->n_grave = 0;

    /* stale types go; inference writes the new ones */
    drop_value_info(mp->graph);
    if ((st = onnxq_model_sort(c->model, c->err)) != ONNXQ_OK)
        return st;
    onnxq_infer_report after;
    onnxq_infer_report_init(&after);
    st = onnxq_infer_model(c->model, NULL, &after, c->err);
    if (st == ONNXQ_OK && after.n_conflicts_total > conflicts_before)
        st = onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                             "fp16: the converted model does not type-check "
                             "(%s)", after.n_conflicts ? after.conflicts[0]
                                                       : "conflict");
    onnxq_infer_report_clear(&after);
    if (st != ONNXQ_OK)
        return st;
    onnxq_check_options co;
    onnxq_check_options_init(&co);
    co.check_runtime = 0;
    onnxq_check_report cr = {0};
    st = onnxq_check_model(c->model, &co, &cr, c->err);
    if (st == ONNXQ_OK && cr.n_findings)
        st = onnxq_error_set(c->err, ONNXQ_ERR_INTERNAL,
                             "fp16: the converted model fails its check: "
                             "%s: %s", cr.findings[0].graph,
                             cr.findings[0].message);
    onnxq_check_report_clear(&cr);
    return st;
}

onnxq_status onnxq_convert_fp16(onnxq_model *model,
                                const onnxq_fp16_options *opts,
                                onnxq_fp16_report *report, onnxq_error *err)
{
    return oq_fp16_convert(model, opts, report, NULL, err);
}

onnxq_status oq_fp16_convert(onnxq_model *model,
                             const onnxq_fp16_options *opts,
                             onnxq_fp16_report *report,
                             unsigned char *main_converted, onnxq_error *err)
{
    onnxq_fp16_options defaults;
    onnxq_fp16_report local;
    if (!opts) {
        onnxq_fp16_options_init(&defaults);
        opts = &defaults;
    }
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    if (report == &local)
        local.n_blocked_nodes = 0;
    if (!model)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fp16: no model");
    conv c;
    memset(&c, 0, sizeof c);
    c.model = model;
    c.o = opts;
    c.r = report;
    c.err = err;
    c.target = opts->bf16 ? DT_BFLOAT16 : DT_FLOAT16;
    c.main_conv = main_converted;
    /* float16: smallest subnormal 2^-24, largest finite 65504; bfloat16:
     * smallest subnormal 2^-133, largest finite (2 - 2^-7) * 2^127 */
    c.min_pos = opts->min_positive_val >= 0 ? opts->min_positive_val
                : opts->bf16 ? ldexp(1.0, -133) : ldexp(1.0, -24);
    c.max_fin = opts->max_finite_val > 0 ? opts->max_finite_val
                : opts->bf16 ? ldexp(255.0 / 128.0, 127) : 65504.0;
    if (!(c.min_pos < c.max_fin) || isnan(opts->min_positive_val) ||
        isnan(opts->max_finite_val))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fp16: min_positive_val %g must be below "
                               "max_finite_val %g", c.min_pos, c.max_fin);
    if (opts->n_node_block_list) {
        c.node_list_hit = calloc(opts->n_node_block_list, 1);
        if (!c.node_list_hit)
            return oom(&c);
    }
    onnxq_status st = convert(&c);
    free_ctx(&c);
    onnxq_graph_destroy(c.main);
    for (size_t i = 0; i < c.n_grave; i++)
        free(c.grave[i]);
    free(c.grave);
    free(c.node_list_hit);
    if (report == &local)
        onnxq_fp16_report_clear(&local);
    return st;
}
