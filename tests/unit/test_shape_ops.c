/* test_shape_ops.c — the data-movement kernels (kernels/ref/shape_ops.c) on
 * what the ONNX backend tests do not reach: failures (status, and a message
 * that names the offending value or shape), int32 index inputs where the
 * spec only lists int64, and the Constant attribute variants.  Values of the
 * ordinary cases are checked by the conformance runner and the ORT oracle.
 *
 * Each case is a one-node model made with the builder whose inputs are all
 * graph inputs, run once through a session. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       I32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
       I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

typedef struct feed {
    const char *name; /* "" for an omitted optional input */
    int32_t dtype;
    int rank;
    int64_t dims[4];
    const void *data;
} feed;

/* A model with one node `op` reading the feeds and writing y0..y(n_out-1);
 * *node lets the caller add attributes. */
static Onnx__ModelProto *one_node(const char *op, int64_t opset,
                                  const feed *in, size_t n_in, size_t n_out,
                                  Onnx__NodeProto **node)
{
    Onnx__ModelProto *p = onnxq_build_model(opset);
    const char *names[8], *outs[8] = {"y0", "y1", "y2", "y3"};
    for (size_t i = 0; i < n_in; i++) {
        names[i] = in[i].name;
        if (in[i].name[0])
            onnxq_build_input(p->graph, in[i].name, in[i].dtype, in[i].rank,
                              in[i].dims, NULL);
    }
    *node = onnxq_build_node(p->graph, op, "n", names, n_in, outs, n_out);
    for (size_t o = 0; o < n_out; o++)
        onnxq_build_output(p->graph, outs[o], F32, -1, NULL, NULL);
    return p;
}

/* Runs the model on the feeds; outputs go to *outs (free with
 * onnxq_tensors_free(*outs, *n_outs)) when the run succeeds. */
static onnxq_status run(Onnx__ModelProto *p, const feed *in, size_t n_in,
                        onnxq_tensor **outs, size_t *n_outs, onnxq_error *err)
{
    onnxq_model *m = NULL;
    onnxq_session *s = NULL;
    onnxq_tensor t[8];
    size_t k = 0;
    for (size_t i = 0; i < n_in; i++) {
        if (!in[i].name[0])
            continue;
        t[k].dtype = in[i].dtype;
        t[k].rank = in[i].rank;
        memcpy(t[k].dims, in[i].dims, sizeof in[i].dims);
        t[k++].data = (void *)in[i].data;
    }
    *outs = NULL;
    *n_outs = 0;
    onnxq_status st = onnxq_model_wrap(p, NULL, &m, err);
    if (st == ONNXQ_OK)
        st = onnxq_session_create(m, NULL, &s, err);
    if (st == ONNXQ_OK)
        st = onnxq_session_run(s, t, k, outs, n_outs, err);
    onnxq_session_destroy(s);
    onnxq_model_destroy(m);
    return st;
}

/* Runs a model that must fail with status, the message containing each of
 * the NULL-terminated needles. */
static void expect_fail(Onnx__ModelProto *p, const feed *in, size_t n_in,
                        onnxq_status status, const char *const *needles)
{
    onnxq_tensor *outs;
    size_t n;
    onnxq_error err = {0};
    onnxq_status st = run(p, in, n_in, &outs, &n, &err);
    CHECK_EQ_INT(st, status);
    for (; *needles; needles++)
        CHECK_CONTAINS(err.message, *needles);
    if (st == ONNXQ_OK)
        onnxq_tensors_free(outs, n);
}

static const float F6[6] = {0, 1, 2, 3, 4, 5};

/* ---- indices out of range: INVALID_ARGUMENT naming the index ------------- */

