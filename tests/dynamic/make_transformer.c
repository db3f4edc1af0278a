/*
 * make_transformer.c — writes the transformer-like test models of
 * tests/dynamic (issue 7) with onnxq's C builder (onnxq/builder.h).
 *
 * usage: make_transformer OUT_DIR
 * writes OUT_DIR/transformer_attn.onnx and OUT_DIR/transformer_plain.onnx.
 *
 * Both compute the same function of the same weights (a 2-block BERT-like
 * encoder, hidden 64, 4 heads, FFN 256, vocabulary 200, sequence 16):
 *
 *   ids  int64 [batch, 16]   token ids
 *   mask int32 [batch, 16]   1 = attend, 0 = padding
 *   x = LayerNorm(Gather(E[200, 64], ids) + P[16, 64])
 *   2 x { a = Attention(x, Wqkv[64, 192], bqkv, mask, 4 heads)
 *         x = LayerNorm(x + a Wo + bo)
 *         x = LayerNorm(x + Gelu(x W1[64, 256] + b1) W2[256, 64] + b2) }
 *   logits [batch, 16, 200] = x Wh[64, 200] + bh
 *
 *   transformer_attn:  Attention is one com.microsoft Attention node (raw
 *                      2-D mask) and Gelu com.microsoft Gelu — what
 *                      onnxruntime's transformer optimizer writes, and what
 *                      `onnxq dynamic` turns into QAttention;
 *   transformer_plain: the same in plain ai.onnx ops: three MatMul+Add
 *                      projections, Reshape/Transpose into heads, MatMul,
 *                      Mul by 1/sqrt(16), Add of (1 - mask) * -10000,
 *                      Softmax, MatMul, Transpose/Reshape back; Gelu as
 *                      x * 0.5 * (1 + Erf(x / sqrt 2)) — MatMul-heavy
 *                      quantization on its own.
 *
 * Weights are drawn in one fixed order from a 64-bit LCG (Knuth's MMIX
 * constants) through Box-Muller: N(0, 0.02) embeddings and biases,
 * N(0, 0.1)/N(0, 0.08)/N(0, 0.04) projection matrices, LayerNorm gains
 * N(1, 0.05) — a briefly trained model's scales, not a random init's.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/model.h"

enum { VOCAB = 200, HID = 64, HEADS = 4, HEAD = 16, FF = 256, SEQ = 16,
       LAYERS = 2 };
enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
       T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

static void die(const char *what)
{
    fprintf(stderr, "make_transformer: %s\n", what);
    exit(1);
}

/* ---- deterministic normal numbers ---------------------------------------- */

static uint64_t lcg_state;

static double uniform01(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    /* top 53 bits, shifted off 0 so log() below is finite */
    return ((double)(lcg_state >> 11) + 0.5) / 9007199254740992.0;
}

static float normal(float mean, float std)
{
    double u1 = uniform01(), u2 = uniform01();
    return mean + std * (float)(sqrt(-2.0 * log(u1)) *
                                cos(6.283185307179586 * u2));
}

static float *randn(size_t n, float mean, float std)
{
    float *v = malloc(n * sizeof *v);
    if (!v)
        die("out of memory");
    for (size_t k = 0; k < n; k++)
        v[k] = normal(mean, std);
    return v;
}

/* ---- graph helpers -------------------------------------------------------- */

static Onnx__GraphProto *G;

static void init_f(const char *name, size_t rank, const int64_t *dims,
                   const float *v)
{
    if (!onnxq_build_initializer(G, name, T_FLOAT, rank, dims, v))
        die("out of memory");
}

static void init_i64(const char *name, size_t n, const int64_t *v)
{
    int64_t d[1] = {(int64_t)n};
    if (!onnxq_build_initializer(G, name, T_INT64, 1, d, v))
        die("out of memory");
}

static void scalar_f(const char *name, float v)
{
    if (!onnxq_build_initializer(G, name, T_FLOAT, 0, NULL, &v))
        die("out of memory");
}

/* A node with 1-3 inputs and one output (domain NULL: ai.onnx). */
static Onnx__NodeProto *node(const char *domain, const char *op,
                             const char *name, const char *a, const char *b,
                             const char *c, const char *y)
{
    const char *ins[3] = {a, b, c};
    size_t nin = c ? 3 : b ? 2 : 1;
    const char *outs[1] = {y};
    Onnx__NodeProto *n = onnxq_build_node(G, op, name, ins, nin, outs, 1);
    if (!n || (domain && onnxq_build_node_domain(n, domain)))
        die("out of memory");
    return n;
}

