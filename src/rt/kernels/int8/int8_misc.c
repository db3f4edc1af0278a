/*
 * int8_misc.c — kernels for the 8-bit ops quantized models leave on the hot
 * path besides the convolutions and matmuls (int8_ops.c):
 *
 * Resize in nearest mode on the uint8/int8 tensor itself, which QDQ fusion
 * leaves once it has dropped the Q/DQ pair around it (fuse_qdq.c pattern
 * 1), and QOperator models have as it is.  In the int8 PaddleOCR detector
 * its six FPN upsamplings took 125 ms a run at one thread on the reference
 * kernel (a per-element index walk in double) against 3.5 ms for the float
 * model's vectorised Resize.  The fast kernel takes what kernels/vec's
 * float Resize takes — opset 11+, mode nearest,
 * coordinate_transformation_mode asymmetric, nearest_mode floor, integer
 * upscale factors (from scales or sizes) on the last two axes and 1 on the
 * others — for 1-byte elements: y[.., h, w] = x[.., h / kh, w / kw], the
 * reference's nearest copy byte for byte.  A float (or other) Resize, and
 * an 8-bit one outside that case, goes to the next fast kernel for the op
 * (the one listed after this in registry.c, prepared alongside) or,
 * failing that, to the reference kernel, which also reports errors.
 * ONNXQ_VERBOSE=1 says once per node on stderr when an 8-bit input was
 * handed on.
 *
 * MaxPool on an 8-bit NCHW tensor without Indices (QDQ fusion drops the
 * Q/DQ pair around it too): the reference's window geometry (pads or
 * auto_pad, strides, dilations, ceil_mode), one output row at a time, a
 * window with nothing inside giving the type's lowest value.  In the QDQ
 * conv net of tests/quant/make_qdq_models.py at 64x64 the reference
 * MaxPool took 60% of the run.  Same hand-over as Resize for the rest.
 *
 * com.onnxq Lookup8 (x, table) -> y = table[byte of x]: the node
 * rt/fuse_lut.c puts in place of an 8-bit elementwise island (x and table
 * 8-bit, table 256 entries indexed by x's bit pattern, y of table's type).
 * A plain kernel (the only one for the op), listed in registry.c's tables.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8_kernels.h"
#include "oq_util.h"
#include "registry.h"

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
};

static atomic_size_t n_fast, n_fallback, n_lookup;

void oq_int8_misc_stats(size_t *fast, size_t *fallback, size_t *lookups)
{
    *fast = atomic_load(&n_fast);
    *fallback = atomic_load(&n_fallback);
    *lookups = atomic_load(&n_lookup);
}

static int verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = oq_env_on("ONNXQ_VERBOSE");
    return v;
}

/* ---- state: this kernel, the next candidate, the reference -------------- */

typedef struct misc_state {
    const oq_kernel *ref;
    const oq_fast_kernel *next;  /* the next fast kernel that took the node */
    void *next_state;
    int said;                    /* ONNXQ_VERBOSE: told once */
} misc_state;

/* Prepares the node for self, and for the fast kernels after self in the
 * registry (their float paths serve the inputs self hands on). */
static onnxq_status misc_prepare(const oq_fast_kernel *self,
                                 const oq_prepare_ctx *p, void **state)
{
    const Onnx__NodeProto *node = p->node;
    const char *domain = node->domain ? node->domain : "";
    int cf;
    const oq_kernel *ref = oq_find_kernel(domain, node->op_type, p->opset, &cf);
    if (!ref || !ref->run)
        return ONNXQ_ERR_UNSUPPORTED;
    misc_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    st->ref = ref;
    size_t n;
    const oq_fast_kernel *const *c =
        oq_find_fast_kernels(domain, node->op_type, p->opset, &n);
    size_t k = 0;
    while (k < n && c[k] != self)
        k++;
    for (k++; k < n; k++) {
        void *ns = NULL;
        onnxq_status s = c[k]->prepare(p, &ns);
        if (s == ONNXQ_OK) {
            st->next = c[k];
            st->next_state = ns;
            break;
        }
        if (s != ONNXQ_ERR_UNSUPPORTED) {
            free(st);
            return s;
        }
    }
    *state = st;
    return ONNXQ_OK;
}

static void misc_release(void *state)
{
    misc_state *st = state;
    if (st && st->next && st->next->release)
        st->next->release(st->next_state);
    free(st);
}

/* Runs the node on the next fast kernel, or the reference.  eight_bit: the
 * input was 8-bit (counted as a fallback, and said once). */
