"""Max, average and adaptive average pooling over (N, C, H, W) and (N, C, L) arrays.

The common 2x2, stride-2 window takes a fast path in two passes: pairs of rows (long
contiguous runs), then pairs of columns of the half-size result. Other windows loop over the
kh * kw kernel offsets, each a strided view of the whole input, never over pixels. Max-pool
keeps which offset won (the first maximum in row-major order on ties, as PyTorch) and routes
the gradient there alone. The 2x2 max-pool keeps a channels-last input's layout (a
convolution's output), in its output, masks and input gradient.
"""
import numpy as np

from ..autograd import Function
from ._parallel import parallel_for
from ._util import as_tensor, empty_as, is_channels_last
from .conv import _tuple, conv_output_size
from .movement import reshape

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def _offsets(kernel, stride, dilation, out):
    """(i, j, slices) for each kernel offset: the strided view of every window's (i, j) element."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            yield i * kw + j, (..., slice(r, r + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw))


def _padded(x, pads, size, value):
    """x in a (N, C, *size) array filled with ``value``, x placed after the leading pads."""
    (pt, _), (pl, _) = pads
    h, w = x.shape[2:]
    if (pt, pl) == (0, 0) and size[0] <= h and size[1] <= w:
        return x  # the windows read only the first size[0] x size[1] elements
    xp = np.full(x.shape[:2] + size, value, x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x[:, :, :size[0] - pt, :size[1] - pl]
    return xp


def _padded_size(kernel, stride, dilation, out):
    # every window lies inside this size; with ceil_mode the last one may overhang the padding
    return tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(out, kernel, stride, dilation))


def _unpad(gxp, xshape, pads):
    """The input gradient from the padded one: crop the padding (and the unread border)."""
    (pt, _), (pl, _) = pads
    h, w = xshape[2:]
    gx = np.zeros(xshape, gxp.dtype)
    hh, ww = min(h, gxp.shape[2] - pt), min(w, gxp.shape[3] - pl)
    gx[:, :, :hh, :ww] = gxp[:, :, pt:pt + hh, pl:pl + ww]
    return gx


def _route_nan_2x2(top, bottom, low, to_right):
    """Point the masks of the 2x2 windows that hold a NaN at the NaN PyTorch picks.

    PyTorch scans a window in row-major order and takes a NaN over any number, and a later NaN
    over an earlier one: the last NaN wins. The comparisons of the fast path are false for NaN,
    so they route such a window elsewhere (the output, NaN, is right either way)."""
    nt, nb = np.isnan(top), np.isnan(bottom)
    in_bottom = nb[..., 0::2] | nb[..., 1::2]
    nan = in_bottom | nt[..., 0::2] | nt[..., 1::2]
    right = np.where(in_bottom, nb[..., 1::2], nt[..., 1::2])  # the last NaN's column
    to_right[nan] = right[nan]
    for col, pick in ((low[..., 0::2], nan & ~right), (low[..., 1::2], nan & right)):
        col[pick] = in_bottom[pick]  # its row: the bottom one if that holds a NaN


class MaxPool2dFunction(Function):
    """Max pooling; with ``relu=True``, ReLU of it in the same op (see ``max_pool``)."""

    def forward(self, x, *, kernel, stride, pads, dilation, out, fast, relu=False):
        self.xshape = x.shape
        if fast:
            y = self._forward_2x2(x, out, relu)
            self.relu_out = y if relu else None  # the ReLU's mask is y != 0
            return y
        self.params = kernel, stride, pads, dilation, out
        xp = _padded(x, pads, _padded_size(kernel, stride, dilation, out), -np.inf)
        offsets = _offsets(kernel, stride, dilation, out)
        y = xp[next(offsets)[1]].copy()
        arg = np.zeros(y.shape, np.uint8 if kernel[0] * kernel[1] <= 256 else np.int32)
        for k, sl in offsets:
            v = xp[sl]
            # offsets come in increasing order, so "arg = k where v > y" is a maximum; strictly
            # greater keeps the first maximum on ties
            np.maximum(arg, np.multiply(np.greater(v, y), k, dtype=arg.dtype), out=arg)
            np.maximum(y, v, out=y)  # propagates NaN, as PyTorch does
        if np.isnan(np.max(y)):  # a window holds a NaN: PyTorch routes to its last NaN
            for k, sl in _offsets(kernel, stride, dilation, out):
                np.copyto(arg, k, where=np.isnan(xp[sl]))
        if xp is not x and np.isneginf(y).any():
            # a window of -inf only: PyTorch routes to its first element inside the input,
            # where the strict > above left the first offset, which may be padding
            (pt, _), (pl, _) = pads
            inside = np.zeros(xp.shape[2:], bool)
            inside[pt:pt + x.shape[2], pl:pl + x.shape[3]] = True
            first = np.zeros(y.shape[2:], arg.dtype)
            for k, sl in reversed(list(_offsets(kernel, stride, dilation, out))):
                first[inside[sl]] = k
            np.copyto(arg, first, where=np.isneginf(y))
        if relu:
            np.maximum(y, 0, out=y)
        self.arg, self.relu_out = arg, (y if relu else None)
        return y

    def _forward_2x2(self, x, out, relu):
        oh, ow = out
        n, c = x.shape[:2]
        # outputs and masks in x's layout: channels-last after a convolution, where every
        # pass below then runs over contiguous channels
        y = empty_as(x, (n, c, oh, ow))
        lower = empty_as(x, (n, c, oh, 2 * ow), bool)
        to_right = empty_as(x, (n, c, oh, ow), bool)

        def part(s, e):  # samples [s, e): a part's row maxima stay in cache for the column pass
            xs = x[s:e, :, :2 * oh, :2 * ow]
            top, bottom = xs[:, :, 0::2], xs[:, :, 1::2]
            # rows first: the passes over the whole input read whole rows
            rows = np.maximum(top, bottom)
            low = lower[s:e]
            np.greater(bottom, top, out=low)  # on a tie the top row (first in row-major order) wins
            left, right = rows[..., 0::2], rows[..., 1::2]
            np.maximum(left, right, out=y[s:e])
            tr = to_right[s:e]
            np.greater(right, left, out=tr)
            # Rows first breaks one tie unlike PyTorch's row-major scan: the bottom-left won its
            # column and the top-right holds the same maximum; PyTorch picks the top-right.
            tie = np.equal(left, right)
            if tie.any():
                tie &= low[..., 0::2]
                tie &= ~low[..., 1::2]
                tr |= tie
            if np.isnan(np.max(y[s:e])):  # one reduction; NaN windows are rare
                _route_nan_2x2(top, bottom, low, tr)
            if relu:  # while this part's maxima are in cache
                np.maximum(y[s:e], 0, out=y[s:e])

        parallel_for(part, n, work=x.size)
        self.lower, self.to_right = lower, to_right
        return y

    def backward(self, gy):
        if "arg" not in self.__dict__:
            return self._backward_2x2(gy)
        kernel, stride, pads, dilation, out = self.params
        arg = self.arg
        if self.relu_out is not None:
            gy = gy * (self.relu_out != 0)  # y >= 0 or NaN: see ReLU.backward
        gxp = np.zeros(self.xshape[:2] + _padded_size(kernel, stride, dilation, out), gy.dtype)
        for k, sl in _offsets(kernel, stride, dilation, out):
            gxp[sl] += gy * np.equal(arg, k)
        return _unpad(gxp, self.xshape, self.params[2])

    def _backward_2x2(self, gy):
        n, c, h, w = self.xshape
        oh, ow = gy.shape[2:]
        even = (h, w) == (2 * oh, 2 * ow)
        like = self.lower  # in the forward input's layout, as gx is
        gx = empty_as(like, self.xshape, gy.dtype, zero=not even)
        if is_channels_last(like) and not is_channels_last(gy):
            # gy in C order (from a Flatten) and masks channels-last: mixed strides in every
            # pass below cost 4x; one copy of the (small) pooled gradient lines them up
            g_cl = empty_as(like, gy.shape, gy.dtype)
            np.copyto(g_cl, gy)
            gy = g_cl

        relu_out = self.relu_out

        def part(s, e):
            # route to the winning column (g * mask and g - g * mask), then to the winning row
            g = gy[s:e]
            if relu_out is not None:  # ReLU's gradient first, on this part's (cached) rows
                g = g * (relu_out[s:e] != 0)
            grows = empty_as(like[s:e], dtype=gy.dtype)
            np.multiply(g, self.to_right[s:e], out=grows[..., 1::2])
            np.subtract(g, grows[..., 1::2], out=grows[..., 0::2])
            gxs = gx[s:e]
            np.multiply(grows, self.lower[s:e], out=gxs[:, :, 1:2 * oh:2, :2 * ow])
            np.subtract(grows, gxs[:, :, 1:2 * oh:2, :2 * ow], out=gxs[:, :, 0:2 * oh:2, :2 * ow])

        parallel_for(part, n, work=gx.size)
        return gx


class AvgPool2dFunction(Function):
    def forward(self, x, *, kernel, stride, pads, out, divisor, fast):
        self.xshape, self.params = x.shape, (kernel, stride, pads, out, fast)
        if fast:
            oh, ow = out
            x = x[:, :, :2 * oh, :2 * ow]
            rows = np.add(x[:, :, 0::2], x[:, :, 1::2])
            y = np.add(rows[..., 0::2], rows[..., 1::2])
        else:
            size = _padded_size(kernel, stride, (1, 1), out)
            xp = _padded(x, pads, size, 0)
            offsets = _offsets(kernel, stride, (1, 1), out)
            y = xp[next(offsets)[1]].copy()
            for _, sl in offsets:
                y += xp[sl]
        self.scale = np.asarray(1 / divisor, x.dtype)  # divisor: a number or an (OH, OW) array
        y *= self.scale
        return y

    def backward(self, gy):
        kernel, stride, pads, out, fast = self.params
        g = gy * self.scale
        if fast:
            n, c, h, w = self.xshape
            oh, ow = out
            even = (h, w) == (2 * oh, 2 * ow)
            gx = np.empty(self.xshape, gy.dtype) if even else np.zeros(self.xshape, gy.dtype)
            # every element of a window gets the same share: widen the rows, copy to both rows
            grow = np.repeat(g, 2, axis=3)
            gx[:, :, 0:2 * oh:2, :2 * ow] = grow
            gx[:, :, 1:2 * oh:2, :2 * ow] = grow
            return gx
        gxp = np.zeros(self.xshape[:2] + _padded_size(kernel, stride, (1, 1), out), gy.dtype)
        for _, sl in _offsets(kernel, stride, (1, 1), out):
            gxp[sl] += g
        return _unpad(gxp, self.xshape, pads)


def _avg_divisor(sizes, kernel, stride, pads, out, count_include_pad):
    """PyTorch's divisor per output: the window clipped to input + padding (or to the input)."""
    counts = []
    for size, k, s, (lo, _), o in zip(sizes, kernel, stride, pads, out):
        start = np.arange(o) * s - lo
        end = np.minimum(start + k, size + lo)
        if not count_include_pad:
            end, start = np.minimum(end, size), np.maximum(start, 0)
        counts.append(end - start)
    div = np.multiply.outer(counts[0], counts[1]).astype(np.float64)
    return div.flat[0] if (div == div.flat[0]).all() else div


