/*
 * cli.h: the sus command-line tool's command table and shared helpers.
 *
 * A subcommand X is one file tools/cmd_X.c that defines
 *     int sus_cmd_X(int argc, char **argv);   argv[0] is "X"
 *     extern const char sus_cmd_X_help[];     the text of `sus X --help`
 * and one line in SUS_CLI_COMMANDS below. Commands return their exit status:
 * SUS_EXIT_OK, SUS_EXIT_USAGE (bad usage or bad input) or SUS_EXIT_FAIL.
 *
 * Argument parsing is kept apart from execution, and never prints or touches
 * the file system, so that parsers can be fuzzed in-process.
 */
#ifndef SUS_TOOLS_CLI_H
#define SUS_TOOLS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "sus.h"

#if defined(__GNUC__)
#define SUS_CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SUS_CLI_PRINTF(f, a)
#endif

enum { SUS_EXIT_OK = 0, SUS_EXIT_FAIL = 1, SUS_EXIT_USAGE = 2 };

/* X(name, one-line summary), in the order `sus --help` lists them. */
#define SUS_CLI_COMMANDS(X)                                                            \
    X(grad, "exact forward outputs and gradients (double or MPFR reference)")          \
    X(mask, "the canonical SUS mask (DESIGN.md 2.4) as CSR .npy files")                \
    X(sample, "one SUS estimate of dQ, dK, dV under the canonical or a given mask")    \
    X(moments, "exact mean and variance of the SUS estimator, and its expected nnz")   \
    X(bench, "time fast/ on a random problem: forward with sampler, SUS and dense "    \
             "bwd")                                                                    \
    X(workload, "write a built-in workload (peaked, sink, ..., long) as .npy inputs")  \
    X(mc, "Monte Carlo unbiasedness tests on a workload; shards; calibration")         \
    X(report, "the statistical report: verdict, report.md/.html and figures")          \
    X(check, "check one run of another port (mask, W~, dQ dK dV) against the oracle")

#define SUS_CLI_DECLARE(name, summary)                                                 \
    int sus_cmd_##name(int argc, char **argv);                                         \
    extern const char sus_cmd_##name##_help[];
SUS_CLI_COMMANDS(SUS_CLI_DECLARE)
#undef SUS_CLI_DECLARE

typedef struct sus_cli_command {
    const char *name;
    const char *summary;
    const char *help;
    int (*run)(int argc, char **argv);
} sus_cli_command;

/* The command table (cli_table.c), and a lookup by name (NULL if unknown). */
extern const sus_cli_command sus_cli_commands[];
extern const size_t sus_cli_command_count;
const sus_cli_command *sus_cli_find(const char *name);

/* ---- Parsing (cli_num.c); no output, no file system. -------------------- */

/* What a parser concluded: run the command, print its help, or refuse. */
typedef enum sus_cli_parse_result {
    SUS_CLI_RUN = 0,
    SUS_CLI_HELP,
    SUS_CLI_BAD
} sus_cli_parse_result;

#define SUS_CLI_MSG_LEN 512

/* Writes a one-line message into msg (SUS_CLI_MSG_LEN bytes) and returns
 * SUS_CLI_BAD, so that parsers can write `return sus_cli_bad(...)`. */
sus_cli_parse_result sus_cli_bad(char *msg, const char *fmt, ...) SUS_CLI_PRINTF(2, 3);

/* Strict conversions of a whole option argument: no leading space, no
 * trailing characters, no empty string. On failure they return 0 and write
 * a message naming option and text into msg. */
int sus_cli_parse_double(const char *option, const char *text, double *out, char *msg);
int sus_cli_parse_i64(const char *option, const char *text, int64_t lo, int64_t hi,
                      int64_t *out, char *msg);
/* An unsigned 64-bit integer, decimal or hexadecimal with 0x, over the full
 * range 0..2^64-1; signs are refused. */
int sus_cli_parse_u64(const char *option, const char *text, uint64_t *out, char *msg);
/* The budget c of a rule: a positive number, or "inf" (also "infinity",
 * any case, optionally with '+') for c = infinity. 0, negatives, NaN and
 * finite values out of double's range are refused. */
