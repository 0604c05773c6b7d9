/*
 * test_moments.c: exact moments of the estimator.
 *  - enumeration over every mask equals the closed forms of DESIGN.md 2.5
 *    (per element and for random linear functionals, cross terms included)
 *    to within 2^-200 relative, on random tiny problems with causal masking
 *    and capped (q = 1) entries;
 *  - the exact expectation equals the exact gradient (unbiasedness) to
 *    within the MPFR precision.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../ref/mp_moments.h"
#include "support_problem.h"

#define PREC 256
#define REL  0x1p-200

/* |x - y| <= REL * (|y| + floor); prints the element on failure. */
static void assert_close(mpfr_t x, mpfr_t y, mpfr_srcptr floor, const char *what,
                         size_t t)
{
    mpfr_t diff, tol;
    mpfr_inits2(PREC, diff, tol, (mpfr_ptr)0);
    mpfr_sub(diff, x, y, MPFR_RNDN);
    mpfr_abs(diff, diff, MPFR_RNDN);
    mpfr_abs(tol, y, MPFR_RNDN);
    mpfr_add(tol, tol, floor, MPFR_RNDN);
    mpfr_mul_2si(tol, tol, -200, MPFR_RNDN);
    int bad = mpfr_cmp(diff, tol) > 0;
    if (bad) {
        char msg[256];
        mpfr_snprintf(msg, sizeof msg, "%s[%zu]: %.25Rg vs %.25Rg (diff %.3Rg)", what,
                      t, x, y, diff);
        print_error("%s\n", msg);
    }
    mpfr_clears(diff, tol, (mpfr_ptr)0);
    if (bad)
        fail();
}

static void assert_all_close(mpfr_t *x, mpfr_t *y, size_t count, mpfr_srcptr floor,
                             const char *what)
{
    for (size_t t = 0; t < count; t++)
        assert_close(x[t], y[t], floor, what, t);
}

typedef struct tiny {
    sus_t_problem p;
    double *q, *wt;
    mpfr_t scale;
    sus_i_mp_head_in in;
} tiny;

static void tiny_make(tiny *t, sus_t_rng *r, sus_shape sh, int causal, double c,
                      const sus_rule *rule)
{
    assert_int_equal(sus_t_problem_alloc(&t->p, sh), 0);
    t->p.a.causal = causal;
    sus_t_fill_normal(r, t->p.q, t->p.z.q, 1.0);
    sus_t_fill_normal(r, t->p.k, t->p.z.k, 1.0);
    sus_t_fill_normal(r, t->p.v, t->p.z.v, 1.0);
    sus_t_fill_normal(r, t->p.dout, t->p.z.o, 1.0);
    t->q = calloc(t->p.z.scores, sizeof(double));
    t->wt = calloc(t->p.z.scores, sizeof(double));
    assert_int_equal(sus_ref_probs(&t->p.a, rule, c, t->q, t->wt, NULL), SUS_OK);
    mpfr_init2(t->scale, PREC);
    mpfr_set_d(t->scale, t->p.a.scale, MPFR_RNDN);
    assert_int_equal(sus_i_mp_head_load(&t->in, &t->p.a, 0, 0, t->scale, PREC), 0);
}

static void tiny_free(tiny *t)
{
    sus_i_mp_head_unload(&t->in);
    mpfr_clear(t->scale);
    free(t->q);
    free(t->wt);
    sus_t_problem_free(&t->p);
}

static mpfr_t *random_coef(sus_t_rng *r, size_t count)
{
    mpfr_t *v = sus_i_mp_new(count, PREC);
    for (size_t t = 0; t < count; t++)
        mpfr_set_d(v[t], sus_t_normal(r), MPFR_RNDN);
    return v;
}

