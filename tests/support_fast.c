/* support_fast.c: helpers for the tests of fast/ (see support_fast.h). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpfr.h>

#include "support_fast.h"

#define WEIGHT_PREC 160
#define GRAD_PREC   128

size_t sus_tf_size(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? sizeof(float) : sizeof(double);
}

double sus_tf_unit(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? 0x1p-24 : 0x1p-53;
}

double sus_tf_tiny(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? (double)FLT_MIN : DBL_MIN;
}

const char *sus_tf_name(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? "f32" : "f64";
}

int sus_tf_alloc(sus_tf_problem *t, sus_shape sh, sus_dtype dt, int causal)
{
    *t = (sus_tf_problem){0};
    if (sus_t_problem_alloc(&t->p, sh))
        return -1;
    t->dtype = dt;
    t->p.a.causal = causal;
    size_t es = sus_tf_size(dt);
    t->q = calloc(t->p.z.q, es);
    t->k = calloc(t->p.z.k, es);
    t->v = calloc(t->p.z.v, es);
    t->dout = calloc(t->p.z.o, es);
    t->W = calloc(t->p.z.scores, sizeof(double));
    t->cond = calloc(t->p.z.scores, sizeof(double));
    if (!t->q || !t->k || !t->v || !t->dout || !t->W || !t->cond)
        return -1;
    t->fp = (sus_fast_problem){sh, dt, t->p.a.scale, causal, t->q, t->k, t->v, t->dout};
    sus_tf_sync(t);
    return 0;
}

void sus_tf_free(sus_tf_problem *t)
{
    sus_t_problem_free(&t->p);
    free(t->q);
    free(t->k);
    free(t->v);
    free(t->dout);
    free(t->W);
    free(t->cond);
    *t = (sus_tf_problem){0};
}

static void narrow(sus_dtype dt, double *x, void *dst, size_t count)
{
    if (dt == SUS_DTYPE_F4) {
        float *f = dst;
        for (size_t i = 0; i < count; i++) {
            f[i] = (float)x[i];
            x[i] = (double)f[i];
        }
    } else {
        memcpy(dst, x, count * sizeof(double));
    }
}

/* t->cond[0] < 0 marks the cached weights as stale. */
void sus_tf_sync(sus_tf_problem *t)
{
    narrow(t->dtype, t->p.q, t->q, t->p.z.q);
    narrow(t->dtype, t->p.k, t->k, t->p.z.k);
    narrow(t->dtype, t->p.v, t->v, t->p.z.v);
    narrow(t->dtype, t->p.dout, t->dout, t->p.z.o);
    t->fp.scale = t->p.a.scale;
    t->fp.causal = t->p.a.causal;
    t->cond[0] = -1.0;
}

void sus_tf_fill(sus_tf_problem *t, sus_t_rng *r, double sd_qk)
{
    sus_t_fill_normal(r, t->p.q, t->p.z.q, sd_qk);
    sus_t_fill_normal(r, t->p.k, t->p.z.k, sd_qk);
    sus_t_fill_normal(r, t->p.v, t->p.z.v, 1.0);
    sus_t_fill_normal(r, t->p.dout, t->p.z.o, 1.0);
    sus_tf_sync(t);
}

static int64_t allowed_len(int causal, int64_t i, int64_t m)
{
    return causal ? (i + 1 < m ? i + 1 : m) : m;
}

int64_t sus_tf_allowed(const sus_tf_problem *t)
{
    const sus_shape *sh = &t->p.a.shape;
    int64_t per_head = 0;
    for (int64_t i = 0; i < sh->n; i++)
        per_head += allowed_len(t->p.a.causal, i, sh->m);
    return per_head * sh->B * sh->H;
}

/* The exact softmax weights of every row in MPFR, rounded to nearest:
 * products of two doubles are exact at 106 bits, so S carries only the
 * rounding of the d-term sum at WEIGHT_PREC bits. */
