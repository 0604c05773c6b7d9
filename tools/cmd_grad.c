/* cmd_grad.c: `sus grad`, the exact forward outputs and gradients of an
 * attention problem given as .npy files, from the double or MPFR reference. */
#include <getopt.h>
#include <string.h>

#include "cmd_grad.h"

const char sus_cmd_grad_help[] =
    "Usage: sus grad --q Q.npy --k K.npy --v V.npy --do dO.npy --out DIR [OPTIONS]\n"
    "\n"
    "Computes the attention forward output O, the log-sum-exp lse and the exact\n"
    "gradients dQ, dK, dV (DESIGN.md 2.1) and writes them as float64 .npy files\n"
    "into DIR: O.npy, lse.npy, dQ.npy, dK.npy, dV.npy.\n"
    "\n"
    "Inputs are float32 or float64 .npy files, all 2-D ([n, d], meaning B = H = 1)\n"
    "or all 4-D ([B, H, n, d]): Q [B, H, n, d], K [B, H, m, d], V [B, H, m, dv],\n"
    "dO [B, H, n, dv]. NaN and infinities are refused. Outputs follow the same\n"
    "convention; lse has shape [B, H, n] (or [n]).\n"
    "\n"
    "Options:\n"
    "  --q FILE, --k FILE, --v FILE, --do FILE   the inputs (required)\n"
    "  --out DIR      output directory (required); created if missing, its parent\n"
    "                 must exist. Either every output is written or none is.\n"
    "  --scale S      the softmax scale, a finite number (default 1/sqrt(d))\n"
    "  --causal       causal masking as PyTorch's is_causal: key j <= query i\n"
    "  --prec BITS    MPFR precision, 64..65536 (default 256): each result is the\n"
    "                 double nearest to the exact value, with a warning for\n"
    "                 elements whose rounding could not be certified. 0 uses the\n"
    "                 double-precision reference instead.\n"
    "  --mag          also write the magnitudes |y|_mag of DESIGN.md 3: O_mag.npy,\n"
    "                 lse_mag.npy, dQ_mag.npy, dK_mag.npy, dV_mag.npy\n"
    "  --impl NAME    ref (default): the references above; fast: the optimized\n"
    "                 implementation (fast/: tiled forward, then its dense exact\n"
    "                 backward), which computes in --dtype and whose results are\n"
    "                 widened to float64. --prec and --mag are refused with fast:\n"
    "                 check it against `sus grad --prec 0 --mag` instead.\n"
    "  --dtype T      with --impl fast: f64 (default) or f32. The inputs, read as\n"
    "                 float64, are rounded to T first.\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input, 1 any other failure.\n";

enum {
    OPT_Q = 256,
    OPT_K,
    OPT_V,
    OPT_DO,
    OPT_OUT,
    OPT_SCALE,
    OPT_CAUSAL,
    OPT_PREC,
    OPT_MAG,
    OPT_IMPL,
    OPT_DTYPE,
    OPT_HELP = 'h'
};

