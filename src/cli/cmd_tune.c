/*
 * cmd_tune.c — `onnxq tune IN`: search static quantization settings for the
 * fastest model that keeps an accuracy bound on held-out samples, write it,
 * and write an HTML report of every candidate.  The search is the library's
 * (onnxq/tune.h); this file splits the samples, prints progress and the
 * table, and builds the report (onnxq/report.h).
 *
 * The split: the sample files of the folder (sorted by name, as the
 * calibration reader lists them) are divided deterministically, K evenly
 * spaced files held out (indices floor((j+1) n / K) - 1).  The library
 * reads samples from folders, so each part is a temporary folder of
 * symbolic links to the user's files, removed before the command returns.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "onnxq/calib.h"
#include "onnxq/report.h"
#include "onnxq/tune.h"
#include "oq_util.h"

static const char CMD[] = "tune";

/* Exit status when no candidate meets the bound (the report is written). */
enum { EXIT_NO_CANDIDATE = 3 };

static const char help[] =
    "usage: onnxq tune IN.onnx (--calib DIR | --calib-wav DIR |\n"
    "                  --calib-images DIR) [OPTIONS]\n"
    "\n"
    "Search static int8 quantization settings for the fastest model that\n"
    "keeps an accuracy bound, measured on held-out samples, and write it\n"
    "(default OUT: IN.tuned.onnx, i.e. net.onnx -> net.tuned.onnx).\n"
    "\n"
    "Candidates: qdq|qoperator x quint8|qint8 activations (qint8 per-channel\n"
    "weights, MinMax, the default op types), then around the best of those:\n"
    "uint8 weights, per-tensor weights, op types Conv and Conv,MatMul,Gemm,Add,\n"
    "Entropy and Percentile calibration.  Candidates that fail the bound but\n"
    "would be faster keep their worst layers (lowest per-tensor SQNR) in\n"
    "float, one more per step.  Calibration runs once per method.  Each\n"
    "candidate: worst held-out sample's metric, and latency = medians of\n"
    "float and candidate runs, in blocks F, Q, Q, F, in onnxq's runtime.\n"
    "Choice: the fastest candidate meeting the bound; a less accurate one\n"
    "must be more than --margin faster than a more accurate one to win.\n"
    "\n"
    "samples (one folder; split into calibration and held-out files):\n"
    CLI_SAMPLE_HELP
    "                         (tune: the draw picks calibration samples among\n"
    "                         the files not held out; held-out files are each\n"
    "                         used once)\n"
    "  --holdout K|F           K files (integer) or a fraction F in (0,1) of\n"
    "                          them held out, evenly spaced in name order\n"
    "                          (default 0.25; at least 1, at most all but 1)\n"
    "\n"
    "search:\n"
    "  --max-drop METRIC=VALUE the bound: cosine=0.995 (default: the worst\n"
    "                          held-out sample's cosine >= 0.995) or sqnr=DB\n"
    "  --budget-seconds N      no new candidate once N s would pass (300;\n"
    "                          0: no limit); the first one always runs\n"
    "  --candidates LIST       only these, comma-separated, each\n"
    "                          FORMAT/AW/GRAN/METHOD/OPS, e.g.\n"
    "                          qdq/u8s8/pc/minmax/default,qoperator/s8s8/pt/\n"
    "                          entropy/Conv+Gemm (parts in any order, missing\n"
    "                          ones default to qdq/u8s8/pc/minmax/default)\n"
    "  --max-exclude N         layers kept in float at most (8; 0: never)\n"
    "  --refine N              failing candidates refined so (2)\n"
    "  --margin PCT            speed margin to prefer a less accurate\n"
    "                          candidate (3)\n"
    "  --min-speedup X         candidates less than X times as fast as float\n"
    "                          fail too (default: none)\n"
    "  --threads N             threads of every run (1)\n"
    "  --runs N, --warmup N    latency: blocks of N timed runs (after\n"
    "                          warmup runs) of float, candidate, candidate,\n"
    "                          float; medians (5, 1)\n"
    "\n"
    "output:\n"
    "  --out FILE              the chosen model (default IN.tuned.onnx)\n"
    "  --write-best            when nothing meets the bound, still write the\n"
    "                          most accurate candidate to OUT\n"
    "  --report FILE.html      self-contained HTML report (always written,\n"
    "                          also when nothing meets the bound)\n"
    "  --json                  print the candidates as JSON\n"
    "  -q, --quiet             no progress lines\n"
    "  -h, --help              show this help\n"
    "\n"
    "exit status: 0 a candidate meets the bound (written), 1 error, 2 usage,\n"
    "3 no candidate meets the bound (nothing written unless --write-best;\n"
    "the report names the most accurate candidate).\n";

