"""Indexing and selection along dims: gather/scatter, index_*, masked_*, take/put, nonzero.

Every op is reduced to flat positions into the input (an int array, one entry per element
read or written) and the primitives of ``indexing_prims.py`` on them (Take, AddAt, Put,
ScatterReduce), so every gradient is differentiable again.
"""
import numpy as np

from .. import kernels
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .indexing_prims import (  # noqa: F401 (IndexOutOfRange is public here)
    AddAt, AddInto, IndexAddRows, IndexOutOfRange, Put, ScatterCombine, ScatterReduce, SelectRows, Take, _tn, _UFUNC,
    _where, broadcast_shape, check_index,
)
from .movement import broadcast_to, getitem, reshape, wrap_dim


# ----- checks and flat positions -----
def _idx(index, op, kinds="int64", what="dtype int64"):
    """The index array; PyTorch's RuntimeError for a float (or other wrong) dtype."""
    arr = np.asarray(index._data if isinstance(index, TensorBase) else index)
    ok = arr.dtype == np.int64 or (kinds == "int" and arr.dtype == np.int32)
    if not ok and not (arr.size == 0 and arr.dtype.kind == "f" and not isinstance(index, TensorBase)):
        if what.startswith("long"):
            raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {_tn(arr.dtype)}")
        raise RuntimeError(f"{op}(): Expected {what} for index")
    return arr.astype(np.int64, copy=False)


def _bounds(idx, dim, n, negative=False):
    """Refuse an index outside [0, n) (or [-n, n) with ``negative``), naming it; wrap negatives."""
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if hi >= n or lo < (-n if negative else 0):
            bad = hi if hi >= n else lo
            raise IndexOutOfRange(f"index {bad} is out of bounds for dimension {dim} with size {n}")
        if negative and lo < 0:
            idx = np.where(idx < 0, idx + n, idx)
    return idx


def _same_dtype(a, src, op):
    if src._data.dtype != a._data.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (got self {_tn(a._data.dtype)} "
                           f"and src {_tn(src._data.dtype)})")


def _dim_flat(shape, dim, index, op, others=()):
    """Flat positions in ``shape`` for gather/scatter's ``index`` along ``dim``."""
    shape = shape or (1,)
    index = index.reshape(index.shape or (1,))
    if index.ndim != len(shape):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as input tensor")
    for d, m in enumerate(index.shape):
        if d != dim and m > shape[d] or any(m > o[d] for o in others):
            src = f" and to be no larger size than src {list(others[0])}" if others else ""
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(shape)} apart "
                               f"from dimension {dim}{src}")
    index = _bounds(index, dim, shape[dim])
    strides = np.cumprod((shape[1:] + (1,))[::-1])[::-1]
    base = np.zeros((1,) * index.ndim, np.int64)  # the other dims' offsets: small, broadcast
    for d, m in enumerate(index.shape):
        if d != dim:
            base = base + (np.arange(m) * strides[d]).reshape((-1,) + (1,) * (index.ndim - d - 1))
    return (index * strides[dim] if strides[dim] != 1 else index) + base  # one pass over the index


def _along_flat(shape, dim, index):
    """Flat positions in ``shape`` of the slices ``index`` picks along ``dim`` (index_*)."""
    lin = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape or (1,))
    return np.take(lin, index, axis=dim)


def _src_part(src, shape):
    """``src``'s leading block of ``shape`` (scatter reads only that much of it)."""
    src = src if src._data.ndim else reshape(src, (1,) * len(shape))
    if src._data.shape == tuple(shape):
        return src
    return getitem(src, tuple(slice(0, m) for m in shape))


def _ndim_dim(a, dim):
    return wrap_dim(dim, a._data.ndim)


def _out(a, r):
    """The result in ``a``'s shape (a 0-d input gives a 0-d result)."""
    return reshape(r, a._data.shape) if r._data.shape != a._data.shape else r


# ----- the ops -----
def masked_fill(input, mask, value):
    """``input`` with ``value`` where the bool ``mask`` is true (broadcast together)."""
    a = as_tensor(input)
    m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {_mask_name(m.dtype)}")
    broadcast_shape(m.shape, a._data.shape)
    if isinstance(value, TensorBase):
        if value._data.ndim:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value._data.ndim} dimension(s).")
        if value._data.dtype != a._data.dtype:
            from .elementwise import cast

            value = cast(value, a._data.dtype) if value._data.dtype.kind == a._data.dtype.kind == "f" else \
                from_op(value._data.astype(a._data.dtype), None)
    else:
        value = from_op(np.asarray(value).astype(a._data.dtype), None)
    return _where(m, value, a)


