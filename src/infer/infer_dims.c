/*
 * infer_dims.c — the arithmetic of inferred dims and types: symbolic dims
 * of the form floor((m * atom + c) / d) (see infer_internal.h), how they
 * print as dim_param strings and how such strings evaluate back
 * (onnxq_infer_dim_eval), and the oq_ty helpers (copy, merge, contents,
 * types read from TensorProto and ValueInfoProto).
 *
 * Every operation either gives the exact result or unknown: a form whose
 * coefficients grow past 2^40 becomes unknown instead of overflowing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

#define COEF_LIMIT ((int64_t)1 << 40)

/* ---- integer helpers ----------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int too_big(int64_t x) { return x > COEF_LIMIT || x < -COEF_LIMIT; }

/* ---- dims ---------------------------------------------------------------- */

oq_dim oq_dval(int64_t v)
{
    oq_dim d = {OQ_DIM_VALUE, -1, v, 0, 0, 1, 1, 0};
    return d;
}

oq_dim oq_dunk(void)
{
    oq_dim d = {OQ_DIM_UNKNOWN, -1, 0, 0, 0, 1, 1, 0};
    return d;
}

oq_dim oq_dsym(int32_t atom)
{
    if (atom < 0)
        return oq_dunk();
    oq_dim d = {OQ_DIM_SYM, atom, 0, 1, 0, 1, 1, 0};
    return d;
}

/* Brings a symbolic form q floor((m A + c) / d) + e to its canonical
 * shape: gcd-reduced, 0 <= c < d, and for d = 1 the outer q, e folded in. */
static oq_dim canon(oq_dim x)
{
    if (x.kind != OQ_DIM_SYM)
        return x;
    if (x.d < 1 || too_big(x.m) || too_big(x.c) || too_big(x.d) ||
        too_big(x.q) || too_big(x.e))
        return oq_dunk();
    if (x.m == 0 || x.q == 0)
        return oq_dval(x.q * floor_div(x.c, x.d) + x.e);
    int64_t g = gcd64(x.m, x.d);
    if (g > 1) {
        /* floor((g m' A + c) / (g d')) = floor((m' A + floor(c / g)) / d') */
        x.m /= g;
        x.d /= g;
        x.c = floor_div(x.c, g);
    }
    if (x.d == 1) {
        x.m *= x.q;
        x.c = x.c * x.q + x.e;
        x.q = 1;
        x.e = 0;
    } else {
        /* floor((m A + c + j d) / d) = floor((m A + c) / d) + j */
        int64_t j = floor_div(x.c, x.d);
        x.c -= j * x.d;
        x.e += x.q * j;
    }
    if (too_big(x.m) || too_big(x.c) || too_big(x.e))
        return oq_dunk();
    return x;
}

int oq_dim_same(const oq_dim *a, const oq_dim *b)
{
    if (a->kind != b->kind || a->kind == OQ_DIM_UNKNOWN)
        return 0;
    if (a->kind == OQ_DIM_VALUE)
        return a->v == b->v;
    return a->atom == b->atom && a->m == b->m && a->c == b->c &&
           a->d == b->d && a->q == b->q && a->e == b->e;
}

int oq_dim_differ(const oq_dim *a, const oq_dim *b)
{
    return a->kind == OQ_DIM_VALUE && b->kind == OQ_DIM_VALUE && a->v != b->v;
}

int oq_dim_nonneg(const oq_dim *d)
{
    if (d->kind == OQ_DIM_VALUE)
        return d->v >= 0;
    /* the atom is a size (>= 0), so the floor is >= 0 when m > 0, c >= 0 */
    return d->kind == OQ_DIM_SYM && d->m > 0 && d->c >= 0 && d->q > 0 &&
           d->e >= 0;
}

