/* report_port.c: a port directory as a campaign (report_port.h). The
 * samples' dtype (for Welford moments, which are float64, the inputs' dtype)
 * sets the unit roundoff of the rounding allowance (2^-24 for float32,
 * 2^-53 for float64) unless --unit-roundoff gives it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_port.h"

static const char *const parts[3] = {"dQ", "dK", "dV"};
static const sus_cli_out_kind kinds[3] = {SUS_CLI_OUT_Q, SUS_CLI_OUT_K, SUS_CLI_OUT_V};

static char *file_in(const char *dir, const char *part, const char *suffix)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s.npy", part, suffix);
    return sus_cli_path_join(dir, name);
}

/* Reads dir/name (float32 or float64, finite) as doubles; checks that its
 * shape is lead (if lead >= 0, a leading axis of any length >= 2, returned
 * in *lead_out) followed by shape[0..nd). */
static int read_float(const char *path, const int64_t *shape, int nd, int lead,
                      int64_t *lead_out, double **data, int *f32, sus_error *err)
{
    sus_array a;
    int rc = sus_npy_read(path, SUS_NPY_FINITE, &a, err);
    if (rc)
        return rc;
    int want = nd + (lead ? 1 : 0), ok = a.ndim == want;
    for (int t = 0; t < nd && ok; t++)
        ok = a.shape[t + (lead ? 1 : 0)] == shape[t];
    if (ok && lead)
        ok = a.shape[0] >= 2;
    if (!ok) {
        char got[128], exp[128];
        sus_cli_format_shape(a.shape, a.ndim, got, sizeof got);
        sus_cli_format_shape(shape, nd, exp, sizeof exp);
        rc = sus_cli_fail(err, SUS_ERR_SHAPE, "%s: shape %s, expected %s%s", path, got,
                          lead ? "(N >= 2, ) + " : "", exp);
    }
    if (!rc && lead_out)
        *lead_out = a.shape[0];
    if (!rc && f32)
        *f32 |= a.dtype == SUS_DTYPE_F4;
    if (!rc)
        rc = sus_array_to_f64(&a, path, data, err);
    sus_array_free(&a);
    return rc;
}

/* The samples: stacked ([N, ...] per part) or Welford (mean and m2 per part,
 * and count). arr[p] holds N x count_p, or mean then m2 (2 x count_p). */
typedef struct port_samples {
    int welford;
    int64_t n;
    double *arr[3];
    size_t count[3];
} port_samples;

static void samples_free(port_samples *ps)
{
    for (int p = 0; p < 3; p++)
        free(ps->arr[p]);
}

static int read_count(const char *dir, int64_t *n, sus_error *err)
{
    char *path = sus_cli_path_join(dir, "count.npy");
    sus_array a = {0};
    int rc = path ? sus_npy_read(path, SUS_NPY_FINITE, &a, err)
                  : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    double v = 0.0;
    if (!rc && a.count != 1)
        rc = sus_cli_fail(err, SUS_ERR_SHAPE, "%s: %zu elements, expected one count",
                          path, a.count);
    if (!rc) {
        v = a.dtype == SUS_DTYPE_F8   ? ((double *)a.data)[0]
            : a.dtype == SUS_DTYPE_F4 ? ((float *)a.data)[0]
            : a.dtype == SUS_DTYPE_I8 ? (double)((int64_t *)a.data)[0]
                                      : (double)((int32_t *)a.data)[0];
        if (!(v >= 2.0 && v <= 0x1p52 && v == floor(v)))
            rc = sus_cli_fail(err, SUS_ERR_FORMAT,
                              "%s: count %g is not an integer >= 2", path, v);
    }
    *n = (int64_t)v;
    sus_array_free(&a);
    free(path);
    return rc;
}

