/*
 * elementwise.c — reference kernels for ONNX's element-wise ops:
 * arithmetic and comparisons with numpy broadcasting, logic and bit shifts,
 * activations and math functions, Clip, Where, Cast/CastLike, Identity, and
 * com.microsoft's Gelu, FastGelu, BiasGelu and QuickGelu.
 *
 * How it works.  Elements are read, a chunk at a time, into one of four
 * compute domains — float (float32, float16, bfloat16), double (float64),
 * int64 (signed integers, bool) or uint64 (unsigned integers).  An op's row
 * function for that domain computes the chunk, and the results are written
 * back in the output's type.  So an op is data (ew_op): which input types it
 * takes, the domain it computes in, and one row function per domain, each
 * generated from a one-line expression by the ROW macros; the walk over
 * shapes, broadcasting and types is written once (ew_apply).
 *
 * Numerics follow ONNX Runtime, whose results the integer ops must match bit
 * for bit:
 *   - float32 is computed in float, float64 in double, float16 and bfloat16
 *     in float and rounded back to nearest even;
 *   - integer arithmetic wraps to the output type like C++ arithmetic does
 *     (signed values are added/multiplied as uint64, so overflow is defined);
 *     Div truncates toward zero; division by zero, undefined in C (ONNX
 *     Runtime crashes), gives 0 here;
 *   - float to integer (Cast, Pow of integers, which ONNX Runtime computes
 *     through double) truncates toward zero and saturates at the type's
 *     limits, NaN giving 0 — C leaves out-of-range values undefined;
 *   - integer to integer conversions wrap, as C does.
 *
 * Broadcasting is numpy's (right-aligned, 1 stretches).  The walk drops
 * dimensions of 1 and merges dimensions that are contiguous in every operand,
 * so the usual cases (equal shapes, a scalar, a bias along the last axis) run
 * over long rows.  Variadic ops (Sum, Mean, Max, Min) fold all their inputs
 * chunk by chunk in the compute domain and round to the output type once,
 * as ONNX Runtime does for float16.
 */
#include <float.h>
#include <stdio.h>
#include <string.h>
#include <tgmath.h>

#include "kernel.h"
#include "onnxq/tensor.h"
#include "ref_kernels.h"

/* ---- element types -------------------------------------------------------- */

enum {
    DT_F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    DT_F64 = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    DT_F16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    DT_BF16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16,
    DT_I8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    DT_I16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    DT_I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    DT_I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    DT_U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    DT_U16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    DT_U32 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32,
    DT_U64 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
    DT_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    DT_STRING = ONNX__TENSOR_PROTO__DATA_TYPE__STRING,
};

/* Sets of types, as bit masks over the DataType numbers (all below 32). */
#define TBIT(dt) (1u << (dt))
enum {
    T_FLOAT = TBIT(DT_F32) | TBIT(DT_F64) | TBIT(DT_F16) | TBIT(DT_BF16),
    T_SINT = TBIT(DT_I8) | TBIT(DT_I16) | TBIT(DT_I32) | TBIT(DT_I64),
    T_UINT = TBIT(DT_U8) | TBIT(DT_U16) | TBIT(DT_U32) | TBIT(DT_U64),
    T_BOOL = TBIT(DT_BOOL),
    T_INT = T_SINT | T_UINT,
    T_NUM = T_FLOAT | T_INT,
    T_ALL = T_NUM | T_BOOL,
};

static int type_in(int32_t dtype, uint32_t set)
{
    return dtype >= 0 && dtype < 32 && ((set >> dtype) & 1);
}

/* The compute domains, and a value of any of them. */
enum { DOM_F32, DOM_F64, DOM_I64, DOM_U64, N_DOM, DOM_INPUT = -1 };
typedef union ew_num {
    float f;
    double d;
    int64_t i;
    uint64_t u;
} ew_num;

/* The domain a type is computed in, or -1 if this file has no use for it
 * (string, complex, float8). */
static int dom_of(int32_t dtype)
{
    switch (dtype) {
    case DT_F32: case DT_F16: case DT_BF16: return DOM_F32;
    case DT_F64: return DOM_F64;
    case DT_I8: case DT_I16: case DT_I32: case DT_I64: case DT_BOOL:
        return DOM_I64;
    case DT_U8: case DT_U16: case DT_U32: case DT_U64: return DOM_U64;
    default: return -1;
    }
}

/* A type of each domain: convert() to it converts to the domain. */
static const int32_t dom_type[N_DOM] = {DT_F32, DT_F64, DT_I64, DT_U64};

/* Width in bits of an integer type. */
static int int_bits(int32_t dtype)
{
    switch (dtype) {
    case DT_I8: case DT_U8: return 8;
    case DT_I16: case DT_U16: return 16;
    case DT_I32: case DT_U32: return 32;
    default: return 64;
    }
}

/* ---- reading, converting and writing chunks --------------------------------- */

/* Reads n elements of t into dst, in t's domain: the k-th from element
 * off + k * step (step 0 repeats one element). */
static void load(const oq_tensor *t, size_t off, size_t step, size_t n,
                 ew_num *dst)
{
#define LOAD(ctype, field, conv)                                              \
    do {                                                                      \
        const ctype *s = (const ctype *)t->data + off;                       \
        for (size_t k = 0; k < n; k++)                                        \
            dst[k].field = conv(s[k * step]);                                 \
    } while (0)
    switch (t->dtype) {
    case DT_F32: LOAD(float, f, ); break;
    case DT_F64: LOAD(double, d, ); break;
    case DT_F16: LOAD(uint16_t, f, oq_half_to_float); break;
    case DT_BF16: LOAD(uint16_t, f, oq_bfloat16_to_float); break;
    case DT_I8: LOAD(int8_t, i, ); break;
    case DT_I16: LOAD(int16_t, i, ); break;
    case DT_I32: LOAD(int32_t, i, ); break;
    case DT_I64: LOAD(int64_t, i, ); break;
    case DT_BOOL: LOAD(uint8_t, i, !!); break;
    case DT_U8: LOAD(uint8_t, u, ); break;
    case DT_U16: LOAD(uint16_t, u, ); break;
    case DT_U32: LOAD(uint32_t, u, ); break;
    case DT_U64: LOAD(uint64_t, u, ); break;
    default: break; /* callers check dom_of first */
    }
#undef LOAD
}

/* Writes n values of t's domain to elements off.. of t.  Narrowing an
 * integer wraps (GCC and Clang define it as reduction modulo 2^N). */
static void store(oq_tensor *t, size_t off, size_t n, const ew_num *src)
{
#define STORE(ctype, expr)                                                    \
    do {                                                                      \
        ctype *d = (ctype *)t->data + off;                                   \
        for (size_t k = 0; k < n; k++)                                        \
            d[k] = (ctype)(expr);                                             \
    } while (0)
    switch (t->dtype) {
    case DT_F32: STORE(float, src[k].f); break;
    case DT_F64: STORE(double, src[k].d); break;
    case DT_F16: STORE(uint16_t, oq_float_to_half(src[k].f)); break;
    case DT_BF16: STORE(uint16_t, oq_float_to_bfloat16(src[k].f)); break;
    case DT_I8: STORE(int8_t, src[k].i); break;
    case DT_I16: STORE(int16_t, src[k].i); break;
    case DT_I32: STORE(int32_t, src[k].i); break;
    case DT_I64: STORE(int64_t, src[k].i); break;
    case DT_BOOL: STORE(uint8_t, src[k].i != 0); break;
    case DT_U8: STORE(uint8_t, src[k].u); break;
    case DT_U16: STORE(uint16_t, src[k].u); break;
    case DT_U32: STORE(uint32_t, src[k].u); break;
    case DT_U64: STORE(uint64_t, src[k].u); break;
    default: break;
    }
#undef STORE
}

