"""Pooling layers with PyTorch's names, arguments and reprs: max (with indices), average,
adaptive average and max, max unpooling, power-average (Lp) and fractional max pooling."""
from ..ops.conv import _tuple
from ..ops.pool import (
    adaptive_avg_pool, adaptive_max_pool, avg_pool, check_window, fractional_max_pool2d, lp_pool, max_pool, max_unpool,
)
from .module import Module, _as_float_input

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AdaptiveMaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "FractionalMaxPool2d", "LPPool1d", "LPPool2d",
           "LPPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        check_window(kernel_size, stride, padding, dilation, name, self._nd)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, input, relu=False):
        """The pooled input, and with ``return_indices`` the indices of the maxima (flat within
        each (N, C) plane); ``relu=True`` applies ReLU in the same op (nn.Sequential does so
        for a ReLU followed by a MaxPool2d: the two commute)."""
        input = _as_float_input(input, None)
        return max_pool(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                        type(self).__name__, self._nd, relu=relu, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling: the largest value of each window (padding counts as -inf).

    Args:
        kernel_size: window, an int or a pair.
        stride: window step, defaults to kernel_size.
        padding: added on both sides, at most half the window.
        dilation: spacing between window elements.
        return_indices: also return the indices of the maxima, flat within each (H, W)
            plane (for ``MaxUnpool2d``).
        ceil_mode: keep a last, partial window when the input does not divide evenly.

    Shape:
        Input: (N, C, H, W) or (C, H, W). Output: (N, C, OH, OW) with
        OH = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1 (ceil with ceil_mode).
    """

    _nd = 2


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) or (C, L) input; arguments as ``MaxPool2d``, one value each.

    Shape:
        Input: (N, C, L). Output: (N, C, L_out), L_out as OH in ``MaxPool2d``.
    """

    _nd = 1


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as ``MaxPool2d``,
    three values each (indices flat within each (D, H, W) volume).

    Shape:
        Input: (N, C, D, H, W). Output: (N, C, OD, OH, OW), each as OH in ``MaxPool2d``.
    """

    _nd = 3


class _AvgPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        name = type(self).__name__
        kernel, stride_t, padding_t, _ = check_window(kernel_size, stride, padding, 1, name, self._nd)
        if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
                                             or divisor_override == 0):
            raise ValueError(f"{name}: divisor_override must be a non-zero int, got {divisor_override!r}")
        if self._nd == 1:  # PyTorch keeps AvgPool1d's arguments as 1-tuples
            kernel_size, stride, padding = kernel, stride_t, padding_t
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input):
        input = _as_float_input(input, None)
        return avg_pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                        self.divisor_override, type(self).__name__, self._nd)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling: the mean of each window.

    Args:
        kernel_size, stride, padding, ceil_mode: as ``MaxPool2d``; padding counts as zeros.
        count_include_pad: divide by the window size including padding (the default), else
            by the number of input elements in the window.
        divisor_override: divide every window's sum by this number instead.

    Shape:
        Input: (N, C, H, W) or (C, H, W). Output: (N, C, OH, OW) with
        OH = floor((H + 2 padding - kh) / stride) + 1 (ceil with ceil_mode).
    """

    _nd = 2


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling over (N, C, L) or (C, L) input; arguments as ``AvgPool2d``.

    Shape:
        Input: (N, C, L). Output: (N, C, L_out), L_out as OH in ``AvgPool2d``.
    """

    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) input; arguments as
    ``AvgPool2d``, three values each.

    Shape:
        Input: (N, C, D, H, W). Output: (N, C, OD, OH, OW), each as OH in ``AvgPool2d``.
    """

    _nd = 3


class _AdaptiveAvgPoolNd(Module):
    _nd = 2

    def __init__(self, output_size):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        sizes = (output_size,) * nd if output_size is None or isinstance(output_size, int) else tuple(output_size)
        if len(sizes) != nd or any(s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1)
                                   for s in sizes):
            raise ValueError(f"{name}: output_size must be a positive int or {nd} of them (None keeps a size), "
                             f"got {output_size!r}")
        self.output_size = output_size

    def forward(self, input):
        input = _as_float_input(input, None)
        return adaptive_avg_pool(input, self.output_size, type(self).__name__, self._nd)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size, whatever the input size.

    Args:
        output_size: an int or a pair (H_out, W_out); None in a pair keeps that input size.
            (1, 1) is global average pooling.

    Shape:
        Input: (N, C, H, W) or (C, H, W). Output: (N, C, H_out, W_out); output bin i averages
        input rows [floor(i H / H_out), ceil((i + 1) H / H_out)).
    """

    _nd = 2


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed length over (N, C, L) or (C, L) input.

    Shape:
        Input: (N, C, L). Output: (N, C, output_size).
    """

    _nd = 1


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed (D_out, H_out, W_out) over (N, C, D, H, W) or (C, D, H, W)
    input; output_size an int or three (None keeps that input size)."""

    _nd = 3


class _AdaptiveMaxPoolNd(_AdaptiveAvgPoolNd):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, input):
        input = _as_float_input(input, None)
        return adaptive_max_pool(input, self.output_size, self.return_indices, f"adaptive_max_pool{self._nd}d", self._nd)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed length over (N, C, L) or (C, L) input; bins as
    ``AdaptiveAvgPool1d``'s. ``return_indices``: also return where each maximum came from."""

    _nd = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (H_out, W_out) over (N, C, H, W) or (C, H, W) input (None in
    ``output_size`` keeps that size); ``return_indices`` as ``AdaptiveMaxPool1d``."""

    _nd = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (D_out, H_out, W_out) over (N, C, D, H, W) or (C, D, H, W) input."""

    _nd = 3


