/*
 * qdq_fast.c — fast QuantizeLinear and DequantizeLinear (ai.onnx) for the
 * common case: float32 x / scale, 8-bit (DQ also int32) integers, one scale
 * and zero point per tensor or per axis.  The reference kernel
 * (kernels/ref/quant.c) runs everything else — blocked quantization, fp16,
 * 16-bit types, output_dtype, malformed parameters (it reports those).
 *
 * Numbers are the reference's, element by element:
 *   Q:  q = RNE(clamp(x / scale, lo - zp, hi - zp)) + zp — a true division
 *       (vdivps rounds like divss), clamped with max/min in the order that
 *       makes a NaN the low bound (as MAXPS does in MLAS and clampf_ps),
 *       rounded by cvtps2dq under the default rounding mode;
 *   DQ: y = float((int32)x - zp) * scale — the subtraction in integers
 *       (wrapping for int32, as the reference's unsigned arithmetic), one
 *       float multiply, no fused multiply-add.
 *
 * A DequantizeLinear whose inputs are all constants (the weights a QDQ
 * model leaves for a float op, e.g. a Gemm whose output is not quantized)
 * is computed once when the session is prepared (up to 16 MiB of floats);
 * a run copies the result.
 * The per-axis reference loop divides twice per element, which made the
 * demo model's 192 x 2560 weight dequantization cost 2.6 ms a run.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8_kernels.h"
#include "qgemm.h"
#include "registry.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QDQ_X86 1
#define AVX2 __attribute__((target("avx2")))
#else
#define QDQ_X86 0
#endif

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};

/* ---- element loops ------------------------------------------------------ */

static inline int32_t qget(const void *p, int32_t dt, size_t i)
{
    switch (dt) {
    case T_UINT8: return ((const uint8_t *)p)[i];
    case T_INT8: return ((const int8_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

#if QDQ_X86
/* y[0..n) = float(x - zp) * s; returns how many it did (a multiple of 8). */
AVX2 static size_t dq_avx2(const void *x, int32_t dt, size_t n, int32_t zp,
                           float s, float *y)
{
    const __m256i z = _mm256_set1_epi32(zp);
    const __m256 sv = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v;
        if (dt == T_UINT8)
            v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)((const uint8_t *)x + i)));
        else if (dt == T_INT8)
            v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)x + i)));
        else
            v = _mm256_loadu_si256((const __m256i *)((const int32_t *)x + i));
        v = _mm256_sub_epi32(v, z);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(v), sv));
    }
    return i;
}

/* q[0..n) = RNE(clamp(x / s, lo - zp, hi - zp)) + zp as 8-bit. */
AVX2 static size_t q_avx2(const float *x, size_t n, float s, int32_t zp,
                          int sgn, void *q)
{
    int32_t lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    const __m256 sv = _mm256_set1_ps(s), mn = _mm256_set1_ps((float)(lo - zp)),
                 mx = _mm256_set1_ps((float)(hi - zp));
    const __m256i z = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), sv);
        v = _mm256_min_ps(_mm256_max_ps(v, mn), mx);
        __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(v), z);
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r),
                                    _mm256_extracti128_si256(r, 1));
        __m128i b = sgn ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
        _mm_storel_epi64((__m128i *)((char *)q + i), b);
    }
    return i;
}
#endif

static void dq_run(const void *x, int32_t dt, size_t n, int32_t zp, float s,
                   float *y)
{
    size_t i = 0;
#if QDQ_X86
    if (oq_qg_have_avx2())
        i = dq_avx2(x, dt, n, zp, s, y);
#endif
    for (; i < n; i++)
        y[i] = (float)(int32_t)((uint32_t)qget(x, dt, i) - (uint32_t)zp) * s;
}

static void q_run(const float *x, size_t n, float s, int32_t zp, int sgn,
                  void *q)
{
    size_t i = 0;
#if QDQ_X86
    if (oq_qg_have_avx2())
        i = q_avx2(x, n, s, zp, sgn, q);
#endif
    int32_t lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    float mn = (float)(lo - zp), mx = (float)(hi - zp);
    for (; i < n; i++) {
        float v = x[i] / s;
        v = v > mn ? v : mn;
        v = v < mx ? v : mx;
        int32_t r = (int32_t)nearbyintf(v) + zp;
        if (sgn)
            ((int8_t *)q)[i] = (int8_t)r;
        else
            ((uint8_t *)q)[i] = (uint8_t)r;
    }
}

