"""The deliberately broken twins of sus_attention.py, for proving that
`sus check` (and `sus report --port`) tell a wrong port from a right one.
Each changes exactly one thing:

  d-masked  D_i = dO_i . O~_i from the masked output O~ = sum_j W~_ij V_j
            instead of the exact O: squares the mask, biases dQ and dK (dV
            is untouched); `sus check` fails on dQ and dK.
  no-cap    q = c W without the cap min(1, .), so a kept entry carries
            W/q = 1/c even where W > 1/c (and is kept anyway, since u < 1):
            the kept set is right and the outputs follow the wrong W~;
            `sus check` fails on W~.
"""

import math

import torch

from sus_attention import Minc, sus_attention


class DMasked(Minc):
    @staticmethod
    def row_d(dO, O, masked_output):
        del O
        return (dO * masked_output()).sum(-1)


class NoCap(Minc):
    @staticmethod
    def probs(W, c, allowed):
        if math.isinf(c):
            return allowed.to(W.dtype), W
        q = c * W
        return q, torch.where(q > 0, W / torch.where(q > 0, q, torch.ones_like(q)), q)


BROKEN = {"d-masked": DMasked, "no-cap": NoCap}


def broken_attention(kind, *args, **kwargs):
    """sus_attention with the defect named kind ('d-masked' or 'no-cap')."""
    return sus_attention(*args, _impl=BROKEN[kind], **kwargs)
