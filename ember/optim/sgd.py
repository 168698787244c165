"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .optimizer import Optimizer, _check, _check_number, _flush, _grad_term, flush_threshold

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, exactly as ``torch.optim.SGD``.

    With :math:`g_t` the gradient (negated when ``maximize``), :math:`\lambda` the weight decay,
    :math:`\mu` the momentum and :math:`\tau` the dampening::

        g_t = g_t + lambda * x_{t-1}
        b_t = g_t                                   at the first step
        b_t = mu * b_{t-1} + (1 - tau) * g_t        after it
        g_t = g_t + mu * b_t   (nesterov)   or   g_t = b_t   (momentum > 0)
        x_t = x_{t-1} - lr * g_t

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3, as in PyTorch).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.

    State per parameter: ``momentum_buffer`` (when momentum is not 0).
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_number(self._name, "momentum", g["momentum"])
        _check_number(self._name, "dampening", g["dampening"], hi=1.0)
        _check_number(self._name, "weight_decay", g["weight_decay"])
        if g["nesterov"]:
            _check(self._name, "nesterov", g["nesterov"], g["momentum"] > 0 and g["dampening"] == 0,
                   f"momentum > 0 and dampening == 0 for Nesterov momentum, got momentum={g['momentum']!r} "
                   f"and dampening={g['dampening']!r}")

    def _update(self, x, g, state, group):
        lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
        nesterov, wd, maximize = group["nesterov"], group["weight_decay"], group["maximize"]
        buf, first = None, False
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.empty(x.shape, x.dtype)
                first = True
        thr = flush_threshold(x.dtype) if buf is not None and self._flush_now() else 0.0
        for x_, g_, b, t0, t1 in self._pieces((x, g, buf), 2):
            d = _grad_term(x_, g_, t0, wd, maximize)
            if b is not None:
                if first:
                    np.copyto(b, d)
                else:
                    b *= mu
                    if damp != 0:
                        np.multiply(d, 1 - damp, out=t1)
                        b += t1
                    else:
                        b += d
                if nesterov:
                    np.multiply(b, mu, out=t1)
                    t1 += d
                    d = t1
                else:
                    d = b
            np.multiply(d, lr, out=t1)
            x_ -= t1
            if thr:
                _flush(b, thr, t1)
