/*
 * onnxq/model.h — loading, editing and saving ONNX models.
 *
 * A model is the ONNX ModelProto as protobuf-c unpacks it (the generated
 * Onnx__* structs of onnx-ml.proto, ONNX 1.12) plus what onnxq needs to keep
 * beside it: the folder its external data is relative to, and read-only
 * mappings of external data files.  Everything in the proto is allocated with
 * malloc, so callers edit it in place with malloc'd strings and arrays (see
 * onnxq/builder.h for helpers); onnxq_model_destroy frees it all.
 *
 * Example:
 *     onnxq_error err;
 *     onnxq_model *m;
 *     if (onnxq_model_load_file("net.onnx", &m, &err) != ONNXQ_OK) {
 *         fprintf(stderr, "%s\n", err.message);  // names the file and why
 *         return 1;
 *     }
 *     printf("%zu nodes\n", onnxq_model_proto(m)->graph->n_node);
 *     onnxq_model_save(m, "copy.onnx", NULL, NULL, &err);
 *     onnxq_model_destroy(m);
 *
 * Loading checks the protobuf wire format itself before unpacking (protobuf-c
 * gives no reason for a failure and has no nesting limit), so a truncated or
 * hostile file gets an error naming the byte offset and field.  Saving is
 * atomic: a temporary file in the destination folder, fsync, rename.
 */
#ifndef ONNXQ_MODEL_H
#define ONNXQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx-ml.pb-c.h"
#include "onnxq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_model onnxq_model;

/* Nesting of protobuf messages beyond this is refused at load (each subgraph
 * level costs three: Graph -> Node -> Attribute). */
enum { ONNXQ_MAX_MESSAGE_DEPTH = 96 };

/* protobuf refuses messages of 2 GiB or more. */
#define ONNXQ_PROTOBUF_LIMIT ((uint64_t)INT32_MAX)

/* Loads path (mmap'd, unpacked, unmapped).  External data stays on disk and
 * is resolved relative to path's folder when read.  *out is owned by the
 * caller (onnxq_model_destroy). */
onnxq_status onnxq_model_load_file(const char *path, onnxq_model **out,
                                   onnxq_error *err);

/* Loads from memory.  data is borrowed for the call only.  base_dir is the
 * folder external data is relative to (copied; NULL means the current
 * folder); name is used in error messages (copied; NULL means "<memory>"). */
onnxq_status onnxq_model_load_memory(const void *data, size_t size,
                                     const char *base_dir, const char *name,
                                     onnxq_model **out, onnxq_error *err);

/* Wraps a proto built in memory (takes ownership of proto). */
onnxq_status onnxq_model_wrap(Onnx__ModelProto *proto, const char *base_dir,
                              onnxq_model **out, onnxq_error *err);

void onnxq_model_destroy(onnxq_model *model); /* NULL is a no-op */

/* The proto, owned by the model; edit in place. */
Onnx__ModelProto *onnxq_model_proto(onnxq_model *model);
const Onnx__ModelProto *onnxq_model_proto_const(const onnxq_model *model);

/* The file the model was loaded from ("<memory>" if none); borrowed. */
const char *onnxq_model_source(const onnxq_model *model);
/* The folder external data is relative to; borrowed. */
const char *onnxq_model_base_dir(const onnxq_model *model);

/* ---- saving ----------------------------------------------------------- */

typedef enum onnxq_external_mode {
    ONNXQ_EXTERNAL_AUTO = 0, /* external only when needed: the model already
                                had external tensors, or would pass 2 GiB */
    ONNXQ_EXTERNAL_NEVER,    /* every tensor inline (fails past 2 GiB) */
    ONNXQ_EXTERNAL_ALWAYS    /* tensors >= threshold go to external data */
} onnxq_external_mode;

typedef struct onnxq_save_options {
    onnxq_external_mode external;
    uint64_t threshold;     /* smallest tensor moved out, bytes (default 1024) */
    const char *location;   /* data file name, relative to the model's folder;
                               NULL means "<model file name>.data" */
    int file_per_tensor;    /* one file per tensor, named after the tensor */
} onnxq_save_options;

/* What a save did, for the caller to report. */
typedef struct onnxq_save_report {
    int wrote_external;        /* 1 if external data was written */
    int external_was_forced;   /* 1 if AUTO chose it because of the 2 GiB limit */
    uint64_t inline_bytes;     /* size of the .onnx file written */
    uint64_t external_bytes;   /* bytes of tensor data written externally */
    size_t external_tensors;
    char location[512];        /* data file (or folder pattern) written */
} onnxq_save_report;

/* Defaults for opts (AUTO, 1024 bytes, "<file>.data", one file). */
void onnxq_save_options_init(onnxq_save_options *opts);

/* Writes the model to path atomically.  opts may be NULL (defaults); report
 * may be NULL.  The model is left as it was (tensors moved to external data
 * are moved only in the written file).  On failure nothing is left at path
 * (an existing file there is untouched). */
onnxq_status onnxq_model_save(onnxq_model *model, const char *path,
                              const onnxq_save_options *opts,
                              onnxq_save_report *report, onnxq_error *err);

/* Serialises the model into a malloc'd buffer (inline tensors only; external
 * references are written as they are).  *out_data is the caller's to free. */
onnxq_status onnxq_model_serialize(const onnxq_model *model, void **out_data,
                                   size_t *out_size, onnxq_error *err);

/* 1 if a and b name the same existing file (same device and inode). */
int onnxq_same_file(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
