/*
 * onnxq/compare.h — what quantization cost: a float model and its quantized
 * twin run on the same samples, compared output by output and, optionally,
 * tensor by tensor and weight by weight.
 *
 *     onnxq_compare_options o;
 *     onnxq_compare_options_init(&o);
 *     o.per_tensor = 1;
 *     onnxq_comparer *c;
 *     if (onnxq_compare_create(float_model, quant_model, &o, &c, &err) ...)
 *         // fails when inputs/outputs do not correspond (names, ranks,
 *         // fixed dims), naming the tensor and both models' values
 *     for (each sample)   // tensors in the order of the float model's inputs
 *         onnxq_compare_add_sample(c, inputs, n_inputs, &err);
 *     const onnxq_compare_result *r = onnxq_compare_result_get(c);
 *     ... r->outputs[i].cosine.mean, r->tensors[0] (the worst layer) ...
 *     onnxq_compare_destroy(c);
 *
 * Metrics of a reference x (the float model's values) and y (the quantized
 * model's), computed in double:
 *   cosine   x·y / (|x| |y|); 1 when both are all zero, 0 when one is
 *   SQNR     20 log10(|x| / |x - y|) dB; +inf when x == y, -inf when x is
 *            all zero and y is not
 *   max abs  max |x_i - y_i|
 *   argmax   for outputs whose last dim is > 1: the share of rows (all
 *            leading dims) whose argmax over the last dim agrees (first
 *            maximum on ties, as numpy).  Classifiers put classes last
 *            (logits [N, C], per-step [N, T, C]); a last dim of 1 would
 *            always agree.  onnxq cannot tell logits from embeddings, so it
 *            is reported for any such output; ignore it where it means
 *            nothing.
 * Each metric is aggregated over the samples as its mean and its worst
 * value (lowest cosine, SQNR and agreement; highest max abs).  The mean of
 * SQNR is the mean of the per-sample dB values (+inf if a sample had no
 * error at all).  NaN anywhere in x or y makes the sample's metrics NaN;
 * NaN counts as worst.
 *
 * Per-tensor matching (option per_tensor): every float tensor of the float
 * model that the inputs reach (constants are weights, below) is matched to
 * its counterpart in the quantized model, first rule that applies:
 *   ONNXQ_MATCH_QDQ       a QuantizeLinear reads X and a DequantizeLinear
 *                         reads its output: X's counterpart is that DQ's
 *                         output (the value after quantization)
 *   ONNXQ_MATCH_DQ_NAME   a float tensor named X_DequantizeLinear_Output
 *                         (onnxruntime's quantize_static naming)
 *   ONNXQ_MATCH_QLINEAR   an integer tensor named X_quantized (QOperator
 *                         models: made by QLinearConv, QLinearMatMul, QGemm,
 *                         QLinearAdd, QuantizeLinear ...), dequantized with
 *                         its scale and zero point: x = (q - zp) * scale.
 *                         The parameters come from the node that makes it,
 *                         or through ops that only move data (Reshape,
 *                         MaxPool, Transpose ...) from their input.
 *   ONNXQ_MATCH_SAME_NAME a tensor named X, computed from quantized values
 *                         upstream (graph outputs of QDQ models are
 *                         DequantizeLinear outputs that keep their name);
 *                         dequantized if it is an integer
 *   ONNXQ_MATCH_QLINEAR   (again) output k of the node named N or N_quant
 *                         where N makes X, if it is an integer tensor with
 *                         known parameters.
 * A Relu or Clip folded into the range of the QLinear op before it (its
 * zero point is the lowest integer: nothing below 0 survives) makes that
 * op's output the counterpart of the Relu's output, not of its input.
 * Graph inputs are listed only when quantized (QDQ, DQ_NAME, QLINEAR).
 * Tensors are sorted worst first by mean SQNR (then by worst SQNR, then
 * name), so the first is where accuracy was lost.
 *
 * Weights: every integer constant of the quantized model that a
 * DequantizeLinear, QLinearConv, QLinearMatMul or QGemm dequantizes (or
 * that has NAME_scale / NAME_zero_point constants beside NAME_quantized, as
 * dynamic quantization writes them) is dequantized (per channel where its
 * scale is) and compared with the float model's constant of the same name
 * (NAME_quantized -> NAME, DQ output NAME_DequantizeLinear_Output -> NAME),
 * or, for a DQ, with the float constant the same-named node reads at the
 * same input.  Sorted worst first by SQNR.
 *
 * Outputs and latency come from sessions without an observer: the models
 * run as deployed, with the runtime's fusions (a QDQ model runs as the
 * QLinear ops ONNX Runtime turns it into).  Per-tensor values come from a
 * second pair of sessions with observers, which run every node as written
 * (fusion would hide the tensors being compared).
 *
 * Tensors of the float model are copied while it runs and compared while
 * the quantized one runs; when they pass capture_budget bytes the sample is
 * run again for the rest (more runs, bounded memory).
 */
#ifndef ONNXQ_COMPARE_H
#define ONNXQ_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/model.h"
#include "onnxq/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metrics of one pair of tensors ---------------------------------------- */

typedef struct onnxq_metrics {
    double cosine;
    double sqnr_db;
    double max_abs;
    double argmax_agree; /* share of rows in [0, 1]; NaN if not class-like */
} onnxq_metrics;

