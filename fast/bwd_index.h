/*
 * bwd_index.h: the index arithmetic of fast/'s sparse backward (bwd.c):
 * balanced shares of rows and columns, and the per-column entry counts of
 * a block of CSR rows. Plain integer C with ACSL contracts, proved with
 * Frama-C/WP (proofs/wp/bwd_index): every index they form, and every index
 * bwd.c forms from their results, stays in bounds for a well-formed CSR
 * (sus_csr_is_valid, core/csr_acsl.h), which bwd.c checks first. Internal
 * names start with sus_fb_.
 */
#ifndef SUS_FAST_BWD_INDEX_H
#define SUS_FAST_BWD_INDEX_H

#include <stdint.h>

/* Thread tid's share [*a, *b) of the rows or columns [lo, hi) whose
 * entries start at base[lo .. hi] (non-decreasing), balanced by entries
 * plus one unit per row or column: lo <= *a <= *b <= hi. */
void sus_fb_share(const int64_t *base, int64_t lo, int64_t hi, int tid, int nt,
                  int64_t *a, int64_t *b);

/* Thread tid's share [*r0, *r1) of the rows of block b (brows rows each)
 * of a head of n rows with CSR row starts ip[0 .. n]. */
void sus_fb_row_share(const int64_t *ip, int64_t n, int64_t brows, int64_t b, int tid,
                      int nt, int64_t *r0, int64_t *r1);

/* cnt[j] += the number of entries e in [e0, e1) with indices[e] = j, for
 * indices in [0, m). */
void sus_fb_count_cols(const int64_t *indices, int64_t e0, int64_t e1, int64_t *cnt,
                       int64_t m);

#endif
