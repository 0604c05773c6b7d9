/*
 * test_ref_mpfr.c: the double reference against the MPFR reference, within
 * the DESIGN.md 3 bound (tau = SUS_TAU, k = n + m + d + dv + 10, u = 2^-53),
 * over random shapes and the edge cases that break naive softmax code.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support_problem.h"

#define U53 0x1p-53

/* Runs both references on p and asserts the bound on every output. Returns
 * the number of uncertain MPFR elements (they are still within the bound:
 * their MPFR error is below 2^-200 |y|_mag). */
static size_t compare_ref_mpfr(sus_t_problem *p, long prec)
{
    sus_error err;
    sus_cert cert;
    int rc = sus_mpfr_grad(&p->a, prec, &p->exact, &p->mag, &cert, &err);
    if (rc)
        print_error("sus_mpfr_grad: %s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    rc = sus_ref_grad(&p->a, &p->got, &err);
    if (rc)
        print_error("sus_ref_grad: %s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    double k = sus_bound_k(&p->a.shape);
    assert_array_within_bound(p->got.o, p->exact.o, p->mag.o, p->z.o, SUS_TAU, k, U53,
                              "O");
    assert_array_within_bound(p->got.lse, p->exact.lse, p->mag.lse, p->z.rows, SUS_TAU,
                              k, U53, "lse");
    assert_array_within_bound(p->got.dq, p->exact.dq, p->mag.dq, p->z.q, SUS_TAU, k,
                              U53, "dQ");
    assert_array_within_bound(p->got.dk, p->exact.dk, p->mag.dk, p->z.k, SUS_TAU, k,
                              U53, "dK");
    assert_array_within_bound(p->got.dv, p->exact.dv, p->mag.dv, p->z.v, SUS_TAU, k,
                              U53, "dV");
    return cert.uncertain;
}

static void fill_problem(sus_t_rng *r, sus_t_problem *p, double sd)
{
    sus_t_fill_normal(r, p->q, p->z.q, sd);
    sus_t_fill_normal(r, p->k, p->z.k, sd);
    sus_t_fill_normal(r, p->v, p->z.v, 1.0);
    sus_t_fill_normal(r, p->dout, p->z.o, 1.0);
}

static void test_random_shapes(void **state)
{
    (void)state;
    sus_t_rng r = {20261128};
    int cases = sus_t_quick() ? 12 : 150;
    for (int c = 0; c < cases; c++) {
        sus_t_problem p;
        assert_int_equal(sus_t_problem_alloc(&p, sus_t_random_shape(&r, 2, 12, 9)), 0);
        p.a.causal = (int)sus_t_range(&r, 0, 1);
        /* logits from nearly uniform to sharply peaked */
        double sd = pow(10.0, -2.0 + 3.5 * sus_t_uniform(&r));
        fill_problem(&r, &p, sd);
        if (c % 5 == 4)
            p.a.scale = (sus_t_uniform(&r) - 0.5) * 4.0; /* custom, even negative */
        compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC);
        sus_t_problem_free(&p);
    }
}

static void run_shape(sus_shape sh, int causal, double sd, uint64_t seed)
{
    sus_t_rng r = {seed};
    sus_t_problem p;
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    p.a.causal = causal;
    fill_problem(&r, &p, sd);
    /* Causal row 0 and m = 1 give exact zeros in dQ and dK; they are exact
     * by structure and must be certified, not reported. */
    assert_int_equal(compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC), 0);
    sus_t_problem_free(&p);
}

