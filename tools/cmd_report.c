/* cmd_report.c: `sus report`, the statistical report (issue 6, items 4-6):
 * the verdict first, then, with --out, report.md, report.html and figures.
 * Campaigns come from built-in workloads (run here), from merged shard
 * files of `sus mc --out`, or from a port directory (report_port.c). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "report_port.h"

const char sus_cmd_report_help[] =
    "Usage: sus report [--workloads LIST] [--c C] [--rule R] [--samples N] [--seed "
    "S0]\n"
    "                  [--impl auto|ref|fast] [--rho] [--alpha A] [--out DIR]\n"
    "       sus report --merge FILE... [--alpha A] [--out DIR]\n"
    "       sus report --port DIR --c C [--causal] [--scale S] [--rule R]\n"
    "                  [--unit-roundoff U] [--alpha A] [--out DIR]\n"
    "\n"
    "Tests SUS estimates against the exact moments (mean of every element and\n"
    "of random functionals, variances, mask calibration; README.md, \"Statistical\n"
    "report\") and prints the verdict first: PASS or FAIL, then each test's\n"
    "statistic, p-value, threshold and false-alarm share. With --out DIR it also\n"
    "writes DIR/report.md, DIR/report.html and gnuplot figures (qq, keep,\n"
    "variance, rho; PNG and SVG) with their data.\n"
    "\n"
    "Sources of samples:\n"
    "  (default)          run N samples of each built-in workload in LIST\n"
    "                     (comma-separated, or all: peaked,sink,uniform,local,\n"
    "                     mixed,long), sample s with the mask seed S0 + s\n"
    "  --merge FILE...    shard files of `sus mc --shard k/K --out FILE`, merged\n"
    "                     per campaign by Chan's parallel update (the remaining\n"
    "                     operands are the files)\n"
    "  --port DIR         a port directory (DESIGN.md 4): Q K V dO .npy and either\n"
    "                     stacked samples dQ.npy dK.npy dV.npy ([N, ...shape]) or\n"
    "                     Welford moments dQ.mean.npy dQ.m2.npy (and dK, dV) with\n"
    "                     count.npy; --c, --causal, --scale, --rule are the port's.\n"
    "                     Mask tests need masks and are not run.\n"
    "\n"
    "Options:\n"
    "  --c C              the budget (default 8 for workloads; required for --port)\n"
    "  --rule R           minc (default) or waterfill\n"
    "  --samples N        samples per workload (default 1000)\n"
    "  --seed S0          the first mask seed (default 1)\n"
    "  --impl NAME        auto (default: fast for long, else ref), ref or fast\n"
    "  --rho              also compute rho against c for each workload in LIST\n"
    "  --sequences S      sequences (workload seeds 1..S) for rho (default 8; 3 for\n"
    "                     long)\n"
    "  --alpha A          family-wise false-alarm rate (default 1e-6)\n"
    "  --unit-roundoff U  --port: the port's unit roundoff (default: its dtype's)\n"
    "  --out DIR          write the report into DIR (created if missing)\n"
    "  -h, --help         print this help and exit\n"
    "\n"
    "Progress goes to stderr when it is a terminal.\n"
    "Exit status: 0 PASS, 1 FAIL, 2 bad usage or bad input.\n";

typedef struct rep_opts {
    const char *workloads, *out, *port;
    double c, alpha, scale, unit;
    int has_c, has_scale, causal, merge, rho, has_unit;
    char rule[32];
    int64_t samples, sequences;
    uint64_t seed0;
    int impl; /* -1 auto, else sus_cli_impl */
    char **files;
    int nfiles;
} rep_opts;

