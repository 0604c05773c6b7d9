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

/* The mask rows of one head: row i keeps keys indices[indptr[i] ..
 * indptr[i+1]) with values wtilde[...] (offsets are absolute). */
typedef struct sus_i_head_mask {
    const int64_t *indptr; /* n + 1 */
    const int64_t *indices;
    const double *wtilde;
} sus_i_head_mask;

/* Forward and backward of one head, each output at the precision of its
 * val element, rounded to nearest. With mk NULL the backward is the exact
 * gradient; otherwise it is the SUS estimator under mk (W~ in place of W,
 * D from the exact O). If mag is non-NULL it receives the magnitudes
 * |y|_mag of DESIGN.md 3 (as defined in ref_mag.c), rounded upward at mag's
 * precision. Returns 0, or -1 if out of memory. */
int sus_i_mp_head_grad(const sus_i_mp_head_in *in, const sus_i_head_mask *mk,
                       sus_i_mp_head_out *val, sus_i_mp_head_out *mag);

/* Magnitudes that bound the error of the MPFR values themselves, where they
 * differ from |y|_mag. A query row with a single allowed key has dS = 0
 * exactly, in truth and in MPFR: W = 1 and O_i = V_j exactly, so D_i and
 * dP_ij are the same operations on the same numbers. Its terms carry no
 * error, so they are left out here, while |y|_mag keeps them (another
 * implementation may well round there). Without this, every causal dQ row 0
 * would be reported as uncertain. */
typedef struct sus_i_mp_cert_mag {
    mpfr_t *dq, *dk; /* n*d, m*d, at mag precision */
    /* Exactness flags of every output: an exact MPFR value needs no error
     * bound at all (sums of a few doubles often are exact at 256 bits, and
     * may fall on a midpoint between two doubles, where no interval of
     * positive width could certify the rounding). */
    unsigned char *xo, *xlse, *xdq, *xdk, *xdv;
} sus_i_mp_cert_mag;

/* sus_i_mp_head_grad, also filling cert (requires mag non-NULL). */
int sus_i_mp_head_grad_cert(const sus_i_mp_head_in *in, const sus_i_head_mask *mk,
                            sus_i_mp_head_out *val, sus_i_mp_head_out *mag,
                            sus_i_mp_cert_mag *cert);

/* One query row's exact quantities, for modules that need them per entry
 * (moments, enumeration): S, W, dP = dO_i . V_j and dS = W (dP - D), each
 * m long (zero where causally masked), and D. */
typedef struct sus_i_mp_row {
    int64_t m;
    mpfr_t *S, *W, *dP, *dS;
    mpfr_t D, Z, M, tmp;
    /* 1 where the MPFR value is certainly exact: every operation that
     * produced it returned a zero ternary value, on exact operands. */
    unsigned char *Wx, *dPx, *dSx;
    int Dx;
} sus_i_mp_row;

int sus_i_mp_row_init(sus_i_mp_row *r, int64_t m, mpfr_prec_t p);
void sus_i_mp_row_clear(sus_i_mp_row *r);

/* Computes row i's S, W, dP, dS and D into r, lse_i into lse and O_i into
 * o (dv numbers). If ox is non-NULL it receives O_i's exactness flags (dv)
 * and *lsex lse_i's. */
void sus_i_mp_row_exact(const sus_i_mp_head_in *in, int64_t i, sus_i_mp_row *r,
                        mpfr_t *o, mpfr_ptr lse, unsigned char *ox, int *lsex);

/* Loads head (b, h) of a (validated) problem into in, as exact MPFR copies
 * at prec bits; scale must be initialized by the caller and outlive in.
 * Returns 0, or -1 if out of memory (in then holds nothing). */
struct sus_attn;
int sus_i_mp_head_load(sus_i_mp_head_in *in, const struct sus_attn *a, int64_t b,
                       int64_t h, mpfr_srcptr scale, mpfr_prec_t prec);
void sus_i_mp_head_unload(sus_i_mp_head_in *in);

#endif