/* ---- parameters --------------------------------------------------------- */

/* x seen as [outer][D][inner] around the axis; D = 1 per tensor. */
typedef struct qdq_plan {
    size_t outer, D, inner;
    int32_t qdt;                 /* the integer type (Q: output, DQ: x) */
} qdq_plan;

static int64_t node_int(const Onnx__NodeProto *node, const char *name,
                        int64_t dflt)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (strcmp(node->attribute[i]->name, name) == 0)
            return node->attribute[i]->i;
    return dflt;
}

/* The fast path's plan for x, scale and zp (zp may be NULL), or -1 for the
 * reference (anything unusual, including what it reports as an error). */
static int plan_of(const Onnx__NodeProto *node, int is_q, const oq_tensor *x,
                   const oq_tensor *s, const oq_tensor *zp, qdq_plan *pl)
{
    if (!x || !s || s->dtype != T_FLOAT || node_int(node, "block_size", 0) != 0)
        return -1;
    if (is_q) {
        int64_t want = node_int(node, "output_dtype", 0);
        if (x->dtype != T_FLOAT || (zp && want && want != zp->dtype))
            return -1;
        pl->qdt = zp ? zp->dtype : want ? (int32_t)want : T_UINT8;
        if (pl->qdt != T_UINT8 && pl->qdt != T_INT8)
            return -1;
    } else {
        pl->qdt = x->dtype;
        if (x->dtype != T_UINT8 && x->dtype != T_INT8 && x->dtype != T_INT32)
            return -1;
        if (zp && zp->dtype != x->dtype)
            return -1;
    }
    size_t ns = oq_numel(s);
    pl->outer = pl->D = 1;
    pl->inner = oq_numel(x);
    if (ns == 1)
        return zp && oq_numel(zp) != 1 ? -1 : 0;
    int64_t axis = node_int(node, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= x->rank || s->rank != 1 || s->dims[0] != x->dims[axis] ||
        (zp && (zp->rank != 1 || zp->dims[0] != s->dims[0])))
        return -1;
    pl->D = (size_t)x->dims[axis];
    pl->inner = oq_numel_dims(x->dims + axis + 1, x->rank - (int)axis - 1);
    pl->outer = pl->D && pl->inner ? oq_numel(x) / (pl->D * pl->inner) : 0;
    return 0;
}

enum { PIECE = 1 << 14 };  /* elements per parallel piece */

/* The whole tensor: each run of `inner` elements (one (outer, d)) is cut
 * into pieces of at most PIECE, and the pieces are shared among threads
 * when there is enough work. */
static void qdq_all(int is_q, const qdq_plan *pl, const oq_tensor *x,
                    const oq_tensor *s, const oq_tensor *zp, void *y, int nt)
{
    size_t runs = pl->outer * pl->D, inner = pl->inner;
    size_t per = (inner + PIECE - 1) / PIECE, pieces = runs * per;
    const float *sd = s->data;
    int sgn = pl->qdt == T_INT8;
    size_t esz = pl->qdt == T_INT32 ? 4 : 1;
    OQ_PAR_FOR(nt, runs * inner)
    for (size_t pc = 0; pc < pieces; pc++) {
        size_t r = pc / per, d = r % pl->D;
        size_t off = r * inner + pc % per * PIECE;
        size_t len = r * inner + inner - off < PIECE ? r * inner + inner - off : PIECE;
        int32_t z = zp ? qget(zp->data, zp->dtype, pl->D == 1 ? 0 : d) : 0;
        float sc = sd[pl->D == 1 ? 0 : d];
        if (is_q)
            q_run((const float *)x->data + off, len, sc, z, sgn,
                  (char *)y + off);
        else
            dq_run((const char *)x->data + off * esz, pl->qdt, len, z, sc,
                   (float *)y + off);
    }
}

/* ---- kernels ------------------------------------------------------------ */

