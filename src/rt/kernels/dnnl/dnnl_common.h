/*
 * dnnl_common.h — what onnxq's oneDNN fast kernels share (oneDNN 2.6 C API,
 * OpenMP runtime).  Every use of oneDNN stays inside kernels/dnnl/, because
 * its 3.x API differs.
 *
 * Each fast kernel's prepared state holds an oq_dnnl (an engine and a stream
 * of its own, so nothing is shared between sessions), a "plan" per input
 * shape (primitives and layout-converting reorders made for that shape, kept
 * until the shape changes) and, for convolutions, the weights reordered to
 * the layout the primitive prefers.
 *
 * A fast kernel never fails where the reference kernel would succeed: when
 * run sees something it does not handle (another type, a geometry oneDNN
 * refuses, inputs the spec forbids) it hands the node to the reference
 * kernel, which computes it or fails it with the proper message.
 */
#ifndef OQ_DNNL_COMMON_H
#define OQ_DNNL_COMMON_H

#include <oneapi/dnnl/dnnl.h>

#include "kernel.h"
#include "dnnl_stats.h"

typedef struct oq_dnnl {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    const oq_kernel *ref;   /* the node's reference kernel (the fallback) */
} oq_dnnl;

/* Creates the engine and stream and finds the node's reference kernel.
 * ONNXQ_ERR_UNSUPPORTED if oneDNN has no CPU engine here (the node is then
 * declined), OUT_OF_MEMORY on allocation failure. */
onnxq_status oq_dnnl_init(oq_dnnl *d, const oq_prepare_ctx *p);
void oq_dnnl_clear(oq_dnnl *d);

/* Runs the node through its reference kernel (counted as a fallback). */
onnxq_status oq_dnnl_fallback(const oq_dnnl *d, oq_kctx *ctx);

/* oneDNN takes its thread count from OpenMP's nthreads-var when a primitive
 * is created (kernels split their work by it) and when it runs; the session's
 * count (n > 0) is set for both and the caller's value restored after, so
 * nothing leaks into the rest of the program.  Returns the value to restore
 * (0: nothing to restore). */
int oq_dnnl_threads_enter(int n);
void oq_dnnl_threads_leave(int saved);
/* The count a plan is made for: n, or OpenMP's default when n is 0. */
int oq_dnnl_threads_effective(int n);

/* A plain row-major f32 descriptor of dims[0..rank). */
dnnl_status_t oq_dnnl_md_plain(dnnl_memory_desc_t *md, int rank,
                               const int64_t *dims);

/* A reorder from one layout to another, made once per plan; both buffers
 * are bound when it runs. */
typedef struct oq_dnnl_reorder {
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
} oq_dnnl_reorder;

dnnl_status_t oq_dnnl_reorder_make(oq_dnnl_reorder *r, const oq_dnnl *d,
                                   const dnnl_memory_desc_t *src_md,
                                   const dnnl_memory_desc_t *dst_md);
dnnl_status_t oq_dnnl_reorder_run(oq_dnnl_reorder *r, const oq_dnnl *d,
                                  const void *src, void *dst);
void oq_dnnl_reorder_clear(oq_dnnl_reorder *r); /* zeroed r is fine */

/* A memory object for md, its buffer allocated by oneDNN (allocate = 1) or
 * bound later with dnnl_memory_set_data_handle (allocate = 0). */
dnnl_status_t oq_dnnl_memory(dnnl_memory_t *mem, const oq_dnnl *d,
                             const dnnl_memory_desc_t *md, int allocate);

/* Binds buf to mem (the const is cast away: oneDNN only reads inputs). */
dnnl_status_t oq_dnnl_bind(dnnl_memory_t mem, const void *buf);

/* What a oneDNN failure at run time means: out of memory fails the node;
 * anything else (not implemented, a geometry it refuses) hands the node to
 * the reference kernel. */
onnxq_status oq_dnnl_failed(const oq_dnnl *d, oq_kctx *ctx, dnnl_status_t s,
                            const char *what);

/* Counter updates (dnnl_stats.h). */
void oq_dnnl_count_fast(void);
void oq_dnnl_count_plan(void);
void oq_dnnl_count_pack(void);
void oq_dnnl_count_reorder(void);
void oq_dnnl_count_blocked_in(void);

/* 1 if every dim of t is > 0 (oneDNN does not take empty tensors). */
int oq_dnnl_nonempty(const oq_tensor *t);

#endif
