/* mc_tests.c: the statistical tests of a campaign (mc.h says which
 * inequality makes each false-alarm rate hold). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mc.h"

static const char BERN[] = "Bernstein, known range (rigorous), Bonferroni";
static const char NORM[] = "normal with 4th moment (asymptotic), Sidak";

/* The running family of one test: the smallest per-hypothesis p and the
 * largest |z|, with the hypothesis that gave it. */
typedef struct fam {
    double pmin, zmax;
    size_t count;
    char worst[96];
} fam;

static void fam_add(fam *f, double p, double z, const char *what, size_t idx)
{
    f->count++;
    if (p < f->pmin || (p == f->pmin && fabs(z) > f->zmax)) {
        f->pmin = p;
        snprintf(f->worst, sizeof f->worst, "%s %zu", what, idx);
    }
    if (fabs(z) > f->zmax || isnan(f->zmax))
        f->zmax = fabs(z);
}

static void fam_done(sus_mc_test *t, const fam *f, const char *name, const char *method,
                     int sidak)
{
    t->name = name, t->method = method, t->ran = f->count > 0;
    t->family = f->count, t->stat = f->zmax;
    t->p = f->count ? (sidak ? sus_mc_p_sidak(f->pmin, (double)f->count)
                             : sus_mc_p_bonferroni(f->pmin, (double)f->count))
                    : 1.0;
    memcpy(t->worst, f->worst, sizeof t->worst);
}

/* A mean test of one hypothesis: deviation less the rounding allowance,
 * Bernstein's p; also the plain z-score. */
static double mean_p(double n, double mean, double mu, double var, double range,
                     double slack, double *z)
{
    double dev = fabs(mean - mu);
    *z = var > 0.0 ? (mean - mu) / sqrt(var / n) : (dev > slack ? INFINITY : 0.0);
    return sus_mc_p_bernstein(n, fmax(0.0, dev - slack), var, range);
}

/* The sample variance s2 (from M2, M4 over n) against sigma2; mu4 is the
 * fourth central moment used to standardize (sample or exact). */
static double var_p(double n, double m2, double sigma2, double mu4, double slack2,
                    double *z)
{
    double s2 = m2 / (n - 1.0);
    double v = (mu4 - sigma2 * sigma2 * (n - 3.0) / (n - 1.0)) / n;
    if (!(sigma2 > 0.0)) {
        *z = s2 > slack2 ? INFINITY : 0.0;
        return s2 > slack2 ? 0.0 : 1.0;
    }
    *z = v > 0.0 ? (s2 - sigma2) / sqrt(v) : INFINITY;
    return sus_mc_p_normal(*z);
}

static fam fam_new(void)
{
    return (fam){1.0, 0.0, 0, "-"};
}

