/* fz_check.c: the harnesses' checks (fz.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fz.h"

int fz_may_overflow(sus_dtype dt, double mag)
{
    const double top = dt == SUS_DTYPE_F4 ? (double)FLT_MAX : DBL_MAX;
    return !(mag < top * 0x1p-8);
}

/* The dtype's smallest subnormal: underflow is an absolute error of at most
 * this per operation, which DESIGN.md 3's relative model leaves out. */
static double eta(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? (double)FLT_TRUE_MIN : DBL_TRUE_MIN;
}

void fz_check_array(const fz_case *fc, const char *name, const double *got,
                    const double *exact, const double *mag, size_t count, double u)
{
    const sus_dtype dt = fc->t.dtype;
    if (u == 0.0)
        u = sus_tf_unit(dt);
    const double k = sus_bound_k(&fc->t.p.a.shape);
    const int ovf = fz_case_may_overflow(fc);
    const double floor = eta(dt) * fz_case_growth(fc);
    for (size_t t = 0; t < count; t++) {
        if (sus_within_bound(got[t], exact[t], mag[t] + floor / u, SUS_TAU, k, u))
            continue;
        if (!isfinite(got[t]) && (ovf || fz_may_overflow(dt, mag[t])))
            continue;
        fz_fail(fc,
                "%s[%zu] got=%.17g want=%.17g |diff|=%.3g bound=%.3g (mag %.3g, k %g)",
                name, t, got[t], exact[t], fabs(got[t] - exact[t]),
                SUS_TAU * k * (u * mag[t] + floor), mag[t], k);
    }
}

static int64_t allowed(int causal, int64_t i, int64_t m)
{
    return causal && i + 1 < m ? i + 1 : m;
}

/* Whether every implementation computes row r's weights exactly: all its
 * logits are equal (zero scale, a zero query, or bitwise identical keys),
 * so each weight is 1/len, and 1/len is exact in the dtype. */
static int exact_row(const fz_case *fc, int64_t r)
{
    const sus_attn *a = &fc->t.p.a;
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, i = r % n, bh = r / n;
    const int64_t len = allowed(a->causal, i, m);
    if (fc->t.dtype == SUS_DTYPE_F4 && (len & (len - 1)) != 0)
        return 0;
    if (a->scale == 0.0)
        return 1;
    const double *q = a->q + (size_t)(r * d);
    int zero = 1;
    for (int64_t t = 0; t < d; t++)
        zero &= q[t] == 0.0;
    if (zero)
        return 1;
    const double *k = a->k + (size_t)(bh * m * d);
    for (int64_t j = 1; j < len; j++)
        if (memcmp(k, k + j * d, (size_t)d * sizeof *k) != 0)
            return 0;
    return 1;
}

/* One entry kept by both masks: its W~ against max(W, 1/c). */
static void check_kept(fz_case *fc, int64_t r, int64_t j, double wt, int exact)
{
    const sus_tf_problem *t = &fc->t;
    const double c = fc->c;
    const size_t s = (size_t)r * (size_t)t->p.a.shape.m + (size_t)j;
    const double W = t->W[s], want = isinf(c) ? W : fmax(W, 1.0 / c);
    const double tol = exact ? 0.0
                             : SUS_TAU * sus_bound_k(&t->p.a.shape) *
                                       sus_tf_unit(t->dtype) * want * t->cond[s] +
                                   sus_tf_tiny(t->dtype);
    if (!(fabs(wt - want) <= tol) || !(wt >= 1.0 / c) || !(wt <= fmax(1.0, 1.0 / c)))
        fz_fail(fc,
                "mask row %lld key %lld: wtilde got=%.17g want=max(W,1/c)=%.17g "
                "|diff|=%.3g bound=%.3g (exact row %d, 1/c %.17g)",
                (long long)r, (long long)j, wt, want, fabs(wt - want), tol, exact,
                1.0 / c);
    if (t->dtype == SUS_DTYPE_F4 && wt != (double)(float)wt && wt != 1.0 / c)
        fz_fail(fc,
                "mask row %lld key %lld: f32 wtilde got=%.17g is neither a float32 "
                "value nor 1/c",
                (long long)r, (long long)j, wt);
}

