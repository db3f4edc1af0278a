/*
 * audio.c — audio files to Kaldi-compatible log-mel filterbank features.
 *
 * Three steps, each its own section:
 *   load      libsndfile decodes; we keep channel 0 as floats in [-1, 1)
 *             (libsndfile's normalised float read: int16 / 32768, int24 /
 *             2^23, ...; the same values torchaudio.load gives), refuse
 *             truncated or non-finite data.
 *   resample  soxr, pinned settings (see onnxq/audio.h), output length
 *             ceil(n * out / in) as torchaudio.functional.resample.
 *   fbank     torchaudio.compliance.kaldi.fbank (itself a port of Kaldi's
 *             feature-window.cc, feature-fbank.cc and mel-computations.cc)
 *             with its defaults; formulas sit next to the code.
 *
 * The spec followed is torchaudio 0.13's kaldi.py.  It computes in float32
 * throughout, which costs it up to ~1e-3 of rounding error in the log
 * energy of bins far below their frame's loudest (its float FFT's error is
 * relative to the whole frame).  We aim at its exact answer instead:
 * framing in double, kissfft's float FFT with the quiet bins recomputed in
 * double, mel weights in float exactly as torchaudio and Kaldi build them.
 * Measured on the demo files: within 1.5e-5 of torchaudio run in float64,
 * within 9e-4 of torchaudio in float32 (its own rounding).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kiss_fftr.h>
#include <sndfile.h>
#include <soxr.h>

#include "onnxq/audio.h"
#include "onnxq/model.h"
#include "oq_util.h"

/* ---- load ----------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* libsndfile shortens a WAV whose data chunk runs past the end of the file
 * to what is there, silently; a cut-off recording should not pass as a
 * short one, so walk the RIFF (or big-endian RIFX) chunks to the data chunk
 * and compare its size with the bytes left.  Sizes 0 and 0xffffffff are what
 * streaming writers leave when they cannot seek back: unknown, accepted.
 * Other formats are checked after reading (frames read vs announced). */
static onnxq_status check_riff(FILE *fp, const char *path, uint64_t size,
                               onnxq_error *err)
{
    unsigned char h[12];
    if (fread(h, 1, 12, fp) != 12 || memcmp(h + 8, "WAVE", 4) != 0)
        return ONNXQ_OK;
    int big = memcmp(h, "RIFX", 4) == 0;
    if (!big && memcmp(h, "RIFF", 4) != 0)
        return ONNXQ_OK; /* RF64/W64 keep 64-bit sizes elsewhere: libsndfile's */
    uint64_t pos = 12;
    while (pos + 8 <= size) {
        if (fseek(fp, (long)pos, SEEK_SET) != 0 || fread(h, 1, 8, fp) != 8)
            return ONNXQ_OK;
        uint32_t len = big ? be32(h + 4) : le32(h + 4);
        if (memcmp(h, "data", 4) == 0) {
            if (len != 0 && len != 0xffffffffu && len > size - pos - 8)
                return onnxq_error_set(
                    err, ONNXQ_ERR_INVALID_ARGUMENT,
                    "%s: truncated: the WAV data chunk announces %u bytes, "
                    "the file holds %llu", path, len,
                    (unsigned long long)(size - pos - 8));
            return ONNXQ_OK;
        }
        pos += 8 + (uint64_t)len + (len & 1); /* chunks are padded to even */
    }
    return ONNXQ_OK; /* no data chunk: libsndfile will say so */
}

void onnxq_audio_clear(onnxq_audio *a)
{
    if (!a)
        return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}

enum { READ_BLOCK = 4096 }; /* frames per sf_readf_float call */

