"""``Module`` and ``Parameter``: the containers of state that layers are built from.

As in PyTorch's ``module.py``: parameters register by attribute assignment, buffers (Tensors)
through ``register_buffer``, submodules by assigning a Module; ``state_dict`` keys are dotted
names. Calling a module runs its hooks around ``forward``:

1. forward pre-hooks (global ones first): ``hook(module, args)`` may return new args, or with
   ``with_kwargs=True`` ``hook(module, args, kwargs)`` may return ``(args, kwargs)``;
2. when full backward hooks are registered, the tensor inputs pass through an identity
   autograd Function (``BackwardHookFunction``) whose backward sees the inputs' gradients;
3. ``forward``;
4. forward hooks: ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
   ``with_kwargs``) may return a new output; ``always_call`` ones also run when forward raised;
5. with backward hooks or backward pre-hooks, the tensor outputs pass through the identity
   Function too: its backward hands ``grad_output`` to the backward pre-hooks (which may
   replace it), and the inputs' identity then hands ``grad_input`` and ``grad_output`` to the
   full backward hooks (which may replace ``grad_input``).

A module without hooks (and no global hooks) goes straight to ``forward``.
"""
import itertools
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..autograd import Function, is_grad_enabled, no_grad
from ..autograd.function import bump, share_version
from .._tensor import Tensor

__all__ = [
    "Module", "Parameter", "RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
    "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
]


class Parameter(Tensor):
    """A tensor that a Module registers as learnable: ``requires_grad`` is True by default.

    ``Parameter(data)`` takes an ndarray (kept, not copied) or a Tensor (its array is shared).
    ``.grad`` is a Tensor or None, as on every Tensor.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, np.float32)
        if isinstance(data, Tensor):
            data = data._data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _as_float_input(x, dtype, layer=None):
    """Models accept ndarrays or Tensors; floating input is cast to the parameters' dtype.

    With ``layer`` (the module whose input this is): what a tensor cannot hold (objects,
    strings) and, for real parameters, complex input (whose imaginary part the layer would
    drop) are refused, the error naming the layer as its repr's first line does."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except TypeError as e:
            if layer is None:
                raise
            raise TypeError(f"{_layer_label(layer)}: {e}") from None
    d = x._data.dtype
    if dtype is not None and d != dtype:
        if d.kind == "f":
            x = x.astype(dtype)
        elif d.kind == "c" and layer is not None and np.dtype(dtype).kind != "c":
            raise RuntimeError(f"{_layer_label(layer)}: expected a real floating-point input, got {d}")
    return x


def _layer_label(layer):
    """``Linear(in_features=4, out_features=2)``: how an error names a layer."""
    named = getattr(layer, "_layer_name", None)
    if named is not None:
        return named()
    return f"{type(layer).__name__}({layer.extra_repr()})"


def _typename(v):
    t = type(v)
    if t.__module__ == "builtins":
        return t.__qualname__
    return f"{t.__module__}.{t.__qualname__}"


def _as_buffer(value, name):
    """A buffer value as PyTorch keeps it: a Tensor (an ndarray is wrapped, not copied) or None."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return Tensor._from_op(np.asarray(value), None)
    raise TypeError(f"cannot assign '{_typename(value)}' object to buffer '{name}' (Tensor or None required)")


# ----- hook handles and global hooks -----


class RemovableHandle:
    """What every ``register_*_hook`` returns: ``remove()`` unregisters the hook (also as a
    context manager, on exit). ``id`` is unique across all hooks."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict = hooks_dict
        self.id = next(RemovableHandle._next_id)
        if extra_dict is None:
            self.extra_dicts = ()
        elif isinstance(extra_dict, list):
            self.extra_dicts = tuple(extra_dict)
        else:
            self.extra_dicts = (extra_dict,)

    def remove(self):
        for d in (self.hooks_dict,) + self.extra_dicts:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_with_kwargs = OrderedDict()
_global_forward_hooks_always_called = OrderedDict()
_global_backward_pre_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()
_global_all = OrderedDict()  # every global hook's id: one check in Module.__call__


