/* cmd_compare.c — `onnxq compare FLOAT.onnx QUANT.onnx`: what quantization
 * cost (cosine, SQNR, max error, argmax agreement per output over the
 * samples; with --per-tensor the same per layer and per weight, worst first)
 * and what it gained (latency of both in onnxq, and in ONNX Runtime with
 * --ort).  The library does the measuring (onnxq/compare.h) and the HTML
 * report (onnxq/report.h); this file gathers samples and prints; ONNX
 * Runtime is timed through the Node oracle by ort_runner.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_inputs.h"
#include "onnxq/calib.h"
#include "onnxq/compare.h"
#include "onnxq/data.h"
#include "onnxq/report.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

static const char help[] =
    "usage: onnxq compare [OPTIONS] FLOAT.onnx QUANT.onnx\n"
    "\n"
    "Run a float model and its quantized (or fp16) twin on the same samples\n"
    "and report, per output, cosine similarity, SQNR = 20 log10(|x|/|x-y|)\n"
    "(inf when equal), max absolute error and, for outputs whose last dim is\n"
    "above 1 (a classifier's class axis), argmax agreement: the mean and the\n"
    "worst over the samples.  Then the latency of both (median of --runs).\n"
    "The models must have the same input and output names, ranks and fixed\n"
    "dims.\n"
    "\n"
    "samples (one source; default: one generated sample):\n"
    CLI_SAMPLE_HELP
    "  --inputs DIR|FILE.npz, --input NAME=FILE, --shape NAME=D0,D1,...\n"
    "                        one sample as in `onnxq run`\n"
    "\n"
    "what to show:\n"
    "  --per-tensor          also every float tensor with a quantized\n"
    "                        counterpart (through Q/DQ pairs, _quantized\n"
    "                        QLinear outputs or the same name), worst SQNR\n"
    "                        first, and the error of every quantized weight\n"
    "  --top N               rows of the per-tensor tables printed (default\n"
    "                        20; --json and --report have all)\n"
    "  --report FILE.html    a self-contained HTML report (charts + tables)\n"
    "  --json                print everything as JSON (non-finite numbers\n"
    "                        as the strings \"inf\", \"-inf\", \"nan\")\n"
    "\n"
    "latency:\n"
    "  --runs N              timed runs of each model (default 10; 0: none)\n"
    "  --warmup N            untimed runs first (default 2)\n"
    "  --threads N           threads of both runtimes (default: all cores)\n"
    "  --ort                 also time both in ONNX Runtime: runs\n"
    "                        `node RUNJS MODEL --bench N` (tests/oracle/run.js)\n"
    "  --ort-runner RUNJS    where run.js is (default: $ONNXQ_ORT_RUNNER, else\n"
    "                        the source tree's tests/oracle/run.js, else\n"
    "                        ../tests/oracle/run.js beside the onnxq binary);\n"
    "                        node is $ONNXQ_NODE or `node` on PATH\n"
    "  -h, --help            show this help\n";

enum {
    OPT_INPUT = 1, OPT_INPUTS, OPT_SHAPE, OPT_PER_TENSOR, OPT_TOP, OPT_REPORT, OPT_JSON, OPT_RUNS,
    OPT_WARMUP, OPT_THREADS, OPT_ORT, OPT_ORT_RUNNER
};

typedef struct latency {
    int have, have_ort;
    double f_ms, q_ms, ort_f_ms, ort_q_ms;
    unsigned long long runs;
    int threads;
} latency;

/* ---- printing ------------------------------------------------------------- */

static void fmt_num(char *buf, size_t size, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, size, fmt, v);
}

