/*
 * kern_fwd_avx512.c: the forward kernels (fwd_kern.h) and Philox for
 * AVX-512 F/DQ/VL/BW, compiled with those flags (Makefile) and chosen at
 * run time (fwd.c), so only CPUs that have them run this file's code.
 */
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "fast_internal.h"
#include "fwd.h"

/* Philox on 8 counters at once, one per 64-bit lane: _mm512_mul_epu32
 * multiplies the low 32 bits of each lane into a full 64-bit product, so
 * hi and lo of a round come from one multiply and one shift, and the
 * words' upper halves can hold junk that no later step reads.
 *
 * The first two rounds are folded: only word 0 of the counter (the key
 * pair) varies within a call, so round 1's M1 c2 = M1 h and round 2's
 * M0 c0 are the same for every lane and are computed once, in scalar.
 * That is 18 vector multiplies per 8 counters instead of 20, and 17
 * three-way xors instead of 20: on this Zen 4 both run on the FMAs' two
 * ports (measured: each adds to an FMA-bound loop, where shifts and plain
 * xors do not). Alone, 1.37 ns per counter instead of 1.39. */
typedef struct philox_fold {
    __m512i c2x; /* round 2's hi(M0 A) ^ k1 */
    __m512i c3;  /* round 2's lo(M0 A) */
    __m512i k0;  /* round 2's k0 ^ B (round 1's lo(M1 h)) */
} philox_fold;

/* Rounds 1 to 10 of ns (1 or 2) streams of 8 counters, interleaved
 * round by round: a round is a chain of multiply, shift and xor, so one
 * stream alone leaves the multiplier idle for its latency, and the core's
 * scheduler is too small to overlap two streams written one after the
 * other (measured: 6% slower). c[k][0] holds the counters' word 0 on entry
 * and every word holds the output on return. */
static inline void philox_rounds_avx512(const __m512i *ks, __m512i m0, __m512i m1,
                                        __m512i vb, const philox_fold *f, int ns,
                                        __m512i c[][4])
{
    __m512i p0[2];
    for (int k = 0; k < ns; k++) {
        /* round 1: (jp, i, h, b) -> (A, B, hi(M0 jp) ^ b ^ k1, lo(M0 jp)) */
        p0[k] = _mm512_mul_epu32(c[k][0], m0);
        c[k][2] =
            _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0[k], 32), vb, ks[1], 0x96);
    }
    for (int k = 0; k < ns; k++) {
        /* round 2: c0 = hi(M1 c2) ^ B ^ k0, c1 = lo(M1 c2),
         * c2 = hi(M0 A) ^ lo(M0 jp) ^ k1, c3 = lo(M0 A) */
        __m512i p1 = _mm512_mul_epu32(c[k][2], m1);
        c[k][0] = _mm512_xor_si512(_mm512_srli_epi64(p1, 32), f->k0);
        c[k][1] = p1;
        c[k][2] = _mm512_xor_si512(p0[k], f->c2x);
        c[k][3] = f->c3;
    }
    for (int r = 2; r < SUS_FW_ROUNDS; r++)
        for (int k = 0; k < ns; k++) {
            __m512i q0 = _mm512_mul_epu32(c[k][0], m0);
            __m512i q1 = _mm512_mul_epu32(c[k][2], m1);
            /* 0x96: a ^ b ^ c */
            c[k][0] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q1, 32), c[k][1],
                                                ks[2 * r], 0x96);
            c[k][1] = q1;
            c[k][2] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(q0, 32), c[k][3],
                                                ks[2 * r + 1], 0x96);
            c[k][3] = q0;
        }
}

/* Key order: the even key's word in the low half, the odd key's in the
 * high half of each lane. */
