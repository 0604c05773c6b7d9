/* bench_run.c: the `sus bench` entry point and the run of a parsed command:
 * a random problem, a fast/ context, a warm-up, then timed repetitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../core/internal.h"
#include "bench_cmd.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- Inputs ------------------------------------------------------------- */

/* count standard normal values (Box-Muller) into a float or double array;
 * stream separates the arrays, so that Q does not change with m. */
static void fill_normal(void *dst, size_t count, sus_dtype dt, uint64_t seed,
                        uint64_t stream)
{
    uint64_t x = seed ^ (stream * UINT64_C(0xd1b54a32d192ed03));
    const double two_pi = 6.283185307179586;
    for (size_t i = 0; i < count; i += 2) {
        /* u1 in (0, 1], so log(u1) is finite. */
        double u1 = ((double)(sus_i_rng_next(&x) >> 11) + 1.0) * 0x1p-53;
        double u2 = (double)(sus_i_rng_next(&x) >> 11) * 0x1p-53;
        double r = sqrt(-2.0 * log(u1));
        double z[2] = {r * cos(two_pi * u2), r * sin(two_pi * u2)};
        for (size_t t = 0; t < 2 && i + t < count; t++) {
            if (dt == SUS_DTYPE_F4)
                ((float *)dst)[i + t] = (float)z[t];
            else
                ((double *)dst)[i + t] = z[t];
        }
    }
}

/* ---- Timing ------------------------------------------------------------- */

enum { IN_Q, IN_K, IN_V, IN_DO, IN_COUNT };
enum { OUT_O, OUT_LSE, OUT_DQ, OUT_DK, OUT_DV, OUT_COUNT };

typedef struct bench {
    const sus_bench_opts *o;
    size_t bytes; /* what the bench itself allocated: inputs and outputs */
    sus_fast_ctx *ctx;
    sus_fast_problem p;
    void *in[IN_COUNT], *out[OUT_COUNT];
    sus_fast_stats stats;
    int progress; /* stderr is a terminal */
} bench;

typedef struct timings {
    double setup, fwd_first, sus_first, dense_first;
    double fwd, sus, dense; /* medians */
} timings;

static int step_forward(bench *b, sus_error *err)
{
    return sus_fast_forward(b->ctx, &b->p, b->o->c, b->o->seed, b->out[OUT_O],
                            b->out[OUT_LSE], &b->stats, err);
}

static int step_sus(bench *b, sus_error *err)
{
    return sus_fast_sus_backward(b->ctx, &b->p, sus_fast_mask(b->ctx), b->out[OUT_O],
                                 b->out[OUT_DQ], b->out[OUT_DK], b->out[OUT_DV], err);
}

static int step_dense(bench *b, sus_error *err)
{
    return sus_fast_dense_backward(b->ctx, &b->p, b->out[OUT_O], b->out[OUT_LSE],
                                   b->out[OUT_DQ], b->out[OUT_DK], b->out[OUT_DV], err);
}

static int timed(bench *b, int (*step)(bench *, sus_error *), double *t, sus_error *err)
{
    double t0 = now();
    int rc = step(b, err);
    *t = now() - t0;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int count)
{
    qsort(x, (size_t)count, sizeof *x, cmp_double);
    return count % 2 ? x[count / 2] : 0.5 * (x[count / 2 - 1] + x[count / 2]);
}

static void note(const bench *b, const char *what, int rep)
{
    if (!b->progress)
        return;
    if (rep < 0)
        fprintf(stderr, "sus bench: %s\n", what);
    else
        fprintf(stderr, "sus bench: %s %d/%d\n", what, rep + 1, b->o->reps);
}

