"""Random tensors: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``,
``multinomial``, ``poisson``, the ``*_like`` forms, and the arrays behind the in-place
``Tensor.uniform_ / normal_ / bernoulli_ / random_ / exponential_ / geometric_ / cauchy_ /
log_normal_``.

Every draw comes from ``backend.rng(generator)``: the global generator that
``ember.manual_seed`` seeds, or the ``generator=`` given. The numbers differ from PyTorch's
(a different generator), the dtypes, shapes, ranges and distributions are PyTorch's.
"""
import numbers
import operator

import numpy as np

from . import backend
from ._creation import _dtype, _new, _raw, _size_args, _tuple_size
from ._tensor_base import TensorBase

__all__ = ["rand", "randn", "rand_like", "randn_like", "randint", "randint_like", "randperm", "normal",
           "bernoulli", "multinomial", "poisson"]

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _tname(dt):
    return _TORCH_NAMES.get(np.dtype(dt).name, np.dtype(dt).name)


def _is_float(dt):
    dt = np.dtype(dt)
    return dt.kind == "f" or dt.name == "bfloat16"


def _need_float(dt, kernel, complex_ok=False):
    dt = np.dtype(dt)
    if not (_is_float(dt) or (complex_ok and dt.kind == "c")):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_tname(dt)}\'')


def _continuous(dt, name):
    if not _is_float(dt):
        raise RuntimeError(f"{name} distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_tname(dt)}")


# ----- the arrays (shape, dtype) each distribution gives -----
def uniform_array(shape, dt, low=0.0, high=1.0, generator=None):
    """Uniform on ``[low, high)`` in dtype ``dt``: ``k * 2**-m`` for ``m`` the dtype's
    mantissa bits, as PyTorch draws, so a float32 draw is never 1."""
    dt = np.dtype(dt)
    _need_float(dt, "check_uniform_bounds")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
    g = backend.rng(generator)
    if dt == np.float64:
        u = g.random(shape)
    elif dt == np.float32:
        u = g.random(shape, dtype=np.float32).astype(np.float64)
    else:  # float16 (11 bits), bfloat16 (8 bits)
        m = 11 if dt == np.float16 else 8
        u = g.integers(0, 2 ** m, shape).astype(np.float64) * 2.0 ** -m
    if low == 0.0 and high == 1.0:
        return u.astype(dt)
    r = (low + (high - low) * u).astype(dt)
    if low < high:  # rounding to the dtype must not reach ``high``
        r = np.minimum(r, np.nextafter(np.array(high, dt), np.array(low, dt)))
    return r


def normal_array(shape, dt, mean=0.0, std=1.0, generator=None):
    dt = np.dtype(dt)
    _need_float(dt, "normal_kernel_cpu", complex_ok=True)
    if np.any(np.asarray(std) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(std)}")
    g = backend.rng(generator)
    if dt.kind == "c":  # each part has variance 1/2, as PyTorch's complex normal
        z = (g.standard_normal(shape) + 1j * g.standard_normal(shape)) * np.sqrt(0.5)
    else:
        z = g.standard_normal(shape)
    return (mean + std * z).astype(dt)


def bernoulli_array(shape, dt, p=0.5, generator=None):
    p = np.asarray(_raw(p), np.float64)
    if np.any(~((p >= 0) & (p <= 1))):
        raise RuntimeError(f"bernoulli expects p to be in [0, 1], but got p={p.min() if p.size else p}")
    u = backend.rng(generator).random(shape)
    return (u < p).astype(dt)


