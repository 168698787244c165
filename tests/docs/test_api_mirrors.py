"""The API reference's claims: each object's page says which PyTorch name it mirrors, from
docs/api/pytorch_names.txt (the docs build never imports torch). Here, with torch and
torchvision installed, every claimed name must exist, every "ember's own" name must be absent
from PyTorch, and every public ember name must be listed and have its page."""
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import ember_api  # noqa: E402

TABLE = ember_api.read_names()
REGENERATE = "run `python docs/_ext/ember_api.py` (with torch installed) and review the diff"


@pytest.fixture(scope="module")
def torch_and_vision():
    pytest.importorskip("torch", reason="PyTorch oracle not installed")
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import import_torchvision

    if import_torchvision() is None:
        pytest.skip("torchvision not installed")


def test_every_public_name_is_listed_once():
    documented = [f"{m}.{n}" for m, n in ember_api.documented()]
    assert len(documented) == len(set(documented))
    missing = sorted(set(documented) - set(TABLE))
    stale = sorted(set(TABLE) - set(documented))
    assert not missing and not stale, f"missing {missing}, no longer public {stale}: {REGENERATE}"


def test_pages_are_up_to_date():
    api = ROOT / "docs" / "api"
    for page in ember_api._PAGES:
        assert (api / f"{page}.md").read_text() == ember_api.render_page(page), f"docs/api/{page}.md: {REGENERATE}"
    assert (api / "objects.md").read_text() == ember_api.render_objects(), f"docs/api/objects.md: {REGENERATE}"


def test_mirrored_modules_exist(torch_and_vision):
    for modname, (_, mirror) in ember_api.MODULES.items():
        if mirror is not None:
            importlib.import_module(mirror)


def test_claimed_pytorch_names_exist(torch_and_vision):
    wrong = [f"{ours} -> {theirs}" for ours, theirs in TABLE.items() if theirs and not ember_api.exists(theirs)]
    assert not wrong, f"these PyTorch names do not exist: {wrong}"


def test_claimed_names_match(torch_and_vision):
    # ember.nn.Linear mirrors torch.nn.Linear: the same last name, the module's mirror or a near place
    wrong = [f"{o} -> {t}" for o, t in TABLE.items() if t and t.rpartition(".")[2] != o.rpartition(".")[2]]
    assert not wrong, wrong


def test_ember_own_names_are_absent_from_pytorch(torch_and_vision):
    wrong = []
    for ours, theirs in TABLE.items():
        if theirs is None:
            modname, _, name = ours.rpartition(".")
            found = ember_api.torch_name(modname, name)
            if found:
                wrong.append(f"{ours} is called ember's own, but {found} exists")
    assert not wrong, wrong


def test_linear_has_its_page_and_claim():
    assert TABLE["ember.nn.Linear"] == "torch.nn.Linear"
    objects = (ROOT / "docs" / "api" / "objects.md").read_text()
    section = objects.split("## ember.nn\n", 1)[1].split("\n## ", 1)[0]
    assert "\n   Linear\n" in section  # autosummary writes api/generated/ember.nn.Linear.rst from it
