/*
 * onnxq/builder.h — making ONNX models and graphs in C.
 *
 * Each call appends to a proto and returns the new part (NULL on out of
 * memory).  Strings and data are copied; everything is malloc'd so the
 * finished model is freed like a loaded one (onnxq_model_wrap +
 * onnxq_model_destroy, or onnx__model_proto__free_unpacked).
 *
 *     Onnx__ModelProto *m = onnxq_build_model(13);
 *     Onnx__GraphProto *g = m->graph;
 *     int64_t xd[] = {-1, 4};
 *     const char *xp[] = {"batch", NULL};
 *     onnxq_build_input(g, "x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, xd, xp);
 *     float w[4] = {1, 2, 3, 4};
 *     int64_t wd[] = {4};
 *     onnxq_build_initializer(g, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
 *                             1, wd, w);
 *     const char *in[] = {"x", "w"}, *out[] = {"y"};
 *     onnxq_build_node(g, "Mul", "mul0", in, 2, out, 1);
 *     onnxq_build_output(g, "y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, xd, xp);
 */
#ifndef ONNXQ_BUILDER_H
#define ONNXQ_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A model (IR version 8, producer "onnxq") with an empty graph named
 * "main" and an import of the default domain at opset. */
Onnx__ModelProto *onnxq_build_model(int64_t opset);
/* Adds (or updates) the opset import of a domain. */
Onnx__OperatorSetIdProto *onnxq_build_opset(Onnx__ModelProto *m,
                                            const char *domain,
                                            int64_t version);
/* An empty graph for a subgraph attribute. */
Onnx__GraphProto *onnxq_build_graph(const char *name);

/* Graph inputs/outputs/value_info of a tensor type.  dims[i] < 0 means a
 * symbolic dim named dim_params[i] (unknown if that is NULL); dim_params may
 * be NULL.  ndims < 0 means unknown rank. */
Onnx__ValueInfoProto *onnxq_build_input(Onnx__GraphProto *g, const char *name,
                                        int32_t elem_type, int ndims,
                                        const int64_t *dims,
                                        const char *const *dim_params);
Onnx__ValueInfoProto *onnxq_build_output(Onnx__GraphProto *g, const char *name,
                                         int32_t elem_type, int ndims,
                                         const int64_t *dims,
                                         const char *const *dim_params);
Onnx__ValueInfoProto *onnxq_build_value_info(Onnx__GraphProto *g,
                                             const char *name,
                                             int32_t elem_type, int ndims,
                                             const int64_t *dims,
                                             const char *const *dim_params);

/* A tensor with raw_data copied from data (packed little-endian, numel x
 * element size bytes).  Not attached to anything. */
Onnx__TensorProto *onnxq_build_tensor(const char *name, int32_t dtype,
                                      size_t ndims, const int64_t *dims,
                                      const void *data);
/* The same, appended to g's initializers. */
Onnx__TensorProto *onnxq_build_initializer(Onnx__GraphProto *g,
                                           const char *name, int32_t dtype,
                                           size_t ndims, const int64_t *dims,
                                           const void *data);

/* A node of the default domain; empty strings stand for omitted optional
 * inputs/outputs; name may be NULL. */
Onnx__NodeProto *onnxq_build_node(Onnx__GraphProto *g, const char *op_type,
                                  const char *name, const char *const *inputs,
                                  size_t n_inputs, const char *const *outputs,
                                  size_t n_outputs);
/* Sets the node's domain (e.g. "com.microsoft").  0 on success. */
int onnxq_build_node_domain(Onnx__NodeProto *node, const char *domain);

/* Attributes.  Each returns the attribute or NULL.  _tensor and _graph take
 * ownership of t / sub. */
Onnx__AttributeProto *onnxq_build_attr_int(Onnx__NodeProto *n,
                                           const char *name, int64_t v);
Onnx__AttributeProto *onnxq_build_attr_float(Onnx__NodeProto *n,
                                             const char *name, float v);
Onnx__AttributeProto *onnxq_build_attr_string(Onnx__NodeProto *n,
                                              const char *name,
                                              const char *v);
Onnx__AttributeProto *onnxq_build_attr_ints(Onnx__NodeProto *n,
                                            const char *name,
                                            const int64_t *v, size_t count);
Onnx__AttributeProto *onnxq_build_attr_floats(Onnx__NodeProto *n,
                                              const char *name,
                                              const float *v, size_t count);
Onnx__AttributeProto *onnxq_build_attr_tensor(Onnx__NodeProto *n,
                                              const char *name,
                                              Onnx__TensorProto *t);
Onnx__AttributeProto *onnxq_build_attr_graph(Onnx__NodeProto *n,
                                             const char *name,
                                             Onnx__GraphProto *sub);

#ifdef __cplusplus
}
#endif
#endif
