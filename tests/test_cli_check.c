/*
 * test_cli_check.c: `sus check` as a user runs it ($SUS_BIN,
 * support_cli.h), on port directories holding the oracle's own run (as
 * `sus sample` writes it) and then altered the way a broken port would:
 *  - PASS (exit 0) in rank 4 with --canonical and in rank 2; float32
 *    outputs set u = 2^-24 by default and fail at --unit-roundoff 2^-53;
 *  - FAIL (exit 1) with the failed checks named on the verdict line: one
 *    output element (and its index in the report), the wrong --scale or
 *    --causal, the wrong --canonical seed, a malformed mask; an entry
 *    missing from the canonical mask, borderline (PASS, listed) only at a
 *    coarse unit roundoff;
 *  - every refusal (exit 2, one line naming the option or file): bad and
 *    missing options, a missing or non-directory --port, missing files,
 *    stacked outputs, wrong shapes and dtypes, non-finite inputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support_cli.h"

static const sus_shape shape4 = {1, 2, 6, 7, 3, 2};

/* The first line of text. */
static void assert_first_line(const run_result *r, int code, const char *line)
{
    size_t len = strlen(line);
    if (r->code != code || strncmp(r->out, line, len) != 0 || r->out[len] != '\n')
        print_error("exit %d (want %d), stdout [%s], stderr [%s]\n", r->code, code,
                    r->out, r->err);
    assert_int_equal(r->code, code);
    assert_true(strncmp(r->out, line, len) == 0 && r->out[len] == '\n');
    assert_string_equal(r->err, "");
}

/* Writes count doubles as DIR/name, float64 with shape (nd, shape). */
static void write_f64(fixture *fx, const char *dir, const char *name, int nd,
                      const int64_t *shape, const void *data, sus_dtype dt)
{
    sus_array a;
    sus_error err;
    assert_int_equal(sus_array_alloc(&a, dt, nd, shape, &err), SUS_OK);
    if (a.count)
        memcpy(a.data, data, a.count * 8);
    assert_int_equal(sus_npy_write(join(fx, dir, name), &a, &err), SUS_OK);
    sus_array_free(&a);
}

/* A port directory: inputs, and the oracle's run of (c, seed) as `sus
 * sample` writes it (made in-process: under Valgrind each CLI run costs a
 * second). */
static inputs port_dir_drop(fixture *fx, const char *name, int rank, sus_shape sh,
                            double c, uint64_t seed, int causal, int drop_last)
{
    inputs in = make_problem(fx, name, SUS_DTYPE_F8, rank, sh);
    loaded L = load_problem(&in, rank, sh, sus_default_scale(sh.d), causal);
    sus_mask mk;
    sus_grads g;
    alloc_grads(&g, &L.z);
    assert_int_equal(sus_ref_mask(&L.a, &sus_rule_minc, c, seed, &mk, NULL), SUS_OK);
    if (drop_last) { /* the port missed the last kept entry */
        assert_true(mk.nnz > 0);
        for (int64_t r = 1; r <= mk.rows; r++)
            mk.indptr[r] -= mk.indptr[r] == mk.nnz;
        mk.nnz--;
    }
    assert_int_equal(sus_ref_estimate(&L.a, &mk, &g, NULL), SUS_OK);
    const int64_t s[3][4] = {
        {sh.B, sh.H, sh.n, sh.d}, {sh.B, sh.H, sh.m, sh.d}, {sh.B, sh.H, sh.m, sh.dv}};
    const char *out[3] = {"dQ.npy", "dK.npy", "dV.npy"};
    const double *val[3] = {g.dq, g.dk, g.dv};
    for (int f = 0; f < 3; f++)
        write_f64(fx, in.dir, out[f], rank, s[f] + (rank == 4 ? 0 : 2), val[f],
                  SUS_DTYPE_F8);
    const int64_t len[3] = {mk.rows + 1, mk.nnz, mk.nnz};
    write_f64(fx, in.dir, "indptr.npy", 1, &len[0], mk.indptr, SUS_DTYPE_I8);
    write_f64(fx, in.dir, "indices.npy", 1, &len[1], mk.indices, SUS_DTYPE_I8);
    write_f64(fx, in.dir, "wtilde.npy", 1, &len[2], mk.wtilde, SUS_DTYPE_F8);
    sus_mask_free(&mk);
    free_grads(&g);
    loaded_free(&L);
    return in;
}

