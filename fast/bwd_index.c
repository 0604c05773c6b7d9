/* bwd_index.c: the sparse backward's index arithmetic (bwd_index.h), with
 * the ACSL contracts that proofs/wp/bwd_index proves. */
#include "bwd_index.h"

#include "../core/arith_acsl.h"
#include "../core/csr_acsl.h"

/*@ predicate sus_fb_base_ok(int64_t *base, integer lo, integer hi) =
      0 <= lo <= hi && 0 <= base[lo] &&
      (\forall integer r1, r2; lo <= r1 <= r2 <= hi ==> base[r1] <= base[r2]) &&
      base[hi] - base[lo] + (hi - lo) <= INT64_MAX;
*/

/* The first index r in [lo, hi] with F(r) >= target, F non-decreasing,
 * F(r) = base[r] - base[lo] + r - lo: a partition point weighted by
 * entries plus one unit of fixed cost per row or column. */
/*@ requires sus_fb_base_ok(base, lo, hi) && \valid_read(base + (lo .. hi));
    assigns \nothing;
    ensures lo <= \result <= hi;
    ensures \forall integer r; lo <= r < \result ==>
                base[r] - base[lo] + (r - lo) < target;
    ensures \result < hi ==> base[\result] - base[lo] + (\result - lo) >= target;
*/
static int64_t split_point(const int64_t *base, int64_t lo, int64_t hi, int64_t target)
{
    const int64_t b0 = base[lo], r0 = lo;
    /*@ loop invariant r0 <= lo <= hi <= \at(hi, Pre);
        loop invariant \forall integer r; r0 <= r < lo ==>
                           base[r] - b0 + (r - r0) < target;
        loop invariant hi < \at(hi, Pre) ==>
                           base[hi] - b0 + (hi - r0) >= target;
        loop assigns lo, hi;
        loop variant hi - lo;
    */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (base[mid] - b0 + (mid - r0) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*@ requires sus_fb_base_ok(base, lo, hi) && \valid_read(base + (lo .. hi));
    requires 1 <= nt && 0 <= tid < nt;
    requires \valid(a) && \valid(b) && \separated(a, b, base + (lo .. hi));
    assigns *a, *b;
    ensures lo <= *a <= *b <= hi;
*/
void sus_fb_share(const int64_t *base, int64_t lo, int64_t hi, int tid, int nt,
                  int64_t *a, int64_t *b)
{
    const int64_t total = base[hi] - base[lo] + (hi - lo);
    const int64_t q = total / nt, rem = total % nt;
    /*@ assert 0 <= q * tid <= q * (tid + 1) <= q * nt <= total; */
    /*@ assert 0 <= rem < nt && 0 <= rem * tid <= rem * (tid + 1) <= rem * nt; */
    /*@ assert rem * tid / nt <= rem * (tid + 1) / nt <= rem * nt / nt == rem; */
    const int64_t s0 = split_point(base, lo, hi, q * tid + rem * tid / nt);
    const int64_t s1 =
        tid + 1 == nt ? hi
                      : split_point(base, lo, hi, q * (tid + 1) + rem * (tid + 1) / nt);
    *a = s0;
    *b = s1;
}

/*@ requires n >= 1 && brows >= 1 && b >= 0 && b * brows < n;
    requires sus_fb_base_ok(ip, 0, n) && \valid_read(ip + (0 .. n));
    requires 1 <= nt && 0 <= tid < nt;
    requires \valid(r0) && \valid(r1) && \separated(r0, r1, ip + (0 .. n));
    assigns *r0, *r1;
    ensures b * brows <= *r0 <= *r1 <= n;
    ensures *r1 <= b * brows + brows;
*/
void sus_fb_row_share(const int64_t *ip, int64_t n, int64_t brows, int64_t b, int tid,
                      int nt, int64_t *r0, int64_t *r1)
{
    const int64_t b0 = b * brows, b1 = n - b0 < brows ? n : b0 + brows;
    sus_fb_share(ip, b0, b1, tid, nt, r0, r1);
}
/*@ requires 0 <= e0 <= e1 && m >= 1;
    requires \valid_read(indices + (e0 .. e1 - 1)) && \valid(cnt + (0 .. m - 1));
    requires \separated(indices + (e0 .. e1 - 1), cnt + (0 .. m - 1));
    requires \forall integer e; e0 <= e < e1 ==> 0 <= indices[e] < m;
    requires \forall integer j; 0 <= j < m ==> 0 <= cnt[j] <= INT64_MAX - (e1 - e0);
    assigns cnt[0 .. m - 1];
    ensures \forall integer j; 0 <= j < m ==>
                \old(cnt[j]) <= cnt[j] <= \old(cnt[j]) + (e1 - e0);
*/
void sus_fb_count_cols(const int64_t *indices, int64_t e0, int64_t e1, int64_t *cnt,
                       int64_t m)
{
    (void)m; /* the bound of the contract: indices below m index cnt */
    /*@ loop invariant e0 <= e <= e1;
        loop invariant \forall integer j; 0 <= j < m ==>
                           \at(cnt[j], Pre) <= cnt[j] <= \at(cnt[j], Pre) + (e - e0);
        loop assigns e, cnt[0 .. m - 1];
        loop variant e1 - e;
    */
    for (int64_t e = e0; e < e1; e++)
        cnt[indices[e]]++;
}
