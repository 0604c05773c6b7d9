/* uniforms.c: the canonical uniforms of DESIGN.md 2.4 for a whole problem
 * at once, so that a binding needs one call instead of one per entry. */
#include "../core/internal.h"

int sus_canonical_uniforms(uint64_t seed, const sus_shape *sh, double *u,
                           sus_error *err)
{
    sus_sizes z;
    int rc = sus_shape_sizes(sh, &z, err);
    if (rc)
        return rc;
    if (!u)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_canonical_uniforms: NULL output");
    size_t t = 0;
    for (int64_t b = 0; b < sh->B; b++)
        for (int64_t h = 0; h < sh->H; h++)
            for (int64_t i = 0; i < sh->n; i++)
                for (int64_t j = 0; j < sh->m; j++)
                    if (sus_canonical_uniform(seed, b, h, i, j, &u[t++]))
                        return sus_i_fail(err, SUS_ERR_INVAL,
                                          "canonical uniforms need b, h, i and j/2 "
                                          "below 2^32");
    sus_i_ok(err);
    return SUS_OK;
}
