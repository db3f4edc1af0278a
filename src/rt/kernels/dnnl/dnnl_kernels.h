/*
 * dnnl_kernels.h — the oneDNN fast kernels registry.c lists (kernel.h's
 * oq_fast_kernel contract: prepare may decline a node, run falls back to the
 * reference kernel for what oneDNN does not take).
 */
#ifndef OQ_DNNL_KERNELS_H
#define OQ_DNNL_KERNELS_H

#include "kernel.h"

extern const oq_fast_kernel oq_dnnl_conv;        /* dnnl_conv.c */
extern const oq_fast_kernel oq_dnnl_fused_conv;
extern const oq_fast_kernel oq_dnnl_conv_transpose;
extern const oq_fast_kernel oq_dnnl_matmul;      /* dnnl_matmul.c */
extern const oq_fast_kernel oq_dnnl_gemm;

#endif
