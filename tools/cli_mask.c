/* cli_mask.c: a CSR mask (DESIGN.md 4) read from, or turned into, the three
 * .npy files indptr.npy, indices.npy and wtilde.npy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum { F_INDPTR, F_INDICES, F_WTILDE };

const char *const sus_cli_mask_names[SUS_CLI_MASK_FILES] = {"indptr.npy", "indices.npy",
                                                            "wtilde.npy"};

static const char *dtype_text(sus_dtype dt)
{
    switch (dt) {
    case SUS_DTYPE_F4:
        return "float32 ('<f4')";
    case SUS_DTYPE_F8:
        return "float64 ('<f8')";
    case SUS_DTYPE_I4:
        return "int32 ('<i4')";
    case SUS_DTYPE_I8:
        return "int64 ('<i8')";
    }
    return "unknown";
}

int sus_cli_mask_paths(const char *dir, char *paths[SUS_CLI_MASK_FILES])
{
    int ok = 1;
    for (int f = 0; f < SUS_CLI_MASK_FILES; f++) {
        paths[f] = sus_cli_path_join(dir, sus_cli_mask_names[f]);
        ok = ok && paths[f];
    }
    if (!ok)
        sus_cli_mask_paths_free(paths);
    return ok ? SUS_OK : SUS_ERR_NOMEM;
}

void sus_cli_mask_paths_free(char *paths[SUS_CLI_MASK_FILES])
{
    for (int f = 0; f < SUS_CLI_MASK_FILES; f++) {
        free(paths[f]);
        paths[f] = NULL;
    }
}

/* Reads one file of the mask and checks its dtype family and rank. */
static int read_part(const char *path, int f, sus_array *a, sus_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sus_cli_fail(err, SUS_ERR_IO, "%s: is a directory, not a .npy file",
                            path);
    /* Not SUS_NPY_FINITE: a non-finite W~ is the mask checker's to name. */
    int rc = sus_npy_read(path, 0, a, err);
    if (rc)
        return rc;
    int want_int = f != F_WTILDE;
    int is_int = a->dtype == SUS_DTYPE_I4 || a->dtype == SUS_DTYPE_I8;
    if (want_int != is_int)
        return sus_cli_fail(err, SUS_ERR_FORMAT, "%s: dtype is %s; expected %s", path,
                            dtype_text(a->dtype),
                            want_int ? "int64 ('<i8') or int32 ('<i4')"
                                     : "float64 ('<f8') or float32 ('<f4')");
    if (a->ndim != 1) {
        char s[128];
        sus_cli_format_shape(a->shape, a->ndim, s, sizeof s);
        return sus_cli_fail(err, SUS_ERR_SHAPE, "%s has shape %s: expected 1 dimension",
                            path, s);
    }
    return SUS_OK;
}

static int64_t index_at(const sus_array *a, size_t t)
{
    return a->dtype == SUS_DTYPE_I8 ? ((const int64_t *)a->data)[t]
                                    : ((const int32_t *)a->data)[t];
}

static int to_i64(const sus_array *a, const char *path, int64_t **out, sus_error *err)
{
    *out = a->count <= SIZE_MAX / sizeof **out
               ? malloc(a->count ? a->count * sizeof **out : 1)
               : NULL;
    if (!*out)
        return sus_cli_fail(err, SUS_ERR_NOMEM, "%s: out of memory", path);
    for (size_t t = 0; t < a->count; t++)
        (*out)[t] = index_at(a, t);
    return SUS_OK;
}

/* The checker's messages start with "mask: "; here the option says it. */
static const char *without_prefix(const char *msg)
{
    return strncmp(msg, "mask: ", 6) == 0 ? msg + 6 : msg;
}

static int check_lengths(const char *option, const char *dir, const sus_array a[3],
                         char *const path[3], const sus_shape *sh, sus_error *err)
{
    char s0[64], s1[64];
    int64_t rows = sh->B * sh->H * sh->n; /* fits: sus_shape_sizes passed */
    if (a[F_INDPTR].shape[0] != rows + 1) {
        sus_cli_format_shape(a[F_INDPTR].shape, 1, s0, sizeof s0);
        return sus_cli_fail(
            err, SUS_ERR_SHAPE,
            "%s has shape %s: expected (%lld,), B*H*n + 1 for B = %lld, "
            "H = %lld, n = %lld",
            path[F_INDPTR], s0, (long long)(rows + 1), (long long)sh->B,
            (long long)sh->H, (long long)sh->n);
    }
    if (a[F_INDICES].shape[0] != a[F_WTILDE].shape[0]) {
        sus_cli_format_shape(a[F_INDICES].shape, 1, s0, sizeof s0);
        sus_cli_format_shape(a[F_WTILDE].shape, 1, s1, sizeof s1);
        return sus_cli_fail(err, SUS_ERR_SHAPE,
                            "%s has shape %s but %s has shape %s: both must have nnz "
                            "entries",
                            path[F_INDICES], s0, path[F_WTILDE], s1);
    }
    int64_t last = index_at(&a[F_INDPTR], (size_t)rows);
    if (last != a[F_INDICES].shape[0])
        return sus_cli_fail(err, SUS_ERR_FORMAT,
                            "%s %s: indptr[%lld] = %lld but indices.npy and wtilde.npy "
                            "have %lld entries",
                            option, dir, (long long)rows, (long long)last,
                            (long long)a[F_INDICES].shape[0]);
    return SUS_OK;
}