onnxq_status onnxq_audio_load(const char *path, int sample_rate,
                              onnxq_audio *out, onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    if (sample_rate < 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: bad sample rate %d", path, sample_rate);
    /* Open and stat ourselves first: the messages for a missing, unreadable
     * or empty file are clearer than libsndfile's "Format not recognised". */
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open: %s", path,
                               strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: not a regular file",
                               path);
    }
    if (st.st_size == 0) {
        fclose(fp);
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: empty file, not audio", path);
    }
    onnxq_status rc = check_riff(fp, path, (uint64_t)st.st_size, err);
    fclose(fp);
    if (rc != ONNXQ_OK)
        return rc;

    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        int e = sf_error(NULL);
        return onnxq_error_set(
            err, e == SF_ERR_SYSTEM ? ONNXQ_ERR_IO :
                 e == SF_ERR_UNSUPPORTED_ENCODING ? ONNXQ_ERR_UNSUPPORTED :
                 ONNXQ_ERR_INVALID_ARGUMENT,
            "%s: not audio libsndfile can read (wav, flac, ogg, ...): %s",
            path, sf_strerror(NULL));
    }
    float *block = NULL, *mono = NULL;
    size_t n = 0, cap = 0;
    if (info.channels < 1 || info.samplerate < 1) {
        rc = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: bad header: %d channels at %d Hz", path,
                             info.channels, info.samplerate);
        goto done;
    }
    /* floats scaled to [-1, 1) whatever the stored sample format */
    sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    block = malloc(sizeof *block * READ_BLOCK * (size_t)info.channels);
    /* room for the announced length, but not on a header's word alone past
     * 2^24 frames: a corrupt one must not turn into a huge allocation */
    size_t first = info.frames > 0 && info.frames < (1 << 24)
                       ? (size_t)info.frames : (size_t)1 << 24;
    if (!block || oq_grow(&mono, &cap, first, sizeof *mono))
        goto oom;
    for (;;) {
        sf_count_t got = sf_readf_float(sf, block, READ_BLOCK);
        if (got <= 0)
            break;
        if (oq_grow(&mono, &cap, n + (size_t)got, sizeof *mono))
            goto oom;
        for (sf_count_t i = 0; i < got; i++) {
            float v = block[i * info.channels];
            if (!isfinite(v)) {
                rc = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s: sample %zu (at %.3f s) is %s", path,
                                     n, (double)n / info.samplerate,
                                     isnan(v) ? "NaN" : "infinite");
                goto done;
            }
            mono[n++] = v;
        }
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        rc = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: truncated or corrupt: read failed after %zu "
                             "of %lld frames: %s", path, n,
                             (long long)info.frames, sf_strerror(sf));
        goto done;
    }
    if (info.frames > 0 && (uint64_t)n < (uint64_t)info.frames) {
        rc = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: truncated: %zu of the %lld frames its header "
                             "announces could be read", path, n,
                             (long long)info.frames);
        goto done;
    }
    out->file_rate = info.samplerate;
    out->file_channels = info.channels;
    out->sample_rate = info.samplerate;
    if (sample_rate && sample_rate != info.samplerate) {
        float *res;
        size_t n_res;
        rc = onnxq_audio_resample(mono, n, info.samplerate,
                                  sample_rate, &res, &n_res, err);
        if (rc != ONNXQ_OK) {
            onnxq_error_prefix(err, "%s", path);
            goto done;
        }
        free(mono);
        mono = res;
        n = n_res;
        out->sample_rate = sample_rate;
    }
    out->samples = mono;
    out->n = n;
    mono = NULL;
    goto done;
oom:
    rc = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "%s: out of memory",
                         path);
done:
    free(block);
    free(mono);
    sf_close(sf);
    return rc;
}

/* ---- resample ------------------------------------------------------------- */

