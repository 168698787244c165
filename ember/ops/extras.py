"""Everyday extras of PyTorch's namespace: the arithmetic aliases (absolute, divide, multiply,
subtract, true_divide, floor_divide, negative, positive), ravel, clone, numel, range,
deg2rad/rad2deg, gcd/lcm, ldexp, frexp, nextafter, cov/corrcoef, dist, renorm, the trapezoid
rule, vander, unravel_index, result_type and typename. Each is a composition of ember's ops
(differentiable where PyTorch's is) or a plain computation on arrays (no gradient)."""
import builtins
import math
import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from . import elementwise as _ew, movement as _mv, reduce as _rd
from ._util import as_tensor, write_out
from .pointwise import _floating

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble"}


def _tname(d):
    return _TORCH_NAMES.get(np.dtype(d).name, np.dtype(d).name)


def _tensor_arg(name, x, arg="input"):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


# ----- aliases -----
def absolute(input, *, out=None):
    """``abs``."""
    return write_out(_ew.abs(input), out, "absolute", exact=True)


def multiply(input, other, *, out=None):
    """``mul``."""
    return _ew.mul(input, other, out=out)


def subtract(input, other, *, alpha=1, out=None):
    """``sub``: input - alpha * other."""
    return _ew.sub(input, other, alpha=alpha, out=out)


def divide(input, other, *, rounding_mode=None, out=None):
    """``div`` (``rounding_mode`` None, 'trunc' or 'floor')."""
    return _ew.div(input, other, rounding_mode=rounding_mode, out=out)


def true_divide(dividend, divisor, *, out=None):
    """``div`` with no rounding: integers give the default float dtype."""
    return _ew.div(dividend, divisor, out=out)


def floor_divide(input, other, *, out=None):
    """``div(rounding_mode='floor')``: the quotient rounded down (integers stay integers)."""
    if out is None:
        return _ew.div(input, other, rounding_mode="floor")
    from ..autograd import no_grad

    with no_grad():  # no gradient either way: PyTorch takes out= here while an input requires grad
        return _ew.div(input, other, rounding_mode="floor", out=out)


def negative(input, *, out=None):
    """``neg``; refused for bool tensors, as PyTorch refuses ``-mask``."""
    a = as_tensor(input)
    if a._data.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return write_out(_ew.neg(a), out, "negative", exact=True)


def positive(input):
    """``+input``: the tensor itself; refused for bool tensors."""
    a = _tensor_arg("positive", input)
    if a._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return a


def ravel(input):
    """The elements as one dimension (a view when the memory allows, else a copy)."""
    return _mv.reshape(_tensor_arg("ravel", input), -1)


def clone(input, *, memory_format=None):
    """A copy that stays in the graph."""
    return _mv.clone(_tensor_arg("clone", input))


