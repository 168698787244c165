"""Containers of modules (``Sequential``, ``ModuleList``, ``ModuleDict``) and the shape
layers that only rearrange (``Identity``, ``Flatten``, ``Unflatten``)."""
import math
import operator
from collections import OrderedDict

import numpy as np

from ..ops._util import as_tensor
from ..ops.movement import reshape
from .._tensor import Tensor
from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten", "Unflatten", "ParameterList",
           "ParameterDict"]


def _check_module(m, who):
    if not isinstance(m, Module):
        raise TypeError(f"{who} expects Module instances, got {type(m).__name__}")
    return m


def _index(idx, n, who):
    i = operator.index(idx)
    if not -n <= i < n:
        raise IndexError(f"{who}: index {idx} is out of range for {n} modules")
    return i % n


class Sequential(Module):
    """Chain modules: the output of each is the input of the next.

    ``Sequential(m1, m2, ...)`` names them "0", "1", ...; ``Sequential(OrderedDict(name=m))``
    keeps the names (they become the ``state_dict`` prefixes). Indexing takes ints (negative
    too) and slices, which give a new Sequential sharing the modules.

    ``forward`` calls each module in turn, through its ``__call__`` (so its hooks run and an
    overridden or patched ``forward`` is the one called), and does nothing else. Faster fused
    runs (Linear + ReLU, ReLU + MaxPool2d, no-grad Linear chains) are opt-in and visible in the
    repr: ``ember.nn.utils.fuse(model)`` (``ember.nn.fusion``).
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for name, m in args[0].items():
                self.add_module(str(name), _check_module(m, "Sequential"))
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), _check_module(m, "Sequential"))

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return type(self)(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        self._modules[key] = _check_module(module, "Sequential")

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys), "Sequential")]]):
            del self._modules[k]
        # renumber, as PyTorch does, so that positional names stay 0..n-1
        mods = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self._modules)), _check_module(module, "Sequential"))
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``; positional names are renumbered."""
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        mods.insert(index % (n + 1) if index < 0 else index, _check_module(module, "Sequential"))
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self

    def pop(self, index=-1):
        m = self[index]
        del self[index]
        return m

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules that registers them (so their parameters are found), like a Python list.

    It has no ``forward``: the owning module decides how to call them.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _renumber(self, mods):
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx, module):
        i = _index(idx, len(self._modules), "ModuleList")
        self._modules[str(i)] = _check_module(module, "ModuleList")

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), "ModuleList")]
        self._renumber(mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return type(self)(list(self) + list(other))

    def append(self, module):
        self._modules[str(len(self._modules))] = _check_module(module, "ModuleList")
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module, "ModuleList"))
        self._renumber(mods)

    def pop(self, index=-1):
        m = self[index]
        del self[index]
        return m


class ModuleDict(Module):
    """An ordered dict of modules that registers them; keys are the ``state_dict`` prefixes."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings, got {type(key).__name__}")
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        return self._modules.pop(key)

    def clear(self):
        self._modules.clear()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m


class Identity(Module):
    """Return the input unchanged; its constructor ignores any arguments (a placeholder)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        x = as_tensor(x)
        return reshape(x, self._flat_shape(x._data.shape))

    def _flat_shape(self, s):
        n = len(s)
        start, end = self.start_dim, self.end_dim
        if not (-n <= start < n and -n <= end < n) or (start % n) > (end % n):
            raise ValueError(f"{self!r} cannot flatten input of shape {tuple(s)}")
        start, end = start % n, end % n
        return s[:start] + (math.prod(s[start : end + 1]),) + s[end + 1 :]

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 784) -> (N, 1, 28, 28) with (1, 28, 28)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, x):
        x = x if isinstance(x, Tensor) else as_tensor(x)
        s = x._data.shape
        n = len(s)
        if not -n <= self.dim < n:
            raise ValueError(f"{self!r} got input of shape {tuple(s)} without dim {self.dim}")
        d = self.dim % n
        size = self.unflattened_size
        known = int(np.prod([v for v in size if v != -1]))
        if (-1 not in size and known != s[d]) or (-1 in size and (known == 0 or s[d] % known)):
            raise ValueError(f"{self!r} cannot split dim {d} of size {s[d]} of input shape {tuple(s)}")
        return reshape(x, s[:d] + size + s[d + 1 :])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# ----- ParameterList, ParameterDict -----
