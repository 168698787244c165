"""Inverses, determinants, solves, Cholesky and the matrix functions (ops/linalg_solve.py,
ops/linalg_matfn.py) against PyTorch 2.13: values, dtypes and gradients in float32 and float64
(batched inputs), float64 gradcheck and gradgradcheck, the non-differentiable outputs (signs,
ranks, info), and the errors, message for message. Each row's function takes the library
(``ember`` or ``torch``) first, so one lambda runs on both."""
import numpy as np
import pytest

import ember

from torch_compare import compare_with_torch
from ember.gradcheck import gradgradcheck

WC = "well-conditioned"  # square inputs get 3 I added: far from singular
INF = float("inf")


def _spd(m, a):
    """A symmetric positive-definite matrix built from ``a`` (differentiable in both libraries)."""
    n = a.shape[-1]
    return a @ a.mT + n * m.eye(n, dtype=a.dtype)


def _lower(m, a):
    return m.tril(a)


# name, fn(lib, *inputs), input shapes, domain
CASES = [
    ("inv", lambda m, a: m.linalg.inv(a), [(4, 4)], WC),
    ("inv_batched", lambda m, a: m.linalg.inv(a), [(2, 3, 3, 3)], WC),
    ("inverse", lambda m, a: m.inverse(a), [(3, 3)], WC),
    ("inverse_method", lambda m, a: a.inverse(), [(2, 3, 3)], WC),
    ("inv_ex", lambda m, a: m.linalg.inv_ex(a).inverse, [(2, 3, 3)], WC),
    ("det", lambda m, a: m.linalg.det(a), [(4, 4)], WC),
    ("det_batched", lambda m, a: m.linalg.det(a), [(2, 3, 3, 3)], None),
    ("det_top", lambda m, a: m.det(a), [(3, 3)], None),
    ("det_method", lambda m, a: a.det(), [(2, 2, 2)], WC),
    ("slogdet", lambda m, a: m.linalg.slogdet(a).logabsdet, [(2, 4, 4)], None),
    ("slogdet_top", lambda m, a: m.slogdet(a)[1], [(3, 3)], WC),
    ("slogdet_method", lambda m, a: a.slogdet().logabsdet, [(3, 3)], None),
    ("logdet", lambda m, a: m.logdet(_spd(m, a)), [(2, 3, 3)], None),
    ("logdet_method", lambda m, a: _spd(m, a).logdet(), [(3, 3)], None),
    ("solve", lambda m, a, b: m.linalg.solve(a, b), [(3, 3), (3, 2)], WC),
    ("solve_vector", lambda m, a, b: m.linalg.solve(a, b), [(4, 4), (4,)], WC),
    ("solve_batch_vectors", lambda m, a, b: m.linalg.solve(a, b), [(2, 3, 3), (2, 3)], WC),
    ("solve_bcast", lambda m, a, b: m.linalg.solve(a, b), [(3, 3), (2, 3, 4)], WC),
    ("solve_bcast_a", lambda m, a, b: m.linalg.solve(a, b), [(2, 1, 3, 3), (4, 3, 1)], WC),
    ("solve_right", lambda m, a, b: m.linalg.solve(a, b, left=False), [(2, 3, 3), (2, 4, 3)], WC),
    ("solve_ex", lambda m, a, b: m.linalg.solve_ex(a, b).result, [(3, 3), (3, 2)], WC),
    ("solve_triangular_upper", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), [(3, 3), (3, 2)], WC),
    ("solve_triangular_lower_batched", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False),
     [(2, 4, 4), (2, 4, 3)], WC),
    ("solve_triangular_right", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True, left=False),
     [(3, 3), (2, 3)], WC),
    ("solve_triangular_unit", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
     [(3, 3), (3, 2)], None),
    ("solve_triangular_bcast", lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), [(3, 3), (2, 3, 1)], WC),
    ("cholesky", lambda m, a: m.linalg.cholesky(_spd(m, a)), [(4, 4)], None),
    ("cholesky_batched_upper", lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), [(2, 3, 3)], None),
    ("cholesky_ex", lambda m, a: m.linalg.cholesky_ex(_spd(m, a)).L, [(2, 3, 3)], None),
    ("cholesky_solve", lambda m, b, a: m.cholesky_solve(b, _lower(m, a)), [(3, 2), (3, 3)], WC),
    ("cholesky_solve_upper_bcast", lambda m, b, a: m.cholesky_solve(b, m.triu(a), upper=True),
     [(2, 3, 2), (3, 3)], WC),
    ("cholesky_solve_method", lambda m, b, a: b.cholesky_solve(_lower(m, a)), [(3, 1), (3, 3)], WC),
    ("cholesky_inverse", lambda m, a: m.cholesky_inverse(_lower(m, a)), [(3, 3)], WC),
    ("cholesky_inverse_upper", lambda m, a: m.cholesky_inverse(m.triu(a), upper=True), [(3, 3)], WC),
    ("cholesky_inverse_method", lambda m, a: _lower(m, a).cholesky_inverse(), [(3, 3)], WC),
    ("matrix_power_3", lambda m, a: m.linalg.matrix_power(a, 3), [(2, 3, 3)], None),
    ("matrix_power_1", lambda m, a: m.linalg.matrix_power(a, 1), [(3, 3)], None),
    ("matrix_power_neg", lambda m, a: m.linalg.matrix_power(a, -2), [(2, 3, 3)], WC),
    ("matrix_power_top", lambda m, a: m.matrix_power(a, 5), [(3, 3)], None),
    ("matrix_power_method", lambda m, a: a.matrix_power(2), [(3, 3)], None),
    ("matrix_exp", lambda m, a: m.linalg.matrix_exp(a), [(3, 3)], None),
    ("matrix_exp_batched", lambda m, a: m.linalg.matrix_exp(a), [(2, 2, 4, 4)], None),
    ("matrix_exp_scaled", lambda m, a: m.linalg.matrix_exp(a * 4.0), [(3, 3)], None),
    ("matrix_exp_top", lambda m, a: m.matrix_exp(a), [(2, 2)], None),
    ("matrix_exp_method", lambda m, a: a.matrix_exp(), [(3, 3)], None),
    ("pinv_tall", lambda m, a: m.linalg.pinv(a), [(4, 3)], None),
    ("pinv_wide_batched", lambda m, a: m.linalg.pinv(a), [(2, 2, 4)], None),
    ("pinv_square", lambda m, a: m.linalg.pinv(a), [(3, 3)], WC),
    ("pinv_hermitian", lambda m, a: m.linalg.pinv(a + a.mT, hermitian=True), [(3, 3)], WC),
    ("pinv_rtol", lambda m, a: m.linalg.pinv(a, rtol=1e-3), [(3, 4)], None),
    ("pinv_atol", lambda m, a: m.linalg.pinv(a, atol=1e-3), [(4, 2)], None),
    ("pinverse", lambda m, a: m.pinverse(a), [(3, 2)], None),
    ("pinverse_method", lambda m, a: a.pinverse(), [(2, 3)], None),
    ("lstsq_tall", lambda m, a, b: m.linalg.lstsq(a, b).solution, [(5, 3), (5, 2)], None),
    ("lstsq_wide", lambda m, a, b: m.linalg.lstsq(a, b).solution, [(2, 4), (2, 3)], None),
    ("lstsq_vector", lambda m, a, b: m.linalg.lstsq(a, b)[0], [(4, 2), (4,)], None),
    ("lstsq_batched_gelsd", lambda m, a, b: m.linalg.lstsq(a, b, driver="gelsd").solution, [(2, 4, 3), (2, 4, 2)],
     None),
    ("cond", lambda m, a: m.linalg.cond(a), [(3, 3)], WC),
    ("cond_minus_two", lambda m, a: m.linalg.cond(a, p=-2), [(3, 3)], WC),
    ("cond_nuc", lambda m, a: m.linalg.cond(a, "nuc"), [(3, 3)], WC),
]

