"""Comparison and logic: eq ne lt le gt ge, equal, allclose, isclose, the isnan family, the
logical and bitwise ops (bool tensors, no gradient), fmax/fmin (NaN-ignoring maximum and
minimum, with gradients), and ``where(cond)`` with one argument (the nonzero indices)."""
import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, keep_grad, write_out
from .elementwise import _pair, _unb
from .elementwise import where as _where3
from .indexing_prims import broadcast_shape


def _raw(x):
    return x._data if isinstance(x, TensorBase) else x


def _bool(fn):
    def op(input, other, *, out=None):
        with np.errstate(invalid="ignore"):
            y = from_op(np.asarray(fn(as_tensor(input)._data, _raw(other))), None)
            return y if out is None else write_out(y, out, op.__name__)

    op.__name__ = fn.__name__
    op.__doc__ = f"Elementwise ``{fn.__name__}`` as a bool tensor (no gradient)."
    return op


eq, ne, lt, le, gt, ge = (_bool(f) for f in (np.equal, np.not_equal, np.less, np.less_equal, np.greater,
                                              np.greater_equal))
eq.__name__, ne.__name__, lt.__name__, le.__name__, gt.__name__, ge.__name__ = "eq", "ne", "lt", "le", "gt", "ge"
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other):
    """True when both have the same shape and the same elements (a Python bool)."""
    a, b = as_tensor(input)._data, as_tensor(other)._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol |other|, elementwise (a bool tensor)."""
    a, b = _pair(input, other)
    with np.errstate(invalid="ignore", over="ignore"):
        return from_op(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan), None)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is close (``isclose``): a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def _pred(fn, name, doc):
    def op(input):
        return from_op(np.asarray(fn(as_tensor(input)._data)), None)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


isnan = _pred(np.isnan, "isnan", "Where the elements are NaN.")
isinf = _pred(np.isinf, "isinf", "Where the elements are +inf or -inf.")
isposinf = _pred(np.isposinf, "isposinf", "Where the elements are +inf.")
isneginf = _pred(np.isneginf, "isneginf", "Where the elements are -inf.")
isfinite = _pred(np.isfinite, "isfinite", "Where the elements are neither infinite nor NaN.")
isreal = _pred(np.isreal, "isreal", "Where the elements are real (everywhere, for a real dtype).")


def _logical(fn, name):
    def op(input, other, *, out=None):
        y = from_op(np.asarray(fn(as_tensor(input)._data, _raw(other))), None)
        return y if out is None else write_out(y, out, op.__name__)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name.split('_')[1]} of the truth values (a bool tensor)."
    return op


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(input, *, out=None):
    """Elementwise not of the truth values (a bool tensor)."""
    y = from_op(np.logical_not(as_tensor(input)._data), None)
    return y if out is None else write_out(y, out, "logical_not")


_TORCH_NAMES = {np.dtype(np.float16): "Half", np.dtype(np.float32): "Float", np.dtype(np.float64): "Double",
                np.dtype(np.int64): "Long", np.dtype(np.int32): "Int"}


def _check_integral(name, *arrays):
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind not in "iub":
            raise RuntimeError(f'"{name}_cpu" not implemented for \'{_TORCH_NAMES.get(a.dtype, a.dtype.name)}\'')


def _bitwise(fn, name):
    def op(input, other, *, out=None):
        a = as_tensor(input)._data
        b = _raw(other)
        _check_integral(name, a, b)
        y = from_op(np.asarray(fn(a, b)), None)
        return y if out is None else write_out(y, out, op.__name__)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name.split('_')[1]} of the bits (integer and bool tensors)."
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")


def bitwise_not(input, *, out=None):
    """Elementwise not of the bits (logical not for bools)."""
    a = as_tensor(input)._data
    _check_integral("bitwise_not", a)
    y = from_op(np.invert(a), None)
    return y if out is None else write_out(y, out, "bitwise_not", exact=True)


class FMax(Function):
    """max(a, b) elementwise, ignoring a NaN operand (NaN only where both are). The gradient
    goes to a where a >= b or b is NaN, else to b (all of it on a tie, as PyTorch)."""

    dual = True

    def forward(self, a, b, minimum=False):
        self.minimum = minimum
        with np.errstate(invalid="ignore"):
            self.to_a = ((a <= b) if minimum else (a >= b)) | np.isnan(b)
        return np.fmin(a, b) if minimum else np.fmax(a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = _unb(keep_grad(gy, self.to_a), a.shape, a.dtype) if self.needs_grad(0) else None
        gb = _unb(keep_grad(gy, ~self.to_a), b.shape, b.dtype) if self.needs_grad(1) else None
        return ga, gb


def fmax(input, other, *, out=None):
    """Elementwise maximum that ignores NaN: NaN only where both are NaN."""
    y = FMax.apply(*_pair(input, other))
    return y if out is None else write_out(y, out, "fmax")


def fmin(input, other, *, out=None):
    """Elementwise minimum that ignores NaN."""
    y = FMax.apply(*_pair(input, other), minimum=True)
    return y if out is None else write_out(y, out, "fmin")


def where(condition, input=None, other=None, *, out=None):
    """``where(cond, input, other)``: input where cond, else other (no gradient to cond).
    ``where(cond)``: the indices where cond is true, one int64 tensor per dim (``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        c = as_tensor(condition)._data
        if c.ndim == 0:
            c = c.reshape(1)
        return tuple(from_op(np.asarray(i, np.int64), None) for i in np.nonzero(c))
    if input is None or other is None:
        raise TypeError("where() takes the condition alone, or the condition, input and other")
    c = condition._data if isinstance(condition, TensorBase) else np.asarray(condition)
    if c.dtype != np.bool_:
        if c.dtype != np.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{_TORCH_NAMES.get(c.dtype, c.dtype.name.capitalize())}")
        import warnings

        warnings.warn("where received a uint8 condition tensor; use a boolean condition instead.", UserWarning,
                      stacklevel=2)
    broadcast_shape(c.shape, np.shape(_raw(input)), np.shape(_raw(other)))
    y = _where3(condition, input, other)
    return y if out is None else write_out(y, out, "where", exact=True)


__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "equal",
    "isclose", "allclose", "isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "fmax", "fmin", "where",
]
