/*
 * test_infer.c — unit tests of type and shape inference on graphs built
 * with onnxq/builder.h: symbolic dims through broadcasting, Transpose,
 * Concat, conv/pool arithmetic, Shape -> Gather -> Concat -> Reshape
 * chains; If/Loop/Scan; unknown ops, conflicts and stale value_info; the
 * dim_param evaluator; that every op of the runtime's registry has a rule;
 * and the quantized and com.microsoft ops checked against the runtime.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_check.h"
#include "onnxq/builder.h"
#include "onnxq/graph.h"
#include "onnxq/ops.h"
#include "ref_kernels.h"
#include "kernels/int8/int8_kernels.h" /* oq_int8_misc_kernels */
#include "testing.h"

enum {
    F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    U8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
    I8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL,
};

/* ---- building helpers ---------------------------------------------------- */

/* A node from comma-separated input and output names ("" = omitted). */
static Onnx__NodeProto *N(Onnx__GraphProto *g, const char *op,
                          const char *ins, const char *outs)
{
    char ib[512], ob[512];
    const char *in[16], *out[16];
    size_t ni = 0, no = 0;
    snprintf(ib, sizeof ib, "%s", ins);
    snprintf(ob, sizeof ob, "%s", outs);
    for (char *p = ib, *q; ins[0] && ni < 16; p = q + 1) {
        q = strchr(p, ',');
        in[ni++] = p;
        if (!q)
            break;
        *q = '\0';
    }
    for (char *p = ob, *q; no < 16; p = q + 1) {
        q = strchr(p, ',');
        out[no++] = p;
        if (!q)
            break;
        *q = '\0';
    }
    return onnxq_build_node(g, op, NULL, in, ni, out, no);
}

static void ints_init(Onnx__GraphProto *g, const char *name, size_t n,
                      const int64_t *v, int scalar)
{
    int64_t d = (int64_t)n;
    onnxq_build_initializer(g, name, I64, scalar ? 0 : 1, &d, v);
}

/* "float32[batch,4]" for a value's type after inference ("-" if none). */
static char type_buf[512];
static const char *type_of(const Onnx__GraphProto *g, const char *name)
{
    const Onnx__ValueInfoProto *vi = NULL;
    for (size_t i = 0; i < g->n_value_info && !vi; i++)
        if (strcmp(g->value_info[i]->name, name) == 0)
            vi = g->value_info[i];
    for (size_t i = 0; i < g->n_output && !vi; i++)
        if (strcmp(g->output[i]->name, name) == 0)
            vi = g->output[i];
    if (!vi || !vi->type || !vi->type->tensor_type)
        return "-";
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    size_t len = (size_t)snprintf(type_buf, sizeof type_buf, "%s",
                                  onnxq_dtype_name(tt->elem_type));
    if (!tt->shape)
        return type_buf;
    len += (size_t)snprintf(type_buf + len, sizeof type_buf - len, "[");
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        const char *sep = d ? "," : "";
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            len += (size_t)snprintf(type_buf + len, sizeof type_buf - len,
                                    "%s%lld", sep, (long long)dim->dim_value);
        else if (dim->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            len += (size_t)snprintf(type_buf + len, sizeof type_buf - len,
                                    "%s%s", sep, dim->dim_param);
        else
            len += (size_t)snprintf(type_buf + len, sizeof type_buf - len,
                                    "%s?", sep);
    }
    snprintf(type_buf + len, sizeof type_buf - len, "]");
    return type_buf;
}

/* Wraps and infers; the model and report are the caller's. */
static onnxq_model *infer(Onnx__ModelProto *p, onnxq_infer_report *rep,
                          const onnxq_infer_options *opts)
{
    onnxq_model *m = NULL;
    onnxq_error err;
    CHECK(onnxq_model_wrap(p, NULL, &m, &err) == ONNXQ_OK);
    onnxq_infer_report_init(rep);
    onnxq_status st = onnxq_infer_model(m, opts, rep, &err);
    if (st != ONNXQ_OK)
        fprintf(stderr, "inference failed: %s\n", err.message);
    CHECK(st == ONNXQ_OK);
    return m;
}

static const Onnx__GraphProto *graph_of(onnxq_model *m)
{
    return onnxq_model_proto(m)->graph;
}

/* ---- symbolic propagation ------------------------------------------------ */

