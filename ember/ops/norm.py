"""Normalization ops: batch, layer and group norm, with fused closed-form backwards.

Layout: a tensor (N, C, *) is viewed as (N, C, L) for batch norm and as (M, K) rows for layer
norm, so that every reduction runs over contiguous memory. Per-row sums are BLAS matrix-vector
products with a ones vector, per-row dot products are ``einsum`` (neither allocates a
temporary of the input's size).
"""
import math
import numbers

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor
from .elementwise import add, cast, mul
from .movement import reshape

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _rowsum(a2):
    """Sum of each row of a contiguous 2-D array."""
    return a2 @ np.ones(a2.shape[1], a2.dtype)


def _rowdot(a2, b2):
    """Dot product of matching rows of two contiguous 2-D arrays."""
    return np.einsum("ij,ij->i", a2, b2)


def _csum(a3):
    """Per-channel sum of (N, C, L): sum over N and L."""
    n, c, l = a3.shape
    if l == 1:
        return a3.reshape(n, c).sum(axis=0)
    return _rowsum(a3.reshape(n * c, l)).reshape(n, c).sum(axis=0)


def _cdot(a3, b3):
    """Per-channel sum of a3 * b3 over N and L."""
    n, c, l = a3.shape
    if l == 1:
        return np.einsum("ij,ij->j", a3.reshape(n, c), b3.reshape(n, c))
    return _rowdot(a3.reshape(n * c, l), b3.reshape(n * c, l)).reshape(n, c).sum(axis=0)


def _as3(x):
    n, c = x.shape[0], x.shape[1]
    return np.ascontiguousarray(x).reshape(n, c, -1)


class BatchNorm(Function):
    """Normalize each channel of (N, C, *) by batch statistics (training) or running ones.

    Inputs are x, then weight and bias where present (``affine``).
    """

    def forward(self, x, *wb, running_mean, running_var, training, momentum, eps):
        x3 = _as3(x)
        n, c, l = x3.shape
        m = n * l
        w = wb[0] if wb else None
        b = wb[1] if wb else None
        self.shape, self.m, self.training, self.w = x.shape, m, training, w
        if training:
            if m <= 1:
                raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}")
            mean = _csum(x3) / m
            xhat = x3 - mean[:, None]
            var = _cdot(xhat, xhat) / m  # two passes: stable where E[x^2] - E[x]^2 is not
            invstd = 1 / np.sqrt(var + eps)
            xhat *= invstd[:, None]
            if running_mean is not None:
                # PyTorch keeps the unbiased variance in running_var.
                running_mean *= 1 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
                running_var *= 1 - momentum
                running_var += (momentum * var * (m / (m - 1))).astype(running_var.dtype, copy=False)
            self.xhat, self.invstd = xhat, invstd
            if w is None:
                return xhat.reshape(x.shape).copy()  # xhat stays private to backward
            y = xhat * w[:, None]
            y += b[:, None]
            return y.reshape(x.shape)
        invstd = (1 / np.sqrt(running_var + eps)).astype(x.dtype, copy=False)
        mean = running_mean.astype(x.dtype, copy=False)
        scale = invstd if w is None else w * invstd
        shift = -mean * scale if b is None else b - mean * scale
        self.x3, self.mean, self.invstd, self.scale = x3, mean, invstd, scale
        y = x3 * scale[:, None]
        y += shift[:, None]
        return y.reshape(x.shape)

    def backward(self, gy):
        gy3 = _as3(gy)
        gb = _csum(gy3)
        nw = len(self.inputs) - 1
        if not self.training:
            gx = None
            if self.needs_grad(0):
                gx = np.empty(self.shape, gy.dtype)
                np.multiply(gy3, self.scale[:, None], out=gx.reshape(gy3.shape))
            if nw == 0:
                return gx
            # xhat = (x - mean) * invstd, so sum(gy * xhat) needs no xhat array
            gw = self.invstd * (_cdot(gy3, self.x3) - self.mean * gb) if self.needs_grad(1) else None
            return gx, gw, gb
        xhat, invstd, m = self.xhat, self.invstd, self.m
        gw = _cdot(gy3, xhat)  # d(loss)/d(weight) = sum(gy * xhat)
        gx = None
        if self.needs_grad(0):
            scale = invstd if self.w is None else self.w * invstd
            # gx = scale * (gy - mean(gy) - xhat * mean(gy * xhat)), in place on one buffer that
            # has the input's shape, so the engine can hand it to a leaf without a copy
            gx = np.empty(self.shape, xhat.dtype)
            g3 = gx.reshape(xhat.shape)
            np.multiply(xhat, (-gw / m)[:, None], out=g3)
            g3 += gy3
            g3 -= (gb / m)[:, None]
            g3 *= scale[:, None]
        if nw == 0:
            return gx
        return gx, gw, gb


