"""``ember.linalg``: PyTorch's ``torch.linalg``: products, norms, inverses and solves,
determinants, and the decompositions (qr, eigh, svd, cholesky), each with PyTorch's
gradients. Complex-valued functions (``eig``, ``eigvals``) and the LU family are not in
ember (it has no complex dtype)."""
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

    return write_out(y, out, "linalg_multi_dot", exact=True)


def vecdot(x, y, *, dim=-1, out=None):
    """The dot product of vectors along ``dim`` (broadcasting)."""
    from .ops.linalg import write_out
    from .ops.reduce import sum as _sum

    return write_out(_sum(x * y, dim=dim), out, "linalg_vecdot", exact=True)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of the last two dims (``torch.linalg.diagonal``)."""
    return _diagonal(A, offset, dim1, dim2)


# ----- linalg-decomp -----
from .ops.linalg_decomp import eigh, eigvalsh, qr, svd, svdvals  # noqa: E402,F401
from .ops.linalg_norms import matrix_norm, norm, vector_norm  # noqa: E402,F401
# ----- end linalg-decomp -----


# ----- linalg-solve -----
from .ops.linalg_solve import (  # noqa: E402,F401
    LinAlgError, det, inv, inv_ex, slogdet, solve, solve_ex, solve_triangular,
)
from .ops.linalg_matfn import (  # noqa: E402,F401
    cholesky, cholesky_ex, cond, lstsq, matrix_exp, matrix_power, matrix_rank, pinv,
)
# ----- end linalg-solve -----