class _MaxUnpoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(kernel_size, self._nd, "kernel_size", name)
        self.stride = _tuple(stride if stride is not None else kernel_size, self._nd, "stride", name)
        self.padding = _tuple(padding, self._nd, "padding", name, minimum=0)

    def forward(self, input, indices, output_size=None):
        x = _as_float_input(input, None)
        return max_unpool(x, indices, self.kernel_size, self.stride, self.padding, output_size,
                          f"max_unpool{self._nd}d", self._nd)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``: each value placed at the index ``MaxPool1d``
    returned, zeros elsewhere.

    Args:
        kernel_size: the pooling's.
        stride: the pooling's (defaults to ``kernel_size``).
        padding: the pooling's.

    Shape:
        Input and indices: (N, C, L). Output: (N, C, (L - 1) stride - 2 padding + kernel_size),
        or ``output_size`` given to the call.
    """

    _nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d`` (see ``MaxUnpool1d``), over (N, C, H, W) or (C, H, W)."""

    _nd = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d`` (see ``MaxUnpool1d``), over (N, C, D, H, W) or (C, D, H, W)."""

    _nd = 3


class _LPPoolNd(Module):
    _nd = 2

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        input = _as_float_input(input, None)
        return lp_pool(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode,
                       f"lp_pool{self._nd}d", self._nd)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling: (sum of x^p over each window)^(1/p); p = inf is max pooling of
    |x|, p = 1 sum pooling. The gradient is 0 where a window's sum of x^p is 0.

    Args:
        norm_type: p. kernel_size: window. stride: defaults to kernel_size.
        ceil_mode: keep a last, partial window.

    Shape:
        Input: (N, C, L) or (C, L). Output: (N, C, L_out), L_out = floor((L - k) / stride) + 1.
    """

    _nd = 1


class LPPool2d(_LPPoolNd):
    """Power-average pooling over (N, C, H, W) or (C, H, W); see ``LPPool1d``."""

    _nd = 2


class LPPool3d(_LPPoolNd):
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W); see ``LPPool1d``."""

    _nd = 3


class FractionalMaxPool2d(Module):
    """Fractional max pooling (Graham, 2014): kh x kw max windows at pseudo-random steps
    that bring the input to ``output_size``, or to ``output_ratio`` times its size.

    Args:
        kernel_size: the window, an int or a pair.
        output_size: (oH, oW) or an int; needs kH + oH - 1 <= H (and so for W).
        output_ratio: a number or a pair in (0, 1), instead of output_size.
        return_indices: also return the indices of the maxima (for ``MaxUnpool2d``).
        _random_samples: (N, C, 2) samples in [0, 1) fixing the steps (a buffer); drawn anew
            on each call when None.

    Shape:
        Input: (N, C, H, W) or (C, H, W). Output: (N, C, oH, oW) or (C, oH, oW).
    """

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _pair(output_size) if output_size is not None else None
        self.output_ratio = _pair(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError("FractionalMaxPool2d requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not (0 < self.output_ratio[0] < 1 and 0 < self.output_ratio[1] < 1):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        input = _as_float_input(input, None)
        return fractional_max_pool2d(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                     _random_samples=self._random_samples)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
