"""Run folders and the ``ember`` command under attack (issue #24): a run folder is replaced as a
whole or not at all (also when the writer is killed with SIGKILL), an existing run needs
--overwrite, config.json is checked against the weights before a model is built, and every
malformed config, image or argument gets one line naming the file, the key or the image."""
import contextlib
import copy
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from ember.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--model", "mlp", "--epochs", "1", "--subset", "64", "--batch-size", "64", "--quiet"]


def _main(argv, capsys):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", *TINY, "--seed", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture
def run(trained, tmp_path):
    """A copy of the trained run of this test's own."""
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture(scope="module")
def digit(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "digit.npy"
    np.save(path, np.zeros((28, 28), np.uint8))
    return path


def _siblings(run):
    return sorted(e for e in os.listdir(run.parent) if e != run.name)


# ----- writing a run folder -----
def test_an_existing_run_is_replaced_only_with_overwrite(run, capsys):
    before = _snapshot(run)
    code, _, err = _main(["train", *TINY, "--seed", "2", "--out", run], capsys)
    assert code == 1 and f"--out {run} already holds a run (config.json" in err and "--overwrite" in err, err
    assert err.count("\n") == 1 and _snapshot(run) == before
    code, _, err = _main(["train", *TINY, "--seed", "2", "--out", run, "--overwrite"], capsys)
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 2
    assert _snapshot(run)["model.safetensors"] != before["model.safetensors"]
    assert _siblings(run) == []  # no temporary or old folder left beside it


def test_overwrite_never_removes_files_that_are_not_the_runs(run, capsys):
    (run / "notes.txt").write_text("mine")
    code, _, err = _main(["train", *TINY, "--out", run, "--overwrite"], capsys)
    assert code == 1 and "not part of an ember run (notes.txt)" in err, err
    assert (run / "notes.txt").read_text() == "mine"


def test_out_that_is_a_file_or_a_folder_of_other_files(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    code, _, err = _main(["train", *TINY, "--out", tmp_path / "f"], capsys)
    assert code == 1 and f"--out {tmp_path / 'f'} is a file" in err, err
    code, _, err = _main(["train", *TINY, "--out", tmp_path], capsys)  # holds f: not a run
    assert code == 1 and "already holds files (f)" in err, err
    code, _, err = _main(["train", *TINY, "--out", ""], capsys)  # not the current folder
    assert code == 1 and "--out must name a folder for the run, got an empty string" in err, err


def test_a_language_model_run_is_not_replaced_either(run, capsys):
    code, _, err = _main(["train", "--dataset", "tinyshakespeare", "--steps", "1", "--out", run], capsys)
    assert code == 1 and f"--out {run} already holds a run" in err, err


def _child(code, timeout=120):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)


def test_a_kill_between_the_weights_and_the_config_leaves_the_old_run(run, capsys):
    before = _snapshot(run)
    # the child trains into the run and SIGKILLs itself right after writing the new weights
    r = _child(f"""
import os, signal, ember
from ember import cli
save = ember.save
def save_then_die(obj, f, *a, **k):
    save(obj, f, *a, **k)
    if str(f).endswith(".safetensors"):
        os.kill(os.getpid(), signal.SIGKILL)
ember.save = save_then_die
cli.main({["train", *TINY, "--seed", "3", "--overwrite", "--out", str(run)]!r})
""")
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert _snapshot(run) == before  # the old run, complete: not the new weights beside the old config
    stale = _siblings(run)
    assert len(stale) == 1 and stale[0].startswith(".run.tmp-"), stale
    # the next write removes the dead writer's temporary folder
    assert _main(["train", *TINY, "--seed", "3", "--overwrite", "--out", run], capsys)[0] == 0
    assert _siblings(run) == [] and json.loads((run / "config.json").read_text())["train"]["seed"] == 3


def test_a_kill_between_the_two_renames_leaves_the_old_run_to_come_back(run, digit, capsys):
    """Without RENAME_EXCHANGE the swap is two renames; a crash between them leaves the old run
    aside, and the next command on the run puts it back."""
    before = _snapshot(run)
    r = _child(f"""
import os, signal
from ember import _run_folder as rf
rf._exchange = lambda a, b: False  # as on a file system without it
rename, calls = os.rename, []
def rename_then_die(a, b):
    rename(a, b)
    calls.append(b)
    if len(calls) == 1:  # the old run moved aside, the new one not yet in place
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = rename_then_die
w = rf.RunWriter({str(run)!r}, overwrite=True)
open(w.path("config.json"), "w").write("{{}}")
w.commit()
""", timeout=60)
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not run.exists() and [e[:9] for e in _siblings(run)] == [".run.old-", ".run.tmp-"]
    code, out, err = _main(["predict", run, digit], capsys)
    assert code == 0, err
    assert _snapshot(run) == before and _siblings(run) == []


# ----- reading a run folder: config.json against the weights -----
def _edit(run, change):
    path = run / "config.json"
    config = change(json.loads(path.read_text()))
    path.write_text(config if isinstance(config, str) else json.dumps(config))


def _set(section, key, value):
    def change(c):
        c = copy.deepcopy(c)
        (c[section] if section else c)[key] = value
        return c
    return change


def _drop(key):
    return lambda c: {k: v for k, v in c.items() if k != key}


def test_a_config_larger_than_its_weights_is_refused_before_building(run, digit, capsys, monkeypatch):
    _edit(run, _set("model", "hidden", [100000, 100000]))  # 37 GiB of parameters
    import ember.models

    def no_build(config):
        raise AssertionError("the model was built before the config was checked against the weights")

    monkeypatch.setattr(ember.models, "build_model", no_build)
    tracemalloc.start()
    try:
        code, _, err = _main(["predict", run, digit], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and err == (f"ember: error: {run / 'config.json'}: model.hidden[0] is 100000, but "
                                 "model.safetensors's 1.weight has shape (256, 784) where the config implies "
                                 "(100000, 784)\n"), err
    assert peak < 50e6  # the weights file's size, not the config's


BAD_CONFIGS = [  # (change, what the one line must say after the file's name)
    (lambda c: [1, 2], "config.json must hold a JSON object, got list [1, 2]"),
    (lambda c: "{not json", "config.json is not valid JSON (Expecting property name"),
    (_drop("model"), "config.json: model must be a JSON object with a 'name' key, got NoneType"),
    (_set(None, "model", [1]), "config.json: model must be a JSON object with a 'name' key, got list [1]"),
    (_set("model", "name", "resnet"), "config.json: model.name must be one of mlp, cnn, gpt, lstm, got 'resnet'"),
    (_set("model", "bogus", 1), "config.json: model: mlp has no option 'bogus'; its options: in_features"),
    (_set("model", "hidden", "abc"), "config.json: model.hidden must be a list of ints >= 1, got 'abc'"),
    (_set("model", "init", 5), "config.json: model.init must be one of 'pytorch', 'keras', got 5"),
    (_set("model", "in_features", 10 ** 10), "config.json: input.shape [1, 28, 28] has 784 values, but "
                                             "model.in_features is 10000000000"),
    (_set("model", "num_classes", 11), "config.json: classes must be a list of 11 class names (model.num_classes)"),
    (_set("model", "hidden", [256]), "config.json: model mlp (hidden [256]) does not match its weights: "
                                     "model.safetensors holds 5.weight, 5.bias, which the config has no place for"),
    (_set(None, "classes", []), "config.json: classes must be a list of 10 class names (model.num_classes), got []"),
    (_set(None, "classes", {"a": 1}), "config.json: classes must be a list of 10 class names"),
    (_drop("input"), "config.json: missing key input (expected an object with shape, mean and std)"),
    (_set("input", "shape", "28"), "config.json: input.shape must be [channels, height, width] of ints >= 1, "
                                   'got "28"'),
    (_set("input", "shape", [1, 100000, 100000]), "config.json: input.shape [1, 100000, 100000] has 10000000000 "
                                                  "values, but model.in_features is 784"),
    (_set("input", "std", 0), "config.json: input.std must be a positive finite number, got 0"),
    (_set("input", "std", "x"), 'config.json: input.std must be a positive finite number, got "x"'),
    (_set("input", "mean", None), "config.json: input.mean must be a finite number, got null"),
    (_set(None, "weights", "/etc/passwd"), 'config.json: weights must be a .safetensors or .npz file name in the '
                                           'run folder, got "/etc/passwd"'),
    (_set(None, "weights", "../other/model.safetensors"), "config.json: weights must be a file inside the run "
                                                          'folder, got "../other/model.safetensors"'),
    (_set(None, "weights", 3), "config.json: weights must be a .safetensors or .npz file name"),
    (_set(None, "weights", "gone.safetensors"), "config.json: weights 'gone.safetensors': No such file"),
    (_set(None, "version", 7), "config.json: version 7 is not one this ember reads (version 1)"),
    (_set(None, "format", "x"), "config.json is not an ember run config (format \"x\", expected 'ember.run')"),
    (_set(None, "dataset", ["x"]), 'config.json: dataset must be a dataset name, got ["x"]'),
]


@pytest.mark.parametrize("change, message", BAD_CONFIGS, ids=[m[:40] for _, m in BAD_CONFIGS])
def test_a_bad_config_is_one_line_naming_the_file_and_the_key(run, digit, change, message, capsys):
    _edit(run, change)
    code, out, err = _main(["predict", run, digit], capsys)
    assert code == 1 and out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith(f"ember: error: {run}/{message}"), err


def test_weights_that_are_not_finite_are_refused(run, digit, capsys):
    import ember

    state = ember.load(str(run / "model.safetensors"))
    state["3.weight"][0, 0] = np.nan
    ember.save(state, str(run / "model.safetensors"))
    code, _, err = _main(["predict", run, digit], capsys)
    assert code == 1 and f"{run / 'model.safetensors'}: 3.weight holds NaN or infinite values" in err, err


def test_a_config_from_another_run_names_the_mismatch(run, digit, capsys):
    _edit(run, _set("model", "num_classes", 12))
    _edit(run, _set(None, "classes", [str(i) for i in range(12)]))
    code, _, err = _main(["predict", run, digit], capsys)
    assert code == 1 and "config.json: model.num_classes is 12, but model.safetensors's 5.weight has shape " \
                         "(10, 128) where the config implies (12, 128)" in err, err


# ----- images and outputs -----
def _png(path, size=(28, 28)):
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(np.full(size[::-1], 128, np.uint8)).save(path)


def _header_only(path):
    with open(path, "wb") as f:  # a header claiming 37 GiB, and no data
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)})


