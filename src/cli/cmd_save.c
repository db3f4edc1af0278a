/* cmd_save.c — `onnxq save IN OUT`: re-write a model, choosing where its
 * weights live (inline or external data).  Loading and saving an unchanged
 * model gives the same bytes. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char help[] =
    "usage: onnxq save [OPTIONS] IN.onnx OUT.onnx\n"
    "\n"
    "Re-write a model.  Unchanged, the output has the same bytes as the input;\n"
    "the options move weights to or from external data files.  External data\n"
    "of IN is read from IN's folder.  OUT is written atomically; writing over\n"
    "IN needs --force.\n"
    "\n"
    "options:\n" CLI_SAVE_HELP
    "  -f, --force                allow OUT to be IN\n"
    "  -h, --help                 show this help\n";

int cmd_save(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_SAVE_LONG_OPTIONS,
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    onnxq_save_options opts;
    onnxq_save_options_init(&opts);
    int force = 0, c;
    while ((c = getopt_long(argc, argv, ":fh", longopts, NULL)) != -1) {
        int r = cli_save_parse("save", c, optarg, &opts);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        switch (c) {
        case 'f': force = 1; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        case ':': return cli_usage_error("save", "%s needs a value",
                                         argv[optind - 1]);
        default: return cli_usage_error("save", "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("save", "expected IN.onnx OUT.onnx");
    onnxq_model *m = cli_load_model("save", argv[optind]);
    if (!m)
        return CLI_ERROR;
    int rc = cli_save_model("save", m, argv[optind + 1], &opts, force);
    onnxq_model_destroy(m);
    return rc;
}
