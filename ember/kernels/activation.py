"""Activation kernels: ``ember.ops.activation``'s GELU block by block, on arrays.

The exact GELU in float32 is about twenty NumPy passes (erf's rational approximation by
Horner's rule, then x * Phi(x)), and its backward another eight. Over a whole activation
((12, 64, 512) in the GPT recipe's MLP: 1.5 MiB) each pass streams the array through memory.
``gelu`` runs the same passes (``gelu_cdf`` and ``gelu_derivative``, the reference's own
functions) on blocks of ``BLOCK`` elements that stay in the core's cache, the blocks shared
among ember's threads, and also computes the derivative while the block is in cache, so that
backward is one multiply. The values are the reference's, bit for bit: the same operations on
the same elements.
"""
import numpy as np

from ..ops import activation as _ref  # (a module: it imports this one)
from ..ops._parallel import parallel_for
from ..ops._util import empty_as, flat

__all__ = ["gelu", "BLOCK"]

BLOCK = 1 << 14  # elements per block: ~10 float32 temporaries of 64 KiB stay in L2


def blocked(fn, n):
    """``fn(start, stop)`` over consecutive blocks of ``range(n)``, the blocks split over threads."""
    nblocks = -(-n // BLOCK)

    def run(b0, b1):
        for b in range(b0, b1):
            fn(b * BLOCK, min(n, (b + 1) * BLOCK))

    parallel_for(run, nblocks, work=n)


def gelu(x, approximate, with_grad):
    """(GELU(x), its derivative or None); (None, None) where the kernel does not apply (not a
    dense float32/float64 array, or small enough that blocks would not pay)."""
    xf = flat(x) if x.dtype in (np.float32, np.float64) and x.size >= 2 * BLOCK else None
    if xf is None:
        return None, None
    y = empty_as(x)
    d = empty_as(x) if with_grad else None
    yf, df = flat(y), None if d is None else flat(d)

    def part(s, e):
        xs = xf[s:e]
        c, t = _ref.gelu_cdf(xs, approximate)
        if df is not None:
            df[s:e] = _ref.gelu_derivative(np, xs, c, t, approximate)
        np.multiply(xs, c, out=yf[s:e])

    blocked(part, xf.size)
    return y, d
