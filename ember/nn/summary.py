"""``summary(model, input_shape)``: a Keras-style table of layers, output shapes and parameter counts."""
import sys

import numpy as np

from ..autograd import no_grad
from .._tensor import Tensor

__all__ = ["summary"]


def _shape_of(out):
    if isinstance(out, Tensor):
        return str(tuple(out.shape))
    if isinstance(out, np.ndarray):
        return str(out.shape)
    if isinstance(out, (tuple, list)):
        return ", ".join(_shape_of(o) for o in out)
    if isinstance(out, dict):
        return ", ".join(f"{k}: {_shape_of(v)}" for k, v in out.items())
    return type(out).__name__


def _count(params):
    return sum(int(p._data.size) for p in params)


def summary(model, input_shape, dtype=None, batch_size=1, file=None):
    """Run one forward on zeros of shape (batch_size, *input_shape) and print a table of layers.

    Each leaf layer (and each module with parameters of its own) gets a row per call: its
    dotted name, type, output shape and parameter count; totals follow, split into trainable
    and non-trainable. The model runs in eval mode under ``no_grad``, so running statistics
    are not touched; each module's mode is restored afterwards.

    Args:
        model: a Module.
        input_shape: one sample's shape, without the batch dim: (1, 28, 28).
        dtype: dtype of the zeros (the model's parameter dtype if None; an int dtype for Embedding).
        batch_size: the batch dim to prepend.
        file: where to print (sys.stdout if None); pass False to print nothing.

    Returns:
        The table as a string.
    """
    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in input_shape):
        raise ValueError(f"summary: input_shape must hold non-negative ints, got {input_shape}")
    if dtype is None:
        dtype = model._param_dtype() or np.float32
    x = np.zeros((batch_size,) + input_shape, dtype)
    rows, patched = [], []
    modes = [(m, m.training) for m in model.modules()]

    def wrap(name, m):
        forward = m.forward  # the bound method of the class

        def hooked(*args, **kwargs):
            out = forward(*args, **kwargs)
            rows.append((name or type(m).__name__, type(m).__name__, _shape_of(out), _count(m.parameters(recurse=False))))
            return out

        return hooked

    # Instance attributes shadow the class's forward for the duration of the run only, so
    # Module.__call__ carries no hook machinery.
    for name, m in model.named_modules():
        if not m._modules or m._parameters:
            object.__setattr__(m, "forward", wrap(name, m))
            patched.append(m)
    try:
        model.eval()
        with no_grad():
            model(Tensor(x))
    finally:
        for m in patched:
            m.__dict__.pop("forward", None)
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    params = list(model.parameters())
    total = _count(params)
    trainable = _count(p for p in params if p.requires_grad)
    header = ("Layer (type)", "Output Shape", "Param #")
    body = [(f"{n} ({t})", s, f"{c:,}") for n, t, s, c in rows]
    w0 = max([len(header[0])] + [len(r[0]) for r in body]) + 2
    w1 = max([len(header[1])] + [len(r[1]) for r in body]) + 2
    w2 = max([len(header[2])] + [len(r[2]) for r in body])
    width = w0 + w1 + w2
    lines = [f"Model: {type(model).__name__}, input {tuple(x.shape)} {x.dtype}", "=" * width,
             f"{header[0]:<{w0}}{header[1]:<{w1}}{header[2]:>{w2}}", "=" * width]
    lines += [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in body]
    lines += ["=" * width, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", "=" * width]
    text = "\n".join(lines)
    if file is not False:
        print(text, file=sys.stdout if file is None else file)
    return text
