/* cmd_mc.c: `sus mc`, a Monte Carlo campaign on a built-in workload: a
 * verdict, one shard of partial moments, the calibration of the false-alarm
 * rate, or (test builds only) the power against biased variants. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mc_campaign.h"

const char sus_cmd_mc_help[] =
    "Usage: sus mc --workload W [--c C] [--rule R] [--samples N] [--seed S0]\n"
    "              [--wseed S] [--impl ref|fast] [--alpha A]\n"
    "              [--shard k/K --out FILE | --calibrate R | --power [--reruns R]]\n"
    "\n"
    "Draws N SUS estimates of the built-in workload W (see `sus workload`),\n"
    "sample s with the canonical mask of seed S0 + s, and tests them against\n"
    "the exact moments (README.md, \"Statistical report\"): the mean of every\n"
    "element and of random linear functionals, their variances, and the mask's\n"
    "calibration. It prints the verdict first and exits 0 (PASS) or 1 (FAIL).\n"
    "\n"
    "  --shard k/K --out FILE  draw only shard k (0 <= k < K) of the N samples\n"
    "                 and write its partial moments to FILE, for\n"
    "                 `sus report --merge` (prints nothing; exit 0)\n"
    "  --calibrate R  rerun the test R times with fresh seeds on the estimator\n"
    "                 at the nominal --alpha (default 0.01 here) and report the\n"
    "                 observed alarm rate with its 95% Clopper-Pearson interval\n"
    "  --power        the detection rate of every test-only biased variant over\n"
    "                 --reruns R (default 100) reruns; only in the test build\n"
    "                 (build/tests/sus-variants): the released sus has none\n"
    "\n"
    "Options:\n"
    "  --workload W   peaked, sink, uniform, local, mixed or long (required)\n"
    "  --wseed S      the workload's seed (default 1)\n"
    "  --c C          the budget (default 8), --rule minc (default) or waterfill\n"
    "  --samples N    samples (default 1000)\n"
    "  --seed S0      the first mask seed (default 1)\n"
    "  --impl NAME    ref (default): sus_ref_mask + sus_ref_estimate; fast: fast/'s\n"
    "                 streaming sampler and sparse backward in float64 (minc only)\n"
    "  --alpha A      family-wise false-alarm rate (default 1e-6)\n"
#ifdef SUS_TEST_VARIANTS
    "  --variant V    test build only: sample a biased variant instead\n"
#endif
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 pass, 1 fail, 2 bad usage or bad input.\n";

typedef struct mc_opts {
    sus_mc_campaign cp;
    const char *out;
    int has_shard, has_alpha, power;
    int64_t k, K, calibrate, reruns;
    double alpha;
    sus_cli_impl impl;
    int variant;
} mc_opts;

static sus_cli_parse_result mc_option(int c, void *state, char *msg)
{
    mc_opts *o = state;
    int ok = 1;
    switch (c) {
    case 'w':
        if (strlen(optarg) >= sizeof o->cp.workload || !sus_wl_describe(optarg))
            return sus_cli_bad(msg,
                               "--workload: unknown workload '%s' (peaked, sink, "
                               "uniform, local, mixed, long)",
                               optarg);
        strcpy(o->cp.workload, optarg);
        break;
    case 'W':
        ok = sus_cli_parse_u64("--wseed", optarg, &o->cp.wseed, msg);
        break;
    case 'c':
        ok = sus_cli_parse_budget("--c", optarg, &o->cp.c, msg);
        break;
    case 'r': {
        const sus_rule *rule;
        ok = sus_cli_parse_rule("--rule", optarg, &rule, msg);
        if (ok)
            snprintf(o->cp.rule, sizeof o->cp.rule, "%s", rule->name);
        break;
    }
    case 'n':
        ok = sus_cli_parse_i64("--samples", optarg, 2, INT64_C(1) << 40, &o->cp.samples,
                               msg);
        break;
    case 's':
        ok = sus_cli_parse_u64("--seed", optarg, &o->cp.seed0, msg);
        break;
    case 'i':
        ok = sus_cli_parse_impl("--impl", optarg, &o->impl, msg);
        break;
    case 'a':
        ok = sus_cli_parse_double("--alpha", optarg, &o->alpha, msg);
        if (ok && !(o->alpha > 0.0 && o->alpha < 1.0))
            return sus_cli_bad(msg, "--alpha: %s is not in (0, 1)", optarg);
        o->has_alpha = 1;
        break;
    case 'k':
        o->has_shard = 1;
        ok = sus_mc_parse_shard(optarg, &o->k, &o->K, msg);
        break;
    case 'o':
        return sus_cli_set_path(&o->out, "--out", optarg, msg);
    case 'C':
        ok = sus_cli_parse_i64("--calibrate", optarg, 1, 1000000, &o->calibrate, msg);
        break;
    case 'p':
        o->power = 1;
        break;
    case 'R':
        ok = sus_cli_parse_i64("--reruns", optarg, 1, 1000000, &o->reruns, msg);
        break;
#ifdef SUS_TEST_VARIANTS
    case 'V':
        o->variant = sus_mc_variant_find(optarg);
        if (!o->variant)
            return sus_cli_bad(msg, "--variant: unknown variant '%s'", optarg);
        break;
#endif
    default:
        return sus_cli_bad(msg, "unexpected option");
    }
    return ok ? SUS_CLI_RUN : SUS_CLI_BAD;
}

static sus_cli_parse_result mc_parse(int argc, char **argv, mc_opts *o, char *msg)
{
    static const struct option table[] = {{"workload", required_argument, NULL, 'w'},
                                          {"wseed", required_argument, NULL, 'W'},
                                          {"c", required_argument, NULL, 'c'},
                                          {"rule", required_argument, NULL, 'r'},
                                          {"samples", required_argument, NULL, 'n'},
                                          {"seed", required_argument, NULL, 's'},
                                          {"impl", required_argument, NULL, 'i'},
                                          {"alpha", required_argument, NULL, 'a'},
                                          {"shard", required_argument, NULL, 'k'},
                                          {"out", required_argument, NULL, 'o'},
                                          {"calibrate", required_argument, NULL, 'C'},
                                          {"power", no_argument, NULL, 'p'},
                                          {"reruns", required_argument, NULL, 'R'},
#ifdef SUS_TEST_VARIANTS
                                          {"variant", required_argument, NULL, 'V'},
#endif
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    *o = (mc_opts){
        .cp = {.wseed = 1, .c = 8.0, .rule = "minc", .samples = 1000, .seed0 = 1},
        .k = 0,
        .K = 1,
        .reruns = 100,
        .alpha = 1e-6};
    sus_cli_parse_result r = sus_cli_getopt_each(argc, argv, table, mc_option, o, msg);
    if (r != SUS_CLI_RUN)
        return r;
    if (optind < argc)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    if (!o->cp.workload[0])
        return sus_cli_bad(msg, "--workload is required");
    if (o->has_shard && !o->out)
        return sus_cli_bad(msg, "--shard needs --out FILE");
    if ((o->out != NULL) + (o->calibrate > 0) + o->power > 1)
        return sus_cli_bad(msg, "--out, --calibrate and --power exclude each other");
    if (o->K > o->cp.samples)
        return sus_cli_bad(msg, "--shard: more shards (%" PRId64 ") than samples",
                           o->K);
    if (o->calibrate && !o->has_alpha)
        o->alpha = 0.01;
#ifndef SUS_TEST_VARIANTS
    if (o->power)
        return sus_cli_bad(msg,
                           "--power: the biased variants are compiled only into the "
                           "test build: run build/tests/sus-variants mc --power");
#endif
    snprintf(o->cp.impl, sizeof o->cp.impl, "%s",
             o->impl == SUS_CLI_IMPL_FAST ? "fast" : "ref");
    return SUS_CLI_RUN;
}

/* One campaign of N samples from seed0: the verdict, tests in t. */
static int one_run(const sus_mc_setup *s, const mc_opts *o, int variant, uint64_t seed0,
                   sus_mc_test *t, int *pass, int progress, sus_error *err)
{
    sus_mc_draw d;
    sus_mc_acc acc;
    int rc = sus_mc_draw_open(&d, &s->x, o->impl, variant, err);
    if (rc)
        return rc;
    rc = sus_mc_acc_init(&acc, &s->x, 1, err);
    if (!rc)
        rc = sus_mc_run(&d, seed0, 0, o->cp.samples, &acc, progress, err);
    if (!rc)
        *pass = sus_mc_evaluate(&s->x, &acc, o->alpha, t, NULL);
    sus_mc_acc_free(&acc);
    sus_mc_draw_close(&d);
    return rc;
}

