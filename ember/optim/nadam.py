"""``NAdam``: Adam with Nesterov momentum and momentum decay."""
import numpy as np

from .adam import update_moments, moment_thresholds
from .optimizer import Optimizer, _check_betas, _check_number, _grad_term

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016) exactly as ``torch.optim.NAdam``, decoupled weight decay included.

    With :math:`g_t` the gradient (negated when ``maximize``), weight decay applied as in
    :class:`Adam`, and :math:`\psi` the momentum decay::

        mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),   mu_{t+1} likewise,   P_t = prod_{i<=t} mu_i
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        d_t = sqrt(v_t / (1 - beta2^t)) + eps
        x_t = x_{t-1} - lr (1 - mu_t) / (1 - P_t) g_t / d_t - lr mu_{t+1} / (1 - P_t mu_{t+1}) m_t / d_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates (beta1, beta2) (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default 0).
        momentum_decay: psi (default 4e-3).
        decoupled_weight_decay: decay the weights directly (as AdamW) instead of through the gradient.
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, ``mu_product`` (P_t, a number), ``exp_avg``, ``exp_avg_sq``.
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_betas(self._name, g["betas"])
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])
        _check_number(self._name, "momentum_decay", g["momentum_decay"])

    def _update(self, x, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        decoupled, psi = group["decoupled_weight_decay"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros(x.shape, x.dtype)
            state["exp_avg_sq"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        t = state["step"]
        bc2 = 1 - beta2**t
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        prod = state["mu_product"]
        c_g = lr * (1.0 - mu) / (1.0 - prod)
        c_m = lr * mu_next / (1.0 - prod * mu_next)
        thr_m, thr_v = moment_thresholds(x.dtype, eps) if self._flush_now() else (0.0, 0.0)
        arrays = (x, g, state["exp_avg"], state["exp_avg_sq"])
        for x_, g_, m, v, t0, t1, t2 in self._pieces(arrays, 3):
            if decoupled and wd != 0:
                x_ *= 1 - lr * wd
            d = _grad_term(x_, g_, t0, 0.0 if decoupled else wd, group["maximize"])
            update_moments(d, m, v, beta1, beta2, t1, thr_m, thr_v)
            np.divide(v, bc2, out=t1)
            np.sqrt(t1, out=t1)
            t1 += eps  # denominator
            np.divide(d, t1, out=t2)
            t2 *= c_g
            x_ -= t2
            np.divide(m, t1, out=t2)
            t2 *= c_m
            x_ -= t2
