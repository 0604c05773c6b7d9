/* bwd.c: fast/'s backward passes. sus_fast_sus_backward (the SUS estimator
 * under a CSR mask, O(nnz d)) and sus_fast_dense_backward (the exact
 * gradient, flash-style, the baseline). Both are bit-identical for any
 * thread count: every output element is owned by one thread and summed in
 * an order fixed by the problem alone (see bwd_kern.h). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "bwd.h"
#include "bwd_index.h"
#include "fast_internal.h"

/* Workspace slots (fast_internal.h reserves BWD0 .. BWD0 + 7). */
enum {
    SLOT_D = SUS_FI_SLOT_BWD0, /* D_i for every row of the problem */
    SLOT_COLPTR,               /* sparse: colptr[m + 1]; dense: K^T, V^T */
    SLOT_CNT,                  /* sparse: per-thread column counts, threads x m */
    SLOT_CSC                   /* sparse: the CSC entries (row, W~) */
};
/* Per-thread slot of the dense tiles. */
#define SLOT_TILE SUS_FI_SLOT_BWD0

static const sus_fb_kern *pick(sus_simd simd, sus_dtype dt)
{
    const int f32 = dt == SUS_DTYPE_F4;
    switch (simd) {
    case SUS_SIMD_AVX512:
        return f32 ? &sus_fb_kern_avx512_f32 : &sus_fb_kern_avx512_f64;
    case SUS_SIMD_AVX2:
        return f32 ? &sus_fb_kern_avx2_f32 : &sus_fb_kern_avx2_f64;
    default:
        return f32 ? &sus_fb_kern_portable_f32 : &sus_fb_kern_portable_f64;
    }
}

static int is_finite_at(const void *x, int f32, size_t t)
{
    return f32 ? isfinite(((const float *)x)[t]) : isfinite(((const double *)x)[t]);
}

/* D_i = dO_i . O_i for every row, in parallel; then refuse a non-finite D
 * (which catches a non-finite O, since dO is finite) and, for the dense
 * backward, a non-finite lse. */
static int compute_d(sus_fast_ctx *ctx, const sus_fast_problem *p,
                     const sus_fb_kern *kn, const void *o, const void *lse, void *dd,
                     sus_error *err)
{
    const int64_t rows = p->shape.B * p->shape.H * p->shape.n, dv = p->shape.dv;
    const int f32 = p->dtype == SUS_DTYPE_F4;
    int64_t bad_d = rows, bad_lse = rows;
#pragma omp parallel num_threads(ctx->threads) reduction(min : bad_d, bad_lse)
    {
        const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        const int64_t q = rows / nt, rem = rows % nt;
        const int64_t r0 = q * tid + rem * tid / nt;
        const int64_t r1 = q * (tid + 1) + rem * (tid + 1) / nt;
        kn->rowdot(p->dout, o, dv, r0, r1, dd);
        for (int64_t r = r0; r < r1; r++) {
            if (bad_d == rows && !is_finite_at(dd, f32, (size_t)r))
                bad_d = r;
            if (lse && bad_lse == rows && !is_finite_at(lse, f32, (size_t)r))
                bad_lse = r;
        }
    }
    if (bad_lse < rows)
        return sus_i_fail(err, SUS_ERR_NONFINITE,
                          "lse: non-finite value at flat index %lld",
                          (long long)bad_lse);
    if (bad_d < rows) {
        for (int64_t c = 0; c < dv; c++)
            if (!is_finite_at(o, f32, (size_t)(bad_d * dv + c)))
                return sus_i_fail(err, SUS_ERR_NONFINITE,
                                  "O: non-finite value at flat index %lld",
                                  (long long)(bad_d * dv + c));
        return sus_i_fail(err, SUS_ERR_RANGE,
                          "D = dO . O overflows the dtype at row %lld",
                          (long long)bad_d);
    }
    return SUS_OK;
}

/* Head hh's view of the problem, its D and its outputs (es: element size);
 * the caller adds what its pass needs (mask or lse and packed K, V). */
