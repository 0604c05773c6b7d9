/* mask.c: keep probabilities from the double reference's W, and the
 * canonical mask of DESIGN.md 2.4. */
#include <math.h>
#include <stdlib.h>

#include "../core/internal.h"
#include "csr_row.h"
#include "ref_internal.h"

int sus_ref_probs(const sus_attn *a, const sus_rule *rule, double c, double *q,
                  double *wtilde, sus_error *err)
{
    int rc = sus_i_attn_check_qk(a, err);
    if (rc)
        return rc;
    if (!rule || !rule->row || !q || !wtilde)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_ref_probs: NULL argument");
    if (!(c > 0.0))
        return sus_i_fail(err, SUS_ERR_INVAL, "c = %g: the budget must be > 0", c);
    const sus_shape *sh = &a->shape;
    const int64_t n = sh->n, m = sh->m;
    const size_t nm = (size_t)(n * m);
    sus_i_head_fwd f = {sus_i_alloc_array(nm, sizeof(double)),
                        sus_i_alloc_array(nm, sizeof(double)),
                        sus_i_alloc_array((size_t)n, sizeof(double))};
    if (!f.S || !f.W || !f.lse) {
        rc = sus_i_fail(err, SUS_ERR_NOMEM, "sus_ref_probs: out of memory");
        goto done;
    }
    for (int64_t b = 0; b < sh->B && !rc; b++)
        for (int64_t h = 0; h < sh->H && !rc; h++) {
            if ((rc = sus_i_ref_head_forward(a, b, h, &f, err)))
                break;
            size_t base = (size_t)(b * sh->H + h) * nm;
            for (int64_t i = 0; i < n && !rc; i++) {
                /* The allowed keys of a row are a prefix: j <= i if causal. */
                int64_t len = a->causal ? (i + 1 < m ? i + 1 : m) : m;
                double *qr = q + base + (size_t)(i * m),
                       *wr = wtilde + base + (size_t)(i * m);
                rc = rule->row(f.W + i * m, len, c, qr, wr);
                if (rc) {
                    rc = sus_i_fail(err, rc, "rule %s failed on row %lld: %s",
                                    rule->name, (long long)i, sus_strerror(rc));
                    break;
                }
                for (int64_t j = len; j < m; j++)
                    qr[j] = wr[j] = 0.0;
            }
        }
    if (!rc)
        sus_i_ok(err);
done:
    free(f.S);
    free(f.W);
    free(f.lse);
    return rc;
}

int sus_ref_mask(const sus_attn *a, const sus_rule *rule, double c, uint64_t seed,
                 sus_mask *out, sus_error *err)
{
    if (!out)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_ref_mask: NULL output");
    *out = (sus_mask){0};
    int rc = sus_i_attn_check_qk(a, err);
    if (rc)
        return rc;
    const sus_shape *sh = &a->shape;
    sus_sizes z;
    sus_shape_sizes(sh, &z, NULL);
    if (sh->B > UINT32_MAX || sh->H > UINT32_MAX || sh->n > UINT32_MAX ||
        sh->m / 2 > UINT32_MAX)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "the canonical mask needs b, h, i and j/2 below 2^32");
    double *q = sus_i_alloc_array(z.scores, sizeof(double));
    double *wt = sus_i_alloc_array(z.scores, sizeof(double));
    unsigned char *keep = sus_i_alloc_array((size_t)sh->m, 1);
    out->indptr = sus_i_alloc_array(z.rows + 1, sizeof(int64_t));
    if (!q || !wt || !keep || !out->indptr) {
        rc = sus_i_fail(err, SUS_ERR_NOMEM, "sus_ref_mask: out of memory");
        goto fail;
    }
    if ((rc = sus_ref_probs(a, rule, c, q, wt, err)))
        goto fail;

    /* Two passes: count, then fill, so the CSR is allocated exactly. A row
     * keeps only keys below its limit (q = 0 beyond it), and its run is
     * appended by the proved sus_i_csr_append_row (csr_row.c). */
    int64_t cap = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t nnz = 0;
        out->indptr[0] = 0;
        for (int64_t b = 0; b < sh->B; b++)
            for (int64_t h = 0; h < sh->H; h++)
                for (int64_t i = 0; i < sh->n; i++) {
                    size_t row = (size_t)((b * sh->H + h) * sh->n + i);
                    const size_t e0 = row * (size_t)sh->m;
                    const int64_t lim = a->causal && i + 1 < sh->m ? i + 1 : sh->m;
                    for (int64_t j = 0; j < lim; j++) {
                        double u;
                        sus_canonical_uniform(seed, b, h, i, j, &u);
                        keep[j] = u < q[e0 + (size_t)j];
                        if (pass == 0)
                            nnz += keep[j];
                    }
                    if (pass == 1)
                        nnz = sus_i_csr_append_row(keep, wt + e0, lim, out->indices,
                                                   out->wtilde, nnz, cap);
                    if (nnz < 0) {
                        rc = sus_i_fail(err, SUS_ERR_RANGE,
                                        "sus_ref_mask: internal error: the kept "
                                        "entries changed between passes");
                        goto fail;
                    }
                    out->indptr[row + 1] = nnz;
                }
        if (pass == 0) {
            cap = nnz;
            out->nnz = nnz;
            out->rows = (int64_t)z.rows;
            out->indices = sus_i_alloc_array((size_t)cap, sizeof(int64_t));
            out->wtilde = sus_i_alloc_array((size_t)cap, sizeof(double));
            if (!out->indices || !out->wtilde) {
                rc = sus_i_fail(err, SUS_ERR_NOMEM,
                                "sus_ref_mask: out of memory for "
                                "%lld kept entries",
                                (long long)cap);
                goto fail;
            }
        }
    }
    free(keep);
    free(q);
    free(wt);
    sus_i_ok(err);
    return SUS_OK;
fail:
    free(q);
    free(wt);
    free(keep);
    sus_mask_free(out);
    return rc;
}
