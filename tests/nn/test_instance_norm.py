"""Instance norm, local response norm and F.normalize against PyTorch (values, input and
parameter gradients, running statistics, float32 and float64, second order), gradcheck and
gradgradcheck, PyTorch's warnings and errors; and BatchNorm3d, GroupNorm and LayerNorm on
image-shaped input (N, C, H, W) / (N, C, D, H, W), train and eval, against PyTorch."""
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn import functional as F

from higher_order_helpers import against_torch


def _copy_params(torch, e, t, rng):
    """Random weight and bias, the same in both layers."""
    for name in ("weight", "bias"):
        p = getattr(e, name, None)
        if p is not None:
            v = rng.standard_normal(p.shape).astype(p._data.dtype)
            p._data[...] = v
            getattr(t, name).data.copy_(torch.tensor(v))


def _layer_matches_torch(torch, cls, args, kw, shape, dtype, modes=("train", "eval", "train"), seed=0):
    """Layer ``cls`` in ember and torch through ``modes``: outputs, input and parameter
    gradients, and buffers after each step."""
    rng = np.random.default_rng(seed)
    e = getattr(nn, cls)(*args, dtype=dtype, **kw)
    t = getattr(torch.nn, cls)(*args, dtype=getattr(torch, np.dtype(dtype).name), **kw)
    assert repr(e) == repr(t)
    _copy_params(torch, e, t, rng)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for mode in modes:
        getattr(e, mode)()
        getattr(t, mode)()
        x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
        ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ey, ty = e(ex), t(tx)
        g = rng.standard_normal(shape).astype(dtype)
        ey.backward(ember.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **tol, err_msg=f"{cls} {mode} output")
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **tol, err_msg=f"{cls} {mode} input grad")
        for name, p in t.named_parameters():
            np.testing.assert_allclose(getattr(e, name).grad.numpy(), p.grad.numpy(), **tol, err_msg=name)
            getattr(e, name).grad = None
            p.grad = None
        es = e.state_dict()
        for name, b in t.state_dict().items():
            np.testing.assert_allclose(np.asarray(es[name]), b.numpy(), **tol, err_msg=f"{cls} {mode} {name}")
    return e


IN_CASES = [
    ("InstanceNorm1d", (3, 7)),
    ("InstanceNorm1d", (2, 3, 7)),
    ("InstanceNorm2d", (2, 3, 5, 6)),
    ("InstanceNorm2d", (3, 5, 6)),
    ("InstanceNorm3d", (2, 3, 3, 4, 5)),
]
IN_KW = [{}, dict(affine=True), dict(track_running_stats=True, momentum=0.3),
         dict(affine=True, track_running_stats=True, eps=1e-3), dict(track_running_stats=True, momentum=None)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", IN_KW)
@pytest.mark.parametrize("cls,shape", IN_CASES)
def test_instance_norm_layers_match_torch(torch, cls, shape, kw, dtype):
    _layer_matches_torch(torch, cls, (3,), kw, shape, dtype)


def test_instance_norm_eval_uses_running_stats_only_when_tracked(torch):
    x = np.random.default_rng(1).standard_normal((2, 3, 8)) + 3
    tracked = nn.InstanceNorm1d(3, track_running_stats=True, dtype=np.float64).eval()
    np.testing.assert_allclose(tracked(x).numpy(), (x - 0) / np.sqrt(1 + 1e-5))  # running stats 0 and 1
    plain = nn.InstanceNorm1d(3, dtype=np.float64).eval()
    y = plain(x).numpy()
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)  # each instance's own statistics
    assert plain.running_mean is None and "running_mean" not in plain.state_dict()
    assert set(tracked.state_dict()) == {"running_mean", "running_var", "num_batches_tracked"}
    tracked.train()
    tracked(x)
    assert int(tracked.num_batches_tracked) == 0  # as PyTorch: instance norm does not count


