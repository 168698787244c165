"""The graph walk behind ``Tensor.backward``, ``ember.autograd.backward`` and ``ember.autograd.grad``.

1. Order the functions reachable from the outputs so that each comes after every function
   that consumes its output (Kahn's algorithm; iterative, so no recursion limit).
2. Walk that order: take the summed gradient of each function's output(s), run the hooks,
   call its backward, and hand each input's gradient to the function that produced the input,
   or to the leaf's ``.grad`` (or to the caller, for ``grad``).

With ``create_graph=False`` gradients are arrays and backward is plain NumPy. With
``create_graph=True`` they are Tensors and every backward is itself recorded.
Where a tensor was changed in place after a function used it, the function's edge to it is
looked up in the tensor's history as it was then (``Version.hist``), and the function
refuses to run if it saved the old value.
"""
import weakref

import numpy as np

from .._tensor_base import TensorBase, from_op
from .anomaly import _Anomaly, check_grads
from .function import _modified_error, _now, enable_grad

leaf_hooks = {}  # id(leaf tensor) -> [hook], from Tensor.register_hook (dropped with the tensor)


def hooks_of(t):
    """The list of hooks of leaf tensor ``t`` (created empty, and forgotten when ``t`` dies)."""
    k = id(t)
    if k not in leaf_hooks:
        leaf_hooks[k] = []
        weakref.finalize(t, leaf_hooks.pop, k, None)
    return leaf_hooks[k]


def _edge(t, tick):
    """(function, output index, requires_grad) that tensor ``t`` had at clock ``tick``."""
    h = t._vc.hist
    for c, f, oi, rg in (h.get(id(t), ()) if h else ()):
        if c > tick:
            return f, oi, rg
    return t._fn, t._oi, t._rg


def _old_fns(fn):
    """The functions that produced ``fn``'s inputs when ``fn`` ran: a tensor changed in place
    since then has newer history, and ``_edge`` finds the old one."""
    tick = fn._clock
    if tick is None:  # freed by an earlier backward: the walk refuses it with PyTorch's message
        return [t._fn for t in fn.inputs]
    return [_edge(t, tick)[0] if t._vc is not None and t._vc.clock > tick else t._fn for t in fn.inputs]


def _toposort(roots):
    """Every function reachable from ``roots``, each after all the functions that consume it."""
    now = _now[0]  # a function recorded at this tick has seen no in-place change since
    consumers = {}
    stack = []
    for r in roots:
        if r not in consumers:
            consumers[r] = 0
            stack.append(r)
    # Both passes spell the common case (nothing changed in place since fn ran: each input's
    # edge is t._fn) as its own loop: a shared generator over the edges measured 2% slower.
    while stack:
        fn = stack.pop()
        if fn._clock == now:
            for t in fn.inputs:
                f = t._fn
                if f is not None:
                    if f in consumers:
                        consumers[f] += 1
                    else:
                        consumers[f] = 1
                        stack.append(f)
        else:
            for f in _old_fns(fn):
                if f is not None:
                    if f in consumers:
                        consumers[f] += 1
                    else:
                        consumers[f] = 1
                        stack.append(f)
    order, ready = [], [r for r in consumers if consumers[r] == 0]
    while ready:
        fn = ready.pop()
        order.append(fn)
        if fn._clock == now:
            for t in fn.inputs:
                f = t._fn
                if f is not None:
                    consumers[f] -= 1
                    if not consumers[f]:
                        ready.append(f)
        else:
            for f in _old_fns(fn):
                if f is not None:
                    consumers[f] -= 1
                    if not consumers[f]:
                        ready.append(f)
    return order


def _bad_grad(fn, i, t, g):
    raise RuntimeError(
        f"{fn.name()} returned a gradient of shape {tuple(g.shape)} and dtype {g.dtype} for input "
        f"{i}, which has shape {t._data.shape} and dtype {t._data.dtype}"
    )


def _owner(a):
    return a if a.base is None else a.base


def _call_hooks(hooks, g, graph, where):
    for h in hooks:
        arg = g if graph else from_op(g, None)
        r = h(arg)
        if r is None:
            continue
        if not isinstance(r, TensorBase):
            r = from_op(np.asarray(r), None)
        if r._data.shape != arg._data.shape:
            raise RuntimeError(
                f"hook '{getattr(h, '__name__', h)}' on {where} returned a gradient of shape "
                f"{tuple(r._data.shape)}, expected shape {tuple(arg._data.shape)}"
            )
        g = r if graph else r._data
    return g


