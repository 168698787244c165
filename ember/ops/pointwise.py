"""Elementwise math beyond arithmetic: trigonometric and hyperbolic functions, rounding, logs
and exponentials, special functions (erfc, erfinv, lgamma, digamma, polygamma), and the
two-operand functions (atan2, hypot, remainder, fmod, xlogy, copysign, logaddexp, ...).

A one-input function is a ``_Unary`` subclass: its forward ``f`` on arrays, its derivative
``df(xp, x, y)`` written with ``xp`` (``_A``, NumPy and the special functions, in an ordinary
backward; ``_T``, these ops on Tensors, when the backward is recorded), so the same line gives
every order. Integer and bool inputs to float functions give the default float dtype, as in
PyTorch; rounding and sign keep integers.
"""
import math
import types

import numpy as np

from .. import backend
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from . import _special
from ._util import array_of, as_tensor, keep_grad, write_out
from .activation import erf
from .elementwise import _pair, _unb, cast, clip, exp, log, pow, sqrt, where

_LN2, _LN10, _PI = math.log(2), math.log(10), math.pi
_2_SQRTPI = 2 / math.sqrt(math.pi)


def _floating(a):
    """``a`` as a Tensor of a float dtype: integers and bools become the default float dtype."""
    a = as_tensor(a)
    if a._data.dtype.kind not in "fc":
        return from_op(a._data.astype(backend.get_default_dtype()), None)
    return a


class _Unary(Function):
    dual = True
    keep = "x"  # what the derivative reads: "x" the input, "y" the output, "xy" both

    @staticmethod
    def f(a):
        raise NotImplementedError

    @staticmethod
    def df(xp, x, y):
        raise NotImplementedError

    def forward(self, a):
        with np.errstate(all="ignore"):
            y = np.asarray(self.f(a))
        k = self.keep
        self.save_for_backward(a if "x" in k else None, y if "y" in k else None)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        with np.errstate(all="ignore"):
            return gy * self.df(_T if self._graph else _A, x, y)


def _unary(name, f, df, keep="x", floating=True, doc=None):
    """Make the Function ``name`` and its public function."""
    cls = type(name, (_Unary,), {"f": staticmethod(f), "df": staticmethod(df), "keep": keep})

    def fn(input, *, out=None):
        y = cls.apply(_floating(input) if floating else as_tensor(input))
        return y if out is None else write_out(y, out, fn.__name__, exact=not floating)

    fn.__name__ = fn.__qualname__ = name.lower()
    fn.__doc__ = doc
    return cls, fn


