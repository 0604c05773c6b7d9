#!/usr/bin/env python3
"""make_seeds.py: writes the structured seed inputs of fuzz/corpus/.

The attention targets share one input layout (fuzz/fz.h, fz_case_decode):
shape bytes, the seed, the budget mode, the variant and rule bytes, then a
fill byte and data per array. These seeds cover each dtype, causal and not,
n != m and d != dv, every fill mode, the budget modes (inf, fractional,
huge, tiny and the exact tie c = u_ij len on rows of equal weights) and the
variants (threads, SIMD levels, tile sizes). Inputs found by fuzzing are
added beside them by libFuzzer's -merge or by hand (crash-*, regress-*).
Run: /usr/bin/python3 fuzz/make_seeds.py  (deterministic; rewrites seed-*).
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def case(B=1, H=1, causal=0, f32=0, scale_mode=0, n=4, m=4, d=3, dv=3, seed=1,
         cmode=bytes([2]), variant=0, rule=0, fills=None):
    b0 = ((B - 1) & 1) | (((H - 1) & 1) << 1) | (causal << 2) | (f32 << 3) | (scale_mode << 4)
    out = bytes([b0, n - 1, m - 1, (d - 1) | ((dv - 1) << 4)])
    out += struct.pack('<Q', seed) + cmode + bytes([variant, rule])
    for f in fills or [normal(11), normal(12), normal(13), normal(14)]:
        out += f
    return out


def normal(s, mag=0):
    return bytes([1 | (mag << 3)]) + struct.pack('<Q', s)


def quarter(s, mag=0):
    return bytes([6 | (mag << 3)]) + struct.pack('<Q', s)


def zeros():
    return bytes([5])


def elements(vals, mag=0):
    return bytes([0 | (mag << 3)]) + bytes(vals)


def ramp(row, mag=0):
    return bytes([4 | (mag << 3)]) + bytes(row)


def same_rows(row, mag=0):
    return bytes([3 | (mag << 3)]) + bytes(row)


def variant(threads=1, simd=0, tiles=0):
    return ((threads - 1) & 3) | (simd << 2) | (tiles << 4)


def attention_seeds():
    seeds = []
    shapes = [(1, 1, 4, 4, 3, 3), (2, 2, 5, 7, 4, 6), (1, 2, 9, 3, 2, 5), (2, 1, 17, 33, 8, 3),
              (1, 1, 1, 1, 1, 1), (1, 1, 48, 48, 16, 16), (2, 2, 12, 12, 5, 9)]
    cmodes = [bytes([0]), bytes([2]), bytes([7]), bytes([4]), bytes([9]), bytes([12]),
              bytes([40]), bytes([150]), bytes([10])]
    k = 0
    for f32 in (0, 1):
        for causal in (0, 1):
            for (B, H, n, m, d, dv) in shapes:
                cm = cmodes[k % len(cmodes)]
                v = variant(1 + k % 3, k % 4, k % 16)
                seeds.append(case(B, H, causal, f32, 0, n, m, d, dv, 1000 + k, cm, v, k & 1,
                                  [normal(k), normal(k + 1), normal(k + 2), normal(k + 3)]))
                k += 1
    # exact ties: zero queries or identical keys make every weight 1/len, and
    # c = u_ij len puts q_ij exactly on u_ij (len = m = 4, 8; not causal)
    for f32 in (0, 1):
        for m in (4, 8, 2):
            for t in range(3):
                tie = bytes([16 + t, 0, 0, t, (t * 3) % m])
                qf = zeros() if t != 1 else normal(5)
                kf = normal(6 + t) if t != 1 else same_rows([100, 120, 90])
                seeds.append(case(1 + (t == 2), 1, 0, f32, 0, 3, m, 3, 2, 77 + t + 10 * m, tie,
                                  variant(1, t, t), 0, [qf, kf, normal(8), normal(9)]))
    # logits growing along the keys, small tiles: many prunes per row
    for f32 in (0, 1):
        for tiles in (1, 2, 3, 7, 9):
            seeds.append(case(1, 2, f32 & 1, f32, 0, 20, 48, 4, 4, 31 + tiles, bytes([7]),
                              variant(2, tiles % 4, tiles), 0,
                              [same_rows([120, 130, 110, 100]), ramp([104, 99, 100, 101], 14),
                               normal(3), normal(4)]))
    # special values per element: zeros, subnormals, huge, exp's edges
    specials = list(range(0xc0, 0xf0))
    for f32 in (0, 1):
        for s in range(3):
            vals = [specials[(7 * i + 5 * s) % len(specials)] if i % 3 == s else 96 + i % 30
                    for i in range(64)]
            seeds.append(case(1, 1, s & 1, f32, 0, 4, 5, 3, 2, 5 + s, bytes([s * 5]),
                              variant(1, 1, s), s & 1,
                              [elements(vals[:12]), elements(vals[12:27]), elements(vals[27:37]),
                               quarter(s)]))
    # scale modes (zero, negative, tiny, large, huge) and raw budgets
    for sm in (10, 11, 12, 13, 14):
        seeds.append(case(1, 1, 1, sm & 1, sm, 6, 6, 2, 3, sm, bytes([1]), variant(), 0))
    seeds.append(case(1, 1, 0, 0, 0, 3, 3, 2, 2, 3,
                      bytes([200]) + struct.pack('<d', 0.75), variant(), 0))
    seeds.append(case(1, 1, 0, 0, 0, 3, 3, 2, 2, 3,
                      bytes([200]) + struct.pack('<d', -1.0), variant(), 0))
    seeds.append(case(1, 1, 0, 0, 0, 3, 3, 2, 2, 3, bytes([200]) + struct.pack('<d', 0.0),
                      variant(), 0))
    # non-finite inputs: raw NaN in V, inf in dO
    seeds.append(case(1, 1, 0, 0, 0, 2, 2, 2, 2, 9, bytes([1]), variant(), 0,
                      [normal(1), normal(2), elements([0xf0] + list(b'\x00' * 6 + b'\xf8\x7f')),
                       normal(4)]))
    seeds.append(case(1, 1, 0, 1, 0, 2, 2, 2, 2, 9, bytes([1]), variant(), 0,
                      [normal(1), normal(2), normal(3),
                       elements([0xf0] + list(b'\x00' * 6 + b'\xf0\x7f'))]))
    return seeds


def tiny_seeds():
    """moments: n, m <= 5, d <= 3 (its decoder limits), both rules."""
    seeds = []
    for k in range(16):
        seeds.append(case(1, 1, k & 1, 0, 0, 1 + k % 4, 1 + (k * 3) % 5, 1 + k % 3, 1 + (k + 1) % 3,
                          500 + k, bytes([[1, 2, 4, 9, 40, 0, 5, 3][k % 8]]), 0, k & 1,
                          [normal(k, 11 if k % 5 == 0 else 0), normal(k + 7), normal(k + 8),
                           normal(k + 9)]))
    return seeds


def mask_seeds():
    seeds = []
    for k in range(16):
        base = case(1 + (k & 1), 1 + (k >> 1 & 1), k >> 2 & 1, k >> 3 & 1, 0, 3 + k % 5,
                    2 + k % 7, 1 + k % 4, 1 + k % 5, 900 + k, bytes([1]), variant(1, k % 3, k),
                    0)
        density = bytes([[128, 40, 250, 0][k % 4]])
        body = bytes((37 * i + k) % 256 for i in range(400))
        corrupt = bytes([0 if k < 6 else 128 + k, k, k + 1, 7])
        seeds.append(base + density + body + corrupt)
    return seeds


def port_choices(u=0, canon=1, prec=0, part=0, factor=0, index=0, row=0, key=0, op=0, at=0,
                 value=0):
    """check_port's bytes after the case: options, the moved element, the
    toggled entry and the CSR corruption (fuzz/check_port.c, decode_choices)."""
    return (bytes([u | (canon << 2) | (prec << 3), part | (factor << 2)]) +
            struct.pack('<Q', index) + bytes([row, key, op, at, value]))


def port_seeds():
    """check_port: B, H <= 2, n, m <= 12, d, dv <= 4; every part with every
    factor, every unit roundoff and precision, every corruption."""
    shapes = [(1, 1, 4, 4, 3, 3), (2, 2, 5, 7, 4, 2), (1, 2, 9, 3, 2, 4), (2, 1, 12, 12, 4, 1),
              (1, 1, 1, 1, 1, 1), (1, 1, 7, 11, 1, 3)]
    cmodes = [bytes([2]), bytes([0]), bytes([7]), bytes([4]), bytes([40]), bytes([150]),
              bytes([9]), bytes([1])]
    seeds = []
    for k in range(36):
        B, H, n, m, d, dv = shapes[k % len(shapes)]
        seeds.append(case(B, H, (k >> 1) & 1, 0, 0, n, m, d, dv, 3000 + k, cmodes[k % 8], 0,
                          (k >> 2) & 1, [normal(k), normal(k + 1), normal(k + 2), normal(k + 3)])
                     + port_choices(k % 4, (k >> 2) & 1, (k // 4) % 4, k % 4, (k // 4) % 8,
                                    7 * k + 1, 5 * k, 3 * k + 1, k % 9, (11 * k) % 256, k))
    # ties (equal weights, c = u_ij len) and identical keys, canonical
    for t in range(3):
        tie = bytes([16 + t, 0, 0, t, t % 4])
        seeds.append(case(1, 1, 0, 0, 0, 3, 4, 3, 2, 71 + t, tie, 0, 0,
                          [zeros(), normal(6 + t), normal(8), normal(9)])
                     + port_choices(t, 1, 0, 0, 2 + t, 1, t, t, 7, 3, 1))
    # special values, tiny and huge budgets, logits beyond the linear model
    specials = list(range(0xc0, 0xf0))
    for s in range(4):
        vals = [specials[(7 * i + 5 * s) % len(specials)] if i % 3 == s % 3 else 96 + i % 30
                for i in range(64)]
        seeds.append(case(1, 1, s & 1, 0, 0, 4, 5, 3, 2, 5 + s, bytes([[10, 12, 13, 14][s]]),
                          0, s & 1, [elements(vals[:12]), elements(vals[12:27]),
                                     elements(vals[27:37]), quarter(s)])
                     + port_choices(s, 1, 2 + (s & 1), s, s, s, s, s, s, s, s))
    for mag in (4, 6, 8):
        seeds.append(case(1, 1, 1, 0, 0, 6, 6, 2, 3, mag, bytes([3]), 0, 0,
                          [normal(1, mag), normal(2, mag), normal(3), normal(4)])
                     + port_choices(1, 1, 3, 1, 2, 9, 1, 2, 3, 4, 5))
    # refusals: c <= 0, a NaN in V, a non-finite scale
    for c in (-1.0, 0.0):
        seeds.append(case(1, 1, 0, 0, 0, 3, 3, 2, 2, 3, bytes([200]) + struct.pack('<d', c), 0,
                          0) + port_choices())
    seeds.append(case(1, 1, 0, 0, 0, 2, 2, 2, 2, 9, bytes([1]), 0, 0,
                      [normal(1), normal(2), elements([0xf0] + list(b'\x00' * 6 + b'\xf8\x7f')),
                       normal(4)]) + port_choices())
    seeds.append(case(1, 1, 0, 0, 15, 2, 2, 2, 2, 9,
                      struct.pack('<d', float('inf')) + bytes([1]), 0, 0) + port_choices())
    return seeds


def cli_seeds():
    args = [
        [0, '--q', 'Q.npy', '--k', 'K.npy', '--v', 'V.npy', '--do', 'dO.npy', '--out', 'o'],
        [0, '--q=Q.npy', '--k', 'K', '--v', 'V', '--do', 'D', '--out', 'o', '--prec', '0',
         '--causal', '--scale', '0x1p-3', '--mag'],
        [0, '--q', 'a', '--k', 'b', '--v', 'c', '--do', 'd', '--out', 'o', '--impl', 'fast',
         '--dtype', 'f32'],
        [0, '--help'],
        [1, '--q', 'Q', '--k', 'K', '--c', 'inf', '--seed', '0xffffffffffffffff', '--out', 'm'],
        [1, '--q', 'Q', '--k', 'K', '--c', '1e-300', '--seed', '18446744073709551616', '--out', 'm'],
        [2, '--q', 'Q', '--k', 'K', '--v', 'V', '--do', 'D', '--mask', 'M', '--out', 'o'],
        [2, '--q', 'Q', '--k', 'K', '--v', 'V', '--do', 'D', '--c', '3', '--seed', '7',
         '--rule', 'waterfill', '--out', 'o', '--mag'],
        [3, '--q', 'Q', '--k', 'K', '--v', 'V', '--do', 'D', '--c', '2.5', '--prec', '64',
         '--enumerate', '--out', 'o'],
        [3, '--q', 'Q', '--q', 'Q2', '--c', 'nan', 'extra'],
        [4, '--n', '64', '--d', '16', '--c', '32', '--m', '128', '--dv', '8', '--causal',
         '--dtype', 'f64', '--threads', '2', '--simd', 'avx2', '--reps', '1', '--json'],
        [4, '--n', '-1', '--d', '99999999999999999999', '--c', '-inf'],
        [5, '0', '-0', '1e308', '1e309', 'inf', '+INFINITY', 'nan', '0x10', ' 5', '5 ',
         '18446744073709551615', 'minc', 'waterfill', ''],
        [3, 'x\ny'],  # regression: a newline in an argument split the one-line error
    ]
    out = []
    for a in args:
        out.append(bytes([a[0]]) + b'\0'.join(s.encode() for s in a[1:]))
    return out


def npy_seeds():
    src = os.path.join(HERE, '..', 'tests', 'npy_corpus')
    out = []
    for name in sorted(os.listdir(src)):
        if name.endswith('.npy'):
            with open(os.path.join(src, name), 'rb') as f:
                data = f.read()
            out.append(b'\x01' + data)
            out.append(b'\x00' + data)
    return out


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith('seed-'):
            os.remove(os.path.join(d, name))
    for s in seeds:
        with open(os.path.join(d, 'seed-' + hashlib.sha1(s).hexdigest()[:16]), 'wb') as f:
            f.write(s)


def main():
    att = attention_seeds()
    write('diff_fast_ref', att)
    write('sampler', att)
    write('diff_ref_mpfr', att)
    write('mask_csr', mask_seeds())
    write('moments', tiny_seeds())
    write('check_port', port_seeds())
    write('cli', cli_seeds())
    write('npy', npy_seeds())


if __name__ == '__main__':
    main()
