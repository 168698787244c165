"""Convolution on (N, C, H, W) and (N, C, L) arrays: im2col and GEMMs, forward and backward.

The input is unrolled once into columns (one strided view, one copy); the forward and the
weight gradient are then one matrix product each, the input gradient one per kernel offset
(or one, folded back by strided adds: never np.add.at), skipped when the input needs no
gradient (a first layer). Ungrouped convolutions work channels-last and return their output
as an (N, C, H, W) view of (N, H, W, C) memory; ``Conv2dFunction`` says why. ``conv1d`` runs as
``conv2d`` with a kernel of height 1.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ._parallel import parallel_for
from ._util import as_tensor
from .movement import reshape

__all__ = ["conv1d", "conv2d", "conv_output_size"]


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1, ceil_mode=False):
    """Output length along one axis of a convolution or pooling window sliding over ``size``.

    Args:
        size: input length.
        kernel: window length (before dilation).
        stride, dilation: as in PyTorch.
        padding: an int (added on both sides) or a (before, after) pair.
        ceil_mode: round up (pooling), keeping only windows that start inside the input or
            the leading padding, as PyTorch does.

    Returns:
        The output length; 0 when the window does not fit.
    """
    lo, hi = (padding, padding) if isinstance(padding, (int, np.integer)) else padding
    room = size + lo + hi - (dilation * (kernel - 1) + 1)
    if room < 0:
        return 0
    if ceil_mode:
        out = -(-room // stride) + 1
        if (out - 1) * stride >= size + lo:
            out -= 1
        return out
    return room // stride + 1


def _tuple(value, n, name, fn, minimum=1):
    """An int or a sequence of n ints, as a tuple of n ints >= ``minimum``."""
    if isinstance(value, (int, np.integer)):
        t = (value,) * n
    elif isinstance(value, (tuple, list)):
        t = tuple(value)
    else:
        raise ValueError(f"{fn}: {name} must be an int or {n} ints, got {value!r}")
    if len(t) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t):
        raise ValueError(f"{fn}: {name} must be an int or {n} ints, got {value!r}")
    if any(v < minimum for v in t):
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def _same_padding(kernel, dilation):
    """(before, after) per axis for padding='same': any odd extra goes after, as in PyTorch."""
    out = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        out.append((total // 2, total - total // 2))
    return tuple(out)


def resolve_padding(padding, kernel, stride, dilation, fn):
    """Padding as one (before, after) pair per spatial axis, from an int, ints, 'same' or 'valid'."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions (stride={stride})")
            return _same_padding(kernel, dilation)
        raise ValueError(f"{fn}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    return tuple((p, p) for p in _tuple(padding, n, "padding", fn, minimum=0))


def _windows(xp, kernel, stride, dilation, out):
    """Read-only view (C, kh, kw, N, OH, OW) of every window of the padded input xp."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    n, c = xp.shape[:2]
    s = xp.strides
    return as_strided(xp, (c, kh, kw, n, oh, ow), (s[1], dh * s[2], dw * s[3], s[0], sh * s[2], sw * s[3]),
                      writeable=False)


def _pad(x, pads):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + pt + pb, w + pl + pr), x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    return xp


def _rows(shape, dtype):
    """An uninitialized array of ``shape`` whose rows (all but the first axis, flattened) sit at a
    padded stride: a row length that is a multiple of a large power of two maps every row to the
    same cache sets, and a GEMM reading such a matrix runs up to 1.4x slower."""
    n = math.prod(shape[1:])
    ld = -(-n // 16) * 16
    if ld // 16 % 2 == 0:
        ld += 16
    return np.empty((shape[0], ld), dtype)[:, :n].reshape(shape)


class Conv2dFunction(Function):
    """y = conv(x, w) + b on (N, C, H, W); ``pads`` is ((top, bottom), (left, right)).

    Ungrouped convolutions run channels-last: the columns are (N OH OW, kh kw C), one row per
    output pixel, so that

    - the forward is one GEMM, cols @ W.T, whose (N OH OW, O) result *is* y stored as
      (N, OH, OW, O): y is returned as an (N, O, OH, OW) view of it, with no transpose pass;
    - every copy into the columns moves runs of kw * C contiguous values (a window row), or,
      when that run is short (few channels), the columns are stored transposed and the copy
      moves runs of OW;
    - ReLU and 2x2 max-pooling after it read each pixel's channels contiguously, and hand
      back gradients in the same layout, so gy is (N OH OW, O) rows without a copy;
    - the input gradient is one GEMM per kernel offset, gy @ W[:, :, i, j], each added to
      a shifted window of the (N, H, W, C) gradient as runs of OW * C values (a col2im over
      the whole column matrix adds runs of only C: measured 2x slower).

    The bias rides in the GEMM as a column of ones (no pass over y), which then also yields
    the bias gradient. Grouped convolutions use
    channel-major columns (C kh kw, N OH OW), one GEMM per group.
    """

    def forward(self, x, w, b=None, *, stride, pads, dilation, groups):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], pads[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], pads[1], dilation[1])
        self.w, self.xshape, self.geometry = w, x.shape, (pads, stride, dilation)
        self.channels_last = groups == 1
        if self.channels_last:
            return self._forward_channels_last(x, w, b, (oh, ow))
        k = cg * kh * kw
        win = _windows(_pad(x, pads), (kh, kw), stride, dilation, (oh, ow))  # (C, kh, kw, N, OH, OW)
        cols = _rows((c * kh * kw, n, oh, ow), x.dtype)
        dst = cols.reshape(c, kh, kw, n, oh, ow)
        parallel_for(lambda s, e: np.copyto(dst[s:e], win[s:e]), c, work=dst.size)
        self.cols = cols = cols.reshape(groups, k, n * oh * ow)
        yt = np.matmul(w.reshape(groups, o // groups, k), cols).reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
        y = np.empty((n, o, oh, ow), x.dtype)
        if b is None:
            parallel_for(lambda s, e: np.copyto(y[s:e], yt[s:e]), n, work=y.size)
        else:  # the transpose's pass adds the bias
            bb = b.reshape(o, 1, 1)
            parallel_for(lambda s, e: np.add(yt[s:e], bb, out=y[s:e]), n, work=y.size)
        return y

    def _forward_channels_last(self, x, w, b, out):
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        (oh, ow), ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = out, *self.geometry
        xl = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a free view when x is channels-last
        if pt or pb or pl or pr:
            xp = np.zeros((n, h + pt + pb, wd + pl + pr, c), x.dtype)
            xp[:, pt:pt + h, pl:pl + wd] = xl
            xl = xp
        s0, s1, s2, s3 = xl.strides
        win = as_strided(xl, (n, oh, ow, kh, kw, c), (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3), writeable=False)
        k = kh * kw * c
        kb = k + (b is not None)  # the bias rides as a column of ones
        if kw * c >= 16:
            cols = np.empty((n * oh * ow, kb), x.dtype)
            dst = cols[:, :k].reshape(n, oh, ow, kh, kw, c)

            def copy(s, e):
                np.copyto(dst[s:e], win[s:e])
                if b is not None:  # the ones column, while these rows are in cache
                    cols[s * oh * ow:e * oh * ow, k] = 1

            parallel_for(copy, n, work=dst.size)
        else:
            # few channels (a first layer): a window row is too short a run to copy, so the
            # columns are stored transposed, (kh kw C, N OH OW), copied in runs of OW; BLAS
            # reads cols = that.T as it is (3x faster on MNIST's first layer)
            cols_t = np.empty((kb, n * oh * ow), x.dtype)
            dst = cols_t[:k].reshape(kh, kw, c, n, oh, ow)
            src = win.transpose(3, 4, 5, 0, 1, 2)
            parallel_for(lambda s, e: np.copyto(dst[:, :, :, s:e], src[:, :, :, s:e]), n, work=dst.size)
            if b is not None:
                cols_t[k] = 1
            cols = cols_t.T
        wt = np.empty((kb, o), x.dtype)  # W as (kh kw C [+ bias], O)
        wt[:k] = w.transpose(2, 3, 1, 0).reshape(k, o)
        if b is not None:
            wt[k] = b
        y = cols @ wt  # (N OH OW, O)
        self.cols, self.wt = cols, wt
        return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)

    def backward(self, gy):
        if self.channels_last:
            return self._backward_channels_last(gy)
        w, cols = self.w, self.cols
        o, cg, kh, kw = w.shape
        n, _, oh, ow = gy.shape
        k = cg * kh * kw
        has_bias = len(self.inputs) > 2
        gx = gw = gb = None
        g = cols.shape[0]
        gyt = _rows((o, n, oh, ow), gy.dtype)
        gyT = gy.transpose(1, 0, 2, 3)
        parallel_for(lambda s, e: np.copyto(gyt[s:e], gyT[s:e]), o, work=gyt.size)
        if has_bias and self.needs_grad(2):
            gb = gyt.reshape(o, -1).sum(axis=1)
        if self.needs_grad(1):
            # cols @ gy.T, the transposed product, runs faster than gy @ cols.T on OpenBLAS
            gwt = np.matmul(cols, gyt.reshape(g, o // g, -1).transpose(0, 2, 1))  # (g, k, O / g)
            gw = np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w.shape)
        self.cols = cols = None  # free the columns before the input gradient allocates its own
        if self.needs_grad(0):
            wt = w.reshape(g, o // g, k).transpose(0, 2, 1)
            if self.geometry[1] == (1, 1):
                gx = self._input_grad_wide(gyt, wt)
            else:
                gc = np.matmul(wt, gyt.reshape(g, o // g, -1))
                gx = self._col2im(gc.reshape(g * cg, kh, kw, n, oh, ow))
        return (gx, gw, gb) if has_bias else (gx, gw)

    def _backward_channels_last(self, gy):
        w, cols, wt = self.w, self.cols, self.wt
        o, c, kh, kw = w.shape
        n, _, oh, ow = gy.shape
        k = kh * kw * c
        has_bias = len(self.inputs) > 2
        gx = gw = gb = None
        gyl = gy.transpose(0, 2, 3, 1)  # (N, OH, OW, O)
        if not gyl.flags.c_contiguous:
            dense = np.empty(gyl.shape, gy.dtype)
            parallel_for(lambda s, e: np.copyto(dense[s:e], gyl[s:e]), n, work=dense.size)
            gyl = dense
        g = gyl.reshape(n * oh * ow, o)
        if self.needs_grad(1) or (has_bias and self.needs_grad(2)):
            gwt = cols.T @ g  # (kh kw C [+ 1], O): faster than g.T @ cols on OpenBLAS
            if self.needs_grad(1):
                gw = np.ascontiguousarray(gwt[:k].reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
            if has_bias and self.needs_grad(2):
                gb = gwt[k].copy()
        self.cols = cols = None  # free the columns before the input gradient allocates its own
        if self.needs_grad(0):
            gx = self._input_grad_channels_last(g, wt[:k].reshape(kh, kw, c, o), (n, oh, ow))
        return (gx, gw, gb) if has_bias else (gx, gw)

    def _input_grad_channels_last(self, g, wt4, out):
        """Sum over kernel offsets of (gy @ W[:, :, i, j]) added to the input pixels it came from."""
        n, c, h, wd = self.xshape
        ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = self.geometry
        kh, kw = wt4.shape[:2]
        _, oh, ow = out
        gxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), g.dtype)
        part = np.empty((len(g), c), g.dtype)
        part4 = part.reshape(n, oh, ow, c)
        for i in range(kh):
            for j in range(kw):
                np.matmul(g, wt4[i, j].T, out=part)
                r, q = i * dh, j * dw
                dst = gxp[:, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw]
                parallel_for(lambda s, e: np.add(dst[s:e], part4[s:e], out=dst[s:e]), n, work=part.size)
        if pt or pb or pl or pr:
            gxl = np.empty((n, h, wd, c), g.dtype)
            src = gxp[:, pt:pt + h, pl:pl + wd]
            parallel_for(lambda s, e: np.copyto(gxl[s:e], src[s:e]), n, work=gxl.size)
            gxp = gxl
        return gxp.transpose(0, 3, 1, 2)

    def _col2im(self, gc):
        """Fold columns (C, kh, kw, N, OH, OW) back onto the input: one strided add per kernel offset."""
        n, c, h, wd = self.xshape
        ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = self.geometry
        _, kh, kw, _, oh, ow = gc.shape
        # accumulate in the columns' own order (C, N), so that the adds run along rows
        gxp = np.zeros((c, n, h + pt + pb, wd + pl + pr), gc.dtype)
        acc = gxp.transpose(1, 0, 2, 3)  # indexed (N, C, H, W)
        for i in range(kh):
            for j in range(kw):
                r, q = i * dh, j * dw
                acc[:, :, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] += gc[:, i, j].transpose(1, 0, 2, 3)
        gx = np.empty((n, c, h, wd), gc.dtype)
        np.copyto(gx, acc[:, :, pt:pt + h, pl:pl + wd])
        return gx

    def _input_grad_wide(self, gyt, wt):
        """Input gradient of a stride-1 conv, with rows as long as a whole window row.

        gy is widened with zero columns to the padded input's width, so that every kernel
        offset's contribution is one contiguous run per (channel, sample) plane instead of OH
        runs of OW: the adds stop paying NumPy's per-row overhead. The zero columns spill only
        zeros onto the next row (or into a few slack elements at the end).
        """
        n, c, h, wd = self.xshape
        ((pt, pb), (pl, pr)), _, (dh, dw) = self.geometry
        o, _, oh, ow = gyt.shape
        g, k, _ = wt.shape
        kh, kw = self.w.shape[2:]
        hp, wp = h + pt + pb, wd + pl + pr
        gyw = _rows((o, n, oh, wp), gyt.dtype)

        def widen(s, e):
            gyw[s:e, ..., ow:] = 0
            gyw[s:e, ..., :ow] = gyt[s:e]

        parallel_for(widen, o, work=gyw.size)
        gcw = np.matmul(wt, gyw.reshape(g, o // g, -1)).reshape(c, kh, kw, n, oh * wp)
        plane = hp * wp
        # each channel's planes get their own slack, so that the zeros spilled past a channel's
        # last plane never land on the next channel, which another thread may be adding into
        slack = (kw - 1) * dw
        cstride = n * plane + slack
        flat = np.zeros(c * cstride, gyt.dtype)
        item = flat.itemsize

        def fold(s, e):  # channels [s, e)
            for i in range(kh):
                for j in range(kw):
                    start = s * cstride + i * dh * wp + j * dw
                    dst = as_strided(flat[start:], (e - s, n, oh * wp), (cstride * item, plane * item, item))
                    dst += gcw[s:e, i, j]

        parallel_for(fold, c, work=gcw.size)
        gxp = flat.reshape(c, cstride)[:, :n * plane].reshape(c, n, hp, wp)
        gx = np.empty((n, c, h, wd), gyt.dtype)
        src = gxp[:, :, pt:pt + h, pl:pl + wd].transpose(1, 0, 2, 3)
        parallel_for(lambda s, e: np.copyto(gx[s:e], src[s:e]), n, work=gx.size)
        return gx


def _pad_index(size, lo, hi, mode):
    """Source index of every padded position along one axis."""
    i = np.arange(-lo, size + hi)
    if mode == "reflect":
        period = 2 * (size - 1)
        i = np.abs((i + period) % period if period else i * 0)
        return np.where(i >= size, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    return i % size  # circular


class ModePadFunction(Function):
    """Reflect, replicate or circular padding of the last two axes, for Conv's ``padding_mode``."""

    def forward(self, x, *, pads, mode):
        (pt, pb), (pl, pr) = pads
        h, w = x.shape[-2:]
        ih, iw = _pad_index(h, pt, pb, mode), _pad_index(w, pl, pr, mode)
        # one-hot (padded, source) matrices: the gradient sums the copies back with two GEMMs
        self.mh = (ih[:, None] == np.arange(h)).astype(x.dtype)
        self.mw = (iw[:, None] == np.arange(w)).astype(x.dtype)
        return x[..., ih[:, None], iw]

    def backward(self, gy):
        return np.matmul(np.matmul(self.mh.T, gy), self.mw)


def mode_pad(x, pads, mode, fn):
    """Pad the last two axes by ((top, bottom), (left, right)) in PyTorch's ``padding_mode``
    'reflect', 'replicate' or 'circular'; 'zeros' returns x, the convolution pads it itself."""
    if mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(f"{fn}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if mode == "zeros" or not any(lo or hi for lo, hi in pads):
        return x
    for size, (lo, hi) in zip(x.shape[-2:], pads):
        if max(lo, hi) > (size - 1 if mode == "reflect" else size):
            rule = "less than" if mode == "reflect" else "at most"
            raise ValueError(f"{fn}: {mode} padding of {max(lo, hi)} must be {rule} the input size, "
                             f"got input of shape {x.shape}")
    return ModePadFunction.apply(x, pads=tuple(pads), mode=mode)


def _check_conv_args(x, weight, bias, groups, fn, nd):
    axes = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    if x._data.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 2}-D input {axes}, got shape {x.shape}")
    if weight._data.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, kernel), "
                         f"got shape {weight.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    if x.shape[1] != cg * groups:
        raise ValueError(f"{fn}: input has {x.shape[1]} channels (shape {x.shape}) but weight of shape "
                         f"{weight.shape} with groups={groups} expects {cg * groups}")
    if o % groups:
        raise ValueError(f"{fn}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{fn}: expected bias of shape ({o},), got {bias.shape}")
    if x._data.dtype != weight._data.dtype or (bias is not None and bias._data.dtype != x._data.dtype):
        got = (x.dtype, weight.dtype) + ((bias.dtype,) if bias is not None else ())
        raise TypeError(f"{fn}: input, weight and bias must have one float dtype, got {', '.join(map(str, got))}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating input, got {x.dtype}")


