/*
 * sus.h: the public C API of sus, the oracle and verification suite for
 * SUS backprop. This is the only public header; every public name starts
 * with sus_ (or SUS_ for macros). The specification is DESIGN.md.
 *
 * Conventions:
 *  - Every function that can fail returns an int status: SUS_OK (0) or one
 *    of the sus_status codes; sus_strerror() explains a code.
 *  - Functions that can explain a failure in detail take a sus_error *, which
 *    may be NULL. On failure it receives the status and a one-line message
 *    that names the file or array, the argument and the reason.
 *  - Arrays are row-major (C order) with the shapes of DESIGN.md section 2:
 *    Q[B][H][n][d], K[B][H][m][d], V[B][H][m][dv], dO[B][H][n][dv].
 *  - Output buffers are allocated by the caller, sized by sus_shape_sizes().
 *  - There is no global mutable state; everything is reentrant.
 */
#ifndef SUS_H
#define SUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SUS_VERSION_MAJOR  0
#define SUS_VERSION_MINOR  1
#define SUS_VERSION_PATCH  0
#define SUS_VERSION_STRING "0.1.0"

/* The version of the library actually linked, which may differ from the
 * header's SUS_VERSION_STRING. */
const char *sus_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                  */
/* ------------------------------------------------------------------------ */

typedef enum sus_status {
    SUS_OK = 0,
    SUS_ERR_INVAL,       /* an argument is invalid (NULL, out of range) */
    SUS_ERR_SHAPE,       /* array shapes are inconsistent */
    SUS_ERR_OVERFLOW,    /* a size computation would overflow */
    SUS_ERR_NOMEM,       /* out of memory */
    SUS_ERR_IO,          /* a file could not be read or written */
    SUS_ERR_FORMAT,      /* a file or buffer is malformed */
    SUS_ERR_NONFINITE,   /* an input holds NaN or an infinity */
    SUS_ERR_RANGE,       /* a result is not representable as a finite double */
    SUS_ERR_UNSUPPORTED, /* valid, but not supported by this implementation */
    SUS_STATUS_COUNT     /* number of codes; not a status */
} sus_status;

/* A static, human-readable explanation of a status code; never NULL. */
const char *sus_strerror(int status);

#define SUS_ERRMSG_LEN 512

typedef struct sus_error {
    int status;               /* the code that was returned */
    char msg[SUS_ERRMSG_LEN]; /* one line, no trailing newline */
} sus_error;

/* ------------------------------------------------------------------------ */
/* Shapes                                                                   */
/* ------------------------------------------------------------------------ */

/* Problem dimensions. Every dimension must be >= 1. */
typedef struct sus_shape {
    int64_t B, H; /* batch and heads */
    int64_t n, m; /* queries and keys */
    int64_t d;    /* query/key width */
    int64_t dv;   /* value width */
} sus_shape;

/* Element counts of every array of a problem, each checked for overflow. */
typedef struct sus_sizes {
    size_t q;      /* B*H*n*d:  Q, dQ */
    size_t k;      /* B*H*m*d:  K, dK */
    size_t v;      /* B*H*m*dv: V, dV */
    size_t o;      /* B*H*n*dv: dO, O */
    size_t rows;   /* B*H*n:    lse, and the number of mask rows */
    size_t scores; /* B*H*n*m: the number of (query, key) pairs */
} sus_sizes;

/* Validates sh (every dimension >= 1) and computes every element count with
 * overflow checks, including that the byte size of each array fits size_t. */
int sus_shape_sizes(const sus_shape *sh, sus_sizes *out, sus_error *err);

/* The default scale 1/sqrt(d), as the double nearest to it. */
double sus_default_scale(int64_t d);

/* ------------------------------------------------------------------------ */
/* Attention problems and gradients                                         */
/* ------------------------------------------------------------------------ */

/* One attention problem in double. scale must be finite (use
 * sus_default_scale(d) for the default). causal != 0 applies PyTorch's
 * is_causal convention: query i attends to key j only if j <= i. */
