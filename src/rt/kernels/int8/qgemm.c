/*
 * qgemm.c — the exact int16 x int16 -> int32 product of qgemm.h and the
 * requantization loops, with an AVX2 path (vpmaddwd) chosen at run time and
 * a portable one that computes the same numbers.
 *
 * Tile: OQ_QG_MR rows x OQ_QG_NR columns in 12 ymm accumulators; each k
 * pair loads the panel's 2 x 8 int32 lanes (16 columns, two k each) once
 * and broadcasts one int32 (two k) per row.  The panel group (K x 16 int16)
 * stays in L2 while every row block passes over it.
 *
 * Requantization reproduces the reference's requant1 lane by lane:
 * cvtdq2ps rounds like (float)int, max/min with the clamp bounds first (so
 * a NaN product becomes the low bound, as MAXPS does in MLAS), cvtps2dq
 * rounds half to even under the default MXCSR, then the zero point is
 * added and the value packed (it is already in range).  No FMA is enabled
 * in the AVX2 functions, so multiply and add round separately.
 */
#include <math.h>
#include <string.h>

#include "qgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OQ_QG_X86 1
#else
#define OQ_QG_X86 0
#endif

int oq_qg_have_avx2(void)
{
#if OQ_QG_X86
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cached;
#else
    return 0;
#endif
}

/* ---- portable tile ---------------------------------------------------- */

static void tile_scalar(const int16_t *rows, size_t M, const int16_t *panel,
                        size_t K2, int32_t *c, size_t ldc, size_t nc)
{
    for (size_t m = 0; m < M; m++) {
        uint32_t acc[OQ_QG_NR] = {0};
        for (size_t p = 0; p < K2; p++) {
            const int16_t *b = panel + p * OQ_QG_NR * 2;
            const int16_t *a = rows + oq_qg_rows_at(K2, m, 2 * p);
            int32_t a0 = a[0], a1 = a[1];
            for (size_t j = 0; j < OQ_QG_NR; j++)
                acc[j] += (uint32_t)(a0 * b[2 * j] + a1 * b[2 * j + 1]);
        }
        for (size_t j = 0; j < nc; j++)
            c[m * ldc + j] = (int32_t)acc[j];
    }
}

/* ---- AVX2 tile --------------------------------------------------------- */

#if OQ_QG_X86
#define AVX2 __attribute__((target("avx2")))

static inline int32_t load_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* mr (1..6) rows x 16 columns; mr is a constant at each call site so the
 * accumulators live in registers. */
AVX2 static inline __attribute__((always_inline)) void
tile_avx2_mr(int mr, const int16_t *blk, const int16_t *panel, size_t K2,
             int32_t *c, size_t ldc, size_t nc)
{
    __m256i acc[OQ_QG_MR][2];
    for (int r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (size_t p = 0; p < K2; p++) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)(panel + p * 32));
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(panel + p * 32 + 16));
        for (int r = 0; r < mr; r++) {
            __m256i a = _mm256_set1_epi32(load_pair(blk + (p * OQ_QG_MR + (size_t)r) * 2));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));
        }
    }
    for (int r = 0; r < mr; r++) {
        int32_t *dst = c + (size_t)r * ldc;
        if (nc == OQ_QG_NR) {
            _mm256_storeu_si256((__m256i *)dst, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(dst + 8), acc[r][1]);
        } else {
            int32_t tmp[OQ_QG_NR];
            _mm256_storeu_si256((__m256i *)tmp, acc[r][0]);
            _mm256_storeu_si256((__m256i *)(tmp + 8), acc[r][1]);
            memcpy(dst, tmp, nc * sizeof *dst);
        }
    }
}

AVX2 static void tile_avx2(const int16_t *rows, size_t M, const int16_t *panel,
                           size_t K2, int32_t *c, size_t ldc, size_t nc)
{
    size_t blk = K2 * OQ_QG_MR * 2;
    for (size_t m = 0; m < M; m += OQ_QG_MR) {
        const int16_t *a = rows + m / OQ_QG_MR * blk;
        switch (M - m >= OQ_QG_MR ? OQ_QG_MR : M - m) {
        case 6: tile_avx2_mr(6, a, panel, K2, c + m * ldc, ldc, nc); break;
        case 5: tile_avx2_mr(5, a, panel, K2, c + m * ldc, ldc, nc); break;
        case 4: tile_avx2_mr(4, a, panel, K2, c + m * ldc, ldc, nc); break;
        case 3: tile_avx2_mr(3, a, panel, K2, c + m * ldc, ldc, nc); break;
        case 2: tile_avx2_mr(2, a, panel, K2, c + m * ldc, ldc, nc); break;
        default: tile_avx2_mr(1, a, panel, K2, c + m * ldc, ldc, nc); break;
        }
    }
}
#endif

