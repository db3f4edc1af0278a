/*
 * infer_shape_ops.c — inference for the ops that move data around or make
 * shapes: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
 * DepthToSpace, SpaceToDepth, Concat, Split, Slice, Gather(Elements/ND),
 * Compress, NonZero, TopK, Unique, Scatter*, Expand, Tile, Pad, Range,
 * ConstantOfShape, Constant, OneHot, EyeLike, Trilu, CumSum,
 * ReverseSequence, CenterCropPad.
 *
 * These are where constant propagation pays: Shape gives its input's dims
 * as contents (symbolic ones included), Gather/Slice/Concat/Squeeze/
 * Unsqueeze/Reshape carry small contents along, and Reshape, Expand, Tile,
 * Pad, ConstantOfShape, Range, Slice, TopK read their shape-like inputs
 * from them.  Data-dependent sizes (NonZero, Unique, Compress with an
 * unknown condition) stay unknown.
 *
 * One assumption beyond the spec's letter: a Slice of a symbolic dim A
 * from a start s >= 0 (or to an end -e) is taken to keep A - s (A - e - s)
 * elements, not clamped at 0 — the same reading ONNX Runtime's symbolic
 * shape inference makes; A smaller than s would make an empty tensor.
 */
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"

#define TO_END ((int64_t)1 << 30) /* an end this large means "to the end" */

