/*
 * npy_parse.c: the strict .npy reader, from memory and from files.
 *
 * The header is parsed by hand against this grammar (SP is a space, 0x20;
 * the header is the HEADER_LEN bytes after the length field):
 *
 *   header := SP* '{' SP* [item (SP* ',' SP* item)* SP* [',' SP*]] '}' SP* '\n'
 *   item   := string SP* ':' SP* value
 *   string := "'" char* "'" | '"' char* '"'   char: printable ASCII, no
 *                                              backslash, not the quote
 *   values := 'descr': string | 'fortran_order': True | False
 *             'shape': '(' SP* ')' | '(' SP* dim SP* ',' SP* ')'
 *                    | '(' SP* dim (SP* ',' SP* dim)+ SP* [',' SP*] ')'
 *   dim    := '0' | [1-9][0-9]*
 *
 * The final '\n' must be the last byte of the header. Each of the three keys
 * must appear exactly once. This accepts the headers numpy writes (and
 * hand-written ones with other spacing, key order or quotes) while refusing
 * tabs, Python 2 'L' suffixes, escapes, comments and everything else that
 * would need a real Python parser. Data need not be aligned: numpy before
 * 1.14 aligned to 16 bytes, and the data is copied anyway.
 *
 * Errors are reported in this order: the prefix (magic, version, header
 * length), the header syntax, then missing keys, dtype, Fortran order,
 * the number of dimensions, the dimensions, the shape's size, the data
 * length, and finally (with SUS_NPY_FINITE) the values. The one exception
 * is a structured descr (a list), refused as soon as it is seen because
 * lists are not in the grammar.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy_header.h"
#include "npy_internal.h"

/* Long enough for every descr we accept or name in a message; longer ones
 * are shown truncated. */
#define DESCR_CAP 24
#define KEY_CAP   24

typedef struct npy_header {
    sus_dtype dtype;
    int ndim;
    int64_t shape[SUS_NPY_MAXDIM];
    size_t count, bytes;
    size_t data_off;
} npy_header;

/* What the syntax pass found, before any of it is judged. */
typedef struct raw_header {
    int have_descr, have_fortran, have_shape;
    char descr[DESCR_CAP];
    size_t descr_len; /* full length, which may exceed what descr holds */
    int fortran;
    int ndim; /* dimensions seen, may exceed MAXDIM */
    int64_t shape[SUS_NPY_MAXDIM];
    size_t bad_dim_pos, bad_dim_len; /* first negative or oversized dim */
    int bad_dim;                     /* 0, SUS_ERR_FORMAT or SUS_ERR_OVERFLOW */
} raw_header;

typedef struct cursor {
    const unsigned char *h; /* the header, without its final '\n' */
    size_t len;
    size_t pos;
    size_t base; /* file offset of h, so messages point into the file */
    const char *name;
    sus_error *err;
} cursor;

static int at(const cursor *c, unsigned char ch)
{
    return c->pos < c->len && c->h[c->pos] == ch;
}

static void skip_spaces(cursor *c)
{
    while (at(c, ' '))
        c->pos++;
}

/* Names the byte at the cursor so that messages stay one printable line
 * whatever the input holds. */
static const char *describe(const cursor *c, char *buf, size_t cap)
{
    if (c->pos >= c->len)
        snprintf(buf, cap, "the end of the header");
    else if (c->h[c->pos] == '\'')
        snprintf(buf, cap, "\"'\"");
    else if (c->h[c->pos] > 0x20 && c->h[c->pos] < 0x7f)
        snprintf(buf, cap, "'%c'", c->h[c->pos]);
    else if (c->h[c->pos] == ' ')
        snprintf(buf, cap, "a space");
    else
        snprintf(buf, cap, "byte 0x%02x", c->h[c->pos]);
    return buf;
}

