#!/usr/bin/python3
"""Generate tests/uniform_table.txt: expected canonical uniforms (DESIGN.md 2.4).

An independent implementation of Philox4x32-10 and of the canonical uniform,
in plain Python integers, written from the published algorithm (Salmon et al.,
SC'11; Random123) and DESIGN.md 2.4 rather than from ref/philox.c, so that the
table checks the C code instead of restating it. The script first checks
itself against the Random123 known-answer vectors and refuses to write the
table if any disagree.

Usage: /usr/bin/python3 tests/gen_uniform_table.py   (from any directory)
"""

import os
import sys

MASK32 = (1 << 32) - 1
MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
WEYL = (0x9E3779B9, 0xBB67AE85)
ROUNDS = 10

HERE = os.path.dirname(os.path.abspath(__file__))
KAT_PATH = os.path.join(HERE, "philox4x32_10_kat.txt")
TABLE_PATH = os.path.join(HERE, "uniform_table.txt")


def philox4x32(counter, key, rounds=ROUNDS):
    """Philox4x32 with the given number of rounds; counter 4 words, key 2."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(rounds):
        # Round r uses the key advanced r times by the Weyl constants.
        rk0 = (k0 + r * WEYL[0]) & MASK32
        rk1 = (k1 + r * WEYL[1]) & MASK32
        p0 = MULTIPLIERS[0] * c0
        p1 = MULTIPLIERS[1] * c2
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ rk0, lo1, hi0 ^ c3 ^ rk1, lo0
    return (c0, c1, c2, c3)


def canonical_k(seed, b, h, i, j):
    """The 53-bit integer k of DESIGN.md 2.4; u = k / 2^53."""
    if j < 0:
        raise ValueError("j = %d is negative" % j)
    for name, v in (("b", b), ("h", h), ("i", i), ("j div 2", j // 2)):
        if not 0 <= v <= MASK32:
            raise ValueError("%s = %d out of [0, 2^32)" % (name, v))
    key = (seed % (1 << 32), seed // (1 << 32))
    w = philox4x32((j // 2, i, h, b), key)
    x, y = (w[0], w[1]) if j % 2 == 0 else (w[2], w[3])
    return (x >> 5) * (1 << 26) + (y >> 6)


def canonical_u(k):
    # k < 2^53, so float(k) is exact and the scaling by a power of two too;
    # the assert guards that claim rather than trusting it.
    assert 0 <= k < (1 << 53)
    u = float(k) / float(1 << 53)
    assert u * (1 << 53) == k and 0.0 <= u < 1.0
    return u


def check_kat():
    n = 0
    with open(KAT_PATH) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if line[0] != "philox4x32":
                raise SystemExit("KAT: unexpected generator %r" % line[0])
            rounds = int(line[1])
            words = [int(t, 16) for t in line[2:]]
            if len(words) != 10:
                raise SystemExit("KAT: malformed line %r" % " ".join(line))
            ctr, key, want = words[0:4], words[4:6], tuple(words[6:10])
            got = philox4x32(ctr, key, rounds)
            if got != want:
                raise SystemExit(
                    "KAT mismatch: ctr %s key %s: got %s want %s"
                    % (ctr, key, ["%08x" % v for v in got], ["%08x" % v for v in want])
                )
            n += 1
    if n == 0:
        raise SystemExit("KAT: no vectors in %s" % KAT_PATH)
    return n


def cases():
    s_big = 0xDEADBEEFCAFEF00D
    s_max = (1 << 64) - 1
    big = 70000
    out = [
        # The first keys of the first row: j = 0 and 1 share one counter.
        (0, 0, 0, 0, 0),
        (0, 0, 0, 0, 1),
        (0, 0, 0, 0, 2),
        (0, 0, 0, 0, 3),
        (1, 0, 0, 0, 0),
        (1, 0, 0, 0, 1),
        (42, 0, 0, 0, 0),
        (42, 0, 0, 0, 1),
        (42, 0, 0, 1, 0),
        (42, 0, 1, 0, 0),
        (42, 1, 0, 0, 0),
        (42, 1, 2, 3, 4),
        (42, 1, 2, 3, 5),
        (42, 3, 7, 11, 13),
        # A seed above 2^32, so both key words matter.
        (s_big, 0, 0, 0, 0),
        (s_big, 0, 0, 0, 1),
        (s_big, 2, 5, 17, 30),
        (s_big, 2, 5, 17, 31),
        (s_big, 1, 1, big, 123457),
        (s_big, 1, 1, 123457, big),
        (1 << 32, 0, 0, 0, 0),
        (MASK32, 0, 0, 0, 0),
        # The largest seed.
        (s_max, 0, 0, 0, 0),
        (s_max, 0, 0, 0, 1),
        (s_max, MASK32, MASK32, MASK32, 2 * MASK32),
        (s_max, MASK32, MASK32, MASK32, 2 * MASK32 + 1),
        # Indices above 2^16, so no port may store them in 16 bits.
        (7, 0, 0, big, 123457),
        (7, 0, 0, 123457, 123456),
        (7, big, big, big, big),
        (7, 4, 9, 65536, 65537),
        # j div 2 near 2^32 - 1, the top of its range.
        (123, 0, 0, 0, 2 * MASK32),
        (123, 0, 0, 0, 2 * MASK32 + 1),
        (123, 0, 0, 0, 2 * (MASK32 - 1)),
        (123, 0, 0, 0, 2 * (MASK32 - 1) + 1),
        (123, 5, 6, 7, 2 * MASK32 + 1),
        # b, h, i at the top of their range.
        (99, MASK32, 0, 0, 0),
        (99, 0, MASK32, 0, 0),
        (99, 0, 0, MASK32, 0),
    ]
    return out


def main():
    nkat = check_kat()
    rows = []
    for seed, b, h, i, j in cases():
        k = canonical_k(seed, b, h, i, j)
        rows.append((seed, b, h, i, j, k, canonical_u(k)))
    with open(TABLE_PATH, "w") as f:
        f.write("# Canonical uniforms of DESIGN.md 2.4, generated by\n")
        f.write("#   /usr/bin/python3 tests/gen_uniform_table.py\n")
        f.write("# an independent pure-Python Philox4x32-10 that first passed the\n")
        f.write("# %d vectors of tests/philox4x32_10_kat.txt. Do not edit by hand.\n" % nkat)
        f.write("# Columns (decimal except u): seed b h i j k u (u as float.hex)\n")
        for seed, b, h, i, j, k, u in rows:
            f.write("%d %d %d %d %d %d %s\n" % (seed, b, h, i, j, k, u.hex()))
    print("KAT: %d vectors pass; wrote %d rows to %s" % (nkat, len(rows), TABLE_PATH))
    return 0


if __name__ == "__main__":
    sys.exit(main())
