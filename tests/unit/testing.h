/* testing.h — the few macros onnxq's C unit tests use.  A failed check prints
 * file:line and the expression (and values) and counts a failure; the test
 * program's exit status is the failure count (capped), so ctest sees it. */
#ifndef ONNXQ_TESTING_H
#define ONNXQ_TESTING_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s = %lld, %s = %lld\n", \
                    __FILE__, __LINE__, #a, va_, #b, vb_);                     \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                           \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", %s = \"%s\"\n", \
                    __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", #b,          \
                    sb_ ? sb_ : "(null)");                                     \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

/* The message must contain the substring. */
#define CHECK_CONTAINS(haystack, needle)                                       \
    do {                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                           \
        if (!h_ || !strstr(h_, n_)) {                                          \
            fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n", __FILE__,    \
                    __LINE__, n_, h_ ? h_ : "(null)");                         \
            test_failures++;                                                   \
        }                                                                      \
    } while (0)

#define TEST_RESULT()                                                          \
    (test_failures ? (fprintf(stderr, "%d check(s) failed\n", test_failures),  \
                      test_failures > 100 ? 100 : test_failures)               \
                   : (printf("all checks passed\n"), 0))

#endif
