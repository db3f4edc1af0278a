/*
 * rnn.c — reference kernels for the recurrent ops RNN, GRU and LSTM
 * (ai.onnx opsets 7..21: versions 7 and 14, the latter adding layout), and
 * com.microsoft DynamicQuantizeLSTM (its own section at the end: ONNX
 * Runtime's float arithmetic, not the double recurrence below).
 *
 * All three share one driver: read X and the weights as double, then for
 * every (direction, batch row) pair run the recurrence over that row's
 * sequence length, writing Y as it goes.  Rows are independent, so the pair
 * loop is the parallel one.  Computing in double and rounding once on the
 * way out keeps float results within the backend tests' tolerance of ONNX
 * Runtime (which computes in float) and makes float16 inputs exact enough.
 * For speed (issue 4) W and R are held transposed, as float when that is
 * exact, so the matrix-vector products run 32 sums at a time in vector
 * registers; each sum still adds its products in the plain order, in
 * double, without FMA, so results are those of the straightforward loops to
 * the bit.
 *
 * Layouts (layout 0 / layout 1):
 *   X          [seq, batch, input]      / [batch, seq, input]
 *   W          [dirs, gates*H, input]   (both)
 *   R          [dirs, gates*H, H]       (both)
 *   B          [dirs, 2*gates*H]        Wb then Rb (both)
 *   initial_h/c, Y_h, Y_c [dirs, batch, H]  / [batch, dirs, H]
 *   Y          [seq, dirs, batch, H]    / [batch, seq, dirs, H]
 *   P (LSTM)   [dirs, 3*H]              peepholes in order i, o, f
 * Gate order inside W/R/B: LSTM i o f c, GRU z r h, RNN one gate.
 *
 * Semantics follow ONNX Runtime where the spec is loose: sequence_lens[b]
 * may be 0..seq (a row of length 0 has zero Y_h/Y_c); steps past a row's
 * length leave zeros in Y; the reverse direction of a row of length L starts
 * at step L-1; clip bounds the input of the gate activations f and g (not
 * of h(C)); activation_alpha/beta are consumed in order only by the
 * activations that take them.  Where ORT and the spec differ on the default
 * alpha/beta of an activation, the spec's default (that of the ONNX op of
 * the same name) is used: Affine 1/0, ThresholdedRelu 1, ScaledTanh 1/1.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "../int8/qgemm.h"
#include "onnxq/tensor.h"
#include "ref_kernels.h"

/* ---- activation functions ------------------------------------------------ */

typedef enum act_kind {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKY_RELU,
    ACT_THRESHOLDED_RELU, ACT_SCALED_TANH, ACT_HARD_SIGMOID, ACT_ELU,
    ACT_SOFTSIGN, ACT_SOFTPLUS
} act_kind;

typedef struct act_fn {
    act_kind kind;
    double alpha, beta;
} act_fn;

static const struct act_info {
    const char *name;
    act_kind kind;
    int takes_alpha, takes_beta;
    float alpha, beta;          /* defaults (the spec's) */
    float ort_alpha, ort_beta;  /* ONNX Runtime's, for its own ops */
} act_table[] = {
    {"Relu", ACT_RELU, 0, 0, 0.f, 0.f, 0.f, 0.f},
    {"Tanh", ACT_TANH, 0, 0, 0.f, 0.f, 0.f, 0.f},
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0.f, 0.f, 0.f, 0.f},
    {"Affine", ACT_AFFINE, 1, 1, 1.f, 0.f, 0.f, 0.f},
    {"LeakyRelu", ACT_LEAKY_RELU, 1, 0, 0.01f, 0.f, 0.01f, 0.f},
    {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 0, 1.f, 0.f, 0.f, 0.f},
    {"ScaledTanh", ACT_SCALED_TANH, 1, 1, 1.f, 1.f, 0.f, 0.f},
    {"HardSigmoid", ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f, 0.2f, 0.5f},
    {"Elu", ACT_ELU, 1, 0, 1.f, 0.f, 1.f, 0.f},
    {"Softsign", ACT_SOFTSIGN, 0, 0, 0.f, 0.f, 0.f, 0.f},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0.f, 0.f, 0.f, 0.f},
};

static double act_apply(const act_fn *f, double x)
{
    switch (f->kind) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_TANH: return tanh(x);
    case ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case ACT_AFFINE: return f->alpha * x + f->beta;
    case ACT_LEAKY_RELU: return x >= 0 ? x : f->alpha * x;
    case ACT_THRESHOLDED_RELU: return x > f->alpha ? x : 0;
    case ACT_SCALED_TANH: return f->alpha * tanh(f->beta * x);
    case ACT_HARD_SIGMOID: {
        double y = f->alpha * x + f->beta;
        return y < 0 ? 0 : y > 1 ? 1 : y;
    }
    case ACT_ELU: return x >= 0 ? x : f->alpha * (exp(x) - 1);
    case ACT_SOFTSIGN: return x / (1 + fabs(x));
    case ACT_SOFTPLUS:
        /* log1p(exp(x)) overflows for large x where the answer is x */
        return x > 30 ? x : log1p(exp(x));
    }
    return x;
}

/* ---- configuration shared by the ops ------------------------------------- */

/* OP_DQLSTM is com.microsoft DynamicQuantizeLSTM: an LSTM whose W and R are
 * 8-bit and transposed ([dirs, input, 4*H], [dirs, H, 4*H]). */
enum { OP_RNN, OP_GRU, OP_LSTM, OP_DQLSTM };

typedef struct rnn_cfg {
    int op;
    int gates;                 /* W/R rows per hidden unit: 1, 3 or 4 */
    int n_acts;                /* activations per direction: 1, 2 or 3 */
    int64_t seq, batch, input, hidden, dirs;
    int layout;                /* 0: time-major, 1: batch-major */
    int reverse;               /* single direction and it is "reverse" */
    int linear_before_reset;   /* GRU */
    int input_forget;          /* LSTM */
    double clip;               /* bound for activation inputs; 0 = none */
    act_fn act[2][3];          /* [direction][f, g, h] */
} rnn_cfg;

