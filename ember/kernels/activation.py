"""Activation kernels: ``ember.ops.activation``'s GELU in fewer passes, on arrays.

The reference GELU is a chain of NumPy expressions, each a pass over the whole activation
with a new array: the tanh form is about twenty (clip, the cubic, tanh, Phi, x * Phi, then
the derivative's polynomial again in backward), the exact form about thirty (erf's rational
approximation by Horner's rule). ``gelu`` computes the derivative in forward, while x is at
hand, so that backward is one multiply; for the tanh form it runs the minimum of passes in
place on three arrays (``_tanh_part``); for the exact form in float32 an erf as tanh of a
fitted odd polynomial (``_exact_part``: fewer passes than the reference's rational function,
and as accurate), in float64 the reference's own functions.
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


# erf(u) ~ tanh(u P(u^2)) on |u| <= 4 (beyond, erf is +-1 in float32), P of degree 6 (highest
# first): atanh(erf(u)) / u fitted by least squares weighted towards the minimax of the erf error,
# (1 - erf(u)^2) u |P - atanh(erf(u)) / u|, on 20001 points of [0, 4]. Max error of erf 5.8e-8.
_ERF_TANH = np.array([1.589857423e-07, -5.986135909e-06, 8.971523403e-05, -6.257262566e-04, -1.843764767e-04, 1.027654786e-01, 1.128379706e+00], np.float32)
_SQRT1_2 = np.float32(_ref._SQRT1_2)
_LOG_INV_SQRT2PI = np.float32(np.log(_ref._INV_SQRT2PI))


def _exact_part(x, y, d):
    """The exact GELU and its derivative on one part: float32 through ``_ERF_TANH`` (24 passes
    where the reference's erf makes 37; 1.0 against 1.4 ms on 196608 values, one thread, and
    nearer to the true GELU: max error 5.7e-7 against 1.2e-6 on [-12, 12]); float64 with the
    reference's own functions."""
    if x.dtype != np.float32:
        c, t = _ref.gelu_cdf(x, "none")
        if d is not None:
            d[...] = _ref.gelu_derivative(np, x, c, t, "none")
        np.multiply(x, c, out=y)
        return
    with np.errstate(over="ignore", invalid="ignore"):
        u = x * _SQRT1_2
        z = u * u  # x^2 / 2
        e = None
        if d is not None:
            e = np.subtract(_LOG_INV_SQRT2PI, z)
            np.exp(e, out=e)  # phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        # P is evaluated on [0, 16] only; beyond, u P(16) grows with |u|, so that tanh reaches
        # +-1 exactly (from |u| = 4.11; NumPy's float32 tanh is 1 from 10 on)
        np.minimum(z, np.float32(16.0), out=z)
        p = np.multiply(z, _ERF_TANH[0], out=y)  # Horner's rule in y's place
        for a in _ERF_TANH[1:-1]:
            p += a
            p *= z
        p += _ERF_TANH[-1]
        p *= u
        np.tanh(p, out=p)  # erf(x / sqrt(2))
        p *= 0.5
        p += 0.5  # Phi(x)
        if d is not None:  # Phi + x phi(x), x clipped as the reference's (inf * 0 would be NaN)
            np.clip(x, -_BIG, _BIG, out=d)
            d *= e
            d += p
        p *= x


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
