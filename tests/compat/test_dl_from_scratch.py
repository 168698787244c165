"""ember.compat.dl_from_scratch: the seed README's code, its shapes, costs and gradients."""
import numpy as np
import pytest

import ember
from ember.compat.activations import ACTIVATIONS
from ember.compat.dl_from_scratch import Layer, Network


def numeric_grad(f, arr, eps=1e-6):
    """Central differences of the scalar ``f()`` with respect to ``arr``, perturbed in place."""
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def one_hot_columns(labels, k):
    return np.eye(k)[labels].T


def test_readme_example_runs_verbatim(rng):
    input = rng.standard_normal((500, 8))  # noqa: A001  (the README's name)
    learning_rate = 0.1

    # --- the README's blocks, verbatim ---
    L1 = Layer(500, 300, 'relu')
    L2 = Layer(300, 50, 'relu')
    L3 = Layer(50, 10, 'softmax')

    layers = [L1, L2, L3]

    net = Network(layers)

    output = net.forward(input)

    x = input
    y = output
    grad = net.grad(y,x)

    lr = learning_rate

    W_before = [l.W.copy() for l in net.layers]
    arrays = [(l.W, l.b) for l in net.layers]
    for G, l in zip(grad, net.layers):
      #gradient of cost with respect to weight of this layer
      dC_dW = G[0]

      #gradient of cost with respect to bias of this layer
      dC_db = G[1]

      #awesome now let's update our parameters for this layer
      l.W -= lr*dC_dW
      l.b -= lr*dC_db
    # --- end of the README ---

    assert output.shape == (10, 8)
    np.testing.assert_allclose(output.sum(axis=0), 1.0)
    assert [(g[0].shape, g[1].shape) for g in grad] == [((500, 300), (300, 1)), ((300, 50), (50, 1)), ((50, 10), (10, 1))]
    # The README's target is the net's own output: cross-entropy is at its minimum over the
    # softmax there, so every gradient vanishes and the update changes nothing.
    for (dW, db), W0 in zip(grad, W_before):
        assert np.abs(dW).max() < 1e-12 and np.abs(db).max() < 1e-12
    # the updates happened in place, on the arrays that the layers (and their Parameters) hold
    for (W, b), l in zip(arrays, net.layers):
        assert l.W is W and l.b is b
        assert l._parameters["W"].detach().numpy() is W


def test_readme_update_loop_lowers_the_cost(rng):
    net = Network([Layer(6, 5, 'relu'), Layer(5, 3, 'softmax')])
    x = rng.standard_normal((6, 20))
    y = one_hot_columns(rng.integers(0, 3, 20), 3)
    before = net.cost(y, x)
    for _ in range(20):
        for (dC_dW, dC_db), l in zip(net.grad(y, x), net.layers):
            l.W -= 0.5 * dC_dW
            l.b -= 0.5 * dC_db
    assert net.cost(y, x) < 0.7 * before


def test_shapes_dtypes_and_columns(rng):
    l = Layer(4, 3, 'tanh')
    assert l.W.shape == (4, 3) and l.b.shape == (3, 1)
    assert l.W.dtype == np.float64 and l.b.dtype == np.float64  # NumPy's default, not ember's float32
    net = Network([l, Layer(3, 2)])
    assert net.forward(rng.standard_normal((4, 1))).shape == (2, 1)
    assert net.forward(rng.standard_normal((4, 7))).shape == (2, 7)
    assert net.forward(rng.standard_normal(4)).shape == (2,)
    assert net.forward(rng.standard_normal((4, 7)).astype(np.float32)).dtype == np.float64
    # float32 when asked for, or when float32 arrays are given
    l32 = Layer(4, 3, 'relu', dtype=np.float32)
    assert l32.W.dtype == np.float32 and l32.forward(np.ones((4, 2))).dtype == np.float32
    l.W = l.W.astype(np.float32)
    l.b = l.b.astype(np.float32)
    assert l.forward(np.ones((4, 2))).dtype == np.float32
    g = Network([l]).grad(np.ones((3, 2)), np.ones((4, 2)))
    assert g[0][0].dtype == np.float32


def test_forward_is_what_the_seed_computes(rng):
    l1, l2 = Layer(4, 3, 'relu'), Layer(3, 2, 'sigmoid')
    x = rng.standard_normal((4, 5))
    h = np.maximum(l1.W.T @ x + l1.b, 0)
    expected = 1 / (1 + np.exp(-(l2.W.T @ h + l2.b)))
    np.testing.assert_allclose(Network([l1, l2]).forward(x), expected, rtol=1e-12)


