/* model_internal.h — the onnxq_model struct, shared by src/onnx/ files. */
#ifndef ONNXQ_MODEL_INTERNAL_H
#define ONNXQ_MODEL_INTERNAL_H

#include "onnxq/model.h"

/* One external data file, mapped read-only on first use. */
typedef struct oq_mapping {
    char *location; /* as written in the tensor, relative to base_dir */
    void *addr;     /* NULL for an empty file */
    size_t size;
} oq_mapping;

struct onnxq_model {
    Onnx__ModelProto *proto; /* malloc'd tree, freed by free_unpacked */
    char *source;            /* file it came from, or "<memory>" */
    char *base_dir;          /* folder external data is relative to */
    oq_mapping *maps;
    size_t n_maps;
};

/* Maps (once) the external file `location` of model; *map is borrowed. */
onnxq_status oq_model_map_external(onnxq_model *model, const char *location,
                                   const oq_mapping **map, onnxq_error *err);

/* Checks the protobuf wire format of data as a message of type desc, nesting
 * at most ONNXQ_MAX_MESSAGE_DEPTH deep.  name labels error messages. */
onnxq_status oq_wire_validate(const uint8_t *data, size_t size,
                              const ProtobufCMessageDescriptor *desc,
                              const char *name, onnxq_error *err);

#endif
