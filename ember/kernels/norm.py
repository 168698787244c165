"""Normalization kernels: ``ember.ops.norm``'s references rearranged for speed, on arrays.

The references compose mean, subtract, multiply and divide (five to eight passes over the
input forward, as many Functions backward). These kernels are one Function each, with the
closed-form backward ``gx = scale (gy - mean(gy) - xhat mean(gy xhat))``, and read memory in
its layout: batch norm a channels-last (N, C, H, W) input (a convolution's output) as
(N H W, C) rows, block by block on several threads; layer norm contiguous rows, per-row sums
as BLAS matrix-vector products. Their backward works on arrays only (``dual = False``);
``reference`` recomputes the output with the reference ops, which higher-order gradients
differentiate.
"""
import math

import numpy as np

from ..autograd import Function
from ..ops._parallel import parallel_for
from ..ops._util import channels_last, is_channels_last
from ..ops.movement import reshape
from ..ops.norm import _affine, _normalize, batch_norm_reference, update_running_stats
from ._blas import col_sums as _colsum, row_sums as _rowsum

__all__ = ["BatchNorm", "LayerNorm", "batch_norm", "batch_stats", "layer_norm", "group_norm"]


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


def _coldot(a2, b2):
    """Per-channel sum of a2 * b2 over (M, C) rows."""
    return np.einsum("ij,ij->j", a2, b2)


# elements per block of batch norm's passes (1 MiB of float32: a core's L2 on the 2-core machine).
# Forward+backward on channels-last input, 2 threads, best of 10 runs alternating block sizes:
# 2**18 against 2**16 took (64, 32, 32, 32) 5.3-6.1 against 6.1-7.6 ms, (64, 64, 16, 16) 3.1-3.2
# against 3.6-4.3 ms, (64, 128, 8, 8) 1.8 against 2.0-2.6 ms; 2**14 blocks (more Python per
# element) 1.6-1.8x slower, 2**19 slower again (5-20%).
_BLOCK = 1 << 18
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


def batch_stats(ch, x3, centered=None):
    """Per-channel mean and biased variance of ``x3`` (``ch``'s view of the input) in two
    passes, the sum, then the centered sum of squares (stable where E[x^2] - E[x]^2 is not);
    ``centered``, an array of the view's shape, receives x - mean (else each block's is
    dropped). ``BatchNorm`` and ``ember.kernels.fused`` share it: the same bits in both."""
    m = x3.size // ch.shape[1]
    mean = ch.sum(x3) / m
    mc = ch.col(mean)

    def center(part, wide):
        xs = part(x3)
        d = np.empty(xs.shape, xs.dtype) if centered is None else part(centered)
        np.subtract(xs, mc[wide], out=d)
        return ch.dot(d, d)

    return mean, ch.blocks(center, x3.dtype) / m


