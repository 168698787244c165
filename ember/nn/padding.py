"""Padding layers with PyTorch's names, arguments, stored ``padding`` tuples and reprs:
zero, constant, reflection, replication and circular padding in 1, 2 and 3 dimensions.
They call ``ember.nn.functional.pad`` (``ember.ops.padding``)."""
from ..ops.padding import pad
from .module import Module, _as_float_input

__all__ = [
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _ntuple(padding, n):
    """PyTorch's ``_ntuple(n)``: a sequence as a tuple (as given), anything else repeated n times."""
    if isinstance(padding, (tuple, list)):
        return tuple(padding)
    return (padding,) * n


def _input(x):
    return _as_float_input(x, None)


class _ConstantPadNd(Module):
    _n = 2

    def __init__(self, padding, value):
        super().__init__()
        self.padding = _ntuple(padding, self._n)
        self.value = value

    def forward(self, input):
        return pad(_input(input), self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with ``value``: ``padding`` an int or (left, right).

    Shape:
        (C, W) or (N, C, W) -> W_out = W + left + right.
    """

    _n = 2


class ConstantPad2d(_ConstantPadNd):
    """Pads the last two dimensions with ``value``: ``padding`` an int or
    (left, right, top, bottom).

    Shape:
        (C, H, W) or (N, C, H, W) -> H + top + bottom, W + left + right.
    """

    _n = 4


class ConstantPad3d(_ConstantPadNd):
    """Pads the last three dimensions with ``value``: ``padding`` an int or
    (left, right, top, bottom, front, back).

    Shape:
        (C, D, H, W) or (N, C, D, H, W) -> D + front + back, H + top + bottom, W + left + right.
    """

    _n = 6


class ZeroPad1d(ConstantPad1d):
    """Pads the last dimension with zeros; ``padding`` an int or (left, right)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dimensions with zeros; ``padding`` an int or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last three dimensions with zeros; ``padding`` an int or a 6-tuple."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class _ModePadNd(Module):
    _n = 2
    _mode = "reflect"

    def __init__(self, padding):
        super().__init__()
        self.padding = _ntuple(padding, self._n)

    def forward(self, input):
        return pad(_input(input), self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Pads the last dimension with its reflection (the edge not repeated); each pad must be
    smaller than the dimension. ``padding`` an int or (left, right); input (C, W) or (N, C, W)."""

    _n = 2


class ReflectionPad2d(_ModePadNd):
    """Reflection padding of the last two dimensions; ``padding`` an int or
    (left, right, top, bottom); input (C, H, W) or (N, C, H, W)."""

    _n = 4


class ReflectionPad3d(_ModePadNd):
    """Reflection padding of the last three dimensions; ``padding`` an int or a 6-tuple;
    input (C, D, H, W) or (N, C, D, H, W)."""

    _n = 6


class ReplicationPad1d(_ModePadNd):
    """Pads the last dimension by repeating its edge values; ``padding`` an int or
    (left, right); input (C, W) or (N, C, W)."""

    _n = 2
    _mode = "replicate"


class ReplicationPad2d(_ModePadNd):
    """Replication padding of the last two dimensions; input (C, H, W) or (N, C, H, W)."""

    _n = 4
    _mode = "replicate"


class ReplicationPad3d(_ModePadNd):
    """Replication padding of the last three dimensions; input (C, D, H, W) or (N, C, D, H, W)."""

    _n = 6
    _mode = "replicate"


class _CircularPadNd(_ModePadNd):
    _mode = "circular"

    def forward(self, input):
        x = _input(input)
        k = self._n // 2
        if x.ndim not in (k + 1, k + 2):
            raise ValueError(f"expected {k + 1}D or {k + 2}D input (got {x.ndim}D input)")
        return pad(x, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Pads the last dimension with its values wrapped around (left pad from the right end);
    ``padding`` an int or (left, right); input (C, W) or (N, C, W)."""

    _n = 2


class CircularPad2d(_CircularPadNd):
    """Circular padding of the last two dimensions; input (C, H, W) or (N, C, H, W)."""

    _n = 4


class CircularPad3d(_CircularPadNd):
    """Circular padding of the last three dimensions; input (C, D, H, W) or (N, C, D, H, W)."""

    _n = 6
