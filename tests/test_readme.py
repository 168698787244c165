"""The README's Python examples run, in order, in one namespace, followed by those of the files
guide, which use the README's model (MNIST cut to 512 images so that they take seconds):
documentation that cannot go stale."""
import os
import re

import pytest

import ember.datasets
from ember.data import Subset

ROOT = os.path.join(os.path.dirname(__file__), "..")
README = os.path.join(ROOT, "README.md")
FILES_GUIDE = os.path.join(ROOT, "docs", "guides", "files.md")


def _blocks(path):
    text = open(path, encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(_blocks(README)) >= 2 and len(_blocks(FILES_GUIDE)) >= 2


def test_readme_and_files_guide_python_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("safetensors", reason="the files guide saves to .safetensors: pip install safetensors")
    pytest.importorskip("onnxruntime", reason="the files guide runs onnxruntime")
    real = ember.datasets.MNIST
    monkeypatch.setattr(ember.datasets, "MNIST", lambda train=True, **kw: Subset(real(train=train, **kw), range(512)))
    monkeypatch.chdir(tmp_path)
    ns = {}
    for path in (README, FILES_GUIDE):
        for code in _blocks(path):
            exec(compile(code, path, "exec"), ns)
    assert ns["trainer"].epoch >= 1 and (tmp_path / "model.onnx").exists()


def test_readme_is_a_front_page():
    # about 150 lines, no development history, every relative link points at a file that exists
    text = open(README, encoding="utf-8").read()
    assert len(text.splitlines()) <= 170
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert os.path.exists(os.path.join(ROOT, target)), f"README links to a missing file: {target}"