/* Reads activations / activation_alpha / activation_beta into cfg->act. */
static onnxq_status parse_activations(oq_kctx *ctx, rnn_cfg *cfg)
{
    static const char *const defaults[3][3] = {
        {"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const char *const *dflt = defaults[cfg->n_acts - 1];
    const Onnx__AttributeProto *a = oq_attr(ctx, "activations");
    size_t n_names = a ? a->n_strings : 0;
    /* ONNX Runtime's own op takes its defaults and wants every list */
    int ort = cfg->op == OP_DQLSTM;
    /* the spec wants one list per direction; a bidirectional node with a
     * single list is accepted and uses it for both directions */
    if (n_names && n_names != (size_t)cfg->n_acts * (ort ? cfg->dirs : 1) &&
        n_names != (size_t)(cfg->n_acts * cfg->dirs))
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "activations lists %zu functions; %d per direction "
                        "(%lld directions) expected", n_names, cfg->n_acts,
                        (long long)cfg->dirs);
    const float *alphas, *betas;
    long n_alpha = oq_attr_floats(ctx, "activation_alpha", &alphas);
    long n_beta = oq_attr_floats(ctx, "activation_beta", &betas);
    long ia = 0, ib = 0;
    for (int d = 0; d < cfg->dirs; d++)
        for (int k = 0; k < cfg->n_acts; k++) {
            size_t idx = (size_t)(n_names == (size_t)cfg->n_acts ? k
                                  : d * cfg->n_acts + k);
            char name[32];
            if (n_names) {
                const ProtobufCBinaryData *s = &a->strings[idx];
                size_t len = s->len < sizeof name - 1 ? s->len
                                                      : sizeof name - 1;
                memcpy(name, s->data, len);
                name[len] = '\0';
            } else {
                strcpy(name, dflt[k]);
            }
            const struct act_info *info = NULL;
            for (size_t t = 0; t < sizeof act_table / sizeof *act_table; t++)
                if (strcasecmp(act_table[t].name, name) == 0)
                    info = &act_table[t];
            if (!info)
                return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                                "unknown activation function '%s'", name);
            act_fn *f = &cfg->act[d][k];
            f->kind = info->kind;
            f->alpha = ort ? info->ort_alpha : info->alpha;
            f->beta = ort ? info->ort_beta : info->beta;
            /* a shared list for both directions re-reads the same values */
            if (d == 1 && n_names == (size_t)cfg->n_acts) {
                *f = cfg->act[0][k];
                continue;
            }
            if (info->takes_alpha && ia < n_alpha)
                f->alpha = alphas[ia++];
            if (info->takes_beta && ib < n_beta)
                f->beta = betas[ib++];
        }
    return ONNXQ_OK;
}

static int has_shape(const oq_tensor *t, int rank, const int64_t *dims)
{
    if (t->rank != rank)
        return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != dims[i])
            return 0;
    return 1;
}

static onnxq_status parse_config(oq_kctx *ctx, int op, rnn_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->op = op;
    cfg->gates = op == OP_RNN ? 1 : op == OP_GRU ? 3 : 4;
    cfg->n_acts = op == OP_RNN ? 1 : op == OP_GRU ? 2 : 3;
    int lstm = op == OP_LSTM || op == OP_DQLSTM, dq = op == OP_DQLSTM;
    const oq_tensor *X = oq_in(ctx, 0), *W = oq_in(ctx, 1), *R = oq_in(ctx, 2);
    if (!X || !W || !R)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "inputs X, W and R are required");
    if (dq && (X->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
               (W->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT8 &&
                W->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8) ||
               (R->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT8 &&
                R->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8)))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X must be float and W and R int8 or uint8 (got %s, "
                        "%s, %s)", onnxq_dtype_name(X->dtype),
                        onnxq_dtype_name(W->dtype), onnxq_dtype_name(R->dtype));
    if (!dq && (!oq_is_float(X->dtype) || W->dtype != X->dtype ||
                R->dtype != X->dtype))
        return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                        "X, W and R must share one float type (got %s, %s, "
                        "%s)", onnxq_dtype_name(X->dtype),
                        onnxq_dtype_name(W->dtype), onnxq_dtype_name(R->dtype));

    char dir_buf[32];
    const char *dir = oq_attr_string(ctx, "direction", "forward", dir_buf,
                                     sizeof dir_buf);
    if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0) {
        cfg->dirs = 1;
        cfg->reverse = dir[0] == 'r';
    } else if (strcmp(dir, "bidirectional") == 0) {
        cfg->dirs = 2;
    } else {
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "direction '%s' is not forward, reverse or "
                        "bidirectional", dir);
    }
    int64_t layout = ctx->opset >= 14 ? oq_attr_int(ctx, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL, "layout %lld is not 0 "
                        "or 1", (long long)layout);
    cfg->layout = (int)layout;
    if (X->rank != 3)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "X must have rank 3, has rank %d", X->rank);
    cfg->seq = X->dims[layout ? 1 : 0];
    cfg->batch = X->dims[layout ? 0 : 1];
    cfg->input = X->dims[2];
    /* the gate axis: 1 in the ONNX ops, 2 in DynamicQuantizeLSTM */
    int gate_axis = dq ? 2 : 1;
    if (W->rank != 3 || R->rank != 3 || W->dims[gate_axis] % cfg->gates)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        dq ? "W and R must have shape [directions, ..., "
                             "%d*hidden]"
                           : "W and R must have shape [directions, %d*hidden, "
                             "...]", cfg->gates);
    /* hidden_size is optional in the spec: W's shape tells it */
    cfg->hidden = oq_attr_int(ctx, "hidden_size",
                              W->dims[gate_axis] / cfg->gates);
    if (cfg->hidden <= 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "hidden_size %lld must be positive",
                        (long long)cfg->hidden);
    int64_t G = cfg->gates * cfg->hidden, H = cfg->hidden, D = cfg->dirs;
    int64_t wd[3] = {D, G, cfg->input}, rd[3] = {D, G, H};
    if (dq) {
        wd[1] = cfg->input;
        wd[2] = rd[2] = G;
        rd[1] = H;
    }
    if (!has_shape(W, 3, wd) || !has_shape(R, 3, rd))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "W must be [%lld, %lld, %lld] and R [%lld, %lld, "
                        "%lld] for hidden_size %lld",
                        (long long)wd[0], (long long)wd[1], (long long)wd[2],
                        (long long)rd[0], (long long)rd[1], (long long)rd[2],
                        (long long)H);
    const oq_tensor *B = oq_in(ctx, 3);
    int64_t bd[2] = {D, 2 * G};
    if (B && (B->dtype != X->dtype || !has_shape(B, 2, bd)))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "B must be %s [%lld, %lld]", onnxq_dtype_name(X->dtype),
                        (long long)D, (long long)(2 * G));
    const oq_tensor *sl = oq_in(ctx, 4);
    if (sl) {
        if (sl->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT32 &&
            sl->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "sequence_lens must be int32, is %s",
                            onnxq_dtype_name(sl->dtype));
        if (sl->rank != 1 || sl->dims[0] != cfg->batch)
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "sequence_lens must have shape [%lld]",
                            (long long)cfg->batch);
        for (int64_t b = 0; b < cfg->batch; b++) {
            int64_t len = oq_get_i64(sl, (size_t)b);
            if (len < 0 || len > cfg->seq)
                return oq_kfail(ctx, ONNXQ_ERR_INVALID_ARGUMENT,
                                "sequence_lens[%lld] = %lld is outside "
                                "[0, %lld]", (long long)b, (long long)len,
                                (long long)cfg->seq);
        }
    }
    int64_t sd[3] = {layout ? cfg->batch : D, layout ? D : cfg->batch, H};
    for (size_t i = 5; i <= (lstm ? 6u : 5u); i++) {
        const oq_tensor *s = oq_in(ctx, i);
        if (s && (s->dtype != X->dtype || !has_shape(s, 3, sd)))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "%s must be %s [%lld, %lld, %lld]",
                            i == 5 ? "initial_h" : "initial_c",
                            onnxq_dtype_name(X->dtype), (long long)sd[0],
                            (long long)sd[1], (long long)sd[2]);
    }
    const oq_tensor *P = lstm ? oq_in(ctx, 7) : NULL;
    int64_t pd[2] = {D, 3 * H};
    if (P && (P->dtype != X->dtype || !has_shape(P, 2, pd)))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "P must be %s [%lld, %lld]", onnxq_dtype_name(X->dtype),
                        (long long)D, (long long)(3 * H));

    const Onnx__AttributeProto *clip = oq_attr(ctx, "clip");
    if (clip) {
        cfg->clip = clip->f;
        if (!(cfg->clip > 0))
            return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                            "clip %g must be positive", cfg->clip);
    }
    cfg->linear_before_reset = op == OP_GRU &&
                               oq_attr_int(ctx, "linear_before_reset", 0) != 0;
    cfg->input_forget = lstm && oq_attr_int(ctx, "input_forget", 0) != 0;
    return parse_activations(ctx, cfg);
}

