/*
 * fold_bn.c — BatchNormalization folded into the Conv, ConvTranspose or
 * Gemm before it, and Mul/Add by a per-output-channel constant folded into
 * a Conv or ConvTranspose.
 *
 * Inference-mode BatchNormalization is y = s * (x - mean) + beta with
 * s = scale / sqrt(var + epsilon), per channel (axis 1).  When x is the
 * output of a layer with constant float32 weights that nothing else reads,
 * the layer can compute y itself:
 *   Conv / ConvTranspose:  W'[channel m] = W * s[m],  b'[m] = (b[m] - mean[m]) * s[m] + beta[m]
 *   Gemm (Y = alpha A B + beta_g C, channel = column j):
 *                          B'[:, j] = B[:, j] * s[j],
 *                          C'[.., j] = (beta_g C[.., j] - mean[j]) * s[j] + beta[j],  beta_g' = 1
 * Arithmetic is in double and rounded once to float32, so results differ
 * from the unfolded model only by float32 rounding (~1e-7 relative).
 * Likewise Mul by c (c broadcasting only along the channel axis) scales W
 * and b, and Add of c adds to b (a zero bias is made when there is none).
 *
 * A weight read by another node too is copied under a fresh name instead of
 * edited in place; the old one goes when cleanup finds it unused.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/tensor.h"
#include "opt_internal.h"

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };

typedef struct bn_ctx {
    onnxq_model *m;
    onnxq_preprocess_report *r;
    oq_opt_names names;
    int64_t opset;
} bn_ctx;

static Onnx__TensorProto *init_of(const Onnx__GraphProto *g, const char *name)
{
    if (!name || !name[0] || oq_opt_is_graph_input(g, name))
        return NULL; /* a default the user may override */
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0)
            return g->initializer[i];
    return NULL;
}

/* How many times name is read in g: node inputs, subgraph reads (each
 * counted), graph outputs. */
static size_t reads(const Onnx__GraphProto *g, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < g->n_output; i++)
        c += g->output[i]->name && strcmp(g->output[i]->name, name) == 0;
    for (size_t n = 0; n < g->n_node; n++) {
        const Onnx__NodeProto *node = g->node[n];
        for (size_t i = 0; i < node->n_input; i++)
            c += node->input[i] && strcmp(node->input[i], name) == 0;
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *at = node->attribute[a];
            if (at->g)
                c += reads(at->g, name);
            for (size_t k = 0; k < at->n_graphs; k++)
                c += reads(at->graphs[k], name);
        }
    }
    return c;
}

static size_t producer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t n = 0; n < g->n_node; n++)
        if (g->node[n]->n_output >= 1 && g->node[n]->output[0] &&
            strcmp(g->node[n]->output[0], name) == 0)
            return n;
    return SIZE_MAX;
}

/* Gives node input slot a float32 tensor of dims holding v: in place when
 * the current initializer there is read only by this node, else a new
 * initializer under a fresh name. */
static int write_input(bn_ctx *c, Onnx__GraphProto *g, Onnx__NodeProto *node,
                       size_t slot, const char *prefix, size_t ndims,
                       const int64_t *dims, const double *v, size_t n)
{
    Onnx__TensorProto *t = slot < node->n_input ? init_of(g, node->input[slot])
                                                : NULL;
    int same_dims = t && t->n_dims == ndims;
    for (size_t d = 0; same_dims && d < ndims; d++)
        same_dims = t->dims[d] == dims[d];
    if (t && same_dims && reads(g, t->name) == 1)
        return oq_opt_set_f32_data(t, v, n);
    char *name = oq_opt_names_make(&c->names, prefix);
    if (!name)
        return -1;
    Onnx__TensorProto *nt = onnxq_build_initializer(g, name, T_FLOAT, ndims,
                                                    dims, NULL);
    int rc = !nt || oq_opt_set_f32_data(nt, v, n);
    while (!rc && node->n_input < slot)
        rc = oq_opt_add_input(node, "");
    if (!rc)
        rc = slot < node->n_input ? oq_opt_set_input(node, slot, name)
                                  : oq_opt_add_input(node, name);
    free(name);
    return rc ? -1 : 0;
}

/* Output channel of each element of a Conv / ConvTranspose weight. */
static size_t weight_channel(const Onnx__TensorProto *w, int transposed,
                             int64_t group, size_t i)
{
    size_t inner = 1;
    for (size_t d = 2; d < w->n_dims; d++)
        inner *= (size_t)w->dims[d];
    size_t d1 = (size_t)w->dims[1];
    if (!transposed)
        return i / (d1 * inner);
    size_t ci = i / (d1 * inner), mo = (i / inner) % d1;
    size_t per_group = (size_t)w->dims[0] / (size_t)group;
    return (ci / per_group) * d1 + mo;
}

