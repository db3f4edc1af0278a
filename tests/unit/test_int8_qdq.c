/* test_int8_qdq.c — the fast QuantizeLinear / DequantizeLinear kernels
 * (src/rt/kernels/int8/qdq_fast.c) and the vectorised same-shape
 * com.microsoft QLinearAdd (int8_ops.c; same shapes and broadcasts:
 * scalars, [C] against [..., C], [C,1,1] against [N,C,H,W], and forms
 * that must stay on the reference) against the reference kernels
 * (kernels/ref/quant.c, checked against ONNX Runtime by tests/quant), on
 * named one-node cases: per tensor and per axis, u8 / s8 / int32, zero
 * point omitted, lengths around the vector width, tensors big enough to be
 * split among threads, and data that tells roundings apart (halfway
 * values, NaN, infinities, values past the clamp bounds, huge int32).
 * Outputs must be byte-identical; the counters of int8_stats.h show which
 * path ran (a DequantizeLinear of constants is computed at preparation).
 * A few results are also checked against values worked out by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/rt/kernels/int8/int8_stats.h"
#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum {
    F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    S8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
};
enum { Q, DQ, DQ_CONST, QADD };
/* the path a case must take (FAST_UNFOLDED: a constant DequantizeLinear
 * too big to keep as floats, dequantized at every run) */
enum { FAST, REFERENCE, FAST_UNFOLDED };

typedef struct tcase {
    const char *name;
    int op;
    int qt;               /* the integer type (Q's output, DQ's input, QADD) */
    int rank;
    int64_t dims[4];
    int axis;             /* -9: per tensor */
    int zp;               /* 0 none, 1 present */
    int block;            /* block_size (opset 21): the reference's */
    int path;
    /* QLinearAdd with broadcasting: B's own shape (rank/dims are A's) */
    int bc, brank;
    int64_t bdims[4];
    int zpx;    /* zero points: 0 ordinary, 1 / 2 at the type's ends */
    int pairs;  /* A = 0..255 along channels, B = 0..255 along rows */
} tcase;

/* the fields of a case that is not a broadcast QLinearAdd */
#define NOBC 0, 0, {0}, 0, 0

