/*
 * report_html.c — the self-contained HTML report of `onnxq compare` (and,
 * later, `onnxq tune`): see onnxq/report.h.
 *
 * The page is built as one growing string.  Charts are SVG drawn here with
 * fixed geometry: a bar chart is LABEL_W px of names, then bars over
 * PLOT_W px, one ROW_H px row per bar; a scatter is a fixed box with
 * "nice" ticks (1, 2 or 5 times a power of ten).  Every number is printed
 * with an explicit format in the C locale and nothing depends on the time
 * or the machine, so the same report is the same bytes.
 *
 * Classes the tests look for: svg.chart.bars with one rect.bar per entry
 * (data-label = the name, data-value = the value), svg.chart.scatter with
 * one circle.pt per point and circle.chosen rings.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/report.h"
#include "onnxq/tensor.h"
#include "oq_util.h"

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

struct onnxq_report {
    char *title;
    sbuf body;
};

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

/* Text as HTML: the five special characters become entities, control
 * characters (which HTML forbids) a '?'.  Safe inside elements and inside
 * double- or single-quoted attributes. */
static void sb_esc(sbuf *b, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&': sb_str(b, "&amp;"); break;
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '"': sb_str(b, "&quot;"); break;
        case '\'': sb_str(b, "&#39;"); break;
        default:
            if (ch < 0x20 || ch == 0x7f)
                sb_put(b, "?", 1);
            else
                sb_put(b, s, 1);
        }
    }
}

/* Like sb_esc, but at most max_chars characters (UTF-8 aware), ending in
 * an ellipsis when cut. */
static void sb_esc_cut(sbuf *b, const char *s, size_t max_chars)
{
    size_t chars = 0, i = 0;
    while (s[i] && chars < max_chars) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    if (!s[i]) {
        sb_esc(b, s);
        return;
    }
    /* keep room for the ellipsis */
    size_t keep = 0, c2 = 0;
    while (c2 + 1 < max_chars) {
        keep++;
        while (((unsigned char)s[keep] & 0xC0) == 0x80)
            keep++;
        c2++;
    }
    char *head = malloc(keep + 1);
    if (!head) {
        b->oom = 1;
        return;
    }
    memcpy(head, s, keep);
    head[keep] = '\0';
    sb_esc(b, head);
    free(head);
    sb_str(b, "&#8230;");
}

char *onnxq_html_escape(const char *text)
{
    sbuf b = {0};
    sb_str(&b, "");
    sb_esc(&b, text);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

onnxq_status onnxq_report_create(const char *title, onnxq_report **out,
                                 onnxq_error *err)
{
    onnxq_report *r = calloc(1, sizeof *r);
    if (!r || !(r->title = oq_strdup(title ? title : "onnxq report"))) {
        free(r);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    *out = r;
    return ONNXQ_OK;
}

void onnxq_report_destroy(onnxq_report *r)
{
    if (!r)
        return;
    free(r->title);
    free(r->body.s);
    free(r);
}

void onnxq_report_heading(onnxq_report *r, const char *text)
{
    sb_str(&r->body, "<h2>");
    sb_esc(&r->body, text);
    sb_str(&r->body, "</h2>\n");
}

void onnxq_report_paragraph(onnxq_report *r, const char *text)
{
    sb_str(&r->body, "<p>");
    sb_esc(&r->body, text);
    sb_str(&r->body, "</p>\n");
}

void onnxq_report_add_table(onnxq_report *r, const char *caption,
                            const onnxq_report_table *t)
{
    sbuf *b = &r->body;
    sb_str(b, "<table>\n");
    if (caption) {
        sb_str(b, "<caption>");
        sb_esc(b, caption);
        sb_str(b, "</caption>\n");
    }
    sb_str(b, "<thead><tr>");
    for (size_t c = 0; c < t->n_cols; c++) {
        sb_str(b, t->numeric && t->numeric[c] ? "<th class=\"num\">" : "<th>");
        sb_esc(b, t->headers[c]);
        sb_str(b, "</th>");
    }
    sb_str(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < t->n_rows; i++) {
        sb_str(b, i == t->highlight_row ? "<tr class=\"hl\">" : "<tr>");
        for (size_t c = 0; c < t->n_cols; c++) {
            sb_str(b, t->numeric && t->numeric[c] ? "<td class=\"num\">"
                                                  : "<td>");
            sb_esc(b, t->cells[i * t->n_cols + c]);
            sb_str(b, "</td>");
        }
        sb_str(b, "</tr>\n");
    }
    sb_str(b, "</tbody></table>\n");
}

/* A step of 1, 2 or 5 x 10^k giving about `want` intervals over [lo, hi]. */
static double nice_step(double lo, double hi, int want)
{
    double raw = (hi - lo) / want;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double m = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return m * mag;
}

/* Tick text: as few digits as the step needs. */
static void fmt_tick(char *buf, size_t size, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 8)
        dec = 8;
    if (fabs(v) < step * 1e-9)
        v = 0;
    snprintf(buf, size, "%.*f", dec, v);
}

static void fmt_value(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, size, "%.4g", v);
}

