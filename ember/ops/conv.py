"""Convolution, the readable way: pad, unfold the windows into columns, one matrix product.

    cols = unfold(x)                       (N OH OW, C kh kw): one row per output pixel
    y    = cols @ W.reshape(O, C kh kw).T  (N OH OW, O), seen as (N, O, OH, OW)

Two primitives do the data movement and are each other's gradient: ``Unfold`` (im2col: copy
every window of the zero-padded input into a row) and ``Fold`` (col2im: add every row back
onto the window it came from, summing where windows overlap). Both take 1, 2 or 3 spatial
axes. The input gradient comes back as gy @ W, folded, so the whole convolution is built from
ops that are differentiable to any order (``create_graph=True``).

The transposed convolution (``conv_transpose1d/2d/3d``) is that input gradient as an op of its
own: cols = W^T x, folded onto the output (``conv_transpose_reference``), built from the same
differentiable ops.

This is the reference. When ``ember.kernels.enabled()`` (the default), ``conv2d`` and
``conv1d`` run the channels-last GEMM kernel ``ember.kernels.conv.Conv2dFunction`` instead,
which computes the same numbers faster and is tested against ``conv2d_reference``; 3x3
stride-1 convolutions with enough channels go to ``ember.kernels.winograd`` (2.25x fewer
multiplies). ``conv_transpose2d`` and ``conv_transpose1d`` run
``ember.kernels.conv_transpose.ConvTranspose2dFunction`` (sub-pixel convolutions: no col2im)
where ``ember.kernels.conv_transpose.pays``; ``conv3d``, ``conv_transpose3d`` and the other
transposed convolutions run the reference.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import kernels
from ..autograd import Function
from ._util import as_tensor
from .matmul import matmul
from .movement import permute, reshape

__all__ = ["conv1d", "conv2d", "conv3d", "conv_output_size", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "fold", "unfold"]


class ConvShapeError(RuntimeError, ValueError):
    """A convolution's (or unfold's) operands do not fit together: PyTorch raises RuntimeError
    there; ember raised ValueError before, so both catch it."""


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


# ----- im2col and col2im on arrays (1, 2 or 3 spatial axes), and the two Functions built on them -----


def _window_counts(sizes, kernel, stride, pads, dilation, out):
    if out is not None:
        return tuple(out)
    return tuple(conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(sizes, kernel, stride, pads, dilation))


def window_view(a, kernel, stride, pads, dilation, fill=0, out=None):
    """Every window of ``a`` (N, C, *S) padded with ``fill``: a read-only (N, C, *kernel, *out)
    view, element [n, c, i, j, p, q] = padded[n, c, p sh + i dh, q sw + j dw] (in 2-D; one
    kernel and one output axis per spatial axis in general). ``out``: the number of windows
    per axis (default: all that fit; a transposed convolution asks for fewer)."""
    sizes = a.shape[2:]
    out = _window_counts(sizes, kernel, stride, pads, dilation, out)
    if any(lo or hi for lo, hi in pads):
        padded = np.full(a.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(sizes, pads)), fill, a.dtype)
        padded[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(sizes, pads))] = a
        a = padded
    s = a.strides
    strides = s[:2] + tuple(d * st for d, st in zip(dilation, s[2:])) + tuple(k * st for k, st in zip(stride, s[2:]))
    return as_strided(a, a.shape[:2] + tuple(kernel) + out, strides, writeable=False)


def im2col(a, kernel, stride, pads, dilation, out=None, channels_first=False):
    """(N, C, *S) -> columns (N prod(out), C prod(kernel)): row (n, p, q) holds the zero-padded
    window under output pixel (p, q) of sample n, in (C, kh, kw) order. ``channels_first``:
    the same matrix transposed, (C prod(kernel), N prod(out)), stored that way."""
    win = window_view(a, kernel, stride, pads, dilation, out=out)  # (N, C, *kernel, *out)
    nd = len(kernel)
    n, c = win.shape[:2]
    out = win.shape[2 + nd:]
    rows, k = (0,) + tuple(range(2 + nd, 2 + 2 * nd)), (1,) + tuple(range(2, 2 + nd))
    if channels_first:
        return np.ascontiguousarray(win.transpose(k + rows)).reshape(c * math.prod(kernel), n * math.prod(out))
    return np.ascontiguousarray(win.transpose(rows + k)).reshape(n * math.prod(out), c * math.prod(kernel))


def col2im(cols, shape, kernel, stride, pads, dilation, out=None, channels_first=False):
    """Columns (N prod(out), C prod(kernel)) -> (N, C, *S) = ``shape``: every row added onto the
    window it came from, the padding cropped. The adjoint of ``im2col`` (``channels_first``:
    of its transposed columns, (C prod(kernel), N prod(out)))."""
    n, c, sizes = shape[0], shape[1], tuple(shape[2:])
    nd = len(sizes)
    out = _window_counts(sizes, kernel, stride, pads, dilation, out)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(sizes, pads))
    if channels_first:  # accumulate as the columns are stored: (C, N, *padded)
        cols = cols.reshape((c,) + tuple(kernel) + (n,) + out)
        acc = np.zeros((c, n) + padded, cols.dtype)
        pick = lambda offset: cols[offset]  # noqa: E731  (C, N, *out)
    else:  # channels-last, as the rows are: (N, *padded, C)
        cols = cols.reshape((n,) + out + (c,) + tuple(kernel))
        acc = np.zeros((n,) + padded + (c,), cols.dtype)
        pick = lambda offset: cols[(Ellipsis,) + offset]  # noqa: E731  (N, *out, C)
    lead = (slice(None),) * (1 + channels_first)
    if min(out, default=1) > 0:
        for offset in np.ndindex(*kernel):  # one strided add per kernel offset
            dst = tuple(slice(i * d, i * d + st * (o - 1) + 1, st)
                        for i, d, st, o in zip(offset, dilation, stride, out))
            acc[lead + dst] += pick((slice(None),) + offset if channels_first else offset)
    crop = lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(sizes, pads))
    order = (1, 0) + tuple(range(2, nd + 2)) if channels_first else (0, nd + 1) + tuple(range(1, nd + 1))
    return np.ascontiguousarray(acc[crop].transpose(order))


class Unfold(Function):
    """im2col: (N, C, H, W) -> (N OH OW, C kh kw), the zero-padded windows as rows (any number
    of spatial axes; ``channels_first``: transposed). Linear, so its gradient is its adjoint,
    ``Fold``, and Fold's is Unfold."""

    dual = True

    def forward(self, x, *, kernel, stride, pads, dilation, out=None, channels_first=False):
        self.params = dict(shape=x.shape, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=out,
                           channels_first=channels_first)
        return im2col(x, kernel, stride, pads, dilation, out, channels_first)

    def backward(self, gcols):
        if self._graph:
            return Fold.apply(gcols, **self.params)
        return col2im(gcols, **self.params)