static sus_cli_parse_result rep_option(int c, void *state, char *msg)
{
    rep_opts *o = state;
    int ok = 1;
    switch (c) {
    case 'w':
        return sus_cli_set_path(&o->workloads, "--workloads", optarg, msg);
    case 'c':
        ok = sus_cli_parse_budget("--c", optarg, &o->c, msg);
        o->has_c = 1;
        break;
    case 'r': {
        const sus_rule *rule;
        ok = sus_cli_parse_rule("--rule", optarg, &rule, msg);
        if (ok)
            snprintf(o->rule, sizeof o->rule, "%s", rule->name);
        break;
    }
    case 'n':
        ok = sus_cli_parse_i64("--samples", optarg, 2, INT64_C(1) << 40, &o->samples,
                               msg);
        break;
    case 'S':
        ok = sus_cli_parse_i64("--sequences", optarg, 2, 1000, &o->sequences, msg);
        break;
    case 's':
        ok = sus_cli_parse_u64("--seed", optarg, &o->seed0, msg);
        break;
    case 'i':
        if (strcmp(optarg, "auto") == 0)
            o->impl = -1;
        else {
            sus_cli_impl im = SUS_CLI_IMPL_REF;
            ok = sus_cli_parse_impl("--impl", optarg, &im, msg);
            o->impl = (int)im;
        }
        break;
    case 'a':
        ok = sus_cli_parse_double("--alpha", optarg, &o->alpha, msg);
        if (ok && !(o->alpha > 0.0 && o->alpha < 1.0))
            return sus_cli_bad(msg, "--alpha: %s is not in (0, 1)", optarg);
        break;
    case 'o':
        return sus_cli_set_path(&o->out, "--out", optarg, msg);
    case 'p':
        return sus_cli_set_path(&o->port, "--port", optarg, msg);
    case 'm':
        o->merge = 1;
        break;
    case 'R':
        o->rho = 1;
        break;
    case 'x':
        o->causal = 1;
        break;
    case 'z':
        ok = sus_cli_parse_double("--scale", optarg, &o->scale, msg);
        o->has_scale = 1;
        break;
    case 'u':
        ok = sus_cli_parse_double("--unit-roundoff", optarg, &o->unit, msg);
        if (ok && !(o->unit > 0.0 && o->unit < 1.0))
            return sus_cli_bad(msg, "--unit-roundoff: %s is not in (0, 1)", optarg);
        o->has_unit = 1;
        break;
    default:
        return sus_cli_bad(msg, "unexpected option");
    }
    return ok ? SUS_CLI_RUN : SUS_CLI_BAD;
}

static sus_cli_parse_result rep_parse(int argc, char **argv, rep_opts *o, char *msg)
{
    static const struct option table[] = {
        {"workloads", required_argument, NULL, 'w'},
        {"c", required_argument, NULL, 'c'},
        {"rule", required_argument, NULL, 'r'},
        {"samples", required_argument, NULL, 'n'},
        {"sequences", required_argument, NULL, 'S'},
        {"seed", required_argument, NULL, 's'},
        {"impl", required_argument, NULL, 'i'},
        {"alpha", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},
        {"port", required_argument, NULL, 'p'},
        {"merge", no_argument, NULL, 'm'},
        {"rho", no_argument, NULL, 'R'},
        {"causal", no_argument, NULL, 'x'},
        {"scale", required_argument, NULL, 'z'},
        {"unit-roundoff", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (rep_opts){.c = 8.0,
                    .alpha = 1e-6,
                    .rule = "minc",
                    .samples = 1000,
                    .seed0 = 1,
                    .impl = -1};
    sus_cli_parse_result r = sus_cli_getopt_each(argc, argv, table, rep_option, o, msg);
    if (r != SUS_CLI_RUN)
        return r;
    /* --merge takes the operands; getopt stopped at the first one. */
    o->files = argv + optind, o->nfiles = argc - optind;
    if (o->merge && o->nfiles == 0)
        return sus_cli_bad(msg, "--merge needs at least one shard FILE");
    for (int f = 0; f < o->nfiles && o->merge; f++)
        if (strncmp(o->files[f], "--", 2) == 0)
            return sus_cli_bad(msg,
                               "--merge: '%s' after the shard files: options go "
                               "before them",
                               o->files[f]);
    if (!o->merge && o->nfiles > 0)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    if (o->merge && (o->port || o->workloads || o->rho))
        return sus_cli_bad(msg, "--merge excludes --port, --workloads and --rho");
    if (o->port && (o->workloads || o->rho))
        return sus_cli_bad(msg, "--port excludes --workloads and --rho");
    if (o->port && !o->has_c)
        return sus_cli_bad(msg, "--port needs the port's --c");
    if (!o->port && (o->causal || o->has_scale || o->has_unit))
        return sus_cli_bad(msg, "--causal, --scale and --unit-roundoff go with --port "
                                "(workloads carry their own)");
    if (!o->workloads)
        o->workloads = "all";
    return SUS_CLI_RUN;
}

/* The names in a comma-separated list (or all), each checked. */
static int split_workloads(const char *list, const char **names, size_t *count,
                           char *msg)
{
    *count = 0;
    if (strcmp(list, "all") == 0) {
        for (size_t i = 0; i < sus_wl_count(); i++)
            names[(*count)++] = sus_wl_name_at(i);
        return 1;
    }
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sus_wl_count(); i++) {
            const char *nm = sus_wl_name_at(i);
            if (strlen(nm) == len && strncmp(nm, p, len) == 0) {
                names[(*count)++] = nm;
                found = 1;
                break;
            }
        }
        if (!found || *count > 16) {
            sus_cli_bad(msg,
                        "--workloads: '%.*s' is not a workload (peaked, sink, "
                        "uniform, local, mixed, long, or all)",
                        (int)len, p);
            return 0;
        }
        p += len + (p[len] == ',');
    }
    return *count > 0 || (sus_cli_bad(msg, "--workloads: empty list"), 0);
}

