/*
 * cmd_static.c — `onnxq static`: calibrate a float model on real samples
 * (tensor files, audio or images) and write it statically quantized to
 * int8/uint8 in QDQ or QOperator form, as onnxruntime's quantize_static
 * would, in one command.  Calibration tables are JSON (cJSON) and live
 * here, not in the library.  After writing, --check (default) runs the
 * float and the written int8 model on calibration files that calibration
 * did not use (onnxq/compare.h) and prints size, latency and output
 * cosine/SQNR of both; --ort times both in ONNX Runtime (ort_runner.c).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "onnxq/calib.h"
#include "onnxq/compare.h"
#include "onnxq/static_quant.h"

static const char CMD[] = "static";

static const char help[] =
    "usage: onnxq static MODEL [OUT] (--calib DIR | --calib-wav DIR |\n"
    "                    --calib-images DIR | --load-calib-table FILE) [OPTIONS]\n"
    "\n"
    "Static int8 quantization: run calibration samples through the float\n"
    "model, take the range of every tensor that gets quantized, and write\n"
    "the model with 8-bit weights and activations (default OUT:\n"
    "MODEL.sint8.onnx, i.e. net.onnx -> net.sint8.onnx).\n"
    "\n"
    "calibration data (memory does not grow with the number of samples):\n"
    CLI_SAMPLE_HELP
    "  --calibrate-method M   minmax (default), entropy, percentile, distribution\n"
    "  --num-bins N           histogram bins (2048)   --num-quantized-bins N (128)\n"
    "  --percentile P         (99.999)\n"
    "  --calib-table FILE     write the ranges (JSON)\n"
    "  --load-calib-table FILE  use ranges from FILE instead of calibrating\n"
    "  --threads N            threads of the calibration runs\n"
    "  --progress             progress line on stderr (default: on a terminal)\n"
    "\n"
    "quantization:\n"
    "  --format qdq|qoperator        (qdq)\n"
    "  --activation-type qint8|quint8  (quint8)\n"
    "  --weight-type qint8|quint8      (qint8)\n"
    "  --per-channel                 one scale per output channel of weights\n"
    "                                (default; --no-per-channel: per tensor)\n"
    "  --reduce-range                7-bit weights, [-64, 64] / [0, 127]; the\n"
    "                                default for quint8 activations with qint8\n"
    "                                weights (ONNX Runtime's x86 kernels add u8 x s8\n"
    "                                products in 16 bits and saturate without\n"
    "                                VNNI; measured: held-out cosine 0.39 without\n"
    "                                it on this AVX2 CPU); --no-reduce-range\n"
    "  --op-types LIST               op types to quantize (default\n"
    "                                " ONNXQ_STATIC_DEFAULT_COMPUTE_OPS ",\n"
    "      " ONNXQ_STATIC_DEFAULT_MOVE_OPS ")\n"
    "  --nodes-to-quantize LIST      only these nodes (names, shell patterns,\n"
    "  --nodes-to-exclude LIST       or op:TYPE); an item matching nothing is\n"
    "                                an error\n"
    "  --extra KEY=VALUE             onnxruntime extra_options: ActivationSymmetric,\n"
    "      WeightSymmetric, QuantizeBias, MatMulConstBOnly, AddQDQPairToWeight,\n"
    "      QDQKeepRemovableActivations, OpTypesToExcludeOutputQuantization,\n"
    "      CalibTensorRangeSymmetric, CalibMovingAverage,\n"
    "      CalibMovingAverageConstant, CalibPercentile, MinimumRealRange,\n"
    "      QDQDisableWeightAdjustForInt32Bias (keep weight scales even where\n"
    "      the int32 bias overflows; both formats), ForceQuantizeNoInputCheck\n"
    "      (quantize Reshape, Transpose, Squeeze, Unsqueeze, MaxPool, Resize,\n"
    "      Slice (QDQ), Gather in --op-types even when their input is not\n"
    "      quantized yet; without it they are quantized only after a\n"
    "      quantized tensor, sharing its scale and zero point).\n"
    "      DedicatedQDQPair=1 and TensorQuantOverrides are refused (not\n"
    "      implemented).  An unknown key is an error.\n"
    "\n"
    "check (after the model is written; the file stays whatever it shows):\n"
    "  --check / --no-check          run the float and the int8 model in onnxq\n"
    "                                on held-out files of the calibration folder\n"
    "                                (not drawn for calibration; if every file\n"
    "                                was drawn, the last ones, and it says so)\n"
    "                                and print size, latency (median of up to\n"
    "                                10 runs, --threads) and output\n"
    "                                cosine/SQNR; a\n"
    "                                cosine below 0.99 prints a warning\n"
    "                                (default on)\n"
    "  --check-samples N             files the check uses (8)\n"
    "  --ort                         also time both models in ONNX Runtime 1.30\n"
    "                                through node and tests/oracle/run.js on the\n"
    "                                same input ($ONNXQ_ORT_RUNNER, else the\n"
    "                                source tree's); no runner found: exit 1\n"
    "                                before anything is written; ONNX Runtime\n"
    "                                failing: exit 1, the model is kept\n"
    "  -q, --quiet                   no summary, no check table (warnings\n"
    "                                still)\n"
    CLI_SAVE_HELP
    "  -h, --help                    show this help\n";

enum {
    O_METHOD = 1, O_NBINS, O_NQBINS, O_PCT, O_TABLE, O_LOAD_TABLE, O_THREADS,
    O_PROGRESS, O_FORMAT, O_ATYPE, O_WTYPE, O_PER_CHANNEL, O_REDUCE,
    O_OPS, O_INCL, O_EXCL, O_EXTRA, O_NO_PER_CHANNEL, O_NO_REDUCE,
    O_CHECK, O_NO_CHECK, O_CHECK_SAMPLES, O_ORT
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_qtype(const char *s, int32_t *t)
{
    if (!strcasecmp(s, "qint8") || !strcasecmp(s, "int8") ||
        !strcasecmp(s, "s8"))
        *t = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    else if (!strcasecmp(s, "quint8") || !strcasecmp(s, "uint8") ||
             !strcasecmp(s, "u8"))
        *t = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    else
        return -1;
    return 0;
}

static const char *qtype_name(int32_t t)
{
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? "qint8" : "quint8";
}

/* ---- extra_options -------------------------------------------------------- */

