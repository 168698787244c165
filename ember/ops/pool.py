"""Max, average and adaptive average pooling, the readable way, over (N, C, H, W) and (N, C, L).

- average pooling: unfold the windows (``ember.ops.conv.Unfold``, zero padding: one row per
  window), sum each window, divide by PyTorch's divisor;
- max pooling: pick each window's winner on the data with NumPy (an integer index, a constant
  of the graph, chosen by PyTorch's rules), then gather the input there with a differentiable
  indexing op: the gradient flows to that one element;
- adaptive average pooling: two products with constant averaging matrices, Ph @ x @ Pw.T.

1-D pooling runs as 2-D with a window of height 1. These are the references. When
``ember.kernels.enabled()`` (the default), max and average pooling run the kernels of
``ember.kernels.pool`` (two-pass 2x2 windows, loops over kernel offsets, channels-last
layouts, a fused ReLU), which compute the same numbers and are tested against these.
"""
import numpy as np

from .. import kernels
from ..autograd import Function
from ._util import as_tensor
from .conv import Unfold, _tuple, conv_output_size, window_view
from .elementwise import relu as _relu
from .movement import permute, reshape

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d"]


def window_pads(sizes, kernel, stride, pads, dilation, out):
    """``pads`` with the bottom/right widened where ceil_mode's last window overhangs it."""
    new = []
    for size, k, s, (lo, hi), d, o in zip(sizes, kernel, stride, pads, dilation, out):
        reach = (o - 1) * s + d * (k - 1) + 1  # the padded length the windows span
        new.append((lo, max(hi, reach - size - lo)))
    return tuple(new)


def max_pool_winners(a, kernel, stride, pads, dilation, out):
    """For every window of ``a`` (N, C, H, W), the flat index into ``a`` of the element whose
    value and gradient the window passes on, by PyTorch's rules: the first maximum in
    row-major order; in a window holding NaN, its last NaN; in a window of only -inf (padding
    counts as -inf), its first element inside the input. Returns (N, C, OH, OW) int64."""
    pads = window_pads(a.shape[2:], kernel, stride, pads, dilation, out)

    def windows(v, fill):  # (N, C, OH, OW, kh kw): each window's elements in row-major order
        win = window_view(v, kernel, stride, pads, dilation, fill).transpose(0, 1, 4, 5, 2, 3)
        return np.ascontiguousarray(win).reshape(win.shape[:4] + (-1,))

    val = windows(a, -np.inf)
    k = np.argmax(val, axis=-1)  # the first maximum, or the first NaN
    best = np.take_along_axis(val, k[..., None], axis=-1)[..., 0]
    nan = np.isnan(best)
    if nan.any():  # windows holding a NaN: their last one
        k = np.where(nan, val.shape[-1] - 1 - np.argmax(np.isnan(val[..., ::-1]), axis=-1), k)
    only_minus_inf = np.isneginf(best)
    if only_minus_inf.any():  # the first element inside the input (padding is -inf too)
        k = np.where(only_minus_inf, np.argmax(windows(np.ones(a.shape, bool), False), axis=-1), k)
    # the winner's place in its window -> its row and column in the input -> its flat index
    (n, c, h, w), (oh, ow), (sh, sw), (dh, dw), ((pt, _), (pl, _)) = a.shape, out, stride, dilation, pads
    i, j = np.divmod(k, kernel[1])
    row = np.arange(oh)[:, None] * sh + i * dh - pt
    col = np.arange(ow) * sw + j * dw - pl
    return (np.arange(n * c).reshape(n, c, 1, 1) * h + row) * w + col


def max_pool2d_reference(x, kernel, stride, pads, dilation, out):
    """max_pool2d on a checked (N, C, H, W) Tensor: each window's winner, gathered."""
    winners = max_pool_winners(x._data, kernel, stride, pads, dilation, out)
    return reshape(x, (-1,))[winners]


