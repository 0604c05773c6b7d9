/*
 * test_fast_mask.c: fast/'s forward and its fused streaming sampler
 * (sus_fast_forward, sus_fast_mask) against the reference:
 *  - O and lse within the DESIGN.md 3 bound of the exact forward (MPFR for
 *    float64, the double reference for float32, on the same float-rounded
 *    inputs), for every budget;
 *  - the mask equals the canonical minc mask of DESIGN.md 2.4 except at
 *    borderline entries (support_fast.h says how they are recognized);
 *    float64 must have none; kept W~ within the bound of max(W, 1/c);
 *    counted and reported; over random shapes (B, H in 1..2; n, m in
 *    1..70; d, dv in 1..16), causal and not, c in {0.5, 1, 3, 32, inf},
 *    several seeds (some above 2^32), float64 and float32, moderate and
 *    peaked logits, positive, negative and zero scales;
 *  - the pruning bound of the streaming sampler: on logits that grow along
 *    the row (every key would stay a candidate without pruning),
 *    max_in_flight stays within c + block_k + a tail slack, and the mask
 *    is still the canonical one; the reversed row for contrast;
 *  - c = 0 runs the forward alone with an empty mask; bad budgets fail;
 *  - every SIMD level this CPU supports and tile sizes {1, 7, 64} x
 *    {1, 13, 256}: the same checks (masks then differ from one another
 *    only at borderline entries, as each differs from the canonical one
 *    only there).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_fast.h"

static const double budgets[] = {0.5, 1.0, 3.0, 32.0, INFINITY};
#define NBUDGETS (sizeof budgets / sizeof budgets[0])
static const sus_dtype dtypes[2] = {SUS_DTYPE_F8, SUS_DTYPE_F4};

/* The most entries kept in one row. */
static int64_t max_row_nnz(const sus_mask *mk)
{
    int64_t most = 0;
    for (int64_t r = 0; r < mk->rows; r++)
        if (mk->indptr[r + 1] - mk->indptr[r] > most)
            most = mk->indptr[r + 1] - mk->indptr[r];
    return most;
}

/* One forward on ctx with every check; borderline counts into acc. */
static void forward_and_check(sus_fast_ctx *ctx, sus_tf_problem *t, sus_tf_out *o,
                              double c, uint64_t seed, int no_dout, const char *what,
                              sus_tf_border *acc)
{
    sus_fast_problem fp = t->fp;
    if (no_dout)
        fp.dout = NULL;
    sus_tf_out_poison(o, t);
    sus_fast_stats st = {-1, -1, -1};
    sus_error err;
    int rc = sus_fast_forward(ctx, &fp, c, seed, o->o, o->lse, &st, &err);
    if (rc != SUS_OK)
        fail_msg("%s: sus_fast_forward(c %g): status %d: %s", what, c, rc, err.msg);
    check_forward(t, o, what);
    const sus_mask *mk = sus_fast_mask(ctx);
    check_mask(t, c, seed, mk, acc, what);
    /* Every kept entry was a candidate, and all of a row's kept entries
     * are in flight together at its end (c = inf may skip the sampler). */
    if (st.nnz != mk->nnz ||
        (!isinf(c) && (st.candidates < mk->nnz || st.max_in_flight < max_row_nnz(mk))))
        fail_msg(
            "%s: stats nnz %" PRId64 " candidates %" PRId64 " max_in_flight %" PRId64
            " for a mask of %" PRId64 " entries, at most %" PRId64 " in a row",
            what, st.nnz, st.candidates, st.max_in_flight, mk->nnz, max_row_nnz(mk));
    if (isinf(c))
        assert_int_equal(mk->nnz, sus_tf_allowed(t));
}