static void weights_mpfr(const sus_attn *a, double *W)
{
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d;
    mpfr_t *S = malloc((size_t)m * sizeof(mpfr_t));
    assert_non_null(S);
    for (int64_t j = 0; j < m; j++)
        mpfr_init2(S[j], WEIGHT_PREC);
    mpfr_t prod, M, Z, e;
    mpfr_inits2(WEIGHT_PREC, prod, M, Z, e, (mpfr_ptr)0);
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++) {
            size_t head = (size_t)(b * sh->H + h);
            const double *Q = a->q + head * (size_t)(n * d);
            const double *K = a->k + head * (size_t)(m * d);
            double *Wh = W + head * (size_t)(n * m);
            for (int64_t i = 0; i < n; i++) {
                int64_t len = allowed_len(a->causal, i, m);
                for (int64_t j = 0; j < len; j++) {
                    mpfr_set_ui(S[j], 0, MPFR_RNDN);
                    for (int64_t x = 0; x < d; x++) {
                        mpfr_set_d(prod, Q[i * d + x], MPFR_RNDN);
                        mpfr_mul_d(prod, prod, K[j * d + x], MPFR_RNDN);
                        mpfr_add(S[j], S[j], prod, MPFR_RNDN);
                    }
                    mpfr_mul_d(S[j], S[j], a->scale, MPFR_RNDN);
                    if (j == 0 || mpfr_greater_p(S[j], M))
                        mpfr_set(M, S[j], MPFR_RNDN);
                }
                mpfr_set_ui(Z, 0, MPFR_RNDN);
                for (int64_t j = 0; j < len; j++) {
                    mpfr_sub(S[j], S[j], M, MPFR_RNDN);
                    mpfr_exp(S[j], S[j], MPFR_RNDN);
                    mpfr_add(Z, Z, S[j], MPFR_RNDN);
                }
                for (int64_t j = 0; j < m; j++) {
                    if (j < len) {
                        mpfr_div(e, S[j], Z, MPFR_RNDN);
                        Wh[i * m + j] = mpfr_get_d(e, MPFR_RNDN);
                    } else {
                        Wh[i * m + j] = 0.0;
                    }
                }
            }
        }
    mpfr_clears(prod, M, Z, e, (mpfr_ptr)0);
    for (int64_t j = 0; j < m; j++)
        mpfr_clear(S[j]);
    free(S);
}

void sus_tf_weights(sus_tf_problem *t)
{
    if (t->cond[0] >= 0.0)
        return;
    const sus_attn *a = &t->p.a;
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d;
    if (t->dtype == SUS_DTYPE_F8) {
        weights_mpfr(a, t->W);
    } else {
        /* minc with c = inf: q = 1 and W~ = W, the double reference's W */
        double *one = calloc(t->p.z.scores, sizeof(double));
        assert_non_null(one);
        assert_int_equal(sus_ref_probs(a, &sus_rule_minc, INFINITY, one, t->W, NULL),
                         SUS_OK);
        free(one);
    }
    const double as = fabs(a->scale);
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++) {
            size_t head = (size_t)(b * sh->H + h);
            const double *Q = a->q + head * (size_t)(n * d);
            const double *K = a->k + head * (size_t)(m * d);
            double *C = t->cond + head * (size_t)(n * m);
            for (int64_t i = 0; i < n; i++) {
                int64_t len = allowed_len(a->causal, i, m);
                double sigma = 0.0;
                for (int64_t j = 0; j < m; j++) {
                    double acc = 0.0;
                    for (int64_t x = 0; x < d; x++)
                        acc += fabs(Q[i * d + x]) * fabs(K[j * d + x]);
                    C[i * m + j] = as * acc;
                    if (j < len)
                        sigma = fmax(sigma, as * acc);
                }
                for (int64_t j = 0; j < m; j++)
                    C[i * m + j] = j < len ? 1.0 + C[i * m + j] + sigma : 0.0;
            }
        }
}

void sus_tf_exact_grad(sus_tf_problem *t)
{
    sus_error err;
    if (t->dtype == SUS_DTYPE_F8) {
        sus_cert cert;
        int rc = sus_mpfr_grad(&t->p.a, GRAD_PREC, &t->p.exact, &t->p.mag, &cert, &err);
        if (rc)
            fail_msg("sus_mpfr_grad: %s", err.msg);
        /* Uncertain elements are still delivered as the nearest double to a
         * value within 32 k 2^-128 mag of the exact one: far inside the
         * float64 bound, so they are used as they are. */
    } else {
        if (sus_ref_grad(&t->p.a, &t->p.exact, &err) ||
            sus_ref_grad_mag(&t->p.a, &t->p.mag, &err))
            fail_msg("sus_ref_grad: %s", err.msg);
    }
}