def check_window_fits(sizes, kernel, stride, pads, dilation, fn):
    """Raise, naming the sizes, when a window does not fit in the padded input."""
    out = [conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(sizes, kernel, stride, pads, dilation)]
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        padded = tuple(s + lo + hi for s, (lo, hi) in zip(sizes, pads))
        dilated = f" (dilated {span})" if span != tuple(kernel) else ""
        padded = f" (padded {padded})" if padded != tuple(sizes) else ""
        raise ValueError(f"{fn}: input of spatial size {tuple(sizes)}{padded} is smaller than "
                         f"the kernel {tuple(kernel)}{dilated}")


def _conv_args(x, weight, bias, stride, padding, dilation, groups, fn, nd):
    """Checked arguments of an ``nd``-D convolution: tensors (x batched), stride, (before, after)
    pads and dilation as tuples, and whether x came unbatched."""
    x = as_tensor(x)
    weight = as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    unbatched = x._data.ndim == nd + 1
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    _check_conv_args(x, weight, bias, groups, fn, nd)
    stride = _tuple(stride, nd, "stride", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    pads = resolve_padding(padding, weight.shape[2:], stride, dilation, fn)
    check_window_fits(x.shape[2:], weight.shape[2:], stride, pads, dilation, fn)
    return x, weight, bias, stride, pads, dilation, unbatched


def _conv2d(x, weight, bias, stride, pads, dilation, groups):
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2dFunction.apply(*inputs, stride=stride, pads=pads, dilation=dilation, groups=int(groups))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C, H, W) or (C, H, W) input.

    Args:
        x: input, (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kh, kw).
        bias: (C_out,) or None.
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' (none) or 'same' (output as large as the input,
            stride 1 only; an odd total puts the extra row/column at the bottom/right).
        groups: split the channels into this many independent convolutions.

    Shape:
        Output (N, C_out, OH, OW) with OH = conv_output_size(H, kh, stride, padding, dilation).
    """
    x, weight, bias, stride, pads, dilation, unbatched = _conv_args(
        x, weight, bias, stride, padding, dilation, groups, "conv2d", 2)
    y = _conv2d(x, weight, bias, stride, pads, dilation, groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) or (C, L) input; runs as conv2d with a kernel of height 1.

    Args:
        x: input, (N, C_in, L) or unbatched (C_in, L).
        weight: (C_out, C_in / groups, k).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: as in ``conv2d``, with one value per argument.

    Shape:
        Output (N, C_out, L_out) with L_out = conv_output_size(L, k, stride, padding, dilation).
    """
    x, weight, bias, stride, pads, dilation, unbatched = _conv_args(
        x, weight, bias, stride, padding, dilation, groups, "conv1d", 1)
    n, c, length = x.shape
    y = _conv2d(reshape(x, (n, c, 1, length)), reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:]), bias,
                (1,) + stride, ((0, 0),) + pads, (1,) + dilation, groups)
    y = reshape(y, (n, y.shape[1], y.shape[3]))
    return reshape(y, y.shape[1:]) if unbatched else y
