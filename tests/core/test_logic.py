"""Comparison and logic (ember/ops/logic.py) against PyTorch 2.13: values, dtypes (bool, no
gradient), broadcasting, scalars; fmax/fmin values and gradients; where(cond)."""
import math

import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

A = np.array([[1.0, 2.0, math.nan, -math.inf], [0.0, -0.0, 3.0, math.inf]])
B = np.array([2.0, 2.0, math.nan, 1.0])
I = np.array([[0, 1, 2, -3], [5, 6, 7, 8]])
J = np.array([3, 1, 0, -1])
BOOL = np.array([[True, False, True, False], [False, False, True, True]])

# name, fn(m, *xs), inputs
CASES = [
    ("eq", lambda m, a, b: m.eq(a, b), (A, B)),
    ("ne", lambda m, a, b: a.ne(b), (A, B)),
    ("lt", lambda m, a, b: m.lt(a, b), (A, B)),
    ("le", lambda m, a, b: a.le(b), (A, B)),
    ("gt", lambda m, a, b: m.gt(a, b), (A, B)),
    ("ge", lambda m, a, b: a.ge(b), (A, B)),
    ("eq_scalar", lambda m, a: m.eq(a, 2.0), (A,)),
    ("gt_scalar", lambda m, a: a.gt(0), (A,)),
    ("greater_equal", lambda m, a, b: m.greater_equal(a, b), (A, B)),
    ("less", lambda m, a, b: m.less(a, b), (I, J)),
    ("not_equal", lambda m, a, b: m.not_equal(a, b), (I, J)),
    ("operators", lambda m, a, b: (a < b) | (a == b) | ~(a >= b), (A, B)),
    ("isclose", lambda m, a, b: m.isclose(a, b), (A, B)),
    ("isclose_nan", lambda m, a, b: m.isclose(a, b, rtol=0.5, atol=0.1, equal_nan=True), (A, B)),
    ("isnan", lambda m, a: m.isnan(a), (A,)),
    ("isinf", lambda m, a: a.isinf(), (A,)),
    ("isposinf", lambda m, a: m.isposinf(a), (A,)),
    ("isneginf", lambda m, a: m.isneginf(a), (A,)),
    ("isfinite", lambda m, a: m.isfinite(a), (A,)),
    ("isfinite_int", lambda m, a: m.isfinite(a), (I,)),
    ("isinf_int", lambda m, a: m.isinf(a), (I,)),
    ("isreal", lambda m, a: m.isreal(a), (A,)),
    ("logical_and", lambda m, a, b: m.logical_and(a, b), (A, B)),
    ("logical_or", lambda m, a, b: a.logical_or(b), (I, J)),
    ("logical_xor", lambda m, a, b: m.logical_xor(a, b), (BOOL, J)),
    ("logical_not", lambda m, a: m.logical_not(a), (A,)),
    ("bitwise_and", lambda m, a, b: m.bitwise_and(a, b), (I, J)),
    ("bitwise_or", lambda m, a, b: a.bitwise_or(b), (I, J)),
    ("bitwise_xor", lambda m, a, b: m.bitwise_xor(a, b), (I, J)),
    ("bitwise_not", lambda m, a: m.bitwise_not(a), (I,)),
    ("bitwise_not_bool", lambda m, a: a.bitwise_not(), (BOOL,)),
    ("bitwise_and_bool", lambda m, a, b: a & b, (BOOL, BOOL[::-1].copy())),
    ("xor_operator", lambda m, a, b: a ^ b, (I, J)),
    ("invert_bool", lambda m, a: ~a, (BOOL,)),
    ("bitwise_scalar", lambda m, a: m.bitwise_and(a, 6), (I,)),
    ("fmax", lambda m, a, b: m.fmax(a, b), (A, B)),
    ("fmin", lambda m, a, b: a.fmin(b), (A, B)),
    ("where3", lambda m, a, b: m.where(a > 1, a, b), (A, B)),
    ("where3_scalar", lambda m, a: m.where(a > 1, a, 0.0), (A,)),
    ("where_method", lambda m, a, b: a.where(a > 1, b), (A, B)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, torch):
    name, fn, inputs = case
    ey = fn(ember, *[ember.tensor(x) for x in inputs])
    ty = fn(torch, *[torch.tensor(x) for x in inputs])
    assert str(ey.dtype).replace("ember.", "") == str(ty.dtype).replace("torch.", ""), (ey.dtype, ty.dtype)
    assert not ey.requires_grad
    np.testing.assert_array_equal(ey.numpy(), ty.numpy())


def test_results_are_bool_without_grad_even_for_inputs_that_require_it():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    for r in (ember.eq(a, 1.0), a.isnan(), ember.logical_not(a), ember.isclose(a, a), a.lt(2)):
        assert r.dtype == np.bool_ and not r.requires_grad and r.grad_fn is None


def test_equal_and_allclose_are_python_bools(torch):
    pairs = [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.0 + 1e-7]), ([1.0], [1.0, 1.0]),
             ([math.nan], [math.nan]), ([1.0, 2.0], [1.0, 3.0])]
    for a, b in pairs:
        for f in ("equal", "allclose"):
            e = getattr(ember, f)(ember.tensor(a), ember.tensor(b)) if f == "equal" or len(a) == len(b) else None
            if e is None:
                continue
            t = getattr(torch, f)(torch.tensor(a), torch.tensor(b))
            assert type(e) is bool and e == t, (f, a, b)
    assert ember.allclose(ember.tensor([math.nan]), ember.tensor([math.nan]), equal_nan=True)
    assert ember.tensor([1.0, 2.0]).equal(ember.tensor([1.0, 2.0]))


