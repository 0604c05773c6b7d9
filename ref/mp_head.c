/*
 * mp_head.c: one head's forward and backward in MPFR, row by row.
 *
 * The rows are streamed (S, W, dS of one query row at a time; dK and dV
 * accumulate), so memory is O(m + sizes of the inputs), not O(n m).
 *
 * The order of operations below is the one the rounding analysis in
 * mpfr_grad.c assumes: dot products accumulate with fma (one rounding per
 * term), W = exp(S - M) / Z with M the row max, lse = M + log Z.
 */
#include <stdlib.h>

#include "../core/internal.h"
#include "mp_head.h"
#include "ref_internal.h"

mpfr_t *sus_i_mp_new(size_t count, mpfr_prec_t prec)
{
    mpfr_t *v = sus_i_alloc_array(count, sizeof(mpfr_t));
    if (!v)
        return NULL;
    for (size_t t = 0; t < count; t++) {
        mpfr_init2(v[t], prec);
        mpfr_set_zero(v[t], 1);
    }
    return v;
}

void sus_i_mp_free(mpfr_t *v, size_t count)
{
    if (!v)
        return;
    for (size_t t = 0; t < count; t++)
        mpfr_clear(v[t]);
    free(v);
}

int sus_i_mp_head_out_init(sus_i_mp_head_out *out, int64_t n, int64_t m, int64_t d,
                           int64_t dv, mpfr_prec_t prec)
{
    out->o = sus_i_mp_new((size_t)(n * dv), prec);
    out->lse = sus_i_mp_new((size_t)n, prec);
    out->dq = sus_i_mp_new((size_t)(n * d), prec);
    out->dk = sus_i_mp_new((size_t)(m * d), prec);
    out->dv = sus_i_mp_new((size_t)(m * dv), prec);
    if (out->o && out->lse && out->dq && out->dk && out->dv)
        return 0;
    sus_i_mp_head_out_clear(out, n, m, d, dv);
    return -1;
}

void sus_i_mp_head_out_clear(sus_i_mp_head_out *out, int64_t n, int64_t m, int64_t d,
                             int64_t dv)
{
    sus_i_mp_free(out->o, (size_t)(n * dv));
    sus_i_mp_free(out->lse, (size_t)n);
    sus_i_mp_free(out->dq, (size_t)(n * d));
    sus_i_mp_free(out->dk, (size_t)(m * d));
    sus_i_mp_free(out->dv, (size_t)(m * dv));
    out->o = out->lse = out->dq = out->dk = out->dv = NULL;
}

int sus_i_mp_row_init(sus_i_mp_row *r, int64_t m, mpfr_prec_t p)
{
    r->m = m;
    r->S = sus_i_mp_new((size_t)m, p);
    r->W = sus_i_mp_new((size_t)m, p);
    r->dP = sus_i_mp_new((size_t)m, p);
    r->dS = sus_i_mp_new((size_t)m, p);
    r->Wx = sus_i_alloc_array((size_t)m, 1);
    r->dSx = sus_i_alloc_array((size_t)m, 1);
    r->dPx = sus_i_alloc_array((size_t)m, 1);
    mpfr_inits2(p, r->D, r->Z, r->M, r->tmp, (mpfr_ptr)0);
    return (r->S && r->W && r->dP && r->dS && r->Wx && r->dSx && r->dPx) ? 0 : -1;
}

void sus_i_mp_row_clear(sus_i_mp_row *r)
{
    sus_i_mp_free(r->S, (size_t)r->m);
    sus_i_mp_free(r->W, (size_t)r->m);
    sus_i_mp_free(r->dP, (size_t)r->m);
    sus_i_mp_free(r->dS, (size_t)r->m);
    free(r->Wx);
    free(r->dSx);
    free(r->dPx);
    mpfr_clears(r->D, r->Z, r->M, r->tmp, (mpfr_ptr)0);
}

/* acc = sum_t x[t*xs] y[t*ys], one rounding per term. Returns 1 if no
 * term rounded (the sum of the given operands is then exact). */
