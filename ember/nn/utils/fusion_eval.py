"""Folding an eval-mode BatchNorm into the convolution or linear layer before it, as
``torch.nn.utils.fusion``: ``fuse_conv_bn_eval(conv, bn)`` returns a new conv whose output is
bn(conv(x)), with weight w * gamma / sqrt(var + eps) (per output channel) and bias
(b - mean) * gamma / sqrt(var + eps) + beta. Done once, in NumPy, outside any graph."""
import copy

import numpy as np

from ..._tensor import Tensor
from ..module import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _arr(t):
    return None if t is None else (t._data if isinstance(t, Tensor) else np.asarray(t))


def _rg(t):
    return bool(getattr(t, "requires_grad", False))


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The (weight, bias) Parameters of the convolution that equals conv then batch norm.

    ``transpose``: the weight is a transposed convolution's (in, out / groups, *k), so the
    scale runs along dim 1. The fused weight keeps conv_w's dtype, the bias conv_b's (conv_w's
    when there is none); each keeps its source's ``requires_grad``.
    """
    w, rm, rv = _arr(conv_w), _arr(bn_rm), _arr(bn_rv)
    b = _arr(conv_b)
    w_dtype, b_dtype = w.dtype, (b.dtype if b is not None else w.dtype)
    b = np.zeros_like(rm) if b is None else b
    g = np.ones_like(rm) if bn_w is None else _arr(bn_w)
    beta = np.zeros_like(rm) if bn_b is None else _arr(bn_b)
    rsqrt = 1 / np.sqrt(rv + bn_eps)
    shape = [1, -1] if transpose else [-1, 1]
    shape += [1] * (w.ndim - 2)
    fw = (w * (g * rsqrt).reshape(shape)).astype(w_dtype)
    fb = ((b - rm) * rsqrt * g + beta).astype(b_dtype)
    return Parameter(fw, _rg(conv_w)), Parameter(fb, _rg(conv_b) if conv_b is not None else False)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` with ``bn`` folded in; both must be in eval mode."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_conv_bn_eval needs bn's running statistics (track_running_stats=True)")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The (weight, bias) Parameters of the Linear layer that equals linear then batch norm."""
    w, rm, rv = _arr(linear_w), _arr(bn_rm), _arr(bn_rv)
    b = _arr(linear_b)
    b = np.zeros_like(rm) if b is None else b
    g = np.ones_like(rm) if bn_w is None else _arr(bn_w)
    beta = np.zeros_like(rm) if bn_b is None else _arr(bn_b)
    scale = g / np.sqrt(rv + bn_eps)
    fw = (w * scale[:, None]).astype(w.dtype)
    fb = ((b - rm) * scale + beta).astype(w.dtype if linear_b is None else b.dtype)
    return Parameter(fw, _rg(linear_w)), Parameter(fb, _rg(linear_b) if linear_b is not None else False)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` with ``bn`` folded in; both must be in eval mode."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