class BatchNorm(Function):
    """``ember.ops.norm.batch_norm_reference`` for weight and bias both given or both None:
    each channel of (N, C, *) normalized by batch statistics (training) or running ones.

    Inputs are x, then weight and bias where present. A channels-last input gives a
    channels-last output and input gradient (see ``_Channels``); the running stats are updated
    in the same passes. Justified by the ``cifar`` line of ``python -m benchmarks`` (three
    BatchNorm2d layers on convolution outputs) and the "CIFAR BatchNorm2d(32)" line of
    ``python -m benchmarks.layers``.
    """

    def forward(self, x, *wb, running_mean, running_var, training, momentum, eps):
        ch = _Channels(x)
        x3 = ch.view(x)
        m = x.size // x.shape[1]
        w = wb[0] if wb else None
        b = wb[1] if wb else None
        self.ch, self.m, self.training, self.w, self.eps = ch, m, training, w, eps
        if not training:
            invstd = (1 / np.sqrt(running_var + eps)).astype(x.dtype, copy=False)
            mean = running_mean.astype(x.dtype)  # a copy: the reference reads the stats as they were
            scale = invstd if w is None else w * invstd
            shift = -mean * scale if b is None else b - mean * scale
            self.x3, self.mean, self.invstd, self.scale = x3, mean, invstd, scale
            self.stats = mean, running_var.copy()
            y = np.empty(x3.shape, x.dtype)
            sc, sh = ch.col(scale), ch.col(shift)

            def affine(part, wide):
                ys = part(y)
                np.multiply(part(x3), sc[wide], out=ys)
                ys += sh[wide]

            ch.blocks(affine)
            return ch.out(y)
        # d = x - mean is kept for backward (xhat = d * invstd is never stored): y comes from
        # d in one multiply by w * invstd (and one add of b), a pass fewer than scaling d
        # into xhat first
        d = np.empty(x3.shape, x.dtype)
        mean, var = batch_stats(ch, x3, d)
        invstd = 1 / np.sqrt(var + eps)
        if running_mean is not None:
            update_running_stats(running_mean, running_var, mean, var, m, momentum)
        self.d, self.invstd = d, invstd
        y = np.empty(x3.shape, x.dtype)
        sc, bc = ch.col(invstd if w is None else w * invstd), None if b is None else ch.col(b)

        def normalize(part, wide):
            ys = part(y)
            np.multiply(part(d), sc[wide], out=ys)
            if bc is not None:
                ys += bc[wide]

        ch.blocks(normalize)
        return ch.out(y)

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
        d, invstd, m = self.d, self.invstd, self.m
        # d(loss)/d(weight) = sum(gy * xhat) = invstd * sum(gy * (x - mean))
        gw = invstd * ch.blocks(lambda part, wide: ch.dot(part(gy3), part(d)), gy.dtype)
        gx = None
        if self.needs_grad(0):
            scale = ch.col(invstd if self.w is None else self.w * invstd)
            a, c = ch.col(-gw * invstd / m), ch.col(gb / m)
            # gx = scale * (gy - mean(gy) - xhat * mean(gy * xhat)), xhat * (-mean(gy * xhat))
            # as d * a, in place on one buffer that has the input's shape, so the engine can
            # hand it to a leaf without a copy
            gx, g3 = ch.empty(d.dtype)

            def grad_in(part, wide):
                g = part(g3)
                np.multiply(part(d), a[wide], out=g)
                g += part(gy3)
                g -= c[wide]
                g *= scale[wide]

            ch.blocks(grad_in)
        if nw == 0:
            return gx
        return gx, gw, gb

    def reference(self, x, *wb):
        """The output recomputed with the reference ops (for create_graph=True); training
        mode normalizes by the batch again, without touching the running stats."""
        w, b = wb if wb else (None, None)
        stats = (None, None) if self.training else self.stats
        return batch_norm_reference(x, *stats, w, b, self.training, 0.0, self.eps)


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """The kernel on ``batch_norm_reference``'s checked arguments. A lone weight or bias (no
    fused path) is applied after the kernel's normalization."""
    if (weight is None) != (bias is None):
        y = BatchNorm.apply(x, running_mean=running_mean, running_var=running_var, training=training,
                            momentum=momentum, eps=eps)
        return _affine(y, weight, bias, (x.shape[1],) + (1,) * (x.ndim - 2))
    wb = () if weight is None else (weight, bias)
    return BatchNorm.apply(x, *wb, running_mean=running_mean, running_var=running_var, training=training,
                           momentum=momentum, eps=eps)


class LayerNorm(Function):
    """``ember.ops.norm.layer_norm_reference`` on (M, K) rows: each row to zero mean and unit
    variance, then scaled and shifted by (K,) weight and bias; group norm's normalization too
    (one row per sample and group). One pass for the statistics (BLAS or einsum row sums),
    one for the output, and a closed-form backward.

    No line of ``python -m benchmarks`` runs it yet. Forward + backward against the reference
    (float32, 2 busy cores): layer norm of (128, 512) with weight and bias 0.31-0.45 ms
    against 0.61-0.89 ms; group norm of (64, 32, 16, 16) in 8 groups 3.9-5.1 ms against
    7.2-12 ms; on (8192, 256) rows it is no faster (0.8-1.1x, within the machine's noise).
    """

    def forward(self, x, *wb, k, eps, has_w, has_b):
        x2 = np.ascontiguousarray(x).reshape(-1, k)
        w = wb[0] if has_w else None
        b = wb[-1] if has_b else None
        mean = _rowsum(x2) / k
        xhat = x2 - mean[:, None]
        var = _rowdot(xhat, xhat) / k
        invstd = 1 / np.sqrt(var + eps)
        xhat *= invstd[:, None]
        self.xhat, self.invstd, self.w, self.shape = xhat, invstd, w, x.shape
        self.k, self.eps, self.has_w, self.has_b = k, eps, has_w, has_b
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
            grads.append(_colsum(gy2))
        return tuple(grads)

    def reference(self, x, *wb):
        """The output recomputed with the reference ops (for create_graph=True)."""
        w = wb[0] if self.has_w else None
        b = wb[-1] if self.has_b else None
        y = _normalize(reshape(x, (-1, self.k)), (1,), self.eps)[0]
        return reshape(_affine(y, w, b, (self.k,)), x.shape)


def layer_norm(x, shape, weight, bias, eps):
    """The kernel on ``layer_norm_reference``'s checked arguments (weight and bias of
    ``shape`` are flattened to rows of k = prod(shape) values)."""
    k = math.prod(shape)
    wb = [t if len(shape) == 1 else reshape(t, k) for t in (weight, bias) if t is not None]
    return LayerNorm.apply(x, *wb, k=k, eps=eps, has_w=weight is not None, has_b=bias is not None)


def group_norm(x, num_groups, weight, bias, eps):
    """``group_norm_reference`` with LayerNorm's rows: one row per (sample, group)."""
    n, c = x.shape[:2]
    k = x._data.size // (n * num_groups) if n else 1
    y = LayerNorm.apply(x, k=k, eps=eps, has_w=False, has_b=False)
    return _affine(y, weight, bias, (c,) + (1,) * (x.ndim - 2))
