/*
 * infer_norm.c — inference for reductions (Reduce*, ArgMax, ArgMin), the
 * softmax family and normalisations: BatchNormalization, Instance/Layer/
 * Group/Lp/MeanVariance normalisation, LRN, SimplifiedLayerNormalization
 * and the com.microsoft LayerNormalization, SkipLayerNormalization
 * variants.
 *
 * Reduction axes come from the attribute (ReduceSum before 13, the others
 * before 18) or the axes input; unknown axes with keepdims leave the rank
 * known and every dim unknown.  ReduceSum/Prod/Max/Min over all of a small
 * known tensor also compute its contents (ReduceProd of a Shape slice is
 * how exporters count frames).
 */
#include <string.h>

#include "infer_internal.h"

static onnxq_status r_reduce(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    const char *op = c->node->op_type;
    out->elem = x->elem;
    int axes_input_from = strcmp(op, "ReduceSum") == 0 ? 13 : 18;
    int keep = oq_attr_i(c, "keepdims", 1) != 0;
    int64_t axes[OQ_INF_MAX_RANK];
    int n = 0, known = 1;
    if (c->opset < axes_input_from) {
        const int64_t *v;
        long k = oq_attr_is(c, "axes", &v);
        if (k > OQ_INF_MAX_RANK)
            known = 0;
        else if (k > 0) {
            n = (int)k;
            memcpy(axes, v, (size_t)n * sizeof *v);
        }
    } else if (oq_input(c, 1)) {
        n = oq_in_ints(c, 1, axes, OQ_INF_MAX_RANK);
        if (n < 0)
            known = 0;
    }
    if (x->rank < 0)
        return ONNXQ_OK;
    if (!known) {
        if (keep) {
            out->rank = x->rank;
            for (int i = 0; i < x->rank; i++)
                out->dims[i] = oq_dunk();
        }
        return ONNXQ_OK;
    }
    if (n == 0 && c->opset >= axes_input_from &&
        oq_attr_i(c, "noop_with_empty_axes", 0)) {
        return oq_ty_copy(out, x) ? oq_inf_oom(c->inf) : ONNXQ_OK;
    }
    int red[OQ_INF_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int a = oq_norm_axis(axes[i], x->rank);
        if (a < 0) {
            oq_conflict(c, "axis %lld is out of range for rank %d",
                        (long long)axes[i], x->rank);
            return ONNXQ_OK;
        }
        red[a] = 1;
    }
    int all = 1;
    out->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (n == 0)
            red[i] = 1;
        all &= red[i];
        if (!red[i])
            out->dims[out->rank++] = x->dims[i];
        else if (keep)
            out->dims[out->rank++] = oq_dval(1);
    }
    /* contents of a full reduction of a small integer tensor */
    if (!all || x->n_val < 1 || !x->ival)
        return ONNXQ_OK;
    int prod = strcmp(op, "ReduceProd") == 0, sum = strcmp(op, "ReduceSum") == 0;
    int mx = strcmp(op, "ReduceMax") == 0, mn = strcmp(op, "ReduceMin") == 0;
    if (!prod && !sum && !mx && !mn)
        return ONNXQ_OK;
    oq_dim acc = x->ival[0];
    for (int i = 1; i < x->n_val; i++) {
        oq_dim b = x->ival[i];
        if (prod)
            acc = oq_dim_mul(c->inf, acc, b);
        else if (sum)
            acc = oq_dim_add(c->inf, acc, b);
        else if (acc.kind == OQ_DIM_VALUE && b.kind == OQ_DIM_VALUE)
            acc = oq_dval(mx ? (acc.v > b.v ? acc.v : b.v)
                             : (acc.v < b.v ? acc.v : b.v));
        else
            acc = oq_dim_same(&acc, &b) ? acc : oq_dunk();
    }
    return oq_ty_set_ivals(out, &acc, 1) ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

static onnxq_status r_arg(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT64;
    if (!x || x->rank < 0)
        return ONNXQ_OK;
    int a = oq_norm_axis(oq_attr_i(c, "axis", 0), x->rank);
    if (a < 0)
        return ONNXQ_OK;
    int keep = oq_attr_i(c, "keepdims", 1) != 0;
    out->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != a)
            out->dims[out->rank++] = x->dims[i];
        else if (keep)
            out->dims[out->rank++] = oq_dval(1);
    }
    return ONNXQ_OK;
}

