/* workload.c: the built-in workloads (issue 6, item 1). Each one is a
 * recipe for Q, K, V, dO from a seeded generator. V and dO share a component
 * across tokens, as in trained models, so that dP_ij = dO_i . V_j is large
 * next to dP_ij - D_i: that is where a wrong D shows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "cli.h"
#include "workload.h"

uint64_t sus_wl_next(sus_wl_rng *r)
{
    return sus_i_rng_next(&r->s);
}

double sus_wl_uniform(sus_wl_rng *r)
{
    return sus_i_rng_uniform(&r->s);
}

double sus_wl_normal(sus_wl_rng *r)
{
    return sus_i_rng_normal(&r->s);
}

typedef struct wl_recipe {
    const char *name;
    const char *what;
    sus_shape shape;
    int causal;
    void (*fill_qk)(sus_wl *w, sus_wl_rng *r);
} wl_recipe;

static void fill(sus_wl_rng *r, double *x, size_t count, double sd, double shift)
{
    for (size_t t = 0; t < count; t++)
        x[t] = sd * sus_wl_normal(r) + shift;
}

/* Logits s Q.K with a standard deviation of about 4: a few keys dominate. */
static void qk_peaked(sus_wl *w, sus_wl_rng *r)
{
    fill(r, w->q, w->sizes.q, 2.0, 0.0);
    fill(r, w->k, w->sizes.k, 2.0, 0.0);
}

/* Key 0 and every query share a direction (the first coordinate): key 0
 * takes about half of every row's weight. */
static void qk_sink(sus_wl *w, sus_wl_rng *r)
{
    fill(r, w->q, w->sizes.q, 0.7, 0.0);
    fill(r, w->k, w->sizes.k, 0.7, 0.0);
    const int64_t d = w->shape.d;
    for (size_t row = 0; row < w->sizes.q / (size_t)d; row++)
        w->q[row * (size_t)d] += 3.0;
    for (int64_t bh = 0; bh < w->shape.B * w->shape.H; bh++)
        w->k[(size_t)(bh * w->shape.m) * (size_t)d] += 6.0;
}

static void qk_uniform(sus_wl *w, sus_wl_rng *r)
{
    fill(r, w->q, w->sizes.q, 0.05, 0.0);
    fill(r, w->k, w->sizes.k, 0.05, 0.0);
}

/* Rotary-like positions: S_ij = s r^2 sum_f cos(omega_f (i - j)) plus
 * noise, which peaks at j = i and decays away from the diagonal. */
static void qk_local(sus_wl *w, sus_wl_rng *r)
{
    fill(r, w->q, w->sizes.q, 0.2, 0.0);
    fill(r, w->k, w->sizes.k, 0.2, 0.0);
    const int64_t d = w->shape.d, half = d / 2;
    for (int64_t bh = 0; bh < w->shape.B * w->shape.H; bh++)
        for (int64_t i = 0; i < w->shape.n; i++)
            for (int64_t f = 0; f < half; f++) {
                double om = 0.05 * pow(1.6, (double)f), ang = om * (double)i;
                double *qi = w->q + (bh * w->shape.n + i) * d;
                double *ki = w->k + (bh * w->shape.m + i) * d;
                qi[2 * f] += 2.0 * cos(ang), qi[2 * f + 1] += 2.0 * sin(ang);
                if (i < w->shape.m)
                    ki[2 * f] += 2.0 * cos(ang), ki[2 * f + 1] += 2.0 * sin(ang);
            }
}

/* Four heads at temperatures from flat to peaked. */
static void qk_mixed(sus_wl *w, sus_wl_rng *r)
{
    static const double temp[4] = {0.3, 1.0, 1.7, 2.5};
    const size_t hq = (size_t)(w->shape.n * w->shape.d),
                 hk = (size_t)(w->shape.m * w->shape.d);
    for (int64_t h = 0; h < w->shape.B * w->shape.H; h++) {
        fill(r, w->q + (size_t)h * hq, hq, temp[h % 4], 0.0);
        fill(r, w->k + (size_t)h * hk, hk, temp[h % 4], 0.0);
    }
}

