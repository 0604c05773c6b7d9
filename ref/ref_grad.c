/* ref_grad.c: the exact attention gradient in double (DESIGN.md 2.1), one
 * plain loop nest per formula. Obviousness is its job, not speed. */
#include <math.h>
#include <string.h>

#include "../core/internal.h"
#include "ref_internal.h"

static int finite_out(const double *y, size_t count, const char *name, sus_error *err)
{
    for (size_t t = 0; t < count; t++)
        if (!isfinite(y[t]))
            return sus_i_fail(
                err, SUS_ERR_RANGE,
                "%s[%zu] = %g is not finite in double: the inputs are too "
                "large for the double reference",
                name, t, y[t]);
    return SUS_OK;
}

void sus_i_ref_head_backward(const sus_attn *a, int64_t b, int64_t h,
                             const sus_i_head_fwd *f, const double *Wb, double *D,
                             double *dS, sus_grads *out)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    const sus_i_head_off off = sus_i_head_offsets(sh, b, h);
    const double *Q = a->q + off.q, *K = a->k + off.k, *V = a->v + off.v;
    const double *dO = a->dout + off.o;
    double *O = out->o + off.o, *dQ = out->dq + off.q, *dK = out->dk + off.k;
    double *dV = out->dv + off.v;
    const double s = a->scale;
    const double *W = f->W;

    memcpy(out->lse + off.row, f->lse, (size_t)n * sizeof(double));

    /* O_i = sum_j W_ij V_j */
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < dv; t++) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; j++)
                acc += W[i * m + j] * V[j * dv + t];
            O[i * dv + t] = acc;
        }

    /* D_i = dO_i . O_i */
    for (int64_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int64_t t = 0; t < dv; t++)
            acc += dO[i * dv + t] * O[i * dv + t];
        D[i] = acc;
    }

    /* dS_ij = Wb_ij (dP_ij - D_i), dP_ij = dO_i . V_j */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) {
            double dP = 0.0;
            for (int64_t t = 0; t < dv; t++)
                dP += dO[i * dv + t] * V[j * dv + t];
            dS[i * m + j] = Wb[i * m + j] * (dP - D[i]);
        }

    /* dQ_i = s sum_j dS_ij K_j */
    for (int64_t i = 0; i < n; i++)
        for (int64_t t = 0; t < d; t++) {
            double acc = 0.0;
            for (int64_t j = 0; j < m; j++)
                acc += dS[i * m + j] * K[j * d + t];
            dQ[i * d + t] = s * acc;
        }

    /* dK_j = s sum_i dS_ij Q_i */
    for (int64_t j = 0; j < m; j++)
        for (int64_t t = 0; t < d; t++) {
            double acc = 0.0;
            for (int64_t i = 0; i < n; i++)
                acc += dS[i * m + j] * Q[i * d + t];
            dK[j * d + t] = s * acc;
        }

    /* dV_j = sum_i Wb_ij dO_i */
    for (int64_t j = 0; j < m; j++)
        for (int64_t t = 0; t < dv; t++) {
            double acc = 0.0;
            for (int64_t i = 0; i < n; i++)
                acc += Wb[i * m + j] * dO[i * dv + t];
            dV[j * dv + t] = acc;
        }
}

int sus_i_ref_check_finite_out(const sus_grads *out, const sus_sizes *z, sus_error *err)
{
    int rc;
    if ((rc = finite_out(out->o, z->o, "O", err)) ||
        (rc = finite_out(out->lse, z->rows, "lse", err)) ||
        (rc = finite_out(out->dq, z->q, "dQ", err)) ||
        (rc = finite_out(out->dk, z->k, "dK", err)) ||
        (rc = finite_out(out->dv, z->v, "dV", err)))
        return rc;
    sus_i_ok(err);
    return SUS_OK;
}

int sus_ref_grad(const sus_attn *a, sus_grads *out, sus_error *err)
{
    return sus_i_ref_run(a, NULL, out, 0, err);
}