@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh", "linear", None])
@pytest.mark.parametrize("last", ["softmax", "sigmoid", "linear"])
def test_gradients_match_finite_differences(rng, hidden, last):
    net = Network([Layer(3, 4, hidden), Layer(4, 3, last)])
    x = rng.standard_normal((3, 5))
    y = one_hot_columns(rng.integers(0, 3, 5), 3)
    grads = net.grad(y, x)
    for (dW, db), l in zip(grads, net.layers):
        np.testing.assert_allclose(dW, numeric_grad(lambda: net.cost(y, x), l.W), rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(db, numeric_grad(lambda: net.cost(y, x), l.b), rtol=1e-5, atol=1e-8)
    assert all(p.grad is None for p in net.parameters())  # grad() leaves no state behind


def test_gradients_match_pytorch(torch, rng):
    net = Network([Layer(5, 4, 'tanh'), Layer(4, 3, 'softmax')])
    x = rng.standard_normal((5, 6))
    y = one_hot_columns(rng.integers(0, 3, 6), 3)
    ws = [torch.tensor(l.W, requires_grad=True) for l in net.layers]
    bs = [torch.tensor(l.b, requires_grad=True) for l in net.layers]
    h = torch.tanh(ws[0].T @ torch.tensor(x) + bs[0])
    logits = ws[1].T @ h + bs[1]
    # the seed's cost: mean over the columns of -sum(y * log(softmax))
    cost = -(torch.tensor(y) * torch.log_softmax(logits, dim=0)).sum(dim=0).mean()
    cost.backward()
    assert net.cost(y, x) == pytest.approx(cost.item(), rel=1e-12)
    for (dW, db), w, b in zip(net.grad(y, x), ws, bs):
        np.testing.assert_allclose(dW, w.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cost_is_the_documented_mean_over_columns(rng):
    x = rng.standard_normal((3, 4))
    y = one_hot_columns(rng.integers(0, 2, 4), 2)
    soft = Network([Layer(3, 2, 'softmax')])
    out = soft.forward(x)
    assert soft.cost(y, x) == pytest.approx(np.mean(-np.sum(y * np.log(out), axis=0)), rel=1e-12)
    sq = Network([Layer(3, 2, 'sigmoid')])
    out = sq.forward(x)
    assert sq.cost(y, x) == pytest.approx(np.mean(np.sum((out - y) ** 2, axis=0)), rel=1e-12)
    mse = Network(sq.layers, loss="mse")
    assert mse.cost(y, x) == pytest.approx(np.mean((out - y) ** 2), rel=1e-12)
    ce = Network(sq.layers, loss="cross_entropy")
    assert ce.cost(y, x) == pytest.approx(np.mean(-np.sum(y * np.log(out), axis=0)), rel=1e-12)
    l1 = Network(sq.layers, loss=lambda o, t: (o - t).abs().sum())
    assert l1.cost(y, x) == pytest.approx(np.abs(out - y).sum(), rel=1e-12)
    g = l1.grad(y, x)[0][0]
    np.testing.assert_allclose(g, numeric_grad(lambda: l1.cost(y, x), l1.layers[0].W), rtol=1e-5)


def test_cross_entropy_stays_finite_when_softmax_underflows():
    l = Layer(2, 3, 'softmax')
    l.W = np.array([[400.0, -400.0, 0.0], [0.0, 0.0, 0.0]])
    l.b = np.zeros((3, 1))
    net = Network([l])
    x, y = np.array([[1.0], [0.0]]), np.array([[0.0], [1.0], [0.0]])  # the target's probability is e^-800
    assert net.cost(y, x) == pytest.approx(800.0)
    dW, db = net.grad(y, x)[0]
    assert np.isfinite(dW).all() and np.isfinite(db).all()
    np.testing.assert_allclose(db[:, 0], [1.0, -1.0, 0.0], atol=1e-12)  # softmax - y


def test_parameters_are_the_layers_arrays(rng):
    l = Layer(3, 2, 'relu')
    net = Network([l, Layer(2, 2, 'softmax')])
    assert list(net.state_dict()) == ["0.W", "0.b", "1.W", "1.b"]
    assert all(p.detach().numpy() is a for p, a in zip(l.parameters(), (l.W, l.b)))
    new = rng.standard_normal((3, 2))
    l.W = new  # rebinding reaches the Parameter
    assert l._parameters["W"].detach().numpy() is new and l.W is new
    l.b = np.arange(2.0)  # a 1-D bias is taken as the column it means
    assert l.b.shape == (2, 1)
    with pytest.raises(ValueError, match=r"W must have shape \(3, 2\), got \(2, 3\)"):
        l.W = new.T
    sd = {k: np.array(v) for k, v in net.state_dict().items()}
    other = Network([Layer(3, 2, 'relu'), Layer(2, 2, 'softmax')])
    other.load_state_dict(sd)
    np.testing.assert_array_equal(other.forward(np.ones((3, 4))), net.forward(np.ones((3, 4))))


def test_activation_dictionary_has_the_seed_names_and_true_derivatives():
    assert {"relu", "sigmoid", "tanh", "softmax", "linear"} <= set(ACTIVATIONS)
    z = np.linspace(-3, 3, 13) + 0.05  # no point on relu's kink
    for name in ("relu", "sigmoid", "tanh", "linear"):
        fn, derivative = ACTIVATIONS[name]
        f = lambda a: fn(ember.Tensor(a)).numpy()  # noqa: E731
        numeric = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
        np.testing.assert_allclose(derivative(z), numeric, rtol=1e-6, atol=1e-8, err_msg=name)
    np.testing.assert_array_equal(ACTIVATIONS["softmax"].derivative(z), np.ones_like(z))


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Layer\(3, 2\): unknown activation 'gelu'; valid names are 'relu', 'sigmoid'"):
        Layer(3, 2, 'gelu')


def test_user_extends_the_dictionary_with_ember_ops(monkeypatch, rng):
    monkeypatch.setitem(ACTIVATIONS, "leaky", (lambda z: ember.maximum(z, 0.1 * z), lambda z: np.where(z > 0, 1.0, 0.1)))
    net = Network([Layer(3, 4, 'leaky'), Layer(4, 2, 'softmax')])
    x, y = rng.standard_normal((3, 5)), one_hot_columns(rng.integers(0, 2, 5), 2)
    h = net.layers[0].forward(x)
    z = net.layers[0].W.T @ x + net.layers[0].b
    np.testing.assert_allclose(h, np.where(z > 0, z, 0.1 * z))
    dW = net.grad(y, x)[0][0]
    np.testing.assert_allclose(dW, numeric_grad(lambda: net.cost(y, x), net.layers[0].W), rtol=1e-5, atol=1e-9)


def test_user_extends_the_dictionary_with_numpy_functions(monkeypatch, rng):
    # The seed's style: plain NumPy functions; the derivative becomes the op's backward.
    softplus = (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z)))
    monkeypatch.setitem(ACTIVATIONS, "softplus", softplus)
    net = Network([Layer(3, 4, 'softplus'), Layer(4, 2)])
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    z = net.layers[0].W.T @ x + net.layers[0].b
    np.testing.assert_allclose(net.layers[0].forward(x), np.log1p(np.exp(z)))
    dW = net.grad(y, x)[0][0]
    np.testing.assert_allclose(dW, numeric_grad(lambda: net.cost(y, x), net.layers[0].W), rtol=1e-5, atol=1e-9)


