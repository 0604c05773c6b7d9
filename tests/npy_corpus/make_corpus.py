#!/usr/bin/python3
"""Generates the .npy corpus of tests/test_npy.c: hand-made files, valid and
malformed, one per refusal reason of the reader, and expected.txt, the table
that says what the reader must answer for each (read with SUS_NPY_FINITE).

Standard library only, so that it runs anywhere: /usr/bin/python3
tests/npy_corpus/make_corpus.py. The files are committed; rerun this after
changing it and commit the result. The files written by real numpy are in
numpy/ (make_numpy.py).

expected.txt: one line per file, tab-separated:
    file  STATUS  message substring ("-" for none)
Every valid file (SUS_OK) holds value(k) at flat index k, as defined below
and in test_npy.c.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"\x93NUMPY"
PACK = {"<f4": "<f", "<f8": "<d", "<i4": "<i", "<i8": "<q"}


def value(descr, k):
    """The value at flat index k of every valid corpus file."""
    sign = -1 if k % 2 else 1
    if descr in ("<f4", "<f8"):
        return sign * (k + 1) / 4.0
    if descr == "<i4":
        return sign * (k + 1) * 1000
    return sign * (k + 1) * 2**40


def data(descr, count):
    return b"".join(struct.pack(PACK[descr], value(descr, k)) for k in range(count))


def shape_repr(shape):
    if len(shape) == 1:
        return "(%d,)" % shape[0]
    return "(" + ", ".join(str(d) for d in shape) + ")"


def numpy_dict(descr, shape, fortran="False"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr if descr.startswith(("[", "5")) else repr(descr),
        fortran,
        shape if isinstance(shape, str) else shape_repr(shape),
    )


def wrap(text, version=(1, 0), align=64, pad=b" ", end=b"\n", hlen=None):
    """The magic, version and length field around header text, padded as
    numpy pads it (to align bytes in all) unless align is None."""
    body = text.encode("latin-1") if isinstance(text, str) else text
    prefix = 10 if version[0] == 1 else 12
    if align:
        body += pad * ((-(prefix + len(body) + len(end))) % align)
    body += end
    n = len(body) if hlen is None else hlen
    field = struct.pack("<H" if prefix == 10 else "<I", n)
    return MAGIC + bytes(version) + field + body


def npy(descr="<f8", shape=(2, 3), payload=None, **kw):
    count = 1
    for d in shape:
        count *= d
    if payload is None:
        payload = data(descr, count)
    return wrap(numpy_dict(descr, shape), **kw) + payload


FILES = []


def add(name, content, status, substring="-"):
    FILES.append((name, content, status, substring))


OK = "SUS_OK"
FMT = "SUS_ERR_FORMAT"
UNS = "SUS_ERR_UNSUPPORTED"
OVF = "SUS_ERR_OVERFLOW"
NONF = "SUS_ERR_NONFINITE"

# Valid files: every version, dtype and header style the reader accepts.
add("ok_v1_f8_2x3.npy", npy("<f8", (2, 3)), OK)
add("ok_v2_f4_5.npy", npy("<f4", (5,), version=(2, 0)), OK)
add("ok_v3_i4_2x2.npy", npy("<i4", (2, 2), version=(3, 0)), OK)
add("ok_i8_0d.npy", npy("<i8", ()), OK)
add("ok_f8_0x3.npy", npy("<f8", (0, 3)), OK)
add("ok_f4_4d.npy", npy("<f4", (2, 1, 3, 2)), OK)
add("ok_16_dims.npy", npy("<f8", (1,) * 15 + (2,)), OK)
add("ok_compact_header.npy",
    wrap('{"shape":(2,3),"descr":"<f8","fortran_order":False}', align=None)
    + data("<f8", 6), OK)
add("ok_spacey_header.npy",
    wrap("  { 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , 'descr' : '<i8' , }   ")
    + data("<i8", 6), OK)
add("ok_old_16_alignment.npy", npy("<f8", (3,), align=16), OK)

# The prefix: magic, version, header length.
add("empty.npy", b"", FMT, "empty, not a .npy file")
add("bad_magic.npy", b"\x93NUMPZ" + npy()[6:], FMT, "bad magic, not a .npy file")
add("text_file.npy", b"hello, world\n", FMT, "bad magic, not a .npy file")
add("short_magic.npy", b"\x93NUM", FMT, "truncated in the magic string or version")
add("version_4_0.npy", npy(version=(4, 0)), UNS, "unsupported .npy version 4.0")
add("version_1_1.npy", npy(version=(1, 1)), UNS, "unsupported .npy version 1.1")
add("version_0_0.npy", npy(version=(0, 0)), UNS, "unsupported .npy version 0.0")
add("short_length_v1.npy", MAGIC + b"\x01\x00\x76", FMT,
    "truncated in the header length field")
add("short_length_v2.npy", MAGIC + b"\x02\x00\x76\x00\x00", FMT,
    "truncated in the header length field")
PAST_END = npy(hlen=1000)
add("header_past_end.npy", PAST_END, FMT,
    "header length 1000 runs past the end (%d bytes in all)" % len(PAST_END))
add("header_over_cap.npy", npy(version=(2, 0), hlen=0xFFFFFFFF), FMT,
    "header length 4294967295 exceeds the limit of 65536 bytes")
add("header_just_over_cap.npy", npy(version=(2, 0), hlen=65537), FMT,
    "header length 65537 exceeds the limit of 65536 bytes")
add("header_len_zero.npy", MAGIC + b"\x01\x00\x00\x00" + data("<f8", 6), FMT,
    "header length is 0")

# The header's framing. D23 is a standard dict; it ends at byte 10 + 59.
D23 = numpy_dict("<f8", (2, 3))
assert len(D23) == 59
add("no_newline.npy", wrap(numpy_dict("<f8", (2, 3)), end=b" ") + data("<f8", 6), FMT,
    "does not end with a newline")
add("newline_inside.npy", wrap(D23 + "\n  ") + data("<f8", 6), FMT,
    "expected only spaces after the header dictionary at byte 69, found byte 0x0a")
add("garbage_after_dict.npy", wrap(D23 + " x") + data("<f8", 6), FMT,
    "expected only spaces after the header dictionary at byte 70, found 'x'")
add("tab_in_header.npy",
    wrap("{'descr':\t'<f8', 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "found byte 0x09")
add("nul_padding.npy", wrap(numpy_dict("<f8", (2, 3)), pad=b"\0") + data("<f8", 6), FMT,
    "found byte 0x00")
add("not_a_dict.npy", wrap("['<f8', False, (2, 3)]") + data("<f8", 6), FMT,
    "expected '{' to open the header dictionary at byte 10, found '['")
add("unclosed_dict.npy",
    wrap("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), ") + data("<f8", 6),
    FMT, "expected a quoted string")

# Keys.
add("empty_dict.npy", wrap("{}") + data("<f8", 6), FMT, "no key 'descr'")
add("missing_descr.npy", wrap("{'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "malformed header: no key 'descr'")
add("missing_fortran.npy", wrap("{'descr': '<f8', 'shape': (2, 3), }") + data("<f8", 6),
    FMT, "malformed header: no key 'fortran_order'")
add("missing_shape.npy", wrap("{'descr': '<f8', 'fortran_order': False, }")
    + data("<f8", 6), FMT, "malformed header: no key 'shape'")
add("duplicate_descr.npy",
    wrap("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "duplicate key 'descr'")
add("unknown_key.npy",
    wrap("{'descr': '<f8', 'dtype': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "unknown key 'dtype'")
add("unquoted_key.npy",
    wrap("{descr: '<f8', 'fortran_order': False, 'shape': (2, 3), }") + data("<f8", 6),
    FMT, "expected a quoted string at byte 11, found 'd'")
add("missing_comma.npy",
    wrap("{'descr': '<f8' 'fortran_order': False, 'shape': (2, 3), }") + data("<f8", 6),
    FMT, "expected ',' or '}' after a value")
add("missing_colon.npy",
    wrap("{'descr' '<f8', 'fortran_order': False, 'shape': (2, 3), }") + data("<f8", 6),
    FMT, "expected ':' after a key")
add("double_comma.npy",
    wrap("{'descr': '<f8',, 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "expected a quoted string")
add("unterminated_string.npy", wrap("{'descr") + data("<f8", 6), FMT,
    "expected the end of a string")
add("mismatched_quotes.npy",
    wrap("{'descr\": '<f8', 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "unknown key 'descr\": '")
add("backslash_escape.npy",
    wrap("{'descr': '<f\\x38', 'fortran_order': False, 'shape': (2, 3), }")
    + data("<f8", 6), FMT, "(no escapes)")
add("non_ascii_key.npy",
    wrap("{'d\u00e9scr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".encode())
    + data("<f8", 6), FMT, "found byte 0xc3")

# descr.
add("big_endian_f8.npy", npy(">f8", (2, 3), data("<f8", 6)), UNS,
    "big-endian dtype '>f8' is not supported")
add("big_endian_i4.npy", npy(">i4", (2,), data("<i4", 2)), UNS,
    "big-endian dtype '>i4' is not supported")
add("dtype_object.npy", npy("|O", (2,), b"\0" * 16), UNS,
    "object dtype '|O' is not supported")
add("dtype_c16.npy", npy("<c16", (1,), b"\0" * 16), UNS, "unsupported dtype '<c16'")
add("dtype_f2.npy", npy("<f2", (4,), b"\0" * 8), UNS, "unsupported dtype '<f2'")
add("dtype_u1.npy", npy("|u1", (8,), b"\0" * 8), UNS, "unsupported dtype '|u1'")
add("dtype_native_f8.npy", npy("=f8", (1,), b"\0" * 8), UNS, "unsupported dtype '=f8'")
add("dtype_f8_no_order.npy", npy("f8", (1,), b"\0" * 8), UNS, "unsupported dtype 'f8'")
add("dtype_long.npy", npy("<" + "f" * 100, (1,), b"\0" * 8), UNS,
    "unsupported dtype '<%s...'" % ("f" * 22))
add("dtype_structured.npy", npy("[('a', '<f8'), ('b', '<i4')]", (1,), b"\0" * 12), UNS,
    "structured dtypes are not supported")
add("descr_not_string.npy", npy("5", (1,), b"\0" * 8), FMT,
    "expected a quoted string at byte 20, found '5'")

# fortran_order.
add("fortran.npy", wrap(numpy_dict("<f8", (2, 3), "True")) + data("<f8", 6), UNS,
    "Fortran order is not supported")
add("fortran_1d.npy", wrap(numpy_dict("<f8", (3,), "True")) + data("<f8", 3), UNS,
    "Fortran order is not supported")
add("fortran_zero.npy", wrap(numpy_dict("<f8", (2, 3), "0")) + data("<f8", 6), FMT,
    "expected True or False")
add("fortran_lowercase.npy", wrap(numpy_dict("<f8", (2, 3), "false")) + data("<f8", 6),
    FMT, "expected True or False")
add("fortran_trueish.npy", wrap(numpy_dict("<f8", (2, 3), "Truex")) + data("<f8", 6),
    FMT, "expected True or False")

# shape.
add("shape_not_tuple.npy", wrap(numpy_dict("<f8", "(3)")) + data("<f8", 3), FMT,
    "a 1-tuple is (n,)")
add("shape_list.npy", wrap(numpy_dict("<f8", "[2, 3]")) + data("<f8", 6), FMT,
    "expected '(' to open the shape tuple")
add("shape_unclosed.npy", wrap(numpy_dict("<f8", "(2, 3")) + data("<f8", 6), FMT,
    "expected a dimension (a non-negative integer) at byte 67, found '}'")
add("shape_missing_comma.npy", wrap(numpy_dict("<f8", "(2 3)")) + data("<f8", 6), FMT,
    "expected ',' or ')' in the shape tuple at byte 63, found '3'")
add("shape_empty_element.npy", wrap(numpy_dict("<f8", "(2,,)")) + data("<f8", 2), FMT,
    "expected a dimension (a non-negative integer)")
add("shape_long_suffix.npy", wrap(numpy_dict("<f8", "(3L,)")) + data("<f8", 3), FMT,
    "expected ',' or ')' in the shape tuple")
add("shape_float.npy", wrap(numpy_dict("<f8", "(3.0,)")) + data("<f8", 3), FMT,
    "expected ',' or ')' in the shape tuple")
add("shape_plus.npy", wrap(numpy_dict("<f8", "(+3,)")) + data("<f8", 3), FMT,
    "expected a dimension (a non-negative integer)")
add("shape_leading_zero.npy", wrap(numpy_dict("<f8", "(03,)")) + data("<f8", 3), FMT,
    "leading zero in a dimension")
add("shape_negative.npy", wrap(numpy_dict("<f8", "(2, -1)")) + data("<f8", 2), FMT,
    "negative dimension -1 in shape")
add("shape_dim_overflow.npy",
    wrap(numpy_dict("<f8", "(99999999999999999999,)")) + data("<f8", 1), OVF,
    "dimension 99999999999999999999 overflows int64")
add("shape_int64_max_plus_1.npy",
    wrap(numpy_dict("<f8", "(9223372036854775808,)")) + data("<f8", 1), OVF,
    "dimension 9223372036854775808 overflows int64")
add("shape_product_overflow.npy",
    wrap(numpy_dict("<f8", (2**32, 2**32))) + data("<f8", 1), OVF,
    "shape (4294967296, 4294967296) of '<f8' is too large")
add("shape_bytes_overflow.npy", wrap(numpy_dict("<f8", (2**61,))) + data("<f8", 1), OVF,
    "shape (2305843009213693952,) of '<f8' is too large")
add("shape_over_ptrdiff.npy", wrap(numpy_dict("<f8", (2**60,))) + data("<f8", 1), OVF,
    "shape (1152921504606846976,) of '<f8' is too large")
add("shape_zero_hides_overflow.npy",
    wrap(numpy_dict("<f8", (0, 2**32, 2**32))), OVF,
    "shape (0, 4294967296, 4294967296) of '<f8' is too large")
add("too_many_dims.npy", npy("<f8", (1,) * 17), UNS,
    "more than 16 dimensions are not supported")

# Data length.
add("truncated_data.npy", npy("<f8", (4,))[:-1], FMT,
    "truncated data: 31 bytes, but the shape needs 32")
add("no_data.npy", npy("<i4", (2, 2), b""), FMT,
    "truncated data: 0 bytes, but the shape needs 16")
add("trailing_byte.npy", npy("<f8", (4,)) + b"\0", FMT,
    "trailing garbage: 1 byte after the data")
add("trailing_bytes_0d.npy", npy("<f4", ()) + b"junk", FMT,
    "trailing garbage: 4 bytes after the data")
add("trailing_after_empty.npy", npy("<f8", (0,)) + b"\0" * 8, FMT,
    "trailing garbage: 8 bytes after the data")

# Non-finite values (refused with SUS_NPY_FINITE, which the corpus uses).
nan_data = bytearray(data("<f8", 8))
nan_data[3 * 8:4 * 8] = struct.pack("<d", float("nan"))
nan_data[6 * 8:7 * 8] = struct.pack("<d", float("inf"))
add("nan_f8_2x4.npy", npy("<f8", (2, 4), bytes(nan_data)), NONF,
    "non-finite value nan at index [0, 3]")
inf_data = bytearray(data("<f4", 12))
inf_data[8 * 4:9 * 4] = struct.pack("<f", float("-inf"))
add("neg_inf_f4_2x2x3.npy", npy("<f4", (2, 2, 3), bytes(inf_data)), NONF,
    "non-finite value -inf at index [1, 0, 2]")
add("inf_f8_0d.npy", npy("<f8", (), struct.pack("<d", float("inf"))), NONF,
    "non-finite value inf at index []")
add("neg_nan_f4_1d.npy", npy("<f4", (3,), data("<f4", 2) + b"\x00\x00\xc0\xff"), NONF,
    "non-finite value nan at index [2]")


def main():
    for old in os.listdir(HERE):
        if old.endswith(".npy"):
            os.remove(os.path.join(HERE, old))
    lines = ["# Generated by make_corpus.py; do not edit. file<TAB>status<TAB>substring"]
    for name, content, status, substring in FILES:
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(content)
        lines.append("%s\t%s\t%s" % (name, status, substring))
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
