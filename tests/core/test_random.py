"""Random tensors and generators against PyTorch 2.13. The values differ from PyTorch's (another
generator); the dtypes, shapes, ranges, error types and the distributions must not: each
distribution's mean and variance are checked on many draws with a fixed seed, within about five
standard errors. Reproducibility under ``manual_seed`` and ``generator=``, and the generator
state round trips, are checked exactly."""
import math

import numpy as np
import pytest

import ember

# name, call(m): run with m=ember and m=torch; dtype and shape must agree
SHAPES = [
    ("rand", lambda m: m.rand(2, 3)),
    ("rand_tuple_f64", lambda m: m.rand((4,), dtype=m.float64)),
    ("rand_size_kw", lambda m: m.rand(size=(2, 2))),
    ("rand_f16", lambda m: m.rand(3, dtype=m.float16)),
    ("randn", lambda m: m.randn(m.Size([3, 1]))),
    ("randn_f64", lambda m: m.randn(2, dtype=m.float64)),
    ("randn_complex", lambda m: m.randn(3, dtype=m.complex64)),
    ("rand_like", lambda m: m.rand_like(m.zeros(2, 2, dtype=m.float64))),
    ("randn_like_dtype", lambda m: m.randn_like(m.zeros(3), dtype=m.float64)),
    ("randint_high", lambda m: m.randint(10, (3, 2))),
    ("randint_low_high", lambda m: m.randint(-5, 5, (4,))),
    ("randint_keywords", lambda m: m.randint(low=2, high=5, size=(3,))),
    ("randint_high_size_kw", lambda m: m.randint(5, size=(2,))),
    ("randint_float", lambda m: m.randint(0, 5, (3,), dtype=m.float32)),
    ("randint_bool", lambda m: m.randint(0, 2, (3,), dtype=m.bool)),
    ("randint_like_high", lambda m: m.randint_like(m.zeros(2), 5)),
    ("randint_like_low_high", lambda m: m.randint_like(m.zeros(2, dtype=m.int32), 3, 5)),
    ("randperm", lambda m: m.randperm(6)),
    ("randperm_float", lambda m: m.randperm(4, dtype=m.float32)),
    ("randperm_0", lambda m: m.randperm(0)),
    ("normal_floats", lambda m: m.normal(0.0, 1.0, (2, 3))),
    ("normal_floats_f64", lambda m: m.normal(2.0, 3.0, (2,), dtype=m.float64)),
    ("normal_tensor_tensor", lambda m: m.normal(m.zeros(2, 1), m.ones(3))),
    ("normal_tensor_float", lambda m: m.normal(m.zeros(2, dtype=m.float64))),
    ("normal_tensor_std", lambda m: m.normal(m.zeros(3), 2.0)),
    ("normal_float_tensor", lambda m: m.normal(2.0, m.ones(2))),
    ("normal_mixed_dtypes", lambda m: m.normal(m.zeros(2), m.ones(2, dtype=m.float64))),
    ("bernoulli", lambda m: m.bernoulli(m.full((3,), 0.5, dtype=m.float64))),
    ("bernoulli_p", lambda m: m.bernoulli(m.zeros(3, dtype=m.int64), 0.5)),
    ("poisson", lambda m: m.poisson(m.ones(3, 2))),
    ("multinomial_1d", lambda m: m.multinomial(m.tensor([1.0, 2, 3]), 2)),
    ("multinomial_2d", lambda m: m.multinomial(m.ones(3, 4), 2)),
    ("multinomial_replacement", lambda m: m.multinomial(m.tensor([1.0, 2]), 5, True)),
    ("multinomial_replacement_kw", lambda m: m.multinomial(m.ones(2, 3, dtype=m.float64), 7, replacement=True)),
    ("uniform_", lambda m: m.zeros(3, dtype=m.float64).uniform_(-1, 2)),
    ("normal_", lambda m: m.zeros(2, 2).normal_(1.0, 0.5)),
    ("bernoulli_int", lambda m: m.zeros(3, dtype=m.int64).bernoulli_(0.5)),
    ("bernoulli_bool", lambda m: m.zeros(3, dtype=m.bool).bernoulli_(0.5)),
    ("bernoulli_tensor_p", lambda m: m.zeros(3).bernoulli_(m.full((3,), 0.5))),
    ("random_", lambda m: m.zeros(3).random_()),
    ("random_to", lambda m: m.zeros(3, dtype=m.int32).random_(5)),
    ("random_from_to", lambda m: m.zeros(3, dtype=m.uint8).random_(3, 5)),
    ("exponential_", lambda m: m.zeros(4).exponential_()),
    ("geometric_", lambda m: m.zeros(4, dtype=m.int64).geometric_(0.5)),
    ("cauchy_", lambda m: m.zeros(4).cauchy_()),
    ("log_normal_", lambda m: m.zeros(4, dtype=m.float64).log_normal_()),
]


