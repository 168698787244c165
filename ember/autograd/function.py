"""Grad modes, version counters, and ``Function``: one differentiable op.

Two protocols share the class:

* **ember's own ops** subclass it with instance methods: ``forward(self, *arrays, **params)``
  returns an array, ``backward(self, gy)`` returns one gradient per input (None where not
  needed). Forward calls ``self.save_for_backward(...)`` with the input and output arrays its
  backward reads; backward reads them back from ``self.saved_tensors`` and computes with
  ``self.xp`` (NumPy, or ember's ops when the graph of the backward is recorded), so one
  formula serves first and higher-order gradients. Constants (shapes, masks, indices) are
  plain attributes. ``dual = True`` says the backward is written that way.
* **PyTorch's protocol** for users: ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as
  static methods on Tensors, ``ctx.save_for_backward``, ``ctx.saved_tensors``,
  ``ctx.needs_input_grad``, ``ctx.mark_dirty``, ``ctx.mark_non_differentiable``,
  ``ctx.set_materialize_grads``; called as ``MyFunction.apply(...)``.
"""
import functools
import weakref

import numpy as np

from .._dtype import differentiable
from .._tensor_base import TensorBase, from_op
from .anomaly import _Anomaly, record_stack


# ----- grad modes -----


class _GradMode:
    enabled = True
    inference = False


def is_grad_enabled():
    """True when ops record the graph (the default)."""
    return _GradMode.enabled


def is_inference_mode_enabled():
    return _GradMode.inference


