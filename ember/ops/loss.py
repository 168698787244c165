"""Loss functions with PyTorch's formulas, reductions and defaults: the elementwise ones here,
cross-entropy and NLL on class labels in ``ember.ops.classification``.

Regression losses (mse, l1, huber, smooth L1), binary cross-entropy (on probabilities or on
logits) and KL divergence are each one ``Function`` over an elementwise term. ``weight`` and
``pos_weight`` are constants (no gradient). The reduction helpers below serve both modules.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor
from .elementwise import cast, sigmoid_array, sign_or_zero

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(name, reduction, valid=_REDUCTIONS):
    if reduction not in valid:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, valid))}, got {reduction!r}")


def _reduce(l, reduction, n):
    """The elementwise loss ``l`` reduced; 'mean' divides the sum by ``n``."""
    if reduction == "none":
        return l
    s = l.sum()
    if reduction != "sum":
        with np.errstate(invalid="ignore", divide="ignore"):  # nothing to average: nan, as PyTorch
            s = s / n
    return np.asarray(s, dtype=l.dtype)


def _scale(gy, reduction, n):
    """gy times d(reduced loss)/d(elementwise loss): broadcastable against the elementwise loss."""
    return gy if reduction in ("none", "sum") else gy / n


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
    w = np.asarray(w._data if isinstance(w, Tensor) else w, dtype=x._data.dtype)
    shape = x.shape if shape is None else shape
    try:
        if np.broadcast_shapes(w.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{name}: {what} of shape {w.shape} does not broadcast to {tuple(shape)}") from None
    return w


# ----- elementwise losses -----


class _Pointwise(Function):
    """A reduction of w * l(x, t). Subclasses give ``term`` (l) and ``partials`` (dl/dx, dl/dt,
    each a new array, or None when not needed)."""

    def forward(self, x, t, reduction, w=None, n=None, **kw):
        self.x, self.t, self.w, self.reduction, self.kw = x, t, w, reduction, kw
        self.n = x.size if n is None else n
        l = self.term(x, t, **kw)
        if w is not None:
            l *= w
        return _reduce(l, reduction, self.n)

    def backward(self, gy):
        g = _scale(gy, self.reduction, self.n)
        if self.w is not None:
            g = g * self.w
        gs = self.partials(self.x, self.t, self.needs_grad(0), self.needs_grad(1), **self.kw)
        out = []
        for d in gs:
            if d is not None:
                d *= g
            out.append(d)
        return tuple(out)


class MSE(_Pointwise):
    @staticmethod
    def term(x, t):
        d = x - t
        d *= d
        return d

    @staticmethod
    def partials(x, t, gx, gt):
        d = x - t
        d *= 2
        return (d if gx else None), (-d if gt else None)


class L1(_Pointwise):
    @staticmethod
    def term(x, t):
        return np.abs(x - t)

    @staticmethod
    def partials(x, t, gx, gt):
        s = sign_or_zero(x - t)  # 0 where the difference is NaN, as in PyTorch
        return (s if gx else None), (-s if gt else None)


class Huber(_Pointwise):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); smooth L1 is huber / beta."""

    @staticmethod
    def term(x, t, delta, div):
        d = x - t
        a = np.abs(d)
        l = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        if div != 1:
            l /= div
        return l

    @staticmethod
    def partials(x, t, gx, gt, delta, div):
        d = np.clip(x - t, -delta, delta)  # the derivative of the Huber loss is clip(d)
        if div != 1:
            d /= div
        return (d if gx else None), (-d if gt else None)


class BCE(_Pointwise):
    @staticmethod
    def _logs(x):
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 like PyTorch
            return np.maximum(np.log(x), -100), np.maximum(np.log1p(-x), -100)

    @classmethod
    def term(cls, x, t):
        lx, l1x = cls._logs(x)
        l1x *= t - 1
        l1x -= t * lx
        return l1x  # -(t log x + (1 - t) log(1 - x))

    @classmethod
    def partials(cls, x, t, gx, gt):
        dx = dt = None
        if gx:
            # PyTorch's binary_cross_entropy_backward, finite at x = 0 and x = 1
            dx = x - t
            dx /= np.maximum((1 - x) * x, 1e-12)
        if gt:
            lx, l1x = cls._logs(x)
            dt = l1x - lx
        return dx, dt


class BCEWithLogits(_Pointwise):
    """(1 - t) x - (1 + (pw - 1) t) log_sigmoid(x), log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))."""

    @staticmethod
    def _logsig(x):
        ls = np.log1p(np.exp(-np.abs(x)))
        np.subtract(np.minimum(x, 0), ls, out=ls)
        return ls

    @classmethod
    def term(cls, x, t, pw):
        lw = 1 if pw is None else (pw - 1) * t + 1
        l = (1 - t) * x
        l -= lw * cls._logsig(x)
        return l

    @staticmethod
    def partials(x, t, gx, gt, pw):
        dx = dt = None
        if gx:
            s = sigmoid_array(x)
            if pw is None:
                dx = s - t
            else:  # (1 - t) - lw sigmoid(-x)
                dx = (1 - t) - ((pw - 1) * t + 1) * (1 - s)
        if gt:
            dt = -x
            if pw is not None:
                dt -= (pw - 1) * BCEWithLogits._logsig(x)
        return dx, dt


class KLDiv(_Pointwise):
    @staticmethod
    def term(x, t, log_target):
        if log_target:
            return np.exp(t) * (t - x)
        pos = t > 0
        l = t * np.log(np.where(pos, t, 1))  # xlogy(t, t): 0 where t = 0
        l -= t * x
        return l

    @staticmethod
    def partials(x, t, gx, gt, log_target):
        dx = dt = None
        if log_target:
            e = np.exp(t)
            dx = -e if gx else None
            dt = e * (t - x + 1) if gt else None
        else:
            dx = -t if gx else None
            dt = np.log(np.where(t > 0, t, 1)) + 1 - x if gt else None
        return dx, dt


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (input - target)^2, reduced. Shapes must match (no broadcasting)."""
    _check_reduction("mse_loss", reduction)
    return MSE.apply(*_same_shape("mse_loss", input, target), reduction=reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error |input - target|, reduced."""
    _check_reduction("l1_loss", reduction)
    return L1.apply(*_same_shape("l1_loss", input, target), reduction=reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target."""
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    x, t = _same_shape("huber_loss", input, target)
    return Huber.apply(x, t, reduction=reduction, delta=float(delta), div=1.0)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; the L1 loss when beta = 0."""
    _check_reduction("smooth_l1_loss", reduction)
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    x, t = _same_shape("smooth_l1_loss", input, target)
    if beta == 0:
        return L1.apply(x, t, reduction=reduction)
    return Huber.apply(x, t, reduction=reduction, delta=float(beta), div=float(beta))


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
    return BCE.apply(x, t, reduction=reduction, w=w)


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
    return BCEWithLogits.apply(x, t, reduction=reduction, w=w, pw=pw)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence target * (log target - input), with ``input`` log-probabilities.

    ``target`` holds probabilities (log-probabilities with ``log_target=True``). As in
    PyTorch, 'mean' averages over every element; 'batchmean' divides the sum by the batch
    size, which gives the true KL divergence.
    """
    _check_reduction("kl_div", reduction, _REDUCTIONS + ("batchmean",))
    x, t = _same_shape("kl_div", input, target)
    n = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else x._data.size
    return KLDiv.apply(x, t, reduction=reduction, n=n, log_target=bool(log_target))
