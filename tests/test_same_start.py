"""benchmarks/accuracy/same_start.py: one PyTorch script, run under PyTorch and under
``ember run`` from the same start, reports the same first losses."""
import textwrap

import pytest

from benchmarks.accuracy import same_start

SCRIPT = '''
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(1)
    x = torch.randn(96, 6)                       # data drawn with the public random functions
    y = torch.randint(0, 3, (96,))
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.25), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    for epoch in range(3):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch} loss {loss.item():.6f}")
'''


@pytest.fixture
def script(tmp_path):
    p = tmp_path / "train.py"
    p.write_text(textwrap.dedent(SCRIPT))
    return str(p)


def test_same_start_losses_agree(torch, script):
    # the script runs 3 epochs of 3 batches; it is stopped after the 6th backward()
    r = same_start.compare(script, [], losses=6, stop_after=6)
    assert (r["torch_rc"], r["ember_rc"]) == (0, 0), r["ember_stderr"]
    assert len(r["torch_losses"]) == len(r["ember_losses"]) == 6
    assert r["compared"] == 6 and r["ok"], (r["torch_losses"], r["ember_losses"])
    assert r["max_rel"] < 1e-5
    # the two epochs shuffle differently (the replay keeps each epoch's order), the dropout
    # masks are PyTorch's, and what the script printed agrees too
    assert r["torch_losses"][:3] != r["torch_losses"][3:]
    assert r["torch_printed"] == pytest.approx(r["ember_printed"], rel=1e-5)


def test_a_draw_pytorch_did_not_make_is_an_error(torch, tmp_path):
    # a program that draws differently on ember cannot be compared: the replay says where
    p = tmp_path / "diverge.py"
    p.write_text(textwrap.dedent('''
        import torch
        w = torch.randn(3, requires_grad=True)
        if "ember" in torch.__version__:
            torch.randn(3)
        (w * w).sum().backward()
    '''))
    r = same_start.compare(str(p), [])
    assert r["torch_rc"] == 0 and r["ember_rc"] == 1
    assert "ember called randn more often than PyTorch (1 times)" in r["ember_stderr"]
    assert not r["ok"]
