"""Rprop, ASGD, Adafactor and CyclicLR against torch.optim, step for step (LBFGS: test_optim_lbfgs.py)."""
import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.nn import Parameter
from ember.optim import lr_scheduler as L
from ember.optim import optimizer as optimizer_mod

SHAPES = [(6, 5), (5,), (2, 3, 4)]  # a matrix, a vector, a batch of matrices (Adafactor factors the last two)
STEPS = 30

CONFIGS = [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1))),
    ("Rprop", dict(lr=1e-3, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, t0=0, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1)),
    ("Adafactor", dict(beta2_decay=-0.5, eps=(1e-3, 1e-2), d=2.0)),
    ("Adafactor", dict(lr=0.02, maximize=True, eps=(1e-30, 1e-3))),
]


def _ids(cfg):
    return cfg[0] + "-" + "-".join(f"{k}={v}" for k, v in cfg[1].items())


def grad_sequence(steps, shapes, dtype, seed=0):
    """Per step, one gradient per parameter; None now and then, as for an unused layer."""
    rng = np.random.default_rng(seed)
    seq = []
    for t in range(steps):
        gs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        if t % 7 == 3:
            gs[1] = None
        if t % 5 == 2:  # the same sign as before in part: Rprop grows those step sizes
            gs[0] = np.abs(gs[0])
        seq.append(gs)
    return seq


