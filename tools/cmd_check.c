/* cmd_check.c: `sus check`, a deterministic check of one run of another
 * port (DESIGN.md 4's port directory) against the oracle. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "check_cmd.h"

const char sus_cmd_check_help[] =
    "Usage: sus check --port DIR --c C [--causal] [--scale S] [--rule NAME]\n"
    "                 [--unit-roundoff U] [--canonical SEED] [--prec BITS]\n"
    "\n"
    "Checks one run of another implementation of SUS backprop (a port: PyTorch,\n"
    "CUDA, Triton, JAX, ...) against the oracle. DIR holds (DESIGN.md 4):\n"
    "  Q.npy K.npy V.npy dO.npy          the inputs the port used\n"
    "  indptr.npy indices.npy wtilde.npy  the port's mask as one CSR over the\n"
    "                                     B*H*n query rows (see `sus mask --help`)\n"
    "  dQ.npy dK.npy dV.npy              the port's outputs of that run\n"
    "All float arrays are float32 or float64 (store bfloat16 as float32 and give\n"
    "--unit-roundoff 0.00390625), all 2-D ([n, d]) or all 4-D ([B, H, n, d]).\n"
    "\n"
    "It checks, each within the componentwise bound of DESIGN.md 3,\n"
    "|port - oracle| <= tau k u |y|_mag (tau 4, k = n + m + d + dv + 10):\n"
    "  mask   the CSR is well-formed (indptr from 0 to nnz, indices in [0, m),\n"
    "         strictly ascending per row, j <= i with --causal, W~ finite >= 0);\n"
    "  W~     every kept W~ equals the rule's W~ for C (minc: max(W, 1/c)),\n"
    "         with W's conditioning 1 + |S_ij|_mag + max_k |S_ik|_mag;\n"
    "  dQ dK dV  every element equals the oracle's estimate under the port's own\n"
    "         mask and W~ (D from the exact forward), MPFR or double reference;\n"
    "  canonical  with --canonical SEED, the kept set equals the canonical mask\n"
    "         of SEED, except at borderline entries (|u - q| within the port's\n"
    "         rounding of q), which are listed and never fail.\n"
    "\n"
    "It prints a verdict line, 'sus check: PASS' or 'sus check: FAIL (...)'\n"
    "naming the failed checks (mask, W~, dQ, dK, dV, canonical), one line per\n"
    "check and the worst elements (index, port value, oracle value, bound,\n"
    "ratio |port - oracle| / bound).\n"
    "\n"
    "Options:\n"
    "  --port DIR     the port directory (required)\n"
    "  --c C          the port's budget (required): a number > 0, or inf\n"
    "  --causal       the port used causal masking (PyTorch's is_causal)\n"
    "  --scale S      the port's softmax scale (default 1/sqrt(d))\n"
    "  --rule NAME    the port's rule: minc (default) or waterfill\n"
    "  --unit-roundoff U  the port's unit roundoff, in (0, 1); default from the\n"
    "                 outputs' dtype: 2^-24 if any is float32, else 2^-53\n"
    "  --canonical SEED   the port drew the canonical mask of SEED (an unsigned\n"
    "                 64-bit integer): compare its kept set with the oracle's\n"
    "  --prec BITS    the oracle: MPFR at BITS (64..65536), or 0 for the double\n"
    "                 reference; default MPFR 256 when U < 2^-24, else 0\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 pass, 1 fail, 2 bad usage or bad input (a file that is\n"
    "missing or unreadable, a wrong dtype or shape).\n";

static int run_check(const sus_chk_opts *o)
{
    struct stat st;
    if (stat(o->port, &st) != 0 || !S_ISDIR(st.st_mode)) {
        /* Tested apart so that a mistyped DIR is named as such, not as a
         * missing DIR/Q.npy. */
        sus_cli_error("check", "--port %s: %s", o->port,
                      stat(o->port, &st) != 0 ? strerror(errno) : "is not a directory");
        return SUS_EXIT_USAGE;
    }
    sus_chk_port p;
    sus_error err = {SUS_OK, ""};
    int rc = sus_chk_load(o->port, &p, &err);
    if (rc) {
        sus_cli_error("check", "%s", err.msg);
        return rc == SUS_ERR_NOMEM ? SUS_EXIT_FAIL : SUS_EXIT_USAGE;
    }
    double scale = o->has_scale ? o->scale : sus_default_scale(p.in.shape.d);
    sus_attn a = sus_cli_attn_problem(&p.in, scale, o->causal);
    sus_check_opts co = {o->rule,      o->c,    o->has_u ? o->u : sus_chk_default_u(&p),
                         o->canonical, o->seed, 0};
    co.prec = o->has_prec ? o->prec : co.u < 0x1p-24 ? SUS_MPFR_DEFAULT_PREC : 0;
    sus_check_report rep;
    rc = sus_check_port(&a, &p.mk, p.out[0], p.out[1], p.out[2], &co, &rep, &err);
    int code;
    if (rc) {
        sus_cli_error("check", "%s", err.msg);
        code = sus_cli_exit_for(rc);
    } else {
        sus_chk_print(o, &p, &a, &co, &rep);
        code = fflush(stdout) != 0 ? SUS_EXIT_FAIL
               : rep.pass          ? SUS_EXIT_OK
                                   : SUS_EXIT_FAIL;
    }
    sus_chk_free(&p);
    return code;
}

int sus_cmd_check(int argc, char **argv)
{
    sus_chk_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (sus_chk_parse(argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(sus_cmd_check_help, stdout);
        return fflush(stdout) == 0 ? SUS_EXIT_OK : SUS_EXIT_FAIL;
    case SUS_CLI_BAD:
        sus_cli_usage_error("check", "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return run_check(&o);
}
