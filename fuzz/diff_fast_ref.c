/*
 * diff_fast_ref: fast/ against the reference on one decoded problem.
 *  - fast/'s forward O and lse are within the DESIGN.md 3 bound of the
 *    exact ones (MPFR for float64, the double reference for float32);
 *  - its mask, drawn by the streaming sampler for (c, seed), differs from
 *    the canonical mask only at borderline entries, and its W~ is
 *    max(W, 1/c) (fz_check_mask); c = inf keeps every allowed entry;
 *  - its SUS backward under that mask is within the bound of the exact
 *    estimator under the same mask, and for c = inf of the exact gradient;
 *  - its dense backward is within the bound of the exact gradient;
 *  - invalid problems (NaN, inf, c < 0) are refused, and overflow
 *    (SUS_ERR_RANGE) only where a magnitude is beyond the dtype's range.
 */
#include <math.h>
#include <stdlib.h>

#include "fz.h"

/* Whether fast/ may refuse with SUS_ERR_RANGE: a magnitude of the forward
 * or of the gradient it was asked for is near the dtype's overflow. */
static int range_ok(const fz_case *fc, const sus_grads *mag, int grads)
{
    const sus_sizes *z = &fc->t.p.z;
    double mx = fmax(fz_max_abs(mag->o, z->o), fz_max_abs(mag->lse, z->rows));
    if (grads)
        mx = fmax(mx, fmax(fz_max_abs(mag->dq, z->q),
                           fmax(fz_max_abs(mag->dk, z->k), fz_max_abs(mag->dv, z->v))));
    return fz_case_may_overflow(fc) || fz_may_overflow(fc->t.dtype, mx);
}

static void expect(const fz_case *fc, const char *what, int rc, int want,
                   const sus_error *err)
{
    if (rc != want)
        fz_fail(fc, "%s returned %s, expected %s (%s)", what, sus_strerror(rc),
                sus_strerror(want), rc ? err->msg : "no error");
}

static void run(fz_case *fc, sus_fast_ctx *ctx, sus_tf_out *out, sus_grads *est,
                sus_grads *est_mag)
{
    sus_tf_problem *t = &fc->t;
    sus_error err;
    sus_fast_stats st;
    sus_tf_out_poison(out, t);
    int rc =
        sus_fast_forward(ctx, &t->fp, fc->c, fc->seed, out->o, out->lse, &st, &err);
    if (!fz_case_finite(fc, 0)) {
        expect(fc, "sus_fast_forward on non-finite input", rc,
               isfinite(t->p.a.scale) ? SUS_ERR_NONFINITE : SUS_ERR_INVAL, &err);
        return;
    }
    if (!fz_case_finite(fc, 1)) {
        if (rc == SUS_OK) {
            rc = sus_fast_sus_backward(ctx, &t->fp, sus_fast_mask(ctx), out->o, out->dq,
                                       out->dk, out->dv, &err);
            expect(fc, "sus_fast_sus_backward on non-finite dO", rc, SUS_ERR_NONFINITE,
                   &err);
        }
        return;
    }
    if (isnan(fc->c) || fc->c < 0) {
        expect(fc, "sus_fast_forward with c < 0 or NaN", rc, SUS_ERR_INVAL, &err);
        return;
    }
    const int linear = fz_case_linear(fc);
    sus_error rerr;
    int rrc = fz_exact_grad(fc, &t->p.exact, &t->p.mag, &rerr);
    if (rrc == SUS_ERR_RANGE)
        return; /* beyond double: fast/ may do anything but crash */
    if (rrc)
        fz_fail(fc, "the exact reference refused a valid problem: %s", rerr.msg);
    if (rc == SUS_ERR_RANGE && range_ok(fc, &t->p.mag, 0))
        return;
    expect(fc, "sus_fast_forward", rc, SUS_OK, &err);
    if (!linear) {
        /* outside the bound's domain: run the rest for the sanitizers */
        const sus_mask *mk = sus_fast_mask(ctx);
        sus_fast_sus_backward(ctx, &t->fp, mk, out->o, out->dq, out->dk, out->dv, &err);
        sus_fast_dense_backward(ctx, &t->fp, out->o, out->lse, out->dq, out->dk,
                                out->dv, &err);
        return;
    }
    fz_check_out(fc, out, &t->p.exact, &t->p.mag, 1, 0, "forward");

    const sus_mask *mk = sus_fast_mask(ctx);
    if (fc->c == 0.0) {
        if (!mk || mk->nnz != 0)
            fz_fail(fc, "c = 0 drew a non-empty mask (nnz %lld)",
                    mk ? (long long)mk->nnz : -1LL);
    } else {
        fz_check_mask(fc, mk);
        if (st.nnz != mk->nnz)
            fz_fail(fc, "stats nnz %lld != mask nnz %lld", (long long)st.nnz,
                    (long long)mk->nnz);
    }

    /* the SUS backward under fast/'s own mask */
    rc =
        sus_fast_sus_backward(ctx, &t->fp, mk, out->o, out->dq, out->dk, out->dv, &err);
    rrc = fz_exact_estimate(fc, mk, est, est_mag, &rerr);
    if (rrc == SUS_ERR_RANGE)
        return;
    if (rrc)
        fz_fail(fc, "the exact estimator refused fast/'s mask: %s", rerr.msg);
    if (rc == SUS_ERR_RANGE && range_ok(fc, est_mag, 1))
        return;
    expect(fc, "sus_fast_sus_backward", rc, SUS_OK, &err);
    fz_check_out(fc, out, est, est_mag, 0, 1, "sus backward");
    if (isinf(fc->c))
        fz_check_out(fc, out, &t->p.exact, &t->p.mag, 0, 1, "sus backward at c = inf");

    /* the dense backward: the exact gradient */
    rc = sus_fast_dense_backward(ctx, &t->fp, out->o, out->lse, out->dq, out->dk,
                                 out->dv, &err);
    if (rc == SUS_ERR_RANGE && range_ok(fc, &t->p.mag, 1))
        return;
    expect(fc, "sus_fast_dense_backward", rc, SUS_OK, &err);
    fz_check_out(fc, out, &t->p.exact, &t->p.mag, 0, 1, "dense backward");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "diff_fast_ref", FZ_LIMITS_DEFAULT, 0, &fc))
        return 0;
    sus_fast_ctx *ctx = fz_case_ctx(&fc);
    sus_tf_out out = {0};
    sus_grads est = {0}, est_mag = {0};
    if (ctx && !sus_tf_out_alloc(&out, &fc.t) && !sus_tf_grads_alloc(&est, &fc.t.p.z) &&
        !sus_tf_grads_alloc(&est_mag, &fc.t.p.z))
        run(&fc, ctx, &out, &est, &est_mag);
    sus_tf_grads_free(&est);
    sus_tf_grads_free(&est_mag);
    sus_tf_out_free(&out);
    sus_fast_ctx_free(ctx);
    fz_case_free(&fc);
    return 0;
}
