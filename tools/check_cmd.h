/*
 * check_cmd.h: `sus check`, one run of another port against the oracle
 * (sus_check_port). Parsing (check_parse.c) neither prints nor touches the
 * file system; loading the port directory (check_load.c) and printing the
 * report (check_print.c) are apart from it.
 */
#ifndef SUS_TOOLS_CHECK_CMD_H
#define SUS_TOOLS_CHECK_CMD_H

#include "cli.h"

typedef struct sus_chk_opts {
    const char *port; /* the port directory (DESIGN.md 4) */
    double c;
    int causal;
    int has_scale;
    double scale;
    const sus_rule *rule;
    int has_u;
    double u; /* the unit roundoff; else from the outputs' dtype */
    int canonical;
    uint64_t seed;
    int has_prec;
    long prec; /* else MPFR 256 bits when u < 2^-24, the double reference otherwise */
} sus_chk_opts;

sus_cli_parse_result sus_chk_parse(int argc, char **argv, sus_chk_opts *o, char *msg);

/* A port directory read and converted to double. */
typedef struct sus_chk_port {
    sus_cli_attn in;
    sus_mask mk;
    double *out[3]; /* dQ, dK, dV */
    sus_dtype out_dtype[3];
} sus_chk_port;

/* Reads DIR's inputs, mask and outputs. File, dtype and shape problems are
 * errors (bad input); the mask's contents are left to sus_check_port. */
int sus_chk_load(const char *dir, sus_chk_port *p, sus_error *err);
void sus_chk_free(sus_chk_port *p);

/* The unit roundoff of the coarsest output dtype: 2^-24 if any is float32. */
double sus_chk_default_u(const sus_chk_port *p);

/* Prints the verdict and the report on stdout. */
void sus_chk_print(const sus_chk_opts *o, const sus_chk_port *p, const sus_attn *a,
                   const sus_check_opts *co, const sus_check_report *rep);

#endif
