"""Function transforms (``torch.func``): ``grad``, ``grad_and_value``, ``functional_call``.

``grad(f)(x)`` is the gradient of the scalar ``f(x)`` with respect to ``x``, as a function:
it composes (``grad(grad(f))``) because the inner gradient is computed with
``create_graph=True`` whenever its input is itself being differentiated. ``vmap`` is not here.
"""
import contextlib

from .autograd.engine import grad as _grad
from .autograd.function import enable_grad


def _wrap_args(args, argnums):
    from . import ops
    from ._tensor import Tensor

    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    new = list(args)
    diff = []
    for i in nums:
        a = args[i]
        if not isinstance(a, Tensor):
            raise TypeError(f"grad: argument {i} must be a Tensor, got {type(a).__name__}")
        h = ops.clone(a) if a.requires_grad else a.detach().requires_grad_(True)
        new[i] = h
        diff.append(h)
    return new, diff, nums


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient, value) of ``func``; with ``has_aux``, ``func`` returns
    (value, aux) and the result is (gradient, (value, aux))."""

    def wrapper(*args, **kwargs):
        with enable_grad():
            new, diff, nums = _wrap_args(args, argnums)
            out = func(*new, **kwargs)
            value, aux = (out if has_aux else (out, None))
            if value._data.size != 1:
                raise RuntimeError(f"grad: the function must return a scalar Tensor, got shape {tuple(value._data.shape)}")
            nested = any(args[i].requires_grad for i in nums)
            gs = _grad(value, diff, create_graph=nested, allow_unused=True)
        from ._tensor import Tensor
        import numpy as np

        gs = tuple(Tensor._from_op(np.zeros_like(d._data), None) if g is None else g for g, d in zip(gs, diff))
        g = gs[0] if isinstance(argnums, int) else gs
        if not nested:
            value = value.detach()
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of the scalar ``func`` w.r.t. argument(s) ``argnums``."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


@contextlib.contextmanager
def _swapped(module, tensors, strict):
    saved = []
    names = set(tensors)
    known = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
    if strict:
        missing, unexpected = sorted(known - names), sorted(names - known)
        if missing or unexpected:
            raise RuntimeError(f"functional_call: missing keys {missing}, unexpected keys {unexpected}")
    try:
        for name, value in tensors.items():
            *path, leaf = name.split(".")
            m = module
            for p in path:
                m = getattr(m, p)
            if leaf in m._parameters:
                saved.append((m._parameters, leaf, m._parameters[leaf]))
                m._parameters[leaf] = value
            elif leaf in m._buffers:
                saved.append((m._buffers, leaf, m._buffers[leaf]))
                m._buffers[leaf] = value
            else:
                raise AttributeError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")
        yield
    finally:
        for d, k, v in reversed(saved):
            d[k] = v


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, tie_weights=True, strict=False):
    """Call ``module`` with its parameters and buffers replaced by the given tensors, without
    changing the module (``torch.func.functional_call``)."""
    if isinstance(parameter_and_buffer_dicts, (list, tuple)):
        merged = {}
        for d in parameter_and_buffer_dicts:
            dup = set(merged) & set(d)
            if dup:
                raise ValueError(f"functional_call: {sorted(dup)} appeared in multiple dictionaries")
            merged.update(d)
    else:
        merged = dict(parameter_and_buffer_dicts)
    if not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, merged, strict):
        return module(*args, **(kwargs or {}))
