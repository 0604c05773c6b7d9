/*
 * mp_moments.h: exact moments of the SUS estimator for one head in MPFR,
 * by the closed forms of DESIGN.md 2.5 and by enumerating every mask
 * (internal to ref/ and its tests).
 *
 * Both take the head's keep probabilities q (n*m doubles, from the rule in
 * double) as exact numbers: the estimator they describe keeps (i, j) with
 * probability q_ij and then weighs it by W_ij / q_ij, W the exact weight.
 */
#ifndef SUS_REF_MP_MOMENTS_H
#define SUS_REF_MP_MOMENTS_H

#include "mp_head.h"

typedef struct sus_i_mp_moments {
    sus_i_mp_head_out mean; /* o, lse: the exact forward */
    sus_i_mp_head_out var;  /* dq, dk, dv used; o and lse unused */
    mpfr_t *nnz;            /* n: expected kept count per row */
    mpfr_t fvar;            /* variance of the functional, if one is given */
    int64_t n, m, d, dv;
} sus_i_mp_moments;

int sus_i_mp_moments_init(sus_i_mp_moments *mo, int64_t n, int64_t m, int64_t d,
                          int64_t dv, mpfr_prec_t prec);
void sus_i_mp_moments_clear(sus_i_mp_moments *mo);

/* A linear functional's coefficients for one head (sizes of Q, K, V);
 * any member may be NULL (zero). */
typedef struct sus_i_mp_functional {
    mpfr_t *rq, *rk, *rv;
} sus_i_mp_functional;

/* Closed forms. Returns 0, or -1 if out of memory. */
int sus_i_mp_head_moments(const sus_i_mp_head_in *in, const double *q,
                          const sus_i_mp_functional *R, sus_i_mp_moments *out);

/* Enumeration over all 2^U masks of the U entries with 0 < q < 1. Returns 0,
 * -1 if out of memory, -2 if U > SUS_ENUM_MAX_UNCERTAIN. */
int sus_i_mp_head_enumerate(const sus_i_mp_head_in *in, const double *q,
                            const sus_i_mp_functional *R, sus_i_mp_moments *out);

#endif
