/*
 * onnxq/ops.h — which operators onnxq's runtime can execute.
 *
 * The list is the runtime's op table (src/rt/ops.def): an op is listed there
 * in the same change that adds its kernel, with the range of opset versions
 * the kernel implements.  The checker and the quantizers ask it before they
 * promise that a model will run.
 */
#ifndef ONNXQ_OPS_H
#define ONNXQ_OPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if the runtime has a kernel for op_type of domain ("" = ai.onnx) at the
 * given opset version of that domain. */
int onnxq_op_supported(const char *domain, const char *op_type,
                       int64_t opset_version);

/* Number of (domain, op) entries in the runtime's table. */
size_t onnxq_op_count(void);

#ifdef __cplusplus
}
#endif
#endif
