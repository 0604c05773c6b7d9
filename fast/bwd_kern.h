/*
 * bwd_kern.h: the backward kernels, written once and compiled once per
 * (SIMD level, dtype) by the kern_bwd_<dtype>_<level>.c files, which define
 * before including it:
 *   FB_REAL    float or double
 *   FB_F32     1 for float, 0 for double
 *   FB_IREAL   the signed integer type of the same width (int32_t, int64_t)
 *   FB_VBYTES  the vector width in bytes (16, 32, 64)
 *   FB_R       rows per register tile of the small GEMM (<= 4)
 *   FB_NV      vectors per register tile of the small GEMM (<= 4)
 *   FB_FMA(a, b, c)  a * b + c on vectors (fused where the level has FMA)
 *   FB_TABLE   the name of the sus_fb_kern table to define
 *
 * The code uses GNU vector extensions (gcc and clang) rather than
 * intrinsics, so that one source serves every level: the compiler lowers
 * a vector of FB_VBYTES to the level's registers. Every output element is
 * summed in a fixed order that depends only on the problem (never on the
 * thread count or the partition): that is what makes fast/'s backward
 * bit-identical for any number of threads.
 */
#if !defined(FB_REAL) || !defined(FB_F32) || !defined(FB_IREAL) ||                     \
    !defined(FB_VBYTES) || !defined(FB_R) || !defined(FB_NV) || !defined(FB_FMA) ||    \
    !defined(FB_TABLE)
#error "bwd_kern.h is a template: include it from a kern_bwd_*.c file"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bwd.h"

typedef FB_REAL real;
typedef FB_REAL V __attribute__((vector_size(FB_VBYTES)));
typedef FB_IREAL VI __attribute__((vector_size(FB_VBYTES)));

#define VW     ((int)(FB_VBYTES / sizeof(real)))
#define INL    static inline __attribute__((always_inline))
#define R_MAX  4
#define NV_MAX 4
/* Mask entries processed per batch: their coefficients are computed first,
 * then accumulated with the accumulators held in registers. */
#define TB 16
/* Prefetch distance, in mask entries (4 to 32 measured alike). */
#define PF 8

/* Unaligned loads and stores: the rows of Q, K, V and dO have any width. */
INL V vload(const real *p)
{
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}

INL void vstore(real *p, V v)
{
    memcpy(p, &v, sizeof v);
}

INL V vbcast(real x)
{
    return (V){0} + x;
}

INL V vsel(VI m, V a, V b)
{
    return (V)(((VI)a & m) | ((VI)b & ~m));
}

/* Sum of the lanes, as a fixed tree: the two halves added, recursively.
 * Lane shuffles keep it in registers (a memcpy of the halves went through
 * the stack). */
typedef real V32 __attribute__((vector_size(32)));
typedef real V16 __attribute__((vector_size(16)));

#if defined(__clang__) || __GNUC__ >= 12
#define HALVES(v, ...) __builtin_shufflevector((v), (v), __VA_ARGS__)
#endif

INL real hsum16(V16 v)
{
#if FB_F32
    return (v[0] + v[2]) + (v[1] + v[3]);
#else
    return v[0] + v[1];
#endif
}

INL real hsum(V v)
{
#if FB_VBYTES == 64 && defined(HALVES) && FB_F32
    V32 h = HALVES(v, 0, 1, 2, 3, 4, 5, 6, 7) + HALVES(v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif FB_VBYTES == 64 && defined(HALVES)
    V32 h = HALVES(v, 0, 1, 2, 3) + HALVES(v, 4, 5, 6, 7);
#elif FB_VBYTES == 64
    V32 a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, (const char *)&v + sizeof a, sizeof b);
    V32 h = a + b;
#elif FB_VBYTES == 32
    V32 h = v;
#endif
#if FB_VBYTES >= 32 && defined(HALVES) && FB_F32
    return hsum16(HALVES(h, 0, 1, 2, 3) + HALVES(h, 4, 5, 6, 7));
#elif FB_VBYTES >= 32 && defined(HALVES)
    return hsum16(HALVES(h, 0, 1) + HALVES(h, 2, 3));
#elif FB_VBYTES >= 32
    V16 c, e;
    memcpy(&c, &h, sizeof c);
    memcpy(&e, (const char *)&h + sizeof c, sizeof e);
    return hsum16(c + e);
#else
    return hsum16(v);
#endif
}