static int expected(const cursor *c, const char *what)
{
    char d[32];
    return sus_i_fail(c->err, SUS_ERR_FORMAT,
                      "%s: malformed header: expected %s at byte %zu, found %s",
                      c->name, what, c->base + c->pos, describe(c, d, sizeof d));
}

static int expect(cursor *c, unsigned char ch, const char *what)
{
    if (!at(c, ch))
        return expected(c, what);
    c->pos++;
    return SUS_OK;
}

/* Reads a quoted string; keeps its first cap-1 bytes in out (NUL-ended)
 * and its full length in *len. */
static int parse_string(cursor *c, char *out, size_t cap, size_t *len)
{
    if (!at(c, '\'') && !at(c, '"'))
        return expected(c, "a quoted string");
    unsigned char q = c->h[c->pos++];
    size_t n = 0;
    while (c->pos < c->len && c->h[c->pos] != q) {
        unsigned char ch = c->h[c->pos];
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return expected(c, "a printable ASCII character (no escapes) in a string");
        if (n + 1 < cap)
            out[n] = (char)ch;
        n++;
        c->pos++;
    }
    if (c->pos >= c->len)
        return expected(c, "the end of a string");
    c->pos++;
    out[n + 1 < cap ? n : cap - 1] = '\0';
    *len = n;
    return SUS_OK;
}