def random_array(shape, dt, low=0, high=None, generator=None):
    """Integers on ``[low, high)``; with no ``high``, from 0 to the dtype's largest exactly
    representable integer (``2**24`` for float32, the int's maximum)."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        top = 1
    elif dt.kind in "iu":
        top = int(np.iinfo(dt).max)
    else:
        top = 2 ** {np.dtype(np.float16): 11, np.dtype(np.float32): 24, np.dtype(np.float64): 53}.get(dt, 8)
    if high is None:
        lo, hi = int(low), top + 1
    else:
        lo, hi = operator.index(low), operator.index(high)
        if lo >= hi:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
        if dt.kind in "biu":  # a float tensor takes any integer range
            smallest = 0 if dt.kind in "bu" else int(np.iinfo(dt).min)
            if lo < smallest:
                raise RuntimeError(f"from is out of bounds for {_tname(dt)} (from={lo}, smallest {smallest})")
            if hi - 1 > top:
                raise RuntimeError(f"to - 1 is out of bounds for {_tname(dt)} (to={hi}, largest {top})")
    return backend.rng(generator).integers(lo, hi - 1, shape, dtype=np.int64 if hi - 1 < 2 ** 63 else np.uint64,
                                           endpoint=True).astype(dt)


def exponential_array(shape, dt, lambd=1.0, generator=None):
    _continuous(dt, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return (backend.rng(generator).standard_exponential(shape) / lambd).astype(dt)


def geometric_array(shape, dt, p, generator=None):
    if np.dtype(dt).kind == "b":
        raise NotImplementedError('"geometric_cpu" not implemented for \'Bool\'')
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return backend.rng(generator).geometric(p, shape).astype(dt)


def cauchy_array(shape, dt, median=0.0, sigma=1.0, generator=None):
    _continuous(dt, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return (median + sigma * backend.rng(generator).standard_cauchy(shape)).astype(dt)


def log_normal_array(shape, dt, mean=1.0, std=2.0, generator=None):
    _need_float(dt, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return np.exp(mean + std * backend.rng(generator).standard_normal(shape)).astype(dt)


# ----- the functions -----
def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False):
    """Uniform samples on ``[0, 1)``."""
    del layout, pin_memory
    arr = uniform_array(_size_args(sizes, size), _dtype(dtype), generator=generator)
    return _new(arr, device, requires_grad, out)


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False):
    """Standard normal samples."""
    del layout, pin_memory
    arr = normal_array(_size_args(sizes, size), _dtype(dtype), generator=generator)
    return _new(arr, device, requires_grad, out)


def _like(input, dtype, device):
    a = _raw(input)
    if not isinstance(input, (TensorBase, np.ndarray)):
        raise TypeError(f"expected a Tensor as input, got {type(input).__name__}")
    dev = device if device is not None else (None if isinstance(a, np.ndarray) else backend.device_of(a))
    return a.shape, (a.dtype if dtype is None else np.dtype(dtype)), dev


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    del layout, memory_format
    shape, dt, dev = _like(input, dtype, device)
    return _new(uniform_array(shape, dt, generator=generator), dev, requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    del layout, memory_format
    shape, dt, dev = _like(input, dtype, device)
    return _new(normal_array(shape, dt, generator=generator), dev, requires_grad)


def _int_bound(v, name):
    v = _raw(v)
    if isinstance(v, (np.ndarray, np.generic)):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"randint(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


def _randint_array(low, high, shape, dt, generator):
    low, high = _int_bound(low, "low"), _int_bound(high, "high")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return random_array(shape, dt, low, high, generator)


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers on ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``;
    int64 unless ``dtype`` is given."""
    del layout, pin_memory
    args = list(args)
    if size is None:
        if not args:
            raise TypeError("randint() missing required argument 'size' (a tuple of ints)")
        size = args.pop()
    if high is None:
        if not args:
            raise TypeError("randint() missing required argument 'high'")
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args:
        raise TypeError("randint() takes (low, high, size) or (high, size)")
    dt = np.dtype(np.int64) if dtype is None else np.dtype(dtype)
    return _new(_randint_array(low, high, _tuple_size(size), dt, generator), device, requires_grad, out)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    """Integers on ``[low, high)`` in ``input``'s shape and dtype: ``randint_like(x, high)``
    or ``randint_like(x, low, high)``."""
    del layout, memory_format
    if high is None:
        low, high = 0, low
    shape, dt, dev = _like(input, dtype, device)
    return _new(_randint_array(low, high, shape, dt, generator), dev, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of ``range(n)`` (int64 unless ``dtype`` is given)."""
    del layout, pin_memory
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dt = np.dtype(np.int64) if dtype is None else np.dtype(dtype)
    if _is_float(dt):
        limit = 2 ** {2: 11 if dt == np.float16 else 8, 4: 24, 8: 53}[dt.itemsize] + 1
        if n > limit:
            raise RuntimeError(f"n cannot be greater than {limit} for {_tname(dt)} type.")
    return _new(backend.rng(generator).permutation(n).astype(dt), device, requires_grad, out)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples, in PyTorch's four forms: ``normal(mean_tensor, std_tensor)``,
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)`` (the tensors broadcast),
    and ``normal(mean, std, size)`` for two numbers."""
    del layout, pin_memory
    tm, ts = isinstance(mean, TensorBase), isinstance(std, TensorBase)
    if not (tm or ts):
        if size is None:
            raise TypeError("normal() with a float mean and std needs a size")
        dt = _dtype(dtype)
        return _new(normal_array(_tuple_size(size), dt, float(mean), float(std), generator), device, requires_grad,
                    out)
    if size is not None:
        raise TypeError("normal(): size is only taken with a float mean and std")
    m, s = _raw(mean), _raw(std)
    dt = (m if tm else s).dtype  # PyTorch's: the mean's dtype when it is a tensor
    _need_float(dt, "normal_kernel_cpu")
    if ts and np.any(s < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not ts and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise RuntimeError(f"normal: the shapes of mean {list(np.shape(m))} and std {list(np.shape(s))} "
                           "do not broadcast") from None
    arr = normal_array(shape, dt, m, s, generator)
    if out is not None:
        return _new(arr, None, False, out)
    return _zero_grad_link(_new(arr), mean, std)


def _zero_grad_link(t, *inputs):
    """``t`` (a sample), in the graph of those ``inputs`` that require grad with a zero
    gradient, as PyTorch's ``normal`` and ``bernoulli`` are (their samples are not
    reparameterized)."""
    from .autograd.function import _GradMode
    from .ops import elementwise as ew

    live = [x for x in inputs if isinstance(x, TensorBase) and x.requires_grad]
    if not live or not _GradMode.enabled:
        return t
    never = np.zeros(t._data.shape, bool)
    for x in live:
        t = ew.where(never, ew.cast(x, t._data.dtype), t)
    return t


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples in ``input``'s shape and dtype, each 1 with probability ``input`` (or ``p``)."""
    a = _raw(input)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"bernoulli(): argument 'input' must be Tensor, not {type(input).__name__}")
    if p is None:
        _need_float(a.dtype, "bernoulli_tensor_cpu_p_")
        if np.any(~((a >= 0) & (a <= 1))):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        p = a
    if out is not None:  # refused when input requires grad (in grad mode), as PyTorch's
        from .ops._util import write_out

        return write_out(bernoulli(input, p, generator=generator), out, "bernoulli")
    return _zero_grad_link(_new(bernoulli_array(a.shape, a.dtype, p, generator)), input, p)


def poisson(input, generator=None):
    """Poisson samples with rates ``input``, in its shape and dtype."""
    a = _raw(input)
    _need_float(a.dtype, "poisson_cpu")
    if np.any(~(a >= 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return _zero_grad_link(_new(backend.rng(generator).poisson(a.astype(np.float64)).astype(a.dtype)), input)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """``num_samples`` category indices per row of weights ``input`` (1-D or 2-D, need not
    sum to one), with or without replacement; int64."""
    p = _raw(input)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {p.ndim}")
    if not _is_float(p.dtype):
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {_tname(p.dtype)}")
    num_samples = operator.index(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_cat = p.shape[-1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"(n_sample={num_samples}, categories={n_cat})")
    w = p.reshape(-1, n_cat).astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    sums = w.sum(1)
    if np.any(sums <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = backend.rng(generator)
    if replacement:
        cdf = np.cumsum(w, 1) / sums[:, None]
        u = g.random((w.shape[0], num_samples))
        idx = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        idx = np.minimum(idx, n_cat - 1)
        while True:  # rounding in the cdf may leave the last categories' weight 0: step back over them
            bad = w[np.arange(w.shape[0])[:, None], idx] == 0
            if not bad.any():
                break
            idx = np.where(bad, idx - 1, idx)
    else:  # the largest num_samples of w / Exp(1), in order, are a sequential draw without replacement;
        # with fewer positive weights than num_samples the rest are zero-weight categories, as PyTorch 2.13
        # gives them (it does not raise)
        keys = w / g.standard_exponential(w.shape)
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64).reshape(p.shape[:-1] + (num_samples,))
    if out is not None and out.dtype != np.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {_tname(out._data.dtype)}")
    return _new(idx, None, False, out)
