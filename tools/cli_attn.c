/* cli_attn.c: reading the four inputs of an attention problem from .npy
 * files, with messages that name the file, both shapes and the dimension. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { IN_Q, IN_K, IN_V, IN_DO, IN_COUNT };

/* The two trailing axes of each input, by role; B and H lead in 4-D. */
static const char *const row_sym[IN_COUNT] = {"n", "m", "m", "n"};
static const char *const col_sym[IN_COUNT] = {"d", "d", "dv", "dv"};

static int read_one(const char *path, sus_array *a, sus_error *err)
{
    /* Reading a directory fails late and obscurely (EISDIR on read), so it
     * is named here. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sus_cli_fail(err, SUS_ERR_IO, "%s: is a directory, not a .npy file",
                            path);
    int rc = sus_npy_read(path, SUS_NPY_FINITE, a, err);
    if (rc)
        return rc;
    if (a->dtype != SUS_DTYPE_F4 && a->dtype != SUS_DTYPE_F8)
        return sus_cli_fail(
            err, SUS_ERR_FORMAT,
            "%s: dtype is %s; expected float32 ('<f4') or float64 ('<f8')", path,
            a->dtype == SUS_DTYPE_I4 ? "int32 ('<i4')" : "int64 ('<i8')");
    return SUS_OK;
}

static void shape_text(const sus_array *a, char *buf, size_t len)
{
    sus_cli_format_shape(a->shape, a->ndim, buf, len);
}

/* Inputs whose path is NULL (V and dO, when only Q and K are loaded) are
 * absent: not read, and left out of every check. */
static int check_rank(const sus_array a[IN_COUNT], const char *const path[IN_COUNT],
                      sus_error *err)
{
    char s0[128], s1[128];
    for (int i = 0; i < IN_COUNT; i++) {
        if (!path[i] || a[i].ndim == 2 || a[i].ndim == 4)
            continue;
        shape_text(&a[i], s0, sizeof s0);
        return sus_cli_fail(err, SUS_ERR_SHAPE,
                            "%s has shape %s: expected 2 dimensions [%s, %s] or 4 "
                            "dimensions [B, H, %s, %s]",
                            path[i], s0, row_sym[i], col_sym[i], row_sym[i],
                            col_sym[i]);
    }
    for (int i = 1; i < IN_COUNT; i++) {
        if (!path[i] || a[i].ndim == a[0].ndim)
            continue;
        shape_text(&a[i], s0, sizeof s0);
        shape_text(&a[0], s1, sizeof s1);
        return sus_cli_fail(err, SUS_ERR_SHAPE,
                            "%s has shape %s but %s has shape %s: all inputs must have "
                            "the same number of dimensions",
                            path[i], s0, path[0], s1);
    }
    for (int i = 0; i < IN_COUNT; i++) {
        for (int ax = 0; path[i] && ax < a[i].ndim; ax++) {
            if (a[i].shape[ax] >= 1)
                continue;
            shape_text(&a[i], s0, sizeof s0);
            return sus_cli_fail(err, SUS_ERR_SHAPE,
                                "%s has shape %s: every dimension must be at least 1",
                                path[i], s0);
        }
    }
    return SUS_OK;
}

/* One required agreement: axis `axis` of input x equals that of input y. */
typedef struct agreement {
    int x, y;
    int axis; /* 0 B, 1 H, 2 rows, 3 columns */
    const char *sym;
} agreement;

static int check_agree(const sus_array a[IN_COUNT], const char *const path[IN_COUNT],
                       const agreement *g, sus_error *err)
{
    int rank = a[0].ndim;
    if (!path[g->x] || !path[g->y])
        return SUS_OK; /* an absent input */
    if (rank == 2 && g->axis < 2)
        return SUS_OK; /* B = H = 1 implicitly */
    int pos = rank == 2 ? g->axis - 2 : g->axis;
    if (a[g->x].shape[pos] == a[g->y].shape[pos])
        return SUS_OK;
    static const char *const ordinal[4] = {"first", "second", "third", "last"};
    const char *which = pos == rank - 1 ? "last" : ordinal[pos];
    char s0[128], s1[128];
    shape_text(&a[g->x], s0, sizeof s0);
    shape_text(&a[g->y], s1, sizeof s1);
    return sus_cli_fail(
        err, SUS_ERR_SHAPE,
        "%s has shape %s but %s has shape %s: the %s dimensions (%s) must agree",
        path[g->x], s0, path[g->y], s1, which, g->sym);
}

static int check_shapes(const sus_array a[IN_COUNT], const char *const path[IN_COUNT],
                        sus_error *err)
{
    static const agreement rules[] = {
        {IN_K, IN_Q, 0, "B"},   {IN_K, IN_Q, 1, "H"},  {IN_K, IN_Q, 3, "d"},
        {IN_V, IN_K, 0, "B"},   {IN_V, IN_K, 1, "H"},  {IN_V, IN_K, 2, "m"},
        {IN_DO, IN_Q, 0, "B"},  {IN_DO, IN_Q, 1, "H"}, {IN_DO, IN_Q, 2, "n"},
        {IN_DO, IN_V, 3, "dv"},
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        int rc = check_agree(a, path, &rules[r], err);
        if (rc)
            return rc;
    }
    return SUS_OK;
}

static sus_shape shape_of(const sus_array a[IN_COUNT], const char *const path[IN_COUNT])
{
    sus_shape s;
    int r = a[0].ndim;
    s.B = r == 4 ? a[IN_Q].shape[0] : 1;
    s.H = r == 4 ? a[IN_Q].shape[1] : 1;
    s.n = a[IN_Q].shape[r - 2];
    s.d = a[IN_Q].shape[r - 1];
    s.m = a[IN_K].shape[r - 2];
    s.dv = path[IN_V] ? a[IN_V].shape[r - 1] : 1; /* V absent: any dv >= 1 */
    return s;
}

int sus_cli_attn_load(const char *qpath, const char *kpath, const char *vpath,
                      const char *dopath, sus_cli_attn *out, sus_error *err)
{
    const char *const path[IN_COUNT] = {qpath, kpath, vpath, dopath};
    sus_array a[IN_COUNT];
    memset(a, 0, sizeof a);
    memset(out, 0, sizeof *out);
    int rc = SUS_OK;
    if (!qpath || !kpath || !vpath != !dopath)
        return sus_cli_fail(err, SUS_ERR_INVAL,
                            "internal error: inputs Q and K, and "
                            "both or none of V and dO, are needed");
    for (int i = 0; i < IN_COUNT && !rc; i++)
        if (path[i])
            rc = read_one(path[i], &a[i], err);
    if (!rc)
        rc = check_rank(a, path, err);
    if (!rc)
        rc = check_shapes(a, path, err);
    if (!rc) {
        out->rank = a[0].ndim;
        out->shape = shape_of(a, path);
        rc = sus_shape_sizes(&out->shape, &out->sizes, err);
    }
    double **dst[IN_COUNT] = {&out->q, &out->k, &out->v, &out->dout};
    for (int i = 0; i < IN_COUNT; i++) {
        if (!rc && path[i]) {
            out->f32_inputs |= a[i].dtype == SUS_DTYPE_F4;
            rc = sus_array_to_f64(&a[i], path[i], dst[i], err);
        }
        /* Each file's own buffer goes as soon as it is converted, so the
         * peak is one input above the converted ones. */
        sus_array_free(&a[i]);
    }
    if (rc)
        sus_cli_attn_free(out);
    return rc;
}

void sus_cli_attn_free(sus_cli_attn *a)
{
    free(a->q);
    free(a->k);
    free(a->v);
    free(a->dout);
    a->q = a->k = a->v = a->dout = NULL;
}

int sus_cli_attn_out_shape(const sus_cli_attn *a, sus_cli_out_kind kind,
                           int64_t shape[4])
{
    const sus_shape *s = &a->shape;
    int64_t rows = 0, cols = 0;
    switch (kind) {
    case SUS_CLI_OUT_Q:
        rows = s->n, cols = s->d;
        break;
    case SUS_CLI_OUT_K:
        rows = s->m, cols = s->d;
        break;
    case SUS_CLI_OUT_V:
        rows = s->m, cols = s->dv;
        break;
    case SUS_CLI_OUT_O:
        rows = s->n, cols = s->dv;
        break;
    case SUS_CLI_OUT_ROWS:
        rows = s->n, cols = 0;
        break;
    }
    int nd = 0;
    if (a->rank == 4) {
        shape[nd++] = s->B;
        shape[nd++] = s->H;
    }
    shape[nd++] = rows;
    if (kind != SUS_CLI_OUT_ROWS)
        shape[nd++] = cols;
    return nd;
}

sus_attn sus_cli_attn_problem(const sus_cli_attn *a, double scale, int causal)
{
    sus_attn p = {
        .shape = a->shape,
        .scale = scale,
        .causal = causal,
        .q = a->q,
        .k = a->k,
        .v = a->v,
        .dout = a->dout,
    };
    return p;
}