static sus_fb_head head_at(const sus_fast_problem *p, int64_t hh, size_t es,
                           const void *dd, void *dq, void *dk, void *dv)
{
    const sus_shape sh = p->shape;
    const sus_fb_head h = {
        .n = sh.n,
        .m = sh.m,
        .d = sh.d,
        .dv = sh.dv,
        .scale = p->scale,
        .causal = p->causal,
        .q = (const char *)p->q + (size_t)(hh * sh.n * sh.d) * es,
        .k = (const char *)p->k + (size_t)(hh * sh.m * sh.d) * es,
#if SUS_MUTANT == 5 /* planted bug for fuzz/ (never in builds): V's stride is d */
        .v = (const char *)p->v + (size_t)(hh * sh.m * sh.d) * es,
#else
        .v = (const char *)p->v + (size_t)(hh * sh.m * sh.dv) * es,
#endif
        .dout = (const char *)p->dout + (size_t)(hh * sh.n * sh.dv) * es,
        .dd = (const char *)dd + (size_t)(hh * sh.n) * es,
        .dq = (char *)dq + (size_t)(hh * sh.n * sh.d) * es,
        .dk = (char *)dk + (size_t)(hh * sh.m * sh.d) * es,
        .dv_out = (char *)dv + (size_t)(hh * sh.m * sh.dv) * es,
    };
    return h;
}

static int check_outputs(const sus_fast_ctx *ctx, const void *o, const void *dq,
                         const void *dk, const void *dv, sus_error *err)
{
    if (!ctx)
        return sus_i_fail(err, SUS_ERR_INVAL, "fast backward: NULL context");
    if (!o || !dq || !dk || !dv)
        return sus_i_fail(err, SUS_ERR_INVAL, "fast backward: NULL O or output array");
    return SUS_OK;
}

/* Rows per block of the SUS backward: each pass gathers rows of one array
 * (dO, Q or dQ) from one block at a time, and a block of this many bytes
 * stays in the last-level cache, where a gather over a whole array of
 * tens of MB goes to memory at about 3x the cost per row (measured here:
 * 7.5 ns per 256-byte row from 8 MB, 17-26 ns from 17 MB). The price is
 * one more read and write of dK and dV per block. */
#ifndef SUS_FB_BLOCK_BYTES /* overridable to test many blocks on small problems */
#define SUS_FB_BLOCK_BYTES ((int64_t)8 << 20)
#endif

/* The SUS backward, per head and per block of rows, in phases separated
 * by barriers:
 *  1. each thread counts the entries per (block, column) of its share of
 *     each block's rows;
 *  2. one thread turns the counts into the start of each (block, column)
 *     (colptr) and each share's first entry there: the CSC is sorted by
 *     (block, column, row);
 *  3. each thread scatters its rows into the CSC (stable: shares are in
 *     row order);
 *  4. block by block, passes A (s t, stored over W~, and dV) and B (dK)
 *     over a share of the columns, accumulating onto the previous blocks'
 *     sums (two walks, each gathering one random row per entry: a single
 *     walk gathering both dO_i and Q_i measured 1.5x slower at
 *     n = 65536);
 *  5. block by block, pass C (dQ) for each thread's share of the block's
 *     rows, walking that block's part of the CSC.
 * The CSC, the blocks and every sum's order depend on the problem alone,
 * not on the shares: the same bits for any thread count. Shares are
 * balanced by entries, not rows. */
