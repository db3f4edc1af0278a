/*
 * shape_ops.c — reference kernels for ONNX's data-movement ops: the ops that
 * query, reshape, reorder, select, replicate or generate tensors (Shape,
 * Reshape, Transpose, Slice, Gather*, Scatter*, Pad, Tile, Range, ...), and
 * the few selection ops that must compare or add elements (TopK, Unique,
 * CumSum).  Spec: ai.onnx operators, opsets 7..21; where the spec leaves a
 * choice open we follow ONNX Runtime, and say so.
 *
 * Most kernels never look at an element's type, only at its size
 * (onnxq_dtype_size): elements move as opaque byte strings, so one kernel
 * serves every dtype.  The ops that must compare or do arithmetic read
 * elements through the small `num` helpers below, which keep integers exact
 * (int64 and uint64 are not squeezed through double) and round floats to
 * their own type after every step, as ONNX Runtime's typed kernels do.
 *
 * Two places depart from ONNX Runtime 1.30 to follow the spec (and numpy,
 * its reference): OneHot casts float indices to int64 as the spec says (ORT
 * matches only integral values), and Pad's wrap mode keeps wrapping when a
 * pad is wider than the axis (ORT repeats wrongly there).
 *
 * Conventions shared by every kernel here:
 *   - axes may be negative (counted from the back), as the spec allows;
 *   - index-valued inputs (indices, axes, shapes, pads, repeats) may be int32
 *     or int64;  an index out of range fails the node with
 *     ONNXQ_ERR_INVALID_ARGUMENT and names the value — never a clamp, never a
 *     read outside the buffer;
 *   - messages name the shapes, axes and values involved.
 *
 * Layout: plumbing, typed element access, the strided copy that Transpose,
 * Slice, Expand, Tile, DepthToSpace and SpaceToDepth share, then the kernels
 * grouped by what they do, then the table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/tensor.h"
#include "ref_kernels.h"

#define DT(name) ONNX__TENSOR_PROTO__DATA_TYPE__##name

typedef unsigned char byte;

/* ==== plumbing ============================================================ */

#define TRY(call)                                                             \
    do {                                                                      \
        onnxq_status try_st_ = (call);                                        \
        if (try_st_ != ONNXQ_OK)                                              \
            return try_st_;                                                   \
    } while (0)

/* A shape as text for messages: "[2,3,4]".  Returned by value so several can
 * appear in one oq_kfail call (the temporary lives until the call ends). */
typedef struct shape_text {
    char s[OQ_MAX_RANK * 21 + 3];
} shape_text;

static shape_text shp(const int64_t *dims, int rank)
{
    shape_text t;
    size_t n = 0;
    t.s[n++] = '[';
    for (int d = 0; d < rank && n < sizeof t.s - 22; d++)
        n += (size_t)snprintf(t.s + n, sizeof t.s - n, "%s%lld", d ? "," : "",
                              (long long)dims[d]);
    t.s[n++] = ']';
    t.s[n] = '\0';
    return t;
}

static onnxq_status need_input(oq_kctx *ctx, size_t i, const char *name,
                               const oq_tensor **t)
{
    *t = oq_in(ctx, i);
    if (!*t)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "input %zu (%s) is required", i, name);
    return ONNXQ_OK;
}

/* Element size of t's type; types without a fixed size are unsupported. */
static onnxq_status elem_size(oq_kctx *ctx, const oq_tensor *t, size_t *es)
{
    *es = onnxq_dtype_size(t->dtype);
    if (!*es)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "element type %s is not supported",
                        onnxq_dtype_name(t->dtype));
    return ONNXQ_OK;
}

/* oq_output with a status: oq_output has already written the message, and
 * its status is in ctx->err unless the caller of the run passed none. */
static onnxq_status new_output(oq_kctx *ctx, size_t i, int32_t dtype,
                               int rank, const int64_t *dims, oq_tensor **t)
{
    *t = oq_output(ctx, i, dtype, rank, dims);
    return *t ? ONNXQ_OK : oq_failed(ctx);
}

/* Output ranks are computed before dims arrays are filled: check first. */
static onnxq_status check_rank(oq_kctx *ctx, long rank)
{
    if (rank > OQ_MAX_RANK)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "output rank %ld is above onnxq's limit of %d", rank,
                        OQ_MAX_RANK);
    return ONNXQ_OK;
}

/* Product of dims[from..to). */
static int64_t prod(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++)
        p *= dims[d];
    return p;
}

static void strides_of(const int64_t *dims, int rank, int64_t *strides)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

static inline int64_t index_at(const oq_tensor *t, size_t i)
{
    if (t->dtype == DT(INT64))
        return ((const int64_t *)t->data)[i];
    return ((const int32_t *)t->data)[i];
}

static onnxq_status check_index_type(oq_kctx *ctx, const oq_tensor *t,
                                     const char *what)
{
    if (!oq_is_index(t->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s must be int32 or int64, got %s", what,
                        onnxq_dtype_name(t->dtype));
    return ONNXQ_OK;
}

/* Reads a list input (rank 0 or 1, int32/int64) of at most max values. */
static onnxq_status read_list(oq_kctx *ctx, const oq_tensor *t,
                              const char *what, int64_t *v, size_t max,
                              size_t *n)
{
    TRY(check_index_type(ctx, t, what));
    if (t->rank > 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s must be 1-D, got shape %s", what,
                        shp(t->dims, t->rank).s);
    size_t k = oq_numel(t);
    if (k > max)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s has %zu values, at most %zu make sense here", what,
                        k, max);
    for (size_t i = 0; i < k; i++)
        v[i] = index_at(t, i);
    *n = k;
    return ONNXQ_OK;
}

/* Reads a one-value int input (0-D, or 1-D with one element). */
static onnxq_status read_scalar(oq_kctx *ctx, const oq_tensor *t,
                                const char *what, int64_t *v)
{
    TRY(check_index_type(ctx, t, what));
    if (oq_numel(t) != 1 || t->rank > 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s must hold a single value, got shape %s", what,
                        shp(t->dims, t->rank).s);
    *v = index_at(t, 0);
    return ONNXQ_OK;
}

/* Maps an axis in [-rank, rank) to [0, rank). */
static onnxq_status norm_axis(oq_kctx *ctx, int64_t axis, int rank,
                              const char *what, int *out)
{
    *out = 0; /* set on failure too: callers' compilers cannot tell */
    if (axis < -rank || axis >= rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "%s %lld is out of range for rank %d", what,
                        (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return ONNXQ_OK;
}

/* Maps index v along an axis of size n ([-n, n), negative from the back). */
static onnxq_status norm_index(oq_kctx *ctx, int64_t v, int64_t n, int axis,
                               int64_t *out)
{
    *out = 0;
    if (v < -n || v >= n)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "index %lld is out of range for axis %d of size %lld",
                        (long long)v, axis, (long long)n);
    *out = v < 0 ? v + n : v;
    return ONNXQ_OK;
}

/* Normalizes a list of axes for a tensor of rank `rank`; rejects repeats
 * (every op here that takes an axes list forbids them). */
static onnxq_status norm_axes(oq_kctx *ctx, const int64_t *axes, size_t n,
                              int rank, int *out)
{
    char seen[OQ_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        TRY(norm_axis(ctx, axes[i], rank, "axis", &out[i]));
        if (seen[out[i]])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "axis %lld is given twice", (long long)axes[i]);
        seen[out[i]] = 1;
    }
    return ONNXQ_OK;
}

/* The axes of ops that moved them from an attribute to an input at opset 13
 * (Squeeze, Unsqueeze): *n = -1 when absent. */
static onnxq_status axes_attr_or_input(oq_kctx *ctx, int64_t *axes,
                                       long *n)
{
    *n = -1;
    if (ctx->opset < 13) {
        const int64_t *v;
        long k = oq_attr_ints(ctx, "axes", &v);
        if (k > 2 * OQ_MAX_RANK)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "axes has %ld values", k);
        for (long i = 0; i < k; i++)
            axes[i] = v[i];
        *n = k;
        return ONNXQ_OK;
    }
    const oq_tensor *t = oq_in(ctx, 1);
    if (t) {
        size_t k;
        TRY(read_list(ctx, t, "axes", axes, 2 * OQ_MAX_RANK, &k));
        *n = (long)k;
    }
    return ONNXQ_OK;
}

/* Copies a TENSOR attribute's data into dst of exactly `size` bytes.  No
 * model is at hand, so external data is not reachable here. */
static onnxq_status tensor_attr_data(oq_kctx *ctx, const char *name,
                                     const Onnx__TensorProto *tp, void *dst,
                                     size_t size)
{
    onnxq_error e;
    if (onnxq_tensor_copy_data(NULL, tp, dst, size, &e) != ONNXQ_OK)
        return oq_kfail(ctx, e.status, "attribute %s: %s", name, e.message);
    return ONNXQ_OK;
}

/* ==== typed element access ================================================
 * A `num` is one element widened without loss: signed integers to int64,
 * unsigned ones and bool to uint64, every float type to double (float,
 * float16 and bfloat16 values are all exact doubles). */

enum { NUM_INT, NUM_UINT, NUM_FLOAT };

typedef struct num {
    int kind;
    int64_t i;
    uint64_t u;
    double f;
} num;

/* The arithmetic kind of a dtype, or -1 for types that are not numbers. */
static int num_kind(int32_t dt)
{
    switch (dt) {
    case DT(INT8): case DT(INT16): case DT(INT32): case DT(INT64):
        return NUM_INT;
    case DT(UINT8): case DT(UINT16): case DT(UINT32): case DT(UINT64):
    case DT(BOOL):
        return NUM_UINT;
    case DT(FLOAT): case DT(DOUBLE): case DT(FLOAT16): case DT(BFLOAT16):
        return NUM_FLOAT;
    default:
        return -1;
    }
}

static onnxq_status need_numbers(oq_kctx *ctx, int32_t dt)
{
    if (num_kind(dt) < 0)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "element type %s is not supported by this op",
                        onnxq_dtype_name(dt));
    return ONNXQ_OK;
}

static num num_load(int32_t dt, const void *p)
{
    num v = {num_kind(dt), 0, 0, 0.0};
    switch (dt) {
    case DT(INT8): { int8_t x; memcpy(&x, p, 1); v.i = x; break; }
    case DT(INT16): { int16_t x; memcpy(&x, p, 2); v.i = x; break; }
    case DT(INT32): { int32_t x; memcpy(&x, p, 4); v.i = x; break; }
    case DT(INT64): memcpy(&v.i, p, 8); break;
    case DT(BOOL):
    case DT(UINT8): { uint8_t x; memcpy(&x, p, 1); v.u = x; break; }
    case DT(UINT16): { uint16_t x; memcpy(&x, p, 2); v.u = x; break; }
    case DT(UINT32): { uint32_t x; memcpy(&x, p, 4); v.u = x; break; }
    case DT(UINT64): memcpy(&v.u, p, 8); break;
    case DT(FLOAT): { float x; memcpy(&x, p, 4); v.f = x; break; }
    case DT(DOUBLE): memcpy(&v.f, p, 8); break;
    case DT(FLOAT16): { uint16_t h; memcpy(&h, p, 2);
                        v.f = oq_half_to_float(h); break; }
    case DT(BFLOAT16): { uint16_t h; memcpy(&h, p, 2);
                         v.f = oq_bfloat16_to_float(h); break; }
    }
    return v;
}

