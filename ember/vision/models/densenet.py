"""DenseNet-BC 121/161/169/201 (torchvision.models.densenet) on ember.nn.

Names follow torchvision's: ``features.conv0``, ``features.denseblock1.denselayer1.norm1``...,
``features.transition1.conv``, ``features.norm5``, ``classifier``.
"""
from collections import OrderedDict

from ... import nn
from ...nn import functional as F
from ...ops.joining import cat
from ...ops.movement import flatten
from ._utils import _check_weights

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """bn-relu-1x1 conv (to ``bn_size * growth_rate``) on all earlier features concatenated,
    then bn-relu-3x3 conv to ``growth_rate`` new features."""

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate, memory_efficient=False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        # torchvision's memory_efficient recomputes the bottleneck in backward (checkpointing);
        # the values are the same, so ember keeps the flag and computes the plain way
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs):
        return self.conv1(self.relu1(self.norm1(cat(list(inputs), 1))))

    def forward(self, input):
        prev_features = [input] if not isinstance(input, (list, tuple)) else input
        new_features = self.conv2(self.relu2(self.norm2(self.bn_function(prev_features))))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, each seeing the block input and every earlier layer's output."""

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate, memory_efficient=False):
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate=growth_rate, bn_size=bn_size,
                                drop_rate=drop_rate, memory_efficient=memory_efficient)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        features = [init_features]
        for _, layer in self.items():
            features.append(layer(features))
        return cat(features, 1)


class _Transition(nn.Sequential):
    """bn-relu-1x1 conv (halving the channels) and a 2x2 average pool between dense blocks."""

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """Densenet-BC (Huang et al., "Densely Connected Convolutional Networks").

    Args: growth_rate (``k``), block_config (layers per dense block), num_init_features,
    bn_size, drop_rate, num_classes, memory_efficient (accepted; computes the same values).
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4,
                 drop_rate=0, num_classes=1000, memory_efficient=False):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers=num_layers, num_input_features=num_features, bn_size=bn_size,
                                growth_rate=growth_rate, drop_rate=drop_rate, memory_efficient=memory_efficient)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        out = F.relu(self.features(x))
        out = flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def _densenet(name, growth_rate, block_config, num_init_features, weights, progress, **kwargs):
    _check_weights(weights, name)
    return DenseNet(growth_rate, block_config, num_init_features, **kwargs)


def densenet121(*, weights=None, progress=True, **kwargs):
    """DenseNet-121."""
    return _densenet("densenet121", 32, (6, 12, 24, 16), 64, weights, progress, **kwargs)


def densenet161(*, weights=None, progress=True, **kwargs):
    """DenseNet-161."""
    return _densenet("densenet161", 48, (6, 12, 36, 24), 96, weights, progress, **kwargs)


def densenet169(*, weights=None, progress=True, **kwargs):
    """DenseNet-169."""
    return _densenet("densenet169", 32, (6, 12, 32, 32), 64, weights, progress, **kwargs)


def densenet201(*, weights=None, progress=True, **kwargs):
    """DenseNet-201."""
    return _densenet("densenet201", 32, (6, 12, 48, 32), 64, weights, progress, **kwargs)
