/*
 * test_cli.c: the `sus` command line, run as a separate process ($SUS_BIN)
 * with fork and execv, so exit codes, stderr and the file system are seen
 * exactly as a user sees them. Under Valgrind (SUS_VALGRIND) the CLI itself
 * runs under that command too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

#if defined(__GNUC__)
#define T_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define T_PRINTF(f, a)
#endif

#define MAX_ALLOCS 512

typedef struct fixture {
    char *dir;         /* a fresh mkdtemp directory per test */
    char *outp, *errp; /* where a run's stdout and stderr are captured */
    char *allocs[MAX_ALLOCS];
    int nallocs;
    int serial;
} fixture;

/* A path inside the fixture directory, freed at teardown. */
static char *fx_path(fixture *fx, const char *fmt, ...) T_PRINTF(2, 3);

static char *fx_keep(fixture *fx, char *p)
{
    assert_non_null(p);
    assert_true(fx->nallocs < MAX_ALLOCS);
    fx->allocs[fx->nallocs++] = p;
    return p;
}

static char *fx_path(fixture *fx, const char *fmt, ...)
{
    char rel[512], full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "%s/%s", fx->dir, rel);
    return fx_keep(fx, strdup(full));
}

/* A fresh name for an output directory that does not exist yet. */
static char *fx_outdir(fixture *fx)
{
    return fx_path(fx, "out%d", fx->serial++);
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[2048];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    const char *tmp = getenv("TMPDIR");
    char templ[1024];
    snprintf(templ, sizeof templ, "%s/sus_test_cli.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(templ)) {
        free(fx);
        return -1;
    }
    fx->dir = strdup(templ);
    *state = fx;
    if (!fx->dir)
        return -1;
    fx->outp = fx_path(fx, "stdout.txt");
    fx->errp = fx_path(fx, "stderr.txt");
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    remove_tree(fx->dir);
    free(fx->dir);
    for (int i = 0; i < fx->nallocs; i++)
        free(fx->allocs[i]);
    free(fx);
    return 0;
}

/* ---- Running the CLI ---------------------------------------------------- */

typedef struct run_result {
    int code; /* exit status; 128 + signal if killed */
    char *out, *err;
} run_result;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static const char *sus_bin(void)
{
    const char *b = getenv("SUS_BIN");
    return b && *b ? b : "build/sus";
}

/* Runs sus with args (NULL-terminated). fsize_limit > 0 caps the size of
 * any file the CLI writes (RLIMIT_FSIZE), to provoke a write failure. */