static void shape_str(char *buf, size_t size, const onnxq_tensor_compare *t)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 d ? ", " : "", (long long)t->dims[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static cJSON *json_num(double v)
{
    if (isfinite(v))
        return cJSON_CreateNumber(v);
    return cJSON_CreateString(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void json_stat(cJSON *o, const char *key, onnxq_stat s)
{
    cJSON *e = cJSON_AddObjectToObject(o, key);
    cJSON_AddItemToObject(e, "mean", json_num(s.mean));
    cJSON_AddItemToObject(e, "worst", json_num(s.worst));
}

static cJSON *json_tensor(const onnxq_tensor_compare *t, int is_output)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", t->name);
    if (!is_output) {
        cJSON_AddStringToObject(e, "quant_name", t->quant_name);
        cJSON_AddStringToObject(e, "op_type", t->op_type);
        cJSON_AddStringToObject(e, "match", onnxq_match_kind_name(t->how));
        cJSON_AddStringToObject(e, "quant_dtype",
                                onnxq_dtype_name(t->quant_dtype));
    }
    cJSON *sh = cJSON_AddArrayToObject(e, "shape");
    for (int d = 0; d < t->rank; d++)
        cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->dims[d]));
    cJSON_AddNumberToObject(e, "samples", (double)t->m.samples);
    json_stat(e, "cosine", t->m.cosine);
    json_stat(e, "sqnr_db", t->m.sqnr_db);
    json_stat(e, "max_abs", t->m.max_abs);
    if (is_output) {
        if (isnan(t->m.argmax.mean))
            cJSON_AddNullToObject(e, "argmax_agreement");
        else
            json_stat(e, "argmax_agreement", t->m.argmax);
    }
    return e;
}

static void print_json(const char *fpath, const char *qpath,
                       const char *source, const onnxq_compare_result *r,
                       const latency *lat, int per_tensor)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "float_model", fpath);
    cJSON_AddStringToObject(o, "quant_model", qpath);
    cJSON_AddStringToObject(o, "samples_from", source);
    cJSON_AddNumberToObject(o, "samples", (double)r->samples);
    cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
    for (size_t i = 0; i < r->n_outputs; i++)
        cJSON_AddItemToArray(outs, json_tensor(&r->outputs[i], 1));
    if (lat->have) {
        cJSON *l = cJSON_AddObjectToObject(o, "latency");
        cJSON_AddNumberToObject(l, "runs", (double)lat->runs);
        cJSON_AddNumberToObject(l, "threads", lat->threads);
        cJSON *x = cJSON_AddObjectToObject(l, "onnxq");
        cJSON_AddNumberToObject(x, "float_ms", lat->f_ms);
        cJSON_AddNumberToObject(x, "quant_ms", lat->q_ms);
        cJSON_AddItemToObject(x, "speedup", json_num(lat->f_ms / lat->q_ms));
        if (lat->have_ort) {
            x = cJSON_AddObjectToObject(l, "ort");
            cJSON_AddNumberToObject(x, "float_ms", lat->ort_f_ms);
            cJSON_AddNumberToObject(x, "quant_ms", lat->ort_q_ms);
            cJSON_AddItemToObject(x, "speedup",
                                  json_num(lat->ort_f_ms / lat->ort_q_ms));
        }
    }
    if (per_tensor) {
        cJSON_AddNumberToObject(o, "float_tensors", (double)r->n_float_tensors);
        cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
        for (size_t i = 0; i < r->n_tensors; i++)
            cJSON_AddItemToArray(ts, json_tensor(&r->tensors[i], 0));
        cJSON *ws = cJSON_AddArrayToObject(o, "weights");
        for (size_t i = 0; i < r->n_weights; i++) {
            const onnxq_weight_compare *w = &r->weights[i];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", w->name);
            cJSON_AddStringToObject(e, "quant_name", w->quant_name);
            cJSON_AddStringToObject(e, "via", w->via);
            cJSON_AddStringToObject(e, "quant_dtype",
                                    onnxq_dtype_name(w->quant_dtype));
            cJSON_AddNumberToObject(e, "axis", w->axis);
            cJSON_AddNumberToObject(e, "scales", (double)w->n_scales);
            cJSON_AddNumberToObject(e, "numel", (double)w->numel);
            cJSON_AddItemToObject(e, "cosine", json_num(w->m.cosine));
            cJSON_AddItemToObject(e, "sqnr_db", json_num(w->m.sqnr_db));
            cJSON_AddItemToObject(e, "max_abs", json_num(w->m.max_abs));
            cJSON_AddItemToArray(ws, e);
        }
    }
    char *txt = cJSON_Print(o);
    if (txt)
        puts(txt);
    free(txt);
    cJSON_Delete(o);
}

