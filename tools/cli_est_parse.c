/* cli_est_parse.c: the option parser shared by `sus mask`, `sus sample` and
 * `sus moments`; no output, no file system. */
#include <getopt.h>
#include <string.h>

#include "cli_est.h"

enum {
    OPT_Q = 256,
    OPT_K,
    OPT_V,
    OPT_DO,
    OPT_OUT,
    OPT_SCALE,
    OPT_CAUSAL,
    OPT_C,
    OPT_SEED,
    OPT_RULE,
    OPT_MASK,
    OPT_MAG,
    OPT_PREC,
    OPT_ENUMERATE,
    OPT_IMPL,
    OPT_DTYPE,
    OPT_LAST = OPT_DTYPE,
    OPT_HELP = 'h'
};

/* Each command knows only its own options, so that getopt's abbreviations
 * and its "unknown option" refer to what the command accepts. */
#define OPTS_COMMON                                                                    \
    {"q", required_argument, NULL, OPT_Q}, {"k", required_argument, NULL, OPT_K},      \
        {"out", required_argument, NULL, OPT_OUT},                                     \
        {"scale", required_argument, NULL, OPT_SCALE},                                 \
        {"causal", no_argument, NULL, OPT_CAUSAL},                                     \
        {"c", required_argument, NULL, OPT_C},                                         \
        {"rule", required_argument, NULL, OPT_RULE},                                   \
    {                                                                                  \
        "help", no_argument, NULL, OPT_HELP                                            \
    }
#define OPTS_VDO                                                                       \
    {"v", required_argument, NULL, OPT_V},                                             \
    {                                                                                  \
        "do", required_argument, NULL, OPT_DO                                          \
    }

static const struct option mask_options[] = {
    OPTS_COMMON,
    {"seed", required_argument, NULL, OPT_SEED},
    {NULL, 0, NULL, 0},
};

static const struct option sample_options[] = {
    OPTS_COMMON,
    OPTS_VDO,
    {"seed", required_argument, NULL, OPT_SEED},
    {"mask", required_argument, NULL, OPT_MASK},
    {"mag", no_argument, NULL, OPT_MAG},
    {"impl", required_argument, NULL, OPT_IMPL},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {NULL, 0, NULL, 0},
};

static const struct option moments_options[] = {
    OPTS_COMMON,
    OPTS_VDO,
    {"prec", required_argument, NULL, OPT_PREC},
    {"enumerate", no_argument, NULL, OPT_ENUMERATE},
    {NULL, 0, NULL, 0},
};

const char *sus_est_name(sus_est_cmd cmd)
{
    switch (cmd) {
    case SUS_EST_MASK:
        return "mask";
    case SUS_EST_SAMPLE:
        return "sample";
    case SUS_EST_MOMENTS:
        return "moments";
    }
    return "?";
}

/* Every valued option may be given once; seen[] counts by option code. */
static sus_cli_parse_result once(unsigned char *seen, int c, const char *option,
                                 char *msg)
{
    if (seen[c - OPT_Q])
        return sus_cli_bad(msg, "%s given more than once", option);
    seen[c - OPT_Q] = 1;
    return SUS_CLI_RUN;
}

static sus_cli_parse_result parse_prec(const char *text, long *prec, char *msg)
{
    int64_t p;
    if (!sus_cli_parse_i64("--prec", text, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC, &p,
                           msg))
        return SUS_CLI_BAD;
    *prec = (long)p;
    return SUS_CLI_RUN;
}

