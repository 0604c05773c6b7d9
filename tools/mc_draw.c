/* mc_draw.c: one sample per seed, and a range of seeds into accumulators
 * (mc_draw.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mc_draw.h"

void sus_mc_draw_close(sus_mc_draw *d)
{
    sus_fast_ctx_free(d->ctx);
    free(d->o);
    free(d->lse);
    free(d->y);
    sus_mask_free(&d->mk);
    *d = (sus_mc_draw){0};
}

int sus_mc_draw_open(sus_mc_draw *d, const sus_mc_exact *x, sus_cli_impl impl,
                     int variant, sus_error *err)
{
    *d = (sus_mc_draw){.x = x, .impl = impl, .variant = variant};
    if (impl == SUS_CLI_IMPL_FAST && x->rule != &sus_rule_minc)
        return sus_cli_fail(err, SUS_ERR_INVAL,
                            "--impl fast draws only the minc rule, not %s",
                            x->rule->name);
    d->o = malloc(x->z.o * sizeof(double));
    d->lse = malloc(x->z.rows * sizeof(double));
    d->y = malloc(x->E * sizeof(double));
    if (!d->o || !d->lse || !d->y) {
        sus_mc_draw_close(d);
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory for the samples");
    }
    if (impl == SUS_CLI_IMPL_FAST) {
        /* One thread: campaigns spread over processes (shards) instead. */
        sus_fast_config cfg = {1, SUS_SIMD_AUTO, 0, 0};
        int rc = sus_fast_ctx_new(&cfg, &d->ctx, err);
        if (rc) {
            sus_mc_draw_close(d);
            return rc;
        }
        d->p = (sus_fast_problem){x->a.shape, SUS_DTYPE_F8, x->a.scale, x->a.causal,
                                  x->a.q,     x->a.k,       x->a.v,     x->a.dout};
    }
    return SUS_OK;
}

int sus_mc_draw_one(sus_mc_draw *d, uint64_t seed, const sus_mask **mk, sus_error *err)
{
    const sus_mc_exact *x = d->x;
    double *dq = d->y, *dk = d->y + x->z.q, *dv = dk + x->z.k;
    int rc;
#ifdef SUS_TEST_VARIANTS
    if (d->variant) {
        sus_mask_free(&d->mk);
        rc = sus_mc_variant_draw(x, d->variant, seed, d->y, &d->mk, err);
        *mk = &d->mk;
        return rc;
    }
#endif
    if (d->impl == SUS_CLI_IMPL_FAST) {
        rc = sus_fast_forward(d->ctx, &d->p, x->c, seed, d->o, d->lse, NULL, err);
        *mk = sus_fast_mask(d->ctx);
        if (!rc)
            rc = sus_fast_sus_backward(d->ctx, &d->p, *mk, d->o, dq, dk, dv, err);
        return rc;
    }
    sus_mask_free(&d->mk);
    rc = sus_ref_mask(&x->a, x->rule, x->c, seed, &d->mk, err);
    sus_grads g = {d->o, d->lse, dq, dk, dv};
    if (!rc)
        rc = sus_ref_estimate(&x->a, &d->mk, &g, err);
    *mk = &d->mk;
    return rc;
}

int sus_mc_run(sus_mc_draw *d, uint64_t seed0, int64_t first, int64_t count,
               sus_mc_acc *acc, int progress, sus_error *err)
{
    int rc = SUS_OK;
    int64_t step = count >= 20 ? count / 20 : 1;
    for (int64_t s = 0; s < count && !rc; s++) {
        const sus_mask *mk = NULL;
        rc = sus_mc_draw_one(d, seed0 + (uint64_t)(first + s), &mk, err);
        if (!rc)
            sus_mc_acc_push(acc, d->x, d->y, mk);
        if (progress && (s + 1) % step == 0)
            fprintf(stderr, "\r  %lld/%lld samples", (long long)(s + 1),
                    (long long)count);
    }
    if (progress)
        fprintf(stderr, "\n");
    return rc;
}
