"""Network.fit: the seed's to-do "better interface for training", over ember.optim."""
import io
import sys

import numpy as np
import pytest

import ember
from ember.compat.dl_from_scratch import Layer, Network


def blobs(rng, n=100):
    x = np.hstack([rng.normal(-1, 0.6, (2, n)), rng.normal(1, 0.6, (2, n))])
    labels = np.r_[np.zeros(n, int), np.ones(n, int)]
    return x, np.eye(2)[labels].T, labels


def small_net():
    return Network([Layer(2, 8, 'relu'), Layer(8, 2, 'softmax')])


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.5), ("momentum", 0.05), ("nesterov", 0.05), ("adam", 0.02), ("Adam", None)])
def test_each_optimizer_name_trains_two_blobs(optimizer, lr, rng):
    x, y, labels = blobs(rng)
    net = small_net()
    history = net.fit(x, y, epochs=8, lr=lr, batch_size=16, optimizer=optimizer, verbose=False)
    assert len(history) == 8 and history[-1] < history[0]
    assert (net.forward(x).argmax(axis=0) == labels).mean() >= 0.95


def test_full_batch_sgd_is_the_readme_loop(rng):
    x, y, _ = blobs(rng, 20)
    a = small_net()
    b = Network([Layer(2, 8, 'relu'), Layer(8, 2, 'softmax')])
    b.load_state_dict({k: np.array(v) for k, v in a.state_dict().items()})
    a.fit(x, y, epochs=5, lr=0.3, batch_size=x.shape[1], optimizer="sgd", shuffle=False, verbose=False)
    for _ in range(5):
        for (dC_dW, dC_db), l in zip(b.grad(y, x), b.layers):
            l.W -= 0.3 * dC_dW
            l.b -= 0.3 * dC_db
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_allclose(la.W, lb.W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(la.b, lb.b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["nesterov", "adam"])
def test_fit_takes_the_same_steps_as_pytorch(torch, optimizer, rng):
    x, y, _ = blobs(rng, 12)
    net = small_net()
    W = [torch.tensor(l.W, requires_grad=True) for l in net.layers]
    B = [torch.tensor(l.b, requires_grad=True) for l in net.layers]
    if optimizer == "adam":
        opt = torch.optim.Adam(W + B, lr=0.01)
    else:
        opt = torch.optim.SGD(W + B, lr=0.01, momentum=0.9, nesterov=True)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(3):
        for s in range(0, 24, 8):  # shuffle=False: batches in order
            opt.zero_grad()
            h = torch.relu(W[0].T @ xt[:, s:s + 8] + B[0])
            logits = W[1].T @ h + B[1]
            (-(yt[:, s:s + 8] * torch.log_softmax(logits, dim=0)).sum(dim=0).mean()).backward()
            opt.step()
    net.fit(x, y, epochs=3, lr=0.01, batch_size=8, optimizer=optimizer, shuffle=False, verbose=False)
    for l, w, b in zip(net.layers, W, B):
        np.testing.assert_allclose(l.W, w.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(l.b, b.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_fit_takes_an_optimizer_class_or_instance(rng):
    x, y, labels = blobs(rng)
    net = small_net()
    net.fit(x, y, epochs=5, batch_size=16, optimizer=ember.optim.RMSprop, verbose=False)
    assert (net.forward(x).argmax(axis=0) == labels).mean() >= 0.95
    net2 = small_net()
    opt = ember.optim.SGD(net2.parameters(), lr=0.1, momentum=0.9)
    net2.fit(x, y, epochs=5, batch_size=16, optimizer=opt, verbose=False)
    assert (net2.forward(x).argmax(axis=0) == labels).mean() >= 0.95
    assert len(opt.state) == 4  # the instance given was the one stepping


def test_fit_errors(rng):
    x, y, _ = blobs(rng, 10)
    net = small_net()
    with pytest.raises(ValueError, match=r"unknown optimizer 'adagrad'; valid names are 'sgd', 'momentum', 'nesterov', 'adam'"):
        net.fit(x, y, optimizer="adagrad")
    with pytest.raises(ValueError, match="lr is set on the optimizer you built"):
        net.fit(x, y, lr=0.1, optimizer=ember.optim.Adam(net.parameters()))
    with pytest.raises(TypeError, match="optimizer must be one of"):
        net.fit(x, y, optimizer=42)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        net.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match=r"y must have the output's shape \(2, 20\), got shape \(20, 2\)"):
        net.fit(x, y.T)
    with pytest.raises(ValueError, match=r"expected input with 2 rows"):
        net.fit(x.T, y)


def test_progress_plain_lines_when_not_a_terminal(rng, capsys):
    x, y, _ = blobs(rng, 10)
    small_net().fit(x, y, epochs=2, verbose=True)
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - 1 batches") and "loss: " in lines[0]
    assert "\r" not in out.out + out.err
    small_net().fit(x, y, epochs=2, verbose=False)
    assert capsys.readouterr().out == ""


def test_progress_bar_on_a_terminal(rng, monkeypatch):
    pytest.importorskip("tqdm")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stdout", fake)
    x, y, _ = blobs(rng, 10)
    small_net().fit(x, y, epochs=2, batch_size=5, verbose=True)
    text = fake.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "4/4" in text and "loss: " in text


def test_mnist_subset_with_fit(mnist):
    ember.manual_seed(0)
    xtr, ytr = mnist("train", 8000)
    xte, yte = mnist("test", 500)
    net = Network([Layer(784, 64, 'relu'), Layer(64, 10, 'softmax')]).float()  # float32 for speed
    net.fit(xtr.T.astype(np.float32), np.eye(10)[ytr].T, epochs=2, lr=0.1, batch_size=32, optimizer="momentum", verbose=False)
    acc = (net.forward(xte.T).argmax(axis=0) == yte).mean()
    assert acc >= 0.90, acc
