/*
 * onnxq/check.h — structural checks of a model, the findings behind
 * `onnxq check`.
 *
 * What is checked, in every graph and subgraph:
 *   - the opset imports: none at all, or a node whose domain is not imported;
 *   - names: a tensor defined twice, a node input or graph output that no
 *     node, graph input, initializer or outer scope defines;
 *   - order: a node that reads a tensor before the node producing it;
 *   - tensor data (initializers and Constant values) whose stored size does
 *     not match its shape and type, or whose external data is missing or
 *     out of range;
 *   - ops onnxq's runtime cannot run, listed with their node names (skipped
 *     with check_runtime = 0).
 */
#ifndef ONNXQ_CHECK_H
#define ONNXQ_CHECK_H

#include <stddef.h>

#include "onnxq/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_finding {
    const char *kind; /* static: "opset", "duplicate-name", "dangling-input",
                         "dangling-output", "unsorted", "tensor-data",
                         "unsupported-op" */
    char *graph;      /* graph path ("main", "main/loop:body"); owned */
    char *node;       /* node name or "#index", or NULL; owned */
    char *message;    /* one line; owned */
} onnxq_finding;

typedef struct onnxq_check_report {
    onnxq_finding *findings;
    size_t n_findings;
    size_t cap;
} onnxq_check_report;

typedef struct onnxq_check_options {
    int check_runtime; /* report ops onnxq cannot run (default 1) */
} onnxq_check_options;

void onnxq_check_options_init(onnxq_check_options *opts);

/* Checks model and appends what it finds to report (initialise it with
 * {0}; free with onnxq_check_report_clear).  Findings are not errors: the
 * status is ONNXQ_OK unless the check itself could not run (out of memory). */
onnxq_status onnxq_check_model(onnxq_model *model,
                               const onnxq_check_options *opts,
                               onnxq_check_report *report, onnxq_error *err);

void onnxq_check_report_clear(onnxq_check_report *report);

#ifdef __cplusplus
}
#endif
#endif