/* A float value truncated toward zero and saturated to integer type `to`
 * (NaN -> 0).  The limits are powers of two, exact in a double. */
static ew_num float_to_int(double v, int32_t to)
{
    ew_num r;
    int bits = int_bits(to);
    if (dom_of(to) == DOM_U64) {
        double hi = ldexp(1.0, bits);
        uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        r.u = v != v || v <= 0 ? 0 : v >= hi ? max : (uint64_t)v;
    } else {
        double hi = ldexp(1.0, bits - 1);
        int64_t max = (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
        r.i = v != v ? 0 : v < -hi ? -max - 1 : v >= hi ? max : (int64_t)v;
    }
    return r;
}

/* Converts n values in place from domain `from` to the domain of type `to`,
 * like Cast: to bool is "!= 0" (NaN is true), float to integer saturates
 * (float_to_int), integer to integer reinterprets the 64 bits (the store
 * then wraps), integer to float rounds to nearest. */
static void convert(ew_num *v, size_t n, int from, int32_t to)
{
    int dom = dom_of(to);
    if (from == dom && to != DT_BOOL)
        return;
    for (size_t k = 0; k < n; k++) {
        ew_num x = v[k];
        if (to == DT_BOOL)
            v[k].i = from == DOM_F32 ? x.f != 0 : from == DOM_F64 ? x.d != 0
                                                               : x.u != 0;
        else if (dom == DOM_F32)
            v[k].f = from == DOM_F64 ? (float)x.d
                     : from == DOM_I64 ? (float)x.i : (float)x.u;
        else if (dom == DOM_F64)
            v[k].d = from == DOM_F32 ? (double)x.f
                     : from == DOM_I64 ? (double)x.i : (double)x.u;
        else if (from == DOM_F32)
            v[k] = float_to_int(x.f, to);
        else if (from == DOM_F64)
            v[k] = float_to_int(x.d, to);
        /* else int64 <-> uint64: the same 64 bits */
    }
}

/* ---- the broadcast walk ------------------------------------------------------ */

/* Elements per chunk (the unit of work, and of the stack buffers), and the
 * smallest output worth spreading over threads. */
enum { EW_CHUNK = 256, EW_PARALLEL_MIN = 1 << 16 };

static int threads_for(const oq_kctx *ctx, size_t elements)
{
    return elements < EW_PARALLEL_MIN ? 1 : oq_threads(ctx);
}

/* The output seen as rows x len elements, after dropping dims of 1 and
 * merging runs of dims that are contiguous in every operand.  Any number of
 * operands: each one's offsets come from walk_operand. */
typedef struct ew_walk {
    int out_rank;
    int64_t out_dims[OQ_MAX_RANK];
    int rank;                   /* merged, >= 1 */
    int64_t dims[OQ_MAX_RANK];  /* merged */
    int inner[OQ_MAX_RANK];     /* innermost output dim of each merged one;
                                   -1 for the single dim of a scalar walk */
    size_t rows, len;
} ew_walk;

static void walk_init(ew_walk *w, int rank, const int64_t *dims,
                      const oq_tensor *const *ops, size_t n)
{
    w->out_rank = rank;
    memcpy(w->out_dims, dims, sizeof(int64_t) * (size_t)rank);
    w->rank = 0;
    for (int d = 0; d < rank; d++) {
        if (dims[d] == 1)
            continue;
        int r = w->rank, merge = r > 0;
        /* the previous kept dim is contiguous with d in every operand */
        for (size_t j = 0; j < n && merge; j++) {
            int64_t st[OQ_MAX_RANK];
            oq_broadcast_strides(ops[j], rank, dims, st);
            merge = st[w->inner[r - 1]] == st[d] * dims[d];
        }
        if (merge) {
            w->dims[r - 1] *= dims[d];
            w->inner[r - 1] = d;
        } else {
            w->dims[r] = dims[d];
            w->inner[r] = d;
            w->rank++;
        }
    }
    if (w->rank == 0) { /* a scalar, or all dims 1 */
        w->rank = 1;
        w->dims[0] = 1;
        w->inner[0] = -1;
    }
    w->len = (size_t)w->dims[w->rank - 1];
    w->rows = oq_numel_dims(w->dims, w->rank - 1);
}

/* Where operand t's elements for output row `row` start, and their step
 * (0 when broadcast along the row). */
static void walk_operand(const ew_walk *w, const oq_tensor *t, size_t row,
                         size_t *off, size_t *step)
{
    int64_t st[OQ_MAX_RANK];
    oq_broadcast_strides(t, w->out_rank, w->out_dims, st);
    size_t o = 0;
    for (int m = w->rank - 2; m >= 0; m--) {
        size_t c = row % (size_t)w->dims[m];
        row /= (size_t)w->dims[m];
        o += c * (size_t)st[w->inner[m]];
    }
    int last = w->inner[w->rank - 1];
    *off = o;
    *step = last < 0 ? 0 : (size_t)st[last];
}

/* ---- shapes and messages ---------------------------------------------------- */

/* "[2,3,4]" ("[]" for a scalar) into buf. */
static const char *shape_str(const oq_tensor *t, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 d ? "," : "", (long long)t->dims[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

/* Broadcasts in[0..n) into rank/dims, or fails naming every shape. */
static onnxq_status broadcast_all(oq_kctx *ctx, const oq_tensor *const *in,
                                  size_t n, int *rank, int64_t *dims)
{
    oq_tensor acc = {.rank = 0}, next = {.rank = 0};
    for (size_t j = 0; j < n; j++) {
        /* into a second shape: oq_broadcast_shape's output may not alias */
        if (oq_broadcast_shape(&acc, in[j], &next.rank, next.dims) == 0) {
            acc = next;
            continue;
        }
        char msg[512], sh[128];
        size_t used = 0;
        for (size_t k = 0; k < n && used < sizeof msg; k++)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s",
                                     k ? " and " : "",
                                     shape_str(in[k], sh, sizeof sh));
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "input shapes %s do not broadcast", msg);
    }
    *rank = acc.rank;
    memcpy(dims, acc.dims, sizeof acc.dims);
    return ONNXQ_OK;
}

static onnxq_status need_inputs(oq_kctx *ctx, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!oq_in(ctx, j))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "input %zu is missing", j);
    return ONNXQ_OK;
}

static onnxq_status unsupported_type(oq_kctx *ctx, size_t j, int32_t dtype)
{
    return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "input %zu has type %s, "
                    "which this op does not take", j, onnxq_dtype_name(dtype));
}

/* ---- ops as data ------------------------------------------------------------ */

/* Attribute values and other constants an op's rows read. */
typedef struct ew_param {
    float alpha, beta, gamma;  /* per op: LeakyRelu's alpha, Shrink's lambd/bias... */
    int pos, neg;              /* IsInf: detect_positive, detect_negative */
    ew_num lo, hi;             /* Clip's bounds, in the compute domain */
    float count;               /* Mean: number of inputs */
} ew_param;

