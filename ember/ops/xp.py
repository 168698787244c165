"""A NumPy-like namespace over ember's ops, for backward formulas.

A backward written with ``xp = self.xp`` calls ``xp.exp(y)``, ``xp.where(c, a, b)``,
``xp.broadcast_to(g, shape)``: in an ordinary backward ``self.xp`` is NumPy itself and these
are NumPy's functions on arrays; with ``create_graph=True`` it is this module, whose functions
of the same names and arguments are ember ops on Tensors, so the backward is recorded.
"""
import numpy as np

from . import elementwise as _ew
from . import movement as _mv
from . import reduce as _rd
from ._util import as_tensor as _as_tensor

exp, log, sqrt, tanh, abs, negative = _ew.exp, _ew.log, _ew.sqrt, _ew.tanh, _ew.abs, _ew.neg
maximum, minimum = _ew.maximum, _ew.minimum
swapaxes, reshape, transpose, concatenate, stack = _mv.swapaxes, _mv.reshape, _mv.transpose, _mv.concatenate, _mv.stack


def matmul(a, b):
    from .matmul import matmul as mm

    return mm(a, b)


def where(cond, a, b):
    return _ew.where(cond, a, b)


def broadcast_to(a, shape):
    return _mv.broadcast_to(_as_tensor(a), tuple(shape))


def sum(a, axis=None, keepdims=False, dtype=None):
    return _rd.sum(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return _rd.mean(a, axis=axis, keepdims=keepdims)


def expand_dims(a, axis):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shape = list(a.shape)
    n = len(shape) + len(axes)
    for ax in sorted(x % n for x in axes):
        shape.insert(ax, 1)
    return _mv.reshape(a, tuple(shape))


def zeros(shape, dtype=None):
    from .._tensor_base import TensorBase, from_op

    return from_op(np.zeros(shape, dtype), None)


def zeros_like(a, dtype=None):
    from .._tensor_base import TensorBase, from_op

    return from_op(np.zeros(a.shape, a.dtype if dtype is None else dtype), None)


def sign(a):
    from .._tensor_base import TensorBase, from_op

    return from_op(np.sign(a._data), None)


def asarray(a, dtype=None):
    return a if dtype is None or a.dtype == dtype else _ew.cast(a, dtype)


def clip(a, a_min, a_max):
    return _ew.clip(a, a_min, a_max)

