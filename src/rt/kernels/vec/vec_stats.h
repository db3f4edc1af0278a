/*
 * vec_stats.h — process-wide atomic counters of how the vectorised fast
 * kernels (vec_kernels.c) ran: tests check that a case really took the fast
 * path, or really handed the node to the reference kernel.  Plain C, so
 * tests can include it by path.
 */
#ifndef OQ_VEC_STATS_H
#define OQ_VEC_STATS_H

#include <stddef.h>

typedef struct oq_vec_stats {
    size_t fast_runs;      /* node runs computed by a vec kernel */
    size_t fallback_runs;  /* node runs handed to the reference kernel */
} oq_vec_stats;

oq_vec_stats oq_vec_stats_get(void);

#endif
