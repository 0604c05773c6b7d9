/*
 * philox.c: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11; the Random123
 * algorithm) and the canonical uniform of DESIGN.md 2.4, which makes the
 * mask a pure function of (seed, b, h, i, j) that any port can reproduce.
 */
#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

static void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* One round, with Random123's word order: the products of words 0 and 2
 * feed the outputs crosswise, so every word mixes into every other within
 * two rounds. */
static void philox_round(uint32_t c[4], const uint32_t k[2])
{
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(PHILOX_M0, c[0], &hi0, &lo0);
    mulhilo32(PHILOX_M1, c[2], &hi1, &lo1);
    uint32_t o0 = hi1 ^ c[1] ^ k[0];
    uint32_t o2 = hi0 ^ c[3] ^ k[1];
    c[0] = o0;
    c[1] = lo1;
    c[2] = o2;
    c[3] = lo0;
}

void sus_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; r++) {
        /* The key is bumped between rounds, not before the first: round r
         * uses key + r * (W0, W1), matching the published vectors. */
        if (r > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    for (int w = 0; w < 4; w++)
        out[w] = c[w];
}

/* Each counter word must hold its index exactly; wrapping would silently
 * alias two entries' random numbers. */
static int fits_u32(int64_t v)
{
    return v >= 0 && v <= (int64_t)UINT32_MAX;
}

int sus_canonical_uniform(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j,
                          double *u)
{
    if (!u)
        return sus_i_fail(NULL, SUS_ERR_INVAL, "sus_canonical_uniform: u is NULL");
    if (j < 0 || !fits_u32(b) || !fits_u32(h) || !fits_u32(i) || !fits_u32(j / 2))
        return sus_i_fail(NULL, SUS_ERR_INVAL,
                          "sus_canonical_uniform: index out of [0, 2^32)");
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)(j / 2), (uint32_t)i, (uint32_t)h, (uint32_t)b};
    uint32_t w[4];
    sus_philox4x32_10(ctr, key, w);
    /* Two draws per counter: adjacent keys j share one Philox call. */
    uint32_t x = (j % 2 == 0) ? w[0] : w[2];
    uint32_t y = (j % 2 == 0) ? w[1] : w[3];
    /* 27 + 26 = 53 bits, so k converts to double exactly and u = k 2^-53
     * is an exact power-of-two scaling, the same in every port. */
    uint64_t k = ((uint64_t)(x >> 5) << 26) + (uint64_t)(y >> 6);
    *u = (double)k * 0x1p-53;
    return SUS_OK;
}
