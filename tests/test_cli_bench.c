/*
 * test_cli_bench.c: `sus bench` (help, refusals, the shape of its JSON row on
 * a tiny configuration) and the --impl fast paths of `sus sample` and
 * `sus grad`, run as a separate process ($SUS_BIN, support_cli.h):
 *  - `sus sample --impl fast --mask DIR` agrees with `sus sample --impl ref
 *    --mask DIR` within the DESIGN.md 3 bound for the dtype's unit roundoff,
 *    with the reference's magnitudes (--mag); the mask is the reference's, so
 *    that both compute the same estimator (fast's own mask may differ at
 *    borderline entries, which are checked apart);
 *  - `sus grad --impl fast` agrees with `sus grad --prec 0` within the same
 *    bound, with its --mag magnitudes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_cli.h"

/* ---- Helpers ------------------------------------------------------------ */

static void assert_ok(const run_result *r, const char *what)
{
    if (r->code != 0)
        print_error("%s: exit %d, stderr: %s\n", what, r->code, r->err);
    assert_int_equal(r->code, 0);
    assert_string_equal(r->err, "");
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

static double unit_roundoff(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? 0x1p-24 : 0x1p-53;
}

static const char *dtype_arg(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? "f32" : "f64";
}

/* The shape of an output in the inputs' rank convention. */
enum kind { KQ, KK, KV, KO, KROWS };
static int out_shape(enum kind k, int rank, sus_shape sh, int64_t s[4])
{
    int64_t rows = k == KQ || k == KO || k == KROWS ? sh.n : sh.m;
    int64_t cols = k == KV || k == KO ? sh.dv : sh.d;
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

/* Reads DIR/name, a float64 array of that kind. */
static double *read_out(fixture *fx, const char *dir, const char *name, enum kind k,
                        int rank, sus_shape sh, size_t *count)
{
    int64_t s[4];
    int nd = out_shape(k, rank, sh, s);
    sus_array a;
    sus_error err;
    const char *path = join(fx, dir, name);
    int rc = sus_npy_read(path, 0, &a, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    assert_int_equal(a.dtype, SUS_DTYPE_F8);
    double *x = NULL;
    assert_int_equal(a.ndim, nd);
    for (int i = 0; i < nd; i++)
        assert_int_equal(a.shape[i], s[i]);
    assert_int_equal(sus_array_to_f64(&a, path, &x, &err), SUS_OK);
    *count = a.count;
    sus_array_free(&a);
    return x;
}

/* DIR_GOT/name agrees with DIR_WANT/name within tau k u |y|_mag, with the
 * magnitudes in DIR_WANT/name_mag.npy. */
static void assert_files_within_bound(fixture *fx, const char *got_dir,
                                      const char *want_dir, const char *stem,
                                      enum kind k, int rank, sus_shape sh, double u)
{
    char file[64], magfile[64];
    snprintf(file, sizeof file, "%s.npy", stem);
    snprintf(magfile, sizeof magfile, "%s_mag.npy", stem);
    size_t n1, n2, n3;
    double *got = read_out(fx, got_dir, file, k, rank, sh, &n1);
    double *want = read_out(fx, want_dir, file, k, rank, sh, &n2);
    double *mag = read_out(fx, want_dir, magfile, k, rank, sh, &n3);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    assert_array_within_bound(got, want, mag, n1, SUS_TAU, sus_bound_k(&sh), u, stem);
    free(got);
    free(want);
    free(mag);
}

/* Reads the mask files of DIR. */
static sus_mask read_mask(fixture *fx, const char *dir, int64_t rows)
{
    const char *names[3] = {"indptr.npy", "indices.npy", "wtilde.npy"};
    sus_array a[3];
    for (int f = 0; f < 3; f++) {
        sus_error err;
        int rc = sus_npy_read(join(fx, dir, names[f]), 0, &a[f], &err);
        if (rc)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, SUS_OK);
        assert_int_equal(a[f].ndim, 1);
    }
    assert_int_equal(a[0].dtype, SUS_DTYPE_I8);
    assert_int_equal(a[1].dtype, SUS_DTYPE_I8);
    assert_int_equal(a[2].dtype, SUS_DTYPE_F8);
    assert_int_equal(a[0].shape[0], rows + 1);
    sus_mask mk = {rows, a[1].shape[0], a[0].data, a[1].data, a[2].data};
    assert_int_equal(a[2].shape[0], mk.nnz);
    assert_int_equal(mk.indptr[rows], mk.nnz);
    return mk;
}

static void assert_masks_equal(const sus_mask *a, const sus_mask *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->nnz, b->nnz);
    assert_memory_equal(a->indptr, b->indptr, (size_t)(a->rows + 1) * sizeof(int64_t));
    if (a->nnz) {
        assert_memory_equal(a->indices, b->indices, (size_t)a->nnz * sizeof(int64_t));
        assert_memory_equal(a->wtilde, b->wtilde, (size_t)a->nnz * sizeof(double));
    }
}

/* ---- A minimal reader of the one-line JSON object of `sus bench --json` - */

/* The text of key's value (after "key": ), or NULL if the key is absent. */
static const char *json_value(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    /* Each key appears once. */
    assert_null(strstr(p + 1, pat));
    return p + strlen(pat);
}

/* A number value; NAN for null. Fails on anything else. */
static double json_num(const char *json, const char *key)
{
    const char *v = json_value(json, key);
    if (!v)
        print_error("key %s missing in %s\n", key, json);
    assert_non_null(v);
    if (strncmp(v, "null", 4) == 0)
        return NAN;
    char *end;
    double x = strtod(v, &end);
    if (end == v || (*end != ',' && *end != '}'))
        print_error("key %s: not a number in %s\n", key, json);
    assert_true(end != v && (*end == ',' || *end == '}'));
    return x;
}

/* A string or literal (true, false) value, copied into buf. */
static void json_text(const char *json, const char *key, char *buf, size_t len)
{
    const char *v = json_value(json, key);
    if (!v)
        print_error("key %s missing in %s\n", key, json);
    assert_non_null(v);
    size_t n;
    if (*v == '"') {
        v++;
        n = strcspn(v, "\"");
        assert_int_equal(v[n], '"');
    } else {
        n = strcspn(v, ",}");
    }
    assert_true(n < len);
    memcpy(buf, v, n);
    buf[n] = '\0';
}

/* One line, one object: "{...}\n", with balanced braces and quotes. */
static void assert_one_json_line(const char *out)
{
    size_t len = strlen(out);
    assert_true(len > 2);
    assert_int_equal(out[0], '{');
    assert_int_equal(out[len - 1], '\n');
    assert_int_equal(out[len - 2], '}');
    assert_true(strchr(out, '\n') == out + len - 1);
    int depth = 0, quote = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (out[i] == '"')
            quote = !quote;
        else if (!quote && out[i] == '{')
            depth++;
        else if (!quote && out[i] == '}')
            depth--;
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
    assert_int_equal(quote, 0);
}

/* ---- sus bench ---------------------------------------------------------- */

static void test_bench_help(void **state)
{
    fixture *fx = *state;
    run_result r = RUN(fx, "--help");
    assert_int_equal(r.code, 0);
    assert_contains(r.out, "\n  bench ");
    run_free(&r);
    r = RUN(fx, "bench", "--help");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.err, "");
    assert_true(strncmp(r.out, "Usage: sus bench ", 17) == 0);
    const char *const needles[] = {"--n N",   "--d D",       "--c C",        "--causal",
                                   "--dtype", "--threads",   "--no-dense",   "--reps",
                                   "--json",  "fwd_first_s", "flops_counted"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        assert_contains(r.out, needles[i]);
    run_result h = RUN(fx, "help", "bench");
    assert_int_equal(h.code, 0);
    assert_string_equal(h.out, r.out);
    run_free(&h);
    /* --help wins over bad options anywhere on the line. */
    h = RUN(fx, "bench", "--n", "-1", "--bogus", "-h");
    assert_int_equal(h.code, 0);
    assert_string_equal(h.out, r.out);
    run_free(&h);
    run_free(&r);
}

static void test_bench_usage_errors(void **state)
{
    fixture *fx = *state;
    /* Appended to "bench"; the text the message must contain. */
    struct {
        const char *a[10];
        const char *names;
    } bad[] = {
        {{NULL}, "--n"},
        {{"--d", "4", "--c", "2"}, "--n"},
        {{"--n", "8", "--c", "2"}, "--d"},
        {{"--n", "8", "--d", "4"}, "--c"},
        {{"--n", "0", "--d", "4", "--c", "2"}, "--n"},
        {{"--n", "-5", "--d", "4", "--c", "2"}, "--n"},
        {{"--n", "abc", "--d", "4", "--c", "2"}, "--n"},
        {{"--n", "8", "--d", "4", "--c", "2", "--n", "8"}, "--n"},
        {{"--n", "8", "--d", "65537", "--c", "2"}, "--d"},
        {{"--n", "8", "--d", "4", "--dv", "0", "--c", "2"}, "--dv"},
        {{"--n", "8", "--m", "0", "--d", "4", "--c", "2"}, "--m"},
        {{"--n", "8", "--d", "4", "--c", "0"}, "--c"},
        {{"--n", "8", "--d", "4", "--c", "-1"}, "--c"},
        {{"--n", "8", "--d", "4", "--c", "nan"}, "--c"},
        {{"--n", "8", "--d", "4", "--c", "2", "--dtype", "f16"}, "--dtype"},
        {{"--n", "8", "--d", "4", "--c", "2", "--threads", "-1"}, "--threads"},
        {{"--n", "8", "--d", "4", "--c", "2", "--threads", "1025"}, "--threads"},
        {{"--n", "8", "--d", "4", "--c", "2", "--reps", "0"}, "--reps"},
        {{"--n", "8", "--d", "4", "--c", "2", "--simd", "sse"}, "--simd"},
        {{"--n", "8", "--d", "4", "--c", "2", "--seed", "-1"}, "--seed"},
        {{"--n", "8", "--d", "4", "--c", "2", "--dense", "--no-dense"}, "--dense"},
        {{"--n", "8", "--d", "4", "--c", "2", "--bogus"}, "--bogus"},
        {{"--n", "8", "--d", "4", "--c", "2", "--json=1"}, "--json"},
        {{"--n", "8", "--d", "4", "--c", "2", "--reps"}, "--reps"},
        {{"--n", "8", "--d", "4", "--c", "2", "operand"}, "operand"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[16] = {"bench", NULL};
        int na = 1;
        for (int t = 0; t < 10 && bad[i].a[t]; t++)
            na = push(args, na, bad[i].a[t], NULL);
        run_result r = run_argv(fx, 0, args);
        char what[64];
        snprintf(what, sizeof what, "bench usage case %zu", i);
        assert_refused_by(&r, "bench", 1, what);
        assert_contains(r.err, bad[i].names);
        run_free(&r);
    }
    /* fast/ refuses tile sizes out of its range: bad input, one line. */
    run_result r =
        RUN(fx, "bench", "--n", "8", "--d", "4", "--c", "2", "--block-q", "100000");
    assert_refused_by(&r, "bench", 0, "bench --block-q 100000");
    run_free(&r);
}

/* The pairs (i, j) that attention computes. */
static double pairs_of(int64_t n, int64_t m, int causal)
{
    double p = 0;
    for (int64_t i = 0; i < n; i++)
        p += causal ? (double)(i + 1 < m ? i + 1 : m) : (double)m;
    return p;
}

static void test_bench_json(void **state)
{
    fixture *fx = *state;
    /* Non-causal, f32, dense backward, 2 threads. */
    run_result r = RUN(fx, "bench", "--n", "48", "--d", "8", "--c", "4", "--reps", "2",
                       "--threads", "2", "--json");
    assert_ok(&r, "bench --json");
    assert_one_json_line(r.out);
    const char *j = r.out;
    const char *const positive[] = {"fwd_first_s", "fwd_s", "sus_bwd_s", "dense_bwd_s",
                                    "fwd_gflops",  "flops", "setup_s"};
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++) {
        double x = json_num(j, positive[i]);
        if (!(x >= 0 && isfinite(x)))
            print_error("%s = %g in %s\n", positive[i], x, j);
        assert_true(x >= 0 && isfinite(x));
    }
    assert_true(json_num(j, "n") == 48 && json_num(j, "m") == 48);
    assert_true(json_num(j, "d") == 8 && json_num(j, "dv") == 8);
    assert_true(json_num(j, "c") == 4 && json_num(j, "threads") == 2);
    assert_true(json_num(j, "reps") == 2);
    double nnz = json_num(j, "nnz"), npr = json_num(j, "nnz_per_row");
    assert_true(nnz >= 0 && nnz <= 48 * 48 && fabs(npr - nnz / 48) <= 1e-8 * npr);
    double flops = 4.0 * 48 * 48 * 8;
    assert_true(json_num(j, "flops") == flops);
    double gf = json_num(j, "fwd_gflops"), fwd = json_num(j, "fwd_s");
    assert_true(fabs(gf - flops / fwd / 1e9) <= 1e-6 * gf);
    double ratio = json_num(j, "dense_bwd_over_sus_bwd");
    assert_true(fabs(ratio - json_num(j, "dense_bwd_s") / json_num(j, "sus_bwd_s")) <=
                1e-6 * ratio);
    char buf[128];
    json_text(j, "dtype", buf, sizeof buf);
    assert_string_equal(buf, "f32");
    json_text(j, "causal", buf, sizeof buf);
    assert_string_equal(buf, "false");
    json_text(j, "simd", buf, sizeof buf);
    assert_true(strcmp(buf, "avx512") == 0 || strcmp(buf, "avx2") == 0 ||
                strcmp(buf, "portable") == 0);
    json_text(j, "flops_counted", buf, sizeof buf);
    assert_contains(buf, "4*n*m*d");
    run_free(&r);

    /* Causal, f64, n != m, dv != d, c = inf (every allowed pair kept), no
     * dense backward. */
    r = RUN(fx, "bench", "--n", "40", "--m", "33", "--d", "6", "--dv", "5", "--c",
            "inf", "--causal", "--dtype", "f64", "--no-dense", "--reps", "1", "--json");
    assert_ok(&r, "bench --causal --no-dense --json");
    assert_one_json_line(r.out);
    j = r.out;
    assert_true(isnan(json_num(j, "dense_bwd_s")));
    assert_true(isnan(json_num(j, "dense_bwd_first_s")));
    assert_true(isnan(json_num(j, "dense_bwd_over_sus_bwd")));
    double pairs = pairs_of(40, 33, 1);
    assert_true(json_num(j, "pairs") == pairs);
    assert_true(json_num(j, "nnz") == pairs);
    assert_true(json_num(j, "flops") == 2 * pairs * (6 + 5));
    json_text(j, "c", buf, sizeof buf);
    assert_string_equal(buf, "inf");
    json_text(j, "causal", buf, sizeof buf);
    assert_string_equal(buf, "true");
    json_text(j, "dtype", buf, sizeof buf);
    assert_string_equal(buf, "f64");
    json_text(j, "flops_counted", buf, sizeof buf);
    assert_contains(buf, "j <= i");
    run_free(&r);

    /* Without --json: one line of text. */
    r = RUN(fx, "bench", "--n", "16", "--d", "4", "--c", "2", "--reps", "1",
            "--threads", "1");
    assert_ok(&r, "bench");
    assert_true(
        strncmp(r.out, "n=16 m=16 d=4 dv=4 c=2 non-causal f32 threads=1 ", 48) == 0);
    assert_true(strchr(r.out, '\n') == r.out + strlen(r.out) - 1);
    assert_contains(r.out, "GFLOP/s");
    run_free(&r);
}

/* ---- --impl fast -------------------------------------------------------- */

typedef struct fast_case {
    int rank;
    sus_shape sh;
    int causal;
    const char *c;
    const char *seed;
} fast_case;

static const fast_case fast_cases[] = {
    {2, {1, 1, 9, 11, 5, 3}, 0, "3", "7"},
    {4, {2, 2, 7, 7, 4, 4}, 1, "2", "0xDEADBEEF12345678"},
    {2, {1, 1, 13, 10, 6, 6}, 1, "inf", "1"},
    {4, {1, 3, 6, 9, 3, 5}, 0, "0.5", "18446744073709551615"},
};
#define NFAST (sizeof fast_cases / sizeof fast_cases[0])

/* Under Valgrind (SUS_TEST_QUICK), where every CLI run is slow, the first
 * case is skipped: the others cover both ranks, causality and c = inf. */
static size_t first_case(void)
{
    return sus_t_quick() ? 1 : 0;
}

/* The input options of a case, after cmd. */
static int case_args(const fast_case *k, const inputs *in, const char *cmd,
                     const char *out, const char **args)
{
    int na = push(args, 0, cmd, NULL);
    na = push(args, na, "--q", in->q);
    na = push(args, na, "--k", in->k);
    na = push(args, na, "--v", in->v);
    na = push(args, na, "--do", in->dout);
    na = push(args, na, "--out", out);
    if (k->causal)
        na = push(args, na, "--causal", NULL);
    return na;
}

static void run_ok(fixture *fx, const char **args, const char *what)
{
    run_result r = run_argv(fx, 0, args);
    assert_ok(&r, what);
    run_free(&r);
}

/* Entries of a and b that differ (present in one only), each of which must
 * be borderline: u_ij within tol of q_ij, with q from the reference. Kept
 * entries present in both must have W~ within tol relative. Returns the
 * number of borderline entries. */
static int64_t compare_masks(const sus_mask *a, const sus_mask *b, const fast_case *k,
                             const loaded *L, double c, uint64_t seed, double tol)
{
    const sus_shape *sh = &k->sh;
    size_t pairs = L->z.scores;
    double *q = malloc(pairs * sizeof *q), *wt = malloc(pairs * sizeof *wt);
    assert_non_null(q);
    assert_non_null(wt);
    assert_int_equal(sus_ref_probs(&L->a, &sus_rule_minc, c, q, wt, NULL), SUS_OK);
    int64_t borderline = 0;
    for (int64_t r = 0; r < a->rows; r++) {
        int64_t b_ = r / (sh->H * sh->n), h = (r / sh->n) % sh->H, i = r % sh->n;
        int64_t pa = a->indptr[r], pb = b->indptr[r];
        while (pa < a->indptr[r + 1] || pb < b->indptr[r + 1]) {
            int64_t ja = pa < a->indptr[r + 1] ? a->indices[pa] : INT64_MAX;
            int64_t jb = pb < b->indptr[r + 1] ? b->indices[pb] : INT64_MAX;
            if (ja == jb) {
                assert_true(fabs(a->wtilde[pa] - b->wtilde[pb]) <=
                            tol * fabs(b->wtilde[pb]));
                pa++;
                pb++;
                continue;
            }
            int64_t j = ja < jb ? ja : jb;
            double u, qq = q[(size_t)r * (size_t)sh->m + (size_t)j];
            assert_int_equal(sus_canonical_uniform(seed, b_, h, i, j, &u), SUS_OK);
            if (!(fabs(u - qq) <= tol * qq))
                print_error("row %lld key %lld: in one mask only, u = %.17g, q = "
                            "%.17g: not borderline\n",
                            (long long)r, (long long)j, u, qq);
            assert_true(fabs(u - qq) <= tol * qq);
            borderline++;
            if (ja < jb)
                pa++;
            else
                pb++;
        }
    }
    free(q);
    free(wt);
    return borderline;
}

/* `sus sample --impl fast` against `sus sample --impl ref`, under the
 * reference's mask, and fast's own mask against the reference's. */
static void test_sample_fast(void **state)
{
    fixture *fx = *state;
    for (size_t c = first_case(); c < NFAST; c++) {
        const fast_case *k = &fast_cases[c];
        for (int dti = 0; dti < 2; dti++) {
            sus_dtype dt = dti ? SUS_DTYPE_F4 : SUS_DTYPE_F8;
            double u = unit_roundoff(dt);
            char name[32];
            snprintf(name, sizeof name, "in_s%zu_%d", c, dti);
            /* The files are in the computing dtype, so the conversion is
             * exact and both implementations see the same problem. */
            inputs in = make_problem(fx, name, dt, k->rank, k->sh);
            const char *args[40];
            char *maskdir = fx_outdir(fx);
            int na = push(args, 0, "mask", NULL);
            na = push(args, na, "--q", in.q);
            na = push(args, na, "--k", in.k);
            na = push(args, na, "--c", k->c);
            na = push(args, na, "--seed", k->seed);
            na = push(args, na, "--out", maskdir);
            if (k->causal)
                push(args, na, "--causal", NULL);
            run_ok(fx, args, "mask");

            char *ref = fx_outdir(fx), *fast = fx_outdir(fx);
            na = case_args(k, &in, "sample", ref, args);
            na = push(args, na, "--mask", maskdir);
            push(args, na, "--mag", NULL);
            run_ok(fx, args, "sample --impl ref --mag");
            na = case_args(k, &in, "sample", fast, args);
            na = push(args, na, "--mask", maskdir);
            na = push(args, na, "--impl", "fast");
            push(args, na, "--dtype", dtype_arg(dt));
            run_ok(fx, args, "sample --impl fast --mask");

            const char *stems[3] = {"dQ", "dK", "dV"};
            for (int t = 0; t < 3; t++)
                assert_files_within_bound(fx, fast, ref, stems[t], (enum kind)t,
                                          k->rank, k->sh, u);
            int64_t rows = k->sh.B * k->sh.H * k->sh.n;
            sus_mask m_ref = read_mask(fx, maskdir, rows);
            sus_mask m_used = read_mask(fx, fast, rows);
            assert_masks_equal(&m_used, &m_ref);

            /* fast's own mask: the canonical one but for borderline entries;
             * then the reference under that very mask agrees with fast. */
            char *own = fx_outdir(fx), *ref_own = fx_outdir(fx);
            na = case_args(k, &in, "sample", own, args);
            na = push(args, na, "--c", k->c);
            na = push(args, na, "--seed", k->seed);
            na = push(args, na, "--impl", "fast");
            push(args, na, "--dtype", dtype_arg(dt));
            run_ok(fx, args, "sample --impl fast --c --seed");
            sus_mask m_own = read_mask(fx, own, rows);
            loaded L = load_problem(&in, k->rank, k->sh, sus_default_scale(k->sh.d),
                                    k->causal);
            double cv = strcmp(k->c, "inf") == 0 ? INFINITY : strtod(k->c, NULL);
            double tol = 64 * sus_bound_k(&k->sh) * u;
            int64_t nb = compare_masks(&m_own, &m_ref, k, &L, cv,
                                       strtoull(k->seed, NULL, 0), tol);
            if (dt == SUS_DTYPE_F8)
                assert_int_equal(nb, 0);
            else if (nb)
                print_message("case %zu f32: %lld borderline entries\n", c,
                              (long long)nb);
            na = case_args(k, &in, "sample", ref_own, args);
            na = push(args, na, "--mask", own);
            push(args, na, "--mag", NULL);
            run_ok(fx, args, "sample --impl ref --mask (fast's mask) --mag");
            for (int t = 0; t < 3; t++)
                assert_files_within_bound(fx, own, ref_own, stems[t], (enum kind)t,
                                          k->rank, k->sh, u);
            loaded_free(&L);
            sus_mask *all[3] = {&m_ref, &m_used, &m_own};
            for (int t = 0; t < 3; t++) {
                free(all[t]->indptr);
                free(all[t]->indices);
                free(all[t]->wtilde);
            }
        }
    }
}

/* `sus grad --impl fast` (forward and dense backward) against
 * `sus grad --prec 0 --mag`. */
static void test_grad_fast(void **state)
{
    fixture *fx = *state;
    for (size_t c = first_case(); c < NFAST; c++) {
        const fast_case *k = &fast_cases[c];
        for (int dti = 0; dti < 2; dti++) {
            sus_dtype dt = dti ? SUS_DTYPE_F4 : SUS_DTYPE_F8;
            char name[32];
            snprintf(name, sizeof name, "in_g%zu_%d", c, dti);
            inputs in = make_problem(fx, name, dt, k->rank, k->sh);
            char *ref = fx_outdir(fx), *fast = fx_outdir(fx);
            const char *args[32];
            int na = case_args(k, &in, "grad", ref, args);
            na = push(args, na, "--prec", "0");
            push(args, na, "--mag", NULL);
            run_ok(fx, args, "grad --prec 0 --mag");
            na = case_args(k, &in, "grad", fast, args);
            na = push(args, na, "--impl", "fast");
            push(args, na, "--dtype", dtype_arg(dt));
            run_ok(fx, args, "grad --impl fast");
            const char *stems[5] = {"O", "lse", "dQ", "dK", "dV"};
            const enum kind kinds[5] = {KO, KROWS, KQ, KK, KV};
            for (int t = 0; t < 5; t++)
                assert_files_within_bound(fx, fast, ref, stems[t], kinds[t], k->rank,
                                          k->sh, unit_roundoff(dt));
        }
    }
    /* The default dtype is f64. */
    const fast_case *k = &fast_cases[0];
    inputs in = make_problem(fx, "in_gdef", SUS_DTYPE_F8, k->rank, k->sh);
    char *ref = fx_outdir(fx), *fast = fx_outdir(fx);
    const char *args[32];
    int na = case_args(k, &in, "grad", ref, args);
    na = push(args, na, "--prec", "0");
    push(args, na, "--mag", NULL);
    run_ok(fx, args, "grad --prec 0 --mag");
    na = case_args(k, &in, "grad", fast, args);
    push(args, na, "--impl", "fast");
    run_ok(fx, args, "grad --impl fast (default dtype)");
    assert_files_within_bound(fx, fast, ref, "dQ", KQ, k->rank, k->sh, 0x1p-53);
}

static void test_impl_usage_errors(void **state)
{
    fixture *fx = *state;
    const fast_case *k = &fast_cases[0];
    inputs in = make_problem(fx, "in_u", SUS_DTYPE_F8, k->rank, k->sh);
    struct {
        const char *cmd;
        const char *a[6];
        const char *names;
    } bad[] = {
        {"sample", {"--impl", "bogus"}, "--impl"},
        {"sample", {"--impl", "fast", "--impl", "ref"}, "--impl"},
        {"sample", {"--dtype", "f32"}, "--dtype"},
        {"sample", {"--impl", "fast", "--dtype", "f16"}, "--dtype"},
        {"sample", {"--impl", "fast", "--rule", "waterfill"}, "--rule"},
        {"sample", {"--impl", "fast", "--mag"}, "--mag"},
        {"grad", {"--impl", "bogus"}, "--impl"},
        {"grad", {"--impl", "fast", "--prec", "0"}, "--prec"},
        {"grad", {"--impl", "fast", "--prec", "256"}, "--prec"},
        {"grad", {"--impl", "fast", "--mag"}, "--mag"},
        {"grad", {"--dtype", "f64"}, "--dtype"},
        {"grad", {"--impl", "fast", "--dtype", "f32", "--dtype", "f32"}, "--dtype"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = fx_outdir(fx);
        const char *args[40];
        int na = case_args(k, &in, bad[i].cmd, out, args);
        if (strcmp(bad[i].cmd, "sample") == 0) {
            na = push(args, na, "--c", "2");
            na = push(args, na, "--seed", "1");
        }
        for (int t = 0; t < 6 && bad[i].a[t]; t++)
            na = push(args, na, bad[i].a[t], NULL);
        run_result r = run_argv(fx, 0, args);
        char what[64];
        snprintf(what, sizeof what, "%s usage case %zu", bad[i].cmd, i);
        assert_refused_by(&r, bad[i].cmd, 1, what);
        assert_contains(r.err, bad[i].names);
        run_free(&r);
        assert_int_equal(count_entries(out), -1);
    }
}

#define CLI_TEST(f) cmocka_unit_test_setup_teardown(f, cli_setup, cli_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CLI_TEST(test_bench_help), CLI_TEST(test_bench_usage_errors),
        CLI_TEST(test_bench_json), CLI_TEST(test_sample_fast),
        CLI_TEST(test_grad_fast),  CLI_TEST(test_impl_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
