"""Each optimizer configuration against torch.optim: same initial values, same gradients, 40 steps."""
import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.nn import Parameter
from ember.optim import optimizer as optimizer_mod

SHAPES = [(6, 5), (5,), (2, 3, 2)]
STEPS = 40

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True, betas=(0.8, 0.99))),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, centered=True)),
    ("RMSprop", dict(lr=1e-2, momentum=0.9)),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(weight_decay=0.1, betas=(0.8, 0.9))),
    ("NAdam", dict()),
    ("NAdam", dict(weight_decay=0.1)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict()),
    ("RAdam", dict(weight_decay=0.1)),
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
]


def _ids(cfg):
    name, kw = cfg
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def grad_sequence(steps, shapes, dtype, seed=0):
    """Per step, one gradient per parameter (None now and then, as for an unused layer)."""
    rng = np.random.default_rng(seed)
    seq = []
    for t in range(steps):
        gs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        if t % 7 == 3:
            gs[1] = None
        seq.append(gs)
    return seq


def initial_values(shapes, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def run_ember(cls_name, kw, values, grads, groups=None):
    params = [Parameter(v.copy()) for v in values]
    spec = params if groups is None else [dict(g, params=[params[i] for i in g["params"]]) for g in groups]
    opt = getattr(optim, cls_name)(spec, **kw)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = None if g is None else ember.tensor(g)
        opt.step()
    return params, opt


def run_torch(torch, cls_name, kw, values, grads, groups=None):
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    spec = params if groups is None else [dict(g, params=[params[i] for i in g["params"]]) for g in groups]
    opt = getattr(torch.optim, cls_name)(spec, **kw, foreach=False)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = None if g is None else torch.from_numpy(g.copy())
        opt.step()
    return params, opt


def assert_same_run(torch, e_params, e_opt, t_params, t_opt, rtol, atol):
    for pe, pt in zip(e_params, t_params):
        assert pe.data.dtype == pt.detach().numpy().dtype
        np.testing.assert_allclose(pe.data, pt.detach().numpy(), rtol=rtol, atol=atol)
    e_sd, t_sd = e_opt.state_dict(), t_opt.state_dict()
    assert set(e_sd["state"]) == set(t_sd["state"])
    for i, ts in t_sd["state"].items():
        es = e_sd["state"][i]
        assert set(es) == set(ts), (set(es), set(ts))
        for k, tv in ts.items():
            tv = tv.numpy() if isinstance(tv, torch.Tensor) else tv
            if k in ("step", "mu_product"):
                np.testing.assert_allclose(float(es[k]), float(tv), rtol=1e-5)
            else:
                assert es[k].dtype == e_params[i].data.dtype
                np.testing.assert_allclose(es[k], tv, rtol=rtol, atol=atol, err_msg=k)
    for eg, tg in zip(e_sd["param_groups"], t_sd["param_groups"]):
        assert set(eg) <= set(tg), set(eg) - set(tg)
        assert eg["params"] == tg["params"]


@pytest.mark.parametrize("piece_bytes", [1 << 18, 64], ids=["whole", "pieces"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_matches_torch_float32(torch, cfg, piece_bytes, monkeypatch):
    monkeypatch.setattr(optimizer_mod, "_PIECE_BYTES", piece_bytes)  # 64: 16-element pieces
    name, kw = cfg
    values, grads = initial_values(SHAPES, np.float32), grad_sequence(STEPS, SHAPES, np.float32)
    e_params, e_opt = run_ember(name, kw, values, grads)
    t_params, t_opt = run_torch(torch, name, kw, values, grads)
    assert_same_run(torch, e_params, e_opt, t_params, t_opt, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] in ("Adam", "RMSprop", "NAdam", "RAdam", "SGD")][::2],
                         ids=_ids)
def test_matches_torch_float64(torch, cfg):
    name, kw = cfg
    values, grads = initial_values(SHAPES, np.float64), grad_sequence(STEPS, SHAPES, np.float64)
    e_params, e_opt = run_ember(name, kw, values, grads)
    t_params, t_opt = run_torch(torch, name, kw, values, grads)
    rtol = 1e-7 if name == "NAdam" else 1e-10  # torch keeps NAdam's mu_product in float32
    assert_same_run(torch, e_params, e_opt, t_params, t_opt, rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("name,defaults,groups", [
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(params=[0]), dict(params=[1, 2], lr=0.01, momentum=0.5)]),
    ("Adam", dict(lr=1e-2), [dict(params=[2, 0], lr=1e-3, betas=(0.8, 0.9)), dict(params=[1], weight_decay=0.1)]),
    ("RMSprop", dict(lr=1e-2), [dict(params=[0], centered=True), dict(params=[1, 2], lr=0.1, momentum=0.3)]),
])
def test_param_groups_with_different_hyperparameters(torch, name, defaults, groups):
    values, grads = initial_values(SHAPES, np.float32), grad_sequence(STEPS, SHAPES, np.float32)
    e_params, e_opt = run_ember(name, defaults, values, grads, groups)
    t_params, t_opt = run_torch(torch, name, defaults, values, grads, groups)
    assert_same_run(torch, e_params, e_opt, t_params, t_opt, rtol=1e-5, atol=1e-6)
    assert [g["lr"] for g in e_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]


