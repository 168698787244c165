"""Resampling: ``interpolate`` (and the deprecated ``upsample*``), pixel and channel shuffles,
``grid_sample`` and ``affine_grid``, with PyTorch's semantics.

interpolate
    Every mode (nearest, nearest-exact, linear, bilinear, trilinear, bicubic, area) is
    separable: along each spatial axis, output position i reads K input positions idx[i, k]
    with weights w[i, k] (K = 1 nearest, 2 linear, 4 cubic, the largest bin for area), from
    PyTorch's source-index formulas (``_axis_taps``). The N-D op is one ``AxisResample`` per
    axis, the last axis first, as PyTorch's kernels nest their sums. ``AxisResample`` is the
    gather ``y[..., i, ...] = sum_k w[i, k] x[..., idx[i, k], ...]``; its adjoint
    ``AxisResampleT`` scatters back (per tap, sums over runs of equal targets). Each is the
    other's gradient, so the op is differentiable to any order. A short weighted axis (at most
    128 positions in and out) of finite data runs both as a product with the dense (out, in)
    matrix instead: BLAS.

pixel_shuffle, pixel_unshuffle, channel_shuffle
    Reshape and permute.

grid_sample, affine_grid
    Compositions of differentiable ember ops: the grid is unnormalized and padded
    (border / reflection are piecewise affine maps ``s * x + a``, their slopes and offsets
    read off the values), the corner weights are products of distances to the integer
    corners (constants), and the input is gathered at the corners with an indexing op whose
    gradient scatter-adds. Gradients flow to the input and the grid, to any order.
"""
import itertools
import math
import numbers
import warnings

import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase
from ._util import all_finite, as_tensor
from .matmul import matmul
from .movement import permute, reshape

__all__ = ["affine_grid", "channel_shuffle", "grid_sample", "interpolate", "native_channel_shuffle",
           "pixel_shuffle", "pixel_unshuffle", "upsample", "upsample_bilinear", "upsample_nearest"]


# ----- one axis: the gather and its adjoint -----


_DENSE = 128  # an axis of at most this many input and output positions runs as a matmul


def _matrix(idx, w, size, dtype):
    """The (out, size) matrix M with M[i, idx[i, k]] += w[i, k]."""
    m = np.zeros((idx.shape[0], size), dtype)
    np.add.at(m, (np.arange(idx.shape[0])[:, None], idx), w)
    return m


def _along(a, axis, m):
    """``m`` (out, in) applied along ``axis`` of ``a``: one matrix product."""
    lead, trail = a.shape[:axis], a.shape[axis + 1:]
    rows, cols = int(np.prod(lead, dtype=np.int64)), int(np.prod(trail, dtype=np.int64))
    a3 = a.reshape(rows, a.shape[axis], cols)
    if cols == 1:
        return np.matmul(a3[..., 0], m.T).reshape(lead + (m.shape[0],) + trail)
    y = np.tensordot(m, a3, axes=([1], [1]))  # (out, rows, cols): one 2-D product
    return np.ascontiguousarray(y.transpose(1, 0, 2)).reshape(lead + (m.shape[0],) + trail)


def _dense_ok(a, w, n_out, n_in):
    """Short weighted axes of finite data run as matmuls (BLAS beats a gather many times over
    there); an inf or NaN takes the gather, where it reaches only the outputs it is a tap of."""
    return w is not None and max(n_out, n_in) <= _DENSE and all_finite(a)


def _gather(x, axis, idx, w):
    """sum_k w[:, k] * x[..., idx[:, k], ...] along ``axis`` (``w`` None: the plain gather)."""
    if w is None:
        return np.take(x, idx[:, 0], axis=axis)
    if _dense_ok(x, w, idx.shape[0], x.shape[axis]):
        return _along(x, axis, _matrix(idx, w, x.shape[axis], x.dtype))
    shape = [1] * x.ndim
    shape[axis] = -1
    with np.errstate(invalid="ignore"):  # inf * a zero weight is NaN, as in PyTorch, silently
        y = np.take(x, idx[:, 0], axis=axis) * w[:, 0].reshape(shape)
        for k in range(1, idx.shape[1]):
            y = y + np.take(x, idx[:, k], axis=axis) * w[:, k].reshape(shape)
    return y


