"""Turning numpy inputs into the C problem (sus_attn), with shape and dtype
checks, and C buffers back into numpy arrays of the inputs' rank."""

import ctypes
import math

import numpy as np

from . import _lib


def as_f64(x, name):
    """A C-contiguous float64 copy (or the array itself when it already is
    one): non-contiguous or other float inputs are converted, never
    misread. Non-float arrays are refused."""
    a = np.asarray(x)
    if a.dtype.kind != "f":
        raise TypeError("%s: dtype %s is not a float dtype" % (name, a.dtype))
    return np.ascontiguousarray(a, dtype=np.float64)


def ptr(a):
    return a.ctypes.data_as(_lib._dp) if a is not None else None


def i64(x, name):
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError("%s: dtype %s is not an integer dtype" % (name, a.dtype))
    if a.ndim != 1:
        raise ValueError("%s has shape %s: expected 1 dimension" % (name, a.shape))
    return np.ascontiguousarray(a, dtype=np.int64)


class Problem:
    """Q, K (and V, dO) as float64 C arrays, 2-D ([n, d], B = H = 1) or 4-D
    ([B, H, n, d]), and the sus_attn that points at them. Keeps the arrays
    alive for as long as the struct is used."""

    def __init__(self, q, k, v=None, do=None, causal=False, scale=None):
        arrs = [as_f64(q, "q"), as_f64(k, "k")]
        if (v is None) != (do is None):
            raise ValueError("give both v and do, or neither")
        if v is not None:
            arrs += [as_f64(v, "v"), as_f64(do, "do")]
        names = ["q", "k", "v", "do"][: len(arrs)]
        rank = arrs[0].ndim
        if rank not in (2, 4):
            raise ValueError("q has shape %s: expected [n, d] or [B, H, n, d]"
                             % (arrs[0].shape,))
        for a, nm in zip(arrs, names):
            if a.ndim != rank:
                raise ValueError("%s has shape %s but q has shape %s: all inputs must "
                                 "have the same number of dimensions"
                                 % (nm, a.shape, arrs[0].shape))
            if 0 in a.shape:
                raise ValueError("%s has shape %s: every dimension must be at least 1"
                                 % (nm, a.shape))
        s4 = [a.shape if rank == 4 else (1, 1) + a.shape for a in arrs]
        B, H, n, d = s4[0]
        m = s4[1][2]
        dv = s4[2][3] if v is not None else 1
        want = {"k": (B, H, m, d), "v": (B, H, m, dv), "do": (B, H, n, dv)}
        for nm, s in zip(names[1:], s4[1:]):
            if s != want[nm]:
                raise ValueError("%s has shape %s, inconsistent with q %s%s" % (
                    nm, tuple(s[4 - rank:]), arrs[0].shape,
                    " and v %s" % (arrs[2].shape,) if nm == "do" else ""))
        self.rank = rank
        self.arrays = arrs
        self.dims = (B, H, n, m, d, dv)
        self.causal = bool(causal)
        if scale is None:
            scale = _lib.lib.sus_default_scale(d)
        scale = float(scale)
        if not math.isfinite(scale):
            raise ValueError("scale %r: must be finite" % scale)
        self.scale = scale
        self.shape = _lib.Shape(*self.dims)
        ps = [ptr(a) for a in arrs] + [None] * (4 - len(arrs))
        self.attn = _lib.Attn(self.shape, scale, int(self.causal), *ps)

    def out_shape(self, kind):
        """The shape of an output in the inputs' rank: kind is one of
        'q' [n, d], 'k' [m, d], 'v' [m, dv], 'o' [n, dv], 'rows' [n],
        'scores' [n, m]."""
        B, H, n, m, d, dv = self.dims
        tail = {"q": (n, d), "k": (m, d), "v": (m, dv), "o": (n, dv), "rows": (n,),
                "scores": (n, m)}[kind]
        return tail if self.rank == 2 else (B, H) + tail

    def zeros(self, kind):
        return np.zeros(self.out_shape(kind), dtype=np.float64)

    def grads(self):
        """Zeroed O, lse, dQ, dK, dV and the sus_grads pointing at them."""
        arrs = {nm: self.zeros(kind) for nm, kind in
                (("O", "o"), ("lse", "rows"), ("dQ", "q"), ("dK", "k"), ("dV", "v"))}
        g = _lib.Grads(*(ptr(arrs[nm]) for nm in ("O", "lse", "dQ", "dK", "dV")))
        return arrs, g


class CMask:
    """A mask given as numpy arrays, as the sus_mask the C code reads (the
    arrays are kept alive here)."""

    def __init__(self, indptr, indices, wtilde):
        self.indptr = i64(indptr, "indptr")
        self.indices = i64(indices, "indices")
        self.wtilde = as_f64(wtilde, "wtilde")
        if self.wtilde.ndim != 1:
            raise ValueError("wtilde has shape %s: expected 1 dimension"
                             % (self.wtilde.shape,))
        if len(self.indices) != len(self.wtilde):
            raise ValueError("indices has %d entries but wtilde has %d: both must have "
                             "nnz" % (len(self.indices), len(self.wtilde)))
        if len(self.indptr) < 1:
            raise ValueError("indptr is empty: it needs B*H*n + 1 entries")
        nnz = len(self.indices)
        self.c = _lib.Mask(len(self.indptr) - 1, nnz,
                           self.indptr.ctypes.data_as(_lib._i64p),
                           self.indices.ctypes.data_as(_lib._i64p),
                           ptr(self.wtilde))

    def check_rows(self, prob):
        B, H, n = prob.dims[:3]
        if len(self.indptr) != B * H * n + 1:
            raise ValueError("indptr has %d entries: expected B*H*n + 1 = %d"
                             % (len(self.indptr), B * H * n + 1))


def copy_mask(mk):
    """numpy copies of a C-owned sus_mask's arrays."""
    rows, nnz = mk.rows, mk.nnz
    indptr = np.ctypeslib.as_array(mk.indptr, shape=(rows + 1,)).copy()
    if nnz:
        indices = np.ctypeslib.as_array(mk.indices, shape=(nnz,)).copy()
        wtilde = np.ctypeslib.as_array(mk.wtilde, shape=(nnz,)).copy()
    else:
        indices = np.zeros(0, np.int64)
        wtilde = np.zeros(0, np.float64)
    return indptr, indices, wtilde


def byref(x):
    return ctypes.byref(x)