def avg_pool2d_reference(x, kernel, stride, pads, out, divisor):
    """avg_pool2d on a checked (N, C, H, W) Tensor: window sums (zero padding) / ``divisor``,
    a number or an (OH, OW) array."""
    n, c = x.shape[:2]
    pads = window_pads(x.shape[2:], kernel, stride, pads, (1, 1), out)
    cols = Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=(1, 1))  # (N OH OW, C kh kw)
    sums = reshape(cols, (n,) + out + (c, kernel[0] * kernel[1])).sum(axis=-1)  # (N, OH, OW, C)
    return permute(sums, 0, 3, 1, 2) * as_tensor(np.asarray(1 / np.asarray(divisor), x._data.dtype))


class AdaptiveAvgPool2dFunction(Function):
    """Adaptive average pooling as two products with constant averaging matrices,
    y = Ph @ x @ Pw.T; linear, so the gradient is Ph.T @ gy @ Pw (on arrays or Tensors)."""

    dual = True

    def forward(self, x, *, out):
        self.ph, self.pw = (_adaptive_matrix(s, o, x.dtype) for s, o in zip(x.shape[-2:], out))
        return np.matmul(np.matmul(self.ph, x), self.pw.T)

    def backward(self, gy):
        xp = self.xp
        return xp.matmul(xp.matmul(self.ph.T, gy), self.pw)


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix of PyTorch's bins [floor(i size / out), ceil((i + 1) size / out))."""
    i = np.arange(out)
    start, end = (i * size) // out, -(-((i + 1) * size) // out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


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
    """Validate; return the input and the window as 2-D parameters, with the output size and
    whether it is the plain 2x2, stride-2 window (the kernels' two-pass case)."""
    x = as_tensor(x)
    if x._data.ndim not in (nd + 1, nd + 2):
        axes = "(N, C, H, W) or (C, H, W)" if nd == 2 else "(N, C, L) or (C, L)"
        raise ValueError(f"{fn}: expected input of shape {axes}, got shape {tuple(x.shape)}")
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
    # a 2x2 window, stride 2, whose output drops any odd last row/column
    fast = (kernel == (2, 2) and stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
            and out == (sizes[0] // 2, sizes[1] // 2))
    return x, kernel, stride, tuple((p, p) for p in padding), dilation, out, fast


def _run_2d(fn, x, nd, *args, **params):
    """Apply a 2-D pooling ``fn(x4, ...)`` to (N, C, H, W), (C, H, W), (N, C, L) or (C, L) input."""
    shape = x.shape
    n = shape[0] if x._data.ndim == nd + 2 else 1
    x4 = x if x._data.ndim == 4 else reshape(x, (n, shape[-nd - 1]) + (1,) * (nd == 1) + shape[-nd:])
    y = fn(x4, *args, **params)
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

    ``relu=True`` returns max_pool(relu(x)), run by the kernels as relu(max_pool(x)) in one op
    (``ember.kernels.pool.relu_max_pool2d``): the same values and gradients, as ReLU is
    monotone."""
    x, kernel, stride, pads, dilation, out, fast = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                              fn, nd)
    if kernels.enabled():
        return _run_2d(_kernels.max_pool2d, x, nd, kernel, stride, pads, dilation, out, fast, relu)
    return _run_2d(max_pool2d_reference, _relu(x) if relu else x, nd, kernel, stride, pads, dilation, out)


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
    if kernels.enabled():
        return _run_2d(_kernels.avg_pool2d, x, nd, kernel, stride, pads, out, divisor, fast)
    return _run_2d(avg_pool2d_reference, x, nd, kernel, stride, pads, out, divisor)


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
        raise ValueError(f"{fn}: expected input of shape {axes}, got shape {tuple(x.shape)}")
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


from ..kernels import pool as _kernels  # noqa: E402  (the kernels import this module's helpers)
from ..kernels.pool import AvgPool2dFunction, MaxPool2dFunction  # noqa: E402,F401  (their old home)
