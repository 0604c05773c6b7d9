/* support_bound.c: the DESIGN.md section 3 assertion for CMocka tests. */
#include <stdio.h>

#include "support.h"

void sus_t_assert_within_bound(double got, double exact, double mag, double tau,
                               double k, double u, const char *what, const char *file,
                               int line)
{
    if (sus_within_bound(got, exact, mag, tau, k, u))
        return;
    double diff = got - exact;
    double bound = tau * k * u * mag;
    print_error("%s: got %.17g, exact %.17g, |diff| %.3g > bound %.3g "
                "(tau %g, k %g, u %.3g, mag %.3g)\n",
                what, got, exact, diff < 0 ? -diff : diff, bound, tau, k, u, mag);
    _fail(file, line);
}

void sus_t_assert_array_within_bound(const double *got, const double *exact,
                                     const double *mag, size_t count, double tau,
                                     double k, double u, const char *name,
                                     const char *file, int line)
{
    char what[96];
    for (size_t t = 0; t < count; t++) {
        if (sus_within_bound(got[t], exact[t], mag[t], tau, k, u))
            continue;
        snprintf(what, sizeof what, "%s[%zu]", name, t);
        sus_t_assert_within_bound(got[t], exact[t], mag[t], tau, k, u, what, file,
                                  line);
    }
}
