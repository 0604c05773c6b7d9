/*
 * test_rules.c: the rules, the canonical mask and the estimator's
 * invariants (DESIGN.md 2.3, 2.4):
 *  - every kept W~ under minc equals max(W, 1/c), exactly;
 *  - c = inf gives the exact gradient bit for bit;
 *  - waterfill's q sum to the budget; at minc's expected count it equals
 *    minc, and at the same budget its variance is lower;
 *  - the expected kept count per row is <= c;
 *  - malformed external masks are refused with the reason;
 *  - the estimator in double agrees with MPFR within the DESIGN.md 3 bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support_problem.h"

static void fill(sus_t_rng *r, sus_t_problem *p, double sd)
{
    sus_t_fill_normal(r, p->q, p->z.q, sd);
    sus_t_fill_normal(r, p->k, p->z.k, sd);
    sus_t_fill_normal(r, p->v, p->z.v, 1.0);
    sus_t_fill_normal(r, p->dout, p->z.o, 1.0);
}

/* W of the double reference, through minc with c = inf (q = 1, W~ = W). */
static double *ref_weights(const sus_t_problem *p)
{
    double *q = calloc(p->z.scores, sizeof(double));
    double *w = calloc(p->z.scores, sizeof(double));
    assert_int_equal(sus_ref_probs(&p->a, &sus_rule_minc, INFINITY, q, w, NULL),
                     SUS_OK);
    free(q);
    return w;
}

static void test_minc_kept_values(void **state)
{
    (void)state;
    sus_t_rng r = {1};
    const double budgets[] = {0.5, 1.0, 3.0, 32.0};
    for (int c = 0; c < 16; c++) {
        sus_t_problem p;
        assert_int_equal(sus_t_problem_alloc(&p, sus_t_random_shape(&r, 2, 20, 6)), 0);
        p.a.causal = c & 1;
        fill(&r, &p, 1.5);
        double budget = budgets[c % 4];
        double *W = ref_weights(&p);
        sus_mask mk;
        assert_int_equal(
            sus_ref_mask(&p.a, &sus_rule_minc, budget, (uint64_t)c, &mk, NULL), SUS_OK);
        assert_int_equal(sus_mask_check(&mk, &p.a.shape, p.a.causal, NULL), SUS_OK);
        for (int64_t row = 0; row < mk.rows; row++)
            for (int64_t e = mk.indptr[row]; e < mk.indptr[row + 1]; e++) {
                double w = W[(size_t)row * (size_t)p.a.shape.m + (size_t)mk.indices[e]];
                assert_true(mk.wtilde[e] == fmax(w, 1.0 / budget));
                assert_true(mk.wtilde[e] >= 1.0 / budget);
                assert_true(mk.wtilde[e] <= fmax(1.0, 1.0 / budget));
            }
        sus_mask_free(&mk);
        free(W);
        sus_t_problem_free(&p);
    }
}

static void test_c_inf_is_exact(void **state)
{
    (void)state;
    sus_t_rng r = {2};
    for (int c = 0; c < 12; c++) {
        sus_t_problem p;
        assert_int_equal(sus_t_problem_alloc(&p, sus_t_random_shape(&r, 2, 12, 6)), 0);
        p.a.causal = c & 1;
        fill(&r, &p, 3.0); /* peaked, so some W underflow toward 0 */
        const sus_rule *rule = c & 2 ? &sus_rule_waterfill : &sus_rule_minc;
        sus_mask mk;
        assert_int_equal(sus_ref_mask(&p.a, rule, INFINITY, 99, &mk, NULL), SUS_OK);
        /* every allowed entry is kept */
        int64_t allowed = 0;
        for (int64_t i = 0; i < p.a.shape.n; i++)
            allowed +=
                p.a.causal ? (i + 1 < p.a.shape.m ? i + 1 : p.a.shape.m) : p.a.shape.m;
        assert_int_equal(mk.nnz, allowed * p.a.shape.B * p.a.shape.H);
        assert_int_equal(sus_ref_estimate(&p.a, &mk, &p.got, NULL), SUS_OK);
        assert_int_equal(sus_ref_grad(&p.a, &p.exact, NULL), SUS_OK);
        assert_memory_equal(p.got.dq, p.exact.dq, p.z.q * sizeof(double));
        assert_memory_equal(p.got.dk, p.exact.dk, p.z.k * sizeof(double));
        assert_memory_equal(p.got.dv, p.exact.dv, p.z.v * sizeof(double));
        assert_memory_equal(p.got.o, p.exact.o, p.z.o * sizeof(double));
        sus_mask_free(&mk);
        sus_t_problem_free(&p);
    }
}

