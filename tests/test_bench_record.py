"""The bench record (benchmarks/results/): one stamped file per workload, and README's
performance table generated from it. No benchmark runs here."""
import json
import os
import re

import pytest

from benchmarks import readme, record

RESULTS = record.RESULTS
FILES = sorted(f for f in os.listdir(RESULTS) if not f.endswith(".tmp"))  # .tmp: a write under way
WORKLOADS = sorted({f.rsplit(".", 1)[0] for f in FILES})
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SHA = re.compile(r"^[0-9a-f]{40}$")


def check_stamp(s):
    assert SHA.match(s["commit"]) or s["commit"] in (record.UNKNOWN_COMMIT, "unknown (no git)"), s["commit"]
    assert isinstance(s["dirty"], bool)
    assert DATE.match(s["date"]), s["date"]
    assert set(s["machine"]) == {"cpu", "cores", "os", "python", "numpy", "blas", "torch", "threads"}
    assert isinstance(s["machine"]["cores"], int) and s["machine"]["cores"] >= 1
    assert {"loadavg_before", "loadavg_after", "others_cpu_share"} <= set(s["load"])
    share = s["load"]["others_cpu_share"]
    assert share is None or 0 <= share <= 1
    assert s["command"].startswith("python ")
    assert isinstance(s["quick"], bool)
    if s["commit"] == record.UNKNOWN_COMMIT:
        assert s["converted_from"], "a file without a commit says where it came from"


def test_readme_block_is_generated_from_the_record():
    with open(readme.README) as f:
        text = f.read()
    assert readme.current(text) == readme.block(), "README is stale: run python -m benchmarks.readme"


def test_one_json_and_one_markdown_per_workload_and_no_timestamped_copies():
    assert WORKLOADS, "benchmarks/results/ is empty"
    assert FILES == sorted(f"{w}.{ext}" for w in WORKLOADS for ext in ("json", "md"))
    for f in FILES:
        assert record.NAME.match(f.rsplit(".", 1)[0]), f
        assert not re.search(r"\d{8}-\d{6}|-latest", f), f


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_file_is_stamped(workload):
    with open(os.path.join(RESULTS, workload + ".json")) as f:
        payload = json.load(f)
    assert payload["workload"] == workload
    check_stamp(payload["stamp"])
    with open(os.path.join(RESULTS, workload + ".md")) as f:
        lines = f.read().splitlines()
    assert lines[0] == f"# {workload}"
    assert lines[2] == record.stamp_line(payload["stamp"])


def test_measure_writes_a_stamped_json_and_markdown(tmp_path):
    def fake():
        return {"ember": 0.5, "PyTorch": 0.25}, "### fake\n\n| | seconds |\n|---|---:|\n| ember | 0.500 |\n"

    out = tmp_path / "bench"
    res = record.measure("fake_workload", fake, out=str(out), quick=True, cmd="python -m benchmarks --only fake",
                         echo=False)
    assert res == {"ember": 0.5, "PyTorch": 0.25}
    assert sorted(os.listdir(out)) == ["fake_workload.json", "fake_workload.md"]
    payload = json.loads((out / "fake_workload.json").read_text())
    assert payload["workload"] == "fake_workload" and payload["results"] == res
    s = payload["stamp"]
    check_stamp(s)
    assert s["quick"] is True and s["command"] == "python -m benchmarks --only fake"
    assert s["load"]["seconds"] >= 0
    md = (out / "fake_workload.md").read_text()
    assert md == (f"# fake_workload\n\n{record.stamp_line(s)}\n\n`python -m benchmarks --only fake`\n\n"
                  "### fake\n\n| | seconds |\n|---|---:|\n| ember | 0.500 |\n")
    assert "QUICK" in md and s["machine"]["cpu"] in md

    # a second run overwrites, and nothing else appears
    record.measure("fake_workload", lambda: ({"ember": 1.0}, "### again\n"), out=str(out), echo=False)
    assert sorted(os.listdir(out)) == ["fake_workload.json", "fake_workload.md"]
    assert json.loads((out / "fake_workload.json").read_text())["results"] == {"ember": 1.0}


def test_readme_rows_and_splice(tmp_path):
    stamp = {"commit": "0" * 40, "dirty": False, "date": "2026-01-01T00:00:00Z",
             "machine": {"cpu": "CPU", "cores": 2, "os": "OS", "python": "3", "numpy": "2", "blas": "B", "torch": "T",
                         "threads": 2},
             "load": {"loadavg_before": 0.1, "loadavg_after": 0.2, "others_cpu_share": 0.05, "steal_share": 0.0,
                      "seconds": 1.0},
             "command": "python -m benchmarks --only cifar", "quick": False}
    record.write("cifar", {"ember": 0.06, "PyTorch": 0.04}, "### cifar\n", stamp, str(tmp_path))
    block = readme.block(str(tmp_path))
    assert "| CIFAR-sized conv net, forward + backward (batch 64) | 60.0 ms | 40.0 ms | 1.50x | [1] |" in block
    assert "[1] commit 000000000000, 2026-01-01T00:00:00Z; CPU, 2 cores" in block
    assert "other processes at most 5% of the CPU time" in block
    text = f"intro\n{readme.BEGIN}\nold\n{readme.END}\nrest\n"
    new = readme.splice(text, block)
    assert readme.current(new) == block and new.startswith("intro\n") and new.endswith(f"{readme.END}\nrest\n")


def test_name_refuses_with_a_pointer_to_out(capsys):
    from benchmarks import suite

    with pytest.raises(SystemExit):
        suite.main(["--name", "before"])
    assert "--out /tmp/before" in capsys.readouterr().err
