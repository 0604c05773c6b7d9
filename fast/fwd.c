/*
 * fwd.c: sus_fast_forward, the tiled forward with the streaming sampler
 * fused in (DESIGN.md 2.1-2.4). This file checks the call, splits it into
 * tasks (one query block of one head each), runs them on ctx->threads
 * OpenMP threads through the SIMD level's kernel (fwd_kern.h), and
 * assembles the tasks' kept entries into the context's CSR mask in row
 * order.
 *
 * The streaming sampler. While row i is swept, its final normalizer is
 * unknown; after key block t the running one is lse_t = m_t + log l_t
 * (the max and sum over the keys seen so far, this block included), and
 * lse_t only grows with t. So p_t(j) = min(1, c exp(S_ij - lse_t)) only
 * shrinks, and it bounds the final q_ij = min(1, c W_ij) from above. The
 * kernel keeps, per row, the candidates: the seen keys with u_ij < p_t(j).
 * After each block it prunes the held ones against p_t and tests the new
 * ones against the same p_t; at the end of the row a candidate is kept iff
 * u_ij < q_ij with the final W, and no other key can be: u_ij < q_ij
 * implies u_ij < p_t(j) for every t. The same u_ij is used at every step,
 * so the result is exactly the canonical mask, up to the dtype's rounding
 * of q (borderline entries).
 *
 * The bound on candidates in flight. After block t the held set is
 * {seen j : u_lo,ij < p_t(j) (1 + gamma)}, where u_lo <= u_ij is the
 * bound the tests read from Philox's first word alone (u - u_lo < 2^-24).
 * Its expected size is at most
 * sum_{seen j} min(1, c (1 + gamma) exp(S_ij - lse_t)) + 2^-24 (seen keys)
 * <= c (1 + gamma) + 2^-24 m, because sum_{seen j} exp(S_ij - lse_t) = 1
 * by the definition of lse_t. That holds whatever the order of the logits:
 * a row whose logits grow along the sweep (recency-biased attention) makes
 * nearly every new key a candidate, but each block's prune against the
 * new, larger lse_t drops the old ones. A kernel that prunes at block
 * boundaries and adds candidates as it goes holds at most that set plus
 * one block's keys: at most c + block_k in flight, in expectation. Ours
 * prunes the held set before it tests the block's keys, against the same
 * lse_t, so its peak is the post-block set itself; the buffer is still
 * sized held + block_k so that it never overflows. The bound is in
 * expectation, not a hard cap, so the lists grow on demand.
 * stats->max_in_flight reports the peak.
 *
 * The pruning margin gamma. p_t and the final q are computed in the
 * dtype, so a test "u < p_t" could drop an entry that the final test,
 * with its own rounding, keeps. Every test therefore uses c (1 + gamma)
 * in place of c. The computed quantities, relative to exact values on the
 * same computed logits S (eps: the dtype's unit roundoff):
 *  - exp(S - m): the subtraction's rounding is an absolute error of at
 *    most eps |S - m| in the argument, plus the polynomial's error (under
 *    1 ulp measured; budget 8 eps). A test can only fail wrongly where
 *    u_lo > 0, so u >= 2^-27; an entry the final test keeps then has
 *    c W > 2^-27, so m - S <= 27 ln 2 + ln c: A = 19 + max(0, ln c)
 *    bounds |S - m| there. (u_lo = 0 passes every test with
 *    exp(S - m) > 0, and exp is monotone at its underflow.);
 *  - the running sum l: a sum of nonnegative terms over at most block_k
 *    lanes' chains plus a fixed tree, plus one rescale and one add per
 *    block; a rescale's argument error eps |dm| is weighted by the old
 *    sum's share l_old exp(-|dm|) / l_new <= min(1, m exp(-|dm|)), so it
 *    adds at most (ln m + 1) eps per block: in all at most
 *    eps (block_k + 4 + blocks (13 + ln m));
 *  - the threshold T = l / (c (1 + gamma)) rounded to the dtype, the
 *    product u_lo T, the final division by l and the rounding of q to
 *    double: a few eps (budget 8).
 * The final q and a test's p_t each carry those errors, so the test is
 * safe when 1 + gamma exceeds the product of both sides' error factors:
 * gamma = 2 eps (2 (8 + A) + 2 (block_k + 4 + blocks (13 + ln m)) + 8),
 * a factor 2 to spare. It is about 1.5e-4 for float32 at m = 4096,
 * block_k = 256, c = 32, and 3e-13 for float64. The cost is negligible:
 * gamma c extra candidates per row in expectation. A held candidate's P
 * is the value the block's own test computed, recomputed whenever the
 * row's running max moves, so a test never depends on when an entry was
 * inserted.
 *
 * A check of all this that needs no reference: the c = inf mask holds
 * every allowed entry with W~ = W computed by the same kernels (the sweep
 * does not depend on c), so a finite-c mask must equal exactly
 * {(i, j) : u_ij < min(1, c W)} over that mask, with W~ = max(W, 1/c).
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "../core/internal.h"
#include "cand_buf.h"
#include "csr_build.h"
#include "fast_internal.h"
#include "fwd.h"

#define TWO32 INT64_C(4294967296)

/* Bytes of packed K and V held at once (see sus_fast_forward). */
#define PACK_BUDGET ((size_t)128 << 20)

