"""Pooling, the readable way, over (N, C, L), (N, C, H, W) and (N, C, D, H, W) (or unbatched).

- average pooling: unfold the windows (``ember.ops.conv.Unfold``, zero padding: one row per
  window), sum each window, divide by PyTorch's divisor; 3-D: the zero-padded input's
  strided slices summed, one per kernel offset (``avg_pool_nd_reference``);
- max pooling (1-D to 3-D, with its indices): pick each window's winner on the data with
  NumPy (an integer index, a constant of the graph, chosen by PyTorch's rules: ``_pick``),
  then gather the input there with a differentiable indexing op: the gradient flows to that
  one element. Adaptive and fractional max pooling gather their (uneven) windows by
  coordinates and pick by the same rule (``_gathered_winners``);
- adaptive average pooling: products with constant averaging matrices, Ph @ x @ Pw.T;
- max unpooling writes each value at its index into zeros (``Put``, differentiable in the
  values); Lp pooling is PyTorch's composition of average pooling and powers.

1-D pooling runs as 2-D with a window of height 1. These are the references. When
``ember.kernels.enabled()`` (the default), 1-D and 2-D max and average pooling without
indices run the kernels of ``ember.kernels.pool`` (two-pass 2x2 windows, loops over kernel
offsets, channels-last layouts, a fused ReLU), which compute the same numbers and are
tested against these; ``return_indices`` and 3-D pooling always run the references.
"""
import functools
import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import backend, kernels
from ..autograd import Function
from ._util import as_tensor
from .conv import Unfold, _tuple, conv_output_size
from .elementwise import relu as _relu
from .indexing_prims import Put
from .matmul import matmul
from .movement import movedim, pad as _pad, permute, reshape

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "lp_pool1d", "lp_pool2d", "lp_pool3d",
           "max_pool1d", "max_pool1d_with_indices", "max_pool2d", "max_pool2d_with_indices", "max_pool3d",
           "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d"]


class PoolArgumentError(RuntimeError, ValueError):
    """A pooling window, padding or input that does not fit: PyTorch raises RuntimeError
    there; ember raised ValueError before, so both catch it."""


def window_pads(sizes, kernel, stride, pads, dilation, out):
    """``pads`` with the bottom/right widened where ceil_mode's last window overhangs it."""
    new = []
    for size, k, s, (lo, hi), d, o in zip(sizes, kernel, stride, pads, dilation, out):
        reach = (o - 1) * s + d * (k - 1) + 1  # the padded length the windows span
        new.append((lo, max(hi, reach - size - lo)))
    return tuple(new)


def _pick(val, inside):
    """The winner of each window, by PyTorch's rules, as a position along val's last axis
    (a window's elements in row-major order, -inf outside the input): the first maximum; in a
    window holding NaN, its last NaN; in a window of only -inf, its first element inside the
    input (``inside()``: the bool array saying which elements are, computed only then)."""
    k = np.argmax(val, axis=-1)  # the first maximum, or the first NaN
    best = np.take_along_axis(val, k[..., None], axis=-1)[..., 0]
    nan = np.isnan(best)
    if nan.any():  # windows holding a NaN: their last one
        k = np.where(nan, val.shape[-1] - 1 - np.argmax(np.isnan(val[..., ::-1]), axis=-1), k)
    only_minus_inf = np.isneginf(best)
    if only_minus_inf.any():
        k = np.where(only_minus_inf, np.argmax(inside(), axis=-1), k)
    return k


def _windows(a, kernel, stride, pads, dilation, out, fill):
    """Every window of ``a`` (N, C, *sizes) padded with ``fill``: (N, C, *out, prod(kernel)),
    each window's elements in row-major order."""
    pads = window_pads(a.shape[2:], kernel, stride, pads, dilation, out)
    if any(lo or hi for lo, hi in pads):
        padded = np.full(a.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(a.shape[2:], pads)), fill, a.dtype)
        padded[(..., *(slice(lo, lo + s) for s, (lo, _) in zip(a.shape[2:], pads)))] = a
        a = padded
    st = a.strides[2:]
    win = as_strided(a, a.shape[:2] + tuple(out) + tuple(kernel),
                     a.strides[:2] + tuple(s * t for s, t in zip(stride, st)) + tuple(d * t for d, t in zip(dilation, st)),
                     writeable=False)
    return win.reshape(a.shape[:2] + tuple(out) + (math.prod(kernel),))