static void print_text(const char *fpath, const char *qpath,
                       const char *source, const onnxq_compare_result *r,
                       const latency *lat, int per_tensor, size_t top)
{
    char a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64], sh[128];
    printf("float:    %s\nquantized: %s\nsamples:  %zu (%s)\n\n", fpath, qpath,
           r->samples, source);
    printf("%-24s %-14s %21s %21s %23s %15s\n", "output", "shape",
           "cosine mean/worst", "SQNR dB mean/worst", "max abs mean/worst",
           "argmax agree");
    for (size_t i = 0; i < r->n_outputs; i++) {
        const onnxq_tensor_compare *t = &r->outputs[i];
        shape_str(sh, sizeof sh, t);
        fmt_num(a, sizeof a, "%.6f", t->m.cosine.mean);
        fmt_num(b, sizeof b, "%.6f", t->m.cosine.worst);
        fmt_num(c, sizeof c, "%.2f", t->m.sqnr_db.mean);
        fmt_num(d, sizeof d, "%.2f", t->m.sqnr_db.worst);
        fmt_num(e, sizeof e, "%.4g", t->m.max_abs.mean);
        fmt_num(f, sizeof f, "%.4g", t->m.max_abs.worst);
        if (isnan(t->m.argmax.mean))
            snprintf(g, sizeof g, "-");
        else
            snprintf(g, sizeof g, "%.3f/%.3f", t->m.argmax.mean,
                     t->m.argmax.worst);
        printf("%-24s %-14s %10s/%-10s %10s/%-10s %11s/%-11s %15s\n", t->name,
               sh, a, b, c, d, e, f, g);
    }
    if (lat->have) {
        printf("\nlatency (median of %llu runs, ", lat->runs);
        if (lat->threads)
            printf("%d thread%s):\n", lat->threads, lat->threads == 1 ? "" : "s");
        else
            printf("default threads):\n");
        printf("  onnxq  float %9.3f ms   quantized %9.3f ms   %.2fx\n",
               lat->f_ms, lat->q_ms, lat->f_ms / lat->q_ms);
        if (lat->have_ort)
            printf("  ORT    float %9.3f ms   quantized %9.3f ms   %.2fx\n",
                   lat->ort_f_ms, lat->ort_q_ms, lat->ort_f_ms / lat->ort_q_ms);
    }
    if (!per_tensor)
        return;
    size_t n = r->n_tensors < top ? r->n_tensors : top;
    printf("\nper tensor: %zu matched of %zu float tensors; worst %zu by "
           "SQNR:\n", r->n_tensors, r->n_float_tensors, n);
    printf("  %-40s %-14s %-9s %19s %10s %10s\n", "tensor", "op", "match",
           "SQNR dB mean/worst", "cos mean", "max abs");
    for (size_t i = 0; i < n; i++) {
        const onnxq_tensor_compare *t = &r->tensors[i];
        fmt_num(c, sizeof c, "%.2f", t->m.sqnr_db.mean);
        fmt_num(d, sizeof d, "%.2f", t->m.sqnr_db.worst);
        fmt_num(a, sizeof a, "%.6f", t->m.cosine.mean);
        fmt_num(e, sizeof e, "%.4g", t->m.max_abs.worst);
        printf("  %-40s %-14s %-9s %9s/%-9s %10s %10s\n", t->name, t->op_type,
               onnxq_match_kind_name(t->how), c, d, a, e);
    }
    n = r->n_weights < top ? r->n_weights : top;
    printf("\nweights: %zu quantized; worst %zu by SQNR:\n", r->n_weights, n);
    printf("  %-40s %-16s %-6s %6s %10s %10s %10s\n", "weight", "via", "type",
           "scales", "SQNR dB", "cosine", "max abs");
    for (size_t i = 0; i < n; i++) {
        const onnxq_weight_compare *w = &r->weights[i];
        fmt_num(c, sizeof c, "%.2f", w->m.sqnr_db);
        fmt_num(a, sizeof a, "%.6f", w->m.cosine);
        fmt_num(e, sizeof e, "%.4g", w->m.max_abs);
        snprintf(h, sizeof h, "%zu", w->n_scales);
        printf("  %-40s %-16s %-6s %6s %10s %10s %10s\n", w->name, w->via,
               onnxq_dtype_name(w->quant_dtype), h, c, a, e);
    }
}

