#!/usr/bin/python3
"""Cross-check `sus grad` (MPFR, 256 bits) against PyTorch float64 autograd.

For each case: random float64 inputs (fixed seed) are written as .npy, `sus
grad --mag` computes O, lse, dQ, dK, dV and their magnitudes, and PyTorch
computes the same by autograd through attention written in torch ops (torch
1.13 has no `scale` argument in its SDPA). Every element must satisfy the
DESIGN.md section 3 bound |torch - sus| <= tau * k * u * mag, with tau = 4,
k = n + m + d + dv + 10, u = 2^-53. For default-scale cases PyTorch's own
scaled_dot_product_attention is checked the same way.

Run by `make check` as /usr/bin/python3 tests/torch_crosscheck.py --sus build/sus.
It never skips: without torch or numpy it fails.
"""

import argparse
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - the environment's fault
    print(
        f"torch_crosscheck: FAILED: cannot import {e.name} ({e}); install Debian's "
        "python3-numpy and python3-torch and run with /usr/bin/python3",
        file=sys.stderr,
    )
    sys.exit(1)

TAU = 4.0
U = 2.0**-53
SEED = 20250515


class Case:
    def __init__(self, name, B, H, n, m, d, dv, causal, scale=None, rank=4):
        self.name, self.causal, self.scale, self.rank = name, causal, scale, rank
        self.B, self.H, self.n, self.m, self.d, self.dv = B, H, n, m, d, dv

    def k(self):
        return self.n + self.m + self.d + self.dv + 10


CASES = [
    Case("B2 H3 n=m=64 d=dv=32 causal", 2, 3, 64, 64, 32, 32, True),
    Case("causal n<m", 1, 2, 7, 19, 8, 8, True),
    Case("causal n>m", 2, 1, 19, 7, 8, 8, True),
    Case("dv!=d 2-D", 1, 1, 17, 23, 12, 5, False, rank=2),
    Case("custom scale causal", 1, 2, 9, 9, 6, 4, True, scale=0.731),
    Case("n=1", 2, 2, 1, 13, 7, 3, False),
    Case("m=1 causal", 1, 3, 6, 1, 4, 9, True),
]


def sdpa(q, k, v, causal):
    """PyTorch's own attention (default scale), or None if it has none."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    if hasattr(F, "_scaled_dot_product_attention"):  # torch 1.13
        return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, causal)[0]
    return None


def explicit(q, k, v, scale, causal):
    """Attention in plain torch ops; also returns lse."""
    s = (q @ k.transpose(-1, -2)) * scale
    if causal:
        n, m = s.shape[-2], s.shape[-1]
        keep = torch.ones(n, m, dtype=torch.bool).tril()  # is_causal: j <= i
        s = s.masked_fill(~keep, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)
    return torch.softmax(s, dim=-1) @ v, lse


def torch_grads(fwd, q, k, v, do):
    q, k, v = (t.clone().requires_grad_(True) for t in (q, k, v))
    res = fwd(q, k, v)
    o = res[0] if isinstance(res, tuple) else res
    o.backward(do)
    out = {"O": o.detach(), "dQ": q.grad, "dK": k.grad, "dV": v.grad}
    if isinstance(res, tuple):
        out["lse"] = res[1].detach()
    return out


def compare(label, got, sus, mag, k):
    """Section 3 bound on every element; returns a list of failure strings."""
    fails = []
    for key, t in got.items():
        x = t.numpy()
        if x.shape != sus[key].shape:
            fails.append(f"{label} {key}: shape {x.shape} != sus {sus[key].shape}")
            continue
        diff = np.abs(x - sus[key])
        bound = TAU * k * U * mag[key]
        bad = ~(diff <= bound)
        if bad.any():
            idx = np.unravel_index(np.argmax(np.where(bad, diff - bound, -np.inf)), x.shape)
            fails.append(
                f"{label} {key}: {int(bad.sum())} elements outside the bound, e.g. "
                f"{key}{list(idx)}: torch {x[idx]!r} sus {sus[key][idx]!r} "
                f"|diff| {diff[idx]:.3g} > {bound[idx]:.3g}"
            )
    return fails


def run_case(sus_bin, case, rng, tmp):
    lead = (case.B, case.H) if case.rank == 4 else ()
    if case.rank == 2:
        assert case.B == case.H == 1
    shapes = {
        "Q": lead + (case.n, case.d),
        "K": lead + (case.m, case.d),
        "V": lead + (case.m, case.dv),
        "dO": lead + (case.n, case.dv),
    }
    arrays = {key: rng.standard_normal(s) for key, s in shapes.items()}
    indir = os.path.join(tmp, "in")
    outdir = os.path.join(tmp, "out")
    os.makedirs(indir)
    for key, a in arrays.items():
        np.save(os.path.join(indir, key + ".npy"), a)
    cmd = [sus_bin, "grad", "--mag", "--out", outdir]
    for key, opt in (("Q", "--q"), ("K", "--k"), ("V", "--v"), ("dO", "--do")):
        cmd += [opt, os.path.join(indir, key + ".npy")]
    if case.causal:
        cmd.append("--causal")
    if case.scale is not None:
        cmd += ["--scale", repr(case.scale)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return [f"sus exited {p.returncode}: {p.stderr.strip()}"], ""
    names = ("O", "lse", "dQ", "dK", "dV")
    sus = {x: np.load(os.path.join(outdir, x + ".npy")) for x in names}
    mag = {x: np.load(os.path.join(outdir, x + "_mag.npy")) for x in names}

    # Torch works on 4-D tensors; 2-D cases are lifted and squeezed back.
    def t4(a):
        t = torch.from_numpy(a)
        return t.reshape((1, 1) + t.shape) if case.rank == 2 else t

    q, k, v, do = (t4(arrays[x]) for x in ("Q", "K", "V", "dO"))
    scale = case.scale if case.scale is not None else 1.0 / np.sqrt(case.d)

    def squeeze(d):
        return {x: (t.reshape(t.shape[2:]) if case.rank == 2 else t) for x, t in d.items()}

    got = squeeze(torch_grads(lambda a, b, c: explicit(a, b, c, scale, case.causal), q, k, v, do))
    fails = compare("explicit", got, sus, mag, case.k())
    note = ""
    if p.stderr.strip():
        note += " [sus: " + p.stderr.strip().splitlines()[0].removeprefix("sus grad: ") + "]"
    if case.scale is None:
        if sdpa(q, k, v, case.causal) is None:
            fails.append("torch has no scaled_dot_product_attention")
        else:
            got = squeeze(torch_grads(lambda a, b, c: sdpa(a, b, c, case.causal), q, k, v, do))
            fails += compare("sdpa", got, sus, mag, case.k())
            note = " +sdpa" + note
    return fails, note


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sus", required=True, help="path of the sus binary")
    args = ap.parse_args()
    sus_bin = os.path.abspath(args.sus)
    if not os.access(sus_bin, os.X_OK):
        print(f"torch_crosscheck: FAILED: {args.sus} is not an executable", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    passed = failed = 0
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="sus_torch_") as tmp:
            try:
                fails, note = run_case(sus_bin, case, rng, tmp)
            except Exception as e:  # report, count, and go on with the others
                fails, note = [f"{type(e).__name__}: {e}"], ""
        shape = f"B={case.B} H={case.H} n={case.n} m={case.m} d={case.d} dv={case.dv}"
        if fails:
            failed += 1
            print(f"FAIL {case.name} ({shape})")
            for f in fails:
                print(f"     {f}")
        else:
            passed += 1
            print(f"ok   {case.name} ({shape}){note}")
    print(f"torch_crosscheck: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
