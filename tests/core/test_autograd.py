"""The autograd core against PyTorch: versions and in-place ops, .grad/.data as Tensors,
backward/grad with create_graph, hooks on tensors, custom ctx Functions, grad modes, anomaly
detection, checkpointing, and autograd.functional / func."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import grad

MODIFIED = "modified by an inplace operation"


def _pair(torch, a, requires_grad=True, dtype=np.float64):
    a = np.asarray(a, dtype)
    return ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


# ----- the in-place cases that PyTorch refuses -----


def _raises_both(torch, build):
    """``build(lib)`` runs a program on ember or torch; both must raise the in-place error."""
    with pytest.raises(RuntimeError, match=MODIFIED):
        build(torch)
    with pytest.raises(RuntimeError, match=MODIFIED):
        build(ember)


def test_augmented_assignment_on_a_saved_input_refuses_backward(torch):
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.tensor([3.0, 4.0])
        y = (w * x).sum()
        x += 10
        y.backward()

    _raises_both(torch, run)


def test_parameter_changed_under_no_grad_refuses_backward(torch):
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (w.tanh() * w).sum()
        with lib.no_grad():
            w -= 0.1
        y.backward()

    _raises_both(torch, run)


def test_optimizer_step_between_two_backwards_refuses(torch):
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        loss = model(lib.ones(4, 3)).pow(2).sum()
        loss.backward(retain_graph=True)
        opt.step()
        loss.backward()

    _raises_both(torch, run)


def test_zero_on_a_saved_parameter_refuses_backward(torch):
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (w * w).sum()
        with lib.no_grad():
            w.zero_()
        y.backward()

    _raises_both(torch, run)


def test_index_assignment_on_a_saved_tensor_refuses_backward(torch):
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.tensor([3.0, 4.0])
        y = (w * x).sum()
        x[0] = 100
        y.backward()

    _raises_both(torch, run)


def test_changing_a_saved_output_refuses_backward(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.add_(1)
        y.sum().backward()

    _raises_both(torch, run)


def test_the_error_names_the_op_and_versions():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    x = ember.tensor([3.0, 4.0])
    y = (w * x).sum()
    x += 1
    x += 1
    with pytest.raises(RuntimeError, match=r"MulBackward0, is at version 2; expected version 0"):
        y.backward()


def test_changes_that_do_not_matter_are_allowed(torch):
    # Add saves nothing, so changing its input afterwards is fine (PyTorch agrees)
    for lib in (ember, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0])
        y = (w + b).sum()
        b += 1
        y.backward()
        np.testing.assert_array_equal(np.asarray(w.grad), [1.0, 1.0])


def test_in_place_on_a_leaf_that_requires_grad_raises(torch):
    for lib in (ember, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w.add_(1)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w.mul_(2)


def test_version_counter_counts_in_place_changes_and_is_shared_by_views(torch):
    for lib in (ember, torch):
        x = lib.zeros(4)
        v = x.view(2, 2)
        assert x._version == 0
        x.add_(1)
        x[0] = 3
        v.mul_(2)
        assert x._version == 3 and v._version == 3


# ----- differentiable in-place ops match PyTorch -----

INPLACE = [
    ("add_", lambda a, w: a.add_(w, alpha=2)),
    ("sub_", lambda a, w: a.sub_(w)),
    ("mul_", lambda a, w: a.mul_(w)),
    ("div_", lambda a, w: a.div_(w + 3)),
    ("iadd", lambda a, w: a.__iadd__(w)),
    ("imul", lambda a, w: a.__imul__(w)),
    ("pow_", lambda a, w: a.pow_(2)),
    ("neg_", lambda a, w: a.neg_()),
    ("exp_", lambda a, w: a.exp_()),
    ("tanh_", lambda a, w: a.tanh_()),
    ("sigmoid_", lambda a, w: a.sigmoid_()),
    ("relu_", lambda a, w: a.relu_()),
    ("clamp_", lambda a, w: a.clamp_(-0.5, 0.5)),
    ("abs_", lambda a, w: a.abs_()),
    ("masked_fill_", lambda a, w: a.masked_fill_(a > 0, 0.25)),
    ("setitem_scalar", lambda a, w: a.__setitem__(0, 5.0)),
    ("setitem_tensor", lambda a, w: a.__setitem__(slice(1, 3), w[:2] * 2)),
    ("setitem_fancy", lambda a, w: a.__setitem__([0, 3], w[1:3])),
    ("copy_", lambda a, w: a.copy_(w * 3)),
    ("zero_", lambda a, w: a.zero_()),
    ("fill_", lambda a, w: a.fill_(2.0)),
]


@pytest.mark.parametrize("name,op", INPLACE, ids=[c[0] for c in INPLACE])
def test_in_place_ops_on_non_leaves_match_torch(name, op, torch):
    r = np.random.default_rng(0)
    xv, wv = r.standard_normal(4), r.standard_normal(4)
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(xv, requires_grad=True)
        w = lib.tensor(wv, requires_grad=True)
        a = x * 1.5
        b = a * 2  # consumed a before the change: its gradient goes through the old a
        op(a, w)
        (a * lib.tensor(np.arange(1.0, 5.0)) + b).sum().backward()
        grads.append((np.asarray(a.detach()), np.asarray(x.grad), None if w.grad is None else np.asarray(w.grad)))
    (ea, ex, ew), (ta, tx, tw) = grads
    np.testing.assert_allclose(ea, ta, rtol=1e-12)
    np.testing.assert_allclose(ex, tx, rtol=1e-12)
    if tw is None:
        assert ew is None or not np.any(ew)
    else:
        np.testing.assert_allclose(ew, tw, rtol=1e-12)


def test_setitem_into_a_constant_buffer_carries_the_gradient(torch):
    out = {}
    for lib in (ember, torch):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        buf = lib.zeros(2, 3, dtype=lib.float64)
        buf[0] = w * 2
        buf[1, 1:] = w[:2].exp()
        (buf * buf).sum().backward()
        out[lib.__name__] = (np.asarray(buf.detach()), np.asarray(w.grad))
    np.testing.assert_allclose(out["ember"][0], out["torch"][0], rtol=1e-12)
    np.testing.assert_allclose(out["ember"][1], out["torch"][1], rtol=1e-12)


VIEW_CASES = [
    ("row of a view", lambda y, w: y.view(2, 3)[0].mul_(w[:3])),
    ("slice", lambda y, w: y[1:4].add_(w[:3].exp())),
    ("setitem on a view", lambda y, w: y.view(3, 2).__setitem__((slice(None), 1), w[:3] * 2)),
    ("transposed view", lambda y, w: y.view(2, 3).transpose(0, 1).tanh_()),
    ("base with views", lambda y, w: y.mul_(w)),
    ("step slice", lambda y, w: y[::2].sigmoid_()),
]


@pytest.mark.parametrize("name,op", VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_in_place_through_views_rebases_base_and_views_like_torch(name, op, torch):
    r = np.random.default_rng(11)
    xv, wv, cv = r.standard_normal(6), r.standard_normal(6), r.standard_normal(6)
    out = []
    for lib in (ember, torch):
        x = lib.tensor(xv, requires_grad=True)
        w = lib.tensor(wv, requires_grad=True)
        y = x * 1
        early = y * 2  # used y before the change: its gradient goes through the old y
        a, b = y.view(3, 2), y[2:]  # views made before the change see it
        op(y, w)
        c = lib.tensor(cv)
        loss = (y * c).sum() + early.sum() + (a * a).sum() + b.pow(3).sum()
        loss.backward()
        out.append([np.asarray(t.detach()) for t in (y, a, b)] + [np.asarray(x.grad), np.asarray(w.grad) if w.grad is not None else np.zeros(6)])
    for e, t in zip(*out):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-14)


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises(torch):
    for lib in (ember, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable"):
            w[0:1].add_(1)


def test_in_place_ops_under_no_grad_write_memory_and_keep_dtype():
    x = ember.zeros(3)
    alias = x.numpy()
    with ember.no_grad():
        x.add_(ember.tensor([1.0, 2.0, 3.0]), alpha=2).mul_(0.5).sub_(1).div_(2)
    np.testing.assert_allclose(alias, [0.0, 0.5, 1.0])
    assert x.dtype == np.float32
    i = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(0.5)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.add_(ember.ones(2, 3))


# ----- .grad and .data are Tensors -----


def test_grad_and_data_are_tensors_like_torch(torch):
    """The 'What is torch.nn really?' update: p.data.add_(p.grad, alpha=-lr); p.grad.zero_()."""
    r = np.random.default_rng(1)
    wv, xv = r.standard_normal((3, 2)), r.standard_normal((5, 3))
    res = []
    for lib in (ember, torch):
        w = lib.tensor(wv, requires_grad=True)
        x = lib.tensor(xv)
        for _ in range(3):
            loss = (x @ w).tanh().pow(2).mean()
            loss.backward()
            assert isinstance(w.grad, lib.Tensor) and isinstance(w.data, lib.Tensor)
            with lib.no_grad():
                w.data.add_(w.grad, alpha=-0.5)
                w.grad.zero_()
        res.append(np.asarray(w.detach()))
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12)


def test_data_is_shared_untracked_and_detached():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 7  # through .data: no version change, as in PyTorch
    assert w[0].item() == 7 and w._version == 0
    with pytest.raises(TypeError, match="Tensor or None"):
        w.grad = np.zeros(2)
    with pytest.raises(RuntimeError, match="different size"):
        w.grad = ember.zeros(3)


def test_cpu_and_to_same_dtype_return_self_so_gradients_flow():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    assert y.cpu() is y and y.to("cpu") is y and y.to(np.float32) is y
    (y.cpu().to(np.float64) * 3).sum().backward()
    np.testing.assert_array_equal(np.asarray(w.grad), [6.0, 6.0])


# ----- backward and grad -----


def test_grad_returns_without_accumulating_and_checks_its_inputs(torch):
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    z = ember.tensor([1.0], requires_grad=True)
    y = (x**3).sum()
    (g,) = grad(y, x, retain_graph=True)
    np.testing.assert_allclose(np.asarray(g), [3.0, 12.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        grad(y, [x, z], retain_graph=True)
    gx, gz = grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gz is None
    _, gz = grad(y, [x, z], materialize_grads=True)
    np.testing.assert_array_equal(np.asarray(gz), [0.0])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        grad(x * 2, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), ember.tensor([1.0]))


def test_backward_signature_and_inputs_argument(torch):
    for lib in (ember, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        y = a * b
        y.backward(gradient=lib.tensor([1.0, 10.0]), retain_graph=True, inputs=[a])
        assert b.grad is None
        np.testing.assert_array_equal(np.asarray(a.grad), [3.0, 40.0])
        lib.autograd.backward([y.sum()], inputs=[b])
        np.testing.assert_array_equal(np.asarray(b.grad), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="second time"):
        y = (a * b).sum()
        y.backward()
        y.backward()
    # a new graph on top of a freed one (a piece of a split, used again): the same message
    pieces = (a * b).split(1)
    (pieces[0] * 3).sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (pieces[0] * 3).sum().backward()


def test_second_derivatives_match_torch(torch):
    r = np.random.default_rng(2)
    xv = r.standard_normal(5)

    def f(lib, x):
        return (x.sin() if lib is torch else ember.sigmoid(x)) if False else ((x * x).exp() * x.tanh()).sum()

    out = []
    for lib in (ember, torch):
        x = lib.tensor(xv, requires_grad=True)
        (g,) = lib.autograd.grad(f(lib, x), x, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad(g.sum(), x, create_graph=True)
        (t,) = lib.autograd.grad(h.pow(2).sum(), x)
        out.append([np.asarray(v.detach()) for v in (g, h, t)])
    for e, t in zip(*out):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def _mlp(lib, seed=0, act="Tanh"):
    lib.manual_seed(seed)
    return lib.nn.Sequential(lib.nn.Linear(4, 8), getattr(lib.nn, act)(), lib.nn.Linear(8, 1))


def _same_weights(em, tm):
    em.load_state_dict({k: v.detach().numpy().astype(np.float64) for k, v in tm.state_dict().items()})


def test_wgan_gp_gradient_penalty_matches_torch(torch):
    r = np.random.default_rng(3)
    real, fake, eps = r.standard_normal((6, 4)), r.standard_normal((6, 4)), r.uniform(size=(6, 1))
    res = []
    tm = _mlp(torch).double()
    em = _mlp(ember, act="Tanh")
    em.astype(np.float64)
    _same_weights(em, tm)
    for lib, model in ((ember, em), (torch, tm)):
        e = lib.tensor(eps)
        x_hat = (e * lib.tensor(real) + (1 - e) * lib.tensor(fake)).requires_grad_(True)
        d = model(x_hat)
        (g,) = lib.autograd.grad(d, x_hat, grad_outputs=lib.ones_like(d), create_graph=True)
        gp = ((g.pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
        loss = d.mean() + 10 * gp
        loss.backward()
        res.append([float(gp)] + [np.asarray(p.grad) for p in model.parameters()])
    assert abs(res[0][0] - res[1][0]) < 1e-12
    for a, b in zip(res[0][1:], res[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_hessian_vector_product_of_an_mlp_matches_torch(torch):
    r = np.random.default_rng(4)
    x, v = r.standard_normal((5, 4)), r.standard_normal((5, 4))
    tm = _mlp(torch, act="Tanh").double()
    em = _mlp(ember, act="Tanh")
    em.astype(np.float64)
    _same_weights(em, tm)
    out = []
    for lib, model in ((ember, em), (torch, tm)):
        xt = lib.tensor(x, requires_grad=True)
        loss = model(xt).pow(2).sum()
        (g,) = lib.autograd.grad(loss, xt, create_graph=True)
        (hv,) = lib.autograd.grad((g * lib.tensor(v)).sum(), xt)
        out.append(np.asarray(hv))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-9, atol=1e-12)
    _, hv2 = ember.autograd.functional.hvp(lambda t: em(t).pow(2).sum(), ember.tensor(x), ember.tensor(v))
    np.testing.assert_allclose(np.asarray(hv2), out[1], rtol=1e-9, atol=1e-12)


# ----- tensor hooks, retain_grad, grad_fn -----


def test_tensor_hooks_replace_gradients_like_torch(torch):
    res = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        seen = []
        hx = x.register_hook(lambda g: seen.append(np.asarray(g).copy()))
        y = x * 2
        y.register_hook(lambda g: g * 10)
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        res.append((np.asarray(x.grad).copy(), np.asarray(y.grad).copy(), seen[0]))
        hx.remove()
        z.backward()
        assert len(seen) == 1
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b)


def test_hook_returning_a_wrong_shape_is_an_error():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: ember.zeros(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\), expected shape \(2,\)"):
        y.sum().backward()


def test_grad_fn_names_and_next_functions(torch):
    for lib, acc in ((ember, "AccumulateGrad"), (torch, "AccumulateGrad")):
        x = lib.tensor([1.0], requires_grad=True)
        y = (x * 2).exp()
        assert y.grad_fn.name() == "ExpBackward0"
        (mul, _), = y.grad_fn.next_functions
        assert mul.name() == "MulBackward0"
        assert acc in mul.next_functions[0][0].name()
        assert x.is_leaf and not y.is_leaf and y.requires_grad


# ----- custom Functions with PyTorch's protocol -----


def _define_functions(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x * x * x * scale

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * 3 * x * x * ctx.scale, None

    class SplitMax(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            return x * 2, x.exp(), idx

        @staticmethod
        def backward(ctx, g1, g2, gidx):
            (x,) = ctx.saved_tensors
            return g1 * 2 + g2 * x.exp()

    class Scale_(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.mark_dirty(x)
            ctx.k = k
            return x.mul_(k)

        @staticmethod
        def backward(ctx, gy):
            return gy * ctx.k, None

    return Cube, SplitMax, Scale_


def test_ctx_functions_match_torch(torch):
    xv = np.array([0.5, -1.0, 2.0])
    res = []
    for lib in (ember, torch):
        Cube, SplitMax, Scale_ = _define_functions(lib)
        x = lib.tensor(xv, requires_grad=True)
        y = Cube.apply(x, 2.0)
        assert y.grad_fn is not None
        a, b, idx = SplitMax.apply(y)
        assert not idx.requires_grad
        c = a * 1
        Scale_.apply(c, 3.0)
        (c.sum() + b.sum()).backward(create_graph=True)
        (gg,) = lib.autograd.grad(x.grad.sum(), x)  # ctx backwards built of ops: second order
        res.append((np.asarray(x.grad.detach()), np.asarray(gg), int(idx)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)
    assert res[0][2] == res[1][2]


def test_ctx_function_needs_input_grad_and_materialize(torch):
    seen = {}

    class F(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            ctx.set_materialize_grads(False)
            return a * 2, b * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen["gb"] = gb
            return ga * 2, None if gb is None else gb * 3

    a = ember.tensor([1.0], requires_grad=True)
    b = ember.tensor([1.0])
    y1, y2 = F.apply(a, b)
    assert seen["needs"] == (True, False)
    y1.sum().backward()
    assert seen["gb"] is None
    np.testing.assert_array_equal(np.asarray(a.grad), [2.0])


def test_ctx_function_returning_too_few_gradients_is_an_error():
    class F(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        F.apply(a, a).sum().backward()


# ----- grad modes -----


def test_grad_modes():
    x = ember.tensor([1.0], requires_grad=True)
    with ember.inference_mode():
        assert ember.is_inference_mode_enabled() and not (x * 2).requires_grad
    assert not ember.is_inference_mode_enabled()

    @ember.inference_mode()
    def f(t):
        return t * 2

    @ember.no_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    ember.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert (x * 2).requires_grad
    with ember.no_grad():
        with ember.enable_grad():
            assert (x * 2).requires_grad


# ----- anomaly detection -----


def test_detect_anomaly_names_the_op_and_where_it_was_created():
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = x.log() * 0  # d/dx = 0 * (1 / 0) = nan at x = 0
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
    msg = str(e.value)
    assert "LogBackward0" in msg and "returned nan values" in msg
    assert "test_autograd.py" in msg and "x.log() * 0" in msg
    y = x.log() * 0  # outside anomaly mode the NaN passes, as in PyTorch
    y.sum().backward()
    assert np.isnan(x.grad[0].item())


# ----- checkpoint -----


def test_checkpoint_gives_the_same_gradients_with_dropout(torch):
    from ember.utils.checkpoint import checkpoint

    def build():
        ember.manual_seed(5)
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))

    x = ember.tensor(np.random.default_rng(6).standard_normal((4, 6)).astype(np.float32))
    grads = []
    for use in (False, True):
        model = build()
        ember.manual_seed(7)
        out = checkpoint(model, x, use_reentrant=False) if use else model(x)
        out.pow(2).sum().backward()
        grads.append([np.asarray(p.grad).copy() for p in model.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_is_seen_through_by_grad_and_by_checkpoint_sequential():
    from ember.utils.checkpoint import checkpoint, checkpoint_sequential

    ember.manual_seed(9)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 2))
    model.astype(np.float64)
    x = ember.tensor(np.random.default_rng(10).standard_normal((4, 3)), requires_grad=True)
    params = list(model.parameters())
    plain = grad(model(x).pow(2).sum(), [x] + params)
    via = grad(checkpoint(model, x, use_reentrant=False).pow(2).sum(), [x] + params)
    seq = grad(checkpoint_sequential(model, 2, x).pow(2).sum(), [x] + params)
    for a, b, c in zip(plain, via, seq):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(c), np.asarray(a), rtol=1e-12)
    y = checkpoint(model, ember.tensor(np.ones((2, 3))))  # data without grad: parameters still get it
    y.sum().backward()
    assert all(p.grad is not None for p in params)


def test_checkpoint_second_order_matches_plain_and_torch(torch):
    # a gradient penalty through a checkpointed block: d/dw of |d out/dx|^2
    from ember.utils.checkpoint import checkpoint

    r = np.random.default_rng(11)
    xv, wv = r.standard_normal((4, 3)), r.standard_normal((3, 5))

    def block(x, w):
        return (x @ w).tanh()

    results = []
    for use in (False, True):
        x = ember.tensor(xv, requires_grad=True)
        w = ember.tensor(wv, requires_grad=True)
        out = checkpoint(block, x, w, use_reentrant=False) if use else block(x, w)
        (gx,) = grad(out.pow(3).sum(), [x], create_graph=True)
        (gw,) = grad(gx.pow(2).sum(), [w])
        results.append((gx.detach().numpy(), gw.numpy()))
    tx = torch.tensor(xv, requires_grad=True)
    tw = torch.tensor(wv, requires_grad=True)
    tout = torch.utils.checkpoint.checkpoint(lambda a, b: (a @ b).tanh(), tx, tw, use_reentrant=False)
    (tgx,) = torch.autograd.grad(tout.pow(3).sum(), [tx], create_graph=True)
    (tgw,) = torch.autograd.grad(tgx.pow(2).sum(), [tw])
    for gx, gw in results:
        np.testing.assert_allclose(gx, tgx.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(gw, tgw.numpy(), rtol=1e-10)


# ----- autograd.functional and func -----


def test_functional_jacobian_hessian_vjp_jvp_match_torch(torch):
    import torch.autograd.functional as TF

    import ember.autograd.functional as EF

    r = np.random.default_rng(8)
    xv, vv, uv = r.standard_normal(3), r.standard_normal(2), r.standard_normal(3)

    def f(lib):
        return lambda x: (x[:2] * x[1:].exp()).tanh()

    def s(x):
        return (x * x * x).sum() + (x[0] * x[2])

    ex, tx = ember.tensor(xv), torch.tensor(xv)
    np.testing.assert_allclose(np.asarray(EF.jacobian(f(ember), ex)), TF.jacobian(f(torch), tx).numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(EF.hessian(s, ex)), TF.hessian(s, tx).numpy(), rtol=1e-10)
    _, ev = EF.vjp(f(ember), ex, ember.tensor(vv))
    _, tv = TF.vjp(f(torch), tx, torch.tensor(vv))
    np.testing.assert_allclose(np.asarray(ev), tv.numpy(), rtol=1e-10)
    _, ej = EF.jvp(f(ember), ex, ember.tensor(uv))
    _, tj = TF.jvp(f(torch), tx, torch.tensor(uv))
    np.testing.assert_allclose(np.asarray(ej), tj.numpy(), rtol=1e-10)
    _, eh = EF.vhp(s, ex, ember.tensor(uv))
    _, th = TF.vhp(s, tx, torch.tensor(uv))
    np.testing.assert_allclose(np.asarray(eh), th.numpy(), rtol=1e-10)


def test_func_grad_composes_and_functional_call(torch):
    import torch.func as tfunc

    xv = np.array([0.3, -0.7])

    def f(x):
        return (x.exp() * x).sum()

    e2 = ember.func.grad(ember.func.grad(lambda x: f(x)))
    # grad of a non-scalar is an error; grad(grad(f)) needs a scalar inner: use the sum
    eg = ember.func.grad(f)(ember.tensor(xv))
    tg = tfunc.grad(f)(torch.tensor(xv))
    np.testing.assert_allclose(np.asarray(eg), tg.numpy(), rtol=1e-12)
    ehh = ember.func.grad(lambda x: ember.func.grad(f)(x).sum())(ember.tensor(xv))
    thh = tfunc.grad(lambda x: tfunc.grad(f)(x).sum())(torch.tensor(xv))
    np.testing.assert_allclose(np.asarray(ehh), thh.numpy(), rtol=1e-12)
    g, v = ember.func.grad_and_value(f)(ember.tensor(xv))
    assert abs(float(v) - float(f(torch.tensor(xv)))) < 1e-12
    del e2

    lin = nn.Linear(2, 1)
    w = ember.tensor([[2.0, 3.0]], dtype=np.float32)
    b = ember.tensor([1.0], dtype=np.float32)
    out = ember.func.functional_call(lin, {"weight": w, "bias": b}, (ember.tensor([[1.0, 1.0]]),))
    assert out.item() == 6.0
    assert lin.weight is not w and lin.weight.shape == (1, 2)


def test_set_num_threads_round_trips():
    n = ember.get_num_threads()
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(n)
    with pytest.raises(ValueError):
        ember.set_num_threads(0)


def test_a_graph_of_views_is_freed_by_reference_counting():
    """Views share their base's version counter, which names the ops whose outputs they look
    into; the names are weak, so that op -> input -> counter -> op is no cycle and a step's
    graph and arrays go as soon as the last reference does (before: only when the cyclic
    garbage collector ran, and a GPT's resident memory grew by ~10 MB a step until then)."""
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        x = ember.randn(4, 6, requires_grad=True)
        y = x.view(2, 12).transpose(0, 1).reshape(3, 8)[1:] * 2
        q = y.view(16).unsqueeze(0)
        ops = [weakref.ref(q.grad_fn), weakref.ref(y.grad_fn), weakref.ref(y.grad_fn.next_functions[0][0])]
        q.sum().backward()
        del y, q
        assert [r() for r in ops] == [None, None, None]
    finally:
        gc.enable()