static const tcase cases[] = {
    {"q_u8_per_tensor_1", Q, U8, 1, {1}, -9, 1, 0, FAST, NOBC},
    {"q_u8_per_tensor_37", Q, U8, 1, {37}, -9, 1, 0, FAST, NOBC},
    {"q_s8_per_tensor_no_zp_9", Q, S8, 2, {3, 3}, -9, 0, 0, FAST, NOBC},
    {"q_u8_no_zp_default_type", Q, U8, 1, {23}, -9, 0, 0, FAST, NOBC},
    {"q_s8_per_axis_1", Q, S8, 3, {2, 5, 13}, 1, 1, 0, FAST, NOBC},
    {"q_u8_per_axis_last", Q, U8, 3, {3, 4, 6}, -1, 1, 0, FAST, NOBC},
    {"q_u8_big_threads", Q, U8, 2, {3, 40001}, -9, 1, 0, FAST, NOBC},
    {"q_s8_per_axis_big", Q, S8, 3, {2, 3, 20011}, 1, 1, 0, FAST, NOBC},
    {"q_blocked_reference", Q, S8, 2, {4, 6}, 1, 1, 2, REFERENCE, NOBC},
    {"dq_u8_per_tensor_8", DQ, U8, 1, {8}, -9, 1, 0, FAST, NOBC},
    {"dq_s8_per_tensor_61", DQ, S8, 2, {61, 1}, -9, 1, 0, FAST, NOBC},
    {"dq_s8_no_zp", DQ, S8, 1, {17}, -9, 0, 0, FAST, NOBC},
    {"dq_i32_huge", DQ, I32, 1, {29}, -9, 0, 0, FAST, NOBC},
    {"dq_u8_per_axis_0", DQ, U8, 2, {7, 19}, 0, 1, 0, FAST, NOBC},
    {"dq_s8_per_axis_1_big", DQ, S8, 3, {2, 4, 30001}, 1, 1, 0, FAST, NOBC},
    {"dq_blocked_reference", DQ, U8, 2, {4, 6}, 0, 1, 2, REFERENCE, NOBC},
    {"dq_const_weights_per_axis", DQ_CONST, S8, 2, {192, 77}, 0, 1, 0, FAST, NOBC},
    {"dq_const_u8_per_tensor", DQ_CONST, U8, 3, {3, 5, 7}, -9, 1, 0, FAST, NOBC},
    {"dq_const_too_big_to_fold", DQ_CONST, S8, 2, {1025, 4097}, 0, 1, 0,
     FAST_UNFOLDED, NOBC},
    {"qadd_u8_15", QADD, U8, 1, {15}, -9, 1, 0, FAST, NOBC},
    {"qadd_s8_4d", QADD, S8, 4, {1, 3, 7, 11}, -9, 1, 0, FAST, NOBC},
    {"qadd_u8_big_threads", QADD, U8, 2, {5, 20003}, -9, 1, 0, FAST, NOBC},
    {"qadd_u8_all_pairs", QADD, U8, 1, {65536}, -9, 1, 0, FAST, NOBC},
    {"qadd_s8_all_pairs", QADD, S8, 2, {256, 256}, -9, 1, 0, FAST, NOBC},
    /* broadcasting: scalars, B* K* B* forms (fast), the rest (reference) */
    {"qadd_bc_u8_scalar_b", QADD, U8, 3, {2, 7, 13}, -9, 1, 0, FAST, 1, 0, {0}, 0, 0},
    {"qadd_bc_s8_scalar_a", QADD, S8, 0, {0}, -9, 1, 0, FAST, 1, 2, {3, 29}, 0, 0},
    {"qadd_bc_u8_scalar_a_zp_lo", QADD, U8, 1, {1}, -9, 1, 0, FAST, 1, 2, {5, 21}, 1, 0},
    {"qadd_bc_s8_shape1_b_zp_hi", QADD, S8, 2, {5, 19}, -9, 1, 0, FAST, 1, 1, {1}, 2, 0},
    {"qadd_bc_u8_row_b", QADD, U8, 3, {2, 7, 13}, -9, 1, 0, FAST, 1, 1, {13}, 0, 0},
    {"qadd_bc_s8_row_a", QADD, S8, 1, {13}, -9, 1, 0, FAST, 1, 3, {2, 7, 13}, 0, 0},
    {"qadd_bc_u8_row2_b", QADD, U8, 4, {3, 5, 6, 11}, -9, 1, 0, FAST, 1, 2, {6, 11}, 0, 0},
    {"qadd_bc_u8_row_zp_lo", QADD, U8, 2, {4, 17}, -9, 1, 0, FAST, 1, 1, {17}, 1, 0},
    {"qadd_bc_s8_row_b_leading_ones", QADD, S8, 2, {4, 6}, -9, 1, 0, FAST, 1, 3, {1, 1, 6}, 2, 0},
    {"qadd_bc_s8_chan_a", QADD, S8, 3, {5, 1, 1}, -9, 1, 0, FAST, 1, 4, {2, 5, 3, 7}, 0, 0},
    {"qadd_bc_u8_chan_b", QADD, U8, 4, {1, 5, 9, 9}, -9, 1, 0, FAST, 1, 3, {5, 1, 1}, 0, 0},
    {"qadd_bc_u8_chan_4d_a", QADD, U8, 4, {1, 6, 1, 1}, -9, 1, 0, FAST, 1, 4, {2, 6, 5, 3}, 2, 0},
    {"qadd_bc_s8_chan_b_zp_lo", QADD, S8, 4, {2, 3, 4, 5}, -9, 1, 0, FAST, 1, 3, {3, 1, 1}, 1, 0},
    {"qadd_bc_u8_row_big_threads", QADD, U8, 3, {2, 100, 333}, -9, 1, 0, FAST, 1, 1, {333}, 0, 0},
    {"qadd_bc_s8_chan_big_threads", QADD, S8, 3, {40, 1, 1}, -9, 1, 0, FAST, 1, 4, {1, 40, 37, 41}, 0, 0},
    {"qadd_bc_u8_chan_a_all_pairs", QADD, U8, 3, {256, 1, 1}, -9, 1, 0, FAST, 1, 4, {1, 256, 1, 256}, 0, 1},
    {"qadd_bc_s8_chan_a_all_pairs", QADD, S8, 3, {256, 1, 1}, -9, 1, 0, FAST, 1, 3, {256, 2, 256}, 0, 1},
    {"qadd_bc_cross_reference", QADD, U8, 3, {2, 1, 9}, -9, 1, 0, REFERENCE, 1, 3, {2, 4, 1}, 0, 0},
    {"qadd_bc_middle_reference", QADD, S8, 3, {3, 5, 7}, -9, 1, 0, REFERENCE, 1, 3, {3, 1, 7}, 0, 0},
    {"qadd_bc_one_value_reference", QADD, U8, 1, {1}, -9, 1, 0, REFERENCE, 1, 0, {0}, 0, 0},
};