def _nan(path):
    a = np.zeros((28, 28), np.float32)
    a[3, 4] = np.nan
    np.save(path, a)


def _inf(path):
    np.save(path, np.full((28, 28), np.inf, np.float32))


def _truncated_png(path):
    _png(path, (64, 64))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _truncated_npy(path):
    np.save(path, np.zeros((28, 28), np.float32))
    path.write_bytes(path.read_bytes()[:500])


BAD_IMAGES = [  # (name, make it, what the line must say after "ember: error: ")
    ("empty.png", lambda p: p.write_bytes(b""), "cannot read image {p}: cannot identify image file"),
    ("empty.npy", lambda p: p.write_bytes(b""), "cannot read {p} as a .npy array: the file is empty"),
    ("text.png", lambda p: p.write_text("not an image"), "cannot read image {p}: cannot identify image file"),
    ("text.npy", lambda p: p.write_text("not an array at all"), "cannot read {p} as a .npy array: "),
    ("half.png", _truncated_png, "cannot read image {p}: image file is truncated"),
    ("half.npy", _truncated_npy, "{p}: its header says shape (28, 28) (3136 bytes), but the file holds 372 bytes"),
    ("huge.npy", _header_only, "{p}: expected an image of 1x28x28 = 784 values, got shape (100000, 100000)"),
    ("small.npy", lambda p: np.save(p, np.zeros((5, 5))), "{p}: expected an image of 1x28x28 = 784 values"),
    ("objects.npy", lambda p: np.save(p, np.array([None] * 784), allow_pickle=True),
     "{p}: expected a numeric image array, got dtype object"),
    ("nan.npy", _nan, "{p}: the image holds 1 NaN and 0 infinite values; expected finite pixel values"),
    ("inf.npy", _inf, "{p}: the image holds 0 NaN and 784 infinite values"),
    ("folder.png", lambda p: p.mkdir(), "cannot read image {p}: it is not a regular file"),
    ("missing.png", lambda p: None, "cannot read image {p}: no such file"),
]


