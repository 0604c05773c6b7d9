/* cmd_workload.c: `sus workload NAME --out DIR`, the built-in workloads as
 * .npy inputs (issue 6, item 1). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli_est.h"
#include "workload.h"

const char sus_cmd_workload_help[] =
    "Usage: sus workload NAME [--seed S] --out DIR\n"
    "       sus workload --list\n"
    "\n"
    "Writes the built-in workload NAME, made deterministically from NAME and\n"
    "--seed (default 1), as float64 .npy files Q.npy, K.npy, V.npy, dO.npy of\n"
    "shape [B, H, n, d] into DIR, and prints on stdout the flags that go with\n"
    "them (--causal, --scale) for `sus moments`, `sus check` and the like.\n"
    "\n"
    "Workloads:\n"
    "  peaked   large query and key norms: a few dominant keys per row\n"
    "  sink     key 0 is attended by every query\n"
    "  uniform  near-zero logits\n"
    "  local    weight concentrated near the diagonal, causal\n"
    "  mixed    B = 1, H = 4 heads at different temperatures\n"
    "  long     n = m = 2048, causal\n"
    "\n"
    "Options:\n"
    "  --seed S     the workload's seed, an unsigned 64-bit integer (default 1)\n"
    "  --out DIR    output directory; created if missing, its parent must exist\n"
    "  --list       print the names and descriptions, one per line\n"
    "  -h, --help   print this help and exit\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input, 1 any other failure.\n";

typedef struct wl_opts {
    const char *out;
    uint64_t seed;
    int list;
} wl_opts;

static sus_cli_parse_result wl_option(int c, void *state, char *msg)
{
    wl_opts *o = state;
    switch (c) {
    case 's':
        return sus_cli_parse_u64("--seed", optarg, &o->seed, msg) ? SUS_CLI_RUN
                                                                  : SUS_CLI_BAD;
    case 'o':
        return sus_cli_set_path(&o->out, "--out", optarg, msg);
    case 'l':
        o->list = 1;
        return SUS_CLI_RUN;
    }
    return sus_cli_bad(msg, "unexpected option");
}

static const char *const wl_names[4] = {"Q.npy", "K.npy", "V.npy", "dO.npy"};

static int write_workload(const sus_wl *w, const char *dir, sus_error *err)
{
    const sus_shape *sh = &w->shape;
    const int64_t shp[4][4] = {{sh->B, sh->H, sh->n, sh->d},
                               {sh->B, sh->H, sh->m, sh->d},
                               {sh->B, sh->H, sh->m, sh->dv},
                               {sh->B, sh->H, sh->n, sh->dv}};
    const size_t count[4] = {w->sizes.q, w->sizes.k, w->sizes.v, w->sizes.o};
    double *src[4] = {w->q, w->k, w->v, w->dout};
    sus_array arr[4];
    for (int i = 0; i < 4; i++) {
        arr[i] = (sus_array){SUS_DTYPE_F8, 4, {0}, count[i], src[i]};
        for (int t = 0; t < 4; t++)
            arr[i].shape[t] = shp[i][t];
    }
    int rc = sus_cli_outdir_check(dir, wl_names, 4, NULL, 0, err);
    if (!rc)
        rc = sus_est_write(dir, wl_names, arr, 4, err);
    return rc;
}

int sus_cmd_workload(int argc, char **argv)
{
    static const struct option table[] = {{"seed", required_argument, NULL, 's'},
                                          {"out", required_argument, NULL, 'o'},
                                          {"list", no_argument, NULL, 'l'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    wl_opts o = {NULL, 1, 0};
    char msg[SUS_CLI_MSG_LEN];
    /* NAME may come first: getopt then starts after it (it stops at the
     * first operand). */
    const char *first = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (first)
        argc--, argv++;
    sus_cli_parse_result r = sus_cli_getopt_each(argc, argv, table, wl_option, &o, msg);
    if (r == SUS_CLI_HELP) {
        fputs(sus_cmd_workload_help, stdout);
        return SUS_EXIT_OK;
    }
    const char *name = first;
    if (!name && optind < argc)
        name = argv[optind++];
    if (r == SUS_CLI_RUN && o.list) {
        for (size_t i = 0; i < sus_wl_count(); i++)
            printf("%-8s %s\n", sus_wl_name_at(i), sus_wl_describe(sus_wl_name_at(i)));
        return SUS_EXIT_OK;
    }
    if (r == SUS_CLI_RUN && !name)
        r = sus_cli_bad(msg, "missing the workload NAME (try --list)");
    else if (r == SUS_CLI_RUN && optind < argc)
        r = sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    else if (r == SUS_CLI_RUN && !o.out)
        r = sus_cli_bad(msg, "--out DIR is required");
    if (r != SUS_CLI_RUN) {
        sus_cli_usage_error("workload", "%s", msg);
        return SUS_EXIT_USAGE;
    }
    sus_wl w;
    sus_error err = {SUS_OK, ""};
    int rc = sus_wl_make(name, o.seed, &w, &err);
    if (!rc)
        rc = write_workload(&w, o.out, &err);
    if (rc) {
        sus_cli_error("workload", "%s", err.msg);
        sus_wl_free(&w);
        return sus_cli_exit_for(rc);
    }
    printf("%s seed %" PRIu64 ": B=%" PRId64 " H=%" PRId64 " n=%" PRId64 " m=%" PRId64
           " d=%" PRId64 " dv=%" PRId64 "; flags:%s --scale %.17g\n",
           name, o.seed, w.shape.B, w.shape.H, w.shape.n, w.shape.m, w.shape.d,
           w.shape.dv, w.causal ? " --causal" : "", w.scale);
    sus_wl_free(&w);
    return SUS_EXIT_OK;
}
