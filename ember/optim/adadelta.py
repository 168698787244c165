"""``Adadelta``: Adagrad's accumulators turned into running averages, with no learning rate to tune."""
import numpy as np

from .optimizer import Optimizer, _check_number, _flush, _grad_term, flush_threshold

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012) exactly as ``torch.optim.Adadelta``.

    With :math:`g_t` the gradient (negated when ``maximize``) plus ``weight_decay * x``::

        v_t = rho v_{t-1} + (1 - rho) g_t^2
        d_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t = rho u_{t-1} + (1 - rho) d_t^2
        x_t = x_{t-1} - lr d_t

    Args:
        params: parameters or parameter groups.
        lr: scale of the update (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_number(self._name, "rho", g["rho"], 0.0, 1.0)
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])

    def _update(self, x, g, state, group):
        lr, rho, eps, wd, maximize = group["lr"], group["rho"], group["eps"], group["weight_decay"], group["maximize"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros(x.shape, x.dtype)
            state["acc_delta"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        # v and u enter as sqrt(. + eps): values below ~1e-30 change nothing there
        thr = flush_threshold(x.dtype) if eps > 0 and self._flush_now() else 0.0
        for x_, g_, v, u, t0, t1, t2 in self._pieces((x, g, state["square_avg"], state["acc_delta"]), 3):
            d = _grad_term(x_, g_, t0, wd, maximize)
            v *= rho
            np.multiply(d, d, out=t1)
            t1 *= 1 - rho
            v += t1
            np.add(v, eps, out=t1)
            np.sqrt(t1, out=t1)  # std
            np.add(u, eps, out=t2)
            np.sqrt(t2, out=t2)
            t2 /= t1
            t2 *= d  # delta
            u *= rho
            np.multiply(t2, t2, out=t1)
            t1 *= 1 - rho
            u += t1
            t2 *= lr
            x_ -= t2
            if thr:
                _flush(v, thr, t1)
                _flush(u, thr, t1)
