"""Distances: ``cdist`` between two sets of rows, ``pdist`` between the rows of one, and
``nn.functional``'s ``pairwise_distance`` and ``cosine_similarity``. Compositions of the norm
and elementwise ops (the 2-norm's gradient at zero distance is 0, as PyTorch's)."""
from . import movement as _mv
from ._util import as_tensor


def _pair(a, b):
    a = as_tensor(a)
    return a, as_tensor(b, a)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M)."""
    from .reduce import norm

    a, b = _pair(x1, x2)
    for t, name in ((a, "X1"), (b, "X2")):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t._data.ndim}D")
    if a._data.shape[-1] != b._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a._data.shape[-1]} "
                           f"X2: {b._data.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    d = _mv.unsqueeze(a, -2) - _mv.unsqueeze(b, -3)
    return norm(d, p=float(p), dim=-1)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of ``x1 - x2 + eps`` over the last dim (the inputs broadcast)."""
    from .reduce import norm

    a, b = _pair(x1, x2)
    d = a - b + eps
    if d._data.ndim == 0:
        return norm(_mv.reshape(d, (1,)), p=float(p), dim=0, keepdim=False)
    return norm(d, p=float(p), dim=-1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 * x2) / (|x1| |x2|)`` along ``dim``, each norm clamped to at least ``eps``."""
    from .pointwise import clamp_min
    from .reduce import norm, sum as _sum

    a, b = _pair(x1, x2)
    n1 = clamp_min(norm(a, p=2.0, dim=dim, keepdim=True), eps)
    n2 = clamp_min(norm(b, p=2.0, dim=dim, keepdim=True), eps)
    return _sum((a / n1) * (b / n2), dim=dim)


def pdist(input, p=2.0):
    """The p-norm distance between each pair of rows i < j of the (N, M) ``input``: a 1-D
    tensor of N(N-1)/2, in row-major order of the pairs (as ``cdist``'s upper triangle)."""
    import numpy as np

    from .reduce import norm

    a = as_tensor(input)
    if a._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {a._data.ndim}D")
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"pdist only supports floating-point dtypes, got: {a._data.dtype}")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(a._data.shape[0], 1)
    return norm(_mv.getitem(a, i) - _mv.getitem(a, j), p=float(p), dim=-1)


__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]