static sus_cli_parse_result parse_one(int c, sus_est_opts *o, unsigned char *seen,
                                      char *msg)
{
    switch (c) {
    case OPT_Q:
        return sus_cli_set_path(&o->q, "--q", optarg, msg);
    case OPT_K:
        return sus_cli_set_path(&o->k, "--k", optarg, msg);
    case OPT_V:
        return sus_cli_set_path(&o->v, "--v", optarg, msg);
    case OPT_DO:
        return sus_cli_set_path(&o->dout, "--do", optarg, msg);
    case OPT_OUT:
        return sus_cli_set_path(&o->out, "--out", optarg, msg);
    case OPT_MASK:
        return sus_cli_set_path(&o->mask, "--mask", optarg, msg);
    case OPT_SCALE:
        if (once(seen, c, "--scale", msg))
            return SUS_CLI_BAD;
        o->has_scale = 1;
        return sus_cli_parse_double("--scale", optarg, &o->scale, msg) ? SUS_CLI_RUN
                                                                       : SUS_CLI_BAD;
    case OPT_C:
        if (once(seen, c, "--c", msg))
            return SUS_CLI_BAD;
        o->has_c = 1;
        return sus_cli_parse_budget("--c", optarg, &o->c, msg) ? SUS_CLI_RUN
                                                               : SUS_CLI_BAD;
    case OPT_SEED:
        if (once(seen, c, "--seed", msg))
            return SUS_CLI_BAD;
        o->has_seed = 1;
        return sus_cli_parse_u64("--seed", optarg, &o->seed, msg) ? SUS_CLI_RUN
                                                                  : SUS_CLI_BAD;
    case OPT_RULE:
        if (once(seen, c, "--rule", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_rule("--rule", optarg, &o->rule, msg) ? SUS_CLI_RUN
                                                                   : SUS_CLI_BAD;
    case OPT_PREC:
        if (once(seen, c, "--prec", msg))
            return SUS_CLI_BAD;
        return parse_prec(optarg, &o->prec, msg);
    case OPT_IMPL:
        if (once(seen, c, "--impl", msg))
            return SUS_CLI_BAD;
        return sus_cli_parse_impl("--impl", optarg, &o->impl, msg) ? SUS_CLI_RUN
                                                                   : SUS_CLI_BAD;
    case OPT_DTYPE:
        if (once(seen, c, "--dtype", msg))
            return SUS_CLI_BAD;
        o->has_dtype = 1;
        return sus_cli_parse_fast_dtype("--dtype", optarg, &o->dtype, msg)
                   ? SUS_CLI_RUN
                   : SUS_CLI_BAD;
    case OPT_CAUSAL:
        o->causal = 1;
        return SUS_CLI_RUN;
    case OPT_MAG:
        o->mag = 1;
        return SUS_CLI_RUN;
    case OPT_ENUMERATE:
        o->enumerate = 1;
        return SUS_CLI_RUN;
    default:
        return sus_cli_bad(msg, "internal error: unhandled option %d", c);
    }
}

/* What the command needs once every option is read. */
/* --impl fast runs fast/, which draws only the minc mask and has no
 * magnitudes; --dtype is its computing dtype. */
static sus_cli_parse_result check_impl(const sus_est_opts *o, char *msg)
{
    if (o->impl != SUS_CLI_IMPL_FAST) {
        if (o->has_dtype)
            return sus_cli_bad(msg, "--dtype needs --impl fast: the reference "
                                    "computes in double");
        return SUS_CLI_RUN;
    }
    if (o->rule != &sus_rule_minc)
        return sus_cli_bad(msg,
                           "--rule %s cannot be used with --impl fast, which draws "
                           "the minc mask only (use --impl ref, or give the mask "
                           "with --mask)",
                           o->rule->name);
    if (o->mag)
        return sus_cli_bad(msg, "--mag cannot be used with --impl fast: the "
                                "magnitudes come from the reference (--impl ref)");
    return SUS_CLI_RUN;
}

static sus_cli_parse_result check_required(const sus_est_opts *o,
                                           const unsigned char *seen, char *msg)
{
    int vdo = o->cmd != SUS_EST_MASK;
    const struct {
        int need;
        const char *value, *option;
    } required[] = {{1, o->q, "--q"},
                    {1, o->k, "--k"},
                    {vdo, o->v, "--v"},
                    {vdo, o->dout, "--do"},
                    {1, o->out, "--out"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (required[i].need && !required[i].value)
            return sus_cli_bad(msg, "missing required option %s", required[i].option);
    }
    if (check_impl(o, msg) != SUS_CLI_RUN)
        return SUS_CLI_BAD;
    if (o->mask) {
        /* The given mask is used as it is: a budget, seed or rule could
         * only be ignored, and a user who passes them expects an effect. */
        const struct {
            int given;
            const char *option;
        } excl[] = {{o->has_c, "--c"},
                    {o->has_seed, "--seed"},
                    {seen[OPT_RULE - OPT_Q], "--rule"}};
        for (size_t i = 0; i < sizeof excl / sizeof excl[0]; i++) {
            if (excl[i].given)
                return sus_cli_bad(msg,
                                   "%s cannot be used with --mask: the mask given "
                                   "is used as it is",
                                   excl[i].option);
        }
        return SUS_CLI_RUN;
    }
    const char *alt = o->cmd == SUS_EST_SAMPLE ? " (or give a mask with --mask)" : "";
    if (!o->has_c)
        return sus_cli_bad(msg, "missing required option --c%s", alt);
    if (o->cmd != SUS_EST_MOMENTS && !o->has_seed)
        return sus_cli_bad(msg, "missing required option --seed%s", alt);
    return SUS_CLI_RUN;
}

typedef struct est_state {
    sus_est_opts *o;
    unsigned char *seen;
} est_state;

static sus_cli_parse_result est_option(int c, void *state, char *msg)
{
    est_state *st = state;
    return parse_one(c, st->o, st->seen, msg);
}

sus_cli_parse_result sus_est_parse(sus_est_cmd cmd, int argc, char **argv,
                                   sus_est_opts *o, char *msg)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->rule = &sus_rule_minc;
    o->prec = SUS_MPFR_DEFAULT_PREC;
    o->dtype = SUS_DTYPE_F8;
    msg[0] = '\0';
    const struct option *table = cmd == SUS_EST_MASK     ? mask_options
                                 : cmd == SUS_EST_SAMPLE ? sample_options
                                                         : moments_options;
    unsigned char seen[OPT_LAST - OPT_Q + 1] = {0};
    est_state st = {o, seen};
    sus_cli_parse_result r =
        sus_cli_getopt_each(argc, argv, table, est_option, &st, msg);
    if (r != SUS_CLI_RUN)
        return r;
    if (optind < argc)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    return check_required(o, seen, msg);
}