/* r[k] = f(a[k]) or f(a[k], b[k]) for k < n; r may be a. */
typedef void (*ew_row)(const ew_param *p, size_t n, ew_num *r,
                       const ew_num *a, const ew_num *b);

typedef struct ew_op {
    int arity;        /* 1, or 2 (variadic ops fold with a binary row) */
    uint32_t types;   /* types input 0 may have; the others must match it... */
    uint32_t types1;  /* ...unless this is set: the types input 1 may have */
    int compute;      /* domain the rows work in; DOM_INPUT: input 0's */
    int out_bool;     /* output is bool; rows write .i = 0 or 1 */
    ew_row row[N_DOM];
} ew_op;

/*
 * ROW1(name, TYPE, in, out, expr) defines a row computing r[k].out = expr of
 * x = a[k].in; ROW2 also has y = b[k].in.  Inside expr, T is TYPE (write
 * constants as (T)0.5 so float rows stay in float; <tgmath.h> makes exp()
 * and friends pick the float or double version from their argument) and p
 * is the ew_param.
 */
#define ROW1(name, TYPE, in, out, expr)                                        \
    static void name(const ew_param *p, size_t n, ew_num *r, const ew_num *a, \
                     const ew_num *b)                                          \
    {                                                                          \
        typedef TYPE T;                                                        \
        (void)p;                                                               \
        (void)b;                                                               \
        for (size_t k = 0; k < n; k++) {                                       \
            T x = a[k].in;                                                     \
            r[k].out = (expr);                                                 \
        }                                                                      \
    }
#define ROW2(name, TYPE, in, out, expr)                                        \
    static void name(const ew_param *p, size_t n, ew_num *r, const ew_num *a, \
                     const ew_num *b)                                          \
    {                                                                          \
        typedef TYPE T;                                                        \
        (void)p;                                                               \
        for (size_t k = 0; k < n; k++) {                                       \
            T x = a[k].in, y = b[k].in;                                        \
            (void)y;                                                           \
            r[k].out = (expr);                                                 \
        }                                                                      \
    }