static inline void philox_store_avx512(const __m512i c[4], uint32_t *x, uint32_t *y)
{
    _mm512_storeu_si512(
        (void *)x, _mm512_mask_blend_epi32(0xAAAA, c[0], _mm512_slli_epi64(c[2], 32)));
    _mm512_storeu_si512(
        (void *)y, _mm512_mask_blend_epi32(0xAAAA, c[1], _mm512_slli_epi64(c[3], 32)));
}

static void philox_xy_avx512(const uint32_t rk[2 * SUS_FW_ROUNDS], uint32_t i,
                             uint32_t h, uint32_t b, uint32_t jp0, int64_t npairs,
                             uint32_t *x, uint32_t *y)
{
    const __m512i m0 = _mm512_set1_epi64(SUS_FW_PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi64(SUS_FW_PHILOX_M1);
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i vb = _mm512_set1_epi64(b);
    __m512i ks[2 * SUS_FW_ROUNDS];
    for (int r = 0; r < 2 * SUS_FW_ROUNDS; r++)
        ks[r] = _mm512_set1_epi64(rk[r]);
    /* The lane-independent parts of rounds 1 and 2. */
    uint64_t ph = (uint64_t)SUS_FW_PHILOX_M1 * h;
    uint32_t A = (uint32_t)(ph >> 32) ^ i ^ rk[0], B = (uint32_t)ph;
    uint64_t pa = (uint64_t)SUS_FW_PHILOX_M0 * A;
    const philox_fold f = {
        _mm512_set1_epi64((uint32_t)(pa >> 32) ^ rk[3]),
        _mm512_set1_epi64((uint32_t)pa),
        _mm512_set1_epi64(B ^ rk[2]),
    };
    int64_t t = 0;
    for (; t + 16 <= npairs; t += 16) {
        __m512i c[2][4];
        c[0][0] = _mm512_add_epi64(_mm512_set1_epi64((int64_t)jp0 + t), lane);
        c[1][0] = _mm512_add_epi64(c[0][0], _mm512_set1_epi64(8));
        philox_rounds_avx512(ks, m0, m1, vb, &f, 2, c);
        philox_store_avx512(c[0], x + 2 * t, y + 2 * t);
        philox_store_avx512(c[1], x + 2 * t + 16, y + 2 * t + 16);
    }
    for (; t + 8 <= npairs; t += 8) {
        __m512i c[1][4];
        c[0][0] = _mm512_add_epi64(_mm512_set1_epi64((int64_t)jp0 + t), lane);
        philox_rounds_avx512(ks, m0, m1, vb, &f, 1, c);
        philox_store_avx512(c[0], x + 2 * t, y + 2 * t);
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
#define PHILOX_XY philox_xy_avx512

/* The register blocks: VL lanes x NV vectors of keys per K panel. */
#define VL_F32 16
#define NV_F32 4
#define VL_F64 8
#define NV_F64 4
#define PW_F32 (VL_F32 * NV_F32)
#define PW_F64 (VL_F64 * NV_F64)

/* ---- float ---- */
#define FW(x)         x##_avx512_f32
#define FW_DOUBLE     0
#define real          float
#define REAL_MAX      FLT_MAX
#define V             __m512
#define VI            __m512i
#define VL            VL_F32
#define R             4
#define NV            NV_F32
#define VLOADU(p)     _mm512_loadu_ps(p)
#define VSTOREU(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x)      _mm512_set1_ps(x)
#define VZERO         _mm512_setzero_ps()
#define VADD          _mm512_add_ps
#define VSUB          _mm512_sub_ps
#define VMUL          _mm512_mul_ps
#define VDIV          _mm512_div_ps
#define VMAX          _mm512_max_ps
#define VFMA          _mm512_fmadd_ps
#define VHMAX         _mm512_reduce_max_ps
#define VHSUM         _mm512_reduce_add_ps
#define VLT(a, b)     ((unsigned)_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ))
#define VULO(xp)                                                                       \
    _mm512_mul_ps(_mm512_cvtepi32_ps(                                                  \
                      _mm512_srli_epi32(_mm512_loadu_si512((const void *)(xp)), 8)),   \
                  _mm512_set1_ps(0x1p-24f))
#define VCASTI    _mm512_castps_si512
#define VCASTF    _mm512_castsi512_ps
#define VIADD     _mm512_add_epi32
#define VISUB     _mm512_sub_epi32
#define VISRL     _mm512_srli_epi32
#define VISLL     _mm512_slli_epi32
#define VISET1(x) _mm512_set1_epi32(x)
#define VSCALEF   _mm512_scalef_ps

/* Branch-free compaction (fwd_kern.h): a register compress per array and a
 * whole-vector store (the compress-to-memory form is slow on some cores);
 * all loads of a chunk come before its stores, so in-place use is safe. */
typedef struct list_f32 {
    int64_t *j;
    uint32_t *x, *y;
    float *s, *p;
} list_f32;

static inline int64_t keep_f32(const list_f32 *L, int64_t at, __m512i jlo, __m512i jhi,
                               __m512i xv, __m512i yv, __m512 sv, __m512 pv,
                               unsigned mk)
{
    int nlo = __builtin_popcount(mk & 0xffu);
    __mmask16 k = (__mmask16)mk;
    _mm512_storeu_si512((void *)(L->j + at),
                        _mm512_maskz_compress_epi64((__mmask8)mk, jlo));
    _mm512_storeu_si512((void *)(L->j + at + nlo),
                        _mm512_maskz_compress_epi64((__mmask8)(mk >> 8), jhi));
    _mm512_storeu_si512((void *)(L->x + at), _mm512_maskz_compress_epi32(k, xv));
    _mm512_storeu_si512((void *)(L->y + at), _mm512_maskz_compress_epi32(k, yv));
    _mm512_storeu_ps(L->s + at, _mm512_maskz_compress_ps(k, sv));
    _mm512_storeu_ps(L->p + at, _mm512_maskz_compress_ps(k, pv));
    return at + __builtin_popcount(mk);
}

static inline int64_t keep_list_f32(const list_f32 *L, int64_t at, int64_t t0,
                                    unsigned mk)
{
    return keep_f32(L, at, _mm512_loadu_si512((const void *)(L->j + t0)),
                    _mm512_loadu_si512((const void *)(L->j + t0 + 8)),
                    _mm512_loadu_si512((const void *)(L->x + t0)),
                    _mm512_loadu_si512((const void *)(L->y + t0)),
                    _mm512_loadu_ps(L->s + t0), _mm512_loadu_ps(L->p + t0), mk);
}

static inline int64_t keep_block_f32(const list_f32 *L, int64_t at, int64_t jb,
                                     const uint32_t *xs, const uint32_t *ys,
                                     const float *ss, const float *ps, unsigned mk)
{
    __m512i jlo = _mm512_add_epi64(_mm512_set1_epi64(jb),
                                   _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    __m512i jhi = _mm512_add_epi64(jlo, _mm512_set1_epi64(8));
    return keep_f32(L, at, jlo, jhi, _mm512_loadu_si512((const void *)xs),
                    _mm512_loadu_si512((const void *)ys), _mm512_loadu_ps(ss),
                    _mm512_loadu_ps(ps), mk);
}
#define FW_LIST       list_f32
#define FW_KEEP_LIST  keep_list_f32
#define FW_KEEP_BLOCK keep_block_f32
#include "fwd_kern.h"

/* ---- double ---- */
#define FW(x)         x##_avx512_f64
#define FW_DOUBLE     1
#define real          double
#define REAL_MAX      DBL_MAX
#define V             __m512d
#define VI            __m512i
#define VL            VL_F64
#define R             4
#define NV            NV_F64
#define VLOADU(p)     _mm512_loadu_pd(p)
#define VSTOREU(p, v) _mm512_storeu_pd(p, v)
#define VSET1(x)      _mm512_set1_pd(x)
#define VZERO         _mm512_setzero_pd()
#define VADD          _mm512_add_pd
#define VSUB          _mm512_sub_pd
#define VMUL          _mm512_mul_pd
#define VDIV          _mm512_div_pd
#define VMAX          _mm512_max_pd
#define VFMA          _mm512_fmadd_pd
#define VHMAX         _mm512_reduce_max_pd
#define VHSUM         _mm512_reduce_add_pd
#define VLT(a, b)     ((unsigned)_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ))
#define VULO(xp)                                                                       \
    _mm512_mul_pd(_mm512_cvtepi32_pd(_mm256_srli_epi32(                                \
                      _mm256_loadu_si256((const __m256i *)(const void *)(xp)), 5)),    \
                  _mm512_set1_pd(0x1p-27))
#define VCASTI    _mm512_castpd_si512
#define VCASTF    _mm512_castsi512_pd
#define VIADD     _mm512_add_epi64
#define VISUB     _mm512_sub_epi64
#define VISRL     _mm512_srli_epi64
#define VISLL     _mm512_slli_epi64
#define VISET1(x) _mm512_set1_epi64(x)
#define VSCALEF   _mm512_scalef_pd

typedef struct list_f64 {
    int64_t *j;
    uint32_t *x, *y;
    double *s, *p;
} list_f64;

static inline int64_t keep_f64(const list_f64 *L, int64_t at, __m512i jv, __m256i xv,
                               __m256i yv, __m512d sv, __m512d pv, unsigned mk)
{
    __mmask8 k = (__mmask8)mk;
    _mm512_storeu_si512((void *)(L->j + at), _mm512_maskz_compress_epi64(k, jv));
    _mm256_storeu_si256((__m256i *)(void *)(L->x + at),
                        _mm256_maskz_compress_epi32(k, xv));
    _mm256_storeu_si256((__m256i *)(void *)(L->y + at),
                        _mm256_maskz_compress_epi32(k, yv));
    _mm512_storeu_pd(L->s + at, _mm512_maskz_compress_pd(k, sv));
    _mm512_storeu_pd(L->p + at, _mm512_maskz_compress_pd(k, pv));
    return at + __builtin_popcount(mk);
}

static inline int64_t keep_list_f64(const list_f64 *L, int64_t at, int64_t t0,
                                    unsigned mk)
{
    return keep_f64(L, at, _mm512_loadu_si512((const void *)(L->j + t0)),
                    _mm256_loadu_si256((const __m256i *)(const void *)(L->x + t0)),
                    _mm256_loadu_si256((const __m256i *)(const void *)(L->y + t0)),
                    _mm512_loadu_pd(L->s + t0), _mm512_loadu_pd(L->p + t0), mk);
}

static inline int64_t keep_block_f64(const list_f64 *L, int64_t at, int64_t jb,
                                     const uint32_t *xs, const uint32_t *ys,
                                     const double *ss, const double *ps, unsigned mk)
{
    __m512i jv = _mm512_add_epi64(_mm512_set1_epi64(jb),
                                  _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    return keep_f64(L, at, jv, _mm256_loadu_si256((const __m256i *)(const void *)xs),
                    _mm256_loadu_si256((const __m256i *)(const void *)ys),
                    _mm512_loadu_pd(ss), _mm512_loadu_pd(ps), mk);
}
#define FW_LIST       list_f64
#define FW_KEEP_LIST  keep_list_f64
#define FW_KEEP_BLOCK keep_block_f64
#include "fwd_kern.h"

const sus_fw_kern sus_fw_kern_avx512 = {
    philox_xy_avx512, task_avx512_f32,  task_avx512_f64,  pack_avx512_f32,
    pack_avx512_f64,  PW_F32,           PW_F64,           VL_F32,
    VL_F64,           exp_n_avx512_f32, exp_n_avx512_f64,
};
