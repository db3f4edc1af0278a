/* cmd_preprocess.c — `onnxq preprocess IN OUT`: the model cleaned up before
 * it is quantized (onnxq/opt.h), with a summary line per pass.  Inference
 * that meets an op it does not know keeps going; one warning per op type
 * says so. */
#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onnxq/opt.h"

static const char help[] =
    "usage: onnxq preprocess [OPTIONS] IN.onnx OUT.onnx\n"
    "\n"
    "Clean a model up before quantizing it, without changing what it computes\n"
    "(folded BatchNormalization and Mul/Add differ by float32 rounding only).\n"
    "Passes, in order (each can be skipped):\n"
    "  upgrade-opset            ai.onnx opset < 10 -> 13 (Upsample -> Resize,\n"
    "                           attributes that became inputs, ...); an op with\n"
    "                           no exact upgrade is an error naming it\n"
    "  constant-to-initializer  Constant nodes -> initializers\n"
    "  fold-constants           nodes with constant inputs computed once with\n"
    "                           the reference kernels; Shape of known shapes\n"
    "  fold-bn                  BatchNormalization into Conv/ConvTranspose/Gemm,\n"
    "                           per-channel Mul/Add into Conv/ConvTranspose\n"
    "  matmul-add               MatMul + constant bias found; -> Gemm if A is 2-D\n"
    "  cleanup                  Identity, inference Dropout, dead nodes, unused\n"
    "                           and duplicate initializers removed\n"
    "  sort                     every (sub)graph topologically sorted\n"
    "  infer                    value_info refreshed (types and shapes)\n"
    "The result is checked before it is written; its metadata records\n"
    "onnxq.preprocessed.  OUT must not be IN.\n"
    "\n"
    "options:\n"
    "  --skip-PASS                skip a pass (e.g. --skip-fold-bn); repeatable\n"
    "  -q, --quiet                no summary (warnings and errors still print)\n"
    "  --json                     the summary as JSON on stdout\n" CLI_SAVE_HELP
    "  -h, --help                 show this help\n";

/* above the shared save options (1000...) and any short option letter */
enum { OPT_JSON = 1, OPT_SKIP_BASE = 1100 };

