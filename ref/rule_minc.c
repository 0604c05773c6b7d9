/* rule_minc.c: the paper's rule, q = min(1, c W) (DESIGN.md 2.3). */
#include <math.h>

#include "../core/internal.h"

/* W~ is written as max(w, 1/c), not w / q: the two agree in exact
 * arithmetic, and the closed form makes "every kept W~ is max(W, 1/c)"
 * hold exactly in double, where w / (c w) can be an ulp away from 1/c. */
static int minc_row(const double *w, int64_t len, double c, double *q, double *wtilde)
{
    if (!(c > 0.0))
        return sus_i_fail(NULL, SUS_ERR_INVAL, "c must be > 0");
    for (int64_t t = 0; t < len; t++) {
        if (isinf(c)) {
            q[t] = 1.0;
            wtilde[t] = w[t];
        } else if (w[t] == 0.0) {
            q[t] = 0.0;
            wtilde[t] = 0.0;
        } else {
            q[t] = fmin(1.0, c * w[t]);
            wtilde[t] = fmax(w[t], 1.0 / c);
        }
    }
    return SUS_OK;
}

const sus_rule sus_rule_minc = {"minc", minc_row};
