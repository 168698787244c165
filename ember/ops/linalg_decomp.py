"""``ember.linalg`` decompositions: qr, eigh, eigvalsh, svd, svdvals (and the old ``ember.svd``
and ``ember.qr``). The norms are in ``linalg_norms.py``.

Each decomposition is one node with several outputs, written in PyTorch's custom-Function
protocol (static ``forward``/``backward``): forward runs LAPACK through NumPy, backward is
written with ember's ops on Tensors, so with ``create_graph=True`` the same lines are recorded
and differentiate again (through the decomposition's own outputs). The gradients are
PyTorch's: an output that got no gradient is None and drops out of the formula, so a loss of
the eigenvalues or singular values alone never divides by their gaps.
"""
import numpy as np

from ..autograd import Function
from .._tensor_base import from_op
from .. import return_types
from . import movement as _mv
from ._util import as_tensor, write_outs
from .linalg_diag import diag_embed as _diag_embed, tril as _tril
from .matmul import matmul as _mm

_TYPE = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
         "float16": "Half"}


def _check(A, name, square=False):
    """A as a Tensor of floats with at least 2 dims (square ones when ``square``)."""
    A = as_tensor(A)
    a = A._data
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_TYPE.get(a.dtype.name, a.dtype.name)}")
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    return A


def _mT(t):
    return _mv.swapaxes(t, -1, -2)


def _const(a):
    return from_op(np.ascontiguousarray(a), None)


def _eye(n, dtype):
    return _const(np.eye(n, dtype=dtype))


class Inv(Function):
    """The inverse of (a batch of) square matrices; the gradient -Y^T g Y^T."""

    dual = True

    def forward(self, a):
        y = np.linalg.inv(a)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        xp = self.xp
        yt = xp.swapaxes(y, -1, -2)
        return -xp.matmul(xp.matmul(yt, gy), yt)


def _copyltu(M):
    """The symmetric matrix whose lower triangle (diagonal included) is M's."""
    low = _tril(M, -1)
    return low + _mT(low) + M * _eye(M.shape[-1], M._data.dtype)


def _qr_square_grad(Q, R, gQ, gR):
    """dL/dA for A = QR with R square (m >= n reduced): (gQ + Q copyltu(M)) R^-T,
    M = R gR^T - gQ^T Q."""
    M = None
    if gR is not None:
        M = _mm(R, _mT(gR))
    if gQ is not None:
        t = _mm(_mT(gQ), Q)
        M = -t if M is None else M - t
    b = _mm(Q, _copyltu(M))
    if gQ is not None:
        b = gQ + b
    return _mm(b, _mT(Inv.apply(R)))


class QR(Function):
    """Q, R = qr(A) (mode 'reduced', 'complete' or 'r'), one node with two outputs."""

    @staticmethod
    def forward(ctx, A, mode):
        a = A._data
        if mode == "r":
            r = np.linalg.qr(a, mode="r")
            q = np.zeros((0,), a.dtype)
        else:
            q, r = np.linalg.qr(a, mode=mode)
        Q, R = _const(q.astype(a.dtype, copy=False)), _const(r.astype(a.dtype, copy=False))
        ctx.mode, ctx.m, ctx.n = mode, a.shape[-2], a.shape[-1]
        ctx.set_materialize_grads(False)
        if mode == "r":
            ctx.mark_non_differentiable(Q)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                               "through linalg.qr.")
        m, n = ctx.m, ctx.n
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        Q, R = ctx.saved_tensors
        if gQ is None and gR is None:
            return None, None
        if m >= n:
            return _qr_square_grad(Q, R, gQ, gR), None
        # A = [X | Y] with X = Q U square, Y = Q V: Y's gradient is Q gV; X sees gQ + Y gV^T
        U, V = R[..., :, :m], R[..., :, m:]
        gU = gV = None
        if gR is not None:
            gU, gV = gR[..., :, :m], gR[..., :, m:]
        if gV is not None:
            Y = _mm(Q, V)
            gQ = _mm(Y, _mT(gV)) if gQ is None else gQ + _mm(Y, _mT(gV))
        gX = _qr_square_grad(Q, U, gQ, gU)
        if gV is not None:
            gY = _mm(Q, gV)
        else:
            gY = _const(np.zeros(Q._data.shape[:-1] + V._data.shape[-1:], Q._data.dtype))
        return _mv.concatenate([gX, gY], -1), None