@pytest.mark.parametrize("name,call", SHAPES, ids=[c[0] for c in SHAPES])
def test_dtypes_and_shapes_match_torch(torch, name, call):
    e, t = call(ember), call(torch)
    assert isinstance(e, ember.Tensor)
    assert e.numpy().dtype == t.numpy().dtype and tuple(e.shape) == tuple(t.shape)
    assert not e.requires_grad


ERRORS = [
    ("rand_int", lambda m: m.rand(3, dtype=m.int64)),
    ("randn_int", lambda m: m.randn(3, dtype=m.int64)),
    ("rand_negative", lambda m: m.rand(-1)),
    ("rand_like_int", lambda m: m.rand_like(m.zeros(2, dtype=m.int64))),
    ("randint_int_size", lambda m: m.randint(10, 3)),
    ("randint_high_eq_low", lambda m: m.randint(5, 5, (3,))),
    ("randint_high_lt_low", lambda m: m.randint(5, 2, (3,))),
    ("randint_negative_size", lambda m: m.randint(0, 5, (-1,))),
    ("randint_like_empty_range", lambda m: m.randint_like(m.zeros(2), 3, 3)),
    ("randperm_negative", lambda m: m.randperm(-1)),
    ("normal_no_size", lambda m: m.normal(0.0, 1.0)),
    ("normal_negative_std", lambda m: m.normal(m.zeros(2), -1.0)),
    ("normal_negative_std_tensor", lambda m: m.normal(m.zeros(2), -m.ones(2))),
    ("normal_floats_negative_std", lambda m: m.normal(0.0, -1.0, (2,))),
    ("bernoulli_p_above_1", lambda m: m.bernoulli(m.full((3,), 1.5))),
    ("bernoulli_p_arg_above_1", lambda m: m.bernoulli(m.zeros(3), 1.5)),
    ("poisson_int", lambda m: m.poisson(m.ones(3, dtype=m.int64))),
    ("multinomial_int", lambda m: m.multinomial(m.tensor([1, 2, 3]), 2)),
    ("multinomial_3d", lambda m: m.multinomial(m.ones(2, 2, 2), 2)),
    ("multinomial_more_than_categories", lambda m: m.multinomial(m.tensor([1.0, 2, 3]), 4)),
    ("multinomial_negative", lambda m: m.multinomial(m.tensor([1.0, -1, 3]), 2)),
    ("multinomial_zero_sum", lambda m: m.multinomial(m.tensor([0.0, 0]), 1)),
    ("multinomial_nan", lambda m: m.multinomial(m.tensor([1.0, float("nan")]), 1)),
    ("multinomial_zero_samples", lambda m: m.multinomial(m.tensor([1.0, 2]), 0)),
    ("multinomial_zero_row", lambda m: m.multinomial(m.tensor([[1.0, 1], [0, 0]]), 1)),
    ("uniform_int", lambda m: m.zeros(3, dtype=m.int64).uniform_()),
    ("uniform_from_above_to", lambda m: m.zeros(3).uniform_(2, 1)),
    ("normal_negative", lambda m: m.zeros(3).normal_(0, -1)),
    ("normal_int", lambda m: m.zeros(3, dtype=m.int64).normal_()),
    ("bernoulli_bad_p", lambda m: m.zeros(3).bernoulli_(1.5)),
    ("bernoulli_bad_tensor_p", lambda m: m.zeros(3).bernoulli_(m.full((3,), 1.5))),
    ("random_empty_range", lambda m: m.zeros(10).random_(5, 5)),
    ("random_beyond_uint8", lambda m: m.zeros(10, dtype=m.uint8).random_(0, 300)),
    ("exponential_zero", lambda m: m.zeros(3).exponential_(0)),
    ("exponential_int", lambda m: m.zeros(3, dtype=m.int64).exponential_()),
    ("geometric_zero", lambda m: m.zeros(3).geometric_(0)),
    ("geometric_one", lambda m: m.zeros(3).geometric_(1)),
    ("cauchy_zero_sigma", lambda m: m.zeros(3).cauchy_(0, 0)),
    ("log_normal_zero_std", lambda m: m.zeros(3).log_normal_(0, 0)),
    ("log_normal_int", lambda m: m.zeros(3, dtype=m.int64).log_normal_()),
    ("inplace_on_leaf_requiring_grad", lambda m: m.zeros(3, requires_grad=True).uniform_()),
    ("normal_on_leaf_requiring_grad", lambda m: m.zeros(3, requires_grad=True).normal_()),
    ("set_state_float", lambda m: m.Generator().set_state(m.zeros(5))),
    ("set_state_wrong_size", lambda m: m.Generator().set_state(m.zeros(5, dtype=m.uint8))),
    ("set_rng_state_wrong_size", lambda m: m.set_rng_state(m.zeros(5, dtype=m.uint8))),
    ("manual_seed_below_int64", lambda m: m.manual_seed(-2 ** 63 - 1)),
    ("manual_seed_list", lambda m: m.manual_seed([7])),
    ("set_state_list", lambda m: m.Generator().set_state([1, 2])),
    ("generator_cuda", lambda m: m.Generator("cuda")),
    ("randint_float_bound", lambda m: m.randint(0, 5.0, (3,))),
    ("randint_bool_range", lambda m: m.randint(0, 3, (3,), dtype=m.bool)),
    ("random_below_uint8", lambda m: m.zeros(3, dtype=m.uint8).random_(-1, 3)),
    ("normal_int_size", lambda m: m.normal(0.0, 1.0, 3)),
    ("normal_not_broadcastable", lambda m: m.normal(m.zeros(2, 3), m.ones(6))),
    ("normal_int_mean", lambda m: m.normal(m.zeros(2, dtype=m.int64))),
    ("bernoulli_int", lambda m: m.bernoulli(m.zeros(3, dtype=m.int64))),
    ("poisson_negative", lambda m: m.poisson(-m.ones(3))),
    ("cauchy_int", lambda m: m.zeros(3, dtype=m.int64).cauchy_()),
    ("geometric_bool", lambda m: m.zeros(3, dtype=m.bool).geometric_(0.5)),
    ("randperm_float16_too_long", lambda m: m.randperm(3000, dtype=m.float16)),
    ("randn_generator_positional", lambda m: m.randn(2, m.Generator())),
    ("manual_seed_too_big", lambda m: m.manual_seed(2 ** 64)),
    ("generator_bad_type", lambda m: m.rand(2, generator=3)),
]


