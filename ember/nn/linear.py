"""``Linear``: the fully connected layer, with PyTorch's layout, initialization and repr."""
import math

import numpy as np

from .. import backend
from ..ops.layers import linear
from . import init
from .module import Module, Parameter, _as_float_input

__all__ = ["Linear", "Bilinear"]


class Linear(Module):
    """Apply ``y = x @ weight.T + bias``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device: where the parameters live ("cpu", or "cuda" with CuPy; None: the CPU).
        dtype: parameter dtype (the default float dtype if None).

    Shape:
        Input: (*, in_features). Output: (*, out_features).

    Attributes:
        weight: (out_features, in_features), from U(-1/sqrt(in_features), 1/sqrt(in_features)).
        bias: (out_features,), from the same distribution.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {v!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_features, dtype)) if bias else None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for weight, U(+-1/sqrt(fan_in)) for bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x, relu=False):
        """``x @ weight.T + bias``; ``relu=True`` applies ReLU in the same op (nn.Sequential
        does so for a Linear followed by a ReLU)."""
        weight = self.weight  # read once: a parametrization (spectral_norm) steps on every read
        return linear(self._input(x, weight), weight, self.bias, relu=relu)

    def _input(self, x, weight):
        """``x`` as a Tensor of the weight's dtype, checked to be real and to have in_features
        features."""
        x = _as_float_input(x, weight._data.dtype, self)
        if x._data.ndim == 0 or x._data.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features} -> {self.out_features}) expected input with "
                f"{self.in_features} features, got shape {tuple(x.shape)}"
            )
        return x

    def _layer_name(self):
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


# ----- Bilinear -----
class Bilinear(Module):
    """Apply ``y = x1^T A x2 + b`` for each output feature.

    Shape:
        input1 (*, in1_features), input2 (*, in2_features) with the same leading dims;
        output (*, out_features).

    Attributes:
        weight: (out_features, in1_features, in2_features), from
            U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
        bias: (out_features,), from the same distribution.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype))
        self.register_parameter("bias", Parameter(np.empty(out_features, dtype)) if bias else None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        from ..ops.layers_extra import bilinear

        weight = self.weight  # read once, as in Linear.forward
        dt = weight._data.dtype
        return bilinear(_as_float_input(input1, dt, self), _as_float_input(input2, dt, self), weight, self.bias)

    def _layer_name(self):
        return (f"Bilinear(in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features})")

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
