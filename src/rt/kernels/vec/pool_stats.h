/*
 * pool_stats.h — process-wide atomic counters of how the pooling fast
 * kernels (pool.c) ran, so tests can check a case really took the fast path
 * or really went to the reference kernel.  Plain C: tests include it by path.
 */
#ifndef OQ_POOL_STATS_H
#define OQ_POOL_STATS_H

#include <stddef.h>

typedef struct oq_pool_stats {
    size_t fast_runs;      /* node runs computed by pool.c */
    size_t fallback_runs;  /* node runs handed to the reference kernel */
} oq_pool_stats;

oq_pool_stats oq_pool_stats_get(void);

#endif
