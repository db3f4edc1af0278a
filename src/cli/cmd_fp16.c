/* cmd_fp16.c — `onnxq fp16 IN [OUT]`: convert a float32 model to float16
 * (or bfloat16) with onnxq_convert_fp16 and print what changed. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
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
    "  --keep-norm-fp32         keep normalizations, Softmax, ReduceMean/Sum\n"
    "                           and friends, Pow and Exp in float32 (they can\n"
    "                           overflow float16; converted by default, as\n"
    "                           onnxconverter-common does)\n"
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
    OPT_NORM,
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

int cmd_fp16(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keep-io-types", no_argument, 0, OPT_KEEP_IO},
        {"op-block-list", required_argument, 0, OPT_OP_BLOCK},
        {"node-block-list", required_argument, 0, OPT_NODE_BLOCK},
        {"no-default-block-list", no_argument, 0, OPT_NO_DEFAULT},
        {"keep-norm-fp32", no_argument, 0, OPT_NORM},
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
        case OPT_NORM: fo.keep_norm_fp32 = 1; break;
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
    if (onnxq_convert_fp16(m, &fo, &rep, &err) != ONNXQ_OK) {
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
           "norm %zu, no %s form %zu, unknown type %zu, no ORT kernel %zu, "
           "weights out of range %zu), %zu total\n",
           rep.nodes_converted, rep.nodes_blocked,
           rep.blocked[ONNXQ_FP16_BLOCK_OP_LIST],
           rep.blocked[ONNXQ_FP16_BLOCK_NODE_LIST],
           rep.blocked[ONNXQ_FP16_BLOCK_NORM], tname,
           rep.blocked[ONNXQ_FP16_BLOCK_NO_FP16],
           rep.blocked[ONNXQ_FP16_BLOCK_UNKNOWN_TYPE],
           rep.blocked[ONNXQ_FP16_BLOCK_RUNTIME],
           rep.blocked[ONNXQ_FP16_BLOCK_RANGE], rep.nodes);
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
    onnxq_model_destroy(m);
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    free(bufs);
    free(ops);
    free(nodes);
    free(out_alloc);
    return rc;
}
