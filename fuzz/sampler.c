/*
 * sampler: fast/'s streaming candidate logic (fast/fwd.c) never drops an
 * entry that the canonical rule keeps.
 *  - Against the canonical mask (fz_check_mask): an entry the canonical
 *    mask keeps and fast/'s lacks must be borderline.
 *  - Without any reference: the c = inf mask holds every allowed entry with
 *    W~ = fast/'s own W (the sweep does not depend on c), so the mask at c
 *    must be exactly {(i, j) : u_ij < min(1, c W)} of those W, with
 *    W~ = max(W, 1/c): an entry the pruning dropped, or kept wrongly, is
 *    caught bit for bit, however close u is to q.
 *  - The stats: nnz is the mask's, candidates >= nnz, and the peak in
 *    flight at least the largest row's count.
 *  - fast/'s vectorized Philox equals sus_canonical_uniform on a row
 *    segment at indices up to the 2^32 limits.
 * The variant's small and odd tiles make many blocks per row, and the
 * decoder's ramp fill makes logits grow along the keys (every new key a
 * candidate, every block a prune).
 */
#include <math.h>
#include <stdlib.h>

#include "fz.h"

static void check_uniforms(fz_case *fc, sus_fast_ctx *ctx, fz_in *in)
{
    const uint64_t big = UINT64_C(0xffffffff);
    int64_t b = (int64_t)(fz_u8(in) & 1 ? big - fz_u8(in) : fz_u8(in));
    int64_t h = (int64_t)(fz_u8(in) & 1 ? big - fz_u8(in) : fz_u8(in));
    int64_t i = (int64_t)(fz_u8(in) & 1 ? big - fz_u8(in) : fz_u8(in));
    int64_t count = 1 + fz_pick(in, 64);
    /* the last key's j div 2 must stay below 2^32 */
    int64_t j0 = (int64_t)(fz_u8(in) & 1 ? 2 * big + 2 - (uint64_t)count - fz_u8(in)
                                         : fz_u8(in));
    double u[64];
    sus_error err;
    int rc = sus_fast_uniforms(ctx, fc->seed, b, h, i, j0, count, u);
    if (rc != SUS_OK)
        fz_fail(fc,
                "sus_fast_uniforms(b %lld, h %lld, i %lld, j0 %lld, count %lld): %s",
                (long long)b, (long long)h, (long long)i, (long long)j0,
                (long long)count, sus_strerror(rc));
    (void)err;
    for (int64_t t = 0; t < count; t++) {
        double want = -1.0;
        if (sus_canonical_uniform(fc->seed, b, h, i, j0 + t, &want) != SUS_OK)
            fz_fail(fc,
                    "sus_canonical_uniform refused (b %lld, h %lld, i %lld, j %lld)",
                    (long long)b, (long long)h, (long long)i, (long long)(j0 + t));
        if (u[t] != want)
            fz_fail(fc,
                    "uniform (b %lld, h %lld, i %lld, j %lld) got=%a want=%a bound=0",
                    (long long)b, (long long)h, (long long)i, (long long)(j0 + t), u[t],
                    want);
    }
}

/* The mask at c against the rule applied to the c = inf mask's W. */
static void check_against_all(fz_case *fc, const sus_mask *all, const sus_mask *mk)
{
    const sus_shape *sh = &fc->t.p.a.shape;
    const double c = fc->c;
    for (int64_t r = 0; r < all->rows; r++) {
        const int64_t i = r % sh->n, bh = r / sh->n;
        int64_t e = mk->indptr[r];
        for (int64_t a = all->indptr[r]; a < all->indptr[r + 1]; a++) {
            const int64_t j = all->indices[a];
            const double w = all->wtilde[a], q = fmin(1.0, c * w);
            double u = -1.0;
            sus_canonical_uniform(fc->seed, bh / sh->H, bh % sh->H, i, j, &u);
            const int keep = u < q;
            const int kept = e < mk->indptr[r + 1] && mk->indices[e] == j;
            if (keep != kept)
                fz_fail(
                    fc,
                    "mask row %lld key %lld: streaming sampler %s, the rule on the "
                    "c = inf weights %s: u=%.17g q=min(1,c W)=%.17g W=%.17g bound=0",
                    (long long)r, (long long)j, kept ? "keeps" : "drops",
                    keep ? "keeps" : "drops", u, q, w);
            if (kept && mk->wtilde[e++] != fmax(w, 1.0 / c))
                fz_fail(
                    fc, "mask row %lld key %lld: wtilde got=%.17g want=%.17g bound=0",
                    (long long)r, (long long)j, mk->wtilde[e - 1], fmax(w, 1.0 / c));
        }
        if (e != mk->indptr[r + 1])
            fz_fail(fc, "mask row %lld holds a key outside the c = inf mask",
                    (long long)r);
    }
}

