"""``ember.backends``: the flags PyTorch programs set (``backends.cudnn.benchmark = True``,
``backends.mps.is_available()``), accepted; ember computes with NumPy, so none changes a
result."""
from . import cuda, cudnn, mps  # noqa: F401
