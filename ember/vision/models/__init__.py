"""ember.vision.models: torchvision's classification models on ember.nn.

Module and parameter names are torchvision's, so ``model.load_state_dict(tv_model.state_dict())``
(or ``model.load_state_dict(ember.load("resnet18.pth"))`` for a file written by ``torch.save``)
loads unchanged and gives the same outputs. Only ``weights=None`` is supported: nothing is
downloaded.
"""
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403