/* Stores v (of dt's kind) as a dt element: integers keep their low bits (the
 * type's wrap-around), bool is v != 0, floats round to nearest even. */
static void num_store(int32_t dt, void *p, num v)
{
    switch (dt) {
    case DT(INT8): { int8_t x = (int8_t)v.i; memcpy(p, &x, 1); break; }
    case DT(INT16): { int16_t x = (int16_t)v.i; memcpy(p, &x, 2); break; }
    case DT(INT32): { int32_t x = (int32_t)v.i; memcpy(p, &x, 4); break; }
    case DT(INT64): memcpy(p, &v.i, 8); break;
    case DT(BOOL): { uint8_t x = v.u != 0; memcpy(p, &x, 1); break; }
    case DT(UINT8): { uint8_t x = (uint8_t)v.u; memcpy(p, &x, 1); break; }
    case DT(UINT16): { uint16_t x = (uint16_t)v.u; memcpy(p, &x, 2); break; }
    case DT(UINT32): { uint32_t x = (uint32_t)v.u; memcpy(p, &x, 4); break; }
    case DT(UINT64): memcpy(p, &v.u, 8); break;
    case DT(FLOAT): { float x = (float)v.f; memcpy(p, &x, 4); break; }
    case DT(DOUBLE): memcpy(p, &v.f, 8); break;
    case DT(FLOAT16): { uint16_t h = oq_float_to_half((float)v.f);
                        memcpy(p, &h, 2); break; }
    case DT(BFLOAT16): { uint16_t h = oq_float_to_bfloat16((float)v.f);
                         memcpy(p, &h, 2); break; }
    }
}

/* Orders two nums of one kind: -1, 0, 1.  -0.0 equals 0.0; NaN sorts above
 * every number and equals NaN, so sorting is total and deterministic. */
static int num_cmp(num a, num b)
{
    switch (a.kind) {
    case NUM_INT: return (a.i > b.i) - (a.i < b.i);
    case NUM_UINT: return (a.u > b.u) - (a.u < b.u);
    default:
        if (isnan(a.f) || isnan(b.f))
            return isnan(a.f) - isnan(b.f);
        return (a.f > b.f) - (a.f < b.f);
    }
}

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

/* a op b computed in dt: integers wrap at dt's width (done in uint64, where
 * wrapping is defined; num_store keeps the low bits), floats are rounded to
 * dt after the operation like a typed kernel's. */
static num num_apply(int op, int32_t dt, num a, num b)
{
    num r = a;
    switch (a.kind) {
    case NUM_INT:
        if (op == RED_ADD)
            r.i = (int64_t)((uint64_t)a.i + (uint64_t)b.i);
        else if (op == RED_MUL)
            r.i = (int64_t)((uint64_t)a.i * (uint64_t)b.i);
        else if (op == RED_MAX)
            r.i = a.i > b.i ? a.i : b.i;
        else
            r.i = a.i < b.i ? a.i : b.i;
        break;
    case NUM_UINT:
        if (op == RED_ADD)
            r.u = a.u + b.u;
        else if (op == RED_MUL)
            r.u = a.u * b.u;
        else if (op == RED_MAX)
            r.u = a.u > b.u ? a.u : b.u;
        else
            r.u = a.u < b.u ? a.u : b.u;
        break;
    default:
        if (op == RED_ADD)
            r.f = a.f + b.f;
        else if (op == RED_MUL)
            r.f = a.f * b.f;
        else if (op == RED_MAX)
            r.f = a.f > b.f ? a.f : b.f;
        else
            r.f = a.f < b.f ? a.f : b.f;
        if (dt != DT(DOUBLE)) { /* round to dt's precision */
            byte tmp[8];
            num_store(dt, tmp, r);
            r = num_load(dt, tmp);
        }
        break;
    }
    return r;
}

/* Applies reduction `red` of n elements of src into dst (both dt). */
static void reduce_into(int red, int32_t dt, size_t es, byte *dst,
                        const byte *src, size_t n)
{
    if (red == RED_NONE) {
        memcpy(dst, src, n * es);
        return;
    }
    for (size_t i = 0; i < n; i++)
        num_store(dt, dst + i * es,
                  num_apply(red, dt, num_load(dt, dst + i * es),
                            num_load(dt, src + i * es)));
}

static onnxq_status read_reduction(oq_kctx *ctx, int32_t dt, int *red)
{
    char buf[16];
    const char *s = oq_attr_string(ctx, "reduction", "none", buf, sizeof buf);
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *red = i;
            if (i != RED_NONE)
                TRY(need_numbers(ctx, dt));
            return ONNXQ_OK;
        }
    return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                    "reduction '%s' is not one of none, add, mul, max, min",
                    s);
}

/* Stable merge sort of the indices in v[0..n) by cmp(c, a, b) (<0: a goes
 * first).  Stability is what makes ties come out lower index first, as ONNX
 * Runtime orders them in TopK and Unique.  tmp holds n values. */
typedef int (*order_fn)(const void *c, int64_t a, int64_t b);

static void merge_sort(int64_t *v, int64_t *tmp, size_t n, order_fn cmp,
                       const void *c)
{
    if (n < 2)
        return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    merge_sort(v, tmp, h, cmp, c);
    merge_sort(v + h, tmp, n - h, cmp, c);
    while (i < h && j < n)
        tmp[k++] = cmp(c, v[j], v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* ==== strided copy ========================================================
 * dst (dense, row-major, dims) receives
 *     dst[i0, .., i(n-1)] = src[offset + i0 * stride[0] + .. ]
 * with dims and strides in elements (strides may be 0 or negative).  This one
 * loop is Transpose, Slice, Expand, Tile, DepthToSpace and SpaceToDepth.
 * Tile views each axis as (repeat, axis), hence up to twice the max rank. */
enum { VIEW_MAX = 2 * OQ_MAX_RANK };

static void copy_row(byte *d, const byte *s, size_t es, int64_t n,
                     int64_t stride)
{
    if (stride == 1) {
        memcpy(d, s, (size_t)n * es);
        return;
    }
    /* typed moves for the common sizes: the compiler turns each into one
     * load and one store; the source pointer is formed only for elements
     * that exist (a pointer stepped past them would be undefined) */
    int64_t step = stride * (int64_t)es;
    switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) d[i] = s[i * step]; break;
    case 2: for (int64_t i = 0; i < n; i++) memcpy(d + 2 * i, s + i * step, 2);
            break;
    case 4: for (int64_t i = 0; i < n; i++) memcpy(d + 4 * i, s + i * step, 4);
            break;
    case 8: for (int64_t i = 0; i < n; i++) memcpy(d + 8 * i, s + i * step, 8);
            break;
    default: for (int64_t i = 0; i < n; i++)
                 memcpy(d + (size_t)i * es, s + i * step, es);
    }
}

static void copy_view(void *dst, const void *src, size_t es, int n,
                      const int64_t *dims, const int64_t *stride,
                      int64_t offset)
{
    /* Drop unit axes and merge an axis into the next when together they walk
     * the source evenly (stride[k] == stride[k+1] * dims[k+1]): a Slice of
     * the first axis then becomes one memcpy, and rows get long. */
    int64_t d[VIEW_MAX], s[VIEW_MAX];
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (dims[k] == 0)
            return;
        if (dims[k] == 1)
            continue;
        if (m > 0 && s[m - 1] == stride[k] * dims[k]) {
            d[m - 1] *= dims[k];
            s[m - 1] = stride[k];
        } else {
            d[m] = dims[k];
            s[m] = stride[k];
            m++;
        }
    }
    const byte *sb = src;
    byte *db = dst;
    if (m == 0) {
        memcpy(db, sb + offset * (int64_t)es, es);
        return;
    }
    int64_t idx[VIEW_MAX] = {0}, off = offset, inner = d[m - 1];
    size_t row_bytes = (size_t)inner * es;
    for (;;) {
        copy_row(db, sb + off * (int64_t)es, es, inner, s[m - 1]);
        db += row_bytes;
        int k = m - 2;
        for (; k >= 0; k--) {
            off += s[k];
            if (++idx[k] < d[k])
                break;
            off -= s[k] * d[k];
            idx[k] = 0;
        }
        if (k < 0)
            return;
    }
}

/* Copies src (dims, rank, dense) to dst as the permutation perm of its axes:
 * out axis k is input axis perm[k]. */
static void copy_permuted(void *dst, const void *src, size_t es, int rank,
                          const int64_t *dims, const int *perm)
{
    int64_t st[VIEW_MAX], od[VIEW_MAX], os[VIEW_MAX];
    strides_of(dims, rank, st);
    for (int k = 0; k < rank; k++) {
        od[k] = dims[perm[k]];
        os[k] = st[perm[k]];
    }
    copy_view(dst, src, es, rank, od, os, 0);
}

/* ==== shape queries: Shape, Size ========================================== */

static onnxq_status k_shape(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    int64_t r = x->rank, start = 0, end = r;
    if (ctx->opset >= 15) { /* start/end select a range of the shape */
        start = oq_attr_int(ctx, "start", 0);
        end = oq_attr_int(ctx, "end", r);
    }
    /* negative counts from the back; both clamp to [0, rank] */
    start = start < 0 ? start + r : start;
    end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t n = end > start ? end - start : 0;
    oq_tensor *y;
    TRY(new_output(ctx, 0, DT(INT64), 1, &n, &y));
    memcpy(y->data, x->dims + start, (size_t)n * sizeof(int64_t));
    return ONNXQ_OK;
}

static onnxq_status k_size(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    oq_tensor *y;
    TRY(new_output(ctx, 0, DT(INT64), 0, NULL, &y));
    *(int64_t *)y->data = (int64_t)oq_numel(x);
    return ONNXQ_OK;
}

/* ==== reshaping: Reshape, Flatten, Squeeze, Unsqueeze =====================
 * The data is unchanged; only the shape differs.  Outputs may not alias
 * inputs, so each copies. */

static onnxq_status copy_as(oq_kctx *ctx, const oq_tensor *x, int rank,
                            const int64_t *dims)
{
    size_t es;
    oq_tensor *y;
    TRY(elem_size(ctx, x, &es));
    TRY(new_output(ctx, 0, x->dtype, rank, dims, &y));
    memcpy(y->data, x->data, oq_numel(x) * es);
    return ONNXQ_OK;
}

