/*
 * kern_fwd_avx2.c: the forward kernels (fwd_kern.h) and Philox for AVX2 +
 * FMA, compiled with those flags (Makefile) and chosen at run time
 * (fwd.c).
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "fast_internal.h"
#include "fwd.h"

/* Philox on 4 counters at once, one per 64-bit lane (see
 * kern_fwd_avx512.c: _mm256_mul_epu32 gives hi and lo of a round in one
 * multiply). */
static void philox_xy_avx2(const uint32_t rk[2 * SUS_FW_ROUNDS], uint32_t i, uint32_t h,
                           uint32_t b, uint32_t jp0, int64_t npairs, uint32_t *x,
                           uint32_t *y)
{
    const __m256i m0 = _mm256_set1_epi64x(SUS_FW_PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi64x(SUS_FW_PHILOX_M1);
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i vi = _mm256_set1_epi64x(i), vh = _mm256_set1_epi64x(h),
                  vb = _mm256_set1_epi64x(b);
    __m256i ks[2 * SUS_FW_ROUNDS];
    for (int r = 0; r < 2 * SUS_FW_ROUNDS; r++)
        ks[r] = _mm256_set1_epi64x(rk[r]);
    int64_t t = 0;
    for (; t + 4 <= npairs; t += 4) {
        __m256i c0 = _mm256_add_epi64(_mm256_set1_epi64x((int64_t)jp0 + t), lane);
        __m256i c1 = vi, c2 = vh, c3 = vb;
        for (int r = 0; r < SUS_FW_ROUNDS; r++) {
            __m256i p0 = _mm256_mul_epu32(c0, m0);
            __m256i p1 = _mm256_mul_epu32(c2, m1);
            c0 = _mm256_xor_si256(_mm256_srli_epi64(p1, 32),
                                  _mm256_xor_si256(c1, ks[2 * r]));
            c1 = p1;
            c2 = _mm256_xor_si256(_mm256_srli_epi64(p0, 32),
                                  _mm256_xor_si256(c3, ks[2 * r + 1]));
            c3 = p0;
        }
        __m256i xv = _mm256_blend_epi32(c0, _mm256_slli_epi64(c2, 32), 0xAA);
        __m256i yv = _mm256_blend_epi32(c1, _mm256_slli_epi64(c3, 32), 0xAA);
        _mm256_storeu_si256((__m256i *)(void *)(x + 2 * t), xv);
        _mm256_storeu_si256((__m256i *)(void *)(y + 2 * t), yv);
    }
    for (; t < npairs; t++) {
        uint32_t ctr[4] = {jp0 + (uint32_t)t, i, h, b}, w[4];
        sus_fw_philox_block(rk, ctr, w);
        x[2 * t] = w[0];
        x[2 * t + 1] = w[2];
        y[2 * t] = w[1];
        y[2 * t + 1] = w[3];
    }
}
#define PHILOX_XY philox_xy_avx2

/* Horizontal max and sum in a fixed order. */
static inline float hmax_ps(__m256 v)
{
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static inline float hsum_ps(__m256 v)
{
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static inline double hmax_pd(__m256d v)
{
    __m128d a = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    a = _mm_max_sd(a, _mm_unpackhi_pd(a, a));
    return _mm_cvtsd_f64(a);
}

static inline double hsum_pd(__m256d v)
{
    __m128d a = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    a = _mm_add_sd(a, _mm_unpackhi_pd(a, a));
    return _mm_cvtsd_f64(a);
}

/* The register blocks: VL lanes x NV vectors of keys per K panel. */
#define VL_F32 8
#define NV_F32 2
#define VL_F64 4
#define NV_F64 2
#define PW_F32 (VL_F32 * NV_F32)
#define PW_F64 (VL_F64 * NV_F64)

/* ---- float ---- */
#define FW(x)         x##_avx2_f32
#define FW_DOUBLE     0
#define real          float
#define REAL_MAX      FLT_MAX
#define V             __m256
#define VI            __m256i
#define VL            VL_F32
#define R             4
#define NV            NV_F32
#define VLOADU(p)     _mm256_loadu_ps(p)
#define VSTOREU(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x)      _mm256_set1_ps(x)
#define VZERO         _mm256_setzero_ps()
#define VADD          _mm256_add_ps
#define VSUB          _mm256_sub_ps
#define VMUL          _mm256_mul_ps
#define VDIV          _mm256_div_ps
#define VMAX          _mm256_max_ps
#define VFMA          _mm256_fmadd_ps
#define VHMAX         hmax_ps
#define VHSUM         hsum_ps
#define VLT(a, b)     ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ)))
#define VULO(xp)                                                                       \
    _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(                                \
                      _mm256_loadu_si256((const __m256i *)(const void *)(xp)), 8)),    \
                  _mm256_set1_ps(0x1p-24f))
#define VCASTI    _mm256_castps_si256
#define VCASTF    _mm256_castsi256_ps
#define VIADD     _mm256_add_epi32
#define VISUB     _mm256_sub_epi32
#define VISRL     _mm256_srli_epi32
#define VISLL     _mm256_slli_epi32
#define VISET1(x) _mm256_set1_epi32(x)
#include "fwd_kern.h"

/* ---- double ---- */
#define FW(x)         x##_avx2_f64
#define FW_DOUBLE     1
#define real          double
#define REAL_MAX      DBL_MAX
#define V             __m256d
#define VI            __m256i
#define VL            VL_F64
#define R             4
#define NV            NV_F64
#define VLOADU(p)     _mm256_loadu_pd(p)
#define VSTOREU(p, v) _mm256_storeu_pd(p, v)
#define VSET1(x)      _mm256_set1_pd(x)
#define VZERO         _mm256_setzero_pd()
#define VADD          _mm256_add_pd
#define VSUB          _mm256_sub_pd
#define VMUL          _mm256_mul_pd
#define VDIV          _mm256_div_pd
#define VMAX          _mm256_max_pd
#define VFMA          _mm256_fmadd_pd
#define VHMAX         hmax_pd
#define VHSUM         hsum_pd
#define VLT(a, b)     ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_LT_OQ)))
#define VULO(xp)                                                                       \
    _mm256_mul_pd(_mm256_cvtepi32_pd(_mm_srli_epi32(                                   \
                      _mm_loadu_si128((const __m128i *)(const void *)(xp)), 5)),       \
                  _mm256_set1_pd(0x1p-27))
#define VCASTI    _mm256_castpd_si256
#define VCASTF    _mm256_castsi256_pd
#define VIADD     _mm256_add_epi64
#define VISUB     _mm256_sub_epi64
#define VISRL     _mm256_srli_epi64
#define VISLL     _mm256_slli_epi64
#define VISET1(x) _mm256_set1_epi64x(x)
#include "fwd_kern.h"

const sus_fw_kern sus_fw_kern_avx2 = {
    philox_xy_avx2, task_avx2_f32,  task_avx2_f64,  pack_avx2_f32,
    pack_avx2_f64,  PW_F32,         PW_F64,         VL_F32,
    VL_F64,         exp_n_avx2_f32, exp_n_avx2_f64,
};
