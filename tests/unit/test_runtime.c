/* test_runtime.c — the executor itself: the observer hook sees every
 * intermediate tensor and can stop a run; intermediates are freed after
 * their last use (peak memory stays at a few tensors on a long chain); a new
 * input shape just works; inputs that contradict the model are refused with
 * the input named; an op without a kernel fails at session creation. */
#include <stdlib.h>
#include <string.h>

#include "onnxq/builder.h"
#include "onnxq/runtime.h"
#include "testing.h"

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, CHAIN = 12 };

/* x -> Neg -> Abs -> Neg -> Abs ... (CHAIN nodes) -> y = |x| */
static onnxq_model *chain_model(void)
{
    Onnx__ModelProto *p = onnxq_build_model(13);
    int64_t d[] = {-1};
    const char *dp[] = {"n"};
    onnxq_build_input(p->graph, "x", F32, 1, d, dp);
    char in[16] = "x", out[16];
    for (int i = 0; i < CHAIN; i++) {
        if (i == CHAIN - 1)
            snprintf(out, sizeof out, "y");
        else
            snprintf(out, sizeof out, "t%d", i);
        const char *ins[] = {in}, *outs[] = {out};
        onnxq_build_node(p->graph, i % 2 ? "Abs" : "Neg", NULL, ins, 1, outs, 1);
        snprintf(in, sizeof in, "%s", out);
    }
    onnxq_build_output(p->graph, "y", F32, 1, d, dp);
    onnxq_model *m = NULL;
    CHECK(onnxq_model_wrap(p, NULL, &m, NULL) == ONNXQ_OK);
    return m;
}

typedef struct seen {
    int calls;
    char last[16];
    int stop_at; /* stop when this many tensors were seen (0: never) */
} seen;

static int observe(void *user, const char *name, const onnxq_tensor *t)
{
    seen *s = user;
    s->calls++;
    snprintf(s->last, sizeof s->last, "%s", name);
    CHECK(t->dtype == F32 && t->rank == 1);
    return s->stop_at && s->calls >= s->stop_at;
}

int main(void)
{
    onnxq_model *m = chain_model();
    seen obs = {0, "", 0};
    onnxq_session_options o;
    onnxq_session_options_init(&o);
    o.observer = observe;
    o.observer_user = &obs;
    onnxq_session *s = NULL;
    onnxq_error err;
    CHECK(onnxq_session_create(m, &o, &s, &err) == ONNXQ_OK);
    CHECK_EQ_INT(onnxq_session_input_count(s), 1);

    enum { N = 10000 };
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++)
        x[i] = (float)(i - N / 2);
    onnxq_tensor in = {F32, 1, {N}, x};
    onnxq_tensor *out = NULL;
    size_t n_out = 0;
    CHECK(onnxq_session_run(s, &in, 1, &out, &n_out, &err) == ONNXQ_OK);
    CHECK_EQ_INT(n_out, 1);
    CHECK(out && out[0].dims[0] == N);
    int exact = out != NULL;
    for (int i = 0; exact && i < N; i++)
        exact = ((float *)out[0].data)[i] == (x[i] < 0 ? -x[i] : x[i]);
    CHECK(exact);
    CHECK_EQ_INT(obs.calls, CHAIN);
    CHECK_STR(obs.last, "y");
    /* freed after last use: never more than two chain tensors alive, far
     * below the CHAIN tensors a keep-everything executor would hold */
    size_t one = N * sizeof(float);
    CHECK(onnxq_session_peak_bytes(s) >= one);
    CHECK(onnxq_session_peak_bytes(s) <= 2 * one);
    onnxq_tensors_free(out, n_out);

    /* another input shape, same session */
    onnxq_tensor small = {F32, 1, {3}, x};
    CHECK(onnxq_session_run(s, &small, 1, &out, &n_out, &err) == ONNXQ_OK);
    CHECK(out && out[0].dims[0] == 3);
    onnxq_tensors_free(out, n_out);

    /* the observer stops the run */
    obs.calls = 0;
    obs.stop_at = 3;
    CHECK(onnxq_session_run(s, &in, 1, &out, &n_out, &err) ==
          ONNXQ_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(err.message, "stopped by the observer");
    CHECK_EQ_INT(obs.calls, 3);

    /* inputs that contradict the model */
    onnxq_tensor wrong_type = {ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 1, {3}, x};
    CHECK(onnxq_session_run(s, &wrong_type, 1, &out, &n_out, &err) ==
          ONNXQ_ERR_SHAPE_MISMATCH);
    CHECK_CONTAINS(err.message, "input 'x': model wants float32, got int32");
    onnxq_tensor wrong_rank = {F32, 2, {1, 3}, x};
    CHECK(onnxq_session_run(s, &wrong_rank, 1, &out, &n_out, &err) ==
          ONNXQ_ERR_SHAPE_MISMATCH);
    CHECK_CONTAINS(err.message, "rank");
    CHECK(onnxq_session_run(s, &in, 0, &out, &n_out, &err) ==
          ONNXQ_ERR_INVALID_ARGUMENT);
    onnxq_session_destroy(s);

    /* no kernel: the session is refused before anything runs */
    Onnx__NodeProto *n0 = onnxq_model_proto(m)->graph->node[0];
    free(n0->op_type);
    n0->op_type = strdup("NoSuchOp");
    CHECK(onnxq_session_create(m, NULL, &s, &err) == ONNXQ_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.message, "NoSuchOp");
    CHECK_CONTAINS(err.message, "no kernel");

    free(x);
    onnxq_model_destroy(m);
    return TEST_RESULT();
}