static int64_t mod_pos(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

int oq_dim_never_one(const oq_dim *d)
{
    if (d->kind == OQ_DIM_VALUE)
        return d->v != 1;
    if (d->kind != OQ_DIM_SYM)
        return 0;
    /* every value is congruent to e (to c when d = 1) modulo |q| (|m|) */
    int64_t step = d->d == 1 ? d->m : d->q, off = d->d == 1 ? d->c : d->e;
    if (step < 0)
        step = -step;
    if (step >= 2 && mod_pos(off, step) != mod_pos(1, step))
        return 1;
    /* or it only grows with the atom and starts above 1 */
    if (oq_dim_nonneg(d) && d->q * floor_div(d->c, d->d) + d->e >= 2)
        return 1;
    return 0;
}

oq_dim oq_dim_addk(oq_dim a, int64_t k)
{
    if (a.kind == OQ_DIM_VALUE) {
        if (too_big(a.v) || too_big(k))
            return oq_dunk();
        return oq_dval(a.v + k);
    }
    if (a.kind != OQ_DIM_SYM || too_big(k))
        return oq_dunk();
    a.e += k;
    return canon(a);
}

oq_dim oq_dim_mulk(oq_dim a, int64_t k)
{
    if (a.kind == OQ_DIM_VALUE) {
        if (too_big(a.v) || too_big(k))
            return oq_dunk();
        return oq_dval(a.v * k);
    }
    if (a.kind != OQ_DIM_SYM || too_big(k))
        return oq_dunk();
    if (k == 0)
        return oq_dval(0);
    a.q *= k;
    a.e *= k;
    return canon(a);
}

oq_dim oq_dim_floordiv(oq_dim a, int64_t k)
{
    if (k <= 0)
        return oq_dunk();
    if (a.kind == OQ_DIM_VALUE)
        return oq_dval(floor_div(a.v, k));
    if (a.kind != OQ_DIM_SYM || too_big(k))
        return oq_dunk();
    if (a.q % k == 0) {
        /* q F is a multiple of k: floor((q F + e) / k) = (q/k) F + floor(e/k) */
        a.q /= k;
        a.e = floor_div(a.e, k);
        return canon(a);
    }
    if (a.q != 1)
        return oq_dunk();
    /* floor((floor(x / d) + e) / k) = floor((x + e d) / (d k)) */
    a.c += a.e * a.d;
    a.e = 0;
    a.d *= k;
    return canon(a);
}

oq_dim oq_dim_ceildiv(oq_dim a, int64_t k)
{
    if (k <= 0)
        return oq_dunk();
    return oq_dim_floordiv(oq_dim_addk(a, k - 1), k);
}

static int is_plain(const oq_dim *a)
{
    return a->kind == OQ_DIM_SYM && a->m == 1 && a->c == 0 && a->d == 1;
}

/* A composite name "A<op>B" (names sorted, so a+b and b+a are one). */
static oq_dim composite(oq_inf *inf, int32_t x, int32_t y, char op)
{
    const char *a = inf->atoms[x], *b = inf->atoms[y];
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
        int32_t u = x;
        x = y;
        y = u;
    }
    int pa = inf->atom_paren[x], pb = inf->atom_paren[y];
    size_t len = strlen(a) + strlen(b) + 8;
    char *name = malloc(len);
    if (!name) {
        oq_inf_oom(inf);
        return oq_dunk();
    }
    snprintf(name, len, "%s%s%s%c%s%s%s", pa ? "(" : "", a, pa ? ")" : "", op,
             pb ? "(" : "", b, pb ? ")" : "");
    int32_t id = oq_inf_atom(inf, name);
    free(name);
    if (id >= 0)
        inf->atom_paren[id] = 1;
    return oq_dsym(id);
}