class Fold(Function):
    """col2im: (N OH OW, C kh kw) -> ``shape`` (N, C, H, W), overlapping windows summed; the
    adjoint of ``Unfold``, whose gradient it is and which is its gradient."""

    dual = True

    def forward(self, cols, *, shape, kernel, stride, pads, dilation, out=None, channels_first=False):
        self.params = dict(kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=out,
                           channels_first=channels_first)
        return col2im(cols, shape, kernel, stride, pads, dilation, out, channels_first)

    def backward(self, gx):
        if self._graph:
            return Unfold.apply(gx, **self.params)
        return im2col(gx, **self.params)


def _unfold_args(kernel_size, dilation, padding, stride, fn):
    """kernel, stride, pads, dilation for unfold/fold, each checked with PyTorch's message."""
    def pair(v, name):
        t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
        if len(t) != 2:
            raise ConvShapeError(f"It is expected {name} equals to 2, but got size {len(t)}")
        return tuple(int(a) for a in t)

    kernel, dilation, padding, stride = (pair(v, n) for v, n in ((kernel_size, "kernel_size"), (dilation, "dilation"),
                                                                  (padding, "padding"), (stride, "stride")))
    for t, what, short, ok in ((kernel, "kernel size", "kernel", 1), (stride, "stride", "stride", 1),
                               (padding, "padding", "pad", 0), (dilation, "dilation", "dilation", 1)):
        if min(t) < ok:
            rule = "non-negative" if ok == 0 else "greater than zero"
            raise ConvShapeError(f"{what} should be {rule}, but got {short}_height: {t[0]} {short}_width: {t[1]}")
    return kernel, stride, tuple((p, p) for p in padding), dilation


