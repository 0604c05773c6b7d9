/*
 * mc.h: the Monte Carlo engine of `sus mc` and `sus report` (issue 6): the
 * exact quantities of a campaign, the mergeable accumulators of its samples,
 * the statistical tests and their p-values.
 *
 * The tests and why their false-alarm rates hold (see also README.md,
 * "Statistical report"):
 *  - Mean of every output element and of J fixed random linear functionals:
 *    Bernstein's inequality for the sum of independent, zero-mean, bounded
 *    terms. The N samples times every (i, j) entry are independent terms
 *    (m_ij - 1) v_ij with |.| <= b = max_ij max(1/q_ij - 1, 1) |v_ij| and
 *    total variance N sigma^2 (the exact variance), so
 *        P(|mean - mu| >= eps) <= 2 exp(-N eps^2 / (2 sigma^2 + 2 b eps / 3)).
 *    This holds for every N and however skewed the per-sample distribution
 *    (small kept counts): it is a p-value bound, not an approximation.
 *    Bonferroni over the family.
 *  - Mask calibration (keep frequency per bin of q, per-row kept counts, and
 *    joint keeps of pairs in a row): sums of independent Bernoulli
 *    indicators, range 1: Bernstein again, rigorous.
 *  - Variances (of the per-component functionals, and of the per-row kept
 *    counts): the sample variance against the exact one, standardized with
 *    the fourth moment (for functionals the larger of the sample and the
 *    exact one, for counts the exact one), two-sided normal p-value, Sidak
 *    over the family. This is
 *    asymptotic: it needs N large against the kurtosis, so it runs only when
 *    N >= SUS_MC_VAR_MIN_N and, for counts, N sum q(1-q) >= 30; its actual
 *    rate is measured by `sus mc --calibrate`.
 * A rounding allowance of 2 tau k u |y|_mag (DESIGN.md 3) is subtracted from
 * every deviation of a mean, so that double (or a port's float32) rounding
 * is never taken for bias.
 */
#ifndef SUS_TOOLS_MC_H
#define SUS_TOOLS_MC_H

#include "sus.h"

#define SUS_MC_VAR_MIN_N 500
#define SUS_MC_NBINS     13
/* Functionals: J_MIX over dQ, dK and dV together (cross terms), then
 * J_COMP each over dQ alone, dK alone and dV alone. */
#define SUS_MC_J_MIX  8
#define SUS_MC_J_COMP 4
#define SUS_MC_J      (SUS_MC_J_MIX + 3 * SUS_MC_J_COMP)

extern const double sus_mc_bin_edges[SUS_MC_NBINS + 1];
/* The bin of a keep probability 0 < q < 1. */
int sus_mc_bin_of(double q);

typedef struct sus_mc_exact {
    sus_attn a;
    sus_sizes z;
    const sus_rule *rule;
    double c;
    int mpfr;           /* element means and variances from MPFR */
    double u;           /* unit roundoff of the samples */
    size_t E;           /* outputs: dQ, dK, dV flattened in that order */
    double *W, *q, *wt; /* dense [rows][m] */
    double *mean, *var, *range, *slack; /* E each */
    double *R;                          /* J x E functional weights */
    double fmean[SUS_MC_J], fvar[SUS_MC_J], frange[SUS_MC_J], fslack[SUS_MC_J];
    double fk4[SUS_MC_J], fmu4[SUS_MC_J]; /* 4th cumulant, 4th central moment */
    size_t rows;
    double *row_sq, *row_sqq; /* per row: sum q, sum q (1 - q) */
    double bin_n[SUS_MC_NBINS], bin_sq[SUS_MC_NBINS], bin_sqq[SUS_MC_NBINS];
    double n_one; /* entries with q = 1 */
    size_t npairs;
    int64_t *pair_row, *pair_j1, *pair_j2;
    double *pair_p;
    double nnz; /* expected kept entries */
} sus_mc_exact;

/* Everything the tests need for problem a under rule and c, for samples
 * computed at unit roundoff u. use_mpfr: 1 always, 0 never, -1 when
 * affordable (scores (d + dv) <= 2^28); the rest is in double. */