static inputs port_dir(fixture *fx, const char *name, int rank, sus_shape sh, double c,
                       uint64_t seed, int causal)
{
    return port_dir_drop(fx, name, rank, sh, c, seed, causal, 0);
}

/* Rewrites DIR/name as dtype dt with shape (nd, shape), from the double
 * array in it; element `at` (if >= 0) multiplied by factor. */
static void rewrite(fixture *fx, const char *dir, const char *name, sus_dtype dt,
                    int nd, const int64_t *shape, long at, double factor)
{
    sus_array src, dst;
    sus_error err;
    const char *path = join(fx, dir, name);
    assert_int_equal(sus_npy_read(path, 0, &src, &err), SUS_OK);
    assert_int_equal(sus_array_alloc(&dst, dt, nd, shape, &err), SUS_OK);
    for (size_t t = 0; t < dst.count; t++) {
        double x = ((double *)src.data)[t % src.count];
        if ((long)t == at)
            x *= factor;
        if (dt == SUS_DTYPE_F4)
            ((float *)dst.data)[t] = (float)x;
        else if (dt == SUS_DTYPE_F8)
            ((double *)dst.data)[t] = x;
        else
            ((int64_t *)dst.data)[t] = (int64_t)x;
    }
    assert_int_equal(sus_npy_write(path, &dst, &err), SUS_OK);
    sus_array_free(&src);
    sus_array_free(&dst);
}

static void test_pass(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 3.0, 7, 1);
    run_result r =
        RUN(fx, "check", "--port", p.dir, "--c", "3", "--causal", "--canonical", "7");
    assert_first_line(&r, 0, "sus check: PASS");
    assert_contains(r.out, "canonical (seed 7): ");
    assert_contains(r.out, " 0 mismatched: ok");
    assert_contains(r.out, "oracle: MPFR at 256 bits");
    run_free(&r);
    /* rank 2, c = inf, the double oracle, the directory written by `sus
     * sample` itself */
    const sus_shape sh2 = {1, 1, 5, 4, 3, 3};
    inputs p2 = make_problem(fx, "p2", SUS_DTYPE_F4, 2, sh2);
    r = RUN(fx, "sample", "--q", p2.q, "--k", p2.k, "--v", p2.v, "--do", p2.dout, "--c",
            "inf", "--seed", "0", "--out", p2.dir);
    assert_int_equal(r.code, 0);
    run_free(&r);
    r = RUN(fx, "check", "--port", p2.dir, "--c", "inf", "--prec", "0");
    assert_first_line(&r, 0, "sus check: PASS");
    assert_contains(r.out, "oracle: the double reference");
    run_free(&r);
}

static void test_float32_outputs(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 2.0, 1, 0);
    const int64_t sq[4] = {1, 2, 6, 3}, sk[4] = {1, 2, 7, 3}, sv[4] = {1, 2, 7, 2};
    rewrite(fx, p.dir, "dQ.npy", SUS_DTYPE_F4, 4, sq, -1, 1.0);
    rewrite(fx, p.dir, "dK.npy", SUS_DTYPE_F4, 4, sk, -1, 1.0);
    rewrite(fx, p.dir, "dV.npy", SUS_DTYPE_F4, 4, sv, -1, 1.0);
    run_result r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_first_line(&r, 0, "sus check: PASS");
    assert_contains(r.out, "u 5.96e-08 (the outputs' dtype; outputs float32 float32 "
                           "float32); oracle: the double reference");
    run_free(&r);
    /* rounded to float32, they are not float64-accurate */
    r = RUN(fx, "check", "--port", p.dir, "--c", "2", "--unit-roundoff", "0x1p-53");
    assert_first_line(&r, 1, "sus check: FAIL (dQ, dK, dV)");
    assert_contains(r.out, "(--unit-roundoff; ");
    run_free(&r);
}

static void test_fail_element(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 2.0, 5, 1);
    const int64_t sq[4] = {1, 2, 6, 3};
    /* element [0, 1, 2, 1] = ((0*2 + 1)*6 + 2)*3 + 1 = 25, off by 1e-8 */
    rewrite(fx, p.dir, "dQ.npy", SUS_DTYPE_F8, 4, sq, 25, 1.0 + 1e-8);
    run_result r = RUN(fx, "check", "--port", p.dir, "--c", "2", "--causal");
    assert_first_line(&r, 1, "sus check: FAIL (dQ)");
    assert_contains(r.out, "dQ  36 elements, 1 outside the bound");
    assert_contains(r.out, "\n  dQ[0, 1, 2, 1]  port ");
    assert_contains(r.out, "dK  42 elements, 0 outside the bound");
    run_free(&r);
}

