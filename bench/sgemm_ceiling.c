/*
 * sgemm_ceiling.c: the machine's GEMM ceiling, as OpenBLAS measures it, for
 * `make bench` (issue 4, "Close to the machine's limit"). Built only by
 * `make bench`, never by `make` or `make check`: OpenBLAS (Debian's
 * libopenblas-dev) is a benchmark dependency, not a dependency of sus.
 *
 * Usage: sgemm_ceiling [--threads T] [--reps R]
 *
 * Times C = A B (row-major, no transposes, beta = 0) at the shapes of the
 * attention GEMMs (S = Q K^T: M = N = 4096, K = 64 or 128; O = P V:
 * M = 4096, N = 64 or 128, K = 4096) and at 2048^3, in float32 (sgemm) and,
 * for the fp64 rows, float64 (dgemm) at 2048^3. Each shape gets one untimed
 * call first (the first touch of fresh memory is slow on these machines),
 * then R timed calls (default 5); the best is reported, as GFLOP/s counting
 * 2 M N K. Prints one JSON object on stdout: the OpenBLAS configuration,
 * the thread count, every shape, and sgemm_best_gflops, the largest sgemm
 * GFLOP/s seen (the ceiling that the forward is compared against).
 *
 * Run it with the environment the comparison wants (make bench unsets
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command alone).
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct shape {
    int m, n, k;
    int dbl; /* 0: sgemm, 1: dgemm */
    const char *what;
} shape;

static const shape shapes[] = {
    {4096, 4096, 64, 0, "S = Q K^T, d = 64"},
    {4096, 4096, 128, 0, "S = Q K^T, d = 128"},
    {4096, 64, 4096, 0, "O = P V, dv = 64"},
    {4096, 128, 4096, 0, "O = P V, dv = 128"},
    {2048, 2048, 2048, 0, "square"},
    {2048, 2048, 2048, 1, "square"},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_int(const char *opt, const char *text, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "sgemm_ceiling: %s: '%s' is not an integer in [%d, %d]\n", opt,
                text, lo, hi);
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* A deterministic fill in [-1, 1): the values do not matter to the time,
 * but denormals or NaN would. */
static void fill(void *p, size_t count, int dbl)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = (double)(x >> 11) * 0x1p-52 - 1.0;
        if (dbl)
            ((double *)p)[i] = v;
        else
            ((float *)p)[i] = (float)v;
    }
}

static void gemm(const shape *s, const void *a, const void *b, void *c)
{
    if (s->dbl)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, s->n, s->k, 1.0, a,
                    s->k, b, s->n, 0.0, c, s->n);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, s->n, s->k, 1.0f,
                    a, s->k, b, s->n, 0.0f, c, s->n);
}

int main(int argc, char **argv)
{
    int threads = 0, reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!parse_int("--threads", argv[++i], 1, 1024, &threads))
                return 2;
        } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            if (!parse_int("--reps", argv[++i], 1, 1000, &reps))
                return 2;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("Usage: sgemm_ceiling [--threads T] [--reps R]\n"
                 "OpenBLAS sgemm/dgemm GFLOP/s at the attention GEMM shapes; JSON "
                 "on stdout.");
            return 0;
        } else {
            fprintf(stderr, "sgemm_ceiling: unknown or incomplete argument '%s'\n",
                    argv[i]);
            return 2;
        }
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    printf("{\"threads\": %d, \"reps\": %d, \"openblas_config\": \"%s\", "
           "\"openblas_corename\": \"%s\", \"results\": [",
           openblas_get_num_threads(), reps, cfg ? cfg : "", core ? core : "");
    double best = 0.0, best_d = 0.0;
    size_t nshapes = sizeof shapes / sizeof shapes[0];
    for (size_t t = 0; t < nshapes; t++) {
        const shape *s = &shapes[t];
        size_t el = s->dbl ? sizeof(double) : sizeof(float);
        size_t na = (size_t)s->m * (size_t)s->k, nb = (size_t)s->k * (size_t)s->n,
               nc = (size_t)s->m * (size_t)s->n;
        void *a = malloc(na * el), *b = malloc(nb * el), *c = malloc(nc * el);
        if (!a || !b || !c) {
            fprintf(stderr, "sgemm_ceiling: out of memory\n");
            return 1;
        }
        fill(a, na, s->dbl);
        fill(b, nb, s->dbl);
        gemm(s, a, b, c); /* warm-up: first touch of c, thread start */
        double tbest = 1e300;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            gemm(s, a, b, c);
            double dt = now() - t0;
            if (dt < tbest)
                tbest = dt;
        }
        double gf = 2.0 * s->m * (double)s->n * s->k / tbest / 1e9;
        if (!s->dbl && gf > best)
            best = gf;
        if (s->dbl && gf > best_d)
            best_d = gf;
        printf("%s{\"routine\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"what\": "
               "\"%s\", \"best_s\": %.6e, \"gflops\": %.2f}",
               t ? ", " : "", s->dbl ? "dgemm" : "sgemm", s->m, s->n, s->k, s->what,
               tbest, gf);
        fflush(stdout);
        free(a);
        free(b);
        free(c);
    }
    printf("], \"sgemm_best_gflops\": %.2f, \"dgemm_best_gflops\": %.2f}\n", best,
           best_d);
    return fflush(stdout) == 0 ? 0 : 1;
}
