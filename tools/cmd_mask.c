/* cmd_mask.c: `sus mask`, the canonical mask of DESIGN.md 2.4 for a problem
 * given as Q and K .npy files, written as a CSR in three .npy files. */
#include "cli_est.h"

const char sus_cmd_mask_help[] =
    "Usage: sus mask --q Q.npy --k K.npy --c C --seed SEED --out DIR [OPTIONS]\n"
    "\n"
    "Draws the canonical SUS mask (DESIGN.md 2.4): entry (i, j) of head (b, h)\n"
    "is kept iff u_ij < q_ij, where u_ij is the Philox4x32-10 uniform of\n"
    "(SEED, b, h, i, j) and q_ij the rule's keep probability, computed in double\n"
    "from the double reference's attention weights W. Writes the mask as one CSR\n"
    "over all B*H*n query rows, row r = (b*H + h)*n + i, into DIR:\n"
    "  indptr.npy   int64, B*H*n + 1 row offsets\n"
    "  indices.npy  int64, the kept key indices j, strictly ascending in a row\n"
    "  wtilde.npy   float64, the value W~ = W/q of each kept entry\n"
    "\n"
    "Q [B, H, n, d] and K [B, H, m, d] are float32 or float64 .npy files, both\n"
    "2-D ([n, d], meaning B = H = 1) or both 4-D. NaN and infinities are refused.\n"
    "\n"
    "Options:\n"
    "  --q FILE, --k FILE   the inputs (required)\n"
    "  --c C          the budget (required): a number > 0, or inf for q = 1\n"
    "                 everywhere (every allowed entry is kept with W~ = W)\n"
    "  --seed SEED    the mask's seed (required): an unsigned 64-bit integer,\n"
    "                 decimal or hexadecimal with 0x, 0..18446744073709551615\n"
    "  --rule NAME    the keep-probability rule: minc (default), q = min(1, c W);\n"
    "                 or waterfill, q = min(1, W/t) with sum q = min(c, #{W > 0})\n"
    "  --out DIR      output directory (required); created if missing, its parent\n"
    "                 must exist. Either every output is written or none is.\n"
    "  --scale S      the softmax scale, a finite number (default 1/sqrt(d))\n"
    "  --causal       causal masking as PyTorch's is_causal: key j <= query i\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input, 1 any other failure.\n";

static int run_mask(const sus_est_opts *o)
{
    sus_cli_attn in;
    sus_attn a;
    int code = sus_est_load(o, &in, &a);
    if (code)
        return code;
    sus_error err = {SUS_OK, ""};
    const char *const inputs[2] = {o->q, o->k};
    sus_mask mk = {0};
    sus_array res[SUS_CLI_MASK_FILES] = {{0}};
    int rc = sus_cli_outdir_check(o->out, sus_cli_mask_names, SUS_CLI_MASK_FILES,
                                  inputs, 2, &err);
    if (!rc)
        rc = sus_ref_mask(&a, o->rule, o->c, o->seed, &mk, &err);
    if (!rc)
        rc = sus_cli_mask_arrays(&mk, res, &err);
    sus_mask_free(&mk);
    sus_cli_attn_free(&in);
    if (rc)
        code = sus_cli_exit_for(rc);
    if (!rc) {
        rc = sus_est_write(o->out, sus_cli_mask_names, res, SUS_CLI_MASK_FILES, &err);
        if (rc)
            code = SUS_EXIT_FAIL;
    }
    if (rc)
        sus_cli_error("mask", "%s", err.msg);
    for (int f = 0; f < SUS_CLI_MASK_FILES; f++)
        sus_array_free(&res[f]);
    return code;
}

int sus_cmd_mask(int argc, char **argv)
{
    return sus_est_main(SUS_EST_MASK, sus_cmd_mask_help, run_mask, argc, argv);
}