static void qk_long(sus_wl *w, sus_wl_rng *r)
{
    fill(r, w->q, w->sizes.q, 1.3, 0.0);
    fill(r, w->k, w->sizes.k, 1.3, 0.0);
}

static const wl_recipe recipes[] = {
    {"peaked",
     "large query and key norms: a few dominant keys per row",
     {1, 1, 64, 64, 16, 16},
     0,
     qk_peaked},
    {"sink",
     "key 0 is attended by every query (about half the weight)",
     {1, 1, 64, 64, 16, 16},
     0,
     qk_sink},
    {"uniform",
     "near-zero logits: nearly uniform weights",
     {1, 1, 64, 64, 16, 16},
     0,
     qk_uniform},
    {"local",
     "weight concentrated near the diagonal, causal",
     {1, 1, 64, 64, 16, 16},
     1,
     qk_local},
    {"mixed",
     "B = 1, H = 4 heads at temperatures 0.3, 1, 1.7, 2.5",
     {1, 4, 32, 32, 16, 16},
     0,
     qk_mixed},
    {"long",
     "n = m = 2048, causal (moments in double: see README)",
     {1, 1, 2048, 2048, 16, 16},
     1,
     qk_long},
};
#define N_RECIPES (sizeof recipes / sizeof recipes[0])

size_t sus_wl_count(void)
{
    return N_RECIPES;
}

const char *sus_wl_name_at(size_t index)
{
    return index < N_RECIPES ? recipes[index].name : NULL;
}

static const wl_recipe *find(const char *name)
{
    for (size_t i = 0; i < N_RECIPES; i++)
        if (strcmp(recipes[i].name, name) == 0)
            return &recipes[i];
    return NULL;
}

const char *sus_wl_describe(const char *name)
{
    const wl_recipe *rc = find(name);
    return rc ? rc->what : NULL;
}

void sus_wl_free(sus_wl *w)
{
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->dout);
    *w = (sus_wl){0};
}

int sus_wl_make(const char *name, uint64_t seed, sus_wl *w, sus_error *err)
{
    *w = (sus_wl){0};
    const wl_recipe *rc = find(name);
    if (!rc)
        return sus_cli_fail(err, SUS_ERR_INVAL,
                            "unknown workload '%s' (peaked, sink, uniform, local, "
                            "mixed, long)",
                            name);
    w->name = rc->name;
    w->shape = rc->shape;
    w->causal = rc->causal;
    w->scale = sus_default_scale(rc->shape.d);
    int st = sus_shape_sizes(&w->shape, &w->sizes, err);
    if (st)
        return st;
    w->q = calloc(w->sizes.q, sizeof(double));
    w->k = calloc(w->sizes.k, sizeof(double));
    w->v = calloc(w->sizes.v, sizeof(double));
    w->dout = calloc(w->sizes.o, sizeof(double));
    if (!w->q || !w->k || !w->v || !w->dout) {
        sus_wl_free(w);
        return sus_cli_fail(err, SUS_ERR_NOMEM, "workload %s: out of memory", name);
    }
    /* The name enters the stream, so that workloads differ at equal seeds. */
    sus_wl_rng r = {seed * 0x2545f4914f6cdd1dull};
    for (const char *c = name; *c; c++)
        r.s = r.s * 131u + (unsigned char)*c;
    rc->fill_qk(w, &r);
    fill(&r, w->v, w->sizes.v, 1.0, 1.0);
    fill(&r, w->dout, w->sizes.o, 1.0, 0.5);
    return SUS_OK;
}

sus_attn sus_wl_problem(const sus_wl *w)
{
    return (sus_attn){w->shape, w->scale, w->causal, w->q, w->k, w->v, w->dout};
}
