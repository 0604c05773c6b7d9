#!/usr/bin/python3
"""run_bench.py: the driver of `make bench` (issue 4, items 5 and 6, Targets).

Runs, in one session on this machine:
  1. the OpenBLAS sgemm ceiling (bench/sgemm_ceiling.c, built by make bench);
  2. `sus bench --json` over a trimmed grid, each row under /usr/bin/time -v
     for its peak RSS;
  3. the PyTorch peer (bench/torch_peer.py) on the same shapes, dtypes and
     thread count, where it fits in time and memory;
then writes build/bench/table.md (the table, the machine, the ceiling and
the targets, each met or not met with its numbers) and build/bench/results.json
(every raw measurement).

The ceiling and the peer run with their best configuration on this machine,
in their own commands only: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset,
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (issue 4). `sus bench` runs in the
environment as it is. Tests and CI never change these variables.

The full grid (n in {1024, 4096, 16384, 65536}, d in {64, 128},
c in {8, 32, 128}, causal and not, fp32 and fp64) would take hours on two
cores; the trimmed grid (see grid() below, and the table's notes) fits in
about 15 minutes.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The configuration of the targets (issue 4): fp32, d = 64, c = 32.
TARGET = {"d": 64, "c": 32, "dtype": "f32"}


def peer_env(threads):
    """The best configuration for OpenBLAS and PyTorch on this machine, for
    their commands only."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def is_target(r):
    return (r["d"] == TARGET["d"] and r["c"] == TARGET["c"]
            and r["dtype"] == TARGET["dtype"] and not r["causal"])


def row(n, d, c, causal, dtype, dense=True):
    return {"n": n, "d": d, "c": c, "causal": causal, "dtype": dtype, "dense": dense}


def grid(name):
    """The rows of sus bench, and a note on what was trimmed."""
    rows = []
    if name == "quick":
        for n in (512, 2048):
            for causal in (False, True):
                rows.append(row(n, 64, 32, causal, "f32"))
        rows.append(row(2048, 64, 8, False, "f64"))
        rows.append(row(4096, 64, 32, False, "f32", dense=False))
        note = "quick grid (make bench BENCH_GRID=quick): a smoke test, not the table"
        return rows, note
    # n = 1024 and 4096: the whole grid.
    for n in (1024, 4096):
        for dtype in ("f32", "f64"):
            for d in (64, 128):
                for causal in (False, True):
                    for c in (8, 32, 128):
                        rows.append(row(n, d, c, causal, dtype))
    # n = 16384: c = 32 with the dense backward at fp32 and fp64, d 64 and
    # 128, causal and not, except fp64 causal at d = 128; c = 8 and 128 at
    # fp32, d = 64, without it (the dense backward does not depend on c).
    for dtype in ("f32", "f64"):
        for d in (64, 128):
            for causal in (False, True):
                if not (dtype == "f64" and d == 128 and causal):
                    rows.append(row(16384, d, 32, causal, dtype))
    for c in (8, 128):
        for causal in (False, True):
            rows.append(row(16384, 64, c, causal, "f32", dense=False))
    # n = 65536: the target configuration only, without the dense backward.
    for causal in (False, True):
        rows.append(row(65536, 64, 32, causal, "f32", dense=False))
    # The rows of the targets run first, so that a run cut short by the time
    # budget still measures them.
    rows.sort(key=lambda r: not is_target(r))
    note = (
        "grid trimmed to fit about 15 minutes on 2 cores: n = 1024 and 4096 "
        "complete (d 64/128, c 8/32/128, causal and not, fp32 and fp64); "
        "n = 16384 at c = 32 with the dense backward (fp32 and fp64, d 64 and "
        "128, causal and not, except fp64 causal at d = 128), plus c = 8 and "
        "128 at fp32, d = 64 without it; n = 65536 only at fp32, d = 64, "
        "c = 32, without the dense backward"
    )
    return rows, note


def torch_wanted(r):
    """Whether the peer runs on this row's shape (it costs the same for every
    c, so it runs once per shape)."""
    n = r["n"]
    if n <= 4096:
        return True, None
    if n == 16384:
        if r["dtype"] == "f32":
            return True, None
        return False, ("PyTorch skipped at n = 16384 in fp64 (time, and about "
                       "10 GB of n x m fp64 tensors in its backward)")
    return False, (
        "PyTorch skipped at n = %d: its attention materializes n x m scores "
        "(%.0f GB per fp32 copy, several copies in the backward)"
        % (n, n * n * 4 / 1e9)
    )


