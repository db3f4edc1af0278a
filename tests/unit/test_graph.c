/* test_graph.c — the graph view, the builder, sorting, dead-code removal,
 * unique names and the checker, on small graphs made with the builder. */
#include <stdint.h>
#include <stdlib.h>

#include "onnxq/builder.h"
#include "onnxq/check.h"
#include "onnxq/graph.h"
#include "onnxq/tensor.h"
#include "testing.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };

/* x -> Relu(a) -> Mul(b, with Constant c) -> y, plus a dead Neg node and an
 * unused initializer. */
static onnxq_model *small_model(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t d[] = {-1, 3};
    const char *dp[] = {"batch", NULL};
    onnxq_build_input(g, "x", F32, 2, d, dp);
    float w[3] = {1, 2, 3};
    int64_t wd[] = {3};
    onnxq_build_initializer(g, "unused_w", F32, 1, wd, w);
    const char *in_a[] = {"x"}, *out_a[] = {"r"};
    onnxq_build_node(g, "Relu", "a", in_a, 1, out_a, 1);
    const char *out_c[] = {"c"};
    Onnx__NodeProto *cn = onnxq_build_node(g, "Constant", "c", NULL, 0, out_c, 1);
    onnxq_build_attr_floats(cn, "value_floats", w, 3);
    const char *in_b[] = {"r", "c"}, *out_b[] = {"y"};
    onnxq_build_node(g, "Mul", "b", in_b, 2, out_b, 1);
    const char *in_n[] = {"r"}, *out_n[] = {"dead"};
    onnxq_build_node(g, "Neg", "n", in_n, 1, out_n, 1);
    onnxq_build_output(g, "y", F32, 2, d, dp);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

static size_t count_kind(const onnxq_check_report *r, const char *kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_findings; i++)
        n += strcmp(r->findings[i].kind, kind) == 0;
    return n;
}

static const onnxq_finding *find_kind(const onnxq_check_report *r,
                                      const char *kind)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (strcmp(r->findings[i].kind, kind) == 0)
            return &r->findings[i];
    return NULL;
}

