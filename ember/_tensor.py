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
from ._tensor_base import TensorBase, check_requires_grad, from_op, to_array as _to_array
from .autograd import engine as _engine
from .autograd.function import _GradMode, bump, no_grad, share_version
from .ops import activation as _act, elementwise as _ew
# ----- dtypes and devices -----
from . import _device, _dtype
# ----- tensor surface -----
from .ops import joining as _join, movement as _mv
from .ops import cumulative as _cu, logic as _lg, pointwise as _pw, reduce as _rd
from .ops import indexing as _ix, linalg as _la, linalg_diag as _ld
from .ops import reorder as _ro, setops as _so, sorting as _st
# ----- linalg-decomp -----
from .ops import linalg_decomp as _lde
# ----- end linalg-decomp -----
# ----- linalg-solve -----
from .ops import linalg_matfn as _lmf, linalg_solve as _lso
# ----- end linalg-solve -----
# ----- surface-extras -----
from . import _settings
from ._tensor_str import tensor_repr
from .ops import extras as _xt, extras_scatter as _xs
# ----- end surface-extras -----

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
    shape = property(lambda self: _mv.size_of(self._data.shape))
    ndim = property(lambda self: self._data.ndim)
    dtype = property(lambda self: _dtype.wrap(self._data.dtype), doc="The element type, an ``ember.dtype``.")
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

    def numpy(self, *, force=False):
        """The underlying ndarray (shared, not copied). As PyTorch, refused for a tensor that
        requires grad unless ``force=True`` (use ``detach().numpy()``)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        d = self._data
        if not isinstance(d, np.ndarray):
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
            return backend.to_device(d, "cpu")
        return d

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
        self._rg = False
        return self

    def clone(self):
        """A copy of the data that stays in the graph (the gradient passes through)."""
        return ops.clone(self)

    def requires_grad_(self, requires_grad=True):
        check_requires_grad(self._data.dtype, requires_grad)
        if not requires_grad and self._fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._rg = bool(requires_grad)
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
        """``x.to(dtype)``, ``x.to('cpu')``, ``x.to(device, dtype)``, ``x.to(other)`` (its device
        and dtype), with ``non_blocking``, ``copy``, ``memory_format`` accepted. Returns self
        when nothing changes (as PyTorch), else a copy that stays in the graph."""
        dev, dt, _, copy = _device.parse_to(args, kwargs)
        t = self
        if dt is not None and dt != t._data.dtype:
            t = _convert(t, dt)
        if dev is not None and not _device.same_place(t._data, dev):
            if backend._check_device(dev) == "cuda":
                backend.cupy_or_error()
            t = _device.ToDevice.apply(t, device=dev)
        if copy and t is self:
            t = ops.clone(self)
        return t

    @property
    def device(self):
        """Where the data lives, ``device(type='cpu')`` for NumPy data, 'cuda:N' for CuPy's."""
        return _device.of_array(self._data)

    @property
    def is_cuda(self):
        return _device.of_array(self._data).type == "cuda"

    @property
    def is_cpu(self):
        return _device.of_array(self._data).type == "cpu"

    # Devices, layouts and kinds ember never has: False, as PyTorch says for a dense CPU tensor
    # (scripts test them: ``if input.is_cuda or input.is_xpu``).
    is_xpu = is_mps = is_meta = is_ipu = is_xla = is_maia = is_mtia = is_vulkan = is_mkldnn = property(
        lambda self: False)
    is_sparse = is_sparse_csr = is_quantized = is_nested = property(lambda self: False)

    def is_same_size(self, other):
        """Whether ``other`` has this tensor's shape."""
        return tuple(self.shape) == tuple(other.shape)

    def is_set_to(self, tensor):
        """Whether both tensors view the same memory with the same shape and strides."""
        a, b = self._data, tensor._data

        def address(x):  # NumPy's, or CuPy's
            return x.__array_interface__["data"][0] if isinstance(x, np.ndarray) else x.data.ptr

        return (type(a) is type(b) and a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
                and address(a) == address(b))

    def is_shared(self):
        """Shared-memory tensors (``share_memory_``) are a multiprocessing detail: False."""
        return False

    def is_distributed(self):
        return False

    def cpu(self, memory_format=None):
        """This tensor on the CPU: self when it is there already (so it stays in the graph)."""
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """This tensor on a GPU (CuPy); a RuntimeError naming what is missing otherwise."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = _device.device("cuda", device)
        return self.to(device)

    def pin_memory(self, device=None):
        """Pinned memory is a GPU transfer detail: on NumPy arrays this is the tensor itself."""
        return self

    def is_pinned(self, device=None):
        return False

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """``x.type()``: the type name ('ember.FloatTensor'); ``x.type(ember.float64)`` or
        ``x.type('ember.DoubleTensor')`` (or 'torch.DoubleTensor'): the converted tensor."""
        if dtype is None:
            return _dtype.tensor_type_name(self._data.dtype, cuda=self.is_cuda)
        if isinstance(dtype, str) and dtype.startswith(("ember.", "torch.")):
            dtype, cuda = _dtype.from_tensor_type_name(dtype)
            return self.to("cuda" if cuda else "cpu", dtype)
        return self.to(dtype)

    def type_as(self, other):
        """This tensor in ``other``'s dtype."""
        return self.to(other._data.dtype)

    def is_floating_point(self):
        return _dtype.wrap(self._data.dtype).is_floating_point

    def float(self, memory_format=None):
        return self.to(np.float32)

    def double(self, memory_format=None):
        return self.to(np.float64)

    def half(self, memory_format=None):
        return self.to(np.float16)

    def long(self, memory_format=None):
        return self.to(np.int64)

    def int(self, memory_format=None):
        return self.to(np.int32)

    def short(self, memory_format=None):
        return self.to(np.int16)

    def char(self, memory_format=None):
        return self.to(np.int8)

    def byte(self, memory_format=None):
        return self.to(np.uint8)

    def bool(self, memory_format=None):
        return self.to(np.bool_)

    def bfloat16(self, memory_format=None):
        bf = _dtype.bfloat16()
        if bf is None:
            raise RuntimeError("bfloat16 needs the ml_dtypes package, which is not installed")
        return self.to(bf)

    def __repr__(self):
        suffixes = []
        if self._data.dtype not in (backend.get_default_dtype(), np.int64, np.bool_):
            suffixes.append(f"dtype={self.dtype}")  # ember.float64, as torch prints torch.float64
        if self._fn is not None:
            suffixes.append(f"grad_fn=<{self._fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        return tensor_repr(self._data, suffixes)

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
        # np.asarray(t) is t.numpy(), as in PyTorch: refused while t requires grad
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
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
    __add__, __sub__, __mul__, __truediv__ = _ew.add_operator, _ew.sub_operator, _ew.mul_operator, _ew.div_operator
    __pow__, __matmul__ = ops.pow, ops.matmul

    def softmax(self, dim=-1, dtype=None):
        return _act.softmax(self, dim, dtype)

    def log_softmax(self, dim=-1, dtype=None):
        return _act.log_softmax(self, dim, dtype)

    def hardshrink(self, lambd=0.5):
        return _act.hardshrink(self, lambd)

    # ----- tensor surface -----
    # Shape and memory queries as PyTorch's Tensor answers them, and its view/copy ops.
    def size(self, dim=None):
        """The shape as an ``ember.Size``; ``size(d)`` the length of dim ``d``."""
        if dim is None:
            return _mv.size_of(self._data.shape)
        if self._data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self._data.shape[_mv.wrap_dim(dim, self._data.ndim)]

    nelement, ndimension = numel, dim
    nbytes = property(lambda self: self._data.nbytes)
    itemsize = property(lambda self: self._data.itemsize)

    def element_size(self):
        return self._data.itemsize

    def stride(self, dim=None):
        """The step between neighbours along each dim, in elements (a tuple; ``stride(d)`` one)."""
        d = self._data
        st = tuple(s // d.itemsize for s in d.strides)
        if dim is None:
            return st
        if not st:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return st[_mv.wrap_dim(dim, d.ndim)]

    def data_ptr(self):
        """The address of the first element."""
        d = self._data
        return d.__array_interface__["data"][0] if isinstance(d, np.ndarray) else d.data.ptr

    def storage_offset(self):
        """Elements from the start of the memory this tensor views to its first element."""
        d = base = self._data
        if not isinstance(d, np.ndarray):
            return 0
        while isinstance(base.base, np.ndarray):
            base = base.base
        return (d.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // d.itemsize

    def is_contiguous(self, memory_format=None):
        """Whether the elements lie densely in C order (or channels-last, when asked)."""
        try:
            perm = _channels_last_perm(memory_format, self._data.ndim)
        except RuntimeError:  # channels-last asked of a tensor of another rank
            return False
        d = self._data if perm is None else self._data.transpose(perm)
        return bool(d.flags.c_contiguous)

    def contiguous(self, memory_format=None):
        """Self when already dense in that layout, else a copy that is (in the graph)."""
        if self.is_contiguous(memory_format):
            return self
        perm = _channels_last_perm(memory_format, self._data.ndim)
        if perm is None:
            return ops.clone(self)
        inverse = tuple(int(i) for i in np.argsort(perm))
        return ops.permute(ops.clone(ops.permute(self, *perm)), *inverse)

    def view_as(self, other):
        return ops.view(self, other.shape)

    def reshape_as(self, other):
        return ops.reshape(self, other.shape)

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    t, adjoint, movedim, moveaxis, swapdims = _mv.t, _mv.adjoint, _mv.movedim, _mv.moveaxis, ops.swapaxes
    mT, mH, H = property(_mv.matrix_transpose), property(_mv.adjoint), property(_mv.conj_transpose)
    unflatten, narrow, unbind, tensor_split = _mv.unflatten, _mv.narrow, _join.unbind, _join.tensor_split
    repeat, tile, hsplit, vsplit, dsplit = _join.repeat, _join.tile, _join.hsplit, _join.vsplit, _join.dsplit

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _join.repeat_interleave(self, repeats, dim, output_size=output_size)

    def __format__(self, format_spec):
        """``f"{loss:.4f}"``: a 0-d tensor formats as its number; others as ``str`` (PyTorch's)."""
        if self._data.ndim == 0:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """Share this tensor's memory through DLPack (``ember.from_dlpack``, ``np.from_dlpack``,
        ``torch.from_dlpack``)."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        kw = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy)) if v is not None}
        return self._data.__dlpack__(stream=stream, **kw)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

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
        self._fn, self._oi, self._rg = r._fn, r._oi, r._rg
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

    # ----- creation and randomness -----
    # The in-place draws fill this tensor (its shape, its dtype) through copy_, which bumps the
    # version and refuses a leaf that requires grad, as PyTorch does. The arrays come from
    # ember/_random.py; new_* make tensors with this tensor's dtype and device unless given.
    def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kw):
        from_ = kw.pop("from", kw.pop("a", from_))
        to = kw.pop("b", to)
        return self.copy_(_random.uniform_array(self._data.shape, self._data.dtype, from_, to, generator))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self.copy_(_random.normal_array(self._data.shape, self._data.dtype, mean, std, generator))

    def bernoulli_(self, p=0.5, *, generator=None):
        return self.copy_(_random.bernoulli_array(self._data.shape, self._data.dtype, p, generator))

    def random_(self, *bounds, generator=None, **kw):
        """``random_()``: the dtype's range; ``random_(to)``: ``[0, to)``; ``random_(from, to)``."""
        if "from" in kw or "to" in kw:
            bounds = (kw.pop("from", 0), kw.pop("to", None))
        low, high = (0, bounds[0]) if len(bounds) == 1 else (bounds + (0, None))[:2]
        return self.copy_(_random.random_array(self._data.shape, self._data.dtype, low, high, generator))

    def exponential_(self, lambd=1.0, *, generator=None):
        return self.copy_(_random.exponential_array(self._data.shape, self._data.dtype, lambd, generator))

    def geometric_(self, p, *, generator=None):
        return self.copy_(_random.geometric_array(self._data.shape, self._data.dtype, p, generator))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        return self.copy_(_random.cauchy_array(self._data.shape, self._data.dtype, median, sigma, generator))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        return self.copy_(_random.log_normal_array(self._data.shape, self._data.dtype, mean, std, generator))

    def _new_kw(self, dtype, device):
        return {"dtype": self._data.dtype if dtype is None else dtype,
                "device": backend.device_of(self._data) if device is None else device}

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False, **kw):
        return _creation.zeros(*size, requires_grad=requires_grad, **kw, **self._new_kw(dtype, device))

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False, **kw):
        return _creation.ones(*size, requires_grad=requires_grad, **kw, **self._new_kw(dtype, device))

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False, **kw):
        return _creation.empty(*size, requires_grad=requires_grad, **kw, **self._new_kw(dtype, device))

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
                 pin_memory=False):
        return _creation.full(size, fill_value, requires_grad=requires_grad, **self._new_kw(dtype, device))

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
        return _creation.tensor(data, requires_grad=requires_grad, **self._new_kw(dtype, device))

    def fill_diagonal_(self, fill_value, wrap=False):
        if self._data.ndim < 2:
            raise RuntimeError("fill_diagonal_: dimensions must larger than 1")
        if self._data.ndim > 2 and len(set(self._data.shape)) != 1:
            raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length")
        mask = np.zeros(self._data.shape, bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self.masked_fill_(mask, fill_value)

    # ----- math and reductions -----
    # elementwise math (ops/pointwise.py), comparison and logic (ops/logic.py), reductions
    # (ops/reduce.py) and cumulative ops (ops/cumulative.py); x.max(dim) returns (values, indices)
    sin, cos, tan, asin, acos, atan, atan2 = _pw.sin, _pw.cos, _pw.tan, _pw.asin, _pw.acos, _pw.atan, _pw.atan2
    arcsin, arccos, arctan, arctan2 = _pw.asin, _pw.acos, _pw.atan, _pw.atan2
    sinh, cosh, asinh, acosh, atanh = _pw.sinh, _pw.cosh, _pw.asinh, _pw.acosh, _pw.atanh
    arcsinh, arccosh, arctanh = _pw.asinh, _pw.acosh, _pw.atanh
    floor, ceil, round, trunc, fix, frac = _pw.floor, _pw.ceil, _pw.round, _pw.trunc, _pw.fix, _pw.frac
    sign, sgn, signbit, square = _pw.sign, _pw.sgn, _pw.signbit, _pw.square
    log1p, log2, log10, expm1, exp2 = _pw.log1p, _pw.log2, _pw.log10, _pw.expm1, _pw.exp2
    rsqrt, reciprocal, remainder, fmod, lerp = _pw.rsqrt, _pw.reciprocal, _pw.remainder, _pw.fmod, _pw.lerp
    addcmul, addcdiv, hypot, logaddexp, logaddexp2 = _pw.addcmul, _pw.addcdiv, _pw.hypot, _pw.logaddexp, _pw.logaddexp2
    nan_to_num, erf, erfc, erfinv, lgamma, digamma = _pw.nan_to_num, _act.erf, _pw.erfc, _pw.erfinv, _pw.lgamma, _pw.digamma
    xlogy, clamp_min, clamp_max, heaviside, copysign = _pw.xlogy, _pw.clamp_min, _pw.clamp_max, _pw.heaviside, _pw.copysign
    float_power, logit, sinc = _pw.float_power, _pw.logit, _pw.sinc

    def polygamma(self, n):
        return Tensor._pw_polygamma(n, self)

    _pw_polygamma = staticmethod(_pw.polygamma)
    sin_, cos_, tan_, asin_, acos_, atan_ = map(_pw.inplace_method, (
        _pw.sin, _pw.cos, _pw.tan, _pw.asin, _pw.acos, _pw.atan))
    arcsin_, arccos_, arctan_ = asin_, acos_, atan_
    atan2_ = arctan2_ = _pw.inplace_method(_pw.atan2)
    sinh_, cosh_, asinh_, acosh_, atanh_ = map(_pw.inplace_method, (
        _pw.sinh, _pw.cosh, _pw.asinh, _pw.acosh, _pw.atanh))
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_
    floor_, ceil_, round_, trunc_, fix_, frac_, sign_, sgn_, square_ = map(_pw.inplace_method, (
        _pw.floor, _pw.ceil, _pw.round, _pw.trunc, _pw.fix, _pw.frac, _pw.sign, _pw.sgn, _pw.square))
    log1p_, log2_, log10_, expm1_, exp2_, rsqrt_, reciprocal_ = map(_pw.inplace_method, (
        _pw.log1p, _pw.log2, _pw.log10, _pw.expm1, _pw.exp2, _pw.rsqrt, _pw.reciprocal))
    remainder_, fmod_, lerp_, addcmul_, addcdiv_, hypot_ = map(_pw.inplace_method, (
        _pw.remainder, _pw.fmod, _pw.lerp, _pw.addcmul, _pw.addcdiv, _pw.hypot))
    nan_to_num_, erf_, erfc_, erfinv_, lgamma_, digamma_ = map(_pw.inplace_method, (
        _pw.nan_to_num, _act.erf, _pw.erfc, _pw.erfinv, _pw.lgamma, _pw.digamma))
    xlogy_, clamp_min_, clamp_max_, heaviside_, copysign_ = map(_pw.inplace_method, (
        _pw.xlogy, _pw.clamp_min, _pw.clamp_max, _pw.heaviside, _pw.copysign))
    float_power_, logit_, sinc_ = map(_pw.inplace_method, (_pw.float_power, _pw.logit, _pw.sinc))

    def polygamma_(self, n):
        return self._inplace(lambda t: Tensor._pw_polygamma(n, t))

    eq, ne, lt, le, gt, ge = _lg.eq, _lg.ne, _lg.lt, _lg.le, _lg.gt, _lg.ge
    greater, greater_equal, less, less_equal, not_equal = _lg.gt, _lg.ge, _lg.lt, _lg.le, _lg.ne
    equal, allclose, isclose = _lg.equal, _lg.allclose, _lg.isclose
    isnan, isinf, isposinf, isneginf, isfinite, isreal = _lg.isnan, _lg.isinf, _lg.isposinf, _lg.isneginf, _lg.isfinite, _lg.isreal
    logical_and, logical_or, logical_xor, logical_not = _lg.logical_and, _lg.logical_or, _lg.logical_xor, _lg.logical_not
    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = _lg.bitwise_and, _lg.bitwise_or, _lg.bitwise_xor, _lg.bitwise_not
    fmax, fmin = _lg.fmax, _lg.fmin
    __and__, __or__, __xor__, __invert__ = _lg.bitwise_and, _lg.bitwise_or, _lg.bitwise_xor, _lg.bitwise_not
    __mod__ = _pw.remainder

    def __rand__(self, o):
        return Tensor._lg_and(o, self)

    def __ror__(self, o):
        return Tensor._lg_or(o, self)

    def __rxor__(self, o):
        return Tensor._lg_xor(o, self)

    def __rmod__(self, o):
        return Tensor._pw_remainder(o, self)

    _lg_and, _lg_or, _lg_xor = staticmethod(_lg.bitwise_and), staticmethod(_lg.bitwise_or), staticmethod(_lg.bitwise_xor)
    _pw_remainder = staticmethod(_pw.remainder)

    def where(self, condition, other):
        """``x.where(cond, y)``: x where cond, else y."""
        return Tensor._lg_where(condition, self, other)

    _lg_where = staticmethod(_lg.where)
    amax, amin, aminmax, prod, norm = _rd.amax, _rd.amin, _rd.aminmax, _rd.prod, _rd.norm
    nansum, nanmean, count_nonzero, any, all = _rd.nansum, _rd.nanmean, _rd.count_nonzero, _rd.any, _rd.all
    cumsum, cumprod, logcumsumexp, cummax, cummin = _cu.cumsum, _cu.cumprod, _cu.logcumsumexp, _cu.cummax, _cu.cummin
    cumsum_ = _pw.inplace_method(_cu.cumsum)
    cumprod_ = _pw.inplace_method(_cu.cumprod)
    # ----- end math and reductions -----
    # ----- linalg basics -----
    # products, triangles and diagonals (ops/linalg.py, ops/linalg_diag.py)
    mm, bmm, mv, dot, vdot, inner, outer, ger = _la.mm, _la.bmm, _la.mv, _la.dot, _la.vdot, _la.inner, _la.outer, _la.ger
    addmm, addmv, addbmm, baddbmm, addr = _la.addmm, _la.addmv, _la.addbmm, _la.baddbmm, _la.addr
    addmm_, addmv_, addbmm_, baddbmm_, addr_ = map(_pw.inplace_method, (
        _la.addmm, _la.addmv, _la.addbmm, _la.baddbmm, _la.addr))
    kron, cross = _la.kron, _la.cross
    tril, triu, diag, diag_embed, diagonal, diagflat, trace = (
        _ld.tril, _ld.triu, _ld.diag, _ld.diag_embed, _ld.diagonal, _ld.diagflat, _ld.trace)
    tril_, triu_ = _pw.inplace_method(_ld.tril), _pw.inplace_method(_ld.triu)
    # ----- end linalg basics -----
    # ----- sorting -----
    # sorting and selection (ops/sorting.py), reordering (ops/reorder.py), unique and counts (ops/setops.py)
    sort, argsort, msort, topk, kthvalue = _st.sort, _st.argsort, _st.msort, _st.topk, _st.kthvalue
    median, nanmedian, mode, quantile, nanquantile = _st.median, _st.nanmedian, _st.mode, _st.quantile, _st.nanquantile
    fliplr, flipud, roll, rot90, diff = _ro.fliplr, _ro.flipud, _ro.roll, _ro.rot90, _ro.diff
    unique, unique_consecutive, bincount, histc, histogram = (
        _so.unique, _so.unique_consecutive, _so.bincount, _so.histc, _so.histogram)

    def flip(self, *dims, **kw):
        """``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=...)``: reversed along those dims (a copy)."""
        if "dims" in kw:
            dims = (kw.pop("dims"),)
        if kw:
            raise TypeError(f"flip() got an unexpected keyword argument {next(iter(kw))!r}")
        return Tensor._ro_flip(self, dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims)

    _ro_flip = staticmethod(_ro.flip)
    # ----- end sorting -----
    # ----- linalg-decomp -----
    svd, qr = _lde.svd_old, _lde.qr_old  # PyTorch's older APIs: svd(U, S, V), qr(some=True)
    # ----- end linalg-decomp -----
    # ----- linalg-solve -----
    inverse, det, logdet, slogdet = _lso.inverse, _lso.det, _lso.logdet, _lso.slogdet_top
    cholesky_solve, cholesky_inverse = _lmf.cholesky_solve, _lmf.cholesky_inverse
    matrix_power, matrix_exp, pinverse = _lmf.matrix_power, _lmf.matrix_exp, _lmf.pinverse
    # ----- end linalg-solve -----
    # ----- surface-extras -----
    # aliases, small math and statistics (ops/extras.py), the view scatters, unfold and
    # sum_to_size (ops/extras_scatter.py), in-place comparisons/logic, in-place view ops
    absolute, multiply, subtract, divide, true_divide, floor_divide = (
        _xt.absolute, _xt.multiply, _xt.subtract, _xt.divide, _xt.true_divide, _xt.floor_divide)
    negative, positive, ravel = _xt.negative, _xt.positive, _xt.ravel
    absolute_, multiply_, subtract_, divide_, true_divide_, floor_divide_, negative_ = map(_pw.inplace_method, (
        _xt.absolute, _xt.multiply, _xt.subtract, _xt.divide, _xt.true_divide, _xt.floor_divide, _xt.negative))
    deg2rad, rad2deg, gcd, lcm, ldexp, frexp, nextafter = (
        _xt.deg2rad, _xt.rad2deg, _xt.gcd, _xt.lcm, _xt.ldexp, _xt.frexp, _xt.nextafter)
    deg2rad_, rad2deg_, gcd_, lcm_, ldexp_, nextafter_, renorm_ = map(_pw.inplace_method, (
        _xt.deg2rad, _xt.rad2deg, _xt.gcd, _xt.lcm, _xt.ldexp, _xt.nextafter, _xt.renorm))
    cov, corrcoef, dist, renorm = _xt.cov, _xt.corrcoef, _xt.dist, _xt.renorm
    conj, resolve_conj, resolve_neg, is_conj, is_neg, is_nonzero = (
        _xt.conj, _xt.resolve_conj, _xt.resolve_neg, _xt.is_conj, _xt.is_neg, _xt.is_nonzero)
    diagonal_scatter, select_scatter, slice_scatter = _xs.diagonal_scatter, _xs.select_scatter, _xs.slice_scatter
    unfold, sum_to_size = _xs.unfold, _xs.sum_to_size
    eq_, ne_, lt_, le_, gt_, ge_ = map(_pw.inplace_method, (_lg.eq, _lg.ne, _lg.lt, _lg.le, _lg.gt, _lg.ge))
    greater_, greater_equal_, less_, less_equal_, not_equal_ = gt_, ge_, lt_, le_, ne_
    logical_and_, logical_or_, logical_xor_, logical_not_ = map(_pw.inplace_method, (
        _lg.logical_and, _lg.logical_or, _lg.logical_xor, _lg.logical_not))
    bitwise_and_, bitwise_or_, bitwise_xor_, bitwise_not_ = map(_pw.inplace_method, (
        _lg.bitwise_and, _lg.bitwise_or, _lg.bitwise_xor, _lg.bitwise_not))

    def _inplace_view(self, view):
        """A view op applied to this tensor's own shape and strides (squeeze_, t_, ...): the
        version moves, and in the graph this tensor becomes the view op's output."""
        if _GradMode.enabled and self.requires_grad:
            if self._fn is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            old = from_op(self._data, self._fn)
            old._oi = self._oi
            r = view(old)
            self._data = r._data
            bump(self)
            self._vc.history(self).append((self._vc.clock, self._fn, self._oi, self.requires_grad))
            self._fn, self._oi, self._rg = r._fn, r._oi, r._rg
            return self
        self._data = view(from_op(self._data, None))._data
        bump(self)
        return self

    def squeeze_(self, dim=None):
        return self._inplace_view(lambda t: ops.squeeze(t) if dim is None else ops.squeeze(t, dim=dim))

    def unsqueeze_(self, dim):
        return self._inplace_view(lambda t: ops.unsqueeze(t, dim))

    def t_(self):
        return self._inplace_view(_mv.t)

    def transpose_(self, dim0, dim1):
        return self._inplace_view(lambda t: ops.transpose(t, dim0, dim1))

    swapaxes_ = swapdims_ = transpose_

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _random.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        """0/1 draws, each 1 with probability given by this tensor (or by ``p``)."""
        return _random.bernoulli(self, p, generator=generator)

    def get_device(self):
        """-1 for a CPU tensor, else the GPU's index."""
        d = self.device
        return -1 if d.type == "cpu" else (d.index or 0)

    def is_complex(self):
        return self._data.dtype.kind == "c"

    def is_signed(self):
        return self._data.dtype.kind in "ifc" or _dtype.differentiable(self._data.dtype)

    def is_inference(self):
        return False
    # ----- end surface-extras -----

    def __setitem__(self, index, value):
        idx = ops.movement.normalize_index(index, self._data.shape)  # ----- out-audit ----- PyTorch's IndexErrors
        if _GradMode.enabled and (self.requires_grad or isinstance(value, Tensor) and value.requires_grad):
            return self._inplace_graph(lambda t: ops.movement.setitem(t, idx, value))
        self._data[idx] = backend.to_device(_raw(value), "cpu") if isinstance(value, Tensor) else value
        bump(self)

    # ----- indexing -----
    # gather/scatter, index_*, masked_*, take/put, nonzero (ops/indexing.py); masked_fill_ takes
    # a bool mask only and casts the value to this tensor's dtype, as PyTorch's.
    gather, scatter, scatter_add, scatter_reduce, index_select = (
        _ix.gather, _ix.scatter, _ix.scatter_add, _ix.scatter_reduce, _ix.index_select)
    index_add, index_copy, index_fill, index_put, index_reduce = (
        _ix.index_add, _ix.index_copy, _ix.index_fill, _ix.index_put, _ix.index_reduce)
    masked_fill, masked_select, masked_scatter, take, take_along_dim, put, select = (
        _ix.masked_fill, _ix.masked_select, _ix.masked_scatter, _ix.take, _ix.take_along_dim, _ix.put, _ix.select)
    scatter_, scatter_add_, scatter_reduce_, index_add_, index_copy_, index_fill_ = map(_ix.inplace, (
        _ix.scatter, _ix.scatter_add, _ix.scatter_reduce, _ix.index_add, _ix.index_copy, _ix.index_fill))
    index_put_, index_reduce_, masked_fill_, masked_scatter_, put_ = map(_ix.inplace, (
        _ix.index_put, _ix.index_reduce, _ix.masked_fill, _ix.masked_scatter, _ix.put))

    def nonzero(self, *, as_tuple=False):
        return Tensor._ix_nonzero(self, as_tuple=as_tuple)

    _ix_nonzero = staticmethod(_ix.nonzero)
    argwhere = _ix.argwhere
    # ----- end indexing -----


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
        w._fn, w._oi, w._rg = w_new._fn, w_new._oi, w_new._rg
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
    h._rg = t._rg
    return h


# ----- dtypes and devices -----
def _convert(t, dt):
    """``t`` in dtype ``dt``: in the graph when both are floating (PyTorch's differentiable
    casts), a constant otherwise (an integer or bool result has no gradient)."""
    if _dtype.differentiable(dt) and _dtype.differentiable(t._data.dtype):
        return ops.cast(t, dt)
    return from_op(t._data.astype(dt), None)


def _raw(o):
    return o._data if isinstance(o, Tensor) else o


# ----- tensor surface -----
def _channels_last_perm(memory_format, ndim):
    """The dim order that is C order for ``memory_format`` (None: the tensor's own order)."""
    name = str(memory_format or "")
    if "channels_last" not in name:
        return None
    want = 5 if "3d" in name else 4
    if ndim != want:
        raise RuntimeError(f"required rank {want} tensor to use {name} format")
    return (0,) + tuple(range(2, ndim)) + (1,)


# ----- creation and randomness -----
# The creation functions live in ember/_creation.py and ember/_random.py; these names stay
# importable from here for older code.
from ._creation import (  # noqa: E402,F401
    arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace, ones,
    ones_like, scalar_tensor, tensor, zeros, zeros_like,
)
from ._random import (  # noqa: E402,F401
    bernoulli, multinomial, normal, poisson, rand, rand_like, randint, randint_like, randn, randn_like, randperm,
)
from . import _creation, _random  # noqa: E402


_tensor_base.Tensor = Tensor  # what the ops and the engine make: this class
