/*
 * test_cli_sus.c: `sus mask`, `sus sample` and `sus moments`, run as a
 * separate process ($SUS_BIN, support_cli.h), checked against the library
 * called directly on the same inputs: masks and samples bit for bit, moments
 * bit for bit at the same precision. Then every refusal: exit 2, one line,
 * and no output left behind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support_cli.h"

/* ---- Helpers ------------------------------------------------------------ */

static void assert_ok(const run_result *r, const char *what)
{
    if (r->code != 0)
        print_error("%s: exit %d, stderr: %s\n", what, r->code, r->err);
    assert_int_equal(r->code, 0);
    assert_string_equal(r->err, "");
}

/* Reads path, which must have exactly this dtype and shape. */
static sus_array read_exact(const char *path, sus_dtype dt, int ndim,
                            const int64_t *shape)
{
    sus_array a;
    sus_error err;
    int rc = sus_npy_read(path, 0, &a, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    assert_int_equal(a.dtype, dt);
    assert_int_equal(a.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(a.shape[i], shape[i]);
    return a;
}

/* The shape of a Q-, K- or V-shaped output, or of a per-row one, in the
 * inputs' rank convention. */
enum kind { KQ, KK, KV, KROWS };
static int out_shape(enum kind k, int rank, sus_shape sh, int64_t s[4])
{
    int64_t rows = k == KQ || k == KROWS ? sh.n : sh.m;
    int64_t cols = k == KV ? sh.dv : sh.d;
    int nd = 0;
    if (rank == 4) {
        s[nd++] = sh.B;
        s[nd++] = sh.H;
    }
    s[nd++] = rows;
    if (k != KROWS)
        s[nd++] = cols;
    return nd;
}

/* Asserts that DIR/name is a float64 array of that kind equal, bit for bit,
 * to want. */
static void assert_file_equals(fixture *fx, const char *dir, const char *name,
                               enum kind k, int rank, sus_shape sh, const double *want)
{
    int64_t s[4];
    int nd = out_shape(k, rank, sh, s);
    sus_array a = read_exact(join(fx, dir, name), SUS_DTYPE_F8, nd, s);
    for (size_t t = 0; t < a.count; t++) {
        double got = ((double *)a.data)[t];
        if (memcmp(&got, &want[t], sizeof got) != 0) {
            print_error("%s/%s[%zu] = %a, want %a\n", dir, name, t, got, want[t]);
            fail();
        }
    }
    sus_array_free(&a);
}

/* Asserts that DIR holds exactly the mask mk, as int64, int64, float64. */
static void assert_mask_files(fixture *fx, const char *dir, const sus_mask *mk)
{
    int64_t s0 = mk->rows + 1, s1 = mk->nnz;
    sus_array p = read_exact(join(fx, dir, "indptr.npy"), SUS_DTYPE_I8, 1, &s0);
    sus_array i = read_exact(join(fx, dir, "indices.npy"), SUS_DTYPE_I8, 1, &s1);
    sus_array w = read_exact(join(fx, dir, "wtilde.npy"), SUS_DTYPE_F8, 1, &s1);
    assert_memory_equal(p.data, mk->indptr, (size_t)s0 * sizeof(int64_t));
    if (s1 > 0) {
        assert_memory_equal(i.data, mk->indices, (size_t)s1 * sizeof(int64_t));
        assert_memory_equal(w.data, mk->wtilde, (size_t)s1 * sizeof(double));
    }
    sus_array_free(&p);
    sus_array_free(&i);
    sus_array_free(&w);
}

/* Writes a mask directory from raw arrays, each in the dtype given. */
static char *write_mask_dir(fixture *fx, const char *name, sus_dtype dt_ptr,
                            int64_t nptr, const int64_t *indptr, sus_dtype dt_idx,
                            int64_t nidx, const int64_t *indices, sus_dtype dt_w,
                            int64_t nw, const double *wtilde)
{
    char *dir = fx_path(fx, "%s", name);
    assert_int_equal(mkdir(dir, 0777), 0);
    const char *files[3] = {"indptr.npy", "indices.npy", "wtilde.npy"};
    const sus_dtype dt[3] = {dt_ptr, dt_idx, dt_w};
    const int64_t len[3] = {nptr, nidx, nw};
    for (int f = 0; f < 3; f++) {
        sus_array a;
        sus_error err;
        assert_int_equal(sus_array_alloc(&a, dt[f], 1, &len[f], &err), SUS_OK);
        for (int64_t t = 0; t < len[f]; t++) {
            /* Index files hold integers, wtilde doubles; either may be
             * written in another dtype to test conversions and refusals. */
            int64_t iv = f == 0 ? indptr[t] : f == 1 ? indices[t] : (int64_t)wtilde[t];
            double dv = f == 2 ? wtilde[t] : (double)iv;
            switch (dt[f]) {
            case SUS_DTYPE_I8:
                ((int64_t *)a.data)[t] = iv;
                break;
            case SUS_DTYPE_I4:
                ((int32_t *)a.data)[t] = (int32_t)iv;
                break;
            case SUS_DTYPE_F8:
                ((double *)a.data)[t] = dv;
                break;
            case SUS_DTYPE_F4:
                ((float *)a.data)[t] = (float)dv;
                break;
            }
        }
        int rc = sus_npy_write(join(fx, dir, files[f]), &a, &err);
        if (rc)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, SUS_OK);
        sus_array_free(&a);
    }
    return dir;
}

/* Appends argv entries; args must have room. */
static int push(const char **args, int na, const char *a, const char *b)
{
    args[na++] = a;
    if (b)
        args[na++] = b;
    args[na] = NULL;
    return na;
}

/* ---- Help --------------------------------------------------------------- */

static void test_help(void **state)
{
    fixture *fx = *state;
    run_result r = RUN(fx, "--help");
    assert_int_equal(r.code, 0);
    assert_contains(r.out, "\n  mask ");
    assert_contains(r.out, "\n  sample ");
    assert_contains(r.out, "\n  moments ");
    run_free(&r);
    const char *const cmds[3] = {"mask", "sample", "moments"};
    const char *const needle[3] = {"--seed", "--mask", "--enumerate"};
    for (int c = 0; c < 3; c++) {
        r = RUN(fx, cmds[c], "--help");
        assert_int_equal(r.code, 0);
        assert_string_equal(r.err, "");
        char usage[64];
        snprintf(usage, sizeof usage, "Usage: sus %s ", cmds[c]);
        assert_true(strncmp(r.out, usage, strlen(usage)) == 0);
        assert_contains(r.out, needle[c]);
        assert_contains(r.out, "--rule");
        run_result h = RUN(fx, "help", cmds[c]);
        assert_int_equal(h.code, 0);
        assert_string_equal(h.out, r.out);
        run_free(&h);
        /* --help wins over bad options anywhere on the line. */
        h = RUN(fx, cmds[c], "--c", "-1", "--bogus", "-h");
        assert_int_equal(h.code, 0);
        assert_string_equal(h.out, r.out);
        run_free(&h);
        run_free(&r);
    }
}

/* ---- sus mask ----------------------------------------------------------- */

typedef struct sus_case {
    int rank;
    sus_dtype dt;
    sus_shape sh;
    int causal;
    const char *scale; /* NULL: the default */
    const char *c;
    const char *seed;
    const char *rule; /* NULL: the default, minc */
} sus_case;

static const sus_case cases[] = {
    {2, SUS_DTYPE_F8, {1, 1, 7, 9, 3, 2}, 1, NULL, "2", "18446744073709551615", NULL},
    {4,
     SUS_DTYPE_F4,
     {2, 3, 5, 6, 4, 3},
     0,
     "0.7",
     "1.5",
     "0xDEADBEEF12345678",
     "waterfill"},
    {4, SUS_DTYPE_F8, {1, 2, 6, 4, 2, 5}, 1, "-1.25", "0.5", "0", "minc"},
};
#define NCASES (sizeof cases / sizeof cases[0])

static double case_c(const sus_case *k)
{
    return strcmp(k->c, "inf") == 0 ? INFINITY : strtod(k->c, NULL);
}

static uint64_t case_seed(const sus_case *k)
{
    return strtoull(k->seed, NULL, 0);
}

static const sus_rule *case_rule(const sus_case *k)
{
    return k->rule ? sus_rule_find(k->rule) : &sus_rule_minc;
}

/* The common options of a case; returns the argument count. */
static int case_args(const sus_case *k, const inputs *in, const char *cmd,
                     const char *out, int vdo, int seed, const char **args)
{
    int na = 0;
    na = push(args, na, cmd, NULL);
    na = push(args, na, "--q", in->q);
    na = push(args, na, "--k", in->k);
    if (vdo) {
        na = push(args, na, "--v", in->v);
        na = push(args, na, "--do", in->dout);
    }
    na = push(args, na, "--out", out);
    na = push(args, na, "--c", k->c);
    if (seed)
        na = push(args, na, "--seed", k->seed);
    if (k->rule)
        na = push(args, na, "--rule", k->rule);
    if (k->scale)
        na = push(args, na, "--scale", k->scale);
    if (k->causal)
        na = push(args, na, "--causal", NULL);
    return na;
}

static loaded case_load(const sus_case *k, const inputs *in)
{
    double scale = k->scale ? strtod(k->scale, NULL) : sus_default_scale(k->sh.d);
    return load_problem(in, k->rank, k->sh, scale, k->causal);
}

static void test_mask_bitwise(void **state)
{
    fixture *fx = *state;
    for (size_t c = 0; c < NCASES; c++) {
        const sus_case *k = &cases[c];
        char name[32];
        snprintf(name, sizeof name, "in_mask%zu", c);
        inputs in = make_problem(fx, name, k->dt, k->rank, k->sh);
        char *out = fx_outdir(fx);
        const char *args[40];
        case_args(k, &in, "mask", out, 0, 1, args);
        run_result r = run_argv(fx, 0, args);
        assert_ok(&r, "mask");
        assert_string_equal(r.out, "");
        run_free(&r);
        assert_int_equal(count_entries(out), 3);

        loaded L = case_load(k, &in);
        sus_mask mk;
        assert_int_equal(
            sus_ref_mask(&L.a, case_rule(k), case_c(k), case_seed(k), &mk, NULL),
            SUS_OK);
        assert_true(mk.nnz > 0);
        assert_mask_files(fx, out, &mk);
        sus_mask_free(&mk);
        loaded_free(&L);
    }
}

/* Only Q and K are read: a mask needs no V or dO, and refuses them. */
static void test_mask_options(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 4, 5, 2, 2};
    inputs in = make_problem(fx, "in_mopt", SUS_DTYPE_F8, 2, sh);
    char *out = fx_outdir(fx);
    run_result r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--v", in.v, "--c", "1",
                       "--seed", "1", "--out", out);
    assert_refused_by(&r, "mask", 1, "--v");
    assert_contains(r.err, "--v");
    run_free(&r);
    /* The seed reads the same in decimal and hexadecimal. */
    char *o1 = fx_outdir(fx), *o2 = fx_outdir(fx);
    r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "3", "--seed", "4294967297",
            "--out", o1);
    assert_ok(&r, "decimal seed");
    run_free(&r);
    r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "3", "--seed", "0x100000001",
            "--out", o2);
    assert_ok(&r, "hex seed");
    run_free(&r);
    loaded L = load_problem(&in, 2, sh, sus_default_scale(sh.d), 0);
    sus_mask mk;
    assert_int_equal(sus_ref_mask(&L.a, &sus_rule_minc, 3.0, 4294967297u, &mk, NULL),
                     SUS_OK);
    assert_mask_files(fx, o1, &mk);
    assert_mask_files(fx, o2, &mk);
    sus_mask_free(&mk);
    /* c = inf keeps every entry with W~ = W. */
    char *o3 = fx_outdir(fx);
    r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "inf", "--seed", "9", "--out",
            o3);
    assert_ok(&r, "c inf");
    run_free(&r);
    assert_int_equal(sus_ref_mask(&L.a, &sus_rule_minc, INFINITY, 9, &mk, NULL),
                     SUS_OK);
    assert_int_equal(mk.nnz, sh.n * sh.m);
    assert_mask_files(fx, o3, &mk);
    sus_mask_free(&mk);
    loaded_free(&L);
}