enum {
    O_HOLDOUT = 1,
    O_MAXDROP, O_BUDGET, O_CANDS, O_MAXEXCL, O_REFINE, O_MARGIN, O_MINSPEED,
    O_THREADS, O_RUNS, O_WARMUP, O_OUT, O_WRITE_BEST, O_REPORT, O_JSON
};

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

static char *default_out(const char *in)
{
    size_t n = strlen(in);
    if (n > 5 && !strcmp(in + n - 5, ".onnx"))
        n -= 5;
    char *o = malloc(n + 12);
    if (o) {
        memcpy(o, in, n);
        strcpy(o + n, ".tuned.onnx");
    }
    return o;
}

/* ---- the split -------------------------------------------------------------- */

typedef struct split {
    char *root, *cal, *hold;  /* temporary folders */
    char **links;             /* every link made */
    size_t n_links;
    char **held_names;        /* basenames of held-out files */
    size_t n_held;
} split;

static void split_clear(split *s)
{
    for (size_t i = 0; i < s->n_links; i++) {
        unlink(s->links[i]);
        free(s->links[i]);
    }
    free(s->links);
    if (s->cal)
        rmdir(s->cal);
    if (s->hold)
        rmdir(s->hold);
    if (s->root)
        rmdir(s->root);
    free(s->cal);
    free(s->hold);
    free(s->root);
    for (size_t i = 0; i < s->n_held; i++)
        free(s->held_names[i]);
    free(s->held_names);
    memset(s, 0, sizeof *s);
}

/* Reads every sample file once, in name order, so that a file that cannot
 * be read or does not fit the model's inputs is reported as `onnxq static`
 * and `onnxq compare` report it (the search would record a calibration
 * failure per candidate instead). */