@pytest.mark.parametrize("name,call", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, name, call):
    state = torch.get_rng_state()
    try:
        with pytest.raises(Exception) as te:
            call(torch)
    finally:
        torch.set_rng_state(state)
    with pytest.raises(Exception) as ee:
        call(ember)
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value)


N = 200_000


def _moments(x, mean, var, k=5.0, n=None):
    """The sample mean and variance within ``k`` standard errors (the variance's standard error
    from the fourth moment of the samples)."""
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) < k * math.sqrt(var / n), (x.mean(), mean)
    m4 = ((x - x.mean()) ** 4).mean()
    assert abs(x.var() - var) < k * math.sqrt(max(m4 - var ** 2, 1e-12) / n), (x.var(), var)


# name, draw (ember, the global generator seeded), mean, variance, support check
DISTRIBUTIONS = [
    ("rand", lambda: ember.rand(N), 0.5, 1 / 12, lambda x: (x >= 0).all() and (x < 1).all()),
    ("rand_f64", lambda: ember.rand(N, dtype=ember.float64), 0.5, 1 / 12, lambda x: (x >= 0).all() and (x < 1).all()),
    ("rand_f16", lambda: ember.rand(N, dtype=ember.float16), 0.5, 1 / 12, lambda x: (x >= 0).all() and (x < 1).all()),
    ("randn", lambda: ember.randn(N), 0.0, 1.0, None),
    ("randn_complex_real", lambda: ember.randn(N, dtype=ember.complex128).numpy().real, 0.0, 0.5, None),
    ("rand_like", lambda: ember.rand_like(ember.zeros(N, dtype=ember.float64)), 0.5, 1 / 12, None),
    ("randn_like", lambda: ember.randn_like(ember.zeros(N)), 0.0, 1.0, None),
    ("uniform_", lambda: ember.empty(N).uniform_(-2, 3), 0.5, 25 / 12,
     lambda x: (x >= -2).all() and (x < 3).all()),
    ("normal_", lambda: ember.empty(N, dtype=ember.float64).normal_(3, 2), 3.0, 4.0, None),
    ("normal_floats", lambda: ember.normal(-1.0, 0.5, (N,)), -1.0, 0.25, None),
    ("normal_tensor_mean", lambda: ember.normal(ember.full((N,), 2.0)), 2.0, 1.0, None),
    ("normal_tensor_std", lambda: ember.normal(1.0, ember.full((N,), 3.0)), 1.0, 9.0, None),
    ("normal_broadcast", lambda: ember.normal(ember.zeros(N // 4, 1), ember.tensor([1.0, 2, 3, 4])).numpy()[:, 3],
     0.0, 16.0, None),
    ("exponential_", lambda: ember.empty(N).exponential_(2.0), 0.5, 0.25, lambda x: (x >= 0).all()),
    ("geometric_", lambda: ember.empty(N, dtype=ember.int64).geometric_(0.3), 1 / 0.3, 0.7 / 0.09,
     lambda x: (x >= 1).all()),
    ("bernoulli_", lambda: ember.empty(N).bernoulli_(0.3), 0.3, 0.21, lambda x: np.isin(x, [0, 1]).all()),
    ("bernoulli_tensor_p", lambda: ember.empty(N).bernoulli_(ember.full((N,), 0.8)), 0.8, 0.16, None),
    ("bernoulli", lambda: ember.bernoulli(ember.full((N,), 0.25)), 0.25, 0.1875, lambda x: np.isin(x, [0, 1]).all()),
    ("bernoulli_p", lambda: ember.bernoulli(ember.zeros(N), 0.6), 0.6, 0.24, None),
    ("poisson", lambda: ember.poisson(ember.full((N,), 4.0)), 4.0, 4.0, lambda x: (x == np.round(x)).all()),
    ("log_normal_", lambda: ember.empty(N, dtype=ember.float64).log_normal_(0.0, 0.5),
     math.exp(0.125), (math.exp(0.25) - 1) * math.exp(0.25), lambda x: (x > 0).all()),
    ("randint", lambda: ember.randint(3, 7, (N,)), 4.5, (4 ** 2 - 1) / 12, lambda x: np.isin(x, [3, 4, 5, 6]).all()),
    ("randint_high", lambda: ember.randint(10, (N,)), 4.5, 99 / 12, lambda x: (x >= 0).all() and (x < 10).all()),
    ("randint_like", lambda: ember.randint_like(ember.zeros(N, dtype=ember.int32), -2, 2), -0.5, 15 / 12,
     lambda x: (x >= -2).all() and (x < 2).all()),
    ("random_to", lambda: ember.empty(N).random_(6), 2.5, 35 / 12, lambda x: (x >= 0).all() and (x < 6).all()),
    ("random_from_to", lambda: ember.empty(N, dtype=ember.int8).random_(-3, 3), -0.5, 35 / 12,
     lambda x: (x >= -3).all() and (x < 3).all()),
    ("random_uint8", lambda: ember.empty(N, dtype=ember.uint8).random_(), 127.5, (256 ** 2 - 1) / 12, None),
    ("random_float16", lambda: ember.empty(N, dtype=ember.float16).random_(), 1024.0, (2049 ** 2 - 1) / 12,
     lambda x: (x >= 0).all() and (x <= 2048).all()),
    ("multinomial_replacement", lambda: ember.multinomial(ember.tensor([1.0, 0, 3]), N, True), 1.5, 0.75,
     lambda x: np.isin(x, [0, 2]).all()),
]


@pytest.mark.parametrize("name,draw,mean,var,support", DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS])
def test_distributions(name, draw, mean, var, support):
    ember.manual_seed(1234)
    t = draw()
    x = t.numpy() if isinstance(t, ember.Tensor) else t
    _moments(x, mean, var)
    if support is not None:
        assert support(x)


def test_cauchy_median_and_quartiles():
    ember.manual_seed(3)
    x = ember.empty(N, dtype=ember.float64).cauchy_(2.0, 0.5).numpy()
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    assert abs(med - 2.0) < 0.02 and abs(q1 - 1.5) < 0.02 and abs(q3 - 2.5) < 0.02


def test_randperm_is_a_permutation():
    for n in (0, 1, 7, 1000):
        p = ember.randperm(n).numpy()
        assert p.dtype == np.int64 and np.array_equal(np.sort(p), np.arange(n))
    firsts = np.array([ember.randperm(4).numpy()[0] for _ in range(4000)])
    assert np.all(np.abs(np.bincount(firsts, minlength=4) / 4000 - 0.25) < 0.04)


def test_multinomial_without_replacement_draws_in_order():
    """Two draws from weights (1, 2, 3, 0): the pair (i, j) has probability p_i p_j / (1 - p_i),
    never repeats, and never picks the zero weight."""
    ember.manual_seed(11)
    w = np.array([1.0, 2.0, 3.0, 0.0])
    p = w / w.sum()
    rows = 60_000
    draws = ember.multinomial(ember.tensor(np.tile(w, (rows, 1))), 2).numpy()
    assert draws.shape == (rows, 2) and draws.dtype == np.int64
    assert (draws[:, 0] != draws[:, 1]).all() and (draws != 3).all()
    for i in range(3):
        for j in range(3):
            if i != j:
                want = p[i] * p[j] / (1 - p[i])
                got = np.mean((draws[:, 0] == i) & (draws[:, 1] == j))
                assert abs(got - want) < 5 * math.sqrt(want * (1 - want) / rows), (i, j, got, want)
    all3 = ember.multinomial(ember.tensor([1.0, 1.0, 1.0]), 3).numpy()
    assert sorted(all3.tolist()) == [0, 1, 2]


def test_multinomial_with_replacement_per_row():
    ember.manual_seed(5)
    w = ember.tensor([[0.0, 1.0, 1.0, 2.0], [5.0, 0.0, 0.0, 0.0]])
    d = ember.multinomial(w, 40_000, replacement=True).numpy()
    assert d.shape == (2, 40_000)
    assert (d[1] == 0).all() and (d[0] != 0).all()
    np.testing.assert_allclose(np.bincount(d[0], minlength=4) / 40_000, [0, 0.25, 0.25, 0.5], atol=0.015)


def test_manual_seed_reproduces_every_draw():
    draws = [lambda: ember.rand(5), lambda: ember.randn(2, 2), lambda: ember.randint(0, 100, (6,)),
             lambda: ember.randperm(8), lambda: ember.normal(ember.zeros(3), 1.0),
             lambda: ember.bernoulli(ember.full((6,), 0.5)), lambda: ember.multinomial(ember.ones(5), 3),
             lambda: ember.poisson(ember.ones(4)), lambda: ember.empty(4).uniform_(),
             lambda: ember.empty(4).exponential_(), lambda: ember.empty(4, dtype=ember.int64).random_(),
             lambda: ember.rand_like(ember.zeros(3)), lambda: ember.randint_like(ember.zeros(3), 9)]
    g = ember.manual_seed(42)
    assert g is ember.default_generator and isinstance(g, ember.Generator) and ember.initial_seed() == 42
    assert ember.default_generator() is g  # ember's earlier spelling still works
    first = [d().numpy() for d in draws]
    ember.manual_seed(42)
    second = [d().numpy() for d in draws]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    ember.manual_seed(43)
    assert not np.array_equal(ember.rand(5).numpy(), first[0])


def test_generator_argument_is_independent_of_the_global_one():
    calls = [lambda g: ember.rand(4, generator=g), lambda g: ember.randn(4, generator=g),
             lambda g: ember.randint(0, 50, (4,), generator=g), lambda g: ember.randperm(5, generator=g),
             lambda g: ember.normal(0.0, 1.0, (3,), generator=g),
             lambda g: ember.bernoulli(ember.full((5,), 0.5), generator=g),
             lambda g: ember.multinomial(ember.ones(6), 2, generator=g), lambda g: ember.poisson(ember.ones(3), g),
             lambda g: ember.empty(3).normal_(generator=g), lambda g: ember.empty(3).geometric_(0.5, generator=g),
             lambda g: ember.rand_like(ember.zeros(2), generator=g)]
    for call in calls:
        g1, g2 = ember.Generator().manual_seed(9), ember.Generator().manual_seed(9)
        before = ember.get_rng_state()
        a = call(g1)
        assert np.array_equal(ember.get_rng_state().numpy(), before.numpy())  # the global generator did not move
        np.testing.assert_array_equal(a.numpy(), call(g2).numpy())


def test_generator_api(torch):
    g = ember.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()  # PyTorch's default seed
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    assert str(g.device) == "cpu" and str(ember.Generator("cpu").device) == "cpu"
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    state = g.get_state()
    assert isinstance(state, ember.Tensor) and state.dtype == np.uint8 and state.ndim == 1
    x = ember.rand(5, generator=g).numpy()
    assert g.set_state(state) is g
    np.testing.assert_array_equal(ember.rand(5, generator=g).numpy(), x)
    assert g.initial_seed() == s
    h = ember.Generator().set_state(state)  # a state moves between generators
    np.testing.assert_array_equal(ember.rand(5, generator=h).numpy(), x)
    assert ember.manual_seed(-1).initial_seed() == torch.manual_seed(-1).initial_seed()


def test_rng_state_round_trips_exactly():
    ember.manual_seed(123)
    ember.randn(3)  # PCG64 keeps half a word for the next 32-bit draw: a state mid-stream
    ember.rand(1)
    state = ember.get_rng_state()
    assert state.dtype == np.uint8 and state.ndim == 1
    saved = state.numpy().copy()
    a = [ember.rand(7).numpy(), ember.randint(0, 9, (5,)).numpy(), ember.randn(3).numpy()]
    assert np.array_equal(state.numpy(), saved)  # the returned state is a copy, it does not move
    ember.set_rng_state(state)
    b = [ember.rand(7).numpy(), ember.randint(0, 9, (5,)).numpy(), ember.randn(3).numpy()]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(ember.get_rng_state().numpy(), ember.default_generator().get_state().numpy())
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.get_rng_state().numpy(), saved)


