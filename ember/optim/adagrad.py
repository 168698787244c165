"""``Adagrad``: per-coordinate step sizes from accumulated squared gradients."""
import numpy as np

from .optimizer import Optimizer, _check_number, _grad_term

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011) exactly as ``torch.optim.Adagrad``.

    With :math:`g_t` the gradient (negated when ``maximize``) plus ``weight_decay * x``::

        lr_t = lr / (1 + (t - 1) lr_decay)
        s_t = s_{t-1} + g_t^2
        x_t = x_{t-1} - lr_t g_t / (sqrt(s_t) + eps)

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sums s (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing it.

    State per parameter (created at construction, as in PyTorch): ``step``, ``sum``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, *,
                 maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p._data, self.state[p], group)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_number(self._name, "lr_decay", g["lr_decay"])
        _check_number(self._name, "weight_decay", g["weight_decay"])
        _check_number(self._name, "initial_accumulator_value", g["initial_accumulator_value"])
        _check_number(self._name, "eps", g["eps"])

    @staticmethod
    def _init_state(x, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = np.full(x.shape, group["initial_accumulator_value"], x.dtype)

    def _update(self, x, g, state, group):
        self._init_state(x, state, group)
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        eps, wd, maximize = group["eps"], group["weight_decay"], group["maximize"]
        for x_, g_, s, t0, t1 in self._pieces((x, g, state["sum"]), 2):
            d = _grad_term(x_, g_, t0, wd, maximize)
            np.multiply(d, d, out=t1)
            s += t1
            np.sqrt(s, out=t1)
            t1 += eps
            np.divide(d, t1, out=t1)
            t1 *= clr
            x_ -= t1
