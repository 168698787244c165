"""``ember.cuda``: what ``torch.cuda`` answers, on NumPy.

ember computes on the CPU; with CuPy and an NVIDIA GPU (the ``ember[cuda]`` extra) tensors
can live on the GPU, and these functions report it. Seeding and synchronizing are harmless
no-ops when there is no GPU, as PyTorch's are.
"""
from . import backend as _backend

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "synchronize", "empty_cache", "current_device", "set_device", "get_device_name", "is_initialized",
           "is_bf16_supported"]


def is_available():
    """True only when CuPy is installed and sees an NVIDIA GPU."""
    return _backend.cuda_device_count() > 0


def device_count():
    """The number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    return _backend.cuda_device_count()


def is_initialized():
    return is_available()


def manual_seed(seed):
    """Accepted for PyTorch code; ember draws every random number from its one generator
    (``ember.manual_seed``), so there is no separate GPU generator to seed."""
    int(seed)


def manual_seed_all(seed):
    int(seed)


def seed():
    pass


def seed_all():
    pass


def synchronize(device=None):
    """Wait for the GPU's queued work (CuPy); nothing to wait for without one."""
    if is_available():
        import cupy

        cupy.cuda.Device().synchronize()


def empty_cache():
    """Free CuPy's cached GPU memory; nothing to free without a GPU."""
    if is_available():
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def _need_gpu():
    try:
        _backend.cupy_or_error()
    except RuntimeError as e:  # as NoGPUError (a RuntimeError), which ember run's docs promise
        from ._torch_shim import NoGPUError

        raise NoGPUError(str(e)) from None


def current_device():
    _need_gpu()
    import cupy

    return int(cupy.cuda.runtime.getDevice())


def set_device(device):
    _need_gpu()
    import cupy

    from ._device import as_device

    d = as_device(device)
    cupy.cuda.runtime.setDevice(0 if d.index is None else d.index)


def get_device_name(device=None):
    _need_gpu()
    import cupy

    from ._device import as_device

    index = 0 if device is None else (as_device(device).index or 0)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else name


def is_bf16_supported(including_emulation=True):
    return False
