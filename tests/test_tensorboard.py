"""ember.utils.tensorboard: PyTorch's SummaryWriter, written by tensorboardX, takes ember tensors."""
import glob
import struct

import pytest

import ember

tb = pytest.importorskip("ember.utils.tensorboard", reason="tensorboardX not installed")


def _events(log_dir):
    """The Event records of the writer's file (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    (path,) = glob.glob(f"{log_dir}/events.out.tfevents.*")
    data, out, i = open(path, "rb").read(), [], 0
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        out.append(Event.FromString(data[i + 12:i + 12 + n]))
        i += 12 + n + 4
    return out


def test_scalars_and_histograms_from_ember_tensors(tmp_path):
    w = tb.SummaryWriter(log_dir=str(tmp_path))
    loss = ember.tensor(0.25, requires_grad=True) * 2
    w.add_scalar("Loss/train", loss, global_step=3)       # a 0-d tensor, as PyTorch users pass it
    w.add_scalar("Loss/test", 1.5, 4)
    w.add_scalars("run", {"a": ember.tensor(1.0), "b": 2.0}, 5)
    w.add_histogram("weights", ember.randn(100), 6)
    w.add_text("note", "hello", 7)
    w.close()
    vals = {(v.tag, e.step): v for e in _events(tmp_path) for v in e.summary.value}
    assert vals[("Loss/train", 3)].simple_value == pytest.approx(0.5)
    assert vals[("Loss/test", 4)].simple_value == pytest.approx(1.5)
    assert vals[("weights", 6)].histo.num == 100


def test_add_graph_says_why_not(tmp_path):
    w = tb.SummaryWriter(log_dir=str(tmp_path))
    with pytest.raises(NotImplementedError, match="ember.onnx"):
        w.add_graph(ember.nn.Linear(2, 2), ember.zeros(1, 2))
    w.close()


def test_torch_name_resolves_under_ember_run():
    from ember import _torch_shim

    with _torch_shim.installed():
        from torch.utils.tensorboard import SummaryWriter
    assert SummaryWriter is tb.SummaryWriter
