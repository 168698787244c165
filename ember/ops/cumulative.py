"""Cumulative ops along one dim: cumsum, cumprod, logcumsumexp, cummax, cummin.

Each backward is a reversed cumulative op written with ``self.xp`` and flips, so it is
recorded (and differentiated again) when ``create_graph=True``."""
import numpy as np

from .. import kernels
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import array_of, as_tensor, write_out
from ..kernels import indexing as _kernels


def _dim(d, ndim, name):
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"{name}(): dim must be an int, got {d!r}")
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def _flip(x, axis):
    if isinstance(x, TensorBase):  # a recorded backward: the differentiable flip (x[::-1] is refused)
        from .reorder import flip

        return flip(x, (axis,))
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


def _rcumsum(g, axis):
    """sum over j >= i of g[j] along ``axis``, on arrays or (recorded) Tensors."""
    if isinstance(g, TensorBase):
        return _flip(cumsum(_flip(g, axis), axis), axis)
    fast = _fast_scan(g, axis, reverse=True)
    return fast if fast is not None else np.flip(np.cumsum(np.flip(g, axis), axis), axis)


FAST_SCAN_MIN = 1 << 16  # elements from which the blocked scan pays


def _fast_scan(a, axis, reverse=False):
    """The blocked scan of ``ember.kernels.indexing.cumsum_last`` for a large float array
    scanned along its last axis (kernels on), else None (then NumPy's cumsum)."""
    if not kernels.enabled() or a.ndim == 0 or axis != a.ndim - 1 or a.size < FAST_SCAN_MIN:
        return None
    return _kernels.cumsum_last(a, reverse)


class CumSum(Function):
    dual = True

    def forward(self, a, axis):
        self.axis = axis
        fast = _fast_scan(a, axis)
        return fast if fast is not None else np.cumsum(a, axis=axis)

    def backward(self, gy):
        return _rcumsum(gy, self.axis)


class CumProd(Function):
    """The gradient of element k is sum over i >= k of gy[i] y[i] / a[k]: the reversed
    cumulative sum of gy * y, over a. Where a slice holds a zero, the elements before its
    first zero keep that formula; the first zero gets y[z-1] times the reversed cumulative
    sum of gy[i] prod(a[z+1..i]); the elements after it get 0 (constants there)."""

    dual = True

    def forward(self, a, axis):
        y = np.cumprod(a, axis=axis)
        self.axis = axis
        self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        ax = self.axis
        xa = array_of(a)
        zero = xa == 0
        if not zero.any():
            return _rcumsum(gy * y, ax) / a
        g = _cumprod_grad_with_zeros(xa, array_of(gy), ax)
        return from_op(g, None) if isinstance(gy, TensorBase) else g


def _cumprod_grad_with_zeros(a, gy, ax):
    a, gy = np.moveaxis(a, ax, -1), np.moveaxis(gy, ax, -1)
    n = a.shape[-1]
    out = np.zeros(a.shape, np.result_type(a, gy))
    for k in range(n):  # out[k] = sum_{i>=k} gy[i] prod_{j<=i, j!=k} a[j]
        before = np.prod(a[..., :k], axis=-1)
        after = np.cumprod(a[..., k + 1:], axis=-1)
        terms = gy[..., k] + (gy[..., k + 1:] * after).sum(axis=-1)
        out[..., k] = before * terms
    return np.moveaxis(out, -1, ax)


class LogCumSumExp(Function):
    """y[i] = log sum_{j<=i} exp(a[j]). The gradient of a[k] is sum_{i>=k} gy[i] exp(a[k] -
    y[i]), computed as PyTorch does, without overflow: with gy split into its positive and
    negative parts, exp(a[k] + reversed logcumsumexp(log(gy+-) - y))."""

    dual = True

    def forward(self, a, axis):
        self.axis = axis
        with np.errstate(invalid="ignore"):
            y = np.logaddexp.accumulate(a, axis=axis) if a.shape[axis] else a.copy()
        self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        ax = self.axis
        graph = isinstance(gy, TensorBase)
        g = array_of(gy)
        none = np.isneginf(array_of(a))  # exp(-inf - y) = 0: no gradient (not inf - inf)
        out = 0
        for part, sign in ((g > 0, 1.0), (g < 0, -1.0)):
            if not part.any():
                continue
            if graph:
                from .elementwise import exp, log, where

                lg = where(part, log(where(part, gy * sign, 1)), -np.inf)
                r = _flip(logcumsumexp(_flip(lg - y, ax), ax), ax)
                term = exp(a + r)
                if none.any():
                    term = where(none, np.zeros((), term._data.dtype), term)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    lg = np.where(part, np.log(np.where(part, g * sign, 1)), -np.inf)
                    r = np.flip(np.logaddexp.accumulate(np.flip(lg - y, ax), axis=ax), ax)
                    term = np.exp(a + r)
                if none.any():
                    term = np.where(none, 0, term)
            out = out + term * sign
        if isinstance(out, int):
            return self.xp.zeros_like(gy)
        return out


