/*
 * test_cli.c: the `sus` command line and `sus grad`, run as a separate
 * process ($SUS_BIN) with fork and execv (support_cli.h), so exit codes,
 * stderr and the file system are seen exactly as a user sees them. Under
 * Valgrind (SUS_VALGRIND) the CLI itself runs under that command too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support_cli.h"

/* Every refusal: exit 2 and one line "sus grad: ..." on stderr, followed by
 * "Try 'sus grad --help'." exactly when it is a usage error. */
static void assert_refused(const run_result *r, int usage, const char *what)
{
    assert_refused_by(r, "grad", usage, what);
}

/* ---- Outputs ------------------------------------------------------------ */

typedef struct outputs {
    double *y[5];
    size_t count[5];
} outputs;

static const char *const out_names[5] = {"O", "lse", "dQ", "dK", "dV"};

/* Reads O, lse, dQ, dK, dV (suffix "" or "_mag") and checks their shapes. */
static outputs read_outputs(fixture *fx, const char *dir, const char *suffix, int rank,
                            sus_shape sh)
{
    const int64_t s4[5][4] = {{sh.B, sh.H, sh.n, sh.dv},
                              {sh.B, sh.H, sh.n, 0},
                              {sh.B, sh.H, sh.n, sh.d},
                              {sh.B, sh.H, sh.m, sh.d},
                              {sh.B, sh.H, sh.m, sh.dv}};
    outputs o;
    for (int i = 0; i < 5; i++) {
        int nd = i == 1 ? rank - 1 : rank;
        char name[64];
        snprintf(name, sizeof name, "%s%s.npy", out_names[i], suffix);
        char *p = join(fx, dir, name);
        o.y[i] = read_f64(p, nd, s4[i] + (rank == 4 ? 0 : 2), &o.count[i]);
    }
    return o;
}

static void outputs_free(outputs *o)
{
    for (int i = 0; i < 5; i++)
        free(o->y[i]);
}

static double *grad_member(const sus_grads *g, int i)
{
    double *const m[5] = {g->o, g->lse, g->dq, g->dk, g->dv};
    return m[i];
}

/* ---- Help and dispatch -------------------------------------------------- */

static void test_help(void **state)
{
    fixture *fx = *state;
    run_result r = RUN(fx, "--help");
    assert_int_equal(r.code, 0);
    assert_contains(r.out, "Usage: sus");
    assert_contains(r.out, "grad");
    assert_string_equal(r.err, "");
    run_free(&r);

    r = RUN(fx, "grad", "--help");
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "Usage: sus grad", 15) == 0);
    assert_contains(r.out, "--prec");
    assert_string_equal(r.err, "");
    run_result h = RUN(fx, "help", "grad");
    assert_int_equal(h.code, 0);
    assert_string_equal(h.out, r.out);
    run_free(&h);
    /* --help wins over anything else on the line, even bad options. */
    h = RUN(fx, "grad", "--scale", "abc", "--bogus", "-h");
    assert_int_equal(h.code, 0);
    assert_string_equal(h.out, r.out);
    run_free(&h);
    run_free(&r);

    r = RUN(fx, "help");
    assert_int_equal(r.code, 0);
    assert_contains(r.out, "Usage: sus");
    run_free(&r);
}

static void test_version(void **state)
{
    fixture *fx = *state;
    run_result r = RUN(fx, "--version");
    assert_int_equal(r.code, 0);
    char want[64];
    snprintf(want, sizeof want, "sus %s\n", sus_version());
    assert_string_equal(r.out, want);
    assert_string_equal(r.out, "sus 0.1.0\n");
    assert_string_equal(r.err, "");
    run_free(&r);
}