/* ---- the recurrence ------------------------------------------------------ */

/* Weights and state for one run, as double in the node's layouts except W
 * and R: transposed per direction (wt [dirs][input][G], rt [dirs][H][G],
 * G = gates * H) and held as float when that is exact (f32). */
typedef struct rnn_data {
    const rnn_cfg *cfg;
    const double *x, *b, *h0, *c0, *p;  /* b, h0, c0, p may be NULL */
    const void *wt, *rt;
    int f32;
    const oq_tensor *seq_lens;                 /* may be NULL */
    oq_tensor *y, *yh, *yc;                    /* may be NULL */
} rnn_data;

static double clipped(const rnn_cfg *cfg, double v)
{
    if (cfg->clip > 0)
        v = v < -cfg->clip ? -cfg->clip : v > cfg->clip ? cfg->clip : v;
    return v;
}

/* acc[k] += sum_j m[k][j] v[j] for k < rows, the matrix given transposed
 * (mt[j][k], row stride ld) so the inner loop runs over k and vectorises
 * without reordering any sum: s[k] accumulates j = 0, 1, ... from 0 and is
 * added to acc[k] last, the operations of the plain dot product, so the
 * result is the same to the bit (no FMA contraction: neither clone enables
 * it).  s holds rows doubles.  Weights held as float (every float, float16
 * and bfloat16 value is one) widen exactly. */
/* GCC vector types: the sums of 32 (or 16) consecutive k live in 8 (or 4)
 * vectors, written out because the compiler left the plain loop over a
 * small array scalar; each lane does what the scalar code does. */
typedef double rnn_v4d __attribute__((vector_size(32)));
typedef float rnn_v4f __attribute__((vector_size(16)));

/* dst += four weights from p (float or double, unaligned) * vj; macros,
 * since a function returning rnn_v4d would have two ABIs */
#define RNN_MAC4_float(dst, p, vj)                                            \
    do {                                                                      \
        rnn_v4f f_;                                                           \
        memcpy(&f_, (p), sizeof f_);                                          \
        (dst) += __builtin_convertvector(f_, rnn_v4d) * (vj);                 \
    } while (0)
#define RNN_MAC4_double(dst, p, vj)                                           \
    do {                                                                      \
        rnn_v4d d_;                                                           \
        memcpy(&d_, (p), sizeof d_);                                          \
        (dst) += d_ * (vj);                                                   \
    } while (0)

#define RNN_MATVEC(name, wtype)                                               \
    OQ_RNN_CLONES static void name(double *acc, const wtype *mt,              \
                                   const double *v, int64_t rows,             \
                                   int64_t cols, int64_t ld, double *s)       \
    {                                                                         \
        int64_t k0 = 0;                                                       \
        /* 32 or 16 sums at a time stay in registers over the whole of j     \
         * (eight chains of additions hide their latency) */                  \
        for (; k0 + 32 <= rows; k0 += 32) {                                   \
            rnn_v4d t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};                   \
            rnn_v4d t4 = {0}, t5 = {0}, t6 = {0}, t7 = {0};                   \
            for (int64_t j = 0; j < cols; j++) {                              \
                const wtype *row = mt + j * ld + k0;                          \
                rnn_v4d vj = {v[j], v[j], v[j], v[j]};                        \
                RNN_MAC4_##wtype(t0, row, vj);                                \
                RNN_MAC4_##wtype(t1, row + 4, vj);                            \
                RNN_MAC4_##wtype(t2, row + 8, vj);                            \
                RNN_MAC4_##wtype(t3, row + 12, vj);                           \
                RNN_MAC4_##wtype(t4, row + 16, vj);                           \
                RNN_MAC4_##wtype(t5, row + 20, vj);                           \
                RNN_MAC4_##wtype(t6, row + 24, vj);                           \
                RNN_MAC4_##wtype(t7, row + 28, vj);                           \
            }                                                                 \
            for (int k = 0; k < 4; k++) {                                     \
                acc[k0 + k] += t0[k];                                         \
                acc[k0 + 4 + k] += t1[k];                                     \
                acc[k0 + 8 + k] += t2[k];                                     \
                acc[k0 + 12 + k] += t3[k];                                    \
                acc[k0 + 16 + k] += t4[k];                                    \
                acc[k0 + 20 + k] += t5[k];                                    \
                acc[k0 + 24 + k] += t6[k];                                    \
                acc[k0 + 28 + k] += t7[k];                                    \
            }                                                                 \
        }                                                                     \
        for (; k0 + 16 <= rows; k0 += 16) {                                   \
            rnn_v4d t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};                   \
            for (int64_t j = 0; j < cols; j++) {                              \
                const wtype *row = mt + j * ld + k0;                          \
                rnn_v4d vj = {v[j], v[j], v[j], v[j]};                        \
                RNN_MAC4_##wtype(t0, row, vj);                                \
                RNN_MAC4_##wtype(t1, row + 4, vj);                            \
                RNN_MAC4_##wtype(t2, row + 8, vj);                            \
                RNN_MAC4_##wtype(t3, row + 12, vj);                           \
            }                                                                 \
            for (int k = 0; k < 4; k++) {                                     \
                acc[k0 + k] += t0[k];                                         \
                acc[k0 + 4 + k] += t1[k];                                     \
                acc[k0 + 8 + k] += t2[k];                                     \
                acc[k0 + 12 + k] += t3[k];                                    \
            }                                                                 \
        }                                                                     \
        for (int64_t k = k0; k < rows; k++)                                   \
            s[k] = 0;                                                         \
        for (int64_t j = 0; j < cols && k0 < rows; j++) {                     \
            const wtype *row = mt + j * ld;                                   \
            double vj = v[j];                                                 \
            for (int64_t k = k0; k < rows; k++)                               \
                s[k] += (double)row[k] * vj;                                  \
        }                                                                     \
        for (int64_t k = k0; k < rows; k++)                                   \
            acc[k] += s[k];                                                   \
    }
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OQ_RNN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define OQ_RNN_CLONES
#endif
RNN_MATVEC(matvec_f32, float)
RNN_MATVEC(matvec_f64, double)

/* acc += m v, m = rows [k0, k0 + rows) of the matrix (direction d's W or
 * R) whose transpose (ld = G, its row count) starts at element off of rd's
 * transposed weights wt (float or double). */
