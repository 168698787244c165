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
    with pytest.raises(TypeError, match=r"cannot assign 'int' as child module 'head' \(Module or None expected\)"):
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
    grads = [p.grad for p in net.parameters()]
    net.zero_grad(set_to_none=False)  # in place: the same gradient Tensors, zeroed
    assert all(p.grad is g and np.all(g.numpy() == 0) for p, g in zip(net.parameters(), grads))
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
    assert np.all(net.block.fc.weight.detach().numpy() == 2) and net.block.fc.weight.dtype == np.float32


def test_load_state_dict_copies_in_place():
    a, b = Net(), Net()
    w = a.block.fc.weight
    a.load_state_dict(b.state_dict())
    assert a.block.fc.weight is w and np.array_equal(w.detach().numpy(), b.block.fc.weight.detach().numpy())
    b.block.fc.weight.data[...] = 7
    assert not np.any(w.detach().numpy() == 7)
    rm = a.block.bn.running_mean  # buffers too are copied into, not replaced
    b.block.bn.running_mean[...] = 3
    a.load_state_dict(b.state_dict())
    assert a.block.bn.running_mean is rm and np.all(rm.numpy() == 3)


def test_apply_visits_children_then_self():
    seen = []
    net = Net()
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "BatchNorm1d", "Block", "Linear", "Net"]

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init_linear)
    assert np.all(net.head.weight.detach().numpy() == 0) and np.all(net.block.fc.weight.detach().numpy() == 0)


def test_repr_tree(torch):
    e = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 1)))
    t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(3, 1)))
    assert repr(e) == repr(t)


def test_parameter_from_ndarray_and_tensor():
    arr = np.ones((2, 3), np.float32)
    p = nn.Parameter(arr)
    assert p.requires_grad and p.detach().numpy() is arr and isinstance(p, ember.Tensor)
    p.grad = ember.tensor(np.full((2, 3), 0.5, np.float32))
    assert p.grad[0, 0].item() == 0.5
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor"):
        p.grad = np.zeros((2, 3), np.float32)
    t = ember.randn(3)
    q = nn.Parameter(t, requires_grad=False)
    assert q.numpy() is t.numpy() and not q.requires_grad
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


# ----- the Module API against PyTorch -----


def _nets(torch):
    e = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    t = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    return e, t


def _error(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the error is the value compared
        return type(err).__name__, str(err)
    return None


@pytest.mark.parametrize("method, target", [
    ("get_submodule", "0.foo"), ("get_submodule", "x"), ("get_submodule", "0.weight.x"),
    ("get_submodule", "1.running_mean.x"), ("get_parameter", "0.foo"), ("get_parameter", "1.running_mean"),
    ("get_parameter", "x.weight"), ("get_buffer", "0.foo"), ("get_buffer", "0.weight"), ("get_buffer", "1.training"),
])
def test_get_submodule_parameter_buffer_errors_match_torch(torch, method, target):
    e, t = _nets(torch)
    got, want = _error(lambda: getattr(e, method)(target)), _error(lambda: getattr(t, method)(target))
    assert got is not None and got == want


def test_get_submodule_parameter_buffer_find_the_objects():
    net = Net()
    assert net.get_submodule("") is net and net.get_submodule("block.bn") is net.block.bn
    assert net.get_parameter("block.fc.weight") is net.block.fc.weight and net.get_parameter("head.bias") is net.head.bias
    assert net.get_buffer("block.bn.running_var") is net.block.bn.running_var
    assert net.get_buffer("block.steps") is net.block.steps
    new = nn.Linear(4, 3)
    net.set_submodule("block.fc", new)
    assert net.block.fc is new
    with pytest.raises(AttributeError, match="Block has no attribute `nope`"):
        net.set_submodule("block.nope", new, strict=True)
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.set_submodule("block.scale", new)


def test_buffers_are_tensors_and_persistence_keeps_them_out_of_state_dict(torch):
    m = nn.Module()
    arr = np.zeros(3, np.float32)
    m.register_buffer("a", arr)  # an ndarray is wrapped, sharing memory
    m.register_buffer("b", ember.ones(2), persistent=False)
    m.register_buffer("c", None)
    assert isinstance(m.a, ember.Tensor) and m.a.numpy() is arr and isinstance(m.get_buffer("b"), ember.Tensor)
    assert [n for n, _ in m.named_buffers()] == ["a", "b"] and list(m.state_dict()) == ["a"]
    assert all(isinstance(b, ember.Tensor) for b in m.buffers())
    m.register_buffer("b", m.b, persistent=True)  # registering again as persistent puts it back
    assert list(m.state_dict()) == ["a", "b"]
    m.b = np.full(2, 5.0, np.float32)  # assigning to a buffer name keeps it a buffer (a Tensor)
    assert isinstance(m._buffers["b"], ember.Tensor) and m.state_dict()["b"].tolist() == [5.0, 5.0]
    bn = nn.BatchNorm1d(3)
    tbn = torch.nn.BatchNorm1d(3)
    assert [(n, type(b).__name__) for n, b in bn.named_buffers()] == [(n, "Tensor") for n, _ in tbn.named_buffers()]
    sd = bn.state_dict(keep_vars=True)
    assert sd["running_mean"] is bn.running_mean and sd["weight"] is bn.weight
    # as torch's: detached Tensors that share the module's memory
    sd = bn.state_dict()
    assert isinstance(sd["running_mean"], ember.Tensor) and not sd["weight"].requires_grad
    assert isinstance(tbn.state_dict()["running_mean"], torch.Tensor)
    sd["running_mean"].add_(1.0)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, 1.0, 1.0])
    bn.running_mean.zero_()


