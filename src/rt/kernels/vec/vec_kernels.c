/*
 * vec_kernels.c — float32 fast kernels written for the compiler's
 * auto-vectoriser (Release builds are -O3; the hot loops are compiled as
 * target clones for AVX2, AVX-512F and the baseline, chosen when the
 * program loads): Add, Sub, Mul, Div with broadcasting; Relu, LeakyRelu,
 * Clip, HardSigmoid, HardSwish; BatchNormalization (inference);
 * GlobalAveragePool; Resize (nearest, integer upscale of the last two axes);
 * Sigmoid and Softmax through a vectorisable float exp (exp_f).
 *
 * Each element is computed by the same expression in the same precision as
 * the reference kernel (kernels/ref), and this file is built with
 * -ffp-contract=off so no multiply-add is fused: results are identical to
 * the reference's, except GlobalAveragePool, whose double sum is added in
 * another order (within one float rounding), and Sigmoid and Softmax, whose
 * exp is exp_f's, not the C library's double one (a few float ulps).
 * Whatever is not the common
 * case — other types, shapes that do not broadcast, attributes or modes not
 * listed — runs the node's reference kernel, which also reports errors.
 *
 * Outputs are taken with oq_output_raw (every element is written), and
 * loops are split over the session's threads (OQ_PAR_FOR: small tensors
 * stay on one thread).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "vec_kernels.h"
#include "vec_stats.h"

#define CLONES __attribute__((target_clones("avx2", "avx512f", "default")))

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
       CHUNK = 1 << 14 /* elements per parallel piece of a flat loop */ };

typedef struct vec_state {
    const oq_kernel *ref;   /* the node's reference kernel */
} vec_state;

static onnxq_status vec_prepare(const oq_prepare_ctx *p, void **state)
{
    const char *domain = p->node->domain ? p->node->domain : "";
    int cf;
    const oq_kernel *ref = oq_find_kernel(domain, p->node->op_type, p->opset,
                                          &cf);
    if (!ref || !ref->run)
        return ONNXQ_ERR_UNSUPPORTED;
    vec_state *st = malloc(sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    st->ref = ref;
    *state = st;
    return ONNXQ_OK;
}

static void vec_release(void *state) { free(state); }

static _Atomic size_t n_fast, n_fallback;

oq_vec_stats oq_vec_stats_get(void)
{
    return (oq_vec_stats){n_fast, n_fallback};
}

static onnxq_status fallback(oq_kctx *ctx)
{
    n_fallback++;
    return ((const vec_state *)ctx->state)->ref->run(ctx);
}

/* The fast path's end: counted when it succeeded. */
static onnxq_status done(void)
{
    n_fast++;
    return ONNXQ_OK;
}

static int is_f32(const oq_tensor *t) { return t && t->dtype == T_FLOAT; }

/* ---- binary arithmetic ----------------------------------------------------- */

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV } bin_op;

/* y = a op b over n elements; a or b is read with stride 0 (a scalar) when
 * its step is 0. */
CLONES static void bin_row(bin_op op, size_t n, const float *restrict a,
                           int sa, const float *restrict b, int sb,
                           float *restrict y)
{
#define BIN_LOOPS(OPR)                                                        \
    if (sa && sb)                                                             \
        for (size_t i = 0; i < n; i++)                                        \
            y[i] = a[i] OPR b[i];                                             \
    else if (sa) {                                                            \
        const float s = b[0];                                                 \
        for (size_t i = 0; i < n; i++)                                        \
            y[i] = a[i] OPR s;                                                \
    } else if (sb) {                                                          \
        const float s = a[0];                                                 \
        for (size_t i = 0; i < n; i++)                                        \
            y[i] = s OPR b[i];                                                \
    } else {                                                                  \
        const float s = a[0] OPR b[0];                                        \
        for (size_t i = 0; i < n; i++)                                        \
            y[i] = s;                                                         \
    }
    switch (op) {
    case B_ADD: BIN_LOOPS(+) break;
    case B_SUB: BIN_LOOPS(-) break;
    case B_MUL: BIN_LOOPS(*) break;
    case B_DIV: BIN_LOOPS(/) break;
    }
#undef BIN_LOOPS
}

/* Broadcast shape of a and b collapsed to the fewest dims: runs of dims
 * along which both operands are contiguous (or both constant) merge.
 * Returns the rank, or -1 if the shapes do not broadcast. */
