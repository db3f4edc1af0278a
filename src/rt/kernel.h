/*
 * kernel.h — the contract between onnxq's executor and its kernels.
 *
 * A kernel implements one ONNX op (for a range of opset versions).  The
 * executor calls kernel->run once per node execution with an oq_kctx that
 * gives the node (attributes, opset), its input tensors, and a way to
 * allocate each output once its shape is known.  Shapes are computed inside
 * run from the actual inputs — including their values, which shape ops such
 * as Reshape, Expand, Slice or NonZero need — so a kernel is one function.
 *
 * Rules for kernels:
 *   - check what the spec requires of inputs and attributes, and fail with
 *     oq_kfail(ctx, status, fmt, ...) — the message gets the node's name and
 *     op in front — never assert on data;
 *   - an omitted optional input is NULL in ctx->in;  every output the node
 *     declares must be allocated with oq_output (omitted optional outputs
 *     too: the executor discards them);
 *   - inputs are read-only; outputs may not alias inputs;
 *   - integer results must match ONNX Runtime bit for bit: round half to
 *     even (nearbyint under the default rounding mode), saturate to the
 *     type's range;
 *   - no global state; `#pragma omp parallel for` over independent outer
 *     loops is welcome where it is free (num_threads(oq_threads(ctx)), or
 *     OQ_PAR_FOR where small loops should stay serial).
 *
 * A fast kernel (kernels/dnnl, issue 4) is an oq_fast_kernel: besides run it
 * has prepare, called once when the session is prepared with the node and
 * its constant inputs (weights, to pack once); prepare may decline a node it
 * does not handle with ONNXQ_ERR_UNSUPPORTED, and the next candidate is
 * tried.  Fast tables are searched before the reference tables, so the
 * reference kernel is always last.
 */
#ifndef OQ_KERNEL_H
#define OQ_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx-ml.pb-c.h"
#include "onnxq/runtime.h"
#include "onnxq/status.h"

enum { OQ_MAX_RANK = ONNXQ_MAX_RANK };

/* A dense row-major tensor (the public onnxq_tensor: dtype, rank, dims[8],
 * data).  data holds numel * onnxq_dtype_size(dtype) bytes.  STRING tensors
 * are not supported by the runtime.  A scalar has rank 0 and one element. */
typedef onnxq_tensor oq_tensor;

/* Elements of t (1 for a scalar). */
size_t oq_numel(const oq_tensor *t);
size_t oq_numel_dims(const int64_t *dims, int rank);

typedef struct oq_kctx oq_kctx;

typedef struct oq_kernel {
    const char *domain;   /* "" for ai.onnx, "com.microsoft", ... */
    const char *op_type;
    int first_opset, last_opset;
    onnxq_status (*run)(oq_kctx *ctx);
} oq_kernel;

struct oq_kctx {
    const Onnx__NodeProto *node;
    int64_t opset;               /* opset version of the node's domain */
    const oq_tensor *const *in;  /* [n_in]; NULL for an omitted input */
    size_t n_in;
    size_t n_out;                /* outputs the node declares */
    int n_threads;
    void *state;                 /* a fast kernel's prepared state */
    /* executor-private */
    void *exec;
    oq_tensor *out;              /* [n_out], filled by oq_output */
    onnxq_error *err;
};

/* Allocates output i with the given type and shape and returns it (data
 * zero-filled).  NULL on out of memory, with ctx->err set. */
oq_tensor *oq_output(oq_kctx *ctx, size_t i, int32_t dtype, int rank,
                     const int64_t *dims);

/* Like oq_output, but the data is left as it is (not zero-filled): for
 * kernels that write every element of the output.  In a planned session it
 * comes from the session's arena (see exec.c). */
oq_tensor *oq_output_raw(oq_kctx *ctx, size_t i, int32_t dtype, int rank,
                         const int64_t *dims);