def _as_param(value):
    """A Tensor that is not a Parameter is wrapped in one (sharing its array), as PyTorch does;
    anything else is kept as it is (a plain attribute)."""
    from .module import Parameter

    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value, requires_grad=value.requires_grad or value._fn is None)
    return value


def _param_line(key, p, dtype_str):
    from .module import Parameter

    if isinstance(p, Tensor):
        size = "x".join(str(s) for s in p.shape)
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        return f"  ({key}): {kind} containing: [{dtype_str(p)} of size {size}]"
    return f"  ({key}): Object of type: {type(p).__name__}"


def _torch_style_repr(self, lines):
    """PyTorch's Module.__repr__ for an extra_repr of ``lines``: inline when one line."""
    if len(lines) == 1:
        return f"{self._get_name()}({lines[0]})"
    if not lines:
        return f"{self._get_name()}()"
    return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class ParameterList(Module):
    """A list of Parameters that registers them under "0", "1", ... (their ``state_dict``
    keys), like a Python list. Tensors are wrapped as Parameters; other values are kept."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def _index(self, idx):
        i = operator.index(idx)
        if not -self._size <= i < self._size:
            raise IndexError(f"index {idx} is out of range")
        return i % self._size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            out = ParameterList()
            for i in range(*idx.indices(self._size)):
                out.append(self[i])
            return out
        return getattr(self, str(self._index(idx)))

    def __setitem__(self, idx, param):
        i = self._index(idx)
        setattr(self, str(i), _as_param(param))

    def __len__(self):
        return self._size

    def __iter__(self):
        return iter(self[i] for i in range(self._size))

    def __iadd__(self, parameters):
        return self.extend(parameters)

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]

    def append(self, value):
        """Add ``value`` at the end; returns the list."""
        self._size += 1
        setattr(self, str(self._size - 1), _as_param(value))
        return self

    def extend(self, values):
        """Add each of ``values`` at the end; returns the list."""
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__") or isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable, but got " + type(values).__name__)
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(_param_line(k, p, lambda t: repr(t.dtype)) for k, p in enumerate(self))

    def __repr__(self):
        return _torch_style_repr(self, [_param_line(k, p, lambda t: repr(t.dtype)) for k, p in enumerate(self)])

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict of Parameters that registers them under their keys (the ``state_dict``
    keys). Tensors are wrapped as Parameters; other values are kept."""

    def __init__(self, parameters=None):
        super().__init__()
        self._keys = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_param(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def __or__(self, other):
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other):
        out = ParameterDict(other)
        out.update(self)
        return out

    def __ior__(self, other):
        self.update(other)
        return self

    def copy(self):
        """A new ParameterDict holding the same Parameters."""
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def keys(self):
        return self._keys.keys()

    def values(self):
        return (self[k] for k in self._keys)

    def items(self):
        return ((k, self[k]) for k in self._keys)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def popitem(self):
        k = next(reversed(list(self._keys)))
        return k, self.pop(k)

    def clear(self):
        for k in list(self._keys):
            del self[k]

    def fromkeys(self, keys, default=None):
        return ParameterDict((k, default) for k in keys)

    def update(self, parameters):
        """Add or replace entries from a mapping or an iterable of (key, value) pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)) or not hasattr(parameters, "keys"):
            items = parameters.items() if hasattr(parameters, "items") else parameters
        else:
            items = sorted(parameters.items())  # a plain dict: sorted keys, as PyTorch
        for j, kv in enumerate(items):
            if not hasattr(kv, "__len__") or len(kv) != 2:
                raise ValueError(f"ParameterDict update sequence element #{j} has length "
                                 f"{len(kv) if hasattr(kv, '__len__') else 'unknown'}; 2 is required")
            self[kv[0]] = kv[1]

    def extra_repr(self):
        return "\n".join(_param_line(k, p, _type_name) for k, p in self.items())

    def __repr__(self):
        return _torch_style_repr(self, [_param_line(k, p, _type_name) for k, p in self.items()])

    def __call__(self, input):
        raise RuntimeError("ParameterDict should not be called.")


def _type_name(t):
    return t.type()