int sus_mc_evaluate(const sus_mc_exact *x, const sus_mc_acc *acc, double alpha,
                    sus_mc_test t[SUS_MC_NTESTS], double *zout)
{
    const double n = acc->n;
    memset(t, 0, sizeof(sus_mc_test) * SUS_MC_NTESTS);
    fam f = fam_new();
    static const char *part[3] = {"dQ", "dK", "dV"};
    for (size_t e = 0; e < x->E; e++) {
        double z, p = mean_p(n, acc->el[2 * e], x->mean[e], x->var[e], x->range[e],
                             x->slack[e], &z);
        size_t pi = e < x->z.q ? 0 : e < x->z.q + x->z.k ? 1 : 2;
        size_t off = pi == 0 ? 0 : pi == 1 ? x->z.q : x->z.q + x->z.k;
        fam_add(&f, p, z, part[pi], e - off);
        if (zout)
            zout[e] = x->var[e] > 0.0 ? z : NAN;
    }
    fam_done(&t[SUS_MC_T_MEAN_EL], &f, "mean of every element", BERN, 0);

    f = fam_new();
    for (int j = 0; j < SUS_MC_J; j++) {
        double z, p = mean_p(n, acc->fn[4 * j], x->fmean[j], x->fvar[j], x->frange[j],
                             x->fslack[j], &z);
        fam_add(&f, p, z, "functional", (size_t)j);
    }
    fam_done(&t[SUS_MC_T_MEAN_FN], &f, "mean of random functionals", BERN, 0);

    f = fam_new();
    for (int j = SUS_MC_J_MIX; j < SUS_MC_J && n >= SUS_MC_VAR_MIN_N && !acc->no_fn_var;
         j++) {
        const double *a = acc->fn + 4 * j;
        /* The larger of the sample and the exact fourth moment: heavy
         * tails make the sample one low in most runs (measured: 6x the
         * nominal alarm rate with the sample one alone). */
        double z, mu4 = fmax(a[3] / n, x->fmu4[j]);
        double p = var_p(n, a[1], x->fvar[j], mu4, x->fslack[j] * x->fslack[j], &z);
        fam_add(&f, p, z, "functional", (size_t)j);
    }
    fam_done(&t[SUS_MC_T_VAR_FN], &f, "variance of per-part functionals", NORM, 1);

    if (acc->has_mask) {
        f = fam_new();
        for (int b = 0; b < SUS_MC_NBINS; b++) {
            if (x->bin_n[b] == 0.0)
                continue;
            double z, p = mean_p(1.0, acc->bin[b], n * x->bin_sq[b], n * x->bin_sqq[b],
                                 1.0, 0.0, &z);
            fam_add(&f, p, z, "q bin", (size_t)b);
        }
        /* Entries with q = 0 or 1 are deterministic: one miss fails. */
        double z = acc->bin[SUS_MC_NBINS] != 0.0 ? INFINITY : 0.0;
        fam_add(&f, acc->bin[SUS_MC_NBINS] != 0.0 ? 0.0 : 1.0, z,
                "q in {0,1} violations", 0);
        fam_done(&t[SUS_MC_T_KEEP_BIN], &f, "keep frequency against q", BERN, 0);

        fam rm = fam_new(), rv = fam_new();
        for (size_t r = 0; r < acc->R; r++) {
            const double *a = acc->row + 4 * r;
            double sq = x->row_sq[r], sqq = x->row_sqq[r];
            double p = mean_p(1.0, a[0] * n, sq * n, sqq * n, 1.0, 0.0, &z);
            fam_add(&rm, p, z, "row", r);
            if (n >= SUS_MC_VAR_MIN_N && (n * sqq >= 30.0 || sqq == 0.0)) {
                /* Exact fourth central moment of a sum of Bernoullis. */
                double k4 = 0.0;
                const double *qr = x->q + r * (size_t)x->a.shape.m;
                for (int64_t j = 0; j < x->a.shape.m; j++) {
                    double v = qr[j] * (1.0 - qr[j]);
                    k4 += v * (1.0 - 6.0 * v);
                }
                p = var_p(n, a[1], sqq, k4 + 3.0 * sqq * sqq, 0.0, &z);
                fam_add(&rv, p, z, "row", r);
            }
        }
        fam_done(&t[SUS_MC_T_ROW_MEAN], &rm, "kept count per row: mean", BERN, 0);
        fam_done(&t[SUS_MC_T_ROW_VAR], &rv, "kept count per row: variance", NORM, 1);

        f = fam_new();
        for (size_t p = 0; p < acc->P; p++) {
            double pp = x->pair_p[p];
            double pv =
                mean_p(1.0, acc->pair[p], n * pp, n * pp * (1.0 - pp), 1.0, 0.0, &z);
            fam_add(&f, pv, z, "pair", p);
        }
        fam_done(&t[SUS_MC_T_PAIRS], &f, "joint keeps of pairs in a row", BERN, 0);
    }
    static const char *names[SUS_MC_NTESTS] = {"mean of every element",
                                               "mean of random functionals",
                                               "variance of per-part functionals",
                                               "keep frequency against q",
                                               "kept count per row: mean",
                                               "kept count per row: variance",
                                               "joint keeps of pairs in a row"};
    int ran = 0, all = 1;
    for (int i = 0; i < SUS_MC_NTESTS; i++) {
        if (!t[i].name)
            t[i].name = names[i], t[i].method = "-";
        int var = i == SUS_MC_T_VAR_FN || i == SUS_MC_T_ROW_VAR;
        t[i].skip = i >= SUS_MC_T_KEEP_BIN && !acc->has_mask ? "no masks"
                    : var && n < SUS_MC_VAR_MIN_N            ? "needs N >= 500"
                    : i == SUS_MC_T_VAR_FN && acc->no_fn_var
                        ? "needs per-sample values, not Welford moments"
                        : "no hypothesis qualifies";
        ran += t[i].ran;
    }
    for (int i = 0; i < SUS_MC_NTESTS; i++) {
        t[i].alpha = ran ? alpha / ran : alpha;
        t[i].pass = !t[i].ran || t[i].p > t[i].alpha;
        all &= t[i].pass;
    }
    return all;
}
