/*
 * onnxq/opt.h — `onnxq preprocess`: a model cleaned up before it is
 * quantized, without changing what it computes.
 *
 * onnxq_preprocess runs these passes, in this order, each switchable off
 * with a bit of onnxq_preprocess_options.skip:
 *
 *   upgrade-opset          ai.onnx opset below 10 -> 13 when every op used
 *                          has a known exact upgrade (Upsample -> Resize,
 *                          attributes that became inputs, BatchNormalization
 *                          spatial/is_test, Dropout, Softmax's 2-D
 *                          coercion ...); otherwise an error naming the op
 * that blocks it (before any node is rewritten).  Opsets
 *                          10 to 12 are left as they are.
 *   constant-to-initializer  Constant nodes become initializers (of the
 *                          graph, or subgraph, that holds them)
 *   fold-constants         nodes whose inputs are all constants run once
 *                          with the runtime's reference kernels and become
 *                          initializers; Shape of a tensor whose shape
 *                          inference knows fully becomes a constant.  Not
 *                          folded: random ops, Quantize/DequantizeLinear
 *                          (they carry the quantization of a model), control
 *                          flow, and results more than 1 MiB larger than
 *                          their inputs (ConstantOfShape, Expand, Tile ...
 *                          would bloat the file to save a cheap op)
 *   fold-bn                BatchNormalization into a preceding Conv,
 *                          ConvTranspose or Gemm with constant float
 *                          weights; Mul/Add by a per-output-channel constant
 *                          into a preceding Conv/ConvTranspose
 *   matmul-add             MatMul by a constant followed by Add of a
 *                          constant bias recognised; turned into one Gemm
 *                          when A is 2-D
 *   cleanup                Identity (and inference-mode Dropout without a
 *                          used mask) removed, duplicate initializers
 *                          (same type, shape and bytes) merged, dead nodes
 *                          and unused initializers removed
 *   sort                   every (sub)graph topologically sorted
 *   infer                  value_info refreshed (onnxq/infer.h)
 *
 * Before the passes, a model of IR version < 4 stops listing its
 * initializers as graph inputs (IR 4 made that optional) and becomes IR 4;
 * in later IR versions an initializer that is also a graph input is a
 * default the user may override, so no pass treats it as a constant.
 * Inference runs before the passes that decide from shapes; with the infer
 * pass skipped it does not run at all, so those decisions (Shape folding,
 * MatMul -> Gemm, upgrades that need a rank or type) are not taken.
 *
 * The result is then checked (onnxq/check.h) and the model's metadata gets
 * ONNXQ_PREPROCESS_METADATA_KEY = "onnxq <version>".  A model with an op
 * inference or the runtime does not know is still preprocessed: such nodes
 * are kept as they are and the infer report names their ops.
 */
#ifndef ONNXQ_OPT_H
#define ONNXQ_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/infer.h"
#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ONNXQ_PREPROCESS_METADATA_KEY "onnxq.preprocessed"

typedef enum onnxq_pass {
    ONNXQ_PASS_UPGRADE_OPSET = 1u << 0,
    ONNXQ_PASS_CONSTANT_TO_INITIALIZER = 1u << 1,
    ONNXQ_PASS_FOLD_CONSTANTS = 1u << 2,
    ONNXQ_PASS_FOLD_BN = 1u << 3,
    ONNXQ_PASS_CLEANUP = 1u << 4,
    ONNXQ_PASS_MATMUL_ADD = 1u << 5,
    ONNXQ_PASS_SORT = 1u << 6,
    ONNXQ_PASS_INFER = 1u << 7
} onnxq_pass;
enum { ONNXQ_PASS_COUNT = 8 };

/* "upgrade-opset", "constant-to-initializer", ... for a single pass bit;
 * NULL otherwise. */
const char *onnxq_pass_name(unsigned pass);
/* The bit of a pass name, 0 if unknown. */
unsigned onnxq_pass_from_name(const char *name);

typedef struct onnxq_preprocess_options {
    unsigned skip;               /* onnxq_pass bits not to run */
    const char *version;         /* written into the metadata value
                                    ("onnxq <version>"); borrowed; NULL:
                                    "unknown" */
    uint64_t max_fold_growth;    /* bytes a folded result may exceed its
                                    inputs by (default 1 MiB) */
} onnxq_preprocess_options;

void onnxq_preprocess_options_init(onnxq_preprocess_options *o);

/* What each pass changed.  Node and initializer counts cover every graph
 * (subgraphs included). */
typedef struct onnxq_preprocess_report {
    size_t nodes_before, nodes_after;
    size_t initializers_before, initializers_after;
    int64_t opset_before, opset_after;       /* ai.onnx */
    int64_t ir_before, ir_after;
    /* upgrade-opset */
    size_t upgraded_nodes;     /* nodes rewritten (attributes to inputs ...) */
    size_t upsample_to_resize;
    size_t inserted_nodes;     /* nodes added by rewrites (Softmax) */
    size_t initializer_inputs_dropped; /* IR < 4: initializers no longer
                                          listed as graph inputs */
    /* constant-to-initializer */
    size_t constants_converted, constants_kept;
    /* fold-constants */
    size_t folded_nodes;       /* nodes evaluated and replaced */
    size_t folded_shapes;      /* Shape/Size of statically known shapes */
    size_t fold_too_large;     /* not folded: result would be too large */
    size_t fold_failed;        /* not folded: the runtime could not run it */
    /* fold-bn */
    size_t bn_folded;          /* BatchNormalization into Conv/ConvT/Gemm */
    size_t mul_add_folded;     /* Mul/Add into Conv/ConvTranspose */
    /* cleanup */
    size_t identities_removed;
    size_t dropouts_removed;
    size_t duplicates_merged;
    size_t dead_nodes_removed;
    size_t unused_initializers_removed;
    /* matmul-add */
    size_t matmul_add_found;
    size_t matmul_add_to_gemm;
    /* sort */
    size_t graphs_reordered;
    /* infer: unknown ops, conflicts and counts */
    onnxq_infer_report infer;
    size_t check_findings;     /* checker findings on the result, runtime
                                  support ("unsupported-op") not counted */
} onnxq_preprocess_report;

void onnxq_preprocess_report_init(onnxq_preprocess_report *r);
void onnxq_preprocess_report_clear(onnxq_preprocess_report *r);
/* Number of changes the passes made (0: the model was already clean; the
 * sort, infer and metadata steps are not counted). */
size_t onnxq_preprocess_report_changes(const onnxq_preprocess_report *r);

/* Runs the passes on m in place.  o and r may be NULL.  On failure (an
 * opset upgrade that is blocked, a model that cannot be viewed, out of
 * memory, a result that fails its check) err names the op, node or finding;
 * after a failure the model may be partly edited: reload it. */
onnxq_status onnxq_preprocess(onnxq_model *m,
                              const onnxq_preprocess_options *o,
                              onnxq_preprocess_report *r, onnxq_error *err);

/* 1 if the model's metadata says onnxq preprocessed it. */
int onnxq_model_is_preprocessed(const onnxq_model *m);

/* How many changes onnxq_preprocess with default options would make to m
 * (onnxq_preprocess_report_changes), worked out on a copy; m is not
 * changed.  For tools that want to suggest preprocessing (the quantizers'
 * hint).  Fails as onnxq_preprocess would (e.g. a blocked upgrade). */
onnxq_status onnxq_preprocess_changes(const onnxq_model *m, size_t *changes,
                                      onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