/* Compares reference x with y (any numeric types; same element count, and
 * for argmax the same last dim).  Fails with SHAPE_MISMATCH naming `what`. */
onnxq_status onnxq_metrics_compute(const onnxq_tensor *x, const onnxq_tensor *y,
                                   const char *what, onnxq_metrics *out,
                                   onnxq_error *err);

/* ---- aggregates over samples ----------------------------------------------- */

typedef struct onnxq_stat {
    double mean;
    double worst;
} onnxq_stat;

typedef struct onnxq_metric_stats {
    size_t samples;   /* samples that produced this pair */
    onnxq_stat cosine;
    onnxq_stat sqnr_db;
    onnxq_stat max_abs;
    onnxq_stat argmax; /* NaN/NaN when not class-like */
    /* running sums (internal; mean = sum / samples) */
    double sum_cos, sum_sqnr, sum_abs, sum_arg;
    size_t n_arg, n_inf_sqnr;
} onnxq_metric_stats;

typedef enum onnxq_match_kind {
    ONNXQ_MATCH_OUTPUT = 0, /* a graph output (same name) */
    ONNXQ_MATCH_QDQ,
    ONNXQ_MATCH_DQ_NAME,
    ONNXQ_MATCH_SAME_NAME,
    ONNXQ_MATCH_QLINEAR
} onnxq_match_kind;

/* "output", "qdq", "dq-name", "same-name", "qlinear" */
const char *onnxq_match_kind_name(onnxq_match_kind k);

typedef struct onnxq_tensor_compare {
    const char *name;       /* in the float model (borrowed from it) */
    const char *quant_name; /* its counterpart (borrowed from the quantized
                               model) */
    const char *op_type;    /* op of the float node making it; "input" for a
                               graph input */
    onnxq_match_kind how;
    int32_t quant_dtype;    /* element type of the counterpart */
    int rank;               /* shape in the last sample */
    int64_t dims[ONNXQ_MAX_RANK];
    onnxq_metric_stats m;
} onnxq_tensor_compare;

typedef struct onnxq_weight_compare {
    const char *name;       /* float constant (borrowed from the float model) */
    const char *quant_name; /* integer constant (borrowed from the quantized) */
    const char *via;        /* op that dequantizes it: "DequantizeLinear",
                               "QLinearConv", ..., or "name" */
    int32_t quant_dtype;
    int axis;               /* per-channel axis, -1 per tensor */
    size_t n_scales;
    size_t numel;
    onnxq_metrics m;        /* argmax_agree is NaN */
} onnxq_weight_compare;

typedef struct onnxq_compare_result {
    size_t samples;
    onnxq_tensor_compare *outputs;  /* in the float model's output order */
    size_t n_outputs;
    onnxq_tensor_compare *tensors;  /* per_tensor: sorted worst first */
    size_t n_tensors;
    size_t n_float_tensors;         /* float non-constant tensors considered */
    onnxq_weight_compare *weights;  /* per_tensor: sorted worst first */
    size_t n_weights;
    size_t runs;                    /* model runs made (both models) */
} onnxq_compare_result;

typedef struct onnxq_compare_options {
    int per_tensor;          /* match and compare every tensor and weight */
    int n_threads;           /* for both sessions; 0: OpenMP's default */
    size_t capture_budget;   /* bytes of float tensors held at once (0: 512
                                MiB); a single larger tensor is still held */
} onnxq_compare_options;

void onnxq_compare_options_init(onnxq_compare_options *o);

typedef struct onnxq_comparer onnxq_comparer;

/* Checks that the models correspond — the same input names (ranks equal,
 * fixed dims equal, element types equal or both floating point) and the
 * same output names (ranks and fixed dims likewise, where declared) — then
 * creates a session for each and, with per_tensor, matches tensors and
 * compares weights.  Both models must outlive the comparer.  Errors name
 * the tensor and say what differs in which model. */
onnxq_status onnxq_compare_create(onnxq_model *float_model,
                                  onnxq_model *quant_model,
                                  const onnxq_compare_options *opts,
                                  onnxq_comparer **out, onnxq_error *err);
void onnxq_compare_destroy(onnxq_comparer *c); /* NULL is a no-op */

/* The float model's session (borrowed): its input order is the order
 * samples are given in, and it can generate or load them. */
onnxq_session *onnxq_compare_float_session(onnxq_comparer *c);

/* Runs both models on one sample (inputs in the float model's input order;
 * converted to the quantized model's element types where they differ) and
 * adds it to the aggregates. */
onnxq_status onnxq_compare_add_sample(onnxq_comparer *c,
                                      const onnxq_tensor *inputs,
                                      size_t n_inputs, onnxq_error *err);

/* The aggregates so far (borrowed until the next add_sample or destroy). */
const onnxq_compare_result *onnxq_compare_result_get(onnxq_comparer *c);

/* Median latency in ms of `runs` runs of each model (after `warmup` runs)
 * on one sample. */
onnxq_status onnxq_compare_latency(onnxq_comparer *c,
                                   const onnxq_tensor *inputs, size_t n_inputs,
                                   size_t runs, size_t warmup,
                                   double *float_ms, double *quant_ms,
                                   onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