class set_grad_enabled:
    """Context manager and decorator that turns graph recording on or off. As a plain call,
    ``set_grad_enabled(False)`` switches it for the rest of the thread's work, as in PyTorch."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.prev = [_GradMode.enabled]
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self.prev.pop()
        return False

    def __call__(self, func):
        _GradMode.enabled = self.prev.pop()  # used as a decorator: undo the switch in __init__
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class _Mode:
    """Base of no_grad / enable_grad / inference_mode: a context manager and a decorator
    (``@ember.no_grad()``, or ``@ember.no_grad`` without the call)."""

    grad = False
    inference = None

    def __new__(cls, func=None, *args, **kwargs):
        self = super().__new__(cls)
        if callable(func) and not isinstance(func, bool):
            self.__init__()
            return self(func)
        return self

    def __init__(self, *args, **kwargs):
        self.prev = []

    def __enter__(self):
        self.prev.append((_GradMode.enabled, _GradMode.inference))
        _GradMode.enabled = self.grad
        if self.inference is not None:
            _GradMode.inference = self.inference
        return self

    def __exit__(self, *exc):
        _GradMode.enabled, _GradMode.inference = self.prev.pop()
        return False

    def __call__(self, func):
        cls = type(self)
        args = self._args()

        @functools.wraps(func)
        def wrapper(*a, **kw):
            with cls(*args):
                return func(*a, **kw)

        return wrapper

    def _args(self):
        return ()


class no_grad(_Mode):
    """``with ember.no_grad():`` or ``@ember.no_grad()``: ops inside record no graph."""


class enable_grad(_Mode):
    """Turns graph recording back on inside a ``no_grad`` block."""

    grad = True


class inference_mode(_Mode):
    """Like ``no_grad``, for inference (``inference_mode(False)`` is a no-op block)."""

    def __init__(self, mode=True):
        super().__init__()
        self.mode = bool(mode)
        self.grad = not self.mode and _GradMode.enabled
        self.inference = self.mode

    def __enter__(self):
        if not self.mode:
            self.prev.append((_GradMode.enabled, _GradMode.inference))
            return self
        return super().__enter__()

    def _args(self):
        return (self.mode,)


# ----- which results carry gradients -----

_FLOATS = frozenset(np.dtype(c) for c in "efdgFDG")  # the common case, one set lookup; integer and
# bool results of ops are constants, as in PyTorch (``_dtype.differentiable`` is the rule)


# ----- versions -----

_now = [0]  # the clock: one tick per in-place change anywhere


class Version:
    """A tensor's version counter, shared by a tensor and its views: ``n`` counts the in-place
    changes, ``clock`` is the tick of the last one, ``log`` the ticks of recent ones (to tell
    the version an op saw), ``shared`` whether views of it exist."""

    __slots__ = ("n", "clock", "log", "shared", "owners", "hist", "root", "views")

    def __init__(self):
        self.n = 0
        self.clock = 0
        self.log = []
        self.shared = False
        self.owners = None  # weak references to the ops whose outputs these views look into
        # (weak: an op's input can share this counter, and a strong list would make a cycle
        # op -> input -> counter -> op that only the cyclic garbage collector frees)
        self.root = None  # weakref to the tensor whose memory the views look into
        self.views = None  # {id(view): weakref}: the live views, rebased with their base
        self.hist = None  # {id(tensor): [(tick, fn, output index, requires_grad)]}: what an
        # in-place op that rebased the tensor's history replaced, for the ops that ran before

    def history(self, t):
        if self.hist is None:
            self.hist = {}
        return self.hist.setdefault(id(t), [])

    def at(self, tick):
        """The version this counter had at ``tick`` (exact for the last 64 changes)."""
        return self.n - sum(1 for c in self.log if c > tick)


def bump(t):
    """Record an in-place change of tensor ``t`` (and of every view sharing its counter)."""
    v = t._vc
    if v is None:
        v = t._vc = Version()
    _now[0] += 1
    v.n += 1
    v.clock = _now[0]
    v.log.append(v.clock)
    if len(v.log) > 64:
        del v.log[:32]
    f = t._fn
    if f is not None:
        f._dirty = f._special = True  # its output changed: a backward that saved it must refuse
    if v.owners:
        for r in v.owners:
            f = r()
            if f is not None:
                f._dirty = f._special = True


def share_version(view, base, track=True):
    """Make ``view`` (a tensor over ``base``'s memory) share ``base``'s version counter.
    ``track``: an in-place op recorded on the base or a view rebases this view's history too
    (not for ``detach()``, which stays out of the graph)."""
    import weakref

    v = base._vc
    if v is None:
        v = base._vc = Version()
    if v.root is None:
        v.root = weakref.ref(base)
    if track:
        if v.views is None:
            v.views = {}
        views, k = v.views, id(view)
        views[k] = weakref.ref(view, lambda _, k=k, views=views: views.pop(k, None))
    v.shared = True
    f = base._fn
    if f is not None:
        r = weakref.ref(f)  # (one object per op: weakref.ref returns the same ref again)
        if v.owners is None:
            v.owners = [r]
        elif r not in v.owners:
            v.owners.append(r)
    view._vc = v


def _modified_error(fn, i, t, tick):
    v = t._vc
    dt = t._data.dtype
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [ember.{dt.name} {list(t._data.shape)}], which is input {i} of {fn.name()}, "
        f"is at version {v.n}; expected version {v.at(tick)} instead. Hint: the tensor was "
        "changed in place (+=, x[...] = , an optimizer step, a `_` method) after this op used it; "
        "use an out-of-place op or .clone()."
    )




class Function:
    """One differentiable op; see the module docstring for the two protocols."""

    inputs = ()
    freed = False
    dual = False  # backward runs on Tensors too (self.xp, self.saved_tensors): higher order works
    xp = np  # the array namespace backward computes with; ember's ops when recording a graph
    n_out = 1
    _ctx = False
    _graph = False  # set while the backward's own graph is recorded
    saved_tensors = ()
    _saved = None
    _special = True  # take the engine's general path: hooks, retain_grad, a changed output, ctx
    # (apply sets it False on each recorded op: an instance attribute reads faster)
    _dirty = False  # the output was changed in place after this op ran
    view_index = None  # a basic index: the op is x[view_index], whose gradient the engine adds into a slice
    _clock = None  # the clock when the op was recorded; None once its backward freed it
    _retained = None  # {output index: weakref to the tensor} from Tensor.retain_grad()
    _hooks = None  # {output index: [hook]} from Tensor.register_hook on a non-leaf
    _stack = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            cls._ctx = True
            cls._special = True
            cls.dual = True
            cls.apply = classmethod(_apply_ctx)
            cls.save_for_backward = _save_ctx

    # ----- ember's protocol -----
    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def needs_grad(self, i):
        return self.inputs[i]._rg

    def save_for_backward(self, *values):
        """Keep inputs and the output for backward, where ``self.saved_tensors`` gives them back."""
        self.saved_tensors = values

    def _check_output_unchanged(self):
        """Refuse if this op saved its output and the output was changed in place since."""
        ins = [t._data for t in self.inputs]
        if any(isinstance(a, np.ndarray) and not any(a is b for b in ins) for a in self.saved_tensors):
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the output of {self.name()} was changed in place after it "
                "was computed, and its backward needs it. Use an out-of-place op or .clone()."
            )

    def _graph_saved(self):
        """The saved arrays as the Tensors they are, for a recorded backward."""
        return tuple(self._as_tensor(a) for a in self.saved_tensors)

    def _as_tensor(self, a):
        """A saved array as the Tensor it is: the input that holds it, else the output. (A
        NumPy scalar is an output too: a ufunc on a 0-d input returns one, inputs are arrays.)"""
        if isinstance(a, np.generic):
            return from_op(np.asarray(a), self)
        if not isinstance(a, np.ndarray):
            return a
        for t in self.inputs:
            if t._data is a:
                return t
        out = from_op(a, self)  # a new handle on this op's output: gradients reach this op
        return out

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record the op when a gradient may be needed."""
        fn = cls()
        fn.inputs = inputs  # forward may ask needs_grad(i), to save only what backward will read
        n = len(inputs)  # one and two inputs spelled out: unpacking a map costs more than the op
        if params:
            if n == 1:
                y = fn.forward(inputs[0]._data, **params)
            else:
                y = fn.forward(*[t._data for t in inputs], **params)
        elif n == 2:
            y = fn.forward(inputs[0]._data, inputs[1]._data)
        elif n == 1:
            y = fn.forward(inputs[0]._data)
        else:
            y = fn.forward(*[t._data for t in inputs])
        if _GradMode.enabled:
            for t in inputs:
                if t._rg:
                    if y.dtype not in _FLOATS and not differentiable(y.dtype):
                        break  # an integer or bool result is not differentiable (PyTorch's rule)
                    fn._clock = _now[0]
                    fn._special = False
                    if _Anomaly.enabled:
                        record_stack(fn)
                    return from_op(y, fn)
        return from_op(y, None)

    def _release(self):
        inputs = self.inputs
        self.__dict__.clear()
        self.inputs = inputs
        self.freed = True

    # ----- what PyTorch's grad_fn shows -----
    def name(self):
        return f"{type(self).__name__}Backward" if self._ctx else f"{type(self).__name__}Backward0"

    @property
    def next_functions(self):
        out = []
        for t in self.inputs:
            if t._fn is not None:
                out.append((t._fn, t._oi or 0))
            elif t._rg:
                out.append((AccumulateGrad.of(t), 0))
            else:
                out.append((None, 0))
        return tuple(out)

    def register_hook(self, hook):
        raise NotImplementedError("grad_fn.register_hook: use Tensor.register_hook on the output")

    def __repr__(self):
        return f"<{self.name()}>"

    # ----- PyTorch's protocol (ctx) -----
    def mark_dirty(self, *tensors):
        self._dirty_ids = {id(t) for t in tensors}

    def mark_non_differentiable(self, *tensors):
        self._nondiff_ids = {id(t) for t in tensors}

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def _check_ctx_saved(self, saved):
        versions = getattr(self, "_saved_versions", None)
        if versions is not None:
            for i, (t, v) in enumerate(zip(saved, versions)):
                if t is not None and t._version != v:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: [ember.{t._data.dtype.name} {list(t._data.shape)}], "
                        f"saved tensor {i} of {self.name()}, is at version {t._version}; expected "
                        f"version {v} instead."
                    )
        return tuple(saved)

    def _backward_ctx(self, grads, graph):
        """Run a ctx-style backward: gradients in (one per output, None where nothing came),
        one per tensor input out, as arrays (``graph`` False) or Tensors."""
        gs = []
        for k, g in enumerate(grads):
            if g is None and getattr(self, "_materialize", True):
                shape, dtype = self._out_meta[k]
                g = np.zeros(shape, dtype)
                g = from_op(g, None)
            elif g is not None and not graph:
                g = from_op(g, None)
            gs.append(g)
        self.saved_tensors = () if self._saved is None else self._check_ctx_saved(self._saved)
        with set_grad_enabled(graph):
            res = type(self).backward(self, *gs)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != self._nargs:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {self._nargs}, got {len(res)})"
            )
        out = []
        for p, t in zip(self._argpos, self.inputs):
            g = res[p]
            if g is not None and not isinstance(g, TensorBase):
                g = from_op(np.asarray(g, dtype=t._data.dtype), None)
            if g is not None and g._data.shape != t._data.shape:
                g = _sum_to_input(self, p, g, t._data.shape)
            if g is not None and g._data.dtype != t._data.dtype:
                g = g.to(t._data.dtype)  # as PyTorch: the gradient takes its input's dtype
            out.append(None if g is None else (g if graph else g._data))
        return tuple(out)


