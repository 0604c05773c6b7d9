/*
 * fwd_probe.c: times sus_fast_forward alone, for tuning the forward
 * kernels (sus bench measures the whole table). One head, n = m, d = dv,
 * inputs uniform in [-1, 1), scale 4/sqrt(d) (so the weights are not all
 * alike); one untimed call (its time is printed as "first": fresh pages
 * are slow here), then reps timed calls with different seeds.
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/fwd_probe.c \
 *      build/libsus.a -lmpfr -lgmp -lm -fopenmp -o build/fwd_probe
 *   build/fwd_probe [n d c threads f32 causal block_q block_k reps]
 *   (defaults: 4096 64 32 1 1 0 0 0 5; SUS_PROBE_SIMD=1|2|3 forces a level)
 *
 * GFLOP/s counts 4 n m d (halved when causal). "cpu" is the process CPU
 * time of the best call: on a shared machine it shows what the call cost
 * when the wall time includes waiting for a core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sus.h"

static double now(clockid_t clk)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    long long a[9] = {4096, 64, 32, 1, 1, 0, 0, 0, 5};
    for (int t = 1; t < argc && t <= 9; t++)
        a[t - 1] = atoll(argv[t]);
    const int64_t n = a[0], m = a[0], d = a[1], dv = a[1];
    const double c = (double)a[2];
    const int threads = (int)a[3], f32 = (int)a[4], causal = (int)a[5],
              reps = (int)a[8];
    const char *lv = getenv("SUS_PROBE_SIMD");
    const size_t es = f32 ? sizeof(float) : sizeof(double);
    void *q = malloc((size_t)(n * d) * es), *k = malloc((size_t)(m * d) * es),
         *v = malloc((size_t)(m * dv) * es), *o = malloc((size_t)(n * dv) * es),
         *lse = malloc((size_t)n * es);
    if (!q || !k || !v || !o || !lse)
        return 1;
    srand(1);
    for (int64_t t = 0; t < n * d; t++) {
        double x = 2.0 * rand() / RAND_MAX - 1.0, y = 2.0 * rand() / RAND_MAX - 1.0;
        if (f32) {
            ((float *)q)[t] = (float)x;
            ((float *)k)[t] = (float)y;
            ((float *)v)[t] = (float)(x * y);
        } else {
            ((double *)q)[t] = x;
            ((double *)k)[t] = y;
            ((double *)v)[t] = x * y;
        }
    }
    sus_fast_problem p = {{1, 1, n, m, d, dv},
                          f32 ? SUS_DTYPE_F4 : SUS_DTYPE_F8,
                          4.0 * sus_default_scale(d),
                          causal,
                          q,
                          k,
                          v,
                          NULL};
    sus_fast_config cfg = {threads, lv ? (sus_simd)atoi(lv) : SUS_SIMD_AUTO, a[6],
                           a[7]};
    sus_fast_ctx *ctx;
    sus_error err;
    if (sus_fast_ctx_new(&cfg, &ctx, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    sus_fast_stats st;
    double t0 = now(CLOCK_MONOTONIC);
    if (sus_fast_forward(ctx, &p, c, 1, o, lse, &st, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double first = now(CLOCK_MONOTONIC) - t0, best = 1e300, cbest = 1e300, sum = 0;
    for (int r = 0; r < reps; r++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (sus_fast_forward(ctx, &p, c, 2 + (uint64_t)r, o, lse, &st, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double w = now(CLOCK_MONOTONIC) - w0, ct = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        best = w < best ? w : best;
        cbest = ct < cbest ? ct : cbest;
        sum += w;
    }
    double flops = 4.0 * (double)n * (double)m * (double)d * (causal ? 0.5 : 1.0);
    printf("n %lld d %lld c %g threads %d %s %s simd %s: first %.1f ms, best %.2f ms "
           "(%.1f GFLOP/s), mean %.2f ms, cpu %.2f ms; nnz/row %.1f, candidates/row "
           "%.1f, max in flight %lld\n",
           (long long)n, (long long)d, c, sus_fast_ctx_threads(ctx),
           f32 ? "f32" : "f64", causal ? "causal" : "full",
           sus_simd_name(sus_fast_ctx_simd(ctx)), first * 1e3, best * 1e3,
           flops / best * 1e-9, sum / reps * 1e3, cbest * 1e3,
           (double)st.nnz / (double)n, (double)st.candidates / (double)n,
           (long long)st.max_in_flight);
    sus_fast_ctx_free(ctx);
    free(q);
    free(k);
    free(v);
    free(o);
    free(lse);
    return 0;
}