static int run_workload(const rep_opts *o, const char *name, sus_rep_section *sec,
                        sus_error *err)
{
    sus_mc_campaign cp = {
        .wseed = 1, .c = o->c, .samples = o->samples, .seed0 = o->seed0};
    snprintf(cp.workload, sizeof cp.workload, "%s", name);
    snprintf(cp.rule, sizeof cp.rule, "%s", o->rule);
    sus_cli_impl impl = o->impl >= 0 ? (sus_cli_impl)o->impl
                        : strcmp(name, "long") == 0 && strcmp(o->rule, "minc") == 0
                            ? SUS_CLI_IMPL_FAST
                            : SUS_CLI_IMPL_REF;
    snprintf(sec->label, sizeof sec->label, "%s c=%g rule=%s impl=%s", name, o->c,
             o->rule, impl == SUS_CLI_IMPL_FAST ? "fast" : "ref");
    int prog = isatty(STDERR_FILENO);
    if (prog)
        fprintf(stderr, "sus report: %s\n", sec->label);
    int rc = sus_mc_setup_open(&sec->setup, &cp, -1, err);
    sus_mc_draw d;
    if (!rc)
        rc = sus_mc_acc_init(&sec->acc, &sec->setup.x, 1, err);
    if (!rc)
        rc = sus_mc_draw_open(&d, &sec->setup.x, impl, 0, err);
    if (!rc) {
        rc = sus_mc_run(&d, cp.seed0, 0, cp.samples, &sec->acc, prog, err);
        sus_mc_draw_close(&d);
    }
    return rc;
}

/* Shards of one campaign are merged into one section; another campaign
 * gets its own. Seed ranges must not overlap. */
static int same_campaign(const sus_mc_campaign *a, const sus_mc_campaign *b)
{
    return strcmp(a->workload, b->workload) == 0 && a->wseed == b->wseed &&
           a->c == b->c && strcmp(a->rule, b->rule) == 0 &&
           strcmp(a->impl, b->impl) == 0 && a->samples == b->samples &&
           a->seed0 == b->seed0;
}

