/* kern_bwd_f32_avx512.c: the backward kernels (bwd_kern.h) in float for AVX-512,
 * built with that level's flags and chosen at run time by bwd.c.
 * 32 registers: a 4 x 4 register tile. */
#include <immintrin.h>
#include <stdint.h>

#define FB_REAL         float
#define FB_F32          1
#define FB_IREAL        int32_t
#define FB_VBYTES       64
#define FB_R            4
#define FB_NV           4
#define FB_FMA(a, b, c) ((V)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define FB_TABLE        sus_fb_kern_avx512_f32
#include "bwd_kern.h"
