"""``RMSprop``: gradients divided by a running root mean square, optionally centered, with momentum."""
import numpy as np

from .adam import moment_thresholds
from .optimizer import Optimizer, _check_number, _flush, _grad_term, flush_threshold

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e) exactly as ``torch.optim.RMSprop``.

    With :math:`g_t` the gradient (negated when ``maximize``) plus ``weight_decay * x``::

        v_t = alpha v_{t-1} + (1 - alpha) g_t^2
        a_t = alpha a_{t-1} + (1 - alpha) g_t              (centered)
        d_t = sqrt(v_t - a_t^2) + eps   (centered)   or   sqrt(v_t) + eps
        b_t = momentum b_{t-1} + g_t / d_t,  x_t = x_{t-1} - lr b_t      (momentum > 0)
        x_t = x_{t-1} - lr g_t / d_t                                      (otherwise)

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the running mean square (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and
    ``grad_avg`` (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, *,
                 maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_number(self._name, "alpha", g["alpha"], 0.0, 1.0)
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])
        _check_number(self._name, "momentum", g["momentum"])

    def _update(self, x, g, state, group):
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        mu, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros(x.shape, x.dtype)
        if mu > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros(x.shape, x.dtype)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        flush = self._flush_now()
        thr = flush_threshold(x.dtype) if flush else 0.0
        thr_v = moment_thresholds(x.dtype, eps)[1] if flush else 0.0
        arrays = (x, g, state["square_avg"], state.get("grad_avg") if centered else None,
                  state.get("momentum_buffer") if mu > 0 else None)
        for x_, g_, v, a, b, t0, t1 in self._pieces(arrays, 2):
            d = _grad_term(x_, g_, t0, wd, maximize)
            v *= alpha
            np.multiply(d, d, out=t1)
            t1 *= 1 - alpha
            v += t1
            if thr_v:
                _flush(v, thr_v, t1)
            if a is not None:
                np.subtract(d, a, out=t1)  # a += (1 - alpha) (g - a): PyTorch's lerp
                t1 *= 1 - alpha
                a += t1
                np.multiply(a, a, out=t1)
                np.subtract(v, t1, out=t1)
                np.sqrt(t1, out=t1)
            else:
                np.sqrt(v, out=t1)
            t1 += eps
            np.divide(d, t1, out=t1)
            if b is not None:
                b *= mu
                b += t1
                np.multiply(b, lr, out=t1)
            else:
                t1 *= lr
            x_ -= t1
            if thr:
                for s in (a, b):
                    if s is not None:
                        _flush(s, thr, t1)