/* ---- sus sample --------------------------------------------------------- */

static void check_estimate(fixture *fx, const char *out, const char *suffix,
                           const sus_case *k, const sus_grads *want)
{
    const char *names[3] = {"dQ", "dK", "dV"};
    const double *w[3] = {want->dq, want->dk, want->dv};
    for (int t = 0; t < 3; t++) {
        char file[32];
        snprintf(file, sizeof file, "%s%s.npy", names[t], suffix);
        assert_file_equals(fx, out, file, (enum kind)t, k->rank, k->sh, w[t]);
    }
}

static void test_sample_bitwise(void **state)
{
    fixture *fx = *state;
    for (size_t c = 0; c < NCASES; c++) {
        const sus_case *k = &cases[c];
        char name[32];
        snprintf(name, sizeof name, "in_sample%zu", c);
        inputs in = make_problem(fx, name, k->dt, k->rank, k->sh);
        char *out = fx_outdir(fx);
        const char *args[40];
        int na = case_args(k, &in, "sample", out, 1, 1, args);
        push(args, na, "--mag", NULL);
        run_result r = run_argv(fx, 0, args);
        assert_ok(&r, "sample");
        assert_string_equal(r.out, "");
        run_free(&r);
        assert_int_equal(count_entries(out), 9);

        loaded L = case_load(k, &in);
        sus_mask mk;
        assert_int_equal(
            sus_ref_mask(&L.a, case_rule(k), case_c(k), case_seed(k), &mk, NULL),
            SUS_OK);
        sus_grads want, mag;
        alloc_grads(&want, &L.z);
        alloc_grads(&mag, &L.z);
        assert_int_equal(sus_ref_estimate(&L.a, &mk, &want, NULL), SUS_OK);
        assert_int_equal(sus_ref_estimate_mag(&L.a, &mk, &mag, NULL), SUS_OK);
        check_estimate(fx, out, "", k, &want);
        check_estimate(fx, out, "_mag", k, &mag);
        assert_mask_files(fx, out, &mk);

        /* The mask just written, given back with --mask: the same estimate
         * and the same mask; without --mag only six files. */
        char *out2 = fx_outdir(fx);
        const char *a2[24] = {"sample", "--q",   in.q,    "--k", in.k,     "--v", in.v,
                              "--do",   in.dout, "--out", out2,  "--mask", out,   NULL};
        int n2 = 13;
        if (k->scale)
            n2 = push(a2, n2, "--scale", k->scale);
        if (k->causal)
            push(a2, n2, "--causal", NULL);
        r = run_argv(fx, 0, a2);
        assert_ok(&r, "sample --mask");
        run_free(&r);
        assert_int_equal(count_entries(out2), 6);
        check_estimate(fx, out2, "", k, &want);
        assert_mask_files(fx, out2, &mk);

        free_grads(&want);
        free_grads(&mag);
        sus_mask_free(&mk);
        loaded_free(&L);
    }
}

