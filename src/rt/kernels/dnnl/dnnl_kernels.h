/*
 * dnnl_kernels.h — the oneDNN fast kernels registry.c lists (kernel.h's
 * oq_fast_kernel contract: prepare may decline a node, run falls back to the
 * reference kernel for what oneDNN does not take).
 */
#ifndef OQ_DNNL_KERNELS_H
#define OQ_DNNL_KERNELS_H

#include "dnnl_stats.h"
#include "kernel.h"

extern const oq_fast_kernel oq_dnnl_conv;        /* dnnl_conv.c */
extern const oq_fast_kernel oq_dnnl_fused_conv;
extern const oq_fast_kernel oq_dnnl_conv_transpose;
extern const oq_fast_kernel oq_dnnl_matmul;      /* dnnl_matmul.c */
extern const oq_fast_kernel oq_dnnl_gemm;

/* The blocked hand-off between oneDNN convolutions (dnnl_conv.c), driven by
 * the executor: before a run of a node whose kernel oq_dnnl_is_conv, it
 * says whether X and Z arrive in the agreed blocked layout and whether Y
 * may be left in it (only other oneDNN convolutions read Y); after the
 * run, oq_dnnl_conv_y_blocked says whether Y was.  A blocked tensor keeps
 * its logical dims and its byte size.  oq_dnnl_unblock converts one back
 * to plain in place, for any other reader; -1 on out of memory. */
int oq_dnnl_is_conv(const oq_fast_kernel *k);
void oq_dnnl_conv_layout(void *state, int x_blocked, int z_blocked,
                         int y_may_block);
int oq_dnnl_conv_y_blocked(const void *state);
int oq_dnnl_unblock(oq_tensor *t);

#endif
