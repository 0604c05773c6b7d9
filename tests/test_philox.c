/*
 * test_philox.c: Philox4x32-10 against the Random123 known-answer vectors,
 * and the canonical uniform of DESIGN.md 2.4 against a table produced by an
 * independent Python implementation (tests/gen_uniform_table.py).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define TWO32 INT64_C(4294967296)

static FILE *open_data(const char *name, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", sus_t_datadir(), name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set SUS_TESTDATA to the tests directory)", path);
    return f;
}

/* Comment-only and blank lines carry no data in either file. */
static int is_blank(const char *line)
{
    line += strspn(line, " \t\r\n");
    return *line == '\0' || *line == '#';
}

static void test_kat(void **state)
{
    (void)state;
    char path[4096], line[512];
    FILE *f = open_data("philox4x32_10_kat.txt", path, sizeof path);
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (is_blank(line))
            continue;
        char name[32];
        int rounds;
        unsigned int v[10];
        int got =
            sscanf(line, "%31s %d %x %x %x %x %x %x %x %x %x %x", name, &rounds, &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (got != 12 || strcmp(name, "philox4x32") != 0 || rounds != 10)
            fail_msg("%s:%d: not a philox4x32 10-round vector: %s", path, lineno, line);
        const uint32_t ctr[4] = {v[0], v[1], v[2], v[3]};
        const uint32_t key[2] = {v[4], v[5]};
        uint32_t out[4];
        sus_philox4x32_10(ctr, key, out);
        for (int w = 0; w < 4; w++) {
            if (out[w] != v[6 + w])
                fail_msg("%s:%d: word %d: got %08" PRIx32 ", want %08x", path, lineno,
                         w, out[w], v[6 + w]);
        }
        n++;
    }
    fclose(f);
    if (n == 0)
        fail_msg("%s: no vectors", path);
}

/* The same function must not depend on anything but its arguments, so a
 * second call, and a call with ctr and out aliased, give the same words. */
static void test_kat_repeatable(void **state)
{
    (void)state;
    const uint32_t key[2] = {0xa4093822u, 0x299f31d0u};
    uint32_t ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    uint32_t a[4], b[4];
    sus_philox4x32_10(ctr, key, a);
    sus_philox4x32_10(ctr, key, b);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(a[0], 0xd16cfe09u);
    assert_int_equal(a[3], 0x24126ea1u);
}

static uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static void test_uniform_table(void **state)
{
    (void)state;
    char path[4096], line[512];
    FILE *f = open_data("uniform_table.txt", path, sizeof path);
    int n = 0, lineno = 0, odd = 0, even = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (is_blank(line))
            continue;
        uint64_t seed, k;
        int64_t b, h, i, j;
        char uhex[64];
        if (sscanf(line,
                   "%" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
                   " %" SCNu64 " %63s",
                   &seed, &b, &h, &i, &j, &k, uhex) != 7)
            fail_msg("%s:%d: malformed row: %s", path, lineno, line);
        char *end;
        double want = strtod(uhex, &end);
        if (*end != '\0')
            fail_msg("%s:%d: malformed u %s", path, lineno, uhex);
        /* The table must agree with itself before it can judge the code. */
        if (k >= (UINT64_C(1) << 53) || want != (double)k * 0x1p-53)
            fail_msg("%s:%d: k %" PRIu64 " and u %s disagree", path, lineno, k, uhex);

        double u = -1.0;
        int st = sus_canonical_uniform(seed, b, h, i, j, &u);
        if (st != SUS_OK)
            fail_msg("%s:%d: seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                     " j %" PRId64 ": status %d (%s)",
                     path, lineno, seed, b, h, i, j, st, sus_strerror(st));
        uint64_t gotk = (uint64_t)(u * 0x1p53);
        if (bits_of(u) != bits_of(want) || gotk != k)
            fail_msg("%s:%d: seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                     " j %" PRId64 ": got u %a (k %" PRIu64 "), want %a (k %" PRIu64
                     ")",
                     path, lineno, seed, b, h, i, j, u, gotk, want, k);
        if (j % 2)
            odd++;
        else
            even++;
        n++;
    }
    fclose(f);
    /* A truncated table would otherwise pass vacuously. */
    if (n < 30 || odd == 0 || even == 0)
        fail_msg("%s: only %d rows (%d odd j, %d even j)", path, n, odd, even);
}

