/*
 * npy: the .npy reader (tools/npy_parse.c) on arbitrary bytes. It must never
 * crash or read out of bounds (the sanitizers and Valgrind watch), and it
 * either refuses with an error code and a one-line message, or accepts a
 * file that round-trips exactly: the data it returns are the file's last
 * count * itemsize bytes (C order, little-endian, no trailing bytes), and
 * encoding the array and parsing that again gives the same dtype, shape
 * and bytes. The first byte selects SUS_NPY_FINITE.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

#define T "npy"

static void same(const sus_array *a, const sus_array *b, const char *what)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim || a->count != b->count ||
        memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) != 0 ||
        memcmp(a->data, b->data, a->count * sus_dtype_size(a->dtype)) != 0)
        fz_fail_plain(T,
                      "%s: the array changed (dtype %d/%d, ndim %d/%d, count %zu/%zu)",
                      what, a->dtype, b->dtype, a->ndim, b->ndim, a->count, b->count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const unsigned flags = data[0] & 1 ? SUS_NPY_FINITE : 0;
    data++;
    size--;
    sus_array a = {0}, b = {0};
    sus_error err;
    int rc = sus_npy_parse(data, size, "fuzz.npy", flags, &a, &err);
    if (rc != SUS_OK) {
        if (rc < 0 || rc >= SUS_STATUS_COUNT || err.status != rc || !err.msg[0] ||
            strchr(err.msg, '\n'))
            fz_fail_plain(T, "refusal with status %d: bad message '%s'", rc, err.msg);
        return 0;
    }
    const size_t bytes = a.count * sus_dtype_size(a.dtype);
    if (a.ndim < 0 || a.ndim > SUS_NPY_MAXDIM || bytes > size ||
        (bytes && memcmp((const uint8_t *)data + size - bytes, a.data, bytes) != 0))
        fz_fail_plain(T, "accepted: data are not the file's last %zu bytes (size %zu)",
                      bytes, size);
    void *buf = NULL;
    size_t len = 0;
    if ((rc = sus_npy_encode(&a, &buf, &len, &err)) != SUS_OK)
        fz_fail_plain(T, "accepted array does not encode: %s", err.msg);
    if ((rc = sus_npy_parse(buf, len, "again.npy", flags, &b, &err)) != SUS_OK)
        fz_fail_plain(T, "the encoded array does not parse: %s", err.msg);
    same(&a, &b, "encode then parse");
    if (a.dtype == SUS_DTYPE_F4 || a.dtype == SUS_DTYPE_F8) {
        double *x = NULL;
        if (sus_array_to_f64(&a, "fuzz", &x, &err) == SUS_OK && a.count) {
            double first = a.dtype == SUS_DTYPE_F4 ? (double)((const float *)a.data)[0]
                                                   : ((const double *)a.data)[0];
            if (memcmp(&x[0], &first, sizeof first) != 0 &&
                !(isnan(x[0]) && isnan(first)))
                fz_fail_plain(T, "sus_array_to_f64 changed element 0: %a vs %a", x[0],
                              first);
        }
        free(x);
    }
    free(buf);
    sus_array_free(&a);
    sus_array_free(&b);
    return 0;
}