def _mask_name(dt):
    return {"int64": "long int", "uint8": "unsigned char", "int32": "int"}.get(np.dtype(dt).name, np.dtype(dt).name)


def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j] = input[index[i][j]][j]`` along ``dim`` (index int64 or int32)."""
    a = as_tensor(input)
    d = _ndim_dim(a, dim)
    idx = _idx(index, "gather", "int", "dtype int32/int64")
    flat = _dim_flat(a._data.shape, d, idx, "gather")
    return Take.apply(a, flat=flat.reshape(idx.shape))


def _scatter_src(a, index, src, value, op):
    d = index
    if src is None or not isinstance(src, TensorBase) and np.ndim(src) == 0 and not isinstance(src, np.ndarray):
        v = value if src is None else src
        if v is None:
            raise TypeError(f"{op}() missing 1 required argument: 'src' or 'value'")
        return from_op(np.full(d.shape, v, dtype=a._data.dtype), None)
    src = as_tensor(src)
    _same_dtype(a, src, op)
    return src


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``;
    ``reduce='add'|'multiply'`` combines instead (not differentiable, as in PyTorch)."""
    a = as_tensor(input)
    d = _ndim_dim(a, dim)
    idx = _idx(index, "scatter", "int", "dtype int32/int64")
    src = _scatter_src(a, idx, src, value, "scatter")
    flat = _dim_flat(a._data.shape, d, idx, "scatter", (src._data.shape,) if src._data.ndim else ())
    v = _src_part(src, flat.shape)
    if reduce is None:
        return _out(a, Put.apply(reshape(a, a._data.shape or (1,)), v, flat=flat))
    if reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    return _out(a, ScatterCombine.apply(reshape(a, a._data.shape or (1,)), v, flat=flat,
                                        reduce="sum" if reduce == "add" else "prod"))


def scatter_add(input, dim, index, src):
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
    return scatter_reduce(input, dim, index, src, "sum")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``input`` with ``src`` reduced in at ``index`` along ``dim``: reduce is 'sum', 'prod',
    'mean', 'amax' or 'amin'; ``include_self=False`` leaves input's values out."""
    a, src = as_tensor(input), as_tensor(src)
    op = "scatter_add" if reduce == "sum" else "scatter_reduce"
    d = _ndim_dim(a, dim)
    idx = _idx(index, op, "int", "dtype int32/int64")
    _same_dtype(a, src, op)
    if reduce not in _UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    flat = _dim_flat(a._data.shape, d, idx, op, (src._data.shape,) if src._data.ndim else ())
    v = _src_part(src, flat.shape)
    a2 = reshape(a, a._data.shape or (1,))
    if reduce == "sum" and include_self:
        if kernels.enabled() and a2._data.dtype.kind in "iufc":
            return _out(a, AddInto.apply(a2, v, flat=flat))  # a copy of input, added into
        from .elementwise import add

        return _out(a, add(a2, AddAt.apply(v, flat=flat, shape=a2._data.shape)))
    return _out(a, ScatterReduce.apply(a2, v, flat=flat, reduce=reduce, include_self=include_self))


def index_select(input, dim, index):
    """The slices of ``input`` along ``dim`` at the 1-D ``index``."""
    a = as_tensor(input)
    d = _ndim_dim(a, dim)
    idx = _idx(index, "index_select", "int", "dtype int32 or int64")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    shape = a._data.shape or (1,)
    idx = _bounds(idx.reshape(-1), d, shape[d])
    if kernels.enabled() and a._data.ndim:
        return SelectRows.apply(a, dim=d, index=idx)  # whole slices, no flat positions
    flat = _along_flat(shape, d, idx)
    return Take.apply(a, flat=flat if a._data.ndim else flat.reshape(()))  # a 0-d input: a 0-d result


