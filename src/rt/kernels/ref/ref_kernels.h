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
/* attention.c: com.microsoft Attention and QAttention */
extern const oq_kernel oq_ref_attention_kernels[];

/* quant.c's MLAS arithmetic that rnn.c's DynamicQuantizeLSTM shares:
 * DynamicQuantizeLinear's uint8 quantization of x[0..n) (q, scale, zero
 * point), and MLAS's FMA3 logistic and tanh approximations. */
void oq_dynamic_qparams_u8(const float *x, size_t n, float *scale,
                           int32_t *zp);
void oq_dynamic_quantize_u8(const float *x, size_t n, uint8_t *q, float *scale,
                            int32_t *zp);
float oq_mlas_logistic(float x);
float oq_mlas_tanh(float x);

#endif
