/*
 * infer_internal.h — what the inference driver (infer.c) and the op family
 * files (infer_<family>.c) share.
 *
 * A value's inferred type is an oq_ty: element type, rank and dims (each an
 * oq_dim: unknown, a known integer, or a symbolic expression over one
 * interned name), plus, for small tensors, their contents — integers as
 * oq_dims (so Shape -> Gather -> Concat -> Reshape carries symbolic dims
 * through the arithmetic), floating-point numbers as doubles.
 *
 * Symbolic dims have one form: q * floor((m * atom + c) / d) + e with
 * d >= 1, kept canonical (gcd reduced, 0 <= c < d, and q = 1, e = 0 when
 * d = 1), so two dims with the same form are equal and the printed string
 * is a function of the form.  The form is closed under the arithmetic
 * conv/pool/upsample sizes need: adding a constant, multiplying by one, and
 * floor division by a positive integer when q = 1, since
 * floor((floor(x / d) + k) / s) = floor((x + k d) / (d s)), or when s
 * divides q.
 *
 * An op's rule is an oq_infer_fn in its family's table (oq_infer_rule).  It
 * reads its inputs' types from ctx->in (NULL for an omitted input; an input
 * inference knows nothing about is an all-unknown type, never NULL) and
 * fills ctx->out, which starts all unknown.  It leaves unknown what it
 * cannot know exactly, records contradictions with oq_conflict, and
 * returns ONNXQ_OK, or ONNXQ_ERR_OUT_OF_MEMORY (which stops inference).
 */
#ifndef OQ_INFER_INTERNAL_H
#define OQ_INFER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnxq/graph.h"
#include "onnxq/infer.h"
#include "strmap.h"

enum {
    OQ_INF_MAX_RANK = 16, /* beyond it a shape is left unknown */
    OQ_INF_MAX_VAL = 64   /* contents are followed up to this many elements */
};

/* ONNX element types by name (TensorProto.DataType). */
enum {
    OQ_T_UNDEF = 0,
    OQ_T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    OQ_T_UINT8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    OQ_T_INT8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    OQ_T_UINT16 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT16,
    OQ_T_INT16 = ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    OQ_T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    OQ_T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    OQ_T_STRING = ONNX__TENSOR_PROTO__DATA_TYPE__STRING,
    OQ_T_BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
    OQ_T_FLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16,
    OQ_T_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    OQ_T_UINT32 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT32,
    OQ_T_UINT64 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
    OQ_T_BFLOAT16 = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16
};

/* ---- dims ---------------------------------------------------------------- */

typedef enum { OQ_DIM_UNKNOWN = 0, OQ_DIM_VALUE, OQ_DIM_SYM } oq_dim_kind;

typedef struct oq_dim {
    int kind;         /* oq_dim_kind */
    int32_t atom;     /* SYM: index into the context's atom table */
    int64_t v;        /* VALUE */
    int64_t m, c, d;  /* SYM: q * floor((m * atom + c) / d) + e, d >= 1 */
    int64_t q, e;
} oq_dim;

typedef struct oq_inf oq_inf;

oq_dim oq_dval(int64_t v);
oq_dim oq_dunk(void);
oq_dim oq_dsym(int32_t atom);
static inline int oq_dim_known(const oq_dim *d) { return d->kind == OQ_DIM_VALUE; }
/* 1 if d is the known integer v. */
static inline int oq_dim_is(const oq_dim *d, int64_t v)
{
    return d->kind == OQ_DIM_VALUE && d->v == v;
}
/* 1 if a and b are certainly equal (same integer, or same symbolic form). */
int oq_dim_same(const oq_dim *a, const oq_dim *b);
/* 1 if a and b are certainly different (two different integers). */
int oq_dim_differ(const oq_dim *a, const oq_dim *b);
/* 1 if the value of d is certainly >= 0 (known >= 0, or a form that cannot
 * go negative since atoms are sizes). */
int oq_dim_nonneg(const oq_dim *d);
/* 1 if d can never be 1 (so it cannot be the broadcast side of a dim). */
int oq_dim_never_one(const oq_dim *d);

oq_dim oq_dim_addk(oq_dim a, int64_t k);
oq_dim oq_dim_mulk(oq_dim a, int64_t k);
/* floor(a / k), k > 0 (floor semantics: the caller knows a's sign or the
 * op's spec says floor). */
oq_dim oq_dim_floordiv(oq_dim a, int64_t k);
oq_dim oq_dim_ceildiv(oq_dim a, int64_t k);
/* a + b, a - b, a * b: exact results only (else unknown).  Sums of two
 * plain names, and products of two, become a new composite name. */
oq_dim oq_dim_add(oq_inf *inf, oq_dim a, oq_dim b);
oq_dim oq_dim_sub(oq_inf *inf, oq_dim a, oq_dim b);
oq_dim oq_dim_mul(oq_inf *inf, oq_dim a, oq_dim b);

