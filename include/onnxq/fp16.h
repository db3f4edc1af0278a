/*
 * onnxq/fp16.h — converting a float32 model to float16 (or bfloat16).
 *
 * The conversion is decided per value from the ops' type constraints, not by
 * converting every float tensor and hoping: each node is either converted
 * (its float ports whose constraint admits float16 become float16) or blocked
 * (it stays float32: listed op or node, an op without a float16 form at the
 * model's opset, an op onnxq has no table entry for).  Every value then has
 * one produced type, and every consumer port wants one type; where they
 * differ a Cast is inserted once per (value, type), or, for initializers and
 * Constant nodes, a copy of the constant in the other type.  So:
 *   - ports whose constraint has no float16 (Resize's scales, Range's
 *     inputs, shape and index inputs) keep their type;
 *   - Resize's roi stays float32 (its constraint is separate from X's);
 *   - a Cast that would read a Cast reads that Cast's input instead (no
 *     Cast16 -> Cast32 chains);
 *   - If/Loop/Scan bodies are converted inside; their formal inputs and
 *     outputs stay float32, with Casts inside the body, and outer-scope
 *     values are seen with their converted types;
 *   - Constant nodes, ConstantOfShape's value and initializers are
 *     converted, values outside the target type's range clamped (counted).
 * Finally the graph is sorted, stale value_info is dropped and types are
 * re-inferred, and the model is checked (a finding is an internal error).
 *
 * A node whose constant inputs have values beyond the target's range (a
 * BatchNormalization variance of 1e8) stays float32 unless saturate asks
 * for saturated weights.
 *
 * Normalizations, reductions and exponentials (LayerNormalization,
 * InstanceNormalization, GroupNormalization, Softmax, LogSoftmax,
 * ReduceMean/ReduceSum/ReduceSumSquare/ReduceL2/ReduceLogSumExp ..., Pow,
 * Exp: onnxq_fp16_norm_block_list) stay float32 by default: their float32
 * computation has sums of squares or exponentials that pass 65504 where
 * their result does not.  aggressive converts them too (what
 * onnxconverter-common does).  BatchNormalization is not among them: at
 * inference it is a per-channel affine map (no sum, no square of the data),
 * so it overflows only where its input or output does; its one real hazard,
 * a variance beyond 65504, is ONNXQ_FP16_BLOCK_RANGE.
 *
 * onnxq_convert_fp16_auto (fp16_auto.c) goes further on sample inputs: it
 * keeps float32 the nodes whose float32 values leave float16's range and
 * then, by bisection, the nodes whose conversion moves an output beyond a
 * tolerance.
 */
#ifndef ONNXQ_FP16_H
#define ONNXQ_FP16_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"
#include "onnxq/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_fp16_options {
    int keep_io_types;        /* main graph float inputs/outputs stay float32,
                                 with Casts at the boundary */
    int bf16;                 /* bfloat16 instead of float16 */
    int no_default_block_list;/* do not block onnxq_fp16_default_block_list */
    int aggressive;           /* convert normalizations, Softmax,
                                 reductions, Pow and Exp too
                                 (onnxq_fp16_norm_block_list; kept float32
                                 by default) */
    const char *const *op_block_list; /* op types kept float32 (any domain), */
    size_t n_op_block_list;           /* added to the default list; borrowed */
    const char *const *node_block_list; /* node names kept float32; a name */
    size_t n_node_block_list;           /* no node has is an error; borrowed */
    /* Nonzero constants with |x| below min_positive_val become
     * +-min_positive_val, above max_finite_val +-max_finite_val (inf and NaN
     * stay).  Negative means the default: float16 2^-24 (its smallest
     * subnormal: nothing nonzero becomes zero) and 65504 (its largest
     * finite: nothing finite becomes inf); bfloat16 its own limits.
     * A node with a constant input beyond max_finite_val stays float32
     * (ONNXQ_FP16_BLOCK_RANGE) unless saturate is set: then it is converted
     * and the values saturate. */
    int saturate;
    double min_positive_val;
    double max_finite_val;
    /* Main-graph nodes to keep float32, by index in the model as given:
     * keep_nodes[i] is 0 (no) or the reason to record,
     * ONNXQ_FP16_BLOCK_AUTO_RANGE or ONNXQ_FP16_BLOCK_AUTO_TOLERANCE (what
     * onnxq_convert_fp16_auto sets).  A node blocked for another reason
     * keeps that reason.  Borrowed; may be NULL. */
    const unsigned char *keep_nodes;
    size_t n_keep_nodes;
} onnxq_fp16_options;