def _scatter(g, axis, idx, w, size):
    """The adjoint of ``_gather``: zeros with ``size`` along ``axis``, g[..., i, ...] w[i, k]
    added at idx[i, k] (repeated positions add up): per tap, the runs of equal targets summed
    by a few strided gathers (in g's dtype)."""
    if _dense_ok(g, w, idx.shape[0], size):
        return _along(g, axis, _matrix(idx, w, size, g.dtype).T)
    lead, trail = g.shape[:axis], g.shape[axis + 1:]
    rows, cols = int(np.prod(lead, dtype=np.int64)), int(np.prod(trail, dtype=np.int64))
    g3 = g.reshape(rows, idx.shape[0], cols)  # the axis in the middle: no transposes
    res = np.zeros((rows, size, cols), g.dtype)
    if g3.size:
        for k in range(idx.shape[1]):  # each tap's positions rise with i: runs of equal targets
            t = idx[:, k]
            with np.errstate(invalid="ignore"):
                v = g3 if w is None else g3 * w[:, k].astype(g.dtype, copy=False)[:, None]
            if t.size > 1 and (t[1:] < t[:-1]).any():  # (not met by PyTorch's modes) sort first
                order = np.argsort(t, kind="stable")
                t, v = t[order], v[:, order]
            starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
            lengths = np.diff(np.r_[starts, t.size])
            acc = v[:, starts]  # each run summed by its k-th elements, k = 0, 1, ...: a few gathers
            for o in range(1, int(lengths.max())):
                sel = lengths > o
                if sel.all():
                    acc += v[:, starts + o]
                else:
                    acc[:, sel] += v[:, starts[sel] + o]
            res[:, t[starts]] += acc
    return res.reshape(lead + (size,) + trail)


class AxisResample(Function):
    """Resample one axis: y[..., i, ...] = sum_k w[i, k] x[..., idx[i, k], ...]. Linear; the
    gradient is the adjoint, ``AxisResampleT``."""

    dual = True

    def forward(self, x, *, axis, idx, w):
        self.axis, self.idx, self.w, self.size = axis, idx, w, x.shape[axis]
        return _gather(x, axis, idx, None if w is None else w.astype(x.dtype, copy=False))

    def backward(self, gy):
        if self._graph:
            return AxisResampleT.apply(gy, axis=self.axis, idx=self.idx, w=self.w, size=self.size)
        return _scatter(gy, self.axis, self.idx, self.w, self.size)


class AxisResampleT(Function):
    """The adjoint of ``AxisResample`` (its gradient): scatter-add back onto ``size`` positions."""

    dual = True

    def forward(self, g, *, axis, idx, w, size):
        self.axis, self.idx, self.w = axis, idx, w
        return _scatter(g, axis, idx, w, size)

    def backward(self, gx):
        if self._graph:
            return AxisResample.apply(gx, axis=self.axis, idx=self.idx, w=self.w)
        return _gather(gx, self.axis, self.idx, None if self.w is None else self.w.astype(gx.dtype, copy=False))


# ----- PyTorch's source positions and weights along one axis -----


def _scale_value(scale, n_in, n_out, dtype):
    """PyTorch's compute_scales_value: 1 / scale_factor when one was passed, else in / out,
    in ``dtype`` (float32 for the nearest modes, the op's math type otherwise)."""
    if scale is not None and scale > 0:
        return dtype(1.0 / scale)
    return dtype(n_in) / dtype(n_out)