static void test_unknown_command(void **state)
{
    fixture *fx = *state;
    const char *const cases[][4] = {
        {"frobnicate"},
        {"help", "frobnicate"},
        {"--bogus"},
        {"help", "grad", "extra"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = run_argv(fx, 0, cases[i]);
        assert_int_equal(r.code, 2);
        assert_string_equal(r.out, "");
        assert_true(strncmp(r.err, "sus", 3) == 0);
        if (i < 3)
            assert_contains(r.err, "grad"); /* the list of commands */
        run_free(&r);
    }
    run_result r = run_argv(fx, 0, (const char *const[]){NULL});
    assert_int_equal(r.code, 2);
    assert_contains(r.err, "Usage: sus");
    run_free(&r);
}

/* ---- Successful runs ---------------------------------------------------- */

static void test_grad_double_bitwise(void **state)
{
    fixture *fx = *state;
    struct {
        int rank;
        sus_dtype dt;
        sus_shape sh;
        int causal;
        const char *scale;
    } cases[] = {
        {4, SUS_DTYPE_F8, {2, 2, 5, 7, 3, 4}, 1, NULL},
        {2, SUS_DTYPE_F4, {1, 1, 6, 4, 5, 2}, 0, "0.3"},
        {2, SUS_DTYPE_F8, {1, 1, 1, 1, 1, 1}, 1, "-1.5"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[32];
        snprintf(name, sizeof name, "in_double%zu", c);
        inputs in = make_problem(fx, name, cases[c].dt, cases[c].rank, cases[c].sh);
        char *out = fx_outdir(fx);
        const char *args[20] = {"grad", "--q",    in.q,   "--k",   in.k,
                                "--v",  in.v,     "--do", in.dout, "--out",
                                out,    "--prec", "0",    "--mag"};
        int na = 14;
        if (cases[c].causal)
            args[na++] = "--causal";
        if (cases[c].scale) {
            args[na++] = "--scale";
            args[na++] = cases[c].scale;
        }
        args[na] = NULL;
        run_result r = run_argv(fx, 0, args);
        if (r.code != 0)
            print_error("stderr: %s\n", r.err);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.err, "");
        run_free(&r);
        assert_int_equal(count_entries(out), 10);

        double scale = cases[c].scale ? strtod(cases[c].scale, NULL)
                                      : sus_default_scale(cases[c].sh.d);
        loaded L =
            load_problem(&in, cases[c].rank, cases[c].sh, scale, cases[c].causal);
        sus_grads want, wmag;
        alloc_grads(&want, &L.z);
        alloc_grads(&wmag, &L.z);
        assert_int_equal(sus_ref_grad(&L.a, &want, NULL), SUS_OK);
        assert_int_equal(sus_ref_grad_mag(&L.a, &wmag, NULL), SUS_OK);
        outputs got = read_outputs(fx, out, "", cases[c].rank, cases[c].sh);
        outputs gmag = read_outputs(fx, out, "_mag", cases[c].rank, cases[c].sh);
        for (int i = 0; i < 5; i++) {
            assert_memory_equal(got.y[i], grad_member(&want, i),
                                got.count[i] * sizeof(double));
            assert_memory_equal(gmag.y[i], grad_member(&wmag, i),
                                gmag.count[i] * sizeof(double));
        }
        outputs_free(&got);
        outputs_free(&gmag);
        free_grads(&want);
        free_grads(&wmag);
        loaded_free(&L);
    }
}

static void test_grad_mpfr_within_bound(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {2, 3, 6, 9, 4, 5};
    inputs in = make_problem(fx, "in_mpfr", SUS_DTYPE_F8, 4, sh);
    char *out = fx_outdir(fx);
    run_result r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do",
                       in.dout, "--causal", "--mag", "--out", out);
    if (r.code != 0)
        print_error("stderr: %s\n", r.err);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    run_free(&r);
    assert_int_equal(count_entries(out), 10);

    loaded L = load_problem(&in, 4, sh, sus_default_scale(sh.d), 1);
    sus_grads ref;
    alloc_grads(&ref, &L.z);
    assert_int_equal(sus_ref_grad(&L.a, &ref, NULL), SUS_OK);
    outputs got = read_outputs(fx, out, "", 4, sh);
    outputs mag = read_outputs(fx, out, "_mag", 4, sh);
    double k = sus_bound_k(&sh);
    for (int i = 0; i < 5; i++)
        assert_array_within_bound(grad_member(&ref, i), got.y[i], mag.y[i],
                                  got.count[i], SUS_TAU, k, 0x1p-53, out_names[i]);
    outputs_free(&got);
    outputs_free(&mag);
    free_grads(&ref);
    loaded_free(&L);

    /* Without --mag only the five results are written. */
    out = fx_outdir(fx);
    r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout, "--out",
            out);
    assert_int_equal(r.code, 0);
    run_free(&r);
    assert_int_equal(count_entries(out), 5);
    /* An existing directory is reused, and its other files are left alone. */
    r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout, "--out",
            in.dir, "--prec", "64");
    assert_int_equal(r.code, 0);
    run_free(&r);
    assert_int_equal(count_entries(in.dir), 9);
}

