/*
 * matmul.c — reference matrix products: ai.onnx MatMul, Gemm, Einsum and
 * com.microsoft FusedMatMul.
 *
 * Floating-point types (float16, bfloat16, float32, float64) are widened to
 * double once, multiplied and summed in double, and rounded once into the
 * output type, so the reference is at least as exact as any fast kernel.
 * Integer MatMul and Einsum (int32, int64, uint32, uint64) work in 64-bit
 * unsigned arithmetic, whose wrap-around, truncated to the output width,
 * is exactly the wrap-around of the type itself (what ONNX Runtime's
 * integer products give).
 *
 * MatMul follows numpy.matmul: a 1-D first operand is a row [1, K] and a
 * 1-D second operand a column [K, 1] (the added dim is dropped from the
 * result); dims before the last two broadcast.  Gemm's C broadcasts one
 * way, to [M, N].  Einsum supports the whole equation language: implicit
 * output (ellipsis dims, then the letters used once, in ASCII order),
 * ellipsis broadcasting, and repeated letters (diagonals, traces).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "ref_kernels.h"

enum {
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    T_UINT32 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32,
    T_UINT64 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
};

/* ---- small helpers ---------------------------------------------------------- */

static int is_int_type(int32_t t)
{
    return t == T_INT32 || t == T_INT64 || t == T_UINT32 || t == T_UINT64;
}

/* An integer tensor as a malloc'd uint64 array (two's complement: values
 * of signed types sign-extend, so products wrap like the type's own). */
static uint64_t *load_u64(oq_kctx *ctx, const oq_tensor *t)
{
    size_t n = oq_numel(t);
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory (%zu elements)",
                 n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)oq_get_i64(t, i);
    return v;
}

/* Keeps the low bits of each value: the result modulo 2^width. */
static void store_u64(oq_tensor *t, const uint64_t *v)
{
    size_t n = oq_numel(t);
    for (size_t i = 0; i < n; i++)
        switch (t->dtype) {
        case T_INT32: ((int32_t *)t->data)[i] = (int32_t)(uint32_t)v[i]; break;
        case T_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v[i]; break;
        case T_INT64: ((int64_t *)t->data)[i] = (int64_t)v[i]; break;
        case T_UINT64: ((uint64_t *)t->data)[i] = v[i]; break;
        }
}

/* ---- batched matrix products ------------------------------------------------ */

/* One product problem: batch dims broadcast between A and B, then
 * [M, K] x [K, N].  A row i, column k sits at a_rs * i + a_cs * k from its
 * matrix start, so a transposed operand is just swapped strides. */
typedef struct mm_problem {
    int batch_rank;
    int64_t batch[OQ_MAX_RANK];     /* broadcast batch dims */
    int64_t a_bstride[OQ_MAX_RANK]; /* A's matrix stride per batch dim; 0 if broadcast */
    int64_t b_bstride[OQ_MAX_RANK];
    int64_t m, k, n;
    int64_t a_rs, a_cs, b_rs, b_cs;
} mm_problem;

/* Offsets of batch item `item` (flat over p->batch) in A and B. */
static void mm_batch_offsets(const mm_problem *p, int64_t item, int64_t *a_off,
                             int64_t *b_off)
{
    *a_off = *b_off = 0;
    for (int d = p->batch_rank - 1; d >= 0; d--) {
        int64_t i = item % p->batch[d];
        item /= p->batch[d];
        *a_off += i * p->a_bstride[d];
        *b_off += i * p->b_bstride[d];
    }
}

static void mm_f64(const mm_problem *p, const double *a, const double *b,
                   double *y, int nt)
{
    int64_t items = (int64_t)oq_numel_dims(p->batch, p->batch_rank);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < items; it++) {
        int64_t ao, bo;
        mm_batch_offsets(p, it, &ao, &bo);
        double *yy = y + it * p->m * p->n;
        /* i, k, j order: the inner loop walks a row of B and of Y */
        for (int64_t i = 0; i < p->m; i++) {
            double *row = yy + i * p->n;
            for (int64_t kk = 0; kk < p->k; kk++) {
                double av = a[ao + i * p->a_rs + kk * p->a_cs];
                const double *brow = b + bo + kk * p->b_rs;
                for (int64_t j = 0; j < p->n; j++)
                    row[j] += av * brow[j * p->b_cs];
            }
        }
    }
}

