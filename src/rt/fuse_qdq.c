/*
 * fuse_qdq.c — QDQ fusion when a session is prepared: a QDQ model (float ops
 * between DequantizeLinear and QuantizeLinear nodes) runs as the integer
 * ops ONNX Runtime turns it into, so it is as fast as its QOperator twin and
 * gives ORT's numbers (ORT fuses the same patterns with its default
 * optimisation level; its fused result is the integer kernel's, which the
 * reference kernels reproduce bit for bit).
 *
 * Patterns (main graph; every scale and zero point a constant; activation
 * zero points present, so the 8-bit type is known; per-tensor activations):
 *   1. DQ -> data movement -> Q with the same scale and zero point (Reshape,
 *      Transpose, Flatten, Squeeze, Unsqueeze, Slice, MaxPool, Resize in
 *      nearest mode; Concat when every input's DQ matches): the op runs on
 *      the 8-bit tensor and both DQ and Q go — exact, since Q(DQ(q)) = q and
 *      these ops only move values.
 *   2. DQ(x), DQ(w const) [, DQ(int32 bias)] -> Conv [-> Relu] -> Q  =>
 *      QLinearConv; MatMul (B 2-D) => QLinearMatMul; Gemm (beta 1 with a
 *      bias) => com.microsoft QGemm.  Weight scales may be per channel on
 *      the op's output axis.  A Relu before Q is dropped only when Q's zero
 *      point is the type's minimum (then Q's clamp is the Relu), as ORT
 *      does.  x and y must have one type, and s8 x with u8 w is left alone
 *      (ORT has no kernel for it).
 *   3. DQ(a), DQ(b) -> Add / Mul -> Q, all one 8-bit type  =>
 *      com.microsoft QLinearAdd / QLinearMul.
 * A pattern whose intermediate tensors are graph outputs, or are read by
 * anything else, is left alone.
 *
 * The caller's model is never touched: when there is something to fuse the
 * model is copied (serialised and loaded again, external data resolved
 * against the same folder) and the copy is edited; dead DequantizeLinear
 * nodes and initializers are then removed and the nodes re-sorted.  With an
 * observer nothing is fused: it is entitled to every tensor the model names
 * (calibration observes the float tensors fusion would hide).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_lut.h"
#include "fuse_qdq.h"
#include "onnxq/builder.h"
#include "onnxq/graph.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};

typedef struct fctx {
    onnxq_model *m;
    Onnx__GraphProto *gp;
    onnxq_graph *g;
    size_t n_orig;       /* nodes before this pass appended any */
    char *drop;          /* [n_orig] node removed by a fusion */
    size_t fused;
    char **old;          /* names replaced while the view still borrows them:
                            freed once the view is gone */
    size_t n_old, cap_old;
    onnxq_error *err;
} fctx;

static int is_op(const Onnx__NodeProto *n, const char *op)
{
    const char *d = n->domain ? n->domain : "";
    return n->op_type && strcmp(n->op_type, op) == 0 &&
           (d[0] == '\0' || strcmp(d, "ai.onnx") == 0);
}

static int named(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] && n->input[i][0];
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n,
                                        const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t d)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a ? a->i : d;
}

/* The node producing name (index into the original nodes), or NULL. */
static const Onnx__NodeProto *producer(const fctx *c, const char *name,
                                       size_t *index)
{
    const onnxq_value *v = onnxq_graph_value(c->g, name);
    if (!v || v->kind != ONNXQ_VALUE_NODE_OUTPUT || v->producer >= c->n_orig ||
        c->drop[v->producer])
        return NULL;
    if (index)
        *index = v->producer;
    return c->gp->node[v->producer];
}

/* The one node reading name, if name is no graph output and has exactly one
 * reader (through a regular input). */
static const Onnx__NodeProto *sole_reader(const fctx *c, const char *name,
                                          size_t *index)
{
    const onnxq_value *v = onnxq_graph_value(c->g, name);
    if (!v || v->is_graph_output || v->n_uses != 1 ||
        v->uses[0].input == SIZE_MAX || v->uses[0].node >= c->n_orig ||
        c->drop[v->uses[0].node])
        return NULL;
    *index = v->uses[0].node;
    return c->gp->node[v->uses[0].node];
}