int sus_cli_parse_budget(const char *option, const char *text, double *out, char *msg);

/* The message for getopt_long's '?' or ':' result; needs optind, optopt as
 * getopt_long left them and the argv it parsed. */
sus_cli_parse_result sus_cli_getopt_error(int c, int argc, char **argv, char *msg);

/* Stores a path option's value in *slot. A path given twice is refused
 * (silently taking the last could compute on a file the user did not mean),
 * and so is an empty one. */
sus_cli_parse_result sus_cli_set_path(const char **slot, const char *option,
                                      const char *value, char *msg);

/* One option of a command, with optarg set: SUS_CLI_RUN to go on, or
 * SUS_CLI_BAD with a message in msg. */
typedef sus_cli_parse_result (*sus_cli_option_fn)(int c, void *state, char *msg);

struct option;
/* The getopt_long loop every command shares: options from table ('h' is
 * --help), each handed to fn. The first bad option is the one reported, but
 * a --help anywhere wins (SUS_CLI_HELP). It stops at the first operand, so
 * on return argv[optind] is the first unparsed argument. Prints nothing and
 * reinitializes getopt, so it can run again in the same process. */
sus_cli_parse_result sus_cli_getopt_each(int argc, char **argv,
                                         const struct option *table,
                                         sus_cli_option_fn fn, void *state, char *msg);

/* ---- Messages (cli_msg.c) ----------------------------------------------- */

/* "sus CMD: message" on stderr, one line. */
void sus_cli_error(const char *cmd, const char *fmt, ...) SUS_CLI_PRINTF(2, 3);
/* The same, followed by "Try 'sus CMD --help'." for usage errors. */
void sus_cli_usage_error(const char *cmd, const char *fmt, ...) SUS_CLI_PRINTF(2, 3);
/* Records status and a one-line message in err and returns status. */
int sus_cli_fail(sus_error *err, int status, const char *fmt, ...) SUS_CLI_PRINTF(3, 4);
/* The exit status for a library status: bad input is SUS_EXIT_USAGE, any
 * other failure (I/O, memory, range) SUS_EXIT_FAIL. */
int sus_cli_exit_for(int status);

/* Formats a shape as Python does, "(2, 3)" or "(5,)", into buf. */
void sus_cli_format_shape(const int64_t *shape, int ndim, char *buf, size_t len);

/* ---- Attention inputs (cli_attn.c) -------------------------------------- */

/* The four input arrays of an attention problem, read from .npy files
 * (float32 or float64, finite) and converted to double. rank is 2 ([n, d],
 * B = H = 1) or 4 ([B, H, n, d]); outputs use the same convention. */
typedef struct sus_cli_attn {
    int rank;
    sus_shape shape;
    sus_sizes sizes;
    double *q, *k, *v, *dout;
    int f32_inputs; /* some input was float32: the precision a port worked in */
} sus_cli_attn;

/* Reads and checks Q, K, V, dO: dtype, finiteness, rank, consistent shapes
 * (a mismatch names both files and shapes). err->status is the failing
 * library status; its message is one line naming the file.
 * vpath and dopath may both be NULL, for commands that need only Q and K:
 * then v and dout stay NULL and shape.dv is 1. */
int sus_cli_attn_load(const char *qpath, const char *kpath, const char *vpath,
                      const char *dopath, sus_cli_attn *out, sus_error *err);
void sus_cli_attn_free(sus_cli_attn *a);

/* The shape of an output array in the inputs' rank convention. */
typedef enum sus_cli_out_kind {
    SUS_CLI_OUT_Q,   /* [B, H, n, d]  */
    SUS_CLI_OUT_K,   /* [B, H, m, d]  */
    SUS_CLI_OUT_V,   /* [B, H, m, dv] */
    SUS_CLI_OUT_O,   /* [B, H, n, dv] */
    SUS_CLI_OUT_ROWS /* [B, H, n]     */
} sus_cli_out_kind;
int sus_cli_attn_out_shape(const sus_cli_attn *a, sus_cli_out_kind kind,
                           int64_t shape[4]);

