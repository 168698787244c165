"""``TensorBase``: the fields every tensor has, and how an op's result becomes a tensor.

ember's tensor is two classes, as PyTorch's is (``torch._C.TensorBase`` under ``torch.Tensor``).
The ops and the autograd engine make tensors and read their fields; ``ember._tensor.Tensor``
adds the methods, and its methods call the ops. So the ops and the engine import this module,
never ``ember._tensor``, and the imports run one way: ``_tensor`` -> ``ops`` -> ``_tensor_base``.
Nothing here calls an op.
"""
import numpy as np

from . import backend


class TensorBase:
    """An array (``_data``), its gradient (``_grad``), whether it ``requires_grad``, the op that
    made it (``_fn``) and which of that op's outputs it is (``_oi``, None for single-output
    ops), and its version counter (``_vc``, made on the first in-place write or view)."""

    __slots__ = ("_data", "_grad", "requires_grad", "_fn", "_oi", "_vc", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {arr.dtype}")
        self._data = arr
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._fn = None
        self._oi = None
        self._vc = None


Tensor = TensorBase  # the class from_op makes: ember._tensor sets it to ember._tensor.Tensor
_new, _ndarray = object.__new__, np.ndarray


def from_op(data, fn):
    """A Tensor over ``data`` (an op's result, not copied), made by ``fn`` (None: a constant)."""
    t = _new(Tensor)
    # NumPy may return a scalar; a CuPy array (a tensor on the GPU) is kept as it is
    t._data = data if type(data) is _ndarray or type(data).__module__[:4] == "cupy" else np.asarray(data)
    t._grad = None
    t.requires_grad = fn is not None
    t._fn = fn
    t._oi = None
    t._vc = None
    return t


def to_array(data, dtype=None):
    """Python numbers and lists become the default float dtype (ints stay int64, bools bool);
    arrays keep theirs unless ``dtype`` is given."""
    if isinstance(data, TensorBase):
        data = data._data
    if isinstance(data, np.ndarray) or type(data).__module__.startswith("cupy"):
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=dtype)
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
    return arr
