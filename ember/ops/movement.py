"""Shape ops: reshape, transpose/permute, squeeze/unsqueeze, broadcast, concatenate/stack,
split, pad, and indexing (whose gradient scatter-adds)."""
import numbers

import numpy as np

from ..autograd import Function
from ..autograd.function import share_version
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, norm_axis, unbroadcast


class Reshape(Function):
    dual = True

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.shape)


class Permute(Function):
    dual = True

    def forward(self, a, axes):
        self.axes = axes
        return a.transpose(axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return gy.transpose(tuple(inverse))


class BroadcastTo(Function):
    dual = True

    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.shape)


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


class Pad(Function):
    """Constant padding; the gradient is the slice of gy over the input (a GetItem when
    recorded, whose own backward pads with zeros again: ``IndexAdd``)."""

    dual = True

    def forward(self, a, pad_width, mode, value):
        self.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, a.shape))
        if mode == "constant":
            return np.pad(a, pad_width, mode="constant", constant_values=value)
        if mode in ("reflect", "replicate", "edge", "symmetric", "wrap", "circular"):
            raise NotImplementedError(f"pad: only mode='constant' is differentiable, got {mode!r}")
        raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant'")

    def backward(self, gy):
        return gy[self.index]


def _scatter_add(g, shape, index, advanced):
    """zeros(shape) with ``g`` added at ``index``: repeated (advanced) indices add up."""
    out = np.zeros(shape, g.dtype)
    if advanced:
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