def initial_values(shapes, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _torch_state(torch, sd):
    return {i: {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
            for i, s in sd["state"].items()}


def assert_same_state(torch, e_opt, t_opt, rtol, atol):
    e_state, t_state = e_opt.state_dict()["state"], _torch_state(torch, t_opt.state_dict())
    assert set(e_state) == set(t_state)
    for i, ts in t_state.items():
        es = e_state[i]
        assert set(es) == set(ts), (set(es), set(ts))
        for k, tv in ts.items():
            ev = es[k]
            if np.ndim(tv) == 0:
                assert float(ev) == pytest.approx(float(tv), rel=1e-7, abs=0), k
            else:
                assert ev.shape == tv.shape and ev.dtype == tv.dtype, k
                np.testing.assert_allclose(ev, tv, rtol=rtol, atol=atol, err_msg=k)


def run_both(torch, name, kw, dtype, groups=None, steps=STEPS, rtol=1e-6, atol=1e-7):
    """Both optimizers on the same values and gradients; parameters compared after every step."""
    values, grads = initial_values(SHAPES, dtype), grad_sequence(steps, SHAPES, dtype)
    e = [Parameter(v.copy()) for v in values]
    t = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]

    def spec(ps):
        return ps if groups is None else [dict(g, params=[ps[i] for i in g["params"]]) for g in groups]

    e_opt = getattr(optim, name)(spec(e), **kw)
    t_opt = getattr(torch.optim, name)(spec(t), **kw, foreach=False)
    for step, gs in enumerate(grads):
        for pe, pt, g in zip(e, t, gs):
            pe.grad = None if g is None else ember.tensor(g)
            pt.grad = None if g is None else torch.from_numpy(g.copy())
        v = [p._version for p in e]
        e_opt.step()
        t_opt.step()
        for i, (pe, pt, g) in enumerate(zip(e, t, gs)):
            assert pe.detach().numpy().dtype == dtype
            np.testing.assert_allclose(pe.detach().numpy(), pt.detach().numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"step {step}, parameter {i}")
            assert pe._version == v[i] + (g is not None)  # each update bumps the version, once
    assert_same_state(torch, e_opt, t_opt, rtol, atol)
    return e_opt, t_opt


@pytest.mark.parametrize("piece_bytes", [1 << 18, 64], ids=["whole", "pieces"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_matches_torch_float32(torch, cfg, piece_bytes, monkeypatch):
    monkeypatch.setattr(optimizer_mod, "_PIECE_BYTES", piece_bytes)  # 64: 16-element pieces
    run_both(torch, cfg[0], cfg[1], np.float32)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_ids)
def test_matches_torch_float64(torch, cfg):
    run_both(torch, cfg[0], cfg[1], np.float64, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,defaults,groups", [
    ("Rprop", dict(lr=0.01), [dict(params=[0]), dict(params=[1, 2], lr=0.1, etas=(0.4, 1.1))]),
    ("ASGD", dict(lr=0.01, t0=3), [dict(params=[2, 0], lambd=0.1), dict(params=[1], weight_decay=0.1, t0=10)]),
    ("Adafactor", dict(lr=0.01), [dict(params=[0, 1], weight_decay=0.2), dict(params=[2], lr=0.05, d=1.5)]),
])
def test_param_groups_with_different_hyperparameters(torch, name, defaults, groups):
    e_opt, t_opt = run_both(torch, name, defaults, np.float32, groups=groups)
    assert [g["lr"] for g in e_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
    for eg, tg in zip(e_opt.state_dict()["param_groups"], t_opt.state_dict()["param_groups"]):
        assert set(eg) == set(tg)  # foreach, capturable... are accepted and kept, as PyTorch's
        assert eg["params"] == tg["params"]


@pytest.mark.parametrize("name,kw", [("Rprop", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=2)),
                                     ("Adafactor", dict(lr=0.05))])
def test_small_mlp_trains_like_torch(torch, name, kw):
    # real gradients from backward, same start weights: the loss of every step agrees
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 1)).astype(np.float32)
    w = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in [(4, 8), (8,), (8, 1)]]
    e = [Parameter(v.copy()) for v in w]
    t = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in w]
    e_opt, t_opt = getattr(optim, name)(e, **kw), getattr(torch.optim, name)(t, **kw)
    ex, ey, tx, ty = ember.tensor(x), ember.tensor(y), torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(15):
        e_opt.zero_grad()
        loss = ((ember.tanh(ex @ e[0] + e[1]) @ e[2] - ey) ** 2).mean()
        loss.backward()
        e_opt.step()
        t_opt.zero_grad()
        tloss = ((torch.tanh(tx @ t[0] + t[1]) @ t[2] - ty) ** 2).mean()
        tloss.backward()
        t_opt.step()
        assert float(loss) == pytest.approx(tloss.item(), rel=1e-5)
    for pe, pt in zip(e, t):
        np.testing.assert_allclose(pe.detach().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_adafactor_factors_matrices_and_not_vectors():
    a, b, c = Parameter(np.ones((4, 3), np.float32)), Parameter(np.ones(3, np.float32)), \
        Parameter(np.ones((2, 4, 3), np.float32))
    opt = optim.Adafactor([a, b, c])
    for p in (a, b, c):
        p.grad = ember.ones_like(p)
    opt.step()
    assert sorted(opt.state[a]) == ["col_var", "row_var", "step"] and sorted(opt.state[b]) == ["step", "variance"]
    assert opt.state[a]["row_var"].shape == (4, 1) and opt.state[a]["col_var"].shape == (1, 3)
    assert opt.state[c]["row_var"].shape == (2, 4, 1) and opt.state[c]["col_var"].shape == (2, 1, 3)


# ----- state dicts -----
RESUME = [("Rprop", dict(lr=0.05)), ("ASGD", dict(lr=0.05, t0=5)), ("Adafactor", dict(weight_decay=0.1))]


@pytest.mark.parametrize("name,kw", RESUME)
def test_state_dict_round_trip_resumes_identically(name, kw):
    grads = grad_sequence(20, SHAPES, np.float32)
    grads = [[np.zeros(s, np.float32) if g is None else g for g, s in zip(gs, SHAPES)] for gs in grads]

    def build(ps):
        return getattr(optim, name)([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}], **kw)

    def run(opt, ps, gs):
        for step in gs:
            for p, g in zip(ps, step):
                p.grad = ember.tensor(g)
            opt.step()

    ref = [Parameter(v) for v in initial_values(SHAPES, np.float32)]
    ref_opt = build(ref)
    run(ref_opt, ref, grads)
    ps = [Parameter(v) for v in initial_values(SHAPES, np.float32)]
    opt = build(ps)
    run(opt, ps, grads[:10])
    sd = opt.state_dict()
    resumed = [Parameter(p.detach().numpy().copy()) for p in ps]
    fresh = build(resumed)
    fresh.load_state_dict(sd)
    run(opt, ps, [[np.full(s, 9.0, np.float32) for s in SHAPES]])  # the saved state holds copies
    run(fresh, resumed, grads[10:])
    for a, b in zip(resumed, ref):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name,kw", RESUME)
