/* mc_binom.c: the Clopper-Pearson interval of an observed alarm rate. */
#include <math.h>

#include "mc_campaign.h"

/* P(X <= k) for X ~ Binomial(n, p), summed in logs. */
static double binom_cdf(int64_t k, int64_t n, double p)
{
    if (k >= n)
        return 1.0;
    if (p <= 0.0)
        return 1.0;
    if (p >= 1.0)
        return 0.0;
    double s = 0.0, lp = log(p), lq = log1p(-p);
    for (int64_t i = 0; i <= k; i++)
        s += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
                 lgamma((double)(n - i) + 1) + (double)i * lp + (double)(n - i) * lq);
    return s;
}

/* The p at which f(p) = target, f decreasing in p. */
static double solve(int64_t k, int64_t n, double target)
{
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 100; it++) {
        double mid = 0.5 * (lo + hi);
        if (binom_cdf(k, n, mid) > target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void sus_mc_clopper_pearson(int64_t k, int64_t n, double level, double *lo, double *hi)
{
    double a = (1.0 - level) / 2.0;
    *lo = k == 0 ? 0.0 : solve(k - 1, n, 1.0 - a);
    *hi = k == n ? 1.0 : solve(k, n, a);
}