static int run_merge(const rep_opts *o, sus_rep_section *secs, size_t *nsec,
                     sus_error *err)
{
    sus_mc_campaign *cps = calloc((size_t)o->nfiles, sizeof *cps);
    int64_t *used = calloc((size_t)o->nfiles, sizeof *used);
    int rc = cps && used ? SUS_OK : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    size_t camp_of_sec[16];
    for (int f = 0; f < o->nfiles && !rc; f++) {
        sus_mc_acc part;
        rc = sus_mc_shard_read(o->files[f], &cps[f], &part, err);
        if (rc)
            break;
        size_t s = 0;
        while (s < *nsec && !same_campaign(&cps[camp_of_sec[s]], &cps[f]))
            s++;
        for (int g = 0; g < f && !rc; g++)
            if (same_campaign(&cps[g], &cps[f]) &&
                cps[g].first < cps[f].first + cps[f].count &&
                cps[f].first < cps[g].first + cps[g].count)
                rc = sus_cli_fail(err, SUS_ERR_INVAL,
                                  "--merge: %s and %s hold overlapping samples of one "
                                  "campaign",
                                  o->files[g], o->files[f]);
        if (!rc && s == *nsec) {
            if (s == 16)
                rc =
                    sus_cli_fail(err, SUS_ERR_INVAL, "--merge: more than 16 campaigns");
            else {
                camp_of_sec[s] = (size_t)f;
                (*nsec)++;
                rc = sus_mc_setup_open(&secs[s].setup, &cps[f], -1, err);
                if (!rc)
                    rc = sus_mc_acc_init(&secs[s].acc, &secs[s].setup.x, part.has_mask,
                                         err);
                snprintf(secs[s].label, sizeof secs[s].label, "%s c=%g rule=%s impl=%s",
                         cps[f].workload, cps[f].c, cps[f].rule, cps[f].impl);
            }
        }
        if (!rc && sus_mc_acc_merge(&secs[s].acc, &part, err))
            rc = sus_cli_fail(err, SUS_ERR_FORMAT,
                              "--merge: %s does not match workload %s (layout differs)",
                              o->files[f], cps[f].workload);
        if (!rc)
            used[camp_of_sec[s]] += cps[f].count;
        sus_mc_acc_free(&part);
    }
    for (size_t s = 0; s < *nsec && !rc; s++)
        if (used[camp_of_sec[s]] != cps[camp_of_sec[s]].samples)
            fprintf(stderr,
                    "sus report: warning: %s: the shards hold %" PRId64 " of %" PRId64
                    " samples\n",
                    secs[s].label, used[camp_of_sec[s]], cps[camp_of_sec[s]].samples);
    free(cps);
    free(used);
    return rc;
}

/* Moves every file of tmp into dir (created if missing), then removes tmp. */
static int move_all(const char *tmp, const char *dir, sus_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return sus_cli_fail(err, SUS_ERR_IO, "--out %s: %s", dir, strerror(errno));
    DIR *dd = opendir(tmp);
    if (!dd)
        return sus_cli_fail(err, SUS_ERR_IO, "%s: %s", tmp, strerror(errno));
    struct dirent *de;
    int rc = SUS_OK;
    while ((de = readdir(dd)) && !rc) {
        if (de->d_name[0] == '.')
            continue;
        char *from = sus_cli_path_join(tmp, de->d_name),
             *to = sus_cli_path_join(dir, de->d_name);
        if (!from || !to || rename(from, to) != 0)
            rc = sus_cli_fail(err, SUS_ERR_IO, "--out %s: cannot move %s: %s", dir,
                              de->d_name, strerror(errno));
        free(from);
        free(to);
    }
    closedir(dd);
    rmdir(tmp);
    return rc;
}

static void remove_all(const char *tmp)
{
    DIR *dd = opendir(tmp);
    struct dirent *de;
    while (dd && (de = readdir(dd))) {
        char *p = de->d_name[0] == '.' ? NULL : sus_cli_path_join(tmp, de->d_name);
        if (p)
            unlink(p);
        free(p);
    }
    if (dd)
        closedir(dd);
    rmdir(tmp);
}

static int write_report(const rep_opts *o, const sus_rep_section *secs, size_t nsec,
                        const sus_rep_rho *rho, size_t nrho, int pass,
                        const char *cmdline, sus_error *err)
{
    size_t len = strlen(o->out);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    while (len > 1 && o->out[len - 1] == '/')
        len--;
    snprintf(tmp, len + 16, "%.*s.tmpXXXXXX", (int)len, o->out);
    if (!mkdtemp(tmp)) {
        int rc = sus_cli_fail(err, SUS_ERR_IO,
                              "--out %s: cannot create a directory next to "
                              "it: %s",
                              o->out, strerror(errno));
        free(tmp);
        return rc;
    }
    char why[256] = "";
    int figures = sus_rep_plot(tmp, secs, nsec, rho, nrho, why, sizeof why) == 0;
    if (!figures)
        fprintf(stderr, "sus report: no figures: %s\n", why);
    int rc = sus_rep_write(tmp, secs, nsec, rho, nrho, o->alpha, pass, figures, cmdline,
                           err);
    if (!rc)
        rc = move_all(tmp, o->out, err);
    else
        remove_all(tmp);
    free(tmp);
    return rc;
}

