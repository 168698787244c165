"""Loading a .pt file that holds no bfloat16 does not import ml_dtypes (a second's import):
bfloat16's dtype and storage are resolved only when a file names them."""
import subprocess
import sys

import pytest

import ember
from ember import nn


def test_a_float32_pt_file_loads_without_importing_ml_dtypes(tmp_path):
    path = tmp_path / "m.pt"
    ember.save(nn.Linear(4, 3).state_dict(), path)
    code = ("import sys, ember; sd = ember.load(sys.argv[1]); "
            "assert sd['weight'].shape == (3, 4); print('ml_dtypes' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_a_bfloat16_pt_file_still_loads(tmp_path, torch):
    pytest.importorskip("ml_dtypes")
    path = tmp_path / "b.pt"
    torch.save({"dtype": torch.bfloat16, "w": torch.tensor([1.0, 2.5], dtype=torch.bfloat16)}, path)
    got = ember.load(path)
    assert got["dtype"] is ember.bfloat16 or got["dtype"] == ember.bfloat16
    assert got["w"].dtype == ember.bfloat16
    assert got["w"].float().tolist() == [1.0, 2.5]