typedef struct sus_attn {
    sus_shape shape;
    double scale;
    int causal;
    const double *q, *k, *v, *dout;
} sus_attn;

/* Forward outputs and gradients; caller-allocated, sized by sus_sizes
 * (o: sizes.o, lse: sizes.rows, dq: sizes.q, dk: sizes.k, dv: sizes.v).
 * A NULL member is not computed (or not written) where a function says so. */
typedef struct sus_grads {
    double *o, *lse, *dq, *dk, *dv;
} sus_grads;

/* Validates an attention problem: shape, non-NULL inputs, finite scale,
 * finite inputs (the first non-finite element is named in err). */
int sus_attn_check(const sus_attn *a, sus_error *err);

/* The double-precision reference (ref/): forward O and lse, and the exact
 * backward dQ, dK, dV of DESIGN.md 2.1, one plain loop nest per formula.
 * Every member of out must be non-NULL. Returns SUS_ERR_RANGE if a result
 * is not finite in double (logits too large for double). */
int sus_ref_grad(const sus_attn *a, sus_grads *out, sus_error *err);

/* The magnitudes |y|_mag of DESIGN.md 3 for every output of sus_ref_grad,
 * computed in double. W's magnitude carries the conditioning of exp:
 * |W_ij|_mag = W_ij (1 + |S_ij|_mag + max_k |S_ik|_mag), where
 * |S_ij|_mag = |s| sum_nu |Q_i nu| |K_j nu|, because an absolute error in a
 * logit is a relative error in W. |lse_i|_mag = 1 + max_k |S_ik|_mag +
 * log(allowed keys). The others follow DESIGN.md 3 with |W|_mag for W. */
int sus_ref_grad_mag(const sus_attn *a, sus_grads *mag, sus_error *err);

/* How many elements of an MPFR result could not be certified. */
typedef struct sus_cert {
    size_t uncertain;       /* elements whose rounding to double is not certain */
    const char *first_name; /* "O", "lse", "dQ", "dK" or "dV"; NULL if none */
    size_t first_index;     /* flat index of the first uncertain element */
} sus_cert;

#define SUS_MPFR_DEFAULT_PREC 256
#define SUS_MPFR_MIN_PREC     64
#define SUS_MPFR_MAX_PREC     65536

/* The MPFR reference: the same computations as sus_ref_grad at prec bits.
 * Each result is delivered as the double nearest to the MPFR value. The
 * rounding is certified: from a rigorous error bound of the MPFR evaluation
 * (proportional to |y|_mag and 2^-prec), the interval around the MPFR value
 * is rounded at both ends; an element whose two ends round to different
 * doubles is uncertain. Uncertain elements are still delivered (as the
 * nearest double to the MPFR value) but counted in cert, which must then be
 * consulted; cert may be NULL only if the caller treats any uncertainty as
 * an error, in which case SUS_ERR_RANGE is returned for it.
 * mag, if non-NULL, receives |y|_mag evaluated in MPFR (rounded upward).
 * Returns SUS_ERR_RANGE if a result overflows double. */
int sus_mpfr_grad(const sus_attn *a, long prec, sus_grads *out, sus_grads *mag,
                  sus_cert *cert, sus_error *err);

/* The DESIGN.md 3 bound: passes iff |got - exact| <= tau * k * u * mag.
 * sus_bound_k returns the chain length k = n + m + d + dv + 10. */
#define SUS_TAU 4.0
double sus_bound_k(const sus_shape *sh);
int sus_within_bound(double got, double exact, double mag, double tau, double k,
                     double u);

/* ------------------------------------------------------------------------ */
/* The canonical random stream (DESIGN.md 2.4)                              */
/* ------------------------------------------------------------------------ */

/* Philox4x32 with 10 rounds (Salmon et al., SC'11): out = philox(ctr, key). */
void sus_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The canonical uniform u_ij of DESIGN.md 2.4 for head (b, h), query i and
 * key j: key (seed mod 2^32, seed div 2^32), counter (j div 2, i, h, b),
 * words (w0, w1) for even j and (w2, w3) for odd j,
 * k = (x >> 5) 2^26 + (y >> 6), u = k 2^-53 in [0, 1).
 * b, h, i and j div 2 must each be below 2^32 (else SUS_ERR_INVAL). */
