/*
 * quant_internal.h — the graph-side helpers every onnxq quantizer shares
 * (internal, oq_ prefix).  Used by quant/dynamic.c (`onnxq dynamic`) and by
 * the static quantizer (`onnxq static`, helper h5): keep both in mind when
 * changing anything here.
 *
 * Four jobs:
 *   1. which nodes to quantize: op types, --nodes-to-quantize and
 *      --nodes-to-exclude (items are node names, shell patterns, or
 *      "op:TYPE"); an item that matches no node of the model is an error;
 *   2. a node input's constant float weight (initializer or Constant node,
 *      this graph or an outer one) read as float;
 *   3. adding a quantized weight (W_quantized / W_scale / W_zero_point, as
 *      ONNX Runtime's tool names them) once per weight and parameters
 *      (with oq_wopts.bias, int8 scales grown where the int32 bias would
 *      overflow), and removing the float weight when nothing uses it;
 *   4. raising the default-domain opset when every node's definition stays
 *      the same (table: opset_changes.inc), and importing com.microsoft.
 *
 * Usage pattern (what dynamic.c does):
 *     oq_qctx *q; oq_qctx_create(model, &q, &err);     // holds a main view
 *     oq_select *sel; oq_select_create(model, op_types, known, incl, excl,
 *                                      &sel, &err);      // validates lists
 *     for each graph g (onnxq_graph_* views), each node n:
 *         if (!oq_select_node(sel, n)) continue;
 *         const oq_qweight_ref *w;
 *         oq_qctx_weight(q, g, n->input[1], INT8, symmetric, reduce, axis,
 *                        &w, &err);                      // cached
 *         ... build new nodes referring to w->q_name / w->scale_name
 *             into a node list of your own (not yet into the graph) ...
 *     oq_qctx_release_view(q);   // views end here
 *     ... now swap the graphs' node lists, free replaced nodes ...
 *     oq_qctx_finish(q, &err);   // drops float weights nothing uses now
 * Initializers are appended to graphs at once (views tolerate that), but a
 * graph's node list must not change while any view of the model exists:
 * views index nodes by position and borrow their strings.
 */
#ifndef OQ_QUANT_INTERNAL_H
#define OQ_QUANT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/graph.h"
#include "onnxq/model.h"
#include "onnxq/quant.h"

/* ---- 1. node selection ---------------------------------------------------- */

typedef struct oq_select oq_select;

/* Parses the lists (comma-separated; NULL or "" = none) and checks them
 * against every node of the model, subgraphs included:
 *   op_types: op types to quantize; each must be one of known_ops
 *             (NULL-terminated), else an error naming it and listing them;
 *             NULL or "" means default_ops (comma-separated);
 *   include:  --nodes-to-quantize (empty = every node of those op types);
 *   exclude:  --nodes-to-exclude.
 * Items of include/exclude are exact node names, fnmatch(3) patterns
 * (`*`, `?`, `[...]`), or "op:TYPE".  An item matching no node is
 * ONNXQ_ERR_INVALID_ARGUMENT naming it. */
onnxq_status oq_select_create(onnxq_model *model, const char *op_types,
                              const char *default_ops,
                              const char *const *known_ops,
                              const char *include, const char *exclude,
                              oq_select **out, onnxq_error *err);
void oq_select_destroy(oq_select *s);

typedef enum oq_select_verdict {
    OQ_SELECT_YES = 0,      /* quantize it */
    OQ_SELECT_OP_TYPE,      /* op type not asked for */
    OQ_SELECT_NOT_INCLUDED, /* not in --nodes-to-quantize */
    OQ_SELECT_EXCLUDED      /* in --nodes-to-exclude */
} oq_select_verdict;

/* Whether node n should be quantized (the op type counts only for the
 * default domain and com.microsoft). */
oq_select_verdict oq_select_node(const oq_select *s, const Onnx__NodeProto *n);
/* 1 if op_type is one of the selected op types. */
int oq_select_has_op(const oq_select *s, const char *op_type);

/* ---- 2. constant float weights -------------------------------------------- */

/* The float32 constant behind name as seen from g (initializer or Constant
 * node, outer scopes included); NULL if it is not one.  *owner receives the
 * graph that defines it (may be NULL). */
const Onnx__TensorProto *oq_float_weight(const onnxq_graph *g,
                                         const char *name,
                                         const onnxq_graph **owner);

/* t's elements as a malloc'd float array (*out, numel in *n), whatever the
 * storage (raw, float_data, external).  t must be FLOAT. */
onnxq_status oq_read_floats(onnxq_model *model, const Onnx__TensorProto *t,
                            float **out, size_t *n, onnxq_error *err);

/* ---- 3. quantized weights ------------------------------------------------- */

typedef struct oq_qctx oq_qctx;

/* A quantized weight in the model: names are those of initializers added
 * to the graph that defined the float weight.  Borrowed from the context. */
