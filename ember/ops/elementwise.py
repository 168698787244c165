"""Elementwise ops: arithmetic with broadcasting, and the pointwise functions.

Each class keeps only what its backward reads (``Mul`` its inputs, ``Exp`` its output), and
each backward is written once for arrays and for Tensors (``dual``): with
``create_graph=True`` it is recorded, so gradients of gradients work. Masks (ReLU's, clip's,
where's, max's ties) are constants in both.
"""
import numpy as np

from .. import kernels
from ..autograd import Function
from ..kernels import elementwise as _k
from .. import _tensor_base
from .._tensor_base import TensorBase, from_op
from ._util import array_of, as_tensor, keep_grad


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


# The four arithmetic ops read the ``_rg`` slot behind ``requires_grad`` directly: they run
# on every step, and the public property (which checks assignments) costs a call per read.
class Add(Function):
    # Add and Sub save nothing: backward needs only the inputs' shapes and dtypes, which
    # ``self.inputs`` (the input tensors, kept by every recorded op) already carries.
    dual = True

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        ga = _unb(gy, a._data.shape, a._data.dtype) if a._rg else None
        gb = _unb(gy, b._data.shape, b._data.dtype) if b._rg else None
        return ga, gb


class Sub(Function):
    dual = True

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        ga = _unb(gy, a._data.shape, a._data.dtype) if a._rg else None
        gb = _unb(-gy, b._data.shape, b._data.dtype) if b._rg else None
        return ga, gb


class Mul(Function):
    """a * b. Each operand is kept only if the other one's gradient needs it (as PyTorch), so
    changing a constant factor in place after the product is no error."""

    dual = True

    def forward(self, a, b):
        x, w = self.inputs
        self.save_for_backward(a if w._rg else None, b if x._rg else None)
        return a * b

    def backward(self, gy):
        a, b = self.saved_tensors
        x, w = self.inputs
        ga = _unb(gy * b, x._data.shape, x._data.dtype) if x._rg else None
        gb = _unb(gy * a, w._data.shape, w._data.dtype) if w._rg else None
        return ga, gb