static onnxq_status hand_on(oq_kctx *ctx, int eight_bit, const char *why)
{
    misc_state *st = ctx->state;
    if (eight_bit) {
        atomic_fetch_add(&n_fallback, 1);
        if (verbose() && !st->said) {
            st->said = 1;
            const Onnx__NodeProto *nd = ctx->node;
            fprintf(stderr, "onnxq: int8 %s '%s': %s: the reference kernel "
                    "runs it\n", nd->op_type,
                    nd->name && nd->name[0] ? nd->name : "(unnamed)", why);
        }
    }
    if (!st->next)
        return st->ref->run(ctx);
    ctx->state = st->next_state;
    onnxq_status s = st->next->run(ctx);
    ctx->state = st;
    return s;
}

static int is_byte(const oq_tensor *t)
{
    return t && (t->dtype == T_UINT8 || t->dtype == T_INT8);
}

/* ---- Resize ------------------------------------------------------------- */

/* Integer factors out / in for every axis from scales (float, whole numbers
 * 1..64) or sizes (int64 multiples of the input); 0 otherwise. */
static int resize_factors(const oq_tensor *x, const oq_tensor *scales,
                          const oq_tensor *sizes, int64_t *k)
{
    size_t r = (size_t)x->rank;
    if (scales && oq_numel(scales) == 0)
        scales = NULL;
    if (scales) {
        /* both given is an error the reference reports */
        if (oq_numel(scales) != r || scales->dtype != T_FLOAT ||
            (sizes && oq_numel(sizes)))
            return 0;
        const float *s = scales->data;
        for (size_t d = 0; d < r; d++) {
            if (!(s[d] >= 1 && s[d] <= 64) || s[d] != floorf(s[d]))
                return 0;
            k[d] = (int64_t)s[d];
        }
        return 1;
    }
    if (!sizes || oq_numel(sizes) != r || sizes->dtype != T_INT64)
        return 0;
    const int64_t *s = sizes->data;
    for (size_t d = 0; d < r; d++) {
        if (x->dims[d] <= 0 || s[d] < x->dims[d] || s[d] % x->dims[d])
            return 0;
        k[d] = s[d] / x->dims[d];
    }
    return 1;
}

/* One output row from one input row: each byte repeated kw times. */
static void widen_row(size_t w, size_t kw, const uint8_t *restrict x,
                      uint8_t *restrict y)
{
    if (kw == 1) {
        memcpy(y, x, w);
    } else if (kw == 2) {
        for (size_t i = 0; i < w; i++)
            y[2 * i] = y[2 * i + 1] = x[i];
    } else {
        for (size_t i = 0; i < w; i++)
            memset(y + i * kw, x[i], kw);
    }
}

static int attr_is(oq_kctx *ctx, const char *name, const char *dflt,
                   const char *want)
{
    char buf[40];
    return strcmp(oq_attr_string(ctx, name, dflt, buf, sizeof buf), want) == 0;
}

static onnxq_status run_resize(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!is_byte(x))
        return hand_on(ctx, 0, NULL);
    if (ctx->opset < 11 || x->rank < 2 || !oq_numel(x) || ctx->n_in < 3 ||
        oq_attr(ctx, "axes") ||
        !attr_is(ctx, "keep_aspect_ratio_policy", "stretch", "stretch") ||
        !attr_is(ctx, "mode", "nearest", "nearest") ||
        !attr_is(ctx, "coordinate_transformation_mode", "half_pixel",
                 "asymmetric") ||
        !attr_is(ctx, "nearest_mode", "round_prefer_floor", "floor"))
        return hand_on(ctx, 1, "not nearest/asymmetric/floor (opset 11+)");
    int64_t k[OQ_MAX_RANK];
    int r = x->rank;
    if (!resize_factors(x, oq_in(ctx, 2), oq_in(ctx, 3), k))
        return hand_on(ctx, 1, "not an integer upscale");
    for (int d = 0; d < r - 2; d++)
        if (k[d] != 1)
            return hand_on(ctx, 1, "resizes an axis before the last two");
    int64_t dims[OQ_MAX_RANK];
    for (int d = 0; d < r; d++)
        dims[d] = x->dims[d] * k[d];
    oq_tensor *y = oq_output_raw(ctx, 0, x->dtype, r, dims);
    if (!y)
        return oq_failed(ctx);
    size_t h = (size_t)x->dims[r - 2], w = (size_t)x->dims[r - 1];
    size_t kh = (size_t)k[r - 2], kw = (size_t)k[r - 1], wo = w * kw;
    size_t rows = oq_numel_dims(x->dims, r - 2) * h;
    const uint8_t *px = x->data;
    uint8_t *py = y->data;
    int nt = oq_threads(ctx);
    /* bytes: the threshold counts 4 output bytes as one float element's work */
    OQ_PAR_FOR(nt, rows * kh * wo / 4)
    for (size_t i = 0; i < rows; i++) {
        uint8_t *dst = py + i * kh * wo;
        widen_row(w, kw, px + i * w, dst);
        for (size_t j = 1; j < kh; j++)
            memcpy(dst + j * wo, dst, wo);
    }
    atomic_fetch_add(&n_fast, 1);
    return ONNXQ_OK;
}