def numel(input):
    """The number of elements."""
    return int(_tensor_arg("numel", input)._data.size)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):  # noqa: A001
    """PyTorch's deprecated ``range``: start, start + step, ... up to and including ``end``,
    in the default float dtype unless ``dtype`` says otherwise."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, TensorBase) else x for x in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dt = backend.get_default_dtype() if dtype is None else getattr(dtype, "dtype", np.dtype(dtype))
    vals = (start + np.arange(n, dtype=np.float64) * step).astype(dt)
    y = from_op(vals, None)
    if device is not None:
        y = from_op(backend.to_device(vals, device), None) if str(device).startswith("cuda") else y
    if requires_grad:
        y.requires_grad_(True)
    return write_out(y, out, "range")


# ----- elementwise math -----
def deg2rad(input, *, out=None):
    """Degrees to radians (integers give the default float dtype)."""
    return write_out(_ew.mul(_floating(input), math.pi / 180), out, "deg2rad")


def rad2deg(input, *, out=None):
    """Radians to degrees (integers give the default float dtype)."""
    return write_out(_ew.mul(_floating(input), 180 / math.pi), out, "rad2deg")


def _int_pair(name, input, other):
    a, b = _ew._pair(as_tensor(input), other)
    for t in (a, b):
        if t._data.dtype.kind not in "iu":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_tname(t._data.dtype)}\'')
    dt = np.result_type(a._data.dtype, b._data.dtype) if b._data.ndim or a._data.ndim == 0 else a._data.dtype
    return a._data, b._data, dt


def gcd(input, other, *, out=None):
    """The greatest common divisor, elementwise (integers only; gcd(0, 0) = 0)."""
    a, b, dt = _int_pair("gcd", input, other)
    return write_out(from_op(np.gcd(a, b).astype(dt), None), out, "gcd")


def lcm(input, other, *, out=None):
    """The least common multiple, elementwise (integers only; non-negative)."""
    a, b, dt = _int_pair("lcm", input, other)
    return write_out(from_op(np.lcm(a, b).astype(dt), None), out, "lcm")


def ldexp(input, other, *, out=None):
    """input * 2 ** other (differentiable in input); integer inputs give the default float."""
    a, b = _ew._pair(_floating(input), _floating(other))
    return write_out(_ew.mul(a, _ew.pow(2.0, b) if isinstance(b, TensorBase) else 2.0 ** b), out, "ldexp")


def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1);
    exponent int32. Floating inputs only; no gradient."""
    from .. import return_types

    a = _tensor_arg("frexp", input)._data
    if a.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(a)
    res = return_types.frexp(from_op(m.astype(a.dtype), None), from_op(e.astype(np.int32), None))
    if out is None:
        return res
    from ..autograd.function import is_grad_enabled
    from ._util import write_outs

    if is_grad_enabled() and input.requires_grad:
        raise RuntimeError("frexp(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    return write_outs(res, out, "frexp")


def nextafter(input, other, *, out=None):
    """The next float after input towards other (floats only; no gradient)."""
    a, b = _ew._pair(as_tensor(input), other)
    for t in (a, b):
        if t._data.dtype.kind != "f":
            raise NotImplementedError(f'"nextafter_cpu" not implemented for \'{_tname(t._data.dtype)}\'')
    dt = np.result_type(a._data.dtype, b._data.dtype)
    y = np.nextafter(a._data.astype(dt), b._data.astype(dt))
    return write_out(from_op(y, None), out, "nextafter", grad_of=(a, b))


# ----- statistics and norms -----
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns); a 1-D input is one variable (a 0-d result). ``fweights``: integer frequency
    weights, ``aweights``: float observation weights, one per column."""
    x = _tensor_arg("cov", input)
    if x._data.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{x._data.ndim} dimensions")
    x = _floating(x)
    if x._data.ndim < 2:
        x = _mv.reshape(x, 1, -1)
    n = x._data.shape[1]
    w = None
    for name, wt, kind in (("fweights", fweights, "iu"), ("aweights", aweights, "f")):
        if wt is None:
            continue
        wt = _tensor_arg("cov", wt, name)
        if wt._data.ndim > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{wt._data.ndim} dimensions")
        if wt._data.dtype.kind not in kind:
            want = "integral" if kind == "iu" else "floating point"
            raise RuntimeError(f"cov(): expected {name} to have {want} dtype but got {name} with "
                               f"{_tname(wt._data.dtype)} dtype")
        if wt._data.size != n:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {wt._data.size} != {n}")
        if (wt._data < 0).any():
            raise RuntimeError(f"cov(): {name} cannot be negative")
        wt = _ew.cast(wt, x._data.dtype) if wt._data.dtype != x._data.dtype else wt
        w = wt if w is None else _ew.mul(w, wt)
    if w is None:
        avg = _rd.mean(x, dim=1, keepdim=True)
        norm = n - correction
    else:
        w_sum = _rd.sum(w)
        avg = _ew.div(_rd.sum(_ew.mul(x, w), dim=1, keepdim=True), w_sum)
        if aweights is None or correction == 0:
            norm = _ew.sub(w_sum, correction)
        else:
            aw = aweights if aweights._data.dtype == x._data.dtype else _ew.cast(aweights, x._data.dtype)
            norm = _ew.sub(w_sum, _ew.div(_ew.mul(_rd.sum(_ew.mul(w, aw)), correction), w_sum))
    nz = norm._data if isinstance(norm, TensorBase) else norm
    if np.any(np.asarray(nz) <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=2)
        norm = _ew.clamp(norm, min=0) if isinstance(norm, TensorBase) else builtins.max(norm, 0)
    xm = _ew.sub(x, avg)
    xw = xm if w is None else _ew.mul(xm, w)
    from .matmul import matmul

    c = _ew.div(matmul(xw, _mv.transpose(xm, 0, 1)), norm)
    return _mv.squeeze(c)


def corrcoef(input):
    """Pearson's correlation coefficients of the rows of ``input`` (clipped to [-1, 1])."""
    c = cov(input)
    if c._data.ndim == 0:
        return _ew.div(c, c)
    from .linalg_diag import diagonal

    sd = _ew.sqrt(diagonal(c))
    c = _ew.div(_ew.div(c, _mv.unsqueeze(sd, 1)), _mv.unsqueeze(sd, 0))
    return _ew.clamp(c, -1, 1)


