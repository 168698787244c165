"""Weights move between PyTorch and ember through .safetensors, both ways, with equal outputs."""
import numpy as np
import pytest

import ember


def ember_cnn():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)


def test_torch_to_ember(torch, tmp_path, x):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    tm = torch_cnn(torch)
    with torch.no_grad():  # a few training steps' worth of BatchNorm statistics
        for _ in range(3):
            tm(torch.randn(8, 3, 8, 8) * 2 + 1)
    tm.eval()
    save_file(tm.state_dict(), str(tmp_path / "torch.safetensors"))

    state = ember.load(tmp_path / "torch.safetensors")
    assert sorted(state) == sorted(tm.state_dict())  # num_batches_tracked included
    em = ember_cnn()
    em.load_state_dict(state)  # strict
    em.eval()
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(em(x).data, expected, atol=1e-5, rtol=0)


def test_ember_to_torch(torch, tmp_path, x):
    from safetensors.torch import load_file

    ember.manual_seed(1)
    em = ember_cnn()
    for _ in range(3):  # train-mode passes update the running statistics
        em(np.random.default_rng(2).standard_normal((8, 3, 8, 8)).astype(np.float32) * 2 + 1)
    em.eval()
    ember.save(em.state_dict(), tmp_path / "ember.safetensors")

    tm = torch_cnn(torch)
    tm.load_state_dict(load_file(str(tmp_path / "ember.safetensors")))  # strict
    tm.eval()
    assert float(tm[1].running_var.sum()) != 4.0  # the statistics did travel
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(em(x).data, expected, atol=1e-5, rtol=0)


def test_round_trip_torch_ember_torch_is_exact(torch, tmp_path):
    from safetensors.torch import load_file, save_file

    torch.manual_seed(3)
    tm = torch_cnn(torch)
    save_file(tm.state_dict(), str(tmp_path / "a.safetensors"))
    em = ember_cnn()
    em.load_state_dict(ember.load(tmp_path / "a.safetensors"))
    ember.save(em.state_dict(), tmp_path / "b.safetensors")
    back = load_file(str(tmp_path / "b.safetensors"))
    for k, v in tm.state_dict().items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k