/* ---- data ---------------------------------------------------------------- */

static uint32_t rng_state = 987654321u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static size_t numel(const tcase *c)
{
    size_t n = 1;
    for (int i = 0; i < c->rank; i++)
        n *= (size_t)c->dims[i];
    return n;
}

/* Float data for Q: multiples of scale / 2 (halfway cases), values past
 * both clamp bounds, signed zeros, NaN and infinities. */
static void fill_float(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) {
        switch (rnd() % 16) {
        case 0: x[i] = NAN; break;
        case 1: x[i] = (rnd() & 1) ? INFINITY : -INFINITY; break;
        case 2: x[i] = (rnd() & 1) ? 1e30f : -1e30f; break;
        case 3: x[i] = (rnd() & 1) ? 0.0f : -0.0f; break;
        case 4: case 5: case 6: case 7:
            x[i] = ((float)((int)(rnd() % 801) - 400) + 0.5f) * scale; break;
        default:
            x[i] = (float)((int)(rnd() % 200001) - 100000) / 211.0f; break;
        }
    }
}

static void fill_int(void *x, int t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd();
        if (t == U8)
            ((uint8_t *)x)[i] = (uint8_t)r;
        else if (t == S8)
            ((int8_t *)x)[i] = (int8_t)(uint8_t)r;
        else
            ((int32_t *)x)[i] = (i % 3 == 0) ? (int32_t)(r << 8) /* any int32 */
                                             : (int32_t)(r % 2000001) - 1000000;
    }
}

/* ---- model --------------------------------------------------------------- */

typedef struct built {
    onnxq_model *m;
    onnxq_tensor in[2];
    size_t n_in;
    void *buf[2];
} built;

static size_t esize(int t) { return t == I32 || t == F32 ? 4 : 1; }

