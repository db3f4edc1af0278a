/*
 * onnxq/infer.h — element types and shapes of every tensor of a model.
 *
 * onnxq_infer_model walks the main graph and every subgraph (If branches,
 * Loop and Scan bodies, which see the types of outer-scope values) in
 * dependency order and works out, for each value, its element type and as
 * much of its shape as can be known without running the model:
 *   - a dimension is a known integer, a symbolic name, or unknown;
 *   - symbolic names of the graph inputs (dim_param, e.g. "batch") are kept
 *     and carried through the ops; where an op does arithmetic on them the
 *     result is a short exact expression over one name: "frames+2",
 *     "N*4", "floor(frames/2)", "ceil(frames/8)", "ceil(H/32)*2",
 *     "floor((T+3)/8)-2" ("/" only inside floor() and ceil(), which round
 *     as their names say), or a sum "a+b" / product "a*b" of two plain
 *     names.  A dimension the rules cannot express exactly stays unknown:
 *     inference never writes a wrong value for a run the model accepts
 *     (where a valid run forces two dims to be equal — broadcasting,
 *     Concat, MatMul's inner dims — either is taken; a Slice of a symbolic
 *     dim from start s keeps "dim-s", as ONNX Runtime's symbolic inference
 *     also assumes);
 *   - small integer tensors are followed by value (initializers, Constant
 *     nodes, and Shape -> Gather -> Concat -> Reshape style arithmetic), so
 *     shape inputs of Reshape, Expand, Slice, Tile, Pad, Resize, Squeeze,
 *     Unsqueeze, ConstantOfShape, Range, TopK ... are used when they are
 *     known, symbolic elements included.
 *
 * The results are written into each graph's value_info, one entry per
 * intermediate value whose element type is known (entries of earlier runs
 * and exporters are replaced).  Graph inputs and outputs keep their declared
 * types; an output whose declared type contradicts inference is reported as
 * a conflict (a declaration with no type, or no shape, may be filled in:
 * fill_missing_io).  An op inference does not know (a custom op, an op of a
 * newer opset) does not stop it: its outputs and what depends on them
 * become unknown, and the report names the op once.
 *
 *     onnxq_infer_report rep;
 *     onnxq_infer_report_init(&rep);
 *     if (onnxq_infer_model(model, NULL, &rep, &err) != ONNXQ_OK) ...
 *     for (size_t i = 0; i < rep.n_unknown_ops; i++)
 *         fprintf(stderr, "warning: no shape inference for %s\n",
 *                 rep.unknown_ops[i].op_type);
 *     onnxq_infer_report_clear(&rep);
 *
 * Every op of the runtime's registry (onnxq/ops.h) has an inference rule;
 * onnxq_infer_op_supported answers for one op.
 */
#ifndef ONNXQ_INFER_H
#define ONNXQ_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_infer_options {
    int write_value_info; /* 1 (default): write results into value_info;
                             0: only fill the report */
    int fill_missing_io;  /* 1 (default): graph inputs/outputs (of subgraphs
                             too) that declare no element type, or no shape,
                             get the inferred one; declared parts are never
                             changed */
    int trust_value_info; /* 0 (default): existing value_info is ignored
                             (it may be stale).  1: the value_info of an
                             output of an op inference does not know is
                             taken as its type, so it propagates */
    int symbolic;         /* 1 (default): keep symbolic dims and expressions;
                             0: write them as unknown dims */
} onnxq_infer_options;

void onnxq_infer_options_init(onnxq_infer_options *opts);

/* An op inference had no rule for (its outputs became unknown). */
typedef struct onnxq_infer_unknown_op {
    char *domain;     /* "" for ai.onnx; malloc'd */
    char *op_type;    /* malloc'd */
    int64_t opset;    /* of the node's domain in the model */
    size_t n_nodes;   /* nodes of that op, all graphs */
    char *first_node; /* "graph path: node name" of the first one; malloc'd */
} onnxq_infer_unknown_op;

/* What a run of inference found.  Counts cover every value of every graph
 * that a node produces (initializers and graph inputs are not counted). */
typedef struct onnxq_infer_report {
    size_t values;         /* node outputs seen */
    size_t typed;          /* ... whose element type is known */
    size_t ranked;         /* ... whose rank is known */
    size_t dims_known;     /* dims of ranked values that are integers */
    size_t dims_symbolic;  /* ... that are symbolic (names, expressions) */
    size_t dims_unknown;   /* ... that are unknown */
    size_t graphs;         /* graphs inferred (main + subgraphs) */
    onnxq_infer_unknown_op *unknown_ops; /* malloc'd, n_unknown_ops entries */
    size_t n_unknown_ops;
    /* Contradictions: inference against a declared graph input/output type,
     * and shapes that cannot agree (Add of [3] and [4]).  One line each,
     * naming graph, node or value; malloc'd; at most 64 are kept, the count
     * covers all. */
    char **conflicts;
    size_t n_conflicts;
    size_t n_conflicts_total;
} onnxq_infer_report;

void onnxq_infer_report_init(onnxq_infer_report *r);
void onnxq_infer_report_clear(onnxq_infer_report *r); /* frees, re-inits */

/* Infers types and shapes of model (see the top of this file) and writes
 * them into value_info.  opts may be NULL (defaults); report may be NULL.
 * Unknown ops and conflicts are not errors: they are in the report.  Errors
 * are out of memory and models whose graph view cannot be built (a tensor
 * defined twice).  The model's graph views must be rebuilt afterwards. */
onnxq_status onnxq_infer_model(onnxq_model *model,
                               const onnxq_infer_options *opts,
                               onnxq_infer_report *report, onnxq_error *err);

/* 1 if inference has a rule for op_type of domain ("" = ai.onnx) at that
 * opset version of the domain. */
int onnxq_infer_op_supported(const char *domain, const char *op_type,
                             int64_t opset_version);

/* Evaluates a dim_param written by inference, given the values of the plain
 * names it may contain (names[i] = values[i]).  Returns 0 and sets *out, or
 * -1 if expr is not in the expression form above or names a value not
 * given. */
int onnxq_infer_dim_eval(const char *expr, const char *const *names,
                         const int64_t *values, size_t n, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
