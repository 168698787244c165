"""The scatters of a view (diagonal_scatter, select_scatter, slice_scatter), the sliding
window view ``Tensor.unfold``, ``sum_to_size``, and the signal windows (hann, hamming,
blackman, bartlett, kaiser). The scatters and unfold are compositions of ember's indexing
ops, so they are differentiable in every input."""
import builtins

import numpy as np

from .. import backend
from .._tensor_base import TensorBase, from_op
from ..autograd.function import share_version
from . import movement as _mv, reduce as _rd
from ._util import as_tensor


def _need_tensor(name, x, arg):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _scatter_into(name, input, src, places):
    """``input`` with the elements at the flat positions ``places`` (an int array in the
    slice's shape) replaced by ``src``: differentiable in both."""
    a = _need_tensor(name, input, "input")
    s = _need_tensor(name, src, "src")
    if s._data.shape != places.shape:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(s._data.shape)}, slice size = {list(places.shape)}")
    flat = _mv.setitem(_mv.reshape(a, -1), places, s)
    return _mv.reshape(flat, *a._data.shape)


def _positions(shape):
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with its ``diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    a = _need_tensor("diagonal_scatter", input, "input")
    nd = a._data.ndim
    d1, d2 = _mv.wrap_dim(dim1, nd), _mv.wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _scatter_into("diagonal_scatter", a, src, np.diagonal(_positions(a._data.shape), offset, d1, d2))


def select_scatter(input, src, dim, index):
    """``input`` with ``select(dim, index)`` replaced by ``src``."""
    a = _need_tensor("select_scatter", input, "input")
    if a._data.ndim == 0:
        raise IndexError("select_scatter() cannot be applied to a 0-dim tensor.")
    d = _mv.wrap_dim(dim, a._data.ndim)
    n = a._data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"index {index} out of range for tensor of size {list(a._data.shape)} at dimension {d}")
    places = np.take(_positions(a._data.shape), index % n, axis=d)
    return _scatter_into("select_scatter", a, src, places)


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    a = _need_tensor("slice_scatter", input, "input")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = _mv.wrap_dim(dim, a._data.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_into("slice_scatter", a, src, _positions(a._data.shape)[key])


def unfold(self, dimension, size, step):
    """The windows of ``size`` elements, ``step`` apart, along ``dimension``: a view with that
    dimension replaced by the window count and a new last dimension of ``size``."""
    a = as_tensor(self)
    nd = a._data.ndim
    d = _mv.wrap_dim(dimension, builtins.max(nd, 1))
    length = a._data.shape[d] if nd else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if nd == 0:
        return _mv.reshape(a, 1)
    count = (length - size) // step + 1
    windows = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    moved = _mv.movedim(a, d, -1)
    y = _mv.movedim(_mv.getitem(moved, (Ellipsis, windows)), -2, d)  # the graph: an indexing op
    arr = a._data
    if isinstance(arr, np.ndarray):  # the values as a strided view of a's memory, as PyTorch's
        st = arr.strides
        view = np.lib.stride_tricks.as_strided(
            arr, shape=arr.shape[:d] + (count,) + arr.shape[d + 1:] + (size,),
            strides=st[:d] + (st[d] * step,) + st[d + 1:] + (st[d],), writeable=arr.flags.writeable)
        y._data = view
        share_version(y, a)
    return y


def sum_to_size(self, *size):
    """This tensor summed down to ``size`` (which it must be expandable to)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    x = as_tensor(self)
    have = x._data.shape
    ok = len(shape) <= len(have) and all(s == h or s == 1 for s, h in zip(shape[::-1], have[::-1]))
    if not ok:
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size {{{list(have)}}}.")
    if shape == have:
        return x
    lead = len(have) - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and have[lead + i] != 1)
    y = _rd.sum(x, dim=dims, keepdim=True) if dims else x
    return _mv.reshape(y, *shape)


# ----- windows -----
def _window(name, window_length, periodic, dtype, requires_grad, values):
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dt = np.dtype(backend.get_default_dtype() if dtype is None else getattr(dtype, "dtype", dtype))
    if dt.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    if window_length == 0:
        w = np.empty(0, dt)
    elif window_length == 1:
        w = np.ones(1, dt)
    else:
        m = window_length + 1 if periodic else window_length
        w = values(np.arange(window_length, dtype=np.float64), m)
    t = from_op(np.asarray(w, dt), None)
    return t.requires_grad_(True) if requires_grad else t


def _cos_sum(*coeffs):
    def values(n, m):
        x = 2 * np.pi * n / (m - 1)
        return builtins.sum(c * np.cos(k * x) * (-1) ** k for k, c in enumerate(coeffs))

    return values


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False):
    """0.5 - 0.5 cos(2 pi n / (N - 1)); ``periodic``: N is one more (for spectra)."""
    return _window("hann_window", window_length, periodic, dtype, requires_grad, _cos_sum(0.5, 0.5))


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad, _cos_sum(alpha, beta))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, _cos_sum(0.42, 0.5, 0.08))


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False,
                    pin_memory=False):
    """The triangle 1 - |2n / (N - 1) - 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n, m: 1 - np.abs(2 * n / (m - 1) - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False, pin_memory=False):
    """I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)."""
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad,
                   lambda n, m: np.i0(beta * np.sqrt(np.clip(1 - (2 * n / (m - 1) - 1) ** 2, 0, None))) / np.i0(beta))
