/* shape.c: validation of problem shapes and overflow-checked element counts. */
#include <math.h>

#include "internal.h"

/* Each array is addressed in bytes too, so counts must leave room for the
 * largest element (8 bytes) and for int64 indices into them. */
static int count_of(const int64_t *dims, int nd, size_t *out)
{
    size_t c = 1;
    for (int i = 0; i < nd; i++) {
        if (!sus_i_mul_size(c, (size_t)dims[i], &c))
            return 0;
    }
    if (c > (size_t)INT64_MAX / 8 || c > SIZE_MAX / 8)
        return 0;
    *out = c;
    return 1;
}

int sus_shape_sizes(const sus_shape *sh, sus_sizes *out, sus_error *err)
{
    if (!sh || !out)
        return sus_i_fail(err, SUS_ERR_INVAL, "shape: NULL argument");
    const struct {
        const char *name;
        int64_t v;
    } dims[] = {{"B", sh->B}, {"H", sh->H}, {"n", sh->n},
                {"m", sh->m}, {"d", sh->d}, {"dv", sh->dv}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        if (dims[i].v < 1)
            return sus_i_fail(err, SUS_ERR_SHAPE,
                              "shape: dimension %s = %lld, must be at least 1",
                              dims[i].name, (long long)dims[i].v);
    }
    const int64_t q[] = {sh->B, sh->H, sh->n, sh->d};
    const int64_t k[] = {sh->B, sh->H, sh->m, sh->d};
    const int64_t v[] = {sh->B, sh->H, sh->m, sh->dv};
    const int64_t o[] = {sh->B, sh->H, sh->n, sh->dv};
    const int64_t r[] = {sh->B, sh->H, sh->n};
    const int64_t s[] = {sh->B, sh->H, sh->n, sh->m};
    sus_sizes z;
    if (!count_of(q, 4, &z.q) || !count_of(k, 4, &z.k) || !count_of(v, 4, &z.v) ||
        !count_of(o, 4, &z.o) || !count_of(r, 3, &z.rows) || !count_of(s, 4, &z.scores))
        return sus_i_fail(err, SUS_ERR_OVERFLOW,
                          "shape: B=%lld H=%lld n=%lld m=%lld d=%lld dv=%lld: "
                          "array sizes overflow",
                          (long long)sh->B, (long long)sh->H, (long long)sh->n,
                          (long long)sh->m, (long long)sh->d, (long long)sh->dv);
    *out = z;
    return SUS_OK;
}

double sus_default_scale(int64_t d)
{
    return 1.0 / sqrt((double)d);
}