@pytest.mark.parametrize("name, make, message", BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_a_bad_image_is_one_line_naming_it(trained, tmp_path, name, make, message, capsys):
    path = tmp_path / name
    make(path)
    code, out, err = _main(["predict", trained, path], capsys)
    assert code == 1 and out == "" and err.count("\n") == 1, (out, err)
    assert err.startswith("ember: error: " + message.format(p=path)), err


def test_an_image_that_normalizes_to_infinity_is_refused(run, digit, capsys):
    _edit(run, _set("input", "std", 1e-38))  # finite and positive, but (0 + 10) / 1e-38 overflows float32
    _edit(run, _set("input", "mean", -10.0))
    code, out, err = _main(["predict", run, digit], capsys)
    assert code == 1 and out == "" and err == (f"ember: error: {digit}: normalized by {run}/config.json's input.mean "
                                               "-10.0 and input.std 1e-38, the image is not finite (overflow)\n"), err


def test_an_output_that_overflows_is_refused(run, digit, capsys):
    import ember

    state = ember.load(str(run / "model.safetensors"))
    state["1.weight"][:] = -1e37  # finite weights whose first layer overflows on the (negative) blank image
    ember.save(state, str(run / "model.safetensors"))
    code, out, err = _main(["predict", run, digit], capsys)
    assert code == 1 and out == "" and err.startswith(f"ember: error: {digit}: the model's output is not finite ("), err
    assert f"check the run's weights and {run}/config.json's input.mean and input.std" in err


@pytest.mark.parametrize("command, message", [
    (["export", "{run}", "{tmp}/no/such/m.onnx"], "cannot write {tmp}/no/such/m.onnx: the folder {tmp}/no/such "
                                                  "does not exist"),
    (["evaluate", "{run}"], "{run}/config.json: input.std must be a positive finite number, got 0"),
    (["export", "{run}", "{tmp}/m.onnx"], "{run}/config.json: input.std must be a positive finite number, got 0"),
    (["generate", "{run}"], "run '{run}' is not a language model run"),
])
def test_the_other_commands_check_too(run, tmp_path, command, message, capsys):
    if "std" in message:
        _edit(run, _set("input", "std", 0))
    code, _, err = _main([a.format(run=run, tmp=tmp_path) for a in command], capsys)
    assert code == 1 and err.startswith("ember: error: " + message.format(run=run, tmp=tmp_path)), err


# ----- language model runs -----
@pytest.fixture
def text_run(tmp_path):
    """A tiny GPT run made by hand (the config ``ember train`` writes, untrained weights)."""
    import ember
    from ember.models import build_model, model_config

    run = tmp_path / "gpt"
    run.mkdir()
    cfg = model_config("gpt", vocab_size=5, block_size=8, n_layer=1, n_head=2, n_embd=8)
    ember.save(dict(build_model(cfg).state_dict()), str(run / "model.safetensors"))
    config = {"format": "ember.run", "version": 1, "model": cfg, "weights": "model.safetensors",
              "dataset": "tinyshakespeare", "data_dir": None, "vocab": "\n abc",
              "train": {"block_size": 8, "batch_size": 2, "eval_batches": 1, "seed": 0}}
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.mark.parametrize("change, message", [
    (None, None),
    (_set(None, "vocab", "ab"), "config.json: vocab must be a string of 5 distinct characters (model.vocab_size)"),
    (_set(None, "vocab", ["a"] * 5), "config.json: vocab must be a string of 5 distinct characters"),
    (_set("model", "n_layer", 2), "config.json: model gpt (n_layer 2, bias false) does not match its weights: "
                                  "model.safetensors lacks blocks.1.ln_1.weight, blocks.1.attn.qkv.weight, "
                                  "blocks.1.attn.proj.weight, ...\n"),
    (_set("model", "n_embd", 16), "config.json: model.n_embd is 16, but model.safetensors's tok_emb.weight has "
                                  "shape (5, 8) where the config implies (5, 16)"),
    (_set("model", "n_head", 3), "config.json: model.n_embd (8) must be divisible by"),
    (_set("model", "dropout", 2), "config.json: model.dropout must be a number in [0, 1), got 2"),
    (_set("model", "bias", "no"), "config.json: model.bias must be true or false, got 'no'"),
    (_drop("train"), "config.json: missing key train"),
    (_set("train", "block_size", 99), "config.json: train.block_size 99 is longer than model.block_size 8"),
])
def test_a_language_model_run_is_checked(text_run, change, message, capsys):
    if change is not None:
        _edit(text_run, change)
    code, out, err = _main(["generate", text_run, "--prompt", "ab", "--max-new-tokens", "3"], capsys)
    if message is None:
        assert code == 0 and out.startswith("ab"), err
    else:
        assert code == 1 and err.startswith(f"ember: error: {text_run}/" + message), err


# ----- the shapes a config implies, without building the model -----
@pytest.mark.parametrize("name, options", [
    ("mlp", {}), ("mlp", {"hidden": []}), ("mlp", {"in_features": 7, "hidden": [3, 4, 5], "num_classes": 2}),
    ("cnn", {}), ("cnn", {"in_channels": 3, "image_size": 17, "num_classes": 4}),
    ("gpt", {}), ("gpt", {"vocab_size": 7, "block_size": 5, "n_layer": 2, "n_head": 2, "n_embd": 16, "bias": True}),
    ("lstm", {}), ("lstm", {"vocab_size": 9, "embedding_dim": 5, "hidden_size": 6, "num_layers": 3}),
])
def test_parameter_shapes_are_the_built_models(name, options):
    from ember.models import build_model, check_config, model_config, parameter_shapes

    config = check_config(model_config(name, **options))
    built = {k: tuple(v.shape) for k, v in build_model(config).state_dict().items()}
    assert {k: tuple(size for size, _ in dims) for k, dims in parameter_shapes(config).items()} == built


@pytest.mark.parametrize("image_size, in_channels, message", [
    (28, 1, None),
    (10000, 1, "config.json: model.image_size is 10000, but model.safetensors's 8.weight has shape (10, 1600) "
               "where the config implies (10, 399360256)"),
    (28, 3, "config.json: model.in_channels is 3, but model.safetensors's 0.weight has shape (32, 1, 3, 3) where "
            "the config implies (32, 3, 3, 3)"),
])
def test_a_cnn_config_is_checked_against_its_weights(tmp_path, digit, image_size, in_channels, message, capsys):
    """A hand-made cnn run whose config claims bigger images (16 GB of weights) or more channels."""
    import ember
    from ember.models import build_model, model_config

    run = tmp_path / "cnn"
    run.mkdir()
    ember.save(dict(build_model(model_config("cnn")).state_dict()), str(run / "model.safetensors"))
    config = {"format": "ember.run", "version": 1, "weights": "model.safetensors", "dataset": "mnist",
              "model": model_config("cnn", image_size=image_size, in_channels=in_channels),
              "classes": [str(i) for i in range(10)],
              "input": {"shape": [in_channels, image_size, image_size], "mean": 0.13, "std": 0.31}}
    (run / "config.json").write_text(json.dumps(config))
    code, out, err = _main(["predict", run, digit], capsys)
    if message is None:
        assert code == 0 and out.startswith(f"{digit}: "), err
    else:
        assert code == 1 and err == f"ember: error: {run}/{message}\n", err
