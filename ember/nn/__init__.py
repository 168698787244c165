"""ember.nn: modules, layers, losses and initializers with PyTorch's names and layouts."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
