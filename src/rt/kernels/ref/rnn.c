/*
 * rnn.c — reference kernels for the recurrent ops RNN, GRU and LSTM
 * (ai.onnx opsets 7..21: versions 7 and 14, the latter adding layout).
 *
 * All three share one driver: read X and the weights as double, then for
 * every (direction, batch row) pair run the recurrence over that row's
 * sequence length, writing Y as it goes.  Rows are independent, so the pair
 * loop is the parallel one.  Computing in double and rounding once on the
 * way out keeps float results within the backend tests' tolerance of ONNX
 * Runtime (which computes in float) and makes float16 inputs exact enough.
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
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    float alpha, beta;          /* defaults */
} act_table[] = {
    {"Relu", ACT_RELU, 0, 0, 0.f, 0.f},
    {"Tanh", ACT_TANH, 0, 0, 0.f, 0.f},
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0.f, 0.f},
    {"Affine", ACT_AFFINE, 1, 1, 1.f, 0.f},
    {"LeakyRelu", ACT_LEAKY_RELU, 1, 0, 0.01f, 0.f},
    {"ThresholdedRelu", ACT_THRESHOLDED_RELU, 1, 0, 1.f, 0.f},
    {"ScaledTanh", ACT_SCALED_TANH, 1, 1, 1.f, 1.f},
    {"HardSigmoid", ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", ACT_ELU, 1, 0, 1.f, 0.f},
    {"Softsign", ACT_SOFTSIGN, 0, 0, 0.f, 0.f},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0.f, 0.f},
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

/* ---- configuration shared by the three ops ------------------------------- */

enum { OP_RNN, OP_GRU, OP_LSTM };

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
    /* the spec wants one list per direction; a bidirectional node with a
     * single list is accepted and uses it for both directions */
    if (n_names && n_names != (size_t)cfg->n_acts &&
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
            f->alpha = info->alpha;
            f->beta = info->beta;
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
    const oq_tensor *X = oq_in(ctx, 0), *W = oq_in(ctx, 1), *R = oq_in(ctx, 2);
    if (!X || !W || !R)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "inputs X, W and R are required");
    if (!oq_is_float(X->dtype) || W->dtype != X->dtype ||
        R->dtype != X->dtype)
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
    if (W->rank != 3 || R->rank != 3 || W->dims[1] % cfg->gates)
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "W and R must have shape [directions, %d*hidden, "
                        "...]", cfg->gates);
    /* hidden_size is optional in the spec: W's shape tells it */
    cfg->hidden = oq_attr_int(ctx, "hidden_size", W->dims[1] / cfg->gates);
    if (cfg->hidden <= 0)
        return oq_kfail(ctx, ONNXQ_ERR_INVALID_MODEL,
                        "hidden_size %lld must be positive",
                        (long long)cfg->hidden);
    int64_t G = cfg->gates * cfg->hidden, H = cfg->hidden, D = cfg->dirs;
    int64_t wd[3] = {D, G, cfg->input}, rd[3] = {D, G, H};
    if (!has_shape(W, 3, wd) || !has_shape(R, 3, rd))
        return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                        "W must be [%lld, %lld, %lld] and R [%lld, %lld, "
                        "%lld] for hidden_size %lld",
                        (long long)D, (long long)G, (long long)cfg->input,
                        (long long)D, (long long)G, (long long)H,
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
    for (size_t i = 5; i <= (op == OP_LSTM ? 6u : 5u); i++) {
        const oq_tensor *s = oq_in(ctx, i);
        if (s && (s->dtype != X->dtype || !has_shape(s, 3, sd)))
            return oq_kfail(ctx, ONNXQ_ERR_SHAPE_MISMATCH,
                            "%s must be %s [%lld, %lld, %lld]",
                            i == 5 ? "initial_h" : "initial_c",
                            onnxq_dtype_name(X->dtype), (long long)sd[0],
                            (long long)sd[1], (long long)sd[2]);
    }
    const oq_tensor *P = op == OP_LSTM ? oq_in(ctx, 7) : NULL;
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
    cfg->input_forget = op == OP_LSTM &&
                        oq_attr_int(ctx, "input_forget", 0) != 0;
    return parse_activations(ctx, cfg);
}

/* ---- the recurrence ------------------------------------------------------ */

/* Weights and state for one run, all as double, in the node's layouts. */
typedef struct rnn_data {
    const rnn_cfg *cfg;
    const double *x, *w, *r, *b, *h0, *c0, *p;  /* b, h0, c0, p may be NULL */
    const oq_tensor *seq_lens;                 /* may be NULL */
    oq_tensor *y, *yh, *yc;                    /* may be NULL */
} rnn_data;

static double clipped(const rnn_cfg *cfg, double v)
{
    if (cfg->clip > 0)
        v = v < -cfg->clip ? -cfg->clip : v > cfg->clip ? cfg->clip : v;
    return v;
}

