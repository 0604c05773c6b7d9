/*
 * test_fast_philox.c: fast/'s own (vectorized) Philox4x32-10 and canonical
 * uniform, sus_fast_uniforms, at every SIMD level this CPU supports:
 *  - equals the table of tests/uniform_table.txt (from the independent
 *    Python Philox that passed the Random123 known-answer vectors), alone
 *    and inside windows that start before and end after the entry;
 *  - equals ref's sus_canonical_uniform bit for bit on a large random
 *    sample of (seed, b, h, i, j0, count): odd and even j0, counts that are
 *    no multiple of any vector width, keys up to 2^33 - 1, indices up to
 *    2^32 - 1, seeds above 2^32; nothing is written outside u[0, count);
 *  - refuses out-of-range arguments with SUS_ERR_INVAL.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define TWO32   INT64_C(4294967296)
#define LAST_J  (2 * TWO32 - 1) /* the largest key: j div 2 = 2^32 - 1 */
#define GUARD   4
#define SENTRY  (-7.25)
#define NLEVELS 3

static const sus_simd levels[NLEVELS] = {SUS_SIMD_PORTABLE, SUS_SIMD_AVX2,
                                         SUS_SIMD_AVX512};

/* A context at level, or NULL if this CPU does not support it. */
static sus_fast_ctx *ctx_at(sus_simd level)
{
    sus_fast_config cfg = {1, level, 0, 0};
    sus_fast_ctx *ctx = NULL;
    sus_error err;
    int rc = sus_fast_ctx_new(&cfg, &ctx, &err);
    if (rc == SUS_ERR_UNSUPPORTED) {
        print_message("simd %s: not supported here, skipped\n", sus_simd_name(level));
        assert_null(ctx);
        return NULL;
    }
    if (rc != SUS_OK)
        fail_msg("sus_fast_ctx_new(%s): %s", sus_simd_name(level), err.msg);
    assert_int_equal(sus_fast_ctx_simd(ctx), level);
    return ctx;
}

static uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* u[0, count) from fast/ against sus_canonical_uniform, bit for bit, with
 * guard cells on both sides that must stay untouched. */
static void compare_window(const sus_fast_ctx *ctx, uint64_t seed, int64_t b, int64_t h,
                           int64_t i, int64_t j0, int64_t count, double *buf)
{
    for (int64_t t = 0; t < count + 2 * GUARD; t++)
        buf[t] = SENTRY;
    double *u = buf + GUARD;
    int rc = sus_fast_uniforms(ctx, seed, b, h, i, j0, count, u);
    if (rc != SUS_OK)
        fail_msg("%s: seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                 " j0 %" PRId64 " count %" PRId64 ": status %d",
                 sus_simd_name(sus_fast_ctx_simd(ctx)), seed, b, h, i, j0, count, rc);
    for (int64_t t = 0; t < GUARD; t++)
        if (buf[t] != SENTRY || u[count + t] != SENTRY)
            fail_msg("%s: seed %" PRIu64 " j0 %" PRId64 " count %" PRId64
                     ": wrote outside u[0, count) (guard %" PRId64 ")",
                     sus_simd_name(sus_fast_ctx_simd(ctx)), seed, j0, count, t);
    for (int64_t t = 0; t < count; t++) {
        double want = -1.0;
        assert_int_equal(sus_canonical_uniform(seed, b, h, i, j0 + t, &want), SUS_OK);
        if (bits_of(u[t]) != bits_of(want))
            fail_msg("%s: seed %" PRIu64 " b %" PRId64 " h %" PRId64 " i %" PRId64
                     " j %" PRId64 " (j0 %" PRId64 " + %" PRId64 " of %" PRId64
                     "): got %a, canonical %a",
                     sus_simd_name(sus_fast_ctx_simd(ctx)), seed, b, h, i, j0 + t, j0,
                     t, count, u[t], want);
    }
}

static int is_blank(const char *line)
{
    line += strspn(line, " \t\r\n");
    return *line == '\0' || *line == '#';
}

