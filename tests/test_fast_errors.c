/*
 * test_fast_errors.c: fast/'s refusals, each with its status code and a
 * message in err:
 *  - sus_fast_ctx_new: NULL output, threads < 0 or absurdly many, a simd
 *    value that is no sus_simd, negative or huge tiles; a refused context
 *    is not returned;
 *  - sus_fast_forward, sus_fast_sus_backward, sus_fast_dense_backward:
 *    NULL context, problem, input or output; a dtype other than float32
 *    and float64; a bad shape; a non-finite scale or input (named); a bad
 *    budget; logits that overflow the dtype (SUS_ERR_RANGE); a malformed
 *    mask for the backward (the status sus_mask_check gives for it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_fast.h"

static const sus_dtype dtypes[2] = {SUS_DTYPE_F8, SUS_DTYPE_F4};

/* Fails unless rc == want and err carries the same status and a message
 * (containing needle, if not NULL). */
#define expect_status(rc, want, err, needle)                                           \
    expect_status_at((rc), (want), (err), (needle), #rc, __FILE__, __LINE__)
static void expect_status_at(int rc, int want, const sus_error *err, const char *needle,
                             const char *call, const char *file, int line)
{
    if (rc == want && err->status == want && err->msg[0] &&
        (!needle || strstr(err->msg, needle)))
        return;
    print_error("%s: status %d (%s), err.status %d, msg '%s'; want %d (%s)%s%s\n", call,
                rc, sus_strerror(rc), err->status, err->msg, want, sus_strerror(want),
                needle ? " naming " : "", needle ? needle : "");
    _fail(file, line);
}

static void expect_ctx_refused(sus_fast_config cfg, int want)
{
    sus_fast_ctx *ctx = NULL;
    sus_error err = {0, ""};
    int rc = sus_fast_ctx_new(&cfg, &ctx, &err);
    if (rc != want || err.status != want || !err.msg[0] || ctx != NULL)
        fail_msg(
            "config (threads %d, simd %d, tiles %lld x %lld): status %d, msg '%s', "
            "want %d",
            cfg.threads, (int)cfg.simd, (long long)cfg.block_q, (long long)cfg.block_k,
            rc, err.msg, want);
}

static void test_ctx(void **state)
{
    (void)state;
    sus_error err;
    sus_fast_config ok = {1, SUS_SIMD_AUTO, 0, 0};
    expect_status(sus_fast_ctx_new(&ok, NULL, &err), SUS_ERR_INVAL, &err, NULL);
    expect_ctx_refused((sus_fast_config){-1, SUS_SIMD_AUTO, 0, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){-1000000, SUS_SIMD_AUTO, 0, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1 << 30, SUS_SIMD_AUTO, 0, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, (sus_simd)99, 0, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, (sus_simd)-1, 0, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, SUS_SIMD_AUTO, -1, 0}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, SUS_SIMD_AUTO, 0, -1}, SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, SUS_SIMD_AUTO, INT64_C(1) << 40, 0},
                       SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, SUS_SIMD_AUTO, 0, INT64_C(1) << 40},
                       SUS_ERR_INVAL);
    expect_ctx_refused((sus_fast_config){1, SUS_SIMD_AUTO, INT64_MAX, INT64_MAX},
                       SUS_ERR_INVAL);
    /* the defaults: every online CPU, the best level */
    sus_fast_config dflt = {0, SUS_SIMD_AUTO, 0, 0};
    sus_fast_ctx *ctx = NULL;
    assert_int_equal(sus_fast_ctx_new(&dflt, &ctx, &err), SUS_OK);
    assert_true(sus_fast_ctx_threads(ctx) >= 1);
    sus_simd best = sus_fast_ctx_simd(ctx);
    assert_true(best >= SUS_SIMD_PORTABLE && best <= SUS_SIMD_AVX512);
    sus_fast_ctx_free(ctx);
    /* levels up to the best are accepted, above it refused as unsupported */
    for (int l = SUS_SIMD_PORTABLE; l <= SUS_SIMD_AVX512; l++) {
        sus_fast_config cfg = {1, (sus_simd)l, 0, 0};
        ctx = NULL;
        int rc = sus_fast_ctx_new(&cfg, &ctx, &err);
        if (l <= (int)best) {
            assert_int_equal(rc, SUS_OK);
            assert_int_equal(sus_fast_ctx_simd(ctx), l);
            sus_fast_ctx_free(ctx);
        } else {
            expect_status(rc, SUS_ERR_UNSUPPORTED, &err, NULL);
            assert_null(ctx);
        }
    }
    assert_string_equal(sus_simd_name(SUS_SIMD_PORTABLE), "portable");
    assert_string_equal(sus_simd_name(SUS_SIMD_AVX2), "avx2");
    assert_string_equal(sus_simd_name(SUS_SIMD_AVX512), "avx512");
    assert_non_null(sus_simd_name((sus_simd)42));
    sus_fast_ctx_free(NULL);
}