static onnxq_status oom_if(oq_ictx *c, int rc)
{
    return rc ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

/* Passes x's contents to out if out's numel matches (same element order). */
static onnxq_status pass_vals(oq_ictx *c, oq_ty *out, const oq_ty *x)
{
    if (!x || x->n_val < 0 || oq_ty_numel(out) != x->n_val)
        return ONNXQ_OK;
    return oom_if(c, x->ival ? oq_ty_set_ivals(out, x->ival, x->n_val)
                             : oq_ty_set_fvals(out, x->fval, x->n_val));
}

/* Axes from the attribute (opsets before `input_from`) or input i. */
static int read_axes(oq_ictx *c, int input_from, size_t i, int64_t *axes,
                     int max, int *given)
{
    *given = 0;
    if (c->opset < input_from) {
        const int64_t *v;
        long n = oq_attr_is(c, "axes", &v);
        if (n < 0)
            return 0;
        *given = 1;
        if (n > max)
            return -1;
        memcpy(axes, v, (size_t)n * sizeof *v);
        return (int)n;
    }
    if (!oq_input(c, i))
        return 0;
    *given = 1;
    return oq_in_ints(c, i, axes, max);
}

/* ---- Shape, Size --------------------------------------------------------- */

static onnxq_status r_shape(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT64;
    out->rank = 1;
    out->dims[0] = oq_dunk();
    if (!x || x->rank < 0)
        return ONNXQ_OK;
    int64_t r = x->rank, start = oq_attr_i(c, "start", 0),
            end = oq_attr_i(c, "end", r);
    if (c->opset < 15)
        start = 0, end = r;
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t n = end > start ? end - start : 0;
    out->dims[0] = oq_dval(n);
    return oom_if(c, oq_ty_set_ivals(out, x->dims + start, (int)n));
}

static onnxq_status r_size(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT64;
    out->rank = 0;
    if (!x)
        return ONNXQ_OK;
    oq_dim n = oq_ty_numel_dim(c->inf, x);
    return oom_if(c, oq_ty_set_ivals(out, &n, 1));
}

/* ---- Reshape, Flatten ---------------------------------------------------- */

/* A product of dims as a known factor times symbolic factors. */
typedef struct product {
    int64_t k;
    oq_dim sym[OQ_INF_MAX_RANK];
    int n_sym;
    int ok;
} product;

static void prod_init(product *p)
{
    p->k = 1;
    p->n_sym = 0;
    p->ok = 1;
}

static void prod_add(product *p, const oq_dim *d)
{
    if (d->kind == OQ_DIM_VALUE) {
        if (d->v && p->k > INT64_MAX / (d->v > 0 ? d->v : 1))
            p->ok = 0;
        else
            p->k *= d->v;
    } else if (d->kind == OQ_DIM_SYM && p->n_sym < OQ_INF_MAX_RANK) {
        p->sym[p->n_sym++] = *d;
    } else {
        p->ok = 0;
    }
}

/* total / part, exactly, or unknown. */
static oq_dim prod_div(oq_inf *inf, product *total, const product *part)
{
    if (!total->ok || !part->ok || part->k == 0)
        return oq_dunk();
    int used[OQ_INF_MAX_RANK] = {0};
    for (int i = 0; i < part->n_sym; i++) {
        int found = 0;
        for (int j = 0; j < total->n_sym && !found; j++)
            if (!used[j] && oq_dim_same(&total->sym[j], &part->sym[i]))
                used[j] = found = 1;
        if (!found)
            return oq_dunk();
    }
    if (total->k % part->k != 0)
        return oq_dunk();
    oq_dim r = oq_dval(total->k / part->k);
    for (int j = 0; j < total->n_sym; j++)
        if (!used[j])
            r = oq_dim_mul(inf, r, total->sym[j]);
    return r;
}

static onnxq_status r_reshape(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    oq_dim v[OQ_INF_MAX_RANK];
    int n = oq_in_dims(c, 1, v, OQ_INF_MAX_RANK);
    if (n < 0) {
        int64_t len = oq_in_len(c, 1);
        if (len >= 0 && len <= OQ_INF_MAX_RANK) {
            out->rank = (int)len;
            for (int i = 0; i < len; i++)
                out->dims[i] = oq_dunk();
        }
        return ONNXQ_OK;
    }
    int allowzero = c->opset >= 14 && oq_attr_i(c, "allowzero", 0) != 0;
    int infer_at = -1;
    out->rank = n;
    for (int i = 0; i < n; i++) {
        oq_dim e = v[i];
        out->dims[i] = oq_dunk();
        if (e.kind == OQ_DIM_VALUE) {
            if (e.v > 0 || (e.v == 0 && allowzero))
                out->dims[i] = e;
            else if (e.v == 0)
                out->dims[i] = x->rank > i ? x->dims[i] : oq_dunk();
            else if (e.v == -1 && infer_at < 0)
                infer_at = i;
            else {
                oq_conflict(c, "shape element %d is %lld", i, (long long)e.v);
                out->rank = -1;
                return ONNXQ_OK;
            }
        } else if (e.kind == OQ_DIM_SYM && oq_dim_nonneg(&e)) {
            /* a size taken from a Shape: the dim itself (a size of 0 would
             * copy the input dim, which that symbol also describes) */
            out->dims[i] = e;
        }
    }
    if (infer_at >= 0 && x->rank >= 0) {
        product total, part;
        prod_init(&total);
        prod_init(&part);
        for (int i = 0; i < x->rank; i++)
            prod_add(&total, &x->dims[i]);
        for (int i = 0; i < n; i++)
            if (i != infer_at)
                prod_add(&part, &out->dims[i]);
        out->dims[infer_at] = prod_div(c->inf, &total, &part);
    }
    return pass_vals(c, out, x);
}

static onnxq_status r_flatten(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    out->rank = 2;
    out->dims[0] = out->dims[1] = oq_dunk();
    if (x->rank < 0)
        return ONNXQ_OK;
    int64_t axis = oq_attr_i(c, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank) {
        oq_conflict(c, "axis %lld is out of range for rank %d",
                    (long long)oq_attr_i(c, "axis", 1), x->rank);
        return ONNXQ_OK;
    }
    oq_dim a = oq_dval(1), b = oq_dval(1);
    for (int i = 0; i < x->rank; i++) {
        if (i < axis)
            a = oq_dim_mul(c->inf, a, x->dims[i]);
        else
            b = oq_dim_mul(c->inf, b, x->dims[i]);
    }
    out->dims[0] = a;
    out->dims[1] = b;
    return pass_vals(c, out, x);
}

/* ---- Squeeze, Unsqueeze, Transpose --------------------------------------- */

static onnxq_status r_squeeze(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    int64_t axes[OQ_INF_MAX_RANK];
    int given, n = read_axes(c, 13, 1, axes, OQ_INF_MAX_RANK, &given);
    if (x->rank < 0 || n < 0)
        return ONNXQ_OK;
    int drop[OQ_INF_MAX_RANK] = {0};
    if (given && n > 0) {
        for (int i = 0; i < n; i++) {
            int a = oq_norm_axis(axes[i], x->rank);
            if (a < 0) {
                oq_conflict(c, "axis %lld is out of range for rank %d",
                            (long long)axes[i], x->rank);
                return ONNXQ_OK;
            }
            if (x->dims[a].kind == OQ_DIM_VALUE && x->dims[a].v != 1)
                oq_conflict(c, "squeezed axis %d has size %lld", a,
                            (long long)x->dims[a].v);
            drop[a] = 1;
        }
    } else {
        /* every dim of size 1: only knowable if every dim is known */
        for (int i = 0; i < x->rank; i++) {
            if (x->dims[i].kind != OQ_DIM_VALUE)
                return ONNXQ_OK;
            drop[i] = x->dims[i].v == 1;
        }
    }
    out->rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            out->dims[out->rank++] = x->dims[i];
    return pass_vals(c, out, x);
}

static onnxq_status r_unsqueeze(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    int64_t axes[OQ_INF_MAX_RANK];
    int given, n = read_axes(c, 13, 1, axes, OQ_INF_MAX_RANK, &given);
    if (x->rank < 0 || n < 0 || !given)
        return ONNXQ_OK;
    int r = x->rank + n;
    if (r > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    int ins[OQ_INF_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int a = oq_norm_axis(axes[i], r);
        if (a < 0 || ins[a]) {
            oq_conflict(c, "axes are out of range or repeated for rank %d", r);
            return ONNXQ_OK;
        }
        ins[a] = 1;
    }
    out->rank = r;
    for (int i = 0, k = 0; i < r; i++)
        out->dims[i] = ins[i] ? oq_dval(1) : x->dims[k++];
    return pass_vals(c, out, x);
}

static onnxq_status r_transpose(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    const int64_t *perm;
    long n = oq_attr_is(c, "perm", &perm);
    if (n >= 0 && n != x->rank) {
        oq_conflict(c, "perm has %ld entries for rank %d", n, x->rank);
        return ONNXQ_OK;
    }
    int seen[OQ_INF_MAX_RANK] = {0};
    out->rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        int64_t p = n >= 0 ? perm[i] : x->rank - 1 - i;
        int a = oq_norm_axis(p, x->rank);
        if (a < 0 || seen[a]) {
            oq_conflict(c, "perm is not a permutation of %d axes", x->rank);
            out->rank = -1;
            return ONNXQ_OK;
        }
        seen[a] = 1;
        out->dims[i] = x->dims[a];
    }
    if (x->rank <= 1)
        return pass_vals(c, out, x);
    return ONNXQ_OK;
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------ */

static onnxq_status depth_space(oq_ictx *c, int to_space)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank != 4)
        return ONNXQ_OK;
    int64_t b = oq_attr_i(c, "blocksize", 0);
    if (b < 1)
        return ONNXQ_OK;
    out->rank = 4;
    out->dims[0] = x->dims[0];
    if (to_space) {
        /* the spec requires C divisible by b*b: the floor is exact */
        out->dims[1] = oq_dim_floordiv(x->dims[1], b * b);
        out->dims[2] = oq_dim_mulk(x->dims[2], b);
        out->dims[3] = oq_dim_mulk(x->dims[3], b);
    } else {
        out->dims[1] = oq_dim_mulk(x->dims[1], b * b);
        out->dims[2] = oq_dim_floordiv(x->dims[2], b);
        out->dims[3] = oq_dim_floordiv(x->dims[3], b);
    }
    return ONNXQ_OK;
}