int sus_canonical_uniform(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j,
                          double *u);

/* ------------------------------------------------------------------------ */
/* The SUS estimator (DESIGN.md 2.2-2.5)                                    */
/* ------------------------------------------------------------------------ */

/* A rule turns one row of attention weights into keep probabilities.
 * w[0..len) are the weights of the row's allowed keys (finite, >= 0); c > 0
 * is the budget (INFINITY allowed). It writes q[t] in [0, 1] and wtilde[t],
 * the value W~ = w/q an entry takes when kept (0 where q = 0). Both rules
 * give q = 1 everywhere when c = inf (the estimator is then the exact
 * gradient), and q = 0 for a weight that underflowed to 0 when c is finite.
 * Returns SUS_OK, SUS_ERR_INVAL (c NaN or <= 0), or SUS_ERR_NOMEM. */
typedef int (*sus_rule_fn)(const double *w, int64_t len, double c, double *q,
                           double *wtilde);

typedef struct sus_rule {
    const char *name;
    sus_rule_fn row;
} sus_rule;

/* minc (the paper's, the default): q = min(1, c w), W~ = max(w, 1/c). */
extern const sus_rule sus_rule_minc;
/* waterfill: q = min(1, w/t), W~ = max(w, t), with t the threshold at which
 * sum q = min(c, number of positive weights); see ref/rule_waterfill.c. */
extern const sus_rule sus_rule_waterfill;

/* The rule named name ("minc", "waterfill"), or NULL. */
const sus_rule *sus_rule_find(const char *name);

/* The index-th registered rule (0, 1, ...), or NULL past the last: for
 * listing the valid names. */
const sus_rule *sus_rule_at(size_t index);

/* A mask: one CSR over all B*H*n query rows, row r = (b*H + h)*n + i
 * (DESIGN.md 4). indices are key indices j, strictly ascending in a row;
 * wtilde the W~ values. Produced by sus_ref_mask (free with
 * sus_mask_free), or filled by a caller from its own arrays. */
typedef struct sus_mask {
    int64_t rows;
    int64_t nnz;
    int64_t *indptr;  /* rows + 1 */
    int64_t *indices; /* nnz */
    double *wtilde;   /* nnz */
} sus_mask;

void sus_mask_free(sus_mask *mk);

/* Well-formedness of a mask for a problem of shape sh: rows = B*H*n,
 * indptr[0] = 0, non-decreasing, indptr[rows] = nnz; indices in [0, m),
 * strictly ascending within a row (so no duplicates), j <= i when causal;
 * wtilde finite and >= 0. err names the first violation. */
int sus_mask_check(const sus_mask *mk, const sus_shape *sh, int causal, sus_error *err);

/* Dense keep probabilities and W~ of every (row, key) pair, from the double
 * reference's W: q and wtilde each hold B*H*n*m doubles (0 where masked).
 * Only a->q and a->k are read (v and dout may be NULL). */
int sus_ref_probs(const sus_attn *a, const sus_rule *rule, double c, double *q,
                  double *wtilde, sus_error *err);

/* The canonical mask (DESIGN.md 2.4): entry (i, j) of head (b, h) is kept
 * iff u_ij < q_ij, with q from sus_ref_probs. Only a->q and a->k are read. */
int sus_ref_mask(const sus_attn *a, const sus_rule *rule, double c, uint64_t seed,
                 sus_mask *out, sus_error *err);

/* The estimator under a mask (DESIGN.md 2.2), in double: out->o and
 * out->lse receive the exact forward; dq, dk, dv the estimates dQ~, dK~,
 * dV~ with D_i from the exact O. The mask is checked first. */
int sus_ref_estimate(const sus_attn *a, const sus_mask *mk, sus_grads *out,
                     sus_error *err);

