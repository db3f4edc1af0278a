/*
 * qgemm.h — onnxq's exact integer matrix product for the int8 fast kernels
 * (int8_ops.c), and the requantization loops that follow it.
 *
 * Why not oneDNN: on this project's CPU (AVX2, no VNNI) oneDNN 2.6 computes
 * u8 x s8 products with vpmaddubsw, which saturates pairs of products at
 * int16 (255 * 127 * 2 > 32767), and its s8 x s8 paths halve or shift
 * the weights; bench/int8_dnnl_probe.c shows each wrong result.  onnxq's
 * contract is ORT's exact int32 result, so the products here widen both
 * operands to int16 (a - a_zero_point and b - b_zero_point both fit) and use
 * vpmaddwd, which adds two int16 x int16 products into int32 without any
 * intermediate saturation.  Sums wrap modulo 2^32 like ORT's int32
 * accumulators (and the reference kernels).
 *
 * Operands:
 *   rows  — int16 in blocks of OQ_QG_MR rows: for block b, pair p, row r,
 *           the two values (k = 2p, 2p + 1) at ((b * K2 + p) * MR + r) * 2,
 *           so the tile reads one stream; padding rows and the odd k are 0.
 *           Broadcast 2 elements (one k pair) at a time.
 *   panel — int16, columns in groups of OQ_QG_NR: for group j, pair p,
 *           column c, the two values (k = 2p, 2p + 1) at
 *           ((j * K2 + p) * NR + c) * 2; padding columns and the odd k are 0.
 * C[m][n] (int32) = sum_k rows[m][k] * panel[k][n].
 */
#ifndef OQ_QGEMM_H
#define OQ_QGEMM_H

#include <stddef.h>
#include <stdint.h>

enum { OQ_QG_NR = 16, OQ_QG_MR = 6 };

/* 1 when this CPU runs the AVX2 paths (checked once); the int8 kernels of
 * this folder all ask here. */
int oq_qg_have_avx2(void);

/* Pairs of k for K values. */
static inline size_t oq_qg_k2(size_t K) { return (K + 1) / 2; }

/* int16 elements of a panel of K x N. */
static inline size_t oq_qg_panel_size(size_t K, size_t N)
{
    return (N + OQ_QG_NR - 1) / OQ_QG_NR * oq_qg_k2(K) * OQ_QG_NR * 2;
}

/* int16 elements of a rows operand of M x K. */
static inline size_t oq_qg_rows_size(size_t M, size_t K)
{
    return (M + OQ_QG_MR - 1) / OQ_QG_MR * oq_qg_k2(K) * OQ_QG_MR * 2;
}

/* Where element (m, k) of a rows operand with K2 pairs lives. */
static inline size_t oq_qg_rows_at(size_t K2, size_t m, size_t k)
{
    return ((m / OQ_QG_MR * K2 + k / 2) * OQ_QG_MR + m % OQ_QG_MR) * 2 + (k & 1);
}

/* c[m][0..nc) for m < M = rows x one panel group (pairs K2, nc <= NR
 * valid columns), c with row stride ldc. */
void oq_qg_tile_cols(const int16_t *rows, size_t M, const int16_t *panel,
                     size_t K2, int32_t *c, size_t ldc, size_t nc);

/* The whole product C [M][N] (row stride ldc) of rows (M x K2 pairs) and a
 * panel of N columns, parallel over tiles with nt threads. */
void oq_qg_gemm(const int16_t *rows, size_t M, const int16_t *panel,
                size_t K2, size_t N, int32_t *c, size_t ldc, int nt);

/* Implicit-GEMM convolution tile (no im2col): mr <= MR output positions
 * whose receptive fields start at xrow[r] in a zero-padded channels-last
 * int16 image, times one panel group of the weights ordered k = (tap,
 * channel pair): for tap t, the pair (2q, 2q + 1) of position r is at
 * xrow[r] + tap_off[t] + 2q.  c[r][0..nc) with row stride ldc. */
void oq_qg_conv_tile(const int16_t *const *xrow, int mr, const int64_t *tap_off,
                     size_t ntaps, size_t C2, const int16_t *panel, int32_t *c,
                     size_t ldc, size_t nc);

