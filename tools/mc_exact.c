/* mc_exact.c: the exact quantities of a Monte Carlo campaign (mc.h):
 * moments of every output and functional (DESIGN.md 2.5), Bernstein range
 * bounds, rounding allowances, and the mask's calibration targets.
 *
 * Element means and variances come from ref/'s MPFR code (sus_mpfr_moments)
 * when affordable (every built-in workload); otherwise, and where only the
 * layout matters (shards), from the closed forms in double here, as do the
 * functionals' variances always: their relative error (~1e-13) is far below
 * anything N samples resolve. tests/test_mc_engine.c checks the double path
 * against MPFR. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mc.h"
#include "workload.h"

const double sus_mc_bin_edges[SUS_MC_NBINS + 1] = {
    0.0, 1e-3, 1e-2, 0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

/* 2^28 score-width products: the long workload (2^27) takes 34 s of CPU in
 * MPFR at 256 bits here (measured with sus moments). */
#define MPFR_AFFORDABLE 268435456.0

void sus_mc_exact_free(sus_mc_exact *x)
{
    free(x->W);
    free(x->q);
    free(x->wt);
    free(x->mean);
    free(x->var);
    free(x->range);
    free(x->slack);
    free(x->R);
    free(x->row_sq);
    free(x->row_sqq);
    free(x->pair_row);
    free(x->pair_j1);
    free(x->pair_j2);
    free(x->pair_p);
    *x = (sus_mc_exact){0};
}

int sus_mc_bin_of(double q)
{
    int b = 0;
    while (b < SUS_MC_NBINS - 1 && q >= sus_mc_bin_edges[b + 1])
        b++;
    return b;
}

/* One head's view. */
typedef struct head {
    const double *Q, *K, *V, *dO, *O, *W, *q, *wt;
    int64_t n, m, d, dv;
    double s;
    size_t oq, ok, ov; /* offsets of this head's dQ, dK, dV within y */
} head;

static head head_at(const sus_mc_exact *x, const double *O, int64_t bh)
{
    const sus_shape *sh = &x->a.shape;
    head h = {0};
    h.n = sh->n, h.m = sh->m, h.d = sh->d, h.dv = sh->dv, h.s = x->a.scale;
    h.Q = x->a.q + bh * h.n * h.d;
    h.K = x->a.k + bh * h.m * h.d;
    h.V = x->a.v + bh * h.m * h.dv;
    h.dO = x->a.dout + bh * h.n * h.dv;
    h.O = O + bh * h.n * h.dv;
    h.W = x->W + bh * h.n * h.m;
    h.q = x->q + bh * h.n * h.m;
    h.wt = x->wt + bh * h.n * h.m;
    h.oq = (size_t)(bh * h.n * h.d);
    h.ok = x->z.q + (size_t)(bh * h.m * h.d);
    h.ov = x->z.q + x->z.k + (size_t)(bh * h.m * h.dv);
    return h;
}

static double dot(const double *a, const double *b, int64_t len)
{
    double s = 0.0;
    for (int64_t t = 0; t < len; t++)
        s += a[t] * b[t];
    return s;
}

static double absdot(const double *a, const double *b, int64_t len)
{
    double s = 0.0;
    for (int64_t t = 0; t < len; t++)
        s += fabs(a[t] * b[t]);
    return s;
}

/* |m - 1| <= max(1/q - 1, 1) when 0 < q < 1; the term is constant at q = 1
 * (always kept) and at q = 0 (never kept, and then W = 0). */
static double spread(double q)
{
    return q > 0.0 && q < 1.0 ? fmax(1.0 / q - 1.0, 1.0) : 0.0;
}

static double avar(double q)
{
    return q > 0.0 && q < 1.0 ? 1.0 / q - 1.0 : 0.0;
}