enum { LABEL_W = 330, PLOT_W = 520, VALUE_W = 80, ROW_H = 18, TOP = 26 };

void onnxq_report_bar_chart(onnxq_report *r, const char *caption,
                            const onnxq_report_bar *bars, size_t n,
                            const char *value_label, double bad_below,
                            double warn_below)
{
    sbuf *b = &r->body;
    double lo = 0, hi = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(bars[i].value)) {
            lo = any ? fmin(lo, bars[i].value) : bars[i].value;
            hi = any ? fmax(hi, bars[i].value) : bars[i].value;
            any = 1;
        }
    /* bars start at 0 unless values go below it */
    lo = fmin(lo, 0);
    if (hi <= lo)
        hi = lo + 1;
    double step = nice_step(lo, hi, 5);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    int width = LABEL_W + PLOT_W + VALUE_W;
    int height = TOP + (int)n * ROW_H + 24;
#define XPOS(v) (LABEL_W + ((v) - lo) / (hi - lo) * PLOT_W)
    sb_str(b, "<figure>\n");
    if (caption) {
        sb_str(b, "<figcaption>");
        sb_esc(b, caption);
        sb_str(b, "</figcaption>\n");
    }
    sb_printf(b, "<svg class=\"chart bars\" data-bars=\"%zu\" "
              "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
              n, width, height, width, height);
    /* grid and tick labels */
    char tick[64];
    for (double v = lo; v <= hi + step * 1e-6; v += step) {
        double x = XPOS(v);
        fmt_tick(tick, sizeof tick, v, step);
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                  "y2=\"%d\"/>", x, TOP - 4, x, TOP + (int)n * ROW_H);
        sb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
                  "text-anchor=\"middle\">%s</text>\n", x, TOP - 8, tick);
    }
    double x0 = XPOS(lo < 0 && hi > 0 ? 0 : lo);
    for (size_t i = 0; i < n; i++) {
        double v = bars[i].value;
        int y = TOP + (int)i * ROW_H;
        const char *cls = "good";
        if (isnan(v))
            cls = "nan";
        else if (isinf(v) && v > 0)
            cls = "inf";
        else if (!isnan(bad_below) && v < bad_below)
            cls = "bad";
        else if (!isnan(warn_below) && v < warn_below)
            cls = "warn";
        char val[64];
        fmt_value(val, sizeof val, v);
        sb_printf(b, "<g class=\"row\"><text class=\"label\" x=\"%d\" "
                  "y=\"%d\" text-anchor=\"end\"><title>", LABEL_W - 6,
                  y + ROW_H - 5);
        sb_esc(b, bars[i].label);
        sb_str(b, "</title>");
        sb_esc_cut(b, bars[i].label ? bars[i].label : "", 46);
        sb_str(b, "</text>");
        double xa = x0, xb = x0;
        if (isfinite(v))
            xb = XPOS(v);
        else if (isinf(v))
            xb = v > 0 ? XPOS(hi) : XPOS(lo);
        if (xb < xa) {
            double t = xa;
            xa = xb;
            xb = t;
        }
        sb_printf(b, "<rect class=\"bar %s\" x=\"%.1f\" y=\"%d\" "
                  "width=\"%.1f\" height=\"%d\" data-label=\"", cls, xa,
                  y + 2, xb - xa, ROW_H - 4);
        sb_esc(b, bars[i].label);
        sb_printf(b, "\" data-value=\"%s\"/>", val);
        sb_printf(b, "<text class=\"value\" x=\"%d\" y=\"%d\">%s</text>"
                  "</g>\n", LABEL_W + PLOT_W + 6, y + ROW_H - 5, val);
    }
    sb_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" "
              "text-anchor=\"middle\">", LABEL_W + PLOT_W / 2, height - 6);
    sb_esc(b, value_label);
    sb_str(b, "</text>\n</svg>\n");
    if (!isnan(bad_below) || !isnan(warn_below)) {
        char t1[64], t2[64];
        fmt_value(t1, sizeof t1, bad_below);
        fmt_value(t2, sizeof t2, warn_below);
        sb_printf(b, "<p class=\"legend\"><span class=\"sw bad\"></span>below "
                  "%s <span class=\"sw warn\"></span>below %s <span "
                  "class=\"sw good\"></span>above <span class=\"sw inf\">"
                  "</span>no error (inf)</p>\n", t1, t2);
    }
    sb_str(b, "</figure>\n");
