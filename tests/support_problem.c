/* support_problem.c: random attention problems for the tests. */
#include <math.h>
#include <stdlib.h>

#include "support_problem.h"

int sus_t_problem_alloc(sus_t_problem *p, sus_shape sh)
{
    *p = (sus_t_problem){0};
    p->a.shape = sh;
    if (sus_shape_sizes(&sh, &p->z, NULL))
        return -1;
    p->q = calloc(p->z.q, sizeof(double));
    p->k = calloc(p->z.k, sizeof(double));
    p->v = calloc(p->z.v, sizeof(double));
    p->dout = calloc(p->z.o, sizeof(double));
    p->a.q = p->q;
    p->a.k = p->k;
    p->a.v = p->v;
    p->a.dout = p->dout;
    p->a.scale = sus_default_scale(sh.d);
    sus_grads *g[] = {&p->exact, &p->mag, &p->got};
    for (int t = 0; t < 3; t++) {
        g[t]->o = calloc(p->z.o, sizeof(double));
        g[t]->lse = calloc(p->z.rows, sizeof(double));
        g[t]->dq = calloc(p->z.q, sizeof(double));
        g[t]->dk = calloc(p->z.k, sizeof(double));
        g[t]->dv = calloc(p->z.v, sizeof(double));
        if (!g[t]->o || !g[t]->lse || !g[t]->dq || !g[t]->dk || !g[t]->dv)
            return -1;
    }
    return (p->q && p->k && p->v && p->dout) ? 0 : -1;
}

void sus_t_problem_free(sus_t_problem *p)
{
    free(p->q);
    free(p->k);
    free(p->v);
    free(p->dout);
    sus_grads *g[] = {&p->exact, &p->mag, &p->got};
    for (int t = 0; t < 3; t++) {
        free(g[t]->o);
        free(g[t]->lse);
        free(g[t]->dq);
        free(g[t]->dk);
        free(g[t]->dv);
    }
    *p = (sus_t_problem){0};
}

void sus_t_fill_normal(sus_t_rng *r, double *x, size_t count, double sd)
{
    for (size_t t = 0; t < count; t++)
        x[t] = sd * sus_t_normal(r);
}

sus_shape sus_t_random_shape(sus_t_rng *r, int64_t max_bh, int64_t max_nm,
                             int64_t max_d)
{
    sus_shape s = {sus_t_range(r, 1, max_bh), sus_t_range(r, 1, max_bh),
                   sus_t_range(r, 1, max_nm), sus_t_range(r, 1, max_nm),
                   sus_t_range(r, 1, max_d),  sus_t_range(r, 1, max_d)};
    return s;
}
