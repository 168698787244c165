"""Module hooks against PyTorch: forward pre-hooks, forward hooks, full backward pre-hooks and
full backward hooks, inside nn.Sequential and on a leaf module; what they see, what they
replace, their order (prepend), with_kwargs, always_call, handles, global hooks."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import module as module_mod


def _pair(torch, dtype=np.float64):
    """An ember and a torch Sequential(Linear(5, 4), Tanh, Linear(4, 3)) with the same weights."""
    e = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).to(dtype)
    t = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    return e, t


def _x(shape=(6, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _np(v):
    """A captured gradient (ember or torch Tensor, or None) as an ndarray or None."""
    if v is None:
        return None
    return v.detach().numpy()


def _same(a, b, tol=1e-12):
    assert (a is None) == (b is None), (a, b)
    if a is not None:
        np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)


def _both_inputs(torch, x, requires_grad=True):
    return ember.tensor(x, requires_grad=requires_grad), torch.tensor(x, requires_grad=requires_grad)


# ----- forward pre-hooks and forward hooks -----


def test_forward_pre_hook_replaces_the_input_inside_sequential(torch):
    e, t = _pair(torch)
    seen = {"e": [], "t": []}
    for key, m in (("e", e[2]), ("t", t[2])):
        m.register_forward_pre_hook(lambda mod, args, key=key: seen[key].append(args[0]) or (args[0] * 2,))
    x = _x()
    ye, yt = e(x), t(torch.from_numpy(x))
    _same(seen["e"][0], seen["t"][0])
    _same(ye, yt)
    # a value that is not a tuple is the single positional argument
    e[0].register_forward_pre_hook(lambda mod, args: args[0] + 1)
    t[0].register_forward_pre_hook(lambda mod, args: args[0] + 1)
    _same(e(x), t(torch.from_numpy(x)))


def test_forward_pre_hook_with_kwargs_replaces_args_and_kwargs(torch):
    class E(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    class T(torch.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    e, t = E(), T()
    calls = []
    for m in (e, t):
        m.register_forward_pre_hook(lambda mod, args, kwargs: calls.append(dict(kwargs)) or ((args[0] + 1,), {"scale": 3.0}),
                                    with_kwargs=True)
    x = _x((2, 3))
    _same(e(ember.tensor(x), scale=5.0), t(torch.from_numpy(x), scale=5.0))
    assert calls == [{"scale": 5.0}, {"scale": 5.0}]
    bad = E()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    tbad = T()
    tbad.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
        bad(ember.tensor(x))
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
        tbad(torch.from_numpy(x))


def test_forward_hook_sees_the_hooked_args_and_replaces_the_output(torch):
    e, t = _pair(torch)
    got = {"e": None, "t": None}
    for key, seq in (("e", e), ("t", t)):
        seq[1].register_forward_pre_hook(lambda mod, args: (args[0] * 0.5,))

        def hook(mod, args, out, key=key):
            got[key] = (args[0], out)
            return out - 1

        seq[1].register_forward_hook(hook)
    x = _x()
    _same(e(x), t(torch.from_numpy(x)))
    for a, b in zip(got["e"], got["t"]):
        _same(a, b)


def test_forward_hook_with_kwargs(torch):
    class E(nn.Module):
        def forward(self, x, shift=0.0):
            return x + shift

    class T(torch.nn.Module):
        def forward(self, x, shift=0.0):
            return x + shift

    res = []
    for m, xin in ((E(), ember.tensor(_x((2, 2)))), (T(), torch.from_numpy(_x((2, 2))))):
        m.register_forward_hook(lambda mod, args, kwargs, out: res.append(kwargs["shift"]) or out * kwargs["shift"],
                                with_kwargs=True)
        res.append(_np(m(xin, shift=2.0)))
    assert res[0] == res[2] == 2.0
    np.testing.assert_array_equal(res[1], res[3])


def test_forward_hooks_run_in_registration_order_and_prepend_goes_first(torch):
    def order(mod_cls, x):
        m = mod_cls()
        log = []
        for kind in ("forward_pre", "forward"):
            reg = getattr(m, f"register_{kind}_hook")
            reg(lambda *a, k=kind: log.append(f"{k} a") and None)
            reg(lambda *a, k=kind: log.append(f"{k} b") and None)
            reg(lambda *a, k=kind: log.append(f"{k} first") and None, prepend=True)
        for kind in ("full_backward_pre", "full_backward"):
            reg = getattr(m, f"register_{kind}_hook")
            reg(lambda *a, k=kind: log.append(f"{k} a") and None)
            reg(lambda *a, k=kind: log.append(f"{k} first") and None, prepend=True)
        m(x).sum().backward()
        return log

    e = order(lambda: nn.Linear(3, 2), ember.tensor(_x((2, 3)), requires_grad=True))
    t = order(lambda: torch.nn.Linear(3, 2).double(), torch.tensor(_x((2, 3)), requires_grad=True))
    assert e == t
    assert e[:3] == ["forward_pre first", "forward_pre a", "forward_pre b"]


def test_handles_remove_hooks_and_work_as_context_managers(torch):
    lin = nn.Linear(3, 2)
    calls = []
    h1 = lin.register_forward_hook(lambda m, a, o: calls.append("fwd"), with_kwargs=False)
    h2 = lin.register_forward_pre_hook(lambda m, a, k: calls.append("pre"), with_kwargs=True)
    h3 = lin.register_full_backward_hook(lambda m, gi, go: calls.append("bwd"))
    h4 = lin.register_full_backward_pre_hook(lambda m, go: calls.append("bwd pre"))
    x = ember.randn(2, 3, requires_grad=True)
    lin(x).sum().backward()
    assert calls == ["pre", "fwd", "bwd pre", "bwd"]
    for h in (h1, h2, h3, h4):
        h.remove()
        h.remove()  # twice is harmless
    assert not (lin._forward_hooks or lin._forward_pre_hooks or lin._backward_hooks or lin._backward_pre_hooks)
    assert not lin._forward_pre_hooks_with_kwargs
    calls.clear()
    y = lin(x)
    y.sum().backward()
    assert calls == [] and type(y.grad_fn).__name__ != "BackwardHookFunction"  # no hook machinery left
    with lin.register_forward_hook(lambda m, a, o: calls.append("ctx")):
        lin(x)
    lin(x)
    assert calls == ["ctx"]
    assert h1.id != h2.id


def test_always_call_forward_hook_runs_when_forward_raises(torch):
    class E(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    class T(torch.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    for m, x in ((E(), ember.zeros(1)), (T(), torch.zeros(1))):
        log = []
        m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
        m.register_forward_hook(lambda mod, a, o: log.append(("plain", o)))
        with pytest.raises(ValueError, match="boom"):
            m(x)
        assert log == [("always", None)]


# ----- backward hooks -----


def _capture(seq, kinds=("full", "pre")):
    """Register hooks on every module of ``seq`` recording what they see; the log."""
    log = []
    for i, m in enumerate(seq):
        if "pre" in kinds:
            m.register_full_backward_pre_hook(lambda mod, go, i=i: log.append(("pre", i, go)))
        if "full" in kinds:
            m.register_full_backward_hook(lambda mod, gi, go, i=i: log.append(("full", i, gi, go)))
    return log


def _same_log(le, lt):
    assert [entry[:2] for entry in le] == [entry[:2] for entry in lt]
    for a, b in zip(le, lt):
        for ga, gb in zip(a[2:], b[2:]):
            assert len(ga) == len(gb)
            for u, v in zip(ga, gb):
                _same(u, v)


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_backward_hooks_see_torchs_gradients_inside_sequential(torch, input_requires_grad):
    e, t = _pair(torch)
    le, lt = _capture(e), _capture(t)
    xe, xt = _both_inputs(torch, _x(), input_requires_grad)
    g = _x((6, 3), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e(xe).backward(ember.tensor(g))
        t(xt).backward(torch.from_numpy(g))
    _same_log(le, lt)
    assert len(le) == 6  # every module, pre-hook then full hook, last module first
    if not input_requires_grad:
        assert le[-1][2] == (None,)  # the first Linear: no input needs a gradient


def test_full_backward_hook_with_no_input_needing_grad_warns_like_torch(torch):
    for lin, x in ((nn.Linear(3, 2), ember.randn(2, 3)), (torch.nn.Linear(3, 2), torch.randn(2, 3))):
        lin.register_full_backward_hook(lambda m, gi, go: None)
        with pytest.warns(UserWarning, match="no inputs require gradients"):
            lin(x).sum().backward()
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (ember.zeros(2, 3),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"):
            lin(ember.randn(2, 3)).sum().backward()


def test_backward_pre_hook_replaces_grad_output(torch):
    e, t = _pair(torch)
    for seq in (e, t):
        seq[2].register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
        seq[1].register_full_backward_pre_hook(lambda mod, go: (go[0] - 0.25,))
    xe, xt = _both_inputs(torch, _x())
    e(xe).sum().backward()
    t(xt).sum().backward()
    _same(xe.grad, xt.grad)
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():
        _same(p.grad, tp[name].grad)


def test_full_backward_hook_replaces_grad_input(torch):
    e, t = _pair(torch)
    for seq in (e, t):
        seq[1].register_full_backward_hook(lambda mod, gi, go: (gi[0] * -2,))
        seq[0].register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
    xe, xt = _both_inputs(torch, _x())
    e(xe).sum().backward()
    t(xt).sum().backward()
    _same(xe.grad, xt.grad)
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():  # the first Linear's parameters see the replaced gradient
        _same(p.grad, tp[name].grad)


def test_leaf_module_hooks_of_every_kind(torch):
    x = _x((4, 3))
    res = {}
    for key, lin, xin in (("e", nn.Linear(3, 2).double(), ember.tensor(x, requires_grad=True)),
                          ("t", torch.nn.Linear(3, 2).double(), torch.tensor(x, requires_grad=True))):
        if key == "t":
            lin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in res["e_sd"].items()})
        else:
            res["e_sd"] = lin.state_dict()
        log = []
        lin.register_forward_pre_hook(lambda m, a: (a[0] * 2,))
        lin.register_forward_hook(lambda m, a, o: o + 1)
        lin.register_full_backward_pre_hook(lambda m, go: log.append(go) or (go[0] * 0.5,))
        lin.register_full_backward_hook(lambda m, gi, go: log.append((gi, go)) or (gi[0] * 4,))
        y = lin(xin)
        (y * y).sum().backward()
        res[key] = (y, xin.grad, lin.weight.grad, lin.bias.grad, log[0][0], log[1][0][0], log[1][1][0])
    for a, b in zip(res["e"], res["t"]):
        _same(a, b)


def test_multi_input_module_grad_input_matches_torch(torch):
    class E(nn.Module):
        def forward(self, a, b, c, k):
            return a * b * k, a + 1

    class T(torch.nn.Module):
        def forward(self, a, b, c, k):
            return a * b * k, a + 1

    logs = []
    for m, mk in ((E(), lambda v, rg: ember.tensor(v, requires_grad=rg)), (T(), lambda v, rg: torch.tensor(v, requires_grad=rg))):
        log = []
        m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", go)))
        m.register_full_backward_hook(lambda mod, gi, go: log.append(("full", gi, go)))
        a, b, c = mk(_x((3,)), True), mk(_x((3,), 1), False), mk(_x((3,), 2), True)  # c unused
        y1, y2 = m(a, b, c, 3.0)
        (y1 * 2).sum().backward()  # y2 unused: its grad_output is None
        log.append(("grads", a.grad, c.grad))
        logs.append(log)
    le, lt = logs
    assert [x[0] for x in le] == [x[0] for x in lt] == ["pre", "full", "grads"]
    assert le[0][1][1] is None and len(le[1][1]) == 4 and le[1][1][3] is None
    for ea, ta in zip(le, lt):
        for u, v in zip(ea[1:], ta[1:]):
            if isinstance(u, tuple):
                assert len(u) == len(v)
                for p, q in zip(u, v):
                    _same(p, q)
            else:
                _same(u, v)


def test_wrong_shape_from_a_backward_hook_names_module_and_shapes():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (ember.zeros(3),))
    x = ember.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"full backward hook of Linear returned grad_input\[0\] of shape \(3,\), "
                                           r"expected shape \(4, 3\)"):
        lin(x).sum().backward()
    lin = nn.Linear(3, 2)
    lin.register_full_backward_pre_hook(lambda m, go: (ember.zeros(5),))
    with pytest.raises(RuntimeError, match=r"backward pre-hook of Linear returned grad_output\[0\] of shape \(5,\), "
                                           r"expected shape \(4, 2\)"):
        lin(x).sum().backward()


def test_wrong_number_of_gradients_from_backward_hooks(torch):
    for lin, x in ((nn.Linear(3, 2), ember.randn(4, 3, requires_grad=True)),
                   (torch.nn.Linear(3, 2), torch.randn(4, 3, requires_grad=True))):
        h = lin.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
        with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of grad_output, got 2, "
                                               "but expected 1"):
            lin(x).sum().backward()
        h.remove()
        lin.register_full_backward_hook(lambda m, gi, go: (gi[0], None))
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, "
                                               "but expected 1"):
            lin(x).sum().backward()


def test_backward_hook_value_is_cast_to_the_gradient_dtype():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (np.ones((4, 3)),))  # float64 ndarray for float32
    x = ember.randn(4, 3, requires_grad=True)
    lin(x).sum().backward()
    assert x.grad.dtype == np.float32 and np.all(x.grad.numpy() == 1)


def test_in_place_change_of_a_hooked_output_is_refused(torch):
    for lin, x in ((nn.Linear(3, 2), ember.randn(4, 3, requires_grad=True)),
                   (torch.nn.Linear(3, 2), torch.randn(4, 3, requires_grad=True))):
        lin.register_full_backward_hook(lambda m, gi, go: None)
        with pytest.raises(RuntimeError):
            y = lin(x)
            y.add_(1)
            y.sum().backward()


def test_backward_hooks_with_create_graph_match_torch(torch):
    e, t = _pair(torch)
    for seq in (e, t):
        seq[1].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    xe, xt = _both_inputs(torch, _x((2, 5)))
    (ge,) = ember.autograd.grad(e(xe).sum(), xe, create_graph=True)
    (gt,) = torch.autograd.grad(t(xt).sum(), xt, create_graph=True)
    _same(ge, gt)
    (ge * ge).sum().backward()
    (gt * gt).sum().backward()
    _same(xe.grad, xt.grad)


def test_no_hooks_under_no_grad_backward_machinery():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: None)
    with ember.no_grad():
        y = lin(ember.randn(2, 3, requires_grad=True))
    assert y.grad_fn is None


# ----- global hooks -----


def test_global_module_hooks(torch):
    def run(lib, seq, x):
        seen = []
        mod = module_mod if lib is nn else torch.nn.modules.module
        handles = [
            mod.register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__))),
            mod.register_module_forward_hook(lambda m, a, o: seen.append(("fwd", type(m).__name__))),
            mod.register_module_full_backward_pre_hook(lambda m, go: seen.append(("bwd pre", type(m).__name__))),
            mod.register_module_full_backward_hook(lambda m, gi, go: seen.append(("bwd", type(m).__name__))),
        ]
        try:
            seq(x).sum().backward()
        finally:
            for h in handles:
                h.remove()
        seq(x).sum().backward()  # removed: nothing more is seen
        return seen

    e = run(nn, nn.Sequential(nn.Linear(3, 3), nn.ReLU()), ember.randn(2, 3, requires_grad=True))
    t = run(torch.nn, torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU()), torch.randn(2, 3, requires_grad=True))
    assert e == t and len(e) == 12


# ----- Sequential calls the modules themselves -----


def test_sequential_calls_a_subclassed_or_patched_relu_forward(monkeypatch):
    class MyReLU(nn.ReLU):
        def forward(self, x):
            return super().forward(x) + 100

    x = -np.ones((2, 3), np.float32)
    seq = nn.Sequential(nn.Linear(3, 3), MyReLU())
    seq[0].weight.data.fill_(1.0)
    seq[0].bias.data.fill_(0.0)
    assert np.all(seq(x).detach().numpy() == 100)
    seq2 = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    seq2[0].weight.data.fill_(1.0)
    seq2[0].bias.data.fill_(0.0)
    monkeypatch.setattr(nn.ReLU, "forward", lambda self, x: x * 0 + 7)
    assert np.all(seq2(x).detach().numpy() == 7)
    monkeypatch.undo()
    seq2[1].forward = lambda x: x * 0 - 7  # on the instance
    assert np.all(seq2(x).detach().numpy() == -7)
    del seq2[1].forward
    assert np.all(seq2(x).detach().numpy() == 0)