#undef XPOS
}

enum { SC_W = 640, SC_H = 380, SC_L = 70, SC_R = 20, SC_T = 20, SC_B = 50 };

void onnxq_report_scatter(onnxq_report *r, const char *caption,
                          const onnxq_report_point *pts, size_t n,
                          const char *x_label, const char *y_label,
                          double y_bound)
{
    sbuf *b = &r->body;
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pts[i].x) || !isfinite(pts[i].y))
            continue;
        if (!any) {
            x0 = x1 = pts[i].x;
            y0 = y1 = pts[i].y;
            any = 1;
        }
        x0 = fmin(x0, pts[i].x);
        x1 = fmax(x1, pts[i].x);
        y0 = fmin(y0, pts[i].y);
        y1 = fmax(y1, pts[i].y);
    }
    if (isfinite(y_bound)) {
        y0 = any ? fmin(y0, y_bound) : y_bound;
        y1 = any ? fmax(y1, y_bound) : y_bound;
    }
    /* pad so points do not sit on the frame */
    double px = (x1 - x0) * 0.08, py = (y1 - y0) * 0.08;
    if (px <= 0)
        px = fabs(x0) * 0.1 + 1e-3;
    if (py <= 0)
        py = fabs(y0) * 0.01 + 1e-4;
    x0 -= px;
    x1 += px;
    y0 -= py;
    y1 += py;
    double xs = nice_step(x0, x1, 6), ys = nice_step(y0, y1, 5);
    x0 = floor(x0 / xs) * xs;
    x1 = ceil(x1 / xs) * xs;
    y0 = floor(y0 / ys) * ys;
    y1 = ceil(y1 / ys) * ys;
    int pw = SC_W - SC_L - SC_R, ph = SC_H - SC_T - SC_B;
