/*
 * fwd.h: fast/'s forward (tiled online softmax with the streaming sampler
 * fused in) and its own Philox4x32-10: the argument block, the per-thread
 * state and the kernel table that fwd.c and philox_fast.c dispatch
 * through. The kernels are one template (fwd_kern.h) compiled once per SIMD
 * level (kern_fwd_portable.c, kern_fwd_avx2.c, kern_fwd_avx512.c) and per
 * dtype. Internal names start with sus_fw_.
 *
 * Philox4x32-10 and the canonical uniform follow DESIGN.md 2.4 and the
 * Random123 paper (Salmon et al., SC'11), written here from the spec: ref/
 * has its own, so that comparing the two is a real check.
 */
#ifndef SUS_FAST_FWD_H
#define SUS_FAST_FWD_H

#include <stddef.h>
#include <stdint.h>

#include "cand_buf.h"  /* the buffers' sizes */
#include "csr_build.h" /* sus_fw_kept */
#include "sus.h"

/* Philox4x32: the round multipliers and the Weyl key increments. */
#define SUS_FW_PHILOX_M0 UINT32_C(0xD2511F53)
#define SUS_FW_PHILOX_M1 UINT32_C(0xCD9E8D57)
#define SUS_FW_PHILOX_W0 UINT32_C(0x9E3779B9)
#define SUS_FW_PHILOX_W1 UINT32_C(0xBB67AE85)
#define SUS_FW_ROUNDS    10

/* The round keys: round r uses (k0 + r W0, k1 + r W1) mod 2^32, so the
 * vector kernels broadcast 20 precomputed words instead of bumping. */
static inline void sus_fw_round_keys(uint64_t seed, uint32_t rk[2 * SUS_FW_ROUNDS])
{
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < SUS_FW_ROUNDS; r++) {
        rk[2 * r] = k0;
        rk[2 * r + 1] = k1;
        k0 += SUS_FW_PHILOX_W0;
        k1 += SUS_FW_PHILOX_W1;
    }
}

/* One Philox4x32-10 block, scalar: the portable kernels and the vector
 * kernels' tails use it. One round maps (c0, c1, c2, c3) to
 * (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)). */