static void matvec_add(const rnn_data *rd, const void *wt, size_t off,
                       int64_t k0, double *acc, const double *v, int64_t rows,
                       int64_t cols, double *s)
{
    int64_t ld = rd->cfg->gates * rd->cfg->hidden;
    if (rd->f32)
        matvec_f32(acc, (const float *)wt + off + k0, v, rows, cols, ld, s);
    else
        matvec_f64(acc, (const double *)wt + off + k0, v, rows, cols, ld, s);
}

/* Flat index of [d, b, j] in a state tensor (initial_h/c, Y_h, Y_c). */
static size_t state_index(const rnn_cfg *c, int64_t d, int64_t b, int64_t j)
{
    return (size_t)((c->layout ? b * c->dirs + d : d * c->batch + b) *
                    c->hidden + j);
}

/* Runs direction d over batch row b.  scratch holds 2 * gates * H + 3 * H. */
static void run_row(const rnn_data *rd, int64_t d, int64_t b, double *scratch)
{
    const rnn_cfg *c = rd->cfg;
    const int64_t H = c->hidden, I = c->input, G = c->gates * H;
    double *a = scratch, *h = a + G, *cell = h + H, *tmp = cell + H,
           *s = tmp + H;
    const size_t W = (size_t)(d * I * G), R = (size_t)(d * H * G);
    const void *wt = rd->wt, *rt = rd->rt;
    const double *Wb = rd->b ? rd->b + d * 2 * G : NULL;
    const double *Rb = Wb ? Wb + G : NULL;
    const double *P = rd->p ? rd->p + d * 3 * H : NULL;
    const act_fn *f = &c->act[d][0], *g = &c->act[d][1], *hf = &c->act[d][2];
    int reverse = c->reverse || d == 1;
    int64_t len = rd->seq_lens ? oq_get_i64(rd->seq_lens, (size_t)b) : c->seq;

    for (int64_t j = 0; j < H; j++) {
        h[j] = rd->h0 ? rd->h0[state_index(c, d, b, j)] : 0;
        cell[j] = rd->c0 ? rd->c0[state_index(c, d, b, j)] : 0;
    }
    for (int64_t step = 0; step < len; step++) {
        int64_t t = reverse ? len - 1 - step : step;
        const double *xt = rd->x + (c->layout ? b * c->seq + t
                                              : t * c->batch + b) * I;
        /* a = W x + Wb + Rb, then the recurrent part per op; GRU with
         * linear_before_reset keeps Rbh for inside the reset product */
        int64_t full_bias = c->linear_before_reset ? 2 * H : G;
        for (int64_t k = 0; k < G; k++)
            a[k] = Wb ? Wb[k] + (k < full_bias ? Rb[k] : 0) : 0;
        matvec_add(rd, wt, W, 0, a, xt, G, I, s);
        if (c->op == OP_RNN) {
            matvec_add(rd, rt, R, 0, a, h, H, H, s);
            for (int64_t j = 0; j < H; j++)
                h[j] = act_apply(f, clipped(c, a[j]));
        } else if (c->op == OP_GRU) {
            /* z and r see the whole previous state */
            matvec_add(rd, rt, R, 0, a, h, 2 * H, H, s);
            double *z = a, *rg = a + H, *hh = a + 2 * H;
            for (int64_t j = 0; j < 2 * H; j++)
                a[j] = act_apply(f, clipped(c, a[j]));
            if (c->linear_before_reset) {
                /* h gate: Wh x + Wbh + r . (Rh h + Rbh) */
                for (int64_t j = 0; j < H; j++)
                    tmp[j] = Rb ? Rb[2 * H + j] : 0;
                matvec_add(rd, rt, R, 2 * H, tmp, h, H, H, s);
                for (int64_t j = 0; j < H; j++)
                    hh[j] += rg[j] * tmp[j];
            } else {
                for (int64_t j = 0; j < H; j++)
                    tmp[j] = rg[j] * h[j];
                matvec_add(rd, rt, R, 2 * H, hh, tmp, H, H, s);
            }
            for (int64_t j = 0; j < H; j++) {
                double cand = act_apply(g, clipped(c, hh[j]));
                h[j] = (1 - z[j]) * cand + z[j] * h[j];
            }
        } else {
            matvec_add(rd, rt, R, 0, a, h, G, H, s);
            const double *ai = a, *ao = a + H, *af = a + 2 * H, *ac = a + 3 * H;
            for (int64_t j = 0; j < H; j++) {
                double vi = ai[j] + (P ? P[j] * cell[j] : 0);
                double gi = act_apply(f, clipped(c, vi));
                double gf;
                if (c->input_forget) {
                    gf = 1 - gi;  /* coupled input and forget gates */
                } else {
                    double vf = af[j] + (P ? P[2 * H + j] * cell[j] : 0);
                    gf = act_apply(f, clipped(c, vf));
                }
                double gc = act_apply(g, clipped(c, ac[j]));
                cell[j] = gf * cell[j] + gi * gc;
                /* the output gate's peephole sees the new cell state */
                double vo = ao[j] + (P ? P[H + j] * cell[j] : 0);
                double go = act_apply(f, clipped(c, vo));
                h[j] = go * act_apply(hf, cell[j]);
            }
        }
        if (rd->y) {
            int64_t row = c->layout ? (b * c->seq + t) * c->dirs + d
                                    : (t * c->dirs + d) * c->batch + b;
            for (int64_t j = 0; j < H; j++)
                oq_set_f64(rd->y, (size_t)(row * H + j), h[j]);
        }
    }
    /* a row of length 0 ends with zero state (what ONNX Runtime gives) */
    for (int64_t j = 0; j < H; j++) {
        if (rd->yh)
            oq_set_f64(rd->yh, state_index(c, d, b, j), len ? h[j] : 0);
        if (rd->yc)
            oq_set_f64(rd->yc, state_index(c, d, b, j), len ? cell[j] : 0);
    }
}

/* Weight tensor wt [dirs][G][cols] transposed per direction into a new
 * [dirs][cols][G], as float when f32 (else double); NULL when out of
 * memory.  Float tensors are read as they are, others through double. */
static void *transpose_weights(const oq_tensor *wt, int64_t dirs, int64_t G,
                               int64_t cols, int f32)
{
    size_t n = (size_t)(dirs * G * cols);
    void *t = malloc((n ? n : 1) * (f32 ? sizeof(float) : sizeof(double)));
    int direct = f32 && wt->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    double *m = direct ? NULL : oq_load_f64(NULL, wt);
    if (!t || (!direct && !m)) {
        free(t);
        free(m);
        return NULL;
    }
    const float *mf = wt->data;
    /* blocks of 32 rows: reads and writes both stay within a few lines */
    for (int64_t d = 0; d < dirs; d++)
        for (int64_t k0 = 0; k0 < G; k0 += 32)
            for (int64_t j = 0; j < cols; j++)
                for (int64_t k = k0; k < G && k < k0 + 32; k++) {
                    size_t from = (size_t)((d * G + k) * cols + j),
                           to = (size_t)((d * cols + j) * G + k);
                    if (direct)
                        ((float *)t)[to] = mf[from];
                    else if (f32)
                        ((float *)t)[to] = (float)m[from];
                    else
                        ((double *)t)[to] = m[from];
                }
    free(m);
    return t;
}