static onnxq_status r_depth_to_space(oq_ictx *c) { return depth_space(c, 1); }
static onnxq_status r_space_to_depth(oq_ictx *c) { return depth_space(c, 0); }

/* ---- Concat, Split ------------------------------------------------------- */

/* Unifies two dims that a valid model makes equal: known wins, then
 * symbolic; two different known values are a conflict (unknown). */
static oq_dim unify(oq_ictx *c, oq_dim a, oq_dim b, const char *what)
{
    if (a.kind == OQ_DIM_UNKNOWN)
        return b;
    if (b.kind == OQ_DIM_UNKNOWN)
        return a;
    if (oq_dim_differ(&a, &b)) {
        oq_conflict(c, "%s: %lld and %lld differ", what, (long long)a.v,
                    (long long)b.v);
        return oq_dunk();
    }
    return a.kind == OQ_DIM_VALUE ? a : b;
}

static onnxq_status concat_of(oq_ictx *c, const oq_ty *const *ins, size_t n,
                              int64_t axis_attr, oq_ty *out)
{
    int rank = -1;
    for (size_t i = 0; i < n; i++)
        if (ins[i] && ins[i]->rank >= 0) {
            if (rank >= 0 && ins[i]->rank != rank) {
                oq_conflict(c, "inputs have ranks %d and %d", rank,
                            ins[i]->rank);
                return ONNXQ_OK;
            }
            rank = ins[i]->rank;
        }
    if (rank < 0)
        return ONNXQ_OK;
    int axis = oq_norm_axis(axis_attr, rank);
    if (axis < 0) {
        oq_conflict(c, "axis %lld is out of range for rank %d",
                    (long long)axis_attr, rank);
        return ONNXQ_OK;
    }
    out->rank = rank;
    oq_dim sum = oq_dval(0);
    for (int d = 0; d < rank; d++)
        out->dims[d] = oq_dunk();
    int vals_ok = rank == 1;
    int total = 0, is_f = -1;
    for (size_t i = 0; i < n; i++) {
        const oq_ty *t = ins[i];
        if (!t || t->rank < 0) {
            sum = oq_dunk();
            vals_ok = 0;
            continue;
        }
        for (int d = 0; d < rank; d++)
            if (d != axis)
                out->dims[d] = unify(c, out->dims[d], t->dims[d],
                                     "a non-concatenated dim");
        sum = oq_dim_add(c->inf, sum, t->dims[axis]);
        if (t->n_val < 0 || (is_f >= 0 && is_f != (t->fval != NULL)))
            vals_ok = 0;
        else {
            is_f = t->fval != NULL;
            total += t->n_val;
        }
    }
    out->dims[axis] = sum;
    if (!vals_ok || total > OQ_INF_MAX_VAL || is_f < 0)
        return ONNXQ_OK;
    oq_dim iv[OQ_INF_MAX_VAL];
    double fv[OQ_INF_MAX_VAL];
    int k = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < ins[i]->n_val; j++, k++) {
            if (is_f)
                fv[k] = ins[i]->fval[j];
            else
                iv[k] = ins[i]->ival[j];
        }
    return oom_if(c, is_f ? oq_ty_set_fvals(out, fv, k)
                          : oq_ty_set_ivals(out, iv, k));
}

static onnxq_status r_concat(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t zero = 0;
    out->elem = oq_first_elem(c, &zero, 1);
    for (size_t i = 1; !out->elem && i < c->n_in; i++)
        out->elem = oq_first_elem(c, &i, 1);
    if (!oq_attr_get(c, "axis"))
        return ONNXQ_OK;
    return concat_of(c, c->in, c->n_in, oq_attr_i(c, "axis", 0), out);
}

