/*
 * mc_draw.h: drawing the samples of a campaign: one SUS estimate per seed,
 * from the reference (sus_ref_mask + sus_ref_estimate, any rule) or from
 * fast/ (its streaming minc sampler and sparse backward, float64), and
 * running a range of seeds into accumulators.
 *
 * Test-only biased variants (issue 6, item 3) exist only in a build with
 * -DSUS_TEST_VARIANTS, linked with tests/mc/variants.c: the released `sus`
 * does not contain them.
 */
#ifndef SUS_TOOLS_MC_DRAW_H
#define SUS_TOOLS_MC_DRAW_H

#include "cli_fast.h"
#include "mc.h"

typedef struct sus_mc_draw {
    const sus_mc_exact *x;
    sus_cli_impl impl;
    int variant; /* 0: the estimator itself */
    sus_fast_ctx *ctx;
    sus_fast_problem p;
    double *o, *lse, *y;
    sus_mask mk; /* the reference's (or a variant's) mask */
} sus_mc_draw;

int sus_mc_draw_open(sus_mc_draw *d, const sus_mc_exact *x, sus_cli_impl impl,
                     int variant, sus_error *err);
void sus_mc_draw_close(sus_mc_draw *d);
/* One sample for seed into d->y (dQ, dK, dV flattened); *mk receives the
 * mask it used (owned by d). */
int sus_mc_draw_one(sus_mc_draw *d, uint64_t seed, const sus_mask **mk, sus_error *err);

/* Samples first .. first + count - 1 of a campaign (seeds seed0 + index)
 * into acc. progress: print a line on stderr now and then. */
int sus_mc_run(sus_mc_draw *d, uint64_t seed0, int64_t first, int64_t count,
               sus_mc_acc *acc, int progress, sus_error *err);

#ifdef SUS_TEST_VARIANTS
/* tests/mc/variants.c. Variant 0 is none; names for 1 .. count. */
int sus_mc_variant_count(void);
const char *sus_mc_variant_name(int v);
int sus_mc_variant_biased(int v); /* 0 for the unbiased look-alike */
int sus_mc_variant_find(const char *name);
int sus_mc_variant_draw(const sus_mc_exact *x, int v, uint64_t seed, double *y,
                        sus_mask *mk, sus_error *err);
#endif

#endif