onnxq_status onnxq_audio_resample(const float *in, size_t n, int in_rate,
                                  int out_rate, float **out, size_t *n_out,
                                  onnxq_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (in_rate <= 0 || out_rate <= 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "cannot resample from %d Hz to %d Hz", in_rate,
                               out_rate);
    if (n > (UINT64_MAX - (uint64_t)in_rate) / (uint64_t)out_rate / 2)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%zu samples are too many to resample", n);
    /* want = ceil(n * out / in), exactly, in integers */
    uint64_t want = ((uint64_t)n * (uint64_t)out_rate + (uint64_t)in_rate - 1) /
                    (uint64_t)in_rate;
    /* soxr rounds its total output to the nearest sample, which can be one
     * short of want; a few zeros after the end (which both resamplers assume
     * is silence anyway) let it produce want and more, and we cut there. */
    size_t pad = (size_t)(in_rate / out_rate) + 2;
    size_t cap = (size_t)want + (size_t)(out_rate / in_rate) + 4;
    float *x = malloc(sizeof *x * (n + pad));
    float *y = malloc(sizeof *y * cap);
    if (!x || !y) {
        free(x);
        free(y);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (n)
        memcpy(x, in, sizeof *x * n);
    if (in_rate == out_rate || n == 0) {
        memcpy(y, x, sizeof *x * n);
        *out = y;
        *n_out = n;
        free(x);
        return ONNXQ_OK;
    }
    memset(x + n, 0, sizeof *x * pad);
    /* Pinned: SOXR_VHQ = 28-bit precision (soxr then designs and runs the
     * filter in double precision), linear phase, flags 0 (SOXR_ROLLOFF_SMALL:
     * <= 0.01 dB pass-band ripple), soxr's own pass band for VHQ (0.911 of
     * Nyquist) and stop band (1.0), one thread (no OpenMP split). */
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ | SOXR_LINEAR_PHASE, 0);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    size_t idone = 0, odone = 0;
    soxr_error_t e = soxr_oneshot(in_rate, out_rate, 1, x, n + pad, &idone, y,
                                  cap, &odone, &io, &q, &rt);
    free(x);
    if (e || odone < want) {
        free(y);
        return onnxq_error_set(err, ONNXQ_ERR_INTERNAL,
                               "soxr resampling %d Hz -> %d Hz failed: %s",
                               in_rate, out_rate,
                               e ? e : "fewer samples than expected");
    }
    *out = y;
    *n_out = (size_t)want;
    return ONNXQ_OK;
}

/* ---- fbank ---------------------------------------------------------------- */

struct onnxq_fbank {
    onnxq_fbank_options o;
    int window;          /* samples per frame: int(rate * 25 ms) = 400 */
    int shift;           /* samples per hop: int(rate * 10 ms) = 160 */
    int nfft;            /* window rounded up to a power of two = 512 */
    int half;            /* nfft / 2: FFT bins the filters see (no Nyquist) */
    double *win;         /* [window] Povey window */
    float *weights;      /* [bins][half] triangular mel filters */
    int *lo, *hi;        /* [bins] first and last+1 non-zero FFT bin */
    kiss_fftr_cfg fft;   /* real forward FFT of nfft points, unscaled */
    double *frame;       /* [window] scratch: one frame */
    float *fft_in;       /* [nfft] scratch: windowed frame, zero padded */
    kiss_fft_cpx *spec;  /* [half + 1] scratch: spectrum */
    double *cos_t;       /* [nfft] cos(2 pi m / nfft), for refined bins */
    double *sin_t;       /* [nfft] sin(2 pi m / nfft) */
    double *power;       /* [half] scratch: power spectrum */
};

/* Bins with power below REFINE x the frame's energy are recomputed in
 * double (see onnxq_fbank_compute).  Float FFT error relative to such a bin
 * is at most ~2 * 10 * 6e-8 / sqrt(REFINE) = 4e-5. */
#define REFINE 1e-3

void onnxq_fbank_options_init(onnxq_fbank_options *o)
{
    memset(o, 0, sizeof *o);
    o->sample_rate = 16000;
    o->num_mel_bins = 80;
    o->frame_length_ms = 25.0;
    o->frame_shift_ms = 10.0;
    o->low_freq = 20.0;
    o->high_freq = 0.0;
    o->preemphasis = 0.97;
    o->mean_norm = 0;
}

/* Kaldi's mel scale: mel(f) = 1127 ln(1 + f / 700) */
static double mel_scale(double f) { return 1127.0 * log(1.0 + f / 700.0); }

void onnxq_fbank_destroy(onnxq_fbank *fb)
{
    if (!fb)
        return;
    free(fb->win);
    free(fb->weights);
    free(fb->lo);
    free(fb->hi);
    kiss_fftr_free(fb->fft);
    free(fb->frame);
    free(fb->fft_in);
    free(fb->spec);
    free(fb->cos_t);
    free(fb->sin_t);
    free(fb->power);
    free(fb);
}

