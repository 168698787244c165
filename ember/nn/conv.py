"""Convolution layers with PyTorch's layout, initialization and repr: ``Conv1d``, ``Conv2d``,
``Conv3d``, the transposed ``ConvTranspose1d/2d/3d``, and ``Unfold`` / ``Fold`` (im2col and
col2im as modules)."""
import math

import numpy as np

from .. import backend
from ..ops.conv import (ConvShapeError, _tuple, check_window_fits, conv1d, conv2d, conv3d, conv_transpose1d,
                        conv_transpose2d, conv_transpose3d, fold, mode_pad, resolve_padding, unfold)
from . import init
from .module import Module, Parameter, _as_float_input

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Fold", "Unfold"]


class _ConvNd(Module):
    _nd = 2
    _functional = staticmethod(conv2d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                    device, dtype, transposed=False, output_padding=0)

    def _setup(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
               device, dtype, transposed, output_padding):
        name, nd = type(self).__name__, self._nd
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if arg == "groups" else 0):
                raise ValueError(f"{name}: {arg} must be a {'positive' if arg == 'groups' else 'non-negative'} "
                                 f"int, got {v!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", name)
        self.stride = _tuple(stride, nd, "stride", name)
        self.dilation = _tuple(dilation, nd, "dilation", name)
        self.transposed = transposed
        if transposed:
            if isinstance(padding, str):
                raise TypeError(f"{name}: padding must be an int or {nd} ints (a transposed convolution takes "
                                f"no 'same' or 'valid'), got {padding!r}")
            self.padding = _tuple(padding, nd, "padding", name, minimum=0)
            self._pads = tuple((p, p) for p in self.padding)
            self.output_padding = _tuple(output_padding, nd, "output_padding", name, minimum=0)
        else:
            # resolve once, so that a bad padding fails here; 'same'/'valid' stay strings, as in PyTorch
            self._pads = resolve_padding(padding, self.kernel_size, self.stride, self.dilation, name)
            self.padding = padding if isinstance(padding, str) else _tuple(padding, nd, "padding", name, minimum=0)
            self.output_padding = (0,) * nd
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        if transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype)) if bias else None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for weight, U(+-1/sqrt(fan_in)) for bias,
        fan_in = weight.shape[1] * kernel elements (for a transposed one: out_channels / groups)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _layer(self):
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels})"

    def _checked_input(self, x, weight):
        x = _as_float_input(x, weight._data.dtype, self)
        nd = self._nd
        if x._data.ndim not in (nd + 1, nd + 2) or x.shape[-nd - 1] != self.in_channels:
            raise ConvShapeError(f"{self._layer()} expected input with {self.in_channels} channels, got shape "
                                 f"{tuple(x.shape)}")
        return x

    def forward(self, input):
        weight = self.weight  # read once: a parametrization (spectral_norm) steps on every read
        x = self._checked_input(input, weight)
        layer = self._layer()
        check_window_fits(x.shape[-self._nd:], self.kernel_size, self.stride, self._pads, self.dilation, layer)
        if self.padding_mode == "zeros":
            return self._functional(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = mode_pad(x, self._pads, self.padding_mode, layer)
        return self._functional(x, weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) input (cross-correlation, as in PyTorch).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size: an int or a pair (kh, kw).
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' or 'same' (stride 1; an odd total pads more at the
            bottom/right).
        groups: split the channels into this many independent convolutions
            (groups = in_channels is a depthwise convolution).
        bias: whether to learn an additive bias.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        device: where the parameters live ("cpu", or "cuda" with CuPy; None: the CPU).
        dtype: parameter dtype (the default float dtype if None).

    Shape:
        Input: (N, C_in, H, W) or (C_in, H, W). Output: (N, C_out, OH, OW) with
        OH = floor((H + 2 padding - dilation (kh - 1) - 1) / stride) + 1 (``conv_output_size``).

    Attributes:
        weight: (out_channels, in_channels / groups, kh, kw), kaiming_uniform_(a=sqrt(5)).
        bias: (out_channels,), from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight[0].size.
    """

    _nd = 2
    _functional = staticmethod(conv2d)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) input (cross-correlation, as in PyTorch).

    Its arguments (``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding``,
    ``dilation``, ``groups``, ``bias``, ``padding_mode``, ``dtype``) are ``Conv2d``'s, with one
    value per argument.

    Shape:
        Input: (N, C_in, L) or (C_in, L). Output: (N, C_out, L_out) with
        L_out = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1.

    Attributes:
        weight: (out_channels, in_channels / groups, k); bias: (out_channels,).
    """

    _nd = 1
    _functional = staticmethod(conv1d)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) input (cross-correlation, as in PyTorch).

    Its arguments (``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding``,
    ``dilation``, ``groups``, ``bias``, ``padding_mode``, ``device``, ``dtype``) are ``Conv2d``'s,
    with three values per argument.

    Shape:
        Input: (N, C_in, D, H, W) or (C_in, D, H, W). Output: (N, C_out, OD, OH, OW), each
        floor((size + 2 padding - dilation (k - 1) - 1) / stride) + 1.

    Attributes:
        weight: (out_channels, in_channels / groups, kd, kh, kw); bias: (out_channels,).
    """

    _nd = 3
    _functional = staticmethod(conv3d)


class _ConvTransposeNd(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        Module.__init__(self)
        self._setup(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                    device, dtype, transposed=True, output_padding=output_padding)

    def _output_padding(self, x, output_size):
        """output_padding, or the one that makes the output ``output_size`` (PyTorch's rule:
        between the smallest output and that plus stride - 1)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        lead = 2 if x._data.ndim == nd + 2 else 1
        output_size = list(output_size) if not isinstance(output_size, (list, tuple)) else output_size
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"ConvTranspose{nd}D: for {x._data.ndim}D input, output_size must have {nd} or "
                             f"{lead + nd} elements (got {len(output_size)})")
        sizes = x.shape[-nd:]
        mins = [(s - 1) * st - 2 * p + d * (k - 1) + 1
                for s, st, p, d, k in zip(sizes, self.stride, self.padding, self.dilation, self.kernel_size)]
        maxs = [m + st - 1 for m, st in zip(mins, self.stride)]
        if any(not lo <= int(v) <= hi for v, lo, hi in zip(output_size, mins, maxs)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {mins} to "
                             f"{maxs} (for an input of {sizes})")
        return tuple(int(v) - m for v, m in zip(output_size, mins))

    def forward(self, input, output_size=None):
        weight = self.weight  # read once, as in _ConvNd.forward
        x = self._checked_input(input, weight)
        output_padding = self._output_padding(x, output_size)
        return self._functional(x, weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                                self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution ("deconvolution") over (N, C_in, L): the gradient of a
    ``Conv1d`` with respect to its input, as a layer (``F.conv_transpose1d``).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        kernel_size, stride, dilation: an int or a 1-tuple.
        padding: an int: dilation (k - 1) - padding zeros implicitly pad both sides.
        output_padding: extra length at the end of the output (< stride or < dilation).
        groups: split the channels into this many independent transposed convolutions.
        bias: whether to learn an additive bias.
        padding_mode: 'zeros' only, as in PyTorch.
        device, dtype: as ``Conv2d``.

    Shape:
        Input: (N, C_in, L) or (C_in, L). Output: (N, C_out, L_out),
        L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
        ``forward(input, output_size=...)`` picks the output_padding that gives that size.

    Attributes:
        weight: (in_channels, out_channels / groups, k), kaiming_uniform_(a=sqrt(5));
        bias: (out_channels,), U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = out_channels / groups * k.
    """

    _nd = 1
    _functional = staticmethod(conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W): the gradient of a ``Conv2d`` with respect
    to its input, as a layer (``F.conv_transpose2d``). Arguments, shapes and attributes as
    ``ConvTranspose1d``, with one value or a pair each; weight (in_channels, out_channels /
    groups, kh, kw)."""

    _nd = 2
    _functional = staticmethod(conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W): the gradient of a ``Conv3d`` with
    respect to its input, as a layer (``F.conv_transpose3d``). Arguments, shapes and attributes
    as ``ConvTranspose1d``, with one value or three each; weight (in_channels, out_channels /
    groups, kd, kh, kw)."""

    _nd = 3
    _functional = staticmethod(conv_transpose3d)


class Unfold(Module):
    """``F.unfold`` as a module: (N, C, H, W) -> (N, C kh kw, L), every sliding block a column.

    Args:
        kernel_size, dilation, padding, stride: an int or a pair each, kept as given (as PyTorch
            does) and checked when called.
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """``F.fold`` as a module: columns (N, C kh kw, L) summed back into (N, C, *output_size).

    Args:
        output_size: the spatial size (H, W) of the output, an int or a pair.
        kernel_size, dilation, padding, stride: as ``Unfold``.
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
