/*
 * report_port.h: `sus report --port DIR`: a port directory (DESIGN.md 4)
 * read as one campaign: the inputs the port used, and either N stacked
 * samples dQ.npy, dK.npy, dV.npy of shape [N, ...] or Welford moments
 * dQ.mean.npy, dQ.m2.npy (and dK, dV) with count.npy.
 */
#ifndef SUS_TOOLS_REPORT_PORT_H
#define SUS_TOOLS_REPORT_PORT_H

#include "report.h"

typedef struct sus_rep_port_opts {
    const char *dir;
    double c;
    const char *rule;
    int causal, has_scale;
    double scale;
    double unit; /* 0: from the outputs' dtype */
} sus_rep_port_opts;

int sus_rep_port_load(const sus_rep_port_opts *po, sus_rep_section *sec,
                      sus_error *err);

#endif