/* c = inf: every allowed entry kept with W~ = W, so the estimate is the
 * exact gradient of the double reference, bit for bit. */
static void test_sample_inf_is_grad(void **state)
{
    fixture *fx = *state;
    for (size_t c = 0; c < NCASES; c++) {
        sus_case k = cases[c];
        k.c = "inf";
        char name[32];
        snprintf(name, sizeof name, "in_inf%zu", c);
        inputs in = make_problem(fx, name, k.dt, k.rank, k.sh);
        char *out = fx_outdir(fx), *gout = fx_outdir(fx);
        const char *args[40];
        case_args(&k, &in, "sample", out, 1, 1, args);
        run_result r = run_argv(fx, 0, args);
        assert_ok(&r, "sample --c inf");
        run_free(&r);
        const char *g[24] = {"grad", "--q",   in.q,    "--k", in.k,     "--v", in.v,
                             "--do", in.dout, "--out", gout,  "--prec", "0",   NULL};
        int ng = 13;
        if (k.scale)
            ng = push(g, ng, "--scale", k.scale);
        if (k.causal)
            push(g, ng, "--causal", NULL);
        r = run_argv(fx, 0, g);
        assert_ok(&r, "grad --prec 0");
        run_free(&r);
        const char *names[3] = {"dQ.npy", "dK.npy", "dV.npy"};
        for (int t = 0; t < 3; t++) {
            int64_t s[4];
            int nd = out_shape((enum kind)t, k.rank, k.sh, s);
            sus_array a = read_exact(join(fx, out, names[t]), SUS_DTYPE_F8, nd, s);
            sus_array b = read_exact(join(fx, gout, names[t]), SUS_DTYPE_F8, nd, s);
            assert_memory_equal(a.data, b.data, a.count * sizeof(double));
            sus_array_free(&a);
            sus_array_free(&b);
        }
    }
}