class GetItem(Function):
    """``a[index]``. The gradient scatters gy into zeros of a's shape; recorded, that is the
    ``IndexAdd`` op, whose own gradient is this one again."""

    dual = True

    def forward(self, a, index, advanced):
        self.shape, self.index, self.advanced = a.shape, index, advanced
        y = a[index]
        if not isinstance(y, np.ndarray):  # an integer per axis: a 0-d view, not a NumPy scalar
            y = a[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return y

    def backward(self, gy):
        if self._graph:
            return IndexAdd.apply(gy, shape=self.shape, index=self.index, advanced=self.advanced)
        return _scatter_add(gy, self.shape, self.index, self.advanced)


class IndexAdd(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeated indices add up): ``GetItem``'s
    backward as an op, so that it can be differentiated; its gradient is ``gy[index]``."""

    dual = True

    def forward(self, g, shape, index, advanced):
        self.index = index
        return _scatter_add(g, shape, index, advanced)

    def backward(self, gy):
        g = gy[self.index]
        return g if isinstance(g, (np.ndarray, TensorBase)) else np.asarray(g)  # a[i, j] is a NumPy scalar


class Clone(Function):
    dual = True

    def forward(self, a):
        return a.copy()

    def backward(self, gy):
        return gy


def clone(a):
    """A copy of ``a`` that stays in the graph."""
    return Clone.apply(as_tensor(a))


class SetItem(Function):
    """``a`` with ``a[index] = v`` written into a copy: what ``x[index] = v`` records when the
    graph is on. The gradient of ``a`` is ``gy`` with the written places zeroed; ``v``'s is
    ``gy[index]`` summed back to ``v``'s shape."""

    dual = True

    def forward(self, a, v, index):
        self.index, self.vshape, self.vdtype = index, v.shape, v.dtype
        out = a.copy()
        out[index] = v
        return out

    def backward(self, gy):
        ga = gv = None
        if self.needs_grad(0):
            ga = setitem(gy, self.index, 0) if self._graph else _zeroed(gy, self.index)
        if self.needs_grad(1):
            gv = unbroadcast(gy[self.index], self.vshape)
            if gv.dtype != self.vdtype:
                gv = gv.astype(self.vdtype)
        return ga, gv


def _zeroed(g, index):
    g = g.copy()
    g[index] = 0
    return g


def normalize_index(index):
    """An index with Tensors and lists turned into arrays (what NumPy indexing takes)."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(np.asarray(i._data) if isinstance(i, TensorBase) else (np.asarray(i) if isinstance(i, list) else i) for i in items)
    return items if isinstance(index, tuple) else items[0]


def setitem(a, index, v):
    """Out of place: ``a`` with ``a[index] = v`` (differentiable in ``a`` and ``v``)."""
    a = as_tensor(a)
    v = as_tensor(v, a)
    if v._data.dtype != a._data.dtype:
        from .elementwise import cast

        v = cast(v, a._data.dtype)
    return SetItem.apply(a, v, index=index)


def _is_advanced(i):
    return isinstance(i, (np.ndarray, list)) or (isinstance(i, TensorBase))


def getitem(a, index):
    """``a[index]`` with basic and integer/boolean-array indexing. A basic index gives a view,
    which shares ``a``'s version counter."""
    a = as_tensor(a)
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(np.asarray(i._data) if isinstance(i, TensorBase) else (np.asarray(i) if isinstance(i, list) else i) for i in items)
    advanced = any(isinstance(i, np.ndarray) for i in items)
    idx = items if isinstance(index, tuple) else items[0]
    out = GetItem.apply(a, index=idx, advanced=advanced)
    return out if advanced else _view_of(out, a)


def _view_of(out, a):
    """``out``, sharing ``a``'s version counter when its array is a view of ``a``'s memory (an
    in-place change of either is then seen by both, as PyTorch's views)."""
    base = out._data.base
    if base is not None and (base is a._data or base is a._data.base):
        share_version(out, a)
    return out


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(a, *shape):
    """The same elements in a new shape (one dimension may be -1)."""
    a = as_tensor(a)
    shape = _shape_args(shape)
    if shape == a._data.shape:
        return a
    return _view_of(Reshape.apply(a, shape=shape), a)


view = reshape


def permute(a, *axes):
    """Reorder the axes: ``permute(x, 0, 2, 1)``."""
    a = as_tensor(a)
    axes = tuple(ax % a._data.ndim for ax in _shape_args(axes))
    if sorted(axes) != list(range(a._data.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {a._data.ndim} axes")
    return _view_of(Permute.apply(a, axes=axes), a)


def transpose(a, *axes):
    """``transpose(x)`` reverses the axes; ``transpose(x, d0, d1)`` swaps two axes, as in
    PyTorch (so on a matrix ``transpose(x, 0, 1)`` transposes it); a full permutation of
    three or more axes is also accepted, as in NumPy."""
    a = as_tensor(a)
    n = a._data.ndim
    axes = _shape_args(axes) if axes else ()
    if not axes:
        perm = tuple(reversed(range(n)))
    elif len(axes) == 2:
        return swapaxes(a, *axes)
    else:
        perm = axes
    return permute(a, *perm)


def swapaxes(a, axis0, axis1):
    a = as_tensor(a)
    n = a._data.ndim
    perm = list(range(n))
    perm[axis0 % n], perm[axis1 % n] = perm[axis1 % n], perm[axis0 % n]
    return permute(a, *perm)


def flatten(a, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim..end_dim`` into one (PyTorch's ``flatten``)."""
    a = as_tensor(a)
    s = a._data.shape
    if not s:
        return reshape(a, 1)
    start, end = start_dim % len(s), end_dim % len(s)
    n = int(np.prod(s[start : end + 1]))
    return reshape(a, s[:start] + (n,) + s[end + 1 :])


def squeeze(a, axis=None, *, dim=None):
    """Drop axes of length 1 (only ``axis`` when given)."""
    a = as_tensor(a)
    axis = norm_axis(axis, dim)
    s = a._data.shape
    if axis is None:
        new = tuple(n for n in s if n != 1)
    else:
        axes = {ax % len(s) for ax in ((axis,) if isinstance(axis, int) else axis)}
        new = tuple(n for i, n in enumerate(s) if not (i in axes and n == 1))
    return reshape(a, new)


def unsqueeze(a, axis=None, *, dim=None):
    """Insert an axis of length 1 at ``axis``."""
    a = as_tensor(a)
    axis = norm_axis(axis, dim)
    n = a._data.ndim + 1
    axis = axis % n
    s = a._data.shape
    return reshape(a, s[:axis] + (1,) + s[axis:])


expand_dims = unsqueeze


def broadcast_to(a, *shape):
    """View ``a`` broadcast to ``shape``; the gradient sums back."""
    a = as_tensor(a)
    shape = _shape_args(shape)
    if shape == a._data.shape:
        return a
    return _view_of(BroadcastTo.apply(a, shape=shape), a)


def expand(a, *shape):
    a = as_tensor(a)
    shape = _shape_args(shape)
    lead = len(shape) - a._data.ndim
    shape = tuple(a._data.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(a, shape)


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis."""
    axis = norm_axis(None, dim) if dim is not None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    axis = axis % tensors[0]._data.ndim
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0, *, dim=None):
    """Join same-shaped tensors along a new axis."""
    axis = norm_axis(None, dim) if dim is not None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    axis = axis % (tensors[0]._data.ndim + 1)
    return Stack.apply(*tensors, axis=axis)


def split(a, split_size_or_sections, axis=0, *, dim=None):
    """Split into pieces along ``axis``, as ``torch.split``: an int is the size of each
    piece (the last may be smaller), a list gives every piece's size."""
    a = as_tensor(a)
    axis = (norm_axis(None, dim) if dim is not None else axis) % a._data.ndim
    n = a._data.shape[axis]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} has length {n}")
    out, start = [], 0
    for s in sizes:
        index = (slice(None),) * axis + (slice(start, start + s),)
        out.append(getitem(a, index))
        start += s
    return tuple(out)


def chunk(a, chunks, axis=0, *, dim=None):
    a = as_tensor(a)
    ax = (norm_axis(None, dim) if dim is not None else axis) % a._data.ndim
    size = -(-a._data.shape[ax] // chunks)
    return split(a, size, ax)


def pad(a, pad_width, mode="constant", value=0.0):
    """Pad with a constant. ``pad_width`` is NumPy's: an int, a (before, after) pair, or one
    pair per axis."""
    a = as_tensor(a)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a._data.ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0, got {pad_width}")
    pw = tuple((int(lo), int(hi)) for lo, hi in pw)
    return Pad.apply(a, pad_width=pw, mode=mode, value=value)