@pytest.mark.parametrize("case", [
    lambda lib: lib.Module().register_buffer(1, None),
    lambda lib: lib.Module().register_buffer("a.b", None),
    lambda lib: lib.Module().register_buffer("", None),
    lambda lib: lib.Module().register_buffer("training", None),
    lambda lib: lib.Module().register_parameter(1, None),
    lambda lib: lib.Module().register_parameter("a.b", None),
    lambda lib: lib.Module().register_parameter("", None),
    lambda lib: lib.Module().register_parameter("training", None),
    lambda lib: lib.Sequential().add_module("a.b", lib.Identity()),
    lambda lib: lib.Sequential().add_module("x", 3),
    lambda lib: lib.Sequential().train("yes"),
], ids=["buffer int name", "buffer dot", "buffer empty", "buffer exists", "param int name", "param dot", "param empty",
        "param exists", "module dot", "module not a module", "train not bool"])
def test_registration_errors_match_torch(torch, case):
    got, want = _error(lambda: case(nn)), _error(lambda: case(torch.nn))
    assert got is not None and got == want


def test_registration_type_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'ember._tensor.Tensor' as parameter 'weight' \(Parameter or None"):
        m.weight = ember.zeros(2, 2)
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
        m.register_buffer("x", 3)
    with pytest.raises(TypeError, match="cannot assign 'ember._tensor.Tensor' object to parameter 'p'"):
        m.register_parameter("p", ember.zeros(1))
    w = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'q'"):
        m.register_parameter("q", _nonleaf(w))
    m.weight = None
    assert m.weight is None and "weight" in m._parameters


def _nonleaf(t):
    p = nn.Parameter(np.ones(2, np.float32))
    p._fn = t._fn  # a Parameter that is the output of an op
    return p


def test_named_members_prefix_and_remove_duplicate_match_torch(torch):
    def build(lib):
        shared = lib.Linear(2, 2)
        return lib.Sequential(shared, lib.ReLU(), shared, lib.Sequential(lib.BatchNorm1d(2), shared))

    e, t = build(nn), build(torch.nn)
    for kwargs in ({}, {"prefix": "net"}, {"remove_duplicate": False}, {"prefix": "p", "remove_duplicate": False}):
        assert [n for n, _ in e.named_modules(**kwargs)] == [n for n, _ in t.named_modules(**kwargs)], kwargs
        assert [n for n, _ in e.named_parameters(**kwargs)] == [n for n, _ in t.named_parameters(**kwargs)], kwargs
        assert [n for n, _ in e.named_buffers(**kwargs)] == [n for n, _ in t.named_buffers(**kwargs)], kwargs
    assert [n for n, _ in e.named_parameters(recurse=False)] == []
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert len(list(e.modules())) == len(list(t.modules()))


def test_requires_grad_train_eval_follow_torch(torch):
    class Frozen(nn.Module):  # a child's own train() is what its parent calls
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def train(self, mode=True):
            return super().train(False)

    net = nn.Sequential(nn.Linear(2, 2), Frozen(), nn.Dropout(0.5))
    assert net.train() is net and net.training and net[2].training
    assert not net[1].training and not net[1].fc.training
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


def test_zero_grad_in_place_keeps_a_graph_gradient_detached():
    lin = nn.Linear(2, 1)
    x = ember.randn(3, 2)
    (g,) = ember.autograd.grad(lin(x).sum(), [lin.weight], create_graph=True)
    lin.weight.grad = g
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and g.grad_fn is None and np.all(g.numpy() == 0)
    lin.zero_grad()
    assert lin.weight.grad is None


def test_load_state_dict_returns_incompatible_keys_and_assign():
    net = Net()
    sd = dict(net.state_dict())
    sd.pop("head.bias")
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == []
    missing, unexpected = res
    assert missing == ["head.bias"]
    w = ember.tensor(np.full((2, 3), 4.0, np.float32))
    net.load_state_dict({"head.weight": w}, strict=False, assign=True)
    assert isinstance(net.head.weight, nn.Parameter) and net.head.weight.detach().numpy() is w.detach().numpy()


def test_buffers_survive_save_and_load(tmp_path):
    net = Net()
    net(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))  # moves the running stats
    path = tmp_path / "net.npz"
    ember.save(net.state_dict(), str(path))
    fresh = Net()
    fresh.load_state_dict(ember.load(str(path)))
    for (n, a), (_, b) in zip(net.named_buffers(), fresh.named_buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=n)
    assert int(fresh.block.bn.num_batches_tracked) == 1


def test_module_state_copies_and_pickles():
    import copy
    import pickle

    net = Net()
    net.head.register_forward_hook(lambda m, a, o: o)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(Net()))):
        assert list(other.state_dict()) == list(net.state_dict())
        assert isinstance(other.block.bn.running_mean, ember.Tensor)
        other(np.ones((2, 4), np.float32))
