"""Optimizer state dicts: PyTorch's layout, exact round trips mid-run, loading PyTorch's own."""
import numbers

import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.nn import Parameter

SHAPES = [(4, 3), (3,), (2, 2)]
CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adadelta", dict()),
    ("Adamax", dict()),
    ("NAdam", dict(weight_decay=0.1)),
    ("RAdam", dict()),
    ("Lion", dict(lr=1e-3, weight_decay=0.1)),
]


def _grads(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]


def _params(seed=1):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(np.float32)) for s in SHAPES]


def _run(opt, params, grads):
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = ember.tensor(g)
        opt.step()


def _as_from_file(sd):
    """What a file format without ints as keys, tuples or Python scalars gives back."""
    def conv(v):
        if isinstance(v, dict):
            return {str(k): conv(e) for k, e in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(e) for e in v]
        if isinstance(v, (numbers.Number, np.generic)) and not isinstance(v, str):
            return np.asarray(v)
        return v
    return conv(sd)


@pytest.mark.parametrize("via_file", [False, True], ids=["dict", "file-like"])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=[c[0] + str(i) for i, c in enumerate(CONFIGS)])
def test_round_trip_mid_run_changes_nothing(name, kw, via_file):
    grads = _grads(30)
    ref = _params()
    ref_opt = getattr(optim, name)([{"params": ref[:2]}, {"params": ref[2:], "lr": 0.02}], **kw)
    _run(ref_opt, ref, grads)

    params = _params()
    opt = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], **kw)
    _run(opt, params, grads[:15])
    sd = opt.state_dict()
    saved = [p.detach().numpy().copy() for p in params]
    del opt
    resumed = [Parameter(v) for v in saved]
    fresh = getattr(optim, name)([{"params": resumed[:2]}, {"params": resumed[2:], "lr": 0.02}], **kw)
    fresh.load_state_dict(_as_from_file(sd) if via_file else sd)
    _run(fresh, resumed, grads[15:])
    for a, b in zip(resumed, ref):
        np.testing.assert_array_equal(a.data, b.data)
    assert fresh.state_dict()["param_groups"] == ref_opt.state_dict()["param_groups"]


def test_state_dict_layout_is_pytorchs_and_holds_copies():
    params = _params()
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=1e-3)
    _run(opt, params, _grads(2))
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "step"] and sd["state"][0]["step"] == 2
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert [g["lr"] for g in sd["param_groups"]] == [1e-3, 0.5]
    sd["state"][0]["exp_avg"][...] = 123.0
    sd["param_groups"][0]["lr"] = 9.0
    assert not np.any(opt.state[params[0]]["exp_avg"] == 123.0) and opt.param_groups[0]["lr"] == 1e-3


def test_loaded_hyperparameters_win_and_arrays_take_the_param_dtype():
    params = _params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _run(opt, params, _grads(2))
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.5
    sd["state"][0]["momentum_buffer"] = sd["state"][0]["momentum_buffer"].astype(np.float64)
    other = optim.SGD(params, lr=0.1, momentum=0.9)
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.5 and other.param_groups[0]["params"][0] is params[0]
    assert other.state[params[0]]["momentum_buffer"].dtype == np.float32


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=1e-2, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("NAdam", {}), ("Adagrad", dict(lr=0.1)), ("RMSprop", dict(centered=True))])
def test_loads_pytorchs_state_dict_and_continues_like_pytorch(torch, name, kw):
    grads = _grads(20)
    values = [p.detach().numpy().copy() for p in _params()]
    tp = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    topt = getattr(torch.optim, name)(tp, **kw, foreach=False)
    for gs in grads[:10]:
        for p, g in zip(tp, gs):
            p.grad = torch.from_numpy(g.copy())
        topt.step()
    tsd = topt.state_dict()
    sd = {"state": {i: {k: (v.numpy().copy() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
                    for i, s in tsd["state"].items()},
          "param_groups": [dict(g) for g in tsd["param_groups"]]}
    params = [Parameter(p.detach().numpy().copy()) for p in tp]
    opt = getattr(optim, name)(params, **kw)
    opt.load_state_dict(sd)
    _run(opt, params, grads[10:])
    for gs in grads[10:]:
        for p, g in zip(tp, gs):
            p.grad = torch.from_numpy(g.copy())
        topt.step()
    for a, b in zip(params, tp):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_rejects_a_state_dict_of_another_shape():
    params = _params()
    opt = optim.Adam(params)
    _run(opt, params, _grads(1))
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="state dict has 1 parameter groups, this optimizer has 2"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 holds 3 parameters in the state dict, 2"):
        optim.Adam(params[:2]).load_state_dict(sd)
    swapped = [params[1], params[0], params[2]]
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(4, 3\), its parameter has shape \(3,\)"):
        optim.Adam(swapped).load_state_dict(sd)


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_round_trip_through_ember_save_and_load(tmp_path, suffix):
    from ember.optim import lr_scheduler as L

    grads = _grads(20)

    def build(params):
        opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], lr=1e-2, amsgrad=True)
        return opt, L.OneCycleLR(opt, max_lr=[0.1, 0.05], total_steps=20)

    def advance(opt, sched, gs):
        for g in gs:
            _run(opt, opt_params(opt), [g])
            sched.step()

    def opt_params(opt):
        return [p for g in opt.param_groups for p in g["params"]]

    ref = _params()
    ref_opt, ref_sched = build(ref)
    advance(ref_opt, ref_sched, grads)

    params = _params()
    opt, sched = build(params)
    advance(opt, sched, grads[:9])
    path = tmp_path / ("ckpt" + suffix)
    ember.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "params": [p.data for p in params]}, path)
    ck = ember.load(path)
    resumed = [Parameter(np.asarray(v)) for v in ck["params"]]
    opt2, sched2 = build(resumed)
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    advance(opt2, sched2, grads[9:])
    for a, b in zip(resumed, ref):
        np.testing.assert_array_equal(a.data, b.data)
    assert sched2.get_last_lr() == ref_sched.get_last_lr()
    assert opt2.param_groups[0]["betas"] == ref_opt.param_groups[0]["betas"]


def test_pytorchs_none_options_are_not_loaded(torch):
    t = [torch.nn.Parameter(torch.zeros(3))]
    tsd = torch.optim.Adam(t, lr=0.1).state_dict()
    opt = optim.Adam([Parameter(np.zeros(3, np.float32))])
    opt.load_state_dict({"state": {}, "param_groups": [dict(g) for g in tsd["param_groups"]]})
    group = opt.param_groups[0]
    assert group["lr"] == 0.1 and "foreach" not in group and None not in group.values()
