/*
 * cand_buf.h: the size arithmetic of the streaming sampler's buffers: the
 * per-row candidate lists of a task (fwd_kern.h), the thread's arena of
 * kept entries, and the ping-pong buffers both grow in (fwd.c). Plain
 * integer C with ACSL contracts, proved with Frama-C/WP through the
 * harness proofs/wp/cand_buf (this very header, not a copy): capacities
 * always hold what was asked, never shrink, and no size wraps around.
 * Static inline: the kernels call them once per block or row, never per
 * entry. Internal names start with sus_fw_.
 */
#ifndef SUS_FAST_CAND_BUF_H
#define SUS_FAST_CAND_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/arith_acsl.h"

/* Entries per row for the candidate lists to hold need in each of rows
 * rows: cap (64 if 0) doubled until it holds need, so that a row filled
 * entry by entry moves O(1) times per entry. *bytes receives the lists'
 * size, rows x the result x esize bytes. Returns 0 if a size overflows. */
/*@ requires esize >= 1 && \valid(bytes);
    assigns *bytes;
    ensures \result == 0 || (\result >= need && \result >= cap && \result >= 1 &&
                             *bytes == rows * \result * esize);
*/
static inline size_t sus_fw_cand_cap(size_t cap, size_t need, size_t rows, size_t esize,
                                     size_t *bytes)
{
    size_t c = cap ? cap : 64;
    /*@ loop invariant c >= 1 && c >= cap;
        loop assigns c;
        loop variant SIZE_MAX - c;
    */
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return 0;
        c *= 2;
    }
    const size_t per_row = SIZE_MAX / esize;
    if (rows && c > per_row / rows)
        return 0;
    /*@ assert rows != 0 ==> c * rows <= per_row / rows * rows <= per_row; */
    /*@ assert per_row * esize <= SIZE_MAX; */
    /*@ assert c * rows * esize <= per_row * esize; */
    *bytes = rows * c * esize;
    return c;
}

/* *out = (len + more) x esize, the bytes of an arena of len entries and
 * more; returns 0 (leaving *out) if that overflows. */
/*@ requires \valid(out);
    assigns *out;
    ensures \result == 0 || \result == 1;
    ensures \result == 1 ==> *out == (len + more) * esize;
*/
static inline int sus_fw_arena_bytes(size_t len, size_t more, size_t esize, size_t *out)
{
    if (more > SIZE_MAX - len)
        return 0;
    const size_t n = len + more;
    if (esize && n > SIZE_MAX / esize)
        return 0;
    /*@ assert esize != 0 ==> n * esize <= SIZE_MAX / esize * esize <= SIZE_MAX; */
    *out = n * esize;
    return 1;
}

/* The new capacity of a growing buffer of cap bytes asked for need: at
 * least twice cap, so that one filled entry by entry is copied O(1) times
 * per entry. */
/*@ assigns \nothing;
    ensures \result >= need;
    ensures cap <= SIZE_MAX / 2 ==> \result >= 2 * cap;
*/
static inline size_t sus_fw_grow_want(size_t cap, size_t need)
{
    size_t want = need;
    if (cap <= SIZE_MAX / 2 && 2 * cap > want)
        want = 2 * cap;
    return want;
}

#endif
