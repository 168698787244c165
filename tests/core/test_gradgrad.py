"""Gradients of gradients (create_graph=True): the activations' first- and second-order checks,
second-order results against PyTorch, and the NaN / inf / tie rules holding in both modes."""
import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck


def _away_from(x, points, gap=0.05):
    """``x`` with every element moved at least ``gap`` from each of ``points`` (the kinks,
    where finite differences straddle two branches)."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap) * 2
    return x


def _x(shape, kinks=(), seed=0, scale=1.5):
    return _away_from(np.random.default_rng(seed).standard_normal(shape) * scale, kinks)


# name, fn(m, x) with m the library (ember or torch: the same call runs on both), shape, kinks
ACTIVATIONS = [
    ("erf", lambda m, x: m.erf(x), (3, 4), ()),
    ("leaky_relu", lambda m, x: m.nn.functional.leaky_relu(x, negative_slope=0.2), (3, 4), (0,)),
    ("elu", lambda m, x: m.nn.functional.elu(x, alpha=0.7), (3, 4), (0,)),
    ("gelu", lambda m, x: m.nn.functional.gelu(x), (3, 4), ()),
    ("gelu_tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), (3, 4), ()),
    ("silu", lambda m, x: m.nn.functional.silu(x), (3, 4), ()),
    ("softplus", lambda m, x: m.nn.functional.softplus(x, beta=2.0, threshold=5.0), (3, 4), (2.5,)),
    ("hardtanh", lambda m, x: m.nn.functional.hardtanh(x, min_val=-0.8, max_val=0.6), (3, 4), (-0.8, 0.6)),
    ("relu6", lambda m, x: m.nn.functional.relu6(x * 4), (3, 4), (0, 1.5)),
    ("softmax", lambda m, x: m.nn.functional.softmax(x, dim=1), (3, 4), ()),
    ("log_softmax", lambda m, x: m.nn.functional.log_softmax(x, dim=0), (3, 4), ()),
]


def _on(m, fn):
    return lambda *xs: fn(m, *xs)


@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation_gradcheck(case):
    name, fn, shape, kinks = case
    x = ember.tensor(_x(shape, kinks), requires_grad=True)
    assert ember.gradcheck(_on(ember, fn), [x])


@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation_gradgradcheck(case):
    name, fn, shape, kinks = case
    x = ember.tensor(_x(shape, kinks), requires_grad=True)
    assert gradgradcheck(_on(ember, fn), [x])


@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c[0] for c in ACTIVATIONS])
def test_activation_recorded_backward_gives_the_same_gradient_in_float32(case):
    name, fn, shape, kinks = case
    x0 = _x(shape, kinks).astype(np.float32)
    g = ember.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    grads = []
    for create_graph in (False, True):
        x = ember.tensor(x0, requires_grad=True)
        (gx,) = ember.autograd.grad(_on(ember, fn)(x), x, g, create_graph=create_graph)
        assert gx.dtype == np.float32
        grads.append(gx.detach().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-7)


def _second_order_ember(fn, arrays, g, h):
    """(d<grad, h>/dx for each input, d<grad, h>/dg): the gradient of the first gradient
    (taken with create_graph=True) along ``h``, with respect to the inputs and to ``g``."""
    xs = [ember.tensor(a, requires_grad=True) for a in arrays]
    gt = ember.tensor(g, requires_grad=True)
    y = fn(*xs)
    gxs = ember.autograd.grad(y, xs, gt, create_graph=True)
    s = sum((gx * ember.tensor(hk)).sum() for gx, hk in zip(gxs, h))
    second = ember.autograd.grad(s, xs + [gt], allow_unused=True)
    return [gx.detach().numpy() for gx in gxs], [None if d is None else d.numpy() for d in second]


def _second_order_torch(torch, fn, arrays, g, h):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    gt = torch.tensor(g, requires_grad=True)
    y = fn(*xs)
    gxs = torch.autograd.grad(y, xs, gt, create_graph=True)
    s = sum((gx * torch.tensor(hk)).sum() for gx, hk in zip(gxs, h))
    second = torch.autograd.grad(s, xs + [gt], allow_unused=True)
    return [gx.detach().numpy() for gx in gxs], [None if d is None else d.numpy() for d in second]


def _compare_second_order(torch, fn, tfn, arrays, rtol=1e-10, atol=1e-12):
    r = np.random.default_rng(5)
    y = fn(*[ember.tensor(a) for a in arrays])
    g = r.standard_normal(y.shape)
    h = [r.standard_normal(a.shape) for a in arrays]
    e1, e2 = _second_order_ember(fn, arrays, g, h)
    t1, t2 = _second_order_torch(torch, tfn, arrays, g, h)
    assert len(e2) == len(t2) == len(arrays) + 1
    for a, b in zip(e1, t1):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for a, b in zip(e2, t2):
        if a is None or b is None:  # the gradient does not depend on it: None, or zeros
            assert not np.any(a) and not np.any(b)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "name", ["erf", "elu", "gelu", "gelu_tanh", "silu", "softplus", "softmax", "log_softmax", "leaky_relu"]
)
def test_activation_second_order_against_torch(name, torch):
    _, fn, shape, kinks = next(c for c in ACTIVATIONS if c[0] == name)
    _compare_second_order(torch, _on(ember, fn), _on(torch, fn), [_x(shape, kinks, seed=3)])


def _pos(shape, seed):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def _amax(m, a, **kw):
    return a.amax(**kw)


# core ops whose second derivative is not trivially zero, against PyTorch:
# name, fn(m, *inputs), input shapes, positive inputs
CORE_SECOND_ORDER = [
    ("div", lambda m, a, b: a / b, [(3, 4), (4,)], True),
    ("pow_tensor", lambda m, a, b: a**b, [(3, 2), (2,)], True),
    ("rpow", lambda m, a: 2.0**a, [(4,)], False),
    ("pow_scalar", lambda m, a: a**3, [(3, 2)], False),
    ("log", lambda m, a: a.log(), [(2, 5)], True),
    ("sqrt", lambda m, a: a.sqrt(), [(2, 5)], True),
    ("abs_times_x", lambda m, a: a.abs() * a, [(2, 5)], False),
    ("tanh", lambda m, a: a.tanh(), [(2, 5)], False),
    ("sigmoid", lambda m, a: a.sigmoid(), [(2, 5)], False),
    ("matmul_bcast", lambda m, a, b: a @ b, [(2, 1, 3, 4), (3, 4, 2)], False),
    ("matmul_vec", lambda m, a, b: (a @ b) ** 2, [(3, 4), (4,)], False),
    ("var", lambda m, a: a.var(dim=1), [(3, 5)], False),
    ("std", lambda m, a: a.std(dim=0), [(4, 3)], False),
    ("mean_square", lambda m, a: a.mean(dim=0) ** 2, [(4, 3)], False),
    ("logsumexp", lambda m, a: a.logsumexp(dim=1), [(3, 5)], False),
    ("amax_square", lambda m, a: _amax(m, a, dim=1) ** 2, [(3, 5)], False),
    ("maximum_product", lambda m, a, b: m.maximum(a, b) * a, [(3, 4), (4,)], False),
    ("clamp_square", lambda m, a: a.clamp(-0.5, 0.7) ** 2, [(4, 5)], False),
    ("where_product", lambda m, a, b: m.where(a > 0, a * b, b * b), [(3, 4), (4,)], False),
    ("getitem_fancy_square", lambda m, a: a[[0, 2, 0]] ** 2, [(4, 5)], False),
    ("getitem_int_square", lambda m, a: a[1, 2] ** 2, [(4, 5)], False),
    ("permute_expand", lambda m, a: (a.permute(1, 0).unsqueeze(0).expand(2, 3, 2) ** 2).reshape(2, 6), [(2, 3)], False),
    ("split_product", lambda m, a: a.split(2, dim=1)[0] * a.split(2, dim=1)[1], [(3, 4)], False),
    ("cat_stack_square", lambda m, a, b: m.stack([m.cat([a, b], dim=1) ** 2] * 2, dim=0), [(2, 3), (2, 2)], False),
]


@pytest.mark.parametrize("case", CORE_SECOND_ORDER, ids=[c[0] for c in CORE_SECOND_ORDER])
def test_core_second_order_against_torch(case, torch):
    name, fn, shapes, pos = case
    arrays = [_pos(s, k) if pos else np.random.default_rng(k).standard_normal(s) for k, s in enumerate(shapes)]
    _compare_second_order(torch, _on(ember, fn), _on(torch, fn), arrays)


def test_pad_second_order_against_torch(torch):
    a = np.random.default_rng(0).standard_normal((2, 3))
    _compare_second_order(torch, lambda x: ember.pad(x**2, ((1, 0), (0, 2))),
                          lambda x: torch.nn.functional.pad(x**2, (0, 2, 1, 0)), [a])


# ----- the special-value rules hold when the backward is recorded, too -----


def _first_order(fn, arrays, g, create_graph):
    xs = [ember.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    gs = ember.autograd.grad(y, xs, ember.tensor(g), create_graph=create_graph, allow_unused=True)
    return y.detach().numpy(), [None if v is None else v.detach().numpy() for v in gs]


nan, inf = np.nan, np.inf
# name, fn(m, *inputs), inputs
SPECIAL = [
    ("relu_nan", lambda m, a: a.relu(), [np.array([-1.0, 0.0, 2.0, nan, -inf, inf])]),
    ("abs_nan_zero", lambda m, a: a.abs(), [np.array([-1.0, 0.0, 2.0, nan, -inf])]),
    ("maximum_ties_nan", lambda m, a, b: m.maximum(a, b),
     [np.array([1.0, 2.0, nan, 3.0, -inf]), np.array([1.0, 3.0, 0.0, nan, -inf])]),
    ("minimum_ties_nan", lambda m, a, b: m.minimum(a, b),
     [np.array([1.0, 2.0, nan, 3.0, inf]), np.array([1.0, 3.0, 0.0, nan, inf])]),
    ("clamp_ends_nan", lambda m, a: a.clamp(-1.0, 1.0), [np.array([-2.0, -1.0, 0.5, 1.0, 3.0, nan])]),
    ("amax_ties", lambda m, a: _amax(m, a, dim=1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [nan, 1.0, 0.0]])]),
    ("sigmoid_tails", lambda m, a: a.sigmoid(), [np.array([-800.0, -100.0, 0.0, 100.0, 800.0])]),
    ("logsumexp_inf", lambda m, a: a.logsumexp(dim=1), [np.array([[-inf, -inf], [0.0, -inf], [1.0, 2.0]])]),
    ("softmax_minus_inf", lambda m, a: m.nn.functional.softmax(a, dim=1),
     [np.array([[-inf, 0.0, 1.0], [2.0, -inf, 2.0]])]),
    ("log_softmax_minus_inf", lambda m, a: m.nn.functional.log_softmax(a, dim=1),
     [np.array([[-inf, 0.0, 1.0], [2.0, 3.0, 2.0]])]),
    ("pow_zero_exponent", lambda m, a, b: a**b, [np.array([0.0, 2.0, 0.0]), np.array([0.0, 0.0, 1.0])]),
    ("pow_scalar_zero", lambda m, a: a**0, [np.array([0.0, 2.0, -1.0])]),
    ("hardtanh_corners", lambda m, a: m.nn.functional.hardtanh(a), [np.array([-2.0, -1.0, 0.0, 1.0, 2.0, nan])]),
    ("gelu_extremes", lambda m, a: m.nn.functional.gelu(a), [np.array([-1e3, -50.0, 0.0, 50.0, 1e3])]),
    ("silu_extremes", lambda m, a: m.nn.functional.silu(a), [np.array([-800.0, -50.0, 0.0, 50.0, 800.0])]),
    ("erf_extremes", lambda m, a: m.erf(a), [np.array([-1e200, -30.0, 0.0, 30.0, 1e200])]),
]


@pytest.mark.parametrize("case", SPECIAL, ids=[c[0] for c in SPECIAL])
def test_special_values_in_both_modes_match_torch(case, torch):
    name, fn, arrays = case
    g = np.random.default_rng(0).standard_normal(fn(ember, *[ember.tensor(a) for a in arrays]).shape)
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = fn(torch, *xs)
    tg = torch.autograd.grad(ty, xs, torch.tensor(g), allow_unused=True)
    for create_graph in (False, True):
        y, gs = _first_order(_on(ember, fn), arrays, g, create_graph)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, equal_nan=True)
        for e, t in zip(gs, tg):
            np.testing.assert_allclose(e, t.numpy(), rtol=1e-12, atol=1e-300, equal_nan=True,
                                       err_msg=f"create_graph={create_graph}")


def test_pow_exponent_gradient_is_zero_for_a_nonpositive_base_in_both_modes():
    # d(a**b)/db = a**b log(a) where a > 0, else 0: the limit at a == 0, and 0 (PyTorch: NaN)
    # for a negative base, whose power is real only at integer exponents
    a = np.array([0.0, -2.0, 3.0, -1.0])
    b = np.array([2.0, 3.0, 1.5, 2.0])
    g = np.ones(4)
    want = np.array([0.0, 0.0, 3.0**1.5 * np.log(3.0), 0.0])
    for create_graph in (False, True):
        _, (_, gb) = _first_order(lambda x, e: x**e, [a, b], g, create_graph)
        np.testing.assert_allclose(gb, want, rtol=1e-14)


def test_relu_second_order_is_zero_and_the_mask_stays_a_constant():
    x = ember.tensor(np.array([-1.0, 0.5, 2.0, np.nan]), requires_grad=True)
    g = ember.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    (gx,) = ember.autograd.grad(x.relu(), x, g, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), [0.0, 2.0, 3.0, 4.0])
    dx, dg = ember.autograd.grad(gx.sum(), [x, g], allow_unused=True)
    assert dx is None or not dx.numpy().any()
    np.testing.assert_array_equal(dg.numpy(), [0.0, 1.0, 1.0, 1.0])


def test_third_order_of_exp_and_tanh(torch):
    # a backward recorded inside a recorded backward: the third derivative
    a = np.array([0.3, -1.2, 2.0])
    for name in ("exp", "tanh"):
        x = ember.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y, ty = getattr(x, name)(), getattr(tx, name)()
        (g1,) = ember.autograd.grad(y.sum(), x, create_graph=True)
        (g2,) = ember.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = ember.autograd.grad(g2.sum(), x)
        (t1,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
        (t2,) = torch.autograd.grad(t1.sum(), tx, create_graph=True)
        (t3,) = torch.autograd.grad(t2.sum(), tx)
        np.testing.assert_allclose(g3.numpy(), t3.numpy(), rtol=1e-12)


def test_getitem_and_index_add_are_each_others_backward():
    # x[idx] records GetItem; its recorded backward is IndexAdd (scatter into zeros), whose own
    # backward is GetItem again: gradients of every order pass through repeated indices
    x = ember.tensor(np.arange(5.0), requires_grad=True)
    idx = [0, 2, 0, 4]
    (g1,) = ember.autograd.grad((x[idx] ** 3).sum(), x, create_graph=True)
    assert g1.grad_fn.name() == "IndexAddBackward0"
    np.testing.assert_allclose(g1.detach().numpy(), [0.0, 0, 12, 0, 48])  # 3 x^2, twice at 0
    (g2,) = ember.autograd.grad(g1.sum(), x)
    np.testing.assert_allclose(g2.numpy(), [0.0, 0, 12, 0, 24])  # 6 x, twice at 0


@pytest.mark.parametrize("fn", [lambda a: a.sum().exp(), lambda a: a.sum().tanh(), lambda a: (a.sum() + 1).sqrt(),
                                lambda a: a.sum().sigmoid(), lambda a: a.std()], ids=["exp", "tanh", "sqrt", "sigmoid", "std"])
def test_second_order_through_an_op_on_a_0d_tensor(fn):
    # a ufunc on a 0-d array returns a NumPy scalar: the saved output must still be the output
    x = ember.tensor(np.random.default_rng(12).uniform(0.5, 1.0, 3), requires_grad=True)
    assert gradgradcheck(fn, [x])
