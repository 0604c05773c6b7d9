/* mask_check.c: well-formedness of a CSR mask, whoever produced it. */
#include <math.h>
#include <stdlib.h>

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
    if (mk->indptr[0] != 0)
        return sus_i_fail(err, SUS_ERR_FORMAT, "mask: indptr[0] = %lld, must be 0",
                          (long long)mk->indptr[0]);
    for (int64_t r = 0; r < mk->rows; r++) {
        int64_t lo = mk->indptr[r], hi = mk->indptr[r + 1];
        if (hi < lo || hi > mk->nnz)
            return sus_i_fail(
                err, SUS_ERR_FORMAT,
                "mask: indptr[%lld] = %lld is not in [indptr[%lld] = %lld, "
                "nnz = %lld]",
                (long long)(r + 1), (long long)hi, (long long)r, (long long)lo,
                (long long)mk->nnz);
        const int64_t i = r % sh->n;
        for (int64_t e = lo; e < hi; e++) {
            int64_t j = mk->indices[e];
            if (j < 0 || j >= sh->m)
                return sus_i_fail(
                    err, SUS_ERR_FORMAT,
                    "mask: indices[%lld] = %lld (row %lld) is outside [0, %lld)",
                    (long long)e, (long long)j, (long long)r, (long long)sh->m);
            if (e > lo && j <= mk->indices[e - 1])
                return sus_i_fail(
                    err, SUS_ERR_FORMAT,
                    "mask: row %lld is not strictly ascending: indices[%lld] = "
                    "%lld after %lld (unsorted or duplicate)",
                    (long long)r, (long long)e, (long long)j,
                    (long long)mk->indices[e - 1]);
            if (causal && j > i)
                return sus_i_fail(
                    err, SUS_ERR_FORMAT,
                    "mask: row %lld (query i = %lld) keeps key j = %lld beyond "
                    "the causal limit j <= i",
                    (long long)r, (long long)i, (long long)j);
            if (!isfinite(mk->wtilde[e]) || mk->wtilde[e] < 0.0)
                return sus_i_fail(err, SUS_ERR_FORMAT,
                                  "mask: wtilde[%lld] = %g must be finite and >= 0",
                                  (long long)e, mk->wtilde[e]);
        }
    }
    if (mk->indptr[mk->rows] != mk->nnz)
        return sus_i_fail(
            err, SUS_ERR_FORMAT, "mask: indptr[%lld] = %lld but nnz = %lld",
            (long long)mk->rows, (long long)mk->indptr[mk->rows], (long long)mk->nnz);
    sus_i_ok(err);
    return SUS_OK;
}
