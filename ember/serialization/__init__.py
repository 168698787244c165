"""PyTorch's checkpoint format (``torch.save``'s zip archive), written and read without torch.

An archive holds ``<name>/data.pkl`` (a pickle of the object, in which each tensor is a call
of ``torch._utils._rebuild_tensor_v2`` on a *persistent id* naming a storage), one record
``<name>/data/<key>`` of raw bytes per storage, and small records: ``.format_version``,
``.storage_alignment``, ``byteorder``, ``version`` and ``.data/serialization_id``.

``save_pt`` writes such an archive with its own pickle writer (protocol 2, as torch.save);
``load_pt`` reads one with a restricted unpickler: the globals it resolves are a fixed list
(tensors, parameters, storages, dtypes, OrderedDict, ...) mapped to ember's own functions;
everything else is refused, so loading never runs code from the file. Every storage's size is
checked against its record, and every tensor's offset, shape and strides against its storage,
before anything is allocated. torch is never imported.
"""
from ._pt_load import load_pt, looks_like_pt  # noqa: F401
from ._pt_save import prepare_pt, save_pt, write_pt  # noqa: F401

__all__ = ["load_pt", "looks_like_pt", "prepare_pt", "save_pt", "write_pt"]
