/*
 * workload.h: the built-in workloads of `sus workload`, `sus mc` and
 * `sus report`: attention problems that look like real attention, made
 * deterministically from a name and a seed (issue 6).
 */
#ifndef SUS_TOOLS_WORKLOAD_H
#define SUS_TOOLS_WORKLOAD_H

#include "sus.h"

typedef struct sus_wl {
    const char *name;
    sus_shape shape;
    sus_sizes sizes;
    int causal;
    double scale;
    double *q, *k, *v, *dout; /* owned */
} sus_wl;

/* The number of built-in workloads, and the index-th name (NULL past it). */
size_t sus_wl_count(void);
const char *sus_wl_name_at(size_t index);
/* A one-line description of the workload named name, or NULL if unknown. */
const char *sus_wl_describe(const char *name);

/* Makes workload name from seed. SUS_ERR_INVAL names the valid workloads. */
int sus_wl_make(const char *name, uint64_t seed, sus_wl *w, sus_error *err);
void sus_wl_free(sus_wl *w);

/* The problem of a workload (pointing into w). */
sus_attn sus_wl_problem(const sus_wl *w);

/* splitmix64 and Box-Muller: the workloads' and functionals' generator, a
 * pure function of its state so that everything is reproducible. */
typedef struct sus_wl_rng {
    uint64_t s;
} sus_wl_rng;
uint64_t sus_wl_next(sus_wl_rng *r);
double sus_wl_uniform(sus_wl_rng *r);
double sus_wl_normal(sus_wl_rng *r);

#endif
