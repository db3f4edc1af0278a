/*
 * dnnl_stats.h — counters of how the oneDNN fast kernels ran, process-wide
 * and atomic: tests check that a case really took the fast path (and did not
 * quietly fall back to the reference kernel).  Plain C, no oneDNN types, so
 * tests can include it by path.
 */
#ifndef OQ_DNNL_STATS_H
#define OQ_DNNL_STATS_H

#include <stddef.h>

typedef struct oq_dnnl_stats {
    size_t fast_runs;      /* node runs computed by oneDNN */
    size_t fallback_runs;  /* node runs handed to the reference kernel */
    size_t plans;          /* primitives made (one per new input shape) */
    size_t weight_packs;   /* weight reorders into a primitive's layout */
} oq_dnnl_stats;

/* A snapshot of the counters since the process started. */
oq_dnnl_stats oq_dnnl_stats_get(void);

#endif
