"""Export ember models to ONNX (the ``onnx`` extra), to run anywhere ONNX Runtime runs.

``export`` runs the model once on an example input with every op recorded (define-by-run:
the forward pass *is* the trace), then maps each recorded op to ONNX nodes. Parameters and
buffers become initializers under their ``state_dict`` names; values computed from constants
alone become initializers too. An op with no mapping raises ``ExportError`` naming it.

    ember.onnx.export(model, "model.onnx", example_input=x[:1])
"""
import contextlib
import math
import os

import numpy as np

from .autograd import Function, enable_grad
from ._tensor import Tensor

DEFAULT_OPSET = 17
# ONNX IR version per opset (onnx's own table): onnxruntime accepts these.
_IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


class ExportError(RuntimeError):
    """The model uses something ember cannot express in ONNX; the message names it."""


def _require_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError("ember.onnx needs the onnx package: pip install 'ember[onnx]'") from e
    return onnx, helper, numpy_helper


class _Record:
    __slots__ = ("op", "inputs", "params", "out", "fn")

    def __init__(self, op, inputs, params, out):
        self.op, self.inputs, self.params, self.out = op, inputs, params, out
        self.fn = out._fn


@contextlib.contextmanager
def _recording(records):
    """Temporarily make ``Function.apply`` append every call to ``records``."""
    original = Function.__dict__["apply"]

    def traced(cls, *inputs, **params):
        out = original.__func__(cls, *inputs, **params)
        records.append(_Record(cls.__name__, inputs, params, out))
        return out

    Function.apply = classmethod(traced)
    try:
        yield
    finally:
        Function.apply = original


class _Graph:
    """Collects nodes and initializers; names every tensor once."""

    def __init__(self, helper, numpy_helper, opset, batch):
        self.h, self.nh, self.opset, self.batch = helper, numpy_helper, opset, batch
        self.nodes, self.inits, self.names, self.counter = [], [], {}, 0
        self.known_names = {}  # id(array) -> state_dict name
        self.emitted = set()
        self.input_arrays = {}  # id(array) -> graph name (ops may rewrap an array: detach(), index arrays)

    def fresh(self, base):
        self.counter += 1
        return f"{base}_{self.counter}"

    def const(self, value, base="const"):
        """An initializer holding ``value``; a parameter or buffer keeps its state_dict name."""
        known = self.known_names.get(id(value)) if isinstance(value, np.ndarray) else None
        if known is not None and known in self.emitted:
            return known
        name = known or self.fresh(base)
        self.emitted.add(name)
        self.inits.append(self.nh.from_array(np.ascontiguousarray(np.asarray(value)), name))
        return name

    def ints(self, values, base="shape"):
        return self.const(np.asarray(values, dtype=np.int64), base)

    def name_of(self, t):
        """The graph name of tensor ``t``, making it an initializer if it is a constant."""
        key = id(t)
        if key not in self.names:
            self.names[key] = self.input_arrays.get(id(t._data)) or self.const(t._data, "const")
        return self.names[key]

    def node(self, op, inputs, out=None, **attrs):
        out = out or self.fresh(op.lower())
        self.nodes.append(self.h.make_node(op, list(inputs), [out], **attrs))
        return out


CONVERTERS = {}


def converts(*op_names):
    """Register an ONNX converter for the named Function classes."""

    def deco(fn):
        for n in op_names:
            CONVERTERS[n] = fn
        return fn

    return deco


# PyTorch keywords that change nothing here (ember always exports the parameters as initializers,
# folds nothing, traces once)
_ACCEPTED_TORCH_KEYWORDS = {"export_params": True, "verbose": None, "do_constant_folding": True, "dynamo": None,
                            "keep_initializers_as_inputs": False, "optimize": True, "report": False,
                            "verify": False, "profile": False, "external_data": True}


