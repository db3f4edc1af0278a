/*
 * onnxq/tensor.h — facts about ONNX element types and the data of a
 * TensorProto, wherever it is stored (raw_data, the typed repeated fields,
 * or external data next to the model).
 */
#ifndef ONNXQ_TENSOR_H
#define ONNXQ_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lower-case name of an ONNX element type ("float32", "float16",
 * "bfloat16", "int8", ...); "undefined" / "type<N>" for others. */
const char *onnxq_dtype_name(int32_t dtype);

/* Bytes per element, 0 for string, undefined and unknown types. */
size_t onnxq_dtype_size(int32_t dtype);

/* Number of elements of a shape; 0 on success, -1 if a dim is negative or
 * the product overflows 2^62. */
int onnxq_shape_numel(const int64_t *dims, size_t ndims, uint64_t *numel);

/* 1 if the tensor's data lives in an external file. */
int onnxq_tensor_is_external(const Onnx__TensorProto *t);

/* The external_data entries of t.  length is -1 when not given (to the end of
 * the file).  location is borrowed from t. */
typedef struct onnxq_external_ref {
    const char *location;
    uint64_t offset;
    int64_t length;
} onnxq_external_ref;
onnxq_status onnxq_tensor_external_ref(const Onnx__TensorProto *t,
                                       onnxq_external_ref *ref,
                                       onnxq_error *err);

/* Bytes of data the tensor's shape and type call for, or an error if the
 * type has no fixed size (string) or the shape is invalid. */
onnxq_status onnxq_tensor_expected_bytes(const Onnx__TensorProto *t,
                                         uint64_t *bytes, onnxq_error *err);

/* The tensor's data as stored in raw form: raw_data, or the mapped range of
 * its external file (bounds-checked, mapped once per file and kept until the
 * model is destroyed).  *data is borrowed from the model.  A tensor stored in
 * typed fields (float_data, ...) gives ONNXQ_ERR_UNSUPPORTED: use
 * onnxq_tensor_copy_data. */
onnxq_status onnxq_tensor_raw_bytes(onnxq_model *model,
                                    const Onnx__TensorProto *t,
                                    const void **data, size_t *size,
                                    onnxq_error *err);

/* Copies the tensor's elements, packed little-endian as in raw_data, to dst
 * (dst_size must equal the expected size).  Works for every storage. */
onnxq_status onnxq_tensor_copy_data(onnxq_model *model,
                                    const Onnx__TensorProto *t, void *dst,
                                    size_t dst_size, onnxq_error *err);

/* Checks that the stored data matches shape and type (raw length, count of
 * typed values, external range inside its file).  The message names the
 * tensor. */
onnxq_status onnxq_tensor_check_data(onnxq_model *model,
                                     const Onnx__TensorProto *t,
                                     onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