def test_add_param_group_mid_run_matches_torch(torch):
    values, grads = initial_values(SHAPES, np.float32), grad_sequence(30, SHAPES, np.float32)
    e = [Parameter(v.copy()) for v in values]
    t = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    eo = optim.Adam(e[:2], lr=1e-2)
    to = torch.optim.Adam(t[:2], lr=1e-2, foreach=False)
    for step, gs in enumerate(grads):
        if step == 10:
            eo.add_param_group({"params": e[2], "lr": 0.1, "amsgrad": True})
            to.add_param_group({"params": t[2], "lr": 0.1, "amsgrad": True})
        for pe, pt, g in zip(e, t, gs):
            pe.grad = None if g is None else ember.tensor(g)
            pt.grad = None if g is None else torch.from_numpy(g.copy())
        eo.step()
        to.step()
    for pe, pt in zip(e, t):
        np.testing.assert_allclose(pe.data, pt.detach().numpy(), rtol=1e-5, atol=1e-6)


def lion_reference(x, grads, lr, beta1, beta2, wd):
    """The paper's Algorithm 2 (Chen et al., 2023), transcribed line by line."""
    m = np.zeros_like(x)
    for g in grads:
        c = beta1 * m + (1 - beta1) * g
        x = x - lr * (np.sign(c) + wd * x)
        m = beta2 * m + (1 - beta2) * g
    return x, m


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("kw", [dict(lr=1e-2), dict(lr=3e-3, betas=(0.95, 0.98), weight_decay=0.5)])
def test_lion_matches_the_paper(dtype, rtol, kw):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((7, 3)).astype(dtype)
    grads = [rng.standard_normal((7, 3)).astype(dtype) for _ in range(STEPS)]
    p = Parameter(x0.copy())
    opt = optim.Lion([p], **kw)
    for g in grads:
        p.grad = ember.tensor(g)
        opt.step()
    beta1, beta2 = kw.get("betas", (0.9, 0.99))
    x_ref, m_ref = lion_reference(x0, grads, kw["lr"], beta1, beta2, kw.get("weight_decay", 0.0))
    assert p.data.dtype == dtype
    np.testing.assert_allclose(p.data, x_ref, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(opt.state[p]["exp_avg"], m_ref, rtol=rtol, atol=rtol * 1e-2)


def test_lion_maximize_follows_the_gradient():
    p = Parameter(np.zeros(4, np.float32))
    opt = optim.Lion([p], lr=0.1, maximize=True)
    p.grad = ember.tensor([1.0, -2.0, 3.0, 0.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.1, -0.1, 0.1, 0.0])


@pytest.mark.parametrize("name,kw,key", [
    ("Adam", dict(lr=1e-3), "exp_avg"),
    ("SGD", dict(lr=1e-2, momentum=0.9), "momentum_buffer"),
    ("RMSprop", dict(lr=1e-3, momentum=0.9, centered=True), "momentum_buffer"),
])
def test_tiny_state_is_flushed_and_results_still_match_torch(torch, name, kw, key):
    # a weight that stops getting gradient: its decaying state would sink into float32 subnormals
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(64).astype(np.float32)
    grads = [rng.standard_normal(64).astype(np.float32) for _ in range(3)] + [np.zeros(64, np.float32)] * 900
    e_params, e_opt = run_ember(name, kw, [x0], [[g] for g in grads])
    t_params, t_opt = run_torch(torch, name, kw, [x0], [[g] for g in grads])
    tiny = np.finfo(np.float32).tiny
    t_state = t_opt.state[t_params[0]][key].numpy()
    assert np.any((t_state != 0) & (np.abs(t_state) < tiny)), "the test should drive torch into subnormals"
    for arr in e_opt.state[e_params[0]].values():
        if isinstance(arr, np.ndarray):
            assert not np.any((arr != 0) & (np.abs(arr) < tiny)), "ember kept subnormal state"
    np.testing.assert_allclose(e_params[0].data, t_params[0].detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kw", [("Adam", {}), ("SGD", dict(momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(centered=True, momentum=0.5)), ("Lion", {})])
def test_steps_allocate_no_parameter_sized_arrays(name, kw):
    import tracemalloc

    p = Parameter(np.random.default_rng(0).standard_normal(200_000).astype(np.float32))  # 800 KB: pieces
    opt = getattr(optim, name)([p], lr=1e-3, **kw)
    p.grad = ember.ones_like(p)
    opt.step()
    opt.step()
    v = p._version
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < p.detach().numpy().nbytes // 8, f"{name}.step allocated {peak} bytes"
    assert p._version == v + 3  # each step changes p in place, as PyTorch counts it


def test_updates_in_place_without_touching_grads():
    p = Parameter(np.ones((3, 4), np.float32))
    data = p.detach().numpy()
    g = ember.full((3, 4), 0.5)
    p.grad = g
    opt = optim.Adam([p], lr=0.1, weight_decay=0.1, maximize=True)
    v, gv = p._version, g._version
    opt.step()
    assert p.detach().numpy() is data and p.grad is g
    assert p._version == v + 1 and g._version == gv  # the parameter changed in place, its grad did not
    np.testing.assert_array_equal(g, 0.5)
    assert not np.array_equal(data, 1.0)
    assert p.data.dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32


def test_non_contiguous_parameter_is_updated_in_place(torch):
    values = initial_values([(6, 5)], np.float32)
    grads = [np.random.default_rng(t).standard_normal((6, 5)).astype(np.float32) for t in range(10)]
    p = Parameter(values[0])
    p.data = ember.Tensor(np.asfortranarray(values[0]))  # ember.Tensor(ndarray) shares the array
    data = p.detach().numpy()
    assert not data.flags.c_contiguous
    opt = optim.Adam([p], lr=0.1)
    for g in grads:
        p.grad = ember.tensor(g)
        opt.step()
    assert p.detach().numpy() is data and not data.flags.c_contiguous
    t_params, _ = run_torch(torch, "Adam", dict(lr=0.1), values, [[g] for g in grads])
    np.testing.assert_allclose(p.data, t_params[0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_params_without_grad_are_skipped():
    a, b = Parameter(np.ones(3, np.float32)), Parameter(np.ones(2, np.float32))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = ember.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_closure_is_called_with_grad_enabled_and_its_loss_returned():
    p = Parameter(np.array([2.0], np.float32))
    opt = optim.SGD([p], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        calls.append(ember.is_grad_enabled())
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert calls == [True] and float(loss) == pytest.approx(4.0)
    np.testing.assert_allclose(p.data, [2.0 - 0.1 * 4.0])


def test_zero_grad():
    p = Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=0.1)
    p.grad = ember.ones(3)
    g = p.grad
    v = g._version
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not g.numpy().any()  # zeroed in place, as PyTorch's grad.zero_()
    assert g._version == v + 1
    opt.zero_grad()
    assert p.grad is None


def test_named_parameters_and_repr():
    model = ember.nn.Linear(3, 2)
    opt = optim.AdamW(model.named_parameters(), lr=1e-3)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    text = repr(opt)
    assert text.startswith("AdamW (") and "Parameter Group 0" in text and "lr: 0.001" in text


def test_training_loop_with_scheduler_and_clipping_matches_torch(torch):
    # the whole loop a user writes: backward, clip, step, schedule; same data, same weights
    from ember.nn.utils import clip_grad_norm_
    from ember.optim.lr_scheduler import OneCycleLR

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = (x @ rng.standard_normal((5, 2)) + 0.1).astype(np.float32)
    model = ember.nn.Linear(5, 2)
    tmodel = torch.nn.Linear(5, 2)
    with torch.no_grad():
        tmodel.weight.copy_(torch.from_numpy(model.weight.detach().numpy()))
        tmodel.bias.copy_(torch.from_numpy(model.bias.detach().numpy()))
    opt = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-2, weight_decay=0.05, foreach=False)
    sched = OneCycleLR(opt, max_lr=0.05, total_steps=30)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=30)
    for _ in range(30):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        norm = clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        topt.zero_grad()
        tloss = ((tmodel(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean()
        tloss.backward()
        tnorm = torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 1.0)
        topt.step()
        tsched.step()
        assert float(loss) == pytest.approx(tloss.item(), rel=1e-5)
        assert float(norm) == pytest.approx(tnorm.item(), rel=1e-5)
    np.testing.assert_allclose(model.weight.data, tmodel.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.data, tmodel.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
