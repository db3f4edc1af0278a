/*
 * fuzz_load.c — libFuzzer target for the model loader (src/onnx/).
 *
 * Feeds arbitrary bytes to onnxq_model_load_memory.  Most inputs must simply
 * be refused with an error; one that loads must then hold up to what the rest
 * of onnxq will do with it:
 *   - serialise it (onnxq_model_serialize) and load the result again: a model
 *     onnxq wrote must always be readable by onnxq;
 *   - serialising the reloaded model must give the same bytes (pack/unpack is
 *     stable after one round, so `onnxq save` of its own output is a no-op);
 *   - every initializer of the main graph goes through
 *     onnxq_tensor_check_data, and, when that passes and the tensor is small,
 *     onnxq_tensor_copy_data (which trusts what check_data accepted).
 * A violated invariant calls abort(), which libFuzzer reports as a crash;
 * memory errors are ASan's and UBSan's to catch.
 *
 * External data: the model's folder is a private temporary folder holding
 * one file, "weights.bin" (4096 bytes, byte i = i & 0xff), so inputs can
 * reference real external data (fuzz/onnx.dict offers the keys and name).
 * Any other location fails to open, which is itself a path worth fuzzing.
 * The folder is removed at exit; a run that crashes (libFuzzer leaves with
 * _Exit) leaves it behind: 4 KiB in /tmp/onnxq-fuzz-*.
 *
 * Built with -DONNXQ_FUZZ_STANDALONE this file has its own main() that runs
 * the target once per file named on the command line, so a compiler without
 * libFuzzer (gcc) can still replay fuzz/regressions/.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "onnxq/check.h"
#include "onnxq/model.h"
#include "onnxq/tensor.h"

enum { WEIGHTS_SIZE = 4096, COPY_LIMIT = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base_dir[] = "/tmp/onnxq-fuzz-XXXXXX";
static char weights_path[sizeof base_dir + 16];

static void remove_base_dir(void)
{
    unlink(weights_path);
    rmdir(base_dir);
}

/* Makes the private model folder with its one external data file. */
static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (!mkdtemp(base_dir)) {
        perror("fuzz_load: mkdtemp");
        exit(1);
    }
    snprintf(weights_path, sizeof weights_path, "%s/weights.bin", base_dir);
    FILE *fp = fopen(weights_path, "wb");
    if (!fp) {
        perror("fuzz_load: weights.bin");
        exit(1);
    }
    for (int i = 0; i < WEIGHTS_SIZE; i++)
        fputc(i & 0xff, fp);
    fclose(fp);
    atexit(remove_base_dir);
}

/* Reports a broken invariant and aborts (a crash for libFuzzer). */
static void broken(const char *what, const onnxq_error *err)
{
    fprintf(stderr, "fuzz_load: INVARIANT BROKEN: %s%s%s\n", what,
            err ? ": " : "", err ? err->message : "");
    abort();
}

/* An error message must be one non-empty line. */
static void check_message(const onnxq_error *err)
{
    size_t n = strnlen(err->message, sizeof err->message);
    if (n == 0 || n == sizeof err->message)
        broken("error message empty or unterminated", NULL);
    if (memchr(err->message, '\n', n))
        broken("error message has more than one line", err);
}

static void check_initializers(onnxq_model *m)
{
    Onnx__GraphProto *g = onnxq_model_proto(m)->graph;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        onnxq_error err;
        if (onnxq_tensor_check_data(m, t, &err) != ONNXQ_OK) {
            check_message(&err);
            continue;
        }
        uint64_t bytes;
        if (onnxq_tensor_expected_bytes(t, &bytes, &err) != ONNXQ_OK ||
            bytes > COPY_LIMIT)
            continue; /* strings, or too big to copy every run */
        void *buf = malloc(bytes ? bytes : 1);
        if (!buf)
            continue;
        if (onnxq_tensor_copy_data(m, t, buf, (size_t)bytes, &err) !=
            ONNXQ_OK)
            broken("copy_data failed on a tensor check_data accepted", &err);
        free(buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    onnxq_model *m = NULL;
    onnxq_error err;
    if (onnxq_model_load_memory(data, size, base_dir, "fuzz.onnx", &m,
                                &err) != ONNXQ_OK) {
        check_message(&err);
        return 0;
    }

    check_initializers(m);

    /* the checker must cope with whatever loads */
    onnxq_check_report report = {0};
    onnxq_check_model(m, NULL, &report, NULL);
    onnxq_check_report_clear(&report);

    void *out = NULL, *out2 = NULL;
    size_t out_size = 0, out2_size = 0;
    if (onnxq_model_serialize(m, &out, &out_size, &err) != ONNXQ_OK)
        broken("a loaded model could not be serialised", &err);
    onnxq_model *again = NULL;
    if (onnxq_model_load_memory(out, out_size, base_dir, "fuzz-resaved.onnx",
                                &again, &err) != ONNXQ_OK)
        broken("the serialised model does not load again", &err);
    if (onnxq_model_serialize(again, &out2, &out2_size, &err) != ONNXQ_OK)
        broken("the reloaded model could not be serialised", &err);
    if (out_size != out2_size || memcmp(out, out2, out_size) != 0)
        broken("serialise(load(serialise(x))) differs from serialise(x)",
               NULL);

    free(out);
    free(out2);
    onnxq_model_destroy(again);
    onnxq_model_destroy(m);
    return 0;
}

#ifdef ONNXQ_FUZZ_STANDALONE
/* Replays each file named on the command line once. */
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) {
            perror(argv[i]);
            return 1;
        }
        uint8_t *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
            if (n == cap) {
                cap = cap ? 2 * cap : 65536;
                uint8_t *grown = realloc(buf, cap);
                if (!grown) {
                    fprintf(stderr, "%s: out of memory\n", argv[i]);
                    return 1;
                }
                buf = grown;
            }
            size_t got = fread(buf + n, 1, cap - n, fp);
            if (got == 0)
                break;
            n += got;
        }
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        printf("replayed %s (%zu bytes)\n", argv[i], n);
    }
    return 0;
}
#endif