static int collapse(const oq_tensor *a, const oq_tensor *b, int64_t *dims,
                    int64_t *sa, int64_t *sb, int64_t *out_dims, int *out_rank)
{
    int rank;
    if (oq_broadcast_shape(a, b, &rank, out_dims))
        return -1;
    *out_rank = rank;
    int64_t xa[OQ_MAX_RANK], xb[OQ_MAX_RANK];
    oq_broadcast_strides(a, rank, out_dims, xa);
    oq_broadcast_strides(b, rank, out_dims, xb);
    int r = 0;
    for (int d = 0; d < rank; d++) {
        if (out_dims[d] == 1)
            continue;
        if (r > 0 && sa[r - 1] == xa[d] * out_dims[d] &&
            sb[r - 1] == xb[d] * out_dims[d]) {
            dims[r - 1] *= out_dims[d];
            sa[r - 1] = xa[d];
            sb[r - 1] = xb[d];
            continue;
        }
        dims[r] = out_dims[d];
        sa[r] = xa[d];
        sb[r] = xb[d];
        r++;
    }
    if (r == 0) {
        dims[0] = 1;
        sa[0] = sb[0] = 0;
        r = 1;
    }
    return r;
}

static onnxq_status run_binary(oq_kctx *ctx, bin_op op)
{
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    if (ctx->n_in != 2 || !is_f32(a) || !is_f32(b))
        return fallback(ctx);
    int64_t dims[OQ_MAX_RANK], sa[OQ_MAX_RANK], sb[OQ_MAX_RANK];
    int64_t out_dims[OQ_MAX_RANK];
    int out_rank;
    int r = collapse(a, b, dims, sa, sb, out_dims, &out_rank);
    if (r < 0)
        return fallback(ctx);
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, out_rank, out_dims);
    if (!y)
        return oq_failed(ctx);
    size_t total = oq_numel(y);
    if (!total)
        return done();
    const float *pa = a->data, *pb = b->data;
    float *py = y->data;
    size_t inner = (size_t)dims[r - 1];
    int ia = sa[r - 1] != 0, ib = sb[r - 1] != 0;
    size_t rows = total / inner;
    int nt = oq_threads(ctx);
    if (rows == 1) {
        size_t pieces = (inner + CHUNK - 1) / CHUNK;
        OQ_PAR_FOR(nt, inner)
        for (size_t k = 0; k < pieces; k++) {
            size_t lo = k * CHUNK, n = inner - lo < CHUNK ? inner - lo : CHUNK;
            bin_row(op, n, pa + (ia ? lo : 0), ia, pb + (ib ? lo : 0), ib,
                    py + lo);
        }
        return done();
    }
    OQ_PAR_FOR(nt, total)
    for (size_t row = 0; row < rows; row++) {
        size_t rem = row, oa = 0, ob = 0;
        for (int d = r - 2; d >= 0; d--) {
            size_t i = rem % (size_t)dims[d];
            rem /= (size_t)dims[d];
            oa += i * (size_t)sa[d];
            ob += i * (size_t)sb[d];
        }
        bin_row(op, inner, pa + oa, ia, pb + ob, ib, py + row * inner);
    }
    return done();
}

static onnxq_status run_add(oq_kctx *ctx) { return run_binary(ctx, B_ADD); }
static onnxq_status run_sub(oq_kctx *ctx) { return run_binary(ctx, B_SUB); }
static onnxq_status run_mul(oq_kctx *ctx) { return run_binary(ctx, B_MUL); }
static onnxq_status run_div(oq_kctx *ctx) { return run_binary(ctx, B_DIV); }

/* ---- unary activations ----------------------------------------------------- */

typedef enum { U_RELU, U_LEAKY, U_CLIP, U_HSIG, U_HSWISH } un_op;

/* The reference's expressions (kernels/ref/elementwise.c), in float where
 * it computes in float; fmin/fmax there take doubles, which is exact. */
