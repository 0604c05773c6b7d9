/*
 * test_fast_exp.c: the forward kernels' own exp (fast/fwd_kern.h), which
 * gives every weight P = exp(S - m) and every final W, at each SIMD level
 * this CPU supports:
 *  - AVX-512 computes p 2^n with one vscalef, AVX2 with two exact steps
 *    2^n1 2^n2 (fast/fwd_kern.h); both round p 2^n once, so they must
 *    agree bit for bit. Checked on every float whose exp is subnormal or
 *    near it (x in [-110, -86]), on a sweep of all other floats in
 *    [-110, 88.5] and on a random sample of doubles, subnormal results
 *    included;
 *  - at every level, each result is within DESIGN.md section 3's bound
 *    for one operation of the chain (tau u relative, tau = 4) of the exact
 *    exp from MPFR, plus the smallest subnormal where the result
 *    underflows (model_ratio);
 *  - -inf (a masked logit) gives +0, NaN stays NaN.
 * fast/ is reached through its internal kernel table (fast/fwd.h): the exp
 * is not part of sus.h.
 */
#include <float.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fast/fwd.h"
#include "support.h"
#include "support_fast.h"

#define NLEVELS 3

static const sus_simd levels[NLEVELS] = {SUS_SIMD_PORTABLE, SUS_SIMD_AVX2,
                                         SUS_SIMD_AVX512};

/* The kernels of level, or NULL if this CPU does not run it (the
 * context only asks fast/ whether it does). */
static const sus_fw_kern *kern_at(sus_simd level)
{
    sus_fast_ctx *ctx = sus_tf_new_ctx(1, level, 0, 0);
    if (!ctx) {
        print_message("simd %s: not supported here, skipped\n", sus_simd_name(level));
        return NULL;
    }
    sus_fast_ctx_free(ctx);
    return sus_fw_kern_for(level);
}

