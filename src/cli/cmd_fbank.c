/* cmd_fbank.c — `onnxq fbank`: one audio file to Kaldi fbank features in a
 * .npy file, the features `onnxq static --calib-wav` feeds a model. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onnxq/audio.h"
#include "onnxq/data.h"

static const char help[] =
    "usage: onnxq fbank WAV [OUT.npy] [OPTIONS]\n"
    "\n"
    "Compute 80-bin log-mel filterbank features of an audio file as\n"
    "torchaudio.compliance.kaldi.fbank does with its defaults (25 ms frames,\n"
    "10 ms shift, snip edges, FFT size the frame rounded up to a power of two\n"
    "(512 at 16 kHz), Povey window, pre-emphasis 0.97,\n"
    "DC removal, no dither, mel filters from 20 Hz to Nyquist, power\n"
    "spectrum, log floored at float epsilon), and write them as float32\n"
    "[1, frames, bins] to OUT.npy, ready as a model input.\n"
    "\n"
    "WAV is anything libsndfile reads (wav, flac, ogg, ...); the first\n"
    "channel is kept, samples are floats in [-1, 1) as torchaudio.load\n"
    "returns them, and audio at another rate is resampled with soxr\n"
    "(very high quality, linear phase).\n"
    "OUT defaults to WAV's file name with its extension replaced by .npy,\n"
    "in the current folder (a.wav -> ./a.npy); the input is never\n"
    "overwritten.\n"
    "\n"
    "options:\n"
    "  --sample-rate N    resample to N Hz before the features (default 16000)\n"
    "  --num-mel-bins N   mel bins = feature columns (default 80)\n"
    "  --mean-norm        subtract each bin's mean over the frames\n"
    "  -h, --help         show this help\n";

enum { OPT_RATE = 1, OPT_BINS, OPT_MEAN_NORM };

/* Strict decimal integer in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* malloc'd "<basename of path without extension>.npy" */
static char *default_out(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) /* ".hidden" has no extension */
        len = (size_t)(dot - base);
    char *out = malloc(len + 5);
    if (out) {
        memcpy(out, base, len);
        memcpy(out + len, ".npy", 5);
    }
    return out;
}

int cmd_fbank(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"sample-rate", required_argument, 0, OPT_RATE},
        {"num-mel-bins", required_argument, 0, OPT_BINS},
        {"mean-norm", no_argument, 0, OPT_MEAN_NORM},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    onnxq_fbank_options o;
    onnxq_fbank_options_init(&o);
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RATE:
            if (parse_int(optarg, 1000, 384000, &o.sample_rate))
                return cli_usage_error("fbank", "--sample-rate: want Hz in "
                                       "1000..384000, got '%s'", optarg);
            break;
        case OPT_BINS:
            if (parse_int(optarg, 4, 1024, &o.num_mel_bins))
                return cli_usage_error("fbank", "--num-mel-bins: want 4..1024, "
                                       "got '%s'", optarg);
            break;
        case OPT_MEAN_NORM: o.mean_norm = 1; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        case ':':
            return cli_usage_error("fbank", "%s needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("fbank", "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind < 1 || argc - optind > 2)
        return cli_usage_error("fbank", "expected WAV [OUT.npy]");
    const char *wav = argv[optind];
    char *out_alloc = NULL;
    const char *out = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!out && !(out = out_alloc = default_out(wav)))
        return cli_fail("fbank", "out of memory");

    int rc = CLI_ERROR;
    onnxq_fbank *fb = NULL;
    onnxq_audio a = {0};
    onnxq_tensor feat = {0};
    onnxq_error err;
    if (onnxq_same_file(wav, out)) {
        cli_fail("fbank", "%s: refusing to write over the input; name another "
                 "output", out);
        goto done;
    }
    if (onnxq_fbank_create(&o, &fb, &err) != ONNXQ_OK) {
        /* options are range-checked above; what remains (too many bins for
         * the FFT at this rate) is still the user's choice */
        rc = cli_usage_error("fbank", "%s", err.message);
        goto done;
    }
    if (onnxq_audio_load(wav, o.sample_rate, &a, &err) != ONNXQ_OK ||
        onnxq_fbank_compute(fb, a.samples, a.n, wav, &feat, &err) !=
            ONNXQ_OK) {
        cli_fail("fbank", "%s", err.message);
        goto done;
    }
    /* [frames, bins] -> [1, frames, bins]: the batch dim a model expects */
    feat.rank = 3;
    feat.dims[2] = feat.dims[1];
    feat.dims[1] = feat.dims[0];
    feat.dims[0] = 1;
    if (onnxq_npy_write(out, &feat, &err) != ONNXQ_OK) {
        cli_fail("fbank", "%s", err.message);
        goto done;
    }
    printf("%s: %lld frames x %lld bins (float32 [1, %lld, %lld]) at %d Hz",
           out, (long long)feat.dims[1], (long long)feat.dims[2],
           (long long)feat.dims[1], (long long)feat.dims[2], a.sample_rate);
    if (a.file_rate != a.sample_rate)
        printf(", resampled from %d Hz", a.file_rate);
    if (a.file_channels > 1)
        printf(", first of %d channels", a.file_channels);
    if (o.mean_norm)
        printf(", mean-normalised");
    printf("\n");
    rc = CLI_OK;
done:
    free(feat.data);
    onnxq_audio_clear(&a);
    onnxq_fbank_destroy(fb);
    free(out_alloc);
    return rc;
}