def export(model, args=(), f=None, *, example_input=None, opset=None, opset_version=None, dynamic_batch=None,
           dynamic_axes=None, input_names=None, output_names=None, ir_version=None, input_name=None,
           output_name=None, check=True, **torch_keywords):
    """Write ``model`` to ``f`` as an ONNX file and return the ``onnx.ModelProto``.

    Called as PyTorch's ``torch.onnx.export(model, args, f)``: ``args`` is the example input (a
    Tensor, or a tuple holding one), ``f`` the file. ember's earlier order,
    ``export(model, path, example_input)``, still works.

    Args:
        model: an ember Module (put in eval mode for the trace, then restored).
        args: an ndarray or Tensor of shape (N, ...) (int64 for Embedding models), or ``(x,)``.
        f: the .onnx file to write (atomically).
        opset_version: the ONNX opset (13 to 21; ``opset`` is the same); 17 by default.
        dynamic_axes: PyTorch's ``{name: {0: "batch"}}``; only the first axis can be dynamic.
        dynamic_batch: make the first axis of the input and output symbolic ("batch"). The
            default, without ``dynamic_axes``, is True.
        input_names, output_names: one name each (``["input"]``, ``["output"]`` by default).
        ir_version: the ONNX IR version; by default the one matching the opset.
    """
    if isinstance(args, (str, os.PathLike)):  # ember's earlier order: (model, path, example_input)
        args, f = (f if example_input is None else example_input), args
    elif example_input is not None:
        raise TypeError("ember.onnx.export: pass the example input once, as args (PyTorch's order: model, args, f)")
    if isinstance(args, (tuple, list)):
        if len(args) != 1:
            raise ExportError(f"ember.onnx.export: models with one input are exported; args holds {len(args)}")
        args = args[0]
    if f is None:
        raise TypeError("ember.onnx.export: no file to write: export(model, args, f)")
    unknown = sorted(set(torch_keywords) - set(_ACCEPTED_TORCH_KEYWORDS))
    if unknown:
        raise TypeError(f"ember.onnx.export got unexpected keyword arguments: {', '.join(unknown)}")
    if opset is not None and opset_version is not None and opset != opset_version:
        raise ValueError(f"ember.onnx.export: opset={opset} and opset_version={opset_version} disagree")
    opset = opset_version or opset or DEFAULT_OPSET
    input_name = input_name or (input_names[0] if input_names else "input")
    output_name = output_name or (output_names[0] if output_names else "output")
    if dynamic_axes is not None:
        for name, axes in dynamic_axes.items():
            axes = list(axes)
            if axes not in ([], [0]):
                raise ExportError(f"ember.onnx.export: dynamic_axes[{name!r}] = {axes}: only axis 0 (the batch) "
                                  "can be dynamic")
        wanted = any(list(a) == [0] for a in dynamic_axes.values())
        if dynamic_batch is not None and dynamic_batch != wanted:
            raise ValueError("ember.onnx.export: dynamic_batch and dynamic_axes disagree")
        dynamic_batch = wanted
    dynamic_batch = True if dynamic_batch is None else dynamic_batch
    return _export(model, f, args, opset, dynamic_batch, ir_version, input_name, output_name, check)


def _export(model, path, example_input, opset, dynamic_batch, ir_version, input_name, output_name, check):
    onnx, helper, numpy_helper = _require_onnx()
    if not 13 <= opset <= 21:
        raise ValueError(f"ember.onnx.export: opset must be in 13..21, got {opset}")
    ir_version = ir_version or _IR_FOR_OPSET[opset]
    x = example_input._data if isinstance(example_input, Tensor) else np.asarray(example_input)
    dtype = next((p._data.dtype for p in model.parameters()), None)
    if dtype is not None and x.dtype.kind == "f" and x.dtype != dtype:
        x = x.astype(dtype)
    xt = Tensor(x.copy(), requires_grad=x.dtype.kind == "f")
    was_training = model.training
    model.eval()
    records = []
    from . import kernels

    kernels_were = kernels.enabled()
    # the trace maps each recorded op to an ONNX node; the fused kernels are the ops that have
    # one (Conv, MaxPool, Gemm...), so they record the trace even where EMBER_KERNELS=0
    kernels.set_enabled(True)
    try:
        with enable_grad(), _recording(records):
            y = model(xt)
    finally:
        kernels.set_enabled(kernels_were)
        model.train(was_training)
    if not isinstance(y, Tensor):
        raise ExportError(f"ember.onnx.export: the model must return one Tensor, got {type(y).__name__}")

    g = _Graph(helper, numpy_helper, opset, x.shape[0] if dynamic_batch and x.ndim else None)
    for name, p in model.named_parameters():
        g.known_names[id(p._data)] = name
    for name, b in model.named_buffers():
        g.known_names[id(b._data if isinstance(b, Tensor) else b)] = name
    g.names[id(xt)] = input_name
    g.input_arrays[id(xt._data)] = input_name
    for rec in records:
        if rec.fn is None and not any(id(t) in g.names or id(t._data) in g.input_arrays for t in rec.inputs):
            continue  # computed from constants only: the result is a constant
        conv = CONVERTERS.get(rec.op)
        if conv is None:
            raise ExportError(
                f"ember.onnx.export: no ONNX mapping for op {rec.op!r} "
                f"(input shapes {[tuple(t.shape) for t in rec.inputs]}); supported ops: {', '.join(sorted(CONVERTERS))}"
            )
        ins = [g.name_of(t) for t in rec.inputs]
        g.names[id(rec.out)] = name = conv(g, rec, ins)
        g.input_arrays.setdefault(id(rec.out._data), name)  # a detach() of it shares the array
    out = g.names.get(id(y))
    if out is None:
        raise ExportError("ember.onnx.export: the output does not depend on the input")
    g.nodes.append(helper.make_node("Identity", [out], [output_name]))

    def value_info(name, arr):
        shape = list(arr.shape)
        if dynamic_batch and shape:
            shape[0] = "batch"
        elem = helper.np_dtype_to_tensor_dtype(arr.dtype)
        return helper.make_tensor_value_info(name, elem, shape)

    graph = helper.make_graph(g.nodes, type(model).__name__, [value_info(input_name, x)],
                              [value_info(output_name, y._data)], g.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=ir_version, producer_name="ember")
    if check:
        onnx.checker.check_model(proto)
    from .io import atomic_write

    with atomic_write(path, "wb") as f:
        f.write(proto.SerializeToString())
    return proto