/* Largest constant DequantizeLinear kept as floats for the session's life
 * (16 MiB of them); bigger ones are dequantized at every run, so a QDQ
 * model whose weights all feed float ops does not hold 4x their size. */
enum { FOLD_MAX = 4 << 20 };

typedef struct qdq_state {
    const oq_kernel *ref;
    int is_q;
    /* a DequantizeLinear of constants, computed at preparation */
    const void *cx, *cs, *cz;
    float *folded;
    size_t n;
} qdq_state;

static atomic_size_t n_runs, n_folded_runs;

void oq_qdq_stats(size_t *runs, size_t *folded)
{
    *runs = atomic_load(&n_runs);
    *folded = atomic_load(&n_folded_runs);
}

static onnxq_status prepare_common(const oq_prepare_ctx *p, void **state,
                                   int is_q)
{
    const Onnx__NodeProto *node = p->node;
    int cf;
    const oq_kernel *ref = oq_find_kernel(node->domain ? node->domain : "",
                                          node->op_type, p->opset, &cf);
    if (!ref || !ref->run)
        return ONNXQ_ERR_UNSUPPORTED;
    qdq_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    st->ref = ref;
    st->is_q = is_q;
    const oq_tensor *x = p->n_in > 0 ? p->consts[0] : NULL;
    const oq_tensor *s = p->n_in > 1 ? p->consts[1] : NULL;
    const oq_tensor *zp = p->n_in > 2 ? p->consts[2] : NULL;
    int zp_named = node->n_input > 2 && node->input[2] && node->input[2][0];
    qdq_plan pl;
    if (!is_q && x && s && (zp || !zp_named) && oq_numel(x) <= FOLD_MAX &&
        plan_of(node, 0, x, s, zp, &pl) == 0) {
        st->n = oq_numel(x);
        st->folded = malloc((st->n ? st->n : 1) * sizeof *st->folded);
        if (!st->folded) {
            free(st);
            return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        }
        qdq_all(0, &pl, x, s, zp, st->folded, 1);
        st->cx = x->data;
        st->cs = s->data;
        st->cz = zp ? zp->data : NULL;
    }
    *state = st;
    return ONNXQ_OK;
}

static onnxq_status prepare_q(const oq_prepare_ctx *p, void **state)
{
    return prepare_common(p, state, 1);
}

static onnxq_status prepare_dq(const oq_prepare_ctx *p, void **state)
{
    return prepare_common(p, state, 0);
}

static void release_qdq(void *state)
{
    qdq_state *st = state;
    if (st)
        free(st->folded);
    free(st);
}

static onnxq_status run_qdq(oq_kctx *ctx)
{
    qdq_state *st = ctx->state;
    const oq_tensor *x = oq_in(ctx, 0), *s = oq_in(ctx, 1), *zp = oq_in(ctx, 2);
    if (st->folded && x && s && x->data == st->cx && s->data == st->cs &&
        (zp ? zp->data : NULL) == st->cz && oq_numel(x) == st->n) {
        oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, x->rank, x->dims);
        if (!y)
            return oq_failed(ctx);
        memcpy(y->data, st->folded, st->n * sizeof *st->folded);
        atomic_fetch_add(&n_folded_runs, 1);
        atomic_fetch_add(&n_runs, 1);
        return ONNXQ_OK;
    }
    qdq_plan pl;
    if (plan_of(ctx->node, st->is_q, x, s, zp, &pl) != 0)
        return st->ref->run(ctx);
    oq_tensor *y = oq_output_raw(ctx, 0, st->is_q ? pl.qdt : T_FLOAT, x->rank,
                                 x->dims);
    if (!y)
        return oq_failed(ctx);
    qdq_all(st->is_q, &pl, x, s, zp, y->data, oq_threads(ctx));
    atomic_fetch_add(&n_runs, 1);
    return ONNXQ_OK;
}

const oq_fast_kernel oq_int8_quantize_linear = {
    "", "QuantizeLinear", 10, 21, prepare_q, run_qdq, release_qdq};
const oq_fast_kernel oq_int8_dequantize_linear = {
    "", "DequantizeLinear", 10, 21, prepare_dq, run_qdq, release_qdq};
