"""``ember train`` on Tiny Shakespeare (a small file written here, a tiny GPT, 20 steps), then
``ember evaluate`` and ``ember generate`` on the run."""
import contextlib
import io
import json
import math
import re

import pytest

import ember
from ember.cli import main

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 60
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16", "--batch-size", "8",
        "--steps", "20", "--eval-interval", "10", "--eval-batches", "4", "--seed", "1"]


def _run(argv):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    (d / "tinyshakespeare").mkdir()
    (d / "tinyshakespeare" / "input.txt").write_text(TEXT)
    return d


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "gpt"
    code, printed = _run(["train", "--dataset", "tinyshakespeare", "--model", "gpt", "--data-dir", str(data_dir),
                          "--out", str(out)] + TINY)
    assert code == 0
    return out, printed.splitlines()


def test_train_prints_progress_and_ends_with_the_val_loss(trained):
    out, lines = trained
    assert lines[0].startswith("gpt (") and "20 steps of 8 x 16" in lines[0]
    assert lines[1].startswith("step 10/20: loss ") and lines[2].startswith("step 20/20: loss ")
    m = re.fullmatch(r"val loss: (\d+\.\d{4})", lines[-1])
    assert m and float(m.group(1)) < math.log(len(set(TEXT)))  # it learned something in 20 steps


def test_the_run_folder(trained):
    out, lines = trained
    config = json.loads((out / "config.json").read_text())
    assert config["vocab"] == "".join(sorted(set(TEXT))) and config["dataset"] == "tinyshakespeare"
    assert config["model"]["name"] == "gpt" and config["model"]["n_embd"] == 32
    assert config["train"]["steps"] == 20 and config["train"]["optimizer"] == "adamw"
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [9, 19] and len(history["history"]["val_loss"]) == 2
    assert lines[-1] == f"val loss: {config['val']['loss']:.4f}"
    pytest.importorskip("matplotlib")
    assert (out / "curves.png").is_file()


def test_same_seed_same_val_loss_and_evaluate_agrees(trained, data_dir, tmp_path):
    out, lines = trained
    code, printed = _run(["train", "--dataset", "tinyshakespeare", "--data-dir", str(data_dir), "--quiet",
                          "--out", str(tmp_path / "again")] + TINY)
    assert code == 0 and printed.splitlines()[-1] == lines[-1]
    code, printed = _run(["evaluate", str(out), "--data-dir", str(data_dir)])
    assert code == 0 and printed.splitlines()[-1] == lines[-1]
    # without --data-dir: the folder the run recorded, where it found its text
    assert json.loads((out / "config.json").read_text())["data_dir"] == str(data_dir / "tinyshakespeare")
    code, printed = _run(["evaluate", str(out)])
    assert code == 0 and printed.splitlines()[-1] == lines[-1]


def test_generate(trained):
    out, _ = trained
    code, a = _run(["generate", str(out), "--prompt", "First", "--max-new-tokens", "30", "--top-k", "5",
                    "--seed", "3"])
    assert code == 0 and a.startswith("First") and len(a) == len("First") + 30 + 1  # print's newline
    assert _run(["generate", str(out), "--prompt", "First", "--max-new-tokens", "30", "--top-k", "5",
                 "--seed", "3"])[1] == a
    code, greedy = _run(["generate", str(out), "--prompt", "Sp", "--max-new-tokens", "20", "--temperature", "0"])
    assert code == 0 and len(greedy) == 23


@pytest.mark.parametrize("argv, message", [
    (["--prompt", "Café"], "the prompt's character 'é' (at position 3) is not in the vocabulary"),
    (["--prompt", ""], "--prompt must hold at least one character"),
    (["--top-k", "0"], "--top-k must be at least 1, got 0"),
])
def test_generate_errors(trained, argv, message, capsys):
    assert main(["generate", str(trained[0])] + argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("ember: error: " + message) and err.count("\n") == 1, err


@pytest.mark.parametrize("command", [["predict", "digit.png"], ["export", "m.onnx"]])
def test_image_commands_refuse_a_text_run(trained, command, capsys):
    cmd, *rest = command
    assert main([cmd, str(trained[0])] + rest) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ember: error: {cmd}: run ") and "is a language model (gpt on tinyshakespeare)" in err
    assert "ember generate" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "tinyshakespeare", "--model", "mlp"], "tinyshakespeare is text: train a language model on it"),
    (["--dataset", "mnist", "--model", "gpt"], "gpt is a language model: train it on a text dataset"),
    (["--dataset", "mnist", "--steps", "5"], "--steps applies to text datasets"),
    (["--dataset", "mnist", "--block-size", "32"], "--block-size applies to text datasets"),
    (["--dataset", "mnist", "--n-embd", "32"], "--n-embd applies to text datasets"),
    (["--dataset", "tinyshakespeare", "--epochs", "3"], "--epochs applies to image datasets; tinyshakespeare is text"),
    (["--dataset", "tinyshakespeare", "--subset", "100"], "--subset applies to image datasets"),
    (["--dataset", "tinyshakespeare", "--val-split", "0.1"], "--val-split applies to image datasets"),
    (["--dataset", "tinyshakespeare", "--steps", "0"], "--steps must be at least 1, got 0"),
])
def test_train_errors(argv, message, tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r")] + argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("ember: error: " + message), err


@pytest.mark.skipif(not hasattr(ember.nn, "LSTM"), reason="ember.nn.LSTM is not in this ember yet")
def test_lstm_trains_and_generates(data_dir, tmp_path):
    out = tmp_path / "lstm"
    code, printed = _run(["train", "--dataset", "tinyshakespeare", "--model", "lstm", "--data-dir", str(data_dir),
                          "--out", str(out), "--n-layer", "1", "--n-embd", "32", "--block-size", "16",
                          "--batch-size", "8", "--steps", "5", "--eval-batches", "2"])
    assert code == 0 and re.fullmatch(r"val loss: \d+\.\d{4}", printed.splitlines()[-1])
    code, text = _run(["generate", str(out), "--prompt", "All", "--max-new-tokens", "10"])
    assert code == 0 and text.startswith("All") and len(text) == 14