def test_loads_pytorchs_state_dict_and_continues_like_pytorch(torch, name, kw):
    values, grads = initial_values(SHAPES, np.float32), grad_sequence(20, SHAPES, np.float32)
    t = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    t_opt = getattr(torch.optim, name)(t, **kw)

    def run_torch(gs):
        for step in gs:
            for p, g in zip(t, step):
                p.grad = None if g is None else torch.from_numpy(g.copy())
            t_opt.step()

    run_torch(grads[:10])
    tsd = t_opt.state_dict()
    sd = {"state": _torch_state(torch, tsd), "param_groups": [dict(g) for g in tsd["param_groups"]]}
    e = [Parameter(p.detach().numpy().copy()) for p in t]
    e_opt = getattr(optim, name)(e, **kw)
    e_opt.load_state_dict(sd)
    for step in grads[10:]:
        for p, g in zip(e, step):
            p.grad = None if g is None else ember.tensor(g)
        e_opt.step()
    run_torch(grads[10:])
    for pe, pt in zip(e, t):
        np.testing.assert_allclose(pe.detach().numpy(), pt.detach().numpy(), rtol=1e-6, atol=1e-7)


# ----- bad arguments: PyTorch's ValueError and message -----
BAD = [
    ("Rprop", dict(lr=-0.1)),
    ("Rprop", dict(etas=(1.5, 1.2))),
    ("Rprop", dict(etas=(0.5, 0.9))),
    ("ASGD", dict(lr=-1.0)),
    ("ASGD", dict(weight_decay=-0.1)),
    ("Adafactor", dict(lr=-1e-3)),
    ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))),
    ("Adafactor", dict(eps=(None, -1e-3))),
    ("Adafactor", dict(d=0.5)),
    ("Adafactor", dict(weight_decay=-0.5)),
    ("LBFGS", dict(lr=-1)),
]


@pytest.mark.parametrize("name,kw", BAD, ids=[f"{n}-{k}" for n, k in BAD])
def test_bad_arguments_raise_pytorchs_error(torch, name, kw):
    with pytest.raises(ValueError) as t_err:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(3))], **kw)
    with pytest.raises(ValueError) as e_err:
        getattr(optim, name)([Parameter(np.zeros(3, np.float32))], **kw)
    assert str(e_err.value) == str(t_err.value)


def test_flags_pytorch_takes_are_accepted():
    p = [Parameter(np.zeros(3, np.float32))]
    optim.Rprop(p, foreach=False, capturable=False, differentiable=False, maximize=True)
    optim.ASGD(p, 0.1, 1e-4, 0.75, 1e6, 0, None, False, False, False)  # all positional, as PyTorch's
    optim.Adafactor(p, foreach=None, maximize=False)
    with pytest.raises(TypeError):
        optim.Adafactor(p, 1e-2, -0.8, (None, 1e-3), 1.0, 0.0, None)  # foreach is keyword-only there too


def test_sparse_adam_is_not_there():
    # ember's Embedding has no sparse gradients, so SparseAdam would have nothing to do
    assert not hasattr(optim, "SparseAdam")


def test_exported():
    for name in ("Rprop", "ASGD", "Adafactor", "LBFGS"):
        assert name in optim.__all__ and getattr(optim, name).__name__ == name
    assert "CyclicLR" in L.__all__ and L.CyclicLR.__module__ == "ember.optim.lr_scheduler"


# ----- CyclicLR -----
CYCLIC = [
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5), "SGD", dict(momentum=0.9)),
    (dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.05], step_size_up=4, step_size_down=7, mode="triangular2"),
     "SGD", dict(momentum=0.9)),
    (dict(base_lr=0.001, max_lr=0.01, step_size_up=3, mode="exp_range", gamma=0.97), "SGD", dict(momentum=0.5)),
    (dict(base_lr=0.001, max_lr=0.01, step_size_up=6, base_momentum=[0.7, 0.75], max_momentum=0.95), "Adam", {}),
    (dict(base_lr=0.1, max_lr=1.0, step_size_up=3, scale_fn=lambda x: 0.5 ** x, scale_mode="iterations"),
     "SGD", dict(momentum=0.9)),
    (dict(base_lr=0.1, max_lr=1.0, step_size_up=2, step_size_down=5, scale_fn=lambda c: 1 / c), "RMSprop",
     dict(momentum=0.9)),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False), "Adagrad", {}),
    (dict(base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False), "ASGD", {}),
]