/* ---- Refusals ----------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    inputs in = make_problem(fx, "in_usage", SUS_DTYPE_F8, 2, sh);
    char *out = fx_outdir(fx);
    /* Appended to a complete, valid command line. */
    const char *const extra[][4] = {
        {"--scale", "abc"},   {"--scale", "inf"}, {"--scale", "nan"},
        {"--scale", "1e999"}, {"--scale", ""},    {"--scale", " 1"},
        {"--scale", "1x"},    {"--prec", "12"},   {"--prec", "99999999999999999999"},
        {"--prec", "-1"},     {"--prec", "2.5"},  {"--prec", "65537"},
        {"--bogus"},          {"--causal=1"},     {"-x"},
        {"operand"},          {"--q", in.k},      {"--scale", "1", "--scale", "2"},
        {"--prec"}, /* missing argument */
    };
    for (size_t c = 0; c < sizeof extra / sizeof extra[0]; c++) {
        const char *args[20] = {"grad", "--q",  in.q,    "--k",   in.k, "--v",
                                in.v,   "--do", in.dout, "--out", out};
        int na = 11;
        for (int j = 0; j < 4 && extra[c][j]; j++)
            args[na++] = extra[c][j];
        args[na] = NULL;
        run_result r = run_argv(fx, 0, args);
        char what[128];
        snprintf(what, sizeof what, "case %zu (%s %s)", c, extra[c][0],
                 extra[c][1] ? extra[c][1] : "");
        assert_refused(&r, 1, what);
        /* The message names the option (without any "=value"). */
        if (strncmp(extra[c][0], "--", 2) == 0) {
            char opt[32];
            snprintf(opt, sizeof opt, "%.*s", (int)strcspn(extra[c][0], "="),
                     extra[c][0]);
            assert_contains(r.err, opt);
        }
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }
    /* Each required option missing in turn. */
    const char *const req[5] = {"--q", "--k", "--v", "--do", "--out"};
    const char *const val[5] = {in.q, in.k, in.v, in.dout, out};
    for (int miss = 0; miss < 5; miss++) {
        const char *args[12] = {"grad"};
        int na = 1;
        for (int j = 0; j < 5; j++) {
            if (j == miss)
                continue;
            args[na++] = req[j];
            args[na++] = val[j];
        }
        args[na] = NULL;
        run_result r = run_argv(fx, 0, args);
        assert_refused(&r, 1, req[miss]);
        assert_contains(r.err, req[miss]);
        run_free(&r);
    }
    run_result r = RUN(fx, "grad");
    assert_refused(&r, 1, "no options");
    run_free(&r);
    assert_int_equal(count_entries(out), -1);
}

/* Runs a valid command line on in (with --q replaced by q if non-NULL) and
 * expects an input refusal whose message contains both needles. */
static void expect_input_error(fixture *fx, const inputs *in, const char *q,
                               const char *needle1, const char *needle2,
                               const char *what)
{
    char *out = fx_outdir(fx);
    run_result r = RUN(fx, "grad", "--q", q ? q : in->q, "--k", in->k, "--v", in->v,
                       "--do", in->dout, "--out", out, "--causal");
    assert_refused(&r, 0, what);
    if (needle1)
        assert_contains(r.err, needle1);
    if (needle2)
        assert_contains(r.err, needle2);
    run_free(&r);
    assert_int_equal(count_entries(out), -1);
}

