"""Loss functions with PyTorch's formulas, reductions and defaults: the elementwise ones here,
cross-entropy and NLL on class labels in ``ember.ops.classification``.

Each loss is an elementwise term written with ember ops, times an optional constant
``weight``, then reduced; gradients of any order come from the ops. Binary cross-entropy is
the one op of its own (``BinaryCrossEntropy``): PyTorch's gradient at probabilities 0 and 1
is finite, which its clamped logs' derivative is not. The fused one-pass versions are
``ember.kernels.loss``, used when ``ember.kernels.enabled()``.
"""
import numpy as np

from .. import backend, kernels
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .activation import softplus
from .elementwise import abs, cast, exp, log, where

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(name, reduction, valid=_REDUCTIONS):
    if reduction not in valid:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, valid))}, got {reduction!r}")


def _reduce(l, reduction, n=None):
    """The elementwise loss Tensor ``l`` reduced; 'mean' divides the sum by ``n`` (default: l's size)."""
    if reduction == "none":
        return l
    s = l.sum()
    if reduction == "sum":
        return s
    with np.errstate(invalid="ignore", divide="ignore"):  # nothing to average: nan, as PyTorch
        return s / (l._data.size if n is None else n)


def _float(x):
    x = as_tensor(x)
    if x._data.dtype.kind != "f":
        x = cast(x, backend.get_default_dtype())
    return x


def _same_shape(name, input, target):
    x = _float(input)
    t = as_tensor(target, x)
    if t._data.dtype != x._data.dtype:
        t = cast(t, x._data.dtype)
    if t.shape != x.shape:
        raise ValueError(f"{name}: target shape {tuple(t.shape)} does not match input shape {tuple(x.shape)}")
    return x, t


def _const(name, what, w, x, shape=None):
    """A weight as a constant array of ``x``'s dtype that broadcasts to ``shape`` (x's by default)."""
    if w is None:
        return None
    w = np.asarray(w._data if isinstance(w, TensorBase) else w, dtype=x._data.dtype)
    shape = x.shape if shape is None else shape
    try:
        if np.broadcast_shapes(w.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{name}: {what} of shape {tuple(w.shape)} does not broadcast to {tuple(shape)}") from None
    return w


# ----- the elementwise terms, l(x, t) -----


def mse_term(x, t):
    d = x - t
    return d * d


def l1_term(x, t):
    return abs(x - t)  # gradient sign(d), 0 where d is NaN, as PyTorch


def huber_term(x, t, delta, div):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), divided by ``div`` (smooth L1 is
    huber / beta). A NaN d takes the quadratic branch, so its gradient is NaN as PyTorch's; that
    branch squares d zeroed elsewhere, so that its unused gradient is never 0 * inf."""
    d = x - t
    inside = ~(np.abs(d._data) >= delta)
    di = where(inside, d, 0)
    l = where(inside, 0.5 * di * di, delta * (abs(d) - 0.5 * delta))
    return l / div if div != 1 else l


class BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)) on probabilities x, each log clamped at -100 as in
    PyTorch, with PyTorch's gradients: (x - t) / max(x (1 - x), 1e-12) for x, finite at 0 and
    1, and log(1 - x) - log(x) for t."""

    dual = True

    def forward(self, x, t):
        self.save_for_backward(x, t)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
            lx, l1x = np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)
        return (t - 1) * l1x - t * lx

    def backward(self, gy):
        x, t = self.saved_tensors
        xp = self.xp
        gx = gy * (x - t) / xp.maximum((1 - x) * x, 1e-12) if self.needs_grad(0) else None
        gt = None
        if self.needs_grad(1):
            with np.errstate(divide="ignore"):
                gt = gy * (xp.log(1 - x) - xp.log(x))
        return gx, gt


def bce_term(x, t):
    return BinaryCrossEntropy.apply(x, t)