def _area_scale(n_in, n_out, align_corners, scale, dtype):
    if align_corners:
        return dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0)
    return _scale_value(scale, n_in, n_out, dtype)


def _source_index(scale, i, align_corners, cubic, dtype):
    """PyTorch's area_pixel_compute_source_index for output positions ``i``."""
    i = i.astype(dtype)
    if align_corners:
        return scale * i
    src = scale * (i + dtype(0.5)) - dtype(0.5)
    return src if cubic else np.where(src < 0, dtype(0), src)


def _guard(real, n_in, dtype):
    """PyTorch's guard_index_and_lambda: floor (of the value as a float, as floorf) clipped to
    n_in - 1, and the fraction clipped to [0, 1]."""
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = np.clip(real - i0.astype(dtype), dtype(0), dtype(1)).astype(dtype)
    return i0, lam


def _cubic_weights(t, dtype):
    """Keys' cubic convolution weights (A = -0.75) of the 4 taps around fraction ``t``."""
    a = dtype(-0.75)
    one = dtype(1)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + one

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + one), near(t), near(one - t), far(2 * one - t)], axis=1)


def _axis_taps(mode, n_in, n_out, scale, align_corners, dtype):
    """(idx, w) of shape (n_out, K) for one axis; w None for the nearest modes (weight 1)."""
    i = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and n_out == n_in:
            src = i
        elif mode == "nearest" and n_out == 2 * n_in:
            src = i >> 1
        else:
            s = _scale_value(scale, n_in, n_out, np.float32)
            if mode == "nearest":
                src = np.floor(i.astype(np.float32) * s)
            else:  # (i + 0.5) in double, times the float scale, floored as a float
                src = np.floor(((i + 0.5) * np.float64(s)).astype(np.float32))
            src = np.minimum(src.astype(np.int64), n_in - 1)
        return src[:, None], None
    if mode == "area":  # PyTorch's adaptive average pooling bins
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        k = int((end - start).max())
        idx = np.minimum(start[:, None] + np.arange(k), n_in - 1)
        w = np.where(np.arange(k) < (end - start)[:, None], 1.0 / (end - start)[:, None], 0.0)
        return idx, w
    s = _area_scale(n_in, n_out, align_corners, scale, dtype)
    cubic = mode == "cubic"
    real = _source_index(s, i, align_corners, cubic, dtype)
    i0, lam = _guard(real, n_in, dtype)
    if not cubic:
        i1 = i0 + (i0 < n_in - 1)
        return np.stack([i0, i1], axis=1), np.stack([dtype(1) - lam, lam], axis=1)
    idx = np.clip(i0[:, None] - 1 + np.arange(4), 0, n_in - 1)
    return idx, _cubic_weights(lam, dtype)


# ----- interpolate -----

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _is_integer(v):
    if isinstance(v, TensorBase):
        return v._data.dtype.kind in "iub"
    return isinstance(v, numbers.Integral)


def _dims_text(sizes):
    names = "DHW"[3 - len(sizes):]
    return ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))


