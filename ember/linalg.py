"""``ember.linalg``: PyTorch's ``torch.linalg`` (so far the products; the decompositions are to come)."""
from .ops.linalg import chain_matmul as _chain, linalg_cross as cross  # noqa: F401
from .ops.linalg import matmul  # noqa: F401
from .ops.linalg_diag import diagonal as _diagonal


def multi_dot(tensors, *, out=None):
    """The product of the matrices, left to right (the first and last may be 1-D)."""
    from .ops.movement import reshape

    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first, last = ts[0].ndim == 1, ts[-1].ndim == 1
    if first:
        ts[0] = reshape(ts[0], (1, -1))
    if last:
        ts[-1] = reshape(ts[-1], (-1, 1))
    y = _chain(*ts)
    if first or last:
        y = reshape(y, tuple(n for n, drop in zip(y.shape, (first, last)) if not drop))
    from .ops.linalg import write_out

    return write_out(y, out, "linalg_multi_dot")


def vecdot(x, y, *, dim=-1):
    """The dot product of vectors along ``dim`` (broadcasting)."""
    from .ops.reduce import sum as _sum

    return _sum(x * y, dim=dim)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of the last two dims (``torch.linalg.diagonal``)."""
    return _diagonal(A, offset, dim1, dim2)