typedef struct fixture {
    sus_tf_problem t;
    sus_tf_out o;
    sus_fast_ctx *ctx;
    sus_mask mk; /* fast's mask, copied */
} fixture;

static void fixture_init(fixture *f, sus_dtype dt)
{
    sus_shape sh = {1, 2, 5, 6, 3, 2};
    assert_int_equal(sus_tf_alloc(&f->t, sh, dt, 1), 0);
    assert_int_equal(sus_tf_out_alloc(&f->o, &f->t), 0);
    sus_t_rng r = {0xe7};
    sus_tf_fill(&f->t, &r, 1.0);
    sus_fast_config cfg = {2, SUS_SIMD_AUTO, 0, 0};
    assert_int_equal(sus_fast_ctx_new(&cfg, &f->ctx, NULL), SUS_OK);
    assert_int_equal(
        sus_fast_forward(f->ctx, &f->t.fp, INFINITY, 1, f->o.o, f->o.lse, NULL, NULL),
        SUS_OK);
    const sus_mask *m = sus_fast_mask(f->ctx);
    f->mk = (sus_mask){m->rows, m->nnz, malloc((size_t)(m->rows + 1) * sizeof(int64_t)),
                       malloc((size_t)m->nnz * sizeof(int64_t)),
                       malloc((size_t)m->nnz * sizeof(double))};
    memcpy(f->mk.indptr, m->indptr, (size_t)(m->rows + 1) * sizeof(int64_t));
    memcpy(f->mk.indices, m->indices, (size_t)m->nnz * sizeof(int64_t));
    memcpy(f->mk.wtilde, m->wtilde, (size_t)m->nnz * sizeof(double));
    assert_true(f->mk.nnz >= 4);
}

static void fixture_free(fixture *f)
{
    sus_mask_free(&f->mk);
    sus_fast_ctx_free(f->ctx);
    sus_tf_out_free(&f->o);
    sus_tf_free(&f->t);
}

static int fwd(fixture *f, const sus_fast_problem *p, sus_error *err)
{
    return sus_fast_forward(f->ctx, p, 2.0, 1, f->o.o, f->o.lse, NULL, err);
}

static int sbwd(fixture *f, const sus_fast_problem *p, const sus_mask *mk,
                sus_error *err)
{
    return sus_fast_sus_backward(f->ctx, p, mk, f->o.o, f->o.dq, f->o.dk, f->o.dv, err);
}

static int dbwd(fixture *f, const sus_fast_problem *p, sus_error *err)
{
    return sus_fast_dense_backward(f->ctx, p, f->o.o, f->o.lse, f->o.dq, f->o.dk,
                                   f->o.dv, err);
}

static void expect_one(int rc, const sus_error *err, int want, const char *needle,
                       const char *call, const char *what)
{
    if (rc == want && err->status == want && err->msg[0] &&
        (!needle || strstr(err->msg, needle)))
        return;
    fail_msg("%s: %s: status %d (%s), msg '%s'; want %d (%s)%s%s", what, call, rc,
             sus_strerror(rc), err->msg, want, sus_strerror(want),
             needle ? " naming " : "", needle ? needle : "");
}

/* Every call on problem p must fail with want (the forward only if
 * fwd_too), and the message must contain needle if not NULL. */
static void expect_all(fixture *f, const sus_fast_problem *p, int want, int fwd_too,
                       const char *needle, const char *what)
{
    sus_error err;
    if (fwd_too)
        expect_one(fwd(f, p, &err), &err, want, needle, "forward", what);
    expect_one(sbwd(f, p, &f->mk, &err), &err, want, needle, "sparse backward", what);
    expect_one(dbwd(f, p, &err), &err, want, needle, "dense backward", what);
}