/* Element variances, ranges and magnitudes of one head, in double. */
static void head_elements(sus_mc_exact *x, const head *h)
{
    double *var = x->var, *rg = x->range, *mag = x->slack;
    for (int64_t i = 0; i < h->n; i++) {
        const double *dOi = h->dO + i * h->dv, *Qi = h->Q + i * h->d;
        double D = dot(dOi, h->O + i * h->dv, h->dv);
        double absD = absdot(dOi, h->O + i * h->dv, h->dv);
        for (int64_t j = 0; j < h->m; j++) {
            double qe = h->q[i * h->m + j];
            if (!(qe > 0.0))
                continue;
            const double *Kj = h->K + j * h->d, *Vj = h->V + j * h->dv;
            double w = h->W[i * h->m + j], a = avar(qe), sp = spread(qe);
            double dS = w * (dot(dOi, Vj, h->dv) - D);
            double mS =
                h->wt[i * h->m + j] * (absdot(dOi, Vj, h->dv) + absD) * fabs(h->s);
            for (int64_t t = 0; t < h->d; t++) {
                double vq = h->s * dS * Kj[t], vk = h->s * dS * Qi[t];
                size_t eq = h->oq + (size_t)(i * h->d + t),
                       ek = h->ok + (size_t)(j * h->d + t);
                var[eq] += a * vq * vq, var[ek] += a * vk * vk;
                rg[eq] = fmax(rg[eq], sp * fabs(vq)),
                rg[ek] = fmax(rg[ek], sp * fabs(vk));
                mag[eq] += mS * fabs(Kj[t]), mag[ek] += mS * fabs(Qi[t]);
            }
            for (int64_t t = 0; t < h->dv; t++) {
                double vv = w * dOi[t];
                size_t ev = h->ov + (size_t)(j * h->dv + t);
                var[ev] += a * vv * vv;
                rg[ev] = fmax(rg[ev], sp * fabs(vv));
                mag[ev] += h->wt[i * h->m + j] * fabs(dOi[t]);
            }
        }
    }
}

/* Variance and range of functional f over one head (DESIGN.md 2.5). */
static void head_functional(sus_mc_exact *x, const head *h, int f)
{
    const double *R = x->R + (size_t)f * x->E;
    const double *RQ = R + h->oq, *RK = R + h->ok, *RV = R + h->ov;
    for (int64_t i = 0; i < h->n; i++) {
        const double *dOi = h->dO + i * h->dv, *Qi = h->Q + i * h->d;
        double D = dot(dOi, h->O + i * h->dv, h->dv);
        for (int64_t j = 0; j < h->m; j++) {
            double qe = h->q[i * h->m + j];
            if (!(qe > 0.0 && qe < 1.0))
                continue;
            const double *Kj = h->K + j * h->d, *Vj = h->V + j * h->dv;
            double w = h->W[i * h->m + j];
            double dS = w * (dot(dOi, Vj, h->dv) - D);
            double coef =
                h->s * dS *
                    (dot(RQ + i * h->d, Kj, h->d) + dot(RK + j * h->d, Qi, h->d)) +
                w * dot(RV + j * h->dv, dOi, h->dv);
            /* The fourth cumulant of (m - 1) coef: E(m - 1)^4 - 3 a^2 with
             * E(m - 1)^4 = (1 - q)^4 / q^3 + (1 - q). */
            double a = avar(qe), c2 = coef * coef, om = 1.0 - qe;
            x->fvar[f] += a * c2;
            x->fk4[f] +=
                c2 * c2 * (om * om * om * om / (qe * qe * qe) + om - 3.0 * a * a);
            x->frange[f] = fmax(x->frange[f], spread(qe) * fabs(coef));
        }
    }
}

/* Functional f's weights: standard normals from a fixed seed on its part
 * of the outputs (all three for the first J_MIX, then dQ, dK, dV alone). */
static void make_functional(sus_mc_exact *x, int f)
{
    double *R = x->R + (size_t)f * x->E;
    size_t lo = 0, hi = x->E;
    if (f >= SUS_MC_J_MIX) {
        int part = (f - SUS_MC_J_MIX) / SUS_MC_J_COMP;
        size_t cut[4] = {0, x->z.q, x->z.q + x->z.k, x->E};
        lo = cut[part], hi = cut[part + 1];
    }
    sus_wl_rng r = {0x5eedf00dull + (uint64_t)f * 7919u};
    for (size_t e = lo; e < hi; e++)
        R[e] = sus_wl_normal(&r);
}