static void test_elementwise_transpose_concat(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {-1, -1, 80}, zd[] = {-1, 80, 2}, bd[] = {-1, 1},
            kd[] = {-1, 3}, od[] = {-1};
    const char *xp[] = {"batch", "frames", NULL}, *bp[] = {"other", NULL},
               *kp[] = {"batch", NULL};
    onnxq_build_input(g, "x", F32, 3, xd, xp);
    onnxq_build_input(g, "z", F32, 3, zd, xp);
    onnxq_build_input(g, "b", F32, 2, bd, bp);
    onnxq_build_input(g, "k", F32, 2, kd, kp);
    float w[80] = {0};
    int64_t wd[] = {80};
    onnxq_build_initializer(g, "w", F32, 1, wd, w);
    N(g, "Add", "x,w", "a");
    onnxq_build_attr_ints(N(g, "Transpose", "a", "t"), "perm",
                          (int64_t[]){0, 2, 1}, 3);
    onnxq_build_attr_int(N(g, "Concat", "t,z", "c"), "axis", 2);
    onnxq_build_attr_int(N(g, "Concat", "t,t", "c2"), "axis", -1);
    onnxq_build_attr_int(N(g, "Concat", "c,t", "c3"), "axis", 2);
    N(g, "Relu", "c", "r");
    N(g, "Mul", "b,k", "bk");       /* other x batch: unknown */
    N(g, "Equal", "x,x", "eq");     /* bool, same shape */
    onnxq_build_output(g, "r", 0, -1, NULL, NULL);
    onnxq_build_output(g, "od", F32, 1, od, NULL);
    N(g, "ReduceMean", "x", "od_src");
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_STR(type_of(G, "a"), "float32[batch,frames,80]");
    CHECK_STR(type_of(G, "t"), "float32[batch,80,frames]");
    CHECK_STR(type_of(G, "c"), "float32[batch,80,frames+2]");
    CHECK_STR(type_of(G, "c2"), "float32[batch,80,frames*2]");
    CHECK_STR(type_of(G, "c3"), "float32[batch,80,frames*2+2]");
    CHECK_STR(type_of(G, "r"), "float32[batch,80,frames+2]"); /* filled */
    CHECK_STR(type_of(G, "bk"), "float32[?,3]");
    CHECK_STR(type_of(G, "eq"), "bool[batch,frames,80]");
    CHECK_EQ_INT(rep.n_conflicts_total, 0);
    CHECK_EQ_INT(rep.n_unknown_ops, 0);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

static void test_conv_pool_arithmetic(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {-1, 1, 80, -1};
    const char *xp[] = {"N", NULL, NULL, "frames"};
    onnxq_build_input(g, "x", F32, 4, xd, xp);
    static float w[8 * 1 * 3 * 3], w2[8 * 8 * 3 * 3], wt[8 * 4 * 2 * 2];
    int64_t wd[] = {8, 1, 3, 3}, w2d[] = {8, 8, 3, 3}, wtd[] = {8, 4, 2, 2};
    onnxq_build_initializer(g, "w", F32, 4, wd, w);
    onnxq_build_initializer(g, "w2", F32, 4, w2d, w2);
    onnxq_build_initializer(g, "wt", F32, 4, wtd, wt);
    int64_t pads1[] = {1, 1, 1, 1}, s2[] = {2, 2}, k2[] = {2, 2},
            k3[] = {3, 3};
    Onnx__NodeProto *n = N(g, "Conv", "x,w", "c1");
    onnxq_build_attr_ints(n, "pads", pads1, 4);
    onnxq_build_attr_ints(n, "strides", s2, 2);
    n = N(g, "Conv", "c1,w2", "c2");
    onnxq_build_attr_ints(n, "pads", pads1, 4);
    onnxq_build_attr_ints(n, "strides", s2, 2);
    n = N(g, "MaxPool", "c2", "p");
    onnxq_build_attr_ints(n, "kernel_shape", k2, 2);
    onnxq_build_attr_ints(n, "strides", s2, 2);
    N(g, "Conv", "p,w2", "c3"); /* no pads: -2 */
    n = N(g, "ConvTranspose", "c3,wt", "ct");
    onnxq_build_attr_ints(n, "strides", s2, 2);
    n = N(g, "MaxPool", "c2", "pc");
    onnxq_build_attr_ints(n, "kernel_shape", k3, 2);
    onnxq_build_attr_ints(n, "strides", s2, 2);
    onnxq_build_attr_int(n, "ceil_mode", 1);
    n = N(g, "AveragePool", "c2", "ps");
    onnxq_build_attr_ints(n, "kernel_shape", k3, 2);
    onnxq_build_attr_ints(n, "strides", s2, 2);
    onnxq_build_attr_string(n, "auto_pad", "SAME_UPPER");
    N(g, "GlobalAveragePool", "c3", "gap");
    onnxq_build_attr_int(N(g, "Flatten", "c2", "fl"), "axis", 1);
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_STR(type_of(G, "c1"), "float32[N,8,40,ceil(frames/2)]");
    CHECK_STR(type_of(G, "c2"), "float32[N,8,20,ceil(frames/4)]");
    CHECK_STR(type_of(G, "p"), "float32[N,8,10,floor((frames+3)/8)]");
    CHECK_STR(type_of(G, "c3"), "float32[N,8,8,floor((frames+3)/8)-2]");
    CHECK_STR(type_of(G, "ct"), "float32[N,4,16,floor((frames+3)/8)*2-4]");
    CHECK_STR(type_of(G, "pc"), "float32[N,8,10,floor((frames+3)/8)]");
    CHECK_STR(type_of(G, "ps"), "float32[N,8,10,ceil(frames/8)]");
    CHECK_STR(type_of(G, "gap"), "float32[N,8,1,1]");
    CHECK_STR(type_of(G, "fl"), "float32[N,ceil(frames/4)*160]");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);

    /* the expressions hold for actual sizes */
    const char *names[] = {"frames"};
    for (int64_t f = 1; f < 70; f++) {
        int64_t got, c1 = (f + 2 - 3) / 2 + 1, c2 = (c1 + 2 - 3) / 2 + 1,
                pl = (c2 - 2) / 2 + 1;
        CHECK(onnxq_infer_dim_eval("floor((frames+3)/8)", names, &f, 1, &got) == 0);
        if (c2 >= 2)
            CHECK_EQ_INT(got, pl);
        CHECK(onnxq_infer_dim_eval("ceil(frames/4)", names, &f, 1, &got) == 0);
        CHECK_EQ_INT(got, c2);
    }
}