static void test_fail_flags(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 2.0, 11, 1);
    /* the port's scale was the default: another one changes every W (dV,
     * made of the port's own W~, stays right) */
    run_result r =
        RUN(fx, "check", "--port", p.dir, "--c", "2", "--causal", "--scale", "0.5");
    assert_first_line(&r, 1, "sus check: FAIL (W~, dQ, dK)");
    run_free(&r);
    /* the mask is causal, the weights are not: W~ and the outputs differ */
    r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_int_equal(r.code, 1);
    assert_contains(r.out, "sus check: FAIL (W~");
    run_free(&r);
    /* another seed's canonical mask */
    r = RUN(fx, "check", "--port", p.dir, "--c", "2", "--causal", "--canonical", "12");
    assert_first_line(&r, 1, "sus check: FAIL (canonical)");
    assert_contains(r.out, "\n  mismatch (b ");
    run_free(&r);
    /* a non-causal mask read as causal: keys beyond the limit */
    inputs q = port_dir(fx, "q", 4, shape4, INFINITY, 0, 0);
    r = RUN(fx, "check", "--port", q.dir, "--c", "inf", "--causal");
    assert_first_line(&r, 1, "sus check: FAIL (mask)");
    assert_contains(r.out, "mask: not well-formed: row 0 (query i = 0) keeps key j = 1 "
                           "beyond the causal limit j <= i\n");
    run_free(&r);
}

/* An entry missing from the canonical mask: a mismatch at float64's u; at a
 * coarse u its band covers all of [0, q] (4 k u cond >= 1), so it is
 * borderline, listed, and the run passes. */
static void test_borderline(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir_drop(fx, "p", 4, shape4, 1.0, 3, 0, 1);
    run_result r = RUN(fx, "check", "--port", p.dir, "--c", "1", "--canonical", "3");
    assert_first_line(&r, 1, "sus check: FAIL (canonical)");
    assert_contains(r.out, " 1 mismatched: FAIL\n  mismatch (b 0, h ");
    assert_contains(r.out, "): kept by the canonical mask only; u ");
    run_free(&r);
    r = RUN(fx, "check", "--port", p.dir, "--c", "1", "--canonical", "3",
            "--unit-roundoff", "0.01");
    assert_first_line(&r, 0, "sus check: PASS");
    assert_contains(r.out, " 1 borderline, 0 mismatched: ok\n  borderline (b 0, h ");
    run_free(&r);
}

static void test_malformed_mask(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, INFINITY, 0, 0);
    /* every row keeps all 7 keys: reversing two makes row 0 unsorted */
    const int64_t len = 2 * 6 * 7;
    sus_array a;
    sus_error err;
    const char *path = join(fx, p.dir, "indices.npy");
    assert_int_equal(sus_npy_read(path, 0, &a, &err), SUS_OK);
    assert_int_equal(a.shape[0], len);
    ((int64_t *)a.data)[0] = 1;
    ((int64_t *)a.data)[1] = 0;
    assert_int_equal(sus_npy_write(path, &a, &err), SUS_OK);
    sus_array_free(&a);
    run_result r = RUN(fx, "check", "--port", p.dir, "--c", "inf");
    assert_first_line(&r, 1, "sus check: FAIL (mask)");
    assert_contains(r.out, "not strictly ascending");
    run_free(&r);
}

