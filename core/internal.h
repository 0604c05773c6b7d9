/*
 * internal.h: helpers shared by the library's modules. Not installed; not
 * part of the public API. Internal external names start with sus_i_.
 */
#ifndef SUS_CORE_INTERNAL_H
#define SUS_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sus.h"

#if defined(__GNUC__)
#define SUS_I_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SUS_I_PRINTF(f, a)
#endif

/* Records status and a formatted one-line message in err (if non-NULL) and
 * returns status, so that callers can write `return sus_i_fail(...)`. */
int sus_i_fail(sus_error *err, int status, const char *fmt, ...) SUS_I_PRINTF(3, 4);

/* Clears err to SUS_OK with an empty message. */
void sus_i_ok(sus_error *err);

/* a*b and a+b for sizes; return 0 (and leave *out unspecified) on overflow. */
int sus_i_mul_size(size_t a, size_t b, size_t *out);
int sus_i_add_size(size_t a, size_t b, size_t *out);

/* malloc of count elements of size bytes with an overflow check; never
 * returns a zero-byte allocation (allocates at least one byte). */
void *sus_i_alloc_array(size_t count, size_t size);
void *sus_i_calloc_array(size_t count, size_t size);

/* sus_attn_check for callers that read only Q and K (V, dO may be NULL). */
int sus_i_attn_check_qk(const sus_attn *a, sus_error *err);

/* The inputs' generator (rng.c): splitmix64 on the state *s, a uniform in
 * [0, 1) from its top 53 bits, a standard normal by Box-Muller. */
uint64_t sus_i_rng_next(uint64_t *s);
double sus_i_rng_uniform(uint64_t *s);
double sus_i_rng_normal(uint64_t *s);

#endif