def _check_float(v, name, who):
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{who}: {name} must be a number, got {v!r}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C, *) per channel C.

    In training, normalizes by the batch mean and biased variance and, when running stats are
    given (ndarrays of shape (C,)), updates them in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the unbiased variance.
    Otherwise normalizes by the running stats.

    Args:
        weight, bias: (C,) or None.
    Returns:
        Tensor of the input's shape.
    """
    x = as_tensor(x)
    if x.data.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    c = x.data.shape[1]
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    if (rm is None) != (rv is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if rm is None and not training:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    for name, a in (("running_mean", rm), ("running_var", rv)):
        if a is not None and a.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input shape {x.shape}, got {a.shape}")
    _check_float(eps, "eps", "batch_norm")
    if training and rm is not None:
        _check_float(momentum, "momentum", "batch_norm")
    if (weight is None) != (bias is None):
        # One fused path for both or neither; a lone weight or bias composes.
        y = batch_norm(x, rm, rv, None, None, training, momentum, eps)
        if weight is not None:
            y = mul(y, reshape(as_tensor(weight), (c,) + (1,) * (x.data.ndim - 2)))
        if bias is not None:
            y = add(y, reshape(as_tensor(bias), (c,) + (1,) * (x.data.ndim - 2)))
        return y
    wb = ()
    if weight is not None:
        wb = (as_tensor(weight), as_tensor(bias))
        for name, t in zip(("weight", "bias"), wb):
            if t.data.shape != (c,):
                raise ValueError(f"batch_norm: {name} must have shape ({c},) for input shape {x.shape}, got {t.shape}")
        if x.data.dtype != wb[0].data.dtype:
            x = cast(x, wb[0].data.dtype)
    return BatchNorm.apply(x, *wb, running_mean=rm, running_var=rv, training=bool(training),
                           momentum=momentum, eps=eps)


class LayerNorm(Function):
    """Normalize each row of (M, K) to zero mean, unit variance, then scale and shift by (K,)."""

    def forward(self, x, *wb, k, eps, has_w, has_b):
        x2 = np.ascontiguousarray(x).reshape(-1, k)
        w = wb[0] if has_w else None
        b = wb[-1] if has_b else None
        mean = _rowsum(x2) / k
        xhat = x2 - mean[:, None]
        var = _rowdot(xhat, xhat) / k
        invstd = 1 / np.sqrt(var + eps)
        xhat *= invstd[:, None]
        self.xhat, self.invstd, self.w, self.shape, self.k, self.has_b = xhat, invstd, w, x.shape, k, has_b
        if w is None and b is None:
            return xhat.reshape(x.shape).copy()  # xhat stays private to backward
        y = xhat * w if w is not None else xhat + b
        if w is not None and b is not None:
            y += b
        return y.reshape(x.shape)

    def backward(self, gy):
        gy2 = np.ascontiguousarray(gy).reshape(-1, self.k)
        xhat, invstd, w, k = self.xhat, self.invstd, self.w, self.k
        grads = []
        if self.needs_grad(0):
            g = gy2 * w if w is not None else gy2
            # gx = invstd * (g - mean(g) - xhat * mean(g * xhat)) per row, in a buffer of the
            # input's shape (a leaf then takes it without a copy)
            gx = np.empty(self.shape, xhat.dtype)
            g2 = gx.reshape(xhat.shape)
            np.multiply(xhat, (-_rowdot(g, xhat) / k)[:, None], out=g2)
            g2 += g
            g2 -= (_rowsum(g) / k)[:, None]
            g2 *= invstd[:, None]
            grads.append(gx)
        else:
            grads.append(None)
        if w is not None:
            grads.append(np.einsum("ij,ij->j", gy2, xhat) if self.needs_grad(1) else None)
        if self.has_b:
            grads.append(gy2.sum(axis=0))
        return tuple(grads)


def _norm_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims ``normalized_shape`` of each sample, then apply
    ``weight`` and ``bias`` (each of ``normalized_shape``, or None)."""
    x = as_tensor(x)
    shape = _norm_shape(normalized_shape)
    nd = len(shape)
    if nd == 0 or x.data.ndim < nd or x.data.shape[x.data.ndim - nd :] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the last dims of input shape {x.shape}")
    _check_float(eps, "eps", "layer_norm")
    k = math.prod(shape)
    wb = []
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            t = as_tensor(t)
            if t.data.shape != shape:
                raise ValueError(f"layer_norm: {name} must have shape {shape}, got {t.shape}")
            wb.append(reshape(t, k) if nd > 1 else t)
    if wb and x.data.dtype != wb[0].data.dtype:
        x = cast(x, wb[0].data.dtype)
    return LayerNorm.apply(x, *wb, k=k, eps=eps, has_w=weight is not None, has_b=bias is not None)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) over each group of C / num_groups channels (and all positions),
    then apply per-channel ``weight`` and ``bias`` (C,)."""
    x = as_tensor(x)
    if x.data.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {x.shape}")
    n, c = x.data.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: {c} channels cannot be split into {num_groups!r} groups")
    _check_float(eps, "eps", "group_norm")
    if weight is not None and x.data.dtype != as_tensor(weight).data.dtype:
        x = cast(x, as_tensor(weight).data.dtype)
    k = x.data.size // (n * num_groups) if n else 1
    y = LayerNorm.apply(x, k=k, eps=eps, has_w=False, has_b=False)
    bshape = (c,) + (1,) * (x.data.ndim - 2)
    for name, t, op in (("weight", weight, mul), ("bias", bias, add)):
        if t is not None:
            t = as_tensor(t)
            if t.data.shape != (c,):
                raise ValueError(f"group_norm: {name} must have shape ({c},), got {t.shape}")
            y = op(y, reshape(t, bshape))
    return y
