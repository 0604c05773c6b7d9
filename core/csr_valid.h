/*
 * csr_valid.h: the integer well-formedness check of a CSR mask, shared by
 * sus_mask_check (core/mask_check.c) and proved against the ACSL
 * predicates of csr_acsl.h (proofs/wp/csr_check). Not installed.
 */
#ifndef SUS_CORE_CSR_VALID_H
#define SUS_CORE_CSR_VALID_H

#include <stdint.h>

#include "csr_acsl.h"

/* The first violation sus_i_csr_check finds, in the order sus_mask_check
 * reports them. */
enum sus_i_csr_fault_kind {
    SUS_CSR_OK = 0,
    SUS_CSR_BAD_START,   /* indptr[0] != 0 */
    SUS_CSR_BAD_ROW_END, /* indptr[row + 1] outside [indptr[row], nnz] */
    SUS_CSR_BAD_INDEX,   /* indices[entry] outside [0, m) */
    SUS_CSR_UNSORTED,    /* indices[entry] <= indices[entry - 1] in a row */
    SUS_CSR_ACAUSAL,     /* indices[entry] > the row's query index (causal) */
    SUS_CSR_BAD_END      /* indptr[rows] != nnz */
};

typedef struct sus_i_csr_fault {
    int64_t row, entry;
    /* Entries [0, checked) passed every index check before the fault: the
     * ones whose W~ sus_mask_check tests before reporting it. */
    int64_t checked;
} sus_i_csr_fault;

/* Checks indptr[0 .. rows] and indices[0 .. nnz) of a mask of n query
 * rows per head and m keys (causal: j <= row mod n); returns the first
 * violation's kind (SUS_CSR_OK if none) and fills *f. */
int sus_i_csr_check(const int64_t *indptr, const int64_t *indices, int64_t rows,
                    int64_t nnz, int64_t n, int64_t m, int causal, sus_i_csr_fault *f);

#endif