static void print_summary(const char *in, const char *out,
                          const onnxq_preprocess_report *r, unsigned skip)
{
    printf("%s -> %s\n", in, out);
#define SKIPPED(bit) ((skip & (bit)) ? "skipped" : NULL)
    const char *s;
    if ((s = SKIPPED(ONNXQ_PASS_UPGRADE_OPSET)))
        printf("  %-24s %s\n", "upgrade-opset", s);
    else if (r->opset_before != r->opset_after)
        printf("  %-24s opset %lld -> %lld: %zu nodes rewritten, %zu Upsample "
               "-> Resize, %zu nodes inserted\n", "upgrade-opset",
               (long long)r->opset_before, (long long)r->opset_after,
               r->upgraded_nodes, r->upsample_to_resize, r->inserted_nodes);
    else
        printf("  %-24s opset %lld kept\n", "upgrade-opset",
               (long long)r->opset_before);
    if (r->initializer_inputs_dropped)
        printf("  %-24s IR %lld -> %lld: %zu initializers no longer listed "
               "as graph inputs\n", "ir-version", (long long)r->ir_before,
               (long long)r->ir_after, r->initializer_inputs_dropped);
    if ((s = SKIPPED(ONNXQ_PASS_CONSTANT_TO_INITIALIZER)))
        printf("  %-24s %s\n", "constant-to-initializer", s);
    else
        printf("  %-24s %zu Constant nodes -> initializers, %zu kept\n",
               "constant-to-initializer", r->constants_converted,
               r->constants_kept);
    if ((s = SKIPPED(ONNXQ_PASS_FOLD_CONSTANTS)))
        printf("  %-24s %s\n", "fold-constants", s);
    else
        printf("  %-24s %zu nodes folded, %zu Shape/Size of known shapes, "
               "%zu not folded (result too large), %zu not runnable\n",
               "fold-constants", r->folded_nodes, r->folded_shapes,
               r->fold_too_large, r->fold_failed);
    if ((s = SKIPPED(ONNXQ_PASS_FOLD_BN)))
        printf("  %-24s %s\n", "fold-bn", s);
    else
        printf("  %-24s %zu BatchNormalization folded, %zu Mul/Add folded "
               "into Conv\n", "fold-bn", r->bn_folded, r->mul_add_folded);
    if ((s = SKIPPED(ONNXQ_PASS_MATMUL_ADD)))
        printf("  %-24s %s\n", "matmul-add", s);
    else
        printf("  %-24s %zu MatMul + constant bias found, %zu -> Gemm\n",
               "matmul-add", r->matmul_add_found, r->matmul_add_to_gemm);
    if ((s = SKIPPED(ONNXQ_PASS_CLEANUP)))
        printf("  %-24s %s\n", "cleanup", s);
    else
        printf("  %-24s %zu Identity and %zu Dropout removed, %zu duplicate "
               "initializers merged, %zu dead nodes and %zu unused "
               "initializers removed\n", "cleanup", r->identities_removed,
               r->dropouts_removed, r->duplicates_merged,
               r->dead_nodes_removed, r->unused_initializers_removed);
    if ((s = SKIPPED(ONNXQ_PASS_SORT)))
        printf("  %-24s %s\n", "sort", s);
    else
        printf("  %-24s %zu graphs reordered\n", "sort", r->graphs_reordered);
    if ((s = SKIPPED(ONNXQ_PASS_INFER)))
        printf("  %-24s %s\n", "infer", s);
    else
        printf("  %-24s %zu values: %zu typed, %zu ranked; %zu unknown op "
               "type%s\n", "infer", r->infer.values, r->infer.typed,
               r->infer.ranked, r->infer.n_unknown_ops,
               r->infer.n_unknown_ops == 1 ? "" : "s");
    printf("  nodes %zu -> %zu, initializers %zu -> %zu\n", r->nodes_before,
           r->nodes_after, r->initializers_before, r->initializers_after);
#undef SKIPPED
}

static int print_json(const onnxq_preprocess_report *r, unsigned skip)
{
    cJSON *o = cJSON_CreateObject(), *sk = cJSON_CreateArray();
    int bad = !o || !sk || !cJSON_AddItemToObject(o, "skipped", sk);
    for (unsigned b = 1; b < (1u << ONNXQ_PASS_COUNT); b <<= 1)
        if (skip & b)
            bad |= !cJSON_AddItemToArray(sk,
                                         cJSON_CreateString(onnxq_pass_name(b)));
#define NUM(key, v) bad |= !cJSON_AddNumberToObject(o, key, (double)(v))
    NUM("nodes_before", r->nodes_before);
    NUM("nodes_after", r->nodes_after);
    NUM("initializers_before", r->initializers_before);
    NUM("initializers_after", r->initializers_after);
    NUM("opset_before", r->opset_before);
    NUM("opset_after", r->opset_after);
    NUM("ir_before", r->ir_before);
    NUM("ir_after", r->ir_after);
    NUM("upgraded_nodes", r->upgraded_nodes);
    NUM("upsample_to_resize", r->upsample_to_resize);
    NUM("inserted_nodes", r->inserted_nodes);
    NUM("initializer_inputs_dropped", r->initializer_inputs_dropped);
    NUM("constants_converted", r->constants_converted);
    NUM("constants_kept", r->constants_kept);
    NUM("folded_nodes", r->folded_nodes);
    NUM("folded_shapes", r->folded_shapes);
    NUM("fold_too_large", r->fold_too_large);
    NUM("fold_failed", r->fold_failed);
    NUM("bn_folded", r->bn_folded);
    NUM("mul_add_folded", r->mul_add_folded);
    NUM("identities_removed", r->identities_removed);
    NUM("dropouts_removed", r->dropouts_removed);
    NUM("duplicates_merged", r->duplicates_merged);
    NUM("dead_nodes_removed", r->dead_nodes_removed);
    NUM("unused_initializers_removed", r->unused_initializers_removed);
    NUM("matmul_add_found", r->matmul_add_found);
    NUM("matmul_add_to_gemm", r->matmul_add_to_gemm);
    NUM("graphs_reordered", r->graphs_reordered);
    NUM("infer_values", r->infer.values);
    NUM("infer_typed", r->infer.typed);
#undef NUM
    cJSON *u = cJSON_CreateArray();
    bad |= !u || !cJSON_AddItemToObject(o, "unknown_ops", u);
    for (size_t i = 0; u && i < r->infer.n_unknown_ops; i++)
        bad |= !cJSON_AddItemToArray(
            u, cJSON_CreateString(r->infer.unknown_ops[i].op_type));
    char *text = bad ? NULL : cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return cli_fail("preprocess", "out of memory");
    printf("%s\n", text);
    free(text);
    return CLI_OK;
}

