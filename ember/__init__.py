"""ember: a deep-learning library on NumPy with PyTorch's API and semantics."""
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
from .gradcheck import GradcheckError, gradcheck, gradcheck_directional, gradgradcheck
from .ops import (
    abs, add, argmax, argmin, broadcast_to, cat, chunk, clamp, clip, concatenate, div, exp, expand,
    flatten, log, logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, pad, permute,
    pow, relu, reshape, sigmoid, split, sqrt, squeeze, stack, std, sub, sum, swapaxes, tanh,
    transpose, unsqueeze, var, where,
)
from .ops.activation import erf, log_softmax, softmax
from ._tensor import Tensor, arange, eye, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like

float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
int64 = __import__("numpy").int64

__version__ = "0.1.0"


def set_num_threads(n):
    """Threads for ember's elementwise passes (``torch.set_num_threads``). BLAS keeps its own
    count, set by ``OPENBLAS_NUM_THREADS`` (or ``OMP_NUM_THREADS``) before NumPy loads; the
    default for both is the number of cores."""
    from .ops import _parallel

    _parallel.set_num_threads(n)


def get_num_threads():
    """The thread count ember's elementwise passes use (``EMBER_THREADS``, else
    ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``, else the cores)."""
    from .ops import _parallel

    return _parallel.num_threads()


def __getattr__(name):
    # subpackages load on first use, so `import ember` stays light
    import importlib

    if name in ("nn", "optim", "data", "datasets", "train", "compat", "onnx", "distributed", "func", "utils", "kernels"):
        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
