/* cmd_fp16.c — `onnxq fp16 IN [OUT]`: convert a float32 model to float16
 * (or bfloat16) with onnxq_convert_fp16 and print what changed. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_inputs.h"
#include "onnxq/fp16.h"

static const char help[] =
    "usage: onnxq fp16 [OPTIONS] IN.onnx [OUT.onnx]\n"
    "\n"
    "Convert a float32 model to float16 (default OUT: IN-fp16.onnx, i.e.\n"
    "model.onnx -> model-fp16.onnx).  Which inputs and outputs of each op may\n"
    "become float16 follows the op's type constraints; blocked ops stay\n"
    "float32 between Casts; the result is sorted, re-typed and checked.\n"
    "A model that already has float16/bfloat16 tensors is refused (exit 1).\n"
    "\n"
    "options:\n"
    "  --keep-io-types          float inputs/outputs stay float32 (Casts at\n"
    "                           the boundary)\n"
    "  --op-block-list A,B      op types kept float32, added to the default\n"
    "                           list (ML ops, NonMaxSuppression, TopK,\n"
    "                           RoiAlign, Resize, Range, CumSum, Min, Max,\n"
    "                           Upsample, quantization ops)\n"
    "  --no-default-block-list  block only what --op-block-list names\n"
    "  --node-block-list N1,N2  nodes (by name) kept float32; every name\n"
    "                           must match a node\n"
    "  --aggressive             convert normalizations (Layer/Instance/Group\n"
    "                           Normalization ...), Softmax, LogSoftmax,\n"
    "                           ReduceMean/Sum/SumSquare/L2/LogSumExp ...,\n"
    "                           Pow and Exp too, as onnxconverter-common does;\n"
    "                           by default they stay float32 (their float32\n"
    "                           sums and exponentials can pass 65504)\n"
    "  --auto                   check on sample inputs: run the float32 model,\n"
    "                           keep float32 every node that makes or reads a\n"
    "                           value beyond 65504, then convert, run, and\n"
    "                           while an output misses --tolerance find the\n"
    "                           node to keep by bisection (progress on stderr)\n"
    "  --tolerance C            --auto: lowest cosine similarity allowed\n"
    "                           between each output and the float32 one, in\n"
    "                           (0, 1] (default 0.999); an output that is not\n"
    "                           finite where float32's is always fails\n"
    "  --input NAME=FILE        --auto: an input from .npy or .pb (repeatable)\n"
    "  --inputs DIR|FILE.npz    --auto: inputs as DIR/<name>.npy or an .npz;\n"
    "                           inputs given nowhere are generated\n"
    "                           deterministically, as onnxq run does\n"
    "  --shape NAME=D0,D1,...   --auto: shape of a generated input\n"
    "  --threads N              --auto: threads of the runs\n"
    "  --bf16                   bfloat16 instead of float16\n"
    "  --min-positive-val X     nonzero constants smaller in magnitude become\n"
    "                           +-X (default: float16's smallest subnormal,\n"
    "                           2^-24, so none becomes zero)\n"
    "  --max-finite-val X       larger ones become +-X (default 65504, so\n"
    "                           none becomes inf); a node with such weights\n"
    "                           stays float32 unless --saturate\n"
    "  --saturate               convert nodes whose weights pass\n"
    "                           --max-finite-val too, saturating them\n"
    CLI_SAVE_HELP
    "  -h, --help               show this help\n";

enum {
    OPT_KEEP_IO = 1,
    OPT_OP_BLOCK,
    OPT_NODE_BLOCK,
    OPT_NO_DEFAULT,
    OPT_AGGRESSIVE,
    OPT_AUTO,
    OPT_TOLERANCE,
    OPT_INPUT,
    OPT_INPUTS,
    OPT_SHAPE,
    OPT_THREADS,
    OPT_BF16,
    OPT_MIN_POS,
    OPT_MAX_FIN,
    OPT_SATURATE
};

/* Splits a comma-separated list into *items (appended; strings point into
 * the malloc'd copy kept in *bufs).  Returns -1 on an empty item. */
