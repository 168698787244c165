"""Anomaly detection: ``with ember.autograd.detect_anomaly():`` makes every recorded op keep
the stack where it was created, and makes the first backward that produces NaN raise an
error that names that op and shows that stack (PyTorch's ``detect_anomaly``)."""
import functools


class _Anomaly:
    enabled = False
    check_nan = True


def is_anomaly_enabled():
    return _Anomaly.enabled


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` turns anomaly mode on (context manager or plain call)."""

    def __init__(self, mode, check_nan=True):
        self.prev = (_Anomaly.enabled, _Anomaly.check_nan)
        _Anomaly.enabled, _Anomaly.check_nan = bool(mode), bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _Anomaly.enabled, _Anomaly.check_nan = self.prev
        return False


class detect_anomaly:
    """Context manager and decorator: anomaly mode on inside."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self.prev = []

    def __enter__(self):
        self.prev.append((_Anomaly.enabled, _Anomaly.check_nan))
        _Anomaly.enabled, _Anomaly.check_nan = True, self.check_nan
        return self

    def __exit__(self, *exc):
        _Anomaly.enabled, _Anomaly.check_nan = self.prev.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


def record_stack(fn):
    """Keep where ``fn`` was created (called by ``Function.apply`` in anomaly mode)."""
    import traceback

    fn._stack = traceback.format_stack()[:-2]


def check_grads(fn, grads, is_array):
    """Raise if a gradient ``fn``'s backward returned holds NaN, naming the op and its origin."""
    import numpy as np

    for i, g in enumerate(grads):
        if g is None:
            continue
        a = g if is_array else g._data
        if a.dtype.kind in "fc" and np.isnan(a).any():
            stack = "".join(getattr(fn, "_stack", None) or ["  (created outside anomaly mode)\n"])
            raise RuntimeError(
                f"Function '{fn.name()}' returned nan values in its {i}th output.\n"
                f"The forward call that created it:\n{stack}"
            )
