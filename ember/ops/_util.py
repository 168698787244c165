"""Helpers shared by the ops: turning operands into tensors, undoing broadcasting."""
import numbers

import numpy as np

from .. import backend
from .._tensor_base import TensorBase, from_op, to_array


def as_tensor(x, like=None):
    """``x`` as a Tensor. A Python number takes ``like``'s float dtype, so it never upcasts."""
    if isinstance(x, TensorBase):
        return x
    if isinstance(x, np.ndarray):
        return from_op(x, None)
    if isinstance(x, numbers.Number) or isinstance(x, np.generic):
        if like is not None and like._data.dtype.kind in "fc":
            dt = like._data.dtype
        elif isinstance(x, (bool, np.bool_)):
            dt = np.bool_
        elif isinstance(x, numbers.Integral):
            dt = like._data.dtype if like is not None else np.int64
        else:
            dt = backend.get_default_dtype()
        return from_op(np.asarray(x, dtype=dt), None)
    return from_op(to_array(x), None)


def array_of(x):
    """The array of a value a backward saved: itself, or the Tensor's array when the backward
    is recorded. Masks, signs and tie counts are computed on it: they are constants."""
    return x._data if isinstance(x, TensorBase) else x


def keep_grad(gy, keep):
    """``gy`` where the bool array ``keep`` is true and exactly 0 elsewhere: the select that
    PyTorch's backwards of relu, clamp, hardtanh, maximum and minimum make.

    While gy is finite that is ``gy * keep``, one fast pass (NumPy's ``where`` is 4-12x slower
    on a random mask). An inf or NaN in gy takes ``where``: the product would give NaN there
    (inf * 0), where the select gives 0."""
    if isinstance(gy, TensorBase):  # a recorded backward: the same, on Tensors
        if all_finite(gy._data):
            return gy * keep
        from .elementwise import where

        return where(keep, gy, np.zeros((), gy._data.dtype))
    return gy * keep if all_finite(gy) else np.where(keep, gy, gy.dtype.type(0))


def all_finite(a):
    """Whether the float array ``a`` holds no inf and no NaN: then its minimum and maximum are
    finite (two fast reads, no temporary array)."""
    return a.size == 0 or bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the gradient of broadcasting an array of ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if extra:
        g = g.reshape(shape)
    return g if g.shape == shape else g.reshape(shape)


def norm_axis(axis, dim):
    """NumPy's ``axis`` with PyTorch's ``dim`` as an alias."""
    if dim is not None:
        if axis is not None:
            raise TypeError("pass axis or dim, not both")
        return tuple(dim) if isinstance(dim, list) else dim
    return tuple(axis) if isinstance(axis, list) else axis


def channels_last(shape, dtype, zero=False):
    """An (N, C, H, W) array stored as (N, H, W, C): each pixel's channels are contiguous.
    NumPy's ops keep this layout in their results (``order='K'``); the convolutions produce it."""
    n, c, h, w = shape
    return (np.zeros if zero else np.empty)((n, h, w, c), dtype).transpose(0, 3, 1, 2)


def is_channels_last(a):
    """Whether the (N, C, H, W) array ``a`` is stored densely as (N, H, W, C)."""
    return a.ndim == 4 and not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def empty_as(a, shape=None, dtype=None, zero=False):
    """A new array of ``shape`` and ``dtype`` (default a's) in a's layout: channels-last if
    ``a`` is, else C order; zero-filled with ``zero``."""
    shape = a.shape if shape is None else shape
    dtype = a.dtype if dtype is None else dtype
    if is_channels_last(a):
        return channels_last(shape, dtype, zero)
    return (np.zeros if zero else np.empty)(shape, dtype)


def flat(a):
    """The 1-D view of ``a``'s elements in memory order when ``a`` is dense (C order or
    channels-last), else None. Two arrays of one shape and layout have matching flat views."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    if is_channels_last(a):
        return a.transpose(0, 2, 3, 1).reshape(-1)
    return None
