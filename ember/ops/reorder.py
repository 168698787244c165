"""Reordering along dims: flip, fliplr, flipud, roll, rot90, diff. Each is differentiable; the
gradient of a reordering is the inverse reordering (recorded when ``create_graph=True``)."""
import numbers

import numpy as np

from ..autograd import Function
from ._util import as_tensor
from .sorting import _wrap


class Flip(Function):
    """Reverse the order along ``axes`` (a copy, as PyTorch's flip); its gradient flips back."""

    dual = True

    def forward(self, a, axes):
        self.axes = axes
        return np.flip(a, axes).copy()

    def backward(self, gy):
        if self._graph:
            return Flip.apply(gy, axes=self.axes)
        return np.flip(gy, self.axes)


class Roll(Function):
    """Shift the elements cyclically by ``shifts`` along ``axes``; the gradient rolls back."""

    dual = True

    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(a, shifts, axes)

    def backward(self, gy):
        back = tuple(-s for s in self.shifts)
        if self._graph:
            return Roll.apply(gy, shifts=back, axes=self.axes)
        return np.roll(gy, back, self.axes)


def _dim_list(dims, ndim):
    ds = [dims] if isinstance(dims, numbers.Integral) else list(dims)
    out = [_wrap(d, ndim) for d in ds]
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(out)


def flip(input, dims):
    """The elements of ``input`` in reverse order along each dim of ``dims`` (a copy)."""
    a = as_tensor(input)
    axes = _dim_list(dims, a._data.ndim)
    if a._data.ndim == 0:
        axes = ()
    return Flip.apply(a, axes=axes)


def fliplr(input):
    """Flip along dim 1 (left/right); needs at least 2 dims."""
    a = as_tensor(input)
    if a._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(a, (1,))


def flipud(input):
    """Flip along dim 0 (up/down); needs at least 1 dim."""
    a = as_tensor(input)
    if a._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(a, (0,))


def roll(input, shifts, dims=None):
    """Shift elements cyclically: by ``shifts`` (an int or a tuple) along ``dims`` (matching
    ints or tuples); with no dims, over the flattened tensor, and the shape is kept."""
    from .movement import reshape

    a = as_tensor(input)
    sh = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(int(s) for s in shifts)
    if dims is None or (not isinstance(dims, numbers.Integral) and len(dims) == 0):
        if len(sh) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:0")
        flat = reshape(a, (-1,))
        return reshape(Roll.apply(flat, shifts=(int(sh[0]),), axes=(0,)), a._data.shape)
    ds = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
    if len(sh) != len(ds):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, dims:{len(ds)}")
    axes = tuple(_wrap(d, a._data.ndim) for d in ds)
    if a._data.ndim == 0:
        return Roll.apply(a, shifts=(), axes=())
    return Roll.apply(a, shifts=tuple(int(s) for s in sh), axes=axes)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second (PyTorch's direction)."""
    from .movement import swapaxes

    a = as_tensor(input)
    dims = tuple(dims)
    n = a._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if n < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {n}")
    d0, d1 = _wrap(dims[0], n), _wrap(dims[1], n)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k = int(k) % 4
    if k == 1:
        return swapaxes(flip(a, (d1,)), d0, d1)
    if k == 2:
        return flip(a, (d0, d1))
    if k == 3:
        return flip(swapaxes(a, d0, d1), (d1,))
    from .movement import clone

    return clone(a)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (``prepend``/``append`` joined first);
    on bools, the logical xor of neighbours, as PyTorch."""
    from .elementwise import sub
    from .joining import cat
    from .logic import logical_xor
    from .movement import getitem

    a = as_tensor(input)
    if a._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap(dim, a._data.ndim)
    def side(e):
        e = as_tensor(e, a)
        if e._data.ndim != a._data.ndim:
            raise RuntimeError(f"diff expects prepend or append to be the same dimension as input, got "
                               f"{e._data.ndim} and {a._data.ndim}")
        return e

    parts = ([side(prepend)] if prepend is not None else []) + [a] + ([side(append)] if append is not None else [])
    if len(parts) > 1:
        a = cat(parts, dim=d)
    pre = (slice(None),) * d
    for _ in range(n):
        if a._data.shape[d] == 0:
            break
        hi, lo = getitem(a, pre + (slice(1, None),)), getitem(a, pre + (slice(None, -1),))
        a = logical_xor(hi, lo) if a._data.dtype == np.bool_ else sub(hi, lo)
    return a
