/* ctx.c: the fast/ context: thread count, SIMD level and reusable
 * workspaces. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/internal.h"
#include "fast_internal.h"

/* Measured with sus bench (fp32 and fp64, d = 64, c = 32, 2 threads, causal
 * and not, n = 1024..65536): 128 query rows per tile were 2-6% faster than
 * 64 and never slower beyond the noise. The key tile's default depends on
 * the problem (sus_fi_block_k). */
#define DEFAULT_BLOCK_Q 128
#define MAX_THREADS     1024

sus_simd sus_fi_cpu_simd(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return SUS_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return SUS_SIMD_AVX2;
#endif
    return SUS_SIMD_PORTABLE;
}

const char *sus_simd_name(sus_simd level)
{
    switch (level) {
    case SUS_SIMD_AUTO:
        return "auto";
    case SUS_SIMD_PORTABLE:
        return "portable";
    case SUS_SIMD_AVX2:
        return "avx2";
    case SUS_SIMD_AVX512:
        return "avx512";
    }
    return "unknown";
}

int sus_fast_ctx_new(const sus_fast_config *cfg, sus_fast_ctx **out, sus_error *err)
{
    if (!out)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_fast_ctx_new: NULL output");
    *out = NULL;
    sus_fast_config c = cfg ? *cfg : (sus_fast_config){0, SUS_SIMD_AUTO, 0, 0};
    if (c.threads < 0 || c.threads > MAX_THREADS)
        return sus_i_fail(err, SUS_ERR_INVAL, "threads = %d: must be in [0, %d]",
                          c.threads, MAX_THREADS);
    if (c.threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        c.threads = online < 1 ? 1 : online > MAX_THREADS ? MAX_THREADS : (int)online;
    }
    sus_simd best = sus_fi_cpu_simd();
    if (c.simd == SUS_SIMD_AUTO)
        c.simd = best;
    else if (c.simd < SUS_SIMD_PORTABLE || c.simd > SUS_SIMD_AVX512)
        return sus_i_fail(err, SUS_ERR_INVAL, "simd level %d is not a sus_simd",
                          (int)c.simd);
    else if (c.simd > best)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "simd level %s is not supported by this CPU (best: %s)",
                          sus_simd_name(c.simd), sus_simd_name(best));
    if (c.block_q < 0 || c.block_k < 0 || c.block_q > 4096 || c.block_k > 65536)
        return sus_i_fail(err, SUS_ERR_INVAL,
                          "tile sizes block_q = %lld, block_k = %lld: must be in "
                          "[1, 4096] x [1, 65536] (0 for the default)",
                          (long long)c.block_q, (long long)c.block_k);
    sus_fast_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_ctx_new: out of memory");
    ctx->threads = c.threads;
    ctx->simd = c.simd;
    ctx->block_q = c.block_q ? c.block_q : DEFAULT_BLOCK_Q;
    ctx->block_k = c.block_k; /* 0: sus_fi_block_k picks one per problem */
    ctx->per_thread = calloc((size_t)c.threads * SUS_FI_SLOT_COUNT, sizeof(sus_fi_buf));
    if (!ctx->per_thread) {
        free(ctx);
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_ctx_new: out of memory");
    }
    *out = ctx;
    sus_i_ok(err);
    return SUS_OK;
}

void sus_fast_ctx_free(sus_fast_ctx *ctx)
{
    if (!ctx)
        return;
    for (int s = 0; s < SUS_FI_SLOT_COUNT; s++)
        free(ctx->shared[s].p);
    for (size_t t = 0; t < (size_t)ctx->threads * SUS_FI_SLOT_COUNT; t++)
        free(ctx->per_thread[t].p);
    free(ctx->per_thread);
    free(ctx->mask.indptr);
    free(ctx->mask.indices);
    free(ctx->mask.wtilde);
    free(ctx);
}

sus_simd sus_fast_ctx_simd(const sus_fast_ctx *ctx)
{
    return ctx ? ctx->simd : SUS_SIMD_AUTO;
}

