"""Ready-made datasets: ``ember.datasets.MNIST``, ``ember.datasets.FashionMNIST``.

They live in ``ember.data.datasets``; this module is the short name, like ``torchvision.datasets``.
``MNIST`` and ``FashionMNIST`` here read ember's folder layout (``DIR/mnist/*.gz``, what
``ember train --data-dir DIR`` uses); torchvision's classes and layout (``root/MNIST/raw``) are
``ember.vision.datasets``, and the datasets only torchvision has are re-exported here under
their own names (``ember.datasets.CIFAR10`` is ``ember.vision.datasets.CIFAR10``).
"""
from .data.datasets import MNIST, DatasetNotFoundError, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "DatasetNotFoundError"]
# ----- gpt-cli -----
from .data.text import CharTokenizer, TinyShakespeare  # noqa: E402

__all__ += ["TinyShakespeare", "CharTokenizer"]

# ----- the torchvision datasets ember.data has no reader of its own for -----
from .vision.datasets import CIFAR10, CIFAR100, EMNIST, KMNIST, DatasetFolder, FakeData, ImageFolder  # noqa: E402

__all__ += ["CIFAR10", "CIFAR100", "EMNIST", "KMNIST", "DatasetFolder", "FakeData", "ImageFolder"]
