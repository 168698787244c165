"""Reductions over an axis (or all axes): sum, mean, max, min, var, std, logsumexp.

Every reduction takes NumPy's ``axis`` (int, tuple or None) with PyTorch's ``dim`` as an
alias, and ``keepdims`` (``keepdim`` as an alias). They return values, not (values, indices).
"""
import builtins

import numpy as np

from ..autograd import Function
from ._util import array_of, as_tensor, norm_axis


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def _expand(xp, g, shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape (``xp``: NumPy or ember's ops)."""
    if not keepdims:
        g = xp.expand_dims(g, axes) if axes else g
    return xp.broadcast_to(g, shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    dual = True

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    def backward(self, gy):
        return _expand(self.xp, gy, self.shape, self.axes, self.keepdims)


class Mean(Function):
    dual = True

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return np.asarray(a.mean(axis=axes, keepdims=keepdims))

    def backward(self, gy):
        n = _count(self.shape, self.axes)
        return _expand(self.xp, gy / np.asarray(n, gy.dtype), self.shape, self.axes, self.keepdims)


class Max(Function):
    """Max (or min) over axes; the gradient is shared evenly among tied maxima, like ``amax``.
    Which elements tie is a constant: the gradient of the gradient is the same spread."""

    dual = True

    def forward(self, a, axes, keepdims, minimum=False):
        if a.size == 0:
            raise ValueError("max()/min() of an empty tensor")
        y = a.min(axis=axes, keepdims=True) if minimum else a.max(axis=axes, keepdims=True)
        y = y if keepdims else np.asarray(np.squeeze(y, axis=axes))
        self.save_for_backward(a, y)
        self.axes, self.keepdims = axes, keepdims
        return y

    def backward(self, gy):
        a, y = (array_of(t) for t in self.saved_tensors)
        if not self.keepdims:
            y = np.expand_dims(y, self.axes)
            gy = self.xp.expand_dims(gy, self.axes)
        mask = a == y
        n = mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)
        return mask * (gy / n)


class Var(Function):
    """Variance with ``correction``: sum((a - mean)^2) / (N - correction)."""

    dual = True

    def forward(self, a, axes, keepdims, correction):
        self.save_for_backward(a)
        self.d = d = a - a.mean(axis=axes, keepdims=True)
        self.axes, self.keepdims = axes, keepdims
        self.n = builtins.max(_count(a.shape, axes) - correction, 0)
        return np.asarray((d * d).sum(axis=axes, keepdims=keepdims) / np.asarray(self.n, a.dtype))

    def backward(self, gy):
        # d(var)/d(a_i) = 2 (a_i - mean) / (N - correction); d(var)/d(mean) = 0. With
        # N - correction = 0 the factor is inf and the gradient NaN, as in PyTorch.
        (a,) = self.saved_tensors
        # a - mean comes from forward; when this backward is recorded it is recomputed with
        # ember's ops, so that it is differentiated as well
        d = a - a.mean(axis=self.axes, keepdims=True) if self._graph else self.d
        if not self.keepdims:
            gy = self.xp.expand_dims(gy, self.axes)
        k = np.asarray(2.0 / self.n if self.n else np.inf, gy.dtype)
        return d * (gy * k)


class LogSumExp(Function):
    """log(sum(exp(a))) over axes; the gradient is the softmax exp(a - y), read from the
    input and the output (so that it is differentiated again when recorded)."""

    dual = True

    def forward(self, a, axes, keepdims):
        m = a.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        yk = np.log(np.exp(a - m).sum(axis=axes, keepdims=True)) + m
        y = yk if keepdims else np.asarray(np.squeeze(yk, axis=axes))
        self.save_for_backward(a, y)
        self.axes, self.keepdims = axes, keepdims
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        xp = self.xp
        if not self.keepdims:
            y = xp.expand_dims(y, self.axes)
            gy = xp.expand_dims(gy, self.axes)
        return gy * xp.exp(a - y)  # the softmax


def _reduce(cls, a, axis, dim, keepdims, keepdim, **kw):
    a = as_tensor(a)
    axes = _axes(norm_axis(axis, dim), a._data.ndim)
    return cls.apply(a, axes=axes, keepdims=bool(keepdims or keepdim), **kw)


def sum(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Sum over ``axis`` (all axes when None)."""
    return _reduce(Sum, a, axis, dim, keepdims, keepdim)


def mean(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Mean over ``axis`` (all axes when None)."""
    return _reduce(Mean, a, axis, dim, keepdims, keepdim)


def max(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Largest value over ``axis``; returns the values (use ``argmax`` for the indices)."""
    return _reduce(Max, a, axis, dim, keepdims, keepdim)


def min(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Smallest value over ``axis``; returns the values."""
    return _reduce(Max, a, axis, dim, keepdims, keepdim, minimum=True)


def var(a, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1, unbiased=None, ddof=None):
    """Variance over ``axis``. Like PyTorch, the default is unbiased (``correction=1``);
    ``ddof=0`` or ``unbiased=False`` gives NumPy's population variance."""
    if ddof is not None:
        correction = ddof
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return _reduce(Var, a, axis, dim, keepdims, keepdim, correction=correction)


def std(a, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1, unbiased=None, ddof=None):
    """Standard deviation over ``axis`` (unbiased by default, like PyTorch)."""
    from .elementwise import sqrt

    return sqrt(var(a, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased, ddof=ddof))


def logsumexp(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """log(sum(exp(a))) over ``axis``, computed without overflow."""
    return _reduce(LogSumExp, a, axis, dim, keepdims, keepdim)


def argmax(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Indices of the maxima (no gradient)."""
    from .._tensor_base import TensorBase, from_op

    a = as_tensor(a)
    ax = norm_axis(axis, dim)
    return from_op(np.argmax(a._data, axis=ax, keepdims=bool(keepdims or keepdim)), None)


def argmin(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Indices of the minima (no gradient)."""
    from .._tensor_base import TensorBase, from_op

    a = as_tensor(a)
    ax = norm_axis(axis, dim)
    return from_op(np.argmin(a._data, axis=ax, keepdims=bool(keepdims or keepdim)), None)
