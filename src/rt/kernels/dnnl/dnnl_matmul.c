/*
 * dnnl_matmul.c — float32 MatMul and Gemm (ai.onnx) through oneDNN's matmul
 * primitive.
 *
 * MatMul follows numpy.matmul as the reference does (kernels/ref/matmul.c):
 * a 1-D A is a row [1, K], a 1-D B a column [K, 1], the dims before the last
 * two broadcast.  oneDNN wants operands of one rank, so both are padded with
 * leading 1s; its matmul broadcasts batch dims of size 1 itself.
 *
 * Gemm: Y = alpha * op(A) @ op(B) + beta * C.  A transposed operand is the
 * same buffer described with swapped strides.  With alpha = beta = 1 and C
 * a row [N] or [1, N] (what exporters write for a Linear layer) C is the
 * primitive's bias (oneDNN's fast gemm takes no other bias shape, and would
 * fall to its reference implementation).  Otherwise alpha is the output scale
 * and C, copied into Y first (broadcast by hand), is added by a sum post-op
 * scaled by beta: oneDNN applies output scales before post-ops, so Y =
 * alpha * AB + beta * C.  With beta = 0, C is not read (as ONNX Runtime).
 *
 * oneDNN's f32 matmul on this CPU class (AVX2) takes plain layouts only, so
 * weights need no packing: operands are bound in place.  A plan (the
 * primitive) is made per input shape.
 *
 * Handed to the reference kernel at run time: types other than float32,
 * shapes the spec forbids (the reference reports them), empty tensors, and
 * problems oneDNN refuses or would only run in its reference implementation.
 */
#include <stdlib.h>
#include <string.h>

#include "dnnl_common.h"
#include "dnnl_kernels.h"

enum { T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT };

/* What a plan is made for. */
typedef struct mm_key {
    int rank_a, rank_b, rank_c, has_c, threads;
    int64_t a[OQ_MAX_RANK], b[OQ_MAX_RANK], c[OQ_MAX_RANK];
} mm_key;

typedef struct mm_plan {
    mm_key key;
    int made, refused;
    int rank_y;
    int64_t y[OQ_MAX_RANK];       /* output dims (ONNX shape) */
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, bias, dst;
    int prefill;                  /* Gemm: C is copied into Y first */
    int64_t m, n, c_rs, c_cs;     /* Y is [m, n]; C's strides over it */
} mm_plan;

typedef struct mm_state {
    oq_dnnl d;
    int gemm;
    int trans_a, trans_b;         /* Gemm only */
    float alpha, beta;
    mm_plan plan;
} mm_state;

/* ---- shapes -------------------------------------------------------------- */

/* One product in oneDNN's terms: src [.., M, K], weights [.., K, N], dst
 * [.., M, N], all of rank nd. */
typedef struct mm_geom {
    int nd;
    dnnl_dims_t src, wei, dst;
    dnnl_dims_t src_strides, wei_strides;
    int rank_y;
    int64_t y[OQ_MAX_RANK];
} mm_geom;

static void row_major(int nd, const dnnl_dims_t dims, dnnl_dims_t strides)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* MatMul's numpy shapes; 0, or -1 for the reference kernel. */
static int matmul_geometry(const oq_tensor *a, const oq_tensor *b, mm_geom *g)
{
    if (a->rank < 1 || b->rank < 1)
        return -1;
    int64_t ad[OQ_MAX_RANK + 1], bd[OQ_MAX_RANK + 1];
    int ra = a->rank, rb = b->rank;
    /* a 1-D A is [1, K], a 1-D B is [K, 1] */
    if (ra == 1) {
        ad[0] = 1;
        ad[1] = a->dims[0];
        ra = 2;
    } else {
        memcpy(ad, a->dims, (size_t)ra * sizeof *ad);
    }
    if (rb == 1) {
        bd[0] = b->dims[0];
        bd[1] = 1;
        rb = 2;
    } else {
        memcpy(bd, b->dims, (size_t)rb * sizeof *bd);
    }
    int nd = ra > rb ? ra : rb;
    g->nd = nd;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - ra), ib = i - (nd - rb);
        g->src[i] = ia >= 0 ? ad[ia] : 1;
        g->wei[i] = ib >= 0 ? bd[ib] : 1;
    }
    if (g->src[nd - 1] != g->wei[nd - 2])
        return -1;
    g->rank_y = 0;
    for (int i = 0; i < nd - 2; i++) {
        int64_t x = g->src[i], y = g->wei[i];
        if (x != y && x != 1 && y != 1)
            return -1;
        g->dst[i] = x == 1 ? y : x;
        g->y[g->rank_y++] = g->dst[i];
    }
    g->dst[nd - 2] = g->src[nd - 2];
    g->dst[nd - 1] = g->wei[nd - 1];
    if (a->rank > 1)
        g->y[g->rank_y++] = g->dst[nd - 2];
    if (b->rank > 1)
        g->y[g->rank_y++] = g->dst[nd - 1];
    row_major(nd, g->src, g->src_strides);
    row_major(nd, g->wei, g->wei_strides);
    return 0;
}