/* Stride-1 convolution as a 1-D one over flattened rows ("row kernel"):
 * x is a zero-padded image of int16 channel pairs, plane by plane
 * ([C2][Hp * Wp + slack][2]), so output position q = oh * Wp + ow reads
 * the pair of channels (2c, 2c + 1) of tap t at x + c * plane + taps[t] +
 * 2 q; positions with ow >= OW are computed and thrown away.  Each call
 * computes OQ_QG_RQ positions (vectors of 8) for nr <= OQ_QG_RM
 * output channels, with w ordered k = (channel pair, tap): the pair for
 * output channel r of the block at w + ((c * ntaps + t) * OQ_QG_RM + r) * 2.
 * The positions are the vector lanes, so every result vector belongs to one
 * output channel and is stored (or requantized with that channel's scale)
 * in place: dst row r (stride ld elements), columns 0 .. OQ_QG_RQ. */
enum { OQ_QG_RM = 4, OQ_QG_RQ = 16 };

typedef struct oq_qg_requant {
    const float *scale;     /* per output channel of the block */
    const int32_t *bias;    /* per output channel, or NULL */
    int32_t zp;
    int is_signed;          /* int8 output, else uint8 */
} oq_qg_requant;

/* rq NULL: int32 sums to dst; else 8-bit values as oq_qg_requant_row. */
void oq_qg_conv_rows(const int16_t *x, size_t plane, size_t C2,
                     const int64_t *taps, size_t ntaps, const int16_t *w,
                     int nr, const oq_qg_requant *rq, void *dst, size_t ld);

/* The same row kernel on bytes ("u8 row kernel"), for weights that are
 * "pair safe": every two weights vpmaddubsw adds (channels 4c + {0, 1} and
 * 4c + {2, 3} of one tap) satisfy 255 * (|w0| + |w1|) <= 32767, so its
 * int16 pair sums never saturate (7-bit reduce-range weights always are).
 * x holds uint8 activations in channel quads, `plane` bytes per quad (int8
 * ones are stored + 128, padding is the zero point; int8_ops.c lays out
 * the planes, for any stride), taps[t] is tap t's byte offset, and w the
 * signed weights - zero point, quads of (channel quad, tap) per output
 * channel: w + ((c * ntaps + t) * OQ_QG_RM + r) * 4.  Each quad
 * costs vpmaddubsw + vpmaddwd by ones + vpaddd for 4 k, against vpmaddwd
 * + vpaddd for 2 k on int16.  The sums are sum(x * w); adj[r] (x_zp * sum
 * of the channel's weights, negated, + bias) is added to make them
 * sum((x - x_zp) * w) + bias exactly, modulo 2^32 as the int32 sums
 * everywhere else.  rq NULL: int32 to dst; else rq's scale and zero point
 * (rq->bias is not used: it is in adj). */
void oq_qg_conv_rows_u8(const uint8_t *x, size_t plane, size_t C4,
                        const int64_t *taps, size_t ntaps, const int8_t *w,
                        int nr, const int32_t *adj, const oq_qg_requant *rq,
                        void *dst, size_t ld);

/* dst[4i + j] = cj[i * stride] (j < 4; cj NULL: fill), xor 0x80 when flip
 * (int8 to uint8 + 128), for i < n (vectorised for strides 1 and 2). */
void oq_qg_pack_quads(const uint8_t *const c[4], size_t stride, int flip,
                      size_t n, uint8_t fill, uint8_t *dst);

/* dst[2i] = c0[i] - zp, dst[2i + 1] = c1[i] - zp (c1 NULL: 0) for i < n,
 * 8-bit inputs (is_signed: int8) widened to int16. */
void oq_qg_pack_pairs(const void *c0, const void *c1, int is_signed, size_t n,
                      int32_t zp, int16_t *dst);

/* Interleaves 16 columns of two k rows (r1 NULL: zeros) into one pair
 * step of a panel group: dst[2c] = r0[c], dst[2c + 1] = r1[c]. */
void oq_qg_interleave16(const int16_t *r0, const int16_t *r1, int16_t *dst);

/* out[i] = saturate(RNE(clamp(float(acc[i] + bias) * scale, lo - zp,
 * hi - zp)) + zp) for i < n (MlasRequantizeOutput, as the reference's
 * requant1), 8-bit out (is_signed: int8, else uint8). */
void oq_qg_requant_row(const int32_t *acc, size_t n, int32_t bias, float scale,
                       int32_t zp, int is_signed, void *out);

/* The same with a scale (and bias, if non-NULL) per element. */
void oq_qg_requant_vec(const int32_t *acc, size_t n, const int32_t *bias,
                       const float *scale, int32_t zp, int is_signed, void *out);

/* out[i] = float(acc[i]) * scale[i], + bias[i] when bias is non-NULL, in
 * two float roundings (no fused multiply-add), as MLAS's scale-bias output. */
void oq_qg_float_vec(const int32_t *acc, size_t n, const float *scale,
                     const float *bias, float *out);

#endif
