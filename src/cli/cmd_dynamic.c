/* cmd_dynamic.c — `onnxq dynamic IN [OUT]`: dynamic int8 quantization
 * (onnxq/dynamic.h), a report per op type, and a check that runs the result
 * next to the float model with onnxq (cosine, SQNR, latency). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_inputs.h"
#include "onnxq/compare.h"
#include "onnxq/dynamic.h"
#include "onnxq/runtime.h"

static const char help[] =
    "usage: onnxq dynamic [OPTIONS] IN.onnx [OUT.onnx]\n"
    "\n"
    "Dynamic int8 quantization as onnxruntime's quantize_dynamic computes it:\n"
    "constant weights become 8-bit initializers, activations are quantized\n"
    "at run time.  A node the target runtime could not run quantized stays\n"
    "float, and the report says why.  OUT defaults to IN.int8.onnx\n"
    "(m.onnx -> m.int8.onnx).\n"
    "\n"
    "options:\n"
    "  --weight-type qint8|quint8  weight type (default qint8: symmetric)\n"
    "  --per-channel           one scale per output channel\n"
    "  --reduce-range          7-bit weights (CPUs without VNNI)\n"
    "  --op-types LIST         ops to quantize among MatMul, Gemm, Conv,\n"
    "                          Gather, LSTM, GRU, Attention (default\n"
    "                          MatMul,Gemm,LSTM,Attention)\n"
    "  --nodes-to-quantize LIST  only these nodes: names, shell patterns or\n"
    "                          op:TYPE, comma-separated\n"
    "  --nodes-to-exclude LIST   never these nodes (same forms)\n"
    "  --matmul-const-b-only / --no-matmul-const-b-only\n"
    "                          quantize MatMul only when B is a constant\n"
    "                          (default on)\n"
    "  --target ort-1.30|ort-1.23|onnxq  runtime that must run the result\n"
    "                          (default ort-1.30; onnxq must run it always)\n"
    "  --extra KEY=VALUE       onnxruntime extra_options for dynamic mode:\n"
    "                          WeightSymmetric, EnableSubgraph (default\n"
    "                          True here), MatMulConstBOnly (repeatable)\n"
    "  --check / --no-check    run the result and the float model with\n"
    "                          onnxq on generated inputs and print output\n"
    "                          cosine, SQNR and latency (default on)\n"
    "  --input NAME=FILE, --inputs DIR, --shape NAME=D0,D1,...\n"
    "                          inputs for the check (as in 'onnxq run')\n"
    "  --threads N             threads for the check (default: all cores)\n"
    CLI_SAVE_HELP
    "  -h, --help              show this help\n";

enum {
    OPT_WEIGHT_TYPE = 1,
    OPT_PER_CHANNEL,
    OPT_REDUCE_RANGE,
    OPT_OP_TYPES,
    OPT_INCLUDE,
    OPT_EXCLUDE,
    OPT_CONST_B,
    OPT_NO_CONST_B,
    OPT_TARGET,
    OPT_EXTRA,
    OPT_CHECK,
    OPT_NO_CHECK,
    OPT_INPUT,
    OPT_INPUTS,
    OPT_SHAPE,
    OPT_THREADS
};

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* "m.onnx" -> "m.int8.onnx"; anything else gets ".int8.onnx" appended. */
static char *default_out(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(n + 16);
    if (!out)
        return NULL;
    if (n > 5 && strcmp(in + n - 5, ".onnx") == 0)
        snprintf(out, n + 16, "%.*s.int8.onnx", (int)(n - 5), in);
    else
        snprintf(out, n + 16, "%s.int8.onnx", in);
    return out;
}

static int cpu_has_vnni(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char line[8192];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) {
            found = strstr(line, " avx512_vnni") || strstr(line, " avx_vnni");
            break;
        }
    fclose(f);
    return found;
}