def _need_float(name, t):
    if t._data.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_tname(t._data.dtype)}")


def dist(input, other, p=2):
    """The p-norm of ``input - other`` (broadcast) over all elements."""
    a, b = _ew._pair(_tensor_arg("dist", input), other)
    _need_float("linalg.vector_norm", a)
    return _rd.norm(_mv.reshape(_ew.sub(a, b), -1), p)


def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to that norm."""
    x = _tensor_arg("renorm", input)
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {_tname(x._data.dtype)} instead.")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _mv.wrap_dim(dim, x._data.ndim)
    others = tuple(i for i in builtins.range(x._data.ndim) if i != d)
    n = _rd.norm(x, p, dim=others, keepdim=True) if others else _ew.abs(x)
    with np.errstate(divide="ignore"):
        factor = _ew.where(n._data > maxnorm, _ew.div(maxnorm, _ew.add(n, 1e-7)), np.ones((), x._data.dtype))
    return write_out(_ew.mul(x, factor), out, "renorm", exact=True)


# ----- the trapezoid rule -----
def _trap_parts(y, x, dx, dim, name):
    y = _floating(_tensor_arg(name, y, "y"))
    d = _mv.wrap_dim(dim, y._data.ndim)
    n = y._data.shape[d]
    lo = _mv.narrow(y, d, 0, builtins.max(n - 1, 0))
    hi = _mv.narrow(y, d, builtins.min(1, n), builtins.max(n - 1, 0))
    mid = _ew.mul(_ew.add(lo, hi), 0.5)
    if x is None:
        return mid, (1 if dx is None else dx), d
    if dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: pass x or dx, not both")
    x = _floating(as_tensor(x))
    if x._data.ndim == 1:
        if x._data.shape[0] != n:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        step = _ew.sub(x[1:], x[:-1])
        shape = [1] * y._data.ndim
        shape[d] = builtins.max(n - 1, 0)
        step = _mv.reshape(step, *shape)
    else:
        step = _ew.sub(_mv.narrow(x, d, 1, n - 1), _mv.narrow(x, d, 0, n - 1))
    return mid, step, d


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of ``y`` along ``dim`` by the trapezoid rule, at points ``x`` (a 1-D
    tensor of the dim's length, or y's shape) or spaced ``dx`` (default 1)."""
    mid, step, d = _trap_parts(y, x, dx, dim, "trapezoid")
    return _rd.sum(_ew.mul(mid, step), dim=d)


def trapz(y, x=None, *, dx=None, dim=-1):
    """``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid integral along ``dim`` (one element fewer than y there)."""
    from .cumulative import cumsum

    mid, step, d = _trap_parts(y, x, dx, dim, "cumulative_trapezoid")
    return cumsum(_ew.mul(mid, step), dim=d)


# ----- matrices and indices -----
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns x^(N-1) ... x^0 (``increasing``:
    x^0 first); integers and bools give int64."""
    from .cumulative import cumprod
    from .joining import cat

    x = _tensor_arg("vander", x)
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu":
        x = _ew.cast(x, np.int64)
    if n == 0:
        return from_op(np.empty((x._data.shape[0], 0), x._data.dtype), None)
    ones = from_op(np.ones((x._data.shape[0], 1), x._data.dtype), None)
    cols = [ones] + [_mv.unsqueeze(x, 1)] * (n - 1)
    v = cumprod(cat(cols, dim=1), dim=1)
    return v if increasing else _mv.getitem(v, (slice(None), np.arange(n - 1, -1, -1)))


def unravel_index(indices, shape):
    """The coordinates, in an array of ``shape``, of flat ``indices`` (negative ones count
    from the end): a tuple of int64 tensors of indices' shape."""
    if not isinstance(indices, TensorBase):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices).__name__}")
    idx = indices._data
    if idx.dtype.kind not in "iu" or idx.dtype == np.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got ember.{_dtype_name(idx.dtype)}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    total = int(np.prod(shape, dtype=np.int64))
    if idx.size and (idx.min() < -total or idx.max() >= total):
        raise ValueError(f"'indices' must be in range [{-total}, {total - 1}]")
    flat = np.where(idx < 0, idx + total, idx).astype(np.int64)
    coords = np.unravel_index(flat, shape) if shape else ()
    return tuple(from_op(np.asarray(c, np.int64), None) for c in coords)


