"""ONNX export: every supported layer, exported, passes onnx.checker and gives ember's outputs
in onnxruntime (atol 1e-5) at batch sizes 1 and 37 (dynamic batch)."""
import numpy as np
import pytest

import ember
from ember import nn

onnx = pytest.importorskip("onnx", reason="onnx not installed: pip install 'ember[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install onnxruntime")


def _roundtrip(model, example, tmp_path, batches=(1, 37), atol=1e-5, **kw):
    path = tmp_path / "model.onnx"
    proto = ember.onnx.export(model, path, example, **kw)
    onnx.checker.check_model(onnx.load(str(path)))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    r = np.random.default_rng(3)
    for n in batches:
        if example.dtype.kind == "f":
            x = r.standard_normal((n,) + example.shape[1:]).astype(example.dtype)
        else:
            x = r.integers(0, 10, (n,) + example.shape[1:]).astype(example.dtype)
        with ember.no_grad():
            want = model(x).data
        got = sess.run(None, {"input": x})[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=atol, rtol=1e-4)
    return proto


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.LayerNorm(16), nn.GELU())
        self.heads = nn.ModuleList([nn.Linear(16, 4), nn.Linear(16, 4)])
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        h = self.drop(self.body(x))
        return nn.functional.log_softmax(self.heads[0](h) * 0.5 + self.heads[1](h).tanh(), dim=1)


ACTS = [nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Sigmoid(),
        nn.Tanh(), nn.Softplus(), nn.Softplus(beta=2.0), nn.Softmax(dim=1), nn.LogSoftmax(dim=1)]


@pytest.mark.parametrize("act", ACTS, ids=lambda a: repr(a))
def test_mlp_with_each_activation(act, tmp_path):
    model = nn.Sequential(nn.Linear(5, 7), act, nn.Linear(7, 3))
    _roundtrip(model, np.zeros((2, 5), np.float32), tmp_path)


def test_nested_modules_layernorm_dropout(tmp_path):
    _roundtrip(Nested(), np.zeros((4, 6), np.float32), tmp_path)


def test_batchnorm1d_eval_uses_running_stats(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    model.train()
    for _ in range(3):
        model(np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32))
    _roundtrip(model, np.zeros((2, 4), np.float32), tmp_path)


def test_embedding(tmp_path):
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    _roundtrip(model, np.zeros((2, 3), np.int64), tmp_path)


def test_embedding_with_padding_idx_in_the_example(tmp_path):
    # the example holds padding_idx, so the trace records where(pad, y.detach(), y): the
    # indices must stay the graph input, not the example's values baked in as a constant
    model = nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2))
    proto = _roundtrip(model, np.zeros((2, 3), np.int64), tmp_path)
    assert [n.op_type for n in proto.graph.node][0] == "Gather"
    assert {i.name for i in proto.graph.initializer} == {"0.weight", "2.weight", "2.bias"}


def test_weights_are_named_initializers(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    proto = ember.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, 3), np.float32))
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias"} <= names
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_static_batch(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    proto = ember.onnx.export(model, tmp_path / "m.onnx", np.zeros((5, 3), np.float32), dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 5


def test_unmapped_op_is_named(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return ember.var(x, axis=1)

    with pytest.raises(ember.onnx.ExportError, match="'Var'"):
        ember.onnx.export(Odd(), tmp_path / "m.onnx", np.zeros((2, 3), np.float32))
    assert not (tmp_path / "m.onnx").exists()


def test_keras_mnist_convnet(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    _roundtrip(model, np.zeros((1, 1, 28, 28), np.float32), tmp_path)


def test_conv_variants_pools_batchnorm(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding="same", groups=4, dilation=2), nn.AvgPool2d(2),
        nn.Conv2d(8, 6, (3, 1), padding=(1, 0)), nn.MaxPool2d(3, stride=1, padding=1),
        nn.AvgPool2d(3, stride=1, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4), nn.Softmax(dim=1),
    )
    model.train()
    model(np.random.default_rng(0).standard_normal((8, 3, 16, 16)).astype(np.float32))  # move running stats
    _roundtrip(model, np.zeros((2, 3, 16, 16), np.float32), tmp_path)


def test_conv1d_and_pool1d(tmp_path):
    model = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.AvgPool1d(2), nn.Flatten(),
                          nn.Linear(16, 3))
    _roundtrip(model, np.zeros((2, 2, 16), np.float32), tmp_path)


def test_export_takes_pytorchs_argument_order_and_keywords(tmp_path, torch):
    # torch.onnx.export(model, args, f, input_names=, output_names=, dynamic_axes=, opset_version=)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    path = tmp_path / "m.onnx"
    proto = ember.onnx.export(model, (ember.tensor(x),), path, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13,
                              export_params=True, do_constant_folding=True)
    assert proto.opset_import[0].version == 13
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x5 = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    with ember.no_grad():
        want = model(x5).numpy()
    np.testing.assert_allclose(sess.run(["y"], {"x": x5})[0], want, atol=1e-6)
    # without dynamic_axes entries for axis 0 the batch is fixed, as PyTorch makes it
    ember.onnx.export(model, ember.tensor(x), tmp_path / "fixed.onnx", dynamic_axes={})
    dims = onnx.load(str(tmp_path / "fixed.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3]


def test_export_refuses_what_it_cannot_honour(tmp_path):
    model = nn.Linear(3, 4)
    x = ember.zeros(2, 3)
    with pytest.raises(ember.onnx.ExportError, match=r"dynamic_axes\['input'\] = \[1\]: only axis 0"):
        ember.onnx.export(model, x, tmp_path / "m.onnx", dynamic_axes={"input": {1: "width"}})
    with pytest.raises(ember.onnx.ExportError, match="one input"):
        ember.onnx.export(model, (x, x), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="unexpected keyword arguments: training"):
        ember.onnx.export(model, x, tmp_path / "m.onnx", training=True)
    with pytest.raises(TypeError, match="no file to write"):
        ember.onnx.export(model, x)
