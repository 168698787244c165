"""ember.compat.neural_nets_in_numpy: the seed's README and notebook, semantics, gradients."""
import copy

import numpy as np
import pytest

import ember
from ember.compat.neural_nets_in_numpy import denseLayer, nNet


def col(*v):
    return np.array(v, dtype=float).reshape(-1, 1)


def numeric_grad(f, arr, eps=1e-6):
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


def seed_loss(net, x, y, loss):
    """The README's losses on the forward pass: 'mse' the mean of (out - y)^2, 'cel' -sum(y log out)."""
    out = net.forwardPass(x, False)
    return np.mean((out - y) ** 2) if loss == "mse" else -np.sum(y * np.log(out))


def test_readme_layer_api(rng):
    layer = denseLayer(3, 2, 'tanh')
    assert layer.linear.shape == (2, 3) and layer.bias.shape == (2, 1) and layer.activation == 'tanh'
    assert layer.linear.dtype == np.float64
    v = rng.standard_normal((3, 1))
    np.testing.assert_allclose(layer.linearPass(v), layer.bias + layer.linear @ v, rtol=1e-14)
    np.testing.assert_allclose(layer.linearPass(v, addBias=False), layer.linear @ v, rtol=1e-14)
    np.testing.assert_allclose(layer.linearPass(v, False), layer.linear @ v, rtol=1e-14)
    np.testing.assert_allclose(layer.forwardPass(v), np.tanh(layer.bias + layer.linear @ v), rtol=1e-14)
    y = layer.linearPass(v)
    d = layer.activationDerDiag(y)
    assert d.shape == (2,)
    np.testing.assert_allclose(d, 1 - np.tanh(y[:, 0]) ** 2, rtol=1e-12)


def test_readme_network_api(rng):
    net = nNet([denseLayer(3, 4, 'relu'), denseLayer(4, 2, 'softmax')])
    assert len(net.layersList) == 2
    v = rng.standard_normal((3, 1))
    outs = net.forwardPass(v)
    assert [o.shape for o in outs] == [(4, 1), (2, 1)]  # each layer's output
    np.testing.assert_allclose(outs[0], net.layersList[0].forwardPass(v))
    np.testing.assert_array_equal(net.forwardPass(v, False), outs[-1])
    np.testing.assert_allclose(outs[-1].sum(), 1.0)
    data = [(rng.standard_normal((3, 1)), np.eye(2)[:, [i % 2]]) for i in range(6)]
    first = net.backprop(data, 'cel', 0.1)
    losses = net.nEpochs(data, 'cel', 0.1, 5)
    assert len(losses) == 5 and losses[-1] < first


def test_notebook_example_runs_verbatim():
    # The seed repository's own example, with its notebook's argument order for nEpochs.
    import random

    random.seed(0)
    data = [(np.array([[0]]),np.array([[1]])),(np.array([[1]]),np.array([[2]]))]
    layer = denseLayer(np.array([[random.uniform(-10,10)]]),np.array([[random.uniform(-10,10)]]))
    model = nNet([layer])
    model.nEpochs(50, data, 'mse', .1, 1)
    model.nEpochs(50, data, 'mse', .05, 1)
    model.nEpochs(50, data, 'mse', .01, 1)
    # the line y = x + 1 through the two points
    assert model.layersList[0].linear[0, 0] == pytest.approx(1.0, abs=0.02)
    assert model.layersList[0].bias[0, 0] == pytest.approx(1.0, abs=0.02)


