/* bound.c: the componentwise error bound of DESIGN.md section 3. */
#include <math.h>

#include "internal.h"

double sus_bound_k(const sus_shape *sh)
{
    return (double)sh->n + (double)sh->m + (double)sh->d + (double)sh->dv + 10.0;
}

int sus_within_bound(double got, double exact, double mag, double tau, double k,
                     double u)
{
    if (isnan(got) || isnan(exact))
        return 0;
    if (got == exact) /* covers equal infinities and signed zeros */
        return 1;
    return fabs(got - exact) <= tau * k * u * mag;
}
