"""Special functions NumPy lacks, on float arrays: lgamma, digamma, polygamma, erfc, erfinv.

Each is evaluated in float64 and returned in its input's dtype (float32 rounds the float64
value). The methods: lgamma by the recurrence up to x >= 8 and Stirling's series, reflection
below 0; digamma and polygamma by the recurrence up to x >= 10 (20) and their asymptotic
series (Euler-Maclaurin), reflection below 0; erfc by Cephes' rational approximations (ndtr.c,
S. L. Moshier); erfinv by a closed-form first guess (Winitzki) and two Halley steps on erf.
"""
import math

import numpy as np

from .activation import _P, _Q, _erf, _polyval

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# Stirling: lgamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + sum B_2k / (2k (2k-1) x^(2k-1))
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_BERN = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)  # B_2, B_4, ...
# Cephes ndtr.c: erfc(x) = exp(-x^2) R(x) / S(x) for x >= 8
_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)


def _in64(fn):
    def wrapped(x, *args):
        x = np.asarray(x)
        x64 = x.astype(np.float64, copy=False)
        with np.errstate(all="ignore"):
            y = np.asarray(fn(x64, *args))
        return y if x.dtype == np.float64 else y.astype(x.dtype if x.dtype.kind == "f" else np.float32)

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


def _shift_up(x, bound, step):
    """x raised by whole steps until >= bound; ``step(acc, w, m)`` accumulates what each
    step removes (m: where a step is taken)."""
    w = x.copy()
    acc = None
    while True:
        m = w < bound
        if not m.any():
            return w, acc
        acc = step(acc, w, m)
        w = np.where(m, w + 1, w)


@_in64
def lgamma(x):
    """log |Gamma(x)|; +inf at 0, the negative integers and +-inf."""
    neg = x < 0
    z = np.where(neg, 1 - x, x)
    z = np.where(np.isfinite(z), z, 1.0)

    def step(acc, w, m):
        acc = np.ones_like(w) if acc is None else acc
        return np.where(m, acc * w, acc)

    w, acc = _shift_up(z, 8.0, step)
    t = 1 / w
    t2 = t * t
    s = _polyval(_STIRLING[::-1], t2) * t
    y = (w - 0.5) * np.log(w) - w + _HALF_LOG_2PI + s
    if acc is not None:
        y = y - np.log(np.abs(acc))
    r = x - np.round(x)  # sin(pi x) = +-sin(pi r), r exact
    refl = np.log(math.pi / np.abs(np.sin(math.pi * r))) - y
    y = np.where(neg, refl, y)
    y = np.where((x <= 0) & (x == np.floor(x)), np.inf, y)
    y = np.where(np.isinf(x), np.inf, y)
    return np.where(np.isnan(x), np.nan, y)


@_in64
def digamma(x):
    """d/dx log Gamma(x); -inf at 0, NaN at the negative integers and -inf."""
    neg = x < 0
    z = np.where(neg, 1 - x, x)
    z = np.where(np.isfinite(z) & (z != 0), z, 1.0)

    def step(acc, w, m):
        acc = np.zeros_like(w) if acc is None else acc
        return np.where(m, acc + 1 / w, acc)

    w, acc = _shift_up(z, 10.0, step)
    t2 = 1 / (w * w)
    series = t2 * _polyval([b / (2 * k + 2) for k, b in enumerate(_BERN[:7])][::-1], t2)
    y = np.log(w) - 0.5 / w - series
    if acc is not None:
        y = y - acc
    r = x - np.round(x)
    y = np.where(neg, y - math.pi / np.tan(math.pi * r), y)
    y = np.where(x == 0, -np.copysign(np.inf, x), y)  # -inf at +0, +inf at -0, as PyTorch
    y = np.where(neg & (x == np.floor(x)), np.nan, y)
    y = np.where(x == np.inf, np.inf, np.where(x == -np.inf, np.nan, y))
    return np.where(np.isnan(x), np.nan, y)


def _poly_sum(x, n):
    """sum over k >= 0 of 1 / (x + k)^(n+1), for x > 0 (recurrence, then Euler-Maclaurin)."""
    def step(acc, w, m):
        acc = np.zeros_like(w) if acc is None else acc
        return np.where(m, acc + w ** -(n + 1.0), acc)

    w, acc = _shift_up(x, 20.0, step)
    tail = w ** -float(n) / n + 0.5 * w ** -(n + 1.0)
    rising = 1.0  # (n+1)(n+2)...(n+2j-1)
    fact = 1.0  # (2j)!
    for j, b in enumerate(_BERN, start=1):
        rising *= (n + 2 * j - 1) * (n + 2 * j - 2) if j > 1 else (n + 1)
        fact *= (2 * j) * (2 * j - 1)
        tail = tail + b * rising / fact * w ** -(n + 2.0 * j)
    return tail if acc is None else tail + acc


@_in64
def polygamma(x, n):
    """The n-th derivative of digamma (n >= 1)."""
    sgn = 1.0 if n % 2 else -1.0  # (-1)^(n+1)
    fact = float(math.factorial(n))
    pole = (x <= 0) & (x == np.floor(x))
    neg = (x < 0) & ~pole
    xs = np.where(np.isfinite(x) & ~pole, x, 1.0)
    if n in (1, 2) and neg.any():
        # reflection: psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x);
        # psi2(x) = psi2(1 - x) - 2 pi^3 cot(pi x) / sin^2(pi x)
        z = np.where(neg, 1 - xs, xs)
        y = sgn * fact * _poly_sum(z, n)
        r = xs - np.round(xs)
        s2 = np.sin(math.pi * r) ** 2
        if n == 1:
            y = np.where(neg, math.pi ** 2 / s2 - y, y)
        else:
            y = np.where(neg, y - 2 * math.pi ** 3 / np.tan(math.pi * r) / s2, y)
    else:
        y = sgn * fact * _poly_sum(xs, n)
    y = np.where(pole, np.inf if n % 2 else np.nan, y)
    y = np.where(x == np.inf, 0.0, np.where(x == -np.inf, np.nan, y))
    return np.where(np.isnan(x), np.nan, y)


@_in64
def erfc(x):
    """1 - erf(x), with full relative precision for large x."""
    a = np.abs(x)
    ab = np.clip(a, 1.0, 30.0)
    big = np.exp(-(ab * ab)) * np.where(ab < 8, _polyval(_P, ab) / _polyval(_Q, ab), _polyval(_R, ab) / _polyval(_S, ab))
    big = np.where(a > 27.3, 0.0, big)
    big = np.where(x < 0, 2 - big, big)
    small = 1 - _erf(np.clip(x, -1.0, 1.0))
    return np.where(a < 1, small, big)


@_in64
def erfinv(y):
    """The inverse of erf on [-1, 1]: +-inf at +-1, NaN outside."""
    a = np.abs(y)
    ok = a < 1
    ac = np.where(ok, a, 0.5)
    ln = np.log((1 - ac) * (1 + ac))
    c = 2 / (math.pi * 0.147) + ln / 2
    x = np.sqrt(np.sqrt(c * c - ln / 0.147) - c)
    for _ in range(2):  # the guess is within 2e-3: two cubic steps reach float64's precision
        f = np.where(x < 1, _erf(x) - ac, (1 - ac) - erfc(x))
        fp = (2 / math.sqrt(math.pi)) * np.exp(-x * x)
        x = x - f / (fp + x * f)
    x = np.where(a == 1, np.inf, np.where(ok, x, np.nan))
    return np.copysign(x, y)