static void test_view(void)
{
    onnxq_model *m = small_model();
    onnxq_graph *g = NULL;
    CHECK(onnxq_graph_create(m, &g, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(onnxq_graph_node_count(g), 4);
    const onnxq_value *r = onnxq_graph_value(g, "r");
    CHECK(r && r->kind == ONNXQ_VALUE_NODE_OUTPUT && r->producer == 0);
    CHECK_EQ_INT(r->n_uses, 2); /* Mul and Neg */
    CHECK_EQ_INT(r->uses[0].node, 2);
    CHECK_EQ_INT(r->uses[1].node, 3);
    const onnxq_value *x = onnxq_graph_value(g, "x");
    CHECK(x && x->kind == ONNXQ_VALUE_GRAPH_INPUT && x->info);
    const onnxq_value *y = onnxq_graph_value(g, "y");
    CHECK(y && y->is_graph_output);
    /* a Constant's value_floats becomes a float tensor of shape [3] */
    const Onnx__TensorProto *c = onnxq_graph_constant(g, "c");
    CHECK(c && c->data_type == F32 && c->n_dims == 1 && c->dims[0] == 3);
    float got[3] = {0};
    CHECK(c && onnxq_tensor_copy_data(m, c, got, sizeof got, NULL) == ONNXQ_OK);
    CHECK(got[0] == 1 && got[1] == 2 && got[2] == 3);
    CHECK(onnxq_graph_constant(g, "r") == NULL);
    CHECK(onnxq_graph_constant(g, "unused_w") != NULL);
    CHECK(onnxq_graph_is_sorted(g, NULL));
    /* unique names avoid every existing name and each other */
    char *n1 = onnxq_graph_unique_name(g, "r");
    char *n2 = onnxq_graph_unique_name(g, "r");
    char *n3 = onnxq_graph_unique_name(g, "fresh");
    CHECK_STR(n1, "r_1");
    CHECK_STR(n2, "r_2");
    CHECK_STR(n3, "fresh");
    free(n1);
    free(n2);
    free(n3);
    onnxq_graph_destroy(g);

    size_t nodes = 0, inits = 0;
    CHECK(onnxq_model_remove_dead(m, &nodes, &inits, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(nodes, 1);
    CHECK_EQ_INT(inits, 1);
    Onnx__GraphProto *p = onnxq_model_proto(m)->graph;
    CHECK_EQ_INT(p->n_node, 3);
    CHECK_EQ_INT(p->n_initializer, 0);
    for (size_t i = 0; i < p->n_node; i++)
        CHECK(strcmp(p->node[i]->op_type, "Neg") != 0);
    onnxq_model_destroy(m);
}

static void test_sort_and_unsorted_finding(void)
{
    onnxq_model *m = small_model();
    Onnx__GraphProto *p = onnxq_model_proto(m)->graph;
    /* put Mul first: it reads r and c before they exist */
    Onnx__NodeProto *t = p->node[0];
    p->node[0] = p->node[2];
    p->node[2] = t;
    onnxq_check_report r = {0};
    onnxq_check_options o = {0};
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(count_kind(&r, "unsorted"), 1);
    const onnxq_finding *f = find_kind(&r, "unsorted");
    CHECK(f && f->node && strcmp(f->node, "b") == 0);
    CHECK(f && strstr(f->message, "Mul"));
    onnxq_check_report_clear(&r);

    /* stable: among ready nodes the one earlier in the file goes first */
    CHECK(onnxq_model_sort(m, NULL) == ONNXQ_OK);
    CHECK_STR(p->node[0]->name, "c");
    CHECK_STR(p->node[1]->name, "a");
    CHECK_STR(p->node[2]->name, "b");
    CHECK_STR(p->node[3]->name, "n");
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(r.n_findings, 0);
    onnxq_check_report_clear(&r);

    /* a cycle cannot be sorted; the error names a node on it */
    Onnx__NodeProto *relu = p->node[1];
    free(relu->input[0]);
    relu->input[0] = strdup("y"); /* Relu reads Mul's output */
    onnxq_error err;
    CHECK(onnxq_model_sort(m, &err) == ONNXQ_ERR_INVALID_MODEL);
    CHECK_CONTAINS(err.message, "cycle");
    onnxq_model_destroy(m);
}

static void test_findings(void)
{
    onnxq_model *m = small_model();
    Onnx__ModelProto *mp = onnxq_model_proto(m);
    Onnx__GraphProto *p = mp->graph;
    onnxq_check_options o = {0};
    onnxq_check_report r = {0};

    /* dangling input and output */
    free(p->node[2]->input[1]);
    p->node[2]->input[1] = strdup("nowhere");
    free(p->output[0]->name);
    p->output[0]->name = strdup("y_missing");
    /* a node of a domain the model does not import */
    onnxq_build_node_domain(p->node[3], "com.example");
    /* an initializer whose data is too short for its shape */
    float w[2] = {1, 2};
    int64_t wd[] = {2};
    Onnx__TensorProto *bad = onnxq_build_initializer(p, "short_w", F32, 1, wd, w);
    bad->dims[0] = 5;
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(count_kind(&r, "dangling-input"), 1);
    CHECK_EQ_INT(count_kind(&r, "dangling-output"), 1);
    CHECK_EQ_INT(count_kind(&r, "opset"), 1);
    CHECK_EQ_INT(count_kind(&r, "tensor-data"), 1);
    const onnxq_finding *f = find_kind(&r, "dangling-input");
    CHECK(f && strstr(f->message, "'nowhere'") && strcmp(f->node, "b") == 0);
    f = find_kind(&r, "opset");
    CHECK(f && strstr(f->message, "com.example") && strstr(f->message, "n"));
    f = find_kind(&r, "tensor-data");
    CHECK(f && strstr(f->message, "short_w") && strstr(f->message, "20 bytes")
          && strstr(f->message, "8 are stored"));
    CHECK(find_kind(&r, "unsupported-op") == NULL); /* check_runtime = 0 */
    onnxq_check_report_clear(&r);

    /* with the runtime check, an op onnxq cannot run is reported by type */
    free(p->node[0]->op_type);
    p->node[0]->op_type = strdup("NoSuchOp");
    o.check_runtime = 1;
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(count_kind(&r, "unsupported-op"), 1);
    f = find_kind(&r, "unsupported-op");
    CHECK(f && strstr(f->message, "NoSuchOp") && strstr(f->message, "1 node: a"));
    onnxq_check_report_clear(&r);

    /* a tensor defined twice */
    free(p->node[3]->output[0]);
    p->node[3]->output[0] = strdup("r");
    o.check_runtime = 0;
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    f = find_kind(&r, "duplicate-name");
    CHECK(f && strstr(f->message, "'r'") && strstr(f->message, "defined twice"));
    onnxq_check_report_clear(&r);

    /* no opset imports at all */
    mp->n_opset_import = 0; /* leaks nothing: entries freed below */
    Onnx__OperatorSetIdProto **keep = mp->opset_import;
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK(count_kind(&r, "opset") >= 2);
    onnxq_check_report_clear(&r);
    mp->n_opset_import = 1;
    mp->opset_import = keep;
    onnxq_model_destroy(m);
}

/* If with a then-branch that reads an outer tensor: the outer name resolves,
 * the If node gets an implicit use, and removing dead code keeps the
 * producer of that outer tensor alive. */
static void test_subgraph_scope(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    Onnx__GraphProto *g = p->graph;
    int64_t d1[] = {1};
    onnxq_build_input(g, "cond", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 1, d1, NULL);
    onnxq_build_input(g, "x", F32, 1, d1, NULL);
    const char *in_neg[] = {"x"}, *out_neg[] = {"nx"};
    onnxq_build_node(g, "Neg", "neg", in_neg, 1, out_neg, 1);
    const char *in_if[] = {"cond"}, *out_if[] = {"y"};
    Onnx__NodeProto *ifn = onnxq_build_node(g, "If", "if", in_if, 1, out_if, 1);
    Onnx__GraphProto *then_g = onnxq_build_graph("then");
    const char *in_t[] = {"nx"}, *out_t[] = {"t_out"};
    onnxq_build_node(then_g, "Identity", "t_id", in_t, 1, out_t, 1);
    onnxq_build_output(then_g, "t_out", F32, 1, d1, NULL);
    Onnx__GraphProto *else_g = onnxq_build_graph("else");
    const char *in_e[] = {"x"}, *out_e[] = {"e_out"};
    onnxq_build_node(else_g, "Identity", "e_id", in_e, 1, out_e, 1);
    const char *in_u[] = {"undefined_here"}, *out_u[] = {"e_unused"};
    onnxq_build_node(else_g, "Identity", "e_bad", in_u, 1, out_u, 1);
    onnxq_build_output(else_g, "e_out", F32, 1, d1, NULL);
    onnxq_build_attr_graph(ifn, "then_branch", then_g);
    onnxq_build_attr_graph(ifn, "else_branch", else_g);
    onnxq_build_output(g, "y", F32, 1, d1, NULL);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);

    onnxq_graph *view = NULL;
    CHECK(onnxq_graph_create(m, &view, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(onnxq_graph_subgraph_count(view, 1), 2);
    const char *attr = NULL;
    const onnxq_graph *tg = onnxq_graph_subgraph(view, 1, 0, &attr);
    CHECK_STR(attr, "then_branch");
    CHECK_STR(onnxq_graph_path(tg), "main/if:then_branch");
    const onnxq_graph *owner = NULL;
    const onnxq_value *nx = onnxq_graph_resolve(tg, "nx", &owner);
    CHECK(nx && owner == view && nx->kind == ONNXQ_VALUE_NODE_OUTPUT);
    const onnxq_value *outer_nx = onnxq_graph_value(view, "nx");
    CHECK(outer_nx && outer_nx->n_uses == 1 &&
          outer_nx->uses[0].node == 1 && outer_nx->uses[0].input == SIZE_MAX);
    onnxq_graph_destroy(view);

    onnxq_check_options o = {0};
    onnxq_check_report r = {0};
    CHECK(onnxq_check_model(m, &o, &r, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(r.n_findings, 1);
    const onnxq_finding *f = find_kind(&r, "dangling-input");
    CHECK(f && strcmp(f->graph, "main/if:else_branch") == 0 &&
          strstr(f->message, "undefined_here"));
    onnxq_check_report_clear(&r);

    size_t nodes = 0;
    CHECK(onnxq_model_remove_dead(m, &nodes, NULL, NULL) == ONNXQ_OK);
    CHECK_EQ_INT(nodes, 1); /* e_bad inside else; neg is kept */
    CHECK_EQ_INT(p->graph->n_node, 2);
    CHECK_EQ_INT(else_g->n_node, 1);
    CHECK_EQ_INT(onnxq_model_opset(m, ""), 13);
    CHECK_EQ_INT(onnxq_model_opset(m, "ai.onnx"), 13);
    CHECK_EQ_INT(onnxq_model_opset(m, "com.microsoft"), 0);
    onnxq_model_destroy(m);
}

int main(void)
{
    test_view();
    test_sort_and_unsorted_finding();
    test_findings();
    test_subgraph_scope();
    return TEST_RESULT();
}