# PyTorch 2.13's backward of cond with these norms fails ("modified by an inplace operation"):
# their values are compared with PyTorch's below, their gradients by gradcheck only
COND_NORMS = [
    ("cond_fro_batched", lambda m, a: m.linalg.cond(a, "fro"), [(2, 3, 3)], WC),
    ("cond_inf", lambda m, a: m.linalg.cond(a, INF), [(3, 3)], WC),
    ("cond_minus_inf", lambda m, a: m.linalg.cond(a, -INF), [(3, 3)], WC),
    ("cond_one", lambda m, a: m.linalg.cond(a, 1), [(3, 3)], WC),
    ("cond_minus_one", lambda m, a: m.linalg.cond(a, -1), [(2, 3, 3)], WC),
]
GRAD_CASES = CASES + COND_NORMS


def _inputs(shapes, domain, dtype, seed=0):
    r = np.random.default_rng(seed)
    out = []
    for s in shapes:
        a = r.standard_normal(s)
        if domain == WC and len(s) >= 2 and s[-1] == s[-2]:
            a = a + 3 * np.eye(s[-1])
        out.append(a.astype(dtype))
    return out


def _fn(fn, lib):
    return lambda *xs: fn(lib, *xs)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck(_fn(fn, ember), xs)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
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
    compare_with_torch(torch, fn, arrays, dtype, name, tol32=dict(rtol=2e-4, atol=2e-4))


