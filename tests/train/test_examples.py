"""The examples stay runnable: each imports what it uses and parses its arguments (training
them to accuracy is not a unit test; their numbers are in the examples' notes)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("name", ["mnist_mlp.py", "mnist_cnn.py", "fashion_mnist_cnn.py"])
def test_example_starts(name):
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), "--help"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--epochs" in r.stdout
