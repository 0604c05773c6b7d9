/* cmd_sample.c: `sus sample`, one draw of the SUS estimator (DESIGN.md 2.2)
 * under the canonical mask of a seed, or under a mask read from a directory. */
#include <stdlib.h>

#include "cli_est.h"

const char sus_cmd_sample_help[] =
    "Usage: sus sample --q Q.npy --k K.npy --v V.npy --do dO.npy --out DIR\n"
    "                  (--c C --seed SEED [--rule NAME] | --mask MASKDIR) [OPTIONS]\n"
    "\n"
    "Computes one SUS estimate dQ~, dK~, dV~ of the attention gradients\n"
    "(DESIGN.md 2.2) in double, under a mask, and writes into DIR as float64\n"
    ".npy files: dQ.npy, dK.npy, dV.npy, and the mask used: indptr.npy (int64),\n"
    "indices.npy (int64), wtilde.npy (float64), as `sus mask` writes them.\n"
    "\n"
    "The mask is the canonical one of --c, --seed and --rule (see `sus mask\n"
    "--help`), or the one in MASKDIR (indptr.npy, indices.npy, wtilde.npy;\n"
    "int32 indices and float32 W~ are accepted and converted). A given mask is\n"
    "used as it is, so --c, --seed and --rule are refused with --mask. It must\n"
    "be well formed for the problem: indptr of length B*H*n + 1, starting at 0,\n"
    "non-decreasing and ending at nnz; indices in [0, m), strictly ascending in\n"
    "each row, j <= i with --causal; W~ finite and >= 0.\n"
    "\n"
    "Inputs are float32 or float64 .npy files, all 2-D ([n, d], meaning B = H = 1)\n"
    "or all 4-D ([B, H, n, d]): Q [B, H, n, d], K [B, H, m, d], V [B, H, m, dv],\n"
    "dO [B, H, n, dv]. NaN and infinities are refused. Outputs follow the same\n"
    "convention. With --c inf every allowed entry is kept with W~ = W and the\n"
    "estimate is the exact gradient of `sus grad --prec 0`, bit for bit.\n"
    "\n"
    "Options:\n"
    "  --q FILE, --k FILE, --v FILE, --do FILE   the inputs (required)\n"
    "  --c C          the budget: a number > 0, or inf\n"
    "  --seed SEED    the mask's seed: an unsigned 64-bit integer, decimal or\n"
    "                 hexadecimal with 0x, 0..18446744073709551615\n"
    "  --rule NAME    minc (default) or waterfill (see `sus mask --help`)\n"
    "  --mask DIR     use the mask in DIR instead of drawing one\n"
    "  --out DIR      output directory (required); created if missing, its parent\n"
    "                 must exist. Either every output is written or none is.\n"
    "  --scale S      the softmax scale, a finite number (default 1/sqrt(d))\n"
    "  --causal       causal masking as PyTorch's is_causal: key j <= query i\n"
    "  --mag          also write the magnitudes |y|_mag of DESIGN.md 3 of the\n"
    "                 estimate: dQ_mag.npy, dK_mag.npy, dV_mag.npy\n"
    "  --impl NAME    ref (default): the double reference; fast: the optimized\n"
    "                 implementation (fast/), computing in --dtype: its forward\n"
    "                 with the fused streaming sampler draws the minc mask of\n"
    "                 --c and --seed (or --mask gives it), then its sparse SUS\n"
    "                 backward. The results are widened to float64 and the mask\n"
    "                 used is written as above. fast's mask equals the canonical\n"
    "                 one except at borderline entries (u within its rounding of\n"
    "                 q, DESIGN.md 2.4); --rule waterfill and --mag are refused.\n"
    "  --dtype T      with --impl fast: f64 (default) or f32. The inputs, read as\n"
    "                 float64, are rounded to T first.\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input, 1 any other failure.\n";

enum { OUT_DQ, OUT_DK, OUT_DV, OUT_GRADS };
enum { OUT_MAG = OUT_GRADS, OUT_MASK = 2 * OUT_GRADS, OUT_COUNT = OUT_MASK + 3 };

static const char *const out_name[OUT_COUNT] = {
    "dQ.npy",     "dK.npy",     "dV.npy",      "dQ_mag.npy", "dK_mag.npy",
    "dV_mag.npy", "indptr.npy", "indices.npy", "wtilde.npy",
};
static const sus_cli_out_kind out_kind[OUT_GRADS] = {SUS_CLI_OUT_Q, SUS_CLI_OUT_K,
                                                     SUS_CLI_OUT_V};

typedef struct sample_state {
    sus_cli_attn in;
    sus_attn a;
    sus_mask mk;
    sus_array res[OUT_COUNT];
    double *o, *lse; /* the exact forward, which the estimator also delivers */
} sample_state;

/* The names written, in order: the estimate, its magnitudes, the mask. */
static size_t out_names(const sus_est_opts *o, const char *names[OUT_COUNT],
                        sus_array *res, sus_array *arrays)
{
    size_t count = 0;
    for (int i = 0; i < OUT_COUNT; i++) {
        if (!o->mag && i >= OUT_MAG && i < OUT_MASK)
            continue;
        names[count] = out_name[i];
        if (arrays)
            arrays[count] = res[i];
        count++;
    }
    return count;
}

