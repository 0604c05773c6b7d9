/*
 * fast_internal.h: the context and workspaces shared by fast/'s modules.
 * fast/ includes nothing from ref/ (DESIGN.md 5): only sus.h and this.
 * Internal external names start with sus_fi_.
 */
#ifndef SUS_FAST_INTERNAL_H
#define SUS_FAST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sus.h"

/* Workspace slots: each module owns its slot numbers, so buffers are never
 * shared by accident. */
enum sus_fi_slot {
    SUS_FI_SLOT_FWD0 = 0, /* forward: 0..7 */
    SUS_FI_SLOT_BWD0 = 8, /* backward: 8..15 */
    SUS_FI_SLOT_COUNT = 16
};

typedef struct sus_fi_buf {
    void *p;
    size_t cap; /* bytes */
} sus_fi_buf;

struct sus_fast_ctx {
    int threads;
    sus_simd simd;
    int64_t block_q, block_k; /* block_k 0: per problem, sus_fi_block_k */
    sus_mask mask;            /* the last forward's mask (arrays owned here) */
    size_t mask_cap;          /* capacity of mask.indices and mask.wtilde */
    size_t indptr_cap;        /* capacity of mask.indptr */
    sus_fi_buf shared[SUS_FI_SLOT_COUNT];
    sus_fi_buf *per_thread; /* threads * SUS_FI_SLOT_COUNT */
};

/* A buffer of at least bytes in slot, reused across calls and grown (never
 * shrunk) on demand; NULL if out of memory or bytes overflows. Not safe
 * inside a parallel region: grow shared buffers before one. */
void *sus_fi_scratch(sus_fast_ctx *ctx, int slot, size_t bytes);

/* The same for thread tid's own slot: safe inside a parallel region, as
 * each thread touches only its own buffers. */
void *sus_fi_thread_scratch(sus_fast_ctx *ctx, int tid, int slot, size_t bytes);

/* The forward's keys per tile for a problem of widths d, dv and element
 * size es: the context's, or the default for that problem. */
int64_t sus_fi_block_k(const sus_fast_ctx *ctx, int64_t d, int64_t dv, size_t es);

/* Grows the context's mask arrays to hold rows and nnz entries. */
int sus_fi_mask_reserve(sus_fast_ctx *ctx, size_t rows, size_t nnz);

/* The best level this CPU supports (run-time detection). */
sus_simd sus_fi_cpu_simd(void);

/* Validates a fast problem (shape, dtype, non-NULL inputs, finite scale,
 * finite inputs, scanned by up to threads threads); need_dout also
 * requires dO. */
int sus_fi_check_problem(const sus_fast_problem *p, int threads, int need_dout,
                         sus_error *err);

#endif
