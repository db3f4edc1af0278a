/* fp16_internal.h — the fp16 converter's per-op port table (fp16_ops.c). */
#ifndef OQ_FP16_INTERNAL_H
#define OQ_FP16_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Port kinds of op_type in domain at opset (see fp16_ops.c): sets *in and
 * *out (static strings) and *bf16, returns 1; 0 if the op has no row. */
int oq_fp16_op_ports(const char *domain, const char *op_type, int64_t opset,
                     const char **in, const char **out, int *bf16);

/* The kind ('F' or '-') of port i of a kind string (handles a trailing
 * '*'). */
char oq_fp16_port_kind(const char *spec, size_t i);

#endif