static built build(const tcase *c)
{
    built b;
    memset(&b, 0, sizeof b);
    Onnx__ModelProto *p = onnxq_build_model(21);
    onnxq_build_opset(p, "com.microsoft", 1);
    Onnx__GraphProto *g = p->graph;
    size_t n = numel(c);
    int axis = c->axis < 0 && c->axis != -9 ? c->axis + c->rank : c->axis;
    int64_t D = c->axis == -9 ? 1 : c->dims[axis];
    /* parameters: per axis, or per block of 2 along the axis (blocked) */
    int64_t pd[4];
    memcpy(pd, c->dims, sizeof pd);
    size_t np = (size_t)D;
    if (c->block) {
        pd[axis] = (c->dims[axis] + c->block - 1) / c->block;
        np = 1;
        for (int i = 0; i < c->rank; i++)
            np *= (size_t)pd[i];
    }
    float *sc = malloc(np * sizeof *sc);
    uint8_t *zp = malloc(np);
    for (size_t i = 0; i < np; i++) {
        sc[i] = 0.01f + (float)(rnd() % 1000) / 3000.0f;
        zp[i] = c->qt == S8 ? (uint8_t)(int8_t)((int)(rnd() % 41) - 20)
                            : (uint8_t)(100 + rnd() % 56);
    }
    if (c->op == QADD) {
        for (int k = 0; k < 2; k++) {
            const char *nm = k ? "b" : "a";
            int rk = k && c->bc ? c->brank : c->rank;
            const int64_t *dk = k && c->bc ? c->bdims : c->dims;
            size_t nk = 1;
            for (int i = 0; i < rk; i++)
                nk *= (size_t)dk[i];
            b.buf[k] = malloc(nk);
            fill_int(b.buf[k], c->qt, nk);
            if (!c->bc && n == 65536) /* every pair of bytes once */
                for (size_t i = 0; i < n; i++)
                    ((uint8_t *)b.buf[k])[i] = (uint8_t)(k ? i : i >> 8);
            if (c->pairs) /* A's channel c meets B values 0..255 */
                for (size_t i = 0; i < nk; i++)
                    ((uint8_t *)b.buf[k])[i] = (uint8_t)i;
            onnxq_build_input(g, nm, c->qt, rk, dk, NULL);
            b.in[b.n_in].dtype = c->qt;
            b.in[b.n_in].rank = rk;
            memcpy(b.in[b.n_in].dims, dk, sizeof c->dims);
            b.in[b.n_in++].data = b.buf[k];
        }
        /* ratios sA / sC, sB / sC that are not exact in float, so a
         * product rounded before the add (no FMA) shows */
        float s[3] = {0.0371f, 0.0293f, 0.017f};
        const char *sn[3] = {"sa", "sb", "sc"}, *zn[3] = {"za", "zb", "zc"};
        for (int k = 0; k < 3; k++) {
            uint8_t z = c->qt == S8 ? (uint8_t)(int8_t)(k * 5 - 3) : (uint8_t)(120 + k * 4);
            if (c->zpx) /* low, high, low (zpx 1) or the reverse */
                z = (uint8_t)((k == 1) == (c->zpx == 1) ? (c->qt == S8 ? 127 : 255)
                                                       : (c->qt == S8 ? 0x80 : 0));
            onnxq_build_initializer(g, sn[k], F32, 0, NULL, &s[k]);
            onnxq_build_initializer(g, zn[k], c->qt, 0, NULL, &z);
        }
        const char *in[] = {"a", "sa", "za", "b", "sb", "zb", "sc", "zc"};
        const char *out[] = {"y"};
        Onnx__NodeProto *nd = onnxq_build_node(g, "QLinearAdd", c->name, in, 8, out, 1);
        onnxq_build_node_domain(nd, "com.microsoft");
        onnxq_build_output(g, "y", c->qt, -1, NULL, NULL);
    } else {
        int xt = c->op == Q ? F32 : c->qt;
        b.buf[0] = malloc(n * esize(xt) + 1);
        if (c->op == Q)
            fill_float(b.buf[0], n, sc[0]);
        else
            fill_int(b.buf[0], xt, n);
        if (c->op == DQ_CONST) {
            onnxq_build_initializer(g, "x", xt, (size_t)c->rank, c->dims, b.buf[0]);
        } else {
            onnxq_build_input(g, "x", xt, c->rank, c->dims, NULL);
            b.in[0].dtype = xt;
            b.in[0].rank = c->rank;
            memcpy(b.in[0].dims, c->dims, sizeof c->dims);
            b.in[0].data = b.buf[0];
            b.n_in = 1;
        }
        int pr = c->block ? c->rank : c->axis == -9 ? 0 : 1;
        int64_t *pdims = c->block ? pd : &D;
        onnxq_build_initializer(g, "s", F32, (size_t)pr, pdims, sc);
        if (c->zp)
            onnxq_build_initializer(g, "z", c->qt, (size_t)pr, pdims, zp);
        const char *in[] = {"x", "s", "z"};
        const char *out[] = {"y"};
        Onnx__NodeProto *nd = onnxq_build_node(g, c->op == Q ? "QuantizeLinear"
                                                             : "DequantizeLinear",
                                               c->name, in, c->zp ? 3 : 2, out, 1);
        if (c->axis != -9)
            onnxq_build_attr_int(nd, "axis", c->axis);
        if (c->block)
            onnxq_build_attr_int(nd, "block_size", c->block);
        if (c->op == Q && !c->zp && c->qt == S8)
            onnxq_build_attr_int(nd, "output_dtype", S8);
        /* a consumer, so the constant DequantizeLinear is not the graph's
         * only node and its output goes through the arena */
        const char *rin[] = {"y"}, *rout[] = {"z_out"};
        if (c->op == DQ_CONST) {
            onnxq_build_node(g, "Relu", "after", rin, 1, rout, 1);
            onnxq_build_output(g, "z_out", F32, -1, NULL, NULL);
        } else {
            onnxq_build_output(g, "y", c->op == Q ? c->qt : F32, -1, NULL, NULL);
        }
    }
    free(sc);
    free(zp);
    CHECK(onnxq_model_wrap(p, NULL, &b.m, NULL) == ONNXQ_OK);
    return b;
}

