"""Normalization ops: batch, layer, group, instance, RMS and local response norm, and
``normalize`` (unit p-norm vectors), each a composition of ember ops.

All three are one formula, ``_normalize``: subtract the mean over some axes and divide by the
standard deviation (biased variance plus ``eps``), then scale and shift per channel or
element. Written with ember ops, every gradient (of any order) comes from theirs.
The fast paths (channels-last batch norm in cache-sized blocks on several threads, fused
layer norm rows) are ``ember.kernels.norm``, used when ``ember.kernels.enabled()``.
"""
import math
import numbers

import numpy as np

from .. import backend, kernels
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor, write_out
from .elementwise import cast, sqrt
from .movement import pad, reshape, wrap_dim

__all__ = ["batch_norm", "layer_norm", "group_norm", "rms_norm", "instance_norm", "local_response_norm", "normalize"]


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes``, with the biased variance as PyTorch; also
    returns the mean and the variance (kept dims)."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean  # centred first: stable where E[x^2] - E[x]^2 is not
    var = (d * d).mean(axis=axes, keepdims=True)
    return d / sqrt(var + eps), mean, var


def _affine(y, weight, bias, shape):
    """y * weight + bias, each reshaped to ``shape`` to broadcast (either may be None)."""
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def update_running_stats(running_mean, running_var, mean, var, m, momentum):
    """running = (1 - momentum) running + momentum batch, in place on the (C,) arrays; the
    variance kept is the unbiased one (times m / (m - 1)), as PyTorch."""
    running_mean *= 1 - momentum
    running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
    running_var *= 1 - momentum
    running_var += (momentum * var * (m / (m - 1))).astype(running_var.dtype, copy=False)


