"""ember: a deep-learning library on NumPy with PyTorch's API and semantics."""
import os as _os
import sys as _sys

# After each GEMM, OpenBLAS's idle worker threads spin for about 2**28 cycles (~0.1 s) before
# they sleep, holding the cores that ember's elementwise threads need right then (pooling,
# im2col, the input gradient's adds: ops/_parallel.py). With the spin cut to its minimum a
# 2-thread CNN step runs about 20% faster, and the MLP's GEMMs are no slower. OpenBLAS reads
# the variable once, when NumPy loads it, so this works only if ember is imported before NumPy;
# a value the user set is kept (export OPENBLAS_THREAD_TIMEOUT=4 to get it in any order).
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import backend  # noqa: E402
from . import autograd  # noqa: E402
from .autograd import (  # noqa: E402
    Function, detect_anomaly, enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_detect_anomaly, set_grad_enabled,
)
from .backend import (
    Generator, default_generator, get_default_device, get_default_dtype, manual_seed, set_default_device,
    set_default_dtype,
)
from .io import SerializationError, load, save
from .gradcheck import GradcheckError, gradcheck, gradcheck_directional
from .ops import (
    abs, add, argmax, argmin, broadcast_to, cat, chunk, clamp, clip, concatenate, div, exp, expand,
    flatten, log, logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, pad, permute,
    pow, relu, reshape, sigmoid, split, sqrt, squeeze, stack, std, sub, sum, swapaxes, tanh,
    transpose, unsqueeze, var, where,
)
from .ops.activation import erf, log_softmax, softmax
from .tensor import Tensor, arange, eye, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like

float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
int64 = __import__("numpy").int64

__version__ = "0.1.0"


def __getattr__(name):
    # subpackages load on first use, so `import ember` stays light
    import importlib

    if name in ("nn", "optim", "data", "datasets", "train", "compat", "onnx", "distributed"):
        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
