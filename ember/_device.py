"""``ember.device``: where a tensor lives, as ``torch.device``.

ember's devices are 'cpu' (NumPy arrays) and, when CuPy and an NVIDIA GPU are there, 'cuda'
(CuPy arrays, ``backend.to_device``). The other types PyTorch knows ('mps', 'xpu', 'meta',
...) can be named, as in PyTorch, but making a tensor there raises a RuntimeError saying so.
This module also holds what ``Tensor.to`` and ``Module.to`` share: reading their arguments.
"""
import numbers

import numpy as np

from . import _dtype
from ._tensor_base import TensorBase
from .autograd.function import Function

__all__ = ["device", "DeviceError"]

# the device types torch.device accepts; ember runs on the first two
_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hpu", "xla", "ipu", "mtia", "mkldnn", "opengl", "opencl",
          "ideep", "hip", "ve", "fpga", "maia", "vulkan", "lazy", "privateuseone")


class DeviceError(RuntimeError, ValueError):
    """A device that cannot be named or used. A RuntimeError as in PyTorch, and a ValueError
    as ember's earlier device checks raised."""


class device:
    """``ember.device('cpu')``, ``ember.device('cuda:0')``, ``ember.device('cuda', 0)``: a
    device type and an optional index. Equal to another device with the same type and index,
    and to its string (``ember.device('cpu') == 'cpu'``)."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's parameter name
        if isinstance(type, device):
            if index is not None:
                raise DeviceError("device(): an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, numbers.Integral) and not isinstance(type, bool):
            from . import backend

            if backend.cuda_device_count() == 0:  # torch.device(0) is accelerator 0
                raise DeviceError("Cannot access accelerator device when none is available.")
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string, a device or an int, got {_name(type)}")
        kind, sep, idx = type.partition(":")
        if sep:
            if index is not None:
                raise DeviceError(f"type (string) must not include an index because index was passed "
                                  f"explicitly: {type}")
            if not idx.isdigit():
                raise DeviceError(f"Invalid device string: '{type}'")
            index = int(idx)
        if kind not in _TYPES:
            raise DeviceError(f"unknown device type {kind!r}: expected one of {', '.join(_TYPES[:5])}, ... "
                              f"at the start of the device string, got {type!r}")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, numbers.Integral):
                raise TypeError(f"device(): index must be an int, got {_name(index)}")
            if index < 0:
                raise DeviceError(f"Device index must not be negative, got {index}")
            index = int(index)
        self.type, self.index = kind, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, device):
            return self.type == other.type and self.index == other.index
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(str(self))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):  # `with ember.device('cpu'):` makes new tensors there
        from . import backend

        prev = backend.get_default_device()
        backend.set_default_device(self)  # raises for a device ember cannot use
        _PREV.setdefault(id(self), []).append(prev)
        return self

    def __exit__(self, *exc):
        from . import backend

        stack = _PREV[id(self)]
        backend.set_default_device(stack.pop())
        if not stack:
            del _PREV[id(self)]


_PREV = {}  # id(device) -> the default devices before its `with` blocks (device has __slots__)
CPU = device("cpu")


def _name(x):
    return type(x).__name__


def of_array(a):
    """The ``ember.device`` an array lives on."""
    if type(a) is np.ndarray:
        return CPU
    mod = type(a).__module__
    if mod.startswith("cupy"):
        return device("cuda", a.device.id)
    return CPU


def as_device(spec):
    """``spec`` ('cpu', 'cuda:0', an int, a device) as an ``ember.device``."""
    return spec if isinstance(spec, device) else device(spec)


def _is_dtype(a):
    if isinstance(a, (_dtype.dtype, np.dtype)):
        return True
    if isinstance(a, type):
        return issubclass(a, (np.generic, float, int, bool, complex))
    return False


def parse_to(args, kwargs, who="to"):
    """The (device, dtype, non_blocking, copy) of PyTorch's ``.to`` overloads:
    ``to(device=None, dtype=None, non_blocking=False, copy=False, memory_format=...)``,
    ``to(dtype, ...)``, ``to(tensor, ...)``; device and dtype come back None where not given."""
    kw = dict(kwargs)
    dev = kw.pop("device", None)
    dt = kw.pop("dtype", None)
    non_blocking = kw.pop("non_blocking", False)
    copy = kw.pop("copy", False)
    kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"{who}() got an unexpected keyword argument '{next(iter(kw))}'")
    args = list(args)
    if args and isinstance(args[0], TensorBase):
        other = args.pop(0)
        dev, dt = of_array(other._data), other._data.dtype
    elif args and (isinstance(args[0], (str, device)) or
                   isinstance(args[0], numbers.Integral) and not isinstance(args[0], bool)):
        dev = args.pop(0)
        if args and (args[0] is None or _is_dtype(args[0])):
            dt = args.pop(0)
    elif args and _is_dtype(args[0]):
        dt = args.pop(0)
    elif args and args[0] is None:
        args.pop(0)
    if args:  # non_blocking, copy by position
        non_blocking = args.pop(0)
    if args:
        copy = args.pop(0)
    if args:
        raise TypeError(f"{who}() received an invalid combination of arguments: {len(args)} too many")
    return (None if dev is None else as_device(dev)), (None if dt is None else _dtype.as_dtype(dt)), \
        bool(non_blocking), bool(copy)


def same_place(array, dev):
    """Whether ``array`` is already on ``dev`` (an index-less 'cuda' matches any GPU)."""
    here = of_array(array)
    return here.type == dev.type and (dev.index is None or here.index == dev.index or
                                      (here.index is None and dev.index == 0))


class ToDevice(Function):
    """The tensor copied to another device; the gradient is copied back."""

    dual = True

    def forward(self, a, device):
        from . import backend

        self.src = of_array(a)
        return backend.to_device(a, device)

    def backward(self, gy):
        from . import backend

        if isinstance(gy, TensorBase):  # the backward is being recorded
            return ToDevice.apply(gy, device=self.src)
        return backend.to_device(gy, self.src)


class memory_format:
    """PyTorch's memory layouts (``ember.contiguous_format``, ``ember.channels_last``...),
    accepted where PyTorch takes ``memory_format=``; ember's arrays keep NumPy's layout."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"ember.{self._name}"

    def __reduce__(self):
        return (getattr, (__import__("ember"), self._name))


FORMATS = {n: memory_format(n) for n in ("contiguous_format", "preserve_format", "channels_last",
                                          "channels_last_3d")}
