/*
 * infer_elementwise.c — inference for elementwise ops: arithmetic,
 * comparisons, logic, activations and math functions, Clip, Where, Cast,
 * CastLike, Identity, Dropout and the com.microsoft Gelu family.
 *
 * Shapes follow numpy broadcasting (oq_broadcast; PRelu broadcasts its
 * slope into X's shape).  Types: comparisons, IsNaN/IsInf and logic give
 * bool; Cast gives `to`; the rest keep their first input's type.
 *
 * Contents are computed too when every input's are known and the result is
 * small, because shape arithmetic goes through these ops (Shape -> Cast ->
 * Mul -> Cast -> Reshape, Div of a dim by 2 ...).  Integers may be symbolic
 * (frames + 2, floor(frames / 2)); floating-point values are computed in
 * double and rounded to float32 after every operation when the type is
 * float32 — for + - * / and sqrt that is exactly float32 arithmetic — and
 * not followed at all for float16/bfloat16.
 */
#include <math.h>
#include <string.h>

#include "infer_internal.h"

typedef enum {
    OP_NONE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_MAX, OP_MIN,
    OP_EQ, OP_LT, OP_GT, OP_LE, OP_GE, OP_AND, OP_OR, OP_XOR, OP_SUM
} binop;

/* Flat index into t (broadcast into out's known dims) of out's element i. */
static int64_t bcast_index(const oq_ty *t, const oq_ty *out, int64_t i)
{
    int64_t idx = 0, stride = 1;
    for (int k = 0; k < t->rank; k++) {
        int od = out->rank - 1 - k, td = t->rank - 1 - k;
        int64_t on = out->dims[od].v, tn = t->dims[td].v;
        int64_t coord = i % on;
        i /= on;
        if (tn != 1)
            idx += coord * stride;
        stride *= tn;
    }
    return idx;
}

static double round_to(int32_t elem, double v)
{
    return elem == OQ_T_FLOAT ? (double)(float)v : v;
}

static int is_cmp(binop op)
{
    return op == OP_EQ || op == OP_LT || op == OP_GT || op == OP_LE ||
           op == OP_GE;
}

/* a op b on integers (elements may be symbolic). */
static oq_dim int_op(oq_ictx *c, binop op, oq_dim a, oq_dim b, int fmod_)
{
    oq_inf *inf = c->inf;
    int kn = a.kind == OQ_DIM_VALUE && b.kind == OQ_DIM_VALUE;
    switch (op) {
    case OP_ADD: case OP_SUM: return oq_dim_add(inf, a, b);
    case OP_SUB: return oq_dim_sub(inf, a, b);
    case OP_MUL: return oq_dim_mul(inf, a, b);
    case OP_DIV:
        if (b.kind != OQ_DIM_VALUE || b.v == 0)
            return oq_dunk();
        if (kn)
            return oq_dval(a.v / b.v); /* C division truncates, as ONNX */
        /* a symbolic size is >= 0, where truncation is floor */
        if (b.v > 0 && oq_dim_nonneg(&a))
            return oq_dim_floordiv(a, b.v);
        return oq_dunk();
    case OP_MOD:
        if (!kn || b.v == 0)
            return oq_dunk();
        if (fmod_)
            return oq_dval(a.v % b.v);
        else {
            int64_t r = a.v % b.v;
            if (r && ((r < 0) != (b.v < 0)))
                r += b.v;
            return oq_dval(r);
        }
    case OP_MAX: case OP_MIN:
        if (kn)
            return oq_dval(op == OP_MAX ? (a.v > b.v ? a.v : b.v)
                                        : (a.v < b.v ? a.v : b.v));
        return oq_dim_same(&a, &b) ? a : oq_dunk();
    case OP_EQ:
        if (kn)
            return oq_dval(a.v == b.v);
        return oq_dim_same(&a, &b) ? oq_dval(1) : oq_dunk();
    case OP_LT: return kn ? oq_dval(a.v < b.v) : oq_dunk();
    case OP_GT: return kn ? oq_dval(a.v > b.v) : oq_dunk();
    case OP_LE: return kn ? oq_dval(a.v <= b.v) : oq_dunk();
    case OP_GE: return kn ? oq_dval(a.v >= b.v) : oq_dunk();
    case OP_AND: return kn ? oq_dval(a.v && b.v) : oq_dunk();
    case OP_OR: return kn ? oq_dval(a.v || b.v) : oq_dunk();
    case OP_XOR: return kn ? oq_dval(!a.v != !b.v) : oq_dunk();
    default: return oq_dunk();
    }
}

