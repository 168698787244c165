import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.train import NonFiniteLossError, Trainer
from ember.train.progress import Progress


def test_fit_learns_and_fills_the_history(make_trainer, data, tk):
    x, y = data
    t = make_trainer()
    h = t.fit(tk.loader(x, y, shuffle=True), epochs=4, val_loader=tk.loader(x, y, 32))
    assert h is t.history and t.epoch == 4 and h.epoch == [0, 1, 2, 3]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.9
    assert h["lr"] == [0.01] * 4


def test_fit_epochs_is_the_total_so_a_second_call_continues(make_trainer, data, tk):
    t = make_trainer()
    t.fit(tk.loader(*data), epochs=2)
    t.fit(tk.loader(*data), epochs=3)
    assert t.epoch == 3 and t.history.epoch == [0, 1, 2]
    t.fit(tk.loader(*data), epochs=3)  # already there: nothing to do
    assert t.epoch == 3
    with pytest.raises(ValueError, match="epochs as an int >= 0"):
        t.fit(tk.loader(*data), epochs=-1)


def test_trainer_steps_are_those_of_a_hand_written_loop(data, tk):
    """Same seed, same data order: the Trainer's weights equal a manual loop's, bit for bit."""
    from ember.optim import Adam

    x, y = data
    results = []
    for use_trainer in (True, False):
        ember.manual_seed(3)
        model = tk.small_model(dropout=0.2)
        opt = Adam(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()
        loader = tk.loader(x, y, shuffle=True, generator=ember.Generator(5))
        if use_trainer:
            Trainer(model, opt, loss_fn, metrics=["accuracy"], progress=False).fit(loader, epochs=2)
        else:
            for _ in range(2):
                model.train()
                for xb, yb in loader:
                    loss = loss_fn(model(xb), yb)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        results.append([p.detach().numpy().copy() for p in model.parameters()])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_evaluate_matches_a_manual_computation_and_keeps_the_mode(make_trainer, data, tk):
    x, y = data
    model = tk.small_model(dropout=0.5)
    t = make_trainer(model=model)
    model.train()
    logs = t.evaluate(tk.loader(x, y, 40))  # batches of 40, 40, 16: the mean is weighted by size
    assert model.training
    model.eval()
    with ember.no_grad():
        out = model(x)
        loss = nn.CrossEntropyLoss()(out, ember.tensor(y)).item()
    assert logs["loss"] == pytest.approx(loss, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(out.numpy().argmax(1) == y))


def test_predict_on_arrays_tensors_and_loaders(make_trainer, data, tk):
    x, y = data
    model = tk.small_model(dropout=0.5)
    t = make_trainer(model=model)
    model.eval()
    want = model(x).detach().numpy()
    model.train()
    for got in (t.predict(x, batch_size=7), t.predict(ember.tensor(x)), t.predict(tk.loader(x, y, 10))):
        assert got.shape == (96, 3)
        # float32 BLAS rounds differently for batches of 7 and of 96 (a few ulps, as in PyTorch)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert model.training


def test_a_nonfinite_loss_stops_fit_naming_epoch_and_batch(make_trainer, data, tk):
    x, y = data
    x = x.copy()
    t = make_trainer()
    t.fit(tk.loader(x, y), epochs=1)
    x[16 * 2 + 5, 0] = np.nan  # in the third batch of 16
    before = [p.detach().numpy().copy() for p in t.model.parameters()]
    with pytest.raises(NonFiniteLossError, match=r"nan at epoch 2/3, batch 3/6"):
        t.fit(tk.loader(x, y), epochs=3)
    after = [p.detach().numpy() for p in t.model.parameters()]
    assert all(np.isfinite(a).all() for a in after)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # batches 1 and 2 did train
    assert t.epoch == 1


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nonfinite_loss_can_be_allowed(make_trainer, data, tk):
    x, y = data
    x = x.copy()
    x[0, 0] = np.inf
    t = make_trainer(stop_on_nonfinite=False)
    t.fit(tk.loader(x, y), epochs=1)
    assert np.isnan(t.history["loss"][0])


def test_bad_batches_and_arguments_fail_clearly(make_trainer, data):
    x, y = data
    t = make_trainer()
    with pytest.raises(ValueError, match=r"expects \(inputs, targets\) batches, got tuple of length 3"):
        t.fit([(x, y, y)], epochs=1)
    with pytest.raises(ValueError, match="gave no batches"):
        t.fit([], epochs=1)
    with pytest.raises(TypeError, match="loss must be callable"):
        Trainer(t.model, t.optimizer, "cross_entropy")
    with pytest.raises(TypeError, match="callbacks must be Callback objects"):
        Trainer(t.model, t.optimizer, nn.CrossEntropyLoss(), callbacks=[print])


def test_plain_lines_when_not_a_terminal(make_trainer, data, tk, capsys):
    t = make_trainer(progress=True)
    t.fit(tk.loader(*data), epochs=2, val_loader=tk.loader(*data))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2 and "\r" not in out
    assert lines[0].startswith("Epoch 1/2 - 6 batches - ")
    assert "loss: " in lines[1] and "val_accuracy: " in lines[1]


def test_silent_without_progress(make_trainer, data, tk, capsys):
    make_trainer(progress=False).fit(tk.loader(*data), epochs=1)
    assert capsys.readouterr().out == ""


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_a_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = _Tty()
    p = Progress(True, stream=stream)
    p.epoch_begin(0, 3, 4)
    for _ in range(4):
        p.batch_end(lambda: {"loss": 0.5})
    p.epoch_end({"loss": 0.25, "accuracy": 0.875})
    out = stream.getvalue()
    assert "Epoch 1/3" in out and "4/4" in out and "\r" in out
    assert "accuracy: 0.8750" in out
