"""``ember.nn.utils.rnn``: PackedSequence and the pad/pack functions, as ``torch.nn.utils.rnn``
(implemented in ``ember/nn/rnn_utils.py``)."""
from ..rnn_utils import (  # noqa: F401
    PackedSequence, invert_permutation, pack_padded_sequence, pack_sequence, pad_packed_sequence,
    pad_sequence, unpack_sequence, unpad_sequence,
)
from ..rnn_utils import __all__  # noqa: F401
