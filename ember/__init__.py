"""ember: a deep-learning library on NumPy with PyTorch's API and semantics."""
from . import _alloc

_alloc.tune()  # freed arrays stay in the heap for the next step (EMBER_MALLOC=0: not)
from .kernels import _blas  # noqa: E402

_blas.shorten_idle_spin()  # OpenBLAS's idle threads sleep after ~0.4 ms (OPENBLAS_THREAD_TIMEOUT: the user's)
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
from ._tensor import Tensor
# ----- creation and randomness -----
from ._creation import (  # noqa: E402
    arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace, ones,
    ones_like, scalar_tensor, tensor, zeros, zeros_like,
)
from ._random import (  # noqa: E402
    bernoulli, multinomial, normal, poisson, rand, rand_like, randint, randint_like, randn, randn_like, randperm,
)
from .backend import get_rng_state, initial_seed, seed, set_rng_state  # noqa: E402
from . import random  # noqa: E402
# ----- tensor surface -----
from .ops.joining import (  # noqa: E402
    atleast_1d, atleast_2d, atleast_3d, broadcast_shapes, broadcast_tensors, column_stack, concat, dsplit, dstack,
    hsplit, hstack, meshgrid, repeat_interleave, row_stack, tensor_split, tile, unbind, vsplit, vstack,
)
from .ops.movement import Size, adjoint, from_dlpack, movedim, moveaxis, narrow, t, unflatten  # noqa: E402
from .ops.movement import swapaxes as swapdims  # noqa: E402
# ----- math and reductions -----
from . import return_types  # noqa: E402
from .ops.pointwise import (  # noqa: E402
    acos, acosh, addcdiv, addcmul, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin, asinh, atan,
    atan2, atanh, ceil, clamp_max, clamp_min, copysign, cos, cosh, digamma, erfc, erfinv, exp2, expm1, fix,
    float_power, floor, fmod, frac, heaviside, hypot, lerp, lgamma, log10, log1p, log2, logaddexp, logaddexp2,
    logit, nan_to_num, polygamma, reciprocal, remainder, round, rsqrt, sgn, sign, signbit, sin, sinc, sinh,
    square, tan, trunc, xlogy,
)
from .ops.logic import (  # noqa: E402
    allclose, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, eq, equal, fmax, fmin, ge, greater,
    greater_equal, gt, isclose, isfinite, isinf, isnan, isneginf, isposinf, isreal, le, less, less_equal,
    logical_and, logical_not, logical_or, logical_xor, lt, ne, not_equal, where,
)
from .ops.reduce import (  # noqa: E402
    all, amax, amin, aminmax, any, count_nonzero, nanmean, nansum, norm, prod, std_mean, var_mean,
)
from .ops.cumulative import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: E402
# ----- end math and reductions -----
# ----- indexing -----
from .ops.indexing import (  # noqa: E402
    argwhere, gather, index_add, index_copy, index_fill, index_put, index_put_, index_reduce, index_select,
    masked_fill, masked_scatter, masked_select, nonzero, put, scatter, scatter_add, scatter_reduce, select, take,
    take_along_dim,
)
# ----- end indexing -----
# ----- linalg basics -----
from .ops.linalg import (  # noqa: E402
    addbmm, addmm, addmv, addr, baddbmm, bmm, block_diag, cdist, chain_matmul, cross, dot, einsum, ger, inner,
    kron, mm, mv, outer, tensordot, vdot,
)
from .ops.linalg_diag import diag, diag_embed, diagflat, diagonal, trace, tril, triu  # noqa: E402
from . import linalg  # noqa: E402
# ----- end linalg basics -----
# ----- linalg-decomp -----
from .ops.linalg_decomp import qr_old as qr, svd_old as svd  # noqa: E402
# ----- end linalg-decomp -----
# ----- linalg-solve -----
from .ops.linalg_solve import det, inverse, logdet, slogdet_top as slogdet  # noqa: E402
from .ops.linalg_matfn import cholesky_inverse, cholesky_solve, matrix_exp, matrix_power, pinverse  # noqa: E402
# ----- end linalg-solve -----
# ----- out-audit -----
from .ops.linalg_distance import cosine_similarity, pdist  # noqa: E402
# ----- end out-audit -----

