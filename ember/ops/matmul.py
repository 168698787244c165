"""Matrix product, 2-D and batched, with NumPy's broadcasting of the batch axes."""
import numpy as np

from ..autograd import Function
from ._util import as_tensor, unbroadcast
from .movement import reshape


class MatMul(Function):
    """``a @ b`` on matrices or batches of them (the batch axes broadcast)."""

    dual = True

    def forward(self, a, b):
        # each operand only if the other one's gradient needs it
        self.save_for_backward(a if self.needs_grad(1) else None, b if self.needs_grad(0) else None)
        return a @ b

    def backward(self, gy):
        a, b = self.saved_tensors
        if not self._graph and 0 in gy.strides and gy.size > 1:
            gy = np.ascontiguousarray(gy)  # a broadcast gradient (from .sum()): BLAS is ~35x slower on it
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(gy @ b.swapaxes(-1, -2), self.inputs[0]._data.shape)
        if self.needs_grad(1):
            gb = unbroadcast(a.swapaxes(-1, -2) @ gy, self.inputs[1]._data.shape)
        return ga, gb


def matmul(a, b):
    """``a @ b``: matrices, vectors (promoted and squeezed back) and batches of matrices."""
    a = as_tensor(a)
    b = as_tensor(b, a)
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    if a._data.shape[-1] != b._data.shape[-2 if b._data.ndim > 1 else 0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    va, vb = a._data.ndim == 1, b._data.ndim == 1
    if va:
        a = reshape(a, 1, -1)
    if vb:
        b = reshape(b, -1, 1)
    y = MatMul.apply(a, b)
    if va or vb:
        s = y._data.shape
        s = s[:-2] + ((s[-2],) if not va else ()) + ((s[-1],) if not vb else ())
        y = reshape(y, s)
    return y
