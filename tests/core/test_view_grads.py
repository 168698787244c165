"""The engine adds the gradient of a basic-index view ``x[index]`` into that view of x's summed
gradient (``_Walk.into_view``) instead of making a zeros array of x's shape per view. Each
pattern below (split pieces, overlapping slices, a view next to a direct use, steps, integers,
None, Ellipsis, unused pieces) is checked against PyTorch, with x a non-leaf (the case the
engine takes) and a leaf (the case it leaves to GetItem's backward)."""
import numpy as np
import pytest

import ember

PATTERNS = {
    "split": lambda m, x: sum(((i + 1) * p).sum() for i, p in enumerate(x.split(2, dim=1))),
    "split, one piece unused": lambda m, x: (x.split(2, dim=1)[0] * 3).sum() + x.split(2, dim=1)[2].sum(),
    "overlapping slices": lambda m, x: (x[:, 0:4] * 2).sum() + (x[:, 2:6] ** 2).sum(),
    "view and direct use": lambda m, x: (x * x).sum() + (x[1:, ::2] * 5).sum(),
    "direct use after the views": lambda m, x: x[0].sum() + (x[:, -1] * 4).sum() + (x.exp()).sum(),
    "steps": lambda m, x: (x[::2, 1:6:2] * m.arange(3, dtype=x.dtype)).sum() + (x[1:, ::3] ** 2).sum(),
    "integers": lambda m, x: x[1, 2] * 3 + x[0, 0] * x[1, 2] + x[-1, -1],
    "None and Ellipsis": lambda m, x: (x[None, ..., 1:3] * 2).sum() + x[..., 0].sum(),
    "view of a view": lambda m, x: (x[1:][:, 2:][0] * 7).sum() + x[1:].sum(),
}


@pytest.mark.parametrize("leaf", [False, True], ids=["non-leaf", "leaf"])
@pytest.mark.parametrize("name", list(PATTERNS))
def test_view_gradients_match_torch(torch, name, leaf):
    a = np.random.default_rng(3).standard_normal((3, 6))
    grads = []
    for m in (ember, torch):
        x0 = m.tensor(a, requires_grad=True)
        x = x0 if leaf else x0 * 1.5  # a non-leaf: an op's output
        PATTERNS[name](m, x).backward()
        grads.append(x0.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-13, atol=1e-13)


def test_a_split_fills_one_gradient_buffer(monkeypatch):
    """GetItem's own backward (a zeros array per piece) is not called for the pieces."""
    from ember.ops import movement

    calls = []
    real = movement.GetItem.backward
    monkeypatch.setattr(movement.GetItem, "backward", lambda self, gy: calls.append(1) or real(self, gy))
    x0 = ember.randn(4, 9, requires_grad=True)
    q, k, v = (x0 * 2).split(3, dim=1)
    (q * k + v).sum().backward()
    assert calls == []
    np.testing.assert_allclose(x0.grad.numpy()[:, 6:], 2.0)
    x0.grad = None
    q, k, v = x0.split(3, dim=1)  # a leaf's pieces: GetItem's backward, as before
    (q * k + v).sum().backward()
    assert len(calls) == 3


def test_retain_graph_and_hooks_on_the_sliced_tensor():
    x0 = ember.randn(3, 4, requires_grad=True)
    x = x0 * 1.0
    x.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = (x[:, :2] * 3).sum() + x[:, 1:].sum()
    y.backward(retain_graph=True)
    want = np.array([[3, 4, 1, 1]] * 3, float)
    np.testing.assert_allclose(x.grad.numpy(), want)
    np.testing.assert_allclose(seen[0], want)
    y.backward()
    np.testing.assert_allclose(x0.grad.numpy(), 2 * want)
