/* registry.h — looking up the kernel for a node (see registry.c). */
#ifndef OQ_REGISTRY_H
#define OQ_REGISTRY_H

#include "kernel.h"

/* The kernel for op_type of domain at opset, or NULL.  For If/Loop (run by
 * the executor) it returns an entry with run == NULL and sets
 * *is_control_flow. */
const oq_kernel *oq_find_kernel(const char *domain, const char *op_type,
                                int64_t opset, int *is_control_flow);

/* The fast kernels for an op, in order of preference: *n receives the count
 * (0 if none).  The executor calls their prepare in turn. */
const oq_fast_kernel *const *oq_find_fast_kernels(const char *domain,
                                                  const char *op_type,
                                                  int64_t opset, size_t *n);

#endif
