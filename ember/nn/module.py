"""``Module`` and ``Parameter``: the containers of state that layers are built from.

As in PyTorch's ``module.py``: parameters register by attribute assignment, buffers through
``register_buffer``, submodules by assigning a Module; ``state_dict`` keys are dotted names.
"""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as learnable: ``requires_grad`` is True by default.

    ``Parameter(data)`` takes an ndarray (kept, not copied) or a Tensor (its array is shared).
    ``.grad`` is an ndarray or None and may be assigned.
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


def _as_float_input(x, dtype):
    """Models accept ndarrays or Tensors; floating input is cast to the parameters' dtype."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if dtype is not None and x._data.dtype.kind == "f" and x._data.dtype != dtype:
        x = x.astype(dtype)
    return x


class Module:
    """Base class of every layer and model. Subclasses define ``forward``.

    Assigning a Parameter, a Module or (through ``register_buffer``) an array registers it, so
    that ``parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``zero_grad()`` see it.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # ----- registration -----
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning {name!r}")
        params, bufs, mods = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            for d in (self.__dict__, bufs, mods):
                d.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            for d in (self.__dict__, params, bufs):
                d.pop(name, None)
            mods[name] = value
        elif name in params or name in mods:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"cannot assign {type(value).__name__} to {name!r}: expected a {kind} or None")
            (params if name in params else mods)[name] = None
        elif name in bufs:
            bufs[name] = None if value is None else (value._data if isinstance(value, Tensor) else np.asarray(value))
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
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}) expects a Parameter or None, got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, array, persistent=True):
        """Register state that is saved in ``state_dict`` but is not learned (running stats)."""
        if array is not None:
            array = array._data if isinstance(array, Tensor) else np.asarray(array)
        self.__dict__.pop(name, None)
        self._buffers[name] = array
        if not persistent:
            self._non_persistent.add(name)

    def register_module(self, name, module):
        self.__setattr__(name, module)

    add_module = register_module

    # ----- traversal -----
    def named_modules(self, prefix="", remove_duplicate=True):
        """(dotted name, module) pairs, self first, depth first; a module reached twice is
        yielded once unless ``remove_duplicate`` is False (``state_dict`` keeps every name)."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield name, m
            for child_name, child in reversed(list(m._modules.items())):
                if child is not None:
                    stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for pname, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for bname, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ----- modes and grads -----
    def train(self, mode=True):
        """Set training mode here and in every submodule; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (Dropout off, BatchNorm uses running stats); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = None if p._grad._fn is not None else p._grad.zero_()

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
            for k, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[k] = b.astype(dtype)
        return self

    def to(self, target):
        """Move parameters and buffers to a device ('cpu', 'cuda') or cast them to a dtype;
        returns self, as in PyTorch."""
        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda"):
            from .. import backend

            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None:
                        p._data = backend.to_device(p._data, target)
                        if p.grad is not None:
                            p._grad = Tensor._from_op(backend.to_device(p._grad._data, target), None)
                for k, b in m._buffers.items():
                    if b is not None:
                        m._buffers[k] = backend.to_device(b, target)
            return self
        return self.astype(target)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ----- state -----
    def state_dict(self, prefix=""):
        """An ordered dict from dotted names to arrays (parameters and persistent buffers)."""
        out = OrderedDict()
        for mname, m in self.named_modules(prefix.rstrip("."), remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p._data
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[pre + k] = b
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` into this module's parameters and buffers.

        With ``strict``, one error lists every missing key, unexpected key and shape
        mismatch. Values may be ndarrays, Tensors or anything with ``.numpy()`` (a torch
        tensor on the CPU). Returns ``(missing_keys, unexpected_keys)``.
        """
        targets = {}
        for mname, m in self.named_modules(remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    targets[pre + k] = (m, k, True)
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    targets[pre + k] = (m, k, False)
        given = {k: _to_numpy(v) for k, v in state_dict.items()}
        missing = [k for k in targets if k not in given]
        unexpected = [k for k in given if k not in targets]
        mismatched = []
        for k, (m, name, is_param) in targets.items():
            if k in given:
                cur = m._parameters[name]._data if is_param else m._buffers[name]
                if tuple(given[k].shape) != tuple(cur.shape):
                    mismatched.append(f"{k}: expected shape {tuple(cur.shape)}, got {tuple(given[k].shape)}")
        problems = []
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"error(s) in loading state_dict for {type(self).__name__}: " + " | ".join(problems))
        for k, (m, name, is_param) in targets.items():
            if k not in given:
                continue
            if is_param:
                p = m._parameters[name]
                p._data[...] = given[k].astype(p._data.dtype, copy=False)
            else:
                cur = m._buffers[name]
                m._buffers[name] = given[k].astype(cur.dtype, copy=True).reshape(cur.shape)
        return missing, unexpected

    # ----- calling and printing -----
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        main = f"{type(self).__name__}({self.extra_repr()}"
        if lines:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)


def _to_numpy(v):
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, np.ndarray):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor, without importing torch
        return v.detach().cpu().numpy()
    return np.asarray(v)
