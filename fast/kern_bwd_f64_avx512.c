/* kern_bwd_f64_avx512.c: the backward kernels (bwd_kern.h) in double for AVX-512,
 * built with that level's flags and chosen at run time by bwd.c.
 * 32 registers: a 4 x 4 register tile. */
#include <immintrin.h>
#include <stdint.h>

#define FB_REAL         double
#define FB_F32          0
#define FB_IREAL        int64_t
#define FB_VBYTES       64
#define FB_R            4
#define FB_NV           4
#define FB_FMA(a, b, c) ((V)_mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c)))
#define FB_TABLE        sus_fb_kern_avx512_f64
#include "bwd_kern.h"