static double row_sum(const double *x, int64_t len)
{
    double s = 0.0;
    for (int64_t t = 0; t < len; t++)
        s += x[t];
    return s;
}

static void test_budgets(void **state)
{
    (void)state;
    sus_t_rng r = {3};
    const double budgets[] = {0.5, 1.0, 2.5, 3.0, 7.0, 32.0};
    for (int c = 0; c < 24; c++) {
        sus_t_problem p;
        sus_shape sh = {1, 1, sus_t_range(&r, 1, 24), sus_t_range(&r, 1, 40), 4, 2};
        assert_int_equal(sus_t_problem_alloc(&p, sh), 0);
        p.a.causal = c & 1;
        fill(&r, &p, pow(10.0, sus_t_uniform(&r) * 1.5 - 0.5));
        double budget = budgets[c % 6];
        double *qm = calloc(p.z.scores, sizeof(double)), *wm = calloc(p.z.scores, 8);
        double *qw = calloc(p.z.scores, sizeof(double)), *ww = calloc(p.z.scores, 8);
        double *W = ref_weights(&p);
        assert_int_equal(sus_ref_probs(&p.a, &sus_rule_minc, budget, qm, wm, NULL),
                         SUS_OK);
        assert_int_equal(sus_ref_probs(&p.a, &sus_rule_waterfill, budget, qw, ww, NULL),
                         SUS_OK);
        for (int64_t i = 0; i < sh.n; i++) {
            int64_t len = p.a.causal ? (i + 1 < sh.m ? i + 1 : sh.m) : sh.m;
            const double *Wr = W + i * sh.m;
            int64_t pos = 0;
            for (int64_t j = 0; j < len; j++)
                pos += Wr[j] > 0.0;
            double target = fmin(budget, (double)pos);
            /* minc: expected count <= c (rounding of c W aside) */
            assert_true(row_sum(qm + i * sh.m, sh.m) <= budget * (1.0 + 1e-13));
            /* waterfill: spends the budget */
            double sw = row_sum(qw + i * sh.m, sh.m);
            if (fabs(sw - target) > 1e-12 * target) {
                print_error("row %lld: waterfill q sum %.17g, budget %.17g\n",
                            (long long)i, sw, target);
                fail();
            }
            for (int64_t j = 0; j < sh.m; j++) {
                double qv = qw[i * sh.m + j];
                assert_true(qv >= 0.0 && qv <= 1.0);
                if (j >= len)
                    assert_true(qv == 0.0 && qm[i * sh.m + j] == 0.0);
                /* monotone in W: a larger weight never gets a smaller q */
                for (int64_t k = 0; k < len; k++)
                    if (Wr[k] > Wr[j] && j < len)
                        assert_true(qw[i * sh.m + k] >= qv);
            }
        }
        free(qm);
        free(wm);
        free(qw);
        free(ww);
        free(W);
        sus_t_problem_free(&p);
    }
}

/* sum_j W^2 (1/q - 1), the variance proxy the rules trade against count. */
static double var_proxy(const double *W, const double *q, int64_t len)
{
    double v = 0.0;
    for (int64_t j = 0; j < len; j++)
        if (q[j] > 0.0)
            v += W[j] * W[j] * (1.0 / q[j] - 1.0);
    return v;
}

/* minc's q = min(1, c W) already has the water-filling form with t = 1/c,
 * so at minc's own expected count E the two rules coincide (the optimum is
 * unique). At the same budget c, waterfill spends all of it: its threshold
 * is at most 1/c, so q is pointwise at least minc's and the variance
 * proxy is lower, strictly whenever minc's count falls short of c. */
