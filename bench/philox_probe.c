/*
 * philox_probe.c: times fast/'s Philox kernel of one SIMD level alone, in
 * ns per counter (one counter gives two keys' words), for tuning
 * fast/kern_fwd_*.c. It calls the level's kernel table, an internal of
 * fast/, so it links the static library.
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/philox_probe.c \
 *      build/libsus.a -lmpfr -lgmp -lm -fopenmp -o build/philox_probe
 *   build/philox_probe [level]   (1 portable, 2 avx2, 3 avx512; default 3)
 *
 * Each of 3 passes runs 20,000 calls of 512 counters; compare builds of two
 * commits in one session, alternating, since this machine's speed drifts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../fast/fwd.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const int level = argc > 1 ? atoi(argv[1]) : 3;
    const sus_simd lv = level == 1   ? SUS_SIMD_PORTABLE
                        : level == 2 ? SUS_SIMD_AVX2
                                     : SUS_SIMD_AVX512;
    sus_fast_config cfg = {1, lv, 0, 0};
    sus_fast_ctx *ctx = NULL;
    sus_error err;
    if (sus_fast_ctx_new(&cfg, &ctx, &err) != SUS_OK) {
        fprintf(stderr, "philox_probe: simd %s: %s\n", sus_simd_name(lv), err.msg);
        return 1;
    }
    sus_fast_ctx_free(ctx);
    const sus_fw_kern *k = sus_fw_kern_for(lv);
    uint32_t rk[2 * SUS_FW_ROUNDS];
    sus_fw_round_keys(12345, rk);
    enum { NP = 512 };
    static uint32_t x[2 * NP], y[2 * NP];
    const long calls = 20000;
    uint32_t sink = 0;
    for (int pass = 0; pass < 3; pass++) {
        double t0 = now();
        for (long r = 0; r < calls; r++) {
            k->philox(rk, (uint32_t)r, 1, 2, 0, NP, x, y);
            sink ^= x[r % (2 * NP)];
        }
        double t1 = now();
        printf("simd %s: %.3f ns per counter\n", sus_simd_name(lv),
               (t1 - t0) / ((double)calls * NP) * 1e9);
    }
    printf("(checksum %u)\n", (unsigned)sink);
    return 0;
}
