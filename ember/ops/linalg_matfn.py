"""``torch.linalg``'s Cholesky family and matrix functions: ``cholesky(_ex)``, ``cholesky_solve``,
``cholesky_inverse``, ``matrix_exp``, ``matrix_power``, ``pinv``, ``lstsq``, ``matrix_rank``, ``cond``.

``Cholesky`` has PyTorch's gradient (below); ``cholesky_solve`` and ``cholesky_inverse`` are
triangular solves.

``MatrixExp`` (scaling and squaring with the [13/13] Pade approximant, Higham 2005) has the
block-matrix gradient: the upper-right block of exp([[A^T, G], [0, A^T]]), itself a
``matrix_exp``, so it differentiates to any order. ``Pinv`` has the Golub-Pereyra gradient of
the pseudo-inverse (constant rank), written with ``linalg_solve``'s array-or-Tensor helpers.
``lstsq``'s solution is pinv(A) B; the rest are compositions or constants.
"""
import numpy as np

from .. import return_types
from ..autograd import Function
from .._tensor_base import from_op
from . import movement as _mv
from ._util import array_of, as_tensor
from .linalg_solve import (
    _is_t, _mm, _mT, _per_matrix, _raise, _solve, _write, check_square, inv, solve_triangular,
)

# ----- Cholesky -----


def _chol_info(a):
    """potrf's ``info`` for one matrix: the order of the first leading minor not positive-definite."""
    for k in range(1, a.shape[0] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return a.shape[0]


def _not_pd(i):
    return ("The factorization could not be completed because the input is not positive-definite "
            f"(the leading minor of order {i} is not positive-definite).")


class Cholesky(Function):
    """L with A = L L^T, from A's lower triangle. PyTorch's gradient: with P = tril(L^T gL) with
    its diagonal halved, gA = L^-T P L^-1, symmetrized."""

    dual = True

    def forward(self, a, sink=None, name="linalg.cholesky"):
        try:
            y, info = np.linalg.cholesky(a), np.zeros(a.shape[:-2], np.int32)
        except np.linalg.LinAlgError:
            y, info = _per_matrix(np.linalg.cholesky, a, _chol_info, lambda m: np.tril(m))
        if sink is not None:
            sink.append(info)
        elif info.any():
            _raise(name, info, _not_pd)
        self.save_for_backward(y)
        return y

    def backward(self, gl):
        (L,) = self.saved_tensors
        n = L.shape[-1]
        dt = L.dtype if not _is_t(L) else L._data.dtype
        phi = np.tril(np.ones((n, n), dt), -1) + np.eye(n, dtype=dt) * dt.type(0.5)
        p = _mm(_mT(L), gl) * phi
        x = _solve(_mT(L), p)  # L^-T P
        ga = _mT(_solve(_mT(L), _mT(x)))  # L^-T P L^-1
        return (ga + _mT(ga)) * 0.5


def cholesky(A, *, upper=False, out=None):
    """The Cholesky factor of each symmetric positive-definite matrix: L (or ``upper``: U = L^T),
    from A's lower (upper) triangle."""
    A = check_square(A, "linalg.cholesky")
    y = _mT(Cholesky.apply(_mT(A))) if upper else Cholesky.apply(A)
    return _write(y, out, "linalg_cholesky")


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: info is 0, or the order of the first leading minor that is not positive-definite."""
    name = "linalg.cholesky_ex"
    A = check_square(A, name)
    sink = []
    y = _mT(Cholesky.apply(_mT(A), sink=sink)) if upper else Cholesky.apply(A, sink=sink)
    if check_errors and sink[0].any():
        _raise(name, sink[0], _not_pd)
    info = from_op(sink[0], None)
    if out is not None:
        y, info = _write(y, out[0], "linalg_cholesky_ex"), _write(info, out[1], "linalg_cholesky_ex")
    return return_types.linalg_cholesky_ex(y, info)


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B, given A's Cholesky factor L (``upper``: U, A = U^T U)."""
    L = check_square(L, "cholesky_solve")
    B = as_tensor(B)
    if B._data.ndim < 2:
        raise RuntimeError("b should have at least 2 dimensions, but has "
                           f"{B._data.ndim} dimensions instead")
    n = L._data.shape[-1]
    if B._data.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {n} by {n} but each b "
                           f"matrix is {B._data.shape[-2]} by {B._data.shape[-1]}")
    if upper:  # A = U^T U: U^T Y = B, then U X = Y
        Y = solve_triangular(_mT(L), B, upper=False)
        X = solve_triangular(L, Y, upper=True)
    else:  # A = L L^T
        Y = solve_triangular(L, B, upper=False)
        X = solve_triangular(_mT(L), Y, upper=True)
    return _write(X, out, "cholesky_solve")


def cholesky_inverse(L, upper=False, *, out=None):
    """A^-1 from A's Cholesky factor L (``upper``: U)."""
    L = check_square(L, "cholesky_inverse")
    n = L._data.shape[-1]
    eye = from_op(np.eye(n, dtype=L._data.dtype), None)
    return _write(cholesky_solve(eye, L, upper), out, "cholesky_inverse")