def _add_hook(hooks, hook, prepend=False, extra=()):
    handle = RemovableHandle(hooks, extra_dict=list(extra) or None)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _add_global(hooks, hook, extra=()):
    handle = _add_hook(hooks, hook, extra=(_global_all,) + tuple(extra))
    _global_all[handle.id] = True
    return handle


def register_module_forward_pre_hook(hook):
    """A forward pre-hook for every module (run before each module's own)."""
    return _add_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """A forward hook for every module (run before each module's own)."""
    handle = _add_global(_global_forward_hooks, hook,
                         extra=(_global_forward_hooks_with_kwargs, _global_forward_hooks_always_called))
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """A backward pre-hook for every module (run before each module's own)."""
    return _add_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """A full backward hook for every module (run before each module's own)."""
    return _add_global(_global_backward_hooks, hook)


# ----- backward hooks: identity Functions on the inputs and outputs -----


class BackwardHookFunction(Function):
    """The identity on tensors, whose backward hands the gradients to ``callback`` and returns
    what it gives back. A module with backward hooks passes its tensor inputs through one and
    its tensor outputs through another (``_BackwardHook``)."""

    @staticmethod
    def forward(ctx, callback, materialize, *tensors):
        ctx.callback = callback
        ctx.set_materialize_grads(materialize)
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None, None) + tuple(ctx.callback(grads))


def _hook_name(hook):
    return getattr(hook, "__name__", type(hook).__name__)


def _tensor_slots(items):
    """({position: (shape, dtype)} of the Tensors among ``items``, the positions of those that
    require grad): what a backward hook wraps and checks its gradients against."""
    meta = {i: (a._data.shape, a._data.dtype) for i, a in enumerate(items) if isinstance(a, Tensor)}
    return meta, tuple(i for i in meta if items[i].requires_grad)


class _BackwardHook:
    """One call's backward hooks: the inputs' and outputs' positions, the ``grad_output`` the
    outputs' identity saw, and the hooks as they were at the call."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.in_meta = None  # {position: (shape, dtype)} of the tensor inputs; None: no input needs grad
        self.in_pass = ()  # positions that went through the identity (they require grad)
        self.n_outputs = 0
        self.out_meta = {}
        self.out_pass = ()

    @staticmethod
    def _through(callback, materialize, items, positions):
        outs = BackwardHookFunction.apply(callback, materialize, *[items[i] for i in positions])
        new = list(items)
        for i, o in zip(positions, outs):
            share_version(o, items[i], track=False)  # an in-place change of one is a change of the other
            new[i] = o
        return new

    def setup_inputs(self, args):
        self.n_inputs = len(args)
        if not self.hooks or not is_grad_enabled():
            return args
        meta, passing = _tensor_slots(args)
        if not passing:
            return args
        self.in_meta, self.in_pass = meta, passing
        return tuple(self._through(self._on_grad_input, True, args, passing))

    def setup_outputs(self, result):
        is_tuple = isinstance(result, tuple)
        if not is_tuple and not isinstance(result, Tensor):
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of Tensors "
                          f"but received {type(result)}", stacklevel=3)
        outs = result if is_tuple else (result,)
        self.n_outputs = len(outs)
        if not is_grad_enabled():
            return result
        meta, passing = _tensor_slots(outs)
        if not passing:
            return result
        self.out_meta, self.out_pass = meta, passing
        new = self._through(self._on_grad_output, False, outs, passing)
        return tuple(new) if is_tuple else new[0]

    def _checked(self, values, meta, n, what, kind, hook):
        """A hook's replacement gradients as Tensors of the right dtype, their shapes checked."""
        if isinstance(values, (Tensor, np.ndarray)):
            values = (values,)
        values = tuple(values)
        if len(values) != n:
            raise RuntimeError(f"Backward {'pre ' if kind == 'pre' else ''}hook returned an invalid number of "
                               f"{what}, got {len(values)}, but expected {n}")
        out = []
        for i, g in enumerate(values):
            if g is not None and i in meta:
                shape, dtype = meta[i]
                if not isinstance(g, Tensor):
                    g = Tensor._from_op(np.asarray(g, dtype=dtype), None)
                if tuple(g._data.shape) != tuple(shape):
                    who = "backward pre-hook" if kind == "pre" else "full backward hook"
                    raise RuntimeError(
                        f"hook '{_hook_name(hook)}' has changed the size of value: the {who} of "
                        f"{type(self.module).__name__} returned {what}[{i}] of shape {tuple(g._data.shape)}, "
                        f"expected shape {tuple(shape)}"
                    )
                if g._data.dtype != dtype:
                    g = g.astype(dtype)
            out.append(g)
        return tuple(out)

    def _on_grad_output(self, grads):
        go = [None] * self.n_outputs
        for i, g in zip(self.out_pass, grads):
            go[i] = g
        go = tuple(go)
        for hook in self.pre_hooks:
            r = hook(self.module, go)
            if r is not None:
                go = self._checked(r, self.out_meta, len(go), "grad_output", "pre", hook)
        self.grad_outputs = go
        if self.in_meta is None and self.hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients.", stacklevel=2)
            gi = (None,) * self.n_inputs
            for hook in self.hooks:
                r = hook(self.module, gi, go)
                if r is not None and not (isinstance(r, tuple) and all(g is None for g in r)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return [go[i] for i in self.out_pass]

    def _on_grad_input(self, grads):
        go = self.grad_outputs
        if go is None:  # the gradient reached the inputs without passing the outputs
            return grads
        gi = [None] * self.n_inputs
        for i, (shape, dtype) in self.in_meta.items():
            if i not in self.in_pass:  # as PyTorch: a zero gradient for a tensor input that needs none
                gi[i] = Tensor._from_op(np.zeros(shape, dtype), None)
        for i, g in zip(self.in_pass, grads):
            gi[i] = g
        gi = tuple(gi)
        for hook in self.hooks:
            r = hook(self.module, gi, go)
            if r is not None:
                gi = self._checked(r, self.in_meta, len(gi), "grad_input", "full", hook)
        self.grad_outputs = None
        return [gi[i] for i in self.in_pass]


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

_HOOK_DICTS = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
               "_forward_hooks_always_called", "_backward_pre_hooks", "_backward_hooks")
