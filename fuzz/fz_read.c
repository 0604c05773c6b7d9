/* fz_read.c: the byte reader and the value palettes of the decoder. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fz.h"

uint8_t fz_u8(fz_in *in)
{
    return in->pos < in->n ? in->p[in->pos++] : 0;
}

uint64_t fz_u64(fz_in *in)
{
    uint64_t x = 0;
    for (int t = 0; t < 8; t++)
        x |= (uint64_t)fz_u8(in) << (8 * t);
    return x;
}

double fz_raw_double(fz_in *in)
{
    uint64_t x = fz_u64(in);
    double v;
    memcpy(&v, &x, sizeof v);
    return v;
}

size_t fz_left(const fz_in *in)
{
    return in->n - in->pos;
}

int64_t fz_pick(fz_in *in, int64_t count)
{
    return (int64_t)fz_u8(in) % count;
}

/* Values where implementations tend to differ: signed zeros, the subnormal
 * and normal limits of both dtypes, exp's overflow points, huge and tiny. */
static const double specials[] = {
    0.0,          -0.0,      1.0,          -1.0,
    0.5,          2.0,       3.0,          -3.0,
    0.1,          1.0 / 3.0, DBL_TRUE_MIN, -DBL_TRUE_MIN,
    DBL_MIN,      -DBL_MIN,  FLT_TRUE_MIN, -FLT_TRUE_MIN,
    FLT_MIN,      FLT_MAX,   -FLT_MAX,     DBL_MAX,
    -DBL_MAX,     709.0,     -709.0,       710.0,
    88.0,         -88.0,     89.0,         -104.0,
    1e-300,       1e300,     1e-30,        1e30,
    1e4,          -1e4,      1e-8,         100.0,
    -100.0,       1e150,     -1e150,       1e-150,
    16.0,         -16.0,     0x1p-1022,    0x1.fffffffffffffp-1,
    0x1.000001p0, 7.0,       -0.5,         0x1p-149,
};

double fz_element(fz_in *in, double mag)
{
    uint8_t e = fz_u8(in);
    if (e < 0xc0)
        return ((double)e - 96.0) / 16.0 * mag;
    if (e < 0xf0)
        return specials[(e - 0xc0) % (sizeof specials / sizeof specials[0])];
    return fz_raw_double(in);
}

double fz_magnitude(uint8_t b)
{
    static const double mags[] = {
        1.0,     1.0,   1.0,  0x1p-10, 0x1p10,    0x1p-30, 0x1p30, 0x1p-600,
        0x1p500, 1e-30, 1e30, 1 / 3.0, 0x1p-1070, 4.0,     0.25,   64.0};
    return mags[b % (sizeof mags / sizeof mags[0])];
}