#define SX(v) (SC_L + ((v) - x0) / (x1 - x0) * pw)
#define SY(v) (SC_T + (1 - ((v) - y0) / (y1 - y0)) * ph)
    sb_str(b, "<figure>\n");
    if (caption) {
        sb_str(b, "<figcaption>");
        sb_esc(b, caption);
        sb_str(b, "</figcaption>\n");
    }
    sb_printf(b, "<svg class=\"chart scatter\" data-points=\"%zu\" "
              "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
              "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", n, SC_W,
              SC_H, SC_W, SC_H);
    sb_printf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" "
              "height=\"%d\"/>\n", SC_L, SC_T, pw, ph);
    char tick[64];
    for (double v = x0; v <= x1 + xs * 1e-6; v += xs) {
        fmt_tick(tick, sizeof tick, v, xs);
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                  "y2=\"%d\"/><text class=\"tick\" x=\"%.1f\" y=\"%d\" "
                  "text-anchor=\"middle\">%s</text>\n", SX(v), SC_T, SX(v),
                  SC_T + ph, SX(v), SC_T + ph + 16, tick);
    }
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
        fmt_tick(tick, sizeof tick, v, ys);
        sb_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                  "y2=\"%.1f\"/><text class=\"tick\" x=\"%d\" y=\"%.1f\" "
                  "text-anchor=\"end\">%s</text>\n", SC_L, SY(v), SC_L + pw,
                  SY(v), SC_L - 6, SY(v) + 4, tick);
    }
    if (isfinite(y_bound)) {
        char bv[64];
        fmt_value(bv, sizeof bv, y_bound);
        sb_printf(b, "<line class=\"bound\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                  "y2=\"%.1f\"/><text class=\"boundlabel\" x=\"%d\" "
                  "y=\"%.1f\" text-anchor=\"end\">bound %s</text>\n", SC_L,
                  SY(y_bound), SC_L + pw, SY(y_bound), SC_L + pw - 4,
                  SY(y_bound) - 4, bv);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pts[i].x) || !isfinite(pts[i].y))
            continue;
        char xv[64], yv[64];
        fmt_value(xv, sizeof xv, pts[i].x);
        fmt_value(yv, sizeof yv, pts[i].y);
        sb_printf(b, "<g><circle class=\"pt %s\" cx=\"%.1f\" cy=\"%.1f\" "
                  "r=\"5\" data-label=\"", pts[i].meets ? "meets" : "fails",
                  SX(pts[i].x), SY(pts[i].y));
        sb_esc(b, pts[i].label);
        sb_str(b, "\"><title>");
        sb_printf(b, "%zu ", i + 1);
        sb_esc(b, pts[i].label);
        sb_printf(b, ": %s, %s</title></circle>", xv, yv);
        sb_printf(b, "<text class=\"ptnum\" x=\"%.1f\" y=\"%.1f\">%zu</text>",
                  SX(pts[i].x) + 7, SY(pts[i].y) - 6, i + 1);
        if (pts[i].chosen) {
            sb_printf(b, "<circle class=\"chosen\" cx=\"%.1f\" cy=\"%.1f\" "
                      "r=\"10\"/><text class=\"chosenlabel\" x=\"%.1f\" "
                      "y=\"%.1f\">chosen: ", SX(pts[i].x), SY(pts[i].y),
                      SX(pts[i].x) + 13, SY(pts[i].y) + 16);
            sb_esc_cut(b, pts[i].label ? pts[i].label : "", 40);
            sb_str(b, "</text>");
        }
        sb_str(b, "</g>\n");
    }
    sb_printf(b, "<text class=\"axis\" x=\"%d\" y=\"%d\" "
              "text-anchor=\"middle\">", SC_L + pw / 2, SC_H - 10);
    sb_esc(b, x_label);
    sb_printf(b, "</text><text class=\"axis\" x=\"14\" y=\"%d\" "
              "text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">",
              SC_T + ph / 2, SC_T + ph / 2);
    sb_esc(b, y_label);
    sb_str(b, "</text>\n</svg>\n</figure>\n");
#undef SX
#undef SY
}

/* ---- the comparison's sections ---------------------------------------------- */

