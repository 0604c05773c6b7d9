/*
 * test_check.c: sus_check_port (sus.h, "Checking one run of another
 * port"), every verdict and every error status:
 *  - the oracle's own estimate passes (MPFR and double oracles), and so
 *    does fast/'s float32 run under its own streaming mask at u = 2^-24,
 *    an independent implementation, with --canonical (borderline allowed);
 *  - one perturbed output element fails that part alone, at that index;
 *    a NaN fails with ratio inf; the worst list is sorted and short;
 *  - a W~ off the rule (one entry, or minc's cap dropped: W~ = 1/c where
 *    W > 1/c) fails W~ alone when the outputs follow the port's mask;
 *  - a wrong seed fails canonical; an entry dropped from the canonical mask
 *    is a mismatch at float64's u and borderline at a coarse u;
 *  - waterfill is checked as waterfill, and fails as minc;
 *  - a malformed mask fails as such and nothing else is compared;
 *  - bad arguments return their status; sus_canonical_uniforms agrees with
 *    sus_canonical_uniform element by element.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_fast.h"

typedef struct run {
    sus_mask mk;
    sus_grads g; /* the port's outputs */
} run;

static sus_check_opts opts(double c, double u)
{
    sus_check_opts o = {&sus_rule_minc, c, u, 0, 0, 0};
    return o;
}

/* A float64 problem with normal inputs, owned by t. */
static void problem(sus_tf_problem *t, sus_shape sh, int causal, uint64_t seed,
                    sus_dtype dt)
{
    assert_int_equal(sus_tf_alloc(t, sh, dt, causal), 0);
    sus_t_rng r = {seed};
    sus_tf_fill(t, &r, 1.0);
}

/* The port: the oracle's double estimate under mk (the canonical mask of
 * seed when mk is empty). */
static void oracle_run(const sus_attn *a, const sus_rule *rule, double c, uint64_t seed,
                       run *out)
{
    sus_error err;
    if (!out->mk.indptr)
        assert_int_equal(sus_ref_mask(a, rule, c, seed, &out->mk, &err), SUS_OK);
    sus_sizes z;
    assert_int_equal(sus_shape_sizes(&a->shape, &z, &err), SUS_OK);
    sus_grads g = {calloc(z.o, 8), calloc(z.rows, 8), calloc(z.q, 8), calloc(z.k, 8),
                   calloc(z.v, 8)};
    int rc = sus_ref_estimate(a, &out->mk, &g, &err);
    if (rc)
        fail_msg("sus_ref_estimate: %s", err.msg);
    free(out->g.dq);
    free(out->g.dk);
    free(out->g.dv);
    free(g.o);
    free(g.lse);
    out->g = (sus_grads){NULL, NULL, g.dq, g.dk, g.dv};
}

static void run_free(run *r)
{
    sus_mask_free(&r->mk);
    free(r->g.dq);
    free(r->g.dk);
    free(r->g.dv);
}

static sus_check_report check(const sus_attn *a, const run *r, const sus_check_opts *o)
{
    sus_check_report rep;
    sus_error err;
    int rc = sus_check_port(a, &r->mk, r->g.dq, r->g.dk, r->g.dv, o, &rep, &err);
    if (rc)
        fail_msg("sus_check_port: status %d: %s", rc, err.msg);
    return rep;
}

/* Exactly the parts in `failing` (bit p for part p) failed. */
static void assert_failed_parts(const sus_check_report *rep, unsigned failing,
                                const char *what)
{
    for (int p = 0; p < SUS_CHECK_PARTS; p++) {
        int failed = rep->part[p].failed > 0;
        if (failed != !!(failing & (1u << p)))
            fail_msg("%s: part %s failed %zu of %zu (worst ratio %g), expected %s",
                     what, sus_check_part_name((sus_check_part)p), rep->part[p].failed,
                     rep->part[p].count,
                     rep->part[p].nworst ? rep->part[p].worst[0].ratio : 0.0,
                     failing & (1u << p) ? "a failure" : "none");
    }
}

#define BIT(p) (1u << (p))