/* Magnitudes of the estimator's outputs: as sus_ref_grad_mag, with
 * |W~_ij|_mag = W~_ij (1 + |S_ij|_mag + sigma_i) + 2^-1074 on kept entries. */
int sus_ref_estimate_mag(const sus_attn *a, const sus_mask *mk, sus_grads *mag,
                         sus_error *err);

/* The estimator under a mask in MPFR, delivered and certified as
 * sus_mpfr_grad does. The mask's wtilde values are taken as exact. */
int sus_mpfr_estimate(const sus_attn *a, const sus_mask *mk, long prec, sus_grads *out,
                      sus_grads *mag, sus_cert *cert, sus_error *err);

/* Exact moments of the estimator whose mask keeps (i, j) with probability
 * q_ij and value W_ij / q_ij, where q is sus_ref_probs' double q and W the
 * exact weight: computed in MPFR at prec bits, rounded to nearest double.
 * mean.dq/dk/dv = E[dQ~], E[dK~], E[dV~] (mean.o and mean.lse, if not NULL,
 * receive the exact forward); var.dq/dk/dv the per-element variances (DESIGN.md 2.5;
 * var.o and var.lse may be NULL and are not written); nnz_row[B*H*n] the
 * expected kept count per row; *nnz_total their sum. */
typedef struct sus_moments {
    sus_grads mean;
    sus_grads var;
    double *nnz_row;
    double nnz_total;
} sus_moments;

int sus_mpfr_moments(const sus_attn *a, const sus_rule *rule, double c, long prec,
                     sus_moments *out, sus_error *err);

/* The variance of the linear functional L = <rq, dQ~> + <rk, dK~> +
 * <rv, dV~> (DESIGN.md 2.5, shared-mask cross terms included), in MPFR.
 * rq, rk, rv have the sizes of Q, K, V; any may be NULL (zero). */
int sus_mpfr_functional_var(const sus_attn *a, const sus_rule *rule, double c,
                            const double *rq, const double *rk, const double *rv,
                            long prec, double *var, sus_error *err);

/* The same moments by exhaustive enumeration of every mask, weighted by its
 * probability, in MPFR: for cross-checking the closed forms. Refuses
 * (SUS_ERR_UNSUPPORTED) a problem with more than SUS_ENUM_MAX_UNCERTAIN
 * entries with 0 < q < 1. */
#define SUS_ENUM_MAX_UNCERTAIN 20
int sus_mpfr_enumerate(const sus_attn *a, const sus_rule *rule, double c, long prec,
                       sus_moments *out, sus_error *err);

/* ------------------------------------------------------------------------ */
/* Arrays and .npy files (DESIGN.md 4)                                      */
/* ------------------------------------------------------------------------ */

typedef enum sus_dtype {
    SUS_DTYPE_F4 = 1, /* '<f4' */
    SUS_DTYPE_F8,     /* '<f8' */
    SUS_DTYPE_I4,     /* '<i4' */
    SUS_DTYPE_I8      /* '<i8' */
} sus_dtype;

#define SUS_NPY_MAXDIM 16

/* A dense C-order array that owns its data. */
typedef struct sus_array {
    sus_dtype dtype;
    int ndim; /* 0..SUS_NPY_MAXDIM */
    int64_t shape[SUS_NPY_MAXDIM];
    size_t count; /* product of shape (1 for ndim 0) */
    void *data;   /* count elements, host byte order */
} sus_array;

/* Size in bytes of one element of dtype, or 0 if dtype is invalid. */
size_t sus_dtype_size(sus_dtype dtype);

/* Refuse float arrays holding NaN or an infinity, naming the first one. */
#define SUS_NPY_FINITE 1u

/* Parses a whole .npy image from memory. name is used in messages (for
 * example the file name). Accepts versions 1.0, 2.0, 3.0; dtypes <f4 <f8
 * <i4 <i8 (and '|' or '=' byte order for nothing: only '<'); C order only.
 * Refuses, with the reason in err: bad magic, unsupported version, a header
 * that is too long or malformed, Fortran order, big-endian or unsupported
 * dtypes, shape products that overflow, truncated data, trailing bytes, and
 * (with SUS_NPY_FINITE) non-finite values. On success *out owns its data. */
