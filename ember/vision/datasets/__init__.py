"""ember.vision.datasets: torchvision.datasets' API (MNIST family, CIFAR from the binary
archives, ImageFolder/DatasetFolder, FakeData) on NumPy, with Pillow images."""
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "CIFAR10", "CIFAR100", "DatasetFolder",
           "ImageFolder", "FakeData", "VisionDataset"]
