/* cli_table.c: the table of subcommands, generated from SUS_CLI_COMMANDS. */
#include <string.h>

#include "cli.h"

#define SUS_CLI_ROW(name, summary)                                                     \
    {#name, summary, sus_cmd_##name##_help, sus_cmd_##name},
const sus_cli_command sus_cli_commands[] = {SUS_CLI_COMMANDS(SUS_CLI_ROW)};
#undef SUS_CLI_ROW

const size_t sus_cli_command_count =
    sizeof sus_cli_commands / sizeof sus_cli_commands[0];

const sus_cli_command *sus_cli_find(const char *name)
{
    for (size_t i = 0; i < sus_cli_command_count; i++) {
        if (strcmp(sus_cli_commands[i].name, name) == 0)
            return &sus_cli_commands[i];
    }
    return NULL;
}
