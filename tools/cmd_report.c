#include "cli.h"
const char sus_cmd_report_help[] = "x\n";
int sus_cmd_report(int argc, char **argv)
{
    (void)argc, (void)argv;
    return 2;
}
