/* support_rng.c: deterministic random inputs and test-environment knobs. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

uint64_t sus_t_next(sus_t_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sus_t_uniform(sus_t_rng *r)
{
    return (double)(sus_t_next(r) >> 11) * 0x1p-53;
}

double sus_t_normal(sus_t_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - sus_t_uniform(r), u2 = sus_t_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int64_t sus_t_range(sus_t_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(sus_t_next(r) % span);
}

int sus_t_quick(void)
{
    const char *q = getenv("SUS_TEST_QUICK");
    return q && *q && *q != '0';
}

const char *sus_t_datadir(void)
{
    const char *d = getenv("SUS_TESTDATA");
    return d && *d ? d : "tests";
}