static void test_oracle_passes(void **state)
{
    (void)state;
    const sus_shape sh = {2, 2, 9, 11, 5, 3};
    for (int causal = 0; causal < 2; causal++) {
        sus_tf_problem t;
        problem(&t, sh, causal, 11 + (uint64_t)causal, SUS_DTYPE_F8);
        const double cs[3] = {1.0, 4.0, INFINITY};
        for (int ci = 0; ci < 3; ci++) {
            run r = {{0}, {0}};
            uint64_t seed = 0x100000007ull + (uint64_t)ci;
            oracle_run(&t.p.a, &sus_rule_minc, cs[ci], seed, &r);
            for (long prec = 0; prec <= 256; prec += 256) {
                sus_check_opts o = opts(cs[ci], 0x1p-53);
                o.canonical = 1;
                o.seed = seed;
                o.prec = prec;
                sus_check_report rep = check(&t.p.a, &r, &o);
                assert_true(rep.mask_ok);
                assert_failed_parts(&rep, 0, "oracle");
                assert_int_equal(rep.canon_same, r.mk.nnz);
                assert_int_equal(rep.canon_borderline + rep.canon_mismatch, 0);
                assert_int_equal(rep.part[SUS_CHECK_WTILDE].count, (size_t)r.mk.nnz);
                assert_int_equal(rep.part[SUS_CHECK_DQ].count, t.p.z.q);
                assert_int_equal(rep.part[SUS_CHECK_DV].count, t.p.z.v);
                assert_true(rep.pass);
                /* the double oracle is the port itself: bit for bit */
                if (prec == 0)
                    assert_true(rep.part[SUS_CHECK_DK].worst[0].ratio == 0.0);
            }
            run_free(&r);
        }
        sus_tf_free(&t);
    }
}

/* fast/ in float32: its own forward, sampler and sparse backward. */
static void test_fast_f32_passes(void **state)
{
    (void)state;
    const sus_shape sh = {1, 2, 33, 40, 8, 8};
    sus_fast_config cfg = {1, SUS_SIMD_AUTO, 0, 0};
    sus_fast_ctx *ctx;
    sus_error err;
    assert_int_equal(sus_fast_ctx_new(&cfg, &ctx, &err), SUS_OK);
    for (int causal = 0; causal < 2; causal++) {
        sus_tf_problem t;
        problem(&t, sh, causal, 21 + (uint64_t)causal, SUS_DTYPE_F4);
        float *o = calloc(t.p.z.o, 4), *lse = calloc(t.p.z.rows, 4);
        float *dq = calloc(t.p.z.q, 4), *dk = calloc(t.p.z.k, 4),
              *dv = calloc(t.p.z.v, 4);
        uint64_t seed = 99;
        assert_int_equal(sus_fast_forward(ctx, &t.fp, 3.0, seed, o, lse, NULL, &err),
                         0);
        const sus_mask *fm = sus_fast_mask(ctx);
        assert_int_equal(sus_fast_sus_backward(ctx, &t.fp, fm, o, dq, dk, dv, &err), 0);
        run r = {{0},
                 {calloc(1, 8), calloc(1, 8), calloc(t.p.z.q, 8), calloc(t.p.z.k, 8),
                  calloc(t.p.z.v, 8)}};
        for (size_t i = 0; i < t.p.z.q; i++)
            r.g.dq[i] = dq[i];
        for (size_t i = 0; i < t.p.z.k; i++)
            r.g.dk[i] = dk[i];
        for (size_t i = 0; i < t.p.z.v; i++)
            r.g.dv[i] = dv[i];
        sus_check_opts op = opts(3.0, 0x1p-24);
        op.canonical = 1;
        op.seed = seed;
        sus_check_report rep = check(&t.p.a, &(run){*fm, r.g}, &op);
        assert_failed_parts(&rep, 0, "fast f32");
        assert_int_equal(rep.canon_mismatch, 0);
        assert_true(rep.pass);
        assert_true(rep.part[SUS_CHECK_DQ].worst[0].ratio > 0.0);
        /* the same run judged at float64's u is not float64-accurate */
        op.u = 0x1p-53;
        rep = check(&t.p.a, &(run){*fm, r.g}, &op);
        assert_false(rep.pass);
        assert_true(rep.part[SUS_CHECK_DQ].failed > 0);
        free(r.g.o);
        free(r.g.lse);
        free(r.g.dq);
        free(r.g.dk);
        free(r.g.dv);
        free(o), free(lse), free(dq), free(dk), free(dv);
        sus_tf_free(&t);
    }
    sus_fast_ctx_free(ctx);
}

