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
import math

from . import nn

__all__ = ["mlp", "cnn", "MODELS", "model_config", "build_model", "INITS", "check_config", "parameter_shapes"]


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


# ----- a config from a file, checked without building the model -----
# what an option must be (check, in words): by name, else by the type of its default
_RULES = {"init": (lambda v: isinstance(v, str) and v in INITS, f"one of {', '.join(map(repr, INITS))}"),
          "dropout": (lambda v: _is_real(v) and 0 <= v < 1, "a number in [0, 1)")}
_BY_DEFAULT = [(bool, (lambda v: isinstance(v, bool), "true or false")),
               (int, (lambda v: _is_int(v) and v >= 1, "an int >= 1")),
               (float, (lambda v: _is_real(v), "a finite number")),
               (str, (lambda v: isinstance(v, str), "a string")),
               ((list, tuple), (lambda v: isinstance(v, (list, tuple)) and all(_is_int(h) and h >= 1 for h in v),
                                "a list of ints >= 1"))]


def _rule(name, default):
    if name in _RULES:
        return _RULES[name]
    for kind, rule in _BY_DEFAULT:
        if isinstance(default, kind):
            return rule
    return (lambda v: True, "")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_config(config, where="model"):
    """Check a model config's name, options, types and ranges without building anything.

    ``where`` names the config in the errors (``"config.json: model"``); returns the full
    config (defaults filled in). Raises ``ValueError`` naming the option, what it must be
    and what it is.
    """
    if not isinstance(config, dict):
        raise ValueError(f"{where} must be a JSON object with a 'name' key, got {type(config).__name__} "
                         f"{str(config)[:60]}")
    name = config.get("name")
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"{where}.name must be one of {', '.join(MODELS)}, got {repr(name)[:60]}")
    options = inspect.signature(MODELS[name]).parameters
    unknown = [k for k in config if k != "name" and k not in options]
    if unknown:
        raise ValueError(f"{where}: {name} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {', '.join(options)}")
    full = model_config(name, **{k: v for k, v in config.items() if k != "name"})
    for k, v in full.items():
        if k == "name":
            continue
        check, what = _rule(k, options[k].default)
        if not check(v):
            raise ValueError(f"{where}.{k} must be {what}, got {repr(v)[:60]}")
    if name == "cnn" and ((full["image_size"] - 2) // 2 - 2) // 2 < 1:
        raise ValueError(f"{where}.image_size must be at least 10 for the cnn, got {full['image_size']}")
    if name == "gpt" and full["n_embd"] % full["n_head"]:
        raise ValueError(f"{where}.n_embd ({full['n_embd']}) must be divisible by n_head ({full['n_head']})")
    return full


def parameter_shapes(config):
    """The shapes of the state dict that ``build_model(config)`` would have, without building it.

    ``config`` is a full, checked config (``check_config``). Returns ``{name: ((size, option),
    ...)}``: each dimension with the option it comes from (None for a fixed size), so that a
    mismatch against a weights file can name the option at fault.
    """
    c, shapes = config, {}
    if c["name"] == "mlp":
        width, i = (c["in_features"], "in_features"), 1
        for j, h in enumerate(c["hidden"]):
            out = (h, f"hidden[{j}]")
            shapes[f"{i}.weight"], shapes[f"{i}.bias"] = (out, width), (out,)
            width, i = out, i + 2
        out = (c["num_classes"], "num_classes")
        shapes[f"{i}.weight"], shapes[f"{i}.bias"] = (out, width), (out,)
    elif c["name"] == "cnn":
        side = ((c["image_size"] - 2) // 2 - 2) // 2
        k = ((3, None), (3, None))
        shapes["0.weight"], shapes["0.bias"] = ((32, None), (c["in_channels"], "in_channels")) + k, ((32, None),)
        shapes["3.weight"], shapes["3.bias"] = ((64, None), (32, None)) + k, ((64, None),)
        out = (c["num_classes"], "num_classes")
        shapes["8.weight"], shapes["8.bias"] = (out, (64 * side * side, "image_size")), (out,)
    elif c["name"] == "gpt":
        n, vocab = c["n_embd"], (c["vocab_size"], "vocab_size")
        e = (n, "n_embd")
        shapes["tok_emb.weight"], shapes["pos_emb.weight"] = (vocab, e), ((c["block_size"], "block_size"), e)
        for b in range(c["n_layer"]):
            for name, shape in (("ln_1", (e,)), ("attn.qkv", ((3 * n, "n_embd"), e)), ("attn.proj", (e, e)),
                                ("ln_2", (e,)), ("mlp.fc", ((4 * n, "n_embd"), e)),
                                ("mlp.proj", (e, (4 * n, "n_embd")))):
                shapes[f"blocks.{b}.{name}.weight"] = shape
                if c["bias"]:
                    shapes[f"blocks.{b}.{name}.bias"] = shape[:1]
        shapes["ln_f.weight"] = (e,)
        if c["bias"]:
            shapes["ln_f.bias"] = (e,)
        shapes["head.weight"] = (vocab, e)  # tied to tok_emb.weight, saved under both names
    elif c["name"] == "lstm":
        vocab, h = (c["vocab_size"], "vocab_size"), (c["hidden_size"], "hidden_size")
        gates, width = (4 * c["hidden_size"], "hidden_size"), (c["embedding_dim"], "embedding_dim")
        shapes["embedding.weight"] = (vocab, width)
        for layer in range(c["num_layers"]):
            shapes[f"lstm.weight_ih_l{layer}"], shapes[f"lstm.weight_hh_l{layer}"] = (gates, width), (gates, h)
            shapes[f"lstm.bias_ih_l{layer}"], shapes[f"lstm.bias_hh_l{layer}"] = (gates,), (gates,)
            width = h
        shapes["head.weight"], shapes["head.bias"] = (vocab, h), (vocab,)
    else:
        raise ValueError(f"parameter_shapes: no shapes known for model {c['name']!r}")
    return shapes


# the options that decide which parameters a model has (not only their sizes)
STRUCTURE = {"mlp": ("hidden",), "cnn": (), "gpt": ("n_layer", "bias"), "lstm": ("num_layers",)}


# ----- gpt-cli -----
from .models_gpt import GPT, CharLSTM, char_lstm, gpt  # noqa: E402  (language models, ember/models_gpt.py)

MODELS.update(gpt=gpt, lstm=char_lstm)
__all__ += ["GPT", "CharLSTM", "gpt", "char_lstm"]
