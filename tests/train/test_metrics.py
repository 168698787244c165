import numpy as np
import pytest

from ember.train import Accuracy, MeanMetric, Metric, TopKAccuracy, get_metric


def test_accuracy_accumulates_over_batches(rng):
    out = rng.normal(size=(50, 7)).astype(np.float32)
    y = rng.integers(0, 7, size=50)
    m = Accuracy()
    m.update(out[:20], y[:20])
    m.update(out[20:], y[20:])
    assert m.compute() == pytest.approx(np.mean(out.argmax(1) == y))
    m.reset()
    assert np.isnan(m.compute())


@pytest.mark.parametrize("k", [1, 2, 3, 7, 9])
def test_top_k_accuracy_matches_a_sort(rng, k):
    out = rng.normal(size=(64, 7))
    y = rng.integers(0, 7, size=64)
    m = TopKAccuracy(k)
    m.update(out[:30], y[:30])
    m.update(out[30:], y[30:])
    top = np.argsort(-out, axis=1)[:, :k]
    assert m.compute() == pytest.approx(np.mean((top == y[:, None]).any(1)))
    assert m.name == f"top{k}_accuracy"


def test_top_k_matches_torch(torch, rng):
    out = rng.normal(size=(40, 10)).astype(np.float32)
    y = rng.integers(0, 10, size=40)
    m = TopKAccuracy(5)
    m.update(out, y)
    top = torch.topk(torch.from_numpy(out), 5, dim=1).indices.numpy()
    assert m.compute() == pytest.approx(np.mean((top == y[:, None]).any(1)))


def test_mean_metric_is_weighted_by_batch_size():
    def first_output(out, y):
        return out[:, 0].mean()

    m = get_metric(first_output)
    assert isinstance(m, MeanMetric) and m.name == "first_output"
    m.update(np.ones((3, 2)), np.zeros(3, int))
    m.update(np.zeros((1, 2)), np.zeros(1, int))
    assert m.compute() == pytest.approx(0.75)


def test_subclassed_metric_works_in_a_trainer(make_trainer, data, tk):
    class Seen(Metric):
        name = "seen"

        def reset(self):
            self.n = 0

        def update(self, outputs, targets):
            self.n += len(targets)

        def compute(self):
            return float(self.n)

    t = make_trainer(metrics=[Seen(), "accuracy", "top3_accuracy"])
    t.fit(tk.loader(*data), epochs=1)
    assert t.history["seen"] == [96.0]
    assert t.history["top3_accuracy"] == [1.0]  # 3 classes


def test_metric_errors():
    with pytest.raises(ValueError, match="valid names: .*accuracy"):
        get_metric("acuracy")
    with pytest.raises(ValueError, match="k >= 1"):
        TopKAccuracy(0)
    with pytest.raises(ValueError, match=r"accuracy expects outputs of shape \(N, C\).*\(4,\)"):
        Accuracy().update(np.zeros(4), np.zeros(4, int))
    with pytest.raises(TypeError, match="a metric must be"):
        get_metric(3)


def test_duplicate_or_reserved_metric_names_fail(make_trainer):
    with pytest.raises(ValueError, match="taken or repeated"):
        make_trainer(metrics=["accuracy", Accuracy()])
    with pytest.raises(ValueError, match="taken or repeated"):
        make_trainer(metrics=[MeanMetric(lambda o, y: 0.0, name="loss")])