static void expect_inval(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j)
{
    double u = 0.0;
    int st = sus_canonical_uniform(seed, b, h, i, j, &u);
    if (st != SUS_ERR_INVAL)
        fail_msg("seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64 " j %" PRId64
                 ": status %d, want SUS_ERR_INVAL",
                 seed, b, h, i, j, st);
}

static void expect_ok(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j)
{
    double u = -1.0;
    int st = sus_canonical_uniform(seed, b, h, i, j, &u);
    if (st != SUS_OK || !(u >= 0.0 && u < 1.0))
        fail_msg("seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64 " j %" PRId64
                 ": status %d, u %a",
                 seed, b, h, i, j, st, u);
}

static void test_range(void **state)
{
    (void)state;
    const int64_t max = TWO32 - 1;
    expect_ok(1, max, max, max, 2 * max + 1);
    expect_inval(1, 0, 0, TWO32, 0);
    expect_inval(1, 0, 0, 0, 2 * TWO32);
    expect_inval(1, 0, 0, 0, 2 * TWO32 + 1);
    expect_inval(1, TWO32, 0, 0, 0);
    expect_inval(1, 0, TWO32, 0, 0);
    expect_inval(1, -1, 0, 0, 0);
    expect_inval(1, 0, -1, 0, 0);
    expect_inval(1, 0, 0, -1, 0);
    /* -1 div 2 truncates to 0 in C, which would pass a check on j / 2 alone. */
    expect_inval(1, 0, 0, 0, -1);
    expect_inval(1, 0, 0, 0, INT64_MIN);
    expect_inval(1, 0, 0, 0, INT64_MAX);
    expect_inval(1, INT64_MIN, 0, 0, 0);
    expect_inval(1, 0, INT64_MAX, 0, 0);
    assert_int_equal(sus_canonical_uniform(1, 0, 0, 0, 0, NULL), SUS_ERR_INVAL);
}

/* Properties that must hold for every argument: u in [0, 1) on the 2^-53
 * grid, and the pairing of adjacent j onto one Philox call. */
static void test_sweep(void **state)
{
    (void)state;
    sus_t_rng r = {20260101u};
    const int cases = sus_t_quick() ? 2000 : 50000;
    for (int c = 0; c < cases; c++) {
        uint64_t seed = sus_t_next(&r);
        /* Mix small indices, where real problems live, with the full range. */
        int64_t top = (c % 2) ? TWO32 - 1 : 4096;
        int64_t b = sus_t_range(&r, 0, top), h = sus_t_range(&r, 0, top);
        int64_t i = sus_t_range(&r, 0, top), j = sus_t_range(&r, 0, 2 * top + 1);
        double u = -1.0;
        int st = sus_canonical_uniform(seed, b, h, i, j, &u);
        double scaled = u * 0x1p53;
        if (st != SUS_OK || !(u >= 0.0 && u < 1.0) || scaled != floor(scaled))
            fail_msg("seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                     " j %" PRId64 ": status %d, u %a",
                     seed, b, h, i, j, st, u);

        const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
        const uint32_t ctr[4] = {(uint32_t)(j / 2), (uint32_t)i, (uint32_t)h,
                                 (uint32_t)b};
        uint32_t w[4];
        sus_philox4x32_10(ctr, key, w);
        int o = (int)(j % 2) * 2;
        uint64_t k = ((uint64_t)(w[o] >> 5) << 26) | (w[o + 1] >> 6);
        if ((uint64_t)scaled != k)
            fail_msg("seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                     " j %" PRId64 ": k %" PRIu64 ", words give %" PRIu64,
                     seed, b, h, i, j, (uint64_t)scaled, k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat),           cmocka_unit_test(test_kat_repeatable),
        cmocka_unit_test(test_uniform_table), cmocka_unit_test(test_range),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