static void test_shape_arithmetic(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {-1, -1, 80}, yd[] = {1};
    const char *xp[] = {"batch", "frames", NULL};
    onnxq_build_input(g, "x", F32, 3, xd, xp);
    onnxq_build_input(g, "y", F32, 1, yd, NULL);
    int64_t zero = 0, one = 1, two = 2, eighty = 80, minus1 = -1;
    int64_t ax0[] = {0};
    ints_init(g, "i0", 1, &zero, 1);
    ints_init(g, "i1", 1, &one, 1);
    ints_init(g, "two", 1, &two, 1);
    ints_init(g, "k80", 1, &eighty, 0);
    ints_init(g, "m1", 1, &minus1, 0);
    ints_init(g, "ax0", 1, ax0, 0);
    N(g, "Shape", "x", "s");
    onnxq_build_attr_int(N(g, "Gather", "s,i0", "g0"), "axis", 0);
    onnxq_build_attr_int(N(g, "Gather", "s,i1", "g1"), "axis", 0);
    N(g, "Unsqueeze", "g0,ax0", "u0");
    N(g, "Unsqueeze", "g1,ax0", "u1");
    N(g, "Mul", "u1,k80", "m");
    onnxq_build_attr_int(N(g, "Concat", "u0,m", "shp"), "axis", 0);
    N(g, "Reshape", "x,shp", "r1");
    onnxq_build_attr_int(N(g, "Concat", "u0,m1", "shp2"), "axis", 0);
    N(g, "Reshape", "x,shp2", "r2");
    /* a Constant node as the shape: [0, -1] */
    Onnx__NodeProto *cn = N(g, "Constant", "", "cshape");
    onnxq_build_attr_ints(cn, "value_ints", (int64_t[]){0, -1}, 2);
    N(g, "Reshape", "x,cshape", "r3");
    N(g, "Div", "u1,two", "half");
    N(g, "ConstantOfShape", "half", "cos");
    N(g, "Range", "i0,g1,i1", "rng");
    ints_init(g, "k1", 1, &one, 0);
    N(g, "Reshape", "two,k1", "two1"); /* [2] as a 1-D tensor */
    onnxq_build_attr_int(N(g, "Concat", "u0,two1", "eshape1"), "axis", 0);
    N(g, "Expand", "y,eshape1", "ex");
    /* Slice frames from 1 to the end, and everything but the last 2 */
    int64_t st1 = 1, big = INT64_MAX, endm2 = -2, ax1 = 1;
    ints_init(g, "st1", 1, &st1, 0);
    ints_init(g, "big", 1, &big, 0);
    ints_init(g, "endm2", 1, &endm2, 0);
    ints_init(g, "ax1", 1, &ax1, 0);
    ints_init(g, "st0", 1, &zero, 0);
    N(g, "Slice", "x,st1,big,ax1", "sl1");
    N(g, "Slice", "x,st0,endm2,ax1", "sl2");
    N(g, "Size", "x", "sz");
    onnxq_build_attr_int(N(g, "Cast", "g1", "g1f"), "to", F32);
    N(g, "Tile", "x,shp3", "tl");
    ints_init(g, "rep", 3, (int64_t[]){2, 1, 3}, 0);
    N(g, "Identity", "rep", "shp3");
    N(g, "Pad", "x,pads", "pd");
    ints_init(g, "pads", 6, (int64_t[]){0, 2, 0, 0, 3, 1}, 0);
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_STR(type_of(G, "s"), "int64[3]");
    CHECK_STR(type_of(G, "shp"), "int64[2]");
    CHECK_STR(type_of(G, "r1"), "float32[batch,frames*80]");
    CHECK_STR(type_of(G, "r2"), "float32[batch,frames*80]");
    CHECK_STR(type_of(G, "r3"), "float32[batch,frames*80]");
    CHECK_STR(type_of(G, "cos"), "float32[floor(frames/2)]");
    CHECK_STR(type_of(G, "rng"), "int64[frames]");
    CHECK_STR(type_of(G, "ex"), "float32[batch,2]");
    CHECK_STR(type_of(G, "sl1"), "float32[batch,frames-1,80]");
    CHECK_STR(type_of(G, "sl2"), "float32[batch,frames-2,80]");
    CHECK_STR(type_of(G, "sz"), "int64[]");
    CHECK_STR(type_of(G, "g1f"), "float32[]");
    CHECK_STR(type_of(G, "tl"), "float32[batch*2,frames,240]");
    CHECK_STR(type_of(G, "pd"), "float32[batch,frames+5,81]");
    CHECK_EQ_INT(rep.n_conflicts_total, 0);
    for (size_t i = 0; i < rep.n_conflicts; i++)
        fprintf(stderr, "conflict: %s\n", rep.conflicts[i]);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

static void test_matmul_and_symbolic_off(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {-1, -1, 80}, vd[] = {80};
    const char *xp[] = {"batch", "frames", NULL};
    onnxq_build_input(g, "x", F32, 3, xd, xp);
    onnxq_build_input(g, "v", F32, 1, vd, NULL);
    static float w[80 * 16];
    int64_t wd[] = {80, 16};
    onnxq_build_initializer(g, "w", F32, 2, wd, w);
    N(g, "MatMul", "x,w", "y");
    N(g, "MatMul", "x,v", "yv");
    N(g, "MatMul", "v,w", "vw");
    Onnx__NodeProto *n = N(g, "Gemm", "v2,w", "gm");
    (void)n;
    int64_t v2d[] = {-1, 80};
    const char *v2p[] = {"n", NULL};
    onnxq_build_input(g, "v2", F32, 2, v2d, v2p);
    Onnx__NodeProto *e = N(g, "Einsum", "x,w", "es");
    onnxq_build_attr_string(e, "equation", "bfk,kn->bnf");
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_STR(type_of(G, "y"), "float32[batch,frames,16]");
    CHECK_STR(type_of(G, "yv"), "float32[batch,frames]");
    CHECK_STR(type_of(G, "vw"), "float32[16]");
    CHECK_STR(type_of(G, "gm"), "float32[n,16]");
    CHECK_STR(type_of(G, "es"), "float32[batch,16,frames]");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);

    /* without symbolic dims they are written unknown */
    p = onnxq_build_model(13);
    g = p->graph;
    onnxq_build_input(g, "x", F32, 3, xd, xp);
    onnxq_build_initializer(g, "w", F32, 2, wd, w);
    N(g, "MatMul", "x,w", "y");
    N(g, "Relu", "y", "z");
    onnxq_build_output(g, "z", F32, -1, NULL, NULL);
    onnxq_infer_options o;
    onnxq_infer_options_init(&o);
    o.symbolic = 0;
    m = infer(p, &rep, &o);
    CHECK_STR(type_of(graph_of(m), "y"), "float32[?,?,16]");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

/* ---- unknown ops, conflicts, stale entries ------------------------------- */

static void test_unknown_ops_and_conflicts(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {4}, bad[] = {3}, stale[] = {7};
    onnxq_build_input(g, "x", F32, 1, xd, NULL);
    onnxq_build_node_domain(N(g, "Foo", "x", "f1"), "custom.ops");
    onnxq_build_node_domain(N(g, "Foo", "f1", "f2"), "custom.ops");
    N(g, "Relu", "f2", "after");
    N(g, "Relu", "x", "a");
    N(g, "Neg", "a", "b");
    onnxq_build_value_info(g, "a", I32, 1, stale, NULL);    /* stale */
    onnxq_build_value_info(g, "after", F32, 1, xd, NULL);   /* stale too */
    onnxq_build_value_info(g, "f1", F32, 1, xd, NULL);
    onnxq_build_output(g, "b", F32, 1, bad, NULL);          /* wrong */
    onnxq_build_opset(p, "custom.ops", 1);
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_EQ_INT(rep.n_unknown_ops, 1);
    if (rep.n_unknown_ops == 1) {
        CHECK_STR(rep.unknown_ops[0].op_type, "Foo");
        CHECK_STR(rep.unknown_ops[0].domain, "custom.ops");
        CHECK_EQ_INT(rep.unknown_ops[0].n_nodes, 2);
        CHECK_CONTAINS(rep.unknown_ops[0].first_node, "main");
    }
    CHECK_STR(type_of(G, "a"), "float32[4]");     /* replaced */
    CHECK_STR(type_of(G, "after"), "-");          /* unknown: removed */
    CHECK_STR(type_of(G, "f1"), "-");
    CHECK_STR(type_of(G, "b"), "float32[3]");     /* declared, untouched */
    CHECK_EQ_INT(rep.n_conflicts_total, 1);
    if (rep.n_conflicts)
        CHECK_CONTAINS(rep.conflicts[0], "'b' dim 0 is declared 3 but inferred 4");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);

    /* trusting value_info: an unknown op's declared output propagates */
    p = onnxq_build_model(13);
    g = p->graph;
    onnxq_build_input(g, "x", F32, 1, xd, NULL);
    onnxq_build_node_domain(N(g, "Foo", "x", "f1"), "custom.ops");
    N(g, "Relu", "f1", "after");
    onnxq_build_value_info(g, "f1", F32, 1, stale, NULL);
    onnxq_build_opset(p, "custom.ops", 1);
    onnxq_infer_options o;
    onnxq_infer_options_init(&o);
    o.trust_value_info = 1;
    m = infer(p, &rep, &o);
    CHECK_STR(type_of(graph_of(m), "f1"), "float32[7]");
    CHECK_STR(type_of(graph_of(m), "after"), "float32[7]");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);

    /* an impossible broadcast is a conflict, and the dim stays unknown */
    p = onnxq_build_model(13);
    g = p->graph;
    onnxq_build_input(g, "x", F32, 1, xd, NULL);
    onnxq_build_input(g, "y", F32, 1, bad, NULL);
    N(g, "Add", "x,y", "s");
    N(g, "Relu", "s", "t");
    m = infer(p, &rep, NULL);
    CHECK_STR(type_of(graph_of(m), "s"), "float32[?]");
    CHECK_EQ_INT(rep.n_conflicts_total, 1);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

