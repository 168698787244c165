"""``ember.accelerator``: ``torch.accelerator``'s questions, answered for ember: the
accelerator is an NVIDIA GPU through CuPy when there is one, else there is none."""
from . import cuda as _cuda

__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """``device(type='cuda')`` when a GPU is usable, else None."""
    if not _cuda.is_available():
        return None
    from ._device import device

    return device("cuda")


def device_count():
    return _cuda.device_count()


def synchronize(device=None):
    _cuda.synchronize(device)