static void test_refusals_options(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 2.0, 1, 0);
    const char *d = p.dir;
    struct {
        const char *args[8];
        const char *why;
    } bad[] = {
        {{"check", NULL}, "--port DIR is required"},
        {{"check", "--port", d, NULL}, "--c C is required"},
        {{"check", "--port", d, "--c", "0", NULL}, "--c"},
        {{"check", "--port", d, "--c", "2", "--unit-roundoff", "1", NULL}, "(0, 1)"},
        {{"check", "--port", d, "--c", "2", "--unit-roundoff", "x", NULL},
         "not a number"},
        {{"check", "--port", d, "--c", "2", "--canonical", "-1", NULL}, "--canonical"},
        {{"check", "--port", d, "--c", "2", "--prec", "10", NULL}, "--prec 10"},
        {{"check", "--port", d, "--c", "2", "--rule", "nope", NULL}, "valid rules"},
        {{"check", "--port", d, "--port", d, "--c", "2", NULL}, "more than once"},
        {{"check", "--port", d, "--c", "2", "--c", "2", NULL}, "more than once"},
        {{"check", "--port", d, "--c", "2", "extra", NULL}, "unexpected argument"},
        {{"check", "--port", d, "--c", "2", "--bogus", NULL}, "--bogus"},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        /* one parser: under Valgrind a third of the cases suffice */
        if (sus_t_quick() && t % 3 != 0)
            continue;
        run_result r = run_argv(fx, 0, bad[t].args);
        assert_refused_by(&r, "check", 1, bad[t].why);
        assert_contains(r.err, bad[t].why);
        run_free(&r);
    }
    run_result r = RUN(fx, "check", "--help");
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "Usage: sus check --port DIR --c C", 33) == 0);
    run_free(&r);
    r = RUN(fx, "--help");
    assert_contains(r.out, "  check ");
    run_free(&r);
}

static void test_refusals_files(void **state)
{
    fixture *fx = *state;
    inputs p = port_dir(fx, "p", 4, shape4, 2.0, 1, 0);
    /* no such directory; a file instead of one */
    run_result r = RUN(fx, "check", "--port", join(fx, p.dir, "none"), "--c", "2");
    assert_refused_by(&r, "check", 0, "no dir");
    assert_contains(r.err, "No such file or directory");
    run_free(&r);
    r = RUN(fx, "check", "--port", p.q, "--c", "2");
    assert_refused_by(&r, "check", 0, "a file");
    assert_contains(r.err, "is not a directory");
    run_free(&r);
    /* outputs: stacked, wrong shape, integer dtype, missing */
    const int64_t st[5] = {3, 1, 2, 6, 3}, wrong[4] = {1, 2, 6, 4};
    rewrite(fx, p.dir, "dQ.npy", SUS_DTYPE_F8, 5, st, -1, 1.0);
    r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "stacked");
    assert_contains(r.err,
                    "has shape (3, 1, 2, 6, 3): 3 stacked runs are for `sus report "
                    "--port`; sus check takes one run of shape (1, 2, 6, 3)");
    run_free(&r);
    rewrite(fx, p.dir, "dQ.npy", SUS_DTYPE_F8, 4, wrong, -1, 1.0);
    r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "shape");
    assert_contains(r.err, "dQ.npy has shape (1, 2, 6, 4): expected (1, 2, 6, 3)");
    run_free(&r);
    const int64_t sq[4] = {1, 2, 6, 3};
    rewrite(fx, p.dir, "dQ.npy", SUS_DTYPE_I8, 4, sq, -1, 1.0);
    r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "dtype");
    assert_contains(r.err, "dQ.npy: dtype is int64");
    run_free(&r);
    assert_int_equal(unlink(join(fx, p.dir, "dQ.npy")), 0);
    r = RUN(fx, "check", "--port", p.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "missing output");
    assert_contains(r.err, "dQ.npy");
    run_free(&r);
    /* the mask: indptr of the wrong length; float indices */
    inputs q = port_dir(fx, "q", 4, shape4, 2.0, 1, 0);
    const int64_t short_len = 5;
    rewrite(fx, q.dir, "indptr.npy", SUS_DTYPE_I8, 1, &short_len, -1, 1.0);
    r = RUN(fx, "check", "--port", q.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "indptr");
    assert_contains(r.err, "indptr.npy has shape (5,): expected (13,)");
    run_free(&r);
    /* the inputs: NaN, missing */
    inputs s = port_dir(fx, "s", 4, shape4, 2.0, 1, 0);
    const int64_t sk[4] = {1, 2, 7, 3};
    rewrite(fx, s.dir, "K.npy", SUS_DTYPE_F8, 4, sk, 4, NAN);
    r = RUN(fx, "check", "--port", s.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "nan input");
    assert_contains(r.err, "K.npy");
    run_free(&r);
    assert_int_equal(unlink(q.v), 0);
    r = RUN(fx, "check", "--port", q.dir, "--c", "2");
    assert_refused_by(&r, "check", 0, "missing input");
    assert_contains(r.err, "V.npy");
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pass, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_float32_outputs, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_fail_element, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_fail_flags, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_borderline, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_mask, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_options, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_refusals_files, cli_setup, cli_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