static void test_output_failures(void **state)
{
    (void)state;
    const sus_shape sh = {1, 2, 8, 8, 4, 4};
    sus_tf_problem t;
    problem(&t, sh, 1, 31, SUS_DTYPE_F8);
    run r = {{0}, {0}};
    oracle_run(&t.p.a, &sus_rule_minc, 2.0, 5, &r);
    sus_check_opts o = opts(2.0, 0x1p-53);
    /* one element off by 1e-9 relative: far outside tau k u |y|_mag */
    const size_t at = 13;
    double keep = r.g.dk[at];
    r.g.dk[at] *= 1.0 + 1e-9;
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_false(rep.pass);
    assert_failed_parts(&rep, BIT(SUS_CHECK_DK), "dK perturbed");
    assert_int_equal(rep.part[SUS_CHECK_DK].failed, 1);
    assert_int_equal(rep.part[SUS_CHECK_DK].worst[0].index, at);
    assert_true(rep.part[SUS_CHECK_DK].worst[0].ratio > 1.0);
    assert_true(rep.part[SUS_CHECK_DK].worst[0].port == r.g.dk[at]);
    /* the list is short and sorted */
    const sus_check_stats *st = &rep.part[SUS_CHECK_DK];
    assert_int_equal(st->nworst, SUS_CHECK_WORST);
    for (size_t w = 1; w < st->nworst; w++)
        assert_true(st->worst[w - 1].ratio >= st->worst[w].ratio);
    r.g.dk[at] = keep;
    /* a NaN and an infinity */
    r.g.dv[2] = NAN;
    r.g.dq[0] = INFINITY;
    rep = check(&t.p.a, &r, &o);
    assert_failed_parts(&rep, BIT(SUS_CHECK_DV) | BIT(SUS_CHECK_DQ), "nan, inf");
    assert_true(isinf(rep.part[SUS_CHECK_DV].worst[0].ratio));
    assert_int_equal(rep.part[SUS_CHECK_DV].worst[0].index, 2);
    assert_int_equal(rep.part[SUS_CHECK_DQ].worst[0].index, 0);
    run_free(&r);
    sus_tf_free(&t);
}

/* The largest kept W~ of the mask: at c = 2 it is some W > 1/c. */
static int64_t largest_entry(const sus_mask *mk)
{
    int64_t best = 0;
    for (int64_t e = 1; e < mk->nnz; e++)
        if (mk->wtilde[e] > mk->wtilde[best])
            best = e;
    return best;
}

static void test_wtilde_failures(void **state)
{
    (void)state;
    const sus_shape sh = {1, 1, 12, 12, 4, 4};
    sus_tf_problem t;
    problem(&t, sh, 0, 41, SUS_DTYPE_F8);
    const double c = 2.0;
    sus_check_opts o = opts(c, 0x1p-53);
    o.canonical = 1;
    o.seed = 8;
    /* one W~ off by 1e-9 relative, the outputs computed under it */
    run r = {{0}, {0}};
    assert_int_equal(sus_ref_mask(&t.p.a, &sus_rule_minc, c, 8, &r.mk, NULL), SUS_OK);
    int64_t e = largest_entry(&r.mk);
    assert_true(r.mk.wtilde[e] > 1.0 / c);
    r.mk.wtilde[e] *= 1.0 + 1e-9;
    oracle_run(&t.p.a, &sus_rule_minc, c, 8, &r);
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_false(rep.pass);
    assert_failed_parts(&rep, BIT(SUS_CHECK_WTILDE), "one W~");
    assert_int_equal(rep.part[SUS_CHECK_WTILDE].failed, 1);
    assert_int_equal(rep.part[SUS_CHECK_WTILDE].worst[0].index, (size_t)e);
    assert_int_equal(rep.canon_mismatch, 0);
    /* minc's cap dropped: q = c W unclamped, so W~ = W/q = 1/c everywhere */
    size_t above = 0;
    for (int64_t f = 0; f < r.mk.nnz; f++) {
        above += r.mk.wtilde[f] > 1.0 / c;
        r.mk.wtilde[f] = 1.0 / c;
    }
    assert_true(above > 0);
    oracle_run(&t.p.a, &sus_rule_minc, c, 8, &r);
    rep = check(&t.p.a, &r, &o);
    assert_failed_parts(&rep, BIT(SUS_CHECK_WTILDE), "cap dropped");
    assert_int_equal(rep.part[SUS_CHECK_WTILDE].failed, above);
    run_free(&r);
    sus_tf_free(&t);
}