class _Walk:
    """One backward pass: ``graph`` says whether gradients are Tensors (create_graph)."""

    def __init__(self, graph, retain, capture):
        self.graph, self.retain = graph, retain
        self.capture = capture  # None, or {key: None} to fill: grad() and backward(inputs=)
        self.grads = {}
        self.owned = set()  # functions whose summed gradient this walk allocated
        self.claimed = set()

    def leaf(self, t, g):
        if leaf_hooks:
            hooks = leaf_hooks.get(id(t))
            if hooks:
                g = _call_hooks(hooks, g, self.graph, "a leaf tensor")
        cap = self.capture
        if cap is not None:
            k = id(t)
            if k in cap:
                cap[k] = g if cap[k] is None else cap[k] + g
            return
        self.accumulate(t, g)

    def accumulate(self, t, g):
        cur = t._grad
        if self.graph:
            if g._fn is None:
                g = from_op(g._data.copy(), None)
            t._grad = g if cur is None else cur + g
            return
        if cur is None:
            # a leaf owns its .grad: copy what shares memory with a gradient handed out in this
            # walk (an Add passes gy to both inputs, a Reshape a view), or what it may not write
            o = id(_owner(g))
            if o in self.claimed or not g.flags.writeable:
                g = g.copy()
                o = id(g)
            self.claimed.add(o)
            t._grad = from_op(g, None)
        else:
            c = cur._data
            if cur._fn is None and c.shape == g.shape and c.flags.writeable:
                c += g
            else:
                t._grad = from_op(c + g, None)

    def add(self, f, oi, g):
        grads = self.grads
        if oi is None:
            prev = grads.get(f)
            if prev is None:
                grads[f] = g
            elif self.graph:
                grads[f] = prev + g
            elif f not in self.owned:
                grads[f] = prev + g
                self.owned.add(f)
            else:
                prev += g
        else:
            lst = grads.get(f)
            if lst is None:
                lst = grads[f] = [None] * f.n_out
            lst[oi] = g if lst[oi] is None else lst[oi] + g

    def output_grad(self, fn, oi, g):
        """Hooks, retain_grad and capture for output ``oi`` of ``fn``; the gradient to use."""
        if fn._hooks and oi in fn._hooks:
            g = _call_hooks(fn._hooks[oi], g, self.graph, f"the output of {fn.name()}")
        if fn._retained and oi in fn._retained:
            kept = fn._retained[oi]()
            if kept is not None:
                if self.graph:
                    kept._grad = g if kept._grad is None else kept._grad + g
                else:
                    kept._grad = from_op(g.copy() if kept._grad is None else kept._grad._data + g, None)
        cap = self.capture
        if cap is not None:
            k = (fn, oi)
            if k in cap:
                cap[k] = g
        return g

    def general(self, fn, gy):
        """Backward of ``fn`` with everything the fast path leaves out: several outputs, hooks,
        retain_grad, capture, a changed output, ctx-style functions, create_graph."""
        if type(gy) is list:  # an op with several outputs: one gradient (or None) each
            gys = [None if g is None else self.output_grad(fn, k, g) for k, g in enumerate(gy)]
        elif fn._hooks is not None or fn._retained is not None or self.capture is not None:
            gys = (self.output_grad(fn, 0, gy),)
        else:
            gys = (gy,)
        if fn._dirty and not fn._ctx:
            fn._check_output_unchanged()
        if self.graph:
            return _graph_backward(fn, gys)
        if fn._ctx:
            return fn._backward_ctx(gys, False)
        gxs = fn.backward(gys[0])
        return gxs if type(gxs) is tuple else (gxs,)

    def run(self, order):
        """Walk ``order``: each function's summed output gradient in, its inputs' gradients
        out, handed on. The loop for the common case (arrays, no hook, nothing changed in
        place) is spelled out for speed; ``general`` and ``route`` do everything else."""
        graph = self.graph
        grads, owned = self.grads, self.owned
        pop = grads.pop
        capture = self.capture
        check_nan = _Anomaly.enabled and _Anomaly.check_nan
        now = _now[0]
        retain = self.retain
        for fn in order:
            gy = pop(fn, None)
            if gy is None:
                continue
            tick = fn._clock
            if tick is None:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time ({fn.name()} has already "
                    "freed what it saved). Pass retain_graph=True to the first backward() if you "
                    "need to backward twice."
                )
            inputs = fn.inputs
            stale = None
            if tick != now:
                for t in inputs:
                    v = t._vc
                    if v is not None and v.clock > tick:
                        stale = _stale_edges(fn, inputs, tick)
                        break
            if graph or fn._special or capture is not None:
                gxs = self.general(fn, gy)
            else:
                if fn.view_index is not None and stale is None and not check_nan and self.into_view(fn, gy):
                    if not retain:
                        fn._release()
                    continue
                gxs = fn.backward(gy)
                if type(gxs) is not tuple:
                    gxs = (gxs,)
            if check_nan:
                check_grads(fn, gxs, not graph)
            if graph or stale is not None:
                self.route(fn, inputs, gxs, stale)
            else:
                for i, (t, g) in enumerate(zip(inputs, gxs)):
                    if g is None or not t._rg:
                        continue
                    if g.shape != t._data.shape or g.dtype != t._data.dtype:
                        _bad_grad(fn, i, t, g)
                    f = t._fn
                    if f is None:
                        self.leaf(t, g)
                    elif t._oi is not None:
                        self.add(f, t._oi, g)  # an output of an op with several outputs
                    else:
                        prev = grads.get(f)
                        if prev is None:
                            grads[f] = g
                        elif f in owned:
                            prev += g  # a sum this walk allocated: add in place
                        else:
                            grads[f] = prev + g
                            owned.add(f)
            if not retain:
                fn._release()

    def into_view(self, fn, gy):
        """The gradient of ``x[index]`` (a basic index, ``fn.view_index``) added into that view of
        x's summed gradient, when x is an op's only output: the pieces of a ``split`` then fill
        one buffer, where each would make a zeros array of x's shape to be summed (GPT's
        qkv.split: 1.4 ms of a 52 ms step). False where the general route is needed."""
        (t,) = fn.inputs
        f = t._fn
        if not t._rg:
            return True
        if f is None or t._oi is not None or gy.dtype != t._data.dtype:
            return False
        grads, owned = self.grads, self.owned
        prev = grads.get(f)
        if prev is None:
            buf = np.zeros(t._data.shape, gy.dtype)
        else:
            buf = prev if f in owned else prev.copy()
        view = buf[fn.view_index]
        if view.shape != gy.shape:
            return False  # (the general route names the bad gradient)
        if prev is None:
            np.copyto(view, gy)
        else:
            np.add(view, gy, out=view)
        grads[f] = buf
        owned.add(f)
        return True

    def route(self, fn, inputs, gxs, stale):
        """Hand on input gradients in general: Tensors (create_graph), or edges as they were
        before an in-place change (``stale``)."""
        graph = self.graph
        for i, (t, g) in enumerate(zip(inputs, gxs)):
            if g is None:
                continue
            if stale is None:
                f, oi, rg = t._fn, t._oi, t._rg
            else:
                f, oi, rg = stale[i]
            if not rg:
                continue
            a = g._data if graph else g
            if a.shape != t._data.shape or a.dtype != t._data.dtype:
                _bad_grad(fn, i, t, a)
            if f is None:
                self.leaf(t, g)
            else:
                self.add(f, oi, g)


