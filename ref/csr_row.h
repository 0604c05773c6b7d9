/*
 * csr_row.h: one row of the canonical mask's CSR (ref/mask.c), appended
 * from the row's keep flags. Plain integer C with an ACSL contract, proved
 * with Frama-C/WP (proofs/wp/csr_row): the appended run satisfies
 * sus_csr_run_is_valid (core/csr_acsl.h) for the row's limit and never
 * passes the arrays' capacity. Not installed.
 */
#ifndef SUS_REF_CSR_ROW_H
#define SUS_REF_CSR_ROW_H

#include <stdint.h>

/* Appends the keys j < lim with keep[j] != 0, ascending, and their wt[j]
 * at indices[nnz ..] and wtilde[nnz ..] (cap entries in all); returns the
 * new count, or -1 if it would pass cap. */
int64_t sus_i_csr_append_row(const unsigned char *keep, const double *wt, int64_t lim,
                             int64_t *indices, double *wtilde, int64_t nnz,
                             int64_t cap);

#endif
