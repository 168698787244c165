"""Each scheduler against torch.optim.lr_scheduler for 40 steps, state dicts mid-run, validation."""
import math

import numpy as np
import pytest

import ember.optim as optim
from ember.nn import Parameter
from ember.optim import lr_scheduler as L

STEPS = 40
LRS = (0.1, 0.02)  # two parameter groups, two learning rates

# (name, kwargs, optimizer, optimizer kwargs); callables receive the module (ember's or torch's)
SCHEDULERS = [
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e), "SGD", {}),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9 if e % 3 else 1.0), "SGD", {}),
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD", {}),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 20], gamma=0.3), "SGD", {}),
    ("ConstantLR", dict(factor=0.25, total_iters=6), "SGD", {}),
    ("ExponentialLR", dict(gamma=0.9), "SGD", {}),
    ("PolynomialLR", dict(total_iters=25, power=2.0), "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=1e-3), "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=1e-3), "SGD", {}),
    ("CosineAnnealingWarmRestarts", dict(T_0=7), "SGD", {}),
    ("LinearLR", dict(start_factor=0.1, total_iters=8), "SGD", {}),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=30), "SGD", {}),
    ("OneCycleLR", dict(max_lr=[1.0, 0.1], total_steps=STEPS), "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=10, anneal_strategy="linear", three_phase=True),
     "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=1e-2, total_steps=STEPS, pct_start=0.25), "Adam", {}),
    ("OneCycleLR", dict(max_lr=1e-2, total_steps=STEPS, cycle_momentum=False), "Adagrad", {}),
]


def _ids(cfg):
    return cfg[0] + "-" + "-".join(f"{k}={v}" for k, v in cfg[1].items() if not callable(v))


def _optimizer(mod, name, kw, torch=None):
    if torch is None:
        params = [Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(3, np.float32))]
    else:
        params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    return getattr(mod, name)([{"params": params[:1], "lr": LRS[0]}, {"params": params[1:], "lr": LRS[1]}], **kw)


def _momenta(opt):
    out = []
    for g in opt.param_groups:
        if "betas" in g:
            out.append(float(g["betas"][0]))
        elif "momentum" in g:
            out.append(float(g["momentum"]))
    return out


def _assert_same(e_sched, e_opt, t_sched, t_opt):
    np.testing.assert_allclose(e_sched.get_last_lr(), t_sched.get_last_lr(), rtol=1e-12)
    np.testing.assert_allclose([g["lr"] for g in e_opt.param_groups], [g["lr"] for g in t_opt.param_groups],
                               rtol=1e-12)
    np.testing.assert_allclose(_momenta(e_opt), _momenta(t_opt), rtol=1e-12)


@pytest.mark.parametrize("cfg", SCHEDULERS, ids=_ids)
def test_matches_torch(torch, cfg):
    name, kw, opt_name, opt_kw = cfg
    e_opt, t_opt = _optimizer(optim, opt_name, opt_kw), _optimizer(torch.optim, opt_name, opt_kw, torch)
    e_sched = getattr(L, name)(e_opt, **kw)
    t_sched = getattr(torch.optim.lr_scheduler, name)(t_opt, **kw)
    _assert_same(e_sched, e_opt, t_sched, t_opt)
    lrs = set()
    for _ in range(STEPS - 1 if name == "OneCycleLR" else STEPS):
        e_opt.step()
        t_opt.step()
        e_sched.step()
        t_sched.step()
        _assert_same(e_sched, e_opt, t_sched, t_opt)
        lrs.add(e_sched.get_last_lr()[0])
    assert len(lrs) > 1, "the schedule should change the rate"


def _sequential(mod, opt):
    warm = mod.LinearLR(opt, start_factor=0.01, total_iters=5)
    cos = mod.CosineAnnealingLR(opt, T_max=STEPS - 5, eta_min=1e-4)
    return mod.SequentialLR(opt, [warm, cos], milestones=[5])


def _sequential3(mod, opt):
    a = mod.ConstantLR(opt, factor=0.5, total_iters=4)
    b = mod.ExponentialLR(opt, gamma=0.9)
    c = mod.StepLR(opt, step_size=3, gamma=0.5)
    return mod.SequentialLR(opt, [a, b, c], milestones=[6, 15])


def _chained(mod, opt):
    return mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.1, total_iters=5), mod.ExponentialLR(opt, gamma=0.9)])


def _chained_cos(mod, opt):  # two chainable forms on one optimizer, stepped one after the other
    return mod.ChainedScheduler([mod.LinearLR(opt, start_factor=0.2, total_iters=6),
                                 mod.CosineAnnealingLR(opt, T_max=15)])


@pytest.mark.parametrize("build", [_sequential, _sequential3, _chained, _chained_cos])
def test_composite_schedulers_match_torch(torch, build):
    e_opt, t_opt = _optimizer(optim, "SGD", {}), _optimizer(torch.optim, "SGD", {}, torch)
    e_sched, t_sched = build(L, e_opt), build(torch.optim.lr_scheduler, t_opt)
    _assert_same(e_sched, e_opt, t_sched, t_opt)
    for _ in range(STEPS):
        e_opt.step()
        t_opt.step()
        e_sched.step()
        t_sched.step()
        _assert_same(e_sched, e_opt, t_sched, t_opt)


METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.93, 0.94, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7995, 0.81, 0.82,
           0.83, 0.84, 0.85, 0.86] * 2