static int is_ident_char(unsigned char ch)
{
    return ch == '_' || (ch >= '0' && ch <= '9') ||
           ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

static int parse_bool(cursor *c, int *value)
{
    size_t start = c->pos, n = 0;
    while (start + n < c->len && is_ident_char(c->h[start + n]))
        n++;
    if (n == 4 && memcmp(c->h + start, "True", 4) == 0)
        *value = 1;
    else if (n == 5 && memcmp(c->h + start, "False", 5) == 0)
        *value = 0;
    else
        return expected(c, "True or False");
    c->pos += n;
    return SUS_OK;
}

/* One dimension. A leading '-' is accepted by the syntax so that the
 * judgement pass can say "negative dimension" rather than "garbage". */
static int parse_dim(cursor *c, raw_header *r)
{
    size_t start = c->pos;
    int neg = at(c, '-');
    if (neg)
        c->pos++;
    if (c->pos >= c->len || c->h[c->pos] < '0' || c->h[c->pos] > '9')
        return expected(c, "a dimension (a non-negative integer)");
    if (c->h[c->pos] == '0' && c->pos + 1 < c->len && c->h[c->pos + 1] >= '0' &&
        c->h[c->pos + 1] <= '9') {
        return sus_i_fail(
            c->err, SUS_ERR_FORMAT,
            "%s: malformed header: leading zero in a dimension at byte %zu", c->name,
            c->base + c->pos);
    }
    uint64_t v;
    int big;
    c->pos = sus_i_npy_scan_digits(c->h, c->len, c->pos, &v, &big);
    int bad = neg ? SUS_ERR_FORMAT : big ? SUS_ERR_OVERFLOW : 0;
    if (bad && !r->bad_dim) {
        r->bad_dim = bad;
        r->bad_dim_pos = start;
        r->bad_dim_len = c->pos - start;
    }
    if (r->ndim < SUS_NPY_MAXDIM)
        r->shape[r->ndim] = bad ? 0 : (int64_t)v;
    if (r->ndim < SUS_NPY_MAXDIM + 1)
        r->ndim++;
    return SUS_OK;
}

static int parse_shape(cursor *c, raw_header *r)
{
    int rc;
    if ((rc = expect(c, '(', "'(' to open the shape tuple")))
        return rc;
    skip_spaces(c);
    if (at(c, ')')) {
        c->pos++;
        return SUS_OK;
    }
    for (;;) {
        if ((rc = parse_dim(c, r)))
            return rc;
        skip_spaces(c);
        if (at(c, ')')) {
            /* (3) is the integer 3 in Python, not a tuple. */
            if (r->ndim == 1)
                return expected(c, "',' after the only dimension (a 1-tuple is (n,))");
            c->pos++;
            return SUS_OK;
        }
        if ((rc = expect(c, ',', "',' or ')' in the shape tuple")))
            return rc;
        skip_spaces(c);
        if (at(c, ')')) {
            c->pos++;
            return SUS_OK;
        }
    }
}

static int parse_item(cursor *c, raw_header *r)
{
    char key[KEY_CAP];
    size_t keylen, keypos = c->pos;
    int rc = parse_string(c, key, sizeof key, &keylen);
    if (rc)
        return rc;
    int *have;
    if (keylen == 5 && strcmp(key, "descr") == 0)
        have = &r->have_descr;
    else if (keylen == 13 && strcmp(key, "fortran_order") == 0)
        have = &r->have_fortran;
    else if (keylen == 5 && strcmp(key, "shape") == 0)
        have = &r->have_shape;
    else
        return sus_i_fail(c->err, SUS_ERR_FORMAT,
                          "%s: malformed header: unknown key '%s%s' at byte %zu",
                          c->name, key, keylen >= sizeof key ? "..." : "",
                          c->base + keypos);
    if (*have)
        return sus_i_fail(c->err, SUS_ERR_FORMAT,
                          "%s: malformed header: duplicate key '%s' at byte %zu",
                          c->name, key, c->base + keypos);
    *have = 1;
    skip_spaces(c);
    if ((rc = expect(c, ':', "':' after a key")))
        return rc;
    skip_spaces(c);
    if (have == &r->have_descr) {
        /* A list here is a structured dtype: valid numpy, not for us. */
        if (at(c, '['))
            return sus_i_fail(c->err, SUS_ERR_UNSUPPORTED,
                              "%s: structured dtypes are not supported (accepted: "
                              "'<f4', '<f8', '<i4', '<i8')",
                              c->name);
        return parse_string(c, r->descr, sizeof r->descr, &r->descr_len);
    }
    if (have == &r->have_fortran)
        return parse_bool(c, &r->fortran);
    return parse_shape(c, r);
}

static int parse_dict(cursor *c, raw_header *r)
{
    int rc;
    skip_spaces(c);
    if ((rc = expect(c, '{', "'{' to open the header dictionary")))
        return rc;
    skip_spaces(c);
    while (!at(c, '}')) {
        if ((rc = parse_item(c, r)))
            return rc;
        skip_spaces(c);
        if (at(c, '}'))
            break;
        if ((rc = expect(c, ',', "',' or '}' after a value")))
            return rc;
        skip_spaces(c);
    }
    c->pos++;
    skip_spaces(c);
    if (c->pos < c->len)
        return expected(c, "only spaces after the header dictionary");
    return SUS_OK;
}

static int judge_descr(const raw_header *r, const char *name, sus_dtype *dtype,
                       sus_error *err)
{
    static const struct {
        const char *descr;
        sus_dtype dtype;
    } ok[] = {{"<f4", SUS_DTYPE_F4},
              {"<f8", SUS_DTYPE_F8},
              {"<i4", SUS_DTYPE_I4},
              {"<i8", SUS_DTYPE_I8}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (r->descr_len == 3 && strcmp(r->descr, ok[i].descr) == 0) {
            *dtype = ok[i].dtype;
            return SUS_OK;
        }
    }
    const char *more = r->descr_len >= sizeof r->descr ? "..." : "";
    if (r->descr[0] == '>')
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "%s: big-endian dtype '%s%s' is not supported (accepted: "
                          "'<f4', '<f8', '<i4', '<i8')",
                          name, r->descr, more);
    if (r->descr_len >= 2 && r->descr[1] == 'O')
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "%s: object dtype '%s%s' is not supported (accepted: "
                          "'<f4', '<f8', '<i4', '<i8')",
                          name, r->descr, more);
    return sus_i_fail(
        err, SUS_ERR_UNSUPPORTED,
        "%s: unsupported dtype '%s%s' (accepted: '<f4', '<f8', '<i4', '<i8')", name,
        r->descr, more);
}

