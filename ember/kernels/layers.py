"""Linear kernels: ``ember.ops.layers.linear_reference`` rearranged for speed, on arrays.

The reference is three ops (a transpose, a matmul that broadcasts over the leading dims, a
bias add), and a fourth for the ReLU, each a graph node with its own arrays. ``Linear`` is one
op: the input flattened to a matrix, one GEMM forward reading W transposed in place, the bias
and the ReLU in place on the GEMM's result, two GEMMs backward written into buffers of the
inputs' shapes. ``linear_chain`` runs a stack of them under no_grad on plain arrays.
"""
import math

import numpy as np

from ..autograd import Function
from . import _blas
from ..ops._util import keep_grad
from ..ops.layers import linear_reference

__all__ = ["Linear", "LinearReLU", "linear", "linear_chain"]


class Linear(Function):
    """``linear_reference(x, w, b)``: y = x @ W.T + b over any leading dims; keeps x and W, not
    b (Chainer's retain_inputs). Justified by the ``mlp`` line of ``python -m benchmarks``
    (MNIST MLP epoch: three Linear layers forward and backward per batch) and the
    "MNIST Linear(784, 256)" line of ``python -m benchmarks.layers``.
    """

    relu = False

    def forward(self, x, w, b=None):
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # not -1: sizes may be 0
        if b is None or b.dtype != x.dtype or w.dtype != x.dtype:
            y = x2 @ w.T  # BLAS reads W transposed in place
            if b is not None:
                y += b
        else:  # the bias written first and added by the GEMM (beta = 1): one pass fewer
            y = np.empty((x2.shape[0], w.shape[0]), x.dtype)
            y[...] = b
            _blas.gemm(x2, w.T, y, accumulate=True)
        self.x2, self.w, self.xshape = x2, w, x.shape
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, gy):
        gy2 = gy.reshape(self.x2.shape[0], gy.shape[-1])
        gx = None
        if self.needs_grad(0):
            # written into a buffer of x's shape: a leaf x then owns it without a copy
            gx = np.empty(self.xshape, gy.dtype)
            np.matmul(gy2, self.w, out=gx.reshape(gy2.shape[0], self.w.shape[1]))
        gw = gy2.T @ self.x2 if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gw
        gb = _blas.col_sums(gy2) if self.needs_grad(2) else None
        return gx, gw, gb

    def reference(self, x, w, b=None):
        """The output recomputed with the reference ops (for create_graph=True)."""
        return linear_reference(x, w, b, relu=self.relu)


class LinearReLU(Linear):
    """``linear_reference(x, w, b, relu=True)`` in one op: the ReLU runs in place on the GEMM's
    fresh result, and its backward masks gy by the saved output before Linear's backward
    (no second array, no second pass). Justified by the ``mlp`` line of
    ``python -m benchmarks``: nn.Sequential runs each Linear -> ReLU pair of the MLP as one.
    """

    relu = True

    def forward(self, x, w, b=None):
        y = super().forward(x, w, b)
        np.maximum(y, 0, out=y)
        self.y = y
        return y

    def backward(self, gy):
        return super().backward(keep_grad(gy, self.y != 0))  # it passes where y != 0: see ReLU


def linear(x, w, b, relu):
    """The kernel on ``linear_reference``'s checked Tensors."""
    op = LinearReLU if relu else Linear
    return op.apply(x, w) if b is None else op.apply(x, w, b)


def linear_chain(x, layers):
    """Inference through consecutive Linear layers on arrays: ``linear_reference`` layer by
    layer under no_grad, without a Tensor or graph node per layer and with little Python.

    ``x`` is an ndarray (*, in_features), cast to the weights' dtype; ``layers`` holds
    ``(weight, bias or None, relu)`` as ndarrays. Returns an ndarray. Each layer is its GEMM,
    then the bias and the ReLU in place on the GEMM's result: the same operations, in the same
    order, as ``Linear``'s forward, so the values are the same. Justified by the ``inference``
    line of ``python -m benchmarks`` (the MLP at batch 1000 under no_grad).

    An earlier version made one pass instead of two by moving each ReLU layer's bias into the
    next layer (relu(h + b) = max(h, -b) + b). That saved about 2% of a batch-1000 forward but
    cancelled catastrophically where a bias is large against the pre-activations (a float32
    bias of -1e5 gave 65% error) and turned a -inf bias into NaN, so it is gone.
    """
    lead = x.shape[:-1]
    h = x.reshape(math.prod(lead), x.shape[-1]).astype(layers[0][0].dtype, copy=False)
    for w, b, relu in layers:
        h = h @ w.T
        if b is not None:
            h += b
        if relu:
            np.maximum(h, 0, out=h)
    return h.reshape(lead + (h.shape[-1],))