/* a . b over w elements: two vector accumulators (to halve the dependency
 * chain), then the lanes, then a scalar tail; the order depends on w only. */
INL real dot(const real *a, const real *b, int64_t w)
{
    V s0 = {0}, s1 = {0};
    int64_t k = 0;
    for (; k + 2 * VW <= w; k += 2 * VW) {
        s0 = FB_FMA(vload(a + k), vload(b + k), s0);
        s1 = FB_FMA(vload(a + k + VW), vload(b + k + VW), s1);
    }
    if (k + VW <= w) {
        s0 = FB_FMA(vload(a + k), vload(b + k), s0);
        k += VW;
    }
    real s = hsum(s0 + s1);
    for (; k < w; k++)
        s += a[k] * b[k];
    return s;
}

/* ------------------------------------------------------------------------ */
/* Batched row accumulation for the sparse backward                         */
/* ------------------------------------------------------------------------ */

/* out[off .. off + NV*VW) = (first ? 0 : out) + sum_e coef[e] rows[e][...],
 * accumulated in registers. */
INL void axpy_chunk(int NV, real *out, const real *const *rows, const real *coef,
                    int nb, int64_t off, int first)
{
    V acc[NV_MAX];
    for (int v = 0; v < NV; v++)
        acc[v] = first ? (V){0} : vload(out + off + v * VW);
    for (int e = 0; e < nb; e++) {
        V x = vbcast(coef[e]);
        const real *r = rows[e] + off;
        for (int v = 0; v < NV; v++)
            acc[v] = FB_FMA(x, vload(r + v * VW), acc[v]);
    }
    for (int v = 0; v < NV; v++)
        vstore(out + off + v * VW, acc[v]);
}

/* The same over a whole row of width w: chunks of up to 4 vectors (so the
 * accumulators stay in registers), then a scalar tail. */
static void axpy_rows(real *out, int64_t w, const real *const *rows, const real *coef,
                      int nb, int first)
{
    int64_t off = 0;
    for (; off + 4 * VW <= w; off += 4 * VW)
        axpy_chunk(4, out, rows, coef, nb, off, first);
    switch ((w - off) / VW) {
    case 3:
        axpy_chunk(3, out, rows, coef, nb, off, first);
        off += 3 * VW;
        break;
    case 2:
        axpy_chunk(2, out, rows, coef, nb, off, first);
        off += 2 * VW;
        break;
    case 1:
        axpy_chunk(1, out, rows, coef, nb, off, first);
        off += VW;
        break;
    default:
        break;
    }
    for (; off < w; off++) {
        real acc = first ? 0 : out[off];
        for (int e = 0; e < nb; e++)
            acc += coef[e] * rows[e][off];
        out[off] = acc;
    }
}

/* Pulls a row of w elements towards the cache ahead of its use: the mask
 * hits the rows of dO, Q and dQ at random, which the hardware prefetchers
 * cannot guess (without it, pass A took twice as long at n = 65536). */
INL void prefetch_row(const real *p, int64_t w)
{
    const char *c = (const char *)p;
    for (int64_t b = 0; b < w * (int64_t)sizeof(real); b += 64)
        __builtin_prefetch(c + b);
}

static void k_rowdot(const void *a_, const void *b_, int64_t w, int64_t r0, int64_t r1,
                     void *out_)
{
    const real *a = a_, *b = b_;
    real *out = out_;
    for (int64_t r = r0; r < r1; r++)
        out[r] = dot(a + r * w, b + r * w, w);
}

#if FB_F32
typedef sus_fb_centry_f32 centry;
#else
typedef sus_fb_centry_f64 centry;
#endif

/* Prefetch distance of the scatter's destinations, in mask entries. */
#define SPF 16

/* Rows [i0, i1) into the CSC, in row order (so each column lists its rows
 * in ascending order). */
static void k_scatter(const sus_fb_head *h, int64_t i0, int64_t i1, int64_t *pos)
{
    centry *csc = h->csc;
    const int64_t eend = h->indptr[i1];
    for (int64_t i = i0; i < i1; i++)
        for (int64_t e = h->indptr[i]; e < h->indptr[i + 1]; e++) {
            /* The destinations are random: fetch them ahead (a column that
             * recurs meanwhile moves on by a slot or two, still near). */
            if (e + SPF < eend)
                __builtin_prefetch(csc + pos[h->indices[e + SPF]], 1);
            const int64_t p = pos[h->indices[e]]++;
            csc[p].i = (FB_IREAL)i;
            csc[p].w = (real)h->wtilde[e];
        }
}

