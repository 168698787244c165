"""ember.linalg decompositions (qr, eigh, eigvalsh, svd, svdvals, the old ember.svd/ember.qr)
and norms (vector_norm, matrix_norm, norm, ember.norm's 'nuc') against PyTorch 2.13: values,
dtypes, gradients in float32 and float64, float64 gradcheck and gradgradcheck, the errors.

A decomposition is unique only up to a gauge (the signs of eigenvectors, of singular vector
pairs, of Q's columns with R's rows), so each row returns something that does not depend on
it (the values, a reconstruction, |U|, U @ Vh, a projector), as PyTorch's own tests do; the
gradients of such functions are unique, and are compared. The eigh rows differentiate
eigh(a + a.mT): eigh reads one triangle, so only a symmetric perturbation is meaningful."""
import numpy as np
import pytest

import ember

from torch_compare import compare_with_torch
from ember.gradcheck import gradgradcheck

INF = float("inf")
ZERO = "zero"


def _sym(a):
    return a + a.mT


def _svd_rec(m, a, full):
    U, S, Vh = m.linalg.svd(a, full_matrices=full)
    k = S.shape[-1]
    return (U[..., :, :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]


def _svd_polar(m, a):
    U, S, Vh = m.linalg.svd(a, full_matrices=False)
    return U @ Vh * 2.0 + (S ** 2).sum(-1, keepdim=True).unsqueeze(-1)


def _svd_absU(m, a):
    res = m.linalg.svd(a, full_matrices=False)
    return res.U.abs() * 3.0 + res.S.unsqueeze(-2)


def _svd_absVh(m, a):
    U, S, Vh = m.linalg.svd(a)  # the rows of Vh past k = min(m, n) are any basis: not compared
    return Vh[..., :S.shape[-1], :].abs() * 3.0 + S.sum(-1, keepdim=True).unsqueeze(-1)


def _old_svd(m, a, some):
    U, S, V = m.svd(a, some=some)
    k = S.shape[-1]
    return (U[..., :, :k] * S.unsqueeze(-2)) @ V[..., :, :k].mT + U[..., :, :k].abs().sum(-1, keepdim=True)


def _qr_parts(m, a, mode="reduced"):
    Q, R = m.linalg.qr(a, mode=mode)
    return (Q @ R) + Q @ (Q.mT @ a) * 0.5 + Q.abs().sum(-1, keepdim=True) + R.abs().sum(-2, keepdim=True)[..., :1]


def _qr_R(m, a):
    return m.linalg.qr(a).R.abs() + m.linalg.qr(a).Q.abs().sum(-2, keepdim=True)[..., :, :1]


def _eigh_vecs(m, a, uplo="L"):
    L, V = m.linalg.eigh(_sym(a), UPLO=uplo)
    return V.abs() + (V * L.unsqueeze(-2)) @ V.mT


def _eigh_projector(m, a):
    res = m.linalg.eigh(_sym(a))
    v = res.eigenvectors[..., :, :1]
    return v @ v.mT * res.eigenvalues[..., :1].unsqueeze(-1)


# name, fn(lib, *inputs), input shapes, domain
CASES = [
    ("svd_S_tall", lambda m, a: m.linalg.svd(a).S, [(5, 3)], None),
    ("svd_S_wide_batched", lambda m, a: m.linalg.svd(a, full_matrices=False).S, [(2, 3, 5)], None),
    ("svd_rec_full_tall", lambda m, a: _svd_rec(m, a, True), [(5, 3)], None),
    ("svd_rec_full_wide", lambda m, a: _svd_rec(m, a, True), [(2, 3, 4)], None),
    ("svd_rec_reduced_square", lambda m, a: _svd_rec(m, a, False), [(2, 4, 4)], None),
    ("svd_polar_tall", _svd_polar, [(2, 5, 3)], None),
    ("svd_polar_wide", _svd_polar, [(3, 4)], None),
    ("svd_absU_tall", _svd_absU, [(5, 3)], None),
    ("svd_absU_wide_batched", _svd_absU, [(2, 3, 4)], None),
    ("svd_absVh_full_wide", _svd_absVh, [(3, 5)], None),
    ("svd_absVh_full_tall", _svd_absVh, [(2, 4, 3)], None),
    ("svdvals", lambda m, a: m.linalg.svdvals(a), [(2, 4, 3)], None),
    ("svd_old_some", lambda m, a: _old_svd(m, a, True), [(5, 3)], None),
    ("svd_old_full_batched", lambda m, a: _old_svd(m, a, False), [(2, 3, 4)], None),
    ("svd_old_no_uv", lambda m, a: m.svd(a, compute_uv=False).S, [(4, 3)], None),
    ("svd_method", lambda m, a: a.svd().S * 2 + a.svd().V.abs().sum(), [(3, 4)], None),
    ("qr_tall", _qr_parts, [(5, 3)], None),
    ("qr_square_batched", _qr_parts, [(2, 4, 4)], None),
    ("qr_wide", _qr_parts, [(3, 5)], None),
    ("qr_complete_square", lambda m, a: _qr_parts(m, a, mode="complete"), [(4, 4)], None),
    ("qr_complete_wide_batched", lambda m, a: _qr_parts(m, a, mode="complete"), [(2, 3, 5)], None),
    ("qr_R", _qr_R, [(2, 5, 3)], None),
    ("qr_wide_R_only", lambda m, a: m.linalg.qr(a).R.abs(), [(3, 5)], None),
    ("qr_old", lambda m, a: m.qr(a).R.abs() + m.qr(a, some=True).Q.abs().sum(), [(4, 3)], None),
    ("qr_method", lambda m, a: a.qr()[1].abs(), [(4, 4)], None),
    ("eigh_values", lambda m, a: m.linalg.eigh(_sym(a)).eigenvalues, [(4, 4)], None),
    ("eigh_vectors_batched", _eigh_vecs, [(2, 4, 4)], None),
    ("eigh_vectors_upper", lambda m, a: _eigh_vecs(m, a, "U"), [(3, 3)], None),
    ("eigh_projector", _eigh_projector, [(2, 3, 3)], None),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(_sym(a)), [(2, 4, 4)], None),
    ("eigvalsh_upper", lambda m, a: m.linalg.eigvalsh(_sym(a), UPLO="U") ** 2, [(3, 3)], None),
    # norms
    ("vector_norm_default", lambda m, a: m.linalg.vector_norm(a), [(2, 3, 4)], None),
    ("vector_norm_1_dim", lambda m, a: m.linalg.vector_norm(a, ord=1, dim=1), [(2, 3, 4)], None),
    ("vector_norm_3_dims_keep", lambda m, a: m.linalg.vector_norm(a, ord=3, dim=(0, 2), keepdim=True),
     [(2, 3, 4)], None),
    ("vector_norm_half", lambda m, a: m.linalg.vector_norm(a, 0.5, -1), [(3, 4)], None),
    ("vector_norm_neg", lambda m, a: m.linalg.vector_norm(a, ord=-1.5, dim=[0]), [(3, 4)], None),
    ("vector_norm_inf", lambda m, a: m.linalg.vector_norm(a, ord=INF, dim=-1), [(3, 4)], None),
    ("vector_norm_neginf", lambda m, a: m.linalg.vector_norm(a, ord=-INF), [(3, 4)], None),
    ("vector_norm_0", lambda m, a: m.linalg.vector_norm(a, ord=0, dim=1) + a.sum(), [(3, 4)], None),
    ("vector_norm_0d", lambda m, a: m.linalg.vector_norm(a, ord=3), [()], None),
    ("matrix_norm_fro", lambda m, a: m.linalg.matrix_norm(a), [(2, 3, 4)], None),
    ("matrix_norm_nuc", lambda m, a: m.linalg.matrix_norm(a, ord="nuc"), [(2, 3, 4)], None),
    ("matrix_norm_2", lambda m, a: m.linalg.matrix_norm(a, ord=2), [(2, 4, 3)], None),
    ("matrix_norm_neg2_dims_keep", lambda m, a: m.linalg.matrix_norm(a, ord=-2, dim=(2, 0), keepdim=True),
     [(3, 2, 4)], None),
    ("matrix_norm_1", lambda m, a: m.linalg.matrix_norm(a, ord=1), [(2, 3, 4)], None),
    ("matrix_norm_neg1_keep", lambda m, a: m.linalg.matrix_norm(a, -1, (0, 1), True), [(3, 4, 2)], None),
    ("matrix_norm_inf", lambda m, a: m.linalg.matrix_norm(a, ord=INF, dim=(-1, -2)), [(2, 3, 4)], None),
    ("matrix_norm_neginf", lambda m, a: m.linalg.matrix_norm(a, ord=-INF), [(3, 4)], None),
    ("norm_all", lambda m, a: m.linalg.norm(a), [(2, 3, 4)], None),
    ("norm_vector_ord", lambda m, a: m.linalg.norm(a, ord=3), [(5,)], None),
    ("norm_matrix_ord", lambda m, a: m.linalg.norm(a, ord=2), [(4, 3)], None),
    ("norm_matrix_nuc_dim", lambda m, a: m.linalg.norm(a, ord="nuc", dim=(0, 2)), [(3, 2, 4)], None),
    ("norm_dim_int", lambda m, a: m.linalg.norm(a, 1, dim=-1, keepdim=True), [(3, 4)], None),
    ("norm_fro_dims", lambda m, a: m.linalg.norm(a, dim=(1, 2)), [(2, 3, 4)], None),
    ("norm_inf_matrix", lambda m, a: m.linalg.norm(a, INF), [(3, 4)], None),
    ("torch_norm_nuc", lambda m, a: m.norm(a, p="nuc"), [(3, 4)], None),
    ("torch_norm_nuc_dim", lambda m, a: m.norm(a, p="nuc", dim=(0, 2), keepdim=True), [(3, 2, 4)], None),
    ("tensor_norm_nuc", lambda m, a: a.norm(p="nuc"), [(4, 3)], None),
    # at zero: PyTorch's gradient is 0 for every ord (never NaN)
    ("vector_norm_2_at_zero", lambda m, a: m.linalg.vector_norm(a, dim=-1), [(2, 3)], ZERO),
    ("vector_norm_1_at_zero", lambda m, a: m.linalg.vector_norm(a, 1), [(3,)], ZERO),
    ("vector_norm_3_at_zero", lambda m, a: m.linalg.vector_norm(a, 3, dim=0), [(3, 2)], ZERO),
    ("vector_norm_half_at_zero", lambda m, a: m.linalg.vector_norm(a, 0.5), [(3,)], ZERO),
    ("vector_norm_neg_at_zero", lambda m, a: m.linalg.vector_norm(a, -1), [(3,)], ZERO),
    ("vector_norm_inf_at_zero", lambda m, a: m.linalg.vector_norm(a, INF), [(3,)], ZERO),
    ("linalg_norm_at_zero", lambda m, a: m.linalg.norm(a), [(2, 2)], ZERO),
]