# ----- sorting -----
from .ops.sorting import (  # noqa: E402
    argsort, kthvalue, median, mode, msort, nanmedian, nanquantile, quantile, sort, topk,
)
from .ops.reorder import diff, flip, fliplr, flipud, roll, rot90  # noqa: E402
from .ops.setops import (  # noqa: E402
    bincount, bucketize, cartesian_prod, combinations, histc, histogram, isin, searchsorted, tril_indices, triu_indices,
    unique, unique_consecutive,
)
# ----- end sorting -----
# ----- surface-extras -----
# (ember.range shadows the builtin in this module, as torch.range does)
from .ops.extras import (  # noqa: E402
    absolute, clone, conj, corrcoef, cov, cumulative_trapezoid, deg2rad, dist, divide, floor_divide, frexp, gcd,
    is_conj, is_neg, is_nonzero, lcm, ldexp, multiply, negative, nextafter, numel, positive, rad2deg, range, ravel,
    renorm, resolve_conj, resolve_neg, result_type, subtract, trapezoid, trapz, true_divide, typename,
    unravel_index, vander,
)
from .ops.extras_scatter import (  # noqa: E402
    bartlett_window, blackman_window, diagonal_scatter, hamming_window, hann_window, kaiser_window, select_scatter,
    slice_scatter,
)
from ._settings import (  # noqa: E402
    are_deterministic_algorithms_enabled, empty_strided, frombuffer, get_deterministic_debug_mode,
    get_float32_matmul_precision, get_num_interop_threads, is_deterministic_algorithms_warn_only_enabled,
    is_warn_always_enabled, set_deterministic_debug_mode, set_float32_matmul_precision, set_num_interop_threads,
    set_printoptions, set_warn_always, use_deterministic_algorithms,
)
from ._torch_shim import _compile as compile  # noqa: E402,A001  (the model or function unchanged)
# ----- end surface-extras -----
# ----- dtypes and devices -----
# ember.float32, ember.long, ember.bool, ... (ember.float/int/bool shadow the builtins in this
# module, as torch's do: code in this file must say builtins.int etc. after this line)
from ._dtype import (  # noqa: E402
    PUBLIC as _DTYPES, can_cast, dtype, finfo, iinfo, is_complex, is_floating_point, is_tensor, promote_types,
)
from ._device import FORMATS as _FORMATS, device, memory_format  # noqa: E402
from . import accelerator, backends, cuda  # noqa: E402

globals().update(_DTYPES)
globals().update(_FORMATS)

__version__ = "0.1.0"


def set_num_threads(n):
    """Threads for ember's passes and for BLAS's GEMMs (``torch.set_num_threads``, which sets
    PyTorch's and MKL's). BLAS's count is set through OpenBLAS where NumPy uses it; another
    BLAS keeps the count ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` gave it before NumPy
    loaded. The default for both is the number of cores."""
    from .kernels import _blas
    from .ops import _parallel

    _parallel.set_num_threads(n)
    _blas.set_num_threads(n)


def get_num_threads():
    """The thread count ember's elementwise passes use (``EMBER_THREADS``, else
    ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``, else the cores)."""
    from .ops import _parallel

    return _parallel.num_threads()


# torch.X names that are torch.nn.functional.X: resolved from ember.nn.functional on first use
_FROM_FUNCTIONAL = frozenset((
    "adaptive_avg_pool1d", "avg_pool1d", "bilinear", "celu_", "channel_shuffle", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "hardshrink", "native_channel_shuffle",
    "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "prelu", "relu_", "rrelu_", "selu_", "threshold_",
))


def __dir__():
    # the names __getattr__ resolves from ember.nn.functional are listed before first use too,
    # so that dir(ember) (and the API pages made from it) does not depend on what ran before
    return sorted(set(globals()) | _FROM_FUNCTIONAL)


def __getattr__(name):
    # subpackages load on first use, so `import ember` stays light
    import importlib

    if name in _FROM_FUNCTIONAL:
        fn = getattr(importlib.import_module("ember.nn.functional"), name)
        globals()[name] = fn
        return fn

    if name == "bfloat16":  # ml_dtypes loads on first use (it takes about a second)
        from ._dtype import bfloat16

        d = bfloat16()
        if d is None:
            raise AttributeError("ember.bfloat16 needs the ml_dtypes package, which is not installed")
        globals()["bfloat16"] = d
        return d
    if name in ("nn", "optim", "data", "datasets", "train", "compat", "onnx", "distributed", "func", "utils", "kernels",
                "vision"):
        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute {name!r}")
