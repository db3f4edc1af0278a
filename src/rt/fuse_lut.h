/* fuse_lut.h — 8-bit elementwise islands to lookup tables, a step of QDQ
 * fusion (see fuse_lut.c). */
#ifndef OQ_FUSE_LUT_H
#define OQ_FUSE_LUT_H

#include <stddef.h>

#include "onnxq/model.h"
#include "onnxq/runtime.h"

/* Replaces each island of m's main graph (edited in place: fuse_qdq.c's
 * private copy) by a com.onnxq Lookup8 node and its table, computed with
 * the kernels opts chooses (reference_only); *n_fused receives the count.
 * Dead nodes and initializers are left for the caller to remove. */
onnxq_status oq_fuse_lut(onnxq_model *m, const onnxq_session_options *opts,
                         size_t *n_fused, onnxq_error *err);

#endif
