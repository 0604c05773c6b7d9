/*
 * check_internal.h: the pieces of sus_check_port (sus.h, "Checking one run
 * of another port") shared by its files. Not public.
 */
#ifndef SUS_REF_CHECK_INTERNAL_H
#define SUS_REF_CHECK_INTERNAL_H

#include "sus.h"

/* Records one compared element into st: it fails unless port equals
 * oracle or |port - oracle| <= bound (a NaN on either side fails). */
void sus_i_check_record(sus_check_stats *st, size_t index, double port, double oracle,
                        double bound);

/* What the mask checks need of the problem: the rule's dense q and W~
 * (sus_ref_probs), and the bound's constants. */
typedef struct sus_i_check_ctx {
    const sus_attn *a;
    const sus_mask *mk;
    const sus_check_opts *o;
    const sus_rule *rule;
    double *q, *wt; /* B*H*n*m each */
    double tau, k, u, tiny;
} sus_i_check_ctx;

/* W~ of every kept entry against the rule's, and with o->canonical the
 * kept set against the canonical mask, into rep. */
int sus_i_check_mask(const sus_i_check_ctx *cx, sus_check_report *rep, sus_error *err);

#endif