static char *join_args(int argc, char **argv)
{
    size_t len = 4;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, "sus");
    for (int i = 0; i < argc; i++)
        strcat(strcat(s, " "), argv[i]);
    return s;
}

static int run_report(const rep_opts *o, int argc, char **argv)
{
    sus_rep_section secs[16];
    sus_rep_rho rho[16];
    const char *names[17];
    size_t nsec = 0, nrho = 0, nnames = 0;
    memset(secs, 0, sizeof secs);
    sus_error err = {SUS_OK, ""};
    char msg[SUS_CLI_MSG_LEN];
    int rc = SUS_OK, code = SUS_EXIT_OK;
    if (!o->merge && !o->port && !split_workloads(o->workloads, names, &nnames, msg)) {
        sus_cli_usage_error("report", "%s", msg);
        return SUS_EXIT_USAGE;
    }
    if (o->out)
        rc = sus_cli_outdir_check(o->out, NULL, 0, NULL, 0, &err);
    if (!rc && o->merge)
        rc = run_merge(o, secs, &nsec, &err);
    else if (!rc && o->port) {
        sus_rep_port_opts po = {o->port,
                                o->c,
                                o->rule,
                                o->causal,
                                o->has_scale,
                                o->scale,
                                o->has_unit ? o->unit : 0.0};
        nsec = 1;
        rc = sus_rep_port_load(&po, &secs[0], &err);
    }
    for (size_t i = 0; i < nnames && !rc; i++, nsec++)
        rc = run_workload(o, names[i], &secs[i], &err);
    int pass = 1;
    double alpha = nsec ? o->alpha / (double)nsec : o->alpha;
    for (size_t i = 0; i < nsec && !rc; i++) {
        rc = sus_rep_evaluate(&secs[i], alpha, &err);
        pass &= secs[i].pass;
    }
    for (size_t i = 0; i < nnames && o->rho && !rc; i++, nrho++) {
        int seqs = o->sequences                    ? (int)o->sequences
                   : strcmp(names[i], "long") == 0 ? 3
                                                   : 8;
        if (isatty(STDERR_FILENO))
            fprintf(stderr, "sus report: rho for %s (%d sequences)\n", names[i], seqs);
        rc = sus_rep_rho_compute(names[i], seqs, &rho[i], &err);
    }
    if (!rc) {
        printf("%s: %zu campaign(s), family-wise false-alarm rate %g\n",
               pass ? "PASS" : "FAIL", nsec, o->alpha);
        for (size_t i = 0; i < nsec; i++)
            sus_mc_print_verdict(stdout, secs[i].label, secs[i].t, secs[i].pass,
                                 secs[i].acc.n);
        fflush(stdout);
        code = pass ? SUS_EXIT_OK : SUS_EXIT_FAIL;
    }
    if (!rc && o->out) {
        char *cmdline = join_args(argc, argv);
        rc = write_report(o, secs, nsec, rho, nrho, pass,
                          cmdline ? cmdline : "sus report", &err);
        free(cmdline);
    }
    if (rc) {
        sus_cli_error("report", "%s", err.msg);
        code = sus_cli_exit_for(rc);
    }
    for (size_t i = 0; i < 16; i++)
        sus_rep_section_free(&secs[i]);
    return code;
}

int sus_cmd_report(int argc, char **argv)
{
    rep_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (rep_parse(argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(sus_cmd_report_help, stdout);
        return SUS_EXIT_OK;
    case SUS_CLI_BAD:
        sus_cli_usage_error("report", "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return run_report(&o, argc, argv);
}
