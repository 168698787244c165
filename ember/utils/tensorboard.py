"""``ember.utils.tensorboard`` (``torch.utils.tensorboard``): ``SummaryWriter`` logs scalars,
histograms, images and text for TensorBoard.

The event files are written by tensorboardX, the well-kept library made for it, with the
API of PyTorch's writer; it is an optional extra (``pip install "ember[tensorboard]"``).
ember's tensors are handed to it as NumPy arrays (a 0-d one as a Python number). Without
tensorboardX, importing this module raises ``ImportError`` saying what to install, as
PyTorch's does without TensorBoard.
"""
import functools

try:
    import tensorboardX as _tbx
except ImportError as e:  # pragma: no cover - depends on what is installed
    raise ImportError("ember.utils.tensorboard (torch.utils.tensorboard) writes its files with tensorboardX, "
                      "which is not installed: pip install tensorboardX") from e

from .._tensor_base import TensorBase

__all__ = ["SummaryWriter"]


def _plain(v):
    """An ember tensor as NumPy (0-d: a Python number); lists, tuples and dicts through."""
    if isinstance(v, TensorBase):
        a = v.detach().numpy()
        return a.item() if a.ndim == 0 else a
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and any(isinstance(x, TensorBase) for x in v):
        return type(v)(_plain(x) for x in v)
    return v


def _converting(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return method(self, *(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})

    return call


class SummaryWriter(_tbx.SummaryWriter):
    """PyTorch's ``SummaryWriter(log_dir=None, comment='', purge_step=None, max_queue=10,
    flush_secs=120, filename_suffix='')``: ``add_scalar(tag, value, global_step)``,
    ``add_scalars``, ``add_histogram``, ``add_image(s)``, ``add_text``, ``add_hparams``,
    ``flush``, ``close``, and the rest of tensorboardX's writer; ember tensors are accepted
    wherever PyTorch's are. ``add_graph`` (which traces a PyTorch module) is not supported."""

    add_scalar = _converting(_tbx.SummaryWriter.add_scalar)
    add_scalars = _converting(_tbx.SummaryWriter.add_scalars)
    add_histogram = _converting(_tbx.SummaryWriter.add_histogram)
    add_image = _converting(_tbx.SummaryWriter.add_image)
    add_images = _converting(_tbx.SummaryWriter.add_images)
    add_image_with_boxes = _converting(_tbx.SummaryWriter.add_image_with_boxes)
    add_video = _converting(_tbx.SummaryWriter.add_video)
    add_audio = _converting(_tbx.SummaryWriter.add_audio)
    add_text = _converting(_tbx.SummaryWriter.add_text)
    add_hparams = _converting(_tbx.SummaryWriter.add_hparams)
    add_embedding = _converting(_tbx.SummaryWriter.add_embedding)
    add_pr_curve = _converting(_tbx.SummaryWriter.add_pr_curve)
    add_mesh = _converting(_tbx.SummaryWriter.add_mesh)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError("SummaryWriter.add_graph traces a PyTorch module's graph; ember's modules "
                                  "cannot be traced that way (export to ONNX with ember.onnx instead)")
