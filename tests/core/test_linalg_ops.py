"""Products, einsum, triangles and diagonals (ops/linalg.py, ops/linalg_diag.py) against
PyTorch 2.13: values, dtypes, gradients in float32 and float64, float64 gradcheck and
gradgradcheck, and the errors for mismatched shapes. Each row's function takes the library
(``ember`` or ``torch``) first, so one lambda is called the same way on both."""
import numpy as np
import pytest

import ember

from torch_compare import compare_with_torch
from ember.gradcheck import gradgradcheck

POS = "pos"

# name, fn(lib, *inputs), input shapes, domain
CASES = [
    ("tril", lambda m, a: m.tril(a), [(4, 5)], None),
    ("tril_diag", lambda m, a: m.tril(a, diagonal=1), [(2, 4, 3)], None),
    ("tril_neg", lambda m, a: a.tril(-1), [(4, 4)], None),
    ("triu", lambda m, a: m.triu(a), [(4, 5)], None),
    ("triu_diag", lambda m, a: a.triu(diagonal=-2), [(3, 5, 4)], None),
    ("tril_inplace", lambda m, a: (a * 1).tril_(1), [(3, 4)], None),
    ("triu_inplace", lambda m, a: (a * 1).triu_(), [(3, 4)], None),
    ("mm", lambda m, a, b: m.mm(a, b), [(3, 4), (4, 2)], None),
    ("mm_method", lambda m, a, b: a.mm(b), [(1, 4), (4, 5)], None),
    ("bmm", lambda m, a, b: m.bmm(a, b), [(2, 3, 4), (2, 4, 5)], None),
    ("mv", lambda m, a, b: m.mv(a, b), [(3, 4), (4,)], None),
    ("dot", lambda m, a, b: m.dot(a, b), [(5,), (5,)], None),
    ("vdot", lambda m, a, b: a.vdot(b), [(5,), (5,)], None),
    ("inner", lambda m, a, b: m.inner(a, b), [(2, 3), (4, 3)], None),
    ("inner_vec", lambda m, a, b: m.inner(a, b), [(3,), (2, 2, 3)], None),
    ("outer", lambda m, a, b: m.outer(a, b), [(3,), (4,)], None),
    ("ger", lambda m, a, b: a.ger(b), [(3,), (2,)], None),
    ("matmul", lambda m, a, b: m.matmul(a, b), [(2, 3, 4), (4, 2)], None),
    ("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)], None),
    ("einsum_implicit", lambda m, a, b: m.einsum("ij,jk", a, b), [(3, 4), (4, 2)], None),
    ("einsum_list", lambda m, a, b: m.einsum("ij,kj->ik", [a, b]), [(3, 4), (2, 4)], None),
    ("einsum_batch_ellipsis", lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), [(2, 3, 4), (2, 4, 5)], None),
    ("einsum_ellipsis_bcast", lambda m, a, b: m.einsum("...ij,...jk", a, b), [(2, 1, 3, 4), (3, 4, 2)], None),
    ("einsum_trace", lambda m, a: m.einsum("ii", a), [(3, 3)], None),
    ("einsum_diag", lambda m, a: m.einsum("ii->i", a), [(4, 4)], None),
    ("einsum_sum_out", lambda m, a: m.einsum("ijk->j", a), [(2, 3, 4)], None),
    ("einsum_transpose", lambda m, a: m.einsum("ij->ji", a), [(2, 3)], None),
    ("einsum_three", lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 2)], None),
    ("einsum_outer", lambda m, a, b: m.einsum("i,j->ij", a, b), [(3,), (2,)], None),
    ("einsum_bilinear", lambda m, a, w, b: m.einsum("bi,oij,bj->bo", a, w, b), [(2, 3), (4, 3, 5), (2, 5)], None),
    ("einsum_size1_bcast", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (1, 5)], None),
    ("einsum_upper", lambda m, a, b: m.einsum("iJ,Jk", a, b), [(2, 3), (3, 4)], None),
    ("einsum_repeat_mixed", lambda m, a, b: m.einsum("iij,j->i", a, b), [(3, 3, 2), (2,)], None),
    ("einsum_sublist", lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]), [(3, 4), (4, 2)], None),
    ("einsum_sublist_ellipsis", lambda m, a: m.einsum(a, [Ellipsis, 1], [Ellipsis]), [(2, 3, 4)], None),
    ("tensordot_int", lambda m, a, b: m.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 5)], None),
    ("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [1, 0])), [(2, 3, 4), (4, 2, 5)], None),
    ("tensordot_zero", lambda m, a, b: m.tensordot(a, b, dims=0), [(2,), (3,)], None),
    ("addmm", lambda m, c, a, b: m.addmm(c, a, b), [(3, 2), (3, 4), (4, 2)], None),
    ("addmm_scaled_bcast", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0), [(2,), (3, 4), (4, 2)], None),
    ("addmm_beta0", lambda m, c, a, b: c.addmm(a, b, beta=0), [(3, 2), (3, 4), (4, 2)], None),
    ("addmm_inplace", lambda m, c, a, b: (c * 1).addmm_(a, b, alpha=0.5), [(3, 2), (3, 4), (4, 2)], None),
    ("addmv", lambda m, c, a, b: m.addmv(c, a, b, beta=2.0, alpha=-1.0), [(3,), (3, 4), (4,)], None),
    ("addbmm", lambda m, c, a, b: m.addbmm(c, a, b, alpha=0.5), [(3, 2), (4, 3, 5), (4, 5, 2)], None),
    ("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.3), [(3, 1), (2, 3, 4), (2, 4, 5)], None),
    ("addr", lambda m, c, a, b: m.addr(c, a, b, alpha=3.0), [(3, 4), (3,), (4,)], None),
    ("kron", lambda m, a, b: m.kron(a, b), [(2, 3), (3, 2)], None),
    ("kron_mixed_ndim", lambda m, a, b: a.kron(b), [(2, 3), (4,)], None),
    ("diag_embed_1d", lambda m, a: m.diag(a), [(4,)], None),
    ("diag_offset", lambda m, a: m.diag(a, diagonal=-1), [(3,)], None),
    ("diag_of_matrix", lambda m, a: a.diag(1), [(3, 5)], None),
    ("diag_embed", lambda m, a: m.diag_embed(a), [(2, 3)], None),
    ("diag_embed_dims", lambda m, a: m.diag_embed(a, offset=1, dim1=0, dim2=2), [(2, 3)], None),
    ("diagonal", lambda m, a: m.diagonal(a), [(3, 4)], None),
    ("diagonal_dims", lambda m, a: a.diagonal(offset=-1, dim1=2, dim2=0), [(4, 2, 3)], None),
    ("diagonal_grad_of_view", lambda m, a: a.diagonal(1) * 2, [(3, 3)], None),
    ("diagflat", lambda m, a: m.diagflat(a, offset=1), [(2, 2)], None),
    ("trace", lambda m, a: m.trace(a), [(3, 4)], None),
    ("cross", lambda m, a, b: m.cross(a, b, dim=1), [(2, 3), (2, 3)], None),
    ("cross_bcast", lambda m, a, b: m.linalg.cross(a, b), [(4, 3), (1, 3)], None),
    ("cdist", lambda m, a, b: m.cdist(a, b), [(4, 3), (5, 3)], None),
    ("cdist_p1_batched", lambda m, a, b: m.cdist(a, b, p=1.0), [(2, 3, 2), (2, 4, 2)], None),
    ("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), [(3, 2), (2, 2)], None),
    ("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [(2, 3), (2,), ()], None),
    ("pairwise_distance", lambda m, a, b: m.nn.functional.pairwise_distance(a, b), [(3, 4), (4,)], None),
    ("pairwise_distance_p1_keep", lambda m, a, b: m.nn.functional.pairwise_distance(a, b, p=1.0, keepdim=True),
     [(3, 4), (3, 4)], None),
    ("pairwise_distance_0d", lambda m, a, b: m.nn.functional.pairwise_distance(a, b), [(), ()], None),
    ("cosine_similarity", lambda m, a, b: m.nn.functional.cosine_similarity(a, b), [(3, 4), (3, 4)], None),
    ("cosine_similarity_dim_bcast", lambda m, a, b: m.nn.functional.cosine_similarity(a, b, dim=-1),
     [(2, 3, 4), (4,)], None),
    ("chain_matmul", lambda m, a, b, c: m.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)], None),
]


