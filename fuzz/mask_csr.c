/*
 * mask_csr: externally given CSR masks (DESIGN.md 4), as a port hands them
 * to the oracle, are either refused or processed safely. The decoder
 * builds a mostly well-formed mask for a decoded problem (each row keeps
 * the keys a bit pattern picks, W~ from the value palette) and then may
 * corrupt it: a wrong row count or nnz, indptr not starting at 0 or
 * decreasing, an index out of [0, m), unsorted or duplicated, j > i under
 * causal masking, a negative or non-finite W~.
 *  - sus_mask_check, sus_ref_estimate and fast/'s sparse backward refuse
 *    the same masks with the same status;
 *  - an accepted mask gives fast/ results within the bound of the exact
 *    estimator under it (MPFR for float64).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

static void corrupt(fz_in *in, sus_mask *mk, const sus_shape *sh)
{
    const uint8_t op = fz_u8(in);
    if (op < 128)
        return;
    const int64_t e = mk->nnz ? fz_pick(in, mk->nnz) : 0;
    const int64_t r = fz_pick(in, mk->rows + 1);
    switch (op % 10) {
    case 0:
        mk->rows -= mk->rows > 0;
        break;
    case 1:
        mk->nnz += 1 - 2 * (mk->nnz > 0);
        break;
    case 2:
        mk->indptr[r] += 1;
        break;
    case 3:
        if (mk->nnz)
            mk->indices[e] = sh->m;
        break;
    case 4:
        if (mk->nnz)
            mk->indices[e] = -1;
        break;
    case 5:
        if (e + 1 < mk->nnz)
            mk->indices[e + 1] = mk->indices[e];
        break;
    case 6:
        if (mk->nnz)
            mk->wtilde[e] = -mk->wtilde[e] - 1.0;
        break;
    case 7:
        if (mk->nnz)
            mk->wtilde[e] = fz_u8(in) & 1 ? NAN : INFINITY;
        break;
    case 8:
        mk->indptr[r] = INT64_MAX - fz_u8(in);
        break;
    default:
        if (mk->nnz)
            mk->indices[e] = (int64_t)fz_u64(in);
        break;
    }
}

/* Rows keep the keys whose bit is set in bytes of the input; W~ in [0, 8]
 * mostly, from the palette otherwise. */
static int build(fz_in *in, const fz_case *fc, sus_mask *mk)
{
    const sus_shape *sh = &fc->t.p.a.shape;
    const int64_t rows = (int64_t)fc->t.p.z.rows, m = sh->m;
    mk->rows = rows;
    mk->indptr = calloc((size_t)rows + 2, sizeof(int64_t));
    mk->indices = calloc((size_t)(rows * m) + 1, sizeof(int64_t));
    mk->wtilde = calloc((size_t)(rows * m) + 1, sizeof(double));
    if (!mk->indptr || !mk->indices || !mk->wtilde)
        return -1;
    const uint8_t density = fz_u8(in);
    int64_t nnz = 0;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = r % sh->n;
        const int64_t len = fc->t.p.a.causal && i + 1 < m ? i + 1 : m;
        for (int64_t j = 0; j < len; j++) {
            if (fz_u8(in) >= density)
                continue;
            mk->indices[nnz] = j;
            mk->wtilde[nnz++] = fabs(fz_element(in, 1.0 / 16));
        }
        mk->indptr[r + 1] = nnz;
    }
    mk->nnz = nnz;
    return 0;
}

static void run(fz_case *fc, sus_fast_ctx *ctx, sus_tf_out *out, sus_grads *ex,
                sus_grads *mag, fz_in *in)
{
    sus_tf_problem *t = &fc->t;
    sus_mask mk = {0};
    sus_error err, rerr, ferr;
    if (build(in, fc, &mk) == 0) {
        corrupt(in, &mk, &t->p.a.shape);
        const int rc = sus_mask_check(&mk, &t->p.a.shape, t->p.a.causal, &err);
        int rr = sus_ref_estimate(&t->p.a, &mk, ex, &rerr);
        int rf = sus_fast_forward(ctx, &t->fp, 0.0, 0, out->o, out->lse, NULL, &ferr);
        if (rf == SUS_OK)
            rf = sus_fast_sus_backward(ctx, &t->fp, &mk, out->o, out->dq, out->dk,
                                       out->dv, &ferr);
        else
            rf = rc ? rc : SUS_ERR_RANGE; /* no O to run the backward with */
        if (rc != SUS_OK) {
            if (rr != rc || rf != rc)
                fz_fail(fc,
                        "mask refused by sus_mask_check (%s) but double %s, fast %s",
                        err.msg, sus_strerror(rr), sus_strerror(rf));
        } else if (rr == SUS_OK && rf == SUS_OK && fz_case_linear(fc)) {
            /* A given W~ plays the part of 1/c in fz_case_growth's bound of
             * how far an intermediate can grow. */
            fc->c = 1.0 / fmax(1.0, fz_max_abs(mk.wtilde, (size_t)mk.nnz));
            int re = fz_exact_estimate(fc, &mk, ex, mag, &rerr);
            if (re == SUS_OK)
                fz_check_out(fc, out, ex, mag, 0, 1, "given mask");
        } else if ((rr != SUS_OK && rr != SUS_ERR_RANGE) ||
                   (rf != SUS_OK && rf != SUS_ERR_RANGE)) {
            fz_fail(fc, "well-formed mask refused: double %s (%s), fast %s (%s)",
                    sus_strerror(rr), rr ? rerr.msg : "", sus_strerror(rf),
                    rf ? ferr.msg : "");
        }
    }
    free(mk.indptr);
    free(mk.indices);
    free(mk.wtilde);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "mask_csr", (fz_limits){2, 12, 8}, 0, &fc))
        return 0;
    sus_fast_ctx *ctx = fz_case_ctx(&fc);
    sus_tf_out out = {0};
    sus_grads ex = {0}, mag = {0};
    if (ctx && fz_case_finite(&fc, 1) && !sus_tf_out_alloc(&out, &fc.t) &&
        !sus_tf_grads_alloc(&ex, &fc.t.p.z) && !sus_tf_grads_alloc(&mag, &fc.t.p.z))
        run(&fc, ctx, &out, &ex, &mag, &in);
    sus_tf_grads_free(&ex);
    sus_tf_grads_free(&mag);
    sus_tf_out_free(&out);
    sus_fast_ctx_free(ctx);
    fz_case_free(&fc);
    return 0;
}
