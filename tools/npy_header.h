/*
 * npy_header.h: the parts of the .npy reader that index the input buffer
 * by computed offsets or multiply sizes: the fixed prefix (magic, version,
 * header length), the digits of a dimension and the shape's byte size.
 * Plain integer C with ACSL contracts, proved with Frama-C/WP
 * (proofs/wp/npy_header): no read past the buffer, no overflow. Not
 * installed.
 */
#ifndef SUS_TOOLS_NPY_HEADER_H
#define SUS_TOOLS_NPY_HEADER_H

#include <stddef.h>
#include <stdint.h>

/* What sus_i_npy_prefix found, in the order the reader reports it. */
enum sus_i_npy_prefix_status {
    SUS_NPY_PREFIX_OK = 0,
    SUS_NPY_PREFIX_EMPTY,     /* len = 0 */
    SUS_NPY_PREFIX_BAD_MAGIC, /* the magic string differs */
    SUS_NPY_PREFIX_SHORT,     /* truncated in the magic string or version */
    SUS_NPY_PREFIX_VERSION,   /* not 1.0, 2.0 or 3.0 (b[6], b[7]) */
    SUS_NPY_PREFIX_SHORT_LEN, /* truncated in the header length field */
    SUS_NPY_PREFIX_TOO_LONG,  /* *hlen > SUS_I_NPY_MAX_HEADER */
    SUS_NPY_PREFIX_PAST_END,  /* *hlen runs past the end of the buffer */
    SUS_NPY_PREFIX_ZERO,      /* *hlen = 0 */
    SUS_NPY_PREFIX_NO_NEWLINE /* the header does not end with '\n' */
};

/* Reads the prefix of the .npy file b[0, len): on SUS_NPY_PREFIX_OK, the
 * header is b[*prefix, *prefix + *hlen), *hlen >= 1, inside the buffer and
 * ending with '\n'. *prefix and *hlen are set as far as they were read. */
int sus_i_npy_prefix(const unsigned char *b, size_t len, size_t *prefix, size_t *hlen);

/* The decimal digits h[pos, end) from pos on (end: the first non-digit or
 * len): *v their value, or *big = 1 (and *v the value of a prefix) if it
 * exceeds INT64_MAX. Returns end. */
size_t sus_i_npy_scan_digits(const unsigned char *h, size_t len, size_t pos,
                             uint64_t *v, int *big);

#endif
