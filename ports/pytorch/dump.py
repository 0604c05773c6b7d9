#!/usr/bin/python3
"""Run the PyTorch port of SUS attention on random inputs and write a port
directory (the sus project's DESIGN.md 4) for `sus check` and
`sus report --port`.

  one run (for sus check):
    Q.npy K.npy V.npy dO.npy          the inputs as the port used them
    indptr.npy indices.npy wtilde.npy  its mask: int64, int64, float64
    dQ.npy dK.npy dV.npy              its gradients
  --runs N (for sus report --port): the inputs, and
    dQ.npy dK.npy dV.npy              N runs stacked on a new leading axis
  --runs N --moments: the inputs, and instead of the stacked runs
    dQ.mean.npy dQ.m2.npy ...         Welford running mean and sum of squared
                                      deviations per element (float64)
    count.npy                         N, an int64 scalar

Arrays are 4-D [B, H, n, d]. float32 and bfloat16 runs are written as
float32 (bfloat16 values are exact in float32; check them with
--unit-roundoff 0.00390625), float64 runs as float64. Each run draws a new
mask: from one torch.Generator seeded with --rng-seed, or with --canonical
SEED the canonical mask of SEED (run r of N uses SEED + r). The last line
printed is the `sus check` command for the directory.

Usage: /usr/bin/python3 ports/pytorch/dump.py --out DIR --shape B H n m d dv
           --c C [--causal] [--scale S] [--dtype f32|f64|bf16] [--device DEV]
           [--inputs-seed N] [--canonical SEED | --rng-seed N]
           [--runs N [--moments]] [--broken d-masked|no-cap]
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sus_attention import sus_attention  # noqa: E402
from sus_attention_broken import broken_attention  # noqa: E402

DTYPES = {"f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16}
UNIT = {"f32": 2.0**-24, "f64": 2.0**-53, "bf16": 2.0**-8}


def to_numpy(x):
    """float64 stays float64; float32 and bfloat16 become float32 (exactly)."""
    x = x.detach()
    if x.dtype != torch.float64:
        x = x.to(torch.float32)
    return x.cpu().numpy()


def make_inputs(shape, dtype, device, seed):
    """Standard normal Q, K, V, dO from a CPU generator (the same values on
    every device), rounded to dtype."""
    B, H, n, m, d, dv = shape
    g = torch.Generator().manual_seed(seed)
    sizes = ((B, H, n, d), (B, H, m, d), (B, H, m, dv), (B, H, n, dv))
    return [torch.randn(s, generator=g, dtype=torch.float64).to(dtype).to(device)
            for s in sizes]


def one_run(inputs, args, generator, canonical_seed):
    q, k, v, do = [x.clone().requires_grad_(i < 3) for i, x in enumerate(inputs)]
    kw = dict(c=args.c, causal=args.causal, scale=args.scale, generator=generator,
              canonical_seed=canonical_seed, return_mask=True)
    if args.broken:
        O, mask = broken_attention(args.broken, q, k, v, **kw)
    else:
        O, mask = sus_attention(q, k, v, **kw)
    O.backward(do)
    return [q.grad, k.grad, v.grad], mask


class Welford:
    """Per-element running mean and M2 in float64 (Welford's update)."""

    def __init__(self):
        self.count, self.mean, self.m2 = 0, None, None

    def add(self, x):
        x = x.astype(np.float64)
        self.count += 1
        if self.mean is None:
            self.mean, self.m2 = x.copy(), np.zeros_like(x)
            return
        delta = x - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (x - self.mean)


def save(out, name, arr):
    """Written atomically, so that a killed dump leaves no half file."""
    tmp = os.path.join(out, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, os.path.join(out, name))


def dump(args):
    dtype = DTYPES[args.dtype]
    device = torch.device(args.device)
    os.makedirs(args.out, exist_ok=True)
    inputs = make_inputs(args.shape, dtype, device, args.inputs_seed)
    for name, x in zip(("Q", "K", "V", "dO"), inputs):
        save(args.out, name + ".npy", to_numpy(x))
    gen = None
    if args.canonical is None:
        gen = torch.Generator(device=device).manual_seed(args.rng_seed)
    names = ("dQ", "dK", "dV")
    stacked = {nm: [] for nm in names}
    moments = {nm: Welford() for nm in names}
    for r in range(args.runs):
        seed = None if args.canonical is None else (args.canonical + r) % 2**64
        grads, mask = one_run(inputs, args, gen, seed)
        for nm, g in zip(names, grads):
            if args.moments:
                moments[nm].add(to_numpy(g))
            else:
                stacked[nm].append(to_numpy(g))
        if args.runs == 1:
            save(args.out, "indptr.npy", mask.indptr.cpu().numpy().astype(np.int64))
            save(args.out, "indices.npy", mask.indices.cpu().numpy().astype(np.int64))
            save(args.out, "wtilde.npy",
                 mask.wtilde.detach().to(torch.float64).cpu().numpy())
    for nm in names:
        if args.moments:
            save(args.out, nm + ".mean.npy", moments[nm].mean)
            save(args.out, nm + ".m2.npy", moments[nm].m2)
        elif args.runs == 1:
            save(args.out, nm + ".npy", stacked[nm][0])
        else:
            save(args.out, nm + ".npy", np.stack(stacked[nm]))
    if args.moments:
        save(args.out, "count.npy", np.array(args.runs, dtype=np.int64))
    cmd = ["sus", "check", "--port", args.out, "--c", repr(args.c)]
    if args.causal:
        cmd.append("--causal")
    if args.scale is not None:
        cmd += ["--scale", repr(args.scale)]
    if args.dtype == "bf16":
        cmd += ["--unit-roundoff", repr(UNIT["bf16"])]
    if args.canonical is not None:
        cmd += ["--canonical", str(args.canonical)]
    if args.runs > 1:
        cmd[1:2] = ["report"]  # stacked samples are for sus report --port
    print(" ".join(cmd))


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the port directory to write")
    ap.add_argument("--shape", type=int, nargs=6, required=True,
                    metavar=("B", "H", "n", "m", "d", "dv"))
    ap.add_argument("--c", type=float, required=True, help="the budget (inf allowed)")
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--scale", type=float, default=None, help="default 1/sqrt(d)")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    ap.add_argument("--inputs-seed", type=int, default=0)
    draw = ap.add_mutually_exclusive_group()
    draw.add_argument("--canonical", type=int, metavar="SEED",
                      help="draw the canonical mask of SEED (DESIGN.md 2.4)")
    draw.add_argument("--rng-seed", type=int, default=0,
                      help="seed of the port's own torch.Generator (default 0)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--moments", action="store_true",
                    help="with --runs: Welford moments instead of stacked runs")
    ap.add_argument("--broken", choices=("d-masked", "no-cap"),
                    help="run a deliberately broken twin (sus_attention_broken.py)")
    args = ap.parse_args(argv)
    if any(x < 1 for x in args.shape):
        ap.error("--shape: every dimension must be at least 1")
    if not args.c > 0:
        ap.error("--c: the budget must be > 0")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.moments and args.runs < 2:
        ap.error("--moments needs --runs N with N >= 2")
    if args.canonical is not None and not 0 <= args.canonical < 2**64:
        ap.error("--canonical: SEED must be in [0, 2^64)")
    if args.c == math.inf:
        args.c = math.inf
    return args


if __name__ == "__main__":
    dump(parse(sys.argv[1:]))