# ----- converters: (graph, record, input names) -> output name -----

_SIMPLE = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Neg": "Neg", "Exp": "Exp",
           "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "ReLU": "Relu",
           "MatMul": "MatMul", "Erf": "Erf"}


@converts(*_SIMPLE)
def _simple(g, rec, ins):
    return g.node(_SIMPLE[rec.op], ins)


@converts("PowScalar")
def _pow_scalar(g, rec, ins):
    return g.node("Pow", [ins[0], g.const(np.asarray(rec.params["p"], rec.inputs[0].dtype))])


@converts("Maximum")
def _maximum(g, rec, ins):
    return g.node("Min" if rec.params.get("minimum") else "Max", ins)


@converts("Clip")
def _clip(g, rec, ins):
    lo, hi = rec.params["lo"], rec.params["hi"]
    return g.node("Clip", [ins[0], "" if lo is None else g.const(lo), "" if hi is None else g.const(hi)])


@converts("Where")
def _where(g, rec, ins):
    if ins[0] == ins[1]:
        return ins[0]  # where(cond, y.detach(), y): y in inference (embedding's padding_idx)
    return g.node("Where", [g.const(rec.params["cond"]), ins[0], ins[1]])


@converts("Cast")
def _cast(g, rec, ins):
    return g.node("Cast", ins, to=g.h.np_dtype_to_tensor_dtype(np.dtype(rec.params["dtype"])))


def _axes_input_or_attr(g, op, x, axes, keepdims):
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.ints(list(axes))], keepdims=int(keepdims))
    return g.node(op, [x], axes=list(axes), keepdims=int(keepdims))


@converts("Sum", "Mean", "Max", "LogSumExp")
def _reduce(g, rec, ins):
    p = rec.params
    op = {"Sum": "ReduceSum", "Mean": "ReduceMean", "Max": "ReduceMax", "LogSumExp": "ReduceLogSumExp"}[rec.op]
    if rec.op == "Max" and p.get("minimum"):
        op = "ReduceMin"
    return _axes_input_or_attr(g, op, ins[0], p["axes"], p["keepdims"])


@converts("Reshape")
def _reshape(g, rec, ins):
    target = list(rec.out.shape)
    src = rec.inputs[0].shape
    if g.batch is not None and target and src and target[0] == src[0] == g.batch:
        target[0] = 0  # ONNX: copy the (symbolic) batch size from the input
        if len(src) >= 2 and len(target) == 2 and int(np.prod(src[1:])) == target[1]:
            return g.node("Flatten", ins, axis=1)
    return g.node("Reshape", [ins[0], g.ints(target)])


@converts("Permute")
def _permute(g, rec, ins):
    return g.node("Transpose", ins, perm=list(rec.params["axes"]))


@converts("Concatenate")
def _concat(g, rec, ins):
    return g.node("Concat", ins, axis=rec.params["axis"])


@converts("Stack")
def _stack(g, rec, ins):
    ax = g.ints([rec.params["axis"]])
    return g.node("Concat", [g.node("Unsqueeze", [i, ax]) for i in ins], axis=rec.params["axis"])


@converts("BroadcastTo")
def _broadcast(g, rec, ins):
    return g.node("Expand", [ins[0], g.ints(list(rec.params["shape"]))])


@converts("Pad")
def _pad(g, rec, ins):
    pw = rec.params["pad_width"]
    pads = [lo for lo, _ in pw] + [hi for _, hi in pw]
    return g.node("Pad", [ins[0], g.ints(pads), g.const(np.asarray(rec.params["value"], rec.inputs[0].dtype))])