/* The same expression for float and double (NAME_f, NAME_d). */
#define FLOAT1(name, expr) ROW1(name##_f, float, f, f, expr) \
                           ROW1(name##_d, double, d, d, expr)
#define FLOAT2(name, expr) ROW2(name##_f, float, f, f, expr) \
                           ROW2(name##_d, double, d, d, expr)
/* Comparisons in all four domains, giving bool. */
#define CMP2(name, expr) ROW2(name##_f, float, f, i, expr)     \
                         ROW2(name##_d, double, d, i, expr)    \
                         ROW2(name##_i, int64_t, i, i, expr)   \
                         ROW2(name##_u, uint64_t, u, i, expr)

#define ROWS_FLOAT(name) {name##_f, name##_d, NULL, NULL}
#define ROWS_ALL(name) {name##_f, name##_d, name##_i, name##_u}

/* Shorthands for op descriptors. */
#define UNARY_FLOAT(name) {1, T_FLOAT, 0, DOM_INPUT, 0, ROWS_FLOAT(name)}
#define BINARY_FLOAT(name) {2, T_FLOAT, 0, DOM_INPUT, 0, ROWS_FLOAT(name)}

/* Signed wrap-around: two's complement arithmetic done in uint64. */
#define WRAP(e) ((int64_t)(uint64_t)(e))

/* Expressions shared by several ops (x or v of type T). */
#define SIGMOID(v) ((T)1 / ((T)1 + exp(-(v))))
#define SOFTPLUS(v) ((v) > 0 ? (v) + log1p(exp(-(v))) : log1p(exp(v)))
#define GELU_ERF(v) ((T)0.5 * (v) * ((T)1 + erf((v) * (T)M_SQRT1_2)))
#define GELU_TANH(v)                                                          \
    ((T)0.5 * (v) *                                                           \
     ((T)1 + tanh((T)0.7978845608028654 * ((v) + (T)0.044715 * (v) * (v) * (v)))))

/* -- arithmetic.  Signed and unsigned + - * are the same bits, so one uint64
 *    row serves both integer domains. */
FLOAT2(add, x + y)
FLOAT2(sub, x - y)
FLOAT2(mul, x * y)
FLOAT2(div, x / y)
ROW2(add_int, uint64_t, u, u, x + y)
ROW2(sub_int, uint64_t, u, u, x - y)
ROW2(mul_int, uint64_t, u, u, x * y)
/* y == -1 negates, so INT64_MIN / -1 wraps instead of trapping */
ROW2(div_i, int64_t, i, i, y == 0 ? 0 : y == -1 ? WRAP(0 - (uint64_t)x) : x / y)
ROW2(div_u, uint64_t, u, u, y == 0 ? 0 : x / y)

static const ew_op op_add = {2, T_NUM, 0, DOM_INPUT, 0, {add_f, add_d, add_int, add_int}};
static const ew_op op_sub = {2, T_NUM, 0, DOM_INPUT, 0, {sub_f, sub_d, sub_int, sub_int}};
static const ew_op op_mul = {2, T_NUM, 0, DOM_INPUT, 0, {mul_f, mul_d, mul_int, mul_int}};
static const ew_op op_div = {2, T_NUM, 0, DOM_INPUT, 0, {div_f, div_d, div_i, div_u}};

/* Pow: ONNX Runtime calls std::pow(base, exponent), which for mixed or
 * integer types computes in double and converts back (integers truncate).
 * Every type pair is computed that way here; for float^float the result is
 * the correctly rounded one, within an ulp of ONNX Runtime's powf. */
ROW2(pow_d, double, d, d, pow(x, y))
static const ew_op op_pow = {2, T_NUM, T_NUM, DOM_F64, 0, {NULL, pow_d, NULL, NULL}};

/* Mod: fmod=1 is C's fmod / % (sign of the dividend); fmod=0 (integers
 * only) is Python's (sign of the divisor).  x % -1 is 0, and avoids the
 * INT64_MIN % -1 trap. */
FLOAT2(fmod, fmod(x, y))
ROW2(cmod_i, int64_t, i, i, y == 0 || y == -1 ? 0 : x % y)
static int64_t floor_mod(int64_t x, int64_t y)
{
    if (y == 0 || y == -1)
        return 0;
    int64_t r = x % y;
    return r != 0 && (r < 0) != (y < 0) ? r + y : r;
}
ROW2(pymod_i, int64_t, i, i, floor_mod(x, y))
ROW2(mod_u, uint64_t, u, u, y == 0 ? 0 : x % y)
static const ew_op op_fmod = {2, T_NUM, 0, DOM_INPUT, 0, {fmod_f, fmod_d, cmod_i, mod_u}};
static const ew_op op_pymod = {2, T_INT, 0, DOM_INPUT, 0, {NULL, NULL, pymod_i, mod_u}};

/* Max/Min propagate NaN, as ONNX Runtime (and numpy) do. */
FLOAT2(max, x != x || x > y ? x : y)
FLOAT2(min, x != x || x < y ? x : y)
ROW2(max_i, int64_t, i, i, x > y ? x : y)
ROW2(max_u, uint64_t, u, u, x > y ? x : y)
ROW2(min_i, int64_t, i, i, x < y ? x : y)
ROW2(min_u, uint64_t, u, u, x < y ? x : y)
static const ew_op op_max = {2, T_NUM, 0, DOM_INPUT, 0, ROWS_ALL(max)};
static const ew_op op_min = {2, T_NUM, 0, DOM_INPUT, 0, ROWS_ALL(min)};
static const ew_op op_sum = BINARY_FLOAT(add);
FLOAT1(mean_div, x / (T)p->count)
static const ew_op op_mean_div = UNARY_FLOAT(mean_div);

/* PRelu: y is the slope */
FLOAT2(prelu, x < 0 ? y * x : x)
ROW2(prelu_i, int64_t, i, i, x < 0 ? WRAP((uint64_t)y * (uint64_t)x) : x)
ROW2(prelu_u, uint64_t, u, u, x)
static const ew_op op_prelu = {2, T_NUM, 0, DOM_INPUT, 0, ROWS_ALL(prelu)};

/* BitShift: shifting by the width or more gives 0 (undefined in C) */
ROW2(shl_u, uint64_t, u, u, y >= 64 ? 0 : x << y)
ROW2(shr_u, uint64_t, u, u, y >= 64 ? 0 : x >> y)
static const ew_op op_shl = {2, T_UINT, 0, DOM_INPUT, 0, {NULL, NULL, NULL, shl_u}};
static const ew_op op_shr = {2, T_UINT, 0, DOM_INPUT, 0, {NULL, NULL, NULL, shr_u}};

/* -- logic (bool lives in the int64 domain as 0/1) */
ROW2(and_b, int64_t, i, i, x && y)
ROW2(or_b, int64_t, i, i, x || y)
ROW2(xor_b, int64_t, i, i, !x != !y)
ROW1(not_b, int64_t, i, i, !x)
static const ew_op op_and = {2, T_BOOL, 0, DOM_INPUT, 1, {NULL, NULL, and_b, NULL}};
static const ew_op op_or = {2, T_BOOL, 0, DOM_INPUT, 1, {NULL, NULL, or_b, NULL}};
static const ew_op op_xor = {2, T_BOOL, 0, DOM_INPUT, 1, {NULL, NULL, xor_b, NULL}};
static const ew_op op_not = {1, T_BOOL, 0, DOM_INPUT, 1, {NULL, NULL, not_b, NULL}};

/* -- comparisons */
CMP2(eq, x == y)
CMP2(lt, x < y)
CMP2(gt, x > y)
CMP2(le, x <= y)
CMP2(ge, x >= y)
static const ew_op op_equal = {2, T_ALL, 0, DOM_INPUT, 1, ROWS_ALL(eq)};
static const ew_op op_less = {2, T_NUM, 0, DOM_INPUT, 1, ROWS_ALL(lt)};
static const ew_op op_greater = {2, T_NUM, 0, DOM_INPUT, 1, ROWS_ALL(gt)};
static const ew_op op_less_eq = {2, T_NUM, 0, DOM_INPUT, 1, ROWS_ALL(le)};
static const ew_op op_greater_eq = {2, T_NUM, 0, DOM_INPUT, 1, ROWS_ALL(ge)};

/* -- unary ops on every numeric type */
FLOAT1(abs, fabs(x))
ROW1(abs_i, int64_t, i, i, x < 0 ? WRAP(0 - (uint64_t)x) : x)
ROW1(abs_u, uint64_t, u, u, x)
FLOAT1(neg, -x)
ROW1(neg_i, int64_t, i, i, WRAP(0 - (uint64_t)x))
FLOAT1(sign, x > 0 ? (T)1 : x < 0 ? (T)-1 : x) /* keeps 0 and NaN */
ROW1(sign_i, int64_t, i, i, (x > 0) - (x < 0))
ROW1(sign_u, uint64_t, u, u, x > 0)
FLOAT1(relu, x > 0 ? x : 0)
ROW1(relu_i, int64_t, i, i, x > 0 ? x : 0)
static const ew_op op_abs = {1, T_NUM, 0, DOM_INPUT, 0, ROWS_ALL(abs)};
static const ew_op op_neg = {1, T_FLOAT | T_SINT, 0, DOM_INPUT, 0, {neg_f, neg_d, neg_i, NULL}};
static const ew_op op_sign = {1, T_NUM, 0, DOM_INPUT, 0, ROWS_ALL(sign)};
static const ew_op op_relu = {1, T_FLOAT | T_SINT, 0, DOM_INPUT, 0, {relu_f, relu_d, relu_i, NULL}};

/* Clip: std::min(std::max(x, lo), hi) as ONNX Runtime computes it: NaN
 * stays NaN, and lo > hi gives hi. */
#define MAX_STD(a, b) ((a) < (b) ? (b) : (a))
#define MIN_STD(a, b) ((b) < (a) ? (b) : (a))
ROW1(clip_f, float, f, f, MIN_STD(MAX_STD(x, p->lo.f), p->hi.f))
ROW1(clip_d, double, d, d, MIN_STD(MAX_STD(x, p->lo.d), p->hi.d))
ROW1(clip_i, int64_t, i, i, MIN_STD(MAX_STD(x, p->lo.i), p->hi.i))
ROW1(clip_u, uint64_t, u, u, MIN_STD(MAX_STD(x, p->lo.u), p->hi.u))
static const ew_op op_clip = {1, T_NUM, 0, DOM_INPUT, 0, {clip_f, clip_d, clip_i, clip_u}};

/* Shrink takes every numeric type; ONNX Runtime mixes its float attributes
 * into the arithmetic, so rows work in double.  alpha = lambd, beta = bias. */
ROW1(shrink_d, double, d, d,
     x < -p->alpha ? x + p->beta : x > p->alpha ? x - p->beta : 0)
static const ew_op op_shrink = {1, T_NUM, 0, DOM_F64, 0, {NULL, shrink_d, NULL, NULL}};

/* -- float-only math */
FLOAT1(sqrt, sqrt(x))
FLOAT1(recip, (T)1 / x)
FLOAT1(exp, exp(x))
FLOAT1(log, log(x))
FLOAT1(ceil, ceil(x))
FLOAT1(floor, floor(x))
FLOAT1(round, nearbyint(x)) /* half to even in the default rounding mode */
FLOAT1(sin, sin(x))
FLOAT1(cos, cos(x))
FLOAT1(tan, tan(x))
FLOAT1(asin, asin(x))
FLOAT1(acos, acos(x))
FLOAT1(atan, atan(x))
FLOAT1(sinh, sinh(x))
FLOAT1(cosh, cosh(x))
FLOAT1(asinh, asinh(x))
FLOAT1(acosh, acosh(x))
FLOAT1(atanh, atanh(x))
FLOAT1(erf, erf(x))
ROW1(isnan_f, float, f, i, x != x)
ROW1(isnan_d, double, d, i, x != x)
ROW1(isinf_f, float, f, i, isinf(x) && (x > 0 ? p->pos : p->neg))
ROW1(isinf_d, double, d, i, isinf(x) && (x > 0 ? p->pos : p->neg))

static const ew_op op_sqrt = UNARY_FLOAT(sqrt);
static const ew_op op_recip = UNARY_FLOAT(recip);
static const ew_op op_exp = UNARY_FLOAT(exp);
static const ew_op op_log = UNARY_FLOAT(log);
static const ew_op op_ceil = UNARY_FLOAT(ceil);
static const ew_op op_floor = UNARY_FLOAT(floor);
static const ew_op op_round = UNARY_FLOAT(round);
static const ew_op op_sin = UNARY_FLOAT(sin);
static const ew_op op_cos = UNARY_FLOAT(cos);
static const ew_op op_tan = UNARY_FLOAT(tan);
static const ew_op op_asin = UNARY_FLOAT(asin);
static const ew_op op_acos = UNARY_FLOAT(acos);
static const ew_op op_atan = UNARY_FLOAT(atan);
static const ew_op op_sinh = UNARY_FLOAT(sinh);
static const ew_op op_cosh = UNARY_FLOAT(cosh);
static const ew_op op_asinh = UNARY_FLOAT(asinh);
static const ew_op op_acosh = UNARY_FLOAT(acosh);
static const ew_op op_atanh = UNARY_FLOAT(atanh);
static const ew_op op_erf = UNARY_FLOAT(erf);
static const ew_op op_isnan = {1, T_FLOAT, 0, DOM_INPUT, 1, ROWS_FLOAT(isnan)};
static const ew_op op_isinf = {1, T_FLOAT, 0, DOM_INPUT, 1, ROWS_FLOAT(isinf)};

/* -- activations (attribute defaults are set by the run functions) */
FLOAT1(sigmoid, SIGMOID(x))
FLOAT1(hard_sigmoid, fmax((T)0, fmin((T)1, p->alpha * x + p->beta)))
FLOAT1(hard_swish, x * fmax((T)0, fmin((T)1, x * (T)(1.0 / 6) + (T)0.5)))
FLOAT1(tanh, tanh(x))
FLOAT1(leaky_relu, x >= 0 ? x : p->alpha * x)
FLOAT1(elu, x >= 0 ? x : p->alpha * (exp(x) - 1))
FLOAT1(selu, x > 0 ? p->gamma * x : p->gamma * (p->alpha * exp(x) - p->alpha))
FLOAT1(celu, fmax((T)0, x) + fmin((T)0, p->alpha * (exp(x / p->alpha) - 1)))
FLOAT1(thresholded_relu, x > p->alpha ? x : 0)
FLOAT1(softplus, SOFTPLUS(x))
FLOAT1(softsign, x / ((T)1 + fabs(x)))
FLOAT1(mish, x * tanh(SOFTPLUS(x)))
FLOAT1(gelu, GELU_ERF(x))
FLOAT1(gelu_tanh, GELU_TANH(x))
FLOAT2(bias_gelu, GELU_ERF(x + y))
FLOAT2(bias_gelu_tanh, GELU_TANH(x + y))
FLOAT1(quick_gelu, x * SIGMOID(p->alpha * x))

static const ew_op op_sigmoid = UNARY_FLOAT(sigmoid);
static const ew_op op_hard_sigmoid = UNARY_FLOAT(hard_sigmoid);
static const ew_op op_hard_swish = UNARY_FLOAT(hard_swish);
static const ew_op op_tanh = UNARY_FLOAT(tanh);
static const ew_op op_leaky_relu = UNARY_FLOAT(leaky_relu);
static const ew_op op_elu = UNARY_FLOAT(elu);
static const ew_op op_selu = UNARY_FLOAT(selu);
static const ew_op op_celu = UNARY_FLOAT(celu);
static const ew_op op_thresholded_relu = UNARY_FLOAT(thresholded_relu);
static const ew_op op_softplus = UNARY_FLOAT(softplus);
static const ew_op op_softsign = UNARY_FLOAT(softsign);
static const ew_op op_mish = UNARY_FLOAT(mish);
static const ew_op op_gelu = UNARY_FLOAT(gelu);
static const ew_op op_gelu_tanh = UNARY_FLOAT(gelu_tanh);
static const ew_op op_bias_gelu = BINARY_FLOAT(bias_gelu);
static const ew_op op_bias_gelu_tanh = BINARY_FLOAT(bias_gelu_tanh);
static const ew_op op_quick_gelu = UNARY_FLOAT(quick_gelu);

/* ---- the engine --------------------------------------------------------------- */

/* Reads the chunk [k0, k0 + n) of output row `row` from operand t into v,
 * in domain dom. */
static void load_chunk(const ew_walk *w, const oq_tensor *t, size_t row,
                       size_t k0, size_t n, int dom, ew_num *v)
{
    size_t off, step;
    walk_operand(w, t, row, &off, &step);
    load(t, off + k0 * step, step, n, v);
    convert(v, n, dom_of(t->dtype), dom_type[dom]);
}

/* Applies op to in[0..n): one input for a unary op; for a binary one, two
 * or more folded left to right in the compute domain (so float16 sums round
 * once, as in ONNX Runtime), then post (Mean's division) if given.  Checks
 * types and shapes, and allocates output 0. */
static onnxq_status ew_apply(oq_kctx *ctx, const ew_op *op, const ew_op *post,
                             const ew_param *p, const oq_tensor *const *in,
                             size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!in[j])
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "input %zu is missing", j);
    int32_t dt = in[0]->dtype;
    if (!type_in(dt, op->types))
        return unsupported_type(ctx, 0, dt);
    for (size_t j = 1; j < n; j++) {
        if (j == 1 && op->types1) {
            if (!type_in(in[1]->dtype, op->types1))
                return unsupported_type(ctx, 1, in[1]->dtype);
        } else if (in[j]->dtype != dt) {
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "input %zu has type %s, input 0 has %s", j,
                            onnxq_dtype_name(in[j]->dtype), onnxq_dtype_name(dt));
        }
    }
    int rank = 0;
    int64_t dims[OQ_MAX_RANK];
    onnxq_status st = broadcast_all(ctx, in, n, &rank, dims);
    if (st != ONNXQ_OK)
        return st;
    oq_tensor *out = oq_output(ctx, 0, op->out_bool ? DT_BOOL : dt, rank, dims);
    if (!out)
        return oq_failed(ctx);
    int dom = op->compute == DOM_INPUT ? dom_of(dt) : op->compute;
    if (!op->row[dom] || (post && !post->row[dom]))
        return oq_kfail(ctx, ONNXQ_ERR_INTERNAL, "no row for type %s",
                        onnxq_dtype_name(dt));
    if (oq_numel(out) == 0)
        return ONNXQ_OK;

    ew_walk w;
    walk_init(&w, rank, dims, in, n);
    size_t per_row = (w.len + EW_CHUNK - 1) / EW_CHUNK;
    size_t pieces = w.rows * per_row;
#pragma omp parallel for num_threads(threads_for(ctx, oq_numel(out))) schedule(static)
    for (size_t piece = 0; piece < pieces; piece++) {
        size_t row = piece / per_row, k0 = piece % per_row * EW_CHUNK;
        size_t m = w.len - k0 < EW_CHUNK ? w.len - k0 : EW_CHUNK;
        ew_num va[EW_CHUNK], vb[EW_CHUNK], vr[EW_CHUNK];
        load_chunk(&w, in[0], row, k0, m, dom, va);
        if (op->arity == 1) {
            op->row[dom](p, m, vr, va, NULL);
        } else if (n == 1) { /* Sum, Max... of one input */
            memcpy(vr, va, m * sizeof *vr);
        } else {
            for (size_t j = 1; j < n; j++) {
                load_chunk(&w, in[j], row, k0, m, dom, vb);
                op->row[dom](p, m, vr, j == 1 ? va : vr, vb);
            }
        }
        if (post)
            post->row[dom](p, m, vr, vr, NULL);
        convert(vr, m, op->out_bool ? DOM_I64 : dom, out->dtype);
        store(out, row * w.len + k0, m, vr);
    }
    return ONNXQ_OK;
}

static const ew_param no_param;

static onnxq_status ew_unary(oq_kctx *ctx, const ew_op *op, const ew_param *p)
{
    const oq_tensor *x = oq_in(ctx, 0);
    return ew_apply(ctx, op, NULL, p, &x, 1);
}

static onnxq_status ew_binary(oq_kctx *ctx, const ew_op *op, const ew_param *p)
{
    const oq_tensor *in[2] = {oq_in(ctx, 0), oq_in(ctx, 1)};
    return ew_apply(ctx, op, NULL, p, in, 2);
}

/* Before opset 7, binary ops broadcast only with broadcast=1, B onto A, B's
 * dims lining up with A's from `axis` on (default: A's trailing dims, as in
 * numpy); with broadcast=0 the shapes must be equal.  *view is B reshaped so
 * that numpy broadcasting does the same (it shares B's data). */
static onnxq_status legacy_broadcast(oq_kctx *ctx, const oq_tensor *a,
                                     const oq_tensor *b, oq_tensor *view)
{
    char sa[128], sb[128];
    *view = *b;
    if (!oq_attr_int(ctx, "broadcast", 0)) {
        if (a->rank != b->rank ||
            memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "shapes %s and %s differ, and broadcast=0 (opset %lld)",
                            shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb),
                            (long long)ctx->opset);
        return ONNXQ_OK;
    }
    if (!oq_attr(ctx, "axis"))
        return ONNXQ_OK;
    int64_t axis = oq_attr_int(ctx, "axis", 0);
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "B %s does not fit in A %s at axis %lld",
                        shape_str(b, sb, sizeof sb), shape_str(a, sa, sizeof sa),
                        (long long)oq_attr_int(ctx, "axis", 0));
    /* B's dims, then 1s up to A's last dim */
    view->rank = a->rank - (int)axis;
    for (int d = b->rank; d < view->rank; d++)
        view->dims[d] = 1;
    return ONNXQ_OK;
}

