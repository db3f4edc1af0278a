/*
 * test_big_external.c — a model past protobuf's 2 GiB limit.
 *
 * Builds, from the protobuf-c structs directly, a model with three float32
 * initializers of 800 MiB each (2.34 GiB in all; element i of tensor k is
 * value_at(k, i), exact in float32) feeding Sum and Add nodes, then:
 *   1. saves it with default options (NULL): AUTO must go external by itself
 *      (report.external_was_forced), the .onnx small, the data file holding
 *      all 3 tensors;
 *   2. saves it with ONNXQ_EXTERNAL_NEVER: must fail, naming the file and the
 *      2 GiB limit, leaving no file behind;
 *   3. frees it, reloads the saved model (weights stay mapped, not read) and
 *      checks a sample of each tensor's values through onnxq_tensor_raw_bytes
 *      and onnxq_tensor_check_data;
 *   4. saves the reloaded model with ONNXQ_EXTERNAL_NEVER: fails the same way.
 * Everything is written in a fresh folder under DIR (argv[1], default
 * $TMPDIR or /tmp) that is removed at exit, on failure and on fatal signals
 * too.  Needs about 2.4 GiB of memory and 2.4 GiB of disk; exits 77 (ctest
 * SKIP_RETURN_CODE) when the disk has less than 5 GiB free.
 *
 * usage: test_big_external [DIR]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "onnxq/model.h"
#include "onnxq/tensor.h"
#include "testing.h"

enum { N_TENSORS = 3, ROWS = 800, COLS = 262144 }; /* 800 x 256 Ki floats */
#define TENSOR_ELEMS ((uint64_t)ROWS * COLS)
#define TENSOR_BYTES (TENSOR_ELEMS * sizeof(float)) /* 800 MiB */
#define GIB (1024.0 * 1024 * 1024)

static char work_dir[4096];

/* Element i of tensor k: below 2^24, so exact in float32. */
static float value_at(int k, uint64_t i)
{
    return (float)((i * 7u + (uint64_t)k * 1000003u) & 0xFFFFFFu);
}

/* ---- cleanup: remove the work folder whatever happens -------------------- */

