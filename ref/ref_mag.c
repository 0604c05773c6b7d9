/*
 * ref_mag.c: the magnitudes |y|_mag of DESIGN.md 3 in double.
 *
 * Each magnitude is the output's formula evaluated with absolute values of
 * every factor, with one deliberate extension for W: exp turns an absolute
 * error in a logit into a relative error in W, and a logit's absolute error
 * scales with |S|_mag, not with |S|. So W's magnitude carries the
 * conditioning of softmax,
 *     |W_ij|_mag = W_ij (1 + |S_ij|_mag + sigma_i) + eta,
 * with |S_ij|_mag = |s| sum |Q_i||K_j|, sigma_i = max over allowed k of
 * |S_ik|_mag, and eta = 2^-1074 the underflow floor (a weight below the
 * normal range is only known to that absolute accuracy). Without it, logits
 * of 1e4 give relative errors of about 1e4 u in W and the bound would raise
 * false alarms on correct implementations. For logits of order 1 the factor
 * is a small constant.
 */
#include <math.h>

#include "../core/internal.h"
#include "ref_internal.h"

void sus_i_ref_head_mag(const sus_attn *a, int64_t b, int64_t h,
                        const sus_i_head_fwd *f, const double *Wb,
                        const unsigned char *kept, double *Wm, double *Wbm, double *Dm,
                        double *dSm, sus_grads *mag)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    const sus_i_head_off off = sus_i_head_offsets(sh, b, h);
    const double *Q = a->q + off.q, *K = a->k + off.k, *V = a->v + off.v;
    const double *dO = a->dout + off.o;
    double *Om = mag->o + off.o, *lsem = mag->lse + off.row, *dQm = mag->dq + off.q;
    double *dKm = mag->dk + off.k, *dVm = mag->dv + off.v;
    const double as = fabs(a->scale);

    /* |S_ij|_mag into Wm first, then sigma_i, then |W_ij|_mag in place. */
    for (int64_t i = 0; i < n; i++) {
        double sigma = 0.0, allowed = 0.0;
        for (int64_t j = 0; j < m; j++) {
            double acc = 0.0;
            for (int64_t t = 0; t < d; t++)
                acc += fabs(Q[i * d + t]) * fabs(K[j * d + t]);
            Wm[i * m + j] = as * acc;
            if (sus_i_allowed(a->causal, i, j)) {
                sigma = fmax(sigma, as * acc);
                allowed += 1.0;
            }
        }
        lsem[i] = 1.0 + sigma + log(allowed);
        for (int64_t j = 0; j < m; j++) {
            double cond = 1.0 + Wm[i * m + j] + sigma;
            int on = sus_i_allowed(a->causal, i, j);
            int kb = kept ? kept[i * m + j] : on;
            Wbm[i * m + j] = kb ? Wb[i * m + j] * cond + SUS_I_UNDERFLOW_FLOOR : 0.0;
            Wm[i * m + j] = on ? f->W[i * m + j] * cond + SUS_I_UNDERFLOW_FLOOR : 0.0;
        }
    }

    /* |O_i|_mag = sum_j |W_ij|_mag |V_j| */
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < dv; t++) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; j++)
                acc += Wm[i * m + j] * fabs(V[j * dv + t]);
            Om[i * dv + t] = acc;
        }

    /* |D_i|_mag = sum |dO_i| |O_i|_mag */
    for (int64_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int64_t t = 0; t < dv; t++)
            acc += fabs(dO[i * dv + t]) * Om[i * dv + t];
        Dm[i] = acc;
    }

    /* |dS_ij|_mag = |Wb_ij|_mag (|dP_ij|_mag + |D_i|_mag) */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double dPm = 0.0;
            for (int64_t t = 0; t < dv; t++)
                dPm += fabs(dO[i * dv + t]) * fabs(V[j * dv + t]);
            dSm[i * m + j] = Wbm[i * m + j] * (dPm + Dm[i]);
        }

    /* |dQ_i|_mag = |s| sum_j |dS_ij|_mag |K_j| */
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; j++)
                acc += dSm[i * m + j] * fabs(K[j * d + t]);
            dQm[i * d + t] = as * acc;
        }

    /* |dK_j|_mag = |s| sum_i |dS_ij|_mag |Q_i| */
    for (int64_t j = 0; j < m; j++)
        for (int64_t t = 0; t < d; t++) {
            double acc = 0.0;
            for (int64_t i = 0; i < n; i++)
                acc += dSm[i * m + j] * fabs(Q[i * d + t]);
            dKm[j * d + t] = as * acc;
        }

    /* |dV_j|_mag = sum_i |Wb_ij|_mag |dO_i| */
    for (int64_t j = 0; j < m; j++)
        for (int64_t t = 0; t < dv; t++) {
            double acc = 0.0;
            for (int64_t i = 0; i < n; i++)
                acc += Wbm[i * m + j] * fabs(dO[i * dv + t]);
            dVm[j * dv + t] = acc;
        }
}

int sus_ref_grad_mag(const sus_attn *a, sus_grads *mag, sus_error *err)
{
    return sus_i_ref_run(a, NULL, mag, 1, err);
}
