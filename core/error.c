/* error.c: status codes, their explanations, and detailed error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

const char *sus_version(void)
{
    return SUS_VERSION_STRING;
}

const char *sus_strerror(int status)
{
    switch (status) {
    case SUS_OK:
        return "success";
    case SUS_ERR_INVAL:
        return "invalid argument";
    case SUS_ERR_SHAPE:
        return "inconsistent array shapes";
    case SUS_ERR_OVERFLOW:
        return "size computation overflows";
    case SUS_ERR_NOMEM:
        return "out of memory";
    case SUS_ERR_IO:
        return "input/output error";
    case SUS_ERR_FORMAT:
        return "malformed file or buffer";
    case SUS_ERR_NONFINITE:
        return "input holds NaN or infinity";
    case SUS_ERR_RANGE:
        return "result not representable as a finite double";
    case SUS_ERR_UNSUPPORTED:
        return "not supported";
    default:
        return "unknown status code";
    }
}

int sus_i_fail(sus_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void sus_i_ok(sus_error *err)
{
    if (err) {
        err->status = SUS_OK;
        err->msg[0] = '\0';
    }
}