static void test_mask_random(void **state)
{
    (void)state;
    sus_t_rng r = {0x3a5c};
    const int cases = sus_t_quick() ? 3 : 24;
    const int nseeds = sus_t_quick() ? 1 : 2;
    sus_tf_border acc[2] = {{0, 0, 0.0}, {0, 0, 0.0}};
    int64_t forwards = 0;
    /* Threads change nothing (test_fast_grad checks bit identity), and
     * OpenMP's waits cost far more than these small problems on a loaded
     * 2-core machine: most cases run on one thread, every fourth on two. */
    sus_fast_ctx *ctx1 = sus_tf_new_ctx(1, SUS_SIMD_AUTO, 0, 0);
    sus_fast_ctx *ctx2 = sus_tf_new_ctx(2, SUS_SIMD_AUTO, 0, 0);
    for (int cs = 0; cs < cases; cs++) {
        sus_fast_ctx *ctx = cs % 4 == 3 ? ctx2 : ctx1;
        sus_shape sh = sus_t_random_shape(&r, 2, 70, 16);
        int causal = cs & 1;
        /* mostly moderate logits; every fifth case peaked (weights down to
         * e^-100 and below); some cases with a negative or zero scale */
        double sd = cs % 5 == 4 ? 4.0 : 0.5 + 2.0 * sus_t_uniform(&r);
        double scale = sus_default_scale(sh.d) * (cs % 6 == 5   ? -0.8
                                                  : cs % 6 == 2 ? 0.0
                                                                : 1.0);
        uint64_t fill_seed = sus_t_next(&r), seed0 = sus_t_next(&r);
        for (int di = 0; di < 2; di++) {
            sus_tf_problem t;
            sus_tf_out o;
            assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], causal), 0);
            assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
            sus_t_rng fr = {fill_seed};
            t.p.a.scale = scale;
            sus_tf_fill(&t, &fr, sd);
            sus_tf_exact_grad(&t);
            for (size_t ci = 0; ci < NBUDGETS; ci++)
                for (int s = 0; s < nseeds; s++) {
                    uint64_t seed = s ? seed0 : seed0 & 0xffffffffu;
                    char what[160];
                    snprintf(what, sizeof what,
                             "case %d shape (%lld %lld %lld %lld %lld %lld)%s", cs,
                             (long long)sh.B, (long long)sh.H, (long long)sh.n,
                             (long long)sh.m, (long long)sh.d, (long long)sh.dv,
                             causal ? " causal" : "");
                    forward_and_check(ctx, &t, &o, budgets[ci], seed,
                                      (int)((cs + s) & 2), what, &acc[di]);
                    forwards++;
                }
            sus_tf_out_free(&o);
            sus_tf_free(&t);
        }
    }
    sus_fast_ctx_free(ctx1);
    sus_fast_ctx_free(ctx2);
    print_message(
        "%" PRId64 " forwards: f64 %" PRId64 " borderline mismatches in %" PRId64
        " kept entries; f32 %" PRId64 " in %" PRId64 " (worst |u - q| %.3g of "
        "the band)\n",
        forwards, acc[0].count, acc[0].kept, acc[1].count, acc[1].kept, acc[1].worst);
    assert_int_equal(acc[0].count, 0);
    assert_true(acc[0].kept > 0 && acc[1].kept > 0);
}

/*
 * The pruning bound. One head, n rows of m = 4096 keys (1024 under
 * Valgrind), d = 2, scale 1:
 * S_ij = (1 + i/10) g j plus noise of about 0.05, with g = 0.05 (growing)
 * or g = -0.05 (the reversed row). On the growing row every key is the
 * running maximum when it is swept, so without pruning a key becomes a
 * candidate with probability min(1, c exp(S_ij - lse_run)), about c/20
 * for c < 20, and all of them stay. The test counts those would-be
 * candidates from the canonical u (unpruned) and requires them to exceed
 * the bound, so the input really tests pruning.
 *
 * After pruning at a key-block boundary, the survivors of row i are the
 * keys j swept so far with u_ij < min(1, c exp(S_ij - lse_run)): a sum of
 * independent Bernoulli variables (the u_ij are independent) with mean
 * sum_j min(1, c W_run,ij) <= c. The new block adds at most block_k. By
 * Bernstein, P(X >= c + t) <= exp(-t^2 / (2 (c + t/3))); with x = 27.7,
 * t = x/3 + sqrt(x^2/9 + 2 x c) makes that <= 1e-12 per (row, boundary),
 * under 1e-8 over all of them. So max_in_flight <= c + block_k + t.
 */
#define PRUNE_BK 32

static double prune_slack(double c)
{
    const double x = 27.7;
    return x / 3.0 + sqrt(x * x / 9.0 + 2.0 * x * c);
}

/* Keys that would be candidates (in flight at the end of the row) without
 * pruning, from the canonical u and the running normalizer in double. */
static int64_t unpruned_candidates(const sus_tf_problem *t, double c, uint64_t seed)
{
    const sus_attn *a = &t->p.a;
    const int64_t n = a->shape.n, m = a->shape.m, d = a->shape.d;
    int64_t most = 0;
    for (int64_t i = 0; i < n; i++) {
        double M = -INFINITY, Z = 0.0;
        int64_t cand = 0;
        for (int64_t j = 0; j < m; j++) {
            double S = 0.0;
            for (int64_t x = 0; x < d; x++)
                S += a->q[i * d + x] * a->k[j * d + x];
            S *= a->scale;
            if (S > M) {
                Z = Z * exp(M - S) + 1.0;
                M = S;
            } else {
                Z += exp(S - M);
            }
            double u;
            assert_int_equal(sus_canonical_uniform(seed, 0, 0, i, j, &u), SUS_OK);
            cand += u < fmin(1.0, c * exp(S - M - log(Z)));
        }
        most = cand > most ? cand : most;
    }
    return most;
}

