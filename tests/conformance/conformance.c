/*
 * conformance.c — runs the ONNX backend test data that Debian ships
 * (libonnx-testdata: node/, pytorch-converted/, pytorch-operator/, simple/)
 * through onnxq's runtime and compares with the expected outputs.
 *
 * usage: conformance DATA_ROOT EXPECTED_FAILURES [--filter SUBSTR] [-v]
 *
 * A test whose model has an op without a kernel is skipped (the summary
 * counts tests per missing op).  Every other test must pass, unless it is
 * listed in EXPECTED_FAILURES ("test_name  reason" per line, # comments);
 * a listed test that passes is an error too, so the list stays true.
 * Ends with "N passed, M failed, K skipped".
 *
 * Comparison: same dtype and shape; integers and bools exactly; floats with
 * |got - want| <= atol + rtol * |want| (rtol 1e-3, atol 1e-5 as the ONNX
 * backend tests use, NaN matching NaN; bfloat16, with 8 significant bits,
 * within rtol 1/128).  ONNX 1.12's test data stores bfloat16 tensors as
 * uint16: they are read as the type the model declares.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnxq/graph.h"
#include "onnxq/ops.h"
#include "onnxq/runtime.h"
#include "onnxq/tensor.h"

static const char *filter;
static int verbose;

typedef struct name_list {
    char **names;
    char **notes;
    size_t n;
} name_list;

static void list_add(name_list *l, const char *name, const char *note)
{
    l->names = realloc(l->names, (l->n + 1) * sizeof *l->names);
    l->notes = realloc(l->notes, (l->n + 1) * sizeof *l->notes);
    l->names[l->n] = strdup(name);
    l->notes[l->n] = strdup(note ? note : "");
    l->n++;
}

static long list_find(const name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return (long)i;
    return -1;
}

static name_list expected, unexpected_fail, unexpected_pass, failed_all;
/* missing op -> number of tests skipped for it */
static name_list missing_ops;
static size_t *missing_counts;
static int n_pass, n_fail, n_skip, n_node_total, n_node_run;

static void count_missing(const char *op)
{
    long i = list_find(&missing_ops, op);
    if (i < 0) {
        list_add(&missing_ops, op, NULL);
        missing_counts = realloc(missing_counts,
                                 missing_ops.n * sizeof *missing_counts);
        missing_counts[missing_ops.n - 1] = 0;
        i = (long)missing_ops.n - 1;
    }
    missing_counts[i]++;
}

static void load_expected(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "conformance: cannot read %s\n", path);
        exit(2);
    }
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || !*p)
            continue;
        char *end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n')
            end++;
        char *reason = *end ? end + 1 : end;
        *end = '\0';
        reason[strcspn(reason, "\n")] = '\0';
        list_add(&expected, p, reason);
    }
    fclose(fp);
}

static int read_tensor_pb(const char *path, Onnx__TensorProto **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc(n ? (size_t)n : 1);
    int ok = buf && fread(buf, 1, (size_t)n, fp) == (size_t)n;
    fclose(fp);
    *out = ok ? onnx__tensor_proto__unpack(NULL, (size_t)n, buf) : NULL;
    free(buf);
    return *out ? 0 : -1;
}

static int to_tensor(const Onnx__TensorProto *tp, onnxq_tensor *t)
{
    uint64_t bytes;
    if (tp->n_dims > ONNXQ_MAX_RANK ||
        onnxq_tensor_expected_bytes(tp, &bytes, NULL) != ONNXQ_OK)
        return -1;
    t->dtype = tp->data_type;
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++)
        t->dims[i] = tp->dims[i];
    t->data = malloc(bytes ? bytes : 1);
    return onnxq_tensor_copy_data(NULL, tp, t->data, bytes, NULL) == ONNXQ_OK
               ? 0 : -1;
}

static double elem(const onnxq_tensor *t, size_t i);

