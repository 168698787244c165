"""Every core op: float64 gradcheck and gradgradcheck (the gradient of the gradient, through
create_graph=True), and forward + gradients against PyTorch on random shapes (broadcasting
included). One table drives them all; each row is (name, ember fn, torch fn, input shapes,
input domain)."""
import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

POS = "pos"  # inputs drawn from (0.5, 2): log, sqrt, pow, division

# name, ember function, torch function (or None when identical), shapes, domain
CASES = [
    ("add", lambda a, b: a + b, None, [(3, 4), (4,)], None),
    ("add_bcast_both", lambda a, b: a + b, None, [(3, 1, 5), (4, 1)], None),
    ("sub", lambda a, b: a - b, None, [(2, 3), (2, 1)], None),
    ("rsub_scalar", lambda a: 2.5 - a, None, [(3,)], None),
    ("mul", lambda a, b: a * b, None, [(2, 3, 4), (3, 1)], None),
    ("rmul_scalar", lambda a: 3 * a, None, [(4,)], None),
    ("div", lambda a, b: a / b, None, [(3, 4), (4,)], POS),
    ("rdiv_scalar", lambda a: 2.0 / a, None, [(5,)], POS),
    ("pow_scalar", lambda a: a**3, None, [(3, 2)], None),
    ("pow_frac", lambda a: a**1.5, None, [(3, 2)], POS),
    ("pow_tensor", lambda a, b: a**b, None, [(3, 2), (2,)], POS),
    ("rpow", lambda a: 2.0**a, None, [(4,)], None),
    ("neg", lambda a: -a, None, [(3, 3)], None),
    ("exp", lambda a: a.exp(), None, [(2, 5)], None),
    ("log", lambda a: a.log(), None, [(2, 5)], POS),
    ("sqrt", lambda a: a.sqrt(), None, [(2, 5)], POS),
    ("abs", lambda a: a.abs(), None, [(2, 5)], None),
    ("tanh", lambda a: a.tanh(), None, [(2, 5)], None),
    ("sigmoid", lambda a: a.sigmoid(), None, [(2, 5)], None),
    ("relu", lambda a: a.relu(), None, [(4, 5)], None),
    ("maximum", lambda a, b: ember.maximum(a, b), lambda a, b: a.maximum(b), [(3, 4), (4,)], None),
    ("minimum", lambda a, b: ember.minimum(a, b), lambda a, b: a.minimum(b), [(3, 4), (3, 1)], None),
    ("clip", lambda a: a.clip(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(4, 5)], None),
    ("where", lambda a, b: ember.where(a.data > 0, a, b), lambda a, b: a.where(a > 0, b), [(3, 4), (4,)], None),
    ("matmul", lambda a, b: a @ b, None, [(3, 4), (4, 5)], None),
    ("matmul_batched", lambda a, b: a @ b, None, [(2, 3, 4), (4, 2)], None),
    ("matmul_bcast", lambda a, b: a @ b, None, [(2, 1, 3, 4), (3, 4, 2)], None),
    ("matmul_vec", lambda a, b: a @ b, None, [(3, 4), (4,)], None),
    ("vec_matmul", lambda a, b: a @ b, None, [(4,), (4, 3)], None),
    ("sum_all", lambda a: a.sum(), None, [(3, 4)], None),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), [(3, 4, 2)], None),
    ("sum_axes_keep", lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)], None),
    ("mean", lambda a: a.mean(axis=0), lambda a: a.mean(dim=0), [(3, 4)], None),
    ("mean_dim_alias", lambda a: a.mean(dim=-1, keepdim=True), None, [(3, 4)], None),
    ("max_axis", lambda a: a.amax(axis=1), lambda a: a.amax(dim=1), [(3, 5)], None),
    ("max_all", lambda a: a.max(), lambda a: a.amax(), [(3, 5)], None),
    ("min_axis", lambda a: a.amin(axis=0, keepdims=True), lambda a: a.amin(dim=0, keepdim=True), [(3, 5)], None),
    ("var", lambda a: a.var(axis=1), lambda a: a.var(dim=1), [(3, 5)], None),
    ("var_pop", lambda a: a.var(ddof=0), lambda a: a.var(unbiased=False), [(3, 5)], None),
    ("std", lambda a: a.std(axis=0), lambda a: a.std(dim=0), [(4, 3)], None),
    ("logsumexp", lambda a: a.logsumexp(axis=1), lambda a: a.logsumexp(dim=1), [(3, 5)], None),
    ("logsumexp_all", lambda a: ember.logsumexp(a), lambda a: a.logsumexp(dim=(0, 1)), [(3, 5)], None),
    ("reshape", lambda a: a.reshape(4, 6), None, [(2, 3, 4)], None),
    ("transpose_swap", lambda a: a.transpose(0, 2), None, [(2, 3, 4)], None),
    ("transpose_2d", lambda a: a.transpose(1, 0), None, [(2, 3)], None),
    ("T", lambda a: a.T, lambda a: a.T, [(2, 3)], None),
    ("permute", lambda a: a.permute(2, 0, 1), None, [(2, 3, 4)], None),
    ("flatten", lambda a: a.flatten(1), None, [(2, 3, 4)], None),
    ("squeeze", lambda a: a.squeeze(1), None, [(2, 1, 4)], None),
    ("unsqueeze", lambda a: a.unsqueeze(1), None, [(2, 4)], None),
    ("broadcast_to", lambda a: ember.broadcast_to(a, (3, 2, 4)), lambda a: a.broadcast_to((3, 2, 4)), [(2, 1)], None),
    ("concatenate", lambda a, b: ember.concatenate([a, b], axis=1), lambda a, b: __import__("torch").cat([a, b], 1), [(2, 3), (2, 2)], None),
    ("stack", lambda a, b: ember.stack([a, b], axis=1), lambda a, b: __import__("torch").stack([a, b], 1), [(2, 3), (2, 3)], None),
    ("split", lambda a: ember.split(a, 2, axis=1)[1] * 2, lambda a: a.split(2, dim=1)[1] * 2, [(3, 5)], None),
    ("split_sizes", lambda a: ember.split(a, [1, 4], axis=1)[1], lambda a: a.split([1, 4], dim=1)[1], [(3, 5)], None),
    ("pad", lambda a: ember.pad(a, ((1, 0), (2, 1))), lambda a: __import__("torch").nn.functional.pad(a, (2, 1, 1, 0)), [(3, 4)], None),
    ("getitem_slice", lambda a: a[1:, ::2], None, [(4, 5)], None),
    ("getitem_int", lambda a: a[1], None, [(4, 5)], None),
    ("getitem_fancy_repeat", lambda a: a[[0, 2, 0, 0]], None, [(4, 5)], None),
    ("getitem_mixed", lambda a: a[np.array([1, 1, 3]), 2:], lambda a: a[[1, 1, 3], 2:], [(4, 5)], None),
    ("getitem_bool", lambda a: a[a.data > 0], lambda a: a[a > 0], [(4, 5)], None),
]