static void mask_targets(sus_mc_exact *x)
{
    const int64_t m = x->a.shape.m;
    size_t np = 0;
    for (size_t r = 0; r < x->rows; r++) {
        const double *qr = x->q + r * (size_t)m;
        int64_t adj = -1, top1 = -1, top2 = -1;
        for (int64_t j = 0; j < m; j++) {
            double qe = qr[j];
            x->nnz += qe;
            x->row_sq[r] += qe, x->row_sqq[r] += qe * (1.0 - qe);
            if (qe == 1.0)
                x->n_one += 1.0;
            if (!(qe > 0.0 && qe < 1.0))
                continue;
            int b = sus_mc_bin_of(qe);
            x->bin_n[b] += 1.0, x->bin_sq[b] += qe, x->bin_sqq[b] += qe * (1.0 - qe);
            /* The adjacent pair (2k, 2k+1) shares one Philox call. */
            if (j % 2 == 1 && qr[j - 1] > 0.0 && qr[j - 1] < 1.0 &&
                (adj < 0 || qr[j - 1] * qe > qr[adj] * qr[adj + 1]))
                adj = j - 1;
            if (top1 < 0 || qe > qr[top1])
                top2 = top1, top1 = j;
            else if (top2 < 0 || qe > qr[top2])
                top2 = j;
        }
        int64_t pj[2][2] = {{adj, adj + 1},
                            {top1 < top2 ? top1 : top2, top1 < top2 ? top2 : top1}};
        for (int k = 0; k < 2; k++) {
            if (pj[k][0] < 0 ||
                (k == 1 && (top2 < 0 || (pj[1][0] == adj && pj[1][1] == adj + 1))))
                continue;
            x->pair_row[np] = (int64_t)r, x->pair_j1[np] = pj[k][0],
            x->pair_j2[np] = pj[k][1];
            x->pair_p[np] = qr[pj[k][0]] * qr[pj[k][1]];
            np++;
        }
    }
    x->npairs = np;
}

static int mpfr_moments(sus_mc_exact *x, sus_error *err)
{
    double *mo = calloc(x->z.o, sizeof(double)),
           *lse = calloc(x->z.rows, sizeof(double));
    double *nnz = calloc(x->z.rows, sizeof(double));
    int rc =
        mo && lse && nnz ? SUS_OK : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    if (!rc) {
        sus_moments m = {
            {mo, lse, x->mean, x->mean + x->z.q, x->mean + x->z.q + x->z.k},
            {NULL, NULL, x->var, x->var + x->z.q, x->var + x->z.q + x->z.k},
            nnz,
            0.0};
        rc = sus_mpfr_moments(&x->a, x->rule, x->c, SUS_MPFR_DEFAULT_PREC, &m, err);
    }
    free(mo);
    free(lse);
    free(nnz);
    return rc;
}