/* Pass A, over columns, for the CSC block of one block of rows: st_ij =
 * s W~_ij (dO_i . V_j - D_i), computed once and stored over W~ in the CSC
 * entry (W~ is not needed after this pass) for passes B and C, and
 * dV_j += W~_ij dO_i, i ascending. dV_j starts from 0 in the first block
 * (h->first) and from its stored value after, so the blocks only split
 * the sum, never reorder it. */
static void k_sparse_v(const sus_fb_head *h, int64_t j0, int64_t j1)
{
    const real *Vv = h->v, *dO = h->dout, *D = h->dd;
    centry *csc = h->csc;
    real *dV = h->dv_out;
    const int64_t dv = h->dv;
    const real s = (real)h->scale;
    const int64_t pend = h->colptr[j1];
    for (int64_t j = j0; j < j1; j++) {
        const real *vj = Vv + j * dv;
        real *out = dV + j * dv;
        const int64_t p0 = h->colptr[j], p1 = h->colptr[j + 1];
        if (p0 == p1 && h->first)
            memset(out, 0, (size_t)dv * sizeof *out);
        for (int64_t b = p0; b < p1; b += TB) {
            const int nb = p1 - b < TB ? (int)(p1 - b) : TB;
            const real *rows[TB];
            real coef[TB];
            for (int e = 0; e < nb; e++) {
                if (b + e + PF < pend)
                    prefetch_row(dO + (int64_t)csc[b + e + PF].i * dv, dv);
                const int64_t i = csc[b + e].i;
                const real w = csc[b + e].w;
                rows[e] = dO + i * dv;
                coef[e] = w;
                csc[b + e].w = s * (w * (dot(rows[e], vj, dv) - D[i]));
            }
            axpy_rows(out, dv, rows, coef, nb, h->first && b == p0);
        }
    }
}

/* Pass B, over columns, for one block as pass A: dK_j += st_ij Q_i. */
static void k_sparse_k(const sus_fb_head *h, int64_t j0, int64_t j1)
{
    const real *Q = h->q;
    const centry *csc = h->csc;
    real *dK = h->dk;
    const int64_t d = h->d;
    const int64_t pend = h->colptr[j1];
    for (int64_t j = j0; j < j1; j++) {
        real *out = dK + j * d;
        const int64_t p0 = h->colptr[j], p1 = h->colptr[j + 1];
        if (p0 == p1 && h->first)
            memset(out, 0, (size_t)d * sizeof *out);
        for (int64_t b = p0; b < p1; b += TB) {
            const int nb = p1 - b < TB ? (int)(p1 - b) : TB;
            const real *rows[TB];
            real coef[TB];
            for (int e = 0; e < nb; e++) {
                if (b + e + PF < pend)
                    prefetch_row(Q + (int64_t)csc[b + e + PF].i * d, d);
                rows[e] = Q + (int64_t)csc[b + e].i * d;
                coef[e] = csc[b + e].w;
            }
            axpy_rows(out, d, rows, coef, nb, h->first && b == p0);
        }
    }
}

/* out[0, w) += x r[0, w). */
INL void axpy1(real *out, real x, const real *r, int64_t w)
{
    const V xv = vbcast(x);
    int64_t c = 0;
    for (; c + VW <= w; c += VW)
        vstore(out + c, FB_FMA(xv, vload(r + c), vload(out + c)));
    for (; c < w; c++)
        out[c] += x * r[c];
}

/* Moves (j, p) to the first entry at or after p of the runs [lo[j], hi[j])
 * (j = m past the last). */
INL void pf_fix(const int64_t *lo, const int64_t *hi, int64_t m, int64_t *j, int64_t *p)
{
    while (*j < m && *p >= hi[*j])
        if (++*j < m)
            *p = lo[*j];
}

/* Pass C: dQ_i = sum_j st_ij K_j for rows [i0, i1), j ascending, walking
 * their block's CSC column by column (so K is read in order and K_j stays in cache
 * while the rows of column j are updated). Column j's entries of these
 * rows are CSC entries [lo[j], hi[j]): a contiguous run, since the CSC
 * lists each column's rows in ascending order. This needs s t in CSC order
 * only, where pass A left it, instead of moving it to CSR order. */
