/*
 * report.h: `sus report` (issue 6, items 4 and 5): the verdict of one or
 * more campaigns, report.md and report.html, gnuplot figures, and the
 * relative variance increase rho.
 */
#ifndef SUS_TOOLS_REPORT_H
#define SUS_TOOLS_REPORT_H

#include <stdio.h>

#include "mc_campaign.h"

/* One campaign: its exact quantities, its accumulated samples and verdict. */
typedef struct sus_rep_section {
    char label[160];
    sus_mc_setup setup; /* a built-in workload, or a port's inputs */
    sus_cli_attn port;  /* the port's inputs (zero for workloads) */
    sus_mc_acc acc;
    sus_mc_test t[SUS_MC_NTESTS];
    int pass;
    double *z; /* E element z-scores */
} sus_rep_section;

void sus_rep_section_free(sus_rep_section *s);

/* Tests sec with its share alpha of the false-alarm rate (fills t, pass, z). */
int sus_rep_evaluate(sus_rep_section *sec, double alpha, sus_error *err);

/* rho for one workload (issue 6, item 4): for c in SUS_REP_CS, the SUS
 * variance (sum over every output element, exact, averaged over the
 * workload's sequences) of minc at c and of waterfill at the same expected
 * nnz, and the across-sequence variance of the exact gradient. */
#define SUS_REP_NC 5
extern const double sus_rep_cs[SUS_REP_NC];
typedef struct sus_rep_rho {
    const char *workload;
    int sequences;
    double seq_var;          /* across-sequence variance of the exact grad */
    double nnz[SUS_REP_NC];  /* expected nnz of minc (= waterfill's) */
    double wf_c[SUS_REP_NC]; /* waterfill's budget at that nnz */
    double var_minc[SUS_REP_NC], var_wf[SUS_REP_NC];
} sus_rep_rho;

int sus_rep_rho_compute(const char *workload, int sequences, sus_rep_rho *out,
                        sus_error *err);

/* Writes the figures' data and gnuplot scripts into dir and runs gnuplot
 * there (PNG and SVG). Returns 0 if the figures were drawn; otherwise
 * writes why into why (for example: gnuplot is not installed). */
int sus_rep_plot(const char *dir, const sus_rep_section *secs, size_t nsec,
                 const sus_rep_rho *rho, size_t nrho, char *why, size_t whylen);

/* Writes report.md and report.html into dir. */
int sus_rep_write(const char *dir, const sus_rep_section *secs, size_t nsec,
                  const sus_rep_rho *rho, size_t nrho, double alpha, int pass,
                  int figures, const char *cmdline, sus_error *err);

#endif
