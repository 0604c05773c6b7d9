/* check_load.c: reading a port directory (DESIGN.md 4) for `sus check`:
 * the inputs Q K V dO, the mask indptr indices wtilde and one run's
 * outputs dQ dK dV, each float32 or float64. */
#include <stdlib.h>
#include <string.h>

#include "check_cmd.h"

static const char *const in_name[4] = {"Q.npy", "K.npy", "V.npy", "dO.npy"};
static const char *const out_name[3] = {"dQ.npy", "dK.npy", "dV.npy"};
static const sus_cli_out_kind out_kind[3] = {SUS_CLI_OUT_Q, SUS_CLI_OUT_K,
                                             SUS_CLI_OUT_V};

static int same_shape(const sus_array *a, const int64_t *shape, int nd, int skip)
{
    if (a->ndim != nd + skip)
        return 0;
    for (int i = 0; i < nd; i++)
        if (a->shape[i + skip] != shape[i])
            return 0;
    return 1;
}

/* One output: any finite or non-finite float (a NaN is the port's failure,
 * judged later), in the inputs' shape convention. */
static int load_output(const char *path, const sus_cli_attn *in, sus_cli_out_kind kind,
                       double **out, sus_dtype *dtype, sus_error *err)
{
    sus_array a;
    int rc = sus_npy_read(path, 0, &a, err);
    if (rc)
        return rc;
    int64_t want[4];
    int nd = sus_cli_attn_out_shape(in, kind, want);
    char got_s[160], want_s[160];
    sus_cli_format_shape(a.shape, a.ndim, got_s, sizeof got_s);
    sus_cli_format_shape(want, nd, want_s, sizeof want_s);
    if (a.dtype != SUS_DTYPE_F4 && a.dtype != SUS_DTYPE_F8)
        rc = sus_cli_fail(err, SUS_ERR_FORMAT,
                          "%s: dtype is %s; expected float32 ('<f4') or float64 "
                          "('<f8')",
                          path,
                          a.dtype == SUS_DTYPE_I4 ? "int32 ('<i4')" : "int64 ('<i8')");
    else if (same_shape(&a, want, nd, 1))
        rc = sus_cli_fail(err, SUS_ERR_SHAPE,
                          "%s has shape %s: %lld stacked runs are for `sus report "
                          "--port`; sus check takes one run of shape %s",
                          path, got_s, (long long)a.shape[0], want_s);
    else if (!same_shape(&a, want, nd, 0))
        rc = sus_cli_fail(err, SUS_ERR_SHAPE,
                          "%s has shape %s: expected %s from the inputs' shapes", path,
                          got_s, want_s);
    if (!rc) {
        *dtype = a.dtype;
        rc = sus_array_to_f64(&a, path, out, err);
    }
    sus_array_free(&a);
    return rc;
}

int sus_chk_load(const char *dir, sus_chk_port *p, sus_error *err)
{
    memset(p, 0, sizeof *p);
    char *path[4] = {NULL};
    int rc = SUS_OK;
    for (int i = 0; i < 4; i++)
        if (!(path[i] = sus_cli_path_join(dir, in_name[i])))
            rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = sus_cli_attn_load(path[0], path[1], path[2], path[3], &p->in, err);
    /* the outputs before the mask: a directory of stacked runs (no mask)
     * is then named as such */
    for (int i = 0; i < 3 && !rc; i++) {
        free(path[i]);
        if (!(path[i] = sus_cli_path_join(dir, out_name[i])))
            rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
        else
            rc = load_output(path[i], &p->in, out_kind[i], &p->out[i], &p->out_dtype[i],
                             err);
    }
    if (!rc)
        rc = sus_cli_mask_read("--port", dir, &p->in.shape, &p->mk, err);
    for (int i = 0; i < 4; i++)
        free(path[i]);
    if (rc)
        sus_chk_free(p);
    return rc;
}

void sus_chk_free(sus_chk_port *p)
{
    sus_cli_attn_free(&p->in);
    sus_mask_free(&p->mk);
    for (int i = 0; i < 3; i++) {
        free(p->out[i]);
        p->out[i] = NULL;
    }
}

double sus_chk_default_u(const sus_chk_port *p)
{
    for (int i = 0; i < 3; i++)
        if (p->out_dtype[i] == SUS_DTYPE_F4)
            return 0x1p-24;
    return 0x1p-53;
}
