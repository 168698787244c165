"""Audit of issue #22's command line: `ember train --dataset tinyshakespeare --model gpt` uses the
published CPU recipe by default, and a 50-step run of it on the shared copy ends with its val loss."""
import contextlib
import io
import json
import math
import re
from pathlib import Path

import pytest

import ember
from ember.cli import main
from ember.models import build_model, model_config

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
needs_copy = pytest.mark.skipif(not (SHARED / "tinyshakespeare" / "input.txt").is_file(),
                                reason="the shared Tiny Shakespeare copy is not here")


def test_the_defaults_are_the_recipe(monkeypatch, tmp_path):
    import ember._cli_text as text

    seen = {}
    monkeypatch.setattr(text, "cmd_train_text", lambda args: seen.update(vars(args)))
    assert main(["train", "--dataset", "tinyshakespeare", "--out", str(tmp_path / "r")]) == 0
    want = dict(model="gpt", batch_size=12, block_size=64, steps=2000, lr=1e-3, optimizer="adamw",
                weight_decay=0.1, warmup_steps=100)
    assert {k: seen[k] for k in want} == want
    assert text.BETAS == (0.9, 0.99) and text.GRAD_CLIP == 1.0
    assert text.lr_factor(1999, 2000, 100) * seen["lr"] == pytest.approx(1e-4)  # cosine down to 1e-4
    cfg = model_config("gpt", vocab_size=65)
    assert {k: cfg[k] for k in ("n_layer", "n_head", "n_embd", "block_size", "dropout")} == \
        dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0)
    model = build_model(cfg)
    assert model.head.weight is model.tok_emb.weight  # weight-tied head
    assert not any(isinstance(m, ember.nn.Dropout) and m.p > 0 for m in model.modules())


@needs_copy
def test_a_50_step_default_run_on_the_shared_copy(tmp_path):
    out = tmp_path / "gpt"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["train", "--dataset", "tinyshakespeare", "--model", "gpt", "--data-dir", str(SHARED),
                     "--out", str(out), "--steps", "50", "--seed", "0"])
    lines = printed.getvalue().splitlines()
    assert code == 0 and "vocabulary 65" in lines[0] and "50 steps of 12 x 64" in lines[0]
    m = re.fullmatch(r"val loss: (\d+\.\d{4})", lines[-1])
    assert m and float(m.group(1)) < math.log(65) - 0.5  # well below the uniform guess after 50 steps
    config = json.loads((out / "config.json").read_text())
    assert len(config["vocab"]) == 65 and config["model"]["n_embd"] == 128
    train = config["train"]
    assert train["betas"] == [0.9, 0.99] and train["grad_clip"] == 1.0 and train["weight_decay"] == 0.1
    assert train["min_lr"] == pytest.approx(1e-4) and train["batch_size"] == 12
    assert (out / "history.json").is_file() and (out / "curves.png").is_file()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["generate", str(out), "--prompt", "ROMEO:", "--max-new-tokens", "40", "--seed", "1"]) == 0
    text = printed.getvalue()
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 40 + 1


@needs_copy
def test_generate_refuses_a_character_outside_the_vocabulary(tmp_path, capsys):
    out = tmp_path / "lstm"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--dataset", "tinyshakespeare", "--model", "lstm", "--data-dir", str(SHARED),
                     "--out", str(out), "--steps", "2", "--eval-batches", "1", "--n-embd", "16"]) == 0
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "ROMEO~", "--max-new-tokens", "5"]) == 1
    err = capsys.readouterr().err
    assert "'~'" in err and "not in the vocabulary" in err


@needs_copy
def test_lr_batch_and_sizes_are_overridable(tmp_path):
    out = tmp_path / "small"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--dataset", "tinyshakespeare", "--data-dir", str(SHARED), "--out", str(out),
                     "--lr", "5e-4", "--batch-size", "4", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
                     "--block-size", "8", "--steps", "3", "--eval-batches", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["name"] == "gpt"
    assert {k: config["model"][k] for k in ("n_layer", "n_head", "n_embd", "block_size")} == \
        dict(n_layer=1, n_head=2, n_embd=16, block_size=8)
    train = config["train"]
    assert train["lr"] == 5e-4 and train["min_lr"] == pytest.approx(5e-5) and train["batch_size"] == 4
    assert train["steps"] == 3 and train["block_size"] == 8