/* acc[k] += sum_j m[k][j] v[j] for k < rows (m row-major, cols wide) */
static void matvec_add(double *acc, const double *m, const double *v,
                       int64_t rows, int64_t cols)
{
    for (int64_t k = 0; k < rows; k++) {
        const double *row = m + k * cols;
        double s = 0;
        for (int64_t j = 0; j < cols; j++)
            s += row[j] * v[j];
        acc[k] += s;
    }
}

/* Flat index of [d, b, j] in a state tensor (initial_h/c, Y_h, Y_c). */
static size_t state_index(const rnn_cfg *c, int64_t d, int64_t b, int64_t j)
{
    return (size_t)((c->layout ? b * c->dirs + d : d * c->batch + b) *
                    c->hidden + j);
}

/* Runs direction d over batch row b.  scratch holds (gates + 3) * H. */
static void run_row(const rnn_data *rd, int64_t d, int64_t b, double *scratch)
{
    const rnn_cfg *c = rd->cfg;
    const int64_t H = c->hidden, I = c->input, G = c->gates * H;
    double *a = scratch, *h = a + G, *cell = h + H, *tmp = cell + H;
    const double *W = rd->w + d * G * I, *R = rd->r + d * G * H;
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
        matvec_add(a, W, xt, G, I);
        if (c->op == OP_RNN) {
            matvec_add(a, R, h, H, H);
            for (int64_t j = 0; j < H; j++)
                h[j] = act_apply(f, clipped(c, a[j]));
        } else if (c->op == OP_GRU) {
            /* z and r see the whole previous state */
            matvec_add(a, R, h, 2 * H, H);
            double *z = a, *rg = a + H, *hh = a + 2 * H;
            for (int64_t j = 0; j < 2 * H; j++)
                a[j] = act_apply(f, clipped(c, a[j]));
            const double *Rh = R + 2 * H * H;
            if (c->linear_before_reset) {
                /* h gate: Wh x + Wbh + r . (Rh h + Rbh) */
                for (int64_t j = 0; j < H; j++)
                    tmp[j] = Rb ? Rb[2 * H + j] : 0;
                matvec_add(tmp, Rh, h, H, H);
                for (int64_t j = 0; j < H; j++)
                    hh[j] += rg[j] * tmp[j];
            } else {
                for (int64_t j = 0; j < H; j++)
                    tmp[j] = rg[j] * h[j];
                matvec_add(hh, Rh, tmp, H, H);
            }
            for (int64_t j = 0; j < H; j++) {
                double cand = act_apply(g, clipped(c, hh[j]));
                h[j] = (1 - z[j]) * cand + z[j] * h[j];
            }
        } else {
            matvec_add(a, R, h, G, H);
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

    rnn_data rd = {&cfg, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                   oq_in(ctx, 4), outs[0], outs[1], outs[2]};
    double *x = NULL, *w = NULL, *r = NULL, *b = NULL, *h0 = NULL, *c0 = NULL,
           *p = NULL, *scratch = NULL;
    const oq_tensor *Bt = oq_in(ctx, 3), *H0 = oq_in(ctx, 5),
                    *C0 = op == OP_LSTM ? oq_in(ctx, 6) : NULL,
                    *P = op == OP_LSTM ? oq_in(ctx, 7) : NULL;
    size_t per_row = (size_t)((cfg.gates + 3) * H);
    size_t rows = (size_t)(D * Bn);
    x = oq_load_f64(NULL, X);
    w = oq_load_f64(NULL, oq_in(ctx, 1));
    r = oq_load_f64(NULL, oq_in(ctx, 2));
    if (Bt)
        b = oq_load_f64(NULL, Bt);
    if (H0)
        h0 = oq_load_f64(NULL, H0);
    if (C0)
        c0 = oq_load_f64(NULL, C0);
    if (P)
        p = oq_load_f64(NULL, P);
    scratch = malloc((rows ? rows : 1) * per_row * sizeof *scratch);
    if (!x || !w || !r || (Bt && !b) || (H0 && !h0) || (C0 && !c0) ||
        (P && !p) || !scratch) {
        st = oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory for "
                      "%lld x %lld x %lld work buffers", (long long)S,
                      (long long)Bn, (long long)H);
        goto done;
    }
    rd.x = x;
    rd.w = w;
    rd.r = r;
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
    free(w);
    free(r);
    free(b);
    free(h0);
    free(c0);
    free(p);
    free(scratch);
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

OQ_KERNEL_TABLE(oq_ref_rnn_kernels) = {
    {"", "RNN", 7, 21, run_rnn},
    {"", "GRU", 7, 21, run_gru},
    {"", "LSTM", 7, 21, run_lstm},
    {NULL, NULL, 0, 0, NULL},
};