static onnxq_status r_split(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    if (!x)
        return ONNXQ_OK;
    size_t n = c->n_out;
    for (size_t o = 0; o < n; o++)
        c->out[o].elem = x->elem;
    if (x->rank < 0 || n == 0)
        return ONNXQ_OK;
    int axis = oq_norm_axis(oq_attr_i(c, "axis", 0), x->rank);
    if (axis < 0) {
        oq_conflict(c, "axis is out of range for rank %d", x->rank);
        return ONNXQ_OK;
    }
    oq_dim sizes[OQ_INF_MAX_VAL];
    int64_t sv[OQ_INF_MAX_VAL];
    const int64_t *sa;
    long na = c->opset < 13 ? oq_attr_is(c, "split", &sa) : -1;
    int given = na >= 0 || (c->opset >= 13 && oq_input(c, 1));
    oq_dim D = x->dims[axis];
    if (n > OQ_INF_MAX_VAL)
        return ONNXQ_OK;
    if (given) {
        int k = na >= 0 ? (int)na : oq_in_ints(c, 1, sv, OQ_INF_MAX_VAL);
        for (size_t o = 0; o < n; o++)
            sizes[o] = k == (int)n ? oq_dval(na >= 0 ? sa[o] : sv[o])
                                   : oq_dunk();
    } else if (c->opset >= 18) {
        /* ceil(D / n) each, the last one what is left */
        oq_dim chunk = oq_dim_ceildiv(D, (int64_t)n);
        for (size_t o = 0; o + 1 < n; o++)
            sizes[o] = chunk;
        /* the last part, D - (n-1) ceil(D/n), has no symbolic form */
        sizes[n - 1] = D.kind == OQ_DIM_VALUE && chunk.kind == OQ_DIM_VALUE
                           ? oq_dval(D.v - chunk.v * (int64_t)(n - 1))
                       : n == 1 ? D : oq_dunk();
    } else {
        if (D.kind == OQ_DIM_VALUE && D.v % (int64_t)n != 0)
            oq_conflict(c, "axis of size %lld does not split into %zu equal "
                        "parts", (long long)D.v, n);
        /* the spec requires an even split: the floor is exact */
        oq_dim part = oq_dim_floordiv(D, (int64_t)n);
        for (size_t o = 0; o < n; o++)
            sizes[o] = part;
    }
    int64_t off = 0;
    for (size_t o = 0; o < n; o++) {
        oq_ty *out = &c->out[o];
        oq_ty_copy_shape(out, x);
        out->dims[axis] = sizes[o];
        /* 1-D contents split too (shape vectors cut in parts) */
        if (x->rank == 1 && x->n_val >= 0 && off >= 0 &&
            sizes[o].kind == OQ_DIM_VALUE && off + sizes[o].v <= x->n_val) {
            int rc = x->ival ? oq_ty_set_ivals(out, x->ival + off, (int)sizes[o].v)
                             : oq_ty_set_fvals(out, x->fval + off, (int)sizes[o].v);
            if (rc)
                return oq_inf_oom(c->inf);
            off += sizes[o].v;
        } else {
            off = -1;
        }
    }
    return ONNXQ_OK;
}

/* ---- Slice --------------------------------------------------------------- */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Elements a slice keeps of an axis of size D (known). */
static int64_t slice_len(int64_t D, int64_t start, int64_t end, int64_t step,
                         int64_t *first)
{
    if (start < 0)
        start += D;
    if (end < 0)
        end += D;
    if (step > 0) {
        start = clamp64(start, 0, D);
        end = clamp64(end, 0, D);
        *first = start;
        return end > start ? (end - start + step - 1) / step : 0;
    }
    start = clamp64(start, 0, D - 1);
    end = clamp64(end, -1, D - 1);
    *first = start;
    return start > end ? (start - end + (-step) - 1) / (-step) : 0;
}

/* The same for a symbolic size, where exactly expressible. */
static oq_dim slice_sym(oq_dim D, int64_t start, int64_t end, int64_t step)
{
    if (step <= 0)
        return oq_dunk();
    if (start >= 0 && end >= TO_END)
        return oq_dim_ceildiv(oq_dim_addk(D, -start), step);
    if (step == 1 && start >= 0 && end < 0 && end > -TO_END)
        return oq_dim_addk(D, end - start);
    return oq_dunk();
}

