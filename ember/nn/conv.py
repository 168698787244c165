"""``Conv1d`` and ``Conv2d``: convolution layers with PyTorch's layout, initialization and repr."""
import math

import numpy as np

from .. import backend
from ..ops.conv import _tuple, check_window_fits, conv1d, conv2d, mode_pad, resolve_padding
from . import init
from .module import Module, Parameter, _as_float_input

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    _nd = 2
    _functional = staticmethod(conv2d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
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
        # resolve once, so that a bad padding fails here; 'same'/'valid' stay strings, as in PyTorch
        self._pads = resolve_padding(padding, self.kernel_size, self.stride, self.dilation, name)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, nd, "padding", name, minimum=0)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype)) if bias else None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for weight, U(+-1/sqrt(fan_in)) for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        x = _as_float_input(x, self.weight._data.dtype)
        nd, name = self._nd, type(self).__name__
        if x._data.ndim not in (nd + 1, nd + 2) or x.shape[-nd - 1] != self.in_channels:
            raise ValueError(f"{name}({self.in_channels} -> {self.out_channels}) expected input with "
                             f"{self.in_channels} channels, got shape {tuple(x.shape)}")
        layer = f"{name}({self.in_channels} -> {self.out_channels})"
        check_window_fits(x.shape[-nd:], self.kernel_size, self.stride, self._pads, self.dilation, layer)
        if self.padding_mode == "zeros":
            return self._functional(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        pads = self._pads if nd == 2 else ((0, 0),) + self._pads
        if nd == 1:
            x = x.unsqueeze(-2)
        x = mode_pad(x, pads, self.padding_mode, layer)
        if nd == 1:
            x = x.squeeze(-2)
        return self._functional(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
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

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
        padding_mode, dtype: as ``Conv2d``, with one value per argument.

    Shape:
        Input: (N, C_in, L) or (C_in, L). Output: (N, C_out, L_out) with
        L_out = floor((L + 2 padding - dilation (k - 1) - 1) / stride) + 1.

    Attributes:
        weight: (out_channels, in_channels / groups, k); bias: (out_channels,).
    """

    _nd = 1
    _functional = staticmethod(conv1d)

