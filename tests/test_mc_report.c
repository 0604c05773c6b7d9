/*
 * test_mc_report.c: `sus report --port`, `sus report --out`, `sus workload`
 * and the refusals of `sus mc` and `sus report`, from the command line.
 *
 * A port directory (DESIGN.md 4) is written here from our own estimator
 * (sus_ref_mask + sus_ref_estimate, seeds 1..N), as stacked samples and as
 * Welford moments (computed here in two passes, independently of the
 * engine), and must PASS; the same with every kept W~ 10% too large (50%
 * in a quick run, which has fewer samples) must FAIL. The PASS runs use --alpha 5e-8:
 * with tests/test_mc_engine.c and tests/mc/shards.sh the suite makes at most 20 such
 * evaluations, so its family-wise false-alarm rate is at most 1e-6.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_cli.h"

#define ALPHA "5e-8"
static const sus_shape SH = {1, 2, 12, 10, 4, 3};
#define C_TEXT "3"

static int64_t nsamples(void)
{
    return sus_t_quick() ? 100 : 600;
}

/* The biased port's factor on every kept W~: 10%, or 50% with the fewer
 * samples of a quick run (Valgrind). */
static double bias(void)
{
    return sus_t_quick() ? 1.5 : 1.1;
}

/* N samples (stacked: N x E in dQ, dK, dV order) of the problem in dir. */
static double *draw(const inputs *in, int64_t N, double bias, sus_sizes *z)
{
    loaded L = load_problem(in, 4, SH, sus_default_scale(SH.d), 0);
    *z = L.z;
    size_t E = z->q + z->k + z->v;
    double *y = malloc((size_t)N * E * sizeof(double));
    sus_grads g;
    alloc_grads(&g, z);
    for (int64_t s = 0; s < N; s++) {
        sus_mask mk;
        assert_int_equal(
            sus_ref_mask(&L.a, &sus_rule_minc, 3.0, (uint64_t)s + 1, &mk, NULL),
            SUS_OK);
        for (int64_t e = 0; e < mk.nnz; e++)
            mk.wtilde[e] *= bias;
        assert_int_equal(sus_ref_estimate(&L.a, &mk, &g, NULL), SUS_OK);
        double *row = y + (size_t)s * E;
        memcpy(row, g.dq, z->q * sizeof(double));
        memcpy(row + z->q, g.dk, z->k * sizeof(double));
        memcpy(row + z->q + z->k, g.dv, z->v * sizeof(double));
        sus_mask_free(&mk);
    }
    free_grads(&g);
    loaded_free(&L);
    return y;
}

static void write_part(const char *path, sus_dtype dt, int lead, int64_t N, int p,
                       const double *src)
{
    int64_t shp[3][4] = {
        {SH.B, SH.H, SH.n, SH.d}, {SH.B, SH.H, SH.m, SH.d}, {SH.B, SH.H, SH.m, SH.dv}};
    sus_array a;
    int64_t shape[5];
    int nd = 0;
    if (lead)
        shape[nd++] = N;
    for (int t = 0; t < 4; t++)
        shape[nd++] = shp[p][t];
    assert_int_equal(sus_array_alloc(&a, dt, nd, shape, NULL), SUS_OK);
    for (size_t t = 0; t < a.count; t++) {
        if (dt == SUS_DTYPE_F4)
            ((float *)a.data)[t] = (float)src[t];
        else
            ((double *)a.data)[t] = src[t];
    }
    assert_int_equal(sus_npy_write(path, &a, NULL), SUS_OK);
    sus_array_free(&a);
}

/* Writes samples y (N x E) into dir as stacked samples in dt, or as Welford
 * moments (mean, m2 = sum of squared deviations, count). */
