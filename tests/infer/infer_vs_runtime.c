/*
 * infer_vs_runtime.c — shape inference checked against the runtime.
 *
 *   infer_vs_runtime testdata DATA_ROOT [--filter SUBSTR] [-v]
 *       every ONNX backend test model (node, pytorch-converted,
 *       pytorch-operator, simple) whose ops the runtime has: outputs'
 *       declared types are stripped, the model is inferred, then run on
 *       each of its test data sets with an observer comparing every tensor
 *       (infer_check.h).  Tests the runtime cannot run are skipped.
 *   infer_vs_runtime model MODEL.onnx RUN [RUN...]
 *       one model, run once per RUN ("name=1x3x640x640[,name2=...]",
 *       random data); prints what inference kept known and symbolic.
 *   infer_vs_runtime infer-all PATH...
 *       infers every .onnx file under the paths (runnable or not: a
 *       robustness sweep for sanitizer builds) and lists the ops inference
 *       did not know, with how many models use each.
 *
 * Fails (exit 1) on any contradiction, on an op inference does not know,
 * or on a conflict inference reports inside a model that runs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "infer_check.h"
#include "onnxq/data.h"
#include "onnxq/graph.h"
#include "onnxq/ops.h"

static const char *filter;
static int verbose;
static ic_counts totals;
static size_t n_tests, n_skipped, n_unknown_op_tests, n_conflict_tests;
static size_t values_total, values_typed, values_ranked, dims_known, dims_sym,
    dims_unk;

static int has_missing_op(onnxq_model *m, const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *d = n->domain ? n->domain : "";
        if (!onnxq_op_supported(d, n->op_type, onnxq_model_opset(m, d)))
            return 1;
        for (size_t a = 0; a < n->n_attribute; a++) {
            if (n->attribute[a]->g && has_missing_op(m, n->attribute[a]->g))
                return 1;
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                if (has_missing_op(m, n->attribute[a]->graphs[k]))
                    return 1;
        }
    }
    return 0;
}

/* Loads model twice (one to run, one to infer) and infers the second.
 * Returns 0, or -1 (message printed). */
static int prepare(const char *path, const char *label, onnxq_model **run_m,
                   onnxq_model **inf_m, onnxq_infer_report *rep, int *bad)
{
    onnxq_error err;
    *bad = 0;
    if (onnxq_model_load_file(path, run_m, &err) != ONNXQ_OK ||
        onnxq_model_load_file(path, inf_m, &err) != ONNXQ_OK) {
        printf("SKIP %s: %s\n", label, err.message);
        onnxq_model_destroy(*run_m);
        *run_m = NULL;
        return -1;
    }
    ic_strip_outputs(onnxq_model_proto(*inf_m)->graph);
    onnxq_infer_report_init(rep);
    if (onnxq_infer_model(*inf_m, NULL, rep, &err) != ONNXQ_OK) {
        printf("FAIL %s: inference: %s\n", label, err.message);
        *bad = 1;
        return -1;
    }
    values_total += rep->values;
    values_typed += rep->typed;
    values_ranked += rep->ranked;
    dims_known += rep->dims_known;
    dims_sym += rep->dims_symbolic;
    dims_unk += rep->dims_unknown;
    for (size_t i = 0; i < rep->n_unknown_ops; i++) {
        printf("UNKNOWN OP %s: %s%s%s (opset %lld)\n", label,
               rep->unknown_ops[i].domain,
               rep->unknown_ops[i].domain[0] ? "." : "",
               rep->unknown_ops[i].op_type,
               (long long)rep->unknown_ops[i].opset);
        *bad = 1;
    }
    if (rep->n_unknown_ops)
        n_unknown_op_tests++;
    return 0;
}

static void report_conflicts(const char *label, const onnxq_infer_report *rep,
                             int *bad)
{
    if (!rep->n_conflicts_total)
        return;
    n_conflict_tests++;
    *bad = 1;
    for (size_t i = 0; i < rep->n_conflicts; i++)
        printf("CONFLICT %s: %s\n", label, rep->conflicts[i]);
}

/* ---- testdata mode ------------------------------------------------------- */

