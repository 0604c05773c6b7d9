/* moments.c: the public entry points for exact moments (closed forms and
 * enumeration) over a whole problem, head by head. */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "mp_moments.h"
#include "ref_internal.h"

enum method { CLOSED, ENUMERATE };

typedef struct fn_arrays {
    const double *rq, *rk, *rv; /* whole-problem coefficients, or NULL */
} fn_arrays;

static mpfr_t *load_coef(const double *src, size_t off, size_t count, mpfr_prec_t p)
{
    if (!src)
        return NULL;
    mpfr_t *v = sus_i_mp_new(count, p);
    if (v)
        for (size_t t = 0; t < count; t++)
            mpfr_set_d(v[t], src[off + t], MPFR_RNDN);
    return v;
}

static void store(mpfr_t *src, double *dst, size_t count)
{
    if (!dst)
        return;
    for (size_t t = 0; t < count; t++)
        dst[t] = mpfr_get_d(src[t], MPFR_RNDN);
}

/* Runs method on every head; delivers moments (if out) and the functional
 * variance summed over heads (if fn and fvar). */
static int run(const sus_attn *a, const sus_rule *rule, double c, long prec,
               enum method how, sus_moments *out, const fn_arrays *fn, double *fvar,
               sus_error *err)
{
    int rc = sus_attn_check(a, err);
    if (rc)
        return rc;
    if (prec < SUS_MPFR_MIN_PREC || prec > SUS_MPFR_MAX_PREC)
        return sus_i_fail(err, SUS_ERR_INVAL, "precision %ld bits is outside [%d, %d]",
                          prec, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC);
    if (out && (!out->mean.dq || !out->mean.dk || !out->mean.dv || !out->var.dq ||
                !out->var.dk || !out->var.dv || !out->nnz_row))
        return sus_i_fail(err, SUS_ERR_INVAL, "moments: NULL output array");
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    sus_sizes z;
    sus_shape_sizes(sh, &z, NULL);
    double *q = sus_i_alloc_array(z.scores, sizeof(double));
    double *wt = sus_i_alloc_array(z.scores, sizeof(double));
    if (!q || !wt) {
        rc = sus_i_fail(err, SUS_ERR_NOMEM, "moments: out of memory");
        goto free_q;
    }
    if ((rc = sus_ref_probs(a, rule, c, q, wt, err)))
        goto free_q;

    const mpfr_prec_t p = (mpfr_prec_t)prec;
    mpfr_t scale, total;
    mpfr_inits2(p, scale, total, (mpfr_ptr)0);
    mpfr_set_d(scale, a->scale, MPFR_RNDN);
    mpfr_set_zero(total, 1);
    double nnz_total = 0.0;
    mpfr_t nnz_acc;
    mpfr_init2(nnz_acc, p);
    mpfr_set_zero(nnz_acc, 1);
    sus_i_mp_moments mo;
    if (sus_i_mp_moments_init(&mo, n, m, d, dv, p)) {
        rc = sus_i_fail(err, SUS_ERR_NOMEM, "moments: out of memory");
        goto free_mp;
    }
    for (int64_t b = 0; b < sh->B && !rc; b++)
        for (int64_t h = 0; h < sh->H && !rc; h++) {
            sus_i_head_off off = sus_i_head_offsets(sh, b, h);
            sus_i_mp_head_in in;
            sus_i_mp_functional R = {NULL, NULL, NULL};
            if (sus_i_mp_head_load(&in, a, b, h, scale, p)) {
                rc = sus_i_fail(err, SUS_ERR_NOMEM, "moments: out of memory");
                break;
            }
            if (fn) {
                R.rq = load_coef(fn->rq, off.q, (size_t)(n * d), p);
                R.rk = load_coef(fn->rk, off.k, (size_t)(m * d), p);
                R.rv = load_coef(fn->rv, off.v, (size_t)(m * dv), p);
            }
            const double *qh = q + (size_t)(b * sh->H + h) * (size_t)(n * m);
            int hr = how == CLOSED
                         ? sus_i_mp_head_moments(&in, qh, fn ? &R : NULL, &mo)
                         : sus_i_mp_head_enumerate(&in, qh, fn ? &R : NULL, &mo);
            if (hr == -2)
                rc = sus_i_fail(
                    err, SUS_ERR_UNSUPPORTED,
                    "enumeration: head (%lld, %lld) has more than %d entries "
                    "with 0 < q < 1",
                    (long long)b, (long long)h, SUS_ENUM_MAX_UNCERTAIN);
            else if (hr)
                rc = sus_i_fail(err, SUS_ERR_NOMEM, "moments: out of memory");
            if (!rc && out) {
                store(mo.mean.o, out->mean.o ? out->mean.o + off.o : NULL,
                      (size_t)(n * dv));
                store(mo.mean.lse, out->mean.lse ? out->mean.lse + off.row : NULL,
                      (size_t)n);
                store(mo.mean.dq, out->mean.dq + off.q, (size_t)(n * d));
                store(mo.mean.dk, out->mean.dk + off.k, (size_t)(m * d));
                store(mo.mean.dv, out->mean.dv + off.v, (size_t)(m * dv));
                store(mo.var.dq, out->var.dq + off.q, (size_t)(n * d));
                store(mo.var.dk, out->var.dk + off.k, (size_t)(m * d));
                store(mo.var.dv, out->var.dv + off.v, (size_t)(m * dv));
                store(mo.nnz, out->nnz_row + off.row, (size_t)n);
                for (int64_t i = 0; i < n; i++)
                    mpfr_add(nnz_acc, nnz_acc, mo.nnz[i], MPFR_RNDN);
            }
            if (!rc)
                mpfr_add(total, total, mo.fvar, MPFR_RNDN);
            sus_i_mp_free(R.rq, (size_t)(n * d));
            sus_i_mp_free(R.rk, (size_t)(m * d));
            sus_i_mp_free(R.rv, (size_t)(m * dv));
            sus_i_mp_head_unload(&in);
        }
    nnz_total = mpfr_get_d(nnz_acc, MPFR_RNDN);
    if (!rc && out)
        out->nnz_total = nnz_total;
    if (!rc && fvar)
        *fvar = mpfr_get_d(total, MPFR_RNDN);
    if (!rc)
        sus_i_ok(err);
    sus_i_mp_moments_clear(&mo);
free_mp:
    mpfr_clears(scale, total, nnz_acc, (mpfr_ptr)0);
free_q:
    free(q);
    free(wt);
    return rc;
}

int sus_mpfr_moments(const sus_attn *a, const sus_rule *rule, double c, long prec,
                     sus_moments *out, sus_error *err)
{
    if (!out)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_moments: NULL output");
    return run(a, rule, c, prec, CLOSED, out, NULL, NULL, err);
}

int sus_mpfr_enumerate(const sus_attn *a, const sus_rule *rule, double c, long prec,
                       sus_moments *out, sus_error *err)
{
    if (!out)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_enumerate: NULL output");
    return run(a, rule, c, prec, ENUMERATE, out, NULL, NULL, err);
}

int sus_mpfr_functional_var(const sus_attn *a, const sus_rule *rule, double c,
                            const double *rq, const double *rk, const double *rv,
                            long prec, double *var, sus_error *err)
{
    if (!var)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_mpfr_functional_var: NULL output");
    fn_arrays fn = {rq, rk, rv};
    return run(a, rule, c, prec, CLOSED, NULL, &fn, var, err);
}