def _cyclic_opt(mod, name, kw, torch=None):
    if torch is None:
        params = [Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(3, np.float32))]
    else:
        params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    return getattr(mod, name)([{"params": params[:1], "lr": 0.5}, {"params": params[1:]}], **kw)


def _momenta(opt):
    return [(g.get("momentum"), g["betas"][0] if "betas" in g else None) for g in opt.param_groups]


@pytest.mark.parametrize("cfg", CYCLIC, ids=[f"{c[1]}-{i}" for i, c in enumerate(CYCLIC)])
def test_cyclic_lr_matches_torch(torch, cfg):
    kw, name, opt_kw = cfg
    e_opt, t_opt = _cyclic_opt(optim, name, opt_kw), _cyclic_opt(torch.optim, name, opt_kw, torch)
    e_s, t_s = L.CyclicLR(e_opt, **kw), torch.optim.lr_scheduler.CyclicLR(t_opt, **kw)
    seen = set()
    for _ in range(40):
        # the same float64 arithmetic in the same order: the same numbers
        assert e_s.get_last_lr() == t_s.get_last_lr()
        assert [g["lr"] for g in e_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
        assert _momenta(e_opt) == _momenta(t_opt)
        seen.add(round(e_s.get_last_lr()[0], 12))
        e_opt.step()
        t_opt.step()
        e_s.step()
        t_s.step()
    assert len(seen) > 3


class PowerPerCycle:
    """A callable object: its attributes go into the scheduler's state dict, as in PyTorch."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, c):
        return self.factor ** (c - 1)


@pytest.mark.parametrize("custom", [False, True], ids=["mode", "callable-object"])
def test_cyclic_lr_state_dict_resumes_identically(custom):
    def build(factor=0.5):
        opt = optim.Adam([Parameter(np.zeros(2, np.float32))], lr=0.1)
        fn = PowerPerCycle(factor) if custom else None
        return opt, L.CyclicLR(opt, 0.01, 0.1, step_size_up=3, step_size_down=4, mode="triangular2", scale_fn=fn)

    def run(opt, s, n):
        for _ in range(n):
            opt.step()
            s.step()

    ref_opt, ref = build(0.25)
    run(ref_opt, ref, 20)
    opt, s = build(0.25)
    run(opt, s, 9)
    o_sd, s_sd = opt.state_dict(), s.state_dict()
    assert s_sd["_scale_fn_custom"] == ({"factor": 0.25} if custom else None)
    opt2, s2 = build()  # factor 0.5 until the state dict restores 0.25
    opt2.load_state_dict(o_sd)
    s2.load_state_dict(s_sd)
    run(opt2, s2, 11)
    assert s2.get_last_lr() == ref.get_last_lr()
    assert opt2.param_groups[0]["betas"] == ref_opt.param_groups[0]["betas"]


def test_cyclic_lr_errors(torch):
    cases = [(dict(base_lr=0.01, max_lr=0.1), "Adagrad"), (dict(base_lr=0.01, max_lr=0.1, mode="cosine"), "SGD")]
    for kw, name in cases:
        with pytest.raises(ValueError) as t_err:
            torch.optim.lr_scheduler.CyclicLR(_cyclic_opt(torch.optim, name, {}, torch), **kw)
        with pytest.raises(ValueError) as e_err:
            L.CyclicLR(_cyclic_opt(optim, name, {}), **kw)
        assert str(e_err.value) == str(t_err.value)
    with pytest.raises(ValueError, match="max_lr has 3 values but the optimizer has 2 parameter groups"):
        L.CyclicLR(_cyclic_opt(optim, "SGD", {}), base_lr=0.01, max_lr=[0.1, 0.2, 0.3])


@pytest.mark.parametrize("name", ["Rprop", "ASGD", "Adafactor", "LBFGS"])
def test_a_graph_that_saved_the_parameter_refuses_backward_after_a_step(name):
    p = Parameter(np.array([1.0, -2.0, 3.0], np.float32))
    opt = getattr(optim, name)([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    kept = (p * p).sum()  # saves p for its backward
    if name == "LBFGS":
        opt.step(closure)
    else:
        closure()
        opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        kept.backward()
