/* cli_fast.c: running fast/ from the CLI: inputs converted to the computing
 * dtype, a context, and the outputs (see cli_fast.h). */
#include <stdlib.h>

#include "cli_fast.h"

/* A malloc'ed copy of src[0..count) in dtype. */
static void *narrow(const double *src, size_t count, sus_dtype dtype)
{
    size_t el = sus_dtype_size(dtype);
    void *dst = malloc(count ? count * el : 1);
    if (!dst)
        return NULL;
    if (dtype == SUS_DTYPE_F4) {
        float *d = dst;
        for (size_t i = 0; i < count; i++)
            d[i] = (float)src[i];
    } else {
        double *d = dst;
        for (size_t i = 0; i < count; i++)
            d[i] = src[i];
    }
    return dst;
}

void sus_cli_fast_widen(const void *src, size_t count, sus_dtype dtype, double *dst)
{
    if (dtype == SUS_DTYPE_F4) {
        const float *s = src;
        for (size_t i = 0; i < count; i++)
            dst[i] = (double)s[i];
    } else {
        const double *s = src;
        for (size_t i = 0; i < count; i++)
            dst[i] = s[i];
    }
}

int sus_cli_fast_open(const sus_cli_attn *a, double scale, int causal, sus_dtype dtype,
                      sus_cli_fast *f, sus_error *err)
{
    memset(f, 0, sizeof *f);
    if (dtype != SUS_DTYPE_F4 && dtype != SUS_DTYPE_F8)
        return sus_cli_fail(err, SUS_ERR_INVAL, "fast/ computes in f32 or f64 only");
    const sus_sizes *z = &a->sizes;
    const double *src[4] = {a->q, a->k, a->v, a->dout};
    const size_t count[4] = {z->q, z->k, z->v, z->o};
    int nomem = 0;
    for (int i = 0; i < 4; i++) {
        if (src[i]) {
            f->in[i] = narrow(src[i], count[i], dtype);
            nomem |= !f->in[i];
        }
    }
    size_t el = sus_dtype_size(dtype);
    void **out[5] = {&f->o, &f->lse, &f->dq, &f->dk, &f->dv};
    const size_t out_count[5] = {z->o, z->rows, z->q, z->k, z->v};
    for (int i = 0; i < 5 && !nomem; i++) {
        *out[i] = malloc(out_count[i] * el);
        nomem |= !*out[i];
    }
    if (nomem) {
        sus_cli_fast_close(f);
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    }
    sus_fast_config cfg = {0, SUS_SIMD_AUTO, 0, 0};
    int rc = sus_fast_ctx_new(&cfg, &f->ctx, err);
    if (rc) {
        sus_cli_fast_close(f);
        return rc;
    }
    f->p = (sus_fast_problem){
        .shape = a->shape,
        .dtype = dtype,
        .scale = scale,
        .causal = causal,
        .q = f->in[0],
        .k = f->in[1],
        .v = f->in[2],
        .dout = f->in[3],
    };
    return SUS_OK;
}

void sus_cli_fast_close(sus_cli_fast *f)
{
    sus_fast_ctx_free(f->ctx);
    for (int i = 0; i < 4; i++)
        free(f->in[i]);
    free(f->o);
    free(f->lse);
    free(f->dq);
    free(f->dk);
    free(f->dv);
    memset(f, 0, sizeof *f);
}