static onnxq_status k_reshape(oq_kctx *ctx)
{
    const oq_tensor *x, *shape;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "shape", &shape));
    int64_t want[OQ_MAX_RANK], dims[OQ_MAX_RANK];
    size_t n;
    TRY(read_list(ctx, shape, "shape", want, OQ_MAX_RANK, &n));
    /* allowzero (opset 14): 0 means a zero-size axis instead of "copy the
     * input's axis" */
    int allowzero = ctx->opset >= 14 && oq_attr_int(ctx, "allowzero", 0);
    int infer = -1, has_zero = 0;
    int64_t known = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t v = want[i];
        if (v == -1) {
            if (infer >= 0)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "shape %s has more than one -1",
                                shp(want, (int)n).s);
            infer = (int)i;
            dims[i] = 1;
            continue;
        }
        if (v < -1)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "shape %s has invalid dimension %lld",
                            shp(want, (int)n).s, (long long)v);
        if (v == 0 && !allowzero) {
            if ((int)i >= x->rank)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "shape %s copies dimension %zu (0), but the "
                                "input %s has rank %d", shp(want, (int)n).s,
                                i, shp(x->dims, x->rank).s, x->rank);
            v = x->dims[i];
        }
        has_zero |= v == 0;
        dims[i] = v;
        if (__builtin_mul_overflow(known, v, &known))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "shape %s is too large", shp(want, (int)n).s);
    }
    if (infer >= 0 && allowzero && has_zero)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "shape %s has both -1 and 0 with allowzero=1",
                        shp(want, (int)n).s);
    int64_t total = (int64_t)oq_numel(x);
    if (infer >= 0) {
        /* with a zero among the other dims the -1 could be anything */
        if (known == 0 || total % known != 0)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "cannot reshape %s (%lld elements) to %s",
                            shp(x->dims, x->rank).s, (long long)total,
                            shp(want, (int)n).s);
        dims[infer] = total / known;
    } else if (known != total) {
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "cannot reshape %s (%lld elements) to %s (%lld "
                        "elements)", shp(x->dims, x->rank).s, (long long)total,
                        shp(dims, (int)n).s, (long long)known);
    }
    return copy_as(ctx, x, (int)n, dims);
}

static onnxq_status k_flatten(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "input", &x));
    int64_t axis = oq_attr_int(ctx, "axis", 1);
    /* axis splits the shape in two, so rank itself is valid: [-r, r] */
    if (axis < -x->rank || axis > x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "axis %lld is out of range for rank %d",
                        (long long)axis, x->rank);
    int a = (int)(axis < 0 ? axis + x->rank : axis);
    int64_t dims[2] = {prod(x->dims, 0, a), prod(x->dims, a, x->rank)};
    return copy_as(ctx, x, 2, dims);
}

static onnxq_status k_squeeze(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    int64_t axes[2 * OQ_MAX_RANK], dims[OQ_MAX_RANK];
    long n;
    TRY(axes_attr_or_input(ctx, axes, &n));
    char drop[OQ_MAX_RANK] = {0};
    if (n <= 0) { /* no (or empty, as ONNX Runtime reads it) axes: every
                   * axis of size 1 goes */
        for (int d = 0; d < x->rank; d++)
            drop[d] = x->dims[d] == 1;
    } else {
        int ax[2 * OQ_MAX_RANK];
        TRY(norm_axes(ctx, axes, (size_t)n, x->rank, ax));
        for (long i = 0; i < n; i++) {
            if (x->dims[ax[i]] != 1)
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "cannot squeeze axis %lld of shape %s: its "
                                "size is %lld, not 1", (long long)axes[i],
                                shp(x->dims, x->rank).s,
                                (long long)x->dims[ax[i]]);
            drop[ax[i]] = 1;
        }
    }
    int r = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d])
            dims[r++] = x->dims[d];
    return copy_as(ctx, x, r, dims);
}

static onnxq_status k_unsqueeze(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    int64_t axes[2 * OQ_MAX_RANK], dims[OQ_MAX_RANK];
    long n;
    TRY(axes_attr_or_input(ctx, axes, &n));
    if (n < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "axes are required");
    int r = x->rank + (int)n;
    TRY(check_rank(ctx, r));
    /* axes index the output, whose rank counts the new axes */
    int ax[2 * OQ_MAX_RANK];
    TRY(norm_axes(ctx, axes, (size_t)n, r, ax));
    char added[OQ_MAX_RANK] = {0};
    for (long i = 0; i < n; i++)
        added[ax[i]] = 1;
    for (int d = 0, k = 0; d < r; d++)
        dims[d] = added[d] ? 1 : x->dims[k++];
    return copy_as(ctx, x, r, dims);
}

/* ==== reordering: Transpose, DepthToSpace, SpaceToDepth =================== */

static onnxq_status k_transpose(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    int r = x->rank, perm[OQ_MAX_RANK];
    const int64_t *p;
    long n = oq_attr_ints(ctx, "perm", &p);
    if (n < 0) { /* default: reverse the axes */
        for (int d = 0; d < r; d++)
            perm[d] = r - 1 - d;
    } else {
        if (n != r)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "perm has %ld values, input %s has rank %d", n,
                            shp(x->dims, r).s, r);
        char seen[OQ_MAX_RANK] = {0};
        for (int d = 0; d < r; d++) {
            if (p[d] < 0 || p[d] >= r || seen[p[d]])
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "perm %s is not a permutation of 0..%d",
                                shp(p, r).s, r - 1);
            seen[p[d]] = 1;
            perm[d] = (int)p[d];
        }
    }
    int64_t dims[OQ_MAX_RANK];
    for (int d = 0; d < r; d++)
        dims[d] = x->dims[perm[d]];
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, dims, &y));
    copy_permuted(y->data, x->data, es, r, x->dims, perm);
    return ONNXQ_OK;
}

static onnxq_status block_input(oq_kctx *ctx, const oq_tensor **x,
                                size_t *es, int64_t *bs)
{
    TRY(need_input(ctx, 0, "input", x));
    TRY(elem_size(ctx, *x, es));
    *bs = oq_attr_int(ctx, "blocksize", 0);
    if (*bs < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "blocksize must be positive, got %lld",
                        (long long)*bs);
    if ((*x)->rank != 4)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input must be 4-D [N,C,H,W], got %s",
                        shp((*x)->dims, (*x)->rank).s);
    return ONNXQ_OK;
}

/* DepthToSpace is a reshape to 6-D, a transpose, a reshape back:
 *   DCR: [N, b, b, C/b², H, W] -> (0,3,4,1,5,2) -> [N, C/b², H, b, W, b]
 *   CRD: [N, C/b², b, b, H, W] -> (0,1,4,2,5,3) -> the same shape */
static onnxq_status k_depth_to_space(oq_kctx *ctx)
{
    const oq_tensor *x;
    size_t es;
    int64_t b;
    TRY(block_input(ctx, &x, &es, &b));
    char buf[8];
    const char *mode = oq_attr_string(ctx, "mode", "DCR", buf, sizeof buf);
    int crd = strcmp(mode, "CRD") == 0;
    if (!crd && strcmp(mode, "DCR") != 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "mode '%s' is not DCR or CRD", mode);
    const int64_t *d = x->dims;
    if (d[1] % (b * b) != 0)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "channels %lld of input %s are not divisible by "
                        "blocksize² = %lld", (long long)d[1], shp(d, 4).s,
                        (long long)(b * b));
    int64_t c = d[1] / (b * b);
    int64_t dcr[6] = {d[0], b, b, c, d[2], d[3]},
            crd6[6] = {d[0], c, b, b, d[2], d[3]};
    static const int p_dcr[6] = {0, 3, 4, 1, 5, 2},
                     p_crd[6] = {0, 1, 4, 2, 5, 3};
    int64_t out[4] = {d[0], c, d[2] * b, d[3] * b};
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, 4, out, &y));
    copy_permuted(y->data, x->data, es, 6, crd ? crd6 : dcr,
                  crd ? p_crd : p_dcr);
    return ONNXQ_OK;
}

/* SpaceToDepth: [N, C, H/b, b, W/b, b] -> (0,3,5,1,2,4) -> [N, b, b, C, H/b,
 * W/b], i.e. the inverse of DepthToSpace's DCR. */
static onnxq_status k_space_to_depth(oq_kctx *ctx)
{
    const oq_tensor *x;
    size_t es;
    int64_t b;
    TRY(block_input(ctx, &x, &es, &b));
    const int64_t *d = x->dims;
    if (d[2] % b != 0 || d[3] % b != 0)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "height and width of input %s are not divisible by "
                        "blocksize %lld", shp(d, 4).s, (long long)b);
    int64_t v[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b};
    static const int perm[6] = {0, 3, 5, 1, 2, 4};
    int64_t out[4] = {d[0], d[1] * b * b, d[2] / b, d[3] / b};
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, 4, out, &y));
    copy_permuted(y->data, x->data, es, 6, v, perm);
    return ONNXQ_OK;
}

/* ==== joining and splitting: Concat, Split ================================ */

static onnxq_status k_concat(oq_kctx *ctx)
{
    if (ctx->n_in == 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "no inputs");
    const oq_tensor *x0;
    TRY(need_input(ctx, 0, "inputs", &x0));
    size_t es;
    TRY(elem_size(ctx, x0, &es));
    if (!oq_attr(ctx, "axis"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "attribute axis is required");
    int r = x0->rank, axis;
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), r, "axis", &axis));
    int64_t dims[OQ_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (size_t i = 0; i < ctx->n_in; i++) {
        const oq_tensor *xi;
        TRY(need_input(ctx, i, "inputs", &xi));
        int same = xi->rank == r && xi->dtype == x0->dtype;
        for (int d = 0; same && d < r; d++)
            same = d == axis || xi->dims[d] == x0->dims[d];
        if (!same)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "input %zu (%s %s) does not match input 0 (%s "
                            "%s) outside axis %d", i,
                            onnxq_dtype_name(xi->dtype),
                            shp(xi->dims, xi->rank).s,
                            onnxq_dtype_name(x0->dtype), shp(x0->dims, r).s,
                            axis);
        dims[axis] += xi->dims[axis];
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, x0->dtype, r, dims, &y));
    /* the output is, for each outer index, the inputs' blocks side by side */
    int64_t outer = prod(dims, 0, axis), inner = prod(dims, axis + 1, r);
    byte *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (size_t i = 0; i < ctx->n_in; i++) {
            size_t block = (size_t)(ctx->in[i]->dims[axis] * inner) * es;
            memcpy(dst, (const byte *)ctx->in[i]->data + (size_t)o * block,
                   block);
            dst += block;
        }
    return ONNXQ_OK;
}

