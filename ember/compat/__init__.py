"""The seed libraries' APIs as thin adapters over ember's core.

- ``ember.compat.dl_from_scratch``: ``Layer``, ``Network`` (DL-From-Scratch).
- ``ember.compat.neural_nets_in_numpy``: ``denseLayer``, ``nNet`` (neural-nets-in-numpy).
- ``ember.compat.activations``: the dictionary of activation functions and their derivatives
  that both use and that users may extend.

Their code runs with one changed import; the gradients come from ember's autograd.
See docs/migration.md for each call's equivalent in ember's PyTorch-style API.
"""
from . import activations, dl_from_scratch, neural_nets_in_numpy  # noqa: F401
from .activations import ACTIVATIONS  # noqa: F401

__all__ = ["activations", "dl_from_scratch", "neural_nets_in_numpy", "ACTIVATIONS"]