static void test_bad_files(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 2, 4, 3, 2, 2};
    inputs in = make_problem(fx, "in_files", SUS_DTYPE_F8, 4, sh);

    char *missing = fx_path(fx, "no_such.npy");
    expect_input_error(fx, &in, missing, missing, NULL, "missing file");
    expect_input_error(fx, &in, in.dir, in.dir, NULL, "directory as file");

    /* Truncated: a valid file cut short in its data. */
    char *trunc = fx_path(fx, "truncated.npy");
    const int64_t qs[4] = {1, 2, 4, 2};
    write_array(trunc, SUS_DTYPE_F8, 4, qs, 5);
    struct stat st;
    assert_int_equal(stat(trunc, &st), 0);
    assert_int_equal(truncate(trunc, st.st_size - 5), 0);
    expect_input_error(fx, &in, trunc, trunc, NULL, "truncated");

    char *garbage = fx_path(fx, "garbage.npy");
    FILE *f = fopen(garbage, "wb");
    assert_non_null(f);
    fputs("this is not an npy file\n", f);
    fclose(f);
    expect_input_error(fx, &in, garbage, garbage, NULL, "garbage");

    char *empty = fx_path(fx, "empty.npy");
    f = fopen(empty, "wb");
    assert_non_null(f);
    fclose(f);
    expect_input_error(fx, &in, empty, empty, NULL, "empty file");

    char *ints = fx_path(fx, "ints.npy");
    write_array(ints, SUS_DTYPE_I4, 4, qs, 6);
    expect_input_error(fx, &in, ints, ints, "int32", "int32 dtype");
}

static void test_nonfinite_input(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 4, 3, 3, 2};
    inputs in = make_problem(fx, "in_nan", SUS_DTYPE_F8, 2, sh);
    const double bad[2] = {NAN, -INFINITY};
    for (int c = 0; c < 2; c++) {
        sus_array a;
        sus_error err;
        const int64_t shape[2] = {4, 3};
        assert_int_equal(
            sus_array_alloc(&a, c ? SUS_DTYPE_F4 : SUS_DTYPE_F8, 2, shape, &err),
            SUS_OK);
        /* Flat index 7 is [2, 1]. */
        if (c)
            ((float *)a.data)[7] = (float)bad[c];
        else
            ((double *)a.data)[7] = bad[c];
        char *p = fx_path(fx, "nonfinite%d.npy", c);
        assert_int_equal(sus_npy_write(p, &a, &err), SUS_OK);
        sus_array_free(&a);
        char *out = fx_outdir(fx);
        run_result r = RUN(fx, "grad", "--q", p, "--k", in.k, "--v", in.v, "--do",
                           in.dout, "--out", out);
        assert_refused(&r, 0, "non-finite input");
        assert_contains(r.err, p);
        if (!strstr(r.err, "7") && !strstr(r.err, "2, 1") && !strstr(r.err, "2][1"))
            print_error("no index in [%s]\n", r.err);
        assert_true(strstr(r.err, "7") || strstr(r.err, "2, 1") ||
                    strstr(r.err, "2][1"));
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }
}

