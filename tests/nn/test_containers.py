"""Sequential, ModuleList, ModuleDict, Identity, Flatten, Unflatten."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn


def _seq():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_sequential_forward_chains(rng):
    s = _seq()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    expected = s[2](s[1](s[0](x)))
    np.testing.assert_array_equal(s(x).data, expected.data)


def test_sequential_indexing_len_iter_append():
    s = _seq()
    assert len(s) == 3 and list(s) == [s[0], s[1], s[2]]
    assert s[-1] is s[2] and s[-3] is s[0]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is s[0]
    assert list(head.state_dict()) == ["0.weight", "0.bias"]
    assert list(s[1:].state_dict()) == ["2.weight", "2.bias"]  # PyTorch keeps the names
    extra = nn.Linear(2, 1)
    assert s.append(extra) is s and s[3] is extra and len(s) == 4
    with pytest.raises(IndexError, match="index 4 is out of range for 4 modules"):
        s[4]
    with pytest.raises(IndexError):
        s[-5]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.Linear(2, 2), "relu")


def test_sequential_ordered_dict_names_and_editing():
    s = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 4)), ("out", nn.Linear(4, 2))]))
    assert list(s.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert s.fc is s[0]
    new = nn.Linear(4, 2)
    s[1] = new
    assert s.out is new
    del s[0]
    assert len(s) == 1 and s[0] is new and list(s._modules) == ["0"]
    s.insert(0, nn.Identity())
    assert isinstance(s[0], nn.Identity) and s[1] is new


def test_sequential_state_dict_matches_torch(torch):
    e = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Identity(), nn.Linear(5, 2))
    t = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5), torch.nn.Identity(), torch.nn.Linear(5, 2))
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(e(x).data, t(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    e.eval(), t.eval()
    np.testing.assert_allclose(e(x).data, t(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert repr(e) == repr(t)


def test_module_list():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and ml[-1] is ml[2]
    ml.append(nn.Linear(2, 3)).extend([nn.Identity()])
    assert len(ml) == 5 and isinstance(ml[4], nn.Identity)
    first = nn.Linear(1, 1)
    ml.insert(0, first)
    assert ml[0] is first and list(ml._modules) == [str(i) for i in range(6)]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert ml[0] is not first and len(ml) == 5
    assert len(list(ml.parameters())) == 8
    assert list(ml.state_dict())[:2] == ["0.weight", "0.bias"]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    assert list(Net().state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert Net()(np.ones((1, 2))).shape == (1, 2)


def test_module_dict():
    md = nn.ModuleDict({"enc": nn.Linear(2, 3)})
    md["dec"] = nn.Linear(3, 2)
    assert list(md) == ["enc", "dec"] and "dec" in md and len(md) == 2
    assert [k for k, _ in md.items()] == list(md.keys())
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    md.pop("enc")
    assert list(md) == ["dec"]
    with pytest.raises(TypeError, match="strings"):
        md[3] = nn.Identity()


def test_identity_flatten_unflatten(torch):
    x = ember.randn(2, 3, 4, 5, requires_grad=True)
    assert nn.Identity(54, unused=True)(x) is x
    y = nn.Flatten()(x)
    assert y.shape == (2, 60)
    y.sum().backward()
    assert x.grad.shape == (2, 3, 4, 5)
    assert nn.Flatten(0, 2)(x).shape == (24, 5) == tuple(torch.nn.Flatten(0, 2)(torch.zeros(2, 3, 4, 5)).shape)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    assert nn.Unflatten(1, (3, 20))(y).shape == (2, 3, 20)
    assert nn.Unflatten(1, (-1, 4))(y).shape == (2, 15, 4)
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=1, end_dim=-1\) cannot flatten input of shape \(5,\)"):
        nn.Flatten()(np.zeros(5))
    with pytest.raises(ValueError, match="cannot split dim 1 of size 60"):
        nn.Unflatten(1, (7, 8))(y)


# ----- Sequential is the loop; fusion is explicit, through fuse() -----


def test_sequential_forward_is_the_plain_loop_without_fusion():
    seq = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU())
    calls = []
    for i, m in enumerate(seq):
        m.register_forward_hook(lambda mod, a, o, i=i: calls.append((i, type(o.grad_fn).__name__)))
    x = ember.tensor(np.ones((3, 2, 4), np.float32), requires_grad=True)
    seq(x)
    with ember.no_grad():
        y = seq(x)
    # every module ran, each its own op (ReLU's is not a Linear's), also under no_grad
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4] * 2 and calls[2][1] != calls[1][1]
    assert y.grad_fn is None


@pytest.mark.kernels
def test_sequential_without_hooks_runs_each_module_as_written():
    from ember.nn import functional as F

    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    a = ember.tensor(np.random.default_rng(6).standard_normal((7, 5)), requires_grad=True)
    y = seq(a)
    relu_out = y.grad_fn.inputs[0]
    assert relu_out.grad_fn is not None and type(relu_out.grad_fn).__name__ == type(F.relu(a).grad_fn).__name__


@pytest.mark.kernels
@pytest.mark.parametrize("channels_last", [False, True], ids=["C order", "channels-last"])
@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_fused_relu_pool_pools_first_with_identical_values_and_gradients(pool, channels_last):
    # fuse() runs ReLU -> MaxPool2d as one op, pool then ReLU: the same numbers, cheaper
    from ember.nn import functional as F
    from ember.nn.fusion import FusedReLUMaxPool2d, fuse

    r = np.random.default_rng(5)
    x = r.integers(-3, 3, size=(2, 3, 6, 7)).astype(np.float64)  # ties and all-negative windows
    x[0, 0, :2, :2] = -1.0
    if channels_last:  # as a convolution's output is
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    seq = fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool)))
    assert len(seq) == 1 and type(seq[0]) is FusedReLUMaxPool2d
    a = ember.tensor(x, requires_grad=True)
    ya = seq(a)
    assert type(ya._fn).__name__ == "MaxPool2dFunction" and ya._fn.inputs[0] is a  # one op, no ReLU of its own
    g = r.standard_normal(ya.shape)
    ya.backward(ember.tensor(g))
    b = ember.tensor(x, requires_grad=True)
    yb = F.max_pool2d(F.relu(b), **pool)  # the order as written
    yb.backward(ember.tensor(g))
    np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_fused_relu_pool_with_nan_matches_torch(torch, pool):
    # the fused op passes the gradient at NaN like PyTorch's ReLU, to the window's last NaN
    from ember.nn.fusion import fuse

    r = np.random.default_rng(9)
    x = r.integers(-2, 3, size=(2, 3, 6, 8)).astype(np.float64)
    x[r.random(x.shape) < 0.2] = np.nan
    x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    a = ember.Tensor(x, requires_grad=True)
    ya = fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool)))(a)
    tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    ty = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(**pool))(tx)
    g = r.standard_normal(ya.shape)
    ya.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(ya.detach().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(a.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernels
def test_fused_linear_relu_runs_as_one_op_with_identical_results():
    from ember.nn import functional as F
    from ember.nn.fusion import FusedLinearReLU, fuse

    ember.manual_seed(0)
    seq = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    fused = fuse(seq)
    assert type(fused[0]) is FusedLinearReLU and fused[0].weight is seq[0].weight
    x = np.random.default_rng(6).standard_normal((7, 5))
    a = ember.tensor(x, requires_grad=True)
    ya = fused(a)
    assert type(ya._fn.inputs[0]._fn).__name__ == "LinearReLU"  # one op for Linear + ReLU
    g = ember.tensor(np.random.default_rng(7).standard_normal(ya.shape).astype(np.float32))
    ya.backward(g)
    grads = [p.grad.numpy().copy() for p in seq.parameters()]
    seq.zero_grad()
    b = ember.tensor(x, requires_grad=True)
    yb = seq[2](F.relu(seq[0](b)))  # module by module
    yb.backward(g)
    np.testing.assert_array_equal(ya.detach().numpy(), yb.detach().numpy())
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    for want, p in zip(grads, seq.parameters()):
        np.testing.assert_array_equal(want, p.grad.numpy())
    assert "ReLU" in nn.summary(seq, (5,), file=False)  # the model itself is not fused


def _chain_cases():
    L, R = nn.Linear, nn.ReLU
    return {
        "mlp": lambda: nn.Sequential(nn.Flatten(), L(12, 9), R(), L(9, 7), R(), L(7, 3)),
        "ends on relu": lambda: nn.Sequential(L(12, 9), R(), L(9, 4), R()),
        "no bias": lambda: nn.Sequential(L(12, 9, bias=False), R(), L(9, 7, bias=False), R(), L(7, 3, bias=False)),
        "mixed bias": lambda: nn.Sequential(L(12, 9), R(), L(9, 7, bias=False), R(), L(7, 3)),
        "linear linear": lambda: nn.Sequential(L(12, 9), L(9, 5), R(), L(5, 2)),
        "one layer": lambda: nn.Sequential(L(12, 6), R()),
    }


@pytest.mark.kernels
@pytest.mark.parametrize("case", list(_chain_cases()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_chain_under_no_grad_matches_layer_by_layer(case, dtype, monkeypatch):
    # Under no_grad, a fused Linear(-ReLU) Sequential goes through linear_chain: the same
    # operations in the same order as the recorded forward, so the same values to the last bit
    from ember.nn import fusion
    from ember.nn import functional as F

    ember.manual_seed(3)
    seq = _chain_cases()[case]().to(dtype).eval()
    for p in seq.parameters():  # biases as large as the pre-activations: many units are cut
        p.data[...] = np.random.default_rng(p.numel()).standard_normal(p.shape)
    fused = fusion.fuse(seq)
    assert type(fused) is fusion.LinearChain and type(seq) is nn.Sequential
    calls = []
    real = fusion._resolve("linear_chain")
    monkeypatch.setitem(fusion._fast_cache, "linear_chain", lambda x, layers: calls.append(len(layers)) or real(x, layers))
    x = np.random.default_rng(8).standard_normal((6, 12) if case != "mlp" else (6, 3, 4)).astype(dtype)
    want = ember.tensor(x)
    for m in seq:
        want = F.relu(want) if isinstance(m, nn.ReLU) else m(want)
    with ember.no_grad():
        got = fused(x)
    assert calls == [sum(isinstance(m, nn.Linear) for m in seq)]
    assert got._fn is None and got.dtype == dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert (want.detach().numpy() == 0).any() or case not in ("ends on relu", "one layer")  # the ReLU did cut


def test_a_run_split_by_dropout_is_not_one_chain():
    from ember.nn.fusion import FusedLinearReLU, fuse

    L, R = nn.Linear, nn.ReLU
    fused = fuse(nn.Sequential(L(12, 9), R(), nn.Dropout(0.5), L(9, 4), R(), L(4, 2)))
    assert type(fused) is nn.Sequential
    assert [type(m) for m in fused] == [FusedLinearReLU, nn.Dropout, FusedLinearReLU, nn.Linear]
    assert list(fused._modules) == ["0", "2", "3", "5"]


def _no_grad_mlp_vs_torch(torch, sizes, x, edit=lambda seq: None):
    """Outputs under no_grad of a fused ember MLP (Linear, ReLU, ..., Linear) of ``sizes``,
    after ``edit(seq)``, and of the torch MLP given the same weights."""
    from ember.nn.fusion import LinearChain, fuse

    layers, tlayers = [], []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        tlayers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    seq, t = nn.Sequential(*layers), torch.nn.Sequential(*tlayers)
    edit(seq)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in seq.state_dict().items()})
    fused = fuse(seq)
    assert type(fused) is LinearChain
    with ember.no_grad():
        got = fused(x).numpy()
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    return got, want


@pytest.mark.parametrize("bias", [-1e5, -np.inf], ids=["large", "-inf"])
def test_no_grad_chain_keeps_large_and_infinite_biases_exact(torch, bias):
    # a bias far larger than the pre-activations (or -inf, a unit switched off) must not cancel
    # against anything: relu(h + b) is 0 there, as in PyTorch
    def edit(seq):
        seq[0].bias.data[:64] = bias

    x = np.random.default_rng(3).standard_normal((256, 8)).astype(np.float32)
    got, want = _no_grad_mlp_vs_torch(torch, (8, 128, 16, 3), x, edit)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.kernels
def test_linear_chain_records_the_per_layer_ops_with_gradients_on(monkeypatch):
    from ember.nn import fusion

    calls = []
    real = fusion._resolve("linear_chain")
    monkeypatch.setitem(fusion._fast_cache, "linear_chain", lambda x, layers: calls.append(len(layers)) or real(x, layers))
    seq = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    fused = fusion.fuse(seq)
    x = np.ones((3, 2, 4), np.float32)
    y = fused(x)  # recording: the per-layer ops, which backward needs
    assert calls == [] and y._fn is not None
    with ember.no_grad():
        fused(x)
        seq(x)  # the unfused model never takes the chain
    assert calls == [3]


def test_no_grad_chain_matches_torch(torch):
    x = np.random.default_rng(2).standard_normal((32, 20)).astype(np.float32)
    got, want = _no_grad_mlp_vs_torch(torch, (20, 16, 8, 4), x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_no_grad_chain_reports_a_bad_flatten_input_like_the_layer():
    from ember.nn.fusion import fuse

    seq = fuse(nn.Sequential(nn.Flatten(start_dim=2), nn.Linear(4, 2)))
    with ember.no_grad(), pytest.raises(ValueError, match=r"Flatten\(.*\) cannot flatten input of shape \(3, 4\)"):
        seq(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"Flatten\(.*\) cannot flatten input of shape \(3, 4\)"):
        seq(np.ones((3, 4), np.float32))


def test_no_grad_chain_reports_a_bad_width_by_layer():
    from ember.nn.fusion import fuse

    seq = fuse(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(5, 2)))
    with ember.no_grad(), pytest.raises(ValueError, match=r"Linear\(5 -> 2\) expected input with 5 features, got shape \(2, 3\)"):
        seq(np.ones((2, 4), np.float32))
    seq = fuse(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    with ember.no_grad(), pytest.raises(ValueError, match=r"Linear\(4 -> 3\) expected input with 4 features"):
        seq(np.ones((2, 7), np.float32))
