/*
 * int8_kernels.h — the integer fast kernels registry.c lists (int8_ops.c;
 * kernel.h's oq_fast_kernel contract: prepare may decline a node, run hands
 * what it does not take to the reference kernel), and counters tests use to
 * check the fast path really ran.
 */
#ifndef OQ_INT8_KERNELS_H
#define OQ_INT8_KERNELS_H

#include <stddef.h>

#include "kernel.h"
#include "int8_stats.h"

extern const oq_fast_kernel oq_int8_qlinear_conv;
extern const oq_fast_kernel oq_int8_qlinear_conv_ms;   /* com.microsoft */
extern const oq_fast_kernel oq_int8_conv_integer;
extern const oq_fast_kernel oq_int8_qlinear_matmul;
extern const oq_fast_kernel oq_int8_matmul_integer;
extern const oq_fast_kernel oq_int8_matmul_integer_to_float;
extern const oq_fast_kernel oq_int8_dynamic_quantize_matmul;
extern const oq_fast_kernel oq_int8_qgemm;
extern const oq_fast_kernel oq_int8_qlinear_add;  /* same-shape inputs */
/* qdq_fast.c: float32 <-> 8-bit, per tensor or per axis */
extern const oq_fast_kernel oq_int8_quantize_linear;
extern const oq_fast_kernel oq_int8_dequantize_linear;
/* qdq_fast.c's counters, for oq_int8_stats_get */
void oq_qdq_stats(size_t *runs, size_t *folded);
/* int8_misc.c: 8-bit data movement (Resize nearest, integer upscale;
 * MaxPool); they hand other inputs to the next fast kernel for the op */
extern const oq_fast_kernel oq_int8_resize;
extern const oq_fast_kernel oq_int8_max_pool; /* 8-bit, 2-D, no Indices */
/* int8_misc.c's counters: 8-bit Resize/MaxPool runs it did, 8-bit runs it
 * handed on, com.onnxq Lookup8 runs */
void oq_int8_misc_stats(size_t *fast, size_t *fallback, size_t *lookups);
/* int8_misc.c: com.onnxq Lookup8 (made by fuse_lut.c), a plain kernel */
extern const oq_kernel oq_int8_misc_kernels[];

#endif