/* ---- constants ----------------------------------------------------------- */

/* A constant's type and element count; 0 if name is not a constant. */
static int const_info(const fctx *c, const char *name, int32_t *dtype,
                      size_t *count, int *rank, int64_t *dim0)
{
    const Onnx__TensorProto *t = name && name[0] ? onnxq_graph_constant(c->g, name)
                                                 : NULL;
    if (!t)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++)
        n *= (size_t)t->dims[i];
    *dtype = t->data_type;
    *count = n;
    if (rank)
        *rank = (int)t->n_dims;
    if (dim0)
        *dim0 = t->n_dims ? t->dims[0] : 1;
    return 1;
}

/* A one-element constant's value as raw bits (up to 8 bytes) and type. */
static int const_scalar(const fctx *c, const char *name, int32_t *dtype,
                        uint64_t *bits)
{
    size_t n;
    if (!const_info(c, name, dtype, &n, NULL, NULL) || n != 1)
        return 0;
    size_t es = onnxq_dtype_size(*dtype);
    if (es == 0 || es > 8)
        return 0;
    *bits = 0;
    onnxq_error e;
    return onnxq_tensor_copy_data(c->m, onnxq_graph_constant(c->g, name), bits,
                                  es, &e) == ONNXQ_OK;
}

/* ---- DequantizeLinear / QuantizeLinear parameters ------------------------ */

typedef struct qparams {
    const char *q, *s, *z;   /* quantized tensor (DQ input / Q output),
                                scale, zero point ("" if absent) */
    int32_t qtype;           /* from the zero point, or the constant q */
    int per_axis;
    int64_t axis;            /* normalised later by the caller's rank */
    size_t count;            /* scale values */
    uint64_t s_bits, z_bits; /* per-tensor values */
} qparams;

/* Reads a DQ (is_q 0) or Q node's parameters; per_axis_ok allows a 1-D
 * scale.  0 if the node is not one onnxq fuses. */
static int read_qparams(const fctx *c, const Onnx__NodeProto *n, int is_q,
                        int per_axis_ok, qparams *p)
{
    memset(p, 0, sizeof *p);
    if (!is_op(n, is_q ? "QuantizeLinear" : "DequantizeLinear") ||
        n->n_input < 2 || !named(n, 1) || n->n_output != 1 ||
        attr_i(n, "block_size", 0) != 0)
        return 0;
    p->q = is_q ? n->output[0] : n->input[0];
    p->s = n->input[1];
    p->z = named(n, 2) ? n->input[2] : "";
    p->axis = attr_i(n, "axis", 1);
    int32_t st, zt = 0;
    int rank;
    int64_t d0;
    if (!const_info(c, p->s, &st, &p->count, &rank, &d0) || st != T_FLOAT)
        return 0;
    if (p->count != 1) {
        if (!per_axis_ok || rank != 1)
            return 0;
        p->per_axis = 1;
    } else if (!const_scalar(c, p->s, &st, &p->s_bits)) {
        return 0;
    }
    if (p->z[0]) {
        size_t zc;
        if (!const_info(c, p->z, &zt, &zc, NULL, NULL) || zc != p->count)
            return 0;
        if (!p->per_axis && !const_scalar(c, p->z, &zt, &p->z_bits))
            return 0;
    }
    if (is_q && attr(n, "output_dtype") && (!zt || attr_i(n, "output_dtype", 0) != zt))
        return 0;
    p->qtype = zt;
    if (!is_q) {
        int32_t qt;
        size_t qc;
        if (const_info(c, p->q, &qt, &qc, NULL, NULL)) {
            if (zt && zt != qt)
                return 0;
            p->qtype = qt;
        }
    }
    return p->qtype == T_UINT8 || p->qtype == T_INT8;
}

