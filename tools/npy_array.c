/* npy_array.c: owned dense arrays, dtypes and shapes for .npy I/O (the shape
 * arithmetic is in npy_header.c, with its proofs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy_internal.h"

size_t sus_dtype_size(sus_dtype dtype)
{
    switch (dtype) {
    case SUS_DTYPE_F4:
    case SUS_DTYPE_I4:
        return 4;
    case SUS_DTYPE_F8:
    case SUS_DTYPE_I8:
        return 8;
    }
    return 0;
}

const char *sus_i_npy_descr(sus_dtype dtype)
{
    switch (dtype) {
    case SUS_DTYPE_F4:
        return "<f4";
    case SUS_DTYPE_F8:
        return "<f8";
    case SUS_DTYPE_I4:
        return "<i4";
    case SUS_DTYPE_I8:
        return "<i8";
    }
    return NULL;
}

size_t sus_i_npy_format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    char tmp[SUS_I_NPY_SHAPE_BUF];
    size_t len = 0;
    if (ndim < 0 || ndim > SUS_NPY_MAXDIM)
        ndim = 0;
    tmp[len++] = '(';
    for (int a = 0; a < ndim; a++) {
        int w = snprintf(tmp + len, sizeof tmp - len, "%s%lld", a ? ", " : "",
                         (long long)shape[a]);
        len += (size_t)w;
    }
    /* A one-element tuple needs its comma, as in Python. */
    if (ndim == 1)
        tmp[len++] = ',';
    tmp[len++] = ')';
    tmp[len] = '\0';
    if (cap > 0)
        snprintf(buf, cap, "%s", tmp);
    return len;
}

const char *sus_i_npy_strerror(int errnum, char *buf, size_t cap)
{
    if (strerror_r(errnum, buf, cap) != 0)
        snprintf(buf, cap, "error %d", errnum);
    return buf;
}

int sus_array_alloc(sus_array *a, sus_dtype dtype, int ndim, const int64_t *shape,
                    sus_error *err)
{
    if (!a)
        return sus_i_fail(err, SUS_ERR_INVAL, "array: NULL argument");
    memset(a, 0, sizeof *a);
    size_t itemsize = sus_dtype_size(dtype);
    if (!itemsize)
        return sus_i_fail(err, SUS_ERR_INVAL, "array: invalid dtype %d", (int)dtype);
    if (ndim < 0 || ndim > SUS_NPY_MAXDIM)
        return sus_i_fail(err, SUS_ERR_INVAL, "array: ndim %d is outside 0..%d", ndim,
                          SUS_NPY_MAXDIM);
    if (ndim > 0 && !shape)
        return sus_i_fail(err, SUS_ERR_INVAL, "array: NULL shape");
    size_t count, bytes;
    int rc = sus_i_npy_shape_bytes(ndim, shape, itemsize, &count, &bytes);
    if (rc) {
        char s[SUS_I_NPY_SHAPE_BUF];
        sus_i_npy_format_shape(s, sizeof s, ndim, shape);
        return sus_i_fail(err, rc,
                          rc == SUS_ERR_OVERFLOW
                              ? "array: shape %s is too large"
                              : "array: shape %s has a negative dimension",
                          s);
    }
    void *data = sus_i_calloc_array(count, itemsize);
    if (!data)
        return sus_i_fail(err, SUS_ERR_NOMEM, "array: cannot allocate %zu bytes",
                          bytes);
    a->dtype = dtype;
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        a->shape[i] = shape[i];
    a->count = count;
    a->data = data;
    sus_i_ok(err);
    return SUS_OK;
}

void sus_array_free(sus_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int sus_array_to_f64(const sus_array *a, const char *name, double **out, sus_error *err)
{
    if (!name)
        name = "array";
    if (!a || !out)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL argument", name);
    *out = NULL;
    if (a->dtype != SUS_DTYPE_F4 && a->dtype != SUS_DTYPE_F8) {
        const char *d = sus_i_npy_descr(a->dtype);
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "%s: dtype %s is not a float dtype ('<f4' or '<f8')", name,
                          d ? d : "(invalid)");
    }
    if (a->count > 0 && !a->data)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL data", name);
    double *d = sus_i_alloc_array(a->count, sizeof *d);
    if (!d)
        return sus_i_fail(err, SUS_ERR_NOMEM, "%s: cannot allocate %zu doubles", name,
                          a->count);
    if (a->dtype == SUS_DTYPE_F8) {
        if (a->count)
            memcpy(d, a->data, a->count * sizeof *d);
    } else {
        const float *f = a->data;
        for (size_t t = 0; t < a->count; t++)
            d[t] = f[t];
    }
    *out = d;
    sus_i_ok(err);
    return SUS_OK;
}
