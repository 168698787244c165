"""EfficientNet-B0 (torchvision.models.efficientnet) on ember.nn.

The MBConv blocks, their ``block.N`` / ``stochastic_depth`` names and the stage layout are
torchvision's; only the B0 builder is provided here (B1-B7 and V2 are not yet).
"""
import copy
import math
from functools import partial

from ... import nn
from ...ops.movement import flatten
from ._utils import Conv2dNormActivation, SqueezeExcitation, StochasticDepth, _check_weights, _init_mobile, _make_divisible

__all__ = ["EfficientNet", "MBConvConfig", "MBConv", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
           "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7"]


class MBConvConfig:
    """One stage of the paper's table 1: expansion, kernel, stride, channels in/out, repeats
    (widths scaled by ``width_mult`` and rounded to 8, repeats by ``depth_mult``, rounded up)."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0, block=None):
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = int(math.ceil(num_layers * depth_mult))
        self.block = block or MBConv

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """Expand (1x1), depthwise (kxk), squeeze-excitation (SiLU), project (1x1); a residual with
    stochastic depth when the shape is kept."""

    def __init__(self, cnf, stochastic_depth_prob, norm_layer, se_layer=SqueezeExcitation):
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        act = nn.SiLU
        layers = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=act))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=act))
        squeeze_channels = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded, squeeze_channels, activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class EfficientNet(nn.Module):
    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2, num_classes=1000,
                 norm_layer=None, last_channel=None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(s, MBConvConfig) for s in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        first = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # later blocks of a stage keep the width and the resolution
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                # the drop probability grows linearly with depth
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(Conv2dNormActivation(last_in, last_out, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes))

        # Linear: U(-1/sqrt(out_features), 1/sqrt(out_features))
        _init_mobile(self, lambda w: nn.init.uniform_(w, -1.0 / math.sqrt(w.shape[0]), 1.0 / math.sqrt(w.shape[0])))

    def forward(self, x):
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def _efficientnet_b_conf(width_mult, depth_mult):
    bneck_conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    # expand, kernel, stride, in, out, repeats
    return [
        bneck_conf(1, 3, 1, 32, 16, 1),
        bneck_conf(6, 3, 2, 16, 24, 2),
        bneck_conf(6, 5, 2, 24, 40, 2),
        bneck_conf(6, 3, 2, 40, 80, 3),
        bneck_conf(6, 5, 1, 80, 112, 3),
        bneck_conf(6, 5, 2, 112, 192, 4),
        bneck_conf(6, 3, 1, 192, 320, 1),
    ]


# name: (width_mult, depth_mult, dropout); B5-B7 use BatchNorm with eps 1e-3 and momentum 0.01
_B_SCALING = {"b0": (1.0, 1.0, 0.2), "b1": (1.0, 1.1, 0.2), "b2": (1.1, 1.2, 0.3), "b3": (1.2, 1.4, 0.3),
              "b4": (1.4, 1.8, 0.4), "b5": (1.6, 2.2, 0.4), "b6": (1.8, 2.6, 0.5), "b7": (2.0, 3.1, 0.5)}


def _efficientnet_b(variant, weights, kwargs):
    name = f"efficientnet_{variant}"
    _check_weights(weights, name)
    width, depth, dropout = _B_SCALING[variant]
    dropout = kwargs.pop("dropout", dropout)
    if variant in ("b5", "b6", "b7"):
        kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=0.001, momentum=0.01))
    return EfficientNet(_efficientnet_b_conf(width, depth), dropout, last_channel=None, **kwargs)


def efficientnet_b0(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B0 (Tan & Le 2019): the base network, 5.3M parameters."""
    return _efficientnet_b("b0", weights, kwargs)


def efficientnet_b1(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B1: B0 1.1x deeper."""
    return _efficientnet_b("b1", weights, kwargs)


def efficientnet_b2(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B2: B0 1.1x wider, 1.2x deeper."""
    return _efficientnet_b("b2", weights, kwargs)


def efficientnet_b3(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B3: B0 1.2x wider, 1.4x deeper."""
    return _efficientnet_b("b3", weights, kwargs)


def efficientnet_b4(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B4: B0 1.4x wider, 1.8x deeper."""
    return _efficientnet_b("b4", weights, kwargs)


def efficientnet_b5(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B5: B0 1.6x wider, 2.2x deeper; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet_b("b5", weights, kwargs)


def efficientnet_b6(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B6: B0 1.8x wider, 2.6x deeper; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet_b("b6", weights, kwargs)


def efficientnet_b7(*, weights=None, progress=True, **kwargs):
    """EfficientNet-B7: B0 2x wider, 3.1x deeper; BatchNorm eps 1e-3, momentum 0.01."""
    return _efficientnet_b("b7", weights, kwargs)
