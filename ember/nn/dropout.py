"""Dropout layers: inverted dropout in training, the identity in eval."""
import numbers

from ..ops.layers import dropout, dropout2d
from .module import Module

__all__ = ["Dropout", "Dropout2d", "Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


_TORCH_MESSAGE = ("Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            if type(self).__name__ in _TORCH_MESSAGE:
                raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
            raise ValueError(f"{type(self).__name__}: probability p must be between 0 and 1, got {p!r}")
        self.p = float(p)
        # Accepted for PyTorch compatibility; the input is never overwritten (autograd may need it).
        self.inplace = bool(inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1-p).

    In eval it returns its input. Masks come from ember's generator, so ``ember.manual_seed``
    makes them reproducible.

    Shape:
        Input: any. Output: the same.
    """

    def forward(self, x):
        return dropout(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels with probability ``p`` in training and scale the rest by 1/(1-p).

    Shape:
        Input: (N, C, H, W) or (C, H, W). Output: the same.
    """

    def forward(self, x):
        return dropout2d(x, self.p, self.training)


# ----- the rest of torch.nn's dropout layers -----
from ..ops import layers_extra as _lx  # noqa: E402


class Dropout1d(_DropoutNd):
    """Zero whole channels with probability ``p`` in training and scale the rest by 1/(1-p).

    Shape:
        Input: (N, C, L) or (C, L). Output: the same.
    """

    def forward(self, input):
        return _lx.dropout1d(input, self.p, self.training)


class Dropout3d(_DropoutNd):
    """Zero whole channels with probability ``p`` in training and scale the rest by 1/(1-p).

    Shape:
        Input: (N, C, D, H, W) or (C, D, H, W). Output: the same.
    """

    def forward(self, input):
        return _lx.dropout3d(input, self.p, self.training)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation and an
    affine map keeps the mean and variance. The identity in eval."""

    def forward(self, input):
        return _lx.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (input (N, C, *))."""

    def forward(self, input):
        return _lx.feature_alpha_dropout(input, self.p, self.training)
