"""``Adafactor``: Adam-like steps from a factored second moment (a row and a column factor per matrix)."""
import numpy as np

from .optimizer import Optimizer

__all__ = ["Adafactor"]


def _lerp_(a, b, w):
    """``a.lerp_(b, w)`` as PyTorch computes it (two formulas, split at w = 0.5), in ``a``'s dtype."""
    w = a.dtype.type(w)
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        np.subtract(b, (b - a) * (a.dtype.type(1) - w), out=a)


def _norm(a):
    """The 2-norm of ``a`` as a Python float (computed in ``a``'s dtype)."""
    return float(np.sqrt(np.vdot(a, a))) if a.size else 0.0


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018) exactly as ``torch.optim.Adafactor``.

    At step :math:`t`, with :math:`g_t` the gradient (negated when ``maximize``)::

        b_t = t ** beta2_decay,  rho_t = min(lr, 1 / sqrt(t))
        alpha_t = max(eps2, RMS(x_{t-1})) * rho_t
        x_{t-1} *= 1 - lr * weight_decay
        for a tensor of 2 or more dims (factored over its last two):
            R_t = lerp(R_{t-1}, mean(g_t^2, dim=-1), b_t),  C_t = lerp(C_{t-1}, mean(g_t^2, dim=-2), b_t)
            V_t = R_t C_t / max(mean(R_t, dim=-2), eps1)
        else:  V_t = lerp(V_{t-1}, g_t^2, b_t)
        U_t = g_t / sqrt(max(V_t, eps1^2))
        x_t = x_{t-1} - alpha_t / max(1, RMS(U_t) / d) * U_t

    Args:
        params: parameters or parameter groups.
        lr: the largest relative step (default 1e-2).
        beta2_decay: exponent of the second moment's decay schedule, <= 0 (default -0.8).
        eps: (eps1, eps2): eps1 bounds the second moment below (default None: the dtype's
            machine epsilon), eps2 the parameter's RMS (default 1e-3).
        d: clipping threshold of the update's RMS (default 1.0).
        weight_decay: decoupled weight decay (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach: accepted for PyTorch's signature.

    State per parameter: ``step``, and ``row_var`` and ``col_var`` (shaped as the gradient with
    the last, resp. second-to-last, dimension 1) for tensors of 2 or more dims, else ``variance``.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps) if isinstance(eps, list) else eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, g):
        lr, eps = g["lr"], g["eps"]
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= g["beta2_decay"]:
            raise ValueError(f"beta2_decay should be <= 0 but is: {g['beta2_decay']}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= g["d"]:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {g['d']}")
        if not 0.0 <= g["weight_decay"]:
            raise ValueError(f"weight_decay should be >= 0 but is: {g['weight_decay']}")

    def _update(self, x, g, state, group):
        lr, wd, clip = group["lr"], group["weight_decay"], group["d"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(x.dtype).eps)
        if not state:
            state["step"] = 0
            if g.ndim > 1:
                state["row_var"] = np.zeros(g.shape[:-1] + (1,), x.dtype)
                state["col_var"] = np.zeros(g.shape[:-2] + (1, g.shape[-1]), x.dtype)
            else:
                state["variance"] = np.zeros(g.shape, x.dtype)
        state["step"] += 1
        t = float(state["step"])
        weight = t ** group["beta2_decay"]
        rho = min(lr, 1 / (t**0.5))
        alpha = max(eps2, _norm(x) / (x.size**0.5)) * rho
        if wd != 0:
            x *= 1 - lr * wd
        if group["maximize"]:
            g = -g
        if g.ndim > 1:
            row, col = state["row_var"], state["col_var"]
            sq = g * g
            # mean of g^2 as PyTorch takes it: the norm along the dim, squared, over its length
            _lerp_(row, np.square(np.sqrt(sq.sum(axis=-1, keepdims=True))) / g.shape[-1], weight)
            _lerp_(col, np.square(np.sqrt(sq.sum(axis=-2, keepdims=True))) / g.shape[-2], weight)
            v = np.matmul(row, col)
            v /= np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            var = state["variance"]
            _lerp_(var, g * g, weight)
            v = var.copy()
        np.maximum(v, eps1 * eps1, out=v)
        u = np.sqrt(v, out=v)
        np.divide(1, u, out=u)  # PyTorch's rsqrt is 1 / sqrt on the CPU
        u *= g
        denom = max(1.0, _norm(u) / ((u.size**0.5) * clip))
        u *= -alpha / denom
        x += u

    def _load_state_value(self, p, key, v):
        if key in ("row_var", "col_var", "variance"):
            shape = p._data.shape
            want = {"row_var": shape[:-1] + (1,), "col_var": shape[:-2] + (1,) + shape[-1:],
                    "variance": shape}[key]
            a = np.asarray(v._data if hasattr(v, "_data") else v)
            if a.shape != want:
                raise ValueError(f"{self._name}.load_state_dict: state {key!r} has shape {tuple(a.shape)}, expected "
                                 f"{want} for a parameter of shape {shape}")
            return np.array(a, dtype=p._data.dtype, order="C", copy=True)
        return super()._load_state_value(p, key, v)