# ----- the outputs without gradients -----

# name, fn(lib, *inputs) -> a tuple of tensors, input shapes, domain
EXACT = [
    ("slogdet_sign", lambda m, a: (m.linalg.slogdet(a).sign,), [(3, 4, 4)], None),
    ("slogdet_top_type", lambda m, a: tuple(m.slogdet(a)), [(2, 3, 3)], None),
    ("logdet_negative_is_nan", lambda m, a: (m.logdet(-_spd(m, a)),), [(3, 3)], None),
    ("logdet_singular_is_minus_inf", lambda m, a: (m.logdet(a * 0),), [(2, 2)], None),
    ("inv_ex_info", lambda m, a: (m.linalg.inv_ex(a).info,), [(2, 3, 3)], WC),
    ("cholesky_ex_info", lambda m, a: (m.linalg.cholesky_ex(_spd(m, a)).info,), [(3, 3)], None),
    ("solve_ex_info", lambda m, a, b: (m.linalg.solve_ex(a, b).info,), [(2, 3, 3), (3, 1)], WC),
    ("lstsq_gelsy", lambda m, a, b: tuple(m.linalg.lstsq(a, b))[1:], [(5, 3), (5, 2)], None),
    ("lstsq_gelsd", lambda m, a, b: tuple(m.linalg.lstsq(a, b, driver="gelsd"))[1:], [(2, 5, 3), (2, 5, 2)], None),
    ("lstsq_gelss_wide", lambda m, a, b: tuple(m.linalg.lstsq(a, b, driver="gelss"))[1:], [(2, 4), (2, 2)], None),
    ("lstsq_gelsd_vector", lambda m, a, b: tuple(m.linalg.lstsq(a, b, driver="gelsd")), [(4, 2), (4,)], None),
    ("lstsq_gels", lambda m, a, b: tuple(m.linalg.lstsq(a, b, None, driver="gels")), [(4, 2), (4, 3)], None),
    ("lstsq_rank_deficient", lambda m, a, b: (m.linalg.lstsq(a[..., :1].expand(4, 3), b).rank,),
     [(4, 3), (4, 2)], None),
    ("matrix_rank", lambda m, a: (m.linalg.matrix_rank(a),), [(3, 4, 5)], None),
    ("matrix_rank_deficient", lambda m, a: (m.linalg.matrix_rank(a @ a.mT[..., :2, :]),), [(3, 2)], None),
    ("matrix_rank_atol", lambda m, a: (m.linalg.matrix_rank(a, atol=1.0, rtol=0.0),), [(4, 4)], None),
    ("matrix_rank_tol", lambda m, a: (m.linalg.matrix_rank(a, 1.5),), [(2, 4, 4)], None),
    ("matrix_rank_hermitian", lambda m, a: (m.linalg.matrix_rank(_spd(m, a), hermitian=True),), [(3, 3)], None),
    ("matrix_power_zero", lambda m, a: (m.linalg.matrix_power(a, 0),), [(2, 3, 3)], None),
    ("cond_singular", lambda m, a: (m.linalg.cond(a * 0, "fro"), m.linalg.cond(a * 0)), [(2, 2)], None),
    ("det_empty", lambda m, a: (m.linalg.det(a), m.linalg.inv(a)), [(2, 0, 0)], None),
] + [(name, lambda m, *xs, fn=fn: (fn(m, *xs),), shapes, domain) for name, fn, shapes, domain in COND_NORMS]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EXACT, ids=[c[0] for c in EXACT])
def test_outputs_without_gradients(case, dtype, torch):
    name, fn, shapes, domain = case
    arrays = _inputs(shapes, domain, dtype, seed=3)
    es = fn(ember, *[ember.tensor(a) for a in arrays])
    ts = fn(torch, *[torch.tensor(a) for a in arrays])
    assert len(es) == len(ts)
    for e, t in zip(es, ts):
        assert str(e.dtype) == str(t.dtype).replace("torch.", "ember."), name
        assert tuple(e.shape) == tuple(t.shape), name
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(e.numpy(), t.numpy(), **tol)


