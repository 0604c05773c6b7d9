/*
 * mp_enumerate.c: the estimator's moments by brute force: every mask of the
 * U uncertain entries (0 < q < 1), weighted by its probability, in MPFR.
 *
 * This shares nothing with the closed forms but the exact row quantities
 * (W, dP, D): it sums P(mask) y(mask) and P(mask) y(mask)^2 directly. Masks
 * are visited in Gray-code order so that each step toggles one entry and
 * updates only the outputs that entry touches. Entries with q = 1 form a
 * fixed base; the sums run over the deviation from it, which keeps zero
 * variances exactly zero and limits cancellation in E[y^2] - E[y]^2. The
 * work precision is p + 64 + U bits, so that the 2^U accumulated roundings
 * stay far below 2^-p.
 */
#include <stdlib.h>

#include "../core/internal.h"
#include "mp_moments.h"
#include "ref_internal.h"

typedef struct entry {
    int64_t i, j;
    double q;
    mpfr_t g, w, ell; /* dS~ and W~ when kept; the functional's value */
} entry;

typedef struct sums {
    mpfr_t *y, *s1, *s2; /* current deviation, sum P y, sum P y^2 */
    size_t count;
} sums;

static int sums_init(sums *s, size_t count, mpfr_prec_t pw)
{
    s->count = count;
    s->y = sus_i_mp_new(count, pw);
    s->s1 = sus_i_mp_new(count, pw);
    s->s2 = sus_i_mp_new(count, pw);
    return (s->y && s->s1 && s->s2) ? 0 : -1;
}

static void sums_clear(sums *s)
{
    sus_i_mp_free(s->y, s->count);
    sus_i_mp_free(s->s1, s->count);
    sus_i_mp_free(s->s2, s->count);
}

static void accumulate(sums *s, mpfr_srcptr P, mpfr_t tmp)
{
    for (size_t t = 0; t < s->count; t++) {
        if (mpfr_zero_p(s->y[t]))
            continue;
        mpfr_mul(tmp, P, s->y[t], MPFR_RNDN);
        mpfr_add(s->s1[t], s->s1[t], tmp, MPFR_RNDN);
        mpfr_fma(s->s2[t], tmp, s->y[t], s->s2[t], MPFR_RNDN);
    }
}

/* mean = base + s1, var = s2 - s1^2, at the output precision. */
static void finish(sums *s, mpfr_t *mean, mpfr_t *var, mpfr_t tmp)
{
    for (size_t t = 0; t < s->count; t++) {
        mpfr_add(mean[t], mean[t], s->s1[t], MPFR_RNDN);
        mpfr_sqr(tmp, s->s1[t], MPFR_RNDN);
        mpfr_sub(var[t], s->s2[t], tmp, MPFR_RNDN);
    }
}

/* y += sign * coef * x over len numbers. */
static void axpy(mpfr_t *y, int sign, mpfr_srcptr coef, mpfr_t *x, int64_t len,
                 mpfr_t tmp)
{
    for (int64_t t = 0; t < len; t++) {
        mpfr_mul(tmp, coef, x[t], MPFR_RNDN);
        if (sign > 0)
            mpfr_add(y[t], y[t], tmp, MPFR_RNDN);
        else
            mpfr_sub(y[t], y[t], tmp, MPFR_RNDN);
    }
}

static int64_t count_uncertain(const double *q, int64_t count)
{
    int64_t U = 0;
    for (int64_t t = 0; t < count; t++)
        U += q[t] > 0.0 && q[t] < 1.0;
    return U;
}

