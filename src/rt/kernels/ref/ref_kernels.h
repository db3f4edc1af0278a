/*
 * ref_kernels.h — the reference kernel tables, one per op family file in
 * kernels/ref/.  Each family adds its line here; registry.c lists the tables
 * (reference ones last, so fast kernels for the same op win).
 */
#ifndef OQ_REF_KERNELS_H
#define OQ_REF_KERNELS_H

#include "kernel.h"

/* elementwise.c: arithmetic, comparisons, logic, activations, math
 * functions, Clip, Where, Cast/CastLike, Identity, com.microsoft Gelu ops */
extern const oq_kernel oq_ref_elementwise_kernels[];
extern const oq_kernel oq_ref_rnn_kernels[];
extern const oq_kernel oq_ref_misc_kernels[];
extern const oq_kernel oq_ref_reduce_norm_kernels[];
extern const oq_kernel oq_ref_conv_pool_kernels[];
extern const oq_kernel oq_ref_matmul_kernels[];
extern const oq_kernel oq_ref_resize_kernels[];
extern const oq_kernel oq_ref_shape_kernels[];
extern const oq_kernel oq_ref_quant_kernels[];
extern const oq_kernel oq_ref_loss_signal_kernels[];

#endif
