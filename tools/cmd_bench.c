/* cmd_bench.c: `sus bench`, the timing of fast/ on one random problem:
 * forward with the fused sampler, SUS backward, dense backward. This file
 * holds the help and the parser; bench_run.c runs it. */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "bench_cmd.h"

const char sus_cmd_bench_help[] =
    "Usage: sus bench --n N --d D --c C [OPTIONS]\n"
    "\n"
    "Times the optimized implementation (fast/) on one random attention problem\n"
    "and prints one row: the forward with the fused streaming sampler at budget\n"
    "C, the SUS backward under the mask it drew, and the dense exact backward.\n"
    "\n"
    "The problem: B = H = 1, Q [n, d], K [m, d], V [m, dv], dO [n, dv], every\n"
    "element drawn from N(0, 1) with a fixed seed, scale 1/sqrt(d). A context\n"
    "with the requested threads is created once; then one untimed call of each\n"
    "step warms up (the first touch of fresh memory is slow on these machines:\n"
    "the first forward is reported apart, as fwd_first_s), then R timed\n"
    "repetitions of forward, SUS backward and dense backward, in that order;\n"
    "the median of each is reported.\n"
    "\n"
    "GFLOP/s of the forward count 2 (d + dv) flops per (query, key) pair:\n"
    "4 n m d when dv = d and not causal; with --causal only the allowed pairs\n"
    "(j <= i: about half) are counted. The row says which (flops_counted).\n"
    "\n"
    "Options:\n"
    "  --n N          queries (required), 1..2147483647\n"
    "  --m M          keys (default N)\n"
    "  --d D          query/key width (required), 1..65536\n"
    "  --dv DV        value width (default D)\n"
    "  --c C          the sampler's budget (required): a number > 0, or inf\n"
    "  --causal       causal masking as PyTorch's is_causal: key j <= query i\n"
    "  --dtype T      f32 (default) or f64\n"
    "  --threads T    threads, 0..1024 (default 0: every online CPU)\n"
    "  --simd LEVEL   auto (default), avx512, avx2 or portable: force fast/'s\n"
    "                 kernels down to a level (refused if the CPU lacks it)\n"
    "  --block-q R, --block-k K   fast/'s tile sizes (default 0: its own)\n"
    "  --dense        time the dense backward too (the default)\n"
    "  --no-dense     skip the dense backward (dense_bwd_s is then null)\n"
    "  --reps R       timed repetitions, 1..1000 (default 3)\n"
    "  --seed S       the seed of the inputs and of the mask (default 20250521)\n"
    "  --json         print the row as one JSON object, for scripts\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "JSON keys: n, m, d, dv, c (a number, or the string \"inf\"), causal, dtype,\n"
    "threads, simd, reps, seed, setup_s (input generation), fwd_first_s,\n"
    "sus_bwd_first_s, dense_bwd_first_s, fwd_s, sus_bwd_s, dense_bwd_s (seconds,\n"
    "medians; dense ones null with --no-dense), nnz, nnz_per_row, candidates,\n"
    "max_in_flight (the sampler's statistics), pairs, flops, flops_counted,\n"
    "fwd_gflops, sus_bwd_over_fwd, dense_bwd_over_sus_bwd, peak_rss_mb\n"
    "(getrusage), bench_buffers_mb (the inputs and outputs that sus bench itself\n"
    "allocates; the rest of the peak is fast/'s context and mask). Progress goes to "
    "stderr, and only when it is a terminal.\n"
    "\n"
    "Exit status: 0 success, 2 bad usage, 1 any other failure (such as out of\n"
    "memory).\n";

enum {
    OPT_N = 256,
    OPT_M,
    OPT_D,
    OPT_DV,
    OPT_C,
    OPT_CAUSAL,
    OPT_DTYPE,
    OPT_THREADS,
    OPT_SIMD,
    OPT_BLOCK_Q,
    OPT_BLOCK_K,
    OPT_DENSE,
    OPT_NO_DENSE,
    OPT_REPS,
    OPT_SEED,
    OPT_JSON,
    OPT_LAST = OPT_JSON,
    OPT_HELP = 'h'
};

static const struct option bench_options[] = {
    {"n", required_argument, NULL, OPT_N},
    {"m", required_argument, NULL, OPT_M},
    {"d", required_argument, NULL, OPT_D},
    {"dv", required_argument, NULL, OPT_DV},
    {"c", required_argument, NULL, OPT_C},
    {"causal", no_argument, NULL, OPT_CAUSAL},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"simd", required_argument, NULL, OPT_SIMD},
    {"block-q", required_argument, NULL, OPT_BLOCK_Q},
    {"block-k", required_argument, NULL, OPT_BLOCK_K},
    {"dense", no_argument, NULL, OPT_DENSE},
    {"no-dense", no_argument, NULL, OPT_NO_DENSE},
    {"reps", required_argument, NULL, OPT_REPS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

#define MAX_LEN   INT64_C(2147483647)
#define MAX_WIDTH INT64_C(65536)

static sus_cli_parse_result parse_simd(const char *text, sus_simd *out, char *msg)
{
    static const struct {
        const char *name;
        sus_simd level;
    } levels[] = {{"auto", SUS_SIMD_AUTO},
                  {"portable", SUS_SIMD_PORTABLE},
                  {"avx2", SUS_SIMD_AVX2},
                  {"avx512", SUS_SIMD_AVX512}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(text, levels[i].name) == 0) {
            *out = levels[i].level;
            return SUS_CLI_RUN;
        }
    }
    return sus_cli_bad(msg,
                       "--simd: '%s' is not a level: use auto, avx512, avx2 or "
                       "portable",
                       text);
}

static sus_cli_parse_result i64_opt(const char *option, int64_t lo, int64_t hi,
                                    int64_t *out, char *msg)
{
    return sus_cli_parse_i64(option, optarg, lo, hi, out, msg) ? SUS_CLI_RUN
                                                               : SUS_CLI_BAD;
}

static sus_cli_parse_result int_opt(const char *option, int64_t lo, int64_t hi,
                                    int *out, char *msg)
{
    int64_t v;
    if (!sus_cli_parse_i64(option, optarg, lo, hi, &v, msg))
        return SUS_CLI_BAD;
    *out = (int)v;
    return SUS_CLI_RUN;
}

static sus_cli_parse_result parse_one(int c, sus_bench_opts *o, char *msg)
{
    switch (c) {
    case OPT_N:
        return i64_opt("--n", 1, MAX_LEN, &o->n, msg);
    case OPT_M:
        return i64_opt("--m", 1, MAX_LEN, &o->m, msg);
    case OPT_D:
        return i64_opt("--d", 1, MAX_WIDTH, &o->d, msg);
    case OPT_DV:
        return i64_opt("--dv", 1, MAX_WIDTH, &o->dv, msg);
    case OPT_C:
        return sus_cli_parse_budget("--c", optarg, &o->c, msg) ? SUS_CLI_RUN
                                                               : SUS_CLI_BAD;
    case OPT_CAUSAL:
        o->causal = 1;
        return SUS_CLI_RUN;
    case OPT_DTYPE:
        return sus_cli_parse_fast_dtype("--dtype", optarg, &o->dtype, msg)
                   ? SUS_CLI_RUN
                   : SUS_CLI_BAD;
    case OPT_THREADS:
        return int_opt("--threads", 0, 1024, &o->threads, msg);
    case OPT_SIMD:
        return parse_simd(optarg, &o->simd, msg);
    case OPT_BLOCK_Q:
        return i64_opt("--block-q", 0, MAX_LEN, &o->block_q, msg);
    case OPT_BLOCK_K:
        return i64_opt("--block-k", 0, MAX_LEN, &o->block_k, msg);
    case OPT_DENSE:
        o->dense = 1;
        return SUS_CLI_RUN;
    case OPT_NO_DENSE:
        o->dense = 0;
        return SUS_CLI_RUN;
    case OPT_REPS:
        return int_opt("--reps", 1, 1000, &o->reps, msg);
    case OPT_SEED:
        return sus_cli_parse_u64("--seed", optarg, &o->seed, msg) ? SUS_CLI_RUN
                                                                  : SUS_CLI_BAD;
    case OPT_JSON:
        o->json = 1;
        return SUS_CLI_RUN;
    default:
        return sus_cli_bad(msg, "internal error: unhandled option %d", c);
    }
}

static const char *option_name(int c)
{
    for (const struct option *p = bench_options; p->name; p++) {
        if (p->val == c)
            return p->name;
    }
    return "?";
}

typedef struct bench_state {
    sus_bench_opts *o;
    unsigned char *seen;
} bench_state;

static sus_cli_parse_result bench_option(int c, void *state, char *msg)
{
    bench_state *st = state;
    /* Every option may be given once; --dense and --no-dense exclude each
     * other, so that a command line means one thing. */
    if (st->seen[c - OPT_N])
        return sus_cli_bad(msg, "--%s given more than once", option_name(c));
    st->seen[c - OPT_N] = 1;
    if (st->seen[OPT_DENSE - OPT_N] && st->seen[OPT_NO_DENSE - OPT_N])
        return sus_cli_bad(msg, "--dense and --no-dense cannot be used together");
    return parse_one(c, st->o, msg);
}

sus_cli_parse_result sus_bench_parse(int argc, char **argv, sus_bench_opts *o,
                                     char *msg)
{
    memset(o, 0, sizeof *o);
    o->dtype = SUS_DTYPE_F4;
    o->simd = SUS_SIMD_AUTO;
    o->dense = 1;
    o->reps = 3;
    o->seed = SUS_BENCH_DEFAULT_SEED;
    msg[0] = '\0';
    unsigned char seen[OPT_LAST - OPT_N + 1] = {0};
    bench_state st = {o, seen};
    sus_cli_parse_result r =
        sus_cli_getopt_each(argc, argv, bench_options, bench_option, &st, msg);
    if (r != SUS_CLI_RUN)
        return r;
    if (optind < argc)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    const int required[] = {OPT_N, OPT_D, OPT_C};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!seen[required[i] - OPT_N])
            return sus_cli_bad(msg, "missing required option --%s",
                               option_name(required[i]));
    }
    if (!seen[OPT_M - OPT_N])
        o->m = o->n;
    if (!seen[OPT_DV - OPT_N])
        o->dv = o->d;
    return SUS_CLI_RUN;
}