static void write_port(fixture *fx, const char *dir, const double *y, int64_t N,
                       const sus_sizes *z, sus_dtype dt, int welford)
{
    static const char *parts[3] = {"dQ", "dK", "dV"};
    size_t cnt[3] = {z->q, z->k, z->v}, off = 0, E = z->q + z->k + z->v;
    for (int p = 0; p < 3; p++) {
        double *buf = malloc((size_t)N * cnt[p] * sizeof(double));
        double *mean = calloc(cnt[p], sizeof(double)),
               *m2 = calloc(cnt[p], sizeof(double));
        for (int64_t s = 0; s < N; s++)
            for (size_t e = 0; e < cnt[p]; e++) {
                buf[(size_t)s * cnt[p] + e] = y[(size_t)s * E + off + e];
                mean[e] += y[(size_t)s * E + off + e] / (double)N;
            }
        for (int64_t s = 0; s < N; s++)
            for (size_t e = 0; e < cnt[p]; e++) {
                double dlt = buf[(size_t)s * cnt[p] + e] - mean[e];
                m2[e] += dlt * dlt;
            }
        if (welford) {
            write_part(join(fx, dir,
                            fx_keep(fx, strdup(p == 0   ? "dQ.mean.npy"
                                               : p == 1 ? "dK.mean.npy"
                                                        : "dV.mean.npy"))),
                       dt, 0, N, p, mean);
            write_part(join(fx, dir,
                            fx_keep(fx, strdup(p == 0   ? "dQ.m2.npy"
                                               : p == 1 ? "dK.m2.npy"
                                                        : "dV.m2.npy"))),
                       dt, 0, N, p, m2);
        } else {
            char name[16];
            snprintf(name, sizeof name, "%s.npy", parts[p]);
            write_part(join(fx, dir, name), dt, 1, N, p, buf);
        }
        off += cnt[p];
        free(buf);
        free(mean);
        free(m2);
    }
    if (welford) {
        sus_array a;
        int64_t one = 1;
        assert_int_equal(sus_array_alloc(&a, SUS_DTYPE_I8, 1, &one, NULL), SUS_OK);
        ((int64_t *)a.data)[0] = N;
        assert_int_equal(sus_npy_write(join(fx, dir, "count.npy"), &a, NULL), SUS_OK);
        sus_array_free(&a);
    }
}

/* One port directory per case: the problem's inputs plus its samples. */
static const char *port_case(fixture *fx, const char *name, double bias, sus_dtype dt,
                             int welford)
{
    inputs in = make_problem(fx, name, SUS_DTYPE_F8, 4, SH);
    sus_sizes z;
    int64_t N = nsamples();
    double *y = draw(&in, N, bias, &z);
    write_port(fx, in.dir, y, N, &z, dt, welford);
    free(y);
    return in.dir;
}

static void expect_verdict(fixture *fx, const char *dir, int pass)
{
    run_result r = RUN(fx, "report", "--alpha", ALPHA, "--port", dir, "--c", C_TEXT);
    if (r.code != (pass ? 0 : 1))
        print_error("%s: exit %d\n%s%s", dir, r.code, r.out, r.err);
    assert_int_equal(r.code, pass ? 0 : 1);
    assert_true(strncmp(r.out, pass ? "PASS" : "FAIL", 4) == 0);
    if (!pass) /* for the right reason: a mean test fails */
        assert_contains(r.out, "  FAIL mean of");
    run_free(&r);
}

static void test_port_stacked(void **state)
{
    fixture *fx = *state;
    expect_verdict(fx, port_case(fx, "good", 1.0, SUS_DTYPE_F8, 0), 1);
    expect_verdict(fx, port_case(fx, "good32", 1.0, SUS_DTYPE_F4, 0), 1);
    expect_verdict(fx, port_case(fx, "biased", bias(), SUS_DTYPE_F8, 0), 0);
}

static void test_port_welford(void **state)
{
    fixture *fx = *state;
    expect_verdict(fx, port_case(fx, "wgood", 1.0, SUS_DTYPE_F8, 1), 1);
    expect_verdict(fx, port_case(fx, "wbiased", bias(), SUS_DTYPE_F8, 1), 0);
}