oq_dim oq_dim_add(oq_inf *inf, oq_dim a, oq_dim b)
{
    if (a.kind == OQ_DIM_UNKNOWN || b.kind == OQ_DIM_UNKNOWN)
        return oq_dunk();
    if (b.kind == OQ_DIM_VALUE)
        return oq_dim_addk(a, b.v);
    if (a.kind == OQ_DIM_VALUE)
        return oq_dim_addk(b, a.v);
    if (a.atom == b.atom && a.d == 1 && b.d == 1) {
        oq_dim r = a;
        r.m = a.m + b.m;
        r.c = a.c + b.c;
        return canon(r);
    }
    if (a.atom == b.atom && a.m == b.m && a.c == b.c && a.d == b.d) {
        oq_dim r = a; /* q1 F + q2 F of one floor F */
        r.q = a.q + b.q;
        r.e = a.e + b.e;
        return canon(r);
    }
    if (a.d != 1 || b.d != 1 || a.m != 1 || b.m != 1)
        return oq_dunk();
    oq_dim r = composite(inf, a.atom, b.atom, '+');
    return oq_dim_addk(r, a.c + b.c);
}

oq_dim oq_dim_sub(oq_inf *inf, oq_dim a, oq_dim b)
{
    if (b.kind == OQ_DIM_VALUE)
        return oq_dim_addk(a, -b.v);
    if (b.kind != OQ_DIM_SYM)
        return oq_dunk();
    if (a.kind == OQ_DIM_SYM && a.atom != b.atom)
        return oq_dunk(); /* a - b of two names has no form here */
    return oq_dim_add(inf, a, oq_dim_mulk(b, -1));
}

oq_dim oq_dim_mul(oq_inf *inf, oq_dim a, oq_dim b)
{
    if (oq_dim_is(&a, 0) || oq_dim_is(&b, 0))
        return oq_dval(0);
    if (a.kind == OQ_DIM_UNKNOWN || b.kind == OQ_DIM_UNKNOWN)
        return oq_dunk();
    if (b.kind == OQ_DIM_VALUE)
        return oq_dim_mulk(a, b.v);
    if (a.kind == OQ_DIM_VALUE)
        return oq_dim_mulk(b, a.v);
    if (!is_plain(&a) || !is_plain(&b))
        return oq_dunk();
    return composite(inf, a.atom, b.atom, '*');
}

/* ---- atoms and printing -------------------------------------------------- */

onnxq_status oq_inf_oom(oq_inf *inf)
{
    inf->st = ONNXQ_ERR_OUT_OF_MEMORY;
    return inf->st;
}

/* Names with operator characters print in parentheses inside expressions,
 * so that the printed form reads back unambiguously. */
static int needs_paren(const char *s)
{
    return strpbrk(s, "+-*/() ") != NULL;
}

int32_t oq_inf_atom(oq_inf *inf, const char *name)
{
    size_t i;
    if (oq_strmap_get(&inf->atom_index, name, &i))
        return (int32_t)i;
    if (inf->n_atoms >= INT32_MAX - 1)
        return -1;
    if (inf->n_atoms == inf->cap_atoms) {
        size_t cap = inf->cap_atoms ? inf->cap_atoms * 2 : 32;
        char **a = realloc(inf->atoms, cap * sizeof *a);
        if (!a) {
            oq_inf_oom(inf);
            return -1;
        }
        inf->atoms = a;
        unsigned char *p = realloc(inf->atom_paren, cap);
        if (!p) {
            oq_inf_oom(inf);
            return -1;
        }
        inf->atom_paren = p;
        inf->cap_atoms = cap;
    }
    char *copy = oq_strdup(name);
    if (!copy || oq_strmap_put(&inf->atom_index, copy, inf->n_atoms)) {
        free(copy);
        oq_inf_oom(inf);
        return -1;
    }
    inf->atoms[inf->n_atoms] = copy;
    inf->atom_paren[inf->n_atoms] = (unsigned char)needs_paren(copy);
    return (int32_t)inf->n_atoms++;
}