static void test_waterfill_vs_minc(void **state)
{
    (void)state;
    sus_t_rng r = {4};
    int strictly = 0;
    for (int c = 0; c < 200; c++) {
        int64_t len = sus_t_range(&r, 2, 30);
        double *W = calloc((size_t)len, 8), *qm = calloc((size_t)len, 8);
        double *qw = calloc((size_t)len, 8), *wt = calloc((size_t)len, 8);
        double z = 0.0, sd = 0.2 + 3.0 * sus_t_uniform(&r);
        for (int64_t j = 0; j < len; j++)
            z += W[j] = exp(sd * sus_t_normal(&r));
        for (int64_t j = 0; j < len; j++)
            W[j] /= z;
        double budget = 0.3 + 0.7 * (double)len * sus_t_uniform(&r);
        assert_int_equal(sus_rule_minc.row(W, len, budget, qm, wt), SUS_OK);
        double E = row_sum(qm, len);
        /* same expected count: the same probabilities */
        assert_int_equal(sus_rule_waterfill.row(W, len, E, qw, wt), SUS_OK);
        for (int64_t j = 0; j < len; j++)
            assert_true(fabs(qw[j] - qm[j]) <= 1e-12);
        /* same budget: pointwise larger q, lower variance */
        assert_int_equal(sus_rule_waterfill.row(W, len, budget, qw, wt), SUS_OK);
        for (int64_t j = 0; j < len; j++)
            assert_true(qw[j] >= qm[j] * (1.0 - 1e-12));
        double vm = var_proxy(W, qm, len), vw = var_proxy(W, qw, len);
        assert_true(vw <= vm * (1.0 + 1e-12));
        if (E < budget * (1.0 - 1e-3) && E < (double)len * (1.0 - 1e-3)) {
            assert_true(vw < vm);
            strictly++;
        }
        free(W);
        free(qm);
        free(qw);
        free(wt);
    }
    assert_true(strictly > 20);
}

/* Ties are never split, and the documented corner cases hold. */
static void test_waterfill_ties_and_corners(void **state)
{
    (void)state;
    double W[6] = {0.3, 0.3, 0.1, 0.1, 0.1, 0.1};
    double q[6], wt[6];
    assert_int_equal(sus_rule_waterfill.row(W, 6, 2.0, q, wt), SUS_OK);
    assert_true(q[0] == q[1] && q[2] == q[3] && q[3] == q[4] && q[4] == q[5]);
    /* no cap: t = 1/2, q = 2W */
    assert_true(fabs(q[0] - 0.6) < 1e-15 && fabs(q[2] - 0.2) < 1e-15);
    /* two dominant equal weights are capped together */
    double V[4] = {0.45, 0.45, 0.05, 0.05};
    assert_int_equal(sus_rule_waterfill.row(V, 4, 2.5, q, wt), SUS_OK);
    assert_true(q[0] == 1.0 && q[1] == 1.0);
    assert_true(fabs(q[2] - 0.25) < 1e-15 && fabs(wt[2] - 0.2) < 1e-15);
    /* a budget above the number of positive weights keeps them all; zeros
     * are never kept at finite c */
    double Z[3] = {0.7, 0.3, 0.0};
    assert_int_equal(sus_rule_waterfill.row(Z, 3, 5.0, q, wt), SUS_OK);
    assert_true(q[0] == 1.0 && q[1] == 1.0 && q[2] == 0.0);
    assert_int_equal(sus_rule_minc.row(Z, 3, 5.0, q, wt), SUS_OK);
    assert_true(q[2] == 0.0);
    assert_int_equal(sus_rule_minc.row(Z, 3, INFINITY, q, wt), SUS_OK);
    assert_true(q[2] == 1.0 && wt[2] == 0.0);
    assert_int_equal(sus_rule_minc.row(Z, 3, 0.0, q, wt), SUS_ERR_INVAL);
    assert_int_equal(sus_rule_waterfill.row(Z, 3, NAN, q, wt), SUS_ERR_INVAL);
    assert_ptr_equal(sus_rule_find("minc"), &sus_rule_minc);
    assert_ptr_equal(sus_rule_find("waterfill"), &sus_rule_waterfill);
    assert_null(sus_rule_find("uniform"));
    assert_ptr_equal(sus_rule_at(0), &sus_rule_minc);
    assert_ptr_equal(sus_rule_at(1), &sus_rule_waterfill);
    assert_null(sus_rule_at(2));
    assert_null(sus_rule_find(NULL));
}