int sus_npy_parse(const void *buf, size_t len, const char *name, unsigned flags,
                  sus_array *out, sus_error *err);

/* Reads and parses a .npy file (see sus_npy_parse). */
int sus_npy_read(const char *path, unsigned flags, sus_array *out, sus_error *err);

/* Encodes a as a version 1.0 .npy image (version 2.0 if the header needs
 * it) into a malloc'ed buffer that the caller frees. */
int sus_npy_encode(const sus_array *a, void **buf, size_t *len, sus_error *err);

/* Writes a to path atomically: a temporary file in the same directory,
 * flushed, then renamed over path. On failure path is untouched. */
int sus_npy_write(const char *path, const sus_array *a, sus_error *err);

/* Initializes *a as an array of the given dtype and shape, with zeroed
 * data. Checks the shape product and byte size for overflow. */
int sus_array_alloc(sus_array *a, sus_dtype dtype, int ndim, const int64_t *shape,
                    sus_error *err);

/* Frees a's data and zeroes *a. Safe on a zeroed or already freed array. */
void sus_array_free(sus_array *a);

/* Converts a float array (<f4 or <f8) to a newly malloc'ed double buffer. */
int sus_array_to_f64(const sus_array *a, const char *name, double **out,
                     sus_error *err);

/* ------------------------------------------------------------------------ */
/* The optimized implementation (fast/)                                      */
/* ------------------------------------------------------------------------ */

/* fast/ is independent of ref/: its own Philox, sampler and kernels, so that
 * comparing the two is a real differential check. It computes in float32
 * or float64 (the problem's dtype), tiles queries x keys with an online
 * softmax (no n x m matrix is ever allocated), draws the canonical minc
 * mask of DESIGN.md 2.4 with a streaming sampler fused into the forward,
 * and runs the SUS backward in O(nnz d). Results are bit-identical for any
 * thread count; other tile sizes or SIMD levels may change the last bits
 * (summation order, FMA), and the mask only at borderline entries. */

/* Instruction-set levels, for run-time dispatch. AUTO takes the best the
 * CPU supports; a lower level forces the kernels down (for testing). */
typedef enum sus_simd {
    SUS_SIMD_AUTO = 0,
    SUS_SIMD_PORTABLE, /* plain C */
    SUS_SIMD_AVX2,     /* AVX2 + FMA */
    SUS_SIMD_AVX512    /* AVX-512 F/DQ/VL/BW */
} sus_simd;

typedef struct sus_fast_config {
    int threads;     /* 0: the number of online CPUs */
    sus_simd simd;   /* AUTO, or a level to force (refused if unsupported) */
    int64_t block_q; /* query rows per tile; 0: default */
    int64_t block_k; /* keys per tile; 0: default */
} sus_fast_config;

/* A context owns the thread count, the SIMD level and every workspace, so
 * that repeated calls reuse memory (the first touch of fresh pages is slow
 * on these machines). One context must not be used by two threads at
 * once; separate contexts are independent. */
typedef struct sus_fast_ctx sus_fast_ctx;

int sus_fast_ctx_new(const sus_fast_config *cfg, sus_fast_ctx **out, sus_error *err);
void sus_fast_ctx_free(sus_fast_ctx *ctx);
sus_simd sus_fast_ctx_simd(const sus_fast_ctx *ctx); /* the level in use */
int sus_fast_ctx_threads(const sus_fast_ctx *ctx);   /* the thread count in use */
const char *sus_simd_name(sus_simd level);           /* "avx512", ... */

/* A problem for fast/: like sus_attn, with the arrays in dtype
 * (SUS_DTYPE_F4: float, SUS_DTYPE_F8: double); every output of fast/ for it
 * is in the same dtype. */
