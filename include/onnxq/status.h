/*
 * onnxq/status.h — how every onnxq call reports failure.
 *
 * The library never prints and never exits.  A call that can fail returns an
 * onnxq_status and, when the caller passes a non-NULL onnxq_error, fills its
 * message with one line saying what failed, where (file, node, tensor), which
 * values and why.  The command-line tool prints that line; a library user may
 * show it or not.  Passing NULL for the error is always allowed.
 */
#ifndef ONNXQ_STATUS_H
#define ONNXQ_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum onnxq_status {
    ONNXQ_OK = 0,
    ONNXQ_ERR_INVALID_ARGUMENT, /* the caller passed something unusable */
    ONNXQ_ERR_INVALID_MODEL,    /* the model or tensor file is malformed */
    ONNXQ_ERR_UNSUPPORTED,      /* valid, but onnxq does not implement it */
    ONNXQ_ERR_SHAPE_MISMATCH,   /* shapes or types do not agree */
    ONNXQ_ERR_OUT_OF_MEMORY,
    ONNXQ_ERR_IO,               /* open/read/write/rename failed */
    ONNXQ_ERR_INTERNAL          /* a bug in onnxq */
} onnxq_status;

enum { ONNXQ_ERROR_MSG_SIZE = 1024 };

typedef struct onnxq_error {
    onnxq_status status;
    char message[ONNXQ_ERROR_MSG_SIZE]; /* one line, no trailing newline */
} onnxq_error;

/* A short constant name for a status ("invalid model", ...). */
const char *onnxq_status_name(onnxq_status status);

/* Sets err (if non-NULL) to status and a printf-formatted message and
 * returns status, so failures read `return onnxq_error_set(err, ...);`. */
onnxq_status onnxq_error_set(onnxq_error *err, onnxq_status status,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of an existing message (adds context such as the
 * file name as an error travels up).  Returns err->status. */
onnxq_status onnxq_error_prefix(onnxq_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