static int same_params(const qparams *a, const qparams *b)
{
    return !a->per_axis && !b->per_axis && a->qtype == b->qtype &&
           a->s_bits == b->s_bits && a->z_bits == b->z_bits;
}

/* The DQ producing name, per tensor with a zero point (activations). */
static int activation_dq(const fctx *c, const char *name, qparams *p)
{
    const Onnx__NodeProto *d = producer(c, name, NULL);
    return d && read_qparams(c, d, 0, 0, p) && p->z[0];
}

/* ---- edits --------------------------------------------------------------- */

static int replace_str(fctx *c, char **slot, const char *s)
{
    if (c->n_old == c->cap_old) {
        size_t cap = c->cap_old ? 2 * c->cap_old : 16;
        char **o = realloc(c->old, cap * sizeof *o);
        if (!o)
            return -1;
        c->old = o;
        c->cap_old = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    c->old[c->n_old++] = *slot;
    *slot = copy;
    return 0;
}

static int say_verbose(void) { return oq_env_on("ONNXQ_VERBOSE"); }

/* ---- pattern 1: Q/DQ around data movement -------------------------------- */

static int data_movement(const Onnx__NodeProto *n)
{
    static const char *const ops[] = {"Reshape", "Transpose", "Flatten",
                                      "Squeeze", "Unsqueeze", "Slice",
                                      "MaxPool", "Resize", "Concat", NULL};
    for (size_t i = 0; ops[i]; i++)
        if (is_op(n, ops[i])) {
            if (strcmp(ops[i], "MaxPool") == 0 && n->n_output > 1)
                return 0; /* Indices */
            if (strcmp(ops[i], "Resize") == 0) {
                const Onnx__AttributeProto *a = attr(n, "mode");
                if (a && a->has_s && !(a->s.len == 7 && memcmp(a->s.data, "nearest", 7) == 0))
                    return 0;
            }
            return 1;
        }
    return 0;
}

static onnxq_status drop_pairs(fctx *c)
{
    for (size_t i = 0; i < c->n_orig; i++) {
        Onnx__NodeProto *n = c->gp->node[i];
        if (c->drop[i] || !data_movement(n) || n->n_output != 1 || !n->n_input)
            continue;
        size_t qi;
        const Onnx__NodeProto *q = sole_reader(c, n->output[0], &qi);
        qparams qp, dp;
        if (!q || !read_qparams(c, q, 1, 0, &qp) || !qp.z[0])
            continue;
        size_t n_data = is_op(n, "Concat") ? n->n_input : 1;
        int ok = 1;
        for (size_t k = 0; k < n_data && ok; k++)
            ok = named(n, k) && activation_dq(c, n->input[k], &dp) &&
                 same_params(&dp, &qp);
        if (!ok)
            continue;
        for (size_t k = 0; k < n_data; k++) {
            activation_dq(c, n->input[k], &dp);
            if (replace_str(c, &n->input[k], dp.q))
                goto oom;
        }
        if (replace_str(c, &n->output[0], qp.q))
            goto oom;
        c->drop[qi] = 1;
        c->fused++;
    }
    return ONNXQ_OK;
oom:
    return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

/* ---- patterns 2 and 3: compute ops --------------------------------------- */

/* The output Q after node n (through a Relu the Q makes redundant); marks
 * what goes in drop_list[0..2). */
static int output_q(const fctx *c, const Onnx__NodeProto *n, size_t self,
                    qparams *qp, size_t *drop_list, size_t *n_drop)
{
    size_t ri, qi;
    const Onnx__NodeProto *r = sole_reader(c, n->output[0], &ri);
    *n_drop = 0;
    if (!r)
        return 0;
    drop_list[(*n_drop)++] = self;
    if (is_op(r, "Relu")) {
        const Onnx__NodeProto *q = sole_reader(c, r->output[0], &qi);
        if (!q || !read_qparams(c, q, 1, 0, qp) || !qp->z[0])
            return 0;
        int32_t zmin = qp->qtype == T_INT8 ? 0x80 : 0; /* bits of -128 / 0 */
        if ((qp->z_bits & 0xff) != (uint64_t)zmin)
            return 0;
        drop_list[(*n_drop)++] = ri;
        drop_list[(*n_drop)++] = qi;
        return 1;
    }
    if (!read_qparams(c, r, 1, 0, qp) || !qp->z[0])
        return 0;
    drop_list[(*n_drop)++] = ri;
    return 1;
}

/* The constant weight's DQ: per tensor, or per channel along axis of a
 * rank-`rank` weight with `count` channels. */
static int weight_dq(const fctx *c, const char *name, int rank, int64_t axis,
                     int64_t count, qparams *p)
{
    const Onnx__NodeProto *d = producer(c, name, NULL);
    int32_t t;
    size_t n;
    if (!d || !read_qparams(c, d, 0, 1, p) || !const_info(c, p->q, &t, &n, NULL, NULL))
        return 0;
    if (p->per_axis) {
        int64_t a = p->axis < 0 ? p->axis + rank : p->axis;
        if (a != axis || (int64_t)p->count != count)
            return 0;
    }
    return 1;
}

/* An int32 bias through DQ with zero point 0 (or none); its int32 name. */
static int bias_dq(const fctx *c, const char *name, int64_t count,
                   const char **q)
{
    const Onnx__NodeProto *d = producer(c, name, NULL);
    if (!d || !is_op(d, "DequantizeLinear") || d->n_input < 2)
        return 0;
    int32_t t;
    size_t n;
    int rank;
    int64_t d0;
    if (!const_info(c, d->input[0], &t, &n, &rank, &d0) || t != T_INT32 ||
        rank != 1 || d0 != count)
        return 0;
    if (named(d, 2)) {
        int32_t zt;
        size_t zc;
        if (!const_info(c, d->input[2], &zt, &zc, NULL, NULL) || zt != T_INT32)
            return 0;
        int32_t *z = calloc(zc ? zc : 1, sizeof *z);
        onnxq_error e;
        int zero = z && onnxq_tensor_copy_data(c->m, onnxq_graph_constant(c->g, d->input[2]),
                                               z, zc * sizeof *z, &e) == ONNXQ_OK;
        for (size_t i = 0; zero && i < zc; i++)
            zero = z[i] == 0;
        free(z);
        if (!zero)
            return 0;
    }
    *q = d->input[0];
    return 1;
}

static onnxq_status add_node(fctx *c, const char *op, const char *domain,
                             const Onnx__NodeProto *like, const char *const *in,
                             size_t n_in, const char *out,
                             Onnx__NodeProto **made)
{
    const char *outs[] = {out};
    Onnx__NodeProto *n = onnxq_build_node(c->gp, op, like->name, in, n_in, outs, 1);
    if (!n || (domain && onnxq_build_node_domain(n, domain)))
        return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    *made = n;
    return ONNXQ_OK;
}

/* Copies the INT/INTS/STRING/FLOAT attributes named in list from src. */
static onnxq_status copy_attrs(fctx *c, const Onnx__NodeProto *src,
                               Onnx__NodeProto *dst, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        const Onnx__AttributeProto *a = attr(src, list[i]);
        void *r = (void *)1;
        if (!a)
            continue;
        switch (a->type) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            r = onnxq_build_attr_int(dst, list[i], a->i);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            r = onnxq_build_attr_float(dst, list[i], a->f);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            r = onnxq_build_attr_ints(dst, list[i], a->ints, a->n_ints);
            break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
            char buf[64];
            size_t len = a->s.len < sizeof buf - 1 ? a->s.len : sizeof buf - 1;
            memcpy(buf, a->s.data, len);
            buf[len] = '\0';
            r = onnxq_build_attr_string(dst, list[i], buf);
            break;
        }
        default:
            break;
        }
        if (!r)
            return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return ONNXQ_OK;
}

