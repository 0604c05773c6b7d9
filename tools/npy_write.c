/*
 * npy_write.c: the .npy writer, to memory and atomically to files.
 *
 * Headers are byte-for-byte what numpy 1.24 writes (numpy.save): keys in
 * sorted order, the shape as Python's tuple repr, then the spaces numpy
 * reserves for growing the first axis in place, then padding so that the
 * data starts at a multiple of 64 bytes, then '\n'. So a file written here
 * is identical to numpy's for the same array, which the tests check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy_internal.h"

/* numpy's GROWTH_AXIS_MAX_DIGITS: the header keeps room for the first
 * dimension to grow to this many digits. */
#define GROWTH_DIGITS 21

/* Magic, version, length field, and the longest header: the dict with 16
 * dimensions of 19 digits, growth spaces, padding and '\n'. */
#define HEADER_BUF 1024
_Static_assert(HEADER_BUF >= SUS_I_NPY_PREFIX_V2 + 64 + SUS_I_NPY_SHAPE_BUF +
                                 GROWTH_DIGITS + SUS_I_NPY_ALIGN + 1,
               "HEADER_BUF must hold the longest header");

static int check_array(const sus_array *a, const char *name, size_t *bytes,
                       sus_error *err)
{
    if (!a)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL array", name);
    size_t itemsize = sus_dtype_size(a->dtype);
    if (!itemsize)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: invalid dtype %d", name,
                          (int)a->dtype);
    if (a->ndim < 0 || a->ndim > SUS_NPY_MAXDIM)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: ndim %d is outside 0..%d", name,
                          a->ndim, SUS_NPY_MAXDIM);
    size_t count;
    int rc = sus_i_npy_shape_bytes(a->ndim, a->shape, itemsize, &count, bytes);
    char s[SUS_I_NPY_SHAPE_BUF];
    sus_i_npy_format_shape(s, sizeof s, a->ndim, a->shape);
    if (rc == SUS_ERR_OVERFLOW)
        return sus_i_fail(err, rc, "%s: shape %s is too large", name, s);
    if (rc)
        return sus_i_fail(err, rc, "%s: shape %s has a negative dimension", name, s);
    if (a->count != count)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: count %zu does not match shape %s",
                          name, a->count, s);
    if (count > 0 && !a->data)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL data", name);
    return SUS_OK;
}

/* Writes the magic, version, length field and header into hdr (HEADER_BUF
 * bytes) and returns their total length. a must have passed check_array. */
static size_t make_header(const sus_array *a, unsigned char *hdr)
{
    char shape[SUS_I_NPY_SHAPE_BUF];
    sus_i_npy_format_shape(shape, sizeof shape, a->ndim, a->shape);
    char *text = (char *)hdr + SUS_I_NPY_PREFIX_V2;
    size_t room = HEADER_BUF - SUS_I_NPY_PREFIX_V2;
    size_t n = (size_t)snprintf(
        text, room, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
        sus_i_npy_descr(a->dtype), shape);
    if (a->ndim > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)a->shape[0]);
        for (int i = digits; i < GROWTH_DIGITS; i++)
            text[n++] = ' ';
    }
    /* Version 1.0 unless its 16-bit length field cannot hold the header,
     * as numpy chooses; with SUS_NPY_MAXDIM dimensions 2.0 is never needed. */
    size_t prefix = SUS_I_NPY_PREFIX_V1;
    size_t hlen = n + 1;
    size_t pad = SUS_I_NPY_ALIGN - (prefix + hlen) % SUS_I_NPY_ALIGN;
    if (hlen + pad > 65535) {
        prefix = SUS_I_NPY_PREFIX_V2;
        pad = SUS_I_NPY_ALIGN - (prefix + hlen) % SUS_I_NPY_ALIGN;
    }
    if (prefix == SUS_I_NPY_PREFIX_V1)
        memmove(hdr + prefix, text, n);
    memset(hdr + prefix + n, ' ', pad);
    hdr[prefix + n + pad] = '\n';
    size_t field = n + pad + 1;
    memcpy(hdr, SUS_I_NPY_MAGIC, SUS_I_NPY_MAGIC_LEN);
    hdr[6] = prefix == SUS_I_NPY_PREFIX_V1 ? 1 : 2;
    hdr[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        hdr[8 + i] = (unsigned char)(field >> (8 * i));
    return prefix + field;
}

