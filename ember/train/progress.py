"""Training progress: a tqdm bar per epoch on a terminal, one plain line per epoch elsewhere.

A bar redraws with ``\\r``, which turns a log file (CI, ``> train.log``) into one endless line,
so the bar is drawn only when stdout is a terminal and tqdm is installed; otherwise each
epoch ends with a line such as ``Epoch 2/5 - 469 batches - 3.1s - loss: 0.0912 - accuracy: 0.9721``.
"""
import sys
import time

__all__ = ["Progress", "format_logs"]

_POSTFIX_EVERY = 0.25  # seconds between refreshes of the bar's running loss and metrics


def format_logs(logs):
    """``loss: 0.1234 - accuracy: 0.9650 - lr: 0.001`` from a dict of numbers."""
    parts = []
    for k, v in logs.items():
        parts.append(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}")
    return " - ".join(parts)


class Progress:
    """Reports one epoch at a time. ``enabled=False`` prints nothing."""

    def __init__(self, enabled=True, stream=None):
        self.enabled = enabled
        self.stream = stream
        self.bar = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _use_bar(self):
        out = self._out()
        isatty = getattr(out, "isatty", None)
        if not (isatty and isatty()):
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True

    def epoch_begin(self, epoch, epochs, total):
        """Start epoch ``epoch`` (0-based) of ``epochs``; ``total`` batches (None if unknown)."""
        self.t0 = time.perf_counter()
        self.batches = 0
        self.next_postfix = self.t0 + _POSTFIX_EVERY
        self.desc = f"Epoch {epoch + 1}/{epochs}"
        self.bar = None
        if self.enabled and self._use_bar():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit="batch", file=self._out(), leave=True,
                            dynamic_ncols=True)

    def batch_end(self, running):
        """One batch done; ``running()`` gives the running logs, called only when drawn."""
        self.batches += 1
        bar = self.bar
        if bar is not None:
            bar.update(1)
            now = time.perf_counter()
            if now >= self.next_postfix:
                self.next_postfix = now + _POSTFIX_EVERY
                bar.set_postfix_str(format_logs(running()), refresh=False)

    def epoch_end(self, logs):
        """Close the bar with the epoch's final logs, or print the epoch's line."""
        seconds = time.perf_counter() - self.t0
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.enabled:
            out = self._out()
            out.write(f"{self.desc} - {self.batches} batches - {seconds:.1f}s - {format_logs(logs)}\n")
            out.flush()
        return seconds

    def close(self):
        """Close a bar left open by an error, so the terminal is left clean."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