static onnxq_status k_split(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "input", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    int axis;
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank, "axis", &axis));
    size_t n = ctx->n_out;
    int64_t dim = x->dims[axis];
    if (n == 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "no outputs");
    int64_t *sizes = calloc(n ? n : 1, sizeof *sizes);
    if (!sizes)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    onnxq_status st = ONNXQ_OK;
    /* the sizes come from the split attribute (before 13), the split input
     * (13 on), or are equal parts (num_outputs from 18, else one per output) */
    const oq_tensor *split = ctx->opset >= 13 ? oq_in(ctx, 1) : NULL;
    const int64_t *sa = NULL;
    long na = ctx->opset < 13 ? oq_attr_ints(ctx, "split", &sa) : -1;
    if (split || na >= 0) {
        size_t k = na >= 0 ? (size_t)na : oq_numel(split);
        if (split && (st = check_index_type(ctx, split, "split")) != ONNXQ_OK)
            goto done;
        if (k != n) {
            st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                          "split has %zu sizes for %zu outputs", k, n);
            goto done;
        }
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            sizes[i] = split ? index_at(split, i) : sa[i];
            if (sizes[i] < 0 || sizes[i] > dim) {
                st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                              "split size %lld is invalid for axis %d of "
                              "size %lld", (long long)sizes[i], axis,
                              (long long)dim);
                goto done;
            }
            sum += sizes[i];
        }
        if (sum != dim) {
            st = oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                          "split sizes add up to %lld, but axis %d of %s "
                          "has size %lld", (long long)sum, axis,
                          shp(x->dims, x->rank).s, (long long)dim);
            goto done;
        }
    } else {
        int64_t parts = (int64_t)n;
        if (ctx->opset >= 18 && oq_attr(ctx, "num_outputs")) {
            parts = oq_attr_int(ctx, "num_outputs", 0);
            if (parts != (int64_t)n) {
                st = oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                              "num_outputs is %lld, the node has %zu outputs",
                              (long long)parts, n);
                goto done;
            }
        }
        /* before 18 the axis must divide evenly; from 18 the parts are
         * ceil(dim / n) and the last one takes what is left */
        if (dim % parts != 0 && ctx->opset < 18) {
            st = oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                          "axis %d of %s (size %lld) does not split into %lld "
                          "equal parts", axis, shp(x->dims, x->rank).s,
                          (long long)dim, (long long)parts);
            goto done;
        }
        int64_t chunk = (dim + parts - 1) / parts, left = dim;
        if (chunk * (parts - 1) > dim) {
            st = oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                          "axis %d of %s (size %lld) cannot be split into "
                          "%lld parts of %lld", axis, shp(x->dims, x->rank).s,
                          (long long)dim, (long long)parts, (long long)chunk);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            sizes[i] = i + 1 < n ? chunk : left;
            left -= sizes[i];
        }
    }
    int64_t outer = prod(x->dims, 0, axis),
            inner = prod(x->dims, axis + 1, x->rank), at = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t dims[OQ_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[i];
        oq_tensor *y;
        if ((st = new_output(ctx, i, x->dtype, x->rank, dims, &y)) != ONNXQ_OK)
            goto done;
        size_t block = (size_t)(sizes[i] * inner) * es;
        const byte *src = (const byte *)x->data + (size_t)(at * inner) * es;
        for (int64_t o = 0; o < outer; o++)
            memcpy((byte *)y->data + (size_t)o * block,
                   src + (size_t)(o * dim * inner) * es, block);
        at += sizes[i];
    }
done:
    free(sizes);
    return st;
}

/* ==== selecting: Slice, Gather, GatherElements, GatherND, Compress ======== */

static onnxq_status k_slice(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    int r = x->rank;
    int64_t starts[OQ_MAX_RANK], ends[OQ_MAX_RANK], axes[OQ_MAX_RANK],
        steps[OQ_MAX_RANK];
    size_t n, ne, na = 0, ns = 0;
    int have_axes, have_steps;
    if (ctx->opset < 10) { /* opset 1: attributes, steps of 1 */
        const int64_t *s, *e, *a;
        long ls = oq_attr_ints(ctx, "starts", &s);
        long le = oq_attr_ints(ctx, "ends", &e);
        long la = oq_attr_ints(ctx, "axes", &a);
        if (ls < 0 || le < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "attributes starts and ends are required");
        if (ls > r || le > r || la > r)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "%ld starts, %ld ends, %ld axes for input %s of "
                            "rank %d", ls, le, la, shp(x->dims, r).s, r);
        memcpy(starts, s, (size_t)ls * sizeof *s);
        memcpy(ends, e, (size_t)le * sizeof *e);
        if (la > 0)
            memcpy(axes, a, (size_t)la * sizeof *a);
        n = (size_t)ls;
        ne = (size_t)le;
        na = la < 0 ? 0 : (size_t)la;
        have_axes = la >= 0;
        have_steps = 0;
    } else {
        const oq_tensor *ts, *te, *ta = oq_in(ctx, 3), *tp = oq_in(ctx, 4);
        TRY(need_input(ctx, 1, "starts", &ts));
        TRY(need_input(ctx, 2, "ends", &te));
        TRY(read_list(ctx, ts, "starts", starts, (size_t)r, &n));
        TRY(read_list(ctx, te, "ends", ends, (size_t)r, &ne));
        if (ta)
            TRY(read_list(ctx, ta, "axes", axes, (size_t)r, &na));
        if (tp)
            TRY(read_list(ctx, tp, "steps", steps, (size_t)r, &ns));
        have_axes = ta != NULL;
        have_steps = tp != NULL;
    }
    if (ne != n || (have_axes && na != n) || (have_steps && ns != n))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "starts has %zu values, ends %zu, axes %zu, steps %zu "
                        "(all must agree)", n, ne, have_axes ? na : n,
                        have_steps ? ns : n);
    if (!have_axes)
        for (size_t i = 0; i < n; i++)
            axes[i] = (int64_t)i;
    int ax[OQ_MAX_RANK];
    TRY(norm_axes(ctx, axes, n, r, ax));
    int64_t first[OQ_MAX_RANK] = {0}, step[OQ_MAX_RANK], count[OQ_MAX_RANK];
    for (int d = 0; d < r; d++) {
        step[d] = 1;
        count[d] = x->dims[d];
    }
    for (size_t i = 0; i < n; i++) {
        int d = ax[i];
        int64_t dim = x->dims[d], s = starts[i], e = ends[i];
        int64_t st = have_steps ? steps[i] : 1;
        if (st == 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "step 0 on axis %d", d);
        /* the spec's clamping: negative values count from the back, then
         * positive steps clamp to [0, dim], negative ones to [0, dim-1] for
         * the start and [-1, dim-1] for the end (-1: run through index 0) */
        s = s < 0 ? s + dim : s;
        e = e < 0 ? e + dim : e;
        int64_t c;
        if (dim == 0) {
            c = 0;
        } else if (st > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            c = e > s ? (e - s - 1) / st + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            /* -INT64_MIN overflows; any step that large takes one element */
            c = s > e ? (s - e - 1) / (st == INT64_MIN ? INT64_MAX : -st) + 1
                      : 0;
        }
        first[d] = s;
        step[d] = st;
        count[d] = c;
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, count, &y));
    if (oq_numel(y) == 0)
        return ONNXQ_OK;
    int64_t st[OQ_MAX_RANK], vs[OQ_MAX_RANK], off = 0;
    strides_of(x->dims, r, st);
    for (int d = 0; d < r; d++) {
        off += first[d] * st[d];
        vs[d] = count[d] > 1 ? st[d] * step[d] : 0; /* |step| <= dim here */
    }
    copy_view(y->data, x->data, es, r, count, vs, off);
    return ONNXQ_OK;
}

static onnxq_status k_gather(oq_kctx *ctx)
{
    const oq_tensor *x, *ind;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "indices", &ind));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, ind, "indices"));
    int r = x->rank, q = ind->rank, axis;
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), r, "axis", &axis));
    TRY(check_rank(ctx, r - 1 + q));
    /* out = data.shape[:axis] + indices.shape + data.shape[axis+1:] */
    int64_t dims[OQ_MAX_RANK];
    int k = 0;
    for (int d = 0; d < axis; d++)
        dims[k++] = x->dims[d];
    for (int d = 0; d < q; d++)
        dims[k++] = ind->dims[d];
    for (int d = axis + 1; d < r; d++)
        dims[k++] = x->dims[d];
    int64_t dim = x->dims[axis], v;
    size_t n = oq_numel(ind);
    for (size_t i = 0; i < n; i++) /* all indices before any copying */
        TRY(norm_index(ctx, index_at(ind, i), dim, axis, &v));
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, k, dims, &y));
    int64_t outer = prod(x->dims, 0, axis);
    size_t block = (size_t)prod(x->dims, axis + 1, r) * es;
    byte *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (size_t i = 0; i < n; i++, dst += block) {
            v = index_at(ind, i);
            v = v < 0 ? v + dim : v;
            memcpy(dst, (const byte *)x->data + (size_t)(o * dim + v) * block,
                   block);
        }
    return ONNXQ_OK;
}

/* Checks indices (and updates, if given) against data for the element-wise
 * Gather/Scatter: same rank, no larger than data off the axis. */
static onnxq_status check_elementwise_indices(oq_kctx *ctx,
                                              const oq_tensor *x,
                                              const oq_tensor *ind,
                                              const oq_tensor *upd, int axis)
{
    if (ind->rank != x->rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "indices %s and data %s must have the same rank",
                        shp(ind->dims, ind->rank).s, shp(x->dims, x->rank).s);
    for (int d = 0; d < x->rank; d++)
        if (d != axis && ind->dims[d] > x->dims[d])
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "indices %s exceed data %s on axis %d",
                            shp(ind->dims, ind->rank).s,
                            shp(x->dims, x->rank).s, d);
    if (upd && (upd->rank != ind->rank ||
                memcmp(upd->dims, ind->dims,
                       (size_t)ind->rank * sizeof *ind->dims) != 0 ||
                upd->dtype != x->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "updates (%s %s) must have the shape of indices %s "
                        "and the type of data (%s)",
                        onnxq_dtype_name(upd->dtype),
                        shp(upd->dims, upd->rank).s,
                        shp(ind->dims, ind->rank).s,
                        onnxq_dtype_name(x->dtype));
    return ONNXQ_OK;
}

/* Offset in data of the element that indices element `i` (at multi-index
 * idx) addresses: idx with the index value substituted on the axis. */
static onnxq_status elementwise_offset(oq_kctx *ctx, const oq_tensor *x,
                                       const oq_tensor *ind, size_t i,
                                       const int64_t *idx, const int64_t *st,
                                       int axis, int64_t *off)
{
    int64_t v;
    TRY(norm_index(ctx, index_at(ind, i), x->dims[axis], axis, &v));
    *off = 0;
    for (int d = 0; d < x->rank; d++)
        *off += (d == axis ? v : idx[d]) * st[d];
    return ONNXQ_OK;
}

static onnxq_status k_gather_elements(oq_kctx *ctx)
{
    const oq_tensor *x, *ind;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "indices", &ind));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, ind, "indices"));
    int axis;
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank, "axis", &axis));
    TRY(check_elementwise_indices(ctx, x, ind, NULL, axis));
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, ind->rank, ind->dims, &y));
    int64_t st[OQ_MAX_RANK], idx[OQ_MAX_RANK] = {0}, off;
    strides_of(x->dims, x->rank, st);
    size_t n = oq_numel(ind);
    for (size_t i = 0; i < n; i++, oq_next_index(idx, ind->dims, ind->rank)) {
        TRY(elementwise_offset(ctx, x, ind, i, idx, st, axis, &off));
        memcpy((byte *)y->data + i * es,
               (const byte *)x->data + (size_t)off * es, es);
    }
    return ONNXQ_OK;
}

