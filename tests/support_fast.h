/*
 * support_fast.h: helpers for the tests of fast/.
 *
 * These helpers use only ref/, core/ and the types of sus.h: they call no
 * sus_fast_* function, so that every test binary (all of them link the
 * support files) links whatever part of fast/ exists.
 *
 * A sus_tf_problem holds one attention problem twice: in double for the
 * reference (t->p) and in the dtype that fast/ computes in (t->fp). For
 * float32 the double inputs are the float-rounded values, so that the
 * reference and fast/ see exactly the same numbers.
 */
#ifndef SUS_TESTS_SUPPORT_FAST_H
#define SUS_TESTS_SUPPORT_FAST_H

#include "support_problem.h"

typedef struct sus_tf_problem {
    sus_t_problem p; /* double inputs; p.exact/p.mag: see sus_tf_exact_grad */
    sus_dtype dtype;
    void *q, *k, *v, *dout; /* the inputs in dtype */
    sus_fast_problem fp;    /* points at them */
    double *W;              /* scores: exact W (see sus_tf_weights) */
    double *cond;           /* scores: 1 + |S_ij|_mag + sigma_i (0 where masked) */
} sus_tf_problem;

/* Outputs of fast/ in the problem's dtype. */
typedef struct sus_tf_out {
    void *o, *lse, *dq, *dk, *dv;
} sus_tf_out;

/* Bytes per element, unit roundoff (2^-24, 2^-53) and smallest normal
 * number of a float dtype. */
size_t sus_tf_size(sus_dtype dt);
double sus_tf_unit(sus_dtype dt);
double sus_tf_tiny(sus_dtype dt);
const char *sus_tf_name(sus_dtype dt);

/* Allocates a zeroed problem of shape sh in dtype dt; 0 on success. */
int sus_tf_alloc(sus_tf_problem *t, sus_shape sh, sus_dtype dt, int causal);
void sus_tf_free(sus_tf_problem *t);

/* Rounds t->p's double inputs to the dtype (in place) and copies them to
 * the dtype arrays; call after changing t->p.q etc. Also sets fp.scale
 * and fp.causal from t->p.a. Clears cached weights. */
void sus_tf_sync(sus_tf_problem *t);

/* Normal inputs: Q, K with standard deviation sd_qk, V and dO with 1;
 * then sus_tf_sync. */
void sus_tf_fill(sus_tf_problem *t, sus_t_rng *r, double sd_qk);

/* Computes t->W (the exact weights: MPFR at 160 bits for float64, the
 * double reference for float32, as DESIGN.md 3 allows when u is float32's)
 * and t->cond. Idempotent until the next sus_tf_sync. */
void sus_tf_weights(sus_tf_problem *t);

/* The exact forward and exact gradient into t->p.exact and their
 * magnitudes into t->p.mag: sus_mpfr_grad (128 bits) for float64,
 * sus_ref_grad and sus_ref_grad_mag for float32. */
void sus_tf_exact_grad(sus_tf_problem *t);

/* The estimator under mk, exact values into t->p.exact and magnitudes into
 * t->p.mag: sus_mpfr_estimate (128 bits) for float64 (or, if mpfr is 0,
 * the double reference: only for tests that say why), sus_ref_estimate
 * and sus_ref_estimate_mag for float32. */
void sus_tf_exact_estimate(sus_tf_problem *t, const sus_mask *mk, int mpfr);

/* A zeroed sus_grads of sizes z (every member), its free, and a copy. */
int sus_tf_grads_alloc(sus_grads *g, const sus_sizes *z);
void sus_tf_grads_free(sus_grads *g);
void sus_tf_grads_copy(sus_grads *dst, const sus_grads *src, const sus_sizes *z);

int sus_tf_out_alloc(sus_tf_out *o, const sus_tf_problem *t);
void sus_tf_out_free(sus_tf_out *o);
/* Fills every output with a NaN pattern, so that an output fast/ leaves
 * unwritten is caught. */
void sus_tf_out_poison(sus_tf_out *o, const sus_tf_problem *t);

/* Widens count dtype elements to double. */
void sus_tf_widen(sus_dtype dt, const void *src, double *dst, size_t count);

/* fast/'s O and lse against t->p.exact / t->p.mag (sus_tf_exact_grad) within
 * the DESIGN.md 3 bound for the dtype's u. */
