/* int8_misc_cases.h — named cases for the 8-bit kernels of
 * src/rt/kernels/int8/int8_misc.c (Resize nearest with integer upscale,
 * MaxPool, and the Lookup8 tables of rt/fuse_lut.c),
 * included by test_int8_kernels.c after its helpers (rnd, fill8, session,
 * run).  Like the rest of that test, each case runs one node in a session
 * with the fast kernels and in one with reference_only, at 1 and 2 threads;
 * outputs must be byte-identical, and int8_misc.c's counters must show the
 * fast kernel ran (or, for the cases it hands on, that it did not). */

void oq_int8_misc_stats(size_t *fast, size_t *fallback, size_t *lookups);

enum { MISC_FAST, MISC_HANDED, MISC_FLOAT /* not counted: not 8-bit */ };

typedef struct rcase {
    const char *name;
    int t;                  /* U8, S8 or F32 */
    int rank;
    int64_t x[4];
    int64_t k[4];           /* factor per axis */
    int use_sizes;          /* sizes input instead of scales */
    const char *coord;      /* coordinate_transformation_mode */
    const char *nearest;    /* nearest_mode */
    int expect;
} rcase;

static const rcase resize_cases[] = {
    {"resize_u8_x2", U8, 4, {1, 3, 5, 7}, {1, 1, 2, 2}, 0, "asymmetric",
     "floor", MISC_FAST},
    {"resize_s8_x2_big_parallel", S8, 4, {2, 16, 40, 50}, {1, 1, 2, 2}, 0,
     "asymmetric", "floor", MISC_FAST},
    {"resize_u8_h3_w1", U8, 4, {2, 5, 9, 11}, {1, 1, 3, 1}, 0, "asymmetric",
     "floor", MISC_FAST},
    {"resize_s8_w5_sizes", S8, 4, {1, 2, 3, 13}, {1, 1, 1, 5}, 1,
     "asymmetric", "floor", MISC_FAST},
    {"resize_u8_x4_sizes", U8, 4, {1, 7, 1, 1}, {1, 1, 4, 4}, 1, "asymmetric",
     "floor", MISC_FAST},
    {"resize_u8_rank3", U8, 3, {3, 17, 19}, {1, 2, 3}, 0, "asymmetric",
     "floor", MISC_FAST},
    {"resize_u8_identity", U8, 4, {1, 2, 6, 6}, {1, 1, 1, 1}, 0, "asymmetric",
     "floor", MISC_FAST},
    /* handed to the reference: other modes, or a factor on a leading axis */
    {"resize_u8_half_pixel_handed", U8, 4, {1, 3, 5, 7}, {1, 1, 2, 2}, 0,
     "half_pixel", "round_prefer_floor", MISC_HANDED},
    {"resize_s8_channel_axis_handed", S8, 4, {1, 3, 4, 4}, {1, 2, 2, 2}, 0,
     "asymmetric", "floor", MISC_HANDED},
    /* float: handed on to kernels/vec's Resize, untouched */
    {"resize_f32_passes_through", F32, 4, {1, 3, 5, 7}, {1, 1, 2, 2}, 0,
     "asymmetric", "floor", MISC_FLOAT},
};

