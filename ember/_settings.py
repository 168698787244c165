"""PyTorch's global settings as ember keeps them: print options (which ``Tensor.__repr__``
honours), matmul precision, deterministic algorithms (recorded: ember is deterministic),
inter-op threads, warn-always; and two creation functions over given memory,
``empty_strided`` and ``frombuffer``."""
import os
import warnings

import numpy as np

from . import backend
from ._tensor_base import from_op

_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)}
PRINT_OPTS = dict(_PROFILES["default"], sci_mode=None)
_STATE = {"matmul_precision": "highest", "deterministic": False, "warn_only": False, "interop": None,
          "warn_always": False}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print: digits after the point, the element count above which only the
    ``edgeitems`` at each end are shown, the line width, a ``profile`` ('default', 'short',
    'full') setting the first four, and ``sci_mode`` (True/False: always/never scientific,
    None: chosen per tensor)."""
    if profile in _PROFILES:
        PRINT_OPTS.update(_PROFILES[profile])
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            PRINT_OPTS[k] = v
    PRINT_OPTS["sci_mode"] = sci_mode


def get_float32_matmul_precision():
    """'highest' unless set (ember's float32 matmul is always full precision)."""
    return _STATE["matmul_precision"]


def set_float32_matmul_precision(precision):
    """Accepted and recorded ('highest', 'high', 'medium'); another value warns and is ignored."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _STATE["matmul_precision"] = precision


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded (ember's ops are deterministic either way)."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, "
                        f"not {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    _STATE["deterministic"], _STATE["warn_only"] = mode, warn_only and mode


def are_deterministic_algorithms_enabled():
    return _STATE["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _STATE["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """'default'/0: off, 'warn'/1: on with warn_only, 'error'/2: on."""
    if isinstance(debug_mode, str):
        names = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in names:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = names[debug_mode]
    elif not isinstance(debug_mode, int) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _STATE["deterministic"]:
        return 0
    return 1 if _STATE["warn_only"] else 2


def get_num_interop_threads():
    """Recorded by ``set_num_interop_threads``; else the number of cores (PyTorch's default)."""
    n = _STATE["interop"]
    return n if n is not None else (os.cpu_count() or 1)


def set_num_interop_threads(n):
    """Accepted and recorded (ember runs no inter-op thread pool)."""
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _STATE["interop"] = n


def set_warn_always(b):
    """Recorded: whether warnings PyTorch gives once should be given every time."""
    _STATE["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _STATE["warn_always"]


def _np_dtype(dtype):
    return np.dtype(backend.get_default_dtype() if dtype is None else getattr(dtype, "dtype", dtype))


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor of ``size`` whose steps between neighbours (in elements) are
    ``stride``."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} != {len(stride)}")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError("empty_strided: sizes and strides must be non-negative")
    dt = _np_dtype(dtype)
    n = 0 if 0 in size else 1 + sum((s - 1) * st for s, st in zip(size, stride))
    buf = np.empty(n, dt)
    a = np.lib.stride_tricks.as_strided(buf, shape=size, strides=tuple(st * dt.itemsize for st in stride))
    t = from_op(a, None)
    return t.requires_grad_(True) if requires_grad else t


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor over the memory of an object with the buffer protocol (shared: a write
    through either is seen by both), from byte ``offset``, ``count`` elements (-1: all)."""
    dt = _np_dtype(dtype)
    mv = memoryview(buffer)
    n = mv.nbytes
    if n <= 0 or count == 0:
        raise ValueError(f"both buffer length ({n}) and count ({count}) must not be 0")
    if not 0 <= offset < n:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({n} "
                         f"bytes) minus 1")
    if count < 0:
        if (n - offset) % dt.itemsize:
            raise ValueError(f"buffer length ({n - offset} bytes) after offset ({offset} bytes) must be a multiple "
                             f"of element size ({dt.itemsize})")
        count = (n - offset) // dt.itemsize
    elif offset + count * dt.itemsize > n:
        raise ValueError(f"requested buffer length ({count} * {dt.itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({n} bytes)")
    if mv.readonly:
        warnings.warn("The given buffer is not writable, and PyTorch does not support non-writable tensors. This "
                      "means you can write to the underlying (supposedly non-writable) buffer using the tensor. You "
                      "may want to copy the buffer to protect its data or make it writable before converting it to a "
                      "tensor. This type of warning will be suppressed for the rest of this program.",
                      UserWarning, stacklevel=2)
    a = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    t = from_op(a, None)
    return t.requires_grad_(True) if requires_grad else t