static uint32_t f32_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static float f32_of(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The float32 test inputs: every dense-th float in [-110, -86] by bit
 * pattern (their exp is subnormal, or normal within a factor 2^25 of it),
 * every sparse-th in [-86, 0] and [0, 88.5] (exp(88.5) is near FLT_MAX;
 * the forward's arguments are <= 0), and the specials. The comparison of
 * levels takes every float of the first range; the accuracy test, which
 * costs an MPFR exp per value, fewer. */
static float *f32_inputs(uint32_t dense, uint32_t sparse, int64_t *count)
{
    const uint32_t lo_a = f32_bits(-86.0f), hi_a = f32_bits(-110.0f);
    const uint32_t top_pos = f32_bits(88.5f);
    int64_t n = (int64_t)((hi_a - lo_a) / dense + 1) + (int64_t)(lo_a / sparse + 1) +
                (int64_t)(top_pos / sparse + 1) + 8;
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    int64_t k = 0;
    for (uint32_t b = lo_a; b <= hi_a; b += dense)
        x[k++] = f32_of(b);
    for (uint32_t b = 0x80000000u; b < lo_a; b += sparse)
        x[k++] = f32_of(b);
    for (uint32_t b = 0; b <= top_pos; b += sparse)
        x[k++] = f32_of(b);
    const float sp[] = {0.0f, -0.0f, -(float)INFINITY, -FLT_MAX, -110.0f, -1e30f};
    for (size_t t = 0; t < sizeof sp / sizeof sp[0]; t++)
        x[k++] = sp[t];
    assert_true(k <= n);
    *count = k;
    return x;
}

/* The float64 inputs, 6 per of them: uniform in [-760, 0], dense in
 * [-746, -700] (the subnormal results and their neighbours), near 0 and
 * up to 709, plus the specials. */
static double *f64_inputs(int64_t per, int64_t *count)
{
    const int64_t n = 6 * per + 6;
    double *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    sus_t_rng g = {20261128};
    int64_t k = 0;
    for (int64_t t = 0; t < 2 * per; t++)
        x[k++] = -760.0 * sus_t_uniform(&g);
    for (int64_t t = 0; t < 2 * per; t++)
        x[k++] = -700.0 - 46.0 * sus_t_uniform(&g);
    for (int64_t t = 0; t < per; t++)
        x[k++] = -ldexp(sus_t_uniform(&g), -(int)(60.0 * sus_t_uniform(&g)));
    for (int64_t t = 0; t < per; t++)
        x[k++] = 709.0 * sus_t_uniform(&g);
    const double sp[] = {0.0, -0.0, -INFINITY, -DBL_MAX, -760.0, -1e300};
    for (size_t t = 0; t < sizeof sp / sizeof sp[0]; t++)
        x[k++] = sp[t];
    *count = k;
    return x;
}

/* The value of element t of an array of es-byte floats (4 or 8). */
static double elem(const void *a, size_t es, int64_t t)
{
    return es == sizeof(float) ? (double)((const float *)a)[t] : ((const double *)a)[t];
}

/* The elements where the two levels' results differ in any bit; prints
 * the first few. */
static int64_t count_differ(const char *name, const void *x, const void *ya,
                            const void *yb, size_t es, int64_t n)
{
    int64_t diff = 0;
    for (int64_t t = 0; t < n; t++)
        if (memcmp((const char *)ya + (size_t)t * es, (const char *)yb + (size_t)t * es,
                   es) != 0 &&
            diff++ < 5)
            print_message("exp(%a): avx2 %a, avx512 %a\n", elem(x, es, t),
                          elem(ya, es, t), elem(yb, es, t));
    print_message("%s: %lld inputs, %lld differ\n", name, (long long)n,
                  (long long)diff);
    return diff;
}

static void test_avx512_equals_avx2_f32(void **state)
{
    (void)state;
    const sus_fw_kern *a = kern_at(SUS_SIMD_AVX2), *b = kern_at(SUS_SIMD_AVX512);
    if (!a || !b)
        skip();
    int64_t n;
    float *x = sus_t_quick() ? f32_inputs(97, 6007, &n) : f32_inputs(1, 61, &n);
    float *ya = malloc((size_t)n * sizeof *ya), *yb = malloc((size_t)n * sizeof *yb);
    assert_true(ya && yb);
    a->exp_f32(x, ya, n);
    b->exp_f32(x, yb, n);
    assert_int_equal(count_differ("f32", x, ya, yb, sizeof *x, n), 0);
    free(x);
    free(ya);
    free(yb);
}

static void test_avx512_equals_avx2_f64(void **state)
{
    (void)state;
    const sus_fw_kern *a = kern_at(SUS_SIMD_AVX2), *b = kern_at(SUS_SIMD_AVX512);
    if (!a || !b)
        skip();
    int64_t n;
    double *x = f64_inputs(sus_t_quick() ? 20000 : 1000000, &n);
    double *ya = malloc((size_t)n * sizeof *ya), *yb = malloc((size_t)n * sizeof *yb);
    assert_true(ya && yb);
    a->exp_f64(x, ya, n);
    b->exp_f64(x, yb, n);
    assert_int_equal(count_differ("f64", x, ya, yb, sizeof *x, n), 0);
    free(x);
    free(ya);
    free(yb);
}

/* The error of y = exp(x) against DESIGN.md section 3's model for one
 * operation, |y - e| <= tau u e + eta (e exact, from MPFR at 200 bits;
 * eta = the smallest subnormal, the underflow term of Higham's model,
 * which only matters where e is subnormal): returns the ratio of the two
 * sides, so 1 is the limit. tau = 4 is section 3's constant: the exp is
 * then one link of the dependency chains whose length k the bounds count. */
#define TAU 4.0
static double model_ratio(double x, double y, int mant, int emin_sub, mpfr_t e,
                          mpfr_t d)
{
    mpfr_set_d(e, x, MPFR_RNDN);
    mpfr_exp(e, e, MPFR_RNDN);
    mpfr_sub_d(d, e, y, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    /* the bound in MPFR too: d may be far below the smallest double */
    mpfr_mul_d(e, e, TAU, MPFR_RNDN);
    mpfr_mul_2si(e, e, -mant, MPFR_RNDN);
    mpfr_add_d(e, e, ldexp(1.0, emin_sub), MPFR_RNDN);
    mpfr_div(d, d, e, MPFR_RNDU);
    return mpfr_get_d(d, MPFR_RNDU);
}

/* A format's constants for the accuracy check: below clamp_lo the kernels
 * clamp (the result is +0), below min_normal a result is subnormal. */
typedef struct fmt {
    const char *name;
    int mant, emin_sub;
    double clamp_lo, min_normal;
} fmt;

static const fmt F32 = {"f32", 24, -149, -110.0, FLT_MIN};
static const fmt F64 = {"f64", 53, -1074, -760.0, DBL_MIN};

/* Checks y = exp(x) (in double, whatever the format) against the model;
 * returns the number of failures and prints the worst ratios. */
static int64_t check_accuracy(const char *level, const fmt *f, const double *x,
                              const double *y, int64_t n, mpfr_t e, mpfr_t d)
{
    double worst = 0, worst_u = 0;
    int64_t bad = 0;
    for (int64_t t = 0; t < n; t++) {
        if (x[t] < f->clamp_lo) { /* -inf included */
            bad += !(y[t] == 0 && !signbit(y[t]));
            continue;
        }
        if (!isfinite(y[t])) {
            bad++;
            continue;
        }
        double err = model_ratio(x[t], y[t], f->mant, f->emin_sub, e, d);
        worst = err > worst ? err : worst;
        if (y[t] >= f->min_normal) { /* the relative error alone, in units of u */
            double ru = TAU * model_ratio(x[t], y[t], f->mant, -4000, e, d);
            worst_u = ru > worst_u ? ru : worst_u;
        }
        if (err > 1.0 && bad++ < 5)
            print_message("%s: exp(%a) = %a, %.3g of the bound\n", level, x[t], y[t],
                          err);
    }
    print_message("%s %s: %lld inputs, worst %.3f of the bound; normal results within "
                  "%.3f u\n",
                  level, f->name, (long long)n, worst, worst_u);
    return bad;
}

static void test_accuracy_f32(void **state)
{
    (void)state;
    int64_t n;
    float *x = sus_t_quick() ? f32_inputs(797, 200003, &n) : f32_inputs(7, 4099, &n);
    float *y = malloc((size_t)n * sizeof *y);
    double *xd = malloc((size_t)n * sizeof *xd), *yd = malloc((size_t)n * sizeof *yd);
    assert_true(y && xd && yd);
    for (int64_t t = 0; t < n; t++)
        xd[t] = (double)x[t];
    mpfr_t e, d;
    mpfr_inits2(200, e, d, (mpfr_ptr)0);
    for (int l = 0; l < NLEVELS; l++) {
        const sus_fw_kern *k = kern_at(levels[l]);
        if (!k)
            continue;
        k->exp_f32(x, y, n);
        for (int64_t t = 0; t < n; t++)
            yd[t] = (double)y[t];
        assert_int_equal(
            check_accuracy(sus_simd_name(levels[l]), &F32, xd, yd, n, e, d), 0);
        float nan_in[1] = {(float)NAN}, nan_out[1];
        k->exp_f32(nan_in, nan_out, 1);
        assert_true(isnan(nan_out[0]));
    }
    mpfr_clears(e, d, (mpfr_ptr)0);
    free(x);
    free(y);
    free(xd);
    free(yd);
}

static void test_accuracy_f64(void **state)
{
    (void)state;
    int64_t n;
    double *x = f64_inputs(sus_t_quick() ? 1000 : 50000, &n);
    double *y = malloc((size_t)n * sizeof *y);
    assert_non_null(y);
    mpfr_t e, d;
    mpfr_inits2(200, e, d, (mpfr_ptr)0);
    for (int l = 0; l < NLEVELS; l++) {
        const sus_fw_kern *k = kern_at(levels[l]);
        if (!k)
            continue;
        k->exp_f64(x, y, n);
        assert_int_equal(check_accuracy(sus_simd_name(levels[l]), &F64, x, y, n, e, d),
                         0);
        double nan_in[1] = {NAN}, nan_out[1];
        k->exp_f64(nan_in, nan_out, 1);
        assert_true(isnan(nan_out[0]));
    }
    mpfr_clears(e, d, (mpfr_ptr)0);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avx512_equals_avx2_f32),
        cmocka_unit_test(test_avx512_equals_avx2_f64),
        cmocka_unit_test(test_accuracy_f32),
        cmocka_unit_test(test_accuracy_f64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