/* Scratch slots: shared ones, and per thread: the kernel's workspace
 * (SUS_FI_SLOT_FWD0, fwd_kern.h) and two ping-pong pairs. */
enum {
    SH_ROWCNT = SUS_FI_SLOT_FWD0 + 0,
    SH_TASKS = SUS_FI_SLOT_FWD0 + 1,
    SH_THREADS = SUS_FI_SLOT_FWD0 + 2,
    SH_PACK = SUS_FI_SLOT_FWD0 + 3,
    TH_CAND_A = SUS_FI_SLOT_FWD0 + 1,
    TH_CAND_B = SUS_FI_SLOT_FWD0 + 2,
    TH_ARENA_A = SUS_FI_SLOT_FWD0 + 3,
    TH_ARENA_B = SUS_FI_SLOT_FWD0 + 4
};

void *sus_fw_pp_grow(sus_fw_thread *th, sus_fw_pp *pp, size_t keep, size_t need)
{
    if (pp->p && need <= pp->cap)
        return pp->p;
    /* Double at least (cand_buf.h). */
    size_t want = sus_fw_grow_want(pp->cap, need);
    int other = pp->p ? 1 - pp->cur : pp->cur;
    void *q = sus_fi_thread_scratch(th->ctx, th->tid, pp->slot[other], want);
    if (!q)
        return NULL;
    if (pp->p && keep)
        memcpy(q, pp->p, keep);
    pp->p = q;
    pp->cap = want;
    pp->cur = other;
    return q;
}

/* The margin of the candidate tests (see the comment at the top). */
static double margin(sus_dtype dt, double c, int64_t m, int64_t bk)
{
    double eps = dt == SUS_DTYPE_F4 ? 0x1p-24 : 0x1p-53;
    double A = 19.0 + (c > 1.0 ? log(c) : 0.0);
    double blocks = (double)((m + bk - 1) / bk);
    double G = 2.0 * (8.0 + A) +
               2.0 * ((double)bk + 4.0 + blocks * (13.0 + log((double)m))) + 8.0;
    return 2.0 * G * eps;
}