/* a op b on floats; comparisons give 0/1.  -1 if not computable. */
static int float_op(binop op, double a, double b, double *r)
{
    switch (op) {
    case OP_ADD: case OP_SUM: *r = a + b; return 0;
    case OP_SUB: *r = a - b; return 0;
    case OP_MUL: *r = a * b; return 0;
    case OP_DIV: *r = a / b; return 0;
    case OP_MOD: *r = fmod(a, b); return 0;
    case OP_MAX: *r = a > b ? a : b; return isnan(a) || isnan(b) ? -1 : 0;
    case OP_MIN: *r = a < b ? a : b; return isnan(a) || isnan(b) ? -1 : 0;
    case OP_EQ: *r = a == b; return 0;
    case OP_LT: *r = a < b; return 0;
    case OP_GT: *r = a > b; return 0;
    case OP_LE: *r = a <= b; return 0;
    case OP_GE: *r = a >= b; return 0;
    default: return -1;
    }
}

/* Contents of out = fold(op) over inputs [first, first + n) when all known. */
static onnxq_status eval_nary(oq_ictx *c, binop op, size_t first, size_t n,
                              oq_ty *out)
{
    int64_t numel = oq_ty_numel(out);
    if (numel < 0 || numel > OQ_INF_MAX_VAL || n == 0)
        return ONNXQ_OK;
    int is_f = 0;
    for (size_t k = 0; k < n; k++) {
        const oq_ty *t = oq_input(c, first + k);
        if (!t || t->n_val < 0 || oq_ty_numel(t) != t->n_val ||
            t->rank > out->rank)
            return ONNXQ_OK;
        is_f |= t->fval != NULL;
        if ((t->fval != NULL) != (oq_input(c, first)->fval != NULL))
            return ONNXQ_OK;
    }
    int fmod_ = (int)oq_attr_i(c, "fmod", 0);
    if (is_f) {
        if (out->elem != OQ_T_FLOAT && out->elem != OQ_T_DOUBLE &&
            out->elem != OQ_T_BOOL)
            return ONNXQ_OK;
        int32_t work = oq_input(c, first)->elem;
        if (work != OQ_T_FLOAT && work != OQ_T_DOUBLE)
            return ONNXQ_OK;
        double v[OQ_INF_MAX_VAL];
        for (int64_t i = 0; i < numel; i++) {
            const oq_ty *t0 = oq_input(c, first);
            double acc = t0->fval[bcast_index(t0, out, i)];
            for (size_t k = 1; k < n; k++) {
                const oq_ty *t = oq_input(c, first + k);
                double r;
                if (float_op(op, acc, t->fval[bcast_index(t, out, i)], &r))
                    return ONNXQ_OK;
                acc = is_cmp(op) ? r : round_to(work, r);
            }
            v[i] = acc;
        }
        if (out->elem == OQ_T_BOOL) {
            oq_dim d[OQ_INF_MAX_VAL];
            for (int64_t i = 0; i < numel; i++)
                d[i] = oq_dval(v[i] != 0);
            return oq_ty_set_ivals(out, d, (int)numel) ? oq_inf_oom(c->inf)
                                                        : ONNXQ_OK;
        }
        return oq_ty_set_fvals(out, v, (int)numel) ? oq_inf_oom(c->inf)
                                                    : ONNXQ_OK;
    }
    oq_dim v[OQ_INF_MAX_VAL];
    for (int64_t i = 0; i < numel; i++) {
        const oq_ty *t0 = oq_input(c, first);
        oq_dim acc = t0->ival[bcast_index(t0, out, i)];
        for (size_t k = 1; k < n; k++) {
            const oq_ty *t = oq_input(c, first + k);
            acc = int_op(c, op, acc, t->ival[bcast_index(t, out, i)], fmod_);
        }
        v[i] = acc;
    }
    return oq_ty_set_ivals(out, v, (int)numel) ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

/* ---- rules --------------------------------------------------------------- */

static binop binop_of(const char *op)
{
    static const struct { const char *name; binop op; } map[] = {
        {"Add", OP_ADD}, {"Sub", OP_SUB}, {"Mul", OP_MUL}, {"Div", OP_DIV},
        {"Mod", OP_MOD}, {"Max", OP_MAX}, {"Min", OP_MIN}, {"Sum", OP_SUM},
        {"Equal", OP_EQ}, {"Less", OP_LT}, {"Greater", OP_GT},
        {"LessOrEqual", OP_LE}, {"GreaterOrEqual", OP_GE}, {"And", OP_AND},
        {"Or", OP_OR}, {"Xor", OP_XOR}, {NULL, OP_NONE}};
    for (size_t i = 0; map[i].name; i++)
        if (strcmp(map[i].name, op) == 0)
            return map[i].op;
    return OP_NONE;
}

/* Broadcast over all inputs; elem of the first known input, or bool. */
static onnxq_status rule_broadcast(oq_ictx *c, int to_bool)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    int32_t elem = 0;
    for (size_t i = 0; i < c->n_in && !elem; i++)
        if (c->in[i] && c->in[i]->elem)
            elem = c->in[i]->elem;
    out->elem = to_bool ? OQ_T_BOOL : elem;
    oq_broadcast(c, c->in, c->n_in, &out->rank, out->dims);
    if (out->rank < 0)
        return ONNXQ_OK;
    binop op = binop_of(c->node->op_type);
    if (op == OP_NONE)
        return ONNXQ_OK;
    return eval_nary(c, op, 0, c->n_in, out);
}

