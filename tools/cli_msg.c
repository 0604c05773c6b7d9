/* cli_msg.c: the one-line error messages of every subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Messages must stay one line even when they quote a file name or argument
 * that holds a newline, so control characters are shown as '?'. */
static void print_line(const char *cmd, const char *fmt, va_list ap)
{
    char buf[2 * SUS_CLI_MSG_LEN];
    vsnprintf(buf, sizeof buf, fmt, ap);
    for (char *p = buf; *p; p++) {
        if ((unsigned char)*p < 32 || *p == 127)
            *p = '?';
    }
    fprintf(stderr, "sus %s: %s\n", cmd, buf);
}

void sus_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(cmd, fmt, ap);
    va_end(ap);
}

void sus_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'sus %s --help'.\n", cmd);
}

int sus_cli_fail(sus_error *err, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

int sus_cli_exit_for(int status)
{
    switch (status) {
    case SUS_OK:
        return SUS_EXIT_OK;
    case SUS_ERR_INVAL:
    case SUS_ERR_SHAPE:
    case SUS_ERR_OVERFLOW:
    case SUS_ERR_FORMAT:
    case SUS_ERR_NONFINITE:
    case SUS_ERR_UNSUPPORTED:
        return SUS_EXIT_USAGE;
    default:
        return SUS_EXIT_FAIL;
    }
}

void sus_cli_format_shape(const int64_t *shape, int ndim, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i <= ndim && used < len; i++) {
        int w;
        if (i == ndim) /* Python writes a 1-tuple as "(5,)" */
            w = snprintf(buf + used, len - used, "%s",
                         ndim == 0   ? "()"
                         : ndim == 1 ? ",)"
                                     : ")");
        else
            w = snprintf(buf + used, len - used, i ? ", %lld" : "(%lld",
                         (long long)shape[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}
