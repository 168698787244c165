"""Sorting and selection along a dim: sort, argsort, msort, topk, kthvalue, median, nanmedian,
mode, quantile, nanquantile.

The order is computed on the array (a stable sort; NaN sorts as the largest, as PyTorch's);
the values are then a differentiable gather of the input at those places (a fancy
``getitem``), so each gradient goes to the source positions and is differentiable again.
Reordering ops (flip, roll, rot90, diff) are in ``reorder.py``; unique, searchsorted,
bincount and friends in ``setops.py``."""
import numpy as np

from .. import kernels
from ..autograd import Function
from .._tensor_base import from_op
from ._util import as_tensor, write_out, write_outs
from ..kernels import indexing as _kernels


def write_result(out, res, name):
    """``out=``: a named-tuple result into a tuple of tensors, a tensor into a tensor (same dtype)."""
    return write_outs(res, out, name) if isinstance(res, tuple) else write_out(res, out, name, exact=True)


def _rt(name, values, indices):
    from .. import return_types

    return getattr(return_types, name)(values, indices)


def _wrap(dim, ndim, name="dim"):
    n = max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def stable_argsort(x, axis, descending=False):
    """Indices that sort ``x`` along ``axis``, equal elements keeping their order, NaN as the
    largest (last ascending, first descending)."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    idx = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return (n - 1) - idx


def take_along(a, idx, axis):
    """``a``'s elements at ``idx`` along ``axis`` (idx has a's rank): a differentiable gather."""
    from .movement import getitem

    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    return getitem(a, tuple(grids))


def _squeeze(t, axis):
    from .movement import reshape

    s = t._data.shape
    return reshape(t, s[:axis] + s[axis + 1:])


def _zero_d(a, name):
    from .movement import clone

    return _rt(name, clone(a), from_op(np.zeros((), np.int64), None))


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    """``ember.return_types.sort(values, indices)`` along ``dim``. The sort is always stable
    (ties keep their order; PyTorch's CPU sort is too on small inputs); NaN sorts as the
    largest. The gradient of the values goes back to the source positions."""
    if out is not None:
        return write_result(out, sort(input, dim, descending, stable), "sort")
    a = as_tensor(input)
    if a._data.ndim == 0:
        _wrap(dim, 0)
        return _zero_d(a, "sort")
    d = _wrap(dim, a._data.ndim)
    idx = stable_argsort(a._data, d, bool(descending))
    return _rt("sort", take_along(a, idx, d), from_op(idx, None))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (stable; NaN as the largest)."""
    a = as_tensor(input)
    if a._data.ndim == 0:
        _wrap(dim, 0)
        return from_op(np.zeros((), np.int64), None)
    d = _wrap(dim, a._data.ndim)
    return from_op(stable_argsort(a._data, d, bool(descending)), None)


def msort(input):
    """The values of ``input`` sorted along dim 0."""
    return sort(input, dim=0).values


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """``ember.return_types.topk(values, indices)``: the ``k`` largest (``largest=False``: the
    smallest) along ``dim``, in sorted order (also with ``sorted=False``, which lets PyTorch
    give any order). Ties are taken in their order in the input."""
    if out is not None:
        return write_result(out, topk(input, k, dim, largest, sorted), "topk")
    a = as_tensor(input)
    k = int(k)
    if a._data.dtype == np.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    n = a._data.shape[_wrap(dim, a._data.ndim)] if a._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: k = {k}, but dim {dim} has size {n}")
    if a._data.ndim == 0:
        return _zero_d(a, "topk")
    d = _wrap(dim, a._data.ndim)
    idx = topk_indices(a._data, k, d, bool(largest))
    return _rt("topk", take_along(a, idx, d), from_op(idx, None))


def topk_indices(x, k, d, largest):
    """The indices of ``stable_argsort(x, d, largest)[:k]`` along ``d``. For small k, a
    partition finds each row's k-th value first; only the elements on its side of it (ties
    included) are then sorted."""
    n = x.shape[d]
    full = k == 0 or n <= 256 or 8 * k >= n or x.size == 0
    if not full:
        xm = np.moveaxis(x, d, -1)
        lead, r = xm.shape[:-1], xm.reshape(-1, n)
        rows, cols, cnt, c = None, None, None, 0
        thr = _kernels.topk_bound(r, k, largest) if kernels.enabled() else None
        if thr is not None:  # a bound on the k-th value, and no NaN in r
            rows, cols, cnt, c = _candidates(r >= thr if largest else r <= thr)
        if thr is None or c > 8 * k + 256:  # the bound let too many through: the k-th value itself
            p = n - k if largest else k - 1
            thr = np.partition(r, p, axis=-1)[:, p:p + 1]
            if r.dtype.kind == "f":  # NaN is the largest: np.partition puts it last too
                mask = ((r >= thr) | np.isnan(r)) if largest else ((r <= thr) | np.isnan(thr))
            else:
                mask = r >= thr if largest else r <= thr
            rows, cols, cnt, c = _candidates(mask)
        full = c > 8 * k + 256  # many ties at the k-th value: sort it all
    if full:
        idx = stable_argsort(x, d, largest)
        return np.ascontiguousarray(idx[(slice(None),) * d + (slice(0, k),)])
    pos = np.arange(rows.size) - np.concatenate([[0], np.cumsum(cnt)[:-1]])[rows]
    if r.dtype.kind == "f":
        pad = -np.inf if largest else np.nan  # sorts after every candidate (and, stably, after equal ones)
    elif r.dtype.kind == "b":
        pad = not largest
    else:
        info = np.iinfo(r.dtype)
        pad = info.min if largest else info.max
    vals = np.full((r.shape[0], c), pad, r.dtype)
    vals[rows, pos] = r[rows, cols]
    where = np.zeros((r.shape[0], c), np.int64)
    where[rows, pos] = cols
    o = stable_argsort(vals, 1, largest)[:, :k]
    out = np.take_along_axis(where, o, 1).reshape(lead + (k,))
    return np.ascontiguousarray(np.moveaxis(out, -1, d))


def _candidates(mask):
    """The true places of the 2-D ``mask`` (each row's in their order): rows, columns, the
    count per row and its maximum."""
    flat = np.flatnonzero(mask)
    n = mask.shape[1]
    rows, cols = flat // n, flat % n
    cnt = np.bincount(rows, minlength=mask.shape[0])
    return rows, cols, cnt, int(cnt.max()) if cnt.size else 0


def _select(a, dim, keepdim, name, pick, on_sorted=False):
    """The element at a position of the stable sorted order along ``dim``, as (values,
    indices). ``pick(x, d)`` gives that position (a keepdim-shaped int array); with
    ``on_sorted``, ``pick`` is given the sorted values instead of ``x``."""
    if a._data.ndim == 0:
        _wrap(dim, 0)
        return _zero_d(a, name)
    d = _wrap(dim, a._data.ndim)
    x = a._data
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if on_sorted:
        order = stable_argsort(x, d)
        idx = np.take_along_axis(order, pick(np.take_along_axis(x, order, d), d), d)
    else:
        idx = kth_index(x, pick(x, d), d)
    values = take_along(a, idx, d)
    if not keepdim:
        values, idx = _squeeze(values, d), np.squeeze(idx, d)
    return _rt(name, values, from_op(idx, None))


def kth_index(x, pos, d):
    """The index of the element at position ``pos`` (keepdim-shaped) of the stable sorted
    order along ``d``. Long rows take a partition: the value there is found first, then
    which of the elements equal to it comes at that position (NaN counts as the largest)."""
    n = x.shape[d]
    ks = np.unique(pos)
    if n <= 256 or ks.size > 8 or x.dtype.kind not in "fiub":
        return np.take_along_axis(stable_argsort(x, d), pos, d)
    xm = np.moveaxis(x, d, -1)
    r = xm.reshape(-1, n)
    p = np.moveaxis(pos, d, -1).reshape(-1, 1)
    thr = np.take_along_axis(np.partition(r, ks, axis=-1), p, 1)
    if r.dtype.kind == "f":
        nan_thr, valid = np.isnan(thr), ~np.isnan(r)
        less = np.where(nan_thr, valid.sum(axis=1, keepdims=True), (r < thr).sum(axis=1, keepdims=True))
        eq = np.where(nan_thr, ~valid, r == thr)
    else:
        less, eq = (r < thr).sum(axis=1, keepdims=True), r == thr
    hit = eq & (np.cumsum(eq, axis=1) == p - less + 1)  # the (p - less)-th equal element, in order
    idx = np.argmax(hit, axis=1).reshape(xm.shape[:-1] + (1,))
    return np.moveaxis(idx, -1, d)


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """``ember.return_types.kthvalue(values, indices)``: the ``k``-th smallest along ``dim``
    (1-based). Among equal values the index is the k-th in stable order (PyTorch's
    selection algorithm may name another of the equal elements)."""
    if out is not None:
        return write_result(out, kthvalue(input, k, dim, keepdim), "kthvalue")
    a = as_tensor(input)
    k = int(k)
    _check_median_dtype(a, "kthvalue")
    if a._data.ndim == 0:
        if k != 1:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
        return _zero_d(a, "kthvalue")
    d = _wrap(dim, a._data.ndim)
    n = a._data.shape[d]
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}: k = {k}, size {n}")

    def pick(x, d):
        shape = list(x.shape)
        shape[d] = 1
        return np.full(shape, k - 1, np.int64)

    return _select(a, d, keepdim, "kthvalue", pick)