/* ---- control flow -------------------------------------------------------- */

static Onnx__GraphProto *branch(const char *name, int64_t cols)
{
    Onnx__GraphProto *b = onnxq_build_graph(name);
    static float data[2 * 8];
    int64_t d[] = {2, cols};
    char out[64];
    snprintf(out, sizeof out, "%s_out", name);
    Onnx__NodeProto *c = N(b, "Constant", "", out);
    onnxq_build_attr_tensor(c, "value", onnxq_build_tensor(out, F32, 2, d, data));
    onnxq_build_output(b, out, 0, -1, NULL, NULL);
    return b;
}

static void test_if(void)
{
    for (int k = 0; k < 2; k++) {
        Onnx__ModelProto *p = onnxq_build_model(13);
        Onnx__GraphProto *g = p->graph;
        if (k == 0) {
            int64_t cd[] = {1};
            onnxq_build_input(g, "cond", BOOL, 1, cd, NULL);
        } else {
            uint8_t t = 1;
            onnxq_build_initializer(g, "cond", BOOL, 0, NULL, &t);
        }
        Onnx__NodeProto *n = N(g, "If", "cond", "y");
        onnxq_build_attr_graph(n, "then_branch", branch("then", 3));
        onnxq_build_attr_graph(n, "else_branch", branch("else", 4));
        N(g, "Relu", "y", "z");
        onnxq_infer_report rep;
        onnxq_model *m = infer(p, &rep, NULL);
        CHECK_STR(type_of(graph_of(m), "z"), k ? "float32[2,3]" : "float32[2,?]");
        CHECK_EQ_INT(rep.graphs, 3);
        onnxq_infer_report_clear(&rep);
        onnxq_model_destroy(m);
    }
}

