"""docs/migration.md's table holds: each seed call gives what its ember core equivalent gives."""
import copy

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.compat.dl_from_scratch import Layer, Network
from ember.compat.neural_nets_in_numpy import denseLayer, nNet


def linear_from_layer(l):
    """nn.Linear holding a dl_from_scratch Layer's weights: weight = W.T, bias = b[:, 0]."""
    lin = nn.Linear(l.input_dim, l.output_dim, dtype=np.float64)
    lin.load_state_dict({"weight": l.W.T, "bias": l.b[:, 0]})
    return lin


def linear_from_dense(l):
    """nn.Linear holding a denseLayer's weights: the same (m, n) layout, bias = bias[:, 0]."""
    lin = nn.Linear(l.inputDim, l.outputDim, dtype=np.float64)
    lin.load_state_dict({"weight": l.linear, "bias": l.bias[:, 0]})
    return lin


def test_layer_network_forward_cost_grad_match_the_core(rng):
    net = Network([Layer(6, 5, 'relu'), Layer(5, 3, 'softmax')])
    model = nn.Sequential(linear_from_layer(net.layers[0]), nn.ReLU(), linear_from_layer(net.layers[1]))
    x = rng.standard_normal((6, 4))  # the seed's columns are the core's rows: x.T
    labels = rng.integers(0, 3, 4)
    y = np.eye(3)[labels].T
    logits = model(x.T)
    np.testing.assert_allclose(net.forward(x), nn.functional.softmax(logits, dim=1).data.T, rtol=1e-12)
    loss = nn.CrossEntropyLoss()(logits, ember.tensor(labels))
    assert net.cost(y, x) == pytest.approx(loss.item(), rel=1e-12)
    loss.backward()
    for (dW, db), lin in zip(net.grad(y, x), (model[0], model[2])):
        np.testing.assert_allclose(dW, lin.weight.grad.T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db[:, 0], lin.bias.grad, rtol=1e-10, atol=1e-14)


def test_squared_error_cost_is_sum_mse_over_n(rng):
    net = Network([Layer(3, 2, 'sigmoid')])
    model = nn.Sequential(linear_from_layer(net.layers[0]), nn.Sigmoid())
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    loss = nn.MSELoss(reduction="sum")(model(x.T), ember.tensor(y.T)) / 5
    assert net.cost(y, x) == pytest.approx(loss.item(), rel=1e-12)


def test_nnet_backprop_is_sgd_with_batch_size_one(rng):
    net = nNet([denseLayer(4, 5, 'tanh'), denseLayer(5, 3, 'softmax')])
    model = nn.Sequential(linear_from_dense(net.layersList[0]), nn.Tanh(), linear_from_dense(net.layersList[1]))
    opt = optim.SGD(model.parameters(), lr=0.1)
    labels = rng.integers(0, 3, 3)
    data = [(rng.standard_normal((4, 1)), np.eye(3)[:, [k]]) for k in labels]
    for (x, _), k in zip(data, labels):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x.T), ember.tensor([k])).backward()
        opt.step()
    net.backprop(data, 'cel', 0.1)
    np.testing.assert_allclose(net.layersList[0].linear, model[0].weight.data, rtol=1e-10)
    np.testing.assert_allclose(net.layersList[1].bias[:, 0], model[2].bias.data, rtol=1e-10)


def test_nnet_mse_is_mse_loss(rng):
    net = nNet([denseLayer(3, 2)])
    model = linear_from_dense(net.layersList[0])
    x, y = rng.standard_normal((3, 1)), rng.standard_normal((2, 1))
    expected = nn.MSELoss()(model(x.T), ember.tensor(y.T)).item()
    assert float(net.loss_tensor(x, y, 'mse').data) == pytest.approx(expected, rel=1e-12)
    before = copy.deepcopy(net)
    assert float(before.loss_tensor(x, y, 'MSE').data) == pytest.approx(expected, rel=1e-12)  # case ignored