def _index_source(a, dim, index, source, op, kinds="int"):
    """The checked dim, 1-D index and source (in the shape of the slices it writes) of
    index_add/index_copy/index_reduce; their flat positions are ``_along_flat(shape, d, idx)``."""
    d = _ndim_dim(a, dim)
    idx = _idx(index, op, kinds, "long")
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    shape = a._data.shape or (1,)
    idx = _bounds(idx.reshape(-1), d, shape[d])
    part = shape[:d] + (idx.size,) + shape[d + 1:]  # the shape of the slices written
    source = as_tensor(source)
    if source._data.dtype != a._data.dtype:
        raise RuntimeError(f"{op}(): self ({_tn(a._data.dtype)}) and source ({_tn(source._data.dtype)}) must have "
                           "the same scalar type")
    if source._data.ndim and source._data.ndim == len(part) and source._data.shape[d] != idx.size:
        err = IndexError if op == "index_copy_" else RuntimeError  # as PyTorch's
        raise err(f"{op}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                  f"({source._data.shape[d]}), for dim: {d}")
    if source._data.size != int(np.prod(part)) or (source._data.ndim and source._data.shape != part):
        raise RuntimeError(f"{op}(): Source/destination tensor must have the same shape apart from dim {d}: "
                           f"source {list(source._data.shape)}, expected {list(part)}")
    return d, idx, reshape(source, part)


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at the slices ``index`` along ``dim``."""
    a = as_tensor(input)
    d, idx, src = _index_source(a, dim, index, source, "index_add")
    if alpha != 1:
        src = src * alpha
    if kernels.enabled() and a._data.ndim and a._data.dtype.kind in "iufc":
        return IndexAddRows.apply(a, src, dim=d, index=idx)  # whole slices added into a copy of input
    from .elementwise import add

    flat = _along_flat(a._data.shape or (1,), d, idx)
    return add(a, reshape(AddAt.apply(src, flat=flat, shape=a._data.shape or (1,)), a._data.shape))


def index_copy(input, dim, index, source):
    """``input`` with ``source``'s slices written at ``index`` along ``dim``."""
    a = as_tensor(input)
    d, idx, src = _index_source(a, dim, index, source, "index_copy_", "int64")
    flat = _along_flat(a._data.shape or (1,), d, idx)
    return _out(a, Put.apply(reshape(a, a._data.shape or (1,)), src, flat=flat))


def index_fill(input, dim, index, value):
    """``input`` with ``value`` (a number or a 0-d tensor) at the slices ``index`` along ``dim``."""
    a = as_tensor(input)
    d = _ndim_dim(a, dim)
    arr = np.asarray(index._data if isinstance(index, TensorBase) else index)
    if arr.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    shape = a._data.shape or (1,)
    idx = _bounds(arr.reshape(-1), d, shape[d], negative=True)
    mask = np.zeros(shape, bool)
    mask[(slice(None),) * d + (idx,)] = True
    return masked_fill(a, mask.reshape(a._data.shape), value)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``input`` with ``source``'s slices reduced in at ``index`` along ``dim``: reduce is
    'prod', 'mean', 'amax' or 'amin'."""
    a = as_tensor(input)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    d, idx, src = _index_source(a, dim, index, source, "index_reduce_")
    flat = _along_flat(a._data.shape or (1,), d, idx)
    a2 = reshape(a, a._data.shape or (1,))
    return _out(a, ScatterReduce.apply(a2, src, flat=flat, reduce=reduce, include_self=include_self))


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``; repeats add up)."""
    a = as_tensor(input)
    items = []
    for i in indices:
        arr = i._data if isinstance(i, TensorBase) else (None if i is None else np.asarray(i))
        if arr is not None and arr.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        items.append(slice(None) if arr is None else arr)
    lin = np.arange(a._data.size, dtype=np.int64).reshape(a._data.shape)
    try:
        flat = lin[tuple(items)]
    except IndexError as e:
        try:
            check_index(tuple(items), a._data.shape)  # PyTorch's message for the first bad index
        except IndexError as torch_error:
            raise IndexOutOfRange(str(torch_error)) from None
        raise IndexOutOfRange(str(e).replace("axis", "dimension")) from None
    values = as_tensor(values, a)
    if values._data.dtype != a._data.dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got "
                           f"{_tn(a._data.dtype)} for the destination and {_tn(values._data.dtype)} for the source.")
    try:
        np.broadcast_shapes(values._data.shape, flat.shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values._data.shape)} cannot be broadcast to "
                           f"indexing result of shape {list(flat.shape)}") from None
    v = broadcast_to(values, flat.shape)
    if accumulate:
        from .elementwise import add

        return add(a, AddAt.apply(v, flat=flat, shape=a._data.shape))
    return Put.apply(a, v, flat=flat)


def _bool_mask(mask, op):
    m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"{op}: expected BoolTensor for mask")
    return m


def masked_select(input, mask):
    """The 1-D tensor of ``input``'s elements where ``mask`` (broadcast) is true."""
    a = as_tensor(input)
    m = _bool_mask(mask, "masked_select")
    shape = broadcast_shape(m.shape, a._data.shape)
    a = broadcast_to(a, shape)
    return Take.apply(a, flat=np.flatnonzero(np.broadcast_to(m, shape)))