static onnxq_status r_arith(oq_ictx *c) { return rule_broadcast(c, 0); }
static onnxq_status r_compare(oq_ictx *c) { return rule_broadcast(c, 1); }

static onnxq_status r_mean(oq_ictx *c)
{
    /* the sum's contents would be wrong for a mean: shape and type only */
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t first = 0;
    out->elem = oq_first_elem(c, &first, 1);
    oq_broadcast(c, c->in, c->n_in, &out->rank, out->dims);
    return ONNXQ_OK;
}

static onnxq_status r_pow(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out || !oq_input(c, 0))
        return ONNXQ_OK;
    out->elem = oq_input(c, 0)->elem; /* the base's type (opset 12+) */
    oq_broadcast(c, c->in, c->n_in < 2 ? c->n_in : 2, &out->rank, out->dims);
    return ONNXQ_OK;
}

static onnxq_status r_bitshift(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t first = 0;
    out->elem = oq_first_elem(c, &first, 1);
    oq_broadcast(c, c->in, c->n_in, &out->rank, out->dims);
    return ONNXQ_OK;
}

static onnxq_status r_where(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t idx[2] = {1, 2};
    out->elem = oq_first_elem(c, idx, 2);
    oq_broadcast(c, c->in, c->n_in, &out->rank, out->dims);
    int64_t numel = oq_ty_numel(out);
    const oq_ty *cond = oq_input(c, 0), *x = oq_input(c, 1),
                *y = oq_input(c, 2);
    if (numel < 0 || numel > OQ_INF_MAX_VAL || !cond || !x || !y ||
        cond->n_val < 0 || x->n_val < 0 || y->n_val < 0 || !cond->ival ||
        (x->fval != NULL) != (y->fval != NULL))
        return ONNXQ_OK;
    if (x->fval) {
        double v[OQ_INF_MAX_VAL];
        for (int64_t i = 0; i < numel; i++) {
            const oq_dim *k = &cond->ival[bcast_index(cond, out, i)];
            if (k->kind != OQ_DIM_VALUE)
                return ONNXQ_OK;
            v[i] = k->v ? x->fval[bcast_index(x, out, i)]
                        : y->fval[bcast_index(y, out, i)];
        }
        return oq_ty_set_fvals(out, v, (int)numel) ? oq_inf_oom(c->inf)
                                                    : ONNXQ_OK;
    }
    oq_dim v[OQ_INF_MAX_VAL];
    for (int64_t i = 0; i < numel; i++) {
        const oq_dim *k = &cond->ival[bcast_index(cond, out, i)];
        oq_dim a = x->ival[bcast_index(x, out, i)],
               b = y->ival[bcast_index(y, out, i)];
        if (k->kind == OQ_DIM_VALUE)
            v[i] = k->v ? a : b;
        else
            v[i] = oq_dim_same(&a, &b) ? a : oq_dunk();
    }
    return oq_ty_set_ivals(out, v, (int)numel) ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

static onnxq_status r_prelu(oq_ictx *c)
{
    /* the slope broadcasts into X (unidirectionally): X's shape */
    oq_same_shape(oq_output(c, 0), oq_input(c, 0));
    return ONNXQ_OK;
}

/* Unary ops that keep type and shape; a few also map contents. */
static onnxq_status r_unary(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    oq_same_shape(out, x);
    const char *op = c->node->op_type;
    if (x->n_val < 0)
        return ONNXQ_OK;
    int n = x->n_val;
    if (x->ival) {
        oq_dim v[OQ_INF_MAX_VAL];
        for (int i = 0; i < n; i++) {
            oq_dim a = x->ival[i];
            if (strcmp(op, "Neg") == 0)
                v[i] = oq_dim_mulk(a, -1);
            else if (strcmp(op, "Abs") == 0)
                v[i] = a.kind == OQ_DIM_VALUE ? oq_dval(a.v < 0 ? -a.v : a.v)
                       : oq_dim_nonneg(&a) ? a : oq_dunk();
            else if (strcmp(op, "Relu") == 0)
                v[i] = a.kind == OQ_DIM_VALUE ? oq_dval(a.v < 0 ? 0 : a.v)
                       : oq_dim_nonneg(&a) ? a : oq_dunk();
            else if (strcmp(op, "Sign") == 0)
                v[i] = a.kind == OQ_DIM_VALUE ? oq_dval((a.v > 0) - (a.v < 0))
                                              : oq_dunk();
            else if (strcmp(op, "Identity") == 0 || strcmp(op, "Floor") == 0 ||
                     strcmp(op, "Ceil") == 0 || strcmp(op, "Round") == 0)
                v[i] = a;
            else
                return ONNXQ_OK;
        }
        return oq_ty_set_ivals(out, v, n) ? oq_inf_oom(c->inf) : ONNXQ_OK;
    }
    if (x->elem != OQ_T_FLOAT && x->elem != OQ_T_DOUBLE &&
        strcmp(op, "Identity") != 0)
        return ONNXQ_OK;
    double v[OQ_INF_MAX_VAL];
    for (int i = 0; i < n; i++) {
        double a = x->fval[i];
        if (strcmp(op, "Neg") == 0)
            v[i] = -a;
        else if (strcmp(op, "Abs") == 0)
            v[i] = fabs(a);
        else if (strcmp(op, "Floor") == 0)
            v[i] = floor(a);
        else if (strcmp(op, "Ceil") == 0)
            v[i] = ceil(a);
        else if (strcmp(op, "Round") == 0)
            v[i] = nearbyint(a); /* half to even under the default mode */
        else if (strcmp(op, "Sqrt") == 0)
            v[i] = round_to(x->elem, sqrt(a));
        else if (strcmp(op, "Relu") == 0)
            v[i] = a < 0 ? 0 : a;
        else if (strcmp(op, "Identity") == 0)
            v[i] = a;
        else
            return ONNXQ_OK;
    }
    return oq_ty_set_fvals(out, v, n) ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

static onnxq_status r_not(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out || !x)
        return ONNXQ_OK;
    oq_same_shape(out, x);
    out->elem = OQ_T_BOOL;
    if (x->n_val >= 0 && x->ival) {
        oq_dim v[OQ_INF_MAX_VAL];
        for (int i = 0; i < x->n_val; i++)
            v[i] = x->ival[i].kind == OQ_DIM_VALUE ? oq_dval(!x->ival[i].v)
                                                   : oq_dunk();
        if (oq_ty_set_ivals(out, v, x->n_val))
            return oq_inf_oom(c->inf);
    }
    return ONNXQ_OK;
}

static onnxq_status r_is_test(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    oq_same_shape(out, oq_input(c, 0));
    if (out)
        out->elem = OQ_T_BOOL;
    return ONNXQ_OK;
}

/* C's conversion of v to integer type e (wrapping like the runtime's
 * oq_set_f64); -1 if the value has no defined conversion. */
static int int_convert(int32_t e, double v, int64_t *out)
{
    if (isnan(v) || isinf(v) || v >= 9.2e18 || v <= -9.2e18)
        return -1;
    int64_t t = (int64_t)v;
    switch (e) {
    case OQ_T_BOOL: *out = v != 0; return 0;
    case OQ_T_UINT8: *out = (uint8_t)t; return 0;
    case OQ_T_INT8: *out = (int8_t)t; return 0;
    case OQ_T_UINT16: *out = (uint16_t)t; return 0;
    case OQ_T_INT16: *out = (int16_t)t; return 0;
    case OQ_T_INT32: *out = (int32_t)t; return 0;
    case OQ_T_UINT32: *out = (uint32_t)t; return 0;
    case OQ_T_INT64: case OQ_T_UINT64: *out = t; return 0;
    }
    return -1;
}

static onnxq_status cast_to(oq_ictx *c, int32_t to)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (!out)
        return ONNXQ_OK;
    out->elem = to;
    if (!x)
        return ONNXQ_OK;
    oq_ty_copy_shape(out, x);
    if (x->n_val < 0 || !to)
        return ONNXQ_OK;
    int n = x->n_val;
    if (oq_elem_is_int(to)) {
        oq_dim v[OQ_INF_MAX_VAL];
        for (int i = 0; i < n; i++) {
            if (x->fval) {
                int64_t k;
                if (int_convert(to, x->fval[i], &k))
                    return ONNXQ_OK;
                v[i] = oq_dval(k);
            } else if (x->ival[i].kind == OQ_DIM_VALUE) {
                int64_t k;
                if (int_convert(to, (double)x->ival[i].v, &k) ||
                    (double)x->ival[i].v != (double)(int64_t)x->ival[i].v)
                    return ONNXQ_OK;
                v[i] = oq_dval(to == OQ_T_INT64 ? x->ival[i].v : k);
            } else {
                /* a symbolic size fits 32 bits or more */
                v[i] = to == OQ_T_INT64 || to == OQ_T_INT32 ||
                               to == OQ_T_UINT64 || to == OQ_T_UINT32
                           ? x->ival[i] : oq_dunk();
            }
        }
        return oq_ty_set_ivals(out, v, n) ? oq_inf_oom(c->inf) : ONNXQ_OK;
    }
    if (to != OQ_T_FLOAT && to != OQ_T_DOUBLE)
        return ONNXQ_OK;
    double v[OQ_INF_MAX_VAL];
    for (int i = 0; i < n; i++) {
        if (x->fval)
            v[i] = round_to(to, x->fval[i]);
        else if (x->ival[i].kind == OQ_DIM_VALUE)
            v[i] = round_to(to, (double)x->ival[i].v);
        else
            return ONNXQ_OK;
    }
    return oq_ty_set_fvals(out, v, n) ? oq_inf_oom(c->inf) : ONNXQ_OK;
}