typedef struct sus_fast_problem {
    sus_shape shape;
    sus_dtype dtype;
    double scale;
    int causal;
    const void *q, *k, *v, *dout; /* dout may be NULL for the forward */
} sus_fast_problem;

typedef struct sus_fast_stats {
    int64_t nnz;           /* entries kept by the sampler */
    int64_t candidates;    /* candidate tests passed, over the whole sweep */
    int64_t max_in_flight; /* the most candidates held by one row at once */
} sus_fast_stats;

/* Forward: O (B*H*n*dv) and lse (B*H*n), and, for c > 0, the canonical minc
 * mask for (c, seed) drawn by the streaming sampler (c = INFINITY keeps
 * every allowed entry). c = 0 draws no mask: every row of sus_fast_mask is
 * then empty. stats may be NULL. The mask is owned by ctx. */
int sus_fast_forward(sus_fast_ctx *ctx, const sus_fast_problem *p, double c,
                     uint64_t seed, void *o, void *lse, sus_fast_stats *stats,
                     sus_error *err);

/* The mask drawn by the last sus_fast_forward on ctx; valid until the next
 * forward or free. wtilde holds max(W, 1/c): W in the dtype, widened to
 * double, or 1/c computed in double. */
const sus_mask *sus_fast_mask(const sus_fast_ctx *ctx);

/* SUS backward under mask mk (any well-formed mask, for example the one of
 * sus_fast_mask): D_i = dO_i . O_i from the given O, then for each kept
 * (i, j): t = W~ (dO_i . V_j - D_i); dQ_i += s t K_j; dK_j += s t Q_i;
 * dV_j += W~ dO_i. O(nnz d) time; deterministic. */
int sus_fast_sus_backward(sus_fast_ctx *ctx, const sus_fast_problem *p,
                          const sus_mask *mk, const void *o, void *dq, void *dk,
                          void *dv, sus_error *err);

/* Dense exact backward, flash-style (S recomputed by tiles from lse): the
 * baseline the SUS backward is measured against. */
int sus_fast_dense_backward(sus_fast_ctx *ctx, const sus_fast_problem *p, const void *o,
                            const void *lse, void *dq, void *dk, void *dv,
                            sus_error *err);

/* fast/'s own Philox4x32-10 and canonical uniform (the same function as
 * sus_canonical_uniform, implemented independently, vectorized): u[t] for
 * keys j0 .. j0+count-1 of row (b, h, i). Indices as for
 * sus_canonical_uniform. ctx only selects the SIMD level; NULL takes the
 * best level the CPU supports. */
int sus_fast_uniforms(const sus_fast_ctx *ctx, uint64_t seed, int64_t b, int64_t h,
                      int64_t i, int64_t j0, int64_t count, double *u);

/* ------------------------------------------------------------------------ */
/* Checking one run of another port (sus check, python/susref; issue 7)     */
/* ------------------------------------------------------------------------ */

/* A port's run: the inputs it used (a), its mask (indices and its own W~
 * values) and its outputs dQ~, dK~, dV~ (in double, sizes of Q, K, V).
 * sus_check_port compares it with the oracle:
 *  - the mask is well-formed (sus_mask_check); if not, nothing else is
 *    compared;
 *  - each kept entry's W~ agrees with the rule's W~ for c (sus_ref_probs)
 *    within tau k u cond_ij W~_ij + tiny, where cond_ij = 1 + |S_ij|_mag +
 *    sigma_i is W's conditioning (sus_ref_grad_mag), plus 1 + 2 sigma_i for
 *    rules other than minc (their threshold depends on the whole row), and
 *    tiny is the smallest normal number of the port's format (FLT_MIN when
 *    u >= 2^-24, else DBL_MIN): a weight below it is known only that well;
 *  - every output element agrees with the oracle's estimator under the
 *    port's mask, W~ as given (sus_mpfr_estimate at prec bits, or
 *    sus_ref_estimate when prec is 0), within the DESIGN.md 3 bound
 *    tau k u |y|_mag with the estimator's magnitudes;
 *  - with canonical set, the kept set equals the canonical mask of seed
 *    (sus_ref_mask), except at borderline entries, those with
 *    |u_ij - q_ij| <= tau k u cond_ij q_ij + tiny max_j'(q_ij'/W_ij'), the
 *    band within which a q computed in the port's precision can fall on
 *    the other side of u_ij (the last term: a weight below tiny).
 * Borderline entries are counted and listed, never failures. */