/* A mask from outside, in int32 and float32, is converted and used. */
static void test_sample_external_mask(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 4, 5, 3, 2};
    inputs in = make_problem(fx, "in_ext", SUS_DTYPE_F8, 2, sh);
    const int64_t indptr[5] = {0, 1, 3, 5, 7};
    const int64_t indices[7] = {0, 0, 1, 1, 2, 0, 3};
    const double wt[7] = {1.0, 0.5, 0.3, 0.7, 0.25, 0.1, 2.0 / 3.0};
    char *m32 = write_mask_dir(fx, "m32", SUS_DTYPE_I4, 5, indptr, SUS_DTYPE_I4, 7,
                               indices, SUS_DTYPE_F4, 7, wt);
    char *out = fx_outdir(fx);
    run_result r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do",
                       in.dout, "--mask", m32, "--causal", "--out", out);
    assert_ok(&r, "int32/float32 mask");
    run_free(&r);

    double wt32[7];
    for (int t = 0; t < 7; t++)
        wt32[t] = (float)wt[t];
    sus_mask mk = {4, 7, (int64_t *)indptr, (int64_t *)indices, wt32};
    loaded L = load_problem(&in, 2, sh, sus_default_scale(sh.d), 1);
    sus_grads want;
    alloc_grads(&want, &L.z);
    assert_int_equal(sus_ref_estimate(&L.a, &mk, &want, NULL), SUS_OK);
    sus_case k = {2, SUS_DTYPE_F8, sh, 1, NULL, NULL, NULL, NULL};
    check_estimate(fx, out, "", &k, &want);
    assert_mask_files(fx, out, &mk);
    free_grads(&want);

    /* An empty mask is well formed: the estimate is 0. */
    const int64_t zero[5] = {0, 0, 0, 0, 0};
    char *m0 = write_mask_dir(fx, "m0", SUS_DTYPE_I8, 5, zero, SUS_DTYPE_I8, 0, NULL,
                              SUS_DTYPE_F8, 0, NULL);
    out = fx_outdir(fx);
    r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
            "--mask", m0, "--out", out);
    assert_ok(&r, "empty mask");
    run_free(&r);
    sus_mask empty = {4, 0, (int64_t *)zero, NULL, NULL};
    alloc_grads(&want, &L.z);
    L.a.causal = 0;
    assert_int_equal(sus_ref_estimate(&L.a, &empty, &want, NULL), SUS_OK);
    k.causal = 0;
    check_estimate(fx, out, "", &k, &want);
    assert_mask_files(fx, out, &empty);
    free_grads(&want);
    loaded_free(&L);
}

/* ---- sus moments -------------------------------------------------------- */

