"""Tiny synthetic problems for the Trainer's tests: fast, and easy enough to learn in a few epochs."""
import numpy as np
import pytest

import ember
from ember import nn


def blobs(n=96, features=8, classes=3, seed=0):
    """``n`` points around ``classes`` well-separated centres: float32 (n, features), int64 (n,)."""
    r = np.random.default_rng(seed)
    centres = r.normal(0, 3, size=(classes, features))
    y = np.arange(n) % classes
    x = centres[y] + r.normal(0, 1, size=(n, features))
    return x.astype(np.float32), y.astype(np.int64)


def small_model(features=8, classes=3, dropout=0.0):
    layers = [nn.Linear(features, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(16, classes))
    return nn.Sequential(*layers)


def loader(x, y, batch_size=16, shuffle=False, generator=None):
    from ember.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator)


@pytest.fixture
def tk():
    """The helpers above, for tests: ``tk.blobs()``, ``tk.small_model()``, ``tk.loader(x, y)``."""
    import types

    return types.SimpleNamespace(blobs=blobs, small_model=small_model, loader=loader)


@pytest.fixture
def data():
    return blobs()


@pytest.fixture
def make_trainer():
    """``make_trainer(**kw)``: a Trainer over a fresh small model, Adam and cross-entropy."""
    from ember.optim import Adam
    from ember.train import Trainer

    def make(model=None, lr=0.01, metrics=("accuracy",), progress=False, scheduler=None, **kw):
        """``scheduler``: a function of the optimizer that makes one."""
        model = model or small_model()
        opt = Adam(model.parameters(), lr=lr)
        return Trainer(model, opt, nn.CrossEntropyLoss(), metrics=metrics, progress=progress,
                       scheduler=None if scheduler is None else scheduler(opt), **kw)

    ember.manual_seed(0)
    return make
