/*
 * cmd_grad.h: `sus grad`, split into a parser that neither prints nor
 * touches the file system (so it can be fuzzed in-process) and a runner.
 */
#ifndef SUS_TOOLS_CMD_GRAD_H
#define SUS_TOOLS_CMD_GRAD_H

#include "cli_fast.h"

typedef struct sus_grad_opts {
    const char *q, *k, *v, *dout; /* input .npy paths (point into argv) */
    const char *out;              /* output directory */
    int has_scale;
    double scale; /* valid if has_scale; else 1/sqrt(d) */
    int causal;
    long prec;         /* 0: the double reference; else MPFR bits */
    int mag;           /* also write the magnitudes */
    sus_cli_impl impl; /* ref (default) or fast: fast/'s forward and dense backward */
    int has_dtype;
    sus_dtype dtype; /* fast: the computing dtype, F4 or F8 (default F8) */
} sus_grad_opts;

/* Parses argv (argv[0] is "grad") into *o. Returns SUS_CLI_RUN, SUS_CLI_HELP,
 * or SUS_CLI_BAD with a one-line reason in msg (SUS_CLI_MSG_LEN bytes).
 * Reusable: it resets getopt's state; argv may be permuted by getopt. */
sus_cli_parse_result sus_grad_parse(int argc, char **argv, sus_grad_opts *o, char *msg);

/* Runs a parsed command; returns the exit status (cmd_grad_run.c, which
 * also holds sus_cmd_grad, so that the parser links without the library). */
int sus_grad_run(const sus_grad_opts *o);

#endif