static onnxq_status fuse_node(fctx *c, size_t i)
{
    const Onnx__NodeProto *n = c->gp->node[i];
    int conv = is_op(n, "Conv"), mm = is_op(n, "MatMul"), gemm = is_op(n, "Gemm");
    int add = is_op(n, "Add"), mul = is_op(n, "Mul");
    if (!(conv || mm || gemm || add || mul) || n->n_output != 1 || n->n_input < 2)
        return ONNXQ_OK;
    qparams xp, wp, yp;
    size_t drop[3], n_drop;
    if (!named(n, 0) || !named(n, 1) || !activation_dq(c, n->input[0], &xp) ||
        !output_q(c, n, i, &yp, drop, &n_drop) || yp.qtype != xp.qtype)
        return ONNXQ_OK;
    if ((add || mul) && n_drop != 2)
        return ONNXQ_OK; /* no Relu in the binary ops */
    Onnx__NodeProto *made = NULL;
    onnxq_status st = ONNXQ_OK;
    if (add || mul) {
        if (!activation_dq(c, n->input[1], &wp) || wp.qtype != xp.qtype)
            return ONNXQ_OK;
        const char *in[] = {xp.q, xp.s, xp.z, wp.q, wp.s, wp.z, yp.s, yp.z};
        st = add_node(c, add ? "QLinearAdd" : "QLinearMul", "com.microsoft", n,
                      in, 8, yp.q, &made);
    } else {
        int32_t wt;
        size_t wn;
        int wrank;
        int64_t m0;
        const Onnx__NodeProto *wd = producer(c, n->input[1], NULL);
        if (!wd || !is_op(wd, "DequantizeLinear") ||
            !const_info(c, wd->input[0], &wt, &wn, &wrank, &m0))
            return ONNXQ_OK;
        const Onnx__TensorProto *wtp = onnxq_graph_constant(c->g, wd->input[0]);
        int64_t tb = gemm ? attr_i(n, "transB", 0) : 0;
        int64_t axis = conv ? 0 : gemm ? (tb ? 0 : 1) : 1;
        if ((mm || gemm) && wrank != 2)
            return ONNXQ_OK;
        if (conv && wrank < 3)
            return ONNXQ_OK;
        int64_t channels = wtp->dims[axis];
        if (!weight_dq(c, n->input[1], wrank, axis, channels, &wp) ||
            (xp.qtype == T_INT8 && wp.qtype == T_UINT8))
            return ONNXQ_OK;
        const char *bias = "";
        if ((conv || gemm) && named(n, 2) && !bias_dq(c, n->input[2], channels, &bias))
            return ONNXQ_OK;
        if (gemm && bias[0] && attr(n, "beta") && attr(n, "beta")->f != 1.0f)
            return ONNXQ_OK;
        if (conv) {
            const char *in[] = {xp.q, xp.s, xp.z, wp.q, wp.s, wp.z, yp.s, yp.z, bias};
            static const char *const keep[] = {"auto_pad", "dilations", "group",
                                               "kernel_shape", "pads", "strides",
                                               NULL};
            st = add_node(c, "QLinearConv", NULL, n, in, bias[0] ? 9 : 8, yp.q, &made);
            if (st == ONNXQ_OK)
                st = copy_attrs(c, n, made, keep);
        } else if (mm) {
            const char *in[] = {xp.q, xp.s, xp.z, wp.q, wp.s, wp.z, yp.s, yp.z};
            st = add_node(c, "QLinearMatMul", NULL, n, in, 8, yp.q, &made);
        } else {
            const char *in[] = {xp.q, xp.s, xp.z, wp.q, wp.s, wp.z, bias, yp.s, yp.z};
            static const char *const keep[] = {"alpha", "transA", "transB", NULL};
            st = add_node(c, "QGemm", "com.microsoft", n, in, 9, yp.q, &made);
            if (st == ONNXQ_OK)
                st = copy_attrs(c, n, made, keep);
        }
    }
    if (st != ONNXQ_OK)
        return st;
    for (size_t k = 0; k < n_drop; k++)
        c->drop[drop[k]] = 1;
    c->fused++;
    return ONNXQ_OK;
}