static int measure(bench *b, timings *t, sus_error *err)
{
    const sus_bench_opts *o = b->o;
    note(b, "warm-up: forward (first call)", -1);
    int rc = timed(b, step_forward, &t->fwd_first, err);
    if (!rc) {
        note(b, "warm-up: SUS backward", -1);
        rc = timed(b, step_sus, &t->sus_first, err);
    }
    if (!rc && o->dense) {
        note(b, "warm-up: dense backward", -1);
        rc = timed(b, step_dense, &t->dense_first, err);
    }
    double *tf = calloc((size_t)o->reps * 3, sizeof(double));
    if (!tf)
        return rc ? rc : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    double *ts = tf + o->reps, *td = ts + o->reps;
    for (int r = 0; r < o->reps && !rc; r++) {
        note(b, "repetition", r);
        rc = timed(b, step_forward, &tf[r], err);
        if (!rc)
            rc = timed(b, step_sus, &ts[r], err);
        if (!rc && o->dense)
            rc = timed(b, step_dense, &td[r], err);
    }
    if (!rc) {
        t->fwd = median(tf, o->reps);
        t->sus = median(ts, o->reps);
        t->dense = o->dense ? median(td, o->reps) : NAN;
    }
    free(tf);
    return rc;
}

/* ---- Output ------------------------------------------------------------- */

/* The (query, key) pairs that attention computes: with causal masking, key
 * j <= query i, so min(i + 1, m) keys for query i. */
static double pairs_of(const sus_shape *sh, int causal)
{
    double n = (double)sh->n, m = (double)sh->m;
    if (!causal)
        return n * m;
    if (m >= n)
        return n * (n + 1) / 2;
    return m * (m + 1) / 2 + (n - m) * m;
}

/* A JSON number, or null for NaN (a skipped measurement). */
static void json_num(const char *key, double x)
{
    if (isnan(x))
        printf(", \"%s\": null", key);
    else
        printf(", \"%s\": %.9g", key, x);
}

static void report(const bench *b, const timings *t)
{
    const sus_bench_opts *o = b->o;
    const sus_mask *mk = sus_fast_mask(b->ctx);
    double rows = (double)o->n, nnz = mk ? (double)mk->nnz : NAN;
    double pairs = pairs_of(&b->p.shape, o->causal);
    double flops = 2.0 * pairs * (double)(o->d + o->dv);
    double gflops = flops / t->fwd / 1e9;
    const char *counted = o->causal ? "2*(d+dv)*pairs, pairs = allowed (i, j) with "
                                      "j <= i (about n*m/2)"
                                    : "2*(d+dv)*n*m (4*n*m*d when dv = d)";
    struct rusage ru;
    double rss_mb =
        getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss * 1024 / 1e6 : NAN;
    const char *simd = sus_simd_name(sus_fast_ctx_simd(b->ctx));
    int threads = sus_fast_ctx_threads(b->ctx);
    char cbuf[32];
    if (isinf(o->c))
        snprintf(cbuf, sizeof cbuf, "inf");
    else
        snprintf(cbuf, sizeof cbuf, "%.17g", o->c);
    if (!o->json) {
        printf("n=%lld m=%lld d=%lld dv=%lld c=%s %s %s threads=%d %s: fwd %.3f ms "
               "(first %.3f ms), SUS bwd %.3f ms, ",
               (long long)o->n, (long long)o->m, (long long)o->d, (long long)o->dv,
               cbuf, o->causal ? "causal" : "non-causal",
               sus_cli_fast_dtype_name(o->dtype), threads, simd, 1e3 * t->fwd,
               1e3 * t->fwd_first, 1e3 * t->sus);
        if (o->dense)
            printf("dense bwd %.3f ms, ", 1e3 * t->dense);
        else
            printf("dense bwd skipped, ");
        printf("nnz/row %.2f, fwd %.1f GFLOP/s, SUS-bwd/fwd %.4f", nnz / rows, gflops,
               t->sus / t->fwd);
        if (o->dense)
            printf(", dense-bwd/SUS-bwd %.1f", t->dense / t->sus);
        printf("\n");
        return;
    }
    printf("{\"n\": %lld, \"m\": %lld, \"d\": %lld, \"dv\": %lld", (long long)o->n,
           (long long)o->m, (long long)o->d, (long long)o->dv);
    if (isinf(o->c))
        printf(", \"c\": \"inf\"");
    else
        printf(", \"c\": %s", cbuf);
    printf(", \"causal\": %s, \"dtype\": \"%s\", \"threads\": %d, \"simd\": \"%s\", "
           "\"reps\": %d, \"seed\": %llu",
           o->causal ? "true" : "false", sus_cli_fast_dtype_name(o->dtype), threads,
           simd, o->reps, (unsigned long long)o->seed);
    json_num("setup_s", t->setup);
    json_num("fwd_first_s", t->fwd_first);
    json_num("sus_bwd_first_s", t->sus_first);
    json_num("dense_bwd_first_s", o->dense ? t->dense_first : NAN);
    json_num("fwd_s", t->fwd);
    json_num("sus_bwd_s", t->sus);
    json_num("dense_bwd_s", t->dense);
    json_num("nnz", nnz);
    json_num("nnz_per_row", nnz / rows);
    json_num("candidates", (double)b->stats.candidates);
    json_num("max_in_flight", (double)b->stats.max_in_flight);
    json_num("pairs", pairs);
    json_num("flops", flops);
    printf(", \"flops_counted\": \"%s\"", counted);
    json_num("fwd_gflops", gflops);
    json_num("sus_bwd_over_fwd", t->sus / t->fwd);
    json_num("dense_bwd_over_sus_bwd", t->dense / t->sus);
    json_num("peak_rss_mb", rss_mb);
    json_num("bench_buffers_mb", (double)b->bytes / 1e6);
    printf("}\n");
}

