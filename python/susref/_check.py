"""check(): one run of a port against the oracle (sus_check_port, the
library function behind `sus check`)."""

import collections
import os

import numpy as np

from . import _lib
from ._api import _seed
from ._arrays import CMask, Problem, as_f64, byref, ptr
from ._lib import call, lib

PARTS = ("W~", "dQ", "dK", "dV")

Element = collections.namedtuple("Element", "part index port oracle bound ratio")
Element.__doc__ = """One compared element: part ('W~', 'dQ', 'dK', 'dV'),
index (a tuple into the output's shape; for W~ the CSR entry), the port's
and the oracle's value, the bound and ratio = |port - oracle| / bound."""

Entry = collections.namedtuple("Entry", "b h i j port_kept u q band")
Entry.__doc__ = """An entry kept by only one of the port's and the
canonical mask: port_kept says which; u, q and the borderline band."""


class CheckReport:
    """The verdict of check(): `passed`, `failed` (the names of the failed
    checks: 'mask', 'W~', 'dQ', 'dK', 'dV', 'canonical'), `mask_message`
    (why the mask is malformed), per part `counts[part] = (compared,
    outside the bound)` and `worst[part]` (a list of Element, worst first),
    canonical counts `canon_same`, `canon_borderline`, `canon_mismatch` and
    the listed `borderline` and `mismatch` entries, and the bound's `tau`,
    `k`, `u`. str() gives the short report `sus check` prints."""

    def __init__(self, rep, prob, canonical):
        self.passed = bool(rep.pass_)
        self.mask_ok = bool(rep.mask_ok)
        self.mask_message = rep.mask_msg.decode("utf-8", "replace")
        self.tau, self.k, self.u = rep.tau, rep.k, rep.u
        self.uncertain = rep.uncertain
        self.counts, self.worst = {}, {}
        kinds = (None, "q", "k", "v")
        for p, name in enumerate(PARTS):
            st = rep.part[p]
            self.counts[name] = (st.count, st.failed)
            shape = prob.out_shape(kinds[p]) if kinds[p] else None
            self.worst[name] = [
                Element(name, np.unravel_index(e.index, shape) if shape else e.index,
                        e.port, e.oracle, e.bound, e.ratio)
                for e in st.worst[: st.nworst]]
        self.canonical = canonical
        self.canon_same = rep.canon_same
        self.canon_borderline = rep.canon_borderline
        self.canon_mismatch = rep.canon_mismatch

        def entries(arr, count):
            return [Entry(e.b, e.h, e.i, e.j, bool(e.port_kept), e.u, e.q, e.band)
                    for e in arr[:count]]

        self.borderline = entries(rep.borderline, rep.nborderline)
        self.mismatch = entries(rep.mismatch, rep.nmismatch)
        self.failed = ([] if self.mask_ok else ["mask"]) + [
            nm for nm in PARTS if self.counts[nm][1]] + (
            ["canonical"] if self.canon_mismatch else [])

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = ["sus check: PASS" if self.passed else
                 "sus check: FAIL (%s)" % ", ".join(self.failed)]
        if not self.mask_ok:
            return "\n".join(lines + ["mask: not well-formed: " + self.mask_message])
        if self.canonical:
            lines.append("canonical: %d kept by both, %d borderline, %d mismatched" % (
                self.canon_same, self.canon_borderline, self.canon_mismatch))
        for nm in PARTS:
            n, bad = self.counts[nm]
            w = self.worst[nm][0].ratio if self.worst[nm] else 0.0
            lines.append("%-3s %d compared, %d outside the bound, worst ratio %.3g: %s"
                         % (nm, n, bad, w, "FAIL" if bad else "ok"))
            if bad:
                for e in self.worst[nm][:3]:
                    lines.append("  %s%s  port %.17g  oracle %.17g  bound %.3g  ratio "
                                 "%.3g" % (nm, list(e.index) if nm != "W~" else
                                           [e.index], e.port, e.oracle, e.bound,
                                           e.ratio))
        return "\n".join(lines)


def _unit_roundoff(outs):
    return 2.0**-24 if any(np.asarray(o).dtype.itemsize < 8 for o in outs) else 2.0**-53


def check(q, k, v, do, indptr, indices, wtilde, dq, dk, dv, c, *, causal=False,
          scale=None, rule="minc", unit_roundoff=None, canonical_seed=None,
          prec=None):
    """Checks one run of a port against the oracle, as `sus check` does.

    The port used inputs q, k, v, do (2-D or 4-D, any float dtype), kept the
    entries of the CSR (indptr, indices, wtilde: its own W~ values) and
    produced dq, dk, dv. It checks that the mask is well-formed, that every
    W~ is the rule's for budget c, that every output element equals the
    oracle's estimate under the port's mask within the DESIGN.md 3 bound for
    unit_roundoff (default: 2^-24 if any output is float32 or narrower, else
    2^-53; give 2.0**-8 for bfloat16) and, with canonical_seed, that the
    kept set is the canonical mask of that seed up to borderline entries.
    prec: MPFR bits of the oracle, or 0 for the double reference (default:
    256 when unit_roundoff < 2^-24, else 0). Returns a CheckReport, true
    when the port passed. Bad arguments raise ValueError, TypeError or
    SusError; a failing port does not raise.
    """
    p = Problem(q, k, v, do, causal, scale)
    cm = CMask(indptr, indices, wtilde)
    cm.check_rows(p)
    outs = [as_f64(x, nm) for x, nm in ((dq, "dq"), (dk, "dk"), (dv, "dv"))]
    for x, nm, kind in zip(outs, ("dq", "dk", "dv"), ("q", "k", "v")):
        if x.shape != p.out_shape(kind):
            raise ValueError("%s has shape %s: expected %s from the inputs' shapes" % (
                nm, x.shape, p.out_shape(kind)))
    u = float(unit_roundoff) if unit_roundoff is not None else _unit_roundoff(
        (dq, dk, dv))
    if prec is None:
        prec = 256 if u < 2.0**-24 else 0
    seed = 0 if canonical_seed is None else _seed(canonical_seed)
    opts = _lib.CheckOpts(_lib.rule_ptr(rule), float(c), u, canonical_seed is not None,
                          seed, int(prec))
    rep = _lib.CheckReport()
    call(lib.sus_check_port, byref(p.attn), byref(cm.c), ptr(outs[0]), ptr(outs[1]),
         ptr(outs[2]), byref(opts), byref(rep))
    return CheckReport(rep, p, canonical_seed is not None)


def check_dir(path, c, **kwargs):
    """check() on a port directory (DESIGN.md 4: Q.npy K.npy V.npy dO.npy,
    indptr.npy indices.npy wtilde.npy, dQ.npy dK.npy dV.npy); keyword
    arguments as for check()."""
    names = ("Q", "K", "V", "dO", "indptr", "indices", "wtilde", "dQ", "dK", "dV")
    arrs = [np.load(os.path.join(path, nm + ".npy")) for nm in names]
    return check(*arrs, c, **kwargs)


__all__ = ["check", "check_dir", "CheckReport", "Element", "Entry"]
