/*
 * fast_vs_ref.c — one model timed in onnxq twice in one process: with the
 * fast kernels (kernels/dnnl) and with reference_only set, so "before" and
 * "after" are measured on the same machine state; prints the median latency
 * of each and the op types that took the most time.  Float inputs are
 * uniform in [-1, 1) (fixed seed); symbolic dims not given are 1.
 *
 * build: bench/fast_vs_ref.sh BUILD_DIR (links BUILD_DIR/libonnxq.a)
 * usage: fast_vs_ref MODEL.onnx [--threads N] [--runs N] [NAME=D0,D1,...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnxq/runtime.h"

enum { MAX_INPUTS = 16, TOP_OPS = 8 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Dims of input vi: from NAME=D0,D1,... if given, else the model's (1 for
 * symbolic ones).  Returns the rank, -1 if unusable. */
static int input_dims(const Onnx__ValueInfoProto *vi, int argc, char **argv,
                      int64_t *dims)
{
    size_t len = strlen(vi->name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], vi->name, len) == 0 && argv[i][len] == '=') {
            int r = 0;
            for (char *p = argv[i] + len + 1; *p && r < ONNXQ_MAX_RANK; r++) {
                dims[r] = strtoll(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            return r;
        }
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || !tp->tensor_type || !tp->tensor_type->shape)
        return -1;
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    if (sh->n_dim > ONNXQ_MAX_RANK)
        return -1;
    for (size_t d = 0; d < sh->n_dim; d++)
        dims[d] = sh->dim[d]->value_case ==
                          ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                      ? sh->dim[d]->dim_value : 1;
    return (int)sh->n_dim;
}

/* Times runs of s and prints the median, the minimum and the top ops. */
static int time_session(onnxq_session *s, const onnxq_tensor *in, size_t n_in,
                        int runs, const char *label)
{
    double *t = malloc((size_t)runs * sizeof *t);
    onnxq_error err;
    for (int r = -3; r < runs; r++) { /* three warm-up runs */
        onnxq_tensor *out;
        size_t n_out;
        double t0 = now_ms();
        if (onnxq_session_run(s, in, n_in, &out, &n_out, &err) != ONNXQ_OK) {
            fprintf(stderr, "%s: %s\n", label, err.message);
            free(t);
            return -1;
        }
        if (r >= 0)
            t[r] = now_ms() - t0;
        onnxq_tensors_free(out, n_out);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    double med = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    printf("%-10s median %9.3f ms   min %9.3f ms\n", label, med, t[0]);
    const onnxq_op_time *ops;
    size_t n_ops = onnxq_session_op_times(s, &ops);
    for (size_t i = 0; i < n_ops && i < TOP_OPS; i++)
        printf("    %-22s %9.3f ms/run\n", ops[i].op_type,
               ops[i].total_ms / (runs + 3));
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.onnx [--threads N] [--runs N] "
                "[NAME=D0,D1,...]\n", argv[0]);
        return 2;
    }
    int threads = 0, runs = 20, n_shapes = 0;
    char *shapes[64];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (n_shapes < 64)
            shapes[n_shapes++] = argv[i];
    }
    if (runs < 1)
        runs = 1;
    onnxq_model *m = NULL;
    onnxq_error err;
    if (onnxq_model_load_file(argv[1], &m, &err) != ONNXQ_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    onnxq_session *s[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        onnxq_session_options o;
        onnxq_session_options_init(&o);
        o.n_threads = threads;
        o.profile = 1;
        o.reference_only = k;
        if (onnxq_session_create(m, &o, &s[k], &err) != ONNXQ_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    }
    onnxq_tensor in[MAX_INPUTS];
    size_t n_in = onnxq_session_input_count(s[0]);
    if (n_in > MAX_INPUTS) {
        fprintf(stderr, "more than %d inputs\n", MAX_INPUTS);
        return 1;
    }
    unsigned seed = 1;
    for (size_t i = 0; i < n_in; i++) {
        const Onnx__ValueInfoProto *vi = onnxq_session_input(s[0], i);
        int rank = input_dims(vi, n_shapes, shapes, in[i].dims);
        const Onnx__TypeProto__Tensor *tt = vi->type ? vi->type->tensor_type : NULL;
        if (rank < 0 || !tt ||
            tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            fprintf(stderr, "input %s: only float inputs of known rank\n",
                    vi->name);
            return 1;
        }
        in[i].dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        in[i].rank = rank;
        size_t n = onnxq_tensor_nbytes(&in[i]) / sizeof(float);
        float *d = malloc((n ? n : 1) * sizeof *d);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            d[k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
        }
        in[i].data = d;
    }
    printf("%s, %d thread(s), %d runs\n", argv[1], threads, runs);
    int rc = time_session(s[0], in, n_in, runs, "fast") ||
             time_session(s[1], in, n_in, runs, "reference");
    for (size_t i = 0; i < n_in; i++)
        free(in[i].data);
    onnxq_session_destroy(s[0]);
    onnxq_session_destroy(s[1]);
    onnxq_model_destroy(m);
    return rc ? 1 : 0;
}
