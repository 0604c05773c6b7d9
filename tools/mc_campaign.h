/*
 * mc_campaign.h: what `sus mc` and `sus report` share: a campaign's problem
 * (a built-in workload) with its exact quantities, the shard arithmetic,
 * and the verdict as text.
 */
#ifndef SUS_TOOLS_MC_CAMPAIGN_H
#define SUS_TOOLS_MC_CAMPAIGN_H

#include <stdio.h>

#include "mc_draw.h"
#include "mc_shard.h"
#include "workload.h"

typedef struct sus_mc_setup {
    sus_wl wl;
    sus_mc_exact x;
} sus_mc_setup;

/* Makes the workload of cp and its exact quantities; use_mpfr as for
 * sus_mc_exact_init (-1: MPFR when affordable). */
int sus_mc_setup_open(sus_mc_setup *s, const sus_mc_campaign *cp, int use_mpfr,
                      sus_error *err);
void sus_mc_setup_close(sus_mc_setup *s);

/* Samples [first, first + count) of shard k of K over N samples. */
void sus_mc_shard_range(int64_t N, int64_t k, int64_t K, int64_t *first,
                        int64_t *count);

/* Parses "k/K" with 0 <= k < K. */
int sus_mc_parse_shard(const char *text, int64_t *k, int64_t *K, char *msg);

/* Prints the verdict of one campaign: PASS/FAIL, then one line per test
 * with its statistic, p-value, threshold and false-alarm share. */
void sus_mc_print_verdict(FILE *f, const char *label, const sus_mc_test *t, int pass,
                          double n);

/* The two-sided Clopper-Pearson interval at level (0.95) for k of n. */
void sus_mc_clopper_pearson(int64_t k, int64_t n, double level, double *lo, double *hi);

/* The exit status of a verdict. */
static inline int sus_mc_exit(int pass)
{
    return pass ? 0 : 1;
}

#endif
