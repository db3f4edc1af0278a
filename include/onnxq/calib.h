/*
 * onnxq/calib.h — calibration for static quantization: real input samples
 * run through the float model, and the range of every tensor that will be
 * quantized, as ONNX Runtime's calibrate.py computes it.
 *
 *     onnxq_calib_data_options d;
 *     onnxq_calib_data_options_init(&d);
 *     d.kind = ONNXQ_CALIB_WAV; d.dir = "wav/"; d.count = 100; d.seed = 1;
 *     onnxq_calib_data *data;
 *     onnxq_calib_data_open(&d, &data, &err);       // lists and draws files
 *     onnxq_calib_options o;
 *     onnxq_calib_options_init(&o);                 // MinMax
 *     const char *names[] = {"conv1_out", "relu1_out"};
 *     onnxq_tensor_range *ranges;
 *     onnxq_calibrate(model, names, 2, &o, data, NULL, NULL, &ranges, &err);
 *     ... ranges[i].rmin, ranges[i].rmax ...
 *     onnxq_tensor_ranges_free(ranges, 2);
 *     onnxq_calib_data_destroy(data);
 *
 * Streaming: one sample is loaded, run and folded into the statistics at a
 * time; the session's observer sees each intermediate tensor as it is made
 * and only the named tensors are looked at, so memory does not grow with
 * the number of samples.  Histogram methods run the samples twice: a first
 * pass finds each tensor's overall range, the second fills histograms over
 * that fixed range, which is what calibrate.py computes when it histograms
 * all samples at once (it holds them all in memory to do so).
 *
 * Methods (calibrate.py semantics):
 *   MinMax      rmin = min over samples of the sample's min (max likewise);
 *               moving_average: the mean of the per-sample mins and maxes
 *               (calibrate.py's np.mean over one collect_data call).
 *   Entropy     histogram of values over [-T, T], T = max |x|; the threshold
 *               pair [edge(z-i), edge(z+i+1)] minimising KL(p || q) with q
 *               the histogram merged into num_quantized_bins bins and
 *               expanded over p's non-zero bins (integer division, as
 *               calibrate.py's int64 array truncates), both smoothed with
 *               eps 1e-4; clamped to the data's [min, max].
 *   Percentile  the same histogram (symmetric: of |x| over [min|x|,
 *               max|x|]); cut (100 - p) / 2 percent on each side (symmetric:
 *               the p-th percentile of |x|), clamped to [min, max].
 *   Distribution  mean and standard deviation of the histogram's bin
 *               centres (scenario "same").  calibrate.py uses them only for
 *               float8; for int8 onnxq takes [max(min, avg - 6 std),
 *               min(max, avg + 6 std)] (onnxq's choice, not ORT's).
 * symmetric (CalibTensorRangeSymmetric) makes MinMax ranges [-a, a].
 */
#ifndef ONNXQ_CALIB_H
#define ONNXQ_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/audio.h"
#include "onnxq/model.h"
#include "onnxq/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calibration samples ------------------------------------------------ */

typedef enum onnxq_calib_kind {
    ONNXQ_CALIB_TENSORS = 0, /* .npy (one input), .npz (keys = input names),
                                test_data_set_* folders of input_<i>.pb */
    ONNXQ_CALIB_WAV,         /* audio files -> fbank [1, frames, bins] */
    ONNXQ_CALIB_IMAGES       /* PNG/JPEG -> resized, normalised image */
} onnxq_calib_kind;

typedef struct onnxq_calib_data_options {
    onnxq_calib_kind kind;
    const char *dir;           /* borrowed for the open call */
    size_t count;              /* samples to draw; 0: every file once, in
                                  sorted order */
    uint64_t seed;             /* draws as Python's random.seed(seed);
                                  random.choices(sorted_files, k=count) */
    int no_replacement;        /* 1: each file at most once (count <= files;
                                  a seeded shuffle, not Python's sample()) */
    const char *input_name;    /* WAV/IMAGES: the input fed (NULL: the
                                  model's only input); copied */
    onnxq_fbank_options fbank; /* WAV */
    int image_h, image_w;      /* IMAGES: size after resizing (224) */
    float mean[3], std[3];     /* IMAGES: (pixel / 255 - mean) / std */
    int nhwc;                  /* IMAGES: 1 NHWC, 0 NCHW (default) */
} onnxq_calib_data_options;