def test_seed_and_initial_seed(torch):
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s
    assert ember.seed() != s
    ember.manual_seed(2 ** 64 - 1)
    assert ember.initial_seed() == 2 ** 64 - 1
    assert ember.random.initial_seed() == ember.initial_seed()
    with ember.random.fork_rng():
        inside = ember.rand(3).numpy()
    np.testing.assert_array_equal(ember.rand(3).numpy(), inside)


def test_inplace_draws_bump_the_version_and_return_self():
    x = ember.zeros(4)
    for f in (lambda t: t.uniform_(), lambda t: t.normal_(), lambda t: t.bernoulli_(), lambda t: t.random_(3),
              lambda t: t.exponential_(), lambda t: t.geometric_(0.5), lambda t: t.cauchy_(),
              lambda t: t.log_normal_()):
        v = x._version
        assert f(x) is x and x._version == v + 1
    w = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        w.uniform_(-1, 1)
    assert w.requires_grad and (w.detach().numpy() >= -1).all() and (w.detach().numpy() < 1).all()


def test_float32_uniform_never_reaches_the_upper_bound():
    ember.manual_seed(0)
    x = ember.empty(1_000_000).uniform_(0.0, 1.0).numpy()
    assert x.max() < 1.0 and x.dtype == np.float32
    y = ember.empty(100_000).uniform_(1.0, 1.0 + 1e-7).numpy()
    assert (y < np.float32(1.0 + 1e-7)).all() or (y == 1.0).all()