void oq_qg_tile_cols(const int16_t *rows, size_t M, const int16_t *panel,
                     size_t K2, int32_t *c, size_t ldc, size_t nc)
{
#if OQ_QG_X86
    if (oq_qg_have_avx2()) {
        tile_avx2(rows, M, panel, K2, c, ldc, nc);
        return;
    }
#endif
    tile_scalar(rows, M, panel, K2, c, ldc, nc);
}

void oq_qg_gemm(const int16_t *rows, size_t M, const int16_t *panel,
                size_t K2, size_t N, int32_t *c, size_t ldc, int nt)
{
    size_t groups = (N + OQ_QG_NR - 1) / OQ_QG_NR;
    size_t mblocks = (M + 47) / 48; /* row blocks of 48: 8 register tiles */
    size_t tasks = groups * mblocks;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) \
    if (tasks > 1 && M * N * K2 >= 65536)
    for (size_t t = 0; t < tasks; t++) {
        size_t j = t / mblocks, mb = t % mblocks;
        size_t m0 = mb * 48, mn = M - m0 < 48 ? M - m0 : 48;
        size_t n0 = j * OQ_QG_NR, nc = N - n0 < OQ_QG_NR ? N - n0 : OQ_QG_NR;
        oq_qg_tile_cols(rows + m0 / OQ_QG_MR * K2 * OQ_QG_MR * 2, mn,
                        panel + j * K2 * OQ_QG_NR * 2, K2, c + m0 * ldc + n0,
                        ldc, nc);
    }
}

/* ---- implicit-GEMM convolution tile ------------------------------------ */

static void conv_tile_scalar(const int16_t *const *xrow, int mr,
                             const int64_t *tap_off, size_t ntaps, size_t C2,
                             const int16_t *panel, int32_t *c, size_t ldc,
                             size_t nc)
{
    for (int r = 0; r < mr; r++) {
        uint32_t acc[OQ_QG_NR] = {0};
        for (size_t t = 0; t < ntaps; t++)
            for (size_t q = 0; q < C2; q++) {
                const int16_t *a = xrow[r] + tap_off[t] + 2 * q;
                const int16_t *b = panel + (t * C2 + q) * OQ_QG_NR * 2;
                for (size_t j = 0; j < OQ_QG_NR; j++)
                    acc[j] += (uint32_t)(a[0] * b[2 * j] + a[1] * b[2 * j + 1]);
            }
        for (size_t j = 0; j < nc; j++)
            c[(size_t)r * ldc + j] = (int32_t)acc[j];
    }
}

#if OQ_QG_X86
AVX2 static inline __attribute__((always_inline)) void
conv_tile_avx2_mr(int mr, const int16_t *const *xrow, const int64_t *tap_off,
                  size_t ntaps, size_t C2, const int16_t *panel, int32_t *c,
                  size_t ldc, size_t nc)
{
    __m256i acc[OQ_QG_MR][2];
    for (int r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const int16_t *b = panel;
    for (size_t t = 0; t < ntaps; t++) {
        const int16_t *x[OQ_QG_MR];
        for (int r = 0; r < mr; r++)
            x[r] = xrow[r] + tap_off[t];
        for (size_t q = 0; q < C2; q++, b += 32) {
            const __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 16));
            for (int r = 0; r < mr; r++) {
                __m256i a = _mm256_set1_epi32(load_pair(x[r] + 2 * q));
                acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, b0));
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, b1));
            }
        }
    }
    for (int r = 0; r < mr; r++) {
        int32_t tmp[OQ_QG_NR];
        _mm256_storeu_si256((__m256i *)tmp, acc[r][0]);
        _mm256_storeu_si256((__m256i *)(tmp + 8), acc[r][1]);
        memcpy(c + (size_t)r * ldc, tmp, nc * sizeof *tmp);
    }
}