def log(msg):
    print(msg, flush=True)


def run(cmd, env=None, timeout=None):
    return subprocess.run(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True, timeout=timeout,
    )


def machine(threads):
    model = "unknown CPU"
    try:
        out = run(["lscpu"]).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            model = m.group(1).strip()
    except OSError:
        pass
    return {
        "cpu": model,
        "online_cpus": os.cpu_count(),
        "threads": threads,
        "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "env_OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }


def sgemm_ceiling(path, threads):
    log("== sgemm ceiling (OpenBLAS, %d threads, OPENBLAS_CORETYPE/L2_SIZE unset, "
        "hugetlb malloc)" % threads)
    p = run([path, "--threads", str(threads)], env=peer_env(threads))
    if p.returncode != 0:
        raise SystemExit("run_bench: sgemm_ceiling failed: " + p.stderr.strip())
    res = json.loads(p.stdout)
    for r in res["results"]:
        log("   %s %5d x %5d x %5d (%s): %.1f GFLOP/s"
            % (r["routine"], r["m"], r["n"], r["k"], r["what"], r["gflops"]))
    return res


def bench_args(r, threads, reps):
    a = ["bench", "--n", str(r["n"]), "--d", str(r["d"]), "--c", str(r["c"]),
         "--dtype", r["dtype"], "--threads", str(threads), "--reps", str(reps),
         "--json"]
    if r["causal"]:
        a.append("--causal")
    if not r["dense"]:
        a.append("--no-dense")
    return a


def run_ours(sus, r, threads, reps):
    cmd = ["/usr/bin/time", "-v", sus] + bench_args(r, threads, reps)
    t0 = time.time()
    p = run(cmd)
    wall = time.time() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss = int(m.group(1)) * 1024 / 1e6 if m else None
    if p.returncode != 0:
        msg = p.stderr.strip().splitlines()
        return {"error": msg[0] if msg else "exit %d" % p.returncode, "wall_s": wall,
                "cmd": " ".join(cmd[2:])}
    res = json.loads(p.stdout)
    res["time_v_max_rss_mb"] = rss
    res["wall_s"] = wall
    res["cmd"] = " ".join(["sus"] + cmd[3:])
    return res


def shape_key(r):
    return (r["n"], r["d"], r["causal"], r["dtype"])


def run_torch(cases, threads, reps, deadline, skips):
    """One peer process for the target shapes (fp32, d = 64, non-causal),
    then one per n, so that a failure stays local; groups that would start
    after the deadline are skipped."""
    out = {}
    groups = [[k for k in cases if k[1] == TARGET["d"] and not k[2]
               and k[3] == TARGET["dtype"]]]
    for n in sorted({k[0] for k in cases}):
        groups.append([k for k in cases if k[0] == n and k not in groups[0]])
    for keys in groups:
        if not keys:
            continue
        if time.time() > deadline:
            skips.add("PyTorch skipped on %d shapes to stay within the time budget "
                      "(--budget-s)" % len(keys))
            log("== PyTorch peer: %d shapes skipped (time budget)" % len(keys))
            continue
        spec = [{"n": k[0], "d": k[1], "causal": k[2], "dtype": k[3]} for k in keys]
        log("== PyTorch peer: %d shapes, n in %s"
            % (len(keys), sorted({k[0] for k in keys})))
        t0 = time.time()
        p = run([sys.executable, os.path.join(HERE, "torch_peer.py"), "--threads",
                 str(threads), "--reps", str(reps), "--cases", json.dumps(spec)],
                env=peer_env(threads))
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        for l in lines:
            res = json.loads(l)
            out[(res["n"], res["d"], res["causal"], res["dtype"])] = res
            log("   d=%d %s %s: fwd %.1f ms, bwd %.1f ms"
                % (res["d"], "causal" if res["causal"] else "non-causal",
                   res["dtype"], 1e3 * res["fwd_s"], 1e3 * res["bwd_s"]))
        if p.returncode != 0:
            err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
            log("   PyTorch failed (exit %d): %s" % (p.returncode, err))
            for k in keys:
                out.setdefault(k, {"error": err})
        log("   (%.0f s)" % (time.time() - t0))
    return out


PAIRED_NS = (1024, 4096, 16384)


