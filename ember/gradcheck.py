"""Finite-difference gradient checks: the proof that an op's backward matches its forward."""
import numpy as np

from . import backend
from .tensor import Tensor


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences; the message names the input and element."""


def _prepare(inputs):
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    out = []
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            t = Tensor(t.data.astype(np.float64), requires_grad=True)
        out.append(t)
    return out


def _loss(fn, inputs, r):
    """sum(fn(*inputs) * r), as a float: projects the output onto a fixed direction."""
    y = fn(*inputs)
    if r is None:
        return y
    return float(np.sum(np.asarray(y.data, np.float64) * r))


def _analytic(fn, inputs, seed):
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    y = fn(*inputs)
    r = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(r.astype(y.dtype))
    return r


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check ``fn``'s backward against central finite differences, element by element.

    ``fn(*inputs)`` returns a Tensor; inputs that require grad are cast to float64 and each
    element is perturbed by ``+-eps``. The vector-Jacobian product with a random direction of
    the output's shape is compared. Returns True, or raises GradcheckError naming the input,
    the worst element and both values.
    """
    inputs = _prepare(inputs)
    r = _analytic(fn, inputs, seed)
    for k, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = np.zeros_like(t.data) if t.grad is None else t.grad
        numeric = np.zeros_like(t.data)
        flat = t.data.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            fp = _loss(fn, inputs, r)
            flat[i] = old - eps
            fm = _loss(fn, inputs, r)
            flat[i] = old
            numeric.reshape(-1)[i] = (fp - fm) / (2 * eps)
        _compare(k, analytic, numeric, atol, rtol)
    return True


def gradcheck_directional(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, directions=3):
    """Random-direction check for large inputs: perturb every input at once along random
    directions ``d`` and compare (f(x + eps d) - f(x - eps d)) / 2 eps with sum(grad * d)."""
    inputs = _prepare(inputs)
    r = _analytic(fn, inputs, seed)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    g = [np.zeros_like(t.data) if t.grad is None else t.grad.copy() for t in diff]
    gen = np.random.default_rng(seed + 1)
    for j in range(directions):
        d = [gen.standard_normal(t.shape) for t in diff]
        base = [t.data.copy() for t in diff]
        for t, b, di in zip(diff, base, d):
            t.data[...] = b + eps * di
        fp = _loss(fn, inputs, r)
        for t, b, di in zip(diff, base, d):
            t.data[...] = b - eps * di
        fm = _loss(fn, inputs, r)
        for t, b in zip(diff, base):
            t.data[...] = b
        numeric = (fp - fm) / (2 * eps)
        analytic = sum(float(np.sum(gi * di)) for gi, di in zip(g, d))
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradcheckError(
                f"directional gradcheck failed along direction {j}: backward gives {analytic:.8g}, "
                f"finite differences give {numeric:.8g}"
            )
    return True


def _compare(k, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if err.size and err.max() > 0:
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        raise GradcheckError(
            f"gradcheck failed for input {k} at element {tuple(int(v) for v in i)}: backward gives "
            f"{analytic[i]:.8g}, finite differences give {numeric[i]:.8g} (atol={atol}, rtol={rtol})"
        )


del backend
