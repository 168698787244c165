"""``RAdam``: Adam whose adaptive step is rectified while the second moment is unreliable."""
import math

import numpy as np

from .adam import update_moments, moment_thresholds
from .optimizer import Optimizer, _check_betas, _check_number, _grad_term

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020) exactly as ``torch.optim.RAdam``, decoupled weight decay included.

    With :math:`g_t` the gradient (negated when ``maximize``), weight decay applied as in
    :class:`Adam`::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t,    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        rho_inf = 2 / (1 - beta2) - 1,            rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        x_t = x_{t-1} - lr m_t / (1 - beta1^t) * r_t sqrt(1 - beta2^t) / (sqrt(v_t) + eps)   if rho_t > 5
        x_t = x_{t-1} - lr m_t / (1 - beta1^t)                                                otherwise

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates (beta1, beta2) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default 0).
        decoupled_weight_decay: decay the weights directly (as AdamW) instead of through the gradient.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_betas(self._name, g["betas"])
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])

    def _update(self, x, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        decoupled = group["decoupled_weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(x.shape, x.dtype)
            state["exp_avg_sq"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        t = state["step"]
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bc2
        rectified = rho_t > 5.0
        if rectified:
            r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            c = lr / bc1 * r * math.sqrt(bc2)
        thr_m, thr_v = moment_thresholds(x.dtype, eps) if self._flush_now() else (0.0, 0.0)
        for x_, g_, m, v, t0, t1 in self._pieces((x, g, state["exp_avg"], state["exp_avg_sq"]), 2):
            if decoupled and wd != 0:
                x_ *= 1 - lr * wd
            d = _grad_term(x_, g_, t0, 0.0 if decoupled else wd, group["maximize"])
            update_moments(d, m, v, beta1, beta2, t1, thr_m, thr_v)
            if rectified:
                np.sqrt(v, out=t1)
                t1 += eps
                np.divide(m, t1, out=t1)
                t1 *= c
            else:
                np.multiply(m, lr / bc1, out=t1)
            x_ -= t1
