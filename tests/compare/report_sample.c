/* report_sample.c — writes an HTML report with every kind of section
 * onnxq/report.h offers (the scatter and candidate table `onnxq tune` will
 * use, a bar chart with inf, NaN and negative values, names that try HTML
 * injection), for test_report_html.py to render in headless Chromium; and
 * checks onnxq_html_escape and that the same calls give the same bytes.
 *
 * usage: report_sample OUT.html */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxq/report.h"

static int build(onnxq_report **out)
{
    onnxq_error err;
    onnxq_report *r;
    if (onnxq_report_create("tune <sample> & \"report\"", &r, &err) != ONNXQ_OK)
        return 1;
    onnxq_report_paragraph(r, "candidates of a search, <script>alert(1)"
                              "</script> stays text");
    static const onnxq_report_point pts[] = {
        {"float32", 46.0, 1.0, 0, 1},
        {"qdq u8s8 per-channel", 24.5, 0.9996, 1, 1},
        {"qdq s8s8", 52.1, 0.9991, 0, 1},
        {"qoperator u8s8 <b>bold</b>", 23.9, 0.9931, 0, 0},
        {"qdq u8u8 entropy", 25.2, 0.9958, 0, 1},
    };
    onnxq_report_heading(r, "Candidates");
    onnxq_report_scatter(r, "latency against embedding cosine", pts, 5,
                         "median latency (ms)", "cosine to float32", 0.995);
    static const char *const hd[] = {"#", "candidate", "ms", "cosine"};
    static const char *const cells[] = {
        "1", "float32", "46.0", "1.000000",
        "2", "qdq u8s8 per-channel", "24.5", "0.999600",
        "3", "qdq s8s8", "52.1", "0.999100",
        "4", "qoperator u8s8 <b>bold</b>", "23.9", "0.993100",
        "5", "qdq u8u8 entropy", "25.2", "0.995800"};
    static const unsigned char num[] = {1, 0, 1, 1};
    onnxq_report_table t = {4, hd, 5, cells, num, 1};
    onnxq_report_add_table(r, "every candidate; the chosen one is marked", &t);
    onnxq_report_bar bars[] = {
        {"conv1<img src=x onerror=alert(1)>", -3.5},
        {"layer1/relu", 12.25},
        {"layer2/conv 'quoted'", 27.0},
        {"pool", 41.5},
        {"nan layer", NAN},
        {"identical", INFINITY},
    };
    onnxq_report_heading(r, "Per-layer SQNR");
    onnxq_report_bar_chart(r, "SQNR (dB)", bars, 6, "SQNR (dB)", 20, 30);
    *out = r;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: report_sample OUT.html\n");
        return 2;
    }
    char *e = onnxq_html_escape("a<b>&\"c'\x01");
    int bad = !e || strcmp(e, "a&lt;b&gt;&amp;&quot;c&#39;?") != 0;
    free(e);
    if (bad) {
        fprintf(stderr, "report_sample: onnxq_html_escape is wrong\n");
        return 1;
    }
    onnxq_report *r1, *r2;
    if (build(&r1) || build(&r2)) {
        fprintf(stderr, "report_sample: cannot build the report\n");
        return 1;
    }
    char *h1, *h2;
    size_t l1, l2;
    onnxq_error err;
    if (onnxq_report_html(r1, &h1, &l1, &err) != ONNXQ_OK ||
        onnxq_report_html(r2, &h2, &l2, &err) != ONNXQ_OK) {
        fprintf(stderr, "report_sample: %s\n", err.message);
        return 1;
    }
    bad = l1 != l2 || memcmp(h1, h2, l1) != 0;
    free(h1);
    free(h2);
    if (bad) {
        fprintf(stderr, "report_sample: the same report differs\n");
        return 1;
    }
    onnxq_status st = onnxq_report_write(r1, argv[1], &err);
    onnxq_report_destroy(r1);
    onnxq_report_destroy(r2);
    if (st != ONNXQ_OK) {
        fprintf(stderr, "report_sample: %s\n", err.message);
        return 1;
    }
    return 0;
}
