/*
 * fz.h: what the fuzz harnesses share: a reader of fuzz bytes, the
 * structured-input decoder that turns them into bounded attention problems
 * (zstd's and cryptofuzz's approach: the fuzzer mutates bytes, the decoder
 * maps every byte string to a valid-looking problem, including the edges),
 * the checks, and the one canonical failure line.
 *
 * Each harness fuzz/TARGET.c defines LLVMFuzzerTestOneInput and is built
 * three ways from that one source (check_port adds its fuzz/port_*.c;
 * fuzz/rules.mk): libFuzzer, AFL++
 * (persistent mode through -fsanitize=fuzzer) and the plain corpus replay
 * driver fuzz/replay.c. The harnesses see ref/ and fast/ only through
 * sus.h, and reuse tests/support_fast.h for problems in two dtypes and the
 * exact softmax weights.
 */
#ifndef SUS_FUZZ_FZ_H
#define SUS_FUZZ_FZ_H

#include <stddef.h>
#include <stdint.h>

#include "../tests/support_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__GNUC__)
#define FZ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define FZ_NORETURN     __attribute__((noreturn))
#else
#define FZ_PRINTF(f, a)
#define FZ_NORETURN
#endif

/* ---- Bytes (fz_read.c) ---------------------------------------------------- */

/* The fuzz input, consumed from the front; past the end every read is 0, so
 * every byte string decodes to something. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, pos;
} fz_in;

uint8_t fz_u8(fz_in *in);
uint64_t fz_u64(fz_in *in);                /* 8 bytes, little-endian */
double fz_raw_double(fz_in *in);           /* 8 bytes as an IEEE double: any value */
size_t fz_left(const fz_in *in);           /* bytes not yet consumed */
int64_t fz_pick(fz_in *in, int64_t count); /* one byte, modulo count (>= 1) */

/* One element of an input array: mostly a small grid (k/16, so that ties
 * and exact values are common) times the array's magnitude, sometimes a
 * special value (+-0, subnormals of both dtypes, the extremes, +-709 and
 * +-88 where exp overflows), sometimes 8 raw bytes (NaN and inf too). */
double fz_element(fz_in *in, double mag);

/* A magnitude for an array (1, powers of two from 2^-600 to 2^500, 1e-30,
 * 1e30, 1/3). */
double fz_magnitude(uint8_t b);

/* ---- Attention cases (fz_case.c) ----------------------------------------- */

/* Implementation choices that must not change results beyond the bound:
 * the thread count, the tile sizes and the SIMD level forced down. */
typedef struct fz_variant {
    int threads;
    sus_simd simd;
    int64_t block_q, block_k;
} fz_variant;

/* Upper bounds of the decoded shape. */
typedef struct fz_limits {
    int64_t bh, nm, d;
} fz_limits;

#define FZ_LIMITS_DEFAULT ((fz_limits){2, 48, 16})

typedef struct fz_case {
    const char *target;
    sus_tf_problem t; /* the inputs, in double and in the dtype */
    double c;         /* the budget: may be 0, negative, NaN (refusals) */
    uint64_t seed;
    fz_variant var;
    const sus_rule *rule;
} fz_case;

/*
 * Decodes one case. The layout, in order (short inputs read zeros):
 *  - 4 bytes of shape: B, H, causal, dtype and the scale mode; n, m; d, dv;
 *  - 8 bytes of seed;
 *  - the budget c: a mode byte (a palette with inf, tiny, fractional and
 *    huge values; k/8; integers; raw bytes; or a "tie": c = u_ij 2^k for
 *    an entry the next byte picks, so that q_ij = u_ij exactly on rows
 *    whose weights are all 2^-k);
 *  - the variant byte (threads, SIMD level, tile sizes), the rule byte;
 *  - per array Q, K, V, dO: a fill byte (per-element values, seeded
 *    normals, one repeated value, identical rows, a ramp along the rows,
 *    zeros, quarter-grid normals) and a magnitude, then its data.
 * Returns 0, or -1 if out of memory (the caller just returns).
 */
int fz_case_decode(fz_in *in, const char *target, fz_limits lim, sus_dtype force_dtype,
                   fz_case *fc);
void fz_case_free(fz_case *fc);

/* A context for fc's variant, or NULL where the CPU lacks the SIMD level. */
sus_fast_ctx *fz_case_ctx(const fz_case *fc);

/* Non-zero if the scale and Q, K, V (and dO if with_dout) are finite; else
 * every implementation must refuse the problem (SUS_ERR_INVAL for the
 * scale, SUS_ERR_NONFINITE for an array). */
