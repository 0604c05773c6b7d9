#!/usr/bin/python3
"""torch_peer.py: the PyTorch peer of `make bench` (issue 4, item 6).

Times PyTorch's CPU attention, forward and backward, on the shapes, dtype and
thread count of a `sus bench` row, and prints one JSON object per case on
stdout. Run it with Debian's interpreter, /usr/bin/python3, which has
python3-torch (1.13).

The attention is torch.nn.functional._scaled_dot_product_attention when
present (torch 1.13's name; its CPU path is the math one: S = Q K^T / sqrt(d),
softmax, P V, each step materialized), else scaled_dot_product_attention
(torch >= 2.0), else the explicit softmax(Q K^T s) V. The scale is
1/sqrt(d), as `sus bench` uses.

Each case: inputs ~ N(0, 1) from a fixed seed, Q, K, V requiring grad; one
untimed forward + backward (warm-up: first touch of fresh memory is slow on
these machines, and thread pools start); then --reps timed repetitions of a
forward with autograd recording (what training runs) and of its backward
(torch.autograd.grad of O with upstream gradient dO). The median of each is
reported; fwd_nograd_s is the forward under torch.no_grad() for reference.

Usage:
  torch_peer.py --n N --d D [--m M] [--dv DV] [--causal] [--dtype f32|f64]
                [--threads T] [--reps R]
  torch_peer.py --cases JSON [--threads T] [--reps R]
      JSON: a list of objects with keys n, d and optionally m, dv, causal,
      dtype; one output line per case.

The best configuration for the peer on this machine (issue 4) is set by the
caller for this command alone: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset,
GLIBC_TUNABLES=glibc.malloc.hugetlb=1. This script does not change them.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="torch_peer.py", description="PyTorch CPU attention timings (JSON)."
    )
    ap.add_argument("--n", type=int)
    ap.add_argument("--m", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--dv", type=int)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--dtype", choices=("f32", "f64"), default="f32")
    ap.add_argument("--threads", type=int, default=0, help="0: online CPUs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", help="a JSON list of cases")
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args(argv)
    if a.cases is None and (a.n is None or a.d is None):
        ap.error("give --n and --d, or --cases")
    if a.reps < 1:
        ap.error("--reps must be >= 1")
    if a.threads < 0:
        ap.error("--threads must be >= 0")
    return a


def attention_fn(torch):
    F = torch.nn.functional
    if hasattr(F, "_scaled_dot_product_attention"):

        def sdpa_113(q, k, v, causal):
            # torch 1.13: (query, key, value, attn_mask, dropout_p,
            # need_attn_weights, is_causal) -> (output, weights)
            return F._scaled_dot_product_attention(q, k, v, None, 0.0, False, causal)[0]

        return "torch.nn.functional._scaled_dot_product_attention", sdpa_113
    if hasattr(F, "scaled_dot_product_attention"):

        def sdpa(q, k, v, causal):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        return "torch.nn.functional.scaled_dot_product_attention", sdpa

    def explicit(q, k, v, causal):
        s = 1.0 / math.sqrt(q.shape[-1])
        S = torch.matmul(q, k.transpose(-2, -1)) * s
        if causal:
            n, m = S.shape[-2], S.shape[-1]
            allowed = torch.ones(n, m, dtype=torch.bool).tril()
            S = S.masked_fill(~allowed, float("-inf"))
        return torch.matmul(torch.softmax(S, dim=-1), v)

    return "explicit softmax(Q K^T s) V", explicit


def median(xs):
    return statistics.median(xs)


def run_case(torch, fn, case, threads, reps, seed):
    n, d = int(case["n"]), int(case["d"])
    m = int(case.get("m") or n)
    dv = int(case.get("dv") or d)
    causal = bool(case.get("causal", False))
    dtype_name = case.get("dtype", "f32")
    dtype = {"f32": torch.float32, "f64": torch.float64}[dtype_name]
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, n, d, generator=g, dtype=dtype).requires_grad_(True)
    k = torch.randn(1, 1, m, d, generator=g, dtype=dtype).requires_grad_(True)
    v = torch.randn(1, 1, m, dv, generator=g, dtype=dtype).requires_grad_(True)
    do = torch.randn(1, 1, n, dv, generator=g, dtype=dtype)

    def fwd():
        return fn(q, k, v, causal)

    def bwd(o):
        return torch.autograd.grad(o, (q, k, v), do)

    t0 = time.perf_counter()
    o = fwd()
    t1 = time.perf_counter()
    bwd(o)
    t2 = time.perf_counter()
    first_fwd, first_bwd = t1 - t0, t2 - t1
    del o
    tf, tb, tn = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        o = fwd()
        t1 = time.perf_counter()
        grads = bwd(o)
        t2 = time.perf_counter()
        tf.append(t1 - t0)
        tb.append(t2 - t1)
        del o, grads
        with torch.no_grad():
            t0 = time.perf_counter()
            o = fwd()
            tn.append(time.perf_counter() - t0)
            del o
    if causal:
        pairs = sum(min(i + 1, m) for i in range(n))
    else:
        pairs = n * m
    return {
        "n": n,
        "m": m,
        "d": d,
        "dv": dv,
        "causal": causal,
        "dtype": dtype_name,
        "threads": torch.get_num_threads(),
        "reps": reps,
        "fwd_first_s": first_fwd,
        "bwd_first_s": first_bwd,
        "fwd_s": median(tf),
        "bwd_s": median(tb),
        "fwd_nograd_s": median(tn),
        "fwd_gflops": 2.0 * pairs * (d + dv) / median(tf) / 1e9,
    }


def main(argv):
    a = parse_args(argv)
    import torch

    threads = a.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    name, fn = attention_fn(torch)
    if a.cases is not None:
        cases = json.loads(a.cases)
    else:
        cases = [
            {"n": a.n, "m": a.m, "d": a.d, "dv": a.dv, "causal": a.causal,
             "dtype": a.dtype}
        ]
    env = {k: os.environ.get(k) for k in
           ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "GLIBC_TUNABLES",
            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    for case in cases:
        r = run_case(torch, fn, case, threads, a.reps, a.seed)
        r["torch_version"] = torch.__version__
        r["attention"] = name
        r["env"] = env
        print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
