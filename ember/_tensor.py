"""``Tensor``: an ndarray with a gradient, a version, and a link to the op that made it.

The module is ``ember._tensor``, as PyTorch's is ``torch._tensor``: ``ember.tensor`` is the
function that makes a tensor, as ``torch.tensor`` is.

The math lives in ``ember.ops``; this file holds the class, its methods (each the op of the
same name), the in-place ops, ``tensor()`` and the creation helpers. The fields are
``TensorBase``'s (``ember/_tensor_base.py``): the ops make tensors through it, so they never
import this module, and this module imports them.
"""
import numbers

import numpy as np

from . import _tensor_base, backend, ops
from ._tensor_base import TensorBase, from_op, to_array as _to_array
from .autograd import engine as _engine
from .autograd.function import _GradMode, bump, no_grad, share_version
from .ops import activation as _act

_ARITH = {np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div}


class Tensor(TensorBase):
    """An n-dimensional array that can record the ops applied to it and backpropagate.

    Attributes (PyTorch's):
        grad: a Tensor of this tensor's shape, or None; filled by ``backward()`` on leaves.
        data: this tensor's values as a Tensor that shares its memory and is not tracked.
        requires_grad: whether ops on this tensor are recorded for backward.
        grad_fn: the op that made it (None for leaves); ``is_leaf``; ``_version``.
    """

    __slots__ = ()  # the fields are TensorBase's
    __hash__ = object.__hash__  # (defining __eq__ would otherwise drop it)
    _from_op = staticmethod(from_op)

    # ----- what PyTorch's Tensor has -----
    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: self._data.dtype)
    size = property(lambda self: self._data.size)
    is_leaf = property(lambda self: self._fn is None)
    grad_fn = property(lambda self: self._fn)
    _version = property(lambda self: 0 if self._vc is None else self._vc.n)

    @property
    def data(self):
        """This tensor's values as a new Tensor over the same memory, detached and untracked:
        changes through it do not move this tensor's version (PyTorch's ``.data``)."""
        return from_op(self._data, None)

    @data.setter
    def data(self, value):
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        self._data = arr

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {tuple(value._data.shape)} "
                                   f"for a tensor of shape {tuple(self._data.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value._data.dtype} for a "
                                   f"tensor of dtype {self._data.dtype}")
        self._grad = value

    @property
    def T(self):
        return ops.transpose(self)

    @property
    def retains_grad(self):
        f = self._fn
        return f is not None and bool(f._retained) and (self._oi or 0) in f._retained

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self._data.shape}")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def detach(self):
        """A tensor sharing this data (and this version counter), cut from the graph."""
        t = from_op(self._data, None)
        share_version(t, self, track=False)
        return t

    def detach_(self):
        if self._vc is not None and self._vc.shared and self._fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._fn = None
        self.requires_grad = False
        return self

    def clone(self):
        """A copy of the data that stays in the graph (the gradient passes through)."""
        return ops.clone(self)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {self._data.dtype}")
        if not requires_grad and self._fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        f = self._fn
        if f is not None:
            import weakref

            if f._retained is None:
                f._retained = {}
            f._special = True
            f._retained[self._oi or 0] = weakref.ref(self)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a Tensor it returns
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        f = self._fn
        if f is None:
            hooks = _engine.hooks_of(self)
        else:
            if f._hooks is None:
                f._hooks = {}
            f._special = True
            hooks = f._hooks.setdefault(self._oi or 0, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        Args:
            gradient: d(out)/d(self), needed unless this tensor has one element.
            retain_graph: keep the graph so that backward can run through it again
                (default: ``create_graph``).
            create_graph: record the backward pass, so that the gradients can be
                differentiated again.
            inputs: accumulate only into these tensors.
        """
        _engine.backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph, inputs)

    def astype(self, dtype, copy=True):
        return ops.cast(self, dtype)

    def to(self, *args, **kwargs):
        """``x.to(dtype)``, ``x.to('cuda')``, ``x.to('cpu')``, ``x.to(other)``: self when nothing
        changes (PyTorch returns the same tensor), else a copy that stays in the graph."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a._data.dtype, a.device
            elif isinstance(a, str) or type(a).__name__ == "device":
                device = str(a)
            elif a is not None:
                dtype = a
        t = self
        if dtype is not None:
            t = ops.cast(t, dtype)
        if device is not None and backend._check_device(device) != self.device.split(":")[0]:
            t = _device_copy(t, device)
        return t

    @property
    def device(self):
        """'cpu' for NumPy data, 'cuda:N' for CuPy data."""
        return backend.device_of(self._data)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return ops.cast(self, np.float32)

    def double(self):
        return ops.cast(self, np.float64)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self._data.dtype != backend.get_default_dtype() and self._data.dtype != np.int64:
            extra += f", dtype={self._data.dtype}"
        if self._fn is not None:
            extra += f", grad_fn=<{self._fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return self._data.__index__()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    # ----- the ops as methods -----
    # Each op function takes the tensor first, so it serves as the method unchanged: x.exp() is
    # ops.exp(x), and a + b is ops.add(a, b), with no Python call in between.
    exp, log, sqrt, abs, tanh = ops.exp, ops.log, ops.sqrt, ops.abs, ops.tanh
    sigmoid, relu, clip, clamp = ops.sigmoid, ops.relu, ops.clip, ops.clamp
    maximum, minimum, matmul = ops.maximum, ops.minimum, ops.matmul
    sum, mean, max, min, var, std, logsumexp = ops.sum, ops.mean, ops.max, ops.min, ops.var, ops.std, ops.logsumexp
    argmax, argmin = ops.argmax, ops.argmin
    reshape, view, flatten, squeeze, unsqueeze = ops.reshape, ops.view, ops.flatten, ops.squeeze, ops.unsqueeze
    transpose, permute, swapaxes = ops.transpose, ops.permute, ops.swapaxes
    broadcast_to, expand, split, chunk = ops.broadcast_to, ops.expand, ops.split, ops.chunk
    add, sub, mul, div, pow, neg = ops.add, ops.sub, ops.mul, ops.div, ops.pow, ops.neg
    __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__ = ops.add, ops.sub, ops.mul, ops.div, ops.pow, ops.matmul

    def softmax(self, dim=-1, dtype=None):
        return _act.softmax(self, dim, dtype)

    def log_softmax(self, dim=-1, dtype=None):
        return _act.log_softmax(self, dim, dtype)

    # ----- reflected operators -----
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
        return from_op(self._data < _raw(o), None)

    def __le__(self, o):
        return from_op(self._data <= _raw(o), None)

    def __gt__(self, o):
        return from_op(self._data > _raw(o), None)

    def __ge__(self, o):
        return from_op(self._data >= _raw(o), None)

    def __eq__(self, o):
        return from_op(self._data == _raw(o), None)

    def __ne__(self, o):
        return from_op(self._data != _raw(o), None)

    # ----- in-place ops -----
    # Each is its out-of-place op, written into this tensor's memory, with the version bumped.
    # Under no_grad (or when nothing requires grad) that is all. When the graph is recorded,
    # the op runs on a handle holding this tensor's old value and history, and this tensor
    # takes the op's place in the graph (``_inplace_graph``), as PyTorch rebases history.
    def _inplace(self, compute, *others):
        if _GradMode.enabled and (self.requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in others)):
            return self._inplace_graph(compute)
        with no_grad():
            r = compute(self)
        _write(self, r._data)
        bump(self)
        return self

    def _inplace_graph(self, compute):
        if self._fn is None and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self._vc is not None and self._vc.shared:
            return _inplace_through_views(self, compute)
        old = _history_handle(self)
        r = compute(old)
        _write(self, r._data)
        bump(self)
        self._vc.history(self).append((self._vc.clock, self._fn, self._oi, self.requires_grad))
        self._fn, self._oi, self.requires_grad = r._fn, r._oi, r.requires_grad
        return self

    def _arith_(self, ufunc, other, alpha=1):
        """add_ / sub_ / mul_ / div_: straight into memory with NumPy's ``out=`` when no graph."""
        if _GradMode.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            op = _ARITH[ufunc]
            return self._inplace_graph(lambda t: op(t, other * alpha if alpha != 1 else other))
        o = _raw(other)
        if alpha != 1:
            o = o * alpha
        dst = self._data
        o = np.asarray(o)
        if o.dtype.kind == "f" and dst.dtype.kind in "iub" or (ufunc is np.true_divide and dst.dtype.kind in "iub"):
            raise RuntimeError(f"result type Float can't be cast to the desired output type {dst.dtype}")
        if np.broadcast_shapes(dst.shape, o.shape) != dst.shape:
            raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                               f"{list(np.broadcast_shapes(dst.shape, o.shape))}")
        ufunc(dst, o, out=dst, casting="unsafe")
        bump(self)
        return self

    def add_(self, other, alpha=1):
        return self._arith_(np.add, other, alpha)

    def sub_(self, other, alpha=1):
        return self._arith_(np.subtract, other, alpha)

    def mul_(self, other):
        return self._arith_(np.multiply, other)

    def div_(self, other):
        return self._arith_(np.true_divide, other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def pow_(self, exponent):
        return self._inplace(lambda t: ops.pow(t, exponent), exponent)

    __ipow__ = pow_

    def neg_(self):
        return self._inplace(ops.neg)

    def abs_(self):
        return self._inplace(ops.abs)

    def exp_(self):
        return self._inplace(ops.exp)

    def log_(self):
        return self._inplace(ops.log)

    def sqrt_(self):
        return self._inplace(ops.sqrt)

    def relu_(self):
        return self._inplace(ops.relu)

    def sigmoid_(self):
        return self._inplace(ops.sigmoid)

    def tanh_(self):
        return self._inplace(ops.tanh)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda t: ops.clamp(t, min, max))

    clip_ = clamp_

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor) and value.requires_grad or self.requires_grad and _GradMode.enabled:
            return self._inplace(lambda t: ops.where(np.zeros(t.shape, bool), t, value), value)
        self._data[...] = _raw(value)
        bump(self)
        return self

    def copy_(self, src, non_blocking=False):
        if _GradMode.enabled and (self.requires_grad or isinstance(src, Tensor) and src.requires_grad):
            return self._inplace_graph(lambda t: ops.where(np.zeros(t.shape, bool), t, ops.cast(src, t.dtype)))
        np.copyto(self._data, backend.to_device(_raw(src), "cpu") if isinstance(src, Tensor) else np.asarray(src),
                  casting="unsafe")
        bump(self)
        return self

    def masked_fill_(self, mask, value):
        m = np.asarray(_raw(mask), bool)
        return self._inplace(lambda t: ops.where(m, value, t), value)

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self.copy_(backend.rng(generator).uniform(a, b, self._data.shape))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self.copy_(backend.rng(generator).normal(mean, std, self._data.shape))

    def fill_diagonal_(self, fill_value, wrap=False):
        if self._data.ndim < 2:
            raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
        if self._data.ndim > 2 and len(set(self._data.shape)) != 1:
            raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
        mask = np.zeros(self._data.shape, bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill_(mask, fill_value)

    def __setitem__(self, index, value):
        idx = ops.movement.normalize_index(index)
        if _GradMode.enabled and (self.requires_grad or isinstance(value, Tensor) and value.requires_grad):
            return self._inplace_graph(lambda t: ops.movement.setitem(t, idx, value))
        self._data[idx] = backend.to_device(_raw(value), "cpu") if isinstance(value, Tensor) else value
        bump(self)


class _HookHandle:
    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _write(t, arr):
    """Write an in-place op's result into ``t``'s memory, with PyTorch's casting rule."""
    dst = t._data
    if arr.shape != dst.shape:
        raise RuntimeError(f"output with shape {list(dst.shape)} doesn't match the broadcast shape {list(arr.shape)}")
    if arr.dtype != dst.dtype and not np.can_cast(arr.dtype, dst.dtype, "same_kind"):
        raise RuntimeError(f"result type {arr.dtype} can't be cast to the desired output type {dst.dtype}")
    if not dst.flags.writeable:
        raise RuntimeError("the tensor's memory is read-only (a broadcast or expanded view): clone() it first")
    np.copyto(dst, arr, casting="unsafe")


def _inplace_through_views(t, compute):
    """An in-place op recorded on a view, or on a tensor that has views (PyTorch's CopySlices):
    the base becomes ``setitem(old base, t's places, compute(old t))`` and every live view of
    it becomes a selection of that new base, so each one's gradient reaches what it shows."""
    v = t._vc
    root = v.root() if v.root is not None else None
    if root is None or not root._data.flags.c_contiguous:
        raise RuntimeError(
            "an in-place operation on a view whose base is gone or not contiguous, while the graph "
            "is recorded: use the out-of-place op, or clone() first."
        )
    if root._fn is None and root.requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place operation.")
    if t is not root and id(t) not in (v.views or {}):
        raise RuntimeError(
            "this tensor shares its memory with another in a way the graph does not follow (an "
            "output of a custom Function that returned its input, or detach()), and is being "
            "modified in place: use the out-of-place op, or clone() first."
        )
    places = _places(root)
    old_root = _history_handle(root)
    flat_old = ops.reshape(old_root, -1)
    mine = places(t)
    r = compute(ops.getitem(flat_old, mine))
    flat_new = ops.movement.setitem(flat_old, mine, r)
    new_root = ops.reshape(flat_new, root._data.shape)
    _write(t, r._data)
    bump(t)
    tick = v.clock
    others = [w() for w in list((v.views or {}).values())]
    for w in [root] + [w for w in others if w is not None and w is not root]:
        w_new = new_root if w is root else ops.getitem(flat_new, places(w))
        v.history(w).append((tick, w._fn, w._oi, w.requires_grad))
        w._fn, w._oi, w.requires_grad = w_new._fn, w_new._oi, w_new.requires_grad
    return t


def _places(root):
    """A function giving, for a view of ``root`` (C-contiguous), the flat indices into
    ``root`` of the view's elements, in the view's shape."""
    a = root._data
    size, item = a.size, a.itemsize
    lin = np.arange(size, dtype=np.int64)
    base = a.__array_interface__["data"][0]

    def places(w):
        d = w._data
        off, rem = divmod(d.__array_interface__["data"][0] - base, item)
        if rem or any(s % item for s in d.strides):
            raise RuntimeError("in-place on a view: its elements do not line up with its base's")
        idx = np.lib.stride_tricks.as_strided(lin[off:] if off >= 0 else lin, shape=d.shape,
                                              strides=tuple(s // item * 8 for s in d.strides))
        idx = np.array(idx)
        if off < 0 or (idx.size and (idx.min() < 0 or idx.max() >= size)):
            raise RuntimeError("in-place on a view: it reaches outside its base")
        return idx

    return places


def _history_handle(t):
    """A tensor holding ``t``'s current value (a copy) and history: what an in-place op on
    ``t`` takes as its input, so the graph keeps the old value."""
    h = from_op(t._data.copy(), t._fn)
    h._oi = t._oi
    h.requires_grad = t.requires_grad
    return h


def _device_copy(t, device):
    out = from_op(backend.to_device(t._data, device), None)
    out.requires_grad = t.requires_grad
    return out


def _raw(o):
    return o._data if isinstance(o, Tensor) else o


def tensor(data, dtype=None, requires_grad=False):
    """Make a tensor. Python lists and floats become float32 (the default dtype), a NumPy
    array keeps its dtype, ``dtype`` overrides both. The data is copied."""
    if isinstance(data, Tensor):
        data = data._data
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


_tensor_base.Tensor = Tensor  # what the ops and the engine make: this class