def batch_norm_reference(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm on checked arguments: x (N, C, *) Tensor, running stats (C,) arrays or None,
    weight and bias (C,) Tensors or None."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (x.shape[1],) + (1,) * (x.ndim - 2)
    if training:
        y, mean, var = _normalize(x, axes, eps)
        if running_mean is not None:
            m = x._data.size // x.shape[1]
            update_running_stats(running_mean, running_var, mean._data.reshape(-1), var._data.reshape(-1), m, momentum)
    else:  # the running stats are constants
        mean = running_mean.astype(x.dtype).reshape(shape)
        invstd = (1 / np.sqrt(running_var + eps)).astype(x.dtype).reshape(shape)
        y = (x - mean) * invstd
    return _affine(y, weight, bias, shape)


def _empty_norm(x, weight, bias):
    """An empty (N, C, *) input normalized: empty, in the graph, the running stats left as they
    are (PyTorch's rule); the weight's and bias's gradients are sums over no elements, zeros."""
    y = _affine(x, weight, bias, (x.shape[1],) + (1,) * (x.ndim - 2))
    return x * 1 if y is x else y  # a new tensor, as every other path returns


def _check_float(v, name, who):
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise TypeError(f"{who}: {name} must be a number, got {v!r}")


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C, *) per channel C.

    In training, normalizes by the batch mean and biased variance and, when running stats are
    given ((C,) arrays or Tensors), updates them in place:
    ``running = (1 - momentum) * running + momentum * batch`` with the unbiased variance.
    Otherwise normalizes by the running stats.

    Args:
        weight, bias: (C,) or None.
    Returns:
        Tensor of the input's shape.
    """
    x, rm, rv, w, b, training = _check_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    if x._data.size == 0:
        return _empty_norm(x, w, b)
    if kernels.enabled():
        return _kernels.batch_norm(x, rm, rv, w, b, training, momentum, eps)
    return batch_norm_reference(x, rm, rv, w, b, training, momentum, eps)


def batch_norm_relu_max_pool2d(x, running_mean, running_var, weight, bias, training, momentum, eps, kernel_size,
                               stride=None, padding=0, dilation=1, ceil_mode=False):
    """``max_pool2d(relu(batch_norm(x, ...)), kernel_size, ...)``: arguments as ``batch_norm``
    and ``max_pool2d``. A 2x2, stride-2 window after a training-mode batch norm of
    channels-last input runs as one op (``ember.kernels.fused``) when the kernels are on; the
    rest as the three ops. For nn.Sequential's BatchNorm2d -> ReLU -> MaxPool2d
    (``ember.nn.utils.fuse``)."""
    from ..kernels import fused as _fused
    from .pool import _pool_args, max_pool

    x, rm, rv, w, b, training = _check_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    if kernels.enabled() and x._data.size and x._data.ndim == 4:
        _, *window, fast = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2)
        if fast:
            return _fused.batch_norm_relu_max_pool2d(x, rm, rv, w, b, training, momentum, eps, (*window, fast))
    y = batch_norm(x, rm, rv, w, b, training, momentum, eps)
    return max_pool(y, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2, relu=True)


def _check_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm's arguments checked: (x, running_mean, running_var, weight, bias, training)
    with the stats as arrays or None, weight and bias as Tensors or None, x cast to their dtype."""
    x = as_tensor(x)
    if x._data.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    c = x._data.shape[1]
    rm = running_mean._data if isinstance(running_mean, TensorBase) else running_mean
    rv = running_var._data if isinstance(running_var, TensorBase) else running_var
    if (rm is None) != (rv is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if rm is None and not training:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    for name, a in (("running_mean", rm), ("running_var", rv)):
        if a is not None and a.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input shape {tuple(x.shape)}, got {tuple(a.shape)}")
    _check_float(eps, "eps", "batch_norm")
    if training and rm is not None:
        _check_float(momentum, "momentum", "batch_norm")
    if training and x._data.shape[0] * math.prod(x._data.shape[2:]) == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input shape {tuple(x.shape)}")
    w = None if weight is None else as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t._data.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input shape {tuple(x.shape)}, got {tuple(t.shape)}")
    first = w if w is not None else b
    if first is not None and x._data.dtype != first._data.dtype:
        x = cast(x, first._data.dtype)
    return x, rm, rv, w, b, bool(training)


def layer_norm_reference(x, shape, weight, bias, eps):
    """layer_norm on checked arguments: x's trailing dims ``shape`` are normalized; weight and
    bias are Tensors of that shape, or None."""
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    return _affine(_normalize(x, axes, eps)[0], weight, bias, shape)


def _norm_shape(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing dims ``normalized_shape`` of each sample, then apply
    ``weight`` and ``bias`` (each of ``normalized_shape``, or None)."""
    x = as_tensor(x)
    shape = _norm_shape(normalized_shape)
    nd = len(shape)
    if nd == 0 or x._data.ndim < nd or x._data.shape[x._data.ndim - nd :] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the last dims of input shape {tuple(x.shape)}")
    _check_float(eps, "eps", "layer_norm")
    w = None if weight is None else as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t._data.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    first = w if w is not None else b
    if first is not None and x._data.dtype != first._data.dtype:
        x = cast(x, first._data.dtype)
    if kernels.enabled():
        return _kernels.layer_norm(x, shape, w, b, eps)
    return layer_norm_reference(x, shape, w, b, eps)


def group_norm_reference(x, num_groups, weight, bias, eps):
    """group_norm on checked arguments: x (N, C, *), weight and bias (C,) Tensors or None."""
    n, c = x.shape[:2]
    y = _normalize(reshape(x, (n, num_groups, math.prod(x.shape[1:]) // num_groups)), (2,), eps)[0]
    return _affine(reshape(y, x.shape), weight, bias, (c,) + (1,) * (x.ndim - 2))


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize (N, C, *) over each group of C / num_groups channels (and all positions),
    then apply per-channel ``weight`` and ``bias`` (C,)."""
    x = as_tensor(x)
    if x._data.ndim < 2:
        raise ValueError(f"group_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    n, c = x._data.shape[:2]
    if not isinstance(num_groups, numbers.Integral) or num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: {c} channels cannot be split into {num_groups!r} groups")
    _check_float(eps, "eps", "group_norm")
    w = None if weight is None else as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t._data.shape != (c,):
            raise ValueError(f"group_norm: {name} must have shape ({c},), got {tuple(t.shape)}")
    first = w if w is not None else b
    if first is not None and x._data.dtype != first._data.dtype:
        x = cast(x, first._data.dtype)
    if x._data.size == 0:
        return _empty_norm(x, w, b)
    if kernels.enabled():
        return _kernels.group_norm(x, int(num_groups), w, b, eps)
    return group_norm_reference(x, int(num_groups), w, b, eps)


# ----- attention -----
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the trailing dims ``normalized_shape``, times ``weight``
    (of ``normalized_shape``, or None). ``eps`` None: the input dtype's machine epsilon."""
    x = as_tensor(input)
    shape = _norm_shape(normalized_shape)
    nd = len(shape)
    if nd == 0 or x._data.ndim < nd or x._data.shape[x._data.ndim - nd :] != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*{', '.join(map(str, shape))}], "
                           f"but got input of size{list(x.shape)}")
    w = None if weight is None else as_tensor(weight)
    if w is not None and w._data.shape != shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(w.shape)} and normalized_shape = {list(shape)}")
    if x._data.dtype.kind != "f":
        x = cast(x, backend.get_default_dtype() if w is None else w._data.dtype)
    if eps is None:
        eps = float(np.finfo(x._data.dtype).eps)
    _check_float(eps, "eps", "rms_norm")
    axes = tuple(range(x.ndim - nd, x.ndim))
    y = x / sqrt((x * x).mean(axis=axes, keepdims=True) + eps)
    return y if w is None else y * w


