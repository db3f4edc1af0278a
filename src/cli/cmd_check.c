/* cmd_check.c — `onnxq check MODEL`: print the checker's findings
 * (onnxq/check.h); exit 0 when there are none, 1 when there are. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "onnxq/check.h"

static const char help[] =
    "usage: onnxq check [OPTIONS] MODEL.onnx\n"
    "\n"
    "Check a model for problems: missing opset imports, tensors defined twice,\n"
    "inputs nothing produces, nodes out of topological order, tensor data\n"
    "whose size does not match its shape and type (external data included),\n"
    "and ops onnxq's runtime cannot run (listed with node names).\n"
    "Exit status: 0 no findings, 1 findings (or an unreadable model), 2 usage.\n"
    "\n"
    "options:\n"
    "  --no-runtime   do not report ops onnxq cannot run\n"
    "  --json         print the findings as a JSON array\n"
    "  -h, --help     show this help\n";

enum { OPT_NO_RUNTIME = 1, OPT_JSON };

static void print_json(const onnxq_check_report *r)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < r->n_findings; i++) {
        const onnxq_finding *f = &r->findings[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", f->kind);
        cJSON_AddStringToObject(o, "graph", f->graph);
        if (f->node)
            cJSON_AddStringToObject(o, "node", f->node);
        else
            cJSON_AddNullToObject(o, "node");
        cJSON_AddStringToObject(o, "message", f->message);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = arr ? cJSON_Print(arr) : NULL;
    if (s)
        puts(s);
    free(s);
    cJSON_Delete(arr);
}

int cmd_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"no-runtime", no_argument, 0, OPT_NO_RUNTIME},
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    onnxq_check_options opts;
    onnxq_check_options_init(&opts);
    int json = 0, c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_NO_RUNTIME: opts.check_runtime = 0; break;
        case OPT_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: return cli_usage_error("check", "unknown option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("check", "expected one MODEL.onnx");
    const char *path = argv[optind];
    onnxq_model *m = cli_load_model("check", path);
    if (!m)
        return CLI_ERROR;
    onnxq_check_report report = {0};
    onnxq_error err;
    if (onnxq_check_model(m, &opts, &report, &err) != ONNXQ_OK) {
        onnxq_model_destroy(m);
        onnxq_check_report_clear(&report);
        return cli_fail("check", "%s: %s", path, err.message);
    }
    if (json) {
        print_json(&report);
    } else {
        for (size_t i = 0; i < report.n_findings; i++) {
            const onnxq_finding *f = &report.findings[i];
            printf("%s: %s", path, f->kind);
            if (f->graph[0] && (f->graph[0] != 'm' || f->graph[4]))
                printf(" [%s]", f->graph); /* only subgraphs: not "main" */
            printf(": %s\n", f->message);
        }
        if (report.n_findings)
            printf("%s: %zu finding%s\n", path, report.n_findings,
                   report.n_findings == 1 ? "" : "s");
        else
            printf("%s: ok\n", path);
    }
    int rc = report.n_findings ? CLI_ERROR : CLI_OK;
    onnxq_check_report_clear(&report);
    onnxq_model_destroy(m);
    return rc;
}
