"""Convolution, the readable way: pad, unfold the windows into columns, one matrix product.

    cols = unfold(x)                       (N OH OW, C kh kw): one row per output pixel
    y    = cols @ W.reshape(O, C kh kw).T  (N OH OW, O), seen as (N, O, OH, OW)

Two primitives do the data movement and are each other's gradient: ``Unfold`` (im2col: copy
every window of the zero-padded input into a row) and ``Fold`` (col2im: add every row back
onto the window it came from, summing where windows overlap). The input gradient comes back
as gy @ W, folded, so the whole convolution is built from ops that are differentiable to any
order (``create_graph=True``).

This is the reference. When ``ember.kernels.enabled()`` (the default), ``conv2d`` and
``conv1d`` run the channels-last GEMM kernel ``ember.kernels.conv.Conv2dFunction`` instead,
which computes the same numbers faster and is tested against ``conv2d_reference``.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import kernels
from ..autograd import Function
from ._util import as_tensor
from .matmul import matmul
from .movement import permute, reshape

__all__ = ["conv1d", "conv2d", "conv_output_size", "fold", "unfold"]


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


# ----- im2col and col2im on arrays, and the two Functions built on them -----


def window_view(a, kernel, stride, pads, dilation, fill=0):
    """Every window of ``a`` (N, C, H, W) padded with ``fill``: a read-only (N, C, kh, kw, OH, OW)
    view, element [n, c, i, j, p, q] = padded[n, c, p sh + i dh, q sw + j dw]."""
    (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = kernel, stride, dilation, pads
    n, c, h, w = a.shape
    oh = conv_output_size(h, kh, sh, (pt, pb), dh)
    ow = conv_output_size(w, kw, sw, (pl, pr), dw)
    if pt or pb or pl or pr:
        padded = np.full((n, c, h + pt + pb, w + pl + pr), fill, a.dtype)
        padded[:, :, pt:pt + h, pl:pl + w] = a
        a = padded
    s = a.strides
    return as_strided(a, (n, c, kh, kw, oh, ow), s[:2] + (dh * s[2], dw * s[3], sh * s[2], sw * s[3]),
                      writeable=False)


def im2col(a, kernel, stride, pads, dilation):
    """(N, C, H, W) -> columns (N OH OW, C kh kw): row (n, p, q) holds the zero-padded window
    under output pixel (p, q) of sample n, in (C, kh, kw) order."""
    win = window_view(a, kernel, stride, pads, dilation)  # (N, C, kh, kw, OH, OW)
    n, c, kh, kw, oh, ow = win.shape
    return np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3)).reshape(n * oh * ow, c * kh * kw)


def col2im(cols, shape, kernel, stride, pads, dilation):
    """Columns (N OH OW, C kh kw) -> (N, C, H, W) = ``shape``: every row added onto the window
    it came from, the padding cropped. The adjoint of ``im2col``."""
    (n, c, h, w), (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = shape, kernel, stride, dilation, pads
    oh = conv_output_size(h, kh, sh, (pt, pb), dh)
    ow = conv_output_size(w, kw, sw, (pl, pr), dw)
    cols = cols.reshape(n, oh, ow, c, kh, kw)
    out = np.zeros((n, h + pt + pb, w + pl + pr, c), cols.dtype)  # channels-last, as the rows are
    for i in range(kh):
        for j in range(kw):  # one strided add per kernel offset
            r, q = i * dh, j * dw
            out[:, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] += cols[..., i, j]
    return np.ascontiguousarray(out[:, pt:pt + h, pl:pl + w].transpose(0, 3, 1, 2))


class Unfold(Function):
    """im2col: (N, C, H, W) -> (N OH OW, C kh kw), the zero-padded windows as rows.
    Linear, so its gradient is its adjoint, ``Fold``, and Fold's is Unfold."""

    dual = True

    def forward(self, x, *, kernel, stride, pads, dilation):
        self.params = dict(shape=x.shape, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
        return im2col(x, kernel, stride, pads, dilation)

    def backward(self, gcols):
        if self._graph:
            return Fold.apply(gcols, **self.params)
        return col2im(gcols, **self.params)


class Fold(Function):
    """col2im: (N OH OW, C kh kw) -> ``shape`` (N, C, H, W), overlapping windows summed; the
    adjoint of ``Unfold``, whose gradient it is and which is its gradient."""

    dual = True

    def forward(self, cols, *, shape, kernel, stride, pads, dilation):
        self.params = dict(kernel=kernel, stride=stride, pads=pads, dilation=dilation)
        return col2im(cols, shape, kernel, stride, pads, dilation)

    def backward(self, gx):
        if self._graph:
            return Unfold.apply(gx, **self.params)
        return im2col(gx, **self.params)


def _unfold_args(kernel_size, dilation, padding, stride, fn):
    kernel, dilation = _tuple(kernel_size, 2, "kernel_size", fn), _tuple(dilation, 2, "dilation", fn)
    stride = _tuple(stride, 2, "stride", fn)
    return kernel, stride, tuple((p, p) for p in _tuple(padding, 2, "padding", fn, minimum=0)), dilation


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.unfold``: (N, C, H, W) -> (N, C kh kw, L), one column per window
    position (row-major), each column the window's values in (C, kh, kw) order; (C, H, W) gives
    (C kh kw, L)."""
    x = as_tensor(input)
    if x._data.ndim not in (3, 4):
        raise ValueError(f"unfold: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    unbatched = x._data.ndim == 3
    x = reshape(x, (1,) + x.shape) if unbatched else x
    kernel, stride, pads, dilation = _unfold_args(kernel_size, dilation, padding, stride, "unfold")
    check_window_fits(x.shape[2:], kernel, stride, pads, dilation, "unfold")
    cols = Unfold.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    y = permute(reshape(cols, (x.shape[0], -1, cols.shape[1])), 0, 2, 1)
    return reshape(y, y.shape[1:]) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """``torch.nn.functional.fold``: columns (N, C kh kw, L) summed back into (N, C, *output_size)
    (overlaps add up); (C kh kw, L) gives (C, *output_size)."""
    cols = as_tensor(input)
    if cols._data.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-D or 3-D input, got shape {tuple(cols.shape)}")
    unbatched = cols._data.ndim == 2
    cols = reshape(cols, (1,) + cols.shape) if unbatched else cols
    size = _tuple(output_size, 2, "output_size", "fold")
    kernel, stride, pads, dilation = _unfold_args(kernel_size, dilation, padding, stride, "fold")
    k = kernel[0] * kernel[1]
    blocks = [conv_output_size(s, kk, st, p, d) for s, kk, st, p, d in zip(size, kernel, stride, pads, dilation)]
    n, ck, length = cols.shape
    if ck % k or length != blocks[0] * blocks[1]:
        raise ValueError(f"fold: input of shape {tuple(cols.shape)} does not match kernel_size={kernel} and "
                         f"output_size={size}, which need {k}*C rows and {blocks[0] * blocks[1]} columns")
    cols = reshape(permute(cols, 0, 2, 1), (n * length, ck))
    y = Fold.apply(cols, shape=(n, ck // k) + size, kernel=kernel, stride=stride, pads=pads, dilation=dilation)
    return reshape(y, y.shape[1:]) if unbatched else y


# ----- the convolution -----


def conv2d_reference(x, weight, bias, stride, pads, dilation, groups):
    """conv2d on checked Tensors: x (N, C, H, W), pads ((top, bottom), (left, right)).

    With groups, each group's O / G output channels see only its C / G input channels: the
    columns (ordered C, kh, kw) split into G blocks, the weight's rows into G blocks, and one
    batched matmul multiplies block g by block g. (The output comes channels-last, an
    (N, O, OH, OW) view of (N, OH, OW, O) memory.)"""
    n = x.shape[0]
    o, cg, kh, kw = weight.shape
    oh, ow = (conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(x.shape[2:], (kh, kw), stride, pads, dilation))
    k = cg * kh * kw
    cols = Unfold.apply(x, kernel=(kh, kw), stride=stride, pads=pads, dilation=dilation)  # (N OH OW, C kh kw)
    cols = permute(reshape(cols, (n * oh * ow, groups, k)), 1, 0, 2)  # (G, N OH OW, C/G kh kw)
    w = permute(reshape(weight, (groups, o // groups, k)), 0, 2, 1)  # (G, C/G kh kw, O/G)
    y = reshape(permute(matmul(cols, w), 1, 0, 2), (n, oh, ow, o))  # (G, N OH OW, O/G) -> (N, OH, OW, O)
    y = permute(y, 0, 3, 1, 2)  # (N, O, OH, OW)
    if bias is not None:
        y = y + reshape(bias, (1, o, 1, 1))
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
                             f"got input of shape {tuple(x.shape)}")
    return ModePadFunction.apply(x, pads=tuple(pads), mode=mode)


# ----- argument checks and the public functions -----


def _check_conv_args(x, weight, bias, groups, fn, nd):
    axes = "(N, C, H, W)" if nd == 2 else "(N, C, L)"
    if x._data.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 2}-D input {axes}, got shape {tuple(x.shape)}")
    if weight._data.ndim != nd + 2:
        raise ValueError(f"{fn}: expected a {nd + 2}-D weight (out_channels, in_channels/groups, kernel), "
                         f"got shape {tuple(weight.shape)}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    o, cg = weight.shape[:2]
    if x.shape[1] != cg * groups:
        raise ValueError(f"{fn}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight of shape "
                         f"{tuple(weight.shape)} with groups={groups} expects {cg * groups}")
    if o % groups:
        raise ValueError(f"{fn}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{fn}: expected bias of shape ({o},), got {tuple(bias.shape)}")
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
    if kernels.enabled():
        return _kernels.conv2d(x, weight, bias, stride, pads, dilation, int(groups))
    return conv2d_reference(x, weight, bias, stride, pads, dilation, int(groups))


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


from ..kernels import conv as _kernels  # noqa: E402  (the kernels import this module's helpers)
