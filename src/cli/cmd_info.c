/*
 * cmd_info.c — `onnxq info MODEL`: a one-screen summary of a model.
 *
 * What a user checks before converting or quantizing: which opsets it
 * imports, what it takes and gives (types, shapes with symbolic dims by
 * name), how big it is and where its weights live, and whether it has been
 * quantized already (and how).
 *
 * Parameters are counted wherever exporters put them: initializers, and the
 * `value` tensor of Constant nodes (paddle2onnx stores every weight that
 * way), in the main graph and in every If/Loop/Scan body.  Initializers that
 * are also listed as graph inputs (IR < 4 exporters did that for all
 * weights) count as parameters, not inputs.  Sizes come from shape × element
 * size, so external data is counted without being read.
 *
 * The proto is read directly: the summary needs no name resolution, and a
 * model with dangling names should still be describable.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "cli.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

#define CMD "info"

static const char help[] =
    "usage: onnxq info [OPTIONS] MODEL.onnx\n"
    "\n"
    "Summarise a model: IR version, producer, domain, model version, opsets;\n"
    "inputs and outputs with element types and shapes (symbolic dims by name,\n"
    "unknown dims as ?); node and operator-type counts; parameters (tensors,\n"
    "values and bytes per element type, counting initializers and Constant\n"
    "nodes in every graph); external data (tensors, bytes, files); and the\n"
    "quantization state: not quantized, QDQ, QOperator, dynamic or float16,\n"
    "with the number of int8 and uint8 tensors.\n"
    "\n"
    "options:\n"
    "  --json        print the summary as one JSON object\n"
    "  -h, --help    show this help\n";

/* ---- what the walk over the graphs gathers ---------------------------------- */

typedef struct dtype_stat {
    int32_t dtype;
    uint64_t tensors, elements, bytes;
} dtype_stat;

typedef struct op_stat {
    const char *op_type; /* borrowed from the model */
    const char *domain;  /* "" for the default domain; borrowed */
    char *label;         /* "domain.Op" or "Op"; owned */
    uint64_t count;
} op_stat;

typedef struct ext_file {
    const char *location; /* borrowed from the model */
    int missing;          /* not found next to the model */
} ext_file;

typedef struct summary {
    size_t main_nodes, all_nodes, subgraphs;
    op_stat *ops;
    size_t n_ops, cap_ops;
    dtype_stat *dtypes;
    size_t n_dtypes, cap_dtypes;
    uint64_t tensors, elements, bytes; /* parameter totals */
    size_t initializers, constants;
    uint64_t ext_tensors, ext_bytes;
    ext_file *files;
    size_t n_files, cap_files;
    unsigned char *weight_input; /* [main graph input]: has an initializer */
    size_t weight_inputs;
} summary;

static const char *str(const char *s) { return s ? s : ""; }

static int is_default_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static void summary_clear(summary *S)
{
    for (size_t i = 0; i < S->n_ops; i++)
        free(S->ops[i].label);
    free(S->ops);
    free(S->dtypes);
    free(S->files);
    free(S->weight_input);
}

static onnxq_status oom(onnxq_error *err)
{
    return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
}

static onnxq_status count_op(summary *S, const Onnx__NodeProto *n,
                             onnxq_error *err)
{
    const char *op = str(n->op_type);
    const char *dom = is_default_domain(n->domain) ? "" : n->domain;
    for (size_t i = 0; i < S->n_ops; i++)
        if (strcmp(S->ops[i].op_type, op) == 0 &&
            strcmp(S->ops[i].domain, dom) == 0) {
            S->ops[i].count++;
            return ONNXQ_OK;
        }
    if (oq_grow(&S->ops, &S->cap_ops, S->n_ops + 1, sizeof *S->ops))
        return oom(err);
    size_t len = strlen(dom) + strlen(op) + 2;
    char *label = malloc(len);
    if (!label)
        return oom(err);
    snprintf(label, len, "%s%s%s", dom, dom[0] ? "." : "", op);
    S->ops[S->n_ops++] = (op_stat){op, dom, label, 1};
    return ONNXQ_OK;
}