static void test_degenerate_dims(void **state)
{
    (void)state;
    for (int causal = 0; causal <= 1; causal++) {
        run_shape((sus_shape){1, 1, 1, 1, 1, 1}, causal, 1.0, 1);   /* all ones */
        run_shape((sus_shape){1, 1, 1, 7, 3, 2}, causal, 1.0, 2);   /* n = 1 */
        run_shape((sus_shape){1, 1, 6, 1, 3, 2}, causal, 1.0, 3);   /* m = 1 */
        run_shape((sus_shape){2, 1, 5, 4, 1, 3}, causal, 1.0, 4);   /* d = 1 */
        run_shape((sus_shape){1, 2, 5, 4, 6, 1}, causal, 1.0, 5);   /* dv = 1 */
        run_shape((sus_shape){1, 1, 9, 4, 3, 5}, causal, 1.0, 6);   /* n > m */
        run_shape((sus_shape){1, 1, 3, 11, 4, 2}, causal, 1.0, 7);  /* n < m */
        run_shape((sus_shape){2, 3, 16, 16, 8, 4}, causal, 1.0, 8); /* B x H */
    }
}

/* Logits of order +-1e4: without the max subtraction exp overflows; with a
 * bound that ignores exp's conditioning the comparison fails. */
static void test_huge_logits(void **state)
{
    (void)state;
    sus_t_rng r = {99};
    for (int c = 0; c < 8; c++) {
        sus_t_problem p;
        sus_shape sh = {1, 1, 6, 7, 4, 3};
        assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
        p.a.causal = c & 1;
        fill_problem(&r, &p, 1.0);
        p.a.scale = (c & 2) ? 1e4 : -1e4;
        compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC);
        for (size_t t = 0; t < p.z.rows; t++)
            assert_true(isfinite(p.got.lse[t]));
        sus_t_problem_free(&p);
    }
}

/* Identical keys: W is uniform over allowed keys and dQ cancels exactly to
 * zero in exact arithmetic; the double reference must still be within the
 * bound, and MPFR reports the cancelled elements as uncertain rather than
 * pretending their double rounding is known. */
static void test_identical_keys(void **state)
{
    (void)state;
    sus_t_rng r = {7};
    sus_t_problem p;
    sus_shape sh = {1, 1, 5, 6, 3, 4};
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    fill_problem(&r, &p, 1.0);
    for (int64_t j = 1; j < sh.m; j++)
        memcpy(p.k + j * sh.d, p.k, (size_t)sh.d * sizeof(double));
    size_t uncertain = compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC);
    for (int64_t i = 0; i < sh.n; i++)
        for (int64_t j = 1; j < sh.m; j++)
            assert_true(p.exact.o[i * sh.dv] == p.exact.o[i * sh.dv]);
    /* dQ_i = s K sum_j dS_ij = 0 exactly; MPFR's value is tiny but its sign
     * is unknowable, so those elements are uncertain. */
    assert_true(uncertain >= (size_t)(sh.n * sh.d));
    for (size_t t = 0; t < p.z.q; t++)
        assert_true(fabs(p.exact.dq[t]) <= 0x1p-200 * p.mag.dq[t]);
    sus_t_problem_free(&p);
}

/* The comparison has teeth: one element off by a tiny relative error that a
 * real bug would far exceed is caught. */
static void test_bound_detects_error(void **state)
{
    (void)state;
    sus_t_rng r = {5};
    sus_t_problem p;
    sus_shape sh = {1, 1, 8, 8, 4, 4};
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    fill_problem(&r, &p, 1.0);
    compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC);
    double k = sus_bound_k(&sh);
    double bad = p.exact.dk[3] + 1e-9 * p.mag.dk[3];
    assert_false(sus_within_bound(bad, p.exact.dk[3], p.mag.dk[3], SUS_TAU, k, U53));
    sus_t_problem_free(&p);
}

/* Double magnitudes agree with MPFR's (both are the same formula). */
static void test_mag_double_vs_mpfr(void **state)
{
    (void)state;
    sus_t_rng r = {11};
    for (int c = 0; c < 10; c++) {
        sus_t_problem p;
        assert_int_equal(sus_t_problem_alloc(&p, sus_t_random_shape(&r, 2, 9, 6)), 0);
        p.a.causal = c & 1;
        fill_problem(&r, &p, 1.0);
        compare_ref_mpfr(&p, SUS_MPFR_DEFAULT_PREC);
        sus_error err;
        assert_int_equal(sus_ref_grad_mag(&p.a, &p.got, &err), SUS_OK);
        const double *dm[] = {p.got.o, p.got.lse, p.got.dq, p.got.dk, p.got.dv};
        const double *mm[] = {p.mag.o, p.mag.lse, p.mag.dq, p.mag.dk, p.mag.dv};
        const size_t cnt[] = {p.z.o, p.z.rows, p.z.q, p.z.k, p.z.v};
        for (int a = 0; a < 5; a++)
            for (size_t t = 0; t < cnt[a]; t++) {
                assert_true(dm[a][t] >= 0.0);
                assert_true(fabs(dm[a][t] - mm[a][t]) <= 1e-12 * mm[a][t]);
            }
        sus_t_problem_free(&p);
    }
}

