"""End-to-end tests of the PyTorch port against the oracle (make check runs
them with SUS_BIN pointing at the sus CLI, plain and under SAN=1):

  - its canonical Philox equals tests/uniform_table.txt (an independent
    pure-Python implementation) bit for bit, for every row of the table;
  - the port passes `sus check` on several cases: causal and not, c in
    {1, 2, 4, inf}, float32, float64 and bfloat16, its own torch RNG and
    the canonical Philox (with --canonical SEED);
  - the broken twins fail `sus check` for their own reason: D from the
    masked output fails dQ and dK (dV and W~ pass), the dropped cap fails
    W~ (the outputs, which follow the port's mask, pass);
  - dump.py writes stacked runs and Welford moments as DESIGN.md 4 says.
  - samples from the port's own torch RNG pass `sus report --port` (stacked
    runs and Welford moments), and both broken twins fail its mean test.
"""

import contextlib
import io
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
sys.path.insert(0, HERE)

import dump  # noqa: E402
from sus_attention import canonical_uniform, canonical_uniforms, sus_attention  # noqa

SUS = os.environ.get("SUS_BIN", os.path.join(ROOT, "build", "sus"))


def sus_check(port, *flags):
    r = subprocess.run([SUS, "check", "--port", port] + list(flags),
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


class TestPhilox(unittest.TestCase):
    def test_uniform_table(self):
        rows = []
        with open(os.path.join(ROOT, "tests", "uniform_table.txt")) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                rows.append(line.split())
        self.assertGreater(len(rows), 30)
        for seed, b, h, i, j, k, u in rows:
            idx = [torch.tensor(int(x), dtype=torch.int64) for x in (b, h, i, j)]
            got = canonical_uniform(int(seed), *idx).item()
            self.assertEqual(got, float.fromhex(u), "seed %s (%s %s %s %s)" % (
                seed, b, h, i, j))
            self.assertEqual(got * 2.0**53, float(int(k)))

    def test_dense_grid(self):
        u = canonical_uniforms(5, 2, 2, 3, 4)
        for idx in np.ndindex(2, 2, 3, 4):
            one = canonical_uniform(5, *(torch.tensor(x) for x in idx)).item()
            self.assertEqual(u[idx].item(), one)


CASES = [
    # shape B H n m d dv, dtype, c, causal, canonical seed (None: own RNG)
    ((1, 2, 16, 16, 8, 8), "f64", 4.0, True, 7),
    ((2, 1, 12, 20, 8, 4), "f32", 2.0, False, 2**40 + 5),
    ((1, 2, 10, 10, 4, 4), "f32", math.inf, True, None),
    ((1, 1, 9, 13, 4, 6), "f64", 1.0, False, None),
    ((1, 2, 12, 12, 8, 8), "bf16", 8.0, True, None),
]


def run_dump(out, shape, dtype, c, causal, canonical, runs=1, moments=False,
             broken=None, device="cpu"):
    argv = ["--out", out, "--shape"] + [str(x) for x in shape] + [
        "--c", repr(c), "--dtype", dtype, "--device", device, "--inputs-seed", "3"]
    argv += ["--causal"] if causal else []
    argv += ["--canonical", str(canonical)] if canonical is not None else ["--rng-seed",
                                                                           "1"]
    argv += ["--runs", str(runs)] + (["--moments"] if moments else [])
    argv += ["--broken", broken] if broken else []
    with contextlib.redirect_stdout(io.StringIO()):  # its `sus check` line
        dump.dump(dump.parse(argv))


def check_flags(c, causal, canonical, dtype):
    flags = ["--c", repr(c)] + (["--causal"] if causal else [])
    flags += ["--canonical", str(canonical)] if canonical is not None else []
    flags += ["--unit-roundoff", "0.00390625"] if dtype == "bf16" else []
    return flags


class TestCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def dir(self, name):
        return os.path.join(self.tmp.name, name)

    def test_port_passes(self):
        for t, (shape, dtype, c, causal, canonical) in enumerate(CASES):
            with self.subTest(case=t):
                out = self.dir("case%d" % t)
                run_dump(out, shape, dtype, c, causal, canonical)
                code, text, err = sus_check(out, *check_flags(c, causal, canonical,
                                                              dtype))
                self.assertEqual((code, err), (0, ""), text)
                self.assertEqual(text.splitlines()[0], "sus check: PASS")
                if canonical is not None:
                    self.assertIn(" 0 mismatched: ok", text)
                want = "float64" if dtype == "f64" else "float32"
                self.assertIn("outputs %s %s %s" % ((want,) * 3), text)

    def test_broken_twins_fail_for_their_reason(self):
        shape = (1, 2, 16, 16, 8, 8)
        for broken, dtype, verdict, ok_parts in (
                ("d-masked", "f64", "sus check: FAIL (dQ, dK)", ("W~", "dV")),
                ("d-masked", "f32", "sus check: FAIL (dQ, dK)", ("W~", "dV")),
                ("no-cap", "f32", "sus check: FAIL (W~)", ("dQ", "dK", "dV")),
                ("no-cap", "f64", "sus check: FAIL (W~)", ("dQ", "dK", "dV"))):
            with self.subTest(broken=broken, dtype=dtype):
                out = self.dir(broken + dtype)
                run_dump(out, shape, dtype, 4.0, True, 11, broken=broken)
                code, text, err = sus_check(out, *check_flags(4.0, True, 11, dtype))
                self.assertEqual((code, err), (1, ""), text)
                self.assertEqual(text.splitlines()[0], verdict)
                self.assertIn("0 mismatched: ok", text)  # the mask is right
                for part in ok_parts:
                    line = [ln for ln in text.splitlines() if ln.startswith(part + " ")]
                    self.assertTrue(line and line[0].endswith(": ok"), text)

    def test_dump_runs(self):
        shape = (1, 2, 6, 7, 3, 2)
        a, b = self.dir("stacked"), self.dir("moments")
        run_dump(a, shape, "f64", 2.0, False, None, runs=4)
        run_dump(b, shape, "f64", 2.0, False, None, runs=4, moments=True)
        dq = np.load(os.path.join(a, "dQ.npy"))
        self.assertEqual(dq.shape, (4, 1, 2, 6, 3))
        self.assertEqual(np.load(os.path.join(a, "dV.npy")).shape, (4, 1, 2, 7, 2))
        self.assertFalse(os.path.exists(os.path.join(a, "indptr.npy")))
        # runs differ (fresh masks), and the same generator seed repeats them
        self.assertFalse(np.array_equal(dq[0], dq[1]))
        self.assertEqual(np.load(os.path.join(b, "count.npy")).item(), 4)
        self.assertEqual(np.load(os.path.join(b, "count.npy")).dtype, np.int64)
        self.assertFalse(os.path.exists(os.path.join(b, "dQ.npy")))
        mean = np.load(os.path.join(b, "dQ.mean.npy"))
        m2 = np.load(os.path.join(b, "dQ.m2.npy"))
        # Welford against the two-pass formulas: equal up to float64 rounding
        # of two summation orders over 4 samples
        scale = np.abs(dq).max()
        self.assertTrue(np.allclose(mean, dq.mean(0), rtol=0, atol=1e-14 * scale))
        self.assertTrue(np.allclose(m2, ((dq - dq.mean(0))**2).sum(0), rtol=0,
                                    atol=1e-13 * scale**2))
        # a stacked directory is refused by sus check, with the reason
        code, _, err = sus_check(a, "--c", "2")
        self.assertEqual(code, 2)
        self.assertIn("stacked runs are for `sus report --port`", err)


def sus_report(port, *flags):
    r = subprocess.run([SUS, "report", "--port", port] + list(flags),
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


class TestReport(unittest.TestCase):
    """The statistical half: N runs of the port, each with a fresh mask from
    its own torch.Generator (fixed seed, so the verdicts are deterministic),
    against the exact moments. `sus report` holds its family-wise
    false-alarm rate at 1e-6 (README, "Statistical report")."""

    SHAPE = (1, 2, 16, 16, 8, 8)
    RUNS = 400

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def report(self, name, dtype, moments=False, broken=None):
        out = os.path.join(self.tmp.name, name)
        run_dump(out, self.SHAPE, dtype, 4.0, True, None, runs=self.RUNS,
                 moments=moments, broken=broken)
        # No --unit-roundoff: the default must follow the port's precision,
        # also for Welford moments, which are float64 whatever the port
        # computed in (there the inputs' dtype stands for it).
        return sus_report(out, "--c", "4", "--causal")

    def mean_line(self, text):
        return [ln for ln in text.splitlines() if "mean of every element" in ln][0]

    def test_port_passes(self):
        for dtype, moments in (("f64", False), ("f32", False), ("f32", True)):
            with self.subTest(dtype=dtype, moments=moments):
                code, text, err = self.report("ok-%s-%d" % (dtype, moments), dtype,
                                              moments)
                self.assertEqual((code, err), (0, ""), text)
                self.assertTrue(text.startswith("PASS"), text)
                self.assertIn("(N = %d)" % self.RUNS, text)
                self.assertTrue(self.mean_line(text).lstrip().startswith("ok"), text)

    def test_broken_twins_fail(self):
        for broken in ("d-masked", "no-cap"):
            with self.subTest(broken=broken):
                code, text, err = self.report(broken, "f64", broken=broken)
                self.assertEqual((code, err), (1, ""), text)
                self.assertTrue(text.startswith("FAIL"), text)
                # both are biased, so the mean test is what fails
                self.assertTrue(self.mean_line(text).lstrip().startswith("FAIL"), text)


class TestPortApi(unittest.TestCase):
    def test_two_d_and_exact_at_inf(self):
        g = torch.Generator().manual_seed(0)
        q, k, v, do = (torch.randn(s, generator=g, dtype=torch.float64)
                       for s in ((5, 3), (6, 3), (6, 2), (5, 2)))
        for x in (q, k, v):
            x.requires_grad_(True)
        O, mask = sus_attention(q, k, v, c=math.inf, return_mask=True)
        self.assertEqual(O.shape, (5, 2))
        self.assertEqual(int(mask.indptr[-1]), 30)  # c = inf keeps every entry
        O.backward(do)
        self.assertEqual(q.grad.shape, (5, 3))
        # the 2-D form is the 4-D one with B = H = 1
        O4 = sus_attention(q[None, None], k[None, None], v[None, None], c=math.inf)
        self.assertTrue(torch.equal(O.detach(), O4[0, 0].detach()))
        # (the gradients' accuracy is what sus check measures, case 3 above)

    def test_refusals(self):
        x = torch.zeros(1, 1, 2, 2)
        with self.assertRaisesRegex(ValueError, "budget"):
            sus_attention(x, x, x, c=0.0)
        with self.assertRaisesRegex(ValueError, "expected"):
            sus_attention(x[0], x[0], x[0], c=1.0)
        with self.assertRaisesRegex(ValueError, "seed"):
            sus_attention(x, x, x, c=1.0, canonical_seed=-1)

    def test_cuda(self):
        if not torch.cuda.is_available():
            self.skipTest("no CUDA device here; the port creates every tensor on "
                          "the inputs' device, so the same code runs there")
        with tempfile.TemporaryDirectory() as out:
            run_dump(out, (1, 2, 16, 16, 8, 8), "f32", 4.0, True, 7, device="cuda")
            code, text, _ = sus_check(out, *check_flags(4.0, True, 7, "f32"))
            self.assertEqual(code, 0, text)


if __name__ == "__main__":
    unittest.main()