static void shape_text(char *buf, size_t size, const onnxq_tensor_compare *t)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 d ? ", " : "", (long long)t->dims[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static void fmt_cos(char *buf, size_t size, double v)
{
    if (isfinite(v))
        snprintf(buf, size, "%.6f", v);
    else
        fmt_value(buf, size, v);
}

static void fmt_db(char *buf, size_t size, double v)
{
    if (isfinite(v))
        snprintf(buf, size, "%.2f", v);
    else
        fmt_value(buf, size, v);
}

enum { CELL = 64 };

/* Rows of a metrics table: cells are written into a block of CELL-byte
 * strings. */
static void compare_rows(onnxq_report *r, const char *caption,
                         const onnxq_tensor_compare *ts, size_t n,
                         int with_argmax, int with_match)
{
    static const char *const h_out[] = {
        "output", "shape", "cosine mean", "cosine worst", "SQNR dB mean",
        "SQNR dB worst", "max abs mean", "max abs worst", "argmax agree mean",
        "argmax agree worst"};
    static const char *const h_t[] = {
        "tensor", "op", "counterpart", "match", "shape", "cosine mean",
        "cosine worst", "SQNR dB mean", "SQNR dB worst", "max abs worst"};
    size_t nc = 10;
    char *block = calloc(n * nc + 1, CELL);
    const char **cells = calloc(n * nc + 1, sizeof *cells);
    if (!block || !cells) {
        r->body.oom = 1;
        free(block);
        free(cells);
        return;
    }
    unsigned char num[10];
    for (size_t i = 0; i < n; i++) {
        const onnxq_tensor_compare *t = &ts[i];
        char *row = block + i * nc * CELL;
        const char **cr = cells + i * nc;
        for (size_t c = 0; c < nc; c++)
            cr[c] = row + c * CELL;
        size_t c = 0;
        cr[c++] = t->name;
        if (with_match) {
            cr[c++] = t->op_type;
            cr[c++] = t->quant_name;
            cr[c++] = onnxq_match_kind_name(t->how);
        }
        shape_text(row + c * CELL, CELL, t);
        c++;
        fmt_cos(row + c * CELL, CELL, t->m.cosine.mean), c++;
        fmt_cos(row + c * CELL, CELL, t->m.cosine.worst), c++;
        fmt_db(row + c * CELL, CELL, t->m.sqnr_db.mean), c++;
        fmt_db(row + c * CELL, CELL, t->m.sqnr_db.worst), c++;
        if (!with_match)
            fmt_value(row + c * CELL, CELL, t->m.max_abs.mean), c++;
        fmt_value(row + c * CELL, CELL, t->m.max_abs.worst), c++;
        if (with_argmax && !with_match) {
            if (isnan(t->m.argmax.mean)) {
                cr[c++] = "-";
                cr[c++] = "-";
            } else {
                snprintf(row + c * CELL, CELL, "%.4f", t->m.argmax.mean), c++;
                snprintf(row + c * CELL, CELL, "%.4f", t->m.argmax.worst), c++;
            }
        }
    }
    for (size_t c = 0; c < nc; c++)
        num[c] = with_match ? c >= 5 : c >= 2;
    onnxq_report_table t = {nc, with_match ? h_t : h_out, n, cells, num,
                            SIZE_MAX};
    onnxq_report_add_table(r, caption, &t);
    free(block);
    free(cells);
}

void onnxq_report_add_compare(onnxq_report *r, const onnxq_compare_result *res,
                              size_t max_layers)
{
    char text[256];
    snprintf(text, sizeof text, "Outputs over %zu sample%s", res->samples,
             res->samples == 1 ? "" : "s");
    onnxq_report_heading(r, text);
    compare_rows(r, NULL, res->outputs, res->n_outputs, 1, 0);
    onnxq_report_paragraph(r, "Cosine similarity and SQNR = 20 log10(|x| / "
                           "|x - y|) of the quantized model's values y "
                           "against the float model's x; worst = lowest "
                           "cosine/SQNR/agreement and highest max abs error "
                           "over the samples. Argmax agreement is given for "
                           "outputs whose last dimension is above 1 (the "
                           "class axis of a classifier); it means nothing "
                           "for embeddings.");
    if (!res->n_tensors && !res->n_weights)
        return;
    if (res->n_tensors) {
        size_t nb = max_layers && max_layers < res->n_tensors
                        ? max_layers : res->n_tensors;
        onnxq_report_bar *bars = calloc(nb + 1, sizeof *bars);
        if (!bars) {
            r->body.oom = 1;
            return;
        }
        for (size_t i = 0; i < nb; i++) {
            bars[i].label = res->tensors[i].name;
            bars[i].value = res->tensors[i].m.sqnr_db.mean;
        }
        snprintf(text, sizeof text, "Per-layer SQNR, worst first (%zu of %zu "
                 "matched tensors; %zu float tensors in the float model)", nb,
                 res->n_tensors, res->n_float_tensors);
        onnxq_report_heading(r, text);
        onnxq_report_bar_chart(r, "mean SQNR per tensor (dB); red below "
                               "20 dB, amber below 30 dB", bars, nb,
                               "SQNR (dB)", 20, 30);
        free(bars);
        compare_rows(r, "every matched tensor, worst first", res->tensors,
                     res->n_tensors, 0, 1);
    }
    if (res->n_weights) {
        snprintf(text, sizeof text, "Quantized weights, worst first (%zu)",
                 res->n_weights);
        onnxq_report_heading(r, text);
        static const char *const h[] = {"weight", "quantized", "via", "type",
                                        "axis", "scales", "elements",
                                        "cosine", "SQNR dB", "max abs"};
        static const unsigned char num[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
        size_t n = res->n_weights, nc = 10;
        char *block = calloc(n * nc + 1, CELL);
        const char **cells = calloc(n * nc + 1, sizeof *cells);
        if (!block || !cells) {
            r->body.oom = 1;
            free(block);
            free(cells);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const onnxq_weight_compare *w = &res->weights[i];
            char *row = block + i * nc * CELL;
            const char **cr = cells + i * nc;
            for (size_t c = 0; c < nc; c++)
                cr[c] = row + c * CELL;
            cr[0] = w->name;
            cr[1] = w->quant_name;
            cr[2] = w->via;
            cr[3] = onnxq_dtype_name(w->quant_dtype);
            if (w->axis >= 0)
                snprintf(row + 4 * CELL, CELL, "%d", w->axis);
            else
                cr[4] = "-";
            snprintf(row + 5 * CELL, CELL, "%zu", w->n_scales);
            snprintf(row + 6 * CELL, CELL, "%zu", w->numel);
            fmt_cos(row + 7 * CELL, CELL, w->m.cosine);
            fmt_db(row + 8 * CELL, CELL, w->m.sqnr_db);
            fmt_value(row + 9 * CELL, CELL, w->m.max_abs);
        }
        onnxq_report_table t = {nc, h, n, cells, num, SIZE_MAX};
        onnxq_report_add_table(r, NULL, &t);
        free(block);
        free(cells);
    }
}

/* ---- the page ------------------------------------------------------------------ */

static const char css[] =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;"
    "color:#222;max-width:1100px}\n"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:"
    "1px solid #ccc}\n"
    "table{border-collapse:collapse;font-size:12px;margin:8px 0}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left}\n"
    "th{background:#eee}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    "tr:nth-child(even) td{background:#f8f8f8}tr.hl td{background:#fff3c4;"
    "font-weight:bold}\n"
    "caption{text-align:left;font-style:italic;padding:2px 0}\n"
    "figure{margin:8px 0}figcaption{font-size:13px;margin-bottom:4px}\n"
    "svg.chart{font-size:11px;background:#fff}\n"
    "svg .grid{stroke:#e2e2e2;stroke-width:1}svg .frame{fill:none;"
    "stroke:#999}\n"
    "svg .tick,svg .value,svg .ptnum{fill:#555}svg .axis{fill:#222;"
    "font-size:12px}\n"
    "svg .bar.good{fill:#3a9d5d}svg .bar.warn{fill:#e0a21b}svg .bar.bad"
    "{fill:#d0453a}svg .bar.inf{fill:#9ab8d9}svg .bar.nan{fill:#999}\n"
    "svg .pt.meets{fill:#2f6fb3}svg .pt.fails{fill:#aaa}svg .chosen{fill:"
    "none;stroke:#d0453a;stroke-width:2.5}\n"
    "svg .chosenlabel{fill:#d0453a;font-weight:bold}svg .bound{stroke:"
    "#d0453a;stroke-dasharray:6 4}svg .boundlabel{fill:#d0453a}\n"
    ".legend{font-size:12px}.sw{display:inline-block;width:12px;height:"
    "10px;margin:0 4px 0 10px}\n"
    ".sw.good{background:#3a9d5d}.sw.warn{background:#e0a21b}.sw.bad"
    "{background:#d0453a}.sw.inf{background:#9ab8d9}\n";

onnxq_status onnxq_report_html(const onnxq_report *r, char **out, size_t *len,
                               onnxq_error *err)
{
    sbuf b = {0};
    sb_str(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
           "charset=\"utf-8\">\n<title>");
    sb_esc(&b, r->title);
    sb_str(&b, "</title>\n<style>\n");
    sb_str(&b, css);
    sb_str(&b, "</style>\n</head>\n<body>\n<h1>");
    sb_esc(&b, r->title);
    sb_str(&b, "</h1>\n");
    if (r->body.s)
        sb_put(&b, r->body.s, r->body.len);
    sb_str(&b, "<p class=\"foot\">Written by onnxq.</p>\n</body>\n</html>\n");
    if (b.oom || r->body.oom) {
        free(b.s);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY,
                               "out of memory writing the report");
    }
    *out = b.s;
    if (len)
        *len = b.len;
    return ONNXQ_OK;
}

onnxq_status onnxq_report_write(const onnxq_report *r, const char *path,
                                onnxq_error *err)
{
    char *html;
    size_t len;
    onnxq_status st = onnxq_report_html(r, &html, &len, err);
    if (st != ONNXQ_OK)
        return st;
    oq_atomic_file af;
    st = oq_atomic_open(&af, path, err);
    if (st == ONNXQ_OK) {
        fwrite(html, 1, len, af.fp);
        st = oq_atomic_finish(&af, err);
        if (st == ONNXQ_OK)
            st = oq_atomic_rename(&af, err);
        if (st != ONNXQ_OK)
            oq_atomic_abort(&af);
    }
    free(html);
    return st;
}