/* Removes entry e of mk. */
static void drop_entry(sus_mask *mk, int64_t e)
{
    memmove(mk->indices + e, mk->indices + e + 1, (size_t)(mk->nnz - e - 1) * 8);
    memmove(mk->wtilde + e, mk->wtilde + e + 1, (size_t)(mk->nnz - e - 1) * 8);
    for (int64_t r = 0; r < mk->rows; r++)
        if (mk->indptr[r + 1] > e)
            mk->indptr[r + 1]--;
    mk->nnz--;
}

static void test_canonical(void **state)
{
    (void)state;
    const sus_shape sh = {1, 2, 10, 10, 4, 4};
    sus_tf_problem t;
    problem(&t, sh, 1, 51, SUS_DTYPE_F8);
    run r = {{0}, {0}};
    oracle_run(&t.p.a, &sus_rule_minc, 1.0, 3, &r);
    sus_check_opts o = opts(1.0, 0x1p-53);
    o.canonical = 1;
    o.seed = 4; /* not the port's seed */
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_false(rep.pass);
    assert_failed_parts(&rep, 0, "wrong seed");
    assert_true(rep.canon_mismatch > 0);
    assert_int_equal(rep.nmismatch, rep.canon_mismatch < SUS_CHECK_LISTED
                                        ? (size_t)rep.canon_mismatch
                                        : SUS_CHECK_LISTED);
    /* each listed mismatch is a real disagreement of u < q with the port */
    for (size_t l = 0; l < rep.nmismatch; l++) {
        const sus_check_entry *m = &rep.mismatch[l];
        double u;
        assert_int_equal(sus_canonical_uniform(4, m->b, m->h, m->i, m->j, &u), 0);
        assert_true(u == m->u);
        assert_int_equal(m->port_kept, !(u < m->q));
        assert_true(fabs(u - m->q) > m->band);
    }
    /* Drop a kept entry with q < 1 (c = 1: every kept entry of a row with
     * two or more keys has W < 1), recompute the outputs under it. */
    int64_t e = r.mk.indptr[2 * sh.n - 1]; /* head 1, last row: 10 keys */
    assert_true(r.mk.indptr[2 * sh.n] > e);
    drop_entry(&r.mk, e);
    oracle_run(&t.p.a, &sus_rule_minc, 1.0, 3, &r);
    o.seed = 3;
    rep = check(&t.p.a, &r, &o);
    assert_int_equal(rep.canon_mismatch, 1);
    assert_int_equal(rep.mismatch[0].port_kept, 0);
    assert_int_equal(rep.mismatch[0].i, sh.n - 1);
    assert_int_equal(rep.mismatch[0].h, 1);
    assert_false(rep.pass);
    /* at a coarse unit roundoff the band covers the whole of [0, q]: the
     * same entry becomes borderline, listed, and the check passes */
    o.u = 0.01;
    rep = check(&t.p.a, &r, &o);
    assert_int_equal(rep.canon_mismatch, 0);
    assert_int_equal(rep.canon_borderline, 1);
    assert_int_equal(rep.nborderline, 1);
    assert_true(rep.borderline[0].band >=
                fabs(rep.borderline[0].u - rep.borderline[0].q));
    assert_true(rep.pass);
    run_free(&r);
    sus_tf_free(&t);
}

