/* csr_valid.c: the integer part of a CSR mask's well-formedness, checked
 * without floating point so that Frama-C/WP proves (proofs/wp/csr_check)
 * that it accepts only masks satisfying the ACSL predicate
 * sus_csr_is_valid (csr_acsl.h), and that each fault it reports is a real
 * violation of one of its clauses. */
#include "csr_valid.h"

/* The first entry of indices[lo, hi) that is outside [0, m), not above
 * its predecessor, or not below lim; hi if there is none. */
/*@ requires lo <= hi && \valid_read(indices + (lo .. hi - 1));
    assigns \nothing;
    ensures lo <= \result <= hi;
    ensures sus_csr_run_is_valid(indices, lo, \result, lim);
    ensures \result < hi ==> indices[\result] < 0 || indices[\result] >= m ||
            (\result > lo && indices[\result] <= indices[\result - 1]) ||
            indices[\result] >= lim;
*/
static int64_t first_bad(const int64_t *indices, int64_t lo, int64_t hi, int64_t m,
                         int64_t lim)
{
    /*@ loop invariant lo <= e <= hi;
        loop invariant sus_csr_run_is_valid(indices, lo, e, lim);
        loop assigns e;
        loop variant hi - e;
    */
    for (int64_t e = lo; e < hi; e++) {
        const int64_t j = indices[e];
        if (j < 0 || j >= m || (e > lo && j <= indices[e - 1]) || j >= lim)
            return e;
    }
    return hi;
}

/*@ requires rows >= 0 && nnz >= 0 && n >= 1 && m >= 0;
    requires \valid_read(indptr + (0 .. rows));
    requires \valid_read(indices + (0 .. nnz - 1));
    requires \valid(f);
    requires \separated(f, indptr + (0 .. rows), indices + (0 .. nnz - 1));
    assigns *f;
    // The arrays are read-only: \old only spares the provers the
    // separation from *f in the predicate's many reads.
    ensures 0 <= f->checked <= nnz;
    ensures \result == SUS_CSR_OK || \result == SUS_CSR_BAD_START ||
            \result == SUS_CSR_BAD_ROW_END || \result == SUS_CSR_BAD_INDEX ||
            \result == SUS_CSR_UNSORTED || \result == SUS_CSR_ACAUSAL ||
            \result == SUS_CSR_BAD_END;
    ensures \result == SUS_CSR_OK ==>
            \old(sus_csr_is_valid(indptr, indices, rows, nnz, n, m, causal)) &&
            f->checked == nnz;
    ensures \result == SUS_CSR_BAD_START ==> indptr[0] != 0 && f->checked == 0;
    ensures \result == SUS_CSR_BAD_ROW_END ==>
            0 <= f->row < rows && f->checked == indptr[f->row] &&
            (indptr[f->row + 1] < indptr[f->row] || indptr[f->row + 1] > nnz);
    ensures \result == SUS_CSR_BAD_INDEX || \result == SUS_CSR_UNSORTED ||
            \result == SUS_CSR_ACAUSAL ==>
            0 <= f->row < rows && f->checked == f->entry &&
            indptr[f->row] <= f->entry < indptr[f->row + 1];
    ensures \result == SUS_CSR_BAD_INDEX ==>
            indices[f->entry] < 0 || indices[f->entry] >= m;
    ensures \result == SUS_CSR_UNSORTED ==>
            f->entry > indptr[f->row] && indices[f->entry] <= indices[f->entry - 1];
    ensures \result == SUS_CSR_ACAUSAL ==>
            indices[f->entry] >= sus_csr_limit(f->row, n, m, causal);
    ensures \result == SUS_CSR_BAD_END ==> indptr[rows] != nnz;
*/
int sus_i_csr_check(const int64_t *indptr, const int64_t *indices, int64_t rows,
                    int64_t nnz, int64_t n, int64_t m, int causal, sus_i_csr_fault *f)
{
    /* One exit, so that *f is written once and the provers see one memory
     * update, not one per return. */
    int kind = SUS_CSR_OK;
    int64_t r = 0, e = 0;
    if (indptr[0] != 0) {
        kind = SUS_CSR_BAD_START;
        goto done;
    }
    /*@ loop invariant 0 <= r <= rows;
        loop invariant 0 <= indptr[r] <= nnz;
        loop invariant \forall integer r1, r2; 0 <= r1 <= r2 <= r ==>
                           indptr[r1] <= indptr[r2];
        loop invariant sus_csr_rows_are_valid(indptr, indices, 0, r, n, m, causal);
        loop assigns r, e;
        loop variant rows - r;
    */
    for (r = 0; r < rows; r++) {
        const int64_t lo = indptr[r], hi = indptr[r + 1];
        e = lo;
        if (hi < lo || hi > nnz) {
            kind = SUS_CSR_BAD_ROW_END;
            goto done;
        }
        const int64_t i = r % n;
        const int64_t lim = causal && i + 1 < m ? i + 1 : m;
        e = first_bad(indices, lo, hi, m, lim);
        if (e < hi) {
            const int64_t j = indices[e];
            kind = j < 0 || j >= m                 ? SUS_CSR_BAD_INDEX
                   : e > lo && j <= indices[e - 1] ? SUS_CSR_UNSORTED
                                                   : SUS_CSR_ACAUSAL;
            goto done;
        }
    }
    e = indptr[rows];
    if (e != nnz)
        kind = SUS_CSR_BAD_END;
done:
    f->row = r;
    f->entry = e;
    f->checked = e;
    return kind;
}
