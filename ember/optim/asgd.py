"""``ASGD``: averaged stochastic gradient descent, SGD plus a running average of the iterates."""
import numpy as np

from .. import backend
from .optimizer import Optimizer, _grad_term

__all__ = ["ASGD"]


def _scalar_dtype():
    """The dtype PyTorch keeps ASGD's ``eta`` and ``mu`` in: float64 under a float64 default, else float32."""
    return np.float64 if backend.get_default_dtype() == np.float64 else np.float32


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992) exactly as ``torch.optim.ASGD``.

    With :math:`g_t` the gradient (negated when ``maximize``) plus ``weight_decay * x``,
    and :math:`\eta`, :math:`\mu` from the state (starting at ``lr`` and 1)::

        x_t = x_{t-1} (1 - lambd eta) - eta g_t
        ax_t = ax_{t-1} + mu (x_t - ax_{t-1})        (ax_t = x_t while mu == 1)
        eta = lr / (1 + lambd lr t)^alpha,   mu = 1 / max(1, t - t0)

    ``ax`` (the average, which is the estimate ASGD is about) lives in ``state[p]['ax']``;
    ``eta`` and ``mu`` are rounded to float32 as PyTorch stores them (float64 under a float64
    default dtype).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power of the eta update (default 0.75).
        t0: the step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, capturable: accepted for PyTorch's signature; NumPy has one
            implementation and a step is never recorded in the graph.

    State per parameter: ``step``, ``eta``, ``mu``, ``ax``.
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _validate(self, g):
        if not 0.0 <= g["lr"]:
            raise ValueError(f"Invalid learning rate: {g['lr']}")
        if not 0.0 <= g["weight_decay"]:
            raise ValueError(f"Invalid weight_decay value: {g['weight_decay']}")

    def _update(self, x, g, state, group):
        lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
        sdt = _scalar_dtype()
        if not state:
            state["step"] = 0
            state["eta"] = float(sdt(lr))
            state["mu"] = 1.0
            state["ax"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        eta, mu = state["eta"], state["mu"]
        for x_, g_, ax, t0_, t1 in self._pieces((x, g, state["ax"]), 2):
            d = _grad_term(x_, g_, t0_, wd, group["maximize"])
            x_ *= 1 - lambd * eta
            np.multiply(d, eta, out=t1)
            x_ -= t1
            if mu != 1:
                np.subtract(x_, ax, out=t1)
                t1 *= mu
                ax += t1
            else:
                np.copyto(ax, x_)
        step = float(np.float32(state["step"])) if sdt is np.float32 else float(state["step"])
        state["eta"] = float(sdt(lr / ((1 + lambd * lr * step) ** alpha)))
        state["mu"] = float(sdt(1 / max(1, step - t0)))