static void test_enumeration_equals_closed_forms(void **state)
{
    (void)state;
    sus_t_rng r = {31337};
    const sus_rule *rules[] = {&sus_rule_minc, &sus_rule_waterfill};
    int cases = sus_t_quick() ? 6 : 40, done = 0, capped_seen = 0;
    mpfr_t zero;
    mpfr_init2(zero, PREC);
    mpfr_set_zero(zero, 1);
    for (int c = 0; done < cases; c++) {
        sus_shape sh = {1,
                        1,
                        sus_t_range(&r, 1, 4),
                        sus_t_range(&r, 1, 4),
                        sus_t_range(&r, 1, 3),
                        sus_t_range(&r, 1, 3)};
        double budget = 0.5 + 3.0 * sus_t_uniform(&r);
        tiny t;
        tiny_make(&t, &r, sh, c & 1, budget, rules[(c >> 1) & 1]);
        int64_t U = 0, capped = 0;
        for (size_t e = 0; e < t.p.z.scores; e++) {
            U += t.q[e] > 0.0 && t.q[e] < 1.0;
            capped += t.q[e] == 1.0;
        }
        if (U > 12) { /* keep the test fast: 2^12 masks at most */
            tiny_free(&t);
            continue;
        }
        capped_seen += capped > 0;
        sus_i_mp_moments cf, en;
        assert_int_equal(sus_i_mp_moments_init(&cf, sh.n, sh.m, sh.d, sh.dv, PREC), 0);
        assert_int_equal(sus_i_mp_moments_init(&en, sh.n, sh.m, sh.d, sh.dv, PREC), 0);
        sus_i_mp_functional R = {random_coef(&r, t.p.z.q), random_coef(&r, t.p.z.k),
                                 random_coef(&r, t.p.z.v)};
        assert_int_equal(sus_i_mp_head_moments(&t.in, t.q, &R, &cf), 0);
        assert_int_equal(sus_i_mp_head_enumerate(&t.in, t.q, &R, &en), 0);
        /* means: relative to the magnitude-free floor |mean| + 1 */
        mpfr_t one;
        mpfr_init2(one, PREC);
        mpfr_set_ui(one, 1, MPFR_RNDN);
        assert_all_close(en.mean.dq, cf.mean.dq, t.p.z.q, one, "E[dQ]");
        assert_all_close(en.mean.dk, cf.mean.dk, t.p.z.k, one, "E[dK]");
        assert_all_close(en.mean.dv, cf.mean.dv, t.p.z.v, one, "E[dV]");
        /* variances are sums of non-negative terms: purely relative */
        assert_all_close(en.var.dq, cf.var.dq, t.p.z.q, zero, "Var[dQ]");
        assert_all_close(en.var.dk, cf.var.dk, t.p.z.k, zero, "Var[dK]");
        assert_all_close(en.var.dv, cf.var.dv, t.p.z.v, zero, "Var[dV]");
        assert_all_close(en.nnz, cf.nnz, (size_t)sh.n, zero, "nnz");
        assert_close(en.fvar, cf.fvar, zero, "Var[L]", 0);
        if (U > 0)
            assert_true(mpfr_sgn(cf.fvar) > 0);
        mpfr_clear(one);
        sus_i_mp_free(R.rq, t.p.z.q);
        sus_i_mp_free(R.rk, t.p.z.k);
        sus_i_mp_free(R.rv, t.p.z.v);
        sus_i_mp_moments_clear(&cf);
        sus_i_mp_moments_clear(&en);
        tiny_free(&t);
        done++;
    }
    assert_true(capped_seen > 0); /* the cases did exercise q = 1 entries */
    mpfr_clear(zero);
}

/* Cross terms matter: the functional variance differs from the sum of the
 * per-element variances weighted by R^2 (which ignores the shared mask). */
