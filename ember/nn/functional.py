"""Stateless forms of the layers, activations and losses (``import ember.nn.functional as F``).

The ops live in ``ember.ops`` by family (each with its forward and backward together); this
module is their public index, as ``torch.nn.functional`` is.
"""
from ..ops.activation import *  # noqa: F401,F403
from ..ops.classification import *  # noqa: F401,F403
from ..ops.conv import *  # noqa: F401,F403
from ..ops.layers import *  # noqa: F401,F403
from ..ops.linalg_distance import *  # noqa: F401,F403  (pairwise_distance, cosine_similarity)
from ..ops.loss import *  # noqa: F401,F403
from ..ops.norm import *  # noqa: F401,F403
from ..ops.pool import *  # noqa: F401,F403
from ..ops.elementwise import relu, sigmoid, tanh  # noqa: F401
from ..ops.movement import pad as _np_pad  # noqa: F401
# ----- embedding -----
from ..ops.embedding_bag import embedding_bag  # noqa: F401,E402
# ----- attention -----
from ..ops.attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401,E402
# ----- activation, loss and layer extras (issue #23) -----
from ..ops.activation import relu  # noqa: F401,E402  (F.relu(input, inplace=False))
from ..ops.loss_extra import *  # noqa: F401,F403,E402
from ..ops.layers_extra import *  # noqa: F401,F403,E402
# ----- padding and resampling -----
from ..ops.padding import pad  # noqa: F401,E402
from ..ops.resample import *  # noqa: F401,F403,E402