void sus_tf_check_forward(sus_tf_problem *t, const sus_tf_out *o, const char *what,
                          const char *file, int line);
#define check_forward(t, o, what)                                                      \
    sus_tf_check_forward((t), (o), (what), __FILE__, __LINE__)

/* fast/'s dQ, dK, dV against t->p.exact / t->p.mag within the bound. */
void sus_tf_check_grads(sus_tf_problem *t, const sus_tf_out *o, const char *what,
                        const char *file, int line);
#define check_grads(t, o, what) sus_tf_check_grads((t), (o), (what), __FILE__, __LINE__)

/* Two outputs bit for bit (memcmp), every array. */
void sus_tf_check_identical(const sus_tf_problem *t, const sus_tf_out *a,
                            const sus_tf_out *b, int grads, const char *what,
                            const char *file, int line);
#define check_identical(t, a, b, grads, what)                                          \
    sus_tf_check_identical((t), (a), (b), (grads), (what), __FILE__, __LINE__)

/* Two masks bit for bit (rows, nnz, indptr, indices, wtilde). */
void sus_tf_check_same_mask(const sus_mask *a, const sus_mask *b, const char *what,
                            const char *file, int line);
#define check_same_mask(a, b, what)                                                    \
    sus_tf_check_same_mask((a), (b), (what), __FILE__, __LINE__)

/*
 * The mask of fast/ against the canonical mask (sus_ref_mask with minc, c,
 * seed, on t->p's double inputs):
 *  - got must be well-formed (sus_mask_check); for float32 every wtilde
 *    must be a float32 value (sus.h: the dtype's W~ widened to double) or
 *    the floor 1/c in double (W~ = max(W, 1/c) with the dtype's W);
 *  - an entry in exactly one of the two masks must be borderline:
 *        |u_ij - q_ij| <= tau k u cond_ij q_ij + c tiny,
 *    q the canonical q (sus_ref_probs), u the dtype's unit roundoff,
 *    cond_ij = 1 + |S_ij|_mag + sigma_i. Why: q = min(1, c W), and the
 *    dtype's W has relative error at most tau k u cond_ij by the DESIGN.md 3
 *    model (|W_ij|_mag = W_ij cond_ij), so a q computed in the dtype can
 *    only fall on the other side of u when u is that close to q. tiny, the
 *    dtype's smallest normal, is the absolute accuracy of a weight below
 *    the normal range. For float64 any mismatch fails (none is expected
 *    on random inputs: the band is about 1e-13 q wide), unless
 *    f64_borderline_ok;
 *  - an entry in both must have wtilde within the bound of max(W, 1/c)
 *    with magnitude max(W, 1/c) cond_ij (+ tiny, absolutely), W exact.
 * Returns the number of borderline mismatches and adds them, the kept
 * count and the worst ratio to *acc (if not NULL); fails the test
 * otherwise.
 */
typedef struct sus_tf_border {
    int64_t count; /* borderline mismatches */
    int64_t kept;  /* entries of the fast masks compared */
    double worst;  /* the largest |u - q| / band among them */
} sus_tf_border;

int64_t sus_tf_check_mask(sus_tf_problem *t, double c, uint64_t seed,
                          const sus_mask *got, int f64_borderline_ok,
                          sus_tf_border *acc, const char *what, const char *file,
                          int line);
#define check_mask(t, c, seed, got, acc, what)                                         \
    sus_tf_check_mask((t), (c), (seed), (got), 0, (acc), (what), __FILE__, __LINE__)
/* The same for inputs built so that u is within rounding of q (where
 * float64 too may have borderline mismatches). */
#define check_mask_adversarial(t, c, seed, got, acc, what)                             \
    sus_tf_check_mask((t), (c), (seed), (got), 1, (acc), (what), __FILE__, __LINE__)

/* Number of entries allowed (j <= i when causal) over all heads. */
int64_t sus_tf_allowed(const sus_tf_problem *t);

/* A context with this configuration, or NULL where the CPU lacks the SIMD
 * level (AVX2, AVX512); any other refusal fails the test. */
sus_fast_ctx *sus_tf_new_ctx(int threads, sus_simd simd, int64_t bq, int64_t bk);

#endif