static void test_waterfill(void **state)
{
    (void)state;
    const sus_shape sh = {1, 1, 12, 16, 4, 4};
    sus_tf_problem t;
    problem(&t, sh, 0, 61, SUS_DTYPE_F8);
    run r = {{0}, {0}};
    oracle_run(&t.p.a, &sus_rule_waterfill, 3.0, 9, &r);
    sus_check_opts o = opts(3.0, 0x1p-53);
    o.rule = &sus_rule_waterfill;
    o.canonical = 1;
    o.seed = 9;
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_true(rep.pass);
    o.rule = NULL; /* minc */
    rep = check(&t.p.a, &r, &o);
    assert_false(rep.pass);
    assert_true(rep.part[SUS_CHECK_WTILDE].failed > 0);
    run_free(&r);
    sus_tf_free(&t);
}

static void test_malformed_mask(void **state)
{
    (void)state;
    const sus_shape sh = {1, 1, 6, 6, 3, 3};
    sus_tf_problem t;
    problem(&t, sh, 1, 71, SUS_DTYPE_F8);
    run r = {{0}, {0}};
    oracle_run(&t.p.a, &sus_rule_minc, INFINITY, 0, &r);
    sus_check_opts o = opts(INFINITY, 0x1p-53);
    /* row 5 keeps keys 0..5; swap two: not ascending */
    int64_t e = r.mk.indptr[5];
    r.mk.indices[e] = 1;
    r.mk.indices[e + 1] = 0;
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_false(rep.pass);
    assert_false(rep.mask_ok);
    assert_non_null(strstr(rep.mask_msg, "not strictly ascending"));
    for (int p = 0; p < SUS_CHECK_PARTS; p++)
        assert_int_equal(rep.part[p].count, 0);
    /* beyond the causal limit (the mask is read as a causal one) */
    r.mk.indices[e] = 0;
    r.mk.indices[e + 1] = 1;
    r.mk.indices[r.mk.indptr[1] - 1] = 3; /* row 0 keeps only key 0 */
    rep = check(&t.p.a, &r, &o);
    assert_false(rep.mask_ok);
    assert_non_null(strstr(rep.mask_msg, "causal"));
    run_free(&r);
    sus_tf_free(&t);
}

/* Logits beyond double's range in magnitude: |S|_mag = DBL_MAX makes
 * cond = 1 + |S|_mag + sigma overflow to inf. An entry whose weight is 0
 * (q = W~ = 0) still gets the finite bound tiny and band tiny max(q/W~),
 * not inf * 0 = NaN (found by fuzz/check_port). */
