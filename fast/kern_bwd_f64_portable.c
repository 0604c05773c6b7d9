/* kern_bwd_f64_portable.c: the backward kernels (bwd_kern.h) in double for portable C
 * (SSE2 on x86-64), built with that level's flags and chosen at run time by bwd.c. no
 * FMA: a * b + c stays two roundings, as -ffp-contract=off asks. */

#include <stdint.h>

#define FB_REAL         double
#define FB_F32          0
#define FB_IREAL        int64_t
#define FB_VBYTES       16
#define FB_R            4
#define FB_NV           2
#define FB_FMA(a, b, c) ((a) * (b) + (c))
#define FB_TABLE        sus_fb_kern_portable_f64
#include "bwd_kern.h"