static int write_report(const char *path, const char *fpath, const char *qpath,
                        const char *source, const onnxq_compare_result *r,
                        const latency *lat)
{
    onnxq_report *rep;
    onnxq_error err;
    if (onnxq_report_create("onnxq compare", &rep, &err) != ONNXQ_OK)
        return cli_fail("compare", "%s", err.message);
    char text[PATH_MAX + 128];
    snprintf(text, sizeof text, "float model: %s", fpath);
    onnxq_report_paragraph(rep, text);
    snprintf(text, sizeof text, "quantized model: %s", qpath);
    onnxq_report_paragraph(rep, text);
    snprintf(text, sizeof text, "samples: %zu (%s)", r->samples, source);
    onnxq_report_paragraph(rep, text);
    if (lat->have) {
        static const char *const hd[] = {"runtime", "float ms", "quantized ms",
                                         "speed-up"};
        static const unsigned char num[] = {0, 1, 1, 1};
        char cells[2][4][32];
        const char *cp[8];
        size_t rows = lat->have_ort ? 2 : 1;
        double fm[2] = {lat->f_ms, lat->ort_f_ms},
               qm[2] = {lat->q_ms, lat->ort_q_ms};
        for (size_t i = 0; i < rows; i++) {
            snprintf(cells[i][0], 32, "%s", i ? "ONNX Runtime 1.30" : "onnxq");
            snprintf(cells[i][1], 32, "%.3f", fm[i]);
            snprintf(cells[i][2], 32, "%.3f", qm[i]);
            snprintf(cells[i][3], 32, "%.2fx", fm[i] / qm[i]);
            for (int c = 0; c < 4; c++)
                cp[i * 4 + c] = cells[i][c];
        }
        if (lat->threads)
            snprintf(text, sizeof text, "Latency (median of %llu runs, %d "
                     "thread%s)", lat->runs, lat->threads,
                     lat->threads == 1 ? "" : "s");
        else
            snprintf(text, sizeof text, "Latency (median of %llu runs, "
                     "default threads)", lat->runs);
        onnxq_report_heading(rep, text);
        onnxq_report_table t = {4, hd, rows, cp, num, SIZE_MAX};
        onnxq_report_add_table(rep, NULL, &t);
    }
    onnxq_report_add_compare(rep, r, 0);
    onnxq_status st = onnxq_report_write(rep, path, &err);
    onnxq_report_destroy(rep);
    if (st != ONNXQ_OK)
        return cli_fail("compare", "%s", err.message);
    return CLI_OK;
}

/* ---- the command -------------------------------------------------------------- */