static void table_at(sus_fast_ctx *ctx)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/uniform_table.txt", sus_t_datadir());
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set SUS_TESTDATA to the tests directory)", path);
    double buf[64 + 2 * GUARD];
    int rows = 0, lineno = 0;
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
        double want = strtod(uhex, NULL);
        if (k >= (UINT64_C(1) << 53) || want != (double)k * 0x1p-53)
            fail_msg("%s:%d: k and u disagree", path, lineno);
        /* the entry alone */
        double u = -1.0;
        int rc = sus_fast_uniforms(ctx, seed, b, h, i, j, 1, &u);
        if (rc != SUS_OK || bits_of(u) != bits_of(want))
            fail_msg("%s: %s:%d: status %d, got %a, table %a",
                     sus_simd_name(sus_fast_ctx_simd(ctx)), path, lineno, rc, u, want);
        /* the entry at every position of windows of several widths */
        static const int64_t before[] = {1, 2, 3, 7, 16, 17, 31};
        static const int64_t width[] = {2, 5, 9, 17, 33, 64, 40};
        for (size_t w = 0; w < sizeof before / sizeof before[0]; w++) {
            int64_t j0 = j - before[w] < 0 ? 0 : j - before[w];
            int64_t count = width[w];
            if (j0 + count - 1 > LAST_J)
                j0 = LAST_J - count + 1;
            if (j0 < 0 || j < j0 || j > j0 + count - 1)
                continue;
            compare_window(ctx, seed, b, h, i, j0, count, buf);
            if (bits_of(buf[GUARD + (j - j0)]) != bits_of(want))
                fail_msg("%s:%d: window j0 %" PRId64 ": got %a, table %a", path, lineno,
                         j0, buf[GUARD + (j - j0)], want);
        }
        rows++;
    }
    fclose(f);
    if (rows < 30)
        fail_msg("%s: only %d rows", path, rows);
}

static void test_table(void **state)
{
    (void)state;
    int tested = 0;
    for (int l = 0; l < NLEVELS; l++) {
        sus_fast_ctx *ctx = ctx_at(levels[l]);
        if (!ctx)
            continue;
        table_at(ctx);
        sus_fast_ctx_free(ctx);
        tested++;
    }
    assert_true(tested >= 1); /* portable C is always supported */
}

/* A random index: small (where problems live), anywhere below 2^32, or
 * at the top of the range. */
static int64_t random_index(sus_t_rng *r)
{
    switch (sus_t_next(r) % 3) {
    case 0:
        return sus_t_range(r, 0, 300);
    case 1:
        return sus_t_range(r, 0, TWO32 - 1);
    default:
        return TWO32 - 1 - sus_t_range(r, 0, 3);
    }
}

static void test_sample(void **state)
{
    (void)state;
    const int cases = sus_t_quick() ? 300 : 6000;
    double *buf = malloc((4096 + 2 * GUARD) * sizeof(double));
    assert_non_null(buf);
    int64_t values = 0, odd = 0, near_end = 0, big_seed = 0;
    for (int l = 0; l < NLEVELS; l++) {
        sus_fast_ctx *ctx = ctx_at(levels[l]);
        if (!ctx)
            continue;
        sus_t_rng r = {0xfa57u + (uint64_t)l};
        for (int c = 0; c < cases; c++) {
            uint64_t seed;
            switch (c % 4) {
            case 0:
                seed = sus_t_next(&r) & 0xffffffffu; /* key word 1 zero */
                break;
            case 1:
                seed = (sus_t_next(&r) % 1000) | (UINT64_C(1) << 32);
                break;
            default:
                seed = sus_t_next(&r);
            }
            int64_t b = random_index(&r), h = random_index(&r), i = random_index(&r);
            /* counts around every vector width (2, 4, 8, 16 lanes) */
            int64_t count =
                c % 10 == 9 ? sus_t_range(&r, 100, 4096) : sus_t_range(&r, 1, 70);
            int64_t j0;
            switch (c % 5) {
            case 0:
                j0 = LAST_J - count + 1 - sus_t_range(&r, 0, 2); /* the end */
                break;
            case 1:
                j0 = 2 * sus_t_range(&r, 0, 5000) + 1; /* odd */
                break;
            case 2:
                j0 = sus_t_range(&r, 0, LAST_J - count + 1);
                break;
            default:
                j0 = sus_t_range(&r, 0, 5000);
            }
            compare_window(ctx, seed, b, h, i, j0, count, buf);
            values += count;
            odd += j0 & 1;
            near_end += j0 + count - 1 >= LAST_J - 2;
            big_seed += seed >> 32 != 0;
        }
        /* one long run across many vector blocks, from an odd key */
        double *big = malloc((100003 + 2 * GUARD) * sizeof(double));
        assert_non_null(big);
        compare_window(ctx, UINT64_C(0x9e3779b97f4a7c15), 1, 2, 3, 12345, 100003, big);
        free(big);
        sus_fast_ctx_free(ctx);
    }
    free(buf);
    print_message("compared %" PRId64 " uniforms (%" PRId64 " odd j0, %" PRId64
                  " windows at the last key, %" PRId64 " seeds above 2^32)\n",
                  values, odd, near_end, big_seed);
    assert_true(odd > 0 && near_end > 0 && big_seed > 0);
}