/* Checks everything but the values: prefix, header, shape and data length. */
static int parse_header(const unsigned char *b, size_t len, const char *name,
                        npy_header *out, sus_error *err)
{
    /* The prefix's offsets are proved to stay in the buffer
     * (npy_header.c, proofs/wp/npy_header). */
    size_t prefix, hlen;
    switch (sus_i_npy_prefix(b, len, &prefix, &hlen)) {
    case SUS_NPY_PREFIX_OK:
        break;
    case SUS_NPY_PREFIX_EMPTY:
        return sus_i_fail(err, SUS_ERR_FORMAT, "%s: empty, not a .npy file", name);
    case SUS_NPY_PREFIX_BAD_MAGIC:
        return sus_i_fail(err, SUS_ERR_FORMAT, "%s: bad magic, not a .npy file", name);
    case SUS_NPY_PREFIX_SHORT:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: truncated in the magic string or version (%zu bytes)",
                          name, len);
    case SUS_NPY_PREFIX_VERSION:
        return sus_i_fail(
            err, SUS_ERR_UNSUPPORTED,
            "%s: unsupported .npy version %u.%u (supported: 1.0, 2.0, 3.0)", name,
            (unsigned)b[6], (unsigned)b[7]);
    case SUS_NPY_PREFIX_SHORT_LEN:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: truncated in the header length field (%zu bytes)", name,
                          len);
    case SUS_NPY_PREFIX_TOO_LONG:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: header length %zu exceeds the limit of %u bytes", name,
                          hlen, SUS_I_NPY_MAX_HEADER);
    case SUS_NPY_PREFIX_PAST_END:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: header length %zu runs past the end (%zu bytes in all)",
                          name, hlen, len);
    case SUS_NPY_PREFIX_ZERO:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: malformed header: header length is 0", name);
    default:
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: malformed header: it does not end with a newline", name);
    }

    raw_header r;
    memset(&r, 0, sizeof r);
    cursor c = {b + prefix, hlen - 1, 0, prefix, name, err};
    int rc = parse_dict(&c, &r);
    if (rc)
        return rc;
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    const int have[3] = {r.have_descr, r.have_fortran, r.have_shape};
    for (int k = 0; k < 3; k++) {
        if (!have[k])
            return sus_i_fail(err, SUS_ERR_FORMAT, "%s: malformed header: no key '%s'",
                              name, keys[k]);
    }
    if ((rc = judge_descr(&r, name, &out->dtype, err)))
        return rc;
    if (r.fortran)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "%s: Fortran order is not supported (write C order)", name);
    if (r.ndim > SUS_NPY_MAXDIM)
        return sus_i_fail(err, SUS_ERR_UNSUPPORTED,
                          "%s: more than %d dimensions are not supported", name,
                          SUS_NPY_MAXDIM);
    if (r.bad_dim) {
        int show = r.bad_dim_len > 40 ? 40 : (int)r.bad_dim_len;
        const char *dots = r.bad_dim_len > 40 ? "..." : "";
        const char *d = (const char *)c.h + r.bad_dim_pos;
        if (r.bad_dim == SUS_ERR_FORMAT)
            return sus_i_fail(err, SUS_ERR_FORMAT,
                              "%s: negative dimension %.*s%s in shape", name, show, d,
                              dots);
        return sus_i_fail(err, SUS_ERR_OVERFLOW, "%s: dimension %.*s%s overflows int64",
                          name, show, d, dots);
    }
    size_t itemsize = sus_dtype_size(out->dtype);
    if (sus_i_npy_shape_bytes(r.ndim, r.shape, itemsize, &out->count, &out->bytes)) {
        char s[SUS_I_NPY_SHAPE_BUF];
        sus_i_npy_format_shape(s, sizeof s, r.ndim, r.shape);
        return sus_i_fail(
            err, SUS_ERR_OVERFLOW,
            "%s: shape %s of '%s' is too large (its size in bytes overflows)", name, s,
            r.descr);
    }
    out->ndim = r.ndim;
    memcpy(out->shape, r.shape, sizeof r.shape);
    out->data_off = prefix + hlen;
    size_t have_bytes = len - out->data_off;
    if (have_bytes < out->bytes)
        return sus_i_fail(err, SUS_ERR_FORMAT,
                          "%s: truncated data: %zu bytes, but the shape needs %zu",
                          name, have_bytes, out->bytes);
    if (have_bytes > out->bytes)
        return sus_i_fail(
            err, SUS_ERR_FORMAT, "%s: trailing garbage: %zu byte%s after the data",
            name, have_bytes - out->bytes, have_bytes - out->bytes == 1 ? "" : "s");
    return SUS_OK;
}