static onnxq_status r_slice(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    int r = x->rank;
    int64_t starts[OQ_INF_MAX_RANK], ends[OQ_INF_MAX_RANK],
        axes[OQ_INF_MAX_RANK], steps[OQ_INF_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    oq_ty_copy_shape(out, x);
    if (c->opset < 10) {
        const int64_t *v;
        long k;
        ns = (k = oq_attr_is(c, "starts", &v)) >= 0 && k <= r ? (int)k : -1;
        if (ns >= 0)
            memcpy(starts, v, (size_t)ns * sizeof *v);
        ne = (k = oq_attr_is(c, "ends", &v)) >= 0 && k <= r ? (int)k : -1;
        if (ne >= 0)
            memcpy(ends, v, (size_t)ne * sizeof *v);
        if ((k = oq_attr_is(c, "axes", &v)) >= 0 && k <= r) {
            na = (int)k;
            memcpy(axes, v, (size_t)na * sizeof *v);
        }
    } else {
        ns = oq_in_ints(c, 1, starts, r);
        ne = oq_in_ints(c, 2, ends, r);
        if (oq_input(c, 3)) {
            na = oq_in_ints(c, 3, axes, r);
            if (na < 0)
                goto all_unknown;
        }
        if (oq_input(c, 4)) {
            nst = oq_in_ints(c, 4, steps, r);
            if (nst < 0)
                goto all_unknown;
        }
    }
    if (ns < 0 || ne < 0 || ns != ne || (na >= 0 && na != ns) ||
        (nst >= 0 && nst != ns))
        goto all_unknown;
    int64_t first[OQ_INF_MAX_RANK] = {0}, step_of[OQ_INF_MAX_RANK];
    int sliced[OQ_INF_MAX_RANK] = {0};
    for (int i = 0; i < r; i++)
        step_of[i] = 1;
    for (int i = 0; i < ns; i++) {
        int a = oq_norm_axis(na >= 0 ? axes[i] : i, r);
        int64_t st = nst >= 0 ? steps[i] : 1;
        if (a < 0 || sliced[a] || st == 0) {
            oq_conflict(c, "axes or steps are invalid");
            goto all_unknown;
        }
        sliced[a] = 1;
        step_of[a] = st;
        const oq_dim *D = &x->dims[a];
        if (D->kind == OQ_DIM_VALUE)
            out->dims[a] = oq_dval(slice_len(D->v, starts[i], ends[i], st,
                                             &first[a]));
        else if (D->kind == OQ_DIM_SYM)
            out->dims[a] = slice_sym(*D, starts[i], ends[i], st);
        else
            out->dims[a] = oq_dunk();
    }
    /* contents of a sliced vector */
    if (r == 1 && x->n_val >= 0 && out->dims[0].kind == OQ_DIM_VALUE) {
        int64_t len = out->dims[0].v;
        oq_dim iv[OQ_INF_MAX_VAL];
        double fv[OQ_INF_MAX_VAL];
        for (int64_t k = 0; k < len; k++) {
            int64_t src = first[0] + k * step_of[0];
            if (src < 0 || src >= x->n_val)
                return ONNXQ_OK;
            if (x->ival)
                iv[k] = x->ival[src];
            else
                fv[k] = x->fval[src];
        }
        return oom_if(c, x->ival ? oq_ty_set_ivals(out, iv, (int)len)
                                 : oq_ty_set_fvals(out, fv, (int)len));
    }
    return ONNXQ_OK;
all_unknown:
    /* which axes are sliced is not known: only the rank is */
    for (int i = 0; i < r; i++)
        out->dims[i] = oq_dunk();
    return ONNXQ_OK;
}

/* ---- Gather family ------------------------------------------------------- */

static onnxq_status r_gather(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *idx = oq_input(c, 1);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0 || !idx || idx->rank < 0)
        return ONNXQ_OK;
    int axis = oq_norm_axis(oq_attr_i(c, "axis", 0), x->rank);
    if (axis < 0) {
        oq_conflict(c, "axis is out of range for rank %d", x->rank);
        return ONNXQ_OK;
    }
    int r = x->rank - 1 + idx->rank;
    if (r > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    out->rank = 0;
    for (int i = 0; i < axis; i++)
        out->dims[out->rank++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        out->dims[out->rank++] = idx->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        out->dims[out->rank++] = x->dims[i];
    /* picking elements of a vector (a shape) */
    int64_t iv[OQ_INF_MAX_VAL];
    int ni = oq_in_ints(c, 1, iv, OQ_INF_MAX_VAL);
    if (x->rank != 1 || x->n_val < 0 || ni < 0 || oq_ty_numel(out) != ni)
        return ONNXQ_OK;
    oq_dim v[OQ_INF_MAX_VAL];
    double f[OQ_INF_MAX_VAL];
    for (int i = 0; i < ni; i++) {
        int64_t k = iv[i] < 0 ? iv[i] + x->n_val : iv[i];
        if (k < 0 || k >= x->n_val) {
            oq_conflict(c, "index %lld is out of range for %d elements",
                        (long long)iv[i], x->n_val);
            return ONNXQ_OK;
        }
        if (x->ival)
            v[i] = x->ival[k];
        else
            f[i] = x->fval[k];
    }
    return oom_if(c, x->ival ? oq_ty_set_ivals(out, v, ni)
                             : oq_ty_set_fvals(out, f, ni));
}

static onnxq_status r_gather_elements(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *idx = oq_input(c, 1);
    if (!out)
        return ONNXQ_OK;
    out->elem = x ? x->elem : 0;
    if (idx)
        oq_ty_copy_shape(out, idx);
    return ONNXQ_OK;
}

static onnxq_status r_gather_nd(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0), *idx = oq_input(c, 1);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0 || !idx || idx->rank < 1)
        return ONNXQ_OK;
    int64_t b = oq_attr_i(c, "batch_dims", 0);
    const oq_dim *last = &idx->dims[idx->rank - 1];
    if (last->kind != OQ_DIM_VALUE || b < 0 || b + last->v > x->rank)
        return ONNXQ_OK;
    int r = idx->rank - 1 + x->rank - (int)(b + last->v);
    if (r > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    out->rank = 0;
    for (int i = 0; i < idx->rank - 1; i++)
        out->dims[out->rank++] = idx->dims[i];
    for (int i = (int)(b + last->v); i < x->rank; i++)
        out->dims[out->rank++] = x->dims[i];
    return ONNXQ_OK;
}

static onnxq_status r_compress(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    /* the kept count, when the condition is known */
    oq_dim count = oq_dunk();
    int64_t cv[OQ_INF_MAX_VAL];
    int nc = oq_in_ints(c, 1, cv, OQ_INF_MAX_VAL);
    const Onnx__AttributeProto *ax = oq_attr_get(c, "axis");
    oq_dim len = ax ? (x->rank >= 0 && oq_norm_axis(ax->i, x->rank) >= 0
                           ? x->dims[oq_norm_axis(ax->i, x->rank)] : oq_dunk())
                    : oq_ty_numel_dim(c->inf, x);
    if (nc >= 0 && len.kind == OQ_DIM_VALUE && nc <= len.v) {
        int64_t k = 0;
        for (int i = 0; i < nc; i++)
            k += cv[i] != 0;
        count = oq_dval(k);
    }
    if (!ax) {
        out->rank = 1;
        out->dims[0] = count;
        return ONNXQ_OK;
    }
    if (x->rank < 0)
        return ONNXQ_OK;
    int a = oq_norm_axis(ax->i, x->rank);
    if (a < 0)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, x);
    out->dims[a] = count;
    return ONNXQ_OK;
}

