"""Activation functions: the ReLU family, ELU, GELU, SiLU, softplus, softmax and log-softmax, erf.

Each op with a non-trivial derivative is its own ``Function`` (one pass forward, one or two
back) and keeps only what its backward reads; every backward is written once for arrays and
Tensors (``dual``), so that ``create_graph=True`` differentiates it again. Arguments are clipped where an intermediate
(``x**3``, ``exp(x)``) would overflow, so that extreme inputs give finite results and no
NumPy warnings. NumPy has no erf, so ``_erf`` evaluates rational approximations: Cephes'
(S. L. Moshier, ndtr.c) in float64, to about 1 ulp, and Eigen's single rational in float32,
within 4e-7 absolute.
"""
import math

import numpy as np

from .. import backend, kernels
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import array_of, as_tensor, keep_grad
from .elementwise import cast, clip, relu as _relu, sigmoid, sigmoid_array, tanh

__all__ = [
    "relu", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "softplus", "softmax",
    "log_softmax", "hardtanh", "relu6", "erf", "mish",
    # ----- the rest of torch.nn's activations -----
    "glu", "hardsigmoid", "hardswish", "logsigmoid", "prelu", "selu", "celu", "rrelu", "softsign",
    "softmin", "threshold", "hardshrink", "softshrink", "tanhshrink",
    "relu_", "selu_", "celu_", "threshold_", "rrelu_", "hardtanh_", "leaky_relu_", "elu_",
]

# ----- erf -----

# Cephes ndtr.c: erf(x) = x T(x^2) / U(x^2) for |x| < 1, erfc(x) = exp(-x^2) P(x) / Q(x) above
_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4)
_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4)
_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
      4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
      9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2)
# Eigen's float32 erf: x * A(x^2) / B(x^2) on [-4, 4]; beyond it erf rounds to +-1 in float32
_A = np.array([-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
               -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
               -1.60960333262415e-02], np.float32)
_B = np.array([-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
               -7.37332916720468e-03, -1.42647390514189e-02], np.float32)
_2_SQRTPI = 2 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT2PI = 1 / math.sqrt(2 * math.pi)
_BIG = 40  # |x| beyond which exp(-x*x/2) is 0 in every float dtype, and x*x cannot overflow


def _polyval(c, z):
    """c[0] z^n + ... + c[n] by Horner's rule, in place on one new array of z's dtype."""
    y = z * c[0]
    for a in c[1:-1]:
        y += a
        y *= z
    y += c[-1]
    return y


def _erf(x):
    """erf of a float array, in its dtype (float16 goes through float32)."""
    if x.dtype == np.float64:
        xs = np.clip(x, -1.0, 1.0)  # the |x| < 1 branch, kept from overflowing where unused
        z = xs * xs
        small = _polyval(_T, z)
        small *= xs
        small /= _polyval(_U, z)
        a = np.minimum(np.abs(x), 6.0)  # erfc(6) < 2**-54: erf rounds to 1 from there on
        big = np.exp(-(a * a))
        big *= _polyval(_P, a)
        big /= _polyval(_Q, a)
        np.subtract(1.0, big, out=big)
        np.copysign(big, x, out=big)
        return np.where(np.abs(x) < 1, small, big)
    if x.dtype != np.float32:
        return _erf(x.astype(np.float32)).astype(x.dtype)
    xc = np.clip(x, -4.0, 4.0)
    z = xc * xc
    y = _polyval(_A, z)
    y *= xc
    y /= _polyval(_B, z)
    return y


