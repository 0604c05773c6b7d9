/* report_rho.c: the relative variance increase rho of a workload (the
 * paper's "relative gradient variance increase"):
 *   rho(c) = mean over sequences of the SUS variance at c (exact, summed
 *            over every output element)
 *          / the across-sequence variance of the exact gradient (summed
 *            over every output element),
 * with the workload's seeds 1..S as its sequences. waterfill runs at the
 * budget that gives it minc's expected nnz on each sequence. */
#include <math.h>
#include <stdlib.h>

#include "report.h"

const double sus_rep_cs[SUS_REP_NC] = {4, 8, 16, 32, 64};

/* Rows with npos[r] positive weights: waterfill keeps sum_r min(c, npos_r)
 * in expectation. The c that gives nnz, by bisection. */
static double waterfill_c(const double *npos, size_t rows, double nnz)
{
    double lo = 0.0, hi = 0.0;
    for (size_t r = 0; r < rows; r++)
        hi = fmax(hi, npos[r]);
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi), tot = 0.0;
        for (size_t r = 0; r < rows; r++)
            tot += fmin(mid, npos[r]);
        if (tot < nnz)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static int positive_per_row(const sus_attn *a, const sus_sizes *z, double *npos,
                            sus_error *err)
{
    double *q = malloc(z->scores * sizeof(double)),
           *w = malloc(z->scores * sizeof(double));
    int rc = q && w ? sus_ref_probs(a, &sus_rule_minc, INFINITY, q, w, err)
                    : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < z->rows && !rc; r++) {
        npos[r] = 0.0;
        for (int64_t j = 0; j < a->shape.m; j++)
            npos[r] += w[r * (size_t)a->shape.m + (size_t)j] > 0.0;
    }
    free(q);
    free(w);
    return rc;
}

int sus_rep_rho_compute(const char *workload, int sequences, sus_rep_rho *out,
                        sus_error *err)
{
    *out = (sus_rep_rho){.workload = workload, .sequences = sequences};
    double *sum = NULL, *sum2 = NULL, *g = NULL, *npos = NULL;
    int rc = SUS_OK;
    for (int sq = 0; sq < sequences && !rc; sq++) {
        sus_wl w;
        rc = sus_wl_make(workload, (uint64_t)sq + 1, &w, err);
        if (rc)
            break;
        sus_attn a = sus_wl_problem(&w);
        size_t E = w.sizes.q + w.sizes.k + w.sizes.v;
        if (!sum) {
            sum = calloc(E, 8), sum2 = calloc(E, 8), g = calloc(E, 8);
            npos = calloc(w.sizes.rows, 8);
        }
        if (!sum || !sum2 || !g || !npos)
            rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
        if (!rc)
            rc = positive_per_row(&a, &w.sizes, npos, err);
        for (int ci = 0; ci < SUS_REP_NC && !rc; ci++) {
            double v, nnz, vw, nnzw;
            rc = sus_mc_total_var(&a, &sus_rule_minc, sus_rep_cs[ci], &v, &nnz,
                                  ci == 0 ? g : NULL, err);
            double cw = rc ? 0.0 : waterfill_c(npos, w.sizes.rows, nnz);
            if (!rc)
                rc = sus_mc_total_var(&a, &sus_rule_waterfill, cw, &vw, &nnzw, NULL,
                                      err);
            if (rc)
                break;
            out->var_minc[ci] += v / sequences, out->var_wf[ci] += vw / sequences;
            out->nnz[ci] += nnz / sequences, out->wf_c[ci] += cw / sequences;
        }
        for (size_t e = 0; e < E && !rc; e++)
            sum[e] += g[e], sum2[e] += g[e] * g[e];
        if (!rc && sq == sequences - 1)
            for (size_t e = 0; e < E; e++)
                out->seq_var +=
                    (sum2[e] - sum[e] * sum[e] / sequences) / (sequences - 1);
        sus_wl_free(&w);
    }
    free(sum);
    free(sum2);
    free(g);
    free(npos);
    return rc;
}
