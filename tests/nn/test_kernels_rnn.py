"""``ember.kernels.rnn.LSTMSequence`` against its reference ``ember.nn.rnn.lstm_reference``:
the same outputs, final states and gradients (input, initial state, every weight) for padded
and packed batches, both directions, with and without projections; higher-order gradients
through the kernel; gradients asked of only some inputs."""
import numpy as np
import pytest

import ember
import ember.kernels.rnn
from ember import nn
from ember.gradcheck import gradcheck, gradgradcheck
from ember.nn.utils.rnn import pack_sequence

from higher_order_helpers import kernels

pytestmark = pytest.mark.kernels


def dtype_of(t):
    return t.detach().numpy().dtype


def _run(m, make_input, h0, kernel):
    """Outputs and the gradients of a weighted sum of them, with the kernel on or off."""
    with kernels(kernel):
        m.zero_grad()
        inp, leaves = make_input()
        hx = None if h0 is None else tuple(ember.tensor(a, requires_grad=True) for a in h0)
        out, (h, c) = m(inp, hx)
        data = out.data if isinstance(out, nn.utils.rnn.PackedSequence) else out
        w = np.random.default_rng(3)
        loss = sum((t * ember.tensor(w.standard_normal(tuple(t.shape)).astype(dtype_of(t)))).sum()
                   for t in (data, h, c))
        loss.backward()
        grads = [t.grad.numpy() for t in leaves + list(hx or ())] + [p.grad.numpy() for p in m.parameters()]
        return [data.detach().numpy(), h.detach().numpy(), c.detach().numpy()], grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("proj_size", [0, 3])
def test_kernel_matches_reference(dtype, packed, bidirectional, proj_size, monkeypatch):
    rng = np.random.default_rng(0)
    ember.manual_seed(0)
    m = nn.LSTM(4, 5, num_layers=2, bidirectional=bidirectional, proj_size=proj_size, batch_first=True, dtype=dtype)
    lengths = (6, 3, 5)
    seqs = [rng.standard_normal((n, 4)).astype(dtype) for n in lengths]
    x = rng.standard_normal((3, 6, 4)).astype(dtype)

    def make_input():
        if packed:
            leaves = [ember.tensor(s, requires_grad=True) for s in seqs]
            return pack_sequence(leaves, enforce_sorted=False), leaves
        leaf = ember.tensor(x, requires_grad=True)
        return leaf, [leaf]

    D, P = 2 if bidirectional else 1, proj_size or 5
    h0 = (rng.standard_normal((2 * D, 3, P)).astype(dtype), rng.standard_normal((2 * D, 3, 5)).astype(dtype))
    calls = []
    kernel = ember.kernels.rnn.LSTMSequence
    monkeypatch.setattr(kernel, "apply", lambda *a, _apply=kernel.apply: calls.append(1) or _apply(*a))
    outs_k, grads_k = _run(m, make_input, h0, True)
    assert len(calls) == 2 * D  # one per layer and direction
    outs_r, grads_r = _run(m, make_input, h0, False)
    assert len(calls) == 2 * D
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, b in zip(outs_k + grads_k, outs_r + grads_r, strict=True):
        np.testing.assert_allclose(a, b, **tol)


def _both_ways(m, x, with_params=False):
    """[output, c_n, input gradient (+ parameter gradients)] with the kernel on, then off."""
    got = []
    for flag in (True, False):
        with kernels(flag):
            m.zero_grad()
            t = ember.tensor(x, requires_grad=True)
            out, (h, c) = m(t)
            (out.sum() + (c * c).sum()).backward()
            got.append([out.detach().numpy(), c.detach().numpy(), t.grad.numpy()] +
                       ([p.grad.numpy().copy() for p in m.parameters()] if with_params else []))
    return got


def test_gradients_of_some_inputs_only():
    """Only the input requires grad (the weights are frozen, no initial state): the kernel
    computes what is asked and the input's gradient equals the reference's."""
    ember.manual_seed(1)
    m = nn.LSTM(3, 4, dtype=np.float64)
    m.requires_grad_(False)
    x = np.random.default_rng(1).standard_normal((5, 2, 3))
    for a, b in zip(*_both_ways(m, x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    with kernels(True), ember.no_grad():
        out, (h, c) = m(ember.tensor(x))
        assert out.grad_fn is None and tuple(h.shape) == (1, 2, 4)


@pytest.mark.parametrize("proj_size", [0, 2])
def test_second_order_through_the_kernel(proj_size):
    """gradcheck and gradgradcheck of the kernel op itself, in every tensor input."""
    from ember.kernels.rnn import LSTMSequence

    rng = np.random.default_rng(2)
    F, H, P, sizes = 2, 3, proj_size or 3, [2, 2, 1]
    x = ember.tensor(rng.standard_normal((sum(sizes), F)), requires_grad=True)
    w_ih = ember.tensor(rng.standard_normal((4 * H, F)) * 0.5, requires_grad=True)
    bias = ember.tensor(rng.standard_normal(4 * H) * 0.5, requires_grad=True)
    h0 = ember.tensor(rng.standard_normal((2, P)), requires_grad=True)
    c0 = ember.tensor(rng.standard_normal((2, H)), requires_grad=True)
    w_hh = ember.tensor(rng.standard_normal((4 * H, P)) * 0.5, requires_grad=True)
    w_hr = ember.tensor(rng.standard_normal((P, H)), requires_grad=True) if proj_size else None
    inputs = [x, w_ih, bias, h0, c0, w_hh] + ([w_hr] if proj_size else [])

    def fn(x, w_ih, bias, h0, c0, w_hh, *rest):
        out, h, c = LSTMSequence.apply(x, w_ih, bias, h0, c0, w_hh, rest[0] if rest else None, sizes, False)
        return (out * out).sum() + (h * h).sum() + (c * c).sum() + c.sum()

    with kernels(True):
        assert gradcheck(fn, inputs)
        assert gradgradcheck(fn, inputs)


def test_kernel_without_cblas_matches_reference(monkeypatch):
    """Where the CBLAS routine is not found, ``_blas.gemm`` is NumPy's matmul: same numbers."""
    from ember.kernels import _blas

    monkeypatch.setitem(_blas._state, ("gemm", np.dtype(np.float64)), None)
    ember.manual_seed(4)
    m = nn.LSTM(3, 4, num_layers=2, proj_size=2, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((5, 2, 3))
    for a, b in zip(*_both_ways(m, x, with_params=True), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