typedef struct oq_qweight_ref {
    const char *source;     /* the float weight's name */
    const char *q_name;     /* "<W>_quantized" (uniquified if taken) */
    const char *scale_name; /* "<W>_scale": float scalar, or 1-D [C] */
    const char *zp_name;    /* "<W>_zero_point": same shape, dtype */
    onnxq_qweight q;        /* the numbers (data, scales, zero points) in
                               the quantized (not stored) layout */
    size_t rank;            /* shape of the stored quantized tensor */
    int64_t dims[8];
} oq_qweight_ref;

onnxq_status oq_qctx_create(onnxq_model *model, oq_qctx **out,
                            onnxq_error *err);
void oq_qctx_destroy(oq_qctx *q);
/* The main graph's view the context owns (for unique names). */
onnxq_graph *oq_qctx_main(oq_qctx *q);

/* A fresh tensor/node name from prefix (unique across the model). */
char *oq_qctx_name(oq_qctx *q, const char *prefix);

/* Quantizes the float weight `name` (seen from g) with onnxq_quantize_weight
 * (axis < 0: per tensor) and adds W_quantized, W_scale, W_zero_point as
 * initializers of the graph that defines it.  The same weight with the same
 * parameters is quantized once (later calls return the same ref).  The float
 * weight is marked for removal when it ends up unused (oq_qctx_finish).
 * Scale/zero point are scalars for axis < 0, 1-D otherwise.
 * ONNXQ_ERR_UNSUPPORTED if name is not a float constant. */
onnxq_status oq_qctx_weight(oq_qctx *q, const onnxq_graph *g,
                            const char *name, int32_t dtype, int symmetric,
                            int reduce_range, int axis,
                            const oq_qweight_ref **out, onnxq_error *err);

/* Full control over how a weight is quantized and stored (LSTM, Gemm with
 * transB): zero-initialise, then set what differs from the defaults. */
typedef struct oq_wopts {
    int32_t dtype;          /* INT8 or UINT8 */
    int symmetric, reduce_range;
    int axis;               /* per-channel axis of the (reshaped) weight; <0
                               per tensor */
    size_t view_rank;       /* > 0: quantize the weight as if reshaped to
                               view_dims (same element count) */
    int64_t view_dims[8];
    int transpose_last2;    /* store the quantized tensor with its last two
                               dims swapped ([.., N, K] -> [.., K, N]) */
    size_t param_rank;      /* > 0: shape of scale / zero point (same count
                               as the channels); else scalar or 1-D */
    int64_t param_dims[8];
    const float *bias;      /* non-NULL: the float bias (n_bias values) the
                               int32 bias of input scale bias_input_scale x
                               these weight scales must hold: int8 weights
                               with zero points 0 get scales enlarged where
                               it would overflow (onnxq_fit_bias_scales) and
                               are quantized with them.  Compared by value
                               in the cache; need not outlive the call */
    size_t n_bias;
    float bias_input_scale;
} oq_wopts;

onnxq_status oq_qctx_weight_ex(oq_qctx *q, const onnxq_graph *g,
                               const char *name, const oq_wopts *o,
                               const oq_qweight_ref **out, onnxq_error *err);

/* Adds a float initializer (e.g. a fused scale) to proto graph gp; returns
 * its name (unique, owned by the context). */
const char *oq_qctx_add_floats(oq_qctx *q, Onnx__GraphProto *gp,
                               const char *prefix, const float *v,
                               size_t rank, const int64_t *dims);

/* Marks the constant `name` (seen from g: initializer or Constant node,
 * this graph or an outer one) for removal by oq_qctx_finish if nothing
 * uses it then (e.g. a bias folded into a new initializer). */
void oq_qctx_drop_if_unused(oq_qctx *q, const onnxq_graph *g,
                            const char *name);

/* Number of distinct quantized weights added so far. */
size_t oq_qctx_weight_count(const oq_qctx *q);

/* Destroys the context's view of the model (after which oq_qctx_name and
 * oq_qctx_main must not be called); node lists may then be edited. */
void oq_qctx_release_view(oq_qctx *q);

/* Removes every float weight oq_qctx_weight quantized that no node, graph
 * output or subgraph uses any more (initializer, its graph input entry,
 * or its Constant node).  *removed (may be NULL) receives the count. */
onnxq_status oq_qctx_finish(oq_qctx *q, size_t *removed, onnxq_error *err);

/* ---- 4. opsets ------------------------------------------------------------ */

/* Raises the ai.onnx opset to `want` if it is lower.  Every ai.onnx node of
 * every graph must keep its definition between the two versions (only
 * additive changes, and no attribute the new version dropped): otherwise
 * ONNXQ_ERR_UNSUPPORTED naming the node, op and versions.  *from receives
 * the old version (== want if nothing changed). */
onnxq_status oq_raise_opset(onnxq_model *model, int64_t want, int64_t *from,
                            onnxq_error *err);

/* Imports domain at version if the model does not import it yet. */
onnxq_status oq_import_domain(onnxq_model *model, const char *domain,
                              int64_t version, onnxq_error *err);

/* The check oq_raise_opset makes, without changing anything (lets a
 * quantizer decide before editing the graph). */
onnxq_status oq_check_opset_raise(onnxq_model *model, int64_t want,
                                  onnxq_error *err);

#endif
