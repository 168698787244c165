"""Higher-level derivatives built on ``grad``: ``jacobian``, ``hessian``, ``vjp``, ``jvp``,
``hvp``, ``vhp`` (``torch.autograd.functional``).

Each takes ``func`` and ``inputs`` (a Tensor or a tuple of Tensors) and returns results with
the same nesting as PyTorch: a single Tensor for a single input and output, tuples otherwise.
``jvp`` uses the double-backward trick (the vector-Jacobian product is linear in its vector,
so differentiating it once more in that vector gives J v); it needs the ops' backwards to be
differentiable, which every ember op's is.
"""
import numpy as np

from .._tensor_base import TensorBase, from_op
from .engine import grad
from .function import enable_grad


def _leaf(a):
    """A new leaf tensor over ``a`` that requires grad."""
    t = from_op(a, None)
    t.requires_grad = True
    return t


def _as_tuple(x, what):
    if isinstance(x, TensorBase):
        return (x,), True
    if isinstance(x, (tuple, list)) and all(isinstance(t, TensorBase) for t in x):
        return tuple(x), False
    raise TypeError(f"The {what} given to the function must be either a Tensor or a tuple of Tensors")


def _grad_inputs(inputs, create_graph):
    """Fresh differentiable handles on the inputs (kept in the graph when ``create_graph``)."""
    from .. import ops

    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(ops.clone(t))
        else:
            out.append(t.detach().requires_grad_(True) if t._data.dtype.kind in "fc" else t.detach())
    return tuple(out)


def _zeros_for(gs, inputs):
    return tuple(from_op(np.zeros_like(x._data), None) if g is None else g for g, x in zip(gs, inputs))


def _maybe_detach(ts, create_graph):
    return ts if create_graph else tuple(t.detach() for t in ts)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product."""
    inputs, single_in = _as_tuple(inputs, "inputs")
    with enable_grad():
        xs = _grad_inputs(inputs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "outputs of the user-provided function")
        if v is None:
            if any(o._data.size != 1 for o in outs):
                raise RuntimeError("The vector v can only be None if the user-provided function returns a single Tensor with a single element.")
        vs = None if v is None else _as_tuple(v, "v")[0]
        gs = grad(outs, xs, vs, create_graph=create_graph, allow_unused=True)
    gs = _maybe_detach(_zeros_for(gs, xs), create_graph)
    outs = _maybe_detach(outs, create_graph)
    return (outs[0] if single_out else outs), (gs[0] if single_in else gs)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp in its vector."""
    inputs, single_in = _as_tuple(inputs, "inputs")
    if v is None:
        if any(x._data.size != 1 for x in inputs):
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a single Tensor with a single element.")
        v = tuple(from_op(np.ones_like(x._data), None) for x in inputs)
    vs = _as_tuple(v, "v")[0]
    with enable_grad():
        xs = _grad_inputs(inputs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "outputs of the user-provided function")
        us = tuple(_leaf(np.zeros_like(o._data)) for o in outs)
        gs = grad(outs, xs, us, create_graph=True, allow_unused=True)
        pairs = [(g, vi) for g, vi in zip(gs, vs) if g is not None]
        if pairs:
            res = grad([g for g, _ in pairs], us, [vi for _, vi in pairs], create_graph=create_graph, allow_unused=True)
        else:
            res = (None,) * len(us)
    res = _maybe_detach(_zeros_for(res, outs), create_graph)
    outs = _maybe_detach(outs, create_graph)
    return (outs[0] if single_out else outs), (res[0] if single_out else res)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output i and input j, a Tensor of shape
    ``outputs[i].shape + inputs[j].shape``."""
    from .. import ops

    inputs, single_in = _as_tuple(inputs, "inputs")
    with enable_grad():
        xs = _grad_inputs(inputs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "outputs of the user-provided function")
        result = []
        for o in outs:
            flat = ops.reshape(o, -1)
            rows = [[] for _ in xs]
            for k in range(flat._data.size):
                if o.requires_grad:
                    gs = grad(flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
                else:
                    gs = (None,) * len(xs)
                for j, (g, x) in enumerate(zip(gs, xs)):
                    rows[j].append(from_op(np.zeros_like(x._data), None) if g is None else g)
            per_in = []
            for j, x in enumerate(xs):
                if rows[j]:
                    J = ops.stack(rows[j], axis=0)
                else:
                    J = from_op(np.zeros((0,) + x._data.shape, x._data.dtype), None)
                J = ops.reshape(J, tuple(o._data.shape) + tuple(x._data.shape))
                per_in.append(J if create_graph else J.detach())
            result.append(per_in[0] if single_in else tuple(per_in))
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs`` (the Jacobian of its gradient)."""
    inputs_t, single_in = _as_tuple(inputs, "inputs")

    def gradient(*xs):
        out = func(*xs)
        outs, _ = _as_tuple(out, "outputs of the user-provided function")
        if len(outs) != 1 or outs[0]._data.size != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single element")
        gs = grad(outs, xs, create_graph=True, allow_unused=True)
        gs = _zeros_for(gs, xs)
        return gs[0] if single_in else gs

    return jacobian(gradient, inputs_t[0] if single_in else inputs_t, create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar ``func``."""
    inputs, single_in = _as_tuple(inputs, "inputs")
    vs = _as_tuple(v, "v")[0]
    with enable_grad():
        xs = _grad_inputs(inputs, create_graph)
        out = func(*xs)
        if out._data.size != 1:
            raise RuntimeError("The function given to vhp should return a single Tensor with a single element")
        gs = grad(out, xs, create_graph=True, allow_unused=True)
        pairs = [(g, vi) for g, vi in zip(gs, vs) if g is not None]
        res = grad([g for g, _ in pairs], xs, [vi for _, vi in pairs], create_graph=create_graph, allow_unused=True) if pairs else (None,) * len(xs)
    res = _maybe_detach(_zeros_for(res, xs), create_graph)
    out = out if create_graph else out.detach()
    return out, (res[0] if single_in else res)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar ``func``: computed as the gradient of (grad . v), which
    equals H v because a Hessian of a twice-differentiable function is symmetric."""
    return vhp(func, inputs, v, create_graph, strict)
