/* mask_check.c: well-formedness of a CSR mask, whoever produced it. */
#include <math.h>
#include <stdlib.h>

#include "csr_valid.h"
#include "internal.h"

void sus_mask_free(sus_mask *mk)
{
    if (!mk)
        return;
    free(mk->indptr);
    free(mk->indices);
    free(mk->wtilde);
    *mk = (sus_mask){0};
}

/* The message of a CSR fault found by sus_i_csr_check. */
static int csr_fail(const sus_mask *mk, const sus_shape *sh, const sus_i_csr_fault *f,
                    int kind, sus_error *err)
{
    const long long r = (long long)f->row, e = (long long)f->entry;
    switch (kind) {
    case SUS_CSR_BAD_START:
        return sus_i_fail(err, SUS_ERR_FORMAT, "mask: indptr[0] = %lld, must be 0",
                          (long long)mk->indptr[0]);
    case SUS_CSR_BAD_ROW_END:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "mask: indptr[%lld] = %lld is not in [indptr[%lld] = %lld, "
                          "nnz = %lld]",
                          r + 1, (long long)mk->indptr[r + 1], r,
                          (long long)mk->indptr[r], (long long)mk->nnz);
    case SUS_CSR_BAD_INDEX:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "mask: indices[%lld] = %lld (row %lld) is outside [0, %lld)",
                          e, (long long)mk->indices[e], r, (long long)sh->m);
    case SUS_CSR_UNSORTED:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "mask: row %lld is not strictly ascending: indices[%lld] = "
                          "%lld after %lld (unsorted or duplicate)",
                          r, e, (long long)mk->indices[e],
                          (long long)mk->indices[e - 1]);
    case SUS_CSR_ACAUSAL:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "mask: row %lld (query i = %lld) keeps key j = %lld beyond "
                          "the causal limit j <= i",
                          r, (long long)(f->row % sh->n), (long long)mk->indices[e]);
    default:
        return sus_i_fail(
            err, SUS_ERR_FORMAT, "mask: indptr[%lld] = %lld but nnz = %lld",
            (long long)mk->rows, (long long)mk->indptr[mk->rows], (long long)mk->nnz);
    }
}

int sus_mask_check(const sus_mask *mk, const sus_shape *sh, int causal, sus_error *err)
{
    sus_sizes z;
    int rc = sus_shape_sizes(sh, &z, err);
    if (rc)
        return rc;
    if (!mk)
        return sus_i_fail(err, SUS_ERR_INVAL, "mask: NULL argument");
    if (mk->rows != (int64_t)z.rows)
        return sus_i_fail(err, SUS_ERR_SHAPE,
                          "mask: %lld rows, but the problem has B*H*n = %zu query rows",
                          (long long)mk->rows, z.rows);
    if (!mk->indptr)
        return sus_i_fail(err, SUS_ERR_INVAL, "mask: NULL indptr");
    if (mk->nnz < 0 || (mk->nnz > 0 && (!mk->indices || !mk->wtilde)))
        return sus_i_fail(err, SUS_ERR_INVAL, "mask: nnz %lld without index arrays",
                          (long long)mk->nnz);
    /* The indices first (proved: core/csr_valid.c), then W~ over the
     * entries that passed them, so that the first violation in entry
     * order is the one reported. */
    sus_i_csr_fault f;
    const int kind = sus_i_csr_check(mk->indptr, mk->indices, mk->rows, mk->nnz, sh->n,
                                     sh->m, causal, &f);
    for (int64_t e = 0; e < f.checked; e++)
        if (!isfinite(mk->wtilde[e]) || mk->wtilde[e] < 0.0)
            return sus_i_fail(err, SUS_ERR_FORMAT,
                              "mask: wtilde[%lld] = %g must be finite and >= 0",
                              (long long)e, mk->wtilde[e]);
    if (kind != SUS_CSR_OK)
        return csr_fail(mk, sh, &f, kind, err);
    sus_i_ok(err);
    return SUS_OK;
}