def bce_logits_term(x, t, pw):
    """(1 - t) x - (1 + (pw - 1) t) log_sigmoid(x), log_sigmoid(x) = -softplus(-x): stable for
    any logit (softplus is max(z, 0) + log1p(exp(-|z|)), here with no threshold)."""
    log_sig = -softplus(-x, threshold=np.inf)
    lw = 1 if pw is None else t * (pw - 1) + 1
    return (1 - t) * x - lw * log_sig


def kl_div_term(x, t, log_target):
    if log_target:
        return exp(t) * (t - x)
    pos = t._data > 0
    return t * log(where(pos, t, 1)) - t * x  # xlogy(t, t) - t x: 0 where t = 0


def pointwise_reference(term, x, t, reduction, w=None, n=None, **kw):
    """reduce(w * term(x, t)), ``w`` a constant array (or None), 'mean' dividing by ``n``."""
    l = term(x, t, **kw)
    if w is not None:
        l = l * from_op(w, None)
    return _reduce(l, reduction, n)


def _loss(term, x, t, reduction, w=None, n=None, **kw):
    """The loss of elementwise ``term``: the kernel that fuses it, or the reference composition."""
    if kernels.enabled():
        return _kernels.FUSED[term].apply(x, t, reduction=reduction, w=w, n=n, **kw)
    return pointwise_reference(term, x, t, reduction, w, n, **kw)


# ----- the losses -----


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (input - target)^2, reduced. Shapes must match (no broadcasting)."""
    _check_reduction("mse_loss", reduction)
    return _loss(mse_term, *_same_shape("mse_loss", input, target), reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error |input - target|, reduced."""
    _check_reduction("l1_loss", reduction)
    return _loss(l1_term, *_same_shape("l1_loss", input, target), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target."""
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    x, t = _same_shape("huber_loss", input, target)
    return _loss(huber_term, x, t, reduction, delta=float(delta), div=1.0)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; the L1 loss when beta = 0."""
    _check_reduction("smooth_l1_loss", reduction)
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    x, t = _same_shape("smooth_l1_loss", input, target)
    if beta == 0:
        return _loss(l1_term, x, t, reduction)
    return _loss(huber_term, x, t, reduction, delta=float(beta), div=float(beta))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-w (t log x + (1 - t) log(1 - x)) on probabilities x in [0, 1]; each log is clamped
    at -100, as in PyTorch. ``weight`` broadcasts to the input's shape."""
    _check_reduction("binary_cross_entropy", reduction)
    x, t = _same_shape("binary_cross_entropy", input, target)
    if x._data.size and not (x._data.min() >= 0 and x._data.max() <= 1):
        raise ValueError(
            f"binary_cross_entropy: input must hold probabilities in [0, 1], got values in "
            f"[{x._data.min()}, {x._data.max()}]; use binary_cross_entropy_with_logits for logits"
        )
    w = _const("binary_cross_entropy", "weight", weight, x)
    return _loss(bce_term, x, t, reduction, w=w)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits, sigmoid fused in: stable for any logit.

    ``pos_weight`` (broadcast along the last axis, one per class) weights the positive term:
    loss = -w (pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))).
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    x, t = _same_shape(name, input, target)
    w = _const(name, "weight", weight, x)
    pw = _const(name, "pos_weight", pos_weight, x)
    return _loss(bce_logits_term, x, t, reduction, w=w, pw=pw)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence target * (log target - input), with ``input`` log-probabilities.

    ``target`` holds probabilities (log-probabilities with ``log_target=True``). As in
    PyTorch, 'mean' averages over every element; 'batchmean' divides the sum by the batch
    size, which gives the true KL divergence.
    """
    _check_reduction("kl_div", reduction, _REDUCTIONS + ("batchmean",))
    x, t = _same_shape("kl_div", input, target)
    n = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else x._data.size
    return _loss(kl_div_term, x, t, "mean" if reduction == "batchmean" else reduction, n=n, log_target=bool(log_target))


from ..kernels import loss as _kernels  # noqa: E402  (the kernels import this module's references)