AVX2 static void conv_tile_avx2(const int16_t *const *xrow, int mr,
                                const int64_t *tap_off, size_t ntaps, size_t C2,
                                const int16_t *panel, int32_t *c, size_t ldc,
                                size_t nc)
{
    switch (mr) {
    case 6: conv_tile_avx2_mr(6, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    case 5: conv_tile_avx2_mr(5, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    case 4: conv_tile_avx2_mr(4, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    case 3: conv_tile_avx2_mr(3, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    case 2: conv_tile_avx2_mr(2, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    default: conv_tile_avx2_mr(1, xrow, tap_off, ntaps, C2, panel, c, ldc, nc); break;
    }
}
#endif

void oq_qg_conv_tile(const int16_t *const *xrow, int mr, const int64_t *tap_off,
                     size_t ntaps, size_t C2, const int16_t *panel, int32_t *c,
                     size_t ldc, size_t nc)
{
#if OQ_QG_X86
    if (oq_qg_have_avx2()) {
        conv_tile_avx2(xrow, mr, tap_off, ntaps, C2, panel, c, ldc, nc);
        return;
    }
#endif
    conv_tile_scalar(xrow, mr, tap_off, ntaps, C2, panel, c, ldc, nc);
}

/* ---- stride-1 row kernel ------------------------------------------------- */

/* Vectors of 8 positions per row-kernel tile.  With the product's temporary
 * register, OQ_QG_RM x RV accumulators + RV x vectors + broadcast + temp
 * must fit the 16 ymm registers (3 x 4 did not: one accumulator spilled to
 * the stack and the loop ran at store-forwarding speed). */
enum { RV = OQ_QG_RQ / 8 };

static inline int32_t requant1(int32_t acc, float scale, int32_t zp, int32_t lo,
                               int32_t hi);

static void rows_store_scalar(const uint32_t *acc, int nr,
                              const oq_qg_requant *rq, void *dst, size_t ld)
{
    for (int r = 0; r < nr; r++)
        for (size_t i = 0; i < OQ_QG_RQ; i++) {
            uint32_t a = acc[(size_t)r * OQ_QG_RQ + i];
            size_t at = (size_t)r * ld + i;
            if (!rq) {
                ((int32_t *)dst)[at] = (int32_t)a;
                continue;
            }
            int32_t lo = rq->is_signed ? -128 : 0, hi = rq->is_signed ? 127 : 255;
            a += rq->bias ? (uint32_t)rq->bias[r] : 0u;
            int32_t v = requant1((int32_t)a, rq->scale[r], rq->zp, lo, hi);
            if (rq->is_signed)
                ((int8_t *)dst)[at] = (int8_t)v;
            else
                ((uint8_t *)dst)[at] = (uint8_t)v;
        }
}

static void rows_scalar(const int16_t *x, size_t plane, size_t C2,
                        const int64_t *taps, size_t ntaps, const int16_t *w,
                        int nr, const oq_qg_requant *rq, void *dst, size_t ld)
{
    uint32_t acc[OQ_QG_RM * OQ_QG_RQ] = {0};
    const int16_t *wp = w;
    for (size_t c = 0; c < C2; c++)
        for (size_t t = 0; t < ntaps; t++, wp += OQ_QG_RM * 2) {
            const int16_t *xt = x + c * plane + taps[t];
            for (int r = 0; r < nr; r++) {
                int32_t w0 = wp[2 * r], w1 = wp[2 * r + 1];
                for (size_t i = 0; i < OQ_QG_RQ; i++)
                    acc[(size_t)r * OQ_QG_RQ + i] +=
                        (uint32_t)(xt[2 * i] * w0 + xt[2 * i + 1] * w1);
            }
        }
    rows_store_scalar(acc, nr, rq, dst, ld);
}

#if OQ_QG_X86
AVX2 static inline void store8_avx2(__m256i v, int is_signed, void *out);

/* One channel's 8 sums: + bias, * scale, clamp, round, + zp, 8 bytes. */
AVX2 static inline __m256i requant8_avx2(__m256i a, __m256i b, __m256 s,
                                         __m256 mn, __m256 mx, __m256i z)
{
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a, b)), s);
    v = _mm256_min_ps(_mm256_max_ps(v, mn), mx);
    return _mm256_add_epi32(_mm256_cvtps_epi32(v), z);
}

AVX2 static inline __attribute__((always_inline)) void
rows_avx2_nr(int nr, const int16_t *x, size_t plane, size_t C2,
             const int64_t *taps, size_t ntaps, const int16_t *w,
             const oq_qg_requant *rq, void *dst, size_t ld)
{
    __m256i acc[OQ_QG_RM][RV];
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < RV; j++)
            acc[r][j] = _mm256_setzero_si256();
    const int16_t *wp = w;
    for (size_t c = 0; c < C2; c++) {
        const int16_t *xc = x + c * plane;
        for (size_t t = 0; t < ntaps; t++, wp += OQ_QG_RM * 2) {
            const int16_t *xt = xc + taps[t];
            __m256i xv[RV];
            for (int j = 0; j < RV; j++)
                xv[j] = _mm256_loadu_si256((const __m256i *)(xt + 16 * j));
            for (int r = 0; r < nr; r++) {
                __m256i b = _mm256_set1_epi32(load_pair(wp + 2 * r));
                for (int j = 0; j < RV; j++)
                    acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_madd_epi16(xv[j], b));
            }
        }
    }
    if (!rq) {
        for (int r = 0; r < nr; r++)
            for (int j = 0; j < RV; j++)
                _mm256_storeu_si256((__m256i *)((int32_t *)dst + (size_t)r * ld + 8 * j),
                                    acc[r][j]);
        return;
    }
    int32_t lo = rq->is_signed ? -128 : 0, hi = rq->is_signed ? 127 : 255;
    const __m256 mn = _mm256_set1_ps((float)(lo - rq->zp)),
                 mx = _mm256_set1_ps((float)(hi - rq->zp));
    const __m256i z = _mm256_set1_epi32(rq->zp);
    for (int r = 0; r < nr; r++) {
        const __m256 s = _mm256_set1_ps(rq->scale[r]);
        const __m256i b = _mm256_set1_epi32(rq->bias ? rq->bias[r] : 0);
        char *d = (char *)dst + (size_t)r * ld;
        for (int j = 0; j < RV; j++)
            store8_avx2(requant8_avx2(acc[r][j], b, s, mn, mx, z), rq->is_signed,
                        d + 8 * j);
    }
}

