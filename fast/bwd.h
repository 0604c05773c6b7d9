/*
 * bwd.h: fast/'s backward passes (the sparse SUS backward and the dense
 * flash-style exact backward): the per-head argument block and the kernel
 * table that bwd.c dispatches through. The kernels are one template
 * (bwd_kern.h) compiled once per SIMD level (kern_bwd_portable.c,
 * kern_bwd_avx2.c, kern_bwd_avx512.c) and per dtype. Internal names start
 * with sus_fb_.
 */
#ifndef SUS_FAST_BWD_H
#define SUS_FAST_BWD_H

#include <stddef.h>
#include <stdint.h>

#include "sus.h"

/* Tile sizes of the dense backward. Both passes use the same query x key
 * tiling, so a tile's S and W are computed bit-identically in each. BK is a
 * multiple of every level's vector width (64 bytes). */
#define SUS_FB_BQ 64
#define SUS_FB_BK 64

/* One head of a backward problem. Arrays are float or double per the
 * kernel's dtype; pointers are already offset to the head. */
typedef struct sus_fb_head {
    int64_t n, m, d, dv;
    double scale;
    int causal;
    const void *q, *k, *v, *dout;
    const void *dd; /* D_i = dO_i . O_i, n values */
    void *dq, *dk, *dv_out;

    /* Sparse: the head's rows of the CSR mask (indptr[0] need not be 0);
     * its CSC view, colptr[m + 1] indexing csc (sus_fb_centry of the
     * dtype), each column in ascending row order. */
    const int64_t *indptr, *indices;
    const double *wtilde;
    const int64_t *colptr;
    void *csc;
    int first; /* the first block of rows (see bwd.c) */

    /* Dense: lse (n values), K and V transposed into kt[d][ldt] and
     * vt[dv][ldt], ldt = m rounded up to a multiple of SUS_FB_BK, the
     * padding zeroed. */
    const void *lse;
    const void *kt, *vt;
    int64_t ldt;
} sus_fb_head;

/* The per-thread workspace of the dense backward, in elements of the
 * dtype (64-byte aligned). */
#define SUS_FB_DENSE_WS(d, dv)                                                         \
    ((size_t)2 * SUS_FB_BQ * SUS_FB_BK + (size_t)SUS_FB_BK * ((size_t)(d) + (dv)) +    \
     (size_t)SUS_FB_BQ * (size_t)(d))

/* A CSC entry: query row and W~ (8 bytes in float32); the SUS backward's
 * pass A replaces W~ with s t once it has used it. */
typedef struct sus_fb_centry_f32 {
    int32_t i;
    float w;
} sus_fb_centry_f32;
typedef struct sus_fb_centry_f64 {
    int64_t i;
    double w;
} sus_fb_centry_f64;

typedef struct sus_fb_kern {
    /* out[r] = a_r . b_r for rows [r0, r1) of two arrays of width w. */
    void (*rowdot)(const void *a, const void *b, int64_t w, int64_t r0, int64_t r1,
                   void *out);
    /* Sparse, in order (see bwd.c): scatter the CSR rows [i0, i1) into
     * the CSC, pos[j] being the next free entry of column j; then t and dV
     * for columns [j0, j1); dK for columns [j0, j1); dQ for rows [i0, i1),
     * whose entries are the CSC entries [lo[j], hi[j]) of each column j.
     * Each writes every element of its rows or columns. */
    void (*scatter)(const sus_fb_head *h, int64_t i0, int64_t i1, int64_t *pos);
    void (*sparse_v)(const sus_fb_head *h, int64_t j0, int64_t j1);
    void (*sparse_k)(const sus_fb_head *h, int64_t j0, int64_t j1);
    void (*sparse_q)(const sus_fb_head *h, int64_t i0, int64_t i1, const int64_t *lo,
                     const int64_t *hi);
    /* Dense: K, V columns [j0, j1) into kt, vt (j1 <= ldt; the padding
     * columns j >= m are zeroed). */
    void (*transpose)(const sus_fb_head *h, void *kt, void *vt, int64_t j0, int64_t j1);
    /* Dense pass 1: dQ of the query block starting at i0; pass 2: dK and dV
     * of the key block starting at j0. ws: SUS_FB_DENSE_WS elements. */
    void (*dense_q)(const sus_fb_head *h, int64_t i0, void *ws);
    void (*dense_k)(const sus_fb_head *h, int64_t j0, void *ws);
} sus_fb_kern;

extern const sus_fb_kern sus_fb_kern_portable_f32, sus_fb_kern_portable_f64;
extern const sus_fb_kern sus_fb_kern_avx2_f32, sus_fb_kern_avx2_f64;
extern const sus_fb_kern sus_fb_kern_avx512_f32, sus_fb_kern_avx512_f64;

#endif
