"""The Module system: registration, traversal, modes, grads, state_dict, apply, repr, Parameter."""
import numpy as np
import pytest

import ember
import ember.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.register_buffer("steps", np.zeros((), np.int64))
        self.note = "plain attribute"

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.block(x))


def test_registration_and_traversal():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "block.scale", "block.fc.weight", "block.fc.bias", "block.bn.weight", "block.bn.bias", "head.weight", "head.bias",
    ]
    assert len(list(net.parameters())) == 7
    assert [n for n, _ in net.named_buffers()] == [
        "block.steps", "block.bn.running_mean", "block.bn.running_var", "block.bn.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.bn", "head"]
    assert net.block.note == "plain attribute" and "note" not in net.block._parameters
    assert [n for n, _ in net.block.named_parameters(recurse=False)] == ["scale"]
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        net.missing


def test_reassignment_and_deletion():
    net = Net()
    net.head = nn.Linear(3, 5)
    assert net.head.out_features == 5 and len(list(net.children())) == 2
    with pytest.raises(TypeError, match="expected a Module or None"):
        net.head = 3
    del net.head
    assert [n for n, _ in net.named_children()] == ["block"]
    with pytest.raises(AttributeError, match="before assigning"):
        class Bad(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(1, 1)
        Bad()


def test_shared_parameters_counted_once():
    a = nn.Linear(3, 3)
    net = nn.Sequential(a, a)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # as PyTorch


def test_train_eval_recursive_and_return_self():
    net = Net()
    assert net.training and net.block.bn.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.train(False)
    assert not net.block.fc.training


def test_zero_grad():
    net = Net()
    net(np.ones((4, 4), np.float32)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_keys_match_torch(torch):
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(),
                                            torch.nn.Linear(6, 4), torch.nn.LayerNorm(4))
            self.head = torch.nn.Linear(4, 2, bias=False)

    class ENet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 4), nn.LayerNorm(4))
            self.head = nn.Linear(4, 2, bias=False)

    e, t = ENet(), TNet()
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    # weights load both ways
    e.load_state_dict(t.state_dict())
    np.testing.assert_array_equal(e.head.weight.data, t.head.weight.detach().numpy())
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in e.state_dict().items()})
    assert repr(e).replace("ENet", "TNet") == repr(t)


def test_load_state_dict_reports_everything_at_once():
    net = Net()
    sd = dict(net.state_dict())
    del sd["head.bias"]
    sd["head.extra"] = np.zeros(2)
    sd["block.fc.weight"] = np.zeros((3, 5))
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert "missing keys: head.bias" in msg
    assert "unexpected keys: head.extra" in msg
    assert "block.fc.weight: expected shape (3, 4), got (3, 5)" in msg
    sd["block.fc.weight"] = np.full((3, 4), 2.0)  # float64 into a float32 parameter
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.bias"] and unexpected == ["head.extra"]
    assert np.all(net.block.fc.weight.data == 2) and net.block.fc.weight.dtype == np.float32


def test_load_state_dict_copies_in_place():
    a, b = Net(), Net()
    w = a.block.fc.weight
    a.load_state_dict(b.state_dict())
    assert a.block.fc.weight is w and np.array_equal(w.data, b.block.fc.weight.data)
    b.block.fc.weight.data[...] = 7
    assert not np.any(w.data == 7)


def test_apply_visits_children_then_self():
    seen = []
    net = Net()
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "Block", "Linear", "Net"]

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init_linear)
    assert np.all(net.head.weight.data == 0) and np.all(net.block.fc.weight.data == 0)


def test_repr_tree(torch):
    e = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 1)))
    t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(3, 1)))
    assert repr(e) == repr(t)


def test_parameter_from_ndarray_and_tensor():
    arr = np.ones((2, 3), np.float32)
    p = nn.Parameter(arr)
    assert p.requires_grad and p.data is arr and isinstance(p, ember.Tensor)
    p.grad = np.full((2, 3), 0.5, np.float32)
    assert p.grad[0, 0] == 0.5
    t = ember.randn(3)
    q = nn.Parameter(t, requires_grad=False)
    assert q.data is t.data and not q.requires_grad
    assert repr(q).startswith("Parameter containing:")
    with pytest.raises(RuntimeError, match="floating"):
        nn.Parameter(np.arange(3))


def test_input_cast_float64_ndarray_into_float32_model():
    net = Net()
    y = net(np.random.default_rng(0).standard_normal((4, 4)))
    assert y.dtype == np.float32
    y.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in net.parameters())


def test_astype_double():
    net = Net().double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.block.bn.running_mean.dtype == np.float64 and net.block.steps.dtype == np.int64
    assert net(np.ones((3, 4), np.float32)).dtype == np.float64


def test_requires_grad_and_non_persistent_buffer():
    lin = nn.Linear(2, 2).requires_grad_(False)
    assert not any(p.requires_grad for p in lin.parameters())
    m = nn.Module()
    m.register_buffer("cache", np.zeros(3), persistent=False)
    assert list(m.state_dict()) == [] and [n for n, _ in m.named_buffers()] == ["cache"]
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        m(1)
