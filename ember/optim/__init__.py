"""ember.optim: PyTorch's optimizers, taking the same steps from the same gradients, plus Lion.

``from ember.optim import Adam`` or ``ember.optim.Adam(model.parameters(), lr=1e-3)``;
learning-rate schedulers live in ``ember.optim.lr_scheduler``.
"""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .lion import Lion
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
           "Lion", "Rprop", "ASGD", "Adafactor", "LBFGS", "lr_scheduler"]