static onnxq_status run_recurrent(oq_kctx *ctx, int op)
{
    rnn_cfg cfg;
    onnxq_status st = parse_config(ctx, op, &cfg);
    if (st != ONNXQ_OK)
        return st;
    const oq_tensor *X = oq_in(ctx, 0);
    int64_t S = cfg.seq, Bn = cfg.batch, D = cfg.dirs, H = cfg.hidden;
    int64_t ydims[4], sdims[3];
    if (cfg.layout) {
        int64_t y[4] = {Bn, S, D, H}, s[3] = {Bn, D, H};
        memcpy(ydims, y, sizeof y);
        memcpy(sdims, s, sizeof s);
    } else {
        int64_t y[4] = {S, D, Bn, H}, s[3] = {D, Bn, H};
        memcpy(ydims, y, sizeof y);
        memcpy(sdims, s, sizeof s);
    }
    oq_tensor *outs[3] = {NULL, NULL, NULL};
    size_t n_outs = op == OP_LSTM ? 3 : 2;
    for (size_t i = 0; i < n_outs && i < ctx->n_out; i++) {
        outs[i] = i == 0 ? oq_output(ctx, 0, X->dtype, 4, ydims)
                         : oq_output(ctx, i, X->dtype, 3, sdims);
        if (!outs[i])
            return oq_failed(ctx);
    }

    rnn_data rd = {&cfg, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0,
                   oq_in(ctx, 4), outs[0], outs[1], outs[2]};
    double *x = NULL, *b = NULL, *h0 = NULL, *c0 = NULL, *p = NULL,
           *scratch = NULL;
    void *wt = NULL, *rt = NULL;
    const oq_tensor *Bt = oq_in(ctx, 3), *H0 = oq_in(ctx, 5),
                    *C0 = op == OP_LSTM ? oq_in(ctx, 6) : NULL,
                    *P = op == OP_LSTM ? oq_in(ctx, 7) : NULL;
    size_t per_row = (size_t)((2 * cfg.gates + 3) * H);
    /* float16, bfloat16 and float weights are exact in float, which halves
     * the memory the recurrence streams through every step */
    int f32 = oq_in(ctx, 1)->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
              oq_in(ctx, 2)->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    size_t rows = (size_t)(D * Bn);
    x = oq_load_f64(NULL, X);
    if (Bt)
        b = oq_load_f64(NULL, Bt);
    if (H0)
        h0 = oq_load_f64(NULL, H0);
    if (C0)
        c0 = oq_load_f64(NULL, C0);
    if (P)
        p = oq_load_f64(NULL, P);
    scratch = malloc((rows ? rows : 1) * per_row * sizeof *scratch);
    wt = transpose_weights(oq_in(ctx, 1), D, cfg.gates * H, cfg.input, f32);
    rt = transpose_weights(oq_in(ctx, 2), D, cfg.gates * H, H, f32);
    if (!x || !wt || !rt || (Bt && !b) || (H0 && !h0) || (C0 && !c0) ||
        (P && !p) || !scratch) {
        st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for "
                      "%lld x %lld x %lld work buffers", (long long)S,
                      (long long)Bn, (long long)H);
        goto done;
    }
    rd.x = x;
    rd.wt = wt;
    rd.rt = rt;
    rd.f32 = f32;
    rd.b = b;
    rd.h0 = h0;
    rd.c0 = c0;
    rd.p = p;
#ifdef _OPENMP
#pragma omp parallel for num_threads(oq_threads(ctx)) schedule(static) \
    if (rows > 1)
#endif
    for (size_t i = 0; i < rows; i++)
        run_row(&rd, (int64_t)(i / (size_t)Bn), (int64_t)(i % (size_t)Bn),
                scratch + i * per_row);
done:
    free(x);
    free(b);
    free(h0);
    free(c0);
    free(p);
    free(scratch);
    free(wt);
    free(rt);
    return st;
}

static onnxq_status run_rnn(oq_kctx *ctx)
{
    return run_recurrent(ctx, OP_RNN);
}

static onnxq_status run_gru(oq_kctx *ctx)
{
    return run_recurrent(ctx, OP_GRU);
}

static onnxq_status run_lstm(oq_kctx *ctx)
{
    return run_recurrent(ctx, OP_LSTM);
}

/* ---- com.microsoft DynamicQuantizeLSTM ----------------------------------- */
/*
 * Inputs: X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?, W_scale,
 * W_zero_point, R_scale, R_zero_point.  W is [dirs, input, 4*H] and R
 * [dirs, H, 4*H] (int8 or uint8, columns in gate order i o f c); their
 * scale and zero point are per direction ([dirs]) or per column
 * ([dirs, 4*H]; a per-column zero point must still be one value: 0 for
 * int8, constant for uint8, as ORT demands).  Layout 0 only.
 *
 * ONNX Runtime defines this op by its code (LSTMBase and UniDirectionalLstm
 * over the quantized rnn::detail::ComputeGemm), so this kernel repeats that
 * code's float arithmetic operation by operation — float, not double as the
 * LSTM above — because a last-bit difference in h can move a quantized
 * value of the next step by one and the result by far more than 1e-6:
 *   - per direction, the input of the first maxlen = max(sequence_lens)
 *     steps (reversed per row in time for the reverse direction, steps past
 *     a row's length left in place) is quantized as one [maxlen*batch,
 *     input] matrix by DynamicQuantizeLinear's rule;  iofc = float(acc) *
 *     (x_scale * w_scale[col]), acc the exact int32 product with zero points
 *     subtracted;
 *   - each step quantizes the previous h of all batch rows as one matrix
 *     (the rows of finished sequences hold 0 when Y is an output, else their
 *     last h: ORT reads the Y buffer, or Y_h's) and adds float(acc) *
 *     (h_scale * r_scale[col]) to iofc, a multiply then an add;
 *   - gates per ORT's GateComputations: i = f(iofc_i + c_prev*P_i, then +
 *     (Wb+Rb)_i and clipped to +-clip, FLT_MAX when clip is absent); forget
 *     likewise or 1 - i with input_forget; g = g(clipped c + bias);
 *     c = c_prev*f + i*g; o = f(iofc_o + c*P_o + bias, clipped); h = h(c)*o;
 *     Sigmoid and Tanh are MLAS's FMA3 approximations (quant.c), the other
 *     activations ORT's functors with ORT's default alpha/beta.
 * ORT sizes its per-step quantization by its thread count (rows split into
 * one block per thread when batch > 4 or H <= 256); onnxq follows ORT with
 * one intra-op thread, so results do not depend on threads.  Integer sums
 * are exact: ORT's AVX2 u8 x s8 kernel (CPUs without VNNI) saturates pairs
 * of products to int16, which quant.c does not imitate either; int8
 * weights within +-63 never reach it.  (Measured: summing raw products of
 * k = 2j, 2j+1 saturated to int16, then subtracting the zero-point terms,
 * reproduces ORT on such a CPU bit for bit with full-range int8 weights;
 * exact sums differ there by up to 0.4 in Y over 16 steps.)
 * Speed (issue 4): the integer products go through qgemm.h's exact int16
 * kernel (weights packed once per run), and Sigmoid/Tanh run 8 lanes at a
 * time with the same FMA operations as the scalar functions; the float
 * operations of every element are unchanged.
 */

