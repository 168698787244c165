"""ember.nn: modules, layers, losses and initializers with PyTorch's names and layouts."""
from . import functional, init, utils  # noqa: F401
from .activation import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module, Parameter  # noqa: F401
from .norm import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .summary import *  # noqa: F401,F403
# ----- embedding -----
from .embedding_bag import *  # noqa: F401,F403,E402
# ----- rnn -----
from .rnn import *  # noqa: F401,F403,E402
# ----- attention -----
from .attention import *  # noqa: F401,F403,E402
from .transformer import *  # noqa: F401,F403,E402
# ----- padding and resampling -----
from .padding import *  # noqa: F401,F403,E402
from .upsampling import *  # noqa: F401,F403,E402
# ----- activation, loss and layer extras (issue #23) -----
from .distance import *  # noqa: F401,F403,E402