def test_named_tuples():
    A = ember.eye(3) * 2
    sl = ember.linalg.slogdet(A)
    assert type(sl).__name__ == "linalg_slogdet" and sl.sign.item() == 1.0
    assert sl.logabsdet.item() == pytest.approx(3 * np.log(2.0))
    assert type(ember.slogdet(A)).__name__ == "slogdet"
    assert type(ember.linalg.inv_ex(A)).__name__ == "linalg_inv_ex" and ember.linalg.inv_ex(A).info.item() == 0
    assert ember.linalg.solve_ex(A, ember.ones(3)).result.shape == (3,)
    assert ember.linalg.cholesky_ex(A).L.shape == (3, 3)
    ls = ember.linalg.lstsq(A, ember.ones(3, 1))
    assert ls._fields == ("solution", "residuals", "rank", "singular_values")


def test_float32_stays_float32():
    A = ember.tensor(np.eye(3) * 2 + 0.1, dtype=ember.float32, requires_grad=True)
    fns = [ember.linalg.inv, ember.linalg.det, ember.linalg.matrix_exp, ember.linalg.pinv, ember.linalg.cholesky,
           lambda a: ember.linalg.solve(a, ember.ones(3)), lambda a: ember.linalg.slogdet(a).logabsdet,
           lambda a: ember.linalg.matrix_power(a, -2), lambda a: ember.linalg.cond(a, "fro")]
    for f in fns:
        y = f(A)
        assert y.dtype == ember.float32
        (g,) = ember.autograd.grad(y.sum(), A)
        assert g.dtype == ember.float32


def test_linalg_error_is_a_runtime_error():
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)
    with pytest.raises(RuntimeError):
        ember.linalg.inv(ember.zeros(2, 2))


