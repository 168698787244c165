"""``Lion``: the sign of an interpolated momentum, found by program search (Chen et al., 2023)."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_number

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion, EvoLved Sign Momentum (Chen et al., 2023, "Symbolic Discovery of Optimization
    Algorithms", Algorithm 2, with decoupled weight decay). PyTorch has no Lion.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        c_t = beta1 m_{t-1} + (1 - beta1) g_t
        x_t = x_{t-1} - lr (sign(c_t) + lambda x_{t-1})
        m_t = beta2 m_{t-1} + (1 - beta2) g_t

    Every coordinate moves by exactly ``lr`` per step, so the paper advises a learning rate
    3-10x smaller than AdamW's and a weight decay 3-10x larger. Unlike the Adam family, the
    momentum is never flushed to zero: the sign of even a subnormal m moves x by lr.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-4).
        betas: interpolation (beta1) and momentum decay (beta2) (default (0.9, 0.99)).
        weight_decay: decoupled weight decay (default 0).
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``exp_avg`` (m).
    """

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_betas(self._name, g["betas"])
        _check_number(self._name, "weight_decay", g["weight_decay"])

    def _update(self, x, g, state, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            state["exp_avg"] = np.zeros(x.shape, x.dtype)
        sign = -1.0 if group["maximize"] else 1.0  # maximize: follow -g
        for x_, g_, m, t0, t1 in self._pieces((x, g, state["exp_avg"]), 2):
            np.multiply(m, beta1, out=t1)  # c = beta1 m + (1 - beta1) g
            np.multiply(g_, sign * (1 - beta1), out=t0)
            t1 += t0
            m *= beta2  # m = beta2 m + (1 - beta2) g
            np.multiply(g_, sign * (1 - beta2), out=t0)
            m += t0
            np.sign(t1, out=t1)  # x = x - lr (sign(c) + wd x)
            if wd != 0:
                x_ *= 1 - lr * wd
            t1 *= lr
            x_ -= t1
