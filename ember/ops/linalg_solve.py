"""``torch.linalg``'s inverses, determinants and solves, with PyTorch's gradients.

The primitives (``Inv``, ``Solve``, ``Det``, ``LogAbsDet``) run LAPACK through
NumPy. Their backwards are written with the helpers below (``_mm``, ``_mT``, ``_inv``,
``_solve``), which take arrays or Tensors: on Tensors (a recorded backward) they are the
primitives again, so every gradient can be differentiated once more. Triangular solves and
``logdet`` are compositions of them. The Cholesky family, ``matrix_exp``, ``pinv``, ``lstsq``,
``matrix_power``, ``matrix_rank`` and ``cond`` are in ``linalg_matfn.py``.
"""
import numpy as np

from .. import return_types
from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from . import movement as _mv
from ._util import as_tensor
from .matmul import matmul


class LinAlgError(RuntimeError):
    """A matrix the op cannot handle (singular, not positive-definite): ``torch.linalg.LinAlgError``."""


# ----- arrays or Tensors: the backwards' vocabulary -----


def _is_t(x):
    return isinstance(x, TensorBase)


def _mT(x):
    return _mv.swapaxes(x, -1, -2) if _is_t(x) else np.swapaxes(x, -1, -2)


def _mm(a, b):
    return matmul(a, b) if _is_t(a) or _is_t(b) else a @ b


def _inv(a):
    return Inv.apply(a) if _is_t(a) else _np_inv(a, "linalg.inv")


def _solve(a, b):
    if _is_t(a) or _is_t(b):
        a, b = as_tensor(a), as_tensor(b)
        return Solve.apply(a, b)
    return _np_solve(a, b, "linalg.solve")


def _mat(x):
    """A batch of scalars as a batch of 1x1 matrices."""
    shape = tuple(x.shape) + (1, 1)
    return _mv.reshape(x, shape) if _is_t(x) else x.reshape(shape)


# ----- checks and LAPACK's failures as PyTorch reports them -----


def _Dt(a):
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int", "int16": "Short",
            "int8": "Char", "uint8": "Byte", "float16": "Half", "bool": "Bool"}.get(a.dtype.name, a.dtype.name)


def check_square(A, name, square=True):
    """``A`` as a float Tensor of (batches of) matrices, or PyTorch's error naming ``name``."""
    A = as_tensor(A)
    a = A._data
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_Dt(a)}")
    if a.dtype == np.float16 or a.dtype.name == "bfloat16":
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {_Dt(a)}")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
                           f"{a.shape[-1]} matrices")
    return A


def _lu_info(a):
    """LAPACK getrf's ``info`` for one matrix: the 1-based index of the first zero pivot, or 0."""
    a = np.array(a, np.float64)
    n = a.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return n  # LAPACK's blocked pivots met an exact zero where this loop did not: say the last


def _per_matrix(fn, a, info_fn, fill):
    """``fn`` over each matrix of the batch ``a``; the failing ones give ``fill`` and their info."""
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    outs, infos = [], np.zeros(len(flat), np.int32)
    for i, m in enumerate(flat):
        try:
            outs.append(fn(m))
        except np.linalg.LinAlgError:
            infos[i] = info_fn(m)
            outs.append(fill(m))
    out = np.stack(outs) if outs else fn(flat)
    return out.reshape(batch + out.shape[1:]), infos.reshape(batch)


def _raise(name, info, what):
    """PyTorch's LinAlgError for the first failing batch element."""
    flat = info.reshape(-1)
    k = int(np.flatnonzero(flat)[0])
    where = f"(Batch element {k}): " if info.ndim else ""
    raise LinAlgError(f"{name}: {where}{what(int(flat[k]))}")


def _singular(i):
    return (f"The diagonal element {i} is zero, the inversion could not be completed because the input matrix "
            "is singular.")


def _nan(m):
    return np.full(m.shape, np.nan, m.dtype)


