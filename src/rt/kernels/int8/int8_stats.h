/*
 * int8_stats.h — process-wide counters of how the int8 fast kernels ran
 * (int8_ops.c): tests check that a case took the fast path and did not
 * quietly fall back to the reference kernel.  Plain C, so tests can
 * include it by path.
 */
#ifndef OQ_INT8_STATS_H
#define OQ_INT8_STATS_H

#include <stddef.h>

typedef struct oq_int8_stats {
    size_t fast_runs;      /* node runs computed by the int8 kernels */
    size_t fallback_runs;  /* node runs handed to the reference kernel */
    size_t qdq_runs;       /* Quantize/DequantizeLinear runs computed by
                              qdq_fast.c (constant ones included) */
    size_t qdq_folded_runs; /* ... of which DequantizeLinear of constants,
                              copied from the result made at preparation */
    size_t conv_rows_runs; /* QLinearConv/ConvInteger runs on the stride-1
                              int16 row kernel (qgemm.h oq_qg_conv_rows) */
    size_t conv_rows_u8_runs; /* ... on the u8 row kernel (pair-safe
                              weights, oq_qg_conv_rows_u8) */
} oq_int8_stats;

oq_int8_stats oq_int8_stats_get(void);

#endif