void onnxq_fp16_options_init(onnxq_fp16_options *opts);

/* The op types blocked by default (NULL-terminated, static): the ML ops
 * onnxconverter-common blocks plus NonMaxSuppression, TopK, RoiAlign,
 * Resize, Range, CumSum, Min, Max, Upsample and the quantization ops. */
extern const char *const onnxq_fp16_default_block_list[];
/* The op types kept float32 unless aggressive (NULL-terminated, static). */
extern const char *const onnxq_fp16_norm_block_list[];

/* Why a node stayed float32. */
typedef enum onnxq_fp16_block_reason {
    ONNXQ_FP16_BLOCK_OP_LIST = 0, /* its op is in the (default) op block list */
    ONNXQ_FP16_BLOCK_NODE_LIST,   /* its name is in node_block_list */
    ONNXQ_FP16_BLOCK_NORM,        /* numerics: a normalization, reduction
                                     or exponential (not aggressive) */
    ONNXQ_FP16_BLOCK_NO_FP16,     /* the op has no float16 (or bfloat16) form
                                     at the model's opset, or onnxq knows no
                                     type constraints for it */
    ONNXQ_FP16_BLOCK_UNKNOWN_TYPE,/* an input or output of unknown type */
    ONNXQ_FP16_BLOCK_RUNTIME,     /* valid in float16, but ONNX Runtime's CPU
                                     provider refuses it (ScatterND and
                                     ScatterElements with a reduction) */
    ONNXQ_FP16_BLOCK_RANGE,       /* a constant input has finite values
                                     beyond max_finite_val (and not
                                     saturate) */
    ONNXQ_FP16_BLOCK_AUTO_RANGE,  /* auto: on the sample inputs a float32
                                     value it reads or writes passes
                                     max_finite_val */
    ONNXQ_FP16_BLOCK_AUTO_TOLERANCE, /* auto: converting it moved an output
                                     beyond the tolerance (bisection) */
    ONNXQ_FP16_BLOCK_N
} onnxq_fp16_block_reason;

typedef struct onnxq_fp16_report {
    int already_converted;      /* the model already has float16/bfloat16
                                   initializers, Constant/attribute tensors
                                   or main graph inputs/outputs: nothing was
                                   changed */
    size_t nodes;               /* nodes of all graphs before conversion */
    size_t nodes_converted;     /* nodes with at least one float port that
                                   now works in the target type */
    size_t nodes_blocked;       /* float nodes kept float32 */
    size_t blocked[ONNXQ_FP16_BLOCK_N]; /* by reason */
    size_t casts_inserted;      /* Cast nodes added */
    size_t casts_folded;        /* Casts that read through an existing Cast
                                   (or were not needed because of one) */
    size_t casts_retyped;       /* model Casts to float now to float16 */
    size_t constants_converted; /* initializers and Constant/ConstantOfShape
                                   tensors converted */
    size_t constants_duplicated;/* constants kept in both types because
                                   blocked and converted nodes share them */
    uint64_t constant_bytes_before; /* bytes of the converted constants */
    uint64_t constant_bytes_after;
    uint64_t clamped_small;     /* nonzero values raised to min_positive_val */
    uint64_t clamped_large;     /* finite values lowered to max_finite_val */
    size_t io_converted;        /* main graph inputs/outputs now float16 */
    /* The blocked nodes, "Op 'name' (reason)" each (name or graph path and
     * index), malloc'd; freed by onnxq_fp16_report_clear. */
    char **blocked_nodes;
    size_t n_blocked_nodes;
} onnxq_fp16_report;

/* A short name of a block reason ("op list", "node list", ...). */
const char *onnxq_fp16_block_reason_name(onnxq_fp16_block_reason r);

/* Frees what a report holds (it may be reused after). */
void onnxq_fp16_report_clear(onnxq_fp16_report *report);

