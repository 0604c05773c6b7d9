"""Tests of the susref binding, with /usr/bin/python3 (Debian's numpy and
torch). Expected values come from independent code: PyTorch float64
autograd, numpy formulas of DESIGN.md 2.2-2.5, and the pure-Python Philox of
tests/gen_uniform_table.py with its table; comparisons use the DESIGN.md 3
bound (susref.bounds), never ad-hoc epsilons, except where the library
promises bit-for-bit equality.

Run: SUS_LIB=build/libsus.so /usr/bin/python3 -m unittest discover -s python/tests
"""

import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(ROOT, "python"))

import susref  # noqa: E402


def _load_gen():
    spec = importlib.util.spec_from_file_location(
        "gen_uniform_table", os.path.join(ROOT, "tests", "gen_uniform_table.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN = _load_gen()


def problem(seed, B, H, n, m, d, dv, sd=1.0):
    r = np.random.default_rng(seed)
    return (r.standard_normal((B, H, n, d)) * sd, r.standard_normal((B, H, m, d)) * sd,
            r.standard_normal((B, H, m, dv)), r.standard_normal((B, H, n, dv)))


def weights(q, k, causal, scale):
    """W of DESIGN.md 2.1 in numpy float64."""
    s = scale * np.einsum("bhid,bhjd->bhij", q, k)
    if causal:
        n, m = s.shape[-2:]
        s = np.where(np.arange(m)[None, :] <= np.arange(n)[:, None], s, -np.inf)
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def dense(mk, shape4):
    """The dense W~ of a mask, and its kept flags."""
    B, H, n, m = shape4
    wt = np.zeros(B * H * n * m)
    kept = np.zeros(B * H * n * m, dtype=bool)
    rows = np.repeat(np.arange(B * H * n), np.diff(mk.indptr))
    wt[rows * m + mk.indices] = mk.wtilde
    kept[rows * m + mk.indices] = True
    return wt.reshape(shape4), kept.reshape(shape4)


def estimator(q, k, v, do, wt, W, scale):
    """dQ~, dK~, dV~ of DESIGN.md 2.2 in numpy, D from the exact O."""
    O = np.einsum("bhij,bhjd->bhid", W, v)
    D = (do * O).sum(-1)
    dP = np.einsum("bhid,bhjd->bhij", do, v)
    dS = wt * (dP - D[..., None])
    return (scale * np.einsum("bhij,bhjd->bhid", dS, k),
            scale * np.einsum("bhij,bhid->bhjd", dS, q),
            np.einsum("bhij,bhid->bhjd", wt, do))


class Within:
    def assert_within(self, got, exact, bound, what):
        bad = ~(np.abs(got - exact) <= bound)
        if bad.any():
            t = np.argwhere(bad)[0]
            self.fail("%s: %d elements outside the bound, first %s: got %r exact %r "
                      "bound %r" % (what, bad.sum(), t, got[tuple(t)], exact[tuple(t)],
                                    bound[tuple(t)]))


class TestUniforms(unittest.TestCase):
    def test_table(self):
        """The committed table of the independent pure-Python Philox."""
        rows = 0
        with open(os.path.join(ROOT, "tests", "uniform_table.txt")) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                seed, b, h, i, j, _, u = line.split()
                b, h, i, j = int(b), int(h), int(i), int(j)
                if max(b, h, i, j) > 7:
                    continue  # the dense function would need a huge array
                got = susref.canonical_uniforms(int(seed), b + 1, h + 1, i + 1, j + 1)
                self.assertEqual(got[b, h, i, j], float.fromhex(u))
                rows += 1
        self.assertGreater(rows, 5)

    def test_grid(self):
        seed = (1 << 63) + 12345
        u = susref.canonical_uniforms(seed, 2, 3, 4, 5)
        self.assertEqual(u.shape, (2, 3, 4, 5))
        for idx in np.ndindex(*u.shape):
            k = GEN.canonical_k(seed, *idx)
            self.assertEqual(u[idx], GEN.canonical_u(k))

    def test_refusals(self):
        with self.assertRaises(ValueError):
            susref.canonical_uniforms(-1, 1, 1, 1, 1)
        with self.assertRaises(ValueError):
            susref.canonical_uniforms(1 << 64, 1, 1, 1, 1)
        with self.assertRaises(susref.SusError) as cm:
            susref.canonical_uniforms(0, 1, 1, 0, 1)
        self.assertEqual(cm.exception.status, 2)  # SUS_ERR_SHAPE


class TestGrad(unittest.TestCase, Within):
    def test_against_torch(self):
        import torch
        for causal in (False, True):
            q, k, v, do = problem(1 + causal, 2, 2, 9, 9 if causal else 12, 5, 3)
            g = susref.exact_grad(q, k, v, do, causal=causal)
            self.assertEqual(g["uncertain"], 0)
            tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
            s = 1 / math.sqrt(5)
            S = s * tq @ tk.transpose(-1, -2)
            if causal:
                S = S.masked_fill(torch.ones(9, 9, dtype=torch.bool).triu(1), -math.inf)
            o = torch.softmax(S, -1) @ tv
            o.backward(torch.tensor(do))
            b = susref.bounds(q, k, v, do, causal=causal, unit_roundoff=2.0**-53)
            self.assertEqual(b["k"], 9 + (9 if causal else 12) + 5 + 3 + 10)
            for nm, t in (("dQ", tq), ("dK", tk), ("dV", tv)):
                self.assert_within(t.grad.numpy(), g[nm], b[nm], nm)
            b_o = susref.exact_grad(q, k, v, do, causal=causal, prec=0, mag=True)
            for nm in ("dQ", "dK", "dV"):
                bound = 4 * b["k"] * 2.0**-53 * b_o[nm + "_mag"]
                self.assert_within(b_o[nm], g[nm], bound, nm + " double vs MPFR")

    def test_ranks_dtypes_layouts(self):
        q, k, v, do = (x[0, 0] for x in problem(3, 1, 1, 6, 7, 4, 3))
        want = susref.exact_grad(q, k, v, do, prec=0)
        self.assertEqual(want["dK"].shape, (7, 4))
        self.assertEqual(want["lse"].shape, (6,))
        # a Fortran-ordered copy and a strided view are copied, not misread
        qf = np.asfortranarray(q)
        big = np.zeros((7, 8))
        big[:, ::2] = k
        got = susref.exact_grad(qf, big[:, ::2], v, do, prec=0)
        for nm in ("O", "lse", "dQ", "dK", "dV"):
            self.assertTrue(np.array_equal(got[nm], want[nm]), nm)
        # float32 inputs are read exactly as their float64 values
        q32 = q.astype(np.float32)
        a = susref.exact_grad(q32, k, v, do, prec=0)
        b = susref.exact_grad(q32.astype(np.float64), k, v, do, prec=0)
        self.assertTrue(np.array_equal(a["dQ"], b["dQ"]))

    def test_refusals(self):
        q, k, v, do = problem(4, 1, 2, 4, 5, 3, 2)
        with self.assertRaisesRegex(ValueError, "k has shape"):
            susref.exact_grad(q, k[:, :, :, :2], v, do)
        with self.assertRaisesRegex(ValueError, "same number of dimensions"):
            susref.exact_grad(q[0, 0], k, v, do)
        with self.assertRaisesRegex(ValueError, "expected"):
            susref.exact_grad(q[0], k[0], v[0], do[0])
        with self.assertRaisesRegex(TypeError, "not a float dtype"):
            susref.exact_grad(q.astype(np.int64), k, v, do)
        with self.assertRaisesRegex(ValueError, "finite"):
            susref.exact_grad(q, k, v, do, scale=math.inf)
        bad = k.copy()
        bad[0, 1, 3, 2] = np.nan
        with self.assertRaises(susref.SusError) as cm:
            susref.exact_grad(q, bad, v, do)
        self.assertIn("K", str(cm.exception))
        self.assertIn("NaN", str(cm.exception).replace("nan", "NaN"))
        with self.assertRaises(susref.SusError):
            susref.exact_grad(q, k, v, do, prec=8)


class TestMaskSample(unittest.TestCase, Within):
    def test_mask_against_numpy(self):
        for causal, c, rule in ((False, 2.0, "minc"), (True, 4.0, "minc"),
                                (True, math.inf, "minc"), (False, 3.0, "waterfill")):
            q, k, v, do = problem(5, 2, 1, 10, 10, 4, 4, sd=1.5)
            seed = 77
            mk = susref.mask(q, k, c, seed, causal=causal, rule=rule)
            self.assertEqual(mk.indptr.dtype, np.int64)
            W = weights(q, k, causal, 0.5)
            allowed = W > 0 if not causal else np.tril(np.ones((10, 10), bool))
            wt, kept = dense(mk, W.shape)
            self.assertFalse((kept & ~allowed).any())
            if rule == "waterfill":
                continue  # its invariants are test_rules.c's; here the binding
            u = susref.canonical_uniforms(seed, 2, 1, 10, 10)
            qq = np.minimum(1.0, c * W) if c != math.inf else allowed * 1.0
            # independent numpy W: equal decisions except within rounding of q
            near = np.abs(u - qq) <= 1e-12 * np.maximum(qq, 1e-300)
            self.assertTrue(((u < qq) == kept)[~near].all())
            want = np.maximum(W, 1.0 / c) if c != math.inf else W
            self.assertTrue(np.allclose(wt[kept], want[kept], rtol=1e-13, atol=0))

    def test_sample(self):
        q, k, v, do = problem(6, 1, 2, 7, 9, 4, 3)
        # c = inf: the exact gradient of the double reference, bit for bit
        s = susref.sample(q, k, v, do, c=math.inf, seed=0)
        g = susref.exact_grad(q, k, v, do, prec=0)
        for nm in ("dQ", "dK", "dV"):
            self.assertTrue(np.array_equal(s[nm], g[nm]), nm)
        # a canonical mask: the numpy estimator within the bound
        s = susref.sample(q, k, v, do, c=2.0, seed=3, mag=True)
        mk = susref.mask(q, k, 2.0, 3)
        self.assertTrue(np.array_equal(mk.indices, s["mask"].indices))
        wt, _ = dense(mk, (1, 2, 7, 9))
        want = estimator(q, k, v, do, wt, weights(q, k, False, 0.5), 0.5)
        b = susref.bounds(q, k, v, do, mask=mk, unit_roundoff=2.0**-53)
        for nm, w in zip(("dQ", "dK", "dV"), want):
            self.assert_within(s[nm], w, b[nm], nm)
            self.assertTrue(np.array_equal(b[nm], 4 * b["k"] * 2.0**-53 * s[nm + "_mag"]))
        # the mask as plain arrays, int32 and float32 included
        s2 = susref.sample(q, k, v, do, mask=(mk.indptr.astype(np.int32),
                                             mk.indices.astype(np.int32), mk.wtilde))
        self.assertTrue(np.array_equal(s2["dK"], s["dK"]))

    def test_refusals(self):
        q, k, v, do = problem(7, 1, 1, 4, 4, 2, 2)
        mk = susref.mask(q, k, 1.0, 1)
        with self.assertRaisesRegex(ValueError, "either mask"):
            susref.sample(q, k, v, do)
        with self.assertRaisesRegex(ValueError, "either mask"):
            susref.sample(q, k, v, do, mask=mk, c=1.0, seed=2)
        with self.assertRaisesRegex(ValueError, "B\\*H\\*n \\+ 1"):
            susref.sample(q, k, v, do, mask=(mk.indptr[:-1], mk.indices, mk.wtilde))
        with self.assertRaisesRegex(ValueError, "nnz"):
            susref.sample(q, k, v, do, mask=(mk.indptr, mk.indices, mk.wtilde[:-1]))
        bad = mk.indices.copy()
        bad[0] = 99
        with self.assertRaises(susref.SusError) as cm:
            susref.sample(q, k, v, do, mask=(mk.indptr, bad, mk.wtilde))
        self.assertIn("outside [0, 4)", str(cm.exception))
        with self.assertRaisesRegex(ValueError, "budget"):
            susref.mask(q, k, 0.0, 1)
        with self.assertRaisesRegex(ValueError, "unknown rule"):
            susref.mask(q, k, 1.0, 1, rule="maxc")
        with self.assertRaisesRegex(TypeError, "integer"):
            susref.sample(q, k, v, do, mask=(mk.indptr * 1.0, mk.indices, mk.wtilde))


class TestMoments(unittest.TestCase, Within):
    def test_against_numpy(self):
        q, k, v, do = problem(8, 1, 2, 5, 6, 3, 2)
        c = 2.0
        mo = susref.moments(q, k, v, do, c, causal=True)
        g = susref.exact_grad(q, k, v, do, causal=True)
        b = susref.bounds(q, k, v, do, causal=True, unit_roundoff=2.0**-53)
        for nm in ("dQ", "dK", "dV"):
            self.assert_within(mo["mean_" + nm], g[nm], b[nm], "mean " + nm)
        s = 1 / math.sqrt(3)
        W = weights(q, k, True, s)
        qq = np.minimum(1.0, c * W)
        a = np.where(qq > 0, 1 / np.where(qq > 0, qq, 1) - 1, 0)
        O = np.einsum("bhij,bhjd->bhid", W, v)
        dS = W * (np.einsum("bhid,bhjd->bhij", do, v) - (do * O).sum(-1)[..., None])
        var_dq = s * s * np.einsum("bhij,bhjd->bhid", a * dS**2, k**2)
        var_dv = np.einsum("bhij,bhid->bhjd", a * W**2, do**2)
        self.assertTrue(np.allclose(mo["var_dQ"], var_dq, rtol=1e-10, atol=1e-300))
        self.assertTrue(np.allclose(mo["var_dV"], var_dv, rtol=1e-10, atol=1e-300))
        self.assertTrue(np.allclose(mo["nnz"], qq.sum(-1), rtol=1e-12))
        self.assertAlmostEqual(mo["nnz_total"], qq.sum(), delta=1e-12 * qq.sum())


class TestCheck(unittest.TestCase):
    def setUp(self):
        self.p = problem(9, 1, 2, 8, 8, 4, 4)
        self.s = susref.sample(*self.p, c=2.0, seed=11, causal=True)

    def run_check(self, dq=None, wtilde=None, c=2.0, **kw):
        q, k, v, do = self.p
        mk = self.s["mask"]
        kw.setdefault("causal", True)
        return susref.check(q, k, v, do, mk.indptr, mk.indices,
                            mk.wtilde if wtilde is None else wtilde,
                            self.s["dQ"] if dq is None else dq, self.s["dK"],
                            self.s["dV"], c, **kw)

    def test_pass_and_fail(self):
        rep = self.run_check(canonical_seed=11)
        self.assertTrue(rep)
        self.assertEqual(rep.failed, [])
        self.assertEqual(rep.canon_same, len(self.s["mask"].indices))
        self.assertEqual(rep.counts["dQ"], (2 * 8 * 4, 0))
        self.assertTrue(str(rep).startswith("sus check: PASS\n"))
        dq = self.s["dQ"].copy()
        dq[0, 1, 5, 2] += 1e-9
        rep = self.run_check(dq=dq)
        self.assertFalse(rep)
        self.assertEqual(rep.failed, ["dQ"])
        self.assertEqual(rep.counts["dQ"][1], 1)
        self.assertEqual(tuple(int(t) for t in rep.worst["dQ"][0].index), (0, 1, 5, 2))
        self.assertTrue(str(rep).startswith("sus check: FAIL (dQ)\n"))
        rep = self.run_check(canonical_seed=12)
        self.assertEqual(rep.failed, ["canonical"])
        self.assertGreater(len(rep.mismatch), 0)

    def test_float32_default_u(self):
        f32 = self.s["dQ"].astype(np.float32)
        self.assertTrue(self.run_check(dq=f32))  # u = 2^-24 from the dtype
        self.assertEqual(self.run_check(dq=f32, unit_roundoff=2.0**-53).failed, ["dQ"])

    def test_wtilde_and_mask(self):
        wt = self.s["mask"].wtilde.copy()
        wt[:] = 0.5  # minc's cap dropped: W~ = 1/c everywhere
        rep = self.run_check(wtilde=wt)
        self.assertIn("W~", rep.failed)
        mk = self.s["mask"]
        bad = mk.indices.copy()
        bad[-1] = 7 if bad[-1] != 7 else 6
        bad[-2] = bad[-1]
        rep = susref.check(*self.p, mk.indptr, bad, mk.wtilde, self.s["dQ"],
                           self.s["dK"], self.s["dV"], 2.0, causal=True)
        self.assertEqual(rep.failed, ["mask"])
        self.assertIn("strictly ascending", rep.mask_message)

    def test_refusals(self):
        with self.assertRaisesRegex(ValueError, "dq has shape"):
            self.run_check(dq=self.s["dQ"][:, :1])
        with self.assertRaises(susref.SusError) as cm:
            self.run_check(unit_roundoff=1.5)
        self.assertIn("unit roundoff", str(cm.exception))
        with self.assertRaises(susref.SusError) as cm:
            self.run_check(c=0.0)
        self.assertIn("budget", str(cm.exception))
        with self.assertRaisesRegex(ValueError, "seed"):
            self.run_check(canonical_seed=-1)

    def test_check_dir(self):
        sus = os.environ.get("SUS_BIN")
        if not sus:
            self.skipTest("SUS_BIN is not set (python/rules.mk sets it)")
        q, k, v, do = self.p
        with tempfile.TemporaryDirectory() as d:
            for nm, x in zip(("Q", "K", "V", "dO"), (q, k, v, do)):
                np.save(os.path.join(d, nm + ".npy"), x)
            subprocess.run([sus, "sample"] + sum(
                [["--" + o, os.path.join(d, nm + ".npy")] for o, nm in
                 (("q", "Q"), ("k", "K"), ("v", "V"), ("do", "dO"))], []) +
                ["--c", "2", "--seed", "11", "--causal", "--out", d], check=True)
            rep = susref.check_dir(d, 2.0, causal=True, canonical_seed=11)
            self.assertTrue(rep, str(rep))
            cli = subprocess.run([sus, "check", "--port", d, "--c", "2", "--causal",
                                  "--canonical", "11"], capture_output=True, text=True)
            self.assertEqual(cli.returncode, 0)
            self.assertEqual(cli.stdout.splitlines()[0], str(rep).splitlines()[0])


class TestLoading(unittest.TestCase):
    def test_sus_lib(self):
        env = dict(os.environ, SUS_LIB="/nonexistent/libsus.so")
        r = subprocess.run([sys.executable, "-c", "import susref"], env=env,
                           cwd=os.path.join(ROOT, "python"), capture_output=True,
                           text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SUS_LIB", r.stderr)
        self.assertRegex(susref.version(), r"^\d+\.\d+\.\d+$")


if __name__ == "__main__":
    unittest.main()