def masked_scatter(input, mask, source):
    """``input`` with ``source``'s first elements, in order, written where ``mask`` is true."""
    a, source = as_tensor(input), as_tensor(source)
    m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {_tn(m.dtype)}")
    if source._data.dtype != a._data.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but got "
                           f"{_tn(a._data.dtype)} and {_tn(source._data.dtype)}")
    shape = broadcast_shape(m.shape, a._data.shape)
    flat = np.flatnonzero(np.broadcast_to(m, shape))
    if flat.size > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    v = Take.apply(source, flat=np.arange(flat.size))
    return Put.apply(broadcast_to(a, shape), v, flat=flat)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or (``as_tuple``) one
    1-D tensor per dim."""
    d = as_tensor(input)._data
    if as_tuple:
        return tuple(from_op(i.astype(np.int64), None) for i in np.nonzero(d.reshape(d.shape or (1,))))
    return from_op(np.argwhere(d).astype(np.int64), None)


def argwhere(input):
    """``nonzero(input)``: an (n, ndim) int64 tensor of the non-zero elements' indices."""
    return nonzero(input)


def _flat_index(index, n, op):
    idx = _idx(index, op, "int64", "long")
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexOutOfRange(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return np.where(idx < 0, idx + n, idx)


def take(input, index):
    """``input`` read as 1-D at ``index`` (negative indices count from the end)."""
    a = as_tensor(input)
    return Take.apply(a, flat=_flat_index(index, a._data.size, "take"))


def take_along_dim(input, indices, dim=None):
    """``gather`` with ``input`` and ``indices`` broadcast against each other (but along
    ``dim``); with no ``dim``, on the flattened input."""
    a = as_tensor(input)
    idx = indices if isinstance(indices, TensorBase) else as_tensor(np.asarray(indices))
    if idx._data.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got {_tn(idx._data.dtype)}")
    if dim is None:
        return gather(reshape(a, -1), 0, reshape(idx, -1))
    if a._data.ndim != idx._data.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {a._data.ndim} dimensions for input, and {idx._data.ndim} dimensions for indices")
    d = _ndim_dim(a, dim)
    s = list(a._data.shape)
    s[d] = idx._data.shape[d]
    shape = list(np.broadcast_shapes(tuple(s), idx._data.shape))
    # negatives count from the end (PyTorch wraps every index modulo the size: past it, ember refuses)
    idx = from_op(np.broadcast_to(_bounds(idx._data, d, a._data.shape[d], negative=True), shape), None)
    shape[d] = a._data.shape[d]
    return gather(broadcast_to(a, tuple(shape)), d, idx)


def put(input, index, source, accumulate=False):
    """``input`` read as 1-D with ``source`` written (or added) at ``index``."""
    a, source = as_tensor(input), as_tensor(source)
    flat = _flat_index(index, a._data.size, "put_").reshape(-1)
    if source._data.dtype != a._data.dtype:
        raise RuntimeError("put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_tn(a._data.dtype)} and source.dtype = {_tn(source._data.dtype)}")
    if source._data.size != flat.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source._data.size}, index.numel() = {flat.size}")
    v = reshape(source, -1)
    if accumulate:
        from .elementwise import add

        return add(a, reshape(AddAt.apply(v, flat=flat, shape=(a._data.size,)), a._data.shape))
    return _out(a, Put.apply(reshape(a, -1), v, flat=flat))


def select(input, dim, index):
    """The slice of ``input`` at ``index`` along ``dim`` (a view, one dim fewer)."""
    a = as_tensor(input)
    if a._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _ndim_dim(a, dim)
    n = a._data.shape[d]
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(a._data.shape)} at dimension {d}")
    return getitem(a, (slice(None),) * d + (i % n,))


def inplace(fn):
    """The in-place method ``x.<fn>_(...)``: ``fn``'s result written into x."""

    def method(self, *args, **kwargs):
        return self._inplace(lambda t: fn(t, *args, **kwargs), *args, *kwargs.values())

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


__all__ = [
    "masked_fill", "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add", "index_copy",
    "index_fill", "index_reduce", "index_put", "masked_select", "masked_scatter", "nonzero", "argwhere", "take",
    "take_along_dim", "put", "select",
]


def index_put_(input, indices, values, accumulate=False):
    """In place: ``input[indices] = values`` (``+=`` with ``accumulate``)."""
    return input._inplace(lambda t: index_put(t, indices, values, accumulate), values, *indices)


__all__.append("index_put_")


def one_hot(tensor, num_classes=-1):
    """``F.one_hot``: an int64 tensor of shape (*, num_classes) with 1 at each class of the
    int64 ``tensor`` (``num_classes=-1``: one more than its largest value)."""
    idx = tensor._data if isinstance(tensor, TensorBase) else np.asarray(tensor)
    if idx.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    n = int(num_classes)
    if n == -1:
        if not idx.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        n = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if idx.size and idx.max() >= n:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(idx.shape + (n,), np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return from_op(out, None)


__all__.append("one_hot")