/* 0 if equal within tolerance; else writes why into msg. */
static int compare(const onnxq_tensor *got, const onnxq_tensor *want,
                   char *msg, size_t size)
{
    if (got->dtype != want->dtype) {
        snprintf(msg, size, "dtype %s, expected %s",
                 onnxq_dtype_name(got->dtype), onnxq_dtype_name(want->dtype));
        return -1;
    }
    if (got->rank != want->rank ||
        memcmp(got->dims, want->dims, (size_t)got->rank * sizeof *got->dims)) {
        snprintf(msg, size, "shape differs (rank %d vs %d)", got->rank,
                 want->rank);
        return -1;
    }
    uint64_t n;
    onnxq_shape_numel(want->dims, (size_t)want->rank, &n);
    int is_float = want->dtype == 1 || want->dtype == 10 || want->dtype == 11 ||
                   want->dtype == 16;
    double rtol = want->dtype == 16 ? 1.0 / 128 : 1e-3;
    for (size_t i = 0; i < n; i++) {
        double a = elem(got, i), b = elem(want, i);
        if (is_float) {
            if (isnan(a) && isnan(b))
                continue;
            if (isinf(a) || isinf(b)) {
                if (a == b)
                    continue;
            } else if (fabs(a - b) <= 1e-5 + rtol * fabs(b)) {
                continue;
            }
        } else if (a == b) {
            continue;
        }
        snprintf(msg, size, "element %zu is %.9g, expected %.9g", i, a, b);
        return -1;
    }
    return 0;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f,
             mant = h & 0x3ff;
    float f;
    if (exp == 0)
        f = ldexpf((float)mant, -24);
    else if (exp == 31)
        f = mant ? NAN : INFINITY;
    else
        f = ldexpf((float)(mant | 0x400), (int)exp - 25);
    return sign ? -f : f;
}

static double elem(const onnxq_tensor *t, size_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case 1: return ((const float *)d)[i];
    case 2: return ((const uint8_t *)d)[i];
    case 3: return ((const int8_t *)d)[i];
    case 4: return ((const uint16_t *)d)[i];
    case 5: return ((const int16_t *)d)[i];
    case 6: return ((const int32_t *)d)[i];
    case 7: return (double)((const int64_t *)d)[i];
    case 9: return ((const uint8_t *)d)[i];
    case 10: return half_to_float(((const uint16_t *)d)[i]);
    case 11: return ((const double *)d)[i];
    case 12: return ((const uint32_t *)d)[i];
    case 13: return (double)((const uint64_t *)d)[i];
    case 16: {
        uint32_t bits = (uint32_t)((const uint16_t *)d)[i] << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    }
    return NAN;
}

static void collect_missing(onnxq_model *m, const Onnx__GraphProto *g,
                            name_list *ops)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *d = n->domain ? n->domain : "";
        if (!onnxq_op_supported(d, n->op_type, onnxq_model_opset(m, d)) &&
            list_find(ops, n->op_type) < 0)
            list_add(ops, n->op_type, NULL);
        for (size_t a = 0; a < n->n_attribute; a++) {
            if (n->attribute[a]->g)
                collect_missing(m, n->attribute[a]->g, ops);
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                collect_missing(m, n->attribute[a]->graphs[k], ops);
        }
    }
}

static void free_list(name_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->notes[i]);
    }
    free(l->names);
    free(l->notes);
    memset(l, 0, sizeof *l);
}

