"""The margin, embedding, ranking and likelihood losses of ``torch.nn.functional``:
triplet (with a p-norm or any distance), cosine embedding, margin ranking, hinge embedding,
soft margin, multi-label soft margin, multi-label margin, multi-class margin, Gaussian and
Poisson negative log-likelihood, and CTC.

Each is a composition of differentiable ember ops with PyTorch's formula, broadcasting,
reduction and errors, so gradients of any order come from the ops; the one op of its own is
``_ClampNoGrad`` (the variance of ``gaussian_nll_loss`` is clamped outside the graph, as
PyTorch does under ``no_grad``). CTC's forward-backward runs in NumPy, in log space, over
the whole batch at once (``ember.ops.loss_extra.CTCLoss``).
"""
import math

import numpy as np

from .. import backend
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .activation import logsigmoid, softplus
from .elementwise import cast, exp, log, minimum, relu, where
from .linalg_distance import pairwise_distance
from .loss import _reduce
from .movement import getitem, reshape, unsqueeze
from .pointwise import clamp_min
from .reduce import sum as _sum

__all__ = [
    "triplet_margin_loss", "triplet_margin_with_distance_loss", "cosine_embedding_loss",
    "margin_ranking_loss", "gaussian_nll_loss", "poisson_nll_loss", "hinge_embedding_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss", "multi_margin_loss",
    "ctc_loss",
]


