"""``fuse(model)``: the same model with its fusable runs of layers replaced by fused modules.

``nn.Sequential`` runs its modules one by one, as PyTorch's does. Fusion is opt-in and shows
in the repr: ``fuse`` returns a model in which

- a ``Linear`` followed by a ``ReLU`` is one ``FusedLinearReLU``: one op, the ReLU in place on
  the GEMM's fresh result, its backward masking the gradient by the saved output;
- a ``ReLU`` followed by a ``MaxPool2d`` is one ``FusedReLUMaxPool2d``: the pooling, then the
  ReLU over the (4x smaller, after a 2x2 pool) pooled output inside the pooling's passes.
  ReLU is monotone, so max(relu(a), relu(b)) = relu(max(a, b)) and the gradient reaches the
  same element (or is zero both ways);
- a ``BatchNorm2d`` followed by a ``ReLU`` and a ``MaxPool2d`` is one
  ``FusedBatchNormReLUMaxPool2d``: in training, on a convolution's (channels-last) output and
  a 2x2 window, the pooling runs on the batch norm's input and the normalization on the 4x
  smaller pooled output (``ember.kernels.fused``: with a positive weight batch norm keeps each
  channel's order, so a window's winner is the same). Values are module by module's bit for
  bit; gradients agree to rounding (batch norm's sums run in another order), and a window's
  gradient can go to another element only when two of its inputs round to the same batch-norm
  output (both are maxima). Other cases (eval, other windows, a weight that is not positive)
  run the three ops;
- a ``Sequential`` made only of Linear layers (each with or without a ReLU after it, the
  first perhaps after a ``Flatten``) is a ``LinearChain``: under ``no_grad`` it runs as one
  ``linear_chain`` on the arrays (no Tensor or graph node per layer, little Python); with
  gradients on it is the ordinary loop (over its fused pairs).

All exact (but the batch norm's, above): the same values and gradients as module by module. The fused model shares the
original's Parameter (and buffer) objects, and the modules it does not fuse; its ``state_dict``
has the same keys (a fused module takes the name of the run's first module: the ReLU and
pooling it absorbs have no state). Containers whose children change are shallow copies
(sharing parameters, buffers and hooks); the original model is left as it was.

Never fused: a module whose class is not exactly the stock one (a subclass overriding
``forward``, or a ``forward`` patched on the class or the instance), a module with hooks
(forward, forward pre, backward or backward pre; any global module hook disables fusion
altogether), and the children of a container other than an exact ``nn.Sequential``. Register
hooks before calling ``fuse``: a hook added later to a module that a fused one replaced is not
called by it.

With ``ember.kernels`` disabled the fused ops run their references (``LinearChain`` its
ordinary loop).
"""
import copy
from collections import OrderedDict

from .. import kernels
from ..autograd import is_grad_enabled
from .._tensor import Tensor
from . import module as _module
from .activation import ReLU
from .containers import Flatten, Sequential
from .linear import Linear
from .module import Module, _as_float_input
from .norm import BatchNorm2d
from .pooling import MaxPool2d

__all__ = ["fuse", "FusedBatchNormReLUMaxPool2d", "FusedLinearReLU", "FusedReLUMaxPool2d", "LinearChain"]

# The stock forwards, as they were when ember.nn was imported: a class whose forward was
# patched since is not stock.
_STOCK = {cls: cls.forward for cls in (Linear, ReLU, MaxPool2d, Flatten, Sequential, BatchNorm2d)}

_fast_cache = {}


def _resolve(name):
    """The fused functions, looked up on first use (``ember.ops`` and ``ember.kernels`` are
    being reorganized): ``linear_relu`` is ``ember.ops.layers.linear(..., relu=True)`` and
    ``linear_chain`` is ``ember.ops.layers.linear_chain`` (both run ``ember.kernels.layers``
    when kernels are on); ``relu_max_pool2d`` is ``ember.kernels.pool.relu_max_pool2d``, or
    ``ember.ops.pool.max_pool(..., relu=True)`` where the kernels do not define it."""
    f = _fast_cache.get(name)
    if f is not None:
        return f
    if name == "linear_relu":
        from ..ops.layers import linear

        def f(x, weight, bias):
            return linear(x, weight, bias, relu=True)
    elif name == "linear_chain":
        from ..ops.layers import linear_chain as f
    elif name == "relu_max_pool2d":
        try:
            from ..kernels.pool import relu_max_pool2d as f
        except ImportError:
            from ..ops.pool import max_pool

            def f(x, kernel_size, stride, padding, dilation, ceil_mode):
                return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, "MaxPool2d", 2, relu=True)
    else:
        raise KeyError(name)
    _fast_cache[name] = f
    return f


