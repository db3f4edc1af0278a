/*
 * cli.h — what the subcommands of the onnxq tool share.
 *
 * Each subcommand lives in its own cmd_<name>.c and has the signature of
 * cli_command_fn: it gets argv starting at the subcommand's name, parses it
 * with getopt_long, and returns the process exit status:
 *   0 success, 1 an error (one line on stderr: "onnxq <cmd>: <message>"),
 *   2 a usage error (message plus "try 'onnxq <cmd> --help'").
 */
#ifndef ONNXQ_CLI_H
#define ONNXQ_CLI_H

#include <stdio.h>

#include "onnxq/calib.h"
#include "onnxq/model.h"
#include "onnxq/runtime.h"

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_layers(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_fbank(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_fp16(int argc, char **argv);
int cmd_static(int argc, char **argv);
int cmd_dynamic(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "onnxq CMD: message" on stderr and returns CLI_ERROR. */
int cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "onnxq CMD: message" and the --help hint; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads path; on failure prints the error and returns NULL. */
onnxq_model *cli_load_model(const char *cmd, const char *path);

/* Resets getopt for a subcommand's parse (the tool parses argv once per
 * subcommand). */
void cli_reset_getopt(void);

/* ---- external data options, shared by every command that writes a model --
 * --external-data[=FILE], --external-threshold BYTES, --external-per-tensor,
 * --no-external-data.  cli_save_parse returns 1 if it consumed the option
 * (opt is the getopt_long return value), -1 on a bad value, 0 otherwise. */
enum {
    CLI_OPT_EXTERNAL = 1000,
    CLI_OPT_EXTERNAL_THRESHOLD,
    CLI_OPT_EXTERNAL_PER_TENSOR,
    CLI_OPT_NO_EXTERNAL
};
#define CLI_SAVE_LONG_OPTIONS                                                  \
    {"external-data", optional_argument, 0, CLI_OPT_EXTERNAL},                 \
    {"external-threshold", required_argument, 0, CLI_OPT_EXTERNAL_THRESHOLD},  \
    {"external-per-tensor", no_argument, 0, CLI_OPT_EXTERNAL_PER_TENSOR},      \
    {"no-external-data", no_argument, 0, CLI_OPT_NO_EXTERNAL}
#define CLI_SAVE_HELP                                                          \
    "  --external-data[=FILE]     write tensors >= threshold to FILE (default\n" \
    "                             OUT.data, next to OUT); automatic, with a\n" \
    "                             message, when the model passes 2 GiB\n"       \
    "  --external-threshold BYTES smallest tensor moved out (default 1024)\n"  \
    "  --external-per-tensor      one data file per tensor, named after it\n"  \
    "  --no-external-data         write every tensor inline\n"
int cli_save_parse(const char *cmd, int opt, const char *arg,
                   onnxq_save_options *opts);

/* ---- sample sources, shared by static, compare and tune (sample_opts.c) --
 * --calib DIR, --calib-wav DIR, --calib-images DIR and their settings.
 * cli_samples_parse returns 1 if it consumed the option (opt is the
 * getopt_long return value), -1 on a bad value or a second source (the
 * usage error is printed), 0 otherwise. */
enum {
    CLI_OPT_CALIB = 1100,
    CLI_OPT_CALIB_WAV,
    CLI_OPT_CALIB_IMAGES,
    CLI_OPT_INPUT_NAME,
    CLI_OPT_NUM_SAMPLES,
    CLI_OPT_SEED,
    CLI_OPT_NO_REPLACEMENT,
    CLI_OPT_SAMPLE_RATE,
    CLI_OPT_MEL_BINS,
    CLI_OPT_MEAN_NORM,
    CLI_OPT_IMAGE_SIZE,
    CLI_OPT_MEAN,
    CLI_OPT_STD,
    CLI_OPT_LAYOUT
};
#define CLI_SAMPLE_LONG_OPTIONS                                                \
    {"calib", required_argument, 0, CLI_OPT_CALIB},                           \
    {"calib-wav", required_argument, 0, CLI_OPT_CALIB_WAV},                   \
    {"calib-images", required_argument, 0, CLI_OPT_CALIB_IMAGES},             \
    {"input-name", required_argument, 0, CLI_OPT_INPUT_NAME},                 \
    {"num-samples", required_argument, 0, CLI_OPT_NUM_SAMPLES},               \
    {"calib-count", required_argument, 0, CLI_OPT_NUM_SAMPLES},               \
    {"seed", required_argument, 0, CLI_OPT_SEED},                             \
    {"no-replacement", no_argument, 0, CLI_OPT_NO_REPLACEMENT},               \
    {"sample-rate", required_argument, 0, CLI_OPT_SAMPLE_RATE},               \
    {"num-mel-bins", required_argument, 0, CLI_OPT_MEL_BINS},                 \
    {"mean-norm", no_argument, 0, CLI_OPT_MEAN_NORM},                         \
    {"image-size", required_argument, 0, CLI_OPT_IMAGE_SIZE},                 \
    {"mean", required_argument, 0, CLI_OPT_MEAN},                             \
    {"std", required_argument, 0, CLI_OPT_STD},                               \
    {"layout", required_argument, 0, CLI_OPT_LAYOUT}
#define CLI_SAMPLE_HELP                                                        \
    "  --calib DIR            .npy files (one input), .npz files (keys = input\n" \
    "                         names) or test_data_set_*/input_<i>.pb folders\n" \
    "  --calib-wav DIR        audio (wav, flac, ogg ...): first channel,\n"     \
    "                         resampled with soxr, Kaldi fbank as torchaudio\n" \
    "                         computes it, fed as [1, frames, bins]\n"          \
    "    --sample-rate N      (16000)   --num-mel-bins N (80)   --mean-norm\n"  \
    "  --calib-images DIR     PNG/JPEG, RGB, bilinear resize, (x/255-mean)/std\n" \
    "    --image-size H[xW]   (224)  --mean R,G,B (0,0,0)  --std R,G,B (1,1,1)\n" \
    "    --layout nchw|nhwc   (nchw)\n"                                         \
    "  --input-name NAME      the input audio/images feed (default: the only one)\n" \
    "  --num-samples N        draw N samples at random WITH replacement, as\n"  \
    "                         Python's random.seed(S); random.choices(files, k=N)\n" \
    "                         over the sorted file names (alias --calib-count);\n" \
    "                         default: every file once, sorted\n"              \
    "  --seed S               (0)   --no-replacement: each file at most once\n"
typedef struct cli_samples {
    onnxq_calib_data_options o; /* o.dir: the source folder (borrowed) */
    int n_sources;              /* 0 or 1 */
} cli_samples;
void cli_samples_init(cli_samples *s);
int cli_samples_parse(const char *cmd, int opt, const char *arg,
                      cli_samples *s);
/* "tensors", "audio" or "images": what the source holds. */
const char *cli_samples_describe(const cli_samples *s);
/* Opens the samples (onnxq_calib_data_open) from dir, or s->o.dir when dir
 * is NULL; every_file ignores the draw options (every file once, sorted).
 * Returns CLI_OK, or CLI_ERROR with "onnxq CMD: message" printed. */
int cli_samples_open(const char *cmd, const cli_samples *s, const char *dir,
                     int every_file, onnxq_calib_data **out);

/* Saves model to out, refusing to write over the file it came from unless
 * allow_overwrite; prints a message when external data was written.
 * Returns CLI_OK or CLI_ERROR (message printed). */
int cli_save_model(const char *cmd, onnxq_model *model, const char *out,
                   const onnxq_save_options *opts, int allow_overwrite);

/* Parses a non-negative integer with an optional K/M/G suffix (x1024). */
int cli_parse_size(const char *s, unsigned long long *out);

/* ---- ONNX Runtime through the Node oracle (ort_runner.c) -----------------
 * run.js (tests/oracle/run.js) is found as: opt (a --ort-runner option, may
 * be NULL), else $ONNXQ_ORT_RUNNER, else the source tree's copy (path
 * compiled in), else ../tests/oracle/run.js beside the binary.  A path given
 * but unreadable is an error.  node is $ONNXQ_NODE or `node` on PATH.
 * Returns a malloc'd path, or NULL with the error printed. */
char *cli_ort_runner(const char *cmd, const char *opt);
/* Threads for ONNX Runtime: threads, or all cores for 0 (onnxq's default). */
int cli_ort_threads(int threads);
/* Times each of models[0..n_models) in ONNX Runtime on the inputs in[]
 * (session s's input order and names), written once as .npy to a temporary
 * folder that is removed afterwards: median_ms[k] is the median of `runs`
 * runs after run.js's 2 warm-ups.  On failure prints "onnxq CMD: --ort: ..."
 * and returns CLI_ERROR. */
int cli_ort_bench(const char *cmd, const char *runjs,
                  const char *const *models, size_t n_models,
                  onnxq_session *s, const onnxq_tensor *in, size_t n_in,
                  unsigned long long runs, int threads, double *median_ms);

#endif
