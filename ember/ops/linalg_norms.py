"""``ember.linalg`` norms: vector_norm, matrix_norm and norm (which picks one as PyTorch
does). The 2-norm is ``reduce.Norm2``; the other p-norms are ``VectorNormP`` here (gradient 0
where the norm is 0, as PyTorch's); the spectral and nuclear norms go through ``svdvals``."""
import numbers

import numpy as np

from ..autograd import Function
from . import elementwise as _ew
from . import movement as _mv
from . import reduce as _rd
from ._util import as_tensor, array_of, write_out
from .linalg_decomp import _TYPE, svdvals

_INF = float("inf")


class VectorNormP(Function):
    """(sum |a|^p)^(1/p) over ``axes`` for p not in (1, 2, inf, -inf); p = 0 counts the
    non-zeros (gradient 0). The gradient sgn(a) |a|^(p-1) g / y^(p-1), 0 where y is 0."""

    dual = True

    def forward(self, a, p, axes, keepdims):
        self.p, self.axes, self.keepdims = p, axes, keepdims
        with np.errstate(all="ignore"):
            if p == 0:
                y = np.sum(a != 0, axis=axes, keepdims=True).astype(a.dtype)
            else:
                y = np.sum(np.abs(a) ** p, axis=axes, keepdims=True) ** (1.0 / p)
        y = y if keepdims else np.squeeze(y, axis=axes)
        y = np.asarray(y, a.dtype)
        self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        a, y = self.saved_tensors
        xp, p = self.xp, self.p
        if p == 0:
            return xp.zeros_like(a)
        if not self.keepdims:
            y, gy = xp.expand_dims(y, self.axes), xp.expand_dims(gy, self.axes)
        ya, aa = array_of(y), array_of(a)
        sgn = np.sign(aa)
        with np.errstate(all="ignore"):
            if p < 1:
                zero = aa == 0
                mag = xp.where(zero, 0, xp.abs(xp.where(zero, 1, a)) ** (p - 1))
                return mag * sgn * (gy * y ** (1 - p))
            scale = xp.where(ya == 0, 0, gy / xp.where(ya == 0, 1, y) ** (p - 1))
            return xp.abs(a) ** (p - 1) * sgn * scale


def _np_dtype(dtype):
    return None if dtype is None else np.dtype(dtype)


def _cast_in(A, dtype, name):
    """A (floating) cast to ``dtype`` (floating, never narrower), as PyTorch's norms do."""
    a = A._data
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_TYPE.get(a.dtype.name, a.dtype.name)}")
    dt = _np_dtype(dtype)
    if dt is None or dt == a.dtype:
        return A
    if dt.kind not in "fc":
        raise RuntimeError(f"{name}: dtype should be floating point or complex, but got "
                           f"{_TYPE.get(dt.name, dt.name)}")
    if dt.itemsize < a.dtype.itemsize:
        names = {"float32": "Float", "float64": "Double"}
        raise RuntimeError(f"{name}: the dtype of the input ({names.get(a.dtype.name, a.dtype.name)}) should be "
                           f"convertible without narrowing to the specified dtype ({names.get(dt.name, dt.name)})")
    return _ew.cast(A, dt)


def _dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    return tuple(_mv.wrap_dim(d, ndim) for d in dims) if ndim else ()


def _fmt(p):
    return str(int(p)) if isinstance(p, float) and p.is_integer() else ("inf" if p == _INF else str(p))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """The ``ord``-norm of ``x`` over ``dim`` (an int or tuple; None: all elements, as one
    vector): ord any number, inf (max |x|), -inf (min |x|), 0 (the count of non-zeros)."""
    if isinstance(ord, str) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    A = _cast_in(as_tensor(x), dtype, "linalg.vector_norm")
    a = A._data
    axes = _dims(dim, a.ndim)
    p = float(ord)
    if (p < 0 or p == _INF) and (a.size == 0 if dim is None else any(a.shape[d] == 0 for d in axes)):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {_fmt(ord)} norm on an empty tensor because the "
                           "operation does not have an identity")
    kw = dict(dim=axes, keepdim=keepdim)
    if a.ndim == 0:
        axes = ()
    if a.size == 0 and p in (_INF, -_INF):  # an empty result (the reduced dims are not empty)
        p = 1.0
    if p == 2:
        y = _rd.Norm2.apply(A, axes=axes, keepdims=keepdim)
    elif p == 1:
        y = _rd.sum(_ew.abs(A), **kw)
    elif p == _INF:
        y = _rd.amax(_ew.abs(A), axes or None, keepdim)
    elif p == -_INF:
        y = _rd.amin(_ew.abs(A), axes or None, keepdim)
    else:
        y = VectorNormP.apply(A, p=p, axes=axes, keepdims=keepdim)
    return write_out(y, out, "linalg_vector_norm")


def _pair(dim, ndim, name):
    if isinstance(dim, numbers.Integral) or not isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}(): argument 'dim' must be tuple of ints, not {type(dim).__name__}")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dim)}")
    d0, d1 = (_mv.wrap_dim(d, ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def _extreme(y, dim, keepdim, largest, shown=None):
    """amax / amin over ``dim``; over an empty dim the max is 0 and the min an error, as PyTorch's."""
    if y._data.shape[dim] == 0:
        if not largest:
            raise IndexError(f"amin(): Expected reduction dim {dim if shown is None else shown} to have non-zero size.")
        return _rd.sum(y, dim=dim, keepdim=keepdim)
    return (_rd.amax if largest else _rd.amin)(y, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """The matrix norm over the two dims ``dim``: ord 'fro', 'nuc' (sum of singular values),
    2 / -2 (largest / smallest singular value), 1 / -1 (max / min column sum of |A|), inf /
    -inf (max / min row sum)."""
    A = as_tensor(A)
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    A = _cast_in(A, dtype, "linalg.matrix_norm")
    d0, d1 = _pair(dim, A._data.ndim, "linalg_matrix_norm")
    if ord == "fro":
        y = vector_norm(A, 2, (d0, d1), keepdim)
    elif ord == "nuc" or (not isinstance(ord, str) and ord in (2, -2)):
        s = svdvals(_mv.movedim(A, (d0, d1), (-2, -1)))
        y = _rd.sum(s, dim=-1) if ord == "nuc" else _extreme(s, -1, False, ord > 0)
        if keepdim:
            for d in sorted((d0, d1)):
                y = _mv.unsqueeze(y, d)
    elif not isinstance(ord, str) and ord in (1, -1, _INF, -_INF):
        inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)
        y = _rd.sum(_ew.abs(A), dim=inner, keepdim=True)
        y = _extreme(y, outer, True, ord > 0, outer - (outer > inner))  # the dim PyTorch names
        if not keepdim:
            y = _mv.squeeze(y, (d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return write_out(y, out, "linalg_matrix_norm")


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """A vector or matrix norm as PyTorch picks: ``dim`` of two dims, a string ``ord``, or
    (with ``dim`` None and ``ord`` given) a 2-D input give ``matrix_norm``; else
    ``vector_norm`` (``ord`` None: the 2-norm of all elements)."""
    A = as_tensor(A)
    if dim is not None:
        dim = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    elif ord is not None and A._data.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A._data.ndim}D.")
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (dim is None and ord is not None
                                                                        and A._data.ndim == 2):
        y = matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    else:
        y = vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return write_out(y, out, "linalg_norm")