CLONES static void un_row(un_op op, size_t n, const float *restrict x,
                          float *restrict y, float p0, float p1)
{
    switch (op) {
    case U_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] > 0 ? x[i] : 0;
        break;
    case U_LEAKY:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] >= 0 ? x[i] : p0 * x[i];
        break;
    case U_CLIP: /* std::min(std::max(x, lo), hi): NaN stays NaN */
        for (size_t i = 0; i < n; i++) {
            float v = x[i] < p0 ? p0 : x[i];
            y[i] = p1 < v ? p1 : v;
        }
        break;
    case U_HSIG:
        for (size_t i = 0; i < n; i++) {
            float v = p0 * x[i] + p1;
            v = v < 1 ? v : 1;
            y[i] = v > 0 ? v : 0;
        }
        break;
    case U_HSWISH:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] * (float)(1.0 / 6) + 0.5f;
            v = v < 1 ? v : 1;
            y[i] = x[i] * (v > 0 ? v : 0);
        }
        break;
    }
}

static onnxq_status run_unary(oq_kctx *ctx, un_op op, float p0, float p1)
{
    const oq_tensor *x = oq_in(ctx, 0);
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t total = oq_numel(x), pieces = (total + CHUNK - 1) / CHUNK;
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, total)
    for (size_t k = 0; k < pieces; k++) {
        size_t lo = k * CHUNK, n = total - lo < CHUNK ? total - lo : CHUNK;
        un_row(op, n, px + lo, py + lo, p0, p1);
    }
    return done();
}

static onnxq_status run_relu(oq_kctx *ctx)
{
    if (ctx->n_in != 1 || !is_f32(oq_in(ctx, 0)))
        return fallback(ctx);
    return run_unary(ctx, U_RELU, 0, 0);
}

static onnxq_status run_leaky_relu(oq_kctx *ctx)
{
    if (ctx->n_in != 1 || !is_f32(oq_in(ctx, 0)))
        return fallback(ctx);
    return run_unary(ctx, U_LEAKY, oq_attr_float(ctx, "alpha", 0.01f), 0);
}

static onnxq_status run_hard_sigmoid(oq_kctx *ctx)
{
    if (ctx->n_in != 1 || !is_f32(oq_in(ctx, 0)))
        return fallback(ctx);
    return run_unary(ctx, U_HSIG, oq_attr_float(ctx, "alpha", 0.2f),
                     oq_attr_float(ctx, "beta", 0.5f));
}

static onnxq_status run_hard_swish(oq_kctx *ctx)
{
    if (ctx->n_in != 1 || !is_f32(oq_in(ctx, 0)))
        return fallback(ctx);
    return run_unary(ctx, U_HSWISH, 0, 0);
}

/* Clip: attributes min/max before opset 11, optional scalar inputs after;
 * an absent bound is the lowest / highest finite float, as the reference
 * has it. */
static onnxq_status run_clip(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!is_f32(x))
        return fallback(ctx);
    float lo = -FLT_MAX, hi = FLT_MAX;
    if (ctx->opset < 11) {
        if (ctx->n_in != 1)
            return fallback(ctx);
        lo = oq_attr_float(ctx, "min", -FLT_MAX);
        hi = oq_attr_float(ctx, "max", FLT_MAX);
    } else {
        if (ctx->n_in > 3)
            return fallback(ctx);
        for (size_t j = 1; j < ctx->n_in; j++) {
            const oq_tensor *b = oq_in(ctx, j);
            if (!b)
                continue;
            if (!is_f32(b) || oq_numel(b) != 1)
                return fallback(ctx);
            *(j == 1 ? &lo : &hi) = *(const float *)b->data;
        }
    }
    return run_unary(ctx, U_CLIP, lo, hi);
}

/* ---- BatchNormalization (inference) ------------------------------------------ */

/* y = x * a[c] + b[c] in double, a = scale / sqrt(var + eps) and
 * b = B - mean * a, as the reference computes them. */
CLONES static void affine_row(size_t n, const float *restrict x,
                              float *restrict y, double a, double b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)((double)x[i] * a + b);
}

