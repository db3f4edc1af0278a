/*
 * onnxq/runtime.h — running a model on the CPU.
 *
 *     onnxq_session *s;
 *     if (onnxq_session_create(model, NULL, &s, &err) != ONNXQ_OK) ...
 *         // fails before anything runs if an op has no kernel, naming
 *         // the op and node
 *     onnxq_tensor in = {ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3,
 *                        {1, 300, 80}, feat};
 *     onnxq_tensor *outs; size_t n_outs;
 *     onnxq_session_run(s, &in, 1, &outs, &n_outs, &err);
 *     ... outs[0].data ...
 *     onnxq_tensors_free(outs, n_outs);
 *     onnxq_session_destroy(s);
 *
 * Tensors are dense and row-major; data of a float16 tensor is its IEEE
 * half bits.  Inputs are borrowed for the call; outputs are the caller's.
 */
#ifndef ONNXQ_RUNTIME_H
#define ONNXQ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { ONNXQ_MAX_RANK = 8 };

typedef struct onnxq_tensor {
    int32_t dtype;               /* ONNX TensorProto.DataType */
    int rank;
    int64_t dims[ONNXQ_MAX_RANK];
    void *data;                  /* numel x element size bytes */
} onnxq_tensor;

typedef struct onnxq_session onnxq_session;

/* Called with every tensor a node produces, as it is produced (name is the
 * tensor's name; t and name are valid only during the call).  Return
 * non-zero to stop the run (it then fails with ONNXQ_ERR_INVALID_ARGUMENT). */
typedef int (*onnxq_observer_fn)(void *user, const char *name,
                                 const onnxq_tensor *t);

typedef struct onnxq_session_options {
    int n_threads;              /* 0: OpenMP's default */
    onnxq_observer_fn observer; /* NULL: none */
    void *observer_user;
    int profile;                /* time each node (onnxq_session_op_times) */
    int reference_only;         /* 1: skip the fast kernels (tests compare
                                   them against the reference kernels) */
} onnxq_session_options;

void onnxq_session_options_init(onnxq_session_options *opts);

/* Prepares model for running.  The model must outlive the session.  Every
 * node (subgraphs included) must have a kernel: otherwise the error names
 * op, domain, opset and node. */
onnxq_status onnxq_session_create(onnxq_model *model,
                                  const onnxq_session_options *opts,
                                  onnxq_session **out, onnxq_error *err);
void onnxq_session_destroy(onnxq_session *s); /* NULL is a no-op */

/* The graph inputs to feed (those without an initializer), in graph order,
 * and the outputs, in graph order.  Names are borrowed from the model. */
size_t onnxq_session_input_count(const onnxq_session *s);
const Onnx__ValueInfoProto *onnxq_session_input(const onnxq_session *s,
                                                size_t i);
size_t onnxq_session_output_count(const onnxq_session *s);
const Onnx__ValueInfoProto *onnxq_session_output(const onnxq_session *s,
                                                 size_t i);

/* Runs with inputs in the order of onnxq_session_input.  Checks each input's
 * type and shape against the model (symbolic dims must agree across inputs).
 * *outputs is a malloc'd array of n = output count tensors with malloc'd
 * data: free with onnxq_tensors_free. */
onnxq_status onnxq_session_run(onnxq_session *s, const onnxq_tensor *inputs,
                               size_t n_inputs, onnxq_tensor **outputs,
                               size_t *n_outputs, onnxq_error *err);

/* Bytes of tensor data alive at the peak of the last run (inputs and
 * weights not counted). */
size_t onnxq_session_peak_bytes(const onnxq_session *s);

/* Bytes of the arena the session planned for its intermediate tensors and
 * kernels' scratch (one buffer, placed by lifetime on the first run with a
 * set of input shapes and reused by later runs with the same shapes); 0
 * before the first run. */
size_t onnxq_session_planned_bytes(const onnxq_session *s);

void onnxq_tensors_free(onnxq_tensor *t, size_t n);

/* With the profile option: time spent per op type over all runs so far,
 * most expensive first.  *out is borrowed until the next call or run. */
typedef struct onnxq_op_time {
    const char *op_type; /* borrowed from the model */
    double total_ms;
    size_t calls;
} onnxq_op_time;
size_t onnxq_session_op_times(onnxq_session *s, const onnxq_op_time **out);

/* Bytes of t's data. */
size_t onnxq_tensor_nbytes(const onnxq_tensor *t);

/* Element i of t as a double (any numeric type, bool, float16, bfloat16),
 * and the reverse (float16/bfloat16 rounded to nearest even, integers
 * saturated), as the runtime's kernels read and write elements. */
double onnxq_tensor_get_f64(const onnxq_tensor *t, size_t i);
void onnxq_tensor_set_f64(onnxq_tensor *t, size_t i, double v);

/* IEEE half and bfloat16 conversions (round to nearest even), as the
 * runtime does them. */
float onnxq_half_to_float(uint16_t h);
uint16_t onnxq_float_to_half(float f);
float onnxq_bfloat16_to_float(uint16_t b);
uint16_t onnxq_float_to_bfloat16(float f);

#ifdef __cplusplus
}
#endif
#endif