/* One direction's W or R: w - zero point as an int16 panel of qgemm.h
 * (K x N, N = 4H; the products are exact int32 sums, wrapping as ORT's), and
 * the weight scale of every column. */
typedef struct dq_mat {
    int16_t *panel;
    float *scale;
    int64_t K, N;
} dq_mat;

/* Reads scale/zero point input si/si+1 of weight w (W or R) for direction d
 * into m. */
static onnxq_status dq_load_mat(oq_kctx *ctx, const rnn_cfg *c, size_t wi,
                                size_t si, const char *what, int64_t d,
                                dq_mat *m)
{
    const oq_tensor *w = oq_in(ctx, wi), *s = oq_in(ctx, si),
                    *z = oq_in(ctx, si + 1);
    int64_t D = c->dirs, N = 4 * c->hidden, K = w->dims[1];
    if (!s || !z)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "%s_scale and %s_zero_point are required", what, what);
    const oq_tensor *p[2] = {s, z};
    for (int i = 0; i < 2; i++)
        if (!((p[i]->rank == 1 && p[i]->dims[0] == D) ||
              (p[i]->rank == 2 && p[i]->dims[0] == D && p[i]->dims[1] == N)))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "%s_%s must be [%lld] (per direction) or [%lld, "
                            "%lld] (per column)", what,
                            i ? "zero_point" : "scale", (long long)D,
                            (long long)D, (long long)N);
    if (s->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
        z->dtype != w->dtype)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "%s_scale must be float and %s_zero_point %s",
                        what, what, onnxq_dtype_name(w->dtype));
    int sgn = w->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    size_t zn = z->rank == 2 ? (size_t)N : 1, sn = s->rank == 2 ? (size_t)N : 1;
    int32_t zp = (int32_t)oq_get_i64(z, (size_t)d * zn);
    /* ORT's check covers every direction: one uint8 value for all */
    for (size_t j = 0; zn > 1 && j < oq_numel(z); j++) {
        int64_t v = oq_get_i64(z, j);
        if (sgn ? v != 0 : v != zp)
            return oq_kfail(ctx, ONNXQ_ERR_UNSUPPORTED,
                            "%s_zero_point per column must be %s", what,
                            sgn ? "0 for int8" : "one value for uint8");
    }
    m->K = K;
    m->N = N;
    size_t K2 = oq_qg_k2((size_t)K);
    m->panel = calloc(oq_qg_panel_size((size_t)K, (size_t)N) + 1,
                      sizeof *m->panel);
    m->scale = malloc((size_t)N * sizeof *m->scale);
    if (!m->panel || !m->scale)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for %s",
                        what);
    size_t base = (size_t)(d * K * N);
    const int8_t *ws = w->data;
    const uint8_t *wu = w->data;
    for (size_t k = 0; k < (size_t)K; k++)
        for (size_t j = 0; j * OQ_QG_NR < (size_t)N; j++) {
            size_t n0 = j * OQ_QG_NR, nc = (size_t)N - n0;
            nc = nc < OQ_QG_NR ? nc : OQ_QG_NR;
            size_t at = base + k * (size_t)N + n0;
            int16_t *dst = m->panel + (j * K2 + k / 2) * OQ_QG_NR * 2 + (k & 1);
            if (sgn)
                for (size_t c = 0; c < nc; c++)
                    dst[2 * c] = (int16_t)((int32_t)ws[at + c] - zp);
            else
                for (size_t c = 0; c < nc; c++)
                    dst[2 * c] = (int16_t)((int32_t)wu[at + c] - zp);
        }
    const float *sd = s->data;
    for (int64_t n = 0; n < N; n++)
        m->scale[n] = sd[(size_t)d * sn + (sn > 1 ? (size_t)n : 0)];
    return ONNXQ_OK;
}

static void dq_free_mat(dq_mat *m)
{
    free(m->panel);
    free(m->scale);
}

/* out[r][n] = float(acc) * (a_scale * w_scale[n])  (+ out[r][n] when
 * accumulating: ORT's output processor multiplies, then adds), acc the
 * exact product of a[rows][K] (uint8, zero point za) with w.  qrows and acc
 * are work buffers (oq_qg_rows_size(rows, K) and rows * N). */
static void dq_gemm(const uint8_t *a, int32_t za, float a_scale,
                    const dq_mat *w, int64_t rows, float *out, int accumulate,
                    int nt, int16_t *qrows, int32_t *acc)
{
    const int64_t K = w->K, N = w->N;
    const size_t K2 = oq_qg_k2((size_t)K);
    memset(qrows, 0, oq_qg_rows_size((size_t)rows, (size_t)K) * sizeof *qrows);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < K; k++)
            qrows[oq_qg_rows_at(K2, (size_t)r, (size_t)k)] =
                (int16_t)((int32_t)a[r * K + k] - za);
    oq_qg_gemm(qrows, (size_t)rows, w->panel, K2, (size_t)N, acc, (size_t)N,
               nt);
    for (int64_t r = 0; r < rows; r++) {
        const int32_t *ar = acc + r * N;
        float *o = out + r * N;
        for (int64_t n = 0; n < N; n++) {
            float v = (float)ar[n] * (a_scale * w->scale[n]);
            o[n] = accumulate ? v + o[n] : v;
        }
    }
}

/* ORT's float expression of activation f at x (ActivationFuncByName and the
 * functors of rnn_activation_functors.h, whose exp and log are the float
 * ones: the double versions miss ORT by an ulp, tests/quant shows). */
static float dq_act(const act_fn *f, float x)
{
    float a = (float)f->alpha, b = (float)f->beta;
    switch (f->kind) {
    case ACT_SIGMOID: return oq_mlas_logistic(x);
    case ACT_TANH: return oq_mlas_tanh(x);
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_AFFINE: return a * x + b;
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case ACT_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case ACT_SCALED_TANH: {
        float y = 2.0f * (b * x), s;  /* Tanh(v) = 2 Sigmoid(2v) - 1 */
        if (y >= 0.0f)
            s = 1.0f / (1.0f + expf(-y));
        else
            s = expf(y) / (1.0f + expf(y));
        return a * (2.0f * s - 1.0f);
    }
    case ACT_HARD_SIGMOID: {
        float v = a * x + b;
        v = 0.0f < v ? v : 0.0f;
        return v < 1.0f ? v : 1.0f;
    }
    case ACT_ELU:
        return x >= 0.0f ? x : a * (expf(x) - 1.0f);
    case ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case ACT_SOFTPLUS: return logf(1.0f + expf(x));
    }
    return x;
}

/* oq_mlas_logistic and oq_mlas_tanh (quant.c) over an array with AVX2 and
 * FMA, 8 values at a time; every lane does the scalar functions' operations
 * (fused multiply-adds, one division, the same clamps: maxps(a, b) is
 * a > b ? a : b, minps(a, b) a < b ? a : b, NaN included), so the values are
 * the same to the bit.  Used only when the CPU has both (dq_fma). */
