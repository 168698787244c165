"""Every tutorial in docs/tutorials/ runs to the end as a plain script (the docs build runs it as a
notebook too), from a scratch working directory, with matplotlib drawing off-screen."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("[0-9]*.py"))


def test_there_are_tutorials():
    assert TUTORIALS, "no docs/tutorials/NN_slug.py found"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",  # the suite runs 2 workers on 2 cores
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{path.name} ran past 120 s; stderr so far:\n{e.stderr or ''}")
    assert proc.returncode == 0, f"{path.name} exited {proc.returncode}; stderr:\n{proc.stderr[-6000:]}"