static void test_loop_and_scan(void)
{
    /* Loop: M = 5, x doubles in length each iteration (carried shape
     * varies), a scan output of fixed shape [1, 3] per iteration, and an
     * outer value used inside the body */
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {2}, od[] = {1, 3}, five = 5;
    onnxq_build_input(g, "x", F32, 1, xd, NULL);
    onnxq_build_input(g, "outer", F32, 2, od, NULL);
    ints_init(g, "M", 1, &five, 1);
    Onnx__GraphProto *b = onnxq_build_graph("body");
    int64_t sd[] = {0};
    onnxq_build_input(b, "i", I64, 0, sd, NULL);
    onnxq_build_input(b, "c_in", BOOL, 0, sd, NULL);
    onnxq_build_input(b, "x_in", 0, -1, NULL, NULL); /* no declared type */
    onnxq_build_attr_int(N(b, "Concat", "x_in,x_in", "x_out"), "axis", 0);
    N(b, "Relu", "outer", "scan_el");
    N(b, "Identity", "c_in", "c_out");
    onnxq_build_output(b, "c_out", BOOL, 0, sd, NULL);
    onnxq_build_output(b, "x_out", 0, -1, NULL, NULL);
    onnxq_build_output(b, "scan_el", 0, -1, NULL, NULL);
    Onnx__NodeProto *n = N(g, "Loop", "M,,x", "xf,ys");
    onnxq_build_attr_graph(n, "body", b);
    onnxq_infer_report rep;
    onnxq_model *m = infer(p, &rep, NULL);
    const Onnx__GraphProto *G = graph_of(m);
    CHECK_STR(type_of(G, "xf"), "float32[?]");
    CHECK_STR(type_of(G, "ys"), "float32[5,1,3]");
    const Onnx__GraphProto *B = G->node[0]->attribute[0]->g;
    CHECK_STR(type_of(B, "x_out"), "float32[?]"); /* filled, valid for all */
    CHECK_STR(type_of(B, "scan_el"), "float32[1,3]");
    CHECK_EQ_INT(rep.n_conflicts_total, 0);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);

    /* Scan: state [3], scan input [T, 3] -> final state [3], outputs [T, 3]
     * and, with scan_output_axes 1, [3, T] */
    p = onnxq_build_model(13);
    g = p->graph;
    int64_t s0d[] = {3}, xsd[] = {-1, 3};
    const char *xsp[] = {"T", NULL};
    onnxq_build_input(g, "s0", F32, 1, s0d, NULL);
    onnxq_build_input(g, "xs", F32, 2, xsd, xsp);
    b = onnxq_build_graph("scan_body");
    onnxq_build_input(b, "s_in", 0, -1, NULL, NULL);
    onnxq_build_input(b, "x_t", 0, -1, NULL, NULL);
    N(b, "Add", "s_in,x_t", "s_out");
    N(b, "Identity", "s_out", "y_t");
    N(b, "Identity", "s_out", "y2_t");
    onnxq_build_output(b, "s_out", 0, -1, NULL, NULL);
    onnxq_build_output(b, "y_t", 0, -1, NULL, NULL);
    onnxq_build_output(b, "y2_t", 0, -1, NULL, NULL);
    n = N(g, "Scan", "s0,xs", "sf,ys,ys2");
    onnxq_build_attr_graph(n, "body", b);
    onnxq_build_attr_int(n, "num_scan_inputs", 1);
    onnxq_build_attr_ints(n, "scan_output_axes", (int64_t[]){0, 1}, 2);
    m = infer(p, &rep, NULL);
    G = graph_of(m);
    CHECK_STR(type_of(G, "sf"), "float32[3]");
    CHECK_STR(type_of(G, "ys"), "float32[T,3]");
    CHECK_STR(type_of(G, "ys2"), "float32[3,T]");
    /* the body's undeclared inputs were given their types */
    B = NULL;
    for (size_t a = 0; a < G->node[0]->n_attribute; a++)
        if (G->node[0]->attribute[a]->g)
            B = G->node[0]->attribute[a]->g;
    const Onnx__TypeProto *xt = B ? B->input[1]->type : NULL;
    CHECK(xt && xt->tensor_type && xt->tensor_type->elem_type == F32 &&
          xt->tensor_type->shape && xt->tensor_type->shape->n_dim == 1);
    CHECK_STR(type_of(B, "y_t"), "float32[3]");
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

/* ---- the evaluator ------------------------------------------------------- */

static void test_dim_eval(void)
{
    const char *names[] = {"frames", "p2o.D.1", "a+b", "seq-len"};
    int64_t vals[] = {301, 17, 9, 12};
    struct { const char *expr; int64_t want; } ok[] = {
        {"frames", 301},
        {"frames+2", 303},
        {"frames-1", 300},
        {"frames*80", 24080},
        {"-frames*2+5", -597},
        {"ceil(frames/8)", 38},
        {"floor(frames/2)", 150},
        {"floor((frames+3)/8)", 38},
        {"floor((frames+3)/8)*2-4", 72},
        {"ceil(p2o.D.1/32)*32", 32},
        {"a+b", 9},             /* a name that looks like a sum */
        {"(a+b)*2", 18},
        {"seq-len+1", 13},
        {"42", 42},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t got = -999;
        int rc = onnxq_infer_dim_eval(ok[i].expr, names, vals, 4, &got);
        if (rc != 0 || got != ok[i].want)
            fprintf(stderr, "eval '%s' = %lld (rc %d), want %lld\n", ok[i].expr,
                    (long long)got, rc, (long long)ok[i].want);
        CHECK(rc == 0 && got == ok[i].want);
    }
    int64_t got;
    CHECK(onnxq_infer_dim_eval("batch", names, vals, 4, &got) != 0);
    CHECK(onnxq_infer_dim_eval("frames/2", names, vals, 4, &got) != 0);
    CHECK(onnxq_infer_dim_eval("floor(frames/0)", names, vals, 4, &got) != 0);
    CHECK(onnxq_infer_dim_eval("", names, vals, 4, &got) != 0);
}

/* ---- coverage of the registry -------------------------------------------- */