/* At 64 bits the MPFR reference still certifies typical results and stays
 * within the bound of the 256-bit one. */
static void test_low_precision(void **state)
{
    (void)state;
    sus_t_rng r = {3};
    sus_t_problem p;
    sus_shape sh = {1, 2, 7, 5, 4, 3};
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    fill_problem(&r, &p, 1.0);
    sus_cert c256, c64;
    assert_int_equal(sus_mpfr_grad(&p.a, 256, &p.exact, &p.mag, &c256, NULL), SUS_OK);
    assert_int_equal(sus_mpfr_grad(&p.a, 64, &p.got, NULL, &c64, NULL), SUS_OK);
    assert_int_equal(c256.uncertain, 0);
    /* Certified elements round identically at both precisions. */
    if (c64.uncertain == 0) {
        assert_memory_equal(p.got.dq, p.exact.dq, p.z.q * sizeof(double));
        assert_memory_equal(p.got.dk, p.exact.dk, p.z.k * sizeof(double));
        assert_memory_equal(p.got.dv, p.exact.dv, p.z.v * sizeof(double));
    }
    sus_t_problem_free(&p);
}

static void test_errors(void **state)
{
    (void)state;
    sus_t_rng r = {1};
    sus_t_problem p;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
    fill_problem(&r, &p, 1.0);
    sus_error err;
    assert_int_equal(sus_mpfr_grad(&p.a, 32, &p.exact, NULL, NULL, &err),
                     SUS_ERR_INVAL);
    assert_non_null(strstr(err.msg, "precision"));
    p.q[5] = NAN;
    assert_int_equal(sus_ref_grad(&p.a, &p.got, &err), SUS_ERR_NONFINITE);
    assert_non_null(strstr(err.msg, "Q"));
    assert_non_null(strstr(err.msg, "[0, 0, 2, 1]"));
    p.q[5] = 1.0;
    p.a.scale = INFINITY;
    assert_int_equal(sus_ref_grad(&p.a, &p.got, &err), SUS_ERR_INVAL);
    p.a.scale = 1.0;
    /* logits beyond double: the double reference refuses, MPFR does not */
    p.q[0] = 1e300;
    p.k[0] = 1e300;
    assert_int_equal(sus_ref_grad(&p.a, &p.got, &err), SUS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "overflows"));
    p.a.shape.n = 0;
    assert_int_equal(sus_ref_grad(&p.a, &p.got, &err), SUS_ERR_SHAPE);
    p.a.shape.n = 3;
    p.a.shape.m = INT64_MAX / 2;
    assert_int_equal(sus_ref_grad(&p.a, &p.got, &err), SUS_ERR_OVERFLOW);
    p.a.shape.m = 4;
    double *saved = p.exact.dk;
    p.exact.dk = NULL;
    assert_int_equal(sus_mpfr_grad(&p.a, 256, &p.exact, NULL, NULL, &err),
                     SUS_ERR_INVAL);
    p.exact.dk = saved;
    sus_t_problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_degenerate_dims),
        cmocka_unit_test(test_huge_logits),
        cmocka_unit_test(test_identical_keys),
        cmocka_unit_test(test_bound_detects_error),
        cmocka_unit_test(test_mag_double_vs_mpfr),
        cmocka_unit_test(test_low_precision),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("ref_vs_mpfr", tests, NULL, NULL);
}
