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


@pytest.mark.parametrize("name", ["char_gpt.py", "char_lstm.py"])
def test_char_example_trains_and_samples(name, tmp_path):
    # a few steps on a small text of the dataset's layout: the loop runs, the sample is printed
    folder = tmp_path / "tinyshakespeare"
    folder.mkdir()
    (folder / "input.txt").write_text("ROMEO:\nBut soft, what light through yonder window breaks?\n\n" * 200)
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), "--data-dir", str(tmp_path),
                        "--steps", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[2].startswith("step 3: train loss ") and ", val loss " in lines[2]
    assert "ROMEO:" in r.stdout.split(lines[2], 1)[1]