Sin, sin = _unary("Sin", np.sin, lambda xp, x, y: xp.cos(x), doc="sin(x)")
Cos, cos = _unary("Cos", np.cos, lambda xp, x, y: -xp.sin(x), doc="cos(x)")
Tan, tan = _unary("Tan", np.tan, lambda xp, x, y: 1 + y * y, "y", doc="tan(x)")
Asin, asin = _unary("Asin", np.arcsin, lambda xp, x, y: 1 / xp.sqrt(1 - x * x), doc="arcsin(x)")
Acos, acos = _unary("Acos", np.arccos, lambda xp, x, y: -1 / xp.sqrt(1 - x * x), doc="arccos(x)")
Atan, atan = _unary("Atan", np.arctan, lambda xp, x, y: 1 / (1 + x * x), doc="arctan(x)")
Sinh, sinh = _unary("Sinh", np.sinh, lambda xp, x, y: xp.cosh(x), doc="sinh(x)")
Cosh, cosh = _unary("Cosh", np.cosh, lambda xp, x, y: xp.sinh(x), doc="cosh(x)")
Asinh, asinh = _unary("Asinh", np.arcsinh, lambda xp, x, y: 1 / xp.sqrt(x * x + 1), doc="arcsinh(x)")
Acosh, acosh = _unary("Acosh", np.arccosh, lambda xp, x, y: 1 / xp.sqrt(x * x - 1), doc="arccosh(x)")
Atanh, atanh = _unary("Atanh", np.arctanh, lambda xp, x, y: 1 / (1 - x * x), doc="arctanh(x)")
Log1p, log1p = _unary("Log1p", np.log1p, lambda xp, x, y: 1 / (x + 1), doc="log(1 + x), precise near 0")
Log2, log2 = _unary("Log2", np.log2, lambda xp, x, y: 1 / (x * _LN2), doc="log base 2")
Log10, log10 = _unary("Log10", np.log10, lambda xp, x, y: 1 / (x * _LN10), doc="log base 10")
Expm1, expm1 = _unary("Expm1", np.expm1, lambda xp, x, y: y + 1, "y", doc="exp(x) - 1, precise near 0")
Exp2, exp2 = _unary("Exp2", np.exp2, lambda xp, x, y: y * _LN2, "y", doc="2 ** x")
Rsqrt, rsqrt = _unary("Rsqrt", lambda a: 1 / np.sqrt(a), lambda xp, x, y: -0.5 * (y * y * y), "y", doc="1 / sqrt(x)")
Reciprocal, reciprocal = _unary("Reciprocal", np.reciprocal, lambda xp, x, y: -(y * y), "y", doc="1 / x")
Erfc, erfc = _unary("Erfc", _special.erfc,
                    lambda xp, x, y: -_2_SQRTPI * xp.exp(-xp.square(xp.clip(x, -40, 40))), doc="1 - erf(x)")
Erfinv, erfinv = _unary("Erfinv", _special.erfinv, lambda xp, x, y: (0.5 * math.sqrt(math.pi)) * xp.exp(y * y), "y",
                        doc="the inverse of erf")
Lgamma, lgamma = _unary("Lgamma", _special.lgamma, lambda xp, x, y: xp.digamma(x), doc="log |Gamma(x)|")
Digamma, digamma = _unary("Digamma", _special.digamma, lambda xp, x, y: xp.polygamma(1, x),
                          doc="the derivative of lgamma")
Sinc, sinc = _unary(
    "Sinc", lambda a: np.sinc(a),
    lambda xp, x, y: xp.where(array_of(x) == 0, 0, (xp.cos(_PI * x) - y) / xp.where(array_of(x) == 0, 1, x)),
    "xy", doc="sin(pi x) / (pi x), 1 at 0")
Frac, frac = _unary("Frac", lambda a: a - np.trunc(a), lambda xp, x, y: 1, "", floating=False,
                    doc="x - trunc(x)")


class Polygamma(Function):
    dual = True

    def forward(self, a, n):
        self.n = n
        self.save_for_backward(a)
        return _special.polygamma(a, n)

    def backward(self, gy):
        (a,) = self.saved_tensors
        return gy * (polygamma(self.n + 1, a) if self._graph else _special.polygamma(a, self.n + 1))


