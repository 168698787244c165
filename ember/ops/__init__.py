"""Differentiable primitives, by family. ``ember/_tensor.py`` makes each a Tensor method where
PyTorch has one."""
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