/* GatherND: indices [..., k] address slices of data; the first batch_dims
 * axes of both are a shared batch. */
static onnxq_status k_gather_nd(oq_kctx *ctx)
{
    const oq_tensor *x, *ind;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "indices", &ind));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, ind, "indices"));
    int r = x->rank, q = ind->rank;
    int64_t b = ctx->opset >= 12 ? oq_attr_int(ctx, "batch_dims", 0) : 0;
    if (r < 1 || q < 1 || b < 0 || b >= (r < q ? r : q))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "batch_dims %lld does not fit data %s and indices %s",
                        (long long)b, shp(x->dims, r).s, shp(ind->dims, q).s);
    int nb = (int)b;
    int64_t k = ind->dims[q - 1];
    if (k < 0 || k > r - nb)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "indices %s address %lld axes, data %s has %d after "
                        "%d batch axes", shp(ind->dims, q).s, (long long)k,
                        shp(x->dims, r).s, r - nb, nb);
    for (int d = 0; d < nb; d++)
        if (ind->dims[d] != x->dims[d])
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "batch axis %d differs: data %s, indices %s", d,
                            shp(x->dims, r).s, shp(ind->dims, q).s);
    int kk = (int)k;
    TRY(check_rank(ctx, q - 1 + r - nb - kk));
    /* out = indices.shape[:-1] + data.shape[batch_dims + k:] */
    int64_t dims[OQ_MAX_RANK], st[OQ_MAX_RANK];
    int od = 0;
    for (int d = 0; d < q - 1; d++)
        dims[od++] = ind->dims[d];
    for (int d = nb + kk; d < r; d++)
        dims[od++] = x->dims[d];
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, od, dims, &y));
    strides_of(x->dims, r, st);
    int64_t batches = prod(x->dims, 0, nb), tuples = prod(ind->dims, nb, q - 1);
    int64_t slice = prod(x->dims, nb + kk, r),
            batch_size = prod(x->dims, nb, r);
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t t = 0; t < tuples; t++) {
            int64_t tuple = bi * tuples + t, off = bi * batch_size, v;
            for (int j = 0; j < kk; j++) {
                TRY(norm_index(ctx, index_at(ind, (size_t)(tuple * k + j)),
                               x->dims[nb + j], nb + j, &v));
                off += v * st[nb + j];
            }
            memcpy((byte *)y->data + (size_t)(tuple * slice) * es,
                   (const byte *)x->data + (size_t)off * es,
                   (size_t)slice * es);
        }
    return ONNXQ_OK;
}

static onnxq_status k_compress(oq_kctx *ctx)
{
    const oq_tensor *x, *cond;
    TRY(need_input(ctx, 0, "input", &x));
    TRY(need_input(ctx, 1, "condition", &cond));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    if (cond->dtype != DT(BOOL) || cond->rank != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "condition must be a 1-D bool tensor, got %s %s",
                        onnxq_dtype_name(cond->dtype),
                        shp(cond->dims, cond->rank).s);
    int64_t outer = 1, n = (int64_t)oq_numel(x), inner = 1, dims[OQ_MAX_RANK];
    int rank = 1, axis = 0;
    if (oq_attr(ctx, "axis")) {
        TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank, "axis",
                      &axis));
        outer = prod(x->dims, 0, axis);
        n = x->dims[axis];
        inner = prod(x->dims, axis + 1, x->rank);
        rank = x->rank;
        memcpy(dims, x->dims, sizeof dims);
    } /* else the input is flattened */
    /* a shorter condition drops the rest; a longer one's tail is ignored,
     * as ONNX Runtime does */
    const uint8_t *c = cond->data;
    int64_t len = cond->dims[0] < n ? cond->dims[0] : n, kept = 0;
    for (int64_t i = 0; i < len; i++)
        kept += c[i] != 0;
    dims[axis] = kept;
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, rank, dims, &y));
    size_t block = (size_t)inner * es;
    byte *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < len; i++)
            if (c[i]) {
                memcpy(dst, (const byte *)x->data + (size_t)(o * n + i) * block,
                       block);
                dst += block;
            }
    return ONNXQ_OK;
}

/* ==== finding: NonZero, TopK, Unique ====================================== */

/* -0.0 is zero and NaN is not, so floats are tested by value, not bytes. */
static int is_nonzero(int32_t dt, const byte *p, size_t es)
{
    switch (dt) {
    case DT(FLOAT): { float v; memcpy(&v, p, 4); return v != 0; }
    case DT(DOUBLE): { double v; memcpy(&v, p, 8); return v != 0; }
    case DT(FLOAT16): case DT(BFLOAT16): {
        uint16_t h;
        memcpy(&h, p, 2);
        return (h & 0x7fff) != 0; /* all but the sign bit */
    }
    default:
        for (size_t i = 0; i < es; i++)
            if (p[i])
                return 1;
        return 0;
    }
}

static onnxq_status k_nonzero(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "X", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    size_t n = oq_numel(x);
    const byte *p = x->data;
    int64_t nnz = 0;
    for (size_t i = 0; i < n; i++)
        nnz += is_nonzero(x->dtype, p + i * es, es);
    /* a scalar counts as a 1-element vector, as in ONNX Runtime */
    int r = x->rank;
    int64_t dims[2] = {r ? r : 1, nnz}, idx[OQ_MAX_RANK] = {0};
    oq_tensor *y;
    TRY(new_output(ctx, 0, DT(INT64), 2, dims, &y));
    int64_t *out = y->data, k = 0;
    for (size_t i = 0; i < n; i++, oq_next_index(idx, x->dims, r))
        if (is_nonzero(x->dtype, p + i * es, es)) {
            for (int d = 0; d < r; d++)
                out[d * nnz + k] = idx[d];
            k++;
        }
    return ONNXQ_OK;
}

typedef struct topk_order {
    const num *keys;
    int largest;
} topk_order;

static int topk_cmp(const void *c, int64_t a, int64_t b)
{
    const topk_order *t = c;
    int r = num_cmp(t->keys[a], t->keys[b]);
    return t->largest ? -r : r;
}

/* TopK: the k largest (or smallest) along an axis; equal values keep the
 * lower index first.  sorted=0 leaves the order open, so it is sorted too. */
static onnxq_status k_topk(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "X", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(need_numbers(ctx, x->dtype));
    int64_t k;
    if (ctx->opset < 10) {
        if (!oq_attr(ctx, "k"))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "attribute k is required");
        k = oq_attr_int(ctx, "k", 0);
    } else {
        const oq_tensor *tk;
        TRY(need_input(ctx, 1, "K", &tk));
        TRY(read_scalar(ctx, tk, "K", &k));
    }
    int axis;
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", -1), x->rank, "axis", &axis));
    int largest = ctx->opset < 11 || oq_attr_int(ctx, "largest", 1);
    int64_t n = x->dims[axis];
    if (k < 0 || k > n)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "k = %lld is out of range for axis %d of %s (size "
                        "%lld)", (long long)k, axis,
                        shp(x->dims, x->rank).s, (long long)n);
    int64_t dims[OQ_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    oq_tensor *vals, *inds;
    TRY(new_output(ctx, 0, x->dtype, x->rank, dims, &vals));
    if (ctx->n_out > 1)
        TRY(new_output(ctx, 1, DT(INT64), x->rank, dims, &inds));
    else
        inds = NULL;
    num *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    int64_t *order = malloc((size_t)(n ? n : 1) * 2 * sizeof *order);
    if (!keys || !order) {
        free(keys);
        free(order);
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    topk_order to = {keys, largest};
    int64_t outer = prod(x->dims, 0, axis),
            inner = prod(x->dims, axis + 1, x->rank);
    const byte *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t j = 0; j < n; j++) {
                size_t at = (size_t)((o * n + j) * inner + i);
                keys[j] = num_load(x->dtype, src + at * es);
                order[j] = j;
            }
            merge_sort(order, order + n, (size_t)n, topk_cmp, &to);
            for (int64_t t = 0; t < k; t++) {
                size_t at = (size_t)((o * k + t) * inner + i);
                memcpy((byte *)vals->data + at * es,
                       src + (size_t)((o * n + order[t]) * inner + i) * es, es);
                if (inds)
                    ((int64_t *)inds->data)[at] = order[t];
            }
        }
    free(keys);
    free(order);
    return ONNXQ_OK;
}

/* Unique sorts "items": single elements, or with an axis the slices along
 * it (item i = every element [o][i][j] of the [outer, n, inner] view),
 * compared lexicographically. */
typedef struct unique_items {
    const byte *data;
    int32_t dtype;
    size_t es;
    int64_t outer, n, inner;
} unique_items;

static int unique_cmp(const void *c, int64_t a, int64_t b)
{
    const unique_items *u = c;
    for (int64_t o = 0; o < u->outer; o++) {
        const byte *base = u->data + (size_t)(o * u->n * u->inner) * u->es;
        for (int64_t j = 0; j < u->inner; j++) {
            int r = num_cmp(
                num_load(u->dtype, base + (size_t)(a * u->inner + j) * u->es),
                num_load(u->dtype, base + (size_t)(b * u->inner + j) * u->es));
            if (r)
                return r;
        }
    }
    return 0;
}

static int by_value(const void *c, int64_t a, int64_t b)
{
    const int64_t *v = c;
    return (v[a] > v[b]) - (v[a] < v[b]);
}

