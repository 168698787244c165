"""The primitives of ``indexing.py``: reads and writes at flat positions into a tensor.

``Take`` (read), ``AddAt`` (accumulate into zeros; Take's gradient, and Take is its),
``Put`` (overwrite), ``ScatterReduce`` (sum, prod, mean, amax, amin) and ``ScatterCombine``
(scatter's ``reduce=``, with no derivative, as in PyTorch). Each backward calls the same
primitives on Tensors when it is recorded, so the gradients differentiate again.
``AddInto``, ``SelectRows`` and ``IndexAddRows`` are the fast paths indexing.py takes when
``ember.kernels.enabled()`` (scatter_add, index_select, index_add: whole slices, no flat
positions, no zeros + add pass); dual too, and tested against the reference in
tests/core/test_indexing_speed_paths.py.
"""
import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, index_add_rows
from ..kernels.indexing import add_rows_into


class IndexOutOfRange(IndexError, RuntimeError):
    """An index past a dim's size: an IndexError, and a RuntimeError as PyTorch raises for
    gather/scatter/index_add."""


_TNAME = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
          "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _tn(dt):
    return _TNAME.get(np.dtype(dt).name, np.dtype(dt).name)


# ----- the primitives -----
def _add_at_array(g, flat, shape):
    g = np.broadcast_to(g, flat.shape)
    return index_add_rows(flat.reshape(-1), g.reshape(-1), int(np.prod(shape))).reshape(shape)


def _take(g, flat):
    if isinstance(g, TensorBase):
        return Take.apply(g, flat=flat)
    return g.reshape(-1)[flat]


def _add_at(g, flat, shape):
    if isinstance(g, TensorBase):
        return AddAt.apply(g, flat=flat, shape=tuple(shape))
    return _add_at_array(g, flat, shape)


class Take(Function):
    """``a.reshape(-1)[flat]``; the gradient adds gy back at ``flat`` (``AddAt``)."""

    dual = True

    def forward(self, a, flat):
        self.shape, self.flat = a.shape, flat
        return a.reshape(-1)[flat]

    def backward(self, gy):
        return _add_at(gy, self.flat, self.shape)


class AddAt(Function):
    """zeros(shape) with ``g`` added at the flat positions ``flat`` (repeats add up)."""

    dual = True

    def forward(self, g, flat, shape):
        self.flat = flat
        return _add_at_array(g, flat, shape)

    def backward(self, gy):
        return _take(gy, self.flat)


class Put(Function):
    """``a`` with ``v`` written at the flat positions ``flat``. Gradients: gy zeroed there for
    ``a``; gy read there for ``v``."""

    dual = True

    def forward(self, a, v, flat):
        self.flat = flat
        out = a.copy()
        out.reshape(-1)[flat] = v
        self.shape = a.shape
        return out

    def backward(self, gy):
        ga = None
        if self.needs_grad(0):
            keep = np.ones(int(np.prod(self.shape)), bool)
            keep[self.flat] = False
            ga = self.xp.where(keep.reshape(self.shape), gy, np.zeros((), gy.dtype))
        gv = _take(gy, self.flat) if self.needs_grad(1) else None
        return ga, gv


# ----- the fast paths' primitives (chosen by indexing.py when ember.kernels.enabled()) -----
class AddInto(Function):
    """``a`` with ``v`` added at the flat positions ``flat`` (repeats add up): the reference's
    ``a + AddAt(v)`` in one pass over a copy of ``a``, for scatter_add. Gradients: gy for
    ``a``; gy read at ``flat`` for ``v``."""

    dual = True

    def forward(self, a, v, flat):
        self.flat = flat
        out = a.copy()
        np.add.at(out.reshape(-1), flat.reshape(-1), np.broadcast_to(v, flat.shape).reshape(-1))
        return out

    def backward(self, gy):
        ga = gy if self.needs_grad(0) else None
        gv = _take(gy, self.flat) if self.needs_grad(1) else None
        return ga, gv


def select_rows(g, dim, index):
    """``g``'s slices at the 1-D ``index`` along ``dim`` (``SelectRows`` when recorded)."""
    if isinstance(g, TensorBase):
        return SelectRows.apply(g, dim=dim, index=index)
    return np.take(g, index, axis=dim)