static onnxq_status note_external(summary *S, const Onnx__TensorProto *t,
                                  uint64_t bytes, const char *base_dir,
                                  onnxq_error *err)
{
    onnxq_external_ref ref;
    if (onnxq_tensor_external_ref(t, &ref, err) != ONNXQ_OK)
        return err->status;
    S->ext_tensors++;
    S->ext_bytes += bytes;
    for (size_t i = 0; i < S->n_files; i++)
        if (strcmp(S->files[i].location, ref.location) == 0)
            return ONNXQ_OK;
    if (oq_grow(&S->files, &S->cap_files, S->n_files + 1, sizeof *S->files))
        return oom(err);
    /* Only existence is checked: info must stay cheap on huge models, and
     * `onnxq check` is where ranges are verified. */
    char *path = oq_path_join(base_dir, ref.location);
    if (!path)
        return oom(err);
    struct stat st;
    int missing = stat(path, &st) != 0 || !S_ISREG(st.st_mode);
    free(path);
    S->files[S->n_files++] = (ext_file){ref.location, missing};
    return ONNXQ_OK;
}

static onnxq_status count_tensor(summary *S, const Onnx__TensorProto *t,
                                 const char *base_dir, onnxq_error *err)
{
    const char *name = t->name && t->name[0] ? t->name : "<unnamed>";
    int32_t dt = t->has_data_type ? t->data_type : 0;
    uint64_t numel, bytes = 0;
    if (onnxq_shape_numel(t->dims, t->n_dims, &numel))
        return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                               "tensor '%s' has a negative or overflowing "
                               "dimension", name);
    size_t es = onnxq_dtype_size(dt);
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING) {
        for (size_t i = 0; i < t->n_string_data; i++)
            bytes += t->string_data[i].len;
    } else if (es) {
        if (numel > UINT64_MAX / es)
            return onnxq_error_set(err, ONNXQ_ERR_INVALID_MODEL,
                                   "tensor '%s' is too large", name);
        bytes = numel * es;
    } else if (t->has_raw_data) {
        /* a type newer than our table (int4, ...): trust what is stored */
        bytes = t->raw_data.len;
    }
    if (onnxq_tensor_is_external(t) &&
        note_external(S, t, bytes, base_dir, err) != ONNXQ_OK)
        return err->status;

    size_t i;
    for (i = 0; i < S->n_dtypes; i++)
        if (S->dtypes[i].dtype == dt)
            break;
    if (i == S->n_dtypes) {
        if (oq_grow(&S->dtypes, &S->cap_dtypes, S->n_dtypes + 1,
                    sizeof *S->dtypes))
            return oom(err);
        S->dtypes[S->n_dtypes++] = (dtype_stat){dt, 0, 0, 0};
    }
    S->dtypes[i].tensors++;
    S->dtypes[i].elements += numel;
    S->dtypes[i].bytes += bytes;
    S->tensors++;
    S->elements += numel;
    S->bytes += bytes;
    return ONNXQ_OK;
}

static int is_constant_node(const Onnx__NodeProto *n)
{
    return strcmp(str(n->op_type), "Constant") == 0 &&
           is_default_domain(n->domain);
}

/* Depth is bounded by the loader's nesting limit. */
static onnxq_status walk(summary *S, const Onnx__GraphProto *g,
                         const char *base_dir, onnxq_error *err)
{
    for (size_t i = 0; i < g->n_initializer; i++) {
        if (count_tensor(S, g->initializer[i], base_dir, err) != ONNXQ_OK)
            return err->status;
        S->initializers++;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        S->all_nodes++;
        if (count_op(S, n, err) != ONNXQ_OK)
            return err->status;
        int constant = is_constant_node(n);
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *at = n->attribute[a];
            if (constant && at->t && strcmp(str(at->name), "value") == 0) {
                if (count_tensor(S, at->t, base_dir, err) != ONNXQ_OK)
                    return err->status;
                S->constants++;
            }
            if (at->g) {
                S->subgraphs++;
                if (walk(S, at->g, base_dir, err) != ONNXQ_OK)
                    return err->status;
            }
            for (size_t k = 0; k < at->n_graphs; k++) {
                S->subgraphs++;
                if (walk(S, at->graphs[k], base_dir, err) != ONNXQ_OK)
                    return err->status;
            }
        }
    }
    return ONNXQ_OK;
}

static int op_stat_cmp(const void *a, const void *b)
{
    const op_stat *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->label, y->label);
}