void sus_tf_exact_estimate(sus_tf_problem *t, const sus_mask *mk, int mpfr)
{
    sus_error err;
    if (t->dtype == SUS_DTYPE_F8 && mpfr) {
        sus_cert cert;
        int rc = sus_mpfr_estimate(&t->p.a, mk, GRAD_PREC, &t->p.exact, &t->p.mag,
                                   &cert, &err);
        if (rc)
            fail_msg("sus_mpfr_estimate: %s", err.msg);
    } else {
        if (sus_ref_estimate(&t->p.a, mk, &t->p.exact, &err) ||
            sus_ref_estimate_mag(&t->p.a, mk, &t->p.mag, &err))
            fail_msg("sus_ref_estimate: %s", err.msg);
    }
}

int sus_tf_grads_alloc(sus_grads *g, const sus_sizes *z)
{
    g->o = calloc(z->o, sizeof(double));
    g->lse = calloc(z->rows, sizeof(double));
    g->dq = calloc(z->q, sizeof(double));
    g->dk = calloc(z->k, sizeof(double));
    g->dv = calloc(z->v, sizeof(double));
    return g->o && g->lse && g->dq && g->dk && g->dv ? 0 : -1;
}

void sus_tf_grads_free(sus_grads *g)
{
    free(g->o);
    free(g->lse);
    free(g->dq);
    free(g->dk);
    free(g->dv);
    *g = (sus_grads){0};
}

void sus_tf_grads_copy(sus_grads *dst, const sus_grads *src, const sus_sizes *z)
{
    memcpy(dst->o, src->o, z->o * sizeof(double));
    memcpy(dst->lse, src->lse, z->rows * sizeof(double));
    memcpy(dst->dq, src->dq, z->q * sizeof(double));
    memcpy(dst->dk, src->dk, z->k * sizeof(double));
    memcpy(dst->dv, src->dv, z->v * sizeof(double));
}

int sus_tf_out_alloc(sus_tf_out *o, const sus_tf_problem *t)
{
    size_t es = sus_tf_size(t->dtype);
    o->o = calloc(t->p.z.o, es);
    o->lse = calloc(t->p.z.rows, es);
    o->dq = calloc(t->p.z.q, es);
    o->dk = calloc(t->p.z.k, es);
    o->dv = calloc(t->p.z.v, es);
    return o->o && o->lse && o->dq && o->dk && o->dv ? 0 : -1;
}

void sus_tf_out_free(sus_tf_out *o)
{
    free(o->o);
    free(o->lse);
    free(o->dq);
    free(o->dk);
    free(o->dv);
    *o = (sus_tf_out){0};
}

void sus_tf_out_poison(sus_tf_out *o, const sus_tf_problem *t)
{
    size_t es = sus_tf_size(t->dtype);
    /* all-ones bytes are a NaN in either dtype */
    memset(o->o, 0xff, t->p.z.o * es);
    memset(o->lse, 0xff, t->p.z.rows * es);
    memset(o->dq, 0xff, t->p.z.q * es);
    memset(o->dk, 0xff, t->p.z.k * es);
    memset(o->dv, 0xff, t->p.z.v * es);
}

void sus_tf_widen(sus_dtype dt, const void *src, double *dst, size_t count)
{
    if (dt == SUS_DTYPE_F4) {
        const float *f = src;
        for (size_t i = 0; i < count; i++)
            dst[i] = (double)f[i];
    } else {
        memcpy(dst, src, count * sizeof(double));
    }
}

static void check_one(const sus_tf_problem *t, const void *got, double *wide,
                      const double *exact, const double *mag, size_t count,
                      const char *what, const char *name, const char *file, int line)
{
    char label[160];
    snprintf(label, sizeof label, "%s %s %s", what, sus_tf_name(t->dtype), name);
    sus_tf_widen(t->dtype, got, wide, count);
    sus_t_assert_array_within_bound(wide, exact, mag, count, SUS_TAU,
                                    sus_bound_k(&t->p.a.shape), sus_tf_unit(t->dtype),
                                    label, file, line);
}

void sus_tf_check_forward(sus_tf_problem *t, const sus_tf_out *o, const char *what,
                          const char *file, int line)
{
    check_one(t, o->o, t->p.got.o, t->p.exact.o, t->p.mag.o, t->p.z.o, what, "O", file,
              line);
    check_one(t, o->lse, t->p.got.lse, t->p.exact.lse, t->p.mag.lse, t->p.z.rows, what,
              "lse", file, line);
}

