import json
import math

import numpy as np
import pytest

from ember.train import History


def test_append_pads_late_and_missing_keys_with_nan():
    h = History()
    h.append(0, {"loss": 1.0})
    h.append(1, {"loss": 0.5, "val_loss": 0.7})
    h.append(2, {"val_loss": 0.6})
    assert h.epoch == [0, 1, 2]
    assert h["loss"][:2] == [1.0, 0.5] and math.isnan(h["loss"][2])
    assert math.isnan(h["val_loss"][0]) and h["val_loss"][1:] == [0.7, 0.6]
    assert len(h) == 3 and "val_loss" in h


def test_json_round_trip_keeps_nan(tmp_path):
    h = History()
    h.append(0, {"loss": 1.0, "accuracy": 0.5})
    h.append(1, {"loss": float("nan"), "accuracy": 0.75})
    h.save(tmp_path / "history.json")
    raw = json.loads((tmp_path / "history.json").read_text())  # strict JSON: NaN written as null
    assert raw["history"]["loss"] == [1.0, None]
    back = History.load(tmp_path / "history.json")
    assert back.epoch == [0, 1] and back["accuracy"] == [0.5, 0.75] and math.isnan(back["loss"][1])
    assert History.from_dict(h.to_dict()).to_dict().keys() == h.to_dict().keys()


def test_from_dict_rejects_ragged_lists():
    with pytest.raises(ValueError, match="'loss' has 1 values for 2 epochs"):
        History.from_dict({"epoch": [0, 1], "history": {"loss": [1.0]}})


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for e in range(3):
        h.append(e, {"loss": 1 / (e + 1), "accuracy": 0.5 + e / 10, "val_loss": 1.2 / (e + 1),
                     "val_accuracy": 0.4 + e / 10, "lr": 0.001})
    h.plot(tmp_path / "curves.png")
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    img = Image.open(tmp_path / "curves.png")
    assert img.size[0] > 2 * img.size[1]  # two panels side by side: loss and accuracy
    assert np.asarray(img).std() > 0


def test_plot_of_an_empty_history_fails_clearly(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="empty"):
        History().plot(tmp_path / "x.png")