# ----- the matrix exponential and powers -----

_B13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
        10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of each matrix of ``a``, computed in float64 and returned in a's dtype."""
    dt, a = a.dtype, a.astype(np.float64)
    n = a.shape[-1]
    if n == 0 or a.size == 0:
        return a.astype(dt)
    norm = np.abs(a).sum(axis=-2).max(axis=-1)  # the 1-norm of each matrix
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.ceil(np.log2(norm / _THETA13))
    s = np.where(np.isfinite(s) & (s > 0), s, 0).astype(np.int64)
    a = a / np.exp2(s)[..., None, None]
    b, eye = _B13, np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    try:
        r = np.linalg.solve(v - u, v + u)
    except np.linalg.LinAlgError:  # a NaN or inf entry: NaN, as PyTorch gives
        r = np.full(a.shape, np.nan)
    for k in range(int(s.max(initial=0))):
        r = np.where((s > k)[..., None, None], r @ r, r)
    return r.astype(dt)


class MatrixExp(Function):
    """exp(A); gA = the upper-right block of exp([[A^T, G], [0, A^T]])."""

    dual = True

    def forward(self, a):
        self.save_for_backward(a)
        return _expm(a)

    def backward(self, gy):
        (a,) = self.saved_tensors
        n = a.shape[-1]
        at = _mT(a)
        if _is_t(a):
            from .joining import concatenate

            zero = from_op(np.zeros(tuple(gy.shape), a._data.dtype), None)
            big = concatenate([concatenate([at, gy], -1), concatenate([zero, at], -1)], -2)
            return _mv.getitem(matrix_exp(big), (Ellipsis, slice(0, n), slice(n, None)))
        big = np.concatenate([np.concatenate([at, gy], -1), np.concatenate([np.zeros_like(gy), at], -1)], -2)
        return _expm(big)[..., :n, n:]


def matrix_exp(A):
    """The matrix exponential of each square matrix."""
    A = check_square(A, "linalg.matrix_exp")
    return MatrixExp.apply(A)


def _identity_like(A):
    a = A._data
    return from_op(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy(), None)


def matrix_power(A, n, *, out=None):
    """A to the integer power n (n < 0: the inverse's power), by repeated squaring."""
    A = as_tensor(A)
    name = "linalg.matrix_power"
    if A._data.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if A._data.shape[-1] != A._data.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {A._data.shape[-2]} by "
                           f"{A._data.shape[-1]} matrices")
    if n == 0:
        return _write(_identity_like(A), out, "linalg_matrix_power")
    if n < 0:
        A, n = inv(check_square(A, name)), -n
    y, p = None, A
    while n:
        if n & 1:
            y = p if y is None else _mm(y, p)
        n >>= 1
        if n:
            p = _mm(p, p)
    if y is A:
        y = _mv.clone(A)
    return _write(y, out, "linalg_matrix_power")


# ----- the pseudo-inverse and least squares -----


def _tolerances(a, atol, rtol, smax):
    """max(atol, rtol * smax) per matrix, PyTorch's defaults: rtol = eps * max(m, n) when neither
    is given, 0 when only a positive atol is."""
    at = 0.0 if atol is None else np.asarray(array_of(atol), np.float64)
    if rtol is None:
        eps = np.finfo(a.dtype).eps * max(a.shape[-2:])
        rt = eps if atol is None or np.all(at <= 0) else 0.0
    else:
        rt = np.asarray(array_of(rtol), np.float64)
    return np.maximum(at, rt * smax)


def _pinv_array(a, atol, rtol, hermitian):
    if hermitian:
        w, v = np.linalg.eigh(a)
        tol = _tolerances(a, atol, rtol, np.abs(w).max(-1, initial=0.0))
        keep = np.abs(w) > tol[..., None]
        winv = np.where(keep, 1 / np.where(keep, w, 1), 0).astype(a.dtype)
        return (v * winv[..., None, :]) @ np.swapaxes(v, -1, -2)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    tol = _tolerances(a, atol, rtol, s.max(-1, initial=0.0))
    keep = s > tol[..., None]
    sinv = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(a.dtype)
    return (np.swapaxes(vh, -1, -2) * sinv[..., None, :]) @ np.swapaxes(u, -1, -2)