static void mm_u64(const mm_problem *p, const uint64_t *a, const uint64_t *b,
                   uint64_t *y, int nt)
{
    int64_t items = (int64_t)oq_numel_dims(p->batch, p->batch_rank);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t it = 0; it < items; it++) {
        int64_t ao, bo;
        mm_batch_offsets(p, it, &ao, &bo);
        uint64_t *yy = y + it * p->m * p->n;
        for (int64_t i = 0; i < p->m; i++) {
            uint64_t *row = yy + i * p->n;
            for (int64_t kk = 0; kk < p->k; kk++) {
                uint64_t av = a[ao + i * p->a_rs + kk * p->a_cs];
                const uint64_t *brow = b + bo + kk * p->b_rs;
                for (int64_t j = 0; j < p->n; j++)
                    row[j] += av * brow[j * p->b_cs];
            }
        }
    }
}

/*
 * Shapes a numpy-style product of A and B (transposing the last two dims
 * of an operand of rank >= 2 when asked), fills p, and writes the output
 * shape.  Fails the node if the shapes do not fit.
 */
static onnxq_status mm_shape(oq_kctx *ctx, const oq_tensor *a,
                             const oq_tensor *b, int trans_a, int trans_b,
                             mm_problem *p, int *out_rank, int64_t *out_dims)
{
    char sa[128], sb[128];
    if (a->rank < 1 || b->rank < 1)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A %s and B %s must have rank >= 1",
                        oq_shape_str(a, sa, sizeof sa),
                        oq_shape_str(b, sb, sizeof sb));
    /* A as [..., M, K], B as [..., K, N] with row/column strides */
    int64_t am, ak, bk, bn;
    if (a->rank == 1) {
        am = 1;
        ak = a->dims[0];
        p->a_rs = 0;
        p->a_cs = 1;
    } else {
        int64_t r = a->dims[a->rank - 2], c = a->dims[a->rank - 1];
        am = trans_a ? c : r;
        ak = trans_a ? r : c;
        p->a_rs = trans_a ? 1 : c;
        p->a_cs = trans_a ? c : 1;
    }
    if (b->rank == 1) {
        bk = b->dims[0];
        bn = 1;
        p->b_rs = 1;
        p->b_cs = 0;
    } else {
        int64_t r = b->dims[b->rank - 2], c = b->dims[b->rank - 1];
        bk = trans_b ? c : r;
        bn = trans_b ? r : c;
        p->b_rs = trans_b ? 1 : c;
        p->b_cs = trans_b ? c : 1;
    }
    if (ak != bk)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A %s%s and B %s%s: inner dims %lld and %lld differ",
                        oq_shape_str(a, sa, sizeof sa),
                        trans_a ? " (transposed)" : "",
                        oq_shape_str(b, sb, sizeof sb),
                        trans_b ? " (transposed)" : "", (long long)ak,
                        (long long)bk);
    p->m = am;
    p->k = ak;
    p->n = bn;
    /* batch dims, right-aligned, numpy broadcasting */
    int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
    int r = ra > rb ? ra : rb;
    int64_t as = am * ak, bs = bk * bn; /* matrix sizes = innermost batch strides */
    p->batch_rank = r;
    for (int d = r - 1; d >= 0; d--) {
        int da = d - (r - ra), db = d - (r - rb);
        int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
        if (x != y && x != 1 && y != 1)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "A %s and B %s: batch dims do not broadcast",
                            oq_shape_str(a, sa, sizeof sa),
                            oq_shape_str(b, sb, sizeof sb));
        p->batch[d] = x == 1 ? y : x;
        p->a_bstride[d] = x == 1 ? 0 : as;
        p->b_bstride[d] = y == 1 ? 0 : bs;
        as *= x;
        bs *= y;
    }
    int n = 0;
    for (int d = 0; d < r; d++)
        out_dims[n++] = p->batch[d];
    if (a->rank > 1)
        out_dims[n++] = am;
    if (b->rank > 1)
        out_dims[n++] = bn;
    *out_rank = n;
    return ONNXQ_OK;
}

