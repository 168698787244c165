"""``Adamax``: Adam with the infinity norm in place of the second moment."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_number, _flush, _grad_term, flush_threshold

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7) exactly as ``torch.optim.Adamax``.

    With :math:`g_t` the gradient (negated when ``maximize``) plus ``weight_decay * x``::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        u_t = max(beta2 u_{t-1}, |g_t| + eps)
        x_t = x_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates (beta1, beta2) (default (0.9, 0.999)).
        eps: added to |g| (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_betas(self._name, g["betas"])
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])

    def _update(self, x, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(x.shape, x.dtype)
            state["exp_inf"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        clr = lr / (1 - beta1 ** state["step"])
        # u >= eps, so an m below ~1e-30 moves x by < lr * 1e-30 / eps; with eps == 0, no flush
        thr = flush_threshold(x.dtype) if eps > 0 and self._flush_now() else 0.0
        for x_, g_, m, u, t0, t1 in self._pieces((x, g, state["exp_avg"], state["exp_inf"]), 2):
            d = _grad_term(x_, g_, t0, wd, group["maximize"])
            np.subtract(d, m, out=t1)  # m += (1 - beta1) (g - m): PyTorch's lerp
            t1 *= 1 - beta1
            m += t1
            u *= beta2
            np.abs(d, out=t1)
            t1 += eps
            np.maximum(u, t1, out=u)
            np.divide(m, u, out=t1)
            t1 *= clr
            x_ -= t1
            if thr:
                _flush(m, thr, t1)
