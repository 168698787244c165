"""Dropout (inverted, seeded) and Embedding (lookup, scatter-add gradient, padding_idx), to
second order against PyTorch and by finite differences."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck
from higher_order_helpers import against_torch, kernel_mode, kernels  # noqa: F401  (fixtures)


def test_dropout_train_scales_and_backward_uses_the_mask():
    x = ember.ones(200, 500, requires_grad=True)
    y = nn.Dropout(0.3)(x)
    kept = y.detach().numpy() != 0
    assert y.dtype == np.float32
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    g = np.arange(y.numel(), dtype=np.float32).reshape(y.shape)
    y.backward(g)
    np.testing.assert_allclose(x.grad, g * kept / np.float32(0.7), rtol=1e-6)


def test_dropout_eval_and_p_zero_are_identity():
    x = ember.randn(4, 5)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_p_one_zeros_everything():
    x = ember.randn(3, 4, requires_grad=True)
    y = nn.Dropout(1.0)(x)
    assert np.all(y.detach().numpy() == 0)
    y.sum().backward()
    assert np.all(x.grad.numpy() == 0)


def test_dropout_reproducible_with_manual_seed_and_generator():
    x = ember.ones(50, 50)
    ember.manual_seed(3)
    a = F.dropout(x, 0.5).data
    ember.manual_seed(3)
    b = F.dropout(x, 0.5).data
    c = F.dropout(x, 0.5).data
    assert np.array_equal(a, b) and not np.array_equal(b, c)
    g1 = F.dropout(x, 0.5, generator=ember.Generator(9)).data
    g2 = F.dropout(x, 0.5, generator=ember.Generator(9)).data
    assert np.array_equal(g1, g2)


def test_dropout2d_zeros_whole_channels():
    x = ember.ones(8, 16, 3, 3, requires_grad=True)
    y = nn.Dropout2d(0.5)(x)
    per_channel = y.detach().numpy().reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_dropout2d_other_ranks_as_pytorch(torch):
    """PyTorch 2.13: 3-D is (N, C, L), channel-wise along L, with a warning; 2-D and 5-D warn
    and drop each (n, c) entry; 1-D raises when training."""
    for shape, mask_axes in (((6, 8, 5), 2), ((40, 30), 2), ((3, 4, 2, 2, 2), 2)):
        with pytest.warns(UserWarning, match="dropout2d: Received a"):
            y = F.dropout2d(ember.ones(*shape), 0.5, generator=ember.Generator(0)).numpy()
        with pytest.warns(UserWarning, match="dropout2d: Received a"):
            t = torch.nn.functional.dropout2d(torch.ones(*shape), 0.5).numpy()
        for a in (y, t):  # constant over the trailing axes, both values present
            flat = a.reshape(a.shape[:mask_axes] + (-1,))
            assert np.all((flat == 0).all(-1) | (flat == 2).all(-1))
            assert 0 < (flat[..., 0] == 0).mean() < 1
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="Feature dropout requires at least 2"):
        F.dropout2d(ember.ones(5), 0.5)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="Feature dropout requires at least 2"):
        torch.nn.functional.dropout2d(torch.ones(5), 0.5)
    with pytest.warns(UserWarning):
        assert F.dropout2d(ember.ones(5), 0.5, training=False).shape == (5,)


def test_dropout_float64_stays_float64():
    assert F.dropout(ember.ones(4, 4, dtype=np.float64), 0.5).dtype == np.float64


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match=f"between 0 and 1, got {p!r}"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(ember.ones(2), p)


def test_dropout_repr(torch):
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_matches_torch(torch, rng, padding_idx, dtype):
    e = nn.Embedding(10, 4, padding_idx=padding_idx, dtype=dtype)
    t = torch.nn.Embedding(10, 4, padding_idx=padding_idx, dtype=getattr(torch, np.dtype(dtype).name))
    if padding_idx is not None:
        assert np.all(e.weight.detach().numpy()[padding_idx] == 0)
    t.load_state_dict({"weight": torch.from_numpy(e.weight.detach().numpy().copy())})
    idx = rng.integers(0, 10, (3, 7))
    idx[0, :3] = 2  # repeated ids must add up
    idx[1, 0] = 9
    g = rng.standard_normal((3, 7, 4)).astype(dtype)
    ye = e(idx)
    ye.backward(g)
    yt = t(torch.from_numpy(idx))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(ye.data, yt.detach().numpy())
    np.testing.assert_allclose(e.weight.grad, t.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert e.weight.grad.dtype == dtype
    assert repr(e) == repr(t)


def test_embedding_gradcheck(rng):
    w = ember.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = np.array([[0, 4, 4], [1, 0, 3]])
    assert ember.gradcheck(lambda w: F.embedding(idx, w), [w])
    assert ember.gradcheck(lambda w: F.embedding(ember.tensor(idx), w), [w])  # a Tensor of ids


def test_embedding_init_and_from_pretrained():
    e = nn.Embedding(300, 200)
    assert e.weight.shape == (300, 200) and e.weight.dtype == np.float32
    assert e.weight.data.std() == pytest.approx(1.0, rel=0.02)
    table = np.arange(6, dtype=np.float32).reshape(3, 2)
    p = nn.Embedding.from_pretrained(table)
    assert not p.weight.requires_grad and np.array_equal(p(np.array([2, 0])).data, [[4, 5], [0, 1]])
    table[0, 0] = 99  # the table was copied
    assert p.weight.data[0, 0] == 0


def test_embedding_bad_input():
    e = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"Embedding\(10, 3\): embedding: index 12 is out of range for 10 embeddings"):
        e(np.array([1, 12, 3]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        e(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        e(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="num_embeddings must be a non-negative int, got -5"):
        nn.Embedding(-5, 3)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(10, 3, padding_idx=10)


# ----- to second order (float64) -----


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_to_second_order(torch, rng, padding_idx):
    idx = rng.integers(0, 5, (3, 4))
    idx[0, :2] = 2  # repeated ids add up; padding_idx 2 is read
    idx[2, 3] = 4
    w = rng.standard_normal((5, 3))
    # squared, so that the second order is not zero; the padding row gets no gradient of any order
    with kernels(False):
        against_torch(torch, lambda w: F.embedding(idx, w, padding_idx=padding_idx) ** 2,
                      lambda w: torch.nn.functional.embedding(torch.tensor(idx), w, padding_idx=padding_idx) ** 2,
                      [w], [True], rng)


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_gradgradcheck(kernel_mode, rng, padding_idx):
    w = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    idx = np.array([[0, 1, 1], [3, 0, 2]])
    assert gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=padding_idx) ** 2, [w])


@pytest.mark.parametrize("fn,shape", [("dropout", (4, 5)), ("dropout2d", (2, 3, 2, 2))])
def test_dropout_to_second_order(torch, rng, fn, shape):
    # the same mask (the same generator seed) in both: x * mask, times x for a second order
    mask = getattr(F, fn)(ember.ones(*shape, dtype=np.float64), 0.4, generator=ember.Generator(5)).numpy()
    assert 0 < (mask == 0).mean() < 1 and np.allclose(mask[mask != 0], 1 / 0.6)
    x = rng.standard_normal(shape)
    with kernels(False):
        against_torch(torch, lambda x: getattr(F, fn)(x, 0.4, generator=ember.Generator(5)) * x,
                      lambda x: x * torch.tensor(mask) * x, [x], [True], rng)


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_dropout_gradgradcheck(kernel_mode, rng, p):
    x = ember.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    assert gradgradcheck(lambda x: F.dropout(x, p, generator=ember.Generator(1)) * x, [x])
    assert gradgradcheck(lambda x: F.dropout2d(x, p, generator=ember.Generator(1)) * x, [x])
