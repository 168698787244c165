"""The README's Python examples run, in order, in one namespace (MNIST cut to 512 images so
that they take seconds): documentation that cannot go stale."""
import os
import re

import pytest

import ember.datasets
from ember.data import Subset

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def _blocks():
    text = open(README, encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(_blocks()) >= 4


def test_readme_python_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("safetensors", reason="the README saves to .safetensors: pip install safetensors")
    pytest.importorskip("onnxruntime", reason="the README runs onnxruntime")
    real = ember.datasets.MNIST
    monkeypatch.setattr(ember.datasets, "MNIST", lambda train=True, **kw: Subset(real(train=train, **kw), range(512)))
    monkeypatch.chdir(tmp_path)
    ns = {}
    for code in _blocks():
        exec(compile(code, README, "exec"), ns)
    assert ns["trainer"].epoch >= 1 and (tmp_path / "model.onnx").exists()