/* A binary op that had the legacy broadcast attributes before opset 7. */
static onnxq_status ew_binary_legacy(oq_kctx *ctx, const ew_op *op,
                                     const ew_param *p)
{
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    if (ctx->opset >= 7 || !a || !b)
        return ew_binary(ctx, op, p);
    oq_tensor view;
    onnxq_status st = legacy_broadcast(ctx, a, b, &view);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *in[2] = {a, &view};
    return ew_apply(ctx, op, NULL, p, in, 2);
}

static onnxq_status ew_variadic(oq_kctx *ctx, const ew_op *op,
                                const ew_op *post, const ew_param *p)
{
    if (ctx->n_in == 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "needs at least one input");
    return ew_apply(ctx, op, post, p, ctx->in, ctx->n_in);
}

/* ---- run functions ------------------------------------------------------------ */

/* Ops without attributes. */
#define RUN(name, kind) \
    static onnxq_status run_##name(oq_kctx *ctx) { return ew_##kind(ctx, &op_##name, &no_param); }
RUN(add, binary_legacy)
RUN(sub, binary_legacy)
RUN(mul, binary_legacy)
RUN(div, binary_legacy)
RUN(pow, binary_legacy)
RUN(and, binary_legacy)
RUN(or, binary_legacy)
RUN(xor, binary_legacy)
RUN(not, unary)
RUN(equal, binary_legacy)
RUN(less, binary_legacy)
RUN(greater, binary_legacy)
RUN(less_eq, binary)
RUN(greater_eq, binary)
RUN(abs, unary)
RUN(neg, unary)
RUN(sign, unary)
RUN(relu, unary)
RUN(sqrt, unary)
RUN(recip, unary)
RUN(exp, unary)
RUN(log, unary)
RUN(ceil, unary)
RUN(floor, unary)
RUN(round, unary)
RUN(sin, unary)
RUN(cos, unary)
RUN(tan, unary)
RUN(asin, unary)
RUN(acos, unary)
RUN(atan, unary)
RUN(sinh, unary)
RUN(cosh, unary)
RUN(asinh, unary)
RUN(acosh, unary)
RUN(atanh, unary)
RUN(erf, unary)
RUN(isnan, unary)
RUN(sigmoid, unary)
RUN(hard_swish, unary)
RUN(tanh, unary)
RUN(softplus, unary)
RUN(softsign, unary)
RUN(mish, unary)
RUN(bias_gelu, binary)
#undef RUN