static run_result run_argv(fixture *fx, rlim_t fsize_limit, const char *const *args)
{
    char *argv[128];
    int argc = 0;
    char *vg = NULL;
    const char *vgenv = getenv("SUS_VALGRIND");
    if (vgenv && *vgenv) {
        vg = strdup(vgenv);
        assert_non_null(vg);
        for (char *tok = strtok(vg, " \t"); tok && argc < 64; tok = strtok(NULL, " \t"))
            argv[argc++] = tok;
    }
    argv[argc++] = (char *)sus_bin();
    for (int i = 0; args[i]; i++) {
        assert_true(argc < 127);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    const char *outp = fx->outp, *errp = fx->errp;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        close(fo);
        close(fe);
        if (fsize_limit > 0) {
            /* Ignored signals stay ignored across exec: writes past the
             * limit then fail with EFBIG instead of killing the process. */
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {fsize_limit, fsize_limit};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        if (vg)
            execvp(argv[0], argv);
        else
            execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    free(vg);
    run_result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(outp);
    r.err = slurp(errp);
    return r;
}

#define RUN(fx, ...) run_argv((fx), 0, (const char *const[]){__VA_ARGS__, NULL})

/* -1 if dir does not exist, else its number of entries. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static char *join(fixture *fx, const char *dir, const char *name)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return fx_keep(fx, strdup(buf));
}

/* Python's notation, as the CLI's messages use it. */
static void shape_text(const int64_t *s, int nd, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < nd; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %lld" : "%lld",
                                 (long long)s[i]);
    snprintf(buf + used, len - used, nd == 1 ? ",)" : ")");
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Every refusal: exit 2 and one line "sus grad: ..." on stderr, followed by
 * "Try 'sus grad --help'." exactly when it is a usage error. */
static void assert_refused(const run_result *r, int usage, const char *what)
{
    if (r->code != 2)
        print_error("%s: exit %d, stderr: %s\n", what, r->code, r->err);
    assert_int_equal(r->code, 2);
    assert_string_equal(r->out, "");
    const char *nl = strchr(r->err, '\n');
    if (!nl || strncmp(r->err, "sus grad: ", 10) != 0 || nl - r->err <= 10)
        print_error("%s: bad stderr: [%s]\n", what, r->err);
    assert_non_null(nl);
    assert_true(strncmp(r->err, "sus grad: ", 10) == 0);
    assert_true(nl - r->err > 10);
    const char *rest = nl + 1;
    if (usage != (strcmp(rest, "Try 'sus grad --help'.\n") == 0) || (!usage && *rest))
        print_error("%s: stderr should be %s: [%s]\n", what,
                    usage ? "one line and the Try line" : "exactly one line", r->err);
    if (usage)
        assert_string_equal(rest, "Try 'sus grad --help'.\n");
    else
        assert_string_equal(rest, "");
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        print_error("expected [%s] in [%s]\n", needle, text);
    assert_non_null(strstr(text, needle));
}

/* ---- Inputs ------------------------------------------------------------- */

static void write_array(const char *path, sus_dtype dt, int ndim, const int64_t *shape,
                        uint64_t seed)
{
    sus_array a;
    sus_error err;
    assert_int_equal(sus_array_alloc(&a, dt, ndim, shape, &err), SUS_OK);
    sus_t_rng r = {seed};
    for (size_t t = 0; t < a.count; t++) {
        double x = sus_t_normal(&r);
        if (dt == SUS_DTYPE_F4)
            ((float *)a.data)[t] = (float)x;
        else if (dt == SUS_DTYPE_F8)
            ((double *)a.data)[t] = x;
        else if (dt == SUS_DTYPE_I4)
            ((int32_t *)a.data)[t] = (int32_t)(10 * x);
        else
            ((int64_t *)a.data)[t] = (int64_t)(10 * x);
    }
    int rc = sus_npy_write(path, &a, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    sus_array_free(&a);
}

/* The four input files of one problem, in their own directory. */
typedef struct inputs {
    char *dir, *q, *k, *v, *dout;
} inputs;

static inputs make_dir_inputs(fixture *fx, const char *name)
{
    inputs in;
    in.dir = fx_path(fx, "%s", name);
    assert_int_equal(mkdir(in.dir, 0777), 0);
    in.q = fx_path(fx, "%s/Q.npy", name);
    in.k = fx_path(fx, "%s/K.npy", name);
    in.v = fx_path(fx, "%s/V.npy", name);
    in.dout = fx_path(fx, "%s/dO.npy", name);
    return in;
}

/* Writes inputs with arbitrary (possibly inconsistent) shapes. */
static inputs make_shaped(fixture *fx, const char *name, sus_dtype dt, const int nd[4],
                          const int64_t shapes[4][4])
{
    inputs in = make_dir_inputs(fx, name);
    const char *paths[4] = {in.q, in.k, in.v, in.dout};
    for (int i = 0; i < 4; i++)
        write_array(paths[i], dt, nd[i], shapes[i], 1000 + (uint64_t)i);
    return in;
}

/* Writes the consistent problem sh in rank 2 (needs B = H = 1) or 4. */
static inputs make_problem(fixture *fx, const char *name, sus_dtype dt, int rank,
                           sus_shape sh)
{
    const int64_t s4[4][4] = {{sh.B, sh.H, sh.n, sh.d},
                              {sh.B, sh.H, sh.m, sh.d},
                              {sh.B, sh.H, sh.m, sh.dv},
                              {sh.B, sh.H, sh.n, sh.dv}};
    const int64_t s2[4][4] = {{sh.n, sh.d}, {sh.m, sh.d}, {sh.m, sh.dv}, {sh.n, sh.dv}};
    const int nd[4] = {rank, rank, rank, rank};
    return make_shaped(fx, name, dt, nd, rank == 4 ? s4 : s2);
}

static double *read_f64(const char *path, int ndim, const int64_t *shape, size_t *count)
{
    sus_array a;
    sus_error err;
    int rc = sus_npy_read(path, 0, &a, &err);
    if (rc)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, SUS_OK);
    assert_int_equal(a.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(a.shape[i], shape[i]);
    double *x;
    assert_int_equal(sus_array_to_f64(&a, path, &x, &err), SUS_OK);
    if (count)
        *count = a.count;
    sus_array_free(&a);
    return x;
}

/* The problem as the CLI sees it: inputs read back and converted. */
typedef struct loaded {
    sus_attn a;
    sus_sizes z;
    double *buf[4];
} loaded;

static loaded load_problem(const inputs *in, int rank, sus_shape sh, double scale,
                           int causal)
{
    loaded L;
    memset(&L, 0, sizeof L);
    const int64_t s4[4][4] = {{sh.B, sh.H, sh.n, sh.d},
                              {sh.B, sh.H, sh.m, sh.d},
                              {sh.B, sh.H, sh.m, sh.dv},
                              {sh.B, sh.H, sh.n, sh.dv}};
    const char *paths[4] = {in->q, in->k, in->v, in->dout};
    for (int i = 0; i < 4; i++)
        L.buf[i] = read_f64(paths[i], rank, s4[i] + (rank == 4 ? 0 : 2), NULL);
    assert_int_equal(sus_shape_sizes(&sh, &L.z, NULL), SUS_OK);
    sus_attn a = {sh, scale, causal, L.buf[0], L.buf[1], L.buf[2], L.buf[3]};
    L.a = a;
    return L;
}

static void loaded_free(loaded *L)
{
    for (int i = 0; i < 4; i++)
        free(L->buf[i]);
}

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

static void alloc_grads(sus_grads *g, const sus_sizes *z)
{
    g->o = calloc(z->o, sizeof(double));
    g->lse = calloc(z->rows, sizeof(double));
    g->dq = calloc(z->q, sizeof(double));
    g->dk = calloc(z->k, sizeof(double));
    g->dv = calloc(z->v, sizeof(double));
    assert_true(g->o && g->lse && g->dq && g->dk && g->dv);
}

static void free_grads(sus_grads *g)
{
    free(g->o);
    free(g->lse);
    free(g->dq);
    free(g->dk);
    free(g->dv);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grad_double_bitwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grad_mpfr_within_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonfinite_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_out_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_aliases_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_rolls_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