def _inv_info(a):
    try:
        return np.linalg.inv(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        return _per_matrix(np.linalg.inv, a, _lu_info, _nan)


def _np_inv(a, name, check=True):
    y, info = _inv_info(a)
    if check and info.any():
        _raise(name, info, _singular)
    return y


def _solve_info(a, b):
    try:
        return np.linalg.solve(a, b), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        ab = np.concatenate([a, b], -1)
        n = a.shape[-1]
        return _per_matrix(lambda m: np.linalg.solve(m[:, :n], m[:, n:]), ab, lambda m: _lu_info(m[:, :n]),
                           lambda m: _nan(m[:, n:]))


def _np_solve(a, b, name, check=True):
    x, info = _solve_info(a, b)
    if check and info.any():
        _raise(name, info, lambda i: "The solver failed because the input matrix is singular.")
    return x


# ----- the primitives -----


class Inv(Function):
    """A^-1; its gradient is -A^-T g A^-T."""

    dual = True

    def forward(self, a, check=True, sink=None):
        y, info = _inv_info(a)
        if sink is not None:
            sink.append(info)
        elif check and info.any():
            _raise("linalg.inv", info, _singular)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        yt = _mT(y)
        return -_mm(_mm(yt, gy), yt)


class Solve(Function):
    """X = A^-1 B for (..., n, n) and (..., n, k) of one batch shape; gB = A^-T g, gA = -gB X^T."""

    dual = True

    def forward(self, a, b, sink=None, name="linalg.solve"):
        x, info = _solve_info(a, b)
        if sink is not None:
            sink.append(info)
        elif info.any():
            _raise(name, info, lambda i: "The solver failed because the input matrix is singular.")
        self.save_for_backward(a, x if self.needs_grad(0) else None)
        return x

    def backward(self, gy):
        a, x = self.saved_tensors
        gb = _solve(_mT(a), gy)
        ga = -_mm(gb, _mT(x)) if self.needs_grad(0) else None
        return ga, gb if self.needs_grad(1) else None


def _cofactor(a):
    """The cofactor matrix of each matrix of ``a`` (det(A) A^-T where A is invertible), from the
    SVD, so that it is right for singular matrices too: adj(A) = det(U) det(V) V adj(S) U^T."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1) if n else s
    sgn = np.linalg.det(u) * np.linalg.det(vh)
    adj = (np.swapaxes(vh, -1, -2) * others[..., None, :]) @ np.swapaxes(u, -1, -2)
    return np.swapaxes(adj * sgn[..., None, None], -1, -2)


def _cofactor_t(A):
    """``_cofactor`` on a Tensor, recorded (through ``linalg.svd``): a singular A's gradient of det
    differentiated again, as PyTorch's SVD path does."""
    from ..linalg import svd
    from .joining import stack

    U, S, Vh = svd(A, full_matrices=False)
    n = S.shape[-1]
    cols = [_mv.getitem(S, (Ellipsis, j)) for j in range(n)]
    others = []
    for i in range(n):
        p = None
        for j in range(n):
            if j != i:
                p = cols[j] if p is None else p * cols[j]
        others.append(p if p is not None else from_op(np.ones(S.shape[:-1], S._data.dtype), None))
    sgn = np.linalg.det(U._data) * np.linalg.det(Vh._data)
    adj = _mm(_mT(Vh) * _mv.unsqueeze(stack(others, -1), -2), _mT(U))
    return _mT(adj) * from_op(sgn[..., None, None].astype(A._data.dtype), None)


class Det(Function):
    """det(A); its gradient is g det(A) A^-T (the cofactor matrix, also at a singular A)."""

    dual = True

    def forward(self, a):
        d = np.linalg.det(a)
        self.save_for_backward(a, d)
        return d

    def backward(self, gy):
        a, d = self.saved_tensors
        if _is_t(a):
            if _inv_info(a._data)[1].any():
                return _mat(gy) * _cofactor_t(a)
            return _mat(gy * d) * _mT(_inv(a))
        return (_mat(gy) * _cofactor(a)).astype(a.dtype, copy=False)


class LogAbsDet(Function):
    """log |det(A)|; its gradient is g A^-T."""

    dual = True

    def forward(self, a):
        self.save_for_backward(a)
        return np.linalg.slogdet(a)[1]

    def backward(self, gy):
        (a,) = self.saved_tensors
        if _is_t(a):
            return _mat(gy) * _mT(_inv(a))
        with np.errstate(divide="ignore", invalid="ignore"):  # singular: infinite, as PyTorch's
            inv_t = _cofactor(a) / _mat(np.linalg.det(a))
        return (_mat(gy) * inv_t).astype(a.dtype, copy=False)


# ----- the public functions -----


def _write(y, out, name):
    from .linalg import write_out

    return write_out(y, out, name)


def inv(A, *, out=None):
    """The inverse of each square matrix (``torch.linalg.inv``); LinAlgError if one is singular."""
    A = check_square(A, "linalg.inv")
    return _write(Inv.apply(A), out, "linalg_inv")


def inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: info is 0, or the index of LU's zero pivot (the inverse is NaN there)."""
    A = check_square(A, "linalg.inv_ex")
    sink = []
    y = Inv.apply(A, sink=sink)
    info = from_op(sink[0], None)
    if check_errors and sink[0].any():
        _raise("linalg.inv_ex", sink[0], _singular)
    if out is not None:
        y, info = _write(y, out[0], "linalg_inv_ex"), _write(info, out[1], "linalg_inv_ex")
    return return_types.linalg_inv_ex(y, info)


def det(A, *, out=None):
    """The determinant of each square matrix."""
    A = check_square(A, "linalg.det")
    return _write(Det.apply(A), out, "linalg_det")


def _signs(A):
    return np.linalg.slogdet(A._data)[0].astype(A._data.dtype, copy=False)


def slogdet(A, *, out=None):
    """``(sign, logabsdet)`` of each square matrix (``torch.linalg.slogdet``); sign is constant."""
    A = check_square(A, "linalg.slogdet")
    sign, lad = from_op(_signs(A), None), LogAbsDet.apply(A)
    if out is not None:
        sign, lad = _write(sign, out[0], "linalg_slogdet"), _write(lad, out[1], "linalg_slogdet")
    return return_types.linalg_slogdet(sign, lad)


def slogdet_top(input):
    """``torch.slogdet``: as ``linalg.slogdet``, in ``torch.return_types.slogdet``."""
    s, lad = slogdet(input)
    return return_types.slogdet(s, lad)


def logdet(input):
    """log det(A): NaN where det < 0, -inf where it is 0."""
    A = check_square(input, "logdet")
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.log(_signs(A))
    return LogAbsDet.apply(A) + from_op(shift, None)


def _solve_args(A, B, left, name):
    """A and B broadcast to one batch shape, B as matrices; and whether B was a vector."""
    A = check_square(A, name)
    B = as_tensor(B)
    a, b = A._data, B._data
    if b.dtype != a.dtype:
        raise RuntimeError(f"{name}: Expected A and B to have the same dtype, but found A of type {_Dt(a)} and "
                           f"B of type {_Dt(b)} instead")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    n = a.shape[-1]
    if vector and not left:
        if n == 1:
            raise RuntimeError(f"{name}: Vector broadcasting of the left hand side is not supported for left=False. "
                               f"In this case {name} is equivalent to B / A.squeeze(-1)")
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation XA = B ({n}x{n} and "
                           f"{b.shape[-1]}x1)")
    if vector:
        B = _mv.unsqueeze(B, -1)
    rows = B._data.shape[-2] if left else B._data.shape[-1]
    if rows != n:
        bs = B._data.shape[-2:]
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{bs[0]}x{bs[1]})")
    batch = np.broadcast_shapes(a.shape[:-2], B._data.shape[:-2])
    if a.shape[:-2] != batch:
        A = _mv.broadcast_to(A, batch + a.shape[-2:])
    if B._data.shape[:-2] != batch:
        B = _mv.broadcast_to(B, batch + B._data.shape[-2:])
    return A, B, vector


