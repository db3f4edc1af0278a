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

#endif