static void expect_bad(sus_mask *mk, const sus_shape *sh, int causal,
                       const char *needle)
{
    sus_error err;
    int rc = sus_mask_check(mk, sh, causal, &err);
    assert_int_not_equal(rc, SUS_OK);
    if (!strstr(err.msg, needle)) {
        print_error("message '%s' lacks '%s'\n", err.msg, needle);
        fail();
    }
}

static void test_mask_check(void **state)
{
    (void)state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    int64_t indptr[4] = {0, 1, 3, 5};
    int64_t idx[5] = {0, 0, 1, 1, 2};
    double wt[5] = {1, 0.5, 0.5, 0.4, 0.6};
    sus_mask mk = {3, 5, indptr, idx, wt};
    assert_int_equal(sus_mask_check(&mk, &sh, 1, NULL), SUS_OK);
    idx[4] = 1;
    expect_bad(&mk, &sh, 0, "duplicate");
    idx[4] = 0;
    expect_bad(&mk, &sh, 0, "ascending");
    idx[4] = 4;
    expect_bad(&mk, &sh, 0, "outside");
    idx[4] = -1;
    idx[3] = -2;
    expect_bad(&mk, &sh, 0, "outside");
    idx[3] = 1;
    idx[4] = 3;
    assert_int_equal(sus_mask_check(&mk, &sh, 0, NULL), SUS_OK);
    expect_bad(&mk, &sh, 1, "causal");
    idx[4] = 2;
    wt[2] = NAN;
    expect_bad(&mk, &sh, 0, "wtilde");
    wt[2] = -1.0;
    expect_bad(&mk, &sh, 0, "wtilde");
    wt[2] = 0.5;
    indptr[2] = 6;
    expect_bad(&mk, &sh, 0, "indptr");
    indptr[2] = 0;
    expect_bad(&mk, &sh, 0, "indptr");
    indptr[2] = 3;
    indptr[0] = 1;
    expect_bad(&mk, &sh, 0, "indptr[0]");
    indptr[0] = 0;
    indptr[3] = 4;
    expect_bad(&mk, &sh, 0, "nnz");
    indptr[3] = 5;
    mk.rows = 2;
    expect_bad(&mk, &sh, 0, "rows");
    mk.rows = 3;
    assert_int_equal(sus_mask_check(&mk, &sh, 0, NULL), SUS_OK);
}

/* The estimator under a canonical mask: double vs MPFR within the bound,
 * and the refusal of a malformed mask before any computation. */