static void test_gather_out_of_range(void)
{
    Onnx__NodeProto *n;
    /* one past the end of axis 1 of [2,3] */
    int64_t i3[1] = {3};
    feed in2[] = {{"x", F32, 2, {2, 3}, F6}, {"i", I64, 1, {1}, i3}};
    Onnx__ModelProto *p = one_node("Gather", 13, in2, 2, 1, &n);
    onnxq_build_attr_int(n, "axis", 1);
    expect_fail(p, in2, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"Gather", "index 3", "axis 1 of size 3",
                                 NULL});
    /* int32 indices, negative beyond the front */
    int32_t i32[1] = {-7};
    feed in3[] = {{"x", F32, 1, {6}, F6}, {"i", I32, 1, {1}, i32}};
    p = one_node("Gather", 13, in3, 2, 1, &n);
    expect_fail(p, in3, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"index -7", "size 6", NULL});
}

static void test_gather_elements_and_nd_out_of_range(void)
{
    Onnx__NodeProto *n;
    int64_t ie[2] = {0, 9};
    feed in[] = {{"x", F32, 2, {2, 3}, F6}, {"i", I64, 2, {1, 2}, ie}};
    Onnx__ModelProto *p = one_node("GatherElements", 13, in, 2, 1, &n);
    onnxq_build_attr_int(n, "axis", -1);
    expect_fail(p, in, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"index 9", "axis 1 of size 3", NULL});
    int64_t ind[2] = {1, -4};
    feed nd[] = {{"x", F32, 2, {2, 3}, F6}, {"i", I64, 2, {1, 2}, ind}};
    p = one_node("GatherND", 13, nd, 2, 1, &n);
    expect_fail(p, nd, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"index -4", "axis 1 of size 3", NULL});
}

static void test_scatter_out_of_range(void)
{
    Onnx__NodeProto *n;
    int32_t ie[1] = {6};
    float u[1] = {9};
    feed in[] = {{"x", F32, 1, {6}, F6}, {"i", I32, 1, {1}, ie},
                 {"u", F32, 1, {1}, u}};
    Onnx__ModelProto *p = one_node("ScatterElements", 16, in, 3, 1, &n);
    onnxq_build_attr_string(n, "reduction", "add");
    expect_fail(p, in, 3, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"index 6", "size 6", NULL});
    int64_t ind[2] = {-3};
    float u3[3] = {7, 8, 9};
    feed nd[] = {{"x", F32, 2, {2, 3}, F6}, {"i", I64, 2, {1, 1}, ind},
                 {"u", F32, 2, {1, 3}, u3}};
    p = one_node("ScatterND", 13, nd, 3, 1, &n);
    expect_fail(p, nd, 3, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"index -3", "axis 0 of size 2", NULL});
}

/* ---- shapes and attributes that do not fit: the message names them ------ */

