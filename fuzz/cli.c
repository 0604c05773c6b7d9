/*
 * cli: the sus argument parsers (tools/cli.h) on fuzzed argv, in-process and
 * without touching the file system: the parsers neither print nor open
 * files. The input is NUL-separated arguments; the first byte picks the
 * parser (grad, mask, sample, moments, bench, or the number parsers). A
 * parser must return RUN, HELP or BAD; BAD with a one-line, non-empty
 * message; the same answer and message when run again on the same argv
 * (getopt's state is reset); and RUN only with options in range.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/bench_cmd.h"
#include "../tools/cli_est.h"
#include "../tools/cmd_grad.h"
#include "fz.h"

#define T      "cli"
#define MAXARG 32

typedef struct parsed {
    sus_cli_parse_result res;
    char msg[SUS_CLI_MSG_LEN];
    union {
        sus_grad_opts g;
        sus_est_opts e;
        sus_bench_opts b;
    } o;
} parsed;

static void parse(int which, int argc, char **argv, parsed *p)
{
    char *copy[MAXARG + 1];
    memcpy(copy, argv, (size_t)(argc + 1) * sizeof *copy); /* getopt permutes */
    memset(p, 0, sizeof *p);
    switch (which) {
    case 0:
        p->res = sus_grad_parse(argc, copy, &p->o.g, p->msg);
        break;
    case 4:
        p->res = sus_bench_parse(argc, copy, &p->o.b, p->msg);
        break;
    default:
        p->res = sus_est_parse((sus_est_cmd)(which - 1), argc, copy, &p->o.e, p->msg);
        break;
    }
}

static void check_run(int which, const parsed *p, const char *line)
{
    int ok = 1;
    if (which == 0) {
        const sus_grad_opts *g = &p->o.g;
        ok = g->q && g->k && g->v && g->dout && g->out &&
             (g->prec == 0 ||
              (g->prec >= SUS_MPFR_MIN_PREC && g->prec <= SUS_MPFR_MAX_PREC)) &&
             (!g->has_scale || isfinite(g->scale));
    } else if (which == 4) {
        const sus_bench_opts *b = &p->o.b;
        ok = b->n >= 1 && b->m >= 1 && b->d >= 1 && b->dv >= 1 && b->c > 0 &&
             b->reps >= 1 && b->threads >= 0;
    } else {
        const sus_est_opts *e = &p->o.e;
        ok = e->q && e->k && e->out && e->rule && (!e->has_c || e->c > 0) &&
             (!e->has_scale || isfinite(e->scale));
    }
    if (!ok)
        fz_fail_plain(T, "parser %d accepted out-of-range options: %s", which, line);
}

static void numbers(const char *text)
{
    char msg[SUS_CLI_MSG_LEN];
    double x;
    int64_t i;
    uint64_t u;
    const sus_rule *r;
    if (sus_cli_parse_budget("--c", text, &x, msg) && !(x > 0))
        fz_fail_plain(T, "budget '%s' accepted as %g", text, x);
    if (sus_cli_parse_double("--scale", text, &x, msg) && isnan(x))
        fz_fail_plain(T, "double '%s' accepted as NaN", text);
    if (sus_cli_parse_i64("--n", text, -5, 1000, &i, msg) && (i < -5 || i > 1000))
        fz_fail_plain(T, "i64 '%s' accepted as %lld outside [-5, 1000]", text,
                      (long long)i);
    if (sus_cli_parse_u64("--seed", text, &u, msg)) {
        char back[32];
        uint64_t v;
        snprintf(back, sizeof back, "%llu", (unsigned long long)u);
        if (!sus_cli_parse_u64("--seed", back, &v, msg) || v != u)
            fz_fail_plain(T, "seed '%s' read %llu, which does not read back", text,
                          (unsigned long long)u);
    }
    if (sus_cli_parse_rule("--rule", text, &r, msg) &&
        (!r || strcmp(r->name, text) != 0))
        fz_fail_plain(T, "rule '%s' accepted as another rule", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {"grad", "mask", "sample", "moments", "bench"};
    if (size < 1 || size > 4096)
        return 0;
    const int which = data[0] % 6;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[MAXARG + 1];
    int argc = 0;
    argv[argc++] = (char *)names[which % 5];
    for (char *p = buf; p < buf + size - 1 && argc < MAXARG; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    if (which == 5) {
        for (int a = 1; a < argc; a++)
            numbers(argv[a]);
        free(buf);
        return 0;
    }
    parsed *p1 = malloc(sizeof *p1), *p2 = malloc(sizeof *p2);
    if (p1 && p2) {
        parse(which, argc, argv, p1);
        parse(which, argc, argv, p2);
        const char *first = argc > 1 ? argv[1] : "";
        if (p1->res != p2->res || strcmp(p1->msg, p2->msg) != 0)
            fz_fail_plain(T, "parser %d is not reentrant: %d '%s' then %d '%s'", which,
                          p1->res, p1->msg, p2->res, p2->msg);
        if (p1->res == SUS_CLI_BAD && (!p1->msg[0] || strchr(p1->msg, '\n') ||
                                       strlen(p1->msg) >= SUS_CLI_MSG_LEN))
            fz_fail_plain(T, "parser %d: bad message '%s' (first argument '%s')", which,
                          p1->msg, first);
        if (p1->res != SUS_CLI_RUN && p1->res != SUS_CLI_HELP && p1->res != SUS_CLI_BAD)
            fz_fail_plain(T, "parser %d returned %d", which, p1->res);
        if (p1->res == SUS_CLI_RUN)
            check_run(which, p1, first);
    }
    free(p1);
    free(p2);
    free(buf);
    return 0;
}
