"""``History``: the per-epoch record of a training run (Keras' ``History``), to JSON and PNG."""
import io
import json
import math

__all__ = ["History"]


class History:
    """Per-epoch values by name: ``loss``, each metric, ``val_loss``, ``val_<metric>``, ``lr``.

    ``history.history["loss"]`` is a list with one float per completed epoch and
    ``history.epoch`` the matching 0-based epoch indices, as in Keras; ``history["loss"]``
    is a shortcut. A name that appears late (validation turned on at epoch 3) is padded with
    NaN for the epochs before, so every list has one entry per epoch.
    """

    def __init__(self):
        self.epoch = []
        self.history = {}

    def append(self, epoch, logs):
        """Record the logs of one finished epoch (a dict of name -> number)."""
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for k, v in logs.items():
            self.history.setdefault(k, [math.nan] * n).append(float(v))
        for k, vals in self.history.items():
            if len(vals) == n:  # a name missing from this epoch's logs
                vals.append(math.nan)

    def __getitem__(self, name):
        return self.history[name]

    def __contains__(self, name):
        return name in self.history

    def __len__(self):
        return len(self.epoch)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    # ----- serialisation -----
    def to_dict(self):
        """A JSON-ready dict: ``{"epoch": [...], "history": {name: [...]}}``."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, d):
        """The inverse of ``to_dict`` (also accepts what ``ember.load`` gives back)."""
        h = cls()
        h.epoch = [int(e) for e in d.get("epoch", [])]
        h.history = {k: [float(x) for x in v] for k, v in d.get("history", {}).items()}
        for k, v in h.history.items():
            if len(v) != len(h.epoch):
                raise ValueError(f"History: {k!r} has {len(v)} values for {len(h.epoch)} epochs")
        return h

    def save(self, path):
        """Write ``to_dict()`` as JSON, atomically (NaN becomes null)."""
        from ..io import atomic_write

        d = self.to_dict()
        d["history"] = {k: [None if math.isnan(x) else x for x in v] for k, v in d["history"].items()}
        with atomic_write(path, "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")

    @classmethod
    def load(cls, path):
        """Read a file written by ``save``."""
        with open(path) as f:
            d = json.load(f)
        d["history"] = {k: [math.nan if x is None else x for x in v] for k, v in d.get("history", {}).items()}
        return cls.from_dict(d)

    # ----- plotting -----
    def plot(self, path):
        """Draw the loss and each metric (train and validation) against the epoch into a PNG.

        Needs matplotlib (``pip install 'ember[plot]'``); draws with Agg, so no display is
        needed. The file is written atomically.
        """
        try:
            # a bare Figure renders through Agg without touching pyplot's global backend
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            raise ImportError("History.plot needs matplotlib: pip install 'ember[plot]'") from None
        names = [k for k in self.history if not k.startswith("val_") and k != "lr"]
        names += [k[4:] for k in self.history if k.startswith("val_") and k[4:] not in self.history]
        if not names:
            raise ValueError("History.plot: nothing to draw, the history is empty")
        fig = Figure(figsize=(5 * len(names), 3.6), layout="constrained")
        x = [e + 1 for e in self.epoch]  # people count epochs from 1
        for i, name in enumerate(names):
            ax = fig.add_subplot(1, len(names), i + 1)
            if name in self.history:
                ax.plot(x, self.history[name], "o-", label="train")
            if "val_" + name in self.history:
                ax.plot(x, self.history["val_" + name], "s--", label="validation")
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
            ax.legend()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        from ..io import atomic_write

        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())