int sus_fast_sus_backward(sus_fast_ctx *ctx, const sus_fast_problem *p,
                          const sus_mask *mk, const void *o, void *dq, void *dk,
                          void *dv, sus_error *err)
{
    int rc = check_outputs(ctx, o, dq, dk, dv, err);
    if (rc || (rc = sus_fi_check_problem(p, ctx->threads, 1, err)) ||
        (rc = sus_mask_check(mk, &p->shape, p->causal, err)))
        return rc;
    const sus_shape sh = p->shape;
    /* The float32 CSC stores query rows as int32, to keep entries at 8
     * bytes. */
    if (sh.n > INT32_MAX)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "fast SUS backward: n = %lld query rows exceed 2^31 - 1",
                          (long long)sh.n);
    const int f32 = p->dtype == SUS_DTYPE_F4;
    const size_t es = f32 ? sizeof(float) : sizeof(double);
    const size_t ces = f32 ? sizeof(sus_fb_centry_f32) : sizeof(sus_fb_centry_f64);
    const sus_fb_kern *kn = pick(ctx->simd, p->dtype);
    const int64_t heads = sh.B * sh.H;
    const int64_t wmax = sh.d > sh.dv ? sh.d : sh.dv;
    int64_t brows = SUS_FB_BLOCK_BYTES / (wmax * (int64_t)es);
    brows = brows < 1 ? 1 : brows;
    const int64_t nblk = (sh.n + brows - 1) / brows;
    int64_t max_nnz = 0;
    for (int64_t hh = 0; hh < heads; hh++) {
        int64_t c = mk->indptr[(hh + 1) * sh.n] - mk->indptr[hh * sh.n];
        max_nnz = c > max_nnz ? c : max_nnz;
    }
    /* Sizes: B*H*n, m*d and nnz counts fit (sus_shape_sizes, the mask);
     * nblk * m <= n * m does not overflow int64 (B*H*n*m was checked);
     * the products with the thread count and entry sizes are checked. */
    const size_t nz = (size_t)max_nnz + 1, keys = (size_t)(nblk * sh.m);
    size_t cnt_bytes, csc_bytes, colptr_bytes;
    void *dd = sus_fi_scratch(ctx, SLOT_D, (size_t)(heads * sh.n) * es);
    int64_t *colptr = NULL, *cnt = NULL;
    void *csc = NULL;
    if (sus_i_mul_size(keys + 1, sizeof(int64_t), &colptr_bytes) &&
        sus_i_mul_size((size_t)ctx->threads, keys * sizeof(int64_t), &cnt_bytes) &&
        sus_i_mul_size(nz, ces, &csc_bytes)) {
        colptr = sus_fi_scratch(ctx, SLOT_COLPTR, colptr_bytes);
        cnt = sus_fi_scratch(ctx, SLOT_CNT, cnt_bytes);
        csc = sus_fi_scratch(ctx, SLOT_CSC, csc_bytes);
    }
    if (!dd || !colptr || !cnt || !csc)
        return sus_i_fail(err, SUS_ERR_NOMEM, "fast SUS backward: out of memory");
    if ((rc = compute_d(ctx, p, kn, o, NULL, dd, err)))
        return rc;
#if SUS_MUTANT == 4 /* planted bug for fuzz/: D from the masked output sum W~ V */
    for (int64_t r = 0; r < heads * sh.n; r++) {
        double dm = 0.0;
        for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++)
            for (int64_t c = 0; c < sh.dv; c++) {
                size_t vi = (size_t)(((r / sh.n) * sh.m + mk->indices[e]) * sh.dv + c);
                size_t oi = (size_t)(r * sh.dv + c);
                dm += mk->wtilde[e] * (f32 ? (double)((const float *)p->v)[vi] *
                                                 ((const float *)p->dout)[oi]
                                           : ((const double *)p->v)[vi] *
                                                 ((const double *)p->dout)[oi]);
            }
        if (f32)
            ((float *)dd)[r] = (float)dm;
        else
            ((double *)dd)[r] = dm;
    }
#endif

    /* sus_mask_check above gives what bwd_index.c's contracts require:
     * each head's indptr is non-decreasing within [0, nnz] and the
     * indices are in [0, m). */
#pragma omp parallel num_threads(ctx->threads)
    {
        const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
        int64_t *mycnt = cnt + (size_t)tid * keys;
        for (int64_t hh = 0; hh < heads; hh++) {
            const int64_t *ip = mk->indptr + hh * sh.n;
            sus_fb_head h = head_at(p, hh, es, dd, dq, dk, dv);
            h.indptr = ip;
            h.indices = mk->indices;
            h.wtilde = mk->wtilde;
            h.csc = csc;
            memset(mycnt, 0, keys * sizeof *mycnt);
            for (int64_t b = 0; b < nblk; b++) {
                int64_t r0, r1;
                sus_fb_row_share(ip, sh.n, brows, b, tid, nt, &r0, &r1);
                sus_fb_count_cols(mk->indices, ip[r0], ip[r1], mycnt + b * sh.m, sh.m);
            }
#pragma omp barrier
#pragma omp single
            {
                int64_t pos = 0;
                for (size_t key = 0; key < keys; key++) {
                    colptr[key] = pos;
                    for (int t = 0; t < nt; t++) {
                        int64_t c = cnt[(size_t)t * keys + key];
                        cnt[(size_t)t * keys + key] = pos;
                        pos += c;
                    }
                }
                colptr[keys] = pos;
            }
            for (int64_t b = 0; b < nblk; b++) {
                int64_t r0, r1;
                sus_fb_row_share(ip, sh.n, brows, b, tid, nt, &r0, &r1);
                kn->scatter(&h, r0, r1, mycnt + b * sh.m);
            }
            for (int64_t b = 0; b < nblk; b++) {
                /* Block b's columns: the runs of the previous block may
                 * have belonged to another thread. */
#pragma omp barrier
                int64_t c0, c1;
                h.colptr = colptr + b * sh.m;
                h.first = b == 0;
                sus_fb_share(h.colptr, 0, sh.m, tid, nt, &c0, &c1);
                kn->sparse_v(&h, c0, c1);
                kn->sparse_k(&h, c0, c1);
            }
#pragma omp barrier
            for (int64_t b = 0; b < nblk; b++) {
                /* After the scatter, this share's entries of (b, j) end at
                 * mycnt[b m + j] and start where the previous share's end. */
                int64_t r0, r1;
                sus_fb_row_share(ip, sh.n, brows, b, tid, nt, &r0, &r1);
                const int64_t *hi = mycnt + b * sh.m;
                const int64_t *lo = tid ? hi - keys : colptr + b * sh.m;
                kn->sparse_q(&h, r0, r1, lo, hi);
            }
            /* The next head reuses the CSC and the counts (pass C reads
             * the previous share's). */
            if (hh + 1 < heads) {
#pragma omp barrier
            }
        }
    }
    sus_i_ok(err);
    return SUS_OK;
}

