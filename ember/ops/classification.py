"""Losses on class labels: cross-entropy and negative log-likelihood, as in PyTorch.

Cross-entropy on class labels, the training hot path, is one fused ``Function``: log-softmax
and the negative log-likelihood forward, ``(softmax - onehot) * scale`` backward, in the
input's dtype, with no one-hot matrix. Class probabilities as targets go through
log_softmax and elementwise ops instead. ``weight`` is a constant (no gradient).
"""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor
from .activation import log_softmax
from .elementwise import cast
from .loss import _check_reduction, _float, _reduce, _scale
from .movement import reshape

__all__ = ["cross_entropy", "nll_loss"]


class CrossEntropy(Function):
    """log_softmax over axis 1 and the weighted NLL of the target classes, fused.

    Per element i (ignored ones give 0), with a_i = w[t_i], W = sum(w), eps the smoothing:
        l_i = (1 - eps) a_i (lse_i - z_it) + eps / C (W lse_i - sum_c w_c z_ic)
    'mean' divides sum(l) by sum(a). The gradient is
        g_i (p_ic ((1 - eps) a_i + eps W / C) - (1 - eps) a_i [c = t_i] - eps w_c / C).
    """

    plain = False

    def forward(self, x, t, w, valid, eps, reduction):
        if x.ndim == 2 and w is None and valid is None and not eps and reduction != "none":
            return self._forward_plain(x, t, reduction)
        C = x.shape[1]
        ti = np.expand_dims(t, 1)
        p = x - x.max(axis=1, keepdims=True)  # z, then exp(z), then the softmax, in one array
        zt = np.take_along_axis(p, ti, axis=1)[:, 0]
        if eps:
            zs = p.sum(axis=1) if w is None else np.tensordot(w, p, axes=([0], [1]))
        np.exp(p, out=p)
        s = p.sum(axis=1, keepdims=True)
        p /= s
        lse = np.log(s[:, 0])
        a = np.ones(t.shape, x.dtype) if w is None else w[t]
        if valid is not None:
            a[~valid] = 0
        l = lse - zt
        l *= a if not eps else (1 - eps) * a
        coef, sw = a, None
        if eps:
            W = C if w is None else w.sum()
            sm = W * lse
            sm -= zs
            sm *= eps / C
            l += sm
            # per element: the weight of the smoothing term, eps / C where not ignored
            sw = np.full(t.shape, eps / C, x.dtype) if valid is None else valid * x.dtype.type(eps / C)
            coef = (1 - eps) * a + W * sw
        if valid is not None:
            l[~valid] = 0
        self.p, self.ti, self.a, self.w, self.sw, self.coef = p, ti, a, w, sw, coef
        self.eps, self.reduction, self.n = eps, reduction, a.sum()
        return _reduce(l, reduction, self.n)

    def _forward_plain(self, x, t, reduction):
        # the common case, (N, C) logits and plain labels, with row indexing instead of the
        # general *_along_axis helpers (a third of the time at MNIST's 128 x 10); same numbers
        rows = np.arange(len(t))
        p = x - x.max(axis=1, keepdims=True)
        zt = p[rows, t]
        np.exp(p, out=p)
        s = p.sum(axis=1, keepdims=True)
        p /= s
        l = np.log(s[:, 0])
        l -= zt
        self.p, self.t, self.rows, self.plain = p, t, rows, True
        self.reduction, self.n = reduction, len(t)
        return _reduce(l, reduction, self.n)

    def backward(self, gy):
        g = _scale(gy, self.reduction, self.n)
        if self.plain:
            gx = self.p * g
            gx[self.rows, self.t] -= g
            return gx
        ti = self.ti
        gx = self.p * np.expand_dims(g * self.coef, 1)
        at = g * ((1 - self.eps) * self.a)  # the one-hot part, subtracted at the targets only
        np.put_along_axis(gx, ti, np.take_along_axis(gx, ti, axis=1) - np.expand_dims(at, 1), axis=1)
        if self.eps:
            wc = 1 if self.w is None else self.w.reshape((-1,) + (1,) * (gx.ndim - 2))
            gx -= np.expand_dims(g * self.sw, 1) * wc
        return gx


class NLL(Function):
    def forward(self, x, t, w, valid, reduction):
        ti = np.expand_dims(t, 1)
        a = np.ones(t.shape, x.dtype) if w is None else w[t]
        if valid is not None:
            a[~valid] = 0
        xt = np.take_along_axis(x, ti, axis=1)[:, 0]
        if valid is not None:
            xt[~valid] = 0  # an ignored -inf log-probability must not make 0 * -inf
        self.shape, self.dtype, self.ti, self.a = x.shape, x.dtype, ti, a
        self.reduction, self.n = reduction, a.sum()
        return _reduce(-(a * xt), reduction, self.n)

    def backward(self, gy):
        g = _scale(gy, self.reduction, self.n)
        gx = np.zeros(self.shape, self.dtype)
        np.put_along_axis(gx, self.ti, np.expand_dims(-(g * self.a), 1), axis=1)
        return gx


