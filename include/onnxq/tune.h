/*
 * onnxq/tune.h — find the fastest statically quantized model that keeps an
 * accuracy bound (`onnxq tune`).
 *
 *     onnxq_tune_options o;
 *     onnxq_tune_options_init(&o);       // cosine >= 0.995, 300 s budget
 *     onnxq_tune_result r;
 *     onnxq_tune(model, &o, calib, holdout, &r, &err);
 *     if (r.chosen != SIZE_MAX) ... onnxq_model_save(r.model, ...) ...
 *     onnxq_tune_result_clear(&r);
 *
 * The caller splits its samples in two (`onnxq tune` does it
 * deterministically): `calib` feeds calibration, `holdout` measures
 * accuracy, so a candidate is never judged on the samples that set its
 * ranges.  The search:
 *
 *   1. Calibration runs once per collector method a candidate uses (MinMax
 *      first; Entropy/Percentile only when such a candidate is reached), for
 *      the union of the tensors any planned candidate needs.
 *   2. Candidates (static quantization settings, onnxq/static_quant.h) are
 *      built from a copy of the float model each, then measured: accuracy on
 *      every held-out sample through onnxq/compare.h (the bound's metric is
 *      the WORST sample's value over all outputs), latency as the median of
 *      2 x `runs` runs of the float model and of the candidate, in blocks
 *      float, candidate, candidate, float, in
 *      onnxq's runtime on the first held-out sample (speedup = float ms /
 *      candidate ms, so load on the machine cancels out as far as it can).
 *      Default search: the four format x activation-type combinations
 *      (per-channel s8 weights, MinMax, the default op types), then, around
 *      the best of those, uint8 weights, per-tensor weights, the op sets
 *      "Conv" and "Conv,MatMul,Gemm,Add", Entropy and Percentile.
 *   3. Refinement: the fastest candidates that fail the bound (and are
 *      faster than the best passing one) are re-quantized with their worst
 *      layers kept in float — the tensor with the lowest mean SQNR in a
 *      per-tensor comparison (compare.h), whose producing node (and the
 *      node feeding a Relu/Clip, which is folded) goes into nodes_exclude —
 *      one more layer per step, until the bound holds, max_exclude layers
 *      are out, or the budget is spent.
 *   4. Choice: among candidates that meet the bound (and min_speedup), the
 *      fastest; but a less accurate candidate is preferred only when it is
 *      more than `margin` (3%) faster: of all passing candidates within that
 *      margin of the fastest, the most accurate wins (then the earliest).
 *      Accuracy is deterministic; only a speed difference inside the
 *      margin's reach of noise could change the choice.
 *
 * The budget is checked before each candidate: none is started when the
 * time spent plus the last candidate's cost would pass it (the first
 * candidate always runs).
 */
#ifndef ONNXQ_TUNE_H
#define ONNXQ_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/calib.h"
#include "onnxq/compare.h"
#include "onnxq/model.h"
#include "onnxq/static_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum onnxq_tune_metric {
    ONNXQ_TUNE_COSINE = 0, /* worst sample's cosine similarity */
    ONNXQ_TUNE_SQNR        /* worst sample's SQNR in dB */
} onnxq_tune_metric;

/* "cosine" / "sqnr" */
const char *onnxq_tune_metric_name(onnxq_tune_metric m);

/* One point of the search space.  Names: "FORMAT/AW/GRAN/CALIB/OPS", e.g.
 * "qdq/u8s8/pc/minmax/default" — qdq|qoperator, activation then weight type
 * (u8|s8 each), pc (per-channel) | pt (per-tensor), a collector method, and
 * "default" (ONNXQ_STATIC_DEFAULT_OPS) or op types joined by '+'
 * ("Conv+MatMul+Gemm+Add").  Reduce range follows `onnxq static`'s rule
 * (on for u8 activations with s8 weights). */
typedef struct onnxq_tune_config {
    onnxq_qformat format;
    int32_t activation_type; /* ONNX UINT8 or INT8 */
    int32_t weight_type;
    int per_channel;
    onnxq_calib_method method;
    char op_types[256];      /* comma list; "" = the default set */
} onnxq_tune_config;