int sus_fast_ctx_threads(const sus_fast_ctx *ctx)
{
    return ctx ? ctx->threads : 0;
}

const sus_mask *sus_fast_mask(const sus_fast_ctx *ctx)
{
    return ctx ? &ctx->mask : NULL;
}

/* 64-byte alignment for the SIMD kernels; contents are not preserved. */
static void *grow(sus_fi_buf *b, size_t bytes)
{
    if (bytes <= b->cap && b->p)
        return b->p;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < bytes) {
        if (cap > SIZE_MAX / 2)
            return NULL;
        cap *= 2;
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, cap))
        return NULL;
    free(b->p);
    b->p = p;
    b->cap = cap;
    return p;
}

void *sus_fi_scratch(sus_fast_ctx *ctx, int slot, size_t bytes)
{
    if (slot < 0 || slot >= SUS_FI_SLOT_COUNT)
        return NULL;
    return grow(&ctx->shared[slot], bytes);
}

void *sus_fi_thread_scratch(sus_fast_ctx *ctx, int tid, int slot, size_t bytes)
{
    if (slot < 0 || slot >= SUS_FI_SLOT_COUNT || tid < 0 || tid >= ctx->threads)
        return NULL;
    return grow(&ctx->per_thread[(size_t)tid * SUS_FI_SLOT_COUNT + (size_t)slot],
                bytes);
}