/* Output channels of a Conv/ConvTranspose with weight w, 0 if unusable. */
static size_t conv_channels(const Onnx__TensorProto *w, int transposed,
                            int64_t group)
{
    if (!w || w->data_type != T_FLOAT || w->n_dims < 3 || group < 1)
        return 0;
    if (!transposed)
        return (size_t)w->dims[0];
    if (w->dims[0] % group)
        return 0;
    return (size_t)(w->dims[1] * group);
}

/* Scales the weight's channels by mul[ch] and sets the bias to
 * bias[ch] (both length m) for a Conv/ConvTranspose node. */
static int rewrite_conv(bn_ctx *c, Onnx__GraphProto *g, Onnx__NodeProto *p,
                        int transposed, const double *mul, const double *bias,
                        size_t m, onnxq_error *err)
{
    Onnx__TensorProto *w = init_of(g, p->input[1]);
    int64_t group = oq_opt_attr_int(p, "group", 1);
    size_t nw;
    double *wv = oq_opt_tensor_f64(c->m, w, &nw, err);
    if (!wv)
        return -1;
    for (size_t i = 0; i < nw; i++)
        wv[i] *= mul[weight_channel(w, transposed, group, i)];
    int64_t bdim = (int64_t)m;
    int64_t *wd = malloc(w->n_dims * sizeof *wd);
    int rc = !wd;
    if (wd) {
        memcpy(wd, w->dims, w->n_dims * sizeof *wd);
        rc = write_input(c, g, p, 1, p->input[1], w->n_dims, wd, wv, nw) ||
             write_input(c, g, p, 2, "bias", 1, &bdim, bias, m);
        rc = rc ? -1 : 0;
    }
    free(wd);
    free(wv);
    return rc;
}

/* The Conv's current bias (zeros if none), length m; NULL on failure. */
static double *conv_bias(bn_ctx *c, const Onnx__GraphProto *g,
                         const Onnx__NodeProto *p, size_t m, onnxq_error *err)
{
    if (p->n_input > 2 && p->input[2] && p->input[2][0]) {
        const Onnx__TensorProto *b = init_of(g, p->input[2]);
        size_t n;
        if (!b || b->data_type != T_FLOAT)
            return NULL;
        double *v = oq_opt_tensor_f64(c->m, b, &n, err);
        if (v && n != m) {
            free(v);
            return NULL;
        }
        return v;
    }
    return calloc(m ? m : 1, sizeof(double));
}

static int is_float_init(const Onnx__TensorProto *t)
{
    return t && (t->data_type == T_FLOAT ||
                 t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                 t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16);
}

/* ---- BatchNormalization ---------------------------------------------------- */

static int fold_gemm(bn_ctx *c, Onnx__GraphProto *g, Onnx__NodeProto *p,
                     const double *s, const double *shift, size_t m,
                     onnxq_error *err)
{
    /* shift[j] = beta[j] - mean[j] * s[j]; C'[.., j] = beta_g C s + shift */
    Onnx__TensorProto *bt = init_of(g, p->input[1]);
    if (!bt || bt->data_type != T_FLOAT || bt->n_dims != 2)
        return 1;
    int transb = oq_opt_attr_int(p, "transB", 0) != 0;
    size_t cols = (size_t)(transb ? bt->dims[0] : bt->dims[1]);
    if (cols != m)
        return 1;
    const Onnx__TensorProto *ct = NULL;
    if (p->n_input > 2 && p->input[2] && p->input[2][0]) {
        ct = init_of(g, p->input[2]);
        if (!is_float_init(ct) || ct->n_dims > 2)
            return 1;
    }
    /* C's rows and columns as it broadcasts to [rows, m] */
    int64_t crows = 1, ccols = 1;
    if (ct && ct->n_dims == 2) {
        crows = ct->dims[0];
        ccols = ct->dims[1];
    } else if (ct && ct->n_dims == 1) {
        ccols = ct->dims[0];
    }
    if (ccols != 1 && (size_t)ccols != m)
        return 1;
    double beta_g = oq_opt_attr_float(p, "beta", 1.0f);
    size_t nb, nc = 0;
    double *bv = oq_opt_tensor_f64(c->m, bt, &nb, err);
    double *cv = ct ? oq_opt_tensor_f64(c->m, ct, &nc, err) : NULL;
    double *out = malloc((size_t)crows * m * sizeof *out + 1);
    int rc = -1;
    if (!bv || (ct && !cv) || !out)
        goto done;
    for (size_t i = 0; i < nb; i++)
        bv[i] *= s[transb ? i / (size_t)bt->dims[1] : i % m];
    for (int64_t r = 0; r < crows; r++)
        for (size_t j = 0; j < m; j++) {
            double cval = cv ? cv[(size_t)r * (size_t)ccols +
                                  (ccols == 1 ? 0 : j)] : 0.0;
            out[(size_t)r * m + j] = beta_g * cval * s[j] + shift[j];
        }
    int64_t cd[2] = {crows, (int64_t)m};
    int64_t bd[2] = {bt->dims[0], bt->dims[1]};
    if (write_input(c, g, p, 1, p->input[1], 2, bd, bv, nb) ||
        write_input(c, g, p, 2, "gemm_bias",
                    ct && ct->n_dims == 2 ? 2 : 1,
                    ct && ct->n_dims == 2 ? cd : cd + 1, out,
                    (size_t)crows * m) ||
        oq_opt_set_attr_float(p, "beta", 1.0f))
        goto done;
    rc = 0;
done:
    free(bv);
    free(cv);
    free(out);
    return rc;
}

