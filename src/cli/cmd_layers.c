/*
 * cmd_layers.c — `onnxq layers MODEL`: the nodes of a model, in file order.
 *
 * It answers what users used to answer with a Python loop over graph.node:
 * index, name, op type and inputs of every node.  Options narrow the list
 * (--filter), summarise it (--ops), descend into the bodies of If/Loop/Scan
 * (--subgraphs) or print it as JSON for scripts (--json).
 *
 * The proto is read directly rather than through onnxq_graph: listing needs
 * no name resolution, so this works even on models the graph view refuses
 * (duplicate producers, dangling names) — the very models one wants to look
 * into.  Indices are positions in the node's own graph, unchanged by
 * --filter, so they can be quoted back to other tools.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli.h"
#include "oq_util.h"

#define CMD "layers"

/* Names longer than this do not widen the column for every row; the long
 * cell pushes the rest of its own row right instead (never truncated). */
enum { NAME_COL_CAP = 56, GRAPH_COL_CAP = 40 };

static const char help[] =
    "usage: onnxq layers [OPTIONS] MODEL.onnx\n"
    "\n"
    "List the nodes of a model's main graph in file order: index, name\n"
    "('Unnamed' when empty), operator type and inputs (an empty optional\n"
    "input shows as \"\").\n"
    "\n"
    "options:\n"
    "  --ops                  count nodes per operator type instead (domain\n"
    "                         shown when not the default), most frequent first\n"
    "  --filter OP[,OP...]    only nodes of these operator types (repeatable);\n"
    "                         an OP that matches nothing is noted on stderr\n"
    "  --subgraphs            also list nodes inside If/Loop/Scan bodies, with\n"
    "                         a Graph column such as main/loop_node:body\n"
    "                         (nodes without a name appear as #INDEX)\n"
    "  --json                 print JSON: an array of {index, name, op_type,\n"
    "                         domain, inputs, outputs, graph}; with --ops, an\n"
    "                         array of {op_type, domain, count}\n"
    "  -h, --help             show this help\n";

/* ---- collecting the nodes ------------------------------------------------ */

typedef struct row {
    const char *graph;           /* path; owned by listing.paths */
    size_t index;                /* position in its own graph */
    const Onnx__NodeProto *node; /* borrowed from the model */
} row;

typedef struct listing {
    row *rows;
    size_t n_rows, cap_rows;
    char **paths; /* every graph path made, freed at the end */
    size_t n_paths, cap_paths;
    char **filter; /* op types asked for; none means every node */
    size_t n_filter, cap_filter;
    int *filter_hit; /* filter[i] matched some node */
} listing;

static const char *str(const char *s) { return s ? s : ""; }

static int is_default_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static void listing_clear(listing *L)
{
    for (size_t i = 0; i < L->n_paths; i++)
        free(L->paths[i]);
    for (size_t i = 0; i < L->n_filter; i++)
        free(L->filter[i]);
    free(L->paths);
    free(L->filter);
    free(L->filter_hit);
    free(L->rows);
}

/* Adds the comma-separated op types of one --filter value.  Returns 0, -1 on
 * an empty element (a usage error), -2 when out of memory. */
