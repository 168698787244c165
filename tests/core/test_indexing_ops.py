"""Indexing and selection (ops/indexing.py) against PyTorch 2.13: values, dtypes and gradients
in float32 and float64, gradcheck and gradgradcheck in float64, index outputs, in-place forms,
empty inputs and the errors. Each row is (name, fn(M, *tensors) where M is ember or torch,
input shapes)."""
import numpy as np
import pytest

import ember

from torch_compare import compare_with_torch
from ember.gradcheck import gradgradcheck


def I(M, v):  # noqa: E743 - an int64 index tensor in M
    return M.tensor(v)


def B(M, v):
    return M.tensor(v, dtype=M.bool)


MASK = [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
DUP = [[0, 0, 3], [1, 1, 1]]  # repeated positions along dim 1
UNIQ = [[0, 3, 1], [2, 0, 1]]

CASES = [
    ("masked_fill", lambda M, a: a.masked_fill(B(M, MASK), -1.5), [(3, 4)]),
    ("masked_fill_fn_bcast", lambda M, a: M.masked_fill(a, B(M, [[[True, False, True, False]], [[False] * 4]]), 2.0),
     [(3, 4)]),
    ("masked_fill_tensor_value", lambda M, a, v: a.masked_fill(B(M, MASK), v.sum()), [(3, 4), (2,)]),
    ("masked_fill_", lambda M, a: (a * 1).masked_fill_(B(M, MASK), 0.5), [(3, 4)]),
    ("gather_dim1_dup", lambda M, a: a.gather(1, I(M, DUP)), [(3, 4)]),
    ("gather_dim0_neg_dim", lambda M, a: M.gather(a, -2, I(M, [[2, 0, 2, 1]])), [(3, 4)]),
    ("gather_3d", lambda M, a: a.gather(2, I(M, [[[1, 0]], [[1, 1]]])), [(2, 3, 2)]),
    ("scatter_src", lambda M, a, s: a.scatter(1, I(M, UNIQ), s), [(3, 4), (2, 3)]),
    ("scatter_fn_dim0", lambda M, a, s: M.scatter(a, 0, I(M, [[2, 0]]), s), [(3, 4), (1, 2)]),
    ("scatter_value", lambda M, a: a.scatter(1, I(M, UNIQ), 2.5), [(3, 4)]),
    ("scatter_", lambda M, a, s: (a * 1).scatter_(1, I(M, UNIQ), s), [(3, 4), (2, 3)]),
    ("scatter_add_dup", lambda M, a, s: a.scatter_add(1, I(M, DUP), s), [(3, 4), (2, 3)]),
    ("scatter_add_", lambda M, a, s: (a * 1).scatter_add_(0, I(M, [[2, 2, 0, 1]]), s), [(3, 4), (1, 4)]),
] + [
    (f"scatter_reduce_{r}_{inc}", (lambda r, inc: lambda M, a, s: a.scatter_reduce(1, I(M, DUP), s, r,
                                                                                   include_self=inc))(r, inc),
     [(3, 4), (2, 3)])
    for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)
] + [
    ("scatter_reduce_", lambda M, a, s: (a * 1).scatter_reduce_(0, I(M, [[0, 0, 1, 0]]), s, "mean"), [(3, 4), (1, 4)]),
    ("index_select_dim0_dup", lambda M, a: a.index_select(0, I(M, [2, 0, 2])), [(3, 4)]),
    ("index_select_dim1", lambda M, a: M.index_select(a, 1, I(M, [3, 1])), [(3, 4)]),
    ("take_along_dim", lambda M, a: M.take_along_dim(a, I(M, [[0, 3], [1, 1], [2, 0]]), dim=1), [(3, 4)]),
    ("take_along_dim_bcast", lambda M, a: a.take_along_dim(I(M, [[0], [2]]), dim=1), [(1, 4)]),
    ("take_along_dim_flat", lambda M, a: M.take_along_dim(a, I(M, [[0, 11], [5, 5]])), [(3, 4)]),
    ("masked_select", lambda M, a: a.masked_select(B(M, MASK)), [(3, 4)]),
    ("masked_select_bcast", lambda M, a: M.masked_select(a, B(M, [[True], [False], [True]])), [(4,)]),
    ("take_neg_dup", lambda M, a: M.take(a, I(M, [[0, -1], [5, 5]])), [(3, 4)]),
    ("index_add_alpha_dup", lambda M, a, s: a.index_add(0, I(M, [0, 2, 0]), s, alpha=2.0), [(4, 3), (3, 3)]),
    ("index_add_", lambda M, a, s: (a * 1).index_add_(1, I(M, [1, 1]), s), [(4, 3), (4, 2)]),
    ("index_copy", lambda M, a, s: a.index_copy(1, I(M, [2, 0]), s), [(4, 3), (4, 2)]),
    ("index_copy_", lambda M, a, s: (a * 1).index_copy_(0, I(M, [3]), s), [(4, 3), (1, 3)]),
    ("index_fill", lambda M, a: a.index_fill(1, I(M, [2, 0, -1]), -0.5), [(4, 3)]),
    ("index_fill_tensor_value", lambda M, a, v: M.index_fill(a, 0, I(M, [1, 1]), v.sum()), [(4, 3), (3,)]),
    ("index_fill_", lambda M, a: (a * 1).index_fill_(0, I(M, [0]), 1.0), [(4, 3)]),
    ("index_put_acc", lambda M, a, v: a.index_put((I(M, [0, 2, 0]), I(M, [1, 1, 1])), v, accumulate=True),
     [(3, 4), (3,)]),
    ("index_put_bcast_neg", lambda M, a, v: M.index_put(a, (I(M, [2, -3]),), v), [(3, 4), (4,)]),
    ("index_put_bool", lambda M, a, v: a.index_put((B(M, MASK),), v), [(3, 4), (1,)]),
    ("index_put_", lambda M, a, v: (a * 1).index_put_((I(M, [1]), I(M, [3])), v, accumulate=True), [(3, 4), ()]),
    ("index_put__fn", lambda M, a, v: M.index_put_(a * 1, (I(M, [0, 1]),), v), [(3, 4), (2, 1)]),
    ("masked_scatter", lambda M, a, s: a.masked_scatter(B(M, MASK), s), [(3, 4), (7,)]),
    ("masked_scatter_bcast", lambda M, a, s: M.masked_scatter(a, B(M, [[True], [False]]), s), [(3,), (2, 4)]),
    ("masked_scatter_", lambda M, a, s: (a * 1).masked_scatter_(B(M, MASK), s), [(3, 4), (3, 4)]),
    ("put", lambda M, a, s: a.put(I(M, [[0, -1], [4, 7]]), s), [(3, 4), (2, 2)]),
    ("put_acc_dup", lambda M, a, s: M.put(a, I(M, [1, 1, 5]), s, accumulate=True), [(3, 4), (3,)]),
    ("put_", lambda M, a, s: (a * 1).put_(I(M, [2, 3]), s, accumulate=True), [(3, 4), (2,)]),
    ("select", lambda M, a: a.select(1, -1), [(3, 4)]),
    ("select_fn", lambda M, a: M.select(a, 0, 2) * 2, [(3, 4)]),
] + [
    (f"index_reduce_{r}_{inc}", (lambda r, inc: lambda M, a, s: a.index_reduce(0, I(M, [1, 0, 1]), s, r,
                                                                               include_self=inc))(r, inc),
     [(3, 2), (3, 2)])
    for r in ("prod", "mean", "amax", "amin") for inc in (True, False)
] + [
    ("index_reduce_", lambda M, a, s: (a * 1).index_reduce_(1, I(M, [0, 0]), s, "amax"), [(3, 2), (3, 2)]),
]


