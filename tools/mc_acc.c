/* mc_acc.c: the accumulators of a campaign's samples (mc.h). One update is
 * the merge of a single observation, so that a run and a merge of shards go
 * through the same formulas (Chan et al. for M2; Pebay 2008 for M3, M4). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mc.h"

enum { EL_W = 2, FN_W = 4, ROW_W = 4 };

void sus_mc_acc_views(sus_mc_acc *acc)
{
    double *p = acc->data;
    acc->el = p, p += acc->E * EL_W;
    acc->fn = p, p += acc->J * FN_W;
    acc->row = p, p += acc->R * ROW_W;
    acc->bin = p, p += acc->NB;
    acc->pair = p;
}

int sus_mc_acc_init(sus_mc_acc *acc, const sus_mc_exact *x, int has_mask,
                    sus_error *err)
{
    *acc = (sus_mc_acc){.E = x->E, .J = SUS_MC_J, .has_mask = has_mask};
    if (has_mask)
        acc->R = x->rows, acc->NB = SUS_MC_NBINS + 1, acc->P = x->npairs;
    acc->len = acc->E * EL_W + acc->J * FN_W + acc->R * ROW_W + acc->NB + acc->P;
    acc->data = calloc(acc->len, sizeof(double));
    if (!acc->data)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory for the accumulators");
    sus_mc_acc_views(acc);
    return SUS_OK;
}

void sus_mc_acc_free(sus_mc_acc *acc)
{
    free(acc->data);
    *acc = (sus_mc_acc){0};
}

/* a (count na) += b (count nb), central moments up to order k (2 or 4). */
static void merge_moments(double *a, double na, const double *b, double nb, int k)
{
    double n = na + nb;
    if (nb == 0.0)
        return;
    if (na == 0.0) {
        memcpy(a, b, (size_t)k * sizeof(double));
        return;
    }
    double d = b[0] - a[0], dn = d / n, nab = na * nb;
    double m2 = a[1] + b[1] + d * dn * nab;
    if (k == 4) {
        double m3 = a[2] + b[2] + d * dn * dn * nab * (na - nb) +
                    3.0 * dn * (na * b[1] - nb * a[1]);
        double m4 = a[3] + b[3] + d * dn * dn * dn * nab * (na * na - nab + nb * nb) +
                    6.0 * dn * dn * (na * na * b[1] + nb * nb * a[1]) +
                    4.0 * dn * (na * b[2] - nb * a[2]);
        a[2] = m3, a[3] = m4;
    }
    a[0] += dn * nb;
    a[1] = m2;
}

static void push(double *a, double na, double x, int k)
{
    double one[4] = {x, 0.0, 0.0, 0.0};
    merge_moments(a, na, one, 1.0, k);
}

static int kept(const sus_mask *mk, int64_t r, int64_t j)
{
    int64_t lo = mk->indptr[r], hi = mk->indptr[r + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (mk->indices[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < mk->indptr[r + 1] && mk->indices[lo] == j;
}

static void push_mask(sus_mc_acc *acc, const sus_mc_exact *x, const sus_mask *mk)
{
    const int64_t m = x->a.shape.m;
    double ones_kept = 0.0;
    for (size_t r = 0; r < acc->R; r++) {
        const double *qr = x->q + r * (size_t)m;
        for (int64_t e = mk->indptr[r]; e < mk->indptr[r + 1]; e++) {
            double qe = qr[mk->indices[e]];
            if (qe == 1.0)
                ones_kept += 1.0;
            else if (qe > 0.0)
                acc->bin[sus_mc_bin_of(qe)] += 1.0;
            else /* a never-kept entry kept: a calibration violation */
                acc->bin[SUS_MC_NBINS] += 1.0;
        }
        push(acc->row + r * ROW_W, acc->n, (double)(mk->indptr[r + 1] - mk->indptr[r]),
             4);
    }
    /* An always-kept entry missing is also a violation. */
    acc->bin[SUS_MC_NBINS] += x->n_one - ones_kept;
    for (size_t p = 0; p < acc->P; p++)
        if (kept(mk, x->pair_row[p], x->pair_j1[p]) &&
            kept(mk, x->pair_row[p], x->pair_j2[p]))
            acc->pair[p] += 1.0;
}

void sus_mc_acc_push(sus_mc_acc *acc, const sus_mc_exact *x, const double *y,
                     const sus_mask *mk)
{
    for (size_t e = 0; e < acc->E; e++)
        push(acc->el + e * EL_W, acc->n, y[e], 2);
    for (size_t f = 0; f < acc->J; f++) {
        const double *R = x->R + f * x->E;
        double L = 0.0;
        for (size_t e = 0; e < acc->E; e++)
            L += R[e] * y[e];
        push(acc->fn + f * FN_W, acc->n, L, 4);
    }
    if (acc->has_mask && mk)
        push_mask(acc, x, mk);
    acc->n += 1.0;
}

int sus_mc_acc_merge(sus_mc_acc *into, const sus_mc_acc *from, sus_error *err)
{
    if (into->E != from->E || into->J != from->J || into->R != from->R ||
        into->NB != from->NB || into->P != from->P || into->has_mask != from->has_mask)
        return sus_cli_fail(err, SUS_ERR_SHAPE, "accumulators of different campaigns");
    double na = into->n, nb = from->n;
    for (size_t e = 0; e < into->E; e++)
        merge_moments(into->el + e * EL_W, na, from->el + e * EL_W, nb, 2);
    for (size_t f = 0; f < into->J; f++)
        merge_moments(into->fn + f * FN_W, na, from->fn + f * FN_W, nb, 4);
    for (size_t r = 0; r < into->R; r++)
        merge_moments(into->row + r * ROW_W, na, from->row + r * ROW_W, nb, 4);
    for (size_t b = 0; b < into->NB; b++)
        into->bin[b] += from->bin[b];
    for (size_t p = 0; p < into->P; p++)
        into->pair[p] += from->pair[p];
    into->n = na + nb;
    return SUS_OK;
}