static onnxq_status k_unique(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "X", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(need_numbers(ctx, x->dtype));
    int sorted = oq_attr_int(ctx, "sorted", 1) != 0, axis = -1;
    unique_items u = {x->data, x->dtype, es, 1, (int64_t)oq_numel(x), 1};
    if (oq_attr(ctx, "axis")) {
        TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank, "axis",
                      &axis));
        u.outer = prod(x->dims, 0, axis);
        u.n = x->dims[axis];
        u.inner = prod(x->dims, axis + 1, x->rank);
    }
    size_t n = (size_t)u.n, cap = n ? n : 1;
    /* order: items sorted; group[i]: item i's group in sorted order;
     * first/count per group; pos[g]: group g's output position; at[p]: the
     * group at output position p */
    int64_t *mem = malloc(7 * cap * sizeof *mem);
    if (!mem)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t *order = mem, *tmp = mem + cap, *group = mem + 2 * cap,
            *first = mem + 3 * cap, *count = mem + 4 * cap,
            *pos = mem + 5 * cap, *at = mem + 6 * cap;
    for (size_t i = 0; i < n; i++)
        order[i] = (int64_t)i;
    /* stable: within a group the first item is the first occurrence */
    merge_sort(order, tmp, n, unique_cmp, &u);
    size_t groups = 0;
    for (size_t s = 0; s < n; s++) {
        if (s == 0 || unique_cmp(&u, order[s - 1], order[s]) != 0) {
            first[groups] = order[s];
            count[groups++] = 0;
        }
        group[order[s]] = (int64_t)groups - 1;
        count[groups - 1]++;
    }
    for (size_t g = 0; g < groups; g++)
        at[g] = (int64_t)g;
    if (!sorted) /* groups in order of first occurrence */
        merge_sort(at, tmp, groups, by_value, first);
    for (size_t p = 0; p < groups; p++)
        pos[at[p]] = (int64_t)p;

    onnxq_status st = ONNXQ_OK;
    int64_t dims[OQ_MAX_RANK], ng = (int64_t)groups, ni = (int64_t)n;
    oq_tensor *y, *t;
    if (axis >= 0) {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = ng;
    } else {
        dims[0] = ng;
    }
    if ((st = new_output(ctx, 0, x->dtype, axis >= 0 ? x->rank : 1, dims,
                         &y)) != ONNXQ_OK)
        goto done;
    size_t block = (size_t)u.inner * es;
    for (int64_t o = 0; o < u.outer; o++)
        for (size_t p = 0; p < groups; p++)
            memcpy((byte *)y->data + ((size_t)o * groups + p) * block,
                   (const byte *)x->data +
                       (size_t)(o * u.n + first[at[p]]) * block,
                   block);
    if (ctx->n_out > 1) {
        if ((st = new_output(ctx, 1, DT(INT64), 1, &ng, &t)) != ONNXQ_OK)
            goto done;
        for (size_t p = 0; p < groups; p++)
            ((int64_t *)t->data)[p] = first[at[p]];
    }
    if (ctx->n_out > 2) {
        if ((st = new_output(ctx, 2, DT(INT64), 1, &ni, &t)) != ONNXQ_OK)
            goto done;
        for (size_t i = 0; i < n; i++)
            ((int64_t *)t->data)[i] = pos[group[i]];
    }
    if (ctx->n_out > 3) {
        if ((st = new_output(ctx, 3, DT(INT64), 1, &ng, &t)) != ONNXQ_OK)
            goto done;
        for (size_t p = 0; p < groups; p++)
            ((int64_t *)t->data)[p] = count[at[p]];
    }
done:
    free(mem);
    return st;
}

/* ==== writing: ScatterElements (and Scatter), ScatterND ===================
 * The output is a copy of data with updates written (or reduced) in, in
 * index order, so with repeated indices the last write wins. */

static onnxq_status k_scatter_elements(oq_kctx *ctx)
{
    const oq_tensor *x, *ind, *upd;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "indices", &ind));
    TRY(need_input(ctx, 2, "updates", &upd));
    size_t es;
    int red, axis;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, ind, "indices"));
    TRY(read_reduction(ctx, x->dtype, &red));
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", 0), x->rank, "axis", &axis));
    TRY(check_elementwise_indices(ctx, x, ind, upd, axis));
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, x->rank, x->dims, &y));
    memcpy(y->data, x->data, oq_numel(x) * es);
    int64_t st[OQ_MAX_RANK], idx[OQ_MAX_RANK] = {0}, off;
    strides_of(x->dims, x->rank, st);
    size_t n = oq_numel(ind);
    for (size_t i = 0; i < n; i++, oq_next_index(idx, ind->dims, ind->rank)) {
        TRY(elementwise_offset(ctx, x, ind, i, idx, st, axis, &off));
        reduce_into(red, x->dtype, es, (byte *)y->data + (size_t)off * es,
                    (const byte *)upd->data + i * es, 1);
    }
    return ONNXQ_OK;
}

static onnxq_status k_scatter_nd(oq_kctx *ctx)
{
    const oq_tensor *x, *ind, *upd;
    TRY(need_input(ctx, 0, "data", &x));
    TRY(need_input(ctx, 1, "indices", &ind));
    TRY(need_input(ctx, 2, "updates", &upd));
    size_t es;
    int red;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, ind, "indices"));
    TRY(read_reduction(ctx, x->dtype, &red));
    int r = x->rank, q = ind->rank;
    int64_t k = q ? ind->dims[q - 1] : -1;
    if (q < 1 || k > r)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "indices %s cannot address data %s",
                        shp(ind->dims, q).s, shp(x->dims, r).s);
    int kk = (int)k;
    /* updates = indices.shape[:-1] + data.shape[k:] */
    int same = upd->dtype == x->dtype && upd->rank == q - 1 + r - kk;
    for (int d = 0; same && d < q - 1; d++)
        same = upd->dims[d] == ind->dims[d];
    for (int d = kk; same && d < r; d++)
        same = upd->dims[q - 1 + d - kk] == x->dims[d];
    if (!same)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "updates %s %s do not fit indices %s and data %s %s",
                        onnxq_dtype_name(upd->dtype),
                        shp(upd->dims, upd->rank).s, shp(ind->dims, q).s,
                        onnxq_dtype_name(x->dtype), shp(x->dims, r).s);
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, x->dims, &y));
    memcpy(y->data, x->data, oq_numel(x) * es);
    int64_t st[OQ_MAX_RANK];
    strides_of(x->dims, r, st);
    int64_t tuples = prod(ind->dims, 0, q - 1), slice = prod(x->dims, kk, r);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0, v;
        for (int j = 0; j < kk; j++) {
            TRY(norm_index(ctx, index_at(ind, (size_t)(t * k + j)), x->dims[j],
                           j, &v));
            off += v * st[j];
        }
        reduce_into(red, x->dtype, es, (byte *)y->data + (size_t)off * es,
                    (const byte *)upd->data + (size_t)(t * slice) * es,
                    (size_t)slice);
    }
    return ONNXQ_OK;
}

/* ==== replicating: Expand, Tile, Pad ====================================== */

static onnxq_status k_expand(oq_kctx *ctx)
{
    const oq_tensor *x, *ts;
    TRY(need_input(ctx, 0, "input", &x));
    TRY(need_input(ctx, 1, "shape", &ts));
    size_t es, n;
    TRY(elem_size(ctx, x, &es));
    int64_t shape[OQ_MAX_RANK], dims[OQ_MAX_RANK], vs[OQ_MAX_RANK],
        st[OQ_MAX_RANK];
    TRY(read_list(ctx, ts, "shape", shape, OQ_MAX_RANK, &n));
    /* numpy broadcasting both ways: a 1 in either shape takes the other */
    int r = x->rank, sn = (int)n, out = r > sn ? r : sn;
    strides_of(x->dims, r, st);
    for (int d = 0; d < out; d++) {
        int xd = d - (out - r), sd = d - (out - sn);
        int64_t a = xd >= 0 ? x->dims[xd] : 1, b = sd >= 0 ? shape[sd] : 1;
        if (b < 0 || (a != b && a != 1 && b != 1))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "input %s cannot be expanded to shape %s",
                            shp(x->dims, r).s, shp(shape, sn).s);
        dims[d] = a == 1 ? b : a;
        vs[d] = a == 1 ? 0 : st[xd];
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, out, dims, &y));
    copy_view(y->data, x->data, es, out, dims, vs, 0);
    return ONNXQ_OK;
}

static onnxq_status k_tile(oq_kctx *ctx)
{
    const oq_tensor *x, *tr;
    TRY(need_input(ctx, 0, "input", &x));
    TRY(need_input(ctx, 1, "repeats", &tr));
    size_t es, n;
    TRY(elem_size(ctx, x, &es));
    int64_t rep[OQ_MAX_RANK], dims[OQ_MAX_RANK], st[OQ_MAX_RANK];
    TRY(read_list(ctx, tr, "repeats", rep, OQ_MAX_RANK, &n));
    int r = x->rank;
    if ((int)n != r)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "repeats %s must have one value per axis of input %s",
                        shp(rep, (int)n).s, shp(x->dims, r).s);
    /* output axis d, seen as (repeat, axis d): the repeat has stride 0 */
    int64_t vd[VIEW_MAX], vs[VIEW_MAX];
    strides_of(x->dims, r, st);
    for (int d = 0; d < r; d++) {
        if (rep[d] < 0 || __builtin_mul_overflow(x->dims[d], rep[d], &dims[d]))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "repeats %s are invalid for input %s",
                            shp(rep, r).s, shp(x->dims, r).s);
        vd[2 * d] = rep[d];
        vs[2 * d] = 0;
        vd[2 * d + 1] = x->dims[d];
        vs[2 * d + 1] = st[d];
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, dims, &y));
    copy_view(y->data, x->data, es, 2 * r, vd, vs, 0);
    return ONNXQ_OK;
}

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Which input index (of an axis of n kept elements) output position i (i <
 * 0 or >= n: in the padding) reads, or -1 for the constant. */
static int64_t pad_source(int mode, int64_t i, int64_t n)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case PAD_EDGE:
        return i < 0 ? 0 : n - 1;
    case PAD_WRAP:
        return (i % n + n) % n;
    case PAD_REFLECT: { /* period 2(n-1): ... c b [a b c] b a ... */
        if (n == 1)
            return 0;
        int64_t p = 2 * (n - 1), m = (i % p + p) % p;
        return m < n ? m : p - m;
    }
    default:
        return -1;
    }
}

static void fill_elems(byte *dst, const byte *val, size_t es, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        memcpy(dst + (size_t)i * es, val, es);
}

/* Pad: negative pads crop.  As in ONNX Runtime, cropping happens first and
 * reflect/edge/wrap then read the cropped input, so every axis is described
 * by lo (first kept input index), kept (count) and pre (positions padded in
 * front). */
