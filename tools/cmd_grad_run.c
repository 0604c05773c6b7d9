/* cmd_grad_run.c: the `sus grad` entry point and the execution of a parsed
 * command: read, compute everything, then write every output or none. */
#include <stdio.h>
#include <unistd.h>

#include "cmd_grad.h"

enum { OUT_O, OUT_LSE, OUT_DQ, OUT_DK, OUT_DV, OUT_COUNT };

static const char *const out_name[2 * OUT_COUNT] = {
    "O.npy",     "lse.npy",     "dQ.npy",     "dK.npy",     "dV.npy",
    "O_mag.npy", "lse_mag.npy", "dQ_mag.npy", "dK_mag.npy", "dV_mag.npy",
};
static const sus_cli_out_kind out_kind[OUT_COUNT] = {
    SUS_CLI_OUT_O, SUS_CLI_OUT_ROWS, SUS_CLI_OUT_Q, SUS_CLI_OUT_K, SUS_CLI_OUT_V,
};

/* MPFR at 256 bits costs about 0.6 us per (query, key) pair and unit of
 * d + dv (measured: 512 x 512 causal, d = dv = 64, 10 s), so above this
 * much work, about 5 s, a user at a terminal is told that it is working. */
#define PROGRESS_WORK 1e7

static sus_grads grads_of(sus_array *r)
{
    sus_grads g = {r[OUT_O].data, r[OUT_LSE].data, r[OUT_DQ].data, r[OUT_DK].data,
                   r[OUT_DV].data};
    return g;
}

/* --impl fast: fast/'s forward (no mask) and dense backward in o->dtype,
 * widened to the float64 outputs. */
static int compute_fast(const sus_grad_opts *o, const sus_cli_attn *in, sus_array *res,
                        sus_error *err)
{
    double scale = o->has_scale ? o->scale : sus_default_scale(in->shape.d);
    sus_cli_fast f;
    int rc = sus_cli_fast_open(in, scale, o->causal, o->dtype, &f, err);
    if (rc)
        return rc;
    rc = sus_fast_forward(f.ctx, &f.p, 0.0, 0, f.o, f.lse, NULL, err);
    if (!rc)
        rc = sus_fast_dense_backward(f.ctx, &f.p, f.o, f.lse, f.dq, f.dk, f.dv, err);
    if (!rc) {
        const void *src[OUT_COUNT] = {f.o, f.lse, f.dq, f.dk, f.dv};
        for (int i = 0; i < OUT_COUNT; i++)
            sus_cli_fast_widen(src[i], res[i].count, o->dtype, res[i].data);
    }
    sus_cli_fast_close(&f);
    return rc;
}

static int compute(const sus_grad_opts *o, const sus_cli_attn *in, sus_array *res,
                   sus_error *err)
{
    if (o->impl == SUS_CLI_IMPL_FAST)
        return compute_fast(o, in, res, err);
    sus_attn a = {
        .shape = in->shape,
        .scale = o->has_scale ? o->scale : sus_default_scale(in->shape.d),
        .causal = o->causal,
        .q = in->q,
        .k = in->k,
        .v = in->v,
        .dout = in->dout,
    };
    sus_grads g = grads_of(res), gm = grads_of(res + OUT_COUNT);
    if (o->prec == 0) {
        int rc = sus_ref_grad(&a, &g, err);
        if (!rc && o->mag)
            rc = sus_ref_grad_mag(&a, &gm, err);
        return rc;
    }
    double work = (double)in->sizes.scores * (double)(in->shape.d + in->shape.dv) *
                  ((double)o->prec / SUS_MPFR_DEFAULT_PREC);
    if (isatty(STDERR_FILENO) && work > PROGRESS_WORK)
        fprintf(stderr,
                "sus grad: computing %zu score pairs at %ld bits; this may take "
                "a while\n",
                in->sizes.scores, o->prec);
    sus_cert cert = {0, NULL, 0};
    int rc = sus_mpfr_grad(&a, o->prec, &g, o->mag ? &gm : NULL, &cert, err);
    if (!rc && cert.uncertain > 0)
        fprintf(stderr,
                "sus grad: warning: %zu element%s could not be certified to round "
                "correctly to double at %ld bits (first: %s[%zu]); such values lie "
                "within the MPFR error bound of exact, usually a cancellation to "
                "zero that no precision can certify\n",
                cert.uncertain, cert.uncertain == 1 ? "" : "s", o->prec,
                cert.first_name ? cert.first_name : "?", cert.first_index);
    return rc;
}

static int write_all(const sus_grad_opts *o, const sus_array *res, size_t count,
                     sus_error *err)
{
    sus_cli_outdir od;
    int rc = sus_cli_outdir_open(&od, o->out, err);
    for (size_t i = 0; i < count && !rc; i++)
        rc = sus_cli_outdir_write(&od, out_name[i], &res[i], err);
    if (!rc)
        sus_cli_outdir_commit(&od);
    sus_cli_outdir_close(&od);
    return rc;
}

int sus_grad_run(const sus_grad_opts *o)
{
    sus_error err = {SUS_OK, ""};
    sus_cli_attn in;
    int rc = sus_cli_attn_load(o->q, o->k, o->v, o->dout, &in, &err);
    if (rc) {
        sus_cli_error("grad", "%s", err.msg);
        /* A file that cannot be read is bad input, not a failure of ours. */
        return rc == SUS_ERR_NOMEM ? SUS_EXIT_FAIL : SUS_EXIT_USAGE;
    }
    size_t count = o->mag ? 2 * OUT_COUNT : OUT_COUNT;
    const char *const inputs[4] = {o->q, o->k, o->v, o->dout};
    sus_array res[2 * OUT_COUNT] = {{0}};
    int exit_code = SUS_EXIT_OK;
    /* Refused before the computation, which can take long. */
    rc = sus_cli_outdir_check(o->out, out_name, count, inputs, 4, &err);
    for (size_t i = 0; i < count && !rc; i++) {
        int64_t shape[4];
        int nd = sus_cli_attn_out_shape(&in, out_kind[i % OUT_COUNT], shape);
        rc = sus_array_alloc(&res[i], SUS_DTYPE_F8, nd, shape, &err);
    }
    if (!rc)
        rc = compute(o, &in, res, &err);
    if (rc)
        exit_code = sus_cli_exit_for(rc);
    sus_cli_attn_free(&in);
    if (!rc) {
        rc = write_all(o, res, count, &err);
        if (rc)
            exit_code = SUS_EXIT_FAIL;
    }
    if (rc)
        sus_cli_error("grad", "%s", err.msg);
    for (size_t i = 0; i < count; i++)
        sus_array_free(&res[i]);
    return exit_code;
}

int sus_cmd_grad(int argc, char **argv)
{
    sus_grad_opts o;
    char msg[SUS_CLI_MSG_LEN];
    switch (sus_grad_parse(argc, argv, &o, msg)) {
    case SUS_CLI_HELP:
        fputs(sus_cmd_grad_help, stdout);
        return fflush(stdout) == 0 ? SUS_EXIT_OK : SUS_EXIT_FAIL;
    case SUS_CLI_BAD:
        sus_cli_usage_error("grad", "%s", msg);
        return SUS_EXIT_USAGE;
    case SUS_CLI_RUN:
        break;
    }
    return sus_grad_run(&o);
}