static onnxq_session *session(onnxq_model *m, int reference_only, int threads)
{
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.reference_only = reference_only;
    o.n_threads = threads;
    onnxq_session *s = NULL;
    onnxq_error err;
    if (onnxq_session_create(m, &o, &s, &err) != ONNXQ_OK) {
        fprintf(stderr, "session: %s\n", err.message);
        test_failures++;
    }
    return s;
}

static onnxq_tensor *run(onnxq_session *s, built *b, const char *name)
{
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (!s || onnxq_session_run(s, b->in, b->n_in, &out, &n_out, &err) != ONNXQ_OK) {
        fprintf(stderr, "%s: %s\n", name, s ? err.message : "no session");
        test_failures++;
        return NULL;
    }
    return out;
}

static void run_case(const tcase *c, int threads)
{
    built b = build(c);
    if (!b.m)
        return;
    onnxq_session *fast = session(b.m, 0, threads), *ref = session(b.m, 1, threads);
    for (int rep = 0; rep < 2; rep++) {
        oq_int8_stats s0 = oq_int8_stats_get();
        onnxq_tensor *yf = run(fast, &b, c->name);
        oq_int8_stats s1 = oq_int8_stats_get();
        onnxq_tensor *yr = run(ref, &b, c->name);
        size_t qd = s1.qdq_runs - s0.qdq_runs, fold = s1.qdq_folded_runs - s0.qdq_folded_runs;
        size_t fr = s1.fast_runs - s0.fast_runs;
        int ok = c->op == QADD ? fr == (c->path == FAST)
                               : qd == (c->path != REFERENCE) &&
                                     fold == (c->op == DQ_CONST && c->path == FAST);
        if (!ok) {
            fprintf(stderr, "%s: %zu Q/DQ fast runs (%zu folded), %zu int8 runs; "
                    "expected the %s\n", c->name, qd, fold, fr,
                    c->path == FAST ? "fast kernel" : "reference kernel");
            test_failures++;
        }
        if (yf && yr) {
            size_t bytes = onnxq_tensor_nbytes(yr);
            if (yf->dtype != yr->dtype || yf->rank != yr->rank ||
                memcmp(yf->dims, yr->dims, sizeof yr->dims[0] * (size_t)yr->rank) ||
                memcmp(yf->data, yr->data, bytes)) {
                size_t first = 0;
                while (first < bytes && ((char *)yf->data)[first] == ((char *)yr->data)[first])
                    first++;
                fprintf(stderr, "%s (%d threads): fast and reference differ "
                        "(first byte %zu of %zu)\n", c->name, threads, first, bytes);
                test_failures++;
            }
        }
        onnxq_tensors_free(yf, 1);
        onnxq_tensors_free(yr, 1);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(b.m);
    free(b.buf[0]);
    free(b.buf[1]);
}

/* The all-pairs QLinearAdd cases are only worth something if rounding the
 * product a * rA before the add (no FMA, as a careless vector kernel
 * would) changes some result; count the pairs where it does. */
static void qadd_cases_discriminate(void)
{
    float sa = 0.0371f, sb = 0.0293f, sc = 0.017f;
    float ra = sa / sc, rb = sb / sc;
    float fixed = 128.0f - fmaf(ra, 120.0f, rb * 124.0f); /* u8 zero points */
    size_t differ = 0;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            float inner = fmaf((float)b, rb, fixed);
            float prod = (float)a * ra;
            if (nearbyintf(fmaf((float)a, ra, inner)) != nearbyintf(prod + inner))
                differ++;
        }
    if (differ == 0) {
        fprintf(stderr, "qadd scales: no byte pair tells FMA from multiply-add\n");
        test_failures++;
    }
    /* the broadcast all-pairs cases make A the one-value-per-row input,
     * which ORT hands to MLAS as its scalar B (the roles swap): some pair
     * must round differently if the roles were not swapped */
    float fixed_sw = 128.0f - fmaf(rb, 124.0f, ra * 120.0f);
    differ = 0;
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++)
            if (nearbyintf(fmaf((float)a, ra, fmaf((float)b, rb, fixed))) !=
                nearbyintf(fmaf((float)b, rb, fmaf((float)a, ra, fixed_sw))))
                differ++;
    if (differ == 0) {
        fprintf(stderr, "qadd scales: no byte pair tells A-as-scalar from A-as-vector\n");
        test_failures++;
    }
}