void sus_tf_check_grads(sus_tf_problem *t, const sus_tf_out *o, const char *what,
                        const char *file, int line)
{
    check_one(t, o->dq, t->p.got.dq, t->p.exact.dq, t->p.mag.dq, t->p.z.q, what, "dQ",
              file, line);
    check_one(t, o->dk, t->p.got.dk, t->p.exact.dk, t->p.mag.dk, t->p.z.k, what, "dK",
              file, line);
    check_one(t, o->dv, t->p.got.dv, t->p.exact.dv, t->p.mag.dv, t->p.z.v, what, "dV",
              file, line);
}

static void same_bytes(const void *a, const void *b, size_t count, size_t es,
                       const char *what, const char *name, const char *file, int line)
{
    if (memcmp(a, b, count * es) == 0)
        return;
    const unsigned char *x = a, *y = b;
    size_t t = 0;
    while (t < count && memcmp(x + t * es, y + t * es, es) == 0)
        t++;
    double vx, vy;
    if (es == sizeof(float)) {
        float f, g;
        memcpy(&f, x + t * es, es);
        memcpy(&g, y + t * es, es);
        vx = f;
        vy = g;
    } else {
        memcpy(&vx, x + t * es, es);
        memcpy(&vy, y + t * es, es);
    }
    print_error("%s: %s differs first at [%zu]: %a vs %a\n", what, name, t, vx, vy);
    _fail(file, line);
}

void sus_tf_check_identical(const sus_tf_problem *t, const sus_tf_out *a,
                            const sus_tf_out *b, int grads, const char *what,
                            const char *file, int line)
{
    size_t es = sus_tf_size(t->dtype);
    same_bytes(a->o, b->o, t->p.z.o, es, what, "O", file, line);
    same_bytes(a->lse, b->lse, t->p.z.rows, es, what, "lse", file, line);
    if (!grads)
        return;
    same_bytes(a->dq, b->dq, t->p.z.q, es, what, "dQ", file, line);
    same_bytes(a->dk, b->dk, t->p.z.k, es, what, "dK", file, line);
    same_bytes(a->dv, b->dv, t->p.z.v, es, what, "dV", file, line);
}

void sus_tf_check_same_mask(const sus_mask *a, const sus_mask *b, const char *what,
                            const char *file, int line)
{
    if (!a || !b || a->rows != b->rows || a->nnz != b->nnz) {
        print_error("%s: masks differ in shape: rows %lld/%lld nnz %lld/%lld\n", what,
                    a ? (long long)a->rows : -1LL, b ? (long long)b->rows : -1LL,
                    a ? (long long)a->nnz : -1LL, b ? (long long)b->nnz : -1LL);
        _fail(file, line);
        return;
    }
    same_bytes(a->indptr, b->indptr, (size_t)a->rows + 1, sizeof(int64_t), what,
               "indptr", file, line);
    if (a->nnz == 0)
        return;
    same_bytes(a->indices, b->indices, (size_t)a->nnz, sizeof(int64_t), what, "indices",
               file, line);
    same_bytes(a->wtilde, b->wtilde, (size_t)a->nnz, sizeof(double), what, "wtilde",
               file, line);
}

