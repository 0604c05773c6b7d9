/*
 * diff_ref_mpfr: the double reference against MPFR on one decoded problem
 * (DESIGN.md 3 with u = 2^-53, exact values and magnitudes from MPFR):
 *  - sus_ref_grad's O, lse, dQ, dK, dV;
 *  - the rule (minc or waterfill) at c: q in [0, 1]; minc's q = min(1, cW)
 *    and W~ = max(W, 1/c) exactly on the c = inf weights; waterfill's row
 *    sums min(c, positive weights);
 *  - the canonical mask keeps (i, j) iff u_ij < q_ij, exactly;
 *  - sus_ref_estimate under that mask against sus_mpfr_estimate.
 * Non-finite inputs must be refused by both.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

#define PREC 128

static void check_rule(fz_case *fc, const double *W, const double *q, const double *wt)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_shape *sh = &a->shape;
    const double c = fc->c, k = sus_bound_k(sh);
    const int minc = fc->rule == &sus_rule_minc;
    for (int64_t r = 0; r < (int64_t)fc->t.p.z.rows; r++) {
        const int64_t i = r % sh->n;
        const int64_t len = a->causal && i + 1 < sh->m ? i + 1 : sh->m;
        double sum = 0.0, pos = 0.0, sub = 0.0;
        for (int64_t j = 0; j < sh->m; j++) {
            const size_t s = (size_t)r * (size_t)sh->m + (size_t)j;
            if (!(q[s] >= 0.0 && q[s] <= 1.0) || (j >= len && q[s] != 0.0))
                fz_fail(fc, "rule row %lld key %lld: q=%.17g outside [0, 1] or masked",
                        (long long)r, (long long)j, q[s]);
            sum += q[s];
            pos += W[s] > 0.0;
            /* a subnormal weight has only relative precision eta / W, and
             * so has q = W / t with t >= W; eta / W first, since q eta
             * underflows to 0 for q < 1/2 (a false alarm from fuzz-smoke) */
            if (W[s] > 0.0 && W[s] < DBL_MIN)
                sub += 2.0 * q[s] * (DBL_TRUE_MIN / W[s]);
            if (!minc || j >= len)
                continue;
            const double wq = isinf(c) ? 1.0 : W[s] == 0.0 ? 0.0 : fmin(1.0, c * W[s]);
            const double ww = isinf(c) ? W[s] : W[s] == 0.0 ? 0.0 : fmax(W[s], 1.0 / c);
            if (q[s] != wq || wt[s] != ww)
                fz_fail(fc,
                        "minc row %lld key %lld: q=%.17g wtilde=%.17g want %.17g %.17g "
                        "bound=0",
                        (long long)r, (long long)j, q[s], wt[s], wq, ww);
        }
        const double want = isinf(c) ? (double)len : minc ? fmin(sum, c) : fmin(c, pos);
        const double tol = SUS_TAU * (k * 0x1p-53 * fmax(want, 1.0) + sub);
        if (!(fabs(sum - want) <= tol))
            fz_fail(fc, "%s row %lld: sum q got=%.17g want=%.17g bound=%.3g",
                    fc->rule->name, (long long)r, sum, want, tol);
    }
}

static void check_canonical(fz_case *fc, const sus_mask *mk, const double *q,
                            const double *wt)
{
    const sus_shape *sh = &fc->t.p.a.shape;
    for (int64_t r = 0; r < mk->rows; r++) {
        const int64_t i = r % sh->n, bh = r / sh->n;
        int64_t e = mk->indptr[r];
        for (int64_t j = 0; j < sh->m; j++) {
            const size_t s = (size_t)r * (size_t)sh->m + (size_t)j;
            double u = -1.0;
            sus_canonical_uniform(fc->seed, bh / sh->H, bh % sh->H, i, j, &u);
            const int kept = e < mk->indptr[r + 1] && mk->indices[e] == j;
            if (kept != (u < q[s]) || (kept && mk->wtilde[e] != wt[s]))
                fz_fail(fc,
                        "canonical mask row %lld key %lld: kept %d, u=%.17g q=%.17g "
                        "wtilde %.17g want %.17g bound=0",
                        (long long)r, (long long)j, kept, u, q[s],
                        kept ? mk->wtilde[e] : 0.0, wt[s]);
            e += kept;
        }
    }
}