/* Ops whose only attribute is alpha (with the given default). */
#define RUN_ALPHA(name, dflt)                                                 \
    static onnxq_status run_##name(oq_kctx *ctx)                              \
    {                                                                          \
        ew_param p = {.alpha = oq_attr_float(ctx, "alpha", dflt)};             \
        return ew_unary(ctx, &op_##name, &p);                                  \
    }
RUN_ALPHA(leaky_relu, 0.01f)
RUN_ALPHA(elu, 1.0f)
RUN_ALPHA(celu, 1.0f)
RUN_ALPHA(thresholded_relu, 1.0f)
RUN_ALPHA(quick_gelu, 1.702f)
#undef RUN_ALPHA

static onnxq_status run_gelu_ms(oq_kctx *ctx)
{
    return ew_unary(ctx, &op_gelu, &no_param);
}

static onnxq_status run_max(oq_kctx *ctx)
{
    return ew_variadic(ctx, &op_max, NULL, &no_param);
}

static onnxq_status run_min(oq_kctx *ctx)
{
    return ew_variadic(ctx, &op_min, NULL, &no_param);
}

static onnxq_status run_sum(oq_kctx *ctx)
{
    return ew_variadic(ctx, &op_sum, NULL, &no_param);
}

static onnxq_status run_mean(oq_kctx *ctx)
{
    ew_param p = {.count = (float)ctx->n_in};
    return ew_variadic(ctx, &op_sum, &op_mean_div, &p);
}

/* PRelu: before opset 7 a 1-D slope of X's channel count applies along
 * axis 1 (as in Caffe2 and PyTorch); from 7 on, numpy broadcasting. */
static onnxq_status run_prelu(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0), *slope = oq_in(ctx, 1);
    if (ctx->opset >= 7 || !x || !slope || slope->rank != 1 || x->rank < 2 ||
        slope->dims[0] == 1 || slope->dims[0] != x->dims[1])
        return ew_binary(ctx, &op_prelu, &no_param);
    oq_tensor view = *slope;
    view.rank = x->rank - 1; /* [C, 1, ..., 1], aligned with X's dims 1.. */
    for (int d = 1; d < view.rank; d++)
        view.dims[d] = 1;
    const oq_tensor *in[2] = {x, &view};
    return ew_apply(ctx, &op_prelu, NULL, &no_param, in, 2);
}

