"""Differentiable primitives, by family. Each is also a Tensor method where PyTorch has one."""
from .elementwise import (  # noqa: F401
    abs, add, cast, clamp, clip, div, exp, log, maximum, minimum, mul, neg, pow, relu, sigmoid,
    sqrt, sub, tanh, where,
)
from .matmul import matmul  # noqa: F401
from .movement import (  # noqa: F401
    broadcast_to, cat, chunk, concatenate, expand, expand_dims, flatten, getitem, pad, permute,
    reshape, split, squeeze, stack, swapaxes, transpose, unsqueeze, view,
)
from .reduce import argmax, argmin, logsumexp, max, mean, min, std, sum, var  # noqa: F401
from ..tensor import Tensor as _Tensor


def _method(fn):
    def m(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    m.__name__ = fn.__name__
    m.__doc__ = fn.__doc__
    return m


for _name, _fn in {
    "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "clip": clip, "clamp": clamp, "maximum": maximum, "minimum": minimum, "matmul": matmul,
    "sum": sum, "mean": mean, "max": max, "min": min, "var": var, "std": std, "logsumexp": logsumexp,
    "argmax": argmax, "argmin": argmin, "reshape": reshape, "view": view, "transpose": transpose,
    "permute": permute, "swapaxes": swapaxes, "flatten": flatten, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "broadcast_to": broadcast_to, "expand": expand, "split": split,
    "chunk": chunk, "pow": pow, "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg,
}.items():
    setattr(_Tensor, _name, _method(_fn))


def _softmax(self, dim=-1):
    from .activation import softmax

    return softmax(self, dim)


def _log_softmax(self, dim=-1):
    from .activation import log_softmax

    return log_softmax(self, dim)


_Tensor.softmax = _softmax
_Tensor.log_softmax = _log_softmax