static void test_bad_shapes(void **state)
{
    fixture *fx = *state;
    /* Q [B, H, n, d], K [B, H, m, d], V [B, H, m, dv], dO [B, H, n, dv] with
     * B=2 H=3 n=5 m=6 d=4 dv=7, then one dimension of one array changed. */
    struct {
        const char *what;
        int arr, axis; /* which array and axis to change */
        int other;     /* the array named with it */
        const char *sym;
    } cases[] = {
        {"d", 1, 3, 0, "(d)"},   {"n", 3, 2, 0, "(n)"}, {"m", 2, 2, 1, "(m)"},
        {"dv", 3, 3, 2, "(dv)"}, {"B", 1, 0, 0, "(B)"}, {"H", 2, 1, 1, "(H)"},
    };
    static const char *const fname[4] = {"Q.npy", "K.npy", "V.npy", "dO.npy"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t s[4][4] = {{2, 3, 5, 4}, {2, 3, 6, 4}, {2, 3, 6, 7}, {2, 3, 5, 7}};
        s[cases[c].arr][cases[c].axis] += 1;
        const int nd[4] = {4, 4, 4, 4};
        char name[32];
        snprintf(name, sizeof name, "in_shape_%s", cases[c].what);
        inputs in = make_shaped(fx, name, SUS_DTYPE_F8, nd, (const int64_t(*)[4])s);
        char s0[64], s1[64], n0[128], n1[128];
        shape_text(s[cases[c].arr], 4, s0, sizeof s0);
        shape_text(s[cases[c].other], 4, s1, sizeof s1);
        snprintf(n0, sizeof n0, "%s has shape %s", fname[cases[c].arr], s0);
        snprintf(n1, sizeof n1, "%s has shape %s", fname[cases[c].other], s1);
        char *out = fx_outdir(fx);
        run_result r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do",
                           in.dout, "--out", out);
        assert_refused(&r, 0, cases[c].what);
        assert_contains(r.err, n0);
        assert_contains(r.err, n1);
        assert_contains(r.err, cases[c].sym);
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }

    /* 2-D: d mismatch, with the same message form. */
    {
        const int64_t s[4][4] = {{5, 4}, {6, 3}, {6, 7}, {5, 7}};
        const int nd[4] = {2, 2, 2, 2};
        inputs in = make_shaped(fx, "in_shape_2d", SUS_DTYPE_F8, nd, s);
        expect_input_error(fx, &in, NULL, "K.npy has shape (6, 3) but",
                           "Q.npy has shape (5, 4): the last dimensions (d) must agree",
                           "2-D d");
    }
    /* Rank 3 everywhere; mixed ranks; a zero dimension. */
    {
        const int64_t s[4][4] = {{1, 5, 4}, {1, 6, 4}, {1, 6, 7}, {1, 5, 7}};
        const int nd[4] = {3, 3, 3, 3};
        inputs in = make_shaped(fx, "in_rank3", SUS_DTYPE_F8, nd, s);
        expect_input_error(fx, &in, NULL, "Q.npy has shape (1, 5, 4)", NULL, "rank 3");
    }
    {
        const int64_t s[4][4] = {{1, 1, 5, 4}, {6, 4}, {6, 7}, {5, 7}};
        const int nd[4] = {4, 2, 2, 2};
        inputs in = make_shaped(fx, "in_mixed", SUS_DTYPE_F8, nd, s);
        expect_input_error(fx, &in, NULL, "(6, 4)", "(1, 1, 5, 4)", "mixed ranks");
    }
    {
        const int64_t s[4][4] = {{0, 4}, {6, 4}, {6, 7}, {0, 7}};
        const int nd[4] = {2, 2, 2, 2};
        inputs in = make_shaped(fx, "in_zero", SUS_DTYPE_F8, nd, s);
        expect_input_error(fx, &in, NULL, "(0, 4)", NULL, "zero dimension");
    }
    {
        const int64_t s[4][4] = {{5}, {6}, {6}, {5}};
        const int nd[4] = {1, 1, 1, 1};
        inputs in = make_shaped(fx, "in_rank1", SUS_DTYPE_F8, nd, s);
        expect_input_error(fx, &in, NULL, "(5,)", NULL, "rank 1");
    }
}

static void test_bad_out_dir(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    inputs in = make_problem(fx, "in_out", SUS_DTYPE_F8, 2, sh);

    char *nested = fx_path(fx, "no_parent/out");
    run_result r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do",
                       in.dout, "--out", nested);
    assert_refused(&r, 0, "out parent missing");
    assert_contains(r.err, "no_parent");
    run_free(&r);
    assert_false(exists(fx_path(fx, "no_parent")));

    char *dangling = fx_path(fx, "dangling");
    assert_int_equal(symlink("no_such_target", dangling), 0);
    r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout, "--out",
            dangling);
    assert_refused(&r, 0, "out is a dangling symlink");
    run_free(&r);
    assert_false(exists(fx_path(fx, "no_such_target")));

    /* --out is a regular file, or lies under one. */
    char *under[2] = {in.q, fx_path(fx, "in_out/Q.npy/sub")};
    for (int c = 0; c < 2; c++) {
        struct stat before, after;
        assert_int_equal(stat(in.q, &before), 0);
        r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
                "--out", under[c]);
        assert_refused(&r, 0, "out is or is under a file");
        run_free(&r);
        assert_int_equal(stat(in.q, &after), 0);
        assert_true(S_ISREG(after.st_mode) && after.st_size == before.st_size &&
                    after.st_ino == before.st_ino);
    }
    assert_int_equal(count_entries(in.dir), 4);
}