int sus_cli_mask_read(const char *option, const char *dir, const sus_shape *sh,
                      sus_mask *mk, sus_error *err)
{
    memset(mk, 0, sizeof *mk);
    sus_sizes z;
    int rc = sus_shape_sizes(sh, &z, err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(dir, &st) != 0)
        return sus_cli_fail(err, SUS_ERR_IO, "%s %s: %s", option, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sus_cli_fail(err, SUS_ERR_IO,
                            "%s %s: is not a directory (expected indptr.npy, "
                            "indices.npy, wtilde.npy in it)",
                            option, dir);
    char *path[SUS_CLI_MASK_FILES];
    if (sus_cli_mask_paths(dir, path))
        return sus_cli_fail(err, SUS_ERR_NOMEM, "%s %s: out of memory", option, dir);
    sus_array a[SUS_CLI_MASK_FILES];
    memset(a, 0, sizeof a);
    for (int f = 0; f < SUS_CLI_MASK_FILES && !rc; f++)
        rc = read_part(path[f], f, &a[f], err);
    if (!rc)
        rc = check_lengths(option, dir, a, path, sh, err);
    if (!rc) {
        mk->rows = (int64_t)z.rows;
        mk->nnz = a[F_INDICES].shape[0];
        rc = to_i64(&a[F_INDPTR], path[F_INDPTR], &mk->indptr, err);
    }
    if (!rc)
        rc = to_i64(&a[F_INDICES], path[F_INDICES], &mk->indices, err);
    if (!rc) {
        /* An empty array may come without a buffer; W~ needs one anyway. */
        if (a[F_WTILDE].count == 0) {
            mk->wtilde = malloc(1);
            if (!mk->wtilde)
                rc = sus_cli_fail(err, SUS_ERR_NOMEM, "%s: out of memory",
                                  path[F_WTILDE]);
        } else {
            rc = sus_array_to_f64(&a[F_WTILDE], path[F_WTILDE], &mk->wtilde, err);
        }
    }
    for (int f = 0; f < SUS_CLI_MASK_FILES; f++)
        sus_array_free(&a[f]);
    sus_cli_mask_paths_free(path);
    if (rc)
        sus_mask_free(mk);
    return rc;
}

int sus_cli_mask_load(const char *option, const char *dir, const sus_shape *sh,
                      int causal, sus_mask *mk, sus_error *err)
{
    int rc = sus_cli_mask_read(option, dir, sh, mk, err);
    if (!rc) {
        sus_error e;
        rc = sus_mask_check(mk, sh, causal, &e);
        if (rc) {
            sus_cli_fail(err, rc, "%s %s: %s", option, dir, without_prefix(e.msg));
            sus_mask_free(mk);
        }
    }
    return rc;
}

int sus_cli_mask_arrays(const sus_mask *mk, sus_array out[SUS_CLI_MASK_FILES],
                        sus_error *err)
{
    memset(out, 0, SUS_CLI_MASK_FILES * sizeof *out);
    const int64_t len[SUS_CLI_MASK_FILES] = {mk->rows + 1, mk->nnz, mk->nnz};
    const sus_dtype dt[SUS_CLI_MASK_FILES] = {SUS_DTYPE_I8, SUS_DTYPE_I8, SUS_DTYPE_F8};
    const void *src[SUS_CLI_MASK_FILES] = {mk->indptr, mk->indices, mk->wtilde};
    for (int f = 0; f < SUS_CLI_MASK_FILES; f++) {
        int rc = sus_array_alloc(&out[f], dt[f], 1, &len[f], err);
        if (rc) {
            for (int g = 0; g < f; g++)
                sus_array_free(&out[g]);
            return rc;
        }
        if (out[f].count)
            memcpy(out[f].data, src[f], out[f].count * sizeof(int64_t));
    }
    return SUS_OK;
}