static onnxq_status r_like_x(oq_ictx *c)
{
    oq_same_shape(oq_output(c, 0), oq_input(c, 0));
    return ONNXQ_OK;
}

static onnxq_status r_batch_norm(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    oq_same_shape(oq_output(c, 0), x);
    /* training outputs: running (or saved) mean and variance, shaped like
     * the statistics inputs */
    for (size_t o = 1; o < c->n_out; o++) {
        const oq_ty *stat = oq_input(c, o == 2 || o == 4 ? 4 : 3);
        oq_same_shape(&c->out[o], stat);
        if (!c->out[o].elem && x)
            c->out[o].elem = x->elem;
    }
    return ONNXQ_OK;
}

/* LayerNormalization-like: Y like X; statistics [X[:axis], 1...] of the
 * stash type.  skip: the com.microsoft Skip* ops (axis -1, statistics
 * float, output 3 the sum, like X). */
static onnxq_status layer_norm(oq_ictx *c, int skip)
{
    const oq_ty *x = oq_input(c, 0);
    if (!x)
        return ONNXQ_OK;
    oq_same_shape(oq_output(c, 0), x);
    int32_t stash = skip ? OQ_T_FLOAT : (int32_t)oq_attr_i(c, "stash_type",
                                                          OQ_T_FLOAT);
    int axis = -1;
    if (x->rank >= 0)
        axis = oq_norm_axis(skip ? -1 : oq_attr_i(c, "axis", -1), x->rank);
    for (size_t o = 1; o < c->n_out; o++) {
        oq_ty *t = &c->out[o];
        if (skip && o == 3) {
            oq_same_shape(t, x);
            continue;
        }
        t->elem = stash;
        if (axis < 0)
            continue;
        t->rank = x->rank;
        for (int i = 0; i < x->rank; i++)
            t->dims[i] = i < axis ? x->dims[i] : oq_dval(1);
    }
    return ONNXQ_OK;
}

static onnxq_status r_layer_norm(oq_ictx *c) { return layer_norm(c, 0); }
static onnxq_status r_skip_layer_norm(oq_ictx *c) { return layer_norm(c, 1); }

const oq_infer_rule oq_infer_norm_rules[] = {
    {"", "ReduceSum", 1, 21, r_reduce},
    {"", "ReduceMean", 1, 21, r_reduce},
    {"", "ReduceMax", 1, 21, r_reduce},
    {"", "ReduceMin", 1, 21, r_reduce},
    {"", "ReduceProd", 1, 21, r_reduce},
    {"", "ReduceL1", 1, 21, r_reduce},
    {"", "ReduceL2", 1, 21, r_reduce},
    {"", "ReduceLogSum", 1, 21, r_reduce},
    {"", "ReduceLogSumExp", 1, 21, r_reduce},
    {"", "ReduceSumSquare", 1, 21, r_reduce},
    {"", "ArgMax", 1, 21, r_arg},
    {"", "ArgMin", 1, 21, r_arg},
    {"", "Softmax", 1, 21, r_like_x},
    {"", "LogSoftmax", 1, 21, r_like_x},
    {"", "Hardmax", 1, 21, r_like_x},
    {"", "BatchNormalization", 1, 21, r_batch_norm},
    {"", "InstanceNormalization", 1, 21, r_like_x},
    {"", "LayerNormalization", 17, 21, r_layer_norm},
    {"", "GroupNormalization", 18, 21, r_like_x},
    {"", "LpNormalization", 1, 21, r_like_x},
    {"", "MeanVarianceNormalization", 9, 21, r_like_x},
    {"", "LRN", 1, 21, r_like_x},
    {"", "SimplifiedLayerNormalization", 1, 21, r_layer_norm},
    {"com.microsoft", "LayerNormalization", 1, 1, r_layer_norm},
    {"com.microsoft", "SimplifiedLayerNormalization", 1, 1, r_layer_norm},
    {"com.microsoft", "SkipLayerNormalization", 1, 1, r_skip_layer_norm},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", 1, 1,
     r_skip_layer_norm},
    {NULL, NULL, 0, 0, NULL},
};