int sus_npy_encode(const sus_array *a, void **buf, size_t *len, sus_error *err)
{
    if (!buf || !len)
        return sus_i_fail(err, SUS_ERR_INVAL, "array: NULL output argument");
    *buf = NULL;
    *len = 0;
    size_t bytes, total;
    int rc = check_array(a, "array", &bytes, err);
    if (rc)
        return rc;
    unsigned char hdr[HEADER_BUF];
    size_t hn = make_header(a, hdr);
    if (!sus_i_add_size(hn, bytes, &total))
        return sus_i_fail(err, SUS_ERR_OVERFLOW, "array: encoded size overflows");
    unsigned char *out = malloc(total);
    if (!out)
        return sus_i_fail(err, SUS_ERR_NOMEM, "array: cannot allocate %zu bytes",
                          total);
    memcpy(out, hdr, hn);
    if (bytes)
        memcpy(out + hn, a->data, bytes);
    *buf = out;
    *len = total;
    sus_i_ok(err);
    return SUS_OK;
}

/* write() until done: it may write less than asked, or be interrupted. */
static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        size_t chunk = n > (size_t)1 << 30 ? (size_t)1 << 30 : n;
        ssize_t w = write(fd, b, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * The temporary lives in path's directory, so that rename() replaces path
 * atomically (same file system): readers see the old file or the new one,
 * never a part. It is created 0600 by mkstemp and set to 0644 whatever the
 * umask, because reading umask is not thread-safe. A symlink at path is
 * replaced, not followed.
 */
int sus_npy_write(const char *path, const sus_array *a, sus_error *err)
{
    char eb[128];
    if (!path)
        return sus_i_fail(err, SUS_ERR_INVAL, "(null path): NULL argument");
    size_t bytes;
    int rc = check_array(a, path, &bytes, err);
    if (rc)
        return rc;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (!*base)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: names a directory, not a file",
                          path);
    size_t baselen = strlen(base), tmplen;
    /* dir + "." + base + ".XXXXXX" + NUL */
    if (!sus_i_add_size(dirlen, baselen, &tmplen) ||
        !sus_i_add_size(tmplen, 9, &tmplen))
        return sus_i_fail(err, SUS_ERR_OVERFLOW, "%s: path too long", path);
    char *tmp = malloc(tmplen);
    if (!tmp)
        return sus_i_fail(err, SUS_ERR_NOMEM, "%s: cannot allocate %zu bytes", path,
                          tmplen);
    memcpy(tmp, path, dirlen);
    tmp[dirlen] = '.';
    memcpy(tmp + dirlen + 1, base, baselen);
    memcpy(tmp + dirlen + 1 + baselen, ".XXXXXX", 8);

    unsigned char hdr[HEADER_BUF];
    size_t hn = make_header(a, hdr);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return sus_i_fail(err, SUS_ERR_IO, "%s: cannot create a temporary file: %s",
                          path, sus_i_npy_strerror(e, eb, sizeof eb));
    }
    const char *what = NULL;
    if (fchmod(fd, 0644) != 0)
        what = "cannot set the mode of the temporary file";
    else if (write_all(fd, hdr, hn) != 0 ||
             (bytes && write_all(fd, a->data, bytes) != 0))
        what = "cannot write the temporary file";
    else if (fsync(fd) != 0)
        what = "cannot flush the temporary file";
    int e = errno;
    /* close() can report a deferred write error (NFS), so it is checked. */
    if (close(fd) != 0 && !what) {
        what = "cannot close the temporary file";
        e = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "cannot rename the temporary file over it";
        e = errno;
    }
    if (what) {
        unlink(tmp);
        free(tmp);
        return sus_i_fail(err, SUS_ERR_IO, "%s: %s: %s", path, what,
                          sus_i_npy_strerror(e, eb, sizeof eb));
    }
    /* Make the rename itself durable. Best effort: path is already
     * replaced, so a failure here cannot be reported as "untouched". */
    tmp[dirlen] = '\0';
    int dfd = open(dirlen ? tmp : ".", O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(tmp);
    sus_i_ok(err);
    return SUS_OK;
}
