/*
 * kern_fwd_portable.c: the forward kernels (fwd_kern.h) and Philox in
 * plain C, for any CPU: "vectors" of one lane, with the same tiling, so
 * the code path is the one the SIMD levels take.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fast_internal.h"
#include "fwd.h"

static void philox_xy_portable(const uint32_t rk[2 * SUS_FW_ROUNDS], uint32_t i,
                               uint32_t h, uint32_t b, uint32_t jp0, int64_t npairs,
                               uint32_t *x, uint32_t *y)
{
    for (int64_t t = 0; t < npairs; t++) {
        uint32_t ctr[4] = {jp0 + (uint32_t)t, i, h, b}, w[4];
        sus_fw_philox_block(rk, ctr, w);
        x[2 * t] = w[0];
        x[2 * t + 1] = w[2];
        y[2 * t] = w[1];
        y[2 * t + 1] = w[3];
    }
}
#define PHILOX_XY philox_xy_portable

/* Bit casts between a real and its same-width unsigned integer; unsigned
 * arithmetic wraps, which is what the exponent arithmetic of exp needs. */
static inline uint32_t bits_f32(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline float f32_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static inline uint64_t bits_f64(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline double f64_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Scalar "vectors" (no fused multiply-add: a b + c rounds twice). */
#define VLOADU(p)     (*(p))
#define VSTOREU(p, v) (*(p) = (v))
#define VSET1(x)      ((real)(x))
#define VZERO         ((real)0)
#define VADD(a, b)    ((a) + (b))
#define VSUB(a, b)    ((a) - (b))
#define VMUL(a, b)    ((a) * (b))
#define VDIV(a, b)    ((a) / (b))
#define VMAX(a, b)    ((a) > (b) ? (a) : (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VHMAX(v)      (v)
#define VHSUM(v)      (v)
#define VLT(a, b)     ((unsigned)((a) < (b)))
#define VIADD(a, b)   ((a) + (b))
#define VISUB(a, b)   ((a) - (b))
#define VISRL(v, k)   ((v) >> (k))
#define VISLL(v, k)   ((v) << (k))
#define VISET1(x)     ((VI)(x))

/* The register blocks: VL lanes x NV vectors of keys per K panel. */
#define VL_F32 1
#define NV_F32 4
#define VL_F64 1
#define NV_F64 4
#define PW_F32 (VL_F32 * NV_F32)
#define PW_F64 (VL_F64 * NV_F64)

/* ---- float ---- */
#define FW(x)     x##_portable_f32
#define FW_DOUBLE 0
#define real      float
#define REAL_MAX  FLT_MAX
#define V         float
#define VI        uint32_t
#define VL        VL_F32
#define R         4
#define NV        NV_F32
#define VULO(xp)  ((float)(*(xp) >> 8) * 0x1p-24f)
#define VCASTI    bits_f32
#define VCASTF    f32_bits
#include "fwd_kern.h"

#define VLOADU(p)     (*(p))
#define VSTOREU(p, v) (*(p) = (v))
#define VSET1(x)      ((real)(x))
#define VZERO         ((real)0)
#define VADD(a, b)    ((a) + (b))
#define VSUB(a, b)    ((a) - (b))
#define VMUL(a, b)    ((a) * (b))
#define VDIV(a, b)    ((a) / (b))
#define VMAX(a, b)    ((a) > (b) ? (a) : (b))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VHMAX(v)      (v)
#define VHSUM(v)      (v)
#define VLT(a, b)     ((unsigned)((a) < (b)))
#define VIADD(a, b)   ((a) + (b))
#define VISUB(a, b)   ((a) - (b))
#define VISRL(v, k)   ((v) >> (k))
#define VISLL(v, k)   ((v) << (k))
#define VISET1(x)     ((VI)(x))

/* ---- double ---- */
#define FW(x)     x##_portable_f64
#define FW_DOUBLE 1
#define real      double
#define REAL_MAX  DBL_MAX
#define V         double
#define VI        uint64_t
#define VL        VL_F64
#define R         4
#define NV        NV_F64
#define VULO(xp)  ((double)(*(xp) >> 5) * 0x1p-27)
#define VCASTI    bits_f64
#define VCASTF    f64_bits
#include "fwd_kern.h"

const sus_fw_kern sus_fw_kern_portable = {
    philox_xy_portable,
    task_portable_f32,
    task_portable_f64,
    pack_portable_f32,
    pack_portable_f64,
    PW_F32,
    PW_F64,
    VL_F32,
    VL_F64,
    exp_n_portable_f32,
    exp_n_portable_f64,
};
