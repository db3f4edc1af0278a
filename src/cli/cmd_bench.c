/* cmd_bench.c — `onnxq bench MODEL`: time repeated runs of a model in onnxq's
 * runtime: median and minimum latency, peak memory of intermediate tensors,
 * and the op types that took the most time; with --ort the same model on the
 * same inputs in ONNX Runtime (ort_runner.c), to check claims such as "int8
 * is faster than float32 here" in the runtime that will deploy the model. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>

#include "cli.h"
#include "cli_inputs.h"
#include "onnxq/runtime.h"

static const char help[] =
    "usage: onnxq bench [OPTIONS] MODEL.onnx\n"
    "\n"
    "Time a model in onnxq's CPU runtime.  Prints the median and minimum\n"
    "latency over --runs runs (after --warmup runs), the peak memory of\n"
    "intermediate tensors, and the op types that took the most time.\n"
    "\n"
    "options:\n"
    "  --inputs DIR|FILE.npz  inputs as in `onnxq run` (default: generated\n"
    "                       deterministically from the model's input types)\n"
    "  --input NAME=FILE    one input from a .npy or .pb file (repeatable)\n"
    "  --shape NAME=D0,D1,... shape of a generated input (symbolic dims\n"
    "                       default to 1)\n"
    "  --threads N          threads (default: all cores)\n"
    "  --runs N             timed runs (default 20)\n"
    "  --warmup N           untimed runs first (default 3)\n"
    "  --json               print the figures as JSON\n"
    "  --ort                also time the model in ONNX Runtime 1.30 on the\n"
    "                       same inputs (written to a temporary folder as\n"
    "                       .npy) through node and tests/oracle/run.js, with\n"
    "                       the same threads and --runs, and print the\n"
    "                       onnxq/ORT latency ratio.  run.js is found through\n"
    "                       $ONNXQ_ORT_RUNNER, else the source tree it was\n"
    "                       built from; needs node and onnxruntime-node\n"
    "                       (scripts/deps.sh)\n"
    "  -h, --help           show this help\n";

enum { OPT_INPUT = 1, OPT_INPUTS, OPT_SHAPE, OPT_THREADS, OPT_RUNS,
       OPT_WARMUP, OPT_JSON, OPT_ORT };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, 0, OPT_INPUT},
        {"inputs", required_argument, 0, OPT_INPUTS},
        {"shape", required_argument, 0, OPT_SHAPE},
        {"threads", required_argument, 0, OPT_THREADS},
        {"runs", required_argument, 0, OPT_RUNS},
        {"warmup", required_argument, 0, OPT_WARMUP},
        {"json", no_argument, 0, OPT_JSON},
        {"ort", no_argument, 0, OPT_ORT},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_inputs in;
    cli_inputs_init(&in);
    int threads = 0, json = 0, ort = 0, c, rc = CLI_ERROR;
    unsigned long long runs = 20, warmup = 3, v;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char *bad = NULL;
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
        case OPT_THREADS:
            if (cli_parse_size(optarg, &v) || v > 1024)
                bad = "--threads wants a count";
            threads = (int)v;
            break;
        case OPT_RUNS:
            if (cli_parse_size(optarg, &runs) || runs < 1 || runs > 1000000)
                bad = "--runs wants a count of at least 1";
            break;
        case OPT_WARMUP:
            if (cli_parse_size(optarg, &warmup) || warmup > 1000000)
                bad = "--warmup wants a count";
            break;
        case OPT_JSON: json = 1; break;
        case OPT_ORT: ort = 1; break;
        case 'h': fputs(help, stdout); cli_inputs_clear(&in); return CLI_OK;
        case ':': bad = "an option needs a value"; break;
        default: bad = "unknown option"; break;
        }
        if (bad) {
            cli_inputs_clear(&in);
            return cli_usage_error("bench", "%s (at '%s')", bad,
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        cli_inputs_clear(&in);
        return cli_usage_error("bench", "expected one MODEL.onnx");
    }
    const char *path = argv[optind];
    /* found first: a missing runner should not cost the onnxq timing */
    char *runner = NULL;
    if (ort && !(runner = cli_ort_runner("bench", NULL))) {
        cli_inputs_clear(&in);
        return CLI_ERROR;
    }
    onnxq_model *m = cli_load_model("bench", path);
    onnxq_session *s = NULL;
    onnxq_tensor *inputs = NULL;
    size_t n_in = 0;
    double *times = NULL, ort_ms = 0;
    onnxq_error err;
    char note[512];
    if (!m)
        goto done;
    onnxq_session_options opts;
    onnxq_session_options_init(&opts);
    opts.n_threads = threads;
    opts.profile = 1;
    if (onnxq_session_create(m, &opts, &s, &err) != ONNXQ_OK) {
        cli_fail("bench", "%s", err.message);
        goto done;
    }
    if (cli_inputs_load(&in, s, &inputs, &n_in, note, sizeof note, &err) !=
        ONNXQ_OK) {
        cli_fail("bench", "%s: %s", path, err.message);
        goto done;
    }
    if (note[0])
        fprintf(stderr, "onnxq bench: generated inputs with %s\n", note);
    times = malloc(runs * sizeof *times);
    if (!times) {
        cli_fail("bench", "out of memory");
        goto done;
    }
    for (unsigned long long r = 0; r < warmup + runs; r++) {
        onnxq_tensor *outs = NULL;
        size_t n_out = 0;
        double t0 = now_ms();
        if (onnxq_session_run(s, inputs, n_in, &outs, &n_out, &err) !=
            ONNXQ_OK) {
            cli_fail("bench", "%s: %s", path, err.message);
            goto done;
        }
        double t1 = now_ms();
        onnxq_tensors_free(outs, n_out);
        if (r >= warmup)
            times[r - warmup] = t1 - t0;
    }
    qsort(times, runs, sizeof *times, cmp_double);
    double median = runs % 2 ? times[runs / 2]
                             : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    const onnxq_op_time *ops;
    size_t n_ops = onnxq_session_op_times(s, &ops);
    double total = 0;
    for (size_t i = 0; i < n_ops; i++)
        total += ops[i].total_ms;
    size_t peak = onnxq_session_peak_bytes(s);
    size_t planned = onnxq_session_planned_bytes(s);
    /* the whole process at its peak (model, weights, arena, oneDNN): the
     * figure to hold against another engine's process */
    struct rusage ru;
    double rss_mib = getrusage(RUSAGE_SELF, &ru) == 0
                         ? (double)ru.ru_maxrss / 1024.0 : 0;
    if (ort && cli_ort_bench("bench", runner, &path, 1, s, inputs, n_in, runs,
                             threads, &ort_ms) != CLI_OK)
        goto done;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", path);
        cJSON_AddNumberToObject(o, "runs", (double)runs);
        cJSON_AddNumberToObject(o, "threads", threads);
        cJSON_AddNumberToObject(o, "median_ms", median);
        cJSON_AddNumberToObject(o, "min_ms", times[0]);
        cJSON_AddNumberToObject(o, "peak_intermediate_bytes", (double)peak);
        cJSON_AddNumberToObject(o, "planned_arena_bytes", (double)planned);
        cJSON_AddNumberToObject(o, "peak_rss_mib", rss_mib);
        if (ort) {
            cJSON_AddNumberToObject(o, "ort_median_ms", ort_ms);
            cJSON_AddNumberToObject(o, "ort_threads", cli_ort_threads(threads));
            cJSON_AddNumberToObject(o, "onnxq_ort_ratio",
                                    ort_ms > 0 ? median / ort_ms : 0);
        }
        cJSON *arr = cJSON_AddArrayToObject(o, "ops");
        for (size_t i = 0; i < n_ops; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "op_type", ops[i].op_type);
            cJSON_AddNumberToObject(e, "ms_per_run",
                                    ops[i].total_ms / (double)(warmup + runs));
            cJSON_AddNumberToObject(e, "share",
                                    total > 0 ? ops[i].total_ms / total : 0);
            cJSON_AddItemToArray(arr, e);
        }
        char *txt = cJSON_Print(o);
        if (txt)
            puts(txt);
        free(txt);
        cJSON_Delete(o);
    } else {
        printf("model:        %s\n", path);
        if (threads)
            printf("runs:         %llu (after %llu warm-up), %d thread%s\n",
                   runs, warmup, threads, threads == 1 ? "" : "s");
        else
            printf("runs:         %llu (after %llu warm-up), default "
                   "threads\n", runs, warmup);
        printf("latency:      median %.3f ms, min %.3f ms\n", median, times[0]);
        if (ort) {
            int t = cli_ort_threads(threads);
            printf("ORT latency:  median %.3f ms (ONNX Runtime through %s, "
                   "%d thread%s, same inputs)\n", ort_ms, runner, t,
                   t == 1 ? "" : "s");
            if (ort_ms > 0)
                printf("onnxq/ORT:    %.2fx (median latency ratio; below 1: "
                       "onnxq is faster)\n", median / ort_ms);
        }
        printf("peak memory:  %.2f MiB of intermediate tensors\n",
               (double)peak / (1024.0 * 1024));
        printf("arena:        %.2f MiB planned (tensors and kernel scratch)\n",
               (double)planned / (1024.0 * 1024));
        printf("peak RSS:     %.1f MiB (whole process)\n", rss_mib);
        printf("top ops:\n");
        for (size_t i = 0; i < n_ops && i < 10; i++)
            printf("  %-24s %8.3f ms/run  %5.1f%%\n", ops[i].op_type,
                   ops[i].total_ms / (double)(warmup + runs),
                   total > 0 ? 100 * ops[i].total_ms / total : 0);
    }
    rc = CLI_OK;
done:
    free(runner);
    free(times);
    onnxq_tensors_free(inputs, n_in);
    onnxq_session_destroy(s);
    onnxq_model_destroy(m);
    cli_inputs_clear(&in);
    return rc;
}