static onnxq_status r_nonzero(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = OQ_T_INT64;
    out->rank = 2;
    out->dims[0] = x && x->rank >= 0 ? oq_dval(x->rank) : oq_dunk();
    out->dims[1] = oq_dunk(); /* the count depends on the data */
    return ONNXQ_OK;
}

static onnxq_status r_topk(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    oq_ty *vals = oq_output(c, 0), *idx = oq_output(c, 1);
    if (idx)
        idx->elem = OQ_T_INT64;
    if (!x)
        return ONNXQ_OK;
    if (vals)
        vals->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    int axis = oq_norm_axis(oq_attr_i(c, "axis", -1), x->rank);
    if (axis < 0)
        return ONNXQ_OK;
    oq_dim k = oq_dunk();
    if (c->opset < 10) {
        k = oq_dval(oq_attr_i(c, "k", 0));
    } else {
        oq_dim kv[1];
        if (oq_in_dims(c, 1, kv, 1) == 1 && oq_dim_nonneg(&kv[0]))
            k = kv[0];
    }
    for (int o = 0; o < 2; o++) {
        oq_ty *t = o ? idx : vals;
        if (!t)
            continue;
        oq_ty_copy_shape(t, x);
        t->dims[axis] = k;
    }
    return ONNXQ_OK;
}

static onnxq_status r_unique(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    const Onnx__AttributeProto *ax = oq_attr_get(c, "axis");
    for (size_t o = 0; o < c->n_out; o++) {
        oq_ty *t = &c->out[o];
        t->elem = o == 0 ? (x ? x->elem : 0) : OQ_T_INT64;
        t->rank = 1;
        t->dims[0] = oq_dunk(); /* the unique count depends on the data */
    }
    if (!x)
        return ONNXQ_OK;
    int a = ax && x->rank >= 0 ? oq_norm_axis(ax->i, x->rank) : -1;
    if (ax && c->n_out > 0) {
        c->out[0].rank = -1;
        if (a >= 0) {
            oq_ty_copy_shape(&c->out[0], x);
            c->out[0].dims[a] = oq_dunk();
        }
    }
    if (c->n_out > 2)
        c->out[2].dims[0] = ax ? (a >= 0 ? x->dims[a] : oq_dunk())
                               : oq_ty_numel_dim(c->inf, x);
    return ONNXQ_OK;
}

static onnxq_status r_like_input0(oq_ictx *c)
{
    oq_same_shape(oq_output(c, 0), oq_input(c, 0));
    return ONNXQ_OK;
}

/* ---- Expand, Tile, Pad --------------------------------------------------- */

static onnxq_status r_expand(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    oq_ty shape;
    oq_ty_init(&shape);
    oq_dim v[OQ_INF_MAX_RANK];
    int n = oq_in_dims(c, 1, v, OQ_INF_MAX_RANK);
    if (n < 0) {
        int64_t len = oq_in_len(c, 1);
        if (len < 0 || len > OQ_INF_MAX_RANK || x->rank < 0)
            return ONNXQ_OK;
        n = (int)len;
        for (int i = 0; i < n; i++)
            v[i] = oq_dunk();
    }
    oq_ty_set_shape(&shape, n, v);
    const oq_ty *both[2] = {x, &shape};
    oq_broadcast(c, both, 2, &out->rank, out->dims);
    return ONNXQ_OK;
}

static onnxq_status r_tile(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, x);
    oq_dim rep[OQ_INF_MAX_RANK];
    int n = oq_in_dims(c, 1, rep, OQ_INF_MAX_RANK);
    for (int i = 0; i < x->rank; i++)
        out->dims[i] = n == x->rank ? oq_dim_mul(c->inf, x->dims[i], rep[i])
                                    : oq_dunk();
    return ONNXQ_OK;
}

static onnxq_status r_pad(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    int r = x->rank;
    oq_ty_copy_shape(out, x);
    int64_t pads[2 * OQ_INF_MAX_RANK], axes[OQ_INF_MAX_RANK];
    int np, na = -1;
    if (c->opset < 11) {
        const int64_t *v;
        long k = oq_attr_is(c, "pads", &v);
        np = k >= 0 && k <= 2 * r ? (int)k : -1;
        if (np > 0)
            memcpy(pads, v, (size_t)np * sizeof *v);
    } else {
        np = oq_in_ints(c, 1, pads, 2 * r);
        if (c->opset >= 18 && oq_input(c, 3))
            na = oq_in_ints(c, 3, axes, r);
        if (c->opset >= 18 && oq_input(c, 3) && na < 0)
            np = -1;
    }
    int n_ax = na >= 0 ? na : r;
    if (np != 2 * n_ax) {
        for (int i = 0; i < r; i++)
            out->dims[i] = oq_dunk();
        return ONNXQ_OK;
    }
    for (int i = 0; i < n_ax; i++) {
        int a = oq_norm_axis(na >= 0 ? axes[i] : i, r);
        if (a < 0)
            continue;
        out->dims[a] = oq_dim_addk(x->dims[a], pads[i] + pads[n_ax + i]);
    }
    return ONNXQ_OK;
}