static int add_filter(listing *L, const char *arg)
{
    const char *p = arg;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return -1;
        if (oq_grow(&L->filter, &L->cap_filter, L->n_filter + 1,
                    sizeof *L->filter))
            return -2;
        char *op = malloc(len + 1);
        if (!op)
            return -2;
        memcpy(op, p, len);
        op[len] = '\0';
        L->filter[L->n_filter++] = op;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int keep(listing *L, const Onnx__NodeProto *n)
{
    if (L->n_filter == 0)
        return 1;
    int hit = 0;
    for (size_t i = 0; i < L->n_filter; i++)
        if (strcmp(L->filter[i], str(n->op_type)) == 0)
            L->filter_hit[i] = hit = 1;
    return hit;
}

/* "outer/<node name or #index>:<attr>" plus "[k]" for GRAPHS attributes;
 * kept in L->paths.  NULL when out of memory. */
static const char *make_path(listing *L, const char *outer,
                             const Onnx__NodeProto *n, size_t index,
                             const char *attr, long k)
{
    char label[32];
    const char *name = str(n->name);
    if (!name[0]) {
        snprintf(label, sizeof label, "#%zu", index);
        name = label;
    }
    char kbuf[32] = "";
    if (k >= 0)
        snprintf(kbuf, sizeof kbuf, "[%ld]", k);
    int len = snprintf(NULL, 0, "%s/%s:%s%s", outer, name, attr, kbuf);
    if (len < 0 || oq_grow(&L->paths, &L->cap_paths, L->n_paths + 1,
                           sizeof *L->paths))
        return NULL;
    char *p = malloc((size_t)len + 1);
    if (!p)
        return NULL;
    snprintf(p, (size_t)len + 1, "%s/%s:%s%s", outer, name, attr, kbuf);
    L->paths[L->n_paths++] = p;
    return p;
}

/* Lists g's nodes, each followed by the nodes of its subgraphs when recurse
 * is set (depth is bounded by the loader's nesting limit).  -1 when out of
 * memory. */
static int walk(listing *L, const Onnx__GraphProto *g, const char *path,
                int recurse)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (keep(L, n)) {
            if (oq_grow(&L->rows, &L->cap_rows, L->n_rows + 1,
                        sizeof *L->rows))
                return -1;
            L->rows[L->n_rows++] = (row){path, i, n};
        }
        if (!recurse)
            continue;
        /* Going by the presence of g/graphs rather than the attribute's type
         * also finds bodies written by producers that leave type unset. */
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *at = n->attribute[a];
            const char *an = str(at->name);
            if (at->g) {
                const char *sub = make_path(L, path, n, i, an, -1);
                if (!sub || walk(L, at->g, sub, 1))
                    return -1;
            }
            for (size_t k = 0; k < at->n_graphs; k++) {
                const char *sub = make_path(L, path, n, i, an, (long)k);
                if (!sub || walk(L, at->graphs[k], sub, 1))
                    return -1;
            }
        }
    }
    return 0;
}

/* ---- text output ----------------------------------------------------------- */

/* Columns are measured in characters, not bytes, so UTF-8 names line up. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Padding is held back until something follows it, so a row whose last
 * cells are empty (a Constant has no inputs) ends without trailing blanks. */
static size_t pending_pad;

static void put_text(const char *s)
{
    if (!s[0])
        return;
    for (; pending_pad; pending_pad--)
        putchar(' ');
    fputs(s, stdout);
}

static void end_line(void)
{
    pending_pad = 0;
    putchar('\n');
}

static void put_cell(const char *s, size_t width)
{
    put_text(s);
    size_t w = text_width(s);
    pending_pad += (w < width ? width - w : 0) + 2;
}

static size_t col_width(size_t header, size_t widest, size_t cap)
{
    size_t w = widest < cap ? widest : cap;
    return w > header ? w : header;
}

static const char *row_name(const row *r)
{
    const char *n = str(r->node->name);
    return n[0] ? n : "Unnamed";
}

static void put_inputs(const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < n->n_input; i++) {
        if (i)
            put_text(", ");
        const char *in = str(n->input[i]);
        put_text(in[0] ? in : "\"\"");
    }
}

static void print_table(const listing *L, int with_graph)
{
    size_t wg = 0, wn = 0, wo = 0, wi = 0;
    char idx[32];
    for (size_t r = 0; r < L->n_rows; r++) {
        const row *rw = &L->rows[r];
        size_t w;
        if ((w = text_width(rw->graph)) > wg)
            wg = w;
        if ((w = text_width(row_name(rw))) > wn)
            wn = w;
        if ((w = text_width(str(rw->node->op_type))) > wo)
            wo = w;
        if ((w = (size_t)snprintf(idx, sizeof idx, "%zu", rw->index)) > wi)
            wi = w;
    }
    wg = col_width(5, wg, GRAPH_COL_CAP);
    wn = col_width(10, wn, NAME_COL_CAP);
    wo = col_width(13, wo, SIZE_MAX);
    wi = col_width(5, wi, SIZE_MAX);

    if (with_graph)
        put_cell("Graph", wg);
    put_cell("Index", wi);
    put_cell("Layer Name", wn);
    put_cell("Operator Type", wo);
    put_text("Inputs");
    end_line();
    size_t rule = (with_graph ? wg + 2 : 0) + wi + 2 + wn + 2 + wo + 2 + 6;
    for (size_t i = 0; i < rule; i++)
        putchar('-');
    putchar('\n');

    for (size_t r = 0; r < L->n_rows; r++) {
        const row *rw = &L->rows[r];
        if (with_graph)
            put_cell(rw->graph, wg);
        snprintf(idx, sizeof idx, "%zu", rw->index);
        put_cell(idx, wi);
        put_cell(row_name(rw), wn);
        put_cell(str(rw->node->op_type), wo);
        put_inputs(rw->node);
        end_line();
    }
}