def _dtype_name(d):
    from .._dtype import wrap

    return str(wrap(np.dtype(d))).split(".")[-1]


# ----- dtypes and names -----
def _category(d):
    return 0 if d.kind == "b" else 1 if d.kind in "iu" else 3 if d.kind == "c" else 2


def result_type(tensor, other):
    """The dtype an arithmetic op on ``tensor`` and ``other`` gives (PyTorch's promotion:
    tensors with dimensions first, then 0-d tensors, then Python numbers, a lower group
    counting only where its category (bool < integer < float < complex) is higher)."""
    from .._dtype import promote_types, wrap

    groups = [None, None, None]  # dims, 0-d, Python numbers
    for o in (tensor, other):
        if isinstance(o, TensorBase):
            g, d = (0 if o._data.ndim else 1), o._data.dtype
        elif isinstance(o, (bool, np.bool_)):
            g, d = 2, np.dtype(np.bool_)
        elif isinstance(o, (int, np.integer)):
            g, d = 2, np.dtype(np.int64)
        elif isinstance(o, (float, np.floating)):
            g, d = 2, np.dtype(backend.get_default_dtype())
        elif isinstance(o, (complex, np.complexfloating)):
            g, d = 2, np.dtype(np.complex128 if np.dtype(backend.get_default_dtype()) == np.float64
                               else np.complex64)
        else:
            raise TypeError(f"result_type(): argument must be Tensor or Number, not {type(o).__name__}")
        groups[g] = d if groups[g] is None else promote_types(groups[g], d).dtype
    res = None
    for g, d in enumerate(groups):
        if d is None:
            continue
        if res is None:
            res = d
        elif _category(d) > _category(res):
            if g == 2 and _category(d) == 3 and res.kind == "f":  # float tensor with a complex number
                res = np.dtype(np.complex128 if res.itemsize == 8 else np.complex64)
            elif g == 2 and _category(d) == 2:
                res = np.dtype(backend.get_default_dtype())
            else:
                res = d
    return wrap(res)


def typename(obj):
    """The type name of ``obj``: a tensor's ``type()`` ('ember.FloatTensor'), else
    'module.QualifiedName' (builtins without their module)."""
    if isinstance(obj, TensorBase):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        name = obj.__qualname__
    elif hasattr(obj, "__name__"):
        name = obj.__name__
    else:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


# ----- conjugation (real tensors: the tensor itself) -----
class Conj(Function):
    """The complex conjugate; its gradient is the conjugate of the incoming one."""

    dual = True

    def forward(self, a):
        return np.conj(a)

    def backward(self, gy):
        return gy.conj()


def conj(input):
    """The complex conjugate; a real tensor is returned as it is (PyTorch's lazy conj)."""
    a = _tensor_arg("conj", input)
    return Conj.apply(a) if a._data.dtype.kind == "c" else a


def resolve_conj(input):
    """The tensor itself: ember never holds a lazily conjugated tensor."""
    return _tensor_arg("resolve_conj", input)


def resolve_neg(input):
    """The tensor itself: ember never holds a lazily negated tensor."""
    return _tensor_arg("resolve_neg", input)


def is_conj(input):
    """False: ember's conj is computed at once, never a lazy bit."""
    _tensor_arg("is_conj", input)
    return False


def is_neg(input):
    _tensor_arg("is_neg", input)
    return False


def is_nonzero(input):
    """Whether the one-element tensor is not zero (an error for more or fewer elements)."""
    a = _tensor_arg("is_nonzero", input)._data
    if a.size == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if a.size > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(a.reshape(-1)[0] != 0)