/* Scratch memory for the running kernel: bytes (64-byte aligned, contents
 * unspecified), valid until its run returns, then reclaimed by the
 * executor (never free it).  Planned with the session's tensors, so a
 * repeated run allocates nothing.  NULL on out of memory, with ctx->err
 * set. */
void *oq_scratch(oq_kctx *ctx, size_t bytes);

/* Fails the node: sets ctx->err to "node NAME (OP): message" and returns
 * status. */
onnxq_status oq_kfail(oq_kctx *ctx, onnxq_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What a fast kernel's prepare sees: the node and the inputs that are
 * constant (initializers, and Constant nodes' values, which the executor
 * computes once at preparation), NULL for the others. */
typedef struct oq_prepare_ctx {
    const Onnx__NodeProto *node;
    int64_t opset;
    const oq_tensor *const *consts; /* [n_in] */
    size_t n_in;
    onnxq_error *err;
} oq_prepare_ctx;

typedef struct oq_fast_kernel {
    const char *domain;
    const char *op_type;
    int first_opset, last_opset;
    /* ONNXQ_OK and *state set: this kernel runs the node; UNSUPPORTED: try
     * the next one; anything else fails the session. */
    onnxq_status (*prepare)(const oq_prepare_ctx *p, void **state);
    onnxq_status (*run)(oq_kctx *ctx);   /* ctx->state is *state */
    void (*release)(void *state);
} oq_fast_kernel;

/* Input i, or NULL if omitted or out of range. */
static inline const oq_tensor *oq_in(const oq_kctx *ctx, size_t i)
{
    return i < ctx->n_in ? ctx->in[i] : NULL;
}

/* ---- attributes (absent -> the default) ---------------------------------- */
int64_t oq_attr_int(const oq_kctx *ctx, const char *name, int64_t dflt);
float oq_attr_float(const oq_kctx *ctx, const char *name, float dflt);
/* Copies a STRING attribute into buf (NUL-terminated, cut to size); returns
 * buf, or dflt if absent (buf then holds a copy of dflt). */
const char *oq_attr_string(const oq_kctx *ctx, const char *name,
                           const char *dflt, char *buf, size_t size);
/* INTS / FLOATS: returns the count and sets *v, or -1 if absent. */
long oq_attr_ints(const oq_kctx *ctx, const char *name, const int64_t **v);
long oq_attr_floats(const oq_kctx *ctx, const char *name, const float **v);
/* An INTS attribute of exactly want values, each >= min, into dst: 0 when
 * copied or when absent or empty (dst left alone, as the reference kernels
 * read it), -1 when the count or a value is wrong. */
int oq_attr_ints_into(const oq_kctx *ctx, const char *name, int want,
                      int64_t min, int64_t *dst);
const Onnx__AttributeProto *oq_attr(const oq_kctx *ctx, const char *name);

/* ---- element conversion helpers shared by kernels ------------------------ */
float oq_half_to_float(uint16_t h);
uint16_t oq_float_to_half(float f);         /* round to nearest even */
float oq_bfloat16_to_float(uint16_t b);
uint16_t oq_float_to_bfloat16(float f);     /* round to nearest even */
/* Reads element i of t as double (any numeric dtype, bool, fp16/bf16). */
double oq_get_f64(const oq_tensor *t, size_t i);
/* Reads element i of an integer (or bool) tensor as int64. */
int64_t oq_get_i64(const oq_tensor *t, size_t i);
/* Writes v to element i of t, converting like Cast (saturating nothing:
 * C conversion rules for ints; fp16/bf16 rounding to nearest even). */
void oq_set_f64(oq_tensor *t, size_t i, double v);

/* Numpy-style broadcasting of a and b into out_dims (rank = max).  Returns 0,
 * or -1 if the shapes do not broadcast. */
int oq_broadcast_shape(const oq_tensor *a, const oq_tensor *b, int *rank,
                       int64_t *out_dims);
/* For an output of rank/out_dims, the flat index into t (broadcast, t's rank
 * <= rank) of the output element with flat index i.  Slow but exact; kernels
 * with hot loops use oq_broadcast_strides. */
size_t oq_broadcast_index(const oq_tensor *t, int rank, const int64_t *out_dims,
                          size_t i);
/* Strides (in elements) of t seen as rank-dim tensor broadcast to out_dims:
 * 0 along broadcast dims. */
void oq_broadcast_strides(const oq_tensor *t, int rank, const int64_t *out_dims,
                          int64_t *strides);

/* ---- helpers the reference kernels share ----------------------------------
 * Small pieces every family file in kernels/ref needs.  Look here before
 * writing a file-local one (house rule 7). */

/* Threads for a parallel loop: the session's setting (ctx->n_threads > 0),
 * else OpenMP's default team size; 1 in a build without OpenMP. */
int oq_threads(const oq_kctx *ctx);
/* The calling thread's number in its OpenMP team: 0..team size - 1, and 0
 * outside a parallel region or without OpenMP.  Indexes per-thread scratch. */
int oq_thread_id(void);

/* OQ_PAR_FOR(nt, work), on the line before a `for` loop of independent
 * iterations, runs the loop on nt threads (static schedule) when OpenMP is
 * on and work — any measure of the loop's total cost, e.g. the elements it
 * touches — is at least OQ_PAR_MIN_WORK, below which waking the team costs
 * more than it saves; otherwise the loop runs serially.  Without OpenMP it
 * only evaluates nt and work, so they count as used. */
enum { OQ_PAR_MIN_WORK = 1 << 15 };
#ifdef _OPENMP
#define OQ_PRAGMA(x) _Pragma(#x)
#define OQ_PAR_FOR(nt, work)                                                  \
    OQ_PRAGMA(omp parallel for schedule(static) num_threads(nt)               \
              if ((work) >= OQ_PAR_MIN_WORK))
#else
#define OQ_PAR_FOR(nt, work) (void)(nt), (void)(work);
#endif

/* What a kernel returns once a helper that fails the node (oq_output,
 * oq_load_f64, anything that called oq_kfail) has reported failure: the
 * status that helper left in ctx->err — or OUT_OF_MEMORY when the run has no
 * error record (ctx->err NULL) or it still reads ONNXQ_OK, so a failure is
 * never returned as success. */
onnxq_status oq_failed(const oq_kctx *ctx);

/* Type predicates on ONNX DataType numbers. */
int oq_is_float(int32_t dtype);  /* float32, float64, float16, bfloat16 */
int oq_is_index(int32_t dtype);  /* int32 or int64, the index types */

/* The elements of t widened to a malloc'd array of double (the caller frees
 * it); an empty t still gets a one-element array, so NULL always means out
 * of memory.  On out of memory a non-NULL ctx has the node failed ("out of
 * memory (N elements)"); with ctx NULL the caller reports it. */
double *oq_load_f64(oq_kctx *ctx, const oq_tensor *t);
/* Rounds v[0..oq_numel(t)) into t's type, converting like oq_set_f64. */
void oq_store_f64(oq_tensor *t, const double *v);

/* dims as "[a, b, c]" ("[]" for rank 0) in buf, cut to size, for error
 * messages; returns buf, so several fit in one oq_kfail call. */
const char *oq_dims_str(const int64_t *dims, int rank, char *buf, size_t size);
/* The shape of t, as oq_dims_str writes it. */
const char *oq_shape_str(const oq_tensor *t, char *buf, size_t size);

/* Steps the row-major multi-index idx[0..rank) over dims; returns 0 once it
 * wraps past the last position (idx is then all zeros), 1 otherwise.  Inline:
 * it runs once per element in hot loops. */
static inline int oq_next_index(int64_t *idx, const int64_t *dims, int rank)
{
    for (int d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

/* A kernel table, one per family file (kernels/ref/<family>.c), ended by a
 * {0} entry.  kernels/ref/registry.c lists the tables. */
#define OQ_KERNEL_TABLE(name) const oq_kernel name[]

#endif