/* A configuration out of range is refused with SUS_ERR_INVAL; a context
 * reports the level and thread count it was given. */
static void check_config(fz_case *fc, sus_fast_ctx *ctx, fz_in *in)
{
    const uint8_t b = fz_u8(in);
    sus_fast_config bad = {fc->var.threads, fc->var.simd, fc->var.block_q,
                           fc->var.block_k};
    switch (b % 4) {
    case 0:
        bad.threads = b & 4 ? -1 - (int)(b >> 3) : 100000 + b;
        break;
    case 1:
        bad.simd = (sus_simd)(4 + (b >> 2));
        break;
    case 2:
        bad.block_q = b & 4 ? -1 : 4097 + (int64_t)b;
        break;
    default:
        bad.block_k = b & 4 ? -(int64_t)b - 1 : 65537;
        break;
    }
    sus_fast_ctx *c2 = NULL;
    sus_error err;
    int rc = sus_fast_ctx_new(&bad, &c2, &err);
    if (rc != SUS_ERR_INVAL || c2)
        fz_fail(
            fc,
            "config (threads %d, simd %d, tiles %lld x %lld) gave %s, not a refusal",
            bad.threads, (int)bad.simd, (long long)bad.block_q, (long long)bad.block_k,
            sus_strerror(rc));
    if (sus_fast_ctx_new(&bad, NULL, &err) != SUS_ERR_INVAL)
        fz_fail(fc, "sus_fast_ctx_new accepted a NULL output");
    const sus_simd got = sus_fast_ctx_simd(ctx);
    if (sus_fast_ctx_threads(ctx) != fc->var.threads ||
        (fc->var.simd != SUS_SIMD_AUTO && got != fc->var.simd) || got == SUS_SIMD_AUTO)
        fz_fail(fc, "context reports %d threads and level %s",
                sus_fast_ctx_threads(ctx), sus_simd_name(got));
}

static void run(fz_case *fc, sus_fast_ctx *ctx, sus_fast_ctx *ctx_all, sus_tf_out *out,
                fz_in *in)
{
    sus_tf_problem *t = &fc->t;
    sus_error err;
    sus_fast_stats st;
    check_uniforms(fc, ctx, in);
    check_config(fc, ctx, in);
    if (!fz_case_finite(fc, 0) || !(fc->c > 0))
        return; /* refusals: diff_fast_ref's part */
    int rc = sus_fast_forward(ctx_all, &t->fp, INFINITY, fc->seed, out->o, out->lse,
                              NULL, &err);
    int rc2 =
        sus_fast_forward(ctx, &t->fp, fc->c, fc->seed, out->o, out->lse, &st, &err);
    if (rc != rc2)
        fz_fail(fc, "the forward at c = inf and at c disagree: %s vs %s",
                sus_strerror(rc), sus_strerror(rc2));
    if (rc == SUS_ERR_RANGE)
        return;
    if (rc != SUS_OK)
        fz_fail(fc, "sus_fast_forward refused a valid problem: %s", err.msg);
    const sus_mask *mk = sus_fast_mask(ctx);
    check_against_all(fc, sus_fast_mask(ctx_all), mk);
    int64_t peak = 0;
    for (int64_t r = 0; r < mk->rows; r++)
        peak = fmax(peak, mk->indptr[r + 1] - mk->indptr[r]);
    if (st.nnz != mk->nnz || st.candidates < st.nnz || st.max_in_flight < peak)
        fz_fail(fc,
                "stats nnz %lld candidates %lld max_in_flight %lld, mask nnz %lld, "
                "largest row %lld",
                (long long)st.nnz, (long long)st.candidates,
                (long long)st.max_in_flight, (long long)mk->nnz, (long long)peak);
    if (fz_case_linear(fc))
        fz_check_mask(fc, mk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "sampler", FZ_LIMITS_DEFAULT, 0, &fc))
        return 0;
    sus_fast_ctx *ctx = fz_case_ctx(&fc), *ctx_all = fz_case_ctx(&fc);
    sus_tf_out out = {0};
    if (ctx && ctx_all && !sus_tf_out_alloc(&out, &fc.t))
        run(&fc, ctx, ctx_all, &out, &in);
    sus_tf_out_free(&out);
    sus_fast_ctx_free(ctx);
    sus_fast_ctx_free(ctx_all);
    fz_case_free(&fc);
    return 0;
}
