/* csr_row.c: one row of the canonical mask's CSR (csr_row.h), with the
 * ACSL contract that proofs/wp/csr_row proves. */
#include "csr_row.h"

#include "../core/csr_acsl.h"

/*@ requires 0 <= lim && 0 <= nnz <= cap;
    requires \valid_read(keep + (0 .. lim - 1)) && \valid_read(wt + (0 .. lim - 1));
    requires \valid(indices + (nnz .. cap - 1)) && \valid(wtilde + (nnz .. cap - 1));
    requires \separated(wtilde + (nnz .. cap - 1), wt + (0 .. lim - 1));
    assigns indices[nnz .. cap - 1], wtilde[nnz .. cap - 1];
    ensures -1 <= \result <= cap;
    ensures \result >= 0 ==> nnz <= \result && sus_csr_run_is_valid(indices, nnz,
   \result, lim);
*/
int64_t sus_i_csr_append_row(const unsigned char *keep, const double *wt, int64_t lim,
                             int64_t *indices, double *wtilde, int64_t nnz, int64_t cap)
{
    /*@ loop invariant 0 <= j <= lim && \at(nnz, Pre) <= nnz <= cap;
        loop invariant sus_csr_run_is_valid(indices, \at(nnz, Pre), nnz, lim);
        loop invariant \forall integer e; \at(nnz, Pre) <= e < nnz ==> indices[e] < j;
        loop assigns j, nnz, indices[\at(nnz, Pre) .. cap - 1],
                     wtilde[\at(nnz, Pre) .. cap - 1];
        loop variant lim - j;
    */
    for (int64_t j = 0; j < lim; j++) {
        if (!keep[j])
            continue;
        if (nnz == cap)
            return -1;
        indices[nnz] = j;
        wtilde[nnz] = wt[j];
        nnz++;
    }
    return nnz;
}
