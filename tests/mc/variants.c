/*
 * variants.c: test-only variants of the SUS estimator for the power
 * measurement of issue 6 (`sus-variants mc --power`) and for
 * tests/test_mc_engine.c. Compiled only into test binaries: the released
 * `sus` does not contain them (tests/mc/rules.mk).
 *
 * Each draws one sample for a seed with the canonical uniforms
 * (sus_canonical_uniform), but changes one thing; all but the last two are
 * biased. The look-alike "indep_dqdk" draws dQ under one mask and dK, dV
 * under an independent one: unbiased, since unbiasedness needs only
 * E[m_ij] = 1 for each mask, so the tests must pass it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SUS_TEST_VARIANTS 1
#include "../../tools/mc_draw.h"

enum {
    V_NONE,
    V_D_MASKED,
    V_NO_CAP,
    V_UPWEIGHT_C,
    V_SKEWED_U,
    V_DO_MASK,
    V_UNNORM_Q,
    V_NO_UPWEIGHT,
    V_WRONG_C,
    V_SHARED_U,
    V_INDEP_DQDK,
    V_COUNT
};

static const char *const names[V_COUNT] = {
    "estimator (sus_ref_estimate)",
    "d_masked: D from the masked output",
    "no_cap: minc without min(1, .): W~ = 1/c",
    "upweight_c: kept W~ = c W",
    "skewed_u: keep iff u^0.8 < q",
    "do_mask: q x 0.7 where dO.V <= 0",
    "unnorm_q: q from W / max W",
    "no_upweight: kept W~ = W",
    "wrong_c: W~ = max(W, 1/(2c))",
    "shared_u: keys 2k, 2k+1 share u",
    "indep_dqdk: dQ and dK, dV on independent masks",
};

int sus_mc_variant_count(void)
{
    return V_COUNT - 1;
}

const char *sus_mc_variant_name(int v)
{
    return v >= 0 && v < V_COUNT ? names[v] : NULL;
}

int sus_mc_variant_biased(int v)
{
    return v != V_NONE && v != V_INDEP_DQDK;
}

int sus_mc_variant_find(const char *name)
{
    size_t len = strlen(name);
    for (int v = 1; v < V_COUNT; v++)
        if (strncmp(names[v], name, len) == 0 && names[v][len] == ':')
            return v;
    return 0;
}

/* The keep decision and W~ of entry (i, j) of one head under variant v. */
typedef struct entry {
    double W, q, wt, Wmax, dP, u;
} entry;

static int keep(int v, const sus_mc_exact *x, const entry *e, double *wt)
{
    double q = e->q;
    *wt = e->wt;
    switch (v) {
    case V_NO_CAP:
        *wt = 1.0 / x->c;
        break;
    case V_UPWEIGHT_C:
        *wt = x->c * e->W;
        break;
    case V_SKEWED_U:
        return pow(e->u, 0.8) < q;
    case V_DO_MASK:
        q = e->dP > 0.0 ? q : 0.7 * q;
        break;
    case V_UNNORM_Q:
        q = fmin(1.0, x->c * e->W / e->Wmax);
        break;
    case V_NO_UPWEIGHT:
        *wt = e->W;
        break;
    case V_WRONG_C:
        *wt = fmax(e->W, 0.5 / x->c);
        break;
    }
    return e->u < q;
}

static double dot(const double *a, const double *b, int64_t len)
{
    double s = 0.0;
    for (int64_t t = 0; t < len; t++)
        s += a[t] * b[t];
    return s;
}

