/* report_section.c: one campaign of a report: evaluation and cleanup. */
#include <math.h>
#include <stdlib.h>

#include "report.h"

void sus_rep_section_free(sus_rep_section *s)
{
    sus_mc_acc_free(&s->acc);
    sus_mc_setup_close(&s->setup);
    sus_cli_attn_free(&s->port);
    free(s->z);
    s->z = NULL;
}

int sus_rep_evaluate(sus_rep_section *sec, double alpha, sus_error *err)
{
    free(sec->z);
    sec->z = malloc((sec->setup.x.E ? sec->setup.x.E : 1) * sizeof(double));
    if (!sec->z)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    sec->pass = sus_mc_evaluate(&sec->setup.x, &sec->acc, alpha, sec->t, sec->z);
    return SUS_OK;
}