static onnxq_status k_pad(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "data", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    int r = x->rank;
    char mbuf[16];
    const char *ms = oq_attr_string(ctx, "mode", "constant", mbuf, sizeof mbuf);
    int mode = strcmp(ms, "constant") == 0 ? PAD_CONSTANT
               : strcmp(ms, "reflect") == 0 ? PAD_REFLECT
               : strcmp(ms, "edge") == 0 ? PAD_EDGE
               : strcmp(ms, "wrap") == 0 && ctx->opset >= 19 ? PAD_WRAP : -1;
    if (mode < 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "mode '%s' is not supported at opset %lld", ms,
                        (long long)ctx->opset);
    int64_t pads[2 * OQ_MAX_RANK], axes[OQ_MAX_RANK];
    size_t np, na = (size_t)r;
    byte val[16] = {0}; /* the constant, as one element of x's type */
    if (ctx->opset < 11) { /* pads and value are attributes */
        const int64_t *p;
        long k = oq_attr_ints(ctx, "pads", &p);
        if (k < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "attribute pads is required");
        if (k > 2 * r)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "pads has %ld values for rank %d", k, r);
        memcpy(pads, p, (size_t)k * sizeof *p);
        np = (size_t)k;
        oq_tensor v = {x->dtype, 0, {0}, val};
        oq_set_f64(&v, 0, oq_attr_float(ctx, "value", 0.0f));
    } else {
        const oq_tensor *tp, *tv = oq_in(ctx, 2), *ta = oq_in(ctx, 3);
        TRY(need_input(ctx, 1, "pads", &tp));
        TRY(read_list(ctx, tp, "pads", pads, 2 * OQ_MAX_RANK, &np));
        if (ta && ctx->opset >= 18) /* axes: opset 18 */
            TRY(read_list(ctx, ta, "axes", axes, OQ_MAX_RANK, &na));
        if (tv && oq_numel(tv) > 0) {
            if (tv->dtype != x->dtype)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "constant_value is %s, data is %s",
                                onnxq_dtype_name(tv->dtype),
                                onnxq_dtype_name(x->dtype));
            memcpy(val, tv->data, es);
        }
    }
    if (np != 2 * na)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "pads has %zu values, %zu expected for %zu axes of "
                        "input %s", np, 2 * na, na, shp(x->dims, r).s);
    int ax[OQ_MAX_RANK];
    if (ctx->opset >= 18 && oq_in(ctx, 3)) { /* pads for the listed axes */
        TRY(norm_axes(ctx, axes, na, r, ax));
    } else {
        for (int d = 0; d < r; d++)
            ax[d] = d;
    }
    int64_t lo[OQ_MAX_RANK], kept[OQ_MAX_RANK], pre[OQ_MAX_RANK],
        dims[OQ_MAX_RANK], st[OQ_MAX_RANK];
    for (int d = 0; d < r; d++) {
        lo[d] = pre[d] = 0;
        kept[d] = dims[d] = x->dims[d];
    }
    for (size_t i = 0; i < na; i++) {
        int d = ax[i];
        int64_t b = pads[i], e = pads[i + na];
        lo[d] = b < 0 ? -b : 0;
        pre[d] = b > 0 ? b : 0;
        kept[d] = x->dims[d] - lo[d] - (e < 0 ? -e : 0);
        if (kept[d] < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "pads %lld, %lld crop more than axis %d of %s "
                            "holds", (long long)b, (long long)e, d,
                            shp(x->dims, r).s);
        dims[d] = kept[d] + pre[d] + (e > 0 ? e : 0);
        if (mode != PAD_CONSTANT && kept[d] == 0 && dims[d] > 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "mode %s cannot pad axis %d of %s: nothing is "
                            "left to copy", ms, d, shp(x->dims, r).s);
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, dims, &y));
    if (oq_numel(y) == 0)
        return ONNXQ_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return ONNXQ_OK;
    }
    /* row by row: outer axes pick the source row (or the constant), the last
     * axis is front padding, one memcpy of the kept part, back padding */
    strides_of(x->dims, r, st);
    int last = r - 1;
    int64_t idx[OQ_MAX_RANK] = {0}, w = dims[last];
    const byte *src = x->data;
    byte *dst = y->data;
    do {
        int64_t off = 0;
        int constant = 0;
        for (int d = 0; d < last && !constant; d++) {
            int64_t s = pad_source(mode, idx[d] - pre[d], kept[d]);
            constant = s < 0;
            off += (lo[d] + s) * st[d];
        }
        if (constant) {
            fill_elems(dst, val, es, w);
        } else {
            const byte *row = src + (size_t)(off + lo[last]) * es;
            int64_t n = kept[last], p = pre[last];
            for (int64_t j = 0; j < w; j++) {
                if (j == p && n > 0) { /* the kept part, in one go */
                    memcpy(dst + (size_t)j * es, row, (size_t)n * es);
                    j += n - 1;
                    continue;
                }
                int64_t s = pad_source(mode, j - p, n);
                memcpy(dst + (size_t)j * es, s < 0 ? val : row + (size_t)s * es,
                       es);
            }
        }
        dst += (size_t)w * es;
    } while (oq_next_index(idx, dims, last));
    return ONNXQ_OK;
}

/* ==== generating: Range, ConstantOfShape, Constant, OneHot, EyeLike, Trilu  */

static onnxq_status k_range(oq_kctx *ctx)
{
    const oq_tensor *ts, *tl, *td;
    TRY(need_input(ctx, 0, "start", &ts));
    TRY(need_input(ctx, 1, "limit", &tl));
    TRY(need_input(ctx, 2, "delta", &td));
    int32_t dt = ts->dtype;
    if (tl->dtype != dt || td->dtype != dt || oq_numel(ts) != 1 ||
        oq_numel(tl) != 1 || oq_numel(td) != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "start, limit and delta must be scalars of one type, "
                        "got %s %s, %s %s, %s %s", onnxq_dtype_name(dt),
                        shp(ts->dims, ts->rank).s, onnxq_dtype_name(tl->dtype),
                        shp(tl->dims, tl->rank).s, onnxq_dtype_name(td->dtype),
                        shp(td->dims, td->rank).s);
    oq_tensor *y;
    int64_t n;
    if (dt == DT(FLOAT) || dt == DT(DOUBLE)) {
        /* as ONNX Runtime: n = ceil((limit - start) / delta) with the
         * difference taken in the input type, then each value is the previous
         * one plus delta, accumulated in the input type */
        num a = num_load(dt, ts->data), b = num_load(dt, tl->data),
            c = num_load(dt, td->data);
        double span = dt == DT(FLOAT) ? (double)((float)b.f - (float)a.f)
                                      : b.f - a.f;
        double cnt = ceil(span / c.f);
        if (c.f == 0 || isnan(cnt) || cnt > (double)((int64_t)1 << 40))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "range from %g to %g by %g has no usable length",
                            a.f, b.f, c.f);
        n = cnt > 0 ? (int64_t)cnt : 0;
        TRY(new_output(ctx, 0, dt, 1, &n, &y));
        if (dt == DT(FLOAT)) {
            float v = (float)a.f, d = (float)c.f, *out = y->data;
            for (int64_t i = 0; i < n; i++, v += d)
                out[i] = v;
        } else {
            double v = a.f, *out = y->data;
            for (int64_t i = 0; i < n; i++, v += c.f)
                out[i] = v;
        }
        return ONNXQ_OK;
    }
    if (dt != DT(INT16) && dt != DT(INT32) && dt != DT(INT64))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "element type %s is not supported by Range",
                        onnxq_dtype_name(dt));
    int64_t a = num_load(dt, ts->data).i, b = num_load(dt, tl->data).i,
            c = num_load(dt, td->data).i, span;
    if (c == 0 || __builtin_sub_overflow(b, a, &span))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "range from %lld to %lld by %lld has no usable length",
                        (long long)a, (long long)b, (long long)c);
    /* ceil(span / c) exactly: C division truncates, which is the ceiling
     * unless the quotient is positive with a remainder */
    n = span / c + (span % c != 0 && (span < 0) == (c < 0));
    n = n > 0 ? n : 0;
    TRY(new_output(ctx, 0, dt, 1, &n, &y));
    size_t es = onnxq_dtype_size(dt);
    num v = {NUM_INT, a, 0, 0.0};
    for (int64_t i = 0; i < n; i++, v.i += c) /* stays within [a, b) */
        num_store(dt, (byte *)y->data + (size_t)i * es, v);
    return ONNXQ_OK;
}

static onnxq_status k_constant_of_shape(oq_kctx *ctx)
{
    const oq_tensor *ts;
    TRY(need_input(ctx, 0, "input", &ts));
    int64_t dims[OQ_MAX_RANK];
    size_t n;
    TRY(read_list(ctx, ts, "shape", dims, OQ_MAX_RANK, &n));
    for (size_t i = 0; i < n; i++)
        if (dims[i] < 0)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "shape %s has a negative dimension",
                            shp(dims, (int)n).s);
    /* the value attribute is a one-element tensor; default float 0 */
    int32_t dt = DT(FLOAT);
    byte val[16] = {0};
    size_t es = 4;
    const Onnx__AttributeProto *a = oq_attr(ctx, "value");
    if (a) {
        const Onnx__TensorProto *tp = a->t;
        uint64_t bytes = 0;
        es = tp ? onnxq_dtype_size(tp->data_type) : 0;
        if (!tp || !es ||
            onnxq_tensor_expected_bytes(tp, &bytes, NULL) != ONNXQ_OK ||
            bytes != es)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "attribute value must be a one-element numeric "
                            "tensor");
        dt = tp->data_type;
        TRY(tensor_attr_data(ctx, "value", tp, val, es));
    }
    oq_tensor *y;
    TRY(new_output(ctx, 0, dt, (int)n, dims, &y));
    fill_elems(y->data, val, es, (int64_t)oq_numel(y));
    return ONNXQ_OK;
}

/* Constant: exactly one of the value attributes gives the tensor. */
static onnxq_status k_constant(oq_kctx *ctx)
{
    static const char *const kinds[] = {
        "value", "value_float", "value_floats", "value_int", "value_ints",
        "value_string", "value_strings", "sparse_value"};
    int which = -1, found = 0;
    for (int i = 0; i < 8; i++)
        if (oq_attr(ctx, kinds[i])) {
            which = i;
            found++;
        }
    if (found != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "needs exactly one value attribute, found %d", found);
    oq_tensor *y;
    switch (which) {
    case 0: {
        const Onnx__TensorProto *tp = oq_attr(ctx, "value")->t;
        uint64_t bytes;
        onnxq_error e;
        if (!tp)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "attribute value holds no tensor");
        if (!onnxq_dtype_size(tp->data_type))
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "constant of type %s is not supported",
                            onnxq_dtype_name(tp->data_type));
        TRY(check_rank(ctx, (long)tp->n_dims));
        if (onnxq_tensor_expected_bytes(tp, &bytes, &e) != ONNXQ_OK)
            return oq_kfail(ctx, e.status, "attribute value: %s", e.message);
        TRY(new_output(ctx, 0, tp->data_type, (int)tp->n_dims, tp->dims, &y));
        return tensor_attr_data(ctx, "value", tp, y->data, (size_t)bytes);
    }
    case 1: {
        TRY(new_output(ctx, 0, DT(FLOAT), 0, NULL, &y));
        *(float *)y->data = oq_attr_float(ctx, "value_float", 0.0f);
        return ONNXQ_OK;
    }
    case 2: {
        const float *v;
        int64_t n = oq_attr_floats(ctx, "value_floats", &v);
        TRY(new_output(ctx, 0, DT(FLOAT), 1, &n, &y));
        if (n)
            memcpy(y->data, v, (size_t)n * sizeof *v);
        return ONNXQ_OK;
    }
    case 3: {
        TRY(new_output(ctx, 0, DT(INT64), 0, NULL, &y));
        *(int64_t *)y->data = oq_attr_int(ctx, "value_int", 0);
        return ONNXQ_OK;
    }
    case 4: {
        const int64_t *v;
        int64_t n = oq_attr_ints(ctx, "value_ints", &v);
        TRY(new_output(ctx, 0, DT(INT64), 1, &n, &y));
        if (n)
            memcpy(y->data, v, (size_t)n * sizeof *v);
        return ONNXQ_OK;
    }
    default:
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "%s constants are not supported by the runtime",
                        kinds[which]);
    }
}

