"""Devices on a machine without a GPU: 'cpu' works, 'cuda' fails with a message that says
what is missing. (CI never has a GPU; the CUDA suite runs only where CuPy finds one.)"""
import importlib.util

import pytest

import ember


def test_cpu_device():
    t = ember.ones(3)
    assert t.device == "cpu" and t.to("cpu") is not None and t.cpu().device == "cpu"


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed: error path not reachable")
def test_cuda_without_cupy_says_so():
    with pytest.raises(RuntimeError, match="needs CuPy.*pip install 'ember\\[cuda\\]'"):
        ember.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        ember.set_default_device("cuda")
    assert ember.get_default_device() == "cpu"


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device"):
        ember.set_default_device("tpu")


def test_module_to_cpu_and_dtype():
    from ember import nn

    m = nn.Linear(3, 2)
    assert m.to("cpu") is m and m.weight.device == "cpu"
    assert m.to(ember.float64).weight.dtype == ember.float64


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_module_to_cuda_without_cupy():
    from ember import nn

    with pytest.raises(RuntimeError, match="needs CuPy"):
        nn.Linear(3, 2).to("cuda")
