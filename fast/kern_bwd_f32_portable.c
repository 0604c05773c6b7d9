/* kern_bwd_f32_portable.c: the backward kernels (bwd_kern.h) in float for portable C
 * (SSE2 on x86-64), built with that level's flags and chosen at run time by bwd.c. no
 * FMA: a * b + c stays two roundings, as -ffp-contract=off asks. */

#include <stdint.h>

#define FB_REAL         float
#define FB_F32          1
#define FB_IREAL        int32_t
#define FB_VBYTES       16
#define FB_R            4
#define FB_NV           2
#define FB_FMA(a, b, c) ((a) * (b) + (c))
#define FB_TABLE        sus_fb_kern_portable_f32
#include "bwd_kern.h"
