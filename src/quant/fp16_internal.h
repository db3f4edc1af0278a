/* fp16_internal.h — the fp16 converter's per-op port table (fp16_ops.c). */
#ifndef OQ_FP16_INTERNAL_H
#define OQ_FP16_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/fp16.h"

/* Port kinds of op_type in domain at opset (see fp16_ops.c): sets *in and
 * *out (static strings) and *bf16, returns 1; 0 if the op has no row. */
int oq_fp16_op_ports(const char *domain, const char *op_type, int64_t opset,
                     const char **in, const char **out, int *bf16);

/* The kind ('F' or '-') of port i of a kind string (handles a trailing
 * '*'). */
char oq_fp16_port_kind(const char *spec, size_t i);

/* onnxq_convert_fp16, also setting main_converted[i] (if not NULL; sized by
 * the main graph's node count) to 1 for each main-graph node other than
 * Cast and Constant that was converted (fp16_auto.c's candidates). */
onnxq_status oq_fp16_convert(onnxq_model *model,
                             const onnxq_fp16_options *opts,
                             onnxq_fp16_report *report,
                             unsigned char *main_converted, onnxq_error *err);

#endif