static int dot(mpfr_t acc, mpfr_t *x, int64_t xs, mpfr_t *y, int64_t ys, int64_t len)
{
    int exact = 1;
    mpfr_set_zero(acc, 1);
    for (int64_t t = 0; t < len; t++)
        exact &= mpfr_fma(acc, x[t * xs], y[t * ys], acc, MPFR_RNDN) == 0;
    return exact;
}

void sus_i_mp_row_exact(const sus_i_mp_head_in *in, int64_t i, sus_i_mp_row *r,
                        mpfr_t *o, mpfr_ptr lse, unsigned char *ox, int *lsex)
{
    const int64_t m = in->m, d = in->d, dv = in->dv;
    mpfr_t *Qi = in->q + i * d, *dOi = in->dout + i * dv;
    /* Exactness is tracked conservatively: a flag is 1 only if every
     * operation behind the value returned a zero ternary value. */
    int Sx = 1, Zx = 1, Wall = 1;

    /* S_ij = s Q_i.K_j; M_i = max_j S_ij */
    mpfr_set_inf(r->M, -1);
    for (int64_t j = 0; j < m; j++) {
        mpfr_set_zero(r->S[j], 1);
        if (!sus_i_allowed(in->causal, i, j))
            continue;
        Sx &= dot(r->tmp, Qi, 1, in->k + j * d, 1, d);
        Sx &= mpfr_mul(r->S[j], r->tmp, in->scale, MPFR_RNDN) == 0;
        mpfr_max(r->M, r->M, r->S[j], MPFR_RNDN);
    }
    /* W_ij = exp(S_ij - M_i) / Z_i, lse_i = M_i + log Z_i */
    mpfr_set_zero(r->Z, 1);
    for (int64_t j = 0; j < m; j++) {
        mpfr_set_zero(r->W[j], 1);
        r->Wx[j] = 1; /* masked: exactly 0 */
        if (!sus_i_allowed(in->causal, i, j))
            continue;
        int x = Sx;
        x &= mpfr_sub(r->tmp, r->S[j], r->M, MPFR_RNDN) == 0;
        x &= mpfr_exp(r->W[j], r->tmp, MPFR_RNDN) == 0;
        x &= mpfr_add(r->Z, r->Z, r->W[j], MPFR_RNDN) == 0;
        r->Wx[j] = (unsigned char)x;
        Zx &= x;
    }
    for (int64_t j = 0; j < m; j++)
        if (sus_i_allowed(in->causal, i, j)) {
            int x = mpfr_div(r->W[j], r->W[j], r->Z, MPFR_RNDN) == 0;
            r->Wx[j] = (unsigned char)(x && Zx);
            Wall &= r->Wx[j];
        }
    int lx = Sx && Zx;
    lx &= mpfr_log(r->tmp, r->Z, MPFR_RNDN) == 0;
    lx &= mpfr_add(lse, r->M, r->tmp, MPFR_RNDN) == 0;
    if (lsex)
        *lsex = lx;

    /* O_i = sum_j W_ij V_j; D_i = dO_i . O_i */
    int Ox = 1;
    for (int64_t t = 0; t < dv; t++) {
        int x = dot(o[t], r->W, 1, in->v + t, dv, m) && Wall;
        if (ox)
            ox[t] = (unsigned char)x;
        Ox &= x;
    }
    r->Dx = dot(r->D, dOi, 1, o, 1, dv) && Ox;

    /* dP_ij = dO_i . V_j; dS_ij = W_ij (dP_ij - D_i) */
    for (int64_t j = 0; j < m; j++) {
        mpfr_set_zero(r->dP[j], 1);
        mpfr_set_zero(r->dS[j], 1);
        r->dSx[j] = r->dPx[j] = 1;
        if (!sus_i_allowed(in->causal, i, j))
            continue;
        r->dPx[j] = (unsigned char)dot(r->dP[j], dOi, 1, in->v + j * dv, 1, dv);
        int x = r->dPx[j] && r->Dx && r->Wx[j];
        x &= mpfr_sub(r->tmp, r->dP[j], r->D, MPFR_RNDN) == 0;
        x &= mpfr_mul(r->dS[j], r->W[j], r->tmp, MPFR_RNDN) == 0;
        r->dSx[j] = (unsigned char)x;
    }
}

