"""Shared by the tests of the normalization, layer and loss ops: PyTorch as the oracle to
second order, and each kernel against its reference (``ember.kernels`` on and off)."""
import contextlib

import numpy as np
import pytest

import ember
import ember.kernels
from ember.autograd import grad


@contextlib.contextmanager
def kernels(flag):
    """``with kernels(True):`` / ``kernels(False)``: the block with ember's kernels on or off."""
    prev = ember.kernels.enabled()
    ember.kernels.set_enabled(flag)
    try:
        yield
    finally:
        ember.kernels.set_enabled(prev)


@pytest.fixture
def kernels_on():
    """For tests of a kernel itself: kernels on, whatever EMBER_KERNELS says."""
    prev = ember.kernels.enabled()
    ember.kernels.set_enabled(True)
    yield
    ember.kernels.set_enabled(prev)


@pytest.fixture(params=[True, False], ids=["kernels", "reference"])
def kernel_mode(request):
    """Run a test once with the kernels and once on the references only."""
    prev = ember.kernels.enabled()
    ember.kernels.set_enabled(request.param)
    yield request.param
    ember.kernels.set_enabled(prev)


def _close(a, b, rtol, atol, what):
    a = np.zeros(np.shape(b)) if a is None else np.asarray(a)
    b = np.zeros(a.shape) if b is None else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)


def _weighted_sum(gs, vs):
    """sum_i (g_i * v_i).sum(): a scalar of first-order gradients to differentiate again."""
    s = None
    for g, v in zip(gs, vs):
        if g is None:
            continue
        term = (g * v).sum()
        s = term if s is None else s + term
    return s


def against_torch(torch, fe, ft, arrays, diff, rng, rtol=1e-10, atol=1e-12):
    """Compare ``fe(*ember tensors)`` with ``ft(*torch tensors)``: values, first-order
    gradients and second-order ones (``torch.autograd.grad(..., create_graph=True)`` twice).
    ``diff[i]`` says whether array i is differentiated. Returns the ember output."""
    es = [ember.Tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]  # shares a: keeps its layout
    ts = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    y, ty = fe(*es), ft(*ts)
    assert y.shape == tuple(ty.shape) and y.dtype == np.dtype(str(ty.dtype).replace("torch.", ""))
    _close(y.detach().numpy(), ty.detach().numpy(), rtol, atol, "value")
    we = [e for e, d in zip(es, diff) if d]
    wt = [t for t, d in zip(ts, diff) if d]
    gy = rng.standard_normal(y.shape).astype(y.dtype)
    g1e = grad([y], we, [ember.tensor(gy)], create_graph=True, allow_unused=True)
    g1t = torch.autograd.grad([ty], wt, [torch.tensor(gy)], create_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(g1e, g1t)):
        _close(None if a is None else a.detach().numpy(), None if b is None else b.detach().numpy(force=True), rtol, atol,
               f"first-order gradient of input {i}")
    vs = [rng.standard_normal(g.shape).astype(y.dtype) for g in g1e]
    se = _weighted_sum(g1e, vs)
    st = _weighted_sum(g1t, [torch.tensor(v) for v in vs])
    e_live = se is not None and se.requires_grad
    t_live = st is not None and st.requires_grad
    g2e = grad([se], we, create_graph=True, allow_unused=True) if e_live else [None] * len(we)
    g2t = torch.autograd.grad([st], wt, create_graph=True, allow_unused=True) if t_live else [None] * len(wt)
    for i, (a, b) in enumerate(zip(g2e, g2t)):
        _close(None if a is None else a.detach().numpy(), None if b is None else b.detach().numpy(force=True), rtol, atol,
               f"second-order gradient of input {i}")
    return y


def _graph_names(y):
    """The class names of the Functions in y's graph."""
    seen, stack = set(), [y.grad_fn]
    while stack:
        f = stack.pop()
        if f is None or f in seen:
            continue
        seen.add(f)
        stack.extend(t.grad_fn for t in f.inputs)
    return {type(f).__name__ for f in seen}


def _run(fn, arrays, diff, gy_seed, second):
    """Output, first-order gradients (plain backward) and second-order ones (create_graph)."""
    es = [ember.Tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]  # shares a: keeps its layout
    y = fn(*es)
    names = _graph_names(y)
    gy = np.random.default_rng(gy_seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(gy)
    g1 = [e.grad.numpy().copy() if e.grad is not None else None for e, d in zip(es, diff) if d]
    if not second:
        return y.detach().numpy().copy(), g1, None, names
    es = [ember.Tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]  # shares a: keeps its layout
    we = [e for e, d in zip(es, diff) if d]
    gs = grad([fn(*es)], we, [ember.tensor(gy)], create_graph=True, allow_unused=True)
    vs = [np.random.default_rng(gy_seed + 1 + i).standard_normal(e.shape).astype(y.dtype) for i, e in enumerate(we)]
    s = _weighted_sum(gs, vs)
    g2 = grad([s], we, allow_unused=True) if s is not None and s.requires_grad else [None] * len(we)
    return y.detach().numpy().copy(), g1, [None if g is None else g.detach().numpy() for g in g2], names


def kernel_matches_reference(fn, arrays, diff, rtol, atol, kernel, second=True, seed=0):
    """``fn`` with ``ember.kernels`` on and off: the same values, first-order gradients and
    (``second``) second-order gradients, the kernel's through its ``reference``. ``kernel``
    is the name of the kernel Function that must be in the graph with kernels on, and only then."""
    with kernels(False):
        ref = _run(fn, arrays, diff, seed, second)
    with kernels(True):
        got = _run(fn, arrays, diff, seed, second)
    assert kernel in got[3] and kernel not in ref[3], (got[3], ref[3])
    _close(got[0], ref[0], rtol, atol, "value")
    for i, (a, b) in enumerate(zip(got[1], ref[1])):
        _close(a, b, rtol, atol, f"first-order gradient of input {i}")
    if second:
        for i, (a, b) in enumerate(zip(got[2], ref[2])):
            _close(a, b, rtol, atol, f"second-order gradient of input {i}")
    return got, ref
