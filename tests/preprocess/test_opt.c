/* test_opt.c — the preprocess library API (onnxq/opt.h) on models built in
 * C: defaults with NULL options/report/error, per-pass counts, the folded
 * Conv computing what Conv + BatchNormalization computed (against values
 * worked out here in double), a blocked upgrade's error, the growth limit
 * of constant folding, pass names. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/graph.h"
#include "onnxq/opt.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum { F = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

/* x [1,2,2,2] -> Conv 1x1 (w [3,2,1,1], b [3]) -> BN -> Identity -> y */
static const float W[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
static const float B[3] = {0.1f, -0.2f, 0.3f};
static const float SC[3] = {1.5f, 0.5f, -2.0f}, SH[3] = {0.0f, 1.0f, -1.0f};
static const float MEAN[3] = {0.2f, -0.1f, 0.4f}, VAR[3] = {1.0f, 0.25f, 4.0f};
static const float X[8] = {1, 2, 3, 4, -1, -2, 0.5f, 0.25f};

static onnxq_model *conv_bn_model(void)
{
    Onnx__ModelProto *m = onnxq_build_model(13);
    Onnx__GraphProto *g = m->graph;
    int64_t xd[] = {1, 2, 2, 2}, wd[] = {3, 2, 1, 1}, cd[] = {3};
    onnxq_build_input(g, "x", F, 4, xd, NULL);
    onnxq_build_initializer(g, "w", F, 4, wd, W);
    onnxq_build_initializer(g, "b", F, 1, cd, B);
    onnxq_build_initializer(g, "s", F, 1, cd, SC);
    onnxq_build_initializer(g, "sh", F, 1, cd, SH);
    onnxq_build_initializer(g, "m", F, 1, cd, MEAN);
    onnxq_build_initializer(g, "v", F, 1, cd, VAR);
    const char *ci[] = {"x", "w", "b"}, *co[] = {"c"};
    onnxq_build_node(g, "Conv", "conv", ci, 3, co, 1);
    const char *bi[] = {"c", "s", "sh", "m", "v"}, *bo[] = {"bn"};
    Onnx__NodeProto *bn = onnxq_build_node(g, "BatchNormalization", "bn", bi, 5, bo, 1);
    onnxq_build_attr_float(bn, "epsilon", 1e-3f);
    const char *ii[] = {"bn"}, *io[] = {"y"};
    onnxq_build_node(g, "Identity", "id", ii, 1, io, 1);
    onnxq_build_output(g, "y", F, -1, NULL, NULL);
    onnxq_model *model = NULL;
    onnxq_model_wrap(m, NULL, &model, NULL);
    return model;
}

static void run_and_check_conv_bn(onnxq_model *m)
{
    onnxq_session *s = NULL;
    CHECK(onnxq_session_create(m, NULL, &s, NULL) == ONNXQ_OK);
    if (!s)
        return;
    onnxq_tensor in = {F, 4, {1, 2, 2, 2}, (void *)X};
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    CHECK(onnxq_session_run(s, &in, 1, &out, &n_out, NULL) == ONNXQ_OK);
    if (out) {
        const float *y = out[0].data;
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 4; p++) {
                double conv = B[c] + W[c * 2] * X[p] + W[c * 2 + 1] * X[4 + p];
                double want = SC[c] * (conv - MEAN[c]) / sqrt(VAR[c] + 1e-3) + SH[c];
                CHECK(fabs(y[c * 4 + p] - want) <= 1e-5 * (1 + fabs(want)));
            }
    }
    onnxq_tensors_free(out, n_out);
    onnxq_session_destroy(s);
}

