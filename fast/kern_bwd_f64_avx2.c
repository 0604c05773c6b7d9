/* kern_bwd_f64_avx2.c: the backward kernels (bwd_kern.h) in double for AVX2 + FMA,
 * built with that level's flags and chosen at run time by bwd.c.
 * 16 registers: a 4 x 2 register tile. */
#include <immintrin.h>
#include <stdint.h>

#define FB_REAL         double
#define FB_F32          0
#define FB_IREAL        int64_t
#define FB_VBYTES       32
#define FB_R            4
#define FB_NV           2
#define FB_FMA(a, b, c) ((V)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#define FB_TABLE        sus_fb_kern_avx2_f64
#include "bwd_kern.h"