int fz_case_finite(const fz_case *fc, int with_dout);

/* Whether the DESIGN.md 3 bound applies: it is a first-order error model,
 * valid while the logits' rounding moves no weight by more than a few
 * percent: tau k u (1 + 2 max |S_ij|_mag) <= 1/16. Beyond that (logits of
 * 1e170, say) rounding can swap which key wins a row's softmax, so the
 * harnesses check only crashes, sanitizers and refusals there. */
int fz_case_linear(const fz_case *fc);

/* G = max(1, |s|) max(1, 1/c) (n + m + d + dv)^2 prod_x max(1, max |x|)
 * over the four inputs: an upper bound of every partial sum and of the
 * factor by which any intermediate's error can grow. */
double fz_case_growth(const fz_case *fc);

/* Whether an intermediate of fast/ may overflow the dtype: G is near the
 * dtype's largest value. fast/ may then return inf or NaN (inf * 0) with SUS_OK,
 * or SUS_ERR_RANGE, where the exact result is finite; only its finite
 * outputs are checked. */
int fz_case_may_overflow(const fz_case *fc);

/* ---- Failure (fz_fail.c) -------------------------------------------------- */

/* The canonical failure line, on stderr, then abort():
 *   sus-fuzz FAIL TARGET shape=(B,H,n,m,d,dv) causal=C dtype=T scale=S c=C
 *   seed=SEED variant=(threads,simd,block_q x block_k) rule=R: MESSAGE
 * MESSAGE names the element and both values and the bound where there is
 * one. */
FZ_NORETURN void fz_fail(const fz_case *fc, const char *fmt, ...) FZ_PRINTF(2, 3);
/* The same for targets without an attention case: sus-fuzz FAIL TARGET: MESSAGE */
FZ_NORETURN void fz_fail_plain(const char *target, const char *fmt, ...)
    FZ_PRINTF(2, 3);

/* ---- Checks (fz_check.c) -------------------------------------------------- */

/* got[0..count) against exact within tau k (u mag + eta G) (DESIGN.md 3,
 * plus underflow: an intermediate that underflows has an absolute error up
 * to eta, the dtype's smallest subnormal, which later factors grow by at
 * most G, fz_case_growth; the relative model of DESIGN.md 3 misses it, and
 * it is below 1e-300 for float64 unless the result is near underflow), u
 * the unit roundoff of fc's dtype (unit 0) or the given u. A non-finite got passes
 * only where the exact magnitude is beyond the dtype's range (an overflow
 * the dtype cannot avoid). Fails with the element, both values, the bound. */
void fz_check_array(const fz_case *fc, const char *name, const double *got,
                    const double *exact, const double *mag, size_t count, double u);

/* Whether a result of magnitude mag may overflow the dtype. */
int fz_may_overflow(sus_dtype dt, double mag);

/* The mask got (fast/'s, for minc at fc->c and fc->seed) against the
 * canonical mask: well-formed; an entry in exactly one of the two is
 * borderline (|u - q| within the dtype's rounding band of q, as
 * tests/support_fast.h explains), except on rows whose weights every
 * implementation computes exactly (all logits equal, 1/len exact in the
 * dtype), where no disagreement is allowed; a kept entry's W~ is
 * max(W, 1/c) within the bound (exactly on those rows), at least 1/c, at
 * most max(1, 1/c); c = inf keeps every allowed entry. Returns the number
 * of borderline entries. */
int64_t fz_check_mask(fz_case *fc, const sus_mask *got);

/* The exact forward and gradient (MPFR at 128 bits for float64, the double
 * reference for float32, as DESIGN.md 3 allows) with magnitudes, and the
 * same for the estimator under mk. Return the library's status. */
int fz_exact_grad(fz_case *fc, sus_grads *exact, sus_grads *mag, sus_error *err);
int fz_exact_estimate(fz_case *fc, const sus_mask *mk, sus_grads *exact, sus_grads *mag,
                      sus_error *err);

/* The largest |x| (NaN counts as infinite). */
double fz_max_abs(const double *x, size_t count);

/* fast/'s outputs o (the dtype) widened into fc->t.p.got and checked
 * against exact/mag: O and lse if fwd, dQ dK dV if grads; what prefixes
 * the element's name. */
void fz_check_out(fz_case *fc, const sus_tf_out *o, const sus_grads *exact,
                  const sus_grads *mag, int fwd, int grads, const char *what);

#endif
