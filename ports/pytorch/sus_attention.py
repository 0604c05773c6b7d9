"""SUS attention for PyTorch: an exact forward and a sparse, unbiased SUS
backward (Pankov & Harik, arXiv 2505.15080; the sus project's DESIGN.md 2).

    O = sus_attention(q, k, v, c=8.0, causal=True)             # own torch RNG
    O = sus_attention(q, k, v, c=8.0, canonical_seed=7)        # the oracle's mask
    O, mask = sus_attention(q, k, v, c=8.0, return_mask=True)  # and the CSR

q [B, H, n, d], k [B, H, m, d], v [B, H, m, dv] (or the 2-D [n, d] forms).
The forward is exact attention. It also draws one mask: entry (i, j) is kept
with probability q_ij = min(1, c W_ij) (the minc rule) and carries
W~ = W/q = max(W, 1/c). The backward uses only the kept entries:
D_i = dO_i . O_i from the exact output, then for each kept (i, j)
t = W~ (dO_i . V_j - D_i), dQ_i += s t K_j, dK_j += s t Q_i, dV_j += W~ dO_i,
by gathers and index_add_, in O(nnz (d + dv)) time.

The uniforms come from a torch.Generator (generator=, on the tensors'
device), or, with canonical_seed, from the canonical Philox4x32-10 stream of
DESIGN.md 2.4, so that the mask is the oracle's up to borderline entries (q
computed in the tensors' dtype). Every tensor is created on the inputs'
device: the same code runs on CPU and CUDA.
"""

import math

import torch

MASK32 = 0xFFFFFFFF
_MUL = (0xD2511F53, 0xCD9E8D57)
_WEYL = (0x9E3779B9, 0xBB67AE85)


def _mulhilo(a, x):
    """(hi, lo) 32-bit words of the 64-bit product of the constant a and the
    int64 tensor x (values in [0, 2^32)), without overflowing int64: x is
    split into 16-bit halves, so every partial product is below 2^49."""
    lo_part = a * (x & 0xFFFF)
    hi_part = a * (x >> 16)
    low_sum = lo_part + ((hi_part & 0xFFFF) << 16)
    return (hi_part >> 16) + (low_sum >> 32), low_sum & MASK32


