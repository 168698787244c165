"""Utilities (``torch.utils``): ``checkpoint``."""
