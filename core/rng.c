/* rng.c: the one seeded generator of the project's inputs (sus workload,
 * sus bench, the tests): splitmix64, with 53-bit uniforms and Box-Muller
 * normals on top. A pure function of its state, so every input it makes
 * is reproducible from its seed. Not used by the oracle or fast/ itself. */
#include <math.h>

#include "internal.h"

uint64_t sus_i_rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

double sus_i_rng_uniform(uint64_t *s)
{
    return (double)(sus_i_rng_next(s) >> 11) * 0x1p-53;
}

double sus_i_rng_normal(uint64_t *s)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - sus_i_rng_uniform(s), u2 = sus_i_rng_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