@converts("GetItem")
def _getitem(g, rec, ins):
    index = rec.params["index"]
    items = index if isinstance(index, tuple) else (index,)
    shape = rec.inputs[0].shape
    if rec.params["advanced"]:
        arrays = [i for i in items if isinstance(i, np.ndarray)]
        if len(arrays) == 1 and arrays[0].dtype.kind in "iu" and all(
            (isinstance(i, slice) and i == slice(None)) or i is arrays[0] for i in items
        ):
            axis = next(k for k, i in enumerate(items) if i is arrays[0])
            # the indices are the graph input itself for an Embedding on the model's input
            idx = g.input_arrays.get(id(arrays[0])) or g.const(arrays[0].astype(np.int64))
            return g.node("Gather", [ins[0], idx], axis=axis)
        raise ExportError("ember.onnx.export: only integer-array indexing along one axis maps to ONNX (Gather)")
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    axis = 0
    for i in items:
        if i is Ellipsis:
            axis = len(shape) - (len(items) - 1 - items.index(Ellipsis)) + 0
            continue
        if i is None:
            raise ExportError("ember.onnx.export: indexing with None (new axis) is not supported; use unsqueeze")
        if isinstance(i, (int, np.integer)):
            k = int(i) % shape[axis]
            starts.append(k), ends.append(k + 1), axes.append(axis), steps.append(1)
            squeeze.append(axis)
        else:
            s0, s1, st = i.indices(shape[axis])
            if st < 0:
                s1 = -(2**62) if s1 < 0 else s1
            starts.append(s0), ends.append(s1), axes.append(axis), steps.append(st)
        axis += 1
    out = ins[0]
    if axes:
        out = g.node("Slice", [out, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        out = g.node("Squeeze", [out, g.ints(squeeze)])
    return out


@converts("Linear")
def _linear(g, rec, ins):
    x = rec.inputs[0]
    if x.ndim == 2:
        return g.node("Gemm", ins, transB=1)
    wt = g.node("Transpose", [ins[1]], perm=[1, 0])
    y = g.node("MatMul", [ins[0], wt])
    return g.node("Add", [y, ins[2]]) if len(ins) > 2 else y


@converts("LinearReLU")
def _linear_relu(g, rec, ins):
    return g.node("Relu", [_linear(g, rec, ins)])


@converts("LeakyReLU")
def _leaky(g, rec, ins):
    return g.node("LeakyRelu", ins, alpha=float(rec.params["slope"]))


@converts("ELU")
def _elu(g, rec, ins):
    return g.node("Elu", ins, alpha=float(rec.params["alpha"]))


@converts("SiLU")
def _silu(g, rec, ins):
    return g.node("Mul", [ins[0], g.node("Sigmoid", ins)])


@converts("Hardtanh")
def _hardtanh(g, rec, ins):
    dt = rec.inputs[0].dtype
    return g.node("Clip", [ins[0], g.const(np.asarray(rec.params["lo"], dt)), g.const(np.asarray(rec.params["hi"], dt))])


@converts("Softplus")
def _softplus(g, rec, ins):
    beta = rec.params["beta"]
    dt = rec.inputs[0].dtype
    if beta == 1:
        return g.node("Softplus", ins)
    b = g.const(np.asarray(beta, dt))
    return g.node("Div", [g.node("Softplus", [g.node("Mul", [ins[0], b])]), b])


@converts("GELU")
def _gelu(g, rec, ins):
    dt = rec.inputs[0].dtype
    c = lambda v: g.const(np.asarray(v, dt))  # noqa: E731
    x = ins[0]
    if g.opset >= 20:
        return g.node("Gelu", ins, approximate=rec.params["approximate"])
    if rec.params["approximate"] == "tanh":
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [x3, c(0.044715)])]), c(math.sqrt(2 / math.pi))])
        t = g.node("Add", [g.node("Tanh", [inner]), c(1.0)])
    else:
        t = g.node("Add", [g.node("Erf", [g.node("Mul", [x, c(1 / math.sqrt(2))])]), c(1.0)])
    return g.node("Mul", [g.node("Mul", [x, t]), c(0.5)])


@converts("Softmax", "LogSoftmax")
def _softmax(g, rec, ins):
    return g.node(rec.op, ins, axis=int(rec.params["axis"]))