/* Grows keep the contents: the mask is built incrementally. */
static int grow_keep(void **p, size_t *cap, size_t count, size_t size)
{
    if (count <= *cap && *p)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < count) {
        if (c > SIZE_MAX / 2 / size)
            return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int sus_fi_mask_reserve(sus_fast_ctx *ctx, size_t rows, size_t nnz)
{
    size_t icap = ctx->mask_cap;
    if (grow_keep((void **)&ctx->mask.indptr, &ctx->indptr_cap, rows + 1,
                  sizeof(int64_t)) ||
        grow_keep((void **)&ctx->mask.indices, &icap, nnz, sizeof(int64_t)))
        return SUS_ERR_NOMEM;
    size_t wcap = ctx->mask_cap;
    if (grow_keep((void **)&ctx->mask.wtilde, &wcap, nnz, sizeof(double)))
        return SUS_ERR_NOMEM;
    ctx->mask_cap = icap < wcap ? icap : wcap;
    return SUS_OK;
}

/* Chunks of the finiteness scan: small enough to balance the threads and
 * to rescan one cheaply for the index of its first bad value, large enough
 * that the per-chunk work dwarfs the loop around it. */
#define FINITE_CHUNK 4096

/* Whether x[t0, t0 + FINITE_CHUNK) holds a non-finite value: the exponent field
 * all ones. Branch-free over integer bits, with a constant trip count for
 * whole chunks, so that gcc's -O2 vectorizer takes it (a variable count
 * would need an epilogue, which -O2's cost model refuses): the inputs are
 * scanned on every call of the forward and the backward, and the scalar
 * scan was 9% of the SUS backward at n = 65536 (perf). */
static uint32_t bad_f32(const float *x, size_t t0)
{
    uint32_t bad = 0;
    for (size_t t = 0; t < FINITE_CHUNK; t++) {
        uint32_t b;
        memcpy(&b, x + t0 + t, sizeof b);
        bad |= (b & 0x7f800000u) == 0x7f800000u ? 1u : 0u;
    }
    return bad;
}

static uint64_t bad_f64(const double *x, size_t t0)
{
    uint64_t bad = 0;
    for (size_t t = 0; t < FINITE_CHUNK; t++) {
        uint64_t b;
        memcpy(&b, x + t0 + t, sizeof b);
        bad |= (b & 0x7ff0000000000000u) == 0x7ff0000000000000u ? 1u : 0u;
    }
    return bad;
}

static int chunk_bad(const void *x, int f32, size_t t0, size_t t1)
{
    if (t1 - t0 == FINITE_CHUNK)
        return f32 ? bad_f32(x, t0) != 0 : bad_f64(x, t0) != 0;
    for (size_t t = t0; t < t1; t++) {
        double v = f32 ? (double)((const float *)x)[t] : ((const double *)x)[t];
        if (!isfinite(v))
            return 1;
    }
    return 0;
}

/* The first non-finite value of x[0, count): threads scan chunks, the
 * smallest bad chunk is rescanned element by element, so the index
 * reported is the first one whatever the thread count. */
static int check_finite(const sus_fast_problem *p, int threads, const void *x,
                        size_t count, const char *name, sus_error *err)
{
    const int f32 = p->dtype == SUS_DTYPE_F4;
    const size_t chunks = (count + FINITE_CHUNK - 1) / FINITE_CHUNK;
    size_t first = chunks;
    const int nth = chunks < 16 ? 1 : threads;
#pragma omp parallel for num_threads(nth) schedule(static) reduction(min : first)
    for (size_t c = 0; c < chunks; c++) {
        const size_t t0 = c * FINITE_CHUNK;
        const size_t t1 = count - t0 < FINITE_CHUNK ? count : t0 + FINITE_CHUNK;
        if (c < first && chunk_bad(x, f32, t0, t1))
            first = c;
    }
    if (first == chunks)
        return SUS_OK;
    for (size_t t = first * FINITE_CHUNK; t < count; t++) {
        double v = f32 ? (double)((const float *)x)[t] : ((const double *)x)[t];
        if (!isfinite(v))
            return sus_i_fail(err, SUS_ERR_NONFINITE,
                              "%s: non-finite value %g at flat index %zu", name, v, t);
    }
    return SUS_OK; /* not reached: chunk first holds one */
}

int sus_fi_check_problem(const sus_fast_problem *p, int threads, int need_dout,
                         sus_error *err)
{
    if (!p)
        return sus_i_fail(err, SUS_ERR_INVAL, "fast: NULL problem");
    sus_sizes z;
    int rc = sus_shape_sizes(&p->shape, &z, err);
    if (rc)
        return rc;
    if (p->dtype != SUS_DTYPE_F4 && p->dtype != SUS_DTYPE_F8)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "fast: dtype must be float32 or float64");
    if (!p->q || !p->k || !p->v || (need_dout && !p->dout))
        return sus_i_fail(err, SUS_ERR_INVAL, "fast: NULL input array");
    if (!isfinite(p->scale))
        return sus_i_fail(err, SUS_ERR_INVAL, "scale: %g is not finite", p->scale);
    if ((rc = check_finite(p, threads, p->q, z.q, "Q", err)) ||
        (rc = check_finite(p, threads, p->k, z.k, "K", err)) ||
        (rc = check_finite(p, threads, p->v, z.v, "V", err)) ||
        (need_dout && (rc = check_finite(p, threads, p->dout, z.o, "dO", err))))
        return rc;
    sus_i_ok(err);
    return SUS_OK;
}

/* The default key tile: the largest power of two from 256 to 1024 whose
 * packed K and V block, block_k (d + dv) element bytes, fits in 512 KiB,
 * half of this machine's 1 MiB L2, where the block is reread once per row
 * group. Measured with sus bench (c = 32, 2 threads, n = 4096 and 16384,
 * block_k 256..2048): float32 at d = 64 was 3-4% faster at 1024 than at
 * 512, while float32 at d = 128 and float64 at d = 64 were 5% slower at
 * 1024 than at 512, and float64 at d = 128 about even between 256 and
 * 512. */
int64_t sus_fi_block_k(const sus_fast_ctx *ctx, int64_t d, int64_t dv, size_t es)
{
    if (ctx->block_k)
        return ctx->block_k;
    int64_t bk = 1024;
    while (bk > 256 && (double)bk * (double)(d + dv) * (double)es > 512.0 * 1024.0)
        bk /= 2;
    return bk;
}
