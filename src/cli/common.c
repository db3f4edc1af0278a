/* common.c — error printing, model loading and saving for the subcommands. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void vprint(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "onnxq %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "try 'onnxq %s --help'\n", cmd);
    return CLI_USAGE;
}

onnxq_model *cli_load_model(const char *cmd, const char *path)
{
    onnxq_error err;
    onnxq_model *m = NULL;
    if (onnxq_model_load_file(path, &m, &err) != ONNXQ_OK) {
        cli_fail(cmd, "%s", err.message);
        return NULL;
    }
    return m;
}

void cli_reset_getopt(void)
{
    optind = 0; /* glibc: 0 re-initialises getopt completely */
    opterr = 0; /* we print our own messages */
}

int cli_parse_size(const char *s, unsigned long long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || s[0] == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024ULL, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024ULL * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024ULL * 1024 * 1024, end++;
    if (*end || (mul > 1 && v > ~0ULL / mul))
        return -1;
    *out = v * mul;
    return 0;
}

int cli_save_parse(const char *cmd, int opt, const char *arg,
                   onnxq_save_options *opts)
{
    unsigned long long v;
    switch (opt) {
    case CLI_OPT_EXTERNAL:
        opts->external = ONNXQ_EXTERNAL_ALWAYS;
        if (arg) {
            if (!*arg || strchr(arg, '/')) {
                cli_usage_error(cmd, "--external-data=FILE takes a file name "
                                "(no folder): it is written next to the model");
                return -1;
            }
            opts->location = arg;
        }
        return 1;
    case CLI_OPT_EXTERNAL_THRESHOLD:
        if (cli_parse_size(arg, &v)) {
            cli_usage_error(cmd, "--external-threshold: '%s' is not a size "
                            "in bytes", arg);
            return -1;
        }
        opts->threshold = v;
        return 1;
    case CLI_OPT_EXTERNAL_PER_TENSOR:
        opts->external = ONNXQ_EXTERNAL_ALWAYS;
        opts->file_per_tensor = 1;
        return 1;
    case CLI_OPT_NO_EXTERNAL:
        opts->external = ONNXQ_EXTERNAL_NEVER;
        return 1;
    }
    return 0;
}

int cli_save_model(const char *cmd, onnxq_model *model, const char *out,
                   const onnxq_save_options *opts, int allow_overwrite)
{
    const char *src = onnxq_model_source(model);
    if (!allow_overwrite && onnxq_same_file(src, out))
        return cli_fail(cmd, "%s: refusing to write over the input model; "
                        "name another output", out);
    onnxq_error err;
    onnxq_save_report rep;
    if (onnxq_model_save(model, out, opts, &rep, &err) != ONNXQ_OK)
        return cli_fail(cmd, "%s", err.message);
    if (rep.wrote_external)
        fprintf(stderr, "onnxq %s: %s%zu tensors (%.1f MiB) written to "
                "external data %s\n", cmd,
                rep.external_was_forced
                    ? "model passes protobuf's 2 GiB limit: " : "",
                rep.external_tensors,
                (double)rep.external_bytes / (1024.0 * 1024), rep.location);
    return CLI_OK;
}