static void test_output_aliases_input(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    inputs in = make_problem(fx, "in_alias", SUS_DTYPE_F8, 2, sh);

    /* By name: Q is read from DIR/dQ.npy and DIR is the output. */
    char *dq = fx_path(fx, "in_alias/dQ.npy");
    assert_int_equal(link(in.q, dq), 0);
    run_result r = RUN(fx, "grad", "--q", dq, "--k", in.k, "--v", in.v, "--do", in.dout,
                       "--out", in.dir);
    assert_refused(&r, 0, "alias by name");
    assert_contains(r.err, "dQ.npy");
    run_free(&r);
    assert_int_equal(count_entries(in.dir), 5);
    /* By hard link: DIR/dQ.npy is Q.npy under another name. */
    r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout, "--out",
            in.dir);
    assert_refused(&r, 0, "alias by hard link");
    run_free(&r);
    assert_int_equal(count_entries(in.dir), 5);
    /* By symlink, and in a magnitude file. */
    char *other = fx_path(fx, "alias_out");
    assert_int_equal(mkdir(other, 0777), 0);
    assert_int_equal(symlink(in.v, fx_path(fx, "alias_out/dK_mag.npy")), 0);
    r = RUN(fx, "grad", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout, "--out",
            other, "--mag");
    assert_refused(&r, 0, "alias by symlink");
    run_free(&r);
    assert_int_equal(count_entries(other), 1);
    struct stat st;
    assert_int_equal(stat(in.v, &st), 0);
    assert_true(st.st_size > 0);
}

/* A write that fails midway leaves nothing of this run behind. */
static void test_write_failure_rolls_back(void **state)
{
    fixture *fx = *state;
    /* O and lse are small, dQ (64 x 64 doubles) is not. */
    sus_shape sh = {1, 1, 64, 2, 64, 1};
    inputs in = make_problem(fx, "in_wfail", SUS_DTYPE_F8, 2, sh);
    char *out = fx_outdir(fx);
    const char *args[] = {"grad", "--q",   in.q,    "--k", in.k,     "--v", in.v,
                          "--do", in.dout, "--out", out,   "--prec", "0",   NULL};
    run_result r = run_argv(fx, 8192, args);
    if (r.code != 1)
        print_error("exit %d, stderr: %s\n", r.code, r.err);
    assert_int_equal(r.code, 1);
    assert_true(strncmp(r.err, "sus grad: ", 10) == 0);
    assert_contains(r.err, "dQ.npy");
    run_free(&r);
    assert_int_equal(count_entries(out), -1);

    /* In an existing directory, where dK.npy cannot be replaced. */
    char *exist = fx_path(fx, "wfail_out");
    assert_int_equal(mkdir(exist, 0777), 0);
    assert_int_equal(mkdir(fx_path(fx, "wfail_out/dK.npy"), 0777), 0);
    args[10] = exist;
    r = run_argv(fx, 0, args);
    assert_int_equal(r.code, 1);
    assert_contains(r.err, "dK.npy");
    run_free(&r);
    assert_int_equal(count_entries(exist), 1);
    assert_true(exists(fx_path(fx, "wfail_out/dK.npy")));
}

#define CLI_TEST(f) cmocka_unit_test_setup_teardown(f, cli_setup, cli_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CLI_TEST(test_help),
        CLI_TEST(test_version),
        CLI_TEST(test_unknown_command),
        CLI_TEST(test_grad_double_bitwise),
        CLI_TEST(test_grad_mpfr_within_bound),
        CLI_TEST(test_usage_errors),
        CLI_TEST(test_bad_files),
        CLI_TEST(test_nonfinite_input),
        CLI_TEST(test_bad_shapes),
        CLI_TEST(test_bad_out_dir),
        CLI_TEST(test_output_aliases_input),
        CLI_TEST(test_write_failure_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
