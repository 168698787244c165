"""Utilities (``torch.utils``): ``checkpoint``, and ``data`` (the same module as ``ember.data``)."""


def __getattr__(name):
    if name in ("data", "checkpoint"):  # without importing them first, as torch.utils.data
        import importlib

        return importlib.import_module(f"ember.utils.{name}")
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")