def _legacy(size_average, reduce, reduction):
    """PyTorch's ``_Reduction.legacy_get_string``: the deprecated flags, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _float(x, like=None):
    x = as_tensor(x, like)
    if like is not None:
        dt = like._data.dtype
    else:
        dt = x._data.dtype if x._data.dtype.kind == "f" else backend.get_default_dtype()
    return x if x._data.dtype == dt else cast(x, dt)


def _shape(t):
    return "torch.Size([" + ", ".join(map(str, t._data.shape)) + "])"


def _long(name, t):
    t = t._data if isinstance(t, TensorBase) else np.asarray(t)
    if t.dtype.kind not in "iu":
        kind = {"f": "Float" if t.dtype == np.float32 else "Double", "b": "Bool"}.get(t.dtype.kind, str(t.dtype))
        raise RuntimeError(f"expected scalar type Long but found {kind}")
    return t.astype(np.int64, copy=False)


# ----- distances and margins -----


def _same_ndim(a, p, n):
    if not a._data.ndim == p._data.ndim == n._data.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, but "
            f"got: anchor {a._data.ndim}D, positive {p._data.ndim}D, and negative {n._data.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with d the p-norm ``pairwise_distance`` (eps added);
    ``swap``: d(a, n) is replaced by d(p, n) where that is smaller."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    a = _float(anchor)
    pos, neg = _float(positive, a), _float(negative, a)
    _same_ndim(a, pos, neg)
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    return _reduce(clamp_min(margin + d_pos - d_neg, 0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """max(d(a, p) - d(a, n) + margin, 0) with any ``distance_function`` (default:
    ``pairwise_distance``); ``margin`` must be positive."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = as_tensor(anchor), as_tensor(positive), as_tensor(negative)
    _same_ndim(a, pos, neg)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(a, pos), dist(a, neg)
    if swap:
        d_neg = minimum(d_neg, dist(pos, neg))
    return _reduce(clamp_min(margin + d_pos - d_neg, 0), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1, 0
    elsewhere; cos over the last dim, with PyTorch's 1e-12 added to each squared norm."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    x1 = _float(input1)
    x2, t = _float(input2, x1), as_tensor(target)
    td = t._data.ndim
    if td == 1:
        if x1._data.ndim != 2 or x2._data.ndim != 2:
            raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                               f"{list(x1._data.shape)} and {list(x2._data.shape)}.")
    elif td == 0:
        if x1._data.ndim != 1 or x2._data.ndim != 1:
            raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                               f"{list(x1._data.shape)} and {list(x2._data.shape)}.")
    else:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    prod = _sum(x1 * x2, dim=td)
    m1 = _sum(x1 * x1, dim=td) + 1e-12
    m2 = _sum(x2 * x2, dim=td) + 1e-12
    cos = prod / (m1 * m2) ** 0.5
    td_ = t._data
    try:
        np.broadcast_shapes(td_.shape, cos.shape)
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({td_.shape[0]}) must match the size of tensor b "
                           f"({cos.shape[0]}) at non-singleton dimension 0") from None
    pos = where(td_ == 1, 1 - cos, 0)
    neg = where(td_ == -1, clamp_min(cos - margin, 0), 0)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin), the three broadcast together."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    x1 = _float(input1)
    x2, t = _float(input2, x1), _float(target, x1)
    if not x1._data.ndim == x2._data.ndim == t._data.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {_shape(x1)}, input2: {_shape(x2)}, target: {_shape(t)} ")
    return _reduce(clamp_min(-t * (x1 - x2) + margin, 0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """x where target is 1, max(0, margin - x) where it is -1 (x where target is not -1, plus
    the margin term where it is not 1, as PyTorch), input and target broadcast."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    x = _float(input)
    t = as_tensor(target)._data
    _broadcast(x, t)
    return _reduce(where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1, x, 0), reduction)


def _broadcast(x, t):
    a, b = tuple(x._data.shape), tuple(np.shape(t))
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        n = max(len(a), len(b))
        a1, b1 = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
        i = next(i for i in range(n - 1, -1, -1) if a1[i] != b1[i] and 1 not in (a1[i], b1[i]))
        raise RuntimeError(f"The size of tensor a ({b1[i]}) must match the size of tensor b ({a1[i]}) at "
                           f"non-singleton dimension {i}") from None


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), stable for any product."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    x = _float(input)
    t = _float(target, x)
    _broadcast(x, t._data)
    return _reduce(softplus(-t * x, threshold=np.inf), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """The binary logistic loss of each class, -(t log sigmoid(x) + (1 - t) log sigmoid(-x)),
    times ``weight``, averaged over the classes (the last dim), then reduced over the samples."""
    reduction = _legacy(size_average, reduce, reduction)
    x = _float(input)
    t = _float(target, x)
    l = -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x))
    if weight is not None:
        l = l * _float(weight, x)
    c = x._data.ndim - 1
    l = _sum(l, dim=c) / x._data.shape[c]
    _check(reduction)
    return _reduce(l, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """sum over the target classes j and the other classes i of max(0, 1 - (x[j] - x[i])), over
    the number of classes. ``target`` (C) or (N, C) holds class indices, ended by the first -1."""
    reduction = _legacy(size_average, reduce, reduction)
    _check(reduction)
    x = _float(input)
    y = _long("multilabel_margin_loss", target)
    nd = x._data.ndim
    if nd > 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x._data.shape)}")
    if y.shape != x._data.shape if nd else y.ndim > 1:
        raise RuntimeError(f"inconsistent target size: {list(y.shape)} for input of size: {list(x._data.shape)}")
    x2 = x if nd == 2 else reshape(x, (1, -1) if nd else (1, 1))
    y2 = y.reshape(x2._data.shape)
    n, c = x2._data.shape
    if y2.size and (y2.min() < -1 or y2.max() >= c):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = np.cumprod(y2 >= 0, axis=1).astype(bool)  # the labels before the first -1
    labels = np.where(valid, y2, 0)
    is_target = np.zeros((n, c), bool)
    is_target[np.nonzero(valid)[0], labels[valid]] = True
    rows = np.arange(n)[:, None]
    xj = getitem(x2, (rows, labels))  # (N, K): the input at each target label
    z = 1 - unsqueeze(xj, 2) + unsqueeze(x2, 1)  # (N, K, C)
    mask = valid[:, :, None] & ~is_target[:, None, :]
    l = _sum(where(mask, relu(z), 0), dim=(1, 2)) / c
    if nd < 2:
        l = getitem(l, 0)
    return _reduce(l, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
    """sum over the classes i != y of w[y] max(0, margin - x[y] + x[i])^p, over the number of
    classes (p is 1 or 2), then reduced over the samples."""
    reduction = _legacy(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None:
        w = weight._data if isinstance(weight, TensorBase) else np.asarray(weight)
        if w.ndim != 1:
            raise ValueError("weight must be one-dimensional")
    _check(reduction)
    x = _float(input)
    y = _long("multi_margin_loss", target)
    nd = x._data.ndim
    if nd > 2 or (nd >= 1 and x._data.shape[-1] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x._data.shape)}")
    n = x._data.shape[0] if nd == 2 else 1
    c = x._data.shape[-1] if nd else 1
    if not (y.ndim <= 1 and y.size == n):
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{n}], but got {list(y.shape)}. Input has "
                           f"shape {list(x._data.shape)}.")
    if weight is not None and w.size != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got {list(w.shape)}")
    y1 = y.reshape(n)
    if y1.size and (y1.min() < 0 or y1.max() >= c):
        raise RuntimeError("target out of range")
    x2 = x if nd == 2 else reshape(x, (1, c))
    rows = np.arange(n)
    xy = getitem(x2, (rows, y1))
    z = margin - unsqueeze(xy, 1) + x2
    mask = (z._data > 0) & (np.arange(c)[None, :] != y1[:, None])
    h = where(mask, z * z if p == 2 else z, 0)
    if weight is not None:
        h = h * unsqueeze(getitem(_float(weight, x), y1), 1)
    l = _sum(h, dim=1) / c
    if nd < 2 and y.ndim == 0:
        l = getitem(l, 0)
    return _reduce(l, reduction)


# ----- likelihoods -----


class _ClampNoGrad(Function):
    """max(v, eps) whose gradient is that of v itself: PyTorch clamps the variance in place
    under ``no_grad``, so the clamp is invisible to autograd."""

    dual = True

    def forward(self, v, eps):
        return np.maximum(v, eps)

    def backward(self, gy):
        return gy


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)) (+ 0.5 log(2 pi) with
    ``full``). ``var`` has the input's shape, one dim fewer, one dim of size 1, or is a float."""
    x = _float(input)
    t = _float(target, x)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        v = from_op(np.full(x._data.shape, var, x._data.dtype), None)
    else:
        v = _float(var, x)
        if np.any(v._data < 0):
            raise ValueError("var has negative entry/entries")
    xs, vs = tuple(x._data.shape), tuple(v._data.shape)
    if vs != xs:
        if xs[:-1] == vs:
            v = unsqueeze(v, -1)
        elif len(xs) == len(vs) and sum(b for a, b in zip(xs, vs) if a != b) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    v = _ClampNoGrad.apply(v, eps=float(eps))
    d = x - t
    l = 0.5 * (log(v) + d * d / v)
    if full:
        l = l + 0.5 * math.log(2 * math.pi)
    return _reduce(l, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """exp(input) - target * input (``log_input``), or input - target * log(input + eps); with
    ``full``, Stirling's target * log(target) - target + 0.5 log(2 pi target) where target > 1."""
    reduction = _legacy(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    x = _float(input)
    t = _float(target, x)
    l = exp(x) - t * x if log_input else x - t * log(x + eps)
    if full:
        big = t._data > 1
        ts = where(big, t, 1)
        stirling = ts * log(ts) - ts + 0.5 * log(2 * math.pi * ts)
        l = l + where(big, stirling, 0)
    return _reduce(l, reduction)


# ----- CTC -----


def _logsumexp(a, b):
    m = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        r = m + np.log(np.exp(a - m) + np.exp(b - m))
    return np.where(np.isneginf(m), -np.inf, r)


class CTCLoss(Function):
    """The negative log-likelihood of each target sequence under CTC (Graves et al., 2006),
    from (T, N, C) log-probabilities: the forward (alpha) and backward (beta) recursions in log
    space over the extended labels (blanks between and around the targets), vectorized over
    the batch. The gradient with respect to the log-probabilities is PyTorch's:
    exp(lp) - exp(log_sum_s(alpha beta) + nll - lp), times the upstream gradient; an infinite
    loss gives NaN there (0 with ``zero_infinity``). Its backward is not itself differentiable."""

    def forward(self, lp, targets, in_len, tg_len, blank, zero_infinity):
        t_max, n, c = lp.shape
        s_max = 2 * int(tg_len.max(initial=0)) + 1
        ext = np.full((n, s_max), blank, np.int64)  # l': blank, y1, blank, y2, ..., blank
        for b in range(n):
            ext[b, 1:2 * tg_len[b]:2] = targets[b][:tg_len[b]]
        s_len = 2 * tg_len + 1
        s_idx = np.arange(s_max)
        in_s = s_idx[None, :] < s_len[:, None]
        # a skip from s-2 to s is allowed where l'[s] is a label different from l'[s-2]
        skip = np.zeros((n, s_max), bool)
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        neg = -np.inf
        rows = np.arange(n)[:, None]
        emit = lp[:, rows, ext]  # (T, N, S): log p_t(l'_s)
        emit = np.where(in_s[None], emit, neg)
        alpha = np.full((t_max, n, s_max), neg, lp.dtype)
        alpha[0, :, 0] = emit[0, :, 0]
        if s_max > 1:
            alpha[0, :, 1] = np.where(s_len > 1, emit[0, :, 1], neg)
        for t in range(1, t_max):
            a = alpha[t - 1]
            s = a.copy()
            s[:, 1:] = _logsumexp(s[:, 1:], a[:, :-1])
            s[:, 2:] = np.where(skip[:, 2:], _logsumexp(s[:, 2:], a[:, :-2]), s[:, 2:])
            alpha[t] = np.where((t < in_len)[:, None], s + emit[t], neg)
        last = in_len - 1
        a_last = alpha[np.maximum(last, 0), np.arange(n)]  # (N, S)
        end1 = a_last[np.arange(n), s_len - 1]
        end2 = np.where(s_len > 1, a_last[np.arange(n), np.maximum(s_len - 2, 0)], neg)
        ll = _logsumexp(end1, end2)
        ll = np.where(in_len > 0, ll, np.where(tg_len == 0, 0.0, neg))
        nll = -ll
        self.saved = (lp, ext, emit, alpha, skip, s_len, in_len, nll, zero_infinity, in_s)
        out = nll.astype(lp.dtype)
        if zero_infinity:
            out = np.where(np.isinf(out), 0, out).astype(lp.dtype)
        return out

    def backward(self, gy):
        lp, ext, emit, alpha, skip, s_len, in_len, nll, zero_infinity, in_s = self.saved
        t_max, n, s_max = alpha.shape
        neg = -np.inf
        beta = np.full_like(alpha, neg)
        bidx = np.arange(n)
        for t in range(t_max - 1, -1, -1):
            at_end = t == in_len - 1
            init = np.full((n, s_max), neg, lp.dtype)
            init[bidx, s_len - 1] = 0.0
            init[bidx, np.maximum(s_len - 2, 0)] = np.where(s_len > 1, 0.0, init[bidx, np.maximum(s_len - 2, 0)])
            if t + 1 < t_max:
                nb = beta[t + 1] + emit[t + 1]  # beta_{t+1}(s) p_{t+1}(l'_s)
                s = nb.copy()
                s[:, :-1] = _logsumexp(s[:, :-1], nb[:, 1:])
                sk = np.zeros_like(skip)
                sk[:, :-2] = skip[:, 2:]
                s[:, :-2] = np.where(sk[:, :-2], _logsumexp(s[:, :-2], nb[:, 2:]), s[:, :-2])
            else:
                s = np.full((n, s_max), neg, lp.dtype)
            beta[t] = np.where(at_end[:, None], init, np.where((t < in_len)[:, None], s, neg))
        beta = np.where(in_s[None], beta, neg)
        # log sum over s with l'_s = k of alpha_t(s) beta_t(s), for each class k
        ab = alpha + beta + emit  # (T, N, S); beta here excludes the emission at t, alpha includes it
        c = lp.shape[2]
        lcab = np.full((t_max, n, c), neg, lp.dtype)
        for si in range(s_max):
            k = ext[:, si]
            cur = lcab[:, bidx, k]
            lcab[:, bidx, k] = _logsumexp(cur, ab[:, :, si])
        with np.errstate(invalid="ignore", over="ignore"):
            g = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        live = (np.arange(t_max)[:, None] < in_len[None, :])[:, :, None]  # (T, N, 1)
        inf = np.isinf(nll)[None, :, None]
        g = np.where(live, np.where(inf, 0.0 if zero_infinity else np.nan, g), 0)
        gy = np.asarray(gy)
        return (g * gy[None, :, None]).astype(lp.dtype),


def _lengths(v, n, what):
    a = v._data if isinstance(v, TensorBase) else np.asarray(v)
    a = np.asarray(a).reshape(-1) if np.ndim(a) else np.full(n, int(a))
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{what} must be integral")
    if a.size != n:
        raise RuntimeError(f"{what} must be of size batch_size")
    return a.astype(np.int64)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """The Connectionist Temporal Classification loss of (T, N, C) (or (T, C) unbatched)
    log-probabilities against ``targets``, padded (N, S) or concatenated 1-D; 'mean' divides
    each sequence's loss by its target length (at least 1) before averaging over the batch,
    as PyTorch does. ``zero_infinity`` turns infinite losses (targets that cannot fit) and
    their gradients into 0."""
    _check(reduction)
    lp = _float(log_probs)
    unbatched = lp._data.ndim == 2
    if lp._data.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs to be 2-D (T, C) or 3-D (T, N, C), got shape "
                           f"{tuple(lp._data.shape)}")
    lp3 = unsqueeze(lp, 1) if unbatched else lp
    t_max, n, c = lp3._data.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    tg = targets._data if isinstance(targets, TensorBase) else np.asarray(targets)
    if tg.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must hold integer class indices, got dtype {tg.dtype}")
    if unbatched:
        tg = tg.reshape(1, -1)
    il = _lengths(input_lengths, n, "input_lengths")
    tl = _lengths(target_lengths, n, "target_lengths")
    if (il > t_max).any():
        b = int(np.argmax(il > t_max))
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {il[b]} "
                           f"(while checking arguments for ctc_loss_allocate_outputs)")
    if (il < 0).any() or (tl < 0).any():
        raise RuntimeError("ctc_loss: input_lengths and target_lengths must be non-negative")
    if tg.ndim == 1 and not unbatched:
        if tg.size != tl.sum():
            raise RuntimeError(f"ctc_loss: concatenated targets hold {tg.size} labels, but target_lengths sum to "
                               f"{int(tl.sum())}")
        off = np.concatenate([[0], np.cumsum(tl)])
        width = int(tl.max(initial=0))
        pad = np.zeros((n, max(width, 1)), np.int64)
        for b in range(n):
            pad[b, :tl[b]] = tg[off[b]:off[b + 1]]
        tg = pad
    elif tg.ndim == 2:
        if tg.shape[0] != n:
            raise RuntimeError(f"ctc_loss: targets of shape {tuple(tg.shape)} do not match batch size {n}")
        if (tl > tg.shape[1]).any():
            b = int(np.argmax(tl > tg.shape[1]))
            raise RuntimeError(f"Expected tensor to have size at least {tl[b]} at dimension 1, but got size "
                               f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for "
                               "ctc_loss_allocate_outputs)")
    else:
        raise RuntimeError(f"ctc_loss: targets must be 1-D (concatenated) or 2-D (padded), got shape {tuple(tg.shape)}")
    tg = tg.astype(np.int64)
    used = np.concatenate([tg[b, :tl[b]] for b in range(n)]) if n else np.zeros(0, np.int64)
    if used.size and (used.min() < 0 or used.max() >= c):
        raise RuntimeError(f"ctc_loss: target labels must be class indices in [0, {c}), got values in "
                           f"[{used.min()}, {used.max()}]")
    nll = CTCLoss.apply(lp3, targets=tg, in_len=il, tg_len=tl, blank=int(blank), zero_infinity=bool(zero_infinity))
    if unbatched and reduction == "none":
        return getitem(nll, 0)
    if reduction == "mean":
        return (nll / from_op(np.maximum(tl, 1).astype(lp._data.dtype), None)).mean()
    return _reduce(nll, reduction)