static void test_cross_terms_matter(void **state)
{
    (void)state;
    sus_t_rng r = {8};
    tiny t;
    tiny_make(&t, &r, (sus_shape){1, 1, 3, 3, 2, 2}, 0, 1.5, &sus_rule_minc);
    sus_i_mp_moments cf;
    assert_int_equal(sus_i_mp_moments_init(&cf, 3, 3, 2, 2, PREC), 0);
    sus_i_mp_functional R = {random_coef(&r, t.p.z.q), random_coef(&r, t.p.z.k),
                             random_coef(&r, t.p.z.v)};
    assert_int_equal(sus_i_mp_head_moments(&t.in, t.q, &R, &cf), 0);
    mpfr_t naive, t1;
    mpfr_inits2(PREC, naive, t1, (mpfr_ptr)0);
    mpfr_set_zero(naive, 1);
    for (size_t e = 0; e < t.p.z.q; e++) {
        mpfr_sqr(t1, R.rq[e], MPFR_RNDN);
        mpfr_fma(naive, t1, cf.var.dq[e], naive, MPFR_RNDN);
    }
    for (size_t e = 0; e < t.p.z.k; e++) {
        mpfr_sqr(t1, R.rk[e], MPFR_RNDN);
        mpfr_fma(naive, t1, cf.var.dk[e], naive, MPFR_RNDN);
    }
    for (size_t e = 0; e < t.p.z.v; e++) {
        mpfr_sqr(t1, R.rv[e], MPFR_RNDN);
        mpfr_fma(naive, t1, cf.var.dv[e], naive, MPFR_RNDN);
    }
    mpfr_sub(t1, naive, cf.fvar, MPFR_RNDN);
    mpfr_div(t1, t1, cf.fvar, MPFR_RNDN);
    assert_true(mpfr_cmpabs_ui(t1, 0) > 0 && fabs(mpfr_get_d(t1, MPFR_RNDN)) > 1e-3);
    mpfr_clears(naive, t1, (mpfr_ptr)0);
    sus_i_mp_free(R.rq, t.p.z.q);
    sus_i_mp_free(R.rk, t.p.z.k);
    sus_i_mp_free(R.rv, t.p.z.v);
    sus_i_mp_moments_clear(&cf);
    tiny_free(&t);
}

/* E[dQ~] = dQ, E[dK~] = dK, E[dV~] = dV, against the exact gradient of the
 * first issue (sus_i_mp_head_grad), to within 2^-200 of the magnitude. */
static void test_unbiasedness(void **state)
{
    (void)state;
    sus_t_rng r = {2718};
    const double budgets[] = {0.5, 1.0, 3.0, 32.0, INFINITY};
    for (int c = 0; c < 10; c++) {
        sus_shape sh = {1,
                        1,
                        sus_t_range(&r, 1, 7),
                        sus_t_range(&r, 1, 7),
                        sus_t_range(&r, 1, 4),
                        sus_t_range(&r, 1, 4)};
        tiny t;
        tiny_make(&t, &r, sh, c & 1, budgets[c % 5],
                  c & 2 ? &sus_rule_waterfill : &sus_rule_minc);
        sus_i_mp_moments cf;
        sus_i_mp_head_out val, mag;
        assert_int_equal(sus_i_mp_moments_init(&cf, sh.n, sh.m, sh.d, sh.dv, PREC), 0);
        assert_int_equal(sus_i_mp_head_out_init(&val, sh.n, sh.m, sh.d, sh.dv, PREC),
                         0);
        assert_int_equal(
            sus_i_mp_head_out_init(&mag, sh.n, sh.m, sh.d, sh.dv, SUS_I_MAG_PREC), 0);
        assert_int_equal(sus_i_mp_head_moments(&t.in, t.q, NULL, &cf), 0);
        assert_int_equal(sus_i_mp_head_grad(&t.in, NULL, &val, &mag), 0);
        for (size_t e = 0; e < t.p.z.q; e++)
            assert_close(cf.mean.dq[e], val.dq[e], mag.dq[e], "E[dQ~] vs dQ", e);
        for (size_t e = 0; e < t.p.z.k; e++)
            assert_close(cf.mean.dk[e], val.dk[e], mag.dk[e], "E[dK~] vs dK", e);
        for (size_t e = 0; e < t.p.z.v; e++)
            assert_close(cf.mean.dv[e], val.dv[e], mag.dv[e], "E[dV~] vs dV", e);
        sus_i_mp_head_out_clear(&val, sh.n, sh.m, sh.d, sh.dv);
        sus_i_mp_head_out_clear(&mag, sh.n, sh.m, sh.d, sh.dv);
        sus_i_mp_moments_clear(&cf);
        tiny_free(&t);
    }
}