/* Backward weights of one row (W for the exact gradient, W~ for a mask),
 * their dS, and the magnitude scratch. */
typedef struct bwd_work {
    sus_i_mp_row row;
    mpfr_t *B, *dSB;            /* m: backward weights and their dS */
    mpfr_t *Sm, *Wm, *Bm, *dSm; /* m: magnitudes */
    unsigned char *kept;        /* m */
    unsigned char *Bx, *dSBx;   /* m: exactness of B and of their dS */
    mpfr_t acc, macc, mtmp, sigma, Dm, absa, absb, abss;
} bwd_work;

static int work_init(bwd_work *w, int64_t m, mpfr_prec_t p, mpfr_prec_t pm)
{
    int rc = sus_i_mp_row_init(&w->row, m, p);
    w->B = sus_i_mp_new((size_t)m, p);
    w->dSB = sus_i_mp_new((size_t)m, p);
    w->Sm = sus_i_mp_new((size_t)m, pm);
    w->Wm = sus_i_mp_new((size_t)m, pm);
    w->Bm = sus_i_mp_new((size_t)m, pm);
    w->dSm = sus_i_mp_new((size_t)m, pm);
    w->kept = sus_i_alloc_array((size_t)m, 1);
    w->Bx = sus_i_alloc_array((size_t)m, 1);
    w->dSBx = sus_i_alloc_array((size_t)m, 1);
    mpfr_init2(w->acc, p);
    mpfr_inits2(pm, w->macc, w->mtmp, w->sigma, w->Dm, (mpfr_ptr)0);
    /* |input| is held exactly: inputs may carry more than pm bits. */
    mpfr_inits2(p, w->absa, w->absb, w->abss, (mpfr_ptr)0);
    return (rc == 0 && w->B && w->dSB && w->Sm && w->Wm && w->Bm && w->dSm && w->kept &&
            w->Bx && w->dSBx)
               ? 0
               : -1;
}

static void work_clear(bwd_work *w, int64_t m)
{
    sus_i_mp_row_clear(&w->row);
    sus_i_mp_free(w->B, (size_t)m);
    sus_i_mp_free(w->dSB, (size_t)m);
    sus_i_mp_free(w->Sm, (size_t)m);
    sus_i_mp_free(w->Wm, (size_t)m);
    sus_i_mp_free(w->Bm, (size_t)m);
    sus_i_mp_free(w->dSm, (size_t)m);
    free(w->kept);
    free(w->Bx);
    free(w->dSBx);
    mpfr_clears(w->acc, w->macc, w->mtmp, w->sigma, w->Dm, w->absa, w->absb, w->abss,
                (mpfr_ptr)0);
}

/* macc = sum_t |x[t*xs]| |y[t*ys]|, rounded upward. */
static void absdot(bwd_work *w, mpfr_t *x, int64_t xs, mpfr_t *y, int64_t ys,
                   int64_t len)
{
    mpfr_set_zero(w->macc, 1);
    for (int64_t t = 0; t < len; t++) {
        mpfr_abs(w->absa, x[t * xs], MPFR_RNDN); /* exact: same precision */
        mpfr_abs(w->absb, y[t * ys], MPFR_RNDN);
        mpfr_fma(w->macc, w->absa, w->absb, w->macc, MPFR_RNDU);
    }
}

/* Row i: exact forward, backward weights B (W, or W~ of the mask row), and
 * their dS = B (dP - D); dQ_i; accumulates unscaled dK and dV. Exactness
 * flags go to cert when it is non-NULL. */
