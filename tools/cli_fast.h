/*
 * cli_fast.h: what the CLI commands share to run the optimized
 * implementation (fast/) instead of the reference: the --impl and --dtype
 * options, and a problem converted to float32 or float64 with its outputs.
 *
 * The two parsers are static inline, so that a command's parser still links
 * with cli_num.c alone (for in-process fuzzing); the rest is cli_fast.c.
 */
#ifndef SUS_TOOLS_CLI_FAST_H
#define SUS_TOOLS_CLI_FAST_H

#include <string.h>

#include "cli.h"

/* Which implementation a command runs. */
typedef enum sus_cli_impl { SUS_CLI_IMPL_REF = 0, SUS_CLI_IMPL_FAST } sus_cli_impl;

/* "ref" or "fast". */
static inline int sus_cli_parse_impl(const char *option, const char *text,
                                     sus_cli_impl *out, char *msg)
{
    if (strcmp(text, "ref") == 0)
        *out = SUS_CLI_IMPL_REF;
    else if (strcmp(text, "fast") == 0)
        *out = SUS_CLI_IMPL_FAST;
    else {
        sus_cli_bad(msg, "%s: '%s' is not an implementation: use ref or fast", option,
                    text);
        return 0;
    }
    return 1;
}

/* The computing dtype of fast/: "f32" (or "float32") or "f64" ("float64"). */
static inline int sus_cli_parse_fast_dtype(const char *option, const char *text,
                                           sus_dtype *out, char *msg)
{
    if (strcmp(text, "f32") == 0 || strcmp(text, "float32") == 0)
        *out = SUS_DTYPE_F4;
    else if (strcmp(text, "f64") == 0 || strcmp(text, "float64") == 0)
        *out = SUS_DTYPE_F8;
    else {
        sus_cli_bad(msg, "%s: '%s' is not a dtype: use f32 or f64", option, text);
        return 0;
    }
    return 1;
}

/* "f32" or "f64". */
static inline const char *sus_cli_fast_dtype_name(sus_dtype dt)
{
    return dt == SUS_DTYPE_F4 ? "f32" : "f64";
}

/* ---- Running fast/ (cli_fast.c) ----------------------------------------- */

/* Loaded inputs converted to the dtype, a context, and the outputs of
 * fast/ in that dtype (o, lse, dq, dk, dv, allocated by sus_cli_fast_open). */
typedef struct sus_cli_fast {
    sus_fast_ctx *ctx;
    sus_fast_problem p;
    void *in[4]; /* q, k, v, dout in the dtype */
    void *o, *lse, *dq, *dk, *dv;
} sus_cli_fast;

/* Converts a's inputs to dtype (float32 rounds to nearest), creates a
 * context with the default configuration (every online CPU, the best SIMD
 * level) and allocates the outputs. On failure everything is freed. */
int sus_cli_fast_open(const sus_cli_attn *a, double scale, int causal, sus_dtype dtype,
                      sus_cli_fast *f, sus_error *err);
void sus_cli_fast_close(sus_cli_fast *f);

/* Widens count elements of a float32 or float64 buffer into dst. */
void sus_cli_fast_widen(const void *src, size_t count, sus_dtype dtype, double *dst);

#endif