static void test_every_registry_op_has_a_rule(void)
{
    const oq_kernel *const tables[] = {
        oq_ref_elementwise_kernels, oq_ref_rnn_kernels, oq_ref_misc_kernels,
        oq_ref_reduce_norm_kernels, oq_ref_conv_pool_kernels,
        oq_ref_matmul_kernels,      oq_ref_resize_kernels,
        oq_ref_shape_kernels,       oq_ref_quant_kernels,
        oq_ref_loss_signal_kernels, oq_ref_attention_kernels,
        oq_int8_misc_kernels, NULL};
    size_t n = 0, missing = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const oq_kernel *k = tables[t]; k->op_type; k++, n++)
            for (int v = k->first_opset; v <= k->last_opset; v++)
                if (!onnxq_infer_op_supported(k->domain, k->op_type, v)) {
                    fprintf(stderr, "no inference rule for %s%s%s opset %d\n",
                            k->domain, k->domain[0] ? "." : "", k->op_type, v);
                    missing++;
                    break;
                }
    const char *cf[] = {"If", "Loop", "Scan"};
    for (size_t i = 0; i < 3; i++, n++)
        CHECK(onnxq_infer_op_supported("", cf[i], 13));
    CHECK_EQ_INT(missing, 0);
    /* a table this test does not list would hide ops from it */
    CHECK_EQ_INT(n, onnxq_op_count());
}

/* ---- quantized and com.microsoft ops against the runtime ----------------- */

static uint32_t seed = 7;
static unsigned rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 16;
}

static void fill(onnxq_tensor *t)
{
    uint64_t n;
    onnxq_shape_numel(t->dims, (size_t)t->rank, &n);
    size_t es = onnxq_dtype_size(t->dtype);
    t->data = malloc(n * es + 1);
    for (uint64_t i = 0; i < n; i++) {
        if (t->dtype == F32)
            ((float *)t->data)[i] = (float)(rnd() % 2000) / 1000.0f - 1.0f;
        else
            ((uint8_t *)t->data)[i] = (uint8_t)(rnd() % 120);
    }
}

/* Infers a copy of the model with outputs stripped, runs the other copy on
 * random inputs and requires every tensor's type and every dim known and
 * equal to the runtime's. */
static void against_runtime(const char *label, Onnx__ModelProto *p,
                            onnxq_tensor *ins, size_t n_in)
{
    onnxq_model *w = NULL, *A = NULL, *B = NULL;
    onnxq_error err;
    void *bytes = NULL;
    size_t size = 0;
    CHECK(onnxq_model_wrap(p, NULL, &w, &err) == ONNXQ_OK);
    CHECK(onnxq_model_serialize(w, &bytes, &size, &err) == ONNXQ_OK);
    CHECK(onnxq_model_load_memory(bytes, size, NULL, label, &A, &err) == ONNXQ_OK);
    CHECK(onnxq_model_load_memory(bytes, size, NULL, label, &B, &err) == ONNXQ_OK);
    free(bytes);
    onnxq_model_destroy(w);
    if (!A || !B) {
        onnxq_model_destroy(A);
        onnxq_model_destroy(B);
        return;
    }
    ic_strip_outputs(onnxq_model_proto(B)->graph);
    onnxq_infer_report rep;
    onnxq_infer_report_init(&rep);
    CHECK(onnxq_infer_model(B, NULL, &rep, &err) == ONNXQ_OK);
    CHECK_EQ_INT(rep.n_unknown_ops, 0);
    CHECK_EQ_INT(rep.n_conflicts_total, 0);
    ic_state st = {0};
    ic_counts c = {0};
    st.counts = &c;
    st.label = label;
    st.quiet_limit = 10;
    st.verbose = 1;
    ic_collect(&st, onnxq_model_proto(B)->graph);
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.observer = ic_observe;
    so.observer_user = &st;
    onnxq_session *s = NULL;
    onnxq_status rs = onnxq_session_create(A, &so, &s, &err);
    if (rs != ONNXQ_OK)
        fprintf(stderr, "%s: %s\n", label, err.message);
    CHECK(rs == ONNXQ_OK);
    onnxq_tensor *outs = NULL;
    size_t n_out = 0;
    if (s) {
        rs = onnxq_session_run(s, ins, n_in, &outs, &n_out, &err);
        if (rs != ONNXQ_OK)
            fprintf(stderr, "%s: %s\n", label, err.message);
        CHECK(rs == ONNXQ_OK);
    }
    onnxq_tensors_free(outs, n_out);
    if (c.contradictions || c.no_type || c.no_rank || c.dims_unknown ||
        !c.observed)
        fprintf(stderr, "%s: %zu observed, %zu contradictions, %zu untyped, "
                "%zu unranked, %zu unknown dims\n", label, c.observed,
                c.contradictions, c.no_type, c.no_rank, c.dims_unknown);
    CHECK(c.observed > 0);
    CHECK_EQ_INT(c.contradictions, 0);
    CHECK_EQ_INT(c.no_type + c.no_rank + c.dims_unknown, 0);
    ic_free(&st);
    onnxq_session_destroy(s);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(A);
    onnxq_model_destroy(B);
    for (size_t i = 0; i < n_in; i++)
        free(ins[i].data);
}

static void scalar(Onnx__GraphProto *g, const char *name, int32_t dt, double v)
{
    float f = (float)v;
    uint8_t b = (uint8_t)(int)v;
    onnxq_build_initializer(g, name, dt, 0, NULL, dt == F32 ? (void *)&f : &b);
}