static int check_finite(const sus_array *a, const char *name, sus_error *err)
{
    if (a->dtype != SUS_DTYPE_F4 && a->dtype != SUS_DTYPE_F8)
        return SUS_OK;
    for (size_t t = 0; t < a->count; t++) {
        double v = a->dtype == SUS_DTYPE_F8 ? ((const double *)a->data)[t]
                                            : ((const float *)a->data)[t];
        if (isfinite(v))
            continue;
        /* count > 0, so every dimension is at least 1. */
        int64_t idx[SUS_NPY_MAXDIM];
        size_t rest = t;
        for (int k = a->ndim - 1; k >= 0; k--) {
            idx[k] = (int64_t)(rest % (size_t)a->shape[k]);
            rest /= (size_t)a->shape[k];
        }
        char s[SUS_I_NPY_SHAPE_BUF];
        size_t n = 0;
        s[n++] = '[';
        for (int k = 0; k < a->ndim; k++)
            n += (size_t)snprintf(s + n, sizeof s - n, "%s%lld", k ? ", " : "",
                                  (long long)idx[k]);
        s[n++] = ']';
        s[n] = '\0';
        return sus_i_fail(err, SUS_ERR_NONFINITE, "%s: non-finite value %s at index %s",
                          name,
                          isnan(v) ? "nan"
                          : v > 0  ? "inf"
                                   : "-inf",
                          s);
    }
    return SUS_OK;
}

/* Zeroes *out first, so that sus_array_free is safe after any failure. */
static int check_args(const char *name, unsigned flags, sus_array *out, sus_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL argument", name);
    if (flags & ~SUS_NPY_FINITE)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: unknown flags 0x%x", name,
                          flags & ~SUS_NPY_FINITE);
    return SUS_OK;
}

static void fill(sus_array *out, const npy_header *h, void *data)
{
    out->dtype = h->dtype;
    out->ndim = h->ndim;
    memcpy(out->shape, h->shape, sizeof out->shape);
    out->count = h->count;
    out->data = data;
}

int sus_npy_parse(const void *buf, size_t len, const char *name, unsigned flags,
                  sus_array *out, sus_error *err)
{
    if (!name)
        name = "(buffer)";
    int rc = check_args(name, flags, out, err);
    if (rc)
        return rc;
    if (!buf && len > 0)
        return sus_i_fail(err, SUS_ERR_INVAL, "%s: NULL buffer", name);
    npy_header h;
    if ((rc = parse_header(buf, len, name, &h, err)))
        return rc;
    void *data = sus_i_alloc_array(h.count, sus_dtype_size(h.dtype));
    if (!data)
        return sus_i_fail(err, SUS_ERR_NOMEM, "%s: cannot allocate %zu bytes", name,
                          h.bytes);
    if (h.bytes)
        memcpy(data, (const unsigned char *)buf + h.data_off, h.bytes);
    fill(out, &h, data);
    if ((flags & SUS_NPY_FINITE) && (rc = check_finite(out, name, err))) {
        sus_array_free(out);
        return rc;
    }
    sus_i_ok(err);
    return SUS_OK;
}