static void test_null_and_dtype(void **state)
{
    (void)state;
    for (int di = 0; di < 2; di++) {
        fixture f;
        fixture_init(&f, dtypes[di]);
        sus_error err;
        sus_fast_problem p = f.t.fp;
        /* the fixture works */
        assert_int_equal(fwd(&f, &p, &err), SUS_OK);
        assert_int_equal(sbwd(&f, &p, &f.mk, &err), SUS_OK);
        assert_int_equal(dbwd(&f, &p, &err), SUS_OK);
        /* NULL context, problem and outputs */
        expect_status(sus_fast_forward(NULL, &p, 2.0, 1, f.o.o, f.o.lse, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_forward(f.ctx, NULL, 2.0, 1, f.o.o, f.o.lse, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_forward(f.ctx, &p, 2.0, 1, NULL, f.o.lse, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_forward(f.ctx, &p, 2.0, 1, f.o.o, NULL, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        void *o = f.o.o, *lse = f.o.lse, *dq = f.o.dq, *dk = f.o.dk, *dv = f.o.dv;
        expect_status(sus_fast_sus_backward(NULL, &p, &f.mk, o, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, NULL, &f.mk, o, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, &p, NULL, o, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, &p, &f.mk, NULL, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, &p, &f.mk, o, NULL, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, &p, &f.mk, o, dq, NULL, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_sus_backward(f.ctx, &p, &f.mk, o, dq, dk, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(NULL, &p, o, lse, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, NULL, o, lse, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, &p, NULL, lse, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, &p, o, NULL, dq, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, &p, o, lse, NULL, dk, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, &p, o, lse, dq, NULL, dv, &err),
                      SUS_ERR_INVAL, &err, NULL);
        expect_status(sus_fast_dense_backward(f.ctx, &p, o, lse, dq, dk, NULL, &err),
                      SUS_ERR_INVAL, &err, NULL);
        /* NULL inputs; dO only where the backward needs it */
        p.q = NULL;
        expect_all(&f, &p, SUS_ERR_INVAL, 1, NULL, "NULL Q");
        p = f.t.fp;
        p.k = NULL;
        expect_all(&f, &p, SUS_ERR_INVAL, 1, NULL, "NULL K");
        p = f.t.fp;
        p.v = NULL;
        expect_all(&f, &p, SUS_ERR_INVAL, 1, NULL, "NULL V");
        p = f.t.fp;
        p.dout = NULL;
        assert_int_equal(fwd(&f, &p, &err), SUS_OK);
        expect_all(&f, &p, SUS_ERR_INVAL, 0, NULL, "NULL dO");
        /* dtypes other than float32 and float64 */
        static const int bad_dtypes[] = {SUS_DTYPE_I4, SUS_DTYPE_I8, 0, 99};
        for (size_t b = 0; b < sizeof bad_dtypes / sizeof bad_dtypes[0]; b++) {
            p = f.t.fp;
            p.dtype = (sus_dtype)bad_dtypes[b];
            int rc = fwd(&f, &p, &err);
            if (rc != SUS_ERR_UNSUPPORTED && rc != SUS_ERR_INVAL)
                fail_msg("dtype %d: forward status %d", bad_dtypes[b], rc);
            assert_int_equal(err.status, rc);
            assert_int_equal(sbwd(&f, &p, &f.mk, &err), rc);
            assert_int_equal(dbwd(&f, &p, &err), rc);
        }
        /* shapes */
        p = f.t.fp;
        p.shape.n = 0;
        expect_all(&f, &p, SUS_ERR_SHAPE, 1, NULL, "n = 0");
        p = f.t.fp;
        p.shape.dv = -3;
        expect_all(&f, &p, SUS_ERR_SHAPE, 1, NULL, "dv = -3");
        p = f.t.fp;
        p.shape.B = INT64_MAX;
        p.shape.H = INT64_MAX;
        expect_all(&f, &p, SUS_ERR_OVERFLOW, 1, NULL, "B H overflow");
        /* scale */
        p = f.t.fp;
        p.scale = NAN;
        expect_all(&f, &p, SUS_ERR_INVAL, 1, "scale", "scale NaN");
        p.scale = INFINITY;
        expect_all(&f, &p, SUS_ERR_INVAL, 1, "scale", "scale inf");
        fixture_free(&f);
    }
}

/* A non-finite element of Q, K, V or dO: SUS_ERR_NONFINITE naming it. */
static void test_nonfinite(void **state)
{
    (void)state;
    for (int di = 0; di < 2; di++) {
        fixture f;
        fixture_init(&f, dtypes[di]);
        const double bad[] = {NAN, INFINITY, -INFINITY};
        struct {
            void *x;
            size_t count;
            const char *name;
            int fwd;
        } arrays[] = {{f.t.q, f.t.p.z.q, "Q", 1},
                      {f.t.k, f.t.p.z.k, "K", 1},
                      {f.t.v, f.t.p.z.v, "V", 1},
                      {f.t.dout, f.t.p.z.o, "dO", 0}};
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 3; b++) {
                size_t at = (a * 7 + b * 3) % arrays[a].count;
                size_t es = sus_tf_size(f.t.dtype);
                unsigned char keep[8];
                unsigned char *slot = (unsigned char *)arrays[a].x + at * es;
                memcpy(keep, slot, es);
                if (f.t.dtype == SUS_DTYPE_F4) {
                    float v = (float)bad[b];
                    memcpy(slot, &v, es);
                } else {
                    memcpy(slot, &bad[b], es);
                }
                char what[64];
                snprintf(what, sizeof what, "%s[%zu] = %g", arrays[a].name, at, bad[b]);
                expect_all(&f, &f.t.fp, SUS_ERR_NONFINITE, arrays[a].fwd,
                           arrays[a].name, what);
                memcpy(slot, keep, es);
            }
        fixture_free(&f);
    }
}

/* The finiteness scan splits long arrays into chunks shared by the
 * threads: with two bad values in distant chunks, every thread count must
 * name the first. K of 2048 x 48 elements is 24 chunks of 4096 (fast/ctx.c),
 * enough for the parallel path; the bad values sit in chunks 2 and 21. */
static void test_nonfinite_first(void **state)
{
    (void)state;
    for (int di = 0; di < 2; di++) {
        sus_tf_problem t;
        const sus_shape sh = {1, 1, 4, 2048, 48, 8};
        assert_int_equal(sus_tf_alloc(&t, sh, dtypes[di], 0), 0);
        sus_t_rng r = {42};
        sus_tf_fill(&t, &r, 1.0);
        const size_t first = 2 * 4096 + 17, later = 21 * 4096 + 5;
        assert_true(later < t.p.z.k);
        if (t.dtype == SUS_DTYPE_F4) {
            ((float *)t.k)[first] = (float)INFINITY;
            ((float *)t.k)[later] = (float)NAN;
        } else {
            ((double *)t.k)[first] = -INFINITY;
            ((double *)t.k)[later] = NAN;
        }
        char needle[64];
        snprintf(needle, sizeof needle, "K: non-finite value %s at flat index %zu",
                 t.dtype == SUS_DTYPE_F4 ? "inf" : "-inf", first);
        for (int th = 1; th <= 3; th++) {
            sus_fast_ctx *ctx = sus_tf_new_ctx(th, SUS_SIMD_AUTO, 0, 0);
            assert_non_null(ctx);
            sus_tf_out o;
            assert_int_equal(sus_tf_out_alloc(&o, &t), 0);
            sus_error err;
            expect_status(sus_fast_forward(ctx, &t.fp, 4.0, 1, o.o, o.lse, NULL, &err),
                          SUS_ERR_NONFINITE, &err, needle);
            expect_status(
                sus_fast_dense_backward(ctx, &t.fp, o.o, o.lse, o.dq, o.dk, o.dv, &err),
                SUS_ERR_NONFINITE, &err, needle);
            sus_tf_out_free(&o);
            sus_fast_ctx_free(ctx);
        }
        sus_tf_free(&t);
    }
}

static void test_budget(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, SUS_DTYPE_F4);
    sus_error err;
    const double bad[] = {-1.0, -INFINITY, NAN, -0x1p-1074};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        expect_status(
            sus_fast_forward(f.ctx, &f.t.fp, bad[b], 1, f.o.o, f.o.lse, NULL, &err),
            SUS_ERR_INVAL, &err, NULL);
    fixture_free(&f);
}

/* Logits beyond the dtype's range (finite inputs whose products
 * overflow): SUS_ERR_RANGE, as the reference gives when a logit overflows
 * double, never a NaN result with SUS_OK. */
static void test_range(void **state)
{
    (void)state;
    for (int di = 0; di < 2; di++) {
        fixture f;
        fixture_init(&f, dtypes[di]);
        const double big = dtypes[di] == SUS_DTYPE_F4 ? 1e20 : 1e200;
        for (size_t x = 0; x < f.t.p.z.q; x++)
            f.t.p.q[x] = big * (double)(x % 3 == 0 ? 1 : -1);
        for (size_t x = 0; x < f.t.p.z.k; x++)
            f.t.p.k[x] = big * (x % 2 ? 1.0 : -0.5);
        sus_tf_sync(&f.t);
        sus_error err;
        int rc = sus_fast_forward(f.ctx, &f.t.fp, 2.0, 1, f.o.o, f.o.lse, NULL, &err);
        expect_one(rc, &err, SUS_ERR_RANGE, NULL, "forward", sus_tf_name(f.t.dtype));
        fixture_free(&f);
    }
}

/* Each malformed mask: the backward refuses it with the status that
 * sus_mask_check gives. */
static void test_bad_mask(void **state)
{
    (void)state;
    for (int di = 0; di < 2; di++) {
        fixture f;
        fixture_init(&f, dtypes[di]);
        sus_mask *mk = &f.mk;
        const sus_shape *sh = &f.t.p.a.shape;
        sus_error err, cerr;
        int cases = 0;
        /* pristine copies, restored after each corruption */
        const size_t pb = (size_t)(mk->rows + 1) * sizeof(int64_t);
        const size_t ib = (size_t)mk->nnz * sizeof(int64_t);
        const size_t wb = (size_t)mk->nnz * sizeof(double);
        int64_t *indptr0 = malloc(pb), *indices0 = malloc(ib);
        double *wtilde0 = malloc(wb);
        assert_true(indptr0 && indices0 && wtilde0);
        memcpy(indptr0, mk->indptr, pb);
        memcpy(indices0, mk->indices, ib);
        memcpy(wtilde0, mk->wtilde, wb);
        for (int which = 0; which < 12; which++) {
            sus_mask m = *mk;
            const char *what = "";
            switch (which) {
            case 0:
                m.indices[1] = sh->m;
                what = "index = m";
                break;
            case 1:
                m.indices[1] = -1;
                what = "index < 0";
                break;
            case 2: /* a key after its query in a causal row */
                m.indices[1] = 4;
                what = "causal";
                break;
            case 3:
                m.wtilde[2] = NAN;
                what = "wtilde NaN";
                break;
            case 4:
                m.wtilde[2] = -0.5;
                what = "wtilde < 0";
                break;
            case 5:
                m.wtilde[2] = INFINITY;
                what = "wtilde inf";
                break;
            case 6:
                m.rows = m.rows - 1;
                what = "rows";
                break;
            case 7:
                m.indptr[1] = m.nnz + 1;
                what = "indptr past nnz";
                break;
            case 8:
                m.indptr[m.rows] = m.nnz - 1;
                what = "indptr[rows] != nnz";
                break;
            case 9:
                m.indptr = NULL;
                what = "NULL indptr";
                break;
            case 10:
                m.indices = NULL;
                what = "NULL indices";
                break;
            default: /* duplicate: causal row 2 holds keys 0 1 2; repeat key 0 */
                m.indices[m.indptr[2] + 1] = m.indices[m.indptr[2]];
                what = "duplicate";
                break;
            }
            int want = sus_mask_check(&m, sh, 1, &cerr);
            if (want == SUS_OK)
                fail_msg("%s: sus_mask_check accepts the corrupted mask", what);
            sus_tf_out_poison(&f.o, &f.t);
            memset(f.o.o, 0, f.t.p.z.o * sus_tf_size(f.t.dtype));
            int rc = sus_fast_sus_backward(f.ctx, &f.t.fp, &m, f.o.o, f.o.dq, f.o.dk,
                                           f.o.dv, &err);
            if (rc != want || err.status != want || !err.msg[0])
                fail_msg("%s %s: status %d ('%s'), want %d (sus_mask_check: %s)",
                         sus_tf_name(f.t.dtype), what, rc, err.msg, want, cerr.msg);
            cases++;
            memcpy(mk->indptr, indptr0, pb);
            memcpy(mk->indices, indices0, ib);
            memcpy(mk->wtilde, wtilde0, wb);
            assert_int_equal(sus_mask_check(mk, sh, 1, NULL), SUS_OK);
        }
        free(indptr0);
        free(indices0);
        free(wtilde0);
        assert_int_equal(cases, 12);
        fixture_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx),       cmocka_unit_test(test_null_and_dtype),
        cmocka_unit_test(test_nonfinite), cmocka_unit_test(test_nonfinite_first),
        cmocka_unit_test(test_budget),    cmocka_unit_test(test_range),
        cmocka_unit_test(test_bad_mask),
    };
    return cmocka_run_group_tests_name("fast_errors", tests, NULL, NULL);
}
