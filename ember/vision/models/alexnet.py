"""AlexNet (torchvision.models.alexnet, the "one weird trick" variant) on ember.nn."""
from ... import nn
from ...ops.movement import flatten
from ._utils import _check_weights

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Five convs with max-pools (``features``), adaptive 6x6 average pooling, three linear
    layers with dropout (``classifier``). Inputs need to be at least 63x63."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def alexnet(*, weights=None, progress=True, **kwargs):
    """AlexNet (Krizhevsky 2014, "One weird trick...")."""
    _check_weights(weights, "alexnet")
    return AlexNet(**kwargs)