def _inputs(shapes, domain, dtype, seed=0):
    r = np.random.default_rng(seed)
    out = []
    for s in shapes:
        x = r.uniform(0.5, 2.0, s) if domain == POS else r.standard_normal(s)
        out.append(x.astype(dtype))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, _, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck(fn, xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case):
    name, fn, _, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert gradgradcheck(fn, xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_recorded_backward_gives_the_same_gradient_in_float32(case):
    # create_graph=True runs each backward on Tensors (ember's ops): same values, same dtype
    name, fn, _, shapes, domain = case
    arrays = _inputs(shapes, domain, np.float32, seed=3)
    grads = []
    for create_graph in (False, True):
        xs = [ember.tensor(a, requires_grad=True) for a in arrays]
        y = fn(*xs)
        g = ember.tensor(np.random.default_rng(4).standard_normal(y.shape).astype(np.float32))
        gs = ember.autograd.grad(y, xs, g, create_graph=create_graph)
        grads.append([v.detach().numpy() for v in gs])
    for a, b in zip(*grads):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, tfn, shapes, domain = case
    tfn = tfn or fn
    arrays = _inputs(shapes, domain, dtype, seed=1)
    ex = [ember.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    ey, ty = fn(*ex), tfn(*tx)
    assert ey.dtype == dtype, f"{name} changed dtype to {ey.dtype}"
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ey.data, ty.detach().numpy(), **tol)
    g = np.random.default_rng(2).standard_normal(ey.shape).astype(dtype)
    ey.backward(g)
    ty.backward(torch.tensor(g))
    for e, t in zip(ex, tx):
        assert e.grad.dtype == dtype and e.grad.shape == e.shape
        np.testing.assert_allclose(e.grad, t.grad.numpy(), **tol)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("add", "mul", "matmul", "sum_axis", "exp", "getitem_fancy_repeat")], ids=lambda c: c[0])