class Div(Function):
    """a / b; keeps b, and a only if b's gradient needs it."""

    dual = True

    def forward(self, a, b):
        self.save_for_backward(a if self.inputs[1]._rg else None, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved_tensors
        x, w = self.inputs
        gyb = gy / b
        ga = _unb(gyb, x._data.shape, x._data.dtype) if x._rg else None
        # d(a/b)/db = -a / b**2
        gb = _unb(-gyb * a / b, w._data.shape, w._data.dtype) if w._rg else None
        return ga, gb


class PowScalar(Function):
    """a ** p for a Python number p. The gradient p a**(p-1) is 0 for p == 0, as in PyTorch
    (not 0 * inf = NaN at a == 0)."""

    dual = True

    def forward(self, a, p):
        self.save_for_backward(a)
        self.p = p
        return a**p

    def backward(self, gy):
        (a,) = self.saved_tensors
        p = self.p
        if p == 0:
            return self.xp.zeros_like(gy)
        return (gy * (p * a ** (p - 1))).astype(a.dtype, copy=False)


class Pow(Function):
    """a ** b for two tensors. d/da = b a**(b-1), 0 where b == 0 (as PyTorch); d/db =
    a**b log(a) where a > 0 and 0 elsewhere: the limit from above at a == 0, and 0 (not NaN)
    for a negative base, whose power is real only at integer exponents."""

    dual = True

    def forward(self, a, b):
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        xp = self.xp
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and 0 * inf, masked out
            if self.needs_grad(0):
                ga = _unb(xp.where(array_of(b) == 0, 0, gy * b * a ** (b - 1)), a.shape, a.dtype)
            if self.needs_grad(1):
                pos = array_of(a) > 0
                lg = xp.where(pos, xp.log(xp.where(pos, a, 1)), 0)
                gb = _unb(gy * y * lg, b.shape, b.dtype)
        return ga, gb


class Neg(Function):
    dual = True

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
    dual = True

    def forward(self, a):
        self.save_for_backward(a)
        return np.log(a)

    def backward(self, gy):
        (a,) = self.saved_tensors
        return gy / a


class Sqrt(Function):
    dual = True

    def forward(self, a):
        y = np.sqrt(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy / (2 * y)


def sign_or_zero(a):
    """np.sign with 0 at NaN, as torch.sign: |x|'s gradient (and L1's) is 0 there, not NaN.
    On a Tensor, the result is a constant Tensor (the sign's derivative is 0)."""
    if isinstance(a, TensorBase):
        return from_op(sign_or_zero(a._data), None)
    return np.nan_to_num(np.asarray(np.sign(a)), copy=False, nan=0.0)  # asarray: a 0-d input gives a scalar


class Abs(Function):
    dual = True

    def forward(self, a):
        self.save_for_backward(a)
        return np.abs(a)

    def backward(self, gy):
        (a,) = self.saved_tensors
        return gy * sign_or_zero(a)


class Tanh(Function):
    dual = True

    def forward(self, a):
        y = np.tanh(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (1 - y * y)


def sigmoid_array(a, out=None):
    """1 / (1 + exp(-a)) on an array, PyTorch's formula, with full relative precision in both
    tails. Where -a is so large that exp overflows, 1 / (1 + inf) is 0, the right limit, so the
    overflow is not reported. (The form 0.5 + 0.5 tanh(a / 2), used before, lost the left tail:
    in float32 it gave 0 below about -17, where the answer is 4e-8 and less.) ``out`` (which
    may be ``a`` itself) receives the result."""
    with np.errstate(over="ignore", under="ignore"):
        return sigmoid_into(a, np.empty_like(a) if out is None else out)  # (out=: an array even when a is 0-d)


def sigmoid_into(a, y):
    """``sigmoid_array``'s passes from ``a`` into ``y`` (which may be ``a``), without its
    ``errstate``: for a caller that holds one around many calls (``ember.kernels.rnn``)."""
    np.negative(a, out=y)
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
    return y


class Sigmoid(Function):
    dual = True

    def forward(self, a):
        y = sigmoid_array(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y * (1 - y)


class ReLU(Function):
    """max(a, 0); keeps its output.

    The gradient passes where the output is not 0: where it is positive, and where it is NaN
    (NaN input), as in PyTorch, whose backward zeroes it only where the output is <= 0 (an inf
    or NaN gradient there too: ``keep_grad``). The output is never negative, so ``y != 0`` is
    that mask in one comparison. The mask is a constant: recorded, the gradient is linear in gy
    and has no gradient with respect to a.

    With ``ember.kernels.enabled()`` the array passes run as ``ember.kernels.elementwise.relu``
    and ``relu_backward`` (split over the cores, layout-keeping), which give the same values."""

    dual = True

    def forward(self, a):
        y = _k.relu(a) if kernels.enabled() else np.maximum(a, 0)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        if not self._graph and kernels.enabled():
            return _k.relu_backward(gy, y)
        return keep_grad(gy, array_of(y) != 0)


class Maximum(Function):
    """max(a, b) elementwise (min(a, b) with ``minimum``), with PyTorch's gradient: each
    operand gets the gradient unless it lost (is smaller, for max), and half of it on a tie.
    Where an operand is NaN neither lost, so both get all of it, as in PyTorch. The masks are
    constants."""

    dual = True

    def forward(self, a, b, minimum=False):
        self.save_for_backward(a, b)
        self.minimum = minimum
        return np.minimum(a, b) if minimum else np.maximum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        xa, xb = array_of(a), array_of(b)
        half = gy.dtype.type(0.5)
        g = gy * (1 - (xa == xb) * half)  # half on a tie, in gy's dtype (a product: inf stays inf)
        a_lost, b_lost = (xa > xb, xa < xb) if self.minimum else (xa < xb, xa > xb)
        ga = _unb(keep_grad(g, ~a_lost), a.shape, a.dtype) if self.needs_grad(0) else None
        gb = _unb(keep_grad(g, ~b_lost), b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


class Clip(Function):
    """Clamp into [lo, hi]; the gradient passes where lo <= a <= hi (the ends included, as
    torch.clamp), a constant mask. A NaN input stays NaN and gets no gradient, as in PyTorch."""

    dual = True

    def forward(self, a, lo, hi):
        self.save_for_backward(a)
        self.lo, self.hi = lo, hi
        return np.clip(a, lo, hi)

    def backward(self, gy):
        (a,) = self.saved_tensors
        a, lo, hi = array_of(a), self.lo, self.hi
        mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            mask &= a >= lo
        if hi is not None:
            mask &= a <= hi
        return keep_grad(gy, mask)


class Where(Function):
    dual = True

    def forward(self, a, b, cond):
        self.cond, self.sa, self.da, self.sb, self.db = cond, a.shape, a.dtype, b.shape, b.dtype
        return np.where(cond, a, b)

    def backward(self, gy):
        xp = self.xp
        zero = np.zeros((), gy.dtype)
        ga = _unb(xp.where(self.cond, gy, zero), self.sa, self.da) if self.needs_grad(0) else None
        gb = _unb(xp.where(self.cond, zero, gy), self.sb, self.db) if self.needs_grad(1) else None
        return ga, gb


class Cast(Function):
    dual = True

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, gy):
        return gy.astype(self.dtype)


# ----- the functional forms -----


def _pair(a, b):
    if type(b) is type(a) is _tensor_base.Tensor and a._data.dtype == b._data.dtype:
        return a, b  # the common case, kept cheap (an exact type check): once per arithmetic op
    if isinstance(a, TensorBase):
        b = as_tensor(b, a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, b)
    # As in PyTorch, an integer or bool operand takes the float operand's dtype.
    ka, kb = a._data.dtype.kind, b._data.dtype.kind
    if ka == "f" and kb in "iub":
        b = from_op(b._data.astype(a._data.dtype), None)
    elif kb == "f" and ka in "iub":
        a = from_op(a._data.astype(b._data.dtype), None)
    return a, b


# The operators a + b, a - b, a * b, a / b: the functions below without their keywords (they
# run once per arithmetic op, so each check left out counts).
def add_operator(a, b):
    a, b = _pair(a, b)
    return Add.apply(a, b)


def sub_operator(a, b):
    a, b = _pair(a, b)
    return Sub.apply(a, b)


def mul_operator(a, b):
    a, b = _pair(a, b)
    return Mul.apply(a, b)


def div_operator(a, b):
    a, b = _pair(a, b)
    return Div.apply(a, b)


def add(a, b, *, alpha=1, out=None):
    """a + alpha * b with broadcasting (``out=``: written into that tensor)."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = _pair(a, b)
    y = Add.apply(a, b)
    return y if out is None else _out(y, out, "add")


def sub(a, b, *, alpha=1, out=None):
    """a - alpha * b with broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    a, b = _pair(a, b)
    y = Sub.apply(a, b)
    return y if out is None else _out(y, out, "sub")


def mul(a, b, *, out=None):
    """a * b with broadcasting."""
    a, b = _pair(a, b)
    y = Mul.apply(a, b)
    return y if out is None else _out(y, out, "mul")


def div(a, b, *, rounding_mode=None, out=None):
    """a / b with broadcasting; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient
    (no gradient then, as in PyTorch)."""
    a, b = _pair(a, b)
    y = Div.apply(a, b)
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
        q = (np.trunc if rounding_mode == "trunc" else np.floor)(y._data)
        y = from_op(q.astype(np.result_type(a._data.dtype, b._data.dtype)) if a._data.dtype.kind in "iub" and b._data.dtype.kind in "iub" else q, None)
    return y if out is None else _out(y, out, "div", grad_of=(a, b))


def _out(y, out, name, grad_of=()):
    from ._util import write_out

    return write_out(y, out, name, grad_of=grad_of)


def pow(a, b):
    """a ** b; a Python-number exponent keeps a's dtype."""
    if isinstance(a, TensorBase) and isinstance(b, (int, float)) and not isinstance(b, bool):
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
    cond = cond._data if isinstance(cond, TensorBase) else np.asarray(cond)
    a, b = _pair(a, b)
    return Where.apply(a, b, cond=cond.astype(bool, copy=False))


def cast(a, dtype):
    """The tensor in another dtype; the gradient is cast back."""
    a = as_tensor(a)
    dtype = np.dtype(dtype)
    if a._data.dtype == dtype:
        return a
    return Cast.apply(a, dtype=dtype)