static void row_values(const sus_i_mp_head_in *in, const sus_i_head_mask *mk, int64_t i,
                       bwd_work *w, sus_i_mp_head_out *val, sus_i_mp_cert_mag *cert)
{
    const int64_t m = in->m, d = in->d, dv = in->dv;
    sus_i_mp_row *r = &w->row;
    mpfr_t *Qi = in->q + i * d, *dOi = in->dout + i * dv;
    int lsex;

    sus_i_mp_row_exact(in, i, r, val->o + i * dv, val->lse[i],
                       cert ? cert->xo + i * dv : NULL, &lsex);
    if (cert)
        cert->xlse[i] = (unsigned char)lsex;
    for (int64_t j = 0; j < m; j++) {
        w->kept[j] = (unsigned char)(!mk && sus_i_allowed(in->causal, i, j));
        mpfr_set(w->B[j], r->W[j], MPFR_RNDN);
        w->Bx[j] = r->Wx[j];
    }
    if (mk) {
        for (int64_t j = 0; j < m; j++) {
            mpfr_set_zero(w->B[j], 1);
            w->Bx[j] = 1; /* W~ values are doubles: exact */
        }
        for (int64_t e = mk->indptr[i]; e < mk->indptr[i + 1]; e++) {
            mpfr_set_d(w->B[mk->indices[e]], mk->wtilde[e], MPFR_RNDN);
            w->kept[mk->indices[e]] = 1;
        }
    }
    int dSall = 1;
    for (int64_t j = 0; j < m; j++) {
        if (mk) {
            int x = r->Dx && r->dPx[j];
            x &= mpfr_sub(w->acc, r->dP[j], r->D, MPFR_RNDN) == 0;
            x &= mpfr_mul(w->dSB[j], w->B[j], w->acc, MPFR_RNDN) == 0;
            w->dSBx[j] = (unsigned char)x;
        } else {
            mpfr_set(w->dSB[j], r->dS[j], MPFR_RNDN);
            w->dSBx[j] = r->dSx[j];
        }
        dSall &= w->dSBx[j];
    }
    for (int64_t t = 0; t < d; t++) {
        int x = dot(w->acc, w->dSB, 1, in->k + t, d, m) && dSall;
        x &= mpfr_mul(val->dq[i * d + t], w->acc, in->scale, MPFR_RNDN) == 0;
        if (cert)
            cert->xdq[i * d + t] = (unsigned char)x;
    }
    for (int64_t j = 0; j < m; j++) {
        if (!w->kept[j])
            continue;
        for (int64_t t = 0; t < d; t++) {
            int x = mpfr_fma(val->dk[j * d + t], w->dSB[j], Qi[t], val->dk[j * d + t],
                             MPFR_RNDN) == 0;
            if (cert)
                cert->xdk[j * d + t] &= (unsigned char)(x && w->dSBx[j]);
        }
        for (int64_t t = 0; t < dv; t++) {
            int x = mpfr_fma(val->dv[j * dv + t], w->B[j], dOi[t], val->dv[j * dv + t],
                             MPFR_RNDN) == 0;
            if (cert)
                cert->xdv[j * dv + t] &= (unsigned char)(x && w->Bx[j]);
        }
    }
}