static onnxq_status run_batch_norm(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (ctx->n_in != 5 || ctx->n_out != 1 || !is_f32(x) || x->rank < 2)
        return fallback(ctx);
    if (ctx->opset >= 14 && oq_attr_int(ctx, "training_mode", 0) != 0)
        return fallback(ctx);
    if (ctx->opset < 9 && oq_attr_int(ctx, "spatial", 1) == 0)
        return fallback(ctx);
    size_t N = (size_t)x->dims[0], C = (size_t)x->dims[1];
    size_t S = oq_numel_dims(x->dims + 2, x->rank - 2);
    const float *par[4];
    for (size_t i = 0; i < 4; i++) {
        const oq_tensor *t = oq_in(ctx, i + 1);
        if (!is_f32(t) || oq_numel(t) != C)
            return fallback(ctx);
        par[i] = t->data;
    }
    double eps = oq_attr_float(ctx, "epsilon", 1e-5f);
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    double *ab = oq_scratch(ctx, 2 * (C ? C : 1) * sizeof *ab);
    if (!ab)
        return oq_failed(ctx);
    for (size_t c = 0; c < C; c++) {
        ab[2 * c] = (double)par[0][c] / sqrt((double)par[3][c] + eps);
        ab[2 * c + 1] = (double)par[1][c] - (double)par[2][c] * ab[2 * c];
    }
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    size_t rows = N * C;
    OQ_PAR_FOR(nt, rows * S)
    for (size_t r = 0; r < rows; r++) {
        size_t c = r % C;
        affine_row(S, px + r * S, py + r * S, ab[2 * c], ab[2 * c + 1]);
    }
    return done();
}

/* ---- GlobalAveragePool --------------------------------------------------------- */

CLONES static double sum_row(size_t n, const float *restrict x)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i];
    return s;
}

static onnxq_status run_global_average_pool(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (ctx->n_in != 1 || !is_f32(x) || x->rank < 3 || !oq_numel(x))
        return fallback(ctx);
    int64_t dims[OQ_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = d < 2 ? x->dims[d] : 1;
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, dims);
    if (!y)
        return oq_failed(ctx);
    size_t rows = (size_t)(x->dims[0] * x->dims[1]);
    size_t S = oq_numel_dims(x->dims + 2, x->rank - 2);
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, rows * S)
    for (size_t r = 0; r < rows; r++)
        py[r] = (float)(sum_row(S, px + r * S) / (double)S);
    return done();
}

/* ---- Resize: nearest, integer upscale ---------------------------------------- */

/* Integer factor out / in along each axis from the scales or sizes input;
 * 0 if some axis is not an integer upscale. */
static int resize_factors(const oq_tensor *x, const oq_tensor *scales,
                          const oq_tensor *sizes, int64_t *k)
{
    size_t r = (size_t)x->rank;
    if (scales && oq_numel(scales) == r && scales->dtype == T_FLOAT) {
        const float *s = scales->data;
        for (size_t d = 0; d < r; d++) {
            if (!(s[d] >= 1 && s[d] <= 64) || s[d] != floorf(s[d]))
                return 0;
            k[d] = (int64_t)s[d];
        }
        return 1;
    }
    if (sizes && oq_numel(sizes) == r && sizes->dtype == T_INT64) {
        const int64_t *s = sizes->data;
        for (size_t d = 0; d < r; d++) {
            if (x->dims[d] <= 0 || s[d] % x->dims[d] || s[d] < x->dims[d])
                return 0;
            k[d] = s[d] / x->dims[d];
        }
        return 1;
    }
    return 0;
}

CLONES static void widen_row(size_t w_in, int64_t kw, const float *restrict x,
                             float *restrict y)
{
    if (kw == 2) {
        for (size_t i = 0; i < w_in; i++)
            y[2 * i] = y[2 * i + 1] = x[i];
        return;
    }
    for (size_t i = 0; i < w_in * (size_t)kw; i++)
        y[i] = x[i / (size_t)kw];
}

/* Resize (opset 11+) with mode nearest, coordinate_transformation_mode
 * asymmetric and nearest_mode floor: y[.., h, w] = x[.., h / kh, w / kw]
 * for integer factors on the last two axes (1 on the others). */
