/*
 * support_cli.h: running the `sus` command line ($SUS_BIN) from CMocka
 * tests with fork and execv, so that exit codes, stdout, stderr and the
 * file system are seen exactly as a user sees them, and writing and reading
 * the .npy files of its problems. Under Valgrind (SUS_VALGRIND) the CLI
 * itself runs under that command too.
 */
#ifndef SUS_TESTS_SUPPORT_CLI_H
#define SUS_TESTS_SUPPORT_CLI_H

#include <sys/resource.h>

#include "support.h"

#if defined(__GNUC__)
#define T_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define T_PRINTF(f, a)
#endif

#define MAX_ALLOCS 512

/* ---- The fixture: a fresh directory per test ----------------------------- */

typedef struct fixture {
    char *dir;         /* a fresh mkdtemp directory per test */
    char *outp, *errp; /* where a run's stdout and stderr are captured */
    char *allocs[MAX_ALLOCS];
    int nallocs;
    int serial;
} fixture;

/* CMocka setup and teardown: *state becomes a fixture; teardown removes
 * its directory tree. */
int cli_setup(void **state);
int cli_teardown(void **state);

/* Keeps p (non-NULL) to be freed at teardown, and returns it. */
char *fx_keep(fixture *fx, char *p);
/* A path inside the fixture directory, freed at teardown. */
char *fx_path(fixture *fx, const char *fmt, ...) T_PRINTF(2, 3);
/* A fresh name for an output directory that does not exist yet. */
char *fx_outdir(fixture *fx);
/* dir + "/" + name, freed at teardown. */
char *join(fixture *fx, const char *dir, const char *name);

/* ---- Running the CLI ------------------------------------------------------ */

typedef struct run_result {
    int code; /* exit status; 128 + signal if killed */
    char *out, *err;
} run_result;

/* Runs sus with args (NULL-terminated). fsize_limit > 0 caps the size of
 * any file the CLI writes (RLIMIT_FSIZE), to provoke a write failure. */
run_result run_argv(fixture *fx, rlim_t fsize_limit, const char *const *args);
void run_free(run_result *r);
#define RUN(fx, ...) run_argv((fx), 0, (const char *const[]){__VA_ARGS__, NULL})

/* -1 if dir does not exist, else its number of entries. */
int count_entries(const char *dir);
int exists(const char *path);
/* Python's notation for a shape, as the CLI's messages use it. */
void shape_text(const int64_t *s, int nd, char *buf, size_t len);

/* Every refusal of `sus CMD`: exit 2, nothing on stdout, and one line
 * "sus CMD: ..." on stderr, followed by "Try 'sus CMD --help'." exactly when
 * usage is non-zero. */
void assert_refused_by(const run_result *r, const char *cmd, int usage,
                       const char *what);
void assert_contains(const char *text, const char *needle);

/* ---- Inputs and outputs --------------------------------------------------- */

/* Writes an array of standard normal values (for float dtypes; 10 times
 * that, truncated, for integer dtypes) drawn from seed. */
void write_array(const char *path, sus_dtype dt, int ndim, const int64_t *shape,
                 uint64_t seed);

/* The four input files of one problem, in their own directory. */
typedef struct inputs {
    char *dir, *q, *k, *v, *dout;
} inputs;

inputs make_dir_inputs(fixture *fx, const char *name);
/* Writes inputs with arbitrary (possibly inconsistent) shapes. */
inputs make_shaped(fixture *fx, const char *name, sus_dtype dt, const int nd[4],
                   const int64_t shapes[4][4]);
/* Writes the consistent problem sh in rank 2 (needs B = H = 1) or 4. */
inputs make_problem(fixture *fx, const char *name, sus_dtype dt, int rank,
                    sus_shape sh);

/* Reads a .npy file of the given shape and converts it to double. */
double *read_f64(const char *path, int ndim, const int64_t *shape, size_t *count);

/* The problem as the CLI sees it: inputs read back and converted. */
typedef struct loaded {
    sus_attn a;
    sus_sizes z;
    double *buf[4];
} loaded;

loaded load_problem(const inputs *in, int rank, sus_shape sh, double scale, int causal);
void loaded_free(loaded *L);

/* Allocates (zeroed) or frees every member of g for sizes z. */
void alloc_grads(sus_grads *g, const sus_sizes *z);
void free_grads(sus_grads *g);

#endif