static void check_moments(fixture *fx, const char *out, const sus_case *k,
                          const sus_moments *m)
{
    const char *names[6] = {"mean_dQ.npy", "mean_dK.npy", "mean_dV.npy",
                            "var_dQ.npy",  "var_dK.npy",  "var_dV.npy"};
    const double *w[6] = {m->mean.dq, m->mean.dk, m->mean.dv,
                          m->var.dq,  m->var.dk,  m->var.dv};
    for (int t = 0; t < 6; t++)
        assert_file_equals(fx, out, names[t], (enum kind)(t % 3), k->rank, k->sh, w[t]);
    assert_file_equals(fx, out, "nnz.npy", KROWS, k->rank, k->sh, m->nnz_row);
}

static void alloc_moments(sus_moments *m, const sus_sizes *z)
{
    memset(m, 0, sizeof *m);
    alloc_grads(&m->mean, z);
    alloc_grads(&m->var, z);
    m->nnz_row = calloc(z->rows, sizeof(double));
    assert_non_null(m->nnz_row);
}

static void free_moments(sus_moments *m)
{
    free_grads(&m->mean);
    free_grads(&m->var);
    free(m->nnz_row);
}

/* "expected nnz: X\n" with X reading back as exactly want. */
static void check_total(const char *out, double want)
{
    const char *p = "expected nnz: ";
    assert_true(strncmp(out, p, strlen(p)) == 0);
    char *end;
    double got = strtod(out + strlen(p), &end);
    assert_string_equal(end, "\n");
    if (got != want)
        print_error("expected nnz %.17g, want %.17g\n", got, want);
    assert_true(got == want);
}

static void test_moments_bitwise(void **state)
{
    fixture *fx = *state;
    for (size_t c = 0; c < NCASES; c++) {
        const sus_case *k = &cases[c];
        char name[32];
        snprintf(name, sizeof name, "in_mom%zu", c);
        inputs in = make_problem(fx, name, k->dt, k->rank, k->sh);
        char *out = fx_outdir(fx);
        const char *args[40];
        int na = case_args(k, &in, "moments", out, 1, 0, args);
        long prec = c == 1 ? 100 : SUS_MPFR_DEFAULT_PREC;
        if (c == 1)
            push(args, na, "--prec", "100");
        run_result r = run_argv(fx, 0, args);
        assert_ok(&r, "moments");
        assert_int_equal(count_entries(out), 7);

        loaded L = case_load(k, &in);
        sus_moments m;
        alloc_moments(&m, &L.z);
        assert_int_equal(
            sus_mpfr_moments(&L.a, case_rule(k), case_c(k), prec, &m, NULL), SUS_OK);
        check_moments(fx, out, k, &m);
        check_total(r.out, m.nnz_total);
        run_free(&r);
        free_moments(&m);
        loaded_free(&L);
    }
}

static void test_moments_enumerate(void **state)
{
    fixture *fx = *state;
    const sus_case k = {2,     SUS_DTYPE_F8, {1, 1, 3, 4, 2, 2}, 0, NULL,
                        "1.5", NULL,         "waterfill"};
    inputs in = make_problem(fx, "in_enum", k.dt, k.rank, k.sh);
    char *out = fx_outdir(fx);
    const char *args[40];
    int na = case_args(&k, &in, "moments", out, 1, 0, args);
    push(args, na, "--enumerate", NULL);
    run_result r = run_argv(fx, 0, args);
    assert_ok(&r, "moments --enumerate");
    loaded L = case_load(&k, &in);
    sus_moments m;
    alloc_moments(&m, &L.z);
    assert_int_equal(
        sus_mpfr_enumerate(&L.a, case_rule(&k), 1.5, SUS_MPFR_DEFAULT_PREC, &m, NULL),
        SUS_OK);
    check_moments(fx, out, &k, &m);
    check_total(r.out, m.nnz_total);
    run_free(&r);
    free_moments(&m);
    loaded_free(&L);

    /* Too many uncertain entries: the library's refusal, nothing written. */
    sus_shape big = {1, 1, 6, 8, 2, 2};
    inputs bin = make_problem(fx, "in_enum_big", SUS_DTYPE_F8, 2, big);
    out = fx_outdir(fx);
    r = RUN(fx, "moments", "--q", bin.q, "--k", bin.k, "--v", bin.v, "--do", bin.dout,
            "--c", "2", "--enumerate", "--out", out);
    assert_refused_by(&r, "moments", 0, "enumerate too big");
    assert_contains(r.err, "enumeration");
    assert_contains(r.err, "0 < q < 1");
    run_free(&r);
    assert_int_equal(count_entries(out), -1);
}