int sus_mc_exact_init(sus_mc_exact *x, const sus_attn *a, const sus_rule *rule,
                      double c, int use_mpfr, double u, sus_error *err);
void sus_mc_exact_free(sus_mc_exact *x);

/* The sum of every output element's variance (DESIGN.md 2.5) and the
 * expected nnz of problem a under rule and c, in double; grad_out, if not
 * NULL, receives the exact gradient (dQ, dK, dV flattened). */
int sus_mc_total_var(const sus_attn *a, const sus_rule *rule, double c, double *var,
                     double *nnz, double *grad_out, sus_error *err);

/* Central-moment accumulators (Welford, merged by Chan's and Pebay's
 * formulas): per element mean and M2; per functional and per row count
 * mean, M2, M3, M4; per bin the kept count; per pair the joint keeps. */
typedef struct sus_mc_acc {
    double n;
    size_t E, J, R, NB, P;
    int has_mask;
    int no_fn_var; /* functionals' M2..M4 unknown (a port's Welford moments) */
    size_t len;
    double *data;
    double *el, *fn, *row, *bin, *pair;
} sus_mc_acc;

int sus_mc_acc_init(sus_mc_acc *acc, const sus_mc_exact *x, int has_mask,
                    sus_error *err);
void sus_mc_acc_free(sus_mc_acc *acc);
/* Points el, fn, row, bin, pair into data from the sizes. */
void sus_mc_acc_views(sus_mc_acc *acc);
/* One sample y[E] (dQ, dK, dV), and its mask if has_mask. */
void sus_mc_acc_push(sus_mc_acc *acc, const sus_mc_exact *x, const double *y,
                     const sus_mask *mk);
/* into += from (same layout, else SUS_ERR_SHAPE). */
int sus_mc_acc_merge(sus_mc_acc *into, const sus_mc_acc *from, sus_error *err);

/* ---- Tests ---------------------------------------------------------------- */

enum {
    SUS_MC_T_MEAN_EL,
    SUS_MC_T_MEAN_FN,
    SUS_MC_T_VAR_FN,
    SUS_MC_T_KEEP_BIN,
    SUS_MC_T_ROW_MEAN,
    SUS_MC_T_ROW_VAR,
    SUS_MC_T_PAIRS,
    SUS_MC_NTESTS
};

typedef struct sus_mc_test {
    const char *name;
    const char *method; /* how its false-alarm rate holds */
    int ran;            /* 0: not applicable; skip says why */
    const char *skip;
    double stat;  /* the statistic: max |z| over the family */
    double p;     /* family p-value (Bonferroni or Sidak) */
    double alpha; /* its share of the false-alarm rate: fail iff p <= alpha */
    int pass;
    size_t family;  /* the number of hypotheses */
    char worst[96]; /* which one gave the statistic */
} sus_mc_test;

/* Runs every test with a family-wise false-alarm rate alpha split evenly
 * among the tests that ran. Returns 1 if all pass, 0 if any fails. z, if
 * not NULL, receives the E element z-scores (NaN for zero variance). */
int sus_mc_evaluate(const sus_mc_exact *x, const sus_mc_acc *acc, double alpha,
                    sus_mc_test t[SUS_MC_NTESTS], double *z);

/* ---- p-values in MPFR (mc_pvalue.c) -------------------------------------- */

/* Two-sided normal tail P(|Z| >= |z|) = erfc(|z| / sqrt 2). */
double sus_mc_p_normal(double z);
/* Bernstein's bound 2 exp(-N eps^2 / (2 var + 2 b eps / 3)), at most 1. */
double sus_mc_p_bernstein(double n, double eps, double var, double b);
/* Family p-values from the smallest of k: Bonferroni min(1, k p) and
 * Sidak 1 - (1 - p)^k. */
double sus_mc_p_bonferroni(double p, double k);
double sus_mc_p_sidak(double p, double k);
/* The z with P(|Z| >= z) = p. */
double sus_mc_z_for_p(double p);

#endif
