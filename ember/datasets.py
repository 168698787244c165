"""Ready-made datasets: ``ember.datasets.MNIST``, ``ember.datasets.FashionMNIST``.

They live in ``ember.data.datasets``; this module is the short name, like ``torchvision.datasets``.
"""
from .data.datasets import MNIST, DatasetNotFoundError, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "DatasetNotFoundError"]
# ----- gpt-cli -----
from .data.text import CharTokenizer, TinyShakespeare  # noqa: E402

__all__ += ["TinyShakespeare", "CharTokenizer"]