def _scan(op, input, dim, dtype, name):
    """``op`` (CumSum or CumProd) along ``dim``; integers and bools give int64, as PyTorch."""
    from .elementwise import cast
    from .movement import reshape

    a = as_tensor(input)
    if dtype is not None:
        a = cast(a, dtype)
    elif a._data.dtype.kind in "iub":
        a = cast(a, np.int64)
    if a._data.ndim == 0:
        _dim(dim, 0, name)
        return reshape(op.apply(reshape(a, (1,)), axis=0), ())
    return op.apply(a, axis=_dim(dim, a._data.ndim, name))


def cumsum(input, dim, *, dtype=None, out=None):
    """Cumulative sum along ``dim``; integers and bools give int64, as PyTorch."""
    if out is not None:
        return _scan_out(CumSum, input, dim, dtype, out, "cumsum")
    return _scan(CumSum, input, dim, dtype, "cumsum")


def cumprod(input, dim, *, dtype=None, out=None):
    """Cumulative product along ``dim``; integers and bools give int64."""
    if out is not None:
        return _scan_out(CumProd, input, dim, dtype, out, "cumprod")
    return _scan(CumProd, input, dim, dtype, "cumprod")


def _scan_out(op, input, dim, dtype, out, name):
    """``out=``: without ``dtype`` the scan runs in out's dtype (the input cast first), as PyTorch."""
    if dtype is None:
        if out._data.dtype == np.bool_:
            raise NotImplementedError(f'"{name}_out_cpu" not implemented for \'Bool\'')
        dtype = out._data.dtype
    return write_out(_scan(op, input, dim, dtype, name), out, name, exact=True)


def logcumsumexp(input, dim, *, out=None):
    """log(cumsum(exp(x))) along ``dim``, without overflow."""
    from .movement import reshape

    a = as_tensor(input)
    if a._data.dtype.kind not in "fc":
        from .elementwise import cast
        from .. import backend

        a = cast(a, backend.get_default_dtype())
    if a._data.ndim == 0:
        _dim(dim, 0, "logcumsumexp")
        y = reshape(LogCumSumExp.apply(reshape(a, (1,)), axis=0), ())
    else:
        y = LogCumSumExp.apply(a, axis=_dim(dim, a._data.ndim, "logcumsumexp"))
    return y if out is None else write_out(y, out, "logcumsumexp", exact=True)


def _cum_index(x, axis, minimum):
    """The index of the running maximum (minimum) along ``axis``: the last place where it
    was reached, as PyTorch's cummax; a NaN, once seen, stays the running value."""
    xm = np.moveaxis(x, axis, -1)
    n = xm.shape[-1]
    idx = np.zeros(xm.shape, np.int64)
    if n == 0:
        return np.moveaxis(idx, -1, axis)
    best = xm[..., 0].copy()
    cur = np.zeros(xm.shape[:-1], np.int64)
    with np.errstate(invalid="ignore"):
        for i in range(1, n):
            v = xm[..., i]
            take = (v <= best if minimum else v >= best) | np.isnan(v)
            take &= ~np.isnan(best) | np.isnan(v)
            best = np.where(take, v, best)
            cur = np.where(take, i, cur)
            idx[..., i] = cur
    return np.moveaxis(idx, -1, axis)


def _cummaxmin(input, dim, minimum):
    from .. import return_types
    from .movement import getitem, reshape

    name = "cummin" if minimum else "cummax"
    a = as_tensor(input)
    if a._data.ndim == 0:
        _dim(dim, 0, name)
        r = _cummaxmin(reshape(a, (1,)), 0, minimum)
        return getattr(return_types, name)(reshape(r[0], ()), from_op(np.zeros((), np.int64), None))
    d = _dim(dim, a._data.ndim, name)
    idx = _cum_index(a._data, d, minimum)
    grids = list(np.indices(idx.shape, sparse=True))
    grids[d] = idx
    values = getitem(a, tuple(grids))
    return getattr(return_types, name)(values, from_op(idx, None))


def cummax(input, dim):
    """``ember.return_types.cummax(values, indices)``: the running maximum along ``dim`` and
    where it was reached; the gradient goes to those places."""
    return _cummaxmin(input, dim, False)


def cummin(input, dim):
    """``ember.return_types.cummin(values, indices)``: the running minimum along ``dim``."""
    return _cummaxmin(input, dim, True)
