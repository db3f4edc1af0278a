/* status.c — error codes and the one-line error messages they carry. */
#include "onnxq/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *onnxq_status_name(onnxq_status status)
{
    switch (status) {
    case ONNXQ_OK: return "ok";
    case ONNXQ_ERR_INVALID_ARGUMENT: return "invalid argument";
    case ONNXQ_ERR_INVALID_MODEL: return "invalid model";
    case ONNXQ_ERR_UNSUPPORTED: return "unsupported";
    case ONNXQ_ERR_SHAPE_MISMATCH: return "shape mismatch";
    case ONNXQ_ERR_OUT_OF_MEMORY: return "out of memory";
    case ONNXQ_ERR_IO: return "i/o error";
    case ONNXQ_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

/* Messages are one line: a newline from a file name or tensor name would let
 * untrusted input forge extra output lines, so control characters become '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

onnxq_status onnxq_error_set(onnxq_error *err, onnxq_status status,
                             const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        one_line(err->message);
        err->status = status;
    }
    return status;
}

onnxq_status onnxq_error_prefix(onnxq_error *err, const char *fmt, ...)
{
    if (!err)
        return ONNXQ_ERR_INTERNAL;
    char prefix[ONNXQ_ERROR_MSG_SIZE];
    char old[ONNXQ_ERROR_MSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    /* Built by hand: the result is cut to the buffer like snprintf would. */
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3)
        n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t room = sizeof err->message - n - 3;
    size_t m = strlen(old);
    if (m > room)
        m = room;
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
    one_line(err->message);
    return err->status;
}