static void test_pruning_bound(void **state)
{
    (void)state;
    /* under Valgrind (quick): fewer rows and keys, the same checks */
    static const int64_t rows_q[] = {8}, rows_full[] = {1, 3, 8};
    const int64_t *rows = sus_t_quick() ? rows_q : rows_full;
    const int nrows = sus_t_quick() ? 1 : 3;
    const int64_t M = sus_t_quick() ? 1024 : 4096;
    static const double cs[] = {1.0, 4.0, 32.0};
    sus_fast_ctx *ctx = sus_tf_new_ctx(2, SUS_SIMD_AUTO, 0, PRUNE_BK);
    for (int ri = 0; ri < nrows; ri++)
        for (int di = 0; di < 2; di++)
            for (int grow = 1; grow >= 0; grow--) {
                sus_shape sh = {1, 1, rows[ri], M, 2, 2};
                sus_tf_problem t;
                sus_tf_out o;
                assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], 0), 0);
                assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
                sus_t_rng r = {77u + (uint64_t)ri};
                sus_tf_fill(&t, &r, 1.0);
                const double g = grow ? 0.05 : -0.05;
                for (int64_t i = 0; i < sh.n; i++) {
                    t.p.q[i * 2] = 1.0 + 0.1 * (double)i;
                    t.p.q[i * 2 + 1] = 0.05 * sus_t_normal(&r);
                }
                for (int64_t j = 0; j < M; j++) {
                    t.p.k[j * 2] = g * (double)j;
                    t.p.k[j * 2 + 1] = sus_t_normal(&r);
                }
                t.p.a.scale = 1.0;
                sus_tf_sync(&t);
                sus_tf_exact_grad(&t);
                for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
                    const double c = cs[ci];
                    const uint64_t seed = 1000u + (uint64_t)ci;
                    char what[128];
                    snprintf(what, sizeof what, "pruning n %lld %s c %g",
                             (long long)sh.n, grow ? "growing" : "reversed", c);
                    sus_fast_stats st;
                    sus_error err;
                    sus_tf_out_poison(&o, &t);
                    int rc =
                        sus_fast_forward(ctx, &t.fp, c, seed, o.o, o.lse, &st, &err);
                    if (rc != SUS_OK)
                        fail_msg("%s: status %d: %s", what, rc, err.msg);
                    check_forward(&t, &o, what);
                    int64_t border =
                        check_mask(&t, c, seed, sus_fast_mask(ctx), NULL, what);
                    double bound = c + PRUNE_BK + prune_slack(c);
                    int64_t unpruned = unpruned_candidates(&t, c, seed);
                    if (di == 0)
                        print_message("%s: max_in_flight %" PRId64
                                      " (bound %.1f; %" PRId64
                                      " without pruning), candidates %" PRId64
                                      ", nnz %" PRId64 ", %" PRId64 " borderline\n",
                                      what, st.max_in_flight, bound, unpruned,
                                      st.candidates, st.nnz, border);
                    if ((double)st.max_in_flight > bound)
                        fail_msg("%s %s: max_in_flight %" PRId64
                                 " > c + block_k + slack "
                                 "= %.1f (%" PRId64 " candidates in all)",
                                 what, sus_tf_name(t.dtype), st.max_in_flight, bound,
                                 st.candidates);
                    /* the growing row must be a real test of pruning */
                    if (grow && !((double)unpruned > bound))
                        fail_msg("%s: only %" PRId64 " unpruned candidates, bound %.1f",
                                 what, unpruned, bound);
                }
                sus_tf_out_free(&o);
                sus_tf_free(&t);
            }
    sus_fast_ctx_free(ctx);
}

/* c = 0: the forward alone, no mask (even after a forward that drew one);
 * c < 0 or NaN: SUS_ERR_INVAL. */
