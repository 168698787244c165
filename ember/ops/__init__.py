"""Differentiable primitives, by family. Each is also a Tensor method where PyTorch has one."""
from . import movement  # noqa: F401
from .elementwise import (  # noqa: F401
    abs, add, cast, clamp, clip, div, exp, log, maximum, minimum, mul, neg, pow, relu, sigmoid,
    sqrt, sub, tanh, where,
)
from .matmul import matmul  # noqa: F401
from .movement import (  # noqa: F401
    broadcast_to, cat, chunk, clone, concatenate, expand, expand_dims, flatten, getitem, pad, permute,
    reshape, split, squeeze, stack, swapaxes, transpose, unsqueeze, view,
)
from .reduce import argmax, argmin, logsumexp, max, mean, min, std, sum, var  # noqa: F401
from . import xp  # noqa: F401,E402  (the NumPy-like namespace backward formulas use on Tensors)
from ..tensor import Tensor as _Tensor


# The op functions take the tensor first, so they serve as methods unchanged: x.exp() is exp(x).
for _name, _fn in {
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "clip": clip, "clamp": clamp, "maximum": maximum, "minimum": minimum, "matmul": matmul,
    "sum": sum, "mean": mean, "max": max, "min": min, "var": var, "std": std, "logsumexp": logsumexp,
    "argmax": argmax, "argmin": argmin, "reshape": reshape, "view": view, "transpose": transpose,
    "permute": permute, "swapaxes": swapaxes, "flatten": flatten, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "broadcast_to": broadcast_to, "expand": expand, "split": split,
    "chunk": chunk, "pow": pow, "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg,
    "__add__": add, "__sub__": sub, "__mul__": mul, "__truediv__": div, "__pow__": pow,
    "__matmul__": matmul,
}.items():
    setattr(_Tensor, _name, _fn)


def _softmax(self, dim=-1):
    from .activation import softmax

    return softmax(self, dim)


def _log_softmax(self, dim=-1):
    from .activation import log_softmax

    return log_softmax(self, dim)


_Tensor.softmax = _softmax
_Tensor.log_softmax = _log_softmax