/* The sus_attn of loaded inputs (pointing into a). */
sus_attn sus_cli_attn_problem(const sus_cli_attn *a, double scale, int causal);

/* ---- Rules (cli_rule.c) ------------------------------------------------- */

/* The rule named text (sus_rule_find); an unknown name is refused with a
 * message that lists the valid names. No output, no file system. */
int sus_cli_parse_rule(const char *option, const char *text, const sus_rule **out,
                       char *msg);

/* ---- Masks (cli_mask.c) ------------------------------------------------- */

/* The files of a mask in a directory (DESIGN.md 4), in this order. */
enum { SUS_CLI_MASK_FILES = 3 };
extern const char *const sus_cli_mask_names[SUS_CLI_MASK_FILES];

/* Reads DIR/indptr.npy, DIR/indices.npy (int64, or int32 converted) and
 * DIR/wtilde.npy (float64, or float32 converted), checks their ranks and
 * lengths against the problem (B*H*n + 1 for indptr, nnz = indptr[-1] for
 * the other two), then sus_mask_check. option ("--mask") names the source
 * in messages. On failure *mk is empty; err->status is the library status
 * (SUS_ERR_FORMAT, SUS_ERR_SHAPE, SUS_ERR_IO, ...). */
int sus_cli_mask_load(const char *option, const char *dir, const sus_shape *sh,
                      int causal, sus_mask *mk, sus_error *err);
/* The same without sus_mask_check: the arrays are read, converted and
 * their lengths checked, but their contents are left for the caller to
 * judge (sus check reports a malformed port mask as a failed check). */
int sus_cli_mask_read(const char *option, const char *dir, const sus_shape *sh,
                      sus_mask *mk, sus_error *err);

/* The paths DIR/indptr.npy, ... (malloc'ed, for sus_cli_outdir_check's
 * aliasing test); NULL on out of memory. Free with sus_cli_mask_paths_free. */
int sus_cli_mask_paths(const char *dir, char *paths[SUS_CLI_MASK_FILES]);
void sus_cli_mask_paths_free(char *paths[SUS_CLI_MASK_FILES]);

/* Copies a mask into three 1-D arrays, int64 indptr and indices and
 * float64 wtilde, named by sus_cli_mask_names. */
int sus_cli_mask_arrays(const sus_mask *mk, sus_array out[SUS_CLI_MASK_FILES],
                        sus_error *err);

/* ---- Output directories (cli_outdir.c) ---------------------------------- */

/* A set of files written into one directory that is either complete or
 * absent: on failure (or if never committed) the files written so far, and
 * the directory if this run created it, are removed. */
typedef struct sus_cli_outdir {
    char *dir;      /* as given, without trailing slashes (except "/") */
    int created;    /* this run created dir */
    char **written; /* paths written so far */
    size_t nwritten, cap;
    int committed;
} sus_cli_outdir;

/* Checks, before any computation, that dir can be used: it is a directory or
 * can be created in an existing parent directory, and none of the files
 * names[0..count) inside it is the same file as one of inputs[0..ninputs).
 * Touches nothing. */
int sus_cli_outdir_check(const char *dir, const char *const *names, size_t count,
                         const char *const *inputs, size_t ninputs, sus_error *err);

/* Starts a set: creates dir if missing (its parent must exist). */
int sus_cli_outdir_open(sus_cli_outdir *o, const char *dir, sus_error *err);
/* Writes dir/name atomically and records it for removal on rollback. */
int sus_cli_outdir_write(sus_cli_outdir *o, const char *name, const sus_array *a,
                         sus_error *err);
/* Keeps everything written; then close removes nothing. */
void sus_cli_outdir_commit(sus_cli_outdir *o);
/* Rolls back unless committed, and frees o. */
void sus_cli_outdir_close(sus_cli_outdir *o);

/* dir + "/" + name in a malloc'ed string, or NULL if out of memory. */
char *sus_cli_path_join(const char *dir, const char *name);

#endif