/* Converts model in place.  opts may be NULL (defaults); report may be NULL
 * (else it is overwritten: clear it after use).
 * A model that already has float16/bfloat16 tensors is left alone with
 * report->already_converted = 1 (status OK).  A node_block_list name
 * that matches no node is ONNXQ_ERR_INVALID_ARGUMENT.  On error the model may
 * be half-converted: destroy it. */
onnxq_status onnxq_convert_fp16(onnxq_model *model,
                                const onnxq_fp16_options *opts,
                                onnxq_fp16_report *report, onnxq_error *err);

/* ---- --auto: conversion checked on sample inputs ------------------------ */

/* Progress, one line without newline (the library never prints). */
typedef void (*onnxq_fp16_progress_fn)(void *user, const char *line);

typedef struct onnxq_fp16_auto_options {
    /* Every output of the float16 model (as double, float16 outputs widened)
     * must have cosine similarity >= tolerance with the float32 model's
     * output on the same inputs, and be finite wherever that one is.
     * In (0, 1]; init sets 0.999. */
    double tolerance;
    int n_threads;              /* sessions' threads; 0: OpenMP's default */
    size_t max_runs;            /* float16 runs at most (0: 200); the search
                                   stops with ONNXQ_ERR_UNSUPPORTED past it */
    onnxq_fp16_progress_fn progress; /* NULL: silent */
    void *progress_user;
} onnxq_fp16_auto_options;

void onnxq_fp16_auto_options_init(onnxq_fp16_auto_options *opts);

/* One node the search kept float32. */
typedef struct onnxq_fp16_auto_kept {
    size_t node;                /* main-graph node index */
    char *what;                 /* "Op 'name'" or "Op #index", malloc'd */
    onnxq_fp16_block_reason reason; /* AUTO_RANGE or AUTO_TOLERANCE */
    double max_abs;             /* AUTO_RANGE: largest finite |x| of the
                                   value that passed the range */
    char *value;                /* AUTO_RANGE: that value's name, malloc'd */
    double cosine;              /* AUTO_TOLERANCE: worst output cosine when
                                   this node was the last one converted */
} onnxq_fp16_auto_kept;

typedef struct onnxq_fp16_auto_report {
    size_t runs;                /* float16 models built and run */
    size_t candidates;          /* convertible main-graph nodes searched */
    onnxq_fp16_auto_kept *kept; /* in the order found */
    size_t n_kept;
    size_t n_range, n_tolerance;
    double cosine_before;       /* worst output cosine of the plain
                                   conversion (range keeps applied) */
    double cosine_after;        /* ... of the model returned */
    size_t n_outputs;
    char **output_names;        /* [n_outputs], malloc'd */
    double *output_cosine;      /* [n_outputs]: final cosine per output */
} onnxq_fp16_auto_report;

void onnxq_fp16_auto_report_clear(onnxq_fp16_auto_report *r);

/* Converts model in place like onnxq_convert_fp16 with opts, after finding
 * on the given inputs (in the order of the float32 model's session inputs,
 * float32 where the model wants float) the main-graph nodes to keep
 * float32:
 *   1. the float32 model runs once; a node that produces or reads a float
 *      value with a finite |x| > max_finite_val (65504) is kept
 *      (AUTO_RANGE).  Underflow (nonzero values below float16's smallest
 *      subnormal) keeps nothing: it flushes to zero, which the tolerance
 *      check catches where it matters.
 *   2. the model converted with those keeps runs; while an output fails the
 *      tolerance, the convertible nodes are bisected in graph order: the
 *      shortest prefix whose conversion (the rest float32) fails ends with
 *      the culprit, which is kept (AUTO_TOLERANCE); repeat.
 * Nodes inside subgraphs are not searched.  report and auto_report may be
 * NULL.  An already converted model is left alone (report->already_converted,
 * status OK). */
onnxq_status onnxq_convert_fp16_auto(onnxq_model *model,
                                     const onnxq_fp16_options *opts,
                                     const onnxq_fp16_auto_options *aopts,
                                     const onnxq_tensor *inputs,
                                     size_t n_inputs,
                                     onnxq_fp16_report *report,
                                     onnxq_fp16_auto_report *auto_report,
                                     onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
