"""Batch norm, ReLU and a 2x2 max-pool as one op: ``max_pool2d(relu(batch_norm(x)), 2)``.

A CIFAR-style block ends Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d(2). Module by module,
batch norm writes its full-size output y = (x - mean) * invstd * w + b, pooling reads it back,
and the backward runs the other way: the pooling's full-size gradient, then batch norm's sums
over it and its input gradient. With a positive weight, batch norm is increasing in x within
each channel, so a window's largest y is the y of its largest x (rounding keeps the order).
This op therefore pools x itself and normalizes only the 4x smaller pooled values:

    forward:  mean, var over x (``batch_stats``, the same bits as ``BatchNorm``);
              q = max_2x2(x); y = relu((q - mean) * (w invstd) + b) on the pooled size
    backward: gq = gy where y > 0; the sums batch norm's backward needs run over the pooled
              size (gy of the full-size output is gq at each window's winner, 0 elsewhere):
                  sum(gy) = sum(gq), sum(gy * xhat) = sum(gq * xhat at the winner);
              gx = scale (gy - sum(gy) / m - xhat sum(gy * xhat) / m), scale = w * invstd:
              the dense part at every element, then scale * gq added at the winners.

The values equal module by module's bit for bit (the same stats, the same ops on the winning
elements). The gradients agree to rounding: batch norm's sums run over the pooled positions,
in another order. They can differ in where a window's gradient goes only when two of its inputs
are so close that batch norm rounds them to the same output: module by module sends it to the
first of them, this op to the larger (each is a maximum's gradient).

Taken only where that holds and pays: training (batch statistics), channels-last input (a
convolution's output), weight None or positive and finite, bias finite, finite statistics, a
2x2 window of stride 2; every other case runs the two kernels it replaces. Justified by the
``cifar`` line of ``python -m benchmarks`` (three such blocks; ``ember.nn.utils.fuse`` makes
them). Forward + backward on 2 threads (2-vCPU Xeon VM), BatchNorm then ReLU + max-pool
against this op: (64, 32, 32, 32) 8.3-8.4 -> 6.9-7.1 ms, (64, 64, 16, 16) 4.6-4.7 -> 4.1-4.3
ms, (64, 128, 8, 8) 3.1-3.3 -> 2.6-2.9 ms; the CIFAR step 49.3 -> 46.6 ms (best of 4 runs
each, alternating). The pooling's column passes run along C-long runs of channels-last
memory, which is most of what is left.
"""
import numpy as np

from ..autograd import Function
from ..ops._parallel import parallel_for
from ..ops._util import all_finite, channels_last, empty_as, is_channels_last, keep_grad
from ..ops.norm import update_running_stats
from ._blas import col_sums
from .norm import _RUN, BatchNorm, _Channels, batch_stats
from .pool import max_2x2, max_pool2d, route_2x2

__all__ = ["BatchNormReLUMaxPool2d", "batch_norm_relu_max_pool2d"]