def test_instance_norm_channel_mismatch_warns_or_raises_as_torch(torch):
    x = np.zeros((2, 4, 5, 5), np.float32)
    x[..., 0, 0] = 1
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        torch.nn.InstanceNorm2d(3)(torch.tensor(x))
    with pytest.warns(UserWarning) as ew:
        nn.InstanceNorm2d(3)(x)
    assert str(ew[0].message) == str(tw[0].message)
    for layer, tlayer, inp in [(nn.InstanceNorm2d(3, affine=True), torch.nn.InstanceNorm2d(3, affine=True), x),
                               (nn.InstanceNorm3d(3), torch.nn.InstanceNorm3d(3), x[0, :, 0]),
                               (nn.InstanceNorm1d(3), torch.nn.InstanceNorm1d(3), x[0, 0, 0])]:
        with pytest.raises(ValueError) as te:
            tlayer(torch.tensor(inp))
        with pytest.raises(ValueError) as ee:
            layer(inp)
        assert str(ee.value) == str(te.value)


def test_f_instance_norm_second_order_and_errors(torch):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(3), rng.standard_normal(3)
    against_torch(torch, lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3),
                  lambda x, w, b: torch.nn.functional.instance_norm(x, weight=w, bias=b, eps=1e-3),
                  [x, w, b], [True, True, True], rng, rtol=1e-9, atol=1e-10)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    against_torch(torch, lambda x: F.instance_norm(x, ember.tensor(rm), ember.tensor(rv), use_input_stats=False),
                  lambda x: torch.nn.functional.instance_norm(x, torch.tensor(rm), torch.tensor(rv),
                                                              use_input_stats=False),
                  [x], [True], rng, rtol=1e-9, atol=1e-10)
    erm, trm = rm.copy(), torch.tensor(rm)
    erv, trv = rv.copy(), torch.tensor(rv)
    F.instance_norm(x, erm, erv, momentum=0.2)
    torch.nn.functional.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    np.testing.assert_allclose(erm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(erv, trv.numpy(), rtol=1e-12)
    for args, kw in [((np.zeros((2, 3)),), {}), ((np.zeros((2, 3, 1)),), {}),
                     ((np.zeros((2, 3, 4)), np.zeros(2), np.ones(2)), {}),
                     ((np.zeros((2, 3, 4)),), dict(weight=np.ones(2))),
                     ((np.zeros((2, 3, 4)),), dict(use_input_stats=False))]:
        with pytest.raises(Exception) as te:
            torch.nn.functional.instance_norm(*[torch.tensor(a) for a in args],
                                              **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                 for k, v in kw.items()})
        with pytest.raises(type(te.value)) as ee:
            F.instance_norm(*args, **kw)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_local_response_norm_matches_torch(torch, dtype):
    rng = np.random.default_rng(3)
    for shape, size, kw in [((2, 5, 7), 3, {}), ((2, 6, 4, 3), 2, dict(alpha=0.1, beta=0.6, k=2.0)),
                            ((1, 4, 2, 3, 2), 5, dict(alpha=0.5)), ((2, 3, 4), 1, {})]:
        x = rng.standard_normal(shape).astype(dtype)
        against_torch(torch, lambda x: F.local_response_norm(x, size, **kw),
                      lambda x: torch.nn.functional.local_response_norm(x, size, **kw), [x], [True], rng,
                      **(dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)))
    e, t = nn.LocalResponseNorm(3, alpha=0.2, beta=0.5, k=1.5), torch.nn.LocalResponseNorm(3, alpha=0.2, beta=0.5, k=1.5)
    assert repr(e) == repr(t)
    x = rng.standard_normal((2, 5, 3, 3)).astype(dtype)
    np.testing.assert_allclose(e(x).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5)
    with pytest.raises(ValueError) as te:
        torch.nn.functional.local_response_norm(torch.zeros(2, 3), 2)
    with pytest.raises(ValueError) as ee:
        F.local_response_norm(np.zeros((2, 3)), 2)
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_torch(torch, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for kw in [{}, dict(p=1.0, dim=0), dict(p=3.5, dim=-1, eps=1e-3), dict(dim=(1, 2)), dict(p=float("inf"), dim=2)]:
        against_torch(torch, lambda x: F.normalize(x, **kw), lambda x: torch.nn.functional.normalize(x, **kw), [x],
                      [True], rng, **tol)
    # a zero vector is divided by eps; its first-order gradient as PyTorch's (PyTorch's second
    # order there is NaN, from the norm's)
    z = x.copy()
    z[0, :, 0] = 0
    ez, tz = ember.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    g = rng.standard_normal(z.shape).astype(dtype)
    F.normalize(ez).backward(ember.tensor(g))
    torch.nn.functional.normalize(tz).backward(torch.tensor(g))
    np.testing.assert_allclose(ez.grad.numpy(), tz.grad.numpy(), **tol)
    out = ember.empty(3, 4, 5, dtype=ember.tensor(x).dtype)
    assert F.normalize(x, out=out) is out
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.normalize(torch.tensor(x)).numpy(), **tol)
    with pytest.raises(RuntimeError, match=r"div\(\): functions with out=\.\.\. arguments don't support automatic"):
        F.normalize(ember.tensor(x, requires_grad=True), out=out)
    with pytest.raises(IndexError) as te:
        torch.nn.functional.normalize(torch.tensor(x), dim=5)
    with pytest.raises(IndexError) as ee:
        F.normalize(x, dim=5)
    assert str(ee.value) == str(te.value)