const char *oq_dim_format(const oq_inf *inf, const oq_dim *d, char *buf,
                          size_t size)
{
    if (d->kind == OQ_DIM_VALUE) {
        snprintf(buf, size, "%lld", (long long)d->v);
        return buf;
    }
    if (d->kind != OQ_DIM_SYM) {
        snprintf(buf, size, "?");
        return buf;
    }
    const char *name = inf->atoms[d->atom];
    int wrap = inf->atom_paren[d->atom] && (d->m != 1 || d->d != 1 ||
                                            d->q != 1);
    char x[600], mul[32] = "", tail[40] = "";
    if (d->m != 1 && d->m != -1)
        snprintf(mul, sizeof mul, "*%lld", (long long)(d->m < 0 ? -d->m : d->m));
    /* the inner term: [-]A[*|m|] */
    snprintf(x, sizeof x, "%s%s%s%s%s", d->m < 0 ? "-" : "", wrap ? "(" : "",
             name, wrap ? ")" : "", mul);
    if (d->d == 1) {
        if (d->c)
            snprintf(tail, sizeof tail, "%+lld", (long long)d->c);
        snprintf(buf, size, "%s%s", x, tail);
        return buf;
    }
    char f[700];
    if (d->c == 0)
        snprintf(f, sizeof f, "floor(%s/%lld)", x, (long long)d->d);
    else if (d->c == d->d - 1)
        snprintf(f, sizeof f, "ceil(%s/%lld)", x, (long long)d->d);
    else
        snprintf(f, sizeof f, "floor((%s+%lld)/%lld)", x, (long long)d->c,
                 (long long)d->d);
    if (d->q != 1 && d->q != -1)
        snprintf(mul, sizeof mul, "*%lld", (long long)(d->q < 0 ? -d->q : d->q));
    else
        mul[0] = '\0';
    if (d->e)
        snprintf(tail, sizeof tail, "%+lld", (long long)d->e);
    snprintf(buf, size, "%s%s%s%s", d->q < 0 ? "-" : "", f, mul, tail);
    return buf;
}

/* ---- evaluating printed dims --------------------------------------------- */

typedef struct eval_env {
    const char *const *names;
    const int64_t *values;
    size_t n;
} eval_env;

static int eval_range(const eval_env *e, const char *s, size_t len,
                      int64_t *out, int depth);

/* Position of the last top-level occurrence of one of ops in s[0..len), or
 * -1.  With binary_only, a '-' or '+' right after an operator (or at the
 * start) is a sign, not an operator. */
static long last_top(const char *s, size_t len, const char *ops,
                     int binary_only)
{
    int depth = 0;
    long found = -1;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '(')
            depth++;
        else if (ch == ')')
            depth--;
        else if (depth == 0 && strchr(ops, ch)) {
            if (binary_only) {
                if (i == 0 || strchr("+-*/(", s[i - 1]))
                    continue;
            }
            found = (long)i;
        }
    }
    return found;
}

static int parse_int(const char *s, size_t len, int64_t *out)
{
    if (!len || len > 19)
        return -1;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (len == 1)
            return -1;
    }
    int64_t v = 0;
    for (; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* 1 if s[0..len) is "(...)" with the first parenthesis closing at the end. */
static int wrapped(const char *s, size_t len)
{
    if (len < 2 || s[0] != '(' || s[len - 1] != ')')
        return 0;
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        depth += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
        if (depth == 0 && i + 1 < len)
            return 0;
    }
    return 1;
}

static int eval_div(const eval_env *e, const char *s, size_t len, int ceil_,
                    int64_t *out, int depth)
{
    long p = last_top(s, len, "/", 0);
    int64_t a, b;
    if (p < 0 || eval_range(e, s, (size_t)p, &a, depth + 1) ||
        eval_range(e, s + p + 1, len - (size_t)p - 1, &b, depth + 1) || b <= 0)
        return -1;
    *out = ceil_ ? -floor_div(-a, b) : floor_div(a, b);
    return 0;
}

