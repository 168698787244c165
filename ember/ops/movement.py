"""Shape ops: reshape/view, transpose/permute, squeeze/unsqueeze, broadcast, movedim, narrow,
pad, indexing (whose gradient scatter-adds), ``Size`` and DLPack. Joining, splitting and
repeating are in ``joining.py``."""
import numbers

import numpy as np

from ..autograd import Function
from ..autograd.function import share_version
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, index_add_rows, norm_axis, unbroadcast


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
        if self._graph:  # Tensor.transpose(d0, d1) swaps two dims: (0, 1) must stay the identity
            return permute(gy, *inverse)
        return gy.transpose(tuple(inverse))


class BroadcastTo(Function):
    dual = True

    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.shape)


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
    if advanced and isinstance(index, np.ndarray) and index.dtype.kind in "iu" and g.shape == index.shape + shape[1:]:
        rows = index.reshape(-1)  # an integer array on the first axis (embedding): index_add_rows
        if rows.size and rows.min() < 0:
            rows = np.where(rows < 0, rows + shape[0], rows)
        return index_add_rows(rows, g.reshape((rows.size,) + shape[1:]), shape[0])
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
        if not advanced:  # y is a view: the engine adds gy into that view of a's summed gradient
            idx = index if isinstance(index, tuple) else (index,)
            self.view_index = idx if any(i is Ellipsis for i in idx) else idx + (Ellipsis,)
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


def normalize_index(index, shape=None):
    """An index with Tensors and lists turned into arrays (what NumPy indexing takes), a uint8
    one a mask (as PyTorch, which warns); a negative slice step is refused, as PyTorch refuses
    it. With ``shape``, PyTorch's IndexErrors for indices out of range (``check_index``)."""
    items = []
    for i in index if isinstance(index, tuple) else (index,):
        if isinstance(i, slice):
            if i.step is not None and i.step < 0:
                raise ValueError("step must be greater than zero")
        elif isinstance(i, (TensorBase, list)):
            i = np.asarray(i._data if isinstance(i, TensorBase) else i)
            if i.dtype == np.uint8:
                import warnings

                warnings.warn("indexing with dtype uint8 is deprecated, please use a dtype bool instead.",
                              UserWarning, stacklevel=3)
                i = i.astype(bool)
        items.append(i)
    items = tuple(items)
    if shape is not None:
        from .indexing_prims import check_index

        check_index(items, shape)
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
    idx = normalize_index(index)
    items = idx if isinstance(index, tuple) else (idx,)
    advanced = any(isinstance(i, np.ndarray) for i in items)
    try:
        out = GetItem.apply(a, index=idx, advanced=advanced)
    except IndexError:
        from .indexing_prims import check_index

        check_index(items, a._data.shape)  # PyTorch's error where NumPy's names an "axis"
        raise
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
    """The same elements in a new shape (one dimension may be -1): a view when the memory
    allows, else a copy."""
    a = as_tensor(a)
    shape = _shape_args(shape)
    if shape == a._data.shape:
        return a
    try:
        return _view_of(Reshape.apply(a, shape=shape), a)
    except ValueError:
        raise RuntimeError(_bad_shape(shape, a._data.size)) from None


def _bad_shape(shape, n):
    if list(shape).count(-1) > 1:
        return "only one dimension can be inferred"
    return f"shape '{list(shape)}' is invalid for input of size {n}"


def view(a, *shape, size=None, dtype=None):
    """``a``'s memory seen in a new shape, as ``Tensor.view``: refused (RuntimeError) when the
    strides do not allow it without a copy (``reshape`` copies then). ``view(dtype)`` reads
    the same bytes as another dtype (not tracked by autograd)."""
    a = as_tensor(a)
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        dtype, shape = shape[0], ()
    if dtype is not None:
        out = from_op(a._data.view(np.dtype(dtype)), None)
        share_version(out, a)
        return out
    shape = _shape_args(shape if size is None else (size,))
    if not _fits(shape, a._data.size):
        raise RuntimeError(_bad_shape(shape, a._data.size))
    try:
        np.reshape(a._data, shape, copy=False)
    except ValueError:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead.") from None
    return reshape(a, shape)


def _fits(shape, n):
    """Whether ``shape`` (with at most one -1) holds exactly ``n`` elements."""
    if list(shape).count(-1) > 1 or any(s < -1 for s in shape):
        return False
    known = int(np.prod([s for s in shape if s != -1]))
    return known == n if -1 not in shape else (known != 0 and n % known == 0)


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
    """Merge dims ``start_dim..end_dim`` into one (PyTorch's ``flatten``; a 0-d tensor gives
    shape (1,))."""
    a = as_tensor(a)
    s = a._data.shape
    start, end = wrap_dim(start_dim, len(s)), wrap_dim(end_dim, len(s))
    if not s:
        return reshape(a, 1)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = int(np.prod(s[start : end + 1]))
    return reshape(a, s[:start] + (n,) + s[end + 1 :])


def squeeze(a, axis=None, *, dim=None):
    """Drop dims of length 1 (only those of ``dim``, an int or a tuple, when given)."""
    a = as_tensor(a)
    axis = norm_axis(axis, dim)
    s = a._data.shape
    if axis is None:
        new = tuple(n for n in s if n != 1)
    else:
        axes = {wrap_dim(ax, len(s)) for ax in ((axis,) if isinstance(axis, numbers.Integral) else axis)}
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


