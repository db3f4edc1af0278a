/*
 * pool_kernels.h — the float32 MaxPool, AveragePool and ReduceMean fast kernels
 * (pool.c) registry.c lists; same contract as vec_kernels.h: whatever they
 * do not take runs the reference kernel.  Counters: pool_stats.h.
 */
#ifndef OQ_POOL_KERNELS_H
#define OQ_POOL_KERNELS_H

#include "kernel.h"
#include "pool_stats.h"

extern const oq_fast_kernel oq_vec_max_pool, oq_vec_average_pool,
    oq_vec_reduce_mean;

#endif