def polygamma(n, input, *, out=None):
    """The n-th derivative of digamma (n = 0: digamma itself)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n, got {n!r}")
    if n == 0:
        y = digamma(input)
        return y if out is None else write_out(y, out, "polygamma")
    y = Polygamma.apply(_floating(input), n=int(n))
    return y if out is None else write_out(y, out, "polygamma")


class _Step(Function):
    """A piecewise-constant function (floor, ceil, round, trunc, sign): gradient 0, as PyTorch."""

    dual = True

    def forward(self, a, f):
        return np.asarray(f(a))

    def backward(self, gy):
        return (_T if self._graph else _A).zeros_like(gy)


def _step(f, input):
    a = as_tensor(input)
    if a._data.dtype.kind not in "fc":  # integers are their own floor, ceil, round, trunc
        return from_op(np.asarray(f(a._data)).astype(a._data.dtype), None)
    return _Step.apply(a, f=f)


def floor(input, *, out=None):
    """The largest integer <= x (integers unchanged); gradient 0."""
    y = _step(np.floor, input)
    return y if out is None else write_out(y, out, "floor", exact=True)


def ceil(input, *, out=None):
    """The smallest integer >= x; gradient 0."""
    y = _step(np.ceil, input)
    return y if out is None else write_out(y, out, "ceil", exact=True)


def trunc(input, *, out=None):
    """x rounded toward 0; gradient 0."""
    y = _step(np.trunc, input)
    return y if out is None else write_out(y, out, "trunc", exact=True)


fix = trunc


def round(input, *, decimals=0, out=None):
    """x rounded to ``decimals`` places, half to even, as PyTorch; gradient 0."""
    y = _step(np.rint if decimals == 0 else (lambda a: np.round(a, decimals)), input)
    return y if out is None else write_out(y, out, "round", exact=True)


def sign(input, *, out=None):
    """-1, 0 or 1 (0 at NaN, as PyTorch); bools stay bools; gradient 0."""
    a = as_tensor(input)
    if a._data.dtype == np.bool_:
        y = from_op(a._data.copy(), None)
        return y if out is None else write_out(y, out, "sign", exact=True)
    y = _step(lambda v: np.nan_to_num(np.sign(v), nan=0.0) if v.dtype.kind == "f" else np.sign(v), a)
    return y if out is None else write_out(y, out, "sign", exact=True)


sgn = sign


def signbit(input, *, out=None):
    """Whether the sign bit is set (True for -0.0); a bool tensor."""
    y = from_op(np.signbit(as_tensor(input)._data), None)
    return y if out is None else write_out(y, out, "signbit", exact=True)


def square(input, *, out=None):
    """x * x (integers stay integers)."""
    a = as_tensor(input)
    if a._data.dtype == np.bool_:
        a = cast(a, np.int64)
    y = pow(a, 2)
    return y if out is None else write_out(y, out, "square")


# ----- two operands -----


def _float_pair(a, b):
    a, b = _pair(a, b)
    if a._data.dtype.kind not in "fc":
        a, b = _floating(a), _floating(b)
    return a, b


class _Binary(Function):
    dual = True

    def forward(self, a, b):
        with np.errstate(all="ignore"):
            y = np.asarray(self.f(a, b))
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        xp = _T if self._graph else _A
        with np.errstate(all="ignore"):
            ga, gb = self.grads(xp, gy, a, b, y)
        ga = _unb(ga, a.shape, a.dtype) if self.needs_grad(0) else None
        gb = _unb(gb, b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


class Atan2(_Binary):
    f = staticmethod(np.arctan2)

    def grads(self, xp, gy, a, b, y):
        g = gy / (a * a + b * b)
        return g * b, -g * a


class Hypot(_Binary):
    f = staticmethod(np.hypot)

    def grads(self, xp, gy, a, b, y):
        g = gy / y
        return g * a, g * b


class LogAddExp(_Binary):
    f = staticmethod(np.logaddexp)

    def grads(self, xp, gy, a, b, y):
        return gy * xp.exp(a - y), gy * xp.exp(b - y)


class Remainder(_Binary):
    """a - b floor(a / b), the sign of b (Python's %); fmod (``trunc``) takes a's sign."""

    f = staticmethod(np.remainder)
    rounding = staticmethod(np.floor)

    def grads(self, xp, gy, a, b, y):
        q = self.rounding(array_of(a) / array_of(b))
        return gy, -gy * q.astype(array_of(b).dtype)


class Fmod(Remainder):
    f = staticmethod(np.fmod)
    rounding = staticmethod(np.trunc)


class XLogY(_Binary):
    """x log(y), 0 where x == 0 (unless y is NaN)."""

    @staticmethod
    def f(a, b):
        return np.where((a == 0) & ~np.isnan(b), 0, a * np.log(b)).astype(np.result_type(a, b))

    def grads(self, xp, gy, a, b, y):
        nz = array_of(a) != 0
        return gy * xp.where(nz, xp.log(xp.where(nz, b, 1)), 0), gy * a / b


class Copysign(_Binary):
    """|a| with b's sign; the gradient of a is +-gy (0 where a == 0), b gets 0."""

    f = staticmethod(np.copysign)

    def grads(self, xp, gy, a, b, y):
        xa, xy = array_of(a), array_of(y)
        s = np.where(xa == 0, 0, np.where(np.signbit(xa) == np.signbit(xy), 1, -1)).astype(xa.dtype)
        return gy * s, xp.zeros_like(gy)


def atan2(input, other, *, out=None):
    """The angle of (other, input): arctan(input / other) in the right quadrant."""
    y = Atan2.apply(*_float_pair(input, other))
    return y if out is None else write_out(y, out, "atan2")


arctan2 = atan2


def hypot(input, other, *, out=None):
    """sqrt(input^2 + other^2), without overflow."""
    y = Hypot.apply(*_float_pair(input, other))
    return y if out is None else write_out(y, out, "hypot")


def logaddexp(input, other, *, out=None):
    """log(exp(input) + exp(other)), without overflow."""
    y = LogAddExp.apply(*_float_pair(input, other))
    return y if out is None else write_out(y, out, "logaddexp")


def logaddexp2(input, other, *, out=None):
    """log2(2^input + 2^other)."""
    a, b = _float_pair(input, other)
    y = logaddexp(a * _LN2, b * _LN2) / _LN2
    return y if out is None else write_out(y, out, "logaddexp2")


def _divmod_check(a, b, name):
    if a._data.dtype.kind in "iub" and b._data.dtype.kind in "iub" and not np.all(b._data):
        raise RuntimeError("ZeroDivisionError")
    return a, b


def remainder(input, other, *, out=None):
    """Python's modulus: input - other * floor(input / other), with other's sign."""
    y = Remainder.apply(*_divmod_check(*_pair(input, other), "remainder"))
    return y if out is None else write_out(y, out, "remainder")


def fmod(input, other, *, out=None):
    """C's fmod: input - other * trunc(input / other), with input's sign."""
    y = Fmod.apply(*_divmod_check(*_pair(input, other), "fmod"))
    return y if out is None else write_out(y, out, "fmod")


def xlogy(input, other, *, out=None):
    """input * log(other), 0 where input is 0."""
    y = XLogY.apply(*_float_pair(input, other))
    return y if out is None else write_out(y, out, "xlogy")


def copysign(input, other, *, out=None):
    """|input| with the sign of other (a float result)."""
    y = Copysign.apply(*_float_pair(input, other))
    return y if out is None else write_out(y, out, "copysign")


def lerp(input, end, weight, *, out=None):
    """input + weight * (end - input)."""
    y = input + weight * (end - input)
    return y if out is None else write_out(y, out, "lerp")


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 * tensor2."""
    p = tensor1 * tensor2
    y = input + (p if value == 1 else value * p)
    return y if out is None else write_out(y, out, "addcmul")


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """input + value * tensor1 / tensor2."""
    t1, t2 = as_tensor(tensor1), as_tensor(tensor2)
    if t1._data.dtype.kind in "iub" and t2._data.dtype.kind in "iub":
        raise RuntimeError("Integer division with addcdiv is no longer supported; use a float tensor")
    q = t1 / t2
    y = input + (q if value == 1 else value * q)
    return y if out is None else write_out(y, out, "addcdiv")


def _clamp_tensor(a, bound, lower):
    a, bound = _pair(a, bound)
    xa, xb = a._data, bound._data
    keep_a = (xa >= xb if lower else xa <= xb) | np.isnan(xa)
    return where(keep_a, a, bound)


def clamp_min(input, min):
    """max(input, min); the gradient passes where input >= min."""
    if isinstance(min, TensorBase):
        return _clamp_tensor(input, min, True)
    return clip(input, min, None)


def clamp_max(input, max):
    """min(input, max); the gradient passes where input <= max."""
    if isinstance(max, TensorBase):
        return _clamp_tensor(input, max, False)
    return clip(input, None, max)


def heaviside(input, values, *, out=None):
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0 (no gradient)."""
    a, v = as_tensor(input), as_tensor(values)
    if a._data.dtype != v._data.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes: "
                           f"got {a._data.dtype} and {v._data.dtype}")
    y = from_op(np.heaviside(a._data, v._data).astype(a._data.dtype), None)
    return y if out is None else write_out(y, out, "heaviside", exact=True)