@converts("BatchNorm")
def _batchnorm(g, rec, ins):
    p = rec.params
    if p["training"] or p["running_mean"] is None:
        raise ExportError("ember.onnx.export: BatchNorm must use running statistics (eval mode, track_running_stats=True)")
    c = p["running_mean"].shape[0]
    dt = rec.inputs[0].dtype
    w = ins[1] if len(ins) > 1 else g.const(np.ones(c, dt))
    b = ins[2] if len(ins) > 2 else g.const(np.zeros(c, dt))
    return g.node("BatchNormalization", [ins[0], w, b, g.const(p["running_mean"]), g.const(p["running_var"])],
                  epsilon=float(p["eps"]))


@converts("LayerNorm")
def _layernorm(g, rec, ins):
    # ember's LayerNorm normalizes the trailing dims holding k elements, with weight and bias
    # flattened to (k,): flatten those dims, normalize the last axis, restore the shape.
    p = rec.params
    x = rec.inputs[0]
    dt, k, shape = x.dtype, p["k"], list(x.shape)
    lead = len(shape)
    while lead > 0 and int(np.prod(shape[lead:])) != k:
        lead -= 1
    i = 1
    w = ins[i] if p["has_w"] else g.const(np.ones(k, dt))
    i += p["has_w"]
    b = ins[i] if p["has_b"] else g.const(np.zeros(k, dt))
    flat = len(shape) - lead > 1
    batch = lambda s: ([0] + s[1:]) if g.batch is not None and s else s  # noqa: E731
    xin = g.node("Reshape", [ins[0], g.ints(batch(shape[:lead] + [k]))]) if flat else ins[0]
    y = g.node("LayerNormalization", [xin, w, b], axis=-1, epsilon=float(p["eps"]))
    return g.node("Reshape", [y, g.ints(batch(shape))]) if flat else y


@converts("Embedding")
def _embedding(g, rec, ins):
    return g.node("Gather", [ins[0], ins[1]], axis=0)


def _pads(pads):
    (t, b), (l, r) = pads
    return [int(t), int(l), int(b), int(r)]


@converts("Conv2dFunction", "WinogradConv2dFunction")
def _conv(g, rec, ins):
    p = rec.params  # the Winograd kernel's are pads alone: 3x3, stride 1, dilation 1, one group
    kh, kw = rec.inputs[1].shape[-2:]
    return g.node("Conv", ins, kernel_shape=[kh, kw], strides=list(p.get("stride", (1, 1))), pads=_pads(p["pads"]),
                  dilations=list(p.get("dilation", (1, 1))), group=int(p.get("groups", 1)))


def _ceil_mode(rec, kernel, stride, pads, dilation):
    h, w = rec.inputs[0].shape[-2:]
    floor = tuple((s + lo + hi - d * (k - 1) - 1) // st + 1
                  for s, (lo, hi), k, st, d in zip((h, w), pads, kernel, stride, dilation))
    return int(tuple(rec.params["out"]) != floor)


@converts("MaxPool2dFunction")
def _maxpool(g, rec, ins):
    p = rec.params
    y = g.node("MaxPool", ins, kernel_shape=list(p["kernel"]), strides=list(p["stride"]), pads=_pads(p["pads"]),
               dilations=list(p["dilation"]), ceil_mode=_ceil_mode(rec, p["kernel"], p["stride"], p["pads"],
                                                                   p["dilation"]))
    return g.node("Relu", [y]) if p.get("relu") else y  # a ReLU that nn.Sequential ran inside the pool


@converts("AvgPool2dFunction")
def _avgpool(g, rec, ins):
    p = rec.params
    kernel, pads = list(p["kernel"]), p["pads"]
    full = np.ndim(p["divisor"]) == 0 and float(p["divisor"]) == kernel[0] * kernel[1]
    padded = any(v for pair in pads for v in pair)
    if not full and not padded and np.ndim(p["divisor"]) == 0:
        raise ExportError("ember.onnx.export: avg_pool2d with divisor_override has no ONNX mapping")
    ceil = _ceil_mode(rec, kernel, p["stride"], pads, (1, 1))
    return g.node("AveragePool", ins, kernel_shape=kernel, strides=list(p["stride"]), pads=_pads(pads),
                  count_include_pad=int(full), ceil_mode=ceil)


@converts("AdaptiveAvgPool2dFunction")
def _adaptive(g, rec, ins):
    out = tuple(rec.params["out"])
    h, w = rec.inputs[0].shape[-2:]
    if out == (1, 1):
        return g.node("GlobalAveragePool", ins)
    if h % out[0] or w % out[1]:
        raise ExportError(f"ember.onnx.export: adaptive_avg_pool2d from {(h, w)} to {out} has no ONNX mapping "
                          "(sizes must divide evenly)")
    k = [h // out[0], w // out[1]]
    return g.node("AveragePool", ins, kernel_shape=k, strides=k)