def _inputs(shapes, dtype, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, np.float64)]
    assert ember.gradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, np.float64)]
    assert gradgradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, shapes = case
    arrays = _inputs(shapes, dtype, seed=1)
    compare_with_torch(torch, fn, arrays, dtype, name)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_recorded_backward_gives_the_same_gradient_in_float32(case):
    # create_graph=True runs the backwards on Tensors (the same primitives): same values, dtype
    name, fn, shapes = case
    arrays = _inputs(shapes, np.float32, seed=3)
    grads = []
    for create_graph in (False, True):
        xs = [ember.tensor(a, requires_grad=True) for a in arrays]
        y = fn(ember, *xs)
        g = ember.tensor(np.random.default_rng(4).standard_normal(tuple(y.shape)).astype(np.float32))
        gs = ember.autograd.grad(y, xs, g, create_graph=create_graph)
        grads.append([v.detach().numpy() for v in gs])
    for a, b in zip(*grads):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def _both(torch, fn, *arrays):
    return fn(ember, *[ember.tensor(a) for a in arrays]), fn(torch, *[torch.tensor(a) for a in arrays])


def _same(e, t):
    if isinstance(t, tuple):
        assert isinstance(e, tuple) and len(e) == len(t)
        for a, b in zip(e, t):
            _same(a, b)
        return
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (e.dtype, t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


Z = np.array([[0, 1.5, 0], [2, 0, -1]])
VALUES = [  # no gradient, or integer/bool dtypes: exact values, shapes and dtypes
    ("nonzero", lambda M, a: M.nonzero(a), [Z]),
    ("nonzero_tuple", lambda M, a: a.nonzero(as_tuple=True), [Z]),
    ("nonzero_0d", lambda M, a: M.nonzero(a), [np.array(5)]),
    ("nonzero_0d_tuple", lambda M, a: M.nonzero(a, as_tuple=True), [np.array(5)]),
    ("nonzero_0d_zero_tuple", lambda M, a: M.nonzero(a, as_tuple=True), [np.array(0)]),
    ("nonzero_empty", lambda M, a: M.nonzero(a), [np.zeros((0, 3))]),
    ("nonzero_bool_3d", lambda M, a: M.nonzero(a > 0), [np.arange(-4, 8).reshape(2, 3, 2)]),
    ("argwhere", lambda M, a: M.argwhere(a), [Z]),
    ("argwhere_method", lambda M, a: a.argwhere(), [Z.astype(np.int32)]),
    ("gather_int", lambda M, a: a.gather(1, I(M, DUP)), [np.arange(12).reshape(3, 4)]),
    ("gather_int32_index", lambda M, a: a.gather(1, M.tensor(DUP, dtype=M.int32)), [np.arange(12.).reshape(3, 4)]),
    ("scatter_reduce_add", lambda M, a: a.scatter(1, I(M, DUP), 2.0, reduce="add"), [np.arange(12.).reshape(3, 4)]),
    ("scatter_reduce_multiply", lambda M, a, s: a.scatter(1, I(M, DUP), s, reduce="multiply"),
     [np.arange(12.).reshape(3, 4), np.full((2, 3), 3.0)]),
    ("scatter_reduce_mean_int", lambda M, a, s: a.scatter_reduce(1, I(M, DUP), s, "mean"),
     [np.arange(12).reshape(3, 4), np.array([[1, 2, 7], [-5, 3, 9]])]),
    ("scatter_reduce_amax_int_noself", lambda M, a, s: a.scatter_reduce(1, I(M, DUP), s, "amax", include_self=False),
     [np.arange(12).reshape(3, 4), np.array([[1, 2, 7], [-5, 3, 9]])]),
    ("index_reduce_mean_int", lambda M, a, s: a.index_reduce(1, I(M, [0, 0]), s, "mean"),
     [np.array([[5, 6, 7]]), np.array([[1, 2]])]),
    ("index_select_int32", lambda M, a: a.index_select(0, M.tensor([1, 1], dtype=M.int32)), [np.arange(6).reshape(3, 2)]),
    ("index_select_0d", lambda M, a: a.index_select(0, M.tensor(1)), [np.arange(6).reshape(3, 2)]),
    ("index_select_0d_input", lambda M, a: a.index_select(0, M.tensor([0])), [np.array(3.0)]),
    ("take_0d_index", lambda M, a: a.take(M.tensor(4)), [np.arange(6).reshape(3, 2)]),
    ("masked_fill_int_float", lambda M, a: a.masked_fill(B(M, [True, False, True]), 2.7), [np.array([1, 2, 3])]),
    ("masked_fill_bool", lambda M, a: a.masked_fill(B(M, [True, False, True]), False), [np.array([True, True, False])]),
    ("index_fill_int", lambda M, a: a.index_fill(0, I(M, [1]), 9), [np.arange(6).reshape(3, 2)]),
    ("index_put_int", lambda M, a: a.index_put((I(M, [0, 0]),), M.tensor(3), accumulate=True), [np.arange(3)]),
    ("take_int", lambda M, a: a.take(I(M, [-1, 0])), [np.arange(6).reshape(3, 2)]),
    ("put_int", lambda M, a: a.put(I(M, [-1, 0]), M.tensor([7, 8])), [np.arange(6).reshape(3, 2)]),
    ("gather_0d", lambda M, a: a.gather(0, M.tensor(0)), [np.array(3.0)]),
    ("scatter_0d", lambda M, a: a.scatter(0, M.tensor(0), 5.0), [np.array(3.0)]),
    ("select_3d", lambda M, a: a.select(2, 0), [np.arange(12).reshape(2, 3, 2)]),
    ("one_hot", lambda M, a: M.nn.functional.one_hot(a), [np.array([0, 2, 1])]),
    ("one_hot_classes", lambda M, a: M.nn.functional.one_hot(a, 4), [np.array([[0], [2]])]),
    ("one_hot_0d", lambda M, a: M.nn.functional.one_hot(a, num_classes=3), [np.array(2)]),
    ("one_hot_empty", lambda M, a: M.nn.functional.one_hot(a, 3), [np.zeros(0, np.int64)]),
    # empty inputs
    ("gather_empty", lambda M, a: a.gather(0, M.zeros(0, 3, dtype=M.long)), [np.zeros((0, 3))]),
    ("gather_empty_index", lambda M, a: a.gather(1, M.zeros(2, 0, dtype=M.long)), [np.ones((2, 3))]),
    ("scatter_add_empty", lambda M, a: a.scatter_add(1, M.zeros(2, 0, dtype=M.long), M.ones(2, 0, dtype=M.float64)), [np.ones((2, 3))]),
    ("index_select_empty", lambda M, a: a.index_select(0, M.zeros(0, dtype=M.long)), [np.ones((2, 3))]),
    ("index_add_empty", lambda M, a: a.index_add(0, M.zeros(0, dtype=M.long), M.ones(0, 3, dtype=M.float64)), [np.ones((2, 3))]),
    ("masked_select_empty", lambda M, a: a.masked_select(a > 5), [np.ones((2, 3))]),
    ("take_empty", lambda M, a: a.take(M.zeros(0, dtype=M.long)), [np.zeros((0,))]),
    ("masked_fill_empty", lambda M, a: a.masked_fill(a > 0, 1.0), [np.zeros((0, 2))]),
    ("index_put_empty", lambda M, a: a.index_put((M.zeros(0, dtype=M.long),), M.tensor(1.0, dtype=M.float64)), [np.ones((2, 3))]),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", VALUES, ids=[c[0] for c in VALUES])
def test_values_against_torch(case, torch):
    name, fn, arrays = case
    _same(*_both(torch, fn, *arrays))


def test_scatter_reads_the_leading_block_of_a_larger_src(torch):
    # torch 2.13 computes the values but its backward fails on a larger src ("invalid gradient"):
    # ember's src gradient is gy gathered, zero where src was not read
    a, s = _inputs([(3, 4), (2, 4)], np.float64)
    _same(*_both(torch, lambda M, a, s: M.scatter(a, 0, I(M, [[2, 0]]), s), a, s))
    xs = [ember.tensor(x, requires_grad=True) for x in (a, s)]
    f = lambda a, s: ember.scatter(a, 0, ember.tensor([[2, 0]]), s)  # noqa: E731
    assert ember.gradcheck(f, xs) and gradgradcheck(f, xs)


def test_prod_gradients_with_zeros_as_torch(torch):
    a = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 1.0, 2.0]])
    s = np.array([[0.0, 2.0, 0.5], [0.0, 0.0, 4.0]])
    idx = [[0, 0, 1], [1, 1, 3]]
    for inc in (True, False):
        ex, es = ember.tensor(a, requires_grad=True), ember.tensor(s, requires_grad=True)
        tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
        ey = ex.scatter_reduce(1, ember.tensor(idx), es, "prod", include_self=inc)
        ty = tx.scatter_reduce(1, torch.tensor(idx), ts, "prod", include_self=inc)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy())
        ey.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy())
        np.testing.assert_allclose(es.grad.numpy(), ts.grad.numpy())