def test_directional_gradcheck(case):
    name, fn, _, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck_directional(fn, xs)


def test_gradcheck_catches_a_wrong_backward():
    class Bad(ember.Function):
        def forward(self, a):
            return a * a

        def backward(self, gy):
            return gy * 3.0  # wrong: should be 2a

    x = ember.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    with pytest.raises(ember.GradcheckError, match="input 0 at element"):
        ember.gradcheck(lambda a: Bad.apply(a), [x])
    with pytest.raises(ember.GradcheckError, match="directional"):
        ember.gradcheck_directional(lambda a: Bad.apply(a), [x])


def test_comparisons_have_no_grad():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (a < 2, a <= 2, a > 2, a >= 2, a == 2, a != 2):
        assert r.dtype == np.bool_ and not r.requires_grad
    np.testing.assert_array_equal((a > 1.5).data, [False, True, True])


@pytest.mark.parametrize("call", [
    lambda m, a, b: m.add(a, b, alpha=2.5), lambda m, a, b: m.sub(a, b, alpha=-2),
    lambda m, a, b: m.div(a, b, rounding_mode="floor"), lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    lambda m, a, b: m.div(a * 10, b.abs() + 1, rounding_mode="floor"),
], ids=["add_alpha", "sub_alpha", "div_floor", "div_trunc", "div_floor_int"])
def test_arithmetic_keywords_match_torch(call, torch):
    r = np.random.default_rng(7)
    x, y = r.standard_normal((3, 4)), r.uniform(0.5, 2.0, (4,))
    e = call(ember, ember.tensor(x), ember.tensor(y))
    t = call(torch, torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)
    ai, bi = np.array([7, -7, 9, -9]), np.array([2, 2, -4, -4])
    for mode in ("floor", "trunc"):
        ei = ember.div(ember.tensor(ai), ember.tensor(bi), rounding_mode=mode)
        ti = torch.div(torch.tensor(ai), torch.tensor(bi), rounding_mode=mode)
        assert ei.dtype == ember.int64 and ei.tolist() == ti.tolist()


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_out_keyword_writes_into_the_tensor(name, torch):
    x, y = np.arange(1.0, 7.0).reshape(2, 3), np.full(3, 2.0)
    out = ember.zeros(2, 3)
    res = getattr(ember, name)(ember.tensor(x), ember.tensor(y), out=out)
    tout = torch.zeros(2, 3)
    getattr(torch, name)(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32), out=tout)
    assert res is out and out._version == 1
    np.testing.assert_allclose(out.numpy(), tout.numpy())
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        ember.mul(ember.tensor(x, requires_grad=True), 2.0, out=ember.zeros(2, 3))
