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


def _import_torchvision():
    """torchvision or a skip (see ``benchmarks.common.import_torchvision``)."""
    pytest.importorskip("torch", reason="PyTorch oracle not installed: pip install torch==2.13.0")
    from benchmarks.common import import_torchvision

    tv = import_torchvision()
    if tv is None:
        pytest.skip("torchvision oracle not installed: pip install torchvision==0.28.0")
    return tv


@pytest.fixture(scope="session")
def torchvision():
    """torchvision (0.28.0) for comparisons; skips when it is not installed."""
    return _import_torchvision()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    # Tests of a fast kernel itself (that a fused op ran, which op a graph holds), marked
    # @pytest.mark.kernels: with every kernel off (EMBER_KERNELS=0, CI's second run) there is
    # nothing for them to test.
    if not ember.kernels.enabled():
        skip = pytest.mark.skip(reason="tests a fast kernel; EMBER_KERNELS=0 turns them off")
        for item in items:
            if item.get_closest_marker("kernels") is not None:
                item.add_marker(skip)