static void test_shape_errors(void)
{
    Onnx__NodeProto *n;
    int64_t s4[1] = {4};
    feed rs[] = {{"x", F32, 2, {2, 3}, F6}, {"s", I64, 1, {1}, s4}};
    Onnx__ModelProto *p = one_node("Reshape", 14, rs, 2, 1, &n);
    expect_fail(p, rs, 2, ONNXQ_ERR_SHAPE_MISMATCH,
                (const char *[]){"[2,3]", "[4]", NULL});

    int64_t two_neg[2] = {-1, -1};
    feed rs2[] = {{"x", F32, 2, {2, 3}, F6}, {"s", I64, 1, {2}, two_neg}};
    p = one_node("Reshape", 14, rs2, 2, 1, &n);
    expect_fail(p, rs2, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"more than one -1", NULL});

    feed cc[] = {{"a", F32, 2, {2, 3}, F6}, {"b", F32, 2, {3, 2}, F6}};
    p = one_node("Concat", 13, cc, 2, 1, &n);
    onnxq_build_attr_int(n, "axis", 0);
    expect_fail(p, cc, 2, ONNXQ_ERR_SHAPE_MISMATCH,
                (const char *[]){"input 1", "[3,2]", "[2,3]", NULL});

    int64_t ax[1] = {1};
    feed sq[] = {{"x", F32, 2, {2, 3}, F6}, {"a", I64, 1, {1}, ax}};
    p = one_node("Squeeze", 13, sq, 2, 1, &n);
    expect_fail(p, sq, 2, ONNXQ_ERR_SHAPE_MISMATCH,
                (const char *[]){"axis 1", "[2,3]", "size is 3", NULL});

    feed fl[] = {{"x", F32, 2, {2, 3}, F6}};
    p = one_node("Flatten", 13, fl, 1, 1, &n);
    onnxq_build_attr_int(n, "axis", -3);
    expect_fail(p, fl, 1, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"axis -3", "rank 2", NULL});

    p = one_node("Transpose", 13, fl, 1, 1, &n);
    onnxq_build_attr_ints(n, "perm", (const int64_t[]){1, 1}, 2);
    expect_fail(p, fl, 1, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"perm [1,1]", NULL});

    int64_t k5[1] = {5};
    feed tk[] = {{"x", F32, 2, {2, 3}, F6}, {"k", I64, 1, {1}, k5}};
    p = one_node("TopK", 11, tk, 2, 2, &n);
    expect_fail(p, tk, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"k = 5", "size 3", NULL});

    int64_t sp[2] = {2, 2};
    feed sl[] = {{"x", F32, 1, {6}, F6}, {"s", I64, 1, {2}, sp}};
    p = one_node("Split", 13, sl, 2, 2, &n);
    expect_fail(p, sl, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"add up to 4", "size 6", NULL});

    /* opset 18: 6 into 4 parts of ceil(6/4) = 2 leaves nothing for the last */
    feed s18[] = {{"x", F32, 1, {6}, F6}};
    p = one_node("Split", 18, s18, 1, 4, &n);
    onnxq_build_attr_int(n, "num_outputs", 4);
    CHECK(p != NULL);
    {
        onnxq_tensor *outs;
        size_t no;
        onnxq_error err = {0};
        /* 2,2,2,0 is what the ceil rule gives: allowed, last part empty */
        CHECK_EQ_INT(run(p, s18, 1, &outs, &no, &err), ONNXQ_OK);
        if (no == 4) {
            CHECK_EQ_INT(outs[0].dims[0], 2);
            CHECK_EQ_INT(outs[3].dims[0], 0);
            onnxq_tensors_free(outs, no);
        }
    }

    int64_t ex[1] = {2};
    feed e[] = {{"x", F32, 1, {3}, F6}, {"s", I64, 1, {1}, ex}};
    p = one_node("Expand", 13, e, 2, 1, &n);
    expect_fail(p, e, 2, ONNXQ_ERR_SHAPE_MISMATCH,
                (const char *[]){"[3]", "[2]", NULL});

    int64_t lens[2] = {1, 5};
    feed rv[] = {{"x", F32, 2, {3, 2}, F6}, {"l", I64, 1, {2}, lens}};
    p = one_node("ReverseSequence", 10, rv, 2, 1, &n);
    expect_fail(p, rv, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"sequence length 5", "[0, 3]", NULL});

    int64_t st[1] = {0}, en[1] = {3}, ax0[1] = {0}, step0[1] = {0};
    feed sc[] = {{"x", F32, 1, {6}, F6}, {"s", I64, 1, {1}, st},
                 {"e", I64, 1, {1}, en}, {"a", I64, 1, {1}, ax0},
                 {"t", I64, 1, {1}, step0}};
    p = one_node("Slice", 13, sc, 5, 1, &n);
    expect_fail(p, sc, 5, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"step 0", NULL});

    /* edge padding needs something to repeat */
    int64_t pads[2] = {1, 1};
    feed pd[] = {{"x", F32, 1, {0}, F6}, {"p", I64, 1, {2}, pads}};
    p = one_node("Pad", 13, pd, 2, 1, &n);
    onnxq_build_attr_string(n, "mode", "edge");
    expect_fail(p, pd, 2, ONNXQ_ERR_INVALID_ARGUMENT,
                (const char *[]){"mode edge", "axis 0", NULL});

    /* wrap is opset 19 */
    feed pw[] = {{"x", F32, 1, {6}, F6}, {"p", I64, 1, {2}, pads}};
    p = one_node("Pad", 18, pw, 2, 1, &n);
    onnxq_build_attr_string(n, "mode", "wrap");
    expect_fail(p, pw, 2, ONNXQ_ERR_INVALID_MODEL,
                (const char *[]){"'wrap'", "opset 18", NULL});
}

