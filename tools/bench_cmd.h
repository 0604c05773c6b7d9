/*
 * bench_cmd.h: `sus bench`, split like `sus grad` into a parser that neither
 * prints nor touches the file system (cmd_bench.c, which links with
 * cli_num.c alone, for in-process fuzzing) and a runner (bench_run.c, which
 * also holds the entry point sus_cmd_bench).
 */
#ifndef SUS_TOOLS_BENCH_CMD_H
#define SUS_TOOLS_BENCH_CMD_H

#include "cli_fast.h"

/* The fixed seed of the inputs and of the mask, unless --seed is given. */
#define SUS_BENCH_DEFAULT_SEED 20250521u

typedef struct sus_bench_opts {
    int64_t n, m, d, dv; /* m = n and dv = d unless given */
    double c;            /* the budget, > 0, possibly INFINITY */
    int causal;
    sus_dtype dtype;          /* SUS_DTYPE_F4 (default) or SUS_DTYPE_F8 */
    int threads;              /* 0: every online CPU */
    sus_simd simd;            /* AUTO unless forced */
    int64_t block_q, block_k; /* 0: fast/'s defaults */
    int dense;                /* also time the dense backward (default 1) */
    int reps;                 /* timed repetitions, median reported */
    int json;
    uint64_t seed;
} sus_bench_opts;

/* Parses argv (argv[0] is "bench"). Returns SUS_CLI_RUN, SUS_CLI_HELP, or
 * SUS_CLI_BAD with a one-line reason in msg (SUS_CLI_MSG_LEN bytes).
 * Reusable: it resets getopt's state. */
sus_cli_parse_result sus_bench_parse(int argc, char **argv, sus_bench_opts *o,
                                     char *msg);

/* Runs a parsed command; returns the exit status. */
int sus_bench_run(const sus_bench_opts *o);

#endif