/* ---- Range, ConstantOfShape, Constant ------------------------------------ */

static onnxq_status r_range(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *s = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = s ? s->elem : 0;
    out->rank = 1;
    out->dims[0] = oq_dunk();
    if (!s)
        return ONNXQ_OK;
    if (oq_elem_is_int(out->elem)) {
        oq_dim a[1], b[1], d[1];
        if (oq_in_dims(c, 0, a, 1) != 1 || oq_in_dims(c, 1, b, 1) != 1 ||
            oq_in_dims(c, 2, d, 1) != 1 || d[0].kind != OQ_DIM_VALUE ||
            d[0].v == 0)
            return ONNXQ_OK;
        int64_t step = d[0].v;
        if (a[0].kind == OQ_DIM_VALUE && b[0].kind == OQ_DIM_VALUE) {
            int64_t span = b[0].v - a[0].v;
            int64_t n = step > 0 ? (span > 0 ? (span + step - 1) / step : 0)
                                 : (span < 0 ? (-span + -step - 1) / -step : 0);
            out->dims[0] = oq_dval(n);
            if (n <= OQ_INF_MAX_VAL) {
                oq_dim v[OQ_INF_MAX_VAL];
                for (int64_t i = 0; i < n; i++)
                    v[i] = oq_dval(a[0].v + i * step);
                return oom_if(c, oq_ty_set_ivals(out, v, (int)n));
            }
        } else if (a[0].kind == OQ_DIM_VALUE && a[0].v <= 0 && step > 0 &&
                   b[0].kind == OQ_DIM_SYM && oq_dim_nonneg(&b[0])) {
            /* limit >= 0 >= start: ceil((limit - start) / step) is never
             * clamped */
            out->dims[0] = oq_dim_ceildiv(oq_dim_addk(b[0], -a[0].v), step);
        }
        return ONNXQ_OK;
    }
    double a[1], b[1], d[1];
    if ((out->elem != OQ_T_FLOAT && out->elem != OQ_T_DOUBLE) ||
        oq_in_floats(c, 0, a, 1) != 1 || oq_in_floats(c, 1, b, 1) != 1 ||
        oq_in_floats(c, 2, d, 1) != 1 || d[0] == 0)
        return ONNXQ_OK;
    /* as the runtime (and ONNX Runtime): the difference in the input type */
    double span = out->elem == OQ_T_FLOAT ? (double)((float)b[0] - (float)a[0])
                                          : b[0] - a[0];
    double cnt = __builtin_ceil(span / d[0]);
    if (!(cnt < (double)((int64_t)1 << 40)))
        return ONNXQ_OK;
    int64_t n = cnt > 0 ? (int64_t)cnt : 0;
    out->dims[0] = oq_dval(n);
    return ONNXQ_OK;
}

static onnxq_status r_constant_of_shape(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    const Onnx__AttributeProto *va = oq_attr_get(c, "value");
    oq_ty value;
    oq_ty_init(&value);
    if (va && va->t) {
        onnxq_status st = oq_ty_from_tensor(c->inf, va->t, 1, &value);
        if (st != ONNXQ_OK)
            return st;
        out->elem = value.elem;
    } else {
        out->elem = OQ_T_FLOAT;
        double zero = 0;
        value.elem = OQ_T_FLOAT;
        value.rank = 1;
        value.dims[0] = oq_dval(1);
        if (oq_ty_set_fvals(&value, &zero, 1))
            return oq_inf_oom(c->inf);
    }
    oq_dim v[OQ_INF_MAX_RANK];
    int n = oq_in_dims(c, 0, v, OQ_INF_MAX_RANK);
    onnxq_status st = ONNXQ_OK;
    if (n >= 0) {
        oq_ty_set_shape(out, n, v);
        int64_t numel = oq_ty_numel(out);
        if (numel >= 0 && numel <= OQ_INF_MAX_VAL && value.n_val == 1) {
            oq_dim iv[OQ_INF_MAX_VAL];
            double fv[OQ_INF_MAX_VAL];
            for (int64_t i = 0; i < numel; i++) {
                if (value.ival)
                    iv[i] = value.ival[0];
                else
                    fv[i] = value.fval[0];
            }
            if (value.ival ? oq_ty_set_ivals(out, iv, (int)numel)
                           : oq_ty_set_fvals(out, fv, (int)numel))
                st = oq_inf_oom(c->inf);
        }
    } else {
        int64_t len = oq_in_len(c, 0);
        if (len >= 0 && len <= OQ_INF_MAX_RANK) {
            out->rank = (int)len;
            for (int i = 0; i < len; i++)
                out->dims[i] = oq_dunk();
        }
    }
    oq_ty_clear(&value);
    return st;
}

