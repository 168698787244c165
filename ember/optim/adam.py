"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay."""
import numpy as np

from .optimizer import Optimizer, _check_betas, _check_number, _flush, _grad_term, flush_threshold

__all__ = ["Adam", "AdamW"]


def moment_thresholds(dtype, eps):
    """Flush thresholds for (first moment, second moment) of an update divided by sqrt(v) + eps.

    An m below ~1e-30 moves x by at most lr * 1e-30 / eps; a v below (1e-7 eps)^2 changes
    sqrt(v) + eps by less than float32 rounding. With eps == 0 nothing is flushed: 0 / 0.
    """
    thr = flush_threshold(dtype)
    if eps <= 0 or not thr:
        return 0.0, 0.0
    return thr, min(thr, (1e-7 * eps) ** 2)


def update_moments(d, m, v, beta1, beta2, t, thr_m=0.0, thr_v=0.0):
    """Adam's moment updates in place, with ``t`` as scratch:
    m += (1 - beta1) (d - m) (PyTorch's lerp), v = beta2 v + (1 - beta2) d^2; then, when the
    thresholds are set, float32 values too small to matter are flushed to zero (subnormals)."""
    np.subtract(d, m, out=t)
    t *= 1 - beta1
    m += t
    np.multiply(d, d, out=t)
    t *= 1 - beta2
    v *= beta2
    v += t
    if thr_m:
        _flush(m, thr_m, t)
        _flush(v, thr_v, t)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) exactly as ``torch.optim.Adam``, AMSGrad and decoupled decay included.

    With :math:`g_t` the gradient (negated when ``maximize``) at step :math:`t`::

        x_{t-1} *= 1 - lr * weight_decay               (decoupled_weight_decay, AdamW)
        g_t += weight_decay * x_{t-1}                   (otherwise: L2 penalty)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        vmax_t = max(vmax_{t-1}, v_t)  and  v_t <- vmax_t        (amsgrad)
        x_t = x_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    The update makes 12 in-place passes over pieces that stay in cache, and folds the bias
    corrections into two scalars: ``x -= c * m / (sqrt(v) + eps')``, ``c = lr sqrt(bc2) / bc1``,
    ``eps' = eps sqrt(bc2)``. Moments below ~1e-30 are flushed to zero every few steps (see
    ``moment_thresholds``), so float32 never slows down on subnormals.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates (beta1, beta2) of the two moments (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay`` (default 0).
        amsgrad: use the maximum of past second moments (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of through the gradient.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, g):
        _check_number(self._name, "lr", g["lr"])
        _check_betas(self._name, g["betas"])
        _check_number(self._name, "eps", g["eps"])
        _check_number(self._name, "weight_decay", g["weight_decay"])

    def _update(self, x, g, state, group):
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        amsgrad, maximize, decoupled = group["amsgrad"], group["maximize"], group["decoupled_weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros(x.shape, x.dtype)
            state["exp_avg_sq"] = np.zeros(x.shape, x.dtype)
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros(x.shape, x.dtype)
        state["step"] += 1
        t = state["step"]
        bc1 = 1 - beta1**t
        bc2_sqrt = (1 - beta2**t) ** 0.5
        c, eps_hat = lr * bc2_sqrt / bc1, eps * bc2_sqrt
        thr_m, thr_v = moment_thresholds(x.dtype, eps) if self._flush_now() else (0.0, 0.0)
        vmax = state["max_exp_avg_sq"] if amsgrad else None
        arrays = (x, g, state["exp_avg"], state["exp_avg_sq"], vmax)
        for x_, g_, m, v, vm, t0, t1 in self._pieces(arrays, 2):
            if decoupled and wd != 0:
                x_ *= 1 - lr * wd
            d = _grad_term(x_, g_, t0, 0.0 if decoupled else wd, maximize)
            update_moments(d, m, v, beta1, beta2, t1, thr_m, thr_v)
            if vm is not None:
                np.maximum(vm, v, out=vm)
                v = vm
            np.sqrt(v, out=t1)  # x -= c m / (sqrt(v) + eps')
            t1 += eps_hat
            np.divide(m, t1, out=t1)
            t1 *= c
            x_ -= t1


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Each step first shrinks the weights, ``x *= 1 - lr * weight_decay``, then takes Adam's
    step without any penalty in the gradient. Arguments as :class:`Adam`; ``weight_decay``
    defaults to 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