static char *nm(const char *fmt, int layer, const char *part)
{
    static char bufs[64][96];
    static int next;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], fmt, layer, part);
    return b;
}

static void layer_norm(const char *x, const char *gain, const char *bias,
                       const char *y, const char *name)
{
    Onnx__NodeProto *n = node(NULL, "LayerNormalization", name, x, gain, bias,
                              y);
    if (!onnxq_build_attr_int(n, "axis", -1) ||
        !onnxq_build_attr_float(n, "epsilon", 1e-5f))
        die("out of memory");
}

static void perm(Onnx__NodeProto *n, int64_t a, int64_t b, int64_t c,
                 int64_t d)
{
    int64_t p[4] = {a, b, c, d};
    if (!onnxq_build_attr_ints(n, "perm", p, 4))
        die("out of memory");
}

/* The weights of one block, drawn in a fixed order. */
typedef struct block_w {
    float *wqkv, *bqkv, *wo, *bo, *g1, *be1, *w1, *b1, *w2, *b2, *g2, *be2;
} block_w;

/* Multi-head self attention in plain ops: x [B, S, 64] -> y [B, S, 64]. */
static void plain_attention(int l, const char *x, const block_w *bw,
                            const char *mask_bias, const char *y)
{
    static const char *const part[3] = {"q", "k", "v"};
    for (int p = 0; p < 3; p++) {
        float w[HID * HID], b[HID];
        for (int r = 0; r < HID; r++)
            for (int c = 0; c < HID; c++)
                w[r * HID + c] = bw->wqkv[r * 3 * HID + p * HID + c];
        memcpy(b, bw->bqkv + p * HID, sizeof b);
        int64_t wd[2] = {HID, HID}, bd[1] = {HID};
        init_f(nm("l%d.attn.w%s", l, part[p]), 2, wd, w);
        init_f(nm("l%d.attn.b%s", l, part[p]), 1, bd, b);
        node(NULL, "MatMul", nm("l%d.attn.%s_proj", l, part[p]), x,
             nm("l%d.attn.w%s", l, part[p]), NULL,
             nm("l%d.attn.%s_mm", l, part[p]));
        node(NULL, "Add", nm("l%d.attn.%s_bias", l, part[p]),
             nm("l%d.attn.%s_mm", l, part[p]), nm("l%d.attn.b%s", l, part[p]),
             NULL, nm("l%d.attn.%s", l, part[p]));
        node(NULL, "Reshape", nm("l%d.attn.%s_split", l, part[p]),
             nm("l%d.attn.%s", l, part[p]), "heads_shape", NULL,
             nm("l%d.attn.%s_heads", l, part[p]));
        Onnx__NodeProto *t = node(NULL, "Transpose",
                                  nm("l%d.attn.%s_t", l, part[p]),
                                  nm("l%d.attn.%s_heads", l, part[p]), NULL,
                                  NULL, nm("l%d.attn.%s_bnsh", l, part[p]));
        if (p == 1)
            perm(t, 0, 2, 3, 1); /* K^T: [B, N, H, S] */
        else
            perm(t, 0, 2, 1, 3); /* [B, N, S, H] */
    }
    node(NULL, "MatMul", nm("l%d.attn.%s", l, "scores"),
         nm("l%d.attn.%s_bnsh", l, "q"), nm("l%d.attn.%s_bnsh", l, "k"), NULL,
         nm("l%d.attn.%s", l, "qk"));
    node(NULL, "Mul", nm("l%d.attn.%s", l, "scale"), nm("l%d.attn.%s", l, "qk"),
         "inv_sqrt_head", NULL, nm("l%d.attn.%s", l, "qk_scaled"));
    node(NULL, "Add", nm("l%d.attn.%s", l, "mask"),
         nm("l%d.attn.%s", l, "qk_scaled"), mask_bias, NULL,
         nm("l%d.attn.%s", l, "qk_masked"));
    Onnx__NodeProto *sm = node(NULL, "Softmax", nm("l%d.attn.%s", l,
                                                   "softmax"),
                               nm("l%d.attn.%s", l, "qk_masked"), NULL, NULL,
                               nm("l%d.attn.%s", l, "probs"));
    if (!onnxq_build_attr_int(sm, "axis", -1))
        die("out of memory");
    node(NULL, "MatMul", nm("l%d.attn.%s", l, "context"),
         nm("l%d.attn.%s", l, "probs"), nm("l%d.attn.%s_bnsh", l, "v"), NULL,
         nm("l%d.attn.%s", l, "ctx"));
    perm(node(NULL, "Transpose", nm("l%d.attn.%s", l, "merge_t"),
              nm("l%d.attn.%s", l, "ctx"), NULL, NULL,
              nm("l%d.attn.%s", l, "ctx_bsnh")), 0, 2, 1, 3);
    node(NULL, "Reshape", nm("l%d.attn.%s", l, "merge"),
         nm("l%d.attn.%s", l, "ctx_bsnh"), "hidden_shape", NULL, y);
}