static onnxq_status r_cast(oq_ictx *c)
{
    return cast_to(c, (int32_t)oq_attr_i(c, "to", 0));
}

static onnxq_status r_cast_like(oq_ictx *c)
{
    const oq_ty *t = oq_input(c, 1);
    return cast_to(c, t ? t->elem : 0);
}

static onnxq_status r_identity(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    const oq_ty *x = oq_input(c, 0);
    if (out && x && oq_ty_copy(out, x))
        return oq_inf_oom(c->inf);
    return ONNXQ_OK;
}

static onnxq_status r_dropout(oq_ictx *c)
{
    const oq_ty *x = oq_input(c, 0);
    if (!x)
        return ONNXQ_OK;
    oq_ty *out = oq_output(c, 0);
    if (out && oq_ty_copy(out, x)) /* inference: the data passes through */
        return oq_inf_oom(c->inf);
    oq_ty *mask = oq_output(c, 1);
    if (mask) {
        oq_same_shape(mask, x);
        /* opsets 7..9 type the mask like the data, later ones as bool */
        mask->elem = c->opset >= 10 ? OQ_T_BOOL : x->elem;
    }
    return ONNXQ_OK;
}

/* Clip and the com.microsoft Gelu family: X's type and shape (their extra
 * inputs are bounds and biases broadcast into X). */
