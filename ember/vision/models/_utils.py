"""Building blocks shared by ember.vision.models (torchvision.ops.misc's, on ember.nn).

``Conv2dNormActivation``, ``SqueezeExcitation`` and ``StochasticDepth`` keep torchvision's
submodule names so torchvision ``state_dict`` keys match; ``_check_weights`` is the one place
that says pretrained weights are not downloaded.
"""
from ... import nn
from ..._random import rand as _rand


def _init_mobile(model, linear=lambda w: nn.init.normal_(w, 0, 0.01)):
    """torchvision's init of MobileNet v2/v3 and EfficientNet, module by module in order:
    Conv2d kaiming-normal (fan_out), norms to weight 1, ``linear`` on each Linear's weight,
    every bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear(m.weight)
            nn.init.zeros_(m.bias)


def _check_weights(weights, name):
    """Only ``weights=None`` builds: ember never downloads anything."""
    if weights is not None:
        raise ValueError(
            f"{name}: weights={weights!r} is not supported: ember.vision.models does not download "
            f"pretrained weights. Build {name}(weights=None) and load a state_dict file instead, e.g. "
            f"model.load_state_dict(ember.load('{name}.pth')) for a file saved with "
            f"torch.save(torchvision_model.state_dict(), '{name}.pth')")


def _make_divisible(v, divisor, min_value=None):
    """Round ``v`` to the nearest multiple of ``divisor`` (at least ``min_value``), never more
    than 10% down (torchvision's rule for MobileNet/EfficientNet channel counts)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d -> norm (BatchNorm2d by default) -> activation (ReLU by default), as
    ``torchvision.ops.Conv2dNormActivation``: children "0", "1", "2"; "same" padding by
    default; the conv has a bias only without a norm layer."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True, bias=None):
        if padding is None:
            ks = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
            dl = dilation if isinstance(dilation, (tuple, list)) else (dilation, dilation)
            padding = tuple((k - 1) // 2 * d for k, d in zip(ks, dl))
            if not isinstance(kernel_size, (tuple, list)) and not isinstance(dilation, (tuple, list)):
                padding = padding[0]
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer() if inplace is None else activation_layer(inplace=inplace))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: ``x * scale_activation(fc2(activation(fc1(avgpool(x)))))``, with
    1x1 convs ``fc1``/``fc2`` (``torchvision.ops.SqueezeExcitation``)."""

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input):
        return self._scale(input) * input


def stochastic_depth(input, p, mode, training=True):
    """Drop whole samples ("row") or the whole batch ("batch") of a residual branch with
    probability ``p`` in training, scaling survivors by 1/(1-p) (``torchvision.ops.stochastic_depth``)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival = 1.0 - p
    shape = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = (_rand(*shape, dtype=input.dtype) < survival).to(input.dtype)
    if survival > 0.0:
        noise = noise / survival
    return input * noise


class StochasticDepth(nn.Module):
    """Module form of `stochastic_depth` (no parameters)."""

    def __init__(self, p, mode):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode}"


__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth"]