@pytest.mark.parametrize("kw", [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=2, min_lr=[0.01, 0.001]),
    dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs"),
    dict(mode="min", patience=0, threshold=0.01, threshold_mode="rel", min_lr=0.005),
])
def test_reduce_lr_on_plateau_matches_torch(torch, kw):
    e_opt, t_opt = _optimizer(optim, "SGD", {}), _optimizer(torch.optim, "SGD", {}, torch)
    e_sched = L.ReduceLROnPlateau(e_opt, **kw)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
    for m in METRICS:
        e_sched.step(m)
        t_sched.step(m)
        _assert_same(e_sched, e_opt, t_sched, t_opt)
        assert e_sched.num_bad_epochs == t_sched.num_bad_epochs and e_sched.best == t_sched.best


def _plain(v):
    """Whether v holds only what ember.save writes: dicts, lists, strings, numbers, arrays."""
    if isinstance(v, dict):
        return all(isinstance(k, (str, int)) and _plain(e) for k, e in v.items())
    if isinstance(v, (list, tuple)):
        return all(_plain(e) for e in v)
    return isinstance(v, (str, int, float, bool, np.ndarray, np.generic))


BUILDERS = [
    lambda o: L.StepLR(o, step_size=4, gamma=0.5),
    lambda o: L.MultiStepLR(o, milestones=[3, 9, 9], gamma=0.5),
    lambda o: L.CosineAnnealingLR(o, T_max=12),
    lambda o: L.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
    lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=30),
    lambda o: L.LambdaLR(o, lambda e: 1 / (1 + e)),
    lambda o: _sequential(L, o),
    lambda o: _chained(L, o),
    lambda o: L.ReduceLROnPlateau(o, patience=1, cooldown=1),
]


@pytest.mark.parametrize("build", BUILDERS, ids=range(len(BUILDERS)))
def test_state_dict_round_trip_mid_run(build):
    def advance(opt, sched, steps, start):
        out = []
        for t in range(start, start + steps):
            opt.step()
            sched.step(METRICS[t]) if isinstance(sched, L.ReduceLROnPlateau) else sched.step()
            out.append(sched.get_last_lr())
        return out

    ref_opt = _optimizer(optim, "SGD", dict(momentum=0.9))
    ref_sched = build(ref_opt)
    ref = advance(ref_opt, ref_sched, 25, 0)

    opt = _optimizer(optim, "SGD", dict(momentum=0.9))
    sched = build(opt)
    first = advance(opt, sched, 12, 0)
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert _plain(sched_sd), sched_sd
    opt2 = _optimizer(optim, "SGD", dict(momentum=0.9))
    sched2 = build(opt2)  # build first, then load: as in PyTorch
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    rest = advance(opt2, sched2, 13, 12)
    assert first + rest == ref
    assert _momenta(opt2) == _momenta(ref_opt)


def test_warning_when_the_scheduler_steps_before_the_optimizer():
    opt = _optimizer(optim, "SGD", {})
    sched = L.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()


def test_step_with_epoch_uses_the_closed_form(torch):
    e_opt, t_opt = _optimizer(optim, "SGD", {}), _optimizer(torch.optim, "SGD", {}, torch)
    e, t = L.CosineAnnealingLR(e_opt, T_max=10), torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=10)
    e_opt.step()
    t_opt.step()
    with pytest.warns(UserWarning):
        e.step(7)
    with pytest.warns(UserWarning):
        t.step(7)
    np.testing.assert_allclose(e.get_last_lr(), t.get_last_lr(), rtol=1e-12)
    assert math.isclose(e.get_last_lr()[0], 0.1 * (1 + math.cos(math.pi * 0.7)) / 2)


@pytest.mark.parametrize("build,match", [
    (lambda o: L.StepLR(o, step_size=0), r"StepLR: step_size must be an int >= 1, got 0"),
    (lambda o: L.StepLR(o, step_size=2.5), r"step_size must be an int >= 1, got 2.5"),
    (lambda o: L.MultiStepLR(o, milestones=[5, 3]), r"milestones must be increasing, got \[5, 3\]"),
    (lambda o: L.LinearLR(o, start_factor=0), r"LinearLR: start_factor must be a number in \(0.0, 1.0\], got 0"),
    (lambda o: L.CosineAnnealingLR(o, T_max=0), r"T_max must be an int >= 1, got 0"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), r"T_mult must be an int >= 1, got 0"),
    (lambda o: L.OneCycleLR(o, max_lr=0.1), r"give total_steps, or epochs and steps_per_epoch"),
    (lambda o: L.OneCycleLR(o, max_lr=[0.1], total_steps=10), r"max_lr has 1 values but the optimizer has 2"),
    (lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="cosine"), r"'cosine'"),
    (lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), r"pct_start.*1.5"),
    (lambda o: L.ReduceLROnPlateau(o, factor=1.0), r"factor must be < 1.0, got 1.0"),
    (lambda o: L.ReduceLROnPlateau(o, mode="minimum"), r"mode must be 'min' or 'max', got 'minimum'"),
    (lambda o: L.ReduceLROnPlateau(o, patience=-1), r"patience must be an int >= 0, got -1"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]), r"one milestone fewer"),
    (lambda o: L.LambdaLR(o, [lambda e: 1.0]), r"lr_lambda has 1 values"),
])
def test_bad_arguments_fail_in_init(build, match):
    with pytest.raises(ValueError, match=match):
        build(_optimizer(optim, "SGD", {}))


def test_one_cycle_needs_momentum_or_betas_and_stops_at_total_steps():
    with pytest.raises(ValueError, match="Adagrad has neither"):
        L.OneCycleLR(_optimizer(optim, "Adagrad", {}), max_lr=0.1, total_steps=5)
    opt = _optimizer(optim, "SGD", dict(momentum=0.9))
    sched = L.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(2):
        opt.step()
        sched.step()
    opt.step()
    sched.step()  # the 3rd step is total_steps: still allowed, as in PyTorch
    with pytest.raises(ValueError, match="tried to step 4 times.*total_steps=3"):
        sched.step()