static int alloc_outputs(const sus_est_opts *o, sample_state *s, sus_error *err)
{
    int rc = SUS_OK;
    for (int i = 0; i < OUT_MASK && !rc; i++) {
        if (!o->mag && i >= OUT_MAG)
            break;
        int64_t shape[4];
        int nd = sus_cli_attn_out_shape(&s->in, out_kind[i % OUT_GRADS], shape);
        rc = sus_array_alloc(&s->res[i], SUS_DTYPE_F8, nd, shape, err);
    }
    if (rc)
        return rc;
    s->o = calloc(s->in.sizes.o, sizeof(double));
    s->lse = calloc(s->in.sizes.rows, sizeof(double));
    if (!s->o || !s->lse)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    return SUS_OK;
}

static int compute(const sus_est_opts *o, sample_state *s, sus_error *err)
{
    int rc = SUS_OK;
    if (!o->mask)
        rc = sus_ref_mask(&s->a, o->rule, o->c, o->seed, &s->mk, err);
    sus_grads g = {s->o, s->lse, s->res[OUT_DQ].data, s->res[OUT_DK].data,
                   s->res[OUT_DV].data};
    if (!rc)
        rc = sus_ref_estimate(&s->a, &s->mk, &g, err);
    if (!rc && o->mag) {
        sus_grads gm = {s->o, s->lse, s->res[OUT_MAG + OUT_DQ].data,
                        s->res[OUT_MAG + OUT_DK].data, s->res[OUT_MAG + OUT_DV].data};
        rc = sus_ref_estimate_mag(&s->a, &s->mk, &gm, err);
    }
    if (!rc)
        rc = sus_cli_mask_arrays(&s->mk, s->res + OUT_MASK, err);
    return rc;
}

/* --impl fast: fast/'s forward draws the mask (c > 0) unless one was given
 * (then c = 0: the forward only), then its SUS backward under that mask. */
static int compute_fast(const sus_est_opts *o, sample_state *s, sus_error *err)
{
    sus_cli_fast f;
    int rc = sus_cli_fast_open(&s->in, s->a.scale, o->causal, o->dtype, &f, err);
    if (rc)
        return rc;
    const sus_mask *mk = o->mask ? &s->mk : NULL;
    rc = sus_fast_forward(f.ctx, &f.p, o->mask ? 0.0 : o->c, o->seed, f.o, f.lse, NULL,
                          err);
    if (!rc && !mk) {
        mk = sus_fast_mask(f.ctx);
        if (!mk)
            rc = sus_cli_fail(err, SUS_ERR_INVAL, "fast/ drew no mask");
    }
    if (!rc)
        rc = sus_fast_sus_backward(f.ctx, &f.p, mk, f.o, f.dq, f.dk, f.dv, err);
    if (!rc) {
        const void *src[OUT_GRADS] = {f.dq, f.dk, f.dv};
        for (int i = 0; i < OUT_GRADS; i++)
            sus_cli_fast_widen(src[i], s->res[i].count, o->dtype, s->res[i].data);
        /* A copy: fast's mask belongs to its context, closed below. */
        rc = sus_cli_mask_arrays(mk, s->res + OUT_MASK, err);
    }
    sus_cli_fast_close(&f);
    return rc;
}

static int run_sample(const sus_est_opts *o)
{
    sample_state s = {0};
    int code = sus_est_load(o, &s.in, &s.a);
    if (code)
        return code;
    sus_error err = {SUS_OK, ""};
    char *mask_paths[SUS_CLI_MASK_FILES] = {NULL};
    const char *inputs[4 + SUS_CLI_MASK_FILES] = {o->q, o->k, o->v, o->dout};
    size_t ninputs = 4;
    int rc = SUS_OK;
    if (o->mask) {
        rc = sus_cli_mask_load("--mask", o->mask, &s.in.shape, o->causal, &s.mk, &err);
        if (!rc && sus_cli_mask_paths(o->mask, mask_paths))
            rc = sus_cli_fail(&err, SUS_ERR_NOMEM, "out of memory");
        for (int f = 0; f < SUS_CLI_MASK_FILES && !rc; f++)
            inputs[ninputs++] = mask_paths[f];
        /* As for the inputs: a mask that cannot be read is bad input. */
        if (rc)
            code = rc == SUS_ERR_NOMEM ? SUS_EXIT_FAIL : SUS_EXIT_USAGE;
    }
    const char *names[OUT_COUNT];
    sus_array arrays[OUT_COUNT];
    size_t count = out_names(o, names, NULL, NULL);
    /* Refused before the computation. */
    if (!rc)
        rc = sus_cli_outdir_check(o->out, names, count, inputs, ninputs, &err);
    if (!rc)
        rc = alloc_outputs(o, &s, &err);
    if (!rc)
        rc = o->impl == SUS_CLI_IMPL_FAST ? compute_fast(o, &s, &err)
                                          : compute(o, &s, &err);
    if (rc && !code)
        code = sus_cli_exit_for(rc);
    sus_cli_attn_free(&s.in);
    sus_mask_free(&s.mk);
    free(s.o);
    free(s.lse);
    if (!rc) {
        out_names(o, names, s.res, arrays);
        rc = sus_est_write(o->out, names, arrays, count, &err);
        if (rc)
            code = SUS_EXIT_FAIL;
    }
    if (rc)
        sus_cli_error("sample", "%s", err.msg);
    sus_cli_mask_paths_free(mask_paths);
    for (int i = 0; i < OUT_COUNT; i++)
        sus_array_free(&s.res[i]);
    return code;
}

int sus_cmd_sample(int argc, char **argv)
{
    return sus_est_main(SUS_EST_SAMPLE, sus_cmd_sample_help, run_sample, argc, argv);
}
