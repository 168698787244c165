"""A small CNN end to end: weights from PyTorch's state_dict through load_state_dict, then the
same outputs, input gradient, parameter gradients and running statistics as PyTorch."""
import numpy as np
import pytest

import ember
from ember import nn


def _ember_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=1, padding="same"), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(16 * 4 * 4, 32), nn.GELU(), nn.Linear(32, 5),
    )


def _torch_net(torch):
    tn = torch.nn
    return tn.Sequential(
        tn.Conv2d(3, 8, 3, padding=1), tn.BatchNorm2d(8), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(8, 16, 3, stride=1, padding="same"), tn.ReLU(), tn.AvgPool2d(2),
        tn.Flatten(), tn.Dropout(0.5), tn.Linear(16 * 4 * 4, 32), tn.GELU(), tn.Linear(32, 5),
    )


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_cnn_from_torch_state_dict(torch, mode):
    torch.manual_seed(0)
    tnet = _torch_net(torch)
    enet = _ember_net()
    assert list(enet.state_dict()) == list(tnet.state_dict())
    enet.load_state_dict(tnet.state_dict())
    if mode == "eval":  # give the running statistics something to hold first
        x0 = np.random.default_rng(1).standard_normal((6, 3, 16, 16)).astype(np.float32)
        tnet.train()(torch.from_numpy(x0))
        enet.load_state_dict(tnet.state_dict())
        tnet.eval(), enet.eval()
    else:
        # dropout masks differ between libraries: compare with dropout off, BatchNorm in training mode
        tnet.train(), enet.train()
        tnet[8].p = 0.0
        enet[8].p = 0.0
    x = np.random.default_rng(2).standard_normal((4, 3, 16, 16)).astype(np.float32)
    y = np.array([0, 3, 1, 4])
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tnet(tx), torch.from_numpy(y))
    el = nn.functional.cross_entropy(enet(ex), y)
    np.testing.assert_allclose(el.item(), tl.item(), rtol=1e-5)
    tl.backward()
    el.backward()
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-6)
    tparams = dict(tnet.named_parameters())
    for name, p in enet.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    tstate = tnet.state_dict()
    for name, v in enet.state_dict().items():
        np.testing.assert_allclose(v, tstate[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