/* 1 pass, 0 fail, -1 skip. */
static int run_test(const char *dir, const char *label)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    onnxq_model *A = NULL, *B = NULL;
    onnxq_infer_report rep;
    int bad = 0;
    onnxq_error err;
    /* models the runtime cannot run prove nothing here */
    if (onnxq_model_load_file(path, &A, &err) != ONNXQ_OK ||
        has_missing_op(A, onnxq_model_proto(A)->graph)) {
        if (verbose)
            printf("SKIP %s: not loadable, or an op has no kernel\n", label);
        onnxq_model_destroy(A);
        return -1;
    }
    onnxq_model_destroy(A);
    A = NULL;
    if (prepare(path, label, &A, &B, &rep, &bad) != 0) {
        onnxq_infer_report_clear(&rep);
        onnxq_model_destroy(A);
        onnxq_model_destroy(B);
        return bad ? 0 : -1;
    }
    int result = -1;
    onnxq_session *s = NULL;
    ic_state st = {0};
    ic_counts c = {0};
    st.counts = &c;
    st.label = label;
    st.quiet_limit = 10;
    st.verbose = verbose;
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.observer = ic_observe;
    so.observer_user = &st;
    if (onnxq_session_create(A, &so, &s, &err) != ONNXQ_OK) {
        if (verbose)
            printf("SKIP %s: session: %s\n", label, err.message);
        goto done;
    }
    ic_collect(&st, onnxq_model_proto(B)->graph);
    size_t n_in = onnxq_session_input_count(s);
    const char **names = calloc(n_in + 1, sizeof *names);
    for (size_t i = 0; i < n_in; i++)
        names[i] = onnxq_session_input(s, i)->name;
    for (int set = 0;; set++) {
        char set_dir[8500];
        snprintf(set_dir, sizeof set_dir, "%s/test_data_set_%d", dir, set);
        struct stat sb;
        if (stat(set_dir, &sb) != 0)
            break;
        onnxq_tensor *ins = calloc(n_in + 1, sizeof *ins);
        size_t have = 0;
        for (size_t i = 0; i < n_in; i++) {
            char p[8600];
            snprintf(p, sizeof p, "%s/input_%zu.pb", set_dir, i);
            const Onnx__ValueInfoProto *vi = onnxq_session_input(s, i);
            if (!vi->type || vi->type->value_case !=
                                 ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                onnxq_pb_read(p, &ins[i], NULL, &err) != ONNXQ_OK)
                break;
            /* ONNX 1.12 stores bfloat16 test data as uint16 */
            if (ins[i].dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 &&
                vi->type->tensor_type->elem_type ==
                    ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
                ins[i].dtype = ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
            have++;
        }
        if (have == n_in) {
            ic_bind_inputs(&st, onnxq_model_proto(A)->graph, ins, n_in, names);
            onnxq_tensor *outs = NULL;
            size_t n_out = 0;
            ic_counts before = c;
            if (onnxq_session_run(s, ins, n_in, &outs, &n_out, &err) ==
                ONNXQ_OK) {
                /* graph outputs were observed as their nodes made them */
                if (result < 0)
                    result = 1;
                onnxq_tensors_free(outs, n_out);
            } else {
                c = before; /* a run that fails proves nothing */
                if (verbose)
                    printf("SKIP %s set %d: run: %s\n", label, set, err.message);
            }
        }
        for (size_t i = 0; i < n_in; i++)
            free(ins[i].data);
        free(ins);
    }
    free(names);
    if (result == 1) {
        report_conflicts(label, &rep, &bad);
        if (c.contradictions || bad)
            result = 0;
        totals.observed += c.observed;
        totals.no_type += c.no_type;
        totals.types_ok += c.types_ok;
        totals.ranks_ok += c.ranks_ok;
        totals.no_rank += c.no_rank;
        totals.dims_ok += c.dims_ok;
        totals.sym_ok += c.sym_ok;
        totals.sym_eval_ok += c.sym_eval_ok;
        totals.dims_unknown += c.dims_unknown;
        totals.contradictions += c.contradictions;
        if (verbose)
            printf("%s %s: %zu tensors, %zu typed, %zu dims known, %zu "
                   "unknown\n", result ? "PASS" : "FAIL", label, c.observed,
                   c.types_ok, c.dims_ok, c.dims_unknown);
    }
done:
    ic_free(&st);
    onnxq_session_destroy(s);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(A);
    onnxq_model_destroy(B);
    return result;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int testdata(const char *root)
{
    static const char *const subs[] = {"node", "pytorch-converted",
                                       "pytorch-operator", "simple", NULL};
    size_t pass = 0, fail = 0;
    for (size_t k = 0; subs[k]; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, subs[k]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
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
            if (!filter || strstr(names[i], filter)) {
                char tdir[8300], label[8400];
                snprintf(tdir, sizeof tdir, "%s/%s", dir, names[i]);
                snprintf(label, sizeof label, "%s/%s", subs[k], names[i]);
                n_tests++;
                int r = run_test(tdir, label);
                if (r < 0)
                    n_skipped++;
                else if (r)
                    pass++;
                else {
                    fail++;
                    printf("FAIL %s\n", label);
                }
            }
            free(names[i]);
        }
        free(names);
    }
    printf("\n%zu models: %zu checked (%zu passed, %zu failed), %zu skipped "
           "(the runtime cannot run them)\n", n_tests, pass + fail, pass, fail,
           n_skipped);
    printf("inference: %zu values, %zu typed, %zu with a shape; dims %zu "
           "known, %zu symbolic, %zu unknown\n", values_total, values_typed,
           values_ranked, dims_known, dims_sym, dims_unk);
    printf("runtime: %zu tensors checked: %zu types matched, %zu without an "
           "inferred type; %zu ranks matched, %zu without a shape; dims: %zu "
           "known matched, %zu symbolic consistent (%zu evaluated), %zu "
           "unknown; %zu contradictions\n", totals.observed, totals.types_ok,
           totals.no_type, totals.ranks_ok, totals.no_rank, totals.dims_ok,
           totals.sym_ok, totals.sym_eval_ok, totals.dims_unknown,
           totals.contradictions);
    printf("models with unknown ops: %zu, with conflicts: %zu\n",
           n_unknown_op_tests, n_conflict_tests);
    return fail || totals.contradictions || n_unknown_op_tests ? 1 : 0;
}

