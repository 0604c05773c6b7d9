#!/usr/bin/env python3
"""Writes the built-in example of README.md: a small causal attention
problem (B=1, H=2, n=6, m=6, d=4, dv=3) in float64, from a fixed seed.
Run with /usr/bin/python3 (Debian's python3-numpy); the output is committed."""
import os

import numpy as np

rng = np.random.default_rng(20261128)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny")
os.makedirs(here, exist_ok=True)
shapes = {"Q": (1, 2, 6, 4), "K": (1, 2, 6, 4), "V": (1, 2, 6, 3), "dO": (1, 2, 6, 3)}
for name, shape in shapes.items():
    np.save(os.path.join(here, name + ".npy"), rng.standard_normal(shape))
