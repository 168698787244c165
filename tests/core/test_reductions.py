"""Reductions and cumulative ops against PyTorch 2.13: max/min with (values, indices) named
tuples, amax/amin/aminmax, argmax/argmin, prod, norm, var_mean/std_mean, nansum/nanmean,
count_nonzero, any/all, cumsum/cumprod/logcumsumexp/cummax/cummin. Differentiable rows get
float64 gradcheck and gradgradcheck and values + gradients vs torch in float32 and float64."""
import math

import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

# name, fn(m, x) -> a tensor, input shape, positive inputs
CASES = [
    ("max_dim", lambda m, x: m.max(x, 1).values, (3, 5), False),
    ("max_dim_kw_keepdim", lambda m, x: x.max(dim=1, keepdim=True)[0], (3, 5), False),
    ("max_dim_neg", lambda m, x: x.max(-1).values, (2, 3, 4), False),
    ("min_dim", lambda m, x: m.min(x, dim=0).values, (3, 5), False),
    ("min_dim_unpacked", lambda m, x: x.min(2, True)[0] * 2, (2, 3, 4), False),
    ("max_all", lambda m, x: x.max(), (3, 5), False),
    ("min_all", lambda m, x: m.min(x), (3, 5), False),
    ("max_other", lambda m, x: m.max(x, x * -1.0), (4, 3), False),
    ("amax_tuple", lambda m, x: m.amax(x, dim=(0, 2)), (2, 3, 4), False),
    ("amax_keep", lambda m, x: x.amax(1, keepdim=True), (3, 5), False),
    ("amin_all", lambda m, x: m.amin(x), (3, 5), False),
    ("aminmax_min", lambda m, x: m.aminmax(x, dim=1).min, (3, 5), False),
    ("aminmax_max", lambda m, x: x.aminmax(dim=0, keepdim=True)[1], (3, 5), False),
    ("aminmax_all", lambda m, x: m.aminmax(x).max * 2 + m.aminmax(x).min, (3, 5), False),
    ("prod_all", lambda m, x: x.prod(), (2, 3), True),
    ("prod_dim", lambda m, x: m.prod(x, 1), (3, 4), False),
    ("prod_dim_keep", lambda m, x: x.prod(dim=0, keepdim=True), (3, 4), False),
    ("norm", lambda m, x: x.norm(), (3, 4), False),
    ("norm_fro_dim", lambda m, x: m.norm(x, p="fro", dim=(0, 1)), (3, 4, 2), False),
    ("norm_2_dim", lambda m, x: m.norm(x, 2, 1), (3, 4), False),
    ("norm_1", lambda m, x: x.norm(p=1, dim=0, keepdim=True), (3, 4), False),
    ("norm_inf", lambda m, x: m.norm(x, p=math.inf, dim=1), (3, 4), False),
    ("norm_neg_inf", lambda m, x: m.norm(x, p=-math.inf), (3, 4), False),
    ("norm_3", lambda m, x: m.norm(x, p=3, dim=1), (3, 4), False),
    ("norm_half", lambda m, x: m.norm(x, p=0.5), (3, 4), True),
    ("var_mean_var", lambda m, x: m.var_mean(x, 1)[0], (3, 5), False),
    ("var_mean_mean", lambda m, x: m.var_mean(x, dim=0, keepdim=True)[1], (3, 5), False),
    ("var_mean_corr", lambda m, x: m.var_mean(x, dim=(0, 1), correction=0)[0], (3, 5), False),
    ("var_mean_unbiased", lambda m, x: m.var_mean(x, 1, False)[0], (3, 5), False),
    ("std_mean_std", lambda m, x: m.std_mean(x, dim=1)[0], (3, 5), False),
    ("std_mean_all", lambda m, x: m.std_mean(x, dim=(0, 1), keepdim=True)[0] + m.std_mean(x)[1], (3, 5), False),
    ("nansum", lambda m, x: m.nansum(x, dim=1), (3, 5), False),
    ("nansum_all", lambda m, x: x.nansum(), (3, 5), False),
    ("nanmean", lambda m, x: m.nanmean(x, dim=0, keepdim=True), (3, 5), False),
    ("cumsum", lambda m, x: m.cumsum(x, 1), (3, 5), False),
    ("cumsum_dim0", lambda m, x: x.cumsum(dim=0), (3, 5), False),
    ("cumprod", lambda m, x: m.cumprod(x, dim=1), (3, 5), False),
    ("cumprod_neg", lambda m, x: x.cumprod(-2), (4, 3), False),
    ("logcumsumexp", lambda m, x: m.logcumsumexp(x, 1), (3, 5), False),
    ("logcumsumexp_dim0", lambda m, x: x.logcumsumexp(dim=0), (4, 3), False),
    ("cummax", lambda m, x: m.cummax(x, 1).values, (3, 5), False),
    ("cummin", lambda m, x: x.cummin(dim=0)[0], (4, 3), False),
    ("logsumexp", lambda m, x: m.logsumexp(x, dim=(0, 1)), (3, 5), False),
]


