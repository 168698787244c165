"""MNIST and Fashion-MNIST: the real files, the search order, the missing-dataset message."""
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.data import DataLoader, write_idx
from ember.datasets import MNIST, DatasetNotFoundError, FashionMNIST

REPO = Path(__file__).resolve().parents[2]
SHARED_FASHION = REPO.parent / "shared" / "data" / "fashion-mnist"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    # the search must not depend on this machine's ~/.cache or $EMBER_DATA
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBER_DATA", raising=False)


@pytest.fixture(scope="module")
def mnist_train():
    return MNIST(root=REPO / "data", train=True)


def test_mnist_from_repository_data(mnist_train):
    ds = mnist_train
    assert ds.folder == REPO / "data" / "mnist"
    assert len(ds) == 60000 and ds.data.shape == (60000, 1, 28, 28)
    assert ds.data.dtype == np.float32 and ds.targets.dtype == np.int64
    assert ds.data.min() == 0.0 and ds.data.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.targets, minlength=10),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    assert ds.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert abs(float(ds.data.mean()) - 0.1307) < 1e-4
    img, label = ds[0]
    assert img.shape == (1, 28, 28) and label == 5 and type(label) is int


def test_mnist_test_split():
    ds = ember.datasets.MNIST(train=False)  # found by the default search
    assert ds.folder == REPO / "data" / "mnist"
    assert len(ds) == 10000 and np.bincount(ds.targets).sum() == 10000
    assert ds.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert "Split: Test" in repr(ds)


def test_mnist_loader_batches(mnist_train):
    loader = DataLoader(mnist_train, batch_size=128, shuffle=True, drop_last=True)
    assert len(loader) == 468
    x, y = next(iter(loader))
    assert x.shape == (128, 1, 28, 28) and x.dtype == np.float32 and y.shape == (128,) and y.dtype == np.int64


@pytest.mark.skipif(not SHARED_FASHION.is_dir(), reason="no shared Fashion-MNIST copy on this machine")
def test_fashion_mnist_via_root():
    for root in (SHARED_FASHION, SHARED_FASHION.parent):  # the folder itself, or its parent
        ds = FashionMNIST(root=root, train=False)
        assert ds.folder == SHARED_FASHION
        assert len(ds) == 10000 and ds.data.dtype == np.float32
        np.testing.assert_array_equal(np.bincount(ds.targets), [1000] * 10)
        assert ds.targets[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert ds.classes[9] == "Ankle boot"


def test_fashion_mnist_looks_in_debian_folder():
    assert Path("/usr/share/datasets/fashion-mnist") in FashionMNIST.search_folders()


def _tiny_mnist(folder, n=5, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", np.full((n, 28, 28), 255, np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", np.arange(n, dtype=np.uint8))


def test_search_order_env_then_cache(tmp_path, monkeypatch):
    _tiny_mnist(tmp_path / "home" / ".cache" / "ember" / "mnist", n=4)
    assert len(MNIST()) == 4  # the cache comes before the repository's data/
    _tiny_mnist(tmp_path / "env" / "mnist", n=3, gz=False)
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "env"))
    ds = MNIST(train=False)
    assert len(ds) == 3 and ds.folder == tmp_path / "env" / "mnist"
    assert ds.data.max() == 1.0


def test_transforms_per_sample_and_batched(tmp_path):
    _tiny_mnist(tmp_path / "mnist", n=6)
    calls = []

    def flip(img):
        calls.append(img.shape)
        return img[:, ::-1]

    ds = MNIST(root=tmp_path, transform=flip, target_transform=lambda t: t + 10)
    img, label = ds[2]
    assert img.shape == (1, 28, 28) and label == 12
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and y.numpy().tolist() == [10, 11, 12, 13]

    def batched(x):
        calls.append(x.shape)
        return x * 2

    batched.batched = True
    calls.clear()
    x, y = next(iter(DataLoader(MNIST(root=tmp_path, transform=batched), batch_size=4, shuffle=True)))
    assert calls == [(4, 1, 28, 28)] and float(x.numpy().max()) == 2.0


def test_missing_dataset_message(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as e:
        MNIST(root=tmp_path / "nowhere")
    msg = str(e.value)
    assert "MNIST (train split) not found" in msg
    assert str(tmp_path / "nowhere" / "mnist") in msg and "train-images-idx3-ubyte[.gz]" in msg
    assert "download=True" in msg and "$EMBER_DATA" in msg
    assert isinstance(e.value, FileNotFoundError)

    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(FashionMNIST, "system_folders", (str(tmp_path / "debian"),))
    with pytest.raises(DatasetNotFoundError) as e:
        FashionMNIST(train=False)
    msg = str(e.value)
    for folder in (tmp_path / "env" / "fashion-mnist", tmp_path / "home" / ".cache" / "ember" / "fashion-mnist",
                   tmp_path / "debian"):
        assert str(folder) in msg
    assert "apt install dataset-fashion-mnist" in msg


def test_bad_transform_and_bad_files(tmp_path):
    with pytest.raises(TypeError, match="transform must be callable"):
        MNIST(transform=3)
    folder = tmp_path / "mnist"
    _tiny_mnist(folder, n=5)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(4, dtype=np.uint8))
    with pytest.raises(ember.SerializationError, match="expected 5 uint8 labels"):
        MNIST(root=tmp_path)
