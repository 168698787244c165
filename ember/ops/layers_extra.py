"""The ops behind Bilinear and the rest of the dropout layers, compositions of ember ops.

``bilinear`` is y_o = x1 A_o x2 + b_o, as one matmul of x1 with the weight laid out
(in1, out * in2) and a product-sum with x2. ``dropout1d``/``dropout3d`` zero whole channels;
``alpha_dropout``/``feature_alpha_dropout`` keep SELU's self-normalization: dropped values are
set to SELU's negative saturation and an affine map restores the mean and variance (PyTorch's
constants). Masks come from ember's generator, so ``manual_seed`` repeats them.
"""
import numbers
import warnings

import numpy as np

from .. import backend
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .elementwise import cast, mul
from .matmul import matmul
from .movement import permute, reshape, unsqueeze
from .reduce import sum as _sum

__all__ = ["bilinear", "dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _t(x):
    return x if isinstance(x, TensorBase) else as_tensor(x)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o].

    input1 (*, in1), input2 (*, in2) with the same leading dims, weight (out, in1, in2),
    bias (out,) or None; returns (*, out).
    """
    w = _t(weight)
    x1, x2 = _t(input1), _t(input2)
    dt = w._data.dtype
    x1 = x1 if x1._data.dtype == dt else cast(x1, dt)
    x2 = x2 if x2._data.dtype == dt else cast(x2, dt)
    if w._data.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got {w._data.ndim} dimensions")
    o, i, j = w._data.shape
    s1, s2 = x1._data.shape, x2._data.shape
    if len(s1) != len(s2):
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {len(s1)} and {len(s2)}")
    for d in range(len(s1) - 1):
        if s1[d] != s2[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got {s1[d]} and {s2[d]}")
    if not s1 or s1[-1] != i:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {s1[-1] if s1 else 0} but "
                           f"expected {i}")
    if s2[-1] != j:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {s2[-1]} but expected {j}")
    b = None
    if bias is not None:
        b = _t(bias)
        if b._data.ndim != 1 or b._data.shape[0] != o:
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                               f"{b._data.shape[0] if b._data.ndim else b._data.size} but expected {o}")
    lead = s1[:-1]
    u = matmul(reshape(x1, (-1, i)), reshape(permute(w, (1, 0, 2)), (i, o * j)))  # (B, out * in2)
    y = _sum(reshape(u, (-1, o, j)) * unsqueeze(reshape(x2, (-1, j)), 1), dim=2)  # (B, out)
    y = reshape(y, lead + (o,))
    return y + b if b is not None else y


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep(x, p, shape, generator):
    """A 0/1 mask of ``shape`` in x's dtype, each 1 with probability 1 - p."""
    dt = x._data.dtype
    u = backend.rng(generator).random(shape, dtype=np.float32 if dt == np.float32 else np.float64)
    return (u >= p).astype(dt)


def _channel_dropout(x, p, training, shape, generator):
    _check_p(p)
    if not training or p == 0:
        return x
    dt = x._data.dtype
    if p == 1:
        return mul(x, from_op(np.zeros((1,) * x._data.ndim, dt), None))
    mask = _keep(x, p, shape, generator) * dt.type(1.0 / (1.0 - p))
    return mul(x, from_op(mask, None))


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``, scale the rest
    by 1 / (1 - p). ``inplace`` is accepted and ignored."""
    x = _t(input)
    nd = x._data.ndim
    _check_p(p)
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(x, p, training, x._data.shape[:-1] + (1,), generator)


def dropout3d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``,
    scale the rest by 1 / (1 - p). Other ranks warn and are taken as unbatched, as PyTorch."""
    x = _t(input)
    nd = x._data.ndim
    _check_p(p)
    if nd not in (4, 5):
        warnings.warn(f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will result in "
                      "an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      "inputs).", stacklevel=2)
    shape = x._data.shape[:2] + (1,) * (nd - 2) if nd == 5 else x._data.shape[:1] + (1,) * (nd - 1)
    return _channel_dropout(x, p, training, shape, generator)


_ALPHA = 1.7580993408473766  # -SELU's scale * alpha: SELU's limit at -inf, negated


def _alpha_dropout(x, p, training, shape, generator):
    _check_p(p)
    if not training or p == 0:
        return x
    dt = x._data.dtype
    if p == 1:
        return mul(x, from_op(np.zeros((), dt), None))
    keep = _keep(x, p, shape, generator)
    a = 1.0 / np.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p).astype(dt)
    return mul(x, from_op((keep * a).astype(dt), None)) + from_op(b, None)


def alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """Alpha dropout (Klambauer et al., 2017): each element, with probability ``p``, set to
    SELU's negative saturation -1.7581, then ``a x + b`` keeps zero mean and unit variance.
    ``training`` defaults to False, as PyTorch's."""
    x = _t(input)
    return _alpha_dropout(x, p, training, x._data.shape, generator)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, generator=None):
    """Alpha dropout of whole channels (dims 0 and 1 draw, the rest share the draw)."""
    x = _t(input)
    _check_p(p)
    if training and 0 < p < 1 and x._data.size and x._data.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _alpha_dropout(x, p, training, x._data.shape[:2] + (1,) * (x._data.ndim - 2), generator)