def test_constructors():
    lin32 = np.ones((2, 3), np.float32)
    l = denseLayer(lin32, np.zeros((2, 1), np.float32), 'relu')
    assert l.linear is lin32 and l.linear.dtype == np.float32 and l.bias.dtype == np.float32  # given arrays kept
    assert l.forwardPass(np.ones((3, 1))).dtype == np.float32
    li = denseLayer(np.array([[1, 2], [3, 4]]))  # integers become float64; bias defaults to 0
    assert li.linear.dtype == np.float64 and li.bias.shape == (2, 1) and not li.bias.any()
    lk = denseLayer(linear=np.eye(2), bias=np.array([1.0, 2.0]), activation='sigmoid')
    np.testing.assert_array_equal(lk.bias, [[1.0], [2.0]])
    assert denseLayer(np.eye(2), 3.0).bias.tolist() == [[3.0], [3.0]]
    assert denseLayer(2, 5, dtype=np.float32).linear.dtype == np.float32
    with pytest.raises(ValueError, match=r"inputDim=3 disagrees with linear of shape \(2, 2\)"):
        denseLayer(3, 2, linear=np.eye(2))
    with pytest.raises(ValueError, match=r"bias must be a column of shape \(2, 1\) .* got shape \(3, 1\)"):
        denseLayer(np.eye(2), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'; valid names are 'relu', 'sigmoid', 'tanh', 'softmax'"):
        denseLayer(2, 2, 'gelu')
    with pytest.raises(ValueError, match="outputDim must be a positive int"):
        denseLayer(2, -1)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_activation_der_diag_is_the_derivative(act, rng):
    layer = denseLayer(3, 5, act)
    y = rng.standard_normal((5, 1)) + 0.01
    fn = lambda a: denseLayer(np.eye(5), 0.0, act).forwardPass(a)  # noqa: E731  f applied to a column
    numeric = ((fn(y + 1e-6) - fn(y - 1e-6)) / 2e-6)[:, 0]
    np.testing.assert_allclose(layer.activationDerDiag(y), numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(layer.activationDerDiag(y[:, 0]), numeric, rtol=1e-6, atol=1e-9)


def test_activation_der_diag_is_ones_for_softmax_and_none(rng):
    y = rng.standard_normal((4, 1))
    for act in ("softmax", None):
        d = denseLayer(2, 4, act).activationDerDiag(y)
        assert d.shape == (4,)
        np.testing.assert_array_equal(d, np.ones(4))
    with pytest.raises(ValueError, match=r"activationDerDiag expected a column of length 4, got shape \(3, 1\)"):
        denseLayer(2, 4, 'relu').activationDerDiag(np.ones((3, 1)))


@pytest.mark.parametrize("loss,last", [("mse", "sigmoid"), ("mse", None), ("cel", "softmax"), ("mse", "softmax")])
def test_backprop_step_is_sgd_on_finite_difference_gradients(loss, last, rng):
    net = nNet([denseLayer(3, 4, 'tanh'), denseLayer(4, 3, last)])
    x = rng.standard_normal((3, 1))
    y = np.eye(3)[:, [1]]
    assert float(net.loss_tensor(x, y, loss).data) == pytest.approx(seed_loss(net, x, y, loss), rel=1e-12)
    lr = 0.3
    expected = [p.detach().numpy() - lr * numeric_grad(lambda: seed_loss(net, x, y, loss), p.detach().numpy()) for p in net.parameters()]
    net.backprop([(x, y)], loss, lr)
    for p, e in zip(net.parameters(), expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-6, atol=1e-9)


def test_backprop_matches_pytorch_sgd(torch, rng):
    net = nNet([denseLayer(4, 5, 'sigmoid'), denseLayer(5, 3, 'softmax')])
    data = [(rng.standard_normal((4, 1)), np.eye(3)[:, [i % 3]]) for i in range(4)]
    lin = [torch.tensor(l.linear, requires_grad=True) for l in net.layersList]
    bias = [torch.tensor(l.bias, requires_grad=True) for l in net.layersList]
    opt = torch.optim.SGD(lin + bias, lr=0.2)
    for x, y in data:  # one step per pair, in order
        opt.zero_grad()
        h = torch.sigmoid(bias[0] + lin[0] @ torch.tensor(x))
        logits = bias[1] + lin[1] @ h
        (-(torch.tensor(y) * torch.log_softmax(logits, dim=0)).sum()).backward()
        opt.step()
    net.backprop(data, 'cel', 0.2)
    for l, w, b in zip(net.layersList, lin, bias):
        np.testing.assert_allclose(l.linear, w.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(l.bias, b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_one_update_per_pair_in_order(rng):
    net = nNet([denseLayer(2, 3, 'relu'), denseLayer(3, 2, 'softmax')])
    a, b = (rng.standard_normal((2, 1)), col(1, 0)), (rng.standard_normal((2, 1)), col(0, 1))
    seq, rev = copy.deepcopy(net), copy.deepcopy(net)
    net.backprop([a, b], 'cel', 0.5)
    seq.backprop([a], 'cel', 0.5)
    seq.backprop([b], 'cel', 0.5)
    rev.backprop([b, a], 'cel', 0.5)
    for p, q, r in zip(net.parameters(), seq.parameters(), rev.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-14)
    assert any(not np.allclose(p.detach().numpy(), r.detach().numpy()) for p, r in zip(net.parameters(), rev.parameters()))


def test_batch_size_averages_the_pairs(rng):
    net = nNet([denseLayer(2, 3, 'tanh'), denseLayer(3, 1)])
    data = [(rng.standard_normal((2, 1)), rng.standard_normal((1, 1))) for _ in range(4)]
    batched = copy.deepcopy(net)
    batched.backprop(data, 'mse', 0.1, batch_size=4)
    x = np.hstack([d[0] for d in data])
    y = np.hstack([d[1] for d in data])
    mean_loss = lambda: np.mean((net.forwardPass(x, False) - y) ** 2)  # noqa: E731
    for p, q in zip(net.parameters(), batched.parameters()):
        np.testing.assert_allclose(q.data, p.detach().numpy() - 0.1 * numeric_grad(mean_loss, p.detach().numpy()), rtol=1e-6, atol=1e-9)


def test_cel_stays_finite_when_softmax_underflows():
    net = nNet([denseLayer(np.array([[500.0], [-500.0]]), 0.0, 'softmax')])
    assert float(net.loss_tensor(col(1), col(0, 1), 'cel').data) == pytest.approx(1000.0)
    net.backprop([(col(1), col(0, 1))], 'cel', 0.1)
    assert np.isfinite(net.layersList[0].linear).all()


def test_clear_errors(rng):
    net = nNet([denseLayer(3, 2, 'relu')])
    good = [(np.ones((3, 1)), np.ones((2, 1)))]
    with pytest.raises(ValueError, match=r"loss 'cel' needs a softmax last layer, but the last layer is denseLayer\(3 -> 2, activation='relu'\)"):
        net.backprop(good, 'cel', 0.1)
    with pytest.raises(ValueError, match=r"unknown loss 'mae'; valid names are 'mse', 'cel'"):
        net.backprop(good, 'mae', 0.1)
    with pytest.raises(ValueError, match=r"x of data\[1\]: denseLayer\(3 -> 2, activation='relu'\) expected input with 3 rows .*got shape \(4, 1\)"):
        net.backprop(good + [(np.ones((4, 1)), np.ones((2, 1)))], 'mse', 0.1)
    with pytest.raises(ValueError, match=r"y of data\[0\] must be a column of length 2 .* got shape \(3, 1\)"):
        net.backprop([(np.ones((3, 1)), np.ones((3, 1)))], 'mse', 0.1)
    with pytest.raises(ValueError, match=r"data\[0\] must be an \(x, y\) pair .* wrap a single pair as \[\(x, y\)\]"):
        net.backprop(good[0], 'mse', 0.1)
    with pytest.raises(ValueError, match=r"expected input with 3 rows"):
        net.forwardPass(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"layersList\[1\] = denseLayer\(3 -> 1.* takes 3 inputs but .* gives 2 outputs"):
        nNet([denseLayer(3, 2), denseLayer(3, 1)])
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        net.backprop(good, 'mse', 'fast')
    before = net.layersList[0].linear.copy()
    with pytest.raises(ValueError):
        net.backprop(good + [(np.ones((4, 1)), np.ones((2, 1)))], 'mse', 0.1)
    np.testing.assert_array_equal(net.layersList[0].linear, before)  # all pairs checked before any update


def test_toy_xor_per_pair_sgd():
    ember.manual_seed(1)
    xs = [col(0, 0), col(0, 1), col(1, 0), col(1, 1)]
    labels = [0, 1, 1, 0]
    data = [(x, np.eye(2)[:, [k]]) for x, k in zip(xs, labels)]
    net = nNet([denseLayer(2, 8, 'tanh'), denseLayer(8, 2, 'softmax')])
    losses = net.nEpochs(data, 'cel', 0.1, 300)
    assert losses[-1] < 0.05
    assert [int(net.forwardPass(x, False).argmax()) for x in xs] == labels


def test_toy_regression_with_mse():
    ember.manual_seed(2)
    xs = np.linspace(-1, 1, 16)
    data = [(col(v), col(np.sin(2 * v))) for v in xs]
    net = nNet([denseLayer(1, 16, 'tanh'), denseLayer(16, 1)])
    losses = net.nEpochs(data, 'mse', 0.1, 200)
    assert losses[-1] < 0.01 < losses[0]


def test_mnist_subset_per_pair_sgd(mnist):
    ember.manual_seed(0)
    xtr, ytr = mnist("train", 8000)
    xtr, ytr = xtr[:3000], ytr[:3000]
    xte, yte = mnist("test", 500)
    data = [(xtr[i].reshape(-1, 1), np.eye(10)[:, [ytr[i]]]) for i in range(3000)]
    net = nNet([denseLayer(784, 64, 'relu'), denseLayer(64, 10, 'softmax')])
    net.nEpochs(data, 'cel', 0.03, 1)  # the notebook's habit: a pass, then a smaller rate
    net.nEpochs(data, 'cel', 0.01, 1)
    acc = (net.forwardPass(xte.T, False).argmax(axis=0) == yte).mean()
    assert acc >= 0.90, acc
