/*
 * philox_fast.c: sus_fast_uniforms, fast/'s own canonical uniform
 * (DESIGN.md 2.4) through the level's vectorized Philox kernel.
 */
#include "../core/internal.h"
#include "fast_internal.h"
#include "fwd.h"

#define TWO32 INT64_C(4294967296)

const sus_fw_kern *sus_fw_kern_for(sus_simd level)
{
#ifdef SUS_FW_HAVE_X86
    if (level == SUS_SIMD_AVX512)
        return &sus_fw_kern_avx512;
    if (level == SUS_SIMD_AVX2)
        return &sus_fw_kern_avx2;
#else
    (void)level;
#endif
    return &sus_fw_kern_portable;
}

/* Keys per Philox call: bounded stack buffers. */
#define CHUNK 512

int sus_fast_uniforms(const sus_fast_ctx *ctx, uint64_t seed, int64_t b, int64_t h,
                      int64_t i, int64_t j0, int64_t count, double *u)
{
    /* b, h, i and j div 2 are counter words: each must fit 32 bits. The
     * last key j0 + count - 1 is checked without forming j0 + count. */
    if (b < 0 || b >= TWO32 || h < 0 || h >= TWO32 || i < 0 || i >= TWO32 || j0 < 0 ||
        j0 >= 2 * TWO32 || count < 0 || (count > 0 && count - 1 > 2 * TWO32 - 1 - j0) ||
        (count > 0 && !u))
        return SUS_ERR_INVAL;
    if (count == 0)
        return SUS_OK;
    /* A NULL context takes the best level of this CPU. */
    const sus_fw_kern *kern = sus_fw_kern_for(ctx ? ctx->simd : sus_fi_cpu_simd());
    uint32_t rk[2 * SUS_FW_ROUNDS];
    sus_fw_round_keys(seed, rk);
    uint32_t x[CHUNK + 2], y[CHUNK + 2];
    for (int64_t t0 = 0; t0 < count; t0 += CHUNK) {
        int64_t len = count - t0 < CHUNK ? count - t0 : CHUNK;
        int64_t j = j0 + t0, js = j & ~(int64_t)1, off = j - js;
        int64_t npairs = (off + len + 1) / 2;
        kern->philox(rk, (uint32_t)i, (uint32_t)h, (uint32_t)b, (uint32_t)(js / 2),
                     npairs, x, y);
        for (int64_t t = 0; t < len; t++)
            u[t0 + t] = sus_fw_uniform(x[off + t], y[off + t]);
    }
    return SUS_OK;
}
