/*
 * csr_acsl.h: well-formedness of a CSR mask, stated once in ACSL for the
 * Frama-C/WP proofs (proofs/wp/) and mirrored at run time by
 * sus_i_csr_check (core/csr_valid.c), which sus_mask_check calls. The
 * comments are plain C comments to the compiler: this header declares no
 * C code.
 *
 * A CSR mask of `rows` rows (B*H*n: the query rows of every head), m keys
 * and nnz entries is valid when
 *  - indptr[0] = 0, indptr is non-decreasing and indptr[rows] = nnz;
 *  - each row's indices are in [0, limit) and strictly ascending, where
 *    the limit is m, or min(i + 1, m) under a causal mask (i = row mod n,
 *    the query index within its head: j <= i).
 */
#ifndef SUS_CORE_CSR_ACSL_H
#define SUS_CORE_CSR_ACSL_H

#include <stdint.h>

/*@
  logic integer sus_csr_limit(integer r, integer n, integer m, integer causal) =
      causal != 0 && r % n + 1 < m ? r % n + 1 : m;

  predicate sus_csr_indptr_is_valid(int64_t *indptr, integer rows, integer nnz) =
      indptr[0] == 0 && indptr[rows] == nnz &&
      (\forall integer r1, r2; 0 <= r1 <= r2 <= rows ==> indptr[r1] <= indptr[r2]);

  predicate sus_csr_run_is_valid(int64_t *indices, integer lo, integer hi,
                                 integer lim) =
      (\forall integer e; lo <= e < hi ==> 0 <= indices[e] < lim) &&
      (\forall integer e; lo < e < hi ==> indices[e - 1] < indices[e]);

  predicate sus_csr_rows_are_valid(int64_t *indptr, int64_t *indices, integer r0,
                                   integer r1, integer n, integer m,
                                   integer causal) =
      \forall integer r; r0 <= r < r1 ==>
          sus_csr_run_is_valid(indices, indptr[r], indptr[r + 1],
                               sus_csr_limit(r, n, m, causal));

  predicate sus_csr_is_valid(int64_t *indptr, int64_t *indices, integer rows,
                             integer nnz, integer n, integer m, integer causal) =
      sus_csr_indptr_is_valid(indptr, rows, nnz) &&
      sus_csr_rows_are_valid(indptr, indices, 0, rows, n, m, causal);
*/

#endif