static int eval_range(const eval_env *e, const char *s, size_t len,
                      int64_t *out, int depth)
{
    if (depth > 64)
        return -1;
    while (len && s[0] == ' ') {
        s++;
        len--;
    }
    while (len && s[len - 1] == ' ')
        len--;
    if (!len)
        return -1;
    for (size_t i = 0; i < e->n; i++)
        if (e->names[i] && strlen(e->names[i]) == len &&
            memcmp(e->names[i], s, len) == 0) {
            *out = e->values[i];
            return 0;
        }
    if (parse_int(s, len, out) == 0)
        return 0;
    long p = last_top(s, len, "+-", 1);
    if (p > 0) {
        int64_t a, b;
        if (eval_range(e, s, (size_t)p, &a, depth + 1) ||
            eval_range(e, s + p + 1, len - (size_t)p - 1, &b, depth + 1))
            return -1;
        *out = s[p] == '+' ? a + b : a - b;
        return 0;
    }
    p = last_top(s, len, "*", 0);
    if (p > 0) {
        int64_t a, b;
        if (eval_range(e, s, (size_t)p, &a, depth + 1) ||
            eval_range(e, s + p + 1, len - (size_t)p - 1, &b, depth + 1))
            return -1;
        *out = a * b;
        return 0;
    }
    if (s[0] == '-') {
        int64_t a;
        if (eval_range(e, s + 1, len - 1, &a, depth + 1))
            return -1;
        *out = -a;
        return 0;
    }
    if (len > 7 && memcmp(s, "floor(", 6) == 0 && wrapped(s + 5, len - 5))
        return eval_div(e, s + 6, len - 7, 0, out, depth);
    if (len > 6 && memcmp(s, "ceil(", 5) == 0 && wrapped(s + 4, len - 4))
        return eval_div(e, s + 5, len - 6, 1, out, depth);
    if (wrapped(s, len))
        return eval_range(e, s + 1, len - 2, out, depth + 1);
    return -1;
}

int onnxq_infer_dim_eval(const char *expr, const char *const *names,
                         const int64_t *values, size_t n, int64_t *out)
{
    if (!expr || !out)
        return -1;
    eval_env e = {names, values, n};
    return eval_range(&e, expr, strlen(expr), out, 0);
}

/* ---- types --------------------------------------------------------------- */

void oq_ty_init(oq_ty *t)
{
    t->elem = 0;
    t->rank = -1;
    t->n_val = -1;
    t->ival = NULL;
    t->fval = NULL;
}

void oq_ty_drop_vals(oq_ty *t)
{
    free(t->ival);
    free(t->fval);
    t->ival = NULL;
    t->fval = NULL;
    t->n_val = -1;
}

void oq_ty_clear(oq_ty *t)
{
    oq_ty_drop_vals(t);
    oq_ty_init(t);
}

int oq_ty_copy(oq_ty *dst, const oq_ty *src)
{
    if (dst == src)
        return 0;
    oq_ty_clear(dst);
    dst->elem = src->elem;
    oq_ty_copy_shape(dst, src);
    if (src->n_val >= 0) {
        if (src->ival)
            return oq_ty_set_ivals(dst, src->ival, src->n_val);
        if (src->fval)
            return oq_ty_set_fvals(dst, src->fval, src->n_val);
    }
    return 0;
}

void oq_ty_copy_shape(oq_ty *dst, const oq_ty *src)
{
    dst->rank = src->rank;
    for (int i = 0; i < src->rank; i++)
        dst->dims[i] = src->dims[i];
}

void oq_ty_set_shape(oq_ty *t, int rank, const oq_dim *dims)
{
    if (rank < 0 || rank > OQ_INF_MAX_RANK) {
        t->rank = -1;
        return;
    }
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
}

void oq_ty_set_known_shape(oq_ty *t, int rank, const int64_t *dims)
{
    if (rank < 0 || rank > OQ_INF_MAX_RANK) {
        t->rank = -1;
        return;
    }
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i] >= 0 ? oq_dval(dims[i]) : oq_dunk();
}