#if defined(__x86_64__) && defined(__GNUC__)
#define DQ_FMA 1
#define DQ_FMADD(a, b, c) _mm256_fmadd_ps(a, _mm256_set1_ps(b), _mm256_set1_ps(c))
#define DQ_FMADDV(a, b, c) _mm256_fmadd_ps(a, b, _mm256_set1_ps(c))
__attribute__((target("avx2,fma"))) static void dq_sigmoid_fma(float *v,
                                                               int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        x = _mm256_max_ps(x, _mm256_set1_ps(-18.0f));
        x = _mm256_min_ps(x, _mm256_set1_ps(18.0f));
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 p = DQ_FMADD(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
        p = DQ_FMADDV(x2, p, 6.08574864600143e-05f);
        p = DQ_FMADDV(x2, p, 8.51377133304701e-03f);
        p = DQ_FMADDV(x2, p, 2.48287947061529e-01f);
        __m256 q = DQ_FMADD(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
        q = DQ_FMADDV(x2, q, 6.29106785017040e-06f);
        q = DQ_FMADDV(x2, q, 1.70198817374094e-03f);
        q = DQ_FMADDV(x2, q, 1.16817656904453e-01f);
        q = DQ_FMADDV(x2, q, 9.93151921023180e-01f);
        p = _mm256_mul_ps(x, p);
        __m256 y = _mm256_add_ps(_mm256_div_ps(p, q), _mm256_set1_ps(0.5f));
        _mm256_storeu_ps(v + i, _mm256_max_ps(y, _mm256_setzero_ps()));
    }
    for (; i < n; i++)
        v[i] = oq_mlas_logistic(v[i]);
}

__attribute__((target("avx2,fma"))) static void dq_tanh_fma(float *v,
                                                            int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        x = _mm256_max_ps(_mm256_set1_ps(-9.0f), x);
        x = _mm256_min_ps(_mm256_set1_ps(9.0f), x);
        __m256 x2 = _mm256_mul_ps(x, x);
        __m256 p = DQ_FMADD(x2, -2.76076847742355e-16f, 2.00018790482477e-13f);
        p = DQ_FMADDV(x2, p, -8.60467152213735e-11f);
        p = DQ_FMADDV(x2, p, 5.12229709037114e-08f);
        p = DQ_FMADDV(x2, p, 1.48572235717979e-05f);
        p = DQ_FMADDV(x2, p, 6.37261928875436e-04f);
        p = DQ_FMADDV(x2, p, 4.89352455891786e-03f);
        __m256 q = DQ_FMADD(x2, 1.19825839466702e-06f, 1.18534705686654e-04f);
        q = DQ_FMADDV(x2, q, 2.26843463243900e-03f);
        q = DQ_FMADDV(x2, q, 4.89352518554385e-03f);
        _mm256_storeu_ps(v + i, _mm256_div_ps(_mm256_mul_ps(x, p), q));
    }
    for (; i < n; i++)
        v[i] = oq_mlas_tanh(v[i]);
}

static int dq_fma(void)
{
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") &&
                 __builtin_cpu_supports("fma");
    return cached;
}
#endif

