/*
 * calib_data.c — where calibration samples come from: a folder of tensor
 * files (.npy, .npz, ONNX test-data folders), of audio files (turned into
 * fbank features) or of images.  Files are listed and sorted once, then
 * samples are drawn from that list; each sample is decoded only when it is
 * asked for, so nothing is kept between samples.
 *
 * Drawing with replacement reproduces Python's
 *     random.seed(seed); random.choices(sorted_files, k=count)
 * (MT19937 seeded with init_by_array over the seed's 32-bit words, and
 * random() = (a * 2^26 + b) / 2^53 from two draws, index = floor(random()*n))
 * so onnxq calibrates on exactly the files the user's script picked.
 */
#include "onnxq/calib.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnxq/data.h"
#include "onnxq/tensor.h"
#include "oq_util.h"
#include "calib_image.h"

/* ---- Python-compatible MT19937 -------------------------------------------- */

enum { MT_N = 624, MT_M = 397 };
typedef struct mt19937 {
    uint32_t mt[MT_N];
    int mti;
} mt19937;

static void mt_init_genrand(mt19937 *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) +
                   (uint32_t)i;
    r->mti = MT_N;
}

static void mt_init_by_array(mt19937 *r, const uint32_t *key, int len)
{
    mt_init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) *
                                1664525u)) + key[j] + (uint32_t)j;
        i++, j++;
        if (i >= MT_N) {
            r->mt[0] = r->mt[MT_N - 1];
            i = 1;
        }
        if (j >= len)
            j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) *
                                1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) {
            r->mt[0] = r->mt[MT_N - 1];
            i = 1;
        }
    }
    r->mt[0] = 0x80000000u;
}