onnxq_status onnxq_fbank_create(const onnxq_fbank_options *opts,
                                onnxq_fbank **out, onnxq_error *err)
{
    *out = NULL;
    onnxq_fbank_options o;
    if (opts)
        o = *opts;
    else
        onnxq_fbank_options_init(&o);
    if (o.sample_rate <= 0)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fbank: sample rate must be positive, got %d",
                               o.sample_rate);
    if (o.num_mel_bins < 4)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fbank: num_mel_bins must be at least 4 (as in "
                               "Kaldi), got %d", o.num_mel_bins);
    if (!(o.preemphasis >= 0.0 && o.preemphasis <= 1.0))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fbank: preemphasis must be in [0, 1], got %g",
                               o.preemphasis);
    /* int(rate * ms * 0.001), evaluated in double in this order as Python
     * does, so the truncation matches torchaudio's for any rate. */
    double wl = (double)o.sample_rate * o.frame_length_ms * 0.001;
    double ws = (double)o.sample_rate * o.frame_shift_ms * 0.001;
    if (!(wl >= 2.0 && wl < (double)(1 << 24)) ||
        !(ws >= 1.0 && ws < (double)(1 << 24)))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fbank: frame length %g ms / shift %g ms give "
                               "%g / %g samples at %d Hz (need >= 2 / >= 1)",
                               o.frame_length_ms, o.frame_shift_ms, wl, ws,
                               o.sample_rate);
    double nyquist = 0.5 * o.sample_rate;
    double high = o.high_freq <= 0.0 ? o.high_freq + nyquist : o.high_freq;
    if (!(o.low_freq >= 0.0 && o.low_freq < nyquist && high > 0.0 &&
          high <= nyquist && o.low_freq < high))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "fbank: mel range %g..%g Hz does not fit in "
                               "0..%g Hz (Nyquist at %d Hz)", o.low_freq, high,
                               nyquist, o.sample_rate);

    onnxq_fbank *fb = calloc(1, sizeof *fb);
    if (!fb)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    fb->o = o;
    fb->window = (int)wl;
    fb->shift = (int)ws;
    fb->nfft = 1;
    while (fb->nfft < fb->window) /* smallest power of two >= window */
        fb->nfft *= 2;
    fb->half = fb->nfft / 2;
    int bins = o.num_mel_bins;
    fb->win = malloc(sizeof *fb->win * (size_t)fb->window);
    fb->weights = calloc((size_t)bins * (size_t)fb->half, sizeof *fb->weights);
    fb->lo = malloc(sizeof *fb->lo * (size_t)bins);
    fb->hi = malloc(sizeof *fb->hi * (size_t)bins);
    fb->frame = malloc(sizeof *fb->frame * (size_t)fb->window);
    fb->fft_in = calloc((size_t)fb->nfft, sizeof *fb->fft_in);
    fb->spec = malloc(sizeof *fb->spec * (size_t)(fb->half + 1));
    fb->fft = kiss_fftr_alloc(fb->nfft, 0, NULL, NULL);
    fb->cos_t = malloc(sizeof *fb->cos_t * (size_t)fb->nfft);
    fb->sin_t = malloc(sizeof *fb->sin_t * (size_t)fb->nfft);
    fb->power = malloc(sizeof *fb->power * (size_t)fb->half);
    if (!fb->win || !fb->weights || !fb->lo || !fb->hi || !fb->frame ||
        !fb->fft_in || !fb->spec || !fb->fft || !fb->cos_t || !fb->sin_t ||
        !fb->power) {
        onnxq_fbank_destroy(fb);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }

    for (int m = 0; m < fb->nfft; m++) {
        fb->cos_t[m] = cos(2.0 * M_PI * m / fb->nfft);
        fb->sin_t[m] = sin(2.0 * M_PI * m / fb->nfft);
    }
    /* Povey window: a Hann window that reaches zero at both ends, raised to
     * 0.85:  w[j] = (0.5 - 0.5 cos(2 pi j / (N - 1)))^0.85 */
    double a = 2.0 * M_PI / (fb->window - 1);
    for (int j = 0; j < fb->window; j++)
        fb->win[j] = pow(0.5 - 0.5 * cos(a * j), 0.85);

    /* Mel filters: bins + 2 points equally spaced in mel between low and
     * high; filter b rises from point b to b+1 and falls to b+2.  FFT bin k
     * (frequency k * rate / nfft) gets weight
     *   max(0, min((m_k - left) / (centre - left), (right - m_k) / (right - centre)))
     * for k < nfft/2: the Nyquist bin is never weighted (torchaudio pads it
     * with a zero column, Kaldi loops to nfft/2 only).
     * The end points and the step are double, everything after is float, op
     * for op as torchaudio (float32 tensors) and Kaldi (BaseFloat) do it: the
     * weights are then theirs to within logf's last bit.  Weights computed
     * in double differ by up to 1.4e-5, which moves the log energy of quiet
     * bins beside loud ones by up to 2e-4. */
    double mel_lo = mel_scale(o.low_freq), mel_hi = mel_scale(high);
    float delta = (float)((mel_hi - mel_lo) / (bins + 1));
    float lo_f = (float)mel_lo;
    float bin_hz = (float)((double)o.sample_rate / fb->nfft);
    for (int b = 0; b < bins; b++) {
        float left = (float)b * delta + lo_f;
        float centre = (float)(b + 1) * delta + lo_f;
        float right = (float)(b + 2) * delta + lo_f;
        float *w = fb->weights + (size_t)b * (size_t)fb->half;
        fb->lo[b] = fb->half;
        fb->hi[b] = 0;
        for (int k = 0; k < fb->half; k++) {
            float m = 1127.0f * logf(1.0f + bin_hz * (float)k / 700.0f);
            float up = (m - left) / (centre - left);
            float down = (right - m) / (right - centre);
            float v = up < down ? up : down;
            if (v > 0.0f) {
                w[k] = v;
                if (k < fb->lo[b])
                    fb->lo[b] = k;
                fb->hi[b] = k + 1;
            }
        }
        if (fb->hi[b] == 0) {
            onnxq_status st = onnxq_error_set(
                err, ONNXQ_ERR_INVALID_ARGUMENT,
                "fbank: %d mel bins are too many for a %d-point FFT at %d Hz "
                "(filter %d covers no FFT bin)", bins, fb->nfft, o.sample_rate,
                b);
            onnxq_fbank_destroy(fb);
            return st;
        }
    }
    *out = fb;
    return ONNXQ_OK;
}

