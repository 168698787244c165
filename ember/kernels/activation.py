"""Activation kernels: ``ember.ops.activation``'s GELU in fewer passes, on arrays.

The reference GELU is a chain of NumPy expressions, each a pass over the whole activation
with a new array: the tanh form is about twenty (clip, the cubic, tanh, Phi, x * Phi, then
the derivative's polynomial again in backward), the exact form about thirty (erf's rational
approximation by Horner's rule). ``gelu`` computes the derivative in forward, while x is at
hand, so that backward is one multiply; for the tanh form it runs the minimum of passes in
place on three arrays (``_tanh_part``), for the exact form the reference's own functions.
The work is cut into one contiguous part per thread: NumPy releases the GIL inside each
ufunc, so the parts run in parallel, and big parts keep the GIL hand-offs few (small
blocks made two threads slower than one: each of their ~20 short ufunc calls waited for the
GIL). Tested against the reference in ``tests/nn/test_kernels_activation.py``.
"""
import numpy as np

from ..ops import activation as _ref  # (a module: it imports this one)
from ..ops._parallel import num_threads, parallel_for
from ..ops._util import empty_as, flat

__all__ = ["gelu", "MIN_SIZE"]

MIN_SIZE = 1 << 12  # elements below which the reference runs (its few passes are cheap there)

_K, _C, _BIG = _ref._GELU_K, _ref._GELU_C, _ref._BIG


def _tanh_part(x, y, d):
    """y = x Phi(x) with Phi ~ (1 + t) / 2, t = tanh(K x (1 + C x^2)); d = dy/dx (if wanted):
    Phi + x (1 - t^2) K (1 + 3 C x^2) / 2. Nine passes forward, six more for d."""
    xc = np.clip(x, -_BIG, _BIG)  # t is +-1 beyond; keeps x^3 (and so d) finite
    t = xc * xc
    t *= _K * _C
    t += _K
    t *= xc
    np.tanh(t, out=t)
    c = t * 0.5
    c += 0.5
    np.multiply(x, c, out=y)
    if d is not None:
        np.multiply(t, t, out=t)
        np.subtract(1, t, out=t)  # 1 - t^2
        np.multiply(xc, xc, out=d)
        d *= 1.5 * _K * _C
        d += 0.5 * _K
        d *= xc
        d *= t
        d += c


def _exact_part(x, y, d):
    """The reference's exact GELU and its derivative on one part."""
    c, t = _ref.gelu_cdf(x, "none")
    if d is not None:
        d[...] = _ref.gelu_derivative(np, x, c, t, "none")
    np.multiply(x, c, out=y)


def gelu(x, approximate, with_grad):
    """(GELU(x), its derivative or None); (None, None) where the kernel does not apply (not a
    dense float32/float64 array, or below ``MIN_SIZE`` elements)."""
    xf = flat(x) if x.dtype in (np.float32, np.float64) and x.size >= MIN_SIZE else None
    if xf is None:
        return None, None
    y = empty_as(x)
    d = empty_as(x) if with_grad else None
    yf, df = flat(y), None if d is None else flat(d)
    part = _tanh_part if approximate == "tanh" else _exact_part
    n, k = xf.size, num_threads()

    def run(p0, p1):  # parts p0..p1 of k
        s, e = n * p0 // k, n * p1 // k
        part(xf[s:e], yf[s:e], None if df is None else df[s:e])

    parallel_for(run, k, work=n)
    return y, d
