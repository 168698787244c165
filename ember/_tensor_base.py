"""``TensorBase``: the fields every tensor has, and how an op's result becomes a tensor.

ember's tensor is two classes, as PyTorch's is (``torch._C.TensorBase`` under ``torch.Tensor``).
The ops and the autograd engine make tensors and read their fields; ``ember._tensor.Tensor``
adds the methods, and its methods call the ops. So the ops and the engine import this module,
never ``ember._tensor``, and the imports run one way: ``_tensor`` -> ``ops`` -> ``_tensor_base``.
Nothing here calls an op.
"""
import numpy as np

from . import backend
from ._dtype import differentiable


class TensorBase:
    """An array (``_data``), its gradient (``_grad``), whether it requires grad (``_rg``, read
    and set as ``requires_grad``), the op that made it (``_fn``) and which of that op's outputs
    it is (``_oi``, None for single-output ops), and its version counter (``_vc``, made on the
    first in-place write or view)."""

    __slots__ = ("_data", "_grad", "_rg", "_fn", "_oi", "_vc", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = to_array(data, dtype)
        check_requires_grad(arr.dtype, requires_grad)
        self._data = arr
        self._grad = None
        self._rg = bool(requires_grad)
        self._fn = None
        self._oi = None
        self._vc = None

    def _set_requires_grad(self, value):
        # The engine and the ops read and write the slot ``_rg`` directly; only this public
        # setter checks, as PyTorch's does: an integer or bool tensor has no gradient.
        check_requires_grad(self._data.dtype, value)
        self._rg = bool(value)


TensorBase.requires_grad = property(TensorBase._rg.__get__, TensorBase._set_requires_grad,
                                    doc="Whether ops on this tensor are recorded for backward.")
def check_requires_grad(dtype, requires_grad=True):
    """PyTorch's rule, wherever a tensor is asked to require grad: floating and complex
    dtypes only."""
    if requires_grad and not differentiable(dtype):
        raise RuntimeError(f"only Tensors of floating point and complex dtype can require gradients, got {dtype}")


Tensor = TensorBase  # the class from_op makes: ember._tensor sets it to ember._tensor.Tensor
_new, _ndarray = object.__new__, np.ndarray


def from_op(data, fn):
    """A Tensor over ``data`` (an op's result, not copied), made by ``fn`` (None: a constant)."""
    t = _new(Tensor)
    # NumPy may return a scalar; a CuPy array (a tensor on the GPU) is kept as it is
    t._data = data if type(data) is _ndarray or type(data).__module__[:4] == "cupy" else np.asarray(data)
    t._grad = None
    t._rg = fn is not None
    t._fn = fn
    t._oi = None
    t._vc = None
    return t


def to_array(data, dtype=None):
    """Python numbers and lists become the default float dtype (ints stay int64, bools bool);
    arrays keep theirs unless ``dtype`` is given. What a tensor cannot hold (objects, strings,
    dates) is a TypeError, as PyTorch's."""
    if isinstance(data, TensorBase):
        data = data._data
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        if data.dtype.kind not in _KINDS:
            check_numeric(data)
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, np.generic):
        return check_numeric(np.asarray(data, dtype=dtype), type(data).__name__)
    if isinstance(data, (list, tuple)) and any(isinstance(x, TensorBase) for x in data):
        data = [x._data if isinstance(x, TensorBase) else x for x in data]
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
    return check_numeric(arr, type(data).__name__)


_KINDS = "biufc"  # bool, signed and unsigned ints, floats, complex: what a tensor holds


def check_numeric(arr, source="np.ndarray"):
    """``arr`` if a tensor can hold its dtype, else PyTorch's TypeError naming the dtype."""
    dt = arr.dtype
    if dt.kind in _KINDS or dt.name == "bfloat16":
        return arr
    if source != "np.ndarray":  # a Python or NumPy scalar, or nested lists of them
        raise TypeError(f"new(): invalid data type '{dt.type.__name__.rstrip('_')}' (a tensor holds numbers or bools)")
    raise TypeError(f"can't convert np.ndarray of type numpy.{dt.type.__name__}. The only supported types are: "
                    "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint64, "
                    "uint32, uint16, uint8, and bool.")
