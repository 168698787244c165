"""Parameter initializers with ``torch.nn.init``'s names, arguments and formulas.

Each one fills a Parameter, Tensor or ndarray in place (keeping its dtype), draws from
``ember.backend.rng(generator)`` so that ``ember.manual_seed`` makes it reproducible, and
returns what it was given.
"""
import math

import numpy as np

from .. import backend
from ..autograd.function import bump
from .._tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "trunc_normal_", "dirac_", "sparse_",
]

_LINEAR_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d",
                "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope^2))
    with ``param`` the negative slope (0.01 if None); selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool,)) or not isinstance(param, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    valid = ", ".join(_LINEAR_GAIN + ("tanh", "relu", "leaky_relu", "selu"))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; valid: {valid}")


def _array(tensor):
    """The ndarray to fill in place."""
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"init expects a Parameter, Tensor or ndarray, got {type(tensor).__name__}")


def _filled(tensor):
    """``tensor`` after its memory was written in place: a Tensor's version moves (PyTorch's
    in-place fills count as changes, so a graph that saved the old values refuses backward)."""
    if isinstance(tensor, Tensor):
        bump(tensor)
    return tensor


def _float_dtype(a, name):
    if a.dtype.kind != "f":
        raise TypeError(f"{name} needs a floating tensor, got dtype {a.dtype}")
    # Draw in float32 for float32 tensors (half the work), float64 otherwise.
    return a.dtype if a.dtype == np.float32 else np.dtype(np.float64)


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight laid out as (out, in, *kernel), as PyTorch computes them."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported, expected 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw(arr, method, dt):
    """``method`` (a NumPy Generator's ``random`` or ``standard_normal``) of arr's shape in
    ``dt``: written straight into ``arr`` when it is a C-ordered array of that dtype (the same
    numbers), else a new array."""
    if arr.dtype == dt and arr.flags.c_contiguous and arr.flags.writeable:
        method(dtype=dt, out=arr)
        return arr
    return method(arr.shape, dtype=dt)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with values drawn from U(a, b)."""
    arr = _array(tensor)
    dt = _float_dtype(arr, "uniform_")
    u = _draw(arr, backend.rng(generator).random, dt)
    u *= dt.type(b - a)  # in place: a 25088x4096 layer is 400 MB an array
    u += dt.type(a)
    if u is not arr:
        arr[...] = u
    return _filled(tensor)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with values drawn from N(mean, std^2)."""
    arr = _array(tensor)
    dt = _float_dtype(arr, "normal_")
    z = _draw(arr, backend.rng(generator).standard_normal, dt)
    z *= dt.type(std)  # in place, as uniform_
    z += dt.type(mean)
    if z is not arr:
        arr[...] = z
    return _filled(tensor)


def constant_(tensor, val):
    """Fill with ``val``."""
    _array(tensor)[...] = val
    return _filled(tensor)


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal, as ``torch.eye``)."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(arr.shape)}")
    arr[...] = np.eye(*arr.shape, dtype=arr.dtype)
    return _filled(tensor)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    Args:
        a: the negative slope of the rectifier after this layer (leaky_relu only).
        mode: 'fan_in' keeps the forward variance, 'fan_out' the backward one.
        nonlinearity: a name accepted by ``calculate_gain``.
    """
    if _array(tensor).size == 0:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    if _array(tensor).size == 0:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix from the QR of a Gaussian one (Saxe et al. 2013).

    Dimensions after the first are flattened: rows = shape[0], cols = numel / rows.
    """
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape {tuple(arr.shape)}")
    if arr.size == 0:
        return tensor
    _float_dtype(arr, "orthogonal_")
    rows, cols = arr.shape[0], arr.size // arr.shape[0]
    flat = backend.rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # Sign-correct by diag(r) so that the distribution is uniform over orthogonal matrices.
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    arr[...] = (q * gain).reshape(arr.shape)
    return _filled(tensor)


# Acklam's rational approximation of the standard normal inverse CDF (relative error < 1.2e-9),
# vectorized: NumPy has no erfinv, and scipy is not a dependency.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def _poly(coefs, x):
    out = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        out = out * x + c
    return out


def _ndtri(p):
    """Inverse of the standard normal CDF, element-wise, for p in (0, 1) (float64)."""
    x = np.empty_like(p)
    lo, hi = p < _P_LOW, p > 1 - _P_LOW
    mid = ~(lo | hi)
    q = p[mid] - 0.5
    r = q * q
    x[mid] = _poly(_A, r) * q / (_poly(_B, r) * r + 1)
    for mask, tail, sign in ((lo, p[lo], 1.0), (hi, 1 - p[hi], -1.0)):
        q = np.sqrt(-2 * np.log(tail))
        x[mask] = sign * _poly(_C, q) / (_poly(_D, q) * q + 1)
    return x


def _ncdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b] (bounds are absolute, as in PyTorch).

    Draws by inverting the CDF, so every draw lands in [a, b] however narrow the interval.
    """
    arr = _array(tensor)
    _float_dtype(arr, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got {std}")
    lo, hi = (a - mean) / std, (b - mean) / std
    # Work in the lower tail, where float64 CDF values keep their precision.
    flip = lo > 0
    if flip:
        lo, hi = -hi, -lo
    cl, ch = _ncdf(lo), _ncdf(hi)
    u = backend.rng(generator).random(arr.shape)
    p = np.clip(cl + u * (ch - cl), np.finfo(np.float64).tiny, 1 - 1e-16)
    z = _ndtri(p)
    if flip:
        z = -z
    arr[...] = np.clip(z * std + mean, a, b)
    return _filled(tensor)


# ----- dirac_, sparse_ -----
def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D convolution weight (out, in, *k) with the Dirac delta: each of the
    first min(out / groups, in) output channels of each group copies its input channel (the
    kernel's centre is 1, the rest 0), so the convolution is the identity on them."""
    arr = _array(tensor)
    if arr.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if arr.shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per = arr.shape[0] // groups
    centre = tuple(k // 2 for k in arr.shape[2:])
    arr[...] = 0
    for g in range(groups):
        for d in range(min(per, arr.shape[1])):
            arr[(g * per + d, d) + centre] = 1
    return _filled(tensor)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor from N(0, std^2), then zero ceil(sparsity * rows) random entries of
    each column (Martens, 2010)."""
    arr = _array(tensor)
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = arr.shape
    zeros = int(math.ceil(sparsity * rows))
    g = backend.rng(generator)
    arr[...] = g.standard_normal(arr.shape) * std
    for c in range(cols):
        arr[g.permutation(rows)[:zeros], c] = 0
    return _filled(tensor)
