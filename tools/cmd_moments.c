/* cmd_moments.c: `sus moments`, the exact mean and variance of the SUS
 * estimator and its expected kept count (DESIGN.md 2.5), in MPFR. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli_est.h"

const char sus_cmd_moments_help[] =
    "Usage: sus moments --q Q.npy --k K.npy --v V.npy --do dO.npy --c C --out DIR\n"
    "                   [OPTIONS]\n"
    "\n"
    "Computes the exact moments of the SUS estimator (DESIGN.md 2.5) whose mask\n"
    "keeps entry (i, j) with probability q_ij, the rule's keep probability in\n"
    "double from the double reference's W (as `sus mask` uses), with value\n"
    "W_ij/q_ij for the exact W. Evaluated in MPFR and rounded to the nearest\n"
    "double, it writes into DIR as float64 .npy files:\n"
    "  mean_dQ.npy, mean_dK.npy, mean_dV.npy   E[dQ~], E[dK~], E[dV~]\n"
    "  var_dQ.npy, var_dK.npy, var_dV.npy      the per-element variances\n"
    "  nnz.npy        the expected kept count of each query row, sum_j q_ij,\n"
    "                 shape [B, H, n] (or [n])\n"
    "and prints the expected total kept count on standard output as one line\n"
    "'expected nnz: X', X the shortest decimal that reads back as the double.\n"
    "\n"
    "Inputs are float32 or float64 .npy files, all 2-D ([n, d], meaning B = H = 1)\n"
    "or all 4-D ([B, H, n, d]): Q [B, H, n, d], K [B, H, m, d], V [B, H, m, dv],\n"
    "dO [B, H, n, dv]. NaN and infinities are refused. Outputs follow the same\n"
    "convention.\n"
    "\n"
    "Options:\n"
    "  --q FILE, --k FILE, --v FILE, --do FILE   the inputs (required)\n"
    "  --c C          the budget (required): a number > 0, or inf (q = 1: the\n"
    "                 mean is the exact gradient and the variance 0)\n"
    "  --rule NAME    minc (default) or waterfill (see `sus mask --help`)\n"
    "  --out DIR      output directory (required); created if missing, its parent\n"
    "                 must exist. Either every output is written or none is.\n"
    "  --scale S      the softmax scale, a finite number (default 1/sqrt(d))\n"
    "  --causal       causal masking as PyTorch's is_causal: key j <= query i\n"
    "  --prec BITS    MPFR precision, 64..65536 (default 256)\n"
    "  --enumerate    sum over every mask, weighted by its probability, instead\n"
    "                 of the closed forms: for cross-checks on tiny problems;\n"
    "                 refused if a head has more than 20 entries with 0 < q < 1\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input, 1 any other failure.\n";

enum {
    OUT_MEAN_DQ,
    OUT_MEAN_DK,
    OUT_MEAN_DV,
    OUT_VAR_DQ,
    OUT_VAR_DK,
    OUT_VAR_DV,
    OUT_NNZ,
    OUT_COUNT
};

static const char *const out_name[OUT_COUNT] = {
    "mean_dQ.npy", "mean_dK.npy", "mean_dV.npy", "var_dQ.npy",
    "var_dK.npy",  "var_dV.npy",  "nnz.npy",
};
static const sus_cli_out_kind out_kind[OUT_COUNT] = {
    SUS_CLI_OUT_Q, SUS_CLI_OUT_K, SUS_CLI_OUT_V,    SUS_CLI_OUT_Q,
    SUS_CLI_OUT_K, SUS_CLI_OUT_V, SUS_CLI_OUT_ROWS,
};

/* As `sus grad`: above about 5 s of MPFR work at a terminal, say so. */
#define PROGRESS_WORK 1e7

static int compute(const sus_est_opts *o, const sus_cli_attn *in, const sus_attn *a,
                   sus_array *res, double *nnz_total, sus_error *err)
{
    double *mo = calloc(in->sizes.o, sizeof(double));
    double *mlse = calloc(in->sizes.rows, sizeof(double));
    if (!mo || !mlse) {
        free(mo);
        free(mlse);
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    }
    sus_moments m = {
        .mean = {mo, mlse, res[OUT_MEAN_DQ].data, res[OUT_MEAN_DK].data,
                 res[OUT_MEAN_DV].data},
        .var = {NULL, NULL, res[OUT_VAR_DQ].data, res[OUT_VAR_DK].data,
                res[OUT_VAR_DV].data},
        .nnz_row = res[OUT_NNZ].data,
        .nnz_total = 0.0,
    };
    double work = (double)in->sizes.scores * (double)(in->shape.d + in->shape.dv) *
                  ((double)o->prec / SUS_MPFR_DEFAULT_PREC);
    if (!o->enumerate && isatty(STDERR_FILENO) && work > PROGRESS_WORK)
        fprintf(stderr,
                "sus moments: computing %zu score pairs at %ld bits; this may take "
                "a while\n",
                in->sizes.scores, o->prec);
    int rc = o->enumerate ? sus_mpfr_enumerate(a, o->rule, o->c, o->prec, &m, err)
                          : sus_mpfr_moments(a, o->rule, o->c, o->prec, &m, err);
    *nnz_total = m.nnz_total;
    free(mo);
    free(mlse);
    return rc;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as x. */
static void print_total(double x)
{
    char buf[64];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    printf("expected nnz: %s\n", buf);
}

static int run_moments(const sus_est_opts *o)
{
    sus_cli_attn in;
    sus_attn a;
    int code = sus_est_load(o, &in, &a);
    if (code)
        return code;
    sus_error err = {SUS_OK, ""};
    const char *const inputs[4] = {o->q, o->k, o->v, o->dout};
    sus_array res[OUT_COUNT] = {{0}};
    double nnz_total = 0.0;
    /* Refused before the computation, which can take long. */
    int rc = sus_cli_outdir_check(o->out, out_name, OUT_COUNT, inputs, 4, &err);
    for (int i = 0; i < OUT_COUNT && !rc; i++) {
        int64_t shape[4];
        int nd = sus_cli_attn_out_shape(&in, out_kind[i], shape);
        rc = sus_array_alloc(&res[i], SUS_DTYPE_F8, nd, shape, &err);
    }
    if (!rc)
        rc = compute(o, &in, &a, res, &nnz_total, &err);
    if (rc)
        code = sus_cli_exit_for(rc);
    sus_cli_attn_free(&in);
    if (!rc) {
        rc = sus_est_write(o->out, out_name, res, OUT_COUNT, &err);
        if (rc)
            code = SUS_EXIT_FAIL;
    }
    if (rc)
        sus_cli_error("moments", "%s", err.msg);
    else
        print_total(nnz_total);
    for (int i = 0; i < OUT_COUNT; i++)
        sus_array_free(&res[i]);
    return code;
}

int sus_cmd_moments(int argc, char **argv)
{
    return sus_est_main(SUS_EST_MOMENTS, sus_cmd_moments_help, run_moments, argc, argv);
}
