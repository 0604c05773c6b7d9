/* mc_pvalue.c: p-values in MPFR, so that tails far below double's normal
 * range (a biased run) and family corrections of tiny p (1 - (1 - p)^k)
 * are computed without cancellation or underflow. */
#include <math.h>
#include <mpfr.h>

#include "mc.h"

#define PREC 128

static double mp_done(mpfr_t r)
{
    double v = mpfr_get_d(r, MPFR_RNDN);
    mpfr_clear(r);
    return v;
}

double sus_mc_p_normal(double z)
{
    if (isnan(z))
        return 1.0;
    mpfr_t r;
    mpfr_init2(r, PREC);
    mpfr_set_d(r, fabs(z), MPFR_RNDN);
    mpfr_div_d(r, r, sqrt(2.0), MPFR_RNDN); /* exact enough: sqrt(2) in double */
    mpfr_erfc(r, r, MPFR_RNDN);
    return mp_done(r);
}

double sus_mc_p_bernstein(double n, double eps, double var, double b)
{
    if (!(eps > 0.0))
        return 1.0;
    double den = 2.0 * var + 2.0 * b * eps / 3.0;
    if (!(den > 0.0))
        return 0.0; /* a deterministic quantity that moved */
    mpfr_t r;
    mpfr_init2(r, PREC);
    mpfr_set_d(r, -n * eps * eps / den, MPFR_RNDN);
    mpfr_exp(r, r, MPFR_RNDN);
    mpfr_mul_ui(r, r, 2, MPFR_RNDN);
    double v = mp_done(r);
    return v < 1.0 ? v : 1.0;
}

double sus_mc_p_bonferroni(double p, double k)
{
    double v = p * k;
    return v < 1.0 ? v : 1.0;
}

double sus_mc_p_sidak(double p, double k)
{
    if (p >= 1.0)
        return 1.0;
    mpfr_t r;
    mpfr_init2(r, PREC);
    mpfr_set_d(r, -p, MPFR_RNDN);
    mpfr_log1p(r, r, MPFR_RNDN);
    mpfr_mul_d(r, r, k, MPFR_RNDN);
    mpfr_expm1(r, r, MPFR_RNDN);
    mpfr_neg(r, r, MPFR_RNDN);
    return mp_done(r);
}

double sus_mc_z_for_p(double p)
{
    /* Bisection on the monotone tail; 200 steps pin a double. */
    double lo = 0.0, hi = 40.0;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        if (sus_mc_p_normal(mid) > p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}