static onnxq_status run_mod(oq_kctx *ctx)
{
    int64_t fmod_attr = oq_attr_int(ctx, "fmod", 0);
    const oq_tensor *a = oq_in(ctx, 0);
    if (!fmod_attr && a && type_in(a->dtype, T_FLOAT))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "fmod=0 is not allowed "
                        "for type %s (the spec requires fmod=1 for floats)",
                        onnxq_dtype_name(a->dtype));
    return ew_binary(ctx, fmod_attr ? &op_fmod : &op_pymod, &no_param);
}

static onnxq_status run_bitshift(oq_kctx *ctx)
{
    char buf[16];
    const char *dir = oq_attr_string(ctx, "direction", "", buf, sizeof buf);
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "direction must be LEFT or RIGHT, not '%s'", dir);
    return ew_binary(ctx, strcmp(dir, "LEFT") == 0 ? &op_shl : &op_shr, &no_param);
}

static onnxq_status run_hard_sigmoid(oq_kctx *ctx)
{
    ew_param p = {.alpha = oq_attr_float(ctx, "alpha", 0.2f),
                  .beta = oq_attr_float(ctx, "beta", 0.5f)};
    return ew_unary(ctx, &op_hard_sigmoid, &p);
}

static onnxq_status run_selu(oq_kctx *ctx)
{
    ew_param p = {.alpha = oq_attr_float(ctx, "alpha", 1.67326319217681884765625f),
                  .gamma = oq_attr_float(ctx, "gamma", 1.05070102214813232421875f)};
    return ew_unary(ctx, &op_selu, &p);
}

static onnxq_status run_shrink(oq_kctx *ctx)
{
    ew_param p = {.alpha = oq_attr_float(ctx, "lambd", 0.5f),
                  .beta = oq_attr_float(ctx, "bias", 0.0f)};
    return ew_unary(ctx, &op_shrink, &p);
}

static onnxq_status run_isinf(oq_kctx *ctx)
{
    ew_param p = {.pos = oq_attr_int(ctx, "detect_positive", 1) != 0,
                  .neg = oq_attr_int(ctx, "detect_negative", 1) != 0};
    return ew_unary(ctx, &op_isinf, &p);
}

/* Gelu (ai.onnx, opset 20): approximate = "none" (erf) or "tanh". */
static onnxq_status run_gelu(oq_kctx *ctx)
{
    char buf[16];
    const char *approx = oq_attr_string(ctx, "approximate", "none", buf, sizeof buf);
    if (strcmp(approx, "none") && strcmp(approx, "tanh"))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "approximate must be 'none' or 'tanh', not '%s'", approx);
    return ew_unary(ctx, strcmp(approx, "tanh") == 0 ? &op_gelu_tanh : &op_gelu,
                    &no_param);
}

/* FastGelu (com.microsoft): the tanh approximation of Gelu(x + bias), the
 * optional bias being broadcast (a vector along the last axis). */
static onnxq_status run_fast_gelu(oq_kctx *ctx)
{
    if (oq_in(ctx, 1))
        return ew_binary(ctx, &op_bias_gelu_tanh, &no_param);
    return ew_unary(ctx, &op_gelu_tanh, &no_param);
}

/* Clip: bounds are attributes min/max up to opset 10, optional scalar
 * inputs 1 and 2 from opset 11.  An absent bound is the type's lowest or
 * highest finite value, as in ONNX Runtime (so +inf clips to FLT_MAX). */
static onnxq_status run_clip(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return need_inputs(ctx, 1);
    if (!type_in(x->dtype, op_clip.types))
        return unsupported_type(ctx, 0, x->dtype);
    int dom = dom_of(x->dtype);
    ew_param p = {0};
    if (ctx->opset < 11) {
        p.lo.d = oq_attr_float(ctx, "min", -FLT_MAX);
        p.hi.d = oq_attr_float(ctx, "max", FLT_MAX);
        convert(&p.lo, 1, DOM_F64, dom_type[dom]);
        convert(&p.hi, 1, DOM_F64, dom_type[dom]);
    } else {
        static const ew_num lowest[N_DOM] = {{.f = -FLT_MAX}, {.d = -DBL_MAX},
                                             {.i = INT64_MIN}, {.u = 0}};
        static const ew_num highest[N_DOM] = {{.f = FLT_MAX}, {.d = DBL_MAX},
                                              {.i = INT64_MAX}, {.u = UINT64_MAX}};
        p.lo = lowest[dom];
        p.hi = highest[dom];
        for (size_t j = 1; j <= 2; j++) {
            const oq_tensor *b = oq_in(ctx, j);
            if (!b)
                continue;
            char sh[128];
            if (b->dtype != x->dtype)
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "%s has type %s, input has %s", j == 1 ? "min" : "max",
                                onnxq_dtype_name(b->dtype), onnxq_dtype_name(x->dtype));
            if (oq_numel(b) != 1)
                return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                                "%s must be a scalar, has shape %s",
                                j == 1 ? "min" : "max", shape_str(b, sh, sizeof sh));
            load(b, 0, 0, 1, j == 1 ? &p.lo : &p.hi);
        }
    }
    return ew_apply(ctx, &op_clip, NULL, &p, &x, 1);
}

/* ---- ops that move elements rather than compute -------------------------------- */

static onnxq_status run_identity(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return need_inputs(ctx, 1);
    size_t es = onnxq_dtype_size(x->dtype);
    if (!es || x->dtype == DT_STRING)
        return unsupported_type(ctx, 0, x->dtype);
    oq_tensor *out = oq_output(ctx, 0, x->dtype, x->rank, x->dims);
    if (!out)
        return oq_failed(ctx);
    if (oq_numel(x))
        memcpy(out->data, x->data, oq_numel(x) * es);
    return ONNXQ_OK;
}

/* Cast x to type `to`: see convert() for the rules. */
static onnxq_status cast_to(oq_kctx *ctx, const oq_tensor *x, int32_t to)
{
    if (dom_of(x->dtype) < 0)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "casting from type %s",
                        onnxq_dtype_name(x->dtype));
    if (dom_of(to) < 0)
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED, "casting to type %s",
                        onnxq_dtype_name(to));
    oq_tensor *out = oq_output(ctx, 0, to, x->rank, x->dims);
    if (!out)
        return oq_failed(ctx);
    size_t total = oq_numel(x);
    if (x->dtype == to) {
        if (total)
            memcpy(out->data, x->data, total * onnxq_dtype_size(to));
        return ONNXQ_OK;
    }
    size_t pieces = (total + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for num_threads(threads_for(ctx, total)) schedule(static)
    for (size_t piece = 0; piece < pieces; piece++) {
        size_t k0 = piece * EW_CHUNK;
        size_t n = total - k0 < EW_CHUNK ? total - k0 : EW_CHUNK;
        ew_num v[EW_CHUNK];
        load(x, k0, 1, n, v);
        convert(v, n, dom_of(x->dtype), to);
        store(out, k0, n, v);
    }
    return ONNXQ_OK;
}

static onnxq_status run_cast(oq_kctx *ctx)
{
    const oq_tensor *x = oq_in(ctx, 0);
    if (!x)
        return need_inputs(ctx, 1);
    int64_t to = oq_attr_int(ctx, "to", -1);
    if (to < 0 || to > INT32_MAX)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "attribute 'to' is %s",
                        to < 0 ? "missing" : "out of range");
    return cast_to(ctx, x, (int32_t)to);
}