static int split_list(const char *arg, char ***items, size_t *n, char ***bufs,
                      size_t *nbufs)
{
    char *copy = strdup(arg);
    char **b = realloc(*bufs, (*nbufs + 1) * sizeof *b);
    if (!copy || !b) {
        free(copy);
        if (b)
            *bufs = b;
        return -1;
    }
    *bufs = b;
    b[(*nbufs)++] = copy;
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p)
            return -1;
        char **it = realloc(*items, (*n + 1) * sizeof *it);
        if (!it)
            return -1;
        *items = it;
        it[(*n)++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int parse_positive(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

static void progress_line(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "onnxq fp16 --auto: %s\n", line);
}

int cmd_fp16(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keep-io-types", no_argument, 0, OPT_KEEP_IO},
        {"op-block-list", required_argument, 0, OPT_OP_BLOCK},
        {"node-block-list", required_argument, 0, OPT_NODE_BLOCK},
        {"no-default-block-list", no_argument, 0, OPT_NO_DEFAULT},
        {"aggressive", no_argument, 0, OPT_AGGRESSIVE},
        {"auto", no_argument, 0, OPT_AUTO},
        {"tolerance", required_argument, 0, OPT_TOLERANCE},
        {"input", required_argument, 0, OPT_INPUT},
        {"inputs", required_argument, 0, OPT_INPUTS},
        {"shape", required_argument, 0, OPT_SHAPE},
        {"threads", required_argument, 0, OPT_THREADS},
        {"bf16", no_argument, 0, OPT_BF16},
        {"min-positive-val", required_argument, 0, OPT_MIN_POS},
        {"max-finite-val", required_argument, 0, OPT_MAX_FIN},
        {"saturate", no_argument, 0, OPT_SATURATE},
        CLI_SAVE_LONG_OPTIONS,
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    onnxq_fp16_options fo;
    onnxq_fp16_options_init(&fo);
    onnxq_save_options so;
    onnxq_save_options_init(&so);
    char **ops = NULL, **nodes = NULL, **bufs = NULL;
    size_t n_ops = 0, n_nodes = 0, n_bufs = 0;
    char *out_alloc = NULL;
    onnxq_model *m = NULL;
    onnxq_fp16_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_fp16_auto_options ao;
    onnxq_fp16_auto_options_init(&ao);
    ao.progress = progress_line;
    onnxq_fp16_auto_report arep;
    memset(&arep, 0, sizeof arep);
    cli_inputs samples;
    cli_inputs_init(&samples);
    onnxq_session *sess = NULL;
    onnxq_tensor *inputs = NULL;
    size_t n_in = 0;
    int use_auto = 0;
    const char *auto_only = NULL; /* an option that needs --auto */
    int c, rc = CLI_USAGE, r;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if ((r = cli_save_parse("fp16", c, optarg, &so)) != 0) {
            if (r < 0)
                goto done;
            continue;
        }
        switch (c) {
        case OPT_KEEP_IO: fo.keep_io_types = 1; break;
        case OPT_NO_DEFAULT: fo.no_default_block_list = 1; break;
        case OPT_AGGRESSIVE: fo.aggressive = 1; break;
        case OPT_AUTO: use_auto = 1; break;
        case OPT_TOLERANCE: {
            char *end;
            ao.tolerance = strtod(optarg, &end);
            if (end == optarg || *end || !(ao.tolerance > 0) ||
                ao.tolerance > 1) {
                cli_usage_error("fp16", "--tolerance: '%s' is not a cosine in "
                                "(0, 1]", optarg);
                goto done;
            }
            auto_only = "--tolerance";
            break;
        }
        case OPT_INPUT:
        case OPT_SHAPE:
            if (c == OPT_INPUT ? cli_inputs_add_input(&samples, optarg)
                               : cli_inputs_add_shape(&samples, optarg)) {
                cli_usage_error("fp16", "%s wants NAME=%s, got '%s'",
                                argv[optind - 1],
                                c == OPT_INPUT ? "FILE" : "D0,D1,...", optarg);
                goto done;
            }
            auto_only = argv[optind - 1];
            break;
        case OPT_INPUTS: samples.dir = optarg; auto_only = "--inputs"; break;
        case OPT_THREADS: {
            unsigned long long v;
            if (cli_parse_size(optarg, &v) || v > 1024) {
                cli_usage_error("fp16", "--threads: bad count '%s'", optarg);
                goto done;
            }
            ao.n_threads = (int)v;
            auto_only = "--threads";
            break;
        }
        case OPT_BF16: fo.bf16 = 1; break;
        case OPT_SATURATE: fo.saturate = 1; break;
        case OPT_OP_BLOCK:
        case OPT_NODE_BLOCK:
            if (split_list(optarg, c == OPT_OP_BLOCK ? &ops : &nodes,
                           c == OPT_OP_BLOCK ? &n_ops : &n_nodes, &bufs,
                           &n_bufs)) {
                cli_usage_error("fp16", "%s: '%s' is not a comma-separated "
                                "list of names", argv[optind - 1], optarg);
                goto done;
            }
            break;
        case OPT_MIN_POS:
            if (parse_positive(optarg, &fo.min_positive_val)) {
                cli_usage_error("fp16", "--min-positive-val: '%s' is not a "
                                "positive number", optarg);
                goto done;
            }
            break;
        case OPT_MAX_FIN:
            if (parse_positive(optarg, &fo.max_finite_val)) {
                cli_usage_error("fp16", "--max-finite-val: '%s' is not a "
                                "positive number", optarg);
                goto done;
            }
            break;
        case 'h': fputs(help, stdout); rc = CLI_OK; goto done;
        case ':':
            cli_usage_error("fp16", "%s needs a value", argv[optind - 1]);
            goto done;
        default:
            cli_usage_error("fp16", "unknown option '%s'", argv[optind - 1]);
            goto done;
        }
    }
    if (argc - optind < 1 || argc - optind > 2) {
        cli_usage_error("fp16", "expected IN.onnx [OUT.onnx]");
        goto done;
    }
    if (auto_only && !use_auto) {
        cli_usage_error("fp16", "%s works only with --auto", auto_only);
        goto done;
    }
    double lo = fo.min_positive_val >= 0 ? fo.min_positive_val : 0;
    double hi = fo.max_finite_val > 0 ? fo.max_finite_val
                : fo.bf16 ? 3.3895313892515355e38 : 65504.0;
    if (!(lo < hi)) {
        cli_usage_error("fp16", "--min-positive-val %g must be below "
                        "--max-finite-val %g", lo, hi);
        goto done;
    }
    if (!fo.bf16 && fo.max_finite_val > 65504.0) {
        cli_usage_error("fp16", "--max-finite-val %g: float16's largest "
                        "finite value is 65504", fo.max_finite_val);
        goto done;
    }
    rc = CLI_ERROR;
    const char *in = argv[optind];
    const char *out = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!out) {
        size_t len = strlen(in);
        const char *ext = ".onnx";
        size_t el = strlen(ext);
        if (len > el && strcmp(in + len - el, ext) == 0)
            len -= el;
        out_alloc = malloc(len + 11);
        if (!out_alloc) {
            cli_fail("fp16", "out of memory");
            goto done;
        }
        memcpy(out_alloc, in, len);
        strcpy(out_alloc + len, "-fp16.onnx");
        out = out_alloc;
    }
    if (strcmp(in, out) == 0 || onnxq_same_file(in, out)) {
        cli_fail("fp16", "%s: refusing to write over the input model; name "
                 "another output", out);
        goto done;
    }
    m = cli_load_model("fp16", in);
    if (!m)
        goto done;
    fo.op_block_list = (const char *const *)ops;
    fo.n_op_block_list = n_ops;
    fo.node_block_list = (const char *const *)nodes;
    fo.n_node_block_list = n_nodes;
    onnxq_error err;
    if (use_auto) {
        /* sample inputs for the float32 model, as onnxq run reads them */
        char note[512];
        onnxq_session_options sopt;
        onnxq_session_options_init(&sopt);
        sopt.n_threads = ao.n_threads;
        if (onnxq_session_create(m, &sopt, &sess, &err) != ONNXQ_OK ||
            cli_inputs_load(&samples, sess, &inputs, &n_in, note, sizeof note,
                            &err) != ONNXQ_OK) {
            cli_fail("fp16", "%s: %s", in, err.message);
            goto done;
        }
        onnxq_session_destroy(sess);
        sess = NULL;
        if (note[0])
            fprintf(stderr, "onnxq fp16: generated inputs with %s\n", note);
        if (onnxq_convert_fp16_auto(m, &fo, &ao, inputs, n_in, &rep, &arep,
                                    &err) != ONNXQ_OK) {
            cli_fail("fp16", "%s: %s", in, err.message);
            goto done;
        }
    } else if (onnxq_convert_fp16(m, &fo, &rep, &err) != ONNXQ_OK) {
        cli_fail("fp16", "%s: %s", in, err.message);
        goto done;
    }
    const char *tname = fo.bf16 ? "bfloat16" : "float16";
    if (rep.already_converted) {
        cli_fail("fp16", "%s: already has float16/bfloat16 tensors (converted "
                 "before?); nothing written", in);
        goto done;
    }
    if (cli_save_model("fp16", m, out, &so, 0) != CLI_OK)
        goto done;
    rc = CLI_OK;
    uint64_t before = file_size(in), after = file_size(out);
    printf("%s -> %s (%s)\n", in, out, tname);
    printf("nodes: %zu converted, %zu blocked (op list %zu, node list %zu, "
           "numerics %zu, no %s form %zu, unknown type %zu, no ORT kernel "
           "%zu, weights out of range %zu, auto range %zu, auto tolerance "
           "%zu), %zu total\n",
           rep.nodes_converted, rep.nodes_blocked,
           rep.blocked[ONNXQ_FP16_BLOCK_OP_LIST],
           rep.blocked[ONNXQ_FP16_BLOCK_NODE_LIST],
           rep.blocked[ONNXQ_FP16_BLOCK_NORM], tname,
           rep.blocked[ONNXQ_FP16_BLOCK_NO_FP16],
           rep.blocked[ONNXQ_FP16_BLOCK_UNKNOWN_TYPE],
           rep.blocked[ONNXQ_FP16_BLOCK_RUNTIME],
           rep.blocked[ONNXQ_FP16_BLOCK_RANGE],
           rep.blocked[ONNXQ_FP16_BLOCK_AUTO_RANGE],
           rep.blocked[ONNXQ_FP16_BLOCK_AUTO_TOLERANCE], rep.nodes);
    if (!fo.aggressive)
        printf("numerics: %zu normalization/reduction/Softmax/Pow/Exp nodes "
               "kept float32 (--aggressive converts them)\n",
               rep.blocked[ONNXQ_FP16_BLOCK_NORM]);
    if (use_auto) {
        printf("auto: %zu runs over %zu convertible nodes; kept float32: %zu "
               "for range, %zu for tolerance; worst output cosine %.7f -> "
               "%.7f (tolerance %.7g)\n", arep.runs, arep.candidates,
               arep.n_range, arep.n_tolerance, arep.cosine_before,
               arep.cosine_after, ao.tolerance);
        for (size_t i = 0; i < arep.n_kept; i++) {
            const onnxq_fp16_auto_kept *k = &arep.kept[i];
            if (k->reason == ONNXQ_FP16_BLOCK_AUTO_RANGE)
                printf("  auto kept: %s: value '%s' reaches %.6g\n", k->what,
                       k->value ? k->value : "?", k->max_abs);
            else
                printf("  auto kept: %s: converting it gave cosine %.7f\n",
                       k->what, k->cosine);
        }
        for (size_t i = 0; i < arep.n_outputs; i++)
            printf("  output %s: cosine %.7f\n", arep.output_names[i],
                   arep.output_cosine[i]);
    }
    for (size_t i = 0; i < rep.n_blocked_nodes && i < 20; i++)
        printf("  blocked: %s\n", rep.blocked_nodes[i]);
    if (rep.n_blocked_nodes > 20)
        printf("  blocked: ... %zu more\n", rep.n_blocked_nodes - 20);
    printf("casts: %zu inserted, %zu folded, %zu retargeted to %s\n",
           rep.casts_inserted, rep.casts_folded, rep.casts_retyped, tname);
    printf("constants: %zu converted (%.2f MiB -> %.2f MiB), %zu duplicated "
           "for blocked nodes\n", rep.constants_converted,
           mib(rep.constant_bytes_before), mib(rep.constant_bytes_after),
           rep.constants_duplicated);
    printf("values clamped: %llu (%llu raised to the smallest positive, "
           "%llu lowered to the largest finite)\n",
           (unsigned long long)(rep.clamped_small + rep.clamped_large),
           (unsigned long long)rep.clamped_small,
           (unsigned long long)rep.clamped_large);
    printf("inputs/outputs in %s: %zu\n", tname, rep.io_converted);
    printf("file: %.2f MiB -> %.2f MiB\n", mib(before), mib(after));
done:
    onnxq_fp16_report_clear(&rep);
    onnxq_fp16_auto_report_clear(&arep);
    onnxq_session_destroy(sess);
    onnxq_tensors_free(inputs, n_in);
    cli_inputs_clear(&samples);
    onnxq_model_destroy(m);
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    free(bufs);
    free(ops);
    free(nodes);
    free(out_alloc);
    return rc;
}