/* A number as an index: integers as they are, floats truncated toward zero
 * (a C cast, as ONNX Runtime reads float indices).  0 if there is no such
 * index (NaN, infinite, beyond int64). */
static int num_to_index(num v, int64_t *out)
{
    switch (v.kind) {
    case NUM_INT: *out = v.i; return 1;
    case NUM_UINT: *out = (int64_t)v.u; return v.u <= INT64_MAX;
    default:
        if (!(v.f > -9.2e18 && v.f < 9.2e18))
            return 0;
        *out = (int64_t)v.f;
        return 1;
    }
}

/* OneHot: a new axis of size depth holding on_value at each index, off_value
 * elsewhere; indices outside [-depth, depth) give an all-off line, as the
 * spec says. */
static onnxq_status k_one_hot(oq_kctx *ctx)
{
    const oq_tensor *ind, *td, *tv;
    TRY(need_input(ctx, 0, "indices", &ind));
    TRY(need_input(ctx, 1, "depth", &td));
    TRY(need_input(ctx, 2, "values", &tv));
    TRY(need_numbers(ctx, ind->dtype));
    TRY(need_numbers(ctx, td->dtype));
    size_t es;
    TRY(elem_size(ctx, tv, &es));
    int64_t depth;
    if (oq_numel(td) != 1 || !num_to_index(num_load(td->dtype, td->data),
                                           &depth) || depth < 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "depth must be one positive number (shape %s)",
                        shp(td->dims, td->rank).s);
    if (oq_numel(tv) != 2)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "values must hold [off_value, on_value], got shape %s",
                        shp(tv->dims, tv->rank).s);
    int r = ind->rank + 1, axis;
    TRY(check_rank(ctx, r));
    TRY(norm_axis(ctx, oq_attr_int(ctx, "axis", -1), r, "axis", &axis));
    int64_t dims[OQ_MAX_RANK];
    for (int d = 0, k = 0; d < r; d++)
        dims[d] = d == axis ? depth : ind->dims[k++];
    oq_tensor *y;
    TRY(new_output(ctx, 0, tv->dtype, r, dims, &y));
    const byte *off = tv->data, *on = off + es;
    byte *dst = y->data;
    fill_elems(dst, off, es, (int64_t)oq_numel(y));
    int64_t outer = prod(ind->dims, 0, axis),
            inner = prod(ind->dims, axis, ind->rank);
    size_t isz = onnxq_dtype_size(ind->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v;
            const byte *p = (const byte *)ind->data +
                            (size_t)(o * inner + i) * isz;
            if (!num_to_index(num_load(ind->dtype, p), &v) || v < -depth ||
                v >= depth)
                continue;
            v = v < 0 ? v + depth : v;
            memcpy(dst + (size_t)((o * depth + v) * inner + i) * es, on, es);
        }
    return ONNXQ_OK;
}

static onnxq_status k_eye_like(oq_kctx *ctx)
{
    const oq_tensor *x;
    TRY(need_input(ctx, 0, "input", &x));
    if (x->rank != 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input must be 2-D, got %s", shp(x->dims, x->rank).s);
    int32_t dt = oq_attr(ctx, "dtype") ? (int32_t)oq_attr_int(ctx, "dtype", 0)
                                        : x->dtype;
    size_t es = onnxq_dtype_size(dt);
    TRY(need_numbers(ctx, dt));
    int64_t rows = x->dims[0], cols = x->dims[1], k = oq_attr_int(ctx, "k", 0);
    oq_tensor *y;
    TRY(new_output(ctx, 0, dt, 2, x->dims, &y));
    num one = {num_kind(dt), 1, 1, 1.0};
    for (int64_t i = 0; i < rows; i++) {
        /* j = i + k, compared without forming i + k (k may be huge) */
        if (k >= cols - i || k < -i)
            continue;
        num_store(dt, (byte *)y->data + (size_t)(i * cols + i + k) * es, one);
    }
    return ONNXQ_OK;
}

/* Trilu keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each
 * matrix in the last two axes; the rest stays zero (zero bytes are zero in
 * every type). */
static onnxq_status k_trilu(oq_kctx *ctx)
{
    const oq_tensor *x, *tk = oq_in(ctx, 1);
    TRY(need_input(ctx, 0, "input", &x));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    int r = x->rank;
    if (r < 2)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input must have rank >= 2, got %s",
                        shp(x->dims, r).s);
    int64_t k = 0;
    if (tk)
        TRY(read_scalar(ctx, tk, "k", &k));
    int upper = oq_attr_int(ctx, "upper", 1) != 0;
    int64_t rows = x->dims[r - 2], cols = x->dims[r - 1];
    /* beyond ±(rows + cols) every k means the same: clamp to stay exact */
    int64_t lim = rows + cols + 1;
    k = k < -lim ? -lim : k > lim ? lim : k;
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, r, x->dims, &y));
    int64_t mats = prod(x->dims, 0, r - 2);
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++) {
            int64_t from = upper ? i + k : 0, to = upper ? cols : i + k + 1;
            from = from < 0 ? 0 : from;
            to = to > cols ? cols : to;
            size_t at = (size_t)((m * rows + i) * cols + from) * es;
            if (to > from)
                memcpy((byte *)y->data + at, (const byte *)x->data + at,
                       (size_t)(to - from) * es);
        }
    return ONNXQ_OK;
}

/* ==== scanning: CumSum, ReverseSequence =================================== */

/* CumSum accumulates in the element's own type (integers wrap, floats round
 * after each addition), as ONNX Runtime's typed loop does. */
static onnxq_status k_cumsum(oq_kctx *ctx)
{
    const oq_tensor *x, *ta;
    TRY(need_input(ctx, 0, "x", &x));
    TRY(need_input(ctx, 1, "axis", &ta));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(need_numbers(ctx, x->dtype));
    int64_t av;
    int axis;
    TRY(read_scalar(ctx, ta, "axis", &av));
    TRY(norm_axis(ctx, av, x->rank, "axis", &axis));
    int exclusive = oq_attr_int(ctx, "exclusive", 0) != 0,
        reverse = oq_attr_int(ctx, "reverse", 0) != 0;
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, x->rank, x->dims, &y));
    int64_t outer = prod(x->dims, 0, axis), n = x->dims[axis],
            inner = prod(x->dims, axis + 1, x->rank);
    num zero = {num_kind(x->dtype), 0, 0, 0.0};
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            num acc = zero;
            for (int64_t s = 0; s < n; s++) {
                int64_t j = reverse ? n - 1 - s : s;
                size_t at = (size_t)((o * n + j) * inner + i) * es;
                num v = num_load(x->dtype, (const byte *)x->data + at);
                if (exclusive)
                    num_store(x->dtype, (byte *)y->data + at, acc);
                acc = num_apply(RED_ADD, x->dtype, acc, v);
                if (!exclusive)
                    num_store(x->dtype, (byte *)y->data + at, acc);
            }
        }
    return ONNXQ_OK;
}

static onnxq_status k_reverse_sequence(oq_kctx *ctx)
{
    const oq_tensor *x, *tl;
    TRY(need_input(ctx, 0, "input", &x));
    TRY(need_input(ctx, 1, "sequence_lens", &tl));
    size_t es;
    TRY(elem_size(ctx, x, &es));
    TRY(check_index_type(ctx, tl, "sequence_lens"));
    int64_t ba = oq_attr_int(ctx, "batch_axis", 1),
            ta = oq_attr_int(ctx, "time_axis", 0);
    if (x->rank < 2 || !((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                        "batch_axis %lld and time_axis %lld must be 0 and 1 "
                        "of an input of rank >= 2 (got %s)", (long long)ba,
                        (long long)ta, shp(x->dims, x->rank).s);
    int64_t batch = x->dims[ba], time = x->dims[ta];
    if (tl->rank != 1 || tl->dims[0] != batch)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "sequence_lens %s must have one length per batch "
                        "entry (%lld)", shp(tl->dims, tl->rank).s,
                        (long long)batch);
    oq_tensor *y;
    TRY(new_output(ctx, 0, x->dtype, x->rank, x->dims, &y));
    /* the axes after the first two form one contiguous block per (0, 1)
     * pair; steps along batch and time are counted in blocks */
    size_t block = (size_t)prod(x->dims, 2, x->rank) * es;
    int64_t sb = ba == 0 ? x->dims[1] : 1, st = ta == 0 ? x->dims[1] : 1;
    for (int64_t b = 0; b < batch; b++) {
        int64_t len = index_at(tl, (size_t)b);
        if (len < 0 || len > time)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                            "sequence length %lld of batch entry %lld is "
                            "outside [0, %lld]", (long long)len, (long long)b,
                            (long long)time);
        for (int64_t t = 0; t < time; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            memcpy((byte *)y->data + (size_t)(b * sb + t * st) * block,
                   (const byte *)x->data + (size_t)(b * sb + from * st) * block,
                   block);
        }
    }
    return ONNXQ_OK;
}

/* ==== the table =========================================================== */

OQ_KERNEL_TABLE(oq_ref_shape_kernels) = {
    {"", "Shape", 1, 21, k_shape},
    {"", "Size", 1, 21, k_size},
    {"", "Reshape", 5, 21, k_reshape},
    {"", "Flatten", 1, 21, k_flatten},
    {"", "Squeeze", 1, 21, k_squeeze},
    {"", "Unsqueeze", 1, 21, k_unsqueeze},
    {"", "Transpose", 1, 21, k_transpose},
    {"", "DepthToSpace", 1, 21, k_depth_to_space},
    {"", "SpaceToDepth", 1, 21, k_space_to_depth},
    {"", "Concat", 4, 21, k_concat},
    {"", "Split", 2, 21, k_split},
    {"", "Slice", 1, 21, k_slice},
    {"", "Gather", 1, 21, k_gather},
    {"", "GatherElements", 11, 21, k_gather_elements},
    {"", "GatherND", 11, 21, k_gather_nd},
    {"", "Compress", 9, 21, k_compress},
    {"", "NonZero", 9, 21, k_nonzero},
    {"", "TopK", 1, 21, k_topk},
    {"", "Unique", 11, 21, k_unique},
    {"", "Scatter", 9, 10, k_scatter_elements}, /* ScatterElements' old name */
    {"", "ScatterElements", 11, 21, k_scatter_elements},
    {"", "ScatterND", 11, 21, k_scatter_nd},
    {"", "Expand", 8, 21, k_expand},
    {"", "Tile", 6, 21, k_tile},
    {"", "Pad", 2, 21, k_pad},
    {"", "Range", 11, 21, k_range},
    {"", "ConstantOfShape", 9, 21, k_constant_of_shape},
    {"", "Constant", 1, 21, k_constant},
    {"", "OneHot", 9, 21, k_one_hot},
    {"", "EyeLike", 9, 21, k_eye_like},
    {"", "Trilu", 14, 21, k_trilu},
    {"", "CumSum", 11, 21, k_cumsum},
    {"", "ReverseSequence", 10, 21, k_reverse_sequence},
    {NULL, NULL, 0, 0, NULL},
};
