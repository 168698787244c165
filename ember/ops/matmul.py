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


def matmul(a, b, *, out=None):
    """``a @ b``: matrices, vectors (promoted and squeezed back) and batches of matrices."""
    a = as_tensor(a)
    b = as_tensor(b, a)
    if out is not None:
        from ._util import write_out

        return write_out(matmul(a, b), out, "matmul", exact=True)
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a._data.ndim}D "
                           f"and {b._data.ndim}D")
    if a._data.shape[-1] != b._data.shape[-2 if b._data.ndim > 1 else 0]:
        sa = "x".join(map(str, a._data.shape[-2:] if a._data.ndim > 1 else (1,) + a._data.shape))
        sb = "x".join(map(str, b._data.shape[-2:] if b._data.ndim > 1 else b._data.shape + (1,)))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
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