static void run_resize_case(const rcase *c, int threads)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    size_t nx = numel(c->x, c->rank);
    void *xbuf = malloc(nx * 4 + 4);
    if (c->t == F32)
        for (size_t i = 0; i < nx; i++)
            ((float *)xbuf)[i] = (float)((int)(rnd() % 2001) - 1000) / 37.0f;
    else
        fill8(xbuf, nx, c->t, 0);
    onnxq_build_input(g, "x", c->t, c->rank, c->x, NULL);
    int64_t n = c->rank;
    if (c->use_sizes) {
        int64_t sz[4];
        for (int d = 0; d < c->rank; d++)
            sz[d] = c->x[d] * c->k[d];
        onnxq_build_initializer(g, "sizes", ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                                1, &n, sz);
    } else {
        float sc[4];
        for (int d = 0; d < c->rank; d++)
            sc[d] = (float)c->k[d];
        onnxq_build_initializer(g, "scales", F32, 1, &n, sc);
    }
    const char *ins[] = {"x", "", c->use_sizes ? "" : "scales", "sizes"};
    const char *outs[] = {"y"};
    Onnx__NodeProto *nd = onnxq_build_node(g, "Resize", "resize", ins,
                                           c->use_sizes ? 4 : 3, outs, 1);
    onnxq_build_attr_string(nd, "mode", "nearest");
    onnxq_build_attr_string(nd, "coordinate_transformation_mode", c->coord);
    onnxq_build_attr_string(nd, "nearest_mode", c->nearest);
    onnxq_build_output(g, "y", c->t, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    if (!m) {
        free(xbuf);
        return;
    }
    built b;
    memset(&b, 0, sizeof b);
    b.in[0].dtype = c->t;
    b.in[0].rank = c->rank;
    memcpy(b.in[0].dims, c->x, sizeof c->x);
    b.in[0].data = xbuf;
    b.n_in = 1;
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    for (int rep = 0; rep < 2; rep++) {
        size_t f0, h0, f1, h1, l0, l1;
        oq_int8_misc_stats(&f0, &h0, &l0);
        onnxq_tensor *yf = run(fast, &b, c->name);
        oq_int8_misc_stats(&f1, &h1, &l1);
        onnxq_tensor *yr = run(ref, &b, c->name);
        size_t want_f = c->expect == MISC_FAST, want_h = c->expect == MISC_HANDED;
        if (f1 - f0 != want_f || h1 - h0 != want_h) {
            fprintf(stderr, "%s: %zu fast runs, %zu handed on; expected %zu, %zu\n",
                    c->name, f1 - f0, h1 - h0, want_f, want_h);
            test_failures++;
        }
        if (yf && yr) {
            int same = yf->dtype == yr->dtype && yf->rank == yr->rank &&
                       !memcmp(yf->dims, yr->dims, sizeof yr->dims[0] * (size_t)yr->rank) &&
                       !memcmp(yf->data, yr->data, onnxq_tensor_nbytes(yr));
            if (!same) {
                fprintf(stderr, "%s (%d threads): fast and reference differ\n",
                        c->name, threads);
                test_failures++;
            }
            /* the reference itself: y[.., h, w] = x[.., h / kh, w / kw] */
            size_t es = c->t == F32 ? 4 : 1, ny = numel(yr->dims, yr->rank);
            int r = c->rank;
            for (size_t i = 0; i < ny && rep == 0; i += 7) {
                size_t rem = i, src = 0, stride = 1;
                for (int d = r - 1; d >= 0; d--) {
                    size_t o = rem % (size_t)yr->dims[d];
                    rem /= (size_t)yr->dims[d];
                    if (c->expect != MISC_HANDED)
                        src += o / (size_t)c->k[d] * stride;
                    stride *= (size_t)c->x[d];
                }
                if (c->expect != MISC_HANDED &&
                    memcmp((char *)yr->data + i * es, (char *)xbuf + src * es, es)) {
                    fprintf(stderr, "%s: element %zu is not x[%zu]\n", c->name, i, src);
                    test_failures++;
                    break;
                }
            }
            for (int d = 0; d < r; d++)
                CHECK_EQ_INT(yr->dims[d], c->x[d] * c->k[d]);
        }
        onnxq_tensors_free(yf, 1);
        onnxq_tensors_free(yr, 1);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    free(xbuf);
}

/* ---- MaxPool on 8-bit tensors ---------------------------------------- */

typedef struct pcase {
    const char *name;
    int t;                  /* U8, S8 or F32 */
    int rank;
    int64_t x[4];
    int64_t k[2], s[2], d[2], pads[4];
    const char *auto_pad;
    int ceil_mode;
    int indices;            /* declare the Indices output */
    int expect;
} pcase;

static const pcase pool_cases[] = {
    {"maxpool_u8_2x2_s2", U8, 4, {1, 3, 8, 10}, {2, 2}, {2, 2}, {1, 1}, {0},
     NULL, 0, 0, MISC_FAST},
    {"maxpool_s8_3x3_s2_pad1_odd", S8, 4, {2, 5, 13, 11}, {3, 3}, {2, 2}, {1, 1},
     {1, 1, 1, 1}, NULL, 0, 0, MISC_FAST},
    {"maxpool_u8_3x3_asymmetric_pads", U8, 4, {1, 4, 9, 7}, {3, 3}, {1, 1},
     {1, 1}, {1, 0, 2, 1}, NULL, 0, 0, MISC_FAST},
    {"maxpool_s8_ceil_mode", S8, 4, {1, 3, 10, 10}, {3, 3}, {2, 2}, {1, 1},
     {0}, NULL, 1, 0, MISC_FAST},
    {"maxpool_u8_ceil_mode_pads", U8, 4, {1, 2, 11, 8}, {2, 3}, {3, 2}, {1, 1},
     {1, 1, 0, 1}, NULL, 1, 0, MISC_FAST},
    {"maxpool_u8_dilation", U8, 4, {1, 2, 12, 13}, {2, 3}, {1, 2}, {2, 3},
     {1, 2, 1, 2}, NULL, 0, 0, MISC_FAST},
    {"maxpool_s8_same_upper_s2", S8, 4, {1, 3, 7, 9}, {3, 2}, {2, 2}, {1, 1},
     {0}, "SAME_UPPER", 0, 0, MISC_FAST},
    {"maxpool_u8_same_lower_k4", U8, 4, {2, 2, 6, 5}, {4, 4}, {1, 1}, {1, 1},
     {0}, "SAME_LOWER", 0, 0, MISC_FAST},
    {"maxpool_u8_valid", U8, 4, {1, 3, 9, 9}, {2, 4}, {3, 1}, {1, 1},
     {5, 5, 5, 5}, "VALID", 0, 0, MISC_FAST},
    {"maxpool_s8_empty_windows_lowest", S8, 4, {1, 2, 4, 4}, {2, 2}, {2, 2},
     {1, 1}, {2, 2, 2, 2}, NULL, 0, 0, MISC_FAST},
    {"maxpool_u8_big_parallel", U8, 4, {2, 16, 40, 40}, {3, 3}, {1, 1}, {1, 1},
     {1, 1, 1, 1}, NULL, 0, 0, MISC_FAST},
    {"maxpool_u8_indices_handed", U8, 4, {1, 3, 8, 8}, {2, 2}, {2, 2}, {1, 1},
     {0}, NULL, 0, 1, MISC_HANDED},
    {"maxpool_s8_1d_handed", S8, 3, {2, 3, 17}, {3, 0}, {2, 0}, {1, 0}, {1, 1},
     NULL, 0, 0, MISC_HANDED},
    {"maxpool_f32_passes_through", F32, 4, {1, 3, 8, 10}, {3, 3}, {2, 2},
     {1, 1}, {1, 1, 1, 1}, NULL, 0, 0, MISC_FLOAT},
};

static void run_pool_case(const pcase *c, int threads)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    size_t nx = numel(c->x, c->rank);
    void *xbuf = malloc(nx * 4 + 4);
    if (c->t == F32)
        for (size_t i = 0; i < nx; i++)
            ((float *)xbuf)[i] = (float)((int)(rnd() % 2001) - 1000) / 37.0f;
    else
        fill8(xbuf, nx, c->t, 0);
    onnxq_build_input(g, "x", c->t, c->rank, c->x, NULL);
    const char *ins[] = {"x"}, *outs[] = {"y", "idx"};
    Onnx__NodeProto *nd = onnxq_build_node(g, "MaxPool", "pool", ins, 1, outs,
                                           c->indices ? 2 : 1);
    int ns = c->rank - 2;
    onnxq_build_attr_ints(nd, "kernel_shape", c->k, (size_t)ns);
    onnxq_build_attr_ints(nd, "strides", c->s, (size_t)ns);
    onnxq_build_attr_ints(nd, "dilations", c->d, (size_t)ns);
    if (c->auto_pad)
        onnxq_build_attr_string(nd, "auto_pad", c->auto_pad);
    else
        onnxq_build_attr_ints(nd, "pads", c->pads, (size_t)(2 * ns));
    if (c->ceil_mode)
        onnxq_build_attr_int(nd, "ceil_mode", 1);
    onnxq_build_output(g, "y", c->t, -1, NULL, NULL);
    if (c->indices)
        onnxq_build_output(g, "idx", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, -1,
                           NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    if (!m) {
        free(xbuf);
        return;
    }
    built b;
    memset(&b, 0, sizeof b);
    b.in[0].dtype = c->t;
    b.in[0].rank = c->rank;
    memcpy(b.in[0].dims, c->x, sizeof c->x);
    b.in[0].data = xbuf;
    b.n_in = 1;
    onnxq_session *fast = session(m, 0, threads), *ref = session(m, 1, threads);
    for (int rep = 0; rep < 2; rep++) {
        size_t f0, h0, f1, h1, l0, l1;
        oq_int8_misc_stats(&f0, &h0, &l0);
        onnxq_tensor *yf = run(fast, &b, c->name);
        oq_int8_misc_stats(&f1, &h1, &l1);
        onnxq_tensor *yr = run(ref, &b, c->name);
        size_t want_f = c->expect == MISC_FAST, want_h = c->expect == MISC_HANDED;
        if (f1 - f0 != want_f || h1 - h0 != want_h) {
            fprintf(stderr, "%s: %zu fast runs, %zu handed on; expected %zu, %zu\n",
                    c->name, f1 - f0, h1 - h0, want_f, want_h);
            test_failures++;
        }
        if (yf && yr) {
            int same = yf->dtype == yr->dtype && yf->rank == yr->rank &&
                       !memcmp(yf->dims, yr->dims, sizeof yr->dims[0] * (size_t)yr->rank) &&
                       !memcmp(yf->data, yr->data, onnxq_tensor_nbytes(yr));
            if (!same) {
                fprintf(stderr, "%s (%d threads): fast and reference differ\n",
                        c->name, threads);
                test_failures++;
            }
            /* the empty windows (all in the padding) hold the lowest value */
            if (c->pads[0] >= c->k[0] && c->t == S8 && rep == 0)
                CHECK_EQ_INT(((const int8_t *)yr->data)[0], -128);
        }
        onnxq_tensors_free(yf, c->indices ? 2 : 1);
        onnxq_tensors_free(yr, c->indices ? 2 : 1);
    }
    onnxq_session_destroy(fast);
    onnxq_session_destroy(ref);
    onnxq_model_destroy(m);
    free(xbuf);
}

static size_t run_lut_cases(void);

/* Every misc case at 1 and 2 threads; returns the number of cases. */
static size_t run_misc_cases(void)
{
    size_t n = sizeof resize_cases / sizeof *resize_cases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < n; i++) {
            int before = test_failures;
            run_resize_case(&resize_cases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ case %s, %d thread(s)\n",
                        resize_cases[i].name, threads);
        }
    size_t np = sizeof pool_cases / sizeof *pool_cases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < np; i++) {
            int before = test_failures;
            run_pool_case(&pool_cases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ case %s, %d thread(s)\n",
                        pool_cases[i].name, threads);
        }
    return n + np + run_lut_cases();
}