/* ---- Refusals ----------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    inputs in = make_problem(fx, "in_usage", SUS_DTYPE_F8, 2, sh);
    char *out = fx_outdir(fx);
    char *maskdir = fx_outdir(fx);
    run_result r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "2", "--seed", "1",
                       "--out", maskdir);
    assert_ok(&r, "mask for --mask");
    run_free(&r);
    const char *const cmds[3] = {"mask", "sample", "moments"};
    /* Appended to a complete, valid command line; the option each must name
     * (the message names it), and which commands the case applies to. */
    struct {
        const char *a[4];
        const char *names;
        unsigned cmds; /* bit 0 mask, 1 sample, 2 moments */
        int drop_c;    /* leave --c out of the base line */
    } extra[] = {
        {{NULL}, "--c", 7, 1},
        {{"--c", "0"}, "--c", 7, 1},
        {{"--c", "-1"}, "--c", 7, 1},
        {{"--c", "nan"}, "--c", 7, 1},
        {{"--c", "-inf"}, "--c", 7, 1},
        {{"--c", "abc"}, "--c", 7, 1},
        {{"--c", ""}, "--c", 7, 1},
        {{"--c", "1e999"}, "--c", 7, 1},
        {{"--c", "2"}, "--c", 7, 0}, /* given twice */
        {{"--seed", "-1"}, "--seed", 3, 0},
        {{"--seed", "18446744073709551616"}, "--seed", 3, 0},
        {{"--seed", "0x1ffffffffffffffff"}, "--seed", 3, 0},
        {{"--seed", "1.5"}, "--seed", 3, 0},
        {{"--seed", "+1"}, "--seed", 3, 0},
        {{"--seed", "0x"}, "--seed", 3, 0},
        {{"--seed", "7"}, "--seed", 4, 0}, /* moments has no seed */
        {{"--rule", "bogus"}, "minc, waterfill", 7, 0},
        {{"--rule", "minc", "--rule", "minc"}, "--rule", 7, 0},
        {{"--prec", "12"}, "--prec", 4, 0},
        {{"--prec", "0"}, "--prec", 4, 0},
        {{"--prec", "65537"}, "--prec", 4, 0},
        {{"--enumerate"}, "--enumerate", 3, 0},
        {{"--mag"}, "--mag", 5, 0},
        {{"--mask", maskdir}, "--mask", 3, 0}, /* sample: with --c and --seed */
        {{"--scale", "inf"}, "--scale", 7, 0},
        {{"operand"}, "operand", 7, 0},
    };
    for (int c = 0; c < 3; c++) {
        for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
            if (!(extra[e].cmds >> c & 1))
                continue;
            const char *args[40];
            int na = 0;
            na = push(args, na, cmds[c], NULL);
            na = push(args, na, "--q", in.q);
            na = push(args, na, "--k", in.k);
            if (c > 0) {
                na = push(args, na, "--v", in.v);
                na = push(args, na, "--do", in.dout);
            }
            na = push(args, na, "--out", out);
            if (!extra[e].drop_c)
                na = push(args, na, "--c", "2");
            if (c < 2)
                na = push(args, na, "--seed", "5");
            for (int j = 0; j < 4 && extra[e].a[j]; j++)
                na = push(args, na, extra[e].a[j], NULL);
            r = run_argv(fx, 0, args);
            char what[128];
            snprintf(what, sizeof what, "%s case %zu (%s %s)", cmds[c], e,
                     extra[e].a[0] ? extra[e].a[0] : "no --c",
                     extra[e].a[0] && extra[e].a[1] ? extra[e].a[1] : "");
            assert_refused_by(&r, cmds[c], 1, what);
            assert_contains(r.err, extra[e].names);
            run_free(&r);
            assert_int_equal(count_entries(out), -1);
        }
    }
    /* sample: --mask excludes --c, --seed and --rule; without it both
     * --c and --seed are needed. */
    const char *const excl[3][2] = {{"--c", "2"}, {"--seed", "3"}, {"--rule", "minc"}};
    for (int x = 0; x < 3; x++) {
        r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
                "--out", out, "--mask", maskdir, excl[x][0], excl[x][1]);
        assert_refused_by(&r, "sample", 1, excl[x][0]);
        assert_contains(r.err, excl[x][0]);
        assert_contains(r.err, "--mask");
        run_free(&r);
    }
    r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
            "--out", out, "--c", "2");
    assert_refused_by(&r, "sample", 1, "no seed");
    assert_contains(r.err, "--seed");
    run_free(&r);
    r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--out", out, "--c", "2");
    assert_refused_by(&r, "mask", 1, "mask without seed");
    assert_contains(r.err, "--seed");
    run_free(&r);
    /* Each required path missing. */
    r = RUN(fx, "moments", "--q", in.q, "--k", in.k, "--v", in.v, "--out", out, "--c",
            "2");
    assert_refused_by(&r, "moments", 1, "no --do");
    assert_contains(r.err, "--do");
    run_free(&r);
    r = RUN(fx, "mask", "--q", in.q, "--c", "2", "--seed", "1", "--out", out);
    assert_refused_by(&r, "mask", 1, "no --k");
    assert_contains(r.err, "--k");
    run_free(&r);
    assert_int_equal(count_entries(out), -1);
}