AVX2 static void rows_avx2(const int16_t *x, size_t plane, size_t C2,
                           const int64_t *taps, size_t ntaps, const int16_t *w,
                           int nr, const oq_qg_requant *rq, void *dst, size_t ld)
{
    switch (nr) {
#if OQ_QG_RM > 4
    case 6: rows_avx2_nr(6, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
    case 5: rows_avx2_nr(5, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
#endif
    case 4: rows_avx2_nr(4, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
    case 3: rows_avx2_nr(3, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
    case 2: rows_avx2_nr(2, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
    default: rows_avx2_nr(1, x, plane, C2, taps, ntaps, w, rq, dst, ld); break;
    }
}

/* 16 bytes of each channel -> 16 int16 pairs. */
AVX2 static size_t pack_pairs_avx2(const void *c0, const void *c1, int sgn,
                                   size_t n, int32_t zp, int16_t *dst)
{
    const __m256i z = _mm256_set1_epi16((int16_t)zp);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a8 = _mm_loadu_si128((const __m128i *)((const char *)c0 + i));
        __m256i a = sgn ? _mm256_cvtepi8_epi16(a8) : _mm256_cvtepu8_epi16(a8);
        a = _mm256_sub_epi16(a, z);
        __m256i b = _mm256_setzero_si256();
        if (c1) {
            __m128i b8 = _mm_loadu_si128((const __m128i *)((const char *)c1 + i));
            b = _mm256_sub_epi16(sgn ? _mm256_cvtepi8_epi16(b8) : _mm256_cvtepu8_epi16(b8), z);
        }
        __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
        _mm256_storeu_si256((__m256i *)(dst + 2 * i), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(dst + 2 * i + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    return i;
}
#endif

/* ---- u8 row kernel ------------------------------------------------------ */

static void rows_u8_scalar(const uint8_t *x, size_t plane, size_t C4,
                           const int64_t *taps, size_t ntaps, const int8_t *w,
                           int nr, const int32_t *adj, const oq_qg_requant *rq,
                           void *dst, size_t ld)
{
    uint32_t acc[OQ_QG_RM * OQ_QG_RQ] = {0};
    const int8_t *wp = w;
    for (size_t c = 0; c < C4; c++)
        for (size_t t = 0; t < ntaps; t++, wp += OQ_QG_RM * 4) {
            const uint8_t *xt = x + c * plane + taps[t];
            for (int r = 0; r < nr; r++)
                for (size_t i = 0; i < OQ_QG_RQ; i++) {
                    int32_t s = 0;
                    for (int j = 0; j < 4; j++)
                        s += xt[4 * i + (size_t)j] * wp[4 * r + j];
                    acc[(size_t)r * OQ_QG_RQ + i] += (uint32_t)s;
                }
        }
    for (int r = 0; r < nr; r++)
        for (size_t i = 0; i < OQ_QG_RQ; i++)
            acc[(size_t)r * OQ_QG_RQ + i] += (uint32_t)adj[r];
    oq_qg_requant plain;
    if (rq) {
        plain = *rq;
        plain.bias = NULL;
    }
    rows_store_scalar(acc, nr, rq ? &plain : NULL, dst, ld);
}

#if OQ_QG_X86
AVX2 static inline __attribute__((always_inline)) void
rows_u8_avx2_nr(int nr, const uint8_t *x, size_t plane, size_t C4,
                const int64_t *taps, size_t ntaps, const int8_t *w,
                const int32_t *adj, const oq_qg_requant *rq, void *dst,
                size_t ld)
{
    __m256i acc[OQ_QG_RM][RV];
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < RV; j++)
            acc[r][j] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t *wp = w;
    for (size_t c = 0; c < C4; c++) {
        const uint8_t *xc = x + c * plane;
        for (size_t t = 0; t < ntaps; t++, wp += OQ_QG_RM * 4) {
            const uint8_t *xt = xc + taps[t];
            __m256i xv[RV];
            for (int j = 0; j < RV; j++)
                xv[j] = _mm256_loadu_si256((const __m256i *)(xt + 32 * j));
            for (int r = 0; r < nr; r++) {
                int32_t q;
                memcpy(&q, wp + 4 * r, sizeof q);
                __m256i b = _mm256_set1_epi32(q);
                for (int j = 0; j < RV; j++) {
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(xv[j], b), ones);
                    acc[r][j] = _mm256_add_epi32(acc[r][j], p);
                }
            }
        }
    }
    if (!rq) {
        for (int r = 0; r < nr; r++) {
            const __m256i a = _mm256_set1_epi32(adj[r]);
            for (int j = 0; j < RV; j++)
                _mm256_storeu_si256((__m256i *)((int32_t *)dst + (size_t)r * ld + 8 * j),
                                    _mm256_add_epi32(acc[r][j], a));
        }
        return;
    }
    int32_t lo = rq->is_signed ? -128 : 0, hi = rq->is_signed ? 127 : 255;
    const __m256 mn = _mm256_set1_ps((float)(lo - rq->zp)),
                 mx = _mm256_set1_ps((float)(hi - rq->zp));
    const __m256i z = _mm256_set1_epi32(rq->zp);
    for (int r = 0; r < nr; r++) {
        const __m256 s = _mm256_set1_ps(rq->scale[r]);
        const __m256i a = _mm256_set1_epi32(adj[r]);
        char *d = (char *)dst + (size_t)r * ld;
        for (int j = 0; j < RV; j++)
            store8_avx2(requant8_avx2(acc[r][j], a, s, mn, mx, z), rq->is_signed,
                        d + 8 * j);
    }
}

AVX2 static void rows_u8_avx2(const uint8_t *x, size_t plane, size_t C4,
                              const int64_t *taps, size_t ntaps, const int8_t *w,
                              int nr, const int32_t *adj,
                              const oq_qg_requant *rq, void *dst, size_t ld)
{
    switch (nr) {
    case 4: rows_u8_avx2_nr(4, x, plane, C4, taps, ntaps, w, adj, rq, dst, ld); break;
    case 3: rows_u8_avx2_nr(3, x, plane, C4, taps, ntaps, w, adj, rq, dst, ld); break;
    case 2: rows_u8_avx2_nr(2, x, plane, C4, taps, ntaps, w, adj, rq, dst, ld); break;
    default: rows_u8_avx2_nr(1, x, plane, C4, taps, ntaps, w, adj, rq, dst, ld); break;
    }
}
#endif

void oq_qg_conv_rows_u8(const uint8_t *x, size_t plane, size_t C4,
                        const int64_t *taps, size_t ntaps, const int8_t *w,
                        int nr, const int32_t *adj, const oq_qg_requant *rq,
                        void *dst, size_t ld)
{
#if OQ_QG_X86
    if (oq_qg_have_avx2()) {
        rows_u8_avx2(x, plane, C4, taps, ntaps, w, nr, adj, rq, dst, ld);
        return;
    }
#endif
    rows_u8_scalar(x, plane, C4, taps, ntaps, w, nr, adj, rq, dst, ld);
}

void oq_qg_pack_quads(const uint8_t *const c[4], size_t stride, int flip,
                      size_t n, uint8_t fill, uint8_t *dst)
{
    size_t i = 0;
    uint8_t f = flip ? 0x80 : 0;
#if defined(__SSE2__)
    const __m128i fv = _mm_set1_epi8((char)fill), xv = _mm_set1_epi8((char)f);
    const __m128i even = _mm_set1_epi16(0x00ff);
    /* stride 2 reads 32 bytes for 16 values: stop while the last byte read
     * (2i + 31) is still one the row has (2 (n - 1)) */
    for (; stride <= 2 && (stride == 1 ? i + 16 <= n : i + 17 <= n); i += 16) {
        __m128i v[4];
        for (int j = 0; j < 4; j++) {
            if (!c[j]) {
                v[j] = fv;
                continue;
            }
            if (stride == 1) {
                v[j] = _mm_loadu_si128((const __m128i *)(c[j] + i));
            } else {
                __m128i a = _mm_loadu_si128((const __m128i *)(c[j] + 2 * i));
                __m128i b = _mm_loadu_si128((const __m128i *)(c[j] + 2 * i + 16));
                v[j] = _mm_packus_epi16(_mm_and_si128(a, even), _mm_and_si128(b, even));
            }
            v[j] = _mm_xor_si128(v[j], xv);
        }
        __m128i ablo = _mm_unpacklo_epi8(v[0], v[1]), abhi = _mm_unpackhi_epi8(v[0], v[1]);
        __m128i cdlo = _mm_unpacklo_epi8(v[2], v[3]), cdhi = _mm_unpackhi_epi8(v[2], v[3]);
        _mm_storeu_si128((__m128i *)(dst + 4 * i), _mm_unpacklo_epi16(ablo, cdlo));
        _mm_storeu_si128((__m128i *)(dst + 4 * i + 16), _mm_unpackhi_epi16(ablo, cdlo));
        _mm_storeu_si128((__m128i *)(dst + 4 * i + 32), _mm_unpacklo_epi16(abhi, cdhi));
        _mm_storeu_si128((__m128i *)(dst + 4 * i + 48), _mm_unpackhi_epi16(abhi, cdhi));
    }
#endif
    for (; i < n; i++)
        for (int j = 0; j < 4; j++)
            dst[4 * i + (size_t)j] = c[j] ? (uint8_t)(c[j][i * stride] ^ f) : fill;
}

void oq_qg_conv_rows(const int16_t *x, size_t plane, size_t C2,
                     const int64_t *taps, size_t ntaps, const int16_t *w,
                     int nr, const oq_qg_requant *rq, void *dst, size_t ld)
{
#if OQ_QG_X86
    if (oq_qg_have_avx2()) {
        rows_avx2(x, plane, C2, taps, ntaps, w, nr, rq, dst, ld);
        return;
    }
#endif
    rows_scalar(x, plane, C2, taps, ntaps, w, nr, rq, dst, ld);
}

void oq_qg_pack_pairs(const void *c0, const void *c1, int is_signed, size_t n,
                      int32_t zp, int16_t *dst)
{
    size_t i = 0;
#if OQ_QG_X86
    if (oq_qg_have_avx2())
        i = pack_pairs_avx2(c0, c1, is_signed, n, zp, dst);
#endif
    for (; i < n; i++) {
        int32_t a = is_signed ? ((const int8_t *)c0)[i] : ((const uint8_t *)c0)[i];
        int32_t b = !c1 ? zp : is_signed ? ((const int8_t *)c1)[i]
                                         : ((const uint8_t *)c1)[i];
        dst[2 * i] = (int16_t)(a - zp);
        dst[2 * i + 1] = (int16_t)(b - zp);
    }
}

/* ---- panel interleave ---------------------------------------------------- */

#if OQ_QG_X86
AVX2 static void interleave_avx2(const int16_t *r0, const int16_t *r1,
                                 int16_t *dst)
{
    __m256i a = _mm256_loadu_si256((const __m256i *)r0);
    __m256i b = r1 ? _mm256_loadu_si256((const __m256i *)r1) : _mm256_setzero_si256();
    /* unpack works per 128-bit lane: columns 0-3 | 8-11 and 4-7 | 12-15 */
    __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
    _mm256_storeu_si256((__m256i *)dst, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
}
#endif

void oq_qg_interleave16(const int16_t *r0, const int16_t *r1, int16_t *dst)
{
#if OQ_QG_X86
    if (oq_qg_have_avx2()) {
        interleave_avx2(r0, r1, dst);
        return;
    }
#endif
    for (size_t c = 0; c < OQ_QG_NR; c++) {
        dst[2 * c] = r0[c];
        dst[2 * c + 1] = r1 ? r1[c] : 0;
    }
}

/* ---- requantization ------------------------------------------------------ */

static inline int32_t requant1(int32_t acc, float scale, int32_t zp, int32_t lo,
                               int32_t hi)
{
    float v = (float)acc * scale, mn = (float)(lo - zp), mx = (float)(hi - zp);
    v = v > mn ? v : mn;
    v = v < mx ? v : mx;
    return (int32_t)nearbyintf(v) + zp;
}

static inline void put8(void *out, size_t i, int32_t v, int is_signed)
{
    if (is_signed)
        ((int8_t *)out)[i] = (int8_t)v;
    else
        ((uint8_t *)out)[i] = (uint8_t)v;
}

#if OQ_QG_X86
/* 8 lanes of v (already rounded and offset, inside the 8-bit range) to
 * bytes at out. */
AVX2 static inline void store8_avx2(__m256i v, int is_signed, void *out)
{
    __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
    __m128i w = _mm_packs_epi32(lo, hi); /* exact: values fit int16 */
    __m128i b = is_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    _mm_storel_epi64((__m128i *)out, b);
}

AVX2 static size_t requant_avx2(const int32_t *acc, size_t n, int32_t bias,
                                const int32_t *biasv, float scale,
                                const float *scalev, int32_t zp, int is_signed,
                                void *out)
{
    int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    const __m256 mn = _mm256_set1_ps((float)(lo - zp)), mx = _mm256_set1_ps((float)(hi - zp));
    const __m256i z = _mm256_set1_epi32(zp), b = _mm256_set1_epi32(bias);
    const __m256 s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(acc + i));
        a = _mm256_add_epi32(a, biasv ? _mm256_loadu_si256((const __m256i *)(biasv + i)) : b);
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(a),
                                 scalev ? _mm256_loadu_ps(scalev + i) : s);
        v = _mm256_min_ps(_mm256_max_ps(v, mn), mx);
        __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), z);
        store8_avx2(q, is_signed, (char *)out + i);
    }
    return i;
}

AVX2 static size_t float_avx2(const int32_t *acc, size_t n, const float *scale,
                              const float *bias, float *out)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + i))),
                                 _mm256_loadu_ps(scale + i));
        if (bias)
            v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
        _mm256_storeu_ps(out + i, v);
    }
    return i;
}
#endif

