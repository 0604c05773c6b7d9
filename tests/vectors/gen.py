#!/usr/bin/python3
"""Generate the golden vectors of tests/vectors/ (for ports that cannot
build C): a few small problems with their inputs, canonical masks, exact
gradients and estimator outputs, all computed by the `sus` CLI, plus
CASES (the flags of each case) and MANIFEST (SHA-256 of every file).

Usage: /usr/bin/python3 tests/vectors/gen.py --sus build/sus --out DIR

`make vectors` writes them into tests/vectors/; `make check` writes them
into the build directory and compares them with the committed ones bit for
bit. The inputs are dyadic rationals k/1024 with |k| <= 2048 from a fixed
splitmix64 stream, exact in float32 and float64, written by this script's
own .npy writer (independent of the numpy version); everything else is
written by sus.
"""

import argparse
import hashlib
import os
import struct
import subprocess
import sys

# name, (B, H, n, m, d, dv), causal, c, seed
CASES = [
    ("nc_c1", (1, 2, 8, 8, 4, 4), False, "1", 1),
    ("causal_c8", (1, 2, 12, 12, 8, 8), True, "8", 2),
    ("rect_c8", (2, 1, 6, 10, 4, 3), False, "8", 0x0123456789ABCDEF),
    ("causal_inf", (1, 1, 8, 8, 4, 4), True, "inf", 0),
]

MASK64 = (1 << 64) - 1


def splitmix64(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def write_npy_f4(path, shape, values):
    """A version 1.0 '<f4' C-order .npy file, header padded to 64 bytes."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % s for s in shape).rstrip(" ") if len(shape) > 1 else
        "%d," % shape[0])
    pad = 64 - (10 + len(header) + 1) % 64
    header += " " * (pad % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(struct.pack("<%df" % len(values), *values))


def inputs(case_dir, shape, stream):
    B, H, n, m, d, dv = shape
    dims = {"Q": (B, H, n, d), "K": (B, H, m, d), "V": (B, H, m, dv),
            "dO": (B, H, n, dv)}
    paths = {}
    for name, s in dims.items():
        count = s[0] * s[1] * s[2] * s[3]
        vals = [((next(stream) >> 11) % 4097 - 2048) / 1024.0 for _ in range(count)]
        paths[name] = os.path.join(case_dir, name + ".npy")
        write_npy_f4(paths[name], s, vals)
    return paths


def run(sus, *args):
    r = subprocess.run([sus] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("gen.py: sus %s failed: %s" % (args[0], r.stderr.strip()))


def generate(sus, out):
    os.makedirs(out, exist_ok=True)
    lines = ["# name B H n m d dv causal c seed (scale: the default 1/sqrt(d))"]
    for t, (name, shape, causal, c, seed) in enumerate(CASES):
        case_dir = os.path.join(out, name)
        os.makedirs(case_dir, exist_ok=True)
        p = inputs(case_dir, shape, splitmix64(1000 + t))
        io = ["--q", p["Q"], "--k", p["K"], "--v", p["V"], "--do", p["dO"]]
        cz = ["--causal"] if causal else []
        run(sus, "grad", *io, *cz, "--mag", "--out", os.path.join(case_dir, "exact"))
        run(sus, "sample", *io, *cz, "--c", c, "--seed", str(seed), "--mag", "--out",
            os.path.join(case_dir, "sample"))
        lines.append("%s %s %d %s %d" % (name, " ".join(map(str, shape)), causal, c,
                                        seed))
    with open(os.path.join(out, "CASES"), "w") as f:
        f.write("\n".join(lines) + "\n")
    files = []
    for top, dirs, names in os.walk(out):
        dirs.sort()
        for nm in sorted(names):
            rel = os.path.relpath(os.path.join(top, nm), out)
            if nm not in ("MANIFEST", "gen.py", "README.md"):
                files.append(rel)
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        for rel in sorted(files):
            with open(os.path.join(out, rel), "rb") as g:
                f.write("%s  %s\n" % (hashlib.sha256(g.read()).hexdigest(), rel))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sus", required=True, help="the sus CLI")
    ap.add_argument("--out", required=True, help="the directory to write")
    a = ap.parse_args()
    generate(os.path.abspath(a.sus), a.out)


if __name__ == "__main__":
    main()