/* ---- driver -------------------------------------------------------------- */

/* Removes the dropped original nodes from the graph (freeing them). */
static void compact(fctx *c)
{
    size_t w = 0;
    for (size_t i = 0; i < c->gp->n_node; i++) {
        if (i < c->n_orig && c->drop[i]) {
            onnx__node_proto__free_unpacked(c->gp->node[i], NULL);
            continue;
        }
        c->gp->node[w++] = c->gp->node[i];
    }
    c->gp->n_node = w;
}

static int has_qdq(const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_node; i++)
        if (is_op(gp->node[i], "DequantizeLinear"))
            return 1;
    return 0;
}

/* One pass of pattern 1 (drop_pairs) or 2/3; rebuilds the view around it. */
static onnxq_status run_pass(fctx *c, int compute)
{
    onnxq_status st = onnxq_graph_create(c->m, &c->g, c->err);
    if (st != ONNXQ_OK)
        return st;
    c->n_orig = c->gp->n_node;
    c->drop = calloc(c->n_orig ? c->n_orig : 1, 1);
    if (!c->drop) {
        onnxq_graph_destroy(c->g);
        return onnxq_error_set(c->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!compute)
        st = drop_pairs(c);
    for (size_t i = 0; compute && st == ONNXQ_OK && i < c->n_orig; i++)
        if (!c->drop[i])
            st = fuse_node(c, i);
    onnxq_graph_destroy(c->g);  /* it remembers the nodes it was built over */
    c->g = NULL;
    for (size_t i = 0; i < c->n_old; i++)
        free(c->old[i]);
    free(c->old);
    c->old = NULL;
    c->n_old = c->cap_old = 0;
    compact(c);
    free(c->drop);
    c->drop = NULL;
    return st;
}

onnxq_status oq_fuse_qdq(onnxq_model **model, onnxq_model **fused,
                         const onnxq_session_options *opts, onnxq_error *err)
{
    *fused = NULL;
    const Onnx__ModelProto *mp = onnxq_model_proto_const(*model);
    if ((opts && opts->observer) || oq_env_on("ONNXQ_NO_QDQ_FUSION") ||
        !mp->graph || !has_qdq(mp->graph))
        return ONNXQ_OK;
    void *bytes = NULL;
    size_t size = 0;
    onnxq_model *copy = NULL;
    onnxq_status st = onnxq_model_serialize(*model, &bytes, &size, err);
    if (st == ONNXQ_OK)
        st = onnxq_model_load_memory(bytes, size, onnxq_model_base_dir(*model),
                                     onnxq_model_source(*model), &copy, err);
    free(bytes);
    if (st != ONNXQ_OK)
        return st;
    fctx c = {0};
    c.m = copy;
    c.gp = onnxq_model_proto(copy)->graph;
    c.err = err;
    st = run_pass(&c, 0);
    size_t moved = c.fused;
    if (st == ONNXQ_OK)
        st = run_pass(&c, 1);
    size_t luts = 0; /* fuse_lut.c: 8-bit elementwise islands -> tables */
    if (st == ONNXQ_OK)
        st = oq_fuse_lut(copy, opts, &luts, err);
    c.fused += luts;
    if (st == ONNXQ_OK && c.fused) {
        if (c.fused > moved &&
            !onnxq_build_opset(onnxq_model_proto(copy), "com.microsoft", 1))
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        if (st == ONNXQ_OK)
            st = onnxq_model_remove_dead(copy, NULL, NULL, err);
        if (st == ONNXQ_OK)
            st = onnxq_model_sort(copy, err);
    }
    if (st != ONNXQ_OK || !c.fused) {
        onnxq_model_destroy(copy);
        return st;
    }
    if (say_verbose())
        fprintf(stderr, "onnxq: QDQ fusion: %zu Q/DQ pairs dropped around data "
                "movement, %zu patterns fused into integer ops\n", moved,
                c.fused - moved);
    *fused = copy;
    *model = copy;
    return ONNXQ_OK;
}
