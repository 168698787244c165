"""Checkpoints: a run saved after epoch k and resumed in a new process matches the uninterrupted run."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember

SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import ember
    from ember import nn
    from ember.data import DataLoader, TensorDataset
    from ember.optim import Adam
    from ember.optim.lr_scheduler import StepLR
    from ember.train import EarlyStopping, Trainer

    mode, folder, own_generator = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    r = np.random.default_rng(0)
    y = np.arange(96) % 3
    x = (r.normal(0, 3, (3, 8))[y] + r.normal(0, 1, (96, 8))).astype(np.float32)

    def build():
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        opt = Adam(model.parameters(), lr=0.01)
        gen = ember.Generator(1) if own_generator else None  # None: shuffled by the global generator
        loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen)
        trainer = Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"],
                          scheduler=StepLR(opt, step_size=1, gamma=0.7),
                          callbacks=[EarlyStopping("loss", patience=5)], progress=False)
        return trainer, loader

    def dump(trainer, name):
        np.savez(f"{folder}/{name}.npz", *[p.detach().numpy() for p in trainer.model.parameters()])
        with open(f"{folder}/{name}.json", "w") as f:
            json.dump({"history": trainer.history.to_dict(), "es": trainer.callbacks[1].state_dict()}, f)

    if mode == "first":
        trainer, loader = build()
        trainer.fit(loader, epochs=3)
        dump(trainer, "full")
        trainer, loader = build()
        trainer.fit(loader, epochs=1)
        trainer.save_checkpoint(f"{folder}/ckpt.npz")
        np.random.default_rng().random(10)  # unrelated draws after saving change nothing
        ember.randn(5)
    else:
        trainer, loader = build()
        ember.randn(7)  # the new process's generators are elsewhere before the load
        trainer.load_checkpoint(f"{folder}/ckpt.npz")
        trainer.fit(loader, epochs=3)
        dump(trainer, "resumed")
''')


def _python(tmp_path, *args):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(script), *args], check=True, env=env, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("own_generator", ["1", "0"], ids=["loader-generator", "global-generator"])
def test_resume_in_a_new_process_is_bit_identical(tmp_path, own_generator):
    _python(tmp_path, "first", str(tmp_path), own_generator)
    _python(tmp_path, "resume", str(tmp_path), own_generator)
    full, resumed = np.load(tmp_path / "full.npz"), np.load(tmp_path / "resumed.npz")
    assert len(full.files) == 4
    for k in full.files:
        assert np.array_equal(full[k], resumed[k]), k
    a = json.loads((tmp_path / "full.json").read_text())
    b = json.loads((tmp_path / "resumed.json").read_text())
    assert a == b and len(a["history"]["epoch"]) == 3


def test_checkpoint_holds_the_whole_state(make_trainer, data, tk, tmp_path):
    from ember.optim.lr_scheduler import StepLR

    x, y = data
    t = make_trainer(scheduler=lambda opt: StepLR(opt, step_size=1, gamma=0.5))
    t.fit(tk.loader(x, y, shuffle=True, generator=ember.Generator(4)), epochs=2)
    t.save_checkpoint(tmp_path / "c.npz")
    state = ember.load(tmp_path / "c.npz")
    assert state["format"] == "ember.Trainer" and state["epoch"] == 2
    assert set(state) >= {"model", "optimizer", "scheduler", "rng", "history"}
    assert set(state["rng"]) == {"default", "loader"}
    t2 = make_trainer(scheduler=lambda opt: StepLR(opt, step_size=1, gamma=0.5))
    t2.load_checkpoint(tmp_path / "c.npz")
    assert t2.epoch == 2 and t2.optimizer.param_groups[0]["lr"] == pytest.approx(0.0025)
    assert np.array_equal(np.asarray(ember.default_generator().get_state()), np.asarray(state["rng"]["default"]))


def test_safetensors_checkpoints_work_too(make_trainer, data, tk, tmp_path):
    pytest.importorskip("safetensors")
    t = make_trainer()
    t.fit(tk.loader(*data), epochs=1)
    t.save_checkpoint(tmp_path / "c.safetensors")
    t2 = make_trainer().load_checkpoint(tmp_path / "c.safetensors")
    assert t2.epoch == 1 and t2.history.to_dict() == t.history.to_dict()


def test_loading_something_else_fails_clearly(make_trainer, tmp_path):
    ember.save({"weight": np.zeros(3)}, tmp_path / "w.npz")
    with pytest.raises(ValueError, match="not a Trainer checkpoint"):
        make_trainer().load_checkpoint(tmp_path / "w.npz")


def test_a_scheduler_state_needs_a_scheduler(make_trainer, data, tk, tmp_path):
    from ember.optim.lr_scheduler import StepLR

    t = make_trainer(scheduler=lambda opt: StepLR(opt, step_size=1))
    t.fit(tk.loader(*data), epochs=1)
    t.save_checkpoint(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="has no scheduler"):
        make_trainer().load_checkpoint(tmp_path / "c.npz")
