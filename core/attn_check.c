/* attn_check.c: validation of an attention problem before any computation. */
#include <math.h>

#include "internal.h"

/* Names the first non-finite element as a multi-index, so that a user can
 * find it in the array they passed. */
static int check_finite(const double *x, size_t count, const char *name,
                        const int64_t dims[4], sus_error *err)
{
    for (size_t t = 0; t < count; t++) {
        if (isfinite(x[t]))
            continue;
        int64_t idx[4];
        size_t rest = t;
        for (int a = 3; a >= 0; a--) {
            idx[a] = (int64_t)(rest % (size_t)dims[a]);
            rest /= (size_t)dims[a];
        }
        return sus_i_fail(err, SUS_ERR_NONFINITE,
                          "%s: non-finite value %g at index [%lld, %lld, %lld, %lld]",
                          name, x[t], (long long)idx[0], (long long)idx[1],
                          (long long)idx[2], (long long)idx[3]);
    }
    return SUS_OK;
}

static int check_common(const sus_attn *a, int need_v, sus_error *err)
{
    if (!a)
        return sus_i_fail(err, SUS_ERR_INVAL, "attention problem: NULL argument");
    sus_sizes z;
    int rc = sus_shape_sizes(&a->shape, &z, err);
    if (rc)
        return rc;
    if (!a->q || !a->k || (need_v && (!a->v || !a->dout)))
        return sus_i_fail(err, SUS_ERR_INVAL, "attention problem: NULL input array");
    if (!isfinite(a->scale))
        return sus_i_fail(err, SUS_ERR_INVAL, "scale: %g is not finite", a->scale);
    const sus_shape *s = &a->shape;
    const int64_t qd[4] = {s->B, s->H, s->n, s->d};
    const int64_t kd[4] = {s->B, s->H, s->m, s->d};
    const int64_t vd[4] = {s->B, s->H, s->m, s->dv};
    const int64_t od[4] = {s->B, s->H, s->n, s->dv};
    if ((rc = check_finite(a->q, z.q, "Q", qd, err)) ||
        (rc = check_finite(a->k, z.k, "K", kd, err)))
        return rc;
    if (need_v && ((rc = check_finite(a->v, z.v, "V", vd, err)) ||
                   (rc = check_finite(a->dout, z.o, "dO", od, err))))
        return rc;
    sus_i_ok(err);
    return SUS_OK;
}

int sus_attn_check(const sus_attn *a, sus_error *err)
{
    return check_common(a, 1, err);
}

int sus_i_attn_check_qk(const sus_attn *a, sus_error *err)
{
    return check_common(a, 0, err);
}