/* Values worked out by hand: QuantizeLinear to uint8 with scale 0.5 and
 * zero point 10 of x = 1.25 (2.5: halfway, to even 2), 1.75 (3.5 -> 4),
 * -0.25 (-0.5 -> -0), NaN (the low bound: 0), 1000 (255), -1000 (0), and
 * DequantizeLinear back of 0, 10, 255. */
static void hand_values(void)
{
    Onnx__ModelProto *p = onnxq_build_model(21);
    Onnx__GraphProto *g = p->graph;
    int64_t d = 11;
    float s = 0.5f;
    uint8_t z = 10;
    onnxq_build_input(g, "x", F32, 1, &d, NULL);
    onnxq_build_initializer(g, "s", F32, 0, NULL, &s);
    onnxq_build_initializer(g, "z", U8, 0, NULL, &z);
    const char *qin[] = {"x", "s", "z"}, *qout[] = {"q"};
    const char *din[] = {"q", "s", "z"}, *dout[] = {"y"};
    onnxq_build_node(g, "QuantizeLinear", "q", qin, 3, qout, 1);
    onnxq_build_node(g, "DequantizeLinear", "dq", din, 3, dout, 1);
    onnxq_build_output(g, "q", U8, -1, NULL, NULL);
    onnxq_build_output(g, "y", F32, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    /* eleven values: 8 and more go through the vector loop */
    float x[11] = {1.25f, 1.75f, -0.25f, NAN, 1000.0f, -1000.0f, 0.0f, -5.0f,
                   1.25f, 1.75f, NAN};
    uint8_t want[11] = {12, 14, 10, 0, 255, 0, 10, 0, 12, 14, 0};
    onnxq_tensor in = {0};
    in.dtype = F32;
    in.rank = 1;
    in.dims[0] = 11;
    in.data = x;
    onnxq_session *s1 = session(m, 0, 1);
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (s1 && onnxq_session_run(s1, &in, 1, &out, &n_out, &err) == ONNXQ_OK) {
        const uint8_t *q = out[0].data;
        const float *y = out[1].data;
        for (int i = 0; i < 11; i++) {
            CHECK_EQ_INT(q[i], want[i]);
            CHECK(y[i] == ((float)want[i] - 10.0f) * 0.5f);
        }
        onnxq_tensors_free(out, n_out);
    } else {
        fprintf(stderr, "hand values: %s\n", s1 ? err.message : "no session");
        test_failures++;
    }
    onnxq_session_destroy(s1);
    onnxq_model_destroy(m);
}

int main(void)
{
    size_t n = sizeof cases / sizeof *cases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < n; i++) {
            int before = test_failures;
            run_case(&cases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ case %s, %d thread(s)\n", cases[i].name,
                        threads);
        }
    hand_values();
    qadd_cases_discriminate();
    printf("%zu Q/DQ/QLinearAdd cases x 2 thread counts + hand values, %d "
           "failures\n", n, test_failures);
    return test_failures > 100 ? 100 : test_failures;
}