static onnxq_status prepare_resize(const oq_prepare_ctx *p, void **state)
{
    return misc_prepare(&oq_int8_resize, p, state);
}

const oq_fast_kernel oq_int8_resize = {
    "", "Resize", 11, 21, prepare_resize, run_resize, misc_release};

/* ---- MaxPool ------------------------------------------------------------ */

/* attribute name: n values into v (default dflt when absent); 0 if it has
 * another count (the reference reports that) */
static int read_ints(oq_kctx *ctx, const char *name, int n, int64_t dflt,
                     int64_t *v)
{
    const int64_t *a;
    long k = oq_attr_ints(ctx, name, &a);
    for (int i = 0; i < n; i++)
        v[i] = k < 0 ? dflt : i < k ? a[i] : 0;
    return k < 0 || k == n;
}

/* One output row of an 8-bit max pool; values are compared as unsigned
 * bytes after XOR with flip (0x80 for int8, which maps -128..127 onto
 * 0..255 in order), so 0 is the type's lowest value (a window with no
 * element inside gives it, as in the reference). */
static void max_row(const uint8_t *x, int64_t H, int64_t W, int64_t oh,
                    int64_t OW, const int64_t *k, const int64_t *s,
                    const int64_t *d, const int64_t *p0, uint8_t flip,
                    uint8_t *restrict y)
{
    memset(y, 0, (size_t)OW);
    for (int64_t kh = 0; kh < k[0]; kh++) {
        int64_t ih = oh * s[0] - p0[0] + kh * d[0];
        if (ih < 0 || ih >= H)
            continue;
        const uint8_t *xr = x + ih * W;
        for (int64_t kw = 0; kw < k[1]; kw++) {
            int64_t off = kw * d[1] - p0[1];  /* iw = ow * s + off */
            int64_t lo = off >= 0 ? 0 : (-off + s[1] - 1) / s[1];
            int64_t hi = W - off <= 0 ? 0 : (W - off + s[1] - 1) / s[1];
            if (hi > OW)
                hi = OW;
            if (s[1] == 1) {
                for (int64_t ow = lo; ow < hi; ow++) {
                    uint8_t v = xr[ow + off] ^ flip;
                    y[ow] = v > y[ow] ? v : y[ow];
                }
            } else {
                for (int64_t ow = lo; ow < hi; ow++) {
                    uint8_t v = xr[ow * s[1] + off] ^ flip;
                    y[ow] = v > y[ow] ? v : y[ow];
                }
            }
        }
    }
    if (flip)
        for (int64_t ow = 0; ow < OW; ow++)
            y[ow] ^= flip;
}

/* MaxPool on an 8-bit NCHW tensor without the Indices output: the
 * reference's window geometry (pads or auto_pad, strides, dilations,
 * ceil_mode). */