/* MatMul and FusedMatMul: Y = alpha * op(A) @ op(B). */
static onnxq_status matmul_impl(oq_kctx *ctx, int trans_a, int trans_b,
                                double alpha)
{
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    if (!a || !b)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "inputs A and B are required");
    int is_int = is_int_type(a->dtype);
    if (a->dtype != b->dtype || !(oq_is_float(a->dtype) || is_int))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "A is %s and B is %s: both must be the same of "
                        "float16, bfloat16, float32, float64, int32, int64, "
                        "uint32, uint64", onnxq_dtype_name(a->dtype),
                        onnxq_dtype_name(b->dtype));
    mm_problem p;
    int rank;
    int64_t dims[OQ_MAX_RANK];
    onnxq_status st = mm_shape(ctx, a, b, trans_a, trans_b, &p, &rank, dims);
    if (st != ONNXQ_OK)
        return st;
    oq_tensor *y = oq_output(ctx, 0, a->dtype, rank, dims);
    if (!y)
        return oq_failed(ctx);
    size_t ny = oq_numel(y);
    int nt = oq_threads(ctx);
    if (is_int) {
        uint64_t *av = load_u64(ctx, a), *bv = av ? load_u64(ctx, b) : NULL;
        uint64_t *yv = bv ? calloc(ny ? ny : 1, sizeof *yv) : NULL;
        if (bv && !yv)
            oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
        if (yv) {
            mm_u64(&p, av, bv, yv, nt);
            store_u64(y, yv);
        }
        free(av);
        free(bv);
        free(yv);
        return yv ? ONNXQ_OK : oq_failed(ctx);
    }
    double *av = oq_load_f64(ctx, a), *bv = av ? oq_load_f64(ctx, b) : NULL;
    double *yv = bv ? calloc(ny ? ny : 1, sizeof *yv) : NULL;
    if (bv && !yv)
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    if (yv) {
        mm_f64(&p, av, bv, yv, nt);
        if (alpha != 1)
            for (size_t i = 0; i < ny; i++)
                yv[i] *= alpha;
        oq_store_f64(y, yv);
    }
    free(av);
    free(bv);
    free(yv);
    return yv ? ONNXQ_OK : oq_failed(ctx);
}

static onnxq_status run_matmul(oq_kctx *ctx)
{
    return matmul_impl(ctx, 0, 0, 1);
}

/* com.microsoft FusedMatMul: MatMul with transposes and a scale folded in.
 * transBatchA/B (moving the batch dims next to the matrix dims) are not
 * implemented. */
static onnxq_status run_fused_matmul(oq_kctx *ctx)
{
    int64_t tba = oq_attr_int(ctx, "transBatchA", 0);
    int64_t tbb = oq_attr_int(ctx, "transBatchB", 0);
    if (tba || tbb)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "transBatchA = %lld, transBatchB = %lld: only 0 is "
                        "supported", (long long)tba, (long long)tbb);
    const oq_tensor *a = oq_in(ctx, 0);
    if (a && !oq_is_float(a->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "A is %s; FusedMatMul takes float16, bfloat16, "
                        "float32, float64", onnxq_dtype_name(a->dtype));
    return matmul_impl(ctx, oq_attr_int(ctx, "transA", 0) != 0,
                       oq_attr_int(ctx, "transB", 0) != 0,
                       oq_attr_float(ctx, "alpha", 1.0f));
}

/* ---- Gemm ------------------------------------------------------------------- */

/* Y = alpha * op(A) @ op(B) + beta * C, A and B 2-D, C broadcast one way to
 * [M, N].  (Gemm 1..6's `broadcast` attribute only allowed what
 * unidirectional broadcasting allows, so it needs no handling.) */