static onnxq_status run_resize(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (ctx->opset < 11 || !is_f32(x) || x->rank < 2 || !oq_numel(x) ||
        oq_attr(ctx, "axes") || ctx->n_in < 3)
        return fallback(ctx);
    char buf[40];
    if (strcmp(oq_attr_string(ctx, "mode", "nearest", buf, sizeof buf),
               "nearest") ||
        strcmp(oq_attr_string(ctx, "coordinate_transformation_mode",
                              "half_pixel", buf, sizeof buf), "asymmetric") ||
        strcmp(oq_attr_string(ctx, "nearest_mode", "round_prefer_floor", buf,
                              sizeof buf), "floor"))
        return fallback(ctx);
    int64_t k[OQ_MAX_RANK];
    const oq_tensor *scales = oq_in(ctx, 2), *sizes = oq_in(ctx, 3);
    if (scales && oq_numel(scales) == 0)
        scales = NULL;
    if (!resize_factors(x, scales, sizes, k))
        return fallback(ctx);
    int r = x->rank;
    for (int d = 0; d < r - 2; d++)
        if (k[d] != 1)
            return fallback(ctx);
    int64_t dims[OQ_MAX_RANK];
    for (int d = 0; d < r; d++)
        dims[d] = x->dims[d] * k[d];
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, r, dims);
    if (!y)
        return oq_failed(ctx);
    size_t h = (size_t)x->dims[r - 2], w = (size_t)x->dims[r - 1];
    size_t kh = (size_t)k[r - 2], kw = (size_t)k[r - 1], wo = w * kw;
    size_t planes = oq_numel_dims(x->dims, r - 2);
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, oq_numel(y))
    for (size_t rowi = 0; rowi < planes * h; rowi++) {
        float *dst = py + rowi * kh * wo;
        widen_row(w, (int64_t)kw, px + rowi * w, dst);
        for (size_t j = 1; j < kh; j++)
            memcpy(dst + j * wo, dst, wo * sizeof *dst);
    }
    return done();
}

/* ---- exp: Softmax, Sigmoid --------------------------------------------------------- */

/* e^x for float, vectorisable: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in
 * two parts, so r is exact), e^r by Cephes' degree-7 polynomial, 2^n put
 * into the exponent bits.  Within 2 ulp of the true value for x in
 * [-87, 88.7] (the normal range); below it gives 0 (the true value is
 * under 1.2e-38), above it +inf; NaN stays NaN. */
static inline float exp_f(float x)
{
    float xc = x > 88.72f ? 88.72f : x;
    xc = xc < -87.33f ? -87.33f : xc;
    /* round to nearest by the 1.5 * 2^23 trick: plain arithmetic, which
     * vectorises where floorf would be a call */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < -87.33f ? 0.0f : y;
    y = x > 88.72f ? INFINITY : y;
    return x != x ? x : y;
}

CLONES static void sigmoid_row(size_t n, const float *restrict x,
                               float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + exp_f(-x[i]));
}

static onnxq_status run_sigmoid(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (ctx->n_in != 1 || !is_f32(x))
        return fallback(ctx);
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t total = oq_numel(x), pieces = (total + CHUNK - 1) / CHUNK;
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, total)
    for (size_t k = 0; k < pieces; k++) {
        size_t lo = k * CHUNK, n = total - lo < CHUNK ? total - lo : CHUNK;
        sigmoid_row(n, px + lo, py + lo);
    }
    return done();
}

/* y = e^(x - max) / sum over one row; the sum in double.  A row whose max
 * is not finite takes the long way, in double like the reference. */
CLONES static void softmax_row(size_t n, const float *restrict x,
                               float *restrict y)
{
    float mx = x[0];
    for (size_t i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (!isfinite(mx)) {
        double m = mx, s = 0;
        for (size_t i = 0; i < n; i++)
            s += exp((double)x[i] - m);
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(exp((double)x[i] - m) / s);
        return;
    }
    /* two loops: the exps vectorise, the ordered double sum cannot */
    for (size_t i = 0; i < n; i++)
        y[i] = exp_f(x[i] - mx);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i];
    float inv = (float)(1.0 / s);
    for (size_t i = 0; i < n; i++)
        y[i] *= inv;
}

/* Softmax over the last axis (opset 13+), or over the trailing axes from
 * axis on (the 2-D coercion of opsets 1-12). */
static onnxq_status run_softmax(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (ctx->n_in != 1 || !is_f32(x) || !oq_numel(x) || x->rank < 1)
        return fallback(ctx);
    int64_t axis = oq_attr_int(ctx, "axis", ctx->opset >= 13 ? -1 : 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= x->rank ||
        (ctx->opset >= 13 && axis != x->rank - 1))
        return fallback(ctx);
    size_t row = oq_numel_dims(x->dims + axis, x->rank - (int)axis);
    size_t rows = oq_numel(x) / row;
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, rows * row)
    for (size_t r = 0; r < rows; r++)
        softmax_row(row, px + r * row, py + r * row);
    return done();
}

