/*
 * onnxq/report.h — one self-contained HTML file that shows what a
 * comparison (`onnxq compare`) or a search (`onnxq tune`) measured.
 *
 * The file needs nothing else to be read: CSS is inline, charts are inline
 * SVG drawn by onnxq (no script, no network), and every chart is followed
 * by the table of the numbers it draws.  Every name that reaches the page
 * (tensor, node, file names) is HTML-escaped.  The same calls give the same
 * bytes: no dates, numbers printed in the C locale.
 *
 *     onnxq_report *r;
 *     onnxq_report_create("onnxq compare", &r, &err);
 *     onnxq_report_paragraph(r, "float a.onnx, quantized b.onnx");
 *     onnxq_report_add_compare(r, result, 40);   // outputs, per-layer SQNR
 *     onnxq_report_write(r, "report.html", &err); // atomic
 *     onnxq_report_destroy(r);
 *
 * For `onnxq tune`: onnxq_report_scatter draws the candidates' latency
 * against accuracy with the chosen one marked and the bound as a line, and
 * onnxq_report_add_table lists them.
 */
#ifndef ONNXQ_REPORT_H
#define ONNXQ_REPORT_H

#include <stddef.h>

#include "onnxq/compare.h"
#include "onnxq/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct onnxq_report onnxq_report;

/* title is copied (escaped into <title> and the first heading). */
onnxq_status onnxq_report_create(const char *title, onnxq_report **out,
                                 onnxq_error *err);
void onnxq_report_destroy(onnxq_report *r); /* NULL is a no-op */

/* Sections, appended in order.  Strings are copied.  Out of memory is
 * remembered and returned by onnxq_report_html / onnxq_report_write. */
void onnxq_report_heading(onnxq_report *r, const char *text);
void onnxq_report_paragraph(onnxq_report *r, const char *text);

/* A table of n_rows x n_cols cells (row-major, strings; NULL prints as
 * empty).  numeric[col] (may be NULL) right-aligns a column; highlight_row
 * (or SIZE_MAX) is drawn emphasised (the chosen candidate). */
typedef struct onnxq_report_table {
    size_t n_cols;
    const char *const *headers;
    size_t n_rows;
    const char *const *cells;
    const unsigned char *numeric;
    size_t highlight_row;
} onnxq_report_table;
void onnxq_report_add_table(onnxq_report *r, const char *caption,
                            const onnxq_report_table *t);

/* A horizontal bar chart, one bar per entry, top to bottom in the given
 * order.  +inf values (no error) are drawn full length and labelled "inf";
 * NaN values get no bar and the label "nan".  Bars are red below bad_below,
 * amber below warn_below, green otherwise (NaN thresholds: all one colour).
 * The caller adds the table behind the chart with onnxq_report_add_table. */
typedef struct onnxq_report_bar {
    const char *label;
    double value;
} onnxq_report_bar;
void onnxq_report_bar_chart(onnxq_report *r, const char *caption,
                            const onnxq_report_bar *bars, size_t n,
                            const char *value_label, double bad_below,
                            double warn_below);

/* A scatter of points (x: e.g. latency in ms, y: e.g. cosine), each
 * numbered 1..n as in the table the caller adds next to it; `chosen` points
 * are ringed and named; points with meets == 0 are grey.  y_bound (NaN:
 * none) is drawn as a dashed horizontal line. */
typedef struct onnxq_report_point {
    const char *label;
    double x, y;
    int chosen;
    int meets;
} onnxq_report_point;
void onnxq_report_scatter(onnxq_report *r, const char *caption,
                          const onnxq_report_point *pts, size_t n,
                          const char *x_label, const char *y_label,
                          double y_bound);

/* The sections of a comparison: per-output metrics table; with per-tensor
 * results, the per-layer SQNR bar chart of the max_layers worst tensors
 * (0: all) followed by the full per-tensor table, and the weight table. */
void onnxq_report_add_compare(onnxq_report *r, const onnxq_compare_result *res,
                              size_t max_layers);

/* The whole page (malloc'd, NUL-terminated; the caller frees it). */
onnxq_status onnxq_report_html(const onnxq_report *r, char **out, size_t *len,
                               onnxq_error *err);
/* Writes the page to path atomically (nothing is left behind on failure). */
onnxq_status onnxq_report_write(const onnxq_report *r, const char *path,
                                onnxq_error *err);

/* Appends text HTML-escaped (& < > " ' and control characters) to a
 * malloc'd buffer; exposed for tests.  Returns a malloc'd string. */
char *onnxq_html_escape(const char *text);

#ifdef __cplusplus
}
#endif
#endif