static int check_samples(const onnxq_model *m, onnxq_calib_data *all)
{
    const Onnx__GraphProto *g = onnxq_model_proto_const(m)->graph;
    const Onnx__ValueInfoProto **vis = calloc(g->n_input + 1, sizeof *vis);
    onnxq_tensor *t = calloc(g->n_input + 1, sizeof *t);
    size_t n_in = 0;
    int rc = CLI_ERROR;
    if (!vis || !t) {
        cli_fail(CMD, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < g->n_input; i++) {
        int is_init = 0;
        for (size_t j = 0; j < g->n_initializer && !is_init; j++)
            is_init = !strcmp(g->initializer[j]->name, g->input[i]->name);
        if (!is_init)
            vis[n_in++] = g->input[i];
    }
    for (size_t i = 0; i < onnxq_calib_data_n_files(all); i++) {
        onnxq_error err;
        if (onnxq_calib_data_get(all, i, vis, n_in, t, &err) != ONNXQ_OK) {
            cli_fail(CMD, "%s", err.message);
            goto done;
        }
        for (size_t k = 0; k < n_in; k++) {
            free(t[k].data);
            t[k].data = NULL;
        }
    }
    rc = CLI_OK;
done:
    if (t)
        onnxq_tensors_free(t, n_in);
    free(vis);
    return rc;
}

/* Lists the folder through the calibration reader (so the same files, in
 * the same order), picks the held-out ones and links both parts. */
static int make_split(const onnxq_model *m, const cli_samples *src,
                      double holdout, split *s)
{
    memset(s, 0, sizeof *s);
    onnxq_calib_data *all = NULL;
    if (cli_samples_open(CMD, src, NULL, 1, &all) != CLI_OK)
        return CLI_ERROR;
    size_t n = onnxq_calib_data_n_files(all);
    int rc = CLI_ERROR;
    if (n < 2) {
        cli_fail(CMD, "%s: %zu sample file; tune needs at least 2 (some to "
                 "calibrate, some held out)", src->o.dir, n);
        goto done;
    }
    size_t k = holdout >= 1 ? (size_t)holdout
                            : (size_t)floor(holdout * (double)n + 0.5);
    if (k < 1)
        k = 1;
    if (k > n - 1) {
        if (holdout >= 1) {
            cli_fail(CMD, "--holdout %zu: the folder has %zu sample files; "
                     "at most %zu can be held out", k, n, n - 1);
            goto done;
        }
        k = n - 1;
    }
    if (src->o.no_replacement && src->o.count > n - k) {
        cli_fail(CMD, "%s: %zu samples without replacement, but only %zu of "
                 "its %zu files are not held out", src->o.dir, src->o.count,
                 n - k, n);
        goto done;
    }
    if (check_samples(m, all) != CLI_OK)
        goto done;
    const char *tmp = getenv("TMPDIR");
    s->root = oq_path_join(tmp && *tmp ? tmp : "/tmp", "onnxq-tune-XXXXXX");
    char *held = calloc(n, 1);
    s->links = calloc(n, sizeof *s->links);
    s->held_names = calloc(k, sizeof *s->held_names);
    if (!s->root || !held || !s->links || !s->held_names) {
        free(held);
        cli_fail(CMD, "out of memory");
        goto done;
    }
    if (!mkdtemp(s->root)) {
        free(held);
        free(s->root);
        s->root = NULL;
        cli_fail(CMD, "cannot make a temporary folder: %s", strerror(errno));
        goto done;
    }
    s->cal = oq_path_join(s->root, "calib");
    s->hold = oq_path_join(s->root, "holdout");
    if (!s->cal || !s->hold || mkdir(s->cal, 0700) || mkdir(s->hold, 0700)) {
        free(held);
        cli_fail(CMD, "cannot make a temporary folder in %s", s->root);
        goto done;
    }
    for (size_t j = 0; j < k; j++)
        held[(j + 1) * n / k - 1] = 1;
    for (size_t i = 0; i < n; i++) {
        const char *path = onnxq_calib_data_path(all, i);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char *abs = realpath(path, NULL);
        char *link = oq_path_join(held[i] ? s->hold : s->cal, base);
        if (!abs || !link || symlink(abs, link) != 0) {
            cli_fail(CMD, "%s: cannot link it into %s: %s", path, s->root,
                     strerror(errno));
            free(abs);
            free(link);
            free(held);
            goto done;
        }
        free(abs);
        s->links[s->n_links++] = link;
        if (held[i])
            s->held_names[s->n_held++] = oq_strdup(base);
    }
    free(held);
    rc = CLI_OK;
done:
    onnxq_calib_data_destroy(all);
    return rc;
}

/* Copies msg to buf with the temporary folders' paths (s->cal/..., s->hold/...)
 * put back as the user's folder dir, so that errors name the same files as
 * `onnxq static` and `onnxq compare` do. */
static void name_user_files(const split *s, const char *dir, const char *msg,
                            char *buf, size_t size)
{
    char *prefix = oq_path_join(dir, "");
    const char *tmp[2] = {s->cal, s->hold};
    size_t k = 0;
    while (*msg && k + 1 < size) {
        size_t hit = 0;
        for (int t = 0; t < 2 && !hit; t++) {
            size_t l = tmp[t] ? strlen(tmp[t]) : 0;
            if (l && !strncmp(msg, tmp[t], l) && msg[l] == '/')
                hit = l + 1;
        }
        if (hit && prefix) {
            k += (size_t)snprintf(buf + k, size - k, "%s", prefix);
            if (k >= size)
                k = size - 1;
            msg += hit;
        } else {
            buf[k++] = *msg++;
        }
    }
    buf[k] = 0;
    free(prefix);
}

/* ---- printing ------------------------------------------------------------- */

static void fmt(char *buf, size_t size, const char *f, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, size, f, v);
}

static const char *metric_fmt(onnxq_tune_metric m)
{
    return m == ONNXQ_TUNE_SQNR ? "%.2f" : "%.6f";
}

static void progress(void *user, const onnxq_tune_candidate *c, size_t i,
                     const char *what)
{
    const onnxq_tune_options *o = user;
    if (!c) {
        fprintf(stderr, "onnxq tune: %s\n", what);
        return;
    }
    if (!c->ok) {
        fprintf(stderr, "onnxq tune: [%zu] %s: not measured: %s\n", i + 1,
                c->name, c->error ? c->error : "?");
        return;
    }
    char f[32], q[32], s[32], m[32];
    fmt(f, sizeof f, "%.2f", c->float_ms);
    fmt(q, sizeof q, "%.2f", c->quant_ms);
    fmt(s, sizeof s, "%.2f", c->speedup);
    fmt(m, sizeof m, metric_fmt(o->metric), c->metric);
    fprintf(stderr, "onnxq tune: [%zu] %-40s float %s ms  quant %s ms  %sx  "
            "%s %s  %s\n", i + 1, c->name, f, q, s,
            onnxq_tune_metric_name(o->metric), m, c->meets ? "pass" : "fail");
    fflush(stderr);
}