static void print_report(const onnxq_dynamic_report *r)
{
    for (size_t k = 0; k < r->n_ops; k++)
        printf("  %-10s quantized %zu, left float %zu\n", r->ops[k].op_type,
               r->ops[k].quantized, r->ops[k].skipped);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const onnxq_dynamic_node *n = &r->nodes[i];
        printf("    %s %s/%s (%s): %s\n", n->quantized ? "+" : "-", n->graph,
               n->name, n->op_type, n->reason);
    }
    printf("  opset %lld -> %lld; %zu weights quantized, %zu float constants "
           "no longer used removed\n", (long long)r->opset_before,
           (long long)r->opset_after, r->weights_quantized,
           r->floats_removed);
}

/* The check could not start: says why.  A model onnxq has no kernel for
 * (the float input, or an op written for an ONNX Runtime target, such as
 * QAttention before onnxq had one) skips the check and the result is still
 * written for that target; with target onnxq both must run (an error, and
 * nothing is written).  Returns CLI_OK to go on. */
static int check_not_run(onnxq_model *fm, onnxq_quant_target target,
                         int threads, const onnxq_error *cerr)
{
    if (cerr->status != ONNXQ_ERR_UNSUPPORTED)
        return cli_fail("dynamic", "check: the quantized model does not run "
                        "in onnxq: %s", cerr->message);
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.n_threads = threads;
    onnxq_session *fs = NULL;
    onnxq_error ferr;
    int float_runs = onnxq_session_create(fm, &so, &fs, &ferr) == ONNXQ_OK;
    onnxq_session_destroy(fs);
    if (target == ONNXQ_TARGET_ONNXQ)
        return cli_fail("dynamic", "check: the %s model does not run in "
                        "onnxq (--target onnxq): %s",
                        float_runs ? "quantized" : "float", cerr->message);
    printf("  check: NOT RUN: onnxq cannot run the %s model: %s\n",
           float_runs ? "quantized" : "float", cerr->message);
    fprintf(stderr, "onnxq dynamic: warning: no accuracy check (onnxq cannot "
            "run the %s model); the result is written unchecked for %s\n",
            float_runs ? "quantized" : "float",
            onnxq_quant_target_name(target));
    return CLI_OK;
}

/* Runs both models with onnxq on one sample; prints metrics and latency. */
static int run_check(const char *in_path, onnxq_model *qm,
                     const cli_inputs *inputs, int threads,
                     const onnxq_dynamic_report *r,
                     onnxq_quant_target target)
{
    onnxq_model *fm = cli_load_model("dynamic", in_path);
    if (!fm)
        return CLI_ERROR;
    onnxq_compare_options co;
    onnxq_compare_options_init(&co);
    co.n_threads = threads;
    onnxq_comparer *c = NULL;
    onnxq_error err;
    int rc = CLI_ERROR;
    onnxq_tensor *x = NULL;
    size_t nx = 0;
    char note[512] = "";
    if (onnxq_compare_create(fm, qm, &co, &c, &err) != ONNXQ_OK) {
        c = NULL;
        rc = check_not_run(fm, target, threads, &err);
        goto done;
    }
    if (cli_inputs_load(inputs, onnxq_compare_float_session(c), &x, &nx,
                        note, sizeof note, &err) != ONNXQ_OK ||
        onnxq_compare_add_sample(c, x, nx, &err) != ONNXQ_OK) {
        cli_fail("dynamic", "check: %s", err.message);
        goto done;
    }
    const onnxq_compare_result *res = onnxq_compare_result_get(c);
    printf("  check (onnxq, 1 %s sample%s%s):\n",
           inputs->dir || inputs->n_pairs ? "given" : "generated",
           *note ? "; " : "", note);
    for (size_t i = 0; i < res->n_outputs; i++) {
        const onnxq_tensor_compare *o = &res->outputs[i];
        printf("    output %-20s cosine %.6f  SQNR %.2f dB  max abs %.4g\n",
               o->name, o->m.cosine.mean, o->m.sqnr_db.mean,
               o->m.max_abs.mean);
        /* NaN metrics mean the float model itself gave non-finite values
         * (e.g. a 1-frame generated input through a std pooling) */
        if (isnan(o->m.cosine.mean))
            printf("    (no comparison: an output is not finite on this "
                   "sample; give a real one with --input/--inputs)\n");
    }
    double f_ms = 0, q_ms = 0;
    if (onnxq_compare_latency(c, x, nx, 5, 1, &f_ms, &q_ms, &err) ==
        ONNXQ_OK) {
        printf("    onnxq latency: float32 %.3f ms, quantized %.3f ms "
               "(median of 5)\n", f_ms, q_ms);
        size_t quantized = 0;
        for (size_t k = 0; k < r->n_ops; k++)
            quantized += r->ops[k].quantized;
        if (quantized && q_ms > f_ms)
            fprintf(stderr, "onnxq dynamic: warning: the quantized model ran "
                    "slower than float32 on this CPU (%.3f vs %.3f ms)\n",
                    q_ms, f_ms);
    }
    rc = CLI_OK;
done:
    onnxq_tensors_free(x, nx);
    onnxq_compare_destroy(c);
    onnxq_model_destroy(fm);
    return rc;
}

