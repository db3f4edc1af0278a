/*
 * sample_opts.c — the "sample source" options that static, compare and tune
 * share (--calib, --calib-wav, --calib-images and their settings), parsed
 * in one place so the three commands accept the same sources with the same
 * error texts and help (CLI_SAMPLE_LONG_OPTIONS / CLI_SAMPLE_HELP in cli.h).
 * Opening the samples is the library's (onnxq/calib.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

void cli_samples_init(cli_samples *s)
{
    memset(s, 0, sizeof *s);
    onnxq_calib_data_options_init(&s->o);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "R,G,B" or one number for all three channels. */
static int parse_floats3(const char *s, float *v)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        double d = strtod(tok, &end);
        if (n >= 3 || !*tok || *end || errno || !isfinite(d))
            return -1;
        v[n++] = (float)d;
    }
    if (n == 1)
        v[1] = v[2] = v[0];
    return n == 1 || n == 3 ? 0 : -1;
}

static int parse_image_size(const char *arg, int *h, int *w)
{
    char buf[64];
    if (strlen(arg) >= sizeof buf)
        return -1;
    strcpy(buf, arg);
    char *x = strpbrk(buf, "x,");
    long hh, ww;
    if (x) {
        *x = 0;
        if (parse_long(buf, 1, 16384, &hh) || parse_long(x + 1, 1, 16384, &ww))
            return -1;
    } else {
        if (parse_long(buf, 1, 16384, &hh))
            return -1;
        ww = hh;
    }
    *h = (int)hh;
    *w = (int)ww;
    return 0;
}

int cli_samples_parse(const char *cmd, int opt, const char *arg,
                      cli_samples *s)
{
    onnxq_calib_data_options *o = &s->o;
    long v;
    switch (opt) {
    case CLI_OPT_CALIB:
    case CLI_OPT_CALIB_WAV:
    case CLI_OPT_CALIB_IMAGES:
        if (s->n_sources++) {
            cli_usage_error(cmd, "give one of --calib, --calib-wav, "
                            "--calib-images");
            return -1;
        }
        o->kind = opt == CLI_OPT_CALIB       ? ONNXQ_CALIB_TENSORS
                  : opt == CLI_OPT_CALIB_WAV ? ONNXQ_CALIB_WAV
                                             : ONNXQ_CALIB_IMAGES;
        o->dir = arg;
        return 1;
    case CLI_OPT_INPUT_NAME:
        o->input_name = arg;
        return 1;
    case CLI_OPT_NUM_SAMPLES:
        if (parse_long(arg, 1, 100000000, &v)) {
            cli_usage_error(cmd, "--num-samples: '%s' is not a count >= 1",
                            arg);
            return -1;
        }
        o->count = (size_t)v;
        return 1;
    case CLI_OPT_SEED: {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(arg, &end, 10);
        if (!*arg || *end || errno || arg[0] == '-') {
            cli_usage_error(cmd, "--seed: '%s' is not a non-negative "
                            "integer", arg);
            return -1;
        }
        o->seed = seed;
        return 1;
    }
    case CLI_OPT_NO_REPLACEMENT:
        o->no_replacement = 1;
        return 1;
    case CLI_OPT_SAMPLE_RATE:
        if (parse_long(arg, 1000, 768000, &v)) {
            cli_usage_error(cmd, "--sample-rate: '%s' is not a rate in Hz "
                            "(1000..768000)", arg);
            return -1;
        }
        o->fbank.sample_rate = (int)v;
        return 1;
    case CLI_OPT_MEL_BINS:
        if (parse_long(arg, 1, 1024, &v)) {
            cli_usage_error(cmd, "--num-mel-bins: '%s' is not in 1..1024",
                            arg);
            return -1;
        }
        o->fbank.num_mel_bins = (int)v;
        return 1;
    case CLI_OPT_MEAN_NORM:
        o->fbank.mean_norm = 1;
        return 1;
    case CLI_OPT_IMAGE_SIZE:
        if (parse_image_size(arg, &o->image_h, &o->image_w)) {
            cli_usage_error(cmd, "--image-size: '%s' is not H or HxW "
                            "(1..16384)", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_MEAN:
    case CLI_OPT_STD:
        if (parse_floats3(arg, opt == CLI_OPT_MEAN ? o->mean : o->std)) {
            cli_usage_error(cmd, "--%s wants R,G,B numbers, got '%s'",
                            opt == CLI_OPT_MEAN ? "mean" : "std", arg);
            return -1;
        }
        return 1;
    case CLI_OPT_LAYOUT:
        if (!strcasecmp(arg, "nchw"))
            o->nhwc = 0;
        else if (!strcasecmp(arg, "nhwc"))
            o->nhwc = 1;
        else {
            cli_usage_error(cmd, "--layout: nchw or nhwc, not '%s'", arg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

const char *cli_samples_describe(const cli_samples *s)
{
    return s->o.kind == ONNXQ_CALIB_WAV      ? "audio"
           : s->o.kind == ONNXQ_CALIB_IMAGES ? "images"
                                             : "tensors";
}

int cli_samples_open(const char *cmd, const cli_samples *s, const char *dir,
                     int every_file, onnxq_calib_data **out)
{
    onnxq_calib_data_options o = s->o;
    if (dir)
        o.dir = dir;
    if (every_file) {
        o.count = 0;
        o.no_replacement = 0;
    }
    onnxq_error err;
    *out = NULL;
    if (onnxq_calib_data_open(&o, out, &err) != ONNXQ_OK) {
        *out = NULL;
        return cli_fail(cmd, "%s", err.message);
    }
    return CLI_OK;
}
