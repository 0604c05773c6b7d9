/*
 * mp_head.h: one attention head in MPFR (internal to ref/ and its tests).
 *
 * Inputs are MPFR numbers, not doubles, so that tests can perturb them
 * (finite differences) and later modules can reuse the same evaluation.
 */
#ifndef SUS_REF_MP_HEAD_H
#define SUS_REF_MP_HEAD_H

#include <stdint.h>
#include <mpfr.h>

/* Magnitudes are upper estimates that only scale error bounds; 64 bits
 * rounded upward is far more than they need. */
#define SUS_I_MAG_PREC 64

/* count MPFR numbers at prec, set to +0; NULL if out of memory. */
mpfr_t *sus_i_mp_new(size_t count, mpfr_prec_t prec);
void sus_i_mp_free(mpfr_t *v, size_t count);

typedef struct sus_i_mp_head_in {
    int64_t n, m, d, dv;
    int causal;
    mpfr_srcptr scale;
    mpfr_t *q, *k, *v, *dout; /* n*d, m*d, m*dv, n*dv */
} sus_i_mp_head_in;

typedef struct sus_i_mp_head_out {
    mpfr_t *o, *lse, *dq, *dk, *dv; /* n*dv, n, n*d, m*d, m*dv */
} sus_i_mp_head_out;

/* Allocates every member at prec; returns 0 on success, -1 on failure
 * (and then *out holds nothing to free). */
int sus_i_mp_head_out_init(sus_i_mp_head_out *out, int64_t n, int64_t m, int64_t d,
                           int64_t dv, mpfr_prec_t prec);
void sus_i_mp_head_out_clear(sus_i_mp_head_out *out, int64_t n, int64_t m, int64_t d,
                             int64_t dv);

/* Forward and exact backward of one head, each output at the precision of
 * its val element, rounded to nearest. If mag is non-NULL it receives the
 * magnitudes |y|_mag of DESIGN.md 3 (as defined in ref_mag.c), rounded
 * upward at mag's precision. Returns 0, or -1 if out of memory. */
int sus_i_mp_head_grad(const sus_i_mp_head_in *in, sus_i_mp_head_out *val,
                       sus_i_mp_head_out *mag);

#endif