int64_t sus_tf_check_mask(sus_tf_problem *t, double c, uint64_t seed,
                          const sus_mask *got, int f64_borderline_ok,
                          sus_tf_border *acc, const char *what, const char *file,
                          int line)
{
    const sus_attn *a = &t->p.a;
    const sus_shape *sh = &a->shape;
    const int64_t H = sh->H, n = sh->n, m = sh->m;
    sus_error err;
    if (!got) {
        print_error("%s: no mask\n", what);
        _fail(file, line);
        return -1;
    }
    if (sus_mask_check(got, sh, a->causal, &err) != SUS_OK) {
        print_error("%s: fast mask is malformed: %s\n", what, err.msg);
        _fail(file, line);
    }
    sus_tf_weights(t);
    sus_mask want;
    double *q = calloc(t->p.z.scores, sizeof(double));
    double *wt = calloc(t->p.z.scores, sizeof(double));
    assert_non_null(q);
    assert_non_null(wt);
    if (sus_ref_mask(a, &sus_rule_minc, c, seed, &want, &err) ||
        sus_ref_probs(a, &sus_rule_minc, c, q, wt, &err))
        fail_msg("%s: reference mask: %s", what, err.msg);
    const double k = sus_bound_k(sh), u = sus_tf_unit(t->dtype);
    const double tiny = sus_tf_tiny(t->dtype);
    int64_t borderline = 0;
    for (int64_t r = 0; r < want.rows; r++) {
        const int64_t i = r % n, bh = r / n, b = bh / H, h = bh % H;
        int64_t eg = got->indptr[r], ew = want.indptr[r];
        const int64_t gend = got->indptr[r + 1], wend = want.indptr[r + 1];
        while (eg < gend || ew < wend) {
            int64_t jg = eg < gend ? got->indices[eg] : m;
            int64_t jw = ew < wend ? want.indices[ew] : m;
            int64_t j = jg < jw ? jg : jw;
            size_t s = (size_t)r * (size_t)m + (size_t)j;
            double W = t->W[s], cond = t->cond[s];
            /* float32: W~ = max(W, 1/c) with W a float32 value; the floor
             * 1/c may be the double 1/c (as fast/ gives it) or its float */
            if (t->dtype == SUS_DTYPE_F4 && jg < m &&
                got->wtilde[eg] != (double)(float)got->wtilde[eg] &&
                got->wtilde[eg] != 1.0 / c) {
                print_error("%s: f32 mask: wtilde[%lld] = %.17g is neither a float32 "
                            "value nor 1/c\n",
                            what, (long long)eg, got->wtilde[eg]);
                _fail(file, line);
            }
            if (jg == jw) {
                double exact = isinf(c) ? W : fmax(W, 1.0 / c);
                double tol = SUS_TAU * k * u * exact * cond + tiny;
                double diff = fabs(got->wtilde[eg] - exact);
                if (!(diff <= tol)) {
                    print_error(
                        "%s %s c %g seed %llu: entry (b %lld, h %lld, i %lld, j "
                        "%lld): wtilde %.17g, exact max(W, 1/c) %.17g, |diff| "
                        "%.3g > %.3g (cond %.3g)\n",
                        what, sus_tf_name(t->dtype), c, (unsigned long long)seed,
                        (long long)b, (long long)h, (long long)i, (long long)j,
                        got->wtilde[eg], exact, diff, tol, cond);
                    _fail(file, line);
                }
                eg++;
                ew++;
                continue;
            }
            /* in exactly one of the two masks */
            double uij = -1.0;
            assert_int_equal(sus_canonical_uniform(seed, b, h, i, j, &uij), SUS_OK);
            double band = isinf(c) ? 0.0 : SUS_TAU * k * u * cond * q[s] + c * tiny;
            double off = fabs(uij - q[s]);
            if ((t->dtype == SUS_DTYPE_F8 && !f64_borderline_ok) || !(off <= band)) {
                print_error(
                    "%s %s c %g seed %llu: entry (b %lld, h %lld, i %lld, j %lld) "
                    "kept by %s only: u %.17g, canonical q %.17g, |u - q| %.3g, "
                    "borderline band %.3g%s (W %.17g, cond %.3g)\n",
                    what, sus_tf_name(t->dtype), c, (unsigned long long)seed,
                    (long long)b, (long long)h, (long long)i, (long long)j,
                    jg < jw ? "fast" : "the canonical mask", uij, q[s], off, band,
                    off <= band ? " (borderline, but float64 expects none)" : "", W,
                    cond);
                _fail(file, line);
            }
            borderline++;
            if (acc && off / band > acc->worst)
                acc->worst = off / band;
            if (jg < jw)
                eg++;
            else
                ew++;
        }
    }
    if (acc) {
        acc->count += borderline;
        acc->kept += got->nnz;
    }
    sus_mask_free(&want);
    free(q);
    free(wt);
    return borderline;
}

sus_fast_ctx *sus_tf_new_ctx(int threads, sus_simd simd, int64_t bq, int64_t bk)
{
    sus_fast_config cfg = {threads, simd, bq, bk};
    sus_fast_ctx *ctx = NULL;
    sus_error err;
    int rc = sus_fast_ctx_new(&cfg, &ctx, &err);
    if (rc == SUS_ERR_UNSUPPORTED && simd != SUS_SIMD_AUTO && simd != SUS_SIMD_PORTABLE)
        return NULL;
    if (rc != SUS_OK)
        fail_msg("sus_fast_ctx_new(threads %d, simd %s, tiles %lld x %lld): %s",
                 threads, sus_simd_name(simd), (long long)bq, (long long)bk, err.msg);
    return ctx;
}
