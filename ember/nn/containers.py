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

__all__ = ["Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten", "Unflatten"]


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