/* Magnitudes of row i, upward, from the row's W and B (in w). */
static void row_mags(const sus_i_mp_head_in *in, int64_t i, bwd_work *w,
                     sus_i_mp_head_out *mag, sus_i_mp_cert_mag *cert)
{
    const int64_t m = in->m, d = in->d, dv = in->dv;
    mpfr_t *Qi = in->q + i * d, *dOi = in->dout + i * dv;
    mpfr_abs(w->abss, in->scale, MPFR_RNDN);
    mpfr_set_zero(w->sigma, 1);
    long allowed = 0;
    for (int64_t j = 0; j < m; j++) {
        mpfr_set_zero(w->Sm[j], 1);
        if (!sus_i_allowed(in->causal, i, j))
            continue;
        absdot(w, Qi, 1, in->k + j * d, 1, d);
        mpfr_mul(w->Sm[j], w->macc, w->abss, MPFR_RNDU);
        mpfr_max(w->sigma, w->sigma, w->Sm[j], MPFR_RNDU);
        allowed++;
    }
    /* |lse_i|_mag = 1 + sigma_i + log(allowed) */
    mpfr_set_si(w->mtmp, allowed, MPFR_RNDU);
    mpfr_log(w->mtmp, w->mtmp, MPFR_RNDU);
    mpfr_add(w->mtmp, w->mtmp, w->sigma, MPFR_RNDU);
    mpfr_add_ui(mag->lse[i], w->mtmp, 1, MPFR_RNDU);
    /* |W_ij|_mag = W_ij (1 + |S_ij|_mag + sigma_i) + 2^-1074, and the same
     * for the backward weights on kept entries. */
    for (int64_t j = 0; j < m; j++) {
        mpfr_set_zero(w->Wm[j], 1);
        mpfr_set_zero(w->Bm[j], 1);
        mpfr_add(w->mtmp, w->Sm[j], w->sigma, MPFR_RNDU);
        mpfr_add_ui(w->mtmp, w->mtmp, 1, MPFR_RNDU);
        if (sus_i_allowed(in->causal, i, j)) {
            mpfr_mul(w->Wm[j], w->row.W[j], w->mtmp, MPFR_RNDU);
            mpfr_add_d(w->Wm[j], w->Wm[j], SUS_I_UNDERFLOW_FLOOR, MPFR_RNDU);
        }
        if (w->kept[j]) {
            mpfr_mul(w->Bm[j], w->B[j], w->mtmp, MPFR_RNDU);
            mpfr_add_d(w->Bm[j], w->Bm[j], SUS_I_UNDERFLOW_FLOOR, MPFR_RNDU);
        }
    }
    for (int64_t t = 0; t < dv; t++) {
        absdot(w, w->Wm, 1, in->v + t, dv, m);
        mpfr_set(mag->o[i * dv + t], w->macc, MPFR_RNDU);
    }
    absdot(w, dOi, 1, mag->o + i * dv, 1, dv);
    mpfr_set(w->Dm, w->macc, MPFR_RNDU);
    for (int64_t j = 0; j < m; j++) {
        absdot(w, dOi, 1, in->v + j * dv, 1, dv);
        mpfr_add(w->mtmp, w->macc, w->Dm, MPFR_RNDU);
        mpfr_mul(w->dSm[j], w->Bm[j], w->mtmp, MPFR_RNDU);
    }
    const int single = allowed == 1;
    for (int64_t t = 0; t < d; t++) {
        absdot(w, w->dSm, 1, in->k + t, d, m);
        mpfr_mul(mag->dq[i * d + t], w->macc, w->abss, MPFR_RNDU);
        if (cert) {
            if (single)
                mpfr_set_zero(cert->dq[i * d + t], 1);
            else
                mpfr_set(cert->dq[i * d + t], mag->dq[i * d + t], MPFR_RNDU);
        }
    }
    for (int64_t j = 0; j < m; j++) {
        if (!w->kept[j])
            continue;
        for (int64_t t = 0; t < d; t++) {
            mpfr_abs(w->absa, Qi[t], MPFR_RNDN);
            mpfr_fma(mag->dk[j * d + t], w->dSm[j], w->absa, mag->dk[j * d + t],
                     MPFR_RNDU);
            if (cert && !single)
                mpfr_fma(cert->dk[j * d + t], w->dSm[j], w->absa, cert->dk[j * d + t],
                         MPFR_RNDU);
        }
        for (int64_t t = 0; t < dv; t++) {
            mpfr_abs(w->absa, dOi[t], MPFR_RNDN);
            mpfr_fma(mag->dv[j * dv + t], w->Bm[j], w->absa, mag->dv[j * dv + t],
                     MPFR_RNDU);
        }
    }
}

int sus_i_mp_head_grad(const sus_i_mp_head_in *in, const sus_i_head_mask *mk,
                       sus_i_mp_head_out *val, sus_i_mp_head_out *mag)
{
    return sus_i_mp_head_grad_cert(in, mk, val, mag, NULL);
}