def test_singular_det_gradient_is_the_cofactor_matrix(torch):
    # rank 2 (cofactor of rank 1) and rank 1 (cofactor 0): the gradient PyTorch's SVD path gives
    # (its first-order backward without create_graph gives 0 at an exactly singular matrix)
    for a in ([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]],
              [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]):
        e = ember.tensor(a, dtype=ember.float64, requires_grad=True)
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        (eg,) = ember.autograd.grad(ember.linalg.det(e), e)
        (tg,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
        np.testing.assert_allclose(eg.numpy(), tg.detach().numpy(), atol=1e-10)
        (eg2,) = ember.autograd.grad(ember.linalg.det(e), e, create_graph=True)
        np.testing.assert_allclose(eg2.detach().numpy(), tg.detach().numpy(), atol=1e-10)


def test_singular_triangular_solve_gives_inf_not_an_error(torch):
    A, B = np.array([[0.0, 1.0], [0.0, 0.0]]), np.ones((2, 1))
    e = ember.linalg.solve_triangular(ember.tensor(A), ember.tensor(B), upper=True)
    t = torch.linalg.solve_triangular(torch.tensor(A), torch.tensor(B), upper=True)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_the_ex_functions_report_the_failing_matrix():
    A = ember.stack([ember.eye(3), ember.tensor([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])])
    assert ember.linalg.inv_ex(A).info.tolist() == [0, 2]
    assert ember.linalg.solve_ex(A, ember.ones(2, 3, 1)).info.tolist() == [0, 2]
    assert ember.linalg.cholesky_ex(-A).info.tolist() == [1, 1]
    assert ember.linalg.inv_ex(A).info.dtype == ember.int32
    with pytest.raises(ember.linalg.LinAlgError, match="Batch element 1"):
        ember.linalg.inv_ex(A, check_errors=True)


def test_cholesky_reads_one_triangle(torch):
    r = np.random.default_rng(4)
    x = r.standard_normal((3, 3))
    a = x @ x.T + 3 * np.eye(3)
    junk_up, junk_low = a.copy(), a.copy()
    junk_up[0, 2] = 50.0
    junk_low[2, 0] = 50.0
    np.testing.assert_allclose(ember.linalg.cholesky(ember.tensor(junk_up)).numpy(),
                               torch.linalg.cholesky(torch.tensor(junk_up)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ember.linalg.cholesky(ember.tensor(junk_low), upper=True).numpy(),
                               torch.linalg.cholesky(torch.tensor(junk_low), upper=True).numpy(), rtol=1e-12)


def test_matrix_exp_of_a_large_norm_matrix(torch):
    r = np.random.default_rng(5)
    a = r.standard_normal((2, 5, 5)) * 3
    np.testing.assert_allclose(ember.linalg.matrix_exp(ember.tensor(a)).numpy(),
                               torch.linalg.matrix_exp(torch.tensor(a)).numpy(), rtol=1e-10)


def test_integer_matrix_power(torch):
    a = np.array([[1, 2], [3, 4]], np.int64)
    for n in (0, 1, 3):
        e, t = ember.matrix_power(ember.tensor(a), n), torch.matrix_power(torch.tensor(a), n)
        assert e.dtype == ember.int64
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_out_keyword():
    A = ember.eye(2) * 2
    out = ember.empty(0)
    assert ember.linalg.inv(A, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.eye(2) / 2)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ember.linalg.det(A.requires_grad_(), out=ember.empty(0))


# ----- errors, message for message -----

SINGULAR = [[1.0, 2.0], [2.0, 4.0]]

ERRORS = [
    ("inv_singular", lambda m: m.linalg.inv(m.tensor(SINGULAR))),
    ("inv_singular_batched", lambda m: m.linalg.inv(m.stack([m.eye(2), m.tensor(SINGULAR)]))),
    ("inv_ex_check", lambda m: m.linalg.inv_ex(m.tensor(SINGULAR), check_errors=True)),
    ("inverse_singular", lambda m: m.inverse(m.tensor(SINGULAR))),
    ("solve_singular", lambda m: m.linalg.solve(m.tensor(SINGULAR), m.ones(2))),
    ("solve_singular_batched", lambda m: m.linalg.solve(m.stack([m.eye(2), m.zeros(2, 2)]), m.ones(2, 2))),
    ("cholesky_not_pd", lambda m: m.linalg.cholesky(-m.eye(3))),
    ("cholesky_not_pd_order_2", lambda m: m.linalg.cholesky(m.tensor(SINGULAR) - m.eye(2) * 0.5)),
    ("cholesky_batched", lambda m: m.linalg.cholesky(m.stack([m.eye(2), -m.eye(2)]))),
    ("cholesky_upper_not_pd", lambda m: m.linalg.cholesky(-m.eye(2), upper=True)),
    ("cholesky_ex_check", lambda m: m.linalg.cholesky_ex(-m.eye(2), check_errors=True)),
    ("matrix_power_singular", lambda m: m.linalg.matrix_power(m.tensor(SINGULAR), -1)),
    ("inv_not_square", lambda m: m.linalg.inv(m.ones(2, 3))),
    ("det_not_square", lambda m: m.linalg.det(m.ones(2, 3))),
    ("inv_1d", lambda m: m.linalg.inv(m.ones(3))),
    ("inv_int", lambda m: m.linalg.inv(m.eye(2, dtype=m.int64))),
    ("inv_half", lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.float16))),
    ("cholesky_not_square", lambda m: m.linalg.cholesky(m.ones(2, 3))),
    ("matrix_power_not_square", lambda m: m.linalg.matrix_power(m.ones(2, 3), 2)),
    ("solve_shapes", lambda m: m.linalg.solve(m.eye(3), m.ones(2))),
    ("solve_right_shapes", lambda m: m.linalg.solve(m.eye(3), m.ones(3), left=False)),
    ("solve_dtypes", lambda m: m.linalg.solve(m.ones(2, 2), m.ones(2, 2, dtype=m.float64))),
    ("solve_triangular_shapes", lambda m: m.linalg.solve_triangular(m.eye(2), m.ones(3, 2), upper=True)),
    ("solve_triangular_1d", lambda m: m.linalg.solve_triangular(m.eye(3), m.ones(3), upper=False)),
    ("cholesky_solve_shapes", lambda m: m.cholesky_solve(m.ones(3, 2), m.ones(2, 2))),
    ("lstsq_rows", lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(2, 2))),
    ("lstsq_driver", lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 2), driver="foo")),
    ("lstsq_dims", lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(2, 3, 1))),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case, torch):
    name, fn = case
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    assert str(ee.value) == str(te.value)
    if isinstance(te.value, torch.linalg.LinAlgError):
        assert isinstance(ee.value, ember.linalg.LinAlgError)
    else:
        assert type(ee.value).__name__ == type(te.value).__name__ and not isinstance(ee.value, ember.linalg.LinAlgError)


def test_solve_triangular_needs_upper():
    with pytest.raises(TypeError):
        ember.linalg.solve_triangular(ember.eye(2), ember.ones(2, 1))