FunctionCtx = Function  # what PyTorch calls the ctx: here the node itself


def _sum_to_input(fn, p, g, shape):
    """A gradient of a broadcast shape summed down to its input's, as PyTorch's engine does;
    any other shape is an error naming the Function and the index."""
    gshape = g._data.shape
    lead = len(gshape) - len(shape)
    if lead < 0 or any(s != 1 and s != d for s, d in zip(shape, gshape[lead:])):
        raise RuntimeError(
            f"function {fn.name()} returned an invalid gradient at index {p} - got "
            f"{list(gshape)} but expected shape compatible with {list(shape)}"
        )
    return g.sum_to_size(shape)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf that requires grad: one node per leaf, the same
    object each time it is asked for while anyone holds it (so a graph walk's ``seen`` set
    works), as in PyTorch."""

    _alive = weakref.WeakValueDictionary()  # id(leaf) -> its node; the node holds the leaf

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    @classmethod
    def of(cls, leaf):
        node = cls._alive.get(id(leaf))
        if node is None or node.variable is not leaf:
            node = cls._alive[id(leaf)] = cls(leaf)
        return node

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


def _save_ctx(ctx, *tensors):
    """``ctx.save_for_backward``: the tensors, checked against their versions in backward."""
    ctx._saved = tensors


def _apply_ctx(cls, *args, **kwargs):
    """``Function.apply`` for PyTorch-style functions: forward on Tensors without recording,
    then the outputs are linked to this node."""
    node = cls()
    tensor_pos = [i for i, a in enumerate(args) if isinstance(a, TensorBase)]
    node.needs_input_grad = tuple(isinstance(a, TensorBase) and a._rg for a in args)
    record = _GradMode.enabled and any(node.needs_input_grad)
    prev = _GradMode.enabled
    _GradMode.enabled = False
    try:
        out = cls.forward(node, *args, **kwargs)
    finally:
        _GradMode.enabled = prev
    single = not isinstance(out, tuple)
    outs = (out,) if single else tuple(out)
    dirty = getattr(node, "_dirty_ids", set())
    for o in outs:
        if isinstance(o, TensorBase) and id(o) in dirty:
            bump(o)
    if not record:
        return out
    import sys

    _tm = sys.modules["ember._tensor"]

    inputs = [args[i] for i in tensor_pos]
    node._argpos = tensor_pos
    node._nargs = len(args)
    node._clock = _now[0]
    if _Anomaly.enabled:
        record_stack(node)
    nondiff = getattr(node, "_nondiff_ids", set())
    node.n_out = len(outs)

    def oi(k):  # a tensor's output index: None when its op has one output
        return None if node.n_out == 1 else k

    new = []
    for k, o in enumerate(outs):
        if not isinstance(o, TensorBase):
            new.append(o)
            continue
        if id(o) in dirty:
            if o._fn is None and o._rg:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
            # the node's input is the tensor as it was: a handle keeping its old history
            old = _tm._history_handle(o)
            inputs = [old if t is o else t for t in inputs]
            o._fn, o._oi, o._rg = node, oi(k), True
        elif not differentiable(o._data.dtype):  # as PyTorch: an integer or bool output is not differentiable
            pass
        elif any(o is a for a in args):
            o = from_op(o._data, node)
            o._oi = oi(k)
        elif id(o) in nondiff:
            pass
        else:
            o._fn, o._oi, o._rg = node, oi(k), True
        new.append(o)
    node.inputs = tuple(inputs)
    node._out_meta = [(o._data.shape, o._data.dtype) if isinstance(o, TensorBase) else ((), np.float32) for o in outs]
    saved = node._saved
    if saved is not None:
        node._saved_versions = tuple(None if t is None else t._version for t in saved)
    return new[0] if single else tuple(new)
