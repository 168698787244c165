"""Sets, searches and counts: unique, unique_consecutive, searchsorted, bucketize, bincount,
histc, histogram, isin, tril_indices, triu_indices, combinations, cartesian_prod.

These give indices or counts (no gradient), except combinations and cartesian_prod, which
are gathers of their inputs (differentiable)."""
import itertools

import numpy as np

from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .sorting import _wrap, write_result


def _const(a):
    return from_op(np.asarray(a), None)


def _int_out(a, out_int32):
    return _const(np.asarray(a).astype(np.int32 if out_int32 else np.int64))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted, also with ``sorted=False``, as PyTorch's CPU unique), with
    the inverse (where each element went, in the input's shape) and the counts on request.
    With ``dim``, the distinct slices along it. NaNs are all distinct, as PyTorch's."""
    a = as_tensor(input)
    x = a._data
    if dim is None:
        u, inv, cnt = np.unique(x.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inv = inv.reshape(x.shape)
    else:
        d = _wrap(dim, x.ndim)
        if x.shape[d] == 0:
            u, inv, cnt = x, np.zeros(0, np.int64), np.zeros(0, np.int64)
        else:
            u, inv, cnt = np.unique(x, return_inverse=True, return_counts=True, axis=d)
            inv = inv.reshape(-1)
    return _pack(u, inv, cnt, return_inverse, return_counts)


def _pack(u, inv, cnt, return_inverse, return_counts):
    out = [_const(u)]
    if return_inverse:
        out.append(_const(inv.astype(np.int64)))
    if return_counts:
        out.append(_const(cnt.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Each run of equal consecutive elements (or slices along ``dim``) kept once."""
    a = as_tensor(input)
    x = a._data
    if dim is None:
        shape, x = x.shape, x.reshape(-1)
        d = 0
        new = x[1:] != x[:-1]
    else:
        shape = None
        d = _wrap(dim, x.ndim)
        xm = np.moveaxis(x, d, 0).reshape(x.shape[d] if x.ndim else 1, -1)
        new = (xm[1:] != xm[:-1]).any(axis=1)
    n = x.shape[d] if x.ndim else 1
    start = np.concatenate([[True], new]) if n else np.zeros(0, bool)
    keep = np.flatnonzero(start)
    u = np.take(x, keep, axis=d) if x.ndim else x.reshape(1)
    inv = np.cumsum(start) - 1
    cnt = np.diff(np.append(keep, n))
    if shape is not None:
        inv = inv.reshape(shape)
    return _pack(u, inv, cnt, return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    """Where each of ``input`` would be inserted into ``sorted_sequence`` (1-d, or with
    leading dims matching ``input``'s) to keep it sorted: the first such place, or the last
    with ``right=True`` / ``side='right'``. ``sorter`` gives the order of an unsorted one."""
    if out is not None:
        y = searchsorted(sorted_sequence, input, out_int32=out_int32, right=right, side=side, sorter=sorter)
        return write_result(out, y, "searchsorted")
    seq = as_tensor(sorted_sequence)._data
    scalar = not isinstance(input, TensorBase)
    v = np.asarray(input._data if not scalar else input)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    if sorter is not None:
        srt = as_tensor(sorter)._data
        if srt.shape != seq.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(seq.shape)} and got sorter tensor {list(srt.shape)}")
        if srt.dtype.kind not in "iu":
            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but got {srt.dtype}")
        seq = np.take_along_axis(seq, srt.astype(np.int64), -1)
    how = "right" if right else "left"
    if seq.ndim == 1:
        return _int_out(np.searchsorted(seq, v, side=how), out_int32)
    if scalar or v.ndim == 0 or seq.shape[:-1] != v.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(seq.shape)} and input value tensor {list(v.shape)}")
    rs, rv = seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1])
    res = np.stack([np.searchsorted(s, w, side=how) for s, w in zip(rs, rv)]) if rs.shape[0] else np.zeros(rv.shape)
    return _int_out(res.reshape(v.shape), out_int32)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element of ``input`` among the 1-d sorted ``boundaries``: i with
    boundaries[i-1] < x <= boundaries[i] (``right=True``: boundaries[i-1] <= x < boundaries[i])."""
    if out is not None:
        return write_result(out, bucketize(input, boundaries, out_int32=out_int32, right=right), "bucketize")
    b = as_tensor(boundaries)
    if b._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b._data.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def bincount(input, weights=None, minlength=0):
    """The count of each value 0..max of the 1-d non-negative integer ``input`` (at least
    ``minlength`` bins); with ``weights``, their sums (float weights keep their dtype, others
    give float64)."""
    x = as_tensor(input)._data
    if x.dtype.kind in "fb":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{x.dtype}'")
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _const(np.bincount(x.astype(np.int64), minlength=minlength).astype(np.int64))
    w = as_tensor(weights)._data
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dt = w.dtype if w.dtype.kind == "f" else np.float64
    return _const(np.bincount(x.astype(np.int64), w.astype(np.float64), minlength=minlength).astype(dt))


def histc(input, bins=100, min=0, max=0, *, out=None):
    """A histogram of ``bins`` equal bins over [min, max] (min == max: the data's range);
    elements outside, and NaNs, are not counted; the last bin includes max."""
    if out is not None:
        return write_result(out, histc(input, bins, min, max), "histc")
    x = as_tensor(input)._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{x.dtype}'")
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    v = x.reshape(-1)
    if lo == hi and v.size:
        lo, hi = float(v.min()), float(v.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    v = v[(v >= lo) & (v <= hi)]
    lo_t, hi_t = x.dtype.type(lo), x.dtype.type(hi)
    pos = ((v - lo_t) * x.dtype.type(bins) / (hi_t - lo_t)).astype(np.int64)
    pos = np.minimum(pos, bins - 1)
    return _const(np.bincount(pos, minlength=bins).astype(x.dtype))


def histogram(input, bins, *, range=None, weight=None, density=False, out=None):
    """``ember.return_types.histogram(hist, bin_edges)``: ``bins`` equal bins over ``range``
    (default: the data's, widened by 0.5 when constant), or the given edges (a 1-d tensor);
    the last bin includes its right edge. ``weight`` sums weights; ``density`` normalises."""
    if out is not None:
        return write_result(out, histogram(input, bins, range=range, weight=weight, density=density), "histogram")
    from .. import return_types

    x = as_tensor(input)._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{x.dtype}'")
    v = x.reshape(-1)
    if isinstance(bins, TensorBase):
        edges = bins._data.astype(x.dtype)
        if edges.ndim != 1 or edges.size < 1:
            raise RuntimeError("torch.histogram(): bins tensor should have one dimension and at least 1 element")
    else:
        n = int(bins)
        if n <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {n} for dimension 0")
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
            if lo > hi:
                raise RuntimeError(f"torch.histogram(): max must be larger than min, but got min {lo} max {hi}")
        else:
            finite = v[np.isfinite(v)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        from .._creation import linspace  # PyTorch's linspace arithmetic: the same edges

        edges = linspace(lo, hi, n + 1, dtype=x.dtype)._data
    w = None if weight is None else as_tensor(weight)._data.reshape(-1)
    if w is not None and w.shape != v.shape:
        raise RuntimeError("torch.histogram(): if weight tensor is provided it should have the same shape as the input")
    hist, _ = np.histogram(v, bins=edges.astype(np.float64), weights=w, density=bool(density))
    return return_types.histogram(_const(hist.astype(x.dtype)), _const(edges))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` is in ``test_elements`` (either may be a number)."""
    if not isinstance(elements, TensorBase) and not isinstance(test_elements, TensorBase):
        raise TypeError("isin() expects at least one of elements and test_elements to be a Tensor")
    e = elements._data if isinstance(elements, TensorBase) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, TensorBase) else np.asarray(test_elements)
    return _const(np.isin(e, t, invert=bool(invert)))


def _indices(fn, row, col, offset, dtype):
    from .._dtype import as_dtype

    if row < 0 or col < 0:
        raise RuntimeError(f"row and col must be non-negative, got row = {row}, col = {col}")
    r, c = fn(int(row), int(offset), int(col))
    dt = np.int64 if dtype is None else as_dtype(dtype)
    return _const(np.stack([r, c]).astype(dt).reshape(2, -1))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False):
    """The (2, N) row and column indices of the lower triangle of a row x col matrix (those
    with col - row <= offset), in row-major order."""
    return _indices(np.tril_indices, row, col, offset, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False):
    """The (2, N) indices of the upper triangle (col - row >= offset), in row-major order."""
    return _indices(np.triu_indices, row, col, offset, dtype)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of the 1-d ``input``'s elements, one per row (as
    ``itertools.combinations``); differentiable."""
    from .movement import getitem

    a = as_tensor(input)
    if a._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(a._data.shape)}")
    r = int(r)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return from_op(np.empty(0, a._data.dtype), None)
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(make(range(a._data.shape[0]), r)), np.int64).reshape(-1, r)
    return getitem(a, idx)


def cartesian_prod(*tensors):
    """The cartesian product of 1-d tensors, one combination per row (``itertools.product``
    order); one tensor gives itself. Differentiable."""
    from .joining import stack
    from .movement import getitem

    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [as_tensor(t) for t in tensors]
    for t in ts:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expected 1D tensor for cartesian_prod, but got {t._data.ndim}D")
    if len({t._data.dtype for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if len(ts) == 1:
        return ts[0]
    grid = np.indices(tuple(t._data.shape[0] for t in ts)).reshape(len(ts), -1)
    return stack([getitem(t, g) for t, g in zip(ts, grid)], dim=1)