def test_multinomial_with_fewer_positive_weights_than_samples(torch):
    """PyTorch 2.13 does not refuse this: the positive weights come first, then zero-weight
    categories."""
    t = torch.multinomial(torch.tensor([1.0, 0, 0, 0]), 3)
    e = ember.multinomial(ember.tensor([1.0, 0, 0, 0]), 3).numpy()
    assert t[0].item() == 0 and e[0] == 0 and len(set(e.tolist())) == 3 and e.shape == tuple(t.shape)
    rows = ember.multinomial(ember.tensor([[1.0, 0, 0], [1, 1, 1]]), 2).numpy()
    assert rows[0, 0] == 0 and rows.shape == (2, 2) and len(set(rows[1].tolist())) == 2


@pytest.mark.parametrize("seed", [0, 7, 1.5, True, np.int64(9), -1, -2 ** 63, 2 ** 64 - 1])
def test_manual_seed_takes_what_torch_takes(torch, seed):
    state = torch.get_rng_state()
    try:
        want = torch.manual_seed(seed).initial_seed()
    finally:
        torch.set_rng_state(state)
    assert ember.manual_seed(seed).initial_seed() == want
    assert ember.Generator().manual_seed(seed).initial_seed() == want


SAMPLERS = [  # name, call(m, x): x is a float64 leaf that requires grad
    ("normal_mean", lambda m, x: m.normal(x, 1.0)),
    ("normal_std", lambda m, x: m.normal(0.5, x.abs() + 0.5)),
    ("normal_both", lambda m, x: m.normal(x, x * 0 + 1)),
    ("bernoulli", lambda m, x: m.bernoulli(x.sigmoid())),
]