static onnxq_status fold_bn_graph(Onnx__GraphProto *g, void *user,
                                  onnxq_error *err)
{
    bn_ctx *c = user;
    char *dead = calloc(g->n_node + 1, 1);
    if (!dead)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    size_t removed = 0;
    onnxq_status st = ONNXQ_OK;
    for (size_t n = 0; n < g->n_node; n++) {
        Onnx__NodeProto *bn = g->node[n];
        if (!oq_opt_is_op(bn, "BatchNormalization") || bn->n_input != 5 ||
            bn->n_output < 1 || !bn->output[0] || !bn->output[0][0])
            continue;
        if (oq_opt_attr_int(bn, "training_mode", 0) != 0 ||
            oq_opt_attr_int(bn, "spatial", 1) != 1)
            continue;
        int extra_read = 0; /* training outputs (old opsets) */
        for (size_t o = 1; o < bn->n_output; o++)
            if (bn->output[o] && bn->output[o][0] && reads(g, bn->output[o]))
                extra_read = 1;
        if (extra_read)
            continue;
        const char *x = bn->input[0];
        size_t pi = producer(g, x);
        if (pi == SIZE_MAX || dead[pi] || reads(g, x) != 1)
            continue;
        Onnx__NodeProto *p = g->node[pi];
        int is_conv = oq_opt_is_op(p, "Conv"), is_convt = oq_opt_is_op(p, "ConvTranspose"),
            is_gemm = oq_opt_is_op(p, "Gemm");
        if ((!is_conv && !is_convt && !is_gemm) || p->n_input < 2 ||
            p->n_output != 1)
            continue;
        const Onnx__TensorProto *prm[4];
        int ok = 1;
        for (int k = 0; k < 4; k++) {
            prm[k] = init_of(g, bn->input[1 + k]);
            ok &= is_float_init(prm[k]) && prm[k]->n_dims == 1;
        }
        if (!ok)
            continue;
        size_t m = (size_t)prm[0]->dims[0];
        int ok_dims = m > 0;
        for (int k = 1; k < 4; k++)
            ok_dims &= (size_t)prm[k]->dims[0] == m;
        if (!ok_dims)
            continue;
        if (!is_gemm &&
            conv_channels(init_of(g, p->input[1]), is_convt,
                          oq_opt_attr_int(p, "group", 1)) != m)
            continue;
        double eps = oq_opt_attr_float(bn, "epsilon", 1e-5f);
        double *v[4] = {NULL, NULL, NULL, NULL};
        size_t cnt;
        double *s = malloc(m * sizeof *s + 1), *shift = malloc(m * sizeof *shift + 1);
        double *bias = NULL;
        int rc = !s || !shift;
        for (int k = 0; k < 4 && !rc; k++)
            rc = !(v[k] = oq_opt_tensor_f64(c->m, prm[k], &cnt, err));
        if (!rc && !is_gemm)
            rc = !(bias = conv_bias(c, g, p, m, err));
        if (!rc) {
            for (size_t j = 0; j < m; j++) {
                s[j] = v[0][j] / sqrt(v[3][j] + eps);
                shift[j] = v[1][j] - v[2][j] * s[j];
                if (bias)
                    bias[j] = bias[j] * s[j] + shift[j];
            }
            rc = is_gemm ? fold_gemm(c, g, p, s, shift, m, err)
                         : rewrite_conv(c, g, p, is_convt, s, bias, m, err);
        }
        for (int k = 0; k < 4; k++)
            free(v[k]);
        free(s);
        free(shift);
        free(bias);
        if (rc > 0)
            continue; /* not foldable after all */
        if (rc < 0 || oq_opt_set_output(p, 0, bn->output[0])) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                 "fold-bn: node %s: weights could not be "
                                 "rewritten (out of memory or unreadable "
                                 "tensor data)", bn->name ? bn->name : "?");
            break;
        }
        dead[n] = 1;
        removed++;
        c->r->bn_folded++;
    }
    if (removed)
        oq_opt_remove_nodes(g, dead);
    free(dead);
    return st;
}

