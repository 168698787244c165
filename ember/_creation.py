"""Making tensors: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``, ``arange``, ``linspace``...

Each function takes PyTorch's arguments (``dtype``, ``device``, ``requires_grad``, ``out``;
``layout``, ``pin_memory`` and ``memory_format`` are accepted and change nothing). Float
results get ``ember.get_default_dtype()``, integer-valued ones int64. This module builds
tensors through ``TensorBase`` (``from_op``), so ``ember._tensor`` can import it.
"""
import math
import numbers
import operator

import numpy as np

from . import backend
from ._tensor_base import TensorBase, check_numeric, check_requires_grad, from_op, to_array

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "scalar_tensor", "empty", "zeros", "ones", "full",
    "empty_like", "zeros_like", "ones_like", "full_like", "eye", "arange", "linspace", "logspace",
]


# ----- shared helpers -----
def _shape(shape, name="size"):
    """A size given as ints (varargs), or one tuple/list/``Size``: a tuple of ints >= 0."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) and not hasattr(shape[0], "__index__"):
        shape = shape[0]
    try:
        dims = tuple(operator.index(d) for d in shape)
    except TypeError:
        bad = next((d for d in shape if not hasattr(d, "__index__")), shape) if hasattr(shape, "__iter__") else shape
        raise TypeError(f"{name} must be a tuple of ints, but found an element of type {type(bad).__name__}") from None
    if any(d < 0 for d in dims):
        bad = next(d for d in dims if d < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {list(dims)}")
    return dims


def _size_args(args, size):
    if size is not None:
        if args:
            raise TypeError("size given both positionally and as size=")
        args = (size,)
    elif not args:
        raise TypeError('missing 1 required positional arguments: "size"')
    return _shape(args)


def _tuple_size(size, name="size"):
    """A size PyTorch takes only as a sequence (``full``, ``randint``, ``normal``, ``new_full``)."""
    if isinstance(size, numbers.Number) or hasattr(size, "__index__") or not hasattr(size, "__iter__"):
        raise TypeError(f"argument '{name}' must be tuple of ints, not {type(size).__name__}")
    return _shape((size,), name)


def _dtype(dtype):
    """``dtype`` as a NumPy dtype (any spec: ember.float32, np.float32, 'float32'), or the default float."""
    return np.dtype(backend.get_default_dtype() if dtype is None else dtype)


def _place(arr, device):
    """``arr`` on ``device`` (None: where it is)."""
    if device is None:
        return arr
    return backend.to_device(arr, str(device))


def _new(arr, device=None, requires_grad=False, out=None, keep_numel=False):
    """A leaf Tensor over ``arr`` on ``device``; with ``out``, ``arr`` written into ``out``."""
    arr = _place(arr, device)
    if out is not None:
        return _into(out, arr, keep_numel)
    check_requires_grad(arr.dtype, requires_grad)
    t = from_op(arr, None)
    t._rg = bool(requires_grad)
    return t


def _into(out, arr, keep_numel=False):
    """PyTorch's ``out=``: ``out`` takes the result (resized when its shape differs; the ranges
    keep ``out``'s shape when its element count is right)."""
    from .autograd.function import bump

    if not isinstance(out, TensorBase):
        raise TypeError(f"out must be a Tensor, not {type(out).__name__}")
    if keep_numel and out._data.size == arr.size:
        arr = arr.reshape(out._data.shape)
    if out._data.shape == arr.shape:
        np.copyto(out._data, arr, casting="unsafe")
    else:
        out._data = arr.astype(out._data.dtype)
    bump(out)
    return out


def _raw(t):
    return t._data if isinstance(t, TensorBase) else t


def _scalar_dtype(value):
    """The dtype PyTorch gives a Python number: bool, int64, the default float, complex."""
    value = _raw(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).dtype
    if isinstance(value, bool):
        return np.dtype(bool)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return np.dtype(np.complex128 if _dtype(None) == np.float64 else np.complex64)
    return _dtype(None)


