"""ember.nn.utils gradient clipping and flat parameter vectors, against torch.nn.utils."""
import math

import numpy as np
import pytest

import ember
from ember.nn import Parameter
from ember.nn.utils import (
    clip_grad_norm_, clip_grad_value_, get_total_norm, parameters_to_vector, vector_to_parameters,
)

SHAPES = [(5, 4), (4,), (3, 2, 2)]


def _pair(torch, dtype=np.float32, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [(scale * rng.standard_normal(s)).astype(dtype) for s in SHAPES]
    e = [Parameter(v.copy()) for v in values]
    t = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    for pe, pt, g in zip(e, t, grads):
        pe.grad = ember.tensor(g)
        pt.grad = torch.from_numpy(g.copy())
    return e, t


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    e, t = _pair(torch)
    total = clip_grad_norm_(e, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t, max_norm, norm_type=float(norm_type))
    assert isinstance(total, ember.Tensor) and total.dtype == np.float32
    np.testing.assert_allclose(float(total), t_total.item(), rtol=1e-5)
    for pe, pt in zip(e, t):
        np.testing.assert_allclose(pe.grad, pt.grad.numpy(), rtol=1e-5, atol=1e-7)
    after = float(get_total_norm([p.grad for p in e], norm_type))
    assert after <= max_norm * (1 + 1e-5) and (max_norm < float(total) or after == pytest.approx(float(total)))


def test_clip_grad_norm_scales_in_place_skips_none_and_accepts_one_tensor(torch):
    e, t = _pair(torch, dtype=np.float64, scale=10.0)
    e[1].grad, t[1].grad = None, None
    grads = [p.grad for p in e]
    total = clip_grad_norm_(iter(e), 1.0)
    t_total = torch.nn.utils.clip_grad_norm_(t, 1.0)
    np.testing.assert_allclose(float(total), t_total.item(), rtol=1e-12)
    assert e[0].grad is grads[0] and e[1].grad is None
    for pe, pt in zip(e, t):
        if pt.grad is not None:
            np.testing.assert_allclose(pe.grad, pt.grad.numpy(), rtol=1e-12)
    p = Parameter(np.ones(4, np.float32))
    p.grad = ember.full((4,), 2.0)
    g, v = p.grad, p.grad._version
    assert float(clip_grad_norm_(p, 1.0)) == pytest.approx(4.0)
    assert p.grad is g and g._version == v + 1  # scaled in place, as PyTorch's grad.mul_()
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 1.0, rtol=1e-5)


def test_clip_grad_norm_handles_huge_float32_gradients():
    p = Parameter(np.zeros(1000, np.float32))
    p.grad = ember.full((1000,), 1e30)  # squares overflow float32
    total = clip_grad_norm_([p], 1.0)
    assert float(total) == pytest.approx(1e30 * math.sqrt(1000), rel=1e-5)
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy().astype(np.float64)), 1.0, rtol=1e-5)


def test_nonfinite_norm():
    p = Parameter(np.zeros(3, np.float32))
    p.grad = ember.tensor([1.0, np.inf, 0.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert math.isinf(float(clip_grad_norm_([p], 1.0)))
    q = Parameter(np.zeros(3, np.float32))
    assert float(clip_grad_norm_([q], 1.0)) == 0.0  # no gradients at all


@pytest.mark.parametrize("bad,match", [(-1.0, "non-negative number, got -1.0"), ("1", "got '1'")])
def test_bad_max_norm(bad, match):
    with pytest.raises(ValueError, match=match):
        clip_grad_norm_([Parameter(np.zeros(2, np.float32))], bad)
    with pytest.raises(ValueError, match="norm_type must be a positive number or inf, got 0"):
        clip_grad_norm_([Parameter(np.zeros(2, np.float32))], 1.0, norm_type=0)


def test_clip_grad_value_matches_torch(torch):
    e, t = _pair(torch, scale=2.0)
    grads = [p.grad for p in e]
    clip_grad_value_(e, 0.7)
    torch.nn.utils.clip_grad_value_(t, 0.7)
    for pe, pt, g in zip(e, t, grads):
        assert pe.grad is g
        np.testing.assert_array_equal(pe.grad, pt.grad.numpy())
    assert max(float(p.grad.abs().max()) for p in e) == pytest.approx(0.7)


def test_parameters_to_vector_and_back(torch):
    e, t = _pair(torch)
    vec = parameters_to_vector(e)
    np.testing.assert_array_equal(vec.data, torch.nn.utils.parameters_to_vector(t).detach().numpy())
    data = [p.detach().numpy() for p in e]
    versions = [p._version for p in e]
    vector_to_parameters(vec * 2, e)
    for p, d, v, pt in zip(e, data, versions, t):
        assert p.detach().numpy() is d and p._version == v + 1  # written in place
        np.testing.assert_array_equal(p.data, 2 * pt.detach().numpy())
    with pytest.raises(ValueError, match="1-D vector of 36 elements.*got shape \\(39,\\)"):
        vector_to_parameters(ember.zeros(39), e)
