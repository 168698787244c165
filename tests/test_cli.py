"""The ``ember`` command: one quick MNIST run (256 images, 1 epoch), then evaluate and predict on it."""
import contextlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from ember.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick run shared by the tests: (its folder, the lines it printed)."""
    out = tmp_path_factory.mktemp("run") / "mnist-mlp"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["train", "--dataset", "mnist", "--model", "mlp", "--epochs", "1", "--subset", "256",
                     "--batch-size", "64", "--seed", "1", "--out", str(out)])
    assert code == 0
    return out, printed.getvalue().splitlines()


@pytest.fixture
def run_dir(trained):
    return trained[0]


def test_train_writes_the_run_and_ends_with_the_accuracy(run_dir, capsys):
    files = set(os.listdir(run_dir))
    assert {"config.json", "history.json"} <= files
    assert "model.safetensors" in files or "model.npz" in files
    pytest.importorskip("matplotlib")
    assert "curves.png" in files
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == {"name": "mlp", "in_features": 784, "hidden": [256, 128], "num_classes": 10,
                               "init": "pytorch"}
    assert config["train"]["epochs"] == 1 and config["dataset"] == "mnist"
    assert 0.5 < config["test"]["accuracy"] <= 1  # 256 images, one epoch: far from chance anyway


def test_train_output(trained):
    out = trained[1]
    assert out[0] == "mlp (235,146 parameters) on mnist: 256 training images, 10000 test images"
    assert out[1].startswith("Epoch 1/1 - 4 batches - ")  # not a terminal: a plain line per epoch
    assert re.fullmatch(r"test accuracy: 0\.\d{4}", out[-1])


def test_evaluate_prints_the_same_accuracy(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    config = json.loads((run_dir / "config.json").read_text())
    assert last == f"test accuracy: {config['test']['accuracy']:.4f}"


def test_predict_npy_and_png(run_dir, tmp_path, capsys):
    from ember.datasets import MNIST

    test = MNIST(train=False)
    img = (test.data[0, 0] * 255).round().astype(np.uint8)  # a 7
    np.save(tmp_path / "seven.npy", img)
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(255 - img).resize((56, 56)).save(tmp_path / "seven_dark_on_light.png")
    assert main(["predict", str(run_dir), str(tmp_path / "seven.npy"), str(tmp_path / "seven_dark_on_light.png"),
                 "--invert"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line in lines:
        m = re.fullmatch(r".*\.(npy|png): (\d) - \w+ \((0\.\d{4}|1\.0000)\)", line)
        assert m, line


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "resnet", "--out", "x"], "unknown model 'resnet'; valid names: mlp, cnn"),
    (["train", "--dataset", "cifar", "--out", "x"], "unknown dataset 'cifar'; valid names: mnist, fashion-mnist"),
    (["train", "--optimizer", "adma", "--out", "x"], "unknown optimizer 'adma'; valid names: sgd, adam, adamw"),
    (["train", "--epochs", "0", "--out", "x"], "--epochs must be at least 1, got 0"),
    (["evaluate", "no/such/run"], "run directory 'no/such/run' does not exist"),
])
def test_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("ember: error: " + message) and err.count("\n") == 1, err


def test_a_missing_dataset_says_where_it_looked(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err == (f"ember: error: mnist (train split) not found in {tmp_path}/mnist, {tmp_path}; pass --download "
                   "to fetch it, or --data-dir DIR for a folder that holds its files\n")


def test_predict_errors_name_the_file(run_dir, tmp_path, capsys):
    np.save(tmp_path / "small.npy", np.zeros((5, 5)))
    assert main(["predict", str(run_dir), str(tmp_path / "small.npy")]) == 1
    assert "small.npy: expected an image of 1x28x28 = 784 values, got shape (5, 5)" in capsys.readouterr().err


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="unknown model"):
        main(["train", "--model", "resnet", "--out", "x", "--debug"])


def test_python_dash_m_ember():
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "ember", "train", "--help"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and "--dataset" in r.stdout and "--out RUN_DIR" in r.stdout
