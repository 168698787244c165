"""Define-by-run autograd: grad modes, ``Function`` (one op), version counters, the graph walk.

How it works, in four pieces:

1. **An op is a ``Function``.** Its ``forward`` runs on raw arrays; ``Function.apply`` wraps
   the result in a Tensor and, when grad mode is on and an input requires grad, links the
   result to the function (``tensor.grad_fn``). The function keeps its input Tensors
   (``self.inputs``) and what its backward needs (``save_for_backward``).
2. **A backward is written once and runs in two modes.** In an ordinary ``backward()`` it
   receives arrays and ``self.saved_tensors`` gives arrays: plain NumPy, as fast as it gets.
   With ``create_graph=True`` it receives Tensors, ``self.saved_tensors`` gives the input and
   output Tensors, and ``self.xp`` is ember's op namespace instead of NumPy, so the same lines
   record a graph that can be differentiated again. (Ops that are fast kernels with an
   array-only backward define ``reference``: their double backward differentiates that.)
3. **Every tensor has a version.** In-place ops bump it; a function whose saved tensor has
   changed since its forward refuses to run its backward, as in PyTorch.
4. **The walk** (``engine.py``) orders the functions reachable from the outputs so that each
   runs after all its consumers, sums the gradients arriving at each, calls the hooks, and
   accumulates into the leaves' ``.grad`` (or returns them, for ``grad``).

PyTorch's public protocol for custom ops, ``forward(ctx, ...)`` / ``backward(ctx, ...)`` as
static methods with ``ctx.save_for_backward``, is the same class: see ``Function``.
"""
from .function import (  # noqa: F401
    Function, FunctionCtx, enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
    no_grad, set_grad_enabled,
)
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: F401
from .engine import backward, grad  # noqa: F401


def __getattr__(name):
    import importlib

    if name in ("functional", "graph"):
        return importlib.import_module(f"ember.autograd.{name}")
    if name in ("gradcheck", "gradgradcheck"):
        return getattr(importlib.import_module("ember.gradcheck"), name)
    raise AttributeError(f"module 'ember.autograd' has no attribute {name!r}")
