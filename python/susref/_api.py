"""The oracle's computations: exact gradients, canonical uniforms and masks,
one estimate under a mask, exact moments and the DESIGN.md 3 bounds."""

import collections

import numpy as np

from . import _lib
from ._arrays import CMask, Problem, byref, copy_mask, ptr
from ._lib import call, lib

Mask = collections.namedtuple("Mask", "indptr indices wtilde")
Mask.__doc__ = """A mask as one CSR over the B*H*n query rows, row
r = (b*H + h)*n + i (DESIGN.md 4): indptr int64 [B*H*n + 1], indices int64
(key j, ascending in a row), wtilde float64 (the W~ of each kept entry)."""


def _budget(c):
    c = float(c)
    if not c > 0:
        raise ValueError("c = %r: the budget must be > 0 (math.inf for q = 1)" % c)
    return c


def _seed(seed):
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise ValueError("seed %r: must be an integer in [0, 2^64)" % (seed,))
    return int(seed)


def exact_grad(q, k, v, do, *, causal=False, scale=None, prec=256, mag=False):
    """The exact forward and gradient of attention (DESIGN.md 2.1).

    q [n, d] or [B, H, n, d], k [.., m, d], v [.., m, dv], do [.., n, dv]: any
    float dtype, converted to float64. prec=0 uses the double reference;
    otherwise MPFR at prec bits with certified rounding (each result is the
    double nearest the exact value; 'uncertain' counts the elements whose
    rounding could not be certified). Returns a dict of float64 arrays O,
    lse, dQ, dK, dV (and O_mag, ..., dV_mag with mag=True: the magnitudes
    |y|_mag of DESIGN.md 3), plus 'uncertain'.
    """
    p = Problem(q, k, v, do, causal, scale)
    out, g = p.grads()
    magd, gm = p.grads() if mag else ({}, None)
    uncertain = 0
    if prec == 0:
        call(lib.sus_ref_grad, byref(p.attn), byref(g))
        if mag:
            call(lib.sus_ref_grad_mag, byref(p.attn), byref(gm))
    else:
        cert = _lib.Cert()
        call(lib.sus_mpfr_grad, byref(p.attn), int(prec), byref(g),
             byref(gm) if mag else None, byref(cert))
        uncertain = cert.uncertain
    out.update({nm + "_mag": a for nm, a in magd.items()})
    out["uncertain"] = uncertain
    return out


def bounds(q, k, v, do, *, mask=None, causal=False, scale=None,
           unit_roundoff=2.0**-24):
    """The DESIGN.md 3 bound tau*k*u*|y|_mag of every element of dQ, dK, dV.

    Without mask: for the exact gradient; with mask (a Mask or a tuple
    (indptr, indices, wtilde)): for the estimator under that mask. An
    implementation working in unit roundoff u passes on element y iff
    |y_impl - y_exact| <= bound. Returns a dict dQ, dK, dV of float64 arrays,
    plus the constants tau, k and u.
    """
    p = Problem(q, k, v, do, causal, scale)
    u = float(unit_roundoff)
    if not 0 < u < 1:
        raise ValueError("unit_roundoff %r: must be in (0, 1)" % u)
    out, g = p.grads()
    if mask is None:
        call(lib.sus_ref_grad_mag, byref(p.attn), byref(g))
    else:
        cm = CMask(*mask)
        cm.check_rows(p)
        call(lib.sus_ref_estimate_mag, byref(p.attn), byref(cm.c), byref(g))
    kk = lib.sus_bound_k(byref(p.shape))
    res = {nm: _lib.TAU * kk * u * out[nm] for nm in ("dQ", "dK", "dV")}
    res.update(tau=_lib.TAU, k=kk, u=u)
    return res