/* ---- Mul / Add by per-channel constants ---------------------------------------- */

static onnxq_status fold_muladd_graph(Onnx__GraphProto *g, void *user,
                                      onnxq_error *err)
{
    bn_ctx *c = user;
    char *dead = calloc(g->n_node + 1, 1);
    if (!dead)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    size_t removed = 0;
    onnxq_status st = ONNXQ_OK;
    for (size_t n = 0; n < g->n_node; n++) {
        Onnx__NodeProto *q = g->node[n];
        int is_mul = oq_opt_is_op(q, "Mul"), is_add = oq_opt_is_op(q, "Add");
        if ((!is_mul && !is_add) || q->n_input != 2 || q->n_output != 1)
            continue;
        /* which input is the layer's output, which the constant */
        size_t pi = SIZE_MAX, ci = 0;
        for (size_t k = 0; k < 2 && pi == SIZE_MAX; k++) {
            size_t cand = producer(g, q->input[k]);
            if (cand != SIZE_MAX && !dead[cand] &&
                init_of(g, q->input[1 - k])) {
                pi = cand;
                ci = 1 - k;
            }
        }
        if (pi == SIZE_MAX)
            continue;
        Onnx__NodeProto *p = g->node[pi];
        int is_convt = oq_opt_is_op(p, "ConvTranspose");
        if ((!oq_opt_is_op(p, "Conv") && !is_convt) || p->n_input < 2 ||
            p->n_output != 1 || reads(g, p->output[0]) != 1)
            continue;
        const Onnx__TensorProto *w = init_of(g, p->input[1]);
        size_t m = conv_channels(w, is_convt, oq_opt_attr_int(p, "group", 1));
        const Onnx__TensorProto *ct = init_of(g, q->input[ci]);
        if (!m || !ct || ct->data_type != T_FLOAT || ct->n_dims > w->n_dims)
            continue;
        /* c, right-aligned to the output's rank, may vary along axis 1 only */
        size_t rank = w->n_dims;
        int ok = 1, per_channel = 0;
        for (size_t d = 0; d < ct->n_dims; d++) {
            size_t axis = rank - ct->n_dims + d;
            if (ct->dims[d] == 1)
                continue;
            if (axis == 1 && (size_t)ct->dims[d] == m)
                per_channel = 1;
            else
                ok = 0;
        }
        if (!ok)
            continue;
        size_t nc;
        double *cv = oq_opt_tensor_f64(c->m, ct, &nc, err);
        double *mul = malloc(m * sizeof *mul + 1);
        double *bias = conv_bias(c, g, p, m, err);
        int rc = !cv || !mul || !bias;
        if (!rc) {
            for (size_t j = 0; j < m; j++) {
                double k = cv[per_channel ? j : 0];
                mul[j] = is_mul ? k : 1.0;
                bias[j] = is_mul ? bias[j] * k : bias[j] + k;
            }
            rc = rewrite_conv(c, g, p, is_convt, mul, bias, m, err);
        }
        free(cv);
        free(mul);
        free(bias);
        if (rc || oq_opt_set_output(p, 0, q->output[0])) {
            st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        dead[n] = 1;
        removed++;
        c->r->mul_add_folded++;
    }
    if (removed)
        oq_opt_remove_nodes(g, dead);
    free(dead);
    return st;
}

onnxq_status oq_opt_fold_bn(onnxq_model *m, onnxq_preprocess_report *r,
                            onnxq_error *err)
{
    bn_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.r = r;
    c.opset = onnxq_model_opset(m, "");
    Onnx__GraphProto *g = onnxq_model_proto(m)->graph;
    if (oq_opt_names_init(&c.names, g)) {
        oq_opt_names_clear(&c.names);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    /* repeated until nothing changes: Conv -> Add -> BatchNormalization
     * and Conv -> Mul -> Add chains fold one step per sweep */
    onnxq_status st = ONNXQ_OK;
    for (size_t before = SIZE_MAX;
         st == ONNXQ_OK && before != r->mul_add_folded + r->bn_folded;) {
        before = r->mul_add_folded + r->bn_folded;
        st = oq_opt_each_graph(g, fold_bn_graph, &c, err);
        if (st == ONNXQ_OK)
            st = oq_opt_each_graph(g, fold_muladd_graph, &c, err);
    }
    oq_opt_names_clear(&c.names);
    return st;
}