static uint32_t mt_next(mt19937 *r)
{
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    if (r->mti >= MT_N) {
        int k;
        uint32_t y;
        for (k = 0; k < MT_N - MT_M; k++) {
            y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; k < MT_N - 1; k++) {
            y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (r->mt[MT_N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->mti = 0;
    }
    uint32_t y = r->mt[r->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* Python's random.seed(int) for a non-negative 64-bit seed. */
static void mt_seed_python(mt19937 *r, uint64_t seed)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    mt_init_by_array(r, key, key[1] ? 2 : 1);
}

static double mt_random(mt19937 *r)
{
    uint32_t a = mt_next(r) >> 5, b = mt_next(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* ---- the object ---------------------------------------------------------------- */

struct onnxq_calib_data {
    onnxq_calib_data_options o;
    char *input_name;
    char **files;      /* sorted paths */
    size_t n_files;
    size_t *pick;      /* sample -> file index */
    size_t n_samples;
    onnxq_fbank *fb;   /* WAV */
};

void onnxq_calib_data_options_init(onnxq_calib_data_options *o)
{
    memset(o, 0, sizeof *o);
    onnxq_fbank_options_init(&o->fbank);
    o->image_h = o->image_w = 224;
    for (int c = 0; c < 3; c++)
        o->std[c] = 1.0f;
}

static int has_ext(const char *name, const char *const *exts)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; exts[i]; i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const AUDIO_EXTS[] = {"wav", "flac", "ogg", "oga", "opus",
                                         "aiff", "aif", "au", "mp3", NULL};
static const char *const IMAGE_EXTS[] = {"png", "jpg", "jpeg", NULL};

/* Which directory entries are samples of the kind. */
static int wanted(const onnxq_calib_data_options *o, const char *dir,
                  const char *name)
{
    if (name[0] == '.')
        return 0;
    char *p = oq_path_join(dir, name);
    struct stat st;
    int isdir = p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    switch (o->kind) {
    case ONNXQ_CALIB_TENSORS:
        if (isdir)
            return strncmp(name, "test_data_set", 13) == 0;
        return has_ext(name, (const char *const[]){"npy", "npz", NULL});
    case ONNXQ_CALIB_WAV:
        return !isdir && has_ext(name, AUDIO_EXTS);
    case ONNXQ_CALIB_IMAGES:
        return !isdir && has_ext(name, IMAGE_EXTS);
    }
    return 0;
}

static const char *kind_text(onnxq_calib_kind k)
{
    return k == ONNXQ_CALIB_WAV      ? "audio (.wav, .flac, .ogg ...)"
           : k == ONNXQ_CALIB_IMAGES ? "image (.png, .jpg)"
                                     : ".npy, .npz or test_data_set_*";
}

onnxq_status onnxq_calib_data_open(const onnxq_calib_data_options *o,
                                   onnxq_calib_data **out,
                                   onnxq_error *err)
{
    *out = NULL;
    if (!o || !o->dir)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "no calibration folder given");
    onnxq_calib_data *d = calloc(1, sizeof *d);
    if (!d)
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    d->o = *o;
    d->o.dir = NULL;
    onnxq_status st = ONNXQ_OK;
    if (o->input_name && !(d->input_name = oq_strdup(o->input_name)))
        goto oom;
    DIR *dh = opendir(o->dir);
    if (!dh) {
        st = onnxq_error_set(err, ONNXQ_ERR_IO,
                             "%s: cannot open the calibration folder", o->dir);
        goto fail;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (!wanted(o, o->dir, de->d_name))
            continue;
        if (oq_grow(&d->files, &cap, d->n_files + 1, sizeof *d->files) ||
            !(d->files[d->n_files] = oq_path_join(o->dir, de->d_name))) {
            closedir(dh);
            goto oom;
        }
        d->n_files++;
    }
    closedir(dh);
    if (d->n_files == 0) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: no %s calibration files in the folder",
                             o->dir, kind_text(o->kind));
        goto fail;
    }
    qsort(d->files, d->n_files, sizeof *d->files, cmp_str);

    d->n_samples = o->count ? o->count : d->n_files;
    if (o->count && o->no_replacement && o->count > d->n_files) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "%s: %zu samples without replacement, but the "
                             "folder has only %zu files", o->dir, o->count,
                             d->n_files);
        goto fail;
    }
    if (!(d->pick = malloc(d->n_samples * sizeof *d->pick)))
        goto oom;
    if (!o->count) {
        for (size_t i = 0; i < d->n_samples; i++)
            d->pick[i] = i;
    } else {
        mt19937 r;
        mt_seed_python(&r, o->seed);
        if (!o->no_replacement) {
            for (size_t i = 0; i < d->n_samples; i++) {
                size_t k = (size_t)floor(mt_random(&r) * (double)d->n_files);
                d->pick[i] = k < d->n_files ? k : d->n_files - 1;
            }
        } else {
            size_t *perm = malloc(d->n_files * sizeof *perm);
            if (!perm)
                goto oom;
            for (size_t i = 0; i < d->n_files; i++)
                perm[i] = i;
            for (size_t i = 0; i < d->n_samples; i++) {
                size_t left = d->n_files - i;
                size_t k = i + (size_t)floor(mt_random(&r) * (double)left);
                if (k >= d->n_files)
                    k = d->n_files - 1;
                size_t t = perm[i];
                perm[i] = perm[k];
                perm[k] = t;
                d->pick[i] = perm[i];
            }
            free(perm);
        }
    }
    if (o->kind == ONNXQ_CALIB_WAV) {
        st = onnxq_fbank_create(&o->fbank, &d->fb, err);
        if (st != ONNXQ_OK)
            goto fail;
    }
    if (o->kind == ONNXQ_CALIB_IMAGES &&
        (o->image_h <= 0 || o->image_w <= 0 || o->image_h > 16384 ||
         o->image_w > 16384)) {
        st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                             "image size %dx%d is out of range", o->image_h,
                             o->image_w);
        goto fail;
    }
    *out = d;
    return ONNXQ_OK;
oom:
    st = onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
fail:
    onnxq_calib_data_destroy(d);
    return st;
}

void onnxq_calib_data_destroy(onnxq_calib_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_files; i++)
        free(d->files[i]);
    free(d->files);
    free(d->pick);
    free(d->input_name);
    onnxq_fbank_destroy(d->fb);
    free(d);
}

size_t onnxq_calib_data_count(const onnxq_calib_data *d)
{
    return d->n_samples;
}

size_t onnxq_calib_data_n_files(const onnxq_calib_data *d)
{
    return d->n_files;
}

const char *onnxq_calib_data_path(const onnxq_calib_data *d, size_t i)
{
    return i < d->n_samples ? d->files[d->pick[i]] : NULL;
}