class SelectRows(Function):
    """``np.take(a, index, axis=dim)``: index_select's fast path, whole slices and no flat
    positions. The gradient adds gy's slices back at ``index`` (``index_add_rows``)."""

    dual = True

    def forward(self, a, dim, index):
        self.dim, self.index, self.shape = dim, index, a.shape
        return np.take(a, index, axis=dim)

    def backward(self, gy):
        if isinstance(gy, TensorBase):
            zeros = from_op(np.zeros(self.shape, gy._data.dtype), None)
            return IndexAddRows.apply(zeros, gy, dim=self.dim, index=self.index)
        if self.dim == 0:
            return index_add_rows(self.index, gy, self.shape[0])
        out = np.zeros(self.shape, gy.dtype)
        add_rows_into(np.moveaxis(out, self.dim, 0), self.index, np.moveaxis(gy, self.dim, 0))
        return out


class IndexAddRows(Function):
    """``a`` with ``src``'s slices added at the 1-D ``index`` along ``dim`` (repeats add up),
    on a copy of ``a``: index_add's fast path. Gradients: gy for ``a``; gy's slices at
    ``index`` for ``src``."""

    dual = True

    def forward(self, a, src, dim, index):
        self.dim, self.index = dim, index
        out = a.copy()
        add_rows_into(np.moveaxis(out, dim, 0), index, np.moveaxis(src, dim, 0))
        return out

    def backward(self, gy):
        ga = gy if self.needs_grad(0) else None
        gs = select_rows(gy, self.dim, self.index) if self.needs_grad(1) else None
        return ga, gs


_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _reduce_array(a, src, flat, reduce, include_self):
    out = a.copy().reshape(-1)
    if not include_self:
        if reduce in ("sum", "mean"):
            ident = 0
        elif reduce == "prod":
            ident = 1
        elif a.dtype.kind == "f":
            ident = -np.inf if reduce == "amax" else np.inf
        elif a.dtype.kind == "b":
            ident = reduce == "amin"
        else:
            info = np.iinfo(a.dtype)
            ident = info.min if reduce == "amax" else info.max
        out[flat] = ident
    _UFUNC[reduce].at(out, flat.reshape(-1), src.reshape(-1))
    if reduce == "mean":
        cnt = np.bincount(flat.reshape(-1), minlength=a.size) + int(include_self)
        cnt[cnt == 0] = 1
        out = out / cnt if a.dtype.kind == "f" else out // cnt
        out = out.astype(a.dtype, copy=False)
    return out.reshape(a.shape)


def _reduce(a, src, flat, reduce, include_self):
    if isinstance(a, TensorBase) or isinstance(src, TensorBase):
        return ScatterReduce.apply(as_tensor(a), as_tensor(src), flat=flat, reduce=reduce, include_self=include_self)
    return _reduce_array(a, src, flat, reduce, include_self)


