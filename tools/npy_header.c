/* npy_header.c: the .npy reader's offset and size arithmetic
 * (npy_header.h, npy_internal.h), with the ACSL contracts that
 * proofs/wp/npy_header proves. */
#include "npy_header.h"

#include "npy_internal.h"

#include "../core/arith_acsl.h"

/*@ requires \valid_read(b + (0 .. len - 1));
    requires \valid(prefix) && \valid(hlen) && \separated(prefix, hlen);
    assigns *prefix, *hlen;
    ensures \result == SUS_NPY_PREFIX_OK ==>
            1 <= *hlen <= SUS_I_NPY_MAX_HEADER && *prefix + *hlen <= len &&
            (*prefix == SUS_I_NPY_PREFIX_V1 || *prefix == SUS_I_NPY_PREFIX_V2) &&
            b[*prefix + *hlen - 1] == '\n';
    ensures \result == SUS_NPY_PREFIX_VERSION ==> len >= 8;
*/
int sus_i_npy_prefix(const unsigned char *b, size_t len, size_t *prefix, size_t *hlen)
{
    static const unsigned char magic[SUS_I_NPY_MAGIC_LEN] = {0x93, 'N', 'U',
                                                             'M',  'P', 'Y'};
    *prefix = 0;
    *hlen = 0;
    if (len == 0)
        return SUS_NPY_PREFIX_EMPTY;
    const size_t m = len < SUS_I_NPY_MAGIC_LEN ? len : SUS_I_NPY_MAGIC_LEN;
    /*@ loop invariant 0 <= t <= m;
        loop assigns t;
        loop variant m - t;
    */
    for (size_t t = 0; t < m; t++)
        if (b[t] != magic[t])
            return SUS_NPY_PREFIX_BAD_MAGIC;
    if (len < SUS_I_NPY_MAGIC_LEN + 2)
        return SUS_NPY_PREFIX_SHORT;
    const unsigned major = b[6], minor = b[7];
    if (minor != 0 || major < 1 || major > 3)
        return SUS_NPY_PREFIX_VERSION;
    const size_t pre = major == 1 ? SUS_I_NPY_PREFIX_V1 : SUS_I_NPY_PREFIX_V2;
    *prefix = pre;
    if (len < pre)
        return SUS_NPY_PREFIX_SHORT_LEN;
    /* Little-endian: the bytes' places do not overlap, so + is |. */
    size_t h = (size_t)b[8] + (size_t)b[9] * 0x100u;
    if (major > 1)
        h += (size_t)b[10] * 0x10000u + (size_t)b[11] * 0x1000000u;
    *hlen = h;
    if (h > SUS_I_NPY_MAX_HEADER)
        return SUS_NPY_PREFIX_TOO_LONG;
    if (h > len - pre)
        return SUS_NPY_PREFIX_PAST_END;
    if (h == 0)
        return SUS_NPY_PREFIX_ZERO;
    if (b[pre + h - 1] != '\n')
        return SUS_NPY_PREFIX_NO_NEWLINE;
    return SUS_NPY_PREFIX_OK;
}

/*@ requires pos <= len && \valid_read(h + (0 .. len - 1));
    requires \valid(v) && \valid(big) && \separated(v, big);
    assigns *v, *big;
    ensures pos <= \result <= len;
    ensures \forall integer t; pos <= t < \result ==> '0' <= h[t] <= '9';
    ensures \result < len ==> !('0' <= h[\result] <= '9');
    ensures *v <= INT64_MAX && (*big == 0 || *big == 1);
*/
size_t sus_i_npy_scan_digits(const unsigned char *h, size_t len, size_t pos,
                             uint64_t *v, int *big)
{
    uint64_t x = 0;
    int over = 0;
    /*@ loop invariant \at(pos, Pre) <= pos <= len;
        loop invariant \forall integer t; \at(pos, Pre) <= t < pos ==>
                           '0' <= h[t] <= '9';
        loop invariant x <= INT64_MAX && (over == 0 || over == 1);
        loop assigns pos, x, over;
        loop variant len - pos;
    */
    while (pos < len && h[pos] >= '0' && h[pos] <= '9') {
        unsigned digit = (unsigned)(h[pos] - '0');
        if (x > ((uint64_t)INT64_MAX - digit) / 10)
            over = 1;
        else
            x = x * 10 + digit;
        pos++;
    }
    *v = x;
    *big = over;
    return pos;
}

/*@ requires \valid(count) && \valid(bytes) && \separated(count, bytes);
    requires 0 <= ndim <= SUS_NPY_MAXDIM ==> \valid_read(shape + (0 .. ndim - 1));
    requires \separated(count, bytes, shape + (0 .. ndim - 1));
    assigns *count, *bytes;
    ensures \result == SUS_OK || \result == SUS_ERR_INVAL ||
            \result == SUS_ERR_OVERFLOW;
    ensures \result == SUS_OK ==>
            *bytes == *count * itemsize && *bytes <= PTRDIFF_MAX;
    ensures \result == SUS_OK ==>
            (*count == 0 <==> \exists integer t; 0 <= t < ndim && shape[t] == 0);
*/
int sus_i_npy_shape_bytes(int ndim, const int64_t *shape, size_t itemsize,
                          size_t *count, size_t *bytes)
{
    if (ndim < 0 || ndim > SUS_NPY_MAXDIM || (ndim > 0 && !shape))
        return SUS_ERR_INVAL;
    /* The nonzero product is checked first so that a zero dimension cannot
     * hide an overflowing one (numpy refuses such shapes too). */
    size_t nonzero = itemsize, n = 1;
    int zero = 0;
    /*@ loop invariant 0 <= a <= ndim;
        loop invariant nonzero == itemsize * n && n >= 1;
        loop invariant zero == 0 || zero == 1;
        loop invariant zero == 1 <==> \exists integer t; 0 <= t < a && shape[t] == 0;
        loop invariant \forall integer t; 0 <= t < a ==> shape[t] >= 0;
        loop assigns a, n, nonzero, zero;
        loop variant ndim - a;
    */
    for (int a = 0; a < ndim; a++) {
        if (shape[a] < 0)
            return SUS_ERR_INVAL;
        if (shape[a] == 0) {
            zero = 1;
            continue;
        }
        const size_t s = (size_t)shape[a];
        if (nonzero > SIZE_MAX / s || n > SIZE_MAX / s)
            return SUS_ERR_OVERFLOW;
        /*@ assert SIZE_MAX / s * s <= SIZE_MAX; */
        /*@ assert nonzero * s <= SIZE_MAX / s * s && n * s <= SIZE_MAX / s * s; */
        nonzero *= s;
        n *= s;
    }
    /* Pointer differences over the data must stay defined. */
    if (nonzero > (size_t)PTRDIFF_MAX)
        return SUS_ERR_OVERFLOW;
    *count = zero ? 0 : n;
    *bytes = zero ? 0 : nonzero;
    return SUS_OK;
}
