/*
 * cli_est.h: the shared option parser of the estimator commands `sus mask`,
 * `sus sample` and `sus moments` (DESIGN.md 2.2-2.5). Like sus_grad_parse,
 * it neither prints nor touches the file system, so it can be fuzzed
 * in-process (it needs cli_num.c, cli_rule.c and the library's rule table).
 */
#ifndef SUS_TOOLS_CLI_EST_H
#define SUS_TOOLS_CLI_EST_H

#include "cli_fast.h"

typedef enum sus_est_cmd { SUS_EST_MASK, SUS_EST_SAMPLE, SUS_EST_MOMENTS } sus_est_cmd;

typedef struct sus_est_opts {
    sus_est_cmd cmd;
    const char *q, *k, *v, *dout; /* input .npy paths (v, dout: not for mask) */
    const char *out;              /* output directory */
    const char *mask;             /* sample: a mask directory, or NULL */
    int has_scale;
    double scale; /* valid if has_scale; else 1/sqrt(d) */
    int causal;
    int has_c;
    double c; /* the budget, > 0, possibly INFINITY */
    int has_seed;
    uint64_t seed;
    const sus_rule *rule; /* never NULL after a successful parse */
    long prec;            /* moments: MPFR bits */
    int enumerate;        /* moments: by enumeration of every mask */
    int mag;              /* sample: also the magnitudes */
    sus_cli_impl impl;    /* sample: ref (default) or fast (fast/) */
    int has_dtype;
    sus_dtype dtype; /* sample --impl fast: F4 or F8 (default F8) */
} sus_est_opts;

/* The command's name as the user typed it ("mask", "sample", "moments"). */
const char *sus_est_name(sus_est_cmd cmd);

/* Parses argv (argv[0] is the command's name) for command cmd. Returns
 * SUS_CLI_RUN, SUS_CLI_HELP, or SUS_CLI_BAD with a one-line reason in msg
 * (SUS_CLI_MSG_LEN bytes). Reusable: it resets getopt's state. */
sus_cli_parse_result sus_est_parse(sus_est_cmd cmd, int argc, char **argv,
                                   sus_est_opts *o, char *msg);

/* ---- Running (cli_est.c) ------------------------------------------------ */

/* The entry point of each command: parses, prints the help or a usage
 * error, else calls run(o) and returns its exit status. */
int sus_est_main(sus_est_cmd cmd, const char *help, int (*run)(const sus_est_opts *o),
                 int argc, char **argv);

/* Reads the command's inputs (Q and K only for mask) and builds the problem
 * with the options' scale and causality. On failure prints the message and
 * returns the exit status (2 for bad input, 1 for out of memory). */
int sus_est_load(const sus_est_opts *o, sus_cli_attn *in, sus_attn *a);

/* Writes arrays[0..count) as names[0..count) into dir, all or none. */
int sus_est_write(const char *dir, const char *const *names, const sus_array *arrays,
                  size_t count, sus_error *err);

#endif