/* Rerun r's first seed: far from the default campaign's and from others'. */
static uint64_t rerun_seed(const mc_opts *o, int64_t r)
{
    return o->cp.seed0 + ((uint64_t)(r + 1) << 40);
}

static int calibrate(const sus_mc_setup *s, const mc_opts *o, sus_error *err)
{
    int64_t alarms = 0, per[SUS_MC_NTESTS] = {0};
    sus_mc_test t[SUS_MC_NTESTS];
    int prog = isatty(STDERR_FILENO);
    for (int64_t r = 0; r < o->calibrate; r++) {
        int pass = 1;
        int rc = one_run(s, o, o->variant, rerun_seed(o, r), t, &pass, 0, err);
        if (rc)
            return rc;
        alarms += !pass;
        for (int i = 0; i < SUS_MC_NTESTS; i++)
            per[i] += !t[i].pass;
        if (prog)
            fprintf(stderr, "\r  rerun %" PRId64 "/%" PRId64, r + 1, o->calibrate);
    }
    if (prog)
        fprintf(stderr, "\n");
    double lo, hi;
    sus_mc_clopper_pearson(alarms, o->calibrate, 0.95, &lo, &hi);
    printf("calibration: %s c=%g rule=%s N=%" PRId64 ", %" PRId64
           " reruns at nominal alpha %g\n",
           o->cp.workload, o->cp.c, o->cp.rule, o->cp.samples, o->calibrate, o->alpha);
    printf("family alarms: %" PRId64 "/%" PRId64 " = %.4f, 95%% CI [%.4f, %.4f] (%s)\n",
           alarms, o->calibrate, (double)alarms / (double)o->calibrate, lo, hi,
           lo <= o->alpha ? "consistent with <= alpha" : "ABOVE alpha");
    for (int i = 0; i < SUS_MC_NTESTS; i++)
        printf("  %-34s alarms %" PRId64 " (share %.3g)\n", t[i].name, per[i],
               t[i].alpha);
    return lo <= o->alpha ? SUS_OK : -1;
}