def float_power(input, exponent, *, out=None):
    """input ** exponent computed in float64 (the result is float64)."""
    f64 = np.float64
    if isinstance(input, TensorBase):
        base = cast(input, f64)
    else:
        base = from_op(np.asarray(input, f64), None)
    if isinstance(exponent, TensorBase):
        y = pow(base, cast(exponent, f64))
        return y if out is None else write_out(y, out, "float_power", exact=True)
    y = pow(base, float(exponent))
    return y if out is None else write_out(y, out, "float_power", exact=True)


class NanToNum(Function):
    """NaN, +inf, -inf replaced; the gradient passes only where x is finite, as PyTorch."""

    dual = True

    def forward(self, a, nan, posinf, neginf):
        self.finite = np.isfinite(a)
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, gy):
        return keep_grad(gy, self.finite)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest), -inf -> ``neginf``."""
    a = as_tensor(input)
    if a._data.dtype.kind not in "fc":
        y = from_op(a._data.copy(), None)
        return y if out is None else write_out(y, out, "nan_to_num", exact=True)
    y = NanToNum.apply(a, nan=nan, posinf=posinf, neginf=neginf)
    return y if out is None else write_out(y, out, "nan_to_num", exact=True)


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)); with ``eps``, p is first clamped into [eps, 1 - eps]."""
    p = _floating(input)
    if eps is not None:
        p = clip(p, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, as PyTorch, silently
        y = log(p) - log1p(-p)
        return y if out is None else write_out(y, out, "logit")


# the namespaces derivatives are written with: arrays (NumPy and the special functions) and
# Tensors (these ops), so that one formula serves an ordinary and a recorded backward
_A = types.SimpleNamespace(
    sin=np.sin, cos=np.cos, sinh=np.sinh, cosh=np.cosh, sqrt=np.sqrt, exp=np.exp, log=np.log, square=np.square,
    clip=np.clip, where=np.where, zeros_like=np.zeros_like, digamma=_special.digamma,
    polygamma=lambda n, x: _special.polygamma(x, n),
)
_T = types.SimpleNamespace(
    sin=sin, cos=cos, sinh=sinh, cosh=cosh, sqrt=sqrt, exp=exp, log=log, square=lambda x: x * x,
    clip=clip, where=where, zeros_like=lambda x: from_op(np.zeros(x.shape, x.dtype), None), digamma=digamma,
    polygamma=polygamma,
)

arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def inplace_method(fn):
    """The in-place method ``x.<fn>_(...)`` of a function: ``fn`` written into x (the Tensor's
    in-place machinery: version bump, history rebased when the graph is recorded)."""

    def method(self, *args, **kwargs):
        return self._inplace(lambda t: fn(t, *args, **kwargs), *args, *kwargs.values())

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


__all__ = [
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "arctan2", "sinh", "cosh", "asinh", "acosh", "atanh",
    "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "floor", "ceil", "round", "trunc", "fix",
    "frac", "sign", "sgn", "signbit", "log1p", "log2", "log10", "expm1", "exp2", "rsqrt", "reciprocal", "square",
    "remainder", "fmod", "lerp", "addcmul", "addcdiv", "hypot", "logaddexp", "logaddexp2", "nan_to_num", "erf",
    "erfc", "erfinv", "lgamma", "digamma", "polygamma", "xlogy", "clamp_min", "clamp_max", "heaviside",
    "copysign", "float_power", "logit", "sinc",
]