/* ---- the op-type histogram ------------------------------------------------- */

typedef struct op_count {
    const char *op_type; /* borrowed from the model */
    const char *domain;  /* "" for the default domain */
    char *label;         /* "domain.Op" or "Op"; owned */
    size_t count;
} op_count;

static int op_count_cmp(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->label, y->label);
}

static void free_hist(op_count *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].label);
    free(h);
}

/* Counts the listed rows per (domain, op type), sorted by count then label.
 * Returns the array (caller frees with free_hist) or NULL when out of
 * memory; *n receives its length. */
static op_count *histogram(const listing *L, size_t *n)
{
    op_count *h = NULL;
    size_t nh = 0, cap = 0;
    *n = 0;
    /* A linear search per node is fine: models have a few hundred distinct
     * op types at most. */
    for (size_t r = 0; r < L->n_rows; r++) {
        const Onnx__NodeProto *node = L->rows[r].node;
        const char *op = str(node->op_type);
        const char *dom = is_default_domain(node->domain) ? "" : node->domain;
        size_t i;
        for (i = 0; i < nh; i++)
            if (strcmp(h[i].op_type, op) == 0 && strcmp(h[i].domain, dom) == 0)
                break;
        if (i == nh) {
            if (oq_grow(&h, &cap, nh + 1, sizeof *h))
                goto oom;
            size_t len = strlen(dom) + strlen(op) + 2;
            char *label = malloc(len);
            if (!label)
                goto oom;
            snprintf(label, len, "%s%s%s", dom, dom[0] ? "." : "", op);
            h[nh++] = (op_count){op, dom, label, 0};
        }
        h[i].count++;
    }
    if (nh)
        qsort(h, nh, sizeof *h, op_count_cmp);
    *n = nh;
    if (!h) /* no rows: an empty, non-NULL histogram */
        h = calloc(1, sizeof *h);
    return h;
oom:
    free_hist(h, nh);
    return NULL;
}

static void print_hist(const op_count *h, size_t n)
{
    size_t w = 13;
    for (size_t i = 0; i < n; i++)
        if (text_width(h[i].label) > w)
            w = text_width(h[i].label);
    put_cell("Operator Type", w);
    put_text("Count");
    end_line();
    for (size_t i = 0; i < w + 2 + 5; i++)
        putchar('-');
    putchar('\n');
    for (size_t i = 0; i < n; i++) {
        put_cell(h[i].label, w);
        char num[32];
        snprintf(num, sizeof num, "%zu", h[i].count);
        put_text(num);
        end_line();
    }
}

/* ---- JSON output ----------------------------------------------------------- */

/* cJSON signals allocation failure only through NULL returns; each call's
 * result is or'ed into one flag so a single check covers the whole tree. */