def test_amax_ties_share_the_gradient_as_torch(torch):
    a = np.array([[1.0, 5.0, 2.0]])
    s = np.array([[5.0, 2.0, 5.0]])
    idx = [[1, 2, 1]]
    ex, es = ember.tensor(a, requires_grad=True), ember.tensor(s, requires_grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(s, requires_grad=True)
    ex.scatter_reduce(1, ember.tensor(idx), es, "amax").sum().backward()
    tx.scatter_reduce(1, torch.tensor(idx), ts, "amax").sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(es.grad.numpy(), ts.grad.numpy())


def test_in_place_forms_write_the_tensor_and_bump_its_version():
    x = ember.zeros(3, 4)
    v = x._version
    out = x.scatter_(1, ember.tensor([[1, 2]]), 1.0)
    assert out is x and x._version > v
    x.index_fill_(0, ember.tensor([2]), 3.0).masked_fill_(ember.tensor([True, False, False, False]), -1.0)
    x.index_add_(1, ember.tensor([3]), ember.ones(3, 1), alpha=2).put_(ember.tensor([5]), ember.tensor([9.0]))
    t = __import__("torch")
    y = t.zeros(3, 4)
    y.scatter_(1, t.tensor([[1, 2]]), 1.0)
    y.index_fill_(0, t.tensor([2]), 3.0).masked_fill_(t.tensor([True, False, False, False]), -1.0)
    y.index_add_(1, t.tensor([3]), t.ones(3, 1), alpha=2).put_(t.tensor([5]), t.tensor([9.0]))
    np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_masked_fill_in_place_keeps_int_dtype_and_refuses_a_leaf():
    x = ember.tensor([1, 2, 3])
    x.masked_fill_(ember.tensor([True, False, True]), 2.7)
    assert x.tolist() == [2, 2, 2] and x.dtype == ember.int64
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.masked_fill_(ember.tensor([True, False, True]), 0.0)


def test_causal_attention_mask():
    att = ember.randn(2, 4, 4, requires_grad=True)
    bias = ember.tensor(np.tril(np.ones((4, 4))))
    y = att.masked_fill(bias[:4, :4] == 0, float("-inf")).softmax(dim=-1)
    y.sum().backward()
    assert np.isinf(att.masked_fill(bias == 0, float("-inf")).detach().numpy()[0, 0, 1])
    np.testing.assert_allclose(y.detach().numpy().sum(-1), 1.0, rtol=1e-6)
    assert att.grad.shape == att.shape


X = np.arange(6.0).reshape(2, 3)
ERRORS = [  # fn(M, x): both must raise the same type; ember's message must hold `msg`
    ("gather_past", lambda M, x: x.gather(1, I(M, [[0, 7]])), RuntimeError,
     "index 7 is out of bounds for dimension 1 with size 3"),
    ("gather_negative", lambda M, x: x.gather(1, I(M, [[0, -1]])), RuntimeError,
     "index -1 is out of bounds for dimension 1 with size 3"),
    ("gather_float_index", lambda M, x: x.gather(1, M.tensor([[0.0, 1.0]])), RuntimeError, "int32/int64"),
    ("gather_ndim", lambda M, x: x.gather(1, I(M, [0, 1])), RuntimeError, "same number of dimensions"),
    ("gather_too_big", lambda M, x: x.gather(0, M.zeros(1, 4, dtype=M.long)), RuntimeError, "no larger than self"),
    ("scatter_past", lambda M, x: x.scatter(1, I(M, [[0, 5]]), M.ones(1, 2, dtype=M.float64)), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    ("scatter_dtype", lambda M, x: x.scatter(1, I(M, [[0, 1]]), M.ones(1, 2, dtype=M.float32)), RuntimeError,
     "Expected self.dtype to be equal to src.dtype"),
    ("scatter_int_src", lambda M, x: x.scatter_add(1, I(M, [[0, 1]]), M.ones(1, 2, dtype=M.long)), RuntimeError,
     "self.dtype"),
    ("scatter_float_index", lambda M, x: x.scatter(1, M.tensor([[0.0]]), 1.0), RuntimeError, "dtype"),
    ("scatter_multiply_grad", lambda M, x: x.requires_grad_().scatter(1, I(M, [[0]]), M.ones(1, 1, dtype=M.float64),
                                                                     reduce="multiply").sum().backward(), RuntimeError,
     "not implemented"),
    ("scatter_reduce_past", lambda M, x: x.scatter_reduce(0, I(M, [[2]]), x, "amax"), RuntimeError,
     "index 2 is out of bounds for dimension 0 with size 2"),
    ("index_select_past", lambda M, x: x.index_select(1, I(M, [0, 3])), (RuntimeError, IndexError),
     "index 3 is out of bounds for dimension 1 with size 3"),
    ("index_select_negative", lambda M, x: x.index_select(1, I(M, [-1])), (RuntimeError, IndexError),
     "index -1 is out of bounds for dimension 1 with size 3"),
    ("index_select_float", lambda M, x: x.index_select(1, M.tensor([0.0])), RuntimeError, "int32 or int64"),
    ("index_add_past", lambda M, x: x.index_add(1, I(M, [0, 3]), M.ones(2, 2, dtype=M.float64)), RuntimeError,
     "index 3 is out of bounds for dimension 1 with size 3"),
    ("index_add_dtype", lambda M, x: x.index_add(1, I(M, [0, 1]), M.ones(2, 2)), RuntimeError,
     "must have the same scalar type"),
    ("index_copy_past", lambda M, x: x.index_copy(1, I(M, [3]), M.ones(2, 1, dtype=M.float64)), IndexError,
     "index 3 is out of bounds for dimension 1 with size 3"),
    ("index_fill_past", lambda M, x: x.index_fill(1, I(M, [3]), 2.0), IndexError,
     "index 3 is out of bounds for dimension 1 with size 3"),
    ("index_fill_negative_past", lambda M, x: x.index_fill(1, I(M, [-4]), 2.0), IndexError,
     "index -4 is out of bounds for dimension 1 with size 3"),
    ("take_past", lambda M, x: x.take(I(M, [6])), IndexError, "index 6 on a tensor of 6 elements"),
    ("take_negative_past", lambda M, x: x.take(I(M, [-7])), IndexError, "index -7 on a tensor of 6 elements"),
    ("take_int32", lambda M, x: x.take(M.tensor([0], dtype=M.int32)), RuntimeError, "Expected a long tensor"),
    ("put_past", lambda M, x: x.put(I(M, [7]), M.ones(1, dtype=M.float64)), IndexError, "index 7"),
    ("put_dtype", lambda M, x: x.put(I(M, [1]), M.ones(1)), RuntimeError, "same dtype"),
    ("masked_fill_long_mask", lambda M, x: x.masked_fill(I(M, [1, 0, 1]), 2.0), RuntimeError,
     "only supports boolean masks"),
    ("masked_fill_vector_value", lambda M, x: x.masked_fill(B(M, [True, False, True]), M.tensor([1.0, 2.0])),
     RuntimeError, "0-dimensional value tensor"),
    ("masked_select_long_mask", lambda M, x: x.masked_select(I(M, [1, 0, 1])), RuntimeError, "BoolTensor"),
    ("masked_scatter_short", lambda M, x: x.masked_scatter(B(M, [True, False, True]), M.ones(1, dtype=M.float64)),
     RuntimeError, "Number of elements of source"),
    ("masked_scatter_dtype", lambda M, x: x.masked_scatter(B(M, [True, False, True]), M.ones(6)), RuntimeError,
     "same dtypes"),
    ("index_put_past", lambda M, x: x.index_put((I(M, [0, 2]),), M.tensor(1.0, dtype=M.float64)), IndexError,
     "index 2 is out of bounds for dimension 0 with size 2"),
    ("index_put_float", lambda M, x: x.index_put((M.tensor([0.0]),), M.tensor(1.0, dtype=M.float64)), IndexError,
     "must be long"),
    ("index_put_dtype", lambda M, x: x.index_put((I(M, [0]),), M.tensor(1.0)), RuntimeError, "dtypes match"),
    ("select_past", lambda M, x: x.select(0, 2), IndexError, "index 2 out of range"),
    ("select_negative_past", lambda M, x: x.select(0, -3), IndexError, "index -3 out of range"),
    ("one_hot_past", lambda M, x: M.nn.functional.one_hot(I(M, [0, 3]), 3), RuntimeError, "smaller than num_classes"),
    ("one_hot_negative", lambda M, x: M.nn.functional.one_hot(I(M, [-1]), 3), RuntimeError, "non-negative"),
    ("one_hot_float", lambda M, x: M.nn.functional.one_hot(x), RuntimeError, "LongTensor"),
    ("one_hot_empty_infer", lambda M, x: M.nn.functional.one_hot(M.zeros(0, dtype=M.long)), RuntimeError,
     "empty tensor"),
    ("take_along_dim_ndim", lambda M, x: M.take_along_dim(x, I(M, [0]), dim=1), RuntimeError,
     "same number of dimensions"),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_as_torch(case, torch):
    name, fn, exc, msg = case
    with pytest.raises(exc):
        fn(torch, torch.tensor(X))
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")):
        fn(ember, ember.tensor(X))


def test_out_of_range_is_an_index_error_everywhere():
    x = ember.tensor(X)
    for f in (lambda: x.gather(1, ember.tensor([[0, 7]])), lambda: x.scatter_add(0, ember.tensor([[3]]), x),
              lambda: x.index_add(0, ember.tensor([-1]), x[:1]), lambda: x.take(ember.tensor([-9]))):
        with pytest.raises(IndexError):
            f()


SECOND = [  # second-order gradients against torch's double backward
    ("gather", lambda M, a, s: (a * a).gather(1, I(M, DUP)) * s.sum()),
    ("scatter_add", lambda M, a, s: a.scatter_add(1, I(M, DUP), s * s)),
    ("scatter_reduce_mean", lambda M, a, s: a.scatter_reduce(1, I(M, DUP), s * s, "mean", include_self=False)),
    ("scatter_reduce_prod", lambda M, a, s: a.scatter_reduce(1, I(M, DUP), s, "prod")),
    ("index_add", lambda M, a, s: (a * a)[:, :3].index_add(0, I(M, [2, 2]), s * s)),
    ("masked_fill_take", lambda M, a, s: M.take(a.masked_fill(B(M, MASK), 1.0) ** 2, I(M, [0, 1, 1])) * s.sum()),
]


@pytest.mark.parametrize("case", SECOND, ids=[c[0] for c in SECOND])
def test_double_backward_against_torch(case, torch):
    name, fn = case
    arrays = _inputs([(3, 4), (2, 3)], np.float64, seed=5)
    res = []
    for M in (ember, torch):
        xs = [M.tensor(a, requires_grad=True) for a in arrays]
        y = fn(M, *xs)
        gs = M.autograd.grad(y.sum(), xs, create_graph=True)
        total = sum((g * g).sum() for g in gs)
        res.append([v.detach().numpy() for v in M.autograd.grad(total, xs, allow_unused=True)
                    if v is not None])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def test_non_contiguous_inputs_and_keywords(torch):
    a = np.random.default_rng(7).standard_normal((4, 3))
    for M in (ember, torch):
        x = M.tensor(a, requires_grad=True)
        xt = x.transpose(0, 1)  # (3, 4), not contiguous
        y = xt.gather(1, I(M, DUP)).sum() + xt.scatter(1, I(M, UNIQ), value=2.0).sum() + \
            xt.index_select(1, I(M, [3, 0])).pow(2).sum()
        y.backward()
        z = M.zeros(3, 4)
        z.scatter_(1, I(M, DUP), 2.0, reduce="add")
        z.index_put_((I(M, [0, 0]), I(M, [1, 1])), M.tensor(1.0), accumulate=True)
        if M is ember:
            e = (y.item(), x.grad.numpy().copy(), z.numpy().copy())
        else:
            np.testing.assert_allclose(e[0], y.item(), rtol=1e-12)
            np.testing.assert_allclose(e[1], x.grad.numpy(), rtol=1e-12)
            np.testing.assert_array_equal(e[2], z.numpy())