def _labels(name, x, target, weight, ignore_index):
    """Check class labels against the input (N, C, *); returns (safe labels, weight, valid mask)."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    want = tuple(x.shape[:1]) + tuple(x.shape[2:])
    if t.shape != want:
        raise ValueError(f"{name}: expected target of shape {want} for input of shape {tuple(x.shape)}, got {t.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class labels, got target of dtype {t.dtype}")
    C = x.shape[1]
    valid = None
    if t.size and (t.min() < 0 or t.max() >= C):
        bad = (t < 0) | (t >= C)
        if ignore_index is not None:
            bad &= t != ignore_index
        if bad.any():
            raise IndexError(f"{name}: target {t[bad].flat[0]} is out of range for {C} classes")
        valid = t != ignore_index
        t = np.where(valid, t, 0)  # a safe index; its contribution is zeroed
    elif 0 <= ignore_index < C:
        valid = t != ignore_index
        if valid.all():
            valid = None
    return t, _class_weight(name, weight, x), valid


def _class_weight(name, weight, x):
    if weight is None:
        return None
    w = np.asarray(weight._data if isinstance(weight, Tensor) else weight, x.dtype)
    if w.shape != (x.shape[1],):
        raise ValueError(f"{name}: weight must have one entry per class ({x.shape[1]}), got shape {w.shape}")
    return w


def _batched(name, x, t):
    """An unbatched (C,) input, with a scalar label or (C,) probabilities, becomes a batch of one."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    if x.ndim != 1:
        return x, t, False
    t = t if isinstance(t, Tensor) else as_tensor(np.asarray(t), x)
    return reshape(x, (1, -1)), reshape(t, (1,) + tuple(t.shape)), True


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and targets: log-softmax over axis 1, then NLL.

    Args:
        input: logits (N, C), (N, C, d1, ...) or (C,).
        target: class labels (N,), (N, d1, ...) or () of an integer dtype, or class
            probabilities of the input's shape.
        weight: (C,) per-class weights; 'mean' then divides by the summed weight of the
            non-ignored targets (by the number of elements for probability targets).
        ignore_index: a label that contributes nothing (labels only).
        label_smoothing: eps in [0, 1]: the target becomes (1 - eps) onehot + eps / C.
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    x = _float(input)
    x, target, unbatched = _batched(name, x, target)
    tdata = target._data if isinstance(target, Tensor) else np.asarray(target)
    if tdata.dtype.kind == "f":
        if tdata.shape != x.shape:
            want = tuple(x.shape[:1]) + tuple(x.shape[2:])
            raise ValueError(
                f"{name}: expected integer class labels of shape {want} or class probabilities of "
                f"shape {tuple(x.shape)}, got a float target of shape {tdata.shape}"
            )
        if ignore_index != -100:
            raise ValueError(f"{name}: ignore_index is not supported for class-probability targets")
        out = _soft_cross_entropy(x, target, weight, reduction, float(label_smoothing))
    else:
        t, w, valid = _labels(name, x, target, weight, ignore_index)
        out = CrossEntropy.apply(x, t=t, w=w, valid=valid, eps=float(label_smoothing), reduction=reduction)
    return reshape(out, ()) if unbatched and reduction == "none" else out


def _soft_cross_entropy(x, target, weight, reduction, eps):
    t = as_tensor(target, x)
    if t._data.dtype != x._data.dtype:
        t = cast(t, x._data.dtype)
    C = x.shape[1]
    if eps:
        t = t * (1 - eps) + eps / C
    w = _class_weight("cross_entropy", weight, x)
    if w is not None:
        t = t * w.reshape((-1,) + (1,) * (x.ndim - 2))
    l = -(log_softmax(x, dim=1) * t).sum(axis=1)
    if reduction == "none":
        return l
    return l.sum() if reduction == "sum" else l.mean()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood -w[t] input[t] of log-probabilities (N, C), (N, C, d1, ...)
    or (C,) against integer labels; 'mean' divides by the summed weight of the kept targets."""
    name = "nll_loss"
    _check_reduction(name, reduction)
    x = _float(input)
    x, target, unbatched = _batched(name, x, target)
    t, w, valid = _labels(name, x, target, weight, ignore_index)
    out = NLL.apply(x, t=t, w=w, valid=valid, reduction=reduction)
    return reshape(out, ()) if unbatched and reduction == "none" else out
