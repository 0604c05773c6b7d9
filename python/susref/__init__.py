"""susref: the sus oracle for SUS backprop from Python (numpy + ctypes).

A thin binding over libsus.so (built by `make` in the sus checkout). The
library is found through the SUS_LIB environment variable, or next to this
package (susref/libsus.so), or in the checkout's build/ directory.

Arrays are numpy arrays, 2-D ([n, d], meaning B = H = 1) or 4-D
([B, H, n, d]), of any float dtype; they are converted to C-contiguous
float64 (copied when they are not already), and results come back as float64
arrays of the inputs' rank. Shapes are checked in Python (ValueError), dtypes
too (TypeError); errors found by the library raise SusError with its
one-line message.

    exact_grad          exact O, lse, dQ, dK, dV (MPFR, certified, or double)
    canonical_uniforms  the u_ij of the canonical mask (DESIGN.md 2.4)
    mask                the canonical mask of (c, seed) as a CSR
    sample              one SUS estimate under a mask
    moments             the estimator's exact mean and variance
    bounds              the DESIGN.md 3 bound of every output element
    check, check_dir    one run of a port against the oracle (`sus check`)
"""

from ._api import (Mask, bounds, canonical_uniforms, exact_grad, mask, moments,
                   sample, version)
from ._check import CheckReport, Element, Entry, check, check_dir
from ._lib import SusError

__all__ = ["Mask", "bounds", "canonical_uniforms", "exact_grad", "mask", "moments",
           "sample", "version", "CheckReport", "Element", "Entry", "check",
           "check_dir", "SusError"]
