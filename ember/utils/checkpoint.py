"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph and keeps only its inputs;
backward runs ``fn`` again, with the random generator restored to its state at the first run
(so dropout draws the same mask), and backpropagates through that recomputation. The
gradients equal those of ``fn(*args)`` run plainly.
"""
import numpy as np

from ..autograd.engine import backward as _backward
from ..autograd.function import Function, enable_grad


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, fn, preserve, kwargs, *args):
        from .. import backend

        ctx.fn, ctx.kwargs = fn, kwargs
        ctx.rng = backend.default_generator().get_state() if preserve else None
        ctx.args = args
        ctx.save_for_backward(*[a for a in args if _is_tensor(a)])
        out = fn(*args, **kwargs)
        ctx.single = not isinstance(out, tuple)
        return out

    @staticmethod
    def backward(ctx, *grads):
        from .. import backend

        saved = iter(ctx.saved_tensors)
        args = []
        for a in ctx.args:
            if _is_tensor(a):
                t = next(saved)
                h = t.detach()
                h.requires_grad_(t.requires_grad)
                args.append(h)
            else:
                args.append(a)
        gen = backend.default_generator()
        state = gen.get_state() if ctx.rng is not None else None
        try:
            if ctx.rng is not None:
                gen.set_state(ctx.rng)
            with enable_grad():
                out = ctx.fn(*args, **ctx.kwargs)
        finally:
            if state is not None:
                gen.set_state(state)
        outs = (out,) if ctx.single else tuple(out)
        pairs = [(o, g) for o, g in zip(outs, grads) if _is_tensor(o) and o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None) + tuple(a.grad if _is_tensor(a) and a.requires_grad else None for a in args)


def _is_tensor(a):
    from ..tensor import Tensor

    return isinstance(a, Tensor)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, recomputed in backward instead of kept in memory.

    The parameters ``function`` uses get their gradients during that recomputation, so this
    serves ``loss.backward()``; ``ember.autograd.grad`` with respect to those parameters does
    not see through it (as PyTorch's reentrant variant)."""
    if context_fn is not None:
        raise NotImplementedError("checkpoint: context_fn is not supported")
    del use_reentrant, determinism_check, debug
    from ..autograd.function import is_grad_enabled
    from ..tensor import Tensor

    if is_grad_enabled():
        # a tensor that requires grad among the inputs makes the node be recorded even when
        # only the parameters inside ``function`` need gradients (the usual case: x is data)
        anchor = Tensor(np.zeros((), np.float32), requires_grad=True)
        return _Checkpoint.apply(_Anchored(function), bool(preserve_rng_state), kwargs, anchor, *args)
    return function(*args, **kwargs)


class _Anchored:
    """``function`` called without the anchor tensor checkpoint() passes first."""

    def __init__(self, function):
        self.function = function

    def __call__(self, anchor, *args, **kwargs):
        return self.function(*args, **kwargs)


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
