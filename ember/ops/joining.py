"""Joining, splitting and repeating: cat/stack and their NumPy-style forms (hstack, vstack,
dstack, column_stack), split/chunk/tensor_split/unbind, meshgrid, broadcast_tensors and
broadcast_shapes, atleast_1d/2d/3d, repeat/tile/repeat_interleave. Each is differentiable: a
primitive below or a composition of views."""
import numbers
import warnings

import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, norm_axis
from .movement import Size, _shape_args, broadcast_to, clone, getitem, reshape, wrap_dim


def _slab(axis, start, stop):
    """The index of positions [start, stop) along ``axis``."""
    return (slice(None),) * axis + (slice(start, stop),)


class Concatenate(Function):
    """Join along ``axis``; each input's gradient is its slab of gy (a GetItem when recorded)."""

    dual = True

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([0] + [a.shape[axis] for a in arrays]).tolist()
        return np.concatenate(arrays, axis=axis)

    def backward(self, gy):
        b = self.bounds
        return tuple(
            gy[_slab(self.axis, b[k], b[k + 1])] if self.needs_grad(k) else None for k in range(len(b) - 1)
        )


class Stack(Function):
    """Join along a new ``axis``; input k's gradient is gy's slab k with that axis dropped."""

    dual = True

    def forward(self, *arrays, axis):
        self.axis, self.shape = axis, arrays[0].shape
        return np.stack(arrays, axis=axis)

    def backward(self, gy):
        n = len(self.inputs)
        return tuple(
            gy[_slab(self.axis, k, k + 1)].reshape(self.shape) if self.needs_grad(k) else None for k in range(n)
        )