static cJSON *json_num(double v)
{
    if (isfinite(v))
        return cJSON_CreateNumber(v);
    return cJSON_CreateString(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void print_json(const onnxq_tune_options *o, const onnxq_tune_result *r,
                       const char *in, const char *written, const split *sp)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", in);
    cJSON_AddStringToObject(root, "metric", onnxq_tune_metric_name(o->metric));
    cJSON_AddItemToObject(root, "bound", json_num(o->bound));
    cJSON_AddNumberToObject(root, "threads", o->n_threads);
    cJSON_AddNumberToObject(root, "calib_samples", (double)r->n_calib);
    cJSON *h = cJSON_AddArrayToObject(root, "holdout");
    for (size_t i = 0; i < sp->n_held; i++)
        cJSON_AddItemToArray(h, cJSON_CreateString(sp->held_names[i]));
    cJSON_AddNumberToObject(root, "seconds", r->seconds);
    cJSON_AddBoolToObject(root, "budget_hit", r->budget_hit);
    cJSON *cs = cJSON_AddArrayToObject(root, "candidates");
    for (size_t i = 0; i < r->n_cands; i++) {
        const onnxq_tune_candidate *c = &r->cands[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", c->name);
        cJSON_AddBoolToObject(e, "ok", c->ok);
        if (c->error)
            cJSON_AddStringToObject(e, "error", c->error);
        if (c->parent != SIZE_MAX)
            cJSON_AddNumberToObject(e, "refines", (double)c->parent + 1);
        cJSON_AddItemToObject(e, "nodes_excluded",
                              c->nodes_exclude
                                  ? cJSON_CreateString(c->nodes_exclude)
                                  : cJSON_CreateNull());
        cJSON_AddNumberToObject(e, "quantized_nodes", (double)c->n_quantized);
        cJSON_AddItemToObject(e, "float_ms", json_num(c->float_ms));
        cJSON_AddItemToObject(e, "quant_ms", json_num(c->quant_ms));
        cJSON_AddItemToObject(e, "speedup", json_num(c->speedup));
        cJSON_AddItemToObject(e, "cosine_worst", json_num(c->cos_worst));
        cJSON_AddItemToObject(e, "cosine_mean", json_num(c->cos_mean));
        cJSON_AddItemToObject(e, "sqnr_worst", json_num(c->sqnr_worst));
        cJSON_AddItemToObject(e, "sqnr_mean", json_num(c->sqnr_mean));
        cJSON_AddBoolToObject(e, "meets", c->meets);
        cJSON_AddItemToArray(cs, e);
    }
    cJSON_AddItemToObject(root, "chosen",
                          r->chosen == SIZE_MAX
                              ? cJSON_CreateNull()
                              : cJSON_CreateString(r->cands[r->chosen].name));
    cJSON_AddItemToObject(root, "best",
                          r->best == SIZE_MAX
                              ? cJSON_CreateNull()
                              : cJSON_CreateString(r->cands[r->best].name));
    cJSON_AddItemToObject(root, "written",
                          written ? cJSON_CreateString(written)
                                  : cJSON_CreateNull());
    char *text = cJSON_Print(root);
    if (text)
        puts(text);
    free(text);
    cJSON_Delete(root);
}

static void print_text(const onnxq_tune_options *o,
                       const onnxq_tune_result *r)
{
    printf("%-3s %-44s %9s %9s %7s %10s %9s  %s\n", "#", "candidate",
           "float ms", "quant ms", "speedup", "cos worst", "SQNR dB",
           "meets");
    for (size_t i = 0; i < r->n_cands; i++) {
        const onnxq_tune_candidate *c = &r->cands[i];
        if (!c->ok) {
            printf("%-3zu %-44s not measured: %s\n", i + 1, c->name,
                   c->error ? c->error : "?");
            continue;
        }
        char f[32], q[32], s[32], cw[32], sq[32];
        fmt(f, sizeof f, "%.2f", c->float_ms);
        fmt(q, sizeof q, "%.2f", c->quant_ms);
        fmt(s, sizeof s, "%.2fx", c->speedup);
        fmt(cw, sizeof cw, "%.6f", c->cos_worst);
        fmt(sq, sizeof sq, "%.2f", c->sqnr_worst);
        printf("%-3zu %-44s %9s %9s %7s %10s %9s  %s%s\n", i + 1, c->name, f,
               q, s, cw, sq, c->meets ? "yes" : "no",
               i == r->chosen ? "  <- chosen" : "");
    }
    (void)o;
}

/* ---- the report -------------------------------------------------------------- */

static int write_report(const char *path, const char *in,
                        const onnxq_tune_options *o,
                        const onnxq_tune_result *r, const split *sp,
                        const char *written, const char *load)
{
    onnxq_report *rep;
    onnxq_error err;
    if (onnxq_report_create("onnxq tune", &rep, &err) != ONNXQ_OK)
        return cli_fail(CMD, "%s", err.message);
    char text[2048], bound[64];
    snprintf(bound, sizeof bound, "%s >= %g", onnxq_tune_metric_name(o->metric),
             o->bound);
    size_t used = (size_t)snprintf(text, sizeof text,
        "Model %s; %zu calibration samples, %zu held out (", in, r->n_calib,
        r->n_holdout);
    for (size_t i = 0; i < sp->n_held && used < sizeof text; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s",
                                 i ? ", " : "", sp->held_names[i]);
    if (used < sizeof text)
        snprintf(text + used, sizeof text - used,
                 "). Bound: the worst held-out sample's %s over all outputs. "
                 "Latency: median of 2 x %zu runs each of the float model and the "
                 "candidate in blocks (float, candidate, candidate, float) in onnxq's runtime, %d thread%s, on "
                 "the first held-out sample; load average at the start: %s. "
                 "%zu candidates in %.1f s%s.",
                 bound, o->runs, o->n_threads, o->n_threads == 1 ? "" : "s",
                 load, r->n_cands, r->seconds,
                 r->budget_hit ? " (the budget stopped the search)" : "");
    onnxq_report_paragraph(rep, text);
    if (r->chosen != SIZE_MAX)
        snprintf(text, sizeof text,
                 "Chosen: #%zu %s (speed-up %.2fx, worst held-out %s "
                 "%.6g)%s%s. A less accurate candidate is preferred only "
                 "when it is more than %g%% faster.", r->chosen + 1,
                 r->cands[r->chosen].name, r->cands[r->chosen].speedup,
                 onnxq_tune_metric_name(o->metric), r->cands[r->chosen].metric,
                 written ? ", written to " : "", written ? written : "",
                 o->margin * 100);
    else if (r->best != SIZE_MAX)
        snprintf(text, sizeof text,
                 "No candidate meets %s. The most accurate found: #%zu %s "
                 "(%s %.6g)%s%s.", bound, r->best + 1, r->cands[r->best].name,
                 onnxq_tune_metric_name(o->metric), r->cands[r->best].metric,
                 written ? ", written to " : "; nothing written",
                 written ? written : "");
    else
        snprintf(text, sizeof text, "No candidate could be measured.");
    onnxq_report_heading(rep, "Candidates");
    onnxq_report_paragraph(rep, text);
    if (r->chosen != SIZE_MAX && r->cands[r->chosen].speedup < 1) {
        onnxq_report_paragraph(rep, "Note: the chosen model is slower than "
                               "the float model in onnxq's runtime on this "
                               "machine (no quantized candidate was "
                               "faster).");
    }
    size_t n = r->n_cands;
    onnxq_report_point *pts = calloc(n ? n : 1, sizeof *pts);
    enum { NC = 12 };
    char **cells = calloc((n ? n : 1) * NC, sizeof *cells);
    if (!pts || !cells) {
        free(pts);
        free(cells);
        onnxq_report_destroy(rep);
        return cli_fail(CMD, "out of memory");
    }
    size_t mark = r->chosen != SIZE_MAX ? r->chosen : r->best;
    for (size_t i = 0; i < n; i++) {
        const onnxq_tune_candidate *c = &r->cands[i];
        pts[i].label = c->name;
        pts[i].x = c->ok ? c->speedup : NAN;
        pts[i].y = c->ok ? c->metric : NAN;
        pts[i].chosen = i == r->chosen; /* no ring when nothing meets */
        pts[i].meets = c->meets;
        char b[NC][96];
        snprintf(b[0], sizeof b[0], "%zu", i + 1);
        snprintf(b[1], sizeof b[1], "%s", c->name);
        snprintf(b[2], sizeof b[2], "%zu", c->n_excluded);
        snprintf(b[3], sizeof b[3], "%zu", c->n_quantized);
        fmt(b[4], sizeof b[4], "%.2f", c->float_ms);
        fmt(b[5], sizeof b[5], "%.2f", c->quant_ms);
        fmt(b[6], sizeof b[6], "%.3f", c->speedup);
        fmt(b[7], sizeof b[7], "%.6f", c->cos_worst);
        fmt(b[8], sizeof b[8], "%.6f", c->cos_mean);
        fmt(b[9], sizeof b[9], "%.2f", c->sqnr_worst);
        snprintf(b[10], sizeof b[10], "%s",
                 !c->ok ? "-" : c->meets ? "yes" : "no");
        for (int k = 0; k < 11; k++)
            cells[i * NC + (size_t)k] = oq_strdup(b[k]);
        /* the last column: what went wrong, or which layers stayed float */
        cells[i * NC + 11] = oq_strdup(!c->ok ? (c->error ? c->error : "?")
                                       : c->nodes_exclude ? c->nodes_exclude
                                                          : "");
    }
    char ylab[64];
    snprintf(ylab, sizeof ylab, "%s (worst held-out sample)",
             o->metric == ONNXQ_TUNE_SQNR ? "SQNR dB" : "cosine");
    onnxq_report_scatter(rep, "speed-up over float32 against accuracy, one "
                         "point per candidate (grey: fails the bound)",
                         pts, n, "speed-up over float32 (x, onnxq runtime)",
                         ylab, o->bound);
    static const char *const hd[NC] = {
        "#", "candidate", "layers kept float", "nodes quantized", "float ms",
        "quant ms", "speed-up", "cosine worst", "cosine mean",
        "SQNR worst dB", "meets", "kept float / error"};
    static const unsigned char num[NC] = {1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    onnxq_report_table t = {NC, hd, n, (const char *const *)cells, num,
                            mark == SIZE_MAX ? SIZE_MAX : mark};
    onnxq_report_add_table(rep, "candidates (the chosen row is emphasised)",
                           &t);
    if (mark != SIZE_MAX) {
        snprintf(text, sizeof text, "%s #%zu %s: per-layer comparison on the "
                 "held-out samples",
                 r->chosen != SIZE_MAX ? "Chosen" : "Most accurate", mark + 1,
                 r->cands[mark].name);
        onnxq_report_heading(rep, text);
        if (r->detail)
            onnxq_report_add_compare(rep, r->detail, 40);
        else {
            snprintf(text, sizeof text, "per-layer comparison failed: %s",
                     r->detail_error ? r->detail_error : "?");
            onnxq_report_paragraph(rep, text);
        }
    }
    onnxq_status st = onnxq_report_write(rep, path, &err);
    onnxq_report_destroy(rep);
    for (size_t i = 0; i < n * NC; i++)
        free(cells[i]);
    free(cells);
    free(pts);
    if (st != ONNXQ_OK)
        return cli_fail(CMD, "%s", err.message);
    return CLI_OK;
}

static void load_average(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return;
    double a;
    if (fscanf(f, "%lf", &a) == 1) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, size, "%.2f on %ld cores", a, cpus);
    }
    fclose(f);
}

/* ---- the command -------------------------------------------------------------- */

static int parse_bound(const char *s, onnxq_tune_options *o)
{
    const char *eq = strchr(s, '=');
    if (!eq)
        return cli_fail(CMD, "--max-drop wants METRIC=VALUE (cosine=0.995 or "
                        "sqnr=30), got '%s'", s);
    size_t kl = (size_t)(eq - s);
    if (kl == 6 && !strncasecmp(s, "cosine", 6))
        o->metric = ONNXQ_TUNE_COSINE;
    else if (kl == 4 && !strncasecmp(s, "sqnr", 4))
        o->metric = ONNXQ_TUNE_SQNR;
    else
        return cli_fail(CMD, "--max-drop: unknown metric '%.*s' (cosine or "
                        "sqnr)", (int)kl, s);
    double v;
    if (parse_double(eq + 1, &v))
        return cli_fail(CMD, "--max-drop: '%s' is not a number", eq + 1);
    if (o->metric == ONNXQ_TUNE_COSINE && (v < -1 || v > 2))
        return cli_fail(CMD, "--max-drop: cosine=%s is outside [-1, 1]",
                        eq + 1);
    o->bound = v;
    return CLI_OK;
}

int cmd_tune(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_SAMPLE_LONG_OPTIONS,
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"max-drop", required_argument, 0, O_MAXDROP},
        {"budget-seconds", required_argument, 0, O_BUDGET},
        {"candidates", required_argument, 0, O_CANDS},
        {"max-exclude", required_argument, 0, O_MAXEXCL},
        {"refine", required_argument, 0, O_REFINE},
        {"margin", required_argument, 0, O_MARGIN},
        {"min-speedup", required_argument, 0, O_MINSPEED},
        {"threads", required_argument, 0, O_THREADS},
        {"runs", required_argument, 0, O_RUNS},
        {"warmup", required_argument, 0, O_WARMUP},
        {"out", required_argument, 0, O_OUT},
        {"write-best", no_argument, 0, O_WRITE_BEST},
        {"report", required_argument, 0, O_REPORT},
        {"json", no_argument, 0, O_JSON},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_samples src;
    cli_samples_init(&src);
    onnxq_tune_options o;
    onnxq_tune_options_init(&o);
    const char *out = NULL, *report = NULL;
    int json = 0, quiet = 0, write_best = 0, c;
    double holdout = 0.25, d;
    unsigned long v;
    while ((c = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
        int r = cli_samples_parse(CMD, c, optarg, &src);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        switch (c) {
        case 'h':
            fputs(help, stdout);
            return CLI_OK;
        case 'q':
            quiet = 1;
            break;
        case O_HOLDOUT:
            if (parse_double(optarg, &d) || d <= 0 ||
                (d >= 1 && d != floor(d)))
                return cli_fail(CMD, "--holdout: '%s' is neither a count of "
                                "files nor a fraction in (0, 1)", optarg);
            holdout = d;
            break;
        case O_MAXDROP:
            if (parse_bound(optarg, &o) != CLI_OK)
                return CLI_ERROR;
            break;
        case O_BUDGET:
            if (parse_double(optarg, &d) || d < 0)
                return cli_fail(CMD, "--budget-seconds: '%s' is not a number "
                                "of seconds", optarg);
            o.budget_seconds = d;
            break;
        case O_CANDS:
            o.candidates = optarg;
            break;
        case O_MAXEXCL:
        case O_REFINE:
            if (parse_ulong(optarg, 100000, &v))
                return cli_usage_error(CMD, "--%s: '%s' is not a count",
                                       c == O_MAXEXCL ? "max-exclude"
                                                      : "refine", optarg);
            if (c == O_MAXEXCL)
                o.max_exclude = v;
            else
                o.refine_candidates = v;
            break;
        case O_MARGIN:
            if (parse_double(optarg, &d) || d < 0 || d > 1000)
                return cli_usage_error(CMD, "--margin: '%s' is not a "
                                       "percentage", optarg);
            o.margin = d / 100;
            break;
        case O_MINSPEED:
            if (parse_double(optarg, &d) || d <= 0)
                return cli_usage_error(CMD, "--min-speedup: '%s' is not a "
                                       "positive ratio", optarg);
            o.min_speedup = d;
            break;
        case O_THREADS:
            if (parse_ulong(optarg, 1024, &v) || v < 1)
                return cli_usage_error(CMD, "--threads: '%s'", optarg);
            o.n_threads = (int)v;
            break;
        case O_RUNS:
        case O_WARMUP:
            if (parse_ulong(optarg, 1000000, &v) || (c == O_RUNS && v < 1))
                return cli_usage_error(CMD, "--%s: '%s' is not a count%s",
                                       c == O_RUNS ? "runs" : "warmup",
                                       optarg, c == O_RUNS ? " >= 1" : "");
            if (c == O_RUNS)
                o.runs = v;
            else
                o.warmup = v;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_WRITE_BEST:
            write_best = 1;
            break;
        case O_REPORT:
            report = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case ':':
            return cli_usage_error(CMD, "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'",
                                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "no model given");
    if (argc - optind > 1)
        return cli_usage_error(CMD, "unexpected argument '%s' (the output "
                               "is --out FILE)", argv[optind + 1]);
    if (!src.n_sources)
        return cli_usage_error(CMD, "no samples: --calib DIR, --calib-wav "
                               "DIR or --calib-images DIR");
    const char *in = argv[optind];
    char *out_alloc = NULL;
    if (!out && !(out = out_alloc = default_out(in)))
        return cli_fail(CMD, "out of memory");
    if (onnxq_same_file(in, out)) {
        free(out_alloc);
        return cli_fail(CMD, "%s: refusing to write over the input model; "
                        "name another --out", out);
    }
    if (report && (onnxq_same_file(report, in) ||
                   (!strcmp(report, out)))) {
        free(out_alloc);
        return cli_fail(CMD, "%s: the report must not be the input or the "
                        "output model", report);
    }
    if (!quiet) {
        o.progress = progress;
        o.progress_user = &o;
    }
    int rc = CLI_ERROR;
    onnxq_error err;
    onnxq_model *m = NULL;
    onnxq_calib_data *cal = NULL, *hold = NULL;
    onnxq_tune_result r;
    memset(&r, 0, sizeof r);
    split sp;
    memset(&sp, 0, sizeof sp);
    char load[64], msg[sizeof err.message + PATH_MAX];
    load_average(load, sizeof load);
    if (!(m = cli_load_model(CMD, in)))
        goto done;
    if (make_split(m, &src, holdout, &sp) != CLI_OK)
        goto done;
    /* the draw options pick calibration samples; held-out files are each
     * used once */
    onnxq_calib_data_options co = src.o, ho = src.o;
    co.dir = sp.cal;
    ho.dir = sp.hold;
    ho.count = 0;
    ho.no_replacement = 0;
    if (onnxq_calib_data_open(&co, &cal, &err) != ONNXQ_OK ||
        onnxq_calib_data_open(&ho, &hold, &err) != ONNXQ_OK) {
        name_user_files(&sp, src.o.dir, err.message, msg, sizeof msg);
        cli_fail(CMD, "%s", msg);
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "onnxq tune: %zu calibration files, %zu held out:",
                onnxq_calib_data_count(cal), sp.n_held);
        for (size_t i = 0; i < sp.n_held; i++)
            fprintf(stderr, " %s", sp.held_names[i]);
        fprintf(stderr, "; bound %s >= %g; load average %s\n",
                onnxq_tune_metric_name(o.metric), o.bound, load);
    }
    if (onnxq_tune(m, &o, cal, hold, &r, &err) != ONNXQ_OK) {
        /* samples named through the temporary links: name the user's */
        name_user_files(&sp, src.o.dir, err.message, msg, sizeof msg);
        cli_fail(CMD, "%s", msg);
        goto done;
    }
    const char *written = NULL;
    if (r.model && (r.chosen != SIZE_MAX || write_best)) {
        onnxq_save_options so;
        onnxq_save_options_init(&so);
        if (cli_save_model(CMD, r.model, out, &so, 0) != CLI_OK)
            goto done;
        written = out;
    }
    if (report && write_report(report, in, &o, &r, &sp, written, load) !=
        CLI_OK)
        goto done;
    if (json)
        print_json(&o, &r, in, written, &sp);
    else
        print_text(&o, &r);
    if (r.chosen != SIZE_MAX) {
        const onnxq_tune_candidate *c = &r.cands[r.chosen];
        if (!json)
            printf("chosen: %s (%.2fx float32 speed, %s worst %.6g)\n",
                   c->name, c->speedup, onnxq_tune_metric_name(o.metric),
                   c->metric);
        if (c->speedup < 1)
            fprintf(stderr, "onnxq tune: warning: the chosen model is slower "
                    "than float32 in onnxq's runtime here (%.2fx); no "
                    "quantized candidate was faster (--min-speedup 1 makes "
                    "that a failure)\n", c->speedup);
        rc = CLI_OK;
    } else {
        char m2[64] = "none could be measured";
        if (r.best != SIZE_MAX)
            snprintf(m2, sizeof m2, "%.6g", r.cands[r.best].metric);
        fprintf(stderr, "onnxq tune: no candidate meets %s >= %g; the most "
                "accurate: %s (%s)%s\n", onnxq_tune_metric_name(o.metric),
                o.bound, r.best != SIZE_MAX ? r.cands[r.best].name : "-", m2,
                written ? "" : "; nothing written");
        rc = EXIT_NO_CANDIDATE;
    }
    if (!json) {
        if (r.budget_hit)
            printf("budget: %zu planned candidates not measured "
                   "(--budget-seconds %g)\n", r.n_skipped, o.budget_seconds);
        if (written)
            printf("wrote %s\n", written);
        if (report)
            printf("report: %s\n", report);
    }
done:
    onnxq_tune_result_clear(&r);
    onnxq_calib_data_destroy(cal);
    onnxq_calib_data_destroy(hold);
    split_clear(&sp);
    onnxq_model_destroy(m);
    free(out_alloc);
    return rc;
}