def paired_forward(sus, threads, reps, rounds, ns, deadline, skips):
    """The forward against PyTorch's, measured in alternating rounds: each
    round runs `sus bench` and the peer (as in the grid: forward with
    autograd recording, then its backward) on the target shapes,
    in the order ours-peer, then peer-ours, and so on, so that a drift of
    the shared machine's speed during the run weighs on both sides alike.
    Returns {n: [(ours_s, peer_s), ...]} over the rounds that finished."""
    out = {n: [] for n in ns}
    spec = [{"n": n, "d": TARGET["d"], "causal": False, "dtype": TARGET["dtype"]}
            for n in ns]
    for rd in range(rounds):
        if time.time() > deadline:
            skips.add("paired forward rounds stopped after %d of %d (time budget)"
                      % (rd, rounds))
            break
        ours, peer = {}, {}

        def run_ours_round():
            for n in ns:
                r = run_ours(sus, row(n, TARGET["d"], TARGET["c"], False,
                                      TARGET["dtype"], dense=False), threads, reps)
                if "error" not in r:
                    ours[n] = r["fwd_s"]

        def run_peer_round():
            p = run([sys.executable, os.path.join(HERE, "torch_peer.py"), "--threads",
                     str(threads), "--reps", str(reps), "--cases", json.dumps(spec)],
                    env=peer_env(threads))
            for l in p.stdout.splitlines():
                if l.startswith("{"):
                    res = json.loads(l)
                    peer[res["n"]] = res["fwd_s"]

        steps = (run_ours_round, run_peer_round)
        for step in (steps if rd % 2 == 0 else steps[::-1]):
            step()
        log("   round %d: %s" % (rd + 1, ", ".join(
            "n=%d ours %.1f ms, PyTorch %s" % (
                n, 1e3 * ours[n], "%.1f ms" % (1e3 * peer[n]) if n in peer else "failed")
            for n in ns if n in ours)))
        for n in ns:
            if n in ours and n in peer:
                out[n].append((ours[n], peer[n]))
    return out


