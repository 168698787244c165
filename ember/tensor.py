"""``Tensor``: an ndarray with a gradient and a link to the op that made it.

The math lives in ``ember.ops``; this file holds the class, its operators (which call the
ops), ``tensor()`` and the creation helpers.
"""
import numbers

import numpy as np

from . import autograd, backend
from .autograd import backward as _backward


class Tensor:
    """An n-dimensional array that can record the ops applied to it and backpropagate.

    Attributes:
        data: the ndarray.
        grad: ndarray of ``data``'s shape, or None; filled by ``backward()`` on leaves.
        requires_grad: whether ops on this tensor are recorded for backward.
    """

    __slots__ = ("data", "grad", "requires_grad", "_fn", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, got {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._fn = None

    @staticmethod
    def _from_op(data, fn):
        """A Tensor over ``data`` (an op's result), produced by ``fn`` (None: a constant)."""
        t = _new(Tensor)
        t.data = data if type(data) is _ndarray else np.asarray(data)  # NumPy may return a scalar
        t.grad = None
        t.requires_grad = fn is not None
        t._fn = fn
        return t

    # ----- properties -----
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._fn is None)
    grad_fn = property(lambda self: self._fn)

    @property
    def T(self):
        return ops.transpose(self)

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.data.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A tensor sharing this data, cut from the graph."""
        return Tensor._from_op(self.data, None)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"only tensors of floating point dtype can require gradients, got {self.data.dtype}")
        if not requires_grad and self._fn is not None:
            raise RuntimeError("requires_grad_(False) is only valid on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if self._fn is not None:
            import weakref

            self._fn._retained = weakref.ref(self)
        return self

    def zero_(self):
        self.data[...] = 0
        return self

    def backward(self, grad=None, retain_graph=False):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Args:
            grad: d(out)/d(self), needed unless this tensor has one element.
            retain_graph: keep the graph so that backward can run through it again.
        """
        _backward(self, grad, retain_graph)

    def astype(self, dtype):
        return ops.cast(self, dtype)

    def to(self, target):
        """A dtype (``x.to(np.float64)``) or a device (``x.to('cuda')``, ``x.to('cpu')``)."""
        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda"):
            return Tensor._from_op(backend.to_device(self.data, target), None) if self._fn is None else \
                _device_copy(self, target)
        return ops.cast(self, target)

    @property
    def device(self):
        """'cpu' for NumPy data, 'cuda:N' for CuPy data."""
        return backend.device_of(self.data)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return ops.cast(self, np.float32)

    def double(self):
        return ops.cast(self, np.float64)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.data.dtype != backend.get_default_dtype() and self.data.dtype != np.int64:
            extra += f", dtype={self.data.dtype}"
        if self._fn is not None:
            extra += f", grad_fn={type(self._fn).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return self.data.__index__()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    # ----- operators -----
    # a + b, a - b, a * b, a / b, a ** b and a @ b are the op functions themselves
    # (ember.ops.add, ...), bound in ember/ops/__init__.py: one Python call less per op.
    def __radd__(self, o):
        return ops.add(o, self)

    def __rsub__(self, o):
        return ops.sub(o, self)

    def __rmul__(self, o):
        return ops.mul(o, self)

    def __rtruediv__(self, o):
        return ops.div(o, self)

    def __rpow__(self, o):
        return ops.pow(o, self)

    def __rmatmul__(self, o):
        return ops.matmul(o, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons give tensors of bools with no gradient.
    def __lt__(self, o):
        return Tensor._from_op(self.data < _raw(o), None)

    def __le__(self, o):
        return Tensor._from_op(self.data <= _raw(o), None)

    def __gt__(self, o):
        return Tensor._from_op(self.data > _raw(o), None)

    def __ge__(self, o):
        return Tensor._from_op(self.data >= _raw(o), None)

    def __eq__(self, o):
        return Tensor._from_op(self.data == _raw(o), None)

    def __ne__(self, o):
        return Tensor._from_op(self.data != _raw(o), None)

    # In-place arithmetic on the data, allowed only where no graph can be hurt.
    def _inplace(self, o, op):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("in-place operation on a tensor that requires grad; use ember.no_grad()")
        op(self.data, _raw(o), out=self.data, casting="unsafe")
        return self

    def __iadd__(self, o):
        return self._inplace(o, np.add)

    def __isub__(self, o):
        return self._inplace(o, np.subtract)

    def __imul__(self, o):
        return self._inplace(o, np.multiply)

    def __itruediv__(self, o):
        return self._inplace(o, np.true_divide)

    def __setitem__(self, index, value):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("in-place assignment to a tensor that requires grad; use ember.no_grad()")
        self.data[_raw_index(index)] = _raw(value)


def _device_copy(t, device):
    out = Tensor._from_op(backend.to_device(t.data, device), None)
    out.requires_grad = t.requires_grad
    return out


def _raw(o):
    return o.data if isinstance(o, Tensor) else o


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _to_array(data, dtype=None):
    """Python numbers and lists become the default float dtype (ints stay int64, bools bool);
    arrays keep theirs unless ``dtype`` is given."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(backend.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind == "O":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} holding mixed or non-numeric items")
    return arr


def tensor(data, dtype=None, requires_grad=False):
    """Make a tensor. Python lists and floats become float32 (the default dtype), a NumPy
    array keeps its dtype, ``dtype`` overrides both. The data is copied."""
    if isinstance(data, Tensor):
        data = data.data
    arr = _to_array(data, dtype)
    if isinstance(data, np.ndarray) and arr is data:
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _dtype(dtype):
    return backend.get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad=False):
    return Tensor(np.zeros(_shape(shape), _dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return Tensor(np.ones(_shape(shape), _dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    return Tensor(np.full(shape, fill_value, _dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    a = _raw(t)
    return Tensor(np.zeros(a.shape, a.dtype if dtype is None else dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    a = _raw(t)
    return Tensor(np.ones(a.shape, a.dtype if dtype is None else dtype), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Like ``torch.arange``: integer arguments give int64, any float gives the default float."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if ints else backend.get_default_dtype()
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, generator=None):
    """Standard normal samples from ember's generator (or ``generator``)."""
    data = backend.rng(generator).standard_normal(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(data, requires_grad)


def rand(*shape, dtype=None, requires_grad=False, generator=None):
    """Uniform samples on [0, 1) from ember's generator (or ``generator``)."""
    data = backend.rng(generator).random(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(data, requires_grad)


_new, _ndarray = object.__new__, np.ndarray
autograd._Tensor = Tensor
autograd._from_op = Tensor._from_op

from . import ops  # noqa: E402  (ops need Tensor defined first)