def max_pool_winners(a, kernel, stride, pads, dilation, out):
    """For every window of ``a`` (N, C, *sizes), 1 to 3 spatial axes, the flat index into
    ``a`` of the element whose value and gradient the window passes on, by PyTorch's rules
    (``_pick``; padding counts as -inf). Returns (N, C, *out) int64."""
    k = _pick(_windows(a, kernel, stride, pads, dilation, out, -np.inf),
              lambda: _windows(np.ones(a.shape, bool), kernel, stride, pads, dilation, out, False))
    ks = np.unravel_index(k, kernel)  # the winner's offset in its window, per axis
    nd, (n, c), sizes = len(kernel), a.shape[:2], a.shape[2:]
    flat = np.arange(n * c).reshape((n, c) + (1,) * nd)
    for d in range(nd):  # its coordinate along axis d, into the flat index
        o = np.arange(out[d]).reshape((-1,) + (1,) * (nd - 1 - d))
        flat = flat * sizes[d] + (o * stride[d] + ks[d] * dilation[d] - pads[d][0])
    return flat


def _gathered_winners(a, coords):
    """The winner (``_pick``) of windows given by coordinates: ``coords[d]`` is an int array
    (1 or N, 1 or C, O_d, K_d) of the input coordinates along spatial axis d of each window's
    K_d elements, -1 where the window has no element. Returns the flat index of each winner
    within its (N, C) plane, (N, C, *O) int64."""
    (n, c), sizes, nd = a.shape[:2], a.shape[2:], len(coords)
    index, ok = [np.arange(n).reshape((n,) + (1,) * (2 * nd + 1)), np.arange(c).reshape((1, c) + (1,) * 2 * nd)], True
    for d, co in enumerate(coords):  # (N, C, O_1..O_nd, K_1..K_nd) by broadcasting
        shape = co.shape[:2] + tuple(co.shape[2] if e == d else 1 for e in range(nd)) \
            + tuple(co.shape[3] if e == d else 1 for e in range(nd))
        index.append(np.maximum(co, 0).reshape(shape))
        ok = ok & (co >= 0).reshape(shape)
    val = np.where(ok, a[tuple(index)], -np.inf)
    out, kshape = val.shape[2:2 + nd], val.shape[2 + nd:]
    val = val.reshape(val.shape[:2 + nd] + (-1,))
    k = _pick(val, lambda: np.broadcast_to(ok, a.shape[:2] + out + kshape).reshape(val.shape))
    ks = np.unravel_index(k, kshape)
    grid = np.ogrid[tuple(slice(m) for m in (n, c) + out)]
    plane = 0
    for d, co in enumerate(coords):
        at = (grid[0] if co.shape[0] > 1 else 0, grid[1] if co.shape[1] > 1 else 0, grid[2 + d], ks[d])
        plane = plane * sizes[d] + co[at]
    return plane


def _take_planes(x, plane):
    """x (N, C, *sizes) gathered at the per-plane flat indices ``plane`` (N, C, *out): the
    values, differentiable (the gradient flows to the element taken)."""
    n, c = x.shape[:2]
    flat = np.arange(n * c).reshape((n, c) + (1,) * (plane.ndim - 2)) * math.prod(x.shape[2:]) + plane
    return reshape(x, (-1,))[flat]


def max_pool_nd_reference(x, kernel, stride, pads, dilation, out):
    """Max pooling of a checked (N, C, *sizes) Tensor, any number of spatial axes: the
    values and their indices (int64 arrays, flat within each (N, C) plane, as PyTorch's)."""
    flat = max_pool_winners(x._data, kernel, stride, pads, dilation, out)
    n, c = x.shape[:2]
    plane = flat - np.arange(n * c).reshape((n, c) + (1,) * len(out)) * math.prod(x.shape[2:])
    return reshape(x, (-1,))[flat], plane