@pytest.mark.parametrize("name,call", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_samplers_stay_in_the_graph_with_zero_gradient(torch, name, call):
    xe = ember.tensor([0.1, -0.3, 0.7], dtype=ember.float64, requires_grad=True)
    xt = torch.tensor([0.1, -0.3, 0.7], dtype=torch.float64, requires_grad=True)
    ye, yt = call(ember, xe), call(torch, xt)
    assert ye.requires_grad == yt.requires_grad and ye.grad_fn is not None
    assert ye.dtype == np.float64
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), xt.grad.numpy())
    with ember.no_grad():
        assert not call(ember, xe).requires_grad


def test_set_state_takes_older_numpy_states_and_arrays():
    g = ember.Generator().manual_seed(4)
    old = g.numpy.bit_generator.state  # what ember's checkpoints held before get_state gave a Tensor
    x = ember.rand(3, generator=g).numpy()
    np.testing.assert_array_equal(ember.rand(3, generator=g.set_state(old)).numpy(), x)
    arr = np.asarray(g.manual_seed(4).get_state())  # what a loaded .npz gives back
    x = ember.rand(3, generator=g).numpy()
    np.testing.assert_array_equal(ember.rand(3, generator=g.set_state(arr)).numpy(), x)


def test_inplace_draw_on_a_non_leaf_rebases_its_history(torch):
    w = ember.ones(3, requires_grad=True)
    y = w * 2
    y.normal_()
    assert y.requires_grad and y.grad_fn is not None
    (y * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), y.detach().numpy())  # the draw itself carries no gradient
