"""``torch.nn.functional.pad``: constant, reflect, replicate and circular padding.

The pad tuple is PyTorch's: pairs (before, after), the last dimension first, so
``(left, right, top, bottom)`` pads W then H. A negative pad crops.

- constant: one op, ``ConstantPad``, for any number of axes. It crops the negative pads and
  fills the positive ones with ``value``; it is linear, and its gradient is the same op with
  every pad negated (what was added is cropped, what was cropped comes back as zeros), so
  the op is its own adjoint and differentiable to any order.
- reflect / replicate / circular: a gather of source positions along each padded axis,
  ``ember.ops.conv.ModePadFunction`` (the op Conv2d's ``padding_mode`` uses), which pads
  the last two axes; 1-D padding runs it with a height of 1, 3-D padding runs it on
  (H, W) and again on D (moved next to a trailing axis of size 1). Circular padding crops
  its negative pads first and wraps what is left, as PyTorch does.
"""
import numbers

import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase
from ._util import as_tensor
from .conv import ModePadFunction
from .movement import permute, reshape

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _crop_and_fill(a, pads, value):
    """``a`` with pads[i] = (before, after) applied to axis i: negative parts cropped, positive
    parts filled with ``value``."""
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pads, a.shape))
    a = a[crop]
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    if any(lo or hi for lo, hi in grow):
        a = np.pad(a, grow, mode="constant", constant_values=value)
    return a


class ConstantPad(Function):
    """Constant padding with PyTorch's signed pads, one (before, after) pair per axis. The
    gradient crops what was added and zero-fills what was cropped: the same op with the pads
    negated, recorded as this op when the backward is differentiated."""

    dual = True

    def forward(self, x, *, pads, value):
        self.pads = pads
        return _crop_and_fill(x, pads, value)

    def backward(self, gy):
        neg = tuple((-lo, -hi) for lo, hi in self.pads)
        if self._graph:
            return ConstantPad.apply(gy, pads=neg, value=0)
        return _crop_and_fill(gy, neg, 0)


def _pad_ints(pad):
    """PyTorch's pad argument as a tuple of ints (bools and integer 0-d tensors count)."""
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not {type(pad).__name__}")
    out = []
    for k, p in enumerate(pad):
        if isinstance(p, TensorBase) and p._data.ndim == 0 and p._data.dtype.kind in "iub":
            p = int(p._data)
        if not isinstance(p, numbers.Integral):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of "
                            f"type {type(p).__name__} at pos {k}")
        out.append(int(p))
    return tuple(out)


def _unsupported(k, ndim):
    return NotImplementedError(
        f"Padding size {2 * k} is not supported for {ndim}D input tensor.\n"
        "Supported combinations for non-constant padding:\n"
        "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
        "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
        "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _check_mode_pad(shape, pairs, mode):
    """PyTorch's checks of reflect / replicate / circular padding; ``pairs`` is last axis first."""
    ndim, k = len(shape), len(pairs)
    if ndim not in (k + 1, k + 2):
        raise _unsupported(k, ndim)
    axes = [ndim - 1 - j for j in range(k)]  # the axis each pair pads
    if mode in ("reflect", "replicate"):
        if 0 in (shape[1:] if ndim == k + 2 else shape):  # only the batch axis may be empty
            raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
                               f"other non-zero dimensions for input, but got: {list(shape)}")
    if mode == "reflect":
        for j, ((lo, hi), ax) in enumerate(zip(pairs, axes)):
            if lo >= shape[ax] or hi >= shape[ax]:
                raise RuntimeError(f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                                   f"input dimension, but got: padding ({lo}, {hi}) at dimension {ax} of input "
                                   f"{list(shape)}")
    if mode == "circular":
        for (lo, hi), ax in zip(pairs, axes):
            if shape[ax] + lo + hi < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            kept = shape[ax] + min(lo, 0) + min(hi, 0)  # the wrap copies from what the crop keeps
            if lo > kept or hi > kept:
                raise RuntimeError("Padding value causes wrapping around more than once.")
        return
    out = list(shape)
    for (lo, hi), ax in zip(pairs, axes):
        out[ax] = shape[ax] + lo + hi
    if k == 1 and out[-1] < 1:
        raise RuntimeError(f"input (W: {shape[-1]}) is too small. Calculated output W: {out[-1]}")
    for v in out:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {out}")


def _mode_pad(x, pairs, mode):
    """Reflect / replicate / circular padding by ``pairs`` (last axis first) with ModePadFunction."""
    if mode == "circular" and any(lo < 0 or hi < 0 for lo, hi in pairs):  # crop first, then wrap
        crop = [(0, 0)] * (x.ndim - len(pairs)) + [(min(lo, 0), min(hi, 0)) for lo, hi in reversed(pairs)]
        x = ConstantPad.apply(x, pads=tuple(crop), value=0)
        pairs = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
    shape = x.shape
    if len(pairs) == 1:
        (lo, hi), = pairs
        y = ModePadFunction.apply(reshape(x, shape[:-1] + (1, shape[-1])), pads=((0, 0), (lo, hi)), mode=mode)
        return reshape(y, shape[:-1] + (y.shape[-1],))
    (l, r), (t, b) = pairs[:2]
    y = ModePadFunction.apply(x, pads=((t, b), (l, r)), mode=mode)
    if len(pairs) == 2:
        return y
    (f, k) = pairs[2]
    lead, d, (h, w) = y.shape[:-3], y.shape[-3], y.shape[-2:]
    n = len(lead)
    z = permute(reshape(y, lead + (d, h * w)), *range(n), n + 1, n)  # (..., H W, D)
    z = ModePadFunction.apply(reshape(z, lead + (h * w, d, 1)), pads=((f, k), (0, 0)), mode=mode)
    d2 = z.shape[-2]
    z = permute(reshape(z, lead + (h * w, d2)), *range(n), n + 1, n)
    return reshape(z, lead + (d2, h, w))


def pad(input, pad, mode="constant", value=None):
    """``torch.nn.functional.pad``: pad (or, with negative pads, crop) the last dimensions.

    Args:
        input: a Tensor (or array).
        pad: pairs (before, after), last dimension first: ``(left, right)`` pads the last
            axis, ``(left, right, top, bottom)`` the last two, and so on.
        mode: 'constant' (any number of axes), or 'reflect', 'replicate', 'circular' (the
            last 1, 2 or 3 axes of an input with one or two more axes than that).
        value: the fill of 'constant' (default 0); other modes take none.
    """
    x = as_tensor(input)
    pad = _pad_ints(pad)
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    ndim = x._data.ndim
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {ndim}")
    pairs = tuple((pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2))
    if mode == "constant":
        pads = [(0, 0)] * ndim
        for j, (lo, hi) in enumerate(pairs):
            ax = ndim - 1 - j
            if x.shape[ax] + min(lo, 0) + min(hi, 0) < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            pads[ax] = (lo, hi)
        if not any(lo or hi for lo, hi in pads):
            return ConstantPad.apply(x, pads=tuple(pads), value=0)  # a copy, as PyTorch's
        return ConstantPad.apply(x, pads=tuple(pads), value=0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if not pairs:
        raise _unsupported(0, ndim)
    _check_mode_pad(x.shape, pairs, mode)
    return _mode_pad(x, pairs, mode)
