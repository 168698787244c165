"""Define-by-run autograd: ``Function`` (one op's forward and backward), grad mode, the graph walk.

A ``Function`` runs on raw arrays. ``Function.apply`` wraps the result in a Tensor and, when
grad mode is on and an input requires grad, links the result to the function so that
``backward`` can walk the graph later. The walk is iterative (no recursion limit) and frees
what each function saved unless ``retain_graph=True``.
"""
import functools
import operator

import numpy as np


class _GradMode:
    enabled = True


def is_grad_enabled():
    """True when ops record the graph (the default)."""
    return _GradMode.enabled


class set_grad_enabled:
    """Context manager and decorator that turns graph recording on or off."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.prev = []

    def __enter__(self):
        self.prev.append(_GradMode.enabled)
        _GradMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled = self.prev.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """``with ember.no_grad():`` or ``@ember.no_grad()``: ops inside record no graph."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turns graph recording back on inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


_data = operator.attrgetter("data")


class Function:
    """One differentiable op.

    Subclasses implement ``forward(*arrays, **params) -> array`` and
    ``backward(gy) -> grads`` (one gradient per input, ``None`` where not needed), and keep
    as attributes only what backward needs. ``needs_grad(i)`` tells whether input ``i``
    wants a gradient, so that expensive gradients can be skipped.
    """

    inputs = ()
    freed = False
    _retained = None  # weakref to the output, set by Tensor.retain_grad()

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def needs_grad(self, i):
        return self.inputs[i].requires_grad

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record the op when a gradient may be needed."""
        fn = cls()
        y = fn.forward(*map(_data, inputs), **params) if params else fn.forward(*map(_data, inputs))
        if _GradMode.enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    return _from_op(y, fn)
        return _from_op(y, None)

    def _release(self):
        inputs = self.inputs
        self.__dict__.clear()
        self.inputs = inputs
        self.freed = True

    def __repr__(self):
        return f"<{type(self).__name__}>"


_Tensor = _from_op = None  # set by ember.tensor, which imports this module first


def _toposort(root_fn):
    """Functions reachable from ``root_fn``, each after every function that consumes it.

    Kahn's algorithm: count each function's consumers, then emit a function once all of
    them have been emitted. Functions hash by identity, so they key the dicts directly.
    """
    consumers = {root_fn: 0}
    stack = [root_fn]
    while stack:
        for t in stack.pop().inputs:
            f = t._fn
            if f is None:
                continue
            if f in consumers:
                consumers[f] += 1
            else:
                consumers[f] = 1
                stack.append(f)
    order, ready = [], [root_fn]
    while ready:
        fn = ready.pop()
        order.append(fn)
        for t in fn.inputs:
            f = t._fn
            if f is not None:
                consumers[f] -= 1
                if not consumers[f]:
                    ready.append(f)
    return order


def _bad_grad(fn, i, t, g):
    raise RuntimeError(
        f"{type(fn).__name__}.backward returned a gradient of shape {g.shape} and dtype "
        f"{g.dtype} for input {i}, which has shape {t.data.shape} and dtype {t.data.dtype}"
    )


def _owner(a):
    """The array that owns ``a``'s memory (NumPy collapses chains of views to it)."""
    return a if a.base is None else a.base


def _accumulate_leaf(t, g, claimed):
    # Gradient arrays may share memory (an Add passes gy to both inputs, a Reshape passes a
    # view): a leaf owns its .grad, so it copies what shares memory with a gradient already
    # handed out in this walk, or what it may not write.
    if t.grad is None:
        owner = id(_owner(g))
        if owner in claimed or not g.flags.writeable:
            g = g.copy()
            owner = id(g)
        claimed.add(owner)
        t.grad = g
    elif t.grad.shape == g.shape and t.grad.flags.writeable:
        t.grad += g
    else:
        t.grad = t.grad + g


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from tensor ``root``: accumulate d(root)/d(leaf) into each leaf's ``.grad``."""
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    xp = np
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                f"{root.data.shape}: pass grad= of that shape to backward()"
            )
        grad = xp.ones_like(root.data)
    else:
        grad = grad.data if isinstance(grad, _Tensor) else xp.asarray(grad, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise RuntimeError(f"backward() got grad of shape {grad.shape} for a tensor of shape {root.data.shape}")
    claimed = {id(_owner(grad))}  # the caller's array is never handed to a leaf as is
    if root._fn is None:
        _accumulate_leaf(root, grad, claimed)
        return
    grads = {root._fn: grad}
    owned = set()  # grads this walk allocated by summing, safe to add into in place
    with no_grad():
        for fn in _toposort(root._fn):
            gy = grads.pop(fn, None)
            if gy is None:
                continue
            if fn.freed:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time ({type(fn).__name__} has "
                    "already freed what it saved). Pass retain_graph=True to the first backward() "
                    "if you need to backward twice."
                )
            kept = fn._retained() if fn._retained is not None else None
            if kept is not None:
                _accumulate_leaf(kept, gy, claimed)
            gxs = fn.backward(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for i, (t, g) in enumerate(zip(fn.inputs, gxs)):
                if g is None or not t.requires_grad:
                    continue
                if g.shape != t.data.shape or g.dtype != t.data.dtype:
                    _bad_grad(fn, i, t, g)
                f = t._fn
                if f is None:
                    _accumulate_leaf(t, g, claimed)
                    continue
                prev = grads.get(f)
                if prev is None:
                    grads[f] = g
                elif f in owned:
                    prev += g
                else:
                    grads[f] = prev + g
                    owned.add(f)
            if not retain_graph:
                fn._release()
