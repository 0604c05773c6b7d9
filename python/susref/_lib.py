"""Loading libsus.so and the ctypes mirrors of include/sus.h's structs.

The structs below must match sus.h field for field; python/tests checks the
values that cross the boundary against independent expectations, so a drift
shows up as a test failure rather than as garbage.
"""

import ctypes
import os

_ERRMSG_LEN = 512
CHECK_WORST = 5
CHECK_LISTED = 16
CHECK_PARTS = 4
TAU = 4.0

_i64 = ctypes.c_int64
_dp = ctypes.POINTER(ctypes.c_double)
_i64p = ctypes.POINTER(ctypes.c_int64)


class SusError(Exception):
    """An error reported by libsus: `status` is the sus_status code, the
    message is the library's one-line explanation (naming the array, the
    argument and the reason)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("msg", ctypes.c_char * _ERRMSG_LEN)]


class Shape(ctypes.Structure):
    _fields_ = [(f, _i64) for f in ("B", "H", "n", "m", "d", "dv")]


class Attn(ctypes.Structure):
    _fields_ = [
        ("shape", Shape),
        ("scale", ctypes.c_double),
        ("causal", ctypes.c_int),
        ("q", _dp),
        ("k", _dp),
        ("v", _dp),
        ("dout", _dp),
    ]


class Grads(ctypes.Structure):
    _fields_ = [(f, _dp) for f in ("o", "lse", "dq", "dk", "dv")]


class Mask(ctypes.Structure):
    _fields_ = [
        ("rows", _i64),
        ("nnz", _i64),
        ("indptr", _i64p),
        ("indices", _i64p),
        ("wtilde", _dp),
    ]


class Cert(ctypes.Structure):
    _fields_ = [
        ("uncertain", ctypes.c_size_t),
        ("first_name", ctypes.c_char_p),
        ("first_index", ctypes.c_size_t),
    ]


class Moments(ctypes.Structure):
    _fields_ = [
        ("mean", Grads),
        ("var", Grads),
        ("nnz_row", _dp),
        ("nnz_total", ctypes.c_double),
    ]


class CheckOpts(ctypes.Structure):
    _fields_ = [
        ("rule", ctypes.c_void_p),
        ("c", ctypes.c_double),
        ("u", ctypes.c_double),
        ("canonical", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("prec", ctypes.c_long),
    ]


class CheckElem(ctypes.Structure):
    _fields_ = [
        ("index", ctypes.c_size_t),
        ("port", ctypes.c_double),
        ("oracle", ctypes.c_double),
        ("bound", ctypes.c_double),
        ("ratio", ctypes.c_double),
    ]


class CheckStats(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_size_t),
        ("failed", ctypes.c_size_t),
        ("nworst", ctypes.c_size_t),
        ("worst", CheckElem * CHECK_WORST),
    ]


class CheckEntry(ctypes.Structure):
    _fields_ = [
        ("b", _i64),
        ("h", _i64),
        ("i", _i64),
        ("j", _i64),
        ("port_kept", ctypes.c_int),
        ("u", ctypes.c_double),
        ("q", ctypes.c_double),
        ("band", ctypes.c_double),
    ]


class CheckReport(ctypes.Structure):
    _fields_ = [
        ("pass_", ctypes.c_int),
        ("mask_ok", ctypes.c_int),
        ("mask_msg", ctypes.c_char * _ERRMSG_LEN),
        ("tau", ctypes.c_double),
        ("k", ctypes.c_double),
        ("u", ctypes.c_double),
        ("uncertain", ctypes.c_size_t),
        ("part", CheckStats * CHECK_PARTS),
        ("canon_same", _i64),
        ("canon_borderline", _i64),
        ("canon_mismatch", _i64),
        ("nborderline", ctypes.c_size_t),
        ("nmismatch", ctypes.c_size_t),
        ("borderline", CheckEntry * CHECK_LISTED),
        ("mismatch", CheckEntry * CHECK_LISTED),
    ]


_P = ctypes.POINTER
_E = _P(Error)
_SIGNATURES = {
    "sus_version": (ctypes.c_char_p, []),
    "sus_ref_grad": (ctypes.c_int, [_P(Attn), _P(Grads), _E]),
    "sus_ref_grad_mag": (ctypes.c_int, [_P(Attn), _P(Grads), _E]),
    "sus_mpfr_grad": (
        ctypes.c_int,
        [_P(Attn), ctypes.c_long, _P(Grads), _P(Grads), _P(Cert), _E],
    ),
    "sus_bound_k": (ctypes.c_double, [_P(Shape)]),
    "sus_default_scale": (ctypes.c_double, [_i64]),
    "sus_canonical_uniforms": (ctypes.c_int, [ctypes.c_uint64, _P(Shape), _dp, _E]),
    "sus_rule_find": (ctypes.c_void_p, [ctypes.c_char_p]),
    "sus_ref_mask": (
        ctypes.c_int,
        [_P(Attn), ctypes.c_void_p, ctypes.c_double, ctypes.c_uint64, _P(Mask), _E],
    ),
    "sus_mask_free": (None, [_P(Mask)]),
    "sus_mask_check": (ctypes.c_int, [_P(Mask), _P(Shape), ctypes.c_int, _E]),
    "sus_ref_estimate": (ctypes.c_int, [_P(Attn), _P(Mask), _P(Grads), _E]),
    "sus_ref_estimate_mag": (ctypes.c_int, [_P(Attn), _P(Mask), _P(Grads), _E]),
    "sus_mpfr_moments": (
        ctypes.c_int,
        [_P(Attn), ctypes.c_void_p, ctypes.c_double, ctypes.c_long, _P(Moments), _E],
    ),
    "sus_check_port": (
        ctypes.c_int,
        [_P(Attn), _P(Mask), _dp, _dp, _dp, _P(CheckOpts), _P(CheckReport), _E],
    ),
}


def _candidates():
    env = os.environ.get("SUS_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    # an installed copy next to the package; else the checkout's build/
    return [
        os.path.join(here, "libsus.so"),
        os.path.join(here, os.pardir, os.pardir, "build", "libsus.so"),
    ]


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            lib = ctypes.CDLL(os.path.abspath(path))
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype = res
                fn.argtypes = args
            return lib
        tried.append(path)
    raise OSError(
        "susref: libsus.so not found (tried %s); run `make` in the sus checkout, or set "
        "SUS_LIB to the library's path" % ", ".join(tried)
    )


lib = _load()


def call(fn, *args):
    """Calls a libsus function whose last argument is a sus_error * and raises
    SusError with the library's message on failure."""
    err = Error()
    rc = fn(*args, ctypes.byref(err))
    if rc != 0:
        raise SusError(rc, err.msg.decode("utf-8", "replace"))
    return rc


def rule_ptr(name):
    """The sus_rule * of a rule name; ValueError for an unknown one."""
    if not isinstance(name, str):
        raise TypeError("rule must be a string such as 'minc' or 'waterfill'")
    p = lib.sus_rule_find(name.encode())
    if not p:
        raise ValueError("unknown rule %r; valid rules: minc, waterfill" % name)
    return p