static int png_ok(const char *path)
{
    unsigned char b[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, 8, f) : 0;
    if (f)
        fclose(f);
    return n == 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static void test_report_out(void **state)
{
    fixture *fx = *state;
    const char *dir = port_case(fx, "rep", 1.0, SUS_DTYPE_F8, 0);
    char *out = fx_outdir(fx);
    run_result r =
        RUN(fx, "report", "--alpha", ALPHA, "--port", dir, "--c", C_TEXT, "--out", out);
    assert_int_equal(r.code, 0);
    run_free(&r);
    FILE *f = fopen(join(fx, out, "report.md"), "r");
    assert_non_null(f);
    char line[256] = "", second[512] = "";
    assert_non_null(fgets(line, sizeof line, f));
    while (second[0] == '\0' || second[0] == '\n')
        assert_non_null(fgets(second, sizeof second, f));
    fclose(f);
    assert_contains(line, "# sus report");
    assert_contains(second, "Verdict: PASS");
    assert_true(exists(join(fx, out, "report.html")));
    assert_true(png_ok(join(fx, out, "qq.png")));
    assert_true(png_ok(join(fx, out, "variance.png")));
    assert_true(exists(join(fx, out, "qq.svg")));
}

static void test_refusals(void **state)
{
    fixture *fx = *state;
    const char *dir = port_case(fx, "ref", 1.0, SUS_DTYPE_F8, 0);
    run_result r = RUN(fx, "report", "--port", dir);
    assert_refused_by(&r, "report", 1, "--port without --c");
    run_free(&r);
    inputs bare = make_problem(fx, "bare", SUS_DTYPE_F8, 4, SH);
    r = RUN(fx, "report", "--port", bare.dir, "--c", "3");
    assert_refused_by(&r, "report", 0, "no samples");
    assert_contains(r.err, "neither dQ.npy");
    run_free(&r);
    /* Samples of the wrong shape: dQ.npy replaced by unstacked outputs. */
    write_array(join(fx, dir, "dQ.npy"), SUS_DTYPE_F8, 4,
                (const int64_t[]){SH.B, SH.H, SH.n, SH.d}, 7);
    r = RUN(fx, "report", "--port", dir, "--c", "3");
    assert_refused_by(&r, "report", 0, "unstacked dQ");
    assert_contains(r.err, "dQ.npy: shape");
    run_free(&r);
    r = RUN(fx, "report", "--merge", join(fx, dir, "K.npy"));
    assert_refused_by(&r, "report", 0, "not a shard");
    assert_contains(r.err, "not a sus mc shard");
    run_free(&r);
    r = RUN(fx, "mc", "--workload", "nope");
    assert_refused_by(&r, "mc", 1, "unknown workload");
    run_free(&r);
    r = RUN(fx, "mc", "--workload", "peaked", "--power");
    assert_refused_by(&r, "mc", 1, "--power in the release build");
    assert_contains(r.err, "sus-variants");
    run_free(&r);
    r = RUN(fx, "mc", "--workload", "peaked", "--shard", "4/4", "--out", "x");
    assert_refused_by(&r, "mc", 1, "shard out of range");
    run_free(&r);
    r = RUN(fx, "mc", "--workload", "peaked", "--shard", "0/4", "--out",
            fx_path(fx, "missing/shard.mc"));
    assert_refused_by(&r, "mc", 0, "shard in a missing directory");
    assert_contains(r.err, "does not exist");
    run_free(&r);
}

static void test_workload(void **state)
{
    fixture *fx = *state;
    char *out = fx_outdir(fx);
    run_result r = RUN(fx, "workload", "local", "--out", out);
    assert_int_equal(r.code, 0);
    assert_contains(r.out, "--causal");
    run_free(&r);
    assert_int_equal(count_entries(out), 4);
    /* Deterministic from name and seed: the same files again, another seed
     * differs. */
    size_t n1, n2, n3;
    int64_t shp[4] = {1, 1, 64, 16};
    double *a = read_f64(join(fx, out, "Q.npy"), 4, shp, &n1);
    char *out2 = fx_outdir(fx), *out3 = fx_outdir(fx);
    r = RUN(fx, "workload", "local", "--out", out2);
    run_free(&r);
    r = RUN(fx, "workload", "local", "--seed", "2", "--out", out3);
    run_free(&r);
    double *b = read_f64(join(fx, out2, "Q.npy"), 4, shp, &n2);
    double *c = read_f64(join(fx, out3, "Q.npy"), 4, shp, &n3);
    assert_memory_equal(a, b, n1 * sizeof(double));
    assert_true(memcmp(a, c, n1 * sizeof(double)) != 0);
    free(a);
    free(b);
    free(c);
    r = RUN(fx, "workload", "--list");
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 6);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_port_stacked, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_port_welford, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_report_out, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, cli_setup, cli_teardown),
        cmocka_unit_test_setup_teardown(test_workload, cli_setup, cli_teardown),
    };
    return cmocka_run_group_tests_name("mc_report", tests, NULL, NULL);
}