static int dtype_stat_cmp(const void *a, const void *b)
{
    const dtype_stat *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->dtype < y->dtype ? -1 : x->dtype > y->dtype;
}

/* ---- quantization state ------------------------------------------------------ */

/* Kinds are judged by the operators a quantizer leaves behind (ONNX Runtime's
 * quantize_static in QDQ or QOperator format, quantize_dynamic) and, for
 * float16, by the stored weights: a converted model keeps only Casts. */
static int is_qoperator(const char *op)
{
    return strncmp(op, "QLinear", 7) == 0 || strcmp(op, "QGemm") == 0;
}

static int is_dynamic(const char *op)
{
    static const char *const ops[] = {
        "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
        "MatMulIntegerToFloat", "DynamicQuantizeMatMul",
        "DynamicQuantizeLSTM", "QAttention"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0)
            return 1;
    return 0;
}

typedef struct quant_state {
    uint64_t q, dq;      /* QuantizeLinear, DequantizeLinear nodes */
    uint64_t n_qop, n_dyn;
    uint64_t f16, i8, u8; /* parameter tensors of these types */
} quant_state;

static uint64_t dtype_tensors(const summary *S, int32_t dt)
{
    for (size_t i = 0; i < S->n_dtypes; i++)
        if (S->dtypes[i].dtype == dt)
            return S->dtypes[i].tensors;
    return 0;
}

static quant_state quant_of(const summary *S)
{
    quant_state Q = {0};
    for (size_t i = 0; i < S->n_ops; i++) {
        const op_stat *o = &S->ops[i];
        /* com.microsoft has its own Q/DQ (int16, int4): the same format */
        if (strcmp(o->op_type, "QuantizeLinear") == 0)
            Q.q += o->count;
        else if (strcmp(o->op_type, "DequantizeLinear") == 0)
            Q.dq += o->count;
        else if (is_qoperator(o->op_type))
            Q.n_qop += o->count;
        else if (is_dynamic(o->op_type))
            Q.n_dyn += o->count;
    }
    Q.f16 = dtype_tensors(S, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16);
    Q.i8 = dtype_tensors(S, ONNX__TENSOR_PROTO__DATA_TYPE__INT8);
    Q.u8 = dtype_tensors(S, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8);
    return Q;
}

/* Writes ops matching pick as "Op ×n, Op ×m" (ops are sorted by count). */
static void put_op_list(FILE *f, const summary *S, int (*pick)(const char *))
{
    int first = 1;
    for (size_t i = 0; i < S->n_ops; i++)
        if (pick(S->ops[i].op_type)) {
            fprintf(f, "%s%s \u00d7%" PRIu64, first ? "" : ", ",
                    S->ops[i].label, S->ops[i].count);
            first = 0;
        }
}

/* The one-line verdict, malloc'd; NULL when out of memory. */
static char *quant_summary(const summary *S, const quant_state *Q)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    const char *sep = "";
    if (Q->q || Q->dq) {
        fprintf(f, "QDQ (%" PRIu64 " QuantizeLinear, %" PRIu64
                   " DequantizeLinear)", Q->q, Q->dq);
        sep = "; ";
    }
    if (Q->n_qop) {
        fprintf(f, "%sQOperator (", sep);
        put_op_list(f, S, is_qoperator);
        fputc(')', f);
        sep = "; ";
    }
    if (Q->n_dyn) {
        fprintf(f, "%sdynamic (", sep);
        put_op_list(f, S, is_dynamic);
        fputc(')', f);
        sep = "; ";
    }
    if (Q->f16) {
        fprintf(f, "%sfloat16 (%" PRIu64 " float16 tensors)", sep, Q->f16);
        sep = "; ";
    }
    if (!sep[0])
        fputs("not quantized", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- types and shapes ------------------------------------------------------- */

static void put_type(FILE *f, const Onnx__TypeProto *tp)
{
    if (!tp) {
        fputc('?', f);
        return;
    }
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        fputs(tp->tensor_type->has_elem_type
                  ? onnxq_dtype_name(tp->tensor_type->elem_type) : "?", f);
        return;
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        fprintf(f, "sparse(%s)",
                tp->sparse_tensor_type->has_elem_type
                    ? onnxq_dtype_name(tp->sparse_tensor_type->elem_type)
                    : "?");
        return;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
        fputs("sequence(", f);
        put_type(f, tp->sequence_type->elem_type);
        fputc(')', f);
        return;
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
        fputs("optional(", f);
        put_type(f, tp->optional_type->elem_type);
        fputc(')', f);
        return;
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        fprintf(f, "map(%s, ",
                tp->map_type->has_key_type
                    ? onnxq_dtype_name(tp->map_type->key_type) : "?");
        put_type(f, tp->map_type->value_type);
        fputc(')', f);
        return;
    case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE:
        fprintf(f, "opaque(%s%s%s)", str(tp->opaque_type->domain),
                tp->opaque_type->domain && tp->opaque_type->domain[0] ? "."
                                                                      : "",
                str(tp->opaque_type->name));
        return;
    default:
        fputc('?', f);
    }
}

