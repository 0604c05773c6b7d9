/* port_uniforms.c: check_port's check of sus_canonical_uniforms (port.h):
 * the whole problem's uniforms against sus_canonical_uniform element by
 * element and fast/'s independent sus_fast_uniforms bit for bit. */
#include <stdlib.h>

#include "port.h"

void port_check_uniforms(fz_case *fc)
{
    const sus_shape *sh = &fc->t.p.a.shape;
    double *u = malloc(fc->t.p.z.scores * sizeof *u);
    double *row = malloc((size_t)sh->m * sizeof *row);
    sus_fast_ctx *ctx = fz_case_ctx(fc); /* NULL: the best level */
    sus_error err;
    if (!u || !row)
        goto done;
    int rc = sus_canonical_uniforms(fc->seed, sh, u, &err);
    if (rc != SUS_OK)
        fz_fail(fc, "sus_canonical_uniforms refused: %s", err.msg);
    size_t t = 0;
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++)
            for (int64_t i = 0; i < sh->n; i++) {
                rc = sus_fast_uniforms(ctx, fc->seed, b, h, i, 0, sh->m, row);
                if (rc != SUS_OK)
                    fz_fail(fc, "sus_fast_uniforms(b %lld, h %lld, i %lld) refused: %s",
                            (long long)b, (long long)h, (long long)i, sus_strerror(rc));
                for (int64_t j = 0; j < sh->m; j++, t++) {
                    double want = -1.0;
                    sus_canonical_uniform(fc->seed, b, h, i, j, &want);
                    if (u[t] != want || row[j] != want)
                        fz_fail(fc,
                                "uniform (b %lld, h %lld, i %lld, j %lld): whole "
                                "problem %a, fast %a, want %a bound=0",
                                (long long)b, (long long)h, (long long)i, (long long)j,
                                u[t], row[j], want);
                }
            }
done:
    sus_fast_ctx_free(ctx);
    free(u);
    free(row);
}
