"""ember.vision: torchvision's everyday API on NumPy (and Pillow, an optional extra).

``ember.vision.transforms``, ``datasets``, ``models``, ``utils`` and ``io`` mirror
``torchvision``'s modules of the same names; under ``ember run`` a script's ``import
torchvision`` gets this package.
"""
__version__ = "0.28.0"  # the torchvision version whose API this mirrors

# ----- ember.vision.models -----
from . import models  # noqa: E402,F401
# ----- ember.vision.datasets -----
from . import datasets  # noqa: E402,F401

# ----- ember.vision transforms, io, utils -----
from . import transforms, io, utils  # noqa: E402,F401