# ----- instance norm, local response norm, normalize -----
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) of (N, C, *) over its positions, then apply per-channel
    ``weight`` and ``bias`` (C,).

    With ``use_input_stats`` the statistics are each instance's own, and running stats, when
    given ((C,) arrays or Tensors), are updated in place by ``momentum`` with their mean over
    the batch (the variance unbiased); otherwise the running stats normalize, as constants."""
    x = as_tensor(input)
    if x._data.ndim < 2:
        raise ValueError(f"instance_norm: expected input of shape (N, C, *), got {tuple(x.shape)}")
    if use_input_stats and math.prod(x.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {_size(x.shape)}")
    n, c = x._data.shape[:2]
    rm = running_mean._data if isinstance(running_mean, TensorBase) else running_mean
    rv = running_var._data if isinstance(running_var, TensorBase) else running_var
    if not use_input_stats and (rm is None or rv is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    w = None if weight is None else as_tensor(weight)
    b = None if bias is None else as_tensor(bias)
    # PyTorch checks them as batch norm's of (1, N C, *), each repeated N times
    for name, a in (("weight", None if w is None else w._data), ("bias", None if b is None else b._data),
                    ("running_mean", rm), ("running_var", rv)):
        if a is not None and np.size(a) != c:
            raise RuntimeError(f"{name} should contain {n * c} elements not {n * np.size(a)}")
    _check_float(eps, "eps", "instance_norm")
    first = w if w is not None else b
    if first is not None and x._data.dtype != first._data.dtype:
        x = cast(x, first._data.dtype)
    if x._data.size == 0:
        return _empty_norm(x, w, b)
    axes = tuple(range(2, x.ndim))
    shape = (c,) + (1,) * (x.ndim - 2)
    if use_input_stats:
        y, mean, var = _normalize(x, axes, eps)
        if rm is not None:
            _check_float(momentum, "momentum", "instance_norm")
            m = math.prod(x.shape[2:])
            update_running_stats(rm, rv, mean._data.reshape(n, c).mean(0), var._data.reshape(n, c).mean(0), m, momentum)
    else:
        mean = rm.astype(x._data.dtype).reshape(shape)
        invstd = (1 / np.sqrt(rv + eps)).astype(x._data.dtype).reshape(shape)
        y = (x - mean) * invstd
    return _affine(y, w, b, shape)


def _size(shape):
    return f"torch.Size([{', '.join(map(str, shape))}])"


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalization across channels of (N, C, *):
    x / (k + alpha / size * sum of x^2 over the ``size`` neighbouring channels)^beta, the
    window [c - size // 2, c + (size - 1) // 2] zero-padded at the ends."""
    x = as_tensor(input)
    if x._data.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {x._data.ndim} "
                         "dimensions)")
    if x._data.size == 0:
        return x
    c = x.shape[1]
    sq = pad(x * x, ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2))
    total = sq[:, 0:c]
    for j in range(1, size):
        total = total + sq[:, j:j + c]
    return x / (total * (1.0 / size) * alpha + k) ** beta


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """Each vector along ``dim`` (an int or a tuple) divided by max(its ``p``-norm, eps)."""
    from .pointwise import clamp_min
    from .reduce import norm

    x = as_tensor(input)
    for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
        wrap_dim(d, x._data.ndim)  # PyTorch's IndexError for a dim out of range
    y = x / clamp_min(norm(x, p, dim, keepdim=True), eps)
    return y if out is None else write_out(y, out, "div", grad_of=(x,))


from ..kernels import norm as _kernels  # noqa: E402  (the kernels import this module's references)