/* ---- lookup-table fusion (src/rt/fuse_lut.c) ------------------------------
 * Small QDQ/QOperator models with 8-bit elementwise islands: the session
 * with fusion (islands -> com.onnxq Lookup8) must give the bytes of one
 * made with ONNXQ_NO_LUT_FUSION=1 and of a reference_only one (which also
 * fuses, computing its tables with the reference kernels), and run the
 * expected number of lookups; islands that must not be fused (a tensor
 * inside is a graph output, a per-channel constant) run none, and one with
 * two inputs only its one-input part. */

enum { L_HSWISH, L_SIGMOID_S8, L_QADD_CONST, L_GRAPH_OUTPUT, L_TWO_INPUTS,
       L_PER_CHANNEL };

typedef struct lcase {
    const char *name;
    int kind;
    int t;                  /* U8 or S8: x and y */
    int64_t x[4];
    int zx, zy;             /* zero points of x and y */
    int lookups;            /* Lookup8 runs per session run */
} lcase;

static const lcase lut_cases[] = {
    {"lut_hardswish_island_u8", L_HSWISH, U8, {2, 3, 5, 7}, 128, 0, 1},
    {"lut_hardswish_island_u8_zp255", L_HSWISH, U8, {1, 4, 9, 9}, 255, 255, 1},
    {"lut_hardswish_island_s8_big", L_HSWISH, S8, {1, 8, 64, 80}, -128, 127, 1},
    {"lut_sigmoid_s8", L_SIGMOID_S8, S8, {3, 1, 17, 2}, -5, -128, 1},
    {"lut_qlinear_add_constant_u8", L_QADD_CONST, U8, {2, 5, 3, 3}, 0, 0, 1},
    {"lut_qlinear_add_constant_s8", L_QADD_CONST, S8, {1, 3, 11, 13}, 127, 127, 1},
    {"lut_not_when_graph_output", L_GRAPH_OUTPUT, U8, {1, 3, 5, 7}, 128, 0, 0},
    /* the Mul reads a second input: only Add 3 -> Q (one input) is taken */
    {"lut_two_inputs_inner_island_only", L_TWO_INPUTS, U8, {1, 3, 5, 7}, 100, 3, 1},
    {"lut_not_per_channel_constant", L_PER_CHANNEL, U8, {1, 3, 5, 7}, 128, 0, 0},
};