def _stale_edges(fn, inputs, tick):
    """For a function some of whose inputs changed in place after it ran: refuse if it saved
    one of them, else each input's edge as it was when the function ran."""
    edges = []
    for i, t in enumerate(inputs):
        v = t._vc
        if v is not None and v.clock > tick:
            _check_saved(fn, i, t, tick)
            edges.append(_edge(t, tick))
        else:
            edges.append((t._fn, t._oi, t._rg))
    return edges


def _check_saved(fn, i, t, tick):
    """``t`` (input ``i`` of ``fn``) changed after ``fn`` ran: refuse if ``fn`` saved it."""
    if fn._ctx:
        return  # ctx-style functions check their saved tensors' versions themselves
    saved = fn.saved_tensors
    if not saved and type(fn).dual:
        return  # saves nothing (Add, Reshape...): the old value is not needed
    if saved and not any(s is t._data or s is t for s in saved):
        return
    _modified_error(fn, i, t, tick)


def _graph_backward(fn, gys):
    """Backward of ``fn`` on Tensors, recorded so that it can be differentiated again."""
    from .. import ops

    with enable_grad():
        if fn._ctx:
            return fn._backward_ctx(gys, True)
        if type(fn).dual:
            arrays = fn.saved_tensors
            fn.xp, fn._graph, fn.saved_tensors = ops.xp, True, fn._graph_saved()
            try:
                gxs = fn.backward(gys[0])
            finally:
                fn.xp, fn._graph, fn.saved_tensors = np, False, arrays
            return gxs if type(gxs) is tuple else (gxs,)
        ref = getattr(fn, "reference", None)
        if ref is None:
            raise RuntimeError(
                f"{fn.name()} does not support higher-order gradients (create_graph=True) yet"
            )
        xs = fn.inputs
        y = ref(*xs)
        want = [t for t in xs if t._rg]
        gs = grad([y], want, [gys[0]], create_graph=True, allow_unused=True)
        it = iter(gs)
        return tuple(next(it) if t._rg else None for t in xs)


