"""Losses on class labels: cross-entropy and negative log-likelihood, as in PyTorch.

Both are compositions of ember ops: the log-probability of each element's label (an
indexing of log_softmax(x) for cross-entropy), weighted by its class weight, summed (and
divided by the summed weights for 'mean'); label smoothing adds the weighted sum of all the
log-probabilities. Class probabilities as targets go through log_softmax and elementwise ops.
``weight`` is a constant (no gradient). The fused cross-entropy (``(softmax - onehot) * scale``
backward with no one-hot matrix) is ``ember.kernels.loss.CrossEntropy``, used when
``ember.kernels.enabled()``.
"""
import numpy as np

from .. import kernels
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .activation import log_softmax
from .elementwise import cast, where
from .loss import _check_reduction, _float, _reduce
from .movement import reshape

__all__ = ["cross_entropy", "nll_loss"]


def _at_labels(a, t):
    """a[i, t_i, ...]: the entry of each element's label along axis 1, of t's shape."""
    grid = np.indices(t.shape, sparse=True)
    return a[(grid[0], t) + tuple(grid[1:])]


def _label_weights(t, w, valid, dtype):
    """Each element's weight w[t_i] (1 without ``w``), 0 where ignored: a constant array."""
    a = np.ones(t.shape, dtype) if w is None else w[t]
    if valid is not None:
        a[~valid] = 0
    return a


def _nll(logp, t, valid, a):
    lt = _at_labels(logp, t)
    if valid is not None:
        lt = where(valid, lt, 0)  # an ignored -inf log-probability must not make 0 * -inf
    return -(lt * a)


def nll_loss_reference(x, t, w, valid, reduction):
    """nll_loss on checked arguments: x (N, C, *) log-probabilities, t safe integer labels
    (N, *), w (C,) array or None, valid a mask of the kept labels or None."""
    a = _label_weights(t, w, valid, x.dtype)
    return _reduce(_nll(x, t, valid, a), reduction, a.sum())


def cross_entropy_reference(x, t, w, valid, eps, reduction):
    """cross_entropy on class labels, checked as for ``nll_loss_reference``; ``eps`` is the
    label smoothing: the target becomes (1 - eps) onehot + eps / C, so each element adds
    -eps / C sum_c w_c log p_c."""
    logp = log_softmax(x, dim=1)
    a = _label_weights(t, w, valid, x.dtype)
    l = _nll(logp, t, valid, a)
    if eps:
        wc = 1 if w is None else from_op(w.reshape((-1,) + (1,) * (x.ndim - 2)), None)
        smooth = -(logp * wc).sum(axis=1)
        if valid is not None:
            smooth = where(valid, smooth, 0)
        l = l * (1 - eps) + smooth * (eps / x.shape[1])
    return _reduce(l, reduction, a.sum())


def _labels(name, x, target, weight, ignore_index):
    """Check class labels against the input (N, C, *); returns (safe labels, weight, valid mask)."""
    t = target._data if isinstance(target, TensorBase) else np.asarray(target)
    want = tuple(x.shape[:1]) + tuple(x.shape[2:])
    if t.shape != want:
        raise ValueError(f"{name}: expected target of shape {want} for input of shape {tuple(x.shape)}, got {tuple(t.shape)}")
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
    w = np.asarray(weight._data if isinstance(weight, TensorBase) else weight, x.dtype)
    if w.shape != (x.shape[1],):
        raise ValueError(f"{name}: weight must have one entry per class ({x.shape[1]}), got shape {tuple(w.shape)}")
    return w


def _batched(name, x, t):
    """An unbatched (C,) input, with a scalar label or (C,) probabilities, becomes a batch of one."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    if x.ndim != 1:
        return x, t, False
    t = t if isinstance(t, TensorBase) else as_tensor(np.asarray(t), x)
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
    tdata = target._data if isinstance(target, TensorBase) else np.asarray(target)
    if tdata.dtype.kind == "f":
        if tdata.shape != x.shape:
            want = tuple(x.shape[:1]) + tuple(x.shape[2:])
            raise ValueError(
                f"{name}: expected integer class labels of shape {want} or class probabilities of "
                f"shape {tuple(x.shape)}, got a float target of shape {tuple(tdata.shape)}"
            )
        if ignore_index != -100:
            raise ValueError(f"{name}: ignore_index is not supported for class-probability targets")
        out = _soft_cross_entropy(x, target, weight, reduction, float(label_smoothing))
    else:
        t, w, valid = _labels(name, x, target, weight, ignore_index)
        eps = float(label_smoothing)
        if kernels.enabled():
            out = _kernels.CrossEntropy.apply(x, t=t, w=w, valid=valid, eps=eps, reduction=reduction)
        else:
            out = cross_entropy_reference(x, t, w, valid, eps, reduction)
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
    if kernels.enabled():
        out = _kernels.NLL.apply(x, t=t, w=w, valid=valid, reduction=reduction)
    else:
        out = nll_loss_reference(x, t, w, valid, reduction)
    return reshape(out, ()) if unbatched and reduction == "none" else out


from ..kernels import loss as _kernels  # noqa: E402  (the kernels import this module's references)