/* Runs one test folder.  Returns 1 pass, 0 fail, -1 skip. */
static int run_test(const char *dir, const char *name, char *why, size_t size)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    onnxq_model *m = NULL;
    onnxq_error err;
    if (onnxq_model_load_file(path, &m, &err) != ONNXQ_OK) {
        snprintf(why, size, "load: %s", err.message);
        return 0;
    }
    name_list missing = {0};
    collect_missing(m, onnxq_model_proto(m)->graph, &missing);
    if (missing.n) {
        for (size_t i = 0; i < missing.n; i++)
            count_missing(missing.names[i]);
        snprintf(why, size, "no kernel for %s%s", missing.names[0],
                 missing.n > 1 ? " (and more)" : "");
        free_list(&missing);
        onnxq_model_destroy(m);
        return -1;
    }
    (void)name;
    onnxq_session *s = NULL;
    int result = 1;
    if (onnxq_session_create(m, NULL, &s, &err) != ONNXQ_OK) {
        snprintf(why, size, "session: %s", err.message);
        onnxq_model_destroy(m);
        return 0;
    }
    size_t n_in = onnxq_session_input_count(s);
    for (int set = 0; result == 1; set++) {
        char set_dir[8500];
        snprintf(set_dir, sizeof set_dir, "%s/test_data_set_%d", dir, set);
        struct stat st;
        if (stat(set_dir, &st) != 0)
            break;
        onnxq_tensor *ins = calloc(n_in + 1, sizeof *ins);
        size_t have = 0;
        for (size_t i = 0; i < n_in; i++) {
            char p[8600];
            snprintf(p, sizeof p, "%s/input_%zu.pb", set_dir, i);
            Onnx__TensorProto *tp;
            if (read_tensor_pb(p, &tp) != 0)
                break;
            const Onnx__ValueInfoProto *vi = onnxq_session_input(s, i);
            int is_tensor = vi->type && vi->type->value_case ==
                                            ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
            int ok = is_tensor && to_tensor(tp, &ins[i]) == 0;
            if (ok && ins[i].dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 &&
                vi->type->tensor_type->elem_type ==
                    ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
                ins[i].dtype = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
            onnx__tensor_proto__free_unpacked(tp, NULL);
            if (!ok) {
                snprintf(why, size, "input %zu is not a plain tensor", i);
                result = -1;
                break;
            }
            have++;
        }
        if (result == 1 && have != n_in) {
            snprintf(why, size, "test data has fewer inputs than the model");
            result = 0;
        }
        onnxq_tensor *outs = NULL;
        size_t n_out = 0;
        if (result == 1 &&
            onnxq_session_run(s, ins, n_in, &outs, &n_out, &err) != ONNXQ_OK) {
            snprintf(why, size, "run: %s", err.message);
            result = 0;
        }
        for (size_t o = 0; result == 1 && o < n_out; o++) {
            char p[8600];
            snprintf(p, sizeof p, "%s/output_%zu.pb", set_dir, o);
            Onnx__TensorProto *tp;
            onnxq_tensor want = {0};
            if (read_tensor_pb(p, &tp) != 0)
                continue; /* an output the test does not check */
            int ok = to_tensor(tp, &want) == 0;
            onnx__tensor_proto__free_unpacked(tp, NULL);
            if (ok && want.dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 &&
                outs[o].dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
                want.dtype = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
            char msg[256];
            if (!ok) {
                snprintf(why, size, "output %zu: expected data unreadable", o);
                result = -1;
            } else if (compare(&outs[o], &want, msg, sizeof msg) != 0) {
                snprintf(why, size, "output %zu (set %d): %s", o, set, msg);
                result = 0;
            }
            free(want.data);
        }
        onnxq_tensors_free(outs, n_out);
        for (size_t i = 0; i < n_in; i++)
            free(ins[i].data);
        free(ins);
    }
    onnxq_session_destroy(s);
    onnxq_model_destroy(m);
    return result;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_folder(const char *root, const char *sub)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "test_", 5) == 0) {
            names = realloc(names, (n + 1) * sizeof *names);
            names[n++] = strdup(de->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        if (filter && !strstr(names[i], filter)) {
            free(names[i]);
            continue;
        }
        char tdir[8300], why[1200] = "";
        snprintf(tdir, sizeof tdir, "%s/%s", dir, names[i]);
        int is_node = strcmp(sub, "node") == 0;
        n_node_total += is_node;
        int r = run_test(tdir, names[i], why, sizeof why);
        char label[8400];
        snprintf(label, sizeof label, "%s/%s", sub, names[i]);
        long ex = list_find(&expected, names[i]);
        if (r < 0) {
            n_skip++;
            if (verbose)
                printf("SKIP %s: %s\n", label, why);
        } else if (r == 1) {
            n_pass++;
            n_node_run += is_node;
            if (ex >= 0)
                list_add(&unexpected_pass, label, expected.notes[ex]);
            if (verbose)
                printf("PASS %s\n", label);
        } else {
            n_fail++;
            n_node_run += is_node;
            list_add(&failed_all, label, why);
            if (ex < 0)
                list_add(&unexpected_fail, label, why);
            if (verbose || ex < 0)
                printf("FAIL %s: %s%s\n", label, why,
                       ex >= 0 ? " (expected)" : "");
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: conformance DATA_ROOT EXPECTED_FAILURES "
                        "[--filter SUBSTR] [-v]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
    }
    load_expected(argv[2]);
    const char *subs[] = {"node", "pytorch-converted", "pytorch-operator",
                          "simple"};
    for (size_t i = 0; i < 4; i++)
        run_folder(argv[1], subs[i]);

    if (missing_ops.n) {
        printf("skipped tests by op without a kernel:\n");
        for (size_t i = 0; i < missing_ops.n; i++)
            printf("  %-28s %zu\n", missing_ops.names[i], missing_counts[i]);
    }
    if (failed_all.n) {
        printf("failing tests (expected ones included):\n");
        for (size_t i = 0; i < failed_all.n; i++)
            printf("  %s: %s\n", failed_all.names[i], failed_all.notes[i]);
    }
    for (size_t i = 0; i < unexpected_pass.n; i++)
        printf("UNEXPECTED PASS %s (listed as: %s): remove it from the "
               "expected failures\n", unexpected_pass.names[i],
               unexpected_pass.notes[i]);
    if (n_node_total)
        printf("node tests run: %d of %d (%.1f%%)\n", n_node_run, n_node_total,
               100.0 * n_node_run / n_node_total);
    printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
    int bad = unexpected_fail.n || unexpected_pass.n;
    free_list(&expected);
    free_list(&unexpected_fail);
    free_list(&unexpected_pass);
    free_list(&failed_all);
    free_list(&missing_ops);
    free(missing_counts);
    return bad ? 1 : 0;
}
