/* oq_util.h — small helpers shared across the library (strings, paths,
 * growable arrays, atomic file writing). */
#ifndef OQ_UTIL_H
#define OQ_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "onnxq/status.h"

/* malloc'd copy of s (NULL stays NULL... and NULL on out of memory). */
char *oq_strdup(const char *s);

/* malloc'd "dir/name" ("name" if dir is "" or "."). */
char *oq_path_join(const char *dir, const char *name);

/* Replaces, in place, every character outside [A-Za-z0-9._-] with '_', so a
 * tensor name can be a file name. */
void oq_sanitize_filename(char *s);

/* Grows *arr (of elem bytes each) so it holds at least need elements;
 * *cap is its capacity in elements.  Returns 0, or -1 on out of memory
 * (leaving *arr as it was). */
int oq_grow(void *arr, size_t *cap, size_t need, size_t elem);

/* 1 when the environment variable name is set to a positive number
 * (ONNXQ_VERBOSE=1, ONNXQ_NO_QDQ_FUSION=1 ...), else 0. */
int oq_env_on(const char *name);

/* ---- atomic writes --------------------------------------------------------
 * oq_atomic_open makes a temporary file beside path; write to af->fp, then
 * oq_atomic_commit (fsync + rename over path) or oq_atomic_abort (unlink).
 */
typedef struct oq_atomic_file {
    FILE *fp;
    char *tmp_path;
    char *final_path;
} oq_atomic_file;

onnxq_status oq_atomic_open(oq_atomic_file *af, const char *path,
                            onnxq_error *err);
/* Flushes and syncs; on success the file is complete but not yet renamed. */
onnxq_status oq_atomic_finish(oq_atomic_file *af, onnxq_error *err);
/* Renames a finished file into place. */
onnxq_status oq_atomic_rename(oq_atomic_file *af, onnxq_error *err);
void oq_atomic_abort(oq_atomic_file *af);

#endif