int sus_fast_dense_backward(sus_fast_ctx *ctx, const sus_fast_problem *p, const void *o,
                            const void *lse, void *dq, void *dk, void *dv,
                            sus_error *err)
{
    int rc = check_outputs(ctx, o, dq, dk, dv, err);
    if (rc || (rc = sus_fi_check_problem(p, ctx->threads, 1, err)))
        return rc;
    if (!lse)
        return sus_i_fail(err, SUS_ERR_INVAL, "fast dense backward: NULL lse");
    const sus_shape sh = p->shape;
    const size_t es = p->dtype == SUS_DTYPE_F4 ? sizeof(float) : sizeof(double);
    const sus_fb_kern *kn = pick(ctx->simd, p->dtype);
    const int64_t heads = sh.B * sh.H;
    const int64_t ldt = (sh.m + SUS_FB_BK - 1) / SUS_FB_BK * SUS_FB_BK;
    size_t t_elems, t_bytes;
    void *dd = sus_fi_scratch(ctx, SLOT_D, (size_t)(heads * sh.n) * es);
    void *kvt = NULL;
    if (sus_i_mul_size((size_t)(sh.d + sh.dv), (size_t)ldt, &t_elems) &&
        sus_i_mul_size(t_elems, es, &t_bytes))
        kvt = sus_fi_scratch(ctx, SLOT_COLPTR, t_bytes);
    int ok = dd && kvt;
    /* The per-thread tiles are grown here, outside the parallel region, so
     * that a failure is reported rather than met inside it. */
    for (int t = 0; t < ctx->threads && ok; t++)
        ok = sus_fi_thread_scratch(ctx, t, SLOT_TILE,
                                   SUS_FB_DENSE_WS(sh.d, sh.dv) * es) != NULL;
    if (!ok)
        return sus_i_fail(err, SUS_ERR_NOMEM, "fast dense backward: out of memory");
    if ((rc = compute_d(ctx, p, kn, o, lse, dd, err)))
        return rc;

    const int64_t nqb = (sh.n + SUS_FB_BQ - 1) / SUS_FB_BQ;
    const int64_t nkb = ldt / SUS_FB_BK;
    void *kt = kvt, *vt = (char *)kvt + (size_t)(sh.d * ldt) * es;
#pragma omp parallel num_threads(ctx->threads)
    {
        const int tid = omp_get_thread_num();
        void *ws = sus_fi_thread_scratch(ctx, tid, SLOT_TILE, 0);
        for (int64_t hh = 0; hh < heads; hh++) {
            sus_fb_head h = head_at(p, hh, es, dd, dq, dk, dv);
            h.lse = (const char *)lse + (size_t)(hh * sh.n) * es;
            h.kt = kt;
            h.vt = vt;
            h.ldt = ldt;
#pragma omp for schedule(static)
            for (int64_t b = 0; b < nkb; b++)
                kn->transpose(&h, kt, vt, b * SUS_FB_BK, (b + 1) * SUS_FB_BK);
                /* Round-robin blocks: under a causal mask the cost of a block
                 * grows with its index. */
#pragma omp for schedule(static, 1)
            for (int64_t b = 0; b < nqb; b++)
                kn->dense_q(&h, b * SUS_FB_BQ, ws);
#pragma omp for schedule(static, 1)
            for (int64_t b = 0; b < nkb; b++)
                kn->dense_k(&h, b * SUS_FB_BK, ws);
        }
    }
    sus_i_ok(err);
    return SUS_OK;
}