/* Interns a name; -1 on out of memory (inf's status is set). */
int32_t oq_inf_atom(oq_inf *inf, const char *name);
/* The dim_param string of a symbolic dim (buf of size bytes). */
const char *oq_dim_format(const oq_inf *inf, const oq_dim *d, char *buf,
                          size_t size);

/* ---- types --------------------------------------------------------------- */

typedef struct oq_ty {
    int32_t elem;                 /* ONNX element type, 0 unknown */
    int rank;                     /* -1 unknown */
    oq_dim dims[OQ_INF_MAX_RANK];
    int n_val;                    /* contents: numel, or -1 when unknown */
    oq_dim *ival;                 /* [n_val] for integer and bool types */
    double *fval;                 /* [n_val] for floating-point types */
} oq_ty;

void oq_ty_init(oq_ty *t);
void oq_ty_clear(oq_ty *t); /* frees contents, back to unknown */
void oq_ty_drop_vals(oq_ty *t);
/* Deep copy (dst is cleared first).  -1 on out of memory. */
int oq_ty_copy(oq_ty *dst, const oq_ty *src);
/* Copies rank and dims only. */
void oq_ty_copy_shape(oq_ty *dst, const oq_ty *src);
void oq_ty_set_shape(oq_ty *t, int rank, const oq_dim *dims);
void oq_ty_set_known_shape(oq_ty *t, int rank, const int64_t *dims);
/* Sets integer contents (t's shape must hold n elements).  -1 on OOM. */
int oq_ty_set_ivals(oq_ty *t, const oq_dim *v, int n);
int oq_ty_set_fvals(oq_ty *t, const double *v, int n);
/* numel if every dim is known, else -1. */
int64_t oq_ty_numel(const oq_ty *t);
/* numel as a dim (known, symbolic or unknown). */
oq_dim oq_ty_numel_dim(oq_inf *inf, const oq_ty *t);
/* Merges what two possible types of one value have in common (If branches,
 * loop-carried values): same element type, rank and same dims stay, the
 * rest becomes unknown.  Contents are dropped unless identical. */
int oq_ty_merge(oq_ty *dst, const oq_ty *a, const oq_ty *b);
/* 1 if a and b say exactly the same (type, rank, dims; contents ignored). */
int oq_ty_same(const oq_ty *a, const oq_ty *b);

int oq_elem_is_float(int32_t e);
int oq_elem_is_int(int32_t e); /* integer types and bool */

/* Type of a TensorProto (dims, type and, when small, contents). */
onnxq_status oq_ty_from_tensor(oq_inf *inf, const Onnx__TensorProto *t,
                               int with_vals, oq_ty *out);
/* Type declared by a ValueInfoProto (tensor types only, else unknown). */
onnxq_status oq_ty_from_value_info(oq_inf *inf, const Onnx__ValueInfoProto *vi,
                                   oq_ty *out);

/* ---- the node context ---------------------------------------------------- */

typedef struct oq_gstate oq_gstate;

typedef struct oq_ictx {
    oq_inf *inf;
    oq_gstate *gs;
    const Onnx__NodeProto *node;
    size_t node_index;
    int64_t opset;         /* of the node's domain */
    const oq_ty **in;      /* [n_in]; NULL for an omitted input */
    size_t n_in;
    oq_ty *out;            /* [n_out], start unknown */
    size_t n_out;
} oq_ictx;

typedef onnxq_status (*oq_infer_fn)(oq_ictx *c);

typedef struct oq_infer_rule {
    const char *domain;    /* "" for ai.onnx */
    const char *op_type;
    int first_opset, last_opset;
    oq_infer_fn fn;
} oq_infer_rule;

/* Family tables, each ended by a {NULL} entry. */
extern const oq_infer_rule oq_infer_elementwise_rules[];
extern const oq_infer_rule oq_infer_shape_rules[];
extern const oq_infer_rule oq_infer_nn_rules[];
extern const oq_infer_rule oq_infer_norm_rules[];
extern const oq_infer_rule oq_infer_misc_rules[];
extern const oq_infer_rule oq_infer_quant_rules[];
extern const oq_infer_rule oq_infer_control_rules[];

static inline const oq_ty *oq_input(const oq_ictx *c, size_t i)
{
    return i < c->n_in ? c->in[i] : NULL;
}
static inline oq_ty *oq_output(oq_ictx *c, size_t i)
{
    return i < c->n_out ? &c->out[i] : NULL;
}

/* The whole run's context: options, report, the atom table, the final
 * types of every graph inferred, and a sticky out-of-memory status. */
typedef struct oq_final {
    const onnxq_graph *g;
    oq_gstate *gs;
} oq_final;