/* The shape of a tensor (or sparse tensor) type; NULL when the type has no
 * shape (rank unknown) or is not a tensor. */
static const Onnx__TensorShapeProto *shape_of(const Onnx__TypeProto *tp)
{
    if (!tp)
        return NULL;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return tp->tensor_type->shape;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE)
        return tp->sparse_tensor_type->shape;
    return NULL;
}

static int is_tensorish(const Onnx__TypeProto *tp)
{
    return tp && (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                  tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE);
}

static void put_shape(FILE *f, const Onnx__TypeProto *tp)
{
    const Onnx__TensorShapeProto *s = shape_of(tp);
    if (!s) {
        if (is_tensorish(tp))
            fputs("(rank unknown)", f);
        return;
    }
    fputc('[', f);
    for (size_t i = 0; i < s->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = s->dim[i];
        if (i)
            fputs(", ", f);
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            fprintf(f, "%" PRId64, d->dim_value);
        else if (d->value_case ==
                     ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                 d->dim_param && d->dim_param[0])
            fputs(d->dim_param, f);
        else
            fputc('?', f);
    }
    fputc(']', f);
}

/* put_type or put_shape into a malloc'd string; NULL when out of memory. */
static char *format(void (*put)(FILE *, const Onnx__TypeProto *),
                    const Onnx__TypeProto *tp)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    put(f, tp);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A graph input that is an initializer too is a weight with a default, not
 * something a caller feeds.  IR < 4 exporters list every weight both ways,
 * so the names are sorted once rather than searched per input.  Fills
 * S->weight_input; -1 when out of memory. */
static int mark_weight_inputs(summary *S, const Onnx__GraphProto *g)
{
    S->weight_input = calloc(g->n_input ? g->n_input : 1, 1);
    const char **names =
        malloc((g->n_initializer ? g->n_initializer : 1) * sizeof *names);
    if (!S->weight_input || !names) {
        free(names);
        return -1;
    }
    for (size_t i = 0; i < g->n_initializer; i++)
        names[i] = str(g->initializer[i]->name);
    qsort(names, g->n_initializer, sizeof *names, name_cmp);
    for (size_t i = 0; i < g->n_input; i++) {
        const char *key = str(g->input[i]->name);
        if (g->n_initializer && bsearch(&key, names, g->n_initializer,
                                        sizeof *names, name_cmp)) {
            S->weight_input[i] = 1;
            S->weight_inputs++;
        }
    }
    free(names);
    return 0;
}

/* ---- byte counts -------------------------------------------------------------- */

/* "4938268 bytes (4.71 MiB)"; the figure in brackets only from 1 KiB. */
static const char *bytes_text(uint64_t b, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (b < 1024) {
        snprintf(buf, size, "%" PRIu64 " byte%s", b, b == 1 ? "" : "s");
        return buf;
    }
    double v = (double)b / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%" PRIu64 " bytes (%.2f %s)", b, v, units[u]);
    return buf;
}

/* ---- text output ---------------------------------------------------------------- */

#define LABEL "%-16s"

static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