def _x(shape, pos, dtype, seed):
    r = np.random.default_rng(seed)
    return (r.uniform(0.5, 2.0, shape) if pos else r.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, shape, pos = case
    x = ember.tensor(_x(shape, pos, np.float64, 0), requires_grad=True)
    assert ember.gradcheck(lambda a: fn(ember, a), [x])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case):
    name, fn, shape, pos = case
    x = ember.tensor(_x(shape, pos, np.float64, 0), requires_grad=True)
    assert gradgradcheck(lambda a: fn(ember, a), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, shape, pos = case
    a = _x(shape, pos, dtype, 1)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ey, ty = fn(ember, e), fn(torch, t)
    assert tuple(ey.shape) == tuple(ty.shape) and ey.dtype == dtype
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **tol)
    g = np.random.default_rng(2).standard_normal(ey.shape).astype(dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)


# ----- the named tuples -----

NAMED = [
    ("max", lambda m, x: m.max(x, 1)), ("max_kw", lambda m, x: x.max(dim=0, keepdim=True)),
    ("min", lambda m, x: x.min(1)), ("min_keep", lambda m, x: m.min(x, -1, True)),
    ("cummax", lambda m, x: m.cummax(x, 1)), ("cummin", lambda m, x: x.cummin(0)),
    ("aminmax", lambda m, x: m.aminmax(x, dim=1)),
]
TIES = np.array([[1.0, 3.0, 3.0, 0.0, 3.0], [2.0, 2.0, 1.0, 1.0, 5.0], [math.nan, 1.0, math.nan, 7.0, 7.0],
                 [0.0, -1.0, 0.0, -1.0, 0.0]])


@pytest.mark.parametrize("case", NAMED, ids=[c[0] for c in NAMED])
def test_named_tuples_match_torch_with_ties_and_nan(case, torch):
    name, fn = case
    e, t = ember.tensor(TIES, requires_grad=True), torch.tensor(TIES, requires_grad=True)
    er, tr = fn(ember, e), fn(torch, t)
    assert type(er).__name__ == type(tr).__name__ and isinstance(er, tuple) and len(er) == 2
    assert type(er) is getattr(ember.return_types, type(tr).__name__)
    assert er._fields == (("min", "max") if name == "aminmax" else ("values", "indices"))
    assert (er[0] is er._fields and False) or getattr(er, er._fields[0]) is er[0]
    first, second = er
    assert first is er[0] and second is er[1]
    for a, b in zip(er, tr):
        assert str(a.dtype).replace("ember.", "") == str(b.dtype).replace("torch.", "")
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    g = np.arange(int(np.prod(er[0].shape)), dtype=np.float64).reshape(er[0].shape) + 1
    er[0].backward(ember.tensor(g), retain_graph=True)
    tr[0].backward(torch.tensor(g), retain_graph=True)
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    assert repr(er).startswith(f"ember.return_types.{name.split('_')[0]}(")


