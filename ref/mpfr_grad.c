/*
 * mpfr_grad.c: the MPFR reference with certified rounding to double.
 *
 * Rounding analysis (u = 2^-p, every MPFR operation correctly rounded, fma
 * rounding once, k = n + m + d + dv + 10), to first order in u:
 *  - S_ij = s Q_i.K_j has absolute error <= (d+1) u |S_ij|_mag, so every
 *    logit of row i moves by at most Delta_i = (d+1) u sigma_i, and W_ij =
 *    exp(S_ij)/sum_k exp(S_ik) moves by a relative 2 Delta_i at most; the
 *    subtraction of M, exp, the m-term sum and the division add (m+4) u.
 *    So |W^ - W| <= 2k u W (1 + sigma_i) <= 2k u |W|_mag.
 *  - O: 2k u + m u <= 3k u, relative to |O|_mag; D adds dv u: <= 4k u |D|_mag.
 *  - dP - D: <= 4k u (|dP|_mag + |D|_mag); dS = W (dP - D):
 *    <= 2k u + 4k u + u <= 7k u, relative to |dS|_mag.
 *  - dQ, dK: 7k u + (m or n) u + u <= 8k u; dV: 2k u + n u <= 3k u.
 *  - lse = M + log Z: (d+1) u sigma + (m+3) u + u |lse| <= 2k u |lse|_mag.
 * Every output thus satisfies |y^ - y| <= 8 k u |y|_mag. The estimator
 * under a mask takes W~ as exact, so its dS~ = W~ (dP - D) is within
 * 4k u + u of |W~|_mag (|dP|_mag + |D|_mag) and the same bound holds. The certificate
 * uses 32 k u |y|_mag: a factor 4 covers second-order terms (k u < 2^-24
 * whenever p >= 64 and k < 2^40) and the magnitudes' own upward rounding.
 *
 * An element whose every operation was exact (zero ternary values, on
 * exact operands; see mp_head.c) is certified outright: sums of a few
 * doubles are often exact at 256 bits and can sit exactly on a midpoint
 * between two doubles, where no interval of positive width certifies.
 *
 * Certification is monotonicity of rounding: every real in [y^ - e, y^ + e]
 * rounds to the same double iff both ends do. This works for subnormal
 * results and for zero alike, where mpfr_can_round alone would not.
 */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "mp_head.h"
#include "ref_internal.h"

#define CERT_FACTOR 32.0

typedef struct certifier {
    mpfr_t e, lo, hi;
    double factor; /* CERT_FACTOR * k */
    mpfr_prec_t p;
    sus_cert cert;
} certifier;

/* Rounds one value, certifying it with the error magnitude emag; 0 on
 * success, SUS_ERR_RANGE if it overflows double. */
static int deliver(certifier *c, mpfr_t val, int exact, mpfr_t emag, mpfr_t mag,
                   const char *name, size_t index, double *out, double *mag_out)
{
    double y = mpfr_get_d(val, MPFR_RNDN);
    if (!isfinite(y))
        return SUS_ERR_RANGE;
    if (mag_out)
        *mag_out = mpfr_get_d(mag, MPFR_RNDU);
    *out = y;
    if (exact) /* mpfr_get_d rounded the exact value correctly */
        return 0;
    mpfr_mul_d(c->e, emag, c->factor, MPFR_RNDU);
    mpfr_mul_2si(c->e, c->e, -(long)c->p, MPFR_RNDU);
    mpfr_sub(c->lo, val, c->e, MPFR_RNDD);
    mpfr_add(c->hi, val, c->e, MPFR_RNDU);
    if (mpfr_get_d(c->lo, MPFR_RNDN) != mpfr_get_d(c->hi, MPFR_RNDN)) {
        if (c->cert.uncertain++ == 0) {
            c->cert.first_name = name;
            c->cert.first_index = index;
        }
    }
    return 0;
}

static int deliver_array(certifier *c, mpfr_t *val, const unsigned char *exact,
                         mpfr_t *emag, mpfr_t *mag, size_t count, const char *name,
                         size_t offset, double *out, double *mag_out, sus_error *err)
{
    for (size_t t = 0; t < count; t++) {
        if (deliver(c, val[t], exact[t], emag[t], mag[t], name, offset + t,
                    out + offset + t, mag_out ? mag_out + offset + t : NULL))
            return sus_i_fail(err, SUS_ERR_RANGE,
                              "%s[%zu] is %g, beyond the range of double", name,
                              offset + t, mpfr_get_d(val[t], MPFR_RNDN));
    }
    return SUS_OK;
}

