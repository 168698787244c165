"""What both seed adapters share: weights that read as plain ndarrays, input checks, progress."""
import numpy as np

from .. import backend
from ..autograd.function import bump
from ..nn.module import Module, Parameter
from .._tensor import Tensor


def as_float_array(value, what):
    """``value`` as a floating ndarray; integers become float64, like NumPy's default."""
    if isinstance(value, Tensor):
        value = value._data
    arr = np.asarray(value)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise TypeError(f"{what} must be a numeric array, got dtype {arr.dtype}")
    return arr


class ArrayParam:
    """A layer attribute that reads and writes as a plain ndarray, backed by a Parameter.

    The seeds' users write ``l.W -= lr * dC_dW`` (in place) and ``layer.linear = new``
    (rebinding): both reach the Parameter that autograd and ``ember.optim`` use, because the
    getter returns the Parameter's own array and the setter swaps that array in.
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj._parameters[self.name]._data

    def __set__(self, obj, value):
        p = obj._parameters[self.name]
        if value is p._data:
            bump(p)  # `l.W -= x` already changed the array in place: count it as a change
            return
        arr = as_float_array(value, f"{obj!r}.{self.name}")
        if arr.shape != p._data.shape:
            if arr.size == p._data.size and arr.ndim == 1 and p._data.shape[-1] == 1:
                arr = arr.reshape(p._data.shape)  # a 1-D bias is taken as the column it means
            else:
                raise ValueError(f"{obj!r}.{self.name} must have shape {p._data.shape}, got {tuple(arr.shape)}")
        if arr.dtype != p._data.dtype:
            p.grad = None
        p._data = arr


class ArrayModule(Module):
    """A Module whose ArrayParam attributes accept plain arrays on assignment."""

    def __setattr__(self, name, value):
        if isinstance(type(self).__dict__.get(name), ArrayParam):
            object.__setattr__(self, name, value)  # the descriptor's __set__
        else:
            super().__setattr__(name, value)

    def _init_param(self, name, array):
        self._parameters[name] = Parameter(array)


def torch_linear_init(fan_in, shape, dtype):
    """PyTorch's ``nn.Linear`` default: uniform on [-1/sqrt(fan_in), 1/sqrt(fan_in)]."""
    bound = 1.0 / np.sqrt(fan_in)
    return backend.rng().uniform(-bound, bound, size=shape).astype(dtype)


def check_dims(owner, **dims):
    for k, v in dims.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{owner}: {k} must be a positive int, got {v!r}")


def check_columns(layer, x, n_in, what="input"):
    """``x`` as a 2-D array of columns with ``n_in`` rows; a clear error otherwise."""
    arr = as_float_array(x, what)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] != n_in:
        raise ValueError(
            f"{layer!r} expected {what} with {n_in} rows (shape ({n_in}, 1) for one column, "
            f"({n_in}, N) for N columns), got shape {np.shape(x)}"
        )
    return arr