class ScatterReduce(Function):
    """``a`` with ``src`` reduced into the flat positions ``flat`` (sum, prod, mean, amax,
    amin; ``include_self``). The gradients are PyTorch's (ties in amax/amin share evenly)."""

    dual = True

    def forward(self, a, src, flat, reduce, include_self):
        self.flat, self.reduce, self.include_self = flat, reduce, include_self
        out = _reduce_array(a, src, flat, reduce, include_self)
        self.save_for_backward(a, src, out)
        return out

    def backward(self, gy):
        graph, flat, reduce = self._graph, self.flat, self.reduce
        a, src, res = (x if isinstance(x, TensorBase) else from_op(x, None) for x in self.saved_tensors)
        gy = gy if graph else from_op(gy, None)
        A, S, R = a._data, src._data, res._data
        where = _where
        zero = np.zeros((), A.dtype)
        if reduce == "sum":
            ga, gs = gy, _take(gy, flat)
        elif reduce == "mean":
            n = _add_at_array(np.ones(S.shape, A.dtype), flat, A.shape) + (1 if self.include_self else 0)
            n[n == 0] = 1
            ga = gy / n
            gs = _take(ga, flat)
        elif reduce in ("amax", "amin"):
            self_is = A == R
            src_is = S == R.reshape(-1)[flat]
            n = self_is + _add_at_array(src_is.astype(A.dtype), flat, A.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                gd = gy / np.where(n == 0, 1, n).astype(A.dtype)
            ga = where(self_is, gd, zero)
            gs = where(src_is, _take(gd, flat), zero)
        else:  # prod, with PyTorch's care for zeros
            masked_self = where(A == 0, np.ones((), A.dtype), a)
            ga = gy * _reduce(masked_self, src, flat, reduce, self.include_self) / masked_self
            src_zero = S == 0
            nz = _add_at_array(src_zero.astype(A.dtype), flat, A.shape).reshape(-1)[flat]
            single = src_zero & (nz == 1)
            masked_src = where(single, np.ones((), A.dtype), src)
            with_one = _reduce(a, masked_src, flat, reduce, self.include_self)
            gs = where(single, _take(gy * with_one, flat),
                       _take(gy * res, flat) / where(src_zero, np.ones((), A.dtype), src))
        if not self.include_self:
            hit = np.zeros(A.size, bool)
            hit[flat] = True
            ga = where(hit.reshape(A.shape), zero, ga)
        ga = ga if self.needs_grad(0) else None
        gs = gs if self.needs_grad(1) else None
        if not graph:
            ga = None if ga is None else ga._data
            gs = None if gs is None else gs._data
        return ga, gs


def _where(cond, a, b):
    from .elementwise import where

    return where(cond, a, b)


class ScatterCombine(Function):
    """``scatter(..., reduce=)``: PyTorch has no derivative for it, so backward refuses."""

    def forward(self, a, src, flat, reduce):
        return _reduce_array(a, src, flat, reduce, True)

    def backward(self, gy):
        raise RuntimeError("derivative for aten::scatter is not implemented")


# ----- PyTorch's errors for a bad ``x[index]`` (getitem and setitem) -----
def check_index(items, shape):
    """Raise PyTorch's IndexError for the normalised index ``items`` (a tuple) into ``shape``:
    a float index, too many indices, a mask of the wrong shape, an integer outside
    [-size, size) (naming the dimension, the index and the size). Returns when all is well."""
    used = 0
    for i in items:
        if isinstance(i, float) or isinstance(i, np.ndarray) and i.dtype.kind in "fc":
            if isinstance(i, float):
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                                 "are valid indices (got float)")
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if isinstance(i, np.ndarray) and i.dtype == np.bool_:
            used += i.ndim
        elif i is not None and i is not Ellipsis and not isinstance(i, (bool, np.bool_)):
            used += 1
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    d = 0
    for i in items:
        if i is Ellipsis:
            d += len(shape) - used
        elif isinstance(i, np.ndarray) and i.dtype == np.bool_:
            for j, m in enumerate(i.shape):
                if m != shape[d + j]:
                    raise IndexError(f"The shape of the mask {list(i.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {d + j}")
            d += i.ndim
        elif i is None or isinstance(i, (bool, np.bool_)):
            continue
        else:
            n = shape[d]
            if isinstance(i, np.ndarray) and i.size:
                lo, hi = i.min(), i.max()
                if hi >= n or lo < -n:
                    raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for dimension {d} with size {n}")
            elif isinstance(i, (int, np.integer)) and not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            d += 1


def broadcast_shape(*shapes):
    """The shapes broadcast together, or PyTorch's RuntimeError naming the sizes that clash
    (NumPy's is a ValueError)."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        pass
    out = ()
    for s in shapes:
        n = max(len(out), len(s))
        pa, pb = (1,) * (n - len(out)) + tuple(out), (1,) * (n - len(s)) + tuple(s)
        for d in range(n):
            if pa[d] != pb[d] and 1 not in (pa[d], pb[d]):
                raise RuntimeError(f"The size of tensor a ({pa[d]}) must match the size of tensor b ({pb[d]}) at "
                                   f"non-singleton dimension {d}")
        out = tuple(np.broadcast_shapes(pa, pb))
    return out
