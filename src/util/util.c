/* util.c — strings, paths, growable arrays and atomic file writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oq_util.h"

char *oq_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *oq_path_join(const char *dir, const char *name)
{
    if (!dir || !dir[0] || strcmp(dir, ".") == 0)
        return oq_strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (dir[a - 1] != '/')
        p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

void oq_sanitize_filename(char *s)
{
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            *s = '_';
    }
}

int oq_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return -1;
        n *= 2;
    }
    void *p = realloc(*(void **)arr, n * elem);
    if (!p)
        return -1;
    *(void **)arr = p;
    *cap = n;
    return 0;
}

onnxq_status oq_atomic_open(oq_atomic_file *af, const char *path,
                            onnxq_error *err)
{
    memset(af, 0, sizeof *af);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return onnxq_error_set(err, ONNXQ_ERR_IO,
                               "%s: is a directory, cannot write a file there",
                               path);
    size_t n = strlen(path);
    af->tmp_path = malloc(n + 16);
    af->final_path = oq_strdup(path);
    if (!af->tmp_path || !af->final_path) {
        oq_atomic_abort(af);
        return onnxq_error_set(err, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory");
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(af->tmp_path);
        af->tmp_path = NULL;
        oq_atomic_abort(af);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot create: %s",
                               path, strerror(e));
    }
    /* mkstemp makes 0600; models are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        oq_atomic_abort(af);
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot open: %s", path,
                               strerror(errno));
    }
    return ONNXQ_OK;
}

onnxq_status oq_atomic_finish(oq_atomic_file *af, onnxq_error *err)
{
    int bad = ferror(af->fp) || fflush(af->fp) != 0 ||
              fsync(fileno(af->fp)) != 0;
    int e = errno;
    if (fclose(af->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    af->fp = NULL;
    if (bad)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: write failed: %s",
                               af->final_path, strerror(e));
    return ONNXQ_OK;
}

onnxq_status oq_atomic_rename(oq_atomic_file *af, onnxq_error *err)
{
    if (rename(af->tmp_path, af->final_path) != 0)
        return onnxq_error_set(err, ONNXQ_ERR_IO, "%s: cannot rename into "
                               "place: %s", af->final_path, strerror(errno));
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
    return ONNXQ_OK;
}

void oq_atomic_abort(oq_atomic_file *af)
{
    if (af->fp)
        fclose(af->fp);
    if (af->tmp_path)
        unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
}

int oq_env_on(const char *name)
{
    const char *e = getenv(name);
    return e && atoi(e) > 0;
}
