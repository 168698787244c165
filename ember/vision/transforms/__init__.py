"""``torchvision.transforms``: image transforms for PIL images, ember Tensors and NumPy arrays
(tensor images are (..., C, H, W)); ``functional`` holds the function forms."""
from . import functional  # noqa: F401
from .functional import InterpolationMode  # noqa: F401
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _all

__all__ = ["InterpolationMode", "functional"] + _all