static inline void sus_fw_philox_block(const uint32_t rk[2 * SUS_FW_ROUNDS],
                                       const uint32_t ctr[4], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    for (int r = 0; r < SUS_FW_ROUNDS; r++) {
        uint64_t p0 = (uint64_t)SUS_FW_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)SUS_FW_PHILOX_M1 * c2;
        c0 = (uint32_t)(p1 >> 32) ^ c1 ^ rk[2 * r];
        c1 = (uint32_t)p1;
        c2 = (uint32_t)(p0 >> 32) ^ c3 ^ rk[2 * r + 1];
        c3 = (uint32_t)p0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The canonical uniform from key j's two words (x, y): (w0, w1) for even
 * j, (w2, w3) for odd j. k = (x >> 5) 2^26 + (y >> 6) < 2^53, so the
 * conversion and the scaling by 2^-53 are exact. */
static inline double sus_fw_uniform(uint32_t x, uint32_t y)
{
    uint64_t k = ((uint64_t)(x >> 5) << 26) | (uint64_t)(y >> 6);
    return (double)k * 0x1p-53;
}

/* The sampler's modes. */
enum sus_fw_mode {
    SUS_FW_NONE = 0, /* c = 0: no mask */
    SUS_FW_MINC,     /* 0 < c < inf: candidates, prunes, final u < q test */
    SUS_FW_ALL       /* c = inf: every allowed entry, W~ = W */
};

/* One forward call, shared read-only by every task. Arrays are float or
 * double per the kernel's dtype, not offset (the task finds its head). */
typedef struct sus_fw_args {
    int64_t B, H, n, m, d, dv;
    const void *q, *k, *v;
    void *o, *lse;
    double scale;
    int causal;
    int64_t bq, bk; /* tile sizes (bk already capped at m) */
    int64_t nqb;    /* query blocks per head: tasks = B H nqb */

    int mode;       /* enum sus_fw_mode */
    double c;       /* the budget (mode MINC) */
    double inv_c;   /* 1/c, the floor of W~ */
    double c_gamma; /* c (1 + gamma): the candidate tests' inflated budget */
    uint32_t rk[2 * SUS_FW_ROUNDS];

    /* K and V of heads [bh0, bh0 + group), packed by the kernel's pack:
     * head bh's block blk at kt + (bh - bh0) kt_head + blk round_up(bk,
     * PW) d, its V rows from key kb0 at vp + (bh - bh0) vp_head + kb0 ldv
     * (elements; PW and ldv = dv rounded up to the lanes: sus_fw_kern). */
    const void *kt, *vp;
    int64_t bh0;
    size_t kt_head, vp_head;

    int64_t *rowcnt; /* kept entries per mask row (B H n), written per task */
} sus_fw_args;

/* A buffer that grows keeping its contents, inside a parallel region: two
 * of the thread's scratch slots used in turn, the live one copied into the
 * other when it must grow (ctx.c's scratch does not keep contents). */
typedef struct sus_fw_pp {
    void *p;
    size_t cap;  /* bytes */
    int slot[2]; /* the two scratch slots */
    int cur;     /* which one p is */
} sus_fw_pp;

/* Per-task results, read after the parallel region. */
typedef struct sus_fw_task_out {
    int tid;            /* the thread whose arena holds the entries */
    size_t arena_off;   /* first entry, in sus_fw_kept units */
    int64_t candidates; /* candidate tests passed */
    int64_t max_in_flight;
    int range; /* a row's lse or O is not finite */
} sus_fw_task_out;

/* A thread's state for one forward call. */
typedef struct sus_fw_thread {
    struct sus_fast_ctx *ctx;
    int tid;
    sus_fw_pp cand;  /* candidate lists: bq rows x cap entries */
    size_t cand_cap; /* entries per row */
    sus_fw_pp arena; /* kept entries of this thread's tasks, in task order */
    size_t arena_len;
} sus_fw_thread;

/* Grows pp to at least need bytes, keeping its first keep bytes; NULL if
 * out of memory (pp unchanged). Safe inside a parallel region. */
void *sus_fw_pp_grow(sus_fw_thread *th, sus_fw_pp *pp, size_t keep, size_t need);

typedef int (*sus_fw_task_fn)(const sus_fw_args *a, sus_fw_thread *th, int64_t task,
                              sus_fw_task_out *out);

/* Philox words for npairs consecutive counters (jp0 + t, i, h, b),
 * t < npairs (jp0 + t taken mod 2^32): x[2t] = w0, x[2t + 1] = w2,
 * y[2t] = w1, y[2t + 1] = w3, i.e. x[j - 2 jp0] and y[j - 2 jp0] are key j's
 * words. Writes exactly 2 npairs words to each. */
typedef void (*sus_fw_philox_fn)(const uint32_t rk[2 * SUS_FW_ROUNDS], uint32_t i,
                                 uint32_t h, uint32_t b, uint32_t jp0, int64_t npairs,
                                 uint32_t *x, uint32_t *y);

/* Packs key block blk of head bh into kt and vp (see sus_fw_args). */
typedef void (*sus_fw_pack_fn)(const sus_fw_args *a, int64_t bh, int64_t blk, void *kt,
                               void *vp);

/* The kernels' exp on n values (tests/test_fast_exp.c checks it). */
typedef void (*sus_fw_exp_f32_fn)(const float *x, float *y, int64_t n);
typedef void (*sus_fw_exp_f64_fn)(const double *x, double *y, int64_t n);

typedef struct sus_fw_kern {
    sus_fw_philox_fn philox;
    sus_fw_task_fn task_f32, task_f64;
    sus_fw_pack_fn pack_f32, pack_f64;
    int pw_f32, pw_f64; /* keys per packed K panel */
    int vl_f32, vl_f64; /* vector lanes: V rows are padded to a multiple */
    sus_fw_exp_f32_fn exp_f32;
    sus_fw_exp_f64_fn exp_f64;
} sus_fw_kern;

extern const sus_fw_kern sus_fw_kern_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SUS_FW_HAVE_X86 1
extern const sus_fw_kern sus_fw_kern_avx2;
extern const sus_fw_kern sus_fw_kern_avx512;
#endif

/* The kernels of a level (PORTABLE, AVX2 or AVX512). */
const sus_fw_kern *sus_fw_kern_for(sus_simd level);

#endif