static onnxq_status run_gemm(oq_kctx *ctx)
{
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1), *c = oq_in(ctx, 2);
    char sa[128], sb[128];
    if (!a || !b)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "inputs A and B are required");
    if (a->dtype != b->dtype || (c && c->dtype != a->dtype) ||
        !(oq_is_float(a->dtype) || is_int_type(a->dtype)))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "A is %s, B is %s%s%s: all must be the same of "
                        "float16, bfloat16, float32, float64, int32, int64, "
                        "uint32, uint64", onnxq_dtype_name(a->dtype),
                        onnxq_dtype_name(b->dtype), c ? ", C is " : "",
                        c ? onnxq_dtype_name(c->dtype) : "");
    if (a->rank != 2 || b->rank != 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "A %s and B %s must be 2-D",
                        oq_shape_str(a, sa, sizeof sa),
                        oq_shape_str(b, sb, sizeof sb));
    int trans_a = oq_attr_int(ctx, "transA", 0) != 0;
    int trans_b = oq_attr_int(ctx, "transB", 0) != 0;
    double alpha = oq_attr_float(ctx, "alpha", 1.0f);
    double beta = oq_attr_float(ctx, "beta", 1.0f);
    mm_problem p;
    int rank;
    int64_t dims[OQ_MAX_RANK];
    onnxq_status st = mm_shape(ctx, a, b, trans_a, trans_b, &p, &rank, dims);
    if (st != ONNXQ_OK)
        return st;
    /* C's strides over [M, N]: 0 along a dim it stretches */
    int64_t c_rs = 0, c_cs = 0;
    if (c) {
        int64_t cm = c->rank == 2 ? c->dims[0] : 1;
        int64_t cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if (c->rank > 2 || (cm != 1 && cm != p.m) || (cn != 1 && cn != p.n))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "C %s does not broadcast to [%lld, %lld]",
                            oq_shape_str(c, sa, sizeof sa),
                            (long long)p.m, (long long)p.n);
        c_rs = cm == 1 ? 0 : cn;
        c_cs = cn == 1 ? 0 : 1;
    }
    oq_tensor *y = oq_output(ctx, 0, a->dtype, 2, dims);
    if (!y)
        return oq_failed(ctx);
    size_t ny = oq_numel(y);
    double *av = oq_load_f64(ctx, a), *bv = av ? oq_load_f64(ctx, b) : NULL;
    double *cv = bv && c ? oq_load_f64(ctx, c) : NULL;
    double *yv = bv && (cv || !c) ? calloc(ny ? ny : 1, sizeof *yv) : NULL;
    if (bv && (cv || !c) && !yv)
        oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    if (yv) {
        mm_f64(&p, av, bv, yv, oq_threads(ctx));
        for (int64_t i = 0; i < p.m; i++)
            for (int64_t j = 0; j < p.n; j++) {
                double *v = &yv[i * p.n + j];
                *v = alpha * *v + (cv ? beta * cv[i * c_rs + j * c_cs] : 0);
            }
        oq_store_f64(y, yv);
    }
    free(av);
    free(bv);
    free(cv);
    free(yv);
    return yv ? ONNXQ_OK : oq_failed(ctx);
}

/* ---- Einsum ----------------------------------------------------------------- */

/*
 * Labels: 'A'..'Z' are 0..25, 'a'..'z' 26..51 (so label order is ASCII
 * order), and the dims an ellipsis stands for are 52 + j, j counting from
 * the left of the widest ellipsis (operands with fewer ellipsis dims are
 * right-aligned, as numpy broadcasts them).
 */
enum { N_LETTERS = 52, MAX_LABELS = N_LETTERS + OQ_MAX_RANK, MAX_TERM = 64 };

typedef struct einsum_term {
    int n;                 /* labels, ellipsis expanded */
    int label[MAX_TERM];
    int has_ellipsis;
} einsum_term;

static int letter_label(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return 26 + (ch - 'a');
    return -1;
}

/* Parses one term (letters, at most one "...") of an operand with `rank`
 * dims (rank < 0 for the output, whose ellipsis is n_ell dims).  Returns 0
 * or -1 with why set. */
static int parse_term(const char *s, size_t len, int rank, int n_ell,
                      einsum_term *t, const char **why)
{
    int letters = 0;
    t->n = 0;
    t->has_ellipsis = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            if (t->has_ellipsis || i + 2 >= len || s[i + 1] != '.' ||
                s[i + 2] != '.') {
                *why = t->has_ellipsis ? "a term has two ellipses"
                                       : "a lone '.' (not '...')";
                return -1;
            }
            t->has_ellipsis = 1;
            i += 2;
            continue;
        }
        if (letter_label(s[i]) < 0) {
            *why = "a character that is not a letter, ',', '...' or '->'";
            return -1;
        }
        letters++;
    }
    int ell = rank >= 0 ? rank - letters : n_ell;
    if (rank >= 0 && (ell < 0 || (!t->has_ellipsis && ell != 0))) {
        *why = "a term's letters do not match its operand's rank";
        return -1;
    }
    if (!t->has_ellipsis)
        ell = 0;
    if (letters + ell > MAX_TERM) {
        *why = "a term is too long";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            for (int j = 0; j < ell; j++)
                t->label[t->n++] = N_LETTERS + (n_ell - ell) + j;
            i += 2;
            continue;
        }
        t->label[t->n++] = letter_label(s[i]);
    }
    return 0;
}