int64_t fz_check_mask(fz_case *fc, const sus_mask *got)
{
    sus_tf_problem *t = &fc->t;
    const sus_attn *a = &t->p.a;
    const sus_shape *sh = &a->shape;
    const double c = fc->c;
    sus_error err;
    if (!got || sus_mask_check(got, sh, a->causal, &err) != SUS_OK)
        fz_fail(fc, "fast's mask is malformed: %s", got ? err.msg : "NULL");
    sus_tf_weights(t);
    sus_mask want = {0};
    double *q = calloc(t->p.z.scores, sizeof(double));
    double *wt = calloc(t->p.z.scores, sizeof(double));
    if (!q || !wt)
        abort();
    if (sus_ref_mask(a, &sus_rule_minc, c, fc->seed, &want, &err) ||
        sus_ref_probs(a, &sus_rule_minc, c, q, wt, &err))
        fz_fail(fc, "the reference refused what fast/ accepted: %s", err.msg);
    const double band_k = SUS_TAU * sus_bound_k(sh) * sus_tf_unit(t->dtype);
    int64_t borderline = 0;
    for (int64_t r = 0; r < want.rows; r++) {
        const int64_t i = r % sh->n, bh = r / sh->n;
        const int exact = exact_row(fc, r);
        int64_t eg = got->indptr[r], ew = want.indptr[r];
        const int64_t gend = got->indptr[r + 1], wend = want.indptr[r + 1];
        while (eg < gend || ew < wend) {
            const int64_t jg = eg < gend ? got->indices[eg] : sh->m;
            const int64_t jw = ew < wend ? want.indices[ew] : sh->m;
            const int64_t j = jg < jw ? jg : jw;
            if (jg == jw) {
                check_kept(fc, r, j, got->wtilde[eg++], exact);
                ew++;
                continue;
            }
            const size_t s = (size_t)r * (size_t)sh->m + (size_t)j;
            double u = -1.0;
            sus_canonical_uniform(fc->seed, bh / sh->H, bh % sh->H, i, j, &u);
            const double band = isinf(c) || exact ? 0.0
                                                  : band_k * t->cond[s] * q[s] +
                                                        c * sus_tf_tiny(t->dtype);
            if (exact || !(fabs(u - q[s]) <= band))
                fz_fail(fc,
                        "mask row %lld key %lld kept by %s only: u=%.17g q=%.17g "
                        "|u-q|=%.3g bound=%.3g (borderline band; exact row %d)",
                        (long long)r, (long long)j,
                        jg < jw ? "fast" : "the canonical mask", u, q[s],
                        fabs(u - q[s]), band, exact);
            borderline++;
            if (jg < jw)
                eg++;
            else
                ew++;
        }
    }
    sus_mask_free(&want);
    free(q);
    free(wt);
    return borderline;
}

#define FZ_PREC 128

int fz_exact_grad(fz_case *fc, sus_grads *exact, sus_grads *mag, sus_error *err)
{
    const sus_attn *a = &fc->t.p.a;
    if (fc->t.dtype == SUS_DTYPE_F8) {
        /* Uncertain elements are within 32 k 2^-128 mag of exact: far inside
         * the float64 bound, so they are used as they are. */
        sus_cert cert;
        return sus_mpfr_grad(a, FZ_PREC, exact, mag, &cert, err);
    }
    int rc = sus_ref_grad(a, exact, err);
    return rc ? rc : sus_ref_grad_mag(a, mag, err);
}

int fz_exact_estimate(fz_case *fc, const sus_mask *mk, sus_grads *exact, sus_grads *mag,
                      sus_error *err)
{
    const sus_attn *a = &fc->t.p.a;
    if (fc->t.dtype == SUS_DTYPE_F8) {
        sus_cert cert;
        return sus_mpfr_estimate(a, mk, FZ_PREC, exact, mag, &cert, err);
    }
    int rc = sus_ref_estimate(a, mk, exact, err);
    return rc ? rc : sus_ref_estimate_mag(a, mk, mag, err);
}

double fz_max_abs(const double *x, size_t count)
{
    double m = 0.0;
    for (size_t t = 0; t < count; t++)
        m = fabs(x[t]) > m || isnan(x[t]) ? fabs(x[t]) : m;
    return m;
}

void fz_check_out(fz_case *fc, const sus_tf_out *o, const sus_grads *exact,
                  const sus_grads *mag, int fwd, int grads, const char *what)
{
    sus_tf_problem *t = &fc->t;
    const sus_sizes *z = &t->p.z;
    sus_grads *g = &t->p.got;
    char name[64];
    const struct {
        const char *name;
        const void *src;
        double *wide;
        const double *ex, *mg;
        size_t count;
        int on;
    } arr[] = {{"O", o->o, g->o, exact->o, mag->o, z->o, fwd},
               {"lse", o->lse, g->lse, exact->lse, mag->lse, z->rows, fwd},
               {"dQ", o->dq, g->dq, exact->dq, mag->dq, z->q, grads},
               {"dK", o->dk, g->dk, exact->dk, mag->dk, z->k, grads},
               {"dV", o->dv, g->dv, exact->dv, mag->dv, z->v, grads}};
    for (size_t a = 0; a < sizeof arr / sizeof arr[0]; a++) {
        if (!arr[a].on)
            continue;
        sus_tf_widen(t->dtype, arr[a].src, arr[a].wide, arr[a].count);
        snprintf(name, sizeof name, "%s %s", what, arr[a].name);
        fz_check_array(fc, name, arr[a].wide, arr[a].ex, arr[a].mg, arr[a].count, 0.0);
    }
}
