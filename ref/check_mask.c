/* check_mask.c: a port's mask against the rule (its W~ values) and against
 * the canonical mask of DESIGN.md 2.4 (its kept set), with the borderline
 * band of sus.h (sus_check_port). */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "check_internal.h"

/* |S_ij|_mag = |s| sum_t |Q_it| |K_jt| of one row's allowed keys into smag,
 * and their maximum sigma_i. */
static double row_smag(const sus_attn *a, int64_t b, int64_t h, int64_t i, int64_t len,
                       double *smag)
{
    const sus_shape *sh = &a->shape;
    const double *qi = a->q + (size_t)(((b * sh->H + h) * sh->n + i) * sh->d);
    const double *kh = a->k + (size_t)((b * sh->H + h) * sh->m * sh->d);
    double sigma = 0.0;
    for (int64_t j = 0; j < len; j++) {
        double dot = 0.0;
        for (int64_t t = 0; t < sh->d; t++)
            dot += fabs(qi[t]) * fabs(kh[j * sh->d + t]);
        smag[j] = fabs(a->scale) * dot;
        if (smag[j] > sigma)
            sigma = smag[j];
    }
    return sigma;
}

/* The conditioning of q_ij and W~_ij (sus.h): minc's depend on W_ij alone;
 * other rules' also on a threshold made of the whole row. */
static double cond_of(const sus_i_check_ctx *cx, double smag, double sigma)
{
    double cond = 1.0 + smag + sigma;
    if (cx->rule != &sus_rule_minc)
        cond += 1.0 + 2.0 * sigma;
    return cond;
}

/* coef x, but 0 where x is 0: a q or W~ that is exactly 0 has no relative
 * error to bound. Without this, cond = inf (|S|_mag overflows double, at
 * logits beyond 1e308) times 0 made the bound and the band NaN. */
static double rel_term(double coef, double x)
{
    return x == 0.0 ? 0.0 : coef * x;
}

static void list_entry(sus_check_entry *list, size_t *n, sus_check_entry e)
{
    if (*n < SUS_CHECK_LISTED)
        list[(*n)++] = e;
}

/* One row of the port's mask against the canonical kept set u < q. */
static int compare_row(const sus_i_check_ctx *cx, int64_t b, int64_t h, int64_t i,
                       int64_t len, const double *smag, double sigma,
                       sus_check_report *rep, sus_error *err)
{
    const sus_shape *sh = &cx->a->shape;
    const int64_t r = (b * sh->H + h) * sh->n + i;
    const double *q = cx->q + (size_t)r * (size_t)sh->m;
    const double *wt = cx->wt + (size_t)r * (size_t)sh->m;
    /* 1/t of the row: how much an absolute error tiny in a weight moves q */
    double inv_t = 0.0;
    for (int64_t j = 0; j < len; j++)
        if (wt[j] > 0.0 && q[j] / wt[j] > inv_t)
            inv_t = q[j] / wt[j];
    int64_t e = cx->mk->indptr[r];
    const int64_t end = cx->mk->indptr[r + 1];
    for (int64_t j = 0; j < sh->m; j++) {
        int port = e < end && cx->mk->indices[e] == j;
        if (port)
            e++;
        if (j >= len || (!port && !(q[j] > 0.0)))
            continue; /* never kept canonically, nor by the port */
        double u;
        int rc = sus_canonical_uniform(cx->o->seed, b, h, i, j, &u);
        if (rc)
            return sus_i_fail(err, rc,
                              "the canonical mask needs b, h, i and j/2 below 2^32");
        int canon = u < q[j];
        if (port == canon) {
            rep->canon_same += port;
            continue;
        }
        double band =
            rel_term(cx->tau * cx->k * cx->u * cond_of(cx, smag[j], sigma), q[j]) +
            cx->tiny * inv_t;
        sus_check_entry ent = {b, h, i, j, port, u, q[j], band};
        if (fabs(u - q[j]) <= band) {
            rep->canon_borderline++;
            list_entry(rep->borderline, &rep->nborderline, ent);
        } else {
            rep->canon_mismatch++;
            list_entry(rep->mismatch, &rep->nmismatch, ent);
        }
    }
    return SUS_OK;
}

int sus_i_check_mask(const sus_i_check_ctx *cx, sus_check_report *rep, sus_error *err)
{
    const sus_attn *a = cx->a;
    const sus_shape *sh = &a->shape;
    const sus_mask *mk = cx->mk;
    double *smag = sus_i_alloc_array((size_t)sh->m, sizeof(double));
    if (!smag)
        return sus_i_fail(err, SUS_ERR_NOMEM, "sus_check_port: out of memory");
    int rc = SUS_OK;
    sus_check_stats *st = &rep->part[SUS_CHECK_WTILDE];
    for (int64_t b = 0; b < sh->B && !rc; b++)
        for (int64_t h = 0; h < sh->H && !rc; h++)
            for (int64_t i = 0; i < sh->n && !rc; i++) {
                const int64_t r = (b * sh->H + h) * sh->n + i;
                const int64_t len = a->causal ? (i + 1 < sh->m ? i + 1 : sh->m) : sh->m;
                double sigma = row_smag(a, b, h, i, len, smag);
                const double *wt = cx->wt + (size_t)r * (size_t)sh->m;
                for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++) {
                    /* the mask is well-formed: j < len */
                    int64_t j = mk->indices[e];
                    double bound =
                        rel_term(cx->tau * cx->k * cx->u * cond_of(cx, smag[j], sigma),
                                 wt[j]) +
                        cx->tiny;
                    sus_i_check_record(st, (size_t)e, mk->wtilde[e], wt[j], bound);
                }
                if (cx->o->canonical)
                    rc = compare_row(cx, b, h, i, len, smag, sigma, rep, err);
            }
    free(smag);
    return rc;
}