def _rows(a):
    """A channels-last (N, C, H, W) array as contiguous rows of k pixels (k C values), k about
    ``_RUN / C`` where the pixels divide (else 1): per-channel vectors tiled k times (``_fit``)
    then broadcast along long runs, not C-long ones (~1 ns a value at C = 32)."""
    c = a.shape[1]
    al = a.transpose(0, 2, 3, 1)
    k = max(1, _RUN // c)
    return al.reshape(-1, k * c if (al.size // c) % k == 0 else c)


def _fit(v, rows):
    """The per-channel vector v tiled to the width of ``rows``."""
    return v if rows.shape[1] == v.size else np.tile(v, rows.shape[1] // v.size)


class BatchNormReLUMaxPool2d(Function):
    """relu(max_pool2d(batch_norm(x), 2)) in training, for inputs ``batch_norm_relu_max_pool2d``
    has checked: x channels-last (N, C, H, W), then weight and bias if given; ``mean`` and
    ``var`` the batch's (``batch_stats``). Array-only backward (``dual = False``);
    ``reference`` recomputes the output with the reference ops for higher-order gradients."""

    def forward(self, x, *wb, mean, var, eps):
        n, c, h, wd = x.shape
        out = (h // 2, wd // 2)
        w, b = wb if wb else (None, None)
        invstd = 1 / np.sqrt(var + eps)
        scale = invstd if w is None else w * invstd
        self.w, self.mean, self.invstd, self.eps, self.out = w, mean, invstd, eps, out
        y = channels_last((n, c) + out, x.dtype)
        xhat = channels_last((n, c) + out, x.dtype)  # each window winner's, for the backward
        low = channels_last((n, c, out[0], 2 * out[1]), bool)
        to_right = channels_last((n, c) + out, bool)

        def part(s, e):
            max_2x2(x[s:e], y[s:e], low[s:e], to_right[s:e])
            # batch norm's ops on the winners, in BatchNorm's order: the same bits
            q, d = _rows(y[s:e]), _rows(xhat[s:e])
            np.subtract(q, _fit(mean, q), out=d)
            np.multiply(d, _fit(scale, d), out=q)
            if b is not None:
                q += _fit(b, q)
            d *= _fit(invstd, d)
            np.maximum(q, 0, out=q)

        parallel_for(part, n, work=x.size)
        self.y, self.xhat, self.low, self.to_right = y, xhat, low, to_right
        return y

    def backward(self, gy):
        x = self.inputs[0]._data
        y, xhat, w = self.y, self.xhat, self.w
        n, c = x.shape[:2]
        m = x.size // c
        if not is_channels_last(gy):  # from a Flatten: one copy of the pooled gradient lines it up
            g_cl = empty_as(y, dtype=gy.dtype)
            np.copyto(g_cl, gy)
            gy = g_cl
        finite = all_finite(gy)
        gq = gy * (y != 0) if finite else keep_grad(gy, y != 0)  # the ReLU's gradient, channels-last
        gq2 = gq.transpose(0, 2, 3, 1).reshape(-1, c)
        gb = col_sums(gq2)  # sum(gy) over the full-size output
        gw = np.einsum("ij,ij->j", gq2, xhat.transpose(0, 2, 3, 1).reshape(-1, c))  # sum(gy xhat)
        gx = None
        if self.needs_grad(0):
            invstd, mean = self.invstd, self.mean
            scale = invstd if w is None else w * invstd
            # the dense part, scale (-sum(gy) / m - (x - mean) invstd sum(gy xhat) / m), at every
            # element; then scale gq added at each window's winner
            k1 = -scale * invstd * gw / m
            k0 = -scale * gb / m
            gx = channels_last(x.shape, x.dtype)

            def part(s, e):
                g, xs = _rows(gx[s:e]), _rows(x[s:e])
                np.subtract(xs, _fit(mean, xs), out=g)
                g *= _fit(k1, g)
                g += _fit(k0, g)
                r = _rows(gq[s:e])
                gs = (r * _fit(scale, r)).reshape(e - s, *gq.shape[2:], c).transpose(0, 3, 1, 2)
                route_2x2(gs, self.to_right[s:e], self.low[s:e], gx[s:e], add=True, finite=finite)

            parallel_for(part, n, work=x.size)
        if len(self.inputs) == 1:
            return gx
        return gx, (gw if self.needs_grad(1) else None), (gb if self.needs_grad(2) else None)

    def reference(self, x, *wb):
        """The output recomputed with the reference ops (for create_graph=True)."""
        from ..ops.elementwise import relu
        from ..ops.norm import batch_norm_reference
        from ..ops.pool import max_pool2d_reference

        w, b = wb if wb else (None, None)
        y = relu(batch_norm_reference(x, None, None, w, b, True, 0.0, self.eps))
        return max_pool2d_reference(y, (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1), self.out)


def _takes(x, w, b, training):
    """Whether the fused op takes this batch norm (see the module's docstring)."""
    if not training or x._data.ndim != 4 or not is_channels_last(x._data) or (w is None) != (b is None):
        return False
    return w is None or bool(np.all(w._data > 0) and all_finite(w._data) and all_finite(b._data))


def batch_norm_relu_max_pool2d(x, running_mean, running_var, weight, bias, training, momentum, eps, pool):
    """max_pool2d(relu(batch_norm(x, ...)), **pool) on batch_norm's checked arguments (Tensors
    x, weight, bias; running stats arrays or None) and a 2x2, stride-2 window (``pool``: the
    pooling kernel's arguments ``kernel, stride, pads, dilation, out, fast``)."""
    from .norm import batch_norm

    if _takes(x, weight, bias, training):
        ch = _Channels(x._data)
        mean, var = batch_stats(ch, ch.view(x._data))
        if running_mean is not None:
            update_running_stats(running_mean, running_var, mean, var, x._data.size // x._data.shape[1], momentum)
        wb = () if weight is None else (weight, bias)
        if all_finite(mean) and all_finite(var):
            return BatchNormReLUMaxPool2d.apply(x, *wb, mean=mean, var=var, eps=eps)
        # an inf or NaN in x: module by module routes its windows (the stats are updated)
        y = BatchNorm.apply(x, *wb, running_mean=None, running_var=None, training=True, momentum=momentum, eps=eps)
    else:
        y = batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    return max_pool2d(y, *pool, relu=True)

