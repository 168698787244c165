"""Normalization layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm,
LocalResponseNorm (PyTorch's names, buffers, defaults)."""
import numbers
import warnings

import numpy as np

from .. import backend
from ..ops.norm import _norm_shape, batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, rms_norm
from .module import Module, Parameter, _as_float_input

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "RMSNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm"]


def _positive_int(v, name, who):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")
    return int(v)


def _check_eps(eps, who):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"{who}: eps must be a non-negative number, got {eps!r}")
    return float(eps)


class _BatchNorm(Module):
    """Shared body of the BatchNorm layers; subclasses set the accepted input ranks."""

    _ranks = ()
    _layout = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        who = type(self).__name__
        self.num_features = _positive_int(num_features, "num_features", who)
        self.eps = _check_eps(eps, who)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"{who}: momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.momentum = momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.has_bias = self.affine and bool(bias)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype))
            self.register_parameter("bias", Parameter(np.zeros(c, dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype))
            self.register_buffer("running_var", np.ones(c, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        if device is not None:
            self.to(device)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def _dtype(self):
        if self.weight is not None:
            return self.weight._data.dtype
        return None if self.running_mean is None else self.running_mean.dtype

    def forward(self, input):
        return batch_norm(*self._batch_norm_args(input))

    def _batch_norm_args(self, input):
        """The arguments of ``batch_norm`` for this input: the checks and the running-stats
        bookkeeping of one forward (``ember.nn.fusion``'s fused batch norm shares them)."""
        input = _as_float_input(input, self._dtype(), self)
        s = tuple(input.shape)
        if len(s) not in self._ranks:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expected {self._layout} input, got shape {s}")
        if s[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expected input with {self.num_features} "
                f"channels, got shape {s}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # a 0-d int64 array, updated in place
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        # Without running stats the batch statistics are used in eval too (PyTorch does so).
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return (input, self.running_mean if track else None, self.running_var if track else None,
                self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.has_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L), per channel C.

    Training normalizes by the batch mean and biased variance and updates
    ``running_mean``/``running_var`` (unbiased) by ``momentum`` (a cumulative average if None);
    eval normalizes by the running statistics.

    Args:
        num_features: C. eps: added to the variance. momentum: running-stat update weight.
        affine: learn ``weight`` (ones) and ``bias`` (zeros) of shape (C,).
        track_running_stats: keep running statistics (else batch statistics in eval too).
        bias: (keyword) with ``affine``, also learn ``bias``.

    Shape:
        Input: (N, C) or (N, C, L). Output: the same.
    """

    _ranks = (2, 3)
    _layout = "2D (N, C) or 3D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W), per channel C (see BatchNorm1d for the arguments).

    Shape:
        Input: (N, C, H, W). Output: the same.
    """

    _ranks = (4,)
    _layout = "4D (N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W), per channel C (see BatchNorm1d for the arguments).

    Shape:
        Input: (N, C, D, H, W). Output: the same.
    """

    _ranks = (5,)
    _layout = "5D (N, C, D, H, W)"


class LayerNorm(Module):
    """Normalize each sample over its last dims ``normalized_shape``, then scale and shift.

    Args:
        normalized_shape: int or tuple, the trailing dims to normalize over.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (ones) of ``normalized_shape``.
        bias: also learn ``bias`` (zeros) when ``elementwise_affine``.

    Shape:
        Input: (*, *normalized_shape). Output: the same.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        try:
            shape = _norm_shape(normalized_shape)
        except (TypeError, ValueError):
            raise ValueError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}") from None
        if not shape or any(n <= 0 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must hold positive sizes, got {normalized_shape!r}")
        self.normalized_shape = shape
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype))
            self.register_parameter("bias", Parameter(np.zeros(shape, dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def forward(self, input):
        input = _as_float_input(input, None if self.weight is None else self.weight._data.dtype, self)
        nd = len(self.normalized_shape)
        if input.ndim < nd or tuple(input.shape[input.ndim - nd :]) != self.normalized_shape:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}) expected input ending in dims "
                f"{self.normalized_shape}, got shape {tuple(input.shape)}"
            )
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalize (N, C, *) over groups of C / num_groups channels, then scale and shift per channel.

    Args:
        num_groups: number of groups; must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance.
        affine: learn per-channel ``weight`` (ones) and ``bias`` (zeros).
        bias: (keyword) with ``affine``, also learn ``bias``.

    Shape:
        Input: (N, C, *). Output: the same.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_groups = _positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _positive_int(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps = _check_eps(eps, "GroupNorm")
        self.affine = bool(affine)
        self.has_bias = self.affine and bool(bias)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.num_channels, dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        if self.affine:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def forward(self, input):
        input = _as_float_input(input, None if self.weight is None else self.weight._data.dtype, self)
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm({self.num_groups}, {self.num_channels}) expected input (N, {self.num_channels}, *), "
                f"got shape {tuple(input.shape)}"
            )
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.has_bias}"


# ----- attention -----
class RMSNorm(Module):
    """Divide each sample by the root mean square over its last dims ``normalized_shape``
    (plus ``eps``; None: the dtype's machine epsilon), then scale by ``weight`` (ones).

    Shape:
        Input: (*, *normalized_shape). Output: the same.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        try:
            shape = _norm_shape(normalized_shape)
        except (TypeError, ValueError):
            raise ValueError(f"RMSNorm: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}") from None
        self.normalized_shape = shape
        self.eps = None if eps is None else _check_eps(eps, "RMSNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype))
        else:
            self.register_parameter("weight", None)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._data[...] = 1

    def forward(self, input):
        input = _as_float_input(input, None if self.weight is None else self.weight._data.dtype, self)
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# ----- instance norm, local response norm -----
class _InstanceNorm(_BatchNorm):
    """Shared body of the InstanceNorm layers: BatchNorm's arguments, buffers and repr, with
    PyTorch's defaults affine=False, track_running_stats=False."""

    _no_batch_dim = 3

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        input = _as_float_input(input, self._dtype(), self)
        nb = self._no_batch_dim
        if input.ndim not in (nb, nb + 1):
            raise ValueError(f"expected {nb}D or {nb + 1}D input (got {input.ndim}D input)")
        feature_dim = input.ndim - nb
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        unbatched = input.ndim == nb
        if unbatched:
            input = input.unsqueeze(0)
        # in eval, running stats normalize when tracked; else each instance's own statistics
        y = instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training or not self.track_running_stats,
                          self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization: each (sample, channel) of (N, C, L) normalized over L by its own
    mean and biased variance, then (``affine``) scaled and shifted per channel.

    With ``track_running_stats`` training also updates ``running_mean``/``running_var`` (the
    batch mean of the instances' statistics, the variance unbiased) by ``momentum`` (None:
    no update), and eval normalizes by them; otherwise eval uses each instance's own.

    Args:
        num_features: C. eps: added to the variance. momentum: running-stat update weight.
        affine: learn ``weight`` (ones) and ``bias`` (zeros) of shape (C,); default False.
        track_running_stats: keep running statistics; default False.

    Shape:
        Input: (N, C, L) or (C, L). Output: the same.
    """

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) over (H, W); see InstanceNorm1d."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) over (D, H, W); see InstanceNorm1d."""

    _no_batch_dim = 4


class LocalResponseNorm(Module):
    """Local response normalization across channels:
    b_c = a_c / (k + alpha / size * sum of a^2 over the ``size`` neighbouring channels)^beta.

    Shape:
        Input: (N, C, *). Output: the same.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return local_response_norm(_as_float_input(input, None), self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
