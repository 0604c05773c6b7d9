/*
 * support.h: helpers shared by the CMocka tests.
 *
 * CMocka 1.1.5 has no assertion on doubles (assert_float_equal casts to
 * float), so assert_within_bound() checks the DESIGN.md section 3 bound in
 * double and prints both values, the difference and the bound on failure.
 */
#ifndef SUS_TESTS_SUPPORT_H
#define SUS_TESTS_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sus.h"

/* Fails the current test unless |got - exact| <= tau*k*u*mag. what names
 * the element (for example "dQ[3]") in the failure message. */
#define assert_within_bound(got, exact, mag, tau, k, u, what)                          \
    sus_t_assert_within_bound((got), (exact), (mag), (tau), (k), (u), (what),          \
                              __FILE__, __LINE__)
void sus_t_assert_within_bound(double got, double exact, double mag, double tau,
                               double k, double u, const char *what, const char *file,
                               int line);

/* Checks a whole array with assert_within_bound; name is used in messages. */
void sus_t_assert_array_within_bound(const double *got, const double *exact,
                                     const double *mag, size_t count, double tau,
                                     double k, double u, const char *name,
                                     const char *file, int line);
#define assert_array_within_bound(got, exact, mag, count, tau, k, u, name)             \
    sus_t_assert_array_within_bound((got), (exact), (mag), (count), (tau), (k), (u),   \
                                    (name), __FILE__, __LINE__)

/* A small deterministic generator for test inputs (splitmix64), so that
 * tests need no global state and are reproducible from their seed. */
typedef struct sus_t_rng {
    uint64_t s;
} sus_t_rng;
uint64_t sus_t_next(sus_t_rng *r);
double sus_t_uniform(sus_t_rng *r);                        /* [0, 1) */
double sus_t_normal(sus_t_rng *r);                         /* standard normal */
int64_t sus_t_range(sus_t_rng *r, int64_t lo, int64_t hi); /* [lo, hi] */

/* Non-zero when SUS_TEST_QUICK is set (under Valgrind): tests then run
 * fewer random cases, with the same assertions. */
int sus_t_quick(void);

/* The directory of committed test data (SUS_TESTDATA, default "tests"). */
const char *sus_t_datadir(void);

#endif
