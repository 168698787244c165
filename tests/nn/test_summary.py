"""nn.summary: rows per leaf layer, totals, no side effects on the model."""
import io

import numpy as np

import ember.nn as nn
from ember.nn import Module


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))


def test_summary_table_rows_and_totals():
    buf = io.StringIO()
    text = nn.summary(_mlp(), (1, 28, 28), file=buf)
    assert buf.getvalue().rstrip("\n") == text
    lines = text.splitlines()
    rows = [ln for ln in lines if ln.startswith(("0 ", "1 ", "2 ", "3 ", "4 ", "5 "))]
    assert len(rows) == 6
    assert rows[0].split()[:3] == ["0", "(Flatten)", "(1,"] and rows[0].endswith(" 0")
    assert "(1, 256)" in rows[1] and rows[1].endswith("200,960")
    assert "(1, 256)" in rows[2] and rows[2].endswith("512")
    assert "(1, 10)" in rows[5] and rows[5].endswith("2,570")
    assert "Total params: 204,042" in lines
    assert "Trainable params: 204,042" in lines
    assert "Non-trainable params: 0" in lines


def test_summary_leaves_model_untouched():
    m = _mlp().train()
    m[5].requires_grad_(False)
    text = nn.summary(m, (784,), batch_size=4, file=False)
    assert "(4, 10)" in text and "Non-trainable params: 2,570" in text
    assert all(mod.training for mod in m.modules())
    assert int(m[2].num_batches_tracked) == 0 and np.all(np.asarray(m[2].running_mean) == 0)
    assert all("forward" not in mod.__dict__ for mod in m.modules())
    assert all(p.grad is None for p in m.parameters())


def test_summary_custom_module_and_int_input():
    class Tagger(Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(100, 8)
            self.out = nn.Linear(8, 5)
            self.temperature = nn.Parameter(np.ones(1, np.float32))

        def forward(self, idx):
            return self.out(self.emb(idx)) * self.temperature

    text = nn.summary(Tagger(), (7,), dtype=np.int64, file=False)
    assert "emb (Embedding)" in text and "(1, 7, 8)" in text and "(1, 7, 5)" in text
    assert "Tagger (Tagger)" in text  # its own parameter gets a row
    assert "Total params: 846" in text