static void expect_inval(const sus_fast_ctx *ctx, uint64_t seed, int64_t b, int64_t h,
                         int64_t i, int64_t j0, int64_t count)
{
    double u[8] = {0};
    int rc = sus_fast_uniforms(ctx, seed, b, h, i, j0, count, u);
    if (rc != SUS_ERR_INVAL)
        fail_msg("b %" PRId64 " h %" PRId64 " i %" PRId64 " j0 %" PRId64
                 " count %" PRId64 ": status %d, want SUS_ERR_INVAL",
                 b, h, i, j0, count, rc);
}

static void test_range(void **state)
{
    (void)state;
    sus_fast_ctx *ctx = ctx_at(SUS_SIMD_PORTABLE);
    assert_non_null(ctx);
    const int64_t max = TWO32 - 1;
    double u[8];
    /* the edges that are valid */
    assert_int_equal(sus_fast_uniforms(ctx, 1, max, max, max, LAST_J, 1, u), SUS_OK);
    assert_int_equal(sus_fast_uniforms(ctx, 1, 0, 0, 0, LAST_J - 7, 8, u), SUS_OK);
    double want;
    assert_int_equal(sus_canonical_uniform(1, 0, 0, 0, LAST_J, &want), SUS_OK);
    assert_true(bits_of(u[7]) == bits_of(want));
    /* past the last key */
    expect_inval(ctx, 1, 0, 0, 0, LAST_J + 1, 1);
    expect_inval(ctx, 1, 0, 0, 0, LAST_J, 2);
    expect_inval(ctx, 1, 0, 0, 0, LAST_J - 6, 8);
    expect_inval(ctx, 1, 0, 0, 0, INT64_MAX, 1);
    expect_inval(ctx, 1, 0, 0, 0, INT64_MAX - 2, 8); /* j0 + count overflows */
    expect_inval(ctx, 1, 0, 0, 0, 0, INT64_MAX);
    /* negative */
    expect_inval(ctx, 1, 0, 0, 0, -1, 2);
    expect_inval(ctx, 1, 0, 0, 0, INT64_MIN, 1);
    expect_inval(ctx, 1, 0, 0, 0, 0, -1);
    expect_inval(ctx, 1, -1, 0, 0, 0, 1);
    expect_inval(ctx, 1, 0, -1, 0, 0, 1);
    expect_inval(ctx, 1, 0, 0, -1, 0, 1);
    /* b, h, i must be below 2^32 */
    expect_inval(ctx, 1, TWO32, 0, 0, 0, 1);
    expect_inval(ctx, 1, 0, TWO32, 0, 0, 1);
    expect_inval(ctx, 1, 0, 0, TWO32, 0, 1);
    expect_inval(ctx, 1, 0, 0, INT64_MAX, 0, 1);
    /* NULL output; a NULL context (sus.h leaves it open) is either refused
     * or gives the canonical values */
    assert_int_equal(sus_fast_uniforms(ctx, 1, 0, 0, 0, 0, 1, NULL), SUS_ERR_INVAL);
    int nrc = sus_fast_uniforms(NULL, 3, 1, 2, 3, 5, 8, u);
    assert_true(nrc == SUS_OK || nrc == SUS_ERR_INVAL);
    for (int t = 0; nrc == SUS_OK && t < 8; t++) {
        assert_int_equal(sus_canonical_uniform(3, 1, 2, 3, 5 + t, &want), SUS_OK);
        assert_true(bits_of(u[t]) == bits_of(want));
    }
    /* count 0 writes nothing */
    u[0] = SENTRY;
    int rc = sus_fast_uniforms(ctx, 1, 0, 0, 0, 5, 0, u);
    assert_true(rc == SUS_OK || rc == SUS_ERR_INVAL);
    assert_true(u[0] == SENTRY);
    sus_fast_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests_name("fast_philox", tests, NULL, NULL);
}