/* ---- HardSwishChain (com.onnxq, made by fuse_conv.c) --------------------------- */

/* y = (x * Clip(x + k, lo, hi)) / d (or * d): the float operations of the
 * Add, Clip, Mul and Div/Mul nodes it replaces, in their order, so the
 * result is the same bits. */
typedef struct chain_state {
    float k, lo, hi, d;
    int divides;
} chain_state;

static onnxq_status chain_prepare(const oq_prepare_ctx *p, void **state)
{
    const Onnx__NodeProto *n = p->node;
    if (n->n_attribute != 1 || n->attribute[0]->n_floats != 5)
        return ONNXQ_ERR_UNSUPPORTED;
    const float *v = n->attribute[0]->floats;
    chain_state *st = malloc(sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    *st = (chain_state){v[0], v[1], v[2], v[3], v[4] != 0};
    *state = st;
    return ONNXQ_OK;
}

CLONES static void chain_row(size_t n, const float *restrict x,
                             float *restrict y, float k, float lo, float hi,
                             float d, int divides)
{
    if (divides)
        for (size_t i = 0; i < n; i++) {
            float a = x[i] + k;
            a = a < lo ? lo : a;
            a = hi < a ? hi : a;
            y[i] = (x[i] * a) / d;
        }
    else
        for (size_t i = 0; i < n; i++) {
            float a = x[i] + k;
            a = a < lo ? lo : a;
            a = hi < a ? hi : a;
            y[i] = (x[i] * a) * d;
        }
}

static onnxq_status chain_run(oq_kctx *ctx)
{
    const chain_state *st = ctx->state;
    const oq_tensor *x = oq_in(ctx, 0);
    if (!is_f32(x)) /* the executor checks this before choosing the chain */
        return oq_kfail(ctx, ONNXQ_ERR_INTERNAL, "hard-swish chain on a "
                        "tensor that is not float32");
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    size_t total = oq_numel(x), pieces = (total + CHUNK - 1) / CHUNK;
    const float *px = x->data;
    float *py = y->data;
    int nt = oq_threads(ctx);
    OQ_PAR_FOR(nt, total)
    for (size_t p = 0; p < pieces; p++) {
        size_t lo = p * CHUNK, n = total - lo < CHUNK ? total - lo : CHUNK;
        chain_row(n, px + lo, py + lo, st->k, st->lo, st->hi, st->d,
                  st->divides);
    }
    return done();
}

/* ---- the table entries --------------------------------------------------------- */

#define VEC_KERNEL(var, op, first, fn)                                        \
    const oq_fast_kernel var = {"", op, first, 21, vec_prepare, fn, vec_release};

VEC_KERNEL(oq_vec_add, "Add", 7, run_add)
VEC_KERNEL(oq_vec_sub, "Sub", 7, run_sub)
VEC_KERNEL(oq_vec_mul, "Mul", 7, run_mul)
VEC_KERNEL(oq_vec_div, "Div", 7, run_div)
VEC_KERNEL(oq_vec_relu, "Relu", 6, run_relu)
VEC_KERNEL(oq_vec_leaky_relu, "LeakyRelu", 6, run_leaky_relu)
VEC_KERNEL(oq_vec_clip, "Clip", 6, run_clip)
VEC_KERNEL(oq_vec_hard_sigmoid, "HardSigmoid", 6, run_hard_sigmoid)
VEC_KERNEL(oq_vec_hard_swish, "HardSwish", 14, run_hard_swish)
VEC_KERNEL(oq_vec_batch_norm, "BatchNormalization", 7, run_batch_norm)
VEC_KERNEL(oq_vec_global_average_pool, "GlobalAveragePool", 1,
           run_global_average_pool)
VEC_KERNEL(oq_vec_resize, "Resize", 11, run_resize)
VEC_KERNEL(oq_vec_sigmoid, "Sigmoid", 6, run_sigmoid)
VEC_KERNEL(oq_vec_softmax, "Softmax", 1, run_softmax)
const oq_fast_kernel oq_vec_hswish_chain = {"com.onnxq", "HardSwishChain", 1,
                                            1, chain_prepare, chain_run,
                                            vec_release};