def avg_pool_nd_reference(x, kernel, stride, pads, out, divisor):
    """Average pooling of a checked (N, C, *sizes) Tensor, any number of spatial axes: the
    zero-padded input's strided slices summed, one per kernel offset, times 1 / ``divisor``
    (a number or an array of the output's spatial shape)."""
    pads = window_pads(x.shape[2:], kernel, stride, pads, (1,) * len(kernel), out)
    xp = x if not any(lo or hi for lo, hi in pads) else _pad(x, ((0, 0), (0, 0)) + tuple(pads))
    total = None
    for offs in itertools.product(*(range(k) for k in kernel)):
        part = xp[(slice(None), slice(None), *(slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offs, stride, out)))]
        total = part if total is None else total + part
    return total * as_tensor(np.asarray(1 / np.asarray(divisor), x._data.dtype))


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
    div = functools.reduce(np.multiply.outer, counts).astype(np.float64)
    return div.flat[0] if (div == div.flat[0]).all() else div


def check_window(kernel_size, stride, padding, dilation, fn, nd):
    """Validate a pooling window; return kernel, stride, padding and dilation as tuples of nd ints."""
    kernel = _tuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None or stride == () or stride == [] else _tuple(stride, nd, "stride", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    padding = _tuple(padding, nd, "padding", fn, minimum=0)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise PoolArgumentError(f"{fn}: padding should be at most half of the (dilated) kernel size, got "
                             f"padding={padding} for kernel_size={kernel}")
    return kernel, stride, padding, dilation


_AXES = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)", 3: "(N, C, D, H, W) or (C, D, H, W)"}


def _check_rank(x, fn, nd):
    if x._data.ndim not in (nd + 1, nd + 2):
        raise PoolArgumentError(f"{fn}: expected input of shape {_AXES[nd]}, got shape {tuple(x.shape)}")


