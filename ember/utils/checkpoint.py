"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` once, notes which leaf tensors (parameters) its graph
reaches, and drops that graph, keeping only the inputs. The result is linked to one node whose
inputs are ``args`` and those leaves. Its backward runs ``fn`` again, with the random
generator restored to its state at the first run (so dropout draws the same mask), and
differentiates that recomputation with respect to the node's inputs. The engine hands the
gradients on like any other op's, so ``loss.backward()`` and ``ember.autograd.grad(loss,
params)`` both see through it, and the gradients equal those of ``fn(*args)`` run plainly. Under ``create_graph=True`` the
recomputation runs on the inputs themselves and its gradient is recorded, so the gradients
can be differentiated again (a gradient penalty or a Hessian-vector product through it).
"""
import numpy as np

from .._tensor_base import TensorBase
from ..autograd.engine import grad as _grad
from ..autograd.function import Function, enable_grad, is_grad_enabled


def _is_tensor(a):
    return isinstance(a, TensorBase)


def _handles(args):
    """Fresh leaves standing for the tensor arguments (same data, same requires_grad)."""
    out = []
    for a in args:
        if _is_tensor(a):
            h = a.detach()
            h.requires_grad_(a.requires_grad)
            out.append(h)
        else:
            out.append(a)
    return out


def _leaves(outs, exclude):
    """The leaf tensors that require grad and that the graph of ``outs`` reaches."""
    seen, found, stack = set(), [], [o._fn for o in outs if _is_tensor(o) and o._fn is not None]
    skip = {id(t) for t in exclude}
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for t in fn.inputs:
            if t._fn is not None:
                stack.append(t._fn)
            elif t.requires_grad and id(t) not in skip and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
    return found


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, fn, kwargs, rng, n_args, values, *inputs):
        ctx.fn, ctx.kwargs, ctx.rng, ctx.n_args = fn, kwargs, rng, n_args
        ctx.args = inputs[:n_args]
        ctx.save_for_backward(*[a for a in inputs if _is_tensor(a)])
        return values  # the first run's outputs, detached

    @staticmethod
    def backward(ctx, *grads):
        from .. import backend

        saved = iter(ctx.saved_tensors)
        args = [next(saved) if _is_tensor(a) else a for a in ctx.args]
        leaves = list(saved)
        graph = is_grad_enabled()  # create_graph=True: differentiate the recomputation on the record
        handles = list(args) if graph else _handles(args)
        gen = backend.default_generator()
        state = gen.get_state() if ctx.rng is not None else None
        try:
            if ctx.rng is not None:
                gen.set_state(ctx.rng)
            with enable_grad():
                out = ctx.fn(*handles, **ctx.kwargs)
        finally:
            if state is not None:
                gen.set_state(state)
        outs = (out,) if _is_tensor(out) else tuple(out)
        pairs = [(o, g) for o, g in zip(outs, grads) if _is_tensor(o) and o.requires_grad and g is not None]
        wrt = [h for h in handles if _is_tensor(h) and h.requires_grad] + leaves
        gs = iter(_grad([o for o, _ in pairs], wrt, [g for _, g in pairs], allow_unused=True, create_graph=graph)
                  if pairs and wrt else [None] * len(wrt))
        arg_grads = tuple(next(gs) if _is_tensor(h) and h.requires_grad else None for h in handles)
        return (None, None, None, None, None) + arg_grads + tuple(gs)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, recomputed in backward instead of kept in memory (both
    of PyTorch's variants behave alike here: the gradients reach the arguments and every
    parameter ``function`` uses, through ``backward`` and through ``autograd.grad``)."""
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported")
    del use_reentrant, determinism_check, debug
    if not is_grad_enabled():
        return function(*args, **kwargs)
    from .. import backend

    rng = backend.default_generator().get_state() if preserve_rng_state else None
    handles = _handles(args)
    with enable_grad():
        out = function(*handles, **kwargs)
    single = _is_tensor(out)
    outs = (out,) if single else tuple(out)
    leaves = _leaves(outs, [h for h in handles if _is_tensor(h)])
    values = tuple(o.detach() if _is_tensor(o) else o for o in outs)
    del out, outs  # the first run's graph goes here: only the inputs are kept
    res = _Checkpoint.apply(function, kwargs, rng, len(args), values[0] if single else values, *args, *leaves)
    return res


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules) in ``segments`` checkpointed chunks."""
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(1, int(np.ceil(len(fns) / segments)))

    def run(chunk):
        def f(x):
            for m in chunk:
                x = m(x)
            return x

        return f

    x = input
    for i in range(0, len(fns), size):
        chunk = fns[i:i + size]
        x = checkpoint(run(chunk), x, **kwargs) if i + size < len(fns) else run(chunk)(x)
    return x