int cmd_dynamic(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"weight-type", required_argument, 0, OPT_WEIGHT_TYPE},
        {"per-channel", no_argument, 0, OPT_PER_CHANNEL},
        {"reduce-range", no_argument, 0, OPT_REDUCE_RANGE},
        {"op-types", required_argument, 0, OPT_OP_TYPES},
        {"nodes-to-quantize", required_argument, 0, OPT_INCLUDE},
        {"nodes-to-exclude", required_argument, 0, OPT_EXCLUDE},
        {"matmul-const-b-only", no_argument, 0, OPT_CONST_B},
        {"no-matmul-const-b-only", no_argument, 0, OPT_NO_CONST_B},
        {"target", required_argument, 0, OPT_TARGET},
        {"extra", required_argument, 0, OPT_EXTRA},
        {"check", no_argument, 0, OPT_CHECK},
        {"no-check", no_argument, 0, OPT_NO_CHECK},
        {"input", required_argument, 0, OPT_INPUT},
        {"inputs", required_argument, 0, OPT_INPUTS},
        {"shape", required_argument, 0, OPT_SHAPE},
        {"threads", required_argument, 0, OPT_THREADS},
        CLI_SAVE_LONG_OPTIONS,
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    onnxq_dynamic_options o;
    onnxq_dynamic_options_init(&o);
    onnxq_save_options so;
    onnxq_save_options_init(&so);
    cli_inputs inputs;
    cli_inputs_init(&inputs);
    const char **extra = calloc((size_t)argc + 1, sizeof *extra);
    int check = 1, threads = 0, c, rc = CLI_ERROR, r;
    char *out_alloc = NULL;
    onnxq_model *m = NULL;
    onnxq_dynamic_report rep;
    memset(&rep, 0, sizeof rep);
    if (!extra)
        return cli_fail("dynamic", "out of memory");
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(help, stdout);
            rc = CLI_OK;
            goto done;
        case OPT_WEIGHT_TYPE:
            if (strcmp(optarg, "qint8") == 0 || strcmp(optarg, "QInt8") == 0)
                o.weight_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
            else if (strcmp(optarg, "quint8") == 0 ||
                     strcmp(optarg, "QUInt8") == 0)
                o.weight_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
            else {
                rc = cli_usage_error("dynamic", "--weight-type: '%s' is not "
                                     "qint8 or quint8", optarg);
                goto done;
            }
            break;
        case OPT_PER_CHANNEL:
            o.per_channel = 1;
            break;
        case OPT_REDUCE_RANGE:
            o.reduce_range = 1;
            break;
        case OPT_OP_TYPES:
            o.op_types = optarg;
            break;
        case OPT_INCLUDE:
            o.nodes_to_quantize = optarg;
            break;
        case OPT_EXCLUDE:
            o.nodes_to_exclude = optarg;
            break;
        case OPT_CONST_B:
            o.matmul_const_b_only = 1;
            break;
        case OPT_NO_CONST_B:
            o.matmul_const_b_only = 0;
            break;
        case OPT_TARGET:
            r = onnxq_quant_target_parse(optarg);
            if (r < 0) {
                rc = cli_usage_error("dynamic", "--target: '%s' is not "
                                     "ort-1.30, ort-1.23 or onnxq", optarg);
                goto done;
            }
            o.target = (onnxq_quant_target)r;
            break;
        case OPT_EXTRA:
            extra[o.n_extra++] = optarg;
            break;
        case OPT_CHECK:
            check = 1;
            break;
        case OPT_NO_CHECK:
            check = 0;
            break;
        case OPT_INPUT:
            if (cli_inputs_add_input(&inputs, optarg)) {
                rc = cli_usage_error("dynamic", "--input: expected NAME=FILE, "
                                     "got '%s'", optarg);
                goto done;
            }
            break;
        case OPT_INPUTS:
            inputs.dir = optarg;
            break;
        case OPT_SHAPE:
            if (cli_inputs_add_shape(&inputs, optarg)) {
                rc = cli_usage_error("dynamic", "--shape: expected "
                                     "NAME=D0,D1,..., got '%s'", optarg);
                goto done;
            }
            break;
        case OPT_THREADS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1024) {
                rc = cli_usage_error("dynamic", "--threads: bad count '%s'",
                                     optarg);
                goto done;
            }
            threads = (int)v;
            break;
        }
        case '?':
            rc = cli_usage_error("dynamic", "unknown or incomplete option "
                                 "'%s'", argv[optind - 1]);
            goto done;
        default:
            r = cli_save_parse("dynamic", c, optarg, &so);
            if (r < 0) {
                rc = CLI_USAGE;
                goto done;
            }
            break;
        }
    }
    o.extra = extra;
    int npos = argc - optind;
    if (npos < 1 || npos > 2) {
        rc = cli_usage_error("dynamic", npos < 1 ? "missing input model"
                                                 : "too many arguments");
        goto done;
    }
    const char *in = argv[optind];
    const char *out = npos == 2 ? argv[optind + 1] : NULL;
    if (!out)
        out = out_alloc = default_out(in);
    if (!out) {
        rc = cli_fail("dynamic", "out of memory");
        goto done;
    }
    if (strcmp(in, out) == 0 || onnxq_same_file(in, out)) {
        rc = cli_fail("dynamic", "%s: refusing to write over the input "
                      "model; name another output", out);
        goto done;
    }
    m = cli_load_model("dynamic", in);
    if (!m)
        goto done;
    onnxq_error err;
    if (onnxq_quantize_dynamic(m, &o, &rep, &err) != ONNXQ_OK) {
        rc = cli_fail("dynamic", "%s: %s", in, err.message);
        goto done;
    }
    printf("onnxq dynamic: %s -> %s (target %s, %s weights%s%s)\n", in, out,
           onnxq_quant_target_name(o.target),
           o.weight_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? "int8"
                                                                : "uint8",
           o.per_channel ? ", per channel" : "",
           o.reduce_range ? ", reduce range" : "");
    print_report(&rep);
    if (check && run_check(in, m, &inputs, threads, &rep, o.target) !=
                     CLI_OK)
        goto done; /* nothing written: onnxq could not run the result */
    if (cli_save_model("dynamic", m, out, &so, 0) != CLI_OK)
        goto done;
    long long before = file_size(in), after = file_size(out);
    printf("  size: %.3f MiB -> %.3f MiB\n", (double)before / 1048576.0,
           (double)after / 1048576.0);
    int vnni = cpu_has_vnni();
    size_t conv_q = rep.conv_integer;
    if (vnni == 0 && !o.reduce_range)
        fprintf(stderr, "onnxq dynamic: warning: this CPU has no VNNI: int8 "
                "products may saturate and run slower than float32; consider "
                "--reduce-range\n");
    if (conv_q && o.target != ONNXQ_TARGET_ONNXQ)
        fprintf(stderr, "onnxq dynamic: warning: %zu Conv nodes became "
                "ConvInteger, which ONNX Runtime's CPU provider usually runs "
                "slower than its float32 Conv\n", conv_q);
    rc = CLI_OK;
done:
    onnxq_dynamic_report_clear(&rep);
    onnxq_model_destroy(m);
    cli_inputs_clear(&inputs);
    free(out_alloc);
    free(extra);
    return rc;
}