static int parse_count(const char *s, unsigned long long max,
                       unsigned long long *out)
{
    return cli_parse_size(s, out) || *out > max ? -1 : 0;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, 0, OPT_INPUT},
        {"inputs", required_argument, 0, OPT_INPUTS},
        {"shape", required_argument, 0, OPT_SHAPE},
        CLI_SAMPLE_LONG_OPTIONS,
        {"per-tensor", no_argument, 0, OPT_PER_TENSOR},
        {"top", required_argument, 0, OPT_TOP},
        {"report", required_argument, 0, OPT_REPORT},
        {"json", no_argument, 0, OPT_JSON},
        {"runs", required_argument, 0, OPT_RUNS},
        {"warmup", required_argument, 0, OPT_WARMUP},
        {"threads", required_argument, 0, OPT_THREADS},
        {"ort", no_argument, 0, OPT_ORT},
        {"ort-runner", required_argument, 0, OPT_ORT_RUNNER},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_inputs in;
    cli_inputs_init(&in);
    cli_samples src;
    cli_samples_init(&src);
    int per_tensor = 0, json = 0, ort = 0, c;
    const char *report = NULL, *runner_opt = NULL;
    unsigned long long runs = 10, warmup = 2, top = 20, v;
    latency lat;
    memset(&lat, 0, sizeof lat);
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char *bad = NULL;
        int r = cli_samples_parse("compare", c, optarg, &src);
        if (r < 0) {
            cli_inputs_clear(&in);
            return CLI_USAGE;
        }
        if (r > 0)
            continue;
        switch (c) {
        case OPT_INPUT:
            if (cli_inputs_add_input(&in, optarg))
                bad = "--input wants NAME=FILE";
            break;
        case OPT_INPUTS: in.dir = optarg; break;
        case OPT_SHAPE:
            if (cli_inputs_add_shape(&in, optarg))
                bad = "--shape wants NAME=D0,D1,...";
            break;
        case OPT_PER_TENSOR: per_tensor = 1; break;
        case OPT_TOP:
            if (parse_count(optarg, 1000000000, &top))
                bad = "--top wants a count";
            break;
        case OPT_REPORT: report = optarg; break;
        case OPT_JSON: json = 1; break;
        case OPT_RUNS:
            if (parse_count(optarg, 1000000, &runs))
                bad = "--runs wants a count";
            break;
        case OPT_WARMUP:
            if (parse_count(optarg, 1000000, &warmup))
                bad = "--warmup wants a count";
            break;
        case OPT_THREADS:
            if (parse_count(optarg, 1024, &v))
                bad = "--threads wants a count";
            lat.threads = (int)v;
            break;
        case OPT_ORT: ort = 1; break;
        case OPT_ORT_RUNNER: runner_opt = optarg; break;
        case 'h': fputs(help, stdout); cli_inputs_clear(&in); return CLI_OK;
        case ':': bad = "an option needs a value"; break;
        default: bad = "unknown option"; break;
        }
        if (bad) {
            cli_inputs_clear(&in);
            return cli_usage_error("compare", "%s (at '%s')", bad,
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 2) {
        cli_inputs_clear(&in);
        return cli_usage_error("compare", "expected FLOAT.onnx QUANT.onnx");
    }
    if (src.n_sources && (in.dir || in.n_pairs || in.n_shapes)) {
        cli_inputs_clear(&in);
        return cli_usage_error("compare", "samples come from --calib/"
                               "--calib-wav/--calib-images or from "
                               "--inputs/--input/--shape, not both");
    }
    if (ort && runs == 0) {
        cli_inputs_clear(&in);
        return cli_usage_error("compare", "--ort needs --runs of at least 1");
    }
    const char *fpath = argv[optind], *qpath = argv[optind + 1];
    if (report && (onnxq_same_file(report, fpath) ||
                   onnxq_same_file(report, qpath))) {
        cli_inputs_clear(&in);
        return cli_fail("compare", "%s: refusing to write the report over an "
                        "input model", report);
    }
    int rc = CLI_ERROR;
    onnxq_model *fm = NULL, *qm = NULL;
    onnxq_comparer *cmp = NULL;
    onnxq_calib_data *data = NULL;
    onnxq_tensor *sample = NULL, *first = NULL;
    size_t n_in = 0;
    const Onnx__ValueInfoProto **vis = NULL;
    char *runner = NULL;
    char source[PATH_MAX + 64];
    onnxq_error err;
    if (!(fm = cli_load_model("compare", fpath)) ||
        !(qm = cli_load_model("compare", qpath)))
        goto done;
    onnxq_compare_options o;
    onnxq_compare_options_init(&o);
    o.per_tensor = per_tensor;
    o.n_threads = lat.threads;
    if (onnxq_compare_create(fm, qm, &o, &cmp, &err) != ONNXQ_OK) {
        cli_fail("compare", "%s", err.message);
        goto done;
    }
    onnxq_session *fs = onnxq_compare_float_session(cmp);
    n_in = onnxq_session_input_count(fs);
    if (src.n_sources) {
        if (cli_samples_open("compare", &src, NULL, 0, &data) != CLI_OK)
            goto done;
        size_t ns = onnxq_calib_data_count(data);
        snprintf(source, sizeof source, "%s in %s, %zu file%s%s",
                 cli_samples_describe(&src), src.o.dir,
                 onnxq_calib_data_n_files(data),
                 onnxq_calib_data_n_files(data) == 1 ? "" : "s",
                 !src.o.count            ? ""
                 : src.o.no_replacement ? ", drawn without replacement"
                                        : ", drawn with replacement");
        vis = calloc(n_in + 1, sizeof *vis);
        sample = calloc(n_in + 1, sizeof *sample);
        if (!vis || !sample) {
            cli_fail("compare", "out of memory");
            goto done;
        }
        for (size_t k = 0; k < n_in; k++)
            vis[k] = onnxq_session_input(fs, k);
        for (size_t i = 0; i < ns; i++) {
            if (onnxq_calib_data_get(data, i, vis, n_in, sample, &err) !=
                ONNXQ_OK) {
                cli_fail("compare", "%s", err.message);
                goto done;
            }
            if (onnxq_compare_add_sample(cmp, sample, n_in, &err) != ONNXQ_OK) {
                cli_fail("compare", "%s: %s", onnxq_calib_data_path(data, i),
                         err.message);
                goto done;
            }
            if (i == 0) { /* kept for timing */
                first = sample;
                sample = calloc(n_in + 1, sizeof *sample);
                if (!sample) {
                    cli_fail("compare", "out of memory");
                    goto done;
                }
            } else {
                for (size_t k = 0; k < n_in; k++) {
                    free(sample[k].data);
                    sample[k].data = NULL;
                }
            }
        }
    } else {
        char note[512];
        size_t got;
        if (cli_inputs_load(&in, fs, &first, &got, note, sizeof note, &err) !=
            ONNXQ_OK) {
            cli_fail("compare", "%s: %s", fpath, err.message);
            goto done;
        }
        if (note[0] && !json)
            fprintf(stderr, "onnxq compare: generated inputs with %s\n", note);
        if (in.dir)
            snprintf(source, sizeof source, "inputs from %s", in.dir);
        else if (in.n_pairs)
            snprintf(source, sizeof source, "inputs from --input files");
        else
            snprintf(source, sizeof source, "one generated sample");
        if (onnxq_compare_add_sample(cmp, first, n_in, &err) != ONNXQ_OK) {
            cli_fail("compare", "%s", err.message);
            goto done;
        }
    }
    if (runs) {
        lat.runs = runs;
        if (onnxq_compare_latency(cmp, first, n_in, runs, warmup, &lat.f_ms,
                                  &lat.q_ms, &err) != ONNXQ_OK) {
            cli_fail("compare", "%s", err.message);
            goto done;
        }
        lat.have = 1;
        if (ort) {
            if (!(runner = cli_ort_runner("compare", runner_opt)))
                goto done;
            const char *models[2] = {fpath, qpath};
            double ms[2];
            if (cli_ort_bench("compare", runner, models, 2, fs, first, n_in,
                              lat.runs, lat.threads, ms) != CLI_OK)
                goto done;
            lat.ort_f_ms = ms[0];
            lat.ort_q_ms = ms[1];
            lat.have_ort = 1;
            lat.threads = cli_ort_threads(lat.threads);
        }
    }
    const onnxq_compare_result *res = onnxq_compare_result_get(cmp);
    if (report && write_report(report, fpath, qpath, source, res, &lat))
        goto done;
    if (json)
        print_json(fpath, qpath, source, res, &lat, per_tensor);
    else
        print_text(fpath, qpath, source, res, &lat, per_tensor, (size_t)top);
    if (report && !json)
        printf("\nreport: %s\n", report);
    rc = CLI_OK;
done:
    if (sample)
        onnxq_tensors_free(sample, n_in);
    if (first)
        onnxq_tensors_free(first, n_in);
    free(vis);
    free(runner);
    onnxq_calib_data_destroy(data);
    onnxq_compare_destroy(cmp);
    onnxq_model_destroy(qm);
    onnxq_model_destroy(fm);
    cli_inputs_clear(&in);
    return rc;
}
