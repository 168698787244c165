"""Pooling layers with PyTorch's names, arguments and reprs: max, average and adaptive average."""
from ..ops.pool import adaptive_avg_pool, avg_pool, check_window, max_pool
from .module import Module, _as_float_input

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        name = type(self).__name__
        check_window(kernel_size, stride, padding, dilation, name, self._nd)
        if return_indices:
            raise ValueError(f"{name}: return_indices=True is not supported")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = False, bool(ceil_mode)

    def forward(self, x, relu=False):
        """The pooled input; ``relu=True`` applies ReLU in the same op (nn.Sequential does so
        for a ReLU followed by a MaxPool2d: the two commute)."""
        x = _as_float_input(x, None)
        return max_pool(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                        type(self).__name__, self._nd, relu=relu)

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
        return_indices: not supported (must be False).
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

    def forward(self, x):
        x = _as_float_input(x, None)
        return avg_pool(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
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

    def forward(self, x):
        x = _as_float_input(x, None)
        return adaptive_avg_pool(x, self.output_size, type(self).__name__, self._nd)

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
