"""The ops behind Linear, Dropout and Embedding, each a composition of ember ops.

``linear`` is ``x @ weight.T + bias``, ``dropout`` a product with a random mask, and
``embedding`` an indexing of the weight's rows; their gradients (of any order) come from those
ops. Linear's fused fast path (one GEMM forward, two back, the ReLU in place) and the no-grad
``linear_chain`` are ``ember.kernels.layers``, used when ``ember.kernels.enabled()``.
"""
import numbers
import warnings

import numpy as np

from .. import backend, kernels
from ..autograd import no_grad
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .elementwise import cast, mul, relu as _relu, where
from .matmul import matmul
from .movement import getitem, transpose
from . import embedding_bag as _eb

__all__ = ["linear", "dropout", "dropout2d", "embedding", "one_hot"]  # and linear_chain, for nn.Sequential


def _float_like(x, dtype):
    """``x`` as a Tensor of the weight's float ``dtype`` (a differentiable cast if needed)."""
    x = x if isinstance(x, TensorBase) else as_tensor(np.asarray(x) if isinstance(x, list) else x)
    return x if x._data.dtype == dtype else cast(x, dtype)


def linear_reference(x, weight, bias=None, relu=False):
    """linear on checked Tensors: x (*, in_features), weight (out, in), bias (out,) or None."""
    y = matmul(x, transpose(weight, 0, 1))
    if bias is not None:
        y = y + bias
    return _relu(y) if relu else y


def linear(x, weight, bias=None, relu=False):
    """Affine map ``x @ weight.T + bias`` (then ReLU, with ``relu``).

    Args:
        x: input of shape (*, in_features); cast to the weight's dtype if it differs.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    w = weight if isinstance(weight, TensorBase) else as_tensor(weight)
    if w._data.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(w.shape)}")
    x = _float_like(x, w._data.dtype)
    if x._data.ndim == 0 or x._data.shape[-1] != w._data.shape[1]:
        raise ValueError(
            f"linear: weight of shape {tuple(w.shape)} expects input with {w._data.shape[1]} features, "
            f"got shape {tuple(x.shape)}"
        )
    b = None
    if bias is not None:
        b = bias if isinstance(bias, TensorBase) else as_tensor(bias)
        if b._data.shape != (w._data.shape[0],):
            raise ValueError(f"linear: bias must have shape ({w._data.shape[0]},), got {tuple(b.shape)}")
    if kernels.enabled():
        return _kernels.linear(x, w, b, relu)
    return linear_reference(x, w, b, relu)


def linear_chain(x, layers):
    """Inference through consecutive Linear layers, each with or without a ReLU after it, as
    nn.Sequential runs them when no gradient is recorded. Returns an ndarray; builds no graph.

    ``x`` is an ndarray (*, in_features), cast to the weights' dtype; ``layers`` holds
    ``(weight, bias or None, relu)`` as ndarrays. The values are those of ``linear`` layer by
    layer. With kernels on this is ``ember.kernels.layers.linear_chain`` (plain NumPy, no
    Tensor per layer); otherwise ``linear`` per layer under no_grad.
    """
    if kernels.enabled():
        return _kernels.linear_chain(x, layers)
    with no_grad():
        h = _float_like(from_op(np.asarray(x), None), layers[0][0].dtype)
        for w, b, r in layers:
            h = linear_reference(h, as_tensor(w), None if b is None else as_tensor(b), r)
    return h._data


def _check_p(p, who):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: probability p must be between 0 and 1, got {p!r}")


def _dropout(x, p, training, generator, mask_shape, who):
    _check_p(p, who)
    if not training or p == 0:
        return x
    dt = x._data.dtype
    if p == 1:
        mask = np.zeros((1,) * x._data.ndim, dt)
    else:
        u = backend.rng(generator).random(mask_shape, dtype=np.float32 if dt == np.float32 else np.float64)
        # keep with P = 1 - p, scaled by 1/(1-p) (inverted dropout: eval needs no rescale), in one pass
        mask = np.multiply(u >= p, dt.type(1.0 / (1.0 - p)), dtype=dt)
    return mul(x, from_op(mask, None))  # the mask is a constant: its gradient is not needed


def dropout(x, p=0.5, training=True, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity if not training).

    The mask is drawn from ember's generator (or ``generator``), so ``manual_seed`` repeats it.
    """
    x = x if isinstance(x, TensorBase) else as_tensor(x)
    return _dropout(x, p, training, generator, x._data.shape, "dropout")


def dropout2d(x, p=0.5, training=True, generator=None):
    """Zero whole channels of (N, C, H, W) input with probability ``p``, scale the rest.

    As PyTorch 2.13 does (its warnings included): a 3-D input is taken as (N, C, L), channel
    by channel along L, not as an unbatched (C, H, W); other ranks of at least 2 warn and
    drop each (n, c) entry of the first two axes, a 2-D input therefore element by element
    (PyTorch's MNIST RNN example applies ``nn.Dropout2d`` to (N, features))."""
    x = x if isinstance(x, TensorBase) else as_tensor(x)
    nd = x._data.ndim
    _check_p(p, "dropout2d")
    if nd not in (3, 4):
        warnings.warn(f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      "inputs).")
    if nd == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.")
    if nd < 2 and training:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _dropout(x, p, training, generator, x._data.shape[:2] + (1,) * (nd - 2), "dropout2d")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input`` (*).

    Returns (*, embedding_dim). Rows at ``padding_idx`` receive no gradient. ``max_norm``:
    the rows looked up whose ``norm_type``-norm exceeds it are first scaled to it, in place in
    ``weight`` and outside the graph (as PyTorch). ``scale_grad_by_freq``: each row's gradient
    is divided by how often its id occurs in ``input``. ``sparse=True`` raises
    NotImplementedError (ember has no sparse gradients).
    """
    w = weight if isinstance(weight, TensorBase) else as_tensor(weight)
    idx = input._data if isinstance(input, TensorBase) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if w._data.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got shape {tuple(w._data.shape)}")
    _eb.check_sparse(sparse, "embedding")
    n = w._data.shape[0]
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = hi if hi >= n else (lo if lo < 0 else None)
        if bad is not None:
            raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings (valid: 0 to {n - 1})")
    padding_idx = _eb.padding_index(padding_idx, n)
    if max_norm is not None:
        _eb.embedding_renorm_(w, idx, max_norm, norm_type)
    y = getitem(w, idx)  # the gradient scatter-adds rows of gy into the rows that were read
    if scale_grad_by_freq and idx.size and _eb.scaled_grad_needed(w):
        y = _eb.GradScale.apply(y, scale=_eb.freq_scale(idx, n, w._data.dtype))
    if padding_idx is None:
        return y
    # the lookups of padding_idx are cut from the graph: that row gets no gradient
    pad = (idx == padding_idx)[..., None]
    return where(pad, y.detach(), y) if pad.any() else y


from .indexing import one_hot  # noqa: E402,F401  (F.one_hot)
from ..kernels import layers as _kernels  # noqa: E402  (the kernels import this module's references)