/* ---- int32 where the spec lists int64: accepted ------------------------- */

static void test_int32_index_inputs(void)
{
    Onnx__NodeProto *n;
    onnxq_tensor *outs;
    size_t no;
    onnxq_error err = {0};
    int32_t shape[2] = {2, 3};
    float one[1] = {7};
    feed e[] = {{"x", F32, 1, {1}, one}, {"s", I32, 1, {2}, shape}};
    Onnx__ModelProto *p = one_node("Expand", 13, e, 2, 1, &n);
    CHECK_EQ_INT(run(p, e, 2, &outs, &no, &err), ONNXQ_OK);
    if (no == 1) {
        CHECK_EQ_INT(outs[0].rank, 2);
        CHECK_EQ_INT(outs[0].dims[1], 3);
        CHECK(((float *)outs[0].data)[5] == 7);
        onnxq_tensors_free(outs, no);
    }
    int32_t axes[2] = {-1, 0};
    feed u[] = {{"x", F32, 2, {2, 3}, F6}, {"a", I32, 1, {2}, axes}};
    p = one_node("Unsqueeze", 13, u, 2, 1, &n);
    CHECK_EQ_INT(run(p, u, 2, &outs, &no, &err), ONNXQ_OK);
    if (no == 1) {
        CHECK_EQ_INT(outs[0].rank, 4);
        CHECK_EQ_INT(outs[0].dims[0], 1);
        CHECK_EQ_INT(outs[0].dims[1], 2);
        CHECK_EQ_INT(outs[0].dims[3], 1);
        onnxq_tensors_free(outs, no);
    }
}

/* ---- Constant's attribute forms ----------------------------------------- */

static void test_constant_forms(void)
{
    Onnx__NodeProto *n;
    onnxq_tensor *outs;
    size_t no;
    onnxq_error err = {0};
    Onnx__ModelProto *p = one_node("Constant", 13, NULL, 0, 1, &n);
    onnxq_build_attr_ints(n, "value_ints", (const int64_t[]){4, -5, 6}, 3);
    CHECK_EQ_INT(run(p, NULL, 0, &outs, &no, &err), ONNXQ_OK);
    if (no == 1) {
        CHECK_EQ_INT(outs[0].dtype, I64);
        CHECK_EQ_INT(outs[0].rank, 1);
        CHECK_EQ_INT(((int64_t *)outs[0].data)[1], -5);
        onnxq_tensors_free(outs, no);
    }
    p = one_node("Constant", 13, NULL, 0, 1, &n);
    onnxq_build_attr_float(n, "value_float", 2.5f);
    CHECK_EQ_INT(run(p, NULL, 0, &outs, &no, &err), ONNXQ_OK);
    if (no == 1) {
        CHECK_EQ_INT(outs[0].rank, 0);
        CHECK(*(float *)outs[0].data == 2.5f);
        onnxq_tensors_free(outs, no);
    }
    p = one_node("Constant", 13, NULL, 0, 1, &n);
    onnxq_build_attr_int(n, "value_int", 3);
    onnxq_build_attr_float(n, "value_float", 2.5f);
    expect_fail(p, NULL, 0, ONNXQ_ERR_INVALID_MODEL,
                (const char *[]){"exactly one", "found 2", NULL});
}

int main(void)
{
    test_gather_out_of_range();
    test_gather_elements_and_nd_out_of_range();
    test_scatter_out_of_range();
    test_shape_errors();
    test_int32_index_inputs();
    test_constant_forms();
    return TEST_RESULT();
}
