/*
 * test_ref_fd.c: the MPFR backward against central finite differences of
 * the MPFR forward, at 1024 bits. This checks the backward formulas of
 * DESIGN.md 2.1 independently of themselves: the loss L = sum dO . O has
 * dL/dQ = dQ, dL/dK = dK and dL/dV = dV.
 *
 * With step h = 2^-120 the central difference has truncation error of order
 * h^2 |L'''| ~ 2^-240 and rounding error of order 2^-1024 / h ~ 2^-900, so
 * on inputs of order one it matches the gradient to far better than the
 * asserted 2^-200 |y|_mag; a wrong formula is off by order |y|_mag.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../ref/mp_head.h"
#include "support.h"

#define PREC     1024
#define STEP_EXP (-120)

typedef struct fd_case {
    sus_i_mp_head_in in;
    mpfr_t scale;
} fd_case;

static mpfr_t *random_vec(sus_t_rng *r, size_t count)
{
    mpfr_t *v = sus_i_mp_new(count, PREC);
    assert_non_null(v);
    for (size_t t = 0; t < count; t++)
        mpfr_set_d(v[t], sus_t_normal(r), MPFR_RNDN);
    return v;
}

/* L = sum_i dO_i . O_i at PREC bits. */
static void loss(const sus_i_mp_head_in *in, mpfr_t L)
{
    sus_i_mp_head_out val;
    assert_int_equal(sus_i_mp_head_out_init(&val, in->n, in->m, in->d, in->dv, PREC),
                     0);
    assert_int_equal(sus_i_mp_head_grad(in, NULL, &val, NULL), 0);
    mpfr_set_zero(L, 1);
    for (int64_t t = 0; t < in->n * in->dv; t++)
        mpfr_fma(L, in->dout[t], val.o[t], L, MPFR_RNDN);
    sus_i_mp_head_out_clear(&val, in->n, in->m, in->d, in->dv);
}

/* Central difference of L in x[t], compared with the analytic gradient g
 * within 2^-200 (|g|_mag + 2^-100). The absolute floor covers elements
 * whose gradient is exactly zero with a zero magnitude. */
static void check_fd(const sus_i_mp_head_in *in, mpfr_t *x, size_t count, mpfr_t *g,
                     mpfr_t *gmag, const char *name)
{
    mpfr_t saved, lp, lm, fd, diff, tol;
    mpfr_inits2(PREC, saved, lp, lm, fd, diff, tol, (mpfr_ptr)0);
    for (size_t t = 0; t < count; t++) {
        mpfr_set(saved, x[t], MPFR_RNDN);
        mpfr_set_ui_2exp(fd, 1, STEP_EXP, MPFR_RNDN);
        mpfr_add(x[t], saved, fd, MPFR_RNDN); /* exact at PREC bits */
        loss(in, lp);
        mpfr_sub(x[t], saved, fd, MPFR_RNDN);
        loss(in, lm);
        mpfr_set(x[t], saved, MPFR_RNDN);
        mpfr_sub(fd, lp, lm, MPFR_RNDN);
        mpfr_mul_2si(fd, fd, -(STEP_EXP + 1), MPFR_RNDN);
        mpfr_sub(diff, fd, g[t], MPFR_RNDN);
        mpfr_abs(diff, diff, MPFR_RNDN);
        mpfr_set_ui_2exp(tol, 1, -100, MPFR_RNDN);
        mpfr_add(tol, tol, gmag[t], MPFR_RNDN);
        mpfr_mul_2si(tol, tol, -200, MPFR_RNDN);
        if (mpfr_cmp(diff, tol) > 0) {
            char msg[256];
            mpfr_snprintf(
                msg, sizeof msg,
                "%s[%zu]: finite difference %.20Rg, gradient %.20Rg, diff %.3Rg", name,
                t, fd, g[t], diff);
            print_error("%s\n", msg);
            fail();
        }
    }
    mpfr_clears(saved, lp, lm, fd, diff, tol, (mpfr_ptr)0);
}

static void run_case(sus_t_rng *r, int64_t n, int64_t m, int64_t d, int64_t dv,
                     int causal, double scale)
{
    fd_case c;
    mpfr_init2(c.scale, PREC);
    mpfr_set_d(c.scale, scale, MPFR_RNDN);
    c.in = (sus_i_mp_head_in){n,
                              m,
                              d,
                              dv,
                              causal,
                              c.scale,
                              random_vec(r, (size_t)(n * d)),
                              random_vec(r, (size_t)(m * d)),
                              random_vec(r, (size_t)(m * dv)),
                              random_vec(r, (size_t)(n * dv))};
    sus_i_mp_head_out val, mag;
    assert_int_equal(sus_i_mp_head_out_init(&val, n, m, d, dv, PREC), 0);
    assert_int_equal(sus_i_mp_head_out_init(&mag, n, m, d, dv, SUS_I_MAG_PREC), 0);
    assert_int_equal(sus_i_mp_head_grad(&c.in, NULL, &val, &mag), 0);
    check_fd(&c.in, c.in.q, (size_t)(n * d), val.dq, mag.dq, "dQ");
    check_fd(&c.in, c.in.k, (size_t)(m * d), val.dk, mag.dk, "dK");
    check_fd(&c.in, c.in.v, (size_t)(m * dv), val.dv, mag.dv, "dV");
    sus_i_mp_head_out_clear(&val, n, m, d, dv);
    sus_i_mp_head_out_clear(&mag, n, m, d, dv);
    sus_i_mp_free(c.in.q, (size_t)(n * d));
    sus_i_mp_free(c.in.k, (size_t)(m * d));
    sus_i_mp_free(c.in.v, (size_t)(m * dv));
    sus_i_mp_free(c.in.dout, (size_t)(n * dv));
    mpfr_clear(c.scale);
}

static void test_fd_full(void **state)
{
    (void)state;
    sus_t_rng r = {42};
    run_case(&r, 3, 4, 2, 3, 0, sus_default_scale(2));
    run_case(&r, 1, 1, 1, 1, 0, 0.7);
    run_case(&r, 4, 2, 3, 1, 0, -1.3);
}

static void test_fd_causal(void **state)
{
    (void)state;
    sus_t_rng r = {43};
    run_case(&r, 4, 3, 2, 2, 1, sus_default_scale(2)); /* n > m */
    run_case(&r, 2, 5, 3, 2, 1, 0.9);                  /* n < m: masked keys */
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
        cmocka_unit_test(test_fd_full),
        cmocka_unit_test(test_fd_causal),
    };
    return cmocka_run_group_tests_name("mpfr_grad_vs_finite_differences", tests, NULL,
                                       teardown);
}
