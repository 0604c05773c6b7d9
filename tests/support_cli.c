/* support_cli.c: running the `sus` CLI from tests, and its .npy files (see
 * support_cli.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support_cli.h"

char *fx_keep(fixture *fx, char *p)
{
    assert_non_null(p);
    assert_true(fx->nallocs < MAX_ALLOCS);
    fx->allocs[fx->nallocs++] = p;
    return p;
}

char *fx_path(fixture *fx, const char *fmt, ...)
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
char *fx_outdir(fixture *fx)
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

int cli_setup(void **state)
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

int cli_teardown(void **state)
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

void run_free(run_result *r)
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
run_result run_argv(fixture *fx, rlim_t fsize_limit, const char *const *args)
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

/* -1 if dir does not exist, else its number of entries. */
int count_entries(const char *dir)
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

char *join(fixture *fx, const char *dir, const char *name)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return fx_keep(fx, strdup(buf));
}

/* Python's notation, as the CLI's messages use it. */
void shape_text(const int64_t *s, int nd, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < nd; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %lld" : "%lld",
                                 (long long)s[i]);
    snprintf(buf + used, len - used, nd == 1 ? ",)" : ")");
}

int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Every refusal of `sus CMD`: exit 2 and one line "sus CMD: ..." on
 * stderr, followed by "Try 'sus CMD --help'." exactly when it is a usage
 * error. */
void assert_refused_by(const run_result *r, const char *cmd, int usage,
                       const char *what)
{
    char prefix[64], try_line[96];
    snprintf(prefix, sizeof prefix, "sus %s: ", cmd);
    snprintf(try_line, sizeof try_line, "Try 'sus %s --help'.\n", cmd);
    size_t plen = strlen(prefix);
    if (r->code != 2)
        print_error("%s: exit %d, stderr: %s\n", what, r->code, r->err);
    assert_int_equal(r->code, 2);
    assert_string_equal(r->out, "");
    const char *nl = strchr(r->err, '\n');
    if (!nl || strncmp(r->err, prefix, plen) != 0 || (size_t)(nl - r->err) <= plen)
        print_error("%s: bad stderr: [%s]\n", what, r->err);
    assert_non_null(nl);
    assert_true(strncmp(r->err, prefix, plen) == 0);
    assert_true((size_t)(nl - r->err) > plen);
    const char *rest = nl + 1;
    if (usage != (strcmp(rest, try_line) == 0) || (!usage && *rest))
        print_error("%s: stderr should be %s: [%s]\n", what,
                    usage ? "one line and the Try line" : "exactly one line", r->err);
    if (usage)
        assert_string_equal(rest, try_line);
    else
        assert_string_equal(rest, "");
}

void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        print_error("expected [%s] in [%s]\n", needle, text);
    assert_non_null(strstr(text, needle));
}

/* ---- Inputs ------------------------------------------------------------- */

void write_array(const char *path, sus_dtype dt, int ndim, const int64_t *shape,
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

inputs make_dir_inputs(fixture *fx, const char *name)
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
inputs make_shaped(fixture *fx, const char *name, sus_dtype dt, const int nd[4],
                   const int64_t shapes[4][4])
{
    inputs in = make_dir_inputs(fx, name);
    const char *paths[4] = {in.q, in.k, in.v, in.dout};
    for (int i = 0; i < 4; i++)
        write_array(paths[i], dt, nd[i], shapes[i], 1000 + (uint64_t)i);
    return in;
}

/* Writes the consistent problem sh in rank 2 (needs B = H = 1) or 4. */
inputs make_problem(fixture *fx, const char *name, sus_dtype dt, int rank, sus_shape sh)
{
    const int64_t s4[4][4] = {{sh.B, sh.H, sh.n, sh.d},
                              {sh.B, sh.H, sh.m, sh.d},
                              {sh.B, sh.H, sh.m, sh.dv},
                              {sh.B, sh.H, sh.n, sh.dv}};
    const int64_t s2[4][4] = {{sh.n, sh.d}, {sh.m, sh.d}, {sh.m, sh.dv}, {sh.n, sh.dv}};
    const int nd[4] = {rank, rank, rank, rank};
    return make_shaped(fx, name, dt, nd, rank == 4 ? s4 : s2);
}

double *read_f64(const char *path, int ndim, const int64_t *shape, size_t *count)
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

loaded load_problem(const inputs *in, int rank, sus_shape sh, double scale, int causal)
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

void loaded_free(loaded *L)
{
    for (int i = 0; i < 4; i++)
        free(L->buf[i]);
}

void alloc_grads(sus_grads *g, const sus_sizes *z)
{
    g->o = calloc(z->o, sizeof(double));
    g->lse = calloc(z->rows, sizeof(double));
    g->dq = calloc(z->q, sizeof(double));
    g->dk = calloc(z->k, sizeof(double));
    g->dv = calloc(z->v, sizeof(double));
    assert_true(g->o && g->lse && g->dq && g->dk && g->dv);
}

void free_grads(sus_grads *g)
{
    free(g->o);
    free(g->lse);
    free(g->dq);
    free(g->dk);
    free(g->dv);
}