void oq_qg_requant_row(const int32_t *acc, size_t n, int32_t bias, float scale,
                       int32_t zp, int is_signed, void *out)
{
    int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    size_t i = 0;
#if OQ_QG_X86
    if (oq_qg_have_avx2())
        i = requant_avx2(acc, n, bias, NULL, scale, NULL, zp, is_signed, out);
#endif
    for (; i < n; i++)
        put8(out, i, requant1((int32_t)((uint32_t)acc[i] + (uint32_t)bias),
                              scale, zp, lo, hi), is_signed);
}

void oq_qg_requant_vec(const int32_t *acc, size_t n, const int32_t *bias,
                       const float *scale, int32_t zp, int is_signed, void *out)
{
    int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    size_t i = 0;
#if OQ_QG_X86
    if (oq_qg_have_avx2())
        i = requant_avx2(acc, n, 0, bias, 0.0f, scale, zp, is_signed, out);
#endif
    for (; i < n; i++) {
        uint32_t a = (uint32_t)acc[i] + (bias ? (uint32_t)bias[i] : 0u);
        put8(out, i, requant1((int32_t)a, scale[i], zp, lo, hi), is_signed);
    }
}

void oq_qg_float_vec(const int32_t *acc, size_t n, const float *scale,
                     const float *bias, float *out)
{
    size_t i = 0;
#if OQ_QG_X86
    if (oq_qg_have_avx2())
        i = float_avx2(acc, n, scale, bias, out);
#endif
    for (; i < n; i++) {
        float v = (float)acc[i] * scale[i];
        out[i] = bias ? v + bias[i] : v;
    }
}
