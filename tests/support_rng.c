/* support_rng.c: deterministic random inputs and test-environment knobs. */
#include <stdlib.h>

#include "../core/internal.h"
#include "support.h"

uint64_t sus_t_next(sus_t_rng *r)
{
    return sus_i_rng_next(&r->s);
}

double sus_t_uniform(sus_t_rng *r)
{
    return sus_i_rng_uniform(&r->s);
}

double sus_t_normal(sus_t_rng *r)
{
    return sus_i_rng_normal(&r->s);
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