static void estimator(fz_case *fc, sus_grads *got, sus_grads *ex, sus_grads *mag,
                      double *W, double *q, double *wt)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_sizes *z = &fc->t.p.z;
    sus_error err;
    int rc = sus_ref_probs(a, &sus_rule_minc, INFINITY, q, W, &err);
    if (rc == SUS_OK)
        rc = sus_ref_probs(a, fc->rule, fc->c, q, wt, &err);
    if (rc == SUS_ERR_RANGE)
        return;
    if (rc)
        fz_fail(fc, "sus_ref_probs: %s", err.msg);
    check_rule(fc, W, q, wt);
    sus_mask mk = {0};
    if ((rc = sus_ref_mask(a, fc->rule, fc->c, fc->seed, &mk, &err)))
        fz_fail(fc, "sus_ref_mask: %s", err.msg);
    check_canonical(fc, &mk, q, wt);
    sus_cert cert;
    int rr = sus_ref_estimate(a, &mk, got, &err);
    int rm = sus_mpfr_estimate(a, &mk, PREC, ex, mag, &cert, &err);
    if (rm == SUS_OK && rr == SUS_OK) {
        fz_check_array(fc, "estimate dQ", got->dq, ex->dq, mag->dq, z->q, 0x1p-53);
        fz_check_array(fc, "estimate dK", got->dk, ex->dk, mag->dk, z->k, 0x1p-53);
        fz_check_array(fc, "estimate dV", got->dv, ex->dv, mag->dv, z->v, 0x1p-53);
    } else if (rm != SUS_ERR_RANGE && rr != SUS_ERR_RANGE) {
        fz_fail(fc, "estimate: double %s, MPFR %s", sus_strerror(rr), sus_strerror(rm));
    }
    sus_mask_free(&mk);
}

static void run(fz_case *fc, sus_grads *got, sus_grads *ex, sus_grads *mag)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_sizes *z = &fc->t.p.z;
    sus_error err;
    sus_cert cert;
    int rr = sus_ref_grad(a, got, &err);
    int rm = sus_mpfr_grad(a, PREC, ex, mag, &cert, &err);
    if (!fz_case_finite(fc, 1)) {
        int want = isfinite(a->scale) ? SUS_ERR_NONFINITE : SUS_ERR_INVAL;
        if (rr != want || rm != want)
            fz_fail(fc, "non-finite input: double %s, MPFR %s, expected %s",
                    sus_strerror(rr), sus_strerror(rm), sus_strerror(want));
        return;
    }
    if (!fz_case_linear(fc))
        return;
    if (rr == SUS_OK && rm == SUS_OK) {
        fz_check_array(fc, "O", got->o, ex->o, mag->o, z->o, 0x1p-53);
        fz_check_array(fc, "lse", got->lse, ex->lse, mag->lse, z->rows, 0x1p-53);
        fz_check_array(fc, "dQ", got->dq, ex->dq, mag->dq, z->q, 0x1p-53);
        fz_check_array(fc, "dK", got->dk, ex->dk, mag->dk, z->k, 0x1p-53);
        fz_check_array(fc, "dV", got->dv, ex->dv, mag->dv, z->v, 0x1p-53);
    } else if (!(rr == SUS_ERR_RANGE &&
                 (rm == SUS_ERR_RANGE || fz_case_may_overflow(fc)))) {
        fz_fail(fc, "gradient: double %s, MPFR %s", sus_strerror(rr), sus_strerror(rm));
    }
    size_t sc = fc->t.p.z.scores;
    double *W = calloc(sc, sizeof *W), *q = calloc(sc, sizeof *q),
           *wt = calloc(sc, sizeof *wt);
    if (W && q && wt && fc->c > 0) {
        estimator(fc, got, ex, mag, W, q, wt);
    } else if (W && q && wt) {
        /* c <= 0 or NaN: every estimator entry point refuses it */
        sus_mask mk = {0};
        double fv = 0.0;
        int r1 = sus_ref_probs(a, fc->rule, fc->c, q, wt, &err);
        int r2 = sus_ref_mask(a, fc->rule, fc->c, fc->seed, &mk, &err);
        int r3 = sus_mpfr_functional_var(a, fc->rule, fc->c, NULL, NULL, NULL, PREC,
                                         &fv, &err);
        if (r1 != SUS_ERR_INVAL || r2 != SUS_ERR_INVAL || r3 != SUS_ERR_INVAL)
            fz_fail(fc, "c = %g accepted: probs %s, mask %s, functional var %s", fc->c,
                    sus_strerror(r1), sus_strerror(r2), sus_strerror(r3));
    }
    free(W);
    free(q);
    free(wt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    fz_case fc;
    if (fz_case_decode(&in, "diff_ref_mpfr", FZ_LIMITS_DEFAULT, SUS_DTYPE_F8, &fc))
        return 0;
    run(&fc, &fc.t.p.got, &fc.t.p.exact, &fc.t.p.mag);
    fz_case_free(&fc);
    return 0;
}
