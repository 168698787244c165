"""The ops behind Linear, Dropout and Embedding, each one fused Function with its own backward.

``linear`` is the hot path of every MLP: one GEMM forward, two GEMMs backward, nothing copied.
"""
import math
import numbers

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor
from .elementwise import cast

__all__ = ["linear", "dropout", "dropout2d", "embedding"]  # and linear_chain, for nn.Sequential


def _float_like(x, dtype):
    """``x`` as a Tensor of the weight's float ``dtype`` (a differentiable cast if needed)."""
    x = x if isinstance(x, Tensor) else as_tensor(np.asarray(x) if isinstance(x, list) else x)
    return x if x._data.dtype == dtype else cast(x, dtype)


class Linear(Function):
    """y = x @ W.T + b over any leading dims; keeps x and W, not b (Chainer's retain_inputs)."""

    def forward(self, x, w, b=None):
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # not -1: sizes may be 0
        y = x2 @ w.T  # BLAS reads W transposed in place
        if b is not None:
            y += b
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
        gb = gy2.sum(axis=0) if self.needs_grad(2) else None
        return gx, gw, gb


class LinearReLU(Linear):
    """relu(x @ W.T + b) in one op: the ReLU runs in place on the GEMM's fresh result, and its
    backward masks gy by the saved output before Linear's backward (nn.Sequential uses it)."""

    def forward(self, x, w, b=None):
        y = super().forward(x, w, b)
        np.maximum(y, 0, out=y)
        self.y = y
        return y

    def backward(self, gy):
        return super().backward(gy * (self.y != 0))  # see ReLU.backward


def linear(x, weight, bias=None, relu=False):
    """Affine map ``x @ weight.T + bias`` (then ReLU, with ``relu``).

    Args:
        x: input of shape (*, in_features); cast to the weight's dtype if it differs.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    w = weight if isinstance(weight, Tensor) else as_tensor(weight)
    if w._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    x = _float_like(x, w._data.dtype)
    if x._data.ndim == 0 or x._data.shape[-1] != w._data.shape[1]:
        raise ValueError(
            f"linear: weight of shape {w.shape} expects input with {w._data.shape[1]} features, "
            f"got shape {x.shape}"
        )
    op = LinearReLU if relu else Linear
    if bias is None:
        return op.apply(x, w)
    b = bias if isinstance(bias, Tensor) else as_tensor(bias)
    if b._data.shape != (w._data.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w._data.shape[0]},), got {b.shape}")
    return op.apply(x, w, b)


def linear_chain(x, layers):
    """Inference through consecutive Linear layers, each with or without a ReLU after it, as
    nn.Sequential runs them when no gradient is recorded. Returns an ndarray; builds no graph.

    ``x`` is an ndarray (*, in_features), cast to the weights' dtype; ``layers`` holds
    ``(weight, bias or None, relu)`` as ndarrays. Each layer is its GEMM, then the bias and the
    ReLU in place on the GEMM's result: the same operations, in the same order, as the
    layer-by-layer forward, so the values are the same.

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


class _MaskMul(Function):
    """y = x * mask, where the mask already holds 0 or 1/(1-p) and may broadcast over x."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, gy):
        return gy * self.mask


def _check_p(p, who):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: probability p must be between 0 and 1, got {p!r}")


def _dropout(x, p, training, generator, mask_shape, who):
    _check_p(p, who)
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if not training or p == 0:
        return x
    dt = x._data.dtype
    if p == 1:
        return _MaskMul.apply(x, mask=np.zeros((1,) * x._data.ndim, dt))
    u = backend.rng(generator).random(mask_shape, dtype=np.float32 if dt == np.float32 else np.float64)
    # keep with P = 1 - p, scaled by 1/(1-p) (inverted dropout: eval needs no rescale), in one pass
    mask = np.multiply(u >= p, dt.type(1.0 / (1.0 - p)), dtype=dt)
    return _MaskMul.apply(x, mask=mask)


def dropout(x, p=0.5, training=True, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity if not training).

    The mask is drawn from ember's generator (or ``generator``), so ``manual_seed`` repeats it.
    """
    x = x if isinstance(x, Tensor) else as_tensor(x)
    return _dropout(x, p, training, generator, x._data.shape, "dropout")


def dropout2d(x, p=0.5, training=True, generator=None):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p``, scale the rest."""
    x = x if isinstance(x, Tensor) else as_tensor(x)
    if x._data.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected (N, C, H, W) or (C, H, W) input, got shape {x.shape}")
    return _dropout(x, p, training, generator, x._data.shape[:-2] + (1, 1), "dropout2d")


class Embedding(Function):
    """y = weight[idx]; the gradient scatter-adds rows of gy into the rows that were read."""

    def forward(self, w, idx, padding_idx):
        self.idx, self.wshape, self.padding_idx = idx, w.shape, padding_idx
        return w[idx]

    def backward(self, gy):
        rows = gy.reshape(-1, gy.shape[-1])
        gw = np.zeros(self.wshape, gy.dtype)
        # Repeated indices must add up. Sort + reduceat, bincount per column and a segmented
        # cumsum were measured: none beat np.add.at by more than 2x on every shape tried.
        np.add.at(gw, self.idx.reshape(-1), rows)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw, None


def embedding(input, weight, padding_idx=None):
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input`` (*).

    Returns (*, embedding_dim). Rows at ``padding_idx`` receive no gradient.
    """
    w = weight if isinstance(weight, Tensor) else as_tensor(weight)
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    n = w._data.shape[0]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = hi if hi >= n else (lo if lo < 0 else None)
        if bad is not None:
            raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings (valid: 0 to {n - 1})")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings")
        padding_idx %= n
    return Embedding.apply(w, Tensor._from_op(idx, None), padding_idx=padding_idx)