/* skip (may be NULL) marks entries to leave out. */
static void put_value_infos(Onnx__ValueInfoProto *const *vi, size_t n,
                            const unsigned char *skip, int *bad)
{
    size_t wn = 0, wt = 0;
    char **types = calloc(n ? n : 1, sizeof *types);
    if (!types) {
        *bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        if (!(types[i] = format(put_type, vi[i]->type))) {
            *bad = 1;
            goto out;
        }
        size_t a = strlen(str(vi[i]->name)), b = strlen(types[i]);
        wn = a > wn ? a : wn;
        wt = b > wt ? b : wt;
    }
    for (size_t i = 0; i < n; i++) {
        if (!types[i])
            continue;
        char *shape = format(put_shape, vi[i]->type);
        if (!shape) {
            *bad = 1;
            goto out;
        }
        /* no trailing blanks when there is no shape (non-tensor types) */
        if (shape[0])
            printf("  %-*s  %-*s  %s\n", (int)wn, str(vi[i]->name), (int)wt,
                   types[i], shape);
        else
            printf("  %-*s  %s\n", (int)wn, str(vi[i]->name), types[i]);
        free(shape);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(types[i]);
    free(types);
}

static void put_opsets(const Onnx__ModelProto *mp)
{
    printf(LABEL, "opsets:");
    if (!mp->n_opset_import)
        fputs("none", stdout);
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        printf("%s%s %" PRId64, i ? ", " : "",
               is_default_domain(o->domain) ? "ai.onnx" : o->domain,
               o->version);
    }
    putchar('\n');
}

/* Wraps "Op n, Op m, ..." under the label at about 80 columns. */
static void put_op_types(const summary *S)
{
    printf(LABEL, "op types:");
    size_t col = 16;
    for (size_t i = 0; i < S->n_ops; i++) {
        char item[256];
        int len = snprintf(item, sizeof item, "%s %" PRIu64 "%s",
                           S->ops[i].label, S->ops[i].count,
                           i + 1 < S->n_ops ? "," : "");
        size_t w = len < 0 ? 0 : (size_t)len;
        if (w >= sizeof item) { /* a very long op name: print it whole */
            if (col > 16)
                printf("\n%16s", "");
            printf("%s %" PRIu64 "%s", S->ops[i].label, S->ops[i].count,
                   i + 1 < S->n_ops ? "," : "");
            col = 80;
            continue;
        }
        if (col > 16 && col + 1 + w > 80) {
            printf("\n%16s", "");
            col = 16;
        }
        printf("%s%s", col > 16 ? " " : "", item);
        col += (col > 16 ? 1 : 0) + w;
    }
    if (!S->n_ops)
        fputs("none", stdout);
    putchar('\n');
}