/* v[i] = f(v[i]) for i < n, as dq_act. */
static void dq_act_all(const act_fn *f, float *v, int64_t n)
{
#ifdef DQ_FMA
    if (f->kind == ACT_SIGMOID && dq_fma()) {
        dq_sigmoid_fma(v, n);
        return;
    }
    if (f->kind == ACT_TANH && dq_fma()) {
        dq_tanh_fma(v, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        v[i] = dq_act(f, v[i]);
}

/* ORT's clip_add_bias (bias present: std::min then std::max) or
 * clip_ignore_bias. */
static inline float dq_clip(float v, const float *bias, float clip)
{
    if (bias) {
        float x = v + *bias;
        x = x < clip ? x : clip;
        return -clip < x ? x : -clip;
    }
    return v > clip ? clip : v < -clip ? -clip : v;
}

/* Buffers of one direction; sizes in the comments (S = maxlen steps). */
typedef struct dq_dir {
    float *x;        /* [S][batch][input] the input in this direction's order */
    uint8_t *q;      /* [max(S*batch*input, batch*H)] quantized x, then h */
    float *iofc;     /* [S][batch][4H] gate pre-activations */
    float *h, *c;    /* [batch][H] state */
    float *bias;     /* [4H] Wb + Rb, or NULL */
    int16_t *qrows;  /* dq_gemm's rows operand, for x or h */
    int32_t *acc;    /* [S][batch][4H] dq_gemm's int32 sums */
    float *gates;    /* [5H] one row's gate values, for dq_act_all */
} dq_dir;

/* Runs direction d over all batch rows. */
static void dq_run_dir(oq_kctx *ctx, const rnn_cfg *cf, int64_t d,
                       const dq_mat *W, const dq_mat *R, dq_dir *b,
                       const int64_t *lens, int64_t S, int y_out,
                       oq_tensor *Y, oq_tensor *Yh, oq_tensor *Yc)
{
    const oq_tensor *X = oq_in(ctx, 0), *B = oq_in(ctx, 3), *H0 = oq_in(ctx, 5),
                    *C0 = oq_in(ctx, 6), *P = oq_in(ctx, 7);
    const int64_t Bn = cf->batch, I = cf->input, H = cf->hidden, G = 4 * H;
    const int reverse = cf->reverse || d == 1;
    const float clip = cf->clip > 0 ? (float)cf->clip : FLT_MAX;
    const float *xd = X->data;
    int nt = oq_threads(ctx);

    for (int64_t t = 0; t < S; t++)
        for (int64_t r = 0; r < Bn; r++) {
            int64_t src = reverse && t < lens[r] ? lens[r] - 1 - t : t;
            memcpy(b->x + (t * Bn + r) * I, xd + (src * Bn + r) * I,
                   (size_t)I * sizeof(float));
        }
    float xs;
    int32_t xz;
    oq_dynamic_quantize_u8(b->x, (size_t)(S * Bn * I), b->q, &xs, &xz);
    dq_gemm(b->q, xz, xs, W, S * Bn, b->iofc, 0, nt, b->qrows, b->acc);

    const float *bd = B ? (const float *)B->data + d * 2 * G : NULL;
    if (bd)
        for (int64_t k = 0; k < G; k++)
            b->bias[k] = bd[k] + bd[G + k];
    const float *pd = P ? (const float *)P->data + d * 3 * H : NULL;
    for (int64_t i = 0; i < Bn * H; i++) {
        b->h[i] = H0 ? ((const float *)H0->data)[d * Bn * H + i] : 0.0f;
        b->c[i] = C0 ? ((const float *)C0->data)[d * Bn * H + i] : 0.0f;
    }

    for (int64_t step = 0; step < S; step++) {
        float hs;
        int32_t hz;
        float *out = b->iofc + step * Bn * G;
        oq_dynamic_quantize_u8(b->h, (size_t)(Bn * H), b->q, &hs, &hz);
        dq_gemm(b->q, hz, hs, R, Bn, out, 1, nt, b->qrows, b->acc);
        for (int64_t r = 0; r < Bn; r++) {
            float *hr = b->h + r * H, *cr = b->c + r * H;
            if (step >= lens[r]) {
                /* finished: Y's row is 0; without Y, ORT's next step reads
                 * Y_h, which keeps the last h (a row of length 0 has none
                 * there: ORT reads unset memory, onnxq 0) */
                if (y_out || lens[r] == 0)
                    memset(hr, 0, (size_t)H * sizeof *hr);
                continue;
            }
            float *pi = out + r * G, *po = pi + H, *pf = po + H, *pc = pf + H;
            const float *bi = bd ? b->bias : NULL, *bo = bd ? b->bias + H : NULL,
                        *bf = bd ? b->bias + 2 * H : NULL,
                        *bc = bd ? b->bias + 3 * H : NULL;
            /* each element's operations as ORT's GateComputations, the
             * activations applied a gate at a time */
            float *ti = b->gates, *tf = ti + H, *tc = tf + H, *to = tc + H,
                  *th = to + H;
            const act_fn *fa = &cf->act[d][0], *ga = &cf->act[d][1],
                         *ha = &cf->act[d][2];
            for (int64_t j = 0; j < H; j++) {
                float vi = pi[j], vf = pf[j];
                if (pd)
                    vi += cr[j] * pd[j];
                ti[j] = dq_clip(vi, bi ? bi + j : NULL, clip);
                if (!cf->input_forget) {
                    if (pd)
                        vf += cr[j] * pd[2 * H + j];
                    tf[j] = dq_clip(vf, bf ? bf + j : NULL, clip);
                }
                tc[j] = dq_clip(pc[j], bc ? bc + j : NULL, clip);
            }
            dq_act_all(fa, ti, H);
            if (!cf->input_forget)
                dq_act_all(fa, tf, H);
            dq_act_all(ga, tc, H);
            for (int64_t j = 0; j < H; j++) {
                float gf = cf->input_forget ? 1.0f - ti[j] : tf[j];
                cr[j] = cr[j] * gf + ti[j] * tc[j];
                float vo = po[j];
                if (pd)
                    vo += cr[j] * pd[H + j];
                to[j] = dq_clip(vo, bo ? bo + j : NULL, clip);
                th[j] = cr[j];
            }
            dq_act_all(fa, to, H);
            dq_act_all(ha, th, H);
            for (int64_t j = 0; j < H; j++)
                hr[j] = th[j] * to[j];
            if (Y) {
                int64_t t = reverse ? lens[r] - 1 - step : step;
                memcpy((float *)Y->data + ((t * cf->dirs + d) * Bn + r) * H,
                       hr, (size_t)H * sizeof *hr);
            }
            /* the row's last step gives Y_h and Y_c (rows of length 0 keep
             * the zeros oq_output wrote) */
            if (step == lens[r] - 1) {
                size_t at = (size_t)((d * Bn + r) * H);
                if (Yh)
                    memcpy((float *)Yh->data + at, hr, (size_t)H * sizeof *hr);
                if (Yc)
                    memcpy((float *)Yc->data + at, cr, (size_t)H * sizeof *cr);
            }
        }
    }
}

static onnxq_status run_dq_lstm(oq_kctx *ctx)
{
    rnn_cfg cfg;
    onnxq_status st = parse_config(ctx, OP_DQLSTM, &cfg);
    if (st != ONNXQ_OK)
        return st;
    const int64_t S = cfg.seq, Bn = cfg.batch, D = cfg.dirs, H = cfg.hidden,
                  I = cfg.input;
    int64_t ydims[4] = {S, D, Bn, H}, sdims[3] = {D, Bn, H};
    oq_tensor *outs[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3 && i < ctx->n_out; i++) {
        outs[i] = oq_output(ctx, i, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                            i ? 3 : 4, i ? sdims : ydims);
        if (!outs[i])
            return oq_failed(ctx);
    }
    /* ORT's choices depend on whether Y is wanted, not only on its shape */
    int y_out = ctx->node->n_output > 0 && ctx->node->output[0][0] != '\0';

    const oq_tensor *sl = oq_in(ctx, 4);
    int64_t *lens = malloc((size_t)(Bn ? Bn : 1) * sizeof *lens), maxlen = 0;
    if (!lens)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t r = 0; r < Bn; r++) {
        lens[r] = sl ? oq_get_i64(sl, (size_t)r) : S;
        maxlen = lens[r] > maxlen ? lens[r] : maxlen;
    }
    dq_mat W = {NULL, NULL, 0, 0}, R = {NULL, NULL, 0, 0};
    dq_dir b = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int64_t G = 4 * H, qn = maxlen * Bn * I > Bn * H ? maxlen * Bn * I : Bn * H;
    b.x = malloc((size_t)(maxlen * Bn * I + 1) * sizeof *b.x);
    b.q = malloc((size_t)(qn + 1));
    b.iofc = malloc((size_t)(maxlen * Bn * G + 1) * sizeof *b.iofc);
    b.h = malloc((size_t)(Bn * H + 1) * sizeof *b.h);
    b.c = malloc((size_t)(Bn * H + 1) * sizeof *b.c);
    b.bias = malloc((size_t)G * sizeof *b.bias);
    size_t rx = oq_qg_rows_size((size_t)(maxlen * Bn), (size_t)I),
           rh = oq_qg_rows_size((size_t)Bn, (size_t)H);
    b.qrows = malloc((rx > rh ? rx : rh) * sizeof *b.qrows + 1);
    b.acc = malloc((size_t)(maxlen * Bn * G + Bn * G + 1) * sizeof *b.acc);
    b.gates = malloc((size_t)(5 * H + 1) * sizeof *b.gates);
    if (!b.x || !b.q || !b.iofc || !b.h || !b.c || !b.bias || !b.qrows ||
        !b.acc || !b.gates) {
        st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for "
                      "%lld x %lld x %lld work buffers", (long long)S,
                      (long long)Bn, (long long)G);
        goto done;
    }
    /* the directions share the buffers: ORT runs them one after the other */
    for (int64_t d = 0; d < D && st == ONNXQ_OK; d++) {
        if ((st = dq_load_mat(ctx, &cfg, 1, 8, "W", d, &W)) != ONNXQ_OK ||
            (st = dq_load_mat(ctx, &cfg, 2, 10, "R", d, &R)) != ONNXQ_OK)
            break;
        if (maxlen > 0)
            dq_run_dir(ctx, &cfg, d, &W, &R, &b, lens, maxlen, y_out, outs[0],
                       outs[1], outs[2]);
        dq_free_mat(&W);
        dq_free_mat(&R);
        memset(&W, 0, sizeof W);
        memset(&R, 0, sizeof R);
    }
done:
    dq_free_mat(&W);
    dq_free_mat(&R);
    free(b.x);
    free(b.q);
    free(b.iofc);
    free(b.h);
    free(b.c);
    free(b.bias);
    free(b.qrows);
    free(b.acc);
    free(b.gates);
    free(lens);
    return st;
}

OQ_KERNEL_TABLE(oq_ref_rnn_kernels) = {
    {"", "RNN", 7, 21, run_rnn},
    {"", "GRU", 7, 21, run_gru},
    {"", "LSTM", 7, 21, run_lstm},
    {"com.microsoft", "DynamicQuantizeLSTM", 1, 1, run_dq_lstm},
    {NULL, NULL, 0, 0, NULL},
};