def qr(A, mode="reduced", *, out=None):
    """``linalg_qr(Q, R)``: A = QR, Q with orthonormal columns, R upper triangular.
    ``mode``: 'reduced' (Q is m x k, k = min(m, n)), 'complete' (Q is m x m) or 'r' (R only;
    Q empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    A = _check(A, "linalg.qr")
    res = return_types.linalg_qr(*QR.apply(A, mode))
    return res if out is None else write_outs(res, out, "linalg_qr")


class Eigh(Function):
    """L, V = eigh(A) for symmetric A read from one triangle; one node with two outputs."""

    @staticmethod
    def forward(ctx, A, uplo):
        a = A._data
        w, v = np.linalg.eigh(a, UPLO=uplo)
        L, V = _const(w.astype(a.dtype, copy=False)), _const(v.astype(a.dtype, copy=False))
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        # gA = V (diag(gL) + F o skew(V^T gV)) V^T, F_ij = 1 / (L_j - L_i) off the diagonal
        L, V = ctx.saved_tensors
        if gL is None and gV is None:
            return None, None
        Vt = _mT(V)
        inner = None
        if gV is not None:
            X = _mm(Vt, gV)
            skew = (X - _mT(X)) * 0.5
            E = _mv.unsqueeze(L, -2) - _mv.unsqueeze(L, -1) + _eye(L.shape[-1], L._data.dtype)
            inner = skew / E
        if gL is not None:
            d = _diag_embed(gL)
            inner = d if inner is None else inner + d
        return _mm(_mm(V, inner), Vt), None


def _uplo(UPLO):
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO.upper()


def eigh(A, UPLO="L", *, out=None):
    """``linalg_eigh(eigenvalues, eigenvectors)`` of a symmetric matrix (batch), the values
    ascending, read from the lower (``UPLO='L'``) or upper triangle. The eigenvectors are
    defined up to sign: differentiate only losses that do not depend on it."""
    uplo = _uplo(UPLO)
    A = _check(A, "linalg.eigh", square=True)
    res = return_types.linalg_eigh(*Eigh.apply(A, uplo))
    return res if out is None else write_outs(res, out, "linalg_eigh")


def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues of a symmetric matrix (batch), ascending."""
    uplo = _uplo(UPLO)
    A = _check(A, "linalg.eigh", square=True)
    y = Eigh.apply(A, uplo)[0]
    from ._util import write_out

    return write_out(y, out, "linalg_eigvalsh")


class SVD(Function):
    """U, S, Vh = svd(A); one node with three outputs."""

    @staticmethod
    def forward(ctx, A, full):
        a = A._data
        u, s, vh = np.linalg.svd(a, full_matrices=full)
        U, S, Vh = (_const(x.astype(a.dtype, copy=False)) for x in (u, s, vh))
        ctx.full = full
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        k = S.shape[-1]
        m, n = U.shape[-2], Vh.shape[-1]
        if ctx.full:  # as PyTorch: only the first k columns of U and rows of Vh count
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = None if gU is None else gU[..., :, :k]
            gVh = None if gVh is None else gVh[..., :k, :]
        if gU is None and gVh is None:
            if gS is None:
                return None, None
            return _mm(U, _mv.unsqueeze(gS, -1) * Vh), None
        # inner = (skew(U^T gU) S_j + S_i skew(Vh gVh^T)) / (S_j^2 - S_i^2) + diag(gS)
        S2 = S * S
        E = _mv.unsqueeze(S2, -2) - _mv.unsqueeze(S2, -1) + _eye(k, S._data.dtype)
        num = None
        if gU is not None:
            J = _mm(_mT(U), gU)
            num = (J - _mT(J)) * _mv.unsqueeze(S, -2)
        if gVh is not None:
            K = _mm(Vh, _mT(gVh))
            t = _mv.unsqueeze(S, -1) * (K - _mT(K))
            num = t if num is None else num + t
        inner = num / E
        if gS is not None:
            inner = inner + _diag_embed(gS)
        if m > n and gU is not None:  # gA = [U inner + (I - U U^T) gU S^-1] Vh
            gUS = gU / _mv.unsqueeze(S, -2)
            gA = _mm(U, inner) + gUS - _mm(U, _mm(_mT(U), gUS))
            return _mm(gA, Vh), None
        if m < n and gVh is not None:  # gA = U [inner Vh + S^-1 gVh (I - V Vh)]
            SgVh = gVh / _mv.unsqueeze(S, -1)
            gA = _mm(inner, Vh) + SgVh - _mm(_mm(SgVh, _mT(Vh)), Vh)
            return _mm(U, gA), None
        return _mm(_mm(U, inner), Vh), None


def svd(A, full_matrices=True, *, driver=None, out=None):
    """``linalg_svd(U, S, Vh)``: A = U diag(S) Vh, S descending. ``full_matrices=False`` gives
    the reduced U (m x k) and Vh (k x n). U and Vh are defined up to the signs of their
    column/row pairs: differentiate only losses that do not depend on them."""
    A = _check(A, "linalg.svd")
    res = return_types.linalg_svd(*SVD.apply(A, bool(full_matrices)))
    return res if out is None else write_outs(res, out, "linalg_svd")


def svdvals(A, *, driver=None, out=None):
    """The singular values of A (a batch), descending."""
    A = _check(A, "linalg.svd")
    y = SVD.apply(A, False)[1]
    from ._util import write_out

    return write_out(y, out, "linalg_svdvals")


def svd_old(input, some=True, compute_uv=True, *, out=None):
    """``ember.svd`` (PyTorch's older API): ``svd(U, S, V)`` with V, not Vh; ``some=False``
    gives the full U and V; ``compute_uv=False`` gives zero-filled U (m x m) and V (n x n)."""
    A = _check(input, "linalg.svd")
    a = A._data
    if not compute_uv:
        m, n = a.shape[-2:]
        z = lambda k: _const(np.zeros(a.shape[:-2] + (k, k), a.dtype))  # noqa: E731
        res = return_types.svd(z(m), svdvals(A), z(n))
    else:
        U, S, Vh = SVD.apply(A, not some)
        res = return_types.svd(U, S, _mT(Vh))
    return res if out is None else write_outs(res, out, "svd")


def qr_old(input, some=True, *, out=None):
    """``ember.qr`` (PyTorch's older API): ``qr(Q, R)``, reduced when ``some``, else complete."""
    Q, R = qr(input, "reduced" if some else "complete")
    res = return_types.qr(Q, R)
    return res if out is None else write_outs(res, out, "qr")