def _inputs(shapes, domain, dtype, seed=0):
    r = np.random.default_rng(seed)
    if domain == ZERO:
        return [np.zeros(s, dtype) for s in shapes]
    return [r.standard_normal(s).astype(dtype) for s in shapes]


def _fn(fn, lib):
    return lambda *xs: fn(lib, *xs)


SMOOTH = [c for c in CASES if c[3] != ZERO]


@pytest.mark.parametrize("case", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_gradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck(_fn(fn, ember), xs)


@pytest.mark.parametrize("case", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_gradgradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert gradgradcheck(_fn(fn, ember), xs)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, shapes, domain = case
    arrays = _inputs(shapes, domain, dtype, seed=1)
    compare_with_torch(torch, fn, arrays, dtype, name, tol32=dict(rtol=1e-4, atol=1e-4))


# ----- the decompositions' values, shapes, dtypes and return types -----
SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3), (2, 3, 4)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_svd_values_and_shapes(shape, dtype, torch):
    a = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for full in (True, False):
        res, ref = ember.linalg.svd(ember.tensor(a), full_matrices=full), torch.linalg.svd(torch.tensor(a),
                                                                                             full_matrices=full)
        assert type(res).__name__ == "linalg_svd" and res._fields == ("U", "S", "Vh")
        for e, t in zip(res, ref):
            assert e.dtype == dtype and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(res.S.numpy(), ref.S.numpy(), **tol)
        U, S, Vh = (x.numpy() for x in res)
        k = S.shape[-1]
        np.testing.assert_allclose((U[..., :k] * S[..., None, :]) @ Vh[..., :k, :], a, **tol)
        np.testing.assert_allclose(np.abs(U[..., :k]), np.abs(ref.U.numpy()[..., :k]), **tol)
        eye = np.eye(U.shape[-1])
        np.testing.assert_allclose(np.swapaxes(U, -1, -2) @ U, np.broadcast_to(eye, U.shape[:-2] + eye.shape), **tol)
    np.testing.assert_allclose(ember.linalg.svdvals(ember.tensor(a)).numpy(), ref.S.numpy(), **tol)


@pytest.mark.parametrize("some", [True, False])
@pytest.mark.parametrize("compute_uv", [True, False])
def test_old_svd_returns_V_and_zeros_without_uv(some, compute_uv, torch):
    a = np.random.default_rng(4).standard_normal((2, 5, 3))
    res = ember.svd(ember.tensor(a), some=some, compute_uv=compute_uv)
    ref = torch.svd(torch.tensor(a), some=some, compute_uv=compute_uv)
    assert type(res).__name__ == "svd" and res._fields == ("U", "S", "V")
    for e, t in zip(res, ref):
        assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(res.S.numpy(), ref.S.numpy(), rtol=1e-12)
    if compute_uv:
        np.testing.assert_allclose(np.abs(res.V.numpy()[..., :3]), np.abs(ref.V.numpy()[..., :3]), rtol=1e-10)
    else:
        assert not res.U.numpy().any() and not res.V.numpy().any()
    m = ember.tensor(a).svd(some=some)
    np.testing.assert_allclose(m.S.numpy(), ref.S.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_qr_values_and_shapes(shape, mode, dtype, torch):
    a = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    res, ref = ember.linalg.qr(ember.tensor(a), mode=mode), torch.linalg.qr(torch.tensor(a), mode=mode)
    assert type(res).__name__ == "linalg_qr" and res._fields == ("Q", "R")
    for e, t in zip(res, ref):
        assert e.dtype == dtype and tuple(e.shape) == tuple(t.shape)
    R = res.R.numpy()
    np.testing.assert_array_equal(R, np.triu(R))
    np.testing.assert_allclose(np.abs(R), np.abs(ref.R.numpy()), **tol)
    if mode != "r":
        np.testing.assert_allclose(res.Q.numpy() @ R, a, **tol)
        np.testing.assert_allclose(np.abs(res.Q.numpy()), np.abs(ref.Q.numpy()), **tol)


def test_old_qr(torch):
    a = np.random.default_rng(6).standard_normal((5, 3))
    for some in (True, False):
        res = ember.qr(ember.tensor(a), some=some)
        assert type(res).__name__ == "qr" and tuple(res.Q.shape) == ((5, 3) if some else (5, 5))
        np.testing.assert_allclose(res.Q.numpy() @ res.R.numpy(), a, atol=1e-12)
    assert tuple(ember.tensor(a).qr(some=False).R.shape) == (5, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh_reads_one_triangle(UPLO, dtype, torch):
    a = np.random.default_rng(7).standard_normal((2, 4, 4)).astype(dtype)  # not symmetric
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    res, ref = ember.linalg.eigh(ember.tensor(a), UPLO=UPLO), torch.linalg.eigh(torch.tensor(a), UPLO=UPLO)
    assert type(res).__name__ == "linalg_eigh" and res._fields == ("eigenvalues", "eigenvectors")
    assert res.eigenvalues.dtype == dtype and res.eigenvectors.dtype == dtype
    np.testing.assert_allclose(res.eigenvalues.numpy(), ref.eigenvalues.numpy(), **tol)
    np.testing.assert_allclose(np.abs(res.eigenvectors.numpy()), np.abs(ref.eigenvectors.numpy()), **tol)
    np.testing.assert_allclose(ember.linalg.eigvalsh(ember.tensor(a), UPLO=UPLO).numpy(),
                               ref.eigenvalues.numpy(), **tol)
    # the gradient is the symmetric one, as PyTorch's
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (ember.linalg.eigh(e, UPLO=UPLO).eigenvalues ** 3).sum().backward()
    (torch.linalg.eigh(t, UPLO=UPLO).eigenvalues ** 3).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)


def test_value_only_gradients_survive_repeated_values(torch):
    # a loss of the eigenvalues / singular values alone never divides by their gaps
    a = ember.eye(3, dtype=ember.float64, requires_grad=True)
    ember.linalg.eigvalsh(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.eye(3), atol=1e-12)
    b = ember.tensor(np.diag([2.0, 2.0, 1.0]), requires_grad=True)
    ember.linalg.svdvals(b).sum().backward()
    t = torch.tensor(np.diag([2.0, 2.0, 1.0]), requires_grad=True)
    torch.linalg.svdvals(t).sum().backward()
    assert np.isfinite(b.grad.numpy()).all()
    np.testing.assert_allclose(b.grad.numpy(), t.grad.numpy(), atol=1e-12)


def test_second_order_of_svdvals_matches_torch(torch):
    a = np.random.default_rng(8).standard_normal((4, 3))
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (ge,) = ember.autograd.grad(ember.linalg.matrix_norm(e, "nuc"), e, create_graph=True)
    (gt,) = torch.autograd.grad(torch.linalg.matrix_norm(t, "nuc"), t, create_graph=True)
    (ge ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


# ----- norms: dtypes and out= -----
def test_norm_dtypes(torch):
    x = ember.randn(3, 4)
    assert ember.linalg.vector_norm(x).dtype == ember.float32
    assert ember.linalg.vector_norm(x, 3, dtype=ember.float64).dtype == ember.float64
    assert ember.linalg.matrix_norm(x, "nuc", dtype=ember.float64).dtype == ember.float64
    assert ember.linalg.norm(x, ord=2, dtype=ember.float64).dtype == ember.float64
    assert ember.linalg.matrix_norm(x, 1).dtype == ember.float32
    y = ember.linalg.vector_norm(x, 0.5, dim=0, dtype=ember.float64)
    np.testing.assert_allclose(y.numpy(), torch.linalg.vector_norm(torch.tensor(x.numpy()), 0.5, dim=0,
                                                                   dtype=torch.float64).numpy(), rtol=1e-12)


def test_norm_out():
    x = ember.randn(3, 4)
    out = ember.empty(0)
    r = ember.linalg.vector_norm(x, dim=1, out=out)
    assert r is out and tuple(out.shape) == (3,)
    np.testing.assert_allclose(out.numpy(), np.linalg.norm(x.numpy(), axis=1), rtol=1e-6)
    out = ember.empty(0)
    ember.linalg.matrix_norm(x, "nuc", out=out)
    np.testing.assert_allclose(out.numpy(), np.linalg.norm(x.numpy(), "nuc"), rtol=1e-5)


def test_empty_vector_norms(torch):
    assert ember.linalg.vector_norm(ember.zeros(0)).item() == 0.0
    assert tuple(ember.linalg.vector_norm(ember.zeros(0, 3), INF, dim=1).shape) == (0,)
    assert tuple(ember.linalg.vector_norm(ember.zeros(0, 3), 3, dim=0).shape) == (3,)


# ----- errors: PyTorch's types and messages -----
ERRORS = [
    ("qr_vector", lambda m: m.linalg.qr(m.ones(3)), RuntimeError,
     "linalg.qr: The input tensor A must have at least 2 dimensions."),
    ("qr_mode", lambda m: m.linalg.qr(m.ones(3, 3), mode="x"), RuntimeError,
     "qr received unrecognized mode 'x' but expected one of 'reduced' \\(default\\), 'r', or 'complete'"),
    ("qr_int", lambda m: m.linalg.qr(m.ones(3, 3, dtype=m.long)), RuntimeError,
     "linalg.qr: Expected a floating point or complex tensor as input. Got Long"),
    ("eigh_not_square", lambda m: m.linalg.eigh(m.ones(3, 4)), RuntimeError,
     "linalg.eigh: A must be batches of square matrices, but they are 3 by 4 matrices"),
    ("eigh_uplo", lambda m: m.linalg.eigh(m.ones(3, 3), UPLO="X"), RuntimeError,
     "Expected UPLO argument to be 'L' or 'U', but got X"),
    ("eigvalsh_vector", lambda m: m.linalg.eigvalsh(m.ones(3)), RuntimeError,
     "linalg.eigh: The input tensor A must have at least 2 dimensions."),
    ("svd_int", lambda m: m.linalg.svd(m.ones(3, 3, dtype=m.long)), RuntimeError,
     "linalg.svd: Expected a floating point or complex tensor as input. Got Long"),
    ("svdvals_vector", lambda m: m.linalg.svdvals(m.ones(3)), RuntimeError,
     "linalg.svd: The input tensor A must have at least 2 dimensions."),
    ("vector_norm_int", lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.long)), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    ("vector_norm_str", lambda m: m.linalg.vector_norm(m.ones(3), ord="fro"), TypeError,
     "argument 'ord' must be Number, not str"),
    ("vector_norm_int_dtype", lambda m: m.linalg.vector_norm(m.ones(3), dtype=m.long), RuntimeError,
     "linalg.vector_norm: dtype should be floating point or complex, but got Long"),
    ("vector_norm_narrowing", lambda m: m.linalg.vector_norm(m.ones(3, dtype=m.float64), dtype=m.float32),
     RuntimeError, "should be convertible without narrowing to the specified dtype \\(Float\\)"),
    ("vector_norm_inf_empty", lambda m: m.linalg.vector_norm(m.zeros(0), ord=INF), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor"),
    ("vector_norm_neg_empty", lambda m: m.linalg.vector_norm(m.zeros(0), ord=-1), RuntimeError,
     "linalg.vector_norm cannot compute the -1 norm on an empty tensor"),
    ("matrix_norm_vector", lambda m: m.linalg.matrix_norm(m.ones(3)), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    ("matrix_norm_ord", lambda m: m.linalg.matrix_norm(m.ones(3, 3), ord=3), RuntimeError,
     "linalg.matrix_norm: Order 3 not supported."),
    ("matrix_norm_same_dims", lambda m: m.linalg.matrix_norm(m.ones(3, 3), dim=(0, 0)), RuntimeError,
     "linalg.matrix_norm: dims must be different. Got \\(0, 0\\)"),
    ("matrix_norm_int_dim", lambda m: m.linalg.matrix_norm(m.ones(3, 3), dim=0), TypeError, "dim"),
    ("norm_3d_ord", lambda m: m.linalg.norm(m.ones(3, 3, 3), ord=2), RuntimeError,
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    ("norm_fro_vector", lambda m: m.linalg.norm(m.ones(3), ord="fro"), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    ("norm_nuc_one_dim", lambda m: m.linalg.norm(m.ones(3, 3), ord="nuc", dim=0), RuntimeError,
     "linalg.matrix_norm: dim must be a 2-tuple. Got 0"),
    ("norm_three_dims", lambda m: m.linalg.norm(m.ones(3, 3, 3), dim=(0, 1, 2)), RuntimeError,
     "linalg.norm: If dim is specified, it must be of length 1 or 2. Got \\[0, 1, 2\\]"),
    ("torch_norm_nuc_3d", lambda m: m.norm(m.ones(2, 3, 4), p="nuc"), RuntimeError,
     "linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case, torch):
    name, fn, exc, msg = case
    with pytest.raises(exc, match=msg):
        fn(ember)
    with pytest.raises(exc, match=msg):
        fn(torch)


BACKWARD_ERRORS = [
    ("qr_r", lambda m, a: m.linalg.qr(a, mode="r").R, (4, 3),
     "The derivative of linalg.qr depends on Q, which is not computed when mode='r'"),
    ("qr_complete_tall", lambda m, a: m.linalg.qr(a, mode="complete").Q, (4, 3),
     "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."),
]


@pytest.mark.parametrize("case", BACKWARD_ERRORS, ids=[c[0] for c in BACKWARD_ERRORS])
def test_backward_errors_match_torch(case, torch):
    name, fn, shape, msg = case
    a = np.random.default_rng(9).standard_normal(shape)
    for m in (ember, torch):
        y = fn(m, m.tensor(a, requires_grad=True))
        with pytest.raises(RuntimeError, match=msg):
            y.sum().backward()


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 3)], ids=str)
@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, INF, -INF], ids=str)
def test_matrix_norms_of_empty_matrices(shape, ord, torch):
    try:
        want = torch.linalg.matrix_norm(torch.zeros(*shape), ord)
    except (RuntimeError, IndexError) as e:
        with pytest.raises(type(e), match=str(e).split(" to ")[0].replace("(", "\\(").replace(")", "\\)")):
            ember.linalg.matrix_norm(ember.zeros(*shape), ord)
        return
    got = ember.linalg.matrix_norm(ember.zeros(*shape), ord)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0)], ids=str)
def test_decompositions_of_empty_matrices(shape, torch):
    a = np.zeros(shape)
    for fn in (lambda m, x: m.linalg.svd(x), lambda m, x: m.linalg.svd(x, full_matrices=False),
               lambda m, x: m.linalg.qr(x), lambda m, x: m.linalg.qr(x, mode="complete")):
        got, want = fn(ember, ember.tensor(a)), fn(torch, torch.tensor(a))
        assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in want]