def pad(a, pad_width, mode="constant", value=0.0):
    """Pad with a constant. ``pad_width`` is NumPy's: an int, a (before, after) pair, or one
    pair per axis."""
    a = as_tensor(a)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a._data.ndim, 2))
    if (pw < 0).any():
        raise ValueError(f"pad: pad widths must be >= 0, got {pad_width}")
    pw = tuple((int(lo), int(hi)) for lo, hi in pw)
    return Pad.apply(a, pad_width=pw, mode=mode, value=value)


# ----- tensor surface: Size, dims, and the view/copy ops of PyTorch's Tensor -----


class Size(tuple):
    """A tensor's shape: a tuple of ints with ``numel()``, printed as ``ember.Size([2, 3])``
    (PyTorch's ``torch.Size``). Slicing and ``+`` give a Size again."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        out = []
        for k, s in enumerate(sizes):
            if isinstance(s, TensorBase) and s._data.ndim == 0 and s._data.dtype.kind in "iu":
                s = int(s._data)
            if not isinstance(s, numbers.Integral):
                raise TypeError(f"ember.Size() takes an iterable of 'int' (item {k} is '{type(s).__name__}')")
            out.append(int(s))
        return tuple.__new__(cls, out)

    def numel(self):
        """The number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return tuple.__new__(Size, r) if isinstance(i, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple(other) + tuple(self))

    def __mul__(self, n):
        return tuple.__new__(Size, tuple(self) * n)

    __rmul__ = __mul__

    def __repr__(self):
        return f"ember.Size({list(self)})"

    __str__ = __repr__

    def __format__(self, spec):
        # f"{tuple(x.shape)}" prints "ember.Size([2, 3])", as PyTorch's prints "torch.Size([2, 3])"
        return str(self).__format__(spec)

    def __reduce__(self):
        return (Size, (tuple(self),))


def size_of(shape):
    """An array's shape as a Size (no checks: NumPy's shapes are ints)."""
    return tuple.__new__(Size, shape)


def wrap_dim(dim, ndim):
    """``dim`` in [0, ndim) from PyTorch's range [-ndim, ndim) (a 0-d tensor counts as 1-d)."""
    n = max(ndim, 1)
    d = int(dim)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def t(a):
    """The transpose of a matrix; a 0-d or 1-d tensor as it is (a view)."""
    a = as_tensor(a)
    n = a._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return permute(a, *reversed(range(n)))


def matrix_transpose(a):
    """The last two dims swapped (``Tensor.mT``)."""
    a = as_tensor(a)
    if a._data.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {a._data.ndim}-D tensor.")
    return swapaxes(a, -2, -1)


def adjoint(a):
    """The conjugate transpose of the last two dims (``Tensor.mH``; real tensors: ``mT``)."""
    a = as_tensor(a)
    if a._data.dtype.kind == "c":
        raise NotImplementedError("adjoint/mH/H of a complex tensor: ember has no complex conjugate op")
    if a._data.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {a._data.ndim}-D tensor.")
    return swapaxes(a, -2, -1)


def conj_transpose(a):
    """``Tensor.H``: the conjugate transpose of a matrix (2-d only)."""
    a = as_tensor(a)
    if a._data.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {a._data.ndim}-D tensor.")
    return adjoint(a) if a._data.ndim == 2 else permute(a)


def _dims(d, n, name):
    ds = [d] if isinstance(d, numbers.Integral) else list(d)
    ds = [wrap_dim(x, n) for x in ds]
    if len(set(ds)) != len(ds):
        raise RuntimeError(f"movedim: repeated dim in `{name}` ({ds})")
    return ds


def movedim(a, source, destination):
    """Move dim(s) ``source`` to position(s) ``destination``, the others keeping their order."""
    a = as_tensor(a)
    n = a._data.ndim
    src, dst = _dims(source, n, "source"), _dims(destination, n, "destination")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                           f"the same number of dims as destination ({dst} dims)")
    order = [k for k in range(n) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(a, *order) if n else a


moveaxis = movedim


def unflatten(a, dim, sizes):
    """Dim ``dim`` split into ``sizes`` (one may be -1)."""
    a = as_tensor(a)
    d = wrap_dim(dim, a._data.ndim)
    sizes = tuple(int(s) for s in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = a._data.shape[d]
    if not _fits(sizes, n):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {d} "
                           f"({n}) in the input tensor")
    s = a._data.shape
    return reshape(a, s[:d] + sizes + s[d + 1:])


def narrow(a, dim, start, length):
    """The view of ``length`` positions along ``dim`` from ``start`` (which may be negative)."""
    a = as_tensor(a)
    if a._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, a._data.ndim)
    n = a._data.shape[d]
    start = int(start._data) if isinstance(start, TensorBase) else int(start)
    length = int(length)
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start = start + n if start < 0 else start
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return getitem(a, (slice(None),) * d + (slice(start, start + length),))


class _Capsule:
    """A bare DLPack capsule, given the methods ``np.from_dlpack`` asks for (CPU)."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kw):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of any object with ``__dlpack__`` (a PyTorch or CuPy tensor,
    a NumPy array, an ember tensor) or of a DLPack capsule."""
    if isinstance(ext_tensor, TensorBase):
        return from_op(ext_tensor._data, None)
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext_tensor).__name__}")
    if ext_tensor.__dlpack_device__()[0] == 2:  # kDLCUDA
        from .. import backend

        return from_op(backend.cupy_or_error().from_dlpack(ext_tensor), None)
    return from_op(np.from_dlpack(ext_tensor), None)


from .joining import cat, chunk, concat, concatenate, split, stack  # noqa: E402,F401 (their old home)