static cJSON *json_rows(const listing *L)
{
    cJSON *arr = cJSON_CreateArray();
    int bad = !arr;
    for (size_t r = 0; r < L->n_rows && !bad; r++) {
        const row *rw = &L->rows[r];
        const Onnx__NodeProto *n = rw->node;
        cJSON *o = cJSON_CreateObject();
        bad |= !o || !cJSON_AddItemToArray(arr, o);
        if (bad)
            break;
        bad |= !cJSON_AddNumberToObject(o, "index", (double)rw->index);
        bad |= !cJSON_AddStringToObject(o, "name", str(n->name));
        bad |= !cJSON_AddStringToObject(o, "op_type", str(n->op_type));
        bad |= !cJSON_AddStringToObject(o, "domain", str(n->domain));
        cJSON *in = cJSON_AddArrayToObject(o, "inputs");
        cJSON *out = cJSON_AddArrayToObject(o, "outputs");
        bad |= !in || !out;
        for (size_t i = 0; !bad && i < n->n_input; i++)
            bad |= !cJSON_AddItemToArray(
                in, cJSON_CreateString(str(n->input[i])));
        for (size_t i = 0; !bad && i < n->n_output; i++)
            bad |= !cJSON_AddItemToArray(
                out, cJSON_CreateString(str(n->output[i])));
        bad |= !cJSON_AddStringToObject(o, "graph", rw->graph);
    }
    if (bad) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

static cJSON *json_hist(const op_count *h, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    int bad = !arr;
    for (size_t i = 0; i < n && !bad; i++) {
        cJSON *o = cJSON_CreateObject();
        bad |= !o || !cJSON_AddItemToArray(arr, o);
        if (bad)
            break;
        bad |= !cJSON_AddStringToObject(o, "op_type", h[i].op_type);
        bad |= !cJSON_AddStringToObject(o, "domain", h[i].domain);
        bad |= !cJSON_AddNumberToObject(o, "count", (double)h[i].count);
    }
    if (bad) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

/* Prints and frees j; CLI_ERROR (message printed) when out of memory. */
static int print_json(cJSON *j)
{
    char *s = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!s)
        return cli_fail(CMD, "out of memory building the JSON output");
    fputs(s, stdout);
    putchar('\n');
    cJSON_free(s);
    return CLI_OK;
}

/* ---- the command ----------------------------------------------------------- */

enum { OPT_OPS = 1, OPT_FILTER, OPT_SUBGRAPHS, OPT_JSON };

int cmd_layers(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ops", no_argument, 0, OPT_OPS},
        {"filter", required_argument, 0, OPT_FILTER},
        {"subgraphs", no_argument, 0, OPT_SUBGRAPHS},
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    listing L = {0};
    int ops = 0, subgraphs = 0, json = 0, c, rc = CLI_OK;
    onnxq_model *m = NULL;
    op_count *hist = NULL;
    size_t n_hist = 0;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OPS: ops = 1; break;
        case OPT_SUBGRAPHS: subgraphs = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_FILTER: {
            int r = add_filter(&L, optarg);
            if (r == -1) {
                rc = cli_usage_error(CMD, "--filter: '%s' has an empty "
                                     "operator type", optarg);
                goto done;
            }
            if (r < 0) {
                rc = cli_fail(CMD, "out of memory");
                goto done;
            }
            break;
        }
        case 'h':
            fputs(help, stdout);
            goto done;
        case ':':
            rc = cli_usage_error(CMD, "%s needs a value", argv[optind - 1]);
            goto done;
        default:
            if (optopt)
                rc = cli_usage_error(CMD, "unknown option '-%c'", optopt);
            else
                rc = cli_usage_error(CMD, "unknown option '%s'",
                                     argv[optind - 1]);
            goto done;
        }
    }
    if (argc - optind != 1) {
        rc = cli_usage_error(CMD, argc == optind ? "expected MODEL.onnx"
                                                 : "expected one MODEL.onnx");
        goto done;
    }
    if (L.n_filter && !(L.filter_hit = calloc(L.n_filter, sizeof(int)))) {
        rc = cli_fail(CMD, "out of memory");
        goto done;
    }

    m = cli_load_model(CMD, argv[optind]);
    if (!m) {
        rc = CLI_ERROR;
        goto done;
    }
    if (walk(&L, onnxq_model_proto(m)->graph, "main", subgraphs)) {
        rc = cli_fail(CMD, "%s: out of memory listing nodes", argv[optind]);
        goto done;
    }
    for (size_t i = 0; i < L.n_filter; i++)
        if (!L.filter_hit[i])
            fprintf(stderr, "onnxq %s: note: no node%s has op type '%s'\n",
                    CMD, subgraphs ? "" : " of the main graph", L.filter[i]);

    if (ops) {
        if (!(hist = histogram(&L, &n_hist))) {
            rc = cli_fail(CMD, "out of memory");
            goto done;
        }
        if (json)
            rc = print_json(json_hist(hist, n_hist));
        else
            print_hist(hist, n_hist);
    } else if (json) {
        rc = print_json(json_rows(&L));
    } else {
        print_table(&L, subgraphs);
    }
    /* A full disk or closed pipe must not look like success to a script. */
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_fail(CMD, "writing the output failed");

done:
    free_hist(hist, n_hist);
    listing_clear(&L);
    onnxq_model_destroy(m);
    return rc;
}