def test_bitwise_on_floats_raises_like_torch(torch):
    for f in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
            getattr(ember, f)(ember.tensor([1.0]), ember.tensor([2.0]))
        with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
            getattr(torch, f)(torch.tensor([1.0]), torch.tensor([2.0]))
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        ember.bitwise_not(ember.tensor([1.0]))


@pytest.mark.parametrize("x", [BOOL, I, np.array(3), np.array([[0.0, 1.5], [2.0, 0.0]]), np.zeros((2, 0))],
                         ids=["bool", "int", "0d", "float", "empty"])
def test_where_with_one_argument_is_nonzero_as_tuple(x, torch):
    e = ember.where(ember.tensor(x) != 0)
    t = torch.where(torch.tensor(x) != 0)
    assert isinstance(e, tuple) and len(e) == len(t)
    for a, b in zip(e, t):
        assert a.dtype == np.int64
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_comparison_operators_still_work():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (a < 2, a <= 2, a > 2, a >= 2, a == 2, a != 2):
        assert r.dtype == np.bool_ and not r.requires_grad
    np.testing.assert_array_equal((a > 1.5).numpy(), [False, True, True])


# ----- fmax / fmin: gradients -----

FM = [
    ("fmax", lambda m, a, b: m.fmax(a, b)),
    ("fmin", lambda m, a, b: m.fmin(a, b)),
]


@pytest.mark.parametrize("case", FM, ids=[c[0] for c in FM])
def test_fmax_fmin_gradcheck(case):
    name, fn = case
    r = np.random.default_rng(0)
    xs = [ember.tensor(r.standard_normal((3, 4)), requires_grad=True),
          ember.tensor(r.standard_normal((4,)), requires_grad=True)]
    assert ember.gradcheck(lambda a, b: fn(ember, a, b), xs)
    assert gradgradcheck(lambda a, b: fn(ember, a, b) * a, xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", FM, ids=[c[0] for c in FM])
def test_fmax_fmin_gradients_against_torch_with_ties_and_nan(case, dtype, torch):
    name, fn = case
    a = np.array([[1.0, 2.0, math.nan, 0.5], [math.nan, 2.0, -1.0, 3.0]], dtype)
    b = np.array([1.0, 1.0, 4.0, math.nan], dtype)
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ey, ty = fn(ember, ea, eb), fn(torch, ta, tb)
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    g = np.arange(8, dtype=dtype).reshape(2, 4) + 1
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ea.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(eb.grad.numpy(), tb.grad.numpy())
