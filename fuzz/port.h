/*
 * port.h: what the files of the check_port harness share (check_port.c
 * decodes one input and runs the checks of fuzz/port_*.c on it). Private
 * to that harness: no other target links these files, so the names carry
 * port_ rather than fz.h's fz_.
 */
#ifndef SUS_FUZZ_PORT_H
#define SUS_FUZZ_PORT_H

#include "fz.h"

/* What the rest of the input decodes to, read before anything runs so that
 * the layout does not depend on the problem. */
typedef struct port_choices {
    sus_check_opts o; /* u, canonical, prec (rule, c, seed: the case's) */
    int part;         /* the part to move an element of */
    double factor;
    uint64_t index;
    uint8_t row, key;      /* the entry to drop or add */
    uint8_t op, at, value; /* the CSR corruption */
} port_choices;

/* One input's state: the case, the rule's dense q and W~, the canonical
 * mask, and the port being judged (a copy of the mask with room for one
 * more entry, and its outputs). */
typedef struct port_run {
    fz_case *fc;
    port_choices ch;
    double *q, *wt;
    sus_mask canon;
    sus_mask mk;
    sus_grads out;  /* the port's outputs */
    sus_grads mmag; /* MPFR magnitudes for the recount */
} port_run;

/* ---- Indexing and the port (check_port.c) ------------------------------- */

/* How many keys row i may attend to: i + 1 when causal (within m), else m. */
int64_t port_allowed(const sus_attn *a, int64_t i);
/* The row of the CSR entry e. */
int64_t port_row_of(const sus_mask *mk, int64_t e);
/* Part p (SUS_CHECK_DQ, DK or DV) of g, and its element count. */
const double *port_part_array(const sus_grads *g, int p);
size_t port_part_count(const sus_sizes *z, int p);

/* The port's mask := the canonical mask (an empty one if there is none),
 * its outputs := the honest ones (fc->t.p.got). */
void port_reset(port_run *x);
/* sus_check_port on the port's mask and outputs; its status. */
int port_check(port_run *x, const sus_check_opts *o, sus_check_report *rep,
               sus_error *err);
/* The same where the check must get through: fails unless SUS_OK. */
void port_check_ok(port_run *x, const sus_check_opts *o, sus_check_report *rep,
                   const char *what);

/* ---- sus.h's formulas (port_spec.c) ------------------------------------- */

/* The borderline band of entry (r, j) and the bound of its W~, for a port
 * of unit roundoff u. */
double port_entry_band(const port_run *x, int64_t r, int64_t j, double u);
double port_wtilde_bound(const port_run *x, int64_t r, int64_t j, double u);
/* An element's ratio, and whether it fails. */
double port_spec_ratio(const sus_check_elem *e);
int port_spec_failed(const sus_check_elem *e);

/* ---- Reports (port_report.c) -------------------------------------------- */

/* Every report's consistency, for the port x judged with o. */
void port_check_report(port_run *x, const sus_check_report *rep,
                       const sus_check_opts *o);
/* A port that is the double oracle: nothing fails, every ratio 0. */
void port_check_exact(port_run *x, const sus_check_report *rep, const char *what);

/* ---- The checks of one input (each file's header says what they check) --- */

void port_check_uniforms(fz_case *fc);  /* port_uniforms.c */
void port_check_honest(port_run *x);    /* port_honest.c */
void port_check_moved(port_run *x);     /* port_moved.c */
void port_check_toggled(port_run *x);   /* port_mask.c */
void port_check_corrupted(port_run *x); /* port_mask.c */
/* port_refused.c: a problem the reference refuses must be refused with
 * want (why names the case), whatever the port; then bad arguments. */
void port_expect_problem_refused(port_run *x, int want, const char *why);
void port_check_bad_arguments(port_run *x);

#endif
