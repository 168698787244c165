"""The one place that knows which array module ember runs on, its default dtype and its RNG.

Everything else reaches arrays through ``xp`` (NumPy today; CuPy can be swapped in through
the same handle), takes its default float type from ``get_default_dtype()`` and draws random
numbers from ``rng(generator)``.
"""
import numpy as np

xp = np  # the array module

_default_dtype = np.dtype(np.float32)


def get_default_dtype():
    """The float dtype that Python numbers and new parameters get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the float dtype used for Python numbers, lists and new parameters."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype expects a floating dtype, got {dtype}")
    _default_dtype = dtype


def get_array_module(*arrays):
    """The array module of the given arrays (CuPy for device arrays, else NumPy)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy

            return cupy
    return np


class Generator:
    """A seeded random generator, like ``torch.Generator``: pass it as ``generator=``.

    Wraps ``numpy.random.Generator`` (PCG64); ``.numpy`` is that generator.
    """

    def __init__(self, seed=None):
        self.numpy = np.random.default_rng(seed)

    def manual_seed(self, seed):
        """Reseed in place and return self."""
        self.numpy = np.random.default_rng(seed)
        return self

    def get_state(self):
        """A JSON-serializable snapshot of the generator state."""
        return self.numpy.bit_generator.state

    def set_state(self, state):
        """Restore a snapshot taken with ``get_state``."""
        self.numpy.bit_generator.state = state


_global = Generator()


def default_generator():
    """ember's global generator, the one ``manual_seed`` reseeds."""
    return _global


def manual_seed(seed):
    """Seed ember's global generator: every random draw in ember becomes reproducible."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative int, got {seed!r}")
    _global.manual_seed(int(seed))
    return _global


def rng(generator=None):
    """The ``numpy.random.Generator`` to draw from: ``generator``'s, or the global one."""
    if generator is None:
        return _global.numpy
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be an ember.Generator or numpy Generator, got {type(generator).__name__}")


# ----- devices: 'cpu' is NumPy; 'cuda' is CuPy (the ember[cuda] extra) -----

_default_device = "cpu"


def cupy_or_error():
    """The cupy module, or an error that says whether CuPy or the GPU is missing."""
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError("device 'cuda' needs CuPy, which is not installed: pip install 'ember[cuda]'") from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise RuntimeError(f"device 'cuda': CuPy is installed but no CUDA GPU is usable ({e})") from e
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but this machine has no CUDA GPU")
    return cupy


def _check_device(device):
    kind = str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return kind


def device_of(array):
    if type(array).__module__.startswith("cupy"):
        return f"cuda:{array.device.id}"
    return "cpu"


def to_device(array, device):
    """``array`` on ``device`` (a copy across devices, the array itself when already there)."""
    kind = _check_device(device)
    on_gpu = type(array).__module__.startswith("cupy")
    if kind == "cpu":
        return array.get() if on_gpu else array
    cupy = cupy_or_error()
    return array if on_gpu else cupy.asarray(array)


def set_default_device(device):
    """Where new tensors and parameters are made: 'cpu' (default) or 'cuda'."""
    global _default_device
    if _check_device(device) == "cuda":
        cupy_or_error()
    _default_device = str(device)


def get_default_device():
    return _default_device