def test_clear_errors(rng):
    net = Network([Layer(4, 3, 'relu'), Layer(3, 2, 'softmax')])
    with pytest.raises(ValueError, match=r"Layer\(4 -> 3, activation='relu'\) expected input with 4 rows .* got shape \(5, 2\)"):
        net.forward(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"y must have the output's shape \(2, 3\), got shape \(3, 2\)"):
        net.grad(np.ones((3, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"layers\[1\] = Layer\(4 -> 2.* takes 4 inputs but layers\[0\] = .* gives 3 outputs"):
        Network([Layer(4, 3), Layer(4, 2)])
    with pytest.raises(TypeError, match=r"layers\[0\] must be a Layer, got ndarray"):
        Network([np.ones((4, 3))])
    with pytest.raises(ValueError, match="at least one Layer"):
        Network([])
    with pytest.raises(ValueError, match=r"input_dim must be a positive int, got 0"):
        Layer(0, 3)
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; valid names are 'cross_entropy', 'squared_error', 'mse'"):
        Network([Layer(2, 2)], loss="hinge")
    with pytest.raises(TypeError, match="must return a scalar ember Tensor"):
        Network([Layer(2, 2)], loss=lambda o, t: o - t).cost(np.ones((2, 1)), np.ones((2, 1)))


def test_toy_xor_with_the_readme_loop():
    ember.manual_seed(3)
    x = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
    labels = np.array([0, 1, 1, 0])
    y = one_hot_columns(labels, 2)
    net = Network([Layer(2, 8, 'tanh'), Layer(8, 2, 'softmax')])
    for _ in range(300):
        for (dC_dW, dC_db), l in zip(net.grad(y, x), net.layers):
            l.W -= 0.5 * dC_dW
            l.b -= 0.5 * dC_db
    assert (net.forward(x).argmax(axis=0) == labels).all()
    assert net.cost(y, x) < 0.05


def test_mnist_subset_with_the_readme_loop(mnist):
    ember.manual_seed(0)
    xtr, ytr = mnist("train", 8000)
    xtr, ytr = xtr[:5000], ytr[:5000]
    xte, yte = mnist("test", 500)
    x, y = xtr.T, one_hot_columns(ytr, 10)
    net = Network([Layer(784, 64, 'relu'), Layer(64, 10, 'softmax')])
    lr = 0.5
    for epoch in range(3):
        for s in range(0, 5000, 32):
            grad = net.grad(y[:, s:s + 32], x[:, s:s + 32])
            for G, l in zip(grad, net.layers):
                l.W -= lr * G[0]
                l.b -= lr * G[1]
    acc = (net.forward(xte.T).argmax(axis=0) == yte).mean()
    assert acc >= 0.90, acc
