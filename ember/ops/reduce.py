"""Reductions over a dim (or all dims): sum, mean, max/min, amax/amin, var, std, logsumexp,
prod, norm, nansum, nanmean, count_nonzero, any, all, argmax/argmin.

Every reduction takes PyTorch's ``dim`` (int, tuple or None) and ``keepdim``, with NumPy's
``axis``/``keepdims`` as aliases. ``max(x, dim)``/``min(x, dim)`` return the named tuple
``ember.return_types.max(values, indices)``, as PyTorch's; ``amax``/``amin`` the values.
"""
import builtins

import numpy as np

from ..autograd import Function
from .._tensor_base import from_op
from ._util import array_of, as_tensor, norm_axis, write_out, write_outs


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    n = builtins.max(ndim, 1)  # a 0-d tensor takes dim 0 and -1, as in PyTorch
    for a in axis:
        if not -n <= a < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {a})")
    return tuple(sorted(a % ndim for a in axis)) if ndim else ()


def _expand(xp, g, shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape (``xp``: NumPy or ember's ops)."""
    if not keepdims:
        g = xp.expand_dims(g, axes) if axes else g
    return xp.broadcast_to(g, shape)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    dual = True

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    def backward(self, gy):
        return _expand(self.xp, gy, self.shape, self.axes, self.keepdims)


class Mean(Function):
    dual = True

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        return np.asarray(a.mean(axis=axes, keepdims=keepdims))

    def backward(self, gy):
        n = _count(self.shape, self.axes)
        return _expand(self.xp, gy / np.asarray(n, gy.dtype), self.shape, self.axes, self.keepdims)


class Max(Function):
    """Max (or min) over axes; the gradient is shared evenly among tied maxima, like ``amax``.
    Which elements tie is a constant: the gradient of the gradient is the same spread."""

    dual = True

    def forward(self, a, axes, keepdims, minimum=False):
        if a.size == 0:
            name = "amin" if minimum else "amax"
            if axes is None or not a.ndim:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            dims = axes if isinstance(axes, tuple) else (axes,)
            empty = [d % a.ndim for d in dims if a.shape[d] == 0]
            if empty:  # reducing over the empty dim: no value to take (torch's IndexError)
                raise IndexError(f"{name}(): Expected reduction dim {empty[0]} to have non-zero size.")
            # an empty result: the reduced dims are not empty, another one is
        y = a.min(axis=axes, keepdims=True) if minimum else a.max(axis=axes, keepdims=True)
        y = y if keepdims else np.asarray(np.squeeze(y, axis=axes))
        self.save_for_backward(a, y)
        self.axes, self.keepdims = axes, keepdims
        return y

    def backward(self, gy):
        a, y = (array_of(t) for t in self.saved_tensors)
        if not self.keepdims:
            y = np.expand_dims(y, self.axes)
            gy = self.xp.expand_dims(gy, self.axes)
        mask = a == y
        n = mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # a NaN maximum: no tie, 0 / 0
            return mask * (gy / n)


class Var(Function):
    """Variance with ``correction``: sum((a - mean)^2) / (N - correction)."""

    dual = True

    def forward(self, a, axes, keepdims, correction):
        self.save_for_backward(a)
        self.d = d = a - a.mean(axis=axes, keepdims=True)
        self.axes, self.keepdims = axes, keepdims
        self.n = builtins.max(_count(a.shape, axes) - correction, 0)
        return np.asarray((d * d).sum(axis=axes, keepdims=keepdims) / np.asarray(self.n, a.dtype))

    def backward(self, gy):
        # d(var)/d(a_i) = 2 (a_i - mean) / (N - correction); d(var)/d(mean) = 0. With
        # N - correction = 0 the factor is inf and the gradient NaN, as in PyTorch.
        (a,) = self.saved_tensors
        # a - mean comes from forward; when this backward is recorded it is recomputed with
        # ember's ops, so that it is differentiated as well
        d = a - a.mean(axis=self.axes, keepdims=True) if self._graph else self.d
        if not self.keepdims:
            gy = self.xp.expand_dims(gy, self.axes)
        k = np.asarray(2.0 / self.n if self.n else np.inf, gy.dtype)
        return d * (gy * k)


class LogSumExp(Function):
    """log(sum(exp(a))) over axes; the gradient is the softmax exp(a - y), read from the
    input and the output (so that it is differentiated again when recorded)."""

    dual = True

    def forward(self, a, axes, keepdims):
        m = a.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        yk = np.log(np.exp(a - m).sum(axis=axes, keepdims=True)) + m
        y = yk if keepdims else np.asarray(np.squeeze(yk, axis=axes))
        self.save_for_backward(a, y)
        self.axes, self.keepdims = axes, keepdims
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        xp = self.xp
        if not self.keepdims:
            y = xp.expand_dims(y, self.axes)
            gy = xp.expand_dims(gy, self.axes)
        return gy * xp.exp(a - y)  # the softmax


def _reduce(cls, a, axis, dim, keepdims, keepdim, **kw):
    a = as_tensor(a)
    axes = _axes(norm_axis(axis, dim), a._data.ndim)
    return cls.apply(a, axes=axes, keepdims=bool(keepdims or keepdim), **kw)


def sum(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Sum over ``axis`` (all axes when None)."""
    return _reduce(Sum, a, axis, dim, keepdims, keepdim)


def mean(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Mean over ``axis`` (all axes when None)."""
    return _reduce(Mean, a, axis, dim, keepdims, keepdim)


def var(a, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1, unbiased=None, ddof=None):
    """Variance over ``axis``. Like PyTorch, the default is unbiased (``correction=1``);
    ``ddof=0`` or ``unbiased=False`` gives NumPy's population variance."""
    if ddof is not None:
        correction = ddof
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return _reduce(Var, a, axis, dim, keepdims, keepdim, correction=correction)


def std(a, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1, unbiased=None, ddof=None):
    """Standard deviation over ``axis`` (unbiased by default, like PyTorch)."""
    from .elementwise import sqrt

    return sqrt(var(a, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased, ddof=ddof))


def logsumexp(a, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """log(sum(exp(a))) over ``axis``, computed without overflow."""
    return _reduce(LogSumExp, a, axis, dim, keepdims, keepdim)




# ----- max / min with indices, amax / amin, argmax / argmin -----


def _dim_keep(axis, dim, keepdims, keepdim):
    return norm_axis(axis, dim), bool(keepdims or keepdim)


def _take_along(a, idx, axis, keepdim):
    """``a``'s elements at ``idx`` (an index array in keepdim form) along ``axis``: a
    differentiable gather (fancy ``getitem``), whose gradient goes to those places only."""
    from .movement import getitem, reshape

    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    out = getitem(a, tuple(grids))
    if not keepdim:
        out = reshape(out, tuple(n for i, n in enumerate(idx.shape) if i != axis))
    return out


def _max_dim(a, d, keepdim, minimum, name):
    from .. import return_types

    if isinstance(d, (tuple, list)):
        raise TypeError(f"{name}(): dim must be an int, got {tuple(d)}; use a{name}(x, dim=...) for several dims")
    x = a._data
    nd = x.ndim
    if not -builtins.max(nd, 1) <= d < builtins.max(nd, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-builtins.max(nd, 1)}, "
                         f"{builtins.max(nd, 1) - 1}], but got {d})")
    if nd == 0:
        from .movement import clone

        return getattr(return_types, name)(clone(a), from_op(np.zeros((), np.int64), None))
    d %= nd
    if x.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    idx = (np.argmin if minimum else np.argmax)(x, axis=d, keepdims=True)
    values = _take_along(a, idx, d, keepdim)
    indices = from_op(idx if keepdim else np.squeeze(idx, axis=d), None)
    return getattr(return_types, name)(values, indices)


def _max_impl(a, dim, keepdim, axis, keepdims, minimum):
    from .._tensor_base import TensorBase
    from .elementwise import maximum as _maximum, minimum as _minimum

    name = "min" if minimum else "max"
    if isinstance(dim, TensorBase) or isinstance(axis, TensorBase):  # max(a, other): maximum
        other = dim if isinstance(dim, TensorBase) else axis
        return (_minimum if minimum else _maximum)(a, other)
    a = as_tensor(a)
    d, keep = _dim_keep(axis, dim, keepdims, keepdim)
    if d is None:
        if a._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return Max.apply(a, axes=tuple(range(a._data.ndim)), keepdims=False, minimum=minimum)
    return _max_dim(a, d, keep, minimum, name)


def max(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=False, out=None):
    """``max(x)``: the largest value (a 0-d tensor; ties share the gradient evenly).
    ``max(x, dim, keepdim=False)``: ``ember.return_types.max(values, indices)``, the first
    maximum along ``dim``, which alone gets the gradient. ``max(x, other)``: ``maximum``.
    ``out=``: a tensor, or a (values, indices) tuple of tensors with a dim."""
    y = _max_impl(input, dim if other is None else other, keepdim, axis, keepdims, False)
    return y if out is None else _write_max(y, out, "max")


def min(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=False, out=None):
    """``min(x)``, ``min(x, dim, keepdim=False)`` (``return_types.min(values, indices)``),
    ``min(x, other)``: as ``max``."""
    y = _max_impl(input, dim if other is None else other, keepdim, axis, keepdims, True)
    return y if out is None else _write_max(y, out, "min")


def _write_max(y, out, name):
    return write_outs(y, out, name) if isinstance(y, tuple) else write_out(y, out, name)


def amax(input, dim=(), keepdim=False, *, axis=None, keepdims=False, out=None):
    """Largest values over ``dim`` (an int or a tuple; ``()`` or None: all dims); tied
    maxima share the gradient evenly."""
    if dim == () or dim is None:
        dim = None
        if axis is None and getattr(getattr(input, "_data", None), "size", 1) == 0:
            raise RuntimeError("amax(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
    y = _reduce(Max, input, axis, dim, keepdims, keepdim)
    return y if out is None else write_out(y, out, "amax", exact=True)


def amin(input, dim=(), keepdim=False, *, axis=None, keepdims=False, out=None):
    """Smallest values over ``dim``; tied minima share the gradient evenly."""
    if dim == () or dim is None:
        dim = None
        if axis is None and getattr(getattr(input, "_data", None), "size", 1) == 0:
            raise RuntimeError("amin(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
    y = _reduce(Max, input, axis, dim, keepdims, keepdim, minimum=True)
    return y if out is None else write_out(y, out, "amin", exact=True)


def aminmax(input, *, dim=None, keepdim=False):
    """``ember.return_types.aminmax(min, max)`` over ``dim`` (all dims when None)."""
    from .. import return_types

    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"aminmax(): dim must be an int or None, got {dim!r}")
    return return_types.aminmax(amin(input, dim, keepdim), amax(input, dim, keepdim))


def _arg(fn, a, axis, dim, keepdims, keepdim):
    a = as_tensor(a)
    d, keep = _dim_keep(axis, dim, keepdims, keepdim)
    x = a._data
    if d is None:
        r = fn(x.reshape(-1)) if x.size else fn(x)
        return from_op(np.asarray(r, np.int64).reshape((1,) * x.ndim if keep else ()), None)
    return from_op(np.asarray(fn(x, axis=d, keepdims=keep), np.int64), None)


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Index of the (first) maximum along ``dim``; of the flattened tensor when None."""
    return _arg(np.argmax, input, axis, dim, keepdims, keepdim)


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Index of the (first) minimum along ``dim``; of the flattened tensor when None."""
    return _arg(np.argmin, input, axis, dim, keepdims, keepdim)


# ----- prod, var_mean, std_mean, nan-reductions, counts, any / all, norm -----


class Prod(Function):
    """Product over axes. The gradient of each element is the product of the others: y / a
    where a slice holds no zero (differentiated again through y and a when recorded), and the
    product of the others, computed directly, where it does (a constant there)."""

    dual = True

    def forward(self, a, axes, keepdims):
        yk = np.prod(a, axis=axes, keepdims=True)
        self.axes, self.keepdims = axes, keepdims
        self.zero = a == 0
        y = yk if keepdims else np.asarray(np.squeeze(yk, axis=axes))
        self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        xp = self.xp
        if not self.keepdims:
            y = xp.expand_dims(y, self.axes)
            gy = xp.expand_dims(gy, self.axes)
        if not self.zero.any():
            return gy * y / a
        others = _prod_of_others(array_of(a), self.axes)
        slice_has_zero = np.broadcast_to(self.zero.any(axis=self.axes, keepdims=True), self.zero.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = xp.where(slice_has_zero, 1, a)  # no division by zero where unused
            return xp.where(slice_has_zero, gy * others.astype(gy.dtype), gy * y / safe)


def _prod_of_others(a, axes):
    """For each element, the product of the other elements of its slice over ``axes``."""
    rest = [i for i in range(a.ndim) if i not in axes]
    perm = rest + list(axes)
    t = np.transpose(a, perm)
    lead = t.shape[: len(rest)]
    f = t.reshape(lead + (-1,))
    ones = np.ones(lead + (1,), a.dtype)
    left = np.concatenate([ones, np.cumprod(f, axis=-1)[..., :-1]], axis=-1)
    right = np.concatenate([np.cumprod(f[..., ::-1], axis=-1)[..., -2::-1], ones], axis=-1)
    o = (left * right).reshape(t.shape)
    return np.transpose(o, np.argsort(perm))


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
    """Product of the elements over ``dim`` (all when None). Integers and bools give int64."""
    from .elementwise import cast

    a = as_tensor(input)
    if dtype is not None:
        a = cast(a, dtype)
    elif a._data.dtype.kind in "iub":
        a = cast(a, np.int64)
    return _reduce(Prod, a, axis, dim, keepdims, keepdim)


def _correction(correction, unbiased):
    if correction is not None:
        return correction
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` (a plain tuple, as PyTorch); unbiased by default."""
    if isinstance(dim, bool):  # var_mean(x, False): the unbiased flag
        dim, unbiased = None, dim
    c = _correction(correction, unbiased)
    return var(input, dim=dim, keepdim=keepdim, correction=c), mean(input, dim=dim, keepdim=keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``; unbiased by default."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    c = _correction(correction, unbiased)
    return std(input, dim=dim, keepdim=keepdim, correction=c), mean(input, dim=dim, keepdim=keepdim)


class NanSum(Function):
    """Sum treating NaN as 0; the gradient is gy times the not-NaN mask (a product, as
    PyTorch's: an infinite gy gives NaN at the NaNs)."""

    dual = True

    def forward(self, a, axes, keepdims):
        self.shape, self.axes, self.keepdims = a.shape, axes, keepdims
        self.keep = ~np.isnan(a)
        return np.asarray(np.nansum(a, axis=axes, keepdims=keepdims))

    def backward(self, gy):
        with np.errstate(invalid="ignore"):  # inf * 0 at a NaN: NaN, as PyTorch
            return _expand(self.xp, gy, self.shape, self.axes, self.keepdims) * self.keep


def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
    """Sum over ``dim`` treating NaN as 0 (a NaN gets no gradient)."""
    from .elementwise import cast

    a = as_tensor(input)
    if dtype is not None:
        a = cast(a, dtype)
    if a._data.dtype.kind != "f":
        return sum(a, axis, keepdims, dim=dim, keepdim=keepdim)
    return _reduce(NanSum, a, axis, dim, keepdims, keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=False):
    """Mean over ``dim`` of the elements that are not NaN."""
    a = as_tensor(input)
    if a._data.dtype.kind != "f" and dtype is None:
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {a._data.dtype}")
    s = nansum(a, dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)
    d, keep = _dim_keep(axis, dim, keepdims, keepdim)
    n = (~np.isnan(a._data)).sum(axis=d if d is None else _axes(d, a._data.ndim), keepdims=keep)
    with np.errstate(divide="ignore", invalid="ignore"):  # an all-NaN slice: 0 / 0 = NaN
        return s / from_op(np.asarray(n, s._data.dtype), None)


def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (int or tuple; all when None), as int64."""
    a = as_tensor(input)
    ax = None if dim is None else _axes(dim, a._data.ndim)
    return from_op(np.asarray(np.count_nonzero(a._data, axis=ax), np.int64), None)


def _anyall(fn, a, dim, keepdim, axis, keepdims):
    a = as_tensor(a)
    d, keep = _dim_keep(axis, dim, keepdims, keepdim)
    x = a._data
    ax = None if d is None else _axes(d, x.ndim)
    r = np.asarray(fn(x, axis=ax, keepdims=keep))
    return from_op(r.astype(np.uint8) if x.dtype == np.uint8 else r, None)


def any(input, dim=None, keepdim=False, *, axis=None, keepdims=False, out=None):
    """Whether any element over ``dim`` is true (bool; uint8 for a uint8 input)."""
    y = _anyall(np.any, input, dim, keepdim, axis, keepdims)
    return y if out is None else write_out(y, out, "any", exact=True)


def all(input, dim=None, keepdim=False, *, axis=None, keepdims=False, out=None):
    """Whether every element over ``dim`` is true (bool; uint8 for a uint8 input)."""
    y = _anyall(np.all, input, dim, keepdim, axis, keepdims)
    return y if out is None else write_out(y, out, "all", exact=True)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """The vector p-norm over ``dim`` (all elements when None): p = 2 or 'fro', 1, inf,
    -inf, 0 (the count of non-zeros) or any other number (sum |x|^p)^(1/p)."""
    if out is not None:
        return write_out(norm(input, p, dim, keepdim, dtype=dtype), out, "norm", exact=True)
    from .elementwise import abs as _abs, cast, pow as _pow

    a = as_tensor(input)
    if dtype is not None:
        a = cast(a, dtype)
    if a._data.dtype.kind not in "fc":
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got {a._data.dtype} instead.")
    if p == "nuc":  # the nuclear norm of the matrices over dim (all dims when None)
        from .linalg_norms import matrix_norm

        return matrix_norm(a, "nuc", tuple(range(a._data.ndim)) if dim is None else dim, keepdim)
    if p is None or p == "fro":
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm(): p must be a number, 'fro' or 'nuc', got {p!r}")
    kw = dict(dim=None if dim is None else (tuple(dim) if isinstance(dim, (list, tuple)) else dim), keepdim=keepdim)
    if p == 2:
        return Norm2.apply(a, axes=_axes(kw["dim"], a._data.ndim), keepdims=keepdim)
    if p == 1:
        return sum(_abs(a), **kw)
    if p == float("inf"):
        return amax(_abs(a), kw["dim"], keepdim)
    if p == float("-inf"):
        return amin(_abs(a), kw["dim"], keepdim)
    if p == 0:
        nz = from_op((a._data != 0).astype(a._data.dtype), None)
        return sum(nz, **kw)
    return _pow(sum(_pow(_abs(a), float(p)), **kw), 1.0 / float(p))


class Norm2(Function):
    """sqrt(sum(a^2)) over axes; the gradient a / norm, 0 where the norm is 0 (as PyTorch)."""

    dual = True

    def forward(self, a, axes, keepdims):
        yk = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
        self.axes, self.keepdims = axes, keepdims
        y = yk if keepdims else np.asarray(np.squeeze(yk, axis=axes))
        self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        xp = self.xp
        if not self.keepdims:
            y = xp.expand_dims(y, self.axes)
            gy = xp.expand_dims(gy, self.axes)
        zero = array_of(y) == 0
        safe = xp.where(zero, 1, y) if zero.any() else y
        return xp.where(zero, 0, a * (gy / safe)) if zero.any() else a * (gy / safe)
