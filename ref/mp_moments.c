/*
 * mp_moments.c: the closed-form moments of DESIGN.md 2.5 in MPFR.
 *
 * The estimator is linear in the independent masks m_ij (1/q_ij with
 * probability q_ij, else 0), so with a_ij = 1/q_ij - 1 = Var(m_ij):
 *   E[dQ~_i] = s sum_j q_ij (W_ij/q_ij)(dP_ij - D_i) K_j    (= dQ_i)
 *   Var(dQ~_i nu) = s^2 sum_j a_ij dS_ij^2 K_j nu^2
 *   Var(dK~_j nu) = s^2 sum_i a_ij dS_ij^2 Q_i nu^2
 *   Var(dV~_j nu) = sum_i a_ij W_ij^2 dO_i nu^2
 *   Var L = sum_ij a_ij (s dS_ij (R_Q,i.K_j + R_K,j.Q_i) + W_ij R_V,j.dO_i)^2
 * Entries with q = 0 are never kept: they add nothing to either moment.
 * The mean is evaluated in its literal form q (W/q) rather than as dS, so
 * that the unbiasedness test compares two different expressions.
 */
#include "mp_moments.h"
#include "ref_internal.h"

int sus_i_mp_moments_init(sus_i_mp_moments *mo, int64_t n, int64_t m, int64_t d,
                          int64_t dv, mpfr_prec_t prec)
{
    *mo = (sus_i_mp_moments){.n = n, .m = m, .d = d, .dv = dv};
    mpfr_init2(mo->fvar, prec);
    mpfr_set_zero(mo->fvar, 1);
    int rc = sus_i_mp_head_out_init(&mo->mean, n, m, d, dv, prec);
    rc |= sus_i_mp_head_out_init(&mo->var, n, m, d, dv, prec);
    mo->nnz = sus_i_mp_new((size_t)n, prec);
    if (rc == 0 && mo->nnz)
        return 0;
    sus_i_mp_moments_clear(mo);
    return -1;
}

void sus_i_mp_moments_clear(sus_i_mp_moments *mo)
{
    sus_i_mp_head_out_clear(&mo->mean, mo->n, mo->m, mo->d, mo->dv);
    sus_i_mp_head_out_clear(&mo->var, mo->n, mo->m, mo->d, mo->dv);
    sus_i_mp_free(mo->nnz, (size_t)mo->n);
    mo->nnz = NULL;
    mpfr_clear(mo->fvar);
}

/* acc += x * y, one rounding. */
static void fma_into(mpfr_t acc, mpfr_srcptr x, mpfr_srcptr y)
{
    mpfr_fma(acc, x, y, acc, MPFR_RNDN);
}

/* sum_t x[t] y[t] over len terms, into r. */
static void dotp(mpfr_t r, mpfr_t *x, mpfr_t *y, int64_t len)
{
    mpfr_set_zero(r, 1);
    for (int64_t t = 0; t < len; t++)
        fma_into(r, x[t], y[t]);
}