/* ---- Running ------------------------------------------------------------ */

static int setup(bench *b, sus_error *err)
{
    const sus_bench_opts *o = b->o;
    sus_shape sh = {1, 1, o->n, o->m, o->d, o->dv};
    sus_sizes z;
    int rc = sus_shape_sizes(&sh, &z, err);
    if (rc)
        return rc;
    size_t el = sus_dtype_size(o->dtype);
    const size_t in_count[IN_COUNT] = {z.q, z.k, z.v, z.o};
    const size_t out_count[OUT_COUNT] = {z.o, z.rows, z.q, z.k, z.v};
    for (int i = 0; i < IN_COUNT; i++) {
        b->bytes += in_count[i] * el;
        if (!(b->in[i] = malloc(in_count[i] * el)))
            return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory for the inputs");
        fill_normal(b->in[i], in_count[i], o->dtype, o->seed, (uint64_t)i + 1);
    }
    /* Outputs are left untouched: their first touch belongs to the first
     * call, which is reported apart. */
    for (int i = 0; i < OUT_COUNT; i++) {
        b->bytes += out_count[i] * el;
        if (!(b->out[i] = malloc(out_count[i] * el)))
            return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory for the outputs");
    }
    sus_fast_config cfg = {o->threads, o->simd, o->block_q, o->block_k};
    rc = sus_fast_ctx_new(&cfg, &b->ctx, err);
    if (rc)
        return rc;
    b->p = (sus_fast_problem){
        .shape = sh,
        .dtype = o->dtype,
        .scale = sus_default_scale(o->d),
        .causal = o->causal,
        .q = b->in[IN_Q],
        .k = b->in[IN_K],
        .v = b->in[IN_V],
        .dout = b->in[IN_DO],
    };
    return SUS_OK;
}

int sus_bench_run(const sus_bench_opts *o)
{
    bench b = {.o = o, .progress = isatty(STDERR_FILENO)};
    timings t = {0};
    sus_error err = {SUS_OK, ""};
    note(&b, "generating the inputs", -1);
    double t0 = now();
    int rc = setup(&b, &err);
    t.setup = now() - t0;
    if (!rc)
        rc = measure(&b, &t, &err);
    if (!rc)
        report(&b, &t);
    else
        sus_cli_error("bench", "%s", err.msg);
    sus_fast_ctx_free(b.ctx);
    for (int i = 0; i < IN_COUNT; i++)
        free(b.in[i]);
    for (int i = 0; i < OUT_COUNT; i++)
        free(b.out[i]);
    return rc ? sus_cli_exit_for(rc) : SUS_EXIT_OK;
}

int sus_cmd_bench(int argc, char **argv)
{
    sus_bench_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (sus_bench_parse(argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(sus_cmd_bench_help, stdout);
        return fflush(stdout) == 0 ? SUS_EXIT_OK : SUS_EXIT_FAIL;
    case SUS_CLI_BAD:
        sus_cli_usage_error("bench", "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return sus_bench_run(&o);
}
