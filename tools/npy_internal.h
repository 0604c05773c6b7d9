/*
 * npy_internal.h: helpers shared by the .npy reader, writer and arrays
 * (tools/npy_*.c). Not installed; not part of the public API.
 */
#ifndef SUS_TOOLS_NPY_INTERNAL_H
#define SUS_TOOLS_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"

/* .npy data is little-endian and sus_array holds host byte order; the code
 * copies bytes without swapping, so a big-endian host must not build it. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sus requires a little-endian host (.npy I/O copies bytes unswapped)"
#endif
#else
#error "sus: cannot determine the host byte order (__BYTE_ORDER__ is not defined)"
#endif

/* The magic string and the fixed prefix lengths of the format. */
#define SUS_I_NPY_MAGIC     "\x93NUMPY"
#define SUS_I_NPY_MAGIC_LEN 6
#define SUS_I_NPY_PREFIX_V1 10 /* magic, version, uint16 header length */
#define SUS_I_NPY_PREFIX_V2 12 /* magic, version, uint32 header length */

/* The largest header length (the declared HEADER_LEN field) that the reader
 * accepts. Version 1.0 cannot exceed 65535; for 2.0 and 3.0 a cap keeps a
 * hostile length from driving the parser over megabytes of padding. Our own
 * headers stay under 512 bytes (SUS_NPY_MAXDIM dimensions of 19 digits);
 * numpy refuses more than 10000 by default when reading. */
#define SUS_I_NPY_MAX_HEADER 65536u

/* Data starts at a multiple of this, as numpy >= 1.14 writes it. */
#define SUS_I_NPY_ALIGN 64u

/* Validates ndim and shape (every dimension >= 0) and computes the element
 * count and the byte size for elements of itemsize bytes. Like numpy, the
 * product of the nonzero dimensions in bytes must fit (here: PTRDIFF_MAX)
 * even when some dimension is 0, so a shape is either valid or not,
 * whatever its other dimensions. Returns SUS_OK, SUS_ERR_INVAL (ndim or a
 * negative dimension) or SUS_ERR_OVERFLOW, without a message. */
int sus_i_npy_shape_bytes(int ndim, const int64_t *shape, size_t itemsize,
                          size_t *count, size_t *bytes);

/* Enough for any shape of up to SUS_NPY_MAXDIM dimensions of 19 digits,
 * with separators, parentheses and the NUL. */
#define SUS_I_NPY_SHAPE_BUF 352
_Static_assert(SUS_I_NPY_SHAPE_BUF >= 21 * SUS_NPY_MAXDIM + 4,
               "SUS_I_NPY_SHAPE_BUF must grow with SUS_NPY_MAXDIM");

/* Writes the shape as numpy's repr of a tuple: "()", "(3,)", "(2, 3)".
 * Returns the length it needs (excluding the NUL), like snprintf. */
size_t sus_i_npy_format_shape(char *buf, size_t cap, int ndim, const int64_t *shape);

/* The dtype's descr string ("<f8"), or NULL if dtype is invalid. */
const char *sus_i_npy_descr(sus_dtype dtype);

/* strerror_r into buf, with a fallback text; reentrant, unlike strerror. */
const char *sus_i_npy_strerror(int errnum, char *buf, size_t cap);

#endif