static void test_estimator_double_vs_mpfr(void **state)
{
    (void)state;
    sus_t_rng r = {6};
    for (int c = 0; c < 12; c++) {
        sus_t_problem p;
        assert_int_equal(sus_t_problem_alloc(&p, sus_t_random_shape(&r, 2, 10, 6)), 0);
        p.a.causal = c & 1;
        fill(&r, &p, 1.0);
        sus_mask mk;
        assert_int_equal(sus_ref_mask(&p.a,
                                      c & 2 ? &sus_rule_waterfill : &sus_rule_minc,
                                      1.0 + c, (uint64_t)c * 7919u, &mk, NULL),
                         SUS_OK);
        sus_cert cert;
        sus_error err;
        assert_int_equal(
            sus_mpfr_estimate(&p.a, &mk, 256, &p.exact, &p.mag, &cert, &err), SUS_OK);
        assert_int_equal(sus_ref_estimate(&p.a, &mk, &p.got, &err), SUS_OK);
        double k = sus_bound_k(&p.a.shape), u = 0x1p-53;
        assert_array_within_bound(p.got.dq, p.exact.dq, p.mag.dq, p.z.q, SUS_TAU, k, u,
                                  "dQ~");
        assert_array_within_bound(p.got.dk, p.exact.dk, p.mag.dk, p.z.k, SUS_TAU, k, u,
                                  "dK~");
        assert_array_within_bound(p.got.dv, p.exact.dv, p.mag.dv, p.z.v, SUS_TAU, k, u,
                                  "dV~");
        assert_array_within_bound(p.got.o, p.exact.o, p.mag.o, p.z.o, SUS_TAU, k, u,
                                  "O");
        /* double magnitudes agree with MPFR's */
        assert_int_equal(sus_ref_estimate_mag(&p.a, &mk, &p.got, &err), SUS_OK);
        for (size_t t = 0; t < p.z.k; t++)
            assert_true(fabs(p.got.dk[t] - p.mag.dk[t]) <= 1e-12 * p.mag.dk[t]);
        if (mk.nnz > 0) {
            mk.indices[0] = p.a.shape.m; /* out of range */
            assert_int_equal(sus_ref_estimate(&p.a, &mk, &p.got, &err), SUS_ERR_FORMAT);
            assert_int_equal(
                sus_mpfr_estimate(&p.a, &mk, 256, &p.exact, NULL, NULL, &err),
                SUS_ERR_FORMAT);
        }
        sus_mask_free(&mk);
        sus_t_problem_free(&p);
    }
}

/* The mask depends on the seed and on nothing else random: the same seed
 * gives the same mask, another seed another one. */
static void test_mask_reproducible(void **state)
{
    (void)state;
    sus_t_rng r = {7};
    sus_t_problem p;
    assert_int_equal(sus_t_problem_alloc(&p, (sus_shape){1, 2, 16, 16, 4, 4}), 0);
    fill(&r, &p, 1.0);
    sus_mask a, b, c;
    assert_int_equal(sus_ref_mask(&p.a, &sus_rule_minc, 4.0, 5, &a, NULL), SUS_OK);
    assert_int_equal(sus_ref_mask(&p.a, &sus_rule_minc, 4.0, 5, &b, NULL), SUS_OK);
    assert_int_equal(sus_ref_mask(&p.a, &sus_rule_minc, 4.0, 6, &c, NULL), SUS_OK);
    assert_int_equal(a.nnz, b.nnz);
    assert_memory_equal(a.indices, b.indices, (size_t)a.nnz * sizeof(int64_t));
    assert_true(a.nnz != c.nnz ||
                memcmp(a.indices, c.indices, (size_t)a.nnz * sizeof(int64_t)) != 0);
    /* each kept entry satisfies u < q with the canonical uniform */
    double *q = calloc(p.z.scores, 8), *wt = calloc(p.z.scores, 8);
    assert_int_equal(sus_ref_probs(&p.a, &sus_rule_minc, 4.0, q, wt, NULL), SUS_OK);
    int64_t kept = 0;
    for (int64_t h = 0; h < 2; h++)
        for (int64_t i = 0; i < 16; i++)
            for (int64_t j = 0; j < 16; j++) {
                double u;
                assert_int_equal(sus_canonical_uniform(5, 0, h, i, j, &u), SUS_OK);
                kept += u < q[(size_t)((h * 16 + i) * 16 + j)];
            }
    assert_int_equal(kept, a.nnz);
    free(q);
    free(wt);
    sus_mask_free(&a);
    sus_mask_free(&b);
    sus_mask_free(&c);
    sus_t_problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minc_kept_values),
        cmocka_unit_test(test_c_inf_is_exact),
        cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_waterfill_vs_minc),
        cmocka_unit_test(test_waterfill_ties_and_corners),
        cmocka_unit_test(test_mask_check),
        cmocka_unit_test(test_estimator_double_vs_mpfr),
        cmocka_unit_test(test_mask_reproducible),
    };
    return cmocka_run_group_tests_name("rules_mask_estimator", tests, NULL, NULL);
}