/* Parses a name (tokens in any order, separated by '/'; missing ones take
 * the defaults qdq, u8s8, pc, minmax, default).  -1 on an unknown token
 * (bad names the token). */
int onnxq_tune_config_parse(const char *name, onnxq_tune_config *c,
                            char *bad, size_t bad_size);
/* Writes the canonical name into buf. */
void onnxq_tune_config_name(const onnxq_tune_config *c, char *buf,
                            size_t size);

typedef struct onnxq_tune_candidate {
    char *name;            /* config name, "+float:N" when N layers were
                              kept in float */
    onnxq_tune_config config;
    char *nodes_exclude;   /* comma list of nodes kept in float (or NULL) */
    size_t n_excluded;     /* layers kept in float (a Relu/Clip folded into
                              its op counts with it as one) */
    size_t parent;         /* candidate refined (SIZE_MAX: none) */
    int ok;                /* built and measured */
    char *error;           /* why not (ok == 0) */
    size_t n_quantized;    /* nodes quantized (static report) */
    double float_ms, quant_ms, speedup;
    double cos_worst, cos_mean, sqnr_worst, sqnr_mean; /* worst over outputs */
    double metric;         /* the bound's metric (worst sample) */
    int meets;             /* metric >= bound (and min_speedup) */
    double seconds;        /* time spent on it, calibration excluded */
} onnxq_tune_candidate;

/* Called after every candidate (i indexes r->cands) and when a
 * calibration starts (cand == NULL, what names it). */
typedef void (*onnxq_tune_progress_fn)(void *user,
                                       const onnxq_tune_candidate *cand,
                                       size_t i, const char *what);

typedef struct onnxq_tune_options {
    onnxq_tune_metric metric;
    double bound;            /* metric must be >= bound (0.995) */
    double budget_seconds;   /* 0: no limit (default 300) */
    int n_threads;           /* every session (1) */
    size_t runs, warmup;     /* latency (5, 1): per block of float, quant,
                                quant, float runs; medians of 2 x runs */
    double margin;           /* speed margin to prefer a less accurate
                                candidate (0.03) */
    double min_speedup;      /* candidates slower than this fail (0: none) */
    const char *candidates;  /* comma list of names; NULL: default search */
    size_t max_exclude;      /* layers kept in float at most (8; 0: no
                                refinement) */
    size_t refine_candidates;/* failing candidates refined (2) */
    onnxq_calib_options calib; /* collector settings; method is ignored */
    onnxq_tune_progress_fn progress;
    void *progress_user;
} onnxq_tune_options;

void onnxq_tune_options_init(onnxq_tune_options *o);

typedef struct onnxq_tune_result {
    onnxq_tune_candidate *cands; /* in the order measured */
    size_t n_cands;
    size_t chosen;   /* index of the chosen candidate; SIZE_MAX: none meets */
    size_t best;     /* chosen, or the most accurate one when none meets
                        (SIZE_MAX when no candidate could be measured) */
    onnxq_model *model; /* cands[best] quantized (owned; NULL if none) */
    /* per-tensor comparison of cands[best] on the held-out samples (NULL if
       it failed: detail_error says why); borrowed until result_clear */
    const onnxq_compare_result *detail;
    char *detail_error;
    size_t n_calib, n_holdout; /* samples */
    size_t n_calibrations;     /* collector methods run */
    double seconds;            /* whole search */
    int budget_hit;            /* candidates were left out for the budget */
    size_t n_skipped;          /* planned candidates not measured */
    /* internal */
    void *priv;
} onnxq_tune_result;

/* Runs the search.  model (float) must outlive the call; it is not
 * changed.  Errors: bad options or candidate names, unreadable samples,
 * calibration failures, models whose inputs the samples do not fit.  A
 * candidate that cannot be built (e.g. an op set the model lacks) is
 * recorded with its error, not fatal.  r is filled even when nothing meets
 * the bound; clear it in every case. */
onnxq_status onnxq_tune(onnxq_model *model, const onnxq_tune_options *o,
                        onnxq_calib_data *calib, onnxq_calib_data *holdout,
                        onnxq_tune_result *r, onnxq_error *err);
void onnxq_tune_result_clear(onnxq_tune_result *r);

#ifdef __cplusplus
}
#endif
#endif
