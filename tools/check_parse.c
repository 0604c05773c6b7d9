/* check_parse.c: the options of `sus check`. */
#include <getopt.h>
#include <string.h>

#include "check_cmd.h"

enum {
    OPT_PORT = 256,
    OPT_C,
    OPT_CAUSAL,
    OPT_SCALE,
    OPT_RULE,
    OPT_UNIT,
    OPT_CANONICAL,
    OPT_PREC
};

static const struct option options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"c", required_argument, NULL, OPT_C},
    {"causal", no_argument, NULL, OPT_CAUSAL},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"rule", required_argument, NULL, OPT_RULE},
    {"unit-roundoff", required_argument, NULL, OPT_UNIT},
    {"canonical", required_argument, NULL, OPT_CANONICAL},
    {"prec", required_argument, NULL, OPT_PREC},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct chk_state {
    sus_chk_opts *o;
    int has_c, has_rule;
} chk_state;

static sus_cli_parse_result once(int *flag, const char *option, char *msg)
{
    if (*flag)
        return sus_cli_bad(msg, "%s given more than once", option);
    *flag = 1;
    return SUS_CLI_RUN;
}

static sus_cli_parse_result chk_option(int c, void *state, char *msg)
{
    chk_state *st = state;
    sus_chk_opts *o = st->o;
    int64_t prec;
    switch (c) {
    case OPT_PORT:
        return sus_cli_set_path(&o->port, "--port", optarg, msg);
    case OPT_C:
        if (once(&st->has_c, "--c", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_budget("--c", optarg, &o->c, msg) ? SUS_CLI_RUN
                                                               : SUS_CLI_BAD;
    case OPT_CAUSAL:
        o->causal = 1;
        return SUS_CLI_RUN;
    case OPT_SCALE:
        if (once(&o->has_scale, "--scale", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_double("--scale", optarg, &o->scale, msg) ? SUS_CLI_RUN
                                                                       : SUS_CLI_BAD;
    case OPT_RULE:
        if (once(&st->has_rule, "--rule", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_rule("--rule", optarg, &o->rule, msg) ? SUS_CLI_RUN
                                                                   : SUS_CLI_BAD;
    case OPT_UNIT:
        if (once(&o->has_u, "--unit-roundoff", msg) ||
            !sus_cli_parse_double("--unit-roundoff", optarg, &o->u, msg))
            return SUS_CLI_BAD;
        if (!(o->u > 0.0 && o->u < 1.0))
            return sus_cli_bad(msg,
                               "--unit-roundoff '%s': must be in (0, 1), for example "
                               "0x1p-24 (float32) or 0.00390625 (bfloat16)",
                               optarg);
        return SUS_CLI_RUN;
    case OPT_CANONICAL:
        if (once(&o->canonical, "--canonical", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_u64("--canonical", optarg, &o->seed, msg) ? SUS_CLI_RUN
                                                                       : SUS_CLI_BAD;
    case OPT_PREC:
        if (once(&o->has_prec, "--prec", msg))
            return SUS_CLI_BAD;
        if (!sus_cli_parse_i64("--prec", optarg, 0, SUS_MPFR_MAX_PREC, &prec, msg))
            return SUS_CLI_BAD;
        if (prec != 0 && prec < SUS_MPFR_MIN_PREC)
            return sus_cli_bad(msg,
                               "--prec %s: must be 0 (the double reference) or in "
                               "[%d, %d]",
                               optarg, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC);
        o->prec = (long)prec;
        return SUS_CLI_RUN;
    default:
        return sus_cli_bad(msg, "internal error: option %d", c);
    }
}

sus_cli_parse_result sus_chk_parse(int argc, char **argv, sus_chk_opts *o, char *msg)
{
    memset(o, 0, sizeof *o);
    o->rule = &sus_rule_minc;
    msg[0] = '\0';
    chk_state st = {o, 0, 0};
    sus_cli_parse_result r =
        sus_cli_getopt_each(argc, argv, options, chk_option, &st, msg);
    if (r != SUS_CLI_RUN)
        return r;
    if (optind < argc)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    if (!o->port)
        return sus_cli_bad(msg, "--port DIR is required");
    if (!st.has_c)
        return sus_cli_bad(msg, "--c C is required (the port's budget, or inf)");
    return SUS_CLI_RUN;
}