GRAD = [
    ("instance_norm", (2, 2, 4), lambda x, w, b: F.instance_norm(x, weight=w, bias=b)),
    ("local_response_norm", (1, 4, 3), lambda x, w, b: F.local_response_norm(x, 3, alpha=0.5, k=1.0) * w[0] + b[1]),
    ("normalize", (2, 3, 2), lambda x, w, b: F.normalize(x, p=3.0, dim=1) * w[0] + b[0]),
]


@pytest.mark.parametrize("name,shape,fn", GRAD, ids=[g[0] for g in GRAD])
def test_gradcheck_and_gradgradcheck(name, shape, fn):
    rng = np.random.default_rng(5)
    args = [ember.tensor(rng.standard_normal(s), requires_grad=True) for s in (shape, (2,), (2,))]
    assert gradcheck(fn, args)
    assert gradgradcheck(fn, args)


# ----- BatchNorm3d, GroupNorm, LayerNorm on image-shaped input -----
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,args,kw,shape", [
    ("BatchNorm3d", (3,), {}, (2, 3, 3, 4, 5)),
    ("BatchNorm3d", (3,), dict(momentum=None, eps=1e-3), (2, 3, 2, 3, 4)),
    ("BatchNorm3d", (3,), dict(affine=False, track_running_stats=False), (2, 3, 2, 3, 4)),
    ("BatchNorm2d", (3,), dict(momentum=0.5), (4, 3, 5, 6)),
    ("GroupNorm", (2, 4), {}, (2, 4, 5, 6)),
    ("GroupNorm", (1, 4), dict(eps=1e-3), (2, 4, 2, 3, 4)),
    ("GroupNorm", (4, 4), dict(affine=False), (2, 4, 3, 3, 2)),
    ("LayerNorm", ((3, 5, 6),), {}, (2, 3, 5, 6)),
    ("LayerNorm", ((5, 6),), dict(bias=False), (2, 3, 5, 6)),
    ("LayerNorm", ((2, 3, 4),), dict(elementwise_affine=False), (2, 3, 2, 3, 4)),
])
def test_norm_layers_on_images_match_torch(torch, cls, args, kw, shape, dtype):
    _layer_matches_torch(torch, cls, args, kw, shape, dtype, seed=6)