def _has_hooks(m):
    return bool(m._forward_pre_hooks or m._forward_hooks or m._backward_hooks or m._backward_pre_hooks)


def _global_hooks():
    return bool(_module._global_all)


def _stock(m, cls):
    """``m`` is exactly a ``cls``, with the stock forward and no hooks: safe to fuse."""
    return type(m) is cls and cls.forward is _STOCK[cls] and "forward" not in m.__dict__ and not _has_hooks(m)


def _check_features(layer, x):
    if x._data.ndim == 0 or x._data.shape[-1] != layer.in_features:
        raise ValueError(
            f"Linear({layer.in_features} -> {layer.out_features}) expected input with "
            f"{layer.in_features} features, got shape {tuple(x.shape)}"
        )


class FusedLinearReLU(Module):
    """``relu(x @ weight.T + bias)`` as one op: a ``Linear`` and the ``ReLU`` after it, fused
    by ``fuse``. ``weight`` and ``bias`` are the Linear's own Parameter objects."""

    def __init__(self, linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.register_parameter("bias", linear.bias)
        self.training = linear.training

    def forward(self, x):
        x = _as_float_input(x, self.weight._data.dtype, self)  # refuses complex and objects, naming this layer
        _check_features(self, x)
        return _resolve("linear_relu")(x, self.weight, self.bias)

    def _layer_name(self):
        return f"FusedLinearReLU(in_features={self.in_features}, out_features={self.out_features})"

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class FusedReLUMaxPool2d(Module):
    """``max_pool2d(relu(x))`` as one op, run as relu(max_pool2d(x)): a ``ReLU`` and the
    ``MaxPool2d`` after it, fused by ``fuse``. The pooling's arguments are the MaxPool2d's."""

    def __init__(self, pool):
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool.kernel_size, pool.stride, pool.padding
        self.dilation, self.ceil_mode = pool.dilation, pool.ceil_mode
        self.training = pool.training

    def forward(self, x):
        x = _as_float_input(x, None)
        return _resolve("relu_max_pool2d")(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                           self.ceil_mode)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class FusedBatchNormReLUMaxPool2d(BatchNorm2d):
    """``max_pool2d(relu(batch_norm(x)))`` as one op where it can be (see the module's
    docstring): a ``BatchNorm2d`` and the ``ReLU`` and ``MaxPool2d`` after it, fused by
    ``fuse``. It is the batch norm (a shallow copy: the same Parameters, buffers and running
    statistics, under the same ``state_dict`` keys) with the pooling's arguments."""

    @classmethod
    def of(cls, bn, pool):
        new = copy.copy(bn)
        new.__class__ = cls
        new.__dict__.update(kernel_size=pool.kernel_size, stride=pool.stride, padding=pool.padding,
                            dilation=pool.dilation, ceil_mode=pool.ceil_mode)
        return new

    def forward(self, input):
        from ..ops.norm import batch_norm_relu_max_pool2d

        return batch_norm_relu_max_pool2d(*self._batch_norm_args(input), self.kernel_size, self.stride, self.padding,
                                          self.dilation, self.ceil_mode)

    def extra_repr(self):
        return (f"{super().extra_repr()}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class LinearChain(Sequential):
    """A Sequential of Linear layers (each perhaps followed by a ReLU, or a FusedLinearReLU;
    the first perhaps after a Flatten), made by ``fuse``.

    Under ``no_grad`` it runs as one ``linear_chain`` on the arrays: each layer's GEMM, then
    its bias and ReLU in place, the same operations in the same order as layer by layer, so
    the same values. With gradients on, it is the ordinary loop over its modules. It also
    falls back to the loop (which reports bad inputs by layer) where a module was given a hook
    or replaced since, dtypes differ, or widths do not chain.
    """

    def forward(self, input):
        if is_grad_enabled() or not kernels.enabled():
            return super().forward(input)
        plan = self._plan()
        if plan is None:
            return super().forward(input)
        flatten, layers, first = plan
        # what the layers refuse (objects, strings, complex) goes to the loop, which names the layer
        try:
            x = input if isinstance(input, Tensor) else Tensor(input)
        except TypeError:
            return super().forward(input)
        if x._data.dtype.kind == "c":
            return super().forward(input)
        if flatten is not None:
            x = Tensor._from_op(x._data.reshape(flatten._flat_shape(x._data.shape)), None)
        x = _as_float_input(x, first.weight._data.dtype, first)
        if x._data.ndim == 0 or x._data.shape[-1] != first.in_features:
            return super().forward(input)
        chain = _resolve("linear_chain")
        return Tensor._from_op(chain(x._data, layers), None)

    def _plan(self):
        """(Flatten or None, [(weight, bias, relu)], first layer), or None to run the loop."""
        if _global_hooks():
            return None
        mods = list(self._modules.values())
        flatten = None
        if mods and type(mods[0]) is Flatten:
            if not _stock(mods[0], Flatten):
                return None
            flatten, mods = mods[0], mods[1:]
        layers, first, width, dtype = [], None, None, None
        i = 0
        while i < len(mods):
            m = mods[i]
            if type(m) is FusedLinearReLU and "forward" not in m.__dict__ and not _has_hooks(m):
                relu, i = True, i + 1
            elif _stock(m, Linear):
                relu = i + 1 < len(mods) and _stock(mods[i + 1], ReLU)
                i += 2 if relu else 1
            else:
                return None
            w, b = m.weight, m.bias
            if w is None or w._data.shape != (m.out_features, m.in_features):
                return None
            if first is None:
                first, dtype = m, w._data.dtype
            elif w._data.dtype != dtype or m.in_features != width:
                return None
            if b is not None and (b._data.dtype != dtype or b._data.shape != (m.out_features,)):
                return None
            width = m.out_features
            layers.append((w._data, None if b is None else b._data, relu))
        if first is None:
            return None
        return flatten, layers, first


def _chain_shape(mods):
    """Whether ``mods`` (already pair-fused) make a LinearChain: [Flatten] then Linear units."""
    i = 1 if mods and _stock(mods[0], Flatten) else 0
    if i == len(mods):
        return False
    while i < len(mods):
        m = mods[i]
        if type(m) is FusedLinearReLU:
            i += 1
        elif _stock(m, Linear):
            i += 2 if i + 1 < len(mods) and _stock(mods[i + 1], ReLU) else 1
        else:
            return False
    return True


def _fuse_sequential(children):
    """The (name, module) pairs of a stock Sequential with its pairs fused."""
    out, i = [], 0
    while i < len(children):
        name, m = children[i]
        nxt = children[i + 1][1] if i + 1 < len(children) else None
        third = children[i + 2][1] if i + 2 < len(children) else None
        if (third is not None and _stock(m, BatchNorm2d) and _stock(nxt, ReLU) and _stock(third, MaxPool2d)
                and not third.return_indices):
            out.append((name, FusedBatchNormReLUMaxPool2d.of(m, third)))
            i += 3
        elif nxt is not None and _stock(m, Linear) and _stock(nxt, ReLU):
            out.append((name, FusedLinearReLU(m)))
            i += 2
        elif nxt is not None and _stock(m, ReLU) and _stock(nxt, MaxPool2d) and not nxt.return_indices:
            out.append((name, FusedReLUMaxPool2d(nxt)))
            i += 2
        else:
            out.append((name, m))
            i += 1
    return out


def _with_children(m, children, cls=None):
    """A shallow copy of ``m`` (sharing its parameters, buffers and hooks) with new children."""
    new = copy.copy(m)
    if cls is not None:
        new.__class__ = cls
    new.__dict__["_modules"] = OrderedDict(children)
    return new


def _fuse(m):
    kids = list(m._modules.items())
    if not kids:
        return m
    new_kids = [(k, c if c is None else _fuse(c)) for k, c in kids]
    changed = any(a is not b for (_, a), (_, b) in zip(kids, new_kids))
    if type(m) is Sequential and Sequential.forward is _STOCK[Sequential] and "forward" not in m.__dict__:
        fused = _fuse_sequential(new_kids) if all(c is not None for _, c in new_kids) else new_kids
        if _chain_shape([c for _, c in fused]) and all(c is not None for _, c in fused):
            return _with_children(m, fused, LinearChain)
        if len(fused) != len(kids):
            changed = True
        new_kids = fused
    return _with_children(m, new_kids) if changed else m


def fuse(model):
    """``model`` with its fusable runs replaced by fused modules (see ``ember.nn.fusion``).

    Returns a model that shares ``model``'s Parameter objects and gives the same outputs,
    gradients and ``state_dict`` keys; ``model`` itself is not changed (it is returned as is
    when nothing can be fused). Call it after registering any hooks::

        model = ember.nn.utils.fuse(model)
    """
    if not isinstance(model, Module):
        raise TypeError(f"fuse expects a Module, got {type(model).__name__}")
    if _global_hooks():
        return model
    return _fuse(model)