def check_window(kernel_size, stride, padding, dilation, fn, nd):
    """Validate a pooling window; return kernel, stride, padding and dilation as tuples of nd ints."""
    kernel = _tuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None or stride == () or stride == [] else _tuple(stride, nd, "stride", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    padding = _tuple(padding, nd, "padding", fn, minimum=0)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{fn}: padding should be at most half of the (dilated) kernel size, got "
                             f"padding={padding} for kernel_size={kernel}")
    return kernel, stride, padding, dilation


def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, fn, nd):
    """Validate; return the input and the window as 2-D parameters, with the output size."""
    x = as_tensor(x)
    if x._data.ndim not in (nd + 1, nd + 2):
        axes = "(N, C, H, W) or (C, H, W)" if nd == 2 else "(N, C, L) or (C, L)"
        raise ValueError(f"{fn}: expected input of shape {axes}, got shape {x.shape}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating input, got {x.dtype}")
    kernel, stride, padding, dilation = check_window(kernel_size, stride, padding, dilation, fn, nd)
    sizes = x.shape[-nd:]
    out = tuple(conv_output_size(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(f"{fn}: input of spatial size {tuple(sizes)} is too small for kernel_size={kernel}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    if nd == 1:  # run as 2-D with a window of height 1
        kernel, stride, dilation, padding, out = (1,) + kernel, (1,) + stride, (1,) + dilation, (0,) + padding, (1,) + out
    sizes = x.shape[-2:] if nd == 2 else (1, x.shape[-1])
    # the two-pass path: a 2x2 window, stride 2, whose output drops any odd last row/column
    fast = (kernel == (2, 2) and stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
            and out == (sizes[0] // 2, sizes[1] // 2))
    return x, kernel, stride, tuple((p, p) for p in padding), dilation, out, fast


def _run_2d(fn_class, x, nd, **params):
    """Apply a 2-D pooling Function to (N, C, H, W), (C, H, W), (N, C, L) or (C, L) input."""
    shape = x.shape
    n = shape[0] if x._data.ndim == nd + 2 else 1
    x4 = x if x._data.ndim == 4 else reshape(x, (n, shape[-nd - 1]) + (1,) * (nd == 1) + shape[-nd:])
    y = fn_class.apply(x4, **params)
    out = shape[:-nd] + y.shape[-nd:]
    return y if out == y.shape else reshape(y, out)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input; padding counts as -inf.

    Args:
        kernel_size: window, an int or a pair.
        stride: window step, defaults to kernel_size.
        padding: added on both sides, at most half the window.
        dilation: spacing between window elements.
        ceil_mode: keep a last, partial window when the input does not divide evenly.

    Shape:
        Output (N, C, OH, OW), OH = conv_output_size(H, kh, stride, padding, dilation, ceil_mode).
    """
    return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling over (N, C, L) or (C, L) input; arguments as ``max_pool2d``, one value each."""
    return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool1d", 1)


def max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, fn, nd, relu=False):
    """``max_pool1d`` (nd=1) or ``max_pool2d`` (nd=2); errors name ``fn``.

    ``relu=True`` returns relu(max_pool(x)), which equals max_pool(relu(x)) in values and
    gradients (ReLU is monotone: the window's maximum wins either way, and the gradient is zero
    in both orders where the output is 0). ``nn.Sequential`` runs a ReLU followed by a
    MaxPool2d so: the ReLU's pass then runs over the 4x smaller output, inside the pooling's
    own passes while their rows are in cache, and keeps no array of its own."""
    x, kernel, stride, pads, dilation, out, fast = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                              fn, nd)
    return _run_2d(MaxPool2dFunction, x, nd, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=out,
                   fast=fast, relu=relu)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W) input.

    Args:
        kernel_size, stride, padding, ceil_mode: as ``max_pool2d``; padding counts as zeros.
        count_include_pad: divide by the window size including padding (PyTorch's default),
            else by the number of input elements in the window.
        divisor_override: divide every sum by this number instead.

    Shape:
        Output (N, C, OH, OW), OH = conv_output_size(H, kh, stride, padding, 1, ceil_mode).
    """
    return avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                    "avg_pool2d", 2)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L) input; arguments as ``avg_pool2d``."""
    return avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, None, "avg_pool1d", 1)


def avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, fn, nd):
    """``avg_pool1d`` (nd=1) or ``avg_pool2d`` (nd=2); errors name ``fn``."""
    x, kernel, stride, pads, _, out, fast = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, fn, nd)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise ValueError(f"{fn}: divisor_override must be a non-zero int, got {divisor_override!r}")
        divisor = float(divisor_override)
    else:
        sizes = x.shape[-2:] if nd == 2 else (1, x.shape[-1])
        divisor = _avg_divisor(sizes, kernel, stride, pads, out, count_include_pad)
    return _run_2d(AvgPool2dFunction, x, nd, kernel=kernel, stride=stride, pads=pads, out=out, divisor=divisor,
                   fast=fast)