/* Gemm's shapes with transposes as strides; 0, or -1 for the reference. */
static int gemm_geometry(const mm_state *st, const oq_tensor *a,
                         const oq_tensor *b, mm_geom *g)
{
    if (a->rank != 2 || b->rank != 2)
        return -1;
    int64_t m = st->trans_a ? a->dims[1] : a->dims[0];
    int64_t k = st->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = st->trans_b ? b->dims[1] : b->dims[0];
    int64_t n = st->trans_b ? b->dims[0] : b->dims[1];
    if (k != kb)
        return -1;
    g->nd = 2;
    g->src[0] = m;
    g->src[1] = k;
    g->wei[0] = k;
    g->wei[1] = n;
    g->dst[0] = m;
    g->dst[1] = n;
    /* element (i, j) of op(X) sits at i * strides[0] + j * strides[1] */
    g->src_strides[0] = st->trans_a ? 1 : k;
    g->src_strides[1] = st->trans_a ? m : 1;
    g->wei_strides[0] = st->trans_b ? 1 : n;
    g->wei_strides[1] = st->trans_b ? k : 1;
    g->rank_y = 2;
    g->y[0] = m;
    g->y[1] = n;
    return 0;
}

/* ---- plans --------------------------------------------------------------- */

static void plan_clear(mm_plan *p)
{
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    dnnl_memory_t mems[] = {p->src, p->wei, p->bias, p->dst};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    memset(p, 0, sizeof *p);
}

static int key_equal(const mm_key *a, const mm_key *b)
{
    size_t dims = OQ_MAX_RANK * sizeof *a->a;
    return a->rank_a == b->rank_a && a->rank_b == b->rank_b &&
           a->rank_c == b->rank_c && a->has_c == b->has_c &&
           a->threads == b->threads && memcmp(a->a, b->a, dims) == 0 &&
           memcmp(a->b, b->b, dims) == 0 && memcmp(a->c, b->c, dims) == 0;
}

static mm_key make_key(const oq_kctx *ctx, int threads)
{
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1), *c = oq_in(ctx, 2);
    mm_key k;
    memset(&k, 0, sizeof k); /* unused dims are 0 for key_equal */
    k.rank_a = a->rank;
    k.rank_b = b->rank;
    k.threads = threads;
    memcpy(k.a, a->dims, (size_t)a->rank * sizeof *k.a);
    memcpy(k.b, b->dims, (size_t)b->rank * sizeof *k.b);
    if (c) {
        k.has_c = 1;
        k.rank_c = c->rank;
        memcpy(k.c, c->dims, (size_t)c->rank * sizeof *k.c);
    }
    return k;
}

static dnnl_status_t gemm_attr(const mm_state *st, int sum,
                               dnnl_primitive_attr_t *attr)
{
    *attr = NULL;
    if (st->alpha == 1 && !sum)
        return dnnl_success;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s == dnnl_success && st->alpha != 1)
        s = dnnl_primitive_attr_set_output_scales(*attr, 1, 0, &st->alpha);
    if (s == dnnl_success && sum) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success)
            s = dnnl_post_ops_append_sum(po, st->beta);
        if (s == dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(*attr, po);
        if (po)
            dnnl_post_ops_destroy(po);
    }
    if (s != dnnl_success && *attr) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
    }
    return s;
}