/* One malformed mask: exit 2, one line naming --mask DIR and the reason. */
typedef struct bad_mask {
    const char *what;
    int64_t nptr;
    int64_t indptr[8];
    int64_t nidx;
    int64_t indices[8];
    int64_t nw;
    double wtilde[8];
    sus_dtype dt_idx;
    int causal;
    const char *needle1, *needle2;
    int names_dir; /* the message names "--mask DIR" */
} bad_mask;

static void test_bad_masks(void **state)
{
    fixture *fx = *state;
    /* n = 4, m = 5, causal: rows 0 {0}, 1 {0, 1}, 2 {1, 2}, 3 {0, 3}. */
    sus_shape sh = {1, 1, 4, 5, 3, 2};
    inputs in = make_problem(fx, "in_badmask", SUS_DTYPE_F8, 2, sh);
#define GOOD_PTR                                                                       \
    5,                                                                                 \
    {                                                                                  \
        0, 1, 3, 5, 7                                                                  \
    }
#define GOOD_W                                                                         \
    7,                                                                                 \
    {                                                                                  \
        1.0, 0.5, 0.3, 0.7, 0.25, 0.1, 0.6                                             \
    }
    const bad_mask cases_bad[] = {
        {"good causal",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         NULL,
         NULL,
         0},
        {"unsorted",
         GOOD_PTR,
         7,
         {0, 1, 0, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         "row 1 is not strictly ascending",
         NULL,
         1},
        {"duplicate",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 3, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         "row 3 is not strictly ascending",
         "duplicate",
         1},
        {"index >= m",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 5},
         GOOD_W,
         SUS_DTYPE_I8,
         0,
         "indices[6] = 5",
         "[0, 5)",
         1},
        {"negative index",
         GOOD_PTR,
         7,
         {-1, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         0,
         "indices[0] = -1",
         NULL,
         1},
        {"causal violation",
         GOOD_PTR,
         7,
         {0, 0, 2, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         "causal",
         "row 1",
         1},
        {"indptr too short",
         4,
         {0, 1, 3, 7},
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         "indptr.npy has shape (4,)",
         "(5,)",
         0},
        {"indptr too long",
         6,
         {0, 1, 3, 5, 7, 7},
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         1,
         "indptr.npy has shape (6,)",
         "(5,)",
         0},
        {"indptr not monotone",
         5,
         {0, 3, 1, 5, 7},
         7,
         {0, 1, 2, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         0,
         "indptr[2] = 1",
         NULL,
         1},
        {"indptr[0] != 0",
         5,
         {1, 1, 3, 5, 7},
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         0,
         "indptr[0] = 1",
         NULL,
         1},
        {"indptr end != nnz",
         5,
         {0, 1, 3, 5, 6},
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_I8,
         0,
         "indptr[4] = 6",
         "7 entries",
         1},
        {"lengths differ",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 3},
         6,
         {1.0, 0.5, 0.3, 0.7, 0.25, 0.1},
         SUS_DTYPE_I8,
         0,
         "indices.npy has shape (7,)",
         "wtilde.npy has shape (6,)",
         0},
        {"wtilde NaN",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 3},
         7,
         {1.0, 0.5, NAN, 0.7, 0.25, 0.1, 0.6},
         SUS_DTYPE_I8,
         0,
         "wtilde[2]",
         "nan",
         1},
        {"wtilde negative",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 3},
         7,
         {1.0, 0.5, 0.3, 0.7, -0.25, 0.1, 0.6},
         SUS_DTYPE_I8,
         0,
         "wtilde[4]",
         ">= 0",
         1},
        {"float indices",
         GOOD_PTR,
         7,
         {0, 0, 1, 1, 2, 0, 3},
         GOOD_W,
         SUS_DTYPE_F8,
         0,
         "indices.npy: dtype is float64",
         "int64",
         0},
    };
    for (size_t c = 0; c < sizeof cases_bad / sizeof cases_bad[0]; c++) {
        const bad_mask *b = &cases_bad[c];
        char name[32];
        snprintf(name, sizeof name, "badmask%zu", c);
        char *dir =
            write_mask_dir(fx, name, SUS_DTYPE_I8, b->nptr, b->indptr, b->dt_idx,
                           b->nidx, b->indices, SUS_DTYPE_F8, b->nw, b->wtilde);
        char *out = fx_outdir(fx);
        const char *args[24] = {"sample", "--q",    in.q,   "--k",   in.k,
                                "--v",    in.v,     "--do", in.dout, "--out",
                                out,      "--mask", dir,    NULL};
        if (b->causal)
            push(args, 13, "--causal", NULL);
        run_result r = run_argv(fx, 0, args);
        if (!b->needle1) {
            assert_ok(&r, b->what);
            run_free(&r);
            assert_int_equal(count_entries(out), 6);
            continue;
        }
        assert_refused_by(&r, "sample", 0, b->what);
        assert_contains(r.err, b->needle1);
        if (b->needle2)
            assert_contains(r.err, b->needle2);
        if (b->names_dir) {
            char head[1200];
            snprintf(head, sizeof head, "sus sample: --mask %s: ", dir);
            if (strncmp(r.err, head, strlen(head)) != 0)
                print_error("%s: want [%s...], got [%s]\n", b->what, head, r.err);
            assert_true(strncmp(r.err, head, strlen(head)) == 0);
        }
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }
#undef GOOD_PTR
#undef GOOD_W

    /* A missing file, a missing directory, a 2-D indptr. */
    char *partial = fx_path(fx, "partial");
    assert_int_equal(mkdir(partial, 0777), 0);
    write_array(join(fx, partial, "indptr.npy"), SUS_DTYPE_I8, 1, (int64_t[]){5}, 1);
    char *flat2d = fx_path(fx, "flat2d");
    assert_int_equal(mkdir(flat2d, 0777), 0);
    write_array(join(fx, flat2d, "indptr.npy"), SUS_DTYPE_I8, 2, (int64_t[]){1, 5}, 1);
    const struct {
        char *dir;
        const char *needle;
    } more[] = {
        {partial, "indices.npy"},
        {fx_path(fx, "no_such_dir"), "no_such_dir"},
        {in.q, "not a directory"},
        {flat2d, "indptr.npy has shape (1, 5)"},
    };
    for (size_t c = 0; c < sizeof more / sizeof more[0]; c++) {
        char *out = fx_outdir(fx);
        run_result r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do",
                           in.dout, "--out", out, "--mask", more[c].dir);
        assert_refused_by(&r, "sample", 0, more[c].needle);
        assert_contains(r.err, more[c].needle);
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }
}

