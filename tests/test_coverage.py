"""``python -m benchmarks.coverage``: PyTorch's public names per category and which ember has."""
import json
import sys

from benchmarks import coverage as cov


def test_known_names_land_where_they_should(torch):
    r = cov.coverage(("torch functions", "Tensor methods", "torch.nn modules", "torch.nn.functional", "torch.optim",
                      "torch.optim.lr_scheduler", "torch.utils.data"))
    assert "exp" in r["torch functions"]["ember"] and "matmul" in r["torch functions"]["ember"]
    assert "view" in r["Tensor methods"]["torch"] and "backward" in r["Tensor methods"]["ember"]
    assert "Linear" in r["torch.nn modules"]["ember"]
    assert "LazyLinear" in r["torch.nn modules"]["missing"]
    assert "relu" in r["torch.nn.functional"]["ember"] and "cross_entropy" in r["torch.nn.functional"]["ember"]
    assert "Adam" in r["torch.optim"]["ember"] and "StepLR" in r["torch.optim.lr_scheduler"]["ember"]
    assert "DataLoader" in r["torch.utils.data"]["ember"]
    for cat in r.values():  # the public rule: no underscore names, and ember + missing = torch
        assert not [n for n in cat["torch"] if n.startswith("_")]
        assert sorted(cat["ember"] + cat["missing"]) == cat["torch"]
    # not counted: classes and modules among torch's functions, re-exported helpers among F's
    assert "Tensor" not in r["torch functions"]["torch"] and "nn" not in r["torch functions"]["torch"]
    assert "handle_torch_function" not in r["torch.nn.functional"]["torch"]
    assert "Optimizer" in r["torch.optim"]["torch"] and "Module" in r["torch.nn modules"]["torch"]


def test_main_prints_the_table_and_the_missing_names(torch, capsys, tmp_path):
    out_json = tmp_path / "cov.json"
    assert cov.main(["--category", "torch.optim", "--category", "torch.nn modules", "--missing",
                     "--json", str(out_json)]) == 0
    out = capsys.readouterr().out.splitlines()
    data = json.loads(out_json.read_text())["categories"]
    e, t = len(data["torch.optim"]["ember"]), len(data["torch.optim"]["torch"])
    row = [line for line in out if line.startswith("torch.optim ")]
    assert len(row) == 1 and row[0].split()[1:3] == [str(e), str(t)]
    assert any(line.startswith("missing from torch.nn modules") for line in out)
    assert out[0].startswith("ember ") and "against PyTorch 2." in out[0]


def test_without_torch_it_skips_cleanly(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert cov.main([]) == 0
    assert "skipped, PyTorch is not installed" in capsys.readouterr().err