def _output_size(x, size, scale_factor, dim, recompute_scale_factor, mode):
    """PyTorch's F.interpolate argument rules: (output size, scales passed to the kernel)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(x.shape[2:])} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(v) for v in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * dim
    elif scale_factor is not None:
        out = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(x.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if out is None:
        out = [int(math.floor(float(n) * s)) for n, s in zip(x.shape[2:], scales)]
        if recompute_scale_factor or mode == "area":
            scales = None
    return out, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``torch.nn.functional.interpolate``: resize the spatial axes of (N, C, *spatial).

    Args:
        input: (N, C, W), (N, C, H, W) or (N, C, D, H, W).
        size: the output spatial size (an int for every axis, or one per axis).
        scale_factor: multiplier(s) of the spatial size instead of ``size``; the output is
            floor(input size * scale_factor).
        mode: 'nearest' (PyTorch's legacy floor rule), 'nearest-exact' (pixel centres),
            'linear' (3-D), 'bilinear' (4-D), 'bicubic' (4-D, A = -0.75, borders clamped),
            'trilinear' (5-D) or 'area' (adaptive average pooling).
        align_corners: for the interpolating modes, map the corner pixels' centres onto each
            other (True) or the corners' edges (False, the default).
        recompute_scale_factor: with ``scale_factor``, interpolate at the scale the output size
            implies (in / out) instead of 1 / scale_factor.
        antialias: only False (True raises NotImplementedError).
    """
    x = as_tensor(input)
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the "
                             "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    ndim = x._data.ndim
    dim = ndim - 2
    out, scales = _output_size(x, size, scale_factor, dim, recompute_scale_factor, mode)
    if antialias:
        if not (mode in ("bilinear", "bicubic") and ndim == 4):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
                             "a 4-D tensor as input")
        raise NotImplementedError(f"interpolate: antialias=True is not supported in ember (mode={mode!r}); "
                                  "use antialias=False")
    need = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}.get(mode)
    if mode not in _MODES or ndim not in (3, 4, 5) or (mode == "bicubic" and ndim != 4):
        raise NotImplementedError(
            "Input Error: Only 3D, 4D and 5D input Tensors supported"
            f" (got {ndim}D) for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if need is not None and ndim != need:
        raise NotImplementedError(f"Got {ndim}D input, but {mode} mode needs {need}D input")
    spatial = x.shape[2:]
    if min(out) <= 0 or min(spatial) <= 0:
        sep = " and" if dim == 1 else ""
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({_dims_text(spatial)})"
                           f"{sep} output ({_dims_text(out)})")
    if x._data.dtype.kind != "f" and not (x._data.dtype == np.uint8 and mode in ("nearest", "nearest-exact")):
        raise NotImplementedError(f"interpolate: mode={mode!r} is not implemented for {x.dtype} input; expected "
                                  "a floating input (or uint8 for the nearest modes)")
    if x.shape[1] == 0 and mode != "area":
        raise RuntimeError(f"Non-empty {ndim}D data tensor expected but got a tensor with sizes {list(x.shape)}")
    kind = "cubic" if mode == "bicubic" else ("linear" if mode in _LINEAR else mode)
    dtype = x._data.dtype.type
    y = x
    for j in reversed(range(dim)):  # the last axis first: PyTorch's innermost sum
        axis = 2 + j
        if kind in ("nearest",) and out[j] == spatial[j]:
            continue
        idx, w = _axis_taps(kind, spatial[j], out[j], None if scales is None else scales[j], align_corners, dtype)
        y = AxisResample.apply(y, axis=axis, idx=idx, w=w)
    if y is x:
        y = AxisResample.apply(x, axis=2, idx=np.arange(spatial[0])[:, None], w=None)  # a copy, as PyTorch's
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated ``torch.nn.functional.upsample``: ``interpolate`` with a warning."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ----- pixel and channel shuffles -----


