"""A finite loss with a non-finite gradient stops ``fit`` before the step (issue #24).

sqrt at 0 has an infinite derivative: the loss is finite, the gradient is not. The Trainer
checks the gradients before ``optimizer.step()`` and names the parameter, the epoch and the
batch, with the weights and the optimizer's state those before that batch.
"""
import numpy as np
import pytest

import ember
from ember import nn
from ember.optim import SGD, Adam
from ember.train import Callback, NonFiniteGradientError, NonFiniteLossError, Trainer

pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                                        "ignore:invalid value:RuntimeWarning")


class Gated(nn.Module):
    """``net(x) + sqrt(|x[:, 0]| + gate)``: the gate's gradient is infinite where x[:, 0] == 0."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.gate = nn.Parameter(ember.zeros(1))

    def forward(self, x):
        return self.net(x) + (x[:, :1].abs() + self.gate).sqrt()


def _gated_trainer(tk, **kw):
    ember.manual_seed(0)
    model = Gated(tk.small_model())
    # the gate keeps lr 0, so it stays at 0 and sqrt(0 + 0) is reached when x[:, 0] == 0
    opt = Adam([{"params": model.net.parameters()}, {"params": [model.gate], "lr": 0.0}], lr=0.01)
    return Trainer(model, opt, nn.CrossEntropyLoss(), progress=False, **kw)


def _data(data):
    x, y = data
    x = x.copy()
    x[:, 0] = np.abs(x[:, 0]) + 1.0
    return x, y


class Snapshot(Callback):
    """The weights and the optimizer's state before each batch."""

    def on_train_batch_begin(self, batch, logs=None):
        t = self.trainer
        self.weights = [p.detach().numpy().copy() for p in t.model.parameters()]
        self.steps = [s.get("step") for s in t.optimizer.state.values()]
        self.moments = [s["exp_avg"].copy() for s in t.optimizer.state.values() if "exp_avg" in s]


def test_an_infinite_gradient_stops_before_the_step_naming_the_parameter(tk, data):
    x, y = _data(data)
    snap = Snapshot()
    t = _gated_trainer(tk, callbacks=[snap])
    t.fit(tk.loader(x, y), epochs=1)
    x[16 * 2 + 5, 0] = 0.0  # sqrt(0) in the third batch of 16
    with pytest.raises(NonFiniteGradientError) as e:
        t.fit(tk.loader(x, y), epochs=3)
    msg = str(e.value)
    assert "epoch 2/3, batch 3/6" in msg, msg
    assert "'gate'" in msg and "inf" in msg and "net.0.weight" not in msg, msg
    assert "the loss" in msg and "finite" in msg, msg
    assert "training stopped before that batch changed the weights" in msg
    after = [p.detach().numpy() for p in t.model.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(snap.weights, after))
    assert [s.get("step") for s in t.optimizer.state.values()] == snap.steps
    assert all(np.array_equal(a, s["exp_avg"]) for a, s in zip(snap.moments, t.optimizer.state.values()))
    assert t.epoch == 1


def test_it_is_not_a_loss_error_and_names_each_parameter_with_nan(tk, data):
    x, y = _data(data)
    ember.manual_seed(0)
    model = tk.small_model()

    def loss(out, y):  # finite value, NaN gradient for every weight: 0 * inf
        return nn.CrossEntropyLoss()(out, y) + 0.0 * (out * 0.0).abs().sqrt().sum()

    t = Trainer(model, SGD(model.parameters(), lr=0.1), loss, progress=False)
    with pytest.raises(NonFiniteGradientError) as e:
        t.fit(tk.loader(x, y), epochs=1)
    assert not isinstance(e.value, NonFiniteLossError)
    msg = str(e.value)
    assert "epoch 1/1, batch 1/6" in msg and "'0.weight'" in msg and "nan" in msg.lower(), msg
    assert "(16, 8): 128 NaN of 128 entries" in msg, msg  # the first weight, all NaN


def test_large_finite_gradients_are_not_refused(tk, data):
    # squares of 1e20 overflow float32: the fused check must fall back to an exact one
    x, y = _data(data)
    ember.manual_seed(0)
    model = tk.small_model()
    t = Trainer(model, SGD(model.parameters(), lr=1e-30), lambda out, y: (out * 1e20).mean(), progress=False)
    t.fit(tk.loader(x, y), epochs=1)
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())


def test_the_check_can_be_turned_off(tk, data):
    x, y = _data(data)
    x[3, 0] = 0.0
    t = _gated_trainer(tk, stop_on_nonfinite=False)
    t.fit(tk.loader(x, y), epochs=1)
    assert np.isnan(t.model.gate.detach().numpy()).all()  # lr 0 times inf / inf


def test_a_finite_run_trains_as_before(tk, data):
    # the check changes nothing in a healthy run: same weights as without it
    x, y = _data(data)
    a = _gated_trainer(tk)
    a.fit(tk.loader(x, y), epochs=2)
    b = _gated_trainer(tk, stop_on_nonfinite=False)
    b.fit(tk.loader(x, y), epochs=2)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