/* The public entry points agree with the head-level ones and refuse what
 * they cannot do. */
static void test_public_api(void **state)
{
    (void)state;
    sus_t_rng r = {77};
    sus_t_problem p;
    sus_shape sh = {2, 1, 3, 4, 2, 2};
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    p.a.causal = 1;
    sus_t_fill_normal(&r, p.q, p.z.q, 1.0);
    sus_t_fill_normal(&r, p.k, p.z.k, 1.0);
    sus_t_fill_normal(&r, p.v, p.z.v, 1.0);
    sus_t_fill_normal(&r, p.dout, p.z.o, 1.0);
    double nnz_a[6], nnz_b[6];
    sus_moments ma = {p.exact, p.mag, nnz_a, 0}, mb = {p.got, {0}, nnz_b, 0};
    double *vb[3];
    for (int t = 0; t < 3; t++)
        vb[t] = calloc(p.z.k > p.z.q ? p.z.k : p.z.q, sizeof(double));
    mb.var.dq = vb[0];
    mb.var.dk = vb[1];
    mb.var.dv = vb[2];
    sus_error err;
    assert_int_equal(sus_mpfr_moments(&p.a, &sus_rule_minc, 1.5, 256, &ma, &err),
                     SUS_OK);
    assert_int_equal(sus_mpfr_enumerate(&p.a, &sus_rule_minc, 1.5, 256, &mb, &err),
                     SUS_OK);
    for (size_t t = 0; t < p.z.q; t++) {
        assert_true(fabs(ma.mean.dq[t] - mb.mean.dq[t]) <=
                    1e-15 * (1 + fabs(ma.mean.dq[t])));
        assert_true(fabs(ma.var.dq[t] - mb.var.dq[t]) <= 1e-15 * ma.var.dq[t]);
    }
    double tot = 0.0;
    for (int i = 0; i < 6; i++) {
        assert_true(nnz_a[i] <= 1.5 * (1 + 1e-15));
        tot += nnz_a[i];
    }
    assert_true(fabs(tot - ma.nnz_total) <= 1e-14);
    /* functional variance, with only R_V: equals sum R_V^2 Var(dV) when R_V is
     * one-hot (no cross terms) */
    double *rv = calloc(p.z.v, sizeof(double)), fv;
    rv[3] = 1.0;
    assert_int_equal(sus_mpfr_functional_var(&p.a, &sus_rule_minc, 1.5, NULL, NULL, rv,
                                             256, &fv, &err),
                     SUS_OK);
    assert_true(fabs(fv - ma.var.dv[3]) <= 1e-15 * ma.var.dv[3]);
    /* too many uncertain entries for enumeration */
    sus_t_problem big;
    assert_int_equal(sus_t_problem_alloc(&big, (sus_shape){1, 1, 6, 6, 2, 2}), 0);
    sus_t_fill_normal(&r, big.q, big.z.q, 0.1);
    sus_t_fill_normal(&r, big.k, big.z.k, 0.1);
    double nb[6];
    sus_moments mbig = {big.exact, big.mag, nb, 0};
    assert_int_equal(sus_mpfr_enumerate(&big.a, &sus_rule_minc, 2.0, 256, &mbig, &err),
                     SUS_ERR_UNSUPPORTED);
    sus_t_problem_free(&big);
    free(rv);
    for (int t = 0; t < 3; t++)
        free(vb[t]);
    sus_t_problem_free(&p);
}

static int teardown(void **state)
{
    (void)state;
    mpfr_free_cache();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration_equals_closed_forms),
        cmocka_unit_test(test_cross_terms_matter),
        cmocka_unit_test(test_unbiasedness),
        cmocka_unit_test(test_public_api),
    };
    return cmocka_run_group_tests_name("moments", tests, NULL, teardown);
}