#ifdef SUS_TEST_VARIANTS
static int power(const sus_mc_setup *s, const mc_opts *o, sus_error *err)
{
    int prog = isatty(STDERR_FILENO), ok = 1;
    printf("power: %s c=%g N=%" PRId64 ", %" PRId64 " reruns each, alpha %g\n\n",
           o->cp.workload, o->cp.c, o->cp.samples, o->reruns, o->alpha);
    printf("| variant | biased | caught | rate | 95%% CI | test that failed most |\n"
           "|---|---|---|---|---|---|\n");
    for (int v = 0; v <= sus_mc_variant_count(); v++) {
        int64_t caught = 0, per[SUS_MC_NTESTS] = {0};
        const char *tname[SUS_MC_NTESTS] = {NULL};
        for (int64_t r = 0; r < o->reruns; r++) {
            sus_mc_test t[SUS_MC_NTESTS];
            int pass = 1;
            int rc = one_run(s, o, v, rerun_seed(o, r), t, &pass, 0, err);
            if (rc)
                return rc;
            caught += !pass;
            for (int i = 0; i < SUS_MC_NTESTS; i++)
                per[i] += !t[i].pass, tname[i] = t[i].name;
            if (prog)
                fprintf(stderr, "\r  %s: %" PRId64 "/%" PRId64, sus_mc_variant_name(v),
                        r + 1, o->reruns);
        }
        double lo, hi, rate = (double)caught / (double)o->reruns;
        sus_mc_clopper_pearson(caught, o->reruns, 0.95, &lo, &hi);
        int biased = sus_mc_variant_biased(v);
        ok &= biased ? rate >= 0.99 : caught == 0 || lo <= o->alpha;
        if (prog)
            fprintf(stderr, "\n");
        int most = 0;
        for (int i = 1; i < SUS_MC_NTESTS; i++)
            most = per[i] > per[most] ? i : most;
        printf("| %s | %s | %" PRId64 "/%" PRId64 " | %.2f | [%.3f, %.3f] | %s |\n",
               sus_mc_variant_name(v), biased ? "yes" : "no", caught, o->reruns, rate,
               lo, hi, per[most] ? tname[most] : "-");
        fflush(stdout);
    }
    return ok ? SUS_OK : -1;
}
#endif

