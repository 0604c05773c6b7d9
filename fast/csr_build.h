/*
 * csr_build.h: the assembly of the forward's CSR mask (fwd.c) from the
 * tasks' per-row counts and kept entries. Plain integer C with ACSL
 * contracts, proved with Frama-C/WP (proofs/wp/csr_build): the offsets
 * satisfy sus_csr_indptr_is_valid (core/csr_acsl.h) for the counted total,
 * and the copies stay inside the mask. Internal names start with sus_fw_.
 */
#ifndef SUS_FAST_CSR_BUILD_H
#define SUS_FAST_CSR_BUILD_H

#include <stdint.h>

/* One entry of the mask as a task emits it, before assembly. */
typedef struct sus_fw_kept {
    int64_t j;
    double w;
} sus_fw_kept;

/* indptr[0 .. rows] from the rows' counts cnt[0 .. rows); returns the
 * total, indptr[rows], or -1 if a count is outside [0, m] (a row keeps at
 * most its m keys) or the total overflows int64. */
int64_t sus_fw_csr_offsets(const int64_t *cnt, int64_t rows, int64_t m,
                           int64_t *indptr);

/* The entries src[0, e1 - e0) into indices and wt at [e0, e1). */
void sus_fw_csr_copy(const sus_fw_kept *src, int64_t e0, int64_t e1, int64_t *indices,
                     double *wt);

#endif