static int print_text(const char *path, const Onnx__ModelProto *mp,
                      const summary *S, const quant_state *Q)
{
    const Onnx__GraphProto *g = mp->graph;
    char b1[64];
    int bad = 0;

    printf(LABEL "%s\n", "model:", path);
    if (mp->has_ir_version)
        printf(LABEL "%" PRId64 "\n", "ir version:", mp->ir_version);
    else
        printf(LABEL "-\n", "ir version:");
    const char *pn = str(mp->producer_name), *pv = str(mp->producer_version);
    printf(LABEL "%s%s%s\n", "producer:", pn[0] || pv[0] ? pn : "-",
           pn[0] && pv[0] ? " " : "", pv);
    printf(LABEL "%s\n", "domain:", mp->domain && mp->domain[0] ? mp->domain
                                                                : "-");
    if (mp->has_model_version)
        printf(LABEL "%" PRId64 "\n", "model version:", mp->model_version);
    else
        printf(LABEL "-\n", "model version:");
    put_opsets(mp);

    printf(LABEL "%zu", "inputs:", g->n_input - S->weight_inputs);
    if (S->weight_inputs)
        printf(" (and %zu inputs with initializers, counted as parameters)",
               S->weight_inputs);
    putchar('\n');
    put_value_infos(g->input, g->n_input, S->weight_input, &bad);
    printf(LABEL "%zu\n", "outputs:", g->n_output);
    put_value_infos(g->output, g->n_output, NULL, &bad);

    printf(LABEL "%zu", "nodes:", S->main_nodes);
    if (S->subgraphs)
        printf(" in the main graph, %zu with %zu subgraph%s", S->all_nodes,
               S->subgraphs, plural(S->subgraphs));
    printf(" (%zu operator type%s)\n", S->n_ops, plural(S->n_ops));
    put_op_types(S);

    printf(LABEL "%" PRIu64 " tensor%s, %" PRIu64 " value%s, %s\n",
           "parameters:", S->tensors, plural(S->tensors), S->elements,
           plural(S->elements), bytes_text(S->bytes, b1, sizeof b1));
    if (S->tensors)
        printf("%16sfrom %zu initializer%s and %zu Constant node%s\n", "",
               S->initializers, plural(S->initializers), S->constants,
               plural(S->constants));
    for (size_t i = 0; i < S->n_dtypes; i++) {
        const dtype_stat *d = &S->dtypes[i];
        printf("  %-14s%" PRIu64 " tensor%s, %" PRIu64 " value%s, %s\n",
               onnxq_dtype_name(d->dtype), d->tensors, plural(d->tensors),
               d->elements, plural(d->elements),
               bytes_text(d->bytes, b1, sizeof b1));
    }

    printf(LABEL, "external data:");
    if (!S->ext_tensors) {
        puts("none");
    } else {
        printf("%" PRIu64 " tensor%s, %s, in %zu file%s\n", S->ext_tensors,
               plural(S->ext_tensors), bytes_text(S->ext_bytes, b1, sizeof b1),
               S->n_files, plural(S->n_files));
        /* One file per tensor can mean thousands: show the first few. */
        enum { SHOWN = 8 };
        for (size_t i = 0; i < S->n_files && i < SHOWN; i++)
            printf("  %s%s\n", S->files[i].location,
                   S->files[i].missing ? "  (missing)" : "");
        size_t missing = 0;
        for (size_t i = SHOWN; i < S->n_files; i++)
            missing += (size_t)S->files[i].missing;
        if (S->n_files > SHOWN)
            printf("  ... and %zu more file%s (%zu missing); --json lists "
                   "them all\n", S->n_files - SHOWN,
                   plural(S->n_files - SHOWN), missing);
    }

    char *q = quant_summary(S, Q);
    if (!q)
        return -1;
    printf(LABEL "%s\n", "quantization:", q);
    free(q);
    printf(LABEL "%" PRIu64 " int8, %" PRIu64 " uint8\n", "8-bit tensors:",
           Q->i8, Q->u8);
    return bad ? -1 : 0;
}

/* ---- JSON output -------------------------------------------------------------- */

/* cJSON signals allocation failure only through NULL returns; results are
 * or'ed into one flag so a single check covers the whole tree. */