static void test_overflowing_cond(void **state)
{
    (void)state;
    const sus_shape sh = {1, 1, 1, 2, 1, 1};
    sus_tf_problem t;
    assert_int_equal(sus_tf_alloc(&t, sh, SUS_DTYPE_F8, 0), 0);
    t.p.q[0] = 1.0;
    t.p.k[1] = 1.0; /* S = (0, -DBL_MAX): W = (1, 0) */
    t.p.v[0] = 1.0;
    t.p.v[1] = 2.0;
    t.p.dout[0] = 1.0;
    t.p.a.scale = -DBL_MAX;
    sus_tf_sync(&t);
    /* the port keeps key 1 too, with W~ = half the smallest normal */
    run r = {{1, 2, calloc(2, 8), calloc(2, 8), calloc(2, 8)}, {0}};
    r.mk.indptr[1] = 2;
    r.mk.indices[1] = 1;
    r.mk.wtilde[0] = 1.0;
    r.mk.wtilde[1] = DBL_MIN / 2;
    oracle_run(&t.p.a, &sus_rule_minc, 2.0, 0, &r);
    sus_check_opts o = opts(2.0, 0x1p-53);
    o.canonical = 1;
    sus_check_report rep = check(&t.p.a, &r, &o);
    assert_true(rep.mask_ok);
    assert_failed_parts(&rep, 0, "W~ of a zero weight within tiny");
    const sus_check_stats *st = &rep.part[SUS_CHECK_WTILDE];
    assert_int_equal(st->nworst, 2);
    assert_int_equal(st->worst[0].index, 1); /* ratio 1/2, then entry 0's 0 */
    assert_true(st->worst[0].bound == DBL_MIN);
    assert_true(st->worst[0].ratio == 0.5);
    /* key 1 has q = 0: kept by the port only, a mismatch outside the band
     * tiny q_0/W~_0 = DBL_MIN */
    assert_int_equal(rep.canon_mismatch, 1);
    assert_int_equal(rep.mismatch[0].j, 1);
    assert_true(rep.mismatch[0].q == 0.0);
    assert_true(rep.mismatch[0].band == DBL_MIN);
    assert_false(rep.pass);
    run_free(&r);
    sus_tf_free(&t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const sus_shape sh = {1, 1, 4, 4, 2, 2};
    sus_tf_problem t;
    problem(&t, sh, 0, 81, SUS_DTYPE_F8);
    run r = {{0}, {0}};
    oracle_run(&t.p.a, &sus_rule_minc, 2.0, 0, &r);
    sus_check_report rep;
    sus_error err;
    sus_check_opts o = opts(2.0, 0x1p-53);
    const sus_attn *a = &t.p.a;
    assert_int_equal(sus_check_port(a, NULL, r.g.dq, r.g.dk, r.g.dv, &o, &rep, &err),
                     SUS_ERR_INVAL);
    assert_int_equal(sus_check_port(a, &r.mk, r.g.dq, NULL, r.g.dv, &o, &rep, &err),
                     SUS_ERR_INVAL);
    assert_int_equal(sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, NULL, &rep, &err),
                     SUS_ERR_INVAL);
    const double bad_c[3] = {0.0, -1.0, NAN}, bad_u[4] = {0.0, 1.0, -0.5, NAN};
    for (int i = 0; i < 3; i++) {
        sus_check_opts b = opts(bad_c[i], 0x1p-53);
        assert_int_equal(
            sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, &b, &rep, &err),
            SUS_ERR_INVAL);
        assert_non_null(strstr(err.msg, "budget"));
    }
    for (int i = 0; i < 4; i++) {
        sus_check_opts b = opts(2.0, bad_u[i]);
        assert_int_equal(
            sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, &b, &rep, &err),
            SUS_ERR_INVAL);
        assert_non_null(strstr(err.msg, "unit roundoff"));
    }
    sus_check_opts b = opts(2.0, 0x1p-53);
    b.prec = 10;
    assert_int_equal(sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, &b, &rep, &err),
                     SUS_ERR_INVAL);
    r.mk.rows--;
    assert_int_equal(sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, &o, &rep, &err),
                     SUS_ERR_SHAPE);
    r.mk.rows++;
    t.p.q[1] = NAN; /* the problem is refused as the reference refuses it */
    assert_int_equal(sus_check_port(a, &r.mk, r.g.dq, r.g.dk, r.g.dv, &o, &rep, &err),
                     SUS_ERR_NONFINITE);
    assert_string_equal(sus_check_part_name(SUS_CHECK_DV), "dV");
    assert_string_equal(sus_check_part_name(SUS_CHECK_PARTS), "?");
    run_free(&r);
    sus_tf_free(&t);
}

static void test_uniforms(void **state)
{
    (void)state;
    const sus_shape sh = {2, 3, 4, 5, 1, 1};
    double u[2 * 3 * 4 * 5];
    sus_error err;
    uint64_t seed = 0xfedcba9876543210ull;
    assert_int_equal(sus_canonical_uniforms(seed, &sh, u, &err), SUS_OK);
    size_t t = 0;
    for (int64_t b = 0; b < sh.B; b++)
        for (int64_t h = 0; h < sh.H; h++)
            for (int64_t i = 0; i < sh.n; i++)
                for (int64_t j = 0; j < sh.m; j++) {
                    double want;
                    assert_int_equal(sus_canonical_uniform(seed, b, h, i, j, &want), 0);
                    assert_true(u[t++] == want);
                }
    assert_int_equal(sus_canonical_uniforms(seed, &sh, NULL, &err), SUS_ERR_INVAL);
    const sus_shape bad = {1, 1, 0, 5, 1, 1};
    assert_int_equal(sus_canonical_uniforms(seed, &bad, u, &err), SUS_ERR_SHAPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle_passes),   cmocka_unit_test(test_fast_f32_passes),
        cmocka_unit_test(test_output_failures), cmocka_unit_test(test_wtilde_failures),
        cmocka_unit_test(test_canonical),       cmocka_unit_test(test_waterfill),
        cmocka_unit_test(test_malformed_mask),  cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_uniforms),        cmocka_unit_test(test_overflowing_cond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