static int run_mc(const mc_opts *o)
{
    sus_error err = {SUS_OK, ""};
    sus_mc_setup s;
    int rc = o->out ? sus_mc_shard_check_path(o->out, &err) : SUS_OK;
    if (rc) {
        sus_cli_error("mc", "%s", err.msg);
        return sus_cli_exit_for(rc);
    }
    /* A shard needs only the accumulators' layout: no MPFR moments. */
    rc = sus_mc_setup_open(&s, &o->cp, o->out ? 0 : -1, &err);
    if (rc) {
        sus_cli_error("mc", "%s", err.msg);
        return sus_cli_exit_for(rc);
    }
    int code = SUS_EXIT_OK, prog = isatty(STDERR_FILENO);
    if (o->calibrate) {
        rc = calibrate(&s, o, &err);
#ifdef SUS_TEST_VARIANTS
    } else if (o->power) {
        rc = power(&s, o, &err);
#endif
    } else if (o->out) {
        sus_mc_campaign cp = o->cp;
        sus_mc_shard_range(cp.samples, o->k, o->K, &cp.first, &cp.count);
        sus_mc_draw d;
        sus_mc_acc acc = {0};
        rc = sus_mc_draw_open(&d, &s.x, o->impl, o->variant, &err);
        if (!rc) {
            rc = sus_mc_acc_init(&acc, &s.x, 1, &err);
            if (!rc)
                rc = sus_mc_run(&d, cp.seed0, cp.first, cp.count, &acc, prog, &err);
            if (!rc)
                rc = sus_mc_shard_write(o->out, &cp, &acc, &err);
            sus_mc_acc_free(&acc);
            sus_mc_draw_close(&d);
        }
    } else {
        sus_mc_test t[SUS_MC_NTESTS];
        int pass = 1;
        rc = one_run(&s, o, o->variant, o->cp.seed0, t, &pass, prog, &err);
        if (!rc) {
            char label[128];
            snprintf(label, sizeof label, "%s c=%g rule=%s impl=%s", o->cp.workload,
                     o->cp.c, o->cp.rule, o->cp.impl);
            sus_mc_print_verdict(stdout, label, t, pass, (double)o->cp.samples);
            code = sus_mc_exit(pass);
        }
    }
    if (rc == -1)
        code = SUS_EXIT_FAIL;
    else if (rc) {
        sus_cli_error("mc", "%s", err.msg);
        code = sus_cli_exit_for(rc);
    }
    sus_mc_setup_close(&s);
    return code;
}

int sus_cmd_mc(int argc, char **argv)
{
    mc_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (mc_parse(argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(sus_cmd_mc_help, stdout);
        return SUS_EXIT_OK;
    case SUS_CLI_BAD:
        sus_cli_usage_error("mc", "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return run_mc(&o);
}
