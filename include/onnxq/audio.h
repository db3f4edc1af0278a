/*
 * onnxq/audio.h — audio files to the log-mel filterbank ("fbank") features
 * speech models take, as torchaudio.compliance.kaldi.fbank computes them.
 *
 *     onnxq_fbank_options o;
 *     onnxq_fbank_options_init(&o);       // 16 kHz, 80 bins, Kaldi defaults
 *     onnxq_fbank *fb;
 *     if (onnxq_fbank_create(&o, &fb, &err) != ONNXQ_OK) ...
 *     onnxq_tensor feat;                  // float32 [frames, bins]
 *     if (onnxq_fbank_file(fb, "a.wav", &feat, &err) != ONNXQ_OK) ...
 *     // a model's input is [1, frames, bins]: add the batch dim
 *     feat.rank = 3;
 *     feat.dims[2] = feat.dims[1]; feat.dims[1] = feat.dims[0];
 *     feat.dims[0] = 1;
 *     ...
 *     free(feat.data);
 *     onnxq_fbank_destroy(fb);
 *
 * Loading (libsndfile: wav, flac, ogg, aiff, ...) gives float samples in
 * [-1, 1), the first channel only, as torchaudio.load returns them (int16
 * data divided by 32768, not kept in the int16 range).  Audio at another
 * rate is resampled with soxr at fixed settings (below), the same on every
 * machine (soxr's per-CPU SIMD paths may still differ in the last bits).
 *
 * Features follow Kaldi's compute-fbank-feats as torchaudio re-implements
 * it, with torchaudio's defaults: frames of 25 ms every 10 ms, only frames
 * that fit whole (snip_edges), per frame DC removal, pre-emphasis 0.97,
 * Povey window, zero padding to a power of two (512 points at 16 kHz),
 * power spectrum, triangular mel filters from 20 Hz to Nyquist, natural log
 * floored at FLT_EPSILON; no dither, no energy column.  Optional mean
 * normalisation subtracts each bin's mean over the frames.  Accuracy: within
 * ~2e-5 of torchaudio run in float64; torchaudio in float32 is itself off by
 * up to ~1e-3 in bins far below their frame's loudest.
 */
#ifndef ONNXQ_AUDIO_H
#define ONNXQ_AUDIO_H

#include <stddef.h>

#include "onnxq/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- loading -------------------------------------------------------------- */

typedef struct onnxq_audio {
    float *samples;    /* [n] first channel, malloc'd (onnxq_audio_clear) */
    size_t n;
    int sample_rate;   /* Hz of samples (after resampling) */
    int file_rate;     /* Hz as stored in the file */
    int file_channels; /* channels in the file; only the first is kept */
} onnxq_audio;

/* Reads path and keeps its first channel, resampled to sample_rate Hz (0:
 * keep the file's rate).  Errors name the file: missing or unreadable,
 * empty, not audio libsndfile knows, truncated (a WAV data chunk or a
 * stream shorter than its header says), NaN or infinite samples. */
onnxq_status onnxq_audio_load(const char *path, int sample_rate,
                              onnxq_audio *out, onnxq_error *err);
void onnxq_audio_clear(onnxq_audio *a); /* frees samples; NULL is a no-op */

/* Resamples in[n] from in_rate to out_rate Hz with soxr, pinned to
 * SOXR_VHQ (28-bit precision, double-precision filter), linear phase,
 * soxr's default pass band for it (0 dB to 0.911 of the lower Nyquist rate,
 * stop band from Nyquist) and one thread.  The output has
 * ceil(n * out_rate / in_rate) samples, the length
 * torchaudio.functional.resample gives (audio is taken as zero past its
 * end), so both agree on the number of frames.  *out is malloc'd (the
 * caller's to free); for equal rates it is a copy. */
onnxq_status onnxq_audio_resample(const float *in, size_t n, int in_rate,
                                  int out_rate, float **out, size_t *n_out,
                                  onnxq_error *err);

/* ---- features ------------------------------------------------------------- */

typedef struct onnxq_fbank_options {
    int sample_rate;        /* Hz of the samples (16000) */
    int num_mel_bins;       /* mel filters = feature columns (80) */
    double frame_length_ms; /* window length (25) */
    double frame_shift_ms;  /* hop (10) */
    double low_freq;        /* Hz, lower edge of the first filter (20) */
    double high_freq;       /* Hz, upper edge of the last; <= 0 is an
                               offset from Nyquist (0: Nyquist) */
    double preemphasis;     /* coefficient in [0, 1] (0.97) */
    int mean_norm;          /* 1: subtract each bin's mean over frames (0) */
} onnxq_fbank_options;

void onnxq_fbank_options_init(onnxq_fbank_options *o);

/* Precomputes the window, mel filters and FFT plan for the options. Fails
 * (invalid argument) on options torchaudio would reject, and when a mel
 * filter would cover no FFT bin (too many bins for the FFT size, as Kaldi
 * refuses).  One object per thread: computing uses its scratch memory. */
typedef struct onnxq_fbank onnxq_fbank;
onnxq_status onnxq_fbank_create(const onnxq_fbank_options *opts,
                                onnxq_fbank **out, onnxq_error *err);
void onnxq_fbank_destroy(onnxq_fbank *fb); /* NULL is a no-op */

int onnxq_fbank_bins(const onnxq_fbank *fb);
int onnxq_fbank_sample_rate(const onnxq_fbank *fb);
/* Frames n samples give: 1 + (n - window) / shift, 0 if n < window. */
size_t onnxq_fbank_frames(const onnxq_fbank *fb, size_t n);

/* Features of samples[n] (at the options' rate) into *out: float32
 * [frames, bins] with malloc'd data (the caller's to free).  Fails when n
 * is shorter than one frame; name (may be NULL) labels that error. */
onnxq_status onnxq_fbank_compute(onnxq_fbank *fb, const float *samples,
                                 size_t n, const char *name,
                                 onnxq_tensor *out, onnxq_error *err);

/* onnxq_audio_load at the options' rate, then onnxq_fbank_compute. */
onnxq_status onnxq_fbank_file(onnxq_fbank *fb, const char *path,
                              onnxq_tensor *out, onnxq_error *err);

#ifdef __cplusplus
}
#endif
#endif
