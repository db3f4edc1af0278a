/* registry.h — looking up the kernel for a node (see registry.c). */
#ifndef OQ_REGISTRY_H
#define OQ_REGISTRY_H

#include "kernel.h"

/* The kernel for op_type of domain at opset, or NULL.  For If/Loop (run by
 * the executor) it returns an entry with run == NULL and sets
 * *is_control_flow. */
const oq_kernel *oq_find_kernel(const char *domain, const char *op_type,
                                int64_t opset, int *is_control_flow);

#endif