static void node2(Onnx__GraphProto *g, const char *op, const char *a,
                  const char *b, const char *y)
{
    const char *in[] = {a, b}, *out[] = {y};
    onnxq_build_node(g, op, NULL, in, b ? 2 : 1, out, 1);
}

static void qdq(Onnx__GraphProto *g, const char *op, const char *x,
                const char *s, const char *z, const char *y)
{
    const char *in[] = {x, s, z}, *out[] = {y};
    onnxq_build_node(g, op, NULL, in, 3, out, 1);
}

static onnxq_model *lut_model(const lcase *c)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    onnxq_build_opset(p, "com.microsoft", 1);
    Onnx__GraphProto *g = p->graph;
    int t = c->t;
    onnxq_build_input(g, "x", t, 4, c->x, NULL);
    add_scalar(g, "sx", F32, 0.05);
    add_scalar(g, "zx", t, c->zx);
    add_scalar(g, "sy", F32, 0.037);
    add_scalar(g, "zy", t, c->zy);
    qdq(g, "DequantizeLinear", "x", "sx", "zx", "a");
    switch (c->kind) {
    case L_HSWISH:
    case L_GRAPH_OUTPUT:
    case L_TWO_INPUTS:
    case L_PER_CHANNEL:
        /* x * clip(x + 3) / 6 the way the int8 PaddleOCR models have it:
         * the 3 an int8 constant behind a DQ, an inner Q/DQ pair */
        add_scalar(g, "c3", S8, 30);
        add_scalar(g, "s3", F32, 0.1);
        add_scalar(g, "z3", S8, 0);
        add_scalar(g, "s1", F32, 6.0 / 255);
        add_scalar(g, "z1", t, t == S8 ? -128 : 0);
        add_scalar(g, "six", F32, 6.0);
        qdq(g, "DequantizeLinear", "c3", "s3", "z3", "b");
        node2(g, "Add", "a", "b", "sum");
        qdq(g, "QuantizeLinear", "sum", "s1", "z1", "q1");
        qdq(g, "DequantizeLinear", "q1", "s1", "z1", "d1");
        if (c->kind == L_TWO_INPUTS) {
            onnxq_build_input(g, "x2", t, 4, c->x, NULL);
            qdq(g, "DequantizeLinear", "x2", "sx", "zx", "a2");
            node2(g, "Mul", "a2", "d1", "prod");
        } else {
            node2(g, "Mul", "a", "d1", "prod");
        }
        if (c->kind == L_PER_CHANNEL) {
            float k[3] = {6.0f, 5.0f, 7.0f};
            int64_t kd[4] = {1, 3, 1, 1};
            onnxq_build_initializer(g, "sixes", F32, 4, kd, k);
            node2(g, "Div", "prod", "sixes", "hs");
        } else {
            node2(g, "Div", "prod", "six", "hs");
        }
        qdq(g, "QuantizeLinear", "hs", "sy", "zy", "y");
        if (c->kind == L_GRAPH_OUTPUT)
            onnxq_build_output(g, "sum", F32, -1, NULL, NULL);
        break;
    case L_SIGMOID_S8:
        node2(g, "Sigmoid", "a", NULL, "sg");
        qdq(g, "QuantizeLinear", "sg", "sy", "zy", "y");
        break;
    case L_QADD_CONST: {
        /* QOperator: a broadcasting QLinearAdd with a constant, and a DQ
         * elsewhere (QDQ fusion, which runs the table pass, needs one) */
        add_scalar(g, "cb", t, t == S8 ? -77 : 201);
        add_scalar(g, "sb", F32, 0.02);
        add_scalar(g, "zb", t, t == S8 ? 3 : 99);
        const char *in[] = {"x", "sx", "zx", "cb", "sb", "zb", "sy", "zy"};
        const char *out[] = {"y"};
        Onnx__NodeProto *n = onnxq_build_node(g, "QLinearAdd", NULL, in, 8, out, 1);
        onnxq_build_node_domain(n, "com.microsoft");
        onnxq_build_output(g, "a", F32, -1, NULL, NULL);
        break;
    }
    }
    onnxq_build_output(g, "y", t, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

/* y of one run (index of output "y" found by name), or NULL. */
static onnxq_tensor *lut_run(onnxq_session *s, built *b, const char *name,
                             size_t *lookups)
{
    size_t f, h, l0, l1;
    oq_int8_misc_stats(&f, &h, &l0);
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    onnxq_error err;
    if (!s || onnxq_session_run(s, b->in, b->n_in, &out, &n_out, &err) != ONNXQ_OK) {
        fprintf(stderr, "%s: %s\n", name, s ? err.message : "no session");
        test_failures++;
        return NULL;
    }
    oq_int8_misc_stats(&f, &h, &l1);
    *lookups = l1 - l0;
    /* keep only "y": the last output declared */
    onnxq_tensor *y = malloc(sizeof *y);
    *y = out[n_out - 1];
    out[n_out - 1].data = NULL;
    onnxq_tensors_free(out, n_out);
    return y;
}

static void run_lut_case(const lcase *c, int threads)
{
    onnxq_model *m = lut_model(c);
    if (!m)
        return;
    size_t nx = numel(c->x, 4);
    void *x1 = malloc(nx), *x2 = malloc(nx);
    fill8(x1, nx, c->t, 0);
    fill8(x2, nx, c->t, 0);
    built b;
    memset(&b, 0, sizeof b);
    for (int i = 0; i < 2; i++) {
        b.in[i].dtype = c->t;
        b.in[i].rank = 4;
        memcpy(b.in[i].dims, c->x, sizeof c->x);
        b.in[i].data = i ? x2 : x1;
    }
    b.n_in = c->kind == L_TWO_INPUTS ? 2 : 1;
    onnxq_session *fused = session(m, 0, threads), *ref = session(m, 1, threads);
    setenv("ONNXQ_NO_LUT_FUSION", "1", 1);
    onnxq_session *plain = session(m, 0, threads);
    unsetenv("ONNXQ_NO_LUT_FUSION");
    size_t lf, lr, lp;
    onnxq_tensor *yf = lut_run(fused, &b, c->name, &lf);
    onnxq_tensor *yr = lut_run(ref, &b, c->name, &lr);
    onnxq_tensor *yp = lut_run(plain, &b, c->name, &lp);
    if (lf != (size_t)c->lookups || lr != (size_t)c->lookups || lp != 0) {
        fprintf(stderr, "%s: %zu / %zu / %zu lookups (fused, reference, "
                "ONNXQ_NO_LUT_FUSION); expected %d, %d, 0\n", c->name, lf, lr, lp,
                c->lookups, c->lookups);
        test_failures++;
    }
    if (yf && yr && yp) {
        size_t bytes = onnxq_tensor_nbytes(yp);
        CHECK_EQ_INT(yp->dtype, c->t);
        CHECK_EQ_INT(bytes, nx);
        if (onnxq_tensor_nbytes(yf) != bytes || onnxq_tensor_nbytes(yr) != bytes ||
            memcmp(yf->data, yp->data, bytes) || memcmp(yr->data, yp->data, bytes)) {
            fprintf(stderr, "%s (%d threads): fused, reference and unfused "
                    "outputs differ\n", c->name, threads);
            test_failures++;
        }
        /* not a constant: the island's output varies with x */
        size_t distinct = 0;
        unsigned char seen[256] = {0};
        for (size_t i = 0; i < bytes; i++)
            if (!seen[((unsigned char *)yp->data)[i]]++)
                distinct++;
        if (distinct <= 8)
            fprintf(stderr, "%s: only %zu distinct output values\n", c->name, distinct);
        CHECK(distinct > 8);
    }
    onnxq_tensors_free(yf, yf ? 1 : 0);
    onnxq_tensors_free(yr, yr ? 1 : 0);
    onnxq_tensors_free(yp, yp ? 1 : 0);
    onnxq_session_destroy(fused);
    onnxq_session_destroy(ref);
    onnxq_session_destroy(plain);
    onnxq_model_destroy(m);
    free(x1);
    free(x2);
}

static size_t run_lut_cases(void)
{
    size_t n = sizeof lut_cases / sizeof *lut_cases;
    for (int threads = 1; threads <= 2; threads++)
        for (size_t i = 0; i < n; i++) {
            int before = test_failures;
            run_lut_case(&lut_cases[i], threads);
            if (test_failures != before)
                fprintf(stderr, "  ^ case %s, %d thread(s)\n",
                        lut_cases[i].name, threads);
        }
    return n;
}