/* Reads all of fd (a regular file's size is a hint: it may change under us)
 * into a malloc'ed buffer. */
static int read_all(int fd, const char *path, size_t hint, unsigned char **out,
                    size_t *outlen, sus_error *err)
{
    char eb[128];
    /* One byte beyond the hint, so that end of file is seen without a
     * reallocation when the size was right. */
    size_t cap = hint < SIZE_MAX ? hint + 1 : hint, len = 0;
    if (cap < 4096)
        cap = 4096;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return sus_i_fail(err, SUS_ERR_NOMEM, "%s: cannot allocate %zu bytes", path,
                          cap);
    for (;;) {
        if (len == cap) {
            size_t ncap;
            if (!sus_i_mul_size(cap, 2, &ncap) || ncap > (size_t)PTRDIFF_MAX) {
                free(buf);
                return sus_i_fail(err, SUS_ERR_OVERFLOW,
                                  "%s: file is too large to read", path);
            }
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return sus_i_fail(err, SUS_ERR_NOMEM, "%s: cannot allocate %zu bytes",
                                  path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - len;
        /* read() of more than SSIZE_MAX is implementation-defined. */
        if (want > (size_t)1 << 30)
            want = (size_t)1 << 30;
        ssize_t got = read(fd, buf + len, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            return sus_i_fail(err, SUS_ERR_IO, "%s: cannot read: %s", path,
                              sus_i_npy_strerror(e, eb, sizeof eb));
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    *out = buf;
    *outlen = len;
    return SUS_OK;
}

int sus_npy_read(const char *path, unsigned flags, sus_array *out, sus_error *err)
{
    char eb[128];
    int rc = check_args(path ? path : "(null path)", flags, out, err);
    if (rc)
        return rc;
    if (!path)
        return sus_i_fail(err, SUS_ERR_INVAL, "(null path): NULL argument");
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return sus_i_fail(err, SUS_ERR_IO, "%s: cannot open: %s", path,
                          sus_i_npy_strerror(errno, eb, sizeof eb));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sus_i_fail(err, SUS_ERR_IO, "%s: cannot stat: %s", path,
                          sus_i_npy_strerror(e, eb, sizeof eb));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return sus_i_fail(err, SUS_ERR_IO, "%s: cannot read: %s", path,
                          sus_i_npy_strerror(EISDIR, eb, sizeof eb));
    }
    size_t hint = 0;
    if (S_ISREG(st.st_mode)) {
        if (st.st_size < 0 || (uintmax_t)st.st_size >= (uintmax_t)PTRDIFF_MAX) {
            close(fd);
            return sus_i_fail(err, SUS_ERR_OVERFLOW,
                              "%s: file of %jd bytes is too large", path,
                              (intmax_t)st.st_size);
        }
        hint = (size_t)st.st_size;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    rc = read_all(fd, path, hint, &buf, &len, err);
    /* A close error after a complete read loses nothing. */
    close(fd);
    if (rc)
        return rc;
    npy_header h;
    if ((rc = parse_header(buf, len, path, &h, err))) {
        free(buf);
        return rc;
    }
    /* The data is moved to the front of the buffer, which the array then
     * owns: a large file is held in memory once, not twice. malloc'ed
     * memory is aligned for every dtype. */
    memmove(buf, buf + h.data_off, h.bytes);
    unsigned char *shrunk = realloc(buf, h.bytes ? h.bytes : 1);
    if (shrunk)
        buf = shrunk;
    fill(out, &h, buf);
    if ((flags & SUS_NPY_FINITE) && (rc = check_finite(out, path, err))) {
        sus_array_free(out);
        return rc;
    }
    sus_i_ok(err);
    return SUS_OK;
}
