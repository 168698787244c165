"""ember.nn.fusion.fuse: explicit, visible fusion that keeps the model's parameters, state_dict
keys, values and gradients, and leaves alone what it must not touch."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import fusion
from ember.nn.fusion import FusedLinearReLU, FusedReLUMaxPool2d, LinearChain, fuse


def _cnn(lib):
    return lib.Sequential(
        lib.Conv2d(2, 4, kernel_size=3), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(4, 6, kernel_size=3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(6 * 2 * 2, 8), lib.ReLU(), lib.Linear(8, 3),
    )


def _mlp(lib):
    return lib.Sequential(lib.Flatten(), lib.Linear(12, 9), lib.ReLU(), lib.Linear(9, 7), lib.ReLU(), lib.Linear(7, 3))


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = _cnn(nn)
        self.head = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
        self.register_buffer("scale", np.array(2.0))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def _run(model, x, g):
    """Output and input gradient and parameter gradients of ``model`` at ``x``, upstream ``g``."""
    model.zero_grad()
    xt = ember.tensor(x, requires_grad=True)
    y = model(xt)
    y.backward(ember.tensor(g))
    return y.detach().numpy(), xt.grad.detach().numpy(), [p.grad.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("build, shape", [(lambda: _mlp(nn), (5, 3, 4)), (lambda: _cnn(nn), (3, 2, 10, 10)),
                                          (_Net, (3, 2, 10, 10))], ids=["mlp", "cnn", "nested"])
def test_fuse_keeps_parameters_keys_values_and_gradients(build, shape):
    model = build().double()
    fused = fuse(model)
    assert fused is not model
    assert list(fused.state_dict()) == list(model.state_dict())
    assert [n for n, _ in fused.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert all(a is b for a, b in zip(fused.parameters(), model.parameters()))
    assert all(a is b for a, b in zip(fused.buffers(), model.buffers()))
    r = np.random.default_rng(1)
    x = r.standard_normal(shape)
    g = r.standard_normal(model(x).shape)
    ya, gxa, gpa = _run(model, x, g)
    yb, gxb, gpb = _run(fused, x, g)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(gxa, gxb)
    for a, b in zip(gpa, gpb):
        np.testing.assert_array_equal(a, b)
    with ember.no_grad():
        np.testing.assert_array_equal(fused(x).numpy(), model(x).numpy())


def test_fused_cnn_matches_torch(torch):
    e, t = fuse(_cnn(nn).double()), _cnn(torch.nn).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})  # the same keys
    r = np.random.default_rng(2)
    x = r.standard_normal((2, 2, 10, 10))
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = e(xe), t(xt)
    g = r.standard_normal(ye.shape)
    ye.backward(ember.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_fuse_shows_in_repr_and_leaves_the_original_alone():
    model = _Net()
    before = repr(model)
    fused = fuse(model)
    assert repr(model) == before and type(model.body) is nn.Sequential and len(model.body) == 10
    assert repr(fused.body) == (
        "Sequential(\n"
        "  (0): Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (1): FusedReLUMaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (3): Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (4): FusedReLUMaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (6): Flatten(start_dim=1, end_dim=-1)\n"
        "  (7): FusedLinearReLU(in_features=24, out_features=8, bias=True)\n"
        "  (9): Linear(in_features=8, out_features=3, bias=True)\n"
        ")"
    )
    assert type(fused.head) is LinearChain and repr(fused.head).startswith("LinearChain(\n  (0): FusedLinearReLU(")
    assert fused.body[0] is model.body[0]  # modules that are not fused are shared, not copied
    assert fused.scale is model.scale


def test_fuse_returns_the_model_when_nothing_fuses():
    for m in (nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.Sequential(nn.ReLU(), nn.AvgPool2d(2))):
        assert fuse(m) is m
    with pytest.raises(TypeError, match="fuse expects a Module"):
        fuse([nn.Linear(2, 2)])


def _kinds(seq):
    return [type(m) for m in seq]


@pytest.mark.parametrize("hook", ["forward_pre", "forward", "full_backward_pre", "full_backward"])
@pytest.mark.parametrize("where", [0, 1])
def test_fuse_skips_hooked_modules(hook, where):
    seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    calls = []
    getattr(seq[where], f"register_{hook}_hook")(lambda *a: calls.append(1) and None)
    fused = fuse(seq)
    assert _kinds(fused) == [nn.Linear, nn.ReLU, nn.Linear]
    x = ember.randn(3, 4, requires_grad=True)
    fused(x).sum().backward()
    assert calls == [1]
    pool = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    getattr(pool[where], f"register_{hook}_hook")(lambda *a: None)
    assert _kinds(fuse(pool)) == [nn.ReLU, nn.MaxPool2d]


def test_fuse_skips_overridden_and_patched_forwards(monkeypatch):
    class MyLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    class MyReLU(nn.ReLU):
        pass

    assert _kinds(fuse(nn.Sequential(MyLinear(3, 3), nn.ReLU()))) == [MyLinear, nn.ReLU]
    assert _kinds(fuse(nn.Sequential(nn.Linear(3, 3), MyReLU()))) == [nn.Linear, MyReLU]
    assert _kinds(fuse(nn.Sequential(MyReLU(), nn.MaxPool2d(2)))) == [MyReLU, nn.MaxPool2d]
    patched = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    patched[1].forward = lambda x: x  # on the instance
    assert _kinds(fuse(patched)) == [nn.Linear, nn.ReLU]
    monkeypatch.setattr(nn.ReLU, "forward", lambda self, x: x * 0 + 7)  # on the class
    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    fused = fuse(seq)
    assert _kinds(fused) == [nn.Linear, nn.ReLU]
    assert np.all(fused(ember.randn(2, 3)).detach().numpy() == 7)


def test_fuse_does_not_restructure_a_sequential_subclass_but_recurses():
    class Skip(nn.Sequential):
        def forward(self, x):
            return self[1](self[0](x)) + x

    inner = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    model = Skip(inner, nn.ReLU())
    fused = fuse(model)
    assert type(fused) is Skip and len(fused) == 2 and type(fused[0]) is LinearChain
    x = ember.randn(2, 3)
    np.testing.assert_array_equal(fused(x).detach().numpy(), model(x).detach().numpy())


def test_global_hooks_disable_fusion():
    from ember.nn.module import register_module_forward_hook

    seq = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    with register_module_forward_hook(lambda m, a, o: None):
        assert fuse(seq) is seq
    assert type(fuse(seq)) is LinearChain


def test_linear_chain_falls_back_to_the_loop_for_a_hook_added_later():
    fused = fuse(_mlp(nn))
    seen = []
    fused[1].register_forward_hook(lambda m, a, o: seen.append(o.shape))
    with ember.no_grad():
        y = fused(np.ones((2, 3, 4), np.float32))
    assert seen == [(2, 9)] and y.shape == (2, 3)


@pytest.mark.kernels
def test_fused_modules_follow_the_kernels_switch():
    from ember import kernels

    seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    fused = fuse(seq)
    x = ember.tensor(np.random.default_rng(4).standard_normal((5, 4)))
    fast = fused(x)
    with kernels.disabled():
        ref = fused(x)
        with ember.no_grad():
            ref_ng = fused(x)
    assert type(fast.grad_fn.inputs[0].grad_fn).__name__ == "LinearReLU"
    assert type(ref.grad_fn.inputs[0].grad_fn).__name__ != "LinearReLU"  # relu(linear(x)), as written
    np.testing.assert_array_equal(fast.detach().numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(fast.detach().numpy(), ref_ng.detach().numpy())


def test_fused_model_trains_the_original_parameters():
    model = _mlp(nn)
    fused = fuse(model)
    opt = ember.optim.SGD(fused.parameters(), lr=0.1)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    fused(np.ones((4, 3, 4), np.float32)).sum().backward()
    opt.step()
    assert all(not np.array_equal(b, p.detach().numpy()) for b, p in zip(before, model.parameters()))
    fresh = _mlp(nn)
    fused.load_state_dict(fresh.state_dict())  # loads into the shared parameters
    for a, b in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_fused_pair_reports_a_bad_width_like_the_linear():
    fused = fuse(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Tanh()))
    assert type(fused[0]) is FusedLinearReLU
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\) expected input with 4 features, got shape \(2, 5\)"):
        fused(np.ones((2, 5), np.float32))


def test_fused_relu_pool_reports_bad_input():
    fused = fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.Tanh()))
    assert type(fused[0]) is FusedReLUMaxPool2d
    with pytest.raises(ValueError):
        fused(np.ones((2, 5), np.float32))


def test_fused_module_state_dict_loads_into_torch(torch):
    e = fuse(_mlp(nn))
    t = _mlp(torch.nn)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3, 4)).astype(np.float32)
    with ember.no_grad(), torch.no_grad():
        np.testing.assert_allclose(e(x).numpy(), t(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_fusion_uses_the_kernels_entry_points_when_they_exist():
    # fusion looks the fused functions up lazily: the kernels' when defined, else ember.ops'
    for name in ("linear_relu", "relu_max_pool2d", "linear_chain"):
        assert callable(fusion._resolve(name))


def test_fuse_is_ember_nn_utils_fuse():
    if not hasattr(nn.utils, "fuse"):
        pytest.skip("ember.nn.utils does not import fuse yet (from .fusion import fuse)")
    assert nn.utils.fuse is fuse


def test_relu_before_a_max_pool_that_returns_indices_is_not_fused():
    """The fused ReLU + max-pool returns values only: a pool with return_indices=True keeps its
    own module, so the fused Sequential still returns (values, indices)."""
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, return_indices=True))
    fused = nn.utils.fuse(model)
    x = ember.randn(1, 2, 4, 4)
    values, indices = fused(x)
    ref_values, ref_indices = model(x)
    np.testing.assert_array_equal(values.numpy(), ref_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())