/* ---- model mode ---------------------------------------------------------- */

typedef struct sym_count {
    char *param;
    size_t uses;
} sym_count;

static void count_syms(const Onnx__GraphProto *g, sym_count **v, size_t *n)
{
    for (size_t i = 0; i < g->n_value_info + g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = i < g->n_value_info
                                             ? g->value_info[i]
                                             : g->output[i - g->n_value_info];
        const Onnx__TypeProto__Tensor *tt = tensor_type_of(vi);
        if (!tt || !tt->shape)
            continue;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            if (dim->value_case !=
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
                continue;
            size_t k = 0;
            while (k < *n && strcmp((*v)[k].param, dim->dim_param) != 0)
                k++;
            if (k == *n) {
                *v = realloc(*v, (*n + 1) * sizeof **v);
                (*v)[(*n)++] = (sym_count){strdup(dim->dim_param), 0};
            }
            (*v)[k].uses++;
        }
    }
}

static void print_type(const char *name, const Onnx__TypeProto__Tensor *tt)
{
    printf("  %s: %s [", name, tt ? onnxq_dtype_name(tt->elem_type) : "?");
    for (size_t d = 0; tt && tt->shape && d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            printf("%s%lld", d ? ", " : "", (long long)dim->dim_value);
        else if (dim->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            printf("%s%s", d ? ", " : "", dim->dim_param);
        else
            printf("%s?", d ? ", " : "");
    }
    printf("]\n");
}

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static int model_mode(const char *path, int n_runs, char **runs)
{
    onnxq_model *A = NULL, *B = NULL;
    onnxq_infer_report rep;
    int bad = 0;
    if (prepare(path, path, &A, &B, &rep, &bad) != 0)
        return 1;
    report_conflicts(path, &rep, &bad);
    printf("%s: %zu values, %zu typed, %zu with a shape; dims %zu known, %zu "
           "symbolic, %zu unknown\n", path, rep.values, rep.typed, rep.ranked,
           rep.dims_known, rep.dims_symbolic, rep.dims_unknown);
    const Onnx__GraphProto *g = onnxq_model_proto(B)->graph;
    sym_count *syms = NULL;
    size_t n_syms = 0;
    count_syms(g, &syms, &n_syms);
    printf("symbolic dims kept (name: dims using it):");
    for (size_t i = 0; i < n_syms; i++) {
        printf("%s %s: %zu", i ? "," : "", syms[i].param, syms[i].uses);
        free(syms[i].param);
    }
    printf("\noutputs as inferred:\n");
    for (size_t i = 0; i < g->n_output; i++)
        print_type(g->output[i]->name, tensor_type_of(g->output[i]));
    free(syms);

    ic_state st = {0};
    ic_counts c = {0};
    st.counts = &c;
    st.label = path;
    st.quiet_limit = 20;
    ic_collect(&st, g);
    onnxq_session_options so;
    onnxq_session_options_init(&so);
    so.observer = ic_observe;
    so.observer_user = &st;
    onnxq_session *s = NULL;
    onnxq_error err;
    int rc = bad;
    if (onnxq_session_create(A, &so, &s, &err) != ONNXQ_OK) {
        printf("FAIL %s: session: %s\n", path, err.message);
        rc = 1;
        goto done;
    }
    size_t n_in = onnxq_session_input_count(s);
    const char **names = calloc(n_in + 1, sizeof *names);
    for (size_t i = 0; i < n_in; i++)
        names[i] = onnxq_session_input(s, i)->name;
    for (int r = 0; r < n_runs; r++) {
        onnxq_tensor *ins = calloc(n_in + 1, sizeof *ins);
        char spec[512];
        snprintf(spec, sizeof spec, "%s", runs[r]);
        for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            for (size_t i = 0; i < n_in; i++) {
                if (strcmp(names[i], tok) != 0)
                    continue;
                onnxq_tensor *t = &ins[i];
                t->dtype = onnxq_session_input(s, i)->type->tensor_type->elem_type;
                t->rank = 0;
                for (char *p = eq + 1; *p; p++) {
                    t->dims[t->rank++] = strtoll(p, &p, 10);
                    if (*p != 'x')
                        break;
                }
                uint64_t n;
                onnxq_shape_numel(t->dims, (size_t)t->rank, &n);
                t->data = calloc(n ? n : 1, onnxq_dtype_size(t->dtype));
                if (t->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
                    for (uint64_t k = 0; k < n; k++)
                        ((float *)t->data)[k] = frand();
            }
        }
        ic_bind_inputs(&st, onnxq_model_proto(A)->graph, ins, n_in, names);
        onnxq_tensor *outs = NULL;
        size_t n_out = 0;
        if (onnxq_session_run(s, ins, n_in, &outs, &n_out, &err) != ONNXQ_OK) {
            printf("FAIL %s run %s: %s\n", path, runs[r], err.message);
            rc = 1;
        } else {
            onnxq_tensors_free(outs, n_out);
        }
        for (size_t i = 0; i < n_in; i++)
            free(ins[i].data);
        free(ins);
    }
    free(names);
    printf("runtime (%d runs): %zu tensors checked: %zu types matched, %zu "
           "without an inferred type; dims: %zu known matched, %zu symbolic "
           "consistent (%zu evaluated from the inputs), %zu unknown; %zu "
           "contradictions\n", n_runs, c.observed, c.types_ok, c.no_type,
           c.dims_ok, c.sym_ok, c.sym_eval_ok, c.dims_unknown,
           c.contradictions);
    if (c.contradictions)
        rc = 1;
done:
    ic_free(&st);
    onnxq_session_destroy(s);
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(A);
    onnxq_model_destroy(B);
    return rc;
}

/* ---- infer-all mode ------------------------------------------------------ */

typedef struct op_tally {
    char *name;
    size_t models;
} op_tally;

static op_tally *tally;
static size_t n_tally, n_models, n_failed;

static void infer_one(const char *path)
{
    onnxq_model *m = NULL;
    onnxq_error err;
    if (onnxq_model_load_file(path, &m, &err) != ONNXQ_OK)
        return; /* not loadable: the loader's tests cover that */
    n_models++;
    onnxq_infer_report rep;
    onnxq_infer_report_init(&rep);
    if (onnxq_infer_model(m, NULL, &rep, &err) != ONNXQ_OK) {
        printf("FAIL %s: %s\n", path, err.message);
        n_failed++;
    }
    for (size_t i = 0; i < rep.n_unknown_ops; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", rep.unknown_ops[i].domain,
                 rep.unknown_ops[i].domain[0] ? "." : "",
                 rep.unknown_ops[i].op_type);
        size_t k = 0;
        while (k < n_tally && strcmp(tally[k].name, name) != 0)
            k++;
        if (k == n_tally) {
            tally = realloc(tally, (n_tally + 1) * sizeof *tally);
            tally[n_tally++] = (op_tally){strdup(name), 0};
        }
        tally[k].models++;
    }
    onnxq_infer_report_clear(&rep);
    onnxq_model_destroy(m);
}