int sus_i_mp_head_moments(const sus_i_mp_head_in *in, const double *q,
                          const sus_i_mp_functional *R, sus_i_mp_moments *out)
{
    const int64_t n = in->n, m = in->m, d = in->d, dv = in->dv;
    const mpfr_prec_t p = mpfr_get_prec(out->fvar);
    sus_i_mp_row r;
    mpfr_t qq, a, wt, g, g2, s2, t1, t2, ell;
    if (sus_i_mp_row_init(&r, m, p)) {
        sus_i_mp_row_clear(&r);
        return -1;
    }
    mpfr_inits2(p, qq, a, wt, g, g2, s2, t1, t2, ell, (mpfr_ptr)0);
    mpfr_sqr(s2, in->scale, MPFR_RNDN);
    for (int64_t t = 0; t < m * d; t++) {
        mpfr_set_zero(out->mean.dk[t], 1);
        mpfr_set_zero(out->var.dk[t], 1);
    }
    for (int64_t t = 0; t < m * dv; t++) {
        mpfr_set_zero(out->mean.dv[t], 1);
        mpfr_set_zero(out->var.dv[t], 1);
    }
    mpfr_set_zero(out->fvar, 1);

    for (int64_t i = 0; i < n; i++) {
        mpfr_t *Qi = in->q + i * d, *dOi = in->dout + i * dv;
        sus_i_mp_row_exact(in, i, &r, out->mean.o + i * dv, out->mean.lse[i], NULL,
                           NULL);
        for (int64_t t = 0; t < d; t++) {
            mpfr_set_zero(out->mean.dq[i * d + t], 1);
            mpfr_set_zero(out->var.dq[i * d + t], 1);
        }
        mpfr_set_zero(out->nnz[i], 1);
        for (int64_t j = 0; j < m; j++) {
            double qij = q[i * m + j];
            if (!(qij > 0.0))
                continue;
            mpfr_set_d(qq, qij, MPFR_RNDN);
            mpfr_add(out->nnz[i], out->nnz[i], qq, MPFR_RNDN);
            /* g = q (W/q) (dP - D), the mean of one entry's dS~ */
            mpfr_div(wt, r.W[j], qq, MPFR_RNDN);
            mpfr_sub(t1, r.dP[j], r.D, MPFR_RNDN);
            mpfr_mul(g, wt, t1, MPFR_RNDN);
            mpfr_mul(g, g, qq, MPFR_RNDN);
            /* a = 1/q - 1 */
            mpfr_ui_div(a, 1, qq, MPFR_RNDN);
            mpfr_sub_ui(a, a, 1, MPFR_RNDN);
            mpfr_sqr(g2, r.dS[j], MPFR_RNDN);
            mpfr_mul(g2, g2, a, MPFR_RNDN); /* a dS^2 */
            for (int64_t t = 0; t < d; t++) {
                mpfr_mul(t1, g, in->scale, MPFR_RNDN);
                fma_into(out->mean.dq[i * d + t], t1, in->k[j * d + t]);
                fma_into(out->mean.dk[j * d + t], t1, Qi[t]);
                mpfr_mul(t1, g2, s2, MPFR_RNDN);
                mpfr_sqr(t2, in->k[j * d + t], MPFR_RNDN);
                fma_into(out->var.dq[i * d + t], t1, t2);
                mpfr_sqr(t2, Qi[t], MPFR_RNDN);
                fma_into(out->var.dk[j * d + t], t1, t2);
            }
            /* dV: mean q (W/q) dO_i, variance a W^2 dO_i^2 */
            mpfr_mul(t1, wt, qq, MPFR_RNDN);
            mpfr_sqr(t2, r.W[j], MPFR_RNDN);
            mpfr_mul(t2, t2, a, MPFR_RNDN);
            for (int64_t t = 0; t < dv; t++) {
                fma_into(out->mean.dv[j * dv + t], t1, dOi[t]);
                mpfr_sqr(g, dOi[t], MPFR_RNDN);
                fma_into(out->var.dv[j * dv + t], t2, g);
            }
            if (!R)
                continue;
            /* ell = s dS (R_Q,i.K_j + R_K,j.Q_i) + W R_V,j.dO_i */
            mpfr_set_zero(ell, 1);
            if (R->rq) {
                dotp(t1, R->rq + i * d, in->k + j * d, d);
                mpfr_add(ell, ell, t1, MPFR_RNDN);
            }
            if (R->rk) {
                dotp(t1, R->rk + j * d, Qi, d);
                mpfr_add(ell, ell, t1, MPFR_RNDN);
            }
            mpfr_mul(ell, ell, r.dS[j], MPFR_RNDN);
            mpfr_mul(ell, ell, in->scale, MPFR_RNDN);
            if (R->rv) {
                dotp(t1, R->rv + j * dv, dOi, dv);
                mpfr_mul(t1, t1, r.W[j], MPFR_RNDN);
                mpfr_add(ell, ell, t1, MPFR_RNDN);
            }
            mpfr_sqr(ell, ell, MPFR_RNDN);
            fma_into(out->fvar, a, ell);
        }
    }
    mpfr_clears(qq, a, wt, g, g2, s2, t1, t2, ell, (mpfr_ptr)0);
    sus_i_mp_row_clear(&r);
    return 0;
}