static onnxq_status run_max_pool(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!is_byte(x))
        return hand_on(ctx, 0, NULL);
    if (x->rank != 4 || !oq_numel(x) || ctx->n_out != 1)
        return hand_on(ctx, 1, "not 2-D, empty, or with Indices");
    int64_t k[2], s[2], d[2], pads[4], p0[2], out[2], in[2] = {x->dims[2], x->dims[3]};
    const int64_t *ks;
    char buf[32];
    const char *ap = oq_attr_string(ctx, "auto_pad", "NOTSET", buf, sizeof buf);
    int same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    int valid = strcmp(ap, "VALID") == 0;
    int ceil_mode = oq_attr_int(ctx, "ceil_mode", 0) != 0;
    int64_t order = oq_attr_int(ctx, "storage_order", 0);
    if (order != 0 && order != 1)
        return hand_on(ctx, 1, "storage_order the reference rejects");
    if (oq_attr_ints(ctx, "kernel_shape", &ks) != 2 ||
        !read_ints(ctx, "strides", 2, 1, s) || !read_ints(ctx, "dilations", 2, 1, d) ||
        !read_ints(ctx, "pads", 4, 0, pads) ||
        !(same_upper || same_lower || valid || strcmp(ap, "NOTSET") == 0))
        return hand_on(ctx, 1, "attributes the reference checks");
    for (int i = 0; i < 2; i++) {
        k[i] = ks[i];
        if (k[i] < 1 || s[i] < 1 || d[i] < 1)
            return hand_on(ctx, 1, "kernel, stride or dilation below 1");
        int64_t ek = (k[i] - 1) * d[i] + 1;
        if (same_upper || same_lower) {
            out[i] = (in[i] + s[i] - 1) / s[i];
            int64_t need = (out[i] - 1) * s[i] + ek - in[i];
            p0[i] = same_upper ? need / 2 : (need + 1) / 2;
            continue;
        }
        p0[i] = valid ? 0 : pads[i];
        int64_t p1 = valid ? 0 : pads[2 + i];
        int64_t span = in[i] + p0[i] + p1 - ek;
        if (span < 0 || p0[i] < 0 || p1 < 0)
            return hand_on(ctx, 1, "kernel larger than the padded input");
        out[i] = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
        if (ceil_mode && (out[i] - 1) * s[i] >= in[i] + p0[i])
            out[i]--;
    }
    int64_t dims[4] = {x->dims[0], x->dims[1], out[0], out[1]};
    oq_tensor *y = oq_output_raw(ctx, 0, x->dtype, 4, dims);
    if (!y)
        return oq_failed(ctx);
    uint8_t flip = x->dtype == T_INT8 ? 0x80 : 0;
    size_t planes = (size_t)(x->dims[0] * x->dims[1]);
    size_t rows = planes * (size_t)out[0], plane_in = (size_t)(in[0] * in[1]);
    const uint8_t *px = x->data;
    uint8_t *py = y->data;
    OQ_PAR_FOR(oq_threads(ctx), rows * (size_t)(out[1] * k[0] * k[1]) / 4)
    for (size_t r = 0; r < rows; r++) {
        size_t pl = r / (size_t)out[0];
        max_row(px + pl * plane_in, in[0], in[1], (int64_t)(r % (size_t)out[0]),
                out[1], k, s, d, p0, flip, py + r * (size_t)out[1]);
    }
    atomic_fetch_add(&n_fast, 1);
    return ONNXQ_OK;
}

static onnxq_status prepare_max_pool(const oq_prepare_ctx *p, void **state)
{
    return misc_prepare(&oq_int8_max_pool, p, state);
}

const oq_fast_kernel oq_int8_max_pool = {
    "", "MaxPool", 1, 21, prepare_max_pool, run_max_pool, misc_release};

/* ---- com.onnxq Lookup8 --------------------------------------------------- */

enum { LUT_PIECE = 1 << 16 };  /* bytes per parallel piece */

static onnxq_status run_lookup8(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *t = oq_in(ctx, 1);
    if (!is_byte(x) || !is_byte(t) || oq_numel(t) != 256) {
        char a[64], b[64];
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "needs an 8-bit x and a 256-entry 8-bit table (x %s, "
                        "table %s)", x ? oq_shape_str(x, a, sizeof a) : "missing",
                        t ? oq_shape_str(t, b, sizeof b) : "missing");
    }
    oq_tensor *y = oq_output_raw(ctx, 0, t->dtype, x->rank, x->dims);
    if (!y)
        return oq_failed(ctx);
    const uint8_t *px = x->data, *tab = t->data;
    uint8_t *py = y->data;
    size_t n = oq_numel(x), pieces = (n + LUT_PIECE - 1) / LUT_PIECE;
    OQ_PAR_FOR(oq_threads(ctx), n / 4)
    for (size_t p = 0; p < pieces; p++) {
        size_t lo = p * LUT_PIECE, hi = n - lo < LUT_PIECE ? n : lo + LUT_PIECE;
        for (size_t i = lo; i < hi; i++)
            py[i] = tab[px[i]];
    }
    atomic_fetch_add(&n_lookup, 1);
    return ONNXQ_OK;
}

OQ_KERNEL_TABLE(oq_int8_misc_kernels) = {
    {"com.onnxq", "Lookup8", 1, 1, run_lookup8},
    {NULL, NULL, 0, 0, NULL},
};
