"""The MNIST MLP and CNN trained by ``ember train``, exported by ``ember export``: they pass
onnx.checker and give ember's outputs in onnxruntime (atol 1e-5) at batch sizes 1 and 37."""
import json

import numpy as np
import pytest

from ember import cli

onnx = pytest.importorskip("onnx", reason="onnx not installed: pip install 'ember[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed")


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_train_export_run(model, tmp_path, capsys):
    run = tmp_path / model
    assert cli.main(["train", "--model", model, "--epochs", "1", "--subset", "512", "--quiet", "--out", str(run)]) == 0
    assert cli.main(["export", str(run), str(tmp_path / "m.onnx")]) == 0
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")))
    config = json.loads((run / "config.json").read_text())
    trained = cli._load_model(str(run), config)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    from ember.datasets import MNIST

    images = MNIST(train=False).data
    for n in (1, 37):
        x = ((images[:n] - config["input"]["mean"]) / config["input"]["std"]).astype(np.float32)
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], trained(x).data, atol=1e-5)


def test_export_missing_run_is_one_line(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "nope"), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ember: error:") and "Traceback" not in err