class Erf(Function):
    dual = True

    def forward(self, x):
        self.save_for_backward(x)
        return _erf(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        xp = self.xp
        xc = xp.clip(x, -_BIG, _BIG)  # exp(-x*x) is 0 beyond, where x*x could overflow
        return gy * (xp.exp(-(xc * xc)) * _2_SQRTPI)


def _sigmoid(x):
    """sigmoid of an array, or of a Tensor (an op) when a backward is recorded."""
    return sigmoid(x) if isinstance(x, TensorBase) else sigmoid_array(x)


# ----- pointwise activations -----


def relu(input, inplace=False):
    """max(x, 0). ``inplace`` is accepted and ignored (``relu_`` writes into its input)."""
    return _relu(input)


class LeakyReLU(Function):
    dual = True

    def forward(self, x, slope):
        self.pos, self.slope = x > 0, slope
        return np.where(self.pos, x, x * slope)

    def backward(self, gy):
        return self.xp.where(self.pos, gy, gy * self.slope)


class ELU(Function):
    dual = True

    def forward(self, x, alpha):
        self.pos, self.alpha = x > 0, alpha
        # expm1 is exact near 0; min(x, 0) keeps it from overflowing on the unused branch
        y = np.where(self.pos, x, alpha * np.expm1(np.minimum(x, 0)))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        # d/dx alpha (exp(x) - 1) = alpha exp(x) = y + alpha
        return self.xp.where(self.pos, gy, gy * (y + self.alpha))


_GELU_K = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


def gelu_cdf(x, approximate):
    """GELU's Phi(x) on an array (``approximate='tanh'``: 0.5 (1 + t) with t = tanh(K (x + C x^3))),
    computed in place on new arrays: (c, t), t None for the exact form."""
    t = None
    if approximate == "tanh":
        xc = np.clip(x, -_BIG, _BIG)  # tanh is already +-1 there; x**3 would overflow
        u = xc * xc
        u *= _GELU_C
        u += 1
        u *= xc
        u *= _GELU_K
        t = np.tanh(u)
        c = t + 1
    else:
        c = _erf(x * _SQRT1_2)
        c += 1
    c *= 0.5
    return c, t


def gelu_derivative(xp, x, c, t, approximate):
    """d GELU / dx from x and forward's (c, t), with ``xp`` NumPy (arrays) or ember's ops."""
    xc = xp.clip(x, -_BIG, _BIG)
    if approximate == "tanh":
        # d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2)
        return c + (1 + (3 * _GELU_C) * (xc * xc)) * xc * (0.5 * _GELU_K) * (1 - t * t)
    return c + xp.exp(-0.5 * (xc * xc)) * xc * _INV_SQRT2PI  # Phi(x) + x phi(x)


class GELU(Function):
    """x Phi(x), Phi the standard normal CDF (``approximate='tanh'``: Hendrycks & Gimpel's form,
    Phi ~ 0.5 (1 + t), t = tanh(K (x + C x^3))).

    With ``ember.kernels.enabled()``, ``ember.kernels.activation.gelu`` computes the same
    values in fewer passes, over the cores, and forward keeps the derivative itself
    (backward is then one multiply)."""

    dual = True
    _K, _C = _GELU_K, _GELU_C

    def forward(self, x, approximate):
        self.save_for_backward(x)
        self.approximate = approximate
        if kernels.enabled():
            y, self.d = _kernels.gelu(x, approximate, self.needs_grad(0))
            if y is not None:
                return y
        self.c, self.t = gelu_cdf(x, approximate)
        return x * self.c

    def _cdf_tensor(self, x):
        """``gelu_cdf`` with ember's ops on a Tensor (recorded)."""
        if self.approximate == "tanh":
            xc = clip(x, -_BIG, _BIG)
            t = tanh(self._K * (xc * (1 + self._C * (xc * xc))))
            return 0.5 * (t + 1), t
        return 0.5 * (erf(x * _SQRT1_2) + 1), None

    def backward(self, gy):
        (x,) = self.saved_tensors
        if self._graph:  # Phi(x) and t recomputed with ember's ops, so that they are differentiated too
            c, t = self._cdf_tensor(x)
        elif getattr(self, "d", None) is not None:  # the kernel kept the derivative
            return gy * self.d
        else:
            c, t = self.c, self.t
        return gy * gelu_derivative(self.xp, x, c, t, self.approximate)


class SiLU(Function):
    dual = True

    def forward(self, x):
        self.save_for_backward(x)
        self.s = s = sigmoid_array(x)
        return x * s

    def backward(self, gy):
        (x,) = self.saved_tensors
        s = sigmoid(x) if self._graph else self.s  # from forward; an op when recorded
        # d/dx x s = s (1 + x (1 - s))
        return gy * (s * (1 + x * (1 - s)))


class Softplus(Function):
    dual = True

    def forward(self, x, beta, threshold):
        self.save_for_backward(x)
        self.beta, self.threshold = beta, threshold
        bx = x * beta
        # log(1 + exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)): no overflow for any threshold
        y = np.log1p(np.exp(-np.abs(bx)))
        y += np.maximum(bx, 0)
        y /= beta
        return np.where(bx > self.threshold, x, y)

    def backward(self, gy):
        (x,) = self.saved_tensors
        bx = x * self.beta
        return self.xp.where(array_of(bx) > self.threshold, gy, gy * _sigmoid(bx))


class Hardtanh(Function):
    dual = True

    def forward(self, x, lo, hi):
        # PyTorch passes no gradient at the corners (hardtanh_backward), unlike clamp, and
        # passes it where x is NaN (no comparison holds there)
        self.inside = ~((x <= lo) | (x >= hi))
        return np.clip(x, lo, hi)

    def backward(self, gy):
        return keep_grad(gy, self.inside)


# ----- over an axis -----


def _minus_max(x, axis):
    """x minus its maximum along ``axis``. A row whose maximum is infinite becomes NaN, as in
    PyTorch: +inf - +inf for a row holding +inf, -inf - -inf for a row of -inf only."""
    with np.errstate(invalid="ignore"):
        return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    dual = True

    def forward(self, x, axis):
        y = _minus_max(x, axis)
        np.exp(y, out=y)
        y /= y.sum(axis=axis, keepdims=True)
        self.save_for_backward(y)
        self.axis = axis
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        gx = gy * y
        return gx - y * gx.sum(axis=self.axis, keepdims=True)  # y (gy - sum(gy y))


class LogSoftmax(Function):
    dual = True

    def forward(self, x, axis):
        y = _minus_max(x, axis)
        y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
        self.save_for_backward(y)
        self.axis = axis
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        # d log_softmax: gy - softmax * sum(gy)
        return gy - self.xp.exp(y) * gy.sum(axis=self.axis, keepdims=True)


# ----- the functional forms -----


def _float(x):
    """``x`` as a Tensor of floating dtype (integers become the default float dtype)."""
    x = as_tensor(x)
    if x._data.dtype.kind != "f":
        x = cast(x, backend.get_default_dtype())
    return x


def _axis(name, dim, shape):
    n = len(shape)
    if not isinstance(dim, (int, np.integer)) or not -max(n, 1) <= dim < max(n, 1):
        raise IndexError(f"{name}: dim {dim!r} is out of range for input of shape {tuple(shape)}")
    return int(dim) % n if n else None


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, differentiable."""
    return Erf.apply(_float(x))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, else ``negative_slope * x``. ``inplace`` is accepted and ignored."""
    return LeakyReLU.apply(_float(x), slope=float(negative_slope))


def elu(x, alpha=1.0, inplace=False):
    """x where x > 0, else ``alpha * (exp(x) - 1)``."""
    return ELU.apply(_float(x), alpha=float(alpha))


def gelu(x, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF; ``approximate='tanh'`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh. (gelu: got {approximate!r})")
    return GELU.apply(_float(x), approximate=approximate)


def silu(x, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    return SiLU.apply(_float(x))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    return Softplus.apply(_float(x), beta=float(beta), threshold=float(threshold))


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; no gradient outside or on the corners (as PyTorch)."""
    return Hardtanh.apply(_float(x), lo=float(min_val), hi=float(max_val))


def relu6(x, inplace=False):
    """min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0)


def softmax(x, dim=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed without overflow.

    ``dim`` defaults to -1 (the last axis), with no warning; PyTorch's legacy guess of an
    axis from the number of dimensions is not reproduced. ``dtype`` casts the input first.
    """
    x = _float(x) if dtype is None else cast(as_tensor(x), dtype)
    return Softmax.apply(x, axis=_axis("softmax", -1 if dim is None else dim, x.shape))


def log_softmax(x, dim=-1, dtype=None):
    """log(softmax(x)) along ``dim`` (default -1), as x - logsumexp(x): stable for any
    logits, with a fused backward."""
    x = _float(x) if dtype is None else cast(as_tensor(x), dtype)
    return LogSoftmax.apply(x, axis=_axis("log_softmax", -1 if dim is None else dim, x.shape))


# ----- attention -----
def mish(x, inplace=False):
    """x * tanh(softplus(x)). ``inplace`` is accepted and ignored."""
    x = _float(x)
    return x * tanh(softplus(x))


# ----- the rest of torch.nn's activations -----
# GLU, Hardsigmoid, Hardswish, LogSigmoid, PReLU, SELU, CELU, RReLU, Softsign, Softmin,
# Threshold, Hardshrink, Softshrink, Tanhshrink, and the in-place forms ``F.relu_`` etc.
# ``inplace=True`` is accepted and ignored, as by the activations above; the ``*_`` functions
# write into their input (the Tensor's in-place machinery: version bump, history rebased).

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_only(x, name):
    """``x`` as a Tensor; PyTorch's kernels of these ops have no integer forms."""
    x = as_tensor(x)
    if x._data.dtype.kind != "f":
        torch_name = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                      "bool": "Bool"}.get(str(x._data.dtype), str(x._data.dtype))
        raise NotImplementedError(f'"{name}" not implemented for \'{torch_name}\'')
    return x


class CELU(Function):
    """x where x > 0, else alpha (exp(x / alpha) - 1). PyTorch's backward takes 1 / alpha with
    alpha rounded to float32 (derivatives.yaml: ``1.0 / alpha.toFloat()``); so does this one,
    so that the gradients agree to the last bit."""

    dual = True

    def forward(self, x, alpha):
        self.pos, self.alpha = x > 0, alpha
        self.save_for_backward(x)
        return np.where(self.pos, x, alpha * np.expm1(np.minimum(x, 0) / alpha))

    def backward(self, gy):
        (x,) = self.saved_tensors
        xp = self.xp
        inv = 1.0 / float(np.float32(self.alpha))
        xn = xp.minimum(x, 0) if not self._graph else xp.where(self.pos, x * 0, x)
        return xp.where(self.pos, gy, gy * (xp.exp(xn * inv) * (self.alpha * inv)))


_ONE_SIXTH = float(np.float32(1.0) / np.float32(6.0))


class Hardsigmoid(Function):
    """relu6(x + 3) / 6; the gradient 1/6 on the open interval (-3, 3), as PyTorch's."""

    dual = True

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        y = np.clip(x + 3, 0, 6)
        y /= 6
        return y

    def backward(self, gy):
        # PyTorch multiplies by 1/6 rounded to float32 (hardsigmoid_backward's one_sixth), in float64 too
        return self.xp.where(self.inside, gy * _ONE_SIXTH, gy * 0)


class Hardswish(Function):
    """x relu6(x + 3) / 6. PyTorch's gradient: 0 below -3, x / 3 + 0.5 on [-3, 3], 1 above."""

    dual = True

    def forward(self, x):
        self.save_for_backward(x)
        self.lo, self.hi = x < -3, x > 3
        y = np.clip(x + 3, 0, 6)
        y *= x
        y /= 6
        return y

    def backward(self, gy):
        (x,) = self.saved_tensors
        xp = self.xp
        return xp.where(self.lo, gy * 0, xp.where(self.hi, gy, gy * (x / 3 + 0.5)))


def _split_half(x, dim, name):
    from .movement import getitem

    if x._data.ndim == 0:
        raise RuntimeError(f"{name} does not support scalars because halving size must be even")
    n = x._data.ndim
    if not isinstance(dim, (int, np.integer)) or not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    d = int(dim) % n
    size = x._data.shape[d]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    lead = (slice(None),) * d
    return getitem(x, lead + (slice(0, size // 2),)), getitem(x, lead + (slice(size // 2, size),))


def glu(input, dim=-1):
    """a * sigmoid(b), with a and b the two halves of ``input`` along ``dim``."""
    a, b = _split_half(_float_only(input, "glu_cpu"), dim, "glu")
    return a * sigmoid(b)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    return Hardsigmoid.apply(_float_only(input, "hardsigmoid_cpu"))


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (MobileNetV3's h-swish)."""
    return Hardswish.apply(_float_only(input, "hardswish_cpu"))


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    x = _float_only(input, "log_sigmoid_cpu")
    return -softplus(-x, threshold=np.inf)


def prelu(input, weight):
    """x where x > 0, else weight * x, with ``weight`` one slope (shape () or (1,)) or one per
    channel (input's dim 1; dim 0 of 1-D input counts as one channel, as PyTorch)."""
    from .movement import reshape

    x = _float_only(input, "prelu_cpu")
    w = as_tensor(weight, x)
    if w._data.dtype != x._data.dtype:
        names = {"float32": "Float", "float64": "Double", "float16": "Half"}
        raise RuntimeError(f"prelu: Type promoting not supported. Got {names.get(str(x._data.dtype), x._data.dtype)} "
                           f"and {names.get(str(w._data.dtype), w._data.dtype)}")
    if w._data.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {w._data.ndim}")
    k = w._data.size
    if k != 1:
        channels = x._data.shape[1] if x._data.ndim >= 2 else 1
        if k != channels:
            raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{k} and channel size = {channels}.")
        w = reshape(w, (k,) + (1,) * (x._data.ndim - 2))
    elif w._data.ndim:
        w = reshape(w, ())
    from .elementwise import where

    return where(x._data > 0, x, w * x)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalizing constants (Klambauer et al., 2017)."""
    x = _float_only(input, "elu_cpu")
    return ELU.apply(x, alpha=_SELU_ALPHA) * _SELU_SCALE


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return CELU.apply(_float_only(input, "elu_cpu"), alpha=float(alpha))


def _check_rrelu(lower, upper):
    if not lower <= upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, generator=None):
    """Randomized leaky ReLU. Training: each element x <= 0 is multiplied by its own slope drawn
    from U(lower, upper) (ember's generator, so ``manual_seed`` repeats it); otherwise the leaky
    ReLU of slope (lower + upper) / 2."""
    _check_rrelu(lower, upper)
    x = _float_only(input, "rrelu_with_noise_cpu")
    if not training:
        return LeakyReLU.apply(x, slope=(float(lower) + float(upper)) / 2)
    dt = x._data.dtype
    a = backend.rng(generator).uniform(float(lower), float(upper), x._data.shape).astype(dt)
    return _RReLUTrain.apply(x, slope=a)


class _RReLUTrain(Function):
    """x where x > 0, else a x with a constant array of slopes (PyTorch draws them where x <= 0)."""

    dual = True

    def forward(self, x, slope):
        self.pos, self.slope = x > 0, slope
        return np.where(self.pos, x, x * slope)

    def backward(self, gy):
        return self.xp.where(self.pos, gy, gy * from_op(self.slope, None) if self._graph else gy * self.slope)


def softsign(input):
    """x / (1 + |x|)."""
    from .elementwise import abs as _abs

    x = _float(input)
    return x / (1 + _abs(x))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim`` (the last axis when None; ember does not guess one)."""
    x = _float(input) if dtype is None else cast(as_tensor(input), dtype)
    return softmax(-x, -1 if dim is None else dim)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``."""
    from .elementwise import where

    x = as_tensor(input)
    return where(x._data > threshold, x, value)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    from .elementwise import where

    x = _float_only(input, "hardshrink_cpu")
    return where((x._data > lambd) | (x._data < -lambd), x, 0)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between (lambd >= 0)."""
    from .elementwise import where

    x = _float_only(input, "softshrink_check")
    if not lambd >= 0:
        kind = "Double" if x._data.dtype == np.float64 else "Float"
        big = "1.79769e+308" if kind == "Double" else "3.40282e+38"
        raise RuntimeError(f"lambda must be in range [0, {big}] for input dtype {kind}, but found {lambd:g}")
    d = x._data
    return where(d > lambd, x - lambd, where(d < -lambd, x + lambd, 0))


def tanhshrink(input):
    """x - tanh(x)."""
    x = _float(input)
    return x - tanh(x)


# in place: the op's result written into ``input``, which is returned


def _in_place(x, compute, name):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    return x._inplace(compute)


def relu_(input):
    """In-place ``relu``."""
    return _in_place(input, relu, "relu_")


def selu_(input):
    """In-place ``selu``."""
    return _in_place(input, selu, "selu_")


def celu_(input, alpha=1.0):
    """In-place ``celu``."""
    return _in_place(input, lambda t: celu(t, alpha), "celu_")


def threshold_(input, threshold, value):
    """In-place ``threshold``."""
    return _in_place(input, lambda t: globals()["threshold"](t, threshold, value), "threshold_")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """In-place ``rrelu``."""
    return _in_place(input, lambda t: rrelu(t, lower, upper, training, generator=generator), "rrelu_")


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place ``hardtanh``."""
    return _in_place(input, lambda t: hardtanh(t, min_val, max_val), "hardtanh_")


def leaky_relu_(input, negative_slope=0.01):
    """In-place ``leaky_relu``."""
    return _in_place(input, lambda t: leaky_relu(t, negative_slope), "leaky_relu_")


def elu_(input, alpha=1.0):
    """In-place ``elu``."""
    return _in_place(input, lambda t: elu(t, alpha), "elu_")


from ..kernels import activation as _kernels  # noqa: E402  (the kernel imports this module's math)
