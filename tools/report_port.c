/* report_port.c: a port directory as a campaign (report_port.h). */
#include "report_port.h"

int sus_rep_port_load(const sus_rep_port_opts *po, sus_rep_section *sec, sus_error *err)
{
    (void)po;
    (void)sec;
    return sus_cli_fail(err, SUS_ERR_UNSUPPORTED, "--port: not yet implemented");
}