def _promoted(tensors, name):
    """The tensors in one dtype, PyTorch's promotion: any float input sets the float type
    (an int never upcasts it), else NumPy's integer promotion."""
    if isinstance(tensors, TensorBase) or not isinstance(tensors, (list, tuple)) and not hasattr(tensors, "__iter__"):
        raise TypeError(f"{name}(): argument 'tensors' must be a tuple or list of Tensors, got {type(tensors).__name__}")
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        if name == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"{name}(): expected a non-empty list of Tensors")
    dts = {t._data.dtype for t in tensors}
    if len(dts) > 1:
        floats = [d for d in dts if d.kind in "fc"]
        dt = np.result_type(*floats) if floats else np.result_type(*dts)
        from .elementwise import cast

        tensors = [cast(t, dt) for t in tensors]
    return tensors


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along an existing dim (``torch.cat``; ``axis`` is NumPy's name for it).
    Mixed dtypes promote as in PyTorch; 1-d empty tensors are skipped, as PyTorch does."""
    axis = norm_axis(None, dim) if dim is not None else axis
    tensors = _promoted(tensors, "torch.cat")
    keep = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)]
    if not keep:
        return Concatenate.apply(*tensors, axis=0)
    tensors = keep
    nd = tensors[0]._data.ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    axis = wrap_dim(axis, nd)
    first = tensors[0]._data.shape
    for k, t in enumerate(tensors[1:], 1):
        s = t._data.shape
        if len(s) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {len(s)}")
        for d in range(nd):
            if d != axis and s[d] != first[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size "
                                   f"{first[d]} but got size {s[d]} for tensor number {k} in the list.")
    return Concatenate.apply(*tensors, axis=axis)


cat = concat = concatenate


def stack(tensors, axis=0, *, dim=None):
    """Join same-shaped tensors along a new dim."""
    axis = norm_axis(None, dim) if dim is not None else axis
    tensors = _promoted(tensors, "stack")
    first = tensors[0]._data.shape
    for k, t in enumerate(tensors[1:], 1):
        if t._data.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                               f"and {list(t._data.shape)} at entry {k}")
    axis = wrap_dim(axis, len(first) + 1)
    return Stack.apply(*tensors, axis=axis)


def split(a, split_size_or_sections=None, axis=0, *, dim=None, split_size=None):
    """Split into pieces along ``dim``, as ``torch.split``: an int is the size of each
    piece (the last may be smaller), a list gives every piece's size. (``split_size`` is
    ``Tensor.split``'s name for the first argument.)"""
    a = as_tensor(a)
    if split_size is not None:
        split_size_or_sections = split_size
    axis = wrap_dim(norm_axis(None, dim) if dim is not None else axis, a._data.ndim)
    if a._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    n = a._data.shape[axis]
    if isinstance(split_size_or_sections, TensorBase) and split_size_or_sections._data.ndim == 0:
        split_size_or_sections = int(split_size_or_sections._data)
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and n != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
                               if step == 0 else f"split expects split_size be non-negative, but got split_size={step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {axis}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        index = (slice(None),) * axis + (slice(start, start + s),)
        out.append(getitem(a, index))
        start += s
    return tuple(out)


def chunk(a, chunks, axis=0, *, dim=None):
    """``chunks`` pieces of equal size along ``dim`` (the last smaller; fewer pieces when the
    size does not divide), as ``torch.chunk``."""
    a = as_tensor(a)
    if a._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if int(chunks) <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {int(chunks)}")
    ax = wrap_dim(norm_axis(None, dim) if dim is not None else axis, a._data.ndim)
    n = a._data.shape[ax]
    if n == 0:  # PyTorch gives `chunks` empty pieces
        return tuple(getitem(a, (slice(None),) * ax + (slice(0, 0),)) for _ in range(int(chunks)))
    return split(a, -(-n // int(chunks)), ax)


def _tensors(tensors, name):
    """A list of tensors from ``f(a, b)`` or ``f([a, b])``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return [as_tensor(t) for t in tensors]


def _each(fn, tensors):
    ts = _tensors(tensors, fn.__name__)
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        return fn(ts[0])
    return tuple(fn(t) for t in ts)


def _at_least(t, n):
    s = t._data.shape
    if len(s) >= n:
        return t
    if n == 3 and len(s) == 2:
        return reshape(t, s + (1,))
    if n == 3 and len(s) == 1:
        return reshape(t, (1,) + s + (1,))
    return reshape(t, (1,) * (n - len(s)) + s)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,)); one tensor in, one out."""
    return _each(lambda t: _at_least(t, 1), tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: (n,) becomes (1, n)."""
    return _each(lambda t: _at_least(t, 2), tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    return _each(lambda t: _at_least(t, 3), tensors)


def _seq(tensors, name):
    if isinstance(tensors, TensorBase) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' must be tuple of Tensors, not {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return [as_tensor(t) for t in tensors]


def hstack(tensors):
    """Join along dim 1 (dim 0 when every tensor is 1-d); 0-d tensors count as 1-d."""
    ts = [_at_least(t, 1) for t in _seq(tensors, "hstack")]
    return concatenate(ts, dim=0 if all(t._data.ndim == 1 for t in ts) else 1)


def vstack(tensors):
    """Join along dim 0 after ``atleast_2d``: rows stacked."""
    return concatenate([_at_least(t, 2) for t in _seq(tensors, "vstack")], dim=0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 after ``atleast_3d``."""
    return concatenate([_at_least(t, 3) for t in _seq(tensors, "dstack")], dim=2)


def column_stack(tensors):
    """0-d and 1-d tensors become columns (n, 1); then join along dim 1."""
    ts = _seq(tensors, "column_stack")
    ts = [reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in ts]
    return concatenate(ts, dim=1)


def unbind(a, dim=0):
    """The slices along ``dim``, that dim removed: a tuple of views."""
    a = as_tensor(a)
    if a._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, a._data.ndim)
    return tuple(getitem(a, (slice(None),) * d + (i,)) for i in range(a._data.shape[d]))


def tensor_split(a, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """Views along ``dim``: an int ``n`` gives n pieces whose sizes differ by at most one (the
    first ones larger); a list of indices cuts before each index (Python slice rules)."""
    a = as_tensor(a)
    for alt in (sections, indices, tensor_indices_or_sections):
        if alt is not None:
            indices_or_sections = alt
    if indices_or_sections is None:
        raise TypeError("tensor_split() missing the argument 'indices_or_sections' (or sections=, indices=)")
    if a._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = wrap_dim(dim, a._data.ndim)
    n = a._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, TensorBase):
        if ios._data.dtype.kind not in "iu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{ios._data.dtype}")
        if ios._data.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {ios._data.ndim} dims")
        ios = int(ios._data) if ios._data.ndim == 0 else [int(i) for i in ios._data]
    if isinstance(ios, numbers.Integral):
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        q, r = divmod(n, k)
        bounds = np.cumsum([0] + [q + 1] * r + [q] * (k - r)).tolist()
        cuts = list(zip(bounds[:-1], bounds[1:]))
    else:
        idx = [int(i) for i in ios]
        cuts = list(zip([0] + idx, idx + [None]))
    return tuple(getitem(a, (slice(None),) * d + (slice(lo, hi),)) for lo, hi in cuts)


def _nsplit(a, ios, dim, name, least):
    a = as_tensor(a)
    if a._data.ndim < least:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {least} dimension, but got a tensor "
                           f"with {a._data.ndim} dimensions!")
    if isinstance(ios, numbers.Integral) and ios != 0 and a._data.shape[dim] % int(ios):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{a._data.shape[dim]} is not divisible by the split_size {int(ios)}!")
    return tensor_split(a, ios, dim)


def hsplit(a, indices_or_sections):
    """``tensor_split`` along dim 1 (dim 0 of a 1-d tensor); sections must divide evenly."""
    a = as_tensor(a)
    return _nsplit(a, indices_or_sections, 0 if a._data.ndim == 1 else 1, "hsplit", 1)


def vsplit(a, indices_or_sections):
    """``tensor_split`` along dim 0 of a tensor with at least 2 dims."""
    return _nsplit(a, indices_or_sections, 0, "vsplit", 2)


def dsplit(a, indices_or_sections):
    """``tensor_split`` along dim 2 of a tensor with at least 3 dims."""
    return _nsplit(a, indices_or_sections, 2, "dsplit", 3)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to, as an ``ember.Size``."""
    shapes = [(int(s),) if isinstance(s, numbers.Integral) else tuple(int(n) for n in s) for s in shapes]
    out = []
    for i, s in enumerate(shapes):
        out = [1] * (len(s) - len(out)) + out
        for k in range(1, len(s) + 1):
            m, n = out[-k], s[-k]
            if n != m and n != 1 and m != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {-k}! Mismatching argument "
                                   f"at index {i} had {s}; but expected shape should be broadcastable to {out}")
            if m == 1:
                out[-k] = n
    return Size(out)


def broadcast_tensors(*tensors):
    """The tensors broadcast to one shape: a tuple of (read-only) views."""
    ts = _tensors(tensors, "broadcast_tensors")
    shape = ()
    for k, t in enumerate(ts):
        s = t._data.shape
        try:
            shape = np.broadcast_shapes(shape, s)
        except ValueError:
            shape, s = (1,) * (len(s) - len(shape)) + tuple(shape), (1,) * (len(shape) - len(s)) + s
            d = next(i for i, (m, n) in enumerate(zip(shape, s)) if m != n and 1 not in (m, n))
            raise RuntimeError(f"The size of tensor a ({shape[d]}) must match the size of tensor b ({s[d]}) at "
                               f"non-singleton dimension {d}") from None
    return tuple(broadcast_to(t, shape) for t in ts)


_MESHGRID_WARNING = (
    "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.")


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d tensors: output k varies along dim k ('ij', the default) or,
    with indexing='xy', the first two dims are swapped (Cartesian, as NumPy's default)."""
    ts = _tensors(tensors, "meshgrid")
    if indexing is None:
        warnings.warn(_MESHGRID_WARNING, UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t._data.ndim}D")
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    n = len(ts)
    shape = tuple(t._data.size for t in ts)
    out = [broadcast_to(reshape(t, (1,) * k + (-1,) + (1,) * (n - k - 1)), shape) for k, t in enumerate(ts)]
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


# ----- repeating: copies of a tensor joined -----


def _own(out, a):
    """``out``, copied if it still shares ``a``'s memory (repeat always copies)."""
    if out is a or np.may_share_memory(out._data, a._data):
        return clone(out)
    return out


def repeat(a, *sizes):
    """``a`` tiled ``sizes[k]`` times along dim k (``Tensor.repeat``); extra leading sizes add
    dims. A copy; the gradient sums the copies."""
    a = as_tensor(a)
    sizes = _shape_args(sizes)
    nd = a._data.ndim
    if len(sizes) < nd:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    s = (1,) * (len(sizes) - nd) + a._data.shape
    if any(r < 0 for r in sizes):
        want = [r * n for r, n in zip(sizes, s)]
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(want)}: {want}")
    pairs = reshape(a, tuple(x for n in s for x in (1, n)))
    wide = broadcast_to(pairs, tuple(x for r, n in zip(sizes, s) for x in (r, n)))
    return _own(reshape(wide, tuple(r * n for r, n in zip(sizes, s))), a)