static void walk(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        size_t n = strlen(path);
        if (n > 5 && strcmp(path + n - 5, ".onnx") == 0)
            infer_one(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[8192];
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        walk(sub);
    }
    closedir(d);
}

static int infer_all(int n, char **paths)
{
    for (int i = 0; i < n; i++)
        walk(paths[i]);
    printf("%zu models inferred, %zu failed\n", n_models, n_failed);
    printf("ops without an inference rule (models using them):");
    for (size_t k = 0; k < n_tally; k++) {
        printf("%s %s (%zu)", k ? "," : "", tally[k].name, tally[k].models);
        free(tally[k].name);
    }
    printf("\n");
    free(tally);
    return n_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "infer-all") == 0)
        return infer_all(argc - 2, argv + 2);
    if (argc >= 3 && strcmp(argv[1], "testdata") == 0) {
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
                filter = argv[++i];
            else if (strcmp(argv[i], "-v") == 0)
                verbose = 1;
        }
        return testdata(argv[2]);
    }
    if (argc >= 4 && strcmp(argv[1], "model") == 0)
        return model_mode(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: infer_vs_runtime testdata DATA_ROOT [--filter S] "
                    "[-v]\n       infer_vs_runtime model MODEL RUN...\n"
                    "       infer_vs_runtime infer-all PATH...\n");
    return 2;
}