static onnxq_status run_einsum(oq_kctx *ctx)
{
    char eq[512];
    const char *e = oq_attr_string(ctx, "equation", NULL, eq, sizeof eq);
    if (!e)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "attribute equation is missing");
    size_t n_in = ctx->n_in;
    if (n_in < 1 || n_in > 16)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "%zu operands; onnxq's Einsum takes 1 to 16", n_in);
    int32_t dtype = 0;
    for (size_t i = 0; i < n_in; i++) {
        const oq_tensor *t = oq_in(ctx, i);
        if (!t)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "operand %zu is missing", i);
        if (i == 0)
            dtype = t->dtype;
        if (t->dtype != dtype ||
            !(oq_is_float(dtype) || is_int_type(dtype)))
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "operand %zu is %s: all operands must be the same "
                            "of float16, bfloat16, float32, float64, int32, "
                            "int64, uint32, uint64", i,
                            onnxq_dtype_name(t->dtype));
    }

    /* split "in0,in1,...->out" */
    const char *arrow = strstr(e, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - e) : strlen(e);
    einsum_term terms[16], out_term;
    const char *why = NULL;
    int n_ell = 0;
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= lhs_len; i++) {
        if (i < lhs_len && e[i] != ',')
            continue;
        if (k >= n_in) {
            why = "more terms than operands";
            break;
        }
        const oq_tensor *t = oq_in(ctx, k);
        /* the ellipsis count is only known after all terms: parse twice */
        if (parse_term(e + start, i - start, t->rank, OQ_MAX_RANK, &terms[k],
                       &why) != 0)
            break;
        int letters = 0;
        for (int j = 0; j < terms[k].n; j++)
            letters += terms[k].label[j] < N_LETTERS;
        if (terms[k].n - letters > n_ell)
            n_ell = terms[k].n - letters;
        k++;
        start = i + 1;
    }
    if (!why && k != n_in)
        why = "fewer terms than operands";
    /* second pass: right-align every ellipsis against the widest */
    start = 0;
    k = 0;
    for (size_t i = 0; !why && i <= lhs_len; i++) {
        if (i < lhs_len && e[i] != ',')
            continue;
        parse_term(e + start, i - start, oq_in(ctx, k)->rank, n_ell, &terms[k],
                   &why);
        k++;
        start = i + 1;
    }
    if (why)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT, "equation '%s': %s",
                        e, why);

    /* label sizes; a size-1 ellipsis dim broadcasts */
    int64_t size[MAX_LABELS];
    int count[MAX_LABELS] = {0};
    for (int l = 0; l < MAX_LABELS; l++)
        size[l] = -1;
    for (size_t i = 0; i < n_in; i++) {
        const oq_tensor *t = oq_in(ctx, i);
        for (int d = 0; d < terms[i].n; d++) {
            int l = terms[i].label[d];
            int64_t s = t->dims[d];
            count[l]++;
            if (size[l] < 0 || (l >= N_LETTERS && size[l] == 1))
                size[l] = s;
            else if (s != size[l] && !(l >= N_LETTERS && s == 1))
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "equation '%s': operand %zu dim %d (%s%c) is "
                                "%lld, but %lld elsewhere", e, i, d,
                                l < N_LETTERS ? "letter " : "ellipsis dim ",
                                l < 26 ? 'A' + l : l < N_LETTERS ? 'a' + (l - 26)
                                                                  : '0' + (l - N_LETTERS),
                                (long long)s, (long long)size[l]);
        }
    }

    /* the output term: given, or implicit (ellipsis, then letters used
     * exactly once, in ASCII order) */
    if (arrow) {
        const char *o = arrow + 2;
        /* ellipsis dims left out of an explicit output are summed, like
         * any label not in the output */
        if (parse_term(o, strlen(o), -1, n_ell, &out_term, &why) != 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "equation '%s': %s", e, why);
    } else {
        out_term.n = 0;
        for (int j = 0; j < n_ell; j++)
            out_term.label[out_term.n++] = N_LETTERS + j;
        for (int l = 0; l < N_LETTERS; l++)
            if (count[l] == 1)
                out_term.label[out_term.n++] = l;
    }
    int in_out[MAX_LABELS] = {0};
    for (int d = 0; d < out_term.n; d++) {
        int l = out_term.label[d];
        if (size[l] < 0 || in_out[l])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "equation '%s': output letter '%c' %s", e,
                            l < 26 ? 'A' + l : 'a' + (l - 26),
                            in_out[l] ? "is repeated" : "is in no operand");
        in_out[l] = 1;
    }
    if (out_term.n > OQ_MAX_RANK)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "equation '%s': output rank %d is above %d", e,
                        out_term.n, OQ_MAX_RANK);

    /* every label is an output dim or summed over; each operand steps
     * through its data with one stride per label (repeated letters add
     * their strides: that walks the diagonal) */
    int n_sum = 0, sum_label[MAX_LABELS];
    for (int l = 0; l < MAX_LABELS; l++)
        if (size[l] >= 0 && !in_out[l])
            sum_label[n_sum++] = l;
    int64_t stride[16][MAX_LABELS];
    memset(stride, 0, sizeof stride);
    for (size_t i = 0; i < n_in; i++) {
        const oq_tensor *t = oq_in(ctx, i);
        int64_t s = 1;
        for (int d = terms[i].n - 1; d >= 0; d--) {
            if (t->dims[d] != 1)
                stride[i][terms[i].label[d]] += s;
            s *= t->dims[d];
        }
    }
    int64_t dims[OQ_MAX_RANK], sum_dims[MAX_LABELS];
    for (int d = 0; d < out_term.n; d++)
        dims[d] = size[out_term.label[d]];
    for (int j = 0; j < n_sum; j++)
        sum_dims[j] = size[sum_label[j]];
    oq_tensor *y = oq_output(ctx, 0, dtype, out_term.n, dims);
    if (!y)
        return oq_failed(ctx);
    int64_t n_out = (int64_t)oq_numel(y);
    int64_t n_terms = (int64_t)oq_numel_dims(sum_dims, n_sum);
    int is_int = is_int_type(dtype);

    double *fv[16] = {0}, *fy = NULL;
    uint64_t *iv[16] = {0}, *iy = NULL;
    int ok = 1;
    for (size_t i = 0; i < n_in && ok; i++)
        ok = is_int ? (iv[i] = load_u64(ctx, oq_in(ctx, i))) != NULL
                    : (fv[i] = oq_load_f64(ctx, oq_in(ctx, i))) != NULL;
    if (ok) {
        if (is_int)
            ok = (iy = calloc(n_out ? (size_t)n_out : 1, sizeof *iy)) != NULL;
        else
            ok = (fy = calloc(n_out ? (size_t)n_out : 1, sizeof *fy)) != NULL;
        if (!ok)
            oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (ok) {
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static)
        for (int64_t o = 0; o < n_out; o++) {
            /* each operand's offset for this output element */
            int64_t base[16] = {0}, rem = o;
            for (int d = out_term.n - 1; d >= 0; d--) {
                int64_t c = rem % dims[d];
                rem /= dims[d];
                for (size_t i = 0; i < n_in; i++)
                    base[i] += c * stride[i][out_term.label[d]];
            }
            int64_t idx[MAX_LABELS] = {0}, off[16];
            memcpy(off, base, sizeof off);
            double fsum = 0;
            uint64_t isum = 0;
            for (int64_t t = 0; t < n_terms; t++) {
                if (is_int) {
                    uint64_t prod = 1;
                    for (size_t i = 0; i < n_in; i++)
                        prod *= iv[i][off[i]];
                    isum += prod;
                } else {
                    double prod = 1;
                    for (size_t i = 0; i < n_in; i++)
                        prod *= fv[i][off[i]];
                    fsum += prod;
                }
                /* next summation index, updating offsets incrementally */
                for (int j = n_sum - 1; j >= 0; j--) {
                    int l = sum_label[j];
                    if (++idx[j] < sum_dims[j]) {
                        for (size_t i = 0; i < n_in; i++)
                            off[i] += stride[i][l];
                        break;
                    }
                    for (size_t i = 0; i < n_in; i++)
                        off[i] -= stride[i][l] * (sum_dims[j] - 1);
                    idx[j] = 0;
                }
            }
            if (is_int)
                iy[o] = isum;
            else
                fy[o] = fsum;
        }
        if (is_int)
            store_u64(y, iy);
        else
            oq_store_f64(y, fy);
    }
    for (size_t i = 0; i < n_in; i++) {
        free(fv[i]);
        free(iv[i]);
    }
    free(fy);
    free(iy);
    return ok ? ONNXQ_OK : oq_failed(ctx);
}

/* ---- table ------------------------------------------------------------------ */

/* MatMul and Gemm from opset 1: the old versions compute the same thing
 * (Gemm 1..6 only add the `broadcast` flag), so old exports run too. */
OQ_KERNEL_TABLE(oq_ref_matmul_kernels) = {
    {"", "MatMul", 1, 21, run_matmul},
    {"", "Gemm", 1, 21, run_gemm},
    {"", "Einsum", 12, 21, run_einsum},
    {"com.microsoft", "FusedMatMul", 1, 1, run_fused_matmul},
    {NULL, NULL, 0, 0, NULL},
};