static void test_forward_only(void **state)
{
    (void)state;
    sus_t_rng r = {0xc0};
    sus_fast_ctx *ctx = sus_tf_new_ctx(1, SUS_SIMD_AUTO, 0, 0);
    const int cases = sus_t_quick() ? 2 : 8;
    for (int cs = 0; cs < cases; cs++) {
        sus_shape sh = sus_t_random_shape(&r, 2, 70, 16);
        for (int di = 0; di < 2; di++) {
            sus_tf_problem t;
            sus_tf_out o;
            assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], cs & 1), 0);
            assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
            sus_tf_fill(&t, &r, 1.0);
            sus_tf_exact_grad(&t);
            sus_error err;
            /* a mask first, so that a stale one would show */
            assert_int_equal(
                sus_fast_forward(ctx, &t.fp, INFINITY, 5, o.o, o.lse, NULL, &err),
                SUS_OK);
            assert_true(sus_fast_mask(ctx)->nnz > 0);
            sus_fast_problem fp = t.fp;
            fp.dout = NULL;
            sus_fast_stats st = {-1, -1, -1};
            sus_tf_out_poison(&o, &t);
            int rc = sus_fast_forward(ctx, &fp, 0.0, 5, o.o, o.lse, &st, &err);
            if (rc != SUS_OK)
                fail_msg("c = 0: status %d: %s", rc, err.msg);
            check_forward(&t, &o, "c = 0");
            const sus_mask *mk = sus_fast_mask(ctx);
            assert_true(mk == NULL || mk->nnz == 0);
            assert_int_equal(st.nnz, 0);
            assert_int_equal(st.candidates, 0);
            assert_int_equal(st.max_in_flight, 0);
            static const double bad[] = {-1.0, -INFINITY, NAN, -0x1p-1074};
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                rc = sus_fast_forward(ctx, &fp, bad[b], 5, o.o, o.lse, NULL, &err);
                if (rc != SUS_ERR_INVAL)
                    fail_msg("c = %g: status %d, want SUS_ERR_INVAL", bad[b], rc);
            }
            sus_tf_out_free(&o);
            sus_tf_free(&t);
        }
    }
    sus_fast_ctx_free(ctx);
}

/*
 * Inputs built so that q_ij = u_ij up to rounding, to exercise the
 * borderline rule where it matters. One-hot queries (d = n, scale 1) give
 * S_ij = K_j[i]. With K_j[i] = log(u_ij / c) for keys j = 1..a and
 * K_0[i] = log(1 - sum_j u_ij / c) (a "sink" that takes the rest of the
 * row's weight), Z_i = 1 and W_ij = u_ij / c, so q_ij = c W_ij = u_ij in
 * exact arithmetic: whether u_ij < q_ij then depends on the last bits of
 * each implementation's q, in float64 as in float32. Every disagreement
 * must still fall inside the borderline band (for float64 too, here);
 * the counts are reported.
 */
static void test_borderline_adversarial(void **state)
{
    (void)state;
    static const struct {
        double c;
        int64_t a;
    } cfgs[] = {{3.0, 3}, {32.0, 48}};
    const int nseeds = sus_t_quick() ? 1 : 4;
    sus_tf_border acc[2] = {{0, 0, 0.0}, {0, 0, 0.0}};
    int64_t flips[2] = {0, 0};
    sus_fast_ctx *ctx = sus_tf_new_ctx(1, SUS_SIMD_AUTO, 0, 16);
    for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++)
        for (int di = 0; di < 2; di++)
            for (int s = 0; s < nseeds; s++) {
                const double c = cfgs[ci].c;
                const int64_t n = 16, a = cfgs[ci].a, m = a + 1;
                const uint64_t seed = UINT64_C(0x5eed00000000) + (uint64_t)(s * 977);
                sus_shape sh = {2, 1, n, m, n, 2};
                sus_tf_problem t;
                sus_tf_out o;
                assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], 0), 0);
                assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
                sus_t_rng r = {(uint64_t)s};
                sus_tf_fill(&t, &r, 1.0);
                t.p.a.scale = 1.0;
                for (int64_t b = 0; b < 2; b++) {
                    double *Q = t.p.q + b * n * n, *K = t.p.k + b * m * n;
                    for (int64_t i = 0; i < n; i++) {
                        double sum = 0.0;
                        for (int64_t x = 0; x < n; x++)
                            Q[i * n + x] = x == i ? 1.0 : 0.0;
                        for (int64_t j = 1; j < m; j++) {
                            double u;
                            assert_int_equal(
                                sus_canonical_uniform(seed, b, 0, i, j, &u), SUS_OK);
                            u = fmax(u, 0x1p-20); /* keep log(u) moderate */
                            K[j * n + i] = log(u / c);
                            sum += u / c;
                        }
                        assert_true(sum < 0.999);
                        K[i] = log(1.0 - sum);
                    }
                }
                sus_tf_sync(&t);
                sus_tf_exact_grad(&t);
                sus_fast_stats st;
                sus_error err;
                int rc = sus_fast_forward(ctx, &t.fp, c, seed, o.o, o.lse, &st, &err);
                if (rc != SUS_OK)
                    fail_msg("adversarial: status %d: %s", rc, err.msg);
                char what[96];
                snprintf(what, sizeof what, "adversarial c %g seed %d", c, s);
                check_forward(&t, &o, what);
                check_mask_adversarial(&t, c, seed, sus_fast_mask(ctx), &acc[di], what);
                flips[di] += 2 * n * a;
                sus_tf_out_free(&o);
                sus_tf_free(&t);
            }
    sus_fast_ctx_free(ctx);
    print_message(
        "u = q by construction: f64 %" PRId64 " borderline mismatches in %" PRId64
        " entries (worst |u - q| %.3g of the band); f32 %" PRId64 " in %" PRId64
        " (worst %.3g)\n",
        acc[0].count, flips[0], acc[0].worst, acc[1].count, flips[1], acc[1].worst);
}