static void json_value_infos(cJSON *arr, Onnx__ValueInfoProto *const *vi,
                             size_t n, const unsigned char *skip, int *bad)
{
    for (size_t i = 0; i < n && !*bad; i++) {
        if (skip && skip[i])
            continue;
        cJSON *o = cJSON_CreateObject();
        *bad |= !o || !cJSON_AddItemToArray(arr, o);
        if (*bad)
            return;
        *bad |= !cJSON_AddStringToObject(o, "name", str(vi[i]->name));
        char *type = format(put_type, vi[i]->type);
        *bad |= !type || !cJSON_AddStringToObject(o, "type", type);
        free(type);
        const Onnx__TensorShapeProto *s = shape_of(vi[i]->type);
        if (!s) {
            *bad |= !cJSON_AddNullToObject(o, "shape");
            continue;
        }
        cJSON *dims = cJSON_AddArrayToObject(o, "shape");
        *bad |= !dims;
        for (size_t k = 0; k < s->n_dim && !*bad; k++) {
            const Onnx__TensorShapeProto__Dimension *d = s->dim[k];
            cJSON *v;
            if (d->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
                v = cJSON_CreateNumber((double)d->dim_value);
            else if (d->value_case ==
                         ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                     d->dim_param && d->dim_param[0])
                v = cJSON_CreateString(d->dim_param);
            else
                v = cJSON_CreateNull();
            *bad |= !cJSON_AddItemToArray(dims, v);
        }
    }
}

static cJSON *json_op_object(const summary *S, int (*pick)(const char *),
                             int *bad)
{
    cJSON *o = cJSON_CreateObject();
    *bad |= !o;
    for (size_t i = 0; i < S->n_ops && o; i++)
        if (pick(S->ops[i].op_type))
            *bad |= !cJSON_AddNumberToObject(o, S->ops[i].label,
                                             (double)S->ops[i].count);
    return o;
}

static int pick_all(const char *op)
{
    (void)op;
    return 1;
}

static cJSON *json_summary(const char *path, const Onnx__ModelProto *mp,
                           const summary *S, const quant_state *Q)
{
    const Onnx__GraphProto *g = mp->graph;
    cJSON *j = cJSON_CreateObject();
    int bad = !j;
    if (bad)
        return NULL;
    bad |= !cJSON_AddStringToObject(j, "model", path);
    if (mp->has_ir_version)
        bad |= !cJSON_AddNumberToObject(j, "ir_version",
                                        (double)mp->ir_version);
    else
        bad |= !cJSON_AddNullToObject(j, "ir_version");
    bad |= !cJSON_AddStringToObject(j, "producer_name",
                                    str(mp->producer_name));
    bad |= !cJSON_AddStringToObject(j, "producer_version",
                                    str(mp->producer_version));
    bad |= !cJSON_AddStringToObject(j, "domain", str(mp->domain));
    if (mp->has_model_version)
        bad |= !cJSON_AddNumberToObject(j, "model_version",
                                        (double)mp->model_version);
    else
        bad |= !cJSON_AddNullToObject(j, "model_version");

    /* keys as stored: "" is the default domain */
    cJSON *ops = cJSON_AddObjectToObject(j, "opsets");
    bad |= !ops;
    for (size_t i = 0; i < mp->n_opset_import && !bad; i++)
        bad |= !cJSON_AddNumberToObject(ops, str(mp->opset_import[i]->domain),
                                        (double)mp->opset_import[i]->version);

    cJSON *in = cJSON_AddArrayToObject(j, "inputs");
    cJSON *out = cJSON_AddArrayToObject(j, "outputs");
    bad |= !in || !out;
    if (!bad)
        json_value_infos(in, g->input, g->n_input, S->weight_input, &bad);
    if (!bad)
        json_value_infos(out, g->output, g->n_output, NULL, &bad);
    bad |= !cJSON_AddNumberToObject(j, "initializer_inputs",
                                    (double)S->weight_inputs);

    bad |= !cJSON_AddNumberToObject(j, "nodes", (double)S->main_nodes);
    bad |= !cJSON_AddNumberToObject(j, "nodes_all_graphs",
                                    (double)S->all_nodes);
    bad |= !cJSON_AddNumberToObject(j, "subgraphs", (double)S->subgraphs);
    bad |= !cJSON_AddItemToObject(j, "op_types",
                                  json_op_object(S, pick_all, &bad));

    cJSON *p = cJSON_AddObjectToObject(j, "parameters");
    bad |= !p;
    if (!bad) {
        bad |= !cJSON_AddNumberToObject(p, "tensors", (double)S->tensors);
        bad |= !cJSON_AddNumberToObject(p, "initializers",
                                        (double)S->initializers);
        bad |= !cJSON_AddNumberToObject(p, "constants", (double)S->constants);
        bad |= !cJSON_AddNumberToObject(p, "elements", (double)S->elements);
        bad |= !cJSON_AddNumberToObject(p, "bytes", (double)S->bytes);
        cJSON *by = cJSON_AddObjectToObject(p, "by_type");
        bad |= !by;
        for (size_t i = 0; i < S->n_dtypes && !bad; i++) {
            const dtype_stat *d = &S->dtypes[i];
            cJSON *o = cJSON_AddObjectToObject(by, onnxq_dtype_name(d->dtype));
            bad |= !o;
            if (bad)
                break;
            bad |= !cJSON_AddNumberToObject(o, "tensors", (double)d->tensors);
            bad |= !cJSON_AddNumberToObject(o, "elements",
                                            (double)d->elements);
            bad |= !cJSON_AddNumberToObject(o, "bytes", (double)d->bytes);
        }
    }

    cJSON *e = cJSON_AddObjectToObject(j, "external_data");
    bad |= !e;
    if (!bad) {
        bad |= !cJSON_AddNumberToObject(e, "tensors", (double)S->ext_tensors);
        bad |= !cJSON_AddNumberToObject(e, "bytes", (double)S->ext_bytes);
        cJSON *files = cJSON_AddArrayToObject(e, "files");
        cJSON *missing = cJSON_AddArrayToObject(e, "missing_files");
        bad |= !files || !missing;
        for (size_t i = 0; i < S->n_files && !bad; i++) {
            bad |= !cJSON_AddItemToArray(
                files, cJSON_CreateString(S->files[i].location));
            if (S->files[i].missing)
                bad |= !cJSON_AddItemToArray(
                    missing, cJSON_CreateString(S->files[i].location));
        }
    }

    cJSON *q = cJSON_AddObjectToObject(j, "quantization");
    bad |= !q;
    if (!bad) {
        char *text = quant_summary(S, Q);
        bad |= !text || !cJSON_AddStringToObject(q, "summary", text);
        free(text);
        cJSON *kinds = cJSON_AddArrayToObject(q, "kinds");
        bad |= !kinds;
        if (!bad && (Q->q || Q->dq))
            bad |= !cJSON_AddItemToArray(kinds, cJSON_CreateString("qdq"));
        if (!bad && Q->n_qop)
            bad |= !cJSON_AddItemToArray(kinds,
                                         cJSON_CreateString("qoperator"));
        if (!bad && Q->n_dyn)
            bad |= !cJSON_AddItemToArray(kinds, cJSON_CreateString("dynamic"));
        if (!bad && Q->f16)
            bad |= !cJSON_AddItemToArray(kinds, cJSON_CreateString("float16"));
        bad |= !cJSON_AddNumberToObject(q, "quantize_linear", (double)Q->q);
        bad |= !cJSON_AddNumberToObject(q, "dequantize_linear", (double)Q->dq);
        bad |= !cJSON_AddItemToObject(q, "qoperator_ops",
                                      json_op_object(S, is_qoperator, &bad));
        bad |= !cJSON_AddItemToObject(q, "dynamic_ops",
                                      json_op_object(S, is_dynamic, &bad));
        bad |= !cJSON_AddNumberToObject(q, "float16_tensors", (double)Q->f16);
        bad |= !cJSON_AddNumberToObject(q, "int8_tensors", (double)Q->i8);
        bad |= !cJSON_AddNumberToObject(q, "uint8_tensors", (double)Q->u8);
    }
    if (bad) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ---- the command ---------------------------------------------------------------- */

enum { OPT_JSON = 1 };

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        case ':': return cli_usage_error(CMD, "%s needs a value",
                                         argv[optind - 1]);
        default:
            if (optopt)
                return cli_usage_error(CMD, "unknown option '-%c'", optopt);
            return cli_usage_error(CMD, "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(CMD, argc == optind ? "expected MODEL.onnx"
                                                   : "expected one MODEL.onnx");
    const char *path = argv[optind];
    onnxq_model *m = cli_load_model(CMD, path);
    if (!m)
        return CLI_ERROR;
    const Onnx__ModelProto *mp = onnxq_model_proto(m);

    summary S = {0};
    onnxq_error err;
    int rc = CLI_OK;
    S.main_nodes = mp->graph->n_node;
    if (mark_weight_inputs(&S, mp->graph)) {
        rc = cli_fail(CMD, "%s: out of memory", path);
        goto done;
    }
    if (walk(&S, mp->graph, onnxq_model_base_dir(m), &err) != ONNXQ_OK) {
        rc = cli_fail(CMD, "%s: %s", path, err.message);
        goto done;
    }
    if (S.n_ops)
        qsort(S.ops, S.n_ops, sizeof *S.ops, op_stat_cmp);
    if (S.n_dtypes)
        qsort(S.dtypes, S.n_dtypes, sizeof *S.dtypes, dtype_stat_cmp);
    quant_state Q = quant_of(&S);

    if (json) {
        cJSON *j = json_summary(path, mp, &S, &Q);
        char *s = j ? cJSON_Print(j) : NULL;
        cJSON_Delete(j);
        if (!s) {
            rc = cli_fail(CMD, "%s: out of memory building the JSON output",
                          path);
            goto done;
        }
        fputs(s, stdout);
        putchar('\n');
        cJSON_free(s);
    } else if (print_text(path, mp, &S, &Q)) {
        rc = cli_fail(CMD, "%s: out of memory", path);
        goto done;
    }
    /* A full disk or closed pipe must not look like success to a script. */
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = cli_fail(CMD, "writing the output failed");
done:
    summary_clear(&S);
    onnxq_model_destroy(m);
    return rc;
}
