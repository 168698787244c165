"""Gradient clipping and flat parameter vectors, as ``torch.nn.utils``.

``clip_grad_norm_`` and ``clip_grad_value_`` scale the gradients in place (the one place
outside backward that writes into ``.grad``, as in PyTorch); call them between
``loss.backward()`` and ``optimizer.step()``.
"""
import math
import numbers

import numpy as np

from ...autograd.function import bump
from ..._tensor import Tensor

from ..fusion import fuse  # noqa: E402,F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters", "fuse"]


def _params(parameters, fn):
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, np.ndarray):
        raise TypeError(f"{fn} expects Tensors (parameters), got an ndarray")
    out = list(parameters)
    for p in out:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn} expects an iterable of Tensors, got an element of type {type(p).__name__}")
    return out


def _norm_type(norm_type, fn):
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) or not norm_type > 0:
        raise ValueError(f"{fn}: norm_type must be a positive number or inf, got {norm_type!r}")
    return float(norm_type)


def _norm(a, p):
    """The p-norm of an array as a Python float, accumulated without a float32 overflow."""
    a = a.reshape(-1)
    if a.size == 0:
        return 0.0
    if p == math.inf:
        return float(max(a.max(), -a.min()))
    if p == 2.0:
        scale = float(max(a.max(), -a.min()))
        if not math.isfinite(scale) or scale == 0.0:
            return scale
        # BLAS dot in the array's own dtype unless its squares could overflow or underflow
        if (a.dtype == np.float32 and 1e-15 < scale < 1e15) or (a.dtype == np.float64 and 1e-150 < scale < 1e150):
            return math.sqrt(float(np.dot(a, a)))
        b = a.astype(np.float64) / scale
        return scale * math.sqrt(float(np.dot(b, b)))
    return float(np.sum(np.abs(a, dtype=np.float64) ** p) ** (1.0 / p))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of the norms of ``tensors`` (Tensors or arrays; None skipped), as a 0-d Tensor.

    ``foreach`` is accepted for PyTorch compatibility and ignored.
    """
    p = _norm_type(norm_type, "get_total_norm")
    if isinstance(tensors, (Tensor, np.ndarray)):
        tensors = [tensors]
    arrays = [t._data if isinstance(t, Tensor) else np.asarray(t) for t in tensors if t is not None]
    if not arrays:
        return Tensor(np.array(0.0, np.float32))
    norms = [_norm(a, p) for a in arrays]
    total = max(norms) if p == math.inf else float(np.sum(np.asarray(norms, np.float64) ** p) ** (1.0 / p))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}, so they cannot be "
                           "clipped; pass error_if_nonfinite=False to clip anyway")
    return Tensor(np.array(total, arrays[0].dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients in place by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    params = _params(parameters, "clip_grads_with_norm_")
    total = float(total_norm)
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # an inf norm gives inf * 0 = nan, silently, as in PyTorch
        for p in params:
            if p.grad is None:
                continue
            g = p.grad._data
            if g.flags.writeable:
                g *= coef
                bump(p.grad)  # PyTorch's grad.mul_(coef)
            else:
                p._grad = Tensor._from_op(g * coef, None)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one vector.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped (None skipped).
        max_norm: the largest allowed total norm.
        norm_type: order of the norm: 2.0 (default), 1.0, any p > 0, or ``math.inf``.
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The total norm before clipping, a 0-d Tensor (``float(...)`` or ``.item()`` reads it).
    """
    _check_max(max_norm, "clip_grad_norm_")
    params = _params(parameters, "clip_grad_norm_")
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element into ``[-clip_value, clip_value]`` in place."""
    _check_max(clip_value, "clip_grad_value_")
    v = float(clip_value)
    for p in _params(parameters, "clip_grad_value_"):
        if p.grad is None:
            continue
        g = p.grad._data
        if g.flags.writeable:
            np.clip(g, -v, v, out=g)
            bump(p.grad)  # PyTorch's grad.clamp_(-v, v)
        else:
            p._grad = Tensor._from_op(np.clip(g, -v, v), None)


def _check_max(value, fn):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{fn}: expected a non-negative number, got {value!r}")


def parameters_to_vector(parameters):
    """Concatenate the parameters' values into one flat 1-D Tensor (a copy)."""
    params = _params(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector got no parameters")
    return Tensor(np.concatenate([p._data.reshape(-1) for p in params]))


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    v = vec._data if isinstance(vec, Tensor) else np.asarray(vec)
    params = _params(parameters, "vector_to_parameters")
    n = sum(p._data.size for p in params)
    if v.ndim != 1 or v.size != n:
        raise ValueError(f"vector_to_parameters expects a 1-D vector of {n} elements (the parameters' total "
                         f"size), got shape {tuple(v.shape)}")
    i = 0
    for p in params:
        k = p._data.size
        p._data[...] = v[i:i + k].reshape(p._data.shape)
        bump(p)  # a graph that saved p's old values can no longer backward through them
        i += k


# ----- rnn -----
from . import rnn  # noqa: E402,F401  (ember.nn.utils.rnn: PackedSequence, pad/pack)
# ----- fusion_eval, parametrize (issue #23) -----
from .fusion_eval import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights  # noqa: E402,F401
from . import parametrize, parametrizations  # noqa: E402,F401
