/* csr_build.c: the forward's CSR assembly (csr_build.h), with the ACSL
 * contracts that proofs/wp/csr_build proves. */
#include "csr_build.h"

#include "../core/csr_acsl.h"

/*@ predicate sus_fw_counts_ok(int64_t *c, integer rows, integer m) =
      \forall integer r; 0 <= r < rows ==> 0 <= c[r] <= m;
*/

/*@ requires rows >= 0 && m >= 0;
    requires \valid_read(cnt + (0 .. rows - 1)) && \valid(indptr + (0 .. rows));
    requires \separated(cnt + (0 .. rows - 1), indptr + (0 .. rows));
    assigns indptr[0 .. rows];
    ensures \result == -1 || \result >= 0;
    ensures \result >= 0 ==>
            sus_fw_counts_ok(cnt, rows, m) && sus_csr_indptr_is_valid(indptr, rows,
   \result) &&
            (\forall integer r; 0 <= r < rows ==> indptr[r + 1] - indptr[r] == cnt[r]);
*/
int64_t sus_fw_csr_offsets(const int64_t *cnt, int64_t rows, int64_t m, int64_t *indptr)
{
    indptr[0] = 0;
    /*@ loop invariant 0 <= r <= rows;
        loop invariant indptr[0] == 0 && 0 <= indptr[r];
        loop invariant sus_fw_counts_ok(cnt, r, m);
        loop invariant \forall integer r1, r2; 0 <= r1 <= r2 <= r ==>
                           indptr[r1] <= indptr[r2];
        loop invariant \forall integer k; 0 <= k < r ==>
                           indptr[k + 1] - indptr[k] == cnt[k];
        loop assigns r, indptr[1 .. rows];
        loop variant rows - r;
    */
    for (int64_t r = 0; r < rows; r++) {
        if (cnt[r] < 0 || cnt[r] > m || cnt[r] > INT64_MAX - indptr[r])
            return -1;
        indptr[r + 1] = indptr[r] + cnt[r];
    }
    return indptr[rows];
}

/*@ requires 0 <= e0 <= e1;
    requires \valid_read(src + (0 .. e1 - e0 - 1));
    requires \valid(indices + (e0 .. e1 - 1)) && \valid(wt + (e0 .. e1 - 1));
    requires \separated(indices + (e0 .. e1 - 1), wt + (e0 .. e1 - 1),
                        src + (0 .. e1 - e0 - 1));
    assigns indices[e0 .. e1 - 1], wt[e0 .. e1 - 1];
    ensures \forall integer e; e0 <= e < e1 ==> indices[e] == src[e - e0].j;
*/
void sus_fw_csr_copy(const sus_fw_kept *src, int64_t e0, int64_t e1, int64_t *indices,
                     double *wt)
{
    /*@ loop invariant e0 <= e <= e1;
        loop invariant \forall integer k; e0 <= k < e ==> indices[k] == src[k - e0].j;
        loop assigns e, indices[e0 .. e1 - 1], wt[e0 .. e1 - 1];
        loop variant e1 - e;
    */
    for (int64_t e = e0; e < e1; e++) {
        indices[e] = src[e - e0].j;
        wt[e] = src[e - e0].w;
    }
}