void onnxq_calib_data_options_init(onnxq_calib_data_options *o);

typedef struct onnxq_calib_data onnxq_calib_data;

/* Lists the folder's sample files (sorted by name) and draws the samples.
 * An empty folder, or one with no file of the kind, is an error naming
 * it.  Nothing is decoded yet. */
onnxq_status onnxq_calib_data_open(const onnxq_calib_data_options *o,
                                   onnxq_calib_data **out, onnxq_error *err);
void onnxq_calib_data_destroy(onnxq_calib_data *d); /* NULL is a no-op */

size_t onnxq_calib_data_count(const onnxq_calib_data *d);   /* samples */
size_t onnxq_calib_data_n_files(const onnxq_calib_data *d); /* files found */
/* The file (path) sample i is read from; borrowed. */
const char *onnxq_calib_data_path(const onnxq_calib_data *d, size_t i);

/* Reads sample i as the n_inputs model inputs described by inputs[] (graph
 * input order) into out[0..n_inputs): malloc'd data (free each data).  The
 * error names the file and what does not fit: a missing input, an element
 * type or rank or fixed dimension that differs (with the expected shape),
 * NaN/Inf values. */
onnxq_status onnxq_calib_data_get(onnxq_calib_data *d, size_t i,
                                  const Onnx__ValueInfoProto *const *inputs,
                                  size_t n_inputs, onnxq_tensor *out,
                                  onnxq_error *err);

/* ---- ranges ----------------------------------------------------------------- */

typedef enum onnxq_calib_method {
    ONNXQ_CALIB_MINMAX = 0,
    ONNXQ_CALIB_ENTROPY,
    ONNXQ_CALIB_PERCENTILE,
    ONNXQ_CALIB_DISTRIBUTION
} onnxq_calib_method;

typedef struct onnxq_calib_options {
    onnxq_calib_method method;
    int symmetric;             /* CalibTensorRangeSymmetric (0) */
    int moving_average;        /* CalibMovingAverage (0) */
    double averaging_constant; /* CalibMovingAverageConstant (0.01); kept
                                  for the table, see the top of the file */
    int num_bins;              /* histogram bins (2048; calibrate.py's
                                  Entropy default of 128 leaves a single
                                  candidate threshold) */
    int num_quantized_bins;    /* Entropy (128) */
    double percentile;         /* Percentile (99.999) */
    int n_threads;             /* session threads (0: default) */
    int allow_unreached;       /* a name no sample computed gets a zero
                                  range with unreached set, not an error
                                  (0) */
} onnxq_calib_options;

void onnxq_calib_options_init(onnxq_calib_options *o);
/* "minmax", "entropy", "percentile", "distribution" (case-insensitive);
 * -1 if unknown. */
int onnxq_calib_method_parse(const char *s);
const char *onnxq_calib_method_name(onnxq_calib_method m);

typedef struct onnxq_tensor_range {
    char *name;          /* malloc'd */
    float rmin, rmax;    /* the range to quantize with */
    float data_min, data_max; /* extremes seen over all samples */
    float avg, std;      /* Distribution only (else 0) */
    uint64_t count;      /* values seen */
    int unreached;       /* allow_unreached: no sample computed it */
} onnxq_tensor_range;

/* Called after each sample of each pass (pass 1 or 2 of n_passes). */
typedef void (*onnxq_calib_progress_fn)(void *user, int pass, int n_passes,
                                        size_t done, size_t total);

/* Runs every sample of data through model and computes the range of each of
 * names[0..n_names) (graph inputs or tensors nodes produce; float32 only).
 * *out is a malloc'd array of n_names ranges in the order of names (free
 * with onnxq_tensor_ranges_free).  A name the model does not produce, or one
 * no sample reached (unless allow_unreached), is an error naming it. */
onnxq_status onnxq_calibrate(onnxq_model *model, const char *const *names,
                             size_t n_names, const onnxq_calib_options *o,
                             onnxq_calib_data *data,
                             onnxq_calib_progress_fn progress,
                             void *progress_user, onnxq_tensor_range **out,
                             onnxq_error *err);
void onnxq_tensor_ranges_free(onnxq_tensor_range *r, size_t n);

#ifdef __cplusplus
}
#endif
#endif