int sus_i_mp_head_grad_cert(const sus_i_mp_head_in *in, const sus_i_head_mask *mk,
                            sus_i_mp_head_out *val, sus_i_mp_head_out *mag,
                            sus_i_mp_cert_mag *cert)
{
    const int64_t n = in->n, m = in->m, d = in->d, dv = in->dv;
    bwd_work w;
    mpfr_prec_t p = mpfr_get_prec(val->o[0]);
    mpfr_prec_t pm = mag ? mpfr_get_prec(mag->o[0]) : SUS_I_MAG_PREC;
    if (work_init(&w, m, p, pm)) {
        work_clear(&w, m);
        return -1;
    }
    for (int64_t t = 0; t < m * d; t++)
        mpfr_set_zero(val->dk[t], 1);
    for (int64_t t = 0; t < m * dv; t++)
        mpfr_set_zero(val->dv[t], 1);
    if (mag) {
        for (int64_t t = 0; t < m * d; t++)
            mpfr_set_zero(mag->dk[t], 1);
        for (int64_t t = 0; t < m * dv; t++)
            mpfr_set_zero(mag->dv[t], 1);
    }
    if (cert) {
        for (int64_t t = 0; t < m * d; t++) {
            mpfr_set_zero(cert->dk[t], 1);
            cert->xdk[t] = 1;
        }
        for (int64_t t = 0; t < m * dv; t++)
            cert->xdv[t] = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        row_values(in, mk, i, &w, val, cert);
        if (mag)
            row_mags(in, i, &w, mag, cert);
    }
    /* dK_j = s sum_i dS_ij Q_i: the scale is applied once, after the sum. */
    mpfr_abs(w.abss, in->scale, MPFR_RNDN);
    for (int64_t t = 0; t < m * d; t++) {
        int x = mpfr_mul(val->dk[t], val->dk[t], in->scale, MPFR_RNDN) == 0;
        if (cert)
            cert->xdk[t] &= (unsigned char)x;
        if (mag)
            mpfr_mul(mag->dk[t], mag->dk[t], w.abss, MPFR_RNDU);
        if (mag && cert)
            mpfr_mul(cert->dk[t], cert->dk[t], w.abss, MPFR_RNDU);
    }
    work_clear(&w, m);
    return 0;
}

static mpfr_t *from_doubles(const double *src, size_t count, mpfr_prec_t p)
{
    mpfr_t *v = sus_i_mp_new(count, p);
    if (v)
        for (size_t t = 0; t < count; t++)
            mpfr_set_d(v[t], src[t], MPFR_RNDN); /* exact: p >= 53 */
    return v;
}

int sus_i_mp_head_load(sus_i_mp_head_in *in, const sus_attn *a, int64_t b, int64_t h,
                       mpfr_srcptr scale, mpfr_prec_t prec)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    sus_i_head_off off = sus_i_head_offsets(sh, b, h);
    *in = (sus_i_mp_head_in){n, m, d, dv, a->causal, scale, NULL, NULL, NULL, NULL};
    in->q = from_doubles(a->q + off.q, (size_t)(n * d), prec);
    in->k = from_doubles(a->k + off.k, (size_t)(m * d), prec);
    if (a->v && a->dout) {
        in->v = from_doubles(a->v + off.v, (size_t)(m * dv), prec);
        in->dout = from_doubles(a->dout + off.o, (size_t)(n * dv), prec);
    }
    if (in->q && in->k && (!a->v || !a->dout || (in->v && in->dout)))
        return 0;
    sus_i_mp_head_unload(in);
    return -1;
}

void sus_i_mp_head_unload(sus_i_mp_head_in *in)
{
    sus_i_mp_free(in->q, (size_t)(in->n * in->d));
    sus_i_mp_free(in->k, (size_t)(in->m * in->d));
    sus_i_mp_free(in->v, (size_t)(in->m * in->dv));
    sus_i_mp_free(in->dout, (size_t)(in->n * in->dv));
    in->q = in->k = in->v = in->dout = NULL;
}