def _root_grad(t, g, graph):
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                f"{tuple(t._data.shape)}: pass a gradient of that shape"
            )
        g = np.ones_like(t._data)
        return from_op(g, None) if graph else g
    if isinstance(g, TensorBase):
        if g._data.shape != t._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output has a shape of {tuple(g._data.shape)} and output "
                f"has a shape of {tuple(t._data.shape)}"
            )
        return g if graph else g._data
    a = np.asarray(g, dtype=t._data.dtype)
    if a.shape != t._data.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output has a shape of {tuple(a.shape)} and output has a shape of "
            f"{tuple(t._data.shape)}"
        )
    return from_op(a, None) if graph else a


def _start(walk, outputs, grad_outputs):
    roots = []
    for t, g in zip(outputs, grad_outputs):
        if not t._rg:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        g = _root_grad(t, g, walk.graph)
        if not walk.graph:
            walk.claimed.add(id(_owner(g)))  # the caller's array is never handed to a leaf as is
        if t._fn is None:
            walk.leaf(t, g)
        else:
            walk.add(t._fn, t._oi, g)
            roots.append(t._fn)
    return roots


def _seq(x):
    if x is None:
        return None
    if isinstance(x, TensorBase):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (``torch.autograd.backward``).

    ``grad_tensors`` gives d(out)/d(tensor) for each non-scalar tensor; ``inputs`` restricts
    the accumulation to those tensors (leaves or not)."""
    tensors = _seq(tensors)
    grads = _seq(grad_tensors) if grad_tensors is not None else (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(grads)} gradients for {len(tensors)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    targets = _seq(inputs)
    capture = None
    if targets is not None:
        if not targets:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        capture = {_key(t): None for t in targets}
    walk = _Walk(bool(create_graph), bool(retain_graph), capture)
    with enable_grad() if create_graph else _nullmode():
        roots = _start(walk, tensors, grads)
        walk.run(_toposort(roots))
        if capture is not None:
            for t in targets:
                g = capture[_key(t)]
                if g is not None:
                    walk.capture = None
                    walk.accumulate(t, g)


def _key(t):
    return id(t) if t._fn is None else (t._fn, t._oi or 0)


class _nullmode:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated
    (``torch.autograd.grad``). With ``create_graph=True`` they can be differentiated again."""
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) needs vmap, which ember does not have")
    outputs = _seq(outputs)
    inputs = _seq(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _seq(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad_outputs has {len(grads)} tensors, but outputs has {len(outputs)}")
    for t in inputs:
        if not isinstance(t, TensorBase):
            raise TypeError(f"grad: inputs must be Tensors, got {type(t).__name__}")
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    capture = {_key(t): None for t in inputs}
    walk = _Walk(bool(create_graph), bool(retain_graph), capture)
    with enable_grad() if create_graph else _nullmode():
        roots = _start(walk, outputs, grads)
        walk.run(_toposort(roots))
    out = []
    for t in inputs:
        g = capture[_key(t)]
        if g is None:
            if materialize_grads:
                out.append(from_op(np.zeros_like(t._data), None))
                continue
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            out.append(None)
        elif isinstance(g, TensorBase):
            out.append(g)
        else:
            out.append(from_op(g.copy() if not g.flags.writeable else g, None))
    return tuple(out)