def _inputs(shapes, domain, dtype, seed=0):
    r = np.random.default_rng(seed)
    return [(r.uniform(0.5, 2.0, s) if domain == POS else r.standard_normal(s)).astype(dtype) for s in shapes]


def _fn(fn, lib):
    return lambda *xs: fn(lib, *xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck(_fn(fn, ember), xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
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
    compare_with_torch(torch, fn, arrays, dtype, name, tol32=dict(rtol=2e-5, atol=1e-5))


INT_CASES = [
    ("tril", lambda m, a: m.tril(a, 1), [(3, 4)]),
    ("triu", lambda m, a: m.triu(a), [(3, 4)]),
    ("mm", lambda m, a, b: m.mm(a, b), [(2, 3), (3, 2)]),
    ("dot", lambda m, a, b: m.dot(a, b), [(3,), (3,)]),
    ("einsum", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    ("trace", lambda m, a: m.trace(a), [(3, 3)]),
    ("diag", lambda m, a: m.diag(a), [(3,)]),
    ("kron", lambda m, a, b: m.kron(a, b), [(2,), (3,)]),
    ("outer", lambda m, a, b: m.outer(a, b), [(2,), (3,)]),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, dims=1), [(2, 3), (3, 2)]),
    ("cross", lambda m, a, b: m.cross(a, b, dim=-1), [(2, 3), (2, 3)]),
]


@pytest.mark.parametrize("case", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_integer_inputs_match_torch(case, torch):
    name, fn, shapes = case
    r = np.random.default_rng(5)
    arrays = [r.integers(-4, 5, s).astype(np.int64) for s in shapes]
    ey = fn(ember, *[ember.tensor(a) for a in arrays])
    ty = fn(torch, *[torch.tensor(a) for a in arrays])
    assert str(ey.dtype) == str(ty.dtype).replace("torch.", "ember.")
    np.testing.assert_array_equal(ey.numpy(), ty.numpy())


def test_tril_keeps_bool():
    x = ember.ones(3, 3, dtype=ember.bool)
    y = x.triu(1)
    assert y.dtype == ember.bool
    np.testing.assert_array_equal(y.numpy(), np.triu(np.ones((3, 3), bool), 1))


def test_tril_inplace_writes_into_the_tensor():
    x = ember.ones(3, 3)
    v = x._version
    assert x.tril_() is x
    np.testing.assert_array_equal(x.numpy(), np.tril(np.ones((3, 3))))
    assert x._version > v


def test_diagonal_is_a_view():
    x = ember.zeros(3, 4)
    d = x.diagonal(1)
    d.fill_(7.0)
    assert x.numpy()[0, 1] == 7.0 and x.numpy()[2, 3] == 7.0 and x.numpy().sum() == 21.0
    assert x._version == d._version


def test_matmul_out_and_its_errors(torch):
    a, b = ember.randn(2, 3), ember.randn(3, 4)
    out = ember.empty(0)
    r = ember.matmul(a, b, out=out)
    assert r is out and tuple(out.shape) == (2, 4)
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        ember.matmul(a.requires_grad_(), b, out=out)
    out = ember.empty(0)
    ember.mm(a.detach(), b, out=out)
    assert tuple(out.shape) == (2, 4)


def test_einsum_uses_the_same_values_for_a_batched_contraction(torch):
    # the BLAS path (np.einsum optimize=True) and the plain loop agree
    r = np.random.default_rng(0)
    a, b = r.standard_normal((8, 16, 32)), r.standard_normal((8, 32, 4))
    y = ember.einsum("bij,bjk->bik", ember.tensor(a), ember.tensor(b))
    np.testing.assert_allclose(y.numpy(), torch.einsum("bij,bjk->bik", torch.tensor(a), torch.tensor(b)).numpy(),
                               rtol=1e-12)


ERRORS = [
    ("mm_shapes", lambda m: m.mm(m.ones(2, 3), m.ones(4, 5)),
     "mat1 and mat2 shapes cannot be multiplied \\(2x3 and 4x5\\)"),
    ("mm_vector", lambda m: m.mm(m.ones(2, 3), m.ones(3)), "mat2 must be a matrix"),
    ("mm_self_vector", lambda m: m.mm(m.ones(3), m.ones(3, 2)), "self must be a matrix"),
    ("mm_dtypes", lambda m: m.mm(m.ones(2, 3), m.ones(3, 2, dtype=m.float64)), "same dtype"),
    ("matmul_shapes", lambda m: m.matmul(m.ones(2, 3), m.ones(4, 2)), "cannot be multiplied \\(2x3 and 4x2\\)"),
    ("matmul_0d", lambda m: m.matmul(m.ones(2, 3), m.tensor(2.0)), "at least 1D"),
    ("bmm_2d", lambda m: m.bmm(m.ones(2, 3), m.ones(3, 2)), "batch1 must be a 3D tensor"),
    ("bmm_shapes", lambda m: m.bmm(m.ones(2, 2, 3), m.ones(2, 4, 5)), "Expected size for first two dimensions"),
    ("mv_shapes", lambda m: m.mv(m.ones(2, 3), m.ones(4)), "size mismatch"),
    ("mv_matrix", lambda m: m.mv(m.ones(2, 3), m.ones(3, 1)), "vector \\+ matrix @ vector expected"),
    ("dot_2d", lambda m: m.dot(m.ones(2, 3), m.ones(2, 3)), "1D tensors expected, but got 2D and 2D tensors"),
    ("dot_sizes", lambda m: m.dot(m.ones(3), m.ones(4)), "inconsistent tensor size"),
    ("inner_shapes", lambda m: m.inner(m.ones(2, 3), m.ones(4, 2)), "the last dimension must match"),
    ("outer_2d", lambda m: m.outer(m.ones(2, 3), m.ones(2)), "outer: Expected 1-D argument self, but got 2-D"),
    ("tril_1d", lambda m: m.tril(m.ones(3)), "tril: input tensor must have at least 2 dimensions"),
    ("triu_1d", lambda m: m.triu(m.ones(3)), "triu: input tensor must have at least 2 dimensions"),
    ("trace_1d", lambda m: m.trace(m.ones(3)), "trace: expected a matrix, but got tensor with dim 1"),
    ("diag_3d", lambda m: m.diag(m.ones(2, 2, 2)), "Supports 1D or 2D tensors. Got 3D"),
    ("einsum_sizes", lambda m: m.einsum("ij,jk", m.ones(2, 3), m.ones(4, 5)), "subscript j has size 4"),
    ("einsum_operands", lambda m: m.einsum("ij,jk->ik", m.ones(2, 3)), "fewer operands"),
    ("einsum_repeat_sizes", lambda m: m.einsum("ii", m.ones(2, 3)), "sizes don't match"),
    ("einsum_dims", lambda m: m.einsum("ijk", m.ones(2, 3)), "does not match the number of dimensions"),
    ("tensordot_sizes", lambda m: m.tensordot(m.ones(2, 3), m.ones(4, 5), dims=1),
     "contracted dimensions need to match"),
    ("cross_len", lambda m: m.cross(m.ones(2, 3), m.ones(2, 4), dim=1), "must have length 3"),
    ("cross_ndim", lambda m: m.cross(m.ones(2, 3), m.ones(4, 1, 3), dim=-1), "same number of dimensions"),
    ("cdist_cols", lambda m: m.cdist(m.ones(3, 2), m.ones(4, 3)), "same number of columns"),
    ("cdist_1d", lambda m: m.cdist(m.ones(3), m.ones(4, 3)), "at least 2D"),
    ("addmm_input", lambda m: m.addmm(m.ones(4), m.ones(2, 3), m.ones(3, 3)), "expanded size"),
    ("addmm_dtypes", lambda m: m.addmm(m.ones(2, 2, dtype=m.float64), m.ones(2, 2), m.ones(2, 2)), "same dtype"),
    ("dot_dtypes", lambda m: m.dot(m.ones(2), m.ones(2, dtype=m.float64)), "found Float and Double"),
    ("bmm_dtypes", lambda m: m.bmm(m.ones(2, 2, 2), m.ones(2, 2, 2, dtype=m.float64)), "Float but found Double"),
    ("einsum_dtypes", lambda m: m.einsum("i,i", m.ones(2), m.ones(2, dtype=m.float64)), "Float but found Double"),
    ("tensordot_dtypes", lambda m: m.tensordot(m.ones(2, 2), m.ones(2, 2, dtype=m.float64)), "same dtype"),
    ("cross_dtypes", lambda m: m.cross(m.ones(3), m.ones(3, dtype=m.float64), dim=0), "Float but found Double"),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case, torch):
    name, fn, msg = case
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value), match=msg):
        fn(ember)