static onnxq_status r_constant(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const char *name = c->node->n_output ? c->node->output[0] : NULL;
    if (!out || !name || !name[0])
        return ONNXQ_OK;
    /* value and value_float(s)/int(s) come as a tensor from the graph view */
    const Onnx__TensorProto *t = onnxq_graph_constant(oq_ictx_graph(c), name);
    if (t)
        return oq_ty_from_tensor(c->inf, t, 1, out);
    const Onnx__AttributeProto *a =
        c->node->n_attribute == 1 ? c->node->attribute[0] : NULL;
    if (!a || !a->name)
        return ONNXQ_OK;
    if (strcmp(a->name, "sparse_value") == 0 && a->sparse_tensor) {
        const Onnx__SparseTensorProto *sp = a->sparse_tensor;
        out->elem = sp->values && sp->values->has_data_type
                        ? sp->values->data_type : 0;
        if (sp->n_dims <= OQ_INF_MAX_RANK)
            oq_ty_set_known_shape(out, (int)sp->n_dims, sp->dims);
    } else if (strcmp(a->name, "value_string") == 0) {
        out->elem = OQ_T_STRING;
        out->rank = 0;
    } else if (strcmp(a->name, "value_strings") == 0) {
        out->elem = OQ_T_STRING;
        out->rank = 1;
        out->dims[0] = oq_dval((int64_t)a->n_strings);
    }
    return ONNXQ_OK;
}

/* ---- OneHot, EyeLike, CenterCropPad -------------------------------------- */

static onnxq_status r_one_hot(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *idx = oq_input(c, 0), *vals = oq_input(c, 2);
    if (!out)
        return ONNXQ_OK;
    out->elem = vals ? vals->elem : 0;
    if (!idx || idx->rank < 0 || idx->rank + 1 > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    int r = idx->rank + 1;
    int axis = oq_norm_axis(oq_attr_i(c, "axis", -1), r);
    if (axis < 0)
        return ONNXQ_OK;
    oq_dim depth = oq_dunk();
    double dv[1];
    if (oq_in_floats(c, 1, dv, 1) == 1 && dv[0] >= 0 && dv[0] < 1e15)
        depth = oq_dval((int64_t)dv[0]);
    out->rank = r;
    for (int i = 0, k = 0; i < r; i++)
        out->dims[i] = i == axis ? depth : idx->dims[k++];
    return ONNXQ_OK;
}

static onnxq_status r_eye_like(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    oq_same_shape(out, x);
    int64_t dt = oq_attr_i(c, "dtype", 0);
    if (dt)
        out->elem = (int32_t)dt;
    return ONNXQ_OK;
}

static onnxq_status r_center_crop_pad(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    out->elem = x->elem;
    if (x->rank < 0)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, x);
    const int64_t *ax;
    long na = oq_attr_is(c, "axes", &ax);
    oq_dim v[OQ_INF_MAX_RANK];
    int n = oq_in_dims(c, 1, v, OQ_INF_MAX_RANK);
    int count = na >= 0 ? (int)na : x->rank;
    for (int i = 0; i < count; i++) {
        int a = oq_norm_axis(na >= 0 ? ax[i] : i, x->rank);
        if (a >= 0)
            out->dims[a] = n == count ? v[i] : oq_dunk();
    }
    return ONNXQ_OK;
}

const oq_infer_rule oq_infer_shape_rules[] = {
    {"", "Shape", 1, 21, r_shape},
    {"", "Size", 1, 21, r_size},
    {"", "Reshape", 5, 21, r_reshape},
    {"", "Flatten", 1, 21, r_flatten},
    {"", "Squeeze", 1, 21, r_squeeze},
    {"", "Unsqueeze", 1, 21, r_unsqueeze},
    {"", "Transpose", 1, 21, r_transpose},
    {"", "DepthToSpace", 1, 21, r_depth_to_space},
    {"", "SpaceToDepth", 1, 21, r_space_to_depth},
    {"", "Concat", 4, 21, r_concat},
    {"", "Split", 2, 21, r_split},
    {"", "Slice", 1, 21, r_slice},
    {"", "Gather", 1, 21, r_gather},
    {"", "GatherElements", 11, 21, r_gather_elements},
    {"", "GatherND", 11, 21, r_gather_nd},
    {"", "Compress", 9, 21, r_compress},
    {"", "NonZero", 9, 21, r_nonzero},
    {"", "TopK", 1, 21, r_topk},
    {"", "Unique", 11, 21, r_unique},
    {"", "Scatter", 9, 10, r_like_input0},
    {"", "ScatterElements", 11, 21, r_like_input0},
    {"", "ScatterND", 11, 21, r_like_input0},
    {"", "Expand", 8, 21, r_expand},
    {"", "Tile", 6, 21, r_tile},
    {"", "Pad", 2, 21, r_pad},
    {"", "Range", 11, 21, r_range},
    {"", "ConstantOfShape", 9, 21, r_constant_of_shape},
    {"", "Constant", 1, 21, r_constant},
    {"", "OneHot", 9, 21, r_one_hot},
    {"", "EyeLike", 9, 21, r_eye_like},
    {"", "Trilu", 14, 21, r_like_input0},
    {"", "CumSum", 11, 21, r_like_input0},
    {"", "ReverseSequence", 10, 21, r_like_input0},
    {"", "CenterCropPad", 18, 21, r_center_crop_pad},
    {NULL, NULL, 0, 0, NULL},
};
