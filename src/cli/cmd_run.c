/* cmd_run.c — `onnxq run MODEL`: run a model once on given (or generated)
 * inputs; print a summary of each output and, with --out, write it as .npy
 * named after the output. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_inputs.h"
#include "onnxq/data.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

static const char help[] =
    "usage: onnxq run [OPTIONS] MODEL.onnx\n"
    "\n"
    "Run a model once with onnxq's CPU runtime and summarise its outputs\n"
    "(type, shape, min, max, mean).\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE    an input from a .npy or TensorProto .pb file\n"
    "                       (repeatable)\n"
    "  --inputs DIR|FILE.npz  inputs as DIR/<name>.npy (or DIR/input_<i>.pb,\n"
    "                       as in ONNX test data), or the arrays of an .npz\n"
    "  --shape NAME=D0,D1,... shape of a generated input\n"
    "                       (inputs given nowhere are generated\n"
    "                       deterministically; symbolic dims default to 1)\n"
    "  --out DIR            write each output to DIR/<output name>.npy\n"
    "                       (characters outside [A-Za-z0-9._-] become '_')\n"
    "  --threads N          threads (default: all cores)\n"
    "  -h, --help           show this help\n";

enum { OPT_INPUT = 1, OPT_INPUTS, OPT_SHAPE, OPT_OUT, OPT_THREADS };

static void summarise(const char *name, const onnxq_tensor *t)
{
    printf("%s  %s  [", name, onnxq_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++)
        printf("%s%lld", d ? ", " : "", (long long)t->dims[d]);
    printf("]");
    size_t es = onnxq_dtype_size(t->dtype);
    size_t n = es ? onnxq_tensor_nbytes(t) / es : 0;
    if (n) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        size_t nan = 0;
        for (size_t i = 0; i < n; i++) {
            double v = onnxq_tensor_get_f64(t, i);
            if (isnan(v)) {
                nan++;
                continue;
            }
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
        }
        printf("  min %.6g  max %.6g  mean %.6g", lo, hi,
               n > nan ? sum / (double)(n - nan) : NAN);
        if (nan)
            printf("  (%zu NaN)", nan);
    }
    printf("\n");
}

int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"input", required_argument, 0, OPT_INPUT},
        {"inputs", required_argument, 0, OPT_INPUTS},
        {"shape", required_argument, 0, OPT_SHAPE},
        {"out", required_argument, 0, OPT_OUT},
        {"threads", required_argument, 0, OPT_THREADS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_inputs in;
    cli_inputs_init(&in);
    const char *out_dir = NULL;
    int threads = 0, c, rc = CLI_ERROR;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_INPUT:
            if (cli_inputs_add_input(&in, optarg)) {
                cli_inputs_clear(&in);
                return cli_usage_error("run", "--input wants NAME=FILE, got "
                                       "'%s'", optarg);
            }
            break;
        case OPT_INPUTS: in.dir = optarg; break;
        case OPT_SHAPE:
            if (cli_inputs_add_shape(&in, optarg)) {
                cli_inputs_clear(&in);
                return cli_usage_error("run", "--shape wants NAME=D0,D1,...");
            }
            break;
        case OPT_OUT: out_dir = optarg; break;
        case OPT_THREADS:
            if (cli_parse_size(optarg, &v) || v > 1024) {
                cli_inputs_clear(&in);
                return cli_usage_error("run", "--threads: bad count '%s'",
                                       optarg);
            }
            threads = (int)v;
            break;
        case 'h': fputs(help, stdout); cli_inputs_clear(&in); return CLI_OK;
        case ':':
            cli_inputs_clear(&in);
            return cli_usage_error("run", "%s needs a value", argv[optind - 1]);
        default:
            cli_inputs_clear(&in);
            return cli_usage_error("run", "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 1) {
        cli_inputs_clear(&in);
        return cli_usage_error("run", "expected one MODEL.onnx");
    }
    const char *path = argv[optind];
    onnxq_model *m = cli_load_model("run", path);
    onnxq_session *s = NULL;
    onnxq_tensor *inputs = NULL, *outputs = NULL;
    size_t n_in = 0, n_out = 0;
    onnxq_error err;
    char note[512];
    if (!m)
        goto done;
    onnxq_session_options opts;
    onnxq_session_options_init(&opts);
    opts.n_threads = threads;
    if (onnxq_session_create(m, &opts, &s, &err) != ONNXQ_OK) {
        cli_fail("run", "%s", err.message);
        goto done;
    }
    if (out_dir) {
        struct stat sb;
        if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            cli_fail("run", "--out %s: not an existing folder", out_dir);
            goto done;
        }
    }
    if (cli_inputs_load(&in, s, &inputs, &n_in, note, sizeof note, &err) !=
        ONNXQ_OK) {
        cli_fail("run", "%s: %s", path, err.message);
        goto done;
    }
    if (note[0])
        fprintf(stderr, "onnxq run: generated inputs with %s\n", note);
    if (onnxq_session_run(s, inputs, n_in, &outputs, &n_out, &err) !=
        ONNXQ_OK) {
        cli_fail("run", "%s: %s", path, err.message);
        goto done;
    }
    rc = CLI_OK;
    for (size_t i = 0; i < n_out; i++) {
        const char *name = onnxq_session_output(s, i)->name;
        summarise(name, &outputs[i]);
        if (!out_dir)
            continue;
        size_t len = strlen(name);
        char *file = malloc(len + 5);
        if (!file) {
            rc = cli_fail("run", "out of memory");
            break;
        }
        memcpy(file, name, len);
        memcpy(file + len, ".npy", 5);
        oq_sanitize_filename(file);
        char *full = oq_path_join(out_dir, file);
        free(file);
        if (!full || onnxq_npy_write(full, &outputs[i], &err) != ONNXQ_OK) {
            rc = cli_fail("run", "%s", full ? err.message : "out of memory");
            free(full);
            break;
        }
        free(full);
    }
done:
    onnxq_tensors_free(outputs, n_out);
    onnxq_tensors_free(inputs, n_in);
    onnxq_session_destroy(s);
    onnxq_model_destroy(m);
    cli_inputs_clear(&in);
    return rc;
}
