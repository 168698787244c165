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
    """torchvision 0.28.0 as the oracle of ember.vision. The wheel on these machines is the CUDA
    build; beside the CPU torch its import stops at registering fake kernels for its compiled
    operators (``torchvision::nms`` ...), which this torch does not have. Declaring each missing
    operator (a placeholder schema, never called) lets the pure-Python parts load: models,
    transforms, datasets. Tests must not call torchvision's compiled ops."""
    import re
    import sys

    torch = pytest.importorskip("torch", reason="PyTorch oracle not installed: pip install torch==2.13.0")
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:  # (importing it is what fails; see above)
        pytest.skip("torchvision oracle not installed: pip install torchvision==0.28.0")
    lib = None
    for _ in range(50):
        try:
            import torchvision
            return torchvision
        except RuntimeError as e:
            m = re.search(r"operator torchvision::(\w+) does not exist", str(e))
            if m is None:
                raise
            if lib is None:
                lib = _import_torchvision.lib = torch.library.Library("torchvision", "DEF")
            lib.define(f"{m.group(1)}(Tensor x) -> Tensor")
            for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
                del sys.modules[name]
    raise RuntimeError("torchvision: too many missing operators")


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