/* Draws the mask of a variant for seed: CSR with W~ values. */
static int draw_mask(const sus_mc_exact *x, int v, uint64_t seed, sus_mask *mk)
{
    const sus_shape *sh = &x->a.shape;
    const int64_t n = sh->n, m = sh->m, dv = sh->dv;
    size_t S = x->z.scores;
    *mk = (sus_mask){.rows = (int64_t)x->rows};
    mk->indptr = calloc(x->rows + 1, sizeof(int64_t));
    mk->indices = malloc(S * sizeof(int64_t));
    mk->wtilde = malloc(S * sizeof(double));
    if (!mk->indptr || !mk->indices || !mk->wtilde)
        return SUS_ERR_NOMEM;
    for (size_t r = 0; r < x->rows; r++) {
        int64_t bh = (int64_t)r / n, i = (int64_t)r % n;
        const double *Wr = x->W + r * (size_t)m,
                     *dOi = x->a.dout + (size_t)r * (size_t)dv;
        double Wmax = 0.0, u = 0.0;
        for (int64_t j = 0; j < m; j++)
            Wmax = fmax(Wmax, Wr[j]);
        for (int64_t j = 0; j < m; j++) {
            double qe = x->q[r * (size_t)m + j];
            if (!(Wr[j] > 0.0))
                continue;
            int64_t ju = v == V_SHARED_U ? j - j % 2 : j;
            int rc = sus_canonical_uniform(seed, bh / sh->H, bh % sh->H, i, ju, &u);
            if (rc)
                return rc;
            const double *Vj = x->a.v + (size_t)(bh * m + j) * (size_t)dv;
            entry e = {Wr[j], qe, x->wt[r * (size_t)m + j], Wmax, dot(dOi, Vj, dv), u};
            double wt;
            if (keep(v, x, &e, &wt)) {
                mk->indices[mk->nnz] = j;
                mk->wtilde[mk->nnz++] = wt;
            }
        }
        mk->indptr[r + 1] = mk->nnz;
    }
    return SUS_OK;
}

/* The estimator of DESIGN.md 2.2 under mask a for dQ and mask b for dK,
 * dV; D from the exact O, or from the masked one (d_masked). */
static void estimate(const sus_mc_exact *x, const sus_mask *a, const sus_mask *b,
                     int d_masked, double *y)
{
    const sus_shape *sh = &x->a.shape;
    const int64_t n = sh->n, m = sh->m, d = sh->d, dv = sh->dv;
    const double s = x->a.scale;
    memset(y, 0, x->E * sizeof(double));
    double *dq = y, *dk = y + x->z.q, *dV = dk + x->z.k;
    for (size_t r = 0; r < x->rows; r++) {
        int64_t bh = (int64_t)r / n;
        const double *Wr = x->W + r * (size_t)m, *dOi = x->a.dout + r * (size_t)dv;
        const double *Qi = x->a.q + r * (size_t)d, *V = x->a.v + (size_t)(bh * m * dv);
        const double *K = x->a.k + (size_t)(bh * m * d);
        double D = 0.0;
        for (int64_t t = 0; t < dv; t++) {
            double Ot = 0.0;
            if (d_masked)
                for (int64_t e = a->indptr[r]; e < a->indptr[r + 1]; e++)
                    Ot += a->wtilde[e] * V[a->indices[e] * dv + t];
            else
                for (int64_t j = 0; j < m; j++)
                    Ot += Wr[j] * V[j * dv + t];
            D += dOi[t] * Ot;
        }
        for (int pass = 0; pass < 2; pass++) {
            const sus_mask *mk = pass == 0 ? a : b;
            for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++) {
                int64_t j = mk->indices[e];
                double wt = mk->wtilde[e], g = s * wt * (dot(dOi, V + j * dv, dv) - D);
                for (int64_t t = 0; t < d && pass == 0; t++)
                    dq[r * (size_t)d + (size_t)t] += g * K[j * d + t];
                for (int64_t t = 0; t < d && pass == 1; t++)
                    dk[(size_t)((bh * m + j) * d + t)] += g * Qi[t];
                for (int64_t t = 0; t < dv && pass == 1; t++)
                    dV[(size_t)((bh * m + j) * dv + t)] += wt * dOi[t];
            }
        }
    }
}

int sus_mc_variant_draw(const sus_mc_exact *x, int v, uint64_t seed, double *y,
                        sus_mask *mk, sus_error *err)
{
    sus_mask other = {0};
    int mv = v == V_D_MASKED || v == V_INDEP_DQDK ? V_NONE : v;
    int rc = draw_mask(x, mv, seed, mk);
    if (!rc && v == V_INDEP_DQDK)
        rc = draw_mask(x, V_NONE, seed ^ 0x9e3779b97f4a7c15ull, &other);
    if (rc) {
        sus_mask_free(&other);
        if (err) {
            err->status = rc;
            strcpy(err->msg, "variant: out of memory or bad index");
        }
        return rc;
    }
    estimate(x, mk, v == V_INDEP_DQDK ? &other : mk, v == V_D_MASKED, y);
    sus_mask_free(&other);
    return SUS_OK;
}
