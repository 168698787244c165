"""The seeds' dictionary of activation functions and their derivatives, shared by both adapters.

``ACTIVATIONS`` maps a name to a pair ``(fn, derivative)``, as DL-From-Scratch's
``Activations.py`` did, and users extend it by assignment::

    from ember.compat.activations import ACTIVATIONS
    ACTIVATIONS["leaky_relu"] = (lambda z: ember.maximum(z, 0.01 * z),       # on ember Tensors
                                 lambda z: np.where(z > 0, 1.0, 0.01))          # on ndarrays

- ``fn(z)`` maps the pre-activation ``z`` to the output. Written with ember ops (Tensor
  operators and methods, ``ember.tanh``...) it is differentiated by autograd like any op.
  A NumPy-only function (``np.exp(z)`` raises TypeError on a Tensor) still works: it runs on
  the array and its ``derivative`` becomes the op's backward, ``gz = gy * derivative(z)``,
  which is right for elementwise functions only.
- ``derivative(z)`` is f' of the *pre-activation*, elementwise, on ndarrays. The adapters'
  gradients never read it for built-in entries (autograd differentiates ``fn``); it is kept
  for users and for ``denseLayer.activationDerDiag``.

``'softmax'`` normalizes over axis 0 (the components of a column, the seeds' layout). Its
derivative is ones, as in neural-nets-in-numpy: the true Jacobian is not diagonal, and
paired with cross-entropy the softmax is folded into the loss's gradient ``out - y``.
"""
import numpy as np

from ..autograd import Function
from .._tensor import Tensor

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "apply_activation", "log_softmax_columns"]


class Activation(tuple):
    """An ``(fn, derivative)`` pair that also reads as ``.fn`` and ``.derivative``."""

    __slots__ = ()

    def __new__(cls, fn, derivative):
        return super().__new__(cls, (fn, derivative))

    fn = property(lambda self: self[0])
    derivative = property(lambda self: self[1])


def _softmax(z):
    return (z - z.logsumexp(axis=0, keepdims=True)).exp()


def log_softmax_columns(z):
    """log(softmax(z)) over axis 0, as ``z - logsumexp(z)``: finite where softmax underflows."""
    return z - z.logsumexp(axis=0, keepdims=True)


def _sigmoid_np(z):
    return 0.5 * (np.tanh(0.5 * z) + 1)  # no overflow for large |z|


def _float(z):
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


def _ones(z):
    return np.ones_like(_float(z))


def _identity(z):
    return z


ACTIVATIONS = {
    "relu": Activation(lambda z: z.relu(), lambda z: (_float(z) > 0).astype(_float(z).dtype)),
    "sigmoid": Activation(lambda z: z.sigmoid(), lambda z: _sigmoid_np(z) * (1 - _sigmoid_np(z))),
    "tanh": Activation(lambda z: z.tanh(), lambda z: 1 - np.tanh(z) ** 2),
    "softmax": Activation(_softmax, _ones),
    "linear": Activation(_identity, _ones),
}


def get_activation(name, owner="activation"):
    """The ``(fn, derivative)`` entry for ``name`` (None means 'linear'; case is ignored).

    Raises ValueError naming ``owner`` and listing the valid names when ``name`` is unknown.
    """
    if name is None:
        name = "linear"
    if isinstance(name, str):
        for key in (name, name.lower()):
            if key in ACTIVATIONS:
                entry = ACTIVATIONS[key]
                if not (isinstance(entry, tuple) and len(entry) == 2 and all(callable(f) for f in entry)):
                    raise TypeError(
                        f"ACTIVATIONS[{key!r}] must be a pair (fn, derivative) of callables, got {entry!r}"
                    )
                return entry
    valid = ", ".join(repr(k) for k in ACTIVATIONS)
    raise ValueError(f"{owner}: unknown activation {name!r}; valid names are {valid} (or None for linear)")


class _FromNumpy(Function):
    """An elementwise NumPy function whose backward is its given derivative."""

    def forward(self, z, fn, derivative):
        self.z, self.derivative = z, derivative
        return np.asarray(fn(z), dtype=z.dtype)

    def backward(self, gy):
        return (gy * np.asarray(self.derivative(self.z))).astype(self.z.dtype, copy=False)


_numpy_only = set()  # user functions found to work on ndarrays only


def apply_activation(entry, z):
    """``entry``'s function applied to Tensor ``z``, on the autograd graph."""
    fn, derivative = entry
    if fn not in _numpy_only:
        try:
            y = fn(z)
        except TypeError:
            y = None
        if isinstance(y, Tensor):
            return y
        _numpy_only.add(fn)
    return _FromNumpy.apply(z, fn=fn, derivative=derivative)