/* ---- checking a tensor against a graph input ------------------------------ */

static void shape_text(char *buf, size_t n, const onnxq_tensor *t)
{
    size_t k = (size_t)snprintf(buf, n, "%s [", onnxq_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "",
                              (long long)t->dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static void expected_text(char *buf, size_t n, const Onnx__ValueInfoProto *vi)
{
    const Onnx__TypeProto__Tensor *tt =
        vi->type ? vi->type->tensor_type : NULL;
    size_t k = (size_t)snprintf(buf, n, "%s",
                                onnxq_dtype_name(tt ? tt->elem_type : 0));
    if (!tt || !tt->shape) {
        if (k < n)
            snprintf(buf + k, n - k, " (any shape)");
        return;
    }
    k += (size_t)snprintf(buf + k, n - k, " [");
    for (size_t i = 0; i < tt->shape->n_dim && k < n; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
        const char *sep = i ? ", " : "";
        if (dm->value_case ==
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", sep,
                                  (long long)dm->dim_value);
        else if (dm->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, dm->dim_param);
        else
            k += (size_t)snprintf(buf + k, n - k, "%s?", sep);
    }
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static onnxq_status check_fits(const char *file, const Onnx__ValueInfoProto *vi,
                               const onnxq_tensor *t, onnxq_error *err)
{
    const Onnx__TypeProto__Tensor *tt =
        vi->type ? vi->type->tensor_type : NULL;
    int ok = 1;
    if (tt && tt->elem_type && tt->elem_type != t->dtype)
        ok = 0;
    if (ok && tt && tt->shape) {
        if ((int)tt->shape->n_dim != t->rank)
            ok = 0;
        for (size_t i = 0; ok && i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
            if (dm->value_case ==
                    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                dm->dim_value != t->dims[i])
                ok = 0;
        }
    }
    if (!ok) {
        char want[256], got[256];
        expected_text(want, sizeof want, vi);
        shape_text(got, sizeof got, t);
        return onnxq_error_set(err, ONNXQ_ERR_SHAPE_MISMATCH,
                               "%s: input '%s' expects %s, the sample is %s",
                               file, vi->name, want, got);
    }
    if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        size_t n = onnxq_tensor_nbytes(t) / sizeof(float);
        const float *x = t->data;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                       "%s: input '%s' holds %s at element "
                                       "%zu", file, vi->name,
                                       isnan(x[i]) ? "NaN" : "an infinity", i);
    }
    return ONNXQ_OK;
}

/* The one input a single-tensor sample (npy, wav, image) feeds. */
static onnxq_status single_input(const onnxq_calib_data *d, const char *file,
                                 const Onnx__ValueInfoProto *const *inputs,
                                 size_t n_inputs, size_t *which,
                                 onnxq_error *err)
{
    if (d->input_name) {
        size_t k;
        for (k = 0; k < n_inputs; k++)
            if (strcmp(inputs[k]->name, d->input_name) == 0)
                break;
        if (k == n_inputs)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                   "the model has no input '%s' (its "
                                   "input%s: %s%s)", d->input_name,
                                   n_inputs == 1 ? " is" : "s",
                                   n_inputs ? inputs[0]->name : "none",
                                   n_inputs > 1 ? ", ..." : "");
        for (size_t j = 0; j < n_inputs; j++)
            if (j != k)
                return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                       "model input '%s' is not covered by "
                                       "the calibration data (it feeds only "
                                       "'%s')", inputs[j]->name,
                                       d->input_name);
        *which = k;
        return ONNXQ_OK;
    }
    if (n_inputs != 1)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "%s: one tensor per sample, but the model has "
                               "%zu inputs to feed (use .npz files or "
                               "test_data_set folders)", file, n_inputs);
    *which = 0;
    return ONNXQ_OK;
}