static onnxq_status r_like_x(oq_ictx *c)
{
    oq_same_shape(oq_output(c, 0), oq_input(c, 0));
    return ONNXQ_OK;
}

static onnxq_status r_bias_gelu(oq_ictx *c)
{
    oq_ty *out = oq_output(c, 0);
    if (!out)
        return ONNXQ_OK;
    size_t first = 0;
    out->elem = oq_first_elem(c, &first, 1);
    oq_broadcast(c, c->in, c->n_in, &out->rank, out->dims);
    return ONNXQ_OK;
}

const oq_infer_rule oq_infer_elementwise_rules[] = {
    {"", "Add", 1, 21, r_arith},
    {"", "Sub", 1, 21, r_arith},
    {"", "Mul", 1, 21, r_arith},
    {"", "Div", 1, 21, r_arith},
    {"", "Pow", 1, 21, r_pow},
    {"", "Mod", 10, 21, r_arith},
    {"", "Max", 1, 21, r_arith},
    {"", "Min", 1, 21, r_arith},
    {"", "Sum", 1, 21, r_arith},
    {"", "Mean", 1, 21, r_mean},
    {"", "PRelu", 1, 21, r_prelu},
    {"", "BitShift", 11, 21, r_bitshift},
    {"", "And", 1, 21, r_compare},
    {"", "Or", 1, 21, r_compare},
    {"", "Xor", 1, 21, r_compare},
    {"", "Not", 1, 21, r_not},
    {"", "Equal", 1, 21, r_compare},
    {"", "Less", 1, 21, r_compare},
    {"", "Greater", 1, 21, r_compare},
    {"", "LessOrEqual", 12, 21, r_compare},
    {"", "GreaterOrEqual", 12, 21, r_compare},
    {"", "Where", 9, 21, r_where},
    {"", "Abs", 1, 21, r_unary},
    {"", "Neg", 1, 21, r_unary},
    {"", "Sqrt", 1, 21, r_unary},
    {"", "Reciprocal", 1, 21, r_unary},
    {"", "Exp", 1, 21, r_unary},
    {"", "Log", 1, 21, r_unary},
    {"", "Ceil", 1, 21, r_unary},
    {"", "Floor", 1, 21, r_unary},
    {"", "Round", 11, 21, r_unary},
    {"", "Sign", 9, 21, r_unary},
    {"", "Sigmoid", 1, 21, r_unary},
    {"", "HardSigmoid", 1, 21, r_unary},
    {"", "HardSwish", 14, 21, r_unary},
    {"", "Tanh", 1, 21, r_unary},
    {"", "Relu", 1, 21, r_unary},
    {"", "LeakyRelu", 1, 21, r_unary},
    {"", "Elu", 1, 21, r_unary},
    {"", "Selu", 1, 21, r_unary},
    {"", "Celu", 12, 21, r_unary},
    {"", "ThresholdedRelu", 10, 21, r_unary},
    {"", "Softplus", 1, 21, r_unary},
    {"", "Softsign", 1, 21, r_unary},
    {"", "Erf", 9, 21, r_unary},
    {"", "Sin", 7, 21, r_unary},
    {"", "Cos", 7, 21, r_unary},
    {"", "Tan", 7, 21, r_unary},
    {"", "Asin", 7, 21, r_unary},
    {"", "Acos", 7, 21, r_unary},
    {"", "Atan", 7, 21, r_unary},
    {"", "Sinh", 9, 21, r_unary},
    {"", "Cosh", 9, 21, r_unary},
    {"", "Asinh", 9, 21, r_unary},
    {"", "Acosh", 9, 21, r_unary},
    {"", "Atanh", 9, 21, r_unary},
    {"", "IsNaN", 9, 21, r_is_test},
    {"", "IsInf", 10, 21, r_is_test},
    {"", "Clip", 1, 21, r_like_x},
    {"", "Identity", 1, 21, r_identity},
    {"", "Cast", 6, 21, r_cast},
    {"", "CastLike", 15, 21, r_cast_like},
    {"", "Gelu", 20, 21, r_unary},
    {"", "Mish", 18, 21, r_unary},
    {"", "Shrink", 9, 21, r_unary},
    {"", "Dropout", 7, 21, r_dropout},
    {"com.microsoft", "Gelu", 1, 1, r_like_x},
    {"com.microsoft", "FastGelu", 1, 1, r_bias_gelu},
    {"com.microsoft", "BiasGelu", 1, 1, r_bias_gelu},
    {"com.microsoft", "QuickGelu", 1, 1, r_like_x},
    {NULL, NULL, 0, 0, NULL},
};
