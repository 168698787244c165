"""The fast paths beneath the reference ops, and the one switch that turns them all off.

Every op's math lives once, readable, in ``ember/ops/`` (forward and backward, or a
composition of other ops). Some ops also have a kernel here: the same math rearranged for
speed (thread pools, channels-last layouts, fused passes), on arrays only, each one naming the
reference it accelerates, tested against it over its whole domain, and chosen only when
``enabled()``.

    EMBER_KERNELS=0 python train.py        # every op runs its reference
    ember.kernels.set_enabled(False)       # the same, from code
    with ember.kernels.disabled(): ...     # for a block
"""
import os

_state = {"enabled": os.environ.get("EMBER_KERNELS", "1").strip().lower() not in ("0", "false", "off", "no")}


def enabled():
    """Whether ops may use their fast kernels (``EMBER_KERNELS``, default on)."""
    return _state["enabled"]


def set_enabled(flag):
    """Turn every fast kernel on or off for the process."""
    _state["enabled"] = bool(flag)


class disabled:
    """``with ember.kernels.disabled():`` runs the block on the reference ops only."""

    def __enter__(self):
        self.prev = _state["enabled"]
        _state["enabled"] = False
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self.prev
        return False