int oq_ty_set_ivals(oq_ty *t, const oq_dim *v, int n)
{
    oq_ty_drop_vals(t);
    if (n < 0 || n > OQ_INF_MAX_VAL)
        return 0;
    t->ival = malloc((size_t)(n ? n : 1) * sizeof *t->ival);
    if (!t->ival)
        return -1;
    if (n)
        memcpy(t->ival, v, (size_t)n * sizeof *v);
    t->n_val = n;
    return 0;
}

int oq_ty_set_fvals(oq_ty *t, const double *v, int n)
{
    oq_ty_drop_vals(t);
    if (n < 0 || n > OQ_INF_MAX_VAL)
        return 0;
    t->fval = malloc((size_t)(n ? n : 1) * sizeof *t->fval);
    if (!t->fval)
        return -1;
    if (n)
        memcpy(t->fval, v, (size_t)n * sizeof *v);
    t->n_val = n;
    return 0;
}

int64_t oq_ty_numel(const oq_ty *t)
{
    if (t->rank < 0)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i].kind != OQ_DIM_VALUE || t->dims[i].v < 0)
            return -1;
        if (t->dims[i].v && n > INT64_MAX / t->dims[i].v)
            return -1;
        n *= t->dims[i].v;
    }
    return n;
}

oq_dim oq_ty_numel_dim(oq_inf *inf, const oq_ty *t)
{
    if (t->rank < 0)
        return oq_dunk();
    oq_dim n = oq_dval(1);
    for (int i = 0; i < t->rank; i++)
        n = oq_dim_mul(inf, n, t->dims[i]);
    return n;
}

int oq_ty_same(const oq_ty *a, const oq_ty *b)
{
    if (a->elem != b->elem || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++) {
        const oq_dim *x = &a->dims[i], *y = &b->dims[i];
        if (x->kind != y->kind ||
            (x->kind != OQ_DIM_UNKNOWN && !oq_dim_same(x, y)))
            return 0;
    }
    return 1;
}

int oq_ty_merge(oq_ty *dst, const oq_ty *a, const oq_ty *b)
{
    oq_ty r;
    oq_ty_init(&r);
    /* a valid model gives both the same element type: take the known one */
    r.elem = a->elem ? a->elem : b->elem;
    if (a->elem && b->elem && a->elem != b->elem)
        r.elem = 0;
    if (a->rank >= 0 && a->rank == b->rank) {
        r.rank = a->rank;
        for (int i = 0; i < a->rank; i++)
            r.dims[i] = oq_dim_same(&a->dims[i], &b->dims[i]) ? a->dims[i]
                                                               : oq_dunk();
    }
    int same_vals = r.rank >= 0 && a->n_val >= 0 && a->n_val == b->n_val &&
                    !a->fval == !b->fval;
    for (int i = 0; same_vals && i < a->n_val; i++)
        same_vals = a->ival ? oq_dim_same(&a->ival[i], &b->ival[i])
                            : a->fval[i] == b->fval[i];
    int rc = 0;
    if (same_vals)
        rc = a->ival ? oq_ty_set_ivals(&r, a->ival, a->n_val)
                     : oq_ty_set_fvals(&r, a->fval, a->n_val);
    oq_ty_clear(dst);
    *dst = r;
    return rc;
}

int oq_elem_is_float(int32_t e)
{
    return e == OQ_T_FLOAT || e == OQ_T_DOUBLE || e == OQ_T_FLOAT16 ||
           e == OQ_T_BFLOAT16;
}

int oq_elem_is_int(int32_t e)
{
    switch (e) {
    case OQ_T_UINT8: case OQ_T_INT8: case OQ_T_UINT16: case OQ_T_INT16:
    case OQ_T_INT32: case OQ_T_INT64: case OQ_T_UINT32: case OQ_T_UINT64:
    case OQ_T_BOOL:
        return 1;
    }
    return 0;
}

