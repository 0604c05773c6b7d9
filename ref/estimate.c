/* estimate.c: the SUS estimator under a given mask, in double (DESIGN.md
 * 2.2), and its magnitudes. */
#include "../core/internal.h"
#include "ref_internal.h"

int sus_ref_estimate(const sus_attn *a, const sus_mask *mk, sus_grads *out,
                     sus_error *err)
{
    if (!mk)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_ref_estimate: NULL mask");
    return sus_i_ref_run(a, mk, out, 0, err);
}

int sus_ref_estimate_mag(const sus_attn *a, const sus_mask *mk, sus_grads *mag,
                         sus_error *err)
{
    if (!mk)
        return sus_i_fail(err, SUS_ERR_INVAL, "sus_ref_estimate_mag: NULL mask");
    return sus_i_ref_run(a, mk, mag, 1, err);
}