int onnxq_fbank_bins(const onnxq_fbank *fb) { return fb->o.num_mel_bins; }
int onnxq_fbank_sample_rate(const onnxq_fbank *fb) { return fb->o.sample_rate; }

size_t onnxq_fbank_frames(const onnxq_fbank *fb, size_t n)
{
    /* snip_edges: only frames that fit whole */
    if (n < (size_t)fb->window)
        return 0;
    return 1 + (n - (size_t)fb->window) / (size_t)fb->shift;
}

onnxq_status onnxq_fbank_compute(onnxq_fbank *fb, const float *samples,
                                 size_t n, const char *name,
                                 onnxq_tensor *out, onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "audio";
    const onnxq_fbank_options *o = &fb->o;
    size_t frames = onnxq_fbank_frames(fb, n);
    if (frames == 0)
        return onnxq_error_set(
            err, ONNXQ_ERR_INVALID_ARGUMENT,
            "%s: too short for one frame: %zu samples (%.1f ms) at %d Hz, a "
            "frame needs %d (%g ms)", name, n, 1000.0 * (double)n /
            o->sample_rate, o->sample_rate, fb->window, o->frame_length_ms);
    int bins = o->num_mel_bins, win = fb->window;
    if (frames > SIZE_MAX / sizeof(float) / (size_t)bins)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "%s: too long", name);
    float *feat = malloc(sizeof *feat * frames * (size_t)bins);
    if (!feat)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "%s: out of memory", name);
    double p = o->preemphasis;
    double *x = fb->frame;
    for (size_t f = 0; f < frames; f++) {
        const float *s = samples + f * (size_t)fb->shift;
        /* remove_dc_offset: x[j] = s[j] - mean(s) */
        double sum = 0.0;
        for (int j = 0; j < win; j++)
            sum += s[j];
        double mean = sum / win;
        for (int j = 0; j < win; j++)
            x[j] = s[j] - mean;
        /* pre-emphasis, the first sample against itself (replicate pad):
         * x[j] -= p x[j-1] for j >= 1, x[0] -= p x[0]; from the end so each
         * step still sees the unmodified x[j-1] */
        for (int j = win - 1; j > 0; j--)
            x[j] -= p * x[j - 1];
        x[0] -= p * x[0];
        double energy = 0.0; /* sum_j x[j]^2 after the window */
        for (int j = 0; j < win; j++) {
            x[j] *= fb->win[j];
            energy += x[j] * x[j];
            fb->fft_in[j] = (float)x[j];
        }
        /* fft_in[win..nfft) stays zero: set by calloc, never written */
        kiss_fftr(fb->fft, fb->fft_in, fb->spec);
        /* Power spectrum P_k = |X_k|^2.  kissfft works in float: its error
         * on X_k is ~1e-7 * |x|, whatever |X_k| is, so a bin far below the
         * frame's energy (speech has bins 60 dB down next to loud ones) comes
         * out with a relative error of 1e-3 or more.  Those bins, P_k <
         * REFINE * |x|^2, are recomputed as a direct DFT in double,
         *   X_k = sum_j x[j] (cos(2 pi jk / N) - i sin(2 pi jk / N)),
         * which leaves every bin within ~4e-5 relative of the exact value
         * (about a quarter of the bins, a few ms per second of audio). */
        double thr = REFINE * energy;
        for (int k = 0; k < fb->half; k++) {
            double re = fb->spec[k].r, im = fb->spec[k].i;
            double pw = re * re + im * im;
            if (pw < thr) {
                re = im = 0.0;
                unsigned m = 0, mask = (unsigned)fb->nfft - 1;
                for (int j = 0; j < win; j++) { /* m = j k mod N */
                    re += x[j] * fb->cos_t[m];
                    im -= x[j] * fb->sin_t[m];
                    m = (m + (unsigned)k) & mask;
                }
                pw = re * re + im * im;
            }
            fb->power[k] = pw;
        }
        float *row = feat + f * (size_t)bins;
        for (int b = 0; b < bins; b++) {
            const float *w = fb->weights + (size_t)b * (size_t)fb->half;
            double e = 0.0;
            for (int k = fb->lo[b]; k < fb->hi[b]; k++)
                e += w[k] * fb->power[k];
            row[b] = (float)log(e > FLT_EPSILON ? e : FLT_EPSILON);
        }
    }
    if (o->mean_norm) {
        /* x[t][b] -= (1/T) sum_t x[t][b] */
        for (int b = 0; b < bins; b++) {
            double sum = 0.0;
            for (size_t f = 0; f < frames; f++)
                sum += feat[f * (size_t)bins + (size_t)b];
            float mean = (float)(sum / (double)frames);
            for (size_t f = 0; f < frames; f++)
                feat[f * (size_t)bins + (size_t)b] -= mean;
        }
    }
    out->dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    out->rank = 2;
    out->dims[0] = (int64_t)frames;
    out->dims[1] = bins;
    out->data = feat;
    return ONNXQ_OK;
}

onnxq_status onnxq_fbank_file(onnxq_fbank *fb, const char *path,
                              onnxq_tensor *out, onnxq_error *err)
{
    memset(out, 0, sizeof *out);
    onnxq_audio a;
    onnxq_status rc = onnxq_audio_load(path, fb->o.sample_rate, &a, err);
    if (rc != ONNXQ_OK)
        return rc;
    rc = onnxq_fbank_compute(fb, a.samples, a.n, path, out, err);
    onnxq_audio_clear(&a);
    return rc;
}
