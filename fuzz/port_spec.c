/* port_spec.c: sus.h's formulas for check_port (port.h), recomputed here
 * from the problem rather than taken from ref/, so that a report's bands,
 * bounds and ratios are checked against the header's definitions. */
#include <float.h>
#include <math.h>

#include "port.h"

/* The conditioning of q and W~ of entry (r, j): 1 + |S_rj|_mag + sigma_r,
 * plus 1 + 2 sigma_r for rules other than minc. */
static double entry_cond(const port_run *x, int64_t r, int64_t j)
{
    const sus_attn *a = &x->fc->t.p.a;
    const sus_shape *sh = &a->shape;
    const int64_t i = r % sh->n, bh = r / sh->n;
    const double *qi = a->q + (size_t)(r * sh->d);
    const double *kh = a->k + (size_t)(bh * sh->m * sh->d);
    double sigma = 0.0, smag = 0.0;
    for (int64_t jj = 0; jj < port_allowed(a, i); jj++) {
        double dot = 0.0;
        for (int64_t t = 0; t < sh->d; t++)
            dot += fabs(qi[t]) * fabs(kh[jj * sh->d + t]);
        const double s = fabs(a->scale) * dot;
        sigma = fmax(sigma, s);
        if (jj == j)
            smag = s;
    }
    double cond = 1.0 + smag + sigma;
    if (x->ch.o.rule != &sus_rule_minc)
        cond += 1.0 + 2.0 * sigma;
    return cond;
}

/* coef x, and 0 where x is 0 whatever coef (cond is inf where |S|_mag
 * overflows): an exact 0 has no relative error. */
static double rel_term(double coef, double x)
{
    return x == 0.0 ? 0.0 : coef * x;
}

/* The smallest normal number of the port's format. */
static double tiny_of(double u)
{
    return u >= 0x1p-24 ? (double)FLT_MIN : DBL_MIN;
}

/* The borderline band of entry (r, j): tau k u cond q + tiny max_j'(q/W~). */
double port_entry_band(const port_run *x, int64_t r, int64_t j, double u)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    const double *q = x->q + (size_t)(r * sh->m), *wt = x->wt + (size_t)(r * sh->m);
    double inv_t = 0.0;
    for (int64_t jj = 0; jj < port_allowed(&x->fc->t.p.a, r % sh->n); jj++)
        if (wt[jj] > 0.0)
            inv_t = fmax(inv_t, q[jj] / wt[jj]);
    return rel_term(SUS_TAU * sus_bound_k(sh) * u * entry_cond(x, r, j), q[j]) +
           tiny_of(u) * inv_t;
}

/* sus.h's bound of the W~ of entry (r, j): tau k u cond W~ + tiny. */
double port_wtilde_bound(const port_run *x, int64_t r, int64_t j, double u)
{
    const sus_shape *sh = &x->fc->t.p.a.shape;
    return rel_term(SUS_TAU * sus_bound_k(sh) * u * entry_cond(x, r, j),
                    x->wt[(size_t)(r * sh->m + j)]) +
           tiny_of(u);
}

/* The ratio sus.h defines for one element. */
double port_spec_ratio(const sus_check_elem *e)
{
    if (e->port == e->oracle)
        return 0.0;
    if (!isfinite(e->port) || !(e->bound > 0.0))
        return INFINITY;
    return fabs(e->port - e->oracle) / e->bound;
}

int port_spec_failed(const sus_check_elem *e)
{
    return isnan(e->port) || isnan(e->oracle) ||
           !(e->port == e->oracle || fabs(e->port - e->oracle) <= e->bound);
}
