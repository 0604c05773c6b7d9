/* support_problem.h: an attention problem with its buffers, for tests. */
#ifndef SUS_TESTS_SUPPORT_PROBLEM_H
#define SUS_TESTS_SUPPORT_PROBLEM_H

#include "support.h"

typedef struct sus_t_problem {
    sus_attn a; /* points at q, k, v, dout; default scale */
    sus_sizes z;
    double *q, *k, *v, *dout;
    sus_grads exact; /* for the MPFR (or reference) result */
    sus_grads mag;   /* its magnitudes */
    sus_grads got;   /* for the implementation under test */
} sus_t_problem;

/* Allocates zeroed inputs and outputs for shape sh; 0 on success. */
int sus_t_problem_alloc(sus_t_problem *p, sus_shape sh);
void sus_t_problem_free(sus_t_problem *p);

void sus_t_fill_normal(sus_t_rng *r, double *x, size_t count, double sd);

/* B and H in [1, max_bh], n and m in [1, max_nm], d and dv in [1, max_d]. */
sus_shape sus_t_random_shape(sus_t_rng *r, int64_t max_bh, int64_t max_nm,
                             int64_t max_d);

#endif
