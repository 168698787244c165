"""Finite-difference gradient checks: the proof that an op's backward matches its forward."""
import numpy as np

from . import backend
from ._tensor import Tensor


class GradcheckError(RuntimeError, AssertionError):
    """A backward disagrees with finite differences; the message names the input and element.
    A RuntimeError, as PyTorch's is (and an AssertionError, as ember's always was)."""


def _prepare(inputs):
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    out = []
    for t in inputs:
        if isinstance(t, Tensor) and t.requires_grad:
            t = Tensor(t._data.astype(np.float64), requires_grad=True)
        out.append(t)
    return out


def _outputs(y):
    return (y,) if isinstance(y, Tensor) else tuple(o for o in y if isinstance(o, Tensor))


def _loss(fn, inputs, r):
    """sum over outputs of sum(output * r), as a float: projects the outputs onto fixed
    directions."""
    ys = _outputs(fn(*inputs))
    return float(sum(np.sum(np.asarray(y._data, np.float64) * ri) for y, ri in zip(ys, r)))


def _analytic(fn, inputs, seed):
    from .autograd.engine import backward

    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    ys = _outputs(fn(*inputs))
    gen = np.random.default_rng(seed)
    r = [gen.standard_normal(y.shape) for y in ys]
    pairs = [(y, ri) for y, ri in zip(ys, r) if y.requires_grad]
    if pairs:
        backward([y for y, _ in pairs], [ri.astype(y.dtype) for y, ri in pairs])
    return r


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, *, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """Check ``fn``'s backward against central finite differences, element by element.

    ``fn(*inputs)`` returns a Tensor (or a tuple of them); inputs that require grad are cast to
    float64 and each element is perturbed by ``+-eps``. The vector-Jacobian product with a
    random direction of each output's shape is compared. Returns True, or raises GradcheckError
    naming the input, the worst element and both values (``raise_exception=False``: returns
    False). PyTorch's other keywords are accepted; the forward-mode checks do not apply.
    """
    try:
        return _gradcheck(fn, inputs, eps, atol, rtol, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(fn, inputs, eps, atol, rtol, seed):
    inputs = _prepare(inputs)
    r = _analytic(fn, inputs, seed)
    for k, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = np.zeros_like(t._data) if t.grad is None else t.grad._data
        numeric = np.zeros_like(t._data)
        flat = t._data.reshape(-1)
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
    g = [np.zeros_like(t._data) if t.grad is None else t.grad._data.copy() for t in diff]
    gen = np.random.default_rng(seed + 1)
    for j in range(directions):
        d = [gen.standard_normal(t.shape) for t in diff]
        base = [t._data.copy() for t in diff]
        for t, b, di in zip(diff, base, d):
            t._data[...] = b + eps * di
        fp = _loss(fn, inputs, r)
        for t, b, di in zip(diff, base, d):
            t._data[...] = b - eps * di
        fm = _loss(fn, inputs, r)
        for t, b in zip(diff, base):
            t._data[...] = b
        numeric = (fp - fm) / (2 * eps)
        analytic = sum(float(np.sum(gi * di)) for gi, di in zip(g, d))
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradcheckError(
                f"directional gradcheck failed along direction {j}: backward gives {analytic:.8g}, "
                f"finite differences give {numeric:.8g}"
            )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """Check second-order gradients (``torch.autograd.gradgradcheck``): the gradient of
    ``func``, taken with ``create_graph=True``, is itself checked against finite differences,
    with respect to the inputs and to the output gradient.

    ``grad_outputs`` default to random Tensors of the outputs' shapes (float64). Returns True,
    or raises GradcheckError (returns False with ``raise_exception=False``).
    """
    from .autograd.engine import grad as _grad

    inputs = _prepare(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    outs = func(*inputs)
    outs = (outs,) if isinstance(outs, Tensor) else tuple(outs)
    if grad_outputs is None:
        r = np.random.default_rng(seed + 7)
        grad_outputs = [Tensor(r.standard_normal(o.shape), requires_grad=True) for o in outs]
    else:
        grad_outputs = [Tensor(np.asarray(g._data if isinstance(g, Tensor) else g, np.float64), requires_grad=True)
                        for g in ((grad_outputs,) if isinstance(grad_outputs, Tensor) else grad_outputs)]
    n = len(inputs)

    def first_order(*args):
        xs, gos = args[:n], args[n:]
        ys = func(*xs)
        ys = (ys,) if isinstance(ys, Tensor) else tuple(ys)
        want = [t for t in xs if isinstance(t, Tensor) and t.requires_grad]
        gs = _grad(ys, want, gos, create_graph=True, allow_unused=True)
        from . import ops

        parts = [ops.reshape(g, -1) for g in gs if g is not None]
        if not parts:
            raise GradcheckError("gradgradcheck: no input of func has a gradient")
        return ops.concatenate(parts) if len(parts) > 1 else parts[0]

    del diff
    try:
        return gradcheck(first_order, list(inputs) + grad_outputs, eps=eps, atol=atol, rtol=rtol, seed=seed + 1)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _compare(k, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if err.size and err.max() > 0:
        i = np.unravel_index(int(np.argmax(err)), err.shape)
        raise GradcheckError(
            f"gradcheck failed for input {k} at element {tuple(int(v) for v in i)}: backward gives "
            f"{analytic[i]:.8g}, finite differences give {numeric[i]:.8g} (atol={atol}, rtol={rtol})"
        )


del backend