/* Fixed shapes that reach the tile edges: single entries, n < m and n > m
 * (causal rows that end before the last key and rows with one key). */
static const sus_shape tile_shapes[] = {
    {1, 1, 1, 1, 1, 1},   {2, 1, 37, 70, 5, 3}, {1, 2, 70, 29, 16, 16},
    {1, 1, 65, 65, 8, 1}, {2, 2, 13, 14, 3, 7},
};
#define NTILESHAPES (sizeof tile_shapes / sizeof tile_shapes[0])

static void test_tiles_and_simd(void **state)
{
    (void)state;
    static const sus_simd levels[] = {SUS_SIMD_PORTABLE, SUS_SIMD_AVX2,
                                      SUS_SIMD_AVX512};
    static const int64_t bqs[] = {1, 7, 64}, bks[] = {1, 13, 256};
    /* the required budgets' extremes, and far outside them: almost nothing
     * kept (1e-3), almost everything through the sampler (1e4) */
    static const double tile_budgets[] = {1e-3, 0.5, 3.0, 1e4, INFINITY};
    const size_t nbudgets = sizeof tile_budgets / sizeof tile_budgets[0];
    const size_t nshapes = sus_t_quick() ? 2 : NTILESHAPES;
    sus_tf_border acc[2] = {{0, 0, 0.0}, {0, 0, 0.0}};
    int contexts = 0;
    for (size_t si = 0; si < nshapes; si++)
        for (int di = 0; di < 2; di++) {
            sus_shape sh = tile_shapes[si];
            sus_tf_problem t;
            sus_tf_out o;
            assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], (int)(si & 1)), 0);
            assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
            sus_t_rng r = {0x7e5 + si};
            sus_tf_fill(&t, &r, 1.5);
            sus_tf_exact_grad(&t);
            for (size_t l = 0; l < 3; l++)
                for (size_t a = 0; a < 3; a++)
                    for (size_t b = 0; b < 3; b++) {
                        sus_fast_ctx *ctx =
                            sus_tf_new_ctx(1, levels[l], bqs[a], bks[b]);
                        if (!ctx)
                            continue;
                        contexts += si == 0 && di == 0;
                        for (size_t ci = 0; ci < nbudgets; ci++) {
                            char what[128];
                            snprintf(what, sizeof what, "shape %zu %s tiles %lldx%lld",
                                     si, sus_simd_name(levels[l]), (long long)bqs[a],
                                     (long long)bks[b]);
                            forward_and_check(ctx, &t, &o, tile_budgets[ci],
                                              0xfeedu + si, 0, what, &acc[di]);
                        }
                        sus_fast_ctx_free(ctx);
                    }
            sus_tf_out_free(&o);
            sus_tf_free(&t);
        }
    print_message("%d contexts (simd x tiles): f64 %" PRId64 " borderline in %" PRId64
                  " kept; f32 %" PRId64 " in %" PRId64 "\n",
                  contexts, acc[0].count, acc[0].kept, acc[1].count, acc[1].kept);
    assert_int_equal(acc[0].count, 0);
    assert_true(contexts >= 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_random),
        cmocka_unit_test(test_pruning_bound),
        cmocka_unit_test(test_borderline_adversarial),
        cmocka_unit_test(test_forward_only),
        cmocka_unit_test(test_tiles_and_simd),
    };
    return cmocka_run_group_tests_name("fast_mask", tests, NULL, NULL);
}
