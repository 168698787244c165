"""Resuming refuses a checkpoint that does not match the trainer (issue #24, "Resume").

A checkpoint records its optimizer's and scheduler's classes and its training loader's batch
size and length; ``load_checkpoint`` (or the ``fit`` that follows it, for the loader) refuses a
mismatch with one error naming the file, what the checkpoint has and what the trainer has,
before anything is changed.
"""
import numpy as np
import pytest

import ember
from ember import nn
from ember.optim import SGD, Adam
from ember.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from ember.train import Trainer


def _trainer(tk, optimizer=Adam, scheduler=None, **kw):
    ember.manual_seed(0)
    model = tk.small_model()
    opt = optimizer(model.parameters(), lr=0.01)
    return Trainer(model, opt, nn.CrossEntropyLoss(), progress=False,
                   scheduler=None if scheduler is None else scheduler(opt), **kw)


def _weights(t):
    return [p.detach().numpy().copy() for p in t.model.parameters()]


def _saved(tk, data, path, batch_size=16, **kw):
    t = _trainer(tk, **kw)
    t.fit(tk.loader(*data, batch_size=batch_size, shuffle=True, generator=ember.Generator(3)), epochs=1)
    t.save_checkpoint(path)
    return t


def test_the_checkpoint_records_classes_and_the_loader(tk, data, tmp_path):
    _saved(tk, data, tmp_path / "c.npz", scheduler=lambda o: StepLR(o, step_size=1))
    state = ember.load(tmp_path / "c.npz")
    assert state["version"] == 2
    assert state["classes"]["optimizer"] == "ember.optim.adam.Adam"
    assert state["classes"]["scheduler"].endswith(".StepLR")
    assert state["loader"]["batch_size"] == 16 and state["loader"]["batches"] == 6


def test_another_batch_size_is_refused_before_training(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    t = _trainer(tk).load_checkpoint(path)
    before = _weights(t)
    with pytest.raises(ValueError) as e:
        t.fit(tk.loader(*data, batch_size=32), epochs=2)
    msg = str(e.value)
    assert str(path) in msg
    assert "6 batches of 16" in msg and "3 batches of 32" in msg, msg
    assert "allow_batch_size_change=True" in msg
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(t)))
    assert t.epoch == 1 and len(t.history) == 1


