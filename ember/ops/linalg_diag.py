"""Triangles and diagonals: tril, triu, diagonal (a view), diag_embed, diag, diagflat, trace.

``Diagonal`` and ``DiagEmbed`` are each other's gradient: the diagonal's gradient is gy
written on the diagonal of zeros, and that embedding's gradient is the diagonal of gy.
"""
import numpy as np

from ..autograd import Function
from ..autograd.function import share_version
from .._tensor_base import TensorBase, from_op
from . import elementwise as _ew
from . import movement as _mv
from ._util import as_tensor, write_out


def _tri_mask(a, diagonal, lower, name):
    if a._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    n, m = a._data.shape[-2:]
    return np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1, dtype=bool)


def tril(input, diagonal=0, *, out=None):
    """The lower triangle of the last two dims (on and below ``diagonal``), zeros elsewhere."""
    a = as_tensor(input)
    mask = _tri_mask(a, diagonal, True, "tril")
    return write_out(_ew.where(mask, a, from_op(np.zeros((), a._data.dtype), None)), out, "tril", exact=True)


def triu(input, diagonal=0, *, out=None):
    """The upper triangle of the last two dims (on and above ``diagonal``), zeros elsewhere."""
    a = as_tensor(input)
    mask = _tri_mask(a, diagonal, False, "triu")
    return write_out(_ew.where(mask, a, from_op(np.zeros((), a._data.dtype), None)), out, "triu", exact=True)


def _dims(ndim, dim1, dim2, name="diagonal"):
    if ndim < 2:
        raise RuntimeError(f"{name}(): expected a tensor of at least 2 dimensions, got {ndim}")
    for d in (dim1, dim2):
        if not -ndim <= d < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {d})")
    d1, d2 = dim1 % ndim, dim2 % ndim
    if d1 == d2:
        raise RuntimeError(f"{name} dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diag_view(a, offset, d1, d2):
    """The writable strided view of array a's diagonal: the other dims in order, then the diagonal."""
    idx = [slice(None)] * a.ndim
    if offset >= 0:
        idx[d2] = slice(min(offset, a.shape[d2]), None)
    else:
        idx[d1] = slice(min(-offset, a.shape[d1]), None)
    s = a[tuple(idx)]
    n = min(s.shape[d1], s.shape[d2])
    rest = [k for k in range(a.ndim) if k not in (d1, d2)]
    shape = tuple(s.shape[k] for k in rest) + (n,)
    strides = tuple(s.strides[k] for k in rest) + (s.strides[d1] + s.strides[d2],)
    return np.lib.stride_tricks.as_strided(s, shape, strides, writeable=s.flags.writeable)


def _embed(g, shape, offset, d1, d2):
    out = np.zeros(shape, g.dtype)
    _diag_view(out, offset, d1, d2)[...] = g
    return out


class Diagonal(Function):
    dual = True

    def forward(self, a, offset, d1, d2):
        self.shape, self.offset, self.d1, self.d2 = a.shape, offset, d1, d2
        return _diag_view(a, offset, d1, d2)

    def backward(self, gy):
        if isinstance(gy, TensorBase):
            return DiagEmbed.apply(gy, shape=self.shape, offset=self.offset, d1=self.d1, d2=self.d2)
        return _embed(gy, self.shape, self.offset, self.d1, self.d2)


class DiagEmbed(Function):
    dual = True

    def forward(self, g, shape, offset, d1, d2):
        self.offset, self.d1, self.d2 = offset, d1, d2
        return _embed(g, shape, offset, d1, d2)

    def backward(self, gy):
        if isinstance(gy, TensorBase):
            return _mv.clone(Diagonal.apply(gy, offset=self.offset, d1=self.d1, d2=self.d2))
        return _diag_view(gy, self.offset, self.d1, self.d2).copy()


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes as the last dim: a view of ``input``."""
    a = as_tensor(input)
    d1, d2 = _dims(a._data.ndim, dim1, dim2)
    y = Diagonal.apply(a, offset=offset, d1=d1, d2=d2)
    share_version(y, a)
    return y


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Tensors with ``input``'s last dim on the diagonal of the new (dim1, dim2) planes."""
    a = as_tensor(input)
    if a._data.ndim < 1:
        raise RuntimeError("diag_embed(): input must be at least 1-dimensional")
    n = a._data.ndim + 1
    d1, d2 = _dims(n, dim1, dim2, "diag_embed")
    k = a._data.shape[-1] + abs(offset)
    rest = iter(a._data.shape[:-1])
    shape = tuple(k if i in (d1, d2) else next(rest) for i in range(n))
    return DiagEmbed.apply(a, shape=shape, offset=offset, d1=d1, d2=d2)


def diag(input, diagonal=0, *, out=None):
    """A 1-D tensor on the ``diagonal`` of a square matrix, or a matrix's diagonal (a copy)."""
    a = as_tensor(input)
    if a._data.ndim == 1:
        y = diag_embed(a, diagonal)
    elif a._data.ndim == 2:
        y = Diagonal.apply(a, offset=diagonal, d1=0, d2=1)
        y = _mv.clone(y)
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {a._data.ndim}D")
    return write_out(y, out, "diag", exact=True, composite=True)


def diagflat(input, offset=0):
    """``input`` flattened, on the ``offset`` diagonal of a square matrix."""
    a = as_tensor(input)
    return diag_embed(_mv.reshape(a, (-1,)), offset)


def trace(input):
    """The sum of a matrix's main diagonal (int inputs give int64)."""
    from .reduce import sum as _sum

    a = as_tensor(input)
    if a._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a._data.ndim}")
    return _sum(Diagonal.apply(a, offset=0, d1=0, d2=1))