def _solve_impl(A, B, left, name, sink=None):
    A, B, vector = _solve_args(A, B, left, name)
    if left:
        X = Solve.apply(A, B, sink=sink, name="torch." + name)
    else:  # X A = B: A^T X^T = B^T
        X = _mT(Solve.apply(_mT(A), _mT(B), sink=sink, name="torch." + name))
    return _mv.squeeze(X, -1) if vector else X


def solve(A, B, *, left=True, out=None):
    """X with A X = B (``left=False``: X A = B); B may be a (batch of) vector(s)."""
    return _write(_solve_impl(A, B, left, "linalg.solve"), out, "linalg_solve")


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``(result, info)``: ``solve`` that reports a singular A in ``info`` instead of raising."""
    sink = []
    X = _solve_impl(A, B, left, "linalg.solve_ex", sink)
    if check_errors and sink[0].any():
        _raise("torch.linalg.solve_ex", sink[0], lambda i: "The solver failed because the input matrix is singular.")
    info = from_op(sink[0], None)
    if out is not None:
        X, info = _write(X, out[0], "linalg_solve_ex"), _write(info, out[1], "linalg_solve_ex")
    return return_types.linalg_solve_ex(X, info)


def _triangle(A, upper, unitriangular):
    """A's triangle (the other half is ignored, as LAPACK's trtrs does), with a unit diagonal."""
    from .linalg_diag import tril, triu

    n = A._data.shape[-1]
    if unitriangular:
        T = (triu if upper else tril)(A, 1 if upper else -1)
        return T + from_op(np.eye(n, dtype=A._data.dtype), None)
    return (triu if upper else tril)(A)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with T X = B (``left=False``: X T = B), T the upper or lower triangle of A."""
    name = "linalg.solve_triangular"
    A = check_square(A, name)
    B = as_tensor(B)
    if B._data.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor B must have at least 2 dimensions.")
    T = _triangle(A, upper, unitriangular)
    if left:
        A2, B2, _ = _solve_args(T, B, True, name)
        X = TriSolve.apply(A2, B2, upper=upper)
    else:
        A2, B2, _ = _solve_args(T, B, False, name)
        X = _mT(TriSolve.apply(_mT(A2), _mT(B2), upper=not upper))
    return _write(X, out, "linalg_solve_triangular")


def _substitute(t, b, upper):
    """Back (or forward) substitution, for the singular triangles LAPACK's solve refuses: the
    zero pivots give inf and NaN, as trtrs."""
    n = t.shape[-1]
    x = np.zeros(np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.result_type(t, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            rest = t[..., i, i + 1:, None] if upper else t[..., i, :i, None]
            done = x[..., i + 1:, :] if upper else x[..., :i, :]
            x[..., i, :] = (b[..., i, :] - (rest * done).sum(-2)) / t[..., i, i, None]
    return x


class TriSolve(Solve):
    """``Solve`` for a triangle: a zero on its diagonal gives inf/NaN, not an error."""

    def forward(self, a, b, upper=False):
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            x = _substitute(a, b, upper)
        self.save_for_backward(a, x if self.needs_grad(0) else None)
        return x


def inverse(input, *, out=None):
    """``torch.inverse``: ``linalg.inv``."""
    return inv(input, out=out)