/* Outputs never replace inputs, the mask's files included. */
static void test_output_aliases_input(void **state)
{
    fixture *fx = *state;
    sus_shape sh = {1, 1, 3, 4, 2, 2};
    inputs in = make_problem(fx, "in_alias", SUS_DTYPE_F8, 2, sh);
    char *m = fx_outdir(fx);
    run_result r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "2", "--seed", "1",
                       "--out", m);
    assert_ok(&r, "mask");
    run_free(&r);
    struct stat before, after;
    assert_int_equal(stat(join(fx, m, "indptr.npy"), &before), 0);
    r = RUN(fx, "sample", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
            "--mask", m, "--out", m);
    assert_refused_by(&r, "sample", 0, "--out is --mask");
    assert_contains(r.err, "indptr.npy");
    run_free(&r);
    assert_int_equal(stat(join(fx, m, "indptr.npy"), &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_size == after.st_size);
    assert_int_equal(count_entries(m), 3);

    /* An input under an output's name, for each command. */
    assert_int_equal(link(in.q, join(fx, in.dir, "indices.npy")), 0);
    assert_int_equal(link(in.k, join(fx, in.dir, "var_dV.npy")), 0);
    r = RUN(fx, "mask", "--q", in.q, "--k", in.k, "--c", "2", "--seed", "1", "--out",
            in.dir);
    assert_refused_by(&r, "mask", 0, "mask alias");
    run_free(&r);
    r = RUN(fx, "moments", "--q", in.q, "--k", in.k, "--v", in.v, "--do", in.dout,
            "--c", "2", "--out", in.dir);
    assert_refused_by(&r, "moments", 0, "moments alias");
    run_free(&r);
    assert_int_equal(count_entries(in.dir), 6);
}

/* A write that fails midway leaves nothing of this run behind. */
static void test_write_failure_rolls_back(void **state)
{
    fixture *fx = *state;
    /* dQ (2 x 64) fits in 8192 bytes, dK (64 x 64 doubles) does not. */
    sus_shape sh = {1, 1, 2, 64, 64, 1};
    inputs in = make_problem(fx, "in_wfail", SUS_DTYPE_F8, 2, sh);
    char *out = fx_outdir(fx);
    const char *args[] = {"sample", "--q",   in.q, "--k", in.k, "--v",    in.v, "--do",
                          in.dout,  "--out", out,  "--c", "4",  "--seed", "1",  NULL};
    run_result r = run_argv(fx, 8192, args);
    if (r.code != 1)
        print_error("exit %d, stderr: %s\n", r.code, r.err);
    assert_int_equal(r.code, 1);
    assert_true(strncmp(r.err, "sus sample: ", 12) == 0);
    assert_contains(r.err, "dK.npy");
    run_free(&r);
    assert_int_equal(count_entries(out), -1);
}

#define CLI_TEST(f) cmocka_unit_test_setup_teardown(f, cli_setup, cli_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CLI_TEST(test_help),
        CLI_TEST(test_mask_bitwise),
        CLI_TEST(test_mask_options),
        CLI_TEST(test_sample_bitwise),
        CLI_TEST(test_sample_inf_is_grad),
        CLI_TEST(test_sample_external_mask),
        CLI_TEST(test_moments_bitwise),
        CLI_TEST(test_moments_enumerate),
        CLI_TEST(test_usage_errors),
        CLI_TEST(test_bad_masks),
        CLI_TEST(test_output_aliases_input),
        CLI_TEST(test_write_failure_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