static onnxq_status run_cast_like(oq_kctx *ctx)
{
    onnxq_status st = need_inputs(ctx, 2);
    if (st != ONNXQ_OK)
        return st;
    return cast_to(ctx, oq_in(ctx, 0), oq_in(ctx, 1)->dtype);
}

/* Where(cond, x, y): x where cond else y, all three broadcast.  Elements are
 * copied as bytes, so every fixed-size type works. */
static onnxq_status run_where(oq_kctx *ctx)
{
    onnxq_status st = need_inputs(ctx, 3);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *in[3] = {oq_in(ctx, 0), oq_in(ctx, 1), oq_in(ctx, 2)};
    if (in[0]->dtype != DT_BOOL)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "condition has type %s, not bool",
                        onnxq_dtype_name(in[0]->dtype));
    int32_t dt = in[1]->dtype;
    if (in[2]->dtype != dt)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH, "X has type %s, Y has %s",
                        onnxq_dtype_name(dt), onnxq_dtype_name(in[2]->dtype));
    size_t es = onnxq_dtype_size(dt);
    if (!es || dt == DT_STRING)
        return unsupported_type(ctx, 1, dt);
    int rank = 0;
    int64_t dims[OQ_MAX_RANK];
    if ((st = broadcast_all(ctx, in, 3, &rank, dims)) != ONNXQ_OK)
        return st;
    oq_tensor *out = oq_output(ctx, 0, dt, rank, dims);
    if (!out)
        return oq_failed(ctx);
    if (oq_numel(out) == 0)
        return ONNXQ_OK;
    ew_walk w;
    walk_init(&w, rank, dims, in, 3);
    const uint8_t *cond = in[0]->data;
    const char *xs = in[1]->data, *ys = in[2]->data;
    char *o = out->data;
    size_t per_row = (w.len + EW_CHUNK - 1) / EW_CHUNK;
    size_t pieces = w.rows * per_row;
#pragma omp parallel for num_threads(threads_for(ctx, oq_numel(out))) schedule(static)
    for (size_t piece = 0; piece < pieces; piece++) {
        size_t row = piece / per_row, k0 = piece % per_row * EW_CHUNK;
        size_t m = w.len - k0 < EW_CHUNK ? w.len - k0 : EW_CHUNK;
        size_t off[3], step[3];
        for (int j = 0; j < 3; j++)
            walk_operand(&w, in[j], row, &off[j], &step[j]);
        for (size_t k = k0; k < k0 + m; k++) {
            const char *src = cond[off[0] + k * step[0]]
                                  ? xs + (off[1] + k * step[1]) * es
                                  : ys + (off[2] + k * step[2]) * es;
            memcpy(o + (row * w.len + k) * es, src, es);
        }
    }
    return ONNXQ_OK;
}

/* ---- the table ------------------------------------------------------------------ */

/* First opsets: an op's first version.  Versions before 6 differ only by
 * the legacy consumed_inputs attribute, which is ignored; the binary ops'
 * legacy broadcast/axis attributes (before 7) are honoured; Cast starts at
 * 6, where `to` became an integer. */
OQ_KERNEL_TABLE(oq_ref_elementwise_kernels) = {
    {"", "Add", 1, 21, run_add},
    {"", "Sub", 1, 21, run_sub},
    {"", "Mul", 1, 21, run_mul},
    {"", "Div", 1, 21, run_div},
    {"", "Pow", 1, 21, run_pow},
    {"", "Mod", 10, 21, run_mod},
    {"", "Max", 1, 21, run_max},
    {"", "Min", 1, 21, run_min},
    {"", "Sum", 1, 21, run_sum},
    {"", "Mean", 1, 21, run_mean},
    {"", "PRelu", 1, 21, run_prelu},
    {"", "BitShift", 11, 21, run_bitshift},
    {"", "And", 1, 21, run_and},
    {"", "Or", 1, 21, run_or},
    {"", "Xor", 1, 21, run_xor},
    {"", "Not", 1, 21, run_not},
    {"", "Equal", 1, 21, run_equal},
    {"", "Less", 1, 21, run_less},
    {"", "Greater", 1, 21, run_greater},
    {"", "LessOrEqual", 12, 21, run_less_eq},
    {"", "GreaterOrEqual", 12, 21, run_greater_eq},
    {"", "Where", 9, 21, run_where},
    {"", "Abs", 1, 21, run_abs},
    {"", "Neg", 1, 21, run_neg},
    {"", "Sqrt", 1, 21, run_sqrt},
    {"", "Reciprocal", 1, 21, run_recip},
    {"", "Exp", 1, 21, run_exp},
    {"", "Log", 1, 21, run_log},
    {"", "Ceil", 1, 21, run_ceil},
    {"", "Floor", 1, 21, run_floor},
    {"", "Round", 11, 21, run_round},
    {"", "Sign", 9, 21, run_sign},
    {"", "Sigmoid", 1, 21, run_sigmoid},
    {"", "HardSigmoid", 1, 21, run_hard_sigmoid},
    {"", "HardSwish", 14, 21, run_hard_swish},
    {"", "Tanh", 1, 21, run_tanh},
    {"", "Relu", 1, 21, run_relu},
    {"", "LeakyRelu", 1, 21, run_leaky_relu},
    {"", "Elu", 1, 21, run_elu},
    {"", "Selu", 1, 21, run_selu},
    {"", "Celu", 12, 21, run_celu},
    {"", "ThresholdedRelu", 10, 21, run_thresholded_relu},
    {"", "Softplus", 1, 21, run_softplus},
    {"", "Softsign", 1, 21, run_softsign},
    {"", "Erf", 9, 21, run_erf},
    {"", "Sin", 7, 21, run_sin},
    {"", "Cos", 7, 21, run_cos},
    {"", "Tan", 7, 21, run_tan},
    {"", "Asin", 7, 21, run_asin},
    {"", "Acos", 7, 21, run_acos},
    {"", "Atan", 7, 21, run_atan},
    {"", "Sinh", 9, 21, run_sinh},
    {"", "Cosh", 9, 21, run_cosh},
    {"", "Asinh", 9, 21, run_asinh},
    {"", "Acosh", 9, 21, run_acosh},
    {"", "Atanh", 9, 21, run_atanh},
    {"", "IsNaN", 9, 21, run_isnan},
    {"", "IsInf", 10, 21, run_isinf},
    {"", "Clip", 1, 21, run_clip},
    {"", "Identity", 1, 21, run_identity},
    {"", "Cast", 6, 21, run_cast},
    {"", "CastLike", 15, 21, run_cast_like},
    {"", "Gelu", 20, 21, run_gelu},
    {"", "Mish", 18, 21, run_mish},
    {"", "Shrink", 9, 21, run_shrink},
    {"com.microsoft", "Gelu", 1, 1, run_gelu_ms},
    {"com.microsoft", "FastGelu", 1, 1, run_fast_gelu},
    {"com.microsoft", "BiasGelu", 1, 1, run_bias_gelu},
    {"com.microsoft", "QuickGelu", 1, 1, run_quick_gelu},
    {0},
};