/* The exact gradient (mk NULL) or the estimator under mk. */
static int run(const sus_attn *a, const sus_mask *mk, long prec, sus_grads *out,
               sus_grads *mag, sus_cert *cert, sus_error *err)
{
    int rc = sus_attn_check(a, err);
    if (rc)
        return rc;
    if (mk && (rc = sus_mask_check(mk, &a->shape, a->causal, err)))
        return rc;
    if (prec < SUS_MPFR_MIN_PREC || prec > SUS_MPFR_MAX_PREC)
        return sus_i_fail(err, SUS_ERR_INVAL, "precision %ld bits is outside [%d, %d]",
                          prec, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC);
    if (!out || !out->o || !out->lse || !out->dq || !out->dk || !out->dv)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_grad: NULL output array");
    if (mag && (!mag->o || !mag->lse || !mag->dq || !mag->dk || !mag->dv))
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_grad: NULL magnitude array");
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    const mpfr_prec_t p = (mpfr_prec_t)prec;

    certifier c = {.factor = CERT_FACTOR * sus_bound_k(sh), .p = p};
    mpfr_init2(c.e, SUS_I_MAG_PREC);
    mpfr_inits2(p, c.lo, c.hi, (mpfr_ptr)0);
    mpfr_t scale;
    mpfr_init2(scale, p);
    mpfr_set_d(scale, a->scale, MPFR_RNDN);

    sus_i_mp_head_in in = {0};
    sus_i_mp_head_out val = {0}, mg = {0};
    sus_i_mp_cert_mag cm = {sus_i_mp_new((size_t)(n * d), SUS_I_MAG_PREC),
                            sus_i_mp_new((size_t)(m * d), SUS_I_MAG_PREC),
                            sus_i_alloc_array((size_t)(n * dv), 1),
                            sus_i_alloc_array((size_t)n, 1),
                            sus_i_alloc_array((size_t)(n * d), 1),
                            sus_i_alloc_array((size_t)(m * d), 1),
                            sus_i_alloc_array((size_t)(m * dv), 1)};
    int have_val = 0, have_mag = 0;
    rc = SUS_ERR_NOMEM;
    if (sus_i_mp_head_out_init(&val, n, m, d, dv, p) == 0)
        have_val = 1;
    if (have_val && sus_i_mp_head_out_init(&mg, n, m, d, dv, SUS_I_MAG_PREC) == 0)
        have_mag = 1;
    if (!have_mag || !cm.dq || !cm.dk || !cm.xo || !cm.xlse || !cm.xdq || !cm.xdk ||
        !cm.xdv)
        goto nomem;
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++) {
            sus_i_head_off off = sus_i_head_offsets(sh, b, h);
            sus_i_head_mask hm = {0};
            if (mk)
                hm = (sus_i_head_mask){mk->indptr + off.row, mk->indices, mk->wtilde};
            if (sus_i_mp_head_load(&in, a, b, h, scale, p) ||
                sus_i_mp_head_grad_cert(&in, mk ? &hm : NULL, &val, &mg, &cm))
                goto nomem;
            if ((rc = deliver_array(&c, val.o, cm.xo, mg.o, mg.o, (size_t)(n * dv), "O",
                                    off.o, out->o, mag ? mag->o : NULL, err)) ||
                (rc = deliver_array(&c, val.lse, cm.xlse, mg.lse, mg.lse, (size_t)n,
                                    "lse", off.row, out->lse, mag ? mag->lse : NULL,
                                    err)) ||
                (rc = deliver_array(&c, val.dq, cm.xdq, cm.dq, mg.dq, (size_t)(n * d),
                                    "dQ", off.q, out->dq, mag ? mag->dq : NULL, err)) ||
                (rc = deliver_array(&c, val.dk, cm.xdk, cm.dk, mg.dk, (size_t)(m * d),
                                    "dK", off.k, out->dk, mag ? mag->dk : NULL, err)) ||
                (rc = deliver_array(&c, val.dv, cm.xdv, mg.dv, mg.dv, (size_t)(m * dv),
                                    "dV", off.v, out->dv, mag ? mag->dv : NULL, err)))
                goto done;
            sus_i_mp_head_unload(&in);
        }
    rc = SUS_OK;
    if (cert)
        *cert = c.cert;
    if (c.cert.uncertain && !cert)
        rc = sus_i_fail(err, SUS_ERR_RANGE,
                        "%zu elements could not be certified to round correctly to "
                        "double at %ld bits; first: %s[%zu]",
                        c.cert.uncertain, prec, c.cert.first_name, c.cert.first_index);
    else
        sus_i_ok(err);
    goto done;
nomem:
    rc = sus_i_fail(err, SUS_ERR_NOMEM, "sus_mpfr_grad: out of memory");
done:
    sus_i_mp_head_unload(&in);
    if (have_val)
        sus_i_mp_head_out_clear(&val, n, m, d, dv);
    if (have_mag)
        sus_i_mp_head_out_clear(&mg, n, m, d, dv);
    sus_i_mp_free(cm.dq, (size_t)(n * d));
    sus_i_mp_free(cm.dk, (size_t)(m * d));
    free(cm.xo);
    free(cm.xlse);
    free(cm.xdq);
    free(cm.xdk);
    free(cm.xdv);
    mpfr_clears(c.e, c.lo, c.hi, scale, (mpfr_ptr)0);
    return rc;
}

int sus_mpfr_grad(const sus_attn *a, long prec, sus_grads *out, sus_grads *mag,
                  sus_cert *cert, sus_error *err)
{
    return run(a, NULL, prec, out, mag, cert, err);
}

int sus_mpfr_estimate(const sus_attn *a, const sus_mask *mk, long prec, sus_grads *out,
                      sus_grads *mag, sus_cert *cert, sus_error *err)
{
    if (!mk)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_estimate: NULL mask");
    return run(a, mk, prec, out, mag, cert, err);
}