def _blocks(sizes, kernel, stride, pads, dilation):
    return tuple(conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(sizes, kernel, stride, pads, dilation))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.unfold``: (N, C, H, W) -> (N, C kh kw, L), one column per window
    position (row-major), each column the window's values in (C, kh, kw) order; (C, H, W) gives
    (C kh kw, L)."""
    x = as_tensor(input)
    if x._data.ndim not in (3, 4):
        raise ConvShapeError(f"unfold: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    unbatched = x._data.ndim == 3
    x = reshape(x, (1,) + x.shape) if unbatched else x
    kernel, stride, pads, dilation = _unfold_args(kernel_size, dilation, padding, stride, "unfold")
    blocks = _blocks(x.shape[2:], kernel, stride, pads, dilation)
    if min(blocks) < 1:
        raise ConvShapeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
                             f"dilation={dilation}, padding={tuple(p for p, _ in pads)}, calculated shape of the "
                             f"array of sliding blocks as {blocks}, but its components must be at least one.")
    cols = Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    y = permute(reshape(cols, (x.shape[0], math.prod(blocks), cols.shape[1])), 0, 2, 1)
    return reshape(y, y.shape[1:]) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold``: columns (N, C kh kw, L) summed back into (N, C, *output_size)
    (overlaps add up); (C kh kw, L) gives (C, *output_size)."""
    cols = as_tensor(input)
    if cols._data.ndim not in (2, 3):
        raise ConvShapeError(f"fold: expected a 2-D or 3-D input, got shape {tuple(cols.shape)}")
    unbatched = cols._data.ndim == 2
    cols = reshape(cols, (1,) + cols.shape) if unbatched else cols
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(size) != 2:
        raise ConvShapeError(f"It is expected output_size equals to 2, but got size {len(size)}")
    size = tuple(int(v) for v in size)
    kernel, stride, pads, dilation = _unfold_args(kernel_size, dilation, padding, stride, "fold")
    k = kernel[0] * kernel[1]
    blocks = _blocks(size, kernel, stride, pads, dilation)
    n, ck, length = cols.shape
    shape = tuple(cols.shape[1:] if unbatched else cols.shape)
    where = f"fold: input of shape {shape} does not match kernel_size={kernel} and output_size={size}. "
    if ck % k:
        raise ConvShapeError(where + f"Expected size of input's dimension 1 to be divisible by the "
                             f"product of kernel_size, but got input.size(1)={ck} and "
                             f"kernel_size={kernel}.")
    if min(blocks) < 1 or length != blocks[0] * blocks[1]:
        raise ConvShapeError(where + f"Given output_size={size}, kernel_size={kernel}, dilation={dilation}, "
                             f"padding={tuple(p for p, _ in pads)}, stride={stride}, expected size of input's "
                             f"dimension 2 to match the calculated number of sliding blocks "
                             f"{blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                             f"input.size(2)={length}.")
    cols = reshape(permute(cols, 0, 2, 1), (n * length, ck))
    y = Fold.apply(cols, shape=(n, ck // k) + size, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    return reshape(y, y.shape[1:]) if unbatched else y


# ----- the convolution -----


def conv_reference(x, weight, bias, stride, pads, dilation, groups):
    """An N-d convolution (1, 2 or 3 spatial axes) on checked Tensors: x (N, C, *S), pads one
    (before, after) pair per spatial axis.

    The columns are stored channels-first, (C *kernel, N *out): one column per output pixel,
    so that y^T = W (O, C *kernel) @ cols. With groups, each group's O / G output channels see
    only its C / G input channels: the columns split into G blocks of rows, the weight into G
    blocks, and one batched matmul multiplies block g by block g. (The output comes
    channel-major, an (N, O, *out) view of (O, N, *out) memory.)"""
    n, nd = x.shape[0], len(weight.shape) - 2
    o, cg, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    out = _window_counts(x.shape[2:], kernel, stride, pads, dilation, None)
    k = cg * math.prod(kernel)
    rows = n * math.prod(out)
    cols = Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation, channels_first=True)
    cols = reshape(cols, (groups, k, rows))  # (G, C/G *kernel, N *out)
    y = matmul(reshape(weight, (groups, o // groups, k)), cols)  # (G, O/G, N *out)
    y = permute(reshape(y, (o, n) + out), 1, 0, *range(2, nd + 2))  # (N, O, *out)
    if bias is not None:
        y = y + reshape(bias, (1, o) + (1,) * nd)
    return y


conv2d_reference = conv_reference  # what ember.kernels.conv accelerates, for its 2-D shapes


def conv_transpose_reference(x, weight, bias, stride, pads, output_padding, dilation, groups):
    """The transposed convolution (1, 2 or 3 spatial axes) on checked Tensors: x (N, C_in, *S),
    weight (C_in, C_out / G, *kernel), pads one (p, p) pair per axis.

    It is the gradient of a convolution with respect to its input: every input pixel spreads
    its channels, through W, over a whole kernel window of the output, the windows placed
    ``stride`` apart and overlapping ones summed. As matrices, cols = W^T x (one column per
    input pixel, one row per (output channel, kernel offset); with groups, block g of W^T
    times block g of x), then col2im (``Fold``) adds each column onto its window of the padded
    output and crops ``padding`` from both sides; ``output_padding`` only makes the output
    longer at the end. Built from differentiable ops (Fold's gradient is Unfold), so it
    differentiates to any order. (The columns are stored channels-first, (C_out kernel, N S):
    then both products of the backward run in BLAS's fast orientation.)"""
    n, sizes = x.shape[0], tuple(x.shape[2:])
    nd = len(sizes)
    cin_g, cout_g, kernel = weight.shape[0] // groups, weight.shape[1], tuple(weight.shape[2:])
    o = cout_g * groups
    out = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                for s, st, (p, _), d, k, op in zip(sizes, stride, pads, dilation, kernel, output_padding))
    rows, kk = n * math.prod(sizes), cout_g * math.prod(kernel)
    xt = reshape(permute(x, 1, 0, *range(2, nd + 2)), (groups, cin_g, rows))  # (G, C_in/G, N *S)
    wt = permute(reshape(weight, (groups, cin_g, kk)), 0, 2, 1)  # (G, C_out/G *kernel, C_in/G)
    cols = reshape(matmul(wt, xt), (o * math.prod(kernel), rows))  # (C_out *kernel, N *S)
    y = Fold.apply(cols, shape=(n, o) + out, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=sizes,
                   channels_first=True)
    if bias is not None:
        y = y + reshape(bias, (1, o) + (1,) * nd)
    return y


# ----- padding modes -----


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
    """Reflect, replicate or circular padding of the last two axes, for Conv's ``padding_mode``.

    Padded row r copies source row ih[r], which is y = Mh @ x @ Mw.T with one-hot matrices
    Mh[r, ih[r]] = 1 (computed as the gather it is). Linear, so the gradient is
    Mh.T @ gy @ Mw: the copies summed back, two matrix products of constants, on arrays or
    (``self.xp``) on Tensors."""

    dual = True

    def forward(self, x, *, pads, mode):
        (pt, pb), (pl, pr) = pads
        h, w = x.shape[-2:]
        ih, iw = _pad_index(h, pt, pb, mode), _pad_index(w, pl, pr, mode)
        self.mh = (ih[:, None] == np.arange(h)).astype(x.dtype)
        self.mw = (iw[:, None] == np.arange(w)).astype(x.dtype)
        return x[..., ih[:, None], iw]

    def backward(self, gy):
        xp = self.xp
        return xp.matmul(xp.matmul(self.mh.T, gy), self.mw)


def mode_pad(x, pads, mode, fn):
    """Pad the last ``len(pads)`` axes (1, 2 or 3) by (before, after) pairs in PyTorch's
    ``padding_mode`` 'reflect', 'replicate' or 'circular'; 'zeros' returns x, the convolution
    pads it itself. One axis pads as two with a height of 1; three pad the last two, then the
    first against the other two flattened (which need no padding)."""
    if mode not in ("zeros", "reflect", "replicate", "circular"):
        raise ValueError(f"{fn}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {mode!r}")
    pads = tuple(tuple(p) for p in pads)
    if mode == "zeros" or not any(lo or hi for lo, hi in pads):
        return x
    for size, (lo, hi) in zip(x.shape[-len(pads):], pads):
        if max(lo, hi) > (size - 1 if mode == "reflect" else size):
            rule = "less than" if mode == "reflect" else "at most"
            raise ValueError(f"{fn}: {mode} padding of {max(lo, hi)} must be {rule} the input size, "
                             f"got input of shape {tuple(x.shape)}")
    if len(pads) == 1:
        y = ModePadFunction.apply(reshape(x, x.shape[:-1] + (1, x.shape[-1])), pads=((0, 0),) + pads, mode=mode)
        return reshape(y, x.shape[:-1] + (y.shape[-1],))
    if len(pads) == 3:
        y = mode_pad(x, pads[1:], mode, fn)
        lead, (h, w) = tuple(y.shape[:-2]), y.shape[-2:]
        y = ModePadFunction.apply(reshape(y, lead + (h * w,)), pads=(pads[0], (0, 0)), mode=mode)
        return reshape(y, tuple(y.shape[:-2]) + (y.shape[-2], h, w))
    return ModePadFunction.apply(x, pads=pads, mode=mode)


# ----- argument checks and the public functions -----


def _check_conv_args(x, weight, bias, groups, fn, nd):
    axes = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[nd]
    if x._data.ndim != nd + 2:
        raise ConvShapeError(f"{fn}: expected a {nd + 2}-D input {axes}, got shape {tuple(x.shape)}")
    if weight._data.ndim != nd + 2:
        raise ConvShapeError(f"{fn}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, kernel), "
                             f"got shape {tuple(weight.shape)}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    if x.shape[1] != cg * groups:
        raise ConvShapeError(f"{fn}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight of shape "
                             f"{tuple(weight.shape)} with groups={groups} expects {cg * groups}")
    if o % groups:
        raise ConvShapeError(f"{fn}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None and bias.shape != (o,):
        raise ConvShapeError(f"{fn}: expected bias of shape ({o},), got {tuple(bias.shape)}")
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
        raise ConvShapeError(f"{fn}: input of spatial size {tuple(sizes)}{padded} is smaller than "
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
    if kernels.enabled():
        return _kernels.conv2d(x, weight, bias, stride, pads, dilation, int(groups))
    return conv2d_reference(x, weight, bias, stride, pads, dilation, int(groups))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C, H, W) or (C, H, W) input.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
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
        input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)
    y = _conv2d(x, weight, bias, stride, pads, dilation, groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over (N, C, L) or (C, L) input; runs as conv2d with a kernel of height 1.

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_out, C_in / groups, k).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: as in ``conv2d``, with one value per argument.

    Shape:
        Output (N, C_out, L_out) with L_out = conv_output_size(L, k, stride, padding, dilation).
    """
    x, weight, bias, stride, pads, dilation, unbatched = _conv_args(
        input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)
    n, c, length = x.shape
    y = _conv2d(reshape(x, (n, c, 1, length)), reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:]), bias,
                (1,) + stride, ((0, 0),) + pads, (1,) + dilation, groups)
    y = reshape(y, (n, y.shape[1], y.shape[3]))
    return reshape(y, y.shape[1:]) if unbatched else y


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input (``conv_reference``).

    Args:
        input: (N, C_in, D, H, W) or unbatched (C_in, D, H, W).
        weight: (C_out, C_in / groups, kd, kh, kw).
        bias: (C_out,) or None.
        stride, padding, dilation, groups: as in ``conv2d``, with three values per argument.

    Shape:
        Output (N, C_out, OD, OH, OW), each size conv_output_size(size, k, stride, padding, dilation).
    """
    x, weight, bias, stride, pads, dilation, unbatched = _conv_args(
        input, weight, bias, stride, padding, dilation, groups, "conv3d", 3)
    y = conv_reference(x, weight, bias, stride, pads, dilation, int(groups))
    return reshape(y, y.shape[1:]) if unbatched else y


# ----- the transposed convolution -----

_AXES = {2: ("height", "width"), 3: ("depth", "height", "width")}


def _conv_ints(value, nd, name, fn, minimum):
    """An int or nd ints (one is repeated), with PyTorch's messages for conv_transpose*d."""
    if isinstance(value, str):
        raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, not str")
    t = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t):
        raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, got {value!r}")
    if len(t) == 1:
        t = t * nd
    if len(t) != nd:
        raise ConvShapeError(f"expected {name} to be a single integer value or a list of {nd} values to match the "
                             f"convolution dimensions, but got {name}={list(t)}")
    if min(t) < minimum:
        rule = "non-positive" if minimum else "negative"
        raise ConvShapeError(f"{rule} {name} is not supported")
    return tuple(int(v) for v in t)


def _conv_transpose_args(x, weight, bias, stride, padding, output_padding, groups, dilation, fn, nd):
    """Checked arguments of an ``nd``-D transposed convolution, with PyTorch's messages."""
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if x._data.ndim not in (nd + 1, nd + 2):
        raise ConvShapeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fn}, "
                             f"but got input of size: {list(x.shape)}")
    unbatched = x._data.ndim == nd + 1
    if unbatched:
        x = reshape(x, (1,) + x.shape)
    if weight._data.ndim != nd + 2:
        raise ConvShapeError(f"{fn}: expected a {nd + 2}-D weight (in_channels, out_channels/groups, kernel), "
                             f"got shape {tuple(weight.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ConvShapeError("non-positive groups is not supported")
    groups = int(groups)
    ws = list(weight.shape)
    if ws[0] % groups:
        raise ConvShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                             f"but got weight of size [{ws}] instead")
    if x.shape[1] != ws[0]:
        raise ConvShapeError(f"Given transposed=1, weight of size {ws}, expected input{list(x.shape)} to have "
                             f"{ws[0]} channels, but got {x.shape[1]} channels instead")
    o = ws[1] * groups
    if bias is not None and tuple(bias.shape) != (o,):
        raise ConvShapeError(f"Given transposed=1, weight of size {ws}, expected bias to be 1-dimensional with {o} "
                             f"elements, but got bias of size {list(bias.shape)} instead")
    if x._data.dtype != weight._data.dtype or (bias is not None and bias._data.dtype != x._data.dtype):
        got = (x.dtype, weight.dtype) + ((bias.dtype,) if bias is not None else ())
        raise TypeError(f"{fn}: input, weight and bias must have one float dtype, got {', '.join(map(str, got))}")
    if x._data.dtype.kind != "f":
        raise TypeError(f"{fn}: expected a floating input, got {x.dtype}")
    stride = _conv_ints(stride, nd, "stride", fn, 1)
    padding = _conv_ints(padding, nd, "padding", fn, 0)
    output_padding = _conv_ints(output_padding, nd, "output_padding", fn, 0)
    dilation = _conv_ints(dilation, nd, "dilation", fn, 1)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        # PyTorch runs 1-D as 2-D: its message then names a height of 0 / 1
        ax, vals = _AXES[max(nd, 2)], [output_padding, stride, dilation]
        if nd == 1:
            vals = [(0,) + output_padding, (1,) + stride, (1,) + dilation]
        parts = [f"{what}_{a}: {v}" for what, t in zip(("output_padding", "stride", "dilation"), vals)
                 for a, v in zip(ax, t)]
        raise ConvShapeError("output padding must be smaller than either stride or dilation, but got "
                             + " ".join(parts))
    kernel = tuple(weight.shape[2:])
    out = tuple((s - 1) * st - 2 * p + d * (k - 1) + op + 1
                for s, st, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, kernel, output_padding))
    if min(out) < 1:
        raise ConvShapeError(f"{fn}: the output would have spatial size {out}: (input - 1) * stride - 2 * padding "
                             f"+ dilation * (kernel - 1) + output_padding + 1 must be at least 1 along every axis "
                             f"(input {tuple(x.shape[2:])}, kernel {kernel}, stride {stride}, padding {padding}, "
                             f"dilation {dilation}, output_padding {output_padding})")
    return x, weight, bias, stride, tuple((p, p) for p in padding), output_padding, dilation, groups, unbatched


def _conv_transpose(nd, x, weight, bias, stride, padding, output_padding, groups, dilation):
    fn = f"conv_transpose{nd}d"
    x, weight, bias, stride, pads, output_padding, dilation, groups, unbatched = _conv_transpose_args(
        x, weight, bias, stride, padding, output_padding, groups, dilation, fn, nd)
    y = None
    if kernels.enabled() and nd == 2:
        if _kernels_t.pays(x.shape, weight.shape, stride, pads, output_padding, dilation, groups):
            y = _kernels_t.conv_transpose2d(x, weight, bias, stride, pads, output_padding, dilation, groups)
    elif kernels.enabled() and nd == 1:  # as 2-D with a height of 1
        n, c, length = x.shape
        x2, w2 = reshape(x, (n, c, 1, length)), reshape(weight, weight.shape[:2] + (1,) + weight.shape[2:])
        args = (1,) + stride, ((0, 0),) + pads, (0,) + output_padding, (1,) + dilation
        if _kernels_t.pays(x2.shape, w2.shape, *args, groups):
            y = _kernels_t.conv_transpose2d(x2, w2, bias, *args, groups)
            y = reshape(y, (n, y.shape[1], y.shape[3]))
    if y is None:
        y = conv_transpose_reference(x, weight, bias, stride, pads, output_padding, dilation, groups)
    return reshape(y, y.shape[1:]) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution ("deconvolution"), the gradient of ``conv1d`` with respect to
    its input, over (N, C_in, L) or (C_in, L).

    Args:
        input: (N, C_in, L) or unbatched (C_in, L).
        weight: (C_in, C_out / groups, k), PyTorch's layout (the convolution's, in and out swapped).
        bias: (C_out,) or None.
        stride, dilation: an int or a 1-tuple; the stride spreads the input pixels apart.
        padding: an int: dilation (k - 1) - padding zeros implicitly pad both sides.
        output_padding: extra length added at the end (< stride or < dilation), to pick
            among the input sizes a strided conv1d maps to one size.
        groups: split the channels into this many independent transposed convolutions.

    Shape:
        Output (N, C_out, L_out), L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
    """
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution, the gradient of ``conv2d`` with respect to its input, over
    (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out / groups, kh, kw). Arguments as
    ``conv_transpose1d`` with one value or a pair each; output sizes per axis by its formula."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution, the gradient of ``conv3d`` with respect to its input, over
    (N, C_in, D, H, W) or (C_in, D, H, W); weight (C_in, C_out / groups, kd, kh, kw). Arguments
    as ``conv_transpose1d`` with one value or three each; output sizes per axis by its formula."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


from ..kernels import conv as _kernels  # noqa: E402  (the kernels import this module's helpers)
from ..kernels import conv_transpose as _kernels_t  # noqa: E402
