/* sus_main.c: the `sus` command line: global options and subcommand
 * dispatch. Each subcommand lives in tools/cmd_NAME.c (see cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: sus COMMAND [OPTIONS]\n"
               "       sus help COMMAND\n"
               "       sus --help | --version\n"
               "\n"
               "The oracle and verification suite for SUS backprop: exact attention\n"
               "gradients in double and MPFR precision.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < sus_cli_command_count; i++)
        fprintf(f, "  %-10s %s\n", sus_cli_commands[i].name,
                sus_cli_commands[i].summary);
    fprintf(f, "\nRun 'sus help COMMAND' or 'sus COMMAND --help' for its options.\n");
}

/* One line, so that a wrong command name fails with a single message. */
static int unknown_command(const char *what, const char *name)
{
    fprintf(stderr, "sus: unknown %s '%s'; commands:", what, name);
    for (size_t i = 0; i < sus_cli_command_count; i++)
        fprintf(stderr, "%s %s", i ? "," : "", sus_cli_commands[i].name);
    fprintf(stderr, "\nTry 'sus --help'.\n");
    return SUS_EXIT_USAGE;
}

static int help_command(int argc, char **argv)
{
    if (argc == 2) {
        usage(stdout);
        return SUS_EXIT_OK;
    }
    if (argc > 3) {
        fprintf(stderr,
                "sus help: expected one command name, got %d\n"
                "Try 'sus --help'.\n",
                argc - 2);
        return SUS_EXIT_USAGE;
    }
    const sus_cli_command *c = sus_cli_find(argv[2]);
    if (!c)
        return unknown_command("command", argv[2]);
    fputs(c->help, stdout);
    return SUS_EXIT_OK;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SUS_EXIT_USAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "help") == 0)
        return help_command(argc, argv);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        usage(stdout);
        return SUS_EXIT_OK;
    }
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("sus %s\n", sus_version());
        return SUS_EXIT_OK;
    }
    if (a[0] == '-')
        return unknown_command("option", a);
    const sus_cli_command *c = sus_cli_find(a);
    if (!c)
        return unknown_command("command", a);
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    int code = dispatch(argc, argv);
    /* Output that did not reach its destination (a full disk, a closed
     * pipe) must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sus: error writing to standard output\n");
        if (code == SUS_EXIT_OK)
            code = SUS_EXIT_FAIL;
    }
    return code;
}