/* lite: only what sus_mc_total_var needs (no functionals, no MPFR). */
static int exact_init(sus_mc_exact *x, const sus_attn *a, const sus_rule *rule,
                      double c, int use_mpfr, double u, int lite, sus_error *err)
{
    *x = (sus_mc_exact){.a = *a, .rule = rule, .c = c, .u = u};
    int rc = sus_attn_check(a, err);
    if (!rc)
        rc = sus_shape_sizes(&a->shape, &x->z, err);
    if (rc)
        return rc;
    x->E = x->z.q + x->z.k + x->z.v;
    x->rows = x->z.rows;
    size_t S = x->z.scores, E = x->E, P = 2 * x->rows;
    x->W = calloc(S, 8), x->q = calloc(S, 8), x->wt = calloc(S, 8);
    x->mean = calloc(E, 8), x->var = calloc(E, 8), x->range = calloc(E, 8);
    x->slack = calloc(E, 8), x->R = calloc(E * SUS_MC_J, 8);
    x->row_sq = calloc(x->rows, 8), x->row_sqq = calloc(x->rows, 8);
    x->pair_row = calloc(P, 8), x->pair_j1 = calloc(P, 8), x->pair_j2 = calloc(P, 8);
    x->pair_p = calloc(P, 8);
    double *O = calloc(x->z.o, 8), *lse = calloc(x->z.rows, 8), *tmp = calloc(S, 8);
    if (E > SIZE_MAX / 8 / SUS_MC_J || !x->W || !x->q || !x->wt || !x->mean ||
        !x->var || !x->range || !x->slack || !x->R || !x->row_sq || !x->row_sqq ||
        !x->pair_row || !x->pair_j1 || !x->pair_j2 || !x->pair_p || !O || !lse || !tmp)
        rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory for the exact moments");
    if (!rc)
        rc = sus_ref_probs(a, &sus_rule_minc, INFINITY, tmp, x->W, err);
    if (!rc)
        rc = sus_ref_probs(a, rule, c, x->q, x->wt, err);
    if (!rc) {
        sus_grads g = {O, lse, x->mean, x->mean + x->z.q, x->mean + x->z.q + x->z.k};
        rc = sus_ref_grad(a, &g, err);
    }
    if (!rc) {
        int nf = lite ? 0 : SUS_MC_J;
        for (int f = 0; f < nf; f++)
            make_functional(x, f);
        const sus_shape *sh = &a->shape;
        for (int64_t bh = 0; bh < sh->B * sh->H; bh++) {
            head h = head_at(x, O, bh);
            head_elements(x, &h);
            for (int f = 0; f < nf; f++)
                head_functional(x, &h, f);
        }
        mask_targets(x);
        if (lite)
            use_mpfr = 0;
        double work = (double)S * (double)(sh->d + sh->dv);
        x->mpfr = use_mpfr > 0 || (use_mpfr < 0 && work <= MPFR_AFFORDABLE);
        if (x->mpfr)
            rc = mpfr_moments(x, err);
    }
    if (!rc) {
        /* |y_double - y| <= tau k u |y|_mag for the samples and for mu. */
        double allow = SUS_TAU * sus_bound_k(&a->shape) * (u + 0x1p-53);
        for (size_t e = 0; e < E; e++)
            x->slack[e] *= allow;
        for (int f = 0; f < SUS_MC_J; f++) {
            const double *R = x->R + (size_t)f * E;
            x->fmu4[f] = x->fk4[f] + 3.0 * x->fvar[f] * x->fvar[f];
            x->fmean[f] = 0.0, x->fslack[f] = 0.0;
            for (size_t e = 0; e < E; e++)
                x->fmean[f] += R[e] * x->mean[e],
                    x->fslack[f] += fabs(R[e]) * x->slack[e];
            x->fslack[f] *= 1.0 + 1e-9;
        }
    }
    free(O);
    free(lse);
    free(tmp);
    if (rc)
        sus_mc_exact_free(x);
    return rc;
}

int sus_mc_exact_init(sus_mc_exact *x, const sus_attn *a, const sus_rule *rule,
                      double c, int use_mpfr, double u, sus_error *err)
{
    return exact_init(x, a, rule, c, use_mpfr, u, 0, err);
}

int sus_mc_total_var(const sus_attn *a, const sus_rule *rule, double c, double *var,
                     double *nnz, double *grad_out, sus_error *err)
{
    sus_mc_exact x;
    int rc = exact_init(&x, a, rule, c, 0, 0x1p-53, 1, err);
    if (rc)
        return rc;
    *var = 0.0;
    for (size_t e = 0; e < x.E; e++)
        *var += x.var[e];
    *nnz = x.nnz;
    if (grad_out)
        memcpy(grad_out, x.mean, x.E * sizeof(double));
    sus_mc_exact_free(&x);
    return SUS_OK;
}