class Pinv(Function):
    """A^+; gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A) (rank held fixed)."""

    dual = True

    def forward(self, a, atol=None, rtol=None, hermitian=False):
        p = _pinv_array(a, atol, rtol, hermitian)
        self.save_for_backward(a, p)
        return p

    def backward(self, gy):
        a, p = self.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        dt = a._data.dtype if _is_t(a) else a.dtype
        pt, gt = _mT(p), _mT(gy)
        left = -_mm(a, p) + np.eye(m, dtype=dt)  # I - A P
        right = -_mm(p, a) + np.eye(n, dtype=dt)  # I - P A
        return -_mm(_mm(pt, gy), pt) + _mm(_mm(left, gt), _mm(p, pt)) + _mm(_mm(pt, p), _mm(gt, right))


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The pseudo-inverse of each matrix; singular values at or below max(atol, rtol * s_max) count as 0."""
    A = check_square(A, "linalg.pinv", square=False)
    return _write(Pinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian), out, "linalg_pinv")


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B, as ``(solution, residuals, rank, singular_values)``.

    The solution is pinv(A) B (the minimum-norm solution, as 'gelsy', 'gelsd' and 'gelss' give;
    singular values at or below ``rcond`` times the largest count as 0), differentiable in A and
    B. As PyTorch on CPU: the rank is empty for 'gels'; the singular values are given by 'gelsd'
    and 'gelss' only; the residuals (squared norms of B - A X per column) when m > n, A has full
    rank and the driver is not 'gelsy'."""
    name = "torch.linalg.lstsq"
    A = check_square(A, name, square=False)
    B = as_tensor(B)
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise RuntimeError(f"{name}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    a, b = A._data, B._data
    if b.dtype != a.dtype:
        raise RuntimeError(f"{name}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{a.dtype} and other's dtype {b.dtype}")
    if not (a.ndim >= b.ndim and a.ndim - b.ndim <= 1):
        raise RuntimeError(f"{name}: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = a.ndim == b.ndim + 1
    if vector:
        B = _mv.unsqueeze(B, -1)
    if B._data.shape[-2] != a.shape[-2]:
        raise RuntimeError(f"{name}: input.size(-2) should match other.size(-2)")
    m, n = a.shape[-2:]
    rtol = (np.finfo(a.dtype).eps * max(m, n)) if rcond is None or rcond < 0 else rcond
    X = _mm(Pinv.apply(A, atol=None, rtol=rtol), B)
    s = np.linalg.svd(a, compute_uv=False)
    rank = (s > rtol * s.max(-1, initial=0.0)[..., None]).sum(-1).astype(np.int64)
    empty = np.zeros((0,), a.dtype)
    sv = s.astype(a.dtype) if driver in ("gelsd", "gelss") else empty
    res = empty
    if m > n and driver != "gelsy" and np.all(rank == n):
        r = B._data - a @ X._data
        res = (r * r).sum(-2)
    rank_t = np.zeros((0,), np.int64) if driver == "gels" else rank
    if vector:
        X = _mv.squeeze(X, -1)
    return return_types.linalg_lstsq(X, from_op(res, None), from_op(rank_t, None), from_op(sv, None))


# ----- rank and condition number -----


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The number of singular values above max(atol, rtol * s_max) (``tol`` is atol)."""
    A = check_square(A, "linalg.matrix_rank", square=False)
    a = A._data
    if tol is not None:
        atol = tol
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    thr = _tolerances(a, atol, rtol, s.max(-1, initial=0.0))
    r = from_op((s > np.asarray(thr)[..., None]).sum(-1).astype(np.int64), None)
    return _write(r, out, "linalg_matrix_rank")


def _svdvals(A):
    try:
        from ..linalg import svdvals
    except ImportError:  # no differentiable svdvals: the values only
        return from_op(np.linalg.svd(A._data, compute_uv=False), None)
    return svdvals(A)


def _matrix_norm(A, p):
    from . import elementwise as _ew
    from . import reduce as _rd

    if p == "fro":
        return _ew.sqrt(_rd.sum(A * A, dim=(-2, -1)))
    if p == "nuc":
        return _rd.sum(_svdvals(A), dim=-1)
    absA = _ew.abs(A)
    if p in (1, -1):
        col = _rd.sum(absA, dim=-2)
        return _rd.amax(col, dim=-1) if p == 1 else _rd.amin(col, dim=-1)
    row = _rd.sum(absA, dim=-1)
    return _rd.amax(row, dim=-1) if p > 0 else _rd.amin(row, dim=-1)


def cond(A, p=None, *, out=None):
    """The condition number of each matrix in the norm ``p`` (None or 2: s_max / s_min, -2: its
    inverse; 'fro', 'nuc', inf, -inf, 1, -1: norm(A) norm(A^-1), inf for a singular A)."""
    from . import elementwise as _ew
    from .linalg_solve import _inv_info

    name = "linalg.cond"
    inf = float("inf")
    if p not in (None, 2, -2, "fro", "nuc", inf, -inf, 1, -1):
        raise RuntimeError(f"{name} got an invalid norm type: {p}")
    A = check_square(A, name, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = _svdvals(A)
        smax, smin = _mv.getitem(s, (Ellipsis, 0)), _mv.getitem(s, (Ellipsis, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            y = smax / smin if p != -2 else smin / smax
        return _write(y, out, "linalg_cond")
    info = _inv_info(A._data)[1]
    if not info.any():
        return _write(_matrix_norm(A, p) * _matrix_norm(inv(A), p), out, "linalg_cond")
    # singular matrices give inf; the others' values are still computed
    ok = info == 0
    n = A._data.shape[-1]
    safe = from_op(np.where(ok[..., None, None], A._data, np.eye(n, dtype=A._data.dtype)), None)
    y = _matrix_norm(A, p) * _matrix_norm(inv(safe), p)
    return _write(_ew.where(ok, y, from_op(np.asarray(np.inf, A._data.dtype), None)), out, "linalg_cond")