def canonical_uniforms(seed, B, H, n, m):
    """The canonical uniforms u_ij of DESIGN.md 2.4 (Philox4x32-10 of
    (seed, b, h, i, j)) as a float64 array [B, H, n, m]."""
    shape = _lib.Shape(int(B), int(H), int(n), int(m), 1, 1)
    u = np.zeros((int(B), int(H), int(n), int(m)), dtype=np.float64)
    call(lib.sus_canonical_uniforms, _seed(seed), byref(shape), ptr(u))
    return u


def mask(q, k, c, seed, *, causal=False, scale=None, rule="minc"):
    """The canonical mask (DESIGN.md 2.4) of budget c (math.inf allowed) and
    seed for Q and K: entry (i, j) is kept iff u_ij < q_ij, q the rule's keep
    probability from the double reference's W. Returns a Mask."""
    p = Problem(q, k, causal=causal, scale=scale)
    mk = _lib.Mask()
    call(lib.sus_ref_mask, byref(p.attn), _lib.rule_ptr(rule), _budget(c), _seed(seed),
         byref(mk))
    try:
        return Mask(*copy_mask(mk))
    finally:
        lib.sus_mask_free(byref(mk))


_canonical = mask  # sample's `mask` argument hides the function


def sample(q, k, v, do, *, mask=None, c=None, seed=None, causal=False, scale=None,
           rule="minc", mag=False):
    """One SUS estimate dQ~, dK~, dV~ (DESIGN.md 2.2) in double, with D from
    the exact forward: under the given mask (a Mask or (indptr, indices,
    wtilde)), or under the canonical mask of c and seed. Returns a dict dQ,
    dK, dV, 'mask' (the Mask used) and, with mag=True, dQ_mag, dK_mag,
    dV_mag."""
    if (mask is None) == (c is None or seed is None):
        raise ValueError("give either mask, or both c and seed")
    if mask is None:
        mask = _canonical(q, k, c, seed, causal=causal, scale=scale, rule=rule)
    p = Problem(q, k, v, do, causal, scale)
    cm = CMask(*mask)
    cm.check_rows(p)
    out, g = p.grads()
    call(lib.sus_ref_estimate, byref(p.attn), byref(cm.c), byref(g))
    res = {nm: out[nm] for nm in ("dQ", "dK", "dV")}
    if mag:
        magd, gm = p.grads()
        call(lib.sus_ref_estimate_mag, byref(p.attn), byref(cm.c), byref(gm))
        res.update({nm + "_mag": magd[nm] for nm in ("dQ", "dK", "dV")})
    res["mask"] = Mask(cm.indptr, cm.indices, cm.wtilde)
    return res


def moments(q, k, v, do, c, *, causal=False, scale=None, rule="minc", prec=256):
    """The exact mean and variance of the SUS estimator (DESIGN.md 2.5),
    computed in MPFR at prec bits and rounded to double. Returns a dict:
    mean_dQ, mean_dK, mean_dV (= the exact gradient), var_dQ, var_dK, var_dV,
    nnz (the expected kept count of each query row, [n] or [B, H, n]) and
    nnz_total (their sum)."""
    p = Problem(q, k, v, do, causal, scale)
    mean, gmean = p.grads()
    var, gvar = p.grads()
    nnz = p.zeros("rows")
    mo = _lib.Moments(gmean, _lib.Grads(None, None, gvar.dq, gvar.dk, gvar.dv),
                      ptr(nnz), 0.0)
    call(lib.sus_mpfr_moments, byref(p.attn), _lib.rule_ptr(rule), _budget(c),
         int(prec), byref(mo))
    res = {"mean_" + nm: mean[nm] for nm in ("dQ", "dK", "dV")}
    res.update({"var_" + nm: var[nm] for nm in ("dQ", "dK", "dV")})
    res["nnz"] = nnz
    res["nnz_total"] = mo.nnz_total
    return res


def version():
    """The version of the loaded libsus."""
    return lib.sus_version().decode()


__all__ = ["Mask", "exact_grad", "bounds", "canonical_uniforms", "mask", "sample",
           "moments", "version"]