static void test_conv_bn(void)
{
    onnxq_model *m = conv_bn_model();
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(!onnxq_model_is_preprocessed(m));
    size_t would = 0;
    CHECK(onnxq_preprocess_changes(m, &would, NULL) == ONNXQ_OK);
    CHECK(would >= 2); /* the BatchNormalization and the Identity */
    CHECK_EQ_INT(onnxq_model_proto(m)->graph->n_node, 3); /* untouched */
    run_and_check_conv_bn(m);
    onnxq_preprocess_options o;
    onnxq_preprocess_options_init(&o);
    o.version = "test";
    onnxq_preprocess_report r;
    onnxq_error err;
    CHECK(onnxq_preprocess(m, &o, &r, &err) == ONNXQ_OK);
    CHECK_EQ_INT(r.bn_folded, 1);
    CHECK_EQ_INT(r.identities_removed, 1);
    CHECK_EQ_INT(r.nodes_before, 3);
    CHECK_EQ_INT(r.nodes_after, 1);
    CHECK_EQ_INT(r.initializers_after, 2);
    CHECK(onnxq_preprocess_report_changes(&r) >= 2);
    CHECK(onnxq_model_is_preprocessed(m));
    const Onnx__ModelProto *p = onnxq_model_proto(m);
    CHECK_STR(p->graph->node[0]->op_type, "Conv");
    CHECK_STR(p->graph->node[0]->output[0], "y");
    run_and_check_conv_bn(m);
    onnxq_preprocess_report_clear(&r);
    /* again, with every default: nothing left to change */
    CHECK(onnxq_preprocess(m, NULL, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(onnxq_preprocess_report_changes(&r), 0);
    CHECK(onnxq_preprocess_changes(m, &would, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(would, 0);
    onnxq_preprocess_report_clear(&r);
    CHECK(onnxq_preprocess(m, NULL, NULL, NULL) == ONNXQ_OK);
    onnxq_model_destroy(m);
}

static void test_blocked_upgrade(void)
{
    Onnx__ModelProto *mp = onnxq_build_model(8);
    Onnx__GraphProto *g = mp->graph;
    int64_t xd[] = {1, 3, 2}, pd[] = {3, 2};
    float ones[6] = {1, 1, 1, 1, 1, 1};
    onnxq_build_input(g, "x", F, 3, xd, NULL);
    const char *names[] = {"s", "b", "m", "v"};
    for (int i = 0; i < 4; i++)
        onnxq_build_initializer(g, names[i], F, 2, pd, ones);
    const char *bi[] = {"x", "s", "b", "m", "v"}, *bo[] = {"y"};
    Onnx__NodeProto *bn = onnxq_build_node(g, "BatchNormalization", "bn0", bi, 5, bo, 1);
    onnxq_build_attr_int(bn, "spatial", 0);
    onnxq_build_output(g, "y", F, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(mp, NULL, &m, NULL) == ONNXQ_OK);
    onnxq_error err;
    CHECK(onnxq_preprocess(m, NULL, NULL, &err) == ONNXQ_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "bn0") && strstr(err.message, "BatchNormalization") &&
          strstr(err.message, "spatial"));
    CHECK_EQ_INT(onnxq_model_opset(m, ""), 8);
    CHECK_EQ_INT(onnxq_model_proto(m)->graph->n_node, 1);
    /* skipped, the model goes through at opset 8 */
    onnxq_preprocess_options o;
    onnxq_preprocess_options_init(&o);
    o.skip = onnxq_pass_from_name("upgrade-opset");
    CHECK(onnxq_preprocess(m, &o, NULL, &err) == ONNXQ_OK);
    CHECK_EQ_INT(onnxq_model_opset(m, ""), 8);
    onnxq_model_destroy(m);
}

static void test_fold_growth(void)
{
    /* ConstantOfShape of a constant shape: 16 bytes from 8 */
    Onnx__ModelProto *mp = onnxq_build_model(13);
    Onnx__GraphProto *g = mp->graph;
    int64_t one = 1, four = 4, xd[] = {4};
    onnxq_build_input(g, "x", F, 1, xd, NULL);
    onnxq_build_initializer(g, "shape", I64, 1, &one, &four);
    const char *ci[] = {"shape"}, *co[] = {"z"};
    onnxq_build_node(g, "ConstantOfShape", "cos", ci, 1, co, 1);
    const char *ai[] = {"x", "z"}, *ao[] = {"y"};
    onnxq_build_node(g, "Add", "add", ai, 2, ao, 1);
    onnxq_build_output(g, "y", F, -1, NULL, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(mp, NULL, &m, NULL) == ONNXQ_OK);
    onnxq_preprocess_options o;
    onnxq_preprocess_options_init(&o);
    o.max_fold_growth = 0;
    onnxq_preprocess_report r;
    CHECK(onnxq_preprocess(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(r.fold_too_large, 1);
    CHECK_EQ_INT(r.folded_nodes, 0);
    onnxq_preprocess_report_clear(&r);
    o.max_fold_growth = 8;
    CHECK(onnxq_preprocess(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(r.folded_nodes, 1);
    CHECK_EQ_INT(r.nodes_after, 1);
    onnxq_preprocess_report_clear(&r);
    onnxq_model_destroy(m);
}

static void test_pass_names(void)
{
    int n = 0;
    for (unsigned b = 1; b < (1u << ONNXQ_PASS_COUNT); b <<= 1) {
        const char *name = onnxq_pass_name(b);
        CHECK(name != NULL);
        if (name && onnxq_pass_from_name(name) == b)
            n++;
    }
    CHECK_EQ_INT(n, ONNXQ_PASS_COUNT);
    CHECK_EQ_INT(onnxq_pass_from_name("no-such-pass"), 0);
    CHECK(onnxq_pass_name(3) == NULL);
}

int main(void)
{
    test_conv_bn();
    test_blocked_upgrade();
    test_fold_growth();
    test_pass_names();
    if (test_failures)
        fprintf(stderr, "%d check(s) failed\n", test_failures);
    return test_failures > 100 ? 100 : test_failures;
}