/* Makes the primitive for g (and Gemm's C, or NULL). */
static dnnl_status_t plan_make(mm_state *st, const mm_geom *g,
                               const oq_tensor *c, const mm_key *key)
{
    mm_plan *p = &st->plan;
    plan_clear(p);
    p->key = *key;
    p->rank_y = g->rank_y;
    memcpy(p->y, g->y, (size_t)g->rank_y * sizeof *p->y);
    p->m = g->dst[g->nd - 2];
    p->n = g->dst[g->nd - 1];

    dnnl_memory_desc_t src_md, wei_md, dst_md, bias_md;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int use_bias = 0;
    dnnl_status_t s = dnnl_memory_desc_init_by_strides(&src_md, g->nd, g->src,
                                                       dnnl_f32, g->src_strides);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_strides(&wei_md, g->nd, g->wei, dnnl_f32,
                                             g->wei_strides);
    if (s == dnnl_success)
        s = oq_dnnl_md_plain(&dst_md, g->nd, g->dst);
    if (s == dnnl_success && c && st->beta != 0) {
        /* C over [M, N]: [N] and [1, N] are a row, [M, 1] a column ... */
        int64_t cm = c->rank == 2 ? c->dims[0] : 1;
        int64_t cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        p->c_rs = cm == 1 ? 0 : cn;
        p->c_cs = cn == 1 ? 0 : 1;
        if (st->alpha == 1 && st->beta == 1 && cm == 1 && cn == p->n) {
            int64_t bd[2] = {cm, cn};
            use_bias = 1;
            s = oq_dnnl_md_plain(&bias_md, 2, bd);
        } else {
            p->prefill = 1;
        }
    }
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&md, &src_md, &wei_md,
                                  use_bias ? &bias_md : NULL, &dst_md);
    if (s == dnnl_success)
        s = gemm_attr(st, p->prefill, &attr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &md, attr, st->d.engine, NULL);
    if (s == dnnl_success) {
        const char *impl = NULL;
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
        if (impl && strncmp(impl, "ref", 3) == 0)
            s = dnnl_unimplemented; /* not faster than ours, and in float */
    }
    if (s == dnnl_success)
        s = dnnl_primitive_create(&p->prim, pd);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&p->src, &st->d, &src_md, 0);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&p->wei, &st->d, &wei_md, 0);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&p->dst, &st->d, &dst_md, 0);
    if (s == dnnl_success && use_bias)
        s = oq_dnnl_memory(&p->bias, &st->d, &bias_md, 0);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (s == dnnl_success) {
        p->made = 1;
        oq_dnnl_count_plan();
    } else {
        /* keep the key so the same shapes do not ask oneDNN again */
        plan_clear(p);
        p->key = *key;
        p->refused = s != dnnl_out_of_memory;
    }
    return s;
}

/* ---- the kernels --------------------------------------------------------- */

