/*
 * onnxq/data.h — tensors in files: NumPy .npy and .npz, and ONNX TensorProto
 * .pb files (the format of ONNX test data).
 *
 * Loaded tensors are onnxq_tensor with malloc'd data, the caller's to free
 * (free(t->data)).  Errors name the file and what is wrong with it.
 */
#ifndef ONNXQ_DATA_H
#define ONNXQ_DATA_H

#include <stddef.h>

#include "onnxq/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a .npy file (format 1.0, 2.0 or 3.0; little-endian, C order;
 * float16/32/64, int8..64, uint8..64, bool). */
onnxq_status onnxq_npy_read(const char *path, onnxq_tensor *out,
                            onnxq_error *err);
/* Parses .npy bytes held in memory (name labels errors). */
onnxq_status onnxq_npy_parse(const void *data, size_t size, const char *name,
                             onnxq_tensor *out, onnxq_error *err);
/* Writes t as a .npy file (format 1.0), atomically. */
onnxq_status onnxq_npy_write(const char *path, const onnxq_tensor *t,
                             onnxq_error *err);

/* One array of an .npz archive. */
typedef struct onnxq_named_tensor {
    char *name;          /* key without ".npy"; malloc'd */
    onnxq_tensor tensor; /* malloc'd data */
} onnxq_named_tensor;

/* Reads every array of an .npz file (zip, stored or deflated).  *out is a
 * malloc'd array of *n entries: free with onnxq_named_tensors_free. */
onnxq_status onnxq_npz_read(const char *path, onnxq_named_tensor **out,
                            size_t *n, onnxq_error *err);
void onnxq_named_tensors_free(onnxq_named_tensor *t, size_t n);

/* Reads a serialized TensorProto (.pb).  *name (may be NULL) receives the
 * tensor's name, malloc'd ("" if none). */
onnxq_status onnxq_pb_read(const char *path, onnxq_tensor *out, char **name,
                           onnxq_error *err);

/* Reads a tensor file by extension: .npy or .pb. */
onnxq_status onnxq_tensor_file_read(const char *path, onnxq_tensor *out,
                                    onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