def test_another_loader_length_is_refused_too(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    x, y = data
    t = _trainer(tk).load_checkpoint(path)
    with pytest.raises(ValueError, match=r"6 batches of 16 .*4 batches of 16"):
        t.fit(tk.loader(x[:64], y[:64], batch_size=16), epochs=2)


def test_a_deliberate_batch_size_change_starts_at_the_next_epoch(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    t = _trainer(tk).load_checkpoint(path, allow_batch_size_change=True)
    steps = []

    class Count(ember.train.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append((self.trainer.epoch, batch))

    t.callbacks.append(Count())
    t.callbacks[-1].set_trainer(t)
    t.fit(tk.loader(*data, batch_size=32, shuffle=True, generator=ember.Generator(3)), epochs=3)
    # epochs 2 and 3, each from its first sample: 96 samples in 3 batches of 32
    assert steps == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert t.epoch == 3 and len(t.history) == 3
    t.save_checkpoint(tmp_path / "d.npz")  # the checkpoint now holds the new batching
    assert ember.load(tmp_path / "d.npz")["loader"]["batch_size"] == 32
    _trainer(tk).load_checkpoint(tmp_path / "d.npz").fit(tk.loader(*data, batch_size=32), epochs=4)


def test_the_same_loader_resumes(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    t = _trainer(tk).load_checkpoint(path)
    t.fit(tk.loader(*data, batch_size=16), epochs=2)
    assert t.epoch == 2


def test_an_adam_checkpoint_into_sgd_is_refused(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, optimizer=Adam)
    t = _trainer(tk, optimizer=SGD)
    before = _weights(t)
    with pytest.raises(ValueError) as e:
        t.load_checkpoint(path)
    msg = str(e.value)
    assert str(path) in msg and "ember.optim.adam.Adam" in msg and "ember.optim.sgd.SGD" in msg, msg
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(t)))  # nothing half-loaded
    assert t.epoch == 0 and "betas" not in t.optimizer.param_groups[0]


def test_an_sgd_checkpoint_into_adam_is_refused_not_a_keyerror(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, optimizer=SGD)
    t = _trainer(tk, optimizer=Adam)
    with pytest.raises(ValueError, match=r"optimizer .*ember\.optim\.sgd\.SGD.*ember\.optim\.adam\.Adam"):
        t.load_checkpoint(path)
    t.fit(tk.loader(*data), epochs=1)  # the trainer is untouched and trains


def test_a_checkpoint_without_scheduler_into_a_trainer_with_one_is_refused(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    t = _trainer(tk, scheduler=lambda o: StepLR(o, step_size=1))
    with pytest.raises(ValueError, match=r"no scheduler state.*StepLR"):
        t.load_checkpoint(path)


def test_a_plateau_state_into_steplr_is_refused(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, scheduler=lambda o: ReduceLROnPlateau(o, patience=1))
    t = _trainer(tk, scheduler=lambda o: StepLR(o, step_size=1))
    lr = t.optimizer.param_groups[0]["lr"]
    with pytest.raises(ValueError) as e:
        t.load_checkpoint(path)
    msg = str(e.value)
    assert str(path) in msg and "ReduceLROnPlateau" in msg and "StepLR" in msg, msg
    assert t.optimizer.param_groups[0]["lr"] == lr


def test_every_mismatch_is_in_one_error(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, optimizer=Adam)
    with pytest.raises(ValueError) as e:
        _trainer(tk, optimizer=SGD, scheduler=lambda o: StepLR(o, step_size=1)).load_checkpoint(path)
    msg = str(e.value)
    assert "SGD" in msg and "StepLR" in msg, msg


def _as_version_1(path):
    """The checkpoint as ember wrote it before classes and the loader were recorded."""
    state = ember.load(path)
    del state["classes"], state["loader"]
    state["version"] = 1
    ember.save(state, path)


def test_an_old_checkpoint_loads_as_before(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, scheduler=lambda o: StepLR(o, step_size=1))
    _as_version_1(path)
    t = _trainer(tk, scheduler=lambda o: StepLR(o, step_size=1)).load_checkpoint(path)
    t.fit(tk.loader(*data, batch_size=32), epochs=2)  # nothing recorded to compare the loader with
    assert t.epoch == 2


def test_an_old_checkpoint_of_another_optimizer_is_refused_by_its_hyperparameters(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path, optimizer=SGD)
    _as_version_1(path)
    with pytest.raises(ValueError, match=r"c\.npz.*momentum.*Adam.*betas"):
        _trainer(tk, optimizer=Adam).load_checkpoint(path)


def test_a_refused_fit_can_be_followed_by_the_right_one(tk, data, tmp_path):
    path = tmp_path / "c.npz"
    _saved(tk, data, path)
    t = _trainer(tk).load_checkpoint(path)
    for _ in range(2):  # refused each time, not only the first
        with pytest.raises(ValueError, match="allow_batch_size_change"):
            t.fit(tk.loader(*data, batch_size=32), epochs=2)
    t.fit(tk.loader(*data, batch_size=16), epochs=2)
    assert t.epoch == 2


def test_a_checkpoint_saved_again_before_training_keeps_the_saved_batching(tk, data, tmp_path):
    _saved(tk, data, tmp_path / "c.npz")
    _trainer(tk).load_checkpoint(tmp_path / "c.npz").save_checkpoint(tmp_path / "d.npz")
    assert ember.load(tmp_path / "d.npz")["loader"] == {"batch_size": 16, "batches": 6}


def test_safetensors_checkpoints_record_and_check_too(tk, data, tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "c.safetensors"
    _saved(tk, data, path, scheduler=lambda o: StepLR(o, step_size=1))
    with pytest.raises(ValueError, match=r"c\.safetensors.*StepLR.*no scheduler"):
        _trainer(tk).load_checkpoint(path)
    t = _trainer(tk, scheduler=lambda o: StepLR(o, step_size=1)).load_checkpoint(path)
    with pytest.raises(ValueError, match="6 batches of 16"):
        t.fit(tk.loader(*data, batch_size=8), epochs=2)