def test_max_fields_and_full_reductions(torch):
    x = ember.tensor([[1.0, 5.0], [5.0, 2.0]], requires_grad=True)
    r = x.max(dim=1)
    assert r.values.shape == (2,) and r.indices.dtype == np.int64 and r.indices.numpy().tolist() == [1, 0]
    v, i = ember.max(x, 0)
    assert v.tolist() == [5.0, 5.0] and i.tolist() == [1, 0] and v.requires_grad and not i.requires_grad
    m = x.max()
    assert m.shape == () and float(m) == 5.0
    m.backward()  # ties of the full max share the gradient evenly, as torch 2.13
    t = torch.tensor([[1.0, 5.0], [5.0, 2.0]], requires_grad=True)
    t.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_max_and_min_of_two_tensors_are_maximum_and_minimum(torch):
    a, b = np.array([[1.0, -2.0, 3.0]]), np.array([0.5, 0.0, 3.0])
    for f in ("max", "min"):
        for call in (lambda m, x, y: getattr(m, f)(x, y), lambda m, x, y: getattr(m, f)(x, other=y),
                     lambda m, x, y: getattr(x, f)(y)):
            xe, ye = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
            xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
            re, rt = call(ember, xe, ye), call(torch, xt, yt)
            np.testing.assert_array_equal(re.detach().numpy(), rt.detach().numpy())
            re.sum().backward()
            rt.sum().backward()
            np.testing.assert_array_equal(xe.grad.numpy(), xt.grad.numpy())
            np.testing.assert_array_equal(ye.grad.numpy(), yt.grad.numpy())


def test_max_errors_like_torch(torch):
    x = ember.tensor([[1.0, 2.0]])
    with pytest.raises(TypeError):
        x.max(dim=(0, 1))
    with pytest.raises(IndexError):
        x.max(2)
    with pytest.raises(IndexError):
        torch.tensor([[1.0, 2.0]]).max(2)
    with pytest.raises(RuntimeError):
        ember.tensor(np.zeros((0, 3))).max()
    with pytest.raises(RuntimeError):
        torch.zeros(0, 3).max()
    with pytest.raises(IndexError):
        ember.tensor(np.zeros((0, 3))).max(0)


def test_max_of_0d_tensor(torch):
    e, t = ember.tensor(3.0).max(0), torch.tensor(3.0).max(0)
    assert e.values.shape == () and float(e.values) == float(t.values) and int(e.indices) == int(t.indices)


# ----- the reductions without gradients -----

NOGRAD = [
    ("argmax", lambda m, x: m.argmax(x)), ("argmax_dim", lambda m, x: x.argmax(dim=1)),
    ("argmax_keep", lambda m, x: m.argmax(x, 1, keepdim=True)), ("argmin_dim", lambda m, x: x.argmin(0)),
    ("argmin_none_keep", lambda m, x: m.argmin(x, keepdim=True)),
    ("count_nonzero", lambda m, x: m.count_nonzero(x)), ("count_nonzero_dim", lambda m, x: x.count_nonzero(dim=1)),
    ("count_nonzero_tuple", lambda m, x: m.count_nonzero(x, dim=(0, 1))),
    ("any", lambda m, x: m.any(x)), ("any_dim", lambda m, x: x.any(dim=1)),
    ("any_keep", lambda m, x: m.any(x, 0, keepdim=True)), ("all", lambda m, x: x.all()),
    ("all_dim", lambda m, x: m.all(x, dim=-1)), ("all_tuple", lambda m, x: m.all(x > -5, dim=(0, 1))),
    ("prod_int", lambda m, x: m.prod(x.long())), ("prod_int_dim", lambda m, x: x.int().prod(1)),
    ("cumsum_int", lambda m, x: m.cumsum(x.int(), 1)), ("cumsum_bool", lambda m, x: (x > 0).cumsum(0)),
    ("cumprod_int", lambda m, x: m.cumprod(x.long(), dim=1)), ("cummax_int", lambda m, x: m.cummax(x.long(), 1)[1]),
    ("sum_of_bools_any", lambda m, x: m.any(x > 100, dim=1)),
]
INTS = np.array([[0.0, 3.0, -2.0, 3.0], [1.0, 0.0, 0.0, 4.0], [-1.0, 2.0, 2.0, 0.0]])


@pytest.mark.parametrize("case", NOGRAD, ids=[c[0] for c in NOGRAD])
def test_integer_and_bool_reductions_against_torch(case, torch):
    name, fn = case
    ey, ty = fn(ember, ember.tensor(INTS)), fn(torch, torch.tensor(INTS))
    assert str(ey.dtype).replace("ember.", "") == str(ty.dtype).replace("torch.", "")
    assert tuple(ey.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(ey.numpy(), ty.numpy())


# ----- gradients at zeros, ties, wide ranges -----

ZEROS = [
    np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]]),
    np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 5.0], [2.0, 1.0, 0.0]]),
]


