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
from ._parallel import parallel_for
from ._util import as_tensor, channels_last, is_channels_last
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


def _colsum(a2):
    """Per-channel sum of (M, C) rows: one BLAS product with a ones vector."""
    return np.ones(a2.shape[0], a2.dtype) @ a2


def _coldot(a2, b2):
    """Per-channel sum of a2 * b2 over (M, C) rows."""
    return np.einsum("ij,ij->j", a2, b2)


_BLOCK = 1 << 16  # elements per block of batch norm's passes (256 KiB of float32: stays in cache)
_RUN = 1024  # channels-last rows are passed to NumPy as runs of about this many values


class _Channels:
    """Batch norm's view of an (N, C, *) array: (N, C, L) for C order, or (N H W, C) rows for a
    channels-last (N, C, H, W) array (a convolution's output), which is read and written in
    place of a transposing copy, so ReLU, pooling and the next convolution keep their fast
    channels-last paths.

    The passes run block by block along the first axis: each block does all of a step's passes
    while it is in cache, the blocks are shared out over the cores (``parallel_for``), and
    per-channel sums are added up block by block in a fixed order, so the result does not
    depend on the number of threads. Rows of C values are short runs for NumPy (~1 ns per
    value at C = 32): a block of rows is seen as k rows at a time, k * C long, against the
    per-channel vectors tiled k times (0.2-0.4 ns per value).
    """

    def __init__(self, x):
        self.shape = x.shape
        self.rows = is_channels_last(x)
        c = x.shape[1]
        if self.rows:
            n0, self.k = x.size // c, max(1, _RUN // c)
        else:
            n0, self.k = x.shape[0], 1
        per = x.size // max(n0, 1)  # elements per index of the first axis
        self.n0, self.step = n0, max(self.k, _BLOCK // max(per, 1) // self.k * self.k)
        self.nblocks = -(-n0 // self.step)

    def view(self, a):
        """``a`` (of the input's shape) as (N, C, L) or (N H W, C); copies only to line it up."""
        if not self.rows:
            return _as3(a)
        al = a.transpose(0, 2, 3, 1)
        return np.ascontiguousarray(al).reshape(-1, al.shape[3])

    def col(self, v):
        """A per-channel vector shaped to broadcast over the view, and over a block's wide view."""
        if not self.rows:
            return v[:, None], v[:, None]
        return v, np.tile(v, self.k)

    def sum(self, a):
        return _colsum(a) if self.rows else _csum(a)

    def dot(self, a, b):
        if not self.rows:
            return _cdot(a, b)
        d = _coldot(a, b)
        return d if len(d) == self.shape[1] else d.reshape(-1, self.shape[1]).sum(axis=0)

    def empty(self, dtype):
        """A new array of the input's shape and layout, and its view (the same memory)."""
        a = channels_last(self.shape, dtype) if self.rows else np.empty(self.shape, dtype)
        return a, self.view(a)

    def out(self, y):
        """A result in the view's layout as an array of the input's shape (no copy)."""
        if not self.rows:
            return y.reshape(self.shape)
        n, c, h, w = self.shape
        return y.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def blocks(self, fn, partial_dtype=None):
        """Call ``fn(part, wide)`` for each block, on several threads: ``part(a)`` is the block
        of the view ``a``, and ``wide`` says whether it is the wide view (use ``col(v)[1]``).
        With ``partial_dtype``, ``fn`` returns a per-channel vector; returns their sum."""
        step, n0, k = self.step, self.n0, self.k
        parts = None if partial_dtype is None else np.empty((self.nblocks, self.shape[1]), partial_dtype)

        def run(s, e):
            for i in range(s, e):
                sl = slice(i * step, min(n0, (i + 1) * step))
                wide = k > 1 and (sl.stop - sl.start) % k == 0
                r = fn((lambda a: a[sl].reshape(-1, k * a.shape[1])) if wide else (lambda a: a[sl]), wide)
                if parts is not None:
                    parts[i] = r

        parallel_for(run, self.nblocks, work=math.prod(self.shape))
        return None if parts is None else parts.sum(axis=0)


class BatchNorm(Function):
    """Normalize each channel of (N, C, *) by batch statistics (training) or running ones.

    Inputs are x, then weight and bias where present (``affine``). A channels-last input
    gives a channels-last output and input gradient (see ``_Channels``).
    """

    def forward(self, x, *wb, running_mean, running_var, training, momentum, eps):
        ch = _Channels(x)
        x3 = ch.view(x)
        m = x.size // x.shape[1]
        w = wb[0] if wb else None
        b = wb[1] if wb else None
        self.ch, self.m, self.training, self.w = ch, m, training, w
        if not training:
            invstd = (1 / np.sqrt(running_var + eps)).astype(x.dtype, copy=False)
            mean = running_mean.astype(x.dtype, copy=False)
            scale = invstd if w is None else w * invstd
            shift = -mean * scale if b is None else b - mean * scale
            self.x3, self.mean, self.invstd, self.scale = x3, mean, invstd, scale
            y = np.empty(x3.shape, x.dtype)
            sc, sh = ch.col(scale), ch.col(shift)

            def affine(part, wide):
                ys = part(y)
                np.multiply(part(x3), sc[wide], out=ys)
                ys += sh[wide]

            ch.blocks(affine)
            return ch.out(y)
        if m <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}")
        mean = ch.sum(x3) / m
        mc = ch.col(mean)
        xhat = np.empty(x3.shape, x.dtype)

        def center(part, wide):  # x - mean, and its sum of squares: two passes, stable where E[x^2] - E[x]^2 is not
            d = part(xhat)
            np.subtract(part(x3), mc[wide], out=d)
            return ch.dot(d, d)

        var = ch.blocks(center, x.dtype) / m
        invstd = 1 / np.sqrt(var + eps)
        if running_mean is not None:
            # PyTorch keeps the unbiased variance in running_var.
            running_mean *= 1 - momentum
            running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
            running_var *= 1 - momentum
            running_var += (momentum * var * (m / (m - 1))).astype(running_var.dtype, copy=False)
        self.xhat, self.invstd = xhat, invstd
        y = np.empty(x3.shape, x.dtype) if w is not None else None  # xhat stays private to backward
        inv, wc, bc = ch.col(invstd), None if w is None else ch.col(w), None if b is None else ch.col(b)

        def normalize(part, wide):
            d = part(xhat)
            d *= inv[wide]
            if y is not None:
                ys = part(y)
                np.multiply(d, wc[wide], out=ys)
                if bc is not None:
                    ys += bc[wide]

        ch.blocks(normalize)
        return ch.out(xhat.copy() if y is None else y)

    def backward(self, gy):
        ch = self.ch
        gy3 = ch.view(gy)
        gb = ch.sum(gy3)
        nw = len(self.inputs) - 1
        if not self.training:
            gx = None
            if self.needs_grad(0):
                gx, g3 = ch.empty(gy.dtype)
                sc = ch.col(self.scale)
                ch.blocks(lambda part, wide: np.multiply(part(gy3), sc[wide], out=part(g3)))
            if nw == 0:
                return gx
            # xhat = (x - mean) * invstd, so sum(gy * xhat) needs no xhat array
            gw = self.invstd * (ch.dot(gy3, self.x3) - self.mean * gb) if self.needs_grad(1) else None
            return gx, gw, gb
        xhat, invstd, m = self.xhat, self.invstd, self.m
        # d(loss)/d(weight) = sum(gy * xhat)
        gw = ch.blocks(lambda part, wide: ch.dot(part(gy3), part(xhat)), gy.dtype)
        gx = None
        if self.needs_grad(0):
            scale = ch.col(invstd if self.w is None else self.w * invstd)
            a, c = ch.col(-gw / m), ch.col(gb / m)
            # gx = scale * (gy - mean(gy) - xhat * mean(gy * xhat)), in place on one buffer that
            # has the input's shape, so the engine can hand it to a leaf without a copy
            gx, g3 = ch.empty(xhat.dtype)

            def grad_in(part, wide):
                g = part(g3)
                np.multiply(part(xhat), a[wide], out=g)
                g += part(gy3)
                g -= c[wide]
                g *= scale[wide]

            ch.blocks(grad_in)
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
    if x._data.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    c = x._data.shape[1]
    rm = running_mean._data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var._data if isinstance(running_var, Tensor) else running_var
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
            y = mul(y, reshape(as_tensor(weight), (c,) + (1,) * (x._data.ndim - 2)))
        if bias is not None:
            y = add(y, reshape(as_tensor(bias), (c,) + (1,) * (x._data.ndim - 2)))
        return y
    wb = ()
    if weight is not None:
        wb = (as_tensor(weight), as_tensor(bias))
        for name, t in zip(("weight", "bias"), wb):
            if t._data.shape != (c,):
                raise ValueError(f"batch_norm: {name} must have shape ({c},) for input shape {x.shape}, got {t.shape}")
        if x._data.dtype != wb[0]._data.dtype:
            x = cast(x, wb[0]._data.dtype)
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
    if nd == 0 or x._data.ndim < nd or x._data.shape[x._data.ndim - nd :] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the last dims of input shape {x.shape}")
    _check_float(eps, "eps", "layer_norm")
    k = math.prod(shape)
    wb = []
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            t = as_tensor(t)
            if t._data.shape != shape:
                raise ValueError(f"layer_norm: {name} must have shape {shape}, got {t.shape}")
            wb.append(reshape(t, k) if nd > 1 else t)
    if wb and x._data.dtype != wb[0]._data.dtype:
        x = cast(x, wb[0]._data.dtype)
    return LayerNorm.apply(x, *wb, k=k, eps=eps, has_w=weight is not None, has_b=bias is not None)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) over each group of C / num_groups channels (and all positions),
    then apply per-channel ``weight`` and ``bias`` (C,)."""
    x = as_tensor(x)
    if x._data.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {x.shape}")
    n, c = x._data.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: {c} channels cannot be split into {num_groups!r} groups")
    _check_float(eps, "eps", "group_norm")
    if weight is not None and x._data.dtype != as_tensor(weight)._data.dtype:
        x = cast(x, as_tensor(weight)._data.dtype)
    k = x._data.size // (n * num_groups) if n else 1
    y = LayerNorm.apply(x, k=k, eps=eps, has_w=False, has_b=False)
    bshape = (c,) + (1,) * (x._data.ndim - 2)
    for name, t, op in (("weight", weight, mul), ("bias", bias, add)):
        if t is not None:
            t = as_tensor(t)
            if t._data.shape != (c,):
                raise ValueError(f"group_norm: {name} must have shape ({c},), got {t.shape}")
            y = op(y, reshape(t, bshape))
    return y