int sus_fast_forward(sus_fast_ctx *ctx, const sus_fast_problem *p, double c,
                     uint64_t seed, void *o, void *lse, sus_fast_stats *stats,
                     sus_error *err)
{
    if (!ctx)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_fast_forward: NULL context");
    int rc = sus_fi_check_problem(p, ctx->threads, 0, err);
    if (rc)
        return rc;
    if (!o || !lse)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_fast_forward: NULL output O or lse");
    if (isnan(c) || c < 0)
        return sus_i_fail(err, SUS_ERR_INVAL,
                          "c = %g: must be >= 0 (0: no mask, inf: keep every entry)",
                          c);
    const sus_shape *sh = &p->shape;
    int mode = c == 0 ? SUS_FW_NONE : isinf(c) ? SUS_FW_ALL : SUS_FW_MINC;
    /* Counter words (DESIGN.md 2.4): b, h, i and j div 2 below 2^32. */
    if (mode == SUS_FW_MINC &&
        (sh->B > TWO32 || sh->H > TWO32 || sh->n > TWO32 || sh->m > 2 * TWO32))
        return sus_i_fail(err, SUS_ERR_INVAL,
                          "shape too large for the canonical mask's counter: B, H, n "
                          "must be <= 2^32 and m <= 2^33");
    sus_sizes z;
    if ((rc = sus_shape_sizes(sh, &z, err)))
        return rc;

    /* The mask is invalid until this call succeeds. */
    ctx->mask.rows = 0;
    ctx->mask.nnz = 0;

    sus_fw_args a;
    memset(&a, 0, sizeof a);
    a.B = sh->B;
    a.H = sh->H;
    a.n = sh->n;
    a.m = sh->m;
    a.d = sh->d;
    a.dv = sh->dv;
    a.q = p->q;
    a.k = p->k;
    a.v = p->v;
    a.o = o;
    a.lse = lse;
    a.scale = p->scale;
    a.causal = p->causal != 0;
    a.bq = ctx->block_q;
    const int64_t bk_want = sus_fi_block_k(
        ctx, sh->d, sh->dv, p->dtype == SUS_DTYPE_F4 ? sizeof(float) : sizeof(double));
    a.bk = bk_want < sh->m ? bk_want : sh->m;
    a.nqb = (sh->n + a.bq - 1) / a.bq;
    a.mode = mode;
    if (mode == SUS_FW_MINC) {
        a.c = c;
        a.inv_c = 1.0 / c;
        a.c_gamma = c * (1.0 + margin(p->dtype, c, sh->m, a.bk));
        sus_fw_round_keys(seed, a.rk);
    }
    const int64_t ntasks = sh->B * sh->H * a.nqb; /* <= rows: no overflow */
    const int nth = ctx->threads;

    int64_t *rowcnt = sus_fi_scratch(ctx, SH_ROWCNT, z.rows * sizeof(int64_t));
    sus_fw_task_out *touts =
        sus_fi_scratch(ctx, SH_TASKS, (size_t)ntasks * sizeof(sus_fw_task_out));
    sus_fw_thread *ths =
        sus_fi_scratch(ctx, SH_THREADS, (size_t)nth * sizeof(sus_fw_thread));
    if (!rowcnt || !touts || !ths)
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_forward: out of memory");
    a.rowcnt = rowcnt;
    for (int t = 0; t < nth; t++) {
        ths[t] = (sus_fw_thread){0};
        ths[t].ctx = ctx;
        ths[t].tid = t;
        ths[t].cand.slot[0] = TH_CAND_A;
        ths[t].cand.slot[1] = TH_CAND_B;
        ths[t].arena.slot[0] = TH_ARENA_A;
        ths[t].arena.slot[1] = TH_ARENA_B;
    }

    const sus_fw_kern *kern = sus_fw_kern_for(ctx->simd);
    const int f32 = p->dtype == SUS_DTYPE_F4;
    sus_fw_task_fn fn = f32 ? kern->task_f32 : kern->task_f64;
    sus_fw_pack_fn pack = f32 ? kern->pack_f32 : kern->pack_f64;

    /* K and V are packed once per head for all its query blocks (packing
     * per task would cost a 1/block_q share of the work again), a group
     * of heads at a time so that the packed copy stays within PACK_BUDGET
     * bytes (at least one head). Causal rows never see keys >= n. */
    const size_t es = f32 ? sizeof(float) : sizeof(double);
    const int64_t pw = f32 ? kern->pw_f32 : kern->pw_f64;
    const int64_t vl = f32 ? kern->vl_f32 : kern->vl_f64;
    const int64_t mu = a.causal && sh->n < sh->m ? sh->n : sh->m; /* keys used */
    const int64_t nblk = (mu + a.bk - 1) / a.bk;
    const int64_t bkp = (a.bk + pw - 1) / pw * pw, ldv = (sh->dv + vl - 1) / vl * vl;
    size_t kt_head, vp_head, head_bytes;
    if (!sus_i_mul_size((size_t)nblk, (size_t)bkp, &kt_head) ||
        !sus_i_mul_size(kt_head, (size_t)sh->d, &kt_head) ||
        !sus_i_mul_size((size_t)sh->m, (size_t)ldv, &vp_head) ||
        !sus_i_add_size(kt_head, vp_head, &head_bytes) ||
        !sus_i_mul_size(head_bytes, es, &head_bytes))
        return sus_i_fail(err, SUS_ERR_OVERFLOW, "sus_fast_forward: packed K, V size");
    const int64_t heads = sh->B * sh->H;
    int64_t group = (int64_t)(PACK_BUDGET / head_bytes);
    group = group < 1 ? 1 : group > heads ? heads : group;
    char *packed = sus_fi_scratch(ctx, SH_PACK, (size_t)group * head_bytes);
    if (!packed)
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_forward: out of memory");
    a.kt = packed;
    a.vp = packed + (size_t)group * kt_head * es;
    a.kt_head = kt_head;
    a.vp_head = vp_head;

    int fail = 0;
    for (int64_t bh0 = 0; bh0 < heads && !fail; bh0 += group) {
        const int64_t ng = heads - bh0 < group ? heads - bh0 : group;
        a.bh0 = bh0;
#pragma omp parallel num_threads(nth)
        {
#pragma omp for schedule(static)
            for (int64_t t = 0; t < ng * nblk; t++) {
                int64_t g = t / nblk, blk = t % nblk;
                pack(&a, bh0 + g, blk,
                     (char *)packed +
                         ((size_t)g * kt_head + (size_t)(blk * bkp * sh->d)) * es,
                     (char *)a.vp +
                         ((size_t)g * vp_head + (size_t)(blk * a.bk * ldv)) * es);
            }
            /* Round-robin tasks (static, chunk 1) balance causal heads,
             * whose later query blocks have more keys. Which thread runs
             * a task changes nothing in its results. */
            sus_fw_thread *th = &ths[omp_get_thread_num()];
#pragma omp for schedule(static, 1)
            for (int64_t t = bh0 * a.nqb; t < (bh0 + ng) * a.nqb; t++) {
                int f;
#pragma omp atomic read
                f = fail;
                if (f)
                    continue;
                if (fn(&a, th, t, &touts[t])) {
#pragma omp atomic write
                    fail = 1;
                }
            }
        }
    }
    if (fail)
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_forward: out of memory");

    int64_t cands = 0, peak = 0;
    for (int64_t t = 0; t < ntasks; t++) {
        if (touts[t].range) {
            int64_t bh = t / a.nqb;
            return sus_i_fail(
                err, SUS_ERR_RANGE,
                "sus_fast_forward: lse or O is not finite in %s (head b = "
                "%lld, h = %lld, query block from i = %lld): the logits "
                "or O overflow the dtype",
                p->dtype == SUS_DTYPE_F4 ? "float32" : "float64", (long long)(bh / a.H),
                (long long)(bh % a.H), (long long)((t % a.nqb) * a.bq));
        }
        cands += touts[t].candidates;
        if (touts[t].max_in_flight > peak)
            peak = touts[t].max_in_flight;
    }

    /* The CSR in row order: counts to offsets, then each task's entries
     * (its rows are consecutive) copied from its thread's arena
     * (csr_build.c, proved: proofs/wp/csr_build). */
    if (sus_fi_mask_reserve(ctx, z.rows, 0))
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_forward: out of memory (mask)");
    int64_t *indptr = ctx->mask.indptr;
    const int64_t total = sus_fw_csr_offsets(rowcnt, (int64_t)z.rows, sh->m, indptr);
    if (total < 0)
        return sus_i_fail(err, SUS_ERR_RANGE,
                          "sus_fast_forward: internal error: a row's kept count is "
                          "outside [0, m]");
    const size_t nnz = (size_t)total;
    if (sus_fi_mask_reserve(ctx, z.rows, nnz))
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_fast_forward: out of memory (mask)");
    int64_t *indices = ctx->mask.indices;
    double *wt = ctx->mask.wtilde;
    if (nnz) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (int64_t t = 0; t < ntasks; t++) {
            int64_t bh = t / a.nqb, i0 = (t % a.nqb) * a.bq;
            int64_t nq = a.bq < a.n - i0 ? a.bq : a.n - i0;
            int64_t r0 = bh * a.n + i0;
            int64_t e0 = indptr[r0], e1 = indptr[r0 + nq];
            if (e0 == e1)
                continue; /* its thread's arena may be NULL (found by fuzz/) */
            const sus_fw_kept *src =
                (const sus_fw_kept *)ths[touts[t].tid].arena.p + touts[t].arena_off;
            sus_fw_csr_copy(src, e0, e1, indices, wt);
        }
    }
    ctx->mask.rows = (int64_t)z.rows;
    ctx->mask.nnz = (int64_t)nnz;
    if (stats) {
        stats->nnz = (int64_t)nnz;
        stats->candidates = cands;
        stats->max_in_flight = peak;
    }
    sus_i_ok(err);
    return SUS_OK;
}