def _median_pick(ignore_nan):
    def pick(x, d):
        n = x.shape[d]
        shape = list(x.shape)
        shape[d] = 1
        nans = np.isnan(x).sum(axis=d, keepdims=True) if x.dtype.kind in "fc" else np.zeros(shape, np.int64)
        if ignore_nan:
            m = n - nans
            return np.where(m > 0, (m - 1) // 2, 0).astype(np.int64)
        return np.where(nans > 0, n - nans, (n - 1) // 2).astype(np.int64)  # NaN: the first NaN

    return pick


def _check_median_dtype(a, name):
    if a._data.dtype == np.bool_:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')


def median(input, dim=None, keepdim=False, *, out=None):
    """``median(x)``: the lower median of all elements (NaN if any is NaN), a 0-d tensor
    whose gradient is shared evenly by the elements equal to it, as PyTorch's.
    ``median(x, dim)``: ``ember.return_types.median(values, indices)`` along ``dim``."""
    if out is not None:
        return write_result(out, median(input, dim, keepdim), "median")
    a = as_tensor(input)
    _check_median_dtype(a, "median")
    if dim is None:
        return _median_all(a, False)
    return _select(a, dim, keepdim, "median", _median_pick(False))


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """``median`` ignoring NaNs (NaN only where all are NaN)."""
    if out is not None:
        return write_result(out, nanmedian(input, dim, keepdim), "nanmedian")
    a = as_tensor(input)
    _check_median_dtype(a, "nanmedian")
    if dim is None:
        return _median_all(a, True)
    return _select(a, dim, keepdim, "nanmedian", _median_pick(True))


class EvenlyShared(Function):
    """``a.reshape(-1)[index]`` as a 0-d array, whose gradient is shared evenly by all the
    elements equal to it (``mask``), as PyTorch's median() and nanmedian() without a dim."""

    dual = True

    def forward(self, a, index, mask):
        self.weight = (mask / mask.sum()).astype(a.dtype)
        return np.asarray(a.reshape(-1)[index])

    def backward(self, gy):
        return gy * self.weight


def _median_all(a, ignore_nan):
    x = a._data
    if x.size == 0:
        if x.dtype.kind not in "fc":
            raise IndexError("median() of an empty integer tensor: there is no NaN to return")
        return from_op(np.array(np.nan, x.dtype), None)
    flat = x.reshape(-1)
    i = int(kth_index(flat, _median_pick(ignore_nan)(flat, 0), 0)[0])
    v = flat[i]
    mask = np.isnan(x) if x.dtype.kind == "f" and np.isnan(v) else x == v
    return EvenlyShared.apply(a, index=i, mask=mask)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """``ember.return_types.mode(values, indices)``: the most frequent value along ``dim``
    (the smallest of equally frequent ones) and the index of its last occurrence, as
    PyTorch's CPU mode."""
    if out is not None:
        return write_result(out, mode(input, dim, keepdim), "mode")
    a = as_tensor(input)

    def pick(s, d):
        sm = np.moveaxis(s, d, -1)
        n = sm.shape[-1]
        j = np.arange(n)
        start = np.zeros(sm.shape, bool)
        start[..., 0] = True
        start[..., 1:] = sm[..., 1:] != sm[..., :-1]
        first = np.maximum.accumulate(np.where(start, j, 0), axis=-1)
        end = np.ones(sm.shape, bool)
        end[..., :-1] = start[..., 1:]
        length = np.where(end, j - first + 1, 0)
        return np.moveaxis(np.argmax(length, axis=-1)[..., None], -1, d)

    return _select(a, dim, keepdim, "mode", pick, on_sorted=True)


_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(a, q, dim, keepdim, interpolation, ignore_nan, name):
    from .elementwise import add, mul, sub
    from .movement import getitem, movedim, reshape

    a = as_tensor(a)
    x = a._data
    if x.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype, got {x.dtype}")
    if interpolation not in _INTERP:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    scalar_q = not hasattr(q, "_data")
    if scalar_q:
        qa = np.asarray([float(q)], x.dtype)
    else:
        qa = q._data
        if qa.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor, got {qa.ndim}D")
        if qa.dtype != x.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor, got {qa.dtype} and {x.dtype}")
        scalar_q = qa.ndim == 0
        qa = qa.reshape(-1)
    if x.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if qa.size and (np.isnan(qa).any() or qa.min() < 0 or qa.max() > 1):
        bad = qa[np.isnan(qa) | (qa < 0) | (qa > 1)][0]
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {float(bad)}")
    if dim is None:
        rows, out_shape = reshape(a, (-1,)), (1,) * x.ndim if keepdim else ()
        d = None
    else:
        d = _wrap(dim, x.ndim)
        rows = (movedim(a, d, -1) if d != x.ndim - 1 else a) if x.ndim else reshape(a, (1,))
        s = x.shape
        out_shape = () if not s else (s[:d] + (1,) + s[d + 1:]) if keepdim else s[:d] + s[d + 1:]
    r = rows._data
    n = r.shape[-1]
    order = stable_argsort(r, r.ndim - 1)
    srt = take_along(rows, order, r.ndim - 1)  # differentiable sorted rows
    nans = np.isnan(r).sum(axis=-1)  # per row, shape R
    if ignore_nan:
        m = n - nans
        rank = qa.reshape((-1,) + (1,) * nans.ndim) * np.maximum(m - 1, 0).astype(x.dtype)
        rank = np.where(m == 0, 0, rank)  # all NaN: the (NaN) first element
    else:
        rank = qa.reshape((-1,) + (1,) * nans.ndim) * np.asarray(n - 1, x.dtype)
        rank = np.where(nans > 0, n - 1, rank)  # any NaN: the (NaN) last element
        rank = np.broadcast_to(rank, qa.shape + nans.shape)
    rank = rank.astype(x.dtype)
    lo, hi = np.floor(rank).astype(np.int64), np.ceil(rank).astype(np.int64)
    grids = tuple(g[None] for g in np.indices(nans.shape, sparse=True))

    def at(pos):
        return getitem(srt, grids + (pos,))

    if interpolation == "lower":
        y = at(lo)
    elif interpolation == "higher":
        y = at(hi)
    elif interpolation == "nearest":
        y = at(np.round(rank).astype(np.int64))
    else:
        w = (rank - lo).astype(x.dtype) if interpolation == "linear" else np.full(rank.shape, 0.5, x.dtype)
        w = np.where(lo == hi, 0, w).astype(x.dtype)
        below, above = at(lo), at(hi)
        y = add(below, mul(from_op(w, None), sub(above, below)))
    y = reshape(y, (qa.size,) + tuple(out_shape))
    return reshape(y, tuple(out_shape)) if scalar_q else y


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The ``q``-th quantiles (a float, or a 0-d/1-d tensor: then its dim comes first) along
    ``dim`` (None: all elements), NaN where a row holds a NaN. ``interpolation``: linear,
    lower, higher, midpoint or nearest (round half to even). Differentiable in the input."""
    if out is not None:
        y = quantile(input, q, dim, keepdim, interpolation=interpolation)
        return write_out(y, out, "quantile", exact=True, composite=True)
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """``quantile`` ignoring NaNs (NaN only where a row is all NaN)."""
    if out is not None:
        y = nanquantile(input, q, dim, keepdim, interpolation=interpolation)
        return write_out(y, out, "nanquantile", exact=True, composite=True)
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")
