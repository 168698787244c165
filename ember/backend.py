"""The one place that knows which array module ember runs on, its default dtype and its RNG.

Everything else reaches arrays through ``xp`` (NumPy today; CuPy can be swapped in through
the same handle), takes its default float type from ``get_default_dtype()`` and draws random
numbers from ``rng(generator)``.
"""
import numpy as np

xp = np  # the array module

from . import _dtype  # noqa: E402

_default_dtype = _dtype.PUBLIC["float32"]


def get_default_dtype():
    """The float dtype that Python numbers and new parameters get (``ember.float32`` unless
    changed): an ``ember.dtype``, which NumPy takes as the NumPy dtype it wraps."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the float dtype used for Python numbers, lists and new parameters (an ember or a
    NumPy dtype)."""
    global _default_dtype
    d = _dtype.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype = d


def get_array_module(*arrays):
    """The array module of the given arrays (CuPy for device arrays, else NumPy)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy

            return cupy
    return np


class Generator:
    """A random number generator, as ``torch.Generator``: pass it as ``generator=``.

    ``Generator()`` (or ``Generator('cpu')``) starts from PyTorch's default seed; an int
    argument is taken as a seed. It draws with NumPy's PCG64 (``.numpy`` is that
    ``numpy.random.Generator``), so the numbers differ from PyTorch's, but the same seed
    gives the same numbers every time.
    """

    def __init__(self, device="cpu"):
        if isinstance(device, (int, np.integer)) and not isinstance(device, bool):
            seed, device = int(device), "cpu"  # ember's older Generator(seed)
        else:
            seed = _DEFAULT_SEED
        if str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"Generator(device={str(device)!r}): ember's generators draw on the CPU; "
                               "no CUDA generator is available")
        self._device = "cpu"
        self.manual_seed(seed)

    @property
    def device(self):
        import sys

        dev = getattr(sys.modules.get("ember"), "device", None)  # ember.device, when the package has it
        return dev(self._device) if isinstance(dev, type) else self._device

    def manual_seed(self, seed):
        """Reseed in place (any int PyTorch takes: -2**63 <= seed < 2**64) and return self."""
        seed = _seed_value(seed)
        self._seed = seed
        self.numpy = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        """Reseed from the operating system's entropy; return the new seed."""
        s = np.random.SeedSequence().entropy % 2 ** 63  # the OS's entropy
        self.manual_seed(s)
        return s

    def initial_seed(self):
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self):
        """The generator's state as a 1-D ``uint8`` Tensor (what ``set_state`` takes back)."""
        from ._tensor_base import from_op

        st = self.numpy.bit_generator.state
        raw = (self._seed.to_bytes(8, "little") + st["state"]["state"].to_bytes(16, "little")
               + st["state"]["inc"].to_bytes(16, "little") + bytes([int(st["has_uint32"])])
               + int(st["uinteger"]).to_bytes(4, "little"))
        return from_op(np.frombuffer(raw, np.uint8).copy(), None)

    def set_state(self, new_state):
        """Restore a state returned by ``get_state``; return self."""
        arr = getattr(new_state, "_data", new_state)
        if isinstance(arr, dict):  # a NumPy bit-generator state (ember's older checkpoints)
            self.numpy.bit_generator.state = arr
            return self
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8:
            got = getattr(arr, "dtype", type(new_state).__name__)
            raise TypeError(f"expected a uint8 (Byte) Tensor as the generator state, but got {got}")
        if arr.size != _STATE_BYTES:
            raise RuntimeError(f"expected a generator state of {_STATE_BYTES} bytes (from Generator.get_state), "
                               f"but found the input RNG state size to be {arr.size}")
        raw = arr.reshape(-1).tobytes()
        bg = np.random.PCG64()
        bg.state = {"bit_generator": "PCG64",
                    "state": {"state": int.from_bytes(raw[8:24], "little"),
                              "inc": int.from_bytes(raw[24:40], "little")},
                    "has_uint32": raw[40], "uinteger": int.from_bytes(raw[41:45], "little")}
        self._seed = int.from_bytes(raw[:8], "little")
        self.numpy = np.random.Generator(bg)
        return self

    def __repr__(self):
        return f"<ember.Generator object at {id(self):#x}>"


_DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed
_STATE_BYTES = 45  # initial seed (8), PCG64 state (16) and increment (16), the cached half-word (1 + 4)


def _seed_value(seed):
    try:
        seed = int(seed)  # PyTorch takes bools, NumPy ints and floats (truncated) too
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed expected an int seed, but got {type(seed).__name__}") from None
    if not -(2 ** 63) <= seed < 2 ** 64:
        raise ValueError(f"Overflow when unpacking long long: seed {seed} is outside [-2**63, 2**64)")
    return seed % 2 ** 64  # PyTorch reads a negative seed as its uint64


class _DefaultGenerator(Generator):
    """The global generator, ``ember.default_generator`` (``torch.default_generator``). Calling
    it returns it, as ember's earlier ``default_generator()`` did."""

    def __call__(self):
        return self

    def __repr__(self):
        return f"<ember.Generator object (the default generator) at {id(self):#x}>"


_global = _DefaultGenerator().manual_seed(np.random.SeedSequence().entropy % 2 ** 64)  # a fresh seed each run
default_generator = _global


def manual_seed(seed):
    """Seed ember's global generator (every draw in ember becomes reproducible); return it."""
    _global.manual_seed(seed)
    return _global


def seed():
    """Seed the global generator from the operating system's entropy; return the seed."""
    return _global.seed()


def initial_seed():
    """The global generator's current seed."""
    return _global.initial_seed()


def get_rng_state():
    """The global generator's state, a ``uint8`` Tensor (``torch.get_rng_state``)."""
    return _global.get_state()


def set_rng_state(new_state):
    """Restore the global generator's state from ``get_rng_state()``."""
    _global.set_state(new_state)


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
        raise RuntimeError("device 'cuda' needs CuPy, which is not installed: pip install 'ember[cuda]' "
                           "(and an NVIDIA GPU with its CUDA driver)") from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise RuntimeError(f"device 'cuda': CuPy is installed but no NVIDIA GPU is usable ({e})") from e
    if count == 0:
        raise RuntimeError("device 'cuda': CuPy is installed but this machine has no NVIDIA GPU")
    return cupy


def cuda_device_count():
    """How many GPUs CuPy sees (0 without CuPy, a driver or a GPU)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def _check_device(device):
    """The type of ``device`` ('cpu' or 'cuda'); a DeviceError for any other."""
    from ._device import DeviceError, as_device

    kind = as_device(device).type
    if kind not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device {str(device)!r}: ember runs on 'cpu' (NumPy) or 'cuda' "
                          f"(CuPy on an NVIDIA GPU), not {kind!r}")
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
    index = getattr(device, "index", None)
    if index is None and isinstance(device, str) and ":" in device:
        index = int(device.split(":")[1])
    if index is None:
        return array if on_gpu else cupy.asarray(array)
    if on_gpu and array.device.id == index:
        return array
    with cupy.cuda.Device(index):
        return cupy.asarray(array)


def set_default_device(device):
    """Where new tensors and parameters are made: 'cpu' (default) or 'cuda'."""
    global _default_device
    if device is None:
        device = "cpu"
    if _check_device(device) == "cuda":
        cupy_or_error()
    _default_device = str(device)


def get_default_device():
    """The device new tensors are made on (``ember.device``)."""
    from ._device import as_device

    return as_device(_default_device)