static void test_quant_ops(void)
{
    /* QDQ, dynamic quantization, integer products */
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {2, 3};
    onnxq_build_input(g, "x", F32, 2, xd, NULL);
    scalar(g, "s", F32, 0.02);
    scalar(g, "zi", I8, 3);
    scalar(g, "zu", U8, 100);
    N(g, "QuantizeLinear", "x,s,zi", "qi");
    N(g, "QuantizeLinear", "x,s", "qu");
    N(g, "DequantizeLinear", "qi,s,zi", "dq");
    N(g, "DynamicQuantizeLinear", "x", "dy,dys,dyz");
    static uint8_t bw[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    int64_t bd[] = {3, 4};
    onnxq_build_initializer(g, "bw", U8, 2, bd, bw);
    N(g, "MatMulInteger", "dy,bw", "mmi");
    N(g, "QLinearMatMul", "dy,dys,dyz,bw,s,zu,s,zu", "qmm");
    onnxq_tensor in = {F32, 2, {2, 3}, NULL};
    fill(&in);
    against_runtime("qdq", p, &in, 1);

    /* convolutions */
    p = onnxq_build_model(13);
    g = p->graph;
    int64_t cx[] = {1, 2, 5, 5};
    onnxq_build_input(g, "x", U8, 4, cx, NULL);
    static int8_t w[4 * 2 * 3 * 3];
    int64_t wd[] = {4, 2, 3, 3};
    onnxq_build_initializer(g, "w", I8, 4, wd, w);
    scalar(g, "s", F32, 0.05);
    scalar(g, "zu", U8, 10);
    scalar(g, "zw", I8, 0);
    Onnx__NodeProto *n = N(g, "QLinearConv", "x,s,zu,w,s,zw,s,zu", "qc");
    onnxq_build_attr_ints(n, "pads", (int64_t[]){1, 1, 1, 1}, 4);
    n = N(g, "ConvInteger", "x,w,zu,zw", "ci");
    onnxq_build_attr_ints(n, "strides", (int64_t[]){2, 2}, 2);
    onnxq_tensor cin = {U8, 4, {1, 2, 5, 5}, NULL};
    fill(&cin);
    against_runtime("qconv", p, &cin, 1);

    /* com.microsoft quantized ops */
    p = onnxq_build_model(13);
    g = p->graph;
    onnxq_build_opset(p, "com.microsoft", 1);
    int64_t ad[] = {1, 2, 4, 4}, bd2[] = {4};
    onnxq_build_input(g, "a", U8, 4, ad, NULL);
    onnxq_build_input(g, "b", U8, 1, bd2, NULL);
    scalar(g, "s", F32, 0.05);
    scalar(g, "z", U8, 10);
    const char *ms = "com.microsoft";
    onnxq_build_node_domain(N(g, "QLinearAdd", "a,s,z,b,s,z,s,z", "qa"), ms);
    onnxq_build_node_domain(N(g, "QLinearMul", "a,s,z,b,s,z,s,z", "qm"), ms);
    onnxq_build_node_domain(N(g, "QLinearSigmoid", "a,s,z,s,z", "qs"), ms);
    onnxq_build_node_domain(N(g, "QLinearLeakyRelu", "a,s,z,s,z", "ql"), ms);
    n = N(g, "QLinearSoftmax", "a,s,z,s,z", "qsm");
    onnxq_build_node_domain(n, ms);
    onnxq_build_attr_int(n, "opset", 13);
    n = N(g, "QLinearConcat", "s,z,a,s,z,qa,s,z", "qcat");
    onnxq_build_node_domain(n, ms);
    onnxq_build_attr_int(n, "axis", 1);
    onnxq_build_node_domain(N(g, "QLinearGlobalAveragePool", "a,s,z,s,z", "qg"), ms);
    n = N(g, "QLinearAveragePool", "a,s,z,s,z", "qp");
    onnxq_build_node_domain(n, ms);
    onnxq_build_attr_ints(n, "kernel_shape", (int64_t[]){2, 2}, 2);
    onnxq_build_attr_ints(n, "strides", (int64_t[]){2, 2}, 2);
    static int8_t mw[4 * 2 * 3 * 3];
    int64_t mwd[] = {3, 2, 3, 3};
    onnxq_build_initializer(g, "mw", I8, 4, mwd, mw);
    scalar(g, "zw", I8, 0);
    onnxq_build_node_domain(N(g, "QLinearConv", "a,s,z,mw,s,zw,s,z", "mqc"), ms);
    onnxq_build_node_domain(N(g, "DequantizeLinear", "a,s,z", "mdq"), ms);
    onnxq_build_node_domain(N(g, "QuantizeLinear", "mdq,s,z", "mq"), ms);
    onnxq_tensor qins[2] = {{U8, 4, {1, 2, 4, 4}, NULL}, {U8, 1, {4}, NULL}};
    fill(&qins[0]);
    fill(&qins[1]);
    against_runtime("ms-qlinear", p, qins, 2);

    /* com.microsoft integer products */
    p = onnxq_build_model(13);
    g = p->graph;
    onnxq_build_opset(p, "com.microsoft", 1);
    int64_t fd[] = {2, 3};
    onnxq_build_input(g, "x", F32, 2, fd, NULL);
    onnxq_build_initializer(g, "bw", U8, 2, bd, bw);
    scalar(g, "s", F32, 0.05);
    scalar(g, "zu", U8, 10);
    N(g, "DynamicQuantizeLinear", "x", "xq,xs,xz");
    onnxq_build_node_domain(N(g, "MatMulIntegerToFloat", "xq,bw,xs,s,xz,zu", "mif"), ms);
    onnxq_build_node_domain(N(g, "DynamicQuantizeMatMul", "x,bw,s,zu", "dqm"), ms);
    onnxq_build_node_domain(N(g, "QGemm", "xq,xs,xz,bw,s,zu,,s,zu", "qg8"), ms);
    onnxq_build_node_domain(N(g, "QGemm", "xq,xs,xz,bw,s,zu", "qgf"), ms);
    onnxq_tensor xin = {F32, 2, {2, 3}, NULL};
    fill(&xin);
    against_runtime("ms-integer", p, &xin, 1);
}

static void test_ms_float_ops(void)
{
    Onnx__ModelProto *p = onnxq_build_model(17);
    Onnx__GraphProto *g = p->graph;
    onnxq_build_opset(p, "com.microsoft", 1);
    const char *ms = "com.microsoft";
    int64_t xd[] = {2, 3, 4}, cd[] = {1, 2, 5, 5};
    onnxq_build_input(g, "x", F32, 3, xd, NULL);
    onnxq_build_input(g, "img", F32, 4, cd, NULL);
    static float v4[4] = {1, 2, 3, 4}, w[3 * 2 * 3 * 3], mw[4 * 4];
    int64_t d4[] = {4}, wd[] = {3, 2, 3, 3}, mwd[] = {4, 4};
    onnxq_build_initializer(g, "g4", F32, 1, d4, v4);
    onnxq_build_initializer(g, "b4", F32, 1, d4, v4);
    onnxq_build_initializer(g, "w", F32, 4, wd, w);
    onnxq_build_initializer(g, "mw", F32, 2, mwd, mw);
    onnxq_build_node_domain(N(g, "Gelu", "x", "ge"), ms);
    onnxq_build_node_domain(N(g, "FastGelu", "x,b4", "fg"), ms);
    onnxq_build_node_domain(N(g, "BiasGelu", "x,b4", "bg"), ms);
    onnxq_build_node_domain(N(g, "QuickGelu", "x", "qg"), ms);
    Onnx__NodeProto *n = N(g, "FusedMatMul", "x,mw", "fm");
    onnxq_build_node_domain(n, ms);
    onnxq_build_attr_int(n, "transB", 1);
    n = N(g, "FusedConv", "img,w", "fc");
    onnxq_build_node_domain(n, ms);
    onnxq_build_attr_string(n, "activation", "Relu");
    onnxq_build_node_domain(N(g, "LayerNormalization", "x,g4,b4", "ln,lnm,lni"), ms);
    onnxq_build_node_domain(N(g, "SimplifiedLayerNormalization", "x,g4", "sl,sli"), ms);
    onnxq_build_node_domain(
        N(g, "SkipLayerNormalization", "x,x,g4,b4", "sk,skm,ski,sks"), ms);
    onnxq_build_node_domain(
        N(g, "SkipSimplifiedLayerNormalization", "x,x,g4", "ss,ssm,ssi,sss"), ms);
    N(g, "LayerNormalization", "x,g4,b4", "l17,l17m,l17i");
    onnxq_tensor ins[2] = {{F32, 3, {2, 3, 4}, NULL}, {F32, 4, {1, 2, 5, 5}, NULL}};
    fill(&ins[0]);
    fill(&ins[1]);
    against_runtime("ms-float", p, ins, 2);
}

/* ONNX ops the backend test data of ONNX 1.12 does not exercise. */
static void test_onnx_ops_without_test_data(void)
{
    Onnx__ModelProto *p = onnxq_build_model(20);
    Onnx__GraphProto *g = p->graph;
    int64_t xd[] = {1, 4, 6, 6}, cd[] = {1, 8, 4};
    onnxq_build_input(g, "x", F32, 4, xd, NULL);
    onnxq_build_input(g, "cols", F32, 3, cd, NULL);
    static float two[2] = {1, 2}, rois[2 * 5] = {0, 0, 0, 3, 3, 0, 1, 1, 5, 5};
    int64_t d2[] = {2}, rd[] = {2, 5};
    onnxq_build_initializer(g, "sc", F32, 1, d2, two);
    onnxq_build_initializer(g, "bi", F32, 1, d2, two);
    onnxq_build_initializer(g, "rois", F32, 2, rd, rois);
    ints_init(g, "crop", 2, (int64_t[]){4, 9}, 0);
    ints_init(g, "img", 2, (int64_t[]){3, 3}, 0);
    ints_init(g, "blk", 2, (int64_t[]){2, 2}, 0);
    onnxq_build_attr_ints(N(g, "CenterCropPad", "x,crop", "ccp"), "axes",
                          (int64_t[]){2, 3}, 2);
    N(g, "Col2Im", "cols,img,blk", "c2i");
    N(g, "Gelu", "x", "ge");
    N(g, "Mish", "x", "mi");
    N(g, "GlobalLpPool", "x", "glp");
    onnxq_build_attr_int(N(g, "GroupNormalization", "x,sc,bi", "gn"),
                         "num_groups", 2);
    onnxq_build_attr_int(N(g, "LpNormalization", "x", "lpn"), "axis", 1);
    Onnx__NodeProto *n = N(g, "LpPool", "x", "lpp");
    onnxq_build_attr_ints(n, "kernel_shape", (int64_t[]){3, 3}, 2);
    onnxq_build_attr_ints(n, "strides", (int64_t[]){2, 2}, 2);
    onnxq_build_attr_int(n, "ceil_mode", 1);
    onnxq_build_attr_ints(N(g, "MaxRoiPool", "x,rois", "mrp"), "pooled_shape",
                          (int64_t[]){2, 3}, 2);
    static float g6[6] = {1, 1, 1, 1, 1, 1};
    int64_t d6[] = {6};
    onnxq_build_initializer(g, "g6", F32, 1, d6, g6);
    N(g, "SimplifiedLayerNormalization", "x,g6", "sln,slni");
    onnxq_tensor ins[2] = {{F32, 4, {1, 4, 6, 6}, NULL}, {F32, 3, {1, 8, 4}, NULL}};
    fill(&ins[0]);
    fill(&ins[1]);
    against_runtime("onnx-untested", p, ins, 2);
}

int main(void)
{
    test_elementwise_transpose_concat();
    test_conv_pool_arithmetic();
    test_shape_arithmetic();
    test_matmul_and_symbolic_off();
    test_unknown_ops_and_conflicts();
    test_if();
    test_loop_and_scan();
    test_dim_eval();
    test_every_registry_op_has_a_rule();
    test_quant_ops();
    test_ms_float_ops();
    test_onnx_ops_without_test_data();
    return TEST_RESULT();
}
