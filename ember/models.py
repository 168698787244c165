"""The named models that ``ember train --model NAME`` builds, each from a JSON-able config.

``model_config("cnn")`` gives the full config (the name and every option with its default);
``build_model(config)`` builds the model from it. A run directory keeps that config in its
``config.json``, so ``ember evaluate`` and ``ember predict`` rebuild the same model.

Both models take images of shape (N, C, H, W) and return logits of shape (N, num_classes).
Each starts from the initialization of the framework it comes from (``init``): the MLP from
PyTorch's layer defaults, the CNN from Keras' (Glorot-uniform kernels, zero biases), which
its recipe was tuned with.
"""
import inspect

from . import nn

__all__ = ["mlp", "cnn", "MODELS", "model_config", "build_model", "INITS"]


def _keras_init(m):
    # Keras layers' defaults: kernels Glorot-uniform (PyTorch's xavier_uniform_), biases zero
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


INITS = {"pytorch": None, "keras": _keras_init}  # None: the layers' own (PyTorch's) initialization


def _initialize(model, init):
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; valid names: {', '.join(INITS)}")
    return model if INITS[init] is None else model.apply(INITS[init])


def mlp(in_features=784, hidden=(256, 128), num_classes=10, init="pytorch"):
    """A multi-layer perceptron: Flatten, then Linear + ReLU per hidden width, then Linear.

    The default is the classic MNIST MLP 784-256-128-10, initialized as in PyTorch.
    """
    layers, width = [nn.Flatten()], in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return _initialize(nn.Sequential(*layers), init)


def cnn(in_channels=1, image_size=28, num_classes=10, dropout=0.5, init="keras"):
    """Keras' ``mnist_convnet``: two 3x3 convolutions (32, 64) each with ReLU and 2x2 max-pool,
    then Flatten, Dropout and one Linear layer (1600 -> 10 on 28x28 images), initialized as in
    Keras (15 epochs of its recipe: 99.19% with Keras' initialization, 98.96% with PyTorch's)."""
    side = ((image_size - 2) // 2 - 2) // 2  # two valid 3x3 convolutions, two 2x2 pools
    if side < 1:
        raise ValueError(f"cnn needs images of at least 10x10 pixels, got image_size={image_size}")
    model = nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(64 * side * side, num_classes),
    )
    return _initialize(model, init)


MODELS = {"mlp": mlp, "cnn": cnn}


def _builder(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODELS)}")
    return MODELS[name]


def model_config(name, **options):
    """The full config of model ``name``: ``{"name": name, option: value, ...}`` with defaults filled in."""
    sig = inspect.signature(_builder(name))
    unknown = [k for k in options if k not in sig.parameters]
    if unknown:
        raise ValueError(f"model {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(sig.parameters)}")
    config = {"name": name}
    for k, p in sig.parameters.items():
        v = options.get(k, p.default)
        config[k] = list(v) if isinstance(v, tuple) else v
    return config


def build_model(config):
    """Build the model that ``config`` (from ``model_config`` or a run's config.json) describes."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"a model config is a dict with a 'name' key, got {config!r}")
    options = {k: v for k, v in config.items() if k != "name"}
    config = model_config(config["name"], **options)  # checks the options
    return _builder(config["name"])(**{k: v for k, v in config.items() if k != "name"})


# ----- gpt-cli -----
from .models_gpt import GPT, CharLSTM, char_lstm, gpt  # noqa: E402  (language models, ember/models_gpt.py)

MODELS.update(gpt=gpt, lstm=char_lstm)
__all__ += ["GPT", "CharLSTM", "gpt", "char_lstm"]
