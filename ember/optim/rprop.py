"""``Rprop``: resilient backpropagation, a per-weight step size driven by the gradient's sign."""
import numpy as np

from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993) exactly as ``torch.optim.Rprop``.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`g_{t-1}` the one
    remembered from the last step::

        f = etaplus where g_t g_{t-1} > 0, etaminus where < 0, 1 where = 0
        s_t = clamp(s_{t-1} * f, step_size_min, step_size_max)
        g_t = 0 where g_t g_{t-1} < 0          (the sign flipped: skip this weight once)
        x_t = x_{t-1} - sign(g_t) * s_t,  and g_t is remembered

    Args:
        params: parameters or parameter groups.
        lr: the first step size of every weight (default 1e-2).
        etas: (etaminus, etaplus), the factors shrinking and growing a step size, with
            ``0 < etaminus < 1 < etaplus`` (default (0.5, 1.2)).
        step_sizes: (min, max) bounds of the step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch's signature; NumPy has one
            implementation and a step is never recorded in the graph.

    State per parameter: ``step``, ``prev`` (the last gradient used), ``step_size``.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=tuple(etas) if isinstance(etas, list) else etas,
                        step_sizes=tuple(step_sizes) if isinstance(step_sizes, list) else step_sizes,
                        foreach=foreach, maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _validate(self, g):
        lr, etas = g["lr"], g["etas"]
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")

    def _update(self, x, g, state, group):
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        if not state:
            state["step"] = 0
            state["prev"] = np.zeros(x.shape, x.dtype)
            state["step_size"] = np.full(x.shape, group["lr"], x.dtype)
        state["step"] += 1
        for x_, g_, prev, size, t0, t1 in self._pieces((x, g, state["prev"], state["step_size"]), 2):
            if group["maximize"]:
                np.negative(g_, out=t0)
            else:
                np.copyto(t0, g_)
            d = t0
            np.multiply(d, prev, out=t1)
            np.sign(t1, out=t1)
            flipped = t1 < 0
            t1[t1 > 0] = etaplus
            t1[flipped] = etaminus
            t1[t1 == 0] = 1
            size *= t1
            np.clip(size, lo, hi, out=size)
            d[flipped] = 0  # a weight whose gradient changed sign does not move this step
            np.sign(d, out=t1)
            t1 *= size
            x_ -= t1
            np.copyto(prev, d)