# ----- from data -----
def _from_data(data, dtype):
    """``to_array`` with PyTorch's rule for Python complex numbers: the default complex dtype."""
    arr = to_array(data, None if dtype is None else np.dtype(dtype))
    if dtype is None and arr.dtype.kind == "c" and not isinstance(_raw(data), (np.ndarray, np.generic)):
        arr = arr.astype(_scalar_dtype(1j), copy=False)
    return arr


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a Tensor).

    Python floats become the default dtype, ints int64, bools bool; an array keeps its dtype;
    ``dtype`` overrides all of them."""
    del pin_memory
    src = _raw(data)
    arr = _from_data(data, dtype)
    check_numeric(arr, "np.ndarray" if isinstance(src, np.ndarray) else type(src).__name__)
    if arr is src or (isinstance(src, np.ndarray) and np.shares_memory(arr, src)):
        arr = arr.copy()
    return _new(arr, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing its memory when it can: a Tensor of the asked dtype and
    device is returned as it is, an ndarray is wrapped without a copy."""
    if isinstance(data, TensorBase):
        same = dtype is None or np.dtype(dtype) == data._data.dtype
        if same and (device is None or backend._check_device(device) == backend.device_of(data._data).split(":")[0]):
            return data
        arr = data._data if dtype is None else data._data.astype(np.dtype(dtype))
        return _new(arr, device)
    if isinstance(data, np.ndarray):
        check_numeric(data)
        return _new(data if dtype is None else data.astype(np.dtype(dtype), copy=False), device)
    return _new(_from_data(data, dtype), device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """``obj`` as a tensor (``torch.asarray``): shares memory with a Tensor, an ndarray or a
    buffer when ``dtype`` and ``device`` allow; ``copy=True`` always copies, ``copy=False``
    refuses to."""
    src = _raw(obj)
    want = None if dtype is None else np.dtype(dtype)
    if not isinstance(src, np.ndarray) and not isinstance(obj, (list, tuple, numbers.Number, np.generic)):
        try:  # the buffer protocol (bytes, bytearray, array.array): its bytes read as ``dtype``
            view = memoryview(obj)
        except TypeError:
            pass
        else:
            dt = _dtype(want)
            if view.nbytes % dt.itemsize:
                raise ValueError(f"buffer length ({view.nbytes} bytes) after offset (0 bytes) must be a "
                                 f"multiple of element size ({dt.itemsize})")
            src = np.frombuffer(view, dt)
            want = None
    if isinstance(src, np.ndarray):
        check_numeric(src)
        arr = src if want is None else src.astype(want, copy=False)
    else:
        arr = _from_data(src, want)
    arr = _place(arr, device)
    shared = isinstance(src, np.ndarray) and np.shares_memory(arr, src)
    if copy is False and isinstance(src, np.ndarray) and not shared:
        raise ValueError(f"asarray(copy=False): a {src.dtype} array cannot be made {arr.dtype} without a copy")
    if copy and shared:
        arr = arr.copy()
    if isinstance(obj, TensorBase) and arr is obj._data and not requires_grad:
        return obj
    return _new(arr, None, requires_grad)


def from_numpy(ndarray):
    """A tensor sharing ``ndarray``'s memory and dtype: writes to one show in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return from_op(check_numeric(ndarray), None)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A 0-d tensor of ``s``, in the default float dtype unless ``dtype`` is given."""
    del layout, pin_memory
    return _new(np.asarray(_raw(s), dtype=_dtype(dtype)), device, requires_grad)


# ----- filled -----
def empty(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    """An uninitialized tensor of ``size``."""
    del layout, pin_memory, memory_format
    return _new(np.empty(_size_args(sizes, size), _dtype(dtype)), device, requires_grad, out)


def zeros(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None):
    """A tensor of zeros; ``size`` as ints, a tuple/list or an ``ember.Size``."""
    del layout, pin_memory, memory_format
    return _new(np.zeros(_size_args(sizes, size), _dtype(dtype)), device, requires_grad, out)


def ones(*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
         memory_format=None):
    """A tensor of ones; ``size`` as ints, a tuple/list or an ``ember.Size``."""
    del layout, pin_memory, memory_format
    return _new(np.ones(_size_args(sizes, size), _dtype(dtype)), device, requires_grad, out)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """A tensor of ``size`` filled with ``fill_value``; its dtype follows ``fill_value``
    (bool, int64, the default float, complex) unless ``dtype`` is given."""
    del layout, pin_memory
    size = _tuple_size(size)
    dt = _scalar_dtype(fill_value) if dtype is None else np.dtype(dtype)
    return _new(np.full(size, _raw(fill_value), dt), device, requires_grad, out)


def _like(input, dtype):
    a = _raw(input)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected a Tensor as input, got {type(input).__name__}")
    return a.shape, (a.dtype if dtype is None else np.dtype(dtype))


def _like_device(input, device):
    if device is not None:
        return device
    a = _raw(input)
    return None if isinstance(a, np.ndarray) else backend.device_of(a)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    del layout, memory_format
    shape, dt = _like(input, dtype)
    return _new(np.empty(shape, dt), _like_device(input, device), requires_grad)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    del layout, memory_format
    shape, dt = _like(input, dtype)
    return _new(np.zeros(shape, dt), _like_device(input, device), requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    del layout, memory_format
    shape, dt = _like(input, dtype)
    return _new(np.ones(shape, dt), _like_device(input, device), requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    del layout, memory_format
    shape, dt = _like(input, dtype)
    return _new(np.full(shape, _raw(fill_value), dt), _like_device(input, device), requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    del layout, pin_memory
    for name, v in (("n", n), ("m", m)):
        if v is not None and operator.index(v) < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _new(np.eye(n, m, dtype=_dtype(dtype)), device, requires_grad, out)


# ----- ranges -----
def _number(v):
    v = _raw(v)
    return v.item() if isinstance(v, (np.ndarray, np.generic)) else v


def _is_int(v):
    return isinstance(v, numbers.Integral)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """``[start, end)`` in steps of ``step``, as ``torch.arange``: integer arguments give
    int64, any float the default float dtype; ``ceil((end - start) / step)`` elements, each
    ``start + i * step`` computed in double precision."""
    del layout
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if dtype is None:
        dt = np.dtype(np.int64) if all(_is_int(v) for v in (start, end, step)) else _dtype(None)
    else:
        dt = np.dtype(dtype)
    for v in (start, end):
        if isinstance(v, float) and not math.isfinite(v):
            raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dt.kind in "iub":  # PyTorch first casts the three to the integer type
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dt.kind in "iub":
        n = max(0, -((start - end) // step))
        arr = (start + np.arange(n, dtype=np.int64) * step).astype(dt)
    else:
        n = math.ceil((float(end) - float(start)) / float(step))
        arr = (float(start) + np.arange(n, dtype=np.float64) * float(step)).astype(dt)
    return _new(arr, device, requires_grad, out, keep_numel=True)


def _steps(steps):
    if isinstance(steps, bool) or not hasattr(steps, "__index__"):
        raise TypeError(f"steps must be an int, got {type(steps).__name__}")
    steps = operator.index(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return steps


def _linspace(start, end, steps, ct):
    """PyTorch's linspace, computed in ``ct``: the first half counted up from ``start``, the
    second half down from ``end``, so both ends are exact."""
    if steps == 1:
        return np.array([start], ct)
    start, end = ct.type(start), ct.type(end)
    i = np.arange(steps).astype(ct)
    step = (end - start) / ct.type(steps - 1)
    return np.where(np.arange(steps) < steps // 2, start + step * i, end - step * (ct.type(steps - 1) - i))


def _compute_type(dt):
    """The type PyTorch's range kernels compute in: the dtype for float32/float64, float32 for
    the 16-bit floats, double for the integers (whose ends are first truncated to ints)."""
    if dt.kind == "f" and dt.itemsize >= 4:
        return dt
    return np.dtype(np.float64 if dt.kind in "iub" else np.float32)


def _ends(start, end, dt):
    if dt.kind in "iub":
        return float(int(start)), float(int(end))  # C++'s cast to the integer type truncates
    return float(start), float(end)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """``steps`` values evenly spaced from ``start`` to ``end``, both included."""
    del layout
    steps, start, end = _steps(steps), _number(start), _number(end)
    dt = _dtype(dtype)
    if dt.kind == "c" or isinstance(start, complex) or isinstance(end, complex):
        dt = dt if dt.kind == "c" else np.dtype(np.complex64)
        arr = np.linspace(start, end, steps).astype(dt)
    else:
        ct = _compute_type(dt)
        arr = _linspace(*_ends(start, end, dt), steps, ct)
        arr = (np.trunc(arr) if dt.kind in "iub" else arr).astype(dt)
    return _new(arr, device, requires_grad, out, keep_numel=True)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """``base ** linspace(start, end, steps)`` (the exponents as linspace computes them, the
    power in double precision)."""
    del layout
    steps, start, end, base = _steps(steps), _number(start), _number(end), float(_number(base))
    dt = _dtype(dtype)
    arr = np.power(base, _linspace(*_ends(start, end, dt), steps, _compute_type(dt)).astype(np.float64))
    return _new((np.trunc(arr) if dt.kind in "iub" else arr).astype(dt), device, requires_grad, out, keep_numel=True)
