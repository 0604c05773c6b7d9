/*
 * rule_waterfill.c: the water-filling rule.
 *
 * Minimizing the variance proxy sum_j w_j^2 / q_j subject to sum_j q_j = b
 * and 0 < q_j <= 1 gives q_j = min(1, w_j / t) for a threshold t (the KKT
 * conditions; see proofs/). This spends the whole budget, where minc's
 * expected count sum min(1, c w) can be far below c.
 *
 * The exact algorithm, for one row of weights w (the allowed keys):
 *  1. c = inf: q = 1 and W~ = w for every entry (the exact gradient).
 *  2. Entries with w = 0 get q = 0 (they are never kept and contribute
 *     nothing). Let P be the number of positive weights and b = min(c, P).
 *  3. If b = P: every positive entry gets q = 1, W~ = w.
 *  4. Otherwise sort the positive weights in descending order (ties in any
 *     order: tied weights always land on the same side, see below),
 *     w(1) >= ... >= w(P). For r = 0, 1, ...: let T_r = w(r+1) + ... + w(P),
 *     summed from the smallest up, and t_r = T_r / (b - r). Take the first
 *     r with w(r+1) <= t_r. The r largest weights are capped (q = 1), the
 *     rest get q = w / t_r, and t = t_r.
 *     Such an r exists below b: at r* = ceil(b) - 1 we have 0 < b - r* <= 1,
 *     so t_r* >= T_r* >= w(r*+1) (also in floating point, where rounding is
 *     monotone). While entries are capped, t_r decreases (w(r) > t_{r-1}
 *     implies t_r < t_{r-1}), so every capped weight exceeds the final t
 *     and sum q = r + T_r / t_r = b.
 *     Ties: if w(r+1) = w(r+2) = v and v > t_r then v > t_{r+1}, so both
 *     are capped together; if v <= t_r both are uncapped. A tie is never
 *     split.
 *  5. q_j = min(1, w_j / t) and W~_j = max(w_j, t) for every positive w_j.
 */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"

static int cmp_desc(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a < b) - (a > b);
}

static int waterfill_row(const double *w, int64_t len, double c, double *q,
                         double *wtilde)
{
    if (!(c > 0.0))
        return sus_i_fail(NULL, SUS_ERR_INVAL, "c must be > 0");
    int64_t P = 0;
    for (int64_t t = 0; t < len; t++) {
        if (isinf(c)) {
            q[t] = 1.0;
            wtilde[t] = w[t];
            continue;
        }
        q[t] = w[t] > 0.0 ? 1.0 : 0.0;
        wtilde[t] = w[t] > 0.0 ? w[t] : 0.0;
        P += w[t] > 0.0;
    }
    if (isinf(c) || c >= (double)P)
        return SUS_OK;

    double *s = sus_i_alloc_array((size_t)P, sizeof(double));
    if (!s)
        return SUS_ERR_NOMEM;
    int64_t k = 0;
    for (int64_t t = 0; t < len; t++)
        if (w[t] > 0.0)
            s[k++] = w[t];
    qsort(s, (size_t)P, sizeof(double), cmp_desc);
    /* Suffix sums from the smallest up: s[r] becomes w(r+1) + ... + w(P),
     * overwriting in place after the weight is read. */
    double *T = sus_i_alloc_array((size_t)P + 1, sizeof(double));
    if (!T) {
        free(s);
        return SUS_ERR_NOMEM;
    }
    T[P] = 0.0;
    for (int64_t r = P - 1; r >= 0; r--)
        T[r] = T[r + 1] + s[r];
    double thr = T[0] / c;
    for (int64_t r = 0; r < P && (double)r < c; r++) {
        thr = T[r] / (c - (double)r);
        if (s[r] <= thr)
            break;
    }
    free(s);
    free(T);
    for (int64_t t = 0; t < len; t++) {
        if (w[t] > 0.0) {
            q[t] = fmin(1.0, w[t] / thr);
            wtilde[t] = fmax(w[t], thr);
        }
    }
    return SUS_OK;
}

const sus_rule sus_rule_waterfill = {"waterfill", waterfill_row};
