/* check_stats.c: counting compared elements and keeping the worst few. */
#include <math.h>
#include <string.h>

#include "check_internal.h"

void sus_i_check_record(sus_check_stats *st, size_t index, double port, double oracle,
                        double bound)
{
    double diff = fabs(port - oracle);
    int ok = !isnan(port) && !isnan(oracle) && (port == oracle || diff <= bound);
    double ratio = port == oracle                      ? 0.0
                   : !isfinite(port) || !(bound > 0.0) ? INFINITY
                                                       : diff / bound;
    st->count++;
    if (!ok)
        st->failed++;
    /* Insertion into the short list, descending by ratio; among equal
     * ratios the first element seen stays first. */
    size_t pos = st->nworst;
    while (pos > 0 && ratio > st->worst[pos - 1].ratio)
        pos--;
    if (pos >= SUS_CHECK_WORST)
        return;
    size_t last = st->nworst < SUS_CHECK_WORST ? st->nworst : SUS_CHECK_WORST - 1;
    memmove(&st->worst[pos + 1], &st->worst[pos], (last - pos) * sizeof st->worst[0]);
    st->worst[pos] = (sus_check_elem){index, port, oracle, bound, ratio};
    if (st->nworst < SUS_CHECK_WORST)
        st->nworst++;
}
