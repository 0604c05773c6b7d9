/* cli_num.c: strict parsing of option arguments, without output. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

sus_cli_parse_result sus_cli_bad(char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, SUS_CLI_MSG_LEN, fmt, ap);
    va_end(ap);
    /* Messages quote arguments; a newline or other control character in
     * one must not split the one-line error (found by fuzz/cli.c). */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return SUS_CLI_BAD;
}

/* strtod and strtoll skip leading space and stop at the first bad character;
 * a command line should mean exactly what it says, so both are refused. */
static int well_formed(const char *option, const char *text, char *msg)
{
    if (text[0] == '\0') {
        sus_cli_bad(msg, "%s: empty number", option);
        return 0;
    }
    if (isspace((unsigned char)text[0])) {
        sus_cli_bad(msg, "%s: '%s' is not a number (leading space)", option, text);
        return 0;
    }
    return 1;
}

int sus_cli_parse_double(const char *option, const char *text, double *out, char *msg)
{
    if (!well_formed(option, text, msg))
        return 0;
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != '\0') {
        sus_cli_bad(msg, "%s: '%s' is not a number", option, text);
        return 0;
    }
    if (!isfinite(x)) {
        sus_cli_bad(msg, "%s: '%s' is not finite", option, text);
        return 0;
    }
    /* ERANGE also flags underflow; a value that silently became 0 or lost
     * precision as a subnormal is not what the user wrote. */
    if (errno == ERANGE) {
        sus_cli_bad(msg, "%s: '%s' is out of the range of double", option, text);
        return 0;
    }
    *out = x;
    return 1;
}

int sus_cli_parse_i64(const char *option, const char *text, int64_t lo, int64_t hi,
                      int64_t *out, char *msg)
{
    if (!well_formed(option, text, msg))
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(text, &end, 10);
    if (end == text || *end != '\0') {
        sus_cli_bad(msg, "%s: '%s' is not an integer", option, text);
        return 0;
    }
    if (errno == ERANGE || x < lo || x > hi) {
        sus_cli_bad(msg, "%s: '%s' is out of range [%lld, %lld]", option, text,
                    (long long)lo, (long long)hi);
        return 0;
    }
    *out = (int64_t)x;
    return 1;
}

int sus_cli_parse_u64(const char *option, const char *text, uint64_t *out, char *msg)
{
    if (!well_formed(option, text, msg))
        return 0;
    /* strtoull accepts a sign (and negates "-1" into 2^64 - 1) and guesses
     * octal from a leading 0, so the digits are checked here first. */
    int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char *digits = hex ? text + 2 : text;
    size_t len = strlen(digits);
    size_t ok = strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789");
    if (len == 0 || ok != len) {
        sus_cli_bad(msg,
                    "%s: '%s' is not an unsigned integer (decimal, or hexadecimal "
                    "with 0x)",
                    option, text);
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(digits, &end, hex ? 16 : 10);
    if (errno == ERANGE || *end != '\0' || x > UINT64_MAX) {
        sus_cli_bad(msg, "%s: '%s' is out of range [0, %llu]", option, text,
                    (unsigned long long)UINT64_MAX);
        return 0;
    }
    *out = (uint64_t)x;
    return 1;
}

int sus_cli_parse_budget(const char *option, const char *text, double *out, char *msg)
{
    const char *t = text[0] == '+' ? text + 1 : text;
    if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *out = INFINITY;
        return 1;
    }
    double c;
    if (!sus_cli_parse_double(option, text, &c, msg)) {
        /* "nan" and "-inf" are numbers to strtod but no budget; say why. */
        char *end;
        double x = strtod(text, &end);
        if (isspace((unsigned char)text[0]) || end == text || *end != '\0')
            return 0;
        if (isnan(x) || x < 0.0)
            sus_cli_bad(msg, "%s: '%s' is not a valid budget: use a number > 0 or inf",
                        option, text);
        else if (isinf(x))
            sus_cli_bad(msg,
                        "%s: '%s' is out of the range of double; write inf for "
                        "an infinite budget",
                        option, text);
        return 0;
    }
    if (!(c > 0.0)) {
        sus_cli_bad(msg, "%s: '%s' is not a valid budget: use a number > 0 or inf",
                    option, text);
        return 0;
    }
    *out = c;
    return 1;
}

sus_cli_parse_result sus_cli_getopt_error(int c, int argc, char **argv, char *msg)
{
    /* getopt_long has stepped past a bad long option but may still be inside
     * a group of short ones, so short options are named by optopt. */
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) == 0) {
        int len = (int)strcspn(arg, "=");
        if (c == ':')
            return sus_cli_bad(msg, "option '%.*s' requires an argument", len, arg);
        /* glibc sets optopt to the option's value when a flag got "=...". */
        if (optopt && arg[len] == '=')
            return sus_cli_bad(msg, "option '%.*s' does not take an argument", len,
                               arg);
        return sus_cli_bad(msg, "unknown or ambiguous option '%.*s'", len, arg);
    }
    if (c == ':')
        return sus_cli_bad(msg, "option '-%c' requires an argument", optopt);
    if (optopt > 32 && optopt < 127)
        return sus_cli_bad(msg, "unknown option '-%c'", optopt);
    return sus_cli_bad(msg, "unknown option '%s'", arg);
}

sus_cli_parse_result sus_cli_getopt_each(int argc, char **argv,
                                         const struct option *table,
                                         sus_cli_option_fn fn, void *state, char *msg)
{
    int help = 0;
    sus_cli_parse_result r = SUS_CLI_RUN;
    /* optind = 0 makes glibc reinitialize fully, so the parser can run again
     * in the same process; "+" stops at the first operand, ":" and opterr = 0
     * keep getopt silent so that every message comes from the caller. */
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", table, NULL)) != -1) {
        if (c == 'h') {
            help = 1;
            continue;
        }
        if (r != SUS_CLI_RUN)
            continue;
        r = c == '?' || c == ':' ? sus_cli_getopt_error(c, argc, argv, msg)
                                 : fn(c, state, msg);
    }
    return help ? SUS_CLI_HELP : r;
}

sus_cli_parse_result sus_cli_set_path(const char **slot, const char *option,
                                      const char *value, char *msg)
{
    if (*slot)
        return sus_cli_bad(msg, "%s given more than once", option);
    if (value[0] == '\0')
        return sus_cli_bad(msg, "%s: empty path", option);
    *slot = value;
    return SUS_CLI_RUN;
}