struct oq_inf {
    onnxq_model *model;
    onnxq_infer_options opts;
    onnxq_infer_report *rep;
    char **atoms;              /* interned names, malloc'd */
    unsigned char *atom_paren; /* 1 if the name needs parentheses inside an
                                  expression (composites, operator chars) */
    size_t n_atoms, cap_atoms;
    oq_strmap atom_index;      /* name -> index in atoms */
    oq_final *finals;          /* one per graph, the last inference of it */
    size_t n_finals, cap_finals;
    const void **unknown_nodes; /* nodes already counted as unknown ops */
    size_t n_unknown_nodes, cap_unknown_nodes;
    int depth;                 /* subgraph nesting */
    onnxq_status st;
};

/* The graph the node belongs to. */
const onnxq_graph *oq_ictx_graph(const oq_ictx *c);

/* Records a contradiction: "graph G: node N (Op): message". */
void oq_conflict(oq_ictx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Sets the sticky out-of-memory status and returns it. */
onnxq_status oq_inf_oom(oq_inf *inf);

/* ---- attributes ---------------------------------------------------------- */
const Onnx__AttributeProto *oq_attr_get(const oq_ictx *c, const char *name);
int64_t oq_attr_i(const oq_ictx *c, const char *name, int64_t dflt);
float oq_attr_f(const oq_ictx *c, const char *name, float dflt);
/* INTS: count and *v, or -1 if absent. */
long oq_attr_is(const oq_ictx *c, const char *name, const int64_t **v);
long oq_attr_fs(const oq_ictx *c, const char *name, const float **v);
/* STRING into buf (NUL-terminated, cut), or dflt if absent. */
const char *oq_attr_s(const oq_ictx *c, const char *name, const char *dflt,
                      char *buf, size_t size);

/* ---- inputs' contents ---------------------------------------------------- */
/* Contents of input i as dims (elements may be symbolic or unknown): the
 * count, or -1 if not followed.  At most max are copied. */
int oq_in_dims(const oq_ictx *c, size_t i, oq_dim *v, int max);
/* Contents of input i if every element is a known integer: count, or -1. */
int oq_in_ints(const oq_ictx *c, size_t i, int64_t *v, int max);
/* Contents as doubles (floats, or known integers): count, or -1. */
int oq_in_floats(const oq_ictx *c, size_t i, double *v, int max);
/* Number of elements of a 1-D (or scalar) input if its length is known
 * (even when the contents are not), else -1. */
int64_t oq_in_len(const oq_ictx *c, size_t i);

/* ---- helpers for rules --------------------------------------------------- */
/* Normalises axis a into [0, rank); -1 if out of range. */
int oq_norm_axis(int64_t a, int rank);
/* out gets the elem type and shape (not contents) of in (NULL in: no-op). */
void oq_same_shape(oq_ty *out, const oq_ty *in);
/* Numpy broadcasting of n types into rank/dims (rank -1 if unknown). */
void oq_broadcast(oq_ictx *c, const oq_ty *const *t, size_t n, int *rank,
                  oq_dim *dims);
/* First known elem type among inputs idx[0..n) (0 if none). */
int32_t oq_first_elem(const oq_ictx *c, const size_t *idx, size_t n);

/* ---- subgraphs (infer.c) ------------------------------------------------- */
/* Infers the subgraph held by attribute attr of the current node, with its
 * inputs typed by in_types[0..n_in) (NULL entries: declared only).  Its
 * outputs' types go to out_types (an array of *n_out oq_ty the caller
 * clears); the graph's proto outputs count is returned in *n_out.  If the
 * node has no such attribute, *n_out is 0 and ONNXQ_OK is returned. */
onnxq_status oq_infer_subgraph(oq_ictx *c, const char *attr,
                               const oq_ty *const *in_types, size_t n_in,
                               oq_ty **out_types, size_t *n_out);

/* Shared by the families: conv/pool output size along one spatial axis.
 * auto_pad: 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID. */
int oq_auto_pad(const oq_ictx *c);
oq_dim oq_window_out(oq_dim in, int64_t k, int64_t stride, int64_t dil,
                     int64_t pad0, int64_t pad1, int auto_pad, int ceil_mode);
/* Conv-like output: x [N, C, D...] (or channels_last [N, D..., C]) with
 * weights w [M, ...k]; spatial from kernel (k known) and attributes. */
void oq_conv_shape(oq_ictx *c, const oq_ty *x, const oq_ty *w, int channels_last,
                   oq_ty *out);
/* MatMul (numpy) shape of a and b into out; trans_a/trans_b swap the last
 * two dims first (FusedMatMul). */
void oq_matmul_shape(oq_ictx *c, const oq_ty *a, const oq_ty *b, int trans_a,
                     int trans_b, oq_ty *out);
/* Pool output shape (kernel_shape attribute) of x into out. */
void oq_pool_shape(oq_ictx *c, const oq_ty *x, int channels_last, int ceil_ok,
                   oq_ty *out);

#endif