_EMPTY = {}  # the class-level fallback of every hook dict, never written: registration makes the instance's


class Module:
    """Base class of every layer and model. Subclasses define ``forward``.

    Assigning a Parameter, a Module or (through ``register_buffer``) a Tensor registers it, so
    that ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``zero_grad()`` see it.
    """

    training = True
    _forward_pre_hooks = _forward_hooks = _backward_pre_hooks = _backward_hooks = _EMPTY

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        for name in _HOOK_DICTS:
            d[name] = OrderedDict()

    def __setstate__(self, state):
        self.__dict__.update(state)
        d = self.__dict__
        for name in _HOOK_DICTS:
            if name not in d:
                d[name] = OrderedDict()
        d.setdefault("_non_persistent_buffers_set", set())

    def _get_name(self):
        return type(self).__name__

    def _hook_dict(self, name):
        d = self.__dict__.get(name)
        if d is None:
            d = self.__dict__[name] = OrderedDict()
        return d

    # ----- registration -----
    def _uninitialized(self, what, name):
        return AttributeError(f"cannot assign {what} before Module.__init__() call: call super().__init__() in "
                              f"{type(self).__name__}.__init__ before assigning {name!r}")

    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise self._uninitialized("parameter", name)
            for store in (d, d["_buffers"], d["_modules"]):
                store.pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise self._uninitialized("module", name)
            for store in (d, params, d["_buffers"]):
                store.pop(name, None)
            d["_non_persistent_buffers_set"].discard(name)
            d["_modules"][name] = value
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(Module or None expected)")
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, (Tensor, np.ndarray, np.generic)):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' (Tensor or None expected)")
            d["_buffers"][name] = _as_buffer(value, name)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                del store[name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, kind, name, store):
        if store not in self.__dict__:
            raise self._uninitialized(kind, name)
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
        if "." in name:
            raise KeyError(f"{kind} name can't contain \".\"" + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f"{kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under ``name``; PyTorch's checks and errors."""
        self._check_name("parameter", name, "_parameters")
        if param is not None:
            if not isinstance(param, Parameter):
                raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                                "(Parameter or None required)")
            if param._fn is not None:
                raise ValueError(
                    f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created "
                    f"explicitly. To express '{name}' as a function of another Tensor, compute the value in "
                    "the forward() method."
                )
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register state that is not learned (running statistics): a Tensor, or None.

        An ndarray is wrapped in a Tensor without a copy. Persistent buffers are saved in
        ``state_dict``; ``persistent=False`` keeps this one out of it."""
        self._check_name("buffer", name, "_buffers")
        self._buffers[name] = _as_buffer(tensor, name)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``; PyTorch's checks and errors."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name("module", name, "_modules")
        self._modules[name] = module

    def register_module(self, name, module):
        self.add_module(name, module)

    # ----- lookup by dotted name -----
    def get_submodule(self, target):
        """The submodule at dotted path ``target`` ("" is self); AttributeError as PyTorch."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at dotted path ``target`` (its parent must exist; with ``strict``, so
        must the module it replaces)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        if strict and not hasattr(parent, name):
            raise AttributeError(parent._get_name() + " has no attribute `" + name + "`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError("`" + name + "` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        """The Parameter at dotted path ``target``; AttributeError as PyTorch."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        """The buffer at dotted path ``target``; AttributeError as PyTorch."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return mod._buffers[name]

    # ----- traversal -----
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) pairs, self first, depth first; a module reached twice is
        yielded once unless ``remove_duplicate`` is False (``state_dict`` keeps every name)."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if m in memo:
                continue
            if remove_duplicate:
                memo.add(m)
            yield name, m
            for child_name, child in reversed(list(m._modules.items())):
                if child is not None:
                    stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, v in m.__dict__[store].items():
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ----- modes and grads -----
    def train(self, mode=True):
        """Set training mode here and (through their ``train``) in every child; returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (Dropout off, BatchNorm uses running stats); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the parameters' gradients: to None (the default), or to zeros in place."""
        for p in self.parameters():
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if g._fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g.zero_()

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _param_dtype(self):
        for p in self.parameters():
            return p._data.dtype
        return None

    def astype(self, dtype):
        """Cast every floating parameter and buffer to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p._data.dtype.kind == "f":
                    p._data = p._data.astype(dtype)
                    p.grad = None
            for b in m._buffers.values():
                if b is not None and b._data.dtype.kind == "f":
                    b._data = b._data.astype(dtype)
        return self

    def _convert_tensors(self, fn):
        """Replace each parameter's and buffer's array (and a parameter's grad) by ``fn(array)``,
        in place, keeping the Parameter objects (PyTorch's ``_apply``); returns self."""
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p._data = fn(p._data)
                    if p._grad is not None:
                        p._grad = Tensor._from_op(fn(p._grad._data), None)
            for b in m._buffers.values():
                if b is not None:
                    b._data = fn(b._data)
        return self

    def to(self, *args, **kwargs):
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``, with
        ``non_blocking`` and ``memory_format`` accepted: move the parameters and buffers, and
        cast the floating ones; returns self, as in PyTorch."""
        from .. import _device, _dtype, backend

        dev, dt, _, _ = _device.parse_to(args, kwargs)
        if dt is not None and not _dtype.differentiable(dt):
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype={_dtype.wrap(dt)}")
        if dev is not None:
            if backend._check_device(dev) == "cuda":
                backend.cupy_or_error()
            self._convert_tensors(lambda a: backend.to_device(a, dev))
        if dt is not None:
            self._convert_tensors(lambda a: a.astype(dt) if _dtype.differentiable(a.dtype) and a.dtype != dt else a)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        """Move to a GPU (CuPy); a RuntimeError naming what is missing without one."""
        from .. import _device

        return self.to(_device.device("cuda", device) if isinstance(device, int) else device or "cuda")

    def type(self, dst_type):
        """Cast every parameter and buffer (integer ones too, as PyTorch) to ``dst_type``."""
        from .. import _dtype

        if isinstance(dst_type, str) and dst_type.startswith(("ember.", "torch.")):
            dst_type = _dtype.from_tensor_type_name(dst_type)[0]
        dt = _dtype.as_dtype(dst_type)
        return self._convert_tensors(lambda a: a if a.dtype == dt else a.astype(dt))

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def bfloat16(self):
        from .. import _dtype

        bf = _dtype.bfloat16()
        if bf is None:
            raise RuntimeError("bfloat16 needs the ml_dtypes package, which is not installed")
        return self.to(bf)

    # ----- state -----
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to the parameters and persistent buffers, as
        PyTorch returns them: detached Tensors sharing their memory (the Parameter and buffer
        Tensors themselves with ``keep_vars``)."""
        out = OrderedDict() if destination is None else destination
        for mname, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.detach()
            skip = m._non_persistent_buffers_set
            for k, b in m._buffers.items():
                if b is not None and k not in skip:
                    out[pre + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy arrays from ``state_dict`` into this module's parameters and buffers, in place
        (``assign=True`` puts the given values in their place instead).

        With ``strict``, one error lists every missing key, unexpected key and shape
        mismatch. Values may be ndarrays, Tensors or anything with ``.numpy()`` (a torch
        tensor on the CPU). Returns ``(missing_keys, unexpected_keys)``.

        Everything is checked before anything is copied: a bad key or value leaves the module
        as it was.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        hook_errors = []
        pre = [(m, f"{name}." if name else "", h) for name, m in self.named_modules()
               for h in m.__dict__.get("_load_state_dict_pre_hooks", {}).values()]
        if pre:  # hooks may rename keys (old layouts): on a shallow copy, as PyTorch
            state_dict = OrderedDict(state_dict)
            for m, prefix, hook in pre:
                hook(m, state_dict, prefix, {}, strict, [], [], hook_errors)
        targets = {}
        for mname, m in self.named_modules(remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    targets[pre + k] = (m, k, True)
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent_buffers_set:
                    targets[pre + k] = (m, k, False)
        given, bad_values = {}, []
        for k, v in state_dict.items():
            if k in targets:  # an unexpected key's value is never looked at, as in PyTorch
                a, why = _state_value(v)
                if a is None:
                    bad_values.append(f'While copying the parameter named "{k}", {why}')
                else:
                    given[k] = a
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        mismatched = []
        for k, (m, name, is_param) in targets.items():
            if k in given:
                cur = (m._parameters if is_param else m._buffers)[name]._data
                if tuple(given[k].shape) != tuple(cur.shape):
                    mismatched.append(f"{k}: expected shape {tuple(cur.shape)}, got {tuple(given[k].shape)}")
        problems = hook_errors + bad_values
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"error(s) in loading state_dict for {type(self).__name__}: " + " | ".join(problems))
        with no_grad():
            for k, (m, name, is_param) in targets.items():
                if k not in given:
                    continue
                store = m._parameters if is_param else m._buffers
                cur = store[name]
                if assign:
                    v = state_dict[k]
                    v = v if isinstance(v, Tensor) else Tensor._from_op(given[k], None)
                    store[name] = Parameter(v, requires_grad=cur.requires_grad) if is_param else v
                else:
                    cur._data[...] = given[k].astype(cur._data.dtype, copy=False)
                    bump(cur)
        result = _IncompatibleKeys(missing, unexpected)
        for _, m in self.named_modules():
            for hook in m.__dict__.get("_load_state_dict_post_hooks", {}).values():
                hook(m, result)
        return result

    def register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before ``load_state_dict`` checks the keys, for this
        module's part of the dict (its keys start with ``prefix``): the hook may rename or
        convert entries (an old layout), or append messages to ``error_msgs`` to refuse the
        load. It sees a shallow copy of the caller's dict. Returns a removable handle."""
        return _add_hook(self._hook_dict("_load_state_dict_pre_hooks"), hook)

    def register_load_state_dict_post_hook(self, hook):
        """Call ``hook(module, incompatible_keys)`` after a successful ``load_state_dict``.
        (Unlike PyTorch's, it runs after the strict check: ember checks everything before it
        copies anything.) Returns a removable handle."""
        return _add_hook(self._hook_dict("_load_state_dict_post_hooks"), hook)

    # ----- hooks -----
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before each forward; a value it returns replaces the
        positional args (a non-tuple becomes a 1-tuple). With ``with_kwargs``,
        ``hook(module, args, kwargs)`` may return ``(args, kwargs)``. ``prepend`` runs it before
        the hooks already registered. Returns a handle whose ``remove()`` unregisters it."""
        extra = self._hook_dict("_forward_pre_hooks_with_kwargs")
        handle = _add_hook(self._hook_dict("_forward_pre_hooks"), hook, prepend, (extra,))
        if with_kwargs:
            extra[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs``); a value it returns replaces the output. ``always_call``
        runs it even when forward raised. Returns a handle whose ``remove()`` unregisters it."""
        kw = self._hook_dict("_forward_hooks_with_kwargs")
        always = self._hook_dict("_forward_hooks_always_called")
        handle = _add_hook(self._hook_dict("_forward_hooks"), hook, prepend, (kw, always))
        if with_kwargs:
            kw[handle.id] = True
        if always_call:
            always[handle.id] = True
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are
        computed; a tuple it returns replaces ``grad_output``. Returns a removable handle."""
        return _add_hook(self._hook_dict("_backward_pre_hooks"), hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        positional inputs are computed (None for non-Tensor inputs); a tuple it returns replaces
        ``grad_input``. The module's tensor inputs and outputs pass through identity Functions
        to catch them, so they must not be modified in place. Returns a removable handle."""
        return _add_hook(self._hook_dict("_backward_hooks"), hook, prepend)

    # ----- calling and printing -----
    def __call__(self, *args, **kwargs):
        if self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks \
                or _global_all:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        d = self.__dict__
        pre_kw = d.get("_forward_pre_hooks_with_kwargs", _EMPTY)
        for hid, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
            if hid in pre_kw:
                r = hook(self, args, kwargs)
                if r is not None:
                    if isinstance(r, tuple) and len(r) == 2:
                        args, kwargs = r
                    else:
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {r}.")
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        bw = None
        full = (*_global_backward_hooks.values(), *self._backward_hooks.values())
        pre = (*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values())
        if full or pre:
            bw = _BackwardHook(self, full, pre)
            args = bw.setup_inputs(args)
        kw = d.get("_forward_hooks_with_kwargs", _EMPTY)
        always = d.get("_forward_hooks_always_called", _EMPTY)
        hooks = (*_global_forward_hooks.items(), *self._forward_hooks.items())
        called = set()
        result = None
        try:
            result = self.forward(*args, **kwargs)
            for hid, hook in hooks:
                called.add(hid)
                if hid in kw or hid in _global_forward_hooks_with_kwargs:
                    r = hook(self, args, kwargs, result)
                else:
                    r = hook(self, args, result)
                if r is not None:
                    result = r
        except Exception:
            for hid, hook in hooks:
                if hid in called or not (hid in always or hid in _global_forward_hooks_always_called):
                    continue
                try:
                    if hid in kw or hid in _global_forward_hooks_with_kwargs:
                        r = hook(self, args, kwargs, result)
                    else:
                        r = hook(self, args, result)
                    if r is not None:
                        result = r
                except Exception as e:
                    warnings.warn("forward hook with ``always_call=True`` raised an exception that was silenced as "
                                  f"another error was raised in forward: {e}", stacklevel=2)
            raise
        if bw is not None:
            result = bw.setup_outputs(result)
        return result

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        main = f"{self._get_name()}({self.extra_repr()}"
        if lines:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)


def _state_value(v):
    """A state dict's value as a numeric ndarray, or (None, what is wrong with it)."""
    if v is None or isinstance(v, (str, bytes, Mapping)):
        return None, ("expected torch.Tensor or Tensor-like object from checkpoint but received "
                      f"{type(v)}")
    try:
        a = np.asarray(_to_numpy(v))
    except (TypeError, ValueError) as e:  # a ragged list, an object that is no array
        return None, (f"expected torch.Tensor or Tensor-like object from checkpoint but received "
                      f"{type(v)} ({e})")
    if a.dtype.kind not in "biufc":
        return None, (f"expected a tensor of numbers from checkpoint but received {type(v)} "
                      f"of dtype {a.dtype}")
    return a, None


def _to_numpy(v):
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor, without importing torch
        return v.detach().cpu().numpy()
    return np.asarray(v)