typedef struct sus_check_opts {
    const sus_rule *rule; /* NULL: minc */
    double c;             /* the port's budget, > 0, INFINITY allowed */
    double u;             /* the port's unit roundoff, in (0, 1) */
    int canonical;        /* non-zero: compare the kept set with seed's */
    uint64_t seed;
    long prec; /* MPFR bits for the oracle, or 0 for the double reference */
} sus_check_opts;

/* What is compared: the port's W~ values and its three outputs. */
typedef enum sus_check_part {
    SUS_CHECK_WTILDE = 0,
    SUS_CHECK_DQ,
    SUS_CHECK_DK,
    SUS_CHECK_DV,
    SUS_CHECK_PARTS
} sus_check_part;

/* One compared element: index is the flat index into the part (the entry
 * of the CSR for W~); bound = tau k u |y|_mag (+ tiny for W~); ratio =
 * |port - oracle| / bound (0 when equal, +inf when the bound is 0 or the
 * port's value is not finite). */
typedef struct sus_check_elem {
    size_t index;
    double port, oracle, bound, ratio;
} sus_check_elem;

#define SUS_CHECK_WORST  5  /* worst elements kept per part */
#define SUS_CHECK_LISTED 16 /* borderline (and mismatched) entries listed */

typedef struct sus_check_stats {
    size_t count;                          /* elements compared */
    size_t failed;                         /* outside the bound */
    size_t nworst;                         /* valid entries of worst */
    sus_check_elem worst[SUS_CHECK_WORST]; /* by descending ratio */
} sus_check_stats;

/* An entry kept by exactly one of the port's and the canonical mask. */
typedef struct sus_check_entry {
    int64_t b, h, i, j;
    int port_kept; /* 1: kept by the port only; 0: by the canonical mask only */
    double u, q, band;
} sus_check_entry;

typedef struct sus_check_report {
    int pass;                      /* every check below passed */
    int mask_ok;                   /* the mask is well-formed */
    char mask_msg[SUS_ERRMSG_LEN]; /* why not, when !mask_ok */
    double tau, k, u;              /* the bound's constants */
    size_t uncertain;              /* MPFR elements not certified (sus_cert) */
    sus_check_stats part[SUS_CHECK_PARTS];
    int64_t canon_same;            /* kept by both masks */
    int64_t canon_borderline;      /* in one only, within the band */
    int64_t canon_mismatch;        /* in one only, outside it: failures */
    size_t nborderline, nmismatch; /* valid entries of the lists */
    sus_check_entry borderline[SUS_CHECK_LISTED];
    sus_check_entry mismatch[SUS_CHECK_LISTED];
} sus_check_report;

/* Runs every check and fills *rep. Returns SUS_OK when the check ran, pass
 * or fail (rep->pass says which); an error status for bad arguments (mask
 * rows other than B*H*n, NULL arrays, c or u out of range, a problem the
 * reference refuses) or out of memory. */
int sus_check_port(const sus_attn *a, const sus_mask *mk, const double *dq,
                   const double *dk, const double *dv, const sus_check_opts *o,
                   sus_check_report *rep, sus_error *err);

/* The name of a part as the reports print it: "W~", "dQ", "dK", "dV". */
const char *sus_check_part_name(sus_check_part part);

/* Canonical uniforms u_ij (sus_canonical_uniform) of a whole problem,
 * dense: u[((b*H + h)*n + i)*m + j] for every b < B, h < H, i < n, j < m. */
int sus_canonical_uniforms(uint64_t seed, const sus_shape *sh, double *u,
                           sus_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SUS_H */