def tile(a, *dims):
    """``repeat`` with ``dims`` padded by leading 1s to ``a``'s number of dims (``torch.tile``)."""
    a = as_tensor(a)
    dims = _shape_args(dims)
    return repeat(a, (1,) * (a._data.ndim - len(dims)) + dims)


def repeat_interleave(a, repeats=None, dim=None, *, output_size=None):
    """Each element repeated ``repeats`` times along ``dim`` (the flattened tensor when dim is
    None). ``repeats`` is an int or a tensor of one count per position;
    ``repeat_interleave(counts)`` alone gives the indices 0..n-1 repeated by ``counts``."""
    if repeats is None:
        r = as_tensor(a)._data
        if r.ndim != 1 or r.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return from_op(np.repeat(np.arange(r.shape[0], dtype=np.int64), r), None)
    a = as_tensor(a)
    if dim is None:
        a, dim = reshape(a, -1), 0
    d = wrap_dim(dim, a._data.ndim)
    s = a._data.shape if a._data.ndim else (1,)
    if a._data.ndim == 0:
        a = reshape(a, 1)
    if isinstance(repeats, TensorBase) and repeats._data.size == 1 and repeats._data.ndim <= 1:
        repeats = int(repeats._data.reshape(()))
    if isinstance(repeats, numbers.Integral):
        k = int(repeats)
        if k < 0:
            raise RuntimeError("Repeats must be non-negative")
        wide = broadcast_to(reshape(a, s[:d + 1] + (1,) + s[d + 1:]), s[:d + 1] + (k,) + s[d + 1:])
        out = reshape(wide, s[:d] + (s[d] * k,) + s[d + 1:])
    else:
        r = np.asarray(repeats._data if isinstance(repeats, TensorBase) else repeats)
        if r.ndim != 1 or r.shape[0] != s[d]:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                               f"{r.size} and input.size({d}) = {s[d]}")
        if (r < 0).any():
            raise RuntimeError("Repeats must be non-negative")
        idx = np.repeat(np.arange(s[d], dtype=np.int64), r)
        out = getitem(a, (slice(None),) * d + (idx,))
    if output_size is not None and out._data.shape[d] != int(output_size):
        raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {out._data.shape[d]} but got "
                           f"{int(output_size)}")
    return _own(out, a)