# results whose values and dtype must match PyTorch's exactly
SAME = [
    ("einsum_vec_dot", lambda m: m.einsum("i,i", m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0]))),
    ("einsum_ellipsis_only", lambda m: m.einsum("...", m.tensor([1.0, 2.0]))),
    ("einsum_ellipsis_out", lambda m: m.einsum("i...->...", m.arange(6.0).reshape(2, 3))),
    ("einsum_batch_trace", lambda m: m.einsum("bii->b", m.arange(18.0).reshape(2, 3, 3))),
    ("einsum_full_sum", lambda m: m.einsum("ij,ij->", m.arange(6.0).reshape(2, 3), m.ones(2, 3))),
    ("tensordot_tensor_dims", lambda m: m.tensordot(m.arange(6.0).reshape(2, 3), m.arange(6.0).reshape(3, 2),
                                                    dims=m.tensor([[1], [0]]))),
    ("tensordot_nested_lists", lambda m: m.tensordot(m.arange(6.0).reshape(2, 3), m.arange(6.0).reshape(2, 3),
                                                     dims=[[0, 1], [0, 1]])),
    ("cross_default_dim", lambda m: m.cross(m.arange(6.0).reshape(3, 2), m.ones(3, 2))),
    ("block_diag_empty", lambda m: m.block_diag()),
    ("block_diag_promotes", lambda m: m.block_diag(m.ones(2, dtype=m.int64), m.ones(1, 2))),
    ("diag_embed_neg_offset", lambda m: m.diag_embed(m.arange(6.0).reshape(2, 3), offset=-1)),
    ("diagonal_past_the_end", lambda m: m.diagonal(m.ones(2, 3), offset=5)),
    ("tril_past_the_end", lambda m: m.tril(m.ones(2, 3), 10)),
    ("kron_scalar", lambda m: m.kron(m.arange(2.0), m.tensor(3.0))),
    ("inner_scalar", lambda m: m.inner(m.tensor(2.0), m.arange(2.0))),
    ("outer_promotes", lambda m: m.outer(m.ones(2, dtype=m.int64), m.arange(2.0))),
    ("addr_promotes", lambda m: m.addr(m.ones(2, 2, dtype=m.float64), m.ones(2), m.arange(2.0))),
    ("cdist_p0", lambda m: m.cdist(m.arange(6.0).reshape(2, 3), m.ones(4, 3), p=0)),
    ("cdist_inf", lambda m: m.cdist(m.arange(6.0).reshape(2, 3), m.zeros(1, 3), p=float("inf"))),
    ("trace_int32", lambda m: m.trace(m.ones(2, 3, dtype=m.int32))),
    ("dot_int32", lambda m: m.dot(m.ones(2, dtype=m.int32), m.ones(2, dtype=m.int32))),
    ("matmul_int", lambda m: m.matmul(m.arange(6).reshape(2, 3), m.arange(3))),
    ("linalg_multi_dot", lambda m: m.linalg.multi_dot([m.arange(3.0), m.ones(3, 4), m.arange(4.0)])),
    ("linalg_vecdot", lambda m: m.linalg.vecdot(m.arange(6.0).reshape(2, 3), m.ones(3))),
    ("linalg_diagonal", lambda m: m.linalg.diagonal(m.arange(12.0).reshape(2, 2, 3), offset=1)),
    ("cosine_similarity_of_zeros", lambda m: m.nn.functional.cosine_similarity(m.zeros(2, 3), m.ones(2, 3))),
    ("pairwise_distance_of_equal", lambda m: m.nn.functional.pairwise_distance(m.zeros(2, 3), m.zeros(2, 3))),
    ("addmm_beta0_ignores_nan", lambda m: m.addmm(m.full((2, 2), float("nan")), m.ones(2, 3), m.ones(3, 2), beta=0)),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", SAME, ids=[c[0] for c in SAME])
def test_results_match_torch(case, torch):
    name, fn = case
    ey, ty = fn(ember), fn(torch)
    assert str(ey.dtype) == str(ty.dtype).replace("torch.", "ember.")
    assert tuple(ey.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(ey.numpy(), ty.numpy())


def test_inplace_through_a_diagonal_view_backpropagates(torch):
    grads = []
    for m in (ember, torch):
        a = m.ones(3, 3, requires_grad=True)
        x = a * 1
        x.diagonal().mul_(2)
        (x * m.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_array_equal(*grads)


def test_cdist_gradient_at_zero_distance_is_zero(torch):
    grads = []
    for m in (ember, torch):
        a = m.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
        b = m.tensor([[0.0, 1.0], [1.0, 1.0]], requires_grad=True)
        m.cdist(a, b).sum().backward()
        grads.append((a.grad.numpy(), b.grad.numpy()))
    for e, t in zip(*grads):
        assert np.isfinite(e).all()
        np.testing.assert_allclose(e, t, rtol=1e-6)