int cmd_preprocess(int argc, char **argv)
{
    enum { N_SKIP = ONNXQ_PASS_COUNT };
    static char skip_names[N_SKIP][48];
    static struct option longopts[N_SKIP + 9] = {
        CLI_SAVE_LONG_OPTIONS,
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
    };
    for (int i = 0; i < N_SKIP; i++) {
        snprintf(skip_names[i], sizeof skip_names[i], "skip-%s",
                 onnxq_pass_name(1u << i));
        longopts[7 + i] = (struct option){skip_names[i], no_argument, 0,
                                          OPT_SKIP_BASE + i};
    }
    longopts[7 + N_SKIP] = (struct option){0, 0, 0, 0};

    onnxq_save_options sopts;
    onnxq_save_options_init(&sopts);
    onnxq_preprocess_options popts;
    onnxq_preprocess_options_init(&popts);
    popts.version = ONNXQ_VERSION_STRING;
    int quiet = 0, json = 0, c;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        int r = cli_save_parse("preprocess", c, optarg, &sopts);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (c >= OPT_SKIP_BASE && c < OPT_SKIP_BASE + N_SKIP) {
            popts.skip |= 1u << (c - OPT_SKIP_BASE);
            continue;
        }
        switch (c) {
        case 'q': quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        case ':': return cli_usage_error("preprocess", "%s needs a value",
                                         argv[optind - 1]);
        default: return cli_usage_error("preprocess", "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("preprocess", "expected IN.onnx OUT.onnx");
    const char *in = argv[optind], *out = argv[optind + 1];
    if (strcmp(in, out) == 0 || onnxq_same_file(in, out))
        return cli_fail("preprocess", "%s: refusing to write over the input "
                        "model; name another output", out);
    onnxq_model *m = cli_load_model("preprocess", in);
    if (!m)
        return CLI_ERROR;
    onnxq_preprocess_report rep;
    onnxq_error err;
    int rc = CLI_OK;
    if (onnxq_preprocess(m, &popts, &rep, &err) != ONNXQ_OK) {
        rc = cli_fail("preprocess", "%s: %s", in, err.message);
        goto done;
    }
    for (size_t i = 0; i < rep.infer.n_unknown_ops; i++) {
        const onnxq_infer_unknown_op *u = &rep.infer.unknown_ops[i];
        fprintf(stderr, "onnxq preprocess: warning: no shape inference for "
                "op %s%s%s (%zu node%s, first %s); tensors after it have "
                "unknown shapes\n", u->domain[0] ? u->domain : "",
                u->domain[0] ? "." : "", u->op_type, u->n_nodes,
                u->n_nodes == 1 ? "" : "s", u->first_node);
    }
    rc = cli_save_model("preprocess", m, out, &sopts, 0);
    if (rc == CLI_OK && json)
        rc = print_json(&rep, popts.skip);
    else if (rc == CLI_OK && !quiet)
        print_summary(in, out, &rep, popts.skip);
done:
    onnxq_preprocess_report_clear(&rep);
    onnxq_model_destroy(m);
    return rc;
}
