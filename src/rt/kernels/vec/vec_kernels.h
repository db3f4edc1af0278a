/*
 * vec_kernels.h — the vectorised float32 fast kernels registry.c lists
 * (kernel.h's oq_fast_kernel contract: anything they do not handle goes to
 * the reference kernel, which stays the ground truth).
 */
#ifndef OQ_VEC_KERNELS_H
#define OQ_VEC_KERNELS_H

#include "kernel.h"

extern const oq_fast_kernel oq_vec_add, oq_vec_sub, oq_vec_mul, oq_vec_div;
extern const oq_fast_kernel oq_vec_relu, oq_vec_leaky_relu, oq_vec_clip,
    oq_vec_hard_sigmoid, oq_vec_hard_swish;
extern const oq_fast_kernel oq_vec_batch_norm, oq_vec_global_average_pool,
    oq_vec_resize, oq_vec_sigmoid, oq_vec_softmax;
/* com.onnxq HardSwishChain: only made by the executor's fusion
 * (fuse_conv.c), never in a model */
extern const oq_fast_kernel oq_vec_hswish_chain;

#endif