def _factor(name, what, r):
    if not isinstance(r, numbers.Integral) or r <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):
    """``torch.nn.functional.pixel_shuffle``: (*, C r^2, H, W) -> (*, C, H r, W r)."""
    x = as_tensor(input)
    if x._data.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{x._data.ndim} dimension(s)")
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    lead, n = tuple(lead), len(lead)
    y = reshape(x, lead + (c // (r * r), r, r, h, w))
    y = permute(y, *range(n), n, n + 3, n + 1, n + 4, n + 2)  # (*, C, H, r, W, r)
    return reshape(y, lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """``torch.nn.functional.pixel_unshuffle``: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x = as_tensor(input)
    if x._data.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{x._data.ndim} dimension(s)")
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    *lead, c, h, w = x.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    lead, n = tuple(lead), len(lead)
    y = reshape(x, lead + (c, h // r, r, w // r, r))
    y = permute(y, *range(n), n, n + 2, n + 4, n + 1, n + 3)  # (*, C, r, r, H, W)
    return reshape(y, lead + (c * r * r, h // r, w // r))


def channel_shuffle(input, groups):
    """``torch.nn.functional.channel_shuffle``: (N, C, *) with C = g k -> channels reordered
    (g, k) -> (k, g)."""
    x = as_tensor(input)
    if x._data.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(x.shape)}")
    if not isinstance(groups, numbers.Integral) or groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c, *rest = x.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    g = int(groups)
    y = permute(reshape(x, (n, g, c // g, *rest)), 0, 2, 1, *range(3, x._data.ndim + 1))
    return reshape(y, x.shape)


native_channel_shuffle = channel_shuffle


# ----- grid_sample and affine_grid -----


def _unnormalize(coord, size, align_corners):
    """Grid coordinates in [-1, 1] -> pixel positions."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _affine(t, s, a):
    """s * t + a for constant slopes ``s`` (0 or +-1) and offsets ``a``: a coordinate map that
    is piecewise affine, differentiable through t."""
    dt = t._data.dtype
    return t * as_tensor(np.asarray(s, dt)) + as_tensor(np.asarray(a, dt))


def _reflect_map(v, lo2, hi2):
    """PyTorch's reflect_coordinates on the values ``v`` (twice the bounds given): slope and
    offset with reflect(v) = s v + a."""
    if lo2 == hi2:
        return np.zeros_like(v), np.zeros_like(v)
    lo, span = lo2 / 2, (hi2 - lo2) / 2
    d = np.abs(v - lo)
    sign_in = np.where(v - lo >= 0, 1.0, -1.0)  # d = sign_in (v - lo)
    flips = np.floor(d / span)
    extra = d - flips * span  # = sign_in (v - lo) - flips span
    even = (flips % 2) == 0
    # even: extra + lo ; odd: span - extra + lo
    s = np.where(even, sign_in, -sign_in)
    a = np.where(even, -sign_in * lo - flips * span + lo, span + sign_in * lo + flips * span + lo)
    return s, a


def _compute_coords(t, size, padding_mode, align_corners):
    """Pixel positions after the padding mode (PyTorch's grid_sampler_compute_source_index)."""
    t = _unnormalize(t, size, align_corners)
    if padding_mode == "zeros":
        return t
    v = t._data.astype(np.float64)
    if padding_mode == "reflection":
        if align_corners:
            s, a = _reflect_map(v, 0, 2 * (size - 1))
        else:
            s, a = _reflect_map(v, -1, 2 * size - 1)
        t = _affine(t, s, a)
        v = s * v + a
    inside = (v > 0) & (v < size - 1)  # clip to the border; gradient 0 outside and on it, as PyTorch
    return _affine(t, inside.astype(np.float64), np.where(v >= size - 1, size - 1.0, 0.0) * ~inside)


def _gather_corners(x, rows, valid):
    """x (N, C, *spatial) at flat positions ``rows`` (N, *out) of its N prod(spatial) pixels,
    C last: (N, *out, C), zero where ``valid`` is False."""
    n, c = x.shape[:2]
    k = x._data.ndim - 2
    flat = reshape(permute(x, 0, *range(2, k + 2), 1), (-1, c))
    safe = np.where(valid, rows, 0)
    v = flat[safe]
    if not valid.all():
        v = v * as_tensor(valid[..., None].astype(x._data.dtype))
    return v


def _cubic_coeffs_tensor(t):
    """Keys' cubic weights (A = -0.75) of the fraction t (a Tensor), the 4 taps."""
    a = -0.75

    def near(x):
        return ((x * (a + 2) - (a + 3)) * x) * x + 1

    def far(x):
        return ((x * a - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _grid_sample_bicubic(x, grid, padding_mode, align_corners):
    """Bicubic sampling of x (N, C, H, W) at grid (N, *out, 2): (N, *out, C). The 4 x 4 taps
    around the unpadded position, each moved by the padding mode (out of range: 0), weighted
    by Keys' cubic of the fractions: rows first, then columns, as PyTorch sums them."""
    n, c, h, w = x.shape
    base = np.arange(n).reshape((n,) + (1,) * (grid._data.ndim - 2)) * (h * w)
    ix = _unnormalize(grid[..., 0], w, align_corners)
    iy = _unnormalize(grid[..., 1], h, align_corners)
    x0, y0 = np.floor(ix._data), np.floor(iy._data)
    dt = ix._data.dtype
    wx = _cubic_coeffs_tensor(ix - as_tensor(x0.astype(dt)))
    wy = _cubic_coeffs_tensor(iy - as_tensor(y0.astype(dt)))
    out = None
    for i in range(4):
        yy = _bounded_index(y0 - 1 + i, h, padding_mode, align_corners)
        row = None
        for j in range(4):
            xx = _bounded_index(x0 - 1 + j, w, padding_mode, align_corners)
            valid = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            rows = base + np.where(valid, yy, 0).astype(np.int64) * w + np.where(valid, xx, 0).astype(np.int64)
            term = _gather_corners(x, rows, valid) * reshape(wx[j], wx[j].shape + (1,))
            row = term if row is None else row + term
        term = row * reshape(wy[i], wy[i].shape + (1,))
        out = term if out is None else out + term
    return out


class _ZeroGradTo(Function):
    """``y`` unchanged, linked to ``g`` with a zero gradient: nearest sampling's grid gets
    zeros, as in PyTorch, not None."""

    dual = True

    def forward(self, y, g):
        self.shape, self.dtype = g.shape, g.dtype
        return y.view()

    def backward(self, gy):
        z = np.zeros(self.shape, self.dtype)
        return gy, (as_tensor(z) if self._graph else z)


def _grid_sample_linear(x, grid, mode, padding_mode, align_corners):
    """Bilinear / trilinear or nearest sampling of x (N, C, *spatial) at grid (N, *out, k):
    (N, *out, C). The corners are summed in PyTorch's order (top before bottom, north before
    south, west before east); each corner's weight is the product of its distances."""
    n, c, *sp = x.shape
    k = len(sp)
    strides = [int(np.prod(sp[a + 1:], dtype=np.int64)) for a in range(k)]
    base = np.arange(n).reshape((n,) + (1,) * (grid._data.ndim - 2)) * int(np.prod(sp, dtype=np.int64))
    # coordinate of spatial axis a (D, H, W order) is grid[..., k - 1 - a] (x is W)
    coords = [_compute_coords(grid[..., k - 1 - a], sp[a], padding_mode, align_corners) for a in range(k)]

    def flat_rows(ints):
        valid = np.ones(ints[0].shape, bool)
        for a in range(k):
            valid &= (ints[a] >= 0) & (ints[a] < sp[a])
        rows = base + sum(np.where(valid, ints[a], 0).astype(np.int64) * strides[a] for a in range(k))
        return rows, valid

    if mode == "nearest":
        rows, valid = flat_rows([np.rint(t._data) for t in coords])  # round half to even, as nearbyint
        y = _gather_corners(x, rows, valid)
        return _ZeroGradTo.apply(y, grid) if grid.requires_grad else y
    dt = coords[0]._data.dtype
    lo = [np.floor(t._data) for t in coords]
    frac = [t - as_tensor(f.astype(dt)) for t, f in zip(coords, lo)]  # distance past the lower corner
    out = None
    for bits in itertools.product((0, 1), repeat=k):
        rows, valid = flat_rows([f + b for f, b in zip(lo, bits)])
        wgt = None
        for a in reversed(range(k)):  # x's weight first, as PyTorch's products
            wa = frac[a] if bits[a] else 1 - frac[a]
            wgt = wa if wgt is None else wgt * wa
        term = _gather_corners(x, rows, valid) * reshape(wgt, wgt.shape + (1,))
        out = term if out is None else out + term
    return out


def _bounded_index(v, size, padding_mode, align_corners):
    """An integer tap position after the padding mode (bicubic's get_value_bounded); out of
    range (for zeros padding) stays out of range."""
    if padding_mode == "zeros":
        return v
    if padding_mode == "reflection":
        if align_corners:
            s, a = _reflect_map(v, 0, 2 * (size - 1))
        else:
            s, a = _reflect_map(v, -1, 2 * size - 1)
        v = s * v + a
    return np.floor(np.clip(v, 0, size - 1))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """``torch.nn.functional.grid_sample`` for 4-D input: ``input`` (N, C, H, W) sampled at
    ``grid`` (N, H_out, W_out, 2) positions (x, y) in [-1, 1]; output (N, C, H_out, W_out).

    Args:
        mode: 'bilinear', 'nearest' (round half to even) or 'bicubic'.
        padding_mode: 'zeros', 'border' (clamp to the edge) or 'reflection'.
        align_corners: -1 and 1 are the corner pixels' centres (True) or their outer edges
            (False; None warns, as PyTorch, and means False).
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    x, grid = as_tensor(input), as_tensor(grid)
    if x._data.dtype != grid._data.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{x.dtype} and grid has {grid.dtype}")
    if x.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(x.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != x._data.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {x._data.ndim - 2} in last dimension, but "
                           f"got grid with sizes {list(grid.shape)}")
    for i in range(2, x._data.ndim):
        if x.shape[i] == 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(x.shape)} with dimension {i} being empty")
    nd = 4 if x._data.ndim == 4 else 5
    if x._data.ndim != nd or grid._data.ndim != nd:
        raise RuntimeError(f"grid_sampler(): expected {nd}D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(x.shape)} and grid with sizes {list(grid.shape)}")
    if nd == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"grid_sampler(): expected a floating input, got {x.dtype}")
    if mode == "bicubic":
        y = _grid_sample_bicubic(x, grid, padding_mode, align_corners)  # (N, H_out, W_out, C)
    else:
        y = _grid_sample_linear(x, grid, mode, padding_mode, align_corners)  # (N, *out, C)
    return permute(y, 0, nd - 1, *range(1, nd - 1))


def _base_coords(n, align_corners, dtype):
    v = np.linspace(-1, 1, n, dtype=np.float64) if n > 1 else np.zeros(1)
    if not align_corners:
        v = v * (n - 1) / n
    return v.astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """``torch.nn.functional.affine_grid``: the sampling grid (N, H, W, 2) (or (N, D, H, W, 3))
    of the affine maps ``theta`` (N, 2, 3) (or (N, 3, 4)) over an output of ``size``
    (N, C, H, W) (or (N, C, D, H, W)), for ``grid_sample``."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=2)
        align_corners = False
    theta = as_tensor(theta)
    if theta._data.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, [int(s) for s in size]
    shape = f"ember.Size({list(theta.shape)})"
    if len(size) == 4:
        if theta._data.ndim != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {given}. Got {shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta._data.ndim != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {given}. Got {shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {given}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    dt = theta._data.dtype
    n = size[0]
    axes = [_base_coords(s, align_corners, dt) for s in reversed(spatial)]  # x (W) first
    mesh = np.meshgrid(*reversed(axes), indexing="ij")[::-1]  # x, y(, z) over (H, W) / (D, H, W)
    base = np.stack(list(mesh) + [np.ones(tuple(spatial), dt)], axis=-1)  # (*spatial, k + 1)
    k = len(spatial)
    base = as_tensor(base.reshape(1, -1, k + 1))
    grid = matmul(base, permute(theta, 0, 2, 1))  # (N, prod(spatial), k)
    return reshape(grid, (n, *spatial, k))
