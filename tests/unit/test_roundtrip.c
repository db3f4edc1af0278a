/* test_roundtrip.c — every model.onnx under a folder (Debian's
 * libonnx-testdata) loads, saves through onnxq_model_save, and comes out
 * byte-identical; loading from memory gives the same bytes too.
 * usage: test_roundtrip DATA_DIR TMP_DIR MIN_COUNT */
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnxq/model.h"
#include "testing.h"

static const char *tmp_path;
static int count, identical;

static int read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *data = malloc(n ? (size_t)n : 1);
    *size = (size_t)n;
    int ok = *data && fread(*data, 1, *size, fp) == *size;
    fclose(fp);
    return ok ? 0 : -1;
}

static int visit(const char *path, const struct stat *st, int type,
                 struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F || strcmp(path + strlen(path) - 10, "model.onnx") != 0 ||
        (strlen(path) > 10 && path[strlen(path) - 11] != '/'))
        return 0;
    count++;
    onnxq_error err;
    onnxq_model *m = NULL;
    if (onnxq_model_load_file(path, &m, &err) != ONNXQ_OK) {
        fprintf(stderr, "load failed: %s\n", err.message);
        test_failures++;
        return 0;
    }
    if (onnxq_model_save(m, tmp_path, NULL, NULL, &err) != ONNXQ_OK) {
        fprintf(stderr, "save failed: %s\n", err.message);
        test_failures++;
        onnxq_model_destroy(m);
        return 0;
    }
    onnxq_model_destroy(m);
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(read_file(path, &a, &na) == 0);
    CHECK(read_file(tmp_path, &b, &nb) == 0);
    if (a && b && na == nb && memcmp(a, b, na) == 0) {
        /* and from memory, serialised */
        onnxq_model *mm = NULL;
        void *s = NULL;
        size_t ns = 0;
        if (onnxq_model_load_memory(a, na, NULL, path, &mm, &err) ==
                ONNXQ_OK &&
            onnxq_model_serialize(mm, &s, &ns, &err) == ONNXQ_OK &&
            ns == na && memcmp(s, a, na) == 0)
            identical++;
        else
            fprintf(stderr, "memory round trip differs: %s\n", path);
        free(s);
        onnxq_model_destroy(mm);
    } else {
        fprintf(stderr, "saved bytes differ: %s (%zu vs %zu bytes)\n", path,
                na, nb);
    }
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_roundtrip DATA_DIR TMP_DIR MIN_COUNT\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/roundtrip.onnx", argv[2]);
    tmp_path = path;
    CHECK(nftw(argv[1], visit, 32, FTW_PHYS) == 0);
    unlink(path);
    printf("%d models, %d byte-identical after load + save\n", count,
           identical);
    CHECK(count >= atoi(argv[3]));
    CHECK_EQ_INT(identical, count);
    return TEST_RESULT();
}