def fmt(x, spec):
    return "" if x is None else format(x, spec)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(rows, torch, skips):
    hdr = ["n", "d", "dtype", "causal", "c", "fwd ms", "fwd first ms", "SUS bwd ms",
           "dense bwd ms", "nnz/row", "fwd GFLOP/s", "SUS-bwd/fwd",
           "dense-bwd/SUS-bwd", "PyTorch fwd ms", "PyTorch bwd ms",
           "fwd speedup vs PyTorch", "PyTorch-bwd/SUS-bwd", "peak RSS MB"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    order = lambda sr: (sr[0]["n"], sr[0]["dtype"], sr[0]["d"], sr[0]["causal"],
                        sr[0]["c"])
    for spec, res in sorted(rows, key=order):
        base = [str(spec["n"]), str(spec["d"]), spec["dtype"],
                "yes" if spec["causal"] else "no", str(spec["c"])]
        if "error" in res:
            lines.append("| " + " | ".join(base + ["failed: " + res["error"]] +
                                           [""] * (len(hdr) - 6)) + " |")
            continue
        t = torch.get(shape_key(spec), {})
        tf = t.get("fwd_s") if "error" not in t else None
        tb = t.get("bwd_s") if "error" not in t else None
        dense = res.get("dense_bwd_s")
        cells = base + [
            fmt(1e3 * res["fwd_s"], ".2f"),
            fmt(1e3 * res["fwd_first_s"], ".2f"),
            fmt(1e3 * res["sus_bwd_s"], ".3f"),
            fmt(None if dense is None else 1e3 * dense, ".2f"),
            fmt(res["nnz_per_row"], ".1f"),
            fmt(res["fwd_gflops"], ".1f"),
            fmt(ratio(res["sus_bwd_s"], res["fwd_s"]), ".4f"),
            fmt(ratio(dense, res["sus_bwd_s"]), ".1f"),
            fmt(None if tf is None else 1e3 * tf, ".2f"),
            fmt(None if tb is None else 1e3 * tb, ".2f"),
            fmt(ratio(tf, res["fwd_s"]), ".2f"),
            fmt(ratio(tb, res["sus_bwd_s"]), ".0f"),
            fmt(res.get("time_v_max_rss_mb"), ".0f"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def find(rows, **want):
    for spec, res in rows:
        if all(spec.get(k) == v for k, v in want.items()) and "error" not in res:
            return res
    return None


def targets(rows, torch, ceiling, threads, paired=None):
    """Each target of issue 4: (name, met or None if not measured, detail)."""
    out = []
    tgt = dict(TARGET, causal=False)
    sg = ceiling["sgemm_best_gflops"]

    # Close to the machine's limit: forward >= 50% of the sgemm ceiling.
    parts, ok = [], []
    for n in (4096, 16384, 65536):
        r = find(rows, n=n, **tgt)
        if r:
            frac = r["fwd_gflops"] / sg
            parts.append("n = %d: %.1f GFLOP/s = %.0f%%" % (n, r["fwd_gflops"],
                                                            100 * frac))
            ok.append(frac >= 0.5)
    out.append(("forward >= 50%% of the sgemm ceiling (%.1f GFLOP/s), at every n "
                ">= 4096" % sg, all(ok) if ok else None, "; ".join(parts)))

    # The backward becomes negligible.
    for n, lim in ((16384, 0.05), (65536, 0.02)):
        r = find(rows, n=n, **tgt)
        if r:
            f = r["sus_bwd_s"] / r["fwd_s"]
            out.append(("SUS backward <= %g%% of the forward at n = %d" % (100 * lim, n),
                        f <= lim, "%.3f ms / %.1f ms = %.2f%%"
                        % (1e3 * r["sus_bwd_s"], 1e3 * r["fwd_s"], 100 * f)))
        else:
            out.append(("SUS backward <= %g%% of the forward at n = %d" % (100 * lim, n),
                        None, "not measured"))

    # Ahead of the peer: decided by the paired rounds where they ran (the
    # median over rounds of PyTorch's forward time over ours, each round's
    # two times taken minutes apart at most), with the grid's single
    # measurement beside it.
    parts, ok = [], []
    for n in PAIRED_NS:
        r = find(rows, n=n, **tgt)
        t = torch.get((n, 64, False, "f32"), {})
        grid_s = t["fwd_s"] / r["fwd_s"] if r and t.get("fwd_s") else None
        pr = (paired or {}).get(n) or []
        if pr:
            med = statistics.median(p / o for o, p in pr)
            parts.append("n = %d: %.2fx (rounds: %s; the grid's row: %s)" % (
                n, med, ", ".join("%.1f/%.1f ms = %.2fx" % (1e3 * p, 1e3 * o, p / o)
                                  for o, p in pr),
                "%.2fx" % grid_s if grid_s else "not measured"))
            ok.append(med >= 1.5)
        elif grid_s is not None:
            parts.append("n = %d: %.1f ms vs %.1f ms = %.2fx (the grid's row; no "
                         "paired rounds)" % (n, 1e3 * t["fwd_s"], 1e3 * r["fwd_s"],
                                              grid_s))
            ok.append(grid_s >= 1.5)
    out.append(("forward >= 1.5x faster than PyTorch's, at every n measured "
                "(median of the paired rounds: PyTorch's time / ours)",
                all(ok) if ok else None, "; ".join(parts) or "not measured"))
    r = find(rows, n=16384, **tgt)
    t = torch.get((16384, 64, False, "f32"), {})
    if r and "bwd_s" in t:
        s = t["bwd_s"] / r["sus_bwd_s"]
        out.append(("SUS backward >= 100x faster than PyTorch's backward at n = 16384",
                    s >= 100, "%.1f ms vs %.3f ms = %.0fx"
                    % (1e3 * t["bwd_s"], 1e3 * r["sus_bwd_s"], s)))
    else:
        out.append(("SUS backward >= 100x faster than PyTorch's backward at n = 16384",
                    None, "not measured"))

    # Scaling: SUS backward / n within 1.5x from 4096 to 65536.
    per = []
    for n in (4096, 16384, 65536):
        r = find(rows, n=n, **tgt)
        if r:
            per.append((n, r["sus_bwd_s"] / n))
    if len(per) >= 2 and per[0][0] == 4096 and per[-1][0] == 65536:
        vals = [p for _, p in per]
        spread = max(vals) / min(vals)
        out.append(("SUS backward time / n varies < 1.5x between n = 4096 and 65536",
                    spread < 1.5, ", ".join("n = %d: %.1f ns" % (n, 1e9 * p)
                                           for n, p in per)
                    + "; max/min = %.2f" % spread))
    else:
        out.append(("SUS backward time / n varies < 1.5x between n = 4096 and 65536",
                    None, "not measured"))

    # Memory.
    r = find(rows, n=65536, d=64, dtype="f32", causal=False)
    if r and r.get("time_v_max_rss_mb") is not None:
        rss = r["time_v_max_rss_mb"]
        out.append(("peak RSS at n = 65536, d = 64, B = H = 1 under 300 MB "
                    "(/usr/bin/time -v)", rss < 300,
                    "%.0f MB, of which %.0f MB are the inputs and outputs that "
                    "`sus bench` allocates and the rest fast/'s context, workspaces "
                    "and mask (nnz = %d) (`%s`)"
                    % (rss, r.get("bench_buffers_mb") or 0, r["nnz"], r["cmd"])))
    else:
        out.append(("peak RSS at n = 65536, d = 64 under 300 MB", None,
                    "not measured"))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sus", required=True)
    ap.add_argument("--sgemm", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--grid", choices=("full", "quick"), default="full")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--paired-rounds", type=int, default=3,
                    help="rounds of the paired forward comparison with PyTorch "
                    "(0: none)")
    ap.add_argument("--budget-s", type=float, default=900,
                    help="the whole run's time budget: rows that would start in "
                    "its last 4 minutes (kept for the peer) are skipped, and "
                    "peer groups in its last minute")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    t_start = time.time()
    mach = machine(a.threads)
    log("== machine: %s, %s online CPUs, %d threads" % (mach["cpu"],
                                                       mach["online_cpus"], a.threads))
    ceiling = sgemm_ceiling(a.sgemm, a.threads)

    specs, note = grid(a.grid)
    rows = []
    log("== sus bench: %d rows (%s)" % (len(specs), note))
    skips = set()
    for i, spec in enumerate(specs):
        if time.time() > t_start + a.budget_s - 240:
            skips.add("row skipped to stay within the time budget (--budget-s %g): "
                      "n = %d, d = %d, c = %s, %s, %s" % (
                          a.budget_s, spec["n"], spec["d"], spec["c"], spec["dtype"],
                          "causal" if spec["causal"] else "non-causal"))
            log("   [%d/%d] skipped (time budget)" % (i + 1, len(specs)))
            continue
        res = run_ours(a.sus, spec, a.threads, a.reps)
        rows.append((spec, res))
        if "error" in res:
            log("   [%d/%d] %s: FAILED: %s" % (i + 1, len(specs), res["cmd"],
                                              res["error"]))
        else:
            dense = res.get("dense_bwd_s")
            log("   [%d/%d] n=%d d=%d c=%s %s %s: fwd %.2f ms, SUS bwd %.3f ms, dense "
                "bwd %s, nnz/row %.1f, %.1f GFLOP/s, RSS %.0f MB (%.0f s)"
                % (i + 1, len(specs), spec["n"], spec["d"], spec["c"], spec["dtype"],
                   "causal" if spec["causal"] else "non-causal", 1e3 * res["fwd_s"],
                   1e3 * res["sus_bwd_s"],
                   "skipped" if dense is None else "%.2f ms" % (1e3 * dense),
                   res["nnz_per_row"], res["fwd_gflops"],
                   res.get("time_v_max_rss_mb") or 0, res["wall_s"]))

    cases = []
    if a.no_torch:
        skips.add("PyTorch peer not run (--no-torch)")
    else:
        for spec, _ in rows:
            want, why = torch_wanted(spec)
            if want and shape_key(spec) not in cases:
                cases.append(shape_key(spec))
            elif not want:
                skips.add(why)
    torch = (run_torch(cases, a.threads, a.reps, t_start + a.budget_s - 60, skips)
             if cases else {})
    paired = {}
    if not a.no_torch and a.paired_rounds > 0:
        ns = PAIRED_NS if a.grid == "full" else PAIRED_NS[:1]
        log("== paired forward rounds, ours and PyTorch alternating: n in %s"
            % (list(ns),))
        paired = paired_forward(a.sus, a.threads, a.reps, a.paired_rounds, ns,
                                t_start + a.budget_s - 60, skips)
    # The ceiling again at the end: the larger of the two is the one used,
    # so that a noisy moment cannot lower the bar.
    again = sgemm_ceiling(a.sgemm, a.threads)
    first_best = ceiling["sgemm_best_gflops"]
    if again["sgemm_best_gflops"] > first_best:
        ceiling = again
    ceiling["both_runs_gflops"] = [first_best, again["sgemm_best_gflops"]]
    elapsed = time.time() - t_start

    tg = targets(rows, torch, ceiling, a.threads, paired)
    sg = ceiling["results"]
    md = []
    md.append("# sus bench: fast/ on %s, %d threads" % (mach["cpu"], a.threads))
    md.append("")
    md.append("Machine: %s, %s online CPUs; %d threads for ours, OpenBLAS and PyTorch. "
              "Measured %s in %.0f s by `make bench` (bench/run_bench.py)."
              % (mach["cpu"], mach["online_cpus"], a.threads,
                 datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), elapsed))
    md.append("")
    md.append("sgemm ceiling (OpenBLAS %s, core %s, best of %d, OPENBLAS_CORETYPE and "
              "OPENBLAS_L2_SIZE unset, GLIBC_TUNABLES=glibc.malloc.hugetlb=1): "
              "**%.1f GFLOP/s** (the larger of two runs, before and after the rows: "
              "%.1f and %.1f); " % (ceiling["openblas_config"].split()[1]
                                      if ceiling["openblas_config"] else "?",
                                      ceiling["openblas_corename"], ceiling["reps"],
                                      ceiling["sgemm_best_gflops"],
                                      ceiling["both_runs_gflops"][0],
                                      ceiling["both_runs_gflops"][1])
              + ", ".join("%s %dx%dx%d %.1f" % (r["routine"], r["m"], r["n"], r["k"],
                                               r["gflops"]) for r in sg)
              + ". (The environment had OPENBLAS_CORETYPE=%s.)"
              % (mach["env_OPENBLAS_CORETYPE"] or "(unset)"))
    md.append("")
    md.append("## Targets (issue 4: fp32, d = 64, c = 32, non-causal, %d threads)"
              % a.threads)
    md.append("")
    for name, met, detail in tg:
        mark = "not measured" if met is None else ("met" if met else "NOT MET")
        md.append("- **%s**: %s. %s" % (mark, name, detail))
    md.append("")
    md.append("## Rows")
    md.append("")
    md.extend(table(rows, torch, skips))
    md.append("")
    md.append("Notes:")
    md.append("")
    md.append("- Times are medians of %d repetitions after one untimed warm-up call "
              "of each step (`sus bench --reps %d`); *fwd first* is the first call "
              "on a fresh context and fresh output buffers." % (a.reps, a.reps))
    md.append("- The forward includes the fused streaming sampler. GFLOP/s count "
              "4 n m d flops, and for causal rows 4 d times the allowed pairs "
              "(about half).")
    md.append("- *fwd speedup vs PyTorch* is PyTorch's forward time over ours (>1: "
              "ours is faster); *PyTorch-bwd/SUS-bwd* is PyTorch's backward time "
              "over our SUS backward. PyTorch runs %s with autograd recording; its "
              "cost does not depend on c, so it runs once per shape."
              % (next((t.get("attention") for t in torch.values()
                       if "attention" in t), "(not run)")))
    if paired:
        md.append("- The forward target against PyTorch is decided by %d paired rounds "
                  "(`--paired-rounds`): each runs `sus bench --no-dense` and the peer "
                  "(`torch_peer.py`, as in the grid) on n in %s, ours first in odd "
                  "rounds and the "
                  "peer first in even ones; the target uses the median over rounds of "
                  "PyTorch's time over ours. The shared machine's speed drifts by "
                  "more than 10%% within minutes, so two times taken minutes apart "
                  "are paired, not the grid's, which are taken up to 10 minutes "
                  "apart." % (a.paired_rounds, sorted(paired)))
    md.append("- Peak RSS: `/usr/bin/time -v` of each `sus bench` row, inputs, "
              "outputs and the mask included.")
    md.append("- " + note + ".")
    for s in sorted(skips):
        md.append("- " + s + ".")
    text = "\n".join(md) + "\n"
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"machine": mach, "sgemm": ceiling,
                   "rows": [{"spec": s, "result": r} for s, r in rows],
                   "torch": [v for v in torch.values()], "targets": tg,
                   "paired_forward": {str(n): [{"ours_fwd_s": o, "torch_fwd_s": p}
                                               for o, p in v]
                                      for n, v in paired.items()},
                   "elapsed_s": elapsed}, f, indent=1)
    log("")
    log(text)
    log("wrote %s and results.json (%.0f s)" % (os.path.join(a.out, "table.md"),
                                                elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