def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, fn, nd):
    """Validate; return the input and the window (1-D as 2-D parameters), with the output size
    and whether it is the plain 2x2, stride-2 window (the kernels' two-pass case)."""
    x = as_tensor(x)
    _check_rank(x, fn, nd)
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating input, got {x.dtype}")
    kernel, stride, padding, dilation = check_window(kernel_size, stride, padding, dilation, fn, nd)
    sizes = x.shape[-nd:]
    out = tuple(conv_output_size(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(sizes, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise PoolArgumentError(f"{fn}: input of spatial size {tuple(sizes)} is too small for kernel_size={kernel}, "
                         f"stride={stride}, padding={padding}, dilation={dilation}")
    if nd == 1:  # run as 2-D with a window of height 1
        kernel, stride, dilation, padding, out = (1,) + kernel, (1,) + stride, (1,) + dilation, (0,) + padding, (1,) + out
    # a 2x2 window, stride 2, whose output drops any odd last row/column
    fast = (nd < 3 and kernel == (2, 2) and stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
            and out == (x.shape[-2] // 2 if nd == 2 else 1, x.shape[-1] // 2))
    return x, kernel, stride, tuple((p, p) for p in padding), dilation, out, fast


def _run_2d(fn, x, nd, *args, **params):
    """Apply a 2-D pooling ``fn(x4, ...)`` to (N, C, H, W), (C, H, W), (N, C, L) or (C, L) input."""
    shape = x.shape
    n = shape[0] if x._data.ndim == nd + 2 else 1
    x4 = x if x._data.ndim == 4 else reshape(x, (n, shape[-nd - 1]) + (1,) * (nd == 1) + shape[-nd:])
    y = fn(x4, *args, **params)
    out = shape[:-nd] + y.shape[-nd:]
    return y if out == y.shape else reshape(y, out)


def _run_nd(fn, x, nd, spatial, *args):
    """Apply ``fn(xb, *args)`` -> values Tensor, or (values, indices array), to the input seen as
    (N, C, *sizes) with ``spatial`` axes (1-D runs as 2-D); both results in the input's
    layout (unbatched stays unbatched), the indices as an int64 Tensor."""
    shape = tuple(x.shape)
    n = shape[0] if x._data.ndim == nd + 2 else 1
    xb = reshape(x, (n, shape[-nd - 1]) + (1,) * (spatial - nd) + shape[-nd:])
    res = fn(xb, *args)
    y, idx = res if isinstance(res, tuple) else (res, None)
    out = shape[:-nd] + tuple(y.shape[-nd:])
    if idx is None:
        return reshape(y, out)
    return reshape(y, out), as_tensor(np.ascontiguousarray(idx, np.int64).reshape(out))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input; padding counts as -inf.

    Args:
        kernel_size: window, an int or a pair.
        stride: window step, defaults to kernel_size.
        padding: added on both sides, at most half the window.
        dilation: spacing between window elements.
        ceil_mode: keep a last, partial window when the input does not divide evenly.
        return_indices: also return the index of each maximum, flat within its (H, W) plane.

    Shape:
        Output (N, C, OH, OW), OH = conv_output_size(H, kh, stride, padding, dilation, ceil_mode).
    """
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2,
                    return_indices=return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L) input; arguments as ``max_pool2d``, one value each."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool1d", 1,
                    return_indices=return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as ``max_pool2d``,
    three values each; indices flat within each (D, H, W) volume."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d", 3,
                    return_indices=return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool1d`` returning (values, indices) whatever ``return_indices`` says."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool1d", 1, return_indices=True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool2d`` returning (values, indices) whatever ``return_indices`` says."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2, return_indices=True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """``max_pool3d`` returning (values, indices) whatever ``return_indices`` says."""
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d", 3, return_indices=True)


def max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, fn, nd, relu=False, return_indices=False):
    """``max_pool1d``, ``max_pool2d`` or ``max_pool3d`` (nd = 1, 2, 3); errors name ``fn``.

    ``relu=True`` returns max_pool(relu(x)), run by the kernels as relu(max_pool(x)) in one op
    (``ember.kernels.pool.relu_max_pool2d``): the same values and gradients, as ReLU is
    monotone. ``return_indices`` and 3-D pooling run the N-d reference."""
    x, kernel, stride, pads, dilation, out, fast = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                              fn, nd)
    if relu and (return_indices or nd == 3 or not kernels.enabled()):
        x = _relu(x)
    if return_indices or nd == 3:
        y, idx = _run_nd(max_pool_nd_reference, x, nd, len(kernel), kernel, stride, pads, dilation, out)
        return (y, idx) if return_indices else y
    if kernels.enabled():
        return _run_2d(_kernels.max_pool2d, x, nd, kernel, stride, pads, dilation, out, fast, relu)
    return _run_2d(max_pool2d_reference, x, nd, kernel, stride, pads, dilation, out)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
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
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                    "avg_pool2d", 2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L) input; arguments as ``avg_pool2d``."""
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, "avg_pool1d", 1)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as
    ``avg_pool2d``, three values each."""
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                    "avg_pool3d", 3)


def avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, fn, nd):
    """``avg_pool1d``, ``avg_pool2d`` or ``avg_pool3d`` (nd = 1, 2, 3); errors name ``fn``."""
    x, kernel, stride, pads, _, out, fast = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, fn, nd)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, (int, np.integer)) \
                or divisor_override == 0:
            raise PoolArgumentError(f"{fn}: divisor_override must be a non-zero int, got {divisor_override!r}")
        divisor = float(divisor_override)
    else:
        sizes = x.shape[-nd:] if nd > 1 else (1, x.shape[-1])
        divisor = _avg_divisor(sizes, kernel, stride, pads, out, count_include_pad)
    if nd == 3:
        return _run_nd(avg_pool_nd_reference, x, 3, 3, kernel, stride, pads, out, divisor)
    if kernels.enabled():
        return _run_2d(_kernels.avg_pool2d, x, nd, kernel, stride, pads, out, divisor, fast)
    return _run_2d(avg_pool2d_reference, x, nd, kernel, stride, pads, out, divisor)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (H_out, W_out) over (N, C, H, W) or (C, H, W) input.

    Args:
        output_size: an int or a pair; None in a pair keeps that input size.

    Shape:
        Output (N, C, H_out, W_out). Bin i spans [floor(i H / H_out), ceil((i + 1) H / H_out)).
    """
    return adaptive_avg_pool(input, output_size, "adaptive_avg_pool2d", 2)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed length over (N, C, L) or (C, L) input."""
    return adaptive_avg_pool(input, output_size, "adaptive_avg_pool1d", 1)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed (D_out, H_out, W_out) over (N, C, D, H, W) or (C, D, H, W)
    input; output_size an int or three (None keeps that input size)."""
    return adaptive_avg_pool(input, output_size, "adaptive_avg_pool3d", 3)


def _adaptive_size(x, output_size, fn, nd):
    """The checked output size, a tuple of nd ints (None keeps the input's size)."""
    _check_rank(x, fn, nd)
    sizes = x.shape[-nd:]
    req = (output_size,) * nd if output_size is None or isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(req) != nd or any(o is not None and (not isinstance(o, (int, np.integer)) or o < 1) for o in req):
        raise PoolArgumentError(f"{fn}: output_size must be a positive int or {nd} of them (None keeps a size), "
                         f"got {output_size!r}")
    return tuple(s if o is None else int(o) for s, o in zip(sizes, req))


def adaptive_avg_pool(x, output_size, fn, nd):
    """``adaptive_avg_pool1d``, ``2d`` or ``3d`` (nd = 1, 2, 3); errors name ``fn``."""
    x = as_tensor(x)
    out = _adaptive_size(x, output_size, fn, nd)
    sizes = x.shape[-nd:]
    axes = tuple(range(x._data.ndim - nd, x._data.ndim))
    if all(o == 1 for o in out):
        return x.mean(axis=axes, keepdims=True)  # global average pooling
    if all(s % o == 0 for s, o in zip(sizes, out)):
        k = tuple(s // o for s, o in zip(sizes, out))
        return (avg_pool1d, avg_pool2d, avg_pool3d)[nd - 1](x, k)
    if nd == 1:
        y = AdaptiveAvgPool2dFunction.apply(reshape(x, x.shape[:-1] + (1, sizes[0])), out=(1,) + out)
        return reshape(y, x.shape[:-1] + out)
    if nd == 2:
        return AdaptiveAvgPool2dFunction.apply(x, out=out)
    y = x  # 3-D: one product with a constant averaging matrix along each axis
    for axis, s, o in zip(axes, sizes, out):
        m = as_tensor(np.ascontiguousarray(_adaptive_matrix(s, o, x._data.dtype).T))
        y = movedim(matmul(movedim(y, axis, -1), m), -1, axis)
    return y


# ----- adaptive max pooling -----
def _adaptive_bins(size, out):
    """(out, K) input coordinates of PyTorch's bins [floor(i size / out), ceil((i + 1) size / out)),
    -1 past a bin's end (K: the longest bin)."""
    i = np.arange(out)
    start, end = (i * size) // out, -(-((i + 1) * size) // out)
    co = start[:, None] + np.arange(int((end - start).max()))
    return np.where(co < end[:, None], co, -1)[None, None]


def adaptive_max_pool(x, output_size, return_indices, fn, nd):
    """``adaptive_max_pool1d``, ``2d`` or ``3d``: the maximum of each adaptive bin (the first
    maximum, a bin's last NaN), with its index flat within the (N, C) plane."""
    x = as_tensor(x)
    if x._data.ndim not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {x._data.ndim}-dimensional tensor for argument "
                               f"#1 'self' (while checking arguments for adaptive_max_pool1d)")
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(x.shape)}")
    out = _adaptive_size(x, output_size, fn, nd)

    def pool(xb):
        coords = [_adaptive_bins(s, o) for s, o in zip(xb.shape[2:], out)]
        plane = _gathered_winners(xb._data, coords)
        return _take_planes(xb, plane), plane

    y, idx = _run_nd(pool, x, nd, nd)
    return (y, idx) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed length over (N, C, L) or (C, L) input; ``return_indices`` also
    returns where each maximum came from."""
    return adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool1d", 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (H_out, W_out) over (N, C, H, W) or (C, H, W) input (None in
    output_size keeps that size); bins as ``adaptive_avg_pool2d``'s."""
    return adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool2d", 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed (D_out, H_out, W_out) over (N, C, D, H, W) or (C, D, H, W) input."""
    return adaptive_max_pool(input, output_size, return_indices, "adaptive_max_pool3d", 3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool1d`` returning (values, indices)."""
    return adaptive_max_pool(input, output_size, True, "adaptive_max_pool1d", 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` returning (values, indices)."""
    return adaptive_max_pool(input, output_size, True, "adaptive_max_pool2d", 2)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool3d`` returning (values, indices)."""
    return adaptive_max_pool(input, output_size, True, "adaptive_max_pool3d", 3)


# ----- fractional max pooling -----
def _fractional_starts(u, size, out, k):
    """PyTorch's window starts along one axis for the samples ``u`` (any shape, the input's
    float dtype, computed in it): alpha = (size - k) / (out - 1), start i =
    int((i + u) alpha) - int(u alpha), the last window at size - k. Returns u.shape + (out,)."""
    starts = np.full(u.shape + (out,), size - k, np.int64)
    if out > 1:
        t = u.dtype.type
        alpha = t(size - k) / t(out - 1)
        i = np.arange(out - 1).astype(u.dtype)
        starts[..., :-1] = ((i + u[..., None]) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)[..., None]
    return starts


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool2d`` returning (values, indices)."""
    x = as_tensor(input)
    if output_size is None and output_ratio is None:
        raise ValueError("fractional_max_pool2d requires specifying either an output_size or an output_ratio")
    kernel = _tuple(kernel_size, 2, "kernel_size", "fractional_max_pool2d")
    if x._data.ndim not in (3, 4):
        raise RuntimeError(f"fractional_max_pool2d(): Expected 3D or 4D tensor, but got: {list(x.shape)}")
    if output_size is None:
        ratio = (output_ratio,) * 2 if not isinstance(output_ratio, (tuple, list)) else tuple(output_ratio)
        if len(ratio) != 2:
            raise ValueError("fractional_max_pool2d requires output_ratio to either be a single Int or tuple of Ints.")
        output_size = (int(x.shape[-2] * ratio[0]), int(x.shape[-1] * ratio[1]))
    out = _tuple(output_size, 2, "output_size", "fractional_max_pool2d")
    (h, w), (kh, kw), (oh, ow) = x.shape[-2:], kernel, out
    if oh + kh - 1 > h:
        raise RuntimeError(f"fractional_max_pool2d(): pool height {kh} too large relative to input height {h}")
    if ow + kw - 1 > w:
        raise RuntimeError(f"fractional_max_pool2d(): pool width {kw} too large relative to input width {w}")
    n, c = (x.shape[0] if x._data.ndim == 4 else 1), x.shape[-3]
    if _random_samples is None:
        u = backend.rng().random((n, c, 2), dtype=np.float32 if x._data.dtype == np.float32 else np.float64)
        u = u.astype(x._data.dtype)
    else:
        u = as_tensor(_random_samples)._data
        if u.dtype != x._data.dtype:
            raise RuntimeError("Expect _random_samples to have the same dtype as input")
        if u.ndim != 3:
            raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {u.ndim}")
        if u.shape[1] != c:
            raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
        if u.shape[2] != 2:
            raise RuntimeError(f"Expect _random_samples.size(2) equals to 2; got {u.shape[2]}.")
        if u.shape[0] < n:  # PyTorch reads the first n rows, and past the end of fewer
            raise RuntimeError(f"Expect _random_samples.size(0) to be at least the batch size {n}; got {u.shape[0]}.")
        u = u[:n]

    def pool(xb):  # sample 0 places the columns, sample 1 the rows, as PyTorch
        rows = _fractional_starts(u[..., 1], h, oh, kh)[..., None] + np.arange(kh)
        cols = _fractional_starts(u[..., 0], w, ow, kw)[..., None] + np.arange(kw)
        plane = _gathered_winners(xb._data, [rows, cols])
        return _take_planes(xb, plane), plane

    return _run_nd(pool, x, 2, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Fractional max pooling (Graham, 2014) of (N, C, H, W) or (C, H, W) input: kh x kw
    windows at pseudo-random steps that reach ``output_size`` (or ``output_ratio`` times the
    input size). ``_random_samples`` (N, C, 2), in [0, 1), fixes the steps (drawn from the
    global generator when None): sample 0 for the columns, 1 for the rows."""
    y, idx = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio, True, _random_samples)
    return (y, idx) if return_indices else y


# ----- unpooling -----
def _unpool_size(shape, kernel, stride, padding, output_size, nd):
    default = [(shape[-nd + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(nd)]
    if output_size is None:
        return tuple(default)
    size = list(output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a length "
                         f"of '{len(size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})')
    return tuple(int(v) for v in size)


def max_unpool(input, indices, kernel_size, stride, padding, output_size, fn, nd):
    """``max_unpool1d``, ``2d`` or ``3d``: zeros of the unpooled size, each input value written
    at its index (flat within its (N, C) plane); differentiable in ``input`` (``Put``)."""
    x = as_tensor(input)
    kernel = _tuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None else _tuple(stride, nd, "stride", fn)
    padding = _tuple(padding, nd, "padding", fn, minimum=0)
    shown = nd if nd > 1 else 2  # PyTorch runs 1-D as 2-D and says so
    if x._data.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{shown}d should be a {shown + 1}d or {shown + 2}d Tensor, but got "
                           f"a tensor with {x._data.ndim + (shown - nd)} dimensions.")
    idx = np.asarray(indices._data if hasattr(indices, "_data") else indices)
    if idx.dtype != np.int64:
        from ._util import _torch_type

        raise RuntimeError(f"elements in indices should be type int64 but got: {_torch_type(idx.dtype)}")
    if idx.shape != x._data.shape:
        extra = [1] * (shown - nd)
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape) + extra}) but got indices tensor with shape: {list(idx.shape) + extra}")
    out = _unpool_size(x.shape, kernel, stride, padding, output_size, nd)
    planes, volume = math.prod(x.shape[:-nd]), math.prod(out)
    wrong = (idx < 0) | (idx >= volume)
    if wrong.any():  # the last, in order, as PyTorch names it
        bad = idx.reshape(-1)[idx.size - 1 - np.argmax(wrong.reshape(-1)[::-1])]
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out + (1,) * (shown - nd)))})")
    flat = (np.arange(planes).reshape(x.shape[:-nd] + (1,) * nd) * volume + idx).reshape(-1)
    zeros = as_tensor(np.zeros(planes * volume, x._data.dtype))
    y = Put.apply(zeros, reshape(x, (-1,)), flat=flat)
    return reshape(y, tuple(x.shape[:-nd]) + out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: each value placed at its index, zeros elsewhere.
    Output length (L - 1) stride - 2 padding + kernel_size, or ``output_size``."""
    return max_unpool(input, indices, kernel_size, stride, padding, output_size, "max_unpool1d", 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d`` (indices flat within each (H, W) plane)."""
    return max_unpool(input, indices, kernel_size, stride, padding, output_size, "max_unpool2d", 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d`` (indices flat within each (D, H, W) volume)."""
    return max_unpool(input, indices, kernel_size, stride, padding, output_size, "max_unpool3d", 3)


# ----- power-average (Lp) pooling -----
def lp_pool(input, norm_type, kernel_size, stride, ceil_mode, fn, nd):
    """``lp_pool1d``, ``2d`` or ``3d``: (sum over each window of x^p)^(1/p), as PyTorch
    composes it: s = window sums of x^p, then (sign(s) relu(|s|))^(1/p), which gives a zero
    gradient where a window's sum is 0; p = inf is max pooling of |x|."""
    from .elementwise import abs as _abs
    from .pointwise import sign

    x = as_tensor(input)
    if norm_type == float("inf"):
        return max_pool(_abs(x), kernel_size, stride, 0, 1, ceil_mode, fn, nd)
    if norm_type == -float("inf"):
        return -max_pool(-_abs(x), kernel_size, stride, 0, 1, ceil_mode, fn, nd)
    k = math.prod(_tuple(kernel_size, nd, "kernel_size", fn))
    s = avg_pool(x ** norm_type, kernel_size, stride, 0, ceil_mode, True, None, fn, nd)
    return (sign(s) * _relu(_abs(s)) * k) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """1-D power-average pooling over (N, C, L) or (C, L): (sum of x^p per window)^(1/p)."""
    return lp_pool(input, norm_type, kernel_size, stride, ceil_mode, "lp_pool1d", 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling over (N, C, H, W) or (C, H, W)."""
    return lp_pool(input, norm_type, kernel_size, stride, ceil_mode, "lp_pool2d", 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return lp_pool(input, norm_type, kernel_size, stride, ceil_mode, "lp_pool3d", 3)


from ..kernels import pool as _kernels  # noqa: E402  (the kernels import this module's helpers)
from ..kernels.pool import AvgPool2dFunction, MaxPool2dFunction  # noqa: E402,F401  (their old home)