static int load_samples(const char *dir, const sus_cli_attn *in, port_samples *ps,
                        int *f32, sus_error *err)
{
    char *probe = sus_cli_path_join(dir, "dQ.npy");
    if (!probe)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    ps->welford = access(probe, F_OK) != 0;
    free(probe);
    int rc = ps->welford ? read_count(dir, &ps->n, err) : SUS_OK;
    if (rc && ps->welford && err->status == SUS_ERR_IO)
        rc = sus_cli_fail(err, SUS_ERR_INVAL,
                          "--port %s: neither dQ.npy (stacked samples) nor count.npy "
                          "(Welford moments) is there",
                          dir);
    for (int p = 0; p < 3 && !rc; p++) {
        int64_t shape[4], N = 0;
        int nd = sus_cli_attn_out_shape(in, kinds[p], shape);
        ps->count[p] = p == 0 ? in->sizes.q : p == 1 ? in->sizes.k : in->sizes.v;
        for (int w = 0; w < (ps->welford ? 2 : 1) && !rc; w++) {
            char *path =
                file_in(dir, parts[p], ps->welford ? (w ? ".m2" : ".mean") : "");
            double *d = NULL;
            rc = path ? read_float(path, shape, nd, !ps->welford, &N, &d, f32, err)
                      : sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
            if (!rc && ps->welford) {
                if (!w)
                    ps->arr[p] = malloc(2 * ps->count[p] * sizeof(double));
                if (ps->arr[p])
                    memcpy(ps->arr[p] + (size_t)w * ps->count[p], d,
                           ps->count[p] * sizeof(double));
                else
                    rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
                free(d);
            } else if (!rc) {
                ps->arr[p] = d;
                if (p == 0)
                    ps->n = N;
                else if (N != ps->n)
                    rc = sus_cli_fail(err, SUS_ERR_SHAPE,
                                      "%s: %lld samples, but dQ.npy holds %lld", path,
                                      (long long)N, (long long)ps->n);
            }
            free(path);
        }
    }
    return rc;
}

static void fill_acc(sus_mc_acc *acc, const sus_mc_exact *x, const port_samples *ps,
                     double *y)
{
    if (!ps->welford) {
        for (int64_t s = 0; s < ps->n; s++) {
            size_t off = 0;
            for (int p = 0; p < 3; p++) {
                memcpy(y + off, ps->arr[p] + (size_t)s * ps->count[p],
                       ps->count[p] * sizeof(double));
                off += ps->count[p];
            }
            sus_mc_acc_push(acc, x, y, NULL);
        }
        return;
    }
    /* Welford: element means and M2 as given; a functional's mean is the
     * functional of the means, its higher moments are unknown. */
    size_t off = 0;
    for (int p = 0; p < 3; p++) {
        for (size_t e = 0; e < ps->count[p]; e++) {
            acc->el[2 * (off + e)] = ps->arr[p][e];
            acc->el[2 * (off + e) + 1] = ps->arr[p][ps->count[p] + e];
        }
        off += ps->count[p];
    }
    for (size_t f = 0; f < acc->J; f++) {
        double L = 0.0;
        for (size_t e = 0; e < x->E; e++)
            L += x->R[f * x->E + e] * acc->el[2 * e];
        acc->fn[4 * f] = L;
    }
    acc->n = (double)ps->n;
    acc->no_fn_var = 1;
}

int sus_rep_port_load(const sus_rep_port_opts *po, sus_rep_section *sec, sus_error *err)
{
    static const char *const in_names[4] = {"Q.npy", "K.npy", "V.npy", "dO.npy"};
    char *paths[4] = {NULL, NULL, NULL, NULL};
    port_samples ps = {0};
    int rc = SUS_OK, f32 = 0;
    for (int i = 0; i < 4 && !rc; i++)
        if (!(paths[i] = sus_cli_path_join(po->dir, in_names[i])))
            rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = sus_cli_attn_load(paths[0], paths[1], paths[2], paths[3], &sec->port, err);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    if (!rc)
        rc = load_samples(po->dir, &sec->port, &ps, &f32, err);
    const sus_rule *rule = sus_rule_find(po->rule);
    /* Welford moments are float64 whatever the port computed in, so there
     * the inputs' dtype stands for the port's precision. */
    if (ps.welford)
        f32 |= sec->port.f32_inputs;
    double u = po->unit > 0.0 ? po->unit : f32 ? 0x1p-24 : 0x1p-53;
    if (!rc) {
        double scale = po->has_scale ? po->scale : sus_default_scale(sec->port.shape.d);
        sus_attn a = sus_cli_attn_problem(&sec->port, scale, po->causal);
        rc = sus_mc_exact_init(&sec->setup.x, &a, rule, po->c, -1, u, err);
    }
    if (!rc)
        rc = sus_mc_acc_init(&sec->acc, &sec->setup.x, 0, err);
    double *y = rc ? NULL : malloc(sec->setup.x.E * sizeof(double));
    if (!rc && !y)
        rc = sus_cli_fail(err, SUS_ERR_NOMEM, "out of memory");
    if (!rc)
        fill_acc(&sec->acc, &sec->setup.x, &ps, y);
    free(y);
    samples_free(&ps);
    snprintf(sec->label, sizeof sec->label, "port %.60s c=%g rule=%.20s (%s, u=%g)",
             po->dir, po->c, po->rule,
             ps.welford ? "Welford moments" : "stacked samples", u);
    for (char *p = sec->label; *p; p++)
        if (*p == '"' || *p == '\'' || *p == '\\')
            *p = '_';
    return rc;
}