static onnxq_status mm_prepare(const oq_prepare_ctx *pc, void **state, int gemm)
{
    for (size_t i = 0; i < pc->n_in && i < 3; i++)
        if (pc->consts[i] && pc->consts[i]->dtype != T_FLOAT)
            return ONNXQ_ERR_UNSUPPORTED;
    mm_state *st = calloc(1, sizeof *st);
    if (!st)
        return onnxq_error_set(pc->err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    onnxq_status rc = oq_dnnl_init(&st->d, pc);
    if (rc != ONNXQ_OK) {
        free(st);
        return rc;
    }
    st->gemm = gemm;
    st->alpha = st->beta = 1;
    if (gemm) {
        oq_kctx k = {0};
        k.node = pc->node;
        st->trans_a = oq_attr_int(&k, "transA", 0) != 0;
        st->trans_b = oq_attr_int(&k, "transB", 0) != 0;
        st->alpha = oq_attr_float(&k, "alpha", 1.0f);
        st->beta = oq_attr_float(&k, "beta", 1.0f);
    }
    *state = st;
    return ONNXQ_OK;
}

static onnxq_status prepare_matmul(const oq_prepare_ctx *pc, void **state)
{
    return mm_prepare(pc, state, 0);
}

static onnxq_status prepare_gemm(const oq_prepare_ctx *pc, void **state)
{
    return mm_prepare(pc, state, 1);
}

static void release_mm(void *state)
{
    mm_state *st = state;
    if (!st)
        return;
    plan_clear(&st->plan);
    oq_dnnl_clear(&st->d);
    free(st);
}

/* C fits Gemm's unidirectional broadcast to [m, n]. */
static int c_fits(const oq_tensor *c, int64_t m, int64_t n)
{
    if (c->dtype != T_FLOAT || c->rank > 2)
        return 0;
    int64_t cm = c->rank == 2 ? c->dims[0] : 1;
    int64_t cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    return (cm == 1 || cm == m) && (cn == 1 || cn == n);
}

static onnxq_status run_mm(oq_kctx *ctx)
{
    mm_state *st = ctx->state;
    const oq_tensor *a = oq_in(ctx, 0), *b = oq_in(ctx, 1);
    const oq_tensor *c = st->gemm ? oq_in(ctx, 2) : NULL;
    mm_geom g;
    if (!a || !b || a->dtype != T_FLOAT || b->dtype != T_FLOAT ||
        !oq_dnnl_nonempty(a) || !oq_dnnl_nonempty(b) ||
        (st->gemm ? gemm_geometry(st, a, b, &g) : matmul_geometry(a, b, &g)) ||
        (c && !c_fits(c, g.dst[g.nd - 2], g.dst[g.nd - 1])))
        return oq_dnnl_fallback(&st->d, ctx);
    mm_key key = make_key(ctx, oq_dnnl_threads_effective(ctx->n_threads));
    int saved = oq_dnnl_threads_enter(ctx->n_threads);
    mm_plan *p = &st->plan;
    dnnl_status_t s = dnnl_success;
    if (!(p->made || p->refused) || !key_equal(&p->key, &key))
        s = plan_make(st, &g, c, &key);
    else if (p->refused)
        s = dnnl_unimplemented;
    if (s != dnnl_success) {
        oq_dnnl_threads_leave(saved);
        return oq_dnnl_failed(&st->d, ctx, s, "matmul");
    }
    oq_tensor *y = oq_output_raw(ctx, 0, T_FLOAT, p->rank_y, p->y);
    if (!y) {
        oq_dnnl_threads_leave(saved);
        return ctx->err ? ctx->err->status : ONNXQ_ERR_OUT_OF_MEMORY;
    }
    if (p->prefill) {
        float *yv = y->data;
        const float *cv = c->data;
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++)
                yv[i * p->n + j] = cv[i * p->c_rs + j * p->c_cs];
    }
    s = oq_dnnl_bind(p->src, a->data);
    if (s == dnnl_success)
        s = oq_dnnl_bind(p->wei, b->data);
    if (s == dnnl_success)
        s = oq_dnnl_bind(p->dst, y->data);
    if (s == dnnl_success && p->bias)
        s = oq_dnnl_bind(p->bias, c->data);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src},
                                   {DNNL_ARG_WEIGHTS, p->wei},
                                   {DNNL_ARG_DST, p->dst},
                                   {DNNL_ARG_BIAS, p->bias}};
        s = dnnl_primitive_execute(p->prim, st->d.stream, p->bias ? 4 : 3,
                                   args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(st->d.stream);
    oq_dnnl_threads_leave(saved);
    if (s != dnnl_success)
        return oq_kfail(ctx, s == dnnl_out_of_memory ? ONNXQ_ERR_OUT_OF_MEMORY
                                                     : ONNXQ_ERR_INTERNAL,
                        "oneDNN matmul failed (status %d)", (int)s);
    oq_dnnl_count_fast();
    return ONNXQ_OK;
}

const oq_fast_kernel oq_dnnl_matmul = {
    "", "MatMul", 1, 21, prepare_matmul, run_mm, release_mm,
};

const oq_fast_kernel oq_dnnl_gemm = {
    "", "Gemm", 1, 21, prepare_gemm, run_mm, release_mm,
};