@pytest.mark.parametrize("x", ZEROS)
@pytest.mark.parametrize("op", ["prod", "cumprod"])
def test_prod_and_cumprod_gradients_with_zeros(op, x, torch):
    for dim in (0, 1):
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ye, yt = getattr(ember, op)(e, dim), getattr(torch, op)(t, dim)
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        g = np.random.default_rng(dim).standard_normal(ye.shape)
        ye.backward(ember.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_prod_all_with_a_zero_and_double_backward(torch):
    x = np.array([[2.0, 0.0], [3.0, 4.0]])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ge,) = ember.autograd.grad(ember.prod(e), [e], create_graph=True)
    (gt,) = torch.autograd.grad(torch.prod(t), [t], create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logcumsumexp_over_a_wide_range(dtype, torch):
    x = np.array([[-1000.0, 0.0, 50.0, -80.0, 700.0, 3.0], [80.0, 80.0, -math.inf, 1.0, -50.0, 0.0]], dtype)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = ember.logcumsumexp(e, 1), torch.logcumsumexp(t, 1)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    g = np.array([[1.0, -2.0, 0.5, 3.0, -1.0, 0.0], [0.0, 1.0, 2.0, -3.0, 4.0, 1.0]], dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_norm_of_zeros_has_zero_gradient(torch):
    e, t = ember.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    ember.norm(e).backward()
    torch.norm(t).backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_norm_p0_and_int_input(torch):
    x = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 3.0]])
    for kw in (dict(p=0), dict(p=0, dim=1)):
        np.testing.assert_array_equal(ember.norm(ember.tensor(x), **kw).numpy(), torch.norm(torch.tensor(x), **kw).numpy())
    with pytest.raises(RuntimeError):
        ember.norm(ember.tensor([1, 2]))


def test_nan_reductions_against_torch(torch):
    x = np.array([[1.0, math.nan, 2.0], [math.nan, math.nan, 4.0]])
    for f, kw in (("nansum", {}), ("nansum", dict(dim=1)), ("nanmean", {}), ("nanmean", dict(dim=0)),
                  ("nanmean", dict(dim=1, keepdim=True))):
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ye, yt = getattr(ember, f)(e, **kw), getattr(torch, f)(t, **kw)
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        ye.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_var_mean_returns_a_plain_tuple(torch):
    x = np.random.default_rng(0).standard_normal((3, 4))
    e, t = ember.var_mean(ember.tensor(x), 1), torch.var_mean(torch.tensor(x), 1)
    assert type(e) is tuple and len(e) == 2
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    e, t = ember.std_mean(ember.tensor(x), dim=0, unbiased=False), torch.std_mean(torch.tensor(x), dim=0, unbiased=False)
    for a, b in zip(e, t):
        np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim", [1, (1,), 0, None])
def test_amax_amin_of_empty_input_as_torch(torch, name, dim):
    # an empty result where the reduced dims are not empty; torch's error where they are
    kw = {} if dim is None else {"dim": dim}
    try:
        want = getattr(torch, name)(torch.zeros(0, 3), **kw)
    except Exception as e:
        with pytest.raises(type(e), match=r"Expected reduction dim"):
            getattr(ember, name)(ember.zeros(0, 3), **kw)
        return
    x = ember.zeros(0, 3, requires_grad=True)
    y = getattr(ember, name)(x, **kw)
    assert tuple(y.shape) == tuple(want.shape)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


def test_reduction_dims_out_of_range_raise_torchs_index_error(torch):
    """dim outside [-ndim, ndim - 1] is PyTorch's IndexError, not a wrapped axis; a 0-d tensor
    takes dim 0 and -1 (and reduces over nothing)."""
    x = np.arange(24.0).reshape(2, 3, 4)
    for lib in (ember, torch):
        t = lib.tensor(x)
        for call in (lambda: t.norm(dim=5), lambda: t.norm(dim=-4), lambda: t.sum(dim=3), lambda: t.mean(dim=(0, 3))):
            with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\]"):
                call()
        s = lib.tensor(-3.0)
        assert float(s.norm(dim=0)) == 3.0 and float(s.sum(dim=-1)) == -3.0
