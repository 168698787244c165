"""Loss kernels: ``ember.ops.loss`` and ``ember.ops.classification`` references fused, on arrays.

A reference loss is several ops (cross-entropy on labels: log_softmax, an indexing, a
product, a sum, a division), each a graph node with its own arrays. A kernel is one Function
that computes the elementwise loss in a few in-place passes and writes the gradient directly:
cross-entropy's ``(softmax - onehot) * scale`` with no one-hot matrix, a pointwise loss's
``w * dl/dx``. The backward works on arrays only (``dual = False``); ``reference`` recomputes
the loss with the reference ops, which higher-order gradients differentiate.
"""
import numpy as np

from ..autograd import Function
from ..ops import classification as _classification  # (a module: it imports this one)
from ..ops.elementwise import sigmoid_array, sign_or_zero
from ..ops.loss import (
    bce_logits_term, bce_term, huber_term, kl_div_term, l1_term, mse_term, pointwise_reference,
)

__all__ = ["MSE", "L1", "Huber", "BCE", "BCEWithLogits", "KLDiv", "CrossEntropy", "NLL", "FUSED"]


def _reduce(l, reduction, n):
    """The elementwise loss array ``l`` reduced; 'mean' divides the sum by ``n``."""
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


# ----- pointwise losses -----


class _Pointwise(Function):
    """A reduction of w * l(x, t) in one op: ``pointwise_reference(reference_term, ...)``.
    Subclasses give ``term`` (l on arrays), ``partials`` (dl/dx, dl/dt, each a new array, or
    None when not needed) and the reference term they fuse.

    No line of ``python -m benchmarks`` runs these losses. Forward + backward against the
    reference (float32, 2 busy cores): MSE of (128, 10) 0.04-0.06 ms against 0.09-0.18 ms,
    of (4096, 256) 2.0-2.7 ms against 4.5 ms; Huber (4096, 256) 14 ms against 45 ms;
    BCE-with-logits 1.5-2.7x, BCE 1.2-1.4x, KL divergence 1.3x faster.
    """

    reference_term = None

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

    def reference(self, x, t):
        """The loss recomputed with the reference ops (for create_graph=True)."""
        return pointwise_reference(type(self).reference_term, x, t, self.reduction, self.w, self.n, **self.kw)


class MSE(_Pointwise):
    reference_term = staticmethod(mse_term)

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
    reference_term = staticmethod(l1_term)

    @staticmethod
    def term(x, t):
        return np.abs(x - t)

    @staticmethod
    def partials(x, t, gx, gt):
        s = sign_or_zero(x - t)  # 0 where the difference is NaN, as in PyTorch
        return (s if gx else None), (-s if gt else None)


class Huber(_Pointwise):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); smooth L1 is huber / beta."""

    reference_term = staticmethod(huber_term)

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
    reference_term = staticmethod(bce_term)

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
            with np.errstate(divide="ignore"):  # PyTorch's target gradient is infinite there
                dt = np.log(1 - x) - np.log(x)
        return dx, dt


class BCEWithLogits(_Pointwise):
    """(1 - t) x - (1 + (pw - 1) t) log_sigmoid(x), log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))."""

    reference_term = staticmethod(bce_logits_term)

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
    reference_term = staticmethod(kl_div_term)

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
            if gt:  # d xlogy(t, t) / dt = log(t) + 1 where t > 0, taken as 0 at t = 0
                pos = t > 0
                dt = np.log(np.where(pos, t, 1)) + pos - x
        return dx, dt


FUSED = {k.reference_term: k for k in (MSE, L1, Huber, BCE, BCEWithLogits, KLDiv)}  # reference term -> its kernel


# ----- on class labels -----


class CrossEntropy(Function):
    """``cross_entropy_reference``: log_softmax over axis 1 and the weighted NLL of the target
    classes, fused. Justified by the ``mlp`` line of ``python -m benchmarks`` (the loss of
    every MNIST step: forward + backward of (128, 10) in 0.08-0.10 ms against the
    reference's 0.19-0.24 ms, float32, 2 busy cores).

    Per element i (ignored ones give 0), with a_i = w[t_i], W = sum(w), eps the smoothing:
        l_i = (1 - eps) a_i (lse_i - z_it) + eps / C (W lse_i - sum_c w_c z_ic)
    'mean' divides sum(l) by sum(a). The gradient is
        g_i (p_ic ((1 - eps) a_i + eps W / C) - (1 - eps) a_i [c = t_i] - eps w_c / C).
    """

    plain = False

    def forward(self, x, t, w, valid, eps, reduction):
        self.args = t, w, valid, eps, reduction
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

    def reference(self, x):
        """The loss recomputed with the reference ops (for create_graph=True)."""
        return _classification.cross_entropy_reference(x, *self.args)


class NLL(Function):
    """``nll_loss_reference`` in one op: the weighted log-probabilities of the targets, and a
    gradient written at the targets only. No line of ``python -m benchmarks`` runs it;
    forward + backward of (128, 10) takes 0.09-0.11 ms against the reference's 0.13-0.15 ms
    (float32, 2 busy cores)."""

    def forward(self, x, t, w, valid, reduction):
        self.args = t, w, valid, reduction
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

    def reference(self, x):
        """The loss recomputed with the reference ops (for create_graph=True)."""
        return _classification.nll_loss_reference(x, *self.args)
