"""Initializers: PyTorch's formulas, checked statistically on large draws, in place, dtype kept."""
import math
import statistics

import numpy as np
import pytest

import ember
from ember.nn import Parameter, init


def _param(*shape, dtype=np.float32):
    return Parameter(np.zeros(shape, dtype))


def test_calculate_gain_table(torch):
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu", "conv_transpose2d"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    for slope in [None, 0, 0.2, math.sqrt(5)]:
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", slope))
    with pytest.raises(ValueError, match="softmax"):
        init.calculate_gain("softmax")


def test_fan_in_and_fan_out(torch):
    for shape in [(10, 20), (8, 3, 5, 5), (4, 6, 3)]:
        assert init._calculate_fan_in_and_fan_out(np.zeros(shape)) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="at least 2"):
        init._calculate_fan_in_and_fan_out(np.zeros(5))


def test_in_place_dtype_and_return():
    for dtype in (np.float32, np.float64):
        p = _param(50, 40, dtype=dtype)
        before = p.detach().numpy()
        for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
                   init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_, init.trunc_normal_):
            v = p._version
            assert fn(p) is p
            assert p.detach().numpy() is before and p.dtype == dtype
            assert p._version == v + 1  # an in-place fill, counted as PyTorch counts it
            assert np.all(np.isfinite(p.detach().numpy())) and p.detach().numpy().std() > 0
    a = np.zeros((3, 4), np.float32)
    assert init.ones_(a) is a and np.all(a == 1)
    assert np.all(init.zeros_(a) == 0)
    assert np.all(init.constant_(ember.zeros(2, 2), 0.25).numpy() == 0.25)
    assert np.array_equal(init.eye_(a), np.eye(3, 4))
    with pytest.raises(TypeError, match="floating"):
        init.normal_(np.zeros(3, np.int64))


def test_uniform_and_normal_stats():
    p = _param(400, 500)
    init.uniform_(p, -2.0, 3.0)
    assert p.detach().numpy().min() >= -2 and p.detach().numpy().max() < 3
    assert p.detach().numpy().mean() == pytest.approx(0.5, abs=0.01)
    assert p.detach().numpy().std() == pytest.approx(5 / math.sqrt(12), rel=0.01)
    init.normal_(p, 1.5, 0.3)
    assert p.detach().numpy().mean() == pytest.approx(1.5, abs=0.003)
    assert p.detach().numpy().std() == pytest.approx(0.3, rel=0.01)


@pytest.mark.parametrize("shape", [(300, 400), (64, 32, 3, 3)])
def test_xavier_and_kaiming_stats(shape):
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    p = _param(*shape)
    init.xavier_uniform_(p, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(p.detach().numpy()).max() <= bound and np.abs(p.detach().numpy()).max() > 0.99 * bound
    init.xavier_normal_(p)
    assert p.detach().numpy().std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    init.kaiming_uniform_(p, a=math.sqrt(5))  # Linear/Conv's default: bound 1/sqrt(fan_in)
    assert np.abs(p.detach().numpy()).max() <= 1 / math.sqrt(fan_in) * (1 + 1e-6)
    assert p.detach().numpy().std() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
    assert p.detach().numpy().std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.02)
    assert p.detach().numpy().mean() == pytest.approx(0, abs=0.05 * math.sqrt(2 / fan_out))
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(p, mode="fan_avg")


def test_orthogonal(torch):
    for shape, gain in [((20, 50), 1.0), ((50, 20), 2.0), ((8, 4, 3, 3), 1.0)]:
        p = _param(*shape, dtype=np.float64)
        init.orthogonal_(p, gain=gain)
        w = p.detach().numpy().reshape(shape[0], -1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, gain**2 * np.eye(min(w.shape)), atol=1e-10)
    with pytest.raises(ValueError, match="at least 2"):
        init.orthogonal_(np.zeros(4))


def test_trunc_normal_bounds_and_moments(torch):
    p = _param(200, 300, dtype=np.float64)
    init.trunc_normal_(p, mean=1.0, std=2.0, a=0.5, b=3.0)
    assert p.detach().numpy().min() >= 0.5 and p.detach().numpy().max() <= 3.0
    ref = torch.empty(200, 300, dtype=torch.float64)
    torch.manual_seed(0)
    torch.nn.init.trunc_normal_(ref, mean=1.0, std=2.0, a=0.5, b=3.0)
    assert p.detach().numpy().mean() == pytest.approx(ref.mean().item(), abs=0.01)
    assert p.detach().numpy().std() == pytest.approx(ref.std().item(), abs=0.01)
    # far in a tail, where rejection sampling would starve: every draw still lands in [a, b]
    init.trunc_normal_(p, mean=0.0, std=1.0, a=6.0, b=6.5)
    assert p.detach().numpy().min() >= 6.0 and p.detach().numpy().max() <= 6.5 and p.detach().numpy().std() > 0
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(p, a=1.0, b=0.0)


def test_inverse_normal_cdf_accuracy():
    q = np.concatenate([np.geomspace(1e-15, 0.02, 200), np.linspace(0.02, 0.98, 200), 1 - np.geomspace(1e-12, 0.02, 200)])
    ref = np.array([statistics.NormalDist().inv_cdf(float(v)) for v in q])
    np.testing.assert_allclose(init._ndtri(q), ref, rtol=1e-8, atol=1e-8)


def test_generator_and_manual_seed_reproduce():
    a, b = _param(30, 20), _param(30, 20)
    ember.manual_seed(7)
    init.kaiming_uniform_(a)
    ember.manual_seed(7)
    init.kaiming_uniform_(b)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    init.normal_(a, generator=ember.Generator(3))
    init.normal_(b, generator=ember.Generator(3))
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
