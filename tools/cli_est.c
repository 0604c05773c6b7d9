/* cli_est.c: what `sus mask`, `sus sample` and `sus moments` share when they
 * run: the entry point, reading the inputs, and writing the outputs. */
#include <stdio.h>

#include "cli_est.h"

int sus_est_main(sus_est_cmd cmd, const char *help, int (*run)(const sus_est_opts *o),
                 int argc, char **argv)
{
    sus_est_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (sus_est_parse(cmd, argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(help, stdout);
        return fflush(stdout) == 0 ? SUS_EXIT_OK : SUS_EXIT_FAIL;
    case SUS_CLI_BAD:
        sus_cli_usage_error(sus_est_name(cmd), "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return run(&o);
}

int sus_est_load(const sus_est_opts *o, sus_cli_attn *in, sus_attn *a)
{
    sus_error err = {SUS_OK, ""};
    int qk_only = o->cmd == SUS_EST_MASK;
    int rc = sus_cli_attn_load(o->q, o->k, qk_only ? NULL : o->v,
                               qk_only ? NULL : o->dout, in, &err);
    if (rc) {
        sus_cli_error(sus_est_name(o->cmd), "%s", err.msg);
        /* A file that cannot be read is bad input, not a failure of ours. */
        return rc == SUS_ERR_NOMEM ? SUS_EXIT_FAIL : SUS_EXIT_USAGE;
    }
    double scale = o->has_scale ? o->scale : sus_default_scale(in->shape.d);
    *a = sus_cli_attn_problem(in, scale, o->causal);
    return SUS_EXIT_OK;
}

int sus_est_write(const char *dir, const char *const *names, const sus_array *arrays,
                  size_t count, sus_error *err)
{
    sus_cli_outdir od;
    int rc = sus_cli_outdir_open(&od, dir, err);
    for (size_t i = 0; i < count && !rc; i++)
        rc = sus_cli_outdir_write(&od, names[i], &arrays[i], err);
    if (!rc)
        sus_cli_outdir_commit(&od);
    sus_cli_outdir_close(&od);
    return rc;
}