static const struct option grad_options[] = {
    {"q", required_argument, NULL, OPT_Q},
    {"k", required_argument, NULL, OPT_K},
    {"v", required_argument, NULL, OPT_V},
    {"do", required_argument, NULL, OPT_DO},
    {"out", required_argument, NULL, OPT_OUT},
    {"scale", required_argument, NULL, OPT_SCALE},
    {"causal", no_argument, NULL, OPT_CAUSAL},
    {"prec", required_argument, NULL, OPT_PREC},
    {"mag", no_argument, NULL, OPT_MAG},
    {"impl", required_argument, NULL, OPT_IMPL},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static sus_cli_parse_result parse_prec(const char *text, long *prec, char *msg)
{
    int64_t p;
    if (!sus_cli_parse_i64("--prec", text, 0, SUS_MPFR_MAX_PREC, &p, msg))
        return SUS_CLI_BAD;
    if (p != 0 && p < SUS_MPFR_MIN_PREC)
        return sus_cli_bad(msg,
                           "--prec: '%s' is out of range: use 0 (double) or %d..%d",
                           text, SUS_MPFR_MIN_PREC, SUS_MPFR_MAX_PREC);
    *prec = (long)p;
    return SUS_CLI_RUN;
}

static sus_cli_parse_result parse_one(int c, sus_grad_opts *o, int *seen_prec,
                                      int *seen_impl, char *msg)
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
    case OPT_SCALE:
        if (o->has_scale)
            return sus_cli_bad(msg, "--scale given more than once");
        o->has_scale = 1;
        return sus_cli_parse_double("--scale", optarg, &o->scale, msg) ? SUS_CLI_RUN
                                                                       : SUS_CLI_BAD;
    case OPT_PREC:
        if (*seen_prec)
            return sus_cli_bad(msg, "--prec given more than once");
        *seen_prec = 1;
        return parse_prec(optarg, &o->prec, msg);
    case OPT_CAUSAL:
        o->causal = 1;
        return SUS_CLI_RUN;
    case OPT_MAG:
        o->mag = 1;
        return SUS_CLI_RUN;
    case OPT_IMPL:
        if (*seen_impl)
            return sus_cli_bad(msg, "--impl given more than once");
        *seen_impl = 1;
        return sus_cli_parse_impl("--impl", optarg, &o->impl, msg) ? SUS_CLI_RUN
                                                                   : SUS_CLI_BAD;
    case OPT_DTYPE:
        if (o->has_dtype)
            return sus_cli_bad(msg, "--dtype given more than once");
        o->has_dtype = 1;
        return sus_cli_parse_fast_dtype("--dtype", optarg, &o->dtype, msg)
                   ? SUS_CLI_RUN
                   : SUS_CLI_BAD;
    default:
        return sus_cli_bad(msg, "internal error: unhandled option %d", c);
    }
}

typedef struct grad_state {
    sus_grad_opts *o;
    int seen_prec, seen_impl;
} grad_state;

static sus_cli_parse_result grad_option(int c, void *state, char *msg)
{
    grad_state *st = state;
    return parse_one(c, st->o, &st->seen_prec, &st->seen_impl, msg);
}

sus_cli_parse_result sus_grad_parse(int argc, char **argv, sus_grad_opts *o, char *msg)
{
    memset(o, 0, sizeof *o);
    o->prec = SUS_MPFR_DEFAULT_PREC;
    o->dtype = SUS_DTYPE_F8;
    msg[0] = '\0';
    grad_state st = {o, 0, 0};
    sus_cli_parse_result r =
        sus_cli_getopt_each(argc, argv, grad_options, grad_option, &st, msg);
    if (r != SUS_CLI_RUN)
        return r;
    const int seen_prec = st.seen_prec;
    if (optind < argc)
        return sus_cli_bad(msg, "unexpected argument '%s'", argv[optind]);
    const struct {
        const char *value, *option;
    } required[] = {{o->q, "--q"},
                    {o->k, "--k"},
                    {o->v, "--v"},
                    {o->dout, "--do"},
                    {o->out, "--out"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!required[i].value)
            return sus_cli_bad(msg, "missing required option %s", required[i].option);
    }
    if (o->impl == SUS_CLI_IMPL_FAST) {
        if (seen_prec)
            return sus_cli_bad(msg, "--prec cannot be used with --impl fast, which "
                                    "computes in --dtype (f32 or f64)");
        if (o->mag)
            return sus_cli_bad(msg, "--mag cannot be used with --impl fast: the "
                                    "magnitudes come from the reference (--impl ref)");
    } else if (o->has_dtype) {
        return sus_cli_bad(msg, "--dtype needs --impl fast: the reference computes "
                                "in double or MPFR (--prec)");
    }
    return SUS_CLI_RUN;
}