/* Element i of packed little-endian data of type e. */
static int64_t read_int(const unsigned char *p, int32_t e, size_t i)
{
    switch (e) {
    case OQ_T_UINT8: return ((const uint8_t *)p)[i];
    case OQ_T_BOOL: return ((const uint8_t *)p)[i] != 0;
    case OQ_T_INT8: return ((const int8_t *)p)[i];
    case OQ_T_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OQ_T_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OQ_T_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OQ_T_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OQ_T_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    case OQ_T_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (int64_t)v; }
    }
    return 0;
}

static double read_float(const unsigned char *p, int32_t e, size_t i)
{
    switch (e) {
    case OQ_T_FLOAT: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case OQ_T_DOUBLE: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    case OQ_T_FLOAT16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return onnxq_half_to_float(v);
    }
    case OQ_T_BFLOAT16: {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        return onnxq_bfloat16_to_float(v);
    }
    }
    return 0;
}

onnxq_status oq_ty_from_tensor(oq_inf *inf, const Onnx__TensorProto *t,
                               int with_vals, oq_ty *out)
{
    oq_ty_clear(out);
    out->elem = t->has_data_type ? t->data_type : 0;
    if (t->n_dims > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    oq_ty_set_known_shape(out, (int)t->n_dims, t->dims);
    int64_t n = oq_ty_numel(out);
    if (!with_vals || n < 0 || n > OQ_INF_MAX_VAL ||
        !(oq_elem_is_int(out->elem) || oq_elem_is_float(out->elem)))
        return ONNXQ_OK;
    size_t es = onnxq_dtype_size(out->elem);
    unsigned char *buf = malloc((size_t)n * es + 1);
    if (!buf)
        return oq_inf_oom(inf);
    /* data that cannot be read (bad external reference, wrong length) just
     * leaves the contents unknown: the checker reports such tensors */
    if (onnxq_tensor_copy_data(inf->model, t, buf, (size_t)n * es, NULL) ==
        ONNXQ_OK) {
        int rc = 0;
        if (oq_elem_is_int(out->elem)) {
            oq_dim v[OQ_INF_MAX_VAL];
            for (int64_t i = 0; i < n; i++)
                v[i] = oq_dval(read_int(buf, out->elem, (size_t)i));
            rc = oq_ty_set_ivals(out, v, (int)n);
        } else {
            double v[OQ_INF_MAX_VAL];
            for (int64_t i = 0; i < n; i++)
                v[i] = read_float(buf, out->elem, (size_t)i);
            rc = oq_ty_set_fvals(out, v, (int)n);
        }
        if (rc) {
            free(buf);
            return oq_inf_oom(inf);
        }
    }
    free(buf);
    return ONNXQ_OK;
}

onnxq_status oq_ty_from_value_info(oq_inf *inf, const Onnx__ValueInfoProto *vi,
                                   oq_ty *out)
{
    oq_ty_clear(out);
    if (!vi || !vi->type ||
        vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type)
        return ONNXQ_OK;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    out->elem = tt->has_elem_type ? tt->elem_type : 0;
    const Onnx__TensorShapeProto *sh = tt->shape;
    if (!sh || sh->n_dim > OQ_INF_MAX_RANK)
        return ONNXQ_OK;
    out->rank = (int)sh->n_dim;
    for (size_t i = 0; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        out->dims[i] = oq_dunk();
        if (d->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            d->dim_value >= 0) {
            out->dims[i] = oq_dval(d->dim_value);
        } else if (d->value_case ==
                       ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param && d->dim_param[0] && inf->opts.symbolic) {
            int32_t a = oq_inf_atom(inf, d->dim_param);
            if (a < 0)
                return inf->st;
            out->dims[i] = oq_dsym(a);
        }
    }
    return ONNXQ_OK;
}