static void k_sparse_q(const sus_fb_head *h, int64_t i0, int64_t i1, const int64_t *lo,
                       const int64_t *hi)
{
    const real *K = h->k;
    const centry *csc = h->csc;
    real *dQ = h->dq;
    const int64_t d = h->d, m = h->m;
    memset(dQ + i0 * d, 0, (size_t)((i1 - i0) * d) * sizeof *dQ);
    /* The prefetch cursor (jp, pp) runs PF entries ahead, across columns. */
    int64_t jp = 0, pp = lo[0];
    pf_fix(lo, hi, m, &jp, &pp);
    for (int k = 0; k < PF && jp < m; k++) {
        pp++;
        pf_fix(lo, hi, m, &jp, &pp);
    }
    for (int64_t j = 0; j < m; j++) {
        const int64_t p1 = hi[j];
        const real *kj = K + j * d;
        for (int64_t p = lo[j]; p < p1; p++) {
            if (jp < m) {
                prefetch_row(dQ + (int64_t)csc[pp].i * d, d);
                pp++;
                pf_fix(lo, hi, m, &jp, &pp);
            }
            axpy1(dQ + (int64_t)csc[p].i * d, csc[p].w, kj, d);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The dense backward                                                       */
/* ------------------------------------------------------------------------ */

/* exp on a vector, with about 1 ulp of error over the whole range,
 * subnormal results included (a W that underflows float32 still matters to
 * the error bound of a column whose weights are all that small):
 * x = k ln2 + r, |r| <= ln2/2, exp(r) by its Taylor polynomial (degree 7
 * for float, 13 for double: truncation below 0.1 ulp), times 2^k applied
 * as two powers of two so that neither leaves the normal range. */
INL V vexp(V x)
{
#define SEL(m, a, b) vsel((m), (a), (b))
    const int fl = sizeof(real) == sizeof(float);
    const real lo = fl ? (real)-104.0 : (real)-746.0;
    const real hi = fl ? (real)88.8 : (real)709.9;
    const real magic = fl ? (real)12582912.0 : (real)6755399441055744.0;
    const real log2e = (real)1.4426950408889634074;
    const real ln2hi = fl ? (real)0.693145751953125 : (real)6.93147180369123816490e-01;
    const real ln2lo =
        fl ? (real)1.428606765330187045e-06 : (real)1.90821492927058770002e-10;
    const int mant = fl ? 23 : 52;
    const FB_IREAL bias = fl ? 127 : 1023;
    V xc = SEL(x < lo, vbcast(lo), x);
    xc = SEL(xc > hi, vbcast(hi), xc);
    V t = xc * log2e + magic;
    V kf = t - magic;
    V r = xc - kf * ln2hi - kf * ln2lo;
    V p;
    if (fl) {
        p = vbcast((real)(1.0 / 5040));
        p = p * r + (real)(1.0 / 720);
        p = p * r + (real)(1.0 / 120);
        p = p * r + (real)(1.0 / 24);
        p = p * r + (real)(1.0 / 6);
        p = p * r + (real)0.5;
        p = p * r + (real)1;
        p = p * r + (real)1;
    } else {
        static const double c[14] = {1.0,
                                     1.0,
                                     1.0 / 2,
                                     1.0 / 6,
                                     1.0 / 24,
                                     1.0 / 120,
                                     1.0 / 720,
                                     1.0 / 5040,
                                     1.0 / 40320,
                                     1.0 / 362880,
                                     1.0 / 3628800,
                                     1.0 / 39916800,
                                     1.0 / 479001600,
                                     1.0 / 6227020800.0};
        p = vbcast((real)c[13]);
        for (int q = 12; q >= 0; q--)
            p = p * r + (real)c[q];
    }
    VI k = (VI)t - (VI)vbcast(magic);
    VI k1 = k >> 1, k2 = k - k1;
    V s1 = (V)((k1 + bias) << mant), s2 = (V)((k2 + bias) << mant);
    return SEL(x < lo, (V){0}, p * s1 * s2);
#undef SEL
}

/* C[r][c] = (acc ? C[r][c] : 0) + sum_k A(r, k) B[k][c] for r < R and the
 * NV vectors of columns at C, with A(r, k) = A[r ars + k acs]: an R x NV
 * register tile; each element sums over k in ascending order. */
INL void gemm_tile(int R, int NV, int64_t K, const real *A, int64_t ars, int64_t acs,
                   const real *B, int64_t ldb, real *C, int64_t ldc, int acc)
{
    V c[R_MAX][NV_MAX];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++)
            c[r][v] = acc ? vload(C + r * ldc + v * VW) : (V){0};
    for (int64_t k = 0; k < K; k++) {
        V b[NV_MAX];
        for (int v = 0; v < NV; v++)
            b[v] = vload(B + k * ldb + v * VW);
        for (int r = 0; r < R; r++) {
            V a = vbcast(A[r * ars + k * acs]);
            for (int v = 0; v < NV; v++)
                c[r][v] = FB_FMA(a, b[v], c[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++)
            vstore(C + r * ldc + v * VW, c[r][v]);
}

/* One panel of R rows across all N columns. */
INL void gemm_panel(int R, int64_t N, int64_t K, const real *A, int64_t ars,
                    int64_t acs, const real *B, int64_t ldb, real *C, int64_t ldc,
                    int acc)
{
    int64_t c = 0;
    for (; c + FB_NV * VW <= N; c += FB_NV * VW)
        gemm_tile(R, FB_NV, K, A, ars, acs, B + c, ldb, C + c, ldc, acc);
    for (; c + VW <= N; c += VW)
        gemm_tile(R, 1, K, A, ars, acs, B + c, ldb, C + c, ldc, acc);
    for (; c < N; c++)
        for (int r = 0; r < R; r++) {
            real x = acc ? C[r * ldc + c] : 0;
            for (int64_t k = 0; k < K; k++)
                x += A[r * ars + k * acs] * B[k * ldb + c];
            C[r * ldc + c] = x;
        }
}

/* The small GEMM of the dense backward, C (M x N) (+)= A (M x K) B (K x N). */
static void gemm(int64_t M, int64_t N, int64_t K, const real *A, int64_t ars,
                 int64_t acs, const real *B, int64_t ldb, real *C, int64_t ldc, int acc)
{
    int64_t r = 0;
    for (; r + FB_R <= M; r += FB_R)
        gemm_panel(FB_R, N, K, A + r * ars, ars, acs, B, ldb, C + r * ldc, ldc, acc);
    for (; r < M; r++)
        gemm_panel(1, N, K, A + r * ars, ars, acs, B, ldb, C + r * ldc, ldc, acc);
}

static void k_transpose(const sus_fb_head *h, void *kt_, void *vt_, int64_t j0,
                        int64_t j1)
{
    const real *K = h->k, *Vv = h->v;
    real *kt = kt_, *vt = vt_;
    const int64_t m = h->m, d = h->d, dv = h->dv, ldt = h->ldt;
    const int64_t je = j1 < m ? j1 : m;
    for (int64_t j = j0; j < je; j++) {
        for (int64_t c = 0; c < d; c++)
            kt[c * ldt + j] = K[j * d + c];
        for (int64_t c = 0; c < dv; c++)
            vt[c * ldt + j] = Vv[j * dv + c];
    }
    for (int64_t j = je > j0 ? je : j0; j < j1; j++) {
        for (int64_t c = 0; c < d; c++)
            kt[c * ldt + j] = 0;
        for (int64_t c = 0; c < dv; c++)
            vt[c * ldt + j] = 0;
    }
}

/* The tile of query block i0 (bq rows) x key block j0 (all BK columns):
 * S <- W = exp(s Q_i . K_j - lse_i) and P <- dS = W (dO_i . V_j - D_i),
 * with W = 0 outside the allowed keys (j >= m, or j > i when causal).
 * Both passes call this for the same tiles, so W and dS agree bitwise. */
static void tile_w_ds(const sus_fb_head *h, int64_t i0, int64_t bq, int64_t j0, real *S,
                      real *P)
{
    const real *Q = h->q, *dO = h->dout, *kt = h->kt, *vt = h->vt;
    const real *lse = h->lse, *D = h->dd;
    const real s = (real)h->scale;
    gemm(bq, SUS_FB_BK, h->d, Q + i0 * h->d, h->d, 1, kt + j0, h->ldt, S, SUS_FB_BK, 0);
    gemm(bq, SUS_FB_BK, h->dv, dO + i0 * h->dv, h->dv, 1, vt + j0, h->ldt, P, SUS_FB_BK,
         0);
    VI iota;
    for (int l = 0; l < VW; l++)
        iota[l] = l;
    for (int64_t r = 0; r < bq; r++) {
        const int64_t i = i0 + r;
        /* Allowed columns of this row in the tile: [0, nval). */
        int64_t nval = h->m - j0;
        if (h->causal && i + 1 - j0 < nval)
            nval = i + 1 - j0;
        nval = nval < 0 ? 0 : nval > SUS_FB_BK ? SUS_FB_BK : nval;
        const V l = vbcast(lse[i]), Di = vbcast(D[i]);
        real *sr = S + r * SUS_FB_BK, *pr = P + r * SUS_FB_BK;
        for (int c = 0; c < SUS_FB_BK; c += VW) {
            VI ok = iota < (VI){0} + (FB_IREAL)(nval - c);
            V w = vsel(ok, vexp(vload(sr + c) * s - l), (V){0});
            vstore(sr + c, w);
            vstore(pr + c, w * (vload(pr + c) - Di));
        }
    }
}

/* Pass 1: dQ_i = s sum_j dS_ij K_j for the query block at i0, over the key
 * blocks in ascending order. ws: S, P tiles, then the dQ accumulator. */
static void k_dense_q(const sus_fb_head *h, int64_t i0, void *ws_)
{
    real *ws = ws_;
    real *S = ws, *P = ws + SUS_FB_BQ * SUS_FB_BK;
    real *acc = ws + 2 * SUS_FB_BQ * SUS_FB_BK + SUS_FB_BK * (h->d + h->dv);
    const real *K = h->k;
    real *dQ = h->dq;
    const int64_t d = h->d;
    const int64_t bq = h->n - i0 < SUS_FB_BQ ? h->n - i0 : SUS_FB_BQ;
    int64_t kend = h->m;
    if (h->causal && i0 + bq < kend)
        kend = i0 + bq;
    for (int64_t j0 = 0; j0 < kend; j0 += SUS_FB_BK) {
        tile_w_ds(h, i0, bq, j0, S, P);
        const int64_t kk = kend - j0 < SUS_FB_BK ? kend - j0 : SUS_FB_BK;
        gemm(bq, d, kk, P, SUS_FB_BK, 1, K + j0 * d, d, acc, d, j0 > 0);
    }
    const real s = (real)h->scale;
    for (int64_t r = 0; r < bq; r++)
        for (int64_t c = 0; c < d; c++)
            dQ[(i0 + r) * d + c] = kend > 0 ? s * acc[r * d + c] : 0;
}

/* Pass 2: dK_j = s sum_i dS_ij Q_i and dV_j = sum_i W_ij dO_i for the key
 * block at j0, over the query blocks in ascending order. */
static void k_dense_k(const sus_fb_head *h, int64_t j0, void *ws_)
{
    real *ws = ws_;
    real *S = ws, *P = ws + SUS_FB_BQ * SUS_FB_BK;
    real *acck = ws + 2 * SUS_FB_BQ * SUS_FB_BK;
    real *accv = acck + SUS_FB_BK * h->d;
    const real *Q = h->q, *dO = h->dout;
    real *dK = h->dk, *dV = h->dv_out;
    const int64_t d = h->d, dv = h->dv;
    const int64_t bk = h->m - j0 < SUS_FB_BK ? h->m - j0 : SUS_FB_BK;
    memset(acck, 0, (size_t)(bk * d) * sizeof *acck);
    memset(accv, 0, (size_t)(bk * dv) * sizeof *accv);
    /* Causal: queries i < j0 have no weight on this block. */
    const int64_t istart = h->causal ? j0 / SUS_FB_BQ * SUS_FB_BQ : 0;
    for (int64_t i0 = istart; i0 < h->n; i0 += SUS_FB_BQ) {
        const int64_t bq = h->n - i0 < SUS_FB_BQ ? h->n - i0 : SUS_FB_BQ;
        tile_w_ds(h, i0, bq, j0, S, P);
        gemm(bk, dv, bq, S, 1, SUS_FB_BK, dO + i0 * dv, dv, accv, dv, 1);
        gemm(bk, d, bq, P, 1, SUS_FB_BK, Q + i0 * d, d, acck, d, 1);
    }
    const real s = (real)h->scale;
    for (int64_t r = 0; r < bk; r++) {
        for (int64_t c = 0; c < d; c++)
            dK[(j0 + r) * d + c] = s * acck[r * d + c];
        memcpy(dV + (j0 + r) * dv, accv + r * dv, (size_t)dv * sizeof *dV);
    }
}

const sus_fb_kern FB_TABLE = {k_rowdot,   k_scatter,   k_sparse_v, k_sparse_k,
                              k_sparse_q, k_transpose, k_dense_q,  k_dense_k};
