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
    size_t layout_reorders;/* activation reorders run (X, Z in; Y out) */
    size_t blocked_in;     /* convolution runs whose X came from another
                              convolution in the blocked layout */
} oq_dnnl_stats;

/* A snapshot of the counters since the process started. */
oq_dnnl_stats oq_dnnl_stats_get(void);

/* Whether sessions prepared from now on may pass activations between
 * oneDNN convolutions in the blocked layout (on by default; exec.c asks).
 * Tests turn it off to compare against the plain hand-off bit for bit. */
void oq_dnnl_set_blocked_handoff(int on);
int oq_dnnl_blocked_handoff(void);

#endif