static void remove_work_dir(void)
{
    if (!work_dir[0])
        return;
    DIR *d = opendir(work_dir);
    if (d) {
        struct dirent *e;
        char path[sizeof work_dir + 256];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' &&
                (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
                continue;
            snprintf(path, sizeof path, "%s/%s", work_dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(work_dir);
    work_dir[0] = 0;
}

static void on_signal(int sig)
{
    remove_work_dir(); /* not async-signal-safe (opendir), fine for a test */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Names of the files in the work folder that start with prefix, joined. */
static int files_starting_with(const char *prefix, char *list, size_t size)
{
    int n = 0;
    list[0] = 0;
    DIR *d = opendir(work_dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            size_t at = strlen(list);
            snprintf(list + at, size - at, "%s ", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- building the model with protobuf-c structs ---------------------------- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "test_big_external: out of memory\n");
        exit(1); /* atexit removes the work folder */
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = xcalloc(strlen(s) + 1, 1);
    memcpy(d, s, strlen(s));
    return d;
}

static Onnx__TensorProto *make_weight(int k)
{
    Onnx__TensorProto *t = xcalloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    char name[16];
    snprintf(name, sizeof name, "w%d", k);
    t->name = xstrdup(name);
    t->n_dims = 2;
    t->dims = xcalloc(2, sizeof *t->dims);
    t->dims[0] = ROWS;
    t->dims[1] = COLS;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    /* 2 MiB aligned and marked for huge pages: first-touching 800 MiB in 4 KiB
     * pages costs this VM ~4 s per tensor (freed with free() like the rest). */
    float *v = NULL;
    if (posix_memalign((void **)&v, 2u << 20, TENSOR_BYTES) != 0)
        v = NULL;
    else
        madvise(v, TENSOR_BYTES, MADV_HUGEPAGE);
    if (!v) {
        fprintf(stderr, "test_big_external: cannot allocate 800 MiB\n");
        exit(1);
    }
    for (uint64_t i = 0; i < TENSOR_ELEMS; i++)
        v[i] = value_at(k, i);
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)v;
    t->raw_data.len = TENSOR_BYTES;
    return t;
}

static Onnx__ValueInfoProto *make_value_info(const char *name)
{
    Onnx__ValueInfoProto *vi = xcalloc(1, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = xstrdup(name);
    Onnx__TypeProto *type = xcalloc(1, sizeof *type);
    onnx__type_proto__init(type);
    Onnx__TypeProto__Tensor *tt = xcalloc(1, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *shape = xcalloc(1, sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = 2;
    shape->dim = xcalloc(2, sizeof *shape->dim);
    for (int i = 0; i < 2; i++) {
        Onnx__TensorShapeProto__Dimension *d = xcalloc(1, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = i == 0 ? ROWS : COLS;
        shape->dim[i] = d;
    }
    tt->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    vi->type = type;
    return vi;
}

static Onnx__NodeProto *make_node(const char *op, const char *name,
                                  const char *const *inputs, size_t n_inputs,
                                  const char *output)
{
    Onnx__NodeProto *n = xcalloc(1, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = xstrdup(op);
    n->name = xstrdup(name);
    n->n_input = n_inputs;
    n->input = xcalloc(n_inputs, sizeof *n->input);
    for (size_t i = 0; i < n_inputs; i++)
        n->input[i] = xstrdup(inputs[i]);
    n->n_output = 1;
    n->output = xcalloc(1, sizeof *n->output);
    n->output[0] = xstrdup(output);
    return n;
}

/* y = x + Sum(w0, w1, w2) + w2: Sum and Add nodes over 2.34 GiB of weights. */
static Onnx__ModelProto *make_model(void)
{
    Onnx__ModelProto *m = xcalloc(1, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = xstrdup("onnxq test_big_external");
    m->n_opset_import = 1;
    m->opset_import = xcalloc(1, sizeof *m->opset_import);
    Onnx__OperatorSetIdProto *op = xcalloc(1, sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = xstrdup("");
    op->has_version = 1;
    op->version = 13;
    m->opset_import[0] = op;

    Onnx__GraphProto *g = xcalloc(1, sizeof *g);
    onnx__graph_proto__init(g);
    g->name = xstrdup("big");
    g->n_initializer = N_TENSORS;
    g->initializer = xcalloc(N_TENSORS, sizeof *g->initializer);
    for (int k = 0; k < N_TENSORS; k++)
        g->initializer[k] = make_weight(k);
    static const char *const sum_in[] = {"w0", "w1", "w2"};
    static const char *const add_in[] = {"x", "s"};
    static const char *const add2_in[] = {"t", "w2"};
    g->n_node = 3;
    g->node = xcalloc(3, sizeof *g->node);
    g->node[0] = make_node("Sum", "sum0", sum_in, 3, "s");
    g->node[1] = make_node("Add", "add0", add_in, 2, "t");
    g->node[2] = make_node("Add", "add1", add2_in, 2, "y");
    g->n_input = 1;
    g->input = xcalloc(1, sizeof *g->input);
    g->input[0] = make_value_info("x");
    g->n_output = 1;
    g->output = xcalloc(1, sizeof *g->output);
    g->output[0] = make_value_info("y");
    m->graph = g;
    return m;
}

/* ---- the checks -------------------------------------------------------------- */

/* Saving with ONNXQ_EXTERNAL_NEVER must fail cleanly, leaving nothing. */
static void check_never_fails(onnxq_model *model, const char *what)
{
    char path[sizeof work_dir + 32];
    snprintf(path, sizeof path, "%s/never.onnx", work_dir);
    onnxq_save_options opts;
    onnxq_save_options_init(&opts);
    opts.external = ONNXQ_EXTERNAL_NEVER;
    onnxq_error err = {0};
    double t0 = now();
    onnxq_status s = onnxq_model_save(model, path, &opts, NULL, &err);
    printf("save NEVER (%s): %.2f s: %s\n", what, now() - t0, err.message);
    CHECK(s != ONNXQ_OK);
    CHECK_CONTAINS(err.message, path);
    CHECK_CONTAINS(err.message, "2 GiB");
    CHECK(strchr(err.message, '\n') == NULL);
    char left[1024];
    if (files_starting_with("never.onnx", left, sizeof left)) {
        fprintf(stderr, "save NEVER (%s) left files: %s\n", what, left);
        test_failures++;
    }
}

static void check_values(onnxq_model *model, const Onnx__TensorProto *t,
                         int k)
{
    onnxq_error err = {0};
    CHECK(onnxq_tensor_is_external(t));
    onnxq_status s = onnxq_tensor_check_data(model, t, &err);
    CHECK(s == ONNXQ_OK);
    if (s != ONNXQ_OK)
        fprintf(stderr, "  %s\n", err.message);
    const void *data = NULL;
    size_t size = 0;
    s = onnxq_tensor_raw_bytes(model, t, &data, &size, &err);
    CHECK(s == ONNXQ_OK);
    if (s != ONNXQ_OK) {
        fprintf(stderr, "  %s\n", err.message);
        return;
    }
    CHECK_EQ_INT(size, TENSOR_BYTES);
    if (size != TENSOR_BYTES)
        return;
    const float *v = data;
    /* both ends, every page-ish stride, and a pseudo-random spread */
    int bad = 0;
    uint64_t idx[2100];
    size_t n = 0;
    idx[n++] = 0;
    idx[n++] = TENSOR_ELEMS - 1;
    for (uint64_t i = 0; i < 1024; i++)
        idx[n++] = i * (TENSOR_ELEMS / 1024) + (i % COLS);
    uint64_t x = 0x9E3779B97F4A7C15u + (uint64_t)k;
    for (int i = 0; i < 1024; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        idx[n++] = x % TENSOR_ELEMS;
    }
    for (size_t i = 0; i < n; i++)
        if (v[idx[i]] != value_at(k, idx[i]) && bad++ < 5)
            fprintf(stderr, "  %s[%llu] = %g, expected %g\n", t->name,
                    (unsigned long long)idx[i], v[idx[i]],
                    value_at(k, idx[i]));
    CHECK_EQ_INT(bad, 0);
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    snprintf(work_dir, sizeof work_dir, "%s/onnxq-big-XXXXXX", parent);
    if (!mkdtemp(work_dir)) {
        perror(work_dir);
        return 1;
    }
    atexit(remove_work_dir);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGABRT, on_signal);

    struct statvfs fs;
    if (statvfs(work_dir, &fs) == 0 &&
        (double)fs.f_bavail * fs.f_frsize < 5 * GIB) {
        printf("SKIP: less than 5 GiB free in %s\n", parent);
        return 77;
    }

    char model_path[sizeof work_dir + 32];
    snprintf(model_path, sizeof model_path, "%s/big.onnx", work_dir);

    /* 1. build and save with default options */
    double t0 = now();
    onnxq_model *model = NULL;
    onnxq_error err = {0};
    if (onnxq_model_wrap(make_model(), work_dir, &model, &err) != ONNXQ_OK) {
        fprintf(stderr, "wrap: %s\n", err.message);
        return 1;
    }
    printf("built %d x %.0f MiB in %.2f s\n", N_TENSORS,
           TENSOR_BYTES / (1024.0 * 1024), now() - t0);

    t0 = now();
    onnxq_save_report rep;
    memset(&rep, 0, sizeof rep);
    onnxq_status s = onnxq_model_save(model, model_path, NULL, &rep, &err);
    printf("save AUTO: %.2f s, %.2f GiB external in %s, %llu bytes inline\n",
           now() - t0, rep.external_bytes / GIB, rep.location,
           (unsigned long long)rep.inline_bytes);
    CHECK(s == ONNXQ_OK);
    if (s != ONNXQ_OK) {
        fprintf(stderr, "save: %s\n", err.message);
        onnxq_model_destroy(model);
        return TEST_RESULT();
    }
    CHECK_EQ_INT(rep.external_was_forced, 1);
    CHECK_EQ_INT(rep.wrote_external, 1);
    CHECK_EQ_INT(rep.external_tensors, N_TENSORS);
    CHECK_EQ_INT(rep.external_bytes, N_TENSORS * TENSOR_BYTES);
    CHECK_STR(rep.location, "big.onnx.data");
    CHECK(rep.inline_bytes < 64 * 1024);
    /* the model in memory is unchanged: its tensors are still inline */
    Onnx__GraphProto *g = onnxq_model_proto(model)->graph;
    for (int k = 0; k < N_TENSORS; k++)
        CHECK(!onnxq_tensor_is_external(g->initializer[k]) &&
              g->initializer[k]->raw_data.len == TENSOR_BYTES);
    struct stat st;
    char data_path[sizeof model_path + 8];
    snprintf(data_path, sizeof data_path, "%s.data", model_path);
    CHECK(stat(data_path, &st) == 0 &&
          (uint64_t)st.st_size >= N_TENSORS * TENSOR_BYTES);
    char left[1024];
    CHECK_EQ_INT(files_starting_with("big.onnx", left, sizeof left), 2);

    /* 2. never external: refused */
    check_never_fails(model, "built in memory");
    onnxq_model_destroy(model);

    /* 3. reload: the weights stay in the mapped data file */
    t0 = now();
    model = NULL;
    s = onnxq_model_load_file(model_path, &model, &err);
    CHECK(s == ONNXQ_OK);
    if (s != ONNXQ_OK) {
        fprintf(stderr, "reload: %s\n", err.message);
        return TEST_RESULT();
    }
    g = onnxq_model_proto(model)->graph;
    CHECK_EQ_INT(g->n_initializer, N_TENSORS);
    CHECK_EQ_INT(g->n_node, 3);
    for (size_t k = 0; k < g->n_initializer && k < N_TENSORS; k++)
        check_values(model, g->initializer[k], (int)k);
    printf("reload and sample checks: %.2f s\n", now() - t0);

    /* 4. never external from the reloaded (mapped) model: refused too */
    check_never_fails(model, "reloaded");
    onnxq_model_destroy(model);
    return TEST_RESULT();
}
