/*
 * ref_internal.h: pieces shared inside ref/ (not public). The double
 * reference recomputes the forward of one head into these buffers, so that
 * the gradient and the magnitudes read the same W.
 */
#ifndef SUS_REF_INTERNAL_H
#define SUS_REF_INTERNAL_H

#include "sus.h"

/* The smallest positive subnormal double. An attention weight below the
 * normal range is known only to this absolute accuracy, so every allowed
 * weight's magnitude carries it as a floor (see sus_ref_grad_mag). */
#define SUS_I_UNDERFLOW_FLOOR 0x1p-1074

/* Causal masking with PyTorch's is_causal: key j is visible to query i iff
 * j <= i. */
static inline int sus_i_allowed(int causal, int64_t i, int64_t j)
{
    return !causal || j <= i;
}

/* One head's forward in double: S (n*m, -inf where masked), W (n*m, 0 where
 * masked) and lse (n). Returns SUS_ERR_RANGE, naming the head and element,
 * if a logit overflows double. */
typedef struct sus_i_head_fwd {
    double *S, *W, *lse;
} sus_i_head_fwd;

int sus_i_ref_head_forward(const sus_attn *a, int64_t b, int64_t h, sus_i_head_fwd *f,
                           sus_error *err);

/* Offsets of head (b, h) into the Q/K/V/dO/O/lse arrays. */
typedef struct sus_i_head_off {
    size_t q, k, v, o, row;
} sus_i_head_off;

sus_i_head_off sus_i_head_offsets(const sus_shape *s, int64_t b, int64_t h);

/* One head's O, lse, D and backward: O from f->W, the backward (dS and dV)
 * from the weights Wb (n*m): f->W for the exact gradient, the dense W~ of a
 * mask for the estimator. D (n) and dS (n*m) are scratch. */
void sus_i_ref_head_backward(const sus_attn *a, int64_t b, int64_t h,
                             const sus_i_head_fwd *f, const double *Wb, double *D,
                             double *dS, sus_grads *out);

/* Magnitudes to match: forward magnitudes from f->W, backward from Wb with
 * kept[i*m + j] != 0 marking kept entries (NULL: every allowed entry). Wm,
 * Wbm (may alias Wm when Wb is f->W and kept is NULL), dSm are n*m scratch,
 * Dm n. */
void sus_i_ref_head_mag(const sus_attn *a, int64_t b, int64_t h,
                        const sus_i_head_fwd *f, const double *Wb,
                        const unsigned char *kept, double *Wm, double *Wbm, double *Dm,
                        double *dSm, sus_grads *mag);

/* Runs the double reference over every head: the exact gradient (mk NULL)
 * or the estimator under mk; its magnitudes instead when want_mag. */
int sus_i_ref_run(const sus_attn *a, const sus_mask *mk, sus_grads *out, int want_mag,
                  sus_error *err);

/* SUS_ERR_RANGE, naming the first non-finite output, or SUS_OK. */
int sus_i_ref_check_finite_out(const sus_grads *out, const sus_sizes *z,
                               sus_error *err);

#endif
