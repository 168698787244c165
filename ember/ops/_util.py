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


_OUT_DTYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                    "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                    "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}
_OUT_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # PyTorch's canCast: never down this order


def write_out(y, out, name, exact=False, composite=False, grad_of=()):
    """``out=``: y's values written into ``out`` (resized, with PyTorch's warning, if its shape
    differs), which is returned. The result's dtype must cast to out's as PyTorch's rule says
    (no float into an integer, no number into bool); ``exact``: out's dtype must be y's.
    In grad mode an input that requires grad (y's, or one of ``grad_of``) is refused, as
    PyTorch's; ``composite`` ops (PyTorch's inner, tensordot, diag, quantile) instead record
    the copy into ``out``, which then requires grad, as theirs do."""
    if out is None:
        return y
    from ..autograd.function import bump, is_grad_enabled

    if not isinstance(out, TensorBase):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    grad = is_grad_enabled() and (y.requires_grad or out.requires_grad or any(
        isinstance(t, TensorBase) and t.requires_grad for t in grad_of))
    if grad and not (composite and not out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    src, dst = y._data.dtype, out._data.dtype
    if exact and src != dst:
        raise RuntimeError(f"Expected out tensor to have dtype {_OUT_DTYPE_NAMES.get(src.name, src.name)}, "
                           f"but got {_OUT_DTYPE_NAMES.get(dst.name, dst.name)} instead")
    if _OUT_RANK[src.kind] > _OUT_RANK[dst.kind]:
        raise RuntimeError(f"result type {_torch_type(src)} can't be cast to the desired output type "
                           f"{_torch_type(dst)}")
    if out._data.shape != y._data.shape:
        if out._data.size:
            import warnings

            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out._data.shape)}, which does not match the required output shape "
                          f"{list(y._data.shape)}. This behavior is deprecated; resize the out tensor to zero "
                          "elements first (t.resize_(0)).", UserWarning, stacklevel=3)
        out._data = np.empty(y._data.shape, dst)
    if grad:
        return out.copy_(y)
    np.copyto(out._data, y._data, casting="unsafe")
    bump(out)
    return out


def write_outs(res, out, name, exact=True):
    """``out=`` for an op returning a named tuple (``sort``, ``max(dim)``...): ``out`` is a
    tuple of tensors, one per field, each written as ``write_out``; the named tuple of them is
    returned."""
    if not isinstance(out, (tuple, list)) or len(out) != len(res):
        raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(res)} Tensors, "
                        f"not {type(out).__name__}")
    return type(res)(*(write_out(y, o, name, exact) for y, o in zip(res, out)))


def _torch_type(dt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
            "complex128": "ComplexDouble"}.get(dt.name, dt.name)


# ----- embedding -----
def index_add_rows(index, values, n):
    """``zeros((n,) + values.shape[1:])`` with ``values[j]`` added at row ``index[j]``;
    repeated rows add up: the backward of ``weight[index]`` (the embedding lookup).

    ``index`` is a 1-D int array in [0, n), ``values`` has ``len(index)`` rows. The sums keep
    ``values``' dtype (float32 stays float32). Rows: a stable sort, then the k-th occurrences of
    all rows in one fancy-index add per k while that is many rows, and ``np.add.reduceat`` on the
    rows left (the frequent ids); 3-4x faster than ``np.add.at`` (benchmarks/scatter_add.py).
    1-D values go to ``np.add.at`` (NumPy 2's is faster than ``np.bincount`` at every size,
    and sums in the values' dtype). With the kernels off (``EMBER_KERNELS=0``) it is the
    reference: ``np.add.at``."""
    from ..kernels import enabled

    values = np.asarray(values)
    shape = (n,) + values.shape[1:]
    if not enabled() or values.ndim == 1 or values.dtype.kind not in "iufc" or index.size == 0:
        out = np.zeros(shape, values.dtype)
        np.add.at(out, index, values)
        return out
    rows = values.reshape(index.size, -1)
    out = np.zeros((n, rows.shape[1]), values.dtype)
    order = np.argsort(index, kind="stable")
    s = index[order]
    first = np.empty(s.size, bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    if starts.size == s.size:  # no repeats: one assignment
        out[index] = rows
        return out.reshape(shape)
    rank = np.arange(s.size) - np.repeat(starts, np.diff(np.append(starts, s.size)))  # occurrence number
    k = 0
    while True:
        sel = np.flatnonzero(rank == k)  # the k-th occurrence of each row: no row twice
        if sel.size == 0:
            return out.reshape(shape)
        if k and sel.size * 8 < s.size:
            break
        if k:
            out[s[sel]] += rows[order[sel]]
        else:
            out[s[sel]] = rows[order[sel]]
        k += 1
    rest = np.flatnonzero(rank >= k)  # still sorted by row: segments of the frequent rows
    sr = s[rest]
    seg = np.flatnonzero(np.concatenate(([True], sr[1:] != sr[:-1])))
    part = np.ascontiguousarray(rows[order[rest]].T)  # reduceat runs fastest along contiguous memory
    out[sr[seg]] += np.add.reduceat(part, seg, axis=1).T
    return out.reshape(shape)