class AdaptiveAvgPool2dFunction(Function):
    """Adaptive average pooling as two small matrix products: y = Ph @ x @ Pw.T."""

    def forward(self, x, *, out):
        self.ph, self.pw = (_adaptive_matrix(s, o, x.dtype) for s, o in zip(x.shape[-2:], out))
        return np.matmul(np.matmul(self.ph, x), self.pw.T)

    def backward(self, gy):
        return np.matmul(np.matmul(self.ph.T, gy), self.pw)


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix of PyTorch's bins [floor(i size / out), ceil((i + 1) size / out))."""
    i = np.arange(out)
    start, end = (i * size) // out, -(-((i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size (H_out, W_out) over (N, C, H, W) or (C, H, W) input.

    Args:
        output_size: an int or a pair; None in a pair keeps that input size.

    Shape:
        Output (N, C, H_out, W_out). Bin i spans [floor(i H / H_out), ceil((i + 1) H / H_out)).
    """
    return adaptive_avg_pool(x, output_size, "adaptive_avg_pool2d", 2)


def adaptive_avg_pool1d(x, output_size):
    """Average pooling to a fixed length over (N, C, L) or (C, L) input."""
    return adaptive_avg_pool(x, output_size, "adaptive_avg_pool1d", 1)


def adaptive_avg_pool(x, output_size, fn, nd):
    """``adaptive_avg_pool1d`` (nd=1) or ``adaptive_avg_pool2d`` (nd=2); errors name ``fn``."""
    x = as_tensor(x)
    if x._data.ndim not in (nd + 1, nd + 2):
        axes = "(N, C, H, W) or (C, H, W)" if nd == 2 else "(N, C, L) or (C, L)"
        raise ValueError(f"{fn}: expected input of shape {axes}, got shape {x.shape}")
    sizes = x.shape[-nd:]
    req = (output_size,) * nd if output_size is None or isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(req) != nd or any(o is not None and (not isinstance(o, (int, np.integer)) or o < 1) for o in req):
        raise ValueError(f"{fn}: output_size must be a positive int or {nd} of them (None keeps a size), "
                         f"got {output_size!r}")
    out = tuple(s if o is None else int(o) for s, o in zip(sizes, req))
    axes = tuple(range(x._data.ndim - nd, x._data.ndim))
    if all(o == 1 for o in out):
        return x.mean(axis=axes, keepdims=True)  # global average pooling
    if all(s % o == 0 for s, o in zip(sizes, out)):
        k = tuple(s // o for s, o in zip(sizes, out))
        return (avg_pool2d if nd == 2 else avg_pool1d)(x, k)
    if nd == 1:
        y = AdaptiveAvgPool2dFunction.apply(reshape(x, x.shape[:-1] + (1, sizes[0])), out=(1,) + out)
        return reshape(y, x.shape[:-1] + out)
    return AdaptiveAvgPool2dFunction.apply(x, out=out)