static void free_out(onnxq_tensor *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

/* .npz: keys are input names; test_data_set_*: input_<i>.pb by name or
 * index. */
static onnxq_status get_multi(const char *file, int is_npz,
                              const Onnx__ValueInfoProto *const *inputs,
                              size_t n_inputs, onnxq_tensor *out,
                              onnxq_error *err)
{
    onnxq_status st = ONNXQ_OK;
    if (is_npz) {
        onnxq_named_tensor *nt = NULL;
        size_t n = 0;
        st = onnxq_npz_read(file, &nt, &n, err);
        if (st != ONNXQ_OK)
            return st;
        for (size_t i = 0; i < n_inputs && st == ONNXQ_OK; i++) {
            size_t k;
            for (k = 0; k < n; k++)
                if (strcmp(nt[k].name, inputs[i]->name) == 0)
                    break;
            if (k == n) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s: no array named '%s' (the model's "
                                     "input)", file, inputs[i]->name);
                break;
            }
            out[i] = nt[k].tensor;
            nt[k].tensor.data = NULL;
        }
        for (size_t k = 0; st == ONNXQ_OK && k < n; k++)
            if (nt[k].tensor.data)
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s: array '%s' is not an input of "
                                     "the model", file, nt[k].name);
        onnxq_named_tensors_free(nt, n);
        return st;
    }
    for (size_t i = 0; i < n_inputs && st == ONNXQ_OK; i++) {
        char leaf[64];
        snprintf(leaf, sizeof leaf, "input_%zu.pb", i);
        char *p = oq_path_join(file, leaf);
        if (!p)
            return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                                   "out of memory");
        struct stat sb;
        if (stat(p, &sb) != 0) {
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "%s: no %s for input '%s'", file, leaf,
                                 inputs[i]->name);
            free(p);
            break;
        }
        char *name = NULL;
        onnxq_tensor t;
        st = onnxq_pb_read(p, &t, &name, err);
        free(p);
        if (st != ONNXQ_OK)
            break;
        /* a named tensor goes to the input of that name */
        size_t dst = i;
        if (name && name[0]) {
            size_t k;
            for (k = 0; k < n_inputs; k++)
                if (strcmp(inputs[k]->name, name) == 0)
                    break;
            if (k == n_inputs) {
                st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                     "%s/%s: tensor '%s' is not an input of "
                                     "the model", file, leaf, name);
                free(name);
                free(t.data);
                break;
            }
            dst = k;
        }
        free(name);
        if (out[dst].data) {
            free(t.data);
            st = onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                                 "%s: input '%s' given twice", file,
                                 inputs[dst]->name);
            break;
        }
        out[dst] = t;
    }
    return st;
}

onnxq_status onnxq_calib_data_get(onnxq_calib_data *d, size_t i,
                                  const Onnx__ValueInfoProto *const *inputs,
                                  size_t n_inputs, onnxq_tensor *out,
                                  onnxq_error *err)
{
    if (i >= d->n_samples)
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_ARGUMENT,
                               "sample %zu of %zu", i, d->n_samples);
    const char *file = d->files[d->pick[i]];
    memset(out, 0, n_inputs * sizeof *out);
    onnxq_status st;
    size_t which = 0;
    if (d->o.kind == ONNXQ_CALIB_TENSORS &&
        !has_ext(file, (const char *const[]){"npy", NULL})) {
        st = get_multi(file, has_ext(file, (const char *const[]){"npz", NULL}),
                       inputs, n_inputs, out, err);
    } else {
        st = single_input(d, file, inputs, n_inputs, &which, err);
        if (st == ONNXQ_OK) {
            onnxq_tensor t;
            if (d->o.kind == ONNXQ_CALIB_TENSORS) {
                st = onnxq_npy_read(file, &t, err);
            } else if (d->o.kind == ONNXQ_CALIB_WAV) {
                st = onnxq_fbank_file(d->fb, file, &t, err);
                if (st == ONNXQ_OK) {
                    /* [frames, bins] -> [1, frames, bins] */
                    t.rank = 3;
                    t.dims[2] = t.dims[1];
                    t.dims[1] = t.dims[0];
                    t.dims[0] = 1;
                }
            } else {
                st = oq_calib_image_load(file, d->o.image_h, d->o.image_w,
                                         d->o.mean, d->o.std, d->o.nhwc, &t,
                                         err);
            }
            if (st == ONNXQ_OK)
                out[which] = t;
        }
    }
    for (size_t k = 0; k < n_inputs && st == ONNXQ_OK; k++)
        st = check_fits(file, inputs[k], &out[k], err);
    if (st != ONNXQ_OK)
        free_out(out, n_inputs);
    return st;
}