int sus_i_mp_head_enumerate(const sus_i_mp_head_in *in, const double *q,
                            const sus_i_mp_functional *R, sus_i_mp_moments *out)
{
    const int64_t n = in->n, m = in->m, d = in->d, dv = in->dv;
    const int64_t U = count_uncertain(q, n * m);
    if (U > SUS_ENUM_MAX_UNCERTAIN)
        return -2;
    const mpfr_prec_t p = mpfr_get_prec(out->fvar);
    const mpfr_prec_t pw = p + 64 + (mpfr_prec_t)U;
    int rc = -1;
    sus_i_mp_row r;
    entry *E = sus_i_calloc_array((size_t)U, sizeof(entry));
    sums sq = {0}, sk = {0}, sv = {0}, sl = {0};
    mpfr_t sg, tmp, P, qq, t1;
    mpfr_inits2(pw, sg, tmp, P, qq, t1, (mpfr_ptr)0);
    int row_ok = sus_i_mp_row_init(&r, m, pw) == 0;
    for (int64_t e = 0; E && e < U; e++)
        mpfr_inits2(pw, E[e].g, E[e].w, E[e].ell, (mpfr_ptr)0);
    if (!E || !row_ok || sums_init(&sq, (size_t)(n * d), pw) ||
        sums_init(&sk, (size_t)(m * d), pw) || sums_init(&sv, (size_t)(m * dv), pw) ||
        sums_init(&sl, 1, pw))
        goto done;

    /* The base (q = 1 entries) goes straight into the means; uncertain
     * entries are recorded with their contributions when kept. */
    for (int64_t t = 0; t < n * d; t++)
        mpfr_set_zero(out->mean.dq[t], 1);
    for (int64_t t = 0; t < m * d; t++)
        mpfr_set_zero(out->mean.dk[t], 1);
    for (int64_t t = 0; t < m * dv; t++)
        mpfr_set_zero(out->mean.dv[t], 1);
    int64_t ne = 0;
    for (int64_t i = 0; i < n; i++) {
        mpfr_t *Qi = in->q + i * d, *dOi = in->dout + i * dv;
        sus_i_mp_row_exact(in, i, &r, out->mean.o + i * dv, out->mean.lse[i], NULL,
                           NULL);
        mpfr_set_zero(out->nnz[i], 1);
        for (int64_t j = 0; j < m; j++) {
            double qij = q[i * m + j];
            if (!(qij > 0.0))
                continue;
            mpfr_set_d(qq, qij, MPFR_RNDN);
            mpfr_add(out->nnz[i], out->nnz[i], qq, MPFR_RNDN);
            entry cur;
            mpfr_inits2(pw, cur.g, cur.w, cur.ell, (mpfr_ptr)0);
            mpfr_div(cur.w, r.W[j], qq, MPFR_RNDN);
            mpfr_sub(t1, r.dP[j], r.D, MPFR_RNDN);
            mpfr_mul(cur.g, cur.w, t1, MPFR_RNDN);
            mpfr_set_zero(cur.ell, 1);
            if (R) {
                if (R->rq)
                    for (int64_t t = 0; t < d; t++)
                        mpfr_fma(cur.ell, R->rq[i * d + t], in->k[j * d + t], cur.ell,
                                 MPFR_RNDN);
                if (R->rk)
                    for (int64_t t = 0; t < d; t++)
                        mpfr_fma(cur.ell, R->rk[j * d + t], Qi[t], cur.ell, MPFR_RNDN);
                mpfr_mul(cur.ell, cur.ell, cur.g, MPFR_RNDN);
                mpfr_mul(cur.ell, cur.ell, in->scale, MPFR_RNDN);
                if (R->rv)
                    for (int64_t t = 0; t < dv; t++) {
                        mpfr_mul(t1, R->rv[j * dv + t], dOi[t], MPFR_RNDN);
                        mpfr_fma(cur.ell, t1, cur.w, cur.ell, MPFR_RNDN);
                    }
            }
            if (qij < 1.0) {
                E[ne].i = i;
                E[ne].j = j;
                E[ne].q = qij;
                mpfr_set(E[ne].g, cur.g, MPFR_RNDN);
                mpfr_set(E[ne].w, cur.w, MPFR_RNDN);
                mpfr_set(E[ne].ell, cur.ell, MPFR_RNDN);
                ne++;
            } else {
                mpfr_mul(sg, cur.g, in->scale, MPFR_RNDN);
                axpy(out->mean.dq + i * d, 1, sg, in->k + j * d, d, tmp);
                axpy(out->mean.dk + j * d, 1, sg, Qi, d, tmp);
                axpy(out->mean.dv + j * dv, 1, cur.w, dOi, dv, tmp);
            }
            mpfr_clears(cur.g, cur.w, cur.ell, (mpfr_ptr)0);
        }
    }

    unsigned char on[SUS_ENUM_MAX_UNCERTAIN] = {0};
    const uint64_t masks = (uint64_t)1 << U;
    for (uint64_t gidx = 0; gidx < masks; gidx++) {
        if (gidx > 0) {
            int e = __builtin_ctzll(gidx);
            on[e] ^= 1;
            int sign = on[e] ? 1 : -1;
            const entry *x = &E[e];
            mpfr_t *Qi = in->q + x->i * d, *dOi = in->dout + x->i * dv;
            mpfr_mul(sg, x->g, in->scale, MPFR_RNDN);
            axpy(sq.y + x->i * d, sign, sg, in->k + x->j * d, d, tmp);
            axpy(sk.y + x->j * d, sign, sg, Qi, d, tmp);
            axpy(sv.y + x->j * dv, sign, x->w, dOi, dv, tmp);
            if (sign > 0)
                mpfr_add(sl.y[0], sl.y[0], x->ell, MPFR_RNDN);
            else
                mpfr_sub(sl.y[0], sl.y[0], x->ell, MPFR_RNDN);
        }
        mpfr_set_ui(P, 1, MPFR_RNDN);
        for (int64_t e = 0; e < U; e++) {
            mpfr_set_d(qq, E[e].q, MPFR_RNDN);
            if (on[e])
                mpfr_mul(P, P, qq, MPFR_RNDN);
            else {
                mpfr_ui_sub(qq, 1, qq, MPFR_RNDN);
                mpfr_mul(P, P, qq, MPFR_RNDN);
            }
        }
        accumulate(&sq, P, tmp);
        accumulate(&sk, P, tmp);
        accumulate(&sv, P, tmp);
        accumulate(&sl, P, tmp);
    }
    finish(&sq, out->mean.dq, out->var.dq, tmp);
    finish(&sk, out->mean.dk, out->var.dk, tmp);
    finish(&sv, out->mean.dv, out->var.dv, tmp);
    mpfr_sqr(tmp, sl.s1[0], MPFR_RNDN);
    mpfr_sub(out->fvar, sl.s2[0], tmp, MPFR_RNDN);
    rc = 0;
done:
    for (int64_t e = 0; E && e < U; e++)
        mpfr_clears(E[e].g, E[e].w, E[e].ell, (mpfr_ptr)0);
    free(E);
    sums_clear(&sq);
    sums_clear(&sk);
    sums_clear(&sv);
    sums_clear(&sl);
    sus_i_mp_row_clear(&r);
    mpfr_clears(sg, tmp, P, qq, t1, (mpfr_ptr)0);
    return rc;
}
