"""Shared fixtures. Tests that compare with PyTorch take the ``torch`` fixture and skip, with
the reason, where it is not installed (CI always installs it)."""
import numpy as np
import pytest

import ember


@pytest.fixture
def torch():
    t = pytest.importorskip("torch", reason="PyTorch oracle not installed: pip install torch==2.13.0")
    t.set_num_threads(1)
    return t


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
