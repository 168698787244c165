"""Elementwise ops: arithmetic with broadcasting, and the pointwise functions.

Each class keeps only what its backward reads (``Mul`` its inputs, ``Exp`` its output).
"""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._parallel import big, parallel_for
from ._util import as_tensor, empty_as, flat


def _unb(g, shape, dtype):
    """Sum ``g`` down to ``shape`` (undo broadcasting) and give it ``dtype``."""
    if g.shape != shape:
        extra = g.ndim - len(shape)
        axes = tuple(range(extra)) + tuple(
            i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1
        )
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        g = g.reshape(shape)
    return g if g.dtype == dtype else g.astype(dtype)


class Add(Function):
    # Add and Sub save nothing: backward needs only the inputs' shapes and dtypes, which
    # ``self.inputs`` (the input tensors, kept by every recorded op) already carries.
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        ga = _unb(gy, a.shape, a.dtype) if self.inputs[0].requires_grad else None
        gb = _unb(gy, b.shape, b.dtype) if self.inputs[1].requires_grad else None
        return ga, gb


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        ga = _unb(gy, a.shape, a.dtype) if self.inputs[0].requires_grad else None
        gb = _unb(-gy, b.shape, b.dtype) if self.inputs[1].requires_grad else None
        return ga, gb


class Mul(Function):
    dual = True

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved_tensors
        ga = _unb(gy * b, a.shape, a.dtype) if self.needs_grad(0) else None
        gb = _unb(gy * a, b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        gyb = gy / b
        ga = _unb(gyb, a.shape, a.dtype) if self.needs_grad(0) else None
        # d(a/b)/db = -a / b**2
        gb = _unb(-gyb * a / b, b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


class PowScalar(Function):
    def forward(self, a, p):
        self.a, self.p = a, p
        return a**p

    def backward(self, gy):
        a, p = self.a, self.p
        return (gy * (p * a ** (p - 1))).astype(a.dtype, copy=False)


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = y = a**b
        return y

    def backward(self, gy):
        a, b, y = self.a, self.b, self.y
        ga = _unb(gy * b * a ** (b - 1), a.shape, a.dtype) if self.needs_grad(0) else None
        gb = None
        if self.needs_grad(1):
            # d(a**b)/db = a**b * log(a); taken as 0 where a == 0 (the limit from above)
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            gb = _unb(gy * y * lg, b.shape, b.dtype)
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class Exp(Function):
    dual = True

    def forward(self, a):
        y = np.exp(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, gy):
        return gy / self.a


class Sqrt(Function):
    def forward(self, a):
        self.y = y = np.sqrt(a)
        return y

    def backward(self, gy):
        return gy / (2 * self.y)


def sign_or_zero(a):
    """np.sign with 0 at NaN, as torch.sign: |x|'s gradient (and L1's) is 0 there, not NaN."""
    return np.nan_to_num(np.sign(a), copy=False, nan=0.0)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, gy):
        return gy * sign_or_zero(self.a)


class Tanh(Function):
    def forward(self, a):
        self.y = y = np.tanh(a)
        return y

    def backward(self, gy):
        y = self.y
        return gy * (1 - y * y)


def sigmoid_array(a):
    """1 / (1 + exp(-a)) on an array, PyTorch's formula, with full relative precision in both
    tails. Where -a is so large that exp overflows, 1 / (1 + inf) is 0, the right limit, so the
    overflow is not reported. (The form 0.5 + 0.5 tanh(a / 2), used before, lost the left tail:
    in float32 it gave 0 below about -17, where the answer is 4e-8 and less.)"""
    with np.errstate(over="ignore", under="ignore"):
        y = np.negative(a)
        np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
    return y


class Sigmoid(Function):
    def forward(self, a):
        self.y = y = sigmoid_array(a)
        return y

    def backward(self, gy):
        y = self.y
        return gy * y * (1 - y)


class ReLU(Function):
    """max(a, 0); keeps its output. Large dense float arrays (C order or channels-last) are
    split over the cores, and the result keeps the input's layout.

    The gradient passes where the output is not 0: where it is positive, and where it is NaN
    (NaN input), as in PyTorch, whose backward zeroes it only where the output is <= 0. The
    output is never negative, so ``y != 0`` is that mask in one comparison."""

    def forward(self, a):
        af = flat(a) if a.dtype.kind == "f" and big(a.size) else None
        if af is not None:
            y = empty_as(a)
            yf = flat(y)
            parallel_for(lambda s, e: np.maximum(af[s:e], 0, out=yf[s:e]), af.size)
        else:
            y = np.maximum(a, 0)
        self.y = y
        return y

    def backward(self, gy):
        y = self.y
        yf = flat(y) if gy.dtype == y.dtype and gy.shape == y.shape else None
        if yf is None:
            return gy * (y != 0)
        if gy.strides == y.strides:
            gx = empty_as(gy)
            gf = flat(gy)
        else:
            # gy in another layout than y (C order from a Flatten, y channels-last from the
            # pooling before): a pass over mixed strides runs in short inner loops, 3-5x slower
            # than copying gy into y's layout and masking that in place; gx then has y's layout
            gx = empty_as(y)
            np.copyto(gx, gy)
            gf = flat(gx)
        xf = flat(gx)
        parallel_for(lambda s, e: np.multiply(gf[s:e], yf[s:e] != 0, out=xf[s:e]), yf.size)
        return gx


class Maximum(Function):
    """max(a, b) elementwise (min(a, b) with ``minimum``), with PyTorch's gradient: each
    operand gets the gradient unless it lost (is smaller, for max), and half of it on a tie.
    Where an operand is NaN neither lost, so both get all of it, as in PyTorch."""

    def forward(self, a, b, minimum=False):
        self.a, self.b = a, b
        self.minimum = minimum
        return np.minimum(a, b) if minimum else np.maximum(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        g = gy - gy * ((a == b) * gy.dtype.type(0.5))  # half on a tie, in gy's dtype
        a_lost, b_lost = (a > b, a < b) if self.minimum else (a < b, a > b)
        ga = _unb(g * ~a_lost, a.shape, a.dtype) if self.needs_grad(0) else None
        gb = _unb(g * ~b_lost, b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


class Clip(Function):
    def forward(self, a, lo, hi):
        self.a, self.lo, self.hi = a, lo, hi
        return np.clip(a, lo, hi)

    def backward(self, gy):
        a, lo, hi = self.a, self.lo, self.hi
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        return gy * mask


class Where(Function):
    def forward(self, a, b, cond):
        self.cond, self.sa, self.da, self.sb, self.db = cond, a.shape, a.dtype, b.shape, b.dtype
        return np.where(cond, a, b)

    def backward(self, gy):
        zero = np.zeros((), gy.dtype)
        ga = _unb(np.where(self.cond, gy, zero), self.sa, self.da) if self.needs_grad(0) else None
        gb = _unb(np.where(self.cond, zero, gy), self.sb, self.db) if self.needs_grad(1) else None
        return ga, gb


class Cast(Function):
    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, gy):
        return gy.astype(self.dtype)


# ----- the functional forms -----


def _pair(a, b):
    if type(b) is type(a) is Tensor and a._data.dtype == b._data.dtype:
        return a, b  # the common case, kept cheap: this runs once per arithmetic op
    if isinstance(a, Tensor):
        b = as_tensor(b, a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, b)
    # As in PyTorch, an integer or bool operand takes the float operand's dtype.
    ka, kb = a._data.dtype.kind, b._data.dtype.kind
    if ka == "f" and kb in "iub":
        b = Tensor._from_op(b._data.astype(a._data.dtype), None)
    elif kb == "f" and ka in "iub":
        a = Tensor._from_op(a._data.astype(b._data.dtype), None)
    return a, b


def add(a, b):
    """a + b with broadcasting."""
    a, b = _pair(a, b)
    return Add.apply(a, b)


def sub(a, b):
    """a - b with broadcasting."""
    a, b = _pair(a, b)
    return Sub.apply(a, b)


def mul(a, b):
    """a * b with broadcasting."""
    a, b = _pair(a, b)
    return Mul.apply(a, b)


def div(a, b):
    """a / b with broadcasting."""
    a, b = _pair(a, b)
    return Div.apply(a, b)


def pow(a, b):
    """a ** b; a Python-number exponent keeps a's dtype."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return PowScalar.apply(a, p=b)
    return Pow.apply(*_pair(a, b))


def neg(a):
    return Neg.apply(as_tensor(a))


def exp(a):
    return Exp.apply(as_tensor(a))


def log(a):
    return Log.apply(as_tensor(a))


def sqrt(a):
    return Sqrt.apply(as_tensor(a))


def abs(a):
    return Abs.apply(as_tensor(a))


def tanh(a):
    return Tanh.apply(as_tensor(a))


def sigmoid(a):
    return Sigmoid.apply(as_tensor(a))


def relu(a):
    return ReLU.apply(as_tensor(a))


def maximum(a, b):
    """Elementwise maximum of two tensors (ties split the gradient)."""
    return Maximum.apply(*_pair(a, b))


def minimum(a, b):
    """Elementwise minimum of two tensors (ties split the gradient)."""
    return Maximum.apply(*_pair(a, b), minimum=True)


def clip(a, min=None, max=None):
    """Clamp into [min, max]; the gradient passes where min <= a <= max."""
    a = as_tensor(a)
    dt = a._data.dtype
    lo = None if min is None else np.asarray(min, dt)
    hi = None if max is None else np.asarray(max, dt)
    return Clip.apply(a, lo=lo, hi=hi)


clamp = clip


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``, with broadcasting; no gradient flows to ``cond``."""
    cond = cond._data if isinstance(cond, Tensor) else np.asarray(cond)
    a, b = _pair(a, b)
    return Where.apply(a, b, cond=cond.astype(bool, copy=False))


def cast(a, dtype):
    """The tensor in another dtype; the gradient is cast back."""
    a = as_tensor(a)
    dtype = np.dtype(dtype)
    if a._data.dtype == dtype:
        return a
    return Cast.apply(a, dtype=dtype)