static const char *const EXTRA_KEYS[] = {
    "ActivationSymmetric", "WeightSymmetric", "ForceQuantizeNoInputCheck",
    "MatMulConstBOnly", "AddQDQPairToWeight",
    "OpTypesToExcludeOutputQuantization", "DedicatedQDQPair", "QuantizeBias",
    "CalibMovingAverage", "CalibMovingAverageConstant", "CalibPercentile",
    "CalibTensorRangeSymmetric", "MinimumRealRange", "TensorQuantOverrides",
    "QDQKeepRemovableActivations", "QDQDisableWeightAdjustForInt32Bias",
    NULL};

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
            size_t v = diag + cost;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
        *out = 1;
    else if (!strcasecmp(v, "0") || !strcasecmp(v, "false") ||
             !strcasecmp(v, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

typedef struct extras {
    double min_real_range; /* 0: none */
} extras;

static int apply_extra(const char *kv, onnxq_static_options *so,
                       onnxq_calib_options *co, extras *ex)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return cli_usage_error(CMD, "--extra wants KEY=VALUE, got '%s'", kv);
    size_t kl = (size_t)(eq - kv);
    char key[128];
    if (kl >= sizeof key)
        kl = sizeof key - 1;
    memcpy(key, kv, kl);
    key[kl] = 0;
    const char *v = eq + 1;
    int known = 0;
    for (size_t i = 0; EXTRA_KEYS[i]; i++)
        known |= strcmp(EXTRA_KEYS[i], key) == 0;
    if (!known) {
        const char *best = NULL;
        size_t bd = (size_t)-1;
        for (size_t i = 0; EXTRA_KEYS[i]; i++) {
            size_t d = edit_distance(key, EXTRA_KEYS[i]);
            if (d < bd)
                bd = d, best = EXTRA_KEYS[i];
        }
        return cli_fail(CMD, "--extra: unknown option '%s' (onnxruntime would "
                        "silently ignore it); did you mean '%s'?", key, best);
    }
    int b = 0;
    double d = 0;
    int is_bool = strcmp(key, "OpTypesToExcludeOutputQuantization") &&
                  strcmp(key, "CalibMovingAverageConstant") &&
                  strcmp(key, "CalibPercentile") &&
                  strcmp(key, "MinimumRealRange") &&
                  strcmp(key, "TensorQuantOverrides");
    if (is_bool && parse_bool(v, &b))
        return cli_usage_error(CMD, "--extra %s: '%s' is not True or False",
                               key, v);
    if (!strcmp(key, "ActivationSymmetric"))
        so->activation_symmetric = b;
    else if (!strcmp(key, "WeightSymmetric"))
        so->weight_symmetric = b;
    else if (!strcmp(key, "ForceQuantizeNoInputCheck"))
        so->force_no_input_check = b;
    else if (!strcmp(key, "QDQDisableWeightAdjustForInt32Bias"))
        so->keep_weight_scales = b;
    else if (!strcmp(key, "MatMulConstBOnly"))
        so->matmul_const_b_only = b;
    else if (!strcmp(key, "AddQDQPairToWeight"))
        so->add_qdq_pair_to_weight = b;
    else if (!strcmp(key, "QDQKeepRemovableActivations"))
        so->keep_removable_activations = b;
    else if (!strcmp(key, "QuantizeBias"))
        so->quantize_bias = b;
    else if (!strcmp(key, "CalibMovingAverage"))
        co->moving_average = b;
    else if (!strcmp(key, "CalibTensorRangeSymmetric"))
        co->symmetric = b;
    else if (!strcmp(key, "DedicatedQDQPair")) {
        if (b)
            return cli_fail(CMD, "--extra DedicatedQDQPair=True is not "
                            "implemented by onnxq (one pair per tensor is "
                            "written)");
    } else if (!strcmp(key, "TensorQuantOverrides")) {
        return cli_fail(CMD, "--extra TensorQuantOverrides is not implemented "
                        "by onnxq yet");
    } else if (!strcmp(key, "OpTypesToExcludeOutputQuantization")) {
        so->exclude_output_op_types = v;
    } else {
        if (parse_double(v, &d))
            return cli_usage_error(CMD, "--extra %s: '%s' is not a number",
                                   key, v);
        if (!strcmp(key, "CalibMovingAverageConstant"))
            co->averaging_constant = d;
        else if (!strcmp(key, "CalibPercentile"))
            co->percentile = d;
        else
            ex->min_real_range = d;
    }
    return CLI_OK;
}

/* ---- calibration tables ----------------------------------------------------- */

static int write_table(const char *path, const onnxq_calib_options *co,
                       onnxq_calib_data *data, const onnxq_tensor_range *r,
                       size_t n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *tensors = cJSON_CreateObject();
    cJSON *samples = cJSON_CreateArray();
    if (!root || !tensors || !samples)
        goto oom;
    cJSON_AddStringToObject(root, "method", onnxq_calib_method_name(co->method));
    cJSON_AddItemToObject(root, "samples", samples);
    for (size_t i = 0; data && i < onnxq_calib_data_count(data); i++)
        cJSON_AddItemToArray(samples, cJSON_CreateString(
                                          onnxq_calib_data_path(data, i)));
    cJSON_AddItemToObject(root, "tensors", tensors);
    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        if (!t)
            goto oom;
        if (r[i].unreached) { /* no sample computed it: no range */
            cJSON_AddBoolToObject(t, "unreached", 1);
            cJSON_AddItemToObject(tensors, r[i].name, t);
            continue;
        }
        cJSON_AddNumberToObject(t, "min", r[i].rmin);
        cJSON_AddNumberToObject(t, "max", r[i].rmax);
        cJSON_AddNumberToObject(t, "data_min", r[i].data_min);
        cJSON_AddNumberToObject(t, "data_max", r[i].data_max);
        if (co->method == ONNXQ_CALIB_DISTRIBUTION) {
            cJSON_AddNumberToObject(t, "avg", r[i].avg);
            cJSON_AddNumberToObject(t, "std", r[i].std);
        }
        cJSON_AddItemToObject(tensors, r[i].name, t);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    root = NULL;
    if (!text)
        goto oom;
    FILE *fp = fopen(path, "w");
    int ok = fp && fputs(text, fp) >= 0 && fputc('\n', fp) != EOF;
    if (fp && fclose(fp))
        ok = 0;
    free(text);
    if (!ok) {
        if (fp)
            unlink(path);
        return cli_fail(CMD, "%s: cannot write the calibration table", path);
    }
    return CLI_OK;
oom:
    cJSON_Delete(root);
    return cli_fail(CMD, "out of memory");
}

static int read_table(const char *path, char **names, size_t n,
                      onnxq_tensor_range **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return cli_fail(CMD, "%s: cannot open the calibration table", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (len < 0 || len > (1L << 30)) {
        fclose(fp);
        return cli_fail(CMD, "%s: unreadable calibration table", path);
    }
    char *buf = malloc((size_t)len + 1);
    size_t got = buf ? fread(buf, 1, (size_t)len, fp) : 0;
    fclose(fp);
    if (!buf || got != (size_t)len) {
        free(buf);
        return cli_fail(CMD, "%s: cannot read the calibration table", path);
    }
    buf[len] = 0;
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    cJSON *tensors = root ? cJSON_GetObjectItemCaseSensitive(root, "tensors")
                          : NULL;
    if (!cJSON_IsObject(tensors)) {
        cJSON_Delete(root);
        return cli_fail(CMD, "%s: not a calibration table (JSON with a "
                        "\"tensors\" object)", path);
    }
    onnxq_tensor_range *r = calloc(n ? n : 1, sizeof *r);
    if (!r) {
        cJSON_Delete(root);
        return cli_fail(CMD, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(tensors, names[i]);
        cJSON *mn = t ? cJSON_GetObjectItemCaseSensitive(t, "min") : NULL;
        cJSON *mx = t ? cJSON_GetObjectItemCaseSensitive(t, "max") : NULL;
        r[i].name = strdup(names[i]);
        if (t && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "unreached"))) {
            r[i].unreached = 1;
            continue;
        }
        if (!cJSON_IsNumber(mn) || !cJSON_IsNumber(mx) ||
            !isfinite(mn->valuedouble) || !isfinite(mx->valuedouble)) {
            onnxq_tensor_ranges_free(r, n);
            cJSON_Delete(root);
            return cli_fail(CMD, "%s: no finite min/max for tensor '%s'",
                            path, names[i]);
        }
        r[i].rmin = (float)mn->valuedouble;
        r[i].rmax = (float)mx->valuedouble;
        r[i].data_min = r[i].rmin;
        r[i].data_max = r[i].rmax;
    }
    cJSON_Delete(root);
    *out = r;
    return CLI_OK;
}

/* ---- progress ------------------------------------------------------------------ */

static void progress(void *user, int pass, int n_passes, size_t done,
                     size_t total)
{
    (void)user;
    fprintf(stderr, "\ronnxq static: calibrating%s%d/%d: sample %zu/%zu   ",
            n_passes > 1 ? " pass " : " ", n_passes > 1 ? pass : 1,
            n_passes, done, total);
    if (pass == n_passes && done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- summary ------------------------------------------------------------------- */

static void summary(const onnxq_static_report *rep,
                    const onnxq_static_options *so)
{
    printf("quantized (%s, activations %s, weights %s%s%s):\n",
           so->format == ONNXQ_FORMAT_QDQ ? "QDQ" : "QOperator",
           qtype_name(so->activation_type), qtype_name(so->weight_type),
           so->per_channel ? " per channel" : " per tensor",
           so->reduce_range ? ", reduce range" : "");
    /* per op type: quantized / total, in first-seen order */
    const char *ops[256];
    size_t nq[256], nt[256], nsel[256], n_ops = 0;
    for (size_t i = 0; i < rep->n_nodes; i++) {
        const onnxq_static_node *nd = &rep->nodes[i];
        size_t k;
        for (k = 0; k < n_ops; k++)
            if (!strcmp(ops[k], nd->op_type))
                break;
        if (k == n_ops) {
            if (n_ops == 256)
                continue;
            ops[k] = nd->op_type;
            nq[k] = nt[k] = nsel[k] = 0;
            n_ops++;
        }
        nt[k]++;
        nq[k] += nd->quantized;
        nsel[k] += nd->quantized || nd->reason;
    }
    int any = 0;
    for (size_t k = 0; k < n_ops; k++)
        if (nsel[k]) {
            printf("  %-26s %zu of %zu\n", ops[k], nq[k], nt[k]);
            any = 1;
        }
    if (!any)
        printf("  nothing\n");
    int header = 0;
    for (size_t i = 0; i < rep->n_nodes; i++) {
        const onnxq_static_node *nd = &rep->nodes[i];
        if (nd->quantized || !nd->reason)
            continue;
        if (!header++)
            printf("left float:\n");
        printf("  %s (%s): %s\n", nd->name, nd->op_type, nd->reason);
    }
    printf("not asked for:");
    any = 0;
    for (size_t k = 0; k < n_ops; k++)
        if (!nsel[k]) {
            printf("%s %s %zu", any ? "," : "", ops[k], nt[k]);
            any = 1;
        }
    printf("%s\n", any ? "" : " -");
    printf("added: %zu QuantizeLinear, %zu DequantizeLinear", rep->n_q,
           rep->n_dq);
    if (rep->opset_to != rep->opset_from)
        printf("; opset %lld -> %lld", (long long)rep->opset_from,
               (long long)rep->opset_to);
    printf("\n");
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static char *default_out(const char *in)
{
    size_t n = strlen(in);
    if (n > 5 && !strcmp(in + n - 5, ".onnx"))
        n -= 5;
    char *o = malloc(n + 12);
    if (o) {
        memcpy(o, in, n);
        strcpy(o + n, ".sint8.onnx");
    }
    return o;
}

/* Warnings about combinations known to be slow or to saturate. */
static void warn_target(const onnxq_static_options *so)
{
    int u8s8 = so->activation_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 &&
               so->weight_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int vnni = __builtin_cpu_supports("avx512vnni");
    if (u8s8 && !so->reduce_range && !vnni)
        fprintf(stderr, "onnxq static: warning: this CPU has no AVX512-VNNI: "
                "ONNX Runtime's u8 x s8 kernels add pairs of products in "
                "16 bits, which saturate (measured on the demo model: "
                "cosine 0.39 per channel); drop --no-reduce-range\n");
    if (so->activation_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 &&
        so->format == ONNXQ_FORMAT_QDQ)
        fprintf(stderr, "onnxq static: warning: int8 activations in QDQ form: "
                "ONNX Runtime on x86-64 fuses only part of such a model "
                "(measure with tests/oracle/run.js --bench); quint8 "
                "activations are the fast choice on x86\n");
#else
    (void)u8s8;
#endif
}

/* ---- check: float32 vs int8 on held-out files ------------------------------- */

typedef struct check_plan {
    size_t n_samples;   /* --check-samples */
    int threads;        /* --threads (0: all cores) */
    int quiet;
    const char *runner; /* run.js for --ort, or NULL */
    int from_table;     /* ranges came from --load-calib-table: which files
                           were calibrated on is unknown */
} check_plan;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Chooses the check's files among all (every file once, sorted): the first
 * n not drawn for calibration, else the last n.  Returns the count chosen
 * into pick[] (room for n) and sets *overlap when they were (or may have
 * been) calibrated on. */
static size_t pick_check_files(const onnxq_calib_data *all,
                               const onnxq_calib_data *used, int from_table,
                               size_t n, size_t *pick, int *overlap)
{
    size_t nf = onnxq_calib_data_n_files(all), k = 0;
    size_t nu = used ? onnxq_calib_data_count(used) : 0;
    const char **paths = nu ? malloc(nu * sizeof *paths) : NULL;
    *overlap = from_table;
    if (!from_table && (paths || !nu)) {
        /* sorted once: draws with replacement repeat files, and a large
         * --num-samples over many files would make a plain scan quadratic */
        for (size_t i = 0; i < nu; i++)
            paths[i] = onnxq_calib_data_path(used, i);
        if (nu)
            qsort(paths, nu, sizeof *paths, cmp_str);
        for (size_t j = 0; j < nf && k < n; j++) {
            const char *p = onnxq_calib_data_path(all, j);
            if (!nu || !bsearch(&p, paths, nu, sizeof *paths, cmp_str))
                pick[k++] = j;
        }
    }
    free(paths);
    if (k == 0) {
        *overlap = 1;
        for (size_t j = nf > n ? nf - n : 0; j < nf; j++)
            pick[k++] = j;
    }
    return k;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Runs the float model (in) and the written int8 model (out) on held-out
 * calibration files with onnxq, and with plan->runner in ONNX Runtime, and
 * prints the comparison.  The model is already written: a failure here
 * returns CLI_ERROR but leaves it. */
static int run_check(const char *in, const char *out,
                     const cli_samples *src,
                     const onnxq_calib_data *used, const check_plan *plan)
{
    onnxq_calib_data *all = NULL;
    onnxq_model *fm = NULL, *qm = NULL;
    onnxq_comparer *c = NULL;
    onnxq_tensor *sample = NULL, *first = NULL;
    const Onnx__ValueInfoProto **vis = NULL;
    size_t *pick = NULL, n_pick = 0, n_in = 0;
    int rc = CLI_ERROR, overlap = 0;
    onnxq_error err;
    onnxq_calib_data_options ao = src->o;
    ao.count = 0; /* every file once, sorted */
    ao.no_replacement = 0;
    if (onnxq_calib_data_open(&ao, &all, &err) != ONNXQ_OK) {
        cli_fail(CMD, "check: %s", err.message);
        goto done;
    }
    pick = malloc(plan->n_samples * sizeof *pick);
    if (!pick) {
        cli_fail(CMD, "out of memory");
        goto done;
    }
    n_pick = pick_check_files(all, used, plan->from_table, plan->n_samples,
                              pick, &overlap);
    if (!(fm = cli_load_model(CMD, in)) || !(qm = cli_load_model(CMD, out)))
        goto done;
    onnxq_compare_options co;
    onnxq_compare_options_init(&co);
    co.n_threads = plan->threads;
    if (onnxq_compare_create(fm, qm, &co, &c, &err) != ONNXQ_OK) {
        c = NULL;
        /* a model written for ONNX Runtime that onnxq has no kernel for is
         * still a result (as in `onnxq dynamic`); anything else is not */
        if (err.status == ONNXQ_ERR_UNSUPPORTED) {
            if (!plan->quiet)
                printf("check: NOT RUN: onnxq cannot run the models: %s\n",
                       err.message);
            fprintf(stderr, "onnxq static: warning: no check (onnxq cannot "
                    "run the models); %s is written unchecked\n", out);
            rc = CLI_OK;
        } else {
            cli_fail(CMD, "check: %s (%s is written; --no-check skips the "
                     "check)", err.message, out);
        }
        goto done;
    }
    onnxq_session *fs = onnxq_compare_float_session(c);
    n_in = onnxq_session_input_count(fs);
    vis = calloc(n_in + 1, sizeof *vis);
    sample = calloc(n_in + 1, sizeof *sample);
    first = calloc(n_in + 1, sizeof *first);
    if (!vis || !sample || !first) {
        cli_fail(CMD, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_in; k++)
        vis[k] = onnxq_session_input(fs, k);
    for (size_t i = 0; i < n_pick; i++) {
        /* the first sample is kept for timing; the others are freed */
        onnxq_tensor *t = i == 0 ? first : sample;
        const char *path = onnxq_calib_data_path(all, pick[i]);
        if (onnxq_calib_data_get(all, pick[i], vis, n_in, t, &err) !=
            ONNXQ_OK) {
            cli_fail(CMD, "check: %s", err.message);
            goto done;
        }
        if (onnxq_compare_add_sample(c, t, n_in, &err) != ONNXQ_OK) {
            cli_fail(CMD, "check: %s: %s", path, err.message);
            goto done;
        }
        if (i > 0)
            for (size_t k = 0; k < n_in; k++) {
                free(sample[k].data);
                sample[k].data = NULL;
            }
    }
    /* up to 10 timed runs, fewer when the slower model takes more than
     * 0.3 s (about 3 s of timing per model): the check follows a
     * quantization and should not cost more than it */
    double f_ms = 0, q_ms = 0, ort_ms[2] = {0, 0};
    size_t runs = 1;
    onnxq_status st =
        onnxq_compare_latency(c, first, n_in, 1, 1, &f_ms, &q_ms, &err);
    if (st == ONNXQ_OK) {
        double slow = f_ms > q_ms ? f_ms : q_ms;
        runs = slow * 10 <= 3000 ? 10 : slow >= 3000 ? 1
                                                     : (size_t)(3000 / slow);
        if (runs > 1)
            st = onnxq_compare_latency(c, first, n_in, runs, 0, &f_ms, &q_ms,
                                       &err);
    }
    if (st != ONNXQ_OK) {
        cli_fail(CMD, "check: %s", err.message);
        goto done;
    }
    const onnxq_compare_result *res = onnxq_compare_result_get(c);
    long long fb = file_size(in), qb = file_size(out);
    if (!plan->quiet) {
        const char *lat_file = base_name(onnxq_calib_data_path(all, pick[0]));
        printf("check: float32 vs int8 on %zu file%s %s\n", n_pick,
               n_pick == 1 ? "" : "s",
               overlap ? plan->from_table
                             ? "of the folder (calibration came from a "
                               "table: they may have been used for it)"
                             : "- check samples were also used for "
                               "calibration (no held-out files)"
                       : "held out from calibration");
        printf("  %-22s %10s %10s %12s\n", "", "float32", "int8",
               "int8/float32");
        printf("  %-22s %10.2f %10.2f %11.2fx\n", "size (MiB)",
               (double)fb / 1048576.0, (double)qb / 1048576.0,
               fb > 0 ? (double)qb / (double)fb : 0.0);
        printf("  %-22s %10.3f %10.3f %11.2fx\n", "onnxq latency (ms)", f_ms,
               q_ms, f_ms > 0 ? q_ms / f_ms : 0.0);
        fflush(stdout);
        if (plan->runner) {
            const char *models[2] = {in, out};
            if (cli_ort_bench(CMD, plan->runner, models, 2, fs, first, n_in,
                              runs, plan->threads, ort_ms) != CLI_OK)
                goto done; /* the model stays written */
            printf("  %-22s %10.3f %10.3f %11.2fx\n", "ORT 1.30 latency (ms)",
                   ort_ms[0], ort_ms[1],
                   ort_ms[0] > 0 ? ort_ms[1] / ort_ms[0] : 0.0);
            printf("  %-22s %10.2fx %9.2fx\n", "onnxq/ORT latency",
                   ort_ms[0] > 0 ? f_ms / ort_ms[0] : 0.0,
                   ort_ms[1] > 0 ? q_ms / ort_ms[1] : 0.0);
        }
        for (size_t i = 0; i < res->n_outputs; i++) {
            const onnxq_tensor_compare *o = &res->outputs[i];
            printf("  output %s: cosine mean %.6f worst %.6f, SQNR mean "
                   "%.2f dB\n", o->name, o->m.cosine.mean, o->m.cosine.worst,
                   o->m.sqnr_db.mean);
        }
        char thr[64];
        if (plan->threads)
            snprintf(thr, sizeof thr, "%d thread%s", plan->threads,
                     plan->threads == 1 ? "" : "s");
        else if (plan->runner)
            snprintf(thr, sizeof thr, "onnxq default threads, ORT %d",
                     cli_ort_threads(0));
        else
            snprintf(thr, sizeof thr, "default threads");
        printf("  (latency: median of %zu run%s on %s, %s)\n", runs,
               runs == 1 ? "" : "s", lat_file, thr);
    } else if (plan->runner) {
        const char *models[2] = {in, out};
        if (cli_ort_bench(CMD, plan->runner, models, 2, fs, first, n_in, runs,
                          plan->threads, ort_ms) != CLI_OK)
            goto done;
    }
    for (size_t i = 0; i < res->n_outputs; i++) {
        const onnxq_tensor_compare *o = &res->outputs[i];
        /* !(>=) so that NaN warns too */
        if (!(o->m.cosine.worst >= 0.99))
            fprintf(stderr, "onnxq static: warning: output '%s' has cosine "
                    "%.4f to float32 on a check sample (below 0.99); %s is "
                    "written: see `onnxq compare --per-tensor` or `onnxq "
                    "tune`\n", o->name, o->m.cosine.worst, out);
    }
    rc = CLI_OK;
done:
    if (sample)
        onnxq_tensors_free(sample, n_in);
    if (first)
        onnxq_tensors_free(first, n_in);
    free(vis);
    free(pick);
    onnxq_compare_destroy(c);
    onnxq_model_destroy(qm);
    onnxq_model_destroy(fm);
    onnxq_calib_data_destroy(all);
    return rc;
}

int cmd_static(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_SAMPLE_LONG_OPTIONS,
        {"calibrate-method", required_argument, 0, O_METHOD},
        {"num-bins", required_argument, 0, O_NBINS},
        {"num-quantized-bins", required_argument, 0, O_NQBINS},
        {"percentile", required_argument, 0, O_PCT},
        {"calib-table", required_argument, 0, O_TABLE},
        {"load-calib-table", required_argument, 0, O_LOAD_TABLE},
        {"threads", required_argument, 0, O_THREADS},
        {"progress", no_argument, 0, O_PROGRESS},
        {"format", required_argument, 0, O_FORMAT},
        {"activation-type", required_argument, 0, O_ATYPE},
        {"weight-type", required_argument, 0, O_WTYPE},
        {"per-channel", no_argument, 0, O_PER_CHANNEL},
        {"reduce-range", no_argument, 0, O_REDUCE},
        {"no-per-channel", no_argument, 0, O_NO_PER_CHANNEL},
        {"no-reduce-range", no_argument, 0, O_NO_REDUCE},
        {"op-types", required_argument, 0, O_OPS},
        {"nodes-to-quantize", required_argument, 0, O_INCL},
        {"nodes-to-exclude", required_argument, 0, O_EXCL},
        {"extra", required_argument, 0, O_EXTRA},
        {"check", no_argument, 0, O_CHECK},
        {"no-check", no_argument, 0, O_NO_CHECK},
        {"check-samples", required_argument, 0, O_CHECK_SAMPLES},
        {"ort", no_argument, 0, O_ORT},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        CLI_SAVE_LONG_OPTIONS,
        {0, 0, 0, 0}};
    cli_samples src;
    cli_samples_init(&src);
    onnxq_calib_options copt;
    onnxq_calib_options_init(&copt);
    onnxq_static_options sopt;
    onnxq_static_options_init(&sopt);
    onnxq_save_options save;
    onnxq_save_options_init(&save);
    extras ex = {0};
    const char *table_out = NULL, *table_in = NULL;
    int show_progress = isatty(2), quiet = 0;
    int per_channel = 1, reduce_range = -1; /* -1: by the types */
    int check = 1, ort = 0;
    size_t check_samples = 8;
    const char *extra_list[64];
    size_t n_extra = 0;
    int c;
    long v;
    double d;
    while ((c = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
        int r = cli_save_parse(CMD, c, optarg, &save);
        if (!r)
            r = cli_samples_parse(CMD, c, optarg, &src);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(help, stdout);
            return CLI_OK;
        case 'q':
            quiet = 1;
            break;
        case O_METHOD: {
            int m = onnxq_calib_method_parse(optarg);
            if (m < 0)
                return cli_fail(CMD, "--calibrate-method: unknown method "
                                "'%s' (minmax, entropy, percentile, "
                                "distribution)", optarg);
            copt.method = (onnxq_calib_method)m;
            break;
        }
        case O_NBINS:
        case O_NQBINS:
            if (parse_long(optarg, 2, 1 << 24, &v))
                return cli_usage_error(CMD, "--%s: '%s'",
                                       c == O_NBINS ? "num-bins"
                                                    : "num-quantized-bins",
                                       optarg);
            if (c == O_NBINS)
                copt.num_bins = (int)v;
            else
                copt.num_quantized_bins = (int)v;
            break;
        case O_PCT:
            if (parse_double(optarg, &d) || d < 0 || d > 100)
                return cli_usage_error(CMD, "--percentile: '%s' is not in "
                                       "[0, 100]", optarg);
            copt.percentile = d;
            break;
        case O_TABLE:
            table_out = optarg;
            break;
        case O_LOAD_TABLE:
            table_in = optarg;
            break;
        case O_THREADS:
            if (parse_long(optarg, 1, 1024, &v))
                return cli_usage_error(CMD, "--threads: '%s'", optarg);
            copt.n_threads = (int)v;
            break;
        case O_PROGRESS:
            show_progress = 1;
            break;
        case O_FORMAT:
            if (!strcasecmp(optarg, "qdq"))
                sopt.format = ONNXQ_FORMAT_QDQ;
            else if (!strcasecmp(optarg, "qoperator"))
                sopt.format = ONNXQ_FORMAT_QOPERATOR;
            else
                return cli_usage_error(CMD, "--format: qdq or qoperator, "
                                       "not '%s'", optarg);
            break;
        case O_ATYPE:
        case O_WTYPE:
            if (parse_qtype(optarg, c == O_ATYPE ? &sopt.activation_type
                                                 : &sopt.weight_type))
                return cli_usage_error(CMD, "--%s-type: qint8 or quint8, "
                                       "not '%s'",
                                       c == O_ATYPE ? "activation" : "weight",
                                       optarg);
            break;
        case O_PER_CHANNEL:
        case O_NO_PER_CHANNEL:
            per_channel = c == O_PER_CHANNEL;
            break;
        case O_REDUCE:
        case O_NO_REDUCE:
            reduce_range = c == O_REDUCE;
            break;
        case O_OPS:
            sopt.op_types = optarg;
            break;
        case O_INCL:
            sopt.nodes_include = optarg;
            break;
        case O_EXCL:
            sopt.nodes_exclude = optarg;
            break;
        case O_CHECK:
        case O_NO_CHECK:
            check = c == O_CHECK;
            break;
        case O_CHECK_SAMPLES:
            if (parse_long(optarg, 1, 100000, &v))
                return cli_usage_error(CMD, "--check-samples: '%s' is not a "
                                       "count >= 1", optarg);
            check_samples = (size_t)v;
            break;
        case O_ORT:
            ort = 1;
            break;
        case O_EXTRA:
            if (n_extra == 64)
                return cli_usage_error(CMD, "too many --extra options");
            extra_list[n_extra++] = optarg;
            break;
        case ':':
            return cli_usage_error(CMD, "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    sopt.per_channel = per_channel;
    sopt.reduce_range =
        reduce_range >= 0
            ? reduce_range
            : sopt.activation_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 &&
                  sopt.weight_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    for (size_t i = 0; i < n_extra; i++) {
        int r = apply_extra(extra_list[i], &sopt, &copt, &ex);
        if (r != CLI_OK)
            return r;
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "no model given");
    if (argc - optind > 2)
        return cli_usage_error(CMD, "unexpected argument '%s'",
                               argv[optind + 2]);
    const char *in = argv[optind];
    if (!src.n_sources && !table_in)
        return cli_usage_error(CMD, "no calibration data: --calib DIR, "
                               "--calib-wav DIR, --calib-images DIR or "
                               "--load-calib-table FILE");
    if (ort && (!check || !src.n_sources))
        return cli_usage_error(CMD, "--ort times the check's sample: it needs "
                               "the check and a calibration folder");
    char *out_alloc = NULL;
    const char *out = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!out && !(out = out_alloc = default_out(in)))
        return cli_fail(CMD, "out of memory");
    /* before any work: a missing runner should not cost a calibration */
    char *runner = NULL;
    if (ort && !(runner = cli_ort_runner(CMD, NULL))) {
        free(out_alloc);
        return CLI_ERROR;
    }

    int rc = CLI_ERROR;
    onnxq_error err;
    onnxq_calib_data *data = NULL;
    char **names = NULL;
    size_t n_names = 0;
    onnxq_tensor_range *ranges = NULL;
    onnxq_static_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_model *m = NULL;
    if (onnxq_same_file(in, out)) {
        cli_fail(CMD, "%s: refusing to write over the input model; name "
                 "another output", out);
        goto done;
    }
    m = cli_load_model(CMD, in);
    if (!m)
        goto done;
    if (onnxq_static_plan(m, &sopt, &names, &n_names, &err) != ONNXQ_OK) {
        cli_fail(CMD, "%s", err.message);
        goto done;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (table_in) {
        if (read_table(table_in, names, n_names, &ranges) != CLI_OK)
            goto done;
    } else if (n_names) {
        if (cli_samples_open(CMD, &src, NULL, 0, &data) != CLI_OK)
            goto done;
        /* subgraph nodes whose branch no sample took stay float */
        copt.allow_unreached = 1;
        if (onnxq_calibrate(m, (const char *const *)names, n_names, &copt,
                            data, show_progress ? progress : NULL, NULL,
                            &ranges, &err) != ONNXQ_OK) {
            if (show_progress)
                fputc('\n', stderr);
            cli_fail(CMD, "%s", err.message);
            goto done;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ex.min_real_range > 0)
        for (size_t i = 0; i < n_names; i++)
            if ((double)ranges[i].rmax - ranges[i].rmin < ex.min_real_range)
                ranges[i].rmax = (float)(ranges[i].rmin + ex.min_real_range);
    if (table_out && !table_in &&
        write_table(table_out, &copt, data, ranges, n_names) != CLI_OK)
        goto done;
    if (onnxq_static_quantize(m, &sopt, ranges, n_names, &rep, &err) !=
        ONNXQ_OK) {
        cli_fail(CMD, "%s", err.message);
        goto done;
    }
    if (cli_save_model(CMD, m, out, &save, 0) != CLI_OK)
        goto done;
    warn_target(&sopt);
    if (!quiet) {
        if (data)
            printf("calibration: %zu samples from %zu files (%s), %s, "
                   "%zu tensors, %.1f s\n",
                   onnxq_calib_data_count(data),
                   onnxq_calib_data_n_files(data),
                   src.o.count ? (src.o.no_replacement ? "drawn without "
                                                       "replacement"
                                                     : "drawn with "
                                                       "replacement")
                              : "each once",
                   onnxq_calib_method_name(copt.method), n_names, secs);
        else if (table_in)
            printf("calibration: %zu ranges from %s\n", n_names, table_in);
        summary(&rep, &sopt);
        long long a = file_size(in), b = file_size(out);
        printf("size: %.2f MiB -> %.2f MiB\nwrote %s\n",
               (double)a / 1048576.0, (double)b / 1048576.0, out);
    }
    if (check && src.n_sources) {
        check_plan plan = {check_samples, copt.n_threads, quiet, runner,
                           table_in != NULL};
        if (run_check(in, out, &src, data, &plan) != CLI_OK)
            goto done; /* the model stays written (see --help) */
    } else if (check && !quiet) {
        printf("check: not run (no calibration folder to take samples from; "
               "give --calib/--calib-wav/--calib-images DIR)\n");
    }
    rc = CLI_OK;
done:
    free(runner);
    onnxq_static_report_clear(&rep);
    onnxq_tensor_ranges_free(ranges, n_names);
    onnxq_static_names_free(names, n_names);
    onnxq_calib_data_destroy(data);
    onnxq_model_destroy(m);
    free(out_alloc);
    return rc;
}