static int build(const char *path, int fused, const block_w *bw,
                 const float *emb, const float *pos, const float *g0,
                 const float *b0, const float *wh, const float *bh)
{
    Onnx__ModelProto *m = onnxq_build_model(17);
    if (!m || (fused && !onnxq_build_opset(m, "com.microsoft", 1)))
        die("out of memory");
    G = m->graph;
    int64_t io[2] = {-1, SEQ};
    const char *iop[2] = {"batch", NULL};
    if (!onnxq_build_input(G, "ids", T_INT64, 2, io, iop) ||
        !onnxq_build_input(G, "mask", T_INT32, 2, io, iop))
        die("out of memory");
    int64_t od[3] = {-1, SEQ, VOCAB};
    const char *odp[3] = {"batch", NULL, NULL};
    if (!onnxq_build_output(G, "logits", T_FLOAT, 3, od, odp))
        die("out of memory");

    int64_t ed[2] = {VOCAB, HID}, pd[2] = {SEQ, HID}, hd[1] = {HID};
    init_f("embed.table", 2, ed, emb);
    init_f("embed.position", 2, pd, pos);
    init_f("embed.ln.gain", 1, hd, g0);
    init_f("embed.ln.bias", 1, hd, b0);
    node(NULL, "Gather", "embed.lookup", "embed.table", "ids", NULL,
         "embed.tok");
    node(NULL, "Add", "embed.add_position", "embed.tok", "embed.position",
         NULL, "embed.sum");
    layer_norm("embed.sum", "embed.ln.gain", "embed.ln.bias", "x0",
               "embed.ln");
    if (!fused) {
        static const int64_t heads[4] = {0, 0, HEADS, HEAD};
        static const int64_t hidden[3] = {0, 0, HID};
        static const int64_t mshape[4] = {0, 1, 1, -1};
        init_i64("heads_shape", 4, heads);
        init_i64("hidden_shape", 3, hidden);
        init_i64("mask_shape", 4, mshape);
        scalar_f("inv_sqrt_head", 0.25f);
        scalar_f("one", 1.0f);
        scalar_f("half", 0.5f);
        scalar_f("sqrt2", 1.41421356f);
        scalar_f("mask_fill", -10000.0f);
        Onnx__NodeProto *cast = node(NULL, "Cast", "mask.cast", "mask", NULL,
                                     NULL, "mask.f");
        if (!onnxq_build_attr_int(cast, "to", T_FLOAT))
            die("out of memory");
        node(NULL, "Sub", "mask.invert", "one", "mask.f", NULL, "mask.inv");
        node(NULL, "Mul", "mask.fill", "mask.inv", "mask_fill", NULL,
             "mask.add");
        node(NULL, "Reshape", "mask.reshape", "mask.add", "mask_shape", NULL,
             "mask.bias");
    }
    char x[64] = "x0";
    for (int l = 0; l < LAYERS; l++) {
        const block_w *b = &bw[l];
        int64_t qd[2] = {HID, 3 * HID}, qb[1] = {3 * HID};
        int64_t od2[2] = {HID, HID}, w1d[2] = {HID, FF}, b1d[1] = {FF};
        int64_t w2d[2] = {FF, HID};
        char a[64]; /* nm()'s buffers are reused: keep a copy */
        snprintf(a, sizeof a, "l%d.attn.out", l);
        if (fused) {
            init_f(nm("l%d.attn.%s", l, "wqkv"), 2, qd, b->wqkv);
            init_f(nm("l%d.attn.%s", l, "bqkv"), 1, qb, b->bqkv);
            const char *ins[4] = {x, nm("l%d.attn.%s", l, "wqkv"),
                                  nm("l%d.attn.%s", l, "bqkv"), "mask"};
            const char *outs[1] = {a};
            Onnx__NodeProto *n = onnxq_build_node(
                G, "Attention", nm("l%d.%s", l, "attention"), ins, 4, outs, 1);
            if (!n || onnxq_build_node_domain(n, "com.microsoft") ||
                !onnxq_build_attr_int(n, "num_heads", HEADS))
                die("out of memory");
        } else {
            plain_attention(l, x, b, "mask.bias", a);
        }
        init_f(nm("l%d.attn.%s", l, "wo"), 2, od2, b->wo);
        init_f(nm("l%d.attn.%s", l, "bo"), 1, hd, b->bo);
        init_f(nm("l%d.ln1.%s", l, "gain"), 1, hd, b->g1);
        init_f(nm("l%d.ln1.%s", l, "bias"), 1, hd, b->be1);
        init_f(nm("l%d.ffn.%s", l, "w1"), 2, w1d, b->w1);
        init_f(nm("l%d.ffn.%s", l, "b1"), 1, b1d, b->b1);
        init_f(nm("l%d.ffn.%s", l, "w2"), 2, w2d, b->w2);
        init_f(nm("l%d.ffn.%s", l, "b2"), 1, hd, b->b2);
        init_f(nm("l%d.ln2.%s", l, "gain"), 1, hd, b->g2);
        init_f(nm("l%d.ln2.%s", l, "bias"), 1, hd, b->be2);
        node(NULL, "MatMul", nm("l%d.attn.%s", l, "o_proj"), a,
             nm("l%d.attn.%s", l, "wo"), NULL, nm("l%d.attn.%s", l, "o_mm"));
        node(NULL, "Add", nm("l%d.attn.%s", l, "o_bias"),
             nm("l%d.attn.%s", l, "o_mm"), nm("l%d.attn.%s", l, "bo"), NULL,
             nm("l%d.attn.%s", l, "o"));
        node(NULL, "Add", nm("l%d.%s", l, "residual1"), x,
             nm("l%d.attn.%s", l, "o"), NULL, nm("l%d.%s", l, "r1"));
        layer_norm(nm("l%d.%s", l, "r1"), nm("l%d.ln1.%s", l, "gain"),
                   nm("l%d.ln1.%s", l, "bias"), nm("l%d.%s", l, "x1"),
                   nm("l%d.%s", l, "ln1"));
        node(NULL, "MatMul", nm("l%d.ffn.%s", l, "up"), nm("l%d.%s", l, "x1"),
             nm("l%d.ffn.%s", l, "w1"), NULL, nm("l%d.ffn.%s", l, "h_mm"));
        node(NULL, "Add", nm("l%d.ffn.%s", l, "up_bias"),
             nm("l%d.ffn.%s", l, "h_mm"), nm("l%d.ffn.%s", l, "b1"), NULL,
             nm("l%d.ffn.%s", l, "h"));
        if (fused) {
            node("com.microsoft", "Gelu", nm("l%d.ffn.%s", l, "gelu"),
                 nm("l%d.ffn.%s", l, "h"), NULL, NULL,
                 nm("l%d.ffn.%s", l, "act"));
        } else {
            node(NULL, "Div", nm("l%d.ffn.%s", l, "gelu_div"),
                 nm("l%d.ffn.%s", l, "h"), "sqrt2", NULL,
                 nm("l%d.ffn.%s", l, "g_div"));
            node(NULL, "Erf", nm("l%d.ffn.%s", l, "gelu_erf"),
                 nm("l%d.ffn.%s", l, "g_div"), NULL, NULL,
                 nm("l%d.ffn.%s", l, "g_erf"));
            node(NULL, "Add", nm("l%d.ffn.%s", l, "gelu_add"),
                 nm("l%d.ffn.%s", l, "g_erf"), "one", NULL,
                 nm("l%d.ffn.%s", l, "g_add"));
            node(NULL, "Mul", nm("l%d.ffn.%s", l, "gelu_mul"),
                 nm("l%d.ffn.%s", l, "h"), nm("l%d.ffn.%s", l, "g_add"), NULL,
                 nm("l%d.ffn.%s", l, "g_mul"));
            node(NULL, "Mul", nm("l%d.ffn.%s", l, "gelu_half"),
                 nm("l%d.ffn.%s", l, "g_mul"), "half", NULL,
                 nm("l%d.ffn.%s", l, "act"));
        }
        node(NULL, "MatMul", nm("l%d.ffn.%s", l, "down"),
             nm("l%d.ffn.%s", l, "act"), nm("l%d.ffn.%s", l, "w2"), NULL,
             nm("l%d.ffn.%s", l, "f_mm"));
        node(NULL, "Add", nm("l%d.ffn.%s", l, "down_bias"),
             nm("l%d.ffn.%s", l, "f_mm"), nm("l%d.ffn.%s", l, "b2"), NULL,
             nm("l%d.ffn.%s", l, "f"));
        node(NULL, "Add", nm("l%d.%s", l, "residual2"), nm("l%d.%s", l, "x1"),
             nm("l%d.ffn.%s", l, "f"), NULL, nm("l%d.%s", l, "r2"));
        char y[64];
        snprintf(y, sizeof y, "l%d.y", l);
        layer_norm(nm("l%d.%s", l, "r2"), nm("l%d.ln2.%s", l, "gain"),
                   nm("l%d.ln2.%s", l, "bias"), y, nm("l%d.%s", l, "ln2"));
        snprintf(x, sizeof x, "%s", y);
    }
    int64_t whd[2] = {HID, VOCAB}, bhd[1] = {VOCAB};
    init_f("head.w", 2, whd, wh);
    init_f("head.b", 1, bhd, bh);
    node(NULL, "MatMul", "head.proj", x, "head.w", NULL, "head.mm");
    node(NULL, "Add", "head.bias", "head.mm", "head.b", NULL, "logits");

    onnxq_model *model;
    onnxq_error err;
    if (onnxq_model_wrap(m, NULL, &model, &err) != ONNXQ_OK)
        die(err.message);
    int rc = onnxq_model_save(model, path, NULL, NULL, &err) != ONNXQ_OK;
    if (rc)
        fprintf(stderr, "make_transformer: %s\n", err.message);
    onnxq_model_destroy(model);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_transformer OUT_DIR\n");
        return 2;
    }
    lcg_state = 20261126;
    float *emb = randn(VOCAB * HID, 0, 0.02f);
    float *pos = randn(SEQ * HID, 0, 0.02f);
    float *g0 = randn(HID, 1, 0.05f), *b0 = randn(HID, 0, 0.02f);
    block_w bw[LAYERS];
    for (int l = 0; l < LAYERS; l++) {
        block_w *b = &bw[l];
        b->wqkv = randn(HID * 3 * HID, 0, 0.1f);
        b->bqkv = randn(3 * HID, 0, 0.02f);
        b->wo = randn(HID * HID, 0, 0.08f);
        b->bo = randn(HID, 0, 0.02f);
        b->g1 = randn(HID, 1, 0.05f);
        b->be1 = randn(HID, 0, 0.02f);
        b->w1 = randn(HID * FF, 0, 0.08f);
        b->b1 = randn(FF, 0, 0.02f);
        b->w2 = randn(FF * HID, 0, 0.04f);
        b->b2 = randn(HID, 0, 0.02f);
        b->g2 = randn(HID, 1, 0.05f);
        b->be2 = randn(HID, 0, 0.02f);
    }
    float *wh = randn(HID * VOCAB, 0, 0.08f), *bh = randn(VOCAB, 0, 0.02f);
    char path[4096];
    int rc = 0;
    snprintf(path, sizeof path, "%s/transformer_attn.onnx", argv[1]);
    rc |= build(path, 1, bw, emb, pos, g0, b0, wh, bh);
    snprintf(path, sizeof path, "%s/transformer_plain.onnx", argv[1]);
    rc |= build(path, 0, bw, emb, pos, g0, b0, wh, bh);
    for (int l = 0; l < LAYERS; l++) {
        block_w *b = &bw[l];
        float *all[] = {b->wqkv, b->bqkv, b->wo, b->bo, b->g1, b->be1,
                        b->w1, b->b1, b->w2, b->b2, b->g2, b->be2};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            free(all[k]);
    }
    free(emb);
    free(pos);
    free(g0);
    free(b0);
    free(wh);
    free(bh);
    return rc;
}