def philox4x32_10(ctr, key):
    """Philox4x32-10 (Salmon et al., SC'11) on int64 tensors holding 32-bit
    words: ctr a list of four tensors, key a pair of Python ints."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for r in range(10):
        rk0 = (k0 + r * _WEYL[0]) & MASK32
        rk1 = (k1 + r * _WEYL[1]) & MASK32
        hi0, lo0 = _mulhilo(_MUL[0], c0)
        hi1, lo1 = _mulhilo(_MUL[1], c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ rk0, lo1, hi0 ^ c3 ^ rk1, lo0
    return c0, c1, c2, c3


def canonical_uniform(seed, b, h, i, j):
    """The canonical uniform u_ij of DESIGN.md 2.4 for int64 tensors b, h, i,
    j (broadcast together), as float64: key (seed mod 2^32, seed div 2^32),
    counter (j div 2, i, h, b), words (w0, w1) for even j and (w2, w3) for
    odd j, u = ((x >> 5) 2^26 + (y >> 6)) 2^-53."""
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError("canonical seed %d: must be in [0, 2^64)" % seed)
    b, h, i, j = torch.broadcast_tensors(b, h, i, j)
    w0, w1, w2, w3 = philox4x32_10([j >> 1, i, h, b], (seed & MASK32, seed >> 32))
    odd = (j & 1).bool()
    x = torch.where(odd, w2, w0)
    y = torch.where(odd, w3, w1)
    k = (x >> 5) * (1 << 26) + (y >> 6)  # < 2^53: exact in float64
    return k.to(torch.float64) * 2.0**-53


def canonical_uniforms(seed, B, H, n, m, device=None):
    """u_ij of every (b, h, i, j) of a problem, float64 [B, H, n, m]."""
    ar = [torch.arange(x, dtype=torch.int64, device=device) for x in (B, H, n, m)]
    return canonical_uniform(seed, ar[0].view(-1, 1, 1, 1), ar[1].view(1, -1, 1, 1),
                             ar[2].view(1, 1, -1, 1), ar[3].view(1, 1, 1, -1))


class Minc:
    """The minc rule and the backward's D, as DESIGN.md 2.2-2.3 state them.
    ports/pytorch/sus_attention_broken.py overrides one of them at a time."""

    @staticmethod
    def probs(W, c, allowed):
        """Keep probabilities q and the values W~ of kept entries."""
        if math.isinf(c):
            return allowed.to(W.dtype), W
        return torch.clamp(c * W, max=1.0), torch.clamp(W, min=1.0 / c)

    @staticmethod
    def row_d(dO, O, masked_output):
        """D_i = dO_i . O_i from the exact forward output. masked_output()
        would give the output of the kept entries only, sum_j W~_ij V_j; a D
        made from it squares the mask and biases the estimator."""
        del masked_output
        return (dO * O).sum(-1)


class _Function(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, c, causal, scale, generator, canonical_seed, impl):
        B, H, n, _ = q.shape
        m = k.shape[2]
        S = scale * torch.matmul(q, k.transpose(-1, -2))
        allowed = torch.ones(n, m, dtype=torch.bool, device=q.device)
        if causal:
            allowed = allowed.tril()
            S = S.masked_fill(~allowed, -math.inf)
        W = torch.softmax(S, dim=-1)
        O = torch.matmul(W, v)
        qp, wt = impl.probs(W, c, allowed.expand_as(W))
        if canonical_seed is not None:
            u = canonical_uniforms(canonical_seed, B, H, n, m, device=q.device)
        else:
            u = torch.rand(W.shape, generator=generator, dtype=torch.float64,
                           device=q.device)
        keep = (u < qp.to(torch.float64)) & allowed
        idx = keep.nonzero()  # row-major: ascending (b, h, i, j), CSR order
        wt_kept = wt[keep]
        ctx.save_for_backward(q, k, v, O, idx, wt_kept)
        ctx.scale = scale
        ctx.impl = impl
        ctx.mark_non_differentiable(idx, wt_kept)
        return O, idx, wt_kept

    @staticmethod
    def backward(ctx, dO, _didx, _dwt):
        q, k, v, O, idx, wt = ctx.saved_tensors
        B, H, n, d = q.shape
        m, dv = v.shape[2], v.shape[3]
        s = ctx.scale
        bh = idx[:, 0] * H + idx[:, 1]
        rq = bh * n + idx[:, 2]  # query rows of the kept entries
        rk = bh * m + idx[:, 3]  # their key rows
        qf, kf = q.reshape(-1, d), k.reshape(-1, d)
        vf, dOf = v.reshape(-1, dv), dO.reshape(-1, dv)
        dO_e = dOf[rq]
        D = ctx.impl.row_d(
            dOf, O.reshape(-1, dv),
            lambda: torch.zeros_like(dOf).index_add_(0, rq, wt[:, None] * vf[rk]))
        t = wt * ((dO_e * vf[rk]).sum(-1) - D[rq])
        dQ = torch.zeros_like(qf).index_add_(0, rq, (s * t)[:, None] * kf[rk])
        dK = torch.zeros_like(kf).index_add_(0, rk, (s * t)[:, None] * qf[rq])
        dV = torch.zeros_like(vf).index_add_(0, rk, wt[:, None] * dO_e)
        return (dQ.view_as(q), dK.view_as(k), dV.view_as(v), None, None, None, None, None,
                None)


class SUSMask:
    """One drawn mask as the CSR of DESIGN.md 4, on the inputs' device:
    indptr int64 [B*H*n + 1], indices int64 (key j, ascending in a row),
    wtilde (the W~ of each kept entry, in the inputs' dtype)."""

    def __init__(self, idx, wt, B, H, n):
        rows = (idx[:, 0] * H + idx[:, 1]) * n + idx[:, 2]
        counts = torch.bincount(rows, minlength=B * H * n)
        self.indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        self.indices = idx[:, 3].clone()
        self.wtilde = wt


def sus_attention(q, k, v, c, causal=False, scale=None, generator=None,
                  canonical_seed=None, return_mask=False, _impl=Minc):
    """SUS attention; see the module's docstring. c > 0 is the budget
    (math.inf: every entry kept, the exact gradient). scale defaults to
    1/sqrt(d). Returns O, or (O, SUSMask) with return_mask."""
    if not (c > 0):
        raise ValueError("c = %r: the budget must be > 0" % (c,))
    two_d = q.dim() == 2
    if two_d:
        q, k, v = (x[None, None] for x in (q, k, v))
    if q.dim() != 4:
        raise ValueError("q has shape %s: expected [n, d] or [B, H, n, d]"
                         % (tuple(q.shape),))
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    O, idx, wt = _Function.apply(q, k, v, float(c), bool(causal), float(scale),
                                 generator, canonical_seed, _impl)
    if two_d:
        O = O[0, 0]
    if return_mask:
        B, H, n = q.shape[:3]
        return O, SUSMask(idx, wt, B, H, n)
    return O
